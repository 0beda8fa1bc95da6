//! Reading a ticket write: JSON or `multipart/form-data` (`attachments[]`, `key[]` arrays,
//! `custom_fields[cf_x]`), Freshdesk's validation rules with its error codes, and applying the
//! result to a stored ticket (requester lookup or creation, stats on status changes).

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header;
use serde_json::{Map, Value, json};

use super::errors::{ApiError, FieldError};
use super::routes::body_json;
use super::seed::{TYPES, contact_record};
use super::store::{Attachment, Content, CustomField, FreshdeskState, Rec, iso, parse_time};
use crate::text::html_to_text;

/// The real cap on the files of one request (Freshdesk: 20 MB in all).
pub(crate) const MAX_ATTACHMENTS_BYTES: usize = 20 * 1024 * 1024;

/// A file sent with a write.
#[derive(Debug, Clone)]
pub(crate) struct Upload {
    pub(crate) name: String,
    pub(crate) content_type: String,
    pub(crate) bytes: Vec<u8>,
}

/// A write's fields and files.
#[derive(Debug, Default)]
pub(crate) struct Input {
    pub(crate) fields: Map<String, Value>,
    pub(crate) files: Vec<Upload>,
}

const NUMERIC: [&str; 11] = [
    "status",
    "priority",
    "source",
    "requester_id",
    "responder_id",
    "group_id",
    "company_id",
    "product_id",
    "email_config_id",
    "user_id",
    "parent_id",
];
const BOOLEAN: [&str; 2] = ["private", "incoming"];

/// Reads a JSON or multipart body; 415 for other media types, 400 past the size cap.
pub(crate) async fn read_input(req: Request) -> Result<Input, ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        let multipart = Multipart::from_request(req, &())
            .await
            .map_err(|e| ApiError::unparsable(&e.body_text()))?;
        return read_multipart(multipart).await;
    }
    if !content_type.is_empty() && !content_type.starts_with("application/json") {
        return Err(ApiError::unsupported_media());
    }
    let bytes = axum::body::to_bytes(req.into_body(), 64 * 1024 * 1024)
        .await
        .map_err(|e| ApiError::unparsable(&e.to_string()))?;
    match body_json(&bytes)? {
        Value::Object(fields) => Ok(Input {
            fields,
            files: Vec::new(),
        }),
        Value::Null => Ok(Input::default()),
        _ => Err(ApiError::unparsable("the body must be a JSON object")),
    }
}

async fn read_multipart(mut multipart: Multipart) -> Result<Input, ApiError> {
    let mut input = Input::default();
    let mut total = 0usize;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return Err(ApiError::unparsable(&e.body_text())),
        };
        let name = field.name().unwrap_or("").to_owned();
        if let Some(file_name) = field.file_name().map(str::to_owned) {
            let content_type = field
                .content_type()
                .unwrap_or("application/octet-stream")
                .to_owned();
            let bytes = field
                .bytes()
                .await
                .map_err(|e| ApiError::unparsable(&e.body_text()))?;
            total += bytes.len();
            if total > MAX_ATTACHMENTS_BYTES {
                return Err(ApiError::field(
                    "attachments",
                    "The cumulative size of all attachments should not exceed 20 MB",
                    "invalid_value",
                ));
            }
            input.files.push(Upload {
                name: file_name,
                content_type,
                bytes: bytes.to_vec(),
            });
            continue;
        }
        let text = field
            .text()
            .await
            .map_err(|e| ApiError::unparsable(&e.body_text()))?;
        put_form_field(&mut input.fields, &name, text);
    }
    Ok(input)
}

fn put_form_field(fields: &mut Map<String, Value>, name: &str, text: String) {
    if let Some(inner) = name
        .strip_prefix("custom_fields[")
        .and_then(|s| s.strip_suffix(']'))
    {
        let entry = fields
            .entry("custom_fields")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(map) = entry {
            map.insert(inner.to_owned(), Value::String(text));
        }
    } else if let Some(key) = name.strip_suffix("[]") {
        let entry = fields
            .entry(key)
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = entry {
            list.push(Value::String(text));
        }
    } else if NUMERIC.contains(&name) {
        let value = text
            .trim()
            .parse::<u64>()
            .map_or(Value::String(text), Value::from);
        fields.insert(name.to_owned(), value);
    } else if BOOLEAN.contains(&name) {
        let value = match text.trim() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(text),
        };
        fields.insert(name.to_owned(), value);
    } else {
        fields.insert(name.to_owned(), Value::String(text));
    }
}

