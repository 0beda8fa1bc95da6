//! Work and cursors are written together or not at all.

use std::time::Duration;

use cutover_model::{RecordKind, RecordRef, Side};
use cutover_store::{
    Batch, Cursor, CursorMove, DeadLetter, DeadLetterFilter, NewAuditEntry, NewDeadLetter,
    NewOutboxItem, Position, Store, StoreError, StoredLink,
};
use serde_json::{Value, json};

use crate::harness::{TestStore, at, backend_tests, id, link};

backend_tests!(
    a_transaction_abandoned_midway_leaves_everything_as_it_was,
    a_committed_batch_moves_the_cursor_with_its_work,
    a_batch_that_fails_midway_moves_nothing,
);

fn dead_letter(source_id: &str, reason: &str) -> NewDeadLetter {
    NewDeadLetter {
        kind: RecordKind::Ticket,
        side: Side::Old,
        source_id: id(source_id),
        reason: reason.into(),
        record: json!({ "id": source_id, "status": "escalated" }),
    }
}

fn cursor(seconds: i64, record_id: &str) -> Cursor {
    Cursor {
        position: Position::new(at(seconds, 0), record_id, 0),
        token: Some(format!("tok-{seconds}")),
    }
}

/// Everything a transaction could have touched, as committed.
#[derive(Debug, PartialEq)]
struct Snapshot {
    link_a: Option<StoredLink>,
    link_b: Option<StoredLink>,
    n_links: u64,
    dead_letters: Vec<DeadLetter>,
    cursor: Option<Cursor>,
    run_state: Option<Value>,
    n_audit: u64,
}

async fn snapshot(store: &dyn Store) -> Snapshot {
    Snapshot {
        link_a: store
            .find_link(RecordKind::Ticket, Side::Old, &id("a"))
            .await
            .unwrap(),
        link_b: store
            .find_link(RecordKind::Ticket, Side::Old, &id("b"))
            .await
            .unwrap(),
        n_links: store.count_links(None).await.unwrap(),
        dead_letters: store
            .dead_letters(&DeadLetterFilter::default())
            .await
            .unwrap(),
        cursor: store.cursor(Side::Old, "tickets").await.unwrap(),
        run_state: store.run_state("phase").await.unwrap(),
        n_audit: store.verify_audit().await.unwrap(),
    }
}

/// Writes one of everything, without committing.
async fn write_everything(store: &dyn Store) -> Box<dyn cutover_store::StoreTx> {
    let mut tx = store.begin().await.unwrap();
    tx.upsert_link(&link(RecordKind::Ticket, "a", "A", "changed"))
        .await
        .unwrap();
    tx.upsert_link(&link(RecordKind::Ticket, "b", "B", "new"))
        .await
        .unwrap();
    tx.put_dead_letter(&dead_letter("d", "unknown status"))
        .await
        .unwrap();
    tx.put_dead_letter(&dead_letter("e", "unknown status"))
        .await
        .unwrap();
    tx.set_cursor(Side::Old, "tickets", &cursor(200, "b"))
        .await
        .unwrap();
    let record = RecordRef {
        kind: RecordKind::Ticket,
        side: Side::Old,
        id: id("b"),
    };
    let item = NewOutboxItem {
        target: Side::New,
        record,
        payload: json!({}),
    };
    tx.enqueue_outbox(&item).await.unwrap();
    tx.append_audit(&NewAuditEntry::new("ops", "wave.start", json!({"wave": 1})))
        .await
        .unwrap();
    tx.put_run_state("phase", &json!("sync")).await.unwrap();
    tx
}

