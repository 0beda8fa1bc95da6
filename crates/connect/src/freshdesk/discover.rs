//! What a Freshdesk account holds that only its own endpoints say: the statuses of its status
//! field (custom ones by their code, as tickets carry them, with their label), its ticket types,
//! products, support addresses (e-mail configs) and the agent the API key belongs to.
//! Priorities are Freshdesk's fixed four; groups, roles, agents and fields are read as records
//! by the engine.

use cutover_model::PlatformKind;
use cutover_model::accounts::{AccountSnapshot, NamedValue};
use serde_json::Value;

use super::FreshdeskConnector;
use super::mapping::{PRIORITIES, STATUSES};
use crate::error::ConnectError;
use crate::http::Request;

/// The most pages of a short list discovery reads.
const MAX_PAGES: u32 = 50;

/// The built-in roles that may use the Admin tab (create fields, agents, automation rules).
const ADMIN_ROLES: [&str; 2] = ["Account Administrator", "Administrator"];

impl FreshdeskConnector {
    /// Who the API key is (see [`crate::Connector::access`]): `agents/me`'s roles, named from
    /// `roles` (which only an admin may list: a refusal there means no admin), and its ticket
    /// scope (1: every ticket; 2: its groups'; 3: its own).
    pub(crate) async fn read_access(&self) -> Result<crate::Access, ConnectError> {
        let op = "read the agent the API key belongs to from freshdesk";
        let (me, _) = self.api.get(op, &Request::get("agents/me")).await?;
        let role_ids: Vec<u64> = me
            .get("role_ids")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_u64)
            .collect();
        let op = "read the roles from freshdesk";
        let names: Vec<String> = match self.api.get(op, &Request::get("roles")).await {
            Ok((Value::Array(roles), _)) => roles
                .iter()
                .filter(|r| {
                    r.get("id")
                        .and_then(Value::as_u64)
                        .is_some_and(|id| role_ids.contains(&id))
                })
                .filter_map(|r| text(r, "name"))
                .collect(),
            Ok(_) => Vec::new(),
            Err(e) if matches!(e.status(), Some(403)) => Vec::new(),
            Err(e) => return Err(e),
        };
        let admin = names.iter().any(|n| ADMIN_ROLES.contains(&n.as_str()));
        let role = if names.is_empty() {
            "an agent role without access to Admin".to_owned()
        } else {
            names.join(", ")
        };
        Ok(crate::Access {
            user: me.get("contact").and_then(|c| text(c, "email")),
            role,
            admin,
            every_ticket: me.get("ticket_scope").and_then(Value::as_u64) == Some(1),
        })
    }

    /// The account's vocabulary (see [`crate::Connector::discover`]).
    pub(crate) async fn discover_account(&self) -> Result<AccountSnapshot, ConnectError> {
        let mut snapshot = AccountSnapshot::empty(PlatformKind::Freshdesk, self.base_url.clone());
        snapshot.statuses = STATUSES
            .iter()
            .map(|(_, name)| NamedValue::builtin(*name))
            .collect();
        snapshot.priorities = PRIORITIES
            .iter()
            .map(|(_, name)| NamedValue::builtin(*name))
            .collect();
        for field in self.all("ticket_fields").await? {
            match field.get("name").and_then(Value::as_str) {
                Some("status") => snapshot.statuses.extend(custom_statuses(&field)),
                Some("ticket_type") => snapshot.ticket_types = choices(&field),
                _ => {}
            }
        }
        for product in self.all("products").await? {
            if let Some(name) = text(&product, "name") {
                snapshot.brands.push(NamedValue::new(name));
            }
        }
        for config in self.all("email_configs").await? {
            if let Some(email) = text(&config, "to_email") {
                let mut address = NamedValue::new(email);
                address.active = config.get("active").and_then(Value::as_bool) != Some(false);
                snapshot.addresses.push(address);
            }
        }
        let op = "read the agent the API key belongs to from freshdesk";
        snapshot.owner = match self.api.get(op, &Request::get("agents/me")).await {
            Ok((body, _)) => body.get("contact").and_then(|c| text(c, "email")),
            Err(e) if matches!(e.status(), Some(403 | 404)) => None,
            Err(e) => return Err(e),
        };
        Ok(snapshot)
    }

    /// Every item of a short list; an account without the feature (403, 404) has none.
    async fn all(&self, path: &str) -> Result<Vec<Value>, ConnectError> {
        let op = format!("discover the freshdesk account ({path})");
        match self.api.list_all(&op, &Request::get(path), MAX_PAGES).await {
            Err(e) if matches!(e.status(), Some(403 | 404)) => Ok(Vec::new()),
            other => other,
        }
    }
}

