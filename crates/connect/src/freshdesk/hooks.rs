//! The bridge's hooks on Freshdesk: deliveries checked and read (`accept`), and the automation
//! rules cutover registers (`setup`) and removes (`teardown`).
//!
//! Freshdesk has no webhook API and signs nothing: a webhook is an action of an automation
//! rule, with the method, URL, headers and body an admin sets. cutover registers two rules
//! (ticket creation; ticket update, for every change an agent or customer makes) whose
//! `trigger_webhook` action carries the bridge's secret in [`SECRET_HEADER`] and cutover's own
//! body ([`crate::webhook::bridge_body`]). Contacts and companies have no automation rules:
//! their changes reach the bridge by polling only. Every rule's name starts with
//! [`hook_prefix`], which is how teardown finds exactly what setup made.

use reqwest::Method;
use serde_json::{Value, json};

use super::FreshdeskConnector;
use crate::error::ConnectError;
use crate::http::{Request, Retry};
use crate::webhook::{
    ChangeHint, Delivery, Hook, HookChanges, SECRET_HEADER, WebhookSecret, bridge_body,
    bridge_hint, hook_prefix, secrets_equal,
};
use cutover_model::{PlatformId, PlatformKind, RecordKind};

const FRESHDESK: PlatformKind = PlatformKind::Freshdesk;

/// Automation rule types: on ticket creation, on ticket update.
const ON_CREATE: u64 = 1;
const ON_UPDATE: u64 = 4;

/// The ticket changes the update rule listens to: every property an agent, a customer or an
/// automation can change, notes and replies.
const UPDATE_EVENTS: &[&str] = &[
    "priority",
    "ticket_type",
    "status",
    "group_id",
    "responder_id",
    "note_type",
    "reply_sent",
    "customer_feedback",
    "due_by",
    "subject",
    "tags",
    "description",
];

fn refused(detail: impl Into<String>, unauthenticated: bool) -> ConnectError {
    ConnectError::Delivery {
        platform: FRESHDESK,
        detail: detail.into(),
        unauthenticated,
    }
}

/// Checks a delivery's secret header, then reads which ticket it names.
pub(crate) fn accept(
    delivery: &Delivery<'_>,
    secret: &WebhookSecret,
) -> Result<Vec<ChangeHint>, ConnectError> {
    let given = delivery
        .header(SECRET_HEADER)
        .ok_or_else(|| refused(format!("no {SECRET_HEADER} header"), true))?;
    if !secrets_equal(given.trim(), secret.expose()) {
        return Err(refused(
            format!("{SECRET_HEADER} does not hold the bridge's secret"),
            true,
        ));
    }
    let body: Value = serde_json::from_slice(delivery.body)
        .map_err(|e| refused(format!("body is not JSON: {e}"), false))?;
    if let Some(hint) = bridge_hint(&body) {
        return hint.map(|h| vec![h]).map_err(|e| refused(e, false));
    }
    // A rule's webhook without a body of its own sends `{"ticket_id": …}`.
    let id = match body.get("ticket_id") {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.trim().to_owned(),
        _ => return Err(refused("neither cutover's body nor a ticket_id", false)),
    };
    let id = PlatformId::parse(id.clone())
        .map_err(|e| refused(format!("ticket_id {id:?}: {e}"), false))?;
    Ok(vec![ChangeHint {
        kind: RecordKind::Ticket,
        id,
    }])
}

fn rule_body(name: &str, kind: u64, endpoint: &url::Url, secret: &WebhookSecret) -> Value {
    let event = if kind == ON_CREATE {
        "created"
    } else {
        "updated"
    };
    let mut rule = json!({
        "name": name, "active": true,
        "conditions": [{"name": "condition_set_1", "match_type": "any", "properties": [
            {"resource_type": "ticket", "field_name": "status", "operator": "is_not", "value": [0]}]}],
        "actions": [{
            "field_name": "trigger_webhook", "request_type": "POST", "url": endpoint.as_str(),
            "content_type": "JSON", "custom_headers": {SECRET_HEADER: secret.expose()},
            "content": bridge_body("ticket", "{{ticket.id}}", event),
        }],
    });
    if kind == ON_UPDATE {
        rule["events"] = UPDATE_EVENTS
            .iter()
            .map(|field| json!({"field_name": field, "from": "--", "to": "--"}))
            .collect();
        rule["performer"] = json!({"type": 4});
    }
    rule
}

fn rule_path(kind: u64) -> String {
    format!("automations/{kind}/rules")
}

fn hook(found: &(u64, String, u64)) -> Hook {
    let (kind, name, id) = found;
    Hook {
        what: if *kind == ON_CREATE {
            "automation rule (ticket creation)"
        } else {
            "automation rule (ticket update)"
        }
        .to_owned(),
        id: id.to_string(),
        name: name.clone(),
    }
}

