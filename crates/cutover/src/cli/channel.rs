//! `cutover channel backup NAME` and `cutover channel restore NAME`: a channel switched to the
//! side its `backup` names, and back, through the same path as the alerts' `backup_channel`
//! action (`cutover_runtime::backup`), one audited step each.

use clap::{Args, Subcommand};

use super::backfill::Setup;
use crate::context::Context;
use crate::exit::Outcome;

/// The channels' commands.
#[derive(Debug, Subcommand)]
pub enum ChannelCommand {
    /// Switch a channel to its backup: every contact on it goes to the side its `backup` names
    /// (a voice channel's calls to that side's number), whatever the waves say, until
    /// `cutover channel restore`. Recorded in the audit log.
    ///
    /// Example: cutover channel backup phone
    Backup(ChannelArgs),
    /// Switch a channel back from its backup: the waves decide its routing again. Recorded in
    /// the audit log.
    ///
    /// Example: cutover channel restore phone
    Restore(ChannelArgs),
}

/// A channel named on the command line.
#[derive(Debug, Args)]
pub struct ChannelArgs {
    /// The channel's `name` in the plan's `[[channels]]`.
    #[arg(value_name = "CHANNEL")]
    pub channel: String,
}

/// Runs `cutover channel …`.
pub(crate) async fn run(ctx: &Context, command: ChannelCommand) -> anyhow::Result<Outcome> {
    let (args, on) = match command {
        ChannelCommand::Backup(args) => (args, true),
        ChannelCommand::Restore(args) => (args, false),
    };
    let command = if on {
        "cutover channel backup"
    } else {
        "cutover channel restore"
    };
    let setup = Setup::open_with_waves(ctx, command).await?;
    let (actor, now) = (super::token::actor(), chrono::Utc::now());
    let change = cutover_runtime::backup::set(
        setup.store.as_ref(),
        &setup.plan,
        &args.channel,
        on,
        &actor,
        "cli",
        now,
    )
    .await?;
    let state = if change.on_backup {
        format!(
            "on its backup (every contact to the {} side)",
            change.backup
        )
    } else {
        "routed by the waves".to_owned()
    };
    if change.changed {
        println!(
            "Channel {:?} is {state} now (recorded in the audit log).",
            change.channel
        );
    } else {
        println!(
            "Channel {:?} is {state} already: nothing changed.",
            change.channel
        );
    }
    Ok(Outcome::Clean)
}
