//! The control plane of cutover: the plan file that every command reads, and (later) waves, gates,
//! the KPI monitor, rollback and customer notices.
//!
//! A plan is checked before anything moves: [`plan::check_str`] walks the spanned TOML document,
//! collects every mistake at once as a [`Diagnostic`] naming file, line, column and key path, and
//! only then builds the typed [`Plan`].
//!
//! Layout:
//! - [`plan`]: the plan file.
//!   - `plan::model`: the typed [`Plan`] every later command reads.
//!   - `plan::values`: values with rules (durations, percentages, env var names, URLs, targets).
//!   - `plan::names`: closed sets of names (KPIs, alert actions, channel kinds, …), week times.
//!   - `plan::check`: [`plan::check_str`] and [`plan::load`]: parse, walk, cross-check, build.
//!   - `plan::schema` and `plan::walk`: the shape of a plan and the walker that reports every
//!     unknown key, wrong type, missing key and bad value.
//!   - `plan::rules`: checks across keys: references, coverage, vocabularies.
//!   - `plan::vocab`: which value of one platform's vocabulary matches which of another's.
//!   - `plan::init`: the commented plan `cutover init` writes.
//!   - `plan::span`, `plan::tree` and `plan::hint`: line and column of a byte offset, key paths;
//!     readers over the spanned tree; "did you mean".
//! - [`error`]: [`Diagnostic`], [`PlanErrors`] and [`PlanError`].

pub mod error;
pub mod plan;

pub use error::{Diagnostic, PlanError, PlanErrors, ValueError};
pub use plan::Plan;
