//! Incremental exports. Tickets and users by cursor (`start_time`, then `cursor`; `after_cursor`,
//! `end_of_stream`), and tickets, users, organizations and ticket events by time (`start_time`,
//! `end_time`, `next_page`, `count`). Pages hold up to 1,000 records and never the last minute's
//! changes. A time-based page ends at its last record's second, so records of that second come
//! again at the top of the next page, as on Zendesk; a page whose records all share one second
//! is extended to every record of that second and ends one second later, so paging never loops.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use super::app::App;
use super::errors::ApiError;
use super::json::{self, iso};
use super::listing::sideload_tickets;
use super::model::{Ticket, TicketEvent};
use super::routes::{GENERIC_SHAPE, Res, TICKET_SHAPE, USER_SHAPE, corrupt, reply};
use super::store::ZendeskState;
use crate::numbers::NumberSyntax;
use crate::page::QueryMap;

const MAX_PER_PAGE: usize = 1000;

fn per_page(query: &QueryMap) -> usize {
    query
        .uint("per_page", NumberSyntax::Zendesk)
        .and_then(Result::ok)
        .map_or(MAX_PER_PAGE, |n| usize::try_from(n).unwrap_or(MAX_PER_PAGE))
        .clamp(1, MAX_PER_PAGE)
}

/// Zendesk's cursor: base64 of `"{seconds}.0||{id}|"`.
fn encode_cursor(ts: i64, id: u64) -> String {
    STANDARD.encode(format!("{ts}.0||{id}|"))
}

fn decode_cursor(cursor: &str) -> Option<(i64, u64)> {
    let text = String::from_utf8(STANDARD.decode(cursor.trim()).ok()?).ok()?;
    let (ts, rest) = text.split_once("||")?;
    let ts = ts.split('.').next()?.parse().ok()?;
    Some((ts, rest.trim_end_matches('|').parse().ok()?))
}

fn invalid(description: &str) -> ApiError {
    ApiError::bad_request("InvalidValue", description)
}

/// Where a request starts: strictly after the returned `(time, id)` position.
fn start_position(
    query: &QueryMap,
    cutoff: i64,
    allow_cursor: bool,
) -> Result<(i64, u64, bool), ApiError> {
    if allow_cursor && let Some(c) = query.non_empty("cursor") {
        let (ts, id) = decode_cursor(c).ok_or_else(|| invalid("cursor is invalid"))?;
        return Ok((ts, id, true));
    }
    let start = query
        .int("start_time", NumberSyntax::Zendesk)
        .ok_or_else(|| invalid("start_time is required"))?
        .map_err(|_| invalid("start_time must be a Unix time in seconds"))?;
    if start > cutoff {
        return Err(invalid(
            "Too recent start_time. Use a start_time older than 1 minute",
        ));
    }
    Ok((start, 0, false))
}

/// Positions `(time, id)` eligible for export in order, from a sorted source.
fn window(
    sorted: impl Iterator<Item = (i64, u64)>,
    from: (i64, u64),
    inclusive: bool,
    cutoff: i64,
) -> impl Iterator<Item = (i64, u64)> {
    sorted
        .skip_while(move |p| if inclusive { *p < from } else { *p <= from })
        .take_while(move |(ts, _)| *ts < cutoff)
}

struct CursorPage {
    items: Vec<(i64, u64)>,
    end_of_stream: bool,
    after: (i64, u64),
}

fn cursor_page(
    sorted: impl Iterator<Item = (i64, u64)>,
    query: &QueryMap,
    cutoff: i64,
) -> Result<CursorPage, ApiError> {
    let (ts, id, from_cursor) = start_position(query, cutoff, true)?;
    let limit = per_page(query);
    let mut items: Vec<(i64, u64)> = window(sorted, (ts, id), !from_cursor, cutoff)
        .take(limit + 1)
        .collect();
    let end_of_stream = items.len() <= limit;
    items.truncate(limit);
    let after = items.last().copied().unwrap_or(if from_cursor {
        (ts, id)
    } else {
        (ts.saturating_sub(1), u64::MAX)
    });
    Ok(CursorPage {
        items,
        end_of_stream,
        after,
    })
}

fn cursor_envelope(
    app: &App,
    resource: &str,
    query: &QueryMap,
    key: &str,
    records: Vec<Value>,
    page: &CursorPage,
) -> Value {
    let cursor = encode_cursor(
        page.after.0,
        if page.after.1 == u64::MAX {
            0
        } else {
            page.after.1
        },
    );
    let mut extra = vec![("cursor", cursor.clone())];
    if let Some(n) = query.get("per_page") {
        extra.push(("per_page", n.to_owned()));
    }
    let url = format!(
        "{}/api/v2/incremental/{resource}/cursor.json?{}",
        app.base,
        QueryMap::default().rebuilt(&[], &extra)
    );
    let mut out = Map::new();
    out.insert("after_cursor".into(), json!(cursor));
    out.insert("after_url".into(), json!(url));
    out.insert("before_cursor".into(), Value::Null);
    out.insert("before_url".into(), Value::Null);
    out.insert("end_of_stream".into(), json!(page.end_of_stream));
    out.insert(key.into(), Value::Array(records));
    Value::Object(out)
}

