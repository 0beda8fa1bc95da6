//! The audit log: one hash chain, whatever the concurrency, and tampering is found and named.

use std::sync::Arc;

use cutover_store::{AuditHash, AuditProblem, NewAuditEntry, StoreError};
use serde_json::json;

use crate::harness::{TestStore, backend_tests};

backend_tests!(
    the_audit_chain_links_each_entry_to_the_one_before,
    concurrent_appends_keep_one_chain,
    the_database_refuses_to_edit_or_delete_entries,
    an_edited_entry_is_found_and_named,
    a_deleted_middle_entry_is_found_and_named,
    a_deleted_last_entry_is_found_and_named,
);

async fn append_five(t: &TestStore) {
    for wave in 1..=5 {
        let entry = NewAuditEntry::new("ops@example.com", "wave.start", json!({ "wave": wave }));
        t.store.append_audit(&entry).await.unwrap();
    }
    assert_eq!(t.store.verify_audit().await.unwrap(), 5);
}

fn tampered(result: Result<u64, StoreError>) -> (i64, AuditProblem) {
    match result {
        Err(err @ StoreError::AuditTampered { .. }) => {
            assert!(err.is_tampering());
            let StoreError::AuditTampered { seq, problem } = err else {
                unreachable!()
            };
            (seq, problem)
        }
        other => panic!("expected tampering to be found, got {other:?}"),
    }
}

async fn the_audit_chain_links_each_entry_to_the_one_before(t: TestStore) {
    assert_eq!(t.store.verify_audit().await.unwrap(), 0);
    let detail = json!({ "wave": 1, "gates": { "verify": "clean", "lag_s": 2.5 } });
    let first = t
        .store
        .append_audit(&NewAuditEntry::new("ops", "wave.start", detail.clone()))
        .await
        .unwrap();
    assert_eq!((first.seq, first.prev_hash), (1, AuditHash::GENESIS));
    let second = t
        .store
        .append_audit(&NewAuditEntry::new("cutover", "wave.pause", json!({})))
        .await
        .unwrap();
    assert_eq!((second.seq, second.prev_hash), (2, first.hash));

    let entries = t.store.audit_entries(0, 10).await.unwrap();
    assert_eq!(entries, [first.clone(), second]);
    assert_eq!(entries[0].detail, detail);
    assert_eq!(t.store.audit_entries(1, 10).await.unwrap().len(), 1);
    assert_eq!(t.store.verify_audit().await.unwrap(), 2);
    // The chain survives a restart, and goes on from where it was.
    let reopened = t.reopen().await;
    let third = reopened
        .append_audit(&NewAuditEntry::new("ops", "go", json!(null)))
        .await
        .unwrap();
    assert_eq!(third.seq, 3);
    assert_eq!(reopened.verify_audit().await.unwrap(), 3);
}

async fn concurrent_appends_keep_one_chain(t: TestStore) {
    let tasks: Vec<_> = (0..8)
        .map(|task_idx| {
            let store = Arc::clone(&t.store);
            tokio::spawn(async move {
                for entry_idx in 0..25 {
                    let detail = json!({ "task": task_idx, "entry": entry_idx });
                    store
                        .append_audit(&NewAuditEntry::new("worker", "tick", detail))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    futures::future::try_join_all(tasks).await.unwrap();
    assert_eq!(t.store.verify_audit().await.unwrap(), 200);
    let seqs: Vec<i64> = t
        .store
        .audit_entries(0, 500)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, (1..=200).collect::<Vec<_>>());
}

async fn the_database_refuses_to_edit_or_delete_entries(t: TestStore) {
    append_five(&t).await;
    let edit = t
        .raw("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3")
        .await
        .unwrap_err();
    assert!(edit.to_string().contains("append-only"), "{edit}");
    let delete = t
        .raw("DELETE FROM audit_log WHERE seq = 3")
        .await
        .unwrap_err();
    assert!(delete.to_string().contains("append-only"), "{delete}");
    assert_eq!(t.store.verify_audit().await.unwrap(), 5);
}

async fn an_edited_entry_is_found_and_named(t: TestStore) {
    append_five(&t).await;
    t.disable_audit_triggers().await;
    t.raw(r#"UPDATE audit_log SET detail = '{"wave": 99}' WHERE seq = 3"#)
        .await
        .unwrap();
    let err = t.store.verify_audit().await;
    assert_eq!(tampered(err), (3, AuditProblem::Edited));
    let text = t.store.verify_audit().await.unwrap_err().to_string();
    assert_eq!(
        text,
        "verify audit entry 3: its hash does not match its content, so it was edited"
    );
}

async fn a_deleted_middle_entry_is_found_and_named(t: TestStore) {
    append_five(&t).await;
    t.disable_audit_triggers().await;
    t.raw("DELETE FROM audit_log WHERE seq = 3").await.unwrap();
    assert_eq!(
        tampered(t.store.verify_audit().await),
        (4, AuditProblem::Gap { previous: 2 })
    );
}

async fn a_deleted_last_entry_is_found_and_named(t: TestStore) {
    append_five(&t).await;
    t.disable_audit_triggers().await;
    t.raw("DELETE FROM audit_log WHERE seq = 5").await.unwrap();
    assert_eq!(
        tampered(t.store.verify_audit().await),
        (5, AuditProblem::Truncated { last: 4 })
    );
}
