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
    /// Records still waiting for a parent or to be read again, named.
    pub in_flight: Vec<String>,
    /// Records whose read or write failed past the connector's retries, kept in the dead letters
    /// to be read again by id on the next passes (see [`crate::READ_AGAIN`]).
    #[serde(default)]
    pub read_again: usize,
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

/// The run-state key of the latest drain request: `cutover serve` watches it (wherever it runs,
/// as long as it shares the store) and starts a pass at once when a drain asks for one.
pub const DRAIN_REQUEST_KEY: &str = "sync:drain:request";

/// How often `cutover serve` looks at the store for a drain request.
pub const DRAIN_WATCH_EVERY: Duration = Duration::from_millis(250);

/// Asks the running bridge for a pass now: stores the time of the ask under
/// [`DRAIN_REQUEST_KEY`].
pub async fn request_drain(store: &dyn Store, asked: DateTime<Utc>) -> Result<(), EngineError> {
    let value = serde_json::json!({ "asked": asked });
    store.put_run_state(DRAIN_REQUEST_KEY, &value).await?;
    Ok(())
}

/// The time of the latest drain request, if any.
pub async fn drain_requested(store: &dyn Store) -> Result<Option<DateTime<Utc>>, EngineError> {
    let Some(value) = store.run_state(DRAIN_REQUEST_KEY).await? else {
        return Ok(None);
    };
    Ok(value
        .get("asked")
        .and_then(|v| serde_json::from_value::<DateTime<Utc>>(v.clone()).ok()))
}

/// What one direction still has in flight when a drain looks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InFlight {
    /// The side changes are read from.
    pub from: Side,
    /// No `cutover serve` has finished a pass of this direction yet.
    pub no_pass_yet: bool,
    /// Every change made on `from` before this time is applied (the changes after it, up to the
    /// drain, may be in flight).
    pub caught_up_to: Option<DateTime<Utc>>,
    /// How far the direction is from the drain's time, in seconds (the oldest change that may
    /// still be in flight is at most this old).
    pub behind_seconds: Option<f64>,
    /// Records waiting for a parent (parked in the dead letters).
    pub waiting: usize,
    /// Records whose read or write failed past the connector's retries, to be read again
    /// (kept in the dead letters as [`crate::READ_AGAIN`]).
    pub read_again: usize,
    /// When the oldest of them was first parked.
    pub oldest_waiting: Option<DateTime<Utc>>,
    /// The waiting records, named, as the last pass reported them.
    pub names: Vec<String>,
}

impl std::fmt::Display for InFlight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (from, to) = (self.from, self.from.other());
        if self.no_pass_yet {
            return write!(
                f,
                "{from} to {to}: no pass yet (is `cutover serve` running?)"
            );
        }
        let caught = self
            .caught_up_to
            .map_or_else(|| "nothing yet".to_owned(), |t| t.to_rfc3339());
        write!(f, "{from} to {to}: caught up to {caught}")?;
        if let Some(behind) = self.behind_seconds {
            write!(f, " ({behind:.0}s before the drain)")?;
        }
        write!(f, ", {} waiting for a parent", self.waiting)?;
        if let Some(oldest) = self.oldest_waiting {
            write!(f, ", the oldest since {}", oldest.to_rfc3339())?;
        }
        write!(f, ", {} to read again", self.read_again)?;
        for name in &self.names {
            write!(f, "\n  {name}")?;
        }
        Ok(())
    }
}

/// What a drain came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Drained {
    /// Both directions applied everything up to the time the drain was asked.
    Done,
    /// The timeout passed first; what is still in flight, per direction.
    TimedOut(Vec<InFlight>),
}

/// Waits until every direction in `directions` is caught up to now (the moment of the call),
/// or `timeout` passes; looks at the store every `every`.
///
/// It first asks the running bridge for a pass now ([`request_drain`]): `cutover serve` watches
/// the store for the request every [`DRAIN_WATCH_EVERY`], so a drain does not wait for the poll
/// interval, and serve need not be reachable from where the drain runs. A direction whose feed
/// shows changes late (Zendesk's incremental exports leave out their last minute: see
/// [`feed_delay`]) can only prove it has applied everything up to the drain with a pass that
/// starts that much after it; serve starts that pass as soon as it can, so the drain of a
/// Zendesk side takes a little more than a minute, never the poll interval.
pub async fn drain(
    store: &dyn Store,
    directions: &[Side],
    timeout: Duration,
    every: Duration,
) -> Result<Drained, EngineError> {
    let asked = Utc::now();
    request_drain(store, asked).await?;
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

/// What keeps `directions` from being caught up to `asked`, per direction; empty when nothing
/// does.
pub async fn behind(
    store: &dyn Store,
    directions: &[Side],
    asked: DateTime<Utc>,
) -> Result<Vec<InFlight>, EngineError> {
    let statuses = load(store).await?;
    let mut behind = Vec::new();
    for side in directions {
        let status = statuses.iter().find(|s| s.from == *side);
        let caught = status.is_some_and(|s| s.caught_up_to.is_some_and(|t| t >= asked));
        if caught {
            continue;
        }
        let parked = crate::backfill::parked(store, *side).await?;
        let read_again = read_again(store, *side).await?;
        let caught_up_to = status.and_then(|s| s.caught_up_to);
        behind.push(InFlight {
            from: *side,
            no_pass_yet: status.is_none(),
            caught_up_to,
            behind_seconds: caught_up_to
                .map(|t| (asked - t).num_milliseconds().max(0) as f64 / 1000.0),
            waiting: parked.len(),
            read_again,
            oldest_waiting: parked.iter().map(|l| l.first_seen).min(),
            names: status.map(|s| s.in_flight.clone()).unwrap_or_default(),
        });
    }
    Ok(behind)
}

/// How many records of `side` wait to be read again (see [`crate::READ_AGAIN`]).
pub(crate) async fn read_again(store: &dyn Store, side: Side) -> Result<usize, EngineError> {
    Ok(
        crate::backfill::letters_for(store, side, crate::backfill::READ_AGAIN)
            .await?
            .len(),
    )
}

/// Keeps a background job's `state` in run state `key`; a failure is logged (`what` names the
/// state), never fatal: the job runs again on schedule.
pub(crate) async fn keep_state<T: Serialize>(store: &dyn Store, key: &str, state: &T, what: &str) {
    let stored = match serde_json::to_value(state) {
        Ok(value) => store.put_run_state(key, &value).await,
        Err(e) => {
            tracing::warn!("{what}: {e}");
            return;
        }
    };
    if let Err(e) = stored {
        tracing::warn!("could not keep {what}: {e}");
    }
}
