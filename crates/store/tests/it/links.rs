//! Links: written, updated, found from either side, and created once under concurrency.

use std::sync::Arc;

use cutover_model::{Fingerprint, RecordKind, Side};
use cutover_store::{LinkOutcome, StoreError};
use serde_json::json;

use crate::harness::{TestStore, backend_tests, id, link};

backend_tests!(
    a_link_round_trips_and_is_found_from_either_side,
    links_page_in_old_id_order,
    link_if_absent_says_what_it_found,
    a_new_id_linked_elsewhere_is_a_conflict,
    eight_tasks_linking_the_same_thousand_records_make_one_link_each,
    links_written_since_a_time_come_newest_first,
);

async fn a_link_round_trips_and_is_found_from_either_side(t: TestStore) {
    let store = &t.store;
    let mut written = link(RecordKind::Ticket, "101", "9001", "v1");
    written.old_version = Some("2024-03-01T10:00:00Z".into());

    let mut tx = store.begin().await.unwrap();
    let stored = tx.upsert_link(&written).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(stored.link, written);

    let by_old = store
        .find_link(RecordKind::Ticket, Side::Old, &id("101"))
        .await
        .unwrap();
    let by_new = store
        .find_link(RecordKind::Ticket, Side::New, &id("9001"))
        .await
        .unwrap();
    assert_eq!(by_old.as_ref(), Some(&stored));
    assert_eq!(by_new.as_ref(), Some(&stored));
    // An id is looked up on its own side and within its kind only.
    assert_eq!(
        store
            .find_link(RecordKind::Ticket, Side::New, &id("101"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .find_link(RecordKind::Contact, Side::Old, &id("101"))
            .await
            .unwrap(),
        None
    );

    let mut updated = written.clone();
    updated.fingerprint = Fingerprint::of_json(&json!({"content": "v2"}));
    updated.new_version = Some("2024-03-02T08:30:00Z".into());
    updated.last_writer = Side::New;
    let mut tx = store.begin().await.unwrap();
    tx.upsert_link(&updated).await.unwrap();
    tx.commit().await.unwrap();

    let found = store
        .find_link(RecordKind::Ticket, Side::New, &id("9001"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.link, updated);
    assert!(found.updated_at >= stored.updated_at);
    assert_eq!(
        store.count_links(Some(RecordKind::Ticket)).await.unwrap(),
        1
    );
    assert_eq!(
        store.count_links(Some(RecordKind::Contact)).await.unwrap(),
        0
    );
}

async fn links_page_in_old_id_order(t: TestStore) {
    let store = &t.store;
    let mut tx = store.begin().await.unwrap();
    for old_id in ["b", "a", "e", "c", "d"] {
        tx.upsert_link(&link(
            RecordKind::Contact,
            old_id,
            &format!("n-{old_id}"),
            old_id,
        ))
        .await
        .unwrap();
    }
    tx.upsert_link(&link(RecordKind::Ticket, "a0", "t0", "x"))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .links(RecordKind::Contact, after.as_ref(), 2)
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 2);
        after = page.last().map(|l| l.link.old_id.clone());
        seen.extend(page.into_iter().map(|l| l.link.old_id.to_string()));
    }
    assert_eq!(seen, ["a", "b", "c", "d", "e"]);
    assert_eq!(store.count_links(None).await.unwrap(), 6);
}

async fn link_if_absent_says_what_it_found(t: TestStore) {
    let store = &t.store;
    let first = link(RecordKind::Agent, "7", "70", "x");
    let created = store.link_if_absent(&first).await.unwrap();
    assert!(created.is_created());
    assert_eq!(created.stored().link, first);

    // The old id is linked already: the existing link comes back, unchanged.
    let again = link(RecordKind::Agent, "7", "71", "y");
    assert_eq!(
        store.link_if_absent(&again).await.unwrap(),
        LinkOutcome::Existing(created.stored().clone())
    );

    // The new id is linked from another old record.
    let taken = link(RecordKind::Agent, "8", "70", "z");
    assert_eq!(
        store.link_if_absent(&taken).await.unwrap(),
        LinkOutcome::NewIdTaken(created.stored().clone())
    );

    assert_eq!(store.count_links(Some(RecordKind::Agent)).await.unwrap(), 1);
}

async fn a_new_id_linked_elsewhere_is_a_conflict(t: TestStore) {
    let store = &t.store;
    let mut tx = store.begin().await.unwrap();
    tx.upsert_link(&link(RecordKind::Group, "1", "100", "x"))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    let err = tx
        .upsert_link(&link(RecordKind::Group, "2", "100", "y"))
        .await
        .unwrap_err();
    drop(tx);
    assert!(err.is_unique_violation(), "{err:?}");
    let StoreError::LinkConflict {
        side, ref new_id, ..
    } = err
    else {
        panic!("expected a link conflict, got {err:?}");
    };
    assert_eq!((side, new_id.as_str()), (Side::New, "100"));
    assert_eq!(
        err.to_string(),
        "link group 2 to 100: the new id is linked to another record"
    );
    assert_eq!(
        store
            .find_link(RecordKind::Group, Side::Old, &id("2"))
            .await
            .unwrap(),
        None
    );
}

async fn eight_tasks_linking_the_same_thousand_records_make_one_link_each(t: TestStore) {
    const N_TASKS: usize = 8;
    const N_RECORDS: usize = 1000;
    let store = Arc::clone(&t.store);
    let tasks: Vec<_> = (0..N_TASKS)
        .map(|task_idx| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let mut n_created = 0;
                // All tasks go through the records in the same order, so they race for each one.
                for record_idx in 0..N_RECORDS {
                    // Each task made its own copy on the new side; only one may be linked.
                    let candidate = link(
                        RecordKind::Ticket,
                        &format!("old-{record_idx}"),
                        &format!("new-{record_idx}-by-{task_idx}"),
                        "same content",
                    );
                    match store.link_if_absent(&candidate).await.unwrap() {
                        LinkOutcome::Created(_) => n_created += 1,
                        LinkOutcome::Existing(existing) => {
                            assert_eq!(existing.link.old_id, candidate.old_id);
                            assert_ne!(existing.link.new_id, candidate.new_id);
                        }
                        LinkOutcome::NewIdTaken(other) => panic!("new ids are unique: {other:?}"),
                    }
                }
                n_created
            })
        })
        .collect();
    let n_created: usize = futures::future::try_join_all(tasks)
        .await
        .unwrap()
        .into_iter()
        .sum();
    assert_eq!(n_created, N_RECORDS);
    assert_eq!(
        store.count_links(Some(RecordKind::Ticket)).await.unwrap(),
        N_RECORDS as u64
    );
    for record_idx in [0, 1, 499, 999] {
        let old_id = id(&format!("old-{record_idx}"));
        let found = store
            .find_link(RecordKind::Ticket, Side::Old, &old_id)
            .await
            .unwrap()
            .unwrap();
        let back = store
            .find_link(RecordKind::Ticket, Side::New, &found.link.new_id)
            .await
            .unwrap();
        assert_eq!(back, Some(found));
    }
}

