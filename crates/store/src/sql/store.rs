//! The store over a SQL connection pool.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cutover_model::{PlatformId, RecordKind, SetupKind, Side};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{AssertSqlSafe, ColumnIndex, Decode, Encode, Executor, Pool, Type};
use tokio::sync::Mutex;

use crate::alerts::{AlertActionRecord, AlertRecord};
use crate::audit::{AuditEntry, ChainVerifier, RawEntry};
use crate::conflicts::{Conflict, ConflictId};
use crate::contacts::{
    Accepted, Contact, ContactDelivery, ContactId, ContactStatus, Conversation, NewContact,
};
use crate::cursors::Cursor;
use crate::dead_letters::{DeadLetter, DeadLetterFilter, DeadLetterId, NewDeadLetter};
use crate::error::{CorruptValue, QueryContext, StoreError};
use crate::kpi::{CreatedCount, FactFilter, KpiBuckets, KpiGroup, TicketFacts, TicketReading};
use crate::leases::{Fence, HintId, Lease, StoredHint};
use crate::links::StoredLink;
use crate::outbox::{OutboxId, OutboxItem, OutboxStatus};
use crate::probes::ApiProbe;
use crate::sql::codec::{
    ApiTokenRow, AuditHeadRow, AuditRow, ConflictRow, ContactRow, ConversationRow, DeadLetterRow,
    LinkRow, OutboxRow, now, stored_time,
};
use crate::sql::dialect::Dialect;
use crate::sql::tx::SqlTx;
use crate::store::{Store, StoreTx};
use crate::tokens::{ApiToken, NewApiToken, TokenHash};
use crate::url::Backend;

const LINKS_PAGE: &str = "SELECT kind, old_id, new_id, fingerprint, old_version, new_version, \
     last_writer, updated_at, field_hashes FROM links WHERE kind = $1 AND ($2 IS NULL OR old_id > $2) \
     ORDER BY old_id LIMIT $3";

const LINKS_WRITTEN_SINCE: &str = "SELECT kind, old_id, new_id, fingerprint, old_version, \
     new_version, last_writer, updated_at, field_hashes FROM links WHERE updated_at >= $1 \
     ORDER BY updated_at DESC, kind, old_id LIMIT $2";

const COUNT_LINKS: &str = "SELECT COUNT(*) FROM links WHERE ($1 IS NULL OR kind = $1)";

const RELEASE_OUTBOX: &str =
    "UPDATE outbox SET lease_until_us = NULL WHERE id = $1 AND status = $2 RETURNING id";

const DEAD_LETTERS_PAGE: &str = "SELECT id, kind, side, source_id, reason, record, attempts, \
     first_seen, last_seen, retried_at FROM dead_letters \
     WHERE ($1 IS NULL OR kind = $1) AND ($2 IS NULL OR side = $2) \
     AND ($3 IS NULL OR reason = $3) AND id > $4 AND ($6 IS NULL OR source_id = $6) \
     ORDER BY id LIMIT $5";

const DEAD_LETTER_BY_ID: &str = "SELECT id, kind, side, source_id, reason, record, attempts, \
     first_seen, last_seen, retried_at FROM dead_letters WHERE id = $1";

const CONFLICTS_PAGE: &str = "SELECT id, kind, old_id, new_id, field, old_value, new_value, \
     rule, winner, at FROM conflicts WHERE id > $1 ORDER BY id LIMIT $2";

const CONFLICT_BY_ID: &str = "SELECT id, kind, old_id, new_id, field, old_value, new_value, \
     rule, winner, at FROM conflicts WHERE id = $1";

const DROP_DEAD_LETTER: &str = "DELETE FROM dead_letters WHERE id = $1 RETURNING id";

const MARK_DEAD_LETTER_RETRIED: &str =
    "UPDATE dead_letters SET retried_at = $2 WHERE id = $1 RETURNING id";

const AUDIT_PAGE: &str = "SELECT seq, at, actor, action, detail, prev_hash, hash FROM audit_log \
     WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3";

const AUDIT_HEAD: &str = "SELECT seq, hash FROM audit_head WHERE id = 1";

const CREATE_API_TOKEN: &str = "INSERT INTO api_tokens (name, role, hash, created_at) \
     VALUES ($1, $2, $3, $4) RETURNING name, role, created_at, last_used_at, revoked_at";

const API_TOKENS: &str = "SELECT name, role, created_at, last_used_at, revoked_at FROM api_tokens \
     ORDER BY name, id";

const REVOKE_API_TOKEN: &str = "UPDATE api_tokens SET revoked_at = $2 \
     WHERE name = $1 AND revoked_at IS NULL RETURNING id";

const LIVE_API_TOKEN: &str = "SELECT name, role, created_at, last_used_at, revoked_at \
     FROM api_tokens WHERE hash = $1 AND revoked_at IS NULL";

const USE_API_TOKEN: &str = "UPDATE api_tokens SET last_used_at = $2 \
     WHERE hash = $1 AND revoked_at IS NULL \
     RETURNING name, role, created_at, last_used_at, revoked_at";

