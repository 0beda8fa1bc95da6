//! `cutover sync setup` and `cutover sync teardown`: the bridge's hooks on both platforms,
//! made and removed through each connector (`Connector::setup_hooks`, `teardown_hooks`).

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use cutover_connect::{HookChanges, WebhookSecret};
use cutover_model::Side;
use cutover_plan::Plan;
use cutover_plan::plan::names::Directions;
use serde::Serialize;
use url::Url;

use crate::context::Context;
use crate::exit::{Class, Outcome, fail};

/// The shortest secret accepted: a webhook secret is the only thing between the bridge's
/// intake and anyone who finds its address.
const MIN_SECRET_CHARS: usize = 16;

/// Which platforms to work on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Sides {
    /// Both platforms (only the old one when the plan syncs old to new only).
    Both,
    /// The old platform only.
    Old,
    /// The new platform only.
    New,
}

/// Options of `cutover sync setup`.
#[derive(Debug, Args)]
pub struct SetupArgs {
    /// The address where `cutover serve` is reached from the platforms, e.g.
    /// `https://cutover.acme.com`. Deliveries go to ENDPOINT/hooks/old and /hooks/new.
    #[arg(long, value_name = "URL")]
    pub endpoint: Url,
    /// Which platforms get hooks.
    #[arg(long, value_enum, default_value_t = Sides::Both)]
    pub side: Sides,
    /// Confirms that the requester e-mail notifications are switched off on each platform the
    /// bridge writes into whose API cannot switch them off (Freshdesk: Admin > Email
    /// Notifications), as `notifications_off = true` under [sync] in the plan does; without
    /// either, no hook is set up.
    #[arg(long)]
    pub notifications_off: bool,
    /// Print what was done as JSON on standard output.
    #[arg(long)]
    pub json: bool,
}

/// Options of `cutover sync teardown`.
#[derive(Debug, Args)]
pub struct TeardownArgs {
    /// Which platforms to remove hooks from.
    #[arg(long, value_enum, default_value_t = Sides::Both)]
    pub side: Sides,
    /// Print what was done as JSON on standard output.
    #[arg(long)]
    pub json: bool,
}

/// Where a side's deliveries go: `ENDPOINT/hooks/{side}` (where `cutover serve` takes them).
pub(crate) fn intake_url(endpoint: &Url, side: Side) -> anyhow::Result<Url> {
    let mut url = endpoint.clone();
    {
        let mut segments = url.path_segments_mut().map_err(|()| {
            fail(
                Class::Config,
                format!(
                    "--endpoint {endpoint}: not a base URL; pass where `cutover serve` is \
                     reached, e.g. `--endpoint https://cutover.acme.com`"
                ),
            )
        })?;
        segments.pop_if_empty().push("hooks").push(side.as_str());
    }
    Ok(url)
}

fn sides(plan: &Plan, wanted: Sides) -> Vec<Side> {
    match wanted {
        Sides::Old => vec![Side::Old],
        Sides::New => vec![Side::New],
        Sides::Both if plan.sync.directions == Directions::OldToNew => vec![Side::Old],
        Sides::Both => vec![Side::Old, Side::New],
    }
}

/// The webhook secret, from the variable the plan names.
fn secret(plan: &Plan, read: impl Fn(&str) -> Option<String>) -> anyhow::Result<WebhookSecret> {
    let Some(name) = &plan.sync.webhook_secret_env else {
        return Err(fail(
            Class::Config,
            "cutover.toml: [sync] webhook_secret_env is not set: name the environment variable \
             holding the webhook secret, e.g. webhook_secret_env = \"CUTOVER_WEBHOOK_SECRET\", \
             then run `cutover plan check`",
        ));
    };
    let value = read(name.as_str()).unwrap_or_default();
    if value.trim().is_empty() {
        return Err(fail(
            Class::Config,
            format!(
                "environment variable {name} (the plan's [sync] webhook_secret_env) is not set: set \
                 it to a long random secret (e.g. `export {name}=$(openssl rand -hex 32)`) and \
                 run the command again"
            ),
        ));
    }
    if value.chars().count() < MIN_SECRET_CHARS {
        return Err(fail(
            Class::Config,
            format!(
                "environment variable {name} holds a webhook secret shorter than {MIN_SECRET_CHARS} characters: use a long random one (e.g. `openssl rand -hex 32`)"
            ),
        ));
    }
    Ok(WebhookSecret::new(value))
}

/// What was done on one side.
#[derive(Debug, Serialize)]
struct SideReport {
    side: Side,
    platform: String,
    #[serde(flatten)]
    changes: HookChanges,
}

