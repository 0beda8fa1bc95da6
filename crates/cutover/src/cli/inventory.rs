//! `cutover inventory`: what the old platform holds and what cannot be carried, before anything
//! moves: counts (comments and attachments from a sample of tickets), how long the backfill will
//! take at the plan's limits, losses, and every value of the old account the plan does not
//! decide yet.

use clap::Args;
use cutover_model::Side;
use cutover_model::accounts::AccountSnapshot;

use crate::context::Context;
use crate::exit::Outcome;

/// Options of `cutover inventory`.
#[derive(Debug, Args)]
pub struct InventoryArgs {
    /// Print the inventory as JSON on standard output.
    #[arg(long)]
    pub json: bool,
}

/// Runs `cutover inventory`: reads the old side once. The new side is read only for its values
/// (the choices of each open line), and only when its credentials are set.
pub(crate) async fn run(ctx: &Context, args: InventoryArgs) -> anyhow::Result<Outcome> {
    // No store: an inventory reads, it keeps nothing.
    let checked = cutover_plan::plan::load_checked(&ctx.plan_path)?;
    let plan = &checked.plan;
    let old = cutover_engine::connector(plan, Side::Old, |name| std::env::var(name).ok())?;
    let new_account = new_account(&checked).await;
    let new = cutover_engine::connector(plan, Side::New, |name| {
        Some(std::env::var(name).unwrap_or_else(|_| "not-needed-for-inventory".to_owned()))
    })?;
    let mut inventory = cutover_engine::inventory(
        old.as_ref(),
        new.as_ref(),
        &plan.mapping,
        &plan.copy.kinds,
        &new_account,
    )
    .await?;
    inventory.estimate(rate(&plan.old), rate(&plan.new));
    if args.json {
        println!("{}", serde_json::to_string_pretty(&inventory)?);
    } else {
        print!("{}", inventory.summary());
    }
    Ok(Outcome::Clean)
}

/// A platform's limit and share as the plan states them, for the cost model.
pub(crate) fn rate(platform: &cutover_plan::plan::model::Platform) -> cutover_engine::cost::Rate {
    cutover_engine::cost::Rate {
        platform: platform.platform,
        requests_per_minute: platform.requests_per_minute,
        share: platform.share.get(),
    }
}

/// What the new account holds, for the choices of each open line: read from the account when
/// its credentials are set and it answers, else the snapshot beside the plan, else nothing
/// (each line then offers `"create"` where possible and `"drop"`).
async fn new_account(checked: &cutover_plan::plan::Checked) -> AccountSnapshot {
    let plan = &checked.plan;
    let live = match cutover_engine::connector(plan, Side::New, |name| std::env::var(name).ok()) {
        Ok(new) => match cutover_engine::discover(new.as_ref(), false, &|_, _| {}).await {
            Ok(account) => Some(account),
            Err(e) => {
                tracing::warn!(error = %e, "Could not read the new account; its values come from the snapshot beside the plan, if any.");
                None
            }
        },
        Err(_) => None,
    };
    live.or_else(|| checked.accounts.as_ref().map(|a| a.new.clone()))
        .unwrap_or_else(|| AccountSnapshot::empty(plan.new.platform, plan.new.url.to_string()))
}
