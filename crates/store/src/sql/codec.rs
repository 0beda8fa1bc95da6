//! Rows as the database returns them, and their conversion into the store's types.

use std::str::FromStr;

use chrono::{DateTime, SubsecRound, Utc};
use cutover_model::{ModelError, RecordRef};
use serde_json::Value;
use sqlx::types::Json;

use crate::audit::{AuditEntry, RawEntry};
use crate::conflicts::{Conflict, ConflictId, NewConflict};
use crate::contacts::{Contact, ContactId, ContactStatus, Conversation};
use crate::cursors::{Cursor, Position};
use crate::dead_letters::{DeadLetter, DeadLetterId};
use crate::error::{CorruptValue, StoreError};
use crate::links::{Link, StoredLink};
use crate::outbox::{OutboxId, OutboxItem, OutboxStatus};
use crate::tokens::ApiToken;

/// The store's clock: now, to the microsecond (what both backends keep exactly).
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// A time as the store keeps it: to the microsecond.
pub(crate) fn stored_time(time: DateTime<Utc>) -> DateTime<Utc> {
    time.trunc_subsecs(6)
}

pub(crate) fn parse<T>(
    table: &'static str,
    column: &'static str,
    text: &str,
) -> Result<T, StoreError>
where
    T: FromStr<Err = ModelError>,
{
    text.parse().map_err(|e: ModelError| StoreError::Corrupt {
        table,
        column,
        source: e.into(),
    })
}

fn corrupt(table: &'static str, column: &'static str, reason: String) -> StoreError {
    StoreError::Corrupt {
        table,
        column,
        source: CorruptValue::Other(reason),
    }
}

/// A row of `links`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct LinkRow {
    kind: String,
    old_id: String,
    new_id: String,
    fingerprint: String,
    old_version: Option<String>,
    new_version: Option<String>,
    last_writer: String,
    updated_at: DateTime<Utc>,
    field_hashes: Option<String>,
}

impl TryFrom<LinkRow> for StoredLink {
    type Error = StoreError;
    fn try_from(row: LinkRow) -> Result<Self, Self::Error> {
        let link = Link {
            kind: parse("links", "kind", &row.kind)?,
            old_id: parse("links", "old_id", &row.old_id)?,
            new_id: parse("links", "new_id", &row.new_id)?,
            fingerprint: parse("links", "fingerprint", &row.fingerprint)?,
            old_version: row.old_version,
            new_version: row.new_version,
            last_writer: parse("links", "last_writer", &row.last_writer)?,
            fields: row
                .field_hashes
                .as_deref()
                .map(|text| {
                    crate::links::decode_fields(text)
                        .map_err(|e| corrupt("links", "field_hashes", e))
                })
                .transpose()?,
        };
        Ok(StoredLink {
            link,
            updated_at: row.updated_at,
        })
    }
}

/// A row of `cursors`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct CursorRow {
    position_time: DateTime<Utc>,
    position_id: String,
    position_seq: i64,
    token: Option<String>,
}

impl From<CursorRow> for Cursor {
    fn from(row: CursorRow) -> Self {
        Cursor {
            position: Position {
                time: row.position_time,
                id: row.position_id,
                seq: row.position_seq,
            },
            token: row.token,
        }
    }
}

/// A row of `outbox`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct OutboxRow {
    id: i64,
    kind: String,
    target_side: String,
    source_side: String,
    source_id: String,
    payload: Json<Value>,
    status: String,
    attempts: i64,
    lease_until_us: Option<i64>,
    created_at: DateTime<Utc>,
    sent_at: Option<DateTime<Utc>>,
}