async fn links_written_since_a_time_come_newest_first(t: TestStore) {
    let store = &t.store;
    let write = |l: cutover_store::Link| async move {
        let mut tx = store.begin().await.unwrap();
        let stored = tx.upsert_link(&l).await.unwrap();
        tx.commit().await.unwrap();
        stored
    };
    let first = write(link(RecordKind::Ticket, "1", "901", "v1")).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let since = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    write(link(RecordKind::Contact, "2", "902", "v1")).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    write(link(RecordKind::Ticket, "3", "903", "v1")).await;
    let ids = |links: Vec<cutover_store::StoredLink>| -> Vec<String> {
        links
            .into_iter()
            .map(|l| l.link.old_id.to_string())
            .collect()
    };
    assert_eq!(
        ids(store.links_written_since(since, 10).await.unwrap()),
        ["3", "2"]
    );
    assert_eq!(
        ids(store.links_written_since(since, 1).await.unwrap()),
        ["3"]
    );
    // Written again (the bridge carried a change): in the window again.
    write(link(RecordKind::Ticket, "1", "901", "v2")).await;
    assert_eq!(
        ids(store.links_written_since(since, 10).await.unwrap()),
        ["1", "3", "2"]
    );
    assert_eq!(
        ids(store
            .links_written_since(first.updated_at, 10)
            .await
            .unwrap())
        .len(),
        3
    );
}
