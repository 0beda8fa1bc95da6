//! KPI facts: one row per side and ticket, updated by each reading, with reopenings, raised
//! priorities and changes of group counted as they are seen, and ratings kept beside them.

use chrono::Duration;
use cutover_model::Side;
use cutover_store::{FactFilter, KpiGroup, TicketFacts, TicketReading, WaveTickets};

use crate::harness::{TestStore, at, backend_tests, id};

backend_tests!(
    readings_of_a_ticket_keep_one_row_and_count_what_changed,
    facts_are_read_for_a_window,
    facts_imported_in_bulk_read_back_as_written,
    a_wave_counts_its_channels_and_groups_on_each_side,
    group_names_are_kept_per_side_and_renamed,
);

fn reading(side: Side, ticket: &str, created: i64) -> TicketReading {
    TicketReading {
        side,
        ticket: id(ticket),
        channel: "email".into(),
        group: Some("7".into()),
        assignee: Some("3".into()),
        priority_rank: Some(2),
        created_at: at(created, 0),
        first_reply_at: None,
        agent_replies: None,
        solved_at: None,
    }
}

async fn readings_of_a_ticket_keep_one_row_and_count_what_changed(t: TestStore) {
    let store = &t.store;
    let first = reading(Side::Old, "10", 1_000);
    store.record_ticket(&first).await.unwrap();
    // The same id on the other side is another ticket.
    store
        .record_ticket(&reading(Side::New, "10", 5_000))
        .await
        .unwrap();
    // Replied to and solved.
    let solved = TicketReading {
        first_reply_at: Some(at(1_600, 0)),
        agent_replies: Some(1),
        solved_at: Some(at(4_600, 0)),
        ..first.clone()
    };
    store.record_ticket(&solved).await.unwrap();
    // Reopened, escalated and moved to another group; its comments not read this time.
    let reopened = TicketReading {
        group: Some("8".into()),
        priority_rank: Some(4),
        ..first.clone()
    };
    store.record_ticket(&reopened).await.unwrap();
    assert!(
        store
            .record_satisfaction(Side::Old, &id("10"), 2)
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_satisfaction(Side::Old, &id("99"), 5)
            .await
            .unwrap()
    );
    let facts = store.ticket_facts(at(0, 0), at(10_000, 0)).await.unwrap();
    assert_eq!(facts.len(), 2);
    let old = &facts[0];
    assert_eq!(old.reading.side, Side::Old);
    assert_eq!(old.reading.first_reply_at, Some(at(1_600, 0)), "kept");
    assert_eq!(old.reading.agent_replies, Some(1), "kept");
    assert_eq!(old.reading.solved_at, None);
    assert_eq!(old.reading.group.as_deref(), Some("8"));
    assert_eq!(
        (
            old.reopened,
            old.priority_raised,
            old.reassigned,
            old.satisfaction
        ),
        (1, true, true, Some(2))
    );
    let new = &facts[1];
    assert_eq!(new.reading.side, Side::New);
    assert_eq!(
        (
            new.reopened,
            new.priority_raised,
            new.reassigned,
            new.satisfaction
        ),
        (0, false, false, None)
    );
    // A lower priority is no raise; solving again and reading again is no second reopening.
    let again = TicketReading {
        solved_at: Some(at(9_000, 0)),
        priority_rank: Some(1),
        ..reopened
    };
    store.record_ticket(&again).await.unwrap();
    store.record_ticket(&again).await.unwrap();
    let facts = store.ticket_facts(at(0, 0), at(10_000, 0)).await.unwrap();
    assert_eq!(facts[0].reopened, 1);
    assert_eq!(facts[0].reading.solved_at, Some(at(9_000, 0)));
}

async fn facts_are_read_for_a_window(t: TestStore) {
    let store = &t.store;
    let hour = 3_600;
    // Solved before the window; open since before it; created in it; created after it.
    let mut done = reading(Side::Old, "1", 0);
    done.solved_at = Some(at(hour, 0));
    store.record_ticket(&done).await.unwrap();
    store
        .record_ticket(&reading(Side::Old, "2", hour))
        .await
        .unwrap();
    store
        .record_ticket(&reading(Side::New, "3", 10 * hour))
        .await
        .unwrap();
    store
        .record_ticket(&reading(Side::New, "4", 20 * hour))
        .await
        .unwrap();
    let from = at(5 * hour, 0);
    let facts = store
        .ticket_facts(from, from + Duration::hours(10))
        .await
        .unwrap();
    let ids: Vec<&str> = facts.iter().map(|f| f.reading.ticket.as_str()).collect();
    assert_eq!(ids, ["2", "3"]);
}

