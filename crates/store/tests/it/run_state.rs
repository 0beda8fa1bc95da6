//! Run state: named JSON values.

use serde_json::json;

use crate::harness::{TestStore, backend_tests};

backend_tests!(run_state_values_are_put_and_got);

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