struct TimePage {
    items: Vec<(i64, u64)>,
    end_of_stream: bool,
    end_time: i64,
}

fn time_page(
    sorted: impl Iterator<Item = (i64, u64)>,
    query: &QueryMap,
    cutoff: i64,
) -> Result<TimePage, ApiError> {
    let (start, _, _) = start_position(query, cutoff, false)?;
    let limit = per_page(query);
    let mut rest = window(sorted, (start, 0), true, cutoff);
    let mut items: Vec<(i64, u64)> = rest.by_ref().take(limit).collect();
    let Some(&(last_ts, _)) = items.last() else {
        return Ok(TimePage {
            items,
            end_of_stream: true,
            end_time: start,
        });
    };
    let mut peek = rest.peekable();
    if peek.peek().is_none() {
        return Ok(TimePage {
            items,
            end_of_stream: true,
            end_time: last_ts,
        });
    }
    if items.first().is_some_and(|(ts, _)| *ts == last_ts) {
        items.extend(peek.take_while(|(ts, _)| *ts == last_ts));
        return Ok(TimePage {
            items,
            end_of_stream: false,
            end_time: last_ts + 1,
        });
    }
    Ok(TimePage {
        items,
        end_of_stream: false,
        end_time: last_ts,
    })
}

fn time_envelope(
    app: &App,
    resource: &str,
    query: &QueryMap,
    key: &str,
    records: Vec<Value>,
    page: &TimePage,
) -> Value {
    let mut params = Vec::new();
    if let Some(n) = query.get("per_page") {
        params.push(("per_page", n.to_owned()));
    }
    params.push(("start_time", page.end_time.to_string()));
    let next = format!(
        "{}/api/v2/incremental/{resource}.json?{}",
        app.base,
        QueryMap::default().rebuilt(&[], &params)
    );
    let mut out = Map::new();
    out.insert("count".into(), json!(records.len()));
    out.insert("end_of_stream".into(), json!(page.end_of_stream));
    out.insert("end_time".into(), json!(page.end_time));
    out.insert("next_page".into(), json!(next));
    out.insert(key.into(), Value::Array(records));
    Value::Object(out)
}

fn ticket_records(
    app: &App,
    st: &ZendeskState,
    query: &QueryMap,
    ids: &[(i64, u64)],
    out: &mut Value,
    key: &str,
) {
    let exclude_deleted = query.get("exclude_deleted") == Some("true");
    let tickets: Vec<&Ticket> = ids
        .iter()
        .filter_map(|(_, id)| st.tickets.get(id))
        .filter(|t| !(exclude_deleted && t.deleted))
        .collect();
    let mut records: Vec<Value> = tickets
        .iter()
        .map(|t| json::ticket(st, t, &app.base, true))
        .collect();
    corrupt(app, &mut records, &TICKET_SHAPE);
    out[key] = Value::Array(records);
    sideload_tickets(st, &app.base, query, &tickets, out);
}

/// `GET /api/v2/incremental/tickets/cursor`.
pub(crate) async fn tickets_cursor(State(app): State<Arc<App>>, RawQuery(q): RawQuery) -> Res {
    let query = QueryMap::parse(q.as_deref());
    let cutoff = app.export_cutoff();
    let st = app.read();
    let page = cursor_page(st.ticket_index.iter().copied(), &query, cutoff)?;
    let mut out = cursor_envelope(&app, "tickets", &query, "tickets", Vec::new(), &page);
    ticket_records(&app, &st, &query, &page.items, &mut out, "tickets");
    Ok(reply(StatusCode::OK, &out))
}

/// `GET /api/v2/incremental/tickets` (time-based).
pub(crate) async fn tickets_time(State(app): State<Arc<App>>, RawQuery(q): RawQuery) -> Res {
    let query = QueryMap::parse(q.as_deref());
    let cutoff = app.export_cutoff();
    let st = app.read();
    let page = time_page(st.ticket_index.iter().copied(), &query, cutoff)?;
    let mut out = time_envelope(&app, "tickets", &query, "tickets", Vec::new(), &page);
    ticket_records(&app, &st, &query, &page.items, &mut out, "tickets");
    out["count"] = json!(out["tickets"].as_array().map_or(0, Vec::len));
    Ok(reply(StatusCode::OK, &out))
}

fn users_sorted(st: &ZendeskState) -> Vec<(i64, u64)> {
    let mut v: Vec<(i64, u64)> = st.users.values().map(|u| (u.updated_at, u.id)).collect();
    v.sort_unstable();
    v
}

