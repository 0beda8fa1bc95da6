//! Triggers that call webhooks: after a ticket is created or updated through the API (never
//! by the import API, as on Zendesk), each active trigger whose conditions the ticket meets runs
//! its `notification_webhook` actions (`value: [webhook_id, body]`), delivering the body with
//! its placeholders filled to the webhook, signed with the webhook's secret. Only webhooks made
//! for triggers (subscription `conditional_ticket_events`) are called this way, as on Zendesk.
//!
//! Conditions understood: `update_type` (`Create`, `Change`), `status`, `priority`, `type`,
//! `group_id`, `assignee_id`, `current_tags` (`includes`, `not_includes`). A trigger with any
//! other condition does not fire here (the emulator cannot tell whether it would).

use std::sync::Arc;

use serde_json::{Map, Value};

use super::app::App;
use super::events::{ACCOUNT_ID, auth_header, ulid};
use super::json::iso;
use super::model::Ticket;
use super::store::ZendeskState;
use crate::webhooks::{Delivery, HmacSigner};

/// Runs the triggers for ticket `ticket_id` after it was created (`created`) or updated.
pub(crate) fn fire(app: &App, st: &ZendeskState, ticket_id: u64, created: bool) {
    let Some(ticket) = st.tickets.get(&ticket_id).filter(|t| !t.deleted) else {
        return;
    };
    let Some(triggers) = st.config_of("triggers") else {
        return;
    };
    let mut active: Vec<&Map<String, Value>> = triggers
        .values()
        .filter(|t| t.get("active").and_then(Value::as_bool) != Some(false))
        .collect();
    active.sort_by_key(|t| t.get("position").and_then(Value::as_u64).unwrap_or(0));
    for trigger in active {
        if !meets(trigger, ticket, created) {
            continue;
        }
        for action in trigger
            .get("actions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if action.get("field").and_then(Value::as_str) == Some("notification_webhook") {
                call(app, st, ticket, action);
            }
        }
    }
}

fn conditions<'a>(trigger: &'a Map<String, Value>, key: &str) -> Vec<&'a Value> {
    let nested = trigger
        .get("conditions")
        .and_then(|c| c.get(key))
        .and_then(Value::as_array);
    let top = trigger.get(key).and_then(Value::as_array);
    nested.or(top).into_iter().flatten().collect()
}

fn meets(trigger: &Map<String, Value>, ticket: &Ticket, created: bool) -> bool {
    let all = conditions(trigger, "all");
    let any = conditions(trigger, "any");
    if all.is_empty() && any.is_empty() {
        return false;
    }
    let test = |c: &&Value| condition(c, ticket, created).unwrap_or(false);
    all.iter().all(test) && (any.is_empty() || any.iter().any(test))
}

/// Whether `ticket` meets one condition; `None` for a condition the emulator cannot evaluate.
fn condition(c: &Value, t: &Ticket, created: bool) -> Option<bool> {
    let field = c.get("field").and_then(Value::as_str)?;
    let op = c.get("operator").and_then(Value::as_str).unwrap_or("is");
    let value = c
        .get("value")
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
        .unwrap_or_default();
    if field == "current_tags" {
        let wanted: Vec<&str> = value.split_whitespace().collect();
        let has = |w: &&str| t.tags.iter().any(|tag| tag == w);
        return match op {
            "includes" => Some(wanted.iter().any(has)),
            "not_includes" => Some(!wanted.iter().any(has)),
            _ => None,
        };
    }
    let actual = match field {
        "update_type" => if created { "Create" } else { "Change" }.to_owned(),
        "status" => t.status.as_str().to_owned(),
        "priority" => t.priority.map_or("", |p| p.as_str()).to_owned(),
        "type" => t.kind.map_or("", |k| k.as_str()).to_owned(),
        "group_id" => t.group_id.map_or(String::new(), |g| g.to_string()),
        "assignee_id" => t.assignee_id.map_or(String::new(), |a| a.to_string()),
        _ => return None,
    };
    match op {
        "is" => Some(actual.eq_ignore_ascii_case(&value)),
        "is_not" => Some(!actual.eq_ignore_ascii_case(&value)),
        _ => None,
    }
}

/// The placeholders a trigger's webhook body may use, filled for `t`.
fn placeholders(st: &ZendeskState, t: &Ticket) -> Vec<(&'static str, String)> {
    vec![
        ("ticket.id", t.id.to_string()),
        ("ticket.title", t.subject.clone()),
        ("ticket.status", t.status.as_str().to_owned()),
        (
            "ticket.priority",
            t.priority.map_or("", |p| p.as_str()).to_owned(),
        ),
        ("ticket.updated_at_with_timestamp", iso(t.updated_at)),
        ("ticket.created_at_with_timestamp", iso(t.created_at)),
        ("ticket.url", format!("{}/agent/tickets/{}", st.base, t.id)),
        ("ticket.tags", t.tags.join(" ")),
        (
            "ticket.external_id",
            t.external_id.clone().unwrap_or_default(),
        ),
    ]
}

fn render(template: &str, values: &[(&str, String)]) -> String {
    let mut out = template.to_owned();
    for (key, value) in values {
        for pattern in [format!("{{{{{key}}}}}"), format!("{{{{ {key} }}}}")] {
            out = out.replace(&pattern, value);
        }
    }
    out
}

fn call(app: &App, st: &ZendeskState, ticket: &Ticket, action: &Value) {
    let Some(value) = action.get("value").and_then(Value::as_array) else {
        return;
    };
    let Some(webhook_id) = value.first().and_then(Value::as_str) else {
        return;
    };
    let Some(w) = st.webhooks.get(webhook_id) else {
        return;
    };
    let active = w.data.get("status").and_then(Value::as_str) == Some("active");
    let for_triggers = w
        .data
        .get("subscriptions")
        .and_then(Value::as_array)
        .is_some_and(|s| {
            s.iter()
                .any(|x| x.as_str() == Some("conditional_ticket_events"))
        });
    if !active || !for_triggers {
        return;
    }
    let template = value.get(1).and_then(Value::as_str).unwrap_or("{}");
    let body = render(template, &placeholders(st, ticket));
    let invocation_id = ulid();
    let headers = vec![
        (
            "Content-Type".to_owned(),
            "application/json; charset=utf-8".to_owned(),
        ),
        ("User-Agent".to_owned(), "Zendesk Webhook".to_owned()),
        ("X-Zendesk-Account-Id".to_owned(), ACCOUNT_ID.to_string()),
        ("X-Zendesk-Webhook-Id".to_owned(), w.id.clone()),
        (
            "X-Zendesk-Webhook-Invocation-Id".to_owned(),
            invocation_id.clone(),
        ),
    ];
    let mut headers = headers;
    headers.extend(auth_header(w));
    let signer = HmacSigner {
        secret: w.secret.clone(),
        signature_header: "X-Zendesk-Webhook-Signature",
        timestamp_header: "X-Zendesk-Webhook-Signature-Timestamp",
    };
    app.webhooks.dispatch(Delivery {
        webhook_id: w.id.clone(),
        invocation_id,
        event_type: "conditional_ticket_events".to_owned(),
        url: w
            .data
            .get("endpoint")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        method: w
            .data
            .get("http_method")
            .and_then(Value::as_str)
            .unwrap_or("POST")
            .to_owned(),
        headers,
        body: body.into_bytes(),
        signer: Some(Arc::new(signer)),
    });
}
