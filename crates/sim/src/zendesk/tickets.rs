//! `/api/v2/tickets…`: list, show, show_many, create, update, delete, the bulk endpoints (answered
//! with a job status), deleted tickets, tags.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::app::App;
use super::auth::Actor;
use super::errors::ApiError;
use super::events;
use super::jobs;
use super::json::{self, iso};
use super::listing::{self, envelope, ids_param, show_many_envelope, sideload_tickets};
use super::model::Ticket;
use super::routes::{Res, TICKET_SHAPE, body_json, corrupt, created, no_content, path_id, reply};
use super::store::{Idempotent, ZendeskState};
use super::ticket_input::Mode;
use super::ticket_write::{self, ticket_of};
use super::triggers;
use crate::page::QueryMap;

fn render_list(app: &App, st: &ZendeskState, tickets: &[&Ticket]) -> Vec<Value> {
    let mut out: Vec<Value> = tickets
        .iter()
        .map(|t| json::ticket(st, t, &app.base, false))
        .collect();
    corrupt(app, &mut out, &TICKET_SHAPE);
    out
}

/// `GET /api/v2/tickets` leaves out the legacy `fields` twin of `custom_fields`, as recorded.
fn render_index(app: &App, st: &ZendeskState, tickets: &[&Ticket]) -> Vec<Value> {
    let mut out: Vec<Value> = tickets
        .iter()
        .map(|t| {
            let mut v = json::ticket(st, t, &app.base, false);
            if let Some(map) = v.as_object_mut() {
                map.remove("fields");
            }
            v
        })
        .collect();
    corrupt(app, &mut out, &TICKET_SHAPE);
    out
}

fn listed(app: &App, q: Option<String>, path: &str, filter: impl Fn(&Ticket) -> bool) -> Res {
    let query = QueryMap::parse(q.as_deref());
    let st = app.read();
    let external = query.non_empty("external_id").map(str::to_owned);
    let keep = |t: &&Ticket| {
        !t.deleted
            && filter(t)
            && external
                .as_ref()
                .is_none_or(|e| t.external_id.as_ref() == Some(e))
    };
    let page = match &external {
        Some(e) => {
            let found = st.tickets_by_external_id(e).iter();
            let tickets = found.filter_map(|id| st.tickets.get(id));
            listing::select(&query, tickets.filter(keep).map(|t| t.id))?
        }
        None => listing::select(&query, st.tickets.values().filter(keep).map(|t| t.id))?,
    };
    let tickets: Vec<&Ticket> = page
        .ids
        .iter()
        .filter_map(|id| st.tickets.get(id))
        .collect();
    let records = render_index(app, &st, &tickets);
    let mut out = envelope(&app.base, path, &query, "tickets", records, &page);
    sideload_tickets(&st, &app.base, &query, &tickets, &mut out);
    Ok(reply(StatusCode::OK, &out))
}

/// `GET /api/v2/tickets`.
pub(crate) async fn list(State(app): State<Arc<App>>, RawQuery(q): RawQuery) -> Res {
    listed(&app, q, "/api/v2/tickets", |_| true)
}