/// How stale a token's last use may be before a request writes it again: a dashboard polling
/// every second costs a read a request, not a write.
const TOKEN_USE_RESOLUTION: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// The head of the insert of kept contacts: [`accept_statement`] adds a row of
/// [`ACCEPT_WIDTH`] parameters per contact after `$1` (when received) and `$2` (the forwarded
/// status: a forwarded call is delivered when received).
const ACCEPT_COLUMNS: &str = "INSERT INTO contacts (channel, message_key, customer, payload, \
     status, side, received_at, delivered_at) VALUES ";
/// The tail: a repeat (a message key kept already, or twice in the statement) writes nothing
/// and is not returned.
const ACCEPT_RETURNING: &str = " ON CONFLICT (channel, message_key) DO NOTHING RETURNING id, \
     channel, message_key, customer, payload, status, attempts, lease_until_us, next_attempt_us, \
     side, ticket_id, follow_up, last_error, received_at, delivered_at";
/// Parameters of one contact: channel, message key, customer, payload, status, side.
const ACCEPT_WIDTH: usize = 6;
/// Contacts per statement: at most 64 statements' shapes, each in the driver's statement cache
/// (100 a connection), and 386 parameters, under SQLite's oldest limit (999).
const ACCEPT_ROWS: usize = 64;

/// `INSERT INTO contacts … VALUES (…), … ON CONFLICT DO NOTHING RETURNING …` for `rows`
/// contacts: new rows get their ids in the order given.
fn accept_statement(rows: usize) -> String {
    let mut sql = String::from(ACCEPT_COLUMNS);
    for row in 0..rows {
        let p = |column: usize| format!("${}", 3 + row * ACCEPT_WIDTH + column);
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..ACCEPT_WIDTH {
            sql.push_str(&p(column));
            sql.push_str(", ");
        }
        // status is the fifth.
        sql.push_str(&format!(
            "$1, CASE WHEN {} = $2 THEN $1 ELSE NULL END)",
            p(4)
        ));
    }
    sql.push_str(ACCEPT_RETURNING);
    sql
}

/// A `SELECT` of every column of `contacts` a `ContactRow` reads, then `$rest`.
macro_rules! select_contacts {
    ($rest:literal) => {
        concat!(
            "SELECT id, channel, message_key, customer, payload, status, attempts, \
             lease_until_us, next_attempt_us, side, ticket_id, follow_up, last_error, \
             received_at, delivered_at FROM contacts ",
            $rest
        )
    };
}

/// The kept contacts of `keys` (channel, message key): `WHERE (channel = $1 AND message_key =
/// $2) OR …`.
fn contacts_by_keys_statement(keys: usize) -> String {
    let mut sql = String::from(select_contacts!("WHERE "));
    for key in 0..keys {
        if key > 0 {
            sql.push_str(" OR ");
        }
        sql.push_str(&format!(
            "(channel = ${} AND message_key = ${})",
            2 * key + 1,
            2 * key + 2
        ));
    }
    sql
}

const CONTACT_BY_ID: &str = select_contacts!("WHERE id = $1");

const CONTACTS_PAGE: &str = select_contacts!("WHERE id > $1 ORDER BY id LIMIT $2");

const CONTACTS_DELIVERED_SINCE: &str = select_contacts!(
    "WHERE side = $1 AND delivered_at IS NOT NULL AND delivered_at >= $2 AND id > $3 \
     ORDER BY id LIMIT $4"
);

const DELIVER_CONTACT: &str = "UPDATE contacts SET status = $3, side = $4, ticket_id = $5, \
     follow_up = $6, delivered_at = $7, lease_until_us = NULL, last_error = NULL \
     WHERE id = $1 AND status = $8 AND lease_until_us = $2 RETURNING id";

const KEEP_CONVERSATION: &str = "INSERT INTO conversations (channel, customer, side, ticket_id, \
     contact_id, updated_at) SELECT channel, customer, $2, $3, id, $4 FROM contacts WHERE id = $1 \
     ON CONFLICT (channel, customer) DO UPDATE SET side = excluded.side, \
     ticket_id = excluded.ticket_id, contact_id = excluded.contact_id, \
     updated_at = excluded.updated_at";

const RETRY_CONTACT: &str = "UPDATE contacts SET lease_until_us = NULL, next_attempt_us = $3, \
     side = COALESCE($4, side), last_error = $5 \
     WHERE id = $1 AND status = $6 AND lease_until_us = $2 RETURNING id";

const FAIL_CONTACT: &str = "UPDATE contacts SET status = $3, lease_until_us = NULL, \
     last_error = $4 WHERE id = $1 AND status = $5 AND lease_until_us = $2 RETURNING id";

const FORWARD_CALL: &str = "UPDATE contacts SET status = $3, side = $2, delivered_at = $4 \
     WHERE id = $1 AND status = $5 RETURNING id";

const CONVERSATION: &str = "SELECT channel, customer, side, ticket_id, contact_id, updated_at \
     FROM conversations WHERE channel = $1 AND customer = $2";

const RUN_STATE: &str = "SELECT value FROM run_state WHERE name = $1";

/// How many audit entries verification reads at a time: memory stays flat as the log grows.
const VERIFY_PAGE: i64 = 1000;

