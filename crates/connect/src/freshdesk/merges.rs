//! Ticket merges on Freshdesk: read back from the note Freshdesk leaves on a ticket a merge
//! closed ("This ticket is closed and merged into ticket N"), looked for on closed tickets only
//! and remembered per ticket version (a ticket not changed since is not read again); written with
//! `PUT /tickets/merge`. A merge's notes (on the secondary and on the primary) are not comments of
//! the conversation: `conversations` leaves them out, as the merge itself is carried. A merge made
//! with a `note_in_secondary` of its own is not recognised (Freshdesk's ticket shows nothing else
//! of it). The first page of conversations read for a merge is kept a short while
//! ([`FirstPages`]): the ticket's comments read next take it instead of asking again.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use cutover_model::PlatformId;
use cutover_model::records::Record;
use reqwest::Method;
use serde_json::{Value, json};

use super::FreshdeskConnector;
use super::client::ListPage;
use crate::connector::Page;
use crate::error::ConnectError;
use crate::http::Request;

/// The start of the note Freshdesk leaves on a secondary ticket.
const SECONDARY_NOTE: &str = "This ticket is closed and merged into ticket ";
/// The start and end of the note Freshdesk leaves on the primary.
const PRIMARY_NOTE: (&str, &str) = ("Tickets with ids ", " were merged into this ticket");
/// Conversation pages read per closed ticket, at most, looking for its merge's note.
const MAX_PAGES: u32 = 10;
/// Closed tickets remembered; past this the memory starts over.
const MAX_REMEMBERED: usize = 100_000;

/// What was found of closed tickets' merges, by ticket: the version read and its target.
pub(crate) type MergeMemory =
    std::sync::Mutex<HashMap<PlatformId, (Option<DateTime<Utc>>, Option<PlatformId>)>>;

/// How long a first page of conversations read for a merge stays good for the ticket's comments
/// read next (in a backfill or a sync pass, right after its page of tickets).
const FIRST_PAGE_FRESH: std::time::Duration = std::time::Duration::from_secs(60);
/// First pages kept at most: a few pages of tickets' worth.
const MAX_FIRST_PAGES: usize = 1000;

/// The first page of conversations of closed tickets, as read for their merges, by ticket, with
/// when it was read: each taken once by the ticket's comments read (`changes::conversations`).
#[derive(Debug, Default)]
pub(crate) struct FirstPages(std::sync::Mutex<HashMap<PlatformId, (std::time::Instant, ListPage)>>);

impl FirstPages {
    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<PlatformId, (std::time::Instant, ListPage)>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Keeps ticket `id`'s first page of conversations.
    fn keep(&self, id: &PlatformId, page: ListPage) {
        let mut pages = self.lock();
        if pages.len() >= MAX_FIRST_PAGES {
            pages.retain(|_, (read, _)| read.elapsed() < FIRST_PAGE_FRESH);
            if pages.len() >= MAX_FIRST_PAGES {
                pages.clear();
            }
        }
        pages.insert(id.clone(), (std::time::Instant::now(), page));
    }

    /// Ticket `id`'s first page of conversations if read for its merge within
    /// [`FIRST_PAGE_FRESH`]; taken, so a later read asks again.
    pub(crate) fn take(&self, id: &PlatformId) -> Option<ListPage> {
        self.lock()
            .remove(id)
            .filter(|(read, _)| read.elapsed() < FIRST_PAGE_FRESH)
            .map(|(_, page)| page)
    }
}

fn text_of(raw: &Value) -> &str {
    raw.get("body_text")
        .and_then(Value::as_str)
        .or_else(|| raw.get("body").and_then(Value::as_str))
        .unwrap_or_default()
}

/// The plain text of a note, without the `<div>` Freshdesk wraps it in.
fn plain(text: &str) -> &str {
    let text = text.trim();
    let text = text.strip_prefix("<div>").unwrap_or(text);
    text.strip_suffix("</div>").unwrap_or(text).trim()
}

/// Whether a conversation (as the API shows it) is a note a merge left.
pub(crate) fn is_merge_note(raw: &Value) -> bool {
    if raw.get("private").and_then(Value::as_bool) != Some(true) {
        return false;
    }
    let text = plain(text_of(raw));
    target_in(text).is_some()
        || (text.starts_with(PRIMARY_NOTE.0) && text.ends_with(PRIMARY_NOTE.1))
}

