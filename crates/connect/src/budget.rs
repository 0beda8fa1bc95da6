//! The rate budget: one per connector, shared by every request of it (through an `Arc`), so
//! several workers together stay inside the platform's limit and still use nearly all of it.
//!
//! The arithmetic lives in [`Pacer`], a pure state machine driven by explicit instants (tested
//! without clocks); [`RateBudget`] wraps it in a mutex and sleeps on tokio's clock.
//!
//! How it paces:
//! - **Nominal rate**: `limit_per_minute × share` requests a minute, spaced evenly (a GCRA leaky
//!   bucket with a small burst). The limit starts at the plan's figure and follows the platform's
//!   headers (`X-Rate-Limit` on Zendesk, `X-RateLimit-Total` on Freshdesk).
//! - **Brake**: when the platform says fewer requests remain in its window than the share of the
//!   limit we leave to others (`X-Rate-Limit-Remaining`, `X-RateLimit-Remaining`), everyone waits
//!   for the window to reset (Zendesk's `ratelimit-reset`) or a few intervals when it is not told.
//! - **Throttle**: a 429 pauses every worker until its `Retry-After` has passed.
//! - **Lanes**: endpoints with their own, lower limit (Zendesk's incremental exports: 10 a minute)
//!   get a lane paced on its own; a request in a lane waits for the lane, then for the account.
//! - **Yield to live work**: a backfill or verify running beside the bridge (another process,
//!   same account) is told how many requests a minute the bridge claims ([`RateBudget::yield_to`])
//!   and paces at its target less that claim (never below a twentieth of it), braking that much
//!   earlier in the platform's window, so live changes go first.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

/// The figures a budget starts from: usually the plan's.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetConfig {
    /// The account's limit, in requests a minute, until the platform's headers say otherwise.
    pub requests_per_minute: u32,
    /// The share of the limit cutover may use, in (0, 1]; the rest is left to other integrations.
    pub share: f64,
    /// How many requests may go back to back after an idle spell (1 = strictly even spacing).
    pub burst: u32,
    /// How long to pause on a 429 that carries no `Retry-After`.
    pub default_retry_after: Duration,
    /// Endpoints with limits of their own, by lane name, in requests a minute.
    pub lanes: BTreeMap<String, u32>,
}

impl BudgetConfig {
    /// A budget of `requests_per_minute × share`, strictly even, with no lanes.
    pub fn new(requests_per_minute: u32, share: f64) -> Self {
        BudgetConfig {
            requests_per_minute,
            share,
            burst: 1,
            default_retry_after: Duration::from_secs(5),
            lanes: BTreeMap::new(),
        }
    }

    /// Adds a lane: an endpoint group with a limit of its own.
    pub fn with_lane(mut self, name: impl Into<String>, requests_per_minute: u32) -> Self {
        self.lanes.insert(name.into(), requests_per_minute);
        self
    }

    fn clamped_share(&self) -> f64 {
        if self.share.is_finite() && self.share > 0.0 {
            self.share.min(1.0)
        } else {
            1.0
        }
    }
}

/// What the platform said about its limit in one response's headers.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RateHeaders {
    /// The limit a minute (`X-Rate-Limit`, `X-RateLimit-Total`).
    pub limit: Option<u32>,
    /// How many requests remain in the current window.
    pub remaining: Option<u32>,
    /// Seconds until the window resets, when the platform says (`ratelimit-reset`).
    pub reset: Option<Duration>,
}

impl RateHeaders {
    /// Reads the rate-limit headers of either platform (names are case-insensitive).
    pub fn from_headers(headers: &reqwest::header::HeaderMap) -> Self {
        let number = |names: &[&str]| -> Option<u32> {
            names.iter().find_map(|name| {
                headers
                    .get(*name)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse().ok())
            })
        };
        RateHeaders {
            limit: number(&[
                "x-rate-limit",
                "x-ratelimit-total",
                "ratelimit-limit",
                "rate-limit",
            ]),
            remaining: number(&[
                "x-rate-limit-remaining",
                "x-ratelimit-remaining",
                "ratelimit-remaining",
                "rate-limit-remaining",
            ]),
            reset: number(&["ratelimit-reset", "rate-limit-reset"])
                .map(|secs| Duration::from_secs(u64::from(secs))),
        }
    }
}

