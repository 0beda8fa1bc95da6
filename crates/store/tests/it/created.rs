//! The ledger of what cutover created: kept once with its link, listed by kind and id in pages,
//! forgotten with its link once deleted.

use cutover_model::{Fingerprint, RecordKind, SetupKind, Side};
use cutover_store::{CreatedRecord, CreatedSetup, Link};

use crate::harness::{TestStore, backend_tests, id};

backend_tests!(
    created_records_are_listed_in_pages_and_forgotten_with_their_links,
    setup_items_are_kept_apart_from_records_by_kind_and_forgotten
);

async fn setup_items_are_kept_apart_from_records_by_kind_and_forgotten(t: TestStore) {
    let store = &t.store;
    let item = |kind, item_id: &str, name: &str| CreatedSetup {
        side: Side::New,
        kind,
        id: id(item_id),
        name: name.to_owned(),
        parent: None,
    };
    let brand = item(SetupKind::Brand, "900", "Acme Support");
    // A membership keeps its agent.
    let memberships = [
        CreatedSetup {
            parent: Some(id("5")),
            ..item(SetupKind::GroupMembership, "71", "agent 5 in group 6")
        },
        item(SetupKind::GroupMembership, "70", "agent 5 in group 7"),
    ];
    let mut tx = store.begin().await.unwrap();
    tx.record_created(&created(RecordKind::Ticket, "10", "1"))
        .await
        .unwrap();
    for added in memberships.iter().chain([&brand]) {
        tx.record_setup(added).await.unwrap();
        // A repeat is kept once.
        tx.record_setup(added).await.unwrap();
    }
    tx.commit().await.unwrap();

    // The records' listing holds records only.
    let records = store.created_records(Side::New, None, 10).await.unwrap();
    assert_eq!(records, vec![created(RecordKind::Ticket, "10", "1")]);
    assert_eq!(
        store
            .created_setup(Side::New, SetupKind::Brand)
            .await
            .unwrap(),
        vec![brand.clone()]
    );
    assert_eq!(
        store
            .created_setup(Side::New, SetupKind::GroupMembership)
            .await
            .unwrap(),
        vec![memberships[1].clone(), memberships[0].clone()]
    );
    assert!(
        store
            .created_setup(Side::Old, SetupKind::Brand)
            .await
            .unwrap()
            .is_empty()
    );

    let mut tx = store.begin().await.unwrap();
    assert!(
        tx.forget_setup(Side::New, SetupKind::Brand, &id("900"))
            .await
            .unwrap()
    );
    assert!(
        !tx.forget_setup(Side::New, SetupKind::Brand, &id("900"))
            .await
            .unwrap()
    );
    // A set-up item's id is no record's: forgetting one leaves the record of that id.
    assert!(
        !tx.forget_setup(Side::New, SetupKind::GroupMembership, &id("10"))
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    assert!(
        store
            .created_setup(Side::New, SetupKind::Brand)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .created_records(Side::New, None, 10)
            .await
            .unwrap()
            .len(),
        1
    );
}

fn created(kind: RecordKind, new_id: &str, old_id: &str) -> CreatedRecord {
    CreatedRecord {
        side: Side::New,
        kind,
        id: id(new_id),
        source_id: id(old_id),
        parent: None,
    }
}

async fn created_records_are_listed_in_pages_and_forgotten_with_their_links(t: TestStore) {
    let store = &t.store;
    let fp = Fingerprint::of(&"ticket").unwrap();
    let records = [
        created(RecordKind::Ticket, "20", "2"),
        created(RecordKind::Ticket, "10", "1"),
        created(RecordKind::Contact, "30", "3"),
        // A comment keeps the ticket it belongs to.
        CreatedRecord {
            parent: Some(id("10")),
            ..created(RecordKind::Comment, "40", "4")
        },
    ];
    let mut tx = store.begin().await.unwrap();
    for record in &records {
        let link = Link::new(
            record.kind,
            record.source_id.clone(),
            record.id.clone(),
            fp,
            Side::Old,
        );
        tx.upsert_link(&link).await.unwrap();
        tx.record_created(record).await.unwrap();
        // A repeat is kept once.
        tx.record_created(record).await.unwrap();
    }
    tx.commit().await.unwrap();

    let first = store.created_records(Side::New, None, 2).await.unwrap();
    assert_eq!(first, vec![records[3].clone(), records[2].clone()]);
    let last = first.last().unwrap();
    let rest = store
        .created_records(Side::New, Some((last.kind, &last.id)), 2)
        .await
        .unwrap();
    assert_eq!(rest, vec![records[1].clone(), records[0].clone()]);
    assert!(
        store
            .created_records(Side::Old, None, 10)
            .await
            .unwrap()
            .is_empty()
    );

    let mut tx = store.begin().await.unwrap();
    assert!(
        tx.forget_created(Side::New, RecordKind::Ticket, &id("10"))
            .await
            .unwrap()
    );
    assert!(
        !tx.forget_created(Side::New, RecordKind::Ticket, &id("10"))
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    let left = store.created_records(Side::New, None, 10).await.unwrap();
    assert_eq!(left.len(), 3);
    assert!(
        store
            .find_link(RecordKind::Ticket, Side::New, &id("10"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .find_link(RecordKind::Ticket, Side::New, &id("20"))
            .await
            .unwrap()
            .is_some()
    );
}
