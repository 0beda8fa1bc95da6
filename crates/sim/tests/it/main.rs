//! One integration test binary for the emulators: each module drives an in-process emulator on
//! port 0 over real HTTP with reqwest.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

mod harness;

mod auth;
mod control;
mod faults;
mod fidelity;
mod incremental;
mod limits;
mod records;
mod search;
mod tickets;
mod tls;
mod uploads;
mod webhooks;
