//! Triggers: after a ticket is created or updated through the API (never by the import API, as
//! on Zendesk), each active trigger whose conditions the change meets runs its actions, in
//! position order: `notification_user` (`value: [recipient, subject, body]`) e-mails the
//! recipient (recorded in the notification log, listed at `/_sim/notifications`, and in the
//! audit), and `notification_webhook` (`value: [webhook_id, body]`) delivers the body with its
//! placeholders filled to the webhook, signed with the webhook's secret. Only webhooks made for
//! triggers (subscription `conditional_ticket_events`) are called this way, as on Zendesk.
//!
//! So, as on Zendesk, which e-mails a customer gets is the account's triggers' doing: a new
//! account's default triggers e-mail the requester of a request received, of a public comment
//! and of a solved request, and an account (or cutover) can switch them off or narrow them.
//!
//! Conditions understood: `update_type` (`Create`, `Change`); `status` (`is`, `is_not`,
//! `less_than`, `greater_than`, `changed`, `not_changed`, `value` (changed to), `not_value`,
//! `value_previous` (changed from), `not_value_previous`); `priority`, `type`, `group_id`
//! (`is`, `is_not`); `assignee_id` (those and `changed`, `not_changed`, with the values
//! `current_user` and `requester_id`); `current_tags` (`includes`, `not_includes`);
//! `comment_is_public` (`true`/`public`: a public comment was added; `false`/`private`: a private
//! one; `not_relevant`: any); `ticket_is_public`; `current_user` (`is`, `is_not` a user id: the
//! user making the change, the token's owner for an API write); `role` (the current user's:
//! `end_user`, `agent`, `admin`); `via_id` (the channel the change came by: 5 for the API, the
//! create's `via_id` for a new ticket). A trigger with any other condition does not fire here
//! (the emulator cannot tell whether it would).

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::app::App;
use super::events::{ACCOUNT_ID, auth_header, ulid};
use super::json::iso;
use super::model::{Role, Status, Ticket};
use super::store::ZendeskState;
use crate::notify::Notification;
use crate::webhooks::{Delivery, HmacSigner};

/// One change to a ticket, as the triggers see it.
#[derive(Debug, Clone)]
pub(crate) struct Update {
    /// The ticket.
    pub(crate) ticket_id: u64,
    /// Made by a create (else an update).
    pub(crate) created: bool,
    /// The user making the change (the token's owner for the API).
    pub(crate) current_user: u64,
    /// That user's role.
    pub(crate) role: Role,
    /// The channel the change came by (`via.channel`).
    pub(crate) via: &'static str,
    /// Each comment added now: its author, and whether it is public.
    pub(crate) comments: Vec<(u64, bool)>,
    /// `(field, previous, current)` of each field changed.
    pub(crate) changes: Vec<(String, Value, Value)>,
}

impl Update {
    fn changed(&self, field: &str) -> Option<(&Value, &Value)> {
        self.changes
            .iter()
            .find(|(f, _, _)| f == field)
            .map(|(_, before, after)| (before, after))
    }
}

/// The active triggers whose conditions `u` meets, in position order.
fn matching(st: &ZendeskState, ticket: &Ticket, u: &Update) -> Vec<Map<String, Value>> {
    let Some(triggers) = st.config_of("triggers") else {
        return Vec::new();
    };
    let mut active: Vec<&Map<String, Value>> = triggers
        .values()
        .filter(|t| t.get("active").and_then(Value::as_bool) != Some(false))
        .collect();
    active.sort_by_key(|t| t.get("position").and_then(Value::as_u64).unwrap_or(0));
    active
        .into_iter()
        .filter(|t| meets(t, ticket, u))
        .cloned()
        .collect()
}

