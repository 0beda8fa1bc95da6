//! Freshdesk's rule lists read into the canonical rule form and written back: canned responses
//! (a reply's text, filed in a folder: read as `Folder::Title`), scenario automations,
//! automation rules of each type (condition sets, events, performer) and SLA policies
//! (`applicable_to`, `sla_target`). Conditions and actions are `rules.rs`'s.

use cutover_model::records::Record;
use cutover_model::rules::{
    Action, Condition, Metric, Native, Operator, Rule, RuleField, RuleValue, SlaTarget, Visibility,
    When,
};
use cutover_model::{Observed, PlatformId, PlatformKind, RecordKind, Side};
use serde_json::{Map, Value, json};

use super::rules::{
    HOURLY, List, ON_CREATE, ON_UPDATE, SLA_PRIORITIES, action_from, action_json, events_from,
    events_json, is_change, property_from, property_json,
};
use crate::fields::{Fields, Mapped, Parsed, Problem};
use crate::rules::{json_of, key_of, native};

const FRESHDESK: PlatformKind = PlatformKind::Freshdesk;

/// The folder a canned response without one goes to, and whose responses read without a prefix.
pub(crate) const DEFAULT_FOLDER: &str = "General";

/// The separator of a canned response's folder and title (`Billing::Refund`).
const FOLDER_SEPARATOR: &str = "::";

/// Every source a ticket can have: a policy that applies to all of them applies to every ticket.
const ALL_SOURCES: &[i64] = &[1, 2, 3, 7, 9, 10];

/// The id prefix of an automation rule of `rule_type`.
pub(crate) fn rule_prefix(rule_type: u8) -> &'static str {
    match rule_type {
        ON_CREATE => "creation:",
        HOURLY => "time:",
        _ => "update:",
    }
}

fn observed(
    side: Side,
    id: String,
    kind: RecordKind,
    rule: Rule,
    f: &Fields<'_>,
) -> Parsed<Mapped> {
    let id = PlatformId::parse(id).map_err(|e| Problem::field("id", e.to_string()))?;
    let record = Record::of_rule(kind, rule).ok_or_else(|| Problem::record("not a rule kind"))?;
    Ok(Mapped::Record(Observed {
        side,
        id,
        updated_at: f.opt_time("updated_at")?,
        record,
        origin: None,
    }))
}

/// The folder and title a macro's title names.
pub(crate) fn folder_and_title(title: &str) -> (&str, &str) {
    match title.split_once(FOLDER_SEPARATOR) {
        Some((folder, rest)) if !folder.trim().is_empty() && !rest.trim().is_empty() => {
            (folder.trim(), rest.trim())
        }
        _ => (DEFAULT_FOLDER, title),
    }
}

/// A canned response of the folder named `folder`.
pub(crate) fn canned(raw: &Value, side: Side, folder: &str) -> Parsed<Mapped> {
    let f = Fields::new(raw)?;
    let title = f.str("title")?;
    let title = if folder == DEFAULT_FOLDER {
        title
    } else {
        format!("{folder}{FOLDER_SEPARATOR}{title}")
    };
    let mut rule = Rule::titled(title);
    let body = match f.opt_str("content_html")? {
        Some(html) => html,
        None => f.opt_str("content")?.unwrap_or_default(),
    };
    rule.actions = vec![Action::Comment { public: true, body }];
    rule.visible_to = visibility_from(raw);
    rule.normalize(false);
    observed(
        side,
        format!("canned:{}", f.id()?),
        RecordKind::Macro,
        rule,
        &f,
    )
}

/// A canned response's body in folder `folder_id`.
pub(crate) fn canned_body(rule: &Rule, folder_id: &PlatformId) -> Result<Value, String> {
    let (_, title) = folder_and_title(&rule.title);
    let Some(Action::Comment { body, .. }) = rule.actions.first() else {
        return Err("a canned response needs a reply's text".into());
    };
    let mut out = json!({"title": title, "content_html": body,
        "folder_id": json_of(&RuleValue::Key(folder_id.clone())), "visibility": 0});
    if let Visibility::Groups(groups) = &rule.visible_to {
        out["visibility"] = json!(2);
        out["group_ids"] = groups
            .iter()
            .map(|g| json_of(&RuleValue::Key(g.clone())))
            .collect();
    }
    Ok(out)
}

