//! What follows a change: the e-mails Freshdesk would send a customer (listed at
//! `/_sim/notifications`) and the automation rules (on ticket creation, on ticket update, and
//! time-triggered ones run by an hourly pass) whose `trigger_webhook` action calls a webhook with
//! the configured method, URL, headers and templated body. Unsigned, as on Freshdesk; delivered
//! by the shared [`crate::webhooks`] queue.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Value, json};

use super::app::App;
use super::render::{priority_name, status_name};
use super::store::{FreshdeskState, Rec, flag, iso, parse_time, str_of, time_of, u64_of};
use crate::notify::Notification;
use crate::webhooks::Delivery;

/// Rule type of ticket-creation rules (`/automations/1/rules`).
pub(crate) const ON_CREATE: u64 = 1;
/// Rule type of time-triggered rules (run by [`time_pass`]).
pub(crate) const TIME_TRIGGERED: u64 = 3;
/// Rule type of ticket-update rules.
pub(crate) const ON_UPDATE: u64 = 4;

/// Numbers invocations, so their ids never repeat.
static INVOCATIONS: AtomicU64 = AtomicU64::new(1);

/// Sources whose new tickets get the "new ticket created" e-mail when it is on.
const ACKNOWLEDGED_SOURCES: [u64; 3] = [1, 2, 9];

/// Records one e-mail to a ticket's requester (and to each address in `cc`).
pub(crate) fn notify(
    st: &mut FreshdeskState,
    kind: &str,
    ticket_id: u64,
    body: &str,
    cc: &[String],
    now: i64,
) {
    let Some(ticket) = st.tickets.get(&ticket_id) else {
        return;
    };
    let subject = str_of(ticket, "subject").unwrap_or("").to_owned();
    let requester = u64_of(ticket, "requester_id");
    let to = requester
        .and_then(|id| st.contacts.get(&id))
        .and_then(|c| str_of(c, "email"))
        .map(str::to_owned);
    let subject = match kind {
        "ticket_received" => format!("Ticket Received - {subject}"),
        "ticket_resolved" => format!("Ticket Resolved - {subject}"),
        "ticket_closed" => format!("Ticket Closed - {subject}"),
        _ => format!("Re: {subject}"),
    };
    let rule = match kind {
        "ticket_received" => "Requester notification: New Ticket Created",
        "ticket_resolved" => "Requester notification: Agent solves the Ticket",
        "ticket_closed" => "Requester notification: Agent closes the Ticket",
        "public_note" => "Requester notification: Agent adds comment to Ticket",
        "outbound_email" => "Outbound email",
        _ => "Reply to requester",
    };
    let mut recipients: Vec<(Option<u64>, String)> =
        to.map(|t| (requester, t)).into_iter().collect();
    recipients.extend(cc.iter().map(|c| (None, c.clone())));
    for (recipient_id, to) in recipients {
        st.notifications.push(Notification {
            id: 0,
            kind: kind.to_owned(),
            ticket_id: Some(ticket_id),
            recipient_id,
            to,
            subject: subject.clone(),
            body: body.to_owned(),
            created_at: iso(now),
            rule: rule.to_owned(),
        });
    }
}

/// After a ticket is created through the API: the acknowledgement and the creation rules.
pub(crate) fn ticket_created(app: &App, st: &mut FreshdeskState, ticket_id: u64, now: i64) {
    let Some(ticket) = st.tickets.get(&ticket_id) else {
        return;
    };
    let source = u64_of(ticket, "source").unwrap_or(2);
    let text = str_of(ticket, "description_text").unwrap_or("").to_owned();
    if source == 10 {
        notify(st, "outbound_email", ticket_id, &text, &[], now);
    } else if app.email_notifications().new_ticket_created && ACKNOWLEDGED_SOURCES.contains(&source)
    {
        notify(st, "ticket_received", ticket_id, &text, &[], now);
    }
    fire(app, st, ticket_id, ON_CREATE, &[], now);
}

