//! Drift caught early: a rolling re-check of the records changed lately, beside the bridge, every
//! `[sync] recheck_every`, run by `cutover serve`.
//!
//! The scheduled verify (`reconcile`) reads everything, so it runs seldom; drift is likeliest on
//! what changed lately (a webhook lost, a change made at a time a feed had read past, a write
//! the platform took differently). Each run looks back `[sync] recheck_window` and re-checks:
//!
//! - the records whose link was written in the window (the backfill's or the bridge's writes:
//!   the store keeps when, `Store::links_written_since`);
//! - the records each side's change feed shows changed in the window, read again from the
//!   window's start whatever the bridge's position (a change the bridge's pass missed is found
//!   here);
//! - the records it found drifting before and has not yet seen repaired.
//!
//! Newest change first, each once, at most [`RecheckConfig::limit`] a run. A change the bridge
//! has yet to read is not drift: a record changed after its kind's feed position on a side the
//! bridge reads (a time on the platform's own clock) is left for a later run ([`settled`]).
//! Each old record and its copy are read by id through connectors that leave the bridge the budget it claims (as
//! the scheduled verify's do, `live`) and compared as a verify compares a pair
//! (`verify::verify_pairs`); what differs or is missing is named to the bridge, which reads it
//! again and repairs it by its usual rules, as for the scheduled verify's drift.
//!
//! Each run is kept in the store (run state `sync:recheck`) and counted on `/metrics`:
//! records re-checked, drift found (each drifting record once until it is repaired), drift
//! repaired (a record found drifting, equal again on a later run). `cutover sync status`
//! shows it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use cutover_connect::{ChangeHint, Connector, ReadPosition};
use cutover_model::{Observed, PlatformId, RecordKind, Side};
use cutover_store::Store;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::error::EngineError;
use crate::mapping::Mapping;
use crate::sync::bridge::{BridgeHandle, SYNCED_KINDS};
use crate::sync::reconcile::drift_of;
use crate::verify::{Pair, VerifyReport, verify_pairs};

/// The run-state key of the rolling re-check's state.
pub const RECHECK_KEY: &str = "sync:recheck";

/// How the rolling re-check runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecheckConfig {
    /// How often it runs (the first run `every` after the start).
    pub every: Duration,
    /// How far back it looks for records changed lately.
    pub window: Duration,
    /// The most records it re-checks a run, newest change first (the rest wait for the full
    /// verify, or a later run while they are in the window).
    pub limit: usize,
}

/// The most records a run re-checks unless told otherwise.
pub const DEFAULT_LIMIT: usize = 500;

/// The rolling re-check, as kept in the store.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Rechecked {
    /// When the last run finished.
    pub at: Option<DateTime<Utc>>,
    /// Where the last run's window started.
    pub since: Option<DateTime<Utc>>,
    /// Runs since `cutover serve` started.
    pub runs: u64,
    /// Records the last run compared.
    pub rechecked: u64,
    /// Records compared since `cutover serve` started.
    pub rechecked_total: u64,
    /// Records found differing or missing in the last run, by `kind:side:id`, named to the
    /// bridge to read again.
    pub drift: Vec<String>,
    /// Drifting records found since `cutover serve` started (each once until repaired).
    pub drift_total: u64,
    /// Records found drifting before, equal in the last run.
    pub repaired: u64,
    /// Repaired since `cutover serve` started.
    pub repaired_total: u64,
    /// Records the last run could not read (re-checked again while in the window).
    pub unread: u64,
    /// Records the last run left for later: changed since the bridge's feed read that side.
    #[serde(default)]
    pub deferred: u64,
    /// Why the last run failed, if it did (it runs again on schedule).
    pub error: Option<String>,
}

/// The last state of the rolling re-check, if one ran.
pub async fn last(store: &dyn Store) -> Result<Option<Rechecked>, EngineError> {
    Ok(store
        .run_state(RECHECK_KEY)
        .await?
        .and_then(|value| serde_json::from_value(value).ok()))
}

/// A record changed lately: the pair it belongs to and when it changed (or its link was
/// written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    /// The record and its copy.
    pub pair: Pair,
    /// When it changed.
    pub at: DateTime<Utc>,
}

