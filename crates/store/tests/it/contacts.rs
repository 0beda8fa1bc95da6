//! Contacts of the gateway: a provider's retry kept once, claimed under a lease one customer at a
//! time, delivered with the customer's conversation, given back with a backoff, calls forwarded,
//! refused contacts failed into the dead letters, and listed by side and time for a rollback
//! report.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use cutover_model::{PlatformId, RecordKind, Side};
use cutover_store::{
    Accepted, ContactDelivery, ContactId, ContactStatus, DeadLetterFilter, NewContact,
    NewDeadLetter,
};
use serde_json::json;

use crate::harness::{TestStore, backend_tests, id};

backend_tests!(
    a_retried_message_is_kept_once,
    contacts_kept_together_commit_together_each_answered_in_order,
    a_batch_larger_than_one_statement_keeps_ids_in_order_and_finds_its_repeats,
    batches_of_the_same_keys_in_opposite_orders_both_commit,
    contacts_are_claimed_one_per_customer_and_delivered_with_their_conversation,
    concurrent_claims_never_hand_out_a_contact_twice,
    calls_are_forwarded_and_listed_by_side_and_time,
    a_refused_contact_fails_into_the_dead_letters_and_unblocks_its_customer,
);

const MINUTE: Duration = Duration::from_secs(60);

fn message(channel: &str, key: &str, customer: &str) -> NewContact {
    NewContact {
        channel: channel.to_owned(),
        message_key: key.to_owned(),
        customer: customer.to_owned(),
        payload: json!({ "subject": key, "text": "hello" }),
        status: ContactStatus::Pending,
        side: None,
    }
}

async fn a_retried_message_is_kept_once(t: TestStore) {
    let store = &t.store;
    let first = store
        .accept_contact(&message("email", "<m1@x>", "ana@example.com"))
        .await
        .unwrap();
    let Accepted::New(kept) = first else {
        panic!("a first message is new: {first:?}")
    };
    assert_eq!(kept.status, ContactStatus::Pending);
    assert_eq!(kept.payload["subject"], "<m1@x>");
    let again = store
        .accept_contact(&message("email", "<m1@x>", "ana@example.com"))
        .await
        .unwrap();
    assert_eq!(again, Accepted::Repeat(kept.clone()));
    // The same key on another channel is another message.
    let other = store
        .accept_contact(&message("chat", "<m1@x>", "ana@example.com"))
        .await
        .unwrap();
    assert!(matches!(other, Accepted::New(_)), "{other:?}");
    assert_eq!(store.contacts(None, 10).await.unwrap().len(), 2);
    assert_eq!(store.contact(kept.id).await.unwrap(), Some(kept));
}

async fn contacts_kept_together_commit_together_each_answered_in_order(t: TestStore) {
    let store = &t.store;
    let before = store
        .accept_contact(&message("web", "w0", "ana@example.com"))
        .await
        .unwrap();
    // One group commit: a new one, a repeat of one kept before, the same message twice.
    let batch = [
        message("web", "w1", "bo@example.com"),
        message("web", "w0", "ana@example.com"),
        message("chat", "c1", "cy"),
        message("chat", "c1", "cy"),
    ];
    let kept = store.accept_contacts(&batch).await.unwrap();
    assert_eq!(kept.len(), 4);
    let Accepted::New(w1) = &kept[0] else {
        panic!("{:?}", kept[0])
    };
    assert_eq!(
        (w1.message_key.as_str(), w1.customer.as_str()),
        ("w1", "bo@example.com")
    );
    assert_eq!(kept[1], Accepted::Repeat(before.contact().clone()));
    let Accepted::New(c1) = &kept[2] else {
        panic!("{:?}", kept[2])
    };
    assert_eq!(kept[3], Accepted::Repeat(c1.clone()));
    let all = store.contacts(None, 10).await.unwrap();
    let keys: Vec<&str> = all.iter().map(|c| c.message_key.as_str()).collect();
    // Written in the order given: ids follow arrival.
    assert_eq!(keys, ["w0", "w1", "c1"]);
    assert!(store.accept_contacts(&[]).await.unwrap().is_empty());
}

