//! Agents, groups, roles, the stored reference lists (products, e-mail configs, business hours,
//! SLA policies, ticket/contact/company fields, canned responses and folders, scenario
//! automations, skills), automation rules by type, and satisfaction ratings.

use std::sync::Arc;

use axum::Extension;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::app::App;
use super::auth::Actor;
use super::automation::{ON_CREATE, ON_UPDATE, TIME_TRIGGERED};
use super::errors::{ApiError, FieldError};
use super::fields;
use super::render;
use super::routes::{Res, blank, body_object, no_content, page_reply, paging, path_id, reply};
use super::seed::rating_record;
use super::store::{Rec, iso, parse_time, str_of, time_of, u64_of};
use crate::page::QueryMap;

/// Routes of this module.
pub(crate) fn routes(r: Router<Arc<App>>) -> Router<Arc<App>> {
    let mut r = r
        .route("/api/v2/agents", get(agents).post(fields::create_agent))
        .route("/api/v2/agents/me", get(me))
        .route(
            "/api/v2/agents/{id}",
            get(agent)
                .put(fields::update_agent)
                .delete(fields::delete_agent),
        )
        .route("/api/v2/groups", get(groups).post(create_group))
        .route(
            "/api/v2/groups/{id}",
            get(group).put(update_group).delete(delete_group),
        )
        .route("/api/v2/roles", get(roles))
        .route("/api/v2/roles/{id}", get(role))
        .route(
            "/api/v2/canned_response_folders/{id}/responses",
            get(folder_responses),
        )
        .route(
            "/api/v2/automations/{kind}/rules",
            get(rules).post(create_rule),
        )
        .route(
            "/api/v2/automations/{kind}/rules/{id}",
            get(rule).put(update_rule).delete(delete_rule),
        );
    for (path, kind) in [
        ("products", "products"),
        ("email_configs", "email_configs"),
        ("business_hours", "business_hours"),
        ("sla_policies", "sla_policies"),
        ("ticket_fields", "ticket_fields"),
        ("admin/ticket_fields", "ticket_fields"),
        ("contact_fields", "contact_fields"),
        ("company_fields", "company_fields"),
        ("canned_response_folders", "canned_response_folders"),
        ("canned_responses", "canned_responses"),
        ("scenario_automations", "scenario_automations"),
        ("admin/skills", "skills"),
    ] {
        let writable = matches!(kind, "ticket_fields" | "contact_fields" | "company_fields")
            && (path.starts_with("admin/") || kind != "ticket_fields");
        let list = get(move |State(app): State<Arc<App>>| async move { stored_list(&app, kind) });
        let one = get(
            move |State(app): State<Arc<App>>, Path(id): Path<String>| async move {
                stored_one(&app, kind, &id)
            },
        );
        let (list, one) = if writable {
            (
                list.post(move |State(app): State<Arc<App>>, body: Bytes| async move {
                    fields::create_field(&app, kind, &body)
                }),
                one.put(
                    move |State(app): State<Arc<App>>, Path(id): Path<String>, body: Bytes| async move {
                        fields::update_field(&app, kind, &id, &body)
                    },
                )
                .delete(
                    move |State(app): State<Arc<App>>, Path(id): Path<String>| async move {
                        fields::delete_field(&app, kind, &id)
                    },
                ),
            )
        } else {
            (list, one)
        };
        r = r
            .route(&format!("/api/v2/{path}"), list)
            .route(&format!("/api/v2/{path}/{{id}}"), one);
    }
    r
}

fn stored_list(app: &App, kind: &str) -> Res {
    let st = app.read();
    let list = st.lists.get(kind).cloned().unwrap_or_default();
    Ok(reply(StatusCode::OK, &Value::Array(list)))
}

fn stored_one(app: &App, kind: &str, id: &str) -> Res {
    let id = path_id(id)?;
    let st = app.read();
    let item = st
        .lists
        .get(kind)
        .and_then(|l| {
            l.iter()
                .find(|v| v.get("id").and_then(Value::as_u64) == Some(id))
        })
        .cloned()
        .ok_or_else(ApiError::not_found)?;
    Ok(reply(StatusCode::OK, &item))
}

