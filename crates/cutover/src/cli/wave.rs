//! `cutover wave` (pause, resume, status) and `cutover gates`: where each wave stands and
//! whether its gates hold. The steps themselves are the runtime's (`cutover_runtime::pause`,
//! `cutover_runtime::gates`), which the API calls too.

use clap::{Args, Subcommand};
use cutover_runtime::routing::{RoutingState, find_wave};
use cutover_runtime::{GateReport, PhaseChange};
use serde_json::json;

use super::backfill::Setup;
use crate::context::Context;
use crate::exit::Outcome;

/// Work with the waves of the plan.
#[derive(Debug, Subcommand)]
pub enum WaveCommand {
    /// Show each wave's phase (old, holding, new, paused), its gates and sign-offs.
    ///
    /// The same as `cutover gates`: every criterion the wave's `[waves.gates]` asks for, met or
    /// not, with the values it was decided on and the command that moves it on.
    ///
    /// Example: cutover wave status 1 --json
    Status(GatesArgs),
    /// Hold a switched wave where it is: its customers stay on the new side, and nothing moves
    /// it on (phase new to paused). Recorded in the audit log.
    ///
    /// Example: cutover wave pause pilot
    Pause(WaveArgs),
    /// Let a paused wave go on (phase paused to new). Recorded in the audit log.
    ///
    /// Example: cutover wave resume pilot
    Resume(WaveArgs),
}

/// A wave named on the command line.
#[derive(Debug, Args)]
pub struct WaveArgs {
    /// The wave: its number in the plan (1 for the first) or its name.
    #[arg(value_name = "WAVE")]
    pub wave: String,
}

/// Options of `cutover gates` and `cutover wave status`.
#[derive(Debug, Args)]
pub struct GatesArgs {
    /// Only this wave: its number in the plan (1 for the first) or its name; every wave
    /// without it.
    #[arg(value_name = "WAVE")]
    pub wave: Option<String>,
    /// Print `{"waves": [report, …]}` as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs a `wave` subcommand.
pub(crate) async fn run(ctx: &Context, command: WaveCommand) -> anyhow::Result<Outcome> {
    match command {
        WaveCommand::Status(args) => gates(ctx, args).await,
        WaveCommand::Pause(args) => step(ctx, args, true).await,
        WaveCommand::Resume(args) => step(ctx, args, false).await,
    }
}

/// `cutover wave pause` (`pause`) or `resume`.
async fn step(ctx: &Context, args: WaveArgs, pause: bool) -> anyhow::Result<Outcome> {
    let setup = Setup::open(ctx).await?;
    let (index, _) = find_wave(&setup.plan.waves, &args.wave)?;
    let store = setup.store.as_ref();
    let (actor, now) = (super::token::actor(), chrono::Utc::now());
    let change = if pause {
        cutover_runtime::pause::pause(store, &setup.plan, index, &actor, "cli", now).await?
    } else {
        cutover_runtime::pause::resume(store, &setup.plan, index, &actor, "cli", now).await?
    };
    println!("{}", change_line(index, &change));
    Ok(Outcome::Clean)
}

/// One line on what a pause or resume did.
fn change_line(index: usize, change: &PhaseChange) -> String {
    let wave = format!("Wave {} {:?}", index + 1, change.wave);
    if change.changed {
        format!(
            "{wave}: {} to {} (recorded in the audit log).",
            change.from.as_str(),
            change.to.as_str()
        )
    } else {
        format!("{wave} is {} already: nothing changed.", change.to.as_str())
    }
}

/// `cutover gates [WAVE]`: each wave's phase and gates.
pub(crate) async fn gates(ctx: &Context, args: GatesArgs) -> anyhow::Result<Outcome> {
    let setup = Setup::open(ctx).await?;
    let digest = Setup::plan_digest(ctx)?;
    let indexes: Vec<usize> = match &args.wave {
        Some(named) => vec![find_wave(&setup.plan.waves, named)?.0],
        None => (0..setup.plan.waves.len()).collect(),
    };
    let now = chrono::Utc::now();
    let mut reports: Vec<GateReport> = Vec::new();
    for index in indexes {
        reports.push(
            cutover_runtime::gates::evaluate(
                setup.store.as_ref(),
                &setup.plan,
                &digest,
                index,
                now,
            )
            .await?,
        );
    }
    if args.json {
        let routing = RoutingState::load(setup.store.as_ref()).await?;
        println!(
            "{}",
            serde_json::to_string_pretty(
                &json!({ "generation": routing.generation, "waves": reports })
            )?
        );
    } else {
        for (n, report) in reports.iter().enumerate() {
            if n > 0 {
                println!();
            }
            print!("{}", report.text());
        }
    }
    Ok(Outcome::Clean)
}
