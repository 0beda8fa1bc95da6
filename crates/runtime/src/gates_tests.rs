//! Gates evaluated on a real store (SQLite files, and PostgreSQL through
//! `cutover_store::testing`): unmet without measurements, each measurement counted only when
//! it holds and belongs to this plan, sign-offs only by the people the wave names and only
//! since its last change of phase; pause and resume.

use std::sync::Arc;

use chrono::Duration;
use cutover_engine::sync::LagPercentiles;
use cutover_engine::sync::status::{DirectionStatus, status_key};
use cutover_engine::verify::{LastVerify, VerifiedBy};
use cutover_model::{PlatformKind, Side};
use cutover_plan::plan::init::{InitOptions, render};

use super::*;
use crate::pause::{pause, resume};

const DIGEST: &str = "digest-of-this-plan";

/// The template `cutover init` writes (wave 1 "pilot": verify, lag 30s, drill, ops-lead; wave
/// 2: verify, lag 30s, KPIs 24h, ops-lead and cs-director), and a viewer.
fn plan() -> Plan {
    let mut text = render(&InitOptions {
        from: PlatformKind::Zendesk,
        to: PlatformKind::Freshdesk,
        old_url: None,
        new_url: None,
    });
    text.push_str(
        "\n[people.watcher]\nname = \"Sam Viewer\"\nemail = \"sam@acme.example\"\nrole = \"viewer\"\n",
    );
    cutover_plan::plan::check_str("cutover.toml", &text).unwrap()
}

fn criterion<'a>(report: &'a GateReport, name: &str) -> &'a Criterion {
    report
        .criteria
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no {name} in {report:#?}"))
}

async fn keep_status(store: &dyn Store, from: Side, at: DateTime<Utc>, p99: f64) {
    let status = DirectionStatus {
        from,
        positions: BTreeMap::new(),
        caught_up_to: Some(at),
        in_flight: Vec::new(),
        read_again: 0,
        lag: LagPercentiles {
            p50: p99 / 2.0,
            p95: p99,
            p99,
            samples: 40,
        },
        applied: 40,
        echoes_suppressed: 0,
        dead_lettered: 0,
        at,
    };
    store
        .put_run_state(&status_key(from), &serde_json::to_value(&status).unwrap())
        .await
        .unwrap();
}

async fn keep_drill(store: &dyn Store, digest: &str, passed: bool) {
    let mut tx = store.begin().await.unwrap();
    DrillRecord {
        plan_digest: digest.to_owned(),
        at: Utc::now(),
        passed,
        routing_flip_ms: 120,
        drain_ms: 900,
        problems: if passed {
            Vec::new()
        } else {
            vec!["contact 7 missing on the old side".to_owned()]
        },
    }
    .save_in(tx.as_mut())
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

fn verified(clean: bool, digest: &str, now: DateTime<Utc>) -> LastVerify {
    LastVerify {
        at: now - Duration::minutes(12),
        clean,
        matched: 300,
        missing: if clean { 0 } else { 2 },
        extra: 0,
        different: if clean { 0 } else { 1 },
        plan_digest: digest.to_owned(),
        by: VerifiedBy::Command,
    }
}

async fn actions(store: &dyn Store) -> Vec<(String, String)> {
    store
        .audit_entries(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.actor, e.action))
        .collect()
}