async fn a_batch_larger_than_one_statement_keeps_ids_in_order_and_finds_its_repeats(t: TestStore) {
    let store = &t.store;
    let before = store
        .accept_contact(&message("web", "k-3", "cy"))
        .await
        .unwrap();
    // 150 contacts: more than one insert statement (64 rows each). k-3 was kept before; k-10
    // comes again at 100 (another statement) and k-70 again at 71 (the same statement);
    // k-120 is a forwarded call, delivered when received.
    let mut batch: Vec<NewContact> = (0..150)
        .map(|i| message("web", &format!("k-{i}"), &format!("c{}", i % 7)))
        .collect();
    batch[100] = message("web", "k-10", "c3");
    batch[71] = message("web", "k-70", "c0");
    batch[120].status = ContactStatus::Forwarded;
    batch[120].side = Some(Side::New);
    let kept = store.accept_contacts(&batch).await.unwrap();
    assert_eq!(kept.len(), batch.len());
    for (contact, accepted) in batch.iter().zip(&kept) {
        let c = accepted.contact();
        assert_eq!(
            (c.channel.as_str(), c.message_key.as_str()),
            (contact.channel.as_str(), contact.message_key.as_str())
        );
    }
    assert_eq!(kept[3], Accepted::Repeat(before.contact().clone()));
    assert_eq!(kept[100], Accepted::Repeat(kept[10].contact().clone()));
    assert_eq!(kept[71], Accepted::Repeat(kept[70].contact().clone()));
    let new: Vec<&cutover_store::Contact> = kept
        .iter()
        .filter_map(|a| match a {
            Accepted::New(c) => Some(c),
            Accepted::Repeat(_) => None,
        })
        .collect();
    assert_eq!(new.len(), 150 - 3);
    // New contacts' ids follow the order they were given in (the order a customer's
    // messages are delivered in).
    assert!(new.windows(2).all(|w| w[0].id < w[1].id), "{new:?}");
    assert!(new[0].id > before.contact().id);
    let call = kept[120].contact();
    assert_eq!(
        (call.status, call.side, call.delivered_at.is_some()),
        (ContactStatus::Forwarded, Some(Side::New), true)
    );
    assert!(kept[0].contact().delivered_at.is_none());
    // Read back as answered.
    let all = store.contacts(None, 200).await.unwrap();
    assert_eq!(all.len(), 1 + new.len());
    assert_eq!(all[1..].iter().collect::<Vec<_>>(), new);
    // The whole batch again: every one a repeat of what it was.
    let again = store.accept_contacts(&batch).await.unwrap();
    for (first, second) in kept.iter().zip(&again) {
        assert_eq!(second, &Accepted::Repeat(first.contact().clone()));
    }
    assert_eq!(store.contacts(None, 200).await.unwrap().len(), all.len());
}

/// Two writers keeping the same messages (a provider's retries) in opposite orders at once:
/// on PostgreSQL an insert waits for the other's uncommitted row of the same key, so each may
/// wait for the other (a deadlock: PostgreSQL gives one up after a second). The one given up
/// is written again: both answer, each message new to one of them.
async fn batches_of_the_same_keys_in_opposite_orders_both_commit(t: TestStore) {
    for round in 0..3 {
        let batch: Vec<NewContact> = (0..64)
            .map(|i| message("web", &format!("r{round}-k{i:02}"), &format!("c{i}")))
            .collect();
        let reversed: Vec<NewContact> = batch.iter().rev().cloned().collect();
        let (a, b) = (Arc::clone(&t.store), Arc::clone(&t.store));
        let (forward, backward) = tokio::join!(
            tokio::spawn(async move { a.accept_contacts(&batch).await }),
            tokio::spawn(async move { b.accept_contacts(&reversed).await }),
        );
        // A deadlock is found after a second, one of them given up (40P01) and written again.
        let forward = forward.unwrap().unwrap();
        let backward = backward.unwrap().unwrap();
        for (one, other) in forward.iter().zip(backward.iter().rev()) {
            assert_eq!(one.contact(), other.contact());
            assert!(
                matches!(
                    (one, other),
                    (Accepted::New(_), Accepted::Repeat(_))
                        | (Accepted::Repeat(_), Accepted::New(_))
                ),
                "{one:?} / {other:?}"
            );
        }
    }
    assert_eq!(t.store.contacts(None, 1000).await.unwrap().len(), 3 * 64);
}

