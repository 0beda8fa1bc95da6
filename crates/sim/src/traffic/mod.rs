//! The traffic generator: customers and agents playing on one or both platforms of a cutover,
//! with a ground-truth ledger that tests use as the oracle for "nothing lost".
//!
//! Customers open tickets by e-mail, web form, chat, WhatsApp and phone and write back on them;
//! agents answer with realistic first-response and resolution times, reassign, escalate, solve
//! and close; customers rate solved tickets 1–5 and sometimes reopen them. Volume follows a
//! daily and weekly curve scaled to a rate, every choice comes from a seeded `StdRng`, and delays
//! run on a simulated clock mapped to real time by a speed factor, so a test plays hours of
//! support in a second. Start it with [`run`]; read what it did with [`Ledger::read`].
//!
//! Layout:
//!
//! - [`model`]: sides, platforms, channels, statuses, the neutral [`Step`] and its [`Answer`].
//! - [`curve`]: the daily and weekly load and the seeded arrival process.
//! - `actors`: who does what next (the platform-neutral actor layer and its scheduler).
//! - [`client`]: the per-platform client trait and the shared HTTP sending;
//!   [`zendesk`] and [`freshdesk`] implement it.
//! - [`ledger`]: the JSON-lines ledger, its writer and reader, and the expected state.
//! - [`bench`]: the sustained-rate benchmark against both emulators.
//! - `run`: [`TrafficOptions`] and [`run`].
//! - [`error`]: the error type, [`TrafficError`].

mod actors;
pub mod bench;
pub mod client;
pub mod curve;
pub mod error;
pub mod freshdesk;
pub mod ledger;
pub mod model;
mod run;
pub mod zendesk;

pub use error::TrafficError;
pub use ledger::{Action, Entry, ExpectedSide, ExpectedTicket, Ledger, LedgerWriter};
pub use model::{
    Answer, Author, Channel, Customer, PlatformKind, Priority, Side, Slowdown, Stars, Status, Step,
};
pub use run::{SideSummary, Speed, Target, TrafficOptions, TrafficSummary, parse_span, run};
