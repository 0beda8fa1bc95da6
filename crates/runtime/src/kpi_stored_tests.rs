//! The KPIs from the store's SQL aggregates against the KPIs computed in memory from the same
//! facts, on SQLite and on PostgreSQL: equal, figure for figure and bit for bit; and a review's
//! earlier periods, volume and heatmaps from the store's counts of tickets created against the
//! same made in memory.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use cutover_model::{PlatformId, Side};
use cutover_store::{CreatedCount, Store, TicketFacts, TicketReading, WaveTickets};

use crate::kpi::{self, Filter};
use crate::{heatmap, volume};

/// Monday 23 March 2026, 09:00 UTC: the end of the history.
fn end() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 23, 9, 0, 0).unwrap()
}

/// A small deterministic generator (xorshift), so the facts are the same on every run.
struct Draw(u64);

impl Draw {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below.max(1)
    }
}

/// Three weeks and a day of tickets with what makes aggregation go wrong: both sides, several
/// channels, tickets without group or assignee, replies and solutions off by fractions of a
/// second (durations truncated towards zero, some negative), solved at or before their
/// creation, hours with one, two or ten tickets (the ranks of the percentiles' edges), busy
/// hours with many ties, tickets created before the baseline and still open or solved in it.
fn history() -> Vec<TicketFacts> {
    let mut draw = Draw(0x9e37_79b9_7f4a_7c15);
    let start = end() - Duration::weeks(3) - Duration::days(1);
    let channels = ["email", "chat", "voice"];
    let mut facts = Vec::new();
    for hour in 0..(24 * 22) {
        let hour_start = start + Duration::hours(hour);
        let n = match hour % 24 {
            3 => 1,
            4 => 2,
            5 => 10,
            9..=17 => 12 + draw.next(10),
            _ => draw.next(4),
        };
        for _ in 0..n {
            let i = u64::try_from(facts.len()).unwrap();
            let created = hour_start
                + Duration::microseconds(i64::try_from(draw.next(3_600_000_000)).unwrap());
            let micros = |d: &mut Draw, max_s: u64| {
                i64::try_from(d.next(max_s * 1_000_000)).unwrap() - 400_000
            };
            let first_reply = match draw.next(10) {
                0 => None,
                // Ties: the same whole minute.
                1 | 2 => Some(created + Duration::minutes(5)),
                _ => Some(created + Duration::microseconds(micros(&mut draw, 5_400))),
            };
            let solved = match draw.next(12) {
                0 | 1 => None,
                2 => Some(created),
                3 => Some(created - Duration::seconds(30)),
                _ => Some(created + Duration::microseconds(micros(&mut draw, 60 * 3600))),
            };
            facts.push(TicketFacts {
                reading: TicketReading {
                    side: if draw.next(4) == 0 {
                        Side::New
                    } else {
                        Side::Old
                    },
                    ticket: PlatformId::from(10_000 + i),
                    channel: channels[usize::try_from(draw.next(3)).unwrap()].to_owned(),
                    group: (draw.next(5) != 0).then(|| format!("{}", draw.next(3))),
                    assignee: (draw.next(6) != 0).then(|| format!("{}", draw.next(7))),
                    priority_rank: Some(2),
                    created_at: created,
                    first_reply_at: first_reply,
                    agent_replies: Some(i64::try_from(draw.next(4)).unwrap()),
                    solved_at: solved,
                },
                reopened: i64::try_from(draw.next(12).saturating_sub(9)).unwrap(),
                priority_raised: draw.next(20) == 0,
                reassigned: draw.next(15) == 0,
                satisfaction: (draw.next(3) == 0).then(|| u8::try_from(1 + draw.next(5)).unwrap()),
            });
        }
    }
    facts
}

fn filters() -> Vec<Filter> {
    vec![
        Filter::default(),
        Filter {
            side: Some(Side::Old),
            ..Filter::default()
        },
        Filter {
            side: Some(Side::New),
            channel: Some("chat".into()),
            ..Filter::default()
        },
        Filter {
            group: Some("1".into()),
            ..Filter::default()
        },
        // A wave: its channel, and its groups by id on each side (group 1 on the new side and
        // 2 on the old are not its).
        Filter {
            wave: Some(wave()),
            ..Filter::default()
        },
        Filter {
            side: Some(Side::New),
            channel: Some("email".into()),
            wave: Some(wave()),
            ..Filter::default()
        },
    ]
}

fn wave() -> WaveTickets {
    WaveTickets {
        name: "pilot".into(),
        channels: vec!["chat".into()],
        groups: vec![(Side::Old, "1".into()), (Side::New, "2".into())],
    }
}