/// Counters of a budget since it was made: what a benchmark or a metrics exporter reads.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BudgetStats {
    /// Requests let through.
    pub requests: u64,
    /// 429 answers received.
    pub throttled: u64,
    /// Times the brake stopped everyone because the window was nearly used up.
    pub braked: u64,
    /// The limit a minute currently believed.
    pub limit_per_minute: u32,
    /// The rate currently aimed at, in requests a minute.
    pub target_per_minute: f64,
    /// Requests a minute left to live work in another process (see [`RateBudget::yield_to`]).
    pub yielded_per_minute: f64,
}

/// One leaky bucket: the spacing of requests at a rate, with a burst tolerance.
#[derive(Debug, Clone)]
struct Bucket {
    /// The time at which the bucket is empty again (GCRA's theoretical arrival time).
    tat: Option<Instant>,
    interval: Duration,
    /// The rate a lane aims at before anything is yielded, in requests a minute.
    rate: f64,
    /// Requests booked in this bucket so far (counted for lanes).
    booked: u64,
    burst: u32,
    paused_until: Option<Instant>,
}

impl Bucket {
    fn new(per_minute: f64, burst: u32) -> Self {
        Bucket {
            tat: None,
            interval: interval_for(per_minute),
            rate: per_minute,
            booked: 0,
            burst: burst.max(1),
            paused_until: None,
        }
    }

    /// Books the next slot at or after `now` and returns it.
    fn reserve(&mut self, now: Instant) -> Instant {
        let tolerance = self.interval * (self.burst - 1);
        let tat = self.tat.map_or(now, |t| t.max(now));
        let mut slot = tat.checked_sub(tolerance).map_or(now, |t| t.max(now));
        if let Some(paused) = self.paused_until {
            slot = slot.max(paused);
        }
        self.tat = Some(tat.max(slot) + self.interval);
        slot
    }

    fn pause_until(&mut self, until: Instant) {
        self.paused_until = Some(self.paused_until.map_or(until, |p| p.max(until)));
        // No burst saved up during a pause: the window that threw us out starts afresh.
        self.tat = Some(self.tat.map_or(until, |t| t.max(until)));
    }
}

fn interval_for(per_minute: f64) -> Duration {
    let per_minute = if per_minute.is_finite() && per_minute > 0.0 {
        per_minute
    } else {
        1.0
    };
    Duration::from_secs_f64(60.0 / per_minute)
}

/// The pure arithmetic of a budget: feed it instants and headers, it says when to go.
#[derive(Debug, Clone)]
pub struct Pacer {
    config: BudgetConfig,
    limit: u32,
    account: Bucket,
    lanes: BTreeMap<String, Bucket>,
    stats: BudgetStats,
}

impl Pacer {
    /// A pacer at the configured rate.
    pub fn new(config: BudgetConfig) -> Self {
        let limit = config.requests_per_minute.max(1);
        let share = config.clamped_share();
        let account = Bucket::new(f64::from(limit) * share, config.burst);
        let lanes = config
            .lanes
            .iter()
            .map(|(name, rpm)| {
                (
                    name.clone(),
                    Bucket::new(f64::from((*rpm).max(1)) * share, 1),
                )
            })
            .collect();
        let stats = BudgetStats {
            limit_per_minute: limit,
            target_per_minute: f64::from(limit) * share,
            ..BudgetStats::default()
        };
        Pacer {
            config,
            limit,
            account,
            lanes,
            stats,
        }
    }

    /// Books a slot in `lane` (if it has one) at or after `now`: when the lane lets it go.
    pub fn reserve_lane(&mut self, lane: &str, now: Instant) -> Option<Instant> {
        self.lanes.get_mut(lane).map(|bucket| {
            bucket.booked += 1;
            bucket.reserve(now)
        })
    }

