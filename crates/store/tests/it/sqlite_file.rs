//! SQLite specifics: one file, created if missing, in WAL mode, kept across restarts.

use cutover_model::{RecordKind, Side};
use cutover_store::{StoreError, StoreUrl};
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

use crate::harness::{id, link};

#[tokio::test]
async fn opening_creates_one_file_in_wal_mode_and_reopening_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let url: StoreUrl = format!("sqlite://{}", path.display()).parse().unwrap();
    let store = cutover_store::open(&url).await.unwrap();
    assert!(path.exists());
    store
        .link_if_absent(&link(RecordKind::Ticket, "1", "2", "x"))
        .await
        .unwrap();
    store.close().await;

    let options = SqliteConnectOptions::new().filename(&path);
    let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    conn.close().await.unwrap();

    // Opening again applies no migration twice and finds what was written.
    let store = cutover_store::open(&url).await.unwrap();
    let found = store
        .find_link(RecordKind::Ticket, Side::Old, &id("1"))
        .await
        .unwrap();
    assert_eq!(found.map(|l| l.link.new_id), Some(id("2")));
}

#[tokio::test]
async fn a_relative_path_is_relative_to_the_working_directory() {
    let url: StoreUrl = "sqlite:target/../cutover-store-relative-test.db"
        .parse()
        .unwrap();
    assert_eq!(
        url.to_string(),
        "sqlite://target/../cutover-store-relative-test.db"
    );
    let store = cutover_store::open(&url).await.unwrap();
    store.close().await;
    // Cargo runs integration tests in the package's directory.
    let file = std::path::Path::new("cutover-store-relative-test.db");
    assert!(file.exists());
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("cutover-store-relative-test.db{suffix}"));
    }
}

#[tokio::test]
async fn a_file_that_cannot_be_created_names_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing-dir").join("state.db");
    let err = cutover_store::open(&StoreUrl::sqlite(&path))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::OpenSqlite { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("open the sqlite store at {}", path.display())
    );
}