fn target_in(text: &str) -> Option<PlatformId> {
    let rest = plain(text).strip_prefix(SECONDARY_NOTE)?;
    rest.trim_end_matches('.')
        .parse::<u64>()
        .ok()
        .map(PlatformId::from)
}

impl FreshdeskConnector {
    /// Reads the target of every closed ticket of `page` that a merge closed into its
    /// `merged_into`.
    pub(crate) async fn read_merges(&self, mut page: Page) -> Result<Page, ConnectError> {
        for item in &mut page.items {
            let Record::Ticket(ticket) = &mut item.record else {
                continue;
            };
            if ticket.status != "closed" {
                continue;
            }
            let known = self
                .merges
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .get(&item.id)
                .filter(|(seen, _)| item.updated_at.is_some() && *seen == item.updated_at)
                .map(|(_, into)| into.clone());
            let into = match known {
                Some(into) => into,
                None => {
                    let into = self.merge_target(&item.id).await?;
                    let mut memory = self
                        .merges
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    if memory.len() >= MAX_REMEMBERED {
                        memory.clear();
                    }
                    memory.insert(item.id.clone(), (item.updated_at, into.clone()));
                    into
                }
            };
            ticket.merged_into = into;
        }
        Ok(page)
    }

    /// The ticket that ticket `id` was merged into, from the last merge note on it.
    async fn merge_target(&self, id: &PlatformId) -> Result<Option<PlatformId>, ConnectError> {
        let op = format!("read the merge of ticket {id} from freshdesk");
        let mut found = None;
        for number in 1..=MAX_PAGES {
            let request = Request::get(format!("tickets/{id}/conversations"));
            let list = match self.api.list_page(&op, request, number).await {
                Err(e) if e.status() == Some(404) => return Ok(None),
                other => other?,
            };
            if let Some(into) = list
                .items
                .iter()
                .filter(|c| c.get("private").and_then(Value::as_bool) == Some(true))
                .rev()
                .find_map(|c| target_in(text_of(c)))
            {
                found = Some(into);
            }
            let has_next = list.has_next;
            if number == 1 {
                // Kept, not copied: the comments read next take it.
                self.first_pages.keep(id, list);
            }
            if !has_next {
                break;
            }
        }
        Ok(found)
    }

    /// `PUT /tickets/merge` with Freshdesk's own notes, recipients left as they are.
    pub(crate) async fn merge_tickets(
        &self,
        into: &PlatformId,
        sources: &[PlatformId],
    ) -> Result<(), ConnectError> {
        let ids = sources
            .iter()
            .map(PlatformId::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        let op = format!("merge ticket(s) {ids} into ticket {into} on freshdesk");
        let number = |id: &PlatformId| {
            id.as_str()
                .parse::<u64>()
                .map_err(|_| ConnectError::Malformed {
                    op: op.clone(),
                    detail: format!("ticket id {id} is not a number"),
                })
        };
        let secondaries = sources.iter().map(number).collect::<Result<Vec<_>, _>>()?;
        let body = json!({
            "primary_id": number(into)?,
            "ticket_ids": secondaries,
            "convert_recepients_to_cc": false,
        });
        let request = Request::new(Method::PUT, "tickets/merge").json(body);
        self.api.http.send(&op, &request).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_notes_are_known_by_their_default_text_when_private() {
        let secondary = json!({"private": true, "body_text": "This ticket is closed and merged into ticket 12"});
        assert!(is_merge_note(&secondary));
        assert_eq!(target_in(text_of(&secondary)), Some(PlatformId::from(12)));
        let primary = json!({"private": true, "body": "<div>Tickets with ids 3, 4 were merged into this ticket</div>"});
        assert!(is_merge_note(&primary));
        assert_eq!(target_in(text_of(&primary)), None);
        let public = json!({"private": false, "body_text": "This ticket is closed and merged into ticket 12"});
        assert!(!is_merge_note(&public));
        let other = json!({"private": true, "body_text": "merged into ticket 12, see there"});
        assert!(!is_merge_note(&other));
    }
}
