//! PostgreSQL: one database shared by several workers.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::{Connection, Postgres};

use crate::error::StoreError;
use crate::sql::dialect::Dialect;
use crate::sql::store::SqlStore;
use crate::url::{Backend, StoreUrl};

/// The schema, embedded in the binary.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// How long the first connection may take before the server counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a caller waits for a free connection once the store is open.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// Connections per process.
const MAX_CONNECTIONS: u32 = 16;

/// A connection idle longer than this is checked (a round trip) before it is handed out; one
/// used more recently is handed out as it is (HikariCP skips its check within 500 ms for the
/// same reason): under load every write would otherwise pay a round trip more, and a
/// connection that did break fails its statement, which the caller sees and retries.
const CHECK_IDLE_AFTER: Duration = Duration::from_secs(1);

impl Dialect for Postgres {
    fn epoch_us(column: &str) -> String {
        format!("(CAST(ROUND(EXTRACT(EPOCH FROM {column}) * 1000) AS BIGINT) * 1000)")
    }

    fn in_list(list: &str, item: &str) -> String {
        format!("(strpos({list}, chr(31) || {item} || chr(31)) > 0)")
    }

    const BACKEND: Backend = Backend::Postgres;

    const BEGIN_WRITE: Option<&'static str> = None;

    const ONE_STATEMENT_COMMITS: bool = true;

    // A share lock: leaders' writes run side by side; taking the lease (an update of the row)
    // waits for them, and a write begun after it reads the new token.
    const FENCE_TOKEN: &'static str = "SELECT token FROM leases WHERE name = $1 FOR SHARE";

    // A row lock on the chain head serialises appends until the appending transaction ends.
    const LOCK_AUDIT_HEAD: &'static str =
        "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE";

    // Workers skip rows another worker is claiming, instead of waiting for them.
    const CLAIM_OUTBOX: &'static str = "UPDATE outbox SET attempts = attempts + 1, \
         lease_until_us = $3 WHERE id IN (SELECT id FROM outbox WHERE status = $5 \
         AND target_side = $1 AND (lease_until_us IS NULL OR lease_until_us <= $4) \
         ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED) \
         RETURNING id, kind, target_side, source_side, source_id, payload, status, attempts, \
         lease_until_us, created_at, sent_at";

    // clock_timestamp(), not now(): the time of the statement, not of the transaction's start.
    const NOW_US: &'static str =
        "SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT)";
    // Workers skip contacts another worker is claiming; a customer whose oldest pending contact
    // is claimed (locked or leased) has nothing else claimed.
    const CLAIM_CONTACTS: &'static str = "UPDATE contacts SET attempts = attempts + 1, \
         lease_until_us = $2 WHERE id IN (SELECT c.id FROM contacts c WHERE c.status = $4 \
         AND c.next_attempt_us <= $3 AND (c.lease_until_us IS NULL OR c.lease_until_us <= $3) \
         AND NOT EXISTS (SELECT 1 FROM contacts e WHERE e.channel = c.channel \
         AND e.customer = c.customer AND e.status = $4 AND e.id < c.id) \
         ORDER BY c.id LIMIT $1 FOR UPDATE SKIP LOCKED) \
         RETURNING id, channel, message_key, customer, payload, status, attempts, lease_until_us, \
         next_attempt_us, side, ticket_id, follow_up, last_error, received_at, delivered_at";
}

/// The driver's options for a PostgreSQL URL. Its errors are re-worded without the URL.
pub(crate) fn connect_options(url: &StoreUrl) -> Result<PgConnectOptions, StoreError> {
    let invalid = |reason: &str| StoreError::Url {
        url: url.to_string(),
        reason: reason.to_owned(),
    };
    let text = url
        .target()
        .expose_postgres()
        .ok_or_else(|| invalid("not a postgres url"))?;
    // `StoreUrl` checked this URL when it was parsed, keeping the driver's reason scrubbed.
    PgConnectOptions::from_str(text)
        .map(|options| options.application_name("cutover"))
        .map_err(|_| invalid("the postgres driver refuses it"))
}

/// Connects once, failing fast with the driver's own reason.
///
/// A pool would retry a refused connection until its timeout and then report only that it timed
/// out; a single connection says "connection refused" at once.
pub(crate) async fn connect(url: &StoreUrl) -> Result<PgConnection, StoreError> {
    let options = connect_options(url)?;
    let connect_error = |source| StoreError::Connect {
        url: url.to_string(),
        source,
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options)).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(source)) => Err(connect_error(source)),
        Err(_) => Err(connect_error(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no answer within {}s", CONNECT_TIMEOUT.as_secs()),
        )))),
    }
}

/// Opens the store in a PostgreSQL database and brings its schema up to date.
pub(crate) async fn open(url: &StoreUrl) -> Result<SqlStore<Postgres>, StoreError> {
    let mut conn = connect(url).await?;
    let location = url.to_string();
    MIGRATOR
        .run(&mut conn)
        .await
        .map_err(|source| StoreError::Migrate {
            location: location.clone(),
            source,
        })?;
    // The migration connection is done with; failing to say goodbye politely changes nothing.
    let _ = conn.close().await;
    let pool = PgPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > CHECK_IDLE_AFTER {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
        .connect_lazy_with(connect_options(url)?);
    Ok(SqlStore::new(pool, false, location))
}
