//! `cutover sync …`: the bridge seen from outside `cutover serve` (status and drain, through the
//! store) and the hooks that tell it of changes (setup and teardown, in `sync_hooks.rs`).

use clap::{Args, Subcommand};
use cutover_engine::sync::{self, BridgeOptions, Drained};
use cutover_plan::plan::values::Duration;

use super::backfill::Setup;
use super::sync_hooks;
use crate::context::Context;
use crate::exit::Outcome;
use cutover_model::Side;

/// The bridge's commands.
#[derive(Debug, Subcommand)]
pub enum SyncCommand {
    /// Each direction's position, lag percentiles and what is in flight, as `cutover serve`
    /// last wrote them to the store.
    ///
    /// Then the rolling re-check of the records changed lately (`[sync] recheck_every`) and the
    /// scheduled verify (`[sync] verify_every`): what each compared, found drifting (named to
    /// the bridge to read again) and saw repaired.
    Status(StatusArgs),
    /// Waits until everything changed on either side up to now is applied on the other (by a
    /// running `cutover serve`); exits 1 on timeout, naming what is still in flight.
    ///
    /// Asks the running `cutover serve` for a pass at once, through the store (serve looks for
    /// the request four times a second, so it may run on another host as long as it shares the
    /// store), rather than waiting for the plan's poll interval. A side whose change feed shows
    /// changes late cannot prove "everything up to now" before that delay has passed: Zendesk's
    /// incremental exports leave out their last minute, so draining a Zendesk side takes a
    /// little over a minute (serve runs the pass that proves it as soon as it can); a Freshdesk
    /// side drains in seconds. On timeout it names, per direction, the time it is caught up
    /// to, how far that is behind the drain, the records still waiting for a parent (how
    /// many, the oldest, each named) and how many records wait to be read again (a read or
    /// write that failed after the connector's retries; they are retried on every pass).
    ///
    /// Example: cutover sync drain --timeout 5m
    Drain(DrainArgs),
    /// Register the hooks that tell the bridge of changes, on both platforms.
    ///
    /// On Zendesk: a webhook that signs every delivery with the secret (HMAC-SHA256), the two
    /// triggers that call it (ticket created, ticket updated: a comment added is an update), and
    /// a webhook subscribed to user and organization events. On Freshdesk, which has no webhook
    /// API and signs nothing: two automation rules (ticket creation, ticket update) whose
    /// webhook action sends the secret in the `X-Cutover-Webhook-Secret` header. Every hook's
    /// name starts with `cutover bridge (old side)` or `(new side)`.
    ///
    /// Deliveries go to ENDPOINT/hooks/old and ENDPOINT/hooks/new, where `cutover serve`
    /// takes them. The secret comes from the environment variable the plan names in `[sync]
    /// webhook_secret_env` (at least 16 characters; it is never printed). Running it again
    /// makes nothing twice: hooks found from an earlier run are brought up to date (a new
    /// endpoint, a new secret). With `[sync] directions = "old_to_new"` only the old side gets
    /// hooks. Webhooks are a hint to read now: polling stays the truth, so a lost delivery costs
    /// lag, never data.
    ///
    /// Example: CUTOVER_WEBHOOK_SECRET=… cutover sync setup --endpoint https://cutover.acme.com
    Setup(sync_hooks::SetupArgs),
    /// Remove exactly the hooks `cutover sync setup` made, on both platforms.
    ///
    /// Finds them by their names (`cutover bridge (old side)…`, `cutover bridge (new side)…`)
    /// and removes them, triggers before the webhook they call; hooks anyone else made are left
    /// alone. Safe to run twice: the second run finds nothing to remove. Needs no secret.
    ///
    /// Example: cutover sync teardown --side new
    Teardown(sync_hooks::TeardownArgs),
}

/// Options of `cutover sync status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print the status as JSON: an object with `directions` (one status each), `recheck` and
    /// `scheduled_verify` (null before their first run).
    #[arg(long)]
    pub json: bool,
}

/// Options of `cutover sync drain`.
#[derive(Debug, Args)]
pub struct DrainArgs {
    /// How long to wait (30s, 5m).
    #[arg(long, value_name = "SPAN", default_value = "30s")]
    pub timeout: Duration,
}

/// Runs `cutover sync …`.
pub(crate) async fn run(ctx: &Context, command: SyncCommand) -> anyhow::Result<Outcome> {
    match command {
        SyncCommand::Status(args) => status(ctx, args).await,
        SyncCommand::Drain(args) => drain(ctx, args).await,
        SyncCommand::Setup(args) => sync_hooks::setup(ctx, args).await,
        SyncCommand::Teardown(args) => sync_hooks::teardown(ctx, args).await,
    }
}

/// Whether each side the bridge writes into keeps its writes from e-mailing customers, read
/// now (Zendesk: every trigger that e-mails customers carries `sync setup`'s condition; else
/// bridged public replies are written private, and the line names the triggers). A side with
/// nothing to check says nothing; one that cannot be read says why.
async fn quiet_checks(ctx: &Context) -> Vec<serde_json::Value> {
    let setup = match Setup::open(ctx).await {
        Ok(setup) => setup,
        Err(e) => {
            return vec![serde_json::json!({
                "line": format!("e-mail quieting not checked: {e:#}"),
            })];
        }
    };
    let mut checks = Vec::new();
    for side in sync::written_sides(&setup.plan) {
        let connector = match setup.connector(side) {
            Ok(connector) => connector,
            Err(e) => {
                checks.push(serde_json::json!({
                    "side": side,
                    "line": format!("{side} side: e-mail quieting not checked: {e:#}"),
                }));
                continue;
            }
        };
        let platform = connector.platform();
        match connector.check_quiet().await {
            Ok(None) => {}
            Ok(Some(check)) => checks.push(serde_json::json!({
                "side": side,
                "platform": platform,
                "quiet": check.is_quiet(),
                "loud": check.loud,
                "line": check.describe(platform, side),
            })),
            Err(e) => checks.push(serde_json::json!({
                "side": side,
                "platform": platform,
                "quiet": false,
                "line": format!("{platform} ({side} side): e-mail quieting not checked ({e}); bridged public replies are written as private notes"),
            })),
        }
    }
    checks
}

