use chrono::{DateTime, Duration, TimeZone, Utc};
use cutover_model::{PlatformId, Side};
use cutover_store::{TicketFacts, TicketReading};

use super::{
    Filter, KPIS, MIN_SAMPLES, Verdict, baseline, compare, compute, find, hour_of_week, percentile,
};

/// Monday 2 March 2026, 00:00 UTC.
fn monday() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap()
}

fn ticket(side: Side, id: u64, created: DateTime<Utc>, wait_min: i64, solve_h: i64) -> TicketFacts {
    TicketFacts {
        reading: TicketReading {
            side,
            ticket: PlatformId::from(id),
            channel: "email".into(),
            group: Some("1".into()),
            assignee: Some(format!("{}", id % 3)),
            priority_rank: Some(2),
            created_at: created,
            first_reply_at: Some(created + Duration::minutes(wait_min)),
            agent_replies: Some(1),
            solved_at: Some(created + Duration::hours(solve_h)),
        },
        reopened: 0,
        priority_raised: false,
        reassigned: false,
        satisfaction: Some(4),
    }
}

fn value(figures: &[super::Figure], name: &str) -> (Option<f64>, u64) {
    let f = figures.iter().find(|f| f.name == name).unwrap();
    (f.value, f.samples)
}

#[test]
fn percentiles_take_the_nearest_rank() {
    let mut v: Vec<f64> = (1..=10).rev().map(f64::from).collect();
    assert_eq!(percentile(&mut v, 0.5), Some(5.0));
    assert_eq!(percentile(&mut v, 0.9), Some(9.0));
    assert_eq!(percentile(&mut v, 1.0), Some(10.0));
    assert_eq!(percentile(&mut [7.0], 0.9), Some(7.0));
    assert_eq!(percentile(&mut [], 0.5), None);
}

#[test]
fn hours_of_the_week_start_on_monday_in_utc() {
    assert_eq!(hour_of_week(monday()), 0);
    assert_eq!(hour_of_week(monday() + Duration::minutes(59)), 0);
    assert_eq!(hour_of_week(monday() + Duration::hours(9)), 9);
    // Sunday night is the last hour; the next Monday starts again.
    assert_eq!(hour_of_week(monday() + Duration::hours(167)), 167);
    assert_eq!(hour_of_week(monday() + Duration::hours(168)), 0);
}

#[test]
fn kpis_are_computed_per_side_over_a_window() {
    let at = monday() + Duration::hours(9);
    let mut facts: Vec<TicketFacts> = (0..4)
        .map(|i| {
            ticket(
                Side::Old,
                i,
                at + Duration::minutes(i64::try_from(i).unwrap()),
                10 * i64::try_from(i + 1).unwrap(),
                0,
            )
        })
        .collect();
    // Solved an hour later: outside the window; one reopened and rated 2.
    facts[3].reading.solved_at = Some(at + Duration::hours(2));
    facts[2].reopened = 1;
    facts[2].satisfaction = Some(2);
    facts[1].reassigned = true;
    facts.push(ticket(Side::New, 9, at, 1, 0));
    let old = Filter {
        side: Some(Side::Old),
        ..Filter::default()
    };
    let figures = compute(&facts, at, at + Duration::hours(1), &old);
    assert_eq!(figures.len(), KPIS.len());
    assert_eq!(value(&figures, "first_reply_p50"), (Some(20.0), 4));
    assert_eq!(value(&figures, "first_reply_p90"), (Some(40.0), 4));
    // Three solved in the window: 0 hours each.
    assert_eq!(value(&figures, "resolution_p90"), (Some(0.0), 3));
    assert_eq!(value(&figures, "csat"), (Some(10.0 / 3.0), 3));
    assert_eq!(value(&figures, "reopen_rate"), (Some(1.0 / 3.0), 3));
    assert_eq!(
        value(&figures, "first_contact_resolution"),
        (Some(2.0 / 3.0), 3)
    );
    assert_eq!(value(&figures, "escalations"), (Some(0.25), 4));
    assert_eq!(value(&figures, "backlog"), (Some(1.0), 1));
    // Three solves by three assignees in one hour.
    assert_eq!(value(&figures, "agent_productivity"), (Some(1.0), 3));
    let new = compute(
        &facts,
        at,
        at + Duration::hours(1),
        &Filter {
            side: Some(Side::New),
            ..Filter::default()
        },
    );
    assert_eq!(value(&new, "first_reply_p50"), (Some(1.0), 1));
    let chat = compute(
        &facts,
        at,
        at + Duration::hours(1),
        &Filter {
            channel: Some("chat".into()),
            ..Filter::default()
        },
    );
    assert_eq!(value(&chat, "first_reply_p50"), (None, 0));
}

