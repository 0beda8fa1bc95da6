//! Gateway contacts on Zendesk: a ticket opened with `POST /tickets` (the requester found or
//! made by e-mail, else by name; cutover's contact mark in `external_id`), found again by that
//! mark through `GET /tickets?external_id=`, and follow-ups added as the requester's public
//! comment. The message's files are uploaded first (`POST /uploads`) and named by their tokens in
//! the comment. A closed ticket takes no comments on Zendesk: the message opens a new ticket.

use reqwest::Method;
use serde_json::{Value, json};

use super::ZendeskConnector;
use crate::error::ConnectError;
use crate::http::{Request, Retry};
use crate::inbound::{FollowUp, InboundMessage, TicketState};
use crate::outbound::UploadHandle;
use cutover_model::PlatformId;

fn id_of(value: &Value) -> Option<PlatformId> {
    match value.get("id") {
        Some(Value::Number(n)) => PlatformId::parse(n.to_string()).ok(),
        Some(Value::String(s)) => PlatformId::parse(s).ok(),
        _ => None,
    }
}

impl ZendeskConnector {
    /// Uploads the message's files and names their tokens in `comment` (`uploads`).
    async fn attach_inbound(
        &self,
        comment: &mut Value,
        message: &InboundMessage,
    ) -> Result<(), ConnectError> {
        let mut tokens = Vec::with_capacity(message.attachments.len());
        for file in &message.attachments {
            let upload = self.upload_file(file.clone()).await?;
            if let UploadHandle::Token(token) = upload.handle {
                tokens.push(token);
            }
        }
        if !tokens.is_empty() {
            comment["uploads"] = json!(tokens);
        }
        Ok(())
    }

    pub(super) async fn find_inbound_ticket(
        &self,
        message: &InboundMessage,
    ) -> Result<Option<PlatformId>, ConnectError> {
        let op = format!("look up ticket {} on zendesk", message.mark);
        let request = Request::get("tickets.json").query("external_id", &message.mark);
        let (body, _) = self.api.get(&op, &request).await?;
        let tickets = body.get("tickets").and_then(Value::as_array);
        Ok(tickets.and_then(|t| t.first()).and_then(id_of))
    }

    pub(super) async fn open_inbound_ticket(
        &self,
        message: &InboundMessage,
    ) -> Result<PlatformId, ConnectError> {
        let op = format!("open ticket {} on zendesk", message.mark);
        let requester = &message.requester;
        let mut who = json!({ "name": requester.display_name() });
        if let Some(email) = &requester.email {
            who["email"] = json!(email);
        }
        let mut comment = json!({ "html_body": message.html_body(), "public": true });
        self.attach_inbound(&mut comment, message).await?;
        let body = json!({ "ticket": {
            "subject": message.subject,
            "comment": comment,
            "requester": who,
            "external_id": message.mark,
            "tags": message.tags,
        }});
        let request = Request::new(Method::POST, "tickets.json")
            .json(body)
            .retry(Retry::ThrottleOnly);
        let (answer, _) = self.api.get(&op, &request).await?;
        answer
            .get("ticket")
            .and_then(id_of)
            .ok_or_else(|| ConnectError::Malformed {
                op,
                detail: "the answer has no ticket id".to_owned(),
            })
    }

    async fn inbound_ticket_state(
        &self,
        ticket: &PlatformId,
    ) -> Result<Option<TicketState>, ConnectError> {
        let op = format!("read ticket {ticket} on zendesk");
        let request = Request::get(format!("tickets/{ticket}.json"));
        let body = match self.api.get(&op, &request).await {
            Ok((body, _)) => body,
            Err(e) if e.status() == Some(404) => return Ok(None),
            Err(e) => return Err(e),
        };
        let Some(t) = body.get("ticket") else {
            return Ok(None);
        };
        let status = t.get("status").and_then(Value::as_str).unwrap_or_default();
        let requester = match t.get("requester_id") {
            Some(Value::Number(n)) => PlatformId::parse(n.to_string()).ok(),
            _ => None,
        };
        Ok(Some(TicketState {
            closed: matches!(status, "closed" | "deleted"),
            requester,
        }))
    }

    pub(super) async fn follow_up_ticket(
        &self,
        ticket: &PlatformId,
        message: &InboundMessage,
    ) -> Result<FollowUp, ConnectError> {
        let Some(state) = self.inbound_ticket_state(ticket).await? else {
            return Ok(FollowUp::Gone);
        };
        if state.closed {
            return Ok(FollowUp::Closed);
        }
        let op = format!("add {} to ticket {ticket} on zendesk", message.mark);
        if message.may_exist {
            let request = Request::get(format!("tickets/{ticket}/comments.json"));
            let (body, _) = self.api.get(&op, &request).await?;
            let comments = body.get("comments").and_then(Value::as_array);
            let found = comments.into_iter().flatten().any(|c| {
                ["html_body", "body", "plain_body"]
                    .iter()
                    .filter_map(|k| c.get(*k).and_then(Value::as_str))
                    .any(|b| message.is_in(b))
            });
            if found {
                return Ok(FollowUp::Added);
            }
        }
        let mut comment = json!({ "html_body": message.html_body(), "public": true });
        self.attach_inbound(&mut comment, message).await?;
        if let Some(requester) = &state.requester {
            comment["author_id"] = super::bodies::id_json(requester);
        }
        let request = Request::new(Method::PUT, format!("tickets/{ticket}.json"))
            .json(json!({ "ticket": { "comment": comment } }))
            .retry(Retry::ThrottleOnly);
        self.api.http.send(&op, &request).await?;
        Ok(FollowUp::Added)
    }
}