async fn folder_responses(State(app): State<Arc<App>>, Path(id): Path<String>) -> Res {
    let id = path_id(&id)?;
    let st = app.read();
    let known = st.lists.get("canned_response_folders").is_some_and(|l| {
        l.iter()
            .any(|f| f.get("id").and_then(Value::as_u64) == Some(id))
    });
    if !known {
        return Err(ApiError::not_found());
    }
    let list: Vec<Value> = st
        .lists
        .get("canned_responses")
        .map(|l| {
            l.iter()
                .filter(|r| r.get("folder_id").and_then(Value::as_u64) == Some(id))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    Ok(reply(StatusCode::OK, &Value::Array(list)))
}

async fn agents(State(app): State<Arc<App>>, RawQuery(q): RawQuery) -> Res {
    let query = QueryMap::parse(q.as_deref());
    let paging = paging(&query, None)?;
    let st = app.read();
    let items: Vec<Value> = st
        .agents
        .values()
        .filter(|a| {
            query.non_empty("email").is_none_or(|e| {
                u64_of(a, "id")
                    .and_then(|id| st.contacts.get(&id))
                    .and_then(|c| str_of(c, "email"))
                    .is_some_and(|x| x.eq_ignore_ascii_case(e))
            })
        })
        .map(|a| render::agent(&st, a))
        .collect();
    drop(st);
    Ok(page_reply(&app, "/api/v2/agents", &query, paging, items))
}

async fn me(State(app): State<Arc<App>>, Extension(actor): Extension<Actor>) -> Res {
    let st = app.read();
    let a = st
        .agents
        .get(&actor.agent_id)
        .ok_or_else(ApiError::not_found)?;
    Ok(reply(StatusCode::OK, &render::agent(&st, a)))
}

async fn agent(State(app): State<Arc<App>>, Path(id): Path<String>) -> Res {
    let id = path_id(&id)?;
    let st = app.read();
    let a = st.agents.get(&id).ok_or_else(ApiError::not_found)?;
    Ok(reply(StatusCode::OK, &render::agent(&st, a)))
}

async fn groups(State(app): State<Arc<App>>, RawQuery(q): RawQuery) -> Res {
    let query = QueryMap::parse(q.as_deref());
    let paging = paging(&query, None)?;
    let items: Vec<Value> = app
        .read()
        .groups
        .values()
        .map(|g| Value::Object(g.clone()))
        .collect();
    Ok(page_reply(&app, "/api/v2/groups", &query, paging, items))
}

async fn group(State(app): State<Arc<App>>, Path(id): Path<String>) -> Res {
    let id = path_id(&id)?;
    let st = app.read();
    let g = st.groups.get(&id).ok_or_else(ApiError::not_found)?;
    Ok(reply(StatusCode::OK, &Value::Object(g.clone())))
}

const GROUP_FIELDS: [&str; 6] = [
    "name",
    "description",
    "agent_ids",
    "business_hour_id",
    "escalate_to",
    "unassigned_for",
];

fn check_group(
    app: &App,
    fields: &Map<String, Value>,
    creating: bool,
    own: Option<u64>,
) -> Result<(), ApiError> {
    let st = app.read();
    let mut errors: Vec<FieldError> = fields
        .keys()
        .filter(|k| !GROUP_FIELDS.contains(&k.as_str()))
        .map(|k| FieldError::unexpected(k))
        .collect();
    if creating && blank(fields.get("name")) {
        errors.push(FieldError::new(
            "name",
            "It should be a/an String",
            "missing_field",
        ));
    }
    if let Some(list) = fields.get("agent_ids") {
        let ok = list.as_array().is_some_and(|l| {
            l.iter()
                .all(|a| a.as_u64().is_some_and(|id| st.agents.contains_key(&id)))
        });
        if !ok {
            errors.push(FieldError::new(
                "agent_ids",
                "There are no agents matching some of the given agent_ids",
                "invalid_value",
            ));
        }
    }
    if let Some(name) = fields.get("name").and_then(Value::as_str)
        && st
            .groups
            .values()
            .any(|g| str_of(g, "name") == Some(name.trim()) && u64_of(g, "id") != own)
    {
        return Err(ApiError::conflict(vec![FieldError::new(
            "name",
            "It should be a unique value",
            "duplicate_value",
        )]));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(errors))
    }
}

async fn create_group(State(app): State<Arc<App>>, body: Bytes) -> Res {
    let fields = body_object(&body)?;
    check_group(&app, &fields, true, None)?;
    let now = app.now();
    let mut st = app.write();
    let id = st.group_ids.next_id();
    let mut g: Rec = json!({"id": id, "name": "", "description": null, "business_hour_id": null,
        "escalate_to": null, "unassigned_for": null, "agent_ids": [], "auto_ticket_assign": false,
        "group_type": "support_agent_group", "created_at": iso(now), "updated_at": iso(now)})
    .as_object()
    .cloned()
    .unwrap_or_default();
    g.extend(fields);
    st.groups.insert(id, g.clone());
    Ok(reply(StatusCode::CREATED, &Value::Object(g)))
}

async fn update_group(State(app): State<Arc<App>>, Path(id): Path<String>, body: Bytes) -> Res {
    let id = path_id(&id)?;
    let fields = body_object(&body)?;
    if !app.read().groups.contains_key(&id) {
        return Err(ApiError::not_found());
    }
    check_group(&app, &fields, false, Some(id))?;
    let now = app.now();
    let mut st = app.write();
    let g = st.groups.get_mut(&id).ok_or_else(ApiError::not_found)?;
    g.extend(fields);
    g.insert("updated_at".into(), json!(iso(now)));
    Ok(reply(StatusCode::OK, &Value::Object(g.clone())))
}

async fn delete_group(State(app): State<Arc<App>>, Path(id): Path<String>) -> Res {
    let id = path_id(&id)?;
    let mut st = app.write();
    st.groups.remove(&id).ok_or_else(ApiError::not_found)?;
    // As the real account does, the group leaves each agent's `group_ids` with it.
    for agent in st.agents.values_mut() {
        if let Some(Value::Array(groups)) = agent.get_mut("group_ids") {
            groups.retain(|g| g.as_u64() != Some(id));
        }
    }
    st.tickets.update_where(
        |t| u64_of(t, "group_id") == Some(id),
        |t| {
            t.insert("group_id".into(), Value::Null);
        },
    );
    Ok(no_content())
}

async fn roles(State(app): State<Arc<App>>) -> Res {
    let items: Vec<Value> = app
        .read()
        .roles
        .values()
        .map(|r| Value::Object(r.clone()))
        .collect();
    Ok(reply(StatusCode::OK, &Value::Array(items)))
}

async fn role(State(app): State<Arc<App>>, Path(id): Path<String>) -> Res {
    let id = path_id(&id)?;
    let st = app.read();
    let r = st.roles.get(&id).ok_or_else(ApiError::not_found)?;
    Ok(reply(StatusCode::OK, &Value::Object(r.clone())))
}

fn rule_kind(raw: &str) -> Result<u64, ApiError> {
    match raw.parse::<u64>() {
        Ok(k) if [ON_CREATE, TIME_TRIGGERED, ON_UPDATE].contains(&k) => Ok(k),
        _ => Err(ApiError::not_found()),
    }
}

fn rule_json(rec: &Rec) -> Value {
    let mut out = super::store::public(rec);
    out.insert(
        "automation_type_id".into(),
        rec.get("_type").cloned().unwrap_or(Value::Null),
    );
    Value::Object(out)
}

const RULE_FIELDS: [&str; 6] = [
    "name",
    "position",
    "active",
    "performer",
    "events",
    "conditions",
];

fn check_rule(kind: u64, fields: &Map<String, Value>, creating: bool) -> Result<(), ApiError> {
    let mut errors: Vec<FieldError> = fields
        .keys()
        .filter(|k| {
            !RULE_FIELDS.contains(&k.as_str())
                && k.as_str() != "actions"
                && k.as_str() != "operator"
        })
        .map(|k| FieldError::unexpected(k))
        .collect();
    if creating && blank(fields.get("name")) {
        errors.push(FieldError::new(
            "name",
            "It should be a/an String",
            "missing_field",
        ));
    }
    match fields.get("actions") {
        Some(Value::Array(actions)) if !actions.is_empty() => {
            for action in actions {
                let name = action.get("field_name").and_then(Value::as_str);
                if name.is_none() {
                    errors.push(FieldError::new(
                        "actions",
                        "Each action needs a field_name",
                        "missing_field",
                    ));
                }
                if name == Some("trigger_webhook") {
                    let url = action.get("url").and_then(Value::as_str).unwrap_or("");
                    if !(url.starts_with("http://") || url.starts_with("https://")) {
                        errors.push(FieldError::new(
                            "url",
                            "It should be in the 'valid URL' format",
                            "invalid_value",
                        ));
                    }
                    let method = action
                        .get("request_type")
                        .and_then(Value::as_str)
                        .unwrap_or("POST");
                    if !["GET", "POST", "PUT", "PATCH", "DELETE"]
                        .contains(&method.to_ascii_uppercase().as_str())
                    {
                        errors.push(FieldError::not_one_of(
                            "request_type",
                            "GET,POST,PUT,PATCH,DELETE",
                        ));
                    }
                }
            }
        }
        None if !creating => {}
        _ => errors.push(FieldError::new(
            "actions",
            "It should be a/an Array",
            "missing_field",
        )),
    }
    if kind == ON_UPDATE && creating && fields.get("events").is_none_or(|e| !e.is_array()) {
        errors.push(FieldError::new(
            "events",
            "It should be a/an Array",
            "missing_field",
        ));
    }
    super::rule_admin::check_rule_parts(kind, fields, &mut errors);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(errors))
    }
}