impl TryFrom<OutboxRow> for OutboxItem {
    type Error = StoreError;
    fn try_from(row: OutboxRow) -> Result<Self, Self::Error> {
        let status = OutboxStatus::parse(&row.status).ok_or_else(|| {
            corrupt(
                "outbox",
                "status",
                format!("unknown status {:?}", row.status),
            )
        })?;
        let leased_until = match row.lease_until_us {
            None => None,
            Some(micros) => Some(DateTime::from_timestamp_micros(micros).ok_or_else(|| {
                corrupt(
                    "outbox",
                    "lease_until_us",
                    format!("{micros} is out of range"),
                )
            })?),
        };
        Ok(OutboxItem {
            id: OutboxId(row.id),
            target: parse("outbox", "target_side", &row.target_side)?,
            record: RecordRef {
                kind: parse("outbox", "kind", &row.kind)?,
                side: parse("outbox", "source_side", &row.source_side)?,
                id: parse("outbox", "source_id", &row.source_id)?,
            },
            payload: row.payload.0,
            status,
            attempts: row.attempts,
            leased_until,
            created_at: row.created_at,
            sent_at: row.sent_at,
        })
    }
}

/// A row of `dead_letters`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct DeadLetterRow {
    id: i64,
    kind: String,
    side: String,
    source_id: String,
    reason: String,
    record: Json<Value>,
    attempts: i64,
    first_seen: DateTime<Utc>,
    last_seen: DateTime<Utc>,
    retried_at: Option<DateTime<Utc>>,
}

impl TryFrom<DeadLetterRow> for DeadLetter {
    type Error = StoreError;
    fn try_from(row: DeadLetterRow) -> Result<Self, Self::Error> {
        Ok(DeadLetter {
            id: DeadLetterId(row.id),
            kind: parse("dead_letters", "kind", &row.kind)?,
            side: parse("dead_letters", "side", &row.side)?,
            source_id: parse("dead_letters", "source_id", &row.source_id)?,
            reason: row.reason,
            record: row.record.0,
            attempts: row.attempts,
            first_seen: row.first_seen,
            last_seen: row.last_seen,
            retried_at: row.retried_at,
        })
    }
}

/// A row of `conflicts`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ConflictRow {
    id: i64,
    kind: String,
    old_id: String,
    new_id: String,
    field: String,
    old_value: String,
    new_value: String,
    rule: String,
    winner: String,
    at: DateTime<Utc>,
}

impl TryFrom<ConflictRow> for Conflict {
    type Error = StoreError;
    fn try_from(row: ConflictRow) -> Result<Self, Self::Error> {
        Ok(Conflict {
            id: ConflictId(row.id),
            conflict: NewConflict {
                kind: parse("conflicts", "kind", &row.kind)?,
                old_id: parse("conflicts", "old_id", &row.old_id)?,
                new_id: parse("conflicts", "new_id", &row.new_id)?,
                field: row.field,
                old_value: row.old_value,
                new_value: row.new_value,
                rule: row.rule,
                winner: parse("conflicts", "winner", &row.winner)?,
                at: row.at,
            },
        })
    }
}

/// A row of `api_tokens`, without its hash.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ApiTokenRow {
    name: String,
    role: String,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl TryFrom<ApiTokenRow> for ApiToken {
    type Error = StoreError;
    fn try_from(row: ApiTokenRow) -> Result<Self, Self::Error> {
        let role = row
            .role
            .parse()
            .map_err(|e: crate::tokens::BadRole| corrupt("api_tokens", "role", e.to_string()))?;
        Ok(ApiToken {
            name: row.name,
            role,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            revoked_at: row.revoked_at,
        })
    }
}

/// A row of `audit_log`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct AuditRow {
    seq: i64,
    at: DateTime<Utc>,
    actor: String,
    action: String,
    detail: Json<Value>,
    prev_hash: String,
    hash: String,
}

impl From<AuditRow> for RawEntry {
    fn from(row: AuditRow) -> Self {
        RawEntry {
            seq: row.seq,
            at: row.at,
            actor: row.actor,
            action: row.action,
            detail: row.detail.0,
            prev_hash: row.prev_hash,
            hash: row.hash,
        }
    }
}