/// The store on a SQL backend.
pub(crate) struct SqlStore<DB: Dialect> {
    /// Connections, shared by every caller.
    pool: Pool<DB>,
    /// SQLite lets one transaction write at a time: this process's writers wait their turn here
    /// (in order, without polling) rather than in SQLite's busy handler. `None` on PostgreSQL.
    write_turn: Option<Arc<Mutex<()>>>,
    /// Where the store lives, password redacted: what `Debug` shows.
    location: String,
    /// The fence every write transaction checks, on a leader's handle ([`Store::fenced`]).
    fence: Option<Fence>,
}

impl<DB: Dialect> Clone for SqlStore<DB> {
    fn clone(&self) -> Self {
        SqlStore {
            pool: self.pool.clone(),
            write_turn: self.write_turn.clone(),
            location: self.location.clone(),
            fence: self.fence.clone(),
        }
    }
}

impl<DB: Dialect> SqlStore<DB> {
    pub(crate) fn new(pool: Pool<DB>, one_writer: bool, location: String) -> Self {
        let write_turn = one_writer.then(|| Arc::new(Mutex::new(())));
        SqlStore {
            pool,
            write_turn,
            location,
            fence: None,
        }
    }

    /// The connections.
    pub(crate) fn pool(&self) -> &Pool<DB> {
        &self.pool
    }

    /// Starts a write transaction; on SQLite, once this process's earlier writers are done. On
    /// a fenced handle, refuses ([`StoreError::Fenced`]) unless the lease still carries the
    /// fence's token, checked inside the transaction.
    pub(crate) async fn begin_sql(&self) -> Result<SqlTx<DB>, StoreError>
    where
        for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
        for<'q> &'q str: Encode<'q, DB> + Type<DB>,
        for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
        usize: ColumnIndex<DB::Row>,
    {
        let mut tx = self.begin_unfenced().await?;
        if let Some(fence) = &self.fence {
            let current = sqlx::query_scalar::<DB, i64>(DB::FENCE_TOKEN)
                .bind(fence.lease())
                .fetch_optional(tx.conn())
                .await
                .during(|| format!("read the fencing token of lease {:?}", fence.lease()))?;
            let token = fence.token();
            if token.is_none() || current != token {
                // Dropped: rolled back, nothing written.
                return Err(StoreError::Fenced {
                    lease: fence.lease().to_owned(),
                    token,
                    current,
                });
            }
        }
        Ok(tx)
    }

    /// Starts a write transaction that no fence checks: the writes any process makes (the
    /// webhook hints it keeps for the leader).
    pub(crate) async fn begin_unfenced(&self) -> Result<SqlTx<DB>, StoreError> {
        let turn = match &self.write_turn {
            Some(turn) => Some(Arc::clone(turn).lock_owned().await),
            None => None,
        };
        let tx = match DB::BEGIN_WRITE {
            Some(statement) => self.pool.begin_with(statement).await,
            None => self.pool.begin().await,
        }
        .during(|| format!("begin a transaction on {}", self.location))?;
        Ok(SqlTx::new(tx, turn))
    }
}

impl<DB: Dialect> fmt::Debug for SqlStore<DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlStore")
            .field("backend", &DB::BACKEND)
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

/// What the statements of one [`Store::accept_contacts`] found, by (channel, message key):
/// the rows they wrote, and the rows kept before that they wrote nothing for.
#[derive(Default)]
struct KeptContacts {
    new: HashMap<(String, String), Contact>,
    earlier: HashMap<(String, String), Contact>,
}

/// A contact's key in [`KeptContacts`].
fn contact_key(contact: &NewContact) -> (String, String) {
    (contact.channel.clone(), contact.message_key.clone())
}

impl KeptContacts {
    /// The contacts of `given` that no statement wrote.
    fn missing<'c>(&self, given: &[&'c NewContact]) -> Vec<&'c NewContact> {
        let mut missing: Vec<&NewContact> = given
            .iter()
            .copied()
            .filter(|c| !self.new.contains_key(&contact_key(c)))
            .collect();
        // Sorted, so a key given twice is asked for once.
        missing.dedup_by(|a, b| a.channel == b.channel && a.message_key == b.message_key);
        missing
    }

    /// The answers, in the order given: the first of a key written here is new, any other a
    /// repeat.
    fn answers(&self, contacts: &[NewContact]) -> Result<Vec<Accepted>, StoreError> {
        let mut accepted = Vec::with_capacity(contacts.len());
        let mut answered = HashSet::with_capacity(contacts.len());
        for contact in contacts {
            let key = contact_key(contact);
            let first = answered.insert(key.clone());
            let stored = match (self.new.get(&key), self.earlier.get(&key)) {
                (Some(kept), _) if first => Accepted::New(kept.clone()),
                (Some(kept), _) | (None, Some(kept)) => Accepted::Repeat(kept.clone()),
                (None, None) => {
                    return Err(StoreError::Corrupt {
                        table: "contacts",
                        column: "message_key",
                        source: CorruptValue::Other(format!(
                            "contact {:?} of channel {:?} was neither written nor found",
                            contact.message_key, contact.channel
                        )),
                    });
                }
            };
            accepted.push(stored);
        }
        Ok(accepted)
    }
}