async fn same_as_in_memory(store: Arc<dyn Store>) {
    let facts = history();
    assert_eq!(
        store.import_ticket_facts(&facts).await.unwrap(),
        u64::try_from(facts.len()).unwrap()
    );
    // `cutover kpi --at` between two hours, as a person would run it.
    let at = end() + Duration::minutes(17) + Duration::microseconds(3_500_123);
    let weeks = 3;
    let (from, _) = kpi::baseline_span(at, weeks);
    let read = store.ticket_facts(from, at).await.unwrap();
    let mut compared_hours = 0;
    for filter in filters() {
        let in_memory = kpi::baseline(&read, at, weeks, &filter);
        let in_sql = super::baseline(store.as_ref(), at, weeks, &filter)
            .await
            .unwrap();
        assert_eq!(in_sql, in_memory, "baseline of {filter:?}");
        compared_hours += in_memory
            .hours
            .iter()
            .filter(|h| h.kpis.iter().filter(|s| s.weeks == weeks).count() >= 8)
            .count();
        for window in [Duration::hours(1), Duration::hours(2), Duration::minutes(7)] {
            let in_memory = kpi::compute(&read, at - window, at, &filter);
            let in_sql = super::compute(store.as_ref(), at - window, at, &filter)
                .await
                .unwrap();
            assert_eq!(in_sql, in_memory, "last {window} of {filter:?}");
        }
    }
    // The comparison covered hours where most KPIs had a value in every week.
    assert!(
        compared_hours > 100,
        "{compared_hours} hours fully compared"
    );
    store.close().await;
}

#[tokio::test]
async fn sql_aggregates_give_the_in_memory_kpis_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cutover.db").display());
    let store = cutover_store::open(&url.parse().unwrap()).await.unwrap();
    same_as_in_memory(store).await;
}

#[tokio::test]
async fn sql_aggregates_give_the_in_memory_kpis_on_postgres() {
    let db = cutover_store::testing::TestDatabase::create()
        .await
        .unwrap();
    let store = cutover_store::open(db.url()).await.unwrap();
    same_as_in_memory(store).await;
}

/// What [`Store::kpi_created`] counts, counted here from the facts: tickets created in
/// `[from, to)` per bucket (the floor of whole lengths from `origin`), side and channel.
fn created_in_memory(
    facts: &[TicketFacts],
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    origin: DateTime<Utc>,
    length: Duration,
) -> Vec<CreatedCount> {
    let mut counts: std::collections::BTreeMap<(i64, Side, String), u64> = Default::default();
    let length_us = length.num_microseconds().unwrap();
    for f in facts {
        let r = &f.reading;
        if r.created_at >= from && r.created_at < to {
            let bucket = (r.created_at - origin)
                .num_microseconds()
                .unwrap()
                .div_euclid(length_us);
            *counts
                .entry((bucket, r.side, r.channel.clone()))
                .or_default() += 1;
        }
    }
    counts
        .into_iter()
        .map(|((bucket, side, channel), tickets)| CreatedCount {
            bucket,
            side,
            channel,
            tickets,
        })
        .collect()
}

