//! `/api/v2/users…`: list, show, show_many, me, search (query, external_id), create,
//! create_or_update, update, delete, the bulk endpoints, and identities.

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::app::App;
use super::auth::Actor;
use super::errors::{ApiError, FieldError};
use super::events::{self, Pending};
use super::jobs;
use super::json;
use super::listing::{self, envelope, ids_param, show_many_envelope};
use super::model::{Identity, Role, User};
use super::routes::{Res, USER_SHAPE, body_json, corrupt, created, path_id, reply};
use super::seed::new_user;
use super::store::ZendeskState;
use super::ticket_input::{normalise_tag, valid_email};
use crate::page::QueryMap;

fn render(app: &App, users: &[&User]) -> Vec<Value> {
    let mut out: Vec<Value> = users.iter().map(|u| json::user(u, &app.base)).collect();
    corrupt(app, &mut out, &USER_SHAPE);
    out
}

fn text(obj: &Map<String, Value>, key: &str) -> Option<Option<String>> {
    obj.get(key).map(|v| match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    })
}

/// Applies `obj` to `u`; returns the names of the fields that changed.
fn apply(
    st: &ZendeskState,
    u: &mut User,
    obj: &Map<String, Value>,
    errors: &mut Vec<FieldError>,
) -> Vec<&'static str> {
    let before = json::user(u, "");
    if let Some(name) = text(obj, "name") {
        match name.filter(|n| !n.trim().is_empty()) {
            Some(n) => u.name = n,
            None => errors.push(FieldError::new(
                "name",
                "Name:  is too short (minimum one character)",
                "BlankValue",
            )),
        }
    }
    if let Some(email) = text(obj, "email") {
        match email {
            Some(e) if !valid_email(&e) => errors.push(FieldError::new(
                "email",
                format!("Email: {e} is not properly formatted"),
                "InvalidFormat",
            )),
            Some(e) if st.user_by_email(&e).is_some_and(|other| other.id != u.id) => {
                errors.push(FieldError::new(
                    "email",
                    format!("Email: {e} is already being used by another user"),
                    "DuplicateValue",
                ))
            }
            other => u.email = other,
        }
    }
    if let Some(role) = obj.get("role").and_then(Value::as_str) {
        match Role::parse(role) {
            Some(r) => u.role = r,
            None => errors.push(FieldError::new(
                "role",
                format!("Role: {role} is not a valid value"),
                "InvalidValue",
            )),
        }
    }
    if let Some(org) = obj.get("organization_id") {
        match (org, org.as_u64().filter(|id| st.orgs.contains_key(id))) {
            (Value::Null, _) => u.organization_id = None,
            (_, Some(id)) => u.organization_id = Some(id),
            _ => errors.push(FieldError::new(
                "organization_id",
                "Organization: is invalid",
                "InvalidValue",
            )),
        }
    }
    apply_plain(u, obj);
    let after = json::user(u, "");
    [
        "name",
        "email",
        "role",
        "organization_id",
        "external_id",
        "tags",
        "notes",
        "details",
        "user_fields",
        "time_zone",
        "locale",
        "suspended",
        "phone",
    ]
    .into_iter()
    .filter(|k| before.get(k) != after.get(k))
    .collect()
}

fn apply_plain(u: &mut User, obj: &Map<String, Value>) {
    for (key, slot) in [
        ("external_id", &mut u.external_id),
        ("phone", &mut u.phone),
        ("notes", &mut u.notes),
        ("details", &mut u.details),
        ("alias", &mut u.alias),
        ("signature", &mut u.signature),
        ("ticket_restriction", &mut u.ticket_restriction),
    ] {
        if let Some(v) = text(obj, key) {
            *slot = v;
        }
    }
    if let Some(Some(v)) = text(obj, "locale") {
        u.locale = v;
    }
    if let Some(Some(v)) = text(obj, "time_zone") {
        u.time_zone = v;
    }
    for (key, slot) in [
        ("verified", &mut u.verified),
        ("suspended", &mut u.suspended),
        ("only_private_comments", &mut u.only_private_comments),
    ] {
        if let Some(b) = obj.get(key).and_then(Value::as_bool) {
            *slot = b;
        }
    }
    u.custom_role_id = obj
        .get("custom_role_id")
        .and_then(Value::as_u64)
        .or(u.custom_role_id);
    u.default_group_id = obj
        .get("default_group_id")
        .and_then(Value::as_u64)
        .or(u.default_group_id);
    if let Some(Value::Array(tags)) = obj.get("tags") {
        u.tags = tags
            .iter()
            .filter_map(Value::as_str)
            .map(normalise_tag)
            .collect();
    }
    if let Some(Value::Object(fields)) = obj.get("user_fields") {
        for (k, v) in fields {
            u.user_fields.insert(k.clone(), v.clone());
        }
    }
}

