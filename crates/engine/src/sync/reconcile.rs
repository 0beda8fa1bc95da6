//! Drift repaired: a full verify beside the bridge, on the plan's schedule (`[sync]
//! verify_every`), run by `cutover serve`.
//!
//! Webhooks get lost and feeds can miss a change (a record changed with a time before the feed's
//! position, a platform's export skipping one); the bridge would then never read it again. The
//! scheduled verify reads both sides through its own connectors (which leave the bridge the
//! budget it claims, `live`), and names to the bridge every record of the kinds it carries that
//! it finds differing (on both sides) or missing (on the old side): the bridge reads each again
//! by id and applies what changed by its usual rules (conflicts decided field by field), so a
//! repair is an ordinary bridge write. Records only on the new side are not named: the target's
//! own records (its sample contacts, what it held before the move) stay its own.
//!
//! Each run is kept in the store (run state `sync:reconcile`): when it ran, what it found, and
//! how much of the previous run's drift is no longer there (repaired). `cutover sync status`
//! shows it. Its outcome is also kept as the last verification's ([`LastVerify`]), which the
//! `verify_clean` gate of a wave reads.
//!
//! Between these runs, the rolling re-check (`recheck`, `[sync] recheck_every`) compares the
//! records changed lately by the same comparison and names its drift the same way
//! ([`drift_of`]), so most drift is repaired within minutes; this full verify catches the rest
//! (a record changed long ago, one the plan's drops make look different).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use cutover_connect::{ChangeHint, Connector};
use cutover_model::{PlatformId, RecordKind, Side};
use cutover_store::Store;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::error::EngineError;
use crate::mapping::Mapping;
use crate::sync::bridge::{BridgeHandle, SYNCED_KINDS};
use crate::verify::{LastVerify, VerifiedBy, VerifyReport};

/// The run-state key of the last scheduled verify's result.
pub const RECONCILE_KEY: &str = "sync:reconcile";

/// One scheduled verify, as kept in the store.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Reconciled {
    /// When it finished.
    pub at: Option<DateTime<Utc>>,
    /// Scheduled verifies run since `cutover serve` started.
    pub runs: u64,
    /// Records compared equal in this run.
    pub matched: u64,
    /// Records found differing or missing (drift), by `kind:side:id`.
    pub drift: Vec<String>,
    /// Drift of the previous run no longer found in this one.
    pub repaired: u64,
    /// Repaired since `cutover serve` started.
    pub repaired_total: u64,
    /// Why the run failed, if it did (it is tried again on schedule).
    pub error: Option<String>,
}

/// What a verify report names for the bridge to read again, per side.
pub fn drift_of(report: &VerifyReport) -> BTreeSet<(Side, ChangeHint)> {
    let mut drift = BTreeSet::new();
    for (kind, found) in &report.kinds {
        if !SYNCED_KINDS.contains(kind) {
            continue;
        }
        let hint = |id: &PlatformId| ChangeHint {
            kind: *kind,
            id: id.clone(),
        };
        for missing in &found.missing {
            drift.insert((Side::Old, hint(&missing.old_id)));
        }
        for different in &found.different {
            drift.insert((Side::Old, hint(&different.old_id)));
            drift.insert((Side::New, hint(&different.new_id)));
        }
    }
    drift
}

fn label((side, hint): &(Side, ChangeHint)) -> String {
    format!("{}:{side}:{}", hint.kind, hint.id)
}

/// The last scheduled verify's result, if one ran.
pub async fn last(store: &dyn Store) -> Result<Option<Reconciled>, EngineError> {
    Ok(store
        .run_state(RECONCILE_KEY)
        .await?
        .and_then(|value| serde_json::from_value(value).ok()))
}

/// Runs a full verify every `every` (the first one `every` after the start) until `shutdown`,
/// naming what drifted to the bridge through `handle`. A run that fails is logged and kept; a
/// run that ends is also kept as the last verification, made with the plan of digest
/// `plan_digest`.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    store: Arc<dyn Store>,
    old: Arc<dyn Connector>,
    new: Arc<dyn Connector>,
    mapping: Mapping,
    kinds: Vec<RecordKind>,
    handle: BridgeHandle,
    every: Duration,
    plan_digest: String,
    shutdown: CancellationToken,
) {
    let mut kept = Reconciled::default();
    let mut previous: BTreeSet<(Side, ChangeHint)> = BTreeSet::new();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
        let verified = tokio::select! {
            () = shutdown.cancelled() => return,
            report = crate::verify::verify(
                store.as_ref(), old.as_ref(), new.as_ref(), mapping.clone(), &kinds,
            ) => report,
        };
        kept.runs += 1;
        kept.at = Some(Utc::now());
        match verified {
            Ok(report) => {
                let last = LastVerify::of(&report, &plan_digest, VerifiedBy::Schedule);
                if let Err(e) = last.save(store.as_ref()).await {
                    tracing::warn!(error = %e, "could not keep the scheduled verify's outcome for the gates");
                }
                let sides = handle.from_sides().to_vec();
                let drift: BTreeSet<(Side, ChangeHint)> = drift_of(&report)
                    .into_iter()
                    .filter(|(side, _)| sides.contains(side))
                    .collect();
                let repaired = previous.difference(&drift).count() as u64;
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
                if !drift.is_empty() {
                    tracing::info!(
                        drift = drift.len(),
                        repaired,
                        "Scheduled verify: records differing or missing named to the bridge, to read again."
                    );
                }
                kept.matched = report.kinds.values().map(|k| k.matched).sum();
                kept.drift = drift.iter().map(label).collect();
                kept.repaired = repaired;
                kept.repaired_total += repaired;
                kept.error = None;
                previous = drift;
            }
            Err(e) => {
                tracing::warn!(error = %e, "Scheduled verify failed; it runs again on schedule.");
                kept.error = Some(e.to_string());
            }
        }
        crate::sync::status::keep_state(
            store.as_ref(),
            RECONCILE_KEY,
            &kept,
            "the scheduled verify's result",
        )
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::{Different, KindReport, Missing, Pages};

    #[test]
    fn drift_names_missing_on_the_old_side_and_differences_on_both_of_carried_kinds() {
        let mut report = VerifyReport::default();
        let missing = Missing {
            old_id: PlatformId::from(7),
            new_id: None,
            reason: "not linked".into(),
            pages: Pages::default(),
        };
        let different = Different {
            old_id: PlatformId::from(8),
            new_id: PlatformId::from(108),
            fields: Vec::new(),
            pages: Pages::default(),
        };
        report.kinds.insert(
            RecordKind::Ticket,
            KindReport {
                missing: vec![missing.clone()],
                different: vec![different.clone()],
                only_new: vec![PlatformId::from(500)],
                ..KindReport::default()
            },
        );
        // Comments ride with their ticket; groups are not carried by the bridge.
        report.kinds.insert(
            RecordKind::Group,
            KindReport {
                missing: vec![missing],
                different: vec![different],
                ..KindReport::default()
            },
        );
        let named: Vec<String> = drift_of(&report).iter().map(label).collect();
        assert_eq!(named, ["ticket:old:7", "ticket:old:8", "ticket:new:108"]);
    }
}