/// After a ticket changes through the API: resolved and closed e-mails (when Admin > Email
/// Notifications has them on and the update did not ask `skip_close_notification`), then the
/// update rules.
/// `changed` names the changed fields (`status`, `priority`, …, `reply_sent`, `note_added`);
/// `skip_close` is the update's `skip_close_notification`.
pub(crate) fn ticket_updated(
    app: &App,
    st: &mut FreshdeskState,
    (ticket_id, skip_close): (u64, bool),
    changed: &[String],
    now: i64,
) {
    if changed.is_empty() {
        return;
    }
    let switches = app.email_notifications();
    if !skip_close && changed.iter().any(|c| c == "status") {
        let status = st.tickets.get(&ticket_id).and_then(|t| u64_of(t, "status"));
        match status {
            Some(4) if switches.agent_solves_ticket => notify(
                st,
                "ticket_resolved",
                ticket_id,
                "Your ticket has been resolved.",
                &[],
                now,
            ),
            Some(5) if switches.agent_closes_ticket => notify(
                st,
                "ticket_closed",
                ticket_id,
                "Your ticket has been closed.",
                &[],
                now,
            ),
            _ => {}
        }
    }
    fire(app, st, ticket_id, ON_UPDATE, changed, now);
}

/// The active rules of one type, in position order.
fn active_rules(st: &FreshdeskState, kind: u64) -> Vec<&Rec> {
    let mut rules: Vec<&Rec> = st
        .rules
        .values()
        .filter(|r| u64_of(r, "_type") == Some(kind) && flag(r, "active"))
        .collect();
    rules.sort_by_key(|r| u64_of(r, "position").unwrap_or(0));
    rules
}

fn fire(app: &App, st: &FreshdeskState, ticket_id: u64, kind: u64, changed: &[String], now: i64) {
    let Some(ticket) = st.tickets.get(&ticket_id) else {
        return;
    };
    for rule in active_rules(st, kind) {
        if kind == ON_UPDATE && !events_match(rule, ticket, changed) {
            continue;
        }
        if !conditions_match(rule, ticket, now) {
            continue;
        }
        run_actions(app, st, rule, ticket, kind, now);
    }
}

/// Runs a matched rule's actions on a ticket: its `trigger_webhook` actions call their webhooks
/// (other actions are stored, not applied).
fn run_actions(app: &App, st: &FreshdeskState, rule: &Rec, ticket: &Rec, kind: u64, now: i64) {
    let rule_id = u64_of(rule, "id").unwrap_or(0);
    let actions = rule.get("actions").and_then(Value::as_array);
    for (n, action) in actions.into_iter().flatten().enumerate() {
        if action.get("field_name").and_then(Value::as_str) != Some("trigger_webhook") {
            continue;
        }
        let delivery = webhook(app, st, ticket, action, rule_id, kind, now, n);
        app.webhooks.dispatch(delivery);
    }
}

/// Tickets whose last update is older than this are left out of the hourly pass (Freshdesk:
/// "processes all recent tickets - tickets updated in the past 30 days").
const RECENT: i64 = 30 * 86_400;

/// The time conditions (`field_name` of a condition property) and the ticket time each counts
/// hours from: a top-level timestamp or one of the ticket's stats.
const TIME_FIELDS: [(&str, &str); 12] = [
    ("hours_since_created", "created_at"),
    ("hours_since_updated", "updated_at"),
    ("hours_since_last_updated", "updated_at"),
    ("hours_since_status_changed", "status_updated_at"),
    ("hours_since_pending", "pending_since"),
    ("hours_since_resolved", "resolved_at"),
    ("hours_since_closed", "closed_at"),
    ("hours_since_reopened", "reopened_at"),
    ("hours_since_requester_responded", "requester_responded_at"),
    ("hours_since_agent_responded", "agent_responded_at"),
    ("hours_since_first_response_due", "fr_due_by"),
    ("hours_since_due", "due_by"),
];

/// The ticket time a time condition counts from, `None` when the condition is not about time;
/// `Some(None)` when the ticket has no such time (the condition then fails).
fn anchor(ticket: &Rec, field: &str) -> Option<Option<i64>> {
    let (_, key) = TIME_FIELDS.iter().find(|(name, _)| *name == field)?;
    let at = match ticket.get(*key) {
        Some(Value::String(_)) => Some(time_of(ticket, key)),
        _ => ticket
            .get("_stats")
            .and_then(|s| s.get(*key))
            .and_then(Value::as_str)
            .and_then(parse_time),
    };
    Some(at)
}

