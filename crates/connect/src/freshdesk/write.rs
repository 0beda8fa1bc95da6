//! Writing to Freshdesk: lookups before creates, tickets with the origin in custom fields and the
//! first comment as description (when the requester wrote it), every other comment as a private
//! note with a header line (never `/reply`, which e-mails the customer), attachments inside the
//! multipart request.

use std::sync::Arc;

use cutover_model::records::{Comment, FieldTarget, Record, Ticket};
use cutover_model::{PlatformId, PlatformKind, RecordKind};
use reqwest::Method;
use serde_json::{Value, json};

use super::FreshdeskConnector;
use super::bodies;
use super::mapping::description_id;
use crate::connector::{WriteOutcome, Written, WrittenChild};
use crate::error::ConnectError;
use crate::fields::{decode_body, format_time};
use crate::header;
use crate::http::{FilePart, Request, Retry};
use crate::outbound::TicketIds;
use crate::outbound::{Outbound, UploadHandle};

const FRESHDESK: PlatformKind = PlatformKind::Freshdesk;
const AGENT_OR_CONTACT: &[RecordKind] = &[RecordKind::Agent, RecordKind::Contact];

fn unsupported(op: &str, what: &str) -> ConnectError {
    ConnectError::Unsupported {
        op: op.to_owned(),
        platform: FRESHDESK,
        what: what.to_owned(),
    }
}

fn malformed(op: &str, detail: impl Into<String>) -> ConnectError {
    ConnectError::Malformed {
        op: op.to_owned(),
        detail: detail.into(),
    }
}

/// The `id` of a created or found record.
pub(crate) fn id_of(op: &str, body: &Value) -> Result<PlatformId, ConnectError> {
    match body.get("id") {
        Some(Value::Number(n)) => n
            .as_u64()
            .map(PlatformId::from)
            .ok_or_else(|| malformed(op, "id is not a whole number")),
        Some(Value::String(s)) => {
            PlatformId::parse(s.clone()).map_err(|e| malformed(op, e.to_string()))
        }
        _ => Err(malformed(op, "no id in the answer")),
    }
}

/// The files of an outbound comment, as multipart parts.
fn files(outbound: &Outbound) -> Vec<FilePart> {
    outbound
        .uploads
        .iter()
        .filter_map(|u| match &u.handle {
            UploadHandle::Held(bytes) => Some(FilePart {
                field: "attachments[]".into(),
                file_name: u.file_name.clone(),
                content_type: u.content_type.clone(),
                bytes: Arc::clone(bytes),
            }),
            UploadHandle::Token(_) => None,
        })
        .collect()
}

fn with_files(request: Request, body: Value, files: Vec<FilePart>) -> Request {
    if files.is_empty() {
        request.json(body)
    } else {
        request.body(bodies::multipart(&body, files))
    }
}

/// Links the attachments of a written conversation or ticket to the uploads they came from.
pub(crate) fn attachment_children(written: &Value, outbound: &Outbound) -> Vec<WrittenChild> {
    let mut attachments: Vec<(String, PlatformId)> = written
        .get("attachments")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|a| {
            Some((
                a.get("name")?.as_str()?.to_owned(),
                a.get("id")?.as_u64().map(PlatformId::from)?,
            ))
        })
        .collect();
    let mut children = Vec::new();
    for upload in &outbound.uploads {
        let Some(origin) = &upload.origin else {
            continue;
        };
        if let Some(idx) = attachments
            .iter()
            .position(|(name, _)| *name == upload.file_name)
        {
            children.push(WrittenChild {
                origin: origin.clone(),
                id: attachments.remove(idx).1,
            });
        }
    }
    children
}

