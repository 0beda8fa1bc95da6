//! Writing and finding Zendesk's rule records (macros, triggers, automations, views, SLA
//! policies, ticket forms): the list a rule goes to, its request body, and a copy found by title
//! before creating one. What is written is what `rules::fit` keeps, switched off (the engine
//! fits a rule before handing it over; a part left unfitted is refused here, not dropped).

use std::collections::HashSet;

use cutover_model::PlatformId;
use cutover_model::records::Record;
use cutover_model::rules::Rule;
use reqwest::Method;
use serde_json::Value;

use super::ZendeskConnector;
use super::client::ZendeskApi;
use super::lookup::in_list;
use super::rule_lists::body;
use super::rules::List;
use super::write::{Posted, created_id};
use crate::connector::{WriteOutcome, Written};
use crate::error::ConnectError;
use crate::http::Request;
use crate::outbound::Outbound;

/// The list and rule of a rule record, or `None` for another kind.
pub(crate) fn list_of(record: &Record) -> Option<(List, &Rule)> {
    let rule = record.rule()?;
    Some((List::of(record.kind(), rule)?, rule))
}

fn unwritable(op: &str, why: String) -> ConnectError {
    ConnectError::Unmappable {
        op: op.to_owned(),
        kind: cutover_model::RecordKind::Macro,
        field: "rule",
        detail: why,
    }
}

/// The account's built-in ticket field ids (subject, status, …), in the order it lists them: a
/// form names them beside its custom fields.
pub(crate) async fn system_field_ids(api: &ZendeskApi, op: &str) -> Result<Vec<u64>, ConnectError> {
    let mut ids = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = api
            .list_page(
                op,
                "ticket_fields.json",
                "ticket_fields",
                token.as_deref(),
                true,
            )
            .await?;
        for field in &page.items {
            let system = field
                .get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| super::mapping::SYSTEM_FIELD_TYPES.contains(&t));
            if system && let Some(id) = field.get("id").and_then(Value::as_u64) {
                ids.push(id);
            }
        }
        match page.next {
            Some(next) if Some(&next) != token.as_ref() => token = Some(next),
            _ => return Ok(ids),
        }
    }
}

/// Like [`system_field_ids`], as a set.
pub(crate) async fn system_field_set(
    api: &ZendeskApi,
    op: &str,
) -> Result<HashSet<u64>, ConnectError> {
    Ok(system_field_ids(api, op).await?.into_iter().collect())
}

impl ZendeskConnector {
    /// The target's built-in ticket field ids, read once.
    async fn system_fields(&self, op: &str) -> Result<&[u64], ConnectError> {
        self.system_fields
            .get_or_try_init(|| system_field_ids(&self.api, op))
            .await
            .map(Vec::as_slice)
    }

    /// The body of a rule record for `list`, its references as target ids.
    async fn rule_body(
        &self,
        list: List,
        rule: &Rule,
        outbound: &Outbound,
        op: &str,
    ) -> Result<Value, ConnectError> {
        let system = match list {
            List::TicketForms => self.system_fields(op).await?,
            _ => &[],
        };
        let rule = crate::rules::resolve(rule, &outbound.targets, op)?;
        body(list, &rule, system).map_err(|why| unwritable(op, why))
    }

    /// Creates a rule record (known to be absent; `None` for another kind), with the prefix its
    /// id reads with. Its references go out as the target ids the engine resolved.
    pub(crate) async fn create_rule(
        &self,
        outbound: &Outbound,
        op: &str,
    ) -> Result<Option<Written>, ConnectError> {
        let Some((list, rule)) = list_of(&outbound.record) else {
            return Ok(None);
        };
        let body = self.rule_body(list, rule, outbound, op).await?;
        let (path, envelope) = list.path();
        let request = Request::new(Method::POST, format!("{path}.json")).json(body);
        let answer = match self.post_once(outbound, op, request).await? {
            Posted::Found(id) => return Ok(Some(Written::new(id, WriteOutcome::Found))),
            Posted::Created(answer) => answer,
        };
        let id = created_id(op, &answer, envelope)?;
        let id = PlatformId::parse(format!("{}{id}", list.id_prefix()))
            .map_err(|e| unwritable(op, e.to_string()))?;
        Ok(Some(Written::new(id, WriteOutcome::Created)))
    }

    /// The update request of rule record `id` (`None` for another kind).
    pub(crate) async fn rule_update(
        &self,
        id: &PlatformId,
        outbound: &Outbound,
        op: &str,
    ) -> Result<Option<Request>, ConnectError> {
        let Some((list, rule)) = list_of(&outbound.record) else {
            return Ok(None);
        };
        let body = self.rule_body(list, rule, outbound, op).await?;
        let bare = id.as_str().rsplit(':').next().unwrap_or(id.as_str());
        Ok(Some(
            Request::new(Method::PUT, format!("{}/{bare}.json", list.path().0)).json(body),
        ))
    }

    /// A rule record of the same title in its list, with the prefix its id reads with.
    pub(crate) async fn find_rule(
        &self,
        outbound: &Outbound,
        op: &str,
    ) -> Result<Option<PlatformId>, ConnectError> {
        let Some((list, rule)) = list_of(&outbound.record) else {
            return Ok(None);
        };
        if list == List::TicketForms {
            // Read before the create that follows: its body names them.
            self.system_fields(op).await?;
        }
        let path = format!("{}.json", list.path().0);
        let found = in_list(
            self,
            op,
            &path,
            list.list_key(),
            list.title_key(),
            &rule.title,
        )
        .await?;
        Ok(found.and_then(|id| PlatformId::parse(format!("{}{id}", list.id_prefix())).ok()))
    }
}
