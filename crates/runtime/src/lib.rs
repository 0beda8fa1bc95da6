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
//! - [`gates`]: a wave's go/no-go gates evaluated against the store ([`GateReport`]), the
//!   sign-offs of `cutover go`, and [`gates::require`], which a start asks.
//! - [`pause`]: `cutover wave pause` and `resume`.
//! - [`leader`]: which of several `cutover serve` processes on one store leads (a lease in
//!   the store), and the leader-only work run while it does.
//! - [`switch`]: the journal of a wave's switch forward (`cutover wave start`) or back
//!   (`cutover rollback`) and the driver `cutover serve` runs to carry it out step by step.
//! - [`mover`]: [`mover::LinkedMover`], which moves a wave's agents (group memberships) and
//!   rules (on on the new side, off on the old) through the connectors at a switch, and puts
//!   them back on rollback.
//! - [`gateway`]: the delivery worker of the inbound gateway: claims the contacts the gateway
//!   kept, routes each, and opens a ticket or follows up on the customer's conversation.
//! - [`kpi`]: the continuity monitor's KPIs, defined once ([`kpi::KPIS`]) and computed per
//!   side, channel and group from the ticket facts in the store, and the hour-of-week
//!   baseline they are compared with (per hour, and over a review's window); [`kpi_stored`]:
//!   the same from the store's per-hour aggregates (SQL), for long histories; [`kpi_scope`]:
//!   what `--channel` and `--wave` name (a channel kind or a `[[channels]]` entry; a wave's
//!   channels and groups by id on each side); [`volume`]: a
//!   review's tickets created per hour or day against its earlier periods.
//! - [`heatmap`]: when to switch: each channel's tickets per hour of the week, busy and quiet
//!   hours, the quietest windows for a wave.
//! - [`erlang`]: staffing per hour by Erlang C for a service-level target.
//! - [`alerts`]: the alerts: each KPI now against its baseline per the plan's `[[alerts]]`,
//!   with hysteresis and evidence, kept and audited, and the actions they start (pause, roll
//!   back, page, switch a channel to its backup); [`actions`]: those actions, queued in an
//!   outbox with the alert and run by the leader, each audited once; [`backup`]: a channel
//!   switched to its backup side and back; [`paging`]: pages by e-mail (SMTP) and Slack/Teams
//!   webhooks; [`clock`]: the monitor's clock, real or simulated (a rehearsal at a speed
//!   factor); [`probe`]: the monitor's timed probes of each side's API, kept for the API KPIs.
//! - [`RuntimeError`] (in [`error`]): what the runtime could not do.

pub mod actions;
pub mod alerts;
pub mod backup;
pub mod clock;
pub mod drill;
pub mod erlang;
pub mod error;
pub mod gates;
mod gates_kpis;
pub mod gateway;
pub mod heatmap;
pub mod kpi;
pub mod kpi_scope;
pub mod kpi_stored;
pub mod leader;
pub mod mover;
pub mod paging;
pub mod pause;
pub mod probe;
pub mod routing;
pub mod switch;
pub mod volume;

pub use drill::{DrillRecord, plan_digest};
pub use error::RuntimeError;
pub use gates::{Criterion, GateReport, SignOff, SignOffs, require};
pub use leader::{LeaderConfig, Role, SERVE_LEASE};
pub use pause::PhaseChange;
pub use routing::{Route, RoutingState, WavePhase, WaveRouting};
