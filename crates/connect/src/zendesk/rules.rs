//! Zendesk's words for the canonical rule form: conditions (`{field, operator, value}`) and
//! actions (`{field, value}`) both ways, and [`fit`]: what Zendesk holds of a rule. A part is
//! kept by `fit` exactly when [`condition_json`] or [`action_json`] can write it, and reading
//! what they write gives the part back (property-tested in `rule_tests.rs`).
//!
//! The lists themselves (macros, triggers, automations, views, SLA policies, ticket forms) are
//! read and written in `rule_lists.rs`; `fit` is `rule_fit.rs`'s.

use cutover_model::rules::{
    Action, Condition, Metric, Moment, Native, Operator, Recipient, Rule, RuleField, RuleValue,
    When,
};
use cutover_model::{PlatformKind, RecordKind};
use serde_json::{Value, json};

use crate::rules::{FieldNames, json_of, key_of, native, native_json, plain, texts_of, value_of};

pub(super) const ZENDESK: PlatformKind = PlatformKind::Zendesk;

/// Hours-since fields of automations and views, by Zendesk's name.
pub(super) const MOMENTS: &[(&str, Moment)] = &[
    ("NEW", Moment::Created),
    ("OPEN", Moment::Opened),
    ("PENDING", Moment::Pending),
    ("SOLVED", Moment::Solved),
    ("CLOSED", Moment::Closed),
    ("assigned_at", Moment::Assigned),
    ("updated_at", Moment::Updated),
    ("requester_updated_at", Moment::RequesterUpdated),
    ("assignee_updated_at", Moment::AssigneeUpdated),
    ("due_date", Moment::Due),
];

/// Via types by channel (Zendesk's via types reference); reading, the other voice ids too.
const VIAS: &[(i64, &str)] = &[
    (0, "web_form"),
    (4, "email"),
    (5, "api"),
    (29, "chat"),
    (34, "voice"),
];
const VOICE_VIAS: &[i64] = &[33, 35, 44, 45, 46];

/// SLA metrics by Zendesk's name.
pub(crate) const METRICS: &[(&str, Metric)] = &[
    ("first_reply_time", Metric::FirstReply),
    ("next_reply_time", Metric::NextReply),
    ("periodic_update_time", Metric::PeriodicUpdate),
    ("pausable_update_time", Metric::PausableUpdate),
    ("requester_wait_time", Metric::Resolution),
    ("agent_work_time", Metric::AgentWork),
];

/// Which list a rule is written to, which decides the words it may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum List {
    Macros,
    Triggers,
    Automations,
    Views,
    SlaPolicies,
    TicketForms,
}

impl List {
    /// The list a record of `kind` with `rule` goes to.
    pub(crate) fn of(kind: RecordKind, rule: &Rule) -> Option<List> {
        Some(match kind {
            RecordKind::Macro => List::Macros,
            RecordKind::Automation if rule.when == Some(When::Hourly) => List::Automations,
            RecordKind::Automation => List::Triggers,
            RecordKind::SlaPolicy => List::SlaPolicies,
            RecordKind::View => List::Views,
            RecordKind::TicketForm => List::TicketForms,
            _ => return None,
        })
    }

    /// The path and the envelope key of one record.
    pub(crate) fn path(self) -> (&'static str, &'static str) {
        match self {
            List::Macros => ("macros", "macro"),
            List::Triggers => ("triggers", "trigger"),
            List::Automations => ("automations", "automation"),
            List::Views => ("views", "view"),
            List::SlaPolicies => ("slas/policies", "sla_policy"),
            List::TicketForms => ("ticket_forms", "ticket_form"),
        }
    }

    pub(super) fn what(self) -> &'static str {
        match self {
            List::Macros => "macros",
            List::Triggers => "triggers",
            List::Automations => "automations",
            List::Views => "views",
            List::SlaPolicies => "SLA policies",
            List::TicketForms => "ticket forms",
        }
    }
}

/// Zendesk's names of rule fields in conditions and actions.
const FIELDS: FieldNames = FieldNames {
    fixed: &[
        ("status", RuleField::Status),
        ("priority", RuleField::Priority),
        ("type", RuleField::TicketType),
        ("group_id", RuleField::Group),
        ("assignee_id", RuleField::Assignee),
        ("requester_id", RuleField::Requester),
        ("organization_id", RuleField::Organization),
        ("via_id", RuleField::Channel),
        ("subject_includes_word", RuleField::Subject),
        ("comment_includes_word", RuleField::Description),
        ("current_tags", RuleField::Tags),
    ],
    moments: MOMENTS,
    // Ticket values are keyed by the field's id.
    custom_name: |key| {
        key.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| format!("custom_fields_{key}"))
    },
    custom_key: |name| name.strip_prefix("custom_fields_").map(str::to_owned),
};

