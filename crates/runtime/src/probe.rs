//! The continuity monitor's probes of each side's API: at every `[monitor] every`, before the
//! alerts are evaluated, one cheap authenticated read of each platform through its connector
//! ([`cutover_connect::Connector::probe`]: Zendesk `GET users/me`, Freshdesk `GET agents/me`),
//! timed and kept in the store ([`cutover_store::ApiProbe`]): what `api_response_p90` and
//! `api_availability` count. A probe keeps its side, time, milliseconds and HTTP status, never
//! a credential or a body.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use cutover_connect::{Connector, Probe};
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

/// The longest a probe is waited for: a platform that does not answer by then (a host that drops
/// packets waits out the client's own minute) is a failed probe of this long, and the alerts
/// are evaluated without waiting longer.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Probes both sides at once, stamps each probe `at` (the monitor's clock) and keeps it.
/// Returns the probes kept; a side whose connector cannot probe is left out.
pub async fn probe_sides(
    store: &dyn Store,
    probers: &Probers,
    at: DateTime<Utc>,
) -> Result<Vec<ApiProbe>, RuntimeError> {
    let bounded = |connector: &Arc<dyn Connector>| {
        let connector = connector.clone();
        async move {
            tokio::time::timeout(PROBE_TIMEOUT, connector.probe())
                .await
                .unwrap_or(Some(Probe {
                    status: None,
                    elapsed: PROBE_TIMEOUT,
                }))
        }
    };
    let (old, new) = tokio::join!(bounded(&probers.old), bounded(&probers.new));
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
