//! Freshdesk's words for the canonical rule form: condition properties (`{resource_type,
//! field_name, operator, value}`), events of update rules (`{field_name, from, to}`) and actions
//! (`{field_name, value}`; a scenario's `{name, value}`), both ways, and [`fit`]: what Freshdesk
//! holds of a rule. A part is kept by `fit` exactly when the functions here can write it, and
//! reading what they write gives the part back (property-tested in `rule_tests.rs`).
//!
//! The lists themselves (canned responses, scenario automations, automation rules of each type,
//! SLA policies) are read and written in `rule_lists.rs`; `fit` is `rule_fit.rs`'s.

use cutover_model::PlatformKind;
use cutover_model::rules::{Action, Condition, Moment, Operator, Recipient, RuleField, RuleValue};
use serde_json::{Value, json};

use super::mapping::{PRIORITIES, STATUSES};
use crate::rules::{FieldNames, json_of, key_of, native, native_json, plain, value_of};

const FRESHDESK: PlatformKind = PlatformKind::Freshdesk;
/// The platform, for the rule lists' own fitting.
pub(crate) const FRESHDESK_PLATFORM: PlatformKind = FRESHDESK;

/// Hours-since fields of time-triggered rules, by Freshdesk's name.
const MOMENTS: &[(&str, Moment)] = &[
    ("hours_since_created", Moment::Created),
    ("hours_since_updated", Moment::Updated),
    ("hours_since_pending", Moment::Pending),
    ("hours_since_resolved", Moment::Solved),
    ("hours_since_closed", Moment::Closed),
    ("hours_since_requester_responded", Moment::RequesterUpdated),
    ("hours_since_agent_responded", Moment::AssigneeUpdated),
    ("hours_since_due", Moment::Due),
    ("hours_since_status_changed", Moment::StatusChanged),
    ("hours_since_reopened", Moment::Reopened),
];

/// Ticket sources by channel (the others, feedback widget and outbound e-mail, are Freshdesk's
/// own).
const SOURCES: &[(i64, &str)] = &[(1, "email"), (2, "web_form"), (3, "voice"), (7, "chat")];

/// The priorities an SLA policy sets targets for, by `sla_target` key.
pub(crate) const SLA_PRIORITIES: &[(&str, &str)] = &[
    ("priority_4", "urgent"),
    ("priority_3", "high"),
    ("priority_2", "medium"),
    ("priority_1", "low"),
];

/// What a missing SLA target is written as: Freshdesk wants a first response and a resolution
/// target for every priority.
pub(crate) const FILLED_TARGET_MINUTES: u64 = 30 * 24 * 60;

/// Which list a rule goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum List {
    /// A macro that is a public reply's text.
    Canned,
    /// A macro that changes fields.
    Scenarios,
    /// An automation rule of this type (1 creation, 3 time, 4 update).
    Rules(u8),
    SlaPolicies,
}

/// Rule type of ticket-creation rules.
pub(crate) const ON_CREATE: u8 = 1;
/// Rule type of time-triggered rules.
pub(crate) const HOURLY: u8 = 3;
/// Rule type of ticket-update rules.
pub(crate) const ON_UPDATE: u8 = 4;

/// Freshdesk's names of rule fields in condition properties, events and actions.
const FIELDS: FieldNames = FieldNames {
    fixed: &[
        ("status", RuleField::Status),
        ("priority", RuleField::Priority),
        ("ticket_type", RuleField::TicketType),
        ("group_id", RuleField::Group),
        ("responder_id", RuleField::Assignee),
        ("requester_id", RuleField::Requester),
        ("company_id", RuleField::Organization),
        ("source", RuleField::Channel),
        ("subject", RuleField::Subject),
        ("description", RuleField::Description),
        ("tag_names", RuleField::Tags),
    ],
    moments: MOMENTS,
    // A custom field is named by its key (`cf_plan`).
    custom_name: |key| key.starts_with("cf_").then(|| key.to_owned()),
    custom_key: |name| name.starts_with("cf_").then(|| name.to_owned()),
};

fn field_name(field: &RuleField) -> Option<String> {
    FIELDS.name(field)
}

fn field_of(name: &str) -> Option<RuleField> {
    FIELDS.field(name)
}