fn change_events(u: &User, changed: &[&str]) -> Vec<Pending> {
    changed
        .iter()
        .filter_map(|f| {
            let kind = match *f {
                "name" => "user.name_changed",
                "email" => "user.identity_changed",
                "role" => "user.role_changed",
                "organization_id" => "user.default_organization_changed",
                "external_id" => "user.external_id_changed",
                "tags" => "user.tags_changed",
                "notes" => "user.notes_changed",
                "details" => "user.details_changed",
                "user_fields" => "user.custom_field_changed",
                "time_zone" => "user.time_zone_changed",
                "locale" => "user.language_changed",
                "suspended" => "user.suspended_changed",
                _ => return None,
            };
            Some(events::user_pending(u, kind))
        })
        .collect()
}

/// Creates a user from a `user` object.
pub(crate) fn create_user(
    st: &mut ZendeskState,
    obj: &Map<String, Value>,
    now: i64,
) -> Result<(User, Vec<Pending>), ApiError> {
    let id = st.ids.peek();
    let mut u = new_user(id, "", None, Role::EndUser, now);
    let mut errors = Vec::new();
    if obj
        .get("name")
        .and_then(Value::as_str)
        .is_none_or(|n| n.trim().is_empty())
    {
        errors.push(FieldError::new(
            "name",
            "Name:  is too short (minimum one character)",
            "BlankValue",
        ));
    }
    apply(st, &mut u, obj, &mut errors);
    if u.role == Role::EndUser {
        u.ticket_restriction = u.ticket_restriction.or(Some("requested".into()));
    } else {
        u.ticket_restriction = None;
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    u.id = st.ids.next_id();
    st.put_user(u.clone());
    let pending = vec![events::user_pending(&u, "user.created")];
    Ok((u, pending))
}

fn update_user(
    st: &mut ZendeskState,
    id: u64,
    obj: &Map<String, Value>,
    now: i64,
) -> Result<(User, Vec<Pending>), ApiError> {
    let mut u = st.users.get(&id).cloned().ok_or_else(ApiError::not_found)?;
    let mut errors = Vec::new();
    let changed = apply(st, &mut u, obj, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    if !changed.is_empty() {
        u.updated_at = now;
    }
    st.put_user(u.clone());
    let pending = change_events(&u, &changed);
    Ok((u, pending))
}

fn user_obj(body: &Value) -> Result<Map<String, Value>, ApiError> {
    body.get("user")
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| {
            ApiError::invalid(vec![FieldError::new(
                "user",
                "User: parameter is missing",
                "BlankValue",
            )])
        })
}

/// `GET /api/v2/users` (`role`, `role[]` filters).
pub(crate) async fn list(State(app): State<Arc<App>>, RawQuery(q): RawQuery) -> Res {
    let query = QueryMap::parse(q.as_deref());
    let roles: Vec<&str> = query
        .pairs()
        .iter()
        .filter(|(k, _)| k == "role" || k == "role[]")
        .map(|(_, v)| v.as_str())
        .collect();
    let st = app.read();
    let page = listing::select(
        &query,
        st.users
            .values()
            .filter(|u| roles.is_empty() || roles.contains(&u.role.as_str()))
            .map(|u| u.id),
    )?;
    let users: Vec<&User> = page.ids.iter().filter_map(|id| st.users.get(id)).collect();
    Ok(reply(
        StatusCode::OK,
        &envelope(
            &app.base,
            "/api/v2/users",
            &query,
            "users",
            render(&app, &users),
            &page,
        ),
    ))
}

/// `GET /api/v2/users/me`.
pub(crate) async fn me(State(app): State<Arc<App>>, Extension(actor): Extension<Actor>) -> Res {
    let st = app.read();
    let u = st
        .users
        .get(&actor.user_id)
        .ok_or_else(ApiError::not_found)?;
    let mut v = json::user(u, &app.base);
    v["authenticity_token"] = json!("sim-authenticity-token");
    Ok(reply(StatusCode::OK, &json!({"user": v})))
}

/// `GET /api/v2/users/show_many?ids=` (or `external_ids=`).
pub(crate) async fn show_many(State(app): State<Arc<App>>, RawQuery(q): RawQuery) -> Res {
    let query = QueryMap::parse(q.as_deref());
    let ids = ids_param(&query)?;
    let externals = query.list("external_ids");
    let st = app.read();
    let mut users: Vec<&User> = ids.iter().filter_map(|id| st.users.get(id)).collect();
    users.extend(externals.iter().filter_map(|e| st.user_by_external_id(e)));
    Ok(reply(
        StatusCode::OK,
        &show_many_envelope("users", render(&app, &users)),
    ))
}

/// `GET /api/v2/users/search?query=` or `?external_id=`.
pub(crate) async fn search(State(app): State<Arc<App>>, RawQuery(q): RawQuery) -> Res {
    let query = QueryMap::parse(q.as_deref());
    let st = app.read();
    let external = query.non_empty("external_id").map(str::to_owned);
    let term = query.non_empty("query").map(|t| {
        t.trim_start_matches("email:")
            .trim_matches('"')
            .to_lowercase()
    });
    let matches = |u: &&User| match (&external, &term) {
        (Some(e), _) => u.external_id.as_ref() == Some(e),
        (None, Some(t)) => {
            u.email
                .as_deref()
                .is_some_and(|e| e.to_lowercase() == *t || e.to_lowercase().contains(t.as_str()))
                || u.name.to_lowercase().contains(t.as_str())
                || u.identities.iter().any(|i| i.value.to_lowercase() == *t)
        }
        (None, None) => false,
    };
    // The indexes narrow the users to check; `matches` still decides, so answers are the
    // scan's. A lookup by external id reads the users; a query goes to the search engine, which
    // sees writes late when lateness is on (assumed: only `query=` is a search).
    let candidates: Vec<&User> = match (&external, &term) {
        (Some(e), _) => st.users_by_external_id(e).collect(),
        (None, Some(t)) => {
            let stored: Vec<(u64, &User)> = match st.user_text.candidates(t) {
                Some(ids) => ids
                    .iter()
                    .filter_map(|id| st.users.get(id).map(|u| (*id, u)))
                    .collect(),
                None => st.users.iter().map(|(id, u)| (*id, u)).collect(),
            };
            let behind = st.searched.behind();
            st.searched
                .users
                .searched(stored.into_iter(), behind)
                .map(|(_, u)| u)
                .collect()
        }
        (None, None) => Vec::new(),
    };
    let page = listing::select(
        &query,
        candidates.into_iter().filter(|u| matches(u)).map(|u| u.id),
    )?;
    let users: Vec<&User> = page.ids.iter().filter_map(|id| st.users.get(id)).collect();
    Ok(reply(
        StatusCode::OK,
        &envelope(
            &app.base,
            "/api/v2/users/search",
            &query,
            "users",
            render(&app, &users),
            &page,
        ),
    ))
}

/// `GET /api/v2/users/{id}`.
pub(crate) async fn show(State(app): State<Arc<App>>, Path(id): Path<String>) -> Res {
    let id = path_id(&id)?;
    let st = app.read();
    let u = st.users.get(&id).ok_or_else(ApiError::not_found)?;
    let mut one = render(&app, &[u]);
    Ok(reply(StatusCode::OK, &json!({"user": one.pop()})))
}

/// `POST /api/v2/users`: 201.
pub(crate) async fn create(State(app): State<Arc<App>>, body: Bytes) -> Res {
    let obj = user_obj(&body_json(&body)?)?;
    let mut st = app.write();
    let (u, pending) = create_user(&mut st, &obj, app.now())?;
    events::emit(&app, &st, pending);
    Ok(created(
        &json!({"user": json::user(&u, &app.base)}),
        &format!("{}/api/v2/users/{}.json", app.base, u.id),
    ))
}

fn find_existing(st: &ZendeskState, obj: &Map<String, Value>) -> Option<u64> {
    let by_external = obj
        .get("external_id")
        .and_then(Value::as_str)
        .and_then(|e| st.user_by_external_id(e));
    let by_email = obj
        .get("email")
        .and_then(Value::as_str)
        .and_then(|e| st.user_by_email(e));
    by_external.or(by_email).map(|u| u.id)
}

/// `POST /api/v2/users/create_or_update`: matched by `external_id`, then `email`; 201 or 200.
pub(crate) async fn create_or_update(State(app): State<Arc<App>>, body: Bytes) -> Res {
    let obj = user_obj(&body_json(&body)?)?;
    let now = app.now();
    let mut st = app.write();
    let (u, pending, status) = match find_existing(&st, &obj) {
        Some(id) => {
            let (u, p) = update_user(&mut st, id, &obj, now)?;
            (u, p, StatusCode::OK)
        }
        None => {
            let (u, p) = create_user(&mut st, &obj, now)?;
            (u, p, StatusCode::CREATED)
        }
    };
    events::emit(&app, &st, pending);
    Ok(reply(status, &json!({"user": json::user(&u, &app.base)})))
}

fn bulk(
    app: &App,
    items: Vec<(Option<u64>, Map<String, Value>)>,
    job_type: &'static str,
    upsert: bool,
) -> Res {
    let now = app.now();
    let mut st = app.write();
    let mut results = Vec::new();
    for (index, (id, obj)) in items.iter().enumerate() {
        let target = id.or_else(|| {
            if upsert {
                find_existing(&st, obj)
            } else {
                None
            }
        });
        let outcome = match target {
            Some(id) => update_user(&mut st, id, obj, now).map(|r| (r, "updated")),
            None => create_user(&mut st, obj, now).map(|r| (r, "created")),
        };
        match outcome {
            Ok(((u, pending), action)) => {
                events::emit(app, &st, pending);
                let status = if action == "created" { "Created" } else { "Updated" };
                // Creations answer only id and status; updates say what they did (recordings).
                results.push(if job_type == "bulk_update_users" {
                    json!({"id": u.id, "action": "update", "status": status, "success": true})
                } else {
                    json!({"id": u.id, "status": status})
                });
            }
            Err(e) => results.push(json!({"index": index, "error": e.body["error"], "details": e.body.get("details").map(Value::to_string), "success": false})),
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

fn users_array(body: &Value) -> Result<Vec<Map<String, Value>>, ApiError> {
    let items: Vec<Map<String, Value>> = body
        .get("users")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|u| u.as_object().cloned()).collect())
        .unwrap_or_default();
    if items.len() > 100 {
        return Err(ApiError::bad_request(
            "TooManyValues",
            "Maximum 100 users may be created per call",
        ));
    }
    Ok(items)
}

/// `POST /api/v2/users/create_many`.
pub(crate) async fn create_many(State(app): State<Arc<App>>, body: Bytes) -> Res {
    let items = users_array(&body_json(&body)?)?;
    bulk(
        &app,
        items.into_iter().map(|o| (None, o)).collect(),
        "bulk_create_users",
        false,
    )
}

/// `POST /api/v2/users/create_or_update_many`.
pub(crate) async fn create_or_update_many(State(app): State<Arc<App>>, body: Bytes) -> Res {
    let items = users_array(&body_json(&body)?)?;
    bulk(
        &app,
        items.into_iter().map(|o| (None, o)).collect(),
        "bulk_create_or_update_users",
        true,
    )
}

/// `PUT /api/v2/users/update_many`: `?ids=` with one `user`, or `users` with ids.
pub(crate) async fn update_many(
    State(app): State<Arc<App>>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Res {
    let body = body_json(&body)?;
    let ids = ids_param(&QueryMap::parse(q.as_deref()))?;
    let items: Vec<(Option<u64>, Map<String, Value>)> = if ids.is_empty() {
        users_array(&body)?
            .into_iter()
            .map(|o| (o.get("id").and_then(Value::as_u64), o))
            .filter(|(id, _)| id.is_some())
            .collect()
    } else {
        let shared = body
            .get("user")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        ids.into_iter()
            .map(|id| (Some(id), shared.clone()))
            .collect()
    };
    bulk(&app, items, "bulk_update_users", false)
}

fn delete_user(st: &mut ZendeskState, id: u64, now: i64) -> Option<User> {
    let mut u = st.users.get(&id).filter(|u| u.active).cloned()?;
    u.active = false;
    u.updated_at = now;
    st.put_user(u.clone());
    Some(u)
}

/// `DELETE /api/v2/users/{id}`: 200 with the user, now inactive.
pub(crate) async fn destroy(State(app): State<Arc<App>>, Path(id): Path<String>) -> Res {
    let id = path_id(&id)?;
    let mut st = app.write();
    let u = delete_user(&mut st, id, app.now()).ok_or_else(ApiError::not_found)?;
    events::emit(&app, &st, vec![events::user_pending(&u, "user.deleted")]);
    Ok(reply(
        StatusCode::OK,
        &json!({"user": json::user(&u, &app.base)}),
    ))
}

/// `DELETE /api/v2/deleted_users/{id}`: a user deleted first (inactive) is deleted for good,
/// e-mails and external id freed; 200 with the user as it was. Any other id is not found.
pub(crate) async fn purge(State(app): State<Arc<App>>, Path(id): Path<String>) -> Res {
    let id = path_id(&id)?;
    let mut st = app.write();
    if st.users.get(&id).is_none_or(|u| u.active) {
        return Err(ApiError::not_found());
    }
    let u = st.remove_user(id).ok_or_else(ApiError::not_found)?;
    Ok(reply(
        StatusCode::OK,
        &json!({"deleted_user": json::user(&u, &app.base)}),
    ))
}

/// `DELETE /api/v2/users/destroy_many?ids=`.
pub(crate) async fn destroy_many(State(app): State<Arc<App>>, RawQuery(q): RawQuery) -> Res {
    let ids = ids_param(&QueryMap::parse(q.as_deref()))?;
    let now = app.now();
    let mut st = app.write();
    let mut results = Vec::new();
    for id in &ids {
        let ok = delete_user(&mut st, *id, now);
        if let Some(u) = &ok {
            events::emit(&app, &st, vec![events::user_pending(u, "user.deleted")]);
        }
        results.push(jobs::deletion(*id, ok.is_some()));
    }
    Ok(jobs::queued(
        &mut st,
        &app.base,
        "bulk_delete_users",
        ids.len(),
        results,
        now,
    ))
}

/// `PUT /api/v2/users/{id}`.
pub(crate) async fn update(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Res {
    let id = path_id(&id)?;
    let body = body_json(&body)?;
    let mut st = app.write();
    if !st.users.contains_key(&id) {
        return Err(ApiError::not_found());
    }
    let obj = user_obj(&body)?;
    let (u, pending) = update_user(&mut st, id, &obj, app.now())?;
    events::emit(&app, &st, pending);
    Ok(reply(
        StatusCode::OK,
        &json!({"user": json::user(&u, &app.base)}),
    ))
}

fn identities_of(u: &User) -> Vec<Identity> {
    let primary = u.email.as_ref().map(|e| Identity {
        id: u.id,
        kind: "email".into(),
        value: e.clone(),
        verified: u.verified,
        primary: true,
        created_at: u.created_at,
    });
    primary
        .into_iter()
        .chain(u.identities.iter().cloned())
        .collect()
}

/// `GET /api/v2/users/{id}/identities`.
pub(crate) async fn identities(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Res {
    let query = QueryMap::parse(q.as_deref());
    let id = path_id(&id)?;
    let st = app.read();
    let u = st.users.get(&id).ok_or_else(ApiError::not_found)?;
    let all = identities_of(u);
    let page = listing::select(&query, 0..all.len() as u64)?;
    let records: Vec<Value> = page
        .ids
        .iter()
        .filter_map(|i| all.get(*i as usize))
        .map(|i| json::identity(u, i, &app.base))
        .collect();
    let path = format!("/api/v2/users/{id}/identities");
    Ok(reply(
        StatusCode::OK,
        &envelope(&app.base, &path, &query, "identities", records, &page),
    ))
}

/// `GET /api/v2/users/{id}/identities/{iid}`.
pub(crate) async fn identity(
    State(app): State<Arc<App>>,
    Path((id, iid)): Path<(String, String)>,
) -> Res {
    let (id, iid) = (path_id(&id)?, path_id(&iid)?);
    let st = app.read();
    let u = st.users.get(&id).ok_or_else(ApiError::not_found)?;
    let i = identities_of(u)
        .into_iter()
        .find(|i| i.id == iid)
        .ok_or_else(ApiError::not_found)?;
    Ok(reply(
        StatusCode::OK,
        &json!({"identity": json::identity(u, &i, &app.base)}),
    ))
}

/// `POST /api/v2/users/{id}/identities`: adds an e-mail (or other) identity.
pub(crate) async fn add_identity(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Res {
    let id = path_id(&id)?;
    let body = body_json(&body)?;
    let input = body.get("identity").cloned().unwrap_or(Value::Null);
    let kind = input
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("email")
        .to_owned();
    let value = input
        .get("value")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let mut st = app.write();
    let mut u = st.users.get(&id).cloned().ok_or_else(ApiError::not_found)?;
    if kind == "email" && !valid_email(&value) {
        return Err(ApiError::invalid(vec![FieldError::new(
            "value",
            format!("Value: {value} is not properly formatted"),
            "InvalidFormat",
        )]));
    }
    if kind == "email" && st.user_by_email(&value).is_some() {
        return Err(ApiError::invalid(vec![FieldError::new(
            "value",
            format!("Value: {value} is already being used by another user"),
            "DuplicateValue",
        )]));
    }
    let identity = Identity {
        id: st.ids.next_id(),
        kind,
        value,
        verified: input
            .get("verified")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        primary: false,
        created_at: app.now(),
    };
    u.identities.push(identity.clone());
    st.put_user(u.clone());
    let location = format!(
        "{}/api/v2/users/{id}/identities/{}.json",
        app.base, identity.id
    );
    Ok(created(
        &json!({"identity": json::identity(&u, &identity, &app.base)}),
        &location,
    ))
}
