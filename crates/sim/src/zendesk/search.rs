//! Search: `/search` (offset pages, at most 1,000 results), `/search/count` and `/search/export`
//! (cursor pages). Understood: `type:`, `status:` (also `<`, `>`, `<=`, `>=`), `priority:`,
//! `requester:` (e-mail, id or `me`), `assignee:`, `organization:`, `group:`, `tags:`,
//! `created`/`updated`/`solved` with `:`, `<`, `>` and a date, `email:`, `name:`,
//! `external_id:`, `role:`, and free text (subject, description, name, e-mail). With lateness on,
//! the search engine sees writes only after the lag (see [`crate::lateness`]).

use std::sync::Arc;

use axum::Extension;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::app::App;
use super::auth::Actor;
use super::errors::ApiError;
use super::json::{self, parse_time};
use super::model::{Status, Ticket, User};
use super::routes::{Res, reply};
use super::store::ZendeskState;
use crate::numbers::NumberSyntax;
use crate::page::{self, PageRequest, QueryMap};

#[derive(Debug, Clone, PartialEq)]
struct Term {
    key: String,
    op: &'static str,
    value: String,
}

fn tokens(query: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in query.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn parse_terms(query: &str) -> Vec<Term> {
    tokens(query)
        .into_iter()
        .map(|t| {
            for op in [">=", "<=", ":", ">", "<"] {
                if let Some((k, v)) = t.split_once(op)
                    && !k.is_empty()
                    && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    return Term {
                        key: k.to_lowercase(),
                        op,
                        value: v.to_owned(),
                    };
                }
            }
            Term {
                key: String::new(),
                op: ":",
                value: t,
            }
        })
        .collect()
}

fn compare<T: PartialOrd>(actual: T, op: &str, wanted: T) -> bool {
    match op {
        ">" => actual > wanted,
        "<" => actual < wanted,
        ">=" => actual >= wanted,
        "<=" => actual <= wanted,
        _ => actual == wanted,
    }
}

fn user_ref(st: &ZendeskState, actor: &Actor, value: &str) -> Option<u64> {
    match value {
        "me" => Some(actor.user_id),
        v => v.parse().ok().or_else(|| st.user_by_email(v).map(|u| u.id)),
    }
}

fn time_matches(actual: Option<i64>, op: &str, value: &str) -> bool {
    let Some(wanted) = parse_time(value) else {
        return false;
    };
    let Some(actual) = actual else { return false };
    if op == ":" && value.len() == 10 {
        return actual >= wanted && actual < wanted + 86_400;
    }
    compare(actual, op, wanted)
}

fn ticket_matches(st: &ZendeskState, actor: &Actor, t: &Ticket, term: &Term) -> bool {
    let v = term.value.to_lowercase();
    match term.key.as_str() {
        "type" | "ticket_type"
            if term.key == "type"
                && ["ticket", "user", "organization", "group"].contains(&v.as_str()) =>
        {
            true
        }
        "type" | "ticket_type" => t.kind.is_some_and(|k| k.as_str() == v),
        "status" => Status::parse(&v).is_some_and(|s| compare(t.status as u8, term.op, s as u8)),
        "priority" => t.priority.is_some_and(|p| p.as_str() == v),
        "requester" => user_ref(st, actor, &v) == Some(t.requester_id),
        "assignee" => {
            if v == "none" {
                t.assignee_id.is_none()
            } else {
                user_ref(st, actor, &v).is_some() && user_ref(st, actor, &v) == t.assignee_id
            }
        }
        "organization" => {
            t.organization_id.map(|o| o.to_string()) == Some(v.clone())
                || t.organization_id
                    .and_then(|o| st.orgs.get(&o))
                    .is_some_and(|o| o.name.to_lowercase() == v)
        }
        "group" => {
            t.group_id.map(|g| g.to_string()) == Some(v.clone())
                || t.group_id
                    .and_then(|g| st.groups.get(&g))
                    .is_some_and(|g| g.name.to_lowercase() == v)
        }
        "tags" | "tag" => t.tags.contains(&v),
        "created" | "created_at" => time_matches(Some(t.created_at), term.op, &v),
        "updated" | "updated_at" => time_matches(Some(t.updated_at), term.op, &v),
        "solved" => time_matches(t.solved_at, term.op, &v),
        "external_id" => t.external_id.as_deref() == Some(term.value.as_str()),
        "subject" => t.subject.to_lowercase().contains(&v),
        "" => {
            t.subject.to_lowercase().contains(&v)
                || super::seed::description(st, t).to_lowercase().contains(&v)
        }
        _ => false,
    }
}

