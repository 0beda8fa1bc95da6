//! Verification: both sides read once, each record put in the one fingerprint form (values in
//! the new side's vocabulary, references in the old side's key space), and compared through the
//! links: **missing** (on the old side, not linked, or linked to a new record that is gone),
//! **extra** (on the new side, not linked, yet written by cutover: it carries cutover's mark, or
//! belongs to a record that does; a duplicate) and **different** (with a field-level diff). What
//! the target cannot hold ([`Losses`], from the connectors' capabilities, as `cutover inventory`
//! names it) is levelled on both forms of a linked pair and counted as "not comparable:
//! <reason>"; records on the new side with no link and no mark (what the target account held
//! before the move, or what people created there since) are reported as present only on the new
//! side. Neither is a difference.
//!
//! Extras are told by cutover's mark ([`Observed::origin`]), not by kind: a contact cutover
//! created and failed to link is a duplicate, a ticket a customer opened on the new platform is
//! not. Some records carry no mark on some platforms (groups, roles, fields, Freshdesk's agents,
//! companies and ratings; attachments; comments Zendesk imported with their ticket, or wrote
//! live as public replies when told notifications are handled; contacts with an external id of
//! their own). No kind is presumed a duplicate for that, as verify did before marks were read:
//! cutover finds those before creating them by what names them (name, e-mail, label, external
//! id, the ticket rated, a comment's author, time and text), so a crash cannot make a second
//! copy, and a comment or attachment written with its parent is extra when its parent is (see
//! [`parent_of`]).
//!
//! It takes no more requests than reading both sides once: no record is fetched on its own,
//! except a linked one that a change feed does not show yet (Zendesk's exports leave out their
//! last minute), so a verification straight after a backfill is right.
//!
//! Its memory stays nearly flat: the listed kinds (tickets, contacts, …) and the links are held
//! whole, but the records read per ticket (comments and attachments, most of an account) are
//! read and compared [`TICKETS_PER_PART`] tickets at a time, each old ticket's beside its copy's,
//! and let go.

use std::collections::{BTreeMap, BTreeSet};

use cutover_connect::{Connector, ReadPosition};
use cutover_model::records::Record;
use cutover_model::{Observed, PlatformId, RecordKind, Side};
use cutover_store::{Link, Store};
use serde::Serialize;

use crate::diff::{FieldDiff, diff};
use crate::error::EngineError;
use crate::forms::{Form, Forms};
pub use crate::losses::Losses;
#[cfg(test)]
use crate::losses::ORGANIZATION_TAGS;
use crate::mapping::Mapping;

/// A record of the old side with no live copy on the new side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Missing {
    /// Its id on the old side.
    pub old_id: PlatformId,
    /// The new id its link names, when the link's record is gone.
    pub new_id: Option<PlatformId>,
    /// Why it counts as missing.
    pub reason: String,
}

/// A record on both sides whose contents differ.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Different {
    /// Its id on the old side.
    pub old_id: PlatformId,
    /// Its id on the new side.
    pub new_id: PlatformId,
    /// What differs, field by field.
    pub fields: Vec<FieldDiff>,
}

/// The verification of one kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct KindReport {
    /// Records read on the old side.
    pub old: u64,
    /// Records read on the new side.
    pub new: u64,
    /// Records equal on both sides.
    pub matched: u64,
    /// Old records the plan leaves behind (not compared).
    pub dropped: u64,
    /// Records a side could not read (see the dead letters of a backfill).
    pub unreadable: u64,
    /// On the old side, not (or no longer) on the new side.
    pub missing: Vec<Missing>,
    /// On the new side, not linked to an old record, yet written by cutover (it carries
    /// cutover's mark, or belongs to a record that is extra): a copy without a link, that is a
    /// duplicate.
    pub extra: Vec<PlatformId>,
    /// Why each of [`KindReport::extra`] is one, by its id: `written by cutover as the copy of
    /// ticket 42 on the old side but not linked`, or the extra record it belongs to.
    pub extra_reasons: BTreeMap<PlatformId, String>,
    /// On the new side only, with no link and no cutover mark, whatever its kind: what the target
    /// account held of its own (agents, default groups and fields, sample companies and
    /// contacts) or what people created there since. Reported, not a difference.
    pub only_new: Vec<PlatformId>,
    /// Linked records equal once levelled onto what the target can hold, per reason (what one
    /// side cannot hold, as `cutover inventory` names it): counted, not a difference.
    pub not_comparable: BTreeMap<String, u64>,
    /// On both sides, different.
    pub different: Vec<Different>,
}