/// The channel of a ticket source, when it has one of the model's.
pub(crate) fn channel_name(code: i64) -> Option<&'static str> {
    SOURCES.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
}

/// The ticket source of a channel, when Freshdesk has one.
pub(crate) fn source_code(name: &str) -> Option<i64> {
    SOURCES.iter().find(|(_, n)| *n == name).map(|(c, _)| *c)
}

/// A ticket type as Freshdesk accounts spell them (`feature request` → `Feature Request`).
pub(crate) fn type_spelling(name: &str) -> String {
    name.split(' ')
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Freshdesk's JSON of one value of `field` (not a list).
fn scalar_json(field: &RuleField, value: &RuleValue) -> Result<Value, String> {
    let bad = || format!("freshdesk cannot state {value} for {field}");
    Ok(match (field, value) {
        (RuleField::Status, RuleValue::Text(name)) => {
            match STATUSES.iter().find(|(_, n)| n == name) {
                Some((code, _)) => json!(code),
                None => json!(
                    name.parse::<i64>()
                        .ok()
                        .filter(|c| *c > 5)
                        .ok_or_else(|| { format!("freshdesk has no status {name:?}") })?
                ),
            }
        }
        (RuleField::Priority, RuleValue::Text(name)) => {
            let (code, _) = PRIORITIES
                .iter()
                .find(|(_, n)| n == name)
                .ok_or_else(|| format!("freshdesk has no priority {name:?}"))?;
            json!(code)
        }
        (RuleField::Channel, RuleValue::Text(name)) => {
            let (code, _) = SOURCES
                .iter()
                .find(|(_, n)| n == name)
                .ok_or_else(|| format!("freshdesk has no source for {name}"))?;
            json!(code)
        }
        (RuleField::TicketType, RuleValue::Text(name)) if !name.is_empty() => {
            json!(type_spelling(name))
        }
        (
            RuleField::Group | RuleField::Assignee | RuleField::Requester | RuleField::Organization,
            RuleValue::Key(key),
        ) => key
            .as_str()
            .parse::<u64>()
            .map(|n| json!(n))
            .map_err(|_| bad())?,
        (RuleField::Group | RuleField::Assignee | RuleField::Organization, RuleValue::None) => {
            Value::Null
        }
        (RuleField::Subject | RuleField::Description | RuleField::Tags, RuleValue::Text(t))
            if !t.is_empty() =>
        {
            json!(t)
        }
        (RuleField::HoursSince(_), RuleValue::Number(n)) => json!(n),
        (RuleField::CustomField(_), RuleValue::Text(t)) if t.is_empty() => return Err(bad()),
        (
            RuleField::CustomField(_),
            RuleValue::Text(_) | RuleValue::Number(_) | RuleValue::Bool(_),
        ) => json_of(value),
        _ => return Err(bad()),
    })
}

fn scalar_from(field: &RuleField, json: &Value) -> Option<RuleValue> {
    Some(match field {
        RuleField::Status => {
            let code = json.as_i64()?;
            match STATUSES.iter().find(|(c, _)| *c == code) {
                Some((_, name)) => RuleValue::Text((*name).to_owned()),
                None if code > 5 => RuleValue::Text(code.to_string()),
                None => return None,
            }
        }
        RuleField::Priority => {
            let code = json.as_i64()?;
            RuleValue::Text(PRIORITIES.iter().find(|(c, _)| *c == code)?.1.to_owned())
        }
        RuleField::Channel => {
            let code = json.as_i64()?;
            RuleValue::Text(SOURCES.iter().find(|(c, _)| *c == code)?.1.to_owned())
        }
        RuleField::TicketType => RuleValue::Text(json.as_str()?.to_lowercase()),
        RuleField::Group | RuleField::Assignee | RuleField::Requester | RuleField::Organization => {
            match json {
                Value::Null if *field != RuleField::Requester => RuleValue::None,
                _ => RuleValue::Key(key_of(json)?),
            }
        }
        RuleField::HoursSince(_) => RuleValue::Number(json.as_i64()?),
        RuleField::CustomField(_) => match json {
            Value::String(s) if s.is_empty() => return None,
            Value::String(_) | Value::Number(_) | Value::Bool(_) => value_of(json),
            _ => return None,
        },
        _ => RuleValue::Text(json.as_str().filter(|s| !s.is_empty())?.to_owned()),
    })
}

fn operator_name(field: &RuleField, operator: Operator) -> Option<&'static str> {
    let tags = *field == RuleField::Tags;
    let words = matches!(field, RuleField::Subject | RuleField::Description);
    let ordered = matches!(field, RuleField::HoursSince(_) | RuleField::CustomField(_));
    Some(match operator {
        Operator::Is if !tags => "is",
        Operator::IsNot if !tags && !matches!(field, RuleField::HoursSince(_)) => "is_not",
        Operator::AnyOf if !matches!(field, RuleField::HoursSince(_)) && !words => "in",
        Operator::NoneOf if !matches!(field, RuleField::HoursSince(_)) && !words => "not_in",
        Operator::Contains if words => "contains",
        Operator::NotContains if words => "does_not_contain",
        Operator::LessThan if ordered => "less_than",
        Operator::GreaterThan if ordered => "greater_than",
        _ => return None,
    })
}

