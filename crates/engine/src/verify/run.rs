//! A verification run: the listed kinds read and compared whole, then the records read per
//! ticket part after part.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use cutover_connect::{Connector, Page, ReadPosition};
use cutover_model::{Observed, PlatformId, RecordKind, Side};
use cutover_store::{DeadLetterFilter, Store};

use super::compare::{Comparer, NOT_COPIED};
use super::held::Held;
use super::readers::{Snapshot, load_links, part_links, read_children_ahead, read_ticket_children};
use super::report::{KindReport, VerifyReport};
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
    let (mapping, losses) = comparison_basis(old, new, mapping);
    let per_ticket = |k: &RecordKind| {
        old_caps.read_per_ticket.contains(k) || new_caps.read_per_ticket.contains(k)
    };
    let children: Vec<RecordKind> = kinds.iter().copied().filter(per_ticket).collect();
    let listed: Vec<RecordKind> = kinds.iter().copied().filter(|k| !per_ticket(k)).collect();
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
    let mut report = VerifyReport::default();
    let mut tickets = Tickets::default();
    for kind in listed_order(&listed) {
        let sides = Sides { old, new };
        compare_listed(sides, kind, &mut comparer, &mut tickets, &mut report).await?;
    }
    for kind in &children {
        report.kinds.entry(*kind).or_default();
    }
    if !children.is_empty() {
        let Tickets {
            old: old_tickets,
            new: new_tickets,
        } = tickets;
        // Where only the new side reads children in bulk, from a stream in its own order (a
        // Zendesk copied from a Freshdesk), the old tickets are taken in their copies' order:
        // what the stream reads ahead for a part is then little more than the part's own.
        let old_tickets = if new_caps.children_in_bulk && !old_caps.children_in_bulk {
            in_copies_order(&comparer, old_tickets, &new_tickets)
        } else {
            old_tickets
        };
        // Each new ticket, and whether an old ticket's link paired it with its copy.
        let mut paired: HashMap<&PlatformId, bool> =
            new_tickets.iter().map(|id| (id, false)).collect();
        for part in old_tickets.chunks(tickets_per_part) {
            let mut children_of = Snapshot::default();
            // Each old ticket with its copy, if the copy is among the new side's tickets.
            let pairs: Vec<(&PlatformId, Option<PlatformId>)> = part
                .iter()
                .map(|ticket| {
                    let copy = comparer
                        .forms
                        .link(RecordKind::Ticket, Side::Old, ticket)
                        .map(|l| l.new_id)
                        .filter(|copy| paired.contains_key(copy));
                    (ticket, copy)
                })
                .collect();
            let copies: Vec<PlatformId> = pairs.iter().filter_map(|(_, c)| c.clone()).collect();
            let mut old_ahead = read_children_ahead(old, part).await?;
            let mut new_ahead = read_children_ahead(new, &copies).await?;
            for (ticket, copy) in pairs {
                read_ticket_children(old, ticket, &mut old_ahead, &mut children_of).await?;
                if let Some(copy) = copy
                    && let Some(pairing) = paired.get_mut(&copy)
                {
                    *pairing = true;
                    read_ticket_children(new, &copy, &mut new_ahead, &mut children_of).await?;
                }
            }
            let links = part_links(store, &children_of).await?;
            comparer.forms.set_part_links(&links);
            comparer.compare(&children_of, &children, &mut report);
        }
        // The new side's tickets no old ticket is linked to: their children are theirs alone.
        let unpaired: Vec<&PlatformId> = new_tickets
            .iter()
            .filter(|t| paired.get(t) == Some(&false))
            .collect();
        for part in unpaired.chunks(tickets_per_part) {
            let mut children_of = Snapshot::default();
            let ids: Vec<PlatformId> = part.iter().map(|t| (*t).clone()).collect();
            let mut ahead = read_children_ahead(new, &ids).await?;
            for ticket in part {
                read_ticket_children(new, ticket, &mut ahead, &mut children_of).await?;
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

/// The old tickets in the order the new side listed their copies; those without a listed copy
/// after them, in their own order.
fn in_copies_order(
    comparer: &Comparer<'_>,
    old_tickets: Vec<PlatformId>,
    new_tickets: &[PlatformId],
) -> Vec<PlatformId> {
    let place: HashMap<&PlatformId, usize> = new_tickets
        .iter()
        .enumerate()
        .map(|(i, id)| (id, i))
        .collect();
    let mut keyed: Vec<(usize, PlatformId)> = old_tickets
        .into_iter()
        .map(|ticket| {
            let copy = comparer.forms.link(RecordKind::Ticket, Side::Old, &ticket);
            let at = copy.and_then(|l| place.get(&l.new_id).copied());
            (at.unwrap_or(usize::MAX), ticket)
        })
        .collect();
    // Stable: tickets without a copy keep their order.
    keyed.sort_by_key(|(at, _)| *at);
    keyed.into_iter().map(|(_, ticket)| ticket).collect()
}

/// The mapping and the losses a comparison of `old` with `new` goes by: agents who left are
/// left behind where the target cannot hold them, and what the target cannot hold is levelled.
pub(super) fn comparison_basis(
    old: &dyn Connector,
    new: &dyn Connector,
    mapping: Mapping,
) -> (Mapping, Losses) {
    let (old_caps, new_caps) = (old.capabilities(), new.capabilities());
    let mut mapping = mapping;
    if !new_caps.agents_who_left {
        mapping.leaving_leavers_behind(Some(new_caps.platform));
    }
    let mut losses = Losses::between(&old_caps, &new_caps);
    if mapping.maps_ticket_types() {
        // Every type goes through [mapping.ticket_types] to one the target has (or is created
        // there): a copy read back without the type it maps to is a difference, not a loss.
        losses.own_ticket_types = false;
    }
    // With [mapping.brands] a copy's brand is compared with the one its original's maps to.
    losses.brands_carried = mapping.maps_brands();
    (mapping, losses)
}

/// Both sides' connectors.
#[derive(Clone, Copy)]
struct Sides<'c> {
    old: &'c dyn Connector,
    new: &'c dyn Connector,
}

/// The order listed kinds are compared in: field definitions first (organizations and
/// contacts hold values of their choices), then groups and roles (which of them share one copy
/// decides how agents and tickets compare), then the rest in dependency order.
fn listed_order(listed: &[RecordKind]) -> Vec<RecordKind> {
    let first = [RecordKind::CustomField, RecordKind::Group, RecordKind::Role];
    first
        .iter()
        .chain(RecordKind::ALL.iter().filter(|k| !first.contains(k)))
        .filter(|k| listed.contains(k))
        .copied()
        .collect()
}

/// The tickets of each side, by id, in the order read: their comments and attachments are
/// read per ticket once the listed kinds are compared.
#[derive(Debug, Default)]
struct Tickets {
    old: Vec<PlatformId>,
    new: Vec<PlatformId>,
}

/// Compares one kind that both sides list (not read per ticket): the new side's records are
/// held in a temporary file ([`Held`]), the old side's read page by page and each compared as
/// it comes with its copy read back from there, then the new records no old one was linked to
/// are judged. Only the counts and what differs stay in memory.
async fn compare_listed(
    sides: Sides<'_>,
    kind: RecordKind,
    comparer: &mut Comparer<'_>,
    tickets: &mut Tickets,
    report: &mut VerifyReport,
) -> Result<(), EngineError> {
    comparer.begin_listed();
    let mut k = KindReport::default();
    let mut held = Held::new()?;
    let mut new_ids = Vec::new();
    read_all(sides.new, kind, &mut k, |observed| {
        comparer.learn(&observed);
        if kind == RecordKind::Ticket && !held.contains(&observed.id) {
            new_ids.push(observed.id.clone());
        }
        held.push(&observed)
    })
    .await?;
    // Linked copies the change feed does not show yet, read one by one.
    let mut unseen = comparer.forms.linked_ids(kind, Side::New);
    unseen.retain(|id| !held.contains(id));
    for observed in read_unseen(sides.new, kind, unseen, &mut k).await? {
        comparer.learn(&observed);
        if kind == RecordKind::Ticket && !held.contains(&observed.id) {
            new_ids.push(observed.id.clone());
        }
        held.push(&observed)?;
    }
    held.finish()?;
    k.new = held.len() as u64;
    if kind == RecordKind::Ticket {
        tickets.new = new_ids;
    }
    // The old side: field definitions are learnt all before any is compared (one's form may
    // depend on another's title); every other kind is compared as its pages come.
    let mut pass = OldPass {
        kind,
        learn_first: matches!(
            kind,
            RecordKind::CustomField | RecordKind::Group | RecordKind::Role
        ),
        buffered: Vec::new(),
        ids: HashSet::new(),
        tickets: &mut tickets.old,
    };
    let mut old_k = KindReport::default();
    read_all(sides.old, kind, &mut old_k, |observed| {
        pass.take(observed, comparer, &mut held, &mut k)
    })
    .await?;
    let mut unseen = comparer.forms.linked_ids(kind, Side::Old);
    unseen.retain(|id| !pass.ids.contains(id));
    for observed in read_unseen(sides.old, kind, unseen, &mut old_k).await? {
        pass.take(observed, comparer, &mut held, &mut k)?;
    }
    pass.learn_first = false;
    // Which old groups or roles share one copy, known before any of them is compared.
    comparer.forms.learn_merges(&pass.buffered);
    for observed in std::mem::take(&mut pass.buffered) {
        pass.take(observed, comparer, &mut held, &mut k)?;
    }
    k.unreadable += old_k.unreadable;
    for observed in held.unseen() {
        comparer.judge_new(&observed?, &mut k);
    }
    comparer.end_kind(kind, k, report);
    Ok(())
}

/// The old side of a listed kind, read past the new side's held records.
struct OldPass<'t> {
    kind: RecordKind,
    /// Whether records are learnt now and compared once all are (see `buffered`).
    learn_first: bool,
    buffered: Vec<Observed>,
    /// The ids read, so that linked records the change feed did not show are read one by one.
    ids: HashSet<PlatformId>,
    /// The old tickets' ids, when the kind is tickets.
    tickets: &'t mut Vec<PlatformId>,
}

impl OldPass<'_> {
    /// Learns from a record, and compares it (or keeps it to compare later).
    fn take(
        &mut self,
        observed: Observed,
        comparer: &mut Comparer<'_>,
        held: &mut Held,
        k: &mut KindReport,
    ) -> Result<(), EngineError> {
        if self.learn_first {
            comparer.learn(&observed);
            self.ids.insert(observed.id.clone());
            self.buffered.push(observed);
            return Ok(());
        }
        if !self.ids.contains(&observed.id) {
            self.ids.insert(observed.id.clone());
            comparer.learn(&observed);
        }
        k.old += 1;
        if self.kind == RecordKind::Ticket {
            self.tickets.push(observed.id.clone());
        }
        comparer.compare_old(&observed, held, k)
    }
}