#[test]
fn the_baseline_is_an_hour_of_week_profile_with_its_spread() {
    // Four Mondays at 9: 10 tickets each, waits of 10, 20, 30, 40 minutes.
    let mut facts = Vec::new();
    for week in 0..4 {
        let at = monday() + Duration::weeks(week) + Duration::hours(9);
        for i in 0..10 {
            facts.push(ticket(
                Side::Old,
                u64::try_from(week * 100 + i).unwrap(),
                at,
                10 * (week + 1),
                1,
            ));
        }
    }
    let until = monday() + Duration::weeks(4) + Duration::hours(9) + Duration::minutes(30);
    let b = baseline(&facts, until, 4, &Filter::default());
    assert_eq!(b.hours.len(), 168);
    let nine = b.hour(until).unwrap();
    assert_eq!(nine.hour_of_week, 9);
    let wait = &nine.kpis[1];
    assert_eq!(wait.name, "first_reply_p50");
    assert_eq!((wait.mean, wait.weeks, wait.samples), (Some(25.0), 4, 40));
    assert!((wait.std_dev.unwrap() - 125.0_f64.sqrt()).abs() < 1e-9);
    assert_eq!((wait.min, wait.max), (Some(10.0), Some(40.0)));
    // Monday at 8 had nothing created.
    assert_eq!(b.hours[8].kpis[1].weeks, 0);

    // Now: 10 tickets waiting 30 minutes is within the spread; 90 minutes is outside it.
    let now_at = monday() + Duration::weeks(4) + Duration::hours(9);
    let window = |wait: i64, n: u64| {
        let now: Vec<TicketFacts> = (0..n)
            .map(|i| ticket(Side::Old, 1000 + i, now_at, wait, 1))
            .collect();
        compare(
            &compute(
                &now,
                now_at,
                now_at + Duration::hours(1),
                &Filter::default(),
            ),
            nine,
        )
    };
    let wait_of =
        |c: Vec<super::Comparison>| c.into_iter().find(|c| c.name == "first_reply_p50").unwrap();
    let within = wait_of(window(30, 10));
    assert_eq!(within.verdict, Verdict::WithinSpread);
    assert!((within.deviation.unwrap() - 0.2).abs() < 1e-9);
    assert_eq!(wait_of(window(90, 10)).verdict, Verdict::OutsideSpread);
    // Too few samples: inconclusive, never a pass.
    let few = wait_of(window(30, MIN_SAMPLES - 1));
    assert!(matches!(few.verdict, Verdict::Inconclusive(_)), "{few:?}");
    // A baseline hour with too few weeks: inconclusive too.
    let thin = baseline(&facts[..10], until, 4, &Filter::default());
    let c = compare(
        &compute(
            &facts[..10],
            monday() + Duration::hours(9),
            monday() + Duration::hours(10),
            &Filter::default(),
        ),
        thin.hour(until).unwrap(),
    );
    assert!(matches!(c[1].verdict, Verdict::Inconclusive(_)));
}

#[test]
fn every_kpi_is_defined_once_and_found_by_name() {
    for def in KPIS {
        assert_eq!(find(def.name), Some(def));
        assert_eq!(KPIS.iter().filter(|d| d.name == def.name).count(), 1);
    }
    assert!(find("nps").is_none());
}

#[test]
fn the_docs_hold_every_definition_as_the_table_has_it() {
    let docs = include_str!("../../../docs/kpis.md");
    assert_eq!(
        docs,
        super::markdown(),
        "docs/kpis.md differs from the table in kpi.rs: regenerate it with `cutover kpi explain --markdown > docs/kpis.md`"
    );
}

#[test]
fn the_baseline_of_one_week_is_each_hours_own_figures() {
    // Tickets every 37 minutes over two weeks, solved 0 to 50 hours later (some never), some
    // reopened, escalated or rated; the baseline covers the second week.
    let start = monday();
    let facts: Vec<TicketFacts> = (0..1000_u64)
        .map(|i| {
            let n = i64::try_from(i).unwrap();
            let mut t = ticket(
                Side::Old,
                i,
                start + Duration::minutes(37 * n),
                n % 90,
                n % 51,
            );
            if i % 7 == 0 {
                t.reading.solved_at = None;
            }
            t.reopened = i64::from(i % 11 == 0);
            t.reassigned = i % 13 == 0;
            t.satisfaction = (i % 3 != 0).then_some(u8::try_from(1 + i % 5).unwrap());
            t.reading.agent_replies = Some(n % 3);
            t
        })
        .collect();
    let until = start + Duration::weeks(2);
    let b = baseline(&facts, until, 1, &Filter::default());
    for i in 0..168 {
        let from = start + Duration::weeks(1) + Duration::hours(i);
        let own = compute(&facts, from, from + Duration::hours(1), &Filter::default());
        let profile = b.hour(from).unwrap();
        for (figure, spread) in own.iter().zip(&profile.kpis) {
            assert_eq!(figure.name, spread.name);
            assert_eq!(
                (figure.value, figure.samples),
                (spread.mean, spread.samples),
                "{} at hour {i}",
                figure.name
            );
        }
    }
}

