//! Verification: both sides read once, each record put in the one fingerprint form (values in
//! the new side's vocabulary, references in the old side's key space), and compared through the
//! links: **missing** (on the old side, not linked, or linked to a new record that is gone),
//! **extra** (on the new side, not linked, of a kind only a copy puts there: a duplicate) and
//! **different** (with a field-level diff). What the target cannot hold ([`Losses`], from the
//! connectors' capabilities, as `cutover inventory` names it) is levelled on both forms of a
//! linked pair and counted as "not comparable: <reason>"; records a target account holds of its
//! own (agents, default groups and fields) are reported as present only on the new side. Neither
//! is a difference.
//!
//! It takes no more requests than reading both sides once: no record is fetched on its own,
//! except a linked one that a change feed does not show yet (Zendesk's exports leave out their
//! last minute), so a verification straight after a backfill is right.

use std::collections::{BTreeMap, BTreeSet};

use cutover_connect::{Capabilities, Connector, ReadPosition};
use cutover_model::records::Record;
use cutover_model::{Observed, PlatformId, RecordKind, Side};
use cutover_store::{Link, Store};
use serde::Serialize;

use crate::diff::{FieldDiff, diff};
use crate::error::EngineError;
#[cfg(test)]
use crate::forms::ORGANIZATION_TAGS;
use crate::forms::{Form, Forms};
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
    /// On the new side, not linked to an old record, and of a kind only a copy puts there
    /// (tickets and their history): a copy without a link, that is a duplicate.
    pub extra: Vec<PlatformId>,
    /// On the new side only, not created by cutover (no link) and of a kind a target account
    /// holds of its own (agents, default groups and fields, sample companies and contacts):
    /// reported, not a difference.
    pub only_new: Vec<PlatformId>,
    /// Linked records equal once levelled onto what the target can hold, per reason (what one
    /// side cannot hold, as `cutover inventory` names it): counted, not a difference.
    pub not_comparable: BTreeMap<String, u64>,
    /// On both sides, different.
    pub different: Vec<Different>,
}