fn operator_of(name: &str) -> Option<Operator> {
    Some(match name {
        "is" => Operator::Is,
        "is_not" => Operator::IsNot,
        "in" => Operator::AnyOf,
        "not_in" => Operator::NoneOf,
        "contains" => Operator::Contains,
        "does_not_contain" => Operator::NotContains,
        "less_than" => Operator::LessThan,
        "greater_than" => Operator::GreaterThan,
        _ => return None,
    })
}

/// Whether a condition is about what an update changed (Freshdesk says it with events).
pub(crate) fn is_change(condition: &Condition) -> bool {
    matches!(
        condition,
        Condition::Test {
            operator: Operator::Changed
                | Operator::ChangedTo
                | Operator::ChangedFrom
                | Operator::NotChanged,
            ..
        }
    )
}

/// Freshdesk's condition property of a test, or why it cannot be written.
pub(crate) fn property_json(condition: &Condition) -> Result<Value, String> {
    match condition {
        Condition::Native(n) => native_json(FRESHDESK, n),
        Condition::Lost(lost) => Err(lost.reason.clone()),
        Condition::Test {
            field,
            operator,
            value,
        } => {
            if is_change(condition) {
                return Err("only freshdesk update rules test a change, as their event".into());
            }
            let name = field_name(field)
                .ok_or_else(|| format!("freshdesk has no field for {field} in rules"))?;
            let op = operator_name(field, *operator)
                .ok_or_else(|| format!("freshdesk cannot test {field} with {operator}"))?;
            let value = match (operator, value) {
                (Operator::AnyOf | Operator::NoneOf, RuleValue::List(items)) => Value::Array(
                    items
                        .iter()
                        .map(|v| scalar_json(field, v))
                        .collect::<Result<_, _>>()?,
                ),
                (Operator::AnyOf | Operator::NoneOf, _) => {
                    return Err(format!("freshdesk cannot state {value} for {field}"));
                }
                _ => scalar_json(field, value)?,
            };
            Ok(
                json!({"resource_type": "ticket", "field_name": name, "operator": op, "value": value}),
            )
        }
    }
}

/// The canonical condition of a property: a test, or the property as a native part.
pub(crate) fn property_from(json: &Value) -> Condition {
    let test = || -> Option<Condition> {
        if json.get("resource_type").and_then(Value::as_str) != Some("ticket") {
            return None;
        }
        let field = field_of(json.get("field_name")?.as_str()?)?;
        let operator = operator_of(json.get("operator")?.as_str()?)?;
        operator_name(&field, operator)?;
        let raw = json.get("value")?;
        let value = match (operator, raw) {
            (Operator::AnyOf | Operator::NoneOf, Value::Array(items)) => RuleValue::List(
                items
                    .iter()
                    .map(|v| scalar_from(&field, v))
                    .collect::<Option<_>>()?,
            ),
            (Operator::AnyOf | Operator::NoneOf, _) => return None,
            (_, Value::Array(_)) => return None,
            _ => scalar_from(&field, raw)?,
        };
        Some(Condition::test(field, operator, value))
    };
    test().unwrap_or_else(|| {
        let part = |key: &str| json.get(key).map(plain).unwrap_or_default();
        let text = format!(
            "{} {} {}",
            part("field_name"),
            part("operator"),
            part("value")
        );
        Condition::Native(native(FRESHDESK, text.trim().to_owned(), json.clone()))
    })
}

