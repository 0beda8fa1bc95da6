//! `cutover sync …`: the bridge seen from outside `cutover serve`, through the store.

use clap::{Args, Subcommand};
use cutover_control::plan::values::Duration;
use cutover_engine::sync::{self, BridgeOptions, Drained};

use super::backfill::Setup;
use crate::context::Context;
use crate::exit::Outcome;

/// The bridge's commands.
#[derive(Debug, Subcommand)]
pub enum SyncCommand {
    /// Each direction's position, lag percentiles and what is in flight, as `cutover serve`
    /// last wrote them to the store.
    Status(StatusArgs),
    /// Waits until everything changed on either side up to now is applied on the other (by a
    /// running `cutover serve`); exits 1 on timeout, naming what is still in flight.
    Drain(DrainArgs),
}

/// Options of `cutover sync status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print the status as JSON.
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
    }
}

async fn status(ctx: &Context, args: StatusArgs) -> anyhow::Result<Outcome> {
    let store = ctx.open_store().await?;
    let statuses = sync::status::load(store.as_ref()).await?;
    if args.json {
        println!("{}", serde_json::to_string(&statuses)?);
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
        for waiting in &status.in_flight {
            println!("    {waiting}");
        }
        println!("  as of          {}", status.at.to_rfc3339());
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
            for line in behind {
                eprintln!("  {line}");
            }
            Ok(Outcome::Findings)
        }
    }
}