impl KindReport {
    /// Adds what another part of the same kind found.
    fn absorb(&mut self, part: KindReport) {
        self.old += part.old;
        self.new += part.new;
        self.matched += part.matched;
        self.dropped += part.dropped;
        self.unreadable += part.unreadable;
        self.missing.extend(part.missing);
        self.extra.extend(part.extra);
        self.extra_reasons.extend(part.extra_reasons);
        self.only_new.extend(part.only_new);
        for (reason, count) in part.not_comparable {
            *self.not_comparable.entry(reason).or_default() += count;
        }
        self.different.extend(part.different);
    }

    /// Whether this kind has no difference.
    pub fn is_clean(&self) -> bool {
        self.missing.is_empty() && self.extra.is_empty() && self.different.is_empty()
    }
}

/// The verification of both sides, per kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VerifyReport {
    /// Per kind, in dependency order.
    pub kinds: BTreeMap<RecordKind, KindReport>,
}

impl VerifyReport {
    /// Whether both sides hold the same records.
    pub fn is_clean(&self) -> bool {
        self.kinds.values().all(KindReport::is_clean)
    }

    /// A short text: one line per kind, then the verdict.
    pub fn summary(&self) -> String {
        let mut text = String::new();
        for (kind, k) in &self.kinds {
            text.push_str(&format!(
                "{kind}: {} old, {} new, {} matched, {} missing, {} extra, {} different, {} dropped, {} unreadable\n",
                k.old,
                k.new,
                k.matched,
                k.missing.len(),
                k.extra.len(),
                k.different.len(),
                k.dropped,
                k.unreadable
            ));
            for (reason, count) in &k.not_comparable {
                text.push_str(&format!("  {count} matched but not comparable: {reason}\n"));
            }
            for id in &k.extra {
                let reason = k.extra_reasons.get(id).map_or("not linked", String::as_str);
                text.push_str(&format!("  extra {kind} {id}: {reason}\n"));
            }
            if !k.only_new.is_empty() {
                text.push_str(&format!(
                    "  {} present only on the new side (no link and no cutover mark: not written by cutover; not a difference)\n",
                    k.only_new.len()
                ));
            }
        }
        text.push_str(if self.is_clean() {
            "both sides hold the same records\n"
        } else {
            "the sides differ\n"
        });
        text
    }
}

/// Records of both sides, read once.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Records by kind and side.
    pub records: BTreeMap<(RecordKind, Side), Vec<Observed>>,
    /// Records a side could not read, by kind and side.
    pub unreadable: BTreeMap<(RecordKind, Side), u64>,
}

/// The record a record is written with, as (kind, id on the same side): a comment's or a
/// rating's ticket, an attachment's comment. An unmarked record whose parent is extra is extra
/// too: Zendesk imports a ticket's comments with it, and no platform marks an attachment, so the
/// children of a duplicate carry no mark of their own.
pub fn parent_of(record: &Record) -> Option<(RecordKind, &PlatformId)> {
    match record {
        Record::Comment(c) => Some((RecordKind::Ticket, &c.ticket)),
        Record::SatisfactionRating(r) => Some((RecordKind::Ticket, &r.ticket)),
        Record::Attachment(a) => Some((RecordKind::Comment, &a.comment)),
        _ => None,
    }
}

