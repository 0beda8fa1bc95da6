//! Live work first, through the real store: the bridge's claims on each side's budget, followed
//! by the budgets of work run beside it, and given back when the bridge stops or dies.

use std::sync::Arc;
use std::time::Duration;

use cutover_connect::{BudgetConfig, RateBudget};
use cutover_engine::live::{self, LiveConfig};
use cutover_model::Side;
use tokio_util::sync::CancellationToken;

use crate::support::store;

fn quick() -> LiveConfig {
    LiveConfig {
        every: Duration::from_millis(50),
        valid_for: Duration::from_millis(600),
        ..LiveConfig::default()
    }
}

/// Waits (up to 5 s) until `check` holds.
async fn until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..100 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("not within 5 s: {what}");
}

#[tokio::test]
async fn work_beside_the_bridge_yields_what_it_claims_and_takes_it_back_when_it_stops() {
    let (store, _dir) = store().await;
    let bridge_old = Arc::new(RateBudget::new(BudgetConfig::new(60_000, 1.0)));
    let bridge_new = Arc::new(RateBudget::new(BudgetConfig::new(60_000, 1.0)));
    let beside_old = Arc::new(RateBudget::new(BudgetConfig::new(60_000, 1.0)));
    let beside_new = Arc::new(RateBudget::new(BudgetConfig::new(60_000, 1.0)));
    // No bridge: nothing is claimed, nothing yielded.
    assert_eq!(
        live::current(store.as_ref(), Side::Old).await.unwrap(),
        None
    );

    let serve = CancellationToken::new();
    let claimer = tokio::spawn(live::claim(
        store.clone(),
        vec![
            (Side::Old, bridge_old.clone()),
            (Side::New, bridge_new.clone()),
        ],
        quick(),
        serve.clone(),
    ));
    let beside = CancellationToken::new();
    let follower = tokio::spawn(live::follow(
        store.clone(),
        vec![
            (Side::Old, beside_old.clone()),
            (Side::New, beside_new.clone()),
        ],
        quick(),
        beside.clone(),
    ));
    // The bridge is busy on the old side: 300 requests over the next second or so.
    for _ in 0..300 {
        bridge_old.acquire(None).await;
    }
    // The bridge's use is measured over at least a second.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let old = live::current(store.as_ref(), Side::Old)
        .await
        .unwrap()
        .unwrap();
    let new = live::current(store.as_ref(), Side::New)
        .await
        .unwrap()
        .unwrap();
    // Idle on the new side: the floor, a quarter of its target; busy on the old: its use and more.
    assert_eq!(new.per_minute, 15_000.0, "{new:?}");
    assert!(old.used_per_minute > 1_000.0, "{old:?}");
    assert!(old.per_minute > new.per_minute, "{old:?} vs {new:?}");
    until(
        "the work beside yields what the bridge claims",
        async || {
            beside_new.stats().yielded_per_minute == 15_000.0
                && beside_old.stats().yielded_per_minute > 15_000.0
        },
    )
    .await;
    assert_eq!(beside_new.stats().target_per_minute, 45_000.0);

    // serve stops: its claims are removed, the work beside takes its whole share again.
    serve.cancel();
    claimer.await.unwrap();
    assert_eq!(
        live::current(store.as_ref(), Side::Old).await.unwrap(),
        None
    );
    assert_eq!(
        live::current(store.as_ref(), Side::New).await.unwrap(),
        None
    );
    until("the whole share is taken again", async || {
        beside_old.stats().yielded_per_minute == 0.0
            && beside_new.stats().target_per_minute == 60_000.0
    })
    .await;
    beside.cancel();
    follower.await.unwrap();
}

#[tokio::test]
async fn a_bridge_that_dies_gives_its_claim_back_when_the_claim_runs_out() {
    let (store, _dir) = store().await;
    let bridge = Arc::new(RateBudget::new(BudgetConfig::new(600, 1.0)));
    let beside = Arc::new(RateBudget::new(BudgetConfig::new(600, 1.0)));
    let claimer = tokio::spawn(live::claim(
        store.clone(),
        vec![(Side::New, bridge)],
        quick(),
        CancellationToken::new(),
    ));
    let stop = CancellationToken::new();
    let follower = tokio::spawn(live::follow(
        store.clone(),
        vec![(Side::New, beside.clone())],
        quick(),
        stop.clone(),
    ));
    until("the claim is followed", async || {
        beside.stats().yielded_per_minute == 150.0
    })
    .await;
    // Killed: no clean-up runs, the claim stays in the store until it runs out.
    claimer.abort();
    let _ = claimer.await;
    until("the claim runs out and the share comes back", async || {
        beside.stats().yielded_per_minute == 0.0
    })
    .await;
    assert_eq!(
        live::current(store.as_ref(), Side::New).await.unwrap(),
        None
    );
    stop.cancel();
    follower.await.unwrap();
}

/// A lane with a limit of its own (Zendesk's incremental exports: 10 a minute) is claimed and
/// yielded like the account: a verify beside the bridge slows its exports by what the bridge
/// uses of them, so the two together stay within the lane's limit.
#[tokio::test]
async fn work_beside_the_bridge_yields_the_export_lane_the_bridge_uses() {
    let (store, _dir) = store().await;
    let lane = |rpm| {
        Arc::new(RateBudget::new(
            BudgetConfig::new(60_000, 1.0).with_lane("export", rpm),
        ))
    };
    let bridge = lane(600);
    let beside = lane(600);
    let serve = CancellationToken::new();
    let claimer = tokio::spawn(live::claim(
        store.clone(),
        vec![(Side::Old, bridge.clone())],
        quick(),
        serve.clone(),
    ));
    let stop = CancellationToken::new();
    let follower = tokio::spawn(live::follow(
        store.clone(),
        vec![(Side::Old, beside.clone())],
        quick(),
        stop.clone(),
    ));
    // The bridge reads exports as fast as the lane lets it (one every 100 ms) for 1.5 s.
    let started = tokio::time::Instant::now();
    while started.elapsed() < Duration::from_millis(1500) {
        bridge.acquire(Some("export")).await;
    }
    let claim = live::current(store.as_ref(), Side::Old)
        .await
        .unwrap()
        .unwrap();
    // Busy: the ceiling, 90 % of the lane.
    let claimed = claim.lanes.get("export").copied().unwrap_or_default();
    assert!(claimed > 500.0, "{claim:?}");
    // The work beside follows: its exports now go at what is left, 60 a minute, one a second.
    tokio::time::sleep(Duration::from_millis(200)).await;
    beside.acquire(Some("export")).await;
    let one = tokio::time::Instant::now();
    beside.acquire(Some("export")).await;
    beside.acquire(Some("export")).await;
    let spacing = one.elapsed() / 2;
    assert!(
        spacing >= Duration::from_millis(800),
        "beside's exports every {spacing:?}"
    );
    // The bridge stops: the lane is the work's own again (one every 100 ms).
    serve.cancel();
    claimer.await.unwrap();
    until("the lane is taken back", async || {
        let at = tokio::time::Instant::now();
        beside.acquire(Some("export")).await;
        beside.acquire(Some("export")).await;
        at.elapsed() < Duration::from_millis(400)
    })
    .await;
    stop.cancel();
    follower.await.unwrap();
}
