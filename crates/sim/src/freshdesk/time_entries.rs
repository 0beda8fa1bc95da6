//! Time entries: `/api/v2/time_entries` (filtered by agent, company, execution time and
//! billability, paginated), a ticket's entries at `/api/v2/tickets/{id}/time_entries`, one
//! entry's read/update/delete and its timer toggle. Time logged while the timer was stopped is
//! kept in seconds (`_spent`); a running timer adds the time since `start_time` when shown.

use std::sync::Arc;

use axum::Extension;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use rand::RngExt;
use serde_json::{Map, Value, json};

use super::app::App;
use super::auth::Actor;
use super::errors::{ApiError, FieldError};
use super::routes::{
    GENERIC_SHAPE, Res, body_object, corrupt, no_content, page_reply, paging, path_id, reply,
};
use super::store::{FreshdeskState, Rec, flag, iso, parse_time, time_of, u64_of};
use crate::datagen::{pick, rng_for};
use crate::numbers::NumberSyntax;
use crate::page::QueryMap;

/// Fields a create or update may carry.
const FIELDS: [&str; 7] = [
    "agent_id",
    "billable",
    "executed_at",
    "note",
    "start_time",
    "time_spent",
    "timer_running",
];

/// Routes of this module.
pub(crate) fn routes(r: Router<Arc<App>>) -> Router<Arc<App>> {
    r.route("/api/v2/time_entries", get(list))
        .route(
            "/api/v2/tickets/{id}/time_entries",
            get(of_ticket).post(create),
        )
        .route(
            "/api/v2/time_entries/{id}",
            get(show).put(update).delete(destroy),
        )
        .route("/api/v2/time_entries/{id}/toggle_timer", put(toggle))
}

/// `hh:mm` for a number of seconds (minutes rounded down).
pub(crate) fn hhmm(seconds: i64) -> String {
    let minutes = seconds.max(0) / 60;
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// `hh:mm` (hours of any length, minutes below 60) as seconds.
pub(crate) fn parse_hhmm(raw: &str) -> Option<i64> {
    let (h, m) = raw.split_once(':')?;
    if h.is_empty() || m.len() != 2 || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    (m < 60).then_some(h * 3600 + m * 60)
}

/// An entry as the API shows it at `now`.
fn render(rec: &Rec, now: i64) -> Value {
    let mut spent = rec.get("_spent").and_then(Value::as_i64).unwrap_or(0);
    if flag(rec, "timer_running") {
        spent += (now - time_of(rec, "start_time")).max(0);
    }
    let mut out: Map<String, Value> = rec
        .iter()
        .filter(|(k, _)| !k.starts_with('_'))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    out.insert("time_spent".into(), json!(hhmm(spent)));
    Value::Object(out)
}

/// Newest execution first, then by id.
fn sorted<'a>(entries: impl Iterator<Item = &'a Rec>) -> Vec<&'a Rec> {
    let mut v: Vec<&Rec> = entries.collect();
    v.sort_by_key(|e| {
        (
            std::cmp::Reverse(time_of(e, "executed_at")),
            u64_of(e, "id").unwrap_or(0),
        )
    });
    v
}

fn bad_number(query: &QueryMap, key: &str, errors: &mut Vec<FieldError>) -> Option<u64> {
    let parsed = query.uint(key, NumberSyntax::Freshdesk)?.ok();
    if parsed.is_none() {
        errors.push(FieldError::new(
            key,
            "It should be a Positive Integer",
            "invalid_value",
        ));
    }
    parsed
}

fn bad_time(query: &QueryMap, key: &str, errors: &mut Vec<FieldError>) -> Option<i64> {
    let raw = query.non_empty(key)?;
    let parsed = parse_time(raw);
    if parsed.is_none() {
        errors.push(FieldError::new(
            key,
            "It should be in the 'valid date' format",
            "invalid_date",
        ));
    }
    parsed
}

