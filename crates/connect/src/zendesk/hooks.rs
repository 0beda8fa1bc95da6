//! The bridge's hooks on Zendesk: deliveries checked and read (`accept`), and the webhooks and
//! triggers cutover registers (`setup`) and removes (`teardown`).
//!
//! Zendesk fixes a webhook's mode at creation: called by triggers (subscription
//! `conditional_ticket_events`) or by event subscriptions. Tickets go through a trigger-called
//! webhook and two triggers (ticket created, ticket updated: a comment added is an update), whose
//! body is cutover's own ([`crate::webhook::bridge_body`]). Users and organizations have no
//! triggers, so a second webhook subscribes to their events. Every hook's name starts with
//! [`hook_prefix`], which is how teardown finds exactly what setup made. Setup also quiets the
//! account's triggers that e-mail customers for the bridge's own writes, and teardown undoes
//! exactly that (`quiet.rs`).

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use super::ZendeskConnector;
use crate::error::ConnectError;
use crate::http::{Request, Retry};
use crate::webhook::{
    ChangeHint, Delivery, Hook, HookChanges, WebhookSecret, bridge_body, bridge_hint, hmac_matches,
    hook_prefix,
};
use cutover_model::{PlatformId, PlatformKind, RecordKind};

const ZENDESK: PlatformKind = PlatformKind::Zendesk;

/// The header carrying a delivery's signature.
pub(crate) const SIGNATURE_HEADER: &str = "X-Zendesk-Webhook-Signature";
/// The header carrying the time the signature covers.
pub(crate) const TIMESTAMP_HEADER: &str = "X-Zendesk-Webhook-Signature-Timestamp";

/// The user and organization events the second webhook subscribes to.
const PEOPLE_EVENTS: &[&str] = &[
    "zen:event-type:user.created",
    "zen:event-type:user.deleted",
    "zen:event-type:user.name_changed",
    "zen:event-type:user.email_changed",
    "zen:event-type:user.role_changed",
    "zen:event-type:user.organization_changed",
    "zen:event-type:user.external_id_changed",
    "zen:event-type:user.active_changed",
    "zen:event-type:user.notes_changed",
    "zen:event-type:user.details_changed",
    "zen:event-type:user.tags_changed",
    "zen:event-type:user.custom_field_changed",
    "zen:event-type:user.suspended_changed",
    "zen:event-type:organization.created",
    "zen:event-type:organization.updated",
    "zen:event-type:organization.deleted",
];

fn refused(detail: impl Into<String>, unauthenticated: bool) -> ConnectError {
    ConnectError::Delivery {
        platform: ZENDESK,
        detail: detail.into(),
        unauthenticated,
    }
}

/// Checks a delivery's signature and age against `now`, then reads which record it names.
pub(crate) fn accept(
    delivery: &Delivery<'_>,
    secret: &WebhookSecret,
    now: DateTime<Utc>,
    tolerance_secs: i64,
) -> Result<Vec<ChangeHint>, ConnectError> {
    let signature = delivery
        .header(SIGNATURE_HEADER)
        .ok_or_else(|| refused(format!("no {SIGNATURE_HEADER} header"), true))?;
    let timestamp = delivery
        .header(TIMESTAMP_HEADER)
        .ok_or_else(|| refused(format!("no {TIMESTAMP_HEADER} header"), true))?;
    let parts: [&[u8]; 2] = [timestamp.as_bytes(), delivery.body];
    if !hmac_matches(secret.expose().as_bytes(), &parts, signature) {
        return Err(refused(
            format!("{SIGNATURE_HEADER} does not match the body and timestamp"),
            true,
        ));
    }
    let sent = DateTime::parse_from_rfc3339(timestamp.trim())
        .map_err(|e| refused(format!("{TIMESTAMP_HEADER} {timestamp:?}: {e}"), true))?;
    let age = (now - sent.with_timezone(&Utc)).num_seconds();
    if age.abs() > tolerance_secs {
        return Err(refused(
            format!(
                "signed at {timestamp}, {age} s from now, beyond the {tolerance_secs} s allowed (a replay, or a clock far off)"
            ),
            true,
        ));
    }
    let body: Value = serde_json::from_slice(delivery.body)
        .map_err(|e| refused(format!("body is not JSON: {e}"), false))?;
    if let Some(hint) = bridge_hint(&body) {
        return hint.map(|h| vec![h]).map_err(|e| refused(e, false));
    }
    event_hint(&body).map_err(|e| refused(e, false))
}