/// `GET /api/v2/users/{id}/tickets/requested`.
pub(crate) async fn requested_by(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Res {
    let user = path_id(&id)?;
    if !app.read().users.contains_key(&user) {
        return Err(ApiError::not_found());
    }
    listed(
        &app,
        q,
        &format!("/api/v2/users/{user}/tickets/requested"),
        move |t| t.requester_id == user,
    )
}

/// `GET /api/v2/tickets/count`.
pub(crate) async fn count(State(app): State<Arc<App>>) -> Res {
    let n = app.read().tickets.values().filter(|t| !t.deleted).count();
    Ok(reply(
        StatusCode::OK,
        &json!({"count": {"value": n, "refreshed_at": iso(app.now())}}),
    ))
}

/// `GET /api/v2/tickets/{id}`.
pub(crate) async fn show(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Res {
    let id = path_id(&id)?;
    let query = QueryMap::parse(q.as_deref());
    let st = app.read();
    let t = st
        .tickets
        .get(&id)
        .filter(|t| !t.deleted)
        .ok_or_else(ApiError::not_found)?;
    let mut record = vec![json::ticket(&st, t, &app.base, false)];
    corrupt(&app, &mut record, &TICKET_SHAPE);
    let mut out = json!({"ticket": record.pop().unwrap_or(Value::Null)});
    sideload_tickets(&st, &app.base, &query, &[t], &mut out);
    Ok(reply(StatusCode::OK, &out))
}

/// `GET /api/v2/tickets/show_many?ids=`.
pub(crate) async fn show_many(State(app): State<Arc<App>>, RawQuery(q): RawQuery) -> Res {
    let query = QueryMap::parse(q.as_deref());
    let ids = ids_param(&query)?;
    let st = app.read();
    let tickets: Vec<&Ticket> = ids
        .iter()
        .filter_map(|id| st.tickets.get(id))
        .filter(|t| !t.deleted)
        .collect();
    let mut out = show_many_envelope("tickets", render_list(&app, &st, &tickets));
    sideload_tickets(&st, &app.base, &query, &tickets, &mut out);
    Ok(reply(StatusCode::OK, &out))
}

/// How long an `Idempotency-Key` is remembered, in seconds (two hours: assumed from secondary
/// sources, the reference does not say).
const IDEMPOTENCY_LIFETIME: i64 = 2 * 3600;

/// Answers `x-idempotency-lookup: hit` or `miss`.
fn looked_up(mut response: Response, hit: bool) -> Response {
    let value = HeaderValue::from_static(if hit { "hit" } else { "miss" });
    response.headers_mut().insert("x-idempotency-lookup", value);
    response
}

/// `POST /api/v2/tickets`: 201 with the ticket and its audit. With an `Idempotency-Key` (the one
/// endpoint Zendesk documents it for: not the import), a repeat of the same request within the
/// key's lifetime answers the first answer again and creates nothing; the same key with another
/// body is refused.
pub(crate) async fn create(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    headers: HeaderMap,
    body: Bytes,
) -> Res {
    let body = body_json(&body)?;
    let obj = ticket_of(&body)?;
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let now = app.now();
    let mut st = app.write();
    if let Some(key) = &key {
        st.idempotent.retain(|_, seen| seen.expires_at > now);
        if let Some(seen) = st.idempotent.get(key) {
            if seen.request != body {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    json!({"error": "IdempotentRequestError", "description": "The request does not match the one first sent with this Idempotency-Key"}),
                ));
            }
            return Ok(looked_up(created(&seen.answer, &seen.location), true));
        }
    }
    let written = ticket_write::create(&mut st, obj, &actor, Mode::Create, now)?;
    events::emit(&app, &st, written.events);
    if let Some(update) = &written.update {
        triggers::fire(&app, &st, update);
    }
    let t = st
        .tickets
        .get(&written.ticket_id)
        .ok_or_else(ApiError::not_found)?;
    let out = json!({"ticket": json::ticket(&st, t, &app.base, true), "audit": written.audit});
    let location = format!("{}/api/v2/tickets/{}.json", app.base, written.ticket_id);
    let response = created(&out, &location);
    let Some(key) = key else {
        return Ok(response);
    };
    let seen = Idempotent {
        request: body,
        answer: out,
        location,
        expires_at: now + IDEMPOTENCY_LIFETIME,
    };
    st.idempotent.insert(key, seen);
    Ok(looked_up(response, false))
}

/// `PUT /api/v2/tickets/{id}`: the ticket and the audit of the change.
pub(crate) async fn update(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    body: Bytes,
) -> Res {
    let id = path_id(&id)?;
    let body = body_json(&body)?;
    let now = app.now();
    let mut st = app.write();
    if st.tickets.get(&id).is_none_or(|t| t.deleted) {
        return Err(ApiError::not_found());
    }
    let obj = ticket_of(&body)?;
    let written = ticket_write::update(&mut st, id, obj, &actor, now)?;
    events::emit(&app, &st, written.events);
    if let Some(update) = &written.update {
        triggers::fire(&app, &st, update);
    }
    let t = st.tickets.get(&id).ok_or_else(ApiError::not_found)?;
    let out = json!({"ticket": json::ticket(&st, t, &app.base, false), "audit": written.audit});
    Ok(reply(StatusCode::OK, &out))
}

