//! Many tickets' comments in one read: the time-based incremental ticket events export with
//! `include=comment_events` gives every comment (with its attachments' metadata) as a child
//! event of the audit that added it, a thousand audits a page, instead of one
//! `tickets/{id}/comments` request a ticket.
//!
//! The export is read from its start and held in memory only: no position of its own is
//! saved, so nothing here moves past work that is not durable (after a restart the export is
//! read again from its start; the tickets' cursor is what says how far a backfill got).
//! Comments wait here until their ticket comes by in the ticket export (whose order is the
//! tickets' versions: all of a ticket's events are older than its version). What is read per
//! ticket instead: a ticket whose version is newer than the export has reached, a ticket whose
//! comments were let go (too many held: [`MAX_HELD`], or of a ticket that went by long before,
//! as after a restart), and a ticket handed out once already (a later comment alone would look
//! like all of them).

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use cutover_model::{PlatformId, PlatformKind, RecordKind, Side};
use serde_json::Value;

use super::client::{INCREMENTAL_LANE, ZendeskApi};
use super::mapping;
use crate::connector::Page;
use crate::error::ConnectError;
use crate::fields::collect;
use crate::http::Request;

const ZENDESK: PlatformKind = PlatformKind::Zendesk;

/// The most comments held for tickets that have not come by yet: past it, the comments of a
/// ticket not held yet are let go (that ticket is read per ticket), which bounds memory.
const MAX_HELD: usize = 20_000;

/// How much older than the oldest ticket asked for a ticket's last event must be for its held
/// comments to be let go: its ticket went by before (a version is whole seconds, and a
/// ticket's events and its version may be a second apart).
const GONE_BY_SECS: i64 = 2;

/// The most ticket versions remembered from the ticket export: past it they are forgotten
/// (a ticket without one waits for the export read to its end).
const MAX_VERSIONS: usize = 200_000;

/// The export's state (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct CommentEvents {
    state: tokio::sync::Mutex<Stream>,
    /// Each ticket's `generated_timestamp` as the ticket export last showed it: no event of
    /// the ticket is newer (its `updated_at` may be: an import sets it).
    versions: std::sync::Mutex<HashMap<u64, i64>>,
}

#[derive(Debug, Default)]
struct Stream {
    /// The next request's `start_time`.
    start_time: i64,
    /// Every event older than this (Unix seconds) has been read.
    complete_before: i64,
    /// Comments read (raw, whether the page was decoded lossily) of tickets not handed out.
    held: HashMap<u64, Vec<(Value, bool)>>,
    /// The time of each held ticket's latest event.
    last_event: HashMap<u64, i64>,
    /// How many comments `held` holds.
    n_held: usize,
    /// Tickets whose comments are not all held: read per ticket.
    let_go: HashSet<u64>,
}

impl Stream {
    /// Takes in one page of the export, keeping its comments without copying them.
    fn take(&mut self, events: Vec<Value>, lossy: bool) {
        for mut event in events {
            let (Some(ticket), Some(time)) = (
                event.get("ticket_id").and_then(Value::as_u64),
                event.get("timestamp").and_then(Value::as_i64),
            ) else {
                continue;
            };
            if self.let_go.contains(&ticket) {
                continue;
            }
            let children = match event.get_mut("child_events").map(Value::take) {
                Some(Value::Array(children)) => children,
                _ => Vec::new(),
            };
            let comments: Vec<Value> = children
                .into_iter()
                // Either says it (one field that does not read, as in a malformed record, does
                // not lose the comment: mapping it dead-letters it as a per-ticket read would).
                .filter(|c| {
                    c.get("event_type").and_then(Value::as_str) == Some("Comment")
                        || c.get("type").and_then(Value::as_str) == Some("Comment")
                })
                .collect();
            let known = self.held.contains_key(&ticket);
            if !known && !comments.is_empty() && self.n_held >= MAX_HELD {
                self.let_go.insert(ticket);
                continue;
            }
            let last = self.last_event.entry(ticket).or_insert(time);
            *last = (*last).max(time);
            let held = self.held.entry(ticket).or_default();
            for comment in comments {
                // Time-based pages repeat their boundary second: a comment comes once.
                let id = comment.get("id").and_then(Value::as_u64);
                if held
                    .iter()
                    .any(|(c, _)| c.get("id").and_then(Value::as_u64) == id)
                {
                    continue;
                }
                held.push((comment, lossy));
                self.n_held += 1;
            }
        }
    }

