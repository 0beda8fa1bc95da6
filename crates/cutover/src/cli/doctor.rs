//! `cutover doctor`: whether the credentials the plan names can do what the move needs, before
//! anything moves (see `cutover_engine::doctor`).

use clap::Args;

use crate::context::Context;
use crate::exit::Outcome;

/// Options of `cutover doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print the findings as JSON on standard output.
    #[arg(long)]
    pub json: bool,
}

/// Runs `cutover doctor`: reads both sides' users and roles and the old side's first page of
/// each kind; writes nothing, keeps nothing (no store).
pub(crate) async fn run(ctx: &Context, args: DoctorArgs) -> anyhow::Result<Outcome> {
    let plan = cutover_plan::plan::load(&ctx.plan_path)?;
    let report = cutover_engine::doctor(&plan, |name| std::env::var(name).ok()).await;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.summary());
    }
    Ok(if report.missing.is_empty() {
        Outcome::Clean
    } else {
        Outcome::Findings
    })
}