fn user_matches(u: &User, term: &Term) -> bool {
    let v = term.value.to_lowercase();
    let email = u.email.as_deref().unwrap_or_default().to_lowercase();
    match term.key.as_str() {
        "type" => true,
        "email" => email == v,
        "name" => u.name.to_lowercase().contains(&v),
        "role" => u.role.as_str() == v,
        "external_id" => u.external_id.as_deref() == Some(term.value.as_str()),
        "organization" => u.organization_id.map(|o| o.to_string()) == Some(v),
        "created" | "created_at" => time_matches(Some(u.created_at), term.op, &v),
        "updated" | "updated_at" => time_matches(Some(u.updated_at), term.op, &v),
        "tags" | "tag" => u.tags.contains(&v),
        "" => email.contains(&v) || u.name.to_lowercase().contains(&v),
        _ => false,
    }
}

/// The type a query asks for (`ticket` when it does not say).
fn wanted_type(terms: &[Term], filter: Option<&str>) -> String {
    filter
        .map(str::to_owned)
        .or_else(|| {
            terms
                .iter()
                .find(|t| {
                    t.key == "type"
                        && ["ticket", "user", "organization", "group"].contains(&t.value.as_str())
                })
                .map(|t| t.value.clone())
        })
        .unwrap_or_else(|| "ticket".into())
}

/// Ids of matching records (ascending), as the search engine sees them: late when lateness is
/// on (records written within the lag as they were; see [`crate::lateness`]).
fn matching(st: &ZendeskState, actor: &Actor, terms: &[Term], kind: &str) -> Vec<u64> {
    let behind = st.searched.behind();
    match kind {
        "user" => {
            let stored = st.users.iter().map(|(id, u)| (*id, u));
            st.searched
                .users
                .searched(stored, behind)
                .filter(|(_, u)| terms.iter().all(|t| user_matches(u, t)))
                .map(|(id, _)| id)
                .collect()
        }
        "organization" => {
            let stored = st.orgs.iter().map(|(id, o)| (*id, o));
            st.searched
                .orgs
                .searched(stored, behind)
                .filter(|(_, o)| {
                    terms.iter().all(|t| {
                        t.key == "type"
                            || (t.key.is_empty() || t.key == "name")
                                && o.name.to_lowercase().contains(&t.value.to_lowercase())
                            || t.key == "external_id"
                                && o.external_id.as_deref() == Some(t.value.as_str())
                    })
                })
                .map(|(id, _)| id)
                .collect()
        }
        "group" => st
            .groups
            .values()
            .filter(|g| {
                !g.deleted
                    && terms.iter().all(|t| {
                        t.key == "type" || g.name.to_lowercase().contains(&t.value.to_lowercase())
                    })
            })
            .map(|g| g.id)
            .collect(),
        _ => {
            let stored = st.tickets.iter().map(|(id, t)| (*id, t));
            st.searched
                .tickets
                .searched(stored, behind)
                .filter(|(_, t)| {
                    !t.deleted && terms.iter().all(|term| ticket_matches(st, actor, t, term))
                })
                .map(|(id, _)| id)
                .collect()
        }
    }
}

/// A matching record as stored (none when it was removed since the index last saw it).
fn render(st: &ZendeskState, base: &str, kind: &str, id: u64) -> Option<Value> {
    let mut v = match kind {
        "user" => json::user(st.users.get(&id)?, base),
        "organization" => json::organization(st.orgs.get(&id)?, base),
        "group" => json::group(st.groups.get(&id)?, base),
        _ => json::ticket(st, st.tickets.get(&id)?, base, false),
    };
    v["result_type"] = json!(kind);
    Some(v)
}

fn sort(st: &ZendeskState, ids: &mut [u64], kind: &str, query: &QueryMap) {
    let desc = query.get("sort_order") == Some("desc");
    if kind == "ticket" {
        let key = query.get("sort_by").unwrap_or_default();
        ids.sort_by_key(|id| {
            let t = st.tickets.get(id);
            match key {
                "created_at" => t.map_or(0, |t| t.created_at),
                "updated_at" => t.map_or(0, |t| t.updated_at),
                "status" => t.map_or(0, |t| i64::from(t.status as u8)),
                _ => *id as i64,
            }
        });
    }
    if desc {
        ids.reverse();
    }
}

