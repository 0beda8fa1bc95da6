//! `cutover deadletters`: records that could not be applied, kept whole with the reason.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use clap::{Args, Subcommand};
use cutover_engine::text::{Table, count, reason_group};
use cutover_engine::{Applier, Mapping, Retried, in_dependency_order};
use cutover_model::{RecordKind, Side};
use cutover_store::{DeadLetter, DeadLetterFilter, DeadLetterId, Store};

use super::backfill::Setup;
use anyhow::Context as _;

use crate::context::Context;
use crate::exit::{Class, Outcome, fail};

/// Work with the dead letters.
#[derive(Debug, Subcommand)]
pub enum DeadLettersCommand {
    /// List dead letters: first a count per kind and reason, then each one (id, kind, side,
    /// source id, attempts and reason).
    ///
    /// In the counts, ids in reasons read `N`, so records that failed alike count together;
    /// `--reason` takes such a line as it is, or a reason exactly as listed.
    ///
    /// Example: cutover deadletters list --kind ticket --reason "parent never appeared: …"
    List(Filter),
    /// Show one dead letter whole, with the record as it was read.
    Show {
        /// The dead letter's id, as `list` shows it.
        id: i64,
    },
    /// Apply the records again (after adding a mapping, or once a parent exists).
    ///
    /// A record that applies now leaves the dead letters; one that still fails stays, marked
    /// as retried, with the new reason if it changed.
    Retry(Filter),
    /// Remove dead letters for good: the records are left behind.
    ///
    /// Name them by id, or by --kind, --side and --reason; with none of these nothing is
    /// removed.
    Drop(Filter),
}

/// Which dead letters a command works on.
#[derive(Debug, Args)]
pub struct Filter {
    /// Dead letter ids, as `list` shows them; none: every one the options below select.
    pub ids: Vec<i64>,
    /// Only records of this kind (e.g. ticket, contact).
    #[arg(long)]
    pub kind: Option<RecordKind>,
    /// Only records read on this side (old or new).
    #[arg(long)]
    pub side: Option<Side>,
    /// Only records that failed for this reason: exactly as listed, or as counted at the top
    /// of `list` (ids as `N`).
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// Print JSON lines instead of a table.
    #[arg(long)]
    pub json: bool,
}

impl Filter {
    fn is_empty(&self) -> bool {
        self.ids.is_empty() && self.kind.is_none() && self.side.is_none() && self.reason.is_none()
    }
}

/// Runs a `deadletters` subcommand.
pub(crate) async fn run(ctx: &Context, command: DeadLettersCommand) -> anyhow::Result<Outcome> {
    let store = ctx.open_store().await?;
    match command {
        DeadLettersCommand::List(filter) => {
            let letters = matching(store.as_ref(), &filter).await?;
            if filter.json {
                for letter in &letters {
                    print_letter(letter, true);
                }
            } else {
                print!("{}", table(&letters));
            }
        }
        DeadLettersCommand::Show { id } => match store.dead_letter(DeadLetterId(id)).await? {
            Some(letter) => {
                print_letter(&letter, false);
                println!("{}", serde_json::to_string_pretty(&letter.record)?);
            }
            None => {
                return Err(fail(
                    Class::Config,
                    format!(
                        "show dead letter {id}: there is none; `cutover deadletters list` shows their ids"
                    ),
                ));
            }
        },
        DeadLettersCommand::Retry(filter) => return retry(ctx, store.as_ref(), &filter).await,
        DeadLettersCommand::Drop(filter) => {
            if filter.is_empty() {
                return Err(fail(
                    Class::Config,
                    "drop dead letters: name ids, --kind, --side or --reason (`cutover deadletters list` \
                     shows them), e.g. `cutover deadletters drop --kind ticket`",
                ));
            }
            let mut n_dropped = 0;
            for letter in matching(store.as_ref(), &filter).await? {
                n_dropped += u64::from(store.drop_dead_letter(letter.id).await?);
            }
            println!("{n_dropped} dead letter(s) removed.");
        }
    }
    Ok(Outcome::Clean)
}