async fn facts_imported_in_bulk_read_back_as_written(t: TestStore) {
    let store = &t.store;
    // More than one statement's worth of rows, the last statement partly filled.
    let facts: Vec<TicketFacts> = (0..2_345_i64)
        .map(|i| TicketFacts {
            reading: TicketReading {
                first_reply_at: Some(at(i * 10 + 3, 0)),
                agent_replies: Some(i % 4),
                solved_at: (i % 3 == 0).then(|| at(i * 10 + 7, 0)),
                ..reading(
                    if i % 2 == 0 { Side::Old } else { Side::New },
                    &format!("{}", 1_000 + i),
                    i * 10,
                )
            },
            reopened: i % 5,
            priority_raised: i % 7 == 0,
            reassigned: i % 11 == 0,
            satisfaction: u8::try_from(i % 6).ok().filter(|s| *s > 0),
        })
        .collect();
    assert_eq!(store.import_ticket_facts(&facts).await.unwrap(), 2_345);
    // A ticket already kept is left as it is.
    let changed = TicketFacts {
        reopened: 99,
        ..facts[0].clone()
    };
    assert_eq!(store.import_ticket_facts(&[changed]).await.unwrap(), 0);
    let read = store
        .ticket_facts(at(0, 0), at(1_000_000, 0))
        .await
        .unwrap();
    assert_eq!(read, facts);
}

/// A wave's tickets: those of its channels, and those of its groups by id on their own side
/// (group 7 on the old side is not group 7 on the new); a ticket outside both is not counted,
/// nor one whose channel merely starts like the wave's.
async fn a_wave_counts_its_channels_and_groups_on_each_side(t: TestStore) {
    let store = &t.store;
    let ticket = |side, id: &str, channel: &str, group: Option<&str>| TicketReading {
        channel: channel.into(),
        group: group.map(str::to_owned),
        ..reading(side, id, 1_000)
    };
    for r in [
        ticket(Side::Old, "1", "web_form", None),    // its channel
        ticket(Side::Old, "2", "email", Some("7")),  // its group on the old side
        ticket(Side::New, "3", "email", Some("70")), // its group's copy on the new side
        ticket(Side::New, "4", "email", Some("7")),  // not: 7 is the old side's id
        ticket(Side::Old, "5", "email", Some("8")),  // not: another group
        ticket(Side::Old, "6", "email", None),       // not: no group, another channel
        ticket(Side::Old, "7", "web", None),         // not: only a prefix of web_form
        ticket(Side::Old, "8", "web_formx", Some("77")), // not: longer, another group
    ] {
        store.record_ticket(&r).await.unwrap();
    }
    let wave = WaveTickets {
        name: "pilot".into(),
        channels: vec!["web_form".into()],
        groups: vec![(Side::Old, "7".into()), (Side::New, "70".into())],
    };
    let filter = |side: Option<Side>, wave: &WaveTickets| FactFilter {
        side,
        wave: Some(wave.clone()),
        ..FactFilter::default()
    };
    assert_eq!(store.kpi_count(&filter(None, &wave)).await.unwrap(), 3);
    assert_eq!(
        store
            .kpi_count(&filter(Some(Side::Old), &wave))
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .kpi_count(&filter(Some(Side::New), &wave))
            .await
            .unwrap(),
        1
    );
    assert_eq!(store.kpi_count(&FactFilter::default()).await.unwrap(), 8);
    // With the other filters: all of them hold.
    let email = FactFilter {
        channel: Some("email".into()),
        ..filter(None, &wave)
    };
    assert_eq!(store.kpi_count(&email).await.unwrap(), 2);
    // The aggregates count the same tickets: created in the first bucket.
    let buckets = store
        .kpi_buckets(at(0, 0), Duration::hours(1), 1, &filter(None, &wave))
        .await
        .unwrap();
    assert_eq!(buckets.buckets[0].created, 3);
    let by_channel = store
        .kpi_buckets_by_channel(at(0, 0), Duration::hours(1), 1, &filter(None, &wave))
        .await
        .unwrap();
    let created: Vec<(&str, u64)> = by_channel
        .iter()
        .map(|(c, b)| (c.as_str(), b.buckets[0].created))
        .collect();
    assert_eq!(created, [("email", 2), ("web_form", 1)]);
    // A wave that names nothing the facts hold counts nothing.
    let empty = WaveTickets {
        name: "empty".into(),
        ..WaveTickets::default()
    };
    assert_eq!(store.kpi_count(&filter(None, &empty)).await.unwrap(), 0);
    let buckets = store
        .kpi_buckets(at(0, 0), Duration::hours(1), 1, &filter(None, &empty))
        .await
        .unwrap();
    assert_eq!(buckets.buckets[0].created, 0);
}

async fn group_names_are_kept_per_side_and_renamed(t: TestStore) {
    let store = &t.store;
    store
        .record_group(Side::Old, &id("7"), "Billing")
        .await
        .unwrap();
    store
        .record_group(Side::New, &id("7"), "Sales")
        .await
        .unwrap();
    store
        .record_group(Side::Old, &id("7"), "Billing & Payments")
        .await
        .unwrap();
    assert_eq!(
        store.kpi_groups().await.unwrap(),
        [
            KpiGroup {
                side: Side::New,
                id: id("7"),
                name: "Sales".into()
            },
            KpiGroup {
                side: Side::Old,
                id: id("7"),
                name: "Billing & Payments".into()
            },
        ]
    );
}