async fn contacts_are_claimed_one_per_customer_and_delivered_with_their_conversation(t: TestStore) {
    let store = &t.store;
    let a1 = store
        .accept_contact(&message("web", "a1", "ana@example.com"))
        .await
        .unwrap();
    let a2 = store
        .accept_contact(&message("web", "a2", "ana@example.com"))
        .await
        .unwrap();
    let b1 = store
        .accept_contact(&message("web", "b1", "bo@example.com"))
        .await
        .unwrap();
    // Only each customer's oldest pending contact is claimed.
    let claimed = store.claim_contacts(10, MINUTE).await.unwrap();
    let ids: Vec<ContactId> = claimed.iter().map(|c| c.id).collect();
    assert_eq!(ids, vec![a1.contact().id, b1.contact().id]);
    assert!(claimed.iter().all(|c| c.attempts == 1));
    // Leased: nothing more to claim.
    assert!(store.claim_contacts(10, MINUTE).await.unwrap().is_empty());

    // a1 fails: given back with a backoff, noting the side it tried.
    let a1c = &claimed[0];
    let lease = a1c.leased_until.unwrap();
    let later = Utc::now() + chrono::TimeDelta::milliseconds(300);
    assert!(
        store
            .retry_contact(a1c.id, lease, later, Some(Side::New), Some("503"))
            .await
            .unwrap()
    );
    // A stale lease answers for nothing.
    assert!(
        !store
            .retry_contact(a1c.id, lease, later, None, None)
            .await
            .unwrap()
    );
    assert!(store.claim_contacts(10, MINUTE).await.unwrap().is_empty());
    tokio::time::sleep(Duration::from_millis(400)).await;
    let again = store.claim_contacts(10, MINUTE).await.unwrap();
    assert_eq!(again.len(), 1);
    let a1c = &again[0];
    assert_eq!((a1c.id, a1c.attempts), (a1.contact().id, 2));
    assert_eq!(a1c.side, Some(Side::New));
    assert_eq!(a1c.last_error.as_deref(), Some("503"));

    // Delivered as a new ticket: the conversation is kept in the same transaction.
    let delivery = ContactDelivery {
        id: a1c.id,
        lease: a1c.leased_until.unwrap(),
        side: Side::New,
        ticket_id: id("9001"),
        follow_up: false,
        conversation: Some((Side::New, id("9001"))),
    };
    assert!(store.deliver_contact(&delivery).await.unwrap());
    assert!(!store.deliver_contact(&delivery).await.unwrap());
    let conversation = store
        .conversation("web", "ana@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (conversation.side, conversation.ticket_id.as_str()),
        (Side::New, "9001")
    );
    assert_eq!(conversation.contact_id, a1.contact().id);
    assert_eq!(
        store.conversation("chat", "ana@example.com").await.unwrap(),
        None
    );
    let done = store.contact(a1c.id).await.unwrap().unwrap();
    assert_eq!(done.status, ContactStatus::Delivered);
    assert_eq!(done.ticket_id, Some(id("9001")));
    assert_eq!(done.last_error, None);
    assert!(done.delivered_at.is_some());

    // Now a2 is Ana's oldest pending contact.
    let next = store.claim_contacts(10, MINUTE).await.unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].id, a2.contact().id);
    let follow = ContactDelivery {
        id: next[0].id,
        lease: next[0].leased_until.unwrap(),
        side: Side::New,
        ticket_id: id("9001"),
        follow_up: true,
        conversation: None,
    };
    assert!(store.deliver_contact(&follow).await.unwrap());
    assert!(
        store
            .contact(a2.contact().id)
            .await
            .unwrap()
            .unwrap()
            .follow_up
    );
}

