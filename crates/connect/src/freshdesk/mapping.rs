//! Freshdesk JSON → canonical records. Numeric codes become Freshdesk's own names (status 4 is
//! `resolved`, priority 2 is `medium`); cutover's marks and origin fields are not content, and a
//! note or description that carries cutover's header line reads back as the comment it copies.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use cutover_model::records::{
    Agent, Attachment, Channel, Comment, ConfigRecord, Contact, CustomFieldDef, FieldOption,
    FieldTarget, FieldType, Group, Organization, Record, Role, SatisfactionRating, Score, Ticket,
};
use cutover_model::{Observed, PlatformId, RecordKind, Side};
use serde_json::{Map, Value};
use url::Url;

use crate::fields::{Fields, Mapped, Parsed, Problem, custom_fields};
use crate::header;
use crate::outbound::{AttachmentSource, Origin};

/// Freshdesk's built-in statuses by code.
pub(crate) const STATUSES: &[(i64, &str)] =
    &[(2, "open"), (3, "pending"), (4, "resolved"), (5, "closed")];
/// Freshdesk's priorities by code.
pub(crate) const PRIORITIES: &[(i64, &str)] =
    &[(1, "low"), (2, "medium"), (3, "high"), (4, "urgent")];
/// Freshdesk's ticket sources by code, as the model's channels.
pub(crate) const SOURCES: &[(i64, Channel)] = &[
    (1, Channel::Email),
    (2, Channel::WebForm),
    (3, Channel::Voice),
    (4, Channel::Other), // forum
    (5, Channel::Other), // Twitter
    (6, Channel::Other), // Facebook
    (7, Channel::Chat),
    (8, Channel::WebForm), // Mobihelp
    (9, Channel::WebForm), // feedback widget
    (10, Channel::Email),  // outbound e-mail
    (11, Channel::Other),  // e-commerce
    (12, Channel::Chat),   // bot
];

/// The names of cutover's origin custom fields on Freshdesk tickets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginFields {
    /// Holds the mark (`cutover:old:ticket:4017`): the lookup before a create.
    pub id: String,
    /// Holds the original creation time, RFC 3339 (Freshdesk cannot backdate).
    pub created_at: Option<String>,
    /// Holds the original people as a person reads them, when the copy names others: the
    /// agent or group of a ticket that is not carried (see `History::stand_ins`).
    pub author: Option<String>,
}

impl Default for OriginFields {
    fn default() -> Self {
        OriginFields {
            id: "cf_cutover_origin".into(),
            created_at: Some("cf_cutover_created_at".into()),
            author: Some("cf_cutover_author".into()),
        }
    }
}

impl OriginFields {
    /// Whether `key` names one of these fields.
    pub(crate) fn contains(&self, key: &str) -> bool {
        key == self.id
            || self.created_at.as_deref() == Some(key)
            || self.author.as_deref() == Some(key)
    }
}

/// The name of a code in a table, or a problem naming the field and the accepted codes.
fn named<T: Clone>(field: &str, code: i64, table: &[(i64, T)]) -> Parsed<T> {
    table
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, name)| name.clone())
        .ok_or_else(|| {
            let codes: Vec<String> = table.iter().map(|(c, _)| c.to_string()).collect();
            Problem::field(
                field,
                format!("unknown value {code}: expected one of {}", codes.join(", ")),
            )
        })
}

/// A status name; codes above 5 are the account's custom statuses, kept as their code.
pub(crate) fn status_name(code: i64) -> Parsed<String> {
    match code {
        6.. => Ok(code.to_string()),
        _ => named("status", code, STATUSES).map(str::to_owned),
    }
}

/// A record as read, with its origin when its `unique_external_id` is cutover's mark (contacts
/// cutover wrote without an external id of their own; other kinds have none). Tickets add theirs
/// from the origin custom field.
fn observed(side: Side, id: PlatformId, f: &Fields<'_>, record: Record) -> Parsed<Observed> {
    Ok(Observed {
        side,
        id,
        updated_at: f.opt_time("updated_at")?,
        record,
        origin: f
            .get("unique_external_id")
            .and_then(Value::as_str)
            .and_then(Origin::marked),
    })
}