/// The events of an update rule from its change conditions (one field: a change to anything,
/// to a value, from a value, or from one to another), or why they cannot be.
pub(crate) fn events_json(changes: &[&Condition]) -> Result<Value, String> {
    let mut field = None;
    let (mut from, mut to) = (json!("--"), json!("--"));
    let mut seen = Vec::new();
    for condition in changes {
        let Condition::Test {
            field: f,
            operator,
            value,
        } = condition
        else {
            continue;
        };
        if field.is_some_and(|seen_field| seen_field != f) || seen.contains(operator) {
            return Err("freshdesk update rules run on one change (their event)".into());
        }
        field = Some(f);
        seen.push(*operator);
        match operator {
            Operator::Changed => {}
            Operator::ChangedTo => to = scalar_json(f, value)?,
            Operator::ChangedFrom => from = scalar_json(f, value)?,
            _ => return Err("freshdesk cannot test that a field did not change".into()),
        }
    }
    let field = field.ok_or("freshdesk update rules need a change to run on")?;
    if seen.contains(&Operator::Changed) && seen.len() > 1 {
        return Err("a change to anything and to a value at once".into());
    }
    let name = field_name(field)
        .filter(|n| !n.starts_with("hours_since"))
        .ok_or_else(|| format!("freshdesk has no event for {field}"))?;
    Ok(json!([{"field_name": name, "from": from, "to": to}]))
}

/// The change conditions of an update rule's events, in the order `fit` keeps them (a change
/// to anything, to a value, from a value); several events, any of which runs the rule, are one
/// native part.
pub(crate) fn events_from(events: &[Value]) -> Vec<Condition> {
    let one = || -> Option<Vec<Condition>> {
        let [event] = events else { return None };
        let field = field_of(event.get("field_name")?.as_str()?)?;
        let any = |v: &Value| v.as_str() == Some("--");
        let (from, to) = (event.get("from")?, event.get("to")?);
        let mut out = Vec::new();
        if any(from) && any(to) {
            out.push(Condition::test(
                field.clone(),
                Operator::Changed,
                RuleValue::None,
            ));
        }
        if !any(to) {
            let value = scalar_from(&field, to)?;
            out.push(Condition::test(field.clone(), Operator::ChangedTo, value));
        }
        if !any(from) {
            let value = scalar_from(&field, from)?;
            out.push(Condition::test(field, Operator::ChangedFrom, value));
        }
        Some(out)
    };
    if events.is_empty() {
        return Vec::new();
    }
    one().unwrap_or_else(|| {
        let names: Vec<String> = events
            .iter()
            .map(|e| e.get("field_name").map(plain).unwrap_or_default())
            .collect();
        let text = format!("runs when any of {} changes", names.join(", "));
        vec![Condition::Native(native(
            FRESHDESK,
            text,
            json!({ "events": events }),
        ))]
    })
}

/// Freshdesk's JSON of an action of `list` (`name_key`: `field_name` for rules, `name` for
/// scenarios), or why it cannot be written there.
pub(crate) fn action_json(list: List, action: &Action) -> Result<Value, String> {
    let key = if list == List::Scenarios {
        "name"
    } else {
        "field_name"
    };
    let rules = matches!(list, List::Rules(_));
    Ok(match action {
        Action::Native(n) => native_json(FRESHDESK, n)?,
        Action::Lost(lost) => return Err(lost.reason.clone()),
        _ if !rules && list != List::Scenarios => {
            return Err("freshdesk keeps no actions here".into());
        }
        Action::Set { field, value } => {
            let name = match field {
                RuleField::Status
                | RuleField::Priority
                | RuleField::TicketType
                | RuleField::Group
                | RuleField::Assignee
                | RuleField::CustomField(_) => field_name(field)
                    .ok_or_else(|| format!("freshdesk has no field for {field} in rules"))?,
                other => return Err(format!("freshdesk rules cannot set {other}")),
            };
            json!({ key: name, "value": scalar_json(field, value)? })
        }
        Action::AddTags { tags } => json!({ key: "add_tag", "value": tags }),
        Action::RemoveTags { .. } => {
            return Err("freshdesk rules cannot remove tags".into());
        }
        Action::Comment {
            public: false,
            body,
        } => json!({ key: "add_note", "note_body": body }),
        Action::Comment { public: true, .. } => {
            return Err(
                "freshdesk rules and scenarios cannot send a reply (a canned response holds \
                 its text)"
                    .into(),
            );
        }
        Action::Notify { .. } if !rules => {
            return Err("freshdesk scenarios cannot e-mail: a rule does".into());
        }
        Action::Notify { to, subject, body } => {
            let (name, email_to) = match to {
                Recipient::Requester => ("send_email_to_requester", None),
                Recipient::Assignee => ("send_email_to_agent", Some(json!(-1))),
                Recipient::Agent(agent) => (
                    "send_email_to_agent",
                    Some(json_of(&RuleValue::Key(agent.clone()))),
                ),
                Recipient::AssignedGroup => ("send_email_to_group", Some(json!(-1))),
                Recipient::Group(group) => (
                    "send_email_to_group",
                    Some(json_of(&RuleValue::Key(group.clone()))),
                ),
                Recipient::RequesterAndCcs => {
                    return Err("freshdesk rules e-mail the requester without the CCs".into());
                }
            };
            let mut out = json!({ key: name, "email_subject": subject, "email_body": body });
            if let Some(email_to) = email_to {
                out["email_to"] = email_to;
            }
            out
        }
    })
}