/// `DELETE /api/v2/tickets/{id}`: soft delete, 204.
pub(crate) async fn destroy(State(app): State<Arc<App>>, Path(id): Path<String>) -> Res {
    let id = path_id(&id)?;
    let now = app.now();
    let mut st = app.write();
    let pending = ticket_write::soft_delete(&mut st, id, now).ok_or_else(ApiError::not_found)?;
    events::emit(&app, &st, vec![pending]);
    Ok(no_content())
}

/// `POST /api/v2/tickets/create_many`: up to 100, answered with a job status.
pub(crate) async fn create_many(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    body: Bytes,
) -> Res {
    bulk_create(&app, &actor, &body, Mode::Create, "bulk_create_tickets")
}

/// Shared by `create_many` and the import API's `create_many`.
pub(crate) fn bulk_create(
    app: &App,
    actor: &Actor,
    body: &Bytes,
    mode: Mode,
    job_type: &'static str,
) -> Res {
    let body = body_json(body)?;
    let items = body
        .get("tickets")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if items.len() > 100 {
        return Err(ApiError::too_many(100));
    }
    let now = app.now();
    let mut st = app.write();
    let mut results = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let Some(obj) = item.as_object() else {
            continue;
        };
        match ticket_write::create(&mut st, obj, actor, mode, now) {
            Ok(written) => {
                events::emit(app, &st, written.events);
                if let Some(update) = &written.update {
                    triggers::fire(app, &st, update);
                }
                results.push(json!({"account_id": events::ACCOUNT_ID, "id": written.ticket_id, "index": index}));
            }
            Err(e) => results.push(job_error(index, None, &e)),
        }
    }
    Ok(jobs::queued(
        &mut st,
        &app.base,
        job_type,
        items.len(),
        results,
        now,
    ))
}

fn job_error(index: usize, id: Option<u64>, e: &ApiError) -> Value {
    let details = e
        .body
        .get("details")
        .map(Value::to_string)
        .unwrap_or_default();
    json!({"index": index, "id": id, "error": e.body.get("error").cloned().unwrap_or(json!("Error")), "details": details, "success": false})
}

