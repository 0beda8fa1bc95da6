//! Finding a copy on Freshdesk: by the origin custom field among the requester's tickets
//! (tickets), `unique_external_id` or e-mail (contacts: keys Freshdesk keeps unique, never a
//! phone, which two contacts may share), e-mail (agents), name (companies, groups, roles), label
//! (fields), or the header line of a note (comments). Every lookup reads the records through a
//! list: Freshdesk's search and autocomplete see a write only minutes later, so a copy made just
//! before a crash or a lost answer would not be found there.

use std::collections::BTreeSet;

use cutover_model::accounts::same_name;
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
                // Freshdesk refuses a second field whose label differs only by case or
                // spacing ("Loyalty Member" and "Loyalty member"): that field is the copy.
                let all = self.api.list_all(&op, &Request::get(path), 50).await?;
                let found = all
                    .iter()
                    .find(|r| str_of(r, "label") == Some(def.title.as_str()))
                    .or_else(|| {
                        all.iter().find(|r| {
                            str_of(r, "label").is_some_and(|label| same_name(label, &def.title))
                        })
                    })
                    .and_then(id_of);
                let prefix = match def.target {
                    FieldTarget::Ticket => "",
                    FieldTarget::Contact => "contact:",
                    FieldTarget::Organization => "company:",
                };
                Ok(found.and_then(|id| PlatformId::parse(format!("{prefix}{id}")).ok()))
            }
            Record::Ticket(ticket) => {
                let requester = outbound.targets.require(
                    &op,
                    "requester",
                    &[RecordKind::Contact, RecordKind::Agent],
                    &ticket.requester,
                )?;
                self.ticket_marked(&op, &requester, &mark).await
            }
            Record::Comment(comment) => {
                let ticket = ticket_of(&comment.ticket)?;
                let history = self.history(&op, &ticket).await?;
                Ok(history
                    .find(&outbound.origin, &outbound.taken)
                    .map(|(id, _)| id))
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

    /// A company by its (unique, case aside) name, through the list of companies: the
    /// autocomplete endpoint is a search, which sees a company made a moment ago minutes later,
    /// and answers a capped list.
    async fn company_named(
        &self,
        op: &str,
        name: &str,
    ) -> Result<Option<PlatformId>, ConnectError> {
        let all = self
            .api
            .list_all(op, &Request::get("companies"), MAX_LIST_PAGES)
            .await?;
        Ok(all
            .iter()
            .find(|c| str_of(c, "name").is_some_and(|n| n.trim().eq_ignore_ascii_case(name.trim())))
            .and_then(id_of))
    }

    /// The ticket of `requester` (its id on Freshdesk) whose origin field holds `mark`, through
    /// the list of the requester's tickets, newest first. `updated_since` lifts the list's
    /// default window of tickets created in the last 30 days.
    async fn ticket_marked(
        &self,
        op: &str,
        requester: &PlatformId,
        mark: &str,
    ) -> Result<Option<PlatformId>, ConnectError> {
        let field = &self.reading.origin_fields.id;
        let request = Request::get("tickets")
            .query("requester_id", requester.as_str())
            .query("updated_since", EVER)
            .query("order_by", "created_at");
        for page in 1..=MAX_LIST_PAGES {
            let list = self.api.list_page(op, request.clone(), page).await?;
            let marked = list.items.iter().find(|t| {
                t.get("custom_fields")
                    .and_then(|c| c.get(field))
                    .and_then(Value::as_str)
                    .is_some_and(|v| v.trim() == mark)
            });
            if let Some(found) = marked {
                return Ok(id_of(found));
            }
            if !list.has_next {
                break;
            }
        }
        Ok(None)
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
    pub(super) async fn first_where(
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

    /// A ticket's description and conversations, read once to match several comments.
    async fn history(&self, op: &str, ticket: &PlatformId) -> Result<History, ConnectError> {
        let (raw, _) = self
            .api
            .get(op, &Request::get(format!("tickets/{ticket}")))
            .await?;
        let conversations = self
            .api
            .list_all(
                op,
                &Request::get(format!("tickets/{ticket}/conversations")),
                100,
            )
            .await?;
        Ok(History {
            ticket: ticket.clone(),
            raw,
            conversations,
        })
    }

    /// Links the comments of a found ticket to the outbound's children, where their headers
    /// match, with the files each was written with.
    pub(crate) async fn match_children(
        &self,
        ticket: &PlatformId,
        outbound: &Outbound,
    ) -> Result<Vec<WrittenChild>, ConnectError> {
        let op = outbound.op("match comments of", FRESHDESK);
        let history = self.history(&op, ticket).await?;
        let mut children = Vec::new();
        for child in outbound
            .children
            .iter()
            .filter(|c| matches!(c.record, Record::Comment(_)))
        {
            if let Some((id, raw)) = history.find(&child.origin, &child.taken) {
                children.push(WrittenChild {
                    origin: child.origin.clone(),
                    id,
                });
                children.extend(super::write::attachment_children(raw, child));
            }
        }
        Ok(children)
    }

    /// The files of a found comment (its copy's attachments, matched by name).
    pub(crate) async fn comment_files(
        &self,
        comment: &PlatformId,
        outbound: &Outbound,
    ) -> Result<Vec<WrittenChild>, ConnectError> {
        let Record::Comment(record) = &outbound.record else {
            return Ok(Vec::new());
        };
        if outbound.uploads.is_empty() {
            return Ok(Vec::new());
        }
        let op = outbound.op("match files of", FRESHDESK);
        let ticket =
            outbound
                .targets
                .require(&op, "ticket", &[RecordKind::Ticket], &record.ticket)?;
        let history = self.history(&op, &ticket).await?;
        Ok(history
            .find(&outbound.origin, &outbound.taken)
            .filter(|(id, _)| id == comment)
            .map(|(_, raw)| super::write::attachment_children(raw, outbound))
            .unwrap_or_default())
    }
}

/// How far back a ticket lookup lists (the list's own default is the last 30 days).
pub(super) const EVER: &str = "2000-01-01T00:00:00Z";

/// How many pages of 100 a lookup lists at most (Freshdesk's lists end at page 300).
pub(super) const MAX_LIST_PAGES: u32 = 300;

/// A ticket's description and conversations as read.
struct History {
    ticket: PlatformId,
    raw: Value,
    conversations: Vec<Value>,
}

impl History {
    /// The conversation (or the description) that carries `origin`'s header, not `taken`, with
    /// its raw JSON (the ticket's for the description: its files are the ticket's).
    fn find(&self, origin: &Origin, taken: &BTreeSet<PlatformId>) -> Option<(PlatformId, &Value)> {
        let matches = |html: &str| {
            header::parse(html).is_some_and(|(info, _)| {
                info.side == origin.side && info.kind == origin.kind && info.id == origin.id
            })
        };
        if matches(str_of(&self.raw, "description").unwrap_or_default())
            && let Ok(id) = description_id(&self.ticket)
            && !taken.contains(&id)
        {
            return Some((id, &self.raw));
        }
        self.conversations
            .iter()
            .filter(|c| matches(str_of(c, "body").unwrap_or_default()))
            .find_map(|c| {
                let id = id_of(c)?;
                (!taken.contains(&id)).then_some((id, c))
            })
    }
}