/// The record an event subscription's delivery names (`subject: zen:ticket:7`); none for an
/// event about something cutover does not carry.
fn event_hint(body: &Value) -> Result<Vec<ChangeHint>, String> {
    let subject = body
        .get("subject")
        .and_then(Value::as_str)
        .ok_or("neither cutover's body nor an event (no subject)")?;
    let mut parts = subject.splitn(3, ':');
    let (Some("zen"), Some(what), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("subject {subject:?} is not zen:{{type}}:{{id}}"));
    };
    let role = body
        .get("detail")
        .and_then(|d| d.get("role"))
        .and_then(Value::as_str);
    let kind = match what {
        "ticket" => RecordKind::Ticket,
        "user" if role.is_some_and(|r| r != "end-user" && r != "end_user") => RecordKind::Agent,
        "user" => RecordKind::Contact,
        "organization" => RecordKind::Organization,
        _ => return Ok(Vec::new()),
    };
    let id = PlatformId::parse(id.to_owned()).map_err(|e| format!("subject {subject:?}: {e}"))?;
    Ok(vec![ChangeHint { kind, id }])
}

/// A hook as it stands on the platform.
#[derive(Debug, Clone)]
struct Found {
    id: String,
    name: String,
}

fn found_in(items: &[Value], prefix: &str, name_key: &str) -> Vec<Found> {
    items
        .iter()
        .filter_map(|item| {
            let name = item.get(name_key).and_then(Value::as_str)?;
            let id = match item.get("id")? {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return None,
            };
            name.starts_with(prefix).then(|| Found {
                id,
                name: name.to_owned(),
            })
        })
        .collect()
}

fn hook(what: &str, found: &Found) -> Hook {
    Hook {
        what: what.to_owned(),
        id: found.id.clone(),
        name: found.name.clone(),
    }
}

impl ZendeskConnector {
    pub(super) fn prefix(&self) -> String {
        hook_prefix(self.side)
    }