/// Applies the matching dead letters again, each with the applier of its side (the plan's
/// kinds and mapping), parents' kinds first.
async fn retry(ctx: &Context, store: &dyn Store, filter: &Filter) -> anyhow::Result<Outcome> {
    let setup = Setup::open(ctx).await?;
    let mut appliers: BTreeMap<Side, Applier> = BTreeMap::new();
    let (mut resolved, mut failing) = (0u64, 0u64);
    let mut letters = matching(store, filter).await?;
    in_dependency_order(&mut letters);
    for letter in letters {
        let applier = match appliers.entry(letter.side) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => {
                let source = setup.connector(letter.side)?;
                let target = setup.connector(letter.side.other())?;
                let mapping = Mapping::for_plan(&setup.plan);
                cutover_engine::backfill::create_ticket_types(
                    setup.store.as_ref(),
                    target.as_ref(),
                    &mapping,
                )
                .await
                .context("adding the ticket types and brands the plan creates")?;
                entry.insert(
                    Applier::new(setup.store.clone(), source, target, mapping, false)
                        .copying(&setup.plan.copy.kinds),
                )
            }
        };
        match applier.retry_dead_letter(&letter).await? {
            Retried::Resolved(outcome) => {
                resolved += 1;
                println!(
                    "{} {} {}: resolved ({outcome:?})",
                    letter.id, letter.kind, letter.source_id
                );
            }
            Retried::Failing(outcome) => {
                failing += 1;
                println!(
                    "{} {} {}: still failing ({outcome:?})",
                    letter.id, letter.kind, letter.source_id
                );
            }
            Retried::Unreadable => {
                failing += 1;
                println!(
                    "{} {} {}: the platform's record never parsed; the next read of the source brings it again",
                    letter.id, letter.kind, letter.source_id
                );
            }
        }
    }
    println!("{resolved} resolved, {failing} still in the dead letters.");
    Ok(if failing == 0 {
        Outcome::Clean
    } else {
        Outcome::Findings
    })
}

/// Every dead letter the filter names, paging through the store.
pub(super) async fn matching(
    store: &dyn Store,
    filter: &Filter,
) -> anyhow::Result<Vec<DeadLetter>> {
    let mut query = DeadLetterFilter {
        kind: filter.kind,
        side: filter.side,
        limit: 500,
        ..DeadLetterFilter::default()
    };
    let reason_matches = |letter: &DeadLetter| {
        filter
            .reason
            .as_ref()
            .is_none_or(|r| &letter.reason == r || &reason_group(&letter.reason) == r)
    };
    let mut all = Vec::new();
    loop {
        let page = store.dead_letters(&query).await?;
        let Some(last) = page.last() else { break };
        query.after = Some(last.id);
        all.extend(
            page.into_iter()
                .filter(|l| filter.ids.is_empty() || filter.ids.contains(&l.id.0))
                .filter(reason_matches),
        );
    }
    Ok(all)
}

/// The dead letters as a person reads them: a count per kind, side and reason (ids as `N`),
/// then one line each.
fn table(letters: &[DeadLetter]) -> String {
    if letters.is_empty() {
        return "No dead letters.\n".to_owned();
    }
    let mut groups: BTreeMap<(RecordKind, Side, String), u64> = BTreeMap::new();
    for letter in letters {
        let key = (letter.kind, letter.side, reason_group(&letter.reason));
        *groups.entry(key).or_default() += 1;
    }
    let mut counted: Vec<_> = groups.into_iter().collect();
    counted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut summary = Table::new(&["kind", "side", "count", "reason"], &[false, false, true]);
    for ((kind, side, reason), n) in counted {
        summary.row(vec![kind.to_string(), side.to_string(), count(n), reason]);
    }
    let mut list = Table::new(
        &["id", "kind", "side", "source id", "attempts", "reason"],
        &[true, false, false, false, true],
    );
    for letter in letters {
        list.row(vec![
            letter.id.to_string(),
            letter.kind.to_string(),
            letter.side.to_string(),
            letter.source_id.to_string(),
            letter.attempts.to_string(),
            letter.reason.clone(),
        ]);
    }
    format!(
        "{} dead letter(s), by kind and reason (narrow with --kind and --reason):\n{}\n{}",
        count(letters.len() as u64),
        summary.render("  "),
        list.render("")
    )
}

fn print_letter(letter: &DeadLetter, json: bool) {
    if json {
        let line = serde_json::json!({
            "id": letter.id.0,
            "kind": letter.kind,
            "side": letter.side,
            "source_id": letter.source_id,
            "reason": letter.reason,
            "attempts": letter.attempts,
            "first_seen": letter.first_seen,
            "last_seen": letter.last_seen,
        });
        println!("{line}");
    } else {
        println!(
            "{:>6}  {:<12} {:<4} {:<12} x{:<3} {}",
            letter.id, letter.kind, letter.side, letter.source_id, letter.attempts, letter.reason
        );
    }
}
