//! Gateway contacts on Freshdesk: a ticket opened with `POST /tickets` (the requester found or
//! made by e-mail, else by `unique_external_id` holding the phone number or chat id), cutover's
//! contact mark as one of its tags; found again among the requester's tickets (the list, never
//! the search index); follow-ups added as the requester's public incoming note. A closed ticket
//! (status 5) opens a new one. The message's files go in the same request, as multipart
//! `attachments[]`.

use std::sync::Arc;

use reqwest::Method;
use serde_json::{Value, json};

use super::FreshdeskConnector;
use super::lookup::{EVER, MAX_LIST_PAGES};
use crate::error::ConnectError;
use crate::http::{FilePart, Request, Retry};
use crate::inbound::{FollowUp, InboundMessage};
use cutover_model::PlatformId;

/// Freshdesk's status code of a closed ticket.
const CLOSED: u64 = 5;

fn id_of(value: &Value) -> Option<PlatformId> {
    match value.get("id") {
        Some(Value::Number(n)) => PlatformId::parse(n.to_string()).ok(),
        Some(Value::String(s)) => PlatformId::parse(s).ok(),
        _ => None,
    }
}

/// `body` as JSON, or, when the message carries files, as multipart with them as
/// `attachments[]` (how Freshdesk takes files on a ticket or a note).
fn with_files(request: Request, body: Value, message: &InboundMessage) -> Request {
    if message.attachments.is_empty() {
        return request.json(body);
    }
    let files = message
        .attachments
        .iter()
        .map(|f| FilePart {
            field: "attachments[]".into(),
            file_name: f.file_name.clone(),
            content_type: f.content_type.clone(),
            bytes: Arc::clone(&f.bytes),
        })
        .collect();
    request.body(super::bodies::multipart(&body, files))
}

impl FreshdeskConnector {
    /// The requester's contact id, by e-mail or by external id.
    async fn inbound_requester(
        &self,
        op: &str,
        message: &InboundMessage,
    ) -> Result<Option<PlatformId>, ConnectError> {
        let requester = &message.requester;
        let (field, value) = match (&requester.email, &requester.handle) {
            (Some(email), _) => ("email", email),
            (None, Some(handle)) => ("unique_external_id", handle),
            (None, None) => return Ok(None),
        };
        let request = Request::get("contacts").query(field, value);
        self.first_where(op, request, field, value).await
    }

    pub(super) async fn find_inbound_ticket(
        &self,
        message: &InboundMessage,
    ) -> Result<Option<PlatformId>, ConnectError> {
        let op = format!("look up ticket {} on freshdesk", message.mark);
        let Some(requester) = self.inbound_requester(&op, message).await? else {
            return Ok(None);
        };
        let request = Request::get("tickets")
            .query("requester_id", requester.as_str())
            .query("updated_since", EVER)
            .query("order_by", "created_at");
        for page in 1..=MAX_LIST_PAGES {
            let list = self.api.list_page(&op, request.clone(), page).await?;
            let marked = list.items.iter().find(|t| {
                t.get("tags")
                    .and_then(Value::as_array)
                    .is_some_and(|tags| tags.iter().any(|tag| tag == &json!(message.mark)))
            });
            if let Some(found) = marked {
                return Ok(id_of(found));
            }
            if !list.has_next {
                break;
            }
        }
        Ok(None)
    }

    pub(super) async fn open_inbound_ticket(
        &self,
        message: &InboundMessage,
    ) -> Result<PlatformId, ConnectError> {
        let op = format!("open ticket {} on freshdesk", message.mark);
        let requester = &message.requester;
        let mut tags = message.tags.clone();
        tags.push(message.mark.clone());
        let mut body = json!({
            "subject": message.subject,
            "description": message.html_body(),
            "name": requester.display_name(),
            "status": 2,
            "priority": 1,
            "tags": tags,
        });
        match (&requester.email, &requester.handle) {
            (Some(email), _) => body["email"] = json!(email),
            (None, Some(handle)) => body["unique_external_id"] = json!(handle),
            (None, None) => {
                return Err(ConnectError::Malformed {
                    op,
                    detail: "the contact names no requester".to_owned(),
                });
            }
        }
        let request = with_files(Request::new(Method::POST, "tickets"), body, message)
            .lane(super::client::LANE_TICKET_CREATE)
            .retry(Retry::ThrottleOnly);
        let (answer, _) = self.api.get(&op, &request).await?;
        id_of(&answer).ok_or_else(|| ConnectError::Malformed {
            op,
            detail: "the answer has no ticket id".to_owned(),
        })
    }

    pub(super) async fn follow_up_ticket(
        &self,
        ticket: &PlatformId,
        message: &InboundMessage,
    ) -> Result<FollowUp, ConnectError> {
        let op = format!("read ticket {ticket} on freshdesk");
        let request = Request::get(format!("tickets/{ticket}"));
        let body = match self.api.get(&op, &request).await {
            Ok((body, _)) => body,
            Err(e) if e.status() == Some(404) => return Ok(FollowUp::Gone),
            Err(e) => return Err(e),
        };
        if body.get("deleted").and_then(Value::as_bool) == Some(true) {
            return Ok(FollowUp::Gone);
        }
        if body.get("status").and_then(Value::as_u64) == Some(CLOSED) {
            return Ok(FollowUp::Closed);
        }
        let op = format!("add {} to ticket {ticket} on freshdesk", message.mark);
        if message.may_exist {
            let request = Request::get(format!("tickets/{ticket}/conversations"));
            let notes = self.api.list_all(&op, &request, 10).await?;
            let found = notes.iter().any(|n| {
                ["body", "body_text"]
                    .iter()
                    .filter_map(|k| n.get(*k).and_then(Value::as_str))
                    .any(|b| message.is_in(b))
            });
            if found {
                return Ok(FollowUp::Added);
            }
        }
        let mut note = json!({ "body": message.html_body(), "private": false, "incoming": true });
        if let Some(requester) = body.get("requester_id").filter(|v| !v.is_null()) {
            note["user_id"] = requester.clone();
        }
        let request = with_files(
            Request::new(Method::POST, format!("tickets/{ticket}/notes")),
            note,
            message,
        )
        .retry(Retry::ThrottleOnly);
        self.api.http.send(&op, &request).await?;
        Ok(FollowUp::Added)
    }
}