fn field_name(field: &RuleField) -> Option<String> {
    FIELDS.name(field)
}

fn field_of(name: &str) -> Option<RuleField> {
    FIELDS.field(name)
}

fn is_record(field: &RuleField) -> bool {
    matches!(
        field,
        RuleField::Group | RuleField::Assignee | RuleField::Requester | RuleField::Organization
    )
}

fn is_words(field: &RuleField) -> bool {
    matches!(field, RuleField::Subject | RuleField::Description)
}

/// Zendesk's operator for a canonical one on `field`.
fn operator_name(field: &RuleField, operator: Operator) -> Option<&'static str> {
    let tags = *field == RuleField::Tags;
    Some(match operator {
        Operator::Is if !tags => "is",
        Operator::IsNot if !tags => "is_not",
        Operator::AnyOf if tags => "includes",
        Operator::NoneOf if tags => "not_includes",
        Operator::Contains if is_words(field) => "includes",
        Operator::NotContains if is_words(field) => "not_includes",
        Operator::LessThan | Operator::GreaterThan
            if matches!(
                field,
                RuleField::Status | RuleField::Priority | RuleField::HoursSince(_)
            ) =>
        {
            if operator == Operator::LessThan {
                "less_than"
            } else {
                "greater_than"
            }
        }
        Operator::Changed | Operator::ChangedTo | Operator::ChangedFrom | Operator::NotChanged
            if changeable(field) =>
        {
            match operator {
                Operator::Changed => "changed",
                Operator::ChangedTo => "value",
                Operator::ChangedFrom => "value_previous",
                _ => "not_changed",
            }
        }
        _ => return None,
    })
}

fn changeable(field: &RuleField) -> bool {
    is_record(field)
        || matches!(
            field,
            RuleField::Status
                | RuleField::Priority
                | RuleField::TicketType
                | RuleField::CustomField(_)
        )
}

fn operator_of(field: &RuleField, name: &str) -> Option<Operator> {
    let tags = *field == RuleField::Tags;
    Some(match name {
        "is" if !tags => Operator::Is,
        "is_not" if !tags => Operator::IsNot,
        "includes" if tags => Operator::AnyOf,
        "not_includes" if tags => Operator::NoneOf,
        "includes" => Operator::Contains,
        "not_includes" => Operator::NotContains,
        "less_than" => Operator::LessThan,
        "greater_than" => Operator::GreaterThan,
        "changed" => Operator::Changed,
        "value" => Operator::ChangedTo,
        "value_previous" => Operator::ChangedFrom,
        "not_changed" => Operator::NotChanged,
        _ => return None,
    })
}

/// Zendesk's JSON for the value of `field`, or why it has none.
fn value_json(field: &RuleField, value: &RuleValue) -> Result<Value, String> {
    let bad = || format!("zendesk cannot state {value} for {field}");
    Ok(match (field, value) {
        (_, RuleValue::None) if !matches!(field, RuleField::HoursSince(_) | RuleField::Tags) => {
            json!("")
        }
        (RuleField::Channel, RuleValue::Text(channel)) => {
            let (code, _) = VIAS
                .iter()
                .find(|(_, name)| name == channel)
                .ok_or_else(|| format!("zendesk has no via type cutover knows for {channel}"))?;
            json!(code.to_string())
        }
        (RuleField::Tags, RuleValue::List(_)) => {
            json!(texts_of(value).ok_or_else(bad)?.join(" "))
        }
        (RuleField::HoursSince(_), RuleValue::Number(n)) => json!(n.to_string()),
        (RuleField::Assignee | RuleField::Requester, RuleValue::Text(t)) if t == "current_user" => {
            json!("current_user")
        }
        (RuleField::Assignee, RuleValue::Text(t)) if t == "requester" => json!("requester_id"),
        (f, RuleValue::Key(key)) if is_record(f) => json!(key.to_string()),
        (RuleField::CustomField(_), RuleValue::Text(t)) if t.is_empty() => return Err(bad()),
        (
            RuleField::CustomField(_),
            RuleValue::Text(_) | RuleValue::Number(_) | RuleValue::Bool(_),
        ) => json_of(value),
        (
            RuleField::Status
            | RuleField::Priority
            | RuleField::TicketType
            | RuleField::Subject
            | RuleField::Description,
            RuleValue::Text(t),
        ) if !t.is_empty() => json!(t),
        _ => return Err(bad()),
    })
}

