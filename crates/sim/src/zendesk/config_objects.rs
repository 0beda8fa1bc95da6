//! Configuration records with one generic implementation: macros, triggers, automations, views,
//! ticket/user/organization fields, custom statuses, custom roles, brands, ticket forms,
//! recipient addresses and SLA policies. Each is stored as the JSON Zendesk shows, built from a
//! recorded template plus what the request sets; views also list and count their tickets.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::app::App;
use super::errors::{ApiError, FieldError};
use super::json::{self, iso};
use super::listing::{self, envelope, show_many_envelope, sideload_tickets};
use super::model::Ticket;
use super::routes::{
    GENERIC_SHAPE, Res, TICKET_SHAPE, body_json, corrupt, created, no_content, path_id, reply,
};
use super::{rule_checks, seed};
use crate::page::QueryMap;

/// One kind of configuration record.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Kind {
    /// URL path under `/api/v2/`.
    pub(crate) path: &'static str,
    /// Collection name in the store and the list key.
    pub(crate) plural: &'static str,
    /// Key of one record.
    pub(crate) singular: &'static str,
    /// Recorded template (`tpl_…`) or empty.
    pub(crate) template: &'static str,
    /// Field a new record needs.
    pub(crate) required: &'static str,
    /// Has `/active`.
    pub(crate) has_active: bool,
}

const fn kind(
    path: &'static str,
    plural: &'static str,
    singular: &'static str,
    template: &'static str,
    required: &'static str,
    has_active: bool,
) -> Kind {
    Kind {
        path,
        plural,
        singular,
        template,
        required,
        has_active,
    }
}

/// Every configuration kind.
pub(crate) const KINDS: &[Kind] = &[
    kind("macros", "macros", "macro", "tpl_macro", "title", true),
    kind(
        "triggers",
        "triggers",
        "trigger",
        "tpl_trigger",
        "title",
        true,
    ),
    kind(
        "automations",
        "automations",
        "automation",
        "tpl_automation",
        "title",
        true,
    ),
    kind("views", "views", "view", "tpl_view", "title", true),
    kind(
        "ticket_fields",
        "ticket_fields",
        "ticket_field",
        "tpl_ticket_field",
        "title",
        false,
    ),
    kind(
        "user_fields",
        "user_fields",
        "user_field",
        "tpl_user_field",
        "title",
        false,
    ),
    kind(
        "organization_fields",
        "organization_fields",
        "organization_field",
        "tpl_organization_field",
        "title",
        false,
    ),
    kind(
        "custom_statuses",
        "custom_statuses",
        "custom_status",
        "tpl_custom_status",
        "agent_label",
        false,
    ),
    kind(
        "custom_roles",
        "custom_roles",
        "custom_role",
        "",
        "name",
        false,
    ),
    kind("brands", "brands", "brand", "brand", "name", false),
    kind(
        "ticket_forms",
        "ticket_forms",
        "ticket_form",
        "",
        "name",
        false,
    ),
    kind(
        "recipient_addresses",
        "recipient_addresses",
        "recipient_address",
        "tpl_recipient_address",
        "email",
        false,
    ),
    kind(
        "slas/policies",
        "sla_policies",
        "sla_policy",
        "",
        "title",
        false,
    ),
];

/// The URL path of a collection.
pub(crate) fn url_path(plural: &str) -> &'static str {
    KINDS
        .iter()
        .find(|k| k.plural == plural)
        .map_or("unknown", |k| k.path)
}