async fn a_transaction_abandoned_midway_leaves_everything_as_it_was(t: TestStore) {
    let store = &t.store;
    let mut tx = store.begin().await.unwrap();
    tx.upsert_link(&link(RecordKind::Ticket, "a", "A", "original"))
        .await
        .unwrap();
    tx.put_dead_letter(&dead_letter("d", "unknown status"))
        .await
        .unwrap();
    tx.set_cursor(Side::Old, "tickets", &cursor(100, "a"))
        .await
        .unwrap();
    tx.put_run_state("phase", &json!("backfill")).await.unwrap();
    tx.commit().await.unwrap();
    let before = snapshot(store.as_ref()).await;
    assert_eq!(before.n_links, 1);
    assert_eq!(before.dead_letters.len(), 1);

    // Dropped without commit.
    let tx = write_everything(store.as_ref()).await;
    drop(tx);
    assert_eq!(snapshot(store.as_ref()).await, before);

    // A task cancelled in the middle of its transaction.
    let (written, wait_for_write) = tokio::sync::oneshot::channel();
    let task_store = std::sync::Arc::clone(store);
    let task = tokio::spawn(async move {
        let _tx = write_everything(task_store.as_ref()).await;
        let _ = written.send(());
        std::future::pending::<()>().await;
    });
    wait_for_write.await.unwrap();
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    assert_eq!(snapshot(store.as_ref()).await, before);
    assert_eq!(
        store
            .claim_outbox(Side::New, 10, Duration::from_secs(60))
            .await
            .unwrap(),
        []
    );

    // The abandoned transactions hold nothing: the next one writes and commits.
    let tx = write_everything(store.as_ref()).await;
    tx.commit().await.unwrap();
    let after = snapshot(store.as_ref()).await;
    assert_eq!(after.n_links, 2);
    assert_eq!(after.cursor, Some(cursor(200, "b")));
    assert_eq!(after.dead_letters[0].attempts, 2);
    assert_eq!(after.n_audit, 1);
}

async fn a_committed_batch_moves_the_cursor_with_its_work(t: TestStore) {
    let store = &t.store;
    let batch = Batch {
        links: vec![
            link(RecordKind::Ticket, "1", "11", "x"),
            link(RecordKind::Ticket, "2", "12", "y"),
            link(RecordKind::Ticket, "3", "13", "z"),
        ],
        dead_letters: vec![dead_letter("4", "broken reference")],
        outbox: vec![],
        cursor: Some(CursorMove {
            side: Side::Old,
            stream: "tickets".into(),
            cursor: cursor(300, "4"),
        }),
    };
    store.apply_batch(&batch).await.unwrap();

    assert_eq!(
        store.cursor(Side::Old, "tickets").await.unwrap(),
        Some(cursor(300, "4"))
    );
    assert_eq!(store.cursor(Side::New, "tickets").await.unwrap(), None);
    for written in &batch.links {
        let found = store
            .find_link(written.kind, Side::Old, &written.old_id)
            .await
            .unwrap();
        assert_eq!(found.map(|l| l.link).as_ref(), Some(written));
    }
    let letters = store
        .dead_letters(&DeadLetterFilter::default())
        .await
        .unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].source_id, id("4"));
}

async fn a_batch_that_fails_midway_moves_nothing(t: TestStore) {
    let store = &t.store;
    let first = Batch {
        links: vec![link(RecordKind::Ticket, "1", "11", "x")],
        cursor: Some(CursorMove {
            side: Side::Old,
            stream: "tickets".into(),
            cursor: cursor(100, "1"),
        }),
        ..Batch::default()
    };
    store.apply_batch(&first).await.unwrap();

    // Its second link takes a new id that is linked already: the whole batch must fail.
    let second = Batch {
        links: vec![
            link(RecordKind::Ticket, "2", "12", "y"),
            link(RecordKind::Ticket, "3", "11", "z"),
        ],
        dead_letters: vec![dead_letter("4", "broken reference")],
        cursor: Some(CursorMove {
            side: Side::Old,
            stream: "tickets".into(),
            cursor: cursor(200, "3"),
        }),
        ..Batch::default()
    };
    let err = store.apply_batch(&second).await.unwrap_err();
    assert!(matches!(err, StoreError::LinkConflict { .. }), "{err:?}");

    assert_eq!(
        store.cursor(Side::Old, "tickets").await.unwrap(),
        Some(cursor(100, "1"))
    );
    assert_eq!(
        store
            .find_link(RecordKind::Ticket, Side::Old, &id("2"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.count_links(None).await.unwrap(), 1);
    assert_eq!(
        store
            .dead_letters(&DeadLetterFilter::default())
            .await
            .unwrap(),
        []
    );
}
