//! Leases and stored webhook hints over SQL.

use std::time::Duration;

use chrono::{DateTime, Utc};
use cutover_model::{PlatformId, RecordKind, Side};
use sqlx::{ColumnIndex, Decode, Encode, Executor, Type};

use crate::error::{QueryContext, StoreError};
use crate::leases::{HintId, Lease, StoredHint};
use crate::sql::codec::{HintRow, LeaseRow};
use crate::sql::dialect::Dialect;
use crate::sql::store::SqlStore;

// Takes the lease when it is free or lapsed, renews it when the holder holds it. The token and
// `since` carry over only on a renewal of a live lease; anything else is a new tenure. `$3` is
// the database's now, `$4` now plus the time to live. One statement: on PostgreSQL, racing
// callers are ordered by the row (or the primary key of a first insert); on SQLite, by its one
// writer.
const TRY_LEASE: &str = "INSERT INTO leases (name, holder, token, since_us, renewed_us, \
     expires_us) VALUES ($1, $2, 1, $3, $3, $4) \
     ON CONFLICT (name) DO UPDATE SET \
     token = CASE WHEN leases.holder = excluded.holder AND leases.expires_us > $3 \
         THEN leases.token ELSE leases.token + 1 END, \
     since_us = CASE WHEN leases.holder = excluded.holder AND leases.expires_us > $3 \
         THEN leases.since_us ELSE excluded.since_us END, \
     holder = excluded.holder, renewed_us = excluded.renewed_us, \
     expires_us = excluded.expires_us \
     WHERE leases.holder = excluded.holder OR leases.expires_us <= $3 \
     RETURNING name, holder, token, since_us, renewed_us, expires_us";

// Lapses the lease at once, keeping its holder and token (the next taker raises it).
const RELEASE_LEASE: &str = "UPDATE leases SET expires_us = $3 \
     WHERE name = $1 AND holder = $2 AND expires_us > $3 RETURNING token";

const LEASE: &str =
    "SELECT name, holder, token, since_us, renewed_us, expires_us FROM leases WHERE name = $1";

const PUT_HINT: &str =
    "INSERT INTO webhook_hints (side, kind, record_id, at_us) VALUES ($1, $2, $3, $4)";

const PENDING_HINTS: &str = "SELECT id, side, kind, record_id FROM webhook_hints \
     WHERE side = $1 ORDER BY id LIMIT $2";

const DROP_HINTS: &str = "DELETE FROM webhook_hints WHERE side = $1 AND id <= $2 RETURNING id";

impl<DB> SqlStore<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
{
    /// The database's clock, read on the transaction's connection.
    async fn db_now_us(conn: &mut DB::Connection) -> Result<i64, StoreError> {
        sqlx::query_scalar::<DB, i64>(DB::NOW_US)
            .fetch_one(conn)
            .await
            .during(|| String::from("read the database's clock"))
    }

    pub(crate) async fn try_lease_sql(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>, StoreError> {
        let ttl_us = i64::try_from(ttl.as_micros()).unwrap_or(i64::MAX);
        let mut tx = self.begin_sql().await?;
        let now_us = Self::db_now_us(tx.conn()).await?;
        let row = sqlx::query_as::<DB, LeaseRow>(TRY_LEASE)
            .bind(name)
            .bind(holder)
            .bind(now_us)
            .bind(now_us.saturating_add(ttl_us))
            .fetch_optional(tx.conn())
            .await
            .during(|| format!("take or renew lease {name:?}"))?;
        tx.commit_sql().await?;
        row.map(|row| row.into_lease(now_us)).transpose()
    }

    pub(crate) async fn release_lease_sql(
        &self,
        name: &str,
        holder: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_sql().await?;
        let now_us = Self::db_now_us(tx.conn()).await?;
        let released = sqlx::query_scalar::<DB, i64>(RELEASE_LEASE)
            .bind(name)
            .bind(holder)
            .bind(now_us)
            .fetch_optional(tx.conn())
            .await
            .during(|| format!("release lease {name:?}"))?;
        tx.commit_sql().await?;
        Ok(released.is_some())
    }

    pub(crate) async fn lease_sql(&self, name: &str) -> Result<Option<Lease>, StoreError> {
        let mut conn = self
            .pool()
            .acquire()
            .await
            .during(|| String::from("connect to read a lease"))?;
        let now_us = Self::db_now_us(&mut conn).await?;
        let row = sqlx::query_as::<DB, LeaseRow>(LEASE)
            .bind(name)
            .fetch_optional(&mut *conn)
            .await
            .during(|| format!("read lease {name:?}"))?;
        row.map(|row| row.into_lease(now_us)).transpose()
    }

    pub(crate) async fn put_hints_sql(
        &self,
        side: Side,
        hints: &[(RecordKind, PlatformId)],
    ) -> Result<(), StoreError> {
        if hints.is_empty() {
            return Ok(());
        }
        let at_us: DateTime<Utc> = crate::sql::codec::now();
        // Any process keeps hints for the leader: no fence.
        let mut tx = self.begin_unfenced().await?;
        for (kind, id) in hints {
            sqlx::query::<DB>(PUT_HINT)
                .bind(side.as_str())
                .bind(kind.as_str())
                .bind(id.as_str())
                .bind(at_us.timestamp_micros())
                .execute(tx.conn())
                .await
                .during(|| format!("keep a webhook hint for {kind} {id} of the {side} side"))?;
        }
        tx.commit_sql().await
    }

    pub(crate) async fn pending_hints_sql(
        &self,
        side: Side,
        limit: u32,
    ) -> Result<Vec<StoredHint>, StoreError> {
        let rows = sqlx::query_as::<DB, HintRow>(PENDING_HINTS)
            .bind(side.as_str())
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await
            .during(|| format!("read the webhook hints kept for the {side} side"))?;
        rows.into_iter().map(StoredHint::try_from).collect()
    }

    pub(crate) async fn drop_hints_sql(
        &self,
        side: Side,
        up_to: HintId,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin_sql().await?;
        let dropped = sqlx::query_scalar::<DB, i64>(DROP_HINTS)
            .bind(side.as_str())
            .bind(up_to.0)
            .fetch_all(tx.conn())
            .await
            .during(|| format!("remove the webhook hints of the {side} side read"))?;
        tx.commit_sql().await?;
        Ok(u64::try_from(dropped.len()).unwrap_or(u64::MAX))
    }
}