    /// Every lane: its name, the requests booked in it so far, and the rate it aims at before
    /// anything is yielded (requests a minute).
    pub fn lanes(&self) -> Vec<(String, u64, f64)> {
        self.lanes
            .iter()
            .map(|(name, bucket)| (name.clone(), bucket.booked, bucket.rate))
            .collect()
    }

    /// Leaves `per_minute` requests a minute of `lane` to live work elsewhere (0: none), never
    /// below a twentieth of the lane's rate. An unknown lane is ignored.
    pub fn yield_lane(&mut self, lane: &str, per_minute: f64) {
        if let Some(bucket) = self.lanes.get_mut(lane) {
            let per_minute = if per_minute.is_finite() {
                per_minute.max(0.0)
            } else {
                0.0
            };
            bucket.interval = interval_for((bucket.rate - per_minute).max(bucket.rate / 20.0));
        }
    }

    /// Books the next account-wide slot at or after `now` and counts the request.
    pub fn reserve(&mut self, now: Instant) -> Instant {
        self.stats.requests += 1;
        self.account.reserve(now)
    }

    /// Until when everyone must wait (a 429 or the brake), if that is later than `now`.
    pub fn paused_until(&self, lane: Option<&str>, now: Instant) -> Option<Instant> {
        let lane_pause = lane
            .and_then(|l| self.lanes.get(l))
            .and_then(|b| b.paused_until);
        [self.account.paused_until, lane_pause]
            .into_iter()
            .flatten()
            .filter(|p| *p > now)
            .max()
    }

    /// Learns from a response's rate-limit headers.
    pub fn observe(&mut self, headers: &RateHeaders, now: Instant) {
        if let Some(limit) = headers.limit.filter(|l| *l > 0 && *l != self.limit) {
            self.limit = limit;
            self.stats.limit_per_minute = limit;
            self.retarget();
        }
        let Some(remaining) = headers.remaining else {
            return;
        };
        if remaining > self.floor() {
            return;
        }
        // What is left of the window belongs to others (or to nobody): wait for the next one.
        let wait = headers
            .reset
            .unwrap_or(self.account.interval * 4)
            .max(self.account.interval);
        self.account.pause_until(now + wait);
        self.stats.braked += 1;
    }

    /// Leaves `per_minute` requests a minute of this budget to live work elsewhere (0: none).
    pub fn yield_to(&mut self, per_minute: f64) {
        let per_minute = if per_minute.is_finite() {
            per_minute.max(0.0)
        } else {
            0.0
        };
        if (per_minute - self.stats.yielded_per_minute).abs() > f64::EPSILON {
            self.stats.yielded_per_minute = per_minute;
            self.retarget();
        }
    }

    /// The rate aimed at: the share of the limit, less what is yielded to live work, never below
    /// a twentieth of the share (work beside the bridge still moves).
    fn retarget(&mut self) {
        let share = f64::from(self.limit) * self.config.clamped_share();
        let target = (share - self.stats.yielded_per_minute).max(share / 20.0);
        self.account.interval = interval_for(target);
        self.stats.target_per_minute = target;
    }

    /// Takes a 429: everyone in the lane (or account-wide) waits out `retry_after`.
    pub fn throttled(&mut self, lane: Option<&str>, retry_after: Option<Duration>, now: Instant) {
        self.stats.throttled += 1;
        let until = now + retry_after.unwrap_or(self.config.default_retry_after);
        match lane.and_then(|l| self.lanes.get_mut(l)) {
            Some(bucket) => bucket.pause_until(until),
            None => self.account.pause_until(until),
        }
    }

    /// The remaining count at or below which the brake stops us: the share left to others, what
    /// is yielded to live work, and one request so a window is never run to zero by concurrent
    /// requests still in flight.
    fn floor(&self) -> u32 {
        let reserve = f64::from(self.limit) * (1.0 - self.config.clamped_share())
            + self.stats.yielded_per_minute.min(f64::from(self.limit));
        (reserve.ceil() as u32).saturating_add(1)
    }

    /// The counters so far.
    pub fn stats(&self) -> BudgetStats {
        self.stats
    }
}

/// A connector's rate budget, shared by all its requests. See the module docs.
#[derive(Debug)]
pub struct RateBudget {
    pacer: Mutex<Pacer>,
}

