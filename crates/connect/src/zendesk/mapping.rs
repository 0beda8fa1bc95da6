//! Zendesk JSON → canonical records. Values keep Zendesk's own vocabulary (statuses, priorities,
//! types, role names); cutover's marks (`external_id`s starting with `cutover:`) are not content.

use std::collections::{BTreeMap, BTreeSet};

use cutover_model::records::{
    Agent, Attachment, Channel, Comment, ConfigRecord, Contact, CustomFieldDef, FieldOption,
    FieldTarget, FieldType, Group, Organization, Record, Role, SatisfactionRating, Score, Ticket,
};
use cutover_model::{Observed, PlatformId, RecordKind, Side};
use serde_json::{Map, Value};
use url::Url;

use crate::fields::{Fields, Mapped, Parsed, Problem, custom_fields};
use crate::header;
use crate::inline;
use crate::outbound::{AttachmentSource, Origin};

/// Zendesk's ticket statuses (custom statuses map onto these categories).
pub(crate) const STATUSES: &[&str] = &["new", "open", "pending", "hold", "solved", "closed"];
/// Zendesk's priorities.
pub(crate) const PRIORITIES: &[&str] = &["low", "normal", "high", "urgent"];
/// Zendesk's ticket types.
pub(crate) const TYPES: &[&str] = &["problem", "incident", "question", "task"];

/// A record as read, with its origin when its `external_id` is cutover's mark (organizations,
/// users and tickets cutover wrote; other kinds have no external id).
fn observed(side: Side, id: PlatformId, fields: &Fields<'_>, record: Record) -> Parsed<Observed> {
    Ok(Observed {
        side,
        id,
        updated_at: fields.opt_time("updated_at")?,
        record,
        origin: fields
            .get("external_id")
            .and_then(Value::as_str)
            .and_then(Origin::marked),
    })
}

fn one_of(fields: &Fields<'_>, name: &str, allowed: &[&str]) -> Parsed<Option<String>> {
    match fields.opt_str(name)? {
        Some(value) if !allowed.contains(&value.as_str()) => Err(Problem::field(
            name,
            format!(
                "unknown value {value:?}: expected one of {}",
                allowed.join(", ")
            ),
        )),
        other => Ok(other),
    }
}

/// The customer's external id, unless it is cutover's own mark.
fn external_id(fields: &Fields<'_>) -> Parsed<Option<String>> {
    Ok(fields
        .opt_text("external_id")?
        .filter(|v| !Origin::is_mark(v)))
}

pub(crate) fn organization(raw: &Value, side: Side) -> Parsed<Mapped> {
    let f = Fields::new(raw)?;
    let record = Record::Organization(Organization {
        name: f.str("name")?,
        domains: f.string_set("domain_names")?,
        details: f.opt_str("details")?,
        notes: f.opt_str("notes")?,
        tags: f.string_set("tags")?,
        custom_fields: custom_fields(f.opt_object("organization_fields")?),
    });
    Ok(Mapped::Record(observed(side, f.id()?, &f, record)?))
}

fn is_agent_role(f: &Fields<'_>) -> Parsed<bool> {
    match f.str("role")?.as_str() {
        "end-user" => Ok(false),
        "agent" | "admin" => Ok(true),
        other => Err(Problem::field(
            "role",
            format!("unknown value {other:?}: expected end-user, agent or admin"),
        )),
    }
}

fn is_active(f: &Fields<'_>) -> Parsed<bool> {
    Ok(f.bool_or("active", true)? && !f.bool_or("suspended", false)?)
}

/// A user read as a contact; agents and admins are skipped (the agent stream reads them).
pub(crate) fn contact(raw: &Value, side: Side) -> Parsed<Mapped> {
    let f = Fields::new(raw)?;
    if is_agent_role(&f)? {
        return Ok(Mapped::Skip);
    }
    let time_zone = match f.opt_str("iana_time_zone")? {
        Some(tz) => Some(tz),
        None => f.opt_str("time_zone")?,
    };
    let record = Record::Contact(Contact {
        name: f.str("name")?,
        email: f.opt_str("email")?,
        phone: f.opt_text("phone")?,
        organization: f.opt_id("organization_id")?,
        external_id: external_id(&f)?,
        locale: f.opt_str("locale")?,
        time_zone,
        tags: f.string_set("tags")?,
        custom_fields: custom_fields(f.opt_object("user_fields")?),
        active: is_active(&f)?,
    });
    Ok(Mapped::Record(observed(side, f.id()?, &f, record)?))
}

