//! `cutover bench sim`: one report per platform, each from its own child process with `all`.

use serde_json::Value;

use crate::harness::Workdir;

/// Runs the benchmark on a tiny account; a debug build may miss the floors (exit 1), so either
/// 0 or 1 is accepted, and the report must say which.
fn report(platform: &str) -> Value {
    let dir = Workdir::new();
    let run = dir.run(&[
        "bench",
        "sim",
        "--platform",
        platform,
        "--tickets",
        "200",
        "--seconds",
        "0.3",
        "--connections",
        "2",
    ]);
    let out: Value = serde_json::from_str(run.stdout().trim())
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", run.stdout(), run.stderr()));
    let met = out["floors_met"]
        .as_bool()
        .expect("floors_met is a boolean");
    assert_eq!(run.code(), if met { 0 } else { 1 }, "{out:#}");
    out
}

fn check_platform(out: &Value, name: &str) {
    let p = &out["platforms"][name];
    assert_eq!(p["emulator"], name, "{out:#}");
    assert_eq!(p["tickets"], 200, "{out:#}");
    assert!(p["seeding"]["seconds"].as_f64().unwrap() > 0.0, "{out:#}");
    assert!(p["gets"]["ok"].as_u64().unwrap() > 0, "{out:#}");
    assert_eq!(p["gets"]["errors"], 0, "{out:#}");
    assert_eq!(p["floors"]["gets_per_second"], 5000.0, "{out:#}");
    if cfg!(target_os = "linux") {
        assert!(p["memory"]["bytes_per_ticket"].is_number(), "{out:#}");
    }
}

#[test]
fn every_platform_is_measured_against_the_same_floors() {
    let out = report("all");
    let names: Vec<&String> = out["platforms"].as_object().unwrap().keys().collect();
    assert_eq!(names, ["freshdesk", "zendesk"], "{out:#}");
    check_platform(&out, "zendesk");
    check_platform(&out, "freshdesk");
    let all_met = ["zendesk", "freshdesk"]
        .iter()
        .all(|n| out["platforms"][n]["floors"]["met"] == true);
    assert_eq!(out["floors_met"], all_met, "{out:#}");
}

#[test]
fn one_platform_is_measured_alone() {
    let out = report("freshdesk");
    assert_eq!(out["platforms"].as_object().unwrap().len(), 1, "{out:#}");
    check_platform(&out, "freshdesk");
}