pub(crate) fn company(raw: &Value, side: Side) -> Parsed<Mapped> {
    let f = Fields::new(raw)?;
    let record = Record::Organization(Organization {
        name: f.str("name")?,
        domains: f.string_set("domains")?,
        details: f.opt_str("description")?,
        notes: f.opt_str("note")?,
        tags: BTreeSet::new(),
        custom_fields: custom_fields(f.opt_object("custom_fields")?),
    });
    Ok(Mapped::Record(observed(side, f.id()?, &f, record)?))
}

pub(crate) fn contact(raw: &Value, side: Side) -> Parsed<Mapped> {
    let f = Fields::new(raw)?;
    if f.bool_or("helpdesk_agent", false)? || f.get("agent").is_some() {
        return Ok(Mapped::Skip);
    }
    let phone = match f.opt_text("phone")? {
        Some(phone) => Some(phone),
        None => f.opt_text("mobile")?,
    };
    let record = Record::Contact(Contact {
        name: f.str("name")?,
        email: f.opt_str("email")?,
        phone,
        organization: f.opt_id("company_id")?,
        external_id: f
            .opt_text("unique_external_id")?
            .filter(|v| !Origin::is_mark(v)),
        locale: f.opt_str("language")?,
        time_zone: f.opt_str("time_zone")?,
        tags: f.string_set("tags")?,
        custom_fields: custom_fields(f.opt_object("custom_fields")?),
        // Freshdesk's `active` means "verified"; a contact is gone when deleted or blocked.
        active: !f.bool_or("deleted", false)? && !f.bool_or("blocked", false)?,
    });
    Ok(Mapped::Record(observed(side, f.id()?, &f, record)?))
}

/// An agent; its first role is its canonical role.
pub(crate) fn agent(raw: &Value, side: Side) -> Parsed<Mapped> {
    let f = Fields::new(raw)?;
    let contact = f
        .opt_object("contact")?
        .ok_or_else(|| Problem::field("contact", "missing"))?;
    let contact_value = Value::Object(contact.clone());
    let c = Fields::new(&contact_value)?;
    let name = c
        .str("name")
        .map_err(|p| Problem::field("contact.name", p.reason))?;
    let email = c
        .opt_str("email")
        .map_err(|p| Problem::field("contact.email", p.reason))?;
    let email =
        email.ok_or_else(|| Problem::field("contact.email", "an agent needs an e-mail address"))?;
    let roles = f.id_list("role_ids")?;
    let record = Record::Agent(Agent {
        name,
        email,
        role: roles.first().cloned(),
        groups: f.id_list("group_ids")?.into_iter().collect(),
        active: !f.bool_or("deactivated", false)?,
    });
    Ok(Mapped::Record(observed(side, f.id()?, &f, record)?))
}

pub(crate) fn group(raw: &Value, side: Side) -> Parsed<Mapped> {
    let f = Fields::new(raw)?;
    let record = Record::Group(Group {
        name: f.str("name")?,
        description: f.opt_str("description")?,
    });
    Ok(Mapped::Record(observed(side, f.id()?, &f, record)?))
}

pub(crate) fn role(raw: &Value, side: Side) -> Parsed<Mapped> {
    let f = Fields::new(raw)?;
    let record = Record::Role(Role {
        name: f.str("name")?,
        description: f.opt_str("description")?,
        permissions: BTreeSet::new(),
    });
    Ok(Mapped::Record(observed(side, f.id()?, &f, record)?))
}

fn field_type(freshdesk: &str) -> Option<FieldType> {
    Some(match freshdesk {
        // URLs and phone numbers are text with a check of Freshdesk's own.
        "custom_text" | "custom_url" | "custom_phone_number" => FieldType::Text,
        "custom_paragraph" => FieldType::Textarea,
        "custom_number" => FieldType::Integer,
        "custom_decimal" => FieldType::Decimal,
        "custom_checkbox" => FieldType::Checkbox,
        "custom_date" => FieldType::Date,
        "custom_dropdown" => FieldType::Dropdown,
        "custom_multi_select_dropdown" => FieldType::Multiselect,
        _ => return None,
    })
}

/// The Freshdesk type name of a canonical field type.
pub(crate) fn freshdesk_field_type(field_type: FieldType) -> &'static str {
    match field_type {
        FieldType::Text | FieldType::Regexp => "custom_text",
        FieldType::Textarea => "custom_paragraph",
        FieldType::Integer => "custom_number",
        FieldType::Decimal => "custom_decimal",
        FieldType::Checkbox => "custom_checkbox",
        FieldType::Date => "custom_date",
        FieldType::Dropdown => "custom_dropdown",
        FieldType::Multiselect => "custom_multi_select_dropdown",
    }
}

