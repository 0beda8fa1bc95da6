//! `cutover inventory`: what the old platform holds and what cannot be carried, before anything
//! moves.

use clap::Args;
use cutover_model::Side;

use crate::context::Context;
use crate::exit::Outcome;

/// Options of `cutover inventory`.
#[derive(Debug, Args)]
pub struct InventoryArgs {
    /// Print the inventory as JSON on standard output.
    #[arg(long)]
    pub json: bool,
}

/// Runs `cutover inventory`: reads the old side once; the new side is not contacted (its
/// credentials are not needed: what it can hold is known from its platform).
pub(crate) async fn run(ctx: &Context, args: InventoryArgs) -> anyhow::Result<Outcome> {
    // No store: an inventory reads, it keeps nothing.
    let plan = cutover_control::plan::load(&ctx.plan_path)?;
    let old = cutover_engine::connector(&plan, Side::Old, |name| std::env::var(name).ok())?;
    let new = cutover_engine::connector(&plan, Side::New, |name| {
        Some(std::env::var(name).unwrap_or_else(|_| "not-needed-for-inventory".to_owned()))
    })?;
    let inventory =
        cutover_engine::inventory(old.as_ref(), new.as_ref(), &plan.mapping, &plan.copy.kinds)
            .await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&inventory)?);
    } else {
        print!("{}", inventory.summary());
    }
    Ok(Outcome::Clean)
}
