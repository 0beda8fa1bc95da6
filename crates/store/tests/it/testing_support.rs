//! The throwaway-database helper other crates' tests use.

use cutover_store::testing::TestDatabase;
use sqlx::Connection;

async fn database_exists(probe: &TestDatabase, name: &str) -> bool {
    let mut conn = probe.connect().await.unwrap();
    let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_optional(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    found.is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_database_is_dropped_with_its_guard_even_while_in_use() {
    let probe = TestDatabase::create().await.unwrap();
    let db = TestDatabase::create().await.unwrap();
    let name = db.name().to_owned();
    assert_ne!(name, probe.name());
    assert!(database_exists(&probe, &name).await);

    // An open store keeps connections to it; the guard drops it anyway.
    let store = cutover_store::open(db.url()).await.unwrap();
    assert_eq!(store.verify_audit().await.unwrap(), 0);
    drop(db);
    assert!(!database_exists(&probe, &name).await);

    let explicit = TestDatabase::create().await.unwrap();
    let name = explicit.name().to_owned();
    explicit.drop_database().await.unwrap();
    assert!(!database_exists(&probe, &name).await);
}