fn choices(f: &Fields<'_>) -> Parsed<Vec<FieldOption>> {
    let option = |idx: usize, choice: &Value| match choice {
        Value::String(s) => Ok(FieldOption {
            name: s.clone(),
            value: s.clone(),
        }),
        Value::Object(o) => {
            let value = o.get("value").and_then(Value::as_str);
            let label = o.get("label").and_then(Value::as_str).or(value);
            match (label, value) {
                (Some(label), Some(value)) => Ok(FieldOption {
                    name: label.to_owned(),
                    value: value.to_owned(),
                }),
                _ => Err(Problem::field(
                    &format!("choices[{idx}]"),
                    "expected a value",
                )),
            }
        }
        _ => Err(Problem::field(
            &format!("choices[{idx}]"),
            "expected a string or an object",
        )),
    };
    match f.get("choices") {
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, c)| option(i, c))
            .collect(),
        // Some field lists send choices as {"label": "value"}.
        Some(Value::Object(map)) => Ok(map
            .iter()
            .map(|(label, value)| FieldOption {
                name: label.clone(),
                value: value.as_str().unwrap_or(label).to_owned(),
            })
            .collect()),
        _ => Ok(Vec::new()),
    }
}

/// A custom field definition; default (built-in) fields are skipped. Contact and company field
/// ids are prefixed (`contact:`, `company:`) as the three lists share no id space.
pub(crate) fn custom_field(raw: &Value, side: Side, target: FieldTarget) -> Parsed<Mapped> {
    let f = Fields::new(raw)?;
    let freshdesk_type = f.str("type")?;
    if f.bool_or("default", false)? || freshdesk_type.starts_with("default_") {
        return Ok(Mapped::Skip);
    }
    let field_type = field_type(&freshdesk_type)
        .ok_or_else(|| Problem::field("type", format!("unknown field type {freshdesk_type:?}")))?;
    let id = f.id()?;
    let id = match target {
        FieldTarget::Ticket => id,
        FieldTarget::Contact => prefixed("contact:", &id)?,
        FieldTarget::Organization => prefixed("company:", &id)?,
    };
    let record = Record::CustomField(CustomFieldDef {
        target,
        key: f.str("name")?,
        title: f.str("label")?,
        field_type,
        options: choices(&f)?,
        required: f.bool_or("required_for_agents", false)?,
        active: true,
    });
    Ok(Mapped::Record(observed(side, id, &f, record)?))
}

fn prefixed(prefix: &str, id: &PlatformId) -> Parsed<PlatformId> {
    PlatformId::parse(format!("{prefix}{id}")).map_err(|e| Problem::field("id", e.to_string()))
}

pub(crate) fn ticket(raw: &Value, side: Side, origin_fields: &OriginFields) -> Parsed<Mapped> {
    let f = Fields::new(raw)?;
    let id = f.id()?;
    // A spam ticket is gone from every list and view as a deleted one is: the other side
    // deletes its copy (a delete wins).
    if f.bool_or("deleted", false)? || f.bool_or("spam", false)? {
        return Ok(Mapped::Deleted(id));
    }
    let code = |name: &str| {
        f.opt_i64(name)?
            .ok_or_else(|| Problem::field(name, "missing"))
    };
    let all_fields = custom_fields(f.opt_object("custom_fields")?);
    let origin = all_fields
        .get(&origin_fields.id)
        .and_then(Value::as_str)
        .and_then(Origin::marked);
    let original_created = origin_fields
        .created_at
        .as_ref()
        .and_then(|key| all_fields.get(key))
        .and_then(Value::as_str)
        .and_then(crate::fields::parse_time);
    let stats = f.opt_object("stats")?;
    let solved_at = stats
        .and_then(|s| s.get("resolved_at").or_else(|| s.get("closed_at")))
        .and_then(Value::as_str)
        .and_then(crate::fields::parse_time);
    let priority = f
        .opt_i64("priority")?
        .map(|p| named("priority", p, PRIORITIES))
        .transpose()?;
    let record = Record::Ticket(Ticket {
        subject: f.opt_str("subject")?.unwrap_or_default(),
        status: status_name(code("status")?)?,
        priority: priority.map(str::to_owned),
        ticket_type: f.opt_str("type")?,
        // The product's id: the connector names it (`FreshdeskConnector::name_brands`).
        brand: f.opt_id("product_id")?.map(|id| id.to_string()),
        channel: named("source", code("source")?, SOURCES)?,
        requester: f
            .opt_id("requester_id")?
            .ok_or_else(|| Problem::field("requester_id", "missing"))?,
        assignee: f.opt_id("responder_id")?,
        group: f.opt_id("group_id")?,
        organization: f.opt_id("company_id")?,
        tags: f.string_set("tags")?,
        custom_fields: all_fields
            .into_iter()
            .filter(|(k, _)| !origin_fields.contains(k))
            .collect(),
        created_at: match original_created {
            Some(time) => time,
            None => f.time("created_at")?,
        },
        solved_at,
        // Read from the merge's note (`FreshdeskConnector::read_merges`).
        merged_into: None,
    });
    let mut observed = observed(side, id, &f, record)?;
    observed.origin = origin;
    Ok(Mapped::Record(observed))
}