/// A user read as an agent, with its groups from the membership rows.
pub(crate) fn agent(
    raw: &Value,
    side: Side,
    groups: &BTreeMap<PlatformId, BTreeSet<PlatformId>>,
) -> Parsed<Mapped> {
    let f = Fields::new(raw)?;
    if !is_agent_role(&f)? {
        return Ok(Mapped::Skip);
    }
    let id = f.id()?;
    let email = f
        .opt_str("email")?
        .ok_or_else(|| Problem::field("email", "an agent needs an e-mail address"))?;
    let role = match f.opt_id("custom_role_id")? {
        Some(custom) => custom,
        None => {
            PlatformId::parse(f.str("role")?).map_err(|e| Problem::field("role", e.to_string()))?
        }
    };
    let record = Record::Agent(Agent {
        name: f.str("name")?,
        email,
        role: Some(role),
        groups: groups.get(&id).cloned().unwrap_or_default(),
        active: is_active(&f)?,
    });
    Ok(Mapped::Record(observed(side, id, &f, record)?))
}

/// A group membership row: (user, group).
pub(crate) fn membership(raw: &Value) -> Parsed<(PlatformId, PlatformId)> {
    let f = Fields::new(raw)?;
    let user = f
        .opt_id("user_id")?
        .ok_or_else(|| Problem::field("user_id", "missing"))?;
    let group = f
        .opt_id("group_id")?
        .ok_or_else(|| Problem::field("group_id", "missing"))?;
    Ok((user, group))
}

pub(crate) fn group(raw: &Value, side: Side) -> Parsed<Mapped> {
    let f = Fields::new(raw)?;
    let id = f.id()?;
    if f.bool_or("deleted", false)? {
        return Ok(Mapped::Deleted(id));
    }
    let record = Record::Group(Group {
        name: f.str("name")?,
        description: f.opt_str("description")?,
    });
    Ok(Mapped::Record(observed(side, id, &f, record)?))
}

/// A custom role; its configuration becomes `key=value` permission names.
pub(crate) fn role(raw: &Value, side: Side) -> Parsed<Mapped> {
    let f = Fields::new(raw)?;
    let permissions = f
        .opt_object("configuration")?
        .into_iter()
        .flatten()
        .map(|(key, value)| match value {
            Value::String(s) => format!("{key}={s}"),
            other => format!("{key}={other}"),
        })
        .collect();
    let record = Record::Role(Role {
        name: f.str("name")?,
        description: f.opt_str("description")?,
        permissions,
    });
    Ok(Mapped::Record(observed(side, f.id()?, &f, record)?))
}

/// A built-in role of an account without custom roles: its id is its name.
pub(crate) fn builtin_role(name: &str, side: Side) -> Option<Observed> {
    let id = PlatformId::parse(name).ok()?;
    let record = Record::Role(Role {
        name: name.to_owned(),
        description: None,
        permissions: BTreeSet::new(),
    });
    Some(Observed {
        side,
        id,
        updated_at: None,
        record,
        origin: None,
    })
}

/// Zendesk field types that are not custom fields (the ticket's own system fields).
pub(crate) const SYSTEM_FIELD_TYPES: &[&str] = &[
    "subject",
    "description",
    "status",
    "custom_status",
    "tickettype",
    "priority",
    "group",
    "assignee",
    "basic_priority",
];

fn field_type(zendesk: &str) -> Option<FieldType> {
    Some(match zendesk {
        "text" => FieldType::Text,
        "textarea" => FieldType::Textarea,
        "integer" => FieldType::Integer,
        "decimal" => FieldType::Decimal,
        "checkbox" => FieldType::Checkbox,
        "date" => FieldType::Date,
        "tagger" | "dropdown" => FieldType::Dropdown,
        "multiselect" => FieldType::Multiselect,
        "regexp" => FieldType::Regexp,
        _ => return None,
    })
}

/// The Zendesk type name of a canonical field type.
pub(crate) fn zendesk_field_type(field_type: FieldType) -> &'static str {
    match field_type {
        FieldType::Text => "text",
        FieldType::Textarea => "textarea",
        FieldType::Integer => "integer",
        FieldType::Decimal => "decimal",
        FieldType::Checkbox => "checkbox",
        FieldType::Date => "date",
        FieldType::Dropdown => "tagger",
        FieldType::Multiselect => "multiselect",
        FieldType::Regexp => "regexp",
    }
}

