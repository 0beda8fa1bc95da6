//! Canonical records → Freshdesk request bodies. Pure: references arrive resolved to Freshdesk
//! ids, names translate back to Freshdesk's codes here (the vocabulary itself is the engine's).

use cutover_model::records::{
    Agent, Channel, Contact, CustomFieldDef, CustomFields, FieldTarget, Group, Organization,
    SatisfactionRating, Ticket,
};
use cutover_model::{PlatformId, RecordKind};
use serde_json::{Map, Value, json};

use super::mapping::{PRIORITIES, STATUSES, freshdesk_field_type, rating_code};
use crate::error::ConnectError;
use crate::http::{Body, FilePart};
use crate::outbound::TicketIds;

/// A Freshdesk id as JSON: a number when it is one.
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

/// Drops null members: Freshdesk validates every key it is sent, nulls included.
fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            Value::Object(map.into_iter().filter(|(_, v)| !v.is_null()).collect())
        }
        other => other,
    }
}

pub(crate) fn company(org: &Organization) -> Value {
    without_nulls(json!({
        "name": org.name,
        "description": org.details,
        "note": org.notes,
        "domains": org.domains,
        "custom_fields": fields_object(&org.custom_fields),
    }))
}

/// A contact. The customer's own external id wins over cutover's mark.
pub(crate) fn contact(contact: &Contact, company: Option<&PlatformId>, mark: &str) -> Value {
    without_nulls(json!({
        "name": contact.name,
        "email": contact.email,
        "phone": contact.phone,
        "company_id": opt_id_json(company),
        "unique_external_id": contact.external_id.as_deref().unwrap_or(mark),
        "language": contact.locale,
        "time_zone": contact.time_zone,
        "tags": contact.tags,
        "custom_fields": fields_object(&contact.custom_fields),
    }))
}

pub(crate) fn agent(agent: &Agent, role: Option<&PlatformId>, groups: &[PlatformId]) -> Value {
    without_nulls(json!({
        "name": agent.name,
        "email": agent.email,
        "ticket_scope": 1,
        "role_ids": role.map(|r| vec![id_json(r)]),
        "group_ids": groups.iter().map(id_json).collect::<Vec<_>>(),
    }))
}

pub(crate) fn group(group: &Group) -> Value {
    without_nulls(json!({"name": group.name, "description": group.description}))
}

/// The path of a field definition list, for creating (`admin/…`) and for listing.
pub(crate) fn field_paths(target: FieldTarget) -> (&'static str, &'static str) {
    match target {
        FieldTarget::Ticket => ("admin/ticket_fields", "ticket_fields"),
        FieldTarget::Contact => ("contact_fields", "contact_fields"),
        FieldTarget::Organization => ("company_fields", "company_fields"),
    }
}

pub(crate) fn custom_field(def: &CustomFieldDef) -> Value {
    let choices: Vec<Value> = def
        .options
        .iter()
        .enumerate()
        .map(|(idx, o)| json!({"value": o.value, "position": idx + 1}))
        .collect();
    let mut field = json!({
        "label": def.title,
        "label_for_customers": def.title,
        "type": freshdesk_field_type(def.field_type),
        "required_for_agents": def.required,
    });
    if !choices.is_empty() {
        field["choices"] = Value::Array(choices);
    }
    field
}

/// The code of a status name: a built-in name, or a custom status's code as text.
pub(crate) fn status_code(op: &str, name: &str) -> Result<i64, ConnectError> {
    if let Some((code, _)) = STATUSES.iter().find(|(_, n)| *n == name) {
        return Ok(*code);
    }
    match name.parse::<i64>() {
        Ok(code) if code >= 2 => Ok(code),
        _ => Err(ConnectError::Unmappable {
            op: op.to_owned(),
            kind: RecordKind::Ticket,
            field: "status",
            detail: format!(
                "{name:?} is no freshdesk status: expected open, pending, resolved, closed or a custom status code"
            ),
        }),
    }
}

pub(crate) fn priority_code(op: &str, name: &str) -> Result<i64, ConnectError> {
    PRIORITIES
        .iter()
        .find(|(_, n)| *n == name)
        .map(|(code, _)| *code)
        .ok_or_else(|| ConnectError::Unmappable {
            op: op.to_owned(),
            kind: RecordKind::Ticket,
            field: "priority",
            detail: format!(
                "{name:?} is no freshdesk priority: expected low, medium, high or urgent"
            ),
        })
}

/// The channels Freshdesk has no source for, each with the source a ticket from it is
/// written as (stated in the capabilities, named by `inventory`, levelled by `verify`).
pub(crate) const CHANNEL_STAND_INS: &[(Channel, Channel)] = &[
    (Channel::Api, Channel::WebForm),
    (Channel::Other, Channel::WebForm),
    (Channel::Whatsapp, Channel::Chat),
];

