//! The engine of cutover: mapping, apply, backfill and verify, on top of `connect` and `store`.
//!
//! Records arrive from a [`cutover_connect::Connector`] as canonical records; the engine
//! translates them with the plan's tables ([`mapping`]), fingerprints them in one form whichever
//! side they were read from (values in the new side's vocabulary, references in the old side's
//! key space), and writes what differs from the link's fingerprint to the other side ([`apply`]).
//! Per-record trouble is data: an [`apply::Outcome`], a dead letter. `Err` is for a run that
//! cannot go on (the store is gone, the credentials are refused).
//!
//! Layout:
//! - [`mapping`]: the plan's mapping tables both ways, holes and drops.
//! - [`apply`]: one record step (`Applier`, `Outcome`); `refs` rewrites references; `state`
//!   holds a run's uncommitted links, drops and agents; [`kpi_facts`] records each ticket's
//!   KPI facts (one upsert per ticket read); `children` carries a ticket's comments
//!   and attachments (bytes downloaded, checksummed, uploaded); `stand_in` gives history whose
//!   agent or group is not carried the plan's stand-ins.
//! - [`backfill`]: every kind in dependency order, page by page, one transaction per page.
//! - [`sync`]: the two-way bridge after a backfill: both directions, pass after pass, from
//!   per-direction cursors, woken by webhooks; lag, status and drain.
//! - [`dead_letters`]: retrying a dead letter's record.
//! - [`cleanup`]: deleting from a platform exactly what cutover created there (its ledger in
//!   the store), resumable and audited.
//! - [`live`]: live work first: the bridge claims its part of each platform's budget in the
//!   store; a backfill or verify beside it follows the claims.
//! - [`connectors`]: the plan's connectors, credentials read through a caller's function.
//! - [`cursor`]: a connector's read position kept in the store's forwards-only cursor.
//! - [`progress`]: progress events, counts and the backfill report.
//! - [`verify`]: both sides read once and compared through the links (`forms` puts bulk-read
//!   records in the fingerprint form; [`diff`] names differing fields by JSON pointer).
//! - [`doctor`]: whether the plan's credentials can do what the move needs (`cutover doctor`).
//! - [`cost`]: requests per record each direction's endpoints allow at least (the floor), and
//!   the time a backfill takes at a plan's limits (inventory's estimate, the bench's check).
//! - [`discovery`]: what each account holds that a plan maps, counted (`cutover init`).
//! - [`inventory`]: the old side's counts and what cannot be carried (capabilities, drops).
//! - [`losses`]: what a target cannot hold, one description that inventory names and verify
//!   levels.
//! - [`unmapped`]: the old account's values the plan leaves open (backfill refuses on them).
//! - `rules`: rules (macros, routing rules, SLAs, views, forms) translated, their references
//!   rewritten and fitted onto the target (written switched off), and what of them cannot be
//!   carried, named rule by rule for inventory and verify.
//! - `intent`: durable intents, a ticket create's comments kept in the store before the write so
//!   a resumed run links their copies even when the source now answers one malformed.
//! - [`error`]: the one error type, `EngineError`.

pub mod apply;
pub mod backfill;
mod children;
pub mod cleanup;
pub mod connectors;
pub mod cost;
pub mod cursor;
pub mod dead_letters;
pub mod diff;
pub mod discovery;
pub mod doctor;
mod dry_run;
pub mod error;
mod forms;
mod images;
mod intent;
pub mod inventory;
pub mod kpi_facts;
mod late;
mod later_links;
pub mod live;
pub mod losses;
pub mod mapping;
pub mod progress;
mod refs;
mod rules;
mod stand_in;
mod state;
pub mod sync;
pub mod text;
pub mod unmapped;
pub mod verify;

pub use apply::{Applier, Outcome, Prepared, Ready};
pub use backfill::{
    BackfillOptions, PARENT_NEVER_APPEARED, READ_AGAIN, WAITING_FOR_PARENT, backfill,
};
pub use connectors::{connector, connectors, missing_credentials};
pub use dead_letters::{Retried, in_dependency_order};
pub use discovery::{discover, discover_accounts};
pub use doctor::{DoctorReport, doctor};
pub use error::EngineError;
pub use inventory::{Inventory, Loss, inventory};
pub use mapping::{Hole, Mapping, Translated};
pub use progress::{BackfillReport, Counts, ProgressEvent, ProgressSink};
pub use verify::{VerifyReport, verify, verify_in_parts};
