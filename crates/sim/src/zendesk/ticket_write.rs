//! Creating and changing tickets: shared by `POST /tickets`, `PUT /tickets/{id}`, the bulk
//! endpoints and the import API. Each returns the audit Zendesk answers with; the e-mails the
//! account's triggers send ([`triggers::notify`]) and webhook events are recorded on the way
//! (never for imports).

use serde_json::{Map, Value, json};

use super::auth::Actor;
use super::errors::{ApiError, FieldError};
use super::events::{self, Pending};
use super::json;
use super::model::{Comment, Role, Status, Ticket, TicketEvent};
use super::seed::new_user;
use super::store::ZendeskState;
use super::ticket_input::{self, CommentInput, Mode, RequesterRef, TicketPatch};
use super::triggers::{self, Update};

/// What a write did, for the answer and the webhooks.
#[derive(Debug)]
pub(crate) struct Written {
    pub(crate) ticket_id: u64,
    pub(crate) audit: Value,
    pub(crate) events: Vec<Pending>,
    /// The change as the triggers see it (none for an import, which runs no trigger).
    pub(crate) update: Option<Update>,
}

fn ticket_object(body: &Value) -> Result<&Map<String, Value>, ApiError> {
    body.get("ticket")
        .and_then(Value::as_object)
        .ok_or_else(|| {
            ApiError::invalid(vec![FieldError::new(
                "ticket",
                "Ticket: parameter is missing",
                "BlankValue",
            )])
        })
}

/// Reads `{"ticket": {...}}`.
pub(crate) fn ticket_of(body: &Value) -> Result<&Map<String, Value>, ApiError> {
    ticket_object(body)
}

fn resolve_requester(
    st: &mut ZendeskState,
    r: Option<RequesterRef>,
    actor: &Actor,
    now: i64,
) -> u64 {
    match r {
        Some(RequesterRef::Id(id)) => id,
        Some(RequesterRef::New { name, email }) => {
            if let Some(u) = email.as_deref().and_then(|e| st.user_by_email(e)) {
                return u.id;
            }
            let id = st.ids.next_id();
            let name = name.or_else(|| {
                email
                    .as_deref()
                    .and_then(|e| e.split('@').next())
                    .map(str::to_owned)
            });
            let user = new_user(id, &name.unwrap_or_default(), email, Role::EndUser, now);
            st.put_user(user);
            id
        }
        None => actor.user_id,
    }
}

fn add_comments(
    st: &mut ZendeskState,
    t: &mut Ticket,
    inputs: Vec<CommentInput>,
    default_author: u64,
    audit_id: u64,
    now: i64,
    channel: &'static str,
) -> Vec<u64> {
    let mut added = Vec::new();
    for input in inputs {
        let attachments: Vec<u64> = input
            .uploads
            .iter()
            .filter_map(|token| st.uploads.remove(token))
            .flat_map(|u| u.attachment_ids)
            .collect();
        let id = st.ids.next_id();
        let html = input.html.clone().unwrap_or_else(|| {
            let paragraphs: String = input
                .body
                .split("\n\n")
                .map(|p| format!("<p dir=\"auto\">{}</p>", crate::datagen::html_escape(p)))
                .collect();
            format!("<div class=\"zd-comment\" dir=\"auto\">{paragraphs}</div>")
        });
        t.comments.push(Comment {
            id,
            audit_id,
            author_id: input.author_id.unwrap_or(default_author),
            body: input.body,
            html_body: html,
            public: input.public,
            created_at: input.created_at.unwrap_or(now),
            attachments,
            via: channel,
            recipient_id: (channel == "api" && input.public && !input.from_description)
                .then_some(t.requester_id),
            merge: None,
        });
        added.push(id);
    }
    if t.comments.iter().any(|c| c.public) {
        t.is_public = true;
    }
    added
}