/// The properties of a rule's conditions, flattened.
fn properties(rule: &Rec) -> impl Iterator<Item = &Value> {
    rule.get("conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(
            |set| match set.get("properties").and_then(Value::as_array) {
                Some(props) => props.iter().collect::<Vec<_>>(),
                None => vec![set],
            },
        )
}

/// The window a time-triggered rule fires once in, for one ticket: the times its time
/// conditions count from (a rule without one counts from the last update). A ticket that fired
/// a rule fires it again only when one of these times has moved (it was updated, its status
/// changed, …).
fn window(rule: &Rec, ticket: &Rec) -> Vec<i64> {
    let mut out: Vec<i64> = properties(rule)
        .filter_map(|p| p.get("field_name").and_then(Value::as_str))
        .filter_map(|f| anchor(ticket, f))
        .map(|at| at.unwrap_or(i64::MIN))
        .collect();
    if out.is_empty() {
        out.push(time_of(ticket, "updated_at"));
    }
    out
}

/// Freshdesk's hourly pass of the time-triggered rules at `now`: every active rule, in position
/// order, over the tickets updated in the last 30 days (not trashed, not spam); a rule whose
/// conditions hold runs its actions on the ticket once per window (see [`window`]). Returns
/// how many times a rule fired.
pub(crate) fn time_pass(app: &App, st: &mut FreshdeskState, now: i64) -> usize {
    let rules: Vec<Rec> = active_rules(st, TIME_TRIGGERED)
        .into_iter()
        .cloned()
        .collect();
    if rules.is_empty() {
        return 0;
    }
    let mut fired = Vec::new();
    for ticket in st.tickets.values() {
        if flag(ticket, "_deleted")
            || flag(ticket, "spam")
            || time_of(ticket, "updated_at") < now - RECENT
        {
            continue;
        }
        let ticket_id = u64_of(ticket, "id").unwrap_or(0);
        for rule in &rules {
            let rule_id = u64_of(rule, "id").unwrap_or(0);
            if !conditions_match(rule, ticket, now) {
                continue;
            }
            let window = window(rule, ticket);
            if st.time_fired.get(&(rule_id, ticket_id)) == Some(&window) {
                continue;
            }
            run_actions(app, st, rule, ticket, TIME_TRIGGERED, now);
            fired.push(((rule_id, ticket_id), window));
        }
    }
    let count = fired.len();
    st.time_fired.extend(fired);
    count
}

fn field_name(name: &str) -> &str {
    match name {
        "ticket_type" => "type",
        "group" => "group_id",
        "agent" | "responder" => "responder_id",
        "requester" => "requester_id",
        "note_type" => "note_added",
        other => other,
    }
}

fn field_value(ticket: &Rec, name: &str) -> Value {
    let name = field_name(name);
    if name.starts_with("cf_") {
        return ticket
            .get("custom_fields")
            .and_then(|c| c.get(name))
            .cloned()
            .unwrap_or(Value::Null);
    }
    ticket.get(name).cloned().unwrap_or(Value::Null)
}

fn loose_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::Number(n)) | (Value::Number(n), Value::String(x)) => {
            x.trim() == n.to_string()
        }
        (Value::String(x), Value::String(y)) => x.eq_ignore_ascii_case(y),
        _ => a == b,
    }
}

fn any_eq(actual: &Value, wanted: &Value) -> bool {
    let wanted: Vec<&Value> = match wanted {
        Value::Array(list) => list.iter().collect(),
        other => vec![other],
    };
    match actual {
        Value::Array(items) => items.iter().any(|i| wanted.iter().any(|w| loose_eq(i, w))),
        other => wanted.iter().any(|w| loose_eq(other, w)),
    }
}

/// Whole hours from `at` to `now` compared with a time condition's `greater_than`, `less_than`
/// or `is` (the default) and its value (a number or a numeric string).
fn hours_match(at: Option<i64>, now: i64, prop: &Value) -> bool {
    let Some(at) = at else { return false };
    let hours = (now - at).div_euclid(3600);
    let wanted = match prop.get("value") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    let Some(wanted) = wanted else { return false };
    match prop.get("operator").and_then(Value::as_str).unwrap_or("is") {
        "greater_than" => hours > wanted,
        "less_than" => hours < wanted,
        _ => hours == wanted,
    }
}

