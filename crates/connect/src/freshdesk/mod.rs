//! The Freshdesk connector (API v2).
//!
//! Reads tickets in overlapping `updated_since` windows (past the 300-page wall, overlap
//! dropped), contacts by `_updated_since`, other kinds as paged lists, and conversations per
//! ticket (the description first). Freshdesk cannot backdate: a ticket keeps its origin, original
//! time and requester in custom fields, its first comment becomes the description and every
//! other comment a private note with a header line; nothing is sent through `/reply`, so history
//! e-mails no one. Rules in the canonical rule form: `rules` (conditions, events, actions),
//! `rule_fit` (`fit`), `rule_lists` (canned responses, scenarios, automation rules, SLA
//! policies), `config` (writes and lookups by title).

mod bodies;
mod changes;
mod client;
mod config;
mod discover;
mod hooks;
mod inbound;
mod lookup;
pub(crate) mod mapping;
mod merges;
mod moves;
pub(crate) mod rule_fit;
pub(crate) mod rule_lists;
pub(crate) mod rules;
mod setup;
mod write;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod write_tests;

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use cutover_model::accounts::AccountSnapshot;
use cutover_model::{PlatformId, PlatformKind, RecordKind, Side};
use secrecy::SecretString;
use tracing::instrument;
use url::Url;

pub use client::{LANE_CONTACTS_LIST, LANE_TICKET_CREATE, LANE_TICKET_UPDATE, LANE_TICKETS_LIST};
pub use mapping::OriginFields;

use crate::budget::{BudgetConfig, RateBudget};
use crate::capabilities::{Capabilities, UploadMode};
use crate::connector::{Connector, Page, Written};
use crate::error::ConnectError;
use crate::http::{Auth, HttpClient, Request};
use crate::outbound::{AttachmentSource, Downloaded, FileUpload, Outbound, UploadRef};
use crate::position::ReadPosition;
use crate::retry::RetryPolicy;
use changes::TicketReading;
use client::FreshdeskApi;

const FRESHDESK: PlatformKind = PlatformKind::Freshdesk;

/// How to reach one Freshdesk account. Debug never shows the API key.
#[derive(Clone)]
pub struct FreshdeskConfig {
    /// Which side of the migration this account is.
    pub side: Side,
    /// The account's URL, e.g. `https://acme.freshdesk.com` (not a CNAME; `/api/v2/` is appended).
    pub base_url: Url,
    /// The credentials.
    pub auth: Auth,
    /// The rate budget's starting figures, with the plan's per-endpoint lanes.
    pub budget: BudgetConfig,
    /// Retry rules.
    pub retry: RetryPolicy,
    /// Records per page (≤ 100).
    pub page_size: u32,
    /// The page past which Freshdesk refuses to list tickets.
    pub max_pages: u32,
    /// The largest attachment payload of one request, in bytes.
    pub max_attachment_bytes: u64,
    /// The custom fields that keep a ticket's origin (create them on the account first).
    pub origin_fields: OriginFields,
    /// Embeds ticket `stats` to read resolution times (costs extra API credits).
    pub include_stats: bool,
}

impl fmt::Debug for FreshdeskConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FreshdeskConfig")
            .field("side", &self.side)
            .field("base_url", &crate::http::redacted_url(&self.base_url))
            .field("auth", &self.auth)
            .field("budget", &self.budget)
            .field("origin_fields", &self.origin_fields)
            .finish_non_exhaustive()
    }
}

impl FreshdeskConfig {
    /// A configuration with an API key and the limits of a Growth plan (200 a minute; ticket and
    /// contact lists 20, ticket creates and updates 80).
    pub fn with_api_key(side: Side, base_url: Url, api_key: SecretString) -> Self {
        FreshdeskConfig {
            side,
            base_url,
            auth: Auth::Basic {
                user: api_key,
                password: SecretString::from("X"),
            },
            budget: BudgetConfig::new(200, 1.0)
                .with_lane(LANE_TICKETS_LIST, 20)
                .with_lane(LANE_CONTACTS_LIST, 20)
                .with_lane(LANE_TICKET_CREATE, 80)
                .with_lane(LANE_TICKET_UPDATE, 80),
            retry: RetryPolicy::default(),
            page_size: 100,
            max_pages: 300,
            max_attachment_bytes: 20 * 1024 * 1024,
            origin_fields: OriginFields::default(),
            include_stats: true,
        }
    }
}

