//! The Zendesk Support connector (API v2).
//!
//! Reads tickets and end users through the cursor-based incremental exports, organizations
//! through the time-based one, everything else through cursor-paged lists, and comments (with
//! their attachments) many tickets at once through the ticket events export
//! (`comment_events.rs`), else per ticket; by id one at a time, or (users and organizations) a hundred
//! at a time through `show_many`. Writes tickets through the import API so original times,
//! authors and visibility survive and nobody is e-mailed; users and organizations through
//! `create_or_update` keyed by e-mail or external id; everything after a lookup by mark. Rules
//! (macros, triggers, automations, views, SLA policies, forms) in the canonical rule form:
//! `rules` (conditions and actions), `rule_fit` (`fit`), `rule_lists` (each list's shape),
//! `config` (writes and lookups by title).

mod bodies;
mod bulk;
mod changes;
mod client;
mod comment_events;
mod config;
mod discover;
mod hooks;
mod inbound;
mod later_links;
mod lookup;
pub(crate) mod mapping;
mod merges;
mod moves;
mod quiet;
mod redact;
pub(crate) mod rule_fit;
pub(crate) mod rule_lists;
pub(crate) mod rules;
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

use crate::budget::{BudgetConfig, RateBudget};
use crate::capabilities::{Capabilities, UploadMode};
use crate::connector::{Connector, Page, Written};
use crate::error::ConnectError;
use crate::http::{Auth, HttpClient, Request};
use crate::outbound::{AttachmentSource, Downloaded, FileUpload, Outbound, UploadRef};
use crate::position::ReadPosition;
use crate::retry::RetryPolicy;
use client::{INCREMENTAL_LANE, ZendeskApi};

const ZENDESK: PlatformKind = PlatformKind::Zendesk;

/// The ticket types Zendesk takes.
pub(crate) const ZENDESK_TICKET_TYPES: &[&str] = &["question", "incident", "problem", "task"];

/// How to reach one Zendesk account. Debug never shows the credentials.
#[derive(Clone)]
pub struct ZendeskConfig {
    /// Which side of the migration this account is.
    pub side: Side,
    /// The account's URL, e.g. `https://acme.zendesk.com` (the API root is appended).
    pub base_url: Url,
    /// The credentials.
    pub auth: Auth,
    /// The rate budget's starting figures (the plan's limit and share).
    pub budget: BudgetConfig,
    /// Retry rules.
    pub retry: RetryPolicy,
    /// Records per page of lists (≤ 100).
    pub page_size: u32,
    /// Records per page of incremental exports (≤ 1000).
    pub export_page_size: u32,
    /// The largest file accepted for upload, in bytes.
    pub max_attachment_bytes: u64,
    /// Imports closed tickets straight into the archive (`archive_immediately`), as Zendesk
    /// advises for large imports.
    pub archive_closed_imports: bool,
    /// How often the triggers are read again to know whether the bridge's writes are quiet
    /// (see `quiet.rs`): before a public reply is written, when the last reading is older than
    /// this. A public reply bridged in is written public only while every active trigger that
    /// e-mails customers carries the condition `cutover sync setup` adds; else it is written
    /// private with a header line saying it was a public reply, so the customer is not
    /// e-mailed a copy of a reply they already got from the other side. One minute by default;
    /// `cutover serve` uses the plan's poll interval.
    pub quiet_recheck: std::time::Duration,
    /// Starts each comment imported with its ticket with cutover's header line too (its mark,
    /// original time and author: the plan's `keep_original.note_header = true`), though the
    /// import keeps times and authors as they are. Off by default: the header is then written
    /// only where Zendesk cannot keep them (comments added to a ticket copied before).
    pub headers_on_imports: bool,
    /// How far a webhook delivery's signed timestamp may be from this machine's clock, either
    /// way, before it is refused as stale or replayed (default
    /// [`crate::webhook::SIGNATURE_TOLERANCE_SECS`], five minutes). Widen it only for an
    /// emulator whose clock is set apart from this machine's.
    pub webhook_tolerance_secs: i64,
}

impl fmt::Debug for ZendeskConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZendeskConfig")
            .field("side", &self.side)
            .field("base_url", &crate::http::redacted_url(&self.base_url))
            .field("auth", &self.auth)
            .field("budget", &self.budget)
            .field("page_size", &self.page_size)
            .field("export_page_size", &self.export_page_size)
            .finish_non_exhaustive()
    }
}

