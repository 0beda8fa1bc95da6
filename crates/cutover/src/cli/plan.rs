//! `cutover plan check`: explain every mistake in a plan file.

use std::path::PathBuf;

use clap::Subcommand;
use cutover_control::PlanError;

use crate::context::Context;
use crate::exit::Outcome;

/// Work with the plan file.
#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Check a plan and report every error at once, each with file, line, column and key.
    ///
    /// Checks that every status, priority, role, group and custom field is mapped or explicitly
    /// dropped, that waves name channels, groups and people that exist and together cover every
    /// channel, and that gates, alerts and notices are well formed. Exits 0 when the plan is
    /// sound, 1 when it has errors.
    Check {
        /// The plan to check (default: the global `--plan`, itself `./cutover.toml`).
        file: Option<PathBuf>,
    },
}

/// Runs a `plan` subcommand.
pub(crate) async fn run(ctx: &Context, command: PlanCommand) -> anyhow::Result<Outcome> {
    match command {
        PlanCommand::Check { file } => {
            let path = file.unwrap_or_else(|| ctx.plan_path.clone());
            match cutover_control::plan::load(&path) {
                Ok(plan) => {
                    println!("{}: {}", path.display(), plan.summary());
                    Ok(Outcome::Clean)
                }
                Err(PlanError::Invalid(errors)) => {
                    eprintln!("{errors}");
                    eprintln!(
                        "{}: {} error(s); nothing was changed",
                        path.display(),
                        errors.len()
                    );
                    Ok(Outcome::Findings)
                }
                Err(e) => Err(e.into()),
            }
        }
    }
}
