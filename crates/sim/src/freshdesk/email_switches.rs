//! The requester notifications of Freshdesk's Admin > Email Notifications: switches an admin
//! turns on or off in the web interface (Freshdesk's API has no endpoint for them). The emulator
//! reads and sets them at `GET`/`PUT /_sim/email_notifications`, as a test stands in for the
//! admin. A reply (`/reply`) is itself an e-mail and goes out whatever they say. An update that
//! resolves or closes a ticket with `skip_close_notification: true` e-mails nobody about it,
//! whatever the switches say (Freshdesk refuses the flag beside any other status).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::app::App;
use super::config::FreshdeskOptions;
use super::errors::ApiError;
use super::routes::{Res, body_json, reply};

/// The requester notification switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailNotifications {
    /// "New Ticket Created": the acknowledgement of a new e-mail, portal or widget ticket.
    pub new_ticket_created: bool,
    /// "Agent adds comment to ticket": a public note by an agent.
    pub agent_adds_comment: bool,
    /// "Agent solves the ticket": the ticket set to resolved.
    pub agent_solves_ticket: bool,
    /// "Agent closes the ticket": the ticket set to closed.
    pub agent_closes_ticket: bool,
}

impl EmailNotifications {
    /// The switches an emulator starts with.
    pub(crate) fn from_options(opts: &FreshdeskOptions) -> Self {
        Self {
            new_ticket_created: opts.acknowledge_new_tickets,
            agent_adds_comment: opts.requester_notifications,
            agent_solves_ticket: opts.requester_notifications,
            agent_closes_ticket: opts.requester_notifications,
        }
    }

    fn json(self) -> Value {
        json!({"email_notifications": self})
    }
}

/// `GET /_sim/email_notifications`.
pub(crate) async fn show(State(app): State<Arc<App>>) -> Res {
    Ok(reply(StatusCode::OK, &app.email_notifications().json()))
}

/// `PUT /_sim/email_notifications`: any of the switches, by name, as booleans.
pub(crate) async fn set(State(app): State<Arc<App>>, body: Bytes) -> Res {
    let body = body_json(&body)?;
    let Some(fields) = body.as_object() else {
        return Err(ApiError::unparsable("the body must be a JSON object"));
    };
    let mut switches = app.email_notifications();
    for (name, value) in fields {
        let Some(on) = value.as_bool() else {
            return Err(ApiError::unparsable(&format!(
                "{name}: expected true or false"
            )));
        };
        let slot = match name.as_str() {
            "new_ticket_created" => &mut switches.new_ticket_created,
            "agent_adds_comment" => &mut switches.agent_adds_comment,
            "agent_solves_ticket" => &mut switches.agent_solves_ticket,
            "agent_closes_ticket" => &mut switches.agent_closes_ticket,
            other => {
                return Err(ApiError::unparsable(&format!(
                    "{other}: not a requester notification (new_ticket_created, agent_adds_comment, agent_solves_ticket, agent_closes_ticket)"
                )));
            }
        };
        *slot = on;
    }
    app.set_email_notifications(switches);
    Ok(reply(StatusCode::OK, &switches.json()))
}