/// Reads every record of `kind` one side lists, page after page, giving each to `each`; the
/// records it could not read are counted in `k`.
async fn read_all(
    connector: &dyn Connector,
    kind: RecordKind,
    k: &mut KindReport,
    mut each: impl FnMut(Observed) -> Result<(), EngineError>,
) -> Result<(), EngineError> {
    let caps = connector.capabilities();
    if caps.read_per_ticket.contains(&kind) || !caps.can_read(kind) {
        return Ok(());
    }
    let mut position = ReadPosition::start();
    loop {
        let page = connector.read_page(kind, &position).await?;
        let (next, done) = (page.next.clone(), page.done);
        take_page(page, kind, k, &mut each)?;
        match next {
            Some(next) if !done && next != position => position = next,
            _ => return Ok(()),
        }
    }
}

/// Reads one by one the linked records of one side that its change feed did not show
/// (Zendesk's exports leave out their last minute, so a verification right after a backfill
/// would find the newest copies missing). Usually there are none, and no request is made.
async fn read_unseen(
    connector: &dyn Connector,
    kind: RecordKind,
    mut unseen: Vec<PlatformId>,
    k: &mut KindReport,
) -> Result<Vec<Observed>, EngineError> {
    let side = connector.side();
    let mut read = Vec::new();
    if !connector.capabilities().incremental.contains(&kind) || unseen.is_empty() {
        return Ok(read);
    }
    unseen.sort();
    tracing::info!(%kind, %side, count = unseen.len(), "Reading linked records the change feed does not show yet.");
    for id in unseen {
        let page = connector.read_one(kind, &id).await?;
        take_page(page, kind, k, |observed| {
            read.push(observed);
            Ok(())
        })?;
    }
    Ok(read)
}

/// Gives each record of `kind` on a page to `each`, and counts what the page could not read.
fn take_page(
    page: Page,
    kind: RecordKind,
    k: &mut KindReport,
    mut each: impl FnMut(Observed) -> Result<(), EngineError>,
) -> Result<(), EngineError> {
    k.unreadable += page.rejected.iter().filter(|r| r.kind == kind).count() as u64;
    for observed in page.items {
        if observed.record.kind() == kind {
            each(observed)?;
        } else {
            tracing::warn!(%kind, other = %observed.record.kind(), id = %observed.id, "A page of one kind held a record of another: left out.");
        }
    }
    Ok(())
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