fn user_records(app: &App, st: &ZendeskState, ids: &[(i64, u64)]) -> Vec<Value> {
    let mut records: Vec<Value> = ids
        .iter()
        .filter_map(|(_, id)| st.users.get(id))
        .map(|u| {
            let mut v = json::user(u, &app.base);
            // Only deleted users say whether they are gone for good (recordings).
            if !u.active {
                v["permanently_deleted"] = json!(false);
            }
            v
        })
        .collect();
    corrupt(app, &mut records, &USER_SHAPE);
    records
}

/// `GET /api/v2/incremental/users/cursor`.
pub(crate) async fn users_cursor(State(app): State<Arc<App>>, RawQuery(q): RawQuery) -> Res {
    let query = QueryMap::parse(q.as_deref());
    let cutoff = app.export_cutoff();
    let st = app.read();
    let page = cursor_page(users_sorted(&st).into_iter(), &query, cutoff)?;
    let records = user_records(&app, &st, &page.items);
    Ok(reply(
        StatusCode::OK,
        &cursor_envelope(&app, "users", &query, "users", records, &page),
    ))
}

/// `GET /api/v2/incremental/users` (time-based).
pub(crate) async fn users_time(State(app): State<Arc<App>>, RawQuery(q): RawQuery) -> Res {
    let query = QueryMap::parse(q.as_deref());
    let cutoff = app.export_cutoff();
    let st = app.read();
    let page = time_page(users_sorted(&st).into_iter(), &query, cutoff)?;
    let records = user_records(&app, &st, &page.items);
    Ok(reply(
        StatusCode::OK,
        &time_envelope(&app, "users", &query, "users", records, &page),
    ))
}

/// `GET /api/v2/incremental/organizations` (time-based).
pub(crate) async fn organizations_time(State(app): State<Arc<App>>, RawQuery(q): RawQuery) -> Res {
    let query = QueryMap::parse(q.as_deref());
    let cutoff = app.export_cutoff();
    let st = app.read();
    let mut sorted: Vec<(i64, u64)> = st.orgs.values().map(|o| (o.updated_at, o.id)).collect();
    sorted.sort_unstable();
    let page = time_page(sorted.into_iter(), &query, cutoff)?;
    let mut records: Vec<Value> = page
        .items
        .iter()
        .filter_map(|(_, id)| st.orgs.get(id))
        .map(|o| json::organization(o, &app.base))
        .collect();
    corrupt(&app, &mut records, &GENERIC_SHAPE);
    Ok(reply(
        StatusCode::OK,
        &time_envelope(
            &app,
            "organizations",
            &query,
            "organizations",
            records,
            &page,
        ),
    ))
}

fn child_events(st: &ZendeskState, e: &TicketEvent, with_comments: bool, base: &str) -> Vec<Value> {
    let mut children = Vec::new();
    let via = match e.via {
        "api" => "API",
        "email" => "Mail",
        _ => "Web form",
    };
    let changes: Vec<(String, Value, Value)> = if e.created && e.changes.is_empty() {
        st.tickets.get(&e.ticket_id).map_or_else(Vec::new, |t| {
            vec![
                ("subject".into(), Value::Null, json!(t.subject)),
                ("status".into(), Value::Null, json!("new")),
                (
                    "requester_id".into(),
                    Value::Null,
                    json!(t.requester_id.to_string()),
                ),
                (
                    "priority".into(),
                    Value::Null,
                    json!(t.priority.map(|p| p.as_str())),
                ),
            ]
        })
    } else {
        e.changes.clone()
    };
    for (n, (field, previous, value)) in changes.iter().enumerate() {
        let mut child = json!({"id": e.id * 32 + n as u64 + 1, "via": via, "via_reference_id": null,
                               "event_type": if e.created { "Create" } else { "Change" }, "field_name": field});
        child[field.as_str()] = value.clone();
        if !e.created {
            child["previous_value"] = previous.clone();
        }
        children.push(child);
    }
    let ticket = st.tickets.get(&e.ticket_id);
    for cid in &e.comment_ids {
        let comment = ticket.and_then(|t| comment_by_id(st, t, *cid));
        match (with_comments, comment.as_ref()) {
            // The comment as the ticket's comments list shows it with its inline images (its
            // attachments' metadata whole), plus the event's fields.
            (true, Some(c)) => {
                let mut child = json::comment(st, c, base);
                child["event_type"] = json!("Comment");
                child["via_reference_id"] = Value::Null;
                children.push(child);
            }
            (_, c) => children.push(json!({"id": cid, "comment_present": c.is_some(), "comment_public": c.is_some_and(|c| c.public)})),
        }
    }
    children
}

