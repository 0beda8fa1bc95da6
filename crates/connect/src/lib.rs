//! Connectors: how cutover reads from and writes to each helpdesk platform.
//!
//! The engine sees every platform through the [`Connector`] trait (`Arc<dyn Connector>`): it
//! reads pages of canonical records from a resumable [`ReadPosition`], gets per-record trouble
//! back as data ([`Page::rejected`]), and writes [`Outbound`] records idempotently (a lookup by
//! the platform's external id or cutover's mark comes before every create). Each connector
//! states its [`Capabilities`] (backdating, authors, attachment cap, rate budget) so the engine
//! plans around them. Only this crate knows a platform's JSON.
//!
//! Every request of one connector goes through one shared [`RateBudget`], paced from the
//! platform's rate-limit headers and `Retry-After`, and is retried with capped, jittered backoff.
//!
//! Layout:
//! - [`connector`]: the `Connector` trait, `Page`, `Rejected`, `Written`.
//! - [`position`]: `ReadPosition`, the serializable resume point of a stream.
//! - [`outbound`]: `Outbound`, `Origin` (the mark), `TargetIds`, uploads and downloads.
//! - [`capabilities`]: what a connector can do; [`access`]: who its credentials are, and their role.
//! - [`rules`]: rules (macros, routing rules, SLAs, views, forms) in the canonical rule form:
//!   their references, and `fit`, what a platform holds of one.
//! - [`budget`]: the shared rate budget and its pure arithmetic (`Pacer`).
//! - [`retry`]: backoff rules.
//! - [`webhook`]: deliveries checked by their platform's connector ([`Connector::accept_webhook`]).
//! - [`http`]: the HTTP client (credentials, pacing, retries, error classification).
//! - [`error`]: `ConnectError` and its classes.
//! - `fields`: lenient JSON field reading that names the field at fault (per-record rejections).
//! - `header`: the header line that carries a comment's history where a platform cannot.
//! - [`zendesk`], [`freshdesk`]: one folder per platform: `client` (HTTP shapes), `mapping`
//!   (platform JSON → canonical), `changes` (reading streams and positions), `bodies`
//!   (canonical → request bodies), `write` (creates, updates, uploads), `lookup` (finding a copy
//!   before creating), `tests` and `write_tests`.
//!
//! Seams for the engine: [`references`] lists what a record must have linked before it is
//! written; [`TargetIds`] carries the target ids the engine resolved; [`Outbound::children`]
//! carries a ticket's comments so history is written in one import; [`Written::children`] and
//! [`Page::deleted`] report what else was written or removed; [`Page::attachments`] and
//! [`Connector::download`] give the bytes whose checksum completes an attachment record.

pub mod access;
mod brands;
pub mod budget;
pub mod capabilities;
pub mod connector;
pub mod error;
mod fields;
pub mod freshdesk;
mod header;
pub mod http;
#[cfg(test)]
mod http_tests;
pub mod inbound;
mod inline;
mod merges;
pub mod outbound;
pub mod position;
pub mod retry;
pub mod rules;
pub mod webhook;
pub mod zendesk;

pub use access::{Access, Probe};
pub use budget::{BudgetConfig, BudgetStats, Pacer, RateBudget, RateHeaders};
pub use capabilities::{Capabilities, UploadMode};
pub use connector::{
    CommentRemoval, Connector, LaterCopy, Page, Rejected, SetUp, WriteOutcome, Written,
    WrittenChild,
};
pub use error::{ConnectError, ErrorClass};
pub use freshdesk::{FreshdeskConfig, FreshdeskConnector};
pub use http::Auth;
pub use inbound::{FollowUp, InboundMessage, Requester};
pub use inline::with_addresses;
pub use outbound::{
    AttachmentSource, Downloaded, FileUpload, History, Origin, Outbound, Reference, TargetIds,
    UploadHandle, UploadRef, references,
};
pub use position::ReadPosition;
pub use retry::RetryPolicy;
pub use rules::{Fitted, fit, rewrite_keys};
pub use webhook::{ChangeHint, Delivery, Hook, HookChanges, QuietCheck, WebhookSecret};
pub use zendesk::{ZendeskConfig, ZendeskConnector};