impl TryFrom<AuditRow> for AuditEntry {
    type Error = StoreError;
    fn try_from(row: AuditRow) -> Result<Self, Self::Error> {
        let hash = |column, text: &str| {
            text.parse().map_err(|e: crate::audit::BadAuditHash| {
                corrupt("audit_log", column, e.to_string())
            })
        };
        Ok(AuditEntry {
            seq: row.seq,
            at: row.at,
            prev_hash: hash("prev_hash", &row.prev_hash)?,
            hash: hash("hash", &row.hash)?,
            actor: row.actor,
            action: row.action,
            detail: row.detail.0,
        })
    }
}

/// The audit chain head: the last entry's sequence number and hash.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct AuditHeadRow {
    pub(crate) seq: i64,
    pub(crate) hash: String,
}

/// A time kept as microseconds since the epoch.
pub(crate) fn from_micros(
    table: &'static str,
    column: &'static str,
    us: i64,
) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(us)
        .ok_or_else(|| corrupt(table, column, format!("{us} is not a time")))
}

/// A row of `leases`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct LeaseRow {
    pub(crate) name: String,
    pub(crate) holder: String,
    pub(crate) token: i64,
    pub(crate) since_us: i64,
    pub(crate) renewed_us: i64,
    pub(crate) expires_us: i64,
}

impl LeaseRow {
    /// The lease, lapsed or not by the database's `now_us`.
    pub(crate) fn into_lease(self, now_us: i64) -> Result<crate::leases::Lease, StoreError> {
        Ok(crate::leases::Lease {
            since: from_micros("leases", "since_us", self.since_us)?,
            renewed_at: from_micros("leases", "renewed_us", self.renewed_us)?,
            expires_at: from_micros("leases", "expires_us", self.expires_us)?,
            expired: self.expires_us <= now_us,
            name: self.name,
            holder: self.holder,
            token: self.token,
        })
    }
}

/// A row of `webhook_hints`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct HintRow {
    id: i64,
    side: String,
    kind: String,
    record_id: String,
}

impl TryFrom<HintRow> for crate::leases::StoredHint {
    type Error = StoreError;
    fn try_from(row: HintRow) -> Result<Self, Self::Error> {
        Ok(crate::leases::StoredHint {
            id: crate::leases::HintId(row.id),
            side: parse("webhook_hints", "side", &row.side)?,
            kind: parse("webhook_hints", "kind", &row.kind)?,
            record_id: parse("webhook_hints", "record_id", &row.record_id)?,
        })
    }
}

/// A row of `created_records`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct CreatedRow {
    side: String,
    kind: String,
    record_id: String,
    source_id: String,
    parent_id: Option<String>,
}

impl TryFrom<CreatedRow> for crate::created::CreatedRecord {
    type Error = StoreError;
    fn try_from(row: CreatedRow) -> Result<Self, Self::Error> {
        Ok(crate::created::CreatedRecord {
            side: parse("created_records", "side", &row.side)?,
            kind: parse("created_records", "kind", &row.kind)?,
            id: parse("created_records", "record_id", &row.record_id)?,
            source_id: parse("created_records", "source_id", &row.source_id)?,
            parent: row
                .parent_id
                .map(|id| parse("created_records", "parent_id", &id))
                .transpose()?,
        })
    }
}

/// A row of `contacts`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ContactRow {
    id: i64,
    channel: String,
    message_key: String,
    customer: String,
    payload: Json<Value>,
    status: String,
    attempts: i64,
    lease_until_us: Option<i64>,
    next_attempt_us: i64,
    side: Option<String>,
    ticket_id: Option<String>,
    follow_up: i64,
    last_error: Option<String>,
    received_at: DateTime<Utc>,
    delivered_at: Option<DateTime<Utc>>,
}

/// A time kept as microseconds since 1970.
fn micros(table: &'static str, column: &'static str, us: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(us)
        .ok_or_else(|| corrupt(table, column, format!("{us} is out of range")))
}

