//! Writing and finding Freshdesk's rule records: canned responses (in a folder, found or made
//! by name), scenario automations, automation rules by type and SLA policies. A copy is found by
//! title before one is created; what is written is what `rules::fit` keeps.

use cutover_model::records::Record;
use cutover_model::rules::{Rule, When};
use cutover_model::{PlatformId, RecordKind};
use reqwest::Method;
use serde_json::{Value, json};

use super::FreshdeskConnector;
use super::rule_fit::macro_list;
use super::rule_lists::{
    DEFAULT_FOLDER, canned_body, folder_and_title, rule_body, rule_prefix, scenario_body, sla_body,
};
use super::rules::{HOURLY, List, ON_CREATE, ON_UPDATE};
use super::write::id_of;
use crate::connector::{WriteOutcome, Written};
use crate::error::ConnectError;
use crate::http::Request;
use crate::outbound::Outbound;

/// Where a rule record goes: its list, and its id prefix there.
/// Whether a record is written through one of Freshdesk's rule lists (canned responses,
/// scenarios, automation rules, SLA policies).
pub(crate) fn writes_as_rule(record: &Record) -> bool {
    list_of(record).is_some()
}

fn list_of(record: &Record) -> Option<(List, &Rule)> {
    let rule = record.rule()?;
    let list = match record.kind() {
        RecordKind::Macro => macro_list(rule),
        RecordKind::Automation => List::Rules(match rule.when {
            Some(When::Hourly) => HOURLY,
            Some(When::Updated) => ON_UPDATE,
            _ => ON_CREATE,
        }),
        RecordKind::SlaPolicy => List::SlaPolicies,
        _ => return None,
    };
    Some((list, rule))
}

fn prefix(list: List) -> &'static str {
    match list {
        List::Canned => "canned:",
        List::Scenarios => "scenario:",
        List::Rules(rule_type) => rule_prefix(rule_type),
        List::SlaPolicies => "",
    }
}

fn path(list: List) -> String {
    match list {
        List::Canned => "canned_responses".into(),
        List::Scenarios => "scenario_automations".into(),
        List::Rules(rule_type) => format!("automations/{rule_type}/rules"),
        List::SlaPolicies => "sla_policies".into(),
    }
}

fn refused(op: &str, kind: RecordKind, why: String) -> ConnectError {
    ConnectError::Unmappable {
        op: op.to_owned(),
        kind,
        field: "rule",
        detail: why,
    }
}

impl FreshdeskConnector {
    /// The body of a rule record for `list`, its references as target ids.
    async fn rule_request_body(
        &self,
        list: List,
        rule: &Rule,
        outbound: &Outbound,
        op: &str,
    ) -> Result<Value, ConnectError> {
        let kind = outbound.record.kind();
        let rule = crate::rules::resolve(rule, &outbound.targets, op)?;
        let body = match list {
            List::Canned => {
                let (folder, _) = folder_and_title(&rule.title);
                let folder = self.folder(folder, op).await?;
                canned_body(&rule, &folder)
            }
            List::Scenarios => scenario_body(&rule),
            List::Rules(rule_type) => rule_body(&rule, rule_type),
            List::SlaPolicies => sla_body(&rule),
        };
        body.map_err(|why| refused(op, kind, why))
    }

    /// Creates a rule record (known to be absent); `None` for another kind.
    pub(crate) async fn create_rule(
        &self,
        outbound: &Outbound,
        op: &str,
    ) -> Result<Option<Written>, ConnectError> {
        let Some((list, rule)) = list_of(&outbound.record) else {
            return Ok(None);
        };
        let body = self.rule_request_body(list, rule, outbound, op).await?;
        let request = Request::new(Method::POST, path(list)).json(body);
        let id = match self.post_once(outbound, op, request).await? {
            Err(found) => return Ok(Some(Written::new(found, WriteOutcome::Found))),
            Ok(answer) => id_of(op, &answer)?,
        };
        let id = PlatformId::parse(format!("{}{id}", prefix(list)))
            .map_err(|e| refused(op, outbound.record.kind(), e.to_string()))?;
        Ok(Some(Written::new(id, WriteOutcome::Created)))
    }

    /// Overwrites rule record `id`; `None` for another kind. A rule that now belongs to another
    /// list (a canned response become a scenario, a creation rule an update rule) is refused:
    /// Freshdesk cannot move one.
    pub(crate) async fn update_rule(
        &self,
        id: &PlatformId,
        outbound: &Outbound,
        op: &str,
    ) -> Result<Option<Written>, ConnectError> {
        let Some((list, rule)) = list_of(&outbound.record) else {
            return Ok(None);
        };
        let wanted = prefix(list);
        let bare = match id.as_str().rsplit_once(':') {
            Some((found, bare)) if format!("{found}:") == wanted => bare,
            None if wanted.is_empty() => id.as_str(),
            _ => {
                return Err(refused(
                    op,
                    outbound.record.kind(),
                    format!(
                        "its copy {id} is of another kind of freshdesk rule than it now is \
                         ({}): delete the copy and copy it again",
                        path(list)
                    ),
                ));
            }
        };
        let body = self.rule_request_body(list, rule, outbound, op).await?;
        let request = Request::new(Method::PUT, format!("{}/{bare}", path(list))).json(body);
        self.api.http.send(op, &request).await?;
        Ok(Some(Written::new(id.clone(), WriteOutcome::Updated)))
    }

    /// A rule record of the same title in its list (a canned response: in its folder).
    pub(crate) async fn find_rule(
        &self,
        outbound: &Outbound,
        op: &str,
    ) -> Result<Option<PlatformId>, ConnectError> {
        let Some((list, rule)) = list_of(&outbound.record) else {
            return Ok(None);
        };
        let found = match list {
            List::Canned => {
                let (folder, title) = folder_and_title(&rule.title);
                match self.folder_named(folder, op).await? {
                    Some(folder) => {
                        let path = format!("canned_response_folders/{folder}/responses");
                        self.in_list(op, &path, "title", title).await?
                    }
                    None => None,
                }
            }
            List::Scenarios => {
                self.in_list(op, "scenario_automations", "name", &rule.title)
                    .await?
            }
            List::Rules(_) => self.in_list(op, &path(list), "name", &rule.title).await?,
            List::SlaPolicies => {
                self.in_list(op, "sla_policies", "name", &rule.title)
                    .await?
            }
        };
        Ok(found.and_then(|id| PlatformId::parse(format!("{}{id}", prefix(list))).ok()))
    }

    /// The id of the canned response folder named `name`, if there is one.
    async fn folder_named(&self, name: &str, op: &str) -> Result<Option<PlatformId>, ConnectError> {
        self.in_list(op, "canned_response_folders", "name", name)
            .await
    }

    /// The id of the canned response folder named `name`, made when missing.
    async fn folder(&self, name: &str, op: &str) -> Result<PlatformId, ConnectError> {
        if let Some(id) = self.folder_named(name, op).await? {
            return Ok(id);
        }
        tracing::info!(folder = %name, default = name == DEFAULT_FOLDER, "Creating the canned response folder a macro is filed in.");
        let request =
            Request::new(Method::POST, "canned_response_folders").json(json!({"name": name}));
        match self.api.http.send(op, &request).await {
            Ok(answer) => {
                let (body, _) = crate::fields::decode_body(op, &answer.body)?;
                id_of(op, &body)
            }
            // Made meanwhile by another write of this run: use that one.
            Err(e) if e.status() == Some(409) => self.folder_named(name, op).await?.ok_or(e),
            Err(e) => Err(e),
        }
    }
}