fn property_matches(ticket: &Rec, prop: &Value, now: i64) -> bool {
    let Some(field) = prop.get("field_name").and_then(Value::as_str) else {
        return true;
    };
    if let Some(at) = anchor(ticket, field) {
        return hours_match(at, now, prop);
    }
    let actual = field_value(ticket, field);
    let wanted = prop.get("value").cloned().unwrap_or(Value::Null);
    let text = |v: &Value| match v {
        Value::String(s) => s.to_lowercase(),
        other => other.to_string().to_lowercase(),
    };
    match prop.get("operator").and_then(Value::as_str).unwrap_or("is") {
        "is_not" | "not_in" => !any_eq(&actual, &wanted),
        "contains" => text(&actual).contains(&text(&wanted)),
        "does_not_contain" => !text(&actual).contains(&text(&wanted)),
        _ => any_eq(&actual, &wanted),
    }
}

fn conditions_match(rule: &Rec, ticket: &Rec, now: i64) -> bool {
    let Some(sets) = rule.get("conditions").and_then(Value::as_array) else {
        return true;
    };
    sets.iter().all(
        |set| match set.get("properties").and_then(Value::as_array) {
            Some(props) => {
                if set.get("match_type").and_then(Value::as_str) == Some("any") {
                    props.is_empty() || props.iter().any(|p| property_matches(ticket, p, now))
                } else {
                    props.iter().all(|p| property_matches(ticket, p, now))
                }
            }
            None => property_matches(ticket, set, now),
        },
    )
}

fn events_match(rule: &Rec, ticket: &Rec, changed: &[String]) -> bool {
    let Some(events) = rule
        .get("events")
        .and_then(Value::as_array)
        .filter(|e| !e.is_empty())
    else {
        return true;
    };
    events.iter().any(|event| {
        let Some(name) = event.get("field_name").and_then(Value::as_str) else {
            return false;
        };
        let name = field_name(name);
        if !changed.iter().any(|c| c == name) {
            return false;
        }
        match event.get("to") {
            None => true,
            Some(Value::String(s)) if s == "--" => true,
            Some(to) => any_eq(&field_value(ticket, name), to),
        }
    })
}

/// Ticket placeholders (`{{ticket.id}}`, …) and their values.
fn placeholders(app: &App, st: &FreshdeskState, ticket: &Rec) -> Vec<(String, String)> {
    let id = u64_of(ticket, "id").unwrap_or(0);
    let requester = u64_of(ticket, "requester_id").and_then(|r| st.contacts.get(&r));
    let agent = u64_of(ticket, "responder_id").and_then(|r| st.contacts.get(&r));
    let group = u64_of(ticket, "group_id").and_then(|g| st.groups.get(&g));
    let s =
        |rec: Option<&Rec>, key: &str| rec.and_then(|r| str_of(r, key)).unwrap_or("").to_owned();
    let tags = ticket
        .get("tags")
        .and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    let latest = st
        .conversations_of(id)
        .iter()
        .rev()
        .filter_map(|c| st.conversations.get(c))
        .find(|c| !flag(c, "private"))
        .and_then(|c| str_of(c, "body_text"))
        .unwrap_or("")
        .to_owned();
    let mut out = vec![
        ("ticket.id".to_owned(), id.to_string()),
        ("ticket.subject".to_owned(), s(Some(ticket), "subject")),
        (
            "ticket.description".to_owned(),
            s(Some(ticket), "description"),
        ),
        (
            "ticket.description_text".to_owned(),
            s(Some(ticket), "description_text"),
        ),
        (
            "ticket.url".to_owned(),
            format!("{}/a/tickets/{id}", app.base),
        ),
        (
            "ticket.portal_url".to_owned(),
            format!("{}/support/tickets/{id}", app.base),
        ),
        (
            "ticket.status".to_owned(),
            status_name(u64_of(ticket, "status").unwrap_or(2)).to_owned(),
        ),
        (
            "ticket.priority".to_owned(),
            priority_name(u64_of(ticket, "priority").unwrap_or(1)).to_owned(),
        ),
        (
            "ticket.source".to_owned(),
            u64_of(ticket, "source").unwrap_or(2).to_string(),
        ),
        ("ticket.ticket_type".to_owned(), s(Some(ticket), "type")),
        ("ticket.tags".to_owned(), tags),
        (
            "ticket.requester.id".to_owned(),
            u64_of(ticket, "requester_id").unwrap_or(0).to_string(),
        ),
        ("ticket.requester.name".to_owned(), s(requester, "name")),
        ("ticket.requester.email".to_owned(), s(requester, "email")),
        ("ticket.agent.name".to_owned(), s(agent, "name")),
        ("ticket.agent.email".to_owned(), s(agent, "email")),
        ("ticket.group.name".to_owned(), s(group, "name")),
        ("ticket.latest_public_comment".to_owned(), latest),
        (
            "ticket.created_at".to_owned(),
            s(Some(ticket), "created_at"),
        ),
        (
            "ticket.updated_at".to_owned(),
            s(Some(ticket), "updated_at"),
        ),
    ];
    if let Some(Value::Object(custom)) = ticket.get("custom_fields") {
        for (k, v) in custom {
            let v = v.as_str().map_or_else(
                || {
                    if v.is_null() {
                        String::new()
                    } else {
                        v.to_string()
                    }
                },
                str::to_owned,
            );
            out.push((format!("ticket.{k}"), v));
        }
    }
    out
}

