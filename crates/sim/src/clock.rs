//! The controllable clock: every `created_at`, `updated_at`, incremental-export window and
//! webhook timestamp of an emulator comes from here, so tests can set, advance or freeze time.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Duration, SubsecRound, Utc};

/// A clock that runs with real time from an offset, or stands still when frozen.
/// Clones share one clock.
#[derive(Debug, Clone)]
pub struct Clock {
    inner: Arc<Mutex<ClockState>>,
}

#[derive(Debug)]
struct ClockState {
    offset: Duration,
    frozen: Option<DateTime<Utc>>,
}

impl Default for Clock {
    fn default() -> Self {
        Self::real()
    }
}

impl Clock {
    /// A clock showing real time.
    pub fn real() -> Self {
        Self {
            inner: Arc::new(Mutex::new(ClockState {
                offset: Duration::zero(),
                frozen: None,
            })),
        }
    }

    /// A clock that shows `at` now and runs on from there.
    pub fn starting_at(at: DateTime<Utc>) -> Self {
        let clock = Self::real();
        clock.set(at);
        clock
    }

    fn with<T>(&self, f: impl FnOnce(&mut ClockState) -> T) -> T {
        let mut state = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut state)
    }

    /// The current time, full precision.
    pub fn now(&self) -> DateTime<Utc> {
        self.with(|s| s.frozen.unwrap_or_else(|| Utc::now() + s.offset))
    }

    /// The current time truncated to whole seconds, as platforms stamp records.
    pub fn now_secs(&self) -> DateTime<Utc> {
        self.now().trunc_subsecs(0)
    }

    /// Jumps to `at` (and stays frozen there if the clock is frozen).
    pub fn set(&self, at: DateTime<Utc>) {
        self.with(|s| match s.frozen {
            Some(_) => s.frozen = Some(at),
            None => s.offset = at - Utc::now(),
        });
    }

    /// Moves the clock forwards (or backwards with a negative duration).
    pub fn advance(&self, by: Duration) {
        let now = self.now();
        self.set(now + by);
    }

    /// Stops the clock at the current time until [`Clock::unfreeze`].
    pub fn freeze(&self) {
        let now = self.now();
        self.with(|s| s.frozen = Some(now));
    }

    /// Lets a frozen clock run again from where it stood.
    pub fn unfreeze(&self) {
        self.with(|s| {
            if let Some(at) = s.frozen.take() {
                s.offset = at - Utc::now();
            }
        });
    }

    /// Whether the clock stands still.
    pub fn is_frozen(&self) -> bool {
        self.with(|s| s.frozen.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frozen_clock_moves_only_when_told() {
        let at = DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z")
            .unwrap()
            .to_utc();
        let clock = Clock::starting_at(at);
        clock.freeze();
        let frozen = clock.now();
        assert!(frozen - at < Duration::seconds(5));
        assert_eq!(clock.now(), frozen);
        clock.advance(Duration::seconds(90));
        assert_eq!(clock.now(), frozen + Duration::seconds(90));
        clock.set(at);
        assert_eq!(clock.now(), at);
        clock.unfreeze();
        assert!(!clock.is_frozen());
        assert!(clock.now() >= at);
    }

    #[test]
    fn set_moves_a_running_clock() {
        let at = DateTime::parse_from_rfc3339("2020-05-05T10:00:00Z")
            .unwrap()
            .to_utc();
        let clock = Clock::real();
        clock.set(at);
        let shown = clock.now();
        assert!(shown >= at && shown - at < Duration::seconds(5));
        assert_eq!(clock.now_secs().timestamp_subsec_nanos(), 0);
    }
}
