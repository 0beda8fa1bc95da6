//! A verification of a few records read by id (the bridge's rolling re-check,
//! `crate::sync::recheck`): each old record and its linked copy are read on their own, with only
//! what their forms depend on (the field definitions, the groups and roles a plan merges, the
//! links of the records they refer to), and compared as a full verify compares a pair
//! ([`Comparer`]).
//!
//! One thing a full verify knows that this does not: which old records the plan drops. A
//! ticket whose organization the plan leaves behind is compared with that organization still
//! named, so it reads as differing each time; the bridge finds nothing to write for it.

use std::collections::{BTreeMap, BTreeSet};

use cutover_connect::{Connector, ReadPosition, references};
use cutover_model::{Observed, PlatformId, RecordKind, Side};
use cutover_store::{Link, Store};
use futures::{StreamExt, TryStreamExt};

use super::compare::{Comparer, no_pages};
use super::readers::Snapshot;
use super::report::VerifyReport;
use super::run::comparison_basis;
use crate::error::EngineError;
use crate::mapping::Mapping;

/// A record to verify by id: its kind, its old id, and the id of its copy when it is linked.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pair {
    /// Its kind (organization, contact or ticket: what a connector reads by id).
    pub kind: RecordKind,
    /// Its id on the old side.
    pub old_id: PlatformId,
    /// Its copy's id on the new side, when linked.
    pub new_id: Option<PlatformId>,
}

/// What verifying pairs by id found.
#[derive(Debug, Default)]
pub struct PairsReport {
    /// The comparison, as a verify reports it (missing and different, per kind).
    pub report: VerifyReport,
    /// Pairs read and compared (an old record gone since is not compared: the bridge carries
    /// deletions).
    pub compared: u64,
    /// Pairs whose reading failed (tried again on the next re-check), with why.
    pub unread: Vec<(Pair, String)>,
    /// Pairs not compared because a record of theirs is not `settled` (a change the bridge
    /// has yet to read).
    pub deferred: Vec<Pair>,
}

/// Whether a record read is one to compare now: `false` for a change still on its way (the
/// bridge has not read it yet), which would read as a difference for a while.
pub type Settled<'a> = &'a (dyn Fn(&Observed) -> bool + Sync);

/// Lookups of the store in flight at once while the references' links are found.
const LINK_LOOKUPS_IN_FLIGHT: usize = 8;

/// Reads each pair's records by id on both sides and compares them through the store's links.
/// `copied` are the kinds the plan copies (references to others are left out, as a backfill
/// leaves them). A pair with a record not `settled` is left for later; a pair whose reading
/// fails is reported, not an `Err`.
pub async fn verify_pairs(
    store: &dyn Store,
    old: &dyn Connector,
    new: &dyn Connector,
    mapping: Mapping,
    copied: &[RecordKind],
    pairs: &[Pair],
    settled: Settled<'_>,
) -> Result<PairsReport, EngineError> {
    let mut found = PairsReport::default();
    if pairs.is_empty() {
        return Ok(found);
    }
    let (mapping, losses) = comparison_basis(old, new, mapping);
    let mut snapshot = Snapshot::default();
    // What the pairs' forms depend on: the field definitions (a value is compared by its
    // field's title), and the groups and roles that share one copy.
    if copied.contains(&RecordKind::CustomField) {
        for connector in [old, new] {
            read_context(connector, RecordKind::CustomField, &mut snapshot).await?;
        }
    }
    if mapping.has_merges() {
        for kind in [RecordKind::Group, RecordKind::Role] {
            read_context(old, kind, &mut snapshot).await?;
        }
    }
    let mut kinds = BTreeSet::new();
    for pair in pairs {
        let mut pair = pair.clone();
        if pair.new_id.is_none() {
            // Named before it was linked: its copy may have been made since.
            let link = store.find_link(pair.kind, Side::Old, &pair.old_id).await?;
            pair.new_id = link.map(|stored| stored.link.new_id);
        }
        let pair = &pair;
        match read_pair(old, new, pair).await {
            Ok(None) => {}
            Ok(Some(records)) if !records.iter().all(settled) => {
                found.deferred.push(pair.clone());
            }
            Ok(Some(records)) => {
                kinds.insert(pair.kind);
                found.compared += 1;
                for observed in records {
                    let key = (observed.record.kind(), observed.side);
                    snapshot.records.entry(key).or_default().push(observed);
                }
            }
            Err(e) => found.unread.push((pair.clone(), e.to_string())),
        }
    }
    let kinds: Vec<RecordKind> = kinds.into_iter().collect();
    let links = links_of(store, &snapshot, &kinds).await?;
    let mut comparer = Comparer::new(mapping, &links, copied, &losses, &no_pages);
    comparer.compare(&snapshot, &kinds, &mut found.report);
    found.report.old_platform = Some(old.platform());
    found.report.new_platform = Some(new.platform());
    Ok(found)
}