/// The Freshdesk connector.
pub struct FreshdeskConnector {
    side: Side,
    /// The account's URL without credentials, as discovery names the account.
    base_url: String,
    api: FreshdeskApi,
    retry: RetryPolicy,
    reading: TicketReading,
    max_attachment_bytes: u64,
    /// The account's ticket set-up, read before the first ticket write.
    setup: tokio::sync::OnceCell<setup::TicketSetup>,
    /// The account's products (id, name), read on first use: a ticket carries its product's
    /// name as its brand.
    brands: crate::brands::BrandList,
    /// What was found of closed tickets' merges (see `merges.rs`).
    merges: merges::MergeMemory,
    /// Closed tickets' first pages of conversations read for their merges (see `merges.rs`).
    first_pages: merges::FirstPages,
}

impl fmt::Debug for FreshdeskConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FreshdeskConnector")
            .field("side", &self.side)
            .field("http", &self.api.http)
            .finish_non_exhaustive()
    }
}

impl FreshdeskConnector {
    /// A connector for the account `config` describes.
    pub fn new(config: FreshdeskConfig) -> Result<Self, ConnectError> {
        let budget = Arc::new(RateBudget::new(config.budget.clone()));
        Self::with_budget(config, budget)
    }

    /// A connector sharing `budget` with others.
    pub fn with_budget(
        config: FreshdeskConfig,
        budget: Arc<RateBudget>,
    ) -> Result<Self, ConnectError> {
        let base = crate::http::api_root(&config.base_url);
        let http = HttpClient::new(FRESHDESK, base, config.auth, budget, config.retry.clone())?;
        Ok(FreshdeskConnector {
            side: config.side,
            base_url: crate::http::redacted_url(&config.base_url),
            api: FreshdeskApi {
                http,
                page_size: config.page_size.clamp(1, 100),
            },
            retry: config.retry,
            reading: TicketReading {
                origin_fields: config.origin_fields,
                max_pages: config.max_pages.max(1),
                include_stats: config.include_stats,
            },
            max_attachment_bytes: config.max_attachment_bytes,
            setup: tokio::sync::OnceCell::new(),
            brands: crate::brands::BrandList::default(),
            merges: merges::MergeMemory::default(),
            first_pages: merges::FirstPages::default(),
        })
    }
}

fn kinds(kinds: &[RecordKind]) -> BTreeSet<RecordKind> {
    kinds.iter().copied().collect()
}

#[async_trait]
impl Connector for FreshdeskConnector {
    async fn find_inbound(
        &self,
        message: &crate::InboundMessage,
    ) -> Result<Option<PlatformId>, ConnectError> {
        self.find_inbound_ticket(message).await
    }

    async fn open_inbound(
        &self,
        message: &crate::InboundMessage,
    ) -> Result<PlatformId, ConnectError> {
        self.open_inbound_ticket(message).await
    }

    async fn follow_up_inbound(
        &self,
        ticket: &PlatformId,
        message: &crate::InboundMessage,
    ) -> Result<crate::FollowUp, ConnectError> {
        self.follow_up_ticket(ticket, message).await
    }

    fn platform(&self) -> PlatformKind {
        FRESHDESK
    }

    fn side(&self) -> Side {
        self.side
    }

    fn capabilities(&self) -> Capabilities {
        use RecordKind as K;
        let listed: Vec<RecordKind> = RecordKind::ALL
            .iter()
            .copied()
            .filter(|k| !matches!(k, K::Comment | K::Attachment | K::View))
            .collect();
        Capabilities {
            platform: FRESHDESK,
            can_backdate: false,
            can_set_authors: true,
            can_write_public_history: false,
            can_set_channel: true,
            channel_stand_ins: bodies::CHANNEL_STAND_INS,
            ticket_types: None,
            default_priority: Some("low"),
            organization_tags: false,
            attachment_inline: false,
            field_option_names: false,
            fields_found_by_label: true,
            field_active: false,
            agents_who_left: false,
            rating_scale: "five answers from extremely unhappy to extremely happy (1 to 5)",
            ticket_create_may_notify: true,
            // Bridged replies and notes are private notes, resolves and closes carry
            // `skip_close_notification`: only the new-ticket acknowledgement is left.
            agent_changes_may_notify: false,
            max_attachment_bytes: self.max_attachment_bytes,
            upload_mode: UploadMode::WithComment,
            budget: self.api.http.budget().stats(),
            readable: kinds(&listed),
            read_per_ticket: kinds(&[K::Comment, K::Attachment]),
            children_in_bulk: false,
            incremental: kinds(&[K::Ticket, K::Contact]),
            writable: kinds(&[
                K::Organization,
                K::Contact,
                K::Agent,
                K::Group,
                K::CustomField,
                K::Ticket,
                K::Comment,
                K::SatisfactionRating,
                K::Macro,
                K::Automation,
                K::SlaPolicy,
            ]),
        }
    }