/// A scenario automation.
pub(crate) fn scenario(raw: &Value, side: Side) -> Parsed<Mapped> {
    let f = Fields::new(raw)?;
    let mut rule = Rule::titled(f.str("name")?);
    rule.description = f.opt_str("description")?.filter(|d| !d.trim().is_empty());
    rule.actions = f
        .opt_array("actions")?
        .iter()
        .map(|a| action_from("name", a))
        .collect();
    if f.bool_or("private", false)? {
        let mut part =
            freshdesk_native("private: its author's own".into(), json!({"private": true}));
        part.bound = Some("belongs to one agent of the source account".into());
        rule.visible_to = Visibility::Native(part);
    }
    rule.normalize(false);
    observed(
        side,
        format!("scenario:{}", f.id()?),
        RecordKind::Macro,
        rule,
        &f,
    )
}

/// A scenario automation's body.
pub(crate) fn scenario_body(rule: &Rule) -> Result<Value, String> {
    let actions = rule
        .actions
        .iter()
        .map(|a| action_json(List::Scenarios, a))
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = json!({"name": rule.title, "actions": actions});
    if let Some(description) = &rule.description {
        out["description"] = json!(description);
    }
    Ok(out)
}

/// An automation rule of `rule_type` (1 creation, 3 time, 4 update).
pub(crate) fn automation_rule(raw: &Value, side: Side, rule_type: u8) -> Parsed<Mapped> {
    let f = Fields::new(raw)?;
    let mut rule = Rule::titled(f.str("name")?);
    rule.active = f.bool_or("active", true)?;
    rule.when = Some(match rule_type {
        ON_CREATE => When::Created,
        HOURLY => When::Hourly,
        _ => When::Updated,
    });
    if rule_type == ON_UPDATE {
        rule.all = events_from(f.opt_array("events")?);
        let performer = f.get("performer").and_then(|p| p.get("type"));
        if let Some(kind) = performer.and_then(Value::as_i64).filter(|t| *t != 3) {
            let who = match kind {
                1 => "an agent",
                2 => "the requester",
                _ => "the system",
            };
            rule.all.push(Condition::Native(freshdesk_native(
                format!("updated by {who}"),
                json!({"performer": {"type": kind}}),
            )));
        }
    }
    condition_sets(f.opt_array("conditions")?, f.get("operator"), &mut rule);
    rule.actions = f
        .opt_array("actions")?
        .iter()
        .map(|a| action_from("field_name", a))
        .collect();
    rule.normalize(false);
    let id = format!("{}{}", rule_prefix(rule_type), f.id()?);
    observed(side, id, RecordKind::Automation, rule, &f)
}

/// Condition sets: the first that all must match is `all`, the first of which any must match
/// is `any` (joined by `and`); further sets, or sets joined by `or`, are one native part each.
fn condition_sets(sets: &[Value], operator: Option<&Value>, rule: &mut Rule) {
    let joined_by_or = operator
        .and_then(Value::as_str)
        .is_some_and(|o| o.to_ascii_lowercase().contains(" or "));
    let (mut all_taken, mut any_taken) = (false, false);
    for set in sets {
        let Some(properties) = set.get("properties").and_then(Value::as_array) else {
            // A bare property (older rules): one condition that must hold.
            rule.all.push(property_from(set));
            continue;
        };
        let any = set.get("match_type").and_then(Value::as_str) == Some("any");
        match (any, all_taken, any_taken) {
            (false, false, _) if !joined_by_or => {
                all_taken = true;
                rule.all.extend(properties.iter().map(property_from));
            }
            (true, _, false) if !joined_by_or => {
                any_taken = true;
                rule.any.extend(properties.iter().map(property_from));
            }
            _ => {
                let name = set.get("name").and_then(Value::as_str).unwrap_or("a set");
                rule.all.push(Condition::Native(freshdesk_native(
                    format!(
                        "condition set {name} ({} match)",
                        if any { "any" } else { "all" }
                    ),
                    json!({"condition_set": set}),
                )));
            }
        }
    }
}

