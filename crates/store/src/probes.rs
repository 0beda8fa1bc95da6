//! The continuity monitor's probes of each side's API: one cheap authenticated read, timed, at
//! every `[monitor] every`. What the `api_response_p90` and `api_availability` KPIs count.

use chrono::{DateTime, Utc};
use cutover_model::Side;

/// One probe as kept: never a credential, never a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiProbe {
    /// The side probed.
    pub side: Side,
    /// When, by the monitor's clock (to the microsecond).
    pub at: DateTime<Utc>,
    /// How long the answer (or the failure) took, in milliseconds.
    pub millis: u64,
    /// The HTTP status of the answer; `None` when none came.
    pub status: Option<u16>,
    /// Whether the platform answered 2xx.
    pub ok: bool,
}
