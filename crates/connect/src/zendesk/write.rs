//! Writing to Zendesk: lookups before creates, tickets through the import API (original times and
//! authors, no notifications), comments on existing tickets, uploads and downloads.

use std::sync::Arc;

use cutover_model::records::{Comment, ConfigRecord, Record, Ticket};
use cutover_model::{PlatformId, PlatformKind, RecordKind, SetupKind};
use reqwest::Method;
use reqwest::header::HeaderName;
use serde_json::Value;

use super::ZendeskConnector;
use super::bodies;
use super::bulk;
use super::lookup;
use crate::connector::{SetUp, WriteOutcome, Written, WrittenChild};
use crate::error::{ConnectError, ErrorClass};
use crate::fields::decode_body;
use crate::header;
use crate::http::{Body, Request, Retry};
use crate::inline;
use crate::outbound::TicketIds;
use crate::outbound::{Outbound, UploadHandle};

const ZENDESK: PlatformKind = PlatformKind::Zendesk;
const AGENT_OR_CONTACT: &[RecordKind] = &[RecordKind::Agent, RecordKind::Contact];

/// What a create request came to.
pub(super) enum Posted {
    Created(Value),
    Found(PlatformId),
}

/// A time as Zendesk writes `updated_at` (and reads `updated_stamp`).
fn stamp(time: chrono::DateTime<chrono::Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn unsupported(op: &str, what: &str) -> ConnectError {
    ConnectError::Unsupported {
        op: op.to_owned(),
        platform: ZENDESK,
        what: what.to_owned(),
    }
}

fn malformed(op: &str, detail: impl Into<String>) -> ConnectError {
    ConnectError::Malformed {
        op: op.to_owned(),
        detail: detail.into(),
    }
}

/// A comment refused because its ticket is closed on the target: Zendesk never changes a closed
/// ticket, so say that no retry can succeed (the comment was not imported with its ticket, most
/// often because the source could not read it then). Other errors pass unchanged.
fn on_closed_ticket(error: ConnectError, outbound: &Outbound) -> ConnectError {
    match error {
        ConnectError::Http {
            op,
            status: 422,
            message,
            ..
        } if matches!(outbound.record, Record::Comment(_))
            && message.to_ascii_lowercase().contains("closed") =>
        {
            ConnectError::Http {
                op,
                status: 422,
                message: format!(
                    "{message}: its ticket is closed on the target and Zendesk never changes a \
                     closed ticket, so no retry can add this comment (it was not imported with \
                     its ticket, most often because the source could not read it then); add it \
                     by hand, or drop this dead letter"
                ),
                class: ErrorClass::Permanent,
            }
        }
        other => other,
    }
}

/// The `id` of the record under `envelope` in a create or update answer.
pub(super) fn created_id(
    op: &str,
    body: &Value,
    envelope: &str,
) -> Result<PlatformId, ConnectError> {
    match body.get(envelope).and_then(|r| r.get("id")) {
        Some(Value::Number(n)) => n
            .as_u64()
            .map(PlatformId::from)
            .ok_or_else(|| malformed(op, "id is not a whole number")),
        Some(Value::String(s)) => {
            PlatformId::parse(s.clone()).map_err(|e| malformed(op, e.to_string()))
        }
        _ => Err(malformed(op, format!("no {envelope}.id in the answer"))),
    }
}

impl ZendeskConnector {
    /// Sends a create that must not run twice: retried only when surely unsent, and after any
    /// trouble of unknown outcome the record is looked up before trying again.
    pub(super) async fn post_once(
        &self,
        outbound: &Outbound,
        op: &str,
        request: Request,
    ) -> Result<Posted, ConnectError> {
        let request = request.retry(Retry::ThrottleOnly);
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.api.http.send(op, &request).await {
                // `create_or_update` answers 200 when it matched a record already there (by
                // external id or e-mail): that one was found, not created, and cleanup must
                // never take it for cutover's own.
                Ok(response) if response.status == 200 && is_upsert(&request) => {
                    let body = decode_body(op, &response.body)?.0;
                    let id = body
                        .as_object()
                        .and_then(|o| o.values().next())
                        .and_then(|record| record.get("id"))
                        .and_then(|id| id.as_u64().map(PlatformId::from))
                        .ok_or_else(|| malformed(op, "no id in the create_or_update answer"))?;
                    return Ok(Posted::Found(id));
                }
                Ok(response) => return Ok(Posted::Created(decode_body(op, &response.body)?.0)),
                Err(e) if e.is_transient() && attempt < self.retry.max_attempts => {
                    tokio::time::sleep(self.retry.backoff_now(attempt)).await;
                    if let Some(id) = lookup::find(self, outbound).await? {
                        return Ok(Posted::Found(id));
                    }
                    tracing::debug!(op, attempt, error = %e, "Create failed with unknown outcome and no copy exists; trying again");
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Sends a create with the others of its batch (`bulk.rs`). A record the job refused is
    /// sent again alone, so its error is the single create's; one whose batch was lost is looked
    /// up first.
    async fn post_in_batch(
        &self,
        outbound: &Outbound,
        op: &str,
        request: Request,
        envelope: &str,
    ) -> Result<Posted, ConnectError> {
        match self
            .create_in_batch(outbound.record.kind(), op, &request)
            .await?
        {
            bulk::Slot::Updated(id) => Ok(Posted::Found(id)),
            bulk::Slot::Created(id) => Ok(Posted::Created(
                serde_json::json!({ envelope: { "id": bodies::id_json(&id) } }),
            )),
            bulk::Slot::Refused(reason) => {
                tracing::debug!(
                    op,
                    reason,
                    "The bulk job refused the record; sending it alone."
                );
                self.post_once(outbound, op, request).await
            }
            bulk::Slot::Lost => match lookup::find(self, outbound).await? {
                Some(id) => Ok(Posted::Found(id)),
                None => self.post_once(outbound, op, request).await,
            },
        }
    }

    /// Creates `outbound` unless a copy exists: looked for first when one may exist, and after
    /// a create answered "already exists" (409).
    pub(crate) async fn create_record(&self, outbound: &Outbound) -> Result<Written, ConnectError> {
        let op = outbound.op("create", ZENDESK);
        if outbound.look_first()
            && let Some(id) = lookup::find(self, outbound).await?
        {
            return self.complete_found(outbound, id, &op).await;
        }
        if let Some(written) = self.create_rule(outbound, &op).await? {
            return Ok(written);
        }
        self.know_ticket_brand(outbound).await?;
        if matches!(&outbound.record, Record::Comment(c) if c.public) {
            // Public only while no trigger would e-mail it (read again when stale).
            self.quiet_now().await;
        }
        let (request, envelope) = self.create_request(outbound, &op)?;
        let posted = if outbound.batch && bulk::bulk_endpoint(outbound.record.kind()).is_some() {
            self.post_in_batch(outbound, &op, request, envelope).await
        } else {
            self.post_once(outbound, &op, request).await
        };
        let body = match posted {
            Ok(Posted::Found(id)) => return self.complete_found(outbound, id, &op).await,
            Ok(Posted::Created(body)) => body,
            Err(e) if e.status() == Some(409) => match lookup::find(self, outbound).await? {
                Some(id) => return self.complete_found(outbound, id, &op).await,
                None => return Err(e),
            },
            Err(e) => return Err(on_closed_ticket(e, outbound)),
        };
        let mut written = match &outbound.record {
            Record::Comment(_) => self.written_comment(&op, &body, outbound)?,
            _ => Written::new(created_id(&op, &body, envelope)?, WriteOutcome::Created),
        };
        written.updated_at = crate::connector::updated_at_of(&body);
        if matches!(outbound.record, Record::Ticket(_)) && !outbound.children.is_empty() {
            if outbound.batch {
                // A backfill's import: its comments are matched later with many others' from
                // the ticket events export (`later_links.rs`), not read back one ticket a request.
                written.children_later = true;
            } else {
                // The import answers with the ticket only: read its comments back to link them.
                written.children = lookup::match_children(self, &written.id, outbound).await?;
            }
        }
        written.set_up = self.ensure_memberships(outbound, &written.id, &op).await?;
        Ok(written)
    }

    /// A record found by lookup: a ticket's comments (with their files) and a comment's files
    /// are matched to the outbound's, an agent's memberships completed (a crash may have come
    /// between the user and its groups).
    pub(crate) async fn complete_found(
        &self,
        outbound: &Outbound,
        id: PlatformId,
        op: &str,
    ) -> Result<Written, ConnectError> {
        let mut written = Written::new(id, WriteOutcome::Found);
        match &outbound.record {
            Record::Ticket(_) if !outbound.children.is_empty() => {
                written.children = lookup::match_children(self, &written.id, outbound).await?;
            }
            Record::Comment(_) if !outbound.uploads.is_empty() => {
                written.children = lookup::comment_files(self, &written.id, outbound).await?;
            }
            _ => {}
        }
        written.set_up = self.ensure_memberships(outbound, &written.id, op).await?;
        Ok(written)
    }

    /// An agent's group memberships (added; a membership that exists answers 422, which is
    /// fine). Returns those added, so a cleanup removes exactly these (never one the agent had).
    async fn ensure_memberships(
        &self,
        outbound: &Outbound,
        user: &PlatformId,
        op: &str,
    ) -> Result<Vec<SetUp>, ConnectError> {
        let Record::Agent(agent) = &outbound.record else {
            return Ok(Vec::new());
        };
        let mut added = Vec::new();
        for group in &agent.groups {
            let group_id = outbound
                .targets
                .require(op, "groups", &[RecordKind::Group], group)?;
            let body = serde_json::json!({"group_membership": {
                "user_id": bodies::id_json(user), "group_id": bodies::id_json(&group_id)}});
            let request = Request::new(Method::POST, "group_memberships.json").json(body);
            match self.api.http.send(op, &request).await {
                Err(e) if e.status() == Some(422) => {}
                Err(e) => return Err(e),
                Ok(answer) => {
                    let body: Value = serde_json::from_slice(&answer.body)
                        .map_err(|e| malformed(op, e.to_string()))?;
                    added.push(SetUp {
                        kind: SetupKind::GroupMembership,
                        id: created_id(op, &body, "group_membership")?,
                        name: format!("agent {user} in group {group_id}"),
                    });
                }
            }
        }
        Ok(added)
    }

    /// The create request of a record and the envelope key of its answer.
    pub(super) fn create_request(
        &self,
        outbound: &Outbound,
        op: &str,
    ) -> Result<(Request, &'static str), ConnectError> {
        let mark = outbound.origin.mark();
        let targets = &outbound.targets;
        let post = |path: &str, body: Value| Request::new(Method::POST, path).json(body);
        Ok(match &outbound.record {
            Record::Organization(org) => (
                post(
                    "organizations/create_or_update.json",
                    bodies::organization(org, &mark),
                ),
                "organization",
            ),
            Record::Contact(contact) => {
                let org = targets.require_opt(
                    op,
                    "organization",
                    &[RecordKind::Organization],
                    contact.organization.as_ref(),
                )?;
                (
                    post(
                        "users/create_or_update.json",
                        bodies::contact(contact, org.as_ref(), &mark),
                    ),
                    "user",
                )
            }
            Record::Agent(agent) => {
                let role =
                    targets.require_opt(op, "role", &[RecordKind::Role], agent.role.as_ref())?;
                // Groups are written after the user: all must resolve before it is created.
                for group in &agent.groups {
                    targets.require(op, "groups", &[RecordKind::Group], group)?;
                }
                (
                    post(
                        "users/create_or_update.json",
                        bodies::agent(agent, role.as_ref(), &mark),
                    ),
                    "user",
                )
            }
            Record::Group(group) => (post("groups.json", bodies::group(group)), "group"),
            Record::Role(role) => (post("custom_roles.json", bodies::role(role)), "custom_role"),
            Record::CustomField(def) => {
                let (path, envelope) = bodies::field_endpoint(def.target);
                (
                    post(&format!("{path}.json"), bodies::custom_field(def)),
                    envelope,
                )
            }
            Record::Ticket(ticket) => (self.import_request(ticket, outbound, op)?, "ticket"),
            Record::Comment(comment) => {
                let ticket =
                    targets.require(op, "ticket", &[RecordKind::Ticket], &comment.ticket)?;
                let body = self.comment_body(comment, outbound, op)?;
                (
                    Request::new(Method::PUT, format!("tickets/{ticket}.json")).json(body),
                    "audit",
                )
            }
            Record::Attachment(_) => {
                return Err(unsupported(
                    op,
                    "add a file to an existing comment: upload it and name it in the comment",
                ));
            }
            Record::SatisfactionRating(_) => {
                return Err(unsupported(
                    op,
                    "write satisfaction ratings: only the requester can rate",
                ));
            }
            Record::ChannelConfig(c) => {
                let (path, envelope, body) = bodies::config(c);
                (post(&format!("{path}.json"), body), envelope)
            }
            Record::Macro(_)
            | Record::Automation(_)
            | Record::SlaPolicy(_)
            | Record::View(_)
            | Record::TicketForm(_) => {
                return Err(unsupported(
                    op,
                    "write a rule through the plain create path",
                ));
            }
        })
    }

    /// `POST /imports/tickets` with the children as comments: original times, authors and
    /// visibility, and no trigger or notification fires.
    fn import_request(
        &self,
        ticket: &Ticket,
        outbound: &Outbound,
        op: &str,
    ) -> Result<Request, ConnectError> {
        let mut ids = TicketIds::resolve(ticket, outbound, op)?;
        ids.brand = self.brands.id_of(ticket.brand.as_deref());
        let mut comments = Vec::with_capacity(outbound.children.len());
        for child in &outbound.children {
            let Record::Comment(comment) = &child.record else {
                continue;
            };
            let child_op = child.op("import", ZENDESK);
            let author =
                child
                    .targets
                    .require(&child_op, "author", AGENT_OR_CONTACT, &comment.author)?;
            let mut html = inline::to_target(&comment.html_body, &child.uploads);
            // The plan asks for header lines, or the comment is written as the plan's stand-in
            // for its author: the header line names the original author and time.
            if self.headers_on_imports || child.history.author.is_some() {
                let line = header::header(
                    &child.origin,
                    &comment.created_at,
                    comment.public,
                    child.history.author.as_deref(),
                );
                html = format!("{line}{html}");
            }
            comments.push(bodies::import_comment(
                comment,
                &author,
                &html,
                &tokens(child),
            ));
        }
        let mark = outbound.origin.mark();
        let body = bodies::ticket_import(
            ticket,
            &ids,
            &mark,
            outbound.history.updated_at.as_ref(),
            comments,
        );
        let mut request = Request::new(Method::POST, "imports/tickets.json").json(body);
        if self.archive_closed && ticket.status == "closed" {
            request = request.query("archive_immediately", "true");
        }
        let key =
            blake3::hash(format!("{mark}\0{}", outbound.record.fingerprint()).as_bytes()).to_hex();
        Ok(request.header(
            HeaderName::from_static("idempotency-key"),
            format!("cutover-{}", &key[..32]),
        ))
    }

    /// A comment added to an existing ticket. Zendesk gives it the time of the write, so it
    /// carries a header line with its mark, original time and author (read back as the comment it
    /// copies, and found by its mark after a crash). A public reply is written public while the
    /// triggers were last read to be quiet for the bridge's writes (`quiet.rs`): the customer
    /// sees it on the ticket, and no trigger e-mails it. Else it is kept private, the header
    /// saying it was public, so nobody is e-mailed a second time.
    fn comment_body(
        &self,
        comment: &Comment,
        outbound: &Outbound,
        op: &str,
    ) -> Result<Value, ConnectError> {
        let author = outbound
            .targets
            .require(op, "author", AGENT_OR_CONTACT, &comment.author)?;
        let tokens = tokens(outbound);
        let html_body = inline::to_target(&comment.html_body, &outbound.uploads);
        let line = header::header(
            &outbound.origin,
            &comment.created_at,
            comment.public,
            outbound.history.author.as_deref(),
        );
        let html = format!("{line}{html_body}");
        let public = comment.public && self.quiet.is_quiet();
        Ok(bodies::comment_update(&html, public, &author, &tokens))
    }

    /// The comment and attachment ids in the audit of a comment update.
    fn written_comment(
        &self,
        op: &str,
        body: &Value,
        outbound: &Outbound,
    ) -> Result<Written, ConnectError> {
        let events = body
            .get("audit")
            .and_then(|a| a.get("events"))
            .and_then(Value::as_array);
        let event = events
            .into_iter()
            .flatten()
            .find(|e| e.get("type").and_then(Value::as_str) == Some("Comment"))
            .ok_or_else(|| malformed(op, "no Comment event in the audit"))?;
        let id = created_id(op, &serde_json::json!({ "event": event }), "event")?;
        let mut written = Written::new(id, WriteOutcome::Created);
        written.children = attachment_children(event, outbound);
        Ok(written)
    }

    /// Overwrites record `id` with `outbound`'s content.
    pub(crate) async fn update_record(
        &self,
        id: &PlatformId,
        outbound: &Outbound,
    ) -> Result<Written, ConnectError> {
        self.update_ticket_or_record(id, outbound, None).await
    }

    /// Overwrites ticket `id` only if Zendesk still holds it as updated at `seen`: the update
    /// carries `safe_update` and `updated_stamp`, and Zendesk answers 409 when the ticket
    /// changed since, in the same request as the write (no window between check and write).
    pub(crate) async fn update_ticket_if(
        &self,
        id: &PlatformId,
        outbound: &Outbound,
        seen: chrono::DateTime<chrono::Utc>,
    ) -> Result<Written, ConnectError> {
        match self.update_ticket_or_record(id, outbound, Some(seen)).await {
            Err(e) if e.status() == Some(409) => Err(ConnectError::Conflict {
                op: format!("update ticket {id} on zendesk if unchanged"),
                platform: ZENDESK,
                seen: stamp(seen),
                current: "newer (safe_update answered 409)".to_owned(),
            }),
            other => other,
        }
    }

    /// Reads the account's brands when the ticket of `outbound` names one it does not hold.
    async fn know_ticket_brand(&self, outbound: &Outbound) -> Result<(), ConnectError> {
        if let Record::Ticket(ticket) = &outbound.record
            && let Some(brand) = &ticket.brand
        {
            self.know_brands(std::slice::from_ref(brand), false).await?;
        }
        Ok(())
    }

    async fn update_ticket_or_record(
        &self,
        id: &PlatformId,
        outbound: &Outbound,
        seen: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Written, ConnectError> {
        let op = format!("update {} {id} on zendesk", outbound.record.kind());
        if let Some(request) = self.rule_update(id, outbound, &op).await? {
            self.api.http.send(&op, &request).await?;
            return Ok(Written::new(id.clone(), WriteOutcome::Updated));
        }
        self.know_ticket_brand(outbound).await?;
        let mark = outbound.origin.mark();
        let targets = &outbound.targets;
        let put = |path: String, body: Value| Request::new(Method::PUT, path).json(body);
        let request = match &outbound.record {
            Record::Organization(org) => put(
                format!("organizations/{id}.json"),
                bodies::organization(org, &mark),
            ),
            Record::Contact(contact) => {
                let org = targets.require_opt(
                    &op,
                    "organization",
                    &[RecordKind::Organization],
                    contact.organization.as_ref(),
                )?;
                put(
                    format!("users/{id}.json"),
                    bodies::contact(contact, org.as_ref(), &mark),
                )
            }
            Record::Agent(agent) => {
                let role =
                    targets.require_opt(&op, "role", &[RecordKind::Role], agent.role.as_ref())?;
                put(
                    format!("users/{id}.json"),
                    bodies::agent(agent, role.as_ref(), &mark),
                )
            }
            Record::Group(group) => put(format!("groups/{id}.json"), bodies::group(group)),
            Record::Role(_) if id.as_str().parse::<u64>().is_err() => {
                return Err(unsupported(&op, "change a built-in role"));
            }
            Record::Role(role) => put(format!("custom_roles/{id}.json"), bodies::role(role)),
            Record::CustomField(def) => {
                let (path, _) = bodies::field_endpoint(def.target);
                put(format!("{path}/{id}.json"), bodies::custom_field(def))
            }
            Record::Ticket(ticket) => {
                let mut ids = TicketIds::resolve(ticket, outbound, &op)?;
                ids.brand = self.brands.id_of(ticket.brand.as_deref());
                let mut body = bodies::ticket_update(ticket, &ids);
                if let Some(comment) = self.comment_of_update(outbound, &op).await? {
                    body["ticket"]["comment"] = comment;
                }
                if let Some(seen) = seen
                    && let Some(fields) = body.get_mut("ticket").and_then(Value::as_object_mut)
                {
                    fields.insert("safe_update".to_owned(), Value::Bool(true));
                    fields.insert("updated_stamp".to_owned(), Value::String(stamp(seen)));
                }
                put(format!("tickets/{id}.json"), body)
            }
            Record::Comment(_) | Record::Attachment(_) => {
                return Err(unsupported(
                    &op,
                    "change a comment or attachment: they are append-only",
                ));
            }
            Record::SatisfactionRating(_) => {
                return Err(unsupported(
                    &op,
                    "write satisfaction ratings: only the requester can rate",
                ));
            }
            Record::ChannelConfig(c) => self.config_update(id, c),
            Record::Macro(_)
            | Record::Automation(_)
            | Record::SlaPolicy(_)
            | Record::View(_)
            | Record::TicketForm(_) => {
                return Err(unsupported(
                    &op,
                    "write a rule through the plain update path",
                ));
            }
        };
        let answer = self.api.http.send(&op, &request).await?;
        self.ensure_memberships(outbound, id, &op).await?;
        let mut written = Written::new(id.clone(), WriteOutcome::Updated).answered(&answer.body);
        if let [child] = outbound.children.as_slice()
            && matches!(outbound.record, Record::Ticket(_))
        {
            written.children = comment_of_audit(&answer.body, child);
        }
        Ok(written)
    }

    /// The `comment` of a ticket update that writes its one new comment with it
    /// ([`crate::Connector::comment_with_update`]): the outbound's only child, a comment without
    /// files, as [`Self::comment_body`] writes it alone.
    async fn comment_of_update(
        &self,
        outbound: &Outbound,
        op: &str,
    ) -> Result<Option<Value>, ConnectError> {
        let [child] = outbound.children.as_slice() else {
            return Ok(None);
        };
        let Record::Comment(comment) = &child.record else {
            return Ok(None);
        };
        if !child.uploads.is_empty() {
            return Err(unsupported(
                op,
                "write a comment with files together with its ticket's update",
            ));
        }
        if comment.public {
            // Public only while no trigger would e-mail it (read again when stale).
            self.quiet_now().await;
        }
        let mut body = self.comment_body(comment, child, op)?;
        Ok(body
            .get_mut("ticket")
            .and_then(|t| t.get_mut("comment"))
            .map(Value::take))
    }

    fn config_update(&self, id: &PlatformId, record: &ConfigRecord) -> Request {
        let (path, _, body) = bodies::config(record);
        Request::new(Method::PUT, format!("{path}/{id}.json")).json(body)
    }

    /// `POST /uploads?filename=…` with the raw bytes: a token valid for an hour.
    /// Refuses a file over the account's attachment cap, before anything is sent.
    pub(crate) fn refuse_oversize(&self, file: &crate::FileUpload) -> Result<(), ConnectError> {
        crate::outbound::refuse_oversize(file, self.max_attachment_bytes, ZENDESK)
    }

    pub(crate) async fn upload_file(
        &self,
        file: crate::FileUpload,
    ) -> Result<crate::UploadRef, ConnectError> {
        self.refuse_oversize(&file)?;
        let op = format!("upload {} to zendesk", file.file_name);
        let size = file.bytes.len() as u64;
        let mut request =
            Request::new(Method::POST, "uploads.json").query("filename", &file.file_name);
        if file.inline {
            request = request.query("inline", "true");
        }
        let request = request.body(Body::Bytes {
            content_type: file.content_type.clone(),
            bytes: Arc::clone(&file.bytes),
        });
        let response = self.api.http.send(&op, &request).await?;
        let (body, _) = decode_body(&op, &response.body)?;
        let token = body
            .get("upload")
            .and_then(|u| u.get("token"))
            .and_then(Value::as_str)
            .ok_or_else(|| malformed(&op, "no upload.token in the answer"))?;
        // The copy's address, for inline images: the upload's one attachment.
        let url = body
            .get("upload")
            .and_then(|u| u.get("attachment"))
            .and_then(|a| a.get("content_url"))
            .and_then(Value::as_str)
            .and_then(|u| url::Url::parse(u).ok());
        Ok(crate::UploadRef {
            url,
            origin: file.origin,
            file_name: file.file_name,
            content_type: file.content_type,
            size,
            handle: UploadHandle::Token(token.to_owned()),
        })
    }
}

/// The upload tokens of an outbound comment.
fn tokens(outbound: &Outbound) -> Vec<String> {
    outbound
        .uploads
        .iter()
        .filter_map(|u| match &u.handle {
            UploadHandle::Token(token) => Some(token.clone()),
            UploadHandle::Held(_) => None,
        })
        .collect()
}

/// Links the attachments of a written comment to the uploads they came from, by file name in
/// order.
pub(crate) fn attachment_children(comment: &Value, outbound: &Outbound) -> Vec<WrittenChild> {
    let mut written: Vec<(String, PlatformId)> = comment
        .get("attachments")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|a| {
            let name = a.get("file_name")?.as_str()?.to_owned();
            let id = a.get("id")?.as_u64().map(PlatformId::from)?;
            Some((name, id))
        })
        .collect();
    let mut children = Vec::new();
    for upload in &outbound.uploads {
        let Some(origin) = &upload.origin else {
            continue;
        };
        if let Some(idx) = written
            .iter()
            .position(|(name, _)| *name == upload.file_name)
        {
            let (_, id) = written.remove(idx);
            children.push(WrittenChild {
                origin: origin.clone(),
                id,
            });
        }
    }
    children
}

/// The comment a ticket update wrote with it (`child`), by the Comment event of the update's
/// audit; none when the answer names none (the engine then finds it by its mark).
pub(super) fn comment_of_audit(answer: &[u8], child: &Outbound) -> Vec<WrittenChild> {
    let Ok(body) = serde_json::from_slice::<Value>(answer) else {
        return Vec::new();
    };
    body.get("audit")
        .and_then(|a| a.get("events"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|e| e.get("type").and_then(Value::as_str) == Some("Comment"))
        .and_then(|e| e.get("id")?.as_u64())
        .map(|id| WrittenChild {
            origin: child.origin.clone(),
            id: PlatformId::from(id),
        })
        .into_iter()
        .collect()
}

/// Whether `request` is an upsert (`create_or_update`), whose 200 means "matched, not made".
fn is_upsert(request: &Request) -> bool {
    match &request.target {
        crate::http::Target::Path(path) => path.contains("create_or_update"),
        crate::http::Target::Url(url) => url.path().contains("create_or_update"),
    }
}