/// Stores uploads as attachments and returns their ids.
pub(crate) fn store_uploads(st: &mut FreshdeskState, files: Vec<Upload>, now: i64) -> Vec<u64> {
    files
        .into_iter()
        .map(|f| {
            let id = st.attachment_ids.next_id();
            st.attachments.insert(
                id,
                Attachment {
                    id,
                    name: f.name,
                    content_type: f.content_type,
                    size: f.bytes.len() as u64,
                    created_at: now,
                    content: Content::Stored(std::sync::Arc::new(f.bytes)),
                },
            );
            id
        })
        .collect()
}

/// How a write names its requester.
#[derive(Debug, Clone)]
pub(crate) enum Requester {
    Existing(u64),
    New {
        name: String,
        key: &'static str,
        value: String,
    },
}

/// A validated ticket write.
#[derive(Debug, Default)]
pub(crate) struct Validated {
    pub(crate) set: Vec<(String, Value)>,
    pub(crate) custom: Vec<(String, Value)>,
    pub(crate) requester: Option<Requester>,
}

const CREATE_FIELDS: [&str; 27] = [
    "name",
    "requester_id",
    "email",
    "facebook_id",
    "phone",
    "twitter_id",
    "unique_external_id",
    "subject",
    "type",
    "status",
    "priority",
    "description",
    "responder_id",
    "attachments",
    "cc_emails",
    "custom_fields",
    "due_by",
    "email_config_id",
    "fr_due_by",
    "group_id",
    "parent_id",
    "product_id",
    "source",
    "tags",
    "company_id",
    "internal_agent_id",
    "internal_group_id",
];
const REQUESTER_KEYS: [&str; 6] = [
    "requester_id",
    "email",
    "phone",
    "twitter_id",
    "unique_external_id",
    "facebook_id",
];
/// Sources a write may set.
pub(crate) const SOURCES: [u64; 6] = [1, 2, 3, 7, 9, 10];

/// Whether an e-mail address looks valid.
pub(crate) fn valid_email(s: &str) -> bool {
    let s = s.trim();
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !s.contains(' ')
        }
        None => false,
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Number(_) => "Integer",
        Value::String(_) => "String",
        Value::Array(_) => "Array",
        Value::Object(_) => "key/value pair",
    }
}