async fn status(ctx: &Context, args: StatusArgs) -> anyhow::Result<Outcome> {
    let store = ctx.open_store().await?;
    let statuses = sync::status::load(store.as_ref()).await?;
    let reconciled = sync::reconcile::last(store.as_ref()).await?;
    let rechecked = sync::recheck::last(store.as_ref()).await?;
    let quiet = quiet_checks(ctx).await;
    if args.json {
        let all = serde_json::json!({
            "directions": statuses,
            "recheck": rechecked,
            "scheduled_verify": reconciled,
            "quiet": quiet,
        });
        println!("{}", serde_json::to_string(&all)?);
        return Ok(Outcome::Clean);
    }
    if statuses.is_empty() {
        println!("No bridge status yet: `cutover serve` has not finished a pass.");
    }
    for status in &statuses {
        let from = status.from;
        println!("{from} to {}:", from.other());
        let caught = status
            .caught_up_to
            .map_or_else(|| "nothing yet".to_owned(), |t| t.to_rfc3339());
        println!("  caught up to   {caught}");
        for (kind, at) in &status.positions {
            let at = at.map_or_else(|| "start".to_owned(), |t| t.to_rfc3339());
            println!("  position {kind:<12} {at}");
        }
        println!(
            "  lag            p50 {:.1}s  p95 {:.1}s  p99 {:.1}s  ({} changes)",
            status.lag.p50, status.lag.p95, status.lag.p99, status.lag.samples
        );
        println!(
            "  applied {}, echoes suppressed {}, dead-lettered {}",
            status.applied, status.echoes_suppressed, status.dead_lettered
        );
        println!("  in flight      {}", status.in_flight.len());
        println!("  to read again  {}", status.read_again);
        for waiting in &status.in_flight {
            println!("    {waiting}");
        }
        println!("  as of          {}", status.at.to_rfc3339());
    }
    if let Some(last) = rechecked {
        let at = last
            .at
            .map_or_else(|| "never".to_owned(), |t| t.to_rfc3339());
        let since = last
            .since
            .map_or_else(|| "?".to_owned(), |t| t.to_rfc3339());
        println!(
            "rolling re-check: {} run(s), the last at {at} (changes since {since}): {} re-checked, {} drifting (named to the bridge to read again), {} repaired; in all {} re-checked, {} drift found, {} repaired",
            last.runs,
            last.rechecked,
            last.drift.len(),
            last.repaired,
            last.rechecked_total,
            last.drift_total,
            last.repaired_total
        );
        for drift in &last.drift {
            println!("  drifting {drift}");
        }
        if last.unread > 0 {
            println!("  not read (tried again): {}", last.unread);
        }
        if last.deferred > 0 {
            println!(
                "  left for the next run (changed since the bridge's feed read them): {}",
                last.deferred
            );
        }
        if let Some(error) = &last.error {
            println!("  the last run failed: {error}");
        }
    }
    if let Some(last) = reconciled {
        let at = last
            .at
            .map_or_else(|| "never".to_owned(), |t| t.to_rfc3339());
        println!(
            "scheduled verify: {} run(s), the last at {at}: {} matched, {} drifting (named to the bridge to read again), {} repaired since the run before ({} in all)",
            last.runs,
            last.matched,
            last.drift.len(),
            last.repaired,
            last.repaired_total
        );
        for drift in &last.drift {
            println!("  drifting {drift}");
        }
        if let Some(error) = &last.error {
            println!("  the last run failed: {error}");
        }
    }
    for check in &quiet {
        println!("{}", check["line"].as_str().unwrap_or_default());
    }
    for side in [Side::Old, Side::New] {
        if let Some(claim) = cutover_engine::live::current(store.as_ref(), side).await? {
            println!(
                "{side} side's budget: the bridge claims {:.0} requests a minute (used {:.0}); a backfill or verify beside it leaves it those",
                claim.per_minute, claim.used_per_minute
            );
        }
    }
    Ok(Outcome::Clean)
}

async fn drain(ctx: &Context, args: DrainArgs) -> anyhow::Result<Outcome> {
    let setup = Setup::open(ctx).await?;
    let directions = BridgeOptions::from_plan(&setup.plan).from;
    let every = std::time::Duration::from_millis(250);
    match sync::drain(setup.store.as_ref(), &directions, args.timeout.get(), every).await? {
        Drained::Done => {
            println!("Drained: every change up to the drain is applied both ways.");
            Ok(Outcome::Clean)
        }
        Drained::TimedOut(behind) => {
            eprintln!(
                "Drain timed out after {:?}; still in flight:",
                args.timeout.get()
            );
            for direction in behind {
                eprintln!("  {}", direction.to_string().replace('\n', "\n  "));
            }
            Ok(Outcome::Findings)
        }
    }
}