/// The canonical value of `field` from Zendesk's JSON, or `None` when it has no canonical one.
fn value_from(field: &RuleField, json: &Value) -> Option<RuleValue> {
    if json.as_str() == Some("") && !matches!(field, RuleField::HoursSince(_) | RuleField::Tags) {
        return Some(RuleValue::None);
    }
    Some(match field {
        RuleField::Channel => {
            let code = match json {
                Value::String(s) => s.parse::<i64>().ok()?,
                other => other.as_i64()?,
            };
            let name = if VOICE_VIAS.contains(&code) {
                "voice"
            } else {
                VIAS.iter().find(|(c, _)| *c == code)?.1
            };
            RuleValue::Text(name.to_owned())
        }
        RuleField::Tags => RuleValue::List(
            json.as_str()?
                .split_whitespace()
                .map(|t| RuleValue::Text(t.to_owned()))
                .collect(),
        ),
        RuleField::HoursSince(_) => match json {
            Value::String(s) => RuleValue::Number(s.trim().parse().ok()?),
            other => RuleValue::Number(other.as_i64()?),
        },
        f if is_record(f) => match json.as_str() {
            Some("current_user") if matches!(f, RuleField::Assignee | RuleField::Requester) => {
                RuleValue::Text("current_user".into())
            }
            Some("requester_id") if *f == RuleField::Assignee => {
                RuleValue::Text("requester".into())
            }
            _ => RuleValue::Key(key_of(json)?),
        },
        RuleField::CustomField(_) => match json {
            Value::String(_) | Value::Number(_) | Value::Bool(_) => value_of(json),
            _ => return None,
        },
        RuleField::TicketType => RuleValue::Text(json.as_str()?.to_lowercase()),
        _ => RuleValue::Text(json.as_str()?.to_owned()),
    })
}

/// Zendesk's JSON of a condition in `list`, or why it cannot be written there.
pub(crate) fn condition_json(list: List, condition: &Condition) -> Result<Value, String> {
    match condition {
        Condition::Native(native) => native_json(ZENDESK, native),
        Condition::Lost(lost) => Err(lost.reason.clone()),
        Condition::Test {
            field,
            operator,
            value,
        } => {
            let name = field_name(field)
                .ok_or_else(|| format!("zendesk has no field for {field} in rules"))?;
            let op = operator_name(field, *operator)
                .ok_or_else(|| format!("zendesk cannot test {field} with {operator}"))?;
            check_list(list, field, *operator)?;
            let value = match operator {
                Operator::Changed | Operator::NotChanged => Value::Null,
                _ => value_json(field, value)?,
            };
            Ok(json!({"field": name, "operator": op, "value": value}))
        }
    }
}

/// What a list may test: time in automations and views, changes and comment text in triggers.
fn check_list(list: List, field: &RuleField, operator: Operator) -> Result<(), String> {
    let change = matches!(
        operator,
        Operator::Changed | Operator::ChangedTo | Operator::ChangedFrom | Operator::NotChanged
    );
    let time = matches!(field, RuleField::HoursSince(_));
    let refusal = match list {
        List::Triggers if time => "zendesk triggers cannot test time: only automations can",
        List::Automations | List::Views | List::SlaPolicies if change => {
            "only zendesk triggers can test what an update changed"
        }
        List::SlaPolicies if time => "zendesk SLA policies cannot test time",
        List::Automations | List::Views | List::SlaPolicies if *field == RuleField::Description => {
            "only zendesk triggers can test a comment's words"
        }
        List::Macros | List::TicketForms => "zendesk macros and ticket forms have no conditions",
        _ => return Ok(()),
    };
    Err(refusal.to_owned())
}

/// The canonical condition of Zendesk's JSON: a test, or the condition as a native part.
pub(crate) fn condition_from(json: &Value) -> Condition {
    let test = || -> Option<Condition> {
        let field = field_of(json.get("field")?.as_str()?)?;
        let operator = operator_of(&field, json.get("operator")?.as_str()?)?;
        let value = match operator {
            Operator::Changed | Operator::NotChanged => RuleValue::None,
            _ => value_from(&field, json.get("value")?)?,
        };
        Some(Condition::test(field, operator, value))
    };
    test().unwrap_or_else(|| Condition::Native(native_condition(json)))
}

