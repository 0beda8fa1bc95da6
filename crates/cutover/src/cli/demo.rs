//! `cutover demo`: the whole journey on this machine.
//!
//! Each step prints what it does and why, so a newcomer learns the journey by watching it. The
//! steps that exist in this version: write a plan, check it, open a store, record each decision
//! in the audit log and prove the log's hash chain. Emulated platforms, backfill and verify join
//! as they land (see the open issues).

use std::path::Path;

use anyhow::Context as _;
use clap::Args;
use cutover_control::plan::init::{InitOptions, render};
use cutover_model::PlatformKind;
use cutover_store::{NewAuditEntry, Store, StoreUrl};
use serde_json::json;

use crate::context::Context;
use crate::exit::Outcome;

/// Arguments of `cutover demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Run without pauses; exit 0 only if every step ends clean.
    #[arg(long)]
    pub headless: bool,
    /// Keep the demo's folder (plan, store) instead of removing it at the end.
    #[arg(long)]
    pub keep: bool,
}

/// Runs the demo in a temporary folder.
pub(crate) async fn run(_ctx: &Context, args: DemoArgs) -> anyhow::Result<Outcome> {
    let dir = tempfile::Builder::new()
        .prefix("cutover-demo-")
        .tempdir()
        .context("create the demo's temporary folder")?;
    println!("cutover demo: a move from Zendesk to Freshdesk, on this machine only.");
    println!(
        "Working in {} (removed at the end unless --keep).\n",
        dir.path().display()
    );
    let outcome = steps(dir.path()).await;
    if args.keep {
        let kept = dir.keep();
        println!("\nKept {}.", kept.display());
    }
    outcome
}

async fn steps(dir: &Path) -> anyhow::Result<Outcome> {
    let plan_path = dir.join("cutover.toml");
    step(
        1,
        "Write a plan",
        "`cutover init` writes a commented cutover.toml: platforms, mappings, waves, gates, alerts.",
    );
    let options = InitOptions {
        from: PlatformKind::Zendesk,
        to: PlatformKind::Freshdesk,
        old_url: None,
        new_url: None,
    };
    tokio::fs::write(&plan_path, render(&options))
        .await
        .with_context(|| format!("write {}", plan_path.display()))?;
    println!("   wrote {}", plan_path.display());

    step(
        2,
        "Check the plan",
        "`cutover plan check` reports every mistake at once, by file, line and key.",
    );
    let plan = cutover_control::plan::load(&plan_path)?;
    println!("   {}", plan.summary());

    step(
        3,
        "Open the store",
        "links, cursors, dead letters and the audit log live in SQLite (or PostgreSQL).",
    );
    let store_url = StoreUrl::sqlite(dir.join("cutover.db"));
    let store = cutover_store::open(&store_url).await?;
    println!("   opened {store_url}");

    step(
        4,
        "Record decisions",
        "every decision lands in an append-only, hash-chained audit log.",
    );
    record(
        store.as_ref(),
        "plan.check",
        json!({ "plan": plan.summary() }),
    )
    .await?;
    record(
        store.as_ref(),
        "demo.step",
        json!({ "step": "store opened" }),
    )
    .await?;

    step(
        5,
        "Prove the audit log",
        "`cutover audit verify` recomputes the chain; an edited entry is named.",
    );
    let n_entries = store.verify_audit().await?;
    println!("   {n_entries} entries, chain whole");

    println!("\nDone: the plan is sound and the audit log is intact.");
    println!(
        "Not in this version yet: emulated platforms with live traffic, backfill, verify, waves."
    );
    Ok(Outcome::Clean)
}

fn step(number: u32, title: &str, why: &str) {
    println!("{number}. {title}: {why}");
}

async fn record(store: &dyn Store, action: &str, detail: serde_json::Value) -> anyhow::Result<()> {
    store
        .append_audit(&NewAuditEntry::new("cutover-demo", action, detail))
        .await
        .with_context(|| format!("record {action} in the audit log"))?;
    Ok(())
}
