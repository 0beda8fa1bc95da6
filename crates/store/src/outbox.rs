//! The outbox: writes waiting to be sent to a side, claimed by workers under a lease.

use std::fmt;

use chrono::{DateTime, Utc};
use cutover_model::{RecordRef, Side};
use serde_json::Value;

/// The id of an outbox item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OutboxId(pub i64);

impl fmt::Display for OutboxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A write to send to a side.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOutboxItem {
    /// The side to send it to.
    pub target: Side,
    /// The record it carries, where it was read (its kind, source side and id there).
    pub record: RecordRef,
    /// What to send, in the form the engine chose (canonical record, field changes).
    pub payload: Value,
}

/// Whether an item was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutboxStatus {
    /// Not sent yet (possibly claimed by a worker whose lease runs).
    Pending,
    /// Sent and acknowledged.
    Sent,
}

impl OutboxStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Pending => "pending",
            OutboxStatus::Sent => "sent",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(OutboxStatus::Pending),
            "sent" => Some(OutboxStatus::Sent),
            _ => None,
        }
    }
}

/// An item of the outbox, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxItem {
    /// Its id: the order items were enqueued in.
    pub id: OutboxId,
    /// The side to send it to.
    pub target: Side,
    /// The record it carries.
    pub record: RecordRef,
    /// What to send.
    pub payload: Value,
    /// Sent or not.
    pub status: OutboxStatus,
    /// How many times it was claimed.
    pub attempts: i64,
    /// Until when the worker that claimed it last holds it.
    pub leased_until: Option<DateTime<Utc>>,
    /// When it was enqueued.
    pub created_at: DateTime<Utc>,
    /// When it was acknowledged.
    pub sent_at: Option<DateTime<Utc>>,
}
