//! Integration tests of the engine against the real SQLite store.
//!
//! The Zendesk emulator (crates/sim) is not ready yet, so these tests drive the steps that need
//! no platform answer: preparing records (mapping, fingerprints, links, waiting, drops, holes),
//! dry-run writes, the cursor in the store, and verification's comparison of read records.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

mod apply;
mod cursor;
mod dead_letters;
mod support;
mod verify;