impl FreshdeskConnector {
    /// Sends a create that must not run twice: after trouble of unknown outcome, looks up first.
    pub(super) async fn post_once(
        &self,
        outbound: &Outbound,
        op: &str,
        request: Request,
    ) -> Result<Result<Value, PlatformId>, ConnectError> {
        let request = request.retry(Retry::ThrottleOnly);
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.api.http.send(op, &request).await {
                Ok(response) => return Ok(Ok(decode_body(op, &response.body)?.0)),
                Err(e) if e.is_transient() && attempt < self.retry.max_attempts => {
                    tokio::time::sleep(self.retry.backoff_now(attempt)).await;
                    if let Some(id) = self.find(outbound).await? {
                        return Ok(Err(id));
                    }
                    tracing::debug!(op, attempt, error = %e, "Create failed with unknown outcome and no copy exists; trying again");
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Creates `outbound` unless a copy exists: looked for first when one may exist, and after
    /// a create answered "already exists" (409: a company's name, a contact's e-mail or external
    /// id, an agent's e-mail, a field's name is taken).
    pub(crate) async fn create_record(&self, outbound: &Outbound) -> Result<Written, ConnectError> {
        let op = outbound.op("create", FRESHDESK);
        if outbound.look_first()
            && let Some(id) = self.find(outbound).await?
        {
            return self.complete_found(outbound, id).await;
        }
        if let Some(written) = self.create_rule(outbound, &op).await? {
            return Ok(written);
        }
        match self.create_new(outbound, &op).await {
            Err(e) if e.status() == Some(409) => match self.find(outbound).await? {
                Some(id) => {
                    tracing::debug!(
                        op,
                        "Create answered that the record exists; its copy was found."
                    );
                    self.complete_found(outbound, id).await
                }
                None => Err(e),
            },
            other => other,
        }
    }

    /// Creates `outbound`, known to be absent.
    async fn create_new(&self, outbound: &Outbound, op: &str) -> Result<Written, ConnectError> {
        let op = op.to_owned();
        if matches!(outbound.record, Record::Ticket(_)) {
            self.ticket_setup(&op).await?;
            self.know_ticket_brand(outbound).await?;
        }
        let request = self.create_request(outbound, &op)?;
        let body = match self.post_once(outbound, &op, request).await? {
            Err(found) => return self.complete_found(outbound, found).await,
            Ok(body) => body,
        };
        let mut id = id_of(&op, &body)?;
        if let Record::CustomField(def) = &outbound.record {
            // Contact and company fields are read with a prefix (their ids are separate spaces).
            let prefix = match def.target {
                FieldTarget::Ticket => "",
                FieldTarget::Contact => "contact:",
                FieldTarget::Organization => "company:",
            };
            if !prefix.is_empty() {
                id = PlatformId::parse(format!("{prefix}{id}"))
                    .map_err(|e| malformed(&op, e.to_string()))?;
            }
        }
        let mut written = Written::new(id, WriteOutcome::Created);
        written.updated_at = crate::connector::updated_at_of(&body);
        match &outbound.record {
            Record::Ticket(_) => {
                written.children = self.ticket_children(&written.id, &body, outbound).await?
            }
            Record::Comment(_) => written.children = attachment_children(&body, outbound),
            _ => {}
        }
        Ok(written)
    }

    /// A copy found: a ticket's comments (with their files) and a comment's files are matched
    /// to the outbound's, so nothing found is left unlinked.
    pub(crate) async fn complete_found(
        &self,
        outbound: &Outbound,
        id: PlatformId,
    ) -> Result<Written, ConnectError> {
        let mut written = Written::new(id, WriteOutcome::Found);
        match &outbound.record {
            Record::Ticket(_) if !outbound.children.is_empty() => {
                written.children = self.match_children(&written.id, outbound).await?;
            }
            Record::Comment(_) => {
                written.children = self.comment_files(&written.id, outbound).await?;
            }
            Record::Agent(_) => self.ensure_groups(outbound, &written.id).await?,
            _ => {}
        }
        Ok(written)
    }

    /// A found agent's groups: the ones it has on Freshdesk and the ones the copy names
    /// (Freshdesk sets an agent's groups as one list, so the list is read and written whole).
    async fn ensure_groups(
        &self,
        outbound: &Outbound,
        agent_id: &PlatformId,
    ) -> Result<(), ConnectError> {
        let Record::Agent(agent) = &outbound.record else {
            return Ok(());
        };
        let op = outbound.op("complete", FRESHDESK);
        let wanted = agent
            .groups
            .iter()
            .map(|g| {
                outbound
                    .targets
                    .require(&op, "groups", &[RecordKind::Group], g)
            })
            .collect::<Result<Vec<_>, _>>()?;
        if wanted.is_empty() {
            return Ok(());
        }
        let (body, _) = self
            .api
            .get(&op, &Request::get(format!("agents/{agent_id}")))
            .await?;
        let mut groups: Vec<Value> = body
            .get("group_ids")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let before = groups.len();
        for group in &wanted {
            let id = bodies::id_json(group);
            if !groups.contains(&id) {
                groups.push(id);
            }
        }
        if groups.len() == before {
            return Ok(());
        }
        let request = Request::new(Method::PUT, format!("agents/{agent_id}"))
            .json(json!({ "group_ids": groups }));
        self.api.http.send(&op, &request).await?;
        Ok(())
    }

    /// The description child (see [`description_child`]) became the description; the others
    /// are written as notes now.
    async fn ticket_children(
        &self,
        ticket: &PlatformId,
        body: &Value,
        outbound: &Outbound,
    ) -> Result<Vec<WrittenChild>, ConnectError> {
        let mut children = Vec::new();
        let description = description_child(outbound);
        let comments = outbound.children.iter().filter(|c| {
            matches!(c.record, Record::Comment(_))
                && !description.is_some_and(|d| std::ptr::eq(d, *c))
        });
        if let Some(first) = description {
            let op = first.op("create", FRESHDESK);
            let id = description_id(ticket).map_err(|p| malformed(&op, p.reason))?;
            children.push(WrittenChild {
                origin: first.origin.clone(),
                id,
            });
            children.extend(attachment_children(body, first));
        }
        for child in comments {
            let mut child = child.clone();
            child
                .targets
                .insert(RecordKind::Ticket, comment_ticket(&child)?, ticket.clone());
            let written = Box::pin(self.create_new(&child, &child.op("create", FRESHDESK))).await?;
            children.push(WrittenChild {
                origin: child.origin.clone(),
                id: written.id,
            });
            children.extend(written.children);
        }
        Ok(children)
    }

    pub(super) fn create_request(
        &self,
        outbound: &Outbound,
        op: &str,
    ) -> Result<Request, ConnectError> {
        let mark = outbound.origin.mark();
        let targets = &outbound.targets;
        let post = |path: &str, body: Value| Request::new(Method::POST, path).json(body);
        Ok(match &outbound.record {
            Record::Organization(org) => post("companies", bodies::company(org)),
            Record::Contact(contact) => {
                let company = targets.require_opt(
                    op,
                    "organization",
                    &[RecordKind::Organization],
                    contact.organization.as_ref(),
                )?;
                post(
                    "contacts",
                    bodies::contact(contact, company.as_ref(), &mark),
                )
            }
            Record::Agent(agent) => {
                let role =
                    targets.require_opt(op, "role", &[RecordKind::Role], agent.role.as_ref())?;
                let groups = agent
                    .groups
                    .iter()
                    .map(|g| targets.require(op, "groups", &[RecordKind::Group], g))
                    .collect::<Result<Vec<_>, _>>()?;
                post("agents", bodies::agent(agent, role.as_ref(), &groups))
            }
            Record::Group(group) => post("groups", bodies::group(group)),
            Record::Role(_) => return Err(unsupported(op, "create roles through its API")),
            Record::CustomField(def) => {
                post(bodies::field_paths(def.target).0, bodies::custom_field(def))
            }
            Record::Ticket(ticket) => self.ticket_create(ticket, outbound, op)?,
            Record::Comment(comment) => {
                self.check_files(outbound)?;
                self.note_request(comment, outbound, op)?
            }
            Record::Attachment(_) => {
                return Err(unsupported(
                    op,
                    "add a file to an existing note: send it with the note",
                ));
            }
            Record::SatisfactionRating(rating) => {
                let ticket =
                    targets.require(op, "ticket", &[RecordKind::Ticket], &rating.ticket)?;
                post(
                    &format!("tickets/{ticket}/satisfaction_ratings"),
                    bodies::rating(rating),
                )
            }
            _ => {
                return Err(unsupported(
                    op,
                    "write views, ticket forms or channel set-ups through its API",
                ));
            }
        })
    }

    /// The ticket with its type spelled as the account lists it, or none when the account has
    /// no such type (Freshdesk refuses it; `cutover inventory` names the loss). Unchanged before
    /// the account's set-up is read.
    fn typed(&self, ticket: &Ticket) -> Ticket {
        let mut ticket = ticket.clone();
        if let Some(setup) = self.setup.get() {
            ticket.ticket_type = setup.type_named(ticket.ticket_type.as_deref());
        }
        ticket
    }

    /// The ticket's custom fields plus cutover's origin fields (mark, original time, and whom
    /// the copy's stand-ins replace).
    fn ticket_fields(
        &self,
        ticket: &Ticket,
        outbound: &Outbound,
    ) -> cutover_model::records::CustomFields {
        let mut fields = ticket.custom_fields.clone();
        let origin = &self.reading.origin_fields;
        fields.insert(origin.id.clone(), json!(outbound.origin.mark()));
        if let Some(key) = &origin.created_at {
            fields.insert(key.clone(), json!(format_time(&ticket.created_at)));
        }
        let people = outbound
            .history
            .stand_ins
            .as_ref()
            .or(outbound.history.author.as_ref());
        if let (Some(key), Some(people)) = (&origin.author, people) {
            fields.insert(key.clone(), json!(people));
        }
        fields
    }

    /// `POST /tickets`: the first comment (with its header and files) as description when its
    /// author is the requester, else cutover's header line and the subject.
    fn ticket_create(
        &self,
        ticket: &Ticket,
        outbound: &Outbound,
        op: &str,
    ) -> Result<Request, ConnectError> {
        let mut ids = TicketIds::resolve(ticket, outbound, op)?;
        ids.brand = self.brands.id_of(ticket.brand.as_deref());
        let first = description_child(outbound);
        let (description, files) = match first.map(|c| (c, &c.record)) {
            Some((child, Record::Comment(comment))) => {
                self.check_files(child)?;
                let line = header::header(
                    &child.origin,
                    &comment.created_at,
                    comment.public,
                    child.history.author.as_deref(),
                );
                (format!("{line}{}", comment.html_body), files(child))
            }
            _ => {
                let line = header::header(
                    &outbound.origin,
                    &ticket.created_at,
                    true,
                    outbound.history.author.as_deref(),
                );
                (
                    format!("{line}<p>{}</p>", header::escape(&ticket.subject)),
                    Vec::new(),
                )
            }
        };
        let ticket = &self.typed(ticket);
        let body = bodies::ticket(
            op,
            ticket,
            &ids,
            Some(&description),
            &self.ticket_fields(ticket, outbound),
        )?;
        Ok(with_files(
            Request::new(Method::POST, "tickets").lane(super::client::LANE_TICKET_CREATE),
            body,
            files,
        ))
    }

    /// `POST /tickets/{id}/notes`: private, with the header line and the files.
    fn note_request(
        &self,
        comment: &Comment,
        outbound: &Outbound,
        op: &str,
    ) -> Result<Request, ConnectError> {
        let ticket =
            outbound
                .targets
                .require(op, "ticket", &[RecordKind::Ticket], &comment.ticket)?;
        let author = outbound
            .targets
            .require(op, "author", AGENT_OR_CONTACT, &comment.author)?;
        let incoming = outbound
            .targets
            .get(RecordKind::Agent, &comment.author)
            .is_none();
        let line = header::header(
            &outbound.origin,
            &comment.created_at,
            comment.public,
            outbound.history.author.as_deref(),
        );
        let body = bodies::note(&format!("{line}{}", comment.html_body), &author, incoming);
        Ok(with_files(
            Request::new(Method::POST, format!("tickets/{ticket}/notes")),
            body,
            files(outbound),
        ))
    }

    /// Overwrites record `id` with `outbound`'s content.
    pub(crate) async fn update_record(
        &self,
        id: &PlatformId,
        outbound: &Outbound,
    ) -> Result<Written, ConnectError> {
        let op = format!("update {} {id} on freshdesk", outbound.record.kind());
        if let Some(written) = self.update_rule(id, outbound, &op).await? {
            return Ok(written);
        }
        if matches!(outbound.record, Record::Ticket(_)) {
            self.ticket_setup(&op).await?;
            self.know_ticket_brand(outbound).await?;
        }
        let targets = &outbound.targets;
        let put = |path: String, body: Value| Request::new(Method::PUT, path).json(body);
        let request = match &outbound.record {
            Record::Organization(org) => put(format!("companies/{id}"), bodies::company(org)),
            Record::Contact(contact) => {
                let company = targets.require_opt(
                    &op,
                    "organization",
                    &[RecordKind::Organization],
                    contact.organization.as_ref(),
                )?;
                put(
                    format!("contacts/{id}"),
                    bodies::contact(contact, company.as_ref(), &outbound.origin.mark()),
                )
            }
            Record::Agent(agent) => {
                let role =
                    targets.require_opt(&op, "role", &[RecordKind::Role], agent.role.as_ref())?;
                let groups = agent
                    .groups
                    .iter()
                    .map(|g| targets.require(&op, "groups", &[RecordKind::Group], g))
                    .collect::<Result<Vec<_>, _>>()?;
                put(
                    format!("agents/{id}"),
                    bodies::agent(agent, role.as_ref(), &groups),
                )
            }
            Record::Group(group) => put(format!("groups/{id}"), bodies::group(group)),
            Record::CustomField(def) => {
                let bare = id.as_str().rsplit(':').next().unwrap_or(id.as_str());
                put(
                    format!("{}/{bare}", bodies::field_paths(def.target).0),
                    bodies::custom_field(def),
                )
            }
            Record::Ticket(ticket) => {
                let mut ids = TicketIds::resolve(ticket, outbound, &op)?;
                ids.brand = self.brands.id_of(ticket.brand.as_deref());
                let ticket = &self.typed(ticket);
                let body = bodies::quiet_close(bodies::ticket(
                    &op,
                    ticket,
                    &ids,
                    None,
                    &self.ticket_fields(ticket, outbound),
                )?);
                put(format!("tickets/{id}"), body).lane(super::client::LANE_TICKET_UPDATE)
            }
            Record::Comment(_) | Record::Attachment(_) => {
                return Err(unsupported(
                    &op,
                    "change a comment or attachment: they are append-only",
                ));
            }
            Record::Role(_) => return Err(unsupported(&op, "change roles through its API")),
            Record::SatisfactionRating(_) => {
                return Err(unsupported(&op, "change a satisfaction rating"));
            }
            _ => {
                return Err(unsupported(
                    &op,
                    "write views, ticket forms or channel set-ups through its API",
                ));
            }
        };
        let answer = self.api.http.send(&op, &request).await?;
        Ok(Written::new(id.clone(), WriteOutcome::Updated).answered(&answer.body))
    }

    /// Holds the bytes for the note that will carry them (Freshdesk has no upload endpoint).
    pub(crate) fn hold_file(
        &self,
        file: crate::FileUpload,
    ) -> Result<crate::UploadRef, ConnectError> {
        crate::outbound::refuse_oversize(&file, self.max_attachment_bytes, FRESHDESK)?;
        let size = file.bytes.len() as u64;
        Ok(crate::UploadRef {
            origin: file.origin,
            file_name: file.file_name,
            content_type: file.content_type,
            size,
            handle: UploadHandle::Held(file.bytes),
            url: None,
        })
    }

    /// Checks the files of a note against the per-request cap before sending them.
    pub(crate) fn check_files(&self, outbound: &Outbound) -> Result<(), ConnectError> {
        let total: u64 = outbound.uploads.iter().map(|u| u.size).sum();
        if total > self.max_attachment_bytes {
            let op = outbound.op("create", FRESHDESK);
            let names: Vec<&str> = outbound
                .uploads
                .iter()
                .map(|u| u.file_name.as_str())
                .collect();
            return Err(ConnectError::TooLarge {
                op,
                file_name: names.join(", "),
                size: total,
                cap: self.max_attachment_bytes,
                platform: FRESHDESK,
            });
        }
        Ok(())
    }
}

/// The comment a new ticket carries as its description: the first, when the requester wrote it
/// in public. Freshdesk reads a description back as the requester's, so a first comment by
/// anyone else (an agent opening a ticket for a customer, or the requester's own first comment
/// missing because it read malformed) is written as a note like the rest, keeping its author;
/// and a description is public, so a private first comment (Zendesk lets the requester's first
/// comment be private) is a private note too, never shown to the customer.
fn description_child(outbound: &Outbound) -> Option<&Outbound> {
    let Record::Ticket(ticket) = &outbound.record else {
        return None;
    };
    let first = outbound
        .children
        .iter()
        .find(|c| matches!(c.record, Record::Comment(_)))?;
    match &first.record {
        Record::Comment(comment) if comment.author == ticket.requester && comment.public => {
            Some(first)
        }
        _ => None,
    }
}

/// The source-side ticket key of a comment outbound.
fn comment_ticket(outbound: &Outbound) -> Result<PlatformId, ConnectError> {
    match &outbound.record {
        Record::Comment(comment) => Ok(comment.ticket.clone()),
        _ => Err(malformed(
            &outbound.op("create", FRESHDESK),
            "a ticket's child is not a comment",
        )),
    }
}