/// The id of a ticket's description read as its first comment (no conversation has it).
pub(crate) fn description_id(ticket: &PlatformId) -> Parsed<PlatformId> {
    PlatformId::parse(format!("d{ticket}")).map_err(|e| Problem::field("id", e.to_string()))
}

/// A ticket's description as its first comment, with the ticket's attachments; `None` when the
/// description is cutover's own header for a ticket written without comments.
pub(crate) fn description(raw: &Value, side: Side) -> Parsed<Mapped> {
    let f = Fields::new(raw)?;
    let ticket = f.id()?;
    let html = f.opt_str("description")?.unwrap_or_default();
    let mut created_at = f.time("created_at")?;
    let mut public = true;
    let mut body = html.clone();
    let mut origin = None;
    if let Some((info, rest)) = header::parse(&html) {
        if info.kind != RecordKind::Comment {
            return Ok(Mapped::Skip);
        }
        origin = Some(info.origin());
        (created_at, public, body) = (info.created_at, info.public, rest);
    }
    let id = description_id(&ticket)?;
    let record = Record::Comment(Comment {
        ticket: ticket.clone(),
        author: f
            .opt_id("requester_id")?
            .ok_or_else(|| Problem::field("requester_id", "missing"))?,
        public,
        html_body: body,
        created_at,
    });
    let attachments = attachments(&f, side, &id, created_at)?;
    Ok(Mapped::Comment(
        Observed {
            side,
            id,
            updated_at: Some(created_at),
            record,
            origin,
        },
        attachments,
    ))
}

/// A conversation (reply or note); a note written by cutover reads back as the comment it copies.
pub(crate) fn conversation(raw: &Value, side: Side) -> Parsed<Mapped> {
    let f = Fields::new(raw)?;
    let id = f.id()?;
    let html = f.opt_str("body")?.unwrap_or_default();
    let (created_at, public, html_body, origin) = match header::parse(&html) {
        Some((info, rest)) => (info.created_at, info.public, rest, Some(info.origin())),
        None => (
            f.time("created_at")?,
            !f.bool_or("private", false)?,
            html,
            None,
        ),
    };
    let record = Record::Comment(Comment {
        ticket: f
            .opt_id("ticket_id")?
            .ok_or_else(|| Problem::field("ticket_id", "missing"))?,
        author: f
            .opt_id("user_id")?
            .ok_or_else(|| Problem::field("user_id", "missing"))?,
        public,
        html_body,
        created_at,
    });
    let attachments = attachments(&f, side, &id, created_at)?;
    let updated_at = f.opt_time("updated_at")?.or(Some(created_at));
    Ok(Mapped::Comment(
        Observed {
            side,
            id,
            updated_at,
            record,
            origin,
        },
        attachments,
    ))
}