fn merge_tags(t: &mut Ticket, p: &TicketPatch) {
    if let Some(tags) = &p.tags {
        t.tags = tags.clone();
    }
    t.tags.extend(p.add_tags.iter().cloned());
    t.tags.retain(|tag| !p.remove_tags.contains(tag));
    t.tags.sort();
    t.tags.dedup();
}

/// Applies the field changes of `p`; returns `(field, previous, current)` for each change.
fn apply_fields(t: &mut Ticket, p: &TicketPatch, now: i64) -> Vec<(String, Value, Value)> {
    let before = snapshot(t);
    if let Some(s) = &p.subject {
        t.subject.clone_from(s);
    }
    if let Some(status) = p.status {
        if status == Status::Solved && t.status != Status::Solved {
            t.solved_at = Some(now);
        }
        if status != t.status {
            // A new status category takes its default custom status (assumed: what the agent
            // interface does when only `status` is set).
            t.custom_status_id = None;
        }
        t.status = status;
    }
    if let Some(v) = p.priority {
        t.priority = v;
    }
    if let Some(v) = p.kind {
        t.kind = v;
    }
    if let Some(v) = p.assignee_id {
        t.assignee_id = v;
    }
    if let Some(v) = p.group_id {
        t.group_id = v;
    }
    if let Some(v) = p.organization_id {
        t.organization_id = v;
    }
    if let Some(v) = &p.external_id {
        t.external_id.clone_from(v);
    }
    if let Some(v) = p.due_at {
        t.due_at = v;
    }
    if let Some(v) = &p.collaborator_ids {
        t.collaborator_ids.clone_from(v);
    }
    t.ticket_form_id = p.ticket_form_id.unwrap_or(t.ticket_form_id);
    t.brand_id = p.brand_id.unwrap_or(t.brand_id);
    merge_tags(t, p);
    for (id, value) in &p.custom_fields {
        t.custom_fields.retain(|(f, _)| f != id);
        t.custom_fields.push((*id, value.clone()));
    }
    let after = snapshot(t);
    after
        .into_iter()
        .zip(before)
        .filter(|((_, a), (_, b))| a != b)
        .map(|((field, a), (_, b))| (field.to_owned(), b, a))
        .collect()
}

fn snapshot(t: &Ticket) -> Vec<(&'static str, Value)> {
    vec![
        ("subject", json!(t.subject)),
        ("requester_id", json!(t.requester_id.to_string())),
        ("status", json!(t.status.as_str())),
        ("priority", json!(t.priority.map(|p| p.as_str()))),
        ("type", json!(t.kind.map(|k| k.as_str()))),
        ("assignee_id", json!(t.assignee_id.map(|i| i.to_string()))),
        ("group_id", json!(t.group_id.map(|i| i.to_string()))),
        (
            "organization_id",
            json!(t.organization_id.map(|i| i.to_string())),
        ),
        ("tags", json!(t.tags)),
        ("brand_id", json!(t.brand_id.to_string())),
        ("ticket_form_id", json!(t.ticket_form_id.to_string())),
        (
            "custom_fields",
            json!(
                t.custom_fields
                    .iter()
                    .map(|(i, v)| json!([i, v]))
                    .collect::<Vec<_>>()
            ),
        ),
    ]
}

fn change_events(
    st: &mut ZendeskState,
    changes: &[(String, Value, Value)],
    create: bool,
) -> Vec<Value> {
    changes
        .iter()
        .filter(|(field, _, _)| field != "custom_fields")
        .map(|(field, previous, value)| {
            let id = st.ids.next_id();
            if create {
                json!({"field_name": field, "id": id, "type": "Create", "value": value})
            } else {
                json!({"field_name": field, "id": id, "previous_value": previous, "type": "Change", "value": value})
            }
        })
        .collect()
}

