//! Zendesk's rule lists (macros, triggers, automations, views, SLA policies, ticket forms) read
//! into the canonical rule form and written back: titles, switches, restrictions, a view's
//! layout, an SLA policy's metrics, a form's fields. Conditions and actions are `rules.rs`'s.

use std::collections::{BTreeSet, HashSet};

use cutover_model::records::Record;
use cutover_model::rules::{Action, Metric, Native, Rule, RuleField, SlaTarget, Visibility};
use cutover_model::{Observed, PlatformId, PlatformKind, RecordKind, Side};
use serde_json::{Map, Value, json};

use super::rules::{List, METRICS, action_json, actions_from, conditions_from, conditions_json};
use crate::fields::{Fields, Mapped, Parsed, Problem};
use crate::rules::{key_of, native, plain};

const ZENDESK: PlatformKind = PlatformKind::Zendesk;

impl List {
    /// The list read as the `seq`-th of its kind, and the prefix of its ids (a routing rule is a
    /// trigger or an automation: `trigger:12`, `automation:7`).
    pub(crate) fn id_prefix(self) -> &'static str {
        match self {
            List::Triggers => "trigger:",
            List::Automations => "automation:",
            _ => "",
        }
    }

    /// The key of a record's title.
    pub(crate) fn title_key(self) -> &'static str {
        match self {
            List::TicketForms => "name",
            _ => "title",
        }
    }

    /// The JSON key of the list in a list answer.
    pub(crate) fn list_key(self) -> &'static str {
        match self {
            List::SlaPolicies => "sla_policies",
            List::TicketForms => "ticket_forms",
            other => other.path().0,
        }
    }

    /// Whether the list pages with a cursor (SLA policies and forms come whole).
    pub(crate) fn paged(self) -> bool {
        !matches!(self, List::SlaPolicies | List::TicketForms)
    }

    fn kind(self) -> RecordKind {
        match self {
            List::Macros => RecordKind::Macro,
            List::Triggers | List::Automations => RecordKind::Automation,
            List::SlaPolicies => RecordKind::SlaPolicy,
            List::Views => RecordKind::View,
            List::TicketForms => RecordKind::TicketForm,
        }
    }
}

/// A rule record as read from `list`; `system_fields` are the account's built-in ticket field ids
/// (a form lists them with its custom fields).
pub(crate) fn observed(
    raw: &Value,
    side: Side,
    list: List,
    system_fields: &HashSet<u64>,
) -> Parsed<Mapped> {
    let f = Fields::new(raw)?;
    let id = f.id()?;
    let id = PlatformId::parse(format!("{}{id}", list.id_prefix()))
        .map_err(|e| Problem::field("id", e.to_string()))?;
    let rule = rule_from(list, raw, system_fields)?;
    let record =
        Record::of_rule(list.kind(), rule).ok_or_else(|| Problem::record("not a rule kind"))?;
    Ok(Mapped::Record(Observed {
        side,
        id,
        updated_at: f.opt_time("updated_at")?,
        record,
        origin: None,
    }))
}

/// The canonical rule of a record of `list`.
pub(crate) fn rule_from(list: List, raw: &Value, system_fields: &HashSet<u64>) -> Parsed<Rule> {
    let f = Fields::new(raw)?;
    let mut rule = Rule::titled(f.str(list.title_key())?);
    rule.description = f.opt_str("description")?.filter(|d| !d.trim().is_empty());
    rule.active = f.bool_or("active", true)?;
    let actions = f.opt_array("actions")?;
    match list {
        List::Macros => {
            rule.actions = actions_from(actions);
            rule.visible_to = visibility(f.get("restriction"));
        }
        List::Triggers | List::Automations => {
            conditions_from(list, f.get("conditions"), &mut rule);
            rule.actions = actions_from(actions);
        }
        List::Views => {
            conditions_from(list, f.get("conditions"), &mut rule);
            rule.visible_to = visibility(f.get("restriction"));
            if let Some(execution) = f.get("execution").filter(|e| e.is_object()) {
                rule.actions.push(Action::Native(layout(execution)));
            }
        }
        List::SlaPolicies => {
            conditions_from(list, f.get("filter"), &mut rule);
            for (idx, metric) in f.opt_array("policy_metrics")?.iter().enumerate() {
                match target(metric) {
                    Some(target) => rule.targets.push(target),
                    None => rule.actions.push(Action::Native(native(
                        ZENDESK,
                        format!("policy metric {}: {}", idx + 1, metric),
                        json!({"policy_metric": metric}),
                    ))),
                }
            }
        }
        List::TicketForms => {
            for id in f.id_list("ticket_field_ids")? {
                let system = id
                    .as_str()
                    .parse::<u64>()
                    .is_ok_and(|n| system_fields.contains(&n));
                if !system {
                    rule.fields.push(RuleField::CustomField(id.to_string()));
                }
            }
            for key in ["agent_conditions", "end_user_conditions"] {
                let conditions = f.opt_array(key)?;
                if !conditions.is_empty() {
                    let mut part = native(
                        ZENDESK,
                        format!("{} conditional fields", key.replace('_', " ")),
                        json!({ key: conditions }),
                    );
                    part.bound =
                        Some("names fields and options by the source account's ids".to_owned());
                    rule.actions.push(Action::Native(part));
                }
            }
        }
    }
    rule.normalize(list == List::SlaPolicies);
    Ok(rule)
}