/// Writes `chunk` (at most [`ACCEPT_ROWS`], in the order given) on `conn` as
/// [`Store::accept_contacts`] does: one insert for every contact, the rows written kept in
/// `kept`. Outside a transaction, the statement is one, committed before this returns.
async fn insert_contacts<DB>(
    conn: &mut DB::Connection,
    chunk: &[&NewContact],
    at: DateTime<Utc>,
    kept: &mut KeptContacts,
) -> Result<(), StoreError>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> Json<&'q Value>: Encode<'q, DB> + Type<DB>,
    for<'q> Json<Value>: Decode<'q, DB> + Type<DB>,
{
    let sql = accept_statement(chunk.len());
    // Built from constants and parameter numbers only: no value is spliced in.
    let mut insert = sqlx::query_as::<DB, ContactRow>(AssertSqlSafe(sql.as_str()))
        .bind(at)
        .bind(ContactStatus::Forwarded.as_str());
    for contact in chunk {
        insert = insert
            .bind(contact.channel.as_str())
            .bind(contact.message_key.as_str())
            .bind(contact.customer.as_str())
            .bind(Json(&contact.payload))
            .bind(contact.status.as_str())
            .bind(contact.side.map(Side::as_str));
    }
    let rows = insert
        .fetch_all(&mut *conn)
        .await
        .during(|| format!("keep {} contacts", chunk.len()))?;
    // RETURNING gives no order, and only the rows written: found again by their key.
    for row in rows {
        let contact = Contact::try_from(row)?;
        kept.new.insert(
            (contact.channel.clone(), contact.message_key.clone()),
            contact,
        );
    }
    Ok(())
}

/// Reads the contacts of `missing` (at most [`ACCEPT_ROWS`]) kept before into `kept`.
async fn read_kept_contacts<DB>(
    conn: &mut DB::Connection,
    missing: &[&NewContact],
    kept: &mut KeptContacts,
) -> Result<(), StoreError>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> String: Decode<'q, DB> + Type<DB>,
    for<'q> i64: Decode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Type<DB>,
    for<'q> DateTime<Utc>: Decode<'q, DB> + Type<DB>,
    for<'q> Json<Value>: Decode<'q, DB> + Type<DB>,
{
    if missing.is_empty() {
        return Ok(());
    }
    let sql = contacts_by_keys_statement(missing.len());
    // Built from constants and parameter numbers only: no value is spliced in.
    let mut read = sqlx::query_as::<DB, ContactRow>(AssertSqlSafe(sql.as_str()));
    for contact in missing {
        read = read
            .bind(contact.channel.as_str())
            .bind(contact.message_key.as_str());
    }
    let rows = read
        .fetch_all(&mut *conn)
        .await
        .during(|| format!("read {} contacts kept before", missing.len()))?;
    for row in rows {
        let contact = Contact::try_from(row)?;
        kept.earlier.insert(
            (contact.channel.clone(), contact.message_key.clone()),
            contact,
        );
    }
    Ok(())
}

/// How often a batch of contacts given up to a deadlock is written again before the error is
/// the caller's (each wait is PostgreSQL's `deadlock_timeout`, a second by default).
const DEADLOCK_ATTEMPTS: u32 = 4;

impl<DB> SqlStore<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> Json<&'q Value>: Encode<'q, DB> + Type<DB>,
    for<'q> Json<Value>: Decode<'q, DB> + Type<DB>,
{
    /// Writes `given` (in that order) at `at`, as one statement where it can: what was kept,
    /// new and repeats.
    async fn write_contacts(
        &self,
        given: &[&NewContact],
        at: DateTime<Utc>,
    ) -> Result<KeptContacts, StoreError> {
        let mut kept = KeptContacts::default();
        if DB::ONE_STATEMENT_COMMITS && self.fence.is_none() && given.len() <= ACCEPT_ROWS {
            // One round trip: the insert is its own transaction, committed (and flushed) before
            // the driver answers. Repeats are read after it, committed as they are.
            let mut conn = self
                .pool
                .acquire()
                .await
                .during(|| format!("connect to {}", self.location))?;
            insert_contacts::<DB>(&mut conn, given, at, &mut kept).await?;
            let missing = kept.missing(given);
            read_kept_contacts::<DB>(&mut conn, &missing, &mut kept).await?;
        } else {
            let mut tx = self.begin_sql().await?;
            // A message key of an earlier chunk is found kept by a later one, in this
            // transaction.
            for chunk in given.chunks(ACCEPT_ROWS) {
                insert_contacts::<DB>(tx.conn(), chunk, at, &mut kept).await?;
                let missing = kept.missing(chunk);
                read_kept_contacts::<DB>(tx.conn(), &missing, &mut kept).await?;
            }
            tx.commit_sql().await?;
        }
        Ok(kept)
    }
}

