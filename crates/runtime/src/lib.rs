//! The runtime of a move: what decides, while `cutover serve` runs, which platform each contact
//! goes to and when that changes. It sits above `engine` (which copies and bridges records) and
//! below `server` (the HTTP faces) and the binary.
//!
//! Layout:
//! - [`routing`]: the routing state of every wave (kept in the store, in one run-state value
//!   written with the audit entry that changes it) and the rule that sends a customer's contact
//!   on a channel to the old or the new side.
//! - [`drill`]: the record a rollback drill leaves for the `rollback_drill` gate, tied to the
//!   plan file by its digest.
//! - [`gateway`]: the delivery worker of the inbound gateway: claims the contacts the gateway
//!   kept, routes each, and opens a ticket or follows up on the customer's conversation.
//! - [`error`] holds [`RuntimeError`].

pub mod drill;
pub mod error;
pub mod gateway;
pub mod routing;

pub use drill::{DrillRecord, plan_digest};
pub use error::RuntimeError;
pub use routing::{Route, RoutingState, WavePhase, WaveRouting};