/// Creates a ticket from `{"ticket": {...}}` (create, bulk create or import).
pub(crate) fn create(
    st: &mut ZendeskState,
    obj: &Map<String, Value>,
    actor: &Actor,
    mode: Mode,
    now: i64,
) -> Result<Written, ApiError> {
    let patch = ticket_input::parse(obj, st, mode, now).map_err(ApiError::invalid)?;
    let requester_id = resolve_requester(st, patch.requester.clone(), actor, now);
    let submitter_id = patch.submitter_id.unwrap_or(if mode == Mode::Import {
        requester_id
    } else {
        actor.user_id
    });
    let created_at = patch.created_at.unwrap_or(now);
    let mut t = Ticket {
        id: st.ticket_ids.next_id(),
        external_id: None,
        kind: None,
        subject: String::new(),
        status: Status::New,
        custom_status_id: None,
        priority: None,
        requester_id,
        submitter_id,
        assignee_id: None,
        organization_id: st.users.get(&requester_id).and_then(|u| u.organization_id),
        group_id: None,
        brand_id: st.brand_id,
        ticket_form_id: st.form_id,
        tags: Vec::new(),
        custom_fields: Vec::new(),
        collaborator_ids: Vec::new(),
        follower_ids: Vec::new(),
        email_cc_ids: Vec::new(),
        due_at: None,
        problem_id: None,
        is_public: false,
        via: patch.via.unwrap_or("api"),
        created_at,
        updated_at: patch.updated_at.unwrap_or(created_at),
        solved_at: None,
        generated_at: now,
        deleted: false,
        rating_id: None,
        generated: None,
        comments: Vec::new(),
    };
    let first_body = patch
        .comments
        .first()
        .map(|c| c.body.clone())
        .unwrap_or_default();
    if patch.subject.is_none() {
        t.subject = first_body.chars().take(80).collect();
    }
    let mut changes = apply_fields(&mut t, &patch, created_at);
    if patch.status.is_none() && t.assignee_id.is_some() {
        t.status = Status::Open;
    }
    if mode == Mode::Import {
        t.solved_at = patch.solved_at.or(t.solved_at);
        if matches!(t.status, Status::Solved | Status::Closed) && t.solved_at.is_none() {
            t.solved_at = Some(t.updated_at);
        }
    }
    changes.retain(|(f, _, _)| f != "custom_fields");
    let audit_id = st.ids.next_id();
    let comment_ids = add_comments(
        st,
        &mut t,
        patch.comments,
        submitter_id,
        audit_id,
        created_at,
        "api",
    );
    let mut audit_events: Vec<Value> = t
        .comments
        .iter()
        .map(|c| json::comment_event(st, c, &st.base))
        .collect();
    audit_events.extend(change_events(st, &changes, true));
    let update = (mode != Mode::Import).then(|| Update {
        ticket_id: t.id,
        created: true,
        current_user: actor.user_id,
        role: actor.role,
        via: t.via,
        comments: t.comments.iter().map(|c| (c.author_id, c.public)).collect(),
        changes: changes.clone(),
    });
    if let Some(update) = &update {
        audit_events.extend(triggers::notify(st, &t, update, now));
    }
    let recipient = t.comments.first().and_then(|c| c.recipient_id);
    let audit = json::audit(
        audit_id,
        t.id,
        actor.user_id,
        created_at,
        json::via(st, "api", recipient),
        audit_events,
    );
    st.events.push(TicketEvent {
        id: audit_id,
        ticket_id: t.id,
        timestamp: now,
        updater_id: actor.user_id,
        via: "api",
        changes,
        created: true,
        comment_ids: comment_ids.clone(),
    });
    let events = if mode == Mode::Import {
        Vec::new()
    } else {
        vec![events::ticket_pending(st, &t, "ticket.created", json!({}))]
    };
    let ticket_id = t.id;
    st.put_ticket(t);
    Ok(Written {
        ticket_id,
        audit,
        events,
        update,
    })
}