fn print(reports: &[SideReport], json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(reports)?);
        return Ok(());
    }
    for report in reports {
        let lists = [
            ("created", &report.changes.created),
            ("updated", &report.changes.updated),
            ("removed", &report.changes.removed),
        ];
        let n: usize = lists.iter().map(|(_, l)| l.len()).sum();
        let rules = [
            ("quieted", &report.changes.quieted),
            ("unquieted", &report.changes.unquieted),
        ];
        let mut quieting = String::new();
        for (verb, list) in rules.iter().filter(|(_, l)| !l.is_empty()) {
            quieting.push_str(&format!(
                ", {} of its rules that e-mail customers {verb}",
                list.len()
            ));
        }
        println!(
            "{} side ({}): {n} hooks changed{quieting}",
            report.side, report.platform
        );
        for (verb, list) in lists.into_iter().chain(rules) {
            for hook in list {
                println!("  {verb} {} {} \"{}\"", hook.what, hook.id, hook.name);
            }
        }
        for note in &report.changes.notes {
            println!("  note: {note}");
        }
    }
    Ok(())
}

/// Runs `cutover sync setup`.
pub(crate) async fn setup(ctx: &Context, args: SetupArgs) -> anyhow::Result<Outcome> {
    let plan = cutover_plan::plan::load(&ctx.plan_path)?;
    if !matches!(args.endpoint.scheme(), "http" | "https") {
        return Err(fail(
            Class::Config,
            format!(
                "--endpoint {}: expected an http or https URL, e.g. `--endpoint \
                 https://cutover.acme.com`",
                args.endpoint
            ),
        ));
    }
    if args.endpoint.scheme() == "http" {
        tracing::warn!(endpoint = %args.endpoint, "The endpoint is plain http: the platforms will send deliveries unencrypted (Freshdesk's carry the secret in a header).");
    }
    let mut written = Vec::new();
    for side in cutover_engine::sync::written_sides(&plan) {
        let connector = cutover_engine::connector(&plan, side, |name| std::env::var(name).ok())?;
        written.push((side, connector));
    }
    let written: Vec<(Side, &dyn cutover_connect::Connector)> =
        written.iter().map(|(s, c)| (*s, c.as_ref())).collect();
    cutover_engine::sync::notifications_gate(
        &written,
        plan.sync.notifications_off || args.notifications_off,
    )?;
    let secret = secret(&plan, |name| std::env::var(name).ok())?;
    let mut reports = Vec::new();
    for side in sides(&plan, args.side) {
        let connector = cutover_engine::connector(&plan, side, |name| std::env::var(name).ok())?;
        let url = intake_url(&args.endpoint, side)?;
        let changes = connector
            .setup_hooks(&url, &secret)
            .await
            .with_context(|| format!("set up the bridge's hooks on the {side} side"))?;
        reports.push(SideReport {
            side,
            platform: connector.platform().to_string(),
            changes,
        });
    }
    print(&reports, args.json)?;
    Ok(Outcome::Clean)
}

/// Runs `cutover sync teardown`.
pub(crate) async fn teardown(ctx: &Context, args: TeardownArgs) -> anyhow::Result<Outcome> {
    let plan = cutover_plan::plan::load(&ctx.plan_path)?;
    let wanted = match args.side {
        // Teardown removes whatever an earlier setup made, whatever the plan says now.
        Sides::Both => vec![Side::Old, Side::New],
        other => sides(&plan, other),
    };
    let mut reports = Vec::new();
    for side in wanted {
        let connector = cutover_engine::connector(&plan, side, |name| std::env::var(name).ok())?;
        let changes = connector
            .teardown_hooks()
            .await
            .with_context(|| format!("tear down the bridge's hooks on the {side} side"))?;
        reports.push(SideReport {
            side,
            platform: connector.platform().to_string(),
            changes,
        });
    }
    print(&reports, args.json)?;
    Ok(Outcome::Clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deliveries_go_under_the_endpoint_per_side() {
        let check = |endpoint: &str, side, expected: &str| {
            let url = intake_url(&Url::parse(endpoint).unwrap(), side).unwrap();
            assert_eq!(url.as_str(), expected);
        };
        check(
            "https://cutover.acme.com",
            Side::Old,
            "https://cutover.acme.com/hooks/old",
        );
        check(
            "https://cutover.acme.com/",
            Side::New,
            "https://cutover.acme.com/hooks/new",
        );
        check(
            "http://127.0.0.1:8080/bridge/",
            Side::Old,
            "http://127.0.0.1:8080/bridge/hooks/old",
        );
    }
}