/// Comment `id` of ticket `t` (a generated one rebuilt alone, not with all the others).
fn comment_by_id(st: &ZendeskState, t: &Ticket, id: u64) -> Option<super::model::Comment> {
    match t.generated {
        Some(g) if (g.first_id..g.first_id + u64::from(g.count)).contains(&id) => {
            let idx = u32::try_from(id - g.first_id).ok()?;
            Some(super::seed::generated_comment(st, t, idx))
        }
        _ => t.comments.iter().find(|c| c.id == id).cloned(),
    }
}

/// Breaks comments among the events' children as the comments list breaks them (malformed
/// records, when the faults say so).
fn corrupt_comments(app: &App, records: &mut [Value]) {
    if !app.faults.corrupting() {
        return;
    }
    for record in records {
        let Some(children) = record.get_mut("child_events").and_then(Value::as_array_mut) else {
            continue;
        };
        for child in children
            .iter_mut()
            .filter(|c| c.get("event_type").and_then(Value::as_str) == Some("Comment"))
        {
            corrupt(app, std::slice::from_mut(child), &GENERIC_SHAPE);
        }
    }
}

/// `GET /api/v2/incremental/ticket_events` (time-based; `include=comment_events`).
pub(crate) async fn ticket_events(State(app): State<Arc<App>>, RawQuery(q): RawQuery) -> Res {
    let query = QueryMap::parse(q.as_deref());
    let cutoff = app.export_cutoff();
    let with_comments = query.list("include").iter().any(|i| i == "comment_events");
    let st = app.read();
    let mut order: Vec<(i64, u64, usize)> = st
        .events
        .iter()
        .enumerate()
        .map(|(i, e)| (e.timestamp, e.id, i))
        .collect();
    order.sort_unstable();
    let page = time_page(order.iter().map(|(ts, id, _)| (*ts, *id)), &query, cutoff)?;
    let by_id: std::collections::HashMap<u64, usize> =
        order.iter().map(|(_, id, i)| (*id, *i)).collect();
    let mut records: Vec<Value> = page
        .items
        .iter()
        .filter_map(|(_, id)| by_id.get(id).and_then(|i| st.events.get(*i)))
        .map(|e| json!({
            "id": e.id, "ticket_id": e.ticket_id, "timestamp": e.timestamp, "created_at": iso(e.timestamp),
            "updater_id": e.updater_id, "via": e.via, "event_type": "Audit", "merged_ticket_ids": [],
            "system": {"client": "cutover-sim", "ip_address": "127.0.0.1", "latitude": 0.0, "location": "Localhost", "longitude": 0.0},
            "child_events": child_events(&st, e, with_comments, &app.base),
        }))
        .collect();
    if with_comments {
        corrupt_comments(&app, &mut records);
    }
    Ok(reply(
        StatusCode::OK,
        &time_envelope(
            &app,
            "ticket_events",
            &query,
            "ticket_events",
            records,
            &page,
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> QueryMap {
        QueryMap::parse(Some(s))
    }

    #[test]
    fn cursors_look_like_zendesks() {
        assert_eq!(
            encode_cursor(1_695_062_724, 1571),
            "MTY5NTA2MjcyNC4wfHwxNTcxfA=="
        );
        assert_eq!(
            decode_cursor("MTY5NTA2MjcyNC4wfHwxNTcxfA=="),
            Some((1_695_062_724, 1571))
        );
    }

    #[test]
    fn time_pages_repeat_the_boundary_second() {
        let rows = [(10, 1), (10, 2), (11, 3), (11, 4), (12, 5)];
        let page = time_page(rows.iter().copied(), &q("start_time=0&per_page=3"), 100).unwrap();
        assert_eq!(page.items, vec![(10, 1), (10, 2), (11, 3)]);
        assert_eq!((page.end_time, page.end_of_stream), (11, false));
        let next = time_page(rows.iter().copied(), &q("start_time=11&per_page=3"), 100).unwrap();
        assert_eq!(
            next.items,
            vec![(11, 3), (11, 4), (12, 5)],
            "record 3 comes again"
        );
        assert!(next.end_of_stream);
    }

    #[test]
    fn a_page_of_one_second_grows_and_moves_on() {
        let rows = [(10, 1), (10, 2), (10, 3), (11, 4)];
        let page = time_page(rows.iter().copied(), &q("start_time=0&per_page=1"), 100).unwrap();
        assert_eq!(page.items.len(), 3);
        assert_eq!((page.end_time, page.end_of_stream), (11, false));
    }

    #[test]
    fn the_last_minute_is_left_out() {
        let rows = [(10, 1), (95, 2)];
        let page = cursor_page(rows.iter().copied(), &q("start_time=0"), 90).unwrap();
        assert_eq!(page.items, vec![(10, 1)]);
        assert!(page.end_of_stream);
        assert!(start_position(&q("start_time=95"), 90, true).is_err());
    }
}
