//! `cutover wave` (start, pause, resume, status), `cutover gates` and `cutover rollback [N]`.
//! A start or a rollback is asked for through the store's journal (`cutover_runtime::switch`)
//! and followed as `cutover serve` carries it out, each step printed until it is done or
//! aborted; pause and resume are one audited step each (`cutover_runtime::pause`); the gates
//! are the runtime's (`cutover_runtime::gates`), which the API calls too.

use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use cutover_model::Side;
use cutover_plan::plan::model::Wave;
use cutover_runtime::routing::find_wave;
use cutover_runtime::switch::{self, Direction, Step, Switch, TakenContact};
use cutover_runtime::{GateReport, PhaseChange, RoutingState, RuntimeError, WavePhase};
use cutover_store::Store;
use serde_json::json;

use super::backfill::Setup;
use crate::context::Context;
use crate::exit::{Class, Outcome, fail};

/// How long a request may wait for `cutover serve` to pick it up before the command says so.
const PICKUP_NOTICE: Duration = Duration::from_secs(5);

/// The waves' commands.
#[derive(Debug, Subcommand)]
pub enum WaveCommand {
    /// Switch a wave to the new platform, the safe way, through the running `cutover serve`.
    ///
    /// The wave's gates are checked first. Then `cutover serve` holds the wave's new contacts,
    /// drains the forward bridge (old to new) to the moment of the hold (refused beforehand when
    /// the bridge lags more than the wave's `gates.max_sync_lag`), records where reverse sync
    /// starts, flips routing to the new side, moves the wave's agents and rules, and releases
    /// what was held. Every step is journalled in the store, so a `cutover serve` killed
    /// mid-switch resumes where it was; once routing flipped, the switch finishes. If the
    /// drain does not finish within the plan's `[sync] switch_timeout` (30s by default,
    /// counted from when the old platform's feed can show the hold: a minute more on Zendesk),
    /// the switch aborts itself and routing stays on the old side. Exits 0 when the wave is
    /// switched, 1 when the switch aborted.
    ///
    /// Example: cutover wave start 1 --as alice
    Start(StartArgs),
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

/// Options of `cutover wave start`.
#[derive(Debug, Args)]
pub struct StartArgs {
    /// The wave: its `name`, or its number in the plan (1 for the first).
    pub wave: String,
    /// Who starts it (for the audit log).
    #[arg(long = "as", value_name = "NAME", default_value = "operator")]
    pub actor: String,
    /// How long to follow the switch before leaving it to `cutover serve` (it goes on).
    #[arg(long, value_name = "SPAN", default_value = "10m")]
    pub follow: cutover_plan::plan::values::Duration,
    /// Print the journal of the finished switch as JSON on standard output.
    #[arg(long)]
    pub json: bool,
}

/// Options of `cutover rollback`.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The wave: its `name` or number; by default the wave switched last.
    pub wave: Option<String>,
    /// Who rolls it back (for the audit log).
    #[arg(long = "as", value_name = "NAME", default_value = "operator")]
    pub actor: String,
    /// How long to follow the rollback before leaving it to `cutover serve` (it goes on).
    #[arg(long, value_name = "SPAN", default_value = "10m")]
    pub follow: cutover_plan::plan::values::Duration,
    /// Print the journal and the report as JSON on standard output.
    #[arg(long)]
    pub json: bool,
}

/// Runs `cutover wave …`.
pub(crate) async fn run(ctx: &Context, command: WaveCommand) -> anyhow::Result<Outcome> {
    match command {
        WaveCommand::Start(args) => start(ctx, args).await,
        WaveCommand::Status(args) => gates(ctx, args).await,
        WaveCommand::Pause(args) => step(ctx, args, true).await,
        WaveCommand::Resume(args) => step(ctx, args, false).await,
    }
}

/// Whether wave `index` may start on this plan: its criteria hold and its sign-offs are
/// given. This is the one place `cutover wave start` asks the gates (the runtime decides,
/// audits the evaluation, and its refusal names what is unmet and the commands to run).
async fn check_gates(
    store: &dyn Store,
    plan: &cutover_plan::Plan,
    plan_text: &str,
    index: usize,
) -> anyhow::Result<()> {
    let digest = cutover_runtime::plan_digest(plan_text);
    match cutover_runtime::gates::require(store, plan, &digest, index, chrono::Utc::now()).await {
        Ok(_) => Ok(()),
        Err(e @ RuntimeError::GatesNotMet(_)) => Err(fail(Class::Config, e)),
        Err(e) => Err(e.into()),
    }
}

