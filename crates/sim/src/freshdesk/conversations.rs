//! Conversations (replies and notes) and attachments: list a ticket's conversations, reply (the
//! requester is e-mailed), add a note (`private`, `incoming`, `user_id`), edit and delete notes,
//! delete an attachment, and serve an attachment's exact bytes at its `attachment_url`.

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::app::App;
use super::auth::Actor;
use super::automation;
use super::errors::{ApiError, FieldError};
use super::render;
use super::routes::{
    GENERIC_SHAPE, Res, body_object, corrupt, no_content, page_reply, paging, path_id, reply,
};
use super::seed::{NewConversation, conversation_record};
use super::store::{FreshdeskState, is_agent, iso, str_of, u64_of};
use super::ticket_input::{read_input, store_uploads, valid_email};
use super::tickets::live;
use crate::page::QueryMap;
use crate::text::html_to_text;

/// `GET /api/v2/tickets/{id}/conversations`.
pub(crate) async fn list(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Res {
    let id = path_id(&id)?;
    let query = QueryMap::parse(q.as_deref());
    let paging = paging(&query, None)?;
    let st = app.read();
    st.tickets.get(&id).ok_or_else(ApiError::not_found)?;
    let mut items: Vec<Value> = st
        .conversations_of(id)
        .iter()
        .filter_map(|c| st.conversations.get(c))
        .map(|c| render::conversation(&st, c, &app.base))
        .collect();
    drop(st);
    corrupt(&app, &mut items, &GENERIC_SHAPE);
    let path = format!("/api/v2/tickets/{id}/conversations");
    Ok(page_reply(&app, &path, &query, paging, items))
}

fn check_fields(fields: &Map<String, Value>, allowed: &[&str]) -> Vec<FieldError> {
    let mut errors: Vec<FieldError> = fields
        .keys()
        .filter(|k| !allowed.contains(&k.as_str()))
        .map(|k| FieldError::unexpected(k))
        .collect();
    match fields.get("body") {
        Some(Value::String(s)) if !s.trim().is_empty() => {}
        Some(Value::String(_)) => errors.push(FieldError::new(
            "body",
            "It should not be blank as this is a mandatory field",
            "invalid_value",
        )),
        _ => errors.push(FieldError::new(
            "body",
            "It should be a/an String",
            "missing_field",
        )),
    }
    for key in ["cc_emails", "bcc_emails", "notify_emails"] {
        match fields.get(key) {
            None => {}
            Some(Value::Array(list))
                if list.iter().all(|e| e.as_str().is_some_and(valid_email)) => {}
            Some(_) => errors.push(FieldError::new(
                key,
                "It should contain elements that are in the 'valid email address' format",
                "invalid_value",
            )),
        }
    }
    for key in ["private", "incoming"] {
        if fields.get(key).is_some_and(|v| !v.is_boolean()) {
            errors.push(FieldError::mismatch(key, "Boolean", "String"));
        }
    }
    errors
}

fn emails(fields: &Map<String, Value>, key: &str) -> Vec<String> {
    fields
        .get(key)
        .and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn author(
    st: &FreshdeskState,
    fields: &Map<String, Value>,
    actor: Actor,
    agents_only: bool,
) -> Result<u64, FieldError> {
    match fields.get("user_id") {
        None | Some(Value::Null) => Ok(actor.agent_id),
        Some(v) => {
            let id = v
                .as_u64()
                .ok_or_else(|| FieldError::mismatch("user_id", "Positive Integer", "String"))?;
            let ok = if agents_only {
                st.agents.contains_key(&id)
            } else {
                st.contacts.contains_key(&id)
            };
            if ok {
                Ok(id)
            } else {
                let what = if agents_only { "agent" } else { "contact" };
                Err(FieldError::new(
                    "user_id",
                    format!("There is no {what} matching the given user_id"),
                    "invalid_value",
                ))
            }
        }
    }
}

/// `POST /api/v2/tickets/{id}/reply`: a public reply, e-mailed to the requester and the CCs.
pub(crate) async fn reply_to(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    req: Request,
) -> Res {
    let id = path_id(&id)?;
    let input = read_input(req).await?;
    let fields = input.fields;
    let mut errors = check_fields(
        &fields,
        &[
            "body",
            "cc_emails",
            "bcc_emails",
            "from_email",
            "user_id",
            "attachments",
        ],
    );
    let now = app.now();
    let mut st = app.write();
    let ticket = live(&st, id)?;
    let requester_email = u64_of(ticket, "requester_id")
        .and_then(|r| st.contacts.get(&r))
        .and_then(|c| str_of(c, "email"))
        .map(str::to_owned);
    let user = author(&st, &fields, actor, true)
        .map_err(|e| errors.push(e))
        .ok();
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let user = user.unwrap_or(actor.agent_id);
    let html = fields
        .get("body")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let text = html_to_text(&html);
    let cid = st.conversation_ids.next_id();
    let mut c = conversation_record(&NewConversation {
        id: cid,
        ticket_id: id,
        user_id: user,
        body_html: &html,
        body_text: &text,
        incoming: false,
        private: false,
        source: 0,
        at: now,
    });
    let support = st
        .lists
        .get("email_configs")
        .and_then(|l| l.first())
        .and_then(|c| c.get("to_email"))
        .and_then(Value::as_str)
        .unwrap_or("support@example.com")
        .to_owned();
    let from = fields
        .get("from_email")
        .and_then(Value::as_str)
        .map_or(support.clone(), str::to_owned);
    c.insert("from_email".into(), json!(from));
    c.insert("support_email".into(), json!(support));
    c.insert(
        "to_emails".into(),
        json!(requester_email.iter().collect::<Vec<_>>()),
    );
    let cc = emails(&fields, "cc_emails");
    c.insert("cc_emails".into(), json!(cc));
    c.insert("bcc_emails".into(), json!(emails(&fields, "bcc_emails")));
    let files = store_uploads(&mut st, input.files, now);
    c.insert("_attachments".into(), json!(files));
    st.put_conversation(c);
    st.tickets.update(id, |t| {
        t.insert("updated_at".into(), json!(iso(now)));
        if let Some(Value::Object(stats)) = t.get_mut("_stats") {
            stats.insert("agent_responded_at".into(), json!(iso(now)));
            if stats.get("first_responded_at").is_none_or(Value::is_null) {
                stats.insert("first_responded_at".into(), json!(iso(now)));
            }
        }
    });
    let mut all_cc = cc;
    all_cc.extend(emails(&fields, "bcc_emails"));
    automation::notify(&mut st, "reply", id, &text, &all_cc, now);
    automation::ticket_updated(&app, &mut st, (id, false), &["reply_sent".to_owned()], now);
    let out = st
        .conversations
        .get(&cid)
        .map_or(Value::Null, |c| render::conversation(&st, c, &app.base));
    Ok(reply(StatusCode::CREATED, &out))
}

/// `POST /api/v2/tickets/{id}/notes`: `private` (default true), `incoming` (default false),
/// `user_id` (the author, default the API user), `notify_emails`. Private notes e-mail nobody;
/// a public note by an agent e-mails the requester when Admin > Email Notifications has "Agent
/// adds comment to ticket" on.
pub(crate) async fn note(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    req: Request,
) -> Res {
    let id = path_id(&id)?;
    let input = read_input(req).await?;
    let fields = input.fields;
    let mut errors = check_fields(
        &fields,
        &[
            "body",
            "private",
            "incoming",
            "notify_emails",
            "user_id",
            "attachments",
        ],
    );
    let now = app.now();
    let mut st = app.write();
    live(&st, id)?;
    let user = author(&st, &fields, actor, false)
        .map_err(|e| errors.push(e))
        .ok();
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let user = user.unwrap_or(actor.agent_id);
    let private = fields
        .get("private")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let incoming = fields
        .get("incoming")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let html = fields
        .get("body")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let text = html_to_text(&html);
    let cid = st.conversation_ids.next_id();
    let mut c = conversation_record(&NewConversation {
        id: cid,
        ticket_id: id,
        user_id: user,
        body_html: &html,
        body_text: &text,
        incoming,
        private,
        source: 2,
        at: now,
    });
    c.insert("to_emails".into(), json!(emails(&fields, "notify_emails")));
    let files = store_uploads(&mut st, input.files, now);
    c.insert("_attachments".into(), json!(files));
    st.put_conversation(c);
    let by_agent = st.contacts.get(&user).is_some_and(is_agent);
    st.tickets.update(id, |t| {
        t.insert("updated_at".into(), json!(iso(now)));
        if incoming
            && !by_agent
            && let Some(Value::Object(stats)) = t.get_mut("_stats")
        {
            stats.insert("requester_responded_at".into(), json!(iso(now)));
        }
    });
    if !private && !incoming && by_agent && app.email_notifications().agent_adds_comment {
        automation::notify(&mut st, "public_note", id, &text, &[], now);
    }
    automation::ticket_updated(&app, &mut st, (id, false), &["note_added".to_owned()], now);
    let out = st
        .conversations
        .get(&cid)
        .map_or(Value::Null, |c| render::conversation(&st, c, &app.base));
    Ok(reply(StatusCode::CREATED, &out))
}

/// `PUT /api/v2/conversations/{id}`: edits a note's body.
pub(crate) async fn edit(State(app): State<Arc<App>>, Path(id): Path<String>, body: Bytes) -> Res {
    let id = path_id(&id)?;
    let fields = body_object(&body)?;
    let errors = check_fields(&fields, &["body"]);
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let now = app.now();
    let mut st = app.write();
    let c = st
        .conversations
        .get_mut(&id)
        .ok_or_else(ApiError::not_found)?;
    if u64_of(c, "source") != Some(2) {
        return Err(ApiError::field(
            "id",
            "Only notes can be edited",
            "invalid_value",
        ));
    }
    let html = fields
        .get("body")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    c.insert("body_text".into(), json!(html_to_text(&html)));
    c.insert("body".into(), json!(html));
    c.insert("updated_at".into(), json!(iso(now)));
    let out = st
        .conversations
        .get(&id)
        .map_or(Value::Null, |c| render::conversation(&st, c, &app.base));
    Ok(reply(StatusCode::OK, &out))
}

/// `DELETE /api/v2/conversations/{id}`.
pub(crate) async fn remove(State(app): State<Arc<App>>, Path(id): Path<String>) -> Res {
    let id = path_id(&id)?;
    let mut st = app.write();
    let c = st
        .conversations
        .remove(&id)
        .ok_or_else(ApiError::not_found)?;
    if let Some(list) = u64_of(&c, "ticket_id").and_then(|t| st.ticket_conversations.get_mut(&t)) {
        list.retain(|x| *x != id);
    }
    Ok(no_content())
}

/// `DELETE /api/v2/attachments/{id}`.
pub(crate) async fn delete_attachment(State(app): State<Arc<App>>, Path(id): Path<String>) -> Res {
    let id = path_id(&id)?;
    let mut st = app.write();
    st.attachments.remove(&id).ok_or_else(ApiError::not_found)?;
    let unlink = |rec: &mut super::store::Rec| {
        if let Some(Value::Array(list)) = rec.get_mut("_attachments") {
            list.retain(|x| x.as_u64() != Some(id));
        }
    };
    let holds = |rec: &super::store::Rec| {
        rec.get("_attachments")
            .and_then(Value::as_array)
            .is_some_and(|l| l.iter().any(|x| x.as_u64() == Some(id)))
    };
    st.tickets.update_where(holds, unlink);
    st.conversations.values_mut().for_each(unlink);
    Ok(no_content())
}

/// `GET /data/helpdesk/attachments/production/{id}/original/{name}`: the exact bytes.
pub(crate) async fn download(
    State(app): State<Arc<App>>,
    Path((id, _name)): Path<(String, String)>,
) -> Response {
    let Ok(id) = id.parse::<u64>() else {
        return ApiError::not_found().into_response();
    };
    let st = app.read();
    let Some(att) = st.attachments.get(&id) else {
        return ApiError::not_found().into_response();
    };
    let bytes = st.attachment_bytes(att);
    let content_type = att.content_type.clone();
    let disposition = format!("attachment; filename=\"{}\"", att.name.replace('"', ""));
    drop(st);
    let mut response = (StatusCode::OK, bytes).into_response();
    if let Ok(v) = HeaderValue::from_str(&content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, v);
    }
    response
}
