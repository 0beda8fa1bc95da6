//! `cutover alerts`: the continuity monitor's alerts, current and recent, with their evidence.

use clap::Args;
use serde_json::json;

use crate::context::Context;
use crate::exit::Outcome;
use anyhow::Context as _;

/// Options of `cutover alerts`.
#[derive(Debug, Args)]
pub struct AlertsArgs {
    /// How many alerts to show, the most recently opened first.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub limit: u32,
    /// Print JSON: each alert with its full evidence (values, baseline, sample sizes, the
    /// query window) as the store keeps it.
    #[arg(long)]
    pub json: bool,
}

/// Runs `cutover alerts`.
pub(crate) async fn run(ctx: &Context, args: AlertsArgs) -> anyhow::Result<Outcome> {
    let store = ctx.open_store().await?;
    let alerts = store.alerts(args.limit).await.context("read the alerts")?;
    if args.json {
        let list: Vec<_> = alerts
            .iter()
            .map(|a| {
                json!({
                    "id": a.id, "rule": a.rule, "kpi": a.kpi, "state": a.state,
                    "action": a.action, "opened_at": a.opened_at, "closed_at": a.closed_at,
                    "updated_at": a.updated_at, "evidence": a.evidence,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "alerts": list }))?
        );
        return Ok(Outcome::Clean);
    }
    if alerts.is_empty() {
        println!(
            "No alerts. The leading `cutover serve` evaluates the plan's [[alerts]] every \
             [monitor] every (default 60s)."
        );
        return Ok(Outcome::Clean);
    }
    for a in &alerts {
        let e = &a.evidence;
        let c = &e["comparison"];
        let number =
            |v: &serde_json::Value| v.as_f64().map_or("-".to_owned(), |v| format!("{v:.2}"));
        println!(
            "{:<12} {} ({} on the {} side, then {}), opened {}{}",
            a.state.to_uppercase(),
            a.rule,
            a.kpi,
            e["side"].as_str().unwrap_or("-"),
            a.action,
            a.opened_at.format("%Y-%m-%d %H:%M UTC"),
            a.closed_at
                .map(|t| format!(", cleared {}", t.format("%Y-%m-%d %H:%M UTC")))
                .unwrap_or_default(),
        );
        println!(
            "  now {} (n={}) vs baseline {} ± {} (weeks={}, n={}); worse by {}; window {} to {}",
            number(&c["now"]["value"]),
            c["now"]["samples"],
            number(&c["baseline"]["mean"]),
            number(&c["baseline"]["std_dev"]),
            c["baseline"]["weeks"],
            c["baseline"]["samples"],
            e["worse_by"]
                .as_f64()
                .map_or("-".to_owned(), |w| format!("{:.0} %", w * 100.0)),
            e["window"]["from"].as_str().unwrap_or("-"),
            e["window"]["to"].as_str().unwrap_or("-"),
        );
        if let Some(reason) = e["reading"]["reason"].as_str() {
            println!("  inconclusive: {reason}");
        }
    }
    Ok(Outcome::Clean)
}
