//! Organizations, groups and group memberships.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::app::App;
use super::errors::{ApiError, FieldError};
use super::events;
use super::jobs;
use super::json;
use super::listing::{self, envelope, ids_param, show_many_envelope};
use super::model::{Organization, Role};
use super::routes::{GENERIC_SHAPE, Res, body_json, corrupt, created, no_content, path_id, reply};
use super::seed;
use super::store::ZendeskState;
use super::ticket_input::normalise_tag;
use crate::page::QueryMap;

fn render(app: &App, orgs: &[&Organization]) -> Vec<Value> {
    let mut out: Vec<Value> = orgs
        .iter()
        .map(|o| json::organization(o, &app.base))
        .collect();
    corrupt(app, &mut out, &GENERIC_SHAPE);
    out
}

fn apply(st: &ZendeskState, o: &mut Organization, obj: &Map<String, Value>) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let Some(name) = obj.get("name") {
        match name.as_str().map(str::trim).filter(|n| !n.is_empty()) {
            Some(n)
                if st
                    .orgs_by_name(n)
                    .any(|other| other.id != o.id && other.name.eq_ignore_ascii_case(n)) =>
            {
                errors.push(FieldError::new(
                    "name",
                    "Name: has already been taken",
                    "DuplicateValue",
                ));
            }
            Some(n) => o.name = n.to_owned(),
            None => errors.push(FieldError::new(
                "name",
                "Name: cannot be blank",
                "BlankValue",
            )),
        }
    }
    let text = |k: &str| obj.get(k).map(|v| v.as_str().map(str::to_owned));
    if let Some(v) = text("external_id") {
        o.external_id = v;
    }
    if let Some(v) = text("details") {
        o.details = v;
    }
    if let Some(v) = text("notes") {
        o.notes = v;
    }
    if let Some(Value::Array(d)) = obj.get("domain_names") {
        o.domain_names = d
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
    }
    if let Some(Value::Array(t)) = obj.get("tags") {
        o.tags = t
            .iter()
            .filter_map(Value::as_str)
            .map(normalise_tag)
            .collect();
    }
    if let Some(v) = obj.get("group_id") {
        o.group_id = v.as_u64();
    }
    o.shared_tickets = obj
        .get("shared_tickets")
        .and_then(Value::as_bool)
        .unwrap_or(o.shared_tickets);
    o.shared_comments = obj
        .get("shared_comments")
        .and_then(Value::as_bool)
        .unwrap_or(o.shared_comments);
    if let Some(Value::Object(f)) = obj.get("organization_fields") {
        for (k, v) in f {
            o.organization_fields.insert(k.clone(), v.clone());
        }
    }
    errors
}

