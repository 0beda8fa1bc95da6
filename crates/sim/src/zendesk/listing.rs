//! Lists as Zendesk pages them: offset envelopes (`count`, `next_page`, `previous_page`) or cursor
//! envelopes (`meta`, `links`), and sideloads (`include=users,groups,organizations`).

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::errors::ApiError;
use super::json;
use super::model::Ticket;
use super::store::ZendeskState;
use crate::page::{self, Page, PageError, PageInfo, PageLimits, PageRequest, QueryMap};

/// Zendesk's list limits: 100 a page, offset pagination up to 10,000 records.
pub(crate) const LIMITS: PageLimits = PageLimits {
    default_size: 100,
    max_size: 100,
    max_offset_records: 10_000,
};

/// The page a list request asks for; Zendesk's 400s for a too-deep offset or a bad cursor.
pub(crate) fn page_request(query: &QueryMap, limits: PageLimits) -> Result<PageRequest, ApiError> {
    PageRequest::from_query(query, limits).map_err(|e| match e {
        PageError::OffsetTooDeep { .. } => ApiError::bad_request(
            "InvalidPaginationParameter",
            "Offset pagination is limited to the first 10,000 records. Use cursor-based pagination instead.",
        ),
        PageError::BadCursor => ApiError::bad_request("InvalidPaginationParameter", "page[after] or page[before] is invalid"),
    })
}

/// Picks the page of `ids` (ascending) that the query asks for.
pub(crate) fn select(query: &QueryMap, ids: impl Iterator<Item = u64>) -> Result<Page, ApiError> {
    Ok(page::select(ids, &page_request(query, LIMITS)?))
}

/// Wraps `records` of `page` under `key` in the envelope its pagination style uses. `path` is
/// the list's path without `.json` (for `next_page` and `links`).
pub(crate) fn envelope(
    base: &str,
    path: &str,
    query: &QueryMap,
    key: &str,
    records: Vec<Value>,
    page: &Page,
) -> Value {
    let mut out = Map::new();
    out.insert(key.to_owned(), Value::Array(records));
    let url = |q: String| format!("{base}{path}.json?{q}");
    match page.info {
        PageInfo::Offset {
            count,
            page,
            has_next,
        } => {
            let next = has_next
                .then(|| url(query.rebuilt(&["page"], &[("page", (page + 1).to_string())])));
            let prev = (page > 1)
                .then(|| url(query.rebuilt(&["page"], &[("page", (page - 1).to_string())])));
            out.insert("count".into(), json!(count));
            out.insert("next_page".into(), json!(next));
            out.insert("previous_page".into(), json!(prev));
        }
        PageInfo::Cursor {
            has_more,
            first,
            last,
        } => {
            let drop = ["page[after]", "page[before]"];
            let after = last.map(page::encode_cursor);
            let before = first.map(page::encode_cursor);
            let next = after
                .as_ref()
                .map(|c| url(query.rebuilt(&drop, &[("page[after]", c.clone())])));
            let prev = before
                .as_ref()
                .map(|c| url(query.rebuilt(&drop, &[("page[before]", c.clone())])));
            out.insert(
                "meta".into(),
                json!({"has_more": has_more, "after_cursor": after, "before_cursor": before}),
            );
            out.insert("links".into(), json!({"next": next, "prev": prev}));
        }
    }
    Value::Object(out)
}

/// Adds `users`, `groups`, `organizations` and `metric_sets` arrays for the tickets when the
/// query includes them.
pub(crate) fn sideload_tickets(
    st: &ZendeskState,
    base: &str,
    query: &QueryMap,
    tickets: &[&Ticket],
    out: &mut Value,
) {
    let include = query.list("include");
    if include.iter().any(|i| i == "users") {
        let ids: BTreeSet<u64> = tickets
            .iter()
            .flat_map(|t| {
                [Some(t.requester_id), Some(t.submitter_id), t.assignee_id]
                    .into_iter()
                    .flatten()
                    .chain(t.collaborator_ids.iter().copied())
            })
            .collect();
        let users: Vec<Value> = ids
            .iter()
            .filter_map(|id| st.users.get(id))
            .map(|u| json::user(u, base))
            .collect();
        out["users"] = Value::Array(users);
    }
    if include.iter().any(|i| i == "groups") {
        let ids: BTreeSet<u64> = tickets.iter().filter_map(|t| t.group_id).collect();
        let groups: Vec<Value> = ids
            .iter()
            .filter_map(|id| st.groups.get(id))
            .map(|g| json::group(g, base))
            .collect();
        out["groups"] = Value::Array(groups);
    }
    if include.iter().any(|i| i == "organizations") {
        let ids: BTreeSet<u64> = tickets.iter().filter_map(|t| t.organization_id).collect();
        let orgs: Vec<Value> = ids
            .iter()
            .filter_map(|id| st.orgs.get(id))
            .map(|o| json::organization(o, base))
            .collect();
        out["organizations"] = Value::Array(orgs);
    }
    if include.iter().any(|i| i == "metric_sets") {
        let sets: Vec<Value> = tickets.iter().map(|t| metric_set(t, base)).collect();
        out["metric_sets"] = Value::Array(sets);
    }
}

/// A ticket's metric set as `include=metric_sets` side-loads it: the times Zendesk keeps beside a
/// ticket (`solved_at` above all, which the ticket itself does not carry). Durations the emulator
/// does not track are null, as on a ticket Zendesk has not measured.
fn metric_set(t: &Ticket, base: &str) -> Value {
    let opt = |ts: Option<i64>| ts.map_or(Value::Null, |ts| Value::String(json::iso(ts)));
    let minutes = json!({"calendar": null, "business": null});
    json!({
        "url": format!("{base}/api/v2/ticket_metrics/{}.json", t.id),
        "id": t.id,
        "ticket_id": t.id,
        "created_at": json::iso(t.created_at),
        "updated_at": json::iso(t.updated_at),
        "group_stations": 0,
        "assignee_stations": 0,
        "reopens": 0,
        "replies": 0,
        "assignee_updated_at": null,
        "requester_updated_at": json::iso(t.updated_at),
        "status_updated_at": json::iso(t.updated_at),
        "initially_assigned_at": null,
        "assigned_at": null,
        "solved_at": opt(t.solved_at),
        "latest_comment_added_at": json::iso(t.updated_at),
        "reply_time_in_minutes": minutes,
        "first_resolution_time_in_minutes": minutes,
        "full_resolution_time_in_minutes": minutes,
        "agent_wait_time_in_minutes": minutes,
        "requester_wait_time_in_minutes": minutes,
        "on_hold_time_in_minutes": minutes,
    })
}

/// Parses `ids=1,2,3`; 400 `TooManyValues` past 100.
pub(crate) fn ids_param(query: &QueryMap) -> Result<Vec<u64>, ApiError> {
    let ids: Vec<u64> = query
        .list("ids")
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect();
    if ids.len() > 100 {
        return Err(ApiError::too_many(100));
    }
    Ok(ids)
}

/// A `show_many` envelope (offset style, one page).
pub(crate) fn show_many_envelope(key: &str, records: Vec<Value>) -> Value {
    let count = records.len();
    let mut out = Map::new();
    out.insert(key.to_owned(), Value::Array(records));
    out.insert("count".into(), json!(count));
    out.insert("next_page".into(), Value::Null);
    out.insert("previous_page".into(), Value::Null);
    Value::Object(out)
}
