//! Dead letters: records that could not be applied, kept whole with the reason.

use std::fmt;

use chrono::{DateTime, Utc};
use cutover_model::{PlatformId, RecordKind, Side};
use serde_json::Value;

/// The id of a dead letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeadLetterId(pub i64);

impl fmt::Display for DeadLetterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A record that cannot be applied. A repeat of the same kind, side, source id and reason counts
/// one more attempt on the existing dead letter.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDeadLetter {
    /// The kind of the record.
    pub kind: RecordKind,
    /// The side it was read from.
    pub side: Side,
    /// Its id there.
    pub source_id: PlatformId,
    /// Why it cannot be applied: a short, stable text (it is what repeats are matched and lists
    /// are filtered on), e.g. `unknown status "escalated"`.
    pub reason: String,
    /// The record whole, as read (the latest copy is kept).
    pub record: Value,
}

/// A dead letter as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    /// Its id.
    pub id: DeadLetterId,
    /// The kind of the record.
    pub kind: RecordKind,
    /// The side it was read from.
    pub side: Side,
    /// Its id there.
    pub source_id: PlatformId,
    /// Why it cannot be applied.
    pub reason: String,
    /// The record whole, as last read.
    pub record: Value,
    /// How many times it failed for this reason.
    pub attempts: i64,
    /// When it first failed.
    pub first_seen: DateTime<Utc>,
    /// When it last failed.
    pub last_seen: DateTime<Utc>,
    /// When an operator last asked for a retry.
    pub retried_at: Option<DateTime<Utc>>,
}

/// Which dead letters to list: every field set narrows the list; results come in id order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterFilter {
    /// Only this kind.
    pub kind: Option<RecordKind>,
    /// Only this side.
    pub side: Option<Side>,
    /// Only this exact reason.
    pub reason: Option<String>,
    /// Only the letters of this source record (with `kind` and `side`, one record's letters).
    pub source_id: Option<PlatformId>,
    /// Only ids after this one (to page through).
    pub after: Option<DeadLetterId>,
    /// At most this many.
    pub limit: u32,
}

impl Default for DeadLetterFilter {
    fn default() -> Self {
        DeadLetterFilter {
            kind: None,
            side: None,
            reason: None,
            source_id: None,
            after: None,
            limit: 100,
        }
    }
}