async fn review_same_as_in_memory(store: Arc<dyn Store>) {
    let facts = history();
    store.import_ticket_facts(&facts).await.unwrap();
    let at = end() + Duration::minutes(17) + Duration::microseconds(3_500_123);
    let every = store
        .ticket_facts(at - Duration::weeks(10), at)
        .await
        .unwrap();
    assert_eq!(every.len(), facts.len());

    // The counts themselves: buckets from before the span, inside it (so some are negative),
    // of an hour, a day and an odd length.
    for (span, origin, length) in [
        (
            (at - Duration::days(9), at),
            heatmap::HOURLY_ORIGIN,
            Duration::hours(1),
        ),
        (
            (at - Duration::days(9), at),
            at - Duration::days(9),
            Duration::days(1),
        ),
        (
            (at - Duration::days(9), at),
            at - Duration::days(2),
            Duration::minutes(97),
        ),
    ] {
        let in_sql = store
            .kpi_created(span.0, span.1, origin, length)
            .await
            .unwrap();
        assert_eq!(in_sql, created_in_memory(&facts, span, origin, length));
        assert!(in_sql.iter().any(|c| c.bucket < 0) == (origin > span.0));
        assert!(in_sql.len() > 20, "{} rows", in_sql.len());
    }

    // A review's channels, volume and earlier periods, over windows of hours (hourly buckets)
    // and of days (daily, the last cut short by a window of 100 hours).
    for (window, periods) in [
        (Duration::hours(72), 2),
        (Duration::hours(100), 2),
        (Duration::days(10), 1),
    ] {
        let (from, to) = (at - window, at);
        let start = kpi::window_baseline_start(from, to, periods);
        let read = store.ticket_facts(start, to).await.unwrap();
        let mut channels: Vec<String> = read.iter().map(|f| f.reading.channel.clone()).collect();
        channels.sort_unstable();
        channels.dedup();
        assert_eq!(store.kpi_channels(start, to).await.unwrap(), channels);

        let in_sql = super::volume(store.as_ref(), from, to, periods)
            .await
            .unwrap();
        assert_eq!(
            in_sql,
            volume::of_facts(&read, from, to, periods),
            "{window}"
        );
        let buckets = &in_sql.sides[0].buckets;
        assert!(buckets.iter().any(|b| b.created > 0) && buckets.iter().any(|b| b.baseline > 0.0));
        assert_eq!(
            buckets.len(),
            usize::try_from(
                (window.num_hours() + in_sql.bucket.num_hours() - 1) / in_sql.bucket.num_hours()
            )
            .unwrap()
        );

        for filter in filters() {
            let in_sql = super::window_baseline(store.as_ref(), from, to, periods, &filter)
                .await
                .unwrap();
            let in_memory = kpi::window_baseline(&read, from, to, periods, &filter);
            assert_eq!(in_sql, in_memory, "{window} of {filter:?}");
            // Every ticket KPI has a value in each period (the probes' and contacts' have none
            // in this history).
            let of_tickets = |s: &&kpi::Spread| {
                kpi::find(s.name).is_some_and(|d| d.source == kpi::Source::Tickets)
            };
            assert!(
                in_sql.iter().filter(of_tickets).all(|s| s.weeks == periods),
                "{in_sql:?}"
            );

            // Each channel apart, in one pass of the store (and a channel without tickets).
            let filter = Filter {
                channel: None,
                ..filter
            };
            let mut apart = channels.clone();
            apart.push(String::from("fax"));
            let now = super::compute_by_channel(store.as_ref(), from, to, &filter, &apart)
                .await
                .unwrap();
            let spreads = super::window_baseline_by_channel(
                store.as_ref(),
                from,
                to,
                periods,
                &filter,
                &apart,
            )
            .await
            .unwrap();
            assert_eq!((now.len(), spreads.len()), (apart.len(), apart.len()));
            for ((channel, now), spreads) in apart.iter().zip(now).zip(spreads) {
                let one = Filter {
                    channel: Some(channel.clone()),
                    ..filter.clone()
                };
                let what = format!("{window} of {one:?}");
                assert_eq!(now, kpi::compute(&read, from, to, &one), "{what}");
                assert_eq!(
                    spreads,
                    kpi::window_baseline(&read, from, to, periods, &one),
                    "{what}"
                );
            }
        }
    }

    // When to switch: the heatmaps of a history that starts between two hours.
    let from = at - Duration::days(15) - Duration::minutes(31);
    let in_sql = super::heatmaps(store.as_ref(), from, at).await.unwrap();
    assert_eq!(in_sql, heatmap::heatmaps(&every, from, at));
    assert_eq!(in_sql.len(), 4, "all and three channels");
    assert!(in_sql[0].tickets > 1_000, "{}", in_sql[0].tickets);
    store.close().await;
}

#[tokio::test]
async fn sql_counts_give_the_in_memory_review_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cutover.db").display());
    let store = cutover_store::open(&url.parse().unwrap()).await.unwrap();
    review_same_as_in_memory(store).await;
}

#[tokio::test]
async fn sql_counts_give_the_in_memory_review_on_postgres() {
    let db = cutover_store::testing::TestDatabase::create()
        .await
        .unwrap();
    let store = cutover_store::open(db.url()).await.unwrap();
    review_same_as_in_memory(store).await;
}