#[async_trait]
impl<DB> Store for SqlStore<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> Json<&'q Value>: Encode<'q, DB> + Type<DB>,
    for<'q> Json<Value>: Decode<'q, DB> + Type<DB>,
{
    async fn record_ticket(&self, reading: &TicketReading) -> Result<(), StoreError> {
        self.record_ticket_sql(reading).await
    }

    async fn record_satisfaction(
        &self,
        side: Side,
        ticket: &PlatformId,
        score: u8,
    ) -> Result<bool, StoreError> {
        self.record_satisfaction_sql(side, ticket, score).await
    }

    async fn import_ticket_facts(&self, facts: &[TicketFacts]) -> Result<u64, StoreError> {
        self.import_ticket_facts_sql(facts).await
    }

    async fn record_probe(&self, probe: &ApiProbe) -> Result<(), StoreError> {
        self.record_probe_sql(probe).await
    }

    async fn probes(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ApiProbe>, StoreError> {
        self.probes_sql(from, to).await
    }

    async fn alerts(&self, limit: u32) -> Result<Vec<AlertRecord>, StoreError> {
        self.alerts_sql(limit).await
    }

    async fn alerts_open_since(&self, from: DateTime<Utc>) -> Result<Vec<AlertRecord>, StoreError> {
        self.alerts_open_since_sql(from).await
    }

    async fn alert_actions(
        &self,
        pending_only: bool,
        limit: u32,
    ) -> Result<Vec<AlertActionRecord>, StoreError> {
        self.alert_actions_sql(pending_only, limit).await
    }

    async fn ticket_facts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<TicketFacts>, StoreError> {
        self.ticket_facts_sql(from, to).await
    }

    async fn kpi_buckets(
        &self,
        from: DateTime<Utc>,
        length: chrono::Duration,
        n_buckets: u32,
        filter: &FactFilter,
    ) -> Result<KpiBuckets, StoreError> {
        self.kpi_buckets_sql(from, length, n_buckets, filter).await
    }

    async fn kpi_buckets_by_channel(
        &self,
        from: DateTime<Utc>,
        length: chrono::Duration,
        n_buckets: u32,
        filter: &FactFilter,
    ) -> Result<std::collections::BTreeMap<String, KpiBuckets>, StoreError> {
        self.kpi_buckets_by_channel_sql(from, length, n_buckets, filter)
            .await
    }

    async fn kpi_created(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        origin: DateTime<Utc>,
        length: chrono::Duration,
    ) -> Result<Vec<CreatedCount>, StoreError> {
        self.kpi_created_sql(from, to, origin, length).await
    }

    async fn kpi_channels(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        self.kpi_channels_sql(from, to).await
    }

    async fn kpi_count(&self, filter: &FactFilter) -> Result<u64, StoreError> {
        self.kpi_count_sql(filter).await
    }

    async fn record_group(
        &self,
        side: Side,
        id: &PlatformId,
        name: &str,
    ) -> Result<(), StoreError> {
        self.record_group_sql(side, id, name).await
    }

    async fn kpi_groups(&self) -> Result<Vec<KpiGroup>, StoreError> {
        self.kpi_groups_sql().await
    }

    fn backend(&self) -> Backend {
        DB::BACKEND
    }

    fn fenced(&self, fence: Fence) -> Arc<dyn Store> {
        Arc::new(SqlStore {
            fence: Some(fence),
            ..self.clone()
        })
    }

    async fn begin(&self) -> Result<Box<dyn StoreTx>, StoreError> {
        Ok(Box::new(self.begin_sql().await?))
    }

    async fn find_link(
        &self,
        kind: RecordKind,
        side: Side,
        id: &PlatformId,
    ) -> Result<Option<StoredLink>, StoreError> {
        SqlTx::read_link(&self.pool, kind, side, id).await
    }

    async fn links(
        &self,
        kind: RecordKind,
        after: Option<&PlatformId>,
        limit: u32,
    ) -> Result<Vec<StoredLink>, StoreError> {
        let rows = sqlx::query_as::<DB, LinkRow>(LINKS_PAGE)
            .bind(kind.as_str())
            .bind(after.map(PlatformId::as_str))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .during(|| format!("list links of kind {kind}"))?;
        rows.into_iter().map(StoredLink::try_from).collect()
    }

    async fn links_written_since(
        &self,
        since: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<StoredLink>, StoreError> {
        let rows = sqlx::query_as::<DB, LinkRow>(LINKS_WRITTEN_SINCE)
            .bind(stored_time(since))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .during(|| format!("list the links written since {since}"))?;
        rows.into_iter().map(StoredLink::try_from).collect()
    }

    async fn count_links(&self, kind: Option<RecordKind>) -> Result<u64, StoreError> {
        let count = sqlx::query_scalar::<DB, i64>(COUNT_LINKS)
            .bind(kind.map(RecordKind::as_str))
            .fetch_one(&self.pool)
            .await
            .during(|| String::from("count links"))?;
        // COUNT(*) is never negative.
        Ok(u64::try_from(count).unwrap_or_default())
    }

    async fn cursor(&self, side: Side, stream: &str) -> Result<Option<Cursor>, StoreError> {
        SqlTx::read_cursor(&self.pool, side, stream).await
    }

    async fn claim_outbox(
        &self,
        target: Side,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let now_us = now().timestamp_micros();
        let lease_us = i64::try_from(lease.as_micros()).unwrap_or(i64::MAX);
        let mut tx = self.begin_sql().await?;
        let rows = sqlx::query_as::<DB, OutboxRow>(DB::CLAIM_OUTBOX)
            .bind(target.as_str())
            .bind(i64::from(limit))
            .bind(now_us.saturating_add(lease_us))
            .bind(now_us)
            .bind(OutboxStatus::Pending.as_str())
            .fetch_all(tx.conn())
            .await
            .during(|| format!("claim outbox items for the {target} side"))?;
        tx.commit_sql().await?;
        let mut items = rows
            .into_iter()
            .map(OutboxItem::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        // RETURNING gives no order.
        items.sort_by_key(|item| item.id);
        Ok(items)
    }

    async fn release_outbox(&self, id: OutboxId) -> Result<bool, StoreError> {
        let query = sqlx::query_scalar(RELEASE_OUTBOX)
            .bind(id.0)
            .bind(OutboxStatus::Pending.as_str());
        let tx = self.begin_sql().await?;
        tx.write_one(query, || format!("release outbox item {id}"))
            .await
    }

    async fn dead_letters(&self, filter: &DeadLetterFilter) -> Result<Vec<DeadLetter>, StoreError> {
        let rows = sqlx::query_as::<DB, DeadLetterRow>(DEAD_LETTERS_PAGE)
            .bind(filter.kind.map(RecordKind::as_str))
            .bind(filter.side.map(Side::as_str))
            .bind(filter.reason.as_deref())
            .bind(filter.after.map_or(0, |id| id.0))
            .bind(i64::from(filter.limit))
            .bind(filter.source_id.as_ref().map(PlatformId::as_str))
            .fetch_all(&self.pool)
            .await
            .during(|| String::from("list dead letters"))?;
        rows.into_iter().map(DeadLetter::try_from).collect()
    }

    async fn conflicts(
        &self,
        after: Option<ConflictId>,
        limit: u32,
    ) -> Result<Vec<Conflict>, StoreError> {
        let rows = sqlx::query_as::<DB, ConflictRow>(CONFLICTS_PAGE)
            .bind(after.map_or(0, |id| id.0))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .during(|| String::from("list conflicts"))?;
        rows.into_iter().map(Conflict::try_from).collect()
    }

    async fn conflict(&self, id: ConflictId) -> Result<Option<Conflict>, StoreError> {
        let row = sqlx::query_as::<DB, ConflictRow>(CONFLICT_BY_ID)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .during(|| format!("read conflict {id}"))?;
        row.map(Conflict::try_from).transpose()
    }

    async fn dead_letter(&self, id: DeadLetterId) -> Result<Option<DeadLetter>, StoreError> {
        let row = sqlx::query_as::<DB, DeadLetterRow>(DEAD_LETTER_BY_ID)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .during(|| format!("read dead letter {id}"))?;
        row.map(DeadLetter::try_from).transpose()
    }

    async fn drop_dead_letter(&self, id: DeadLetterId) -> Result<bool, StoreError> {
        let query = sqlx::query_scalar(DROP_DEAD_LETTER).bind(id.0);
        let tx = self.begin_sql().await?;
        tx.write_one(query, || format!("drop dead letter {id}"))
            .await
    }

    async fn mark_dead_letter_retried(&self, id: DeadLetterId) -> Result<bool, StoreError> {
        let query = sqlx::query_scalar(MARK_DEAD_LETTER_RETRIED)
            .bind(id.0)
            .bind(now());
        let tx = self.begin_sql().await?;
        tx.write_one(query, || format!("mark dead letter {id} retried"))
            .await
    }

    async fn audit_entries(
        &self,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query_as::<DB, AuditRow>(AUDIT_PAGE)
            .bind(after_seq)
            .bind(i64::MAX)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .during(|| format!("read audit entries after {after_seq}"))?;
        rows.into_iter().map(AuditEntry::try_from).collect()
    }

    async fn verify_audit(&self) -> Result<u64, StoreError> {
        // The head is read first: entries appended while verifying lie beyond it and are left
        // for the next run.
        let head = sqlx::query_as::<DB, AuditHeadRow>(AUDIT_HEAD)
            .fetch_one(&self.pool)
            .await
            .during(|| String::from("read the audit chain head"))?;
        let mut verifier = ChainVerifier::new();
        loop {
            let after = verifier.last_seq();
            let rows = sqlx::query_as::<DB, AuditRow>(AUDIT_PAGE)
                .bind(after)
                .bind(head.seq)
                .bind(VERIFY_PAGE)
                .fetch_all(&self.pool)
                .await
                .during(|| format!("read audit entries after {after}"))?;
            let n_rows = rows.len();
            for row in rows {
                verifier.check(&RawEntry::from(row))?;
            }
            if i64::try_from(n_rows).unwrap_or(i64::MAX) < VERIFY_PAGE {
                break;
            }
        }
        verifier.finish(head.seq, &head.hash)
    }

    async fn run_state(&self, key: &str) -> Result<Option<Value>, StoreError> {
        let value = sqlx::query_scalar::<DB, Json<Value>>(RUN_STATE)
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .during(|| format!("read run state {key:?}"))?;
        Ok(value.map(|json| json.0))
    }

    async fn create_api_token(&self, token: &NewApiToken) -> Result<ApiToken, StoreError> {
        let mut tx = self.begin_sql().await?;
        let row = sqlx::query_as::<DB, ApiTokenRow>(CREATE_API_TOKEN)
            .bind(token.name.as_str())
            .bind(token.role.as_str())
            .bind(token.hash.as_str())
            .bind(now())
            .fetch_one(tx.conn())
            .await
            .during(|| format!("store API token {:?}", token.name))?;
        tx.commit_sql().await?;
        ApiToken::try_from(row)
    }

    async fn api_tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        let rows = sqlx::query_as::<DB, ApiTokenRow>(API_TOKENS)
            .fetch_all(&self.pool)
            .await
            .during(|| String::from("list API tokens"))?;
        rows.into_iter().map(ApiToken::try_from).collect()
    }

    async fn revoke_api_token(&self, name: &str) -> Result<bool, StoreError> {
        let query = sqlx::query_scalar(REVOKE_API_TOKEN).bind(name).bind(now());
        let tx = self.begin_sql().await?;
        tx.write_one(query, || format!("revoke API token {name:?}"))
            .await
    }

    async fn use_api_token(&self, hash: &TokenHash) -> Result<Option<ApiToken>, StoreError> {
        let live = sqlx::query_as::<DB, ApiTokenRow>(LIVE_API_TOKEN)
            .bind(hash.as_str())
            .fetch_optional(&self.pool)
            .await
            .during(|| String::from("look up an API token"))?;
        let Some(live) = live.map(ApiToken::try_from).transpose()? else {
            return Ok(None);
        };
        if live
            .last_used_at
            .is_some_and(|at| now() - at < TOKEN_USE_RESOLUTION)
        {
            return Ok(Some(live));
        }
        let mut tx = self.begin_sql().await?;
        let row = sqlx::query_as::<DB, ApiTokenRow>(USE_API_TOKEN)
            .bind(hash.as_str())
            .bind(now())
            .fetch_optional(tx.conn())
            .await
            .during(|| String::from("look up an API token"))?;
        tx.commit_sql().await?;
        row.map(ApiToken::try_from).transpose()
    }

    async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>, StoreError> {
        self.try_lease_sql(name, holder, ttl).await
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<bool, StoreError> {
        self.release_lease_sql(name, holder).await
    }

    async fn lease(&self, name: &str) -> Result<Option<Lease>, StoreError> {
        self.lease_sql(name).await
    }

    async fn put_hints(
        &self,
        side: Side,
        hints: &[(RecordKind, PlatformId)],
    ) -> Result<(), StoreError> {
        self.put_hints_sql(side, hints).await
    }

    async fn pending_hints(&self, side: Side, limit: u32) -> Result<Vec<StoredHint>, StoreError> {
        self.pending_hints_sql(side, limit).await
    }

    async fn drop_hints(&self, side: Side, up_to: HintId) -> Result<u64, StoreError> {
        self.drop_hints_sql(side, up_to).await
    }

    async fn created_records(
        &self,
        side: Side,
        after: Option<(RecordKind, &PlatformId)>,
        limit: u32,
    ) -> Result<Vec<crate::created::CreatedRecord>, StoreError> {
        self.created_records_sql(side, after, limit).await
    }

    async fn created_setup(
        &self,
        side: Side,
        kind: SetupKind,
    ) -> Result<Vec<crate::created::CreatedSetup>, StoreError> {
        self.created_setup_sql(side, kind).await
    }

    async fn accept_contact(&self, contact: &NewContact) -> Result<Accepted, StoreError> {
        let mut accepted = self.accept_contacts(std::slice::from_ref(contact)).await?;
        accepted.pop().ok_or_else(|| StoreError::Corrupt {
            table: "contacts",
            column: "id",
            source: CorruptValue::Other("a kept contact was not read back".to_owned()),
        })
    }

    async fn accept_contacts(&self, contacts: &[NewContact]) -> Result<Vec<Accepted>, StoreError> {
        if contacts.is_empty() {
            return Ok(Vec::new());
        }
        let at = now();
        // Written in the order given, so ids (the order the delivery worker takes a customer's
        // messages in) follow arrival. Two batches sharing keys in opposite orders may deadlock
        // on PostgreSQL (an insert waits for an uncommitted row of the same key): the database
        // gives one up after `deadlock_timeout`, and that batch is written again, finding the
        // other's rows as repeats.
        let given: Vec<&NewContact> = contacts.iter().collect();
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.write_contacts(&given, at).await {
                Ok(kept) => return kept.answers(contacts),
                Err(e) if e.is_deadlock() && attempt < DEADLOCK_ATTEMPTS => {
                    tracing::debug!(attempt, "contacts given up to a deadlock: written again");
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn contact(&self, id: ContactId) -> Result<Option<Contact>, StoreError> {
        let row = sqlx::query_as::<DB, ContactRow>(CONTACT_BY_ID)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .during(|| format!("read contact {id}"))?;
        row.map(Contact::try_from).transpose()
    }

    async fn contacts(
        &self,
        after: Option<ContactId>,
        limit: u32,
    ) -> Result<Vec<Contact>, StoreError> {
        let rows = sqlx::query_as::<DB, ContactRow>(CONTACTS_PAGE)
            .bind(after.map_or(0, |id| id.0))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .during(|| String::from("list contacts"))?;
        rows.into_iter().map(Contact::try_from).collect()
    }

    async fn contacts_delivered_since(
        &self,
        side: Side,
        since: DateTime<Utc>,
        after: Option<ContactId>,
        limit: u32,
    ) -> Result<Vec<Contact>, StoreError> {
        let rows = sqlx::query_as::<DB, ContactRow>(CONTACTS_DELIVERED_SINCE)
            .bind(side.as_str())
            .bind(stored_time(since))
            .bind(after.map_or(0, |id| id.0))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .during(|| format!("list the contacts delivered to the {side} side since {since}"))?;
        rows.into_iter().map(Contact::try_from).collect()
    }

    async fn claim_contacts(
        &self,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<Contact>, StoreError> {
        let now_us = now().timestamp_micros();
        let lease_us = i64::try_from(lease.as_micros()).unwrap_or(i64::MAX);
        let mut tx = self.begin_sql().await?;
        let rows = sqlx::query_as::<DB, ContactRow>(DB::CLAIM_CONTACTS)
            .bind(i64::from(limit))
            .bind(now_us.saturating_add(lease_us))
            .bind(now_us)
            .bind(ContactStatus::Pending.as_str())
            .fetch_all(tx.conn())
            .await
            .during(|| String::from("claim contacts to deliver"))?;
        tx.commit_sql().await?;
        let mut contacts = rows
            .into_iter()
            .map(Contact::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        // RETURNING gives no order.
        contacts.sort_by_key(|contact| contact.id);
        Ok(contacts)
    }

    async fn deliver_contact(&self, delivery: &ContactDelivery) -> Result<bool, StoreError> {
        let id = delivery.id;
        let at = now();
        let mut tx = self.begin_sql().await?;
        let marked = sqlx::query_scalar::<DB, i64>(DELIVER_CONTACT)
            .bind(id.0)
            .bind(delivery.lease.timestamp_micros())
            .bind(ContactStatus::Delivered.as_str())
            .bind(delivery.side.as_str())
            .bind(delivery.ticket_id.as_str())
            .bind(i64::from(delivery.follow_up))
            .bind(at)
            .bind(ContactStatus::Pending.as_str())
            .fetch_optional(tx.conn())
            .await
            .during(|| format!("mark contact {id} delivered"))?;
        if marked.is_none() {
            return Ok(false);
        }
        if let Some((side, ticket)) = &delivery.conversation {
            sqlx::query(KEEP_CONVERSATION)
                .bind(id.0)
                .bind(side.as_str())
                .bind(ticket.as_str())
                .bind(at)
                .execute(tx.conn())
                .await
                .during(|| format!("keep the conversation of contact {id}"))?;
        }
        tx.commit_sql().await?;
        Ok(true)
    }

    async fn retry_contact(
        &self,
        id: ContactId,
        lease: DateTime<Utc>,
        next_attempt: DateTime<Utc>,
        side: Option<Side>,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        let query = sqlx::query_scalar(RETRY_CONTACT)
            .bind(id.0)
            .bind(lease.timestamp_micros())
            .bind(next_attempt.timestamp_micros())
            .bind(side.map(Side::as_str))
            .bind(error)
            .bind(ContactStatus::Pending.as_str());
        let tx = self.begin_sql().await?;
        tx.write_one(query, || format!("give contact {id} back"))
            .await
    }

    async fn fail_contact(
        &self,
        id: ContactId,
        lease: DateTime<Utc>,
        error: &str,
        letter: &NewDeadLetter,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_sql().await?;
        let marked = sqlx::query_scalar::<DB, i64>(FAIL_CONTACT)
            .bind(id.0)
            .bind(lease.timestamp_micros())
            .bind(ContactStatus::Failed.as_str())
            .bind(error)
            .bind(ContactStatus::Pending.as_str())
            .fetch_optional(tx.conn())
            .await
            .during(|| format!("mark contact {id} failed"))?;
        if marked.is_none() {
            return Ok(false);
        }
        tx.put_dead_letter(letter).await?;
        tx.commit_sql().await?;
        Ok(true)
    }

    async fn forward_call(&self, id: ContactId, side: Side) -> Result<bool, StoreError> {
        let query = sqlx::query_scalar(FORWARD_CALL)
            .bind(id.0)
            .bind(side.as_str())
            .bind(ContactStatus::Forwarded.as_str())
            .bind(now())
            .bind(ContactStatus::Ringing.as_str());
        let tx = self.begin_sql().await?;
        tx.write_one(query, || format!("mark call {id} forwarded"))
            .await
    }

    async fn conversation(
        &self,
        channel: &str,
        customer: &str,
    ) -> Result<Option<Conversation>, StoreError> {
        let row = sqlx::query_as::<DB, ConversationRow>(CONVERSATION)
            .bind(channel)
            .bind(customer)
            .fetch_optional(&self.pool)
            .await
            .during(|| format!("read a conversation of channel {channel:?}"))?;
        row.map(Conversation::try_from).transpose()
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