    /// Lets go the comments of tickets (but those in `asked`) whose last event is well before
    /// `oldest`: their ticket went by already (or, after a restart, before this run).
    fn let_go_before(&mut self, oldest: i64, asked: &HashSet<u64>) {
        let gone: Vec<u64> = self
            .last_event
            .iter()
            .filter(|(ticket, last)| **last < oldest - GONE_BY_SECS && !asked.contains(ticket))
            .map(|(ticket, _)| *ticket)
            .collect();
        for ticket in gone {
            self.hand_out(ticket);
        }
    }

    /// Removes a ticket's held comments; from now on it is read per ticket.
    fn hand_out(&mut self, ticket: u64) -> Option<Vec<(Value, bool)>> {
        self.last_event.remove(&ticket);
        self.let_go.insert(ticket);
        let held = self.held.remove(&ticket)?;
        self.n_held = self.n_held.saturating_sub(held.len());
        Some(held)
    }
}

impl CommentEvents {
    /// Remembers the versions (`generated_timestamp`) of tickets the ticket export gave.
    pub(crate) fn note_versions(&self, tickets: &[Value]) {
        let mut versions = self
            .versions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if versions.len() + tickets.len() > MAX_VERSIONS {
            versions.clear();
        }
        for raw in tickets {
            if let (Some(id), Some(version)) = (
                raw.get("id").and_then(Value::as_u64),
                raw.get("generated_timestamp").and_then(Value::as_i64),
            ) {
                versions.insert(id, version);
            }
        }
    }

    /// The comments (each followed by its attachments) of those of `tickets` the export
    /// gives whole, each ticket's as one page; the others are left out, to be read per ticket.
    /// A ticket whose version the ticket export did not show is given only once this export
    /// was read to its end after this call began.
    pub(crate) async fn read(
        &self,
        api: &ZendeskApi,
        side: Side,
        tickets: &[PlatformId],
    ) -> Result<Vec<(PlatformId, Page)>, ConnectError> {
        let mut stream = self.state.lock().await;
        let wanted: Vec<(PlatformId, u64, Option<i64>)> = {
            let versions = self
                .versions
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            tickets
                .iter()
                .filter_map(|id| {
                    let number = id.as_str().parse::<u64>().ok()?;
                    Some((id.clone(), number, versions.get(&number).copied()))
                })
                .filter(|(_, number, _)| !stream.let_go.contains(number))
                .collect()
        };
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        if let Some(oldest) = wanted.iter().filter_map(|(_, _, v)| *v).min() {
            let asked: HashSet<u64> = wanted.iter().map(|(_, number, _)| *number).collect();
            stream.let_go_before(oldest, &asked);
        }
        let newest = wanted
            .iter()
            .map(|(_, _, v)| v.unwrap_or(i64::MAX))
            .max()
            .unwrap_or(i64::MAX);
        let mut reached_end = false;
        while stream.complete_before <= newest && !reached_end {
            let start_time = stream.start_time;
            let page = events_page(api, start_time).await?;
            stream.take(page.events, page.lossy);
            reached_end = page.end_of_stream;
            match page.end_time {
                Some(end) if end > start_time || page.end_of_stream => {
                    stream.start_time = end.max(start_time);
                    if !page.end_of_stream {
                        stream.complete_before = end;
                    }
                }
                // No progress: what is not whole yet is read per ticket.
                _ => break,
            }
        }
        let mut pages = Vec::new();
        for (id, number, version) in wanted {
            let whole = match version {
                Some(v) => v < stream.complete_before || reached_end,
                None => reached_end,
            };
            if !whole || !stream.held.contains_key(&number) {
                continue;
            }
            let Some(held) = stream.hand_out(number) else {
                continue;
            };
            pages.push((id.clone(), comments_page(&held, side, &id)));
        }
        Ok(pages)
    }
}