/// Updates ticket `id` from `{"ticket": {...}}`.
pub(crate) fn update(
    st: &mut ZendeskState,
    id: u64,
    obj: &Map<String, Value>,
    actor: &Actor,
    now: i64,
) -> Result<Written, ApiError> {
    let mut t = st
        .tickets
        .get(&id)
        .filter(|t| !t.deleted)
        .cloned()
        .ok_or_else(ApiError::not_found)?;
    if t.status == Status::Closed {
        return Err(ApiError::invalid(vec![FieldError::new(
            "status",
            "Status: closed prevents ticket update",
            "ClosedPreventsUpdate",
        )]));
    }
    let patch = ticket_input::parse(obj, st, Mode::Update, now).map_err(ApiError::invalid)?;
    // Zendesk compares the stamp with the ticket's `updated_at` to the second, whatever
    // ISO 8601 form it is written in; a stamp that does not read is stale too.
    if let Some(stamp) = &patch.safe_update_stamp
        && chrono::DateTime::parse_from_rfc3339(stamp).map(|s| s.timestamp()) != Ok(t.updated_at)
    {
        return Err(ApiError::update_conflict());
    }
    let mut changes = apply_fields(&mut t, &patch, now);
    if let Some(RequesterRef::Id(r)) = patch.requester {
        t.requester_id = r;
    }
    let audit_id = st.ids.next_id();
    let inputs = patch.comments;
    let comment_ids = add_comments(st, &mut t, inputs, actor.user_id, audit_id, now, "api");
    changes.retain(|(f, _, _)| f != "custom_fields");
    let mut audit_events: Vec<Value> = t
        .comments
        .iter()
        .filter(|c| comment_ids.contains(&c.id))
        .map(|c| json::comment_event(st, c, &st.base))
        .collect();
    audit_events.extend(change_events(st, &changes, false));
    let mut pending = Vec::new();
    for c in t.comments.iter().filter(|c| comment_ids.contains(&c.id)) {
        pending.push(events::ticket_pending(
            st,
            &t,
            "ticket.comment_added",
            events::comment_event(st, c),
        ));
    }
    for (field, previous, current) in &changes {
        if let Some(kind) = events::ticket_change_type(field) {
            pending.push(events::ticket_pending(
                st,
                &t,
                kind,
                json!({"current": current, "previous": previous}),
            ));
        }
    }
    t.updated_at = now;
    t.generated_at = now;
    let update = Update {
        ticket_id: id,
        created: false,
        current_user: actor.user_id,
        role: actor.role,
        via: "api",
        comments: t
            .comments
            .iter()
            .filter(|c| comment_ids.contains(&c.id))
            .map(|c| (c.author_id, c.public))
            .collect(),
        changes: changes.clone(),
    };
    audit_events.extend(triggers::notify(st, &t, &update, now));
    st.events.push(TicketEvent {
        id: audit_id,
        ticket_id: id,
        timestamp: now,
        updater_id: actor.user_id,
        via: "api",
        changes,
        created: false,
        comment_ids: comment_ids.clone(),
    });
    let recipient = t
        .comments
        .iter()
        .filter(|c| comment_ids.contains(&c.id))
        .find_map(|c| c.recipient_id);
    let audit = json::audit(
        audit_id,
        id,
        actor.user_id,
        now,
        json::via(st, "api", recipient),
        audit_events,
    );
    st.put_ticket(t);
    Ok(Written {
        ticket_id: id,
        audit,
        events: pending,
        update: Some(update),
    })
}

/// Soft-deletes a ticket; false when there is none to delete.
pub(crate) fn soft_delete(st: &mut ZendeskState, id: u64, now: i64) -> Option<Pending> {
    let mut t = st.tickets.get(&id).filter(|t| !t.deleted).cloned()?;
    t.deleted = true;
    t.updated_at = now;
    t.generated_at = now;
    let pending = events::ticket_pending(st, &t, "ticket.soft_deleted", json!({}));
    st.put_ticket(t);
    Some(pending)
}
