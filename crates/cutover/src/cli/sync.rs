//! `cutover sync`: the two-way bridge while both platforms are live. Each subcommand lives in
//! its own file; this one only lists them.

use clap::Subcommand;

use super::sync_hooks;
use crate::context::Context;
use crate::exit::Outcome;

/// The subcommands of `cutover sync`.
#[derive(Debug, Subcommand)]
pub enum SyncCommand {
    /// Register the hooks that tell the bridge of changes, on both platforms.
    ///
    /// On Zendesk: a webhook that signs every delivery with the secret (HMAC-SHA256), the two
    /// triggers that call it (ticket created, ticket updated: a comment added is an update), and
    /// a webhook subscribed to user and organization events. On Freshdesk, which has no webhook
    /// API and signs nothing: two automation rules (ticket creation, ticket update) whose
    /// webhook action sends the secret in the `X-Cutover-Webhook-Secret` header. Every hook's
    /// name starts with `cutover bridge (old side)` or `(new side)`.
    ///
    /// Deliveries go to ENDPOINT/webhooks/old and ENDPOINT/webhooks/new, where `cutover serve`
    /// takes them. The secret comes from the environment variable the plan names in `[sync]
    /// webhook_secret_env` (at least 16 characters; it is never printed). Running it again
    /// makes nothing twice: hooks found from an earlier run are brought up to date (a new
    /// endpoint, a new secret). With `[sync] directions = "old_to_new"` only the old side gets
    /// hooks. Webhooks are a hint to read now: polling stays the truth, so a lost delivery costs
    /// lag, never data.
    ///
    /// Example: CUTOVER_WEBHOOK_SECRET=… cutover sync setup --endpoint https://cutover.acme.com
    Setup(sync_hooks::SetupArgs),
    /// Remove exactly the hooks `cutover sync setup` made, on both platforms.
    ///
    /// Finds them by their names (`cutover bridge (old side)…`, `cutover bridge (new side)…`)
    /// and removes them, triggers before the webhook they call; hooks anyone else made are left
    /// alone. Safe to run twice: the second run finds nothing to remove. Needs no secret.
    ///
    /// Example: cutover sync teardown --side new
    Teardown(sync_hooks::TeardownArgs),
}

/// Runs one `cutover sync` subcommand.
pub(crate) async fn run(ctx: &Context, command: SyncCommand) -> anyhow::Result<Outcome> {
    match command {
        SyncCommand::Setup(args) => sync_hooks::setup(ctx, args).await,
        SyncCommand::Teardown(args) => sync_hooks::teardown(ctx, args).await,
    }
}