fn actions<'a>(trigger: &'a Map<String, Value>, field: &'a str) -> impl Iterator<Item = &'a Value> {
    trigger
        .get("actions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(move |a| a.get("field").and_then(Value::as_str) == Some(field))
}

/// Runs the `notification_user` actions of the triggers `u` meets on `ticket` (not yet stored):
/// records each e-mail and answers the audit's `Notification` events.
pub(crate) fn notify(st: &mut ZendeskState, ticket: &Ticket, u: &Update, now: i64) -> Vec<Value> {
    let mut events = Vec::new();
    for trigger in matching(st, ticket, u) {
        let title = trigger
            .get("title")
            .and_then(Value::as_str)
            .unwrap_or("trigger")
            .to_owned();
        let trigger_id = trigger.get("id").and_then(Value::as_u64).unwrap_or(0);
        for action in actions(&trigger, "notification_user") {
            let Some(value) = action.get("value").and_then(Value::as_array) else {
                continue;
            };
            let text = |n: usize| value.get(n).and_then(Value::as_str).unwrap_or("");
            let recipients = recipients(st, ticket, u, value.first());
            if recipients.is_empty() {
                continue;
            }
            let fill = placeholders(st, ticket, u);
            let subject = render(text(1), &fill);
            let body = render(text(2), &fill);
            for (id, to) in &recipients {
                st.notifications.push(Notification {
                    id: 0,
                    kind: kind_of(&title).to_owned(),
                    ticket_id: Some(ticket.id),
                    recipient_id: Some(*id),
                    to: to.clone(),
                    subject: subject.clone(),
                    body: body.clone(),
                    created_at: iso(now),
                    rule: title.clone(),
                });
            }
            let id = st.ids.next_id();
            let ids: Vec<u64> = recipients.iter().map(|(id, _)| *id).collect();
            events.push(json!({
                "body": body, "id": id, "recipients": ids, "subject": subject, "type": "Notification",
                "via": {"channel": "rule", "source": {"from": {"deleted": false, "id": trigger_id, "revision_id": 1, "title": title}, "rel": "trigger"}},
            }));
        }
    }
    events
}

/// The kind a notification is listed with: what the default trigger that sent it is for.
fn kind_of(title: &str) -> &'static str {
    match title {
        "Notify requester and CCs of received request" => "ticket_received",
        "Notify requester of new proactive ticket" => "ticket_created_for_requester",
        "Notify requester and CCs of comment update" => "comment_added",
        "Notify requester of solved request" => "ticket_solved",
        "Notify assignee of assignment" => "assignment",
        "Notify assignee of comment update" | "Notify assignee of reopened ticket" => {
            "assignee_update"
        }
        "Notify all agents of received request" => "agents_ticket_received",
        _ => "trigger_notification",
    }
}

/// The users (with an e-mail address) a `notification_user` recipient names, but the one who
/// made the change.
fn recipients(
    st: &ZendeskState,
    t: &Ticket,
    u: &Update,
    recipient: Option<&Value>,
) -> Vec<(u64, String)> {
    let ids: Vec<u64> = match recipient {
        Some(Value::String(s)) => match s.as_str() {
            "requester_id" => vec![t.requester_id],
            "requester_and_ccs" => {
                let mut ids = vec![t.requester_id];
                ids.extend(t.email_cc_ids.iter().chain(&t.collaborator_ids).copied());
                ids
            }
            "ccs" => t
                .email_cc_ids
                .iter()
                .chain(&t.collaborator_ids)
                .copied()
                .collect(),
            "assignee_id" => t.assignee_id.into_iter().collect(),
            "current_user" => vec![u.current_user],
            "all_agents" => st
                .users
                .values()
                .filter(|x| x.role != Role::EndUser && x.active)
                .map(|x| x.id)
                .collect(),
            other => other.parse().into_iter().collect(),
        },
        Some(Value::Number(n)) => n.as_u64().into_iter().collect(),
        _ => Vec::new(),
    };
    let mut out: Vec<(u64, String)> = Vec::new();
    // Nobody is e-mailed their own update: the current user, or the author of the comment.
    let own = |id: u64| id == u.current_user || u.comments.iter().any(|(a, _)| *a == id);
    for id in ids.into_iter().filter(|id| !own(*id)) {
        let Some(email) = st.users.get(&id).and_then(|x| x.email.clone()) else {
            continue;
        };
        if !out.iter().any(|(seen, _)| *seen == id) {
            out.push((id, email));
        }
    }
    out
}

