//! Live work first: one platform's rate budget shared by the bridge, the backfill and verify.
//!
//! `cutover serve` runs the bridge; a backfill or a verify run beside it is another process on
//! the same accounts, so the platform's limit is theirs together. The bridge *claims* what it
//! needs of each side's budget ([`claim`]): every few seconds it writes to the store (run state
//! `live:claim:{side}`) the requests a minute it used over the last minute, with headroom for a
//! burst of changes and never less than a floor of its target, valid for a short while (a
//! `serve` killed stops claiming when its claim runs out). A backfill or verify *follows* the
//! claims ([`follow`]): its budget for that side paces at its target less the claim and brakes
//! that much earlier in the platform's window (`RateBudget::yield_to`), so the bridge's lag does
//! not grow because a backfill or verify started beside it. Lanes with a limit of their own
//! (Zendesk's incremental exports, 10 a minute) are claimed and yielded the same way, each on
//! its own (`LiveClaim::lanes`, `RateBudget::yield_lane`): a verify's exports beside the bridge
//! go at what the bridge leaves of the lane.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use cutover_connect::RateBudget;
use cutover_model::Side;
use cutover_store::Store;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::error::EngineError;

/// How the bridge claims and how others follow.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LiveConfig {
    /// How often a claim is written and read.
    pub every: Duration,
    /// How long a claim holds once written.
    pub valid_for: Duration,
    /// The window the bridge's use is measured over.
    pub window: Duration,
    /// The claim over the use measured (room for a burst of changes).
    pub headroom: f64,
    /// The least claimed, as a part of the bridge's own target rate: changes may come at once.
    pub floor: f64,
    /// The most claimed, as a part of the bridge's target: work beside it still moves.
    pub ceiling: f64,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            every: Duration::from_secs(5),
            valid_for: Duration::from_secs(20),
            window: Duration::from_secs(60),
            headroom: 1.5,
            floor: 0.25,
            ceiling: 0.9,
        }
    }
}

/// What the bridge claims of one side's budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveClaim {
    /// Requests a minute others leave to the bridge.
    pub per_minute: f64,
    /// Requests a minute the bridge used over the last window.
    pub used_per_minute: f64,
    /// Until when the claim holds, unless written again.
    pub until: DateTime<Utc>,
    /// What others leave to the bridge of each lane with a limit of its own (Zendesk's
    /// incremental exports: 10 a minute), in requests a minute, by lane name.
    #[serde(default)]
    pub lanes: BTreeMap<String, f64>,
}

impl LiveClaim {
    /// Whether the claim still holds at `now`.
    pub fn holds_at(&self, now: DateTime<Utc>) -> bool {
        self.until > now && self.per_minute.is_finite() && self.per_minute > 0.0
    }
}

/// The run-state key of the bridge's claim on a side's budget.
pub fn claim_key(side: Side) -> String {
    format!("live:claim:{side}")
}

/// The claim from the bridge's use: `used` requests a minute, against its `target` a minute.
pub fn claim_for(used: f64, target: f64, config: &LiveConfig) -> f64 {
    let target = if target.is_finite() {
        target.max(0.0)
    } else {
        0.0
    };
    let used = if used.is_finite() { used.max(0.0) } else { 0.0 };
    (used * config.headroom).clamp(target * config.floor, target * config.ceiling)
}

/// The claim on `side` that holds now, if any (an unreadable one holds nothing).
pub async fn current(store: &dyn Store, side: Side) -> Result<Option<LiveClaim>, EngineError> {
    let Some(value) = store.run_state(&claim_key(side)).await? else {
        return Ok(None);
    };
    Ok(serde_json::from_value::<LiveClaim>(value)
        .ok()
        .filter(|claim| claim.holds_at(Utc::now())))
}

/// The requests a budget let through over a sliding window.
#[derive(Debug, Default)]
struct UseMeter {
    samples: VecDeque<(Instant, u64)>,
}

impl UseMeter {
    /// Takes a sample of the budget's counter; returns the use a minute over `window` (scaled up
    /// while less than a window has passed).
    fn sample(&mut self, now: Instant, requests: u64, window: Duration) -> f64 {
        self.samples.push_back((now, requests));
        while self
            .samples
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) > window)
        {
            self.samples.pop_front();
        }
        let Some((first_at, first)) = self.samples.front().copied() else {
            return 0.0;
        };
        let span = now.duration_since(first_at).as_secs_f64();
        if span < 1.0 {
            return 0.0;
        }
        requests.saturating_sub(first) as f64 * 60.0 / span
    }
}

