//! `cutover plan check`: explain every mistake in a plan file; `cutover plan refresh`: read both
//! accounts again and add what appeared since.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Subcommand;
use cutover_plan::PlanError;

use crate::context::Context;
use crate::exit::{Class, Outcome, fail};

/// Work with the plan file.
#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Check a plan and report every error at once, each with file, line, column and key.
    ///
    /// Checks that every built-in status, priority and role is mapped or explicitly dropped,
    /// that every name a mapping table uses is one the accounts have (against the snapshot of
    /// both accounts beside the plan, `cutover.accounts.json`; without one, against the
    /// platforms' built-in values), that waves name channels, groups and people that exist and
    /// together cover every channel, and that gates, alerts and notices are well formed. Values
    /// of the old account still open are noted. Exits 0 when the plan is sound, 1 when it has
    /// errors.
    Check {
        /// The plan to check (default: the global `--plan`, itself `./cutover.toml`).
        file: Option<PathBuf>,
    },
    /// Read both accounts again and add a line for every value that appeared since.
    ///
    /// Statuses, roles, groups and custom fields new on the old account get a line (mapped
    /// where the new account has the same name, else an open line to decide), and the snapshot
    /// beside the plan is written again. Lines are only added: none you wrote is changed.
    /// Credentials come from the variables the plan names.
    Refresh {
        /// The plan to refresh (default: the global `--plan`, itself `./cutover.toml`).
        file: Option<PathBuf>,
    },
}

/// Runs a `plan` subcommand.
pub(crate) async fn run(ctx: &Context, command: PlanCommand) -> anyhow::Result<Outcome> {
    match command {
        PlanCommand::Check { file } => {
            check(ctx, &file.unwrap_or_else(|| ctx.plan_path.clone())).await
        }
        PlanCommand::Refresh { file } => {
            refresh(&file.unwrap_or_else(|| ctx.plan_path.clone())).await
        }
    }
}

async fn check(ctx: &Context, path: &Path) -> anyhow::Result<Outcome> {
    match cutover_plan::plan::load_checked(path) {
        Ok(checked) => {
            println!("{}: {}", path.display(), checked.plan.summary());
            for note in &checked.notes {
                println!("note: {note}");
            }
            // The plan is checked; a store that cannot be read only costs the busy-hour check.
            match busy_windows(ctx, &checked.plan).await {
                Ok(warnings) => {
                    for warning in warnings {
                        println!("warning: {warning}");
                    }
                }
                Err(e) => println!(
                    "note: the waves' windows were not judged against busy hours ({e:#}); \
                     `cutover plan check` judges them once the store can be read"
                ),
            }
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

/// The waves whose window falls in a busy hour of their channels, judged from the last 12 weeks
/// of tickets in the store; nothing when there is no store yet or too little history.
async fn busy_windows(
    ctx: &Context,
    plan: &cutover_plan::plan::Plan,
) -> anyhow::Result<Vec<String>> {
    if ctx.store_url.sqlite_path().is_some_and(|p| !p.exists()) {
        return Ok(Vec::new());
    }
    let store = ctx.open_store().await?;
    let to = chrono::Utc::now();
    let from = to - chrono::Duration::weeks(12);
    let maps = cutover_runtime::kpi_stored::heatmaps(store.as_ref(), from, to)
        .await
        .context("count the tickets created per hour of the week")?;
    let mut warnings = Vec::new();
    for (i, wave) in plan.waves.iter().enumerate() {
        let Some(busy) = super::report::busy_hours(plan, wave, &maps) else {
            continue;
        };
        if let (Some(first), Some(window)) = (busy.first(), &wave.window) {
            warnings.push(format!(
                "waves[{i}] ({}): its window {} to {} ({}) falls in {} busy hour(s) of its \
                 channels, the first {} UTC; `cutover report` recommends quieter ones",
                wave.name,
                window.from,
                window.to,
                window.tz.as_str(),
                busy.len(),
                cutover_runtime::heatmap::hour_label(*first)
            ));
        }
    }
    Ok(warnings)
}

async fn refresh(path: &Path) -> anyhow::Result<Outcome> {
    let plan = cutover_plan::plan::load(path)?;
    let read = |name: &str| std::env::var(name).ok();
    let (old, new) = cutover_engine::connectors(&plan, read)?;
    let accounts = cutover_engine::discover_accounts(old.as_ref(), new.as_ref(), true, &|_, _| {})
        .await
        .context("read both accounts")?;
    let text = tokio::fs::read_to_string(path)
        .await
        .with_context(|| format!("read {}", path.display()))?;
    let (refreshed, added) = cutover_plan::plan::discovered::refresh(&text, &accounts);
    // Checked before anything is written: a refresh never leaves a plan that does not check.
    cutover_plan::plan::check_with(&path.display().to_string(), &refreshed, Some(&accounts))
        .map_err(|errors| {
            fail(
                Class::Config,
                format!(
                    "the refreshed plan does not check, so nothing was written:\n{errors}\n\
                     correct the lines named, run `cutover plan check`, then `cutover plan refresh` \
                     again"
                ),
            )
        })?;
    tokio::fs::write(path, &refreshed)
        .await
        .with_context(|| format!("write {}", path.display()))?;
    let snapshot = cutover_plan::plan::accounts::write_accounts(path, &accounts)?;
    if added.is_empty() {
        println!(
            "{}: nothing new on either account; wrote {}.",
            path.display(),
            snapshot.display()
        );
    } else {
        println!(
            "{}: added {} line(s): {}. Wrote {}.",
            path.display(),
            added.len(),
            added.join(", "),
            snapshot.display()
        );
    }
    Ok(Outcome::Clean)
}