impl RateBudget {
    /// A budget from its starting figures.
    pub fn new(config: BudgetConfig) -> Self {
        RateBudget {
            pacer: Mutex::new(Pacer::new(config)),
        }
    }

    fn pacer(&self) -> MutexGuard<'_, Pacer> {
        // The pacer holds plain numbers; a panic elsewhere cannot leave them half-updated.
        self.pacer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits until a request (in `lane`, if any) may go, then returns.
    pub async fn acquire(&self, lane: Option<&str>) {
        if let Some(lane) = lane {
            let slot = self.pacer().reserve_lane(lane, Instant::now());
            if let Some(slot) = slot {
                tokio::time::sleep_until(slot).await;
            }
            self.wait_out_pauses(Some(lane)).await;
        }
        let slot = self.pacer().reserve(Instant::now());
        tokio::time::sleep_until(slot).await;
        self.wait_out_pauses(lane).await;
    }

    async fn wait_out_pauses(&self, lane: Option<&str>) {
        loop {
            let paused = self.pacer().paused_until(lane, Instant::now());
            match paused {
                Some(until) => tokio::time::sleep_until(until).await,
                None => return,
            }
        }
    }

    /// Learns from a response's rate-limit headers.
    pub fn observe(&self, headers: &RateHeaders) {
        self.pacer().observe(headers, Instant::now());
    }

    /// Takes a 429: every worker waits out `retry_after`.
    pub fn throttled(&self, lane: Option<&str>, retry_after: Option<Duration>) {
        self.pacer().throttled(lane, retry_after, Instant::now());
    }

    /// The counters so far.
    pub fn stats(&self) -> BudgetStats {
        self.pacer().stats()
    }

    /// Leaves `per_minute` requests a minute to live work in another process (the bridge of
    /// `cutover serve` on the same account): this budget paces that much slower and brakes that
    /// much earlier in the platform's window. 0 takes the whole share again.
    pub fn yield_to(&self, per_minute: f64) {
        self.pacer().yield_to(per_minute);
    }

    /// Every lane: name, requests booked so far, and its rate before yielding (a minute).
    pub fn lanes(&self) -> Vec<(String, u64, f64)> {
        self.pacer().lanes()
    }

