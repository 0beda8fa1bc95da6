//! The connectors against the emulators over real HTTP: the bridge's hooks (setup, delivery,
//! teardown), deliveries checked, conditional updates and deletes, ticket merges.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on what it did not expect"
)]

mod conditional;
mod freshdesk_hooks;
mod later_links;
mod merges;
mod read_many;
mod support;
mod zendesk_hooks;
