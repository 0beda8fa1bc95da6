//! `cutover conflicts`: fields the bridge found changed on both sides, and how each was decided.

use clap::{Args, Subcommand};
use cutover_engine::text::{Table, count};
use cutover_store::{Conflict, ConflictId, Store};

use crate::context::Context;
use crate::exit::{Class, Outcome, fail};

/// See the conflicts the bridge resolved.
#[derive(Debug, Subcommand)]
pub enum ConflictsCommand {
    /// List conflicts, oldest first: id, record kind, both ids, field, rule, winner and when.
    ///
    /// A conflict is a field changed on both sides since the bridge last synced it, to
    /// different values; the plan's `[sync] conflicts` and `field_policy` decide it (a delete
    /// always wins). A field changed on one side only is no conflict and is not listed.
    ///
    /// Example: cutover conflicts list --json
    List(ListArgs),
    /// Show one conflict whole, with both values.
    Show(ShowArgs),
}

/// `cutover conflicts list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON lines instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `cutover conflicts show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The conflict's id, as `list` shows it.
    pub id: i64,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// How many conflicts are read from the store at a time.
const PAGE: u32 = 500;

/// Runs a `conflicts` subcommand.
pub(crate) async fn run(ctx: &Context, command: ConflictsCommand) -> anyhow::Result<Outcome> {
    let store = ctx.open_store().await?;
    match command {
        ConflictsCommand::List(args) => {
            let all = every(store.as_ref()).await?;
            if args.json {
                for conflict in &all {
                    println!("{}", json(conflict));
                }
            } else {
                print!("{}", table(&all));
            }
        }
        ConflictsCommand::Show(args) => match store.conflict(ConflictId(args.id)).await? {
            Some(conflict) if args.json => {
                println!("{}", serde_json::to_string_pretty(&json(&conflict))?);
            }
            Some(conflict) => print!("{}", text(&conflict)),
            None => {
                return Err(fail(
                    Class::Config,
                    format!(
                        "show conflict {}: there is none; `cutover conflicts list` shows their ids",
                        args.id
                    ),
                ));
            }
        },
    }
    Ok(Outcome::Clean)
}

/// Every stored conflict, paging through the store.
pub(super) async fn every(store: &dyn Store) -> anyhow::Result<Vec<Conflict>> {
    let mut all: Vec<Conflict> = Vec::new();
    loop {
        let page = store.conflicts(all.last().map(|c| c.id), PAGE).await?;
        let done = page.len() < PAGE as usize;
        all.extend(page);
        if done {
            return Ok(all);
        }
    }
}

/// The conflicts as a table.
fn table(conflicts: &[Conflict]) -> String {
    if conflicts.is_empty() {
        return "No conflicts.\n".to_owned();
    }
    let mut list = Table::new(
        &[
            "id", "kind", "old id", "new id", "field", "rule", "winner", "at",
        ],
        &[true, false, false, false, false, false, false, false],
    );
    for c in conflicts {
        let f = &c.conflict;
        list.row(vec![
            c.id.to_string(),
            f.kind.to_string(),
            f.old_id.to_string(),
            f.new_id.to_string(),
            f.field.clone(),
            f.rule.clone(),
            f.winner.to_string(),
            f.at.format("%Y-%m-%d %H:%M:%S").to_string(),
        ]);
    }
    format!(
        "{} conflict(s) (both values: cutover conflicts show ID):\n{}",
        count(conflicts.len() as u64),
        list.render("")
    )
}

/// One conflict as text.
fn text(c: &Conflict) -> String {
    let f = &c.conflict;
    format!(
        "conflict {}: {} {} (old) / {} (new), field {}\n  old value: {}\n  new value: {}\n  \
         rule:      {}\n  winner:    the {} side\n  at:        {}\n",
        c.id,
        f.kind,
        f.old_id,
        f.new_id,
        f.field,
        f.old_value,
        f.new_value,
        f.rule,
        f.winner,
        f.at.to_rfc3339()
    )
}

/// One conflict as JSON, as the API shows it; the values as JSON when they read as JSON.
fn json(c: &Conflict) -> serde_json::Value {
    cutover_server::api::conflict_json(c)
}