/// Registers every kind's routes.
pub(crate) fn routes(mut r: Router<Arc<App>>) -> Router<Arc<App>> {
    for k in KINDS {
        let k = *k;
        let base = format!("/api/v2/{}", k.path);
        r = r
            .route(
                &base,
                get(move |s: State<Arc<App>>, q: RawQuery| list(s, q, k, false))
                    .post(move |s: State<Arc<App>>, b: Bytes| create(s, b, k)),
            )
            .route(
                &format!("{base}/show_many"),
                get(move |s: State<Arc<App>>, q: RawQuery| show_many(s, q, k)),
            )
            .route(
                &format!("{base}/destroy_many"),
                axum::routing::delete(move |s: State<Arc<App>>, q: RawQuery, b: Bytes| {
                    destroy_many(s, q, b, k)
                }),
            )
            .route(
                &format!("{base}/{{id}}"),
                get(move |s: State<Arc<App>>, p: Path<String>| show(s, p, k))
                    .put(move |s: State<Arc<App>>, p: Path<String>, b: Bytes| update(s, p, b, k))
                    .delete(move |s: State<Arc<App>>, p: Path<String>| destroy(s, p, k)),
            );
        if k.has_active {
            r = r.route(
                &format!("{base}/active"),
                get(move |s: State<Arc<App>>, q: RawQuery| list(s, q, k, true)),
            );
        }
    }
    r.route(
        "/api/v2/views/compact",
        get(|s: State<Arc<App>>, q: RawQuery| list(s, q, KINDS[3], false)),
    )
    .route("/api/v2/views/count", get(views_count))
    .route("/api/v2/views/{id}/count", get(view_count))
    .route("/api/v2/views/{id}/tickets", get(view_tickets))
}

async fn list(
    State(app): State<Arc<App>>,
    RawQuery(q): RawQuery,
    k: Kind,
    active_only: bool,
) -> Res {
    let query = QueryMap::parse(q.as_deref());
    let st = app.read();
    let empty = Default::default();
    let records = st.config_of(k.plural).unwrap_or(&empty);
    let keep = |r: &&Map<String, Value>| {
        !active_only || r.get("active").and_then(Value::as_bool) != Some(false)
    };
    let page = listing::select(
        &query,
        records.iter().filter(|(_, r)| keep(r)).map(|(id, _)| *id),
    )?;
    let mut out: Vec<Value> = page
        .ids
        .iter()
        .filter_map(|id| records.get(id))
        .map(|r| json::config(k.plural, r, &app.base))
        .collect();
    corrupt(&app, &mut out, &GENERIC_SHAPE);
    let path = format!("/api/v2/{}", k.path);
    Ok(reply(
        StatusCode::OK,
        &envelope(&app.base, &path, &query, k.plural, out, &page),
    ))
}

async fn show_many(State(app): State<Arc<App>>, RawQuery(q): RawQuery, k: Kind) -> Res {
    let ids = listing::ids_param(&QueryMap::parse(q.as_deref()))?;
    let st = app.read();
    let records: Vec<Value> = ids
        .iter()
        .filter_map(|id| st.config_of(k.plural).and_then(|r| r.get(id)))
        .map(|r| json::config(k.plural, r, &app.base))
        .collect();
    Ok(reply(
        StatusCode::OK,
        &show_many_envelope(k.plural, records),
    ))
}

async fn show(State(app): State<Arc<App>>, Path(id): Path<String>, k: Kind) -> Res {
    let id = path_id(&id)?;
    let st = app.read();
    let r = st
        .config_of(k.plural)
        .and_then(|r| r.get(&id))
        .ok_or_else(ApiError::not_found)?;
    let mut out = Map::new();
    out.insert(k.singular.into(), json::config(k.plural, r, &app.base));
    Ok(reply(StatusCode::OK, &Value::Object(out)))
}

/// Copies request fields into a record, mirroring `raw_*` twins and `all`/`any` conditions.
fn merge(record: &mut Map<String, Value>, input: &Map<String, Value>) {
    for (key, value) in input {
        if matches!(key.as_str(), "id" | "url" | "created_at" | "updated_at") {
            continue;
        }
        if key == "all" || key == "any" {
            let conditions = record
                .entry("conditions")
                .or_insert_with(|| json!({"all": [], "any": []}));
            conditions[key.as_str()] = value.clone();
            continue;
        }
        let raw = format!("raw_{key}");
        if record.contains_key(&raw) {
            record.insert(raw, value.clone());
        }
        if key == "title" && record.contains_key("title_in_portal") {
            record.insert("title_in_portal".into(), value.clone());
            record.insert("raw_title_in_portal".into(), value.clone());
        }
        record.insert(key.clone(), value.clone());
    }
}

fn input_of(body: &Value, k: Kind) -> Result<Map<String, Value>, ApiError> {
    body.get(k.singular)
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| {
            ApiError::invalid(vec![FieldError::new(
                k.singular,
                format!("{}: parameter is missing", k.singular),
                "BlankValue",
            )])
        })
}