impl ZendeskConfig {
    /// A configuration with API-token credentials (`{email}/token`) and the defaults of a
    /// Professional plan (400 requests a minute, all of it ours).
    pub fn with_api_token(side: Side, base_url: Url, email: &str, token: SecretString) -> Self {
        ZendeskConfig {
            side,
            base_url,
            auth: Auth::Basic {
                user: SecretString::from(format!("{email}/token")),
                password: token,
            },
            budget: BudgetConfig::new(400, 1.0).with_lane(INCREMENTAL_LANE, 10),
            retry: RetryPolicy::default(),
            page_size: 100,
            export_page_size: 1000,
            max_attachment_bytes: 50 * 1024 * 1024,
            archive_closed_imports: false,
            quiet_recheck: std::time::Duration::from_secs(60),
            headers_on_imports: false,
            webhook_tolerance_secs: crate::webhook::SIGNATURE_TOLERANCE_SECS,
        }
    }
}

/// The Zendesk connector.
pub struct ZendeskConnector {
    side: Side,
    /// The account's URL without credentials, as discovery names the account.
    base_url: String,
    api: ZendeskApi,
    retry: RetryPolicy,
    max_attachment_bytes: u64,
    archive_closed: bool,
    /// See [`ZendeskConfig::quiet_recheck`].
    quiet_recheck: std::time::Duration,
    /// Whether the triggers were last read to be quiet for the bridge's writes.
    quiet: quiet::QuietState,
    headers_on_imports: bool,
    /// See [`ZendeskConfig::webhook_tolerance_secs`].
    webhook_tolerance_secs: i64,
    /// The account's built-in ticket field ids, read once, for ticket forms written here.
    system_fields: tokio::sync::OnceCell<Vec<u64>>,
    /// The account's brands (id, name), read on first use: a ticket carries its brand's name.
    brands: crate::brands::BrandList,
    /// Bulk creates being gathered (`bulk.rs`).
    batches: bulk::Batches,
    /// Comments read many tickets at once (`comment_events.rs`).
    comment_events: comment_events::CommentEvents,
    /// The comments of tickets imported in bulk, matched many tickets at once
    /// (`later_links.rs`).
    later_links: later_links::LaterLinks,
}

impl fmt::Debug for ZendeskConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZendeskConnector")
            .field("side", &self.side)
            .field("http", &self.api.http)
            .finish_non_exhaustive()
    }
}

impl ZendeskConnector {
    /// A connector for the account `config` describes.
    pub fn new(config: ZendeskConfig) -> Result<Self, ConnectError> {
        let budget = Arc::new(RateBudget::new(config.budget.clone()));
        Self::with_budget(config, budget)
    }

    /// A connector sharing `budget` with others (several processes' connectors to one account).
    pub fn with_budget(
        config: ZendeskConfig,
        budget: Arc<RateBudget>,
    ) -> Result<Self, ConnectError> {
        let base = crate::http::api_root(&config.base_url);
        let http = HttpClient::new(ZENDESK, base, config.auth, budget, config.retry.clone())?;
        let api = ZendeskApi {
            http,
            page_size: config.page_size.clamp(1, 100),
            export_page_size: config.export_page_size.clamp(1, 1000),
        };
        Ok(ZendeskConnector {
            side: config.side,
            base_url: crate::http::redacted_url(&config.base_url),
            api,
            retry: config.retry,
            max_attachment_bytes: config.max_attachment_bytes,
            archive_closed: config.archive_closed_imports,
            quiet_recheck: config.quiet_recheck,
            quiet: quiet::QuietState::default(),
            headers_on_imports: config.headers_on_imports,
            webhook_tolerance_secs: config.webhook_tolerance_secs,
            system_fields: tokio::sync::OnceCell::new(),
            brands: crate::brands::BrandList::default(),
            batches: bulk::Batches::default(),
            comment_events: comment_events::CommentEvents::default(),
            later_links: later_links::LaterLinks::default(),
        })
    }
}

fn kinds(kinds: &[RecordKind]) -> BTreeSet<RecordKind> {
    kinds.iter().copied().collect()
}

