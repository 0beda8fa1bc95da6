//! The continuity monitor's probes of each side's API: at every `[monitor] every`, before the
//! alerts are evaluated, one cheap authenticated read of each platform through its connector
//! ([`cutover_connect::Connector::probe`]: Zendesk `GET users/me`, Freshdesk `GET agents/me`),
//! timed and kept in the store ([`cutover_store::ApiProbe`]): what `api_response_p90` and
//! `api_availability` count. A probe keeps its side, time, milliseconds and HTTP status, never
//! a credential or a body.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use cutover_connect::Connector;
use cutover_model::Side;
use cutover_store::{ApiProbe, Store};

use crate::error::RuntimeError;

/// The connectors the monitor probes, one per side.
#[derive(Clone)]
pub struct Probers {
    /// The old side's connector.
    pub old: Arc<dyn Connector>,
    /// The new side's connector.
    pub new: Arc<dyn Connector>,
}

impl std::fmt::Debug for Probers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Probers").finish_non_exhaustive()
    }
}

/// Probes both sides at once, stamps each probe `at` (the monitor's clock) and keeps it.
/// Returns the probes kept; a side whose connector cannot probe is left out.
pub async fn probe_sides(
    store: &dyn Store,
    probers: &Probers,
    at: DateTime<Utc>,
) -> Result<Vec<ApiProbe>, RuntimeError> {
    let (old, new) = tokio::join!(probers.old.probe(), probers.new.probe());
    let mut kept = Vec::new();
    for (side, probe) in [(Side::Old, old), (Side::New, new)] {
        let Some(probe) = probe else { continue };
        let probe = ApiProbe {
            side,
            at,
            millis: u64::try_from(probe.elapsed.as_millis()).unwrap_or(u64::MAX),
            status: probe.status,
            ok: probe.ok(),
        };
        store.record_probe(&probe).await?;
        tracing::debug!(side = %side, millis = probe.millis, status = ?probe.status, "Probed the API.");
        kept.push(probe);
    }
    Ok(kept)
}

#[cfg(test)]
#[path = "probe_tests.rs"]
mod tests;