async fn list(State(app): State<Arc<App>>, RawQuery(q): RawQuery) -> Res {
    let query = QueryMap::parse(q.as_deref());
    let mut errors = Vec::new();
    let agent = bad_number(&query, "agent_id", &mut errors);
    let company = bad_number(&query, "company_id", &mut errors);
    let after = bad_time(&query, "executed_after", &mut errors);
    let before = bad_time(&query, "executed_before", &mut errors);
    let billable = match query.non_empty("billable") {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => {
            errors.push(FieldError::not_one_of("billable", "true,false"));
            None
        }
    };
    let paging = match paging(&query, None) {
        Ok(p) => p,
        Err(e) if errors.is_empty() => return Err(e),
        Err(_) => return Err(ApiError::invalid(errors)),
    };
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let now = app.now();
    let st = app.read();
    let mut items: Vec<Value> = sorted(st.time_entries.values().filter(|e| {
        let at = time_of(e, "executed_at");
        agent.is_none_or(|a| u64_of(e, "agent_id") == Some(a))
            && company.is_none_or(|c| u64_of(e, "company_id") == Some(c))
            && after.is_none_or(|t| at >= t)
            && before.is_none_or(|t| at <= t)
            && billable.is_none_or(|b| flag(e, "billable") == b)
    }))
    .into_iter()
    .map(|e| render(e, now))
    .collect();
    drop(st);
    corrupt(&app, &mut items, &GENERIC_SHAPE);
    Ok(page_reply(
        &app,
        "/api/v2/time_entries",
        &query,
        paging,
        items,
    ))
}

/// A live (not deleted) ticket, or 404.
fn live_ticket(st: &FreshdeskState, id: u64) -> Result<&Rec, ApiError> {
    st.tickets
        .get(&id)
        .filter(|t| !flag(t, "_deleted") && !flag(t, "deleted"))
        .ok_or_else(ApiError::not_found)
}

async fn of_ticket(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Res {
    let id = path_id(&id)?;
    let query = QueryMap::parse(q.as_deref());
    let paging = paging(&query, None)?;
    let now = app.now();
    let st = app.read();
    live_ticket(&st, id)?;
    let mut items: Vec<Value> = sorted(
        st.time_entries
            .values()
            .filter(|e| u64_of(e, "ticket_id") == Some(id)),
    )
    .into_iter()
    .map(|e| render(e, now))
    .collect();
    drop(st);
    corrupt(&app, &mut items, &GENERIC_SHAPE);
    let path = format!("/api/v2/tickets/{id}/time_entries");
    Ok(page_reply(&app, &path, &query, paging, items))
}

/// Checks a body's fields; the parsed times and duration.
struct Checked {
    spent: Option<i64>,
    executed_at: Option<i64>,
    start_time: Option<i64>,
}

fn check(st: &FreshdeskState, body: &Map<String, Value>) -> Result<Checked, ApiError> {
    let mut errors = Vec::new();
    for key in body.keys().filter(|k| !FIELDS.contains(&k.as_str())) {
        errors.push(FieldError::unexpected(key));
    }
    if let Some(v) = body.get("agent_id") {
        match v.as_u64() {
            None => errors.push(FieldError::mismatch(
                "agent_id",
                "Positive Integer",
                type_name(v),
            )),
            Some(a) if !st.agents.contains_key(&a) => errors.push(FieldError::new(
                "agent_id",
                "There is no agent matching the given agent_id",
                "invalid_value",
            )),
            Some(_) => {}
        }
    }
    for key in ["billable", "timer_running"] {
        if let Some(v) = body.get(key)
            && !v.is_boolean()
        {
            errors.push(FieldError::mismatch(key, "Boolean", type_name(v)));
        }
    }
    if let Some(v) = body.get("note")
        && !v.is_string()
        && !v.is_null()
    {
        errors.push(FieldError::mismatch("note", "String", type_name(v)));
    }
    let mut time = |key: &str| -> Option<i64> {
        let v = body.get(key)?;
        let parsed = v.as_str().and_then(parse_time);
        if parsed.is_none() {
            errors.push(FieldError::new(
                key,
                "It should be in the 'valid date' format",
                "invalid_date",
            ));
        }
        parsed
    };
    let executed_at = time("executed_at");
    let start_time = time("start_time");
    let spent = body.get("time_spent").and_then(|v| {
        let parsed = v.as_str().and_then(parse_hhmm);
        if parsed.is_none() {
            errors.push(FieldError::new(
                "time_spent",
                "It should be in the 'hh:mm' format",
                "invalid_value",
            ));
        }
        parsed
    });
    if body.get("timer_running") == Some(&Value::Bool(false)) && body.contains_key("start_time") {
        errors.push(FieldError::new(
            "start_time",
            "Should be blank if timer_running is false",
            "incompatible_field",
        ));
    }
    if errors.is_empty() {
        Ok(Checked {
            spent,
            executed_at,
            start_time,
        })
    } else {
        Err(ApiError::invalid(errors))
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Number(_) => "Number",
        Value::String(_) => "String",
        Value::Array(_) => "Array",
        Value::Object(_) => "key/value pair",
    }
}

async fn create(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    body: Bytes,
) -> Res {
    let ticket_id = path_id(&id)?;
    let body = body_object(&body)?;
    let now = app.now();
    let mut st = app.write();
    let company = live_ticket(&st, ticket_id)?.get("company_id").cloned();
    let checked = check(&st, &body)?;
    let running = body
        .get("timer_running")
        .and_then(Value::as_bool)
        .unwrap_or(checked.spent.is_none());
    let id = st.time_entry_ids.next_id();
    let agent = body
        .get("agent_id")
        .and_then(Value::as_u64)
        .unwrap_or(actor.agent_id);
    let rec = entry(&EntryParts {
        id,
        ticket_id,
        agent_id: agent,
        company_id: company.unwrap_or(Value::Null),
        billable: body
            .get("billable")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        note: body.get("note").and_then(Value::as_str).unwrap_or(""),
        running,
        spent: checked.spent.unwrap_or(0),
        executed_at: checked.executed_at.unwrap_or(now),
        start_time: checked.start_time.unwrap_or(now),
        created_at: now,
    });
    let shown = render(&rec, now);
    st.time_entries.insert(id, rec);
    Ok(reply(StatusCode::CREATED, &shown))
}

/// What a new entry is made of.
struct EntryParts<'a> {
    id: u64,
    ticket_id: u64,
    agent_id: u64,
    company_id: Value,
    billable: bool,
    note: &'a str,
    running: bool,
    spent: i64,
    executed_at: i64,
    start_time: i64,
    created_at: i64,
}