/// Where a run's window starts: `window` before `now`.
pub fn window_start(now: DateTime<Utc>, window: Duration) -> DateTime<Utc> {
    let window = chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX);
    now.checked_sub_signed(window)
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// The pairs a run re-checks: the ones found drifting before (`pending`, always), then the
/// changes of `kinds` at or after `since`, newest first, each pair once, at most `limit` in all.
pub fn select(
    pending: &[Pair],
    changed: Vec<Changed>,
    since: DateTime<Utc>,
    kinds: &[RecordKind],
    limit: usize,
) -> Vec<Pair> {
    let mut changed: Vec<Changed> = changed
        .into_iter()
        .filter(|c| c.at >= since && kinds.contains(&c.pair.kind))
        .collect();
    changed.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| a.pair.cmp(&b.pair)));
    // One pair may be named twice: by its link and by a feed, or with and without its copy's
    // id (a feed of the old side read before the link was written).
    let mut seen: BTreeSet<(RecordKind, PlatformId)> = BTreeSet::new();
    let mut pairs = Vec::new();
    for pair in pending
        .iter()
        .cloned()
        .chain(changed.into_iter().map(|c| c.pair))
    {
        if pairs.len() >= limit.max(pending.len()) {
            break;
        }
        if seen.insert((pair.kind, pair.old_id.clone())) {
            pairs.push(pair);
        }
    }
    pairs
}

/// Each kind's feed position on each side the bridge reads: the change time (on that
/// platform's clock) it has read to.
pub type Positions = BTreeMap<(Side, RecordKind), DateTime<Utc>>;

/// Whether a record read is settled: on a side the bridge does not read, always; on one it
/// reads, when it changed at or before its kind's feed position there (or either time is not
/// known). A record changed later is a change still on its way, not drift.
pub fn settled(observed: &Observed, positions: &Positions) -> bool {
    let key = (observed.side, observed.record.kind());
    match (observed.updated_at, positions.get(&key)) {
        (Some(changed), Some(position)) => changed <= *position,
        _ => true,
    }
}

/// Both sides' connectors, the store, and what the comparison needs.
#[derive(Debug, Clone)]
pub struct Rechecker {
    /// The store the links are in and the run state is kept in.
    pub store: Arc<dyn Store>,
    /// The old side, read through a budget that leaves the bridge its claim.
    pub old: Arc<dyn Connector>,
    /// The new side, likewise.
    pub new: Arc<dyn Connector>,
    /// The plan's mapping.
    pub mapping: Mapping,
    /// The kinds the plan copies.
    pub copied: Vec<RecordKind>,
}

/// What one run found.
#[derive(Debug, Default)]
struct Run {
    compared: u64,
    /// The drifting pairs, by (kind, old id).
    drifting: BTreeMap<(RecordKind, PlatformId), Pair>,
    /// What to name to the bridge.
    drift: BTreeSet<(Side, ChangeHint)>,
    /// Pairs not read or left for later, by (kind, old id).
    unread: BTreeSet<(RecordKind, PlatformId)>,
    unread_count: u64,
    deferred: u64,
}

impl Rechecker {
    /// The records changed at or after `since`: the links written since, and what each side's
    /// change feed shows (of the kinds it reads incrementally), at most `limit` of each source.
    async fn changed_since(
        &self,
        since: DateTime<Utc>,
        kinds: &[RecordKind],
        limit: usize,
    ) -> Result<Vec<Changed>, EngineError> {
        let limit_u32 = u32::try_from(limit).unwrap_or(u32::MAX);
        let mut changed: Vec<Changed> = self
            .store
            .links_written_since(since, limit_u32)
            .await?
            .into_iter()
            .map(|stored| Changed {
                pair: Pair {
                    kind: stored.link.kind,
                    old_id: stored.link.old_id,
                    new_id: Some(stored.link.new_id),
                },
                at: stored.updated_at,
            })
            .collect();
        for connector in [&self.old, &self.new] {
            let side = connector.side();
            let incremental = connector.capabilities().incremental;
            for kind in kinds.iter().filter(|k| incremental.contains(k)) {
                for (id, at) in read_feed_since(connector.as_ref(), *kind, since, limit).await? {
                    let link = self.store.find_link(*kind, side, &id).await?;
                    let pair = match (link, side) {
                        (Some(stored), _) => Pair {
                            kind: *kind,
                            old_id: stored.link.old_id,
                            new_id: Some(stored.link.new_id),
                        },
                        // Never linked: missing on the new side, as a verify says.
                        (None, Side::Old) => Pair {
                            kind: *kind,
                            old_id: id,
                            new_id: None,
                        },
                        // The new side's own record (or one the bridge has yet to carry).
                        (None, Side::New) => continue,
                    };
                    changed.push(Changed {
                        pair,
                        at: at.unwrap_or(since),
                    });
                }
            }
        }
        Ok(changed)
    }