async fn rules(
    State(app): State<Arc<App>>,
    Path(kind): Path<String>,
    RawQuery(q): RawQuery,
) -> Res {
    let kind = rule_kind(&kind)?;
    let query = QueryMap::parse(q.as_deref());
    let paging = paging(&query, None)?;
    let mut items: Vec<&Rec> = Vec::new();
    let st = app.read();
    items.extend(
        st.rules
            .values()
            .filter(|r| u64_of(r, "_type") == Some(kind)),
    );
    items.sort_by_key(|r| u64_of(r, "position").unwrap_or(0));
    let items: Vec<Value> = items.into_iter().map(rule_json).collect();
    drop(st);
    let path = format!("/api/v2/automations/{kind}/rules");
    Ok(page_reply(&app, &path, &query, paging, items))
}

async fn rule(State(app): State<Arc<App>>, Path((kind, id)): Path<(String, String)>) -> Res {
    let kind = rule_kind(&kind)?;
    let id = path_id(&id)?;
    let st = app.read();
    let r = st
        .rules
        .get(&id)
        .filter(|r| u64_of(r, "_type") == Some(kind))
        .ok_or_else(ApiError::not_found)?;
    Ok(reply(StatusCode::OK, &rule_json(r)))
}

async fn create_rule(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    Path(kind): Path<String>,
    body: Bytes,
) -> Res {
    let kind = rule_kind(&kind)?;
    let fields = body_object(&body)?;
    check_rule(kind, &fields, true)?;
    let now = app.now();
    let mut st = app.write();
    let id = st.other_ids.next_id();
    let position = st
        .rules
        .values()
        .filter(|r| u64_of(r, "_type") == Some(kind))
        .count()
        + 1;
    let mut rec: Rec = json!({"id": id, "name": "", "position": position, "active": true,
        "outdated": false, "performer": {"type": 1}, "events": [], "conditions": [], "actions": [],
        "last_updated_by": actor.agent_id, "summary": {}, "created_at": iso(now), "updated_at": iso(now),
        "_type": kind})
        .as_object()
        .cloned()
        .unwrap_or_default();
    rec.extend(fields);
    st.rules.insert(id, rec.clone());
    Ok(reply(StatusCode::CREATED, &rule_json(&rec)))
}

