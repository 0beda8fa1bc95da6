//! A verification of a few records read by id (the bridge's rolling re-check,
//! `crate::sync::recheck`): each old record and its linked copy are read by id (a hundred to a
//! request where the platform reads many at once, `Connector::read_many`), with only
//! what their forms depend on (the field definitions, the groups and roles a plan merges, the
//! links of the records they refer to), and compared as a full verify compares a pair
//! ([`Comparer`]).
//!
//! One thing a full verify knows that this does not: which old records the plan drops. A
//! ticket whose organization the plan leaves behind is compared with that organization still
//! named, so it reads as differing each time; the bridge finds nothing to write for it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

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
    let mut by_kind: BTreeMap<RecordKind, Vec<Pair>> = BTreeMap::new();
    for pair in pairs {
        let mut pair = pair.clone();
        if pair.new_id.is_none() {
            // Named before it was linked: its copy may have been made since.
            let link = store.find_link(pair.kind, Side::Old, &pair.old_id).await?;
            pair.new_id = link.map(|stored| stored.link.new_id);
        }
        by_kind.entry(pair.kind).or_default().push(pair);
    }
    let mut kinds = BTreeSet::new();
    for (kind, pairs) in &by_kind {
        for part in pairs.chunks(READ_PART) {
            let (mut olds, mut news) = match read_part(old, new, *kind, part).await {
                Ok(read) => read,
                Err(e) => {
                    let why = e.to_string();
                    found
                        .unread
                        .extend(part.iter().map(|pair| (pair.clone(), why.clone())));
                    continue;
                }
            };
            for pair in part {
                // The old record gone: the bridge carries deletions.
                let Some(original) = olds.remove(&pair.old_id) else {
                    continue;
                };
                let copy = pair.new_id.as_ref().and_then(|id| news.remove(id));
                let records: Vec<Observed> = std::iter::once(original).chain(copy).collect();
                if !records.iter().all(settled) {
                    found.deferred.push(pair.clone());
                    continue;
                }
                kinds.insert(*kind);
                found.compared += 1;
                for observed in records {
                    let key = (observed.record.kind(), observed.side);
                    snapshot.records.entry(key).or_default().push(observed);
                }
            }
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

/// Pairs read at once: a platform's `show_many` takes up to 100 ids.
const READ_PART: usize = 100;

/// The old records of a part of the pairs (all of `kind`) and their copies, read by id, each
/// side's by its id.
async fn read_part(
    old: &dyn Connector,
    new: &dyn Connector,
    kind: RecordKind,
    part: &[Pair],
) -> Result<(HashMap<PlatformId, Observed>, HashMap<PlatformId, Observed>), EngineError> {
    let old_ids: Vec<PlatformId> = part.iter().map(|p| p.old_id.clone()).collect();
    let new_ids: Vec<PlatformId> = part.iter().filter_map(|p| p.new_id.clone()).collect();
    let by_id = |page: cutover_connect::Page| -> HashMap<PlatformId, Observed> {
        page.items
            .into_iter()
            .filter(|o| o.record.kind() == kind)
            .map(|o| (o.id.clone(), o))
            .collect()
    };
    let olds = by_id(old.read_many(kind, &old_ids).await?);
    let news = if new_ids.is_empty() {
        HashMap::new()
    } else {
        by_id(new.read_many(kind, &new_ids).await?)
    };
    Ok((olds, news))
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