/// Why an unlinked record of the new side is extra, or `None` when it is the new side's own
/// (no mark, and not part of an extra record). `extras` holds the extras found so far, by kind.
fn extra_reason(
    observed: &Observed,
    extras: &BTreeMap<RecordKind, BTreeMap<PlatformId, String>>,
) -> Option<String> {
    if let Some(origin) = &observed.origin {
        return Some(format!(
            "written by cutover as the copy of {origin} but not linked"
        ));
    }
    let (kind, parent) = parent_of(&observed.record)?;
    extras
        .get(&kind)
        .filter(|ids| ids.contains_key(parent))
        .map(|_| format!("part of {kind} {parent}, which is extra"))
}

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
    let links = load_links(store, kinds).await?;
    for connector in [old, new] {
        read_unseen(connector, &listed, &links, &mut snapshot).await?;
    }
    let losses = Losses::between(&old_caps, &new_caps);
    let mut comparer = Comparer::new(mapping, &links, kinds, &losses);
    drop(links);
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
            comparer.compare(&children_of, &children, &mut report);
        }
    }
    Ok(report)
}

/// Reads every record of `kinds` that one side lists (not those read per ticket).
async fn read_side(
    connector: &dyn Connector,
    kinds: &[RecordKind],
    snapshot: &mut Snapshot,
) -> Result<(), EngineError> {
    let side = connector.side();
    let per_ticket = connector.capabilities().read_per_ticket;
    for kind in kinds.iter().filter(|k| !per_ticket.contains(k)) {
        if !connector.capabilities().can_read(*kind) {
            continue;
        }
        let mut position = ReadPosition::start();
        loop {
            let page = connector.read_page(*kind, &position).await?;
            keep(
                snapshot,
                side,
                page.items,
                page.rejected.iter().map(|r| r.kind),
            );
            match page.next {
                Some(next) if !page.done && next != position => position = next,
                _ => break,
            }
        }
    }
    Ok(())
}

/// Reads every comment (with its attachments) of one ticket.
async fn read_ticket_children(
    connector: &dyn Connector,
    ticket: &PlatformId,
    snapshot: &mut Snapshot,
) -> Result<(), EngineError> {
    let side = connector.side();
    let mut position = ReadPosition::start();
    loop {
        let page = connector
            .read_children(RecordKind::Comment, ticket, &position)
            .await?;
        keep(
            snapshot,
            side,
            page.items,
            page.rejected.iter().map(|r| r.kind),
        );
        match page.next {
            Some(next) if !page.done && next != position => position = next,
            _ => return Ok(()),
        }
    }
}

/// Reads one by one the linked records of one side that its change feed did not show yet
/// (Zendesk's exports leave out their last minute, so a verification right after a backfill
/// would find the newest copies missing). Usually there are none, and no request is made.
async fn read_unseen(
    connector: &dyn Connector,
    kinds: &[RecordKind],
    links: &[Link],
    snapshot: &mut Snapshot,
) -> Result<(), EngineError> {
    let side = connector.side();
    let caps = connector.capabilities();
    for kind in kinds.iter().filter(|k| caps.incremental.contains(k)) {
        let seen: BTreeSet<PlatformId> = snapshot
            .records
            .get(&(*kind, side))
            .map(|r| r.iter().map(|o| o.id.clone()).collect())
            .unwrap_or_default();
        let unseen: Vec<PlatformId> = links
            .iter()
            .filter(|l| l.kind == *kind && !seen.contains(l.id(side)))
            .map(|l| l.id(side).clone())
            .collect();
        if !unseen.is_empty() {
            tracing::info!(%kind, %side, count = unseen.len(), "Reading linked records the change feed does not show yet.");
        }
        for id in unseen {
            let page = connector.read_one(*kind, &id).await?;
            keep(
                snapshot,
                side,
                page.items,
                page.rejected.iter().map(|r| r.kind),
            );
        }
    }
    Ok(())
}

fn keep(
    snapshot: &mut Snapshot,
    side: Side,
    items: Vec<Observed>,
    rejected: impl Iterator<Item = RecordKind>,
) {
    for item in items {
        let key = (item.record.kind(), side);
        snapshot.records.entry(key).or_default().push(item);
    }
    for kind in rejected {
        *snapshot.unreadable.entry((kind, side)).or_default() += 1;
    }
}

