//! Writing the account's configuration as the real API can: ticket, contact and company fields
//! (`POST/PUT/DELETE /admin/ticket_fields`, `/contact_fields`, `/company_fields`; custom statuses
//! are choices added to the status field) and agents (`POST/PUT/DELETE /agents`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::app::App;
use super::errors::{ApiError, FieldError};
use super::render;
use super::routes::{Res, blank, body_object, no_content, path_id, reply};
use super::seed::contact_record;
use super::store::{FreshdeskState, is_agent, iso, str_of, u64_of};
use super::ticket_input::valid_email;

const FIELD_TYPES: [&str; 9] = [
    "custom_text",
    "custom_paragraph",
    "custom_checkbox",
    "custom_number",
    "custom_decimal",
    "custom_date",
    "custom_dropdown",
    "custom_url",
    "custom_phone_number",
];
const FIELD_KEYS: [&str; 12] = [
    "label",
    "label_for_customers",
    "type",
    "choices",
    "description",
    "position",
    "required_for_closure",
    "required_for_agents",
    "required_for_customers",
    "customers_can_edit",
    "displayed_to_customers",
    "displayed_for_customers",
];

/// A field's API name from its label: `cf_` (tickets only) and the label in snake case.
pub(crate) fn field_name(label: &str, ticket: bool) -> String {
    let snake = crate::text::snake_case(label);
    if ticket { format!("cf_{snake}") } else { snake }
}

fn check_field(fields: &Map<String, Value>, creating: bool) -> Result<(), ApiError> {
    let mut errors: Vec<FieldError> = fields
        .keys()
        .filter(|k| !FIELD_KEYS.contains(&k.as_str()))
        .map(|k| FieldError::unexpected(k))
        .collect();
    if creating && blank(fields.get("label")) {
        errors.push(FieldError::new(
            "label",
            "It should be a/an String",
            "missing_field",
        ));
    }
    let kind = fields.get("type").and_then(Value::as_str);
    if kind.is_some_and(|k| !FIELD_TYPES.contains(&k)) {
        errors.push(FieldError::not_one_of("type", &FIELD_TYPES.join(",")));
    }
    if creating
        && kind == Some("custom_dropdown")
        && fields
            .get("choices")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty)
    {
        errors.push(FieldError::new(
            "choices",
            "It should be a/an Array",
            "missing_field",
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(errors))
    }
}

/// `POST` a new field of `kind` (`ticket_fields`, `contact_fields`, `company_fields`).
pub(crate) fn create_field(app: &App, kind: &'static str, body: &Bytes) -> Res {
    let fields = body_object(body)?;
    check_field(&fields, true)?;
    let ticket = kind == "ticket_fields";
    let label = fields
        .get("label")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim()
        .to_owned();
    let name = field_name(&label, ticket);
    let now = app.now();
    let mut st = app.write();
    let taken = st.lists.get(kind).is_some_and(|l| {
        l.iter()
            .any(|f| f.get("name").and_then(Value::as_str) == Some(name.as_str()))
    });
    if taken {
        return Err(ApiError::conflict(vec![FieldError::new(
            "label",
            "It should be a unique value",
            "duplicate_value",
        )]));
    }
    let id = st.other_ids.next_id();
    let position = st.lists.get(kind).map_or(0, Vec::len) + 1;
    let mut field = json!({"id": id, "name": name, "label": label, "description": label,
        "position": position, "required_for_closure": false, "required_for_agents": false,
        "type": "custom_text", "default": false, "customers_can_edit": false,
        "label_for_customers": label, "required_for_customers": false,
        "displayed_to_customers": false, "created_at": iso(now), "updated_at": iso(now)});
    if let Value::Object(map) = &mut field {
        map.extend(fields);
    }
    st.lists.entry(kind).or_default().push(field.clone());
    add_key_everywhere(&mut st, kind, &name);
    Ok(reply(StatusCode::CREATED, &field))
}

/// The code a new custom status gets: one past the status field's highest choice.
pub(crate) fn next_status(choices: &Map<String, Value>) -> u64 {
    choices
        .keys()
        .filter_map(|k| k.parse::<u64>().ok())
        .max()
        .unwrap_or(5)
        + 1
}

/// Every record of the kind shows a new custom field (as null).
fn add_key_everywhere(st: &mut FreshdeskState, kind: &str, name: &str) {
    let records = match kind {
        "ticket_fields" => &mut st.tickets,
        "contact_fields" => &mut st.contacts,
        _ => &mut st.companies,
    };
    let lacks = |rec: &super::store::Rec| {
        rec.get("custom_fields")
            .and_then(Value::as_object)
            .is_some_and(|c| !c.contains_key(name))
    };
    records.update_where(lacks, |rec| {
        if let Some(Value::Object(custom)) = rec.get_mut("custom_fields") {
            custom.entry(name.to_owned()).or_insert(Value::Null);
        }
    });
}

