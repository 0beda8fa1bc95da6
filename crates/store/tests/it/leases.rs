//! Leases: one holder at a time, renewed by it, taken over once lapsed, with a fencing token
//! raised at every change of holder; and the webhook hints kept for the process that leads.

use std::time::Duration;

use cutover_model::{RecordKind, Side};

use cutover_store::{Fence, Store};
use serde_json::json;

use crate::harness::{TestStore, backend_tests, id, link};

backend_tests!(
    a_lease_has_one_holder_until_it_lapses_or_is_released,
    holders_racing_for_a_free_lease_get_one_winner,
    a_lease_holder_that_did_not_renew_in_time_gets_a_new_token,
    hints_are_kept_per_side_in_order_until_dropped,
    a_deposed_leaders_writes_are_refused_and_change_nothing,
);

const TTL: Duration = Duration::from_secs(30);

async fn a_lease_has_one_holder_until_it_lapses_or_is_released(t: TestStore) {
    let store = &t.store;
    assert_eq!(store.lease("serve").await.unwrap(), None);
    let a = store.try_lease("serve", "a", TTL).await.unwrap().unwrap();
    assert_eq!((a.holder.as_str(), a.token, a.expired), ("a", 1, false));
    assert!(a.expires_at > a.renewed_at);
    // Another holder waits while the lease is live.
    assert_eq!(store.try_lease("serve", "b", TTL).await.unwrap(), None);
    // A renewal keeps the token and the start of the tenure, and moves the end.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let renewed = store.try_lease("serve", "a", TTL).await.unwrap().unwrap();
    assert_eq!((renewed.token, renewed.since), (1, a.since));
    assert!(renewed.expires_at > a.expires_at);
    // Another lease name is another lease.
    let other = store.try_lease("gateway", "b", TTL).await.unwrap().unwrap();
    assert_eq!(other.token, 1);
    // Only the holder releases; then the other takes it at once, with a raised token.
    assert!(!store.release_lease("serve", "b").await.unwrap());
    assert!(store.release_lease("serve", "a").await.unwrap());
    assert!(!store.release_lease("serve", "a").await.unwrap());
    let read = store.lease("serve").await.unwrap().unwrap();
    assert!(read.expired);
    let b = store.try_lease("serve", "b", TTL).await.unwrap().unwrap();
    assert_eq!((b.holder.as_str(), b.token), ("b", 2));
    assert!(b.since >= a.since);
    assert_eq!(store.try_lease("serve", "a", TTL).await.unwrap(), None);
    let read = store.lease("serve").await.unwrap().unwrap();
    assert_eq!(
        (read.holder.as_str(), read.token, read.expired),
        ("b", 2, false)
    );
    // A lease that lapses by time is free too.
    let short = Duration::from_millis(300);
    assert!(
        store
            .try_lease("lapse", "a", short)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(store.try_lease("lapse", "b", short).await.unwrap(), None);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(store.lease("lapse").await.unwrap().unwrap().expired);
    let taken = store.try_lease("lapse", "b", short).await.unwrap().unwrap();
    assert_eq!((taken.holder.as_str(), taken.token), ("b", 2));
}

async fn holders_racing_for_a_free_lease_get_one_winner(t: TestStore) {
    // Each round, eight holders on their own connections race for a free lease; one wins.
    for round in 0..5_i64 {
        let mut tasks = Vec::new();
        for n in 0..8 {
            let store = t.reopen().await;
            tasks.push(tokio::spawn(async move {
                let holder = format!("h{n}");
                let won = store.try_lease("serve", &holder, TTL).await.unwrap();
                store.close().await;
                won
            }));
        }
        let mut winners = Vec::new();
        for task in tasks {
            if let Some(lease) = task.await.unwrap() {
                winners.push(lease);
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        let winner = &winners[0];
        assert_eq!(winner.token, round + 1);
        let read = t.store.lease("serve").await.unwrap().unwrap();
        assert_eq!(read.holder, winner.holder);
        assert!(
            t.store
                .release_lease("serve", &winner.holder)
                .await
                .unwrap()
        );
    }
}

async fn a_lease_holder_that_did_not_renew_in_time_gets_a_new_token(t: TestStore) {
    let store = &t.store;
    let short = Duration::from_millis(200);
    let first = store.try_lease("serve", "a", short).await.unwrap().unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Lapsed, then taken again by the same holder: a new tenure (what it did under the old one
    // may have overlapped another holder's).
    let again = store.try_lease("serve", "a", TTL).await.unwrap().unwrap();
    assert_eq!(again.token, first.token + 1);
    assert!(again.since > first.since);
}

async fn hints_are_kept_per_side_in_order_until_dropped(t: TestStore) {
    let store = &t.store;
    assert!(store.pending_hints(Side::Old, 10).await.unwrap().is_empty());
    store
        .put_hints(
            Side::Old,
            &[
                (RecordKind::Ticket, id("7")),
                (RecordKind::Contact, id("8")),
            ],
        )
        .await
        .unwrap();
    store
        .put_hints(Side::New, &[(RecordKind::Ticket, id("70"))])
        .await
        .unwrap();
    store
        .put_hints(Side::Old, &[(RecordKind::Ticket, id("9"))])
        .await
        .unwrap();
    let old = store.pending_hints(Side::Old, 2).await.unwrap();
    let read: Vec<_> = old.iter().map(|h| (h.kind, h.record_id.as_str())).collect();
    assert_eq!(
        read,
        [(RecordKind::Ticket, "7"), (RecordKind::Contact, "8")]
    );
    assert!(old.iter().all(|h| h.side == Side::Old));
    // Dropping up to the last read leaves the rest, and the other side's.
    assert_eq!(store.drop_hints(Side::Old, old[1].id).await.unwrap(), 2);
    let rest = store.pending_hints(Side::Old, 10).await.unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].record_id.as_str(), "9");
    let new = store.pending_hints(Side::New, 10).await.unwrap();
    assert_eq!(new.len(), 1);
    assert_eq!(new[0].record_id.as_str(), "70");
}

/// A leader's writes: a routing change (a switch step) and a link (a bridge write).
async fn leader_writes(
    store: &dyn Store,
    generation: i64,
    old_id: &str,
) -> Result<(), cutover_store::StoreError> {
    store
        .put_run_state("routing", &json!({ "generation": generation }))
        .await?;
    let mut tx = store.begin().await?;
    tx.upsert_link(&link(
        RecordKind::Ticket,
        old_id,
        &format!("9{old_id}"),
        "v1",
    ))
    .await?;
    tx.commit().await
}

async fn a_deposed_leaders_writes_are_refused_and_change_nothing(t: TestStore) {
    // Two processes on one store: `a` leads first, `b` takes over once a's lease lapses.
    let a = t.store.clone();
    let b = t.reopen().await;
    let short = Duration::from_millis(300);
    let fence_a = Fence::new("serve");
    let a_writes = a.fenced(fence_a.clone());
    // Before a tenure set its token, a fenced handle writes nothing.
    let refused = leader_writes(a_writes.as_ref(), 0, "100")
        .await
        .unwrap_err();
    assert!(refused.is_fenced(), "{refused}");
    let lease_a = a.try_lease("serve", "a", short).await.unwrap().unwrap();
    fence_a.hold(lease_a.token);
    leader_writes(a_writes.as_ref(), 1, "101").await.unwrap();
    // a stops renewing (stalled, cut off); b takes the lease under a new token.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let lease_b = b.try_lease("serve", "b", TTL).await.unwrap().unwrap();
    assert_eq!(lease_b.token, lease_a.token + 1);
    let fence_b = Fence::new("serve");
    fence_b.hold(lease_b.token);
    let b_writes = b.fenced(fence_b);
    leader_writes(b_writes.as_ref(), 2, "102").await.unwrap();
    // a, deposed, still believes it leads: each write is refused, naming both tokens.
    let refused = leader_writes(a_writes.as_ref(), 3, "103")
        .await
        .unwrap_err();
    assert!(refused.is_fenced(), "{refused}");
    let said = refused.to_string();
    assert!(
        said.contains(&format!("token {}", lease_a.token))
            && said.contains(&format!("under token {}", lease_b.token)),
        "{said}"
    );
    assert!(a_writes.begin().await.err().is_some_and(|e| e.is_fenced()));
    // A batch of contacts through a deposed handle (one multi-row insert) is refused whole.
    let contact = cutover_store::NewContact {
        channel: "web".to_owned(),
        message_key: "fenced-1".to_owned(),
        customer: "ana".to_owned(),
        payload: json!({}),
        status: cutover_store::ContactStatus::Pending,
        side: None,
    };
    let refused = a_writes
        .accept_contacts(std::slice::from_ref(&contact))
        .await
        .unwrap_err();
    assert!(refused.is_fenced(), "{refused}");
    assert!(b.contacts(None, 10).await.unwrap().is_empty());
    // Nothing of a's changed the store: the routing is b's, no link of a's late write.
    assert_eq!(
        b.run_state("routing").await.unwrap(),
        Some(json!({ "generation": 2 }))
    );
    for (old_id, present) in [("101", true), ("102", true), ("103", false)] {
        let found = b
            .find_link(RecordKind::Ticket, Side::Old, &id(old_id))
            .await
            .unwrap();
        assert_eq!(found.is_some(), present, "link of old ticket {old_id}");
    }
    // What any process writes (hints kept for the leader) is not fenced.
    a_writes
        .put_hints(Side::Old, &[(RecordKind::Ticket, id("7"))])
        .await
        .unwrap();
    // Unfenced handles of either process still write (the gateway's contacts, the CLI's).
    a.put_run_state("note", &json!("a")).await.unwrap();
}