/// A ticket, user or organization field definition; system ticket fields are skipped.
pub(crate) fn custom_field(raw: &Value, side: Side, target: FieldTarget) -> Parsed<Mapped> {
    let f = Fields::new(raw)?;
    let id = f.id()?;
    let zendesk_type = f.str("type")?;
    if SYSTEM_FIELD_TYPES.contains(&zendesk_type.as_str()) {
        return Ok(Mapped::Skip);
    }
    let field_type = field_type(&zendesk_type)
        .ok_or_else(|| Problem::field("type", format!("unknown field type {zendesk_type:?}")))?;
    let key = match target {
        // Ticket values are keyed by the field's id; user and organization values by its key.
        FieldTarget::Ticket => id.to_string(),
        FieldTarget::Contact | FieldTarget::Organization => f.str("key")?,
    };
    let options = f
        .opt_array("custom_field_options")?
        .iter()
        .enumerate()
        .map(|(idx, option)| {
            let o = Fields::new(option)
                .map_err(|p| Problem::field(&format!("custom_field_options[{idx}]"), p.reason))?;
            Ok(FieldOption {
                name: o.str("name")?,
                value: o.str("value")?,
            })
        })
        .collect::<Parsed<Vec<_>>>()?;
    let record = Record::CustomField(CustomFieldDef {
        target,
        key,
        title: f.str("title")?,
        field_type,
        options,
        required: f.bool_or("required", false)?,
        active: f.bool_or("active", true)?,
    });
    Ok(Mapped::Record(observed(side, id, &f, record)?))
}

/// The model's channel for Zendesk's `via.channel`.
pub(crate) fn channel(via: &str) -> Channel {
    match via {
        "email" => Channel::Email,
        "web" | "web_form" | "help_center" | "web_widget" | "mobile" | "mobile_sdk" => {
            Channel::WebForm
        }
        "chat" | "native_messaging" | "messaging" | "instagram_dm" | "line" | "wechat" => {
            Channel::Chat
        }
        "whatsapp" => Channel::Whatsapp,
        "voice" | "phone" => Channel::Voice,
        "api" => Channel::Api,
        _ => Channel::Other,
    }
}

/// `solved_at` by ticket id, from an incremental export's side-loaded `metric_sets`.
pub(crate) type SolvedAt = BTreeMap<PlatformId, chrono::DateTime<chrono::Utc>>;

pub(crate) fn ticket(raw: &Value, side: Side, solved: &SolvedAt) -> Parsed<Mapped> {
    let f = Fields::new(raw)?;
    let id = f.id()?;
    let status = f.str("status")?;
    if status == "deleted" {
        return Ok(Mapped::Deleted(id));
    }
    let status = one_of(&f, "status", STATUSES)?.unwrap_or(status);
    let via = f
        .opt_object("via")?
        .and_then(|via| via.get("channel"))
        .and_then(Value::as_str)
        .unwrap_or("api");
    let requester = f
        .opt_id("requester_id")?
        .ok_or_else(|| Problem::field("requester_id", "missing"))?;
    let record = Record::Ticket(Ticket {
        subject: f.opt_str("subject")?.unwrap_or_default(),
        status,
        priority: one_of(&f, "priority", PRIORITIES)?,
        ticket_type: one_of(&f, "type", TYPES)?,
        // The brand's id: the connector names it (`ZendeskConnector::name_brands`).
        brand: f.opt_id("brand_id")?.map(|id| id.to_string()),
        channel: channel(via),
        requester,
        assignee: f.opt_id("assignee_id")?,
        group: f.opt_id("group_id")?,
        organization: f.opt_id("organization_id")?,
        tags: f.string_set("tags")?,
        custom_fields: ticket_custom_fields(&f)?,
        created_at: f.time("created_at")?,
        solved_at: solved.get(&id).copied(),
        // Read from the merge's comment (`ZendeskConnector::read_merges`).
        merged_into: None,
    });
    Ok(Mapped::Record(observed(side, id, &f, record)?))
}

/// `custom_fields: [{id, value}]` as a map keyed by field id, nulls dropped.
fn ticket_custom_fields(f: &Fields<'_>) -> Parsed<BTreeMap<String, Value>> {
    let mut values = BTreeMap::new();
    for (idx, entry) in f.opt_array("custom_fields")?.iter().enumerate() {
        let field = format!("custom_fields[{idx}]");
        let entry = Fields::new(entry).map_err(|p| Problem::field(&field, p.reason))?;
        let id = entry
            .opt_id("id")
            .map_err(|p| Problem::field(&format!("{field}.id"), p.reason))?;
        let id = id.ok_or_else(|| Problem::field(&format!("{field}.id"), "missing"))?;
        if let Some(value) = entry.get("value") {
            values.insert(id.to_string(), value.clone());
        }
    }
    Ok(values)
}

