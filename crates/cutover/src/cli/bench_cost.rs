//! The cost figures of `cutover bench backfill`: requests per ticket on each side as the
//! emulators counted them, the floor for the same records (`cutover_engine::cost`), their
//! ratio, tickets an hour at common plan limits, and `cutover inventory`'s estimate of the
//! backfill's time set against the time measured.

use anyhow::Context as _;
use cutover_engine::cost::{self, Cost, Rate, SideCost, Volume};
use cutover_model::PlatformKind;
use serde_json::{Value, json};

/// The most requests a side may make over the floor (issue 16).
pub(super) const MAX_OVER_FLOOR: f64 = 1.25;

/// How far inventory's estimate of the time may miss the time measured (issue 17).
pub(super) const MAX_ESTIMATE_ERROR: f64 = 0.20;

/// Requests one side answered in a run, by what paces them.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Measured {
    /// Every request answered, downloads included.
    pub(super) total: u64,
    /// Of them, downloads (outside the API's limit).
    pub(super) downloads: u64,
    /// Of them, incremental exports (Zendesk's own limit).
    pub(super) exports: u64,
}

impl Measured {
    fn side_cost(&self) -> SideCost {
        SideCost {
            api: self.total.saturating_sub(self.downloads),
            downloads: self.downloads,
            exports: self.exports,
            ..SideCost::default()
        }
    }
}

/// Requests per ticket on each side against the floor for `volume` from `from` to `to`, and
/// tickets an hour at common plan limits with the engine's requests and with the floor's.
pub(super) fn figures(
    from: PlatformKind,
    to: PlatformKind,
    volume: &Volume,
    old: Measured,
    new: Measured,
) -> anyhow::Result<Value> {
    let floor = cost::floor(from, to, volume)?;
    let measured = Cost {
        old: old.side_cost(),
        new: new.side_cost(),
    };
    let tickets = volume.tickets.max(1) as f64;
    let per_ticket = |n: u64| n as f64 / tickets;
    let ratio = |m: u64, f: u64| m as f64 / f.max(1) as f64;
    let (old_ratio, new_ratio) = (
        ratio(measured.old.total(), floor.old.total()),
        ratio(measured.new.total(), floor.new.total()),
    );
    let worst = old_ratio.max(new_ratio);
    let at = |c: &Cost, rpm: u32| {
        let rate = |platform| Rate {
            platform,
            requests_per_minute: rpm,
            share: 1.0,
        };
        cost::estimate(c, volume.tickets, &rate(from), &rate(to)).tickets_per_hour
    };
    let per_hour: serde_json::Map<String, Value> = cost::plan_limits(to)
        .iter()
        .map(|rpm| {
            (
                rpm.to_string(),
                json!({ "engine": at(&measured, *rpm), "floor": at(&floor, *rpm) }),
            )
        })
        .collect();
    Ok(json!({
        "direction": format!("{from} → {to}"),
        "volume": volume,
        "requests_per_ticket": { "old": per_ticket(measured.old.total()),
                                 "new": per_ticket(measured.new.total()) },
        "floor_per_ticket": { "old": per_ticket(floor.old.total()),
                              "new": per_ticket(floor.new.total()) },
        "floor_requests": floor,
        "ratio": { "old": old_ratio, "new": new_ratio, "worst": worst },
        "max_ratio": MAX_OVER_FLOOR,
        "meets_floor": worst <= MAX_OVER_FLOOR,
        "tickets_per_hour_at_limit": per_hour,
    }))
}

/// Runs `cutover inventory --json` on the bench's plan (the user's path) and returns its
/// report, the estimate of the backfill's time included.
pub(super) async fn inventory(plan: &std::path::Path, store: &str) -> anyhow::Result<Value> {
    let mut command = super::bench_backfill::engine(plan, store)?;
    command.args(["inventory", "--json"]);
    eprintln!("Running `cutover inventory` for its estimate…");
    let output = command.output().await.context("run `cutover inventory`")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.trim())
        .with_context(|| format!("read the inventory's JSON ({}): {stdout}", output.status))
}

/// Inventory's estimate against the time measured: `measured_minutes` when the backfill ran
/// to its end, else its tickets an hour so far against the estimate's.
pub(super) fn estimate_check(
    inventory: &Value,
    measured_minutes: Option<f64>,
    measured_tickets_per_hour: f64,
) -> Value {
    let estimate = &inventory["estimate"]["time"];
    let (Some(minutes), Some(per_hour)) = (
        estimate["minutes"].as_f64(),
        estimate["tickets_per_hour"].as_f64(),
    ) else {
        return json!({ "estimated": Value::Null, "within_20_percent": Value::Null });
    };
    let (what, estimated, measured) = match measured_minutes {
        Some(m) => ("minutes", minutes, m),
        None => ("tickets_per_hour", per_hour, measured_tickets_per_hour),
    };
    let error = (estimated - measured).abs() / measured.max(f64::EPSILON);
    json!({
        "compared": what,
        "estimated": estimated,
        "measured": measured,
        "error": error,
        "within_20_percent": error <= MAX_ESTIMATE_ERROR,
        "volume_estimated": inventory["volume"],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_side_above_a_quarter_over_the_floor_misses_it() {
        let volume = Volume {
            tickets: 2000,
            comments: 16_000,
            attachments: 4000,
            users: 500,
            organizations: 50,
            ..Volume::default()
        };
        let floor = cost::floor(PlatformKind::Zendesk, PlatformKind::Zendesk, &volume).unwrap();
        let side = |total: u64, downloads: u64| Measured {
            total,
            downloads,
            exports: 0,
        };
        let at_floor = figures(
            PlatformKind::Zendesk,
            PlatformKind::Zendesk,
            &volume,
            side(floor.old.total(), 4000),
            side(floor.new.total() * 5 / 4, 0),
        )
        .unwrap();
        assert_eq!(at_floor["meets_floor"], true);
        assert_eq!(at_floor["ratio"]["worst"], 1.25);
        let over = figures(
            PlatformKind::Zendesk,
            PlatformKind::Zendesk,
            &volume,
            side(floor.old.total(), 4000),
            side(13_139, 0),
        )
        .unwrap();
        assert_eq!(over["meets_floor"], false);
        // 13,139 requests on the new side for 2,000 tickets: 6.57 a ticket.
        assert!((over["requests_per_ticket"]["new"].as_f64().unwrap() - 6.5695).abs() < 1e-9);
    }

    #[test]
    fn the_estimate_is_judged_on_minutes_when_the_run_ended() {
        let inventory =
            json!({ "estimate": { "time": { "minutes": 10.0, "tickets_per_hour": 600.0 } } });
        assert_eq!(
            estimate_check(&inventory, Some(11.0), 0.0)["within_20_percent"],
            true
        );
        assert_eq!(
            estimate_check(&inventory, Some(13.0), 0.0)["within_20_percent"],
            false
        );
        let partial = estimate_check(&inventory, None, 700.0);
        assert_eq!(partial["compared"], "tickets_per_hour");
        assert_eq!(partial["within_20_percent"], true);
    }
}