/// `PUT` a field: its label, flags and choices; on the status field, choices named by a new
/// `value` (or `label`) become custom statuses with the next free ids.
pub(crate) fn update_field(app: &App, kind: &'static str, id: &str, body: &Bytes) -> Res {
    let id = path_id(id)?;
    let mut fields = body_object(body)?;
    check_field(&fields, false)?;
    let now = app.now();
    let mut st = app.write();
    let field = st
        .lists
        .get_mut(kind)
        .and_then(|l| {
            l.iter_mut()
                .find(|f| f.get("id").and_then(Value::as_u64) == Some(id))
        })
        .and_then(Value::as_object_mut)
        .ok_or_else(ApiError::not_found)?;
    if str_of(field, "name") == Some("status")
        && let Some(Value::Array(choices)) = fields.remove("choices")
        && let Some(Value::Object(existing)) = field.get_mut("choices")
    {
        for choice in choices {
            let label = choice
                .get("value")
                .or_else(|| choice.get("label"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .trim()
                .to_owned();
            let known = existing
                .values()
                .any(|v| v.get(0).and_then(Value::as_str) == Some(label.as_str()));
            if label.is_empty() || known {
                continue;
            }
            let next = next_status(existing);
            let shown = choice
                .get("customer_display_name")
                .and_then(Value::as_str)
                .unwrap_or(&label)
                .to_owned();
            existing.insert(next.to_string(), json!([label, shown]));
        }
    }
    // The type field's choices are the account's ticket types: new ones are added after
    // those it lists (`[{"value": …, "position": …}]`, or plain names); one sent with
    // `"deleted": true` is removed, the others stay.
    if str_of(field, "name") == Some("ticket_type")
        && let Some(Value::Array(choices)) = fields.remove("choices")
        && let Some(Value::Array(existing)) = field.get_mut("choices")
    {
        for choice in choices {
            let name = choice
                .as_str()
                .or_else(|| choice.get("value").and_then(Value::as_str))
                .or_else(|| choice.get("label").and_then(Value::as_str))
                .unwrap_or("")
                .trim()
                .to_owned();
            if choice.get("deleted").and_then(Value::as_bool) == Some(true) {
                existing.retain(|v| v.as_str() != Some(name.as_str()));
                continue;
            }
            let known = existing
                .iter()
                .any(|v| v.as_str().is_some_and(|v| v.eq_ignore_ascii_case(&name)));
            if !name.is_empty() && !known {
                existing.push(json!(name));
            }
        }
    }
    field.extend(fields);
    field.insert("updated_at".into(), json!(iso(now)));
    Ok(reply(StatusCode::OK, &Value::Object(field.clone())))
}

/// `DELETE` a custom field (default fields cannot be deleted).
pub(crate) fn delete_field(app: &App, kind: &'static str, id: &str) -> Res {
    let id = path_id(id)?;
    let mut st = app.write();
    let list = st.lists.get_mut(kind).ok_or_else(ApiError::not_found)?;
    let pos = list
        .iter()
        .position(|f| f.get("id").and_then(Value::as_u64) == Some(id))
        .ok_or_else(ApiError::not_found)?;
    if list[pos].get("default").and_then(Value::as_bool) == Some(true) {
        return Err(ApiError::field(
            "id",
            "Default fields cannot be deleted",
            "invalid_value",
        ));
    }
    list.remove(pos);
    Ok(no_content())
}

const AGENT_KEYS: [&str; 11] = [
    "email",
    "name",
    "ticket_scope",
    "role_ids",
    "group_ids",
    "occasional",
    "signature",
    "language",
    "time_zone",
    "agent_type",
    "skill_ids",
];

fn check_agent(
    st: &FreshdeskState,
    fields: &Map<String, Value>,
    creating: bool,
) -> Result<(), ApiError> {
    let mut errors: Vec<FieldError> = fields
        .keys()
        .filter(|k| !AGENT_KEYS.contains(&k.as_str()))
        .map(|k| FieldError::unexpected(k))
        .collect();
    match fields.get("email").and_then(Value::as_str) {
        Some(e) if !valid_email(e) => errors.push(FieldError::new(
            "email",
            "It should be in the 'valid email address' format",
            "invalid_value",
        )),
        None if creating => {
            errors.push(FieldError::new(
                "email",
                "It should be a/an String",
                "missing_field",
            ));
        }
        _ => {}
    }
    match fields.get("ticket_scope").map(Value::as_u64) {
        Some(Some(1..=3)) => {}
        None if !creating => {}
        None => errors.push(FieldError::new(
            "ticket_scope",
            "It should be a/an Integer",
            "missing_field",
        )),
        Some(_) => errors.push(FieldError::not_one_of("ticket_scope", "1,2,3")),
    }
    for key in ["group_ids", "role_ids"] {
        if let Some(v) = fields.get(key) {
            let known = |id: u64| {
                if key == "group_ids" {
                    st.groups.contains_key(&id)
                } else {
                    st.roles.contains_key(&id)
                }
            };
            let fine = v
                .as_array()
                .is_some_and(|l| l.iter().all(|x| x.as_u64().is_some_and(known)));
            if !fine {
                errors.push(FieldError::new(
                    key,
                    format!("There are no records matching some of the given {key}"),
                    "invalid_value",
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(errors))
    }
}

fn set_groups(st: &mut FreshdeskState, agent: u64, groups: &[u64]) {
    for (gid, g) in &mut st.groups {
        if let Some(Value::Array(ids)) = g.get_mut("agent_ids") {
            ids.retain(|x| x.as_u64() != Some(agent));
            if groups.contains(gid) {
                ids.push(json!(agent));
            }
        }
    }
}

fn ids(v: Option<&Value>) -> Option<Vec<u64>> {
    v.and_then(Value::as_array)
        .map(|l| l.iter().filter_map(Value::as_u64).collect())
}

/// `POST /api/v2/agents`: a new agent (a contact with that e-mail becomes the agent).
pub(crate) async fn create_agent(State(app): State<Arc<App>>, body: Bytes) -> Res {
    let fields = body_object(&body)?;
    let now = app.now();
    let mut st = app.write();
    check_agent(&st, &fields, true)?;
    let email = fields
        .get("email")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim()
        .to_owned();
    let existing = st
        .contact_by_email(&email)
        .map(|c| (u64_of(c, "id").unwrap_or(0), is_agent(c)));
    let id = match existing {
        Some((id, true)) => {
            return Err(ApiError::conflict(vec![FieldError::new(
                "email",
                "It should be a unique value",
                "duplicate_value",
            )])
            .with_info(json!({"user_id": id})));
        }
        Some((id, false)) => id,
        None => {
            let id = st.user_ids.next_id();
            let name = fields.get("name").and_then(Value::as_str).map_or_else(
                || email.split('@').next().unwrap_or("").to_owned(),
                str::to_owned,
            );
            let mut contact = contact_record(&st, id, &name, now);
            contact.insert("email".into(), json!(email));
            st.put_contact(id, contact);
            id
        }
    };
    st.contacts.update(id, |c| {
        c.insert("_agent".into(), json!(true));
        for key in ["language", "time_zone"] {
            if let Some(v) = fields.get(key) {
                c.insert(key.into(), v.clone());
            }
        }
    });
    let groups = ids(fields.get("group_ids")).unwrap_or_default();
    let agent = json!({"available": true, "occasional": fields.get("occasional").and_then(Value::as_bool).unwrap_or(false),
        "id": id, "ticket_scope": fields.get("ticket_scope").cloned().unwrap_or(json!(1)),
        "signature": fields.get("signature").cloned().unwrap_or(Value::Null), "group_ids": groups,
        "role_ids": ids(fields.get("role_ids")).unwrap_or_else(|| vec![47_000_000_004]),
        "skill_ids": [], "available_since": null, "type": "support_agent", "focus_mode": true,
        "created_at": iso(now), "updated_at": iso(now), "_last_login_at": null});
    if let Value::Object(a) = agent {
        st.agents.insert(id, a);
    }
    set_groups(&mut st, id, &groups);
    let out = st
        .agents
        .get(&id)
        .map_or(Value::Null, |a| render::agent(&st, a));
    Ok(reply(StatusCode::CREATED, &out))
}

/// `PUT /api/v2/agents/{id}`.
pub(crate) async fn update_agent(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Res {
    let id = path_id(&id)?;
    let fields = body_object(&body)?;
    let now = app.now();
    let mut st = app.write();
    if !st.agents.contains_key(&id) {
        return Err(ApiError::not_found());
    }
    check_agent(&st, &fields, false)?;
    if let Some(groups) = ids(fields.get("group_ids")) {
        set_groups(&mut st, id, &groups);
    }
    st.contacts.update(id, |c| {
        for key in ["email", "name", "language", "time_zone"] {
            if let Some(v) = fields.get(key) {
                c.insert(key.into(), v.clone());
            }
        }
        c.insert("updated_at".into(), json!(iso(now)));
    });
    if let Some(a) = st.agents.get_mut(&id) {
        for key in [
            "ticket_scope",
            "role_ids",
            "group_ids",
            "occasional",
            "signature",
            "skill_ids",
        ] {
            if let Some(v) = fields.get(key) {
                a.insert(key.into(), v.clone());
            }
        }
        a.insert("updated_at".into(), json!(iso(now)));
    }
    let out = st
        .agents
        .get(&id)
        .map_or(Value::Null, |a| render::agent(&st, a));
    Ok(reply(StatusCode::OK, &out))
}

/// `DELETE /api/v2/agents/{id}`: the agent becomes a contact again.
pub(crate) async fn delete_agent(State(app): State<Arc<App>>, Path(id): Path<String>) -> Res {
    let id = path_id(&id)?;
    let mut st = app.write();
    if id == st.owner_id || st.agents.remove(&id).is_none() {
        return Err(ApiError::not_found());
    }
    set_groups(&mut st, id, &[]);
    st.contacts.update(id, |c| {
        c.insert("_agent".into(), json!(false));
    });
    Ok(no_content())
}
