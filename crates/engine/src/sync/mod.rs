//! The two-way bridge: after a backfill, changes on either side are applied to the other,
//! continuously, through the backfill's `Applier`.
//!
//! Layout:
//! - [`bridge`]: the task that runs both directions (`Bridge`), and what the faces hold of it
//!   (`BridgeHandle`: counters, the webhook intake).
//! - `direction`: one direction's pass: hinted records, then each kind's feed from its
//!   `sync:{kind}` cursor, committed page by page with the cursor.
//! - [`conflicts`]: a record changed on both sides since the last sync, resolved field by field
//!   by the plan's rules, and stored.
//! - [`metrics`]: changes applied, echoes suppressed, lag percentiles.
//! - [`status`]: each direction's status in the store, and drain.
//! - `written`: what either direction wrote lately, so a read made before a write is read
//!   again rather than applied after it.
//! - [`reconcile`]: the scheduled full verify beside the bridge; the drift it finds is named to
//!   the bridge and repaired by an ordinary pass.
//! - [`recheck`]: the rolling re-check of the records changed lately, beside the bridge; its
//!   drift is named to the bridge the same way.

pub mod bridge;
pub mod conflicts;
mod direction;
pub(crate) use direction::DELETED;
pub mod metrics;
pub mod recheck;
pub mod reconcile;
pub mod status;
mod written;

pub use bridge::{
    Bridge, BridgeHandle, BridgeOptions, CARRIED_WHEN_MET, Refused, SYNCED_KINDS,
    notifications_gate, written_sides,
};
pub use conflicts::{ConflictPolicy, Decision, decide};
pub use metrics::{LagPercentiles, SyncMetrics};
pub use status::{DirectionStatus, Drained, InFlight, drain};
