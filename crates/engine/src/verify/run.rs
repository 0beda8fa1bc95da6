//! A verification run: the listed kinds read and compared whole, then the records read per
//! ticket part after part.

use std::collections::BTreeSet;

use cutover_connect::Connector;
use cutover_model::{PlatformId, RecordKind, Side};
use cutover_store::Store;

use super::compare::Comparer;
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
    let mut comparer = Comparer::new(mapping, &[], kinds, &losses);
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
    Ok(report)
}
