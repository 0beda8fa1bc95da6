//! Verification: both sides read once, each record put in the one fingerprint form (values in
//! the new side's vocabulary, references in the old side's key space), and compared through the
//! links: **missing** (on the old side, not linked, or linked to a new record that is gone),
//! **extra** (on the new side, not linked) and **different** (with a field-level diff).
//!
//! It takes no more requests than reading both sides once: no record is fetched on its own.

use std::collections::{BTreeMap, BTreeSet};

use cutover_connect::{Connector, ReadPosition};
use cutover_model::records::Record;
use cutover_model::{Observed, PlatformId, RecordKind, Side};
use cutover_store::{Link, Store};
use serde::Serialize;

use crate::diff::{FieldDiff, diff};
use crate::error::EngineError;
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
    /// On the new side, not linked to an old record.
    pub extra: Vec<PlatformId>,
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
    Ok(compare(&snapshot, &links, mapping, kinds))
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
            let mut position = ReadPosition::start();
            loop {
                let page = connector
                    .read_children(RecordKind::Comment, &ticket, &position)
                    .await?;
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
    let mut forms = Forms::new(mapping, links, kinds);
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
                k.extra.push(observed.id.clone());
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
    let new_form = forms.new_form(new);
    if old_form.fingerprint() == new_form.fingerprint() {
        k.matched += 1;
        return;
    }
    let to_json = |r: &Record| serde_json::to_value(r).unwrap_or(serde_json::Value::Null);
    k.different.push(Different {
        old_id: observed.id.clone(),
        new_id: link.new_id.clone(),
        fields: diff(&to_json(&old_form), &to_json(&new_form)),
    });
}