async fn gates_story(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let plan = plan();
    let now = Utc::now();

    // Nothing measured: every criterion unmet, each saying what to run.
    let report = evaluate(store, &plan, DIGEST, 0, now).await.unwrap();
    assert_eq!(report.wave, "pilot");
    assert_eq!(report.phase, WavePhase::Old);
    let names: Vec<&str> = report.criteria.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["verify_clean", "max_sync_lag", "rollback_drill", "sign_off"]
    );
    assert!(!report.ready());
    assert!(report.criteria.iter().all(|c| !c.met), "{report:#?}");
    assert_eq!(
        criterion(&report, "verify_clean").detail,
        "no verification recorded yet"
    );
    assert!(
        criterion(&report, "max_sync_lag")
            .detail
            .contains("no status from the bridge")
    );
    assert_eq!(
        report.next_commands(),
        [
            "cutover verify",
            "cutover serve",
            "cutover drill",
            "cutover go --wave 1 --as ops-lead"
        ]
    );
    match require(store, &plan, DIGEST, 0, now).await {
        Err(RuntimeError::GatesNotMet(refused)) => {
            let message = RuntimeError::GatesNotMet(refused).to_string();
            assert!(
                message.contains("wave 1 \"pilot\" cannot start"),
                "{message}"
            );
            assert!(message.contains("rollback_drill: no rollback drill recorded yet"));
            assert!(
                message.contains("cutover go --wave 1 --as ops-lead"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }

    // Measurements that do not count: a verify with differences, a drill of another plan, a
    // bridge whose status is old, one direction too slow.
    verified(false, DIGEST, now).save(store).await.unwrap();
    keep_drill(store, "another-plan", true).await;
    keep_status(store, Side::Old, now - Duration::minutes(10), 1.0).await;
    keep_status(store, Side::New, now, 45.0).await;
    let report = evaluate(store, &plan, DIGEST, 0, now).await.unwrap();
    let verify = criterion(&report, "verify_clean");
    assert!(!verify.met);
    assert!(verify.detail.contains("12m ago"), "{}", verify.detail);
    assert!(verify.detail.contains("2 missing"), "{}", verify.detail);
    let lag = criterion(&report, "max_sync_lag");
    assert!(!lag.met);
    assert!(
        lag.detail
            .contains("old to new: the bridge's last status is 10m old"),
        "{}",
        lag.detail
    );
    assert!(
        lag.detail.contains("new to old: p99 lag 45.0s"),
        "{}",
        lag.detail
    );
    let drill = criterion(&report, "rollback_drill");
    assert!(!drill.met && drill.detail.contains("another version of the plan"));
    verified(true, "another-plan", now)
        .save(store)
        .await
        .unwrap();
    keep_drill(store, DIGEST, false).await;
    let report = evaluate(store, &plan, DIGEST, 0, now).await.unwrap();
    assert!(
        criterion(&report, "verify_clean")
            .detail
            .contains("another version of the plan")
    );
    assert!(
        criterion(&report, "rollback_drill")
            .detail
            .contains("contact 7 missing")
    );

    // Sign-offs: refused for a person the plan lacks, a viewer, one the wave does not name.
    let refused = sign_off(store, &plan, DIGEST, 0, "nobody", "u", "cli", now).await;
    assert!(
        matches!(refused, Err(RuntimeError::UnknownPerson { .. })),
        "{refused:?}"
    );
    let refused = sign_off(store, &plan, DIGEST, 0, "watcher", "u", "cli", now).await;
    assert!(
        matches!(refused, Err(RuntimeError::NotOperator { .. })),
        "{refused:?}"
    );
    let refused = sign_off(store, &plan, DIGEST, 0, "cs-director", "u", "cli", now).await;
    let message = refused.as_ref().map(|_| ()).unwrap_err().to_string();
    assert!(message.contains("its gates name: ops-lead"), "{message}");
    assert!(
        actions(store)
            .await
            .iter()
            .all(|(_, a)| a == "gate.evaluated")
    );

    // Everything measured and signed: ready, and the start's evaluation is audited.
    verified(true, DIGEST, now).save(store).await.unwrap();
    keep_drill(store, DIGEST, true).await;
    keep_status(store, Side::Old, now, 2.0).await;
    keep_status(store, Side::New, now, 3.5).await;
    let report = sign_off(store, &plan, DIGEST, 0, "ops-lead", "dana", "cli", now)
        .await
        .unwrap();
    assert!(report.ready(), "{report:#?}");
    assert!(report.sign_offs[0].counts);
    let later = now + Duration::seconds(5);
    let ready = require(store, &plan, DIGEST, 0, later).await.unwrap();
    assert!(ready.ready());
    assert!(
        criterion(&ready, "sign_off")
            .detail
            .contains("ops-lead signed 5s ago")
    );
    let audited = actions(store).await;
    assert!(audited.contains(&("dana".to_owned(), "wave.signed_off".to_owned())));
    assert_eq!(
        audited
            .iter()
            .filter(|(_, a)| a == "gate.evaluated")
            .count(),
        3,
        "{audited:?}"
    );

    // The sign-off counts for this plan only, and only until the wave changes phase.
    let other = evaluate(store, &plan, "edited-plan", 0, later)
        .await
        .unwrap();
    assert!(!criterion(&other, "sign_off").met);
    let routing =
        RoutingState::load(store)
            .await
            .unwrap()
            .with_phase("pilot", WavePhase::Old, later);
    let mut tx = store.begin().await.unwrap();
    routing.save_in(tx.as_mut()).await.unwrap();
    tx.commit().await.unwrap();
    let report = evaluate(store, &plan, DIGEST, 0, later).await.unwrap();
    let signed = criterion(&report, "sign_off");
    assert!(!signed.met);
    assert!(
        signed.detail.contains("before the wave last changed phase"),
        "{}",
        signed.detail
    );

    // Wave 2 asks for KPIs: never met while the monitor has not read them.
    let second = evaluate(store, &plan, DIGEST, 1, later).await.unwrap();
    let kpis = criterion(&second, "kpis_within_bounds");
    assert!(!kpis.met);
    assert!(kpis.detail.starts_with(NO_READINGS), "{}", kpis.detail);
    assert_eq!(kpis.next, ["cutover serve"]);
    assert_eq!(second.sign_offs.len(), 2);

    // Pause and resume: only a switched wave pauses; again changes nothing.
    let refused = pause(store, &plan, 0, "dana", "cli", later).await;
    assert!(
        matches!(refused, Err(RuntimeError::WrongPhase { .. })),
        "{refused:?}"
    );
    let switched =
        RoutingState::load(store)
            .await
            .unwrap()
            .with_phase("pilot", WavePhase::New, later);
    let mut tx = store.begin().await.unwrap();
    switched.save_in(tx.as_mut()).await.unwrap();
    tx.commit().await.unwrap();
    let refused = sign_off(store, &plan, DIGEST, 0, "ops-lead", "dana", "cli", later).await;
    assert!(
        matches!(refused, Err(RuntimeError::WrongPhase { .. })),
        "{refused:?}"
    );
    let paused = pause(store, &plan, 0, "dana", "cli", later).await.unwrap();
    assert!(paused.changed && paused.to == WavePhase::Paused);
    let routing = RoutingState::load(store).await.unwrap();
    assert_eq!(routing.phase("pilot"), WavePhase::Paused);
    assert_eq!(routing.generation, switched.generation + 1);
    assert!(
        !pause(store, &plan, 0, "dana", "cli", later)
            .await
            .unwrap()
            .changed
    );
    let refused = resume(store, &plan, 1, "dana", "cli", later).await;
    assert!(
        matches!(refused, Err(RuntimeError::WrongPhase { .. })),
        "{refused:?}"
    );
    let resumed = resume(store, &plan, 0, "dana", "cli", later).await.unwrap();
    assert!(resumed.changed && resumed.to == WavePhase::New);
    let audited = actions(store).await;
    for action in ["wave.paused", "wave.resumed"] {
        assert_eq!(
            audited.iter().filter(|(_, a)| a == action).count(),
            1,
            "{audited:?}"
        );
    }
    store.verify_audit().await.unwrap();
}

async fn keep_readings(store: &dyn Store, since: DateTime<Utc>, at: DateTime<Utc>) {
    let readings = Readings {
        since,
        at,
        sides: vec![Side::Old, Side::New],
        rules: 4,
    };
    store
        .put_run_state(
            crate::alerts::READINGS_KEY,
            &serde_json::to_value(&readings).unwrap(),
        )
        .await
        .unwrap();
}

/// An alert episode as the evaluator keeps it: wait time on the new side, 16.2 minutes (12
/// samples) against a baseline of 10.1, opened `opened` and closed `closed` (then `was`).
async fn keep_alert(
    store: &dyn Store,
    id: &str,
    opened: DateTime<Utc>,
    closed: Option<(DateTime<Utc>, &str)>,
) {
    let mut evidence = json!({
        "rule": "alerts[1]", "kpi": "wait_time", "side": "new",
        "reading": { "reading": "breach" }, "worse_by": 0.6,
        "comparison": { "now": { "value": 16.2, "samples": 12 },
                        "baseline": { "mean": 10.1, "std_dev": 0.9, "weeks": 4 } },
    });
    if let Some((_, was)) = closed {
        evidence["was"] = json!(was);
    }
    if closed.is_some_and(|(_, was)| was == "inconclusive") {
        evidence["reading"] = json!({ "reading": "inconclusive", "reason": "3 samples now" });
    }
    let mut tx = store.begin().await.unwrap();
    tx.put_alert(&AlertRecord {
        id: id.to_owned(),
        rule: "alerts[1]".to_owned(),
        kpi: "wait_time".to_owned(),
        state: if closed.is_some() {
            "cleared"
        } else {
            "raised"
        }
        .to_owned(),
        action: "pause_wave".to_owned(),
        opened_at: opened,
        closed_at: closed.map(|(at, _)| at),
        updated_at: closed.map_or(opened, |(at, _)| at),
        evidence,
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

/// Wave 2's `kpis_within_bounds = "24h"` against the monitor's readings and alerts: met only
/// when the readings cover the day, are fresh, and no alert was open in it.
async fn kpis_story(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let plan = plan();
    let now = Utc::now();
    let kpis = async |at: DateTime<Utc>| {
        let report = evaluate(store, &plan, DIGEST, 1, at).await.unwrap();
        criterion(&report, "kpis_within_bounds").clone()
    };

    // Read for the last day, fresh, no alert: met.
    keep_readings(
        store,
        now - Duration::hours(25),
        now - Duration::seconds(40),
    )
    .await;
    let met = kpis(now).await;
    assert!(met.met, "{met:#?}");
    assert!(
        met.detail.contains("no alert in that time"),
        "{}",
        met.detail
    );
    assert!(met.next.is_empty());
    // An episode closed before the window does not count.
    keep_alert(
        store,
        "alerts[1]/new@1",
        now - Duration::hours(40),
        Some((now - Duration::hours(30), "raised")),
    )
    .await;
    assert!(kpis(now).await.met);

    // A raised alert, still open: unmet, and the reason names it with its values.
    keep_alert(store, "alerts[1]/new@2", now - Duration::minutes(20), None).await;
    keep_alert(
        store,
        "alerts[1]/old@3",
        now - Duration::hours(5),
        Some((now - Duration::hours(4), "inconclusive")),
    )
    .await;
    let raised = kpis(now).await;
    assert!(!raised.met);
    assert!(
        raised.detail.starts_with(
            "2 alert(s) in the last 1d: alert alerts[1]/new@2 (wait_time, new side) raised 20m \
             ago, still open: 16.20 now (n=12) against a baseline of 10.10, 60 % worse"
        ),
        "{}",
        raised.detail
    );
    assert_eq!(raised.values["alerts"][0]["id"], "alerts[1]/new@2");
    assert_eq!(raised.next, ["cutover alerts"]);

    // An inconclusive episode cleared four hours ago still counts for the day, as what it was;
    // so does the raised one once it clears.
    assert!(
        raised.detail.contains(
            "alert alerts[1]/old@3 (wait_time, new side) inconclusive 5h ago, cleared 4h ago: \
             inconclusive: 3 samples now (at clearing)"
        ),
        "{}",
        raised.detail
    );
    keep_alert(
        store,
        "alerts[1]/new@2",
        now - Duration::minutes(20),
        Some((now - Duration::minutes(5), "raised")),
    )
    .await;
    let cleared = kpis(now).await;
    assert!(!cleared.met);
    assert!(
        cleared.detail.starts_with("2 alert(s) in the last 1d"),
        "{}",
        cleared.detail
    );
    assert!(
        cleared
            .detail
            .contains("raised 20m ago, cleared 5m ago: 16.20 now"),
        "{}",
        cleared.detail
    );
    // A day later it is out of the window.
    let next_day = now + Duration::hours(25);
    keep_readings(store, now - Duration::hours(25), next_day).await;
    assert!(kpis(next_day).await.met);

    // Readings that stopped, or that cover only part of the day: unmet, never a silent pass.
    let stale = kpis(next_day + Duration::minutes(10)).await;
    assert!(!stale.met);
    assert!(
        stale.detail.contains("last reading is 10m old"),
        "{}",
        stale.detail
    );
    assert_eq!(stale.next, ["cutover serve"]);
    keep_readings(store, next_day - Duration::hours(3), next_day).await;
    let partial = kpis(next_day).await;
    assert!(!partial.met);
    assert!(
        partial.detail.contains("cover only the last 3h of 1d"),
        "{}",
        partial.detail
    );
}

#[tokio::test]
async fn kpis_within_bounds_reads_the_monitor_and_its_alerts_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cutover.db").display());
    let store = cutover_store::open(&url.parse().unwrap()).await.unwrap();
    kpis_story(store.clone()).await;
    store.close().await;
}

#[tokio::test]
async fn kpis_within_bounds_reads_the_monitor_and_its_alerts_on_postgres() {
    let db = cutover_store::testing::TestDatabase::create()
        .await
        .unwrap();
    let store = cutover_store::open(db.url()).await.unwrap();
    kpis_story(store.clone()).await;
    store.close().await;
}

#[tokio::test]
async fn gates_are_measured_signed_and_audited_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cutover.db").display());
    let store = cutover_store::open(&url.parse().unwrap()).await.unwrap();
    gates_story(store.clone()).await;
    store.close().await;
}

#[tokio::test]
async fn gates_are_measured_signed_and_audited_on_postgres() {
    let db = cutover_store::testing::TestDatabase::create()
        .await
        .unwrap();
    let store = cutover_store::open(db.url()).await.unwrap();
    gates_story(store.clone()).await;
    store.close().await;
}
