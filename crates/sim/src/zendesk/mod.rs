//! The Zendesk Support API emulator: `/api/v2/…` with Zendesk's JSON shapes, status codes, error
//! bodies, pagination, incremental exports, rate limits, webhooks and notifications, plus the
//! shared `/_sim/*` controls (with its own `/_sim/users/suspend`). See `crates/sim/README.md` for
//! the endpoint list and what is assumed.

mod app;
mod auth;
mod comments;
mod config;
mod config_objects;
mod control;
mod errors;
mod events;
mod imports;
mod incremental;
mod jobs;
mod json;
mod listing;
mod merge;
mod model;
mod orgs;
mod realistic;
mod redactions;
mod routes;
mod rule_checks;
mod search;
mod seed;
mod store;
mod ticket_input;
mod ticket_write;
mod tickets;
mod triggers;
mod users;

pub use app::{App, SEARCH_LAG_SECONDS, ZendeskService, ZendeskSim};
pub use config::ZendeskOptions;
pub use errors::{ApiError, FieldError};
