//! `cutover cleanup`: delete from one platform exactly what cutover created there.

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use cutover_connect::CommentRemoval;
use cutover_engine::cleanup::{self, CleanupPlan};
use cutover_model::{PlatformId, RecordKind, Side};

use crate::cli::backfill::Setup;
use crate::context::Context;
use crate::exit::Outcome;

/// Which platform to clean up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CleanupSide {
    /// The new platform: what backfills and the bridge created there.
    New,
    /// The old platform: what the bridge created there (tickets and people that began on the
    /// new side and were carried back).
    Old,
}

impl From<CleanupSide> for Side {
    fn from(side: CleanupSide) -> Self {
        match side {
            CleanupSide::New => Side::New,
            CleanupSide::Old => Side::Old,
        }
    }
}

/// Options of `cutover cleanup`.
#[derive(Debug, Args)]
pub struct CleanupArgs {
    /// The platform to remove cutover's records from.
    #[arg(long, value_enum, value_name = "SIDE")]
    pub side: CleanupSide,
    /// List what would be deleted (counts per kind and the ids) and what would be left because
    /// the platform's API cannot delete it; delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Delete without asking (needed off a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Print the list (`--dry-run`) or the result as JSON on standard output.
    #[arg(long)]
    pub json: bool,
    /// Print every id in the dry run's list (by default the first 20 of each kind).
    #[arg(long)]
    pub all_ids: bool,
}

/// How many ids of each kind the dry run's text shows without `--all-ids`.
const IDS_SHOWN: usize = 20;

/// Runs `cutover cleanup`.
pub(crate) async fn run(ctx: &Context, args: CleanupArgs) -> anyhow::Result<Outcome> {
    let setup = Setup::open(ctx).await?;
    let side = Side::from(args.side);
    let target = setup.connector(side)?;
    let plan = cleanup::plan(setup.store.as_ref(), side)
        .await?
        .sort_out(target.as_ref())
        .with_own_setup(target.as_ref())
        .await
        .with_context(|| format!("list what cutover set up for itself on the {side} side"))?;
    if args.dry_run {
        if args.json {
            println!("{}", serde_json::to_string(&plan)?);
        } else {
            print!("{}", listing(&plan, args.all_ids));
        }
        return Ok(Outcome::Clean);
    }
    if plan.total() == 0 {
        println!(
            "Cutover created nothing on the {side} side that is still there and that its API can delete: nothing to delete."
        );
        print!("{}", left_listing(&plan, args.all_ids));
        return Ok(Outcome::Clean);
    }
    if !args.yes && !confirmed(&plan)? {
        anyhow::bail!(
            "cleanup not confirmed: nothing was deleted; see the list with `cutover cleanup --side {side} --dry-run`, then run `cutover cleanup --side {side} --yes`"
        );
    }
    let progress = crate::progress::sink(ctx.log_format);
    let report = cleanup::run(setup.store.clone(), target, &plan, "cutover", &progress)
        .await
        .with_context(|| format!("clean up the {side} side"))?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        if report.resumed {
            println!("Went on with a cleanup cut short.");
        }
        for (kind, n) in &report.deleted {
            println!("{kind}: {n} deleted");
        }
        for (kind, n) in &report.setup_removed {
            println!("{kind}: {n} removed");
        }
        if report.redacted > 0 {
            println!(
                "comment: {} redacted (left: cannot be removed by the API; their text and files are blanked for good)",
                report.redacted
            );
        }
        print!("{}", left_listing(&plan, args.all_ids));
        let failed = report.n_failed();
        if failed > 0 {
            for (kind, n) in &report.failed {
                println!("{kind}: {n} refused by the platform");
            }
            for (kind, n) in &report.setup_failed {
                println!(
                    "{kind}: {n} refused by the platform (kept for the next run; see the log)"
                );
            }
            println!(
                "{failed} record(s) could not be deleted: see `cutover deadletters list --reason \"{}\"`, then run `cutover cleanup --side {side}` again.",
                cleanup::CLEANUP_FAILED
            );
        }
    }
    Ok(if report.n_failed() > 0 {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}

/// The dry run's text: counts per kind, then the ids.
fn listing(plan: &CleanupPlan, all_ids: bool) -> String {
    let side = plan.side;
    if plan.total() == 0 {
        return format!(
            "Cutover created nothing on the {side} side that is still there and that its API can delete.\n{}",
            left_listing(plan, all_ids)
        );
    }
    let mut out = format!(
        "Would delete {} record(s) cutover created on the {side} side, in this order (records it found there and linked stay):\n",
        plan.total()
    );
    for group in &plan.kinds {
        let how = match (group.kind, plan.comments) {
            (RecordKind::Comment, Some(CommentRemoval::Redact)) => {
                " (added to tickets cutover did not create: redacted, not deleted; left: cannot be removed by the API)"
            }
            (RecordKind::Comment, _) => " (added to tickets cutover did not create)",
            _ => "",
        };
        out.push_str(&format!(
            "  {}: {}{how}  ids: {}\n",
            group.kind,
            group.ids.len(),
            ids(&group.ids, all_ids)
        ));
    }
    for group in &plan.setup {
        let items: Vec<PlatformId> = group.items.iter().map(|i| i.id.clone()).collect();
        let shown = if all_ids { usize::MAX } else { IDS_SHOWN };
        let names: Vec<&str> = group
            .items
            .iter()
            .take(shown)
            .map(|i| i.name.as_str())
            .collect();
        out.push_str(&format!(
            "  {}: {} (added to the set-up: {})  ids: {}\n",
            group.kind,
            group.items.len(),
            names.join(", "),
            ids(&items, all_ids)
        ));
    }
    out.push_str(&format!(
        "Run `cutover cleanup --side {side} --yes` to delete them.\n"
    ));
    out.push_str(&left_listing(plan, all_ids));
    out
}

/// What a cleanup leaves because the platform's API cannot delete it, kind by kind with the
/// reason; empty when nothing is left.
fn left_listing(plan: &CleanupPlan, all_ids: bool) -> String {
    if plan.left.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "Left: {} record(s) cutover created that cannot be removed by the API (delete them by hand on the {} side):\n",
        plan.n_left(),
        plan.side
    );
    for group in &plan.left {
        out.push_str(&format!(
            "  {}: {} ({})  ids: {}\n",
            group.kind,
            group.ids.len(),
            group.why,
            ids(&group.ids, all_ids)
        ));
    }
    out
}

/// The first ids of a list (all with `--all-ids`), and how many more.
fn ids(ids: &[PlatformId], all_ids: bool) -> String {
    let shown: Vec<String> = ids
        .iter()
        .take(if all_ids { usize::MAX } else { IDS_SHOWN })
        .map(ToString::to_string)
        .collect();
    let more = ids.len() - shown.len();
    let tail = if more > 0 {
        format!(" … and {more} more (--all-ids)")
    } else {
        String::new()
    };
    format!("{}{tail}", shown.join(", "))
}

/// Asks on a terminal; off one, answers no (the caller then says to pass `--yes`).
fn confirmed(plan: &CleanupPlan) -> anyhow::Result<bool> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() || !std::io::stderr().is_terminal() {
        return Ok(false);
    }
    let mut err = std::io::stderr();
    write!(
        err,
        "Delete {} record(s) cutover created on the {} side? [y/N] ",
        plan.total(),
        plan.side
    )?;
    err.flush()?;
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer)?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}