/// An automation rule's body, for a rule `fit` kept.
pub(crate) fn rule_body(rule: &Rule, rule_type: u8) -> Result<Value, String> {
    let list = List::Rules(rule_type);
    let mut body = json!({"name": rule.title, "active": rule.active});
    let mut properties = Vec::new();
    let mut extra_sets = Vec::new();
    let mut changes = Vec::new();
    let mut performer = json!({"type": 3});
    for condition in &rule.all {
        match condition {
            c if is_change(c) => changes.push(c),
            Condition::Native(n) if n.json.get("performer").is_some() => {
                performer = n.json["performer"].clone();
            }
            Condition::Native(n) if n.json.get("condition_set").is_some() => {
                extra_sets.push(n.json["condition_set"].clone());
            }
            Condition::Native(n) if n.json.get("events").is_some() => {
                body["events"] = n.json["events"].clone();
            }
            other => properties.push(property_json(other)?),
        }
    }
    let mut sets = Vec::new();
    if !properties.is_empty() {
        sets.push(
            json!({"name": "condition_set_1", "match_type": "all", "properties": properties}),
        );
    }
    if !rule.any.is_empty() {
        let any = rule
            .any
            .iter()
            .map(property_json)
            .collect::<Result<Vec<_>, _>>()?;
        let name = format!("condition_set_{}", sets.len() + 1);
        sets.push(json!({"name": name, "match_type": "any", "properties": any}));
    }
    let names: Vec<String> = sets
        .iter()
        .filter_map(|s| s.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect();
    sets.extend(extra_sets);
    body["conditions"] = Value::Array(sets);
    if names.len() > 1 {
        body["operator"] = json!(names.join(" and "));
    }
    if rule_type == ON_UPDATE {
        if body.get("events").is_none() {
            body["events"] = events_json(&changes)?;
        }
        body["performer"] = performer;
    }
    body["actions"] = Value::Array(
        rule.actions
            .iter()
            .map(|a| action_json(list, a))
            .collect::<Result<_, _>>()?,
    );
    Ok(body)
}

/// An SLA policy.
pub(crate) fn sla(raw: &Value, side: Side) -> Parsed<Mapped> {
    let f = Fields::new(raw)?;
    let mut rule = Rule::titled(f.str("name")?);
    rule.description = f.opt_str("description")?.filter(|d| !d.trim().is_empty());
    rule.active = f.bool_or("active", true)?;
    let applicable = f.get("applicable_to").cloned().unwrap_or(Value::Null);
    let ids = |key: &str| -> Vec<RuleValue> {
        applicable
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| key_of(v).map(RuleValue::Key))
            .collect()
    };
    let mut add = |field: RuleField, values: Vec<RuleValue>| {
        if !values.is_empty() {
            rule.all.push(Condition::test(
                field,
                Operator::AnyOf,
                RuleValue::List(values),
            ));
        }
    };
    add(RuleField::Group, ids("group_ids"));
    add(RuleField::Organization, ids("company_ids"));
    let sources: Vec<i64> = applicable
        .get("sources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_i64)
        .collect();
    if !ALL_SOURCES.iter().all(|s| sources.contains(s)) {
        let channels = sources
            .iter()
            .filter_map(|s| super::rules::channel_name(*s).map(|c| RuleValue::Text(c.to_owned())))
            .collect();
        add(RuleField::Channel, channels);
    }
    let types = applicable
        .get("ticket_types")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| t.as_str().map(|t| RuleValue::Text(t.to_lowercase())))
        .collect();
    add(RuleField::TicketType, types);
    if let Some(products) = applicable
        .get("product_ids")
        .filter(|p| p.as_array().is_some_and(|a| !a.is_empty()))
    {
        let mut part = freshdesk_native(
            format!("product is any of {products}"),
            json!({"product_ids": products}),
        );
        part.bound =
            Some("names products of the source account, which cutover does not copy".into());
        rule.all.push(Condition::Native(part));
    }
    rule.targets = sla_targets_from(f.get("sla_target"));
    if let Some(escalation) = f
        .get("escalation")
        .filter(|e| e.as_object().is_some_and(|o| !o.is_empty()))
    {
        let mut part = freshdesk_native(
            "escalation e-mails".into(),
            json!({"escalation": escalation}),
        );
        part.bound = Some("e-mails agents of the source account by id".into());
        rule.actions.push(Action::Native(part));
    }
    rule.normalize(true);
    observed(side, f.id()?.to_string(), RecordKind::SlaPolicy, rule, &f)
}

