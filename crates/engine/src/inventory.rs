//! The inventory: what the old platform holds, and what of it cannot be carried to the new one,
//! named before anything moves.
//!
//! Counts come from one read of every listable kind on the old side (comments and attachments,
//! read per ticket, are left to the backfill's own counts). Losses come from the two
//! connectors' stated capabilities, from the plan's explicit drops, and from that read: the
//! tickets whose agent or group is not carried and take the plan's stand-in (`stand_in.rs`).
//! Nothing here guesses.

use std::collections::BTreeMap;

use cutover_connect::{Connector, ReadPosition};
use cutover_model::accounts::AccountSnapshot;
use cutover_model::{PlatformKind, RecordKind};
use cutover_plan::plan::model::Mapping as PlanMapping;
use cutover_plan::plan::open::{OpenValue, open_values};
use cutover_plan::plan::values::Target;
use serde::Serialize;

use crate::discovery::Tally;
use crate::error::EngineError;
pub use crate::losses::{Loss, capability_losses};
use crate::stand_in;

/// What the old platform holds and what cannot be carried.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inventory {
    /// The old platform.
    pub from: PlatformKind,
    /// The new platform.
    pub to: PlatformKind,
    /// Records per kind on the old side (kinds read per ticket are not counted).
    pub counts: BTreeMap<RecordKind, u64>,
    /// Records the old side could not read, per kind (they would be dead-lettered).
    pub unreadable: BTreeMap<RecordKind, u64>,
    /// What cannot be carried as it is.
    pub losses: Vec<Loss>,
    /// Values of the old account the plan does not decide yet, each with what it holds back
    /// and the line to add: a backfill refuses to start while there are any.
    pub unmapped: Vec<OpenValue>,
}

impl Inventory {
    /// The inventory as a person reads it.
    pub fn summary(&self) -> String {
        let mut text = format!(
            "Inventory of the move from {} to {}\n\n",
            self.from, self.to
        );
        text.push_str("Records on the old side:\n");
        for (kind, count) in &self.counts {
            let unreadable = self.unreadable.get(kind).copied().unwrap_or(0);
            if unreadable > 0 {
                text.push_str(&format!(
                    "  {kind:<20} {count:>8}  ({unreadable} unreadable)\n"
                ));
            } else {
                text.push_str(&format!("  {kind:<20} {count:>8}\n"));
            }
        }
        text.push_str(&crate::unmapped::summary(&self.unmapped));
        if self.losses.is_empty() {
            text.push_str(&format!("\nEverything can be carried to {}.\n", self.to));
        } else {
            text.push_str(&format!(
                "\nWhat cannot be carried to {} as it is ({}):\n",
                self.to,
                self.losses.len()
            ));
            for loss in &self.losses {
                text.push_str(&format!("  - {}: {}\n", loss.what, loss.detail));
            }
        }
        text
    }
}

/// Counts the old side's records of `kinds`, names what cannot be carried to `target`, and
/// lists the old account's values `plan` leaves open with what each holds back. `new` is what
/// the new account offers those values (its discovery), for their choices; the target itself
/// is not contacted (its capabilities are known).
pub async fn inventory(
    source: &dyn Connector,
    target: &dyn Connector,
    plan: &PlanMapping,
    kinds: &[RecordKind],
    new: &AccountSnapshot,
) -> Result<Inventory, EngineError> {
    let caps = source.capabilities();
    let mut tally = Tally::new(source.discover().await?);
    let mut read_kinds: Vec<RecordKind> = kinds.to_vec();
    // Open values are looked up among these: read them whatever the plan copies.
    read_kinds.extend([
        RecordKind::Group,
        RecordKind::Role,
        RecordKind::Agent,
        RecordKind::CustomField,
    ]);
    let mut counts = BTreeMap::new();
    let mut unreadable = BTreeMap::new();
    let mut not_carried = stand_in::NotCarried::new(plan, kinds);
    not_carried.leavers_left_behind = !target.capabilities().agents_who_left;
    for kind in RecordKind::ALL.iter().copied() {
        if !read_kinds.contains(&kind) || !caps.readable.contains(&kind) {
            continue;
        }
        let mut position = ReadPosition::start();
        let (mut read, mut bad) = (0u64, 0u64);
        loop {
            let page = source.read_page(kind, &position).await?;
            read += page.items.len() as u64;
            for item in &page.items {
                tally.observe(item);
            }
            bad += page.rejected.len() as u64;
            for item in &page.items {
                not_carried.observe(&item.id, &item.record);
            }
            match page.next {
                Some(next) if !page.done && next != position => position = next,
                _ => break,
            }
        }
        if !kinds.contains(&kind) {
            continue;
        }
        counts.insert(kind, read);
        if bad > 0 {
            unreadable.insert(kind, bad);
        }
    }
    if kinds.contains(&RecordKind::Ticket) {
        tally.counted();
    }
    let unmapped = open_values(plan, kinds, &tally.finish(), new);
    let mut losses = capability_losses(&caps, &target.capabilities(), kinds);
    if plan.ticket_types.is_some() {
        // Every type goes through [mapping.ticket_types]: to one the target lists, created
        // there, or dropped (listed with the plan's drops).
        losses.retain(|loss| loss.what != crate::losses::TICKET_TYPE.what);
    }
    losses.extend(drops(plan));
    losses.extend(not_carried.losses(target.platform()));
    losses.extend(crate::rules::inventory_losses(source, target, plan, kinds).await?);
    Ok(Inventory {
        from: source.platform(),
        to: target.platform(),
        counts,
        unreadable,
        losses,
        unmapped,
    })
}

/// The plan's explicit decisions to leave values behind.
fn drops(plan: &PlanMapping) -> Vec<Loss> {
    let no_types = BTreeMap::new();
    let tables: [(&str, &BTreeMap<String, Target>); 8] = [
        ("statuses", &plan.statuses),
        ("priorities", &plan.priorities),
        ("roles", &plan.roles),
        ("groups", &plan.groups),
        ("fields", &plan.fields),
        (
            "ticket_types",
            plan.ticket_types.as_ref().unwrap_or(&no_types),
        ),
        ("brands", plan.brands.as_ref().unwrap_or(&no_types)),
        ("agents.overrides", &plan.agents.overrides),
    ];
    tables
        .iter()
        .filter_map(|(name, table)| {
            let dropped: Vec<&str> = table
                .iter()
                .filter(|(_, target)| matches!(target, Target::Drop))
                .map(|(value, _)| value.as_str())
                .collect();
            (!dropped.is_empty()).then(|| Loss {
                what: format!("mapping.{name}"),
                detail: format!("dropped by the plan: {}", dropped.join(", ")),
            })
        })
        .collect()
}
