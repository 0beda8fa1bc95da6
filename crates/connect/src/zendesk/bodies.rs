//! Canonical records → Zendesk request bodies. Pure: references arrive already resolved to
//! Zendesk ids, values already in Zendesk's vocabulary.

use cutover_model::PlatformId;
use cutover_model::records::{
    Agent, Comment, ConfigRecord, Contact, CustomFieldDef, CustomFields, FieldTarget, Group,
    Organization, Role, Ticket,
};
use serde_json::{Map, Value, json};

use super::mapping::zendesk_field_type;
use crate::fields::format_time;
use crate::outbound::TicketIds;

/// A Zendesk id as JSON: a number when it is one (as Zendesk sends them), else text.
pub(crate) fn id_json(id: &PlatformId) -> Value {
    id.as_str()
        .parse::<u64>()
        .map_or_else(|_| Value::String(id.to_string()), Value::from)
}

fn opt_id_json(id: Option<&PlatformId>) -> Value {
    id.map_or(Value::Null, id_json)
}

fn fields_object(values: &CustomFields) -> Value {
    Value::Object(values.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

pub(crate) fn organization(org: &Organization, mark: &str) -> Value {
    json!({"organization": {
        "name": org.name,
        "external_id": mark,
        "domain_names": org.domains,
        "details": org.details,
        "notes": org.notes,
        "tags": org.tags,
        "organization_fields": fields_object(&org.custom_fields),
    }})
}

/// An end user. The customer's own external id wins over cutover's mark.
pub(crate) fn contact(contact: &Contact, organization: Option<&PlatformId>, mark: &str) -> Value {
    json!({"user": {
        "name": contact.name,
        "email": contact.email,
        "phone": contact.phone,
        "organization_id": opt_id_json(organization),
        "external_id": contact.external_id.as_deref().unwrap_or(mark),
        "locale": contact.locale,
        "time_zone": contact.time_zone,
        "tags": contact.tags,
        "user_fields": fields_object(&contact.custom_fields),
        "role": "end-user",
        "suspended": !contact.active,
        "verified": true,
        "skip_verify_email": true,
    }})
}

/// An agent; `role` is a built-in role's name (`agent`, `admin`) or a custom role's id.
pub(crate) fn agent(agent: &Agent, role: Option<&PlatformId>, mark: &str) -> Value {
    let mut user = json!({
        "name": agent.name,
        "email": agent.email,
        "external_id": mark,
        "role": "agent",
        "suspended": !agent.active,
        "verified": true,
        "skip_verify_email": true,
    });
    match role.map(PlatformId::as_str) {
        Some("admin") => user["role"] = json!("admin"),
        Some("agent") | None => {}
        Some(_) => user["custom_role_id"] = opt_id_json(role),
    }
    json!({ "user": user })
}

pub(crate) fn group(group: &Group) -> Value {
    json!({"group": {"name": group.name, "description": group.description.as_deref().unwrap_or("")}})
}

/// A custom role; `key=value` permissions become its configuration (booleans and numbers typed).
pub(crate) fn role(role: &Role) -> Value {
    let configuration: Map<String, Value> = role
        .permissions
        .iter()
        .filter_map(|permission| permission.split_once('='))
        .map(|(key, value)| {
            let typed = match value {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                other => other
                    .parse::<i64>()
                    .map_or_else(|_| Value::String(other.to_owned()), Value::from),
            };
            (key.to_owned(), typed)
        })
        .collect();
    json!({"custom_role": {"name": role.name, "description": role.description, "configuration": configuration}})
}

/// The path and envelope key of a field definition's list.
pub(crate) fn field_endpoint(target: FieldTarget) -> (&'static str, &'static str) {
    match target {
        FieldTarget::Ticket => ("ticket_fields", "ticket_field"),
        FieldTarget::Contact => ("user_fields", "user_field"),
        FieldTarget::Organization => ("organization_fields", "organization_field"),
    }
}

pub(crate) fn custom_field(def: &CustomFieldDef) -> Value {
    let options: Vec<Value> = def
        .options
        .iter()
        .map(|o| json!({"name": o.name, "value": o.value}))
        .collect();
    let mut field = json!({
        "type": zendesk_field_type(def.field_type),
        "title": def.title,
        "active": def.active,
    });
    if !options.is_empty() {
        field["custom_field_options"] = Value::Array(options);
    }
    match def.target {
        FieldTarget::Ticket => field["required"] = json!(def.required),
        FieldTarget::Contact | FieldTarget::Organization => field["key"] = json!(def.key),
    }
    let (_, envelope) = field_endpoint(def.target);
    json!({ envelope: field })
}

/// `custom_fields` as Zendesk's `[{id, value}]`.
fn ticket_custom_fields(values: &CustomFields) -> Value {
    Value::Array(
        values
            .iter()
            .map(|(key, value)| {
                let id = key
                    .parse::<u64>()
                    .map_or_else(|_| Value::String(key.clone()), Value::from);
                json!({"id": id, "value": value})
            })
            .collect(),
    )
}

/// A ticket type as Zendesk takes it: one of its four, in lower case; any other is none.
fn ticket_type(name: Option<&str>) -> Option<String> {
    let lower = name?.to_lowercase();
    super::ZENDESK_TICKET_TYPES
        .contains(&lower.as_str())
        .then_some(lower)
}

/// The fields a ticket create, import and update share.
fn ticket_fields(ticket: &Ticket, ids: &TicketIds) -> Map<String, Value> {
    let body = json!({
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "type": ticket_type(ticket.ticket_type.as_deref()),
        "requester_id": id_json(&ids.requester),
        "assignee_id": opt_id_json(ids.assignee.as_ref()),
        "group_id": opt_id_json(ids.group.as_ref()),
        "organization_id": opt_id_json(ids.organization.as_ref()),
        "tags": ticket.tags,
        "custom_fields": ticket_custom_fields(&ticket.custom_fields),
    });
    match body {
        Value::Object(mut map) => {
            // A ticket without a brand (or one the account lacks) gets the default brand.
            if let Some(brand) = &ids.brand {
                map.insert("brand_id".into(), id_json(brand));
            }
            map
        }
        _ => Map::new(),
    }
}

/// A comment inside an import: original author, time and visibility, with upload tokens.
pub(crate) fn import_comment(
    comment: &Comment,
    author: &PlatformId,
    html_body: &str,
    uploads: &[String],
) -> Value {
    let mut value = json!({
        "author_id": id_json(author),
        "html_body": html_body,
        "public": comment.public,
        "created_at": format_time(&comment.created_at),
    });
    if !uploads.is_empty() {
        value["uploads"] = json!(uploads);
    }
    value
}

/// `POST /imports/tickets`: the ticket with its original times and its comments.
pub(crate) fn ticket_import(
    ticket: &Ticket,
    ids: &TicketIds,
    mark: &str,
    updated_at: Option<&chrono::DateTime<chrono::Utc>>,
    comments: Vec<Value>,
) -> Value {
    let mut body = ticket_fields(ticket, ids);
    body.insert("external_id".into(), json!(mark));
    body.insert("created_at".into(), json!(format_time(&ticket.created_at)));
    if let Some(updated_at) = updated_at {
        body.insert("updated_at".into(), json!(format_time(updated_at)));
    }
    if let Some(solved_at) = &ticket.solved_at {
        body.insert("solved_at".into(), json!(format_time(solved_at)));
    }
    if comments.is_empty() {
        // An import needs a first comment; a ticket read without any gets its subject.
        body.insert("description".into(), json!(ticket.subject));
    } else {
        body.insert("comments".into(), Value::Array(comments));
    }
    json!({ "ticket": body })
}

/// `PUT /tickets/{id}`: the ticket's fields (times cannot change after creation).
pub(crate) fn ticket_update(ticket: &Ticket, ids: &TicketIds) -> Value {
    json!({ "ticket": ticket_fields(ticket, ids) })
}

/// `PUT /tickets/{id}` adding one comment as `author`.
pub(crate) fn comment_update(
    html_body: &str,
    public: bool,
    author: &PlatformId,
    uploads: &[String],
) -> Value {
    let mut comment =
        json!({"html_body": html_body, "public": public, "author_id": id_json(author)});
    if !uploads.is_empty() {
        comment["uploads"] = json!(uploads);
    }
    json!({"ticket": {"comment": comment}})
}

/// A channel's set-up (a recipient address): (path, envelope, body).
pub(crate) fn config(record: &ConfigRecord) -> (String, &'static str, Value) {
    let mut address = record.conditions.clone();
    if let Value::Object(map) = &mut address {
        map.insert("email".into(), json!(record.title));
    }
    (
        "recipient_addresses".to_owned(),
        "recipient_address",
        json!({ "recipient_address": address }),
    )
}