/// Runs the `notification_webhook` actions of the triggers the change `u` meets, once the ticket
/// is stored.
pub(crate) fn fire(app: &App, st: &ZendeskState, u: &Update) {
    let Some(ticket) = st.tickets.get(&u.ticket_id).filter(|t| !t.deleted) else {
        return;
    };
    for trigger in matching(st, ticket, u) {
        for action in actions(&trigger, "notification_webhook") {
            call(app, st, ticket, u, action);
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

fn meets(trigger: &Map<String, Value>, ticket: &Ticket, u: &Update) -> bool {
    let all = conditions(trigger, "all");
    let any = conditions(trigger, "any");
    if all.is_empty() && any.is_empty() {
        return false;
    }
    let test = |c: &&Value| condition(c, ticket, u).unwrap_or(false);
    all.iter().all(test) && (any.is_empty() || any.iter().any(test))
}

/// A condition's value as text (`true`, `5`, `solved`; empty for null).
fn text_of(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Zendesk's via id of a `via.channel`.
fn via_id(channel: &str) -> u64 {
    match channel {
        "web" => 0,
        "email" => 4,
        "chat" => 29,
        "voice" => 34,
        "rule" => 8,
        _ => 5,
    }
}

/// A user id as a condition names it: a number, or `current_user` / `requester_id`.
fn user_value(value: &str, t: &Ticket, u: &Update) -> String {
    match value {
        "current_user" => u.current_user.to_string(),
        "requester_id" => t.requester_id.to_string(),
        other => other.to_owned(),
    }
}

/// Whether `t` and the change `u` meet one condition; `None` for a condition the emulator
/// cannot evaluate.
fn condition(c: &Value, t: &Ticket, u: &Update) -> Option<bool> {
    let field = c.get("field").and_then(Value::as_str)?;
    let op = c.get("operator").and_then(Value::as_str).unwrap_or("is");
    let value = text_of(c.get("value"));
    match field {
        "current_tags" => {
            let wanted: Vec<&str> = value.split_whitespace().collect();
            let has = |w: &&str| t.tags.iter().any(|tag| tag == w);
            return match op {
                "includes" => Some(wanted.iter().any(has)),
                "not_includes" => Some(!wanted.iter().any(has)),
                _ => None,
            };
        }
        "comment_is_public" => {
            let wanted = match value.as_str() {
                "true" | "public" => u.comments.iter().any(|(_, p)| *p),
                "false" | "private" => u.comments.iter().any(|(_, p)| !*p),
                "not_relevant" | "present" => !u.comments.is_empty(),
                _ => return None,
            };
            return match op {
                "is" => Some(wanted),
                "is_not" => Some(!wanted),
                _ => None,
            };
        }
        "status" => return status_condition(op, &value, t, u),
        _ => {}
    }
    let actual = match field {
        "update_type" => if u.created { "Create" } else { "Change" }.to_owned(),
        "priority" => t.priority.map_or("", |p| p.as_str()).to_owned(),
        "type" => t.kind.map_or("", |k| k.as_str()).to_owned(),
        "group_id" => t.group_id.map_or(String::new(), |g| g.to_string()),
        "assignee_id" => t.assignee_id.map_or(String::new(), |a| a.to_string()),
        "ticket_is_public" => if t.is_public { "public" } else { "private" }.to_owned(),
        "current_user" => u.current_user.to_string(),
        "role" => match u.role {
            Role::EndUser => "end_user",
            Role::Agent => "agent",
            Role::Admin => "admin",
        }
        .to_owned(),
        "via_id" => via_id(u.via).to_string(),
        _ => return None,
    };
    let wanted = match field {
        "assignee_id" | "current_user" => user_value(&value, t, u),
        "role" => value.replace('-', "_"),
        _ => value,
    };
    let same = || {
        actual.eq_ignore_ascii_case(&wanted)
            // An admin is an agent too.
            || (field == "role" && wanted == "agent" && actual == "admin")
    };
    match op {
        "is" => Some(same()),
        "is_not" => Some(!same()),
        "changed" if field == "assignee_id" => Some(u.changed(field).is_some()),
        "not_changed" if field == "assignee_id" => Some(u.changed(field).is_none()),
        _ => None,
    }
}

/// A `status` condition: the ticket's status now, or how this change moved it.
fn status_condition(op: &str, value: &str, t: &Ticket, u: &Update) -> Option<bool> {
    let now = t.status;
    let change = u.changed("status").map(|(before, after)| {
        let read = |v: &Value| v.as_str().and_then(Status::parse);
        (read(before), read(after))
    });
    let wanted = Status::parse(value);
    let before = change.and_then(|(b, _)| b);
    let changed_to =
        |s: Option<Status>| change.is_some_and(|(_, a)| a == s) || (u.created && Some(now) == s);
    let changed_from = |s: Option<Status>| change.is_some() && before == s;
    Some(match op {
        "is" => Some(now) == wanted,
        "is_not" => Some(now) != wanted,
        "less_than" => wanted.is_some_and(|w| now < w),
        "greater_than" => wanted.is_some_and(|w| now > w),
        "changed" => change.is_some(),
        "not_changed" => change.is_none(),
        "value" => changed_to(wanted),
        "not_value" => !changed_to(wanted),
        "value_previous" => changed_from(wanted),
        "not_value_previous" => !changed_from(wanted),
        _ => return None,
    })
}

/// The placeholders a trigger's webhook body may use, filled for `t`.
fn placeholders(st: &ZendeskState, t: &Ticket, u: &Update) -> Vec<(&'static str, String)> {
    let name = |id: u64| st.users.get(&id).map_or(String::new(), |x| x.name.clone());
    let latest = t.comments.last().map_or(String::new(), |c| c.body.clone());
    let latest_public = t
        .comments
        .iter()
        .rev()
        .find(|c| c.public)
        .map_or(String::new(), |c| c.body.clone());
    vec![
        ("ticket.account", "Cutover Sim".to_owned()),
        ("ticket.latest_comment_html", latest.clone()),
        ("ticket.latest_comment", latest),
        ("ticket.latest_public_comment_html", latest_public.clone()),
        ("ticket.latest_public_comment", latest_public),
        ("ticket.requester.name", name(t.requester_id)),
        ("current_user.name", name(u.current_user)),
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

fn call(app: &App, st: &ZendeskState, ticket: &Ticket, u: &Update, action: &Value) {
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
    let body = render(template, &placeholders(st, ticket, u));
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