/// Checks a ticket write against Freshdesk's rules; every failure is reported at once.
/// The account's ticket types: the choices of its `ticket_type` field (the built-in five until
/// an admin adds more).
pub(crate) fn ticket_types(st: &FreshdeskState) -> Vec<String> {
    st.lists
        .get("ticket_fields")
        .and_then(|fields| {
            fields
                .iter()
                .find(|f| f.get("name").and_then(Value::as_str) == Some("ticket_type"))
        })
        .and_then(|f| f.get("choices"))
        .and_then(Value::as_array)
        .map(|choices| {
            choices
                .iter()
                .filter_map(|c| c.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_else(|| TYPES.iter().map(|t| (*t).to_owned()).collect())
}

/// `skip_close_notification` (update only; Freshdesk ignores it on create): a boolean, and only
/// beside a `status` of resolved (4) or closed (5), as Freshdesk's own validation has it
/// ("cannot_set_skip_notification" otherwise).
fn skip_close_notification(
    fields: &Map<String, Value>,
    creating: bool,
    errors: &mut Vec<FieldError>,
) {
    let Some(value) = fields.get("skip_close_notification") else {
        return;
    };
    if creating {
        return;
    }
    let closing = matches!(
        fields.get("status").and_then(Value::as_u64),
        Some(RESOLVED | CLOSED)
    );
    if !closing {
        errors.push(FieldError::new(
            "skip_close_notification",
            "It can be set only when the status is set to resolved or closed",
            "invalid_value",
        ));
    } else if !value.is_boolean() {
        errors.push(FieldError::mismatch(
            "skip_close_notification",
            "Boolean",
            type_name(value),
        ));
    }
}

/// Whether an update asks Freshdesk not to e-mail the requester about the resolve or close it
/// makes (`skip_close_notification: true`, checked by [`validate`]).
pub(crate) fn skips_close_notification(fields: &Map<String, Value>) -> bool {
    fields.get("skip_close_notification") == Some(&Value::Bool(true))
}

/// Freshdesk's resolved status.
const RESOLVED: u64 = 4;
/// Freshdesk's closed status.
const CLOSED: u64 = 5;

pub(crate) fn validate(
    st: &FreshdeskState,
    fields: &Map<String, Value>,
    creating: bool,
) -> Result<Validated, ApiError> {
    let mut errors = Vec::new();
    let mut out = Validated::default();
    for key in fields.keys() {
        if !CREATE_FIELDS.contains(&key.as_str()) && key != "skip_close_notification" {
            errors.push(FieldError::unexpected(key));
        }
    }
    let int = |key: &str, errors: &mut Vec<FieldError>| -> Option<u64> {
        let v = fields.get(key)?;
        match v.as_u64() {
            Some(n) => Some(n),
            None if v.is_null() => None,
            None => {
                errors.push(FieldError::mismatch(key, "Positive Integer", type_name(v)));
                None
            }
        }
    };
    skip_close_notification(fields, creating, &mut errors);
    if let Some(status) = int("status", &mut errors) {
        let allowed = st.statuses();
        if allowed.contains(&status) {
            out.set.push(("status".into(), json!(status)));
        } else {
            let names: Vec<String> = allowed.iter().map(u64::to_string).collect();
            errors.push(FieldError::not_one_of("status", &names.join(",")));
        }
    }
    if let Some(priority) = int("priority", &mut errors) {
        if (1..=4).contains(&priority) {
            out.set.push(("priority".into(), json!(priority)));
        } else {
            errors.push(FieldError::not_one_of("priority", "1,2,3,4"));
        }
    }
    if let Some(source) = int("source", &mut errors) {
        if SOURCES.contains(&source) {
            out.set.push(("source".into(), json!(source)));
        } else {
            errors.push(FieldError::not_one_of("source", "1,2,3,7,9,10"));
        }
    }
    for (key, what) in [
        ("responder_id", "agent"),
        ("group_id", "group"),
        ("company_id", "company"),
        ("product_id", "product"),
        ("email_config_id", "email_config"),
    ] {
        if fields.get(key).is_some_and(Value::is_null) {
            out.set.push((key.into(), Value::Null));
        } else if let Some(id) = int(key, &mut errors) {
            if exists(st, key, id) {
                out.set.push((key.into(), json!(id)));
            } else {
                errors.push(FieldError::new(
                    key,
                    format!("There is no {what} matching the given {key}"),
                    "invalid_value",
                ));
            }
        }
    }
    for key in ["subject", "description", "type"] {
        match fields.get(key) {
            None => {}
            Some(Value::String(s)) => {
                if key == "type" && !ticket_types(st).contains(s) {
                    errors.push(FieldError::not_one_of("type", &ticket_types(st).join(",")));
                } else if key == "description" {
                    out.set.push(("description".into(), json!(s)));
                    out.set
                        .push(("description_text".into(), json!(html_to_text(s))));
                } else {
                    out.set.push((key.into(), json!(s)));
                }
            }
            Some(Value::Null) if key == "type" => out.set.push((key.into(), Value::Null)),
            Some(v) => errors.push(FieldError::mismatch(key, "String", type_name(v))),
        }
    }
    for key in ["tags", "cc_emails"] {
        match fields.get(key) {
            None => {}
            Some(Value::Array(list)) if list.iter().all(Value::is_string) => {
                if key == "cc_emails"
                    && let Some(bad) = list
                        .iter()
                        .filter_map(Value::as_str)
                        .find(|e| !valid_email(e))
                {
                    errors.push(FieldError::new(
                        key,
                        format!("It should contain elements that are in the 'valid email address' format: {bad}"),
                        "invalid_value",
                    ));
                    continue;
                }
                out.set.push((key.into(), Value::Array(list.clone())));
            }
            Some(v) => errors.push(FieldError::mismatch(key, "Array", type_name(v))),
        }
    }
    for key in ["due_by", "fr_due_by"] {
        match fields.get(key) {
            None => {}
            Some(Value::String(s)) if parse_time(s).is_some() => {
                let at = parse_time(s).unwrap_or(0);
                out.set.push((key.into(), json!(iso(at))));
            }
            Some(_) => errors.push(FieldError::new(
                key,
                "It should be in the 'valid date time' format",
                "invalid_value",
            )),
        }
    }
    match fields.get("custom_fields") {
        None => {}
        Some(Value::Object(map)) => {
            let defined = st.ticket_custom_fields();
            for (k, v) in map {
                match defined.iter().find(|f| &f.name == k) {
                    None => errors.push(FieldError::unexpected(k)),
                    Some(field) => match custom_value(field, v) {
                        Ok(v) => out.custom.push((k.clone(), v)),
                        Err(e) => errors.push(e),
                    },
                }
            }
        }
        Some(v) => errors.push(FieldError::mismatch(
            "custom_fields",
            "key/value pair",
            type_name(v),
        )),
    }
    out.requester = requester(st, fields, creating, &mut errors);
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(ApiError::invalid(errors))
    }
}

/// Checks one custom field's value against its type; multipart sends every value as text.
pub(crate) fn custom_value(field: &CustomField, v: &Value) -> Result<Value, FieldError> {
    let k = field.name.as_str();
    if v.is_null() {
        return Ok(Value::Null);
    }
    match field.kind.as_str() {
        "custom_checkbox" => match v {
            Value::Bool(_) => Ok(v.clone()),
            Value::String(s) if s == "true" || s == "false" => Ok(Value::Bool(s == "true")),
            _ => Err(FieldError::mismatch(k, "Boolean", type_name(v))),
        },
        "custom_number" => match v {
            Value::Number(n) if n.is_i64() => Ok(v.clone()),
            Value::String(s) if s.trim().parse::<i64>().is_ok() => {
                Ok(json!(s.trim().parse::<i64>().unwrap_or(0)))
            }
            _ => Err(FieldError::mismatch(k, "Integer", type_name(v))),
        },
        "custom_decimal" => match v {
            Value::Number(_) => Ok(v.clone()),
            Value::String(s) if s.trim().parse::<f64>().is_ok() => Ok(Value::String(s.clone())),
            _ => Err(FieldError::mismatch(k, "Number", type_name(v))),
        },
        _ => match v {
            Value::String(s) => match &field.choices {
                Some(choices) if field.kind == "custom_dropdown" && !choices.contains(s) => {
                    Err(FieldError::not_one_of(k, &choices.join(",")))
                }
                _ => Ok(v.clone()),
            },
            _ => Err(FieldError::mismatch(k, "String", type_name(v))),
        },
    }
}

fn exists(st: &FreshdeskState, key: &str, id: u64) -> bool {
    match key {
        "responder_id" => st.agents.contains_key(&id),
        "group_id" => st.groups.contains_key(&id),
        "company_id" => st.companies.contains_key(&id),
        "product_id" => list_has(st, "products", id),
        _ => list_has(st, "email_configs", id),
    }
}

fn list_has(st: &FreshdeskState, kind: &str, id: u64) -> bool {
    st.lists.get(kind).is_some_and(|l| {
        l.iter()
            .any(|v| v.get("id").and_then(Value::as_u64) == Some(id))
    })
}

fn requester(
    st: &FreshdeskState,
    fields: &Map<String, Value>,
    creating: bool,
    errors: &mut Vec<FieldError>,
) -> Option<Requester> {
    let given: Vec<&str> = REQUESTER_KEYS
        .iter()
        .copied()
        .filter(|k| fields.get(*k).is_some_and(|v| !v.is_null()))
        .collect();
    let Some(key) = given.first().copied() else {
        if creating {
            errors.push(FieldError::new(
                "requester_id",
                "Please fill at least 1 of requester_id, phone, email, twitter_id, facebook_id, unique_external_id fields",
                "missing_field",
            ));
        }
        return None;
    };
    let value = fields.get(key)?;
    if key == "requester_id" {
        return match value.as_u64() {
            Some(id) if st.contacts.contains_key(&id) => Some(Requester::Existing(id)),
            Some(_) => {
                errors.push(FieldError::new(
                    "requester_id",
                    "There is no contact matching the given requester_id",
                    "invalid_value",
                ));
                None
            }
            None => {
                errors.push(FieldError::mismatch(
                    "requester_id",
                    "Positive Integer",
                    type_name(value),
                ));
                None
            }
        };
    }
    let Some(text) = value.as_str().map(str::trim) else {
        errors.push(FieldError::mismatch(key, "String", type_name(value)));
        return None;
    };
    if key == "email" && !valid_email(text) {
        errors.push(FieldError::new(
            "email",
            "It should be in the 'valid email address' format",
            "invalid_value",
        ));
        return None;
    }
    let found = if key == "email" {
        st.contact_by_email(text)
    } else {
        st.contact_by(key, text)
    };
    if let Some(c) = found {
        return c.get("id").and_then(Value::as_u64).map(Requester::Existing);
    }
    let name = fields
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let name = match (key, name) {
        (_, Some(n)) if !n.trim().is_empty() => n,
        ("email", _) => text.split('@').next().unwrap_or(text).to_owned(),
        _ => {
            errors.push(FieldError::new(
                "name",
                "It should be a/an String",
                "missing_field",
            ));
            return None;
        }
    };
    Some(Requester::New {
        name,
        key: REQUESTER_KEYS
            .iter()
            .copied()
            .find(|k| *k == key)
            .unwrap_or("email"),
        value: text.to_owned(),
    })
}

/// Resolves a requester, creating the contact when it is new; its id.
pub(crate) fn resolve_requester(st: &mut FreshdeskState, requester: Requester, now: i64) -> u64 {
    match requester {
        Requester::Existing(id) => id,
        Requester::New { name, key, value } => {
            let id = st.user_ids.next_id();
            let mut contact: Rec = contact_record(st, id, &name, now);
            contact.insert(key.to_owned(), json!(value));
            st.put_contact(id, contact);
            id
        }
    }
}

/// Applies a validated write to `ticket` at `now`; returns the names of the fields that changed.
pub(crate) fn apply(
    st: &mut FreshdeskState,
    ticket: &mut Rec,
    v: Validated,
    now: i64,
) -> Vec<String> {
    let mut changed = Vec::new();
    if let Some(req) = v.requester {
        let id = resolve_requester(st, req, now);
        if ticket.get("requester_id").and_then(Value::as_u64) != Some(id) {
            ticket.insert("requester_id".into(), json!(id));
            changed.push("requester_id".to_owned());
        }
        if !v.set.iter().any(|(k, _)| k == "company_id") {
            let company = st
                .contacts
                .get(&id)
                .and_then(|c| c.get("company_id"))
                .cloned()
                .unwrap_or(Value::Null);
            ticket.insert("company_id".into(), company);
        }
    }
    let old_status = ticket.get("status").and_then(Value::as_u64).unwrap_or(2);
    for (key, value) in v.set {
        if ticket.get(&key) != Some(&value) {
            changed.push(key.clone());
            ticket.insert(key, value);
        }
    }
    if let Some(Value::Object(custom)) = ticket.get_mut("custom_fields") {
        for (key, value) in v.custom {
            if custom.get(&key) != Some(&value) {
                changed.push(key.clone());
                custom.insert(key, value);
            }
        }
    }
    let new_status = ticket.get("status").and_then(Value::as_u64).unwrap_or(2);
    if new_status != old_status {
        status_stats(ticket, old_status, new_status, now);
    }
    ticket.insert("updated_at".into(), json!(iso(now)));
    changed
}

/// Updates `stats` for a status change.
pub(crate) fn status_stats(ticket: &mut Rec, old: u64, new: u64, now: i64) {
    let Some(Value::Object(stats)) = ticket.get_mut("_stats") else {
        return;
    };
    let at = json!(iso(now));
    stats.insert("status_updated_at".into(), at.clone());
    match new {
        3 => {
            stats.insert("pending_since".into(), at);
        }
        4 => {
            stats.insert("resolved_at".into(), at);
        }
        5 => {
            if stats.get("resolved_at").is_none_or(Value::is_null) {
                stats.insert("resolved_at".into(), at.clone());
            }
            stats.insert("closed_at".into(), at);
        }
        _ if (4..=5).contains(&old) => {
            stats.insert("reopened_at".into(), at);
        }
        _ => {}
    }
}