    /// Leaves `per_minute` requests a minute of `lane` (e.g. Zendesk's incremental exports) to
    /// live work in another process; 0 takes the whole lane again.
    pub fn yield_lane(&self, lane: &str, per_minute: f64) {
        self.pacer().yield_lane(lane, per_minute);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_lane_counts_its_requests_and_slows_down_for_what_it_yields() {
        let start = Instant::now();
        let mut pacer = Pacer::new(BudgetConfig::new(600, 1.0).with_lane("export", 10));
        let first = pacer.reserve_lane("export", start);
        let second = pacer.reserve_lane("export", start);
        assert_eq!(first, Some(start));
        assert_eq!(second, Some(start + Duration::from_secs(6)));
        assert_eq!(pacer.lanes(), vec![("export".to_owned(), 2, 10.0)]);
        // The bridge claims 8 of the lane's 10 a minute: 2 are left, one every 30 s.
        pacer.yield_lane("export", 8.0);
        let third = pacer.reserve_lane("export", start);
        let fourth = pacer.reserve_lane("export", start);
        assert_eq!(
            fourth.zip(third).map(|(b, a)| b - a),
            Some(Duration::from_secs(30))
        );
        // Never below a twentieth of the lane: work beside the bridge still moves.
        pacer.yield_lane("export", 50.0);
        let fifth = pacer.reserve_lane("export", start);
        let sixth = pacer.reserve_lane("export", start);
        assert_eq!(
            sixth.zip(fifth).map(|(b, a)| b - a),
            Some(Duration::from_secs(120))
        );
        // Nothing yielded: the whole lane again.
        pacer.yield_lane("export", 0.0);
        let a = pacer.reserve_lane("export", start);
        let b = pacer.reserve_lane("export", start);
        assert_eq!(b.zip(a).map(|(b, a)| b - a), Some(Duration::from_secs(6)));
    }

    fn slots(pacer: &mut Pacer, start: Instant, n: usize) -> Vec<Instant> {
        (0..n).map(|_| pacer.reserve(start)).collect()
    }

    #[test]
    fn requests_are_spaced_evenly_at_the_share_of_the_limit() {
        let start = Instant::now();
        let mut pacer = Pacer::new(BudgetConfig::new(600, 0.5));
        let booked = slots(&mut pacer, start, 4);
        assert_eq!(booked[0], start);
        assert_eq!(booked[1] - booked[0], Duration::from_millis(200));
        assert_eq!(booked[3] - booked[0], Duration::from_millis(600));
        assert_eq!(pacer.stats().requests, 4);
    }

    #[test]
    fn headers_move_the_limit() {
        let start = Instant::now();
        let mut pacer = Pacer::new(BudgetConfig::new(60, 1.0));
        pacer.observe(
            &RateHeaders {
                limit: Some(600),
                remaining: Some(500),
                reset: None,
            },
            start,
        );
        let booked = slots(&mut pacer, start, 3);
        assert_eq!(booked[2] - booked[1], Duration::from_millis(100));
        assert_eq!(pacer.stats().limit_per_minute, 600);
    }

    #[test]
    fn the_brake_waits_for_the_window_reset() {
        let start = Instant::now();
        let mut pacer = Pacer::new(BudgetConfig::new(100, 0.9));
        // 10 of 100 are left to others, plus one in flight: 11 remaining means stop.
        let nearly_out = RateHeaders {
            limit: Some(100),
            remaining: Some(11),
            reset: Some(Duration::from_secs(7)),
        };
        pacer.observe(&nearly_out, start);
        assert_eq!(
            pacer.paused_until(None, start),
            Some(start + Duration::from_secs(7))
        );
        assert!(pacer.reserve(start) >= start + Duration::from_secs(7));
        assert_eq!(pacer.stats().braked, 1);
        let plenty = RateHeaders {
            remaining: Some(12),
            ..nearly_out
        };
        let mut fresh = Pacer::new(BudgetConfig::new(100, 0.9));
        fresh.observe(&plenty, start);
        assert_eq!(fresh.paused_until(None, start), None);
    }

    #[test]
    fn a_throttle_pauses_everyone_or_only_its_lane() {
        let start = Instant::now();
        let config = BudgetConfig::new(600, 1.0).with_lane("incremental", 10);
        let mut pacer = Pacer::new(config);
        pacer.throttled(Some("incremental"), Some(Duration::from_secs(30)), start);
        assert_eq!(pacer.paused_until(None, start), None);
        assert_eq!(
            pacer.paused_until(Some("incremental"), start),
            Some(start + Duration::from_secs(30))
        );
        pacer.throttled(None, None, start);
        assert_eq!(
            pacer.paused_until(None, start),
            Some(start + Duration::from_secs(5))
        );
        assert_eq!(pacer.stats().throttled, 2);
    }

    #[test]
    fn yielding_to_live_work_slows_the_pace_and_brakes_earlier() {
        let start = Instant::now();
        let mut pacer = Pacer::new(BudgetConfig::new(600, 1.0));
        pacer.yield_to(300.0);
        let booked = slots(&mut pacer, start, 3);
        assert_eq!(booked[1] - booked[0], Duration::from_millis(200));
        assert_eq!(pacer.stats().target_per_minute, 300.0);
        assert_eq!(pacer.stats().yielded_per_minute, 300.0);
        // The platform's window: 300 left would do for us alone, not with the bridge's 300.
        let headers = RateHeaders {
            limit: Some(600),
            remaining: Some(300),
            reset: Some(Duration::from_secs(9)),
        };
        pacer.observe(&headers, start);
        assert_eq!(
            pacer.paused_until(None, start),
            Some(start + Duration::from_secs(9))
        );
        // A claim above the whole share leaves a twentieth; none gives it all back.
        pacer.yield_to(10_000.0);
        assert_eq!(pacer.stats().target_per_minute, 30.0);
        pacer.yield_to(0.0);
        assert_eq!(pacer.stats().target_per_minute, 600.0);
        let later = start + Duration::from_secs(10);
        let a = pacer.reserve(later);
        let b = pacer.reserve(later);
        assert_eq!(b - a, Duration::from_millis(100));
        pacer.yield_to(f64::NAN);
        assert_eq!(pacer.stats().yielded_per_minute, 0.0);
    }

    #[test]
    fn lanes_pace_on_their_own() {
        let start = Instant::now();
        let mut pacer = Pacer::new(BudgetConfig::new(600, 1.0).with_lane("incremental", 10));
        let first = pacer.reserve_lane("incremental", start);
        let second = pacer.reserve_lane("incremental", start);
        assert_eq!(first, Some(start));
        assert_eq!(second, Some(start + Duration::from_secs(6)));
        assert_eq!(pacer.reserve_lane("unknown", start), None);
    }

    #[test]
    fn a_burst_lets_a_few_go_at_once_after_idling() {
        let start = Instant::now();
        let mut config = BudgetConfig::new(60, 1.0);
        config.burst = 3;
        let mut pacer = Pacer::new(config);
        let booked = slots(&mut pacer, start, 4);
        assert_eq!(&booked[..3], &[start, start, start]);
        assert_eq!(booked[3], start + Duration::from_secs(1));
    }

    #[test]
    fn the_headers_of_both_platforms_are_read() {
        use reqwest::header::{HeaderMap, HeaderValue};
        let mut zendesk = HeaderMap::new();
        zendesk.insert("x-rate-limit", HeaderValue::from_static("700"));
        zendesk.insert("x-rate-limit-remaining", HeaderValue::from_static("699"));
        zendesk.insert("ratelimit-reset", HeaderValue::from_static("8"));
        let read = RateHeaders::from_headers(&zendesk);
        assert_eq!(
            read,
            RateHeaders {
                limit: Some(700),
                remaining: Some(699),
                reset: Some(Duration::from_secs(8))
            }
        );
        let mut freshdesk = HeaderMap::new();
        freshdesk.insert("X-RateLimit-Total", HeaderValue::from_static("200"));
        freshdesk.insert("X-RateLimit-Remaining", HeaderValue::from_static("3"));
        let read = RateHeaders::from_headers(&freshdesk);
        assert_eq!(
            read,
            RateHeaders {
                limit: Some(200),
                remaining: Some(3),
                reset: None
            }
        );
    }

    proptest! {
        /// Over any minute, the pacer lets through at most the target (plus the burst) and, when
        /// requests keep coming, at least 95 % of it.
        #[test]
        fn a_minute_holds_the_target_and_no_more(
            limit in 10u32..3000,
            share_pct in 10u32..=100,
            burst in 1u32..5,
        ) {
            let start = Instant::now();
            let share = f64::from(share_pct) / 100.0;
            let mut config = BudgetConfig::new(limit, share);
            config.burst = burst;
            let mut pacer = Pacer::new(config);
            let target = f64::from(limit) * share;
            let n = (target * 2.0).ceil() as usize + 2;
            let booked = slots(&mut pacer, start, n);
            for pair in booked.windows(2) {
                prop_assert!(pair[0] <= pair[1]);
            }
            let in_first_minute = booked.iter().filter(|s| **s < start + Duration::from_secs(60)).count();
            prop_assert!(in_first_minute as f64 <= target + f64::from(burst) + 1.0,
                "{in_first_minute} > {target} + {burst}");
            prop_assert!(in_first_minute as f64 >= target * 0.95, "{in_first_minute} < 95% of {target}");
        }

        /// Nothing is ever booked before a pause ends.
        #[test]
        fn nothing_goes_during_a_pause(retry_after_ms in 1u64..120_000, n in 1usize..50) {
            let start = Instant::now();
            let mut pacer = Pacer::new(BudgetConfig::new(700, 1.0));
            pacer.throttled(None, Some(Duration::from_millis(retry_after_ms)), start);
            for slot in slots(&mut pacer, start, n) {
                prop_assert!(slot >= start + Duration::from_millis(retry_after_ms));
            }
        }
    }
}