fn create_org(
    st: &mut ZendeskState,
    obj: &Map<String, Value>,
    now: i64,
) -> Result<Organization, ApiError> {
    let mut o = Organization {
        id: 0,
        name: String::new(),
        external_id: None,
        domain_names: Vec::new(),
        details: None,
        notes: None,
        group_id: None,
        shared_tickets: false,
        shared_comments: false,
        tags: Vec::new(),
        organization_fields: Map::new(),
        created_at: now,
        updated_at: now,
    };
    let mut errors = apply(st, &mut o, obj);
    if !obj.contains_key("name") {
        errors.push(FieldError::new(
            "name",
            "Name: cannot be blank",
            "BlankValue",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    o.id = st.ids.next_id();
    st.put_org(o.clone());
    Ok(o)
}

fn update_org(
    st: &mut ZendeskState,
    id: u64,
    obj: &Map<String, Value>,
    now: i64,
) -> Result<Organization, ApiError> {
    let mut o = st.orgs.get(&id).cloned().ok_or_else(ApiError::not_found)?;
    let errors = apply(st, &mut o, obj);
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    o.updated_at = now;
    st.put_org(o.clone());
    Ok(o)
}

fn org_obj(body: &Value) -> Map<String, Value> {
    body.get("organization")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// `GET /api/v2/organizations`.
pub(crate) async fn list(State(app): State<Arc<App>>, RawQuery(q): RawQuery) -> Res {
    let query = QueryMap::parse(q.as_deref());
    let st = app.read();
    let page = listing::select(&query, st.orgs.keys().copied())?;
    let orgs: Vec<&Organization> = page.ids.iter().filter_map(|id| st.orgs.get(id)).collect();
    Ok(reply(
        StatusCode::OK,
        &envelope(
            &app.base,
            "/api/v2/organizations",
            &query,
            "organizations",
            render(&app, &orgs),
            &page,
        ),
    ))
}

/// `GET /api/v2/organizations/show_many?ids=`.
pub(crate) async fn show_many(State(app): State<Arc<App>>, RawQuery(q): RawQuery) -> Res {
    let query = QueryMap::parse(q.as_deref());
    let ids = ids_param(&query)?;
    let externals = query.list("external_ids");
    let st = app.read();
    let mut orgs: Vec<&Organization> = ids.iter().filter_map(|id| st.orgs.get(id)).collect();
    let by_external: BTreeSet<u64> = externals
        .iter()
        .flat_map(|e| st.orgs_by_external_id(e).map(|o| o.id))
        .collect();
    orgs.extend(by_external.iter().filter_map(|id| st.orgs.get(id)));
    Ok(reply(
        StatusCode::OK,
        &show_many_envelope("organizations", render(&app, &orgs)),
    ))
}

/// `GET /api/v2/organizations/search?external_id=` or `?name=`.
pub(crate) async fn search(State(app): State<Arc<App>>, RawQuery(q): RawQuery) -> Res {
    let query = QueryMap::parse(q.as_deref());
    let external = query.non_empty("external_id").map(str::to_owned);
    let name = query.non_empty("name").map(str::to_lowercase);
    let st = app.read();
    let orgs: Vec<&Organization> = match (&external, &name) {
        (Some(e), _) => st.orgs_by_external_id(e).collect(),
        (None, Some(n)) => st
            .orgs_by_name(n)
            .filter(|o| o.name.to_lowercase() == *n)
            .collect(),
        _ => Vec::new(),
    };
    Ok(reply(
        StatusCode::OK,
        &show_many_envelope("organizations", render(&app, &orgs)),
    ))
}

/// `GET /api/v2/organizations/{id}`.
pub(crate) async fn show(State(app): State<Arc<App>>, Path(id): Path<String>) -> Res {
    let id = path_id(&id)?;
    let st = app.read();
    let o = st.orgs.get(&id).ok_or_else(ApiError::not_found)?;
    Ok(reply(
        StatusCode::OK,
        &json!({"organization": render(&app, &[o]).pop()}),
    ))
}

/// `POST /api/v2/organizations`: 201.
pub(crate) async fn create(State(app): State<Arc<App>>, body: Bytes) -> Res {
    let obj = org_obj(&body_json(&body)?);
    let mut st = app.write();
    let o = create_org(&mut st, &obj, app.now())?;
    events::emit(
        &app,
        &st,
        vec![events::org_pending(&o, "organization.created")],
    );
    Ok(created(
        &json!({"organization": json::organization(&o, &app.base)}),
        &format!("{}/api/v2/organizations/{}.json", app.base, o.id),
    ))
}

/// `POST /api/v2/organizations/create_or_update`: matched by `external_id`, then `name`.
pub(crate) async fn create_or_update(State(app): State<Arc<App>>, body: Bytes) -> Res {
    let obj = org_obj(&body_json(&body)?);
    let now = app.now();
    let mut st = app.write();
    let existing = obj
        .get("external_id")
        .and_then(Value::as_str)
        .and_then(|e| st.orgs_by_external_id(e).next())
        .or_else(|| {
            obj.get("name")
                .and_then(Value::as_str)
                .and_then(|n| st.orgs_by_name(n).find(|o| o.name == n))
        })
        .map(|o| o.id);
    let (o, status, kind) = match existing {
        Some(id) => (
            update_org(&mut st, id, &obj, now)?,
            StatusCode::OK,
            "organization.updated",
        ),
        None => (
            create_org(&mut st, &obj, now)?,
            StatusCode::CREATED,
            "organization.created",
        ),
    };
    events::emit(&app, &st, vec![events::org_pending(&o, kind)]);
    Ok(reply(
        status,
        &json!({"organization": json::organization(&o, &app.base)}),
    ))
}

/// `PUT /api/v2/organizations/{id}`.
pub(crate) async fn update(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Res {
    let id = path_id(&id)?;
    let obj = org_obj(&body_json(&body)?);
    let mut st = app.write();
    let o = update_org(&mut st, id, &obj, app.now())?;
    events::emit(
        &app,
        &st,
        vec![events::org_pending(&o, "organization.updated")],
    );
    Ok(reply(
        StatusCode::OK,
        &json!({"organization": json::organization(&o, &app.base)}),
    ))
}

/// `DELETE /api/v2/organizations/{id}`: 204.
pub(crate) async fn destroy(State(app): State<Arc<App>>, Path(id): Path<String>) -> Res {
    let id = path_id(&id)?;
    let mut st = app.write();
    let o = st.remove_org(id).ok_or_else(ApiError::not_found)?;
    events::emit(
        &app,
        &st,
        vec![events::org_pending(&o, "organization.deleted")],
    );
    Ok(no_content())
}

/// `POST /api/v2/organizations/create_many`.
pub(crate) async fn create_many(State(app): State<Arc<App>>, body: Bytes) -> Res {
    let body = body_json(&body)?;
    let items: Vec<Map<String, Value>> = body
        .get("organizations")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|o| o.as_object().cloned()).collect())
        .unwrap_or_default();
    if items.len() > 100 {
        return Err(ApiError::too_many(100));
    }
    let now = app.now();
    let mut st = app.write();
    let mut results = Vec::new();
    for (index, obj) in items.iter().enumerate() {
        match create_org(&mut st, obj, now) {
            Ok(o) => results.push(json!({"id": o.id, "status": "Created"})),
            Err(e) => {
                results.push(json!({"index": index, "error": e.body["error"], "success": false}))
            }
        }
    }
    Ok(jobs::queued(
        &mut st,
        &app.base,
        "bulk_create_organizations",
        items.len(),
        results,
        now,
    ))
}

/// `PUT /api/v2/organizations/update_many`.
pub(crate) async fn update_many(
    State(app): State<Arc<App>>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Res {
    let body = body_json(&body)?;
    let ids = ids_param(&QueryMap::parse(q.as_deref()))?;
    let items: Vec<(u64, Map<String, Value>)> = if ids.is_empty() {
        let list = body
            .get("organizations")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        list.iter()
            .filter_map(|o| Some((o.get("id")?.as_u64()?, o.as_object()?.clone())))
            .collect()
    } else {
        ids.iter().map(|id| (*id, org_obj(&body))).collect()
    };
    if items.len() > 100 {
        return Err(ApiError::too_many(100));
    }
    let now = app.now();
    let mut st = app.write();
    let results: Vec<Value> = items
        .iter()
        .map(|(id, obj)| match update_org(&mut st, *id, obj, now) {
            Ok(_) => json!({"id": id, "action": "update", "success": true, "status": "Updated"}),
            Err(e) => {
                json!({"id": id, "action": "update", "success": false, "error": e.body["error"]})
            }
        })
        .collect();
    Ok(jobs::queued(
        &mut st,
        &app.base,
        "bulk_update_organizations",
        items.len(),
        results,
        now,
    ))
}

/// `DELETE /api/v2/organizations/destroy_many?ids=`.
pub(crate) async fn destroy_many(State(app): State<Arc<App>>, RawQuery(q): RawQuery) -> Res {
    let ids = ids_param(&QueryMap::parse(q.as_deref()))?;
    let now = app.now();
    let mut st = app.write();
    let results: Vec<Value> = ids
        .iter()
        .map(|id| jobs::deletion(*id, st.remove_org(*id).is_some()))
        .collect();
    Ok(jobs::queued(
        &mut st,
        &app.base,
        "bulk_delete_organizations",
        ids.len(),
        results,
        now,
    ))
}

/// `GET /api/v2/groups`.
pub(crate) async fn list_groups(State(app): State<Arc<App>>, RawQuery(q): RawQuery) -> Res {
    let query = QueryMap::parse(q.as_deref());
    let st = app.read();
    let page = listing::select(
        &query,
        st.groups.values().filter(|g| !g.deleted).map(|g| g.id),
    )?;
    let mut records: Vec<Value> = page
        .ids
        .iter()
        .filter_map(|id| st.groups.get(id))
        .map(|g| json::group(g, &app.base))
        .collect();
    corrupt(&app, &mut records, &GENERIC_SHAPE);
    Ok(reply(
        StatusCode::OK,
        &envelope(
            &app.base,
            "/api/v2/groups",
            &query,
            "groups",
            records,
            &page,
        ),
    ))
}

/// `POST /api/v2/groups`: 201.
pub(crate) async fn create_group(State(app): State<Arc<App>>, body: Bytes) -> Res {
    let body = body_json(&body)?;
    let g = body.get("group").cloned().unwrap_or(Value::Null);
    let Some(name) = g
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty())
    else {
        return Err(ApiError::invalid(vec![FieldError::new(
            "name",
            "Name: cannot be blank",
            "BlankValue",
        )]));
    };
    let mut st = app.write();
    let id = seed::add_group(&mut st, name, false, app.now());
    if let Some(group) = st.groups.get_mut(&id) {
        group.description = g
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        group.is_public = g.get("is_public").and_then(Value::as_bool).unwrap_or(true);
    }
    let out = json!({"group": st.groups.get(&id).map(|g| json::group(g, &app.base))});
    Ok(created(
        &out,
        &format!("{}/api/v2/groups/{id}.json", app.base),
    ))
}

/// `GET /api/v2/groups/{id}`.
pub(crate) async fn show_group(State(app): State<Arc<App>>, Path(id): Path<String>) -> Res {
    let id = path_id(&id)?;
    let st = app.read();
    let g = st.groups.get(&id).ok_or_else(ApiError::not_found)?;
    Ok(reply(
        StatusCode::OK,
        &json!({"group": json::group(g, &app.base)}),
    ))
}

/// `PUT /api/v2/groups/{id}`.
pub(crate) async fn update_group(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Res {
    let id = path_id(&id)?;
    let body = body_json(&body)?;
    let input = body.get("group").cloned().unwrap_or(Value::Null);
    let now = app.now();
    let mut st = app.write();
    let g = st
        .groups
        .get_mut(&id)
        .filter(|g| !g.deleted)
        .ok_or_else(ApiError::not_found)?;
    if let Some(name) = input.get("name").and_then(Value::as_str) {
        g.name = name.to_owned();
    }
    if let Some(d) = input.get("description").and_then(Value::as_str) {
        g.description = d.to_owned();
    }
    g.updated_at = now;
    let out = json!({"group": json::group(g, &app.base)});
    Ok(reply(StatusCode::OK, &out))
}

/// `DELETE /api/v2/groups/{id}`: 204 (the group stays, marked deleted).
pub(crate) async fn delete_group(State(app): State<Arc<App>>, Path(id): Path<String>) -> Res {
    let id = path_id(&id)?;
    let now = app.now();
    let mut st = app.write();
    let g = st
        .groups
        .get_mut(&id)
        .filter(|g| !g.deleted)
        .ok_or_else(ApiError::not_found)?;
    g.deleted = true;
    g.updated_at = now;
    st.memberships.retain(|_, m| m.group_id != id);
    Ok(no_content())
}

fn memberships_where(
    app: &App,
    query: &QueryMap,
    path: &str,
    keep: impl Fn(&super::model::Membership) -> bool,
) -> Res {
    let st = app.read();
    let page = listing::select(
        query,
        st.memberships.values().filter(|m| keep(m)).map(|m| m.id),
    )?;
    let records: Vec<Value> = page
        .ids
        .iter()
        .filter_map(|id| st.memberships.get(id))
        .map(|m| json::membership(m, &app.base))
        .collect();
    Ok(reply(
        StatusCode::OK,
        &envelope(&app.base, path, query, "group_memberships", records, &page),
    ))
}

/// `GET /api/v2/group_memberships`.
pub(crate) async fn list_memberships(State(app): State<Arc<App>>, RawQuery(q): RawQuery) -> Res {
    memberships_where(
        &app,
        &QueryMap::parse(q.as_deref()),
        "/api/v2/group_memberships",
        |_| true,
    )
}

/// `GET /api/v2/users/{id}/group_memberships`.
pub(crate) async fn user_memberships(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Res {
    let id = path_id(&id)?;
    memberships_where(
        &app,
        &QueryMap::parse(q.as_deref()),
        &format!("/api/v2/users/{id}/group_memberships"),
        |m| m.user_id == id,
    )
}

/// `GET /api/v2/groups/{id}/memberships`.
pub(crate) async fn group_memberships(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Res {
    let id = path_id(&id)?;
    memberships_where(
        &app,
        &QueryMap::parse(q.as_deref()),
        &format!("/api/v2/groups/{id}/memberships"),
        |m| m.group_id == id,
    )
}

/// `POST /api/v2/group_memberships`: agents only.
pub(crate) async fn create_membership(State(app): State<Arc<App>>, body: Bytes) -> Res {
    let body = body_json(&body)?;
    let input = body.get("group_membership").cloned().unwrap_or(Value::Null);
    let user_id = input.get("user_id").and_then(Value::as_u64).unwrap_or(0);
    let group_id = input.get("group_id").and_then(Value::as_u64).unwrap_or(0);
    let mut st = app.write();
    let mut errors = Vec::new();
    if st
        .users
        .get(&user_id)
        .is_none_or(|u| u.role == Role::EndUser)
    {
        errors.push(FieldError::new(
            "user_id",
            "User: must be an agent",
            "InvalidValue",
        ));
    }
    if st.groups.get(&group_id).is_none_or(|g| g.deleted) {
        errors.push(FieldError::new(
            "group_id",
            "Group: is invalid",
            "InvalidValue",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let default = input
        .get("default")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let id = seed::add_membership(&mut st, user_id, group_id, default, app.now());
    let out = json!({"group_membership": st.memberships.get(&id).map(|m| json::membership(m, &app.base))});
    Ok(created(
        &out,
        &format!("{}/api/v2/group_memberships/{id}.json", app.base),
    ))
}

/// `GET /api/v2/group_memberships/{id}`.
pub(crate) async fn show_membership(State(app): State<Arc<App>>, Path(id): Path<String>) -> Res {
    let id = path_id(&id)?;
    let st = app.read();
    let m = st.memberships.get(&id).ok_or_else(ApiError::not_found)?;
    Ok(reply(
        StatusCode::OK,
        &json!({"group_membership": json::membership(m, &app.base)}),
    ))
}

/// `DELETE /api/v2/group_memberships/{id}`: 204.
pub(crate) async fn delete_membership(State(app): State<Arc<App>>, Path(id): Path<String>) -> Res {
    let id = path_id(&id)?;
    app.write()
        .memberships
        .remove(&id)
        .ok_or_else(ApiError::not_found)?;
    Ok(no_content())
}
