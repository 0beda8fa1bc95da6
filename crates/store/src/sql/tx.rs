//! A write transaction over SQL: everything the engine writes, and the cursor with it.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cutover_model::{PlatformId, RecordKind, SetupKind, Side};
use serde_json::Value;
use sqlx::query::{QueryAs, QueryScalar};
use sqlx::types::Json;
use sqlx::{ColumnIndex, Decode, Encode, Executor, Transaction, Type};
use tokio::sync::OwnedMutexGuard;

use crate::alerts::{AlertActionRecord, AlertRecord};
use crate::audit::{AuditEntry, AuditHash, NewAuditEntry};
use crate::conflicts::{ConflictId, NewConflict};
use crate::created::{CreatedRecord, CreatedSetup, setup_kind_key};
use crate::cursors::Cursor;
use crate::dead_letters::{DeadLetter, NewDeadLetter};
use crate::error::{AuditProblem, QueryContext, StoreError, is_unique_violation};
use crate::links::{Link, LinkOutcome, StoredLink};
use crate::outbox::{NewOutboxItem, OutboxId, OutboxStatus};
use crate::sql::alerts::{FINISH_ALERT_ACTION, PUT_ALERT, PUT_ALERT_ACTION, us as alerts_us};
use crate::sql::codec::{AuditHeadRow, CursorRow, DeadLetterRow, LinkRow, now, stored_time};
use crate::sql::dialect::Dialect;
use crate::store::StoreTx;

pub(crate) const LINK_BY_OLD: &str = "SELECT kind, old_id, new_id, fingerprint, old_version, \
     new_version, last_writer, updated_at, field_hashes FROM links WHERE kind = $1 AND old_id = $2";

pub(crate) const LINK_BY_NEW: &str = "SELECT kind, old_id, new_id, fingerprint, old_version, \
     new_version, last_writer, updated_at, field_hashes FROM links WHERE kind = $1 AND new_id = $2";

const UPSERT_LINK: &str = "INSERT INTO links (kind, old_id, new_id, fingerprint, old_version, \
     new_version, last_writer, updated_at, field_hashes) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
     ON CONFLICT (kind, old_id) DO UPDATE SET new_id = excluded.new_id, \
     fingerprint = excluded.fingerprint, old_version = excluded.old_version, \
     new_version = excluded.new_version, last_writer = excluded.last_writer, \
     updated_at = excluded.updated_at, field_hashes = excluded.field_hashes \
     RETURNING kind, old_id, new_id, fingerprint, old_version, new_version, last_writer, \
     updated_at, field_hashes";

// Without a conflict target, DO NOTHING covers both unique keys (old id and new id).
const INSERT_LINK_IF_ABSENT: &str = "INSERT INTO links (kind, old_id, new_id, fingerprint, \
     old_version, new_version, last_writer, updated_at, field_hashes) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
     ON CONFLICT DO NOTHING \
     RETURNING kind, old_id, new_id, fingerprint, old_version, new_version, last_writer, \
     updated_at, field_hashes";

const PUT_CONFLICT: &str = "INSERT INTO conflicts (kind, old_id, new_id, field, old_value, \
     new_value, rule, winner, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id";

const PUT_DEAD_LETTER: &str = "INSERT INTO dead_letters (kind, side, source_id, reason, record, \
     attempts, first_seen, last_seen) VALUES ($1, $2, $3, $4, $5, 1, $6, $6) \
     ON CONFLICT (kind, side, source_id, reason) DO UPDATE SET record = excluded.record, \
     attempts = dead_letters.attempts + 1, last_seen = excluded.last_seen \
     RETURNING id, kind, side, source_id, reason, record, attempts, first_seen, last_seen, \
     retried_at";

const ENQUEUE_OUTBOX: &str = "INSERT INTO outbox (kind, target_side, source_side, source_id, \
     payload, status, attempts, created_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $7) RETURNING id";

const ACK_OUTBOX: &str = "UPDATE outbox SET status = $2, sent_at = $3, lease_until_us = NULL \
     WHERE id = $1 AND status = $4 RETURNING id";

pub(crate) const READ_CURSOR: &str = "SELECT position_time, position_id, position_seq, token \
     FROM cursors WHERE side = $1 AND stream = $2";

const SET_CURSOR: &str = "INSERT INTO cursors (side, stream, position_time, position_id, \
     position_seq, token, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
     ON CONFLICT (side, stream) DO UPDATE SET position_time = excluded.position_time, \
     position_id = excluded.position_id, position_seq = excluded.position_seq, \
     token = excluded.token, updated_at = excluded.updated_at";

