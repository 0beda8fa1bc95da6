//! The store of cutover: everything a migration must remember to resume after any interruption,
//! behind one [`Store`] trait with two implementations, SQLite (one file in WAL mode, the
//! embedded default `./cutover.db`) and PostgreSQL (shared by several workers). Each carries its
//! schema as migrations embedded in the binary, applied when the store is opened.
//!
//! - **Links**: one per record that exists on both sides, unique per old id and per new id.
//! - **Cursors**: a compound position (time, id, sequence) per side and stream, moved only in the
//!   transaction ([`StoreTx`]) that writes the work it covers.
//! - **Outbox**, **dead letters**, an append-only **hash-chained audit log**, and **run state**.
//! - **API tokens**: name, role and SHA-256 hash of each control-plane API token.
//! - **Leases**: which `cutover serve` leads, timed by the database's clock, with a fencing
//!   token; and the webhook hints a process that does not lead keeps for the one that does.
//! - **KPI facts**: one row per ticket and side (channel, group, times of creation, first reply
//!   and solution, reopenings, escalations, rating) for the continuity monitor, and their
//!   per-bucket aggregates (counts, nearest-rank percentiles) computed by the database.
//! - **Created records**: what cutover created on each platform (not what it found and
//!   linked), the ledger `cutover cleanup` deletes from.
//! - **Alerts** of the continuity monitor, one row per episode with its evidence.
//! - **Contacts** of the inbound gateway, claimed by delivery workers under a lease, and each
//!   customer's **conversation** per channel.
//!
//! [`open`] picks the implementation from a [`StoreUrl`], whose `Debug` and `Display` never show
//! a password; neither does any [`StoreError`].
//!
//! Layout:
//! - [`store`]: the `Store` and `StoreTx` traits and `Batch`.
//! - [`url`]: `StoreUrl`, parsed and redacted.
//! - [`links`], [`cursors`], [`outbox`], [`dead_letters`], [`audit`], [`tokens`], [`leases`],
//!   [`contacts`], [`kpi`], [`created`], [`alerts`]: what is kept,
//!   as types.
//! - [`error`]: the one error type, `StoreError`.
//! - `sql`: the implementation, written once over sqlx; `sql/sqlite.rs` and `sql/postgres.rs`
//!   hold what differs. Schemas are in `migrations/sqlite` and `migrations/postgres`.
//! - [`testing`]: throwaway PostgreSQL databases for the test suites of every crate.

pub mod alerts;
pub mod audit;
pub mod conflicts;
pub mod contacts;
pub mod created;
pub mod cursors;
pub mod dead_letters;
pub mod error;
pub mod kpi;
pub mod leases;
pub mod links;
pub mod outbox;
pub mod probes;
pub mod store;
pub mod testing;
pub mod tokens;
pub mod url;

mod sql;

use std::sync::Arc;

pub use alerts::{AlertActionRecord, AlertRecord};
pub use audit::{AuditEntry, AuditHash, NewAuditEntry};
pub use conflicts::{Conflict, ConflictId, NewConflict};
pub use contacts::{
    Accepted, Contact, ContactDelivery, ContactId, ContactStatus, Conversation, NewContact,
};
pub use created::{CreatedRecord, CreatedSetup};
pub use cursors::{Cursor, CursorMove, Position};
pub use dead_letters::{DeadLetter, DeadLetterFilter, DeadLetterId, NewDeadLetter};
pub use error::{AuditProblem, StoreError};
pub use kpi::{
    CONTACT_DEADLINE_SECS, CreatedCount, FactFilter, KpiBucket, KpiBuckets, KpiGroup, Percentiles,
    TicketFacts, TicketReading, WaveTickets,
};
pub use leases::{Fence, HintId, Lease, StoredHint};
pub use links::{FieldHashes, Link, LinkOutcome, StoredLink};
pub use outbox::{NewOutboxItem, OutboxId, OutboxItem, OutboxStatus};
pub use probes::ApiProbe;
pub use store::{Batch, Store, StoreTx};
pub use tokens::{ApiRole, ApiToken, BadRole, NewApiToken, TokenHash};
pub use url::{Backend, StoreUrl};

/// Opens the store a URL names, creating it (a SQLite file, or the schema in an existing
/// PostgreSQL database) and applying pending migrations as needed.
#[tracing::instrument(skip_all, fields(store = %url))]
pub async fn open(url: &StoreUrl) -> Result<Arc<dyn Store>, StoreError> {
    let store: Arc<dyn Store> = match url.target() {
        url::Target::Sqlite(path) => Arc::new(sql::sqlite::open(path).await?),
        url::Target::Postgres { .. } => Arc::new(sql::postgres::open(url).await?),
    };
    tracing::debug!(backend = %store.backend(), "Store opened.");
    Ok(store)
}
