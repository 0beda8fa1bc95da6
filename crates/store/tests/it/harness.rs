//! A fresh store per test, on either backend, with raw SQL access for tampering.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use cutover_model::{Fingerprint, PlatformId, RecordKind, Side};
use cutover_store::testing::TestDatabase;
use cutover_store::{Link, Store, StoreUrl};
use serde_json::json;
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use tempfile::TempDir;

/// Runs each named behaviour (an `async fn(TestStore)` in the invoking module) as one test per
/// backend: `<module>::sqlite::<name>` and `<module>::postgres::<name>`.
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::harness::TestStore::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::harness::TestStore::postgres().await).await;
                }
            )*
        }
    };
}
pub(crate) use backend_tests;

/// What keeps a test's database alive, and removes it afterwards.
enum Place {
    /// A SQLite file in a temporary directory, removed with it.
    Sqlite { _dir: TempDir, path: PathBuf },
    /// A PostgreSQL database, dropped with the guard.
    Postgres(TestDatabase),
}

/// A store of its own for one test.
pub(crate) struct TestStore {
    /// The store under test.
    pub(crate) store: Arc<dyn Store>,
    url: StoreUrl,
    place: Place,
}

impl TestStore {
    /// A store in a new SQLite file.
    pub(crate) async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cutover.db");
        let url = StoreUrl::sqlite(&path);
        let store = cutover_store::open(&url).await.unwrap();
        TestStore {
            store,
            url,
            place: Place::Sqlite { _dir: dir, path },
        }
    }

    /// A store in a new PostgreSQL database.
    pub(crate) async fn postgres() -> Self {
        let db = TestDatabase::create().await.unwrap();
        let url = db.url().clone();
        let store = cutover_store::open(&url).await.unwrap();
        TestStore {
            store,
            url,
            place: Place::Postgres(db),
        }
    }

    /// Opens the same database again, as a restarted process would.
    pub(crate) async fn reopen(&self) -> Arc<dyn Store> {
        cutover_store::open(&self.url).await.unwrap()
    }

    /// Runs raw SQL behind the store's back, as someone with access to the database could.
    pub(crate) async fn raw(&self, sql: &'static str) -> Result<(), sqlx::Error> {
        match &self.place {
            Place::Sqlite { path, .. } => {
                let options = SqliteConnectOptions::new().filename(path);
                let mut conn = SqliteConnection::connect_with(&options).await?;
                sqlx::raw_sql(sql).execute(&mut conn).await?;
                conn.close().await
            }
            Place::Postgres(db) => {
                let mut conn = db.connect().await.unwrap();
                sqlx::raw_sql(sql).execute(&mut conn).await?;
                conn.close().await
            }
        }
    }

    /// Removes the triggers that make the audit log append-only, as an attacker with owner
    /// rights could; what is left to catch tampering is the hash chain.
    pub(crate) async fn disable_audit_triggers(&self) {
        let sql = match self.place {
            Place::Sqlite { .. } => {
                "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;"
            }
            Place::Postgres(_) => "DROP TRIGGER audit_log_no_change ON audit_log;",
        };
        self.raw(sql).await.unwrap();
    }
}

/// A platform id.
pub(crate) fn id(text: &str) -> PlatformId {
    PlatformId::parse(text).unwrap()
}

/// A link of a record whose content is `content`.
pub(crate) fn link(kind: RecordKind, old_id: &str, new_id: &str, content: &str) -> Link {
    Link::new(
        kind,
        id(old_id),
        id(new_id),
        Fingerprint::of_json(&json!({ "content": content })),
        Side::Old,
    )
}

/// A time from seconds and microseconds since 1970.
pub(crate) fn at(seconds: i64, micros: u32) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, micros * 1000).unwrap()
}
