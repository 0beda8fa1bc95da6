//! What a Freshdesk account needs before tickets are written into it, checked once per
//! connector: cutover's origin fields (created as text ticket fields when missing, as the real
//! API allows) and the account's ticket types (Freshdesk refuses a type it does not list; the
//! plan's `"create"` adds one as a choice of the built-in `ticket_type` field).

use reqwest::Method;
use serde_json::{Value, json};

use super::FreshdeskConnector;
use cutover_model::{PlatformId, RecordKind, SetupKind};

use crate::error::ConnectError;
use crate::http::Request;

/// The account's ticket set-up, as far as writing tickets goes.
#[derive(Debug, Default)]
pub(crate) struct TicketSetup {
    /// The ticket types the account lists (`Question`, `Incident`, …), with those cutover adds.
    pub(crate) types: std::sync::Mutex<Vec<String>>,
}

impl TicketSetup {
    /// The account's spelling of a ticket type (case aside), or none when it has no such type.
    pub(crate) fn type_named(&self, name: Option<&str>) -> Option<String> {
        let name = name?;
        let types = self
            .types
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        types.iter().find(|t| t.eq_ignore_ascii_case(name)).cloned()
    }
}

/// The `ticket_type` field among the account's ticket fields: its id and its choices.
fn type_field(fields: &[Value]) -> Option<(u64, Vec<String>)> {
    let field = fields
        .iter()
        .find(|f| f.get("name").and_then(Value::as_str) == Some("ticket_type"))?;
    let id = field.get("id").and_then(Value::as_u64)?;
    let choices = field
        .get("choices")
        .and_then(Value::as_array)
        .map(|choices| {
            choices
                .iter()
                .filter_map(|c| {
                    c.as_str()
                        .or_else(|| c.get("value").and_then(Value::as_str))
                        .map(str::to_owned)
                })
                .collect()
        })
        .unwrap_or_default();
    Some((id, choices))
}

/// The description of a ticket field cutover creates for itself: its mark, by which a cleanup
/// knows it made the field (a field the plan names, `cf_original_id` say, may be the account's).
const OWN_FIELD_NOTE: &str =
    "Made by cutover to keep each copy's origin; `cutover cleanup` removes it.";

/// The label Freshdesk turns into a ticket field's name `cf_{label in snake case}`.
fn label_for(name: &str) -> &str {
    name.strip_prefix("cf_").unwrap_or(name)
}

impl FreshdeskConnector {
    /// The ticket set-up, read (and completed) on first use.
    pub(crate) async fn ticket_setup(&self, op: &str) -> Result<&TicketSetup, ConnectError> {
        self.setup
            .get_or_try_init(|| async {
                let request = Request::get("admin/ticket_fields");
                let fields = self.api.list_all(op, &request, 10).await?;
                let name_of = |f: &Value| f.get("name").and_then(Value::as_str).map(str::to_owned);
                let names: Vec<String> = fields.iter().filter_map(name_of).collect();
                let origin = &self.reading.origin_fields;
                let wanted = [Some(&origin.id), origin.created_at.as_ref(), origin.author.as_ref()];
                for name in wanted.into_iter().flatten() {
                    if !names.contains(name) {
                        tracing::info!(field = %name, "Creating the ticket field cutover keeps a ticket's origin in.");
                        let body = json!({"label": label_for(name), "type": "custom_text",
                                          "description": OWN_FIELD_NOTE});
                        let create = Request::new(Method::POST, "admin/ticket_fields").json(body);
                        self.api.http.send(op, &create).await?;
                    }
                }
                let types = type_field(&fields).map(|(_, types)| types).unwrap_or_default();
                Ok(TicketSetup { types: std::sync::Mutex::new(types) })
            })
            .await
    }