/// Who may use a macro or a view.
fn visibility(restriction: Option<&Value>) -> Visibility {
    let Some(restriction) = restriction.filter(|r| r.is_object()) else {
        return Visibility::Everyone;
    };
    if restriction.get("type").and_then(Value::as_str) == Some("Group") {
        let mut groups: BTreeSet<PlatformId> = restriction
            .get("ids")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(key_of)
            .collect();
        groups.extend(restriction.get("id").and_then(key_of));
        if !groups.is_empty() {
            return Visibility::Groups(groups);
        }
    }
    let mut part = native(
        ZENDESK,
        format!(
            "restricted to {} {}",
            restriction.get("type").map(plain).unwrap_or_default(),
            restriction.get("id").map(plain).unwrap_or_default()
        ),
        restriction.clone(),
    );
    part.bound = Some("is restricted to one agent of the source account".into());
    Visibility::Native(part)
}

/// A view's layout (columns, grouping, sorting) as a native part, in the shape a view is written
/// with (`output`); bound to the source account when a column names a custom field by id.
fn layout(execution: &Value) -> Native {
    let output = view_output(execution);
    let columns: Vec<String> = output["columns"]
        .as_array()
        .into_iter()
        .flatten()
        .map(plain)
        .collect();
    let by_id = |v: &Value| v.is_number() || v.as_str().is_some_and(|s| s.parse::<u64>().is_ok());
    let custom = output["columns"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(output.get("group_by"))
        .chain(output.get("sort_by"))
        .any(by_id);
    let mut part = native(
        ZENDESK,
        format!("layout: columns {}", columns.join(", ")),
        json!({ "output": output }),
    );
    if custom {
        part.bound = Some("its columns name custom fields by the source account's ids".into());
    }
    part
}

/// A view's `execution` (as read) in the shape of its `output` (as written): column ids, and the
/// grouping and sorting that are set.
pub(crate) fn view_output(execution: &Value) -> Value {
    let columns: Vec<Value> = execution
        .get("columns")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|column| column.get("id").cloned())
        .collect();
    let mut output = json!({ "columns": columns });
    for key in ["group_by", "group_order", "sort_by", "sort_order"] {
        if let Some(value) = execution.get(key).filter(|v| !v.is_null()) {
            output[key] = value.clone();
        }
    }
    output
}

fn target(metric: &Value) -> Option<SlaTarget> {
    let name = metric.get("metric")?.as_str()?;
    let (_, canonical) = METRICS.iter().find(|(n, _)| *n == name)?;
    Some(SlaTarget {
        priority: metric.get("priority")?.as_str()?.to_owned(),
        metric: *canonical,
        minutes: metric.get("target")?.as_u64()?,
        business_hours: metric
            .get("business_hours")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

fn metric_name(metric: Metric) -> &'static str {
    METRICS
        .iter()
        .find(|(_, m)| *m == metric)
        .map_or("first_reply_time", |(n, _)| n)
}

/// The request body of a rule written to `list` (`{envelope: {…}}`), or why it cannot be; a
/// form lists `system_fields` (the target's built-in field ids) before its custom fields.
pub(crate) fn body(list: List, rule: &Rule, system_fields: &[u64]) -> Result<Value, String> {
    let mut body = Map::new();
    body.insert(list.title_key().into(), json!(rule.title));
    if list != List::SlaPolicies {
        body.insert("active".into(), json!(rule.active));
    }
    if let Some(description) = &rule.description {
        body.insert("description".into(), json!(description));
    }
    let mut actions = Vec::new();
    let mut output = None;
    for action in &rule.actions {
        match action {
            Action::Native(n) if list == List::Views && n.json.get("output").is_some() => {
                output = n.json.get("output").cloned();
            }
            other => actions.extend(action_json(list, other)?),
        }
    }
    match list {
        List::Macros => {
            body.insert("actions".into(), Value::Array(actions));
            body.insert("restriction".into(), restriction(&rule.visible_to));
        }
        List::Triggers | List::Automations => {
            body.insert("conditions".into(), conditions_json(list, rule)?);
            body.insert("actions".into(), Value::Array(actions));
        }
        List::Views => {
            let conditions = conditions_json(list, rule)?;
            body.insert("all".into(), conditions["all"].clone());
            body.insert("any".into(), conditions["any"].clone());
            body.insert("restriction".into(), restriction(&rule.visible_to));
            if let Some(output) = output {
                body.insert("output".into(), output);
            }
        }
        List::SlaPolicies => {
            body.insert("filter".into(), conditions_json(list, rule)?);
            let metrics: Vec<Value> = rule
                .targets
                .iter()
                .map(|t| {
                    json!({"priority": t.priority, "metric": metric_name(t.metric),
                        "target": t.minutes, "business_hours": t.business_hours})
                })
                .collect();
            body.insert("policy_metrics".into(), Value::Array(metrics));
        }
        List::TicketForms => {
            let mut ids: Vec<Value> = system_fields.iter().map(|id| json!(id)).collect();
            for field in &rule.fields {
                if let RuleField::CustomField(key) = field
                    && let Ok(id) = key.parse::<u64>()
                {
                    ids.push(json!(id));
                }
            }
            body.insert("ticket_field_ids".into(), Value::Array(ids));
        }
    }
    Ok(json!({ list.path().1: body }))
}

fn restriction(visible_to: &Visibility) -> Value {
    match visible_to {
        Visibility::Groups(groups) => {
            let ids: Vec<Value> = groups
                .iter()
                .map(|g| {
                    g.as_str()
                        .parse::<u64>()
                        .map_or_else(|_| json!(g.as_str()), |n| json!(n))
                })
                .collect();
            json!({"type": "Group", "id": ids.first(), "ids": ids})
        }
        Visibility::Native(native) if native.platform == ZENDESK => native.json.clone(),
        _ => Value::Null,
    }
}