/// Replaces `{{ticket.…}}` placeholders; `escape` JSON-escapes the values.
fn render_template(template: &str, values: &[(String, String)], escape: bool) -> String {
    let mut out = template.to_owned();
    for (key, value) in values {
        for pattern in [format!("{{{{{key}}}}}"), format!("{{{{ {key} }}}}")] {
            if out.contains(&pattern) {
                let v = if escape {
                    let quoted = Value::String(value.clone()).to_string();
                    quoted[1..quoted.len() - 1].to_owned()
                } else {
                    value.clone()
                };
                out = out.replace(&pattern, &v);
            }
        }
    }
    out
}

fn render_value(v: &Value, values: &[(String, String)]) -> Value {
    match v {
        Value::String(s) => Value::String(render_template(s, values, false)),
        Value::Array(list) => Value::Array(list.iter().map(|x| render_value(x, values)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, x)| (k.clone(), render_value(x, values)))
                .collect::<Map<String, Value>>(),
        ),
        other => other.clone(),
    }
}

#[allow(
    clippy::too_many_arguments,
    reason = "one invocation names all of these"
)]
fn webhook(
    app: &App,
    st: &FreshdeskState,
    ticket: &Rec,
    action: &Value,
    rule_id: u64,
    kind: u64,
    now: i64,
    n: usize,
) -> Delivery {
    let values = placeholders(app, st, ticket);
    let json_body = action
        .get("content_type")
        .and_then(Value::as_str)
        .is_none_or(|c| c.eq_ignore_ascii_case("json"));
    let body = match action.get("content") {
        None | Some(Value::Null) => json!({"ticket_id": u64_of(ticket, "id")}).to_string(),
        Some(Value::String(s)) => render_template(s, &values, json_body),
        Some(other) => render_value(other, &values).to_string(),
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    headers.push((
        "Content-Type".to_owned(),
        if json_body {
            "application/json"
        } else {
            "application/x-www-form-urlencoded"
        }
        .to_owned(),
    ));
    if let Some(Value::Object(custom)) = action.get("custom_headers") {
        for (k, v) in custom {
            let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            headers.push((k.clone(), render_template(&v, &values, false)));
        }
    }
    let url = action.get("url").and_then(Value::as_str).unwrap_or("");
    Delivery {
        webhook_id: rule_id.to_string(),
        invocation_id: format!(
            "{rule_id}-{}-{now}-{n}-{}",
            u64_of(ticket, "id").unwrap_or(0),
            INVOCATIONS.fetch_add(1, Ordering::Relaxed)
        ),
        event_type: match kind {
            ON_CREATE => "ticket_created",
            TIME_TRIGGERED => "time_triggered",
            _ => "ticket_updated",
        }
        .to_owned(),
        url: render_template(url, &values, false),
        method: action
            .get("request_type")
            .and_then(Value::as_str)
            .unwrap_or("POST")
            .to_ascii_uppercase(),
        headers,
        body: body.into_bytes(),
        signer: None,
    }
}
