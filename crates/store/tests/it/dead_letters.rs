//! Dead letters: kept whole, counted on repeat, listed, shown, dropped and retried.

use cutover_model::{PlatformId, RecordKind, Side};
use cutover_store::{DeadLetterFilter, DeadLetterId, NewDeadLetter};
use serde_json::json;

use crate::harness::{TestStore, backend_tests, id};

backend_tests!(
    a_repeated_failure_counts_attempts_instead_of_duplicating,
    dead_letters_are_listed_by_kind_and_reason_shown_dropped_and_retried,
);

fn letter(kind: RecordKind, side: Side, source_id: &str, reason: &str) -> NewDeadLetter {
    NewDeadLetter {
        kind,
        side,
        source_id: id(source_id),
        reason: reason.into(),
        record: json!({ "id": source_id, "subject": "Printer on fire" }),
    }
}

async fn put(t: &TestStore, letter: &NewDeadLetter) -> cutover_store::DeadLetter {
    let mut tx = t.store.begin().await.unwrap();
    let stored = tx.put_dead_letter(letter).await.unwrap();
    tx.commit().await.unwrap();
    stored
}

async fn a_repeated_failure_counts_attempts_instead_of_duplicating(t: TestStore) {
    let first = put(
        &t,
        &letter(RecordKind::Ticket, Side::Old, "7", "unknown status"),
    )
    .await;
    assert_eq!(first.attempts, 1);
    assert_eq!(first.first_seen, first.last_seen);
    assert_eq!(first.record["subject"], "Printer on fire");

    let mut again = letter(RecordKind::Ticket, Side::Old, "7", "unknown status");
    again.record = json!({ "id": "7", "subject": "Printer still on fire" });
    let second = put(&t, &again).await;
    assert_eq!(second.id, first.id);
    assert_eq!(second.attempts, 2);
    assert_eq!(second.first_seen, first.first_seen);
    assert!(second.last_seen >= first.last_seen);
    assert_eq!(second.record, again.record);

    // Another reason, side or kind is another dead letter.
    let other = put(
        &t,
        &letter(RecordKind::Ticket, Side::Old, "7", "broken reference"),
    )
    .await;
    put(
        &t,
        &letter(RecordKind::Ticket, Side::New, "7", "unknown status"),
    )
    .await;
    put(
        &t,
        &letter(RecordKind::Contact, Side::Old, "7", "unknown status"),
    )
    .await;
    assert_ne!(other.id, first.id);
    let all = t
        .store
        .dead_letters(&DeadLetterFilter::default())
        .await
        .unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(all[0], second);
}

async fn dead_letters_are_listed_by_kind_and_reason_shown_dropped_and_retried(t: TestStore) {
    let a = put(
        &t,
        &letter(RecordKind::Ticket, Side::Old, "1", "unknown status"),
    )
    .await;
    let b = put(
        &t,
        &letter(RecordKind::Ticket, Side::Old, "2", "broken reference"),
    )
    .await;
    let c = put(
        &t,
        &letter(RecordKind::Contact, Side::New, "3", "unknown status"),
    )
    .await;
    let d = put(
        &t,
        &letter(RecordKind::Ticket, Side::New, "4", "unknown status"),
    )
    .await;

    let list = async |filter: DeadLetterFilter| {
        let found = t.store.dead_letters(&filter).await.unwrap();
        found
            .into_iter()
            .map(|letter| letter.id)
            .collect::<Vec<_>>()
    };
    let filter = DeadLetterFilter::default();
    assert_eq!(list(filter.clone()).await, [a.id, b.id, c.id, d.id]);
    let tickets = DeadLetterFilter {
        kind: Some(RecordKind::Ticket),
        ..filter.clone()
    };
    assert_eq!(list(tickets.clone()).await, [a.id, b.id, d.id]);
    let unknown = DeadLetterFilter {
        reason: Some("unknown status".into()),
        ..filter.clone()
    };
    assert_eq!(list(unknown.clone()).await, [a.id, c.id, d.id]);
    let both = DeadLetterFilter {
        reason: unknown.reason.clone(),
        ..tickets.clone()
    };
    assert_eq!(list(both).await, [a.id, d.id]);
    assert_eq!(
        list(DeadLetterFilter {
            side: Some(Side::New),
            ..filter.clone()
        })
        .await,
        [c.id, d.id]
    );
    // One record's letters: by kind, side and source id.
    let one = DeadLetterFilter {
        side: Some(Side::Old),
        source_id: Some(PlatformId::parse("2").unwrap()),
        ..tickets.clone()
    };
    assert_eq!(list(one).await, [b.id]);
    let other_side = DeadLetterFilter {
        side: Some(Side::New),
        source_id: Some(PlatformId::parse("2").unwrap()),
        ..tickets.clone()
    };
    assert_eq!(list(other_side).await, []);
    let none = DeadLetterFilter {
        reason: Some("unknown".into()),
        ..filter.clone()
    };
    assert_eq!(list(none).await, []);
    let page = DeadLetterFilter {
        after: Some(a.id),
        limit: 2,
        ..filter.clone()
    };
    assert_eq!(list(page).await, [b.id, c.id]);

    assert_eq!(t.store.dead_letter(b.id).await.unwrap(), Some(b.clone()));
    assert_eq!(
        t.store.dead_letter(DeadLetterId(999_999)).await.unwrap(),
        None
    );

    assert!(t.store.mark_dead_letter_retried(c.id).await.unwrap());
    let retried = t.store.dead_letter(c.id).await.unwrap().unwrap();
    assert!(retried.retried_at.is_some_and(|when| when >= c.last_seen));
    assert!(
        !t.store
            .mark_dead_letter_retried(DeadLetterId(999_999))
            .await
            .unwrap()
    );

    assert!(t.store.drop_dead_letter(b.id).await.unwrap());
    assert!(!t.store.drop_dead_letter(b.id).await.unwrap());
    assert_eq!(t.store.dead_letter(b.id).await.unwrap(), None);
    assert_eq!(list(filter).await, [a.id, c.id, d.id]);
}
