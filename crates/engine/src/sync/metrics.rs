//! What the bridge counts, per direction: changes applied, echoes suppressed, and the lag of
//! each applied change (from its time on the source platform to its commit on the other side);
//! and what the rolling re-check beside it (`recheck`) counts: records re-checked, drift found,
//! drift repaired.
//!
//! One `SyncMetrics` is shared by the bridge (which records) and the faces (which read:
//! `/metrics`, `cutover sync status` through the store's snapshot).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use cutover_model::Side;
use serde::{Deserialize, Serialize};

/// How many lag samples each direction keeps for its percentiles (the most recent ones).
const LAG_SAMPLES: usize = 10_000;

/// Lag percentiles of one direction, in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LagPercentiles {
    /// The median.
    pub p50: f64,
    /// The 95th percentile.
    pub p95: f64,
    /// The 99th percentile.
    pub p99: f64,
    /// How many samples they are taken over.
    pub samples: u64,
}

/// One direction's counters.
#[derive(Debug, Default)]
struct DirectionCounts {
    applied: u64,
    echoes: u64,
    dead_lettered: u64,
    lag: VecDeque<f64>,
}

/// Counters of both directions (`Side` is the side changes are read from), and of the rolling
/// re-check.
#[derive(Debug, Default)]
pub struct SyncMetrics {
    old: Mutex<DirectionCounts>,
    new: Mutex<DirectionCounts>,
    rechecked: AtomicU64,
    recheck_drift: AtomicU64,
    recheck_repaired: AtomicU64,
}

impl SyncMetrics {
    fn of(&self, from: Side) -> std::sync::MutexGuard<'_, DirectionCounts> {
        match from {
            Side::Old => &self.old,
            Side::New => &self.new,
        }
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A change read on `from` was written to the other side, `lag_secs` after its time.
    pub fn applied(&self, from: Side, lag_secs: Option<f64>) {
        let mut counts = self.of(from);
        counts.applied += 1;
        if let Some(lag) = lag_secs {
            if counts.lag.len() == LAG_SAMPLES {
                counts.lag.pop_front();
            }
            counts.lag.push_back(lag.max(0.0));
        }
    }

    /// A record read on `from` equals its link: the bridge's own write read back, not sent.
    pub fn echo_suppressed(&self, from: Side) {
        self.of(from).echoes += 1;
    }

    /// A record read on `from` went to the dead letters.
    pub fn dead_lettered(&self, from: Side) {
        self.of(from).dead_lettered += 1;
    }

    /// Changes read on `from` and written to the other side.
    pub fn applied_total(&self, from: Side) -> u64 {
        self.of(from).applied
    }

    /// Echoes suppressed of records read on `from`.
    pub fn echoes_total(&self, from: Side) -> u64 {
        self.of(from).echoes
    }

    /// Records read on `from` that went to the dead letters.
    pub fn dead_lettered_total(&self, from: Side) -> u64 {
        self.of(from).dead_lettered
    }

    /// A rolling re-check compared `rechecked` records, found `drift` of them newly drifting and
    /// `repaired` of those it found before equal again.
    pub fn rechecked(&self, rechecked: u64, drift: u64, repaired: u64) {
        self.rechecked.fetch_add(rechecked, Ordering::Relaxed);
        self.recheck_drift.fetch_add(drift, Ordering::Relaxed);
        self.recheck_repaired.fetch_add(repaired, Ordering::Relaxed);
    }

    /// Records the rolling re-check compared.
    pub fn rechecked_total(&self) -> u64 {
        self.rechecked.load(Ordering::Relaxed)
    }

    /// Records the rolling re-check found drifting (each once until repaired).
    pub fn recheck_drift_total(&self) -> u64 {
        self.recheck_drift.load(Ordering::Relaxed)
    }

    /// Drifting records the rolling re-check found equal again (repaired by the bridge).
    pub fn recheck_repaired_total(&self) -> u64 {
        self.recheck_repaired.load(Ordering::Relaxed)
    }

    /// The lag percentiles of changes read on `from`.
    pub fn lag(&self, from: Side) -> LagPercentiles {
        let counts = self.of(from);
        let mut samples: Vec<f64> = counts.lag.iter().copied().collect();
        percentiles(&mut samples)
    }
}

/// p50, p95 and p99 of `samples` (nearest rank); zeros when there are none.
pub fn percentiles(samples: &mut [f64]) -> LagPercentiles {
    if samples.is_empty() {
        return LagPercentiles::default();
    }
    samples.sort_by(f64::total_cmp);
    let rank = |q: f64| {
        let idx = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len()) - 1;
        samples[idx]
    };
    LagPercentiles {
        p50: rank(0.50),
        p95: rank(0.95),
        p99: rank(0.99),
        samples: samples.len() as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut samples: Vec<f64> = (1..=100).map(f64::from).collect();
        let p = percentiles(&mut samples);
        assert_eq!((p.p50, p.p95, p.p99, p.samples), (50.0, 95.0, 99.0, 100));
        assert_eq!(percentiles(&mut []), LagPercentiles::default());
    }

    #[test]
    fn directions_are_counted_apart() {
        let metrics = SyncMetrics::default();
        metrics.applied(Side::Old, Some(2.0));
        metrics.applied(Side::Old, None);
        metrics.echo_suppressed(Side::New);
        assert_eq!(metrics.applied_total(Side::Old), 2);
        assert_eq!(metrics.applied_total(Side::New), 0);
        assert_eq!(metrics.echoes_total(Side::New), 1);
        assert_eq!(metrics.lag(Side::Old).samples, 1);
        assert_eq!(metrics.lag(Side::Old).p99, 2.0);
    }
}