/// `PUT /api/v2/tickets/update_many`: `?ids=` with one `ticket`, or a `tickets` array with ids.
pub(crate) async fn update_many(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Res {
    let query = QueryMap::parse(q.as_deref());
    let body = body_json(&body)?;
    let ids = ids_param(&query)?;
    let items: Vec<(u64, Value)> = if ids.is_empty() {
        let list = body
            .get("tickets")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        list.into_iter()
            .filter_map(|t| Some((t.get("id")?.as_u64()?, t)))
            .collect()
    } else {
        let shared = body.get("ticket").cloned().unwrap_or(json!({}));
        ids.iter().map(|id| (*id, shared.clone())).collect()
    };
    if items.len() > 100 {
        return Err(ApiError::too_many(100));
    }
    let now = app.now();
    let mut st = app.write();
    let mut results = Vec::new();
    for (index, (id, item)) in items.iter().enumerate() {
        let Some(obj) = item.as_object() else {
            continue;
        };
        match ticket_write::update(&mut st, *id, obj, &actor, now) {
            Ok(written) => {
                events::emit(&app, &st, written.events);
                if let Some(update) = &written.update {
                    triggers::fire(&app, &st, update);
                }
                results.push(
                    json!({"id": id, "action": "update", "success": true, "status": "Updated"}),
                );
            }
            Err(e) => results.push(job_error(index, Some(*id), &e)),
        }
    }
    Ok(jobs::queued(
        &mut st,
        &app.base,
        "bulk_update_tickets",
        items.len(),
        results,
        now,
    ))
}

/// `DELETE /api/v2/tickets/destroy_many?ids=`.
pub(crate) async fn destroy_many(State(app): State<Arc<App>>, RawQuery(q): RawQuery) -> Res {
    let ids = ids_param(&QueryMap::parse(q.as_deref()))?;
    let now = app.now();
    let mut st = app.write();
    let mut results = Vec::new();
    for id in &ids {
        match ticket_write::soft_delete(&mut st, *id, now) {
            Some(pending) => {
                events::emit(&app, &st, vec![pending]);
                results.push(jobs::deletion(*id, true));
            }
            None => {
                let mut failed = jobs::deletion(*id, false);
                failed["error"] = json!("TicketNotFound");
                results.push(failed);
            }
        }
    }
    Ok(jobs::queued(
        &mut st,
        &app.base,
        "bulk_delete_tickets",
        ids.len(),
        results,
        now,
    ))
}

/// `GET /api/v2/deleted_tickets`.
pub(crate) async fn deleted_list(State(app): State<Arc<App>>, RawQuery(q): RawQuery) -> Res {
    let query = QueryMap::parse(q.as_deref());
    let st = app.read();
    let page = listing::select(
        &query,
        st.tickets.values().filter(|t| t.deleted).map(|t| t.id),
    )?;
    let records: Vec<Value> = page
        .ids
        .iter()
        .filter_map(|id| st.tickets.get(id))
        .map(|t| {
            let actor = st.users.get(&st.owner_id).map(|u| json!({"id": u.id, "name": u.name}));
            json!({"actor": actor, "deleted_at": iso(t.updated_at), "description": super::seed::description(&st, t),
                   "id": t.id, "previous_state": t.status.as_str(), "subject": t.subject})
        })
        .collect();
    Ok(reply(
        StatusCode::OK,
        &envelope(
            &app.base,
            "/api/v2/deleted_tickets",
            &query,
            "deleted_tickets",
            records,
            &page,
        ),
    ))
}

/// `PUT /api/v2/deleted_tickets/{id}/restore`.
pub(crate) async fn restore(State(app): State<Arc<App>>, Path(id): Path<String>) -> Res {
    let id = path_id(&id)?;
    let now = app.now();
    let mut st = app.write();
    let mut t = st
        .tickets
        .get(&id)
        .filter(|t| t.deleted)
        .cloned()
        .ok_or_else(ApiError::not_found)?;
    t.deleted = false;
    t.updated_at = now;
    t.generated_at = now;
    st.put_ticket(t);
    Ok(reply(StatusCode::OK, &json!({})))
}

/// `DELETE /api/v2/deleted_tickets/{id}`: permanent deletion, as a job.
pub(crate) async fn purge(State(app): State<Arc<App>>, Path(id): Path<String>) -> Res {
    let id = path_id(&id)?;
    let now = app.now();
    let mut st = app.write();
    let t = st
        .tickets
        .get(&id)
        .filter(|t| t.deleted)
        .cloned()
        .ok_or_else(ApiError::not_found)?;
    st.purge_ticket(t.id);
    // A single permanent deletion's job answers one object (recorded).
    let results = json!({"success": true});
    let mut out = jobs::submit(
        &mut st,
        &app.base,
        "bulk_delete_tickets_permanently",
        1,
        results,
        now,
    );
    out["job_status"]["total"] = Value::Null;
    Ok(reply(StatusCode::OK, &out))
}

/// `GET /api/v2/tags`: tags by use, most used first.
pub(crate) async fn tags(State(app): State<Arc<App>>, RawQuery(q): RawQuery) -> Res {
    let query = QueryMap::parse(q.as_deref());
    let st = app.read();
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for t in st.tickets.values().filter(|t| !t.deleted) {
        for tag in &t.tags {
            *counts.entry(tag.as_str()).or_default() += 1;
        }
    }
    let mut sorted: Vec<(&str, u64)> = counts.into_iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let page = listing::select(&query, 0..sorted.len() as u64)?;
    let records: Vec<Value> = page
        .ids
        .iter()
        .filter_map(|i| sorted.get(*i as usize))
        .map(|(name, count)| json!({"count": count, "name": name}))
        .collect();
    Ok(reply(
        StatusCode::OK,
        &envelope(&app.base, "/api/v2/tags", &query, "tags", records, &page),
    ))
}
