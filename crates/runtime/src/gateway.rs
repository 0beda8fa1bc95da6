//! The delivery worker of the inbound gateway.
//!
//! The gateway (`cutover_server::gateway`) keeps each contact in the store before it answers
//! the provider 2xx. This worker claims pending contacts under a lease (two `cutover serve`
//! processes on one PostgreSQL never claim the same one; each customer's contacts on a channel
//! are claimed in order, one at a time), routes each with [`RoutingState::route`] (the state is
//! read from the store again at least every [`GatewayConfig::routing_every`]) and delivers it:
//!
//! - [`Route::Hold`]: left pending, tried again shortly, until the switch that holds it ends;
//! - a customer with a conversation on the channel (a ticket a contact opened before) gets a
//!   follow-up on it, on the routed side: the ticket itself, or its bridged copy there (the
//!   store's link). A conversation never splits: while the copy does not exist yet, the
//!   follow-up goes to the side that holds the ticket. A closed or deleted ticket opens a new
//!   conversation;
//! - otherwise a new ticket on the routed side, marked with the contact
//!   ([`InboundMessage::mark`]). After an attempt whose outcome is unknown, the side it went to
//!   is kept with the contact, and the next attempt looks the ticket up there first: a create
//!   whose answer was lost never makes a second ticket;
//! - a call's ticket (the gateway keeps one per call it forwards, [`CALL_TICKET`]): a new
//!   ticket on the side the call went to, whatever the routing says by then.
//!
//! The files a contact carries (an e-mail's attachments, kept with their bytes) are attached to
//! the ticket it opens or the follow-up it adds.
//!
//! A failed attempt gives the contact back with a capped exponential backoff: a platform that
//! is down gets its contacts when it is back. A contact a platform refuses for good (a 4xx:
//! validation) fails into the dead letters, so the customer's later contacts go on.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::Utc;
use cutover_connect::{
    ConnectError, Connector, ErrorClass, FileUpload, FollowUp, InboundMessage, Requester,
};
use cutover_model::{PlatformId, RecordKind, Side};
use cutover_plan::plan::model::{Channel, Wave};
use cutover_store::{Contact, ContactDelivery, NewDeadLetter, Store};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::error::RuntimeError;
use crate::routing::{Route, RoutingState};

/// What [`Contact::last_error`] says of a contact held by a switch.
pub const HELD: &str = "held: a switch is under way";

/// The payload key of a call's ticket: the side the call was forwarded to. The gateway keeps
/// one such contact per forwarded call; the worker opens it as a new ticket on that side
/// (never a follow-up, never held: the call already went there).
pub const CALL_TICKET: &str = "call_ticket_side";

/// How the worker paces itself.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Contacts claimed at a time (delivered side by side: each is another customer's).
    pub batch: u32,
    /// How long a claim holds a contact from other workers.
    pub lease: Duration,
    /// How long the worker waits when nothing was claimable.
    pub idle: Duration,
    /// How stale the routing state may be before it is read from the store again.
    pub routing_every: Duration,
    /// How soon a held contact is tried again.
    pub hold_retry: Duration,
    /// The first backoff after a failed attempt; doubled each attempt, up to `backoff_max`.
    pub backoff: Duration,
    /// The longest backoff.
    pub backoff_max: Duration,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            batch: 16,
            lease: Duration::from_secs(120),
            idle: Duration::from_millis(100),
            routing_every: Duration::from_millis(200),
            hold_retry: Duration::from_millis(200),
            backoff: Duration::from_millis(500),
            backoff_max: Duration::from_secs(5),
        }
    }
}

/// The gateway's counts, by channel and side: what `/metrics` shows.
#[derive(Debug, Default)]
pub struct GatewayMetrics {
    counts: Mutex<BTreeMap<(String, &'static str), Counts>>,
}

/// The counts of one channel and side.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Contacts kept by the gateway (side `none`: not routed yet).
    pub accepted: u64,
    /// Contacts delivered (or calls forwarded).
    pub delivered: u64,
    /// Times a contact was held by a switch (side `none`).
    pub held: u64,
    /// Failed delivery attempts (each is tried again).
    pub failed: u64,
}

