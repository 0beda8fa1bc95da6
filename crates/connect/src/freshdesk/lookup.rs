//! Finding a copy on Freshdesk before creating one: by the origin custom field (tickets, through
//! search), `unique_external_id`, e-mail or phone (contacts), e-mail (agents), name (companies,
//! groups, roles), label (fields), or the header line of a note (comments).

use cutover_model::records::{FieldTarget, Record};
use cutover_model::{PlatformId, PlatformKind, RecordKind};
use serde_json::Value;

use super::FreshdeskConnector;
use super::bodies;
use super::mapping::description_id;
use crate::connector::WrittenChild;
use crate::error::ConnectError;
use crate::header;
use crate::http::Request;
use crate::outbound::{Origin, Outbound};

const FRESHDESK: PlatformKind = PlatformKind::Freshdesk;

fn id_of(record: &Value) -> Option<PlatformId> {
    match record.get("id")? {
        Value::Number(n) => n.as_u64().map(PlatformId::from),
        Value::String(s) => PlatformId::parse(s.clone()).ok(),
        _ => None,
    }
}

fn str_of<'a>(record: &'a Value, key: &str) -> Option<&'a str> {
    record.get(key).and_then(Value::as_str)
}

/// The field name as Freshdesk's search query language spells it (without `cf_`).
pub(crate) fn search_field(field: &str) -> &str {
    field.strip_prefix("cf_").unwrap_or(field)
}

impl FreshdeskConnector {
    /// Finds a copy of `outbound` on Freshdesk.
    pub(crate) async fn find(
        &self,
        outbound: &Outbound,
    ) -> Result<Option<PlatformId>, ConnectError> {
        let op = outbound.op("look up", FRESHDESK);
        let mark = outbound.origin.mark();
        let ticket_of = |key| {
            outbound
                .targets
                .require(&op, "ticket", &[RecordKind::Ticket], key)
        };
        match &outbound.record {
            Record::Organization(org) => self.company_named(&op, &org.name).await,
            Record::Contact(contact) => {
                let external = contact.external_id.clone().unwrap_or(mark);
                let mut filters = vec![("unique_external_id", external)];
                filters.extend(contact.email.clone().map(|e| ("email", e)));
                filters.extend(contact.phone.clone().map(|p| ("phone", p)));
                for (filter, value) in filters {
                    let request = Request::get("contacts").query(filter, &value);
                    if let Some(id) = self.first_where(&op, request, filter, &value).await? {
                        return Ok(Some(id));
                    }
                }
                Ok(None)
            }
            Record::Agent(agent) => {
                let request = Request::get("agents").query("email", &agent.email);
                self.first_where(&op, request, "email", &agent.email).await
            }
            Record::Group(group) => self.in_list(&op, "groups", "name", &group.name).await,
            Record::Role(role) => self.in_list(&op, "roles", "name", &role.name).await,
            Record::CustomField(def) => {
                let path = bodies::field_paths(def.target).1;
                let found = self.in_list(&op, path, "label", &def.title).await?;
                let prefix = match def.target {
                    FieldTarget::Ticket => "",
                    FieldTarget::Contact => "contact:",
                    FieldTarget::Organization => "company:",
                };
                Ok(found.and_then(|id| PlatformId::parse(format!("{prefix}{id}")).ok()))
            }
            Record::Ticket(_) => {
                // Search is eventually consistent: a ticket created seconds ago may not show yet.
                let field = search_field(&self.reading.origin_fields.id);
                let query = format!("\"{field}:'{mark}'\"");
                self.first(&op, Request::get("search/tickets").query("query", &query))
                    .await
            }
            Record::Comment(comment) => {
                let ticket = ticket_of(&comment.ticket)?;
                let found = self.conversation_of(&op, &ticket, &outbound.origin).await?;
                Ok(found.map(|(id, _)| id))
            }
            Record::SatisfactionRating(rating) => {
                let ticket = ticket_of(&rating.ticket)?;
                let path = format!("tickets/{ticket}/satisfaction_ratings");
                self.first(&op, Request::get(path)).await
            }
            Record::Macro(_) | Record::Automation(_) | Record::SlaPolicy(_) => {
                self.find_rule(outbound, &op).await
            }
            _ => Ok(None),
        }
    }