/// A comment of `ticket`, with its attachments (ids of their own, parent = the comment).
pub(crate) fn comment(raw: &Value, side: Side, ticket: &PlatformId) -> Parsed<Mapped> {
    let f = Fields::new(raw)?;
    let id = f.id()?;
    let mut html_body = match f.opt_str("html_body")? {
        Some(html) => html,
        None => f.opt_str("body")?.unwrap_or_default(),
    };
    let mut created_at = f.time("created_at")?;
    let mut public = f.bool_or("public", true)?;
    let mut origin = None;
    // A comment cutover kept private (so nobody was e-mailed) reads back as the one it copies.
    // Comments imported with their ticket carry no header, so no origin.
    if let Some((info, rest)) = header::parse(&html_body)
        && info.kind == RecordKind::Comment
    {
        origin = Some(info.origin());
        (created_at, public, html_body) = (info.created_at, info.public, rest);
    }
    let mut attachments = Vec::new();
    for (idx, item) in f.opt_array("attachments")?.iter().enumerate() {
        let field = |name: &str| format!("attachments[{idx}].{name}");
        let a = attachment(item, side, &id, created_at)
            .map_err(|p| Problem::field(&field(p.field.as_deref().unwrap_or("")), p.reason))?;
        attachments.push(a);
    }
    let html_body = inline::to_canonical(
        &html_body,
        attachments
            .iter()
            .map(|(_, source)| (&source.url, source.file_name.as_str())),
    );
    let record = Record::Comment(Comment {
        ticket: ticket.clone(),
        author: f
            .opt_id("author_id")?
            .ok_or_else(|| Problem::field("author_id", "missing"))?,
        public,
        html_body,
        created_at,
    });
    let comment = Observed {
        side,
        id,
        updated_at: Some(created_at),
        record,
        origin,
    };
    Ok(Mapped::Comment(comment, attachments))
}

fn attachment(
    raw: &Value,
    side: Side,
    comment: &PlatformId,
    created_at: chrono::DateTime<chrono::Utc>,
) -> Parsed<(Observed, AttachmentSource)> {
    let f = Fields::new(raw)?;
    let id = f.id()?;
    let url = f.str("content_url")?;
    let url =
        Url::parse(&url).map_err(|e| Problem::field("content_url", format!("not a url: {e}")))?;
    let size = f
        .opt_i64("size")?
        .and_then(|s| u64::try_from(s).ok())
        .ok_or_else(|| Problem::field("size", "missing"))?;
    let file_name = f.str("file_name")?;
    let record = Record::Attachment(Attachment {
        comment: comment.clone(),
        file_name: file_name.clone(),
        content_type: f
            .opt_str("content_type")?
            .unwrap_or_else(|| "application/octet-stream".into()),
        size,
        checksum: String::new(),
        inline: f.bool_or("inline", false)?,
    });
    let source = AttachmentSource {
        id: id.clone(),
        url,
        size,
        file_name,
    };
    Ok((
        Observed {
            side,
            id,
            updated_at: Some(created_at),
            record,
            // Zendesk shows no mark on an attachment.
            origin: None,
        },
        source,
    ))
}

/// A satisfaction rating; `offered`/`unoffered` (no answer yet) are skipped. Zendesk rates good
/// or bad: good reads as 5, bad as 1.
pub(crate) fn rating(raw: &Value, side: Side) -> Parsed<Mapped> {
    let f = Fields::new(raw)?;
    let score = match f.str("score")?.as_str() {
        "good" | "good_with_comment" => 5,
        "bad" | "bad_with_comment" => 1,
        "offered" | "unoffered" => return Ok(Mapped::Skip),
        other => {
            return Err(Problem::field(
                "score",
                format!("unknown value {other:?}: expected good or bad"),
            ));
        }
    };
    let record = Record::SatisfactionRating(SatisfactionRating {
        ticket: f
            .opt_id("ticket_id")?
            .ok_or_else(|| Problem::field("ticket_id", "missing"))?,
        requester: f
            .opt_id("requester_id")?
            .ok_or_else(|| Problem::field("requester_id", "missing"))?,
        assignee: f.opt_id("assignee_id")?,
        score: Score::new(score).map_err(|e| Problem::field("score", e.to_string()))?,
        comment: f.opt_str("comment")?,
        created_at: f.time("created_at")?,
    });
    Ok(Mapped::Record(observed(side, f.id()?, &f, record)?))
}

/// How a channel's set-up is read: which JSON keys hold what (rules are `rule_lists.rs`'s).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConfigShape {
    pub(crate) title: &'static str,
    pub(crate) conditions: &'static [&'static str],
    pub(crate) actions: &'static [&'static str],
}

fn pick(obj: &Map<String, Value>, keys: &[&str]) -> Value {
    match keys {
        [] => Value::Object(Map::new()),
        [one] => obj.get(*one).cloned().unwrap_or(Value::Null),
        many => Value::Object(
            many.iter()
                .filter_map(|k| obj.get(*k).map(|v| ((*k).to_owned(), v.clone())))
                .collect(),
        ),
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