/// The side label of a count: `old`, `new`, or `none`.
fn side_label(side: Option<Side>) -> &'static str {
    match side {
        Some(Side::Old) => "old",
        Some(Side::New) => "new",
        None => "none",
    }
}

impl GatewayMetrics {
    fn bump(&self, channel: &str, side: Option<Side>, count: impl FnOnce(&mut Counts)) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        count(
            counts
                .entry((channel.to_owned(), side_label(side)))
                .or_default(),
        );
    }

    /// A contact kept by the gateway.
    pub fn accepted(&self, channel: &str) {
        self.bump(channel, None, |c| c.accepted += 1);
    }

    /// A contact delivered, or a call forwarded, to `side`.
    pub fn delivered(&self, channel: &str, side: Side) {
        self.bump(channel, Some(side), |c| c.delivered += 1);
    }

    /// A contact held by a switch.
    pub fn held(&self, channel: &str) {
        self.bump(channel, None, |c| c.held += 1);
    }

    /// A failed attempt to deliver to `side`.
    pub fn failed(&self, channel: &str, side: Option<Side>) {
        self.bump(channel, side, |c| c.failed += 1);
    }

    /// Every count, by (channel, side label).
    pub fn snapshot(&self) -> Vec<(String, &'static str, Counts)> {
        let counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts
            .iter()
            .map(|((channel, side), c)| (channel.clone(), *side, *c))
            .collect()
    }
}

/// The routing state as last read, read again once stale.
struct Routing {
    state: RoutingState,
    read_at: Option<Instant>,
    every: Duration,
}

impl Routing {
    async fn current(&mut self, store: &dyn Store) -> Result<&RoutingState, RuntimeError> {
        if self.read_at.is_none_or(|at| at.elapsed() >= self.every) {
            self.state = RoutingState::load(store).await?;
            self.read_at = Some(Instant::now());
        }
        Ok(&self.state)
    }
}

/// The delivery worker: the store, both platforms, the plan's channels and waves.
#[derive(Debug, Clone)]
pub struct DeliveryWorker {
    /// The store the gateway keeps contacts in.
    pub store: Arc<dyn Store>,
    /// The old platform.
    pub old: Arc<dyn Connector>,
    /// The new platform.
    pub new: Arc<dyn Connector>,
    /// The plan's channels.
    pub channels: Vec<Channel>,
    /// The plan's waves, in order.
    pub waves: Vec<Wave>,
    /// Counts for `/metrics`, shared with the gateway.
    pub metrics: Arc<GatewayMetrics>,
    /// Pacing.
    pub config: GatewayConfig,
}

/// What one attempt came to.
enum Attempt {
    Delivered(ContactDelivery),
    Held,
}

/// A failed attempt: the side it went to (when its outcome is unknown there), why, and whether
/// the platform refused the contact for good (a 4xx other than 401, 403, 408, 429).
struct Failed {
    side: Option<Side>,
    target: Option<Side>,
    reason: String,
    refused: bool,
}

impl Failed {
    fn at(side: Side, e: ConnectError) -> Self {
        Failed {
            side: Some(side),
            target: Some(side),
            reason: e.to_string(),
            refused: e.class() == ErrorClass::Permanent,
        }
    }

    fn nowhere(reason: impl ToString) -> Self {
        Failed {
            side: None,
            target: None,
            reason: reason.to_string(),
            refused: false,
        }
    }

    fn on(side: Side, e: ConnectError) -> Self {
        Failed {
            side: None,
            ..Failed::at(side, e)
        }
    }
}