const CLEAR_CURSOR: &str = "DELETE FROM cursors WHERE side = $1 AND stream = $2";

const INSERT_AUDIT: &str = "INSERT INTO audit_log (seq, at, actor, action, detail, prev_hash, \
     hash) VALUES ($1, $2, $3, $4, $5, $6, $7)";

const MOVE_AUDIT_HEAD: &str = "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1";

const PUT_RUN_STATE: &str = "INSERT INTO run_state (name, value, updated_at) VALUES ($1, $2, $3) \
     ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at";

const DELETE_RUN_STATE: &str = "DELETE FROM run_state WHERE name = $1";

const RECORD_CREATED: &str = "INSERT INTO created_records (side, kind, record_id, source_id, \
     at_us, parent_id) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (side, kind, record_id) DO NOTHING";

const FORGET_CREATED: &str =
    "DELETE FROM created_records WHERE side = $1 AND kind = $2 AND record_id = $3 RETURNING at_us";

const FORGET_SETUP: &str =
    "DELETE FROM created_records WHERE side = $1 AND kind = $2 AND record_id = $3 RETURNING at_us";

const DELETE_LINK_BY_OLD: &str = "DELETE FROM links WHERE kind = $1 AND old_id = $2";

const DELETE_LINK_BY_NEW: &str = "DELETE FROM links WHERE kind = $1 AND new_id = $2";

/// A transaction on a SQL backend.
pub(crate) struct SqlTx<DB: Dialect> {
    /// The driver's transaction: rolled back when dropped uncommitted.
    tx: Transaction<'static, DB>,
    /// On SQLite, this process's turn to write; released after `tx` (fields drop in order).
    _write_turn: Option<OwnedMutexGuard<()>>,
}

impl<DB: Dialect> SqlTx<DB> {
    pub(crate) fn new(
        tx: Transaction<'static, DB>,
        write_turn: Option<OwnedMutexGuard<()>>,
    ) -> Self {
        SqlTx {
            tx,
            _write_turn: write_turn,
        }
    }

    /// Commits.
    pub(crate) async fn commit_sql(self) -> Result<(), StoreError> {
        self.tx
            .commit()
            .await
            .during(|| String::from("commit a transaction"))
    }

    /// The connection the transaction runs on.
    pub(crate) fn conn(&mut self) -> &mut DB::Connection {
        &mut self.tx
    }
}

impl<DB: Dialect> fmt::Debug for SqlTx<DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SqlTx({})", DB::BACKEND)
    }
}

/// Reads shared by the store (on its pool) and transactions (on their connection).
impl<DB> SqlTx<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> Json<&'q Value>: Encode<'q, DB> + Type<DB>,
    for<'q> Json<Value>: Decode<'q, DB> + Type<DB>,
{
    pub(crate) async fn read_link<'e, E>(
        executor: E,
        kind: RecordKind,
        side: Side,
        id: &PlatformId,
    ) -> Result<Option<StoredLink>, StoreError>
    where
        E: Executor<'e, Database = DB>,
    {
        let sql = match side {
            Side::Old => LINK_BY_OLD,
            Side::New => LINK_BY_NEW,
        };
        let row = sqlx::query_as::<DB, LinkRow>(sql)
            .bind(kind.as_str())
            .bind(id.as_str())
            .fetch_optional(executor)
            .await
            .during(|| format!("read the link of {kind} {id} on the {side} side"))?;
        row.map(StoredLink::try_from).transpose()
    }

    pub(crate) async fn read_cursor<'e, E>(
        executor: E,
        side: Side,
        stream: &str,
    ) -> Result<Option<Cursor>, StoreError>
    where
        E: Executor<'e, Database = DB>,
    {
        let row = sqlx::query_as::<DB, CursorRow>(READ_CURSOR)
            .bind(side.as_str())
            .bind(stream)
            .fetch_optional(executor)
            .await
            .during(|| format!("read cursor {stream} of the {side} side"))?;
        Ok(row.map(Cursor::from))
    }

    /// Runs one statement that returns the id it touched as the whole transaction, and commits.
    /// Returns whether it touched a row.
    pub(crate) async fn write_one(
        mut self,
        query: QueryScalar<'_, DB, i64, DB::Arguments>,
        action: impl FnOnce() -> String + Send,
    ) -> Result<bool, StoreError> {
        let touched = query.fetch_optional(self.conn()).await.during(action)?;
        self.commit_sql().await?;
        Ok(touched.is_some())
    }

    /// The insert of a link with all its columns bound, returning the row written (if any).
    fn link_query<'q>(
        sql: &'static str,
        link: &'q Link,
        fields: Option<&'q str>,
    ) -> QueryAs<'q, DB, LinkRow, DB::Arguments> {
        sqlx::query_as::<DB, LinkRow>(sql)
            .bind(link.kind.as_str())
            .bind(link.old_id.as_str())
            .bind(link.new_id.as_str())
            .bind(link.fingerprint.to_hex())
            .bind(link.old_version.as_deref())
            .bind(link.new_version.as_deref())
            .bind(link.last_writer.as_str())
            .bind(now())
            .bind(fields)
    }
}

