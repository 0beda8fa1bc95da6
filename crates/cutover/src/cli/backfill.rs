//! `cutover backfill`: copy all history from the old platform to the new one.

use std::sync::Arc;

use clap::Args;
use cutover_control::Plan;
use cutover_engine::{BackfillOptions, EngineError, backfill};
use cutover_model::Side;
use cutover_store::Store;

use crate::context::Context;
use crate::exit::{Class, Outcome, fail};

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
}

/// What the engine commands work with: the plan, the store and both platforms.
pub(super) struct Setup {
    pub(super) plan: Plan,
    pub(super) store: Arc<dyn Store>,
}

impl Setup {
    /// Loads the plan and opens the store.
    pub(super) async fn open(ctx: &Context) -> anyhow::Result<Self> {
        let plan = cutover_control::plan::load(&ctx.plan_path)?;
        let store = ctx.open_store().await?;
        Ok(Setup { plan, store })
    }

    /// The connector of one side, credentials from the variables the plan names.
    pub(super) fn connector(
        &self,
        side: Side,
    ) -> anyhow::Result<Arc<dyn cutover_connect::Connector>> {
        cutover_engine::connector(&self.plan, side, |name| std::env::var(name).ok())
            .map_err(engine_error)
    }
}

/// An engine error with the class that decides the exit code.
pub(super) fn engine_error(error: EngineError) -> anyhow::Error {
    let class = match &error {
        EngineError::Store(_) => Class::Store,
        EngineError::Connect(_) => Class::Platform,
        EngineError::Credentials { .. } | EngineError::Unsupported(_) => Class::Config,
    };
    fail(class, error)
}

/// Runs `cutover backfill`.
pub(crate) async fn run(ctx: &Context, args: BackfillArgs) -> anyhow::Result<Outcome> {
    let setup = Setup::open(ctx).await?;
    let (old, new) = (setup.connector(Side::Old)?, setup.connector(Side::New)?);
    let mut options = BackfillOptions::from_plan(&setup.plan);
    options.dry_run = args.dry_run;
    options.concurrency = args.concurrency.max(1);
    options.progress = crate::progress::sink(ctx.log_format);
    let mapping = cutover_engine::Mapping::from_plan(&setup.plan.mapping);
    let report = backfill(setup.store, old, new, mapping, options)
        .await
        .map_err(engine_error)?;
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
