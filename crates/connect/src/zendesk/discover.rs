//! What a Zendesk account holds that only its own endpoints say: its custom statuses (read by
//! their category), brands, support addresses and the user the token belongs to. Statuses,
//! priorities and ticket types are Zendesk's fixed ones; groups, roles, agents and fields are
//! read as records by the engine.

use cutover_model::PlatformKind;
use cutover_model::accounts::{AccountSnapshot, NamedValue};
use serde_json::Value;

use super::ZendeskConnector;
use super::mapping::{PRIORITIES, STATUSES};
use crate::error::ConnectError;
use crate::http::Request;

impl ZendeskConnector {
    /// Who the credentials are (see [`crate::Connector::access`]): `users/me`'s role; an agent
    /// with a ticket restriction sees only some tickets.
    pub(crate) async fn read_access(&self) -> Result<crate::Access, ConnectError> {
        let op = "read the user the token belongs to from zendesk";
        let (body, _) = self.api.get(op, &Request::get("users/me.json")).await?;
        let user = body.get("user").unwrap_or(&Value::Null);
        let role = text(user, "role").unwrap_or_else(|| "end-user".to_owned());
        let admin = role == "admin";
        let restricted = user.get("ticket_restriction").is_some_and(|r| !r.is_null());
        Ok(crate::Access {
            user: text(user, "email"),
            every_ticket: admin || (role == "agent" && !restricted),
            role,
            admin,
        })
    }

    /// The account's vocabulary (see [`crate::Connector::discover`]).
    pub(crate) async fn discover_account(&self) -> Result<AccountSnapshot, ConnectError> {
        let mut snapshot = AccountSnapshot::empty(PlatformKind::Zendesk, self.base_url.clone());
        snapshot.statuses = STATUSES.iter().map(|s| NamedValue::builtin(*s)).collect();
        snapshot.priorities = PRIORITIES.iter().map(|p| NamedValue::builtin(*p)).collect();
        snapshot.ticket_types = super::ZENDESK_TICKET_TYPES
            .iter()
            .map(|t| NamedValue::builtin(*t))
            .collect();
        for status in self.all("custom_statuses.json", "custom_statuses").await? {
            let label = text(&status, "agent_label");
            let category = text(&status, "status_category");
            let default = status.get("default").and_then(Value::as_bool) == Some(true);
            if let (Some(label), Some(category), false) = (label, category, default) {
                let mut value = NamedValue::new(label).labelled(format!("read as {category}"));
                value.active = status.get("active").and_then(Value::as_bool) != Some(false);
                snapshot.status_labels.push(value);
            }
        }
        for brand in self.all("brands.json", "brands").await? {
            if let Some(name) = text(&brand, "name") {
                snapshot.brands.push(NamedValue::new(name));
            }
        }
        for address in self
            .all("recipient_addresses.json", "recipient_addresses")
            .await?
        {
            if let Some(email) = text(&address, "email") {
                snapshot.addresses.push(NamedValue::new(email));
            }
        }
        let op = "read the user the token belongs to from zendesk";
        snapshot.owner = match self.api.get(op, &Request::get("users/me.json")).await {
            Ok((body, _)) => body.get("user").and_then(|u| text(u, "email")),
            Err(e) if matches!(e.status(), Some(403 | 404)) => None,
            Err(e) => return Err(e),
        };
        Ok(snapshot)
    }

    /// Every item of a list; an account without the feature (403, 404) has none.
    async fn all(&self, path: &str, key: &str) -> Result<Vec<Value>, ConnectError> {
        let op = format!("discover the zendesk account ({path})");
        let mut items = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let list = match self
                .api
                .list_page(&op, path, key, token.as_deref(), true)
                .await
            {
                Err(e) if matches!(e.status(), Some(403 | 404)) && token.is_none() => {
                    return Ok(items);
                }
                other => other?,
            };
            items.extend(list.items);
            match list.next {
                Some(next) if Some(&next) != token.as_ref() => token = Some(next),
                _ => return Ok(items),
            }
        }
    }
}

/// A string field of a JSON object.
fn text(raw: &Value, name: &str) -> Option<String> {
    raw.get(name).and_then(Value::as_str).map(str::to_owned)
}

impl ZendeskConnector {
    /// Reads the account's brands into the connector's list when it does not know every one
    /// of `values` (brand ids when `by_id`, else names): a brand added since is then known.
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
        let brands = self.all("brands.json", "brands").await?;
        self.brands.keep(&brands);
        Ok(())
    }

    /// `page` with each ticket's brand id turned into the brand's name.
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

    /// Adds the brands `names` the account does not list (case aside); returns those added.
    /// Zendesk asks a brand's subdomain too: the name in lower case, letters and digits only.
    pub(crate) async fn add_brands(
        &self,
        names: &[String],
    ) -> Result<Vec<crate::SetUp>, ConnectError> {
        let op = "add brands on zendesk";
        let listed = self.all("brands.json", "brands").await?;
        self.brands.keep(&listed);
        let mut added: Vec<crate::SetUp> = Vec::new();
        for name in names {
            if name.trim().is_empty()
                || self.brands.id_of(Some(name)).is_some()
                || added.iter().any(|a| a.name.eq_ignore_ascii_case(name))
            {
                continue;
            }
            let subdomain: String = name
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .map(|c| c.to_ascii_lowercase())
                .collect();
            let body = serde_json::json!({"brand": {"name": name, "subdomain": subdomain}});
            let request = Request::new(reqwest::Method::POST, "brands.json").json(body);
            let answer = self.api.http.send(op, &request).await?;
            let body: serde_json::Value =
                serde_json::from_slice(&answer.body).map_err(|e| ConnectError::Malformed {
                    op: op.to_owned(),
                    detail: e.to_string(),
                })?;
            added.push(crate::SetUp {
                kind: cutover_model::SetupKind::Brand,
                id: super::write::created_id(op, &body, "brand")?,
                name: name.clone(),
            });
        }
        if !added.is_empty() {
            let names: Vec<&str> = added.iter().map(|a| a.name.as_str()).collect();
            tracing::info!(brands = ?names, "Added the brands the plan creates.");
            self.brands.forget();
        }
        Ok(added)
    }
}
