//! Faithful, stateful emulators of helpdesk platforms' public APIs, for tests, benchmarks and the
//! demo: real HTTP (and HTTPS) with the platforms' JSON shapes, status codes, error bodies,
//! pagination, rate-limit headers, webhooks, notifications and switchable faults, plus a seeded
//! data generator. Nothing here knows how cutover reads a platform: the emulators agree with the
//! platforms' documentation and recorded responses, never with the connectors.
//!
//! Start one in-process on port 0 with [`zendesk::ZendeskSim::spawn`], or hand a bound listener
//! to [`serve`] with [`zendesk::ZendeskSim::router`]. Every emulator also answers `/_sim/*`
//! controls (state, reset, clock, faults, notifications); `README.md` documents them.
//!
//! Layout: shared machinery once, then one folder per platform.
//!
//! - [`bench`](mod@bench): the emulators' own benchmark, per platform (seeding time, memory per
//!   ticket, GETs per second).
//! - [`server`]: listening (HTTP or HTTPS with a generated certificate), starting an emulator
//!   ([`server::spawn_emulator`]), JSON answers and bodies, graceful shutdown, the [`SimHandle`]
//!   tests hold.
//! - [`clock`]: the controllable clock every timestamp comes from.
//! - [`ratelimit`]: per-key minute windows and the header styles of each platform.
//! - [`faults`]: 5xx bursts, latency, dropped connections, 429 storms, malformed records, lost
//!   webhooks; an axum middleware plus a record-corruption hook.
//! - [`lateness`]: search indexes that see writes only after the platform's lag.
//! - [`webhooks`]: the delivery queue with retries, backoff and pluggable signing.
//! - [`notify`]: the log of e-mails a platform would have sent to customers.
//! - [`state`]: monotonic id generators and per-kind counts.
//! - [`page`]: offset and cursor pagination helpers and URL building.
//! - [`numbers`]: whole numbers in query strings, read as each platform reads them.
//! - [`text`]: the plain-text twin of an HTML body.
//! - [`datagen`]: the platform-neutral data generator (people, companies, texts, attachment bytes).
//! - [`realism`]: what a real account holds and a template does not ([`AccountProfile`]): the
//!   organisation's vocabulary as the account in use and the one being set up spell it, and its
//!   team, some of whom have left.
//! - [`control`]: the `/_sim/*` control routes, generic over an emulator, and the
//!   [`control::Machinery`] (clock, faults, webhook dispatcher) every emulator is built on.
//! - [`zendesk`]: the Zendesk Support API emulator.
//! - [`freshdesk`]: the Freshdesk API v2 emulator.
//! - [`traffic`]: the traffic generator (customers and agents on either platform) and its ledger.
//! - [`error`]: the error type, [`SimError`].

pub mod bench;
pub mod clock;
pub mod control;
pub mod datagen;
pub mod error;
pub mod faults;
pub mod freshdesk;
pub mod lateness;
pub mod mailsink;
pub mod notify;
pub mod numbers;
pub mod page;
pub mod ratelimit;
pub mod realism;
pub mod server;
pub mod state;
pub mod text;
pub mod traffic;
pub mod webhooks;
pub mod zendesk;

pub use error::SimError;
pub use realism::AccountProfile;
pub use server::{SimHandle, install_crypto_provider, serve};