    /// Each kind's feed position on each of `sides`, as the bridge keeps it.
    async fn positions(
        &self,
        sides: &[Side],
        kinds: &[RecordKind],
    ) -> Result<Positions, EngineError> {
        let mut positions = Positions::new();
        for side in sides {
            let read = crate::sync::status::positions(self.store.as_ref(), *side, kinds).await?;
            for kind in kinds {
                if let Some(Some(at)) = read.get(&kind.to_string()) {
                    positions.insert((*side, *kind), *at);
                }
            }
        }
        Ok(positions)
    }

    /// One run: selects, compares, names the drift to the bridge.
    async fn run_once(
        &self,
        handle: &BridgeHandle,
        pending: &[Pair],
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Run, EngineError> {
        let kinds: Vec<RecordKind> = SYNCED_KINDS
            .iter()
            .copied()
            .filter(|k| self.copied.contains(k))
            .collect();
        let changed = self.changed_since(since, &kinds, limit).await?;
        let pairs = select(pending, changed, since, &kinds, limit);
        let sides = handle.from_sides().to_vec();
        let positions = self.positions(&sides, &kinds).await?;
        let settled = |observed: &Observed| settled(observed, &positions);
        let found = verify_pairs(
            self.store.as_ref(),
            self.old.as_ref(),
            self.new.as_ref(),
            self.mapping.clone(),
            &self.copied,
            &pairs,
            &settled,
        )
        .await?;
        let drift: BTreeSet<(Side, ChangeHint)> = drift_of(&found.report)
            .into_iter()
            .filter(|(side, _)| sides.contains(side))
            .collect();
        let mut run = Run {
            compared: found.compared,
            unread: found
                .unread
                .iter()
                .map(|(pair, _)| pair)
                .chain(&found.deferred)
                .map(|pair| (pair.kind, pair.old_id.clone()))
                .collect(),
            unread_count: found.unread.len() as u64,
            deferred: found.deferred.len() as u64,
            ..Run::default()
        };
        for pair in &found.deferred {
            tracing::debug!(kind = %pair.kind, id = %pair.old_id, "Rolling re-check: changed since the bridge's feed read it; left for the next run.");
        }
        for (pair, why) in &found.unread {
            tracing::warn!(kind = %pair.kind, id = %pair.old_id, error = %why, "Rolling re-check: could not read a record; tried again on the next run.");
        }
        run.drifting = drifting(&found.report, &pairs);
        for side in [Side::Old, Side::New] {
            let named: Vec<ChangeHint> = drift
                .iter()
                .filter(|(s, _)| *s == side)
                .map(|(_, hint)| hint.clone())
                .collect();
            if !named.is_empty() {
                handle.name(side, named);
            }
        }
        run.drift = drift;
        Ok(run)
    }
}

/// The pairs a comparison found differing or missing, by (kind, old id).
fn drifting(report: &VerifyReport, pairs: &[Pair]) -> BTreeMap<(RecordKind, PlatformId), Pair> {
    let by_old: BTreeMap<(RecordKind, PlatformId), &Pair> = pairs
        .iter()
        .map(|p| ((p.kind, p.old_id.clone()), p))
        .collect();
    let mut drifting = BTreeMap::new();
    for (kind, k) in &report.kinds {
        let old_ids = k
            .missing
            .iter()
            .map(|m| &m.old_id)
            .chain(k.different.iter().map(|d| &d.old_id));
        for old_id in old_ids {
            let key = (*kind, old_id.clone());
            if let Some(pair) = by_old.get(&key) {
                drifting.insert(key, (*pair).clone());
            }
        }
    }
    drifting
}

/// The records of `kind` a side's change feed shows changed at or after `since`, with their
/// change times, at most `limit`.
async fn read_feed_since(
    connector: &dyn Connector,
    kind: RecordKind,
    since: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<(PlatformId, Option<DateTime<Utc>>)>, EngineError> {
    let mut found = Vec::new();
    let mut position = ReadPosition::since(since);
    loop {
        let page = connector.read_page(kind, &position).await?;
        found.extend(
            page.items
                .into_iter()
                .filter(|o| o.record.kind() == kind)
                .map(|o| (o.id, o.updated_at)),
        );
        match page.next {
            Some(next) if !page.done && next != position && found.len() < limit => {
                position = next;
            }
            _ => return Ok(found),
        }
    }
}

fn label((side, hint): &(Side, ChangeHint)) -> String {
    format!("{}:{side}:{}", hint.kind, hint.id)
}

/// Drift found and not yet seen repaired, by (kind, old id), with when it was first found.
#[derive(Debug, Default)]
struct Pending(BTreeMap<(RecordKind, PlatformId), (Pair, DateTime<Utc>)>);

impl Pending {
    /// The pairs to re-check whatever changed, forgetting drift first found before `since` (a
    /// window old: the scheduled verify's now).
    fn carried(&mut self, since: DateTime<Utc>) -> Vec<Pair> {
        self.0.retain(|_, (_, first)| *first >= since);
        self.0.values().map(|(pair, _)| pair.clone()).collect()
    }

    /// Takes a run's result: `drifting` (found differing or missing), `unread` (not compared).
    /// Answers how much drift is new and how much pending drift is repaired (compared, and no
    /// longer differing).
    fn settle(
        &mut self,
        drifting: BTreeMap<(RecordKind, PlatformId), Pair>,
        unread: &BTreeSet<(RecordKind, PlatformId)>,
        now: DateTime<Utc>,
    ) -> (u64, u64) {
        let before = self.0.len();
        self.0
            .retain(|key, _| drifting.contains_key(key) || unread.contains(key));
        let repaired = (before - self.0.len()) as u64;
        let mut found = 0;
        for (key, pair) in drifting {
            if let std::collections::btree_map::Entry::Vacant(entry) = self.0.entry(key) {
                entry.insert((pair, now));
                found += 1;
            }
        }
        (found, repaired)
    }
}

/// Runs the rolling re-check every `config.every` (the first `every` after the start) until
/// `shutdown`, naming what drifted to the bridge through `handle` and counting on its metrics.
/// A run that fails is logged and kept.
pub async fn run(
    rechecker: Rechecker,
    handle: BridgeHandle,
    config: RecheckConfig,
    shutdown: CancellationToken,
) {
    let mut kept = Rechecked::default();
    let mut pending = Pending::default();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(config.every) => {}
        }
        let now = Utc::now();
        let since = window_start(now, config.window);
        let carried = pending.carried(since);
        let ran = tokio::select! {
            () = shutdown.cancelled() => return,
            ran = rechecker.run_once(&handle, &carried, since, config.limit) => ran,
        };
        kept.runs += 1;
        kept.at = Some(Utc::now());
        kept.since = Some(since);
        match ran {
            Ok(run) => {
                let (found, repaired) = pending.settle(run.drifting, &run.unread, now);
                if !run.drift.is_empty() || repaired > 0 {
                    tracing::info!(
                        rechecked = run.compared,
                        drift = run.drift.len(),
                        repaired,
                        "Rolling re-check: records differing or missing named to the bridge, to read again."
                    );
                }
                handle.metrics().rechecked(run.compared, found, repaired);
                kept.rechecked = run.compared;
                kept.rechecked_total += run.compared;
                kept.drift = run.drift.iter().map(label).collect();
                kept.drift_total += found;
                kept.repaired = repaired;
                kept.repaired_total += repaired;
                kept.unread = run.unread_count;
                kept.deferred = run.deferred;
                kept.error = None;
            }
            Err(e) => {
                tracing::warn!(error = %e, "Rolling re-check failed; it runs again on schedule.");
                kept.error = Some(e.to_string());
            }
        }
        crate::sync::status::keep_state(
            rechecker.store.as_ref(),
            RECHECK_KEY,
            &kept,
            "the rolling re-check's state",
        )
        .await;
    }
}

#[cfg(test)]
#[path = "recheck_tests.rs"]
mod tests;