async fn update_rule(
    State(app): State<Arc<App>>,
    Path((kind, id)): Path<(String, String)>,
    body: Bytes,
) -> Res {
    let kind = rule_kind(&kind)?;
    let id = path_id(&id)?;
    let fields = body_object(&body)?;
    check_rule(kind, &fields, false)?;
    let now = app.now();
    let mut st = app.write();
    let r = st
        .rules
        .get_mut(&id)
        .filter(|r| u64_of(r, "_type") == Some(kind))
        .ok_or_else(ApiError::not_found)?;
    r.extend(fields);
    r.insert("updated_at".into(), json!(iso(now)));
    Ok(reply(StatusCode::OK, &rule_json(r)))
}

async fn delete_rule(State(app): State<Arc<App>>, Path((kind, id)): Path<(String, String)>) -> Res {
    let kind = rule_kind(&kind)?;
    let id = path_id(&id)?;
    let mut st = app.write();
    if st
        .rules
        .get(&id)
        .is_none_or(|r| u64_of(r, "_type") != Some(kind))
    {
        return Err(ApiError::not_found());
    }
    st.rules.remove(&id);
    Ok(no_content())
}

/// `GET /api/v2/surveys/satisfaction_ratings[?created_since=…]` (default: the last 30 days).
pub(crate) async fn ratings(State(app): State<Arc<App>>, RawQuery(q): RawQuery) -> Res {
    let query = QueryMap::parse(q.as_deref());
    let paging = paging(&query, None)?;
    let since = match query.non_empty("created_since") {
        Some(raw) => parse_time(raw).ok_or_else(|| {
            ApiError::field(
                "created_since",
                "It should be in the 'valid date time' format",
                "invalid_value",
            )
        })?,
        None => app.now() - 30 * 86_400,
    };
    let items: Vec<Value> = app
        .read()
        .ratings
        .values()
        .filter(|r| time_of(r, "created_at") >= since)
        .map(|r| Value::Object(r.clone()))
        .collect();
    Ok(page_reply(
        &app,
        "/api/v2/surveys/satisfaction_ratings",
        &query,
        paging,
        items,
    ))
}