impl DeliveryWorker {
    /// The worker of a plan's channels and waves, with the default pacing.
    pub fn for_plan(
        store: Arc<dyn Store>,
        old: Arc<dyn Connector>,
        new: Arc<dyn Connector>,
        plan: &cutover_plan::plan::Plan,
        metrics: Arc<GatewayMetrics>,
    ) -> Self {
        DeliveryWorker {
            store,
            old,
            new,
            channels: plan.channels.clone(),
            waves: plan.waves.clone(),
            metrics,
            config: GatewayConfig::default(),
        }
    }

    fn connector(&self, side: Side) -> &Arc<dyn Connector> {
        match side {
            Side::Old => &self.old,
            Side::New => &self.new,
        }
    }

    /// Runs until `shutdown`: claims, routes and delivers contacts. A store that fails is
    /// logged and tried again after a pause.
    pub async fn run(self, shutdown: CancellationToken) {
        let worker = Arc::new(self);
        let mut routing = Routing {
            state: RoutingState::default(),
            read_at: None,
            every: worker.config.routing_every,
        };
        while !shutdown.is_cancelled() {
            let claimed = match worker.pass(&mut routing).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "The gateway's delivery worker could not read the store; trying again.");
                    0
                }
            };
            if claimed == 0 {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(worker.config.idle) => {}
                }
            }
        }
    }

    /// One pass: claims a batch and delivers it; answers how many contacts it claimed.
    async fn pass(self: &Arc<Self>, routing: &mut Routing) -> Result<usize, RuntimeError> {
        let state = routing.current(self.store.as_ref()).await?.clone();
        let claimed = self
            .store
            .claim_contacts(self.config.batch, self.config.lease)
            .await?;
        let n = claimed.len();
        let mut tasks = tokio::task::JoinSet::new();
        for contact in claimed {
            let worker = Arc::clone(self);
            let state = state.clone();
            tasks.spawn(async move { worker.settle(contact, &state).await });
        }
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "A contact's delivery could not be recorded; its lease runs out and it is tried again.");
                }
                Err(e) => tracing::error!(error = %e, "A delivery task failed."),
            }
        }
        Ok(n)
    }

    /// Delivers one claimed contact and records what came of it.
    async fn settle(&self, contact: Contact, state: &RoutingState) -> Result<(), RuntimeError> {
        let Some(lease) = contact.leased_until else {
            return Ok(());
        };
        let channel = contact.channel.clone();
        match self.attempt(&contact, lease, state).await {
            Ok(Attempt::Delivered(delivery)) => {
                let side = delivery.side;
                // A call's ticket is not another contact: the call was counted when forwarded.
                if self.store.deliver_contact(&delivery).await? && call_side(&contact).is_none() {
                    self.metrics.delivered(&channel, side);
                    tracing::debug!(contact = %contact.id, %channel, %side, ticket = %delivery.ticket_id, follow_up = delivery.follow_up, "Contact delivered.");
                }
            }
            Ok(Attempt::Held) => {
                if contact.last_error.as_deref() != Some(HELD) {
                    self.metrics.held(&channel);
                }
                let next = Utc::now() + self.config.hold_retry;
                self.store
                    .retry_contact(contact.id, lease, next, None, Some(HELD))
                    .await?;
            }
            Err(failed) if failed.refused => {
                self.metrics.failed(&channel, failed.target);
                tracing::warn!(contact = %contact.id, %channel, error = %failed.reason, "A platform refused the contact for good; kept in the dead letters.");
                let side = failed.target.unwrap_or(Side::Old);
                let letter = NewDeadLetter {
                    kind: RecordKind::Ticket,
                    side,
                    source_id: PlatformId::parse(format!("contact-{}", contact.id))
                        .unwrap_or_else(|_| PlatformId::from(0)),
                    reason: format!("gateway {channel}: the {side} side refused the contact"),
                    record: serde_json::json!({
                        "contact": contact.id.0,
                        "channel": channel,
                        "customer": contact.customer,
                        "payload": contact.payload,
                        "error": failed.reason,
                    }),
                };
                self.store
                    .fail_contact(contact.id, lease, &failed.reason, &letter)
                    .await?;
            }
            Err(failed) => {
                self.metrics.failed(&channel, failed.target);
                let backoff = self.backoff(contact.attempts);
                tracing::info!(contact = %contact.id, %channel, attempt = contact.attempts, error = %failed.reason, retry_in_ms = backoff.as_millis(), "Contact not delivered yet; trying again.");
                let next = Utc::now() + backoff;
                self.store
                    .retry_contact(contact.id, lease, next, failed.side, Some(&failed.reason))
                    .await?;
            }
        }
        Ok(())
    }

    fn backoff(&self, attempts: i64) -> Duration {
        let exponent = u32::try_from(attempts.saturating_sub(1).clamp(0, 16)).unwrap_or(16);
        self.config
            .backoff
            .saturating_mul(2u32.saturating_pow(exponent))
            .min(self.config.backoff_max)
    }

    async fn attempt(
        &self,
        contact: &Contact,
        lease: chrono::DateTime<Utc>,
        state: &RoutingState,
    ) -> Result<Attempt, Failed> {
        // A call's ticket goes where the call was forwarded, and opens a ticket of its own.
        if let Some(side) = call_side(contact) {
            let message = self.message(contact);
            let ticket = self.open(contact, side, &message).await?;
            return Ok(Attempt::Delivered(ContactDelivery {
                id: contact.id,
                lease,
                side,
                ticket_id: ticket,
                follow_up: false,
                conversation: None,
            }));
        }
        let side = match state.route(&self.waves, &contact.channel, &contact.customer) {
            Route::Hold => return Ok(Attempt::Held),
            Route::To(side) => side,
        };
        let message = self.message(contact);
        let conversation = self
            .store
            .conversation(&contact.channel, &contact.customer)
            .await
            .map_err(Failed::nowhere)?;
        if let Some(conversation) = conversation {
            let (target, ticket) = self
                .conversation_on(side, conversation.side, &conversation.ticket_id)
                .await?;
            match self
                .connector(target)
                .follow_up_inbound(&ticket, &message)
                .await
            {
                Ok(FollowUp::Added) => {
                    return Ok(Attempt::Delivered(ContactDelivery {
                        id: contact.id,
                        lease,
                        side: target,
                        ticket_id: ticket,
                        follow_up: true,
                        conversation: None,
                    }));
                }
                Ok(FollowUp::Closed | FollowUp::Gone) => {}
                Err(e) => return Err(Failed::on(target, e)),
            }
        }
        let ticket = self.open(contact, side, &message).await?;
        Ok(Attempt::Delivered(ContactDelivery {
            id: contact.id,
            lease,
            side,
            ticket_id: ticket.clone(),
            follow_up: false,
            conversation: Some((side, ticket)),
        }))
    }

    /// Where a follow-up goes: the conversation's ticket on the routed side (its bridged copy
    /// when it was opened on the other), else where the ticket is.
    async fn conversation_on(
        &self,
        routed: Side,
        opened: Side,
        ticket: &PlatformId,
    ) -> Result<(Side, PlatformId), Failed> {
        if routed == opened {
            return Ok((opened, ticket.clone()));
        }
        let link = self
            .store
            .find_link(RecordKind::Ticket, opened, ticket)
            .await
            .map_err(Failed::nowhere)?;
        Ok(match link {
            Some(stored) => {
                let copy = match routed {
                    Side::Old => stored.link.old_id,
                    Side::New => stored.link.new_id,
                };
                (routed, copy)
            }
            None => (opened, ticket.clone()),
        })
    }

    /// A new ticket for the contact on `side`, unless an earlier attempt whose outcome is
    /// unknown made it (looked up on the side of that attempt).
    async fn open(
        &self,
        contact: &Contact,
        side: Side,
        message: &InboundMessage,
    ) -> Result<PlatformId, Failed> {
        if contact.attempts > 1
            && let Some(earlier) = contact.side
        {
            let found = self
                .connector(earlier)
                .find_inbound(message)
                .await
                .map_err(|e| Failed::at(earlier, e))?;
            if let Some(id) = found {
                if earlier != side {
                    tracing::info!(contact = %contact.id, %earlier, "A ticket an earlier attempt opened was found on the side routed before; the conversation stays there.");
                }
                return Ok(id);
            }
        }
        self.connector(side)
            .open_inbound(message)
            .await
            .map_err(|e| Failed::at(side, e))
    }

    /// The message a contact carries, as a connector writes it.
    pub fn message(&self, contact: &Contact) -> InboundMessage {
        message_of(contact, &self.channels)
    }
}

