//! `cutover demo`: the whole journey on this machine.

use clap::Args;

use crate::context::Context;
use crate::exit::Outcome;

/// Arguments of `cutover demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Run without prompts or pauses; exit 0 only if every step ends clean.
    #[arg(long)]
    pub headless: bool,
}

/// Runs the demo.
pub(crate) async fn run(_ctx: &Context, _args: DemoArgs) -> anyhow::Result<Outcome> {
    Ok(Outcome::Clean)
}