fn native_condition(json: &Value) -> Native {
    let part = |key: &str| json.get(key).map(plain).unwrap_or_default();
    let text = format!("{} {} {}", part("field"), part("operator"), part("value"));
    native(ZENDESK, text.trim().to_owned(), json.clone())
}

/// Zendesk's JSON of an action in `list` (a comment is two: its body and whether it is public),
/// or why it cannot be written there.
pub(crate) fn action_json(list: List, action: &Action) -> Result<Vec<Value>, String> {
    let rules = matches!(list, List::Triggers | List::Automations);
    Ok(match action {
        Action::Native(native) => vec![native_json(ZENDESK, native)?],
        Action::Lost(lost) => return Err(lost.reason.clone()),
        _ if !matches!(list, List::Macros) && !rules => {
            return Err(format!("zendesk {} have no actions", list.what()));
        }
        Action::Set { field, value } => {
            let name = match field {
                RuleField::Tags => "set_tags".to_owned(),
                RuleField::Subject | RuleField::Description | RuleField::Channel => {
                    return Err(format!("zendesk rules cannot set {field}"));
                }
                RuleField::HoursSince(_) => return Err(format!("no rule can set {field}")),
                other => field_name(other)
                    .ok_or_else(|| format!("zendesk has no field for {other} in rules"))?,
            };
            vec![json!({"field": name, "value": value_json(field, value)?})]
        }
        Action::AddTags { tags } => vec![json!({"field": "current_tags", "value": tags.join(" ")})],
        Action::RemoveTags { tags } => {
            vec![json!({"field": "remove_tags", "value": tags.join(" ")})]
        }
        Action::Comment { public, body } if list == List::Macros => vec![
            json!({"field": "comment_value_html", "value": body}),
            json!({"field": "comment_mode_is_public", "value": public}),
        ],
        Action::Comment { .. } => {
            return Err(
                "zendesk triggers and automations cannot add a comment: they e-mail instead".into(),
            );
        }
        Action::Notify { .. } if !rules => {
            return Err("zendesk macros cannot e-mail: a trigger does".into());
        }
        Action::Notify { to, subject, body } => {
            let (field, who) = match to {
                Recipient::Requester => ("notification_user", json!("requester_id")),
                Recipient::RequesterAndCcs => ("notification_user", json!("requester_and_ccs")),
                Recipient::Assignee => ("notification_user", json!("assignee_id")),
                Recipient::Agent(key) => ("notification_user", json!(key.to_string())),
                Recipient::AssignedGroup => ("notification_group", json!("group_id")),
                Recipient::Group(key) => ("notification_group", json!(key.to_string())),
            };
            vec![json!({"field": field, "value": [who, subject, body]})]
        }
    })
}

/// The canonical actions of Zendesk's JSON actions, in order. A comment's `comment_mode_is_public`
/// sets the visibility of the comment it follows (or, first, of the one that comes next).
pub(crate) fn actions_from(list: &[Value]) -> Vec<Action> {
    let mut actions: Vec<Action> = Vec::new();
    let mut pending_public: Option<bool> = None;
    for json in list {
        let field = json.get("field").and_then(Value::as_str).unwrap_or("");
        let value = json.get("value").unwrap_or(&Value::Null);
        if field == "comment_mode_is_public" {
            let public = match value {
                Value::Bool(b) => *b,
                Value::String(s) => s == "true",
                _ => true,
            };
            match actions.last_mut() {
                Some(Action::Comment { public: p, .. }) => *p = public,
                _ => pending_public = Some(public),
            }
            continue;
        }
        let action = action_from(field, value).unwrap_or_else(|| {
            let bound = match field {
                "notification_webhook" | "notification_target" => Some(format!(
                    "calls a {} of the source account, which cutover does not copy",
                    field.trim_start_matches("notification_")
                )),
                _ => None,
            };
            let mut part = native(ZENDESK, format!("{field} {}", short(value)), json.clone());
            part.bound = bound;
            Action::Native(part)
        });
        let action = match (action, pending_public.take()) {
            (Action::Comment { body, .. }, Some(public)) => Action::Comment { public, body },
            (action, pending) => {
                pending_public = pending;
                action
            }
        };
        actions.push(action);
    }
    actions
}

