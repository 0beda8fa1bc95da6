//! The outbox: enqueued with work, claimed under a lease, acknowledged with what it produced.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use cutover_model::{RecordKind, RecordRef, Side};
use cutover_store::{NewOutboxItem, OutboxId, OutboxStatus};
use serde_json::json;

use crate::harness::{TestStore, backend_tests, id};

backend_tests!(
    outbox_items_are_claimed_under_a_lease_and_acknowledged,
    concurrent_claims_never_hand_out_an_item_twice,
);

const MINUTE: Duration = Duration::from_secs(60);

async fn enqueue(t: &TestStore, target: Side, source_ids: &[&str]) -> Vec<OutboxId> {
    let mut tx = t.store.begin().await.unwrap();
    let mut ids = Vec::new();
    for source_id in source_ids {
        let record = RecordRef {
            kind: RecordKind::Comment,
            side: target.other(),
            id: id(source_id),
        };
        let item = NewOutboxItem {
            target,
            record,
            payload: json!({ "body": source_id }),
        };
        ids.push(tx.enqueue_outbox(&item).await.unwrap());
    }
    tx.commit().await.unwrap();
    ids
}

async fn ack(t: &TestStore, id: OutboxId) -> bool {
    let mut tx = t.store.begin().await.unwrap();
    let acked = tx.ack_outbox(id).await.unwrap();
    tx.commit().await.unwrap();
    acked
}

async fn outbox_items_are_claimed_under_a_lease_and_acknowledged(t: TestStore) {
    let store = &t.store;
    let to_new = enqueue(&t, Side::New, &["c1", "c2", "c3"]).await;
    let to_old = enqueue(&t, Side::Old, &["c4"]).await;

    let claimed = store.claim_outbox(Side::New, 2, MINUTE).await.unwrap();
    assert_eq!(
        claimed.iter().map(|item| item.id).collect::<Vec<_>>(),
        to_new[..2]
    );
    let first = &claimed[0];
    assert_eq!(
        first.record,
        RecordRef {
            kind: RecordKind::Comment,
            side: Side::Old,
            id: id("c1")
        }
    );
    assert_eq!(first.payload, json!({ "body": "c1" }));
    assert_eq!((first.status, first.attempts), (OutboxStatus::Pending, 1));
    assert!(
        first
            .leased_until
            .is_some_and(|until| until > first.created_at)
    );

    // Items under a live lease are not handed out again; the other side has its own queue.
    let rest = store.claim_outbox(Side::New, 10, MINUTE).await.unwrap();
    assert_eq!(
        rest.iter().map(|item| item.id).collect::<Vec<_>>(),
        to_new[2..]
    );
    assert_eq!(store.claim_outbox(Side::New, 10, MINUTE).await.unwrap(), []);
    let old_side = store.claim_outbox(Side::Old, 10, MINUTE).await.unwrap();
    assert_eq!(
        old_side.iter().map(|item| item.id).collect::<Vec<_>>(),
        to_old
    );

    // Sent: acknowledged once, never claimed again.
    assert!(ack(&t, to_new[0]).await);
    assert!(!ack(&t, to_new[0]).await);

    // Released before its lease ends: claimed again, one more attempt.
    assert!(store.release_outbox(to_new[1]).await.unwrap());
    let again = store.claim_outbox(Side::New, 10, MINUTE).await.unwrap();
    assert_eq!(
        again
            .iter()
            .map(|item| (item.id, item.attempts))
            .collect::<Vec<_>>(),
        [(to_new[1], 2)]
    );
    assert!(
        !store.release_outbox(to_new[0]).await.unwrap(),
        "a sent item cannot be released"
    );

    // A lease that ran out: the item goes to the next claimer.
    let late = enqueue(&t, Side::New, &["c5"]).await;
    let short = store
        .claim_outbox(Side::New, 10, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(
        short
            .iter()
            .map(|item| (item.id, item.attempts))
            .collect::<Vec<_>>(),
        [(late[0], 1)]
    );
    let next = store.claim_outbox(Side::New, 10, MINUTE).await.unwrap();
    assert_eq!(
        next.iter()
            .map(|item| (item.id, item.attempts))
            .collect::<Vec<_>>(),
        [(late[0], 2)]
    );
}

async fn concurrent_claims_never_hand_out_an_item_twice(t: TestStore) {
    let source_ids: Vec<String> = (0..200).map(|n| format!("c{n}")).collect();
    let source_refs: Vec<&str> = source_ids.iter().map(String::as_str).collect();
    let all: BTreeSet<OutboxId> = enqueue(&t, Side::New, &source_refs)
        .await
        .into_iter()
        .collect();

    let workers: Vec<_> = (0..4)
        .map(|_| {
            let store = Arc::clone(&t.store);
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let claimed = store.claim_outbox(Side::New, 7, MINUTE).await.unwrap();
                    if claimed.is_empty() {
                        return mine;
                    }
                    mine.extend(claimed.into_iter().map(|item| item.id));
                }
            })
        })
        .collect();
    let claimed: Vec<OutboxId> = futures::future::try_join_all(workers)
        .await
        .unwrap()
        .into_iter()
        .flatten()
        .collect();
    let distinct: BTreeSet<OutboxId> = claimed.iter().copied().collect();
    assert_eq!(claimed.len(), distinct.len(), "an item was claimed twice");
    assert_eq!(distinct, all);
}