async fn concurrent_claims_never_hand_out_a_contact_twice(t: TestStore) {
    for n in 0..40 {
        t.store
            .accept_contact(&message("chat", &format!("m{n}"), &format!("user-{n}")))
            .await
            .unwrap();
    }
    let mut workers = Vec::new();
    for _ in 0..4 {
        let store = Arc::clone(&t.store);
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = store.claim_contacts(3, MINUTE).await.unwrap();
                if batch.is_empty() {
                    break;
                }
                mine.extend(batch.into_iter().map(|c| c.id));
            }
            mine
        }));
    }
    let mut seen = BTreeSet::new();
    let mut total = 0;
    for worker in workers {
        for contact in worker.await.unwrap() {
            total += 1;
            seen.insert(contact);
        }
    }
    assert_eq!((total, seen.len()), (40, 40));
}

async fn calls_are_forwarded_and_listed_by_side_and_time(t: TestStore) {
    let store = &t.store;
    let before = Utc::now() - chrono::TimeDelta::seconds(1);
    let mut ringing = message("phone", "CA1", "+441234");
    ringing.status = ContactStatus::Ringing;
    let call = store.accept_contact(&ringing).await.unwrap();
    // A ringing call is not claimed by the delivery workers.
    assert!(store.claim_contacts(10, MINUTE).await.unwrap().is_empty());
    assert!(
        store
            .forward_call(call.contact().id, Side::New)
            .await
            .unwrap()
    );
    assert!(
        !store
            .forward_call(call.contact().id, Side::New)
            .await
            .unwrap()
    );
    let mut forwarded = message("phone", "CA2", "+445678");
    forwarded.status = ContactStatus::Forwarded;
    forwarded.side = Some(Side::Old);
    let other = store.accept_contact(&forwarded).await.unwrap();
    assert!(other.contact().delivered_at.is_some());

    let on_new = store
        .contacts_delivered_since(Side::New, before, None, 10)
        .await
        .unwrap();
    assert_eq!(
        on_new.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![call.contact().id]
    );
    assert_eq!(on_new[0].status, ContactStatus::Forwarded);
    let on_old = store
        .contacts_delivered_since(Side::Old, before, None, 10)
        .await
        .unwrap();
    assert_eq!(on_old.len(), 1);
    let later = Utc::now() + chrono::TimeDelta::seconds(5);
    assert!(
        store
            .contacts_delivered_since(Side::Old, later, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn a_refused_contact_fails_into_the_dead_letters_and_unblocks_its_customer(t: TestStore) {
    let store = &t.store;
    let first = store
        .accept_contact(&message("web", "p1", "eve@example.com"))
        .await
        .unwrap();
    let second = store
        .accept_contact(&message("web", "p2", "eve@example.com"))
        .await
        .unwrap();
    let claimed = store.claim_contacts(10, MINUTE).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let letter = NewDeadLetter {
        kind: RecordKind::Ticket,
        side: Side::New,
        source_id: PlatformId::parse(format!("contact-{}", first.contact().id)).unwrap(),
        reason: "gateway web: the new side refused the contact".to_owned(),
        record: first.contact().payload.clone(),
    };
    let lease = claimed[0].leased_until.unwrap();
    let error = "http 400: email is invalid";
    assert!(
        store
            .fail_contact(claimed[0].id, lease, error, &letter)
            .await
            .unwrap()
    );
    assert!(
        !store
            .fail_contact(claimed[0].id, lease, error, &letter)
            .await
            .unwrap()
    );
    let failed = store.contact(first.contact().id).await.unwrap().unwrap();
    assert_eq!(failed.status, ContactStatus::Failed);
    assert_eq!(failed.last_error.as_deref(), Some(error));
    let letters = store
        .dead_letters(&DeadLetterFilter::default())
        .await
        .unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].reason, letter.reason);
    // The customer's next contact is claimable now.
    let next = store.claim_contacts(10, MINUTE).await.unwrap();
    assert_eq!(
        next.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![second.contact().id]
    );
}
