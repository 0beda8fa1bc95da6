//! Contacts (list with filters and `_updated_since`, show, create, update, soft delete, hard
//! delete, restore, merge, make agent) and companies (list, autocomplete by name, show, create,
//! update, delete).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::routing::{delete, get, post, put};
use serde_json::{Map, Value, json};

use super::app::App;
use super::errors::{ApiError, FieldError};
use super::render;
use super::routes::{
    GENERIC_SHAPE, Res, blank, body_object, corrupt, no_content, page_answer, page_reply, paging,
    path_id, reply,
};
use super::seed::{company_record, contact_record};
use super::store::{
    FreshdeskState, Rec, flag, fold, is_agent, iso, parse_time, str_of, time_of, u64_of,
};
use super::ticket_input::{custom_value, valid_email};
use crate::numbers::NumberSyntax;
use crate::page::QueryMap;

/// Contact and company routes.
pub(crate) fn routes(r: Router<Arc<App>>) -> Router<Arc<App>> {
    r.route("/api/v2/contacts", get(list).post(create))
        .route("/api/v2/contacts/merge", post(merge))
        .route(
            "/api/v2/contacts/{id}",
            get(show).put(update).delete(soft_delete),
        )
        .route("/api/v2/contacts/{id}/hard_delete", delete(hard_delete))
        .route("/api/v2/contacts/{id}/restore", put(restore))
        .route("/api/v2/contacts/{id}/make_agent", put(make_agent))
        .route(
            "/api/v2/companies",
            get(list_companies).post(create_company),
        )
        .route(
            "/api/v2/companies/autocomplete",
            get(autocomplete_companies),
        )
        .route(
            "/api/v2/companies/{id}",
            get(show_company).put(update_company).delete(delete_company),
        )
}

const CONTACT_FIELDS: [&str; 18] = [
    "name",
    "email",
    "phone",
    "mobile",
    "twitter_id",
    "unique_external_id",
    "other_emails",
    "company_id",
    "view_all_tickets",
    "other_companies",
    "address",
    "avatar",
    "custom_fields",
    "description",
    "job_title",
    "language",
    "tags",
    "time_zone",
];
const IDENTITIES: [&str; 5] = [
    "email",
    "mobile",
    "phone",
    "twitter_id",
    "unique_external_id",
];

/// `GET /api/v2/contacts`.
async fn list(State(app): State<Arc<App>>, RawQuery(q): RawQuery) -> Res {
    let query = QueryMap::parse(q.as_deref());
    let paging = paging(&query, None)?;
    let state = match query.non_empty("state") {
        Some(s) if !["blocked", "deleted", "unverified", "verified"].contains(&s) => {
            return Err(ApiError::invalid(vec![FieldError::not_one_of(
                "state",
                "blocked,deleted,unverified,verified",
            )]));
        }
        other => other,
    };
    let since = match query.non_empty("_updated_since") {
        Some(raw) => Some(parse_time(raw).ok_or_else(|| {
            ApiError::field(
                "_updated_since",
                "It should be in the 'valid date time' format",
                "invalid_value",
            )
        })?),
        None => None,
    };
    let company = match query.uint("company_id", NumberSyntax::Freshdesk) {
        Some(Err(_)) => {
            return Err(ApiError::invalid(vec![FieldError::mismatch(
                "company_id",
                "Positive Integer",
                "String",
            )]));
        }
        other => other.and_then(Result::ok),
    };
    let st = app.read();
    // The most selective filter with an index picks the candidates; all filters then apply.
    let keyed = ["unique_external_id", "email", "phone", "mobile"]
        .into_iter()
        .find_map(|k| query.non_empty(k).map(|v| (k, v)));
    let candidates: Box<dyn Iterator<Item = &Rec>> = match keyed {
        Some((key, value)) => Box::new(st.contacts.find(key, &fold(value.trim()))),
        None => Box::new(st.contacts.values()),
    };
    let matching = candidates
        .filter(|c| !is_agent(c))
        .filter(|c| match state {
            Some("deleted") => flag(c, "deleted"),
            Some("blocked") => false,
            Some("unverified") => !flag(c, "deleted") && !flag(c, "active"),
            Some(_) => !flag(c, "deleted") && flag(c, "active"),
            None => !flag(c, "deleted"),
        })
        .filter(|c| since.is_none_or(|s| time_of(c, "updated_at") >= s))
        .filter(|c| company.is_none_or(|id| u64_of(c, "company_id") == Some(id)))
        .filter(|c| {
            ["email", "mobile", "phone"].iter().all(|k| {
                query
                    .non_empty(k)
                    .is_none_or(|v| str_of(c, k).is_some_and(|x| x.eq_ignore_ascii_case(v.trim())))
            })
        })
        .filter(|c| {
            query
                .non_empty("unique_external_id")
                .is_none_or(|v| str_of(c, "unique_external_id") == Some(v))
        })
        .collect::<Vec<_>>();
    let (page, has_next) = paging.window(matching);
    let mut items: Vec<Value> = page.into_iter().map(render::contact).collect();
    drop(st);
    corrupt(&app, &mut items, &GENERIC_SHAPE);
    Ok(page_answer(
        &app,
        "/api/v2/contacts",
        &query,
        paging,
        items,
        has_next,
    ))
}