/// A view written with `output` is shown with the `execution` it makes.
fn lay_out(st: &super::store::ZendeskState, record: &mut Map<String, Value>) {
    let Some(output) = record.remove("output") else {
        return;
    };
    let fields: Vec<(u64, String)> = st
        .config_of("ticket_fields")
        .map(|f| {
            f.iter()
                .filter_map(|(id, r)| Some((*id, r.get("title")?.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    record.insert("execution".into(), rule_checks::execution(&output, &fields));
}

async fn create(State(app): State<Arc<App>>, body: Bytes, k: Kind) -> Res {
    let input = input_of(&body_json(&body)?, k)?;
    rule_checks::check(k.plural, &input, true)?;
    if input
        .get(k.required)
        .and_then(Value::as_str)
        .is_none_or(|v| v.trim().is_empty())
    {
        let title = k.required.replace('_', " ");
        return Err(ApiError::invalid(vec![FieldError::new(
            k.required,
            format!("{title}: cannot be blank"),
            "BlankValue",
        )]));
    }
    let mut record = if k.template.is_empty() {
        Map::new()
    } else {
        seed::template(k.template)
    };
    merge(&mut record, &input);
    if let Some(Value::Object(conditions)) = record.get_mut("conditions") {
        conditions.entry("any").or_insert(json!([]));
        conditions.entry("all").or_insert(json!([]));
    }
    let mut st = app.write();
    lay_out(&st, &mut record);
    if k.plural == "brands" {
        record.insert("ticket_form_ids".into(), json!([st.form_id]));
        // The template is the recorded account's default brand: a brand added is not the
        // default unless the request says so (the account keeps one default).
        if !input.contains_key("default") {
            record.insert("default".into(), json!(false));
        }
    }
    // The template's brand is the recorded account's: a new address belongs to this
    // account's default brand unless the request names one.
    if k.plural == "recipient_addresses" && !input.contains_key("brand_id") {
        record.insert("brand_id".into(), json!(st.brand_id));
    }
    let id = seed::add_config(&mut st, k.plural, record, app.now());
    let r = st
        .config_of(k.plural)
        .and_then(|r| r.get(&id))
        .ok_or_else(ApiError::not_found)?;
    let mut out = Map::new();
    out.insert(k.singular.into(), json::config(k.plural, r, &app.base));
    Ok(created(
        &Value::Object(out),
        &format!("{}/api/v2/{}/{id}.json", app.base, k.path),
    ))
}

async fn update(State(app): State<Arc<App>>, Path(id): Path<String>, body: Bytes, k: Kind) -> Res {
    let id = path_id(&id)?;
    let body = body_json(&body)?;
    let now = app.now();
    let mut st = app.write();
    let mut record = st
        .config_of(k.plural)
        .and_then(|r| r.get(&id))
        .cloned()
        .ok_or_else(ApiError::not_found)?;
    let input = input_of(&body, k)?;
    rule_checks::check(k.plural, &input, false)?;
    merge(&mut record, &input);
    lay_out(&st, &mut record);
    record.insert("updated_at".into(), json!(iso(now)));
    let mut out = Map::new();
    out.insert(
        k.singular.into(),
        json::config(k.plural, &record, &app.base),
    );
    st.config_mut(k.plural).insert(id, record);
    Ok(reply(StatusCode::OK, &Value::Object(out)))
}

async fn destroy(State(app): State<Arc<App>>, Path(id): Path<String>, k: Kind) -> Res {
    let id = path_id(&id)?;
    app.write()
        .config_mut(k.plural)
        .remove(&id)
        .ok_or_else(ApiError::not_found)?;
    Ok(no_content())
}

async fn destroy_many(
    State(app): State<Arc<App>>,
    RawQuery(q): RawQuery,
    body: Bytes,
    k: Kind,
) -> Res {
    let mut ids = listing::ids_param(&QueryMap::parse(q.as_deref()))?;
    if let Ok(body) = body_json(&body)
        && let Some(list) = body.get(k.plural).and_then(Value::as_array)
    {
        ids.extend(
            list.iter()
                .filter_map(|r| r.get("id").and_then(Value::as_u64)),
        );
    }
    let mut st = app.write();
    for id in ids {
        st.config_mut(k.plural).remove(&id);
    }
    Ok(no_content())
}

/// Whether a ticket meets a view's `all` and `any` conditions (status, priority, type, group,
/// assignee; other conditions are taken as met).
fn matches(t: &Ticket, conditions: &Value) -> bool {
    let test = |c: &Value| -> bool {
        let field = c.get("field").and_then(Value::as_str).unwrap_or_default();
        let op = c.get("operator").and_then(Value::as_str).unwrap_or("is");
        let value = c
            .get("value")
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .unwrap_or_default();
        let rank = |s: &str| super::model::Status::parse(s).map(|s| s as u8);
        let actual: Option<String> = match field {
            "status" => Some(t.status.as_str().to_owned()),
            "priority" => Some(t.priority.map_or("", |p| p.as_str()).to_owned()),
            "type" => Some(t.kind.map_or("", |k| k.as_str()).to_owned()),
            "group_id" => Some(t.group_id.map_or(String::new(), |g| g.to_string())),
            "assignee_id" => Some(t.assignee_id.map_or(String::new(), |a| a.to_string())),
            _ => None,
        };
        let Some(actual) = actual else { return true };
        match op {
            "is" => actual == value || (value.is_empty() && actual.is_empty()),
            "is_not" => actual != value,
            "less_than" => rank(&actual).zip(rank(&value)).is_some_and(|(a, v)| a < v),
            "greater_than" => rank(&actual).zip(rank(&value)).is_some_and(|(a, v)| a > v),
            _ => true,
        }
    };
    let all = conditions
        .get("all")
        .and_then(Value::as_array)
        .is_none_or(|c| c.iter().all(test));
    let any = conditions
        .get("any")
        .and_then(Value::as_array)
        .is_none_or(|c| c.is_empty() || c.iter().any(test));
    all && any
}

async fn view_tickets(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Res {
    let id = path_id(&id)?;
    let query = QueryMap::parse(q.as_deref());
    let st = app.read();
    let view = st
        .config_of("views")
        .and_then(|v| v.get(&id))
        .ok_or_else(ApiError::not_found)?;
    let conditions = view.get("conditions").cloned().unwrap_or(Value::Null);
    let page = listing::select(
        &query,
        st.tickets
            .values()
            .filter(|t| !t.deleted && matches(t, &conditions))
            .map(|t| t.id),
    )?;
    let tickets: Vec<&Ticket> = page
        .ids
        .iter()
        .filter_map(|id| st.tickets.get(id))
        .collect();
    let mut records: Vec<Value> = tickets
        .iter()
        .map(|t| json::ticket(&st, t, &app.base, false))
        .collect();
    corrupt(&app, &mut records, &TICKET_SHAPE);
    let mut out = envelope(
        &app.base,
        &format!("/api/v2/views/{id}/tickets"),
        &query,
        "tickets",
        records,
        &page,
    );
    sideload_tickets(&st, &app.base, &query, &tickets, &mut out);
    Ok(reply(StatusCode::OK, &out))
}

async fn view_count(State(app): State<Arc<App>>, Path(id): Path<String>) -> Res {
    let id = path_id(&id)?;
    let st = app.read();
    let view = st
        .config_of("views")
        .and_then(|v| v.get(&id))
        .ok_or_else(ApiError::not_found)?;
    let conditions = view.get("conditions").cloned().unwrap_or(Value::Null);
    let n = st
        .tickets
        .values()
        .filter(|t| !t.deleted && matches(t, &conditions))
        .count();
    Ok(reply(
        StatusCode::OK,
        &json!({"view_count": {
            "fresh": true, "pretty": n.to_string(), "url": format!("{}/api/v2/views/{id}/count.json", app.base), "value": n, "view_id": id,
        }}),
    ))
}

async fn views_count(State(app): State<Arc<App>>) -> Res {
    let n = app.read().config_of("views").map_or(0, |v| v.len());
    Ok(reply(
        StatusCode::OK,
        &json!({"count": {"refreshed_at": iso(app.now()), "value": n}}),
    ))
}
