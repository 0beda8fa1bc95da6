//! Conflicts: a field changed on both sides since the bridge last synced it, and how it was
//! resolved. Kept for people (`cutover conflicts list|show`), never read back by the bridge.

use std::fmt;

use chrono::{DateTime, Utc};
use cutover_model::{PlatformId, RecordKind, Side};

/// The id of a stored conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConflictId(pub i64);

impl fmt::Display for ConflictId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A conflict to store: one field of one linked record, both values, and the rule that chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConflict {
    /// The kind of both records.
    pub kind: RecordKind,
    /// The record's id on the old side.
    pub old_id: PlatformId,
    /// The record's id on the new side.
    pub new_id: PlatformId,
    /// The field, by its canonical name (`subject`, `status`, `tags`, …; `record` for a delete).
    pub field: String,
    /// The old side's value, as JSON text in the canonical form (the new side's vocabulary).
    pub old_value: String,
    /// The new side's value, likewise.
    pub new_value: String,
    /// The rule that decided (`later`, `old`, `new`, `delete wins`, …).
    pub rule: String,
    /// The side whose value both sides now hold.
    pub winner: Side,
    /// When it was resolved.
    pub at: DateTime<Utc>,
}

/// A conflict as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// Its id.
    pub id: ConflictId,
    /// What it says.
    pub conflict: NewConflict,
}
