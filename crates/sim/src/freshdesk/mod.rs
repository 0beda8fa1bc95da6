//! The Freshdesk API v2 emulator: `/api/v2/…` with Freshdesk's JSON shapes (bare arrays for
//! lists), status codes, `{"description":"Validation failed","errors":[…]}` bodies, `Link`
//! pagination, per-plan rate limits with per-endpoint sub-budgets, automation rules that call
//! webhooks, customer notifications, plus the shared `/_sim/*` controls. See
//! `crates/sim/README.md` (section Freshdesk) for the endpoint list and what is assumed.

mod admin;
mod app;
mod auth;
mod automation;
mod config;
mod contacts;
mod conversations;
mod email_switches;
mod errors;
mod fields;
mod indexed;
mod realistic;
mod render;
mod routes;
mod rule_admin;
mod search;
mod seed;
mod solutions;
mod store;
mod ticket_input;
mod tickets;
mod time_entries;

pub use app::{App, FreshdeskService, FreshdeskSim, SEARCH_LAG_SECONDS};
pub use config::{FreshdeskOptions, Plan};
pub use email_switches::EmailNotifications;
pub use errors::{ApiError, FieldError};
