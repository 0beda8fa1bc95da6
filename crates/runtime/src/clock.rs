//! The monitor's clock: real time, or a simulated time that starts at a given instant and runs
//! a given number of times faster than real time (a rehearsal: hours of a wave watched in
//! minutes, over traffic whose platforms record the same simulated time, see `cutover sim
//! traffic --platform-clock`).

use chrono::{DateTime, Duration, Utc};

/// What time the monitor takes it to be. Copies share the same anchor, so a leader that takes
/// over reads the same simulated time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MonitorClock {
    /// `(real, simulated)`: the simulated time shown at a real instant; `None`: real time.
    anchor: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// Simulated seconds per real second.
    speed: f64,
}

impl Default for MonitorClock {
    fn default() -> Self {
        Self::real()
    }
}

impl MonitorClock {
    /// Real time.
    pub fn real() -> Self {
        Self {
            anchor: None,
            speed: 1.0,
        }
    }

    /// A clock showing `from` now and running `speed` times real time from there (a speed that
    /// is not a positive number counts as 1).
    pub fn simulated(from: DateTime<Utc>, speed: f64) -> Self {
        Self::anchored(Utc::now(), from, speed)
    }

    fn anchored(real: DateTime<Utc>, from: DateTime<Utc>, speed: f64) -> Self {
        let speed = if speed.is_finite() && speed > 0.0 {
            speed
        } else {
            1.0
        };
        Self {
            anchor: Some((real, from)),
            speed,
        }
    }

    /// Whether it shows simulated time.
    pub fn is_simulated(&self) -> bool {
        self.anchor.is_some()
    }

    /// The time it shows.
    pub fn now(&self) -> DateTime<Utc> {
        self.at(Utc::now())
    }

    /// The time it shows at real instant `real`.
    fn at(&self, real: DateTime<Utc>) -> DateTime<Utc> {
        match self.anchor {
            None => real,
            Some((anchor, from)) => {
                let real_ms = (real - anchor).num_milliseconds();
                #[expect(
                    clippy::cast_precision_loss,
                    clippy::cast_possible_truncation,
                    reason = "milliseconds of a rehearsal, far below 2^52"
                )]
                let sim_ms = (real_ms as f64 * self.speed) as i64;
                from + Duration::milliseconds(sim_ms)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_simulated_clock_runs_from_its_start_at_its_speed() {
        let real = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let from = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let clock = MonitorClock::anchored(real, from, 300.0);
        assert_eq!(clock.at(real), from);
        assert_eq!(
            clock.at(real + Duration::seconds(2)),
            from + Duration::minutes(10)
        );
        let bad = MonitorClock::anchored(real, from, f64::NAN);
        assert_eq!(
            bad.at(real + Duration::seconds(5)),
            from + Duration::seconds(5)
        );
        assert_eq!(MonitorClock::real().at(real), real);
        assert!(clock.is_simulated() && !MonitorClock::real().is_simulated());
    }
}