/// `GET /api/v2/contacts/{id}`.
async fn show(State(app): State<Arc<App>>, Path(id): Path<String>) -> Res {
    let id = path_id(&id)?;
    let st = app.read();
    let c = st.contacts.get(&id).ok_or_else(ApiError::not_found)?;
    Ok(reply(StatusCode::OK, &render::contact(c)))
}

fn check_contact(
    st: &FreshdeskState,
    fields: &Map<String, Value>,
    own_id: Option<u64>,
) -> Result<(), ApiError> {
    let mut errors: Vec<FieldError> = fields
        .keys()
        .filter(|k| !CONTACT_FIELDS.contains(&k.as_str()))
        .map(|k| FieldError::unexpected(k))
        .collect();
    if own_id.is_none() {
        if blank(fields.get("name")) {
            errors.push(FieldError::new(
                "name",
                "It should be a/an String",
                "missing_field",
            ));
        }
        if !IDENTITIES
            .iter()
            .any(|k| fields.get(*k).is_some_and(|v| !v.is_null()))
        {
            errors.push(FieldError::new("email", "Please fill at least 1 of email, mobile, phone, twitter_id, unique_external_id fields", "missing_field"));
        }
    }
    for key in [
        "name",
        "email",
        "phone",
        "mobile",
        "twitter_id",
        "unique_external_id",
        "job_title",
        "language",
        "time_zone",
        "description",
        "address",
    ] {
        if let Some(v) = fields.get(key).filter(|v| !v.is_null() && !v.is_string()) {
            errors.push(FieldError::mismatch(
                key,
                "String",
                if v.is_number() { "Integer" } else { "Array" },
            ));
        }
    }
    if let Some(email) = fields
        .get("email")
        .and_then(Value::as_str)
        .filter(|e| !valid_email(e))
    {
        errors.push(FieldError::new(
            "email",
            format!("It should be in the 'valid email address' format: {email}"),
            "invalid_value",
        ));
    }
    if let Some(id) = fields
        .get("company_id")
        .and_then(Value::as_u64)
        .filter(|id| !st.companies.contains_key(id))
    {
        errors.push(FieldError::new(
            "company_id",
            format!("There is no company matching the given company_id {id}"),
            "invalid_value",
        ));
    }
    if let Some(Value::Object(custom)) = fields.get("custom_fields") {
        let defined = st.custom_fields_of("contact_fields");
        for (k, v) in custom {
            match defined.iter().find(|f| &f.name == k) {
                None => errors.push(FieldError::unexpected(k)),
                Some(field) => {
                    if let Err(e) = custom_value(field, v) {
                        errors.push(e);
                    }
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let mut duplicates = Vec::new();
    for key in [
        "email",
        "unique_external_id",
        "phone",
        "mobile",
        "twitter_id",
    ] {
        let Some(value) = fields.get(key).and_then(Value::as_str) else {
            continue;
        };
        if key != "email" && key != "unique_external_id" {
            continue;
        }
        let mut others = st.contacts.find(key, &fold(value.trim())).filter(|o| {
            u64_of(o, "id") != own_id
                && (key == "email" || str_of(o, key).is_some_and(|v| v == value))
        });
        if let Some(other) = others.next() {
            duplicates.push((key, u64_of(other, "id").unwrap_or(0)));
        }
    }
    if let Some((key, user_id)) = duplicates.first() {
        let mut err = ApiError::conflict(vec![FieldError::new(
            key,
            "It should be a unique value",
            "duplicate_value",
        )]);
        err = err.with_info(json!({"user_id": user_id}));
        return Err(err);
    }
    Ok(())
}

fn put_fields(rec: &mut Rec, fields: Map<String, Value>, now: i64) {
    for (k, v) in fields {
        if k == "custom_fields" {
            if let (Some(Value::Object(custom)), Value::Object(new)) =
                (rec.get_mut("custom_fields"), v)
            {
                custom.extend(new);
            }
        } else {
            rec.insert(k, v);
        }
    }
    rec.insert("updated_at".into(), json!(iso(now)));
}

/// `POST /api/v2/contacts`.
async fn create(State(app): State<Arc<App>>, body: Bytes) -> Res {
    let fields = body_object(&body)?;
    let now = app.now();
    let mut st = app.write();
    check_contact(&st, &fields, None)?;
    let id = st.user_ids.next_id();
    let name = fields
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let mut rec = contact_record(&st, id, &name, now);
    put_fields(&mut rec, fields, now);
    let out = render::contact(&rec);
    st.put_contact(id, rec);
    let mut response = reply(StatusCode::CREATED, &out);
    if let Ok(v) = HeaderValue::from_str(&format!("{}/api/v2/contacts/{id}", app.base)) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

/// `PUT /api/v2/contacts/{id}`.
async fn update(State(app): State<Arc<App>>, Path(id): Path<String>, body: Bytes) -> Res {
    let id = path_id(&id)?;
    let fields = body_object(&body)?;
    let now = app.now();
    let mut st = app.write();
    if st.contacts.get(&id).is_none_or(|c| flag(c, "deleted")) {
        return Err(ApiError::not_found());
    }
    check_contact(&st, &fields, Some(id))?;
    let out = st
        .contacts
        .update(id, |rec| {
            put_fields(rec, fields, now);
            render::contact(rec)
        })
        .ok_or_else(ApiError::not_found)?;
    Ok(reply(StatusCode::OK, &out))
}

/// `DELETE /api/v2/contacts/{id}`: soft delete.
async fn soft_delete(State(app): State<Arc<App>>, Path(id): Path<String>) -> Res {
    let id = path_id(&id)?;
    let now = app.now();
    let mut st = app.write();
    if st
        .contacts
        .get(&id)
        .is_none_or(|c| flag(c, "deleted") || is_agent(c))
    {
        return Err(ApiError::not_found());
    }
    st.contacts.update(id, |c| {
        c.insert("deleted".into(), json!(true));
        c.insert("updated_at".into(), json!(iso(now)));
    });
    Ok(no_content())
}

/// `DELETE /api/v2/contacts/{id}/hard_delete[?force=true]`: a contact must be soft-deleted
/// first unless `force=true`.
async fn hard_delete(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Res {
    let id = path_id(&id)?;
    let force = QueryMap::parse(q.as_deref())
        .get("force")
        .is_some_and(|f| f.eq_ignore_ascii_case("true"));
    let mut st = app.write();
    let c = st
        .contacts
        .get(&id)
        .filter(|c| !is_agent(c))
        .ok_or_else(ApiError::not_found)?;
    if !flag(c, "deleted") && !force {
        return Err(ApiError::field(
            "contact",
            "The contact should be soft deleted before hard delete, or pass force=true",
            "invalid_value",
        ));
    }
    st.contacts.remove(id);
    Ok(no_content())
}

/// `PUT /api/v2/contacts/{id}/restore`.
async fn restore(State(app): State<Arc<App>>, Path(id): Path<String>) -> Res {
    let id = path_id(&id)?;
    let now = app.now();
    let mut st = app.write();
    st.contacts
        .get(&id)
        .filter(|c| flag(c, "deleted"))
        .ok_or_else(ApiError::not_found)?;
    st.contacts.update(id, |c| {
        c.insert("deleted".into(), json!(false));
        c.insert("updated_at".into(), json!(iso(now)));
    });
    Ok(no_content())
}

/// `POST /api/v2/contacts/merge {"primary_contact_id", "secondary_contact_ids": […], "contact": {…}}`:
/// the secondaries' tickets move to the primary, their e-mails become its other e-mails, and
/// they are removed.
async fn merge(State(app): State<Arc<App>>, body: Bytes) -> Res {
    let body = body_object(&body)?;
    let primary = body
        .get("primary_contact_id")
        .and_then(Value::as_u64)
        .ok_or_else(|| {
            ApiError::field(
                "primary_contact_id",
                "It should be a/an Positive Integer",
                "missing_field",
            )
        })?;
    let secondaries: Vec<u64> = body
        .get("secondary_contact_ids")
        .and_then(Value::as_array)
        .map(|l| l.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default();
    if secondaries.is_empty() {
        return Err(ApiError::field(
            "secondary_contact_ids",
            "It should be a/an Array",
            "missing_field",
        ));
    }
    let now = app.now();
    let mut st = app.write();
    let live = |st: &FreshdeskState, id: u64| {
        st.contacts
            .get(&id)
            .is_some_and(|c| !flag(c, "deleted") && !is_agent(c))
    };
    if !live(&st, primary) {
        return Err(ApiError::not_found());
    }
    let bad: Vec<FieldError> = secondaries
        .iter()
        .filter(|id| **id == primary || !live(&st, **id))
        .map(|id| {
            FieldError::new(
                "secondary_contact_ids",
                format!("There is no contact matching the given id {id}"),
                "invalid_value",
            )
        })
        .collect();
    if !bad.is_empty() {
        return Err(ApiError::invalid(bad));
    }
    let mut other_emails = Vec::new();
    for id in &secondaries {
        if let Some(c) = st.contacts.remove(*id) {
            other_emails.extend(str_of(&c, "email").map(str::to_owned));
        }
        st.tickets.update_where(
            |t| u64_of(t, "requester_id") == Some(*id),
            |t| {
                t.insert("requester_id".into(), json!(primary));
                t.insert("updated_at".into(), json!(iso(now)));
            },
        );
    }
    st.contacts.update(primary, |p| {
        if let Some(Value::Array(list)) = p.get_mut("other_emails") {
            list.extend(other_emails.into_iter().map(Value::from));
        }
        if let Some(Value::Object(contact)) = body.get("contact") {
            for (k, v) in contact {
                if [
                    "email",
                    "phone",
                    "mobile",
                    "twitter_id",
                    "unique_external_id",
                    "other_emails",
                ]
                .contains(&k.as_str())
                {
                    p.insert(k.clone(), v.clone());
                }
            }
        }
        p.insert("updated_at".into(), json!(iso(now)));
    });
    Ok(no_content())
}

/// `PUT /api/v2/contacts/{id}/make_agent`: the contact becomes an agent.
async fn make_agent(State(app): State<Arc<App>>, Path(id): Path<String>) -> Res {
    let id = path_id(&id)?;
    let now = app.now();
    let mut st = app.write();
    let c = st
        .contacts
        .get(&id)
        .filter(|c| !flag(c, "deleted") && !is_agent(c))
        .ok_or_else(ApiError::not_found)?;
    if str_of(c, "email").is_none() {
        return Err(ApiError::field(
            "email",
            "The contact needs an email to become an agent",
            "invalid_value",
        ));
    }
    let mut out = st
        .contacts
        .update(id, |c| {
            c.insert("_agent".into(), json!(true));
            render::contact(c)
        })
        .ok_or_else(ApiError::not_found)?;
    let agent = json!({"available": true, "occasional": false, "id": id, "ticket_scope": 1,
        "signature": null, "group_ids": [], "role_ids": [47_000_000_004_u64], "skill_ids": [],
        "available_since": null, "type": "support_agent", "focus_mode": true,
        "created_at": iso(now), "updated_at": iso(now)});
    if let (Value::Object(map), Value::Object(a)) = (&mut out, &agent) {
        let mut shown = a.clone();
        shown.remove("type");
        map.insert("agent".into(), Value::Object(shown));
    }
    if let Value::Object(a) = agent {
        st.agents.insert(id, a);
    }
    Ok(reply(StatusCode::OK, &out))
}

const COMPANY_FIELDS: [&str; 9] = [
    "name",
    "description",
    "domains",
    "note",
    "health_score",
    "account_tier",
    "renewal_date",
    "industry",
    "custom_fields",
];

fn check_company(
    st: &FreshdeskState,
    fields: &Map<String, Value>,
    own_id: Option<u64>,
) -> Result<(), ApiError> {
    let mut errors: Vec<FieldError> = fields
        .keys()
        .filter(|k| !COMPANY_FIELDS.contains(&k.as_str()))
        .map(|k| FieldError::unexpected(k))
        .collect();
    let name = fields.get("name");
    if own_id.is_none() && blank(name) {
        errors.push(FieldError::new(
            "name",
            "It should be a/an String",
            "missing_field",
        ));
    }
    if fields
        .get("domains")
        .is_some_and(|d| !d.as_array().is_some_and(|l| l.iter().all(Value::is_string)))
    {
        errors.push(FieldError::mismatch("domains", "Array", "String"));
    }
    if let Some(Value::Object(custom)) = fields.get("custom_fields") {
        let defined = st.custom_fields_of("company_fields");
        for (k, v) in custom {
            match defined.iter().find(|f| &f.name == k) {
                None => errors.push(FieldError::unexpected(k)),
                Some(field) => {
                    if let Err(e) = custom_value(field, v) {
                        errors.push(e);
                    }
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    if let Some(name) = name.and_then(Value::as_str) {
        let taken = st
            .companies
            .find("name", &name.trim().to_lowercase())
            .find(|c| u64_of(c, "id") != own_id);
        if let Some(other) = taken {
            let mut err = ApiError::conflict(vec![FieldError::new(
                "name",
                "It should be a unique value",
                "duplicate_value",
            )]);
            err = err.with_info(json!({"company_id": u64_of(other, "id")}));
            return Err(err);
        }
    }
    Ok(())
}

async fn list_companies(State(app): State<Arc<App>>, RawQuery(q): RawQuery) -> Res {
    let query = QueryMap::parse(q.as_deref());
    let paging = paging(&query, None)?;
    let st = app.read();
    let mut items: Vec<Value> = st
        .companies
        .values()
        .map(|c| Value::Object(c.clone()))
        .collect();
    drop(st);
    corrupt(&app, &mut items, &GENERIC_SHAPE);
    Ok(page_reply(&app, "/api/v2/companies", &query, paging, items))
}

/// How many companies an autocomplete answers at most (assumed: the documentation names no
/// number; an autocomplete is a short list).
pub(crate) const AUTOCOMPLETE_CAP: usize = 25;

/// `GET /api/v2/companies/autocomplete?name=…`: `{"companies": [{"id", "name"}]}`, the first
/// [`AUTOCOMPLETE_CAP`] companies whose name starts with `name` (case aside), in name order, as
/// the search engine sees them (late when lateness is on).
async fn autocomplete_companies(State(app): State<Arc<App>>, RawQuery(q): RawQuery) -> Res {
    let query = QueryMap::parse(q.as_deref());
    let Some(name) = query.non_empty("name") else {
        return Err(ApiError::field(
            "name",
            "It should be a/an String",
            "missing_field",
        ));
    };
    let prefix = name.trim().to_lowercase();
    let st = app.read();
    let name_of = |c: &Rec| str_of(c, "name").map(str::to_lowercase);
    let companies: Vec<Value> = st
        .companies
        .searched_prefixed(&prefix, name_of)
        .into_iter()
        .take(AUTOCOMPLETE_CAP)
        .map(|(_, c)| json!({"id": c.get("id"), "name": c.get("name")}))
        .collect();
    Ok(reply(StatusCode::OK, &json!({"companies": companies})))
}

async fn show_company(State(app): State<Arc<App>>, Path(id): Path<String>) -> Res {
    let id = path_id(&id)?;
    let st = app.read();
    let c = st.companies.get(&id).ok_or_else(ApiError::not_found)?;
    Ok(reply(StatusCode::OK, &Value::Object(c.clone())))
}

async fn create_company(State(app): State<Arc<App>>, body: Bytes) -> Res {
    let fields = body_object(&body)?;
    let now = app.now();
    let mut st = app.write();
    check_company(&st, &fields, None)?;
    let id = st.company_ids.next_id();
    let name = fields
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim()
        .to_owned();
    let mut rec = company_record(&st, id, &name, now);
    put_fields(&mut rec, fields, now);
    rec.insert("name".into(), json!(name));
    let out = Value::Object(rec.clone());
    st.companies.put(id, rec);
    let mut response = reply(StatusCode::CREATED, &out);
    if let Ok(v) = HeaderValue::from_str(&format!("{}/api/v2/companies/{id}", app.base)) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

async fn update_company(State(app): State<Arc<App>>, Path(id): Path<String>, body: Bytes) -> Res {
    let id = path_id(&id)?;
    let fields = body_object(&body)?;
    let now = app.now();
    let mut st = app.write();
    if !st.companies.contains_key(&id) {
        return Err(ApiError::not_found());
    }
    check_company(&st, &fields, Some(id))?;
    let out = st
        .companies
        .update(id, |rec| {
            put_fields(rec, fields, now);
            Value::Object(rec.clone())
        })
        .ok_or_else(ApiError::not_found)?;
    Ok(reply(StatusCode::OK, &out))
}

/// `DELETE /api/v2/companies/{id}`: permanent; its contacts and tickets lose the company.
async fn delete_company(State(app): State<Arc<App>>, Path(id): Path<String>) -> Res {
    let id = path_id(&id)?;
    let mut st = app.write();
    st.companies.remove(id).ok_or_else(ApiError::not_found)?;
    let of_company = |rec: &Rec| u64_of(rec, "company_id") == Some(id);
    let unlink = |rec: &mut Rec| {
        rec.insert("company_id".into(), Value::Null);
    };
    st.contacts.update_where(of_company, unlink);
    st.tickets.update_where(of_company, unlink);
    Ok(no_content())
}