/// Every link of `kinds` and of the kinds they refer to.
async fn load_links(store: &dyn Store, kinds: &[RecordKind]) -> Result<Vec<Link>, EngineError> {
    let mut wanted: BTreeSet<RecordKind> = kinds.iter().copied().collect();
    for kind in kinds {
        wanted.extend(kind.parents().iter().copied());
    }
    let mut links = Vec::new();
    for kind in wanted {
        let mut after: Option<PlatformId> = None;
        loop {
            let page = store.links(kind, after.as_ref(), 1000).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.link.old_id.clone());
            links.extend(page.into_iter().map(|s| s.link));
        }
    }
    Ok(links)
}

/// Compares a snapshot of both sides through the links, kind by kind in dependency order.
pub fn compare(
    snapshot: &Snapshot,
    links: &[Link],
    mapping: Mapping,
    kinds: &[RecordKind],
) -> VerifyReport {
    compare_with(snapshot, links, mapping, kinds, &Losses::default())
}

/// Like [`compare`], leaving `losses` out of the comparison.
pub fn compare_with(
    snapshot: &Snapshot,
    links: &[Link],
    mapping: Mapping,
    kinds: &[RecordKind],
    losses: &Losses,
) -> VerifyReport {
    let mut report = VerifyReport::default();
    Comparer::new(mapping, links, kinds, losses).compare(snapshot, kinds, &mut report);
    report
}

/// Compares records through the links, part after part: what a later part depends on (field
/// titles, agents, the links, the extras found so far) is kept between parts.
struct Comparer {
    forms: Forms,
    /// The extras found so far, by kind: a child of an extra record is extra too.
    extras: BTreeMap<RecordKind, BTreeMap<PlatformId, String>>,
}

impl Comparer {
    fn new(mapping: Mapping, links: &[Link], kinds: &[RecordKind], losses: &Losses) -> Self {
        Comparer {
            forms: Forms::new(mapping, links, kinds).with_losses(losses.clone()),
            extras: BTreeMap::new(),
        }
    }

    /// Compares the records of `kinds` in `snapshot`, in dependency order, adding the results
    /// to `report`.
    fn compare(&mut self, snapshot: &Snapshot, kinds: &[RecordKind], report: &mut VerifyReport) {
        let (forms, extras) = (&mut self.forms, &mut self.extras);
        let empty = Vec::new();
        for kind in RecordKind::ALL.iter().filter(|k| kinds.contains(k)) {
            let old = snapshot.records.get(&(*kind, Side::Old)).unwrap_or(&empty);
            let new = snapshot.records.get(&(*kind, Side::New)).unwrap_or(&empty);
            let mut k = KindReport {
                old: old.len() as u64,
                new: new.len() as u64,
                unreadable: [Side::Old, Side::New]
                    .iter()
                    .map(|s| snapshot.unreadable.get(&(*kind, *s)).copied().unwrap_or(0))
                    .sum(),
                ..KindReport::default()
            };
            for observed in old.iter().chain(new) {
                forms.learn(observed);
            }
            let new_by_id: BTreeMap<&PlatformId, &Observed> =
                new.iter().map(|o| (&o.id, o)).collect();
            let mut seen_new = BTreeSet::new();
            for observed in old {
                compare_one(forms, observed, &new_by_id, &mut seen_new, &mut k);
            }
            for observed in new {
                if !seen_new.contains(&observed.id)
                    && forms.link(*kind, Side::New, &observed.id).is_none()
                {
                    match extra_reason(observed, extras) {
                        Some(reason) => {
                            k.extra.push(observed.id.clone());
                            k.extra_reasons.insert(observed.id.clone(), reason);
                        }
                        None => k.only_new.push(observed.id.clone()),
                    }
                }
            }
            extras
                .entry(*kind)
                .or_default()
                .extend(k.extra_reasons.clone());
            report.kinds.entry(*kind).or_default().absorb(k);
        }
    }
}