/// The source code of a channel: its stand-in's when Freshdesk has no such source.
pub(crate) fn source_code(channel: Channel) -> i64 {
    let channel = CHANNEL_STAND_INS
        .iter()
        .find(|(lacking, _)| *lacking == channel)
        .map_or(channel, |(_, stand_in)| *stand_in);
    match channel {
        Channel::Email => 1,
        Channel::WebForm | Channel::Api | Channel::Other => 2,
        Channel::Voice => 3,
        Channel::Chat | Channel::Whatsapp => 7,
    }
}

/// A ticket for create (with `description`) or update (without); `custom_fields` already holds
/// the origin fields.
pub(crate) fn ticket(
    op: &str,
    ticket: &Ticket,
    ids: &TicketIds,
    description: Option<&str>,
    custom_fields: &CustomFields,
) -> Result<Value, ConnectError> {
    let priority = ticket
        .priority
        .as_deref()
        .map(|p| priority_code(op, p))
        .transpose()?;
    let mut body = json!({
        "subject": ticket.subject,
        "requester_id": id_json(&ids.requester),
        "responder_id": opt_id_json(ids.assignee.as_ref()),
        "group_id": opt_id_json(ids.group.as_ref()),
        "company_id": opt_id_json(ids.organization.as_ref()),
        "product_id": opt_id_json(ids.brand.as_ref()),
        "status": status_code(op, &ticket.status)?,
        "priority": priority,
        "source": source_code(ticket.channel),
        "type": ticket.ticket_type,
        "tags": ticket.tags,
        "custom_fields": fields_object(custom_fields),
    });
    if let Some(description) = description {
        body["description"] = json!(description);
    }
    Ok(without_nulls(body))
}

/// An update's body that resolves or closes the ticket, with `skip_close_notification`: the
/// resolve or close is a copy of one an agent made on the other platform, which told the
/// requester already, so Freshdesk's "Agent solves/closes the ticket" e-mail must not go out
/// again. Freshdesk takes the flag only beside a status of resolved (4) or closed (5), so any
/// other body is left as it is.
pub(crate) fn quiet_close(mut body: Value) -> Value {
    if matches!(body.get("status").and_then(Value::as_i64), Some(4 | 5)) {
        body["skip_close_notification"] = json!(true);
    }
    body
}

/// A private note: e-mails no one. `incoming` shows a customer's words as coming from outside.
pub(crate) fn note(html: &str, author: &PlatformId, incoming: bool) -> Value {
    json!({"body": html, "private": true, "user_id": id_json(author), "incoming": incoming})
}

pub(crate) fn rating(rating: &SatisfactionRating) -> Value {
    without_nulls(json!({
        "ratings": {"default_question": rating_code(rating.score)},
        "feedback": rating.comment,
    }))
}

/// A JSON body as multipart form fields (arrays as `key[]`, objects as `key[sub]`), with files
/// as `attachments[]`: how Freshdesk takes attachments.
pub(crate) fn multipart(body: &Value, files: Vec<FilePart>) -> Body {
    let mut fields = Vec::new();
    if let Value::Object(map) = body {
        flatten(map, "", &mut fields);
    }
    Body::Multipart { fields, files }
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn flatten(map: &Map<String, Value>, prefix: &str, fields: &mut Vec<(String, String)>) {
    for (key, value) in map {
        let name = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}[{key}]")
        };
        match value {
            Value::Array(items) => fields.extend(
                items
                    .iter()
                    .filter_map(scalar)
                    .map(|v| (format!("{name}[]"), v)),
            ),
            Value::Object(inner) => flatten(inner, &name, fields),
            other => fields.extend(scalar(other).map(|v| (name, v))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_channel_reads_back_as_itself_or_as_its_stated_stand_in() {
        use crate::freshdesk::mapping::SOURCES;
        for channel in Channel::ALL {
            let code = source_code(channel);
            let read = SOURCES.iter().find(|(c, _)| *c == code).map(|(_, ch)| *ch);
            let stand_in = CHANNEL_STAND_INS
                .iter()
                .find(|(lacking, _)| *lacking == channel)
                .map(|(_, s)| *s);
            assert_eq!(read, Some(stand_in.unwrap_or(channel)), "{channel:?}");
        }
    }

    #[test]
    fn json_flattens_into_form_fields_freshdesk_reads() {
        let body = json!({"subject": "Hi", "status": 2, "tags": ["a", "b"], "custom_fields": {"cf_x": "y"}, "gone": null});
        let Body::Multipart { fields, files } = multipart(&body, Vec::new()) else {
            panic!("not multipart")
        };
        assert!(files.is_empty());
        let expected: Vec<(String, String)> = [
            ("custom_fields[cf_x]", "y"),
            ("status", "2"),
            ("subject", "Hi"),
            ("tags[]", "a"),
            ("tags[]", "b"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        assert_eq!(fields, expected);
    }

    #[test]
    fn codes_come_from_names() {
        assert_eq!(status_code("x", "resolved").unwrap(), 4);
        assert_eq!(status_code("x", "7").unwrap(), 7);
        assert!(
            status_code("x", "solved")
                .unwrap_err()
                .to_string()
                .contains("no freshdesk status")
        );
        assert_eq!(priority_code("x", "urgent").unwrap(), 4);
        assert!(priority_code("x", "normal").is_err());
    }
}
