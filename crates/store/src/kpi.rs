//! Per-ticket facts for the continuity monitor's KPIs: what the backfill and the bridge saw of
//! each ticket on each side, taken from canonical records. One row per side and ticket; each
//! reading updates it, and what only a sequence of readings shows (a reopening, a raised
//! priority, a change of group) is counted as it is seen.

use chrono::{DateTime, Utc};
use cutover_model::{PlatformId, Side};

/// What one reading of a ticket (with its comments, when they were read) tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketReading {
    /// The side it was read from.
    pub side: Side,
    /// Its id there.
    pub ticket: PlatformId,
    /// Its channel (`email`, `chat`, …).
    pub channel: String,
    /// Its group, by id on its side.
    pub group: Option<String>,
    /// Its assignee, by id on its side.
    pub assignee: Option<String>,
    /// The rank of its priority: 1 low, 2 normal, 3 high, 4 urgent.
    pub priority_rank: Option<i64>,
    /// When the customer first wrote.
    pub created_at: DateTime<Utc>,
    /// When someone other than the requester first replied in public, when the comments were
    /// read and held such a reply; `None` keeps what an earlier reading found.
    pub first_reply_at: Option<DateTime<Utc>>,
    /// How many public replies by someone other than the requester; `None` when the comments
    /// were not read (keeps what an earlier reading found).
    pub agent_replies: Option<i64>,
    /// When it was solved, if it is solved now.
    pub solved_at: Option<DateTime<Utc>>,
}

/// A ticket's facts as the store holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketFacts {
    /// The latest reading.
    pub reading: TicketReading,
    /// How often it was seen unsolved after being seen solved.
    pub reopened: i64,
    /// Whether its priority was ever seen raised.
    pub priority_raised: bool,
    /// Whether its group was ever seen changed.
    pub reassigned: bool,
    /// The customer's rating, 1 to 5, if any.
    pub satisfaction: Option<u8>,
}