impl KindReport {
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
            if !k.only_new.is_empty() {
                text.push_str(&format!(
                    "  {} present only on the new side (not created by cutover; not a difference)\n",
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

/// Kinds only a copy puts on the target: one there without a link is a duplicate. Other kinds
/// (agents, groups, fields, organizations, contacts) a target account holds of its own.
const HISTORY: &[RecordKind] = &[
    RecordKind::Ticket,
    RecordKind::Comment,
    RecordKind::Attachment,
    RecordKind::SatisfactionRating,
];

/// Reads both sides and compares them through the store's links.
pub async fn verify(
    store: &dyn Store,
    old: &dyn Connector,
    new: &dyn Connector,
    mapping: Mapping,
    kinds: &[RecordKind],
) -> Result<VerifyReport, EngineError> {
    let mut snapshot = Snapshot::default();
    for connector in [old, new] {
        read_side(connector, kinds, &mut snapshot).await?;
    }
    let links = load_links(store, kinds).await?;
    for connector in [old, new] {
        read_unseen(connector, kinds, &links, &mut snapshot).await?;
    }
    let losses = Losses::between(&old.capabilities(), &new.capabilities());
    Ok(compare_with(&snapshot, &links, mapping, kinds, &losses))
}

/// Reads every record of `kinds` from one side (comments and attachments per ticket).
async fn read_side(
    connector: &dyn Connector,
    kinds: &[RecordKind],
    snapshot: &mut Snapshot,
) -> Result<(), EngineError> {
    let side = connector.side();
    let per_ticket = connector.capabilities().read_per_ticket;
    let children = kinds.iter().any(|k| per_ticket.contains(k));
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
    if children {
        let tickets: Vec<PlatformId> = snapshot
            .records
            .get(&(RecordKind::Ticket, side))
            .map(|t| t.iter().map(|o| o.id.clone()).collect())
            .unwrap_or_default();
        for ticket in tickets {
            read_ticket_children(connector, &ticket, snapshot).await?;
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
    let children = kinds.iter().any(|k| caps.read_per_ticket.contains(k));
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
            let found: Vec<PlatformId> = page.items.iter().map(|o| o.id.clone()).collect();
            keep(
                snapshot,
                side,
                page.items,
                page.rejected.iter().map(|r| r.kind),
            );
            if *kind == RecordKind::Ticket && children {
                for ticket in found {
                    read_ticket_children(connector, &ticket, snapshot).await?;
                }
            }
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

/// What one platform cannot hold of another's tickets: left out of a comparison, because
/// `cutover inventory` names these losses before anything moves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Losses {
    /// A side cannot write a ticket's channel (see `Capabilities::can_set_channel`).
    pub channel: bool,
    /// A side takes only these ticket types (see `Capabilities::ticket_types`).
    pub ticket_types: Option<&'static [&'static str]>,
    /// The target names its own ticket types: a type it reads back as none, it has not.
    pub own_ticket_types: bool,
    /// The target cannot backdate: its solve time is the copy's.
    pub solved_at: bool,
    /// The priority the target gives a ticket without one (a rule, compared: not a loss).
    pub default_priority: Option<&'static str>,
    /// A side's organizations have no tags.
    pub organization_tags: bool,
    /// A side's attachments have no inline flag.
    pub attachment_inline: bool,
    /// A side keeps a choice option's value, not its name.
    pub field_option_names: bool,
    /// The target keeps the type of a field it found by its label.
    pub fields_found_by_label: bool,
}

impl Losses {
    /// The losses of a move between platforms with these capabilities (either way).
    pub fn between(old: &Capabilities, new: &Capabilities) -> Self {
        Losses {
            channel: !(old.can_set_channel && new.can_set_channel),
            ticket_types: new.ticket_types.or(old.ticket_types),
            own_ticket_types: new.ticket_types.is_none(),
            solved_at: !new.can_backdate,
            default_priority: new.default_priority,
            organization_tags: !(old.organization_tags && new.organization_tags),
            attachment_inline: !(old.attachment_inline && new.attachment_inline),
            field_option_names: !(old.field_option_names && new.field_option_names),
            fields_found_by_label: new.fields_found_by_label,
        }
    }
}

/// Like [`compare`], leaving `losses` out of the comparison.
pub fn compare_with(
    snapshot: &Snapshot,
    links: &[Link],
    mapping: Mapping,
    kinds: &[RecordKind],
    losses: &Losses,
) -> VerifyReport {
    let mut forms = Forms::new(mapping, links, kinds).with_losses(losses.clone());
    let mut report = VerifyReport::default();
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
        let new_by_id: BTreeMap<&PlatformId, &Observed> = new.iter().map(|o| (&o.id, o)).collect();
        let mut seen_new = BTreeSet::new();
        for observed in old {
            compare_one(&mut forms, observed, &new_by_id, &mut seen_new, &mut k);
        }
        for observed in new {
            if !seen_new.contains(&observed.id)
                && forms.link(*kind, Side::New, &observed.id).is_none()
            {
                if HISTORY.contains(kind) {
                    k.extra.push(observed.id.clone());
                } else {
                    k.only_new.push(observed.id.clone());
                }
            }
        }
        report.kinds.insert(*kind, k);
    }
    report
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
    let reasons = forms.level(&mut old_form, &mut new_form);
    if old_form.fingerprint() == new_form.fingerprint() {
        k.matched += 1;
        for reason in reasons {
            *k.not_comparable.entry(reason.to_owned()).or_default() += 1;
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

    use cutover_model::records::Organization;

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
        let plan = cutover_control::plan::model::Mapping {
            statuses: BTreeMap::new(),
            priorities: BTreeMap::new(),
            roles: BTreeMap::new(),
            groups: BTreeMap::new(),
            agents: cutover_control::plan::model::AgentMapping::default(),
            fields: BTreeMap::new(),
        };
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
        assert_eq!(k.not_comparable.get(ORGANIZATION_TAGS).copied(), Some(1));
        assert_eq!(k.only_new, [PlatformId::from(102)]);
        assert!(
            report
                .summary()
                .contains("not comparable: organization tags")
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
}
