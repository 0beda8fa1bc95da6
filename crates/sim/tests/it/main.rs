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
mod datagen;
mod faults;
mod fidelity;
mod freshdesk_control;
mod freshdesk_conversations;
mod freshdesk_fidelity;
mod freshdesk_harness;
mod freshdesk_indexes;
mod freshdesk_limits;
mod freshdesk_records;
mod freshdesk_search;
mod freshdesk_solutions;
mod freshdesk_tickets;
mod freshdesk_time_triggers;
mod freshdesk_webhooks;
mod incremental;
mod indexes;
mod lateness;
mod limits;
mod numbers;
mod records;
mod rule_writes;
mod search;
mod third_party_freshdesk;
mod tickets;
mod tls;
mod traffic;
mod uploads;
mod webhooks;