fn attachments(
    f: &Fields<'_>,
    side: Side,
    comment: &PlatformId,
    created_at: DateTime<Utc>,
) -> Parsed<Vec<(Observed, AttachmentSource)>> {
    let mut all = Vec::new();
    for (idx, raw) in f.opt_array("attachments")?.iter().enumerate() {
        let at = |p: Problem| {
            Problem::field(
                &format!("attachments[{idx}].{}", p.field.unwrap_or_default()),
                p.reason,
            )
        };
        let a = Fields::new(raw).map_err(at)?;
        let id = a.id().map_err(at)?;
        let url = a.str("attachment_url").map_err(at)?;
        let url = Url::parse(&url)
            .map_err(|e| at(Problem::field("attachment_url", format!("not a url: {e}"))))?;
        let size = match a.opt_i64("file_size").map_err(at)? {
            Some(size) => Some(size),
            None => a.opt_i64("size").map_err(at)?,
        };
        let size = size
            .and_then(|s| u64::try_from(s).ok())
            .ok_or_else(|| at(Problem::field("file_size", "missing")))?;
        let file_name = a.str("name").map_err(at)?;
        let record = Record::Attachment(Attachment {
            comment: comment.clone(),
            file_name: file_name.clone(),
            content_type: a
                .opt_str("content_type")
                .map_err(at)?
                .unwrap_or_else(|| "application/octet-stream".into()),
            size,
            checksum: String::new(),
            inline: false,
        });
        let source = AttachmentSource {
            id: id.clone(),
            url,
            size,
            file_name,
        };
        all.push((
            Observed {
                side,
                id,
                updated_at: Some(created_at),
                record,
                // Freshdesk shows no mark on an attachment.
                origin: None,
            },
            source,
        ));
    }
    Ok(all)
}

/// Freshdesk's rating answers as scores 1–5 (its 3-, 5- and 7-point scales share these codes).
pub(crate) const RATINGS: &[(i64, i64)] = &[
    (103, 5),
    (102, 4),
    (101, 4),
    (100, 3),
    (-101, 2),
    (-102, 2),
    (-103, 1),
];

/// The Freshdesk answer code for a score.
pub(crate) fn rating_code(score: Score) -> i64 {
    match score.get() {
        5 => 103,
        4 => 102,
        3 => 100,
        2 => -102,
        _ => -103,
    }
}

pub(crate) fn rating(raw: &Value, side: Side) -> Parsed<Mapped> {
    let f = Fields::new(raw)?;
    let code = match f.opt_object("ratings")? {
        Some(ratings) => ratings.get("default_question").and_then(Value::as_i64),
        None => f.opt_i64("rating")?,
    };
    let code = code.ok_or_else(|| Problem::field("ratings.default_question", "missing"))?;
    let score = named("ratings.default_question", code, RATINGS)?;
    let record = Record::SatisfactionRating(SatisfactionRating {
        ticket: f
            .opt_id("ticket_id")?
            .ok_or_else(|| Problem::field("ticket_id", "missing"))?,
        requester: f
            .opt_id("user_id")?
            .ok_or_else(|| Problem::field("user_id", "missing"))?,
        assignee: f.opt_id("agent_id")?,
        score: Score::new(score)
            .map_err(|e| Problem::field("ratings.default_question", e.to_string()))?,
        comment: f.opt_str("feedback")?,
        created_at: f.time("created_at")?,
    });
    Ok(Mapped::Record(observed(side, f.id()?, &f, record)?))
}

/// How a channel's set-up is read (rules are `rule_lists.rs`'s).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConfigShape {
    pub(crate) title: &'static str,
    pub(crate) conditions: &'static [&'static str],
    pub(crate) actions: &'static [&'static str],
}

fn pick(obj: &Map<String, Value>, keys: &[&str]) -> Value {
    let picked: BTreeMap<String, Value> = keys
        .iter()
        .filter_map(|k| obj.get(*k).map(|v| ((*k).to_owned(), v.clone())))
        .collect();
    match keys {
        [one] => obj.get(*one).cloned().unwrap_or(Value::Null),
        _ => Value::Object(picked.into_iter().collect()),
    }
}

pub(crate) fn config(raw: &Value, side: Side, shape: &ConfigShape) -> Parsed<Mapped> {
    let f = Fields::new(raw)?;
    let id = f.id()?;
    let Value::Object(obj) = raw else {
        return Err(Problem::record("expected a JSON object"));
    };
    let record = ConfigRecord {
        title: f.str(shape.title)?,
        active: f.bool_or("active", true)?,
        position: f.opt_i64("position")?,
        conditions: pick(obj, shape.conditions),
        actions: pick(obj, shape.actions),
    };
    Ok(Mapped::Record(observed(
        side,
        id,
        &f,
        Record::ChannelConfig(record),
    )?))
}