/// The API and channel KPIs from known probes and contacts: the 90th percentile of the probes'
/// times by nearest rank, the share answered 2xx, and the share of the gateway's contacts
/// delivered within five minutes among those judged at the window's end.
async fn api_and_channel_kpis(store: Arc<dyn Store>) {
    let now = Utc::now();
    // Ten probes of the old side, 100 to 1 000 ms, the two slowest failed; one of the new side.
    for (i, millis) in (1..=10u64).map(|i| (i, i * 100)) {
        let status = if i > 8 { Some(503) } else { Some(200) };
        store
            .record_probe(&cutover_store::ApiProbe {
                side: Side::Old,
                at: now - Duration::minutes(50) + Duration::minutes(i64::try_from(i).unwrap()),
                millis,
                status,
                ok: i <= 8,
            })
            .await
            .unwrap();
    }
    store
        .record_probe(&cutover_store::ApiProbe {
            side: Side::New,
            at: now - Duration::minutes(30),
            millis: 40,
            status: None,
            ok: false,
        })
        .await
        .unwrap();
    // Five contacts on `web`: three delivered to the old side at once, one failed on the old
    // side, one still pending, never tried; one on `mail`, delivered.
    let contact = |channel: &str, key: &str| cutover_store::NewContact {
        channel: channel.into(),
        message_key: key.into(),
        customer: format!("{key}@example.com"),
        payload: serde_json::json!({}),
        status: cutover_store::ContactStatus::Pending,
        side: None,
    };
    for key in ["a", "b", "c", "d", "e"] {
        store.accept_contact(&contact("web", key)).await.unwrap();
    }
    store.accept_contact(&contact("mail", "f")).await.unwrap();
    let claimed = store
        .claim_contacts(10, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    for c in claimed
        .iter()
        .filter(|c| ["a", "b", "c", "f"].contains(&c.message_key.as_str()))
    {
        let delivered = store
            .deliver_contact(&cutover_store::ContactDelivery {
                id: c.id,
                lease: c.leased_until.unwrap(),
                side: Side::Old,
                ticket_id: PlatformId::parse((c.id.0 + 1000).to_string()).unwrap(),
                follow_up: false,
                conversation: None,
            })
            .await
            .unwrap();
        assert!(delivered);
    }
    let d = claimed.iter().find(|c| c.message_key == "d").unwrap();
    assert!(
        store
            .fail_contact(d.id, d.leased_until.unwrap(), "refused", &dead_letter())
            .await
            .unwrap()
    );
    // e: claimed, its lease left to run out.

    let figures = |filter: Filter, to: DateTime<Utc>| {
        let store = store.clone();
        async move {
            let figures = super::compute(store.as_ref(), now - Duration::hours(1), to, &filter)
                .await
                .unwrap();
            let pick = |name: &str| {
                let f = figures.iter().find(|f| f.name == name).unwrap();
                (f.value, f.samples)
            };
            (
                pick("api_response_p90"),
                pick("api_availability"),
                pick("channel_availability"),
            )
        }
    };
    // The gateway's channel `web` (a `[[channels]]` name, as `kpi_scope::channel` resolves
    // `--channel`).
    let old_web = Filter {
        side: Some(Side::Old),
        gateway_channels: Some(vec!["web".into()]),
        ..Filter::default()
    };
    // Ten minutes on every contact is judged: three of five delivered in time. The probes are
    // the side's whatever the channel: the 9th of ten is 900 ms, eight of ten answered.
    let (p90, availability, channel) = figures(old_web.clone(), now + Duration::minutes(10)).await;
    assert_eq!(p90, (Some(900.0), 10));
    assert_eq!(availability, (Some(0.8), 10));
    assert_eq!(channel, (Some(0.6), 5));
    // A minute on, the pending and the failed contact are within their five minutes: not
    // judged yet.
    let (_, _, channel) = figures(old_web, now + Duration::minutes(1)).await;
    assert_eq!(channel, (Some(1.0), 3));
    // The new side: its one probe failed without an answer; of the contacts, d and e (no side
    // kept: e never tried, d refused for good) are on either side.
    let new = Filter {
        side: Some(Side::New),
        ..Filter::default()
    };
    let (p90, availability, channel) = figures(new, now + Duration::minutes(10)).await;
    assert_eq!(p90, (Some(40.0), 1));
    assert_eq!(availability, (Some(0.0), 1));
    assert_eq!(channel, (Some(0.0), 2));
    // Every channel together: four of six in time.
    let (_, _, channel) = figures(Filter::default(), now + Duration::minutes(10)).await;
    assert_eq!(channel, (Some(4.0 / 6.0), 6));
    store.close().await;
}

fn dead_letter() -> cutover_store::NewDeadLetter {
    cutover_store::NewDeadLetter {
        kind: cutover_model::RecordKind::Ticket,
        side: Side::Old,
        source_id: PlatformId::parse("contact-4").unwrap(),
        reason: "gateway web: the old side refused the contact".into(),
        record: serde_json::json!({}),
    }
}

#[tokio::test]
async fn api_and_channel_kpis_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cutover.db").display());
    let store = cutover_store::open(&url.parse().unwrap()).await.unwrap();
    api_and_channel_kpis(store).await;
}

#[tokio::test]
async fn api_and_channel_kpis_on_postgres() {
    let db = cutover_store::testing::TestDatabase::create()
        .await
        .unwrap();
    let store = cutover_store::open(db.url()).await.unwrap();
    api_and_channel_kpis(store).await;
}
