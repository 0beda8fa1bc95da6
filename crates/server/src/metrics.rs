//! `GET /metrics`: the catalogue of what `cutover serve` exports, in Prometheus' text format.
//! Labels are bounded: `direction` is `old_to_new` or `new_to_old`, `quantile` is one of
//! three; none carries a record id.
//!
//! - `cutover_sync_lag_seconds{direction, quantile}`: lag of applied changes, from the change's
//!   time on one platform to its commit on the other (p50, p95, p99 over the recent ones).
//! - `cutover_sync_changes_applied_total{direction}`: changes written to the other side.
//! - `cutover_sync_echoes_suppressed_total{direction}`: records read equal to their link (the
//!   bridge's own writes read back, or a change seen twice), not written.
//! - `cutover_sync_dead_lettered_total{direction}`: records that went to the dead letters.
//! - `cutover_sync_rechecked_total`: records the rolling re-check compared (no label).
//! - `cutover_sync_recheck_drift_total`: records it found differing or missing, each once
//!   until repaired (named to the bridge to read again).
//! - `cutover_sync_recheck_repaired_total`: records it found drifting, then equal again.
//! - `cutover_leader`: 1 while this process leads (runs the bridge), 0 while it follows.
//! - `cutover_gateway_contacts_total{channel, side, outcome}`: the inbound gateway's contacts:
//!   `accepted` (kept in the store; side `none`), `delivered` (a ticket or follow-up made, a
//!   call forwarded; side `old` or `new`), `held` (held by a switch; side `none`), `failed`
//!   (a delivery attempt that failed and is tried again, or a refused delivery: side `none`).
//!   `channel` is a `[[channels]]` name of the plan: bounded.
//! - `cutover_gateway_keep_seconds{step, quantile}`: where the gateway's answer time goes, over
//!   the most recent 10,000 contacts: `queue` (waiting for a free writer of the keeper),
//!   `write` (the store's write of the contact's batch: a connection, the insert, the commit),
//!   `wake` (from the writer's answer to the request running again); p50, p95, p99.
//! - `cutover_gateway_keep_batch_contacts{quantile}`: contacts in each contact's batch, over
//!   the same contacts.

use std::fmt::Write as _;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use cutover_model::Side;

use crate::AppState;

/// A counter of the catalogue: its name, its help text, and how to read it for a direction.
type Counter = (
    &'static str,
    &'static str,
    fn(&cutover_engine::sync::SyncMetrics, Side) -> u64,
);

/// The direction label of changes read on `from`.
fn direction(from: Side) -> &'static str {
    match from {
        Side::Old => "old_to_new",
        Side::New => "new_to_old",
    }
}

/// Renders every metric.
pub async fn render(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        text(&state),
    )
}

/// The metrics as Prometheus text.
pub fn text(state: &AppState) -> String {
    let metrics = state.bridge.metrics();
    let sides = state.bridge.from_sides();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP cutover_sync_lag_seconds Lag of applied changes, from the change on one platform to its commit on the other."
    );
    let _ = writeln!(out, "# TYPE cutover_sync_lag_seconds summary");
    for from in sides {
        let lag = metrics.lag(*from);
        for (quantile, value) in [("0.5", lag.p50), ("0.95", lag.p95), ("0.99", lag.p99)] {
            let _ = writeln!(
                out,
                "cutover_sync_lag_seconds{{direction=\"{}\",quantile=\"{quantile}\"}} {value}",
                direction(*from)
            );
        }
        let _ = writeln!(
            out,
            "cutover_sync_lag_seconds_count{{direction=\"{}\"}} {}",
            direction(*from),
            lag.samples
        );
    }
    let counters: [Counter; 3] = [
        (
            "cutover_sync_changes_applied_total",
            "Changes written to the other side.",
            |m, s| m.applied_total(s),
        ),
        (
            "cutover_sync_echoes_suppressed_total",
            "Records read equal to their link, not written.",
            |m, s| m.echoes_total(s),
        ),
        (
            "cutover_sync_dead_lettered_total",
            "Records that went to the dead letters.",
            |m, s| m.dead_lettered_total(s),
        ),
    ];
    let recheck: [(&str, &str, u64); 3] = [
        (
            "cutover_sync_rechecked_total",
            "Records the rolling re-check compared.",
            metrics.rechecked_total(),
        ),
        (
            "cutover_sync_recheck_drift_total",
            "Records the rolling re-check found differing or missing, named to the bridge.",
            metrics.recheck_drift_total(),
        ),
        (
            "cutover_sync_recheck_repaired_total",
            "Records the rolling re-check found drifting, then equal again.",
            metrics.recheck_repaired_total(),
        ),
    ];
    for (name, help, value) in counters {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} counter");
        for from in sides {
            let _ = writeln!(
                out,
                "{name}{{direction=\"{}\"}} {}",
                direction(*from),
                value(metrics, *from)
            );
        }
    }
    for (name, help, value) in recheck {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} counter");
        let _ = writeln!(out, "{name} {value}");
    }
    let _ = writeln!(
        out,
        "# HELP cutover_leader 1 while this process leads (runs the bridge), 0 while it follows."
    );
    let _ = writeln!(out, "# TYPE cutover_leader gauge");
    let _ = writeln!(out, "cutover_leader {}", u8::from(state.leader.is_leader()));
    gateway(&mut out, state);
    out
}

/// The inbound gateway's counts, by channel, side and outcome.
fn gateway(out: &mut String, state: &AppState) {
    let name = "cutover_gateway_contacts_total";
    let _ = writeln!(
        out,
        "# HELP {name} Contacts of the inbound gateway: accepted, delivered, held, failed."
    );
    let _ = writeln!(out, "# TYPE {name} counter");
    for (channel, side, counts) in state.gateway.metrics.snapshot() {
        for (outcome, value) in [
            ("accepted", counts.accepted),
            ("delivered", counts.delivered),
            ("held", counts.held),
            ("failed", counts.failed),
        ] {
            if value > 0 {
                let _ = writeln!(
                    out,
                    "{name}{{channel=\"{channel}\",side=\"{side}\",outcome=\"{outcome}\"}} {value}"
                );
            }
        }
    }
    let steps = state.gateway.keeper.steps();
    let name = "cutover_gateway_keep_seconds";
    let _ = writeln!(
        out,
        "# HELP {name} The gateway keeper's steps per contact: queue, write, wake."
    );
    let _ = writeln!(out, "# TYPE {name} summary");
    for (step, p) in [
        ("queue", steps.queue),
        ("write", steps.write),
        ("wake", steps.wake),
    ] {
        summary(out, name, &format!("step=\"{step}\","), p);
    }
    let name = "cutover_gateway_keep_batch_contacts";
    let _ = writeln!(out, "# HELP {name} Contacts in each kept contact's batch.");
    let _ = writeln!(out, "# TYPE {name} summary");
    summary(out, name, "", steps.batch);
}

/// The lines of one summary: `labels` (each followed by a comma) before the quantile.
fn summary(out: &mut String, name: &str, labels: &str, p: cutover_engine::sync::LagPercentiles) {
    for (quantile, value) in [("0.5", p.p50), ("0.95", p.p95), ("0.99", p.p99)] {
        let _ = writeln!(out, "{name}{{{labels}quantile=\"{quantile}\"}} {value}");
    }
    match labels.trim_end_matches(',') {
        "" => writeln!(out, "{name}_count {}", p.samples),
        labels => writeln!(out, "{name}_count{{{labels}}} {}", p.samples),
    }
    .ok();
}