async fn start(ctx: &Context, args: StartArgs) -> anyhow::Result<Outcome> {
    let setup = Setup::open_with_waves(ctx, "cutover wave start").await?;
    let plan_text = tokio::fs::read_to_string(&ctx.plan_path)
        .await
        .with_context(|| format!("read {}", ctx.plan_path.display()))?;
    let (index, wave) = cutover_runtime::routing::find_wave(&setup.plan.waves, &args.wave)
        .map_err(|e| fail(Class::Config, e))?;
    check_gates(setup.store.as_ref(), &setup.plan, &plan_text, index).await?;
    let asked = switch::request_start(setup.store.as_ref(), wave, &args.actor, false)
        .await
        .map_err(refused)?;
    if !args.json {
        println!("Starting wave {:?} (switch {}).", wave.name, asked.id);
    }
    let done = follow(
        setup.store.as_ref(),
        &asked.id,
        args.follow.get(),
        !args.json,
    )
    .await?;
    let Some(done) = done else {
        return Ok(Outcome::Findings);
    };
    if args.json {
        println!("{}", serde_json::to_string(&done)?);
    } else if done.step == Step::Done {
        println!(
            "Wave {:?} is on the new side (routing flipped {} ms after the request).",
            done.wave,
            done.flip_ms.unwrap_or(0)
        );
    }
    Ok(if done.step == Step::Done {
        Outcome::Clean
    } else {
        Outcome::Findings
    })
}

/// Runs `cutover rollback`.
pub(crate) async fn rollback(ctx: &Context, args: RollbackArgs) -> anyhow::Result<Outcome> {
    let setup = Setup::open_with_waves(ctx, "cutover rollback").await?;
    let store = setup.store.as_ref();
    let wave = match &args.wave {
        Some(named) => {
            cutover_runtime::routing::find_wave(&setup.plan.waves, named)
                .map_err(|e| fail(Class::Config, e))?
                .1
        }
        None => last_switched(store, &setup.plan.waves).await?,
    };
    let asked = switch::request_rollback(store, wave, &args.actor, false)
        .await
        .map_err(refused)?;
    let flip_ms = asked.flip_ms.unwrap_or(0);
    if !args.json {
        println!(
            "Rolling back wave {:?} (switch {}): routing is back on the old side, {flip_ms} ms after the command.",
            wave.name, asked.id
        );
    }
    let done = follow(store, &asked.id, args.follow.get(), !args.json).await?;
    let Some(done) = done else {
        return Ok(Outcome::Findings);
    };
    let old = setup.connector(Side::Old)?;
    let since = done.wave_since.unwrap_or(done.requested_at);
    let taken = switch::contacts_taken(store, old.as_ref(), since).await?;
    print_report(&done, &taken, args.json)?;
    let missing = taken.iter().any(|t| !t.on_old);
    Ok(if done.drained == Some(true) && !missing {
        Outcome::Clean
    } else {
        Outcome::Findings
    })
}

