//! The `Connector` trait: what the engine asks of any platform, and the shapes of its answers.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cutover_model::accounts::AccountSnapshot;
use cutover_model::{Observed, PlatformId, PlatformKind, RecordKind, SetupKind, Side};
use serde_json::Value;

use crate::budget::RateBudget;
use crate::capabilities::Capabilities;
use crate::error::ConnectError;
use crate::inbound::{FollowUp, InboundMessage};
use crate::outbound::{AttachmentSource, Downloaded, FileUpload, Origin, Outbound, UploadRef};
use crate::position::ReadPosition;
use crate::webhook::{ChangeHint, Delivery, HookChanges, WebhookSecret};

/// A record read from a platform that cannot become a canonical record: data for the dead-letter
/// queue, not an error of the page it came in.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    /// The platform it was read from.
    pub platform: PlatformKind,
    /// The kind it was read as.
    pub kind: RecordKind,
    /// Its id, when it has a readable one.
    pub id: Option<String>,
    /// The field at fault, when one is.
    pub field: Option<String>,
    /// What is wrong with it.
    pub reason: String,
    /// The record as the platform sent it.
    pub raw: Value,
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "read {} {} from {}",
            self.kind,
            self.id.as_deref().unwrap_or("without id"),
            self.platform
        )?;
        if let Some(field) = &self.field {
            write!(f, ": field {field}")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// One page of a read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    /// Records read, parents before children (a comment's attachments follow it).
    pub items: Vec<Observed>,
    /// Records that could not be read, with their raw JSON and the reason.
    pub rejected: Vec<Rejected>,
    /// Records the platform reports deleted since the position (Zendesk's incremental export).
    pub deleted: Vec<(RecordKind, PlatformId)>,
    /// Where the bytes of the attachments among `items` can be downloaded.
    pub attachments: Vec<AttachmentSource>,
    /// Where to read on from, once this page is applied. `None` when the stream cannot resume
    /// (a list without change times): the next pass starts over from the beginning.
    pub next: Option<ReadPosition>,
    /// Whether the stream has nothing more right now (poll `next` again later for changes).
    pub done: bool,
}

/// What a write came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    /// A new record was made.
    Created,
    /// A copy made earlier (before a crash, or by hand) was found by its mark or natural key and
    /// nothing was created.
    Found,
    /// An existing record was changed.
    Updated,
}

/// How a platform's API removes a comment from a ticket that stays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CommentRemoval {
    /// Deleted for good (Freshdesk deletes a note).
    Delete,
    /// Its text and files blanked, the comment itself kept (Zendesk can delete none, only
    /// redact one).
    Redact,
    /// Not at all.
    Keep,
}

/// A record written inside another one's write (a ticket's comments, a comment's attachments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenChild {
    /// What it copies.
    pub origin: Origin,
    /// Its id on the target.
    pub id: PlatformId,
}

/// A copy whose children were written with it and are to be matched later
/// ([`Written::children_later`]).
#[derive(Debug, Clone)]
pub struct LaterCopy {
    /// The copy's id on the target.
    pub id: PlatformId,
    /// When it was written, by this machine's clock: a bulk read that shows changes late (Zendesk's
    /// exports leave out their last minute) shows its children from then on.
    pub written_at: DateTime<Utc>,
    /// What was sent, with its children (as [`Connector::found`] takes it).
    pub sent: Outbound,
}

/// Something cutover added to the platform's set-up that no link names (a brand, a ticket type,
/// a group membership): the engine notes it in the ledger `cutover cleanup` removes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetUp {
    /// What it is.
    pub kind: SetupKind,
    /// Its id on the platform (a ticket type's is its name).
    pub id: PlatformId,
    /// What it is, for people: a brand's or type's name, a membership's agent and group.
    pub name: String,
}

