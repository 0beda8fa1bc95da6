//! `cutover backfill`: copy all history from the old platform to the new one. Before it starts
//! it states the time the cost model gives at the plan's limits; the progress display's ETA
//! starts from it and follows the measured rate once there is one.

use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use cutover_engine::{BackfillOptions, backfill};
use cutover_model::Side;
use cutover_plan::Plan;
use cutover_store::Store;

use crate::context::Context;
use crate::exit::Outcome;

/// Options of `cutover backfill`.
#[derive(Debug, Args)]
pub struct BackfillArgs {
    /// Count what would be created and updated; write nothing to either platform or the store.
    #[arg(long)]
    pub dry_run: bool,
    /// Writes in flight at once. They share the new platform's rate budget, which paces them.
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub concurrency: usize,
    /// Print the result as JSON on standard output (progress goes to the log: bars on a
    /// terminal, JSON events with `--log-format json`).
    #[arg(long)]
    pub json: bool,
    /// Confirm that the new platform's own e-mails to requesters on ticket creation are off
    /// (Freshdesk's "New Ticket Created" acknowledgement, which its API cannot switch off).
    /// Same as `target_notifications_off = true` under [copy] in the plan; without either, a
    /// backfill into such a platform asks on a terminal and refuses elsewhere.
    #[arg(long)]
    pub notifications_off: bool,
    /// Start even though the old account holds values the plan does not decide: their records
    /// go to the dead letters. Without it, the backfill lists them and refuses (exit code 1).
    #[arg(long)]
    pub allow_unmapped: bool,
}

/// What the engine commands work with: the plan, the store and both platforms.
pub(super) struct Setup {
    pub(super) plan: Plan,
    pub(super) store: Arc<dyn Store>,
}

impl Setup {
    /// Loads the plan and opens the store.
    pub(super) async fn open(ctx: &Context) -> anyhow::Result<Self> {
        let plan = cutover_plan::plan::load(&ctx.plan_path)?;
        let store = ctx.open_store().await?;
        Ok(Setup { plan, store })
    }

    /// Loads a plan that must have waves (`command` switches traffic by them) and opens the
    /// store; a backfill-only plan is refused with what to add, before the store is touched.
    pub(super) async fn open_with_waves(ctx: &Context, command: &str) -> anyhow::Result<Self> {
        let plan = cutover_plan::plan::load(&ctx.plan_path)?;
        plan.require_waves(command)?;
        let store = ctx.open_store().await?;
        Ok(Setup { plan, store })
    }

    /// The connectors of both sides, every missing credential of either named at once.
    pub(super) fn connectors(&self) -> anyhow::Result<cutover_engine::connectors::Pair> {
        Ok(cutover_engine::connectors(&self.plan, |name| {
            std::env::var(name).ok()
        })?)
    }

    /// The digest of the plan file (`cutover_runtime::plan_digest`): what ties a verification,
    /// a drill or a sign-off to this plan.
    pub(super) fn plan_digest(ctx: &Context) -> anyhow::Result<String> {
        let text = std::fs::read_to_string(&ctx.plan_path)
            .with_context(|| format!("read the plan {}", ctx.plan_path.display()))?;
        Ok(cutover_runtime::plan_digest(&text))
    }

    /// The connector of one side, credentials from the variables the plan names.
    pub(super) fn connector(
        &self,
        side: Side,
    ) -> anyhow::Result<Arc<dyn cutover_connect::Connector>> {
        Ok(cutover_engine::connector(&self.plan, side, |name| {
            std::env::var(name).ok()
        })?)
    }
}