/// A review's window against the same span in earlier periods: a ten-day window is compared
/// with the ten days two weeks before, four weeks before, … (whole weeks, never overlapping).
#[test]
fn a_window_is_held_against_the_same_span_whole_weeks_before() {
    let from = monday() + Duration::weeks(8);
    let to = from + Duration::days(10);
    // Three tickets a day in the window's span of each of the last three periods, waiting 10,
    // 20 and 30 minutes (one period each); the window itself waits 60 minutes.
    let mut facts = Vec::new();
    let mut id = 0;
    for (period, wait) in [(1, 10), (2, 20), (3, 30), (0, 60)] {
        for day in 0..10 {
            for n in 0..3 {
                id += 1;
                let at =
                    from - Duration::weeks(2 * period) + Duration::days(day) + Duration::hours(n);
                facts.push(ticket(Side::Old, id, at, wait, 2));
            }
        }
    }
    assert_eq!(
        super::window_baseline_start(from, to, 3),
        from - Duration::weeks(6)
    );
    let spreads = super::window_baseline(&facts, from, to, 3, &Filter::default());
    let wait = spreads
        .iter()
        .find(|s| s.name == "first_reply_p50")
        .unwrap();
    assert_eq!((wait.mean, wait.weeks, wait.samples), (Some(20.0), 3, 90));
    assert_eq!((wait.min, wait.max), (Some(10.0), Some(30.0)));
    let now = compute(&facts, from, to, &Filter::default());
    let compared = super::compare_spreads(&now, &spreads);
    let wait = compared
        .iter()
        .find(|c| c.name == "first_reply_p50")
        .unwrap();
    assert_eq!(wait.now.value, Some(60.0));
    assert_eq!(wait.deviation, Some(2.0));
    assert_eq!(wait.verdict, Verdict::OutsideSpread);
}

#[test]
fn the_wait_counts_customers_still_waiting_at_the_windows_end() {
    let at = monday() + Duration::hours(9);
    let end = at + Duration::hours(1);
    // Answered after 5, 8 and 12 minutes; answered after the window (50 minutes in: waiting
    // 10 by its end); never answered nor solved (40 minutes in: 20); unanswered but solved
    // after the window (30 in: 30); solved without a reply inside the window (not counted).
    let mut facts = vec![
        ticket(Side::Old, 1, at, 5, 0),
        ticket(Side::Old, 2, at + Duration::minutes(1), 8, 0),
        ticket(Side::Old, 3, at + Duration::minutes(2), 12, 0),
        ticket(Side::Old, 4, at + Duration::minutes(50), 120, 3),
        ticket(Side::Old, 5, at + Duration::minutes(40), 0, 0),
        ticket(Side::Old, 6, at + Duration::minutes(30), 0, 0),
        ticket(Side::Old, 7, at + Duration::minutes(10), 0, 0),
    ];
    for (i, solved) in [(4, None), (5, Some(end + Duration::hours(1)))] {
        facts[i].reading.first_reply_at = None;
        facts[i].reading.solved_at = solved;
    }
    facts[6].reading.first_reply_at = None;
    facts[6].reading.solved_at = Some(at + Duration::minutes(20));
    let figures = compute(&facts, at, end, &Filter::default());
    // Kaplan-Meier over 5, 8, 10+, 12, 20+, 30+ (+: still waiting): the share still waiting
    // is 5/6 after 5 minutes, 4/6 after 8, 4/6 x 2/3 = 4/9 after 12: the median is 12; it
    // never falls to a tenth, so the 90th percentile is at least the longest wait, 30.
    assert_eq!(value(&figures, "first_reply_p50"), (Some(12.0), 6));
    assert_eq!(value(&figures, "first_reply_p90"), (Some(30.0), 6));
    // The hour's baseline counts the same way, as of the hour's end.
    let base = baseline(&facts, at + Duration::weeks(1), 1, &Filter::default());
    let hour = base.hour(at).unwrap();
    let wait = hour
        .kpis
        .iter()
        .find(|s| s.name == "first_reply_p50")
        .unwrap();
    assert_eq!((wait.mean, wait.samples), (Some(12.0), 6));
    // Nobody answered yet: the longest wait so far, not nothing.
    let waiting: Vec<TicketFacts> = facts[4..6].to_vec();
    let figures = compute(&waiting, at, end, &Filter::default());
    assert_eq!(value(&figures, "first_reply_p50"), (Some(30.0), 2));
}

#[test]
fn kaplan_meier_is_the_nearest_rank_when_every_wait_ended() {
    use cutover_store::Percentiles;
    for n in 1..=40_i64 {
        let mut waits: Vec<(i64, bool)> = (0..n).map(|i| ((i * 7) % 13, true)).collect();
        let mut secs: Vec<f64> = waits.iter().map(|w| w.0 as f64).collect();
        let p = Percentiles::of_waits(&mut waits);
        let mut exact = |q| percentile(&mut secs, q).map(|v| v as i64);
        assert_eq!(
            (p.p50_secs, p.p90_secs),
            (exact(0.5), exact(0.9)),
            "n = {n}"
        );
    }
}
