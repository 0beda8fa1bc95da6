//! A verification run: the listed kinds read and compared whole, then the records read per
//! ticket part after part.

use std::collections::{BTreeMap, BTreeSet};

use cutover_connect::Connector;
use cutover_model::{PlatformId, RecordKind, Side};
use cutover_store::{DeadLetterFilter, Store};

use super::compare::{Comparer, NOT_COPIED};
use super::readers::{
    Snapshot, load_links, part_links, read_side, read_ticket_children, read_unseen,
};
use super::report::VerifyReport;
use crate::error::EngineError;
use crate::losses::Losses;
use crate::mapping::Mapping;

/// Tickets whose comments and attachments are read and compared together.
pub const TICKETS_PER_PART: usize = 250;

/// Reads both sides and compares them through the store's links.
pub async fn verify(
    store: &dyn Store,
    old: &dyn Connector,
    new: &dyn Connector,
    mapping: Mapping,
    kinds: &[RecordKind],
) -> Result<VerifyReport, EngineError> {
    verify_in_parts(store, old, new, mapping, kinds, TICKETS_PER_PART).await
}

/// Like [`verify`], reading comments and attachments `tickets_per_part` tickets at a time
/// (the report is the same whatever the part size; only the memory held at once differs).
pub async fn verify_in_parts(
    store: &dyn Store,
    old: &dyn Connector,
    new: &dyn Connector,
    mapping: Mapping,
    kinds: &[RecordKind],
    tickets_per_part: usize,
) -> Result<VerifyReport, EngineError> {
    let tickets_per_part = tickets_per_part.max(1);
    let (old_caps, new_caps) = (old.capabilities(), new.capabilities());
    let mut mapping = mapping;
    if !new_caps.agents_who_left {
        mapping.leaving_leavers_behind(Some(new_caps.platform));
    }
    let per_ticket = |k: &RecordKind| {
        old_caps.read_per_ticket.contains(k) || new_caps.read_per_ticket.contains(k)
    };
    let children: Vec<RecordKind> = kinds.iter().copied().filter(per_ticket).collect();
    let listed: Vec<RecordKind> = kinds.iter().copied().filter(|k| !per_ticket(k)).collect();
    let mut snapshot = Snapshot::default();
    for connector in [old, new] {
        read_side(connector, &listed, &mut snapshot).await?;
    }
    let losses = Losses::between(&old_caps, &new_caps);
    let page = |side: Side, kind: RecordKind, id: &PlatformId| {
        let connector = match side {
            Side::Old => old,
            Side::New => new,
        };
        connector.record_url(kind, id).map(String::from)
    };
    let mut comparer = Comparer::new(mapping, &[], kinds, &losses, &page);
    load_links(store, kinds, &children, &mut comparer.forms).await?;
    tracing::debug!(
        n_links = comparer.forms.n_links(),
        "Links of the listed kinds held."
    );
    for connector in [old, new] {
        read_unseen(connector, &listed, &comparer.forms, &mut snapshot).await?;
    }
    let mut report = VerifyReport::default();
    comparer.compare(&snapshot, &listed, &mut report);
    for kind in &children {
        report.kinds.entry(*kind).or_default();
    }
    if !children.is_empty() {
        let tickets = |side| -> Vec<PlatformId> {
            snapshot
                .records
                .get(&(RecordKind::Ticket, side))
                .map(|t| t.iter().map(|o| o.id.clone()).collect())
                .unwrap_or_default()
        };
        let (old_tickets, new_tickets) = (tickets(Side::Old), tickets(Side::New));
        let held: BTreeSet<&PlatformId> = new_tickets.iter().collect();
        let mut paired = BTreeSet::new();
        for part in old_tickets.chunks(tickets_per_part) {
            let mut children_of = Snapshot::default();
            for ticket in part {
                read_ticket_children(old, ticket, &mut children_of).await?;
                let copy = comparer
                    .forms
                    .link(RecordKind::Ticket, Side::Old, ticket)
                    .map(|l| l.new_id.clone())
                    .filter(|id| held.contains(id));
                if let Some(copy) = copy {
                    read_ticket_children(new, &copy, &mut children_of).await?;
                    paired.insert(copy);
                }
            }
            let links = part_links(store, &children_of).await?;
            comparer.forms.set_part_links(&links);
            comparer.compare(&children_of, &children, &mut report);
        }
        // The new side's tickets no old ticket is linked to: their children are theirs alone.
        let unpaired: Vec<&PlatformId> = new_tickets
            .iter()
            .filter(|t| !paired.contains(*t))
            .collect();
        for part in unpaired.chunks(tickets_per_part) {
            let mut children_of = Snapshot::default();
            for ticket in part {
                read_ticket_children(new, ticket, &mut children_of).await?;
            }
            let links = part_links(store, &children_of).await?;
            comparer.forms.set_part_links(&links);
            comparer.compare(&children_of, &children, &mut report);
        }
    }
    drop(comparer);
    explain_missing(store, &mut report).await?;
    report.old_platform = Some(old.platform());
    report.new_platform = Some(new.platform());
    Ok(report)
}

/// Says why each old record that was never linked is missing: its dead letter's reason when
/// a backfill kept one (read page by page, only the missing ones kept), else that no backfill
/// read it.
async fn explain_missing(store: &dyn Store, report: &mut VerifyReport) -> Result<(), EngineError> {
    let unexplained: BTreeSet<(RecordKind, PlatformId)> = report
        .kinds
        .iter()
        .flat_map(|(kind, k)| {
            k.missing
                .iter()
                .filter(|m| m.reason == NOT_COPIED)
                .map(move |m| (*kind, m.old_id.clone()))
        })
        .collect();
    if unexplained.is_empty() {
        return Ok(());
    }
    let mut reasons: BTreeMap<(RecordKind, PlatformId), String> = BTreeMap::new();
    let mut filter = DeadLetterFilter {
        side: Some(Side::Old),
        limit: 500,
        ..DeadLetterFilter::default()
    };
    loop {
        let page = store.dead_letters(&filter).await?;
        let Some(last) = page.last() else { break };
        filter.after = Some(last.id);
        for letter in page {
            let key = (letter.kind, letter.source_id);
            if unexplained.contains(&key) {
                reasons.insert(key, letter.reason);
            }
        }
    }
    for (kind, k) in &mut report.kinds {
        for missing in &mut k.missing {
            if let Some(reason) = reasons.get(&(*kind, missing.old_id.clone())) {
                missing.reason = format!("in the dead letters: {reason}");
            }
        }
    }
    Ok(())
}