/// Runs `cutover backfill`.
pub(crate) async fn run(ctx: &Context, args: BackfillArgs) -> anyhow::Result<Outcome> {
    let setup = Setup::open(ctx).await?;
    let (old, new) = setup.connectors()?;
    let mut options = BackfillOptions::from_plan(&setup.plan);
    options.dry_run = args.dry_run;
    options.notifications_off |= args.notifications_off;
    options.allow_unmapped = args.allow_unmapped;
    let caps = new.capabilities();
    if options.awaits_notifications_confirmed(&caps) {
        options.notifications_off = confirm_notifications_off(caps.platform)?;
    }
    options.concurrency = args.concurrency.max(1);
    let per_ticket = estimate(&setup.plan, old.as_ref()).await;
    options.progress = crate::progress::sink_with_model(ctx.log_format, per_ticket);
    let mapping = cutover_engine::Mapping::for_plan(&setup.plan);
    // Beside a running bridge, the backfill leaves it the part of each budget it claims.
    let budgets = vec![(Side::Old, old.budget()), (Side::New, new.budget())];
    let store = setup.store.clone();
    let run = backfill(setup.store, old, new, mapping, options);
    let report = match cutover_engine::live::beside_the_bridge(store, budgets, run).await {
        Ok(report) => report,
        Err(cutover_engine::EngineError::Unmapped(open)) => {
            // Findings, not a failure: the list says what to decide (exit code 1).
            eprintln!("{}", cutover_engine::EngineError::Unmapped(open));
            return Ok(Outcome::Findings);
        }
        Err(e) => return Err(e.into()),
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", report.summary());
        let dead: u64 = report.kinds.values().map(|c| c.dead_lettered).sum();
        if dead > 0 {
            println!("{dead} record(s) went to the dead letters: see `cutover deadletters list`.");
        }
    }
    Ok(Outcome::Clean)
}

/// The backfill's time at the plan's limits from the cost model (docs/cost.md), on the platform's
/// own counts and the comments of a few tickets, said before anything moves; the seconds a
/// ticket takes by it, which the progress display's ETA starts from until the measured rate
/// takes over. `None` (and nothing said) when the platform does not count its tickets or the
/// direction is not modelled; a failed read only loses the estimate.
async fn estimate(plan: &Plan, old: &dyn cutover_connect::Connector) -> Option<f64> {
    let volume = match cutover_engine::inventory::sample_volume(old).await {
        Ok(volume) => volume?,
        Err(e) => {
            tracing::warn!(error = %e, "Could not estimate the backfill's time.");
            return None;
        }
    };
    let cost =
        cutover_engine::cost::expected(plan.old.platform, plan.new.platform, &volume).ok()?;
    let (old_rate, new_rate) = (
        super::inventory::rate(&plan.old),
        super::inventory::rate(&plan.new),
    );
    let time = cutover_engine::cost::estimate(&cost, volume.tickets, &old_rate, &new_rate);
    tracing::info!(
        minutes = time.minutes,
        tickets = volume.tickets,
        comments = volume.comments,
        attachments = volume.attachments,
        tickets_per_hour = time.tickets_per_hour,
        "Estimated the backfill's time from the cost model: {} for {} tickets, about {} an hour \
         at the plan's limits (paced by the {} side).",
        cutover_engine::cost::duration(time.minutes * 60.0),
        cutover_engine::text::count(volume.tickets),
        cutover_engine::text::count(time.tickets_per_hour.round() as u64),
        time.paced_by,
    );
    (volume.tickets > 0).then(|| time.minutes * 60.0 / volume.tickets as f64)
}

/// Asks on a terminal whether the new platform's requester notifications are off. Off a
/// terminal, or on any answer but yes, the backfill refuses with the error that says how.
fn confirm_notifications_off(platform: cutover_model::PlatformKind) -> anyhow::Result<bool> {
    use std::io::{BufRead, IsTerminal, Write};
    let stdin = std::io::stdin();
    if !stdin.is_terminal() || !std::io::stderr().is_terminal() {
        return Ok(false);
    }
    let mut err = std::io::stderr();
    write!(
        err,
        "Creating tickets on {platform} may e-mail each requester (\"New Ticket Created\"), and \
         its API cannot switch that off.\nHave you switched it off in {platform} (Admin > Email \
         Notifications)? [y/N] "
    )?;
    err.flush()?;
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer)?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}
