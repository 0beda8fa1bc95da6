//! `cutover bench gateway` on a tiny load (debug build): the report has every figure the issue
//! asks for, the switch, the rollback and both failovers lose no request, routing flips back
//! within a second, every contact the store kept is delivered and found on its platform, and
//! the exit code says whether the goals were met. A debug build may miss the speed goals (the
//! added latency, the rate), and only those.

use serde_json::Value;

use crate::harness::Workdir;

#[test]
fn the_gateway_benchmark_reports_latency_switch_rollback_failover_and_contacts() {
    let dir = Workdir::new();
    // The throwaway database goes on the server the tests use.
    let server = std::env::var(cutover_store::testing::POSTGRES_URL_ENV).ok();
    let env: Vec<(&str, &str)> = server
        .as_deref()
        .map(|url| vec![(cutover_store::testing::POSTGRES_URL_ENV, url)])
        .unwrap_or_default();
    let run = dir.run_with_env(
        &[
            "bench",
            "gateway",
            "--rate",
            "40",
            "--seconds",
            "1",
            "--switch-rate",
            "20",
            "--tickets",
            "2",
        ],
        &env,
    );
    let out: Value = serde_json::from_str(run.stdout().trim())
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", run.stdout(), run.stderr()));
    let met = out["goals"]["met"]
        .as_bool()
        .expect("goals.met is a boolean");
    assert_eq!(run.code(), if met { 0 } else { 1 }, "{out:#}");
    for missed in out["goals"]["missed"].as_array().unwrap() {
        let missed = missed.as_str().unwrap();
        assert!(
            missed.contains("p99 adds") || missed.contains("contacts a second"),
            "a goal other than speed was missed: {missed}\n{out:#}"
        );
    }

    // Added latency: both runs measured, the difference of their percentiles.
    let latency = &out["latency"];
    for run in ["direct", "gateway"] {
        let figures = &latency[run];
        assert_eq!(figures["rate_asked_per_second"], 40.0, "{out:#}");
        assert!(figures["rate_achieved_per_second"].as_f64().unwrap() > 0.0);
        assert!(figures["rate_reached"].is_boolean(), "{out:#}");
        assert_eq!(figures["failed"], 0, "{run}: {out:#}");
        assert!(figures["latency_ms"]["p99"].as_f64().unwrap() > 0.0);
    }
    let added = latency["added_ms"]["p99"].as_f64().unwrap();
    let (g, d) = (
        latency["gateway"]["latency_ms"]["p99"].as_f64().unwrap(),
        latency["direct"]["latency_ms"]["p99"].as_f64().unwrap(),
    );
    assert!((added - (g - d)).abs() < 1e-9, "{out:#}");
    // Interleaved, so both runs sent as many (one more at most); the client's own lateness is
    // shown, and where the gateway's time went (its keeper's steps, from /metrics).
    let sent = |run: &str| latency[run]["sent"].as_i64().unwrap();
    assert!((sent("direct") - sent("gateway")).abs() <= 1, "{out:#}");
    assert!(
        latency["gateway"]["send_lag_ms"]["p99"].as_f64().is_some(),
        "{out:#}"
    );
    for step in ["queue", "write", "wake", "batch_contacts"] {
        assert!(
            latency["keeper_ms"][step]["p99"].as_f64().is_some(),
            "{step}: {out:#}"
        );
    }

    // The switch and the rollback, under load, through the gates a user meets.
    let switch = &out["switch"];
    assert_eq!(switch["wave_start"]["exit_code"], 0, "{out:#}");
    assert_eq!(switch["wave_start"]["step"], "done", "{out:#}");
    for step in ["wave_start", "rollback"] {
        assert!(switch[step]["requests"].as_u64().unwrap() > 0, "{out:#}");
        assert_eq!(switch[step]["failed_requests"], 0, "{step}: {out:#}");
    }
    let rollback = &switch["rollback"];
    assert_eq!(rollback["exit_code"], 0, "{out:#}");
    assert!(
        rollback["routing_flip_ms"].as_u64().unwrap() <= 1000,
        "{out:#}"
    );
    assert_eq!(rollback["reverse_drained"], true, "{out:#}");
    assert!(rollback["reverse_drain_ms"].is_u64(), "{out:#}");
    assert_eq!(
        rollback["contacts_the_new_side_took"], rollback["of_them_on_the_old_side"],
        "{out:#}"
    );

    // Failover on PostgreSQL: as on two hosts (the lease lapses) and as on one (at once).
    let runs = &out["failover"]["runs"];
    for name in ["two_hosts", "one_host"] {
        let run = &runs[name];
        let ms = run["took_over_within_ms"].as_u64().unwrap();
        assert!(ms <= 10_000, "{name}: {out:#}");
        assert!(
            run["requests_to_the_survivor_after_the_kill"]
                .as_u64()
                .unwrap()
                > 0
        );
        assert_eq!(run["failed_requests"], 0, "{name}: {out:#}");
    }
    assert!(
        runs["one_host"]["took_over_within_ms"].as_u64().unwrap()
            < runs["two_hosts"]["took_over_within_ms"].as_u64().unwrap(),
        "{out:#}"
    );

    // Nothing lost: every contact kept was delivered, and its ticket is on its platform.
    let contacts = &out["contacts"];
    let accepted = contacts["accepted"].as_u64().unwrap();
    let posted_2xx: u64 = [
        &switch["load"],
        &runs["two_hosts"]["load"],
        &runs["one_host"]["load"],
        &latency["gateway"],
    ]
    .iter()
    .map(|l| l["answered_2xx"].as_u64().unwrap())
    .sum();
    assert_eq!(accepted, posted_2xx, "{out:#}");
    assert_eq!(contacts["delivered"], accepted, "{out:#}");
    assert_eq!(contacts["pending"], 0, "{out:#}");
    assert_eq!(
        contacts["delivered_tickets_missing_on_their_platform"], 0,
        "{out:#}"
    );
}
