//! What Zendesk checks in the business rules it is sent (macros, triggers, automations, views,
//! SLA policies), and a view's layout: written as `output` (column ids), shown as `execution`
//! (columns with titles). Every rule can be created switched off (`"active": false`); SLA policies
//! have no switch and keep none.

use serde_json::{Map, Value, json};

use super::errors::{ApiError, FieldError};

/// The hours-since fields an automation tests, one of which it must (Zendesk refuses an
/// automation that would run on every ticket every hour).
const TIME_FIELDS: &[&str] = &[
    "NEW",
    "OPEN",
    "PENDING",
    "HOLD",
    "SOLVED",
    "CLOSED",
    "assigned_at",
    "updated_at",
    "requester_updated_at",
    "assignee_updated_at",
    "due_date",
    "until_due_date",
];

/// SLA policy metrics and priorities Zendesk knows.
const METRICS: &[&str] = &[
    "first_reply_time",
    "next_reply_time",
    "periodic_update_time",
    "pausable_update_time",
    "requester_wait_time",
    "agent_work_time",
];
const PRIORITIES: &[&str] = &["low", "normal", "high", "urgent"];

fn blank(field: &str, title: &str) -> FieldError {
    FieldError::new(field, format!("{title}: cannot be blank"), "BlankValue")
}

/// The request's conditions: `all` and `any` at the top (as written) or under `conditions`.
fn conditions<'a>(input: &'a Map<String, Value>, key: &str) -> Vec<&'a Value> {
    input
        .get(key)
        .or_else(|| input.get("conditions").and_then(|c| c.get(key)))
        .and_then(Value::as_array)
        .map(|list| list.iter().collect())
        .unwrap_or_default()
}

fn condition_shape(condition: &Value, errors: &mut Vec<FieldError>) {
    let ok = condition.get("field").and_then(Value::as_str).is_some()
        && condition.get("operator").and_then(Value::as_str).is_some();
    if !ok {
        errors.push(FieldError::new(
            "conditions",
            "Conditions: each needs a field and an operator",
            "InvalidValue",
        ));
    }
}

/// Checks a rule of collection `plural` as created (`creating`) or updated: 422 RecordInvalid
/// naming each field at fault.
pub(crate) fn check(
    plural: &str,
    input: &Map<String, Value>,
    creating: bool,
) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    let has_conditions = ["all", "any", "conditions"]
        .iter()
        .any(|k| input.contains_key(*k));
    if matches!(plural, "macros" | "triggers" | "automations")
        && (creating || input.contains_key("actions"))
    {
        match input.get("actions").and_then(Value::as_array) {
            Some(actions) if !actions.is_empty() => {
                if actions
                    .iter()
                    .any(|a| a.get("field").and_then(Value::as_str).is_none())
                {
                    errors.push(FieldError::new(
                        "actions",
                        "Actions: each needs a field",
                        "InvalidValue",
                    ));
                }
            }
            _ => errors.push(blank("actions", "Actions")),
        }
    }
    if matches!(plural, "triggers" | "automations" | "views") && (creating || has_conditions) {
        let all = conditions(input, "all");
        let any = conditions(input, "any");
        if all.is_empty() && any.is_empty() {
            errors.push(blank("conditions", "Conditions"));
        }
        for condition in all.iter().chain(&any) {
            condition_shape(condition, &mut errors);
        }
        let timed = all.iter().any(|c| {
            c.get("field")
                .and_then(Value::as_str)
                .is_some_and(|f| TIME_FIELDS.contains(&f))
        });
        if plural == "automations" && !timed {
            errors.push(FieldError::new(
                "base",
                "Automations must have a time based condition",
                "InvalidValue",
            ));
        }
    }
    if plural == "sla_policies" {
        check_sla(input, creating, &mut errors);
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(errors))
    }
}

fn check_sla(input: &Map<String, Value>, creating: bool, errors: &mut Vec<FieldError>) {
    if creating && !input.get("filter").is_some_and(Value::is_object) {
        errors.push(blank("filter", "Filter"));
    }
    if let Some(filter) = input.get("filter") {
        for key in ["all", "any"] {
            for condition in filter
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                condition_shape(condition, errors);
            }
        }
    }
    for metric in input
        .get("policy_metrics")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let known = |key: &str, list: &[&str]| {
            metric
                .get(key)
                .and_then(Value::as_str)
                .is_some_and(|v| list.contains(&v))
        };
        let target = metric
            .get("target")
            .and_then(Value::as_u64)
            .is_some_and(|t| t > 0);
        if !known("priority", PRIORITIES) || !known("metric", METRICS) || !target {
            errors.push(FieldError::new(
                "policy_metrics",
                format!("Policy metrics: {metric} is not a valid metric target"),
                "InvalidValue",
            ));
        }
    }
}

/// A view's `execution` (as shown) from the `output` it was written with: its columns with
/// titles (a custom field's by its title among `fields`), grouping and sorting.
pub(crate) fn execution(output: &Value, fields: &[(u64, String)]) -> Value {
    let title = |id: &Value| -> String {
        match id {
            Value::Number(n) => n
                .as_u64()
                .and_then(|n| fields.iter().find(|(f, _)| *f == n))
                .map_or_else(|| n.to_string(), |(_, t)| t.clone()),
            Value::String(s) => match s.as_str() {
                "created" => "Requested".to_owned(),
                "nice_id" | "ticket_id" => "ID".to_owned(),
                other => {
                    let mut chars = other.replace('_', " ").chars().collect::<Vec<_>>();
                    if let Some(first) = chars.first_mut() {
                        *first = first.to_ascii_uppercase();
                    }
                    chars.into_iter().collect()
                }
            },
            other => other.to_string(),
        }
    };
    let column =
        |id: &Value| json!({"id": id, "title": title(id), "filterable": true, "sortable": true});
    let columns: Vec<Value> = output
        .get("columns")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(column)
        .collect();
    let pick = |key: &str| output.get(key).cloned().unwrap_or(Value::Null);
    let group_by = pick("group_by");
    let sort_by = pick("sort_by");
    json!({
        "columns": columns,
        "fields": columns,
        "custom_fields": [],
        "group_by": group_by,
        "group_order": output.get("group_order").cloned().unwrap_or(json!("desc")),
        "group": if group_by.is_null() { Value::Null } else { column(&group_by) },
        "sort_by": sort_by,
        "sort_order": output.get("sort_order").cloned().unwrap_or(json!("desc")),
        "sort": if sort_by.is_null() { Value::Null } else { column(&sort_by) },
    })
}