/// One page of the ticket events export.
pub(super) struct EventsPage {
    pub(super) events: Vec<Value>,
    pub(super) lossy: bool,
    pub(super) end_time: Option<i64>,
    pub(super) end_of_stream: bool,
}

/// The page of the ticket events export (with comment events) from `start_time` (held to the
/// latest start the export takes: its last minute is left out).
pub(super) async fn events_page(
    api: &ZendeskApi,
    start_time: i64,
) -> Result<EventsPage, ConnectError> {
    let op = "read comments from zendesk (incremental ticket events export)";
    // The export refuses a start within its last minute.
    let latest = Utc::now().timestamp() - 61;
    let request = Request::get("incremental/ticket_events.json")
        .query("start_time", start_time.clamp(0, latest.max(0)))
        .query("include", "comment_events")
        .query("per_page", api.export_page_size)
        .lane(INCREMENTAL_LANE);
    let (mut body, lossy) = api.get(op, &request).await?;
    // Taken, not cloned: a page of a thousand audits is most of what a verification holds.
    let events = match body.get_mut("ticket_events").map(Value::take) {
        Some(Value::Array(events)) => events,
        Some(Value::Null) => Vec::new(),
        _ => {
            return Err(ConnectError::Malformed {
                op: op.to_owned(),
                detail: "no `ticket_events` array in the answer".into(),
            });
        }
    };
    Ok(EventsPage {
        events,
        lossy,
        end_time: body.get("end_time").and_then(Value::as_i64),
        end_of_stream: body
            .get("end_of_stream")
            .and_then(Value::as_bool)
            .unwrap_or(true),
    })
}

/// A ticket's held comments as the page `tickets/{id}/comments` would give, oldest first.
fn comments_page(held: &[(Value, bool)], side: Side, ticket: &PlatformId) -> Page {
    let mut sorted: Vec<&(Value, bool)> = held.iter().collect();
    sorted.sort_by_key(|(c, _)| {
        (
            c.get("created_at")
                .and_then(Value::as_str)
                .map(str::to_owned),
            c.get("id").and_then(Value::as_u64),
        )
    });
    let mut page = Page {
        done: true,
        ..Page::default()
    };
    // A merge's comments are not carried as comments: the merge is (see `merges.rs`).
    for (raw, lossy) in sorted
        .into_iter()
        .filter(|(c, _)| !super::merges::is_merge_comment(c))
    {
        collect(
            &mut page,
            ZENDESK,
            RecordKind::Comment,
            raw,
            *lossy,
            |raw| mapping::comment(raw, side, ticket),
        );
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(ticket: u64, time: i64, comments: &[u64]) -> Value {
        let children: Vec<Value> = comments
            .iter()
            .map(|id| json!({"id": id, "event_type": "Comment"}))
            .collect();
        json!({"ticket_id": ticket, "timestamp": time, "child_events": children})
    }

    #[test]
    fn a_repeated_boundary_second_holds_each_comment_once() {
        let mut stream = Stream::default();
        stream.take(vec![event(1, 10, &[100]), event(1, 11, &[101])], false);
        stream.take(vec![event(1, 11, &[101]), event(2, 12, &[102])], false);
        assert_eq!(stream.held[&1].len(), 2);
        assert_eq!(stream.n_held, 3);
    }

    #[test]
    fn tickets_handed_out_or_gone_by_are_read_per_ticket_after() {
        let mut stream = Stream::default();
        stream.take(vec![event(1, 10, &[100]), event(2, 50, &[200])], false);
        assert!(stream.hand_out(2).is_some());
        stream.take(vec![event(2, 60, &[201])], false);
        assert!(
            !stream.held.contains_key(&2),
            "a later comment alone is not all"
        );
        stream.take(vec![event(3, 12, &[300])], false);
        stream.let_go_before(40, &HashSet::from([3]));
        assert_eq!(
            stream.held.keys().collect::<Vec<_>>(),
            [&3],
            "asked for: kept"
        );
        assert!(stream.let_go.contains(&1) && stream.let_go.contains(&2));
        assert_eq!(stream.n_held, 1);
    }
}
