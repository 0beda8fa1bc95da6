//! SQLite: one file in WAL mode, the embedded default.

use std::path::Path;
use std::time::Duration;

use sqlx::Sqlite;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::error::StoreError;
use crate::sql::dialect::Dialect;
use crate::sql::store::SqlStore;
use crate::url::Backend;

/// The schema, embedded in the binary.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a writer in another process may hold the file before a write here fails.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Connections: readers run beside the one writer in WAL mode.
const MAX_CONNECTIONS: u32 = 8;

impl Dialect for Sqlite {
    fn epoch_us(column: &str) -> String {
        format!("(CAST(ROUND((julianday({column}) - 2440587.5) * 86400000.0) AS INTEGER) * 1000)")
    }

    fn in_list(list: &str, item: &str) -> String {
        format!("(instr({list}, char(31) || {item} || char(31)) > 0)")
    }

    const BACKEND: Backend = Backend::Sqlite;

    // Take the write lock at the start: a transaction that reads first and writes later could
    // otherwise fail to upgrade its lock (SQLITE_BUSY_SNAPSHOT), which no busy timeout cures.
    const BEGIN_WRITE: Option<&'static str> = Some("BEGIN IMMEDIATE");

    const ONE_STATEMENT_COMMITS: bool = false;

    // `BEGIN IMMEDIATE` already holds the only write lock: nothing changes the lease meanwhile.
    const FENCE_TOKEN: &'static str = "SELECT token FROM leases WHERE name = $1";

    // `BEGIN IMMEDIATE` already holds the only write lock.
    const LOCK_AUDIT_HEAD: &'static str = "SELECT seq, hash FROM audit_head WHERE id = 1";

    // One writer at a time: nothing to skip.
    const CLAIM_OUTBOX: &'static str = "UPDATE outbox SET attempts = attempts + 1, \
         lease_until_us = $3 WHERE id IN (SELECT id FROM outbox WHERE status = $5 \
         AND target_side = $1 AND (lease_until_us IS NULL OR lease_until_us <= $4) \
         ORDER BY id LIMIT $2) \
         RETURNING id, kind, target_side, source_side, source_id, payload, status, attempts, \
         lease_until_us, created_at, sent_at";

    // julianday('now') is the time of the statement, to the millisecond.
    const NOW_US: &'static str =
        "SELECT CAST(ROUND((julianday('now') - 2440587.5) * 86400000000.0) AS INTEGER)";
    // One writer at a time: nothing to skip.
    const CLAIM_CONTACTS: &'static str = "UPDATE contacts SET attempts = attempts + 1, \
         lease_until_us = $2 WHERE id IN (SELECT c.id FROM contacts c WHERE c.status = $4 \
         AND c.next_attempt_us <= $3 AND (c.lease_until_us IS NULL OR c.lease_until_us <= $3) \
         AND NOT EXISTS (SELECT 1 FROM contacts e WHERE e.channel = c.channel \
         AND e.customer = c.customer AND e.status = $4 AND e.id < c.id) \
         ORDER BY c.id LIMIT $1) \
         RETURNING id, channel, message_key, customer, payload, status, attempts, lease_until_us, \
         next_attempt_us, side, ticket_id, follow_up, last_error, received_at, delivered_at";
}

/// Opens (creating if missing) the store in one SQLite file and brings its schema up to date.
pub(crate) async fn open(path: &Path) -> Result<SqlStore<Sqlite>, StoreError> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // In WAL mode NORMAL survives a crash of the process (kill -9) intact; only a power cut
        // may lose the last commits, and then work and cursors roll back together.
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(BUSY_TIMEOUT);
    let pool = SqlitePoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .connect_with(options)
        .await
        .map_err(|source| StoreError::OpenSqlite {
            path: path.to_owned(),
            source,
        })?;
    let location = format!("sqlite://{}", path.display());
    MIGRATOR
        .run(&pool)
        .await
        .map_err(|source| StoreError::Migrate {
            location: location.clone(),
            source,
        })?;
    Ok(SqlStore::new(pool, true, location))
}