fn entry(p: &EntryParts<'_>) -> Rec {
    match json!({
        "id": p.id, "ticket_id": p.ticket_id, "agent_id": p.agent_id, "company_id": p.company_id,
        "billable": p.billable, "note": p.note, "timer_running": p.running,
        "executed_at": iso(p.executed_at), "start_time": iso(p.start_time),
        "created_at": iso(p.created_at), "updated_at": iso(p.created_at), "_spent": p.spent,
    }) {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

async fn show(State(app): State<Arc<App>>, Path(id): Path<String>) -> Res {
    let id = path_id(&id)?;
    let now = app.now();
    let st = app.read();
    let e = st.time_entries.get(&id).ok_or_else(ApiError::not_found)?;
    Ok(reply(StatusCode::OK, &render(e, now)))
}

/// Stops a running timer: the time since `start_time` joins `_spent`.
fn stop(e: &mut Rec, now: i64) {
    if flag(e, "timer_running") {
        let spent = e.get("_spent").and_then(Value::as_i64).unwrap_or(0)
            + (now - time_of(e, "start_time")).max(0);
        e.insert("_spent".into(), json!(spent));
        e.insert("timer_running".into(), json!(false));
    }
}

/// Starts a stopped timer from `now`.
fn start(e: &mut Rec, now: i64) {
    if !flag(e, "timer_running") {
        e.insert("timer_running".into(), json!(true));
        e.insert("start_time".into(), json!(iso(now)));
    }
}

async fn update(State(app): State<Arc<App>>, Path(id): Path<String>, body: Bytes) -> Res {
    let id = path_id(&id)?;
    let body = body_object(&body)?;
    let now = app.now();
    let mut st = app.write();
    if !st.time_entries.contains_key(&id) {
        return Err(ApiError::not_found());
    }
    let checked = check(&st, &body)?;
    let e = st
        .time_entries
        .get_mut(&id)
        .ok_or_else(ApiError::not_found)?;
    if let Some(spent) = checked.spent {
        // A given duration replaces what was logged; a running timer restarts from now.
        e.insert("_spent".into(), json!(spent));
        if flag(e, "timer_running") {
            e.insert("start_time".into(), json!(iso(now)));
        }
    }
    match body.get("timer_running").and_then(Value::as_bool) {
        Some(true) => start(e, now),
        Some(false) => stop(e, now),
        None => {}
    }
    if let Some(t) = checked.start_time {
        e.insert("start_time".into(), json!(iso(t)));
    }
    if let Some(t) = checked.executed_at {
        e.insert("executed_at".into(), json!(iso(t)));
    }
    for key in ["agent_id", "billable"] {
        if let Some(v) = body.get(key) {
            e.insert(key.into(), v.clone());
        }
    }
    if let Some(v) = body.get("note") {
        e.insert("note".into(), json!(v.as_str().unwrap_or("")));
    }
    e.insert("updated_at".into(), json!(iso(now)));
    Ok(reply(StatusCode::OK, &render(e, now)))
}

async fn destroy(State(app): State<Arc<App>>, Path(id): Path<String>) -> Res {
    let id = path_id(&id)?;
    app.write()
        .time_entries
        .remove(&id)
        .ok_or_else(ApiError::not_found)?;
    Ok(no_content())
}

async fn toggle(State(app): State<Arc<App>>, Path(id): Path<String>) -> Res {
    let id = path_id(&id)?;
    let now = app.now();
    let mut st = app.write();
    let e = st
        .time_entries
        .get_mut(&id)
        .ok_or_else(ApiError::not_found)?;
    if flag(e, "timer_running") {
        stop(e, now);
    } else {
        start(e, now);
    }
    e.insert("updated_at".into(), json!(iso(now)));
    Ok(reply(StatusCode::OK, &render(e, now)))
}

/// Seeds one to three stopped entries on every third ticket, from the seed alone.
pub(crate) fn seed(st: &mut FreshdeskState) {
    let agents: Vec<u64> = st.agents.keys().copied().collect();
    if agents.is_empty() {
        return;
    }
    let tickets: Vec<(u64, i64, Value, Option<u64>)> = st
        .tickets
        .values()
        .filter_map(|t| {
            let id = u64_of(t, "id")?;
            (id % 3 == 0).then(|| {
                (
                    id,
                    time_of(t, "created_at"),
                    t.get("company_id").cloned().unwrap_or(Value::Null),
                    u64_of(t, "responder_id"),
                )
            })
        })
        .collect();
    for (ticket_id, created, company, responder) in tickets {
        let mut rng = rng_for(st.seed, 0xF7, ticket_id);
        for n in 0..rng.random_range(1..=3u32) {
            let agent = responder.unwrap_or_else(|| *pick(&mut rng, &agents));
            let start = created + i64::from(n + 1) * rng.random_range(1_800..28_800);
            let spent = rng.random_range(1..=24) * 5 * 60;
            let note = *pick(
                &mut rng,
                &[
                    "",
                    "Investigated the logs",
                    "Called the customer",
                    "Wrote the fix",
                ],
            );
            let id = st.time_entry_ids.next_id();
            let rec = entry(&EntryParts {
                id,
                ticket_id,
                agent_id: agent,
                company_id: company.clone(),
                billable: rng.random_bool(0.7),
                note,
                running: false,
                spent,
                executed_at: start,
                start_time: start,
                created_at: start + spent,
            });
            st.time_entries.insert(id, rec);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_and_print_as_hours_and_minutes() {
        assert_eq!(parse_hhmm("00:15"), Some(900));
        assert_eq!(parse_hhmm("12:05"), Some(43_500));
        assert_eq!(parse_hhmm("100:00"), Some(360_000));
        assert_eq!(parse_hhmm("1:60"), None);
        assert_eq!(parse_hhmm("1:5"), None);
        assert_eq!(parse_hhmm("abc"), None);
        assert_eq!(parse_hhmm(":15"), None);
        assert_eq!(hhmm(900), "00:15");
        assert_eq!(hhmm(43_559), "12:05");
        assert_eq!(hhmm(-5), "00:00");
    }

    #[test]
    fn a_running_timer_counts_up_to_now() {
        let rec = entry(&EntryParts {
            id: 1,
            ticket_id: 1,
            agent_id: 2,
            company_id: Value::Null,
            billable: true,
            note: "",
            running: true,
            spent: 600,
            executed_at: 0,
            start_time: 1_000,
            created_at: 1_000,
        });
        assert_eq!(render(&rec, 1_000 + 3_600)["time_spent"], "01:10");
        let mut stopped = rec.clone();
        stop(&mut stopped, 1_000 + 120);
        assert_eq!(render(&stopped, 99_999)["time_spent"], "00:12");
        assert_eq!(stopped.get("note"), Some(&json!("")));
    }
}
