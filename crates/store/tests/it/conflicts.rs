//! Conflicts the bridge resolved, and the links' field hashes: stored and read back.

use chrono::{TimeZone, Utc};
use cutover_model::{RecordKind, Side};
use cutover_store::{ConflictId, NewConflict};

use crate::harness::{TestStore, backend_tests, id, link};

backend_tests!(
    conflicts_are_stored_listed_in_order_and_shown,
    a_link_keeps_both_versions_and_its_field_hashes,
);

fn conflict(n: u32, field: &str, winner: Side) -> NewConflict {
    NewConflict {
        kind: RecordKind::Ticket,
        old_id: id(&format!("{n}")),
        new_id: id(&format!("{}", 9000 + n)),
        field: field.to_owned(),
        old_value: format!("\"old subject {n}\""),
        new_value: format!("\"new subject {n}\""),
        rule: "later writer".to_owned(),
        winner,
        at: Utc.with_ymd_and_hms(2026, 12, 4, 3, 0, n).unwrap(),
    }
}

async fn conflicts_are_stored_listed_in_order_and_shown(t: TestStore) {
    let store = &t.store;
    assert!(store.conflicts(None, 10).await.unwrap().is_empty());
    let written: Vec<NewConflict> = (1..=5)
        .map(|n| {
            let winner = if n % 2 == 0 { Side::Old } else { Side::New };
            conflict(n, if n == 3 { "tags" } else { "subject" }, winner)
        })
        .collect();
    let mut ids = Vec::new();
    let mut tx = store.begin().await.unwrap();
    for c in &written {
        ids.push(tx.put_conflict(c).await.unwrap());
    }
    tx.commit().await.unwrap();
    // A transaction dropped without commit stores nothing.
    let mut tx = store.begin().await.unwrap();
    tx.put_conflict(&conflict(6, "status", Side::Old))
        .await
        .unwrap();
    drop(tx);

    let all = store.conflicts(None, 100).await.unwrap();
    assert_eq!(all.len(), 5);
    let read: Vec<&NewConflict> = all.iter().map(|c| &c.conflict).collect();
    assert_eq!(read, written.iter().collect::<Vec<_>>());
    assert_eq!(all.iter().map(|c| c.id).collect::<Vec<_>>(), ids);
    // Paged: after an id, at most a limit.
    let page = store.conflicts(Some(ids[1]), 2).await.unwrap();
    assert_eq!(page.iter().map(|c| c.id).collect::<Vec<_>>(), ids[2..4]);
    let one = store.conflict(ids[2]).await.unwrap().unwrap();
    assert_eq!(one.conflict.field, "tags");
    assert_eq!(one.conflict.winner, Side::New);
    assert_eq!(store.conflict(ConflictId(999_999)).await.unwrap(), None);
}

async fn a_link_keeps_both_versions_and_its_field_hashes(t: TestStore) {
    let store = &t.store;
    let mut written = link(RecordKind::Ticket, "7", "9007", "v1");
    written.old_version = Some("2026-12-04T03:00:00+00:00".into());
    written.new_version = Some("2026-12-04T03:00:01+00:00".into());
    written.fields = Some(
        [("subject", "ab12"), ("status", "cd34"), ("tags", "ef56")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    );
    let mut tx = store.begin().await.unwrap();
    let stored = tx.upsert_link(&written).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(stored.link, written);
    let found = store
        .find_link(RecordKind::Ticket, Side::New, &id("9007"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.link, written);
    // A link without field hashes (one made before they were kept) reads back without them.
    let mut plain = written.clone();
    plain.fields = None;
    let mut tx = store.begin().await.unwrap();
    tx.upsert_link(&plain).await.unwrap();
    tx.commit().await.unwrap();
    let found = store
        .find_link(RecordKind::Ticket, Side::Old, &id("7"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.link.fields, None);
    assert_eq!(found.link.new_version, written.new_version);
}