/// The answer to a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The record's id on the target.
    pub id: PlatformId,
    /// What happened.
    pub outcome: WriteOutcome,
    /// Records written with it, so the engine links them too.
    pub children: Vec<WrittenChild>,
    /// The record's update time as the platform answered the write (its version once written),
    /// when the answer carries it: the version a later conditional write is made against, and
    /// by which the bridge knows its own write when it reads the record back.
    pub updated_at: Option<DateTime<Utc>>,
    /// What the write added to the platform's set-up besides the record (Zendesk: an agent's
    /// group memberships), so a cleanup removes it too.
    pub set_up: Vec<SetUp>,
    /// The record's children were written with it but the answer does not name their copies
    /// (Zendesk's bulk import answers with ticket ids only): they are matched later, many
    /// copies at a time, by [`Connector::children_later`], instead of read back per record.
    pub children_later: bool,
}

impl Written {
    pub(crate) fn new(id: PlatformId, outcome: WriteOutcome) -> Self {
        Written {
            id,
            outcome,
            children: Vec::new(),
            updated_at: None,
            set_up: Vec::new(),
            children_later: false,
        }
    }

    /// The same, with the update time read from the platform's answer (`body`, JSON): the
    /// record itself (Freshdesk) or the record under its envelope (Zendesk's `{"ticket": …}`).
    pub(crate) fn answered(mut self, body: &[u8]) -> Self {
        self.updated_at = answered_updated_at(body);
        self
    }
}

/// The `updated_at` of the record in a write's answer: at the top (Freshdesk answers the record
/// itself) or in the one envelope object that carries it (Zendesk: `ticket`, `user`, …).
pub(crate) fn answered_updated_at(body: &[u8]) -> Option<DateTime<Utc>> {
    let value: Value = serde_json::from_slice(body).ok()?;
    updated_at_of(&value)
}

