//! The store's behaviour suite. Every behaviour is written once, as an async function taking a
//! fresh [`harness::TestStore`], and `backend_tests!` runs it on SQLite (a temporary file per
//! test) and on PostgreSQL (a database per test, dropped afterwards).

#![expect(
    clippy::unwrap_used,
    reason = "a test fails by panicking, in its helpers and behaviour functions as in `#[test]`s"
)]

mod harness;

mod audit;
mod conflicts;
mod contacts;
mod created;
mod cursors;
mod dead_letters;
mod kpi;
mod leases;
mod links;
mod outbox;
mod probes;
mod run_state;
mod secrets;
mod sqlite_file;
mod testing_support;
mod tokens;
mod transactions;