impl TryFrom<ContactRow> for Contact {
    type Error = StoreError;
    fn try_from(row: ContactRow) -> Result<Self, Self::Error> {
        let status = ContactStatus::parse(&row.status).ok_or_else(|| {
            corrupt(
                "contacts",
                "status",
                format!("unknown status {:?}", row.status),
            )
        })?;
        Ok(Contact {
            id: ContactId(row.id),
            channel: row.channel,
            message_key: row.message_key,
            customer: row.customer,
            payload: row.payload.0,
            status,
            attempts: row.attempts,
            leased_until: row
                .lease_until_us
                .map(|us| micros("contacts", "lease_until_us", us))
                .transpose()?,
            next_attempt_at: (row.next_attempt_us > 0)
                .then(|| micros("contacts", "next_attempt_us", row.next_attempt_us))
                .transpose()?,
            side: row
                .side
                .as_deref()
                .map(|s| parse("contacts", "side", s))
                .transpose()?,
            ticket_id: row
                .ticket_id
                .as_deref()
                .map(|s| parse("contacts", "ticket_id", s))
                .transpose()?,
            follow_up: row.follow_up != 0,
            last_error: row.last_error,
            received_at: row.received_at,
            delivered_at: row.delivered_at,
        })
    }
}

/// A row of `conversations`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ConversationRow {
    channel: String,
    customer: String,
    side: String,
    ticket_id: String,
    contact_id: i64,
    updated_at: DateTime<Utc>,
}

impl TryFrom<ConversationRow> for Conversation {
    type Error = StoreError;
    fn try_from(row: ConversationRow) -> Result<Self, Self::Error> {
        Ok(Conversation {
            channel: row.channel,
            customer: row.customer,
            side: parse("conversations", "side", &row.side)?,
            ticket_id: parse("conversations", "ticket_id", &row.ticket_id)?,
            contact_id: ContactId(row.contact_id),
            updated_at: row.updated_at,
        })
    }
}

/// A row of `kpi_tickets`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct KpiTicketRow {
    side: String,
    ticket_id: String,
    channel: String,
    group_id: Option<String>,
    assignee_id: Option<String>,
    priority_rank: Option<i64>,
    created_us: i64,
    first_reply_us: Option<i64>,
    agent_replies: i64,
    solved_us: Option<i64>,
    reopened: i64,
    priority_raised: i64,
    reassigned: i64,
    satisfaction: Option<i64>,
}

impl TryFrom<KpiTicketRow> for crate::kpi::TicketFacts {
    type Error = StoreError;
    fn try_from(row: KpiTicketRow) -> Result<Self, Self::Error> {
        const T: &str = "kpi_tickets";
        let time = |column, us: Option<i64>| us.map(|us| micros(T, column, us)).transpose();
        let satisfaction = row
            .satisfaction
            .map(|s| {
                u8::try_from(s)
                    .ok()
                    .filter(|s| (1..=5).contains(s))
                    .ok_or_else(|| corrupt(T, "satisfaction", format!("{s} is not 1 to 5")))
            })
            .transpose()?;
        Ok(crate::kpi::TicketFacts {
            reading: crate::kpi::TicketReading {
                side: parse(T, "side", &row.side)?,
                ticket: parse(T, "ticket_id", &row.ticket_id)?,
                channel: row.channel,
                group: row.group_id,
                assignee: row.assignee_id,
                priority_rank: row.priority_rank,
                created_at: micros(T, "created_us", row.created_us)?,
                first_reply_at: time("first_reply_us", row.first_reply_us)?,
                agent_replies: Some(row.agent_replies),
                solved_at: time("solved_us", row.solved_us)?,
            },
            reopened: row.reopened,
            priority_raised: row.priority_raised != 0,
            reassigned: row.reassigned != 0,
            satisfaction,
        })
    }
}