/// [`answered_updated_at`] of an answer already parsed.
pub(crate) fn updated_at_of(value: &Value) -> Option<DateTime<Utc>> {
    let parse = |v: &Value| {
        v.get("updated_at")
            .and_then(Value::as_str)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    if let Some(at) = parse(value) {
        return Some(at);
    }
    let object = value.as_object()?;
    object
        .iter()
        .filter(|(key, _)| key.as_str() != "audit")
        .find_map(|(_, v)| parse(v))
}

/// One helpdesk platform, as the engine sees it. Object safe: the engine holds `Arc<dyn Connector>`.
///
/// Reads return per-record trouble in [`Page::rejected`]; an `Err` means the request itself
/// failed (see [`ConnectError::class`]). Writes are idempotent: `create` looks the record up by
/// its mark or natural key first and answers [`WriteOutcome::Found`] when it already exists.
#[async_trait]
pub trait Connector: Send + Sync + fmt::Debug {
    /// Which platform this is.
    fn platform(&self) -> PlatformKind;

    /// Which side of the migration it serves (stamped on every [`Observed`]).
    fn side(&self) -> Side;

    /// What it can do, and its budget as it stands.
    fn capabilities(&self) -> Capabilities;

    /// The rate budget every request of this connector goes through.
    fn budget(&self) -> Arc<RateBudget>;

    /// What the account holds that a plan maps and only the platform's own endpoints say: its
    /// statuses (built-in and custom), priorities, ticket types, brands or products, support
    /// addresses and the user the credentials belong to. Groups, roles, agents and custom fields
    /// are left empty: they are records, read with [`Connector::read_page`].
    async fn discover(&self) -> Result<AccountSnapshot, ConnectError>;

    /// One cheap authenticated read, timed, not retried: the continuity monitor's probe of the
    /// platform's API (Zendesk `GET users/me`, Freshdesk `GET agents/me`). `None` for a
    /// connector that cannot probe.
    async fn probe(&self) -> Option<crate::Probe> {
        None
    }

    /// Who the credentials belong to and what their role allows, read without writing
    /// anything (`cutover doctor`). The default knows nothing: an admin who sees every ticket.
    async fn access(&self) -> Result<crate::Access, ConnectError> {
        Ok(crate::Access {
            user: None,
            role: "unknown".to_owned(),
            admin: true,
            every_ticket: true,
        })
    }

    /// Adds the ticket types `names` that the account does not list yet (case aside), where
    /// the platform lets an account name its own types; returns those added. A platform whose
    /// types are fixed adds none (`plan check` refuses `"create"` there).
    async fn create_ticket_types(&self, names: &[String]) -> Result<Vec<SetUp>, ConnectError> {
        let _ = names;
        Ok(Vec::new())
    }

    /// Adds the brands `names` that the account does not list yet (case aside), where the
    /// platform's API can add one (Zendesk); returns those added. Freshdesk's API cannot add a
    /// product: it adds none (`plan check` refuses `"create"` there).
    async fn create_brands(&self, names: &[String]) -> Result<Vec<SetUp>, ConnectError> {
        let _ = names;
        Ok(Vec::new())
    }

    /// Reads the page of `kind` at `position` (`ReadPosition::start()` for everything).
    async fn read_page(
        &self,
        kind: RecordKind,
        position: &ReadPosition,
    ) -> Result<Page, ConnectError>;

    /// Reads records of `kind` that belong to one ticket (comments with their attachments).
    async fn read_children(
        &self,
        kind: RecordKind,
        ticket: &PlatformId,
        position: &ReadPosition,
    ) -> Result<Page, ConnectError>;

    /// Reads the children (comments, each followed by its attachments) of many tickets at
    /// once, where the platform has a bulk read of them (Zendesk's ticket events export): for
    /// each of `tickets` it can read whole, one page holding all its children, as
    /// [`Connector::read_children`] would give them. The tickets left out are read per ticket.
    /// Asked with the tickets of a page just read, in the order the platform lists them. The
    /// default reads nothing in bulk.
    async fn read_children_of_many(
        &self,
        tickets: &[PlatformId],
    ) -> Result<Vec<(PlatformId, Page)>, ConnectError> {
        let _ = tickets;
        Ok(Vec::new())
    }

    /// Reads one record of `kind` by its id (an empty page when it is gone). Verification asks
    /// for the linked records a bulk read did not show: a change feed that leaves out its last
    /// minute (Zendesk's exports) has not shown them yet. The default reads nothing: a connector
    /// whose bulk reads are never behind needs no more.
    async fn read_one(&self, kind: RecordKind, id: &PlatformId) -> Result<Page, ConnectError> {
        let _ = (kind, id);
        Ok(Page {
            done: true,
            ..Page::default()
        })
    }

    /// Reads records of `kind` by id, as many to a request as the platform reads at once (its
    /// `show_many`), else one by one ([`Connector::read_one`]); a record gone is left out. The
    /// bridge's rolling re-check reads the records changed lately so.
    async fn read_many(&self, kind: RecordKind, ids: &[PlatformId]) -> Result<Page, ConnectError> {
        let mut all = Page {
            done: true,
            ..Page::default()
        };
        for id in ids {
            let page = self.read_one(kind, id).await?;
            all.items.extend(page.items);
            all.rejected.extend(page.rejected);
            all.deleted.extend(page.deleted);
            all.attachments.extend(page.attachments);
        }
        Ok(all)
    }

    /// The page where a person sees record `id` of `kind` on this platform (its agent-facing
    /// address), when the platform has one for that kind. Reports link to it.
    fn record_url(&self, kind: RecordKind, id: &PlatformId) -> Option<url::Url> {
        let _ = (kind, id);
        None
    }

    /// How many creates of `kind` the platform takes in one request (a bulk create), which a
    /// create marked [`Outbound::batch`] may wait to go out with: 1 where there is none (the
    /// default). A backfill keeps that many records of the kind in flight, so batches fill.
    fn create_batch(&self, kind: RecordKind) -> usize {
        let _ = kind;
        1
    }

    /// How many records of `kind` the platform holds, when it says so cheaply (one request):
    /// the total a progress bar's ETA needs. `None` when it does not.
    async fn count(&self, kind: RecordKind) -> Result<Option<u64>, ConnectError> {
        let _ = kind;
        Ok(None)
    }

    /// Finds a copy of `outbound` on this platform by its mark or natural key (external id,
    /// e-mail, name), without writing anything. Lookups read the records themselves (lists
    /// filtered by a key the platform keeps unique, a ticket's requester's tickets), never only
    /// a search index, which sees a write minutes late: a copy made a moment ago is found.
    async fn find_by_origin(&self, outbound: &Outbound)
    -> Result<Option<PlatformId>, ConnectError>;

    /// Checks, without sending anything, that [`Connector::create`] would send `outbound`
    /// when no copy exists: its kind writable, every reference it needs resolved, its files
    /// within the platform's limits. The error is the one `create` would answer. A dry run asks
    /// this where a real run would create, so its counts predict the real run's.
    fn check_create(&self, outbound: &Outbound) -> Result<(), ConnectError> {
        let _ = outbound;
        Ok(())
    }

    /// Checks, without sending anything, that [`Connector::upload`] would take `file` (its
    /// size within the platform's cap): the error `upload` would answer.
    fn check_upload(&self, file: &FileUpload) -> Result<(), ConnectError> {
        let _ = file;
        Ok(())
    }

    /// Creates `outbound`. When [`Outbound::may_exist`] says a copy may exist (and always for
    /// records matched by a natural key) it first looks with [`Connector::find_by_origin`]; a
    /// create answered "already exists", or whose answer was lost, is looked up too. A copy
    /// found is answered as [`Connector::found`] does.
    async fn create(&self, outbound: &Outbound) -> Result<Written, ConnectError>;

    /// Completes a copy of `outbound` (as it was sent) that [`Connector::find_by_origin`]
    /// found as `id`: the children it was written with (a ticket's comments and their files, a
    /// comment's files) are matched to the copy's, and what a crash may have cut short is done
    /// (an agent's group memberships). Answers [`WriteOutcome::Found`].
    async fn found(&self, id: &PlatformId, outbound: &Outbound) -> Result<Written, ConnectError>;

    /// Matches the children of copies that were written with them ([`Written::children_later`])
    /// to their originals: in bulk where the platform can (Zendesk's ticket events export, which
    /// shows a write a minute late), so no copy is read back alone. Answers each copy whose
    /// children it matched, with them; the others are asked again later. With `finish`, every
    /// copy is answered, what the bulk read does not show yet read per copy (or waited for,
    /// when that spares many requests). The default reads each copy as [`Connector::found`]
    /// does, with `finish` only.
    async fn children_later(
        &self,
        copies: &[LaterCopy],
        finish: bool,
    ) -> Result<Vec<(PlatformId, Vec<WrittenChild>)>, ConnectError> {
        let mut matched = Vec::new();
        if finish {
            for copy in copies {
                let written = self.found(&copy.id, &copy.sent).await?;
                matched.push((copy.id.clone(), written.children));
            }
        }
        Ok(matched)
    }

    /// Overwrites record `id` with the content of `outbound`.
    async fn update(&self, id: &PlatformId, outbound: &Outbound) -> Result<Written, ConnectError>;

    /// Uploads a file to attach to a comment (or holds it, see [`crate::UploadMode`]).
    async fn upload(&self, file: FileUpload) -> Result<UploadRef, ConnectError>;

    /// Downloads an attachment's bytes and checks their size.
    async fn download(&self, source: &AttachmentSource) -> Result<Downloaded, ConnectError>;

    /// Overwrites record `id` with `outbound` only if the platform still holds the version
    /// cutover last saw (`seen`, the record's update time as read): the bridge's write, never a
    /// blind one. A record changed since is left alone and answered
    /// [`ConnectError::Conflict`] (class [`crate::ErrorClass::Conflict`]): read it again and
    /// decide by the conflict rules. The default reads the record just before writing and
    /// compares its update time (to the second, the precision both platforms show); a connector
    /// whose platform checks the version in the write itself (Zendesk's `safe_update`) does that
    /// instead, which leaves no window between the check and the write.
    async fn update_if(
        &self,
        id: &PlatformId,
        outbound: &Outbound,
        seen: DateTime<Utc>,
    ) -> Result<Written, ConnectError> {
        update_after_read(self, id, outbound, seen).await
    }

    /// Deletes record `id` of `kind` the way the platform's own agents would (Zendesk and
    /// Freshdesk keep a deleted ticket restorable for 30 days): a delete seen on the other side,
    /// applied here. A record already gone is not an error. The default deletes nothing.
    async fn delete(&self, kind: RecordKind, id: &PlatformId) -> Result<(), ConnectError> {
        Err(ConnectError::Unsupported {
            op: format!("delete {kind} {id} on {}", self.platform()),
            platform: self.platform(),
            what: format!("delete a {kind} through cutover"),
        })
    }

    /// Deletes record `id` of `kind` that cutover created (`cutover cleanup`'s delete): as
    /// [`Connector::delete`] does, then for good where the platform keeps a deleted record that a
    /// later copy would collide with (a person, by e-mail or external id). The default is
    /// [`Connector::delete`].
    async fn delete_created(&self, kind: RecordKind, id: &PlatformId) -> Result<(), ConnectError> {
        self.delete(kind, id).await
    }

    /// Why [`Connector::delete`] cannot remove record `id` of `kind` from the platform (its API
    /// has no such delete), or `None` when it can. Asked before anything is deleted, so a
    /// cleanup's dry run lists what it will leave. The default deletes nothing.
    fn undeletable(&self, kind: RecordKind, _id: &PlatformId) -> Option<String> {
        Some(format!("cutover deletes no {kind} on {}", self.platform()))
    }

    /// What cutover set up on the platform for its own use and that no record of the move
    /// names, found by cutover's own names (Freshdesk: the ticket fields `cf_cutover_*` that hold
    /// each copy's origin): removed by a cleanup after everything else, as records of `kind`
    /// with [`Connector::delete_created`]. The default is none.
    async fn own_setup(&self) -> Result<Vec<(RecordKind, PlatformId)>, ConnectError> {
        Ok(Vec::new())
    }

    /// Removes set-up item `id` of `kind` that cutover added (`cutover cleanup`): a brand, a
    /// ticket type, a group membership. One already gone is not an error. The default removes
    /// nothing.
    async fn delete_setup(&self, kind: SetupKind, id: &PlatformId) -> Result<(), ConnectError> {
        Err(ConnectError::Unsupported {
            op: format!("remove {kind} {id} on {}", self.platform()),
            platform: self.platform(),
            what: format!("remove a {kind}"),
        })
    }

    /// Whether an update of a ticket ([`Connector::update`], [`Connector::update_if`]) writes
    /// one new comment given as its outbound's only child in the same request, and answers that
    /// comment's id in [`Written::children`] (Zendesk: `PUT /tickets/{id}` with the fields and
    /// a `comment`, whose audit names it): one request instead of two for a change that set
    /// fields and added a comment. The default writes none with an update.
    fn comment_with_update(&self) -> bool {
        false
    }

    /// How the platform's API removes a comment cutover added to a ticket it did not create
    /// (one that goes with its ticket needs nothing). The default removes none.
    fn comment_removal(&self) -> CommentRemoval {
        CommentRemoval::Keep
    }

    /// Removes comment `comment` of ticket `ticket` as [`Connector::comment_removal`] says: a
    /// comment already gone is not an error. The default removes nothing.
    async fn remove_comment(
        &self,
        ticket: &PlatformId,
        comment: &PlatformId,
    ) -> Result<(), ConnectError> {
        Err(ConnectError::Unsupported {
            op: format!(
                "remove comment {comment} of ticket {ticket} on {}",
                self.platform()
            ),
            platform: self.platform(),
            what: "remove a comment".to_owned(),
        })
    }

    /// Merges the tickets `sources` into ticket `into`, as the platform's own agents do (each
    /// source closed with the platform's merge note, the target given one naming them): a merge
    /// seen on the other side, applied here. The connector reads such a merge back as the
    /// source's `Ticket::merged_into`. The default merges nothing.
    async fn merge(&self, into: &PlatformId, sources: &[PlatformId]) -> Result<(), ConnectError> {
        Err(ConnectError::Unsupported {
            op: format!(
                "merge {} ticket(s) into ticket {into} on {}",
                sources.len(),
                self.platform()
            ),
            platform: self.platform(),
            what: "merge tickets through cutover".to_owned(),
        })
    }

    /// Registers the hooks that tell cutover of changes as they happen, delivering to
    /// `endpoint` with `secret` (Zendesk: a signing webhook and the triggers that call it;
    /// Freshdesk: automation rules whose webhook action carries the secret in a header).
    /// Idempotent: hooks an earlier setup made (found by their name, [`crate::webhook::hook_prefix`])
    /// are brought up to date, never doubled. The default registers nothing.
    async fn setup_hooks(
        &self,
        endpoint: &url::Url,
        secret: &WebhookSecret,
    ) -> Result<HookChanges, ConnectError> {
        let _ = (endpoint, secret);
        Err(ConnectError::Unsupported {
            op: format!("set up hooks on {}", self.platform()),
            platform: self.platform(),
            what: "register webhooks through cutover".to_owned(),
        })
    }

    /// Removes exactly the hooks [`Connector::setup_hooks`] made on this side (found by their
    /// name), and nothing else; safe to run twice (the second run removes nothing).
    async fn teardown_hooks(&self) -> Result<HookChanges, ConnectError> {
        Err(ConnectError::Unsupported {
            op: format!("tear down hooks on {}", self.platform()),
            platform: self.platform(),
            what: "register webhooks through cutover".to_owned(),
        })
    }

    /// Whether the platform's own rules keep the bridge's writes from e-mailing customers, read
    /// now (Zendesk: every active trigger that e-mails the requester or the CCs carries the
    /// condition `cutover sync setup` adds). `None` where the platform has no such rules to
    /// read (the default). The connector keeps the answer: where it is quiet, the public
    /// replies it writes are public.
    async fn check_quiet(&self) -> Result<Option<crate::webhook::QuietCheck>, ConnectError> {
        Ok(None)
    }

    /// The ticket a gateway contact opened, found by its mark ([`InboundMessage::mark`]) among
    /// the records themselves (never a search index): what is asked before a create whose
    /// answer was lost is tried again. The default finds nothing.
    async fn find_inbound(
        &self,
        message: &InboundMessage,
    ) -> Result<Option<PlatformId>, ConnectError> {
        let _ = message;
        Err(ConnectError::Unsupported {
            op: "find a ticket the gateway opened".to_owned(),
            platform: self.platform(),
            what: "take contacts from cutover's gateway".to_owned(),
        })
    }

    /// Opens a ticket for a customer's message, marked with it. Sent once: trouble of unknown
    /// outcome comes back as an error, and the caller looks up ([`Connector::find_inbound`])
    /// before trying again.
    async fn open_inbound(&self, message: &InboundMessage) -> Result<PlatformId, ConnectError> {
        let _ = message;
        Err(ConnectError::Unsupported {
            op: "open a ticket for a gateway contact".to_owned(),
            platform: self.platform(),
            what: "take contacts from cutover's gateway".to_owned(),
        })
    }

    /// Adds a customer's message to ticket `ticket` as the requester's public reply, unless the
    /// ticket is closed or gone (then says so, and adds nothing).
    async fn follow_up_inbound(
        &self,
        ticket: &PlatformId,
        message: &InboundMessage,
    ) -> Result<FollowUp, ConnectError> {
        let _ = (ticket, message);
        Err(ConnectError::Unsupported {
            op: "add a gateway contact to a ticket".to_owned(),
            platform: self.platform(),
            what: "take contacts from cutover's gateway".to_owned(),
        })
    }

    /// Makes agent `agent` a member of group `group` (`member`) or not, as the platform's own
    /// admins do (Zendesk: `POST`/`DELETE /api/v2/group_memberships`; Freshdesk: the agent's
    /// `group_ids`); answers whether anything changed (doing it twice changes nothing the
    /// second time). Used by a wave's switch; never deletes an agent. The default cannot.
    async fn set_group_member(
        &self,
        agent: &PlatformId,
        group: &PlatformId,
        member: bool,
    ) -> Result<bool, ConnectError> {
        let _ = (agent, group, member);
        Err(ConnectError::Unsupported {
            op: "change a group membership".to_owned(),
            platform: self.platform(),
            what: "change group memberships through cutover".to_owned(),
        })
    }

    /// Switches rule `id` (a record of `kind`: a trigger, automation or macro) on or off
    /// (Zendesk: `PUT /api/v2/triggers/{id}` and the like with `active`; Freshdesk: an
    /// automation rule's `active`); answers whether anything changed. The default cannot.
    async fn set_rule_active(
        &self,
        kind: RecordKind,
        id: &PlatformId,
        active: bool,
    ) -> Result<bool, ConnectError> {
        let _ = (id, active);
        Err(ConnectError::Unsupported {
            op: format!("switch a {kind} on or off"),
            platform: self.platform(),
            what: format!("switch a {kind} on or off through its API"),
        })
    }

    /// Checks a webhook delivery against `secret` (Zendesk: its signature; Freshdesk: its
    /// secret header) and says which records it names as changed. A delivery that fails the
    /// check, or that cannot be read, is an error naming why (the intake answers 4xx and keeps
    /// it in the dead letters). The default takes no deliveries.
    fn accept_webhook(
        &self,
        delivery: &Delivery<'_>,
        secret: &WebhookSecret,
    ) -> Result<Vec<ChangeHint>, ConnectError> {
        let _ = (delivery, secret);
        Err(ConnectError::Unsupported {
            op: "accept a webhook delivery".to_owned(),
            platform: self.platform(),
            what: "deliver webhooks to cutover".to_owned(),
        })
    }
}

/// [`Connector::update_if`] by reading the record just before writing: the check any platform
/// allows, with a window between the read and the write as short as two requests.
pub async fn update_after_read<C: Connector + ?Sized>(
    connector: &C,
    id: &PlatformId,
    outbound: &Outbound,
    seen: DateTime<Utc>,
) -> Result<Written, ConnectError> {
    let kind = outbound.record.kind();
    let page = connector.read_one(kind, id).await?;
    let current = page
        .items
        .iter()
        .find(|o| &o.id == id)
        .and_then(|o| o.updated_at);
    if current.is_some_and(|now| now.timestamp() == seen.timestamp()) {
        return connector.update(id, outbound).await;
    }
    let gone = page.deleted.iter().any(|(_, d)| d == id);
    Err(ConnectError::Conflict {
        op: format!(
            "update {kind} {id} on {} if unchanged",
            connector.platform()
        ),
        platform: connector.platform(),
        seen: seen.to_rfc3339(),
        current: match (current, gone) {
            (Some(now), _) => now.to_rfc3339(),
            (None, true) => "deleted".to_owned(),
            (None, false) => "unknown".to_owned(),
        },
    })
}