    /// Every item of a list endpoint, across its pages.
    async fn all_of(&self, op: &str, path: &str, key: &str) -> Result<Vec<Value>, ConnectError> {
        let mut items = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .api
                .list_page(op, path, key, token.as_deref(), true)
                .await?;
            items.extend(page.items);
            match page.next {
                Some(next) if Some(&next) != token.as_ref() => token = Some(next),
                _ => return Ok(items),
            }
        }
    }

    async fn webhooks(&self, op: &str) -> Result<Vec<Found>, ConnectError> {
        let prefix = self.prefix();
        let request = Request::get("webhooks").query("filter[name_contains]", &prefix);
        let (body, _) = self.api.get(op, &request).await?;
        let items = body
            .get("webhooks")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        Ok(found_in(&items, &prefix, "name"))
    }

    /// Every trigger of the account.
    pub(super) async fn all_triggers(&self, op: &str) -> Result<Vec<Value>, ConnectError> {
        self.all_of(op, "triggers.json", "triggers").await
    }

    async fn triggers(&self, op: &str) -> Result<Vec<Found>, ConnectError> {
        let items = self.all_triggers(op).await?;
        Ok(found_in(&items, &self.prefix(), "title"))
    }

    async fn delete_path(&self, op: &str, path: String) -> Result<(), ConnectError> {
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

    /// Makes or refreshes one webhook named `name`: a webhook whose signing secret is not
    /// `secret` is made anew (Zendesk's API sets a secret only at creation).
    async fn ensure_webhook(
        &self,
        op: &str,
        existing: &[Found],
        name: &str,
        data: Value,
        secret: &WebhookSecret,
        changes: &mut HookChanges,
    ) -> Result<String, ConnectError> {
        let mut same: Vec<&Found> = existing.iter().filter(|f| f.name == name).collect();
        while same.len() > 1 {
            if let Some(extra) = same.pop() {
                self.delete_path(op, format!("webhooks/{}", extra.id))
                    .await?;
                changes.removed.push(hook("webhook", extra));
            }
        }
        if let Some(found) = same.first() {
            let request = Request::get(format!("webhooks/{}/signing_secret", found.id));
            let (body, _) = self.api.get(op, &request).await?;
            let current = body
                .get("signing_secret")
                .and_then(|s| s.get("secret"))
                .and_then(Value::as_str);
            if current == Some(secret.expose()) {
                let put = Request::new(Method::PUT, format!("webhooks/{}", found.id))
                    .json(json!({ "webhook": data }));
                self.api.http.send(op, &put).await?;
                changes.updated.push(hook("webhook", found));
                return Ok(found.id.clone());
            }
            self.delete_path(op, format!("webhooks/{}", found.id))
                .await?;
            changes.removed.push(hook("webhook", found));
        }
        let mut data = data;
        data["signing_secret"] = json!({"algorithm": "SHA256", "secret": secret.expose()});
        let post = Request::new(Method::POST, "webhooks")
            .json(json!({ "webhook": data }))
            .retry(Retry::ThrottleOnly);
        let response = self.api.http.send(op, &post).await?;
        let (body, _) = crate::fields::decode_body(op, &response.body)?;
        let id = body
            .get("webhook")
            .and_then(|w| w.get("id"))
            .and_then(Value::as_str)
            .ok_or_else(|| ConnectError::Malformed {
                op: op.to_owned(),
                detail: "no webhook.id in the answer".to_owned(),
            })?
            .to_owned();
        changes.created.push(Hook {
            what: "webhook".to_owned(),
            id: id.clone(),
            name: name.to_owned(),
        });
        Ok(id)
    }

    /// Makes or refreshes one trigger named `title`.
    async fn ensure_trigger(
        &self,
        op: &str,
        existing: &[Found],
        title: &str,
        trigger: Value,
        changes: &mut HookChanges,
    ) -> Result<(), ConnectError> {
        let mut same: Vec<&Found> = existing.iter().filter(|f| f.name == title).collect();
        while same.len() > 1 {
            if let Some(extra) = same.pop() {
                self.delete_path(op, format!("triggers/{}.json", extra.id))
                    .await?;
                changes.removed.push(hook("trigger", extra));
            }
        }
        if let Some(found) = same.first() {
            let put = Request::new(Method::PUT, format!("triggers/{}.json", found.id))
                .json(json!({ "trigger": trigger }));
            self.api.http.send(op, &put).await?;
            changes.updated.push(hook("trigger", found));
            return Ok(());
        }
        let post = Request::new(Method::POST, "triggers.json")
            .json(json!({ "trigger": trigger }))
            .retry(Retry::ThrottleOnly);
        let response = self.api.http.send(op, &post).await?;
        let (body, _) = crate::fields::decode_body(op, &response.body)?;
        let id = body
            .get("trigger")
            .and_then(|t| t.get("id"))
            .map(|id| id.as_str().map_or_else(|| id.to_string(), str::to_owned))
            .ok_or_else(|| ConnectError::Malformed {
                op: op.to_owned(),
                detail: "no trigger.id in the answer".to_owned(),
            })?;
        changes.created.push(Hook {
            what: "trigger".to_owned(),
            id,
            name: title.to_owned(),
        });
        Ok(())
    }

    /// Registers (or brings up to date) the bridge's webhooks and triggers.
    pub(crate) async fn setup(
        &self,
        endpoint: &url::Url,
        secret: &WebhookSecret,
    ) -> Result<HookChanges, ConnectError> {
        let op = format!("set up the bridge's hooks on zendesk ({} side)", self.side);
        let prefix = self.prefix();
        let mut changes = HookChanges::default();
        let webhooks = self.webhooks(&op).await?;
        let base = |name: &str| {
            json!({
                "name": name, "endpoint": endpoint.as_str(), "http_method": "POST",
                "request_format": "json", "status": "active",
                "description": "Tells cutover's bridge of changes. Made by `cutover sync setup`; `cutover sync teardown` removes it.",
            })
        };
        let tickets_name = format!("{prefix}: tickets");
        let mut tickets = base(&tickets_name);
        tickets["subscriptions"] = json!(["conditional_ticket_events"]);
        let webhook_id = self
            .ensure_webhook(&op, &webhooks, &tickets_name, tickets, secret, &mut changes)
            .await?;
        let people_name = format!("{prefix}: users and organizations");
        let mut people = base(&people_name);
        people["subscriptions"] = json!(PEOPLE_EVENTS);
        self.ensure_webhook(&op, &webhooks, &people_name, people, secret, &mut changes)
            .await?;
        let triggers = self.triggers(&op).await?;
        // The bridge's own writes are not told back to it: each would cost a read of a record
        // it already holds (an echo, found equal by its fingerprint). Everyone else's changes
        // still call the webhook, and polling reads every change whoever made it.
        let owner = self.token_owner(&op).await?;
        for (update_type, event) in [("Create", "created"), ("Change", "updated")] {
            let title = format!("{prefix}: ticket {event}");
            let body = bridge_body("ticket", "{{ticket.id}}", event);
            let trigger = json!({
                "title": title, "active": true,
                "description": "Tells cutover's bridge of ticket changes (a comment added is an update) made by anyone but cutover's own API user.",
                "conditions": {"all": [
                    {"field": "update_type", "operator": "is", "value": update_type},
                    super::quiet::quieting(&owner),
                ], "any": []},
                "actions": [{"field": "notification_webhook", "value": [webhook_id, body]}],
            });
            self.ensure_trigger(&op, &triggers, &title, trigger, &mut changes)
                .await?;
        }
        self.quiet_triggers(&op, &prefix, &mut changes).await?;
        self.quiet.forget();
        changes.notes.push(
            "deletes, merges and spam of tickets do not run triggers: polling (the incremental export) finds them"
                .to_owned(),
        );
        Ok(changes)
    }

    /// Removes every webhook and trigger whose name starts with this side's prefix.
    pub(crate) async fn teardown(&self) -> Result<HookChanges, ConnectError> {
        let op = format!(
            "tear down the bridge's hooks on zendesk ({} side)",
            self.side
        );
        let mut changes = HookChanges::default();
        self.unquiet_triggers(&op, &self.prefix(), &mut changes)
            .await?;
        // Triggers first: a trigger naming a deleted webhook would fail on every ticket.
        for found in self.triggers(&op).await? {
            self.delete_path(&op, format!("triggers/{}.json", found.id))
                .await?;
            changes.removed.push(hook("trigger", &found));
        }
        for found in self.webhooks(&op).await? {
            self.delete_path(&op, format!("webhooks/{}", found.id))
                .await?;
            changes.removed.push(hook("webhook", &found));
        }
        Ok(changes)
    }

    /// Deletes a record the way an agent would: tickets to the deleted view (restorable for 30
    /// days), users to the deleted users, organizations and every configuration record (rules,
    /// fields, custom roles, forms, support addresses) for good.
    pub(crate) async fn delete_record(
        &self,
        kind: RecordKind,
        id: &PlatformId,
    ) -> Result<(), ConnectError> {
        let op = format!("delete {kind} {id} on zendesk");
        if kind == RecordKind::CustomField {
            return self.delete_field(&op, id).await;
        }
        let Some(path) = delete_path_of(kind, id) else {
            return Err(ConnectError::Unsupported {
                op,
                platform: ZENDESK,
                what: format!("delete a {kind} through cutover"),
            });
        };
        self.delete_path(&op, path).await
    }

    /// Deletes a record cutover created: as [`Self::delete_record`], and a user then for good
    /// (`DELETE /api/v2/deleted_users/{id}`). A deleted user stays, inactive, and
    /// `create_or_update` would take it for the copy a later backfill makes, whose tickets
    /// Zendesk then refuses (an inactive requester).
    pub(crate) async fn delete_for_good(
        &self,
        kind: RecordKind,
        id: &PlatformId,
    ) -> Result<(), ConnectError> {
        self.delete_record(kind, id).await?;
        if matches!(kind, RecordKind::Contact | RecordKind::Agent) {
            let op = format!("delete {kind} {id} on zendesk for good");
            self.delete_path(&op, format!("deleted_users/{id}.json"))
                .await?;
        }
        Ok(())
    }

    /// Removes a brand (`DELETE /api/v2/brands/{id}`) or a group membership (`DELETE
    /// /api/v2/group_memberships/{id}`) cutover added; one gone already (with its agent or
    /// group) is not an error. Zendesk has no ticket types of an account's own.
    pub(crate) async fn remove_setup(
        &self,
        kind: cutover_model::SetupKind,
        id: &PlatformId,
    ) -> Result<(), ConnectError> {
        use cutover_model::SetupKind;
        let op = format!("remove {kind} {id} on zendesk");
        let path = match kind {
            SetupKind::Brand => format!("brands/{id}.json"),
            SetupKind::GroupMembership => format!("group_memberships/{id}.json"),
            SetupKind::TicketType => {
                return Err(ConnectError::Unsupported {
                    op,
                    platform: PlatformKind::Zendesk,
                    what: "remove a ticket type: Zendesk's are fixed".to_owned(),
                });
            }
        };
        self.delete_path(&op, path).await
    }

    /// A custom field's id does not say whether it is a ticket, user or organization field
    /// (each list has its own endpoint): it is looked for in each, and deleted from the one
    /// list that holds it. Found in two, it is left: deleting the wrong one is worse.
    async fn delete_field(&self, op: &str, id: &PlatformId) -> Result<(), ConnectError> {
        let mut holders = Vec::new();
        for list in FIELD_LISTS {
            let path = format!("{list}/{id}.json");
            match self.api.get(op, &Request::get(path.clone())).await {
                Ok(_) => holders.push(path),
                Err(e) if e.status() == Some(404) => {}
                Err(e) => return Err(e),
            }
        }
        match holders.as_slice() {
            [] => Ok(()),
            [path] => self.delete_path(op, path.clone()).await,
            _ => Err(ConnectError::Unsupported {
                op: op.to_owned(),
                platform: ZENDESK,
                what: format!("tell which field {id} is: {}", holders.join(" and ")),
            }),
        }
    }
}