fn compare_one<'a>(
    forms: &mut Forms,
    observed: &Observed,
    new_by_id: &BTreeMap<&'a PlatformId, &'a Observed>,
    seen_new: &mut BTreeSet<PlatformId>,
    k: &mut KindReport,
) {
    let kind = observed.record.kind();
    let old_form = match forms.old_form(observed) {
        Form::Record(record) => record,
        Form::Dropped => {
            k.dropped += 1;
            return;
        }
        Form::Hole(reason) => {
            k.missing.push(Missing {
                old_id: observed.id.clone(),
                new_id: None,
                reason,
            });
            return;
        }
    };
    let Some(link) = forms.link(kind, Side::Old, &observed.id).cloned() else {
        k.missing.push(Missing {
            old_id: observed.id.clone(),
            new_id: None,
            reason: "not linked: never copied".into(),
        });
        return;
    };
    let Some(new) = new_by_id.get(&link.new_id) else {
        k.missing.push(Missing {
            old_id: observed.id.clone(),
            new_id: Some(link.new_id.clone()),
            reason: "linked, but the new record is gone".into(),
        });
        return;
    };
    seen_new.insert(link.new_id.clone());
    let (mut old_form, mut new_form) = (old_form, forms.new_form(new));
    if old_form.fingerprint() == new_form.fingerprint() {
        k.matched += 1;
        return;
    }
    let written_to = link.last_writer.other();
    let mut reasons: Vec<String> = forms
        .losses()
        .level(&mut old_form, &mut new_form, written_to)
        .iter()
        .map(|lack| lack.reason())
        .collect();
    reasons.extend(crate::rules::level_pair(
        forms.losses(),
        &mut old_form,
        &mut new_form,
        written_to,
    ));
    if old_form.fingerprint() == new_form.fingerprint() {
        k.matched += 1;
        for reason in reasons {
            *k.not_comparable.entry(reason).or_default() += 1;
        }
        return;
    }
    let to_json = |r: &Record| serde_json::to_value(r).unwrap_or(serde_json::Value::Null);
    k.different.push(Different {
        old_id: observed.id.clone(),
        new_id: link.new_id.clone(),
        fields: diff(&to_json(&old_form), &to_json(&new_form)),
    });
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test data built here")]

    use cutover_model::records::{Channel, Organization};

    use super::*;

    fn organization(side: Side, id: u64, tags: &[&str]) -> Observed {
        Observed {
            side,
            id: PlatformId::from(id),
            updated_at: None,
            record: Record::Organization(Organization {
                name: "Acme".into(),
                domains: BTreeSet::new(),
                details: None,
                notes: None,
                tags: tags.iter().map(|t| (*t).to_owned()).collect(),
                custom_fields: BTreeMap::new(),
            }),
            origin: None,
        }
    }

    /// An old organization with tags, its copy without (the target has none), and one the
    /// target held before the move.
    fn snapshot() -> (Snapshot, Vec<Link>) {
        let old = organization(Side::Old, 1, &["vip"]);
        let new = organization(Side::New, 101, &[]);
        let link = Link::new(
            RecordKind::Organization,
            old.id.clone(),
            new.id.clone(),
            old.record.fingerprint(),
            Side::New,
        );
        let mut snapshot = Snapshot::default();
        snapshot
            .records
            .insert((RecordKind::Organization, Side::Old), vec![old]);
        snapshot.records.insert(
            (RecordKind::Organization, Side::New),
            vec![new, organization(Side::New, 102, &[])],
        );
        (snapshot, vec![link])
    }

    fn mapping() -> Mapping {
        let plan = cutover_control::plan::model::Mapping::default();
        Mapping::from_plan(&plan)
    }

    #[test]
    fn what_the_target_cannot_hold_is_counted_not_compared() {
        let (snapshot, links) = snapshot();
        let losses = Losses {
            organization_tags: true,
            ..Losses::default()
        };
        let report = compare_with(
            &snapshot,
            &links,
            mapping(),
            &[RecordKind::Organization],
            &losses,
        );
        let k = &report.kinds[&RecordKind::Organization];
        assert!(report.is_clean(), "{}", report.summary());
        assert_eq!(k.matched, 1);
        assert_eq!(
            k.not_comparable.get(&ORGANIZATION_TAGS.reason()).copied(),
            Some(1)
        );
        assert_eq!(k.only_new, [PlatformId::from(102)]);
        assert!(
            report
                .summary()
                .contains("not comparable: organization.tags")
        );
        assert!(report.summary().contains("present only on the new side"));
    }

    #[test]
    fn without_the_loss_the_tags_are_a_difference() {
        let (snapshot, links) = snapshot();
        let report = compare(&snapshot, &links, mapping(), &[RecordKind::Organization]);
        let k = &report.kinds[&RecordKind::Organization];
        assert!(!report.is_clean());
        assert_eq!(k.different.len(), 1);
        assert_eq!(k.different[0].fields[0].pointer, "/record/tags");
        assert!(k.not_comparable.is_empty());
    }

    fn marked(mut observed: Observed, kind: RecordKind, old_id: u64) -> Observed {
        observed.origin = Some(cutover_model::RecordRef {
            kind,
            side: Side::Old,
            id: PlatformId::from(old_id),
        });
        observed
    }

    fn on_new(id: u64, record: Record) -> Observed {
        Observed {
            side: Side::New,
            id: PlatformId::from(id),
            updated_at: None,
            record,
            origin: None,
        }
    }

    fn ticket() -> Record {
        Record::Ticket(cutover_model::records::Ticket {
            subject: "Where is my order?".into(),
            status: "open".into(),
            priority: None,
            ticket_type: None,
            channel: Channel::Email,
            requester: PlatformId::from(5),
            assignee: None,
            group: None,
            organization: None,
            tags: BTreeSet::new(),
            custom_fields: BTreeMap::new(),
            created_at: chrono::DateTime::UNIX_EPOCH,
            solved_at: None,
        })
    }

    fn comment(ticket: u64) -> Record {
        Record::Comment(cutover_model::records::Comment {
            ticket: PlatformId::from(ticket),
            author: PlatformId::from(5),
            public: true,
            html_body: "<p>Any news?</p>".into(),
            created_at: chrono::DateTime::UNIX_EPOCH,
        })
    }

    fn attachment(comment: u64) -> Record {
        Record::Attachment(cutover_model::records::Attachment {
            comment: PlatformId::from(comment),
            file_name: "invoice.pdf".into(),
            content_type: "application/pdf".into(),
            size: 3,
            checksum: String::new(),
            inline: false,
        })
    }

    fn contact(name: &str) -> Record {
        Record::Contact(cutover_model::records::Contact {
            name: name.into(),
            email: None,
            phone: None,
            organization: None,
            external_id: None,
            locale: None,
            time_zone: None,
            tags: BTreeSet::new(),
            custom_fields: BTreeMap::new(),
            active: true,
        })
    }

    fn new_side_only(records: Vec<Observed>) -> Snapshot {
        let mut snapshot = Snapshot::default();
        for observed in records {
            snapshot
                .records
                .entry((observed.record.kind(), Side::New))
                .or_default()
                .push(observed);
        }
        snapshot
    }

    const HISTORY_KINDS: &[RecordKind] = &[
        RecordKind::Contact,
        RecordKind::Ticket,
        RecordKind::Comment,
        RecordKind::Attachment,
    ];

    #[test]
    fn a_marked_unlinked_ticket_is_extra_and_fails() {
        let snapshot = new_side_only(vec![marked(on_new(901, ticket()), RecordKind::Ticket, 42)]);
        let report = compare(&snapshot, &[], mapping(), HISTORY_KINDS);
        let k = &report.kinds[&RecordKind::Ticket];
        assert!(!report.is_clean(), "{}", report.summary());
        assert_eq!(k.extra, [PlatformId::from(901)]);
        assert!(k.only_new.is_empty());
        let reason = "written by cutover as the copy of ticket 42 on the old side but not linked";
        assert_eq!(k.extra_reasons[&PlatformId::from(901)], reason);
        assert!(
            report
                .summary()
                .contains(&format!("extra ticket 901: {reason}")),
            "{}",
            report.summary()
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["kinds"]["ticket"]["extra"], serde_json::json!(["901"]));
        assert_eq!(json["kinds"]["ticket"]["extra_reasons"]["901"], reason);
    }

    #[test]
    fn an_unmarked_unlinked_ticket_is_the_new_sides_own_and_passes() {
        // A customer opened it on the new platform: no link, no mark, with a comment and a file.
        let snapshot = new_side_only(vec![
            on_new(902, ticket()),
            on_new(7001, comment(902)),
            on_new(8001, attachment(7001)),
        ]);
        let report = compare(&snapshot, &[], mapping(), HISTORY_KINDS);
        assert!(report.is_clean(), "{}", report.summary());
        for (kind, id) in [
            (RecordKind::Ticket, 902),
            (RecordKind::Comment, 7001),
            (RecordKind::Attachment, 8001),
        ] {
            let k = &report.kinds[&kind];
            assert!(k.extra.is_empty(), "{kind}: {:?}", k.extra);
            assert_eq!(k.only_new, [PlatformId::from(id)], "{kind}");
        }
        assert!(report.summary().contains("no cutover mark"));
    }

    #[test]
    fn a_marked_unlinked_contact_is_extra_and_an_unmarked_one_is_not() {
        let snapshot = new_side_only(vec![
            marked(on_new(501, contact("Ada")), RecordKind::Contact, 7),
            on_new(502, contact("Grace")),
        ]);
        let report = compare(&snapshot, &[], mapping(), &[RecordKind::Contact]);
        let k = &report.kinds[&RecordKind::Contact];
        assert!(!report.is_clean(), "{}", report.summary());
        assert_eq!(k.extra, [PlatformId::from(501)]);
        assert_eq!(
            k.extra_reasons[&PlatformId::from(501)],
            "written by cutover as the copy of contact 7 on the old side but not linked"
        );
        assert_eq!(k.only_new, [PlatformId::from(502)]);
    }

    #[test]
    fn unmarked_children_of_an_extra_ticket_are_extra_with_it() {
        // Zendesk imports a ticket's comments with it (no header) and no platform marks a file:
        // the history of a duplicate ticket is a duplicate too.
        let snapshot = new_side_only(vec![
            marked(on_new(903, ticket()), RecordKind::Ticket, 43),
            on_new(7002, comment(903)),
            on_new(8002, attachment(7002)),
            // On another ticket, the new side's own.
            on_new(7003, comment(904)),
        ]);
        let report = compare(&snapshot, &[], mapping(), HISTORY_KINDS);
        let comments = &report.kinds[&RecordKind::Comment];
        assert_eq!(comments.extra, [PlatformId::from(7002)]);
        assert_eq!(
            comments.extra_reasons[&PlatformId::from(7002)],
            "part of ticket 903, which is extra"
        );
        assert_eq!(comments.only_new, [PlatformId::from(7003)]);
        let attachments = &report.kinds[&RecordKind::Attachment];
        assert_eq!(attachments.extra, [PlatformId::from(8002)]);
        assert_eq!(
            attachments.extra_reasons[&PlatformId::from(8002)],
            "part of comment 7002, which is extra"
        );
    }

    #[test]
    fn a_linked_copy_is_neither_extra_nor_only_new_whatever_its_mark() {
        let old = Observed {
            side: Side::Old,
            ..on_new(42, ticket())
        };
        let new = marked(on_new(901, ticket()), RecordKind::Ticket, 42);
        let link = Link::new(
            RecordKind::Ticket,
            old.id.clone(),
            new.id.clone(),
            old.record.fingerprint(),
            Side::New,
        );
        let mut snapshot = Snapshot::default();
        snapshot
            .records
            .insert((RecordKind::Ticket, Side::Old), vec![old]);
        snapshot
            .records
            .insert((RecordKind::Ticket, Side::New), vec![new]);
        let report = compare(&snapshot, &[link], mapping(), &[RecordKind::Ticket]);
        let k = &report.kinds[&RecordKind::Ticket];
        assert!(k.extra.is_empty() && k.only_new.is_empty(), "{k:?}");
        assert!(
            k.missing.iter().all(|m| !m.reason.contains("not linked")),
            "{k:?}"
        );
    }
}