#[async_trait]
impl Connector for ZendeskConnector {
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
        ZENDESK
    }

    fn side(&self) -> Side {
        self.side
    }

    fn capabilities(&self) -> Capabilities {
        use RecordKind as K;
        let all_listed: Vec<RecordKind> = RecordKind::ALL
            .iter()
            .copied()
            .filter(|k| !matches!(k, K::Comment | K::Attachment))
            .collect();
        let writable: Vec<RecordKind> = RecordKind::ALL
            .iter()
            .copied()
            .filter(|k| !matches!(k, K::Attachment | K::SatisfactionRating))
            .collect();
        Capabilities {
            platform: ZENDESK,
            can_backdate: true,
            can_set_authors: true,
            can_write_public_history: true,
            can_set_channel: false,
            channel_stand_ins: &[],
            ticket_types: Some(ZENDESK_TICKET_TYPES),
            default_priority: None,
            organization_tags: true,
            attachment_inline: true,
            field_option_names: true,
            // Ticket fields by their title, user and organization fields by their key.
            fields_found_by_label: true,
            field_active: true,
            agents_who_left: true,
            rating_scale: "good or bad (read as 5 and 1)",
            ticket_create_may_notify: false,
            agent_changes_may_notify: false,
            max_attachment_bytes: self.max_attachment_bytes,
            upload_mode: UploadMode::Token,
            budget: self.api.http.budget().stats(),
            readable: kinds(&all_listed),
            read_per_ticket: kinds(&[K::Comment, K::Attachment]),
            children_in_bulk: true,
            incremental: kinds(&[K::Ticket, K::Contact, K::Organization]),
            writable: kinds(&writable),
        }
    }

    fn budget(&self) -> Arc<RateBudget> {
        Arc::clone(self.api.http.budget())
    }

    #[instrument(skip_all, fields(platform = "zendesk", side = %self.side))]
    async fn discover(&self) -> Result<AccountSnapshot, ConnectError> {
        self.discover_account().await
    }

    async fn access(&self) -> Result<crate::Access, ConnectError> {
        self.read_access().await
    }

    async fn probe(&self) -> Option<crate::Probe> {
        Some(self.api.http.probe("users/me.json").await)
    }

    async fn create_brands(&self, names: &[String]) -> Result<Vec<crate::SetUp>, ConnectError> {
        self.add_brands(names).await
    }

    #[instrument(skip_all, fields(platform = "zendesk", side = %self.side, kind = %kind))]
    async fn read_page(
        &self,
        kind: RecordKind,
        position: &ReadPosition,
    ) -> Result<Page, ConnectError> {
        let page =
            changes::read_page(&self.api, self.side, kind, position, &self.comment_events).await?;
        let page = self.name_brands(page).await?;
        self.read_merges(page).await
    }

    #[instrument(skip_all, fields(platform = "zendesk", side = %self.side, kind = %kind, ticket = %ticket))]
    async fn read_children(
        &self,
        kind: RecordKind,
        ticket: &PlatformId,
        position: &ReadPosition,
    ) -> Result<Page, ConnectError> {
        match kind {
            RecordKind::Comment | RecordKind::Attachment => {
                changes::comments(&self.api, self.side, ticket, position).await
            }
            other => Err(ConnectError::Unsupported {
                op: format!("read {other} of ticket {ticket} from zendesk"),
                platform: ZENDESK,
                what: format!("read {other} per ticket"),
            }),
        }
    }

    #[instrument(skip_all, fields(platform = "zendesk", side = %self.side, tickets = tickets.len()))]
    async fn read_children_of_many(
        &self,
        tickets: &[PlatformId],
    ) -> Result<Vec<(PlatformId, Page)>, ConnectError> {
        self.comment_events
            .read(&self.api, self.side, tickets)
            .await
    }

    #[instrument(skip_all, fields(platform = "zendesk", side = %self.side, kind = %kind, id = %id))]
    async fn read_one(&self, kind: RecordKind, id: &PlatformId) -> Result<Page, ConnectError> {
        let page = changes::read_one(&self.api, self.side, kind, id).await?;
        let page = self.name_brands(page).await?;
        self.read_merges(page).await
    }

    #[instrument(skip_all, fields(platform = "zendesk", side = %self.side, kind = %kind, ids = ids.len()))]
    async fn read_many(&self, kind: RecordKind, ids: &[PlatformId]) -> Result<Page, ConnectError> {
        let page = match changes::read_many(&self.api, self.side, kind, ids).await? {
            Some(page) => page,
            None => {
                let mut all = Page {
                    done: true,
                    ..Page::default()
                };
                for id in ids {
                    let page = changes::read_one(&self.api, self.side, kind, id).await?;
                    all.items.extend(page.items);
                    all.rejected.extend(page.rejected);
                    all.deleted.extend(page.deleted);
                }
                all
            }
        };
        let page = self.name_brands(page).await?;
        self.read_merges(page).await
    }

    #[instrument(skip_all, fields(platform = "zendesk", side = %self.side, kind = %outbound.record.kind()))]
    async fn find_by_origin(
        &self,
        outbound: &Outbound,
    ) -> Result<Option<PlatformId>, ConnectError> {
        lookup::find(self, outbound).await
    }

    #[instrument(skip_all, fields(platform = "zendesk", side = %self.side, kind = %outbound.record.kind()))]
    async fn create(&self, outbound: &Outbound) -> Result<Written, ConnectError> {
        let op = outbound.op("create", PlatformKind::Zendesk);
        if let Some(into) = crate::merges::target(outbound, &op)? {
            let written = self
                .create_record(&crate::merges::unmerged(outbound))
                .await?;
            return crate::merges::created(self, written, &into).await;
        }
        self.create_record(outbound).await
    }

    #[instrument(skip_all, fields(platform = "zendesk", side = %self.side, kind = %outbound.record.kind(), id = %id))]
    async fn found(&self, id: &PlatformId, outbound: &Outbound) -> Result<Written, ConnectError> {
        let op = outbound.op("complete", PlatformKind::Zendesk);
        self.complete_found(outbound, id.clone(), &op).await
    }

    #[instrument(skip_all, fields(platform = "zendesk", side = %self.side, copies = copies.len(), finish))]
    async fn children_later(
        &self,
        copies: &[crate::connector::LaterCopy],
        finish: bool,
    ) -> Result<Vec<(PlatformId, Vec<crate::connector::WrittenChild>)>, ConnectError> {
        self.link_later(copies, finish).await
    }

    #[instrument(skip_all, fields(platform = "zendesk", side = %self.side, kind = %outbound.record.kind(), id = %id))]
    async fn update(&self, id: &PlatformId, outbound: &Outbound) -> Result<Written, ConnectError> {
        let op = format!("update ticket {id} on zendesk");
        if let Some(into) = crate::merges::target(outbound, &op)? {
            return crate::merges::update(self, id, &into).await;
        }
        self.update_record(id, outbound).await
    }

    #[instrument(skip_all, fields(platform = "zendesk", side = %self.side, kind = %outbound.record.kind(), id = %id))]
    async fn update_if(
        &self,
        id: &PlatformId,
        outbound: &Outbound,
        seen: chrono::DateTime<chrono::Utc>,
    ) -> Result<Written, ConnectError> {
        let op = format!("update ticket {id} on zendesk");
        if let Some(into) = crate::merges::target(outbound, &op)? {
            // A merge is not conditional: Zendesk has no version check on it.
            return crate::merges::update(self, id, &into).await;
        }
        match outbound.record {
            cutover_model::records::Record::Ticket(_) => {
                self.update_ticket_if(id, outbound, seen).await
            }
            _ => crate::connector::update_after_read(self, id, outbound, seen).await,
        }
    }

    #[instrument(skip_all, fields(platform = "zendesk", side = %self.side, into = %into))]
    async fn merge(&self, into: &PlatformId, sources: &[PlatformId]) -> Result<(), ConnectError> {
        self.merge_tickets(into, sources).await
    }

    #[instrument(skip_all, fields(platform = "zendesk", side = %self.side, agent = %agent, group = %group))]
    async fn set_group_member(
        &self,
        agent: &PlatformId,
        group: &PlatformId,
        member: bool,
    ) -> Result<bool, ConnectError> {
        self.set_member(agent, group, member).await
    }

    #[instrument(skip_all, fields(platform = "zendesk", side = %self.side, kind = %kind, id = %id))]
    async fn set_rule_active(
        &self,
        kind: RecordKind,
        id: &PlatformId,
        active: bool,
    ) -> Result<bool, ConnectError> {
        self.set_active(kind, id, active).await
    }

    #[instrument(skip_all, fields(platform = "zendesk", side = %self.side, kind = %kind, id = %id))]
    async fn delete(&self, kind: RecordKind, id: &PlatformId) -> Result<(), ConnectError> {
        self.delete_record(kind, id).await
    }

    #[instrument(skip_all, fields(platform = "zendesk", side = %self.side, kind = %kind, id = %id))]
    async fn delete_created(&self, kind: RecordKind, id: &PlatformId) -> Result<(), ConnectError> {
        self.delete_for_good(kind, id).await
    }

    #[instrument(skip_all, fields(platform = "zendesk", side = %self.side, kind = %kind, id = %id))]
    async fn delete_setup(
        &self,
        kind: cutover_model::SetupKind,
        id: &PlatformId,
    ) -> Result<(), ConnectError> {
        self.remove_setup(kind, id).await
    }

    fn comment_with_update(&self) -> bool {
        true
    }

    fn comment_removal(&self) -> crate::CommentRemoval {
        crate::CommentRemoval::Redact
    }

    #[instrument(skip_all, fields(platform = "zendesk", side = %self.side, ticket = %ticket, id = %comment))]
    async fn remove_comment(
        &self,
        ticket: &PlatformId,
        comment: &PlatformId,
    ) -> Result<(), ConnectError> {
        self.redact_comment(ticket, comment).await
    }

    fn undeletable(&self, kind: RecordKind, id: &PlatformId) -> Option<String> {
        hooks::delete_path_of(kind, id)
            .is_none()
            .then(|| format!("Zendesk's API deletes no {kind} but with its ticket"))
    }

    #[instrument(skip_all, fields(platform = "zendesk", side = %self.side))]
    async fn setup_hooks(
        &self,
        endpoint: &Url,
        secret: &crate::webhook::WebhookSecret,
    ) -> Result<crate::webhook::HookChanges, ConnectError> {
        self.setup(endpoint, secret).await
    }

    #[instrument(skip_all, fields(platform = "zendesk", side = %self.side))]
    async fn teardown_hooks(&self) -> Result<crate::webhook::HookChanges, ConnectError> {
        self.teardown().await
    }

    fn accept_webhook(
        &self,
        delivery: &crate::webhook::Delivery<'_>,
        secret: &crate::webhook::WebhookSecret,
    ) -> Result<Vec<crate::webhook::ChangeHint>, ConnectError> {
        hooks::accept(
            delivery,
            secret,
            chrono::Utc::now(),
            self.webhook_tolerance_secs,
        )
    }

    #[instrument(skip_all, fields(platform = "zendesk", side = %self.side, size = file.bytes.len()))]
    async fn upload(&self, file: FileUpload) -> Result<UploadRef, ConnectError> {
        self.upload_file(file).await
    }

    fn create_batch(&self, kind: RecordKind) -> usize {
        if bulk::bulk_endpoint(kind).is_some() {
            bulk::BATCH
        } else {
            1
        }
    }

    async fn count(&self, kind: RecordKind) -> Result<Option<u64>, ConnectError> {
        if kind != RecordKind::Ticket {
            return Ok(None);
        }
        let op = "count tickets on zendesk";
        let (body, _) = self
            .api
            .get(op, &crate::http::Request::get("tickets/count.json"))
            .await?;
        Ok(body
            .get("count")
            .and_then(|c| c.get("value"))
            .and_then(serde_json::Value::as_u64))
    }

    fn record_url(&self, kind: RecordKind, id: &PlatformId) -> Option<Url> {
        let path = match kind {
            RecordKind::Ticket => "agent/tickets",
            RecordKind::Contact | RecordKind::Agent => "agent/users",
            RecordKind::Organization => "agent/organizations",
            RecordKind::Group => "admin/people/team/groups",
            RecordKind::Macro => "admin/workspaces/agent-workspace/macros",
            _ => return None,
        };
        crate::http::page_url(self.api.http.base(), &format!("{path}/{id}"))
    }

    async fn check_quiet(&self) -> Result<Option<crate::webhook::QuietCheck>, ConnectError> {
        self.read_quiet().await.map(Some)
    }

    fn check_create(&self, outbound: &Outbound) -> Result<(), ConnectError> {
        let op = outbound.op("create", cutover_model::PlatformKind::Zendesk);
        self.create_request(outbound, &op).map(|_| ())
    }

    fn check_upload(&self, file: &FileUpload) -> Result<(), ConnectError> {
        self.refuse_oversize(file)
    }

    #[instrument(skip_all, fields(platform = "zendesk", side = %self.side, attachment = %source.id))]
    async fn download(&self, source: &AttachmentSource) -> Result<Downloaded, ConnectError> {
        let op = format!("download attachment {} from zendesk", source.id);
        let response = self
            .api
            .http
            .send(&op, &Request::url(source.url.clone()))
            .await?;
        crate::outbound::check_download(&op, source, response.body)
    }
}