    fn budget(&self) -> Arc<RateBudget> {
        Arc::clone(self.api.http.budget())
    }

    #[instrument(skip_all, fields(platform = "freshdesk", side = %self.side))]
    async fn discover(&self) -> Result<AccountSnapshot, ConnectError> {
        self.discover_account().await
    }

    async fn access(&self) -> Result<crate::Access, ConnectError> {
        self.read_access().await
    }

    async fn probe(&self) -> Option<crate::Probe> {
        Some(self.api.http.probe("agents/me").await)
    }

    async fn create_ticket_types(
        &self,
        names: &[String],
    ) -> Result<Vec<crate::SetUp>, ConnectError> {
        self.add_ticket_types(names).await
    }

    #[instrument(skip_all, fields(platform = "freshdesk", side = %self.side, kind = %kind))]
    async fn read_page(
        &self,
        kind: RecordKind,
        position: &ReadPosition,
    ) -> Result<Page, ConnectError> {
        let page = changes::read_page(&self.api, self.side, &self.reading, kind, position).await?;
        let page = self.name_brands(page).await?;
        self.read_merges(page).await
    }

    #[instrument(skip_all, fields(platform = "freshdesk", side = %self.side, kind = %kind, ticket = %ticket))]
    async fn read_children(
        &self,
        kind: RecordKind,
        ticket: &PlatformId,
        position: &ReadPosition,
    ) -> Result<Page, ConnectError> {
        match kind {
            RecordKind::Comment | RecordKind::Attachment => {
                let first = self.first_pages.take(ticket);
                changes::conversations(&self.api, self.side, ticket, position, first).await
            }
            other => Err(ConnectError::Unsupported {
                op: format!("read {other} of ticket {ticket} from freshdesk"),
                platform: FRESHDESK,
                what: format!("read {other} per ticket"),
            }),
        }
    }

    #[instrument(skip_all, fields(platform = "freshdesk", side = %self.side, kind = %outbound.record.kind()))]
    async fn find_by_origin(
        &self,
        outbound: &Outbound,
    ) -> Result<Option<PlatformId>, ConnectError> {
        self.find(outbound).await
    }

    #[instrument(skip_all, fields(platform = "freshdesk", side = %self.side, kind = %outbound.record.kind()))]
    async fn create(&self, outbound: &Outbound) -> Result<Written, ConnectError> {
        let op = outbound.op("create", FRESHDESK);
        if let Some(into) = crate::merges::target(outbound, &op)? {
            let written = self
                .create_record(&crate::merges::unmerged(outbound))
                .await?;
            return crate::merges::created(self, written, &into).await;
        }
        self.create_record(outbound).await
    }

    #[instrument(skip_all, fields(platform = "freshdesk", side = %self.side, kind = %outbound.record.kind(), id = %id))]
    async fn found(&self, id: &PlatformId, outbound: &Outbound) -> Result<Written, ConnectError> {
        self.complete_found(outbound, id.clone()).await
    }

    #[instrument(skip_all, fields(platform = "freshdesk", side = %self.side, kind = %outbound.record.kind(), id = %id))]
    async fn update(&self, id: &PlatformId, outbound: &Outbound) -> Result<Written, ConnectError> {
        let op = format!("update ticket {id} on freshdesk");
        if let Some(into) = crate::merges::target(outbound, &op)? {
            return crate::merges::update(self, id, &into).await;
        }
        self.update_record(id, outbound).await
    }

    #[instrument(skip_all, fields(platform = "freshdesk", side = %self.side, into = %into))]
    async fn merge(&self, into: &PlatformId, sources: &[PlatformId]) -> Result<(), ConnectError> {
        self.merge_tickets(into, sources).await
    }

    #[instrument(skip_all, fields(platform = "freshdesk", side = %self.side, kind = %kind, id = %id))]
    async fn read_one(&self, kind: RecordKind, id: &PlatformId) -> Result<Page, ConnectError> {
        let page = changes::read_one(&self.api, self.side, &self.reading, kind, id).await?;
        let page = self.name_brands(page).await?;
        self.read_merges(page).await
    }

    #[instrument(skip_all, fields(platform = "freshdesk", side = %self.side, agent = %agent, group = %group))]
    async fn set_group_member(
        &self,
        agent: &PlatformId,
        group: &PlatformId,
        member: bool,
    ) -> Result<bool, ConnectError> {
        self.set_member(agent, group, member).await
    }

    #[instrument(skip_all, fields(platform = "freshdesk", side = %self.side, kind = %kind, id = %id))]
    async fn set_rule_active(
        &self,
        kind: RecordKind,
        id: &PlatformId,
        active: bool,
    ) -> Result<bool, ConnectError> {
        self.set_active(kind, id, active).await
    }