/// `GET /api/v2/search?query=`.
pub(crate) async fn search(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    RawQuery(q): RawQuery,
) -> Res {
    let query = QueryMap::parse(q.as_deref());
    let text = query.get("query").unwrap_or_default().to_owned();
    let terms = parse_terms(&text);
    let kind = wanted_type(&terms, None);
    let number = |key: &str| query.uint(key, NumberSyntax::Zendesk).and_then(Result::ok);
    let per_page = number("per_page").map_or(100, |n| n.clamp(1, 100) as usize);
    let page = number("page").unwrap_or(1).max(1);
    if (page - 1) * per_page as u64 >= 1000 {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"error": "invalid", "description": "Invalid search: Requested response size was greater than Search Response Limits"}),
        ));
    }
    let st = app.read();
    let mut ids = matching(&st, &actor, &terms, &kind);
    sort(&st, &mut ids, &kind, &query);
    let count = ids.len();
    let selected = page::select(
        ids.into_iter().take(1000),
        &PageRequest::Offset { page, per_page },
    );
    let results: Vec<Value> = selected
        .ids
        .iter()
        .filter_map(|id| render(&st, &app.base, &kind, *id))
        .collect();
    let page_url = |n: u64| {
        format!(
            "{}/api/v2/search.json?{}",
            app.base,
            query.rebuilt(&["page"], &[("page", n.to_string())])
        )
    };
    let has_next = (page * per_page as u64) < count.min(1000) as u64;
    let out = json!({
        "results": results, "facets": null, "count": count,
        "next_page": has_next.then(|| page_url(page + 1)), "previous_page": (page > 1).then(|| page_url(page - 1)),
    });
    Ok(reply(StatusCode::OK, &out))
}

/// `GET /api/v2/search/count?query=`.
pub(crate) async fn count(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    RawQuery(q): RawQuery,
) -> Res {
    let query = QueryMap::parse(q.as_deref());
    let terms = parse_terms(query.get("query").unwrap_or_default());
    let kind = wanted_type(&terms, None);
    let n = matching(&app.read(), &actor, &terms, &kind).len();
    Ok(reply(StatusCode::OK, &json!({"count": n})))
}

/// `GET /api/v2/search/export?query=&filter[type]=` (cursor pages up to 1,000).
pub(crate) async fn export(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    RawQuery(q): RawQuery,
) -> Res {
    let query = QueryMap::parse(q.as_deref());
    let Some(kind) = query.non_empty("filter[type]").map(str::to_owned) else {
        return Err(ApiError::bad_request(
            "InvalidPaginationParameter",
            "filter[type] is required",
        ));
    };
    let terms = parse_terms(query.get("query").unwrap_or_default());
    let size = query
        .uint("page[size]", NumberSyntax::Zendesk)
        .and_then(Result::ok)
        .map_or(100, |n| n.clamp(1, 1000) as usize);
    let after = match query.non_empty("page[after]") {
        Some(c) => Some(page::decode_cursor(c).ok_or_else(|| {
            ApiError::bad_request("InvalidPaginationParameter", "page[after] is invalid")
        })?),
        None => None,
    };
    let st = app.read();
    let ids = matching(&st, &actor, &terms, &kind);
    let selected = page::select(
        ids.into_iter(),
        &PageRequest::Cursor {
            size,
            after,
            before: None,
        },
    );
    let results: Vec<Value> = selected
        .ids
        .iter()
        .filter_map(|id| render(&st, &app.base, &kind, *id))
        .collect();
    let (has_more, cursor) = match selected.info {
        page::PageInfo::Cursor { has_more, last, .. } => (has_more, last.map(page::encode_cursor)),
        page::PageInfo::Offset { .. } => (false, None),
    };
    let next = cursor.as_ref().map(|c| {
        format!(
            "{}/api/v2/search/export.json?{}",
            app.base,
            query.rebuilt(&["page[after]"], &[("page[after]", c.clone())])
        )
    });
    let out = json!({
        "results": results, "facets": null,
        "meta": {"has_more": has_more, "after_cursor": cursor, "before_cursor": null},
        "links": {"next": next, "prev": null},
    });
    Ok(reply(StatusCode::OK, &out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_split_into_terms() {
        let terms = parse_terms(
            "type:ticket status<solved requester:\"a b@x.com\" updated>2024-01-01 printer",
        );
        assert_eq!(
            terms[1],
            Term {
                key: "status".into(),
                op: "<",
                value: "solved".into()
            }
        );
        assert_eq!(terms[2].value, "a b@x.com");
        assert_eq!(
            terms[3],
            Term {
                key: "updated".into(),
                op: ">",
                value: "2024-01-01".into()
            }
        );
        assert_eq!(
            terms[4],
            Term {
                key: String::new(),
                op: ":",
                value: "printer".into()
            }
        );
    }
}
