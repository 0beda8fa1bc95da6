//! Throwaway PostgreSQL databases for tests: each test gets its own, dropped afterwards.
//!
//! ```no_run
//! # async fn example() -> Result<(), cutover_store::StoreError> {
//! let db = cutover_store::testing::TestDatabase::create().await?;
//! let store = cutover_store::open(db.url()).await?;
//! // … the database is dropped (WITH (FORCE)) when `db` goes out of scope.
//! # Ok(()) }
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::postgres::PgConnection;
use sqlx::{AssertSqlSafe, Connection};

use crate::error::{QueryContext, StoreError};
use crate::sql::postgres;
use crate::url::StoreUrl;

/// Where tests find a PostgreSQL server when `CUTOVER_TEST_POSTGRES` is not set: a local server
/// that lets user `postgres` in without a password.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The environment variable that overrides [`DEFAULT_POSTGRES_URL`].
pub const POSTGRES_URL_ENV: &str = "CUTOVER_TEST_POSTGRES";

/// The server URL tests use: `CUTOVER_TEST_POSTGRES`, else [`DEFAULT_POSTGRES_URL`].
pub fn postgres_server_url() -> Result<StoreUrl, StoreError> {
    std::env::var(POSTGRES_URL_ENV)
        .as_deref()
        .unwrap_or(DEFAULT_POSTGRES_URL)
        .parse()
}

/// A database created for one test, dropped when this guard is dropped (even if the test panics).
#[derive(Debug)]
pub struct TestDatabase {
    /// Its name: `cutover_test_` and a suffix unique to this process and moment.
    name: String,
    /// Its URL, to open a store on.
    url: StoreUrl,
    /// The server's maintenance database, to drop it from.
    server: StoreUrl,
}

impl TestDatabase {
    /// Creates a fresh, empty database on the server of [`postgres_server_url`].
    pub async fn create() -> Result<Self, StoreError> {
        Self::create_on(&postgres_server_url()?).await
    }

    /// Creates a fresh, empty database on the server `server` points to (its database is only
    /// used to create and drop others).
    pub async fn create_on(server: &StoreUrl) -> Result<Self, StoreError> {
        let name = unique_name();
        let url = with_database(server, &name)?;
        let mut conn = postgres::connect(server).await?;
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut conn)
            .await
            .during(|| format!("create test database {name}"))?;
        let _ = conn.close().await;
        Ok(TestDatabase {
            name,
            url,
            server: server.clone(),
        })
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its URL, for [`crate::open`].
    pub fn url(&self) -> &StoreUrl {
        &self.url
    }

    /// A plain connection to it, for a test that needs raw SQL (e.g. to tamper with a table).
    pub async fn connect(&self) -> Result<PgConnection, StoreError> {
        postgres::connect(&self.url).await
    }

    /// Drops the database now, reporting failure (dropping the guard does this silently).
    pub async fn drop_database(self) -> Result<(), StoreError> {
        let result = drop_database(&self.server, &self.name).await;
        // Nothing left for `Drop` to do.
        std::mem::forget(self);
        result
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // `Drop` cannot await, and may run inside a runtime that must not block: drop the
        // database from a thread of its own, with a runtime of its own, and wait for it.
        let server = self.server.clone();
        let name = std::mem::take(&mut self.name);
        let dropper = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            match runtime {
                Ok(runtime) => runtime.block_on(drop_database(&server, &name)),
                Err(e) => {
                    tracing::warn!(database = %name, error = %e, "Could not drop a test database.");
                    Ok(())
                }
            }
        });
        match dropper.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "Could not drop a test database."),
            Err(_) => tracing::warn!("Dropping a test database panicked."),
        }
    }
}

async fn drop_database(server: &StoreUrl, name: &str) -> Result<(), StoreError> {
    let mut conn = postgres::connect(server).await?;
    // FORCE ends the connections a test left open (its store's pool).
    sqlx::query(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await
    .during(|| format!("drop test database {name}"))?;
    let _ = conn.close().await;
    Ok(())
}

/// A name no other test (in this process or another) is using: made of lowercase letters, digits
/// and underscores only, so it needs no quoting rules beyond the double quotes used.
fn unique_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("cutover_test_{}_{n}_{nanos}", std::process::id())
}

/// The URL of another database on the same server.
fn with_database(server: &StoreUrl, name: &str) -> Result<StoreUrl, StoreError> {
    let invalid = || StoreError::Url {
        url: server.to_string(),
        reason: String::from("cannot name another database on this server"),
    };
    let text = server.target().expose_postgres().ok_or_else(invalid)?;
    let mut parsed = ::url::Url::parse(text).map_err(|_| invalid())?;
    parsed.set_path(&format!("/{name}"));
    parsed.as_str().parse()
}
