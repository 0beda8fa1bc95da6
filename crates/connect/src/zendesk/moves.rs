//! What a wave's switch changes on Zendesk besides routing: group memberships
//! (`GET /api/v2/users/{id}/group_memberships`, `POST /api/v2/group_memberships`,
//! `DELETE /api/v2/group_memberships/{id}`) and a rule's `active` flag (`PUT
//! /api/v2/triggers/{id}`, `/api/v2/automations/{id}`, `/api/v2/macros/{id}`).

use cutover_model::{PlatformId, PlatformKind, RecordKind};
use reqwest::Method;
use serde_json::{Value, json};

use super::ZendeskConnector;
use super::bodies;
use crate::error::ConnectError;
use crate::http::Request;

/// The path and envelope key of a rule from its kind and id as cutover reads it (a routing
/// rule's id reads `trigger:12` or `automation:5`, a macro's bare); `None` for other kinds.
pub(crate) fn rule_path(kind: RecordKind, id: &PlatformId) -> Option<(String, &'static str)> {
    let id = id.as_str();
    match kind {
        RecordKind::Automation => {
            if let Some(bare) = id.strip_prefix("automation:") {
                Some((format!("automations/{bare}.json"), "automation"))
            } else {
                let bare = id.strip_prefix("trigger:").unwrap_or(id);
                Some((format!("triggers/{bare}.json"), "trigger"))
            }
        }
        RecordKind::Macro => Some((format!("macros/{id}.json"), "macro")),
        _ => None,
    }
}

impl ZendeskConnector {
    pub(super) async fn set_member(
        &self,
        agent: &PlatformId,
        group: &PlatformId,
        member: bool,
    ) -> Result<bool, ConnectError> {
        let op = format!("set zendesk agent {agent} in group {group}: {member}");
        let (body, _) = self
            .api
            .get(
                &op,
                &Request::get(format!("users/{agent}/group_memberships.json")),
            )
            .await?;
        let wanted = bodies::id_json(group);
        let found = body
            .get("group_memberships")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|m| m.get("group_id") == Some(&wanted))
            .and_then(|m| m.get("id").cloned());
        match (found, member) {
            (Some(_), true) | (None, false) => Ok(false),
            (None, true) => {
                let body = json!({ "group_membership": {
                    "user_id": bodies::id_json(agent), "group_id": wanted } });
                let request = Request::new(Method::POST, "group_memberships.json").json(body);
                self.api.http.send(&op, &request).await?;
                Ok(true)
            }
            (Some(id), false) => {
                let id = match id {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                let request = Request::new(Method::DELETE, format!("group_memberships/{id}.json"));
                match self.api.http.send(&op, &request).await {
                    // Gone already: someone else removed it meanwhile.
                    Err(e) if e.status() == Some(404) => Ok(false),
                    other => other.map(|_| true),
                }
            }
        }
    }

    pub(super) async fn set_active(
        &self,
        kind: RecordKind,
        id: &PlatformId,
        active: bool,
    ) -> Result<bool, ConnectError> {
        let op = format!("switch zendesk {kind} {id} active: {active}");
        let Some((path, key)) = rule_path(kind, id) else {
            return Err(ConnectError::Unsupported {
                op,
                platform: PlatformKind::Zendesk,
                what: format!("switch a {kind} on or off"),
            });
        };
        let (body, _) = self.api.get(&op, &Request::get(path.clone())).await?;
        let now = body
            .get(key)
            .and_then(|r| r.get("active"))
            .and_then(Value::as_bool);
        if now == Some(active) {
            return Ok(false);
        }
        let request = Request::new(Method::PUT, path).json(json!({ key: { "active": active } }));
        self.api.http.send(&op, &request).await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test fails loudly")]

    use super::*;

    #[test]
    fn triggers_automations_and_macros_have_paths() {
        let id = |s: &str| PlatformId::parse(s).unwrap();
        assert_eq!(
            rule_path(RecordKind::Automation, &id("trigger:12")),
            Some(("triggers/12.json".to_owned(), "trigger"))
        );
        assert_eq!(
            rule_path(RecordKind::Automation, &id("automation:5")),
            Some(("automations/5.json".to_owned(), "automation"))
        );
        assert_eq!(
            rule_path(RecordKind::Macro, &id("9")),
            Some(("macros/9.json".to_owned(), "macro"))
        );
        assert_eq!(rule_path(RecordKind::View, &id("9")), None);
    }
}