/// The side of a call's ticket ([`CALL_TICKET`] in its payload): the side the call was
/// forwarded to, kept with the contact when the gateway answered the call.
fn call_side(contact: &Contact) -> Option<Side> {
    contact
        .payload
        .get(CALL_TICKET)
        .and_then(Value::as_str)
        .and_then(|side| side.parse().ok())
}

/// The files of a payload: each kept with its bytes (`data`, base64) becomes an upload; the
/// names of those kept without (answered in the body instead).
fn files_of(payload: &Value) -> (Vec<FileUpload>, Vec<String>) {
    use base64::Engine as _;
    let (mut files, mut lost) = (Vec::new(), Vec::new());
    let listed = payload.get("attachments").and_then(Value::as_array);
    for file in listed.into_iter().flatten() {
        let name = file
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("attachment")
            .to_owned();
        let bytes = file
            .get("data")
            .and_then(Value::as_str)
            .and_then(|d| base64::engine::general_purpose::STANDARD.decode(d).ok());
        match bytes {
            Some(bytes) => files.push(FileUpload {
                origin: None,
                content_type: file
                    .get("content_type")
                    .and_then(Value::as_str)
                    .filter(|t| !t.trim().is_empty())
                    .unwrap_or("application/octet-stream")
                    .to_owned(),
                file_name: name,
                bytes: Arc::new(bytes),
                inline: false,
            }),
            None => lost.push(name),
        }
    }
    (files, lost)
}