/// The custom statuses of the status field: codes above Freshdesk's own (2 to 5), by code, with
/// their label. Choices come as `{"6": ["Waiting on Customer", "Awaiting your Reply"]}`.
fn custom_statuses(field: &Value) -> Vec<NamedValue> {
    let Some(Value::Object(choices)) = field.get("choices") else {
        return Vec::new();
    };
    let mut statuses: Vec<(i64, NamedValue)> = choices
        .iter()
        .filter_map(|(code, labels)| {
            let number = code.parse::<i64>().ok().filter(|c| *c > 5)?;
            let label = match labels {
                Value::Array(labels) => labels.first().and_then(Value::as_str),
                Value::String(label) => Some(label.as_str()),
                _ => None,
            };
            let value = NamedValue::new(code.clone());
            Some((number, label.map_or(value.clone(), |l| value.labelled(l))))
        })
        .collect();
    statuses.sort_by_key(|(code, _)| *code);
    statuses.into_iter().map(|(_, value)| value).collect()
}

/// The choices of a field listed as strings (ticket types).
fn choices(field: &Value) -> Vec<NamedValue> {
    field
        .get("choices")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(NamedValue::new)
        .collect()
}

/// A string field of a JSON object.
fn text(raw: &Value, name: &str) -> Option<String> {
    raw.get(name).and_then(Value::as_str).map(str::to_owned)
}

impl FreshdeskConnector {
    /// Reads the account's products into the connector's list when it does not know every one
    /// of `values` (product ids when `by_id`, else names): a product added since is then known.
    pub(crate) async fn know_brands(
        &self,
        values: &[String],
        by_id: bool,
    ) -> Result<(), ConnectError> {
        if values.is_empty() || self.brands.knows(values, by_id) {
            return Ok(());
        }
        let _reading = self.brands.reading().await;
        if self.brands.knows(values, by_id) {
            // Read meanwhile by another write.
            return Ok(());
        }
        let products = self.all("products").await?;
        self.brands.keep(&products);
        Ok(())
    }

    /// `page` with each ticket's product id turned into the product's name.
    pub(crate) async fn name_brands(
        &self,
        mut page: crate::connector::Page,
    ) -> Result<crate::connector::Page, ConnectError> {
        let ids = crate::brands::ids_in(&page);
        if ids.is_empty() {
            return Ok(page);
        }
        self.know_brands(&ids, true).await?;
        self.brands.name_tickets(&mut page);
        Ok(page)
    }

    /// Reads the account's products when the ticket of `outbound` names one it does not hold.
    pub(crate) async fn know_ticket_brand(
        &self,
        outbound: &crate::outbound::Outbound,
    ) -> Result<(), ConnectError> {
        if let cutover_model::records::Record::Ticket(ticket) = &outbound.record
            && let Some(brand) = &ticket.brand
        {
            self.know_brands(std::slice::from_ref(brand), false).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn custom_statuses_are_named_by_code_and_labelled() {
        let field = json!({"name": "status", "choices": {
            "2": ["Open", "Being Processed"], "7": ["Waiting on Third Party", "x"],
            "6": ["Waiting on Customer", "y"], "5": ["Closed", "z"]}});
        let statuses = custom_statuses(&field);
        let shown: Vec<String> = statuses.iter().map(NamedValue::display).collect();
        assert_eq!(
            shown,
            [
                "\"6\" (\"Waiting on Customer\")",
                "\"7\" (\"Waiting on Third Party\")"
            ]
        );
    }
}
