//! The canonical model of cutover: records of every kind in a platform-neutral form, typed ids
//! and fingerprints. No I/O: nothing here can fail on a network or a disk.
//!
//! Layout:
//! - [`ids`]: `Side`, `RecordKind` (in dependency order), `PlatformKind`, `PlatformId`, `RecordRef`.
//! - [`records`]: the canonical records and the `Record` enum over every kind.
//! - [`rules`]: the canonical rule form of macros, routing rules, SLA policies, views and forms.
//! - [`fingerprint`]: blake3 over a canonical encoding, independent of key and map order.
//! - [`vocabulary`]: each platform's built-in statuses, priorities and channels.
//! - [`accounts`]: what discovery found on both accounts (`cutover.accounts.json`).
//! - [`error`]: what a value that breaks a type's rules reports.

pub mod accounts;
pub mod error;
pub mod fingerprint;
pub mod ids;
pub mod records;
mod rule_text;
pub mod rules;
pub mod vocabulary;

pub use error::ModelError;
pub use fingerprint::Fingerprint;
pub use ids::{PlatformId, PlatformKind, RecordKind, RecordRef, SetupKind, Side};
pub use records::{Observed, Record};