/// The message a contact carries: its payload as the gateway kept it (`from`, `name`,
/// `subject`, `text`, `html`, `attachments` with their bytes), tagged with the channel.
pub fn message_of(contact: &Contact, channels: &[Channel]) -> InboundMessage {
    let p = &contact.payload;
    let text = |key: &str| {
        p.get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .filter(|s| !s.trim().is_empty())
    };
    let kind = channels
        .iter()
        .find(|c| c.name == contact.channel)
        .map(|c| c.kind.as_str())
        .unwrap_or("api");
    let customer = contact.customer.clone();
    let requester = if customer.contains('@') {
        Requester {
            name: text("name"),
            email: Some(customer),
            handle: None,
        }
    } else {
        Requester {
            name: text("name"),
            email: text("email"),
            handle: Some(format!("{kind}:{customer}")),
        }
    };
    let mut body = text("text").unwrap_or_default();
    let (attachments, lost) = files_of(p);
    if !lost.is_empty() {
        body.push_str(&format!("\n\n(attachments not kept: {})", lost.join(", ")));
    }
    let subject = text("subject").unwrap_or_else(|| {
        let first: String = body
            .lines()
            .next()
            .unwrap_or_default()
            .chars()
            .take(60)
            .collect();
        if first.trim().is_empty() {
            format!("New {kind} contact")
        } else {
            first
        }
    });
    InboundMessage {
        mark: InboundMessage::mark_of(contact.id.0),
        requester,
        subject,
        html: text("html").filter(|_| lost.is_empty()),
        text: body,
        tags: vec![
            "cutover_gateway".to_owned(),
            format!("channel_{}", contact.channel),
        ],
        attachments,
        may_exist: contact.attempts > 1,
    }
}