/// An SLA policy's body, for a policy `fit_sla` kept.
pub(crate) fn sla_body(rule: &Rule) -> Result<Value, String> {
    let mut applicable = Map::new();
    for condition in &rule.all {
        match condition {
            Condition::Test { field, value, .. } => {
                let items = match value {
                    RuleValue::List(items) => items.clone(),
                    one => vec![one.clone()],
                };
                let refused = || format!("freshdesk SLA policies cannot apply by {condition}");
                let (key, values): (&str, Vec<Value>) = match field {
                    RuleField::Group | RuleField::Organization => {
                        let ids = items
                            .iter()
                            .map(|v| match v {
                                RuleValue::Key(_) => Ok(json_of(v)),
                                _ => Err(refused()),
                            })
                            .collect::<Result<_, _>>()?;
                        let key = if *field == RuleField::Group {
                            "group_ids"
                        } else {
                            "company_ids"
                        };
                        (key, ids)
                    }
                    RuleField::Channel => (
                        "sources",
                        items
                            .iter()
                            .map(|v| match v {
                                RuleValue::Text(c) => super::rules::source_code(c)
                                    .map(Value::from)
                                    .ok_or_else(refused),
                                _ => Err(refused()),
                            })
                            .collect::<Result<_, _>>()?,
                    ),
                    RuleField::TicketType => (
                        "ticket_types",
                        items
                            .iter()
                            .map(|v| match v {
                                RuleValue::Text(t) if !t.is_empty() => {
                                    Ok(json!(super::rules::type_spelling(t)))
                                }
                                _ => Err(refused()),
                            })
                            .collect::<Result<_, _>>()?,
                    ),
                    _ => return Err(refused()),
                };
                applicable.insert(key.to_owned(), Value::Array(values));
            }
            Condition::Native(n) if n.json.get("product_ids").is_some() => {
                applicable.insert("product_ids".into(), n.json["product_ids"].clone());
            }
            other => return Err(format!("freshdesk SLA policies cannot apply by {other}")),
        }
    }
    if applicable.is_empty() {
        applicable.insert("sources".into(), json!(ALL_SOURCES));
    }
    let mut body = json!({"name": rule.title, "active": rule.active,
        "applicable_to": applicable, "sla_target": sla_target_json(&rule.targets)});
    if let Some(description) = &rule.description {
        body["description"] = json!(description);
    }
    for action in &rule.actions {
        if let Action::Native(n) = action
            && let Some(escalation) = n.json.get("escalation")
        {
            body["escalation"] = escalation.clone();
        }
    }
    Ok(body)
}

/// A ticket form (Enterprise accounts): its title and custom fields (built-in ones are on every
/// form). Read only: Freshdesk's API does not write forms.
pub(crate) fn ticket_form(raw: &Value, side: Side) -> Parsed<Mapped> {
    let f = Fields::new(raw)?;
    let title = match f.opt_str("title")? {
        Some(title) => title,
        None => f.str("name")?,
    };
    let mut rule = Rule::titled(title);
    rule.description = f.opt_str("description")?.filter(|d| !d.trim().is_empty());
    rule.fields = f
        .opt_array("fields")?
        .iter()
        .filter_map(|field| field.get("name").and_then(Value::as_str))
        .filter(|name| name.starts_with("cf_"))
        .map(|name| RuleField::CustomField(name.to_owned()))
        .collect();
    observed(side, f.id()?.to_string(), RecordKind::TicketForm, rule, &f)
}

/// An SLA policy's targets by `sla_target` key: first response and resolution, in minutes.
pub(crate) fn sla_target_json(targets: &[SlaTarget]) -> Value {
    let mut out = serde_json::Map::new();
    for (key, priority) in SLA_PRIORITIES {
        let find = |metric| {
            targets
                .iter()
                .find(|t| t.priority == *priority && t.metric == metric)
        };
        let (Some(respond), Some(resolve)) = (find(Metric::FirstReply), find(Metric::Resolution))
        else {
            continue;
        };
        out.insert(
            (*key).to_owned(),
            json!({"respond_within": respond.minutes * 60, "resolve_within": resolve.minutes * 60,
                "business_hours": respond.business_hours, "escalation_enabled": true}),
        );
    }
    Value::Object(out)
}

/// The targets of an SLA policy's `sla_target`.
pub(crate) fn sla_targets_from(sla_target: Option<&Value>) -> Vec<SlaTarget> {
    let mut targets = Vec::new();
    for (key, priority) in SLA_PRIORITIES {
        let Some(target) = sla_target.and_then(|t| t.get(*key)) else {
            continue;
        };
        let business_hours = target
            .get("business_hours")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        for (field, metric) in [
            ("respond_within", Metric::FirstReply),
            ("resolve_within", Metric::Resolution),
        ] {
            if let Some(seconds) = target.get(field).and_then(Value::as_u64) {
                targets.push(SlaTarget {
                    priority: (*priority).to_owned(),
                    metric,
                    minutes: seconds / 60,
                    business_hours,
                });
            }
        }
    }
    targets
}

/// A canned response's visibility: everyone (0), its author (1), groups (2).
pub(crate) fn visibility_from(raw: &Value) -> Visibility {
    match raw.get("visibility").and_then(Value::as_i64) {
        Some(2) => Visibility::Groups(
            raw.get("group_ids")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(key_of)
                .collect(),
        ),
        Some(1) => {
            let mut part = native(
                FRESHDESK,
                "personal: visible to its author only".into(),
                json!({"visibility": 1}),
            );
            part.bound = Some("belongs to one agent of the source account".into());
            Visibility::Native(part)
        }
        _ => Visibility::Everyone,
    }
}

/// A native part of Freshdesk's (for rule lists' own parts).
pub(crate) fn freshdesk_native(text: String, json: Value) -> Native {
    native(FRESHDESK, text, json)
}
