//! Run state: named JSON values.

use serde_json::json;

use crate::harness::{TestStore, backend_tests};

backend_tests!(
    run_state_values_are_put_and_got,
    run_state_values_are_deleted_with_their_transaction
);

async fn run_state_values_are_put_and_got(t: TestStore) {
    let store = &t.store;
    assert_eq!(store.run_state("run/42").await.unwrap(), None);

    let status = json!({ "phase": "backfill", "done": 1200, "kinds": ["ticket", "comment"] });
    store.put_run_state("run/42", &status).await.unwrap();
    assert_eq!(store.run_state("run/42").await.unwrap(), Some(status));

    store
        .put_run_state("run/42", &json!({ "phase": "sync" }))
        .await
        .unwrap();
    assert_eq!(
        store.run_state("run/42").await.unwrap(),
        Some(json!({ "phase": "sync" }))
    );
    assert_eq!(store.run_state("run/43").await.unwrap(), None);

    let mut tx = store.begin().await.unwrap();
    tx.put_run_state("run/42", &json!(null)).await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(
        store.run_state("run/42").await.unwrap(),
        Some(json!({ "phase": "sync" }))
    );

    // Kept across a restart.
    let reopened = t.reopen().await;
    assert_eq!(
        reopened.run_state("run/42").await.unwrap(),
        Some(json!({ "phase": "sync" }))
    );
}

async fn run_state_values_are_deleted_with_their_transaction(t: TestStore) {
    let store = &t.store;
    store
        .put_run_state("intent/1", &json!({ "n": 1 }))
        .await
        .unwrap();
    store
        .put_run_state("intent/2", &json!({ "n": 2 }))
        .await
        .unwrap();

    let mut tx = store.begin().await.unwrap();
    tx.delete_run_state("intent/1").await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(
        store.run_state("intent/1").await.unwrap(),
        Some(json!({ "n": 1 }))
    );

    let mut tx = store.begin().await.unwrap();
    tx.delete_run_state("intent/1").await.unwrap();
    tx.delete_run_state("intent/never-written").await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.run_state("intent/1").await.unwrap(), None);
    assert_eq!(
        store.run_state("intent/2").await.unwrap(),
        Some(json!({ "n": 2 }))
    );

    store.delete_run_state("intent/2").await.unwrap();
    let reopened = t.reopen().await;
    assert_eq!(reopened.run_state("intent/1").await.unwrap(), None);
    assert_eq!(reopened.run_state("intent/2").await.unwrap(), None);
}
