//! `cutover bench kpi`: on a tiny history, on both store backends, every generated ticket is
//! counted by `cutover baseline` and `cutover report`, the user's commands are timed and measured as child
//! processes within their floors, and an alert on the degradation injected, when the product's
//! rule raises one, comes after it starts and carries evidence that meets the plan's rule. The
//! exit code follows the floors.

use serde_json::Value;

use crate::harness::Workdir;

#[test]
fn the_kpi_benchmark_times_both_backends_and_catches_the_degradation() {
    let dir = Workdir::new();
    let run = dir.run(&[
        "bench",
        "kpi",
        "--tickets",
        "1500",
        "--backend",
        "all",
        "--alert-tickets-per-hour",
        "60",
    ]);
    let out: Value = serde_json::from_str(run.stdout().trim())
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", run.stdout(), run.stderr()));
    assert_eq!(out["history_floors_met"], true, "{out:#}");
    let met = out["floors_met"].as_bool().unwrap();
    assert_eq!(met, out["alert_floor_met"] == true, "{out:#}");
    run.expect_code(if met { 0 } else { 1 });
    let runs = out["runs"].as_array().unwrap();
    let backends: Vec<&str> = runs
        .iter()
        .map(|r| r["backend"].as_str().unwrap())
        .collect();
    assert_eq!(backends, ["sqlite", "postgres"], "{out:#}");
    for r in runs {
        assert_eq!(r["import"]["rows"], 1500, "{r:#}");
        // `cutover baseline` counted each ticket created in its weeks exactly once.
        assert_eq!(r["baseline_tickets_counted"], 1500, "{r:#}");
        // And the month's review's heatmap (twelve weeks of history) counted every one.
        assert_eq!(r["report_heatmap_tickets"], 1500, "{r:#}");
        assert!(
            r["in_process"]["baseline_both_sides_seconds"]
                .as_f64()
                .unwrap()
                > 0.0,
            "{r:#}"
        );
        for command in ["baseline", "kpi", "report"] {
            assert!(r[command]["seconds"].as_f64().unwrap() > 0.0, "{r:#}");
            if cfg!(target_os = "linux") {
                let mib = r[command]["peak_rss_mib"].as_f64().unwrap();
                assert!(mib > 1.0 && mib < 1024.0, "{command}: {r:#}");
            }
        }
    }
    let degradation = &out["degradation"];
    assert_eq!(
        degradation["rule"]["plan_kpi"], "wait_time",
        "{degradation:#}"
    );
    assert_eq!(
        degradation["rule"]["kpi"], "first_reply_p50",
        "{degradation:#}"
    );
    assert_eq!(degradation["rule"]["then"], "pause_wave", "{degradation:#}");
    // The product's rule (`cutover_runtime::alerts`), as the plan `cutover init` writes sets it.
    assert_eq!(degradation["rule"]["threshold"], 0.5, "{degradation:#}");
    let watch = &degradation["watch"];
    // Every simulated minute from 06:00 to 12:00 until an alert.
    let evaluations = watch["evaluations"].as_u64().unwrap();
    assert!(evaluations > 0 && evaluations <= 361, "{degradation:#}");
    assert!(
        watch["false_alarms_before_start"].as_u64().is_some(),
        "{degradation:#}"
    );
    let Some(minutes) = watch["minutes_to_alert"].as_i64() else {
        assert!(watch["evidence"].is_null(), "{degradation:#}");
        return;
    };
    // Sustained for 15 minutes: never sooner.
    assert!(minutes >= 15, "{degradation:#}");
    let evidence = &watch["evidence"];
    assert_eq!(evidence["reading"]["reading"], "breach", "{degradation:#}");
    assert!(
        evidence["worse_by"].as_f64().unwrap() >= 0.5,
        "{degradation:#}"
    );
    assert!(
        evidence["comparison"]["now"]["samples"].as_u64().unwrap() >= 20,
        "{degradation:#}"
    );
    assert!(
        evidence["comparison"]["baseline"]["weeks"]
            .as_u64()
            .unwrap()
            >= 2,
        "{degradation:#}"
    );
}