    /// A company by its exact (unique) name, through the autocomplete endpoint.
    async fn company_named(
        &self,
        op: &str,
        name: &str,
    ) -> Result<Option<PlatformId>, ConnectError> {
        let request = Request::get("companies/autocomplete").query("name", name);
        let body = match self.api.get(op, &request).await {
            // An account (or emulator) without the autocomplete endpoint: the whole list.
            Err(e) if e.status() == Some(404) => {
                return self.in_list(op, "companies", "name", name).await;
            }
            other => other?.0,
        };
        let companies = body.get("companies").and_then(Value::as_array);
        Ok(companies
            .into_iter()
            .flatten()
            .find(|c| str_of(c, "name") == Some(name))
            .and_then(id_of))
    }

    /// The first record of a filtered list or search.
    async fn first(&self, op: &str, request: Request) -> Result<Option<PlatformId>, ConnectError> {
        match self.api.list_page(op, request, 1).await {
            // A filter the account's API does not know is no match, not a failure.
            Err(e) if e.status() == Some(400) => Ok(None),
            other => Ok(other?.items.first().and_then(id_of)),
        }
    }

    /// The first record of a filtered list whose `field` really is `value` (case aside): a
    /// filter the server ignores must not make every record a match.
    async fn first_where(
        &self,
        op: &str,
        request: Request,
        field: &str,
        value: &str,
    ) -> Result<Option<PlatformId>, ConnectError> {
        let page = match self.api.list_page(op, request, 1).await {
            // A filter the account's API does not know is no match, not a failure.
            Err(e) if e.status() == Some(400) => return Ok(None),
            other => other?,
        };
        let field_of = |r: &Value| match field {
            // An agent's e-mail is on its contact.
            "email" => str_of(r, "email")
                .or_else(|| r.get("contact").and_then(|c| str_of(c, "email")))
                .map(str::to_owned),
            _ => str_of(r, field).map(str::to_owned),
        };
        Ok(page
            .items
            .iter()
            .find(|r| field_of(r).is_some_and(|v| v.eq_ignore_ascii_case(value)))
            .and_then(id_of))
    }

    pub(super) async fn in_list(
        &self,
        op: &str,
        path: &str,
        field: &str,
        wanted: &str,
    ) -> Result<Option<PlatformId>, ConnectError> {
        let all = self.api.list_all(op, &Request::get(path), 50).await?;
        Ok(all
            .iter()
            .find(|r| str_of(r, field) == Some(wanted))
            .and_then(id_of))
    }

    /// The conversation of `ticket` (or its description) that carries `origin`'s header.
    async fn conversation_of(
        &self,
        op: &str,
        ticket: &PlatformId,
        origin: &Origin,
    ) -> Result<Option<(PlatformId, Value)>, ConnectError> {
        let matches = |html: &str| {
            header::parse(html).is_some_and(|(info, _)| {
                info.side == origin.side && info.kind == origin.kind && info.id == origin.id
            })
        };
        let (raw, _) = self
            .api
            .get(op, &Request::get(format!("tickets/{ticket}")))
            .await?;
        if matches(str_of(&raw, "description").unwrap_or_default()) {
            return Ok(description_id(ticket).ok().map(|id| (id, raw)));
        }
        let all = self
            .api
            .list_all(
                op,
                &Request::get(format!("tickets/{ticket}/conversations")),
                100,
            )
            .await?;
        Ok(all
            .into_iter()
            .find(|c| matches(str_of(c, "body").unwrap_or_default()))
            .and_then(|c| Some((id_of(&c)?, c))))
    }

    /// Links the comments of a found ticket to the outbound's children, where their headers match.
    pub(crate) async fn match_children(
        &self,
        ticket: &PlatformId,
        outbound: &Outbound,
    ) -> Result<Vec<WrittenChild>, ConnectError> {
        let op = outbound.op("match comments of", FRESHDESK);
        let mut children = Vec::new();
        for child in outbound
            .children
            .iter()
            .filter(|c| matches!(c.record, Record::Comment(_)))
        {
            if let Some((id, _)) = self.conversation_of(&op, ticket, &child.origin).await? {
                children.push(WrittenChild {
                    origin: child.origin.clone(),
                    id,
                });
            }
        }
        Ok(children)
    }
}