/// Claims, for as long as `shutdown` is not cancelled, what the bridge needs of each side's
/// budget; removes the claims when it ends. A store that fails is logged and tried again.
pub async fn claim(
    store: Arc<dyn Store>,
    budgets: Vec<(Side, Arc<RateBudget>)>,
    config: LiveConfig,
    shutdown: CancellationToken,
) {
    let mut meters: Vec<UseMeter> = budgets.iter().map(|_| UseMeter::default()).collect();
    let mut lane_meters: Vec<BTreeMap<String, UseMeter>> =
        budgets.iter().map(|_| BTreeMap::new()).collect();
    let valid_for = chrono::Duration::from_std(config.valid_for).unwrap_or(chrono::Duration::MAX);
    loop {
        let now = Instant::now();
        for (((side, budget), meter), lane_meter) in budgets
            .iter()
            .zip(meters.iter_mut())
            .zip(lane_meters.iter_mut())
        {
            let stats = budget.stats();
            let used = meter.sample(now, stats.requests, config.window);
            let lanes = budget
                .lanes()
                .into_iter()
                .map(|(lane, booked, rate)| {
                    let used = lane_meter.entry(lane.clone()).or_default().sample(
                        now,
                        booked,
                        config.window,
                    );
                    (lane, claim_for(used, rate, &config))
                })
                .collect();
            let claim = LiveClaim {
                per_minute: claim_for(used, stats.target_per_minute, &config),
                used_per_minute: used,
                until: Utc::now() + valid_for,
                lanes,
            };
            let written = match serde_json::to_value(&claim) {
                Ok(value) => store.put_run_state(&claim_key(*side), &value).await,
                Err(e) => {
                    tracing::warn!("the bridge's budget claim on the {side} side: {e}");
                    continue;
                }
            };
            if let Err(e) = written {
                tracing::warn!(
                    "could not write the bridge's budget claim on the {side} side (tried again): {e}"
                );
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(config.every) => {}
        }
    }
    for (side, _) in &budgets {
        if let Err(e) = store.delete_run_state(&claim_key(*side)).await {
            tracing::warn!("could not remove the bridge's budget claim on the {side} side: {e}");
        }
    }
}

/// Follows the bridge's claims until `stop` is cancelled: each budget yields what the bridge
/// claims of its side, and takes its whole share again when no claim holds. Says so in the log
/// when that changes. A store that fails is logged and tried again.
pub async fn follow(
    store: Arc<dyn Store>,
    budgets: Vec<(Side, Arc<RateBudget>)>,
    config: LiveConfig,
    stop: CancellationToken,
) {
    let mut yielding: Vec<bool> = budgets.iter().map(|_| false).collect();
    loop {
        for ((side, budget), was) in budgets.iter().zip(yielding.iter_mut()) {
            match current(store.as_ref(), *side).await {
                Ok(Some(claim)) => {
                    budget.yield_to(claim.per_minute);
                    for (lane, _, _) in budget.lanes() {
                        let claimed = claim.lanes.get(&lane).copied().unwrap_or(0.0);
                        budget.yield_lane(&lane, claimed);
                    }
                    if !*was {
                        tracing::info!(
                            "The bridge (cutover serve) is running: leaving it {:.0} requests a minute of the {side} side's budget, live changes first.",
                            claim.per_minute
                        );
                    }
                    *was = true;
                }
                Ok(None) => {
                    budget.yield_to(0.0);
                    for (lane, _, _) in budget.lanes() {
                        budget.yield_lane(&lane, 0.0);
                    }
                    if *was {
                        tracing::info!(
                            "The bridge's claim on the {side} side's budget has ended: using the whole share again."
                        );
                    }
                    *was = false;
                }
                Err(e) => tracing::warn!(
                    "could not read the bridge's budget claim on the {side} side (tried again): {e}"
                ),
            }
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(config.every) => {}
        }
    }
}

/// Runs `follow` in the background while `work` runs, then stops it: what a backfill or a verify
/// beside the bridge wraps itself in.
pub async fn beside_the_bridge<T>(
    store: Arc<dyn Store>,
    budgets: Vec<(Side, Arc<RateBudget>)>,
    work: impl Future<Output = T>,
) -> T {
    let stop = CancellationToken::new();
    let follower = tokio::spawn(follow(store, budgets, LiveConfig::default(), stop.clone()));
    let result = work.await;
    stop.cancel();
    let _ = follower.await;
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_claim_is_the_use_with_headroom_between_floor_and_ceiling() {
        let config = LiveConfig::default();
        assert_eq!(claim_for(100.0, 700.0, &config), 175.0);
        assert_eq!(claim_for(200.0, 700.0, &config), 300.0);
        assert_eq!(claim_for(0.0, 700.0, &config), 700.0 * 0.25);
        assert_eq!(claim_for(1000.0, 700.0, &config), 700.0 * 0.9);
        assert_eq!(claim_for(f64::NAN, 700.0, &config), 700.0 * 0.25);
        assert_eq!(claim_for(10.0, f64::INFINITY, &config), 0.0);
    }

    #[test]
    fn the_meter_measures_a_minute_and_forgets_what_is_older() {
        let start = Instant::now();
        let window = Duration::from_secs(60);
        let mut meter = UseMeter::default();
        assert_eq!(meter.sample(start, 0, window), 0.0);
        // 50 requests in 30 s: 100 a minute.
        assert_eq!(
            meter.sample(start + Duration::from_secs(30), 50, window),
            100.0
        );
        assert_eq!(
            meter.sample(start + Duration::from_secs(60), 100, window),
            100.0
        );
        // Idle for the next minute and a half: the old samples leave the window.
        assert_eq!(
            meter.sample(start + Duration::from_secs(120), 100, window),
            0.0
        );
        assert_eq!(
            meter.sample(start + Duration::from_secs(150), 100, window),
            0.0
        );
    }

    #[test]
    fn an_expired_or_empty_claim_holds_nothing() {
        let now = Utc::now();
        let claim = LiveClaim {
            per_minute: 100.0,
            used_per_minute: 60.0,
            until: now + chrono::Duration::seconds(5),
            lanes: BTreeMap::new(),
        };
        assert!(claim.holds_at(now));
        assert!(!claim.holds_at(now + chrono::Duration::seconds(6)));
        let empty = LiveClaim {
            per_minute: 0.0,
            ..claim
        };
        assert!(!empty.holds_at(now));
    }

    proptest! {
        /// Whatever the bridge used, a claim leaves work beside it a part of the target and never
        /// claims less than the floor.
        #[test]
        fn a_claim_stays_within_its_bounds(used in 0.0f64..100_000.0, target in 1.0f64..10_000.0) {
            let config = LiveConfig::default();
            let claim = claim_for(used, target, &config);
            prop_assert!(claim >= target * config.floor - 1e-9);
            prop_assert!(claim <= target * config.ceiling + 1e-9);
        }
    }
}
