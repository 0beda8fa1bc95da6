//! The daily and weekly shape of support volume, and the seeded arrival process that follows it.
//!
//! [`load`] is a piecewise-constant factor per hour of the week (UTC), normalised so that its
//! mean over the week is exactly 1: busy Monday mornings, a lunch dip, quiet nights and weekends.
//! [`Arrivals`] draws action times from a non-homogeneous Poisson process with intensity
//! `rate_per_min × load(t)` by thinning, so over a week the mean is the configured rate.

use chrono::{DateTime, Datelike, Timelike, Utc};
use rand::RngExt;
use rand::rngs::StdRng;

/// Relative volume per hour of a weekday (0:00 to 23:00).
const WEEKDAY_HOURS: [f64; 24] = [
    0.10, 0.07, 0.05, 0.05, 0.06, 0.10, 0.25, 0.55, 1.10, 1.60, 1.80, 1.70, //
    1.30, 1.45, 1.55, 1.45, 1.30, 1.10, 0.80, 0.60, 0.45, 0.35, 0.25, 0.15,
];

/// Relative volume per hour of a weekend day.
const WEEKEND_HOURS: [f64; 24] = [
    0.08, 0.05, 0.04, 0.04, 0.04, 0.05, 0.08, 0.14, 0.22, 0.30, 0.36, 0.38, //
    0.38, 0.36, 0.34, 0.32, 0.30, 0.28, 0.26, 0.24, 0.20, 0.16, 0.12, 0.10,
];

/// Relative volume per day, Monday first: the backlog of the weekend lands on Monday.
const DAY_FACTORS: [f64; 7] = [1.35, 1.10, 1.00, 0.95, 0.85, 0.55, 0.45];

fn raw(day: usize, hour: usize) -> f64 {
    let hours = if day >= 5 {
        &WEEKEND_HOURS
    } else {
        &WEEKDAY_HOURS
    };
    DAY_FACTORS[day] * hours[hour]
}

fn weekly_mean() -> f64 {
    let mut sum = 0.0;
    for day in 0..7 {
        for hour in 0..24 {
            sum += raw(day, hour);
        }
    }
    sum / 168.0
}

/// The load factor at `t`: 1.0 is the weekly mean.
pub fn load(t: DateTime<Utc>) -> f64 {
    let day = t.weekday().num_days_from_monday() as usize;
    let hour = t.hour() as usize;
    raw(day, hour) / weekly_mean()
}

/// The highest load factor of the week (the thinning bound).
pub fn peak() -> f64 {
    let mut max = 0.0_f64;
    for day in 0..7 {
        for hour in 0..24 {
            max = max.max(raw(day, hour));
        }
    }
    max / weekly_mean()
}

/// A seeded stream of action times following [`load`] scaled to a mean rate.
#[derive(Debug)]
pub struct Arrivals {
    rng: StdRng,
    /// Bound of the intensity, per second.
    max_per_sec: f64,
    /// Current simulated time, in fractional seconds since the epoch.
    now: f64,
}

impl Arrivals {
    /// Arrivals from `start` at a weekly mean of `rate_per_min` per simulated minute.
    pub fn new(rng: StdRng, start: DateTime<Utc>, rate_per_min: f64) -> Self {
        Self {
            rng,
            max_per_sec: rate_per_min.max(f64::MIN_POSITIVE) / 60.0 * peak(),
            now: start.timestamp() as f64,
        }
    }

    /// The next action time, in seconds since the epoch (fractional).
    pub fn next_time(&mut self) -> f64 {
        let peak = peak();
        loop {
            let u: f64 = self.rng.random::<f64>();
            // Exponential gap of the bounding homogeneous process.
            self.now += -(1.0 - u).ln() / self.max_per_sec;
            let accept: f64 = self.rng.random::<f64>();
            if accept * peak <= load(to_time(self.now)) {
                return self.now;
            }
        }
    }
}

/// Seconds since the epoch (fractional) to a UTC time, to the millisecond.
pub fn to_time(seconds: f64) -> DateTime<Utc> {
    let millis = (seconds * 1000.0).floor() as i64;
    DateTime::from_timestamp_millis(millis).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    #[test]
    fn monday_morning_is_busier_than_sunday_night() {
        // 2024-06-03 is a Monday, 2024-06-09 a Sunday.
        let monday = load(at("2024-06-03T10:00:00Z"));
        let sunday = load(at("2024-06-09T03:00:00Z"));
        assert!(monday > 10.0 * sunday, "monday {monday}, sunday {sunday}");
        assert!(
            monday > load(at("2024-06-07T10:00:00Z")),
            "monday beats friday"
        );
        assert!(
            load(at("2024-06-04T03:00:00Z")) < 0.2,
            "weeknights are quiet"
        );
    }

    #[test]
    fn the_weekly_mean_of_the_load_is_one() {
        let start = at("2024-06-03T00:00:00Z");
        let total: f64 = (0..168)
            .map(|h| load(start + chrono::Duration::hours(h)))
            .sum();
        assert!((total / 168.0 - 1.0).abs() < 1e-9, "mean {}", total / 168.0);
    }

    #[test]
    fn arrivals_over_a_week_match_the_rate() {
        let start = at("2024-06-03T00:00:00Z");
        let end = (start + chrono::Duration::days(7)).timestamp() as f64;
        let rate = 2.0;
        let mut arrivals = Arrivals::new(StdRng::seed_from_u64(7), start, rate);
        let mut n = 0_u32;
        let mut monday_10 = 0_u32;
        let mut sunday_03 = 0_u32;
        loop {
            let t = arrivals.next_time();
            if t >= end {
                break;
            }
            n += 1;
            let time = to_time(t);
            if time.weekday() == chrono::Weekday::Mon && time.hour() == 10 {
                monday_10 += 1;
            }
            if time.weekday() == chrono::Weekday::Sun && time.hour() == 3 {
                sunday_03 += 1;
            }
        }
        let expected = rate * 7.0 * 24.0 * 60.0;
        let ratio = f64::from(n) / expected;
        // 20160 expected; a Poisson count's standard deviation is ~142, so 3% is > 4 sigma.
        assert!(
            (ratio - 1.0).abs() < 0.03,
            "{n} actions, expected {expected}"
        );
        assert!(
            monday_10 > 10 * sunday_03.max(1),
            "{monday_10} vs {sunday_03}"
        );
    }

    #[test]
    fn arrivals_are_a_function_of_the_seed() {
        let start = at("2024-06-03T00:00:00Z");
        let times = |seed| {
            let mut a = Arrivals::new(StdRng::seed_from_u64(seed), start, 30.0);
            (0..50).map(|_| a.next_time()).collect::<Vec<_>>()
        };
        assert_eq!(times(1), times(1));
        assert_ne!(times(1), times(2));
    }
}