impl FreshdeskConnector {
    /// This side's rules of type `kind`: (type, name, id).
    async fn bridge_rules(
        &self,
        op: &str,
        kind: u64,
    ) -> Result<Vec<(u64, String, u64)>, ConnectError> {
        let prefix = hook_prefix(self.side);
        let items = self
            .api
            .list_all(op, &Request::get(rule_path(kind)), 50)
            .await?;
        Ok(items
            .iter()
            .filter_map(|rule| {
                let name = rule.get("name").and_then(Value::as_str)?;
                let id = rule.get("id").and_then(Value::as_u64)?;
                name.starts_with(&prefix)
                    .then(|| (kind, name.to_owned(), id))
            })
            .collect())
    }

    async fn delete_rule(&self, op: &str, kind: u64, id: u64) -> Result<(), ConnectError> {
        let request = Request::new(Method::DELETE, format!("{}/{id}", rule_path(kind)));
        match self.api.http.send(op, &request).await {
            Err(e) if e.status() == Some(404) => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// Registers (or brings up to date) the bridge's automation rules.
    pub(crate) async fn setup(
        &self,
        endpoint: &url::Url,
        secret: &WebhookSecret,
    ) -> Result<HookChanges, ConnectError> {
        let op = format!(
            "set up the bridge's hooks on freshdesk ({} side)",
            self.side
        );
        let prefix = hook_prefix(self.side);
        let mut changes = HookChanges::default();
        for (kind, what) in [(ON_CREATE, "ticket created"), (ON_UPDATE, "ticket updated")] {
            let name = format!("{prefix}: {what}");
            let body = rule_body(&name, kind, endpoint, secret);
            let mut same: Vec<(u64, String, u64)> = self
                .bridge_rules(&op, kind)
                .await?
                .into_iter()
                .filter(|(_, n, _)| *n == name)
                .collect();
            while same.len() > 1 {
                if let Some(extra) = same.pop() {
                    self.delete_rule(&op, kind, extra.2).await?;
                    changes.removed.push(hook(&extra));
                }
            }
            if let Some(found) = same.first() {
                let put = Request::new(Method::PUT, format!("{}/{}", rule_path(kind), found.2))
                    .json(body);
                self.api.http.send(&op, &put).await?;
                changes.updated.push(hook(found));
                continue;
            }
            let post = Request::new(Method::POST, rule_path(kind))
                .json(body)
                .retry(Retry::ThrottleOnly);
            let response = self.api.http.send(&op, &post).await?;
            let (answer, _) = crate::fields::decode_body(&op, &response.body)?;
            let id = answer.get("id").and_then(Value::as_u64).ok_or_else(|| {
                ConnectError::Malformed {
                    op: op.clone(),
                    detail: "no id in the answer".to_owned(),
                }
            })?;
            changes.created.push(hook(&(kind, name, id)));
        }
        changes.notes.push(
            "contacts and companies have no automation rules on freshdesk: polling finds their changes"
                .to_owned(),
        );
        changes.notes.push(
            "deleted and spam tickets run no rule: polling finds them (the deleted and spam lists)"
                .to_owned(),
        );
        Ok(changes)
    }

    /// Removes every automation rule whose name starts with this side's prefix.
    pub(crate) async fn teardown(&self) -> Result<HookChanges, ConnectError> {
        let op = format!(
            "tear down the bridge's hooks on freshdesk ({} side)",
            self.side
        );
        let mut changes = HookChanges::default();
        for kind in [ON_CREATE, ON_UPDATE] {
            for found in self.bridge_rules(&op, kind).await? {
                self.delete_rule(&op, kind, found.2).await?;
                changes.removed.push(hook(&found));
            }
        }
        Ok(changes)
    }

    /// Deletes a record the way an agent would: tickets and contacts to the trash (restorable),
    /// an agent back to a contact, companies, groups, fields, automation rules and scenario
    /// automations for good.
    pub(crate) async fn delete_record(
        &self,
        kind: RecordKind,
        id: &PlatformId,
    ) -> Result<(), ConnectError> {
        let op = format!("delete {kind} {id} on freshdesk");
        let path = delete_path_of(kind, id).map_err(|why| ConnectError::Unsupported {
            op: op.clone(),
            platform: FRESHDESK,
            what: why,
        })?;
        self.send_delete(&op, path).await
    }

    /// Deletes a record cutover created: as [`Self::delete_record`]; an agent, which Freshdesk
    /// turns back into a contact, then as a contact too; a contact then for good
    /// (`DELETE /api/v2/contacts/{id}/hard_delete`). A deleted contact keeps its e-mail, and
    /// the copy of the same person a later backfill makes is refused as a duplicate of it.
    pub(crate) async fn delete_for_good(
        &self,
        kind: RecordKind,
        id: &PlatformId,
    ) -> Result<(), ConnectError> {
        self.delete_record(kind, id).await?;
        let op = format!("delete {kind} {id} on freshdesk for good");
        if kind == RecordKind::Agent {
            self.send_delete(&op, format!("contacts/{id}")).await?;
        }
        if matches!(kind, RecordKind::Contact | RecordKind::Agent) {
            self.send_delete(&op, format!("contacts/{id}/hard_delete"))
                .await?;
        }
        Ok(())
    }

    /// A `DELETE` of `path`; one already gone (404) is not an error.
    async fn send_delete(&self, op: &str, path: String) -> Result<(), ConnectError> {
        match self
            .api
            .http
            .send(op, &Request::new(Method::DELETE, path))
            .await
        {
            Err(e) if e.status() == Some(404) => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// Deletes a note cutover added to ticket `ticket` (`DELETE /api/v2/conversations/{id}`);
    /// one already gone is not an error.
    pub(crate) async fn delete_note(
        &self,
        ticket: &PlatformId,
        note: &PlatformId,
    ) -> Result<(), ConnectError> {
        let op = format!("delete note {note} of ticket {ticket} on freshdesk");
        self.send_delete(&op, format!("conversations/{note}")).await
    }
}

/// The path a record of `kind` is deleted at, or why Freshdesk's API deletes no such record.
/// Ids read as cutover reads them: `contact:12` and `company:12` for contact and company
/// fields, `creation:12`, `update:12`, `time:12` for automation rules, `scenario:12` and
/// `canned:12` for the two kinds of macro.
pub(crate) fn delete_path_of(kind: RecordKind, id: &PlatformId) -> Result<String, String> {
    let raw = id.as_str();
    Ok(match kind {
        RecordKind::Ticket => format!("tickets/{id}"),
        RecordKind::Contact => format!("contacts/{id}"),
        RecordKind::Organization => format!("companies/{id}"),
        RecordKind::Agent => format!("agents/{id}"),
        RecordKind::Group => format!("groups/{id}"),
        RecordKind::CustomField => match raw.split_once(':') {
            Some(("contact", bare)) => format!("contact_fields/{bare}"),
            Some(("company", bare)) => format!("company_fields/{bare}"),
            _ => format!("admin/ticket_fields/{id}"),
        },
        RecordKind::Automation => {
            super::moves::rule_path(kind, id).ok_or_else(|| format!("read rule id {id}"))?
        }
        RecordKind::Macro => match raw.split_once(':') {
            Some(("scenario", bare)) => format!("scenario_automations/{bare}"),
            _ => return Err("delete a canned response: its API has no delete".to_owned()),
        },
        RecordKind::SlaPolicy => {
            return Err("delete an SLA policy: its API has no delete".to_owned());
        }
        RecordKind::Role => return Err("delete a role: its API has no delete".to_owned()),
        RecordKind::Comment | RecordKind::Attachment | RecordKind::SatisfactionRating => {
            return Err(format!("delete a {kind} but with its ticket"));
        }
        RecordKind::View | RecordKind::TicketForm | RecordKind::ChannelConfig => {
            return Err(format!("delete a {kind}: cutover writes none there"));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_header_is_checked_and_the_ticket_read() {
        let secret = WebhookSecret::new("s3cret");
        let body = br#"{"cutover": "bridge", "kind": "ticket", "id": "12", "event": "created"}"#;
        let headers = vec![(SECRET_HEADER.to_lowercase(), "s3cret".to_owned())];
        let delivery = Delivery {
            headers: &headers,
            body,
        };
        assert_eq!(
            accept(&delivery, &secret).unwrap(),
            vec![ChangeHint {
                kind: RecordKind::Ticket,
                id: PlatformId::from(12)
            }]
        );
        let plain = br#"{"ticket_id": 13}"#;
        let delivery = Delivery {
            headers: &headers,
            body: plain,
        };
        assert_eq!(
            accept(&delivery, &secret).unwrap()[0].id,
            PlatformId::from(13)
        );
        let check_refused = |headers: &[(String, String)], body: &[u8], says: &str| {
            let err = accept(&Delivery { headers, body }, &secret).unwrap_err();
            assert!(err.to_string().contains(says), "{err}");
            assert!(!err.to_string().contains("s3cret"), "{err}");
        };
        let wrong = vec![(SECRET_HEADER.to_owned(), "s3cres".to_owned())];
        check_refused(&wrong, body, "does not hold");
        check_refused(&[], body, "no X-Cutover-Webhook-Secret");
        check_refused(&headers, b"not json", "not JSON");
        check_refused(
            &headers,
            br#"{"cutover": "bridge", "kind": "macro", "id": "1"}"#,
            "kind",
        );
        check_refused(&headers, br#"{"hello": 1}"#, "neither");
    }
}
