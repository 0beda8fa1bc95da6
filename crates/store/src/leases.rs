//! Leases: which process leads (runs the bridge and the other work only one may do), held in the
//! store and timed by the database's clock; and the webhook hints a process that does not lead
//! passes to the one that does.

use std::fmt;

use chrono::{DateTime, Utc};
use cutover_model::{PlatformId, RecordKind, Side};

/// A lease as the store holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// What it is a lease of (`serve`).
    pub name: String,
    /// Who holds (or last held) it.
    pub holder: String,
    /// The fencing token: raised at every change of holder, and when a lapsed lease is taken
    /// again, never lowered. Work done under a lease can be told apart by it.
    pub token: i64,
    /// Since when this holder holds it without a break.
    pub since: DateTime<Utc>,
    /// When it was last taken or renewed.
    pub renewed_at: DateTime<Utc>,
    /// When it lapses unless renewed.
    pub expires_at: DateTime<Utc>,
    /// Whether it had lapsed when read (by the database's clock).
    pub expired: bool,
}

/// A record a webhook delivery named, kept for the process that runs the bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredHint {
    /// Its place in the queue: [`crate::Store::drop_hints`] removes up to it.
    pub id: HintId,
    /// The side whose delivery named it.
    pub side: Side,
    /// The record's kind.
    pub kind: RecordKind,
    /// Its id on that side.
    pub record_id: PlatformId,
}

/// The place of a stored hint in its queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HintId(pub i64);

impl fmt::Display for HintId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
