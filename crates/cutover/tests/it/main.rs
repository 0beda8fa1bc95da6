//! Integration tests of the `cutover` binary: help texts and end-to-end runs of the real binary.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on what it did not expect"
)]

mod api;
mod bench;
mod bench_gateway;
mod bench_kpi;
mod bench_sim;
mod bridge;
mod bridge_conflicts;
mod bridge_merges;
mod cleanup;
mod crash;
mod delta;
mod doctor;
mod drift;
mod e2e;
mod failover;
mod gates;
mod gateway;
mod harness;
mod help;
mod hints;
mod inventory;
mod journey;
mod kpi;
mod late_agents;
mod live_first;
mod monitor;
mod notifications;
mod plans;
mod refresh;
mod refusals;
mod reports;
mod sim_cli;
mod switch;
mod sync_hooks;
mod waves;
mod waves_gateway;
