//! A review's volume: the tickets created per hour (windows up to four days) or per day on
//! each side, with the mean of the same bucket in the earlier periods ([`kpi::window_baseline`]'s
//! periods: the window shifted back by whole weeks). From the ticket facts ([`of_facts`]) or
//! from the counts the store makes ([`crate::kpi_stored::volume`]); both go through
//! [`assemble`], and a test holds them equal.
//!
//! [`kpi::window_baseline`]: crate::kpi::window_baseline

use chrono::{DateTime, Duration, Utc};
use cutover_model::Side;
use cutover_store::TicketFacts;

use crate::kpi;

/// One bucket of a side's volume.
#[derive(Debug, Clone, PartialEq)]
pub struct VolumeBucket {
    /// Its start (the window's start, then each bucket length on; the last ends at the
    /// window's end).
    pub from: DateTime<Utc>,
    /// The tickets created in it.
    pub created: u64,
    /// The mean of the tickets created in the same bucket of each earlier period.
    pub baseline: f64,
}

/// A side's volume over the window.
#[derive(Debug, Clone, PartialEq)]
pub struct SideVolume {
    /// The side.
    pub side: Side,
    /// Its buckets, the earliest first.
    pub buckets: Vec<VolumeBucket>,
}

/// The volume of both sides over a window.
#[derive(Debug, Clone, PartialEq)]
pub struct Volume {
    /// The length of a bucket.
    pub bucket: Duration,
    /// The old side, then the new.
    pub sides: Vec<SideVolume>,
}

/// The length of a bucket of the volume over `[from, to)`: an hour up to four days, a day
/// beyond.
pub fn bucket_length(from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
    if to - from <= Duration::days(4) {
        Duration::hours(1)
    } else {
        Duration::days(1)
    }
}

/// How far back period `k` lies (0 is the window itself).
pub(crate) fn shift(from: DateTime<Utc>, to: DateTime<Utc>, k: u32) -> Duration {
    (from - kpi::window_baseline_start(from, to, 1)) * i32::try_from(k).unwrap_or(i32::MAX)
}

/// The volume from `created(k, side, i)`: the tickets of `side` created in bucket `i` of period
/// `k` (0 the window, 1 to `periods` the earlier ones).
pub(crate) fn assemble(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    periods: u32,
    created: impl Fn(u32, Side, usize) -> u64,
) -> Volume {
    let bucket = bucket_length(from, to);
    let sides = [Side::Old, Side::New]
        .into_iter()
        .map(|side| {
            let mut buckets = Vec::new();
            let mut start = from;
            while start < to {
                let i = buckets.len();
                let earlier: u64 = (1..=periods).map(|k| created(k, side, i)).sum();
                #[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
                let baseline = earlier as f64 / f64::from(periods.max(1));
                buckets.push(VolumeBucket {
                    from: start,
                    created: created(0, side, i),
                    baseline,
                });
                start = (start + bucket).min(to);
            }
            SideVolume { side, buckets }
        })
        .collect();
    Volume { bucket, sides }
}

/// The volume over `[from, to)` against `periods` earlier periods, from the ticket facts.
pub fn of_facts(
    facts: &[TicketFacts],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    periods: u32,
) -> Volume {
    let bucket = bucket_length(from, to);
    assemble(from, to, periods, |k, side, i| {
        let start = from + bucket * i32::try_from(i).unwrap_or(i32::MAX);
        let end = (start + bucket).min(to);
        let (a, b) = (start - shift(from, to, k), end - shift(from, to, k));
        let n = facts
            .iter()
            .filter(|f| {
                f.reading.side == side && f.reading.created_at >= a && f.reading.created_at < b
            })
            .count();
        u64::try_from(n).unwrap_or(u64::MAX)
    })
}