    #[instrument(skip_all, fields(platform = "freshdesk", side = %self.side, kind = %kind, id = %id))]
    async fn delete(&self, kind: RecordKind, id: &PlatformId) -> Result<(), ConnectError> {
        self.delete_record(kind, id).await
    }

    #[instrument(skip_all, fields(platform = "freshdesk", side = %self.side, kind = %kind, id = %id))]
    async fn delete_created(&self, kind: RecordKind, id: &PlatformId) -> Result<(), ConnectError> {
        self.delete_for_good(kind, id).await
    }

    #[instrument(skip_all, fields(platform = "freshdesk", side = %self.side, kind = %kind, id = %id))]
    async fn delete_setup(
        &self,
        kind: cutover_model::SetupKind,
        id: &PlatformId,
    ) -> Result<(), ConnectError> {
        match kind {
            cutover_model::SetupKind::TicketType => self.remove_ticket_type(id).await,
            _ => Err(ConnectError::Unsupported {
                op: format!("remove {kind} {id} on freshdesk"),
                platform: self.platform(),
                what: format!("remove a {kind}"),
            }),
        }
    }

    fn comment_removal(&self) -> crate::CommentRemoval {
        crate::CommentRemoval::Delete
    }

    #[instrument(skip_all, fields(platform = "freshdesk", side = %self.side, ticket = %ticket, id = %comment))]
    async fn remove_comment(
        &self,
        ticket: &PlatformId,
        comment: &PlatformId,
    ) -> Result<(), ConnectError> {
        self.delete_note(ticket, comment).await
    }

    async fn own_setup(&self) -> Result<Vec<(RecordKind, PlatformId)>, ConnectError> {
        self.origin_field_ids().await
    }

    fn undeletable(&self, kind: RecordKind, id: &PlatformId) -> Option<String> {
        hooks::delete_path_of(kind, id)
            .err()
            .map(|why| format!("Freshdesk cannot {why}"))
    }

    #[instrument(skip_all, fields(platform = "freshdesk", side = %self.side))]
    async fn setup_hooks(
        &self,
        endpoint: &Url,
        secret: &crate::webhook::WebhookSecret,
    ) -> Result<crate::webhook::HookChanges, ConnectError> {
        self.setup(endpoint, secret).await
    }

    #[instrument(skip_all, fields(platform = "freshdesk", side = %self.side))]
    async fn teardown_hooks(&self) -> Result<crate::webhook::HookChanges, ConnectError> {
        self.teardown().await
    }

    fn accept_webhook(
        &self,
        delivery: &crate::webhook::Delivery<'_>,
        secret: &crate::webhook::WebhookSecret,
    ) -> Result<Vec<crate::webhook::ChangeHint>, ConnectError> {
        hooks::accept(delivery, secret)
    }

    #[instrument(skip_all, fields(platform = "freshdesk", side = %self.side, size = file.bytes.len()))]
    async fn upload(&self, file: FileUpload) -> Result<UploadRef, ConnectError> {
        self.hold_file(file)
    }

    fn record_url(&self, kind: RecordKind, id: &PlatformId) -> Option<Url> {
        let path = match kind {
            RecordKind::Ticket => "a/tickets",
            RecordKind::Contact => "a/contacts",
            RecordKind::Organization => "a/companies",
            RecordKind::Agent => "a/admin/agents",
            RecordKind::Group => "a/admin/groups",
            _ => return None,
        };
        crate::http::page_url(self.api.http.base(), &format!("{path}/{id}"))
    }

    fn check_create(&self, outbound: &Outbound) -> Result<(), ConnectError> {
        let op = outbound.op("create", FRESHDESK);
        if config::writes_as_rule(&outbound.record) {
            // Canned responses, scenarios, automation rules and SLA policies: their shape was
            // fitted to what Freshdesk holds before they got here (`rules::fit`).
            return Ok(());
        }
        self.create_request(outbound, &op).map(|_| ())
    }

    fn check_upload(&self, file: &FileUpload) -> Result<(), ConnectError> {
        crate::outbound::refuse_oversize(file, self.max_attachment_bytes, FRESHDESK)
    }

    #[instrument(skip_all, fields(platform = "freshdesk", side = %self.side, attachment = %source.id))]
    async fn download(&self, source: &AttachmentSource) -> Result<Downloaded, ConnectError> {
        let op = format!("download attachment {} from freshdesk", source.id);
        let response = self
            .api
            .http
            .send(&op, &Request::url(source.url.clone()))
            .await?;
        crate::outbound::check_download(&op, source, response.body)
    }
}