/// Prints a rollback's report: the flip, the drain, and every contact the new side took.
pub(crate) fn print_report(
    done: &Switch,
    taken: &[TakenContact],
    as_json: bool,
) -> anyhow::Result<()> {
    if as_json {
        let report = json!({
            "switch": done,
            "routing_flip_ms": done.flip_ms,
            "reverse_drained": done.drained,
            "reverse_drain_ms": done.drain_ms,
            "contacts": taken,
        });
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    println!(
        "Routing flipped back in {} ms; the reverse bridge {} in {} ms.",
        done.flip_ms.unwrap_or(0),
        if done.drained == Some(true) {
            "drained"
        } else {
            "had not drained"
        },
        done.drain_ms.unwrap_or(0)
    );
    let (gateway, tickets): (Vec<&TakenContact>, Vec<&TakenContact>) =
        taken.iter().partition(|t| t.contact.is_some());
    println!(
        "{} contact(s) the new side took during the wave:",
        tickets.len()
    );
    let state = |t: &TakenContact| {
        if t.on_old {
            "on the old side"
        } else {
            "NOT on the old side"
        }
    };
    for t in tickets {
        println!(
            "  new ticket {} -> old ticket {}: {} ({})",
            t.new_id,
            t.old_id,
            state(t),
            t.old_read
        );
    }
    println!(
        "{} gateway contact(s) delivered to the new side during the wave:",
        gateway.len()
    );
    for t in gateway {
        println!(
            "  contact {} ({} from {}, {}) -> new ticket {} -> old ticket {}: {} ({})",
            t.contact.unwrap_or_default(),
            t.channel.as_deref().unwrap_or_default(),
            t.customer.as_deref().unwrap_or_default(),
            if t.follow_up == Some(true) {
                "follow-up"
            } else {
                "new ticket"
            },
            t.new_id,
            if t.old_id.is_empty() { "-" } else { &t.old_id },
            state(t),
            t.old_read
        );
    }
    for problem in &done.problems {
        println!("  note: {problem}");
    }
    Ok(())
}

/// The switched wave whose routing changed last.
async fn last_switched<'a>(store: &dyn Store, waves: &'a [Wave]) -> anyhow::Result<&'a Wave> {
    let routing = RoutingState::load(store).await?;
    waves
        .iter()
        .filter_map(|w| {
            let r = routing.waves.get(&w.name)?;
            matches!(r.phase, WavePhase::New | WavePhase::Paused).then_some((r.changed_at, w))
        })
        .max_by_key(|(at, _)| *at)
        .map(|(_, w)| w)
        .ok_or_else(|| {
            fail(
                Class::Config,
                "no wave is switched: nothing to roll back (`cutover wave status` shows each \
                 wave's phase)",
            )
        })
}

fn refused(e: RuntimeError) -> anyhow::Error {
    match e {
        RuntimeError::Refused(message) => fail(Class::Config, message),
        other => anyhow::Error::new(other),
    }
}

/// Follows the switch `id` in the journal, printing each step as it is reached (when `print`),
/// until it ends or `limit` passes; answers the journal at its end, `None` when it had not
/// ended (it goes on in `cutover serve`).
pub(crate) async fn follow(
    store: &dyn Store,
    id: &str,
    limit: Duration,
    print: bool,
) -> anyhow::Result<Option<Switch>> {
    let started = tokio::time::Instant::now();
    let mut shown = 0;
    let mut noticed = false;
    loop {
        let current = Switch::load(store)
            .await?
            .filter(|s| s.id == id)
            .ok_or_else(|| {
                fail(
                    Class::Internal,
                    format!("switch {id} is gone from the journal"),
                )
            })?;
        if print {
            for entry in current.history.iter().skip(shown) {
                println!(
                    "  {} {:<10} {}",
                    entry.at.format("%H:%M:%S%.3f"),
                    entry.step.as_str(),
                    entry.note
                );
            }
        }
        shown = current.history.len();
        if current.step.is_final() {
            return Ok(Some(current));
        }
        let waiting_for_serve = match current.direction {
            Direction::Forward => current.step == Step::Requested,
            Direction::Back => current.step == Step::Flipped,
        };
        if waiting_for_serve && !noticed && started.elapsed() >= PICKUP_NOTICE {
            noticed = true;
            eprintln!(
                "Nothing has picked the switch up in {}s: start `cutover serve` on this store (it carries the switch out).",
                PICKUP_NOTICE.as_secs()
            );
        }
        if started.elapsed() >= limit {
            eprintln!(
                "Stopped following switch {id} at step {}: `cutover serve` carries it on.",
                current.step.as_str()
            );
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `cutover wave pause` (`pause`) or `resume`.
async fn step(ctx: &Context, args: WaveArgs, pause: bool) -> anyhow::Result<Outcome> {
    let command = if pause {
        "cutover wave pause"
    } else {
        "cutover wave resume"
    };
    let setup = Setup::open_with_waves(ctx, command).await?;
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
    let setup = Setup::open_with_waves(ctx, "cutover gates").await?;
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
