//! Comments, audits, uploads, attachments (metadata, bytes, redaction) and satisfaction ratings.

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::app::App;
use super::auth::Actor;
use super::errors::{ApiError, FieldError};
use super::json::{self, iso};
use super::listing::{self, envelope};
use super::model::{Comment, Rating, StoredAttachment, Ticket, Upload};
use super::routes::{GENERIC_SHAPE, Res, body_json, corrupt, created, no_content, path_id, reply};
use super::seed;
use super::store::{UPLOADED_ATTACHMENT_BASE, ZendeskState};
use crate::datagen;
use crate::numbers::NumberSyntax;
use crate::page::QueryMap;

/// Largest upload Zendesk accepts.
pub(crate) const MAX_UPLOAD_BYTES: usize = 50 * 1024 * 1024;

fn ticket<'a>(st: &'a ZendeskState, raw: &str) -> Result<&'a Ticket, ApiError> {
    let id = path_id(raw)?;
    st.tickets
        .get(&id)
        .filter(|t| !t.deleted)
        .ok_or_else(ApiError::not_found)
}

/// `GET /api/v2/tickets/{id}/comments`, oldest first (`sort_order=desc` for newest first).
pub(crate) async fn list(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Res {
    let query = QueryMap::parse(q.as_deref());
    let st = app.read();
    let t = ticket(&st, &id)?;
    let mut all = seed::comments(&st, t);
    if query.get("sort_order") == Some("desc") || query.get("sort") == Some("-created_at") {
        all.reverse();
    }
    let inline = query.get("include_inline_images") == Some("true");
    let page = listing::select(&query, 0..all.len() as u64)?;
    let mut records: Vec<Value> = page
        .ids
        .iter()
        .filter_map(|i| all.get(*i as usize))
        .map(|c| {
            let mut c = c.clone();
            if !inline {
                c.attachments.retain(|a| !is_inline(&st, *a));
            }
            json::comment(&st, &c, &app.base)
        })
        .collect();
    corrupt(&app, &mut records, &GENERIC_SHAPE);
    let path = format!("/api/v2/tickets/{}/comments", t.id);
    Ok(reply(
        StatusCode::OK,
        &envelope(&app.base, &path, &query, "comments", records, &page),
    ))
}

fn is_inline(st: &ZendeskState, id: u64) -> bool {
    match st.attachments.get(&id) {
        Some(a) => a.inline,
        None => id < UPLOADED_ATTACHMENT_BASE && id % 4 == 3,
    }
}

fn audit_of(st: &ZendeskState, t: &Ticket, c: &Comment, first: bool, base: &str) -> Value {
    let mut events = vec![json::comment_event(st, c, base)];
    let generated = t
        .generated
        .is_some_and(|g| (g.first_id..g.first_id + u64::from(g.count)).contains(&c.id));
    if !first && generated {
        // In generated history the first reply opens the ticket, then an agent's reply sets it
        // pending and the customer's answer opens it again, as a triggerless account does.
        let (previous, value) = if t.generated.is_some_and(|g| g.first_id + 1 == c.id) {
            ("new", "open")
        } else if c.author_id == t.requester_id {
            ("pending", "open")
        } else {
            ("open", "pending")
        };
        events.push(json!({"field_name": "status", "id": c.id * 16, "previous_value": previous, "type": "Change", "value": value}));
    }
    if first {
        for (field, value) in [
            ("subject", json!(t.subject)),
            ("requester_id", json!(t.requester_id.to_string())),
            ("status", json!("new")),
            ("priority", json!(t.priority.map(|p| p.as_str()))),
            ("type", json!(t.kind.map(|k| k.as_str()))),
        ] {
            events.push(json!({"field_name": field, "id": c.id * 16 + events.len() as u64, "type": "Create", "value": value}));
        }
    }
    let via = json::via(st, c.via, c.recipient_id);
    json::audit(c.audit_id, t.id, c.author_id, c.created_at, via, events)
}

/// `GET /api/v2/tickets/{id}/audits`: one audit per comment.
pub(crate) async fn audits(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Res {
    let query = QueryMap::parse(q.as_deref());
    let st = app.read();
    let t = ticket(&st, &id)?;
    let all = seed::comments(&st, t);
    let page = listing::select(&query, 0..all.len() as u64)?;
    let records: Vec<Value> = page
        .ids
        .iter()
        .filter_map(|i| {
            all.get(*i as usize)
                .map(|c| audit_of(&st, t, c, *i == 0, &app.base))
        })
        .collect();
    let path = format!("/api/v2/tickets/{}/audits", t.id);
    Ok(reply(
        StatusCode::OK,
        &envelope(&app.base, &path, &query, "audits", records, &page),
    ))
}

/// `GET /api/v2/ticket_audits` (cursor pagination).
pub(crate) async fn all_audits(State(app): State<Arc<App>>, RawQuery(q): RawQuery) -> Res {
    let query = QueryMap::parse(q.as_deref());
    let st = app.read();
    let slots = || {
        st.tickets
            .values()
            .filter(|t| !t.deleted)
            .flat_map(|t| (0..seed::comment_count(t)).map(move |i| (t, i)))
    };
    let total = slots().count() as u64;
    let page = listing::select(&query, 0..total)?;
    let first = page.ids.first().copied().unwrap_or(0) as usize;
    let records: Vec<Value> = slots()
        .skip(first)
        .take(page.ids.len())
        .map(|(t, i)| {
            let c = match t.generated {
                Some(g) if i < g.count as usize => seed::generated_comment(&st, t, i as u32),
                _ => t.comments[i - t.generated.map_or(0, |g| g.count as usize)].clone(),
            };
            audit_of(&st, t, &c, i == 0, &app.base)
        })
        .collect();
    Ok(reply(
        StatusCode::OK,
        &envelope(
            &app.base,
            "/api/v2/ticket_audits",
            &query,
            "audits",
            records,
            &page,
        ),
    ))
}

/// `POST /api/v2/uploads?filename=…[&token=…]`: the raw body becomes an attachment.
pub(crate) async fn upload(
    State(app): State<Arc<App>>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Res {
    let query = QueryMap::parse(q.as_deref());
    let Some(filename) = query.non_empty("filename").map(str::to_owned) else {
        return Err(ApiError::invalid(vec![FieldError::new(
            "filename",
            "Filename: cannot be blank",
            "BlankValue",
        )]));
    };
    if body.len() > MAX_UPLOAD_BYTES {
        return Err(ApiError::invalid(vec![FieldError::new(
            "size",
            format!("Size: {} bytes is over the 50 MB limit", body.len()),
            "TooLarge",
        )]));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/binary")
        .to_owned();
    let now = app.now();
    let mut st = app.write();
    let id = st.attachment_ids.next_id();
    let file_token = st.next_token("");
    let inline = content_type.starts_with("image/") && query.get("inline") == Some("true");
    st.attachment_tokens.insert(file_token.clone(), id);
    st.attachments.insert(
        id,
        StoredAttachment {
            file_name: filename,
            content_type,
            bytes: Arc::new(body.to_vec()),
            inline,
            token: file_token,
            redacted: false,
        },
    );
    let token = match query
        .non_empty("token")
        .filter(|t| st.uploads.contains_key(*t))
    {
        Some(t) => t.to_owned(),
        None => st.next_token(""),
    };
    let upload = st.uploads.entry(token.clone()).or_insert(Upload {
        attachment_ids: Vec::new(),
        expires_at: now + 3600,
    });
    upload.attachment_ids.push(id);
    let (ids, expires_at) = (upload.attachment_ids.clone(), upload.expires_at);
    let attachments: Vec<Value> = ids
        .iter()
        .filter_map(|a| json::attachment(&st, *a, &app.base))
        .collect();
    let attachment = json::attachment(&st, id, &app.base).unwrap_or(Value::Null);
    let out = json!({"upload": {"attachment": attachment, "attachments": attachments, "expires_at": iso(expires_at), "token": token}});
    Ok(created(
        &out,
        &format!("{}/api/v2/attachments/{id}.json", app.base),
    ))
}

/// `DELETE /api/v2/uploads/{token}`.
pub(crate) async fn delete_upload(State(app): State<Arc<App>>, Path(token): Path<String>) -> Res {
    let mut st = app.write();
    let upload = st.uploads.remove(&token).ok_or_else(ApiError::not_found)?;
    for id in upload.attachment_ids {
        if let Some(a) = st.attachments.remove(&id) {
            st.attachment_tokens.remove(&a.token);
        }
    }
    Ok(no_content())
}

/// `GET /api/v2/attachments/{id}`.
pub(crate) async fn attachment(State(app): State<Arc<App>>, Path(id): Path<String>) -> Res {
    let id = path_id(&id)?;
    let st = app.read();
    let a = json::attachment(&st, id, &app.base).ok_or_else(ApiError::not_found)?;
    Ok(reply(StatusCode::OK, &json!({"attachment": a})))
}

/// `GET /attachments/token/{token}/?name=…`: the exact bytes.
pub(crate) async fn content(State(app): State<Arc<App>>, Path(token): Path<String>) -> Response {
    let st = app.read();
    let found = if let Some(id) = token
        .strip_prefix('g')
        .and_then(|n| n.parse::<u64>().ok())
        .filter(|id| *id < UPLOADED_ATTACHMENT_BASE)
    {
        let meta = datagen::attachment_meta(st.seed, id, id % 4 == 3);
        Some((
            meta.content_type.to_owned(),
            datagen::attachment_bytes(st.seed, id, &meta),
        ))
    } else {
        st.attachment_tokens
            .get(&token)
            .and_then(|id| st.attachments.get(id))
            .map(|a| (a.content_type.clone(), a.bytes.to_vec()))
    };
    match found {
        Some((content_type, bytes)) => {
            let mut response = (StatusCode::OK, bytes).into_response();
            if let Ok(v) = HeaderValue::from_str(&content_type) {
                response.headers_mut().insert(header::CONTENT_TYPE, v);
            }
            response
        }
        None => ApiError::not_found().into_response(),
    }
}

/// `PUT /api/v2/tickets/{id}/comments/{cid}/attachments/{aid}/redact`: the file becomes an
/// empty `redacted.txt`.
pub(crate) async fn redact_attachment(
    State(app): State<Arc<App>>,
    Path((id, cid, aid)): Path<(String, String, String)>,
) -> Res {
    let (cid, aid) = (path_id(&cid)?, path_id(&aid)?);
    let mut st = app.write();
    let t = ticket(&st, &id)?;
    if !t
        .comments
        .iter()
        .any(|c| c.id == cid && c.attachments.contains(&aid))
    {
        return Err(ApiError::not_found());
    }
    let a = st
        .attachments
        .get_mut(&aid)
        .ok_or_else(ApiError::not_found)?;
    a.redacted = true;
    a.file_name = "redacted.txt".into();
    a.content_type = "text/plain".into();
    a.bytes = Arc::new(Vec::new());
    let out = json!({"attachment": json::attachment(&st, aid, &app.base)});
    Ok(reply(StatusCode::OK, &out))
}

/// `POST /api/v2/tickets/{id}/satisfaction_rating`.
pub(crate) async fn rate(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    body: Bytes,
) -> Res {
    let body = body_json(&body)?;
    let input = body
        .get("satisfaction_rating")
        .cloned()
        .unwrap_or(Value::Null);
    let score = input
        .get("score")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if !["good", "bad", "offered", "unoffered"].contains(&score.as_str()) {
        return Err(ApiError::invalid(vec![FieldError::new(
            "score",
            format!("Score: {score} is not a valid value"),
            "InvalidValue",
        )]));
    }
    let now = app.now();
    let mut st = app.write();
    let mut t = ticket(&st, &id)?.clone();
    let rating_id = t.rating_id.unwrap_or_else(|| st.ids.next_id());
    let rating = Rating {
        id: rating_id,
        ticket_id: t.id,
        score,
        comment: input
            .get("comment")
            .and_then(Value::as_str)
            .map(str::to_owned),
        reason: input
            .get("reason")
            .and_then(Value::as_str)
            .map(str::to_owned),
        requester_id: if actor.role == super::model::Role::EndUser {
            actor.user_id
        } else {
            t.requester_id
        },
        assignee_id: t.assignee_id,
        group_id: t.group_id,
        created_at: st.ratings.get(&rating_id).map_or(now, |r| r.created_at),
        updated_at: now,
    };
    let out = json!({"satisfaction_rating": json::rating(&rating, &app.base)});
    st.ratings.insert(rating_id, rating);
    t.rating_id = Some(rating_id);
    t.updated_at = now;
    t.generated_at = now;
    st.put_ticket(t);
    Ok(reply(StatusCode::OK, &out))
}

/// `GET /api/v2/satisfaction_ratings` (`score`, `start_time`, `end_time` filters).
pub(crate) async fn ratings(State(app): State<Arc<App>>, RawQuery(q): RawQuery) -> Res {
    let query = QueryMap::parse(q.as_deref());
    let score = query.non_empty("score").map(str::to_owned);
    let time = |key: &str| query.int(key, NumberSyntax::Zendesk).and_then(Result::ok);
    let (start, end) = (time("start_time"), time("end_time"));
    let st = app.read();
    let keep = |r: &&Rating| {
        let score_ok = match score.as_deref() {
            None => true,
            Some("received") => r.score == "good" || r.score == "bad",
            Some(s) => r.score == s,
        };
        score_ok && start.is_none_or(|s| r.created_at >= s) && end.is_none_or(|e| r.created_at < e)
    };
    let page = listing::select(&query, st.ratings.values().filter(keep).map(|r| r.id))?;
    let records: Vec<Value> = page
        .ids
        .iter()
        .filter_map(|id| st.ratings.get(id))
        .map(|r| json::rating(r, &app.base))
        .collect();
    Ok(reply(
        StatusCode::OK,
        &envelope(
            &app.base,
            "/api/v2/satisfaction_ratings",
            &query,
            "satisfaction_ratings",
            records,
            &page,
        ),
    ))
}

/// `GET /api/v2/satisfaction_ratings/{id}`.
pub(crate) async fn rating(State(app): State<Arc<App>>, Path(id): Path<String>) -> Res {
    let id = path_id(&id)?;
    let st = app.read();
    let r = st.ratings.get(&id).ok_or_else(ApiError::not_found)?;
    Ok(reply(
        StatusCode::OK,
        &json!({"satisfaction_rating": json::rating(r, &app.base)}),
    ))
}
