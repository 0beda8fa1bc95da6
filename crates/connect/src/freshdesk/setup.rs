//! What a Freshdesk account needs before tickets are written into it, checked once per
//! connector: cutover's origin fields (created as text ticket fields when missing, as the real
//! API allows) and the account's ticket types (Freshdesk refuses a type it does not list).

use reqwest::Method;
use serde_json::{Value, json};

use super::FreshdeskConnector;
use crate::error::ConnectError;
use crate::http::Request;

/// The account's ticket set-up, as far as writing tickets goes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TicketSetup {
    /// The ticket types the account lists (`Question`, `Incident`, …).
    pub(crate) types: Vec<String>,
}

impl TicketSetup {
    /// The account's spelling of a ticket type (case aside), or none when it has no such type.
    pub(crate) fn type_named(&self, name: Option<&str>) -> Option<String> {
        let name = name?;
        self.types
            .iter()
            .find(|t| t.eq_ignore_ascii_case(name))
            .cloned()
    }
}

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
                        let body = json!({"label": label_for(name), "type": "custom_text"});
                        let create = Request::new(Method::POST, "admin/ticket_fields").json(body);
                        self.api.http.send(op, &create).await?;
                    }
                }
                let types = fields
                    .iter()
                    .find(|f| name_of(f).as_deref() == Some("ticket_type"))
                    .and_then(|f| f.get("choices"))
                    .and_then(Value::as_array)
                    .map(|choices| {
                        choices
                            .iter()
                            .filter_map(|c| c.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                Ok(TicketSetup { types })
            })
            .await
    }
}