/// `GET /api/v2/tickets/{id}/satisfaction_ratings`.
pub(crate) async fn ticket_ratings(State(app): State<Arc<App>>, Path(id): Path<String>) -> Res {
    let id = path_id(&id)?;
    let st = app.read();
    st.tickets.get(&id).ok_or_else(ApiError::not_found)?;
    let items: Vec<Value> = st
        .ratings
        .values()
        .filter(|r| u64_of(r, "ticket_id") == Some(id))
        .map(|r| Value::Object(r.clone()))
        .collect();
    Ok(reply(StatusCode::OK, &Value::Array(items)))
}

/// `POST /api/v2/tickets/{id}/satisfaction_ratings {"ratings": {"default_question": 103}, "feedback": "…"}`.
pub(crate) async fn rate(State(app): State<Arc<App>>, Path(id): Path<String>, body: Bytes) -> Res {
    let id = path_id(&id)?;
    let fields = body_object(&body)?;
    const SCALE: [i64; 7] = [103, 102, 101, 100, -101, -102, -103];
    let score = fields
        .get("ratings")
        .and_then(|r| r.get("default_question"))
        .and_then(Value::as_i64);
    let Some(score) = score.filter(|s| SCALE.contains(s)) else {
        return Err(ApiError::invalid(vec![FieldError::not_one_of(
            "default_question",
            "103,102,101,100,-101,-102,-103",
        )]));
    };
    let feedback = fields
        .get("feedback")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let now = app.now();
    let mut st = app.write();
    let t = super::tickets::live(&st, id)?;
    let (requester, agent, group) = (
        u64_of(t, "requester_id").unwrap_or(0),
        u64_of(t, "responder_id"),
        u64_of(t, "group_id"),
    );
    let rid = st.other_ids.next_id();
    let rec = rating_record(rid, id, requester, agent, group, score, &feedback, now);
    st.ratings.insert(rid, rec.clone());
    Ok(reply(StatusCode::CREATED, &Value::Object(rec)))
}
