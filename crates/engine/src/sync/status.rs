//! What the bridge tells other processes through the store: each direction's status after every
//! pass (run state `sync:status:{side}`), read by `cutover sync status` and `cutover sync drain`.
//!
//! A direction is caught up to a time when a pass that started at that time (less its feed's
//! own delay: Zendesk's incremental exports never show their last minute) read every feed to
//! its end and left nothing waiting. Drain waits until both directions are caught up to the
//! time it was asked.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use cutover_model::{PlatformKind, Side};
use cutover_store::Store;
use serde::{Deserialize, Serialize};

use crate::cursor;
use crate::error::EngineError;
use crate::sync::metrics::LagPercentiles;

/// How far behind the present a platform's change feed shows changes: Zendesk's incremental
/// exports leave out the last minute; Freshdesk's `updated_since` lists show a write at once.
pub fn feed_delay(platform: PlatformKind) -> chrono::Duration {
    match platform {
        PlatformKind::Zendesk => chrono::Duration::seconds(61),
        _ => chrono::Duration::zero(),
    }
}

/// One direction's status, named by the side its changes are read from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirectionStatus {
    /// The side changes are read from.
    pub from: Side,
    /// Each kind's feed position: the change time it has read to, when the feed has one.
    pub positions: BTreeMap<String, Option<DateTime<Utc>>>,
    /// Every change made on `from` before this time is applied on the other side.
    pub caught_up_to: Option<DateTime<Utc>>,
    /// Records still waiting for a parent, named.
    pub in_flight: Vec<String>,
    /// Lag of applied changes since `cutover serve` started, in seconds.
    pub lag: LagPercentiles,
    /// Changes written to the other side since `cutover serve` started.
    pub applied: u64,
    /// Records read equal to their link (the bridge's own writes read back, repeats) since
    /// `cutover serve` started: not written.
    pub echoes_suppressed: u64,
    /// Records that went to the dead letters since `cutover serve` started.
    pub dead_lettered: u64,
    /// When this status was written.
    pub at: DateTime<Utc>,
}

/// The run-state key of a direction's status.
pub fn status_key(from: Side) -> String {
    format!("sync:status:{from}")
}

/// Each direction's last status, for the directions that have one.
pub async fn load(store: &dyn Store) -> Result<Vec<DirectionStatus>, EngineError> {
    let mut all = Vec::new();
    for side in [Side::Old, Side::New] {
        if let Some(value) = store.run_state(&status_key(side)).await?
            && let Ok(status) = serde_json::from_value::<DirectionStatus>(value)
        {
            all.push(status);
        }
    }
    Ok(all)
}

/// Each kind's feed position on `side`.
pub(crate) async fn positions(
    store: &dyn Store,
    side: Side,
    kinds: &[cutover_model::RecordKind],
) -> Result<BTreeMap<String, Option<DateTime<Utc>>>, EngineError> {
    let mut positions = BTreeMap::new();
    for kind in kinds {
        let saved = store.cursor(side, &cursor::sync_stream(*kind)).await?;
        let time = cursor::load(saved.as_ref()).position.and_then(|p| p.time);
        positions.insert(kind.to_string(), time);
    }
    Ok(positions)
}

/// What a drain came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drained {
    /// Both directions applied everything up to the time the drain was asked.
    Done,
    /// The timeout passed first; what is behind, named.
    TimedOut(Vec<String>),
}

/// Waits until every direction in `directions` is caught up to now (the moment of the call),
/// or `timeout` passes; looks at the store every `every`.
pub async fn drain(
    store: &dyn Store,
    directions: &[Side],
    timeout: Duration,
    every: Duration,
) -> Result<Drained, EngineError> {
    let asked = Utc::now();
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let behind = behind(store, directions, asked).await?;
        if behind.is_empty() {
            return Ok(Drained::Done);
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(Drained::TimedOut(behind));
        }
        tokio::time::sleep(every).await;
    }
}

/// What keeps `directions` from being caught up to `asked`, named; empty when nothing does.
pub async fn behind(
    store: &dyn Store,
    directions: &[Side],
    asked: DateTime<Utc>,
) -> Result<Vec<String>, EngineError> {
    let statuses = load(store).await?;
    let mut behind = Vec::new();
    for side in directions {
        let other = side.other();
        match statuses.iter().find(|s| s.from == *side) {
            None => behind.push(format!(
                "{side} to {other}: no pass yet (is `cutover serve` running?)"
            )),
            Some(status) => {
                let caught = status.caught_up_to.is_some_and(|t| t >= asked);
                if !caught {
                    let to = status
                        .caught_up_to
                        .map_or_else(|| "nothing yet".to_owned(), |t| t.to_rfc3339());
                    behind.push(format!(
                        "{side} to {other}: caught up to {to}, {} waiting",
                        status.in_flight.len()
                    ));
                    behind.extend(status.in_flight.iter().map(|w| format!("  {w}")));
                }
            }
        }
    }
    Ok(behind)
}