#[async_trait]
impl<DB> StoreTx for SqlTx<DB>
where
    DB: Dialect,
    for<'q> Option<i64>: Encode<'q, DB> + Type<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> Json<&'q Value>: Encode<'q, DB> + Type<DB>,
    for<'q> Json<Value>: Decode<'q, DB> + Type<DB>,
{
    async fn find_link(
        &mut self,
        kind: RecordKind,
        side: Side,
        id: &PlatformId,
    ) -> Result<Option<StoredLink>, StoreError> {
        Self::read_link(self.conn(), kind, side, id).await
    }

    async fn upsert_link(&mut self, link: &Link) -> Result<StoredLink, StoreError> {
        let fields = link.fields.as_ref().map(crate::links::encode_fields);
        match Self::link_query(UPSERT_LINK, link, fields.as_deref())
            .fetch_one(self.conn())
            .await
        {
            Ok(row) => StoredLink::try_from(row),
            // The old id's row is updated in place, so only the new id can collide.
            Err(e) if is_unique_violation(&e) => Err(StoreError::LinkConflict {
                kind: link.kind,
                old_id: link.old_id.clone(),
                new_id: link.new_id.clone(),
                side: Side::New,
            }),
            Err(source) => Err(StoreError::Query {
                action: format!("link {} {} to {}", link.kind, link.old_id, link.new_id),
                source,
            }),
        }
    }

    async fn link_if_absent(&mut self, link: &Link) -> Result<LinkOutcome, StoreError> {
        let fields = link.fields.as_ref().map(crate::links::encode_fields);
        let inserted = Self::link_query(INSERT_LINK_IF_ABSENT, link, fields.as_deref())
            .fetch_optional(self.conn())
            .await
            .during(|| format!("link {} {} to {}", link.kind, link.old_id, link.new_id))?;
        if let Some(row) = inserted {
            return Ok(LinkOutcome::Created(StoredLink::try_from(row)?));
        }
        // The insert did nothing because a committed link holds one of the ids (PostgreSQL waits
        // for a concurrent insert of the same key to commit or roll back; SQLite has one writer).
        if let Some(existing) = self.find_link(link.kind, Side::Old, &link.old_id).await? {
            return Ok(LinkOutcome::Existing(existing));
        }
        if let Some(taken) = self.find_link(link.kind, Side::New, &link.new_id).await? {
            return Ok(LinkOutcome::NewIdTaken(taken));
        }
        Err(StoreError::LinkVanished {
            kind: link.kind,
            old_id: link.old_id.clone(),
            new_id: link.new_id.clone(),
        })
    }

    async fn put_dead_letter(&mut self, letter: &NewDeadLetter) -> Result<DeadLetter, StoreError> {
        let row = sqlx::query_as::<DB, DeadLetterRow>(PUT_DEAD_LETTER)
            .bind(letter.kind.as_str())
            .bind(letter.side.as_str())
            .bind(letter.source_id.as_str())
            .bind(letter.reason.as_str())
            .bind(Json(&letter.record))
            .bind(now())
            .fetch_one(self.conn())
            .await
            .during(|| {
                format!(
                    "keep dead letter {} {} of the {} side",
                    letter.kind, letter.source_id, letter.side
                )
            })?;
        DeadLetter::try_from(row)
    }

    async fn enqueue_outbox(&mut self, item: &NewOutboxItem) -> Result<OutboxId, StoreError> {
        let id: i64 = sqlx::query_scalar::<DB, i64>(ENQUEUE_OUTBOX)
            .bind(item.record.kind.as_str())
            .bind(item.target.as_str())
            .bind(item.record.side.as_str())
            .bind(item.record.id.as_str())
            .bind(Json(&item.payload))
            .bind(OutboxStatus::Pending.as_str())
            .bind(now())
            .fetch_one(self.conn())
            .await
            .during(|| format!("queue {} for the {} side", item.record, item.target))?;
        Ok(OutboxId(id))
    }

    async fn ack_outbox(&mut self, id: OutboxId) -> Result<bool, StoreError> {
        let acked = sqlx::query_scalar::<DB, i64>(ACK_OUTBOX)
            .bind(id.0)
            .bind(OutboxStatus::Sent.as_str())
            .bind(now())
            .bind(OutboxStatus::Pending.as_str())
            .fetch_optional(self.conn())
            .await
            .during(|| format!("acknowledge outbox item {id}"))?;
        Ok(acked.is_some())
    }

    async fn set_cursor(
        &mut self,
        side: Side,
        stream: &str,
        cursor: &Cursor,
    ) -> Result<(), StoreError> {
        let mut position = cursor.position.clone();
        position.time = stored_time(position.time);
        if let Some(stored) = Self::read_cursor(self.conn(), side, stream).await?
            && stored.position > position
        {
            return Err(StoreError::CursorBackwards {
                side,
                stream: stream.to_owned(),
                from: stored.position,
                to: position,
            });
        }
        sqlx::query::<DB>(SET_CURSOR)
            .bind(side.as_str())
            .bind(stream)
            .bind(position.time)
            .bind(position.id.as_str())
            .bind(position.seq)
            .bind(cursor.token.as_deref())
            .bind(now())
            .execute(self.conn())
            .await
            .during(|| format!("move cursor {stream} of the {side} side to {position}"))?;
        Ok(())
    }

    async fn clear_cursor(&mut self, side: Side, stream: &str) -> Result<(), StoreError> {
        sqlx::query::<DB>(CLEAR_CURSOR)
            .bind(side.as_str())
            .bind(stream)
            .execute(self.conn())
            .await
            .during(|| format!("clear cursor {stream} of the {side} side"))?;
        Ok(())
    }

    async fn append_audit(&mut self, entry: &NewAuditEntry) -> Result<AuditEntry, StoreError> {
        let head = sqlx::query_as::<DB, AuditHeadRow>(DB::LOCK_AUDIT_HEAD)
            .fetch_one(self.conn())
            .await
            .during(|| String::from("lock the audit chain head"))?;
        let prev_hash: AuditHash = head.hash.parse().map_err(|_| StoreError::AuditTampered {
            seq: head.seq,
            problem: AuditProblem::Replaced,
        })?;
        let seq = head.seq + 1;
        let at = now();
        let hash = AuditHash::of_entry(
            seq,
            at,
            &entry.actor,
            &entry.action,
            &entry.detail,
            &prev_hash,
        );
        let action = || format!("append audit entry {seq} ({})", entry.action);
        sqlx::query::<DB>(INSERT_AUDIT)
            .bind(seq)
            .bind(at)
            .bind(entry.actor.as_str())
            .bind(entry.action.as_str())
            .bind(Json(&entry.detail))
            .bind(prev_hash.to_hex())
            .bind(hash.to_hex())
            .execute(self.conn())
            .await
            .during(action)?;
        sqlx::query::<DB>(MOVE_AUDIT_HEAD)
            .bind(seq)
            .bind(hash.to_hex())
            .execute(self.conn())
            .await
            .during(action)?;
        Ok(AuditEntry {
            seq,
            at,
            actor: entry.actor.clone(),
            action: entry.action.clone(),
            detail: entry.detail.clone(),
            prev_hash,
            hash,
        })
    }

    async fn put_run_state(&mut self, key: &str, value: &Value) -> Result<(), StoreError> {
        sqlx::query::<DB>(PUT_RUN_STATE)
            .bind(key)
            .bind(Json(value))
            .bind(now())
            .execute(self.conn())
            .await
            .during(|| format!("set run state {key:?}"))?;
        Ok(())
    }

    async fn delete_run_state(&mut self, key: &str) -> Result<(), StoreError> {
        sqlx::query::<DB>(DELETE_RUN_STATE)
            .bind(key)
            .execute(self.conn())
            .await
            .during(|| format!("delete run state {key:?}"))?;
        Ok(())
    }

    async fn record_created(&mut self, created: &CreatedRecord) -> Result<(), StoreError> {
        let CreatedRecord {
            side,
            kind,
            id,
            source_id,
            parent,
        } = created;
        sqlx::query::<DB>(RECORD_CREATED)
            .bind(side.as_str())
            .bind(kind.as_str())
            .bind(id.as_str())
            .bind(source_id.as_str())
            .bind(now().timestamp_micros())
            .bind(parent.as_ref().map(PlatformId::as_str))
            .execute(self.conn())
            .await
            .during(|| format!("note that cutover created {kind} {id} on the {side} side"))?;
        Ok(())
    }

    async fn record_setup(&mut self, created: &CreatedSetup) -> Result<(), StoreError> {
        let CreatedSetup {
            side,
            kind,
            id,
            name,
            parent,
        } = created;
        sqlx::query::<DB>(RECORD_CREATED)
            .bind(side.as_str())
            .bind(setup_kind_key(*kind))
            .bind(id.as_str())
            .bind(name.as_str())
            .bind(now().timestamp_micros())
            .bind(parent.as_ref().map(PlatformId::as_str))
            .execute(self.conn())
            .await
            .during(|| format!("note that cutover added {kind} {id} on the {side} side"))?;
        Ok(())
    }

    async fn forget_setup(
        &mut self,
        side: Side,
        kind: SetupKind,
        id: &PlatformId,
    ) -> Result<bool, StoreError> {
        let forgotten = sqlx::query_scalar::<DB, i64>(FORGET_SETUP)
            .bind(side.as_str())
            .bind(setup_kind_key(kind))
            .bind(id.as_str())
            .fetch_optional(self.conn())
            .await
            .during(|| format!("forget {kind} {id} added on the {side} side"))?;
        Ok(forgotten.is_some())
    }

    async fn forget_created(
        &mut self,
        side: Side,
        kind: RecordKind,
        id: &PlatformId,
    ) -> Result<bool, StoreError> {
        let action = || format!("forget {kind} {id} created on the {side} side");
        let forgotten = sqlx::query_scalar::<DB, i64>(FORGET_CREATED)
            .bind(side.as_str())
            .bind(kind.as_str())
            .bind(id.as_str())
            .fetch_optional(self.conn())
            .await
            .during(action)?;
        let unlink = match side {
            Side::Old => DELETE_LINK_BY_OLD,
            Side::New => DELETE_LINK_BY_NEW,
        };
        sqlx::query::<DB>(unlink)
            .bind(kind.as_str())
            .bind(id.as_str())
            .execute(self.conn())
            .await
            .during(action)?;
        Ok(forgotten.is_some())
    }

    async fn put_alert(&mut self, alert: &AlertRecord) -> Result<(), StoreError> {
        sqlx::query::<DB>(PUT_ALERT)
            .bind(alert.id.as_str())
            .bind(alert.rule.as_str())
            .bind(alert.kpi.as_str())
            .bind(alert.state.as_str())
            .bind(alert.action.as_str())
            .bind(alerts_us(alert.opened_at))
            .bind(alert.closed_at.map(alerts_us))
            .bind(alerts_us(alert.updated_at))
            .bind(Json(&alert.evidence))
            .execute(self.conn())
            .await
            .during(|| format!("keep alert {}", alert.id))?;
        Ok(())
    }

    async fn put_alert_action(&mut self, action: &AlertActionRecord) -> Result<(), StoreError> {
        sqlx::query::<DB>(PUT_ALERT_ACTION)
            .bind(action.id.as_str())
            .bind(action.alert.as_str())
            .bind(action.action.as_str())
            .bind(action.target.as_deref())
            .bind(Json(&action.details))
            .bind(alerts_us(action.created_at))
            .execute(self.conn())
            .await
            .during(|| format!("queue the alert action {}", action.id))?;
        Ok(())
    }

    async fn finish_alert_action(
        &mut self,
        id: &str,
        done_at: DateTime<Utc>,
        result: &Value,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query_scalar::<DB, String>(FINISH_ALERT_ACTION)
            .bind(id)
            .bind(alerts_us(done_at))
            .bind(Json(result))
            .fetch_optional(self.conn())
            .await
            .during(|| format!("mark the alert action {id} done"))?;
        Ok(done.is_some())
    }

    async fn put_conflict(&mut self, conflict: &NewConflict) -> Result<ConflictId, StoreError> {
        let id: i64 = sqlx::query_scalar::<DB, i64>(PUT_CONFLICT)
            .bind(conflict.kind.as_str())
            .bind(conflict.old_id.as_str())
            .bind(conflict.new_id.as_str())
            .bind(conflict.field.as_str())
            .bind(conflict.old_value.as_str())
            .bind(conflict.new_value.as_str())
            .bind(conflict.rule.as_str())
            .bind(conflict.winner.as_str())
            .bind(stored_time(conflict.at))
            .fetch_one(self.conn())
            .await
            .during(|| {
                format!(
                    "store the conflict on {} {} field {}",
                    conflict.kind, conflict.old_id, conflict.field
                )
            })?;
        Ok(ConflictId(id))
    }

    async fn commit(self: Box<Self>) -> Result<(), StoreError> {
        self.commit_sql().await
    }

    async fn rollback(self: Box<Self>) -> Result<(), StoreError> {
        self.tx
            .rollback()
            .await
            .during(|| String::from("roll back a transaction"))
    }
}
