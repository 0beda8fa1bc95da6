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
    /// Only this channel's (the ticket's channel kind: `email`, `chat`, …).
    pub channel: Option<String>,
    /// Only this group's (by id on its side).
    pub group: Option<String>,
    /// Only the tickets of a wave (with the filters above, all of them).
    pub wave: Option<WaveTickets>,
    /// Only the gateway's contacts of these `[[channels]]` entries, by name (what
    /// `channel_availability` counts; tickets are not narrowed by it); `None`: every contact.
    pub gateway_channels: Option<Vec<String>>,
}

/// The tickets of one wave, as the store can tell them: a ticket is the wave's when its channel
/// is one of `channels` or its group one of `groups` on its side.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct WaveTickets {
    /// The wave's name, as the plan writes it.
    pub name: String,
    /// The ticket channel kinds of the wave's channels (`email`, `web_form`, …).
    pub channels: Vec<String>,
    /// The wave's groups, by id on each side.
    pub groups: Vec<(Side, String)>,
}

impl WaveTickets {
    /// Whether a ticket of `side` in `channel` and `group` is the wave's.
    pub fn keeps(&self, side: Side, channel: &str, group: Option<&str>) -> bool {
        self.channels.iter().any(|c| c == channel)
            || group.is_some_and(|g| self.groups.iter().any(|(s, id)| *s == side && id == g))
    }
}

/// A group as the backfill or the bridge last read it ([`crate::Store::kpi_groups`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct KpiGroup {
    /// Its side.
    pub side: Side,
    /// Its id there.
    pub id: PlatformId,
    /// Its name, as last read.
    pub name: String,
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

impl Percentiles {
    /// The median and 90th percentile of waits some of which have not ended yet: each entry is
    /// a duration in whole seconds and whether it ended then (`true`: the customer was answered
    /// after that long) or was still going on when the bucket ended (`false`: censored). The
    /// Kaplan-Meier product-limit estimate: at each duration at which waits end, the share
    /// still waiting is multiplied by `1 - ended / still waiting until then` (ends count
    /// before censorings at the same duration); a percentile `q` is the shortest duration at
    /// which that share falls to `1 - q` or below. When it never does (more than `1 - q` of the
    /// customers still wait), the longest wait so far: the percentile is at least that, so a
    /// window where nobody is answered reads as long as its customers have waited, not as
    /// nothing. With nothing censored it is exactly the nearest-rank percentile (the
    /// `ceil(q n)`-th smallest). `None` only without waits. Sorts `waits`.
    pub fn of_waits(waits: &mut [(i64, bool)]) -> Self {
        // Shortest first; at equal durations, ended before still going on.
        waits.sort_unstable_by_key(|&(secs, ended)| (secs, !ended));
        let n = waits.len();
        let mut out = Self {
            n: u64::try_from(n).unwrap_or(u64::MAX),
            p50_secs: None,
            p90_secs: None,
        };
        // The share still waiting. A small tolerance keeps the uncensored case on the nearest
        // rank where `q n` is a whole number (the product telescopes to `1 - k / n`).
        const TOLERANCE: f64 = 1e-9;
        let mut still = 1.0_f64;
        let mut i = 0;
        while i < n {
            let secs = waits[i].0;
            let at_risk = n - i;
            let ended = waits[i..]
                .iter()
                .take_while(|&&(s, e)| s == secs && e)
                .count();
            let same = waits[i..].iter().take_while(|&&(s, _)| s == secs).count();
            if ended > 0 {
                #[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
                let factor = (at_risk - ended) as f64 / at_risk as f64;
                still *= factor;
                if out.p50_secs.is_none() && still <= 0.5 + TOLERANCE {
                    out.p50_secs = Some(secs);
                }
                if out.p90_secs.is_none() && still <= 0.1 + TOLERANCE {
                    out.p90_secs = Some(secs);
                }
            }
            i += same.max(1);
        }
        let longest = waits.last().map(|&(secs, _)| secs);
        out.p50_secs = out.p50_secs.or(longest);
        out.p90_secs = out.p90_secs.or(longest);
        out
    }
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
    /// Of those, the waits for a first reply as of the bucket's end ([`Percentiles::of_waits`]:
    /// until the reply, or still going on for a ticket unanswered and unsolved then; a ticket
    /// solved without a reply before then is not counted).
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
    /// The monitor's API probes taken in it ([`crate::ApiProbe`]; a channel or group filter
    /// does not narrow them) …
    pub probes: u64,
    /// … of which the platform answered 2xx …
    pub probes_ok: u64,
    /// … and the nearest-rank 90th percentile of their times (the `ceil(9 n / 10)`-th
    /// smallest), in milliseconds.
    pub probe_p90_ms: Option<i64>,
    /// The gateway's contacts accepted in it whose delivery can be judged at its end: delivered
    /// (or forwarded) before then, or accepted at least [`CONTACT_DEADLINE_SECS`] before it (a
    /// group filter does not narrow them; a side filter keeps those delivered to that side, last
    /// tried on it, or not tried yet) …
    pub contacts: u64,
    /// … of which those delivered within [`CONTACT_DEADLINE_SECS`] of their acceptance and
    /// before the bucket's end.
    pub contacts_in_time: u64,
}

/// How soon after the gateway accepted a contact it must reach a platform to count as
/// available (`channel_availability`): five minutes.
pub const CONTACT_DEADLINE_SECS: i64 = 300;

/// [`KpiBucket`]s of equal length over a span, and the backlog at its start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KpiBuckets {
    /// Tickets created before the span's start and not solved by then.
    pub backlog_before: u64,
    /// One per bucket, the earliest first (empty buckets included).
    pub buckets: Vec<KpiBucket>,
}

/// How many tickets of one side and channel were created in one bucket of time
/// ([`crate::Store::kpi_created`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CreatedCount {
    /// The bucket: how many whole bucket lengths from the origin to the creation (negative
    /// before the origin).
    pub bucket: i64,
    /// The side.
    pub side: Side,
    /// The channel (`email`, `chat`, …).
    pub channel: String,
    /// How many tickets.
    pub tickets: u64,
}
