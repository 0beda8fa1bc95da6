//! What a wave's switch changes on Freshdesk besides routing: an agent's groups (the agent's
//! `group_ids`, `PUT /api/v2/agents/{id}`) and an automation rule's `active` flag
//! (`PUT /api/v2/automations/{type}/rules/{id}`). Canned responses and scenario automations
//! have no such flag.

use cutover_model::{PlatformId, PlatformKind, RecordKind};
use reqwest::Method;
use serde_json::{Value, json};

use super::FreshdeskConnector;
use super::bodies;
use super::rules::{HOURLY, ON_CREATE, ON_UPDATE};
use crate::error::ConnectError;
use crate::http::Request;

/// The path of an automation rule from its id as cutover reads it (`creation:12`, `update:12`,
/// `time:12`); `None` for any other rule (a canned response, a scenario).
pub(crate) fn rule_path(kind: RecordKind, id: &PlatformId) -> Option<String> {
    if kind != RecordKind::Automation {
        return None;
    }
    let (prefix, bare) = id.as_str().split_once(':')?;
    let rule_type = match prefix {
        "creation" => ON_CREATE,
        "update" => ON_UPDATE,
        "time" => HOURLY,
        _ => return None,
    };
    Some(format!("automations/{rule_type}/rules/{bare}"))
}

impl FreshdeskConnector {
    pub(super) async fn set_member(
        &self,
        agent: &PlatformId,
        group: &PlatformId,
        member: bool,
    ) -> Result<bool, ConnectError> {
        let op = format!("set freshdesk agent {agent} in group {group}: {member}");
        let path = format!("agents/{agent}");
        let (body, _) = self.api.get(&op, &Request::get(path.clone())).await?;
        let mut groups: Vec<Value> = body
            .get("group_ids")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let id = bodies::id_json(group);
        let present = groups.contains(&id);
        if present == member {
            return Ok(false);
        }
        if member {
            groups.push(id);
        } else {
            groups.retain(|g| *g != id);
        }
        let request = Request::new(Method::PUT, path).json(json!({ "group_ids": groups }));
        self.api.http.send(&op, &request).await?;
        Ok(true)
    }

    pub(super) async fn set_active(
        &self,
        kind: RecordKind,
        id: &PlatformId,
        active: bool,
    ) -> Result<bool, ConnectError> {
        let op = format!("switch freshdesk {kind} {id} active: {active}");
        let Some(path) = rule_path(kind, id) else {
            return Err(ConnectError::Unsupported {
                op,
                platform: PlatformKind::Freshdesk,
                what: "switch a canned response or a scenario automation on or off (only \
                       automation rules have `active`)"
                    .to_owned(),
            });
        };
        let (body, _) = self.api.get(&op, &Request::get(path.clone())).await?;
        if body.get("active").and_then(Value::as_bool) == Some(active) {
            return Ok(false);
        }
        let request = Request::new(Method::PUT, path).json(json!({ "active": active }));
        self.api.http.send(&op, &request).await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test fails loudly")]

    use super::*;

    #[test]
    fn only_automation_rules_have_a_path() {
        let id = |s: &str| PlatformId::parse(s).unwrap();
        assert_eq!(
            rule_path(RecordKind::Automation, &id("creation:12")).as_deref(),
            Some("automations/1/rules/12")
        );
        assert_eq!(
            rule_path(RecordKind::Automation, &id("update:7")).as_deref(),
            Some("automations/4/rules/7")
        );
        assert_eq!(
            rule_path(RecordKind::Automation, &id("time:3")).as_deref(),
            Some("automations/3/rules/3")
        );
        assert_eq!(rule_path(RecordKind::Macro, &id("scenario:3")), None);
        assert_eq!(rule_path(RecordKind::Automation, &id("3")), None);
    }
}
