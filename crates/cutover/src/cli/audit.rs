//! `cutover audit`: the append-only, hash-chained audit log.

use clap::Subcommand;

use crate::context::Context;
use crate::exit::Outcome;

/// Work with the audit log.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify the hash chain: find any edited, removed or reordered entry.
    ///
    /// Every decision cutover takes (a wave started, a gate passed, a rollback) is an entry
    /// that carries the hash of the one before. Exits 0 when the chain is whole, 1 when an
    /// entry was tampered with, naming the first bad entry.
    Verify,
}

/// Runs an `audit` subcommand.
pub(crate) async fn run(ctx: &Context, command: AuditCommand) -> anyhow::Result<Outcome> {
    match command {
        AuditCommand::Verify => {
            let store = ctx.open_store().await?;
            match store.verify_audit().await {
                Ok(n_entries) => {
                    println!("Audit log intact: {n_entries} entries, hash chain whole.");
                    Ok(Outcome::Clean)
                }
                Err(e) if e.is_tampering() => {
                    eprintln!("Audit log broken: {e}");
                    Ok(Outcome::Findings)
                }
                Err(e) => Err(e.into()),
            }
        }
    }
}
