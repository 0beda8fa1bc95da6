//! The `kpis_within_bounds` gate criterion: the continuity monitor read the KPIs over the whole
//! window and no alert was open in it. Nothing passes for want of a reading: a monitor that
//! never read, stopped reading, or has read only part of the window does not meet it, and says
//! so; each alert open in the window (raised or inconclusive, on either side, cleared since or
//! not) is named with its KPI, side and values.

use chrono::{DateTime, Utc};
use cutover_plan::plan::Plan;
use cutover_plan::plan::values::Duration;
use cutover_store::AlertRecord;
use serde_json::{Value, json};

use crate::alerts::{Readings, WINDOW};
use crate::gates::{Criterion, NO_READINGS, ago, chrono_of};

/// How old the monitor's last reading may be before it counts as not running: two of its
/// intervals and half a minute (it reads at every interval).
fn stale_after(plan: &Plan) -> chrono::Duration {
    chrono_of(plan.monitor.every.get()) * 2 + chrono::Duration::seconds(30)
}

/// The criterion over the `within` before `now`, from the monitor's readings and the alerts
/// open since the window's start.
pub(crate) fn criterion(
    plan: &Plan,
    within: &Duration,
    readings: Option<&Readings>,
    alerts: &[AlertRecord],
    now: DateTime<Utc>,
) -> Criterion {
    let from = now - chrono_of(within.get());
    let open: Vec<&AlertRecord> = alerts
        .iter()
        .filter(|a| a.opened_at <= now && a.closed_at.is_none_or(|c| c >= from))
        .collect();
    let mut parts = Vec::new();
    let mut next = Vec::new();
    let monitored = match readings {
        None => {
            parts.push(format!(
                "{NO_READINGS} (it runs in the leading `cutover serve`, and needs the old \
                 side's history for a baseline)"
            ));
            false
        }
        Some(r) if now - r.at > stale_after(plan) => {
            parts.push(format!(
                "the KPI monitor's last reading is {} old (is `cutover serve` running?)",
                ago(now, r.at)
            ));
            false
        }
        Some(r) if r.since > from => {
            parts.push(format!(
                "the KPI monitor's readings cover only the last {} of {within} (since {})",
                ago(now, r.since),
                r.since.to_rfc3339()
            ));
            false
        }
        Some(r) => {
            parts.push(format!(
                "the KPI monitor read without a gap over the last {within} ({} rule(s) on the \
                 {} side(s), last {} ago)",
                r.rules,
                r.sides
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" and "),
                ago(now, r.at)
            ));
            true
        }
    };
    if !monitored {
        next.push("cutover serve".to_owned());
    }
    if open.is_empty() {
        if monitored {
            parts.push("no alert in that time".to_owned());
        }
    } else {
        let each: Vec<String> = open.iter().map(|a| describe(a, now)).collect();
        parts.insert(
            0,
            format!(
                "{} alert(s) in the last {within}: {}",
                open.len(),
                each.join("; ")
            ),
        );
        next.push("cutover alerts".to_owned());
    }
    let met = monitored && open.is_empty();
    let detail = parts.join("; ");
    Criterion {
        name: "kpis_within_bounds".to_owned(),
        met,
        detail,
        values: json!({
            "within": within.to_string(),
            "from": from,
            "readings": readings,
            "window_seconds": WINDOW.num_seconds(),
            "alerts": open.iter().map(|a| summary(a)).collect::<Vec<_>>(),
        }),
        next: if met { Vec::new() } else { next },
    }
}

/// An alert's figures, from its evidence.
fn summary(alert: &AlertRecord) -> Value {
    let e = &alert.evidence;
    let comparison = &e["comparison"];
    json!({
        "id": alert.id,
        "kpi": alert.kpi,
        "side": e["side"],
        "state": alert.state,
        "was": e.get("was"),
        "opened_at": alert.opened_at,
        "closed_at": alert.closed_at,
        "now": comparison["now"]["value"],
        "samples": comparison["now"]["samples"],
        "baseline_mean": comparison["baseline"]["mean"],
        "worse_by": e["worse_by"],
        "reading": e["reading"],
    })
}

/// One alert in words: `alert ID (KPI, new side) raised 20m ago: 16.20 now (n=12) against a
/// baseline of 10.10, 60 % worse`.
fn describe(alert: &AlertRecord, now: DateTime<Utc>) -> String {
    let e = &alert.evidence;
    let side = e["side"].as_str().unwrap_or("?");
    let when = match alert.closed_at {
        None => format!(
            "{} {} ago, still open",
            alert.state,
            ago(now, alert.opened_at)
        ),
        Some(closed) => format!(
            "{} {} ago, cleared {} ago",
            e["was"].as_str().unwrap_or("opened"),
            ago(now, alert.opened_at),
            ago(now, closed)
        ),
    };
    let comparison = &e["comparison"];
    let number = |v: &Value| v.as_f64().map_or("-".to_owned(), |v| format!("{v:.2}"));
    let reading = &e["reading"];
    let figures = if reading["reading"] == "inconclusive" {
        format!(
            "inconclusive: {}",
            reading["reason"].as_str().unwrap_or("too little data")
        )
    } else {
        format!(
            "{} now (n={}) against a baseline of {}{}",
            number(&comparison["now"]["value"]),
            comparison["now"]["samples"],
            number(&comparison["baseline"]["mean"]),
            e["worse_by"]
                .as_f64()
                .map(|w| format!(", {:.0} % worse", w * 100.0))
                .unwrap_or_default()
        )
    };
    let at = if alert.closed_at.is_some() {
        " (at clearing)"
    } else {
        ""
    };
    format!(
        "alert {} ({}, {side} side) {when}: {figures}{at}",
        alert.id, alert.kpi
    )
}
