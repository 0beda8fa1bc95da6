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

/// Which tickets an aggregation counts; `None` counts every one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FactFilter {
    /// Only this side's tickets.
    pub side: Option<Side>,
    /// Only this channel's.
    pub channel: Option<String>,
    /// Only this group's (by id on its side).
    pub group: Option<String>,
}

/// Durations in a bucket, as the nearest-rank percentiles the KPIs use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Percentiles {
    /// How many durations there are.
    pub n: u64,
    /// The median (nearest rank: the `ceil(n / 2)`-th smallest), in whole seconds.
    pub p50_secs: Option<i64>,
    /// The 90th percentile (the `ceil(9 n / 10)`-th smallest), in whole seconds.
    pub p90_secs: Option<i64>,
}

/// What the KPIs need of the tickets of one bucket of time `[start, start + length)`: counts
/// and percentiles, never the tickets themselves. Durations are whole seconds, truncated
/// towards zero.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KpiBucket {
    /// Tickets created in it.
    pub created: u64,
    /// Of those, the ones with a raised priority or a changed group.
    pub escalated: u64,
    /// Of those, the times from creation to the first reply (of the ones replied to).
    pub first_reply: Percentiles,
    /// Tickets solved in it.
    pub solved: u64,
    /// Of those, the ones with at most one agent reply and never reopened.
    pub first_contact: u64,
    /// Of those, the ones reopened at least once.
    pub reopened: u64,
    /// Of those, the ones rated …
    pub rated: u64,
    /// … and the sum of their ratings.
    pub rating_sum: u64,
    /// Of those, the times from creation to the solution.
    pub resolution: Percentiles,
    /// Of those, the ones with an assignee …
    pub solved_assigned: u64,
    /// … and the distinct (assignee, clock hour of the solution) pairs among them.
    pub agent_hours: u64,
    /// Tickets that leave the backlog in it: solved in it (or, solved at or before their
    /// creation, created in it).
    pub left: u64,
}

/// [`KpiBucket`]s of equal length over a span, and the backlog at its start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KpiBuckets {
    /// Tickets created before the span's start and not solved by then.
    pub backlog_before: u64,
    /// One per bucket, the earliest first (empty buckets included).
    pub buckets: Vec<KpiBucket>,
}