    /// The ticket fields cutover made to hold its copies' origin (its own `cf_cutover_*`, or a
    /// field the plan names that carries cutover's description, [`OWN_FIELD_NOTE`]: one the
    /// account had before stays), as custom-field records: what a cleanup removes last.
    pub(crate) async fn origin_field_ids(
        &self,
    ) -> Result<Vec<(RecordKind, PlatformId)>, ConnectError> {
        let op = "list cutover's own ticket fields on freshdesk";
        let fields = self
            .api
            .list_all(op, &Request::get("admin/ticket_fields"), 10)
            .await?;
        let origin = &self.reading.origin_fields;
        Ok(fields
            .iter()
            .filter(|f| {
                let ours = f.get("description").and_then(Value::as_str) == Some(OWN_FIELD_NOTE);
                f.get("name").and_then(Value::as_str).is_some_and(|name| {
                    origin.contains(name) && (ours || name.starts_with("cf_cutover_"))
                })
            })
            .filter_map(|f| f.get("id").and_then(Value::as_u64))
            .map(|id| (RecordKind::CustomField, PlatformId::from(id)))
            .collect())
    }

    /// Adds the ticket types `names` the account does not list (case aside) as choices of its
    /// `ticket_type` field; returns those added.
    pub(crate) async fn add_ticket_types(
        &self,
        names: &[String],
    ) -> Result<Vec<crate::SetUp>, ConnectError> {
        let op = "add ticket types on freshdesk";
        let fields = self
            .api
            .list_all(op, &Request::get("admin/ticket_fields"), 10)
            .await?;
        let Some((id, listed)) = type_field(&fields) else {
            return Err(ConnectError::Unsupported {
                op: op.to_owned(),
                platform: super::FRESHDESK,
                what: "add a ticket type: the account has no ticket_type field".to_owned(),
            });
        };
        let mut missing: Vec<String> = Vec::new();
        for name in names {
            let known = listed
                .iter()
                .chain(&missing)
                .any(|t| t.eq_ignore_ascii_case(name));
            if !known && !name.trim().is_empty() {
                missing.push(name.clone());
            }
        }
        if missing.is_empty() {
            return Ok(Vec::new());
        }
        let choices: Vec<Value> = missing
            .iter()
            .enumerate()
            .map(|(i, name)| json!({"value": name, "position": listed.len() + i + 1}))
            .collect();
        tracing::info!(types = ?missing, "Adding the ticket types the plan creates.");
        let update = Request::new(Method::PUT, format!("admin/ticket_fields/{id}"))
            .json(json!({ "choices": choices }));
        self.api.http.send(op, &update).await?;
        if let Some(setup) = self.setup.get() {
            let mut types = setup
                .types
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            types.extend(missing.iter().cloned());
        }
        missing
            .into_iter()
            .map(|name| {
                let id = PlatformId::parse(name.clone()).map_err(|e| ConnectError::Malformed {
                    op: op.to_owned(),
                    detail: e.to_string(),
                })?;
                Ok(crate::SetUp {
                    kind: SetupKind::TicketType,
                    id,
                    name,
                })
            })
            .collect()
    }

    /// Removes ticket type `name` that cutover added (a choice of the `ticket_type` field):
    /// `PUT /api/v2/admin/ticket_fields/{id}` with the choice marked `"deleted": true` (by its
    /// id where the listing gives one). A type the account no longer lists is not an error.
    pub(crate) async fn remove_ticket_type(&self, name: &PlatformId) -> Result<(), ConnectError> {
        let op = format!("remove ticket type {name} on freshdesk");
        let fields = self
            .api
            .list_all(&op, &Request::get("admin/ticket_fields"), 10)
            .await?;
        let Some(field) = fields
            .iter()
            .find(|f| f.get("name").and_then(Value::as_str) == Some("ticket_type"))
        else {
            return Ok(());
        };
        let Some(field_id) = field.get("id").and_then(Value::as_u64) else {
            return Ok(());
        };
        let choice = field
            .get("choices")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|c| {
                c.as_str()
                    .or_else(|| c.get("value").and_then(Value::as_str))
                    .is_some_and(|v| v == name.as_str())
            });
        let Some(choice) = choice else {
            return Ok(());
        };
        let mut gone = json!({"value": name.as_str(), "deleted": true});
        if let Some(id) = choice.get("id") {
            gone["id"] = id.clone();
        }
        let update = Request::new(Method::PUT, format!("admin/ticket_fields/{field_id}"))
            .json(json!({ "choices": [gone] }));
        self.api.http.send(&op, &update).await?;
        if let Some(setup) = self.setup.get() {
            setup
                .types
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .retain(|t| t != name.as_str());
        }
        Ok(())
    }
}