fn short(value: &Value) -> String {
    let text = plain(value);
    match text.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

fn action_from(field: &str, value: &Value) -> Option<Action> {
    let words = |v: &Value| -> Option<Vec<String>> {
        Some(v.as_str()?.split_whitespace().map(str::to_owned).collect())
    };
    Some(match field {
        "comment_value_html" | "comment_value" => {
            let body = match value {
                Value::String(s) => s.clone(),
                // `[channel, text]`, as older macros state it.
                Value::Array(parts) => parts.last()?.as_str()?.to_owned(),
                _ => return None,
            };
            Action::Comment { public: true, body }
        }
        "set_tags" => Action::Set {
            field: RuleField::Tags,
            value: RuleValue::List(words(value)?.into_iter().map(RuleValue::Text).collect()),
        },
        "current_tags" => Action::AddTags {
            tags: words(value)?,
        },
        "remove_tags" => Action::RemoveTags {
            tags: words(value)?,
        },
        "notification_user" | "notification_group" => notify_from(field, value)?,
        _ => {
            let field = field_of(field).filter(|f| {
                !matches!(
                    f,
                    RuleField::Tags
                        | RuleField::Channel
                        | RuleField::Subject
                        | RuleField::Description
                        | RuleField::HoursSince(_)
                )
            })?;
            let value = value_from(&field, value)?;
            Action::Set { field, value }
        }
    })
}

fn notify_from(field: &str, value: &Value) -> Option<Action> {
    let [who, subject, body] = value.as_array()?.as_slice() else {
        return None;
    };
    let to = match (field, who.as_str()) {
        ("notification_user", Some("requester_id")) => Recipient::Requester,
        ("notification_user", Some("requester_and_ccs")) => Recipient::RequesterAndCcs,
        ("notification_user", Some("assignee_id")) => Recipient::Assignee,
        ("notification_user", _) => Recipient::Agent(key_of(who)?),
        (_, Some("group_id")) => Recipient::AssignedGroup,
        _ => Recipient::Group(key_of(who)?),
    };
    Some(Action::Notify {
        to,
        subject: subject.as_str()?.to_owned(),
        body: body.as_str()?.to_owned(),
    })
}

/// A multi-valued `any of` (not of tags): Zendesk says it as `any` conditions.
pub(crate) fn is_alternatives(condition: &Condition) -> bool {
    matches!(
        condition,
        Condition::Test { field, operator: Operator::AnyOf, value: RuleValue::List(items) }
            if *field != RuleField::Tags && items.len() > 1
    )
}

/// The JSON of a rule's conditions as `{all, any}`, `when` first for a trigger; a lone list of
/// alternatives at the end of `all` goes to `any`.
pub(crate) fn conditions_json(list: List, rule: &Rule) -> Result<Value, String> {
    let mut all = Vec::new();
    match (list, rule.when) {
        (List::Triggers, Some(When::Created)) => {
            all.push(json!({"field": "update_type", "operator": "is", "value": "Create"}));
        }
        (List::Triggers, Some(When::Updated)) => {
            all.push(json!({"field": "update_type", "operator": "is", "value": "Change"}));
        }
        _ => {}
    }
    let mut any = Vec::new();
    for condition in &rule.all {
        if is_alternatives(condition) && rule.any.is_empty() {
            if let Condition::Test {
                field,
                value: RuleValue::List(items),
                ..
            } = condition
            {
                for item in items {
                    let one = Condition::test(field.clone(), Operator::Is, item.clone());
                    any.push(condition_json(list, &one)?);
                }
            }
            continue;
        }
        all.push(condition_json(list, condition)?);
    }
    for condition in &rule.any {
        any.push(condition_json(list, condition)?);
    }
    Ok(json!({"all": all, "any": any}))
}

/// The canonical conditions (and, for a trigger, when it runs) of Zendesk's `{all, any}`.
pub(crate) fn conditions_from(list: List, json: Option<&Value>, rule: &mut Rule) {
    let read = |key: &str| -> Vec<Value> {
        json.and_then(|c| c.get(key))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let mut when = When::CreatedOrUpdated;
    for condition in read("all") {
        let update = condition.get("field").and_then(Value::as_str) == Some("update_type")
            && condition.get("operator").and_then(Value::as_str) == Some("is");
        match condition.get("value").and_then(Value::as_str) {
            Some("Create") if update && list == List::Triggers => when = When::Created,
            Some("Change") if update && list == List::Triggers => when = When::Updated,
            _ => rule.all.push(condition_from(&condition)),
        }
    }
    rule.any = read("any").iter().map(condition_from).collect();
    rule.when = match list {
        List::Triggers => Some(when),
        List::Automations => Some(When::Hourly),
        _ => None,
    };
}