/// The old record of a pair and its copy, read by id; `None` when the old record is gone.
async fn read_pair(
    old: &dyn Connector,
    new: &dyn Connector,
    pair: &Pair,
) -> Result<Option<Vec<Observed>>, EngineError> {
    let page = old.read_one(pair.kind, &pair.old_id).await?;
    let mut records: Vec<Observed> = page
        .items
        .into_iter()
        .filter(|o| o.record.kind() == pair.kind)
        .collect();
    if records.is_empty() {
        return Ok(None);
    }
    if let Some(new_id) = &pair.new_id {
        let page = new.read_one(pair.kind, new_id).await?;
        records.extend(
            page.items
                .into_iter()
                .filter(|o| o.record.kind() == pair.kind),
        );
    }
    Ok(Some(records))
}

/// Every record of `kind` one side lists, into `snapshot` (field definitions, groups, roles:
/// a few pages).
async fn read_context(
    connector: &dyn Connector,
    kind: RecordKind,
    snapshot: &mut Snapshot,
) -> Result<(), EngineError> {
    if !connector.capabilities().can_read(kind) {
        return Ok(());
    }
    let side = connector.side();
    let mut position = ReadPosition::start();
    loop {
        let page = connector.read_page(kind, &position).await?;
        let records = snapshot.records.entry((kind, side)).or_default();
        records.extend(page.items.into_iter().filter(|o| o.record.kind() == kind));
        match page.next {
            Some(next) if !page.done && next != position => position = next,
            _ => return Ok(()),
        }
    }
}

/// The links the compared records' forms need: each compared record's own, and those of the
/// records each refers to, looked up by id on the side it was read on.
async fn links_of(
    store: &dyn Store,
    snapshot: &Snapshot,
    kinds: &[RecordKind],
) -> Result<Vec<Link>, EngineError> {
    let mut wanted: BTreeSet<(RecordKind, Side, PlatformId)> = BTreeSet::new();
    for ((kind, side), records) in &snapshot.records {
        if !kinds.contains(kind) {
            continue;
        }
        for observed in records {
            wanted.insert((*kind, *side, observed.id.clone()));
            for reference in references(&observed.record) {
                for referred in reference.kinds {
                    wanted.insert((*referred, *side, reference.key.clone()));
                }
            }
        }
    }
    let found: Vec<Option<cutover_store::StoredLink>> = futures::stream::iter(
        wanted
            .iter()
            .map(|(kind, side, id)| store.find_link(*kind, *side, id)),
    )
    .buffered(LINK_LOOKUPS_IN_FLIGHT)
    .try_collect()
    .await?;
    let mut links: BTreeMap<(RecordKind, PlatformId), Link> = BTreeMap::new();
    for stored in found.into_iter().flatten() {
        let link = stored.link;
        links.insert((link.kind, link.old_id.clone()), link);
    }
    Ok(links.into_values().collect())
}