/// Zendesk's lists of custom fields.
const FIELD_LISTS: [&str; 3] = ["ticket_fields", "user_fields", "organization_fields"];

/// The path a record of `kind` is deleted at (a custom field's is found by asking); `None` for
/// what cutover cannot delete (comments and files go with their ticket; ratings are the
/// requester's).
pub(crate) fn delete_path_of(kind: RecordKind, id: &PlatformId) -> Option<String> {
    Some(match kind {
        RecordKind::Ticket => format!("tickets/{id}.json"),
        RecordKind::Contact | RecordKind::Agent => format!("users/{id}.json"),
        RecordKind::Organization => format!("organizations/{id}.json"),
        RecordKind::Group => format!("groups/{id}.json"),
        RecordKind::Role => format!("custom_roles/{id}.json"),
        RecordKind::Automation | RecordKind::Macro => super::moves::rule_path(kind, id)?.0,
        RecordKind::View => format!("views/{id}.json"),
        RecordKind::SlaPolicy => format!("slas/policies/{id}.json"),
        RecordKind::TicketForm => format!("ticket_forms/{id}.json"),
        RecordKind::ChannelConfig => format!("recipient_addresses/{id}.json"),
        RecordKind::CustomField => format!("ticket_fields/{id}.json"),
        RecordKind::Comment | RecordKind::Attachment | RecordKind::SatisfactionRating => {
            return None;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::SIGNATURE_TOLERANCE_SECS;
    use base64::Engine as _;
    use hmac::{Hmac, KeyInit, Mac};
    use sha2::Sha256;

    fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(timestamp.as_bytes());
        mac.update(body);
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    }

    fn delivery_headers(signature: &str, timestamp: &str) -> Vec<(String, String)> {
        vec![
            (SIGNATURE_HEADER.to_owned(), signature.to_owned()),
            (TIMESTAMP_HEADER.to_owned(), timestamp.to_owned()),
        ]
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_signed_delivery_is_read_and_a_forged_or_stale_one_refused() {
        let secret = WebhookSecret::new("s3cret");
        let body = br#"{"cutover": "bridge", "kind": "ticket", "id": "42", "event": "updated"}"#;
        let ts = "2026-01-01T10:00:00Z";
        let headers = delivery_headers(&sign("s3cret", ts, body), ts);
        let delivery = Delivery {
            headers: &headers,
            body,
        };
        let hints = accept(
            &delivery,
            &secret,
            at("2026-01-01T10:01:00Z"),
            SIGNATURE_TOLERANCE_SECS,
        )
        .unwrap();
        assert_eq!(
            hints,
            vec![ChangeHint {
                kind: RecordKind::Ticket,
                id: PlatformId::from(42)
            }]
        );
        let check_refused = |headers: &[(String, String)], body: &[u8], now: &str, says: &str| {
            let delivery = Delivery { headers, body };
            let err = accept(&delivery, &secret, at(now), SIGNATURE_TOLERANCE_SECS).unwrap_err();
            assert!(err.to_string().contains(says), "{err}");
            assert!(!err.to_string().contains("s3cret"));
        };
        check_refused(&headers, b"{}", "2026-01-01T10:00:00Z", "does not match");
        let wrong = delivery_headers(&sign("other", ts, body), ts);
        check_refused(&wrong, body, "2026-01-01T10:00:00Z", "does not match");
        check_refused(&headers, body, "2026-01-01T10:06:00Z", "beyond the 300 s");
        check_refused(&headers, body, "2026-01-01T09:54:00Z", "beyond the 300 s");
        check_refused(
            &[],
            body,
            "2026-01-01T10:00:00Z",
            "no X-Zendesk-Webhook-Signature",
        );
    }

    #[test]
    fn event_deliveries_name_their_record() {
        let check = |body: Value, expected: Vec<ChangeHint>| {
            assert_eq!(event_hint(&body).unwrap(), expected, "{body}");
        };
        let hint = |kind, id: u64| ChangeHint {
            kind,
            id: PlatformId::from(id),
        };
        check(
            json!({"subject": "zen:ticket:7", "type": "zen:event-type:ticket.comment_added"}),
            vec![hint(RecordKind::Ticket, 7)],
        );
        check(
            json!({"subject": "zen:user:8", "detail": {"role": "end-user"}}),
            vec![hint(RecordKind::Contact, 8)],
        );
        check(
            json!({"subject": "zen:user:9", "detail": {"role": "agent"}}),
            vec![hint(RecordKind::Agent, 9)],
        );
        check(
            json!({"subject": "zen:organization:3"}),
            vec![hint(RecordKind::Organization, 3)],
        );
        check(json!({"subject": "zen:brand:3"}), vec![]);
        assert!(event_hint(&json!({"subject": "nonsense"})).is_err());
        assert!(event_hint(&json!({"foo": 1})).is_err());
    }
}
