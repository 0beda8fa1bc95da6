//! Integration tests of the engine against the real SQLite store.
//!
//! Some drive the steps that need no platform answer: preparing records (mapping, fingerprints,
//! links, waiting, drops, holes), dry-run writes, the cursor in the store, verification's
//! comparison of read records, the inventory's losses. The others run whole moves over real
//! HTTP between the emulators (crates/sim): `zendesk_e2e` (with `fidelity`, read straight from
//! both emulators' APIs) and `freshdesk_e2e`, the bridge's read-again path (`read_again`), and a feed pass under a flood of webhooks
//! (`flood`), and what the bridge's writes cost in requests (`one_request`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

mod apply;
mod bulk;
mod cleanup;
mod cursor;
mod dead_letters;
mod dry_run;
mod exactly_once;
mod fidelity;
mod flood;
mod freshdesk_e2e;
mod inventory;
mod later_links;
mod live;
mod one_request;
mod origins;
mod read_again;
mod rules_e2e;
mod rules_from_freshdesk;
mod stand_in;
mod support;
mod verify;
mod zendesk_e2e;