/// The canonical action of Freshdesk's JSON (`key`: `field_name` or `name`), or the action as a
/// native part (a webhook's, without its headers and credentials, bound to the source account).
pub(crate) fn action_from(key: &str, json: &Value) -> Action {
    let parse = || -> Option<Action> {
        let name = json.get(key)?.as_str()?;
        Some(match name {
            "add_tag" => Action::AddTags {
                tags: json
                    .get("value")?
                    .as_array()?
                    .iter()
                    .map(|t| t.as_str().map(str::to_owned))
                    .collect::<Option<_>>()?,
            },
            "add_note" => Action::Comment {
                public: false,
                body: json.get("note_body")?.as_str()?.to_owned(),
            },
            "send_email_to_requester" | "send_email_to_agent" | "send_email_to_group" => {
                let email_to = json.get("email_to");
                let to = match (name, email_to) {
                    ("send_email_to_requester", None) => Recipient::Requester,
                    ("send_email_to_agent", Some(v)) if v.as_i64() == Some(-1) => {
                        Recipient::Assignee
                    }
                    ("send_email_to_agent", Some(v)) => Recipient::Agent(key_of(v)?),
                    ("send_email_to_group", Some(v)) if v.as_i64() == Some(-1) => {
                        Recipient::AssignedGroup
                    }
                    ("send_email_to_group", Some(v)) => Recipient::Group(key_of(v)?),
                    _ => return None,
                };
                Action::Notify {
                    to,
                    subject: json.get("email_subject")?.as_str()?.to_owned(),
                    body: json.get("email_body")?.as_str()?.to_owned(),
                }
            }
            other => {
                let field = field_of(other).filter(|f| {
                    matches!(
                        f,
                        RuleField::Status
                            | RuleField::Priority
                            | RuleField::TicketType
                            | RuleField::Group
                            | RuleField::Assignee
                            | RuleField::CustomField(_)
                    )
                })?;
                let value = scalar_from(&field, json.get("value")?)?;
                Action::Set { field, value }
            }
        })
    };
    parse().unwrap_or_else(|| native_action(key, json))
}

fn native_action(key: &str, json: &Value) -> Action {
    let name = json.get(key).map(plain).unwrap_or_default();
    if name == "trigger_webhook" {
        // Headers and credentials stay on the source: they are secrets.
        let method = json.get("request_type").map(plain).unwrap_or_default();
        let url = json.get("url").map(plain).unwrap_or_default();
        let url = url.split('?').next().unwrap_or_default().to_owned();
        let mut part = native(
            FRESHDESK,
            format!("trigger_webhook {method} {url}"),
            json!({ key: name, "request_type": method, "url": url }),
        );
        part.bound =
            Some("calls a webhook whose headers and credentials stay on the source account".into());
        return Action::Native(part);
    }
    let value = json.get("value").map(plain).unwrap_or_default();
    Action::Native(native(
        FRESHDESK,
        format!("{name} {value}").trim().to_owned(),
        json.clone(),
    ))
}
