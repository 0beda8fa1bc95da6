//! Tickets: list (30-day default window, `updated_since`, filters, order, embeds, the 300-page
//! ceiling), show, create (JSON or multipart), update, soft delete and restore, bulk update and
//! delete as background jobs, merge, outbound e-mail.

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::app::App;
use super::auth::Actor;
use super::automation;
use super::errors::{ApiError, FieldError};
use super::render::{self, Includes};
use super::routes::{
    Res, TICKET_SHAPE, body_object, corrupt, no_content, page_answer, paging, path_id, reply,
};
use super::seed::{NewConversation, conversation_record, ticket_record};
use super::store::{FreshdeskState, Rec, flag, iso, parse_time, time_of, u64_of};
use super::ticket_input::{
    self, apply, read_input, skips_close_notification, store_uploads, validate,
};
use crate::numbers::NumberSyntax;
use crate::page::QueryMap;

/// Ticket lists end at page 300.
const MAX_LIST_PAGE: usize = 300;
const LIST_INCLUDES: [&str; 3] = ["requester", "stats", "description"];
const SHOW_INCLUDES: [&str; 4] = ["conversations", "requester", "company", "stats"];
const DAY: i64 = 86_400;

fn includes(query: &QueryMap, allowed: &[&str]) -> Result<Includes, ApiError> {
    Includes::parse(&query.list("include"), allowed).map_err(|_| {
        ApiError::invalid(vec![FieldError::not_one_of("include", &allowed.join(", "))])
    })
}

fn one_of<'a>(
    query: &'a QueryMap,
    key: &str,
    allowed: &[&str],
) -> Result<Option<&'a str>, ApiError> {
    match query.non_empty(key) {
        Some(v) if !allowed.contains(&v) => Err(ApiError::invalid(vec![FieldError::not_one_of(
            key,
            &allowed.join(","),
        )])),
        other => Ok(other),
    }
}

/// `GET /api/v2/tickets`.
pub(crate) async fn list(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    RawQuery(q): RawQuery,
) -> Res {
    let query = QueryMap::parse(q.as_deref());
    let inc = includes(&query, &LIST_INCLUDES)?;
    let filter = one_of(
        &query,
        "filter",
        &["new_and_my_open", "watching", "spam", "deleted"],
    )?;
    let order_by = one_of(
        &query,
        "order_by",
        &["created_at", "due_by", "updated_at", "status"],
    )?
    .unwrap_or("created_at");
    let asc = one_of(&query, "order_type", &["asc", "desc"])? == Some("asc");
    let since = match query.non_empty("updated_since") {
        Some(raw) => Some(parse_time(raw).ok_or_else(|| {
            ApiError::field(
                "updated_since",
                "It should be in the 'valid date time' format",
                "invalid_value",
            )
        })?),
        None => None,
    };
    let number = |key: &str| -> Result<Option<u64>, ApiError> {
        query
            .uint(key, NumberSyntax::Freshdesk)
            .map(|v| {
                v.map_err(|_| {
                    ApiError::invalid(vec![FieldError::mismatch(
                        key,
                        "Positive Integer",
                        "String",
                    )])
                })
            })
            .transpose()
    };
    let requester = number("requester_id")?;
    let company = number("company_id")?;
    let paging = paging(&query, Some(MAX_LIST_PAGE))?;
    let now = app.now();
    let st = app.read();
    let by_email = query.non_empty("email").map(|e| {
        st.contact_by_email(e)
            .and_then(|c| u64_of(c, "id"))
            .unwrap_or(0)
    });
    let mut picked: Vec<&Rec> = st
        .tickets
        .values()
        .filter(|t| match filter {
            Some("deleted") => flag(t, "_deleted"),
            Some("spam") => flag(t, "spam") && !flag(t, "_deleted"),
            Some("watching") => false,
            Some(_) => {
                !flag(t, "_deleted")
                    && !flag(t, "spam")
                    && u64_of(t, "status") == Some(2)
                    && u64_of(t, "responder_id").is_none_or(|r| r == actor.agent_id)
            }
            None => !flag(t, "_deleted") && !flag(t, "spam"),
        })
        .filter(|t| match since {
            Some(since) => time_of(t, "updated_at") >= since,
            None => time_of(t, "created_at") >= now - 30 * DAY,
        })
        .filter(|t| requester.is_none_or(|r| u64_of(t, "requester_id") == Some(r)))
        .filter(|t| by_email.is_none_or(|r| u64_of(t, "requester_id") == Some(r)))
        .filter(|t| company.is_none_or(|c| u64_of(t, "company_id") == Some(c)))
        .collect();
    picked.sort_by_cached_key(|t| {
        let key = match order_by {
            "status" => u64_of(t, "status").unwrap_or(0) as i64,
            other => time_of(t, other),
        };
        (key, u64_of(t, "id").unwrap_or(0))
    });
    if !asc {
        picked.reverse();
    }
    // Only the page is rendered.
    let (page, has_next) = paging.window(picked);
    let mut items: Vec<Value> = page
        .into_iter()
        .map(|t| render::ticket(&st, t, &app.base, inc, true))
        .collect();
    drop(st);
    corrupt(&app, &mut items, &TICKET_SHAPE);
    Ok(page_answer(
        &app,
        "/api/v2/tickets",
        &query,
        paging,
        items,
        has_next,
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
    let inc = includes(&query, &SHOW_INCLUDES)?;
    let st = app.read();
    let ticket = st.tickets.get(&id).ok_or_else(ApiError::not_found)?;
    let mut out = [render::ticket(&st, ticket, &app.base, inc, false)];
    drop(st);
    corrupt(&app, &mut out, &TICKET_SHAPE);
    let [out] = out;
    Ok(reply(StatusCode::OK, &out))
}

fn created(app: &App, value: &Value, id: u64) -> Response {
    let mut response = reply(StatusCode::CREATED, value);
    if let Ok(v) = HeaderValue::from_str(&format!("{}/api/v2/tickets/{id}", app.base)) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

/// `POST /api/v2/tickets` (JSON or multipart with `attachments[]`).
pub(crate) async fn create(State(app): State<Arc<App>>, req: Request) -> Res {
    let input = read_input(req).await?;
    let now = app.now();
    let mut st = app.write();
    let validated = validate(&st, &input.fields, true)?;
    let id = st.ticket_ids.next_id();
    let mut ticket = ticket_record(&st, id, 0, now);
    apply(&mut st, &mut ticket, validated, now);
    let files = store_uploads(&mut st, input.files, now);
    ticket.insert("_attachments".into(), json!(files));
    let status = u64_of(&ticket, "status").unwrap_or(2);
    ticket_input::status_stats(&mut ticket, 2, status, now);
    st.put_ticket(id, ticket);
    automation::ticket_created(&app, &mut st, id, now);
    let out = st
        .tickets
        .get(&id)
        .map(|t| render::ticket(&st, t, &app.base, Includes::default(), false))
        .unwrap_or(Value::Null);
    Ok(created(&app, &out, id))
}

/// `POST /api/v2/tickets/outbound_email`: a new ticket e-mailed to the contact (source 10).
pub(crate) async fn outbound_email(State(app): State<Arc<App>>, req: Request) -> Res {
    let mut input = read_input(req).await?;
    let mut missing = Vec::new();
    for key in ["email", "subject", "email_config_id", "description"] {
        if input.fields.get(key).is_none_or(Value::is_null) {
            missing.push(FieldError::new(
                key,
                "It should be a/an String",
                "missing_field",
            ));
        }
    }
    if !missing.is_empty() {
        return Err(ApiError::invalid(missing));
    }
    input.fields.insert("source".into(), json!(10));
    input.fields.entry("status").or_insert(json!(5));
    let now = app.now();
    let mut st = app.write();
    let validated = validate(&st, &input.fields, true)?;
    let id = st.ticket_ids.next_id();
    let mut ticket = ticket_record(&st, id, 0, now);
    apply(&mut st, &mut ticket, validated, now);
    let files = store_uploads(&mut st, input.files, now);
    ticket.insert("_attachments".into(), json!(files));
    let status = u64_of(&ticket, "status").unwrap_or(5);
    ticket_input::status_stats(&mut ticket, 2, status, now);
    st.put_ticket(id, ticket);
    automation::ticket_created(&app, &mut st, id, now);
    let out = st
        .tickets
        .get(&id)
        .map(|t| render::ticket(&st, t, &app.base, Includes::default(), false))
        .unwrap_or(Value::Null);
    Ok(created(&app, &out, id))
}

/// `PUT /api/v2/tickets/{id}`.
pub(crate) async fn update(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    req: Request,
) -> Res {
    let id = path_id(&id)?;
    let input = read_input(req).await?;
    let now = app.now();
    let mut st = app.write();
    let mut ticket = live(&st, id)?.clone();
    let validated = validate(&st, &input.fields, false)?;
    let quiet = skips_close_notification(&input.fields);
    let mut changed = apply(&mut st, &mut ticket, validated, now);
    if !input.files.is_empty() {
        let files = store_uploads(&mut st, input.files, now);
        if let Some(Value::Array(list)) = ticket.get_mut("_attachments") {
            list.extend(files.into_iter().map(Value::from));
        }
        changed.push("attachments".to_owned());
    }
    st.put_ticket(id, ticket);
    automation::ticket_updated(&app, &mut st, (id, quiet), &changed, now);
    let out = st
        .tickets
        .get(&id)
        .map(|t| render::ticket(&st, t, &app.base, Includes::default(), false))
        .unwrap_or(Value::Null);
    Ok(reply(StatusCode::OK, &out))
}

/// A ticket that is not deleted; 404 otherwise.
pub(crate) fn live(st: &FreshdeskState, id: u64) -> Result<&Rec, ApiError> {
    st.tickets
        .get(&id)
        .filter(|t| !flag(t, "_deleted"))
        .ok_or_else(ApiError::not_found)
}

/// `DELETE /api/v2/tickets/{id}`: to the trash.
pub(crate) async fn destroy(State(app): State<Arc<App>>, Path(id): Path<String>) -> Res {
    let id = path_id(&id)?;
    let now = app.now();
    let mut st = app.write();
    live(&st, id)?;
    st.tickets.update(id, |t| {
        t.insert("_deleted".into(), json!(true));
        t.insert("updated_at".into(), json!(iso(now)));
    });
    Ok(no_content())
}

/// `PUT /api/v2/tickets/{id}/restore`.
pub(crate) async fn restore(State(app): State<Arc<App>>, Path(id): Path<String>) -> Res {
    let id = path_id(&id)?;
    let now = app.now();
    let mut st = app.write();
    st.tickets
        .get(&id)
        .filter(|t| flag(t, "_deleted"))
        .ok_or_else(ApiError::not_found)?;
    st.tickets.update(id, |t| {
        t.insert("_deleted".into(), json!(false));
        t.insert("updated_at".into(), json!(iso(now)));
    });
    Ok(no_content())
}

fn bulk_ids(body: &serde_json::Map<String, Value>) -> Result<(Vec<u64>, Value), ApiError> {
    let action = body.get("bulk_action").ok_or_else(|| {
        ApiError::field(
            "bulk_action",
            "It should be a/an key/value pair",
            "missing_field",
        )
    })?;
    let ids: Vec<u64> = action
        .get("ids")
        .and_then(Value::as_array)
        .map(|l| l.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default();
    if ids.is_empty() {
        return Err(ApiError::field(
            "ids",
            "It should be a/an Array",
            "missing_field",
        ));
    }
    Ok((ids, action.clone()))
}

fn new_job(app: &App, st: &mut FreshdeskState, data: Vec<Value>, now: i64) -> Response {
    let job_id = format!("{:032x}", st.other_ids.next_id() ^ 0x5EED_0000_0000);
    st.jobs.insert(
        job_id.clone(),
        json!({"id": job_id, "status": "completed", "progress": 100, "data": data,
            "created_at": iso(now), "updated_at": iso(now)}),
    );
    reply(
        StatusCode::ACCEPTED,
        &json!({"job_id": job_id, "href": format!("{}/api/v2/jobs/{job_id}", app.base)}),
    )
}

/// `POST /api/v2/tickets/bulk_update {"bulk_action": {"ids": […], "properties": {…}}}`: 202 and
/// a job (applied at once; the job reports each ticket).
pub(crate) async fn bulk_update(State(app): State<Arc<App>>, body: Bytes) -> Res {
    let body = body_object(&body)?;
    let (ids, action) = bulk_ids(&body)?;
    let properties = match action.get("properties") {
        Some(Value::Object(p)) => p.clone(),
        _ => {
            return Err(ApiError::field(
                "properties",
                "It should be a/an key/value pair",
                "missing_field",
            ));
        }
    };
    let now = app.now();
    let mut st = app.write();
    validate(&st, &properties, false)?;
    let quiet = skips_close_notification(&properties);
    let mut data = Vec::new();
    for id in ids {
        let Ok(ticket) = live(&st, id) else {
            data.push(json!({"id": id, "success": false, "errors": [{"code": "not_found"}]}));
            continue;
        };
        let mut ticket = ticket.clone();
        let validated = validate(&st, &properties, false)?;
        let changed = apply(&mut st, &mut ticket, validated, now);
        st.put_ticket(id, ticket);
        automation::ticket_updated(&app, &mut st, (id, quiet), &changed, now);
        data.push(json!({"id": id, "success": true}));
    }
    Ok(new_job(&app, &mut st, data, now))
}

/// `POST /api/v2/tickets/bulk_delete {"bulk_action": {"ids": […]}}`: 202 and a job.
pub(crate) async fn bulk_delete(State(app): State<Arc<App>>, body: Bytes) -> Res {
    let body = body_object(&body)?;
    let (ids, _) = bulk_ids(&body)?;
    let now = app.now();
    let mut st = app.write();
    let mut data = Vec::new();
    for id in ids {
        let ok = live(&st, id).is_ok();
        if ok {
            st.tickets.update(id, |t| {
                t.insert("_deleted".into(), json!(true));
                t.insert("updated_at".into(), json!(iso(now)));
            });
        }
        data.push(json!({"id": id, "success": ok}));
    }
    Ok(new_job(&app, &mut st, data, now))
}

/// `GET /api/v2/jobs/{id}`.
pub(crate) async fn job(State(app): State<Arc<App>>, Path(id): Path<String>) -> Res {
    let st = app.read();
    let job = st.jobs.get(&id).ok_or_else(ApiError::not_found)?;
    Ok(reply(StatusCode::OK, job))
}

/// `PUT /api/v2/tickets/merge {"primary_id", "ticket_ids": […], "convert_recepients_to_cc",
/// "note_in_primary": {"body", "private"}, "note_in_secondary": {"body", "private"}}`: the
/// secondaries are closed, each with a note pointing at the primary (Freshdesk's default text
/// unless `note_in_secondary` gives one), and the primary gets a note naming them
/// (`note_in_primary`). With `convert_recepients_to_cc` the secondaries' requesters and CCs
/// become CCs of the primary. Notes are private unless their `private` is `false`.
pub(crate) async fn merge(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    body: Bytes,
) -> Res {
    let body = body_object(&body)?;
    let primary = body
        .get("primary_id")
        .and_then(Value::as_u64)
        .ok_or_else(|| {
            ApiError::field(
                "primary_id",
                "It should be a/an Positive Integer",
                "missing_field",
            )
        })?;
    let secondaries: Vec<u64> = body
        .get("ticket_ids")
        .and_then(Value::as_array)
        .map(|l| l.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default();
    if secondaries.is_empty() || secondaries.contains(&primary) {
        return Err(ApiError::field(
            "ticket_ids",
            "It should contain elements other than the primary_id",
            "invalid_value",
        ));
    }
    let in_primary = merge_note(&body, "note_in_primary")?;
    let in_secondary = merge_note(&body, "note_in_secondary")?;
    let to_cc = body
        .get("convert_recepients_to_cc")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let now = app.now();
    let mut st = app.write();
    live(&st, primary)?;
    let missing: Vec<FieldError> = secondaries
        .iter()
        .filter(|id| live(&st, **id).is_err())
        .map(|id| {
            FieldError::new(
                "ticket_ids",
                format!("There is no ticket matching the given id {id}"),
                "invalid_value",
            )
        })
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::invalid(missing));
    }
    let mut ccs: Vec<Value> = Vec::new();
    for id in &secondaries {
        let (text, private) = in_secondary.clone().unwrap_or_else(|| {
            (
                format!("This ticket is closed and merged into ticket {primary}"),
                true,
            )
        });
        add_note(&mut st, *id, actor.agent_id, (&text, private), now);
        if to_cc && let Ok(t) = live(&st, *id) {
            ccs.extend(requester_and_ccs(&st, t));
        }
        st.tickets.update(*id, |t| {
            let old = u64_of(t, "status").unwrap_or(2);
            t.insert("status".into(), json!(5));
            t.insert("association_type".into(), Value::Null);
            ticket_input::status_stats(t, old, 5, now);
            t.insert("updated_at".into(), json!(iso(now)));
        });
    }
    let names: Vec<String> = secondaries.iter().map(u64::to_string).collect();
    let (text, private) = in_primary.unwrap_or_else(|| {
        (
            format!(
                "Tickets with ids {} were merged into this ticket",
                names.join(", ")
            ),
            true,
        )
    });
    add_note(&mut st, primary, actor.agent_id, (&text, private), now);
    st.tickets.update(primary, |t| {
        if !ccs.is_empty() {
            let mut list: Vec<Value> = t
                .get("cc_emails")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for cc in ccs.drain(..) {
                if !list.contains(&cc) {
                    list.push(cc);
                }
            }
            t.insert("cc_emails".into(), Value::Array(list));
        }
        t.insert("updated_at".into(), json!(iso(now)));
    });
    Ok(no_content())
}

/// A merge's note option (`{"body", "private"}`): its text and whether it is private.
fn merge_note(body: &Map<String, Value>, key: &str) -> Result<Option<(String, bool)>, ApiError> {
    let Some(note) = body.get(key).filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let text = note
        .get("body")
        .and_then(Value::as_str)
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| {
            ApiError::field(
                &format!("{key}.body"),
                "It should be a/an String",
                "missing_field",
            )
        })?;
    let private = note.get("private").and_then(Value::as_bool).unwrap_or(true);
    Ok(Some((text.to_owned(), private)))
}

/// The e-mail addresses of a ticket's requester and CCs, as CC entries.
fn requester_and_ccs(st: &FreshdeskState, t: &Rec) -> Vec<Value> {
    let mut out: Vec<Value> = t
        .get("cc_emails")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let requester = u64_of(t, "requester_id").and_then(|id| st.contacts.get(&id));
    if let Some(email) = requester
        .and_then(|c| c.get("email"))
        .filter(|e| e.is_string())
    {
        out.insert(0, email.clone());
    }
    out
}

fn add_note(
    st: &mut FreshdeskState,
    ticket_id: u64,
    user_id: u64,
    (text, private): (&str, bool),
    now: i64,
) {
    let id = st.conversation_ids.next_id();
    let html = format!("<div>{}</div>", crate::datagen::html_escape(text));
    st.put_conversation(conversation_record(&NewConversation {
        id,
        ticket_id,
        user_id,
        body_html: &html,
        body_text: text,
        incoming: false,
        private,
        source: 2,
        at: now,
    }));
}
