//! Linking the comments of tickets imported in bulk without reading each ticket back: the
//! import job answers with ticket ids only, so the comments written with them are matched
//! later, many tickets at once, from the ticket events export with `include=comment_events`
//! (a thousand audits a page; an import is one audit holding all its ticket's comments).
//!
//! The export leaves out its last minute, so a ticket is matched once a minute has passed since
//! its import: the engine asks again after each page it commits, and at the end of its pass
//! with `finish`. Then what the export does not show yet is waited for when many tickets are
//! left (a minute, once, against a request per ticket), else read per ticket (`lookup.rs`), as
//! is any ticket whose comments the export did not show whole (clocks apart, a job answered
//! after its audit went by). Nothing here is durable: the engine keeps each copy's intent until
//! its comments are linked, and a new process reads the export again from the earliest copy.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::Utc;
use cutover_model::PlatformId;
use serde_json::Value;

use super::ZendeskConnector;
use super::comment_events::events_page;
use super::lookup;
use crate::connector::{LaterCopy, WrittenChild};
use crate::error::ConnectError;

/// How long after a write the export shows it: it leaves out its last minute (and a version is
/// whole seconds).
const EXPORT_DELAY_SECS: i64 = 62;

/// How much earlier than the earliest copy's write the export is read from: the platform's
/// clock may be behind this machine's.
const CLOCK_SLACK_SECS: i64 = 30;

/// At the end of a pass, the fewest tickets the export does not show yet for which it is waited
/// for (at most [`EXPORT_DELAY_SECS`]) rather than each ticket read back: a full import batch.
const WAIT_FOR_AT_LEAST: usize = super::bulk::BATCH;

/// The matching's state: where the export is read on from, and the comments it showed of the
/// tickets asked about and not matched yet.
#[derive(Debug, Default)]
pub(crate) struct LaterLinks {
    stream: tokio::sync::Mutex<Stream>,
}

#[derive(Debug, Default)]
struct Stream {
    /// The next request's `start_time`, once the export is being read.
    start_time: Option<i64>,
    /// Comment events (raw) by ticket, of the tickets asked about.
    held: HashMap<u64, Vec<Value>>,
}

impl Stream {
    /// Takes in one page of the export: the comments of the tickets in `asked`, each once (a
    /// time-based page repeats its boundary second).
    fn take(&mut self, events: &[Value], asked: &HashSet<u64>) {
        for event in events {
            let Some(ticket) = event.get("ticket_id").and_then(Value::as_u64) else {
                continue;
            };
            if !asked.contains(&ticket) {
                continue;
            }
            let held = self.held.entry(ticket).or_default();
            let comments = event
                .get("child_events")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|c| {
                    c.get("event_type").and_then(Value::as_str) == Some("Comment")
                        || c.get("type").and_then(Value::as_str) == Some("Comment")
                });
            for comment in comments {
                let id = comment.get("id").and_then(Value::as_u64);
                if !held
                    .iter()
                    .any(|c| c.get("id").and_then(Value::as_u64) == id)
                {
                    held.push(comment.clone());
                }
            }
        }
    }

    /// The copies whose every comment sent is among those held, with their children; those
    /// answered are no longer held.
    fn matched(&mut self, copies: &[&LaterCopy]) -> Vec<(PlatformId, Vec<WrittenChild>)> {
        let mut matched = Vec::new();
        for copy in copies {
            let Some(number) = number(&copy.id) else {
                continue;
            };
            let Some(held) = self.held.get(&number) else {
                continue;
            };
            let (children, all) = lookup::match_comments(held.clone(), &copy.sent);
            if all {
                self.held.remove(&number);
                matched.push((copy.id.clone(), children));
            }
        }
        matched
    }
}

fn number(id: &PlatformId) -> Option<u64> {
    id.as_str().parse().ok()
}

/// Whether the export shows a copy's write by now.
fn shown(copy: &LaterCopy, now: i64) -> bool {
    copy.written_at.timestamp() + EXPORT_DELAY_SECS <= now
}

impl ZendeskConnector {
    /// [`crate::Connector::children_later`] (see the module docs).
    pub(super) async fn link_later(
        &self,
        copies: &[LaterCopy],
        finish: bool,
    ) -> Result<Vec<(PlatformId, Vec<WrittenChild>)>, ConnectError> {
        let mut stream = self.later_links.stream.lock().await;
        let asked: HashSet<u64> = copies.iter().filter_map(|c| number(&c.id)).collect();
        if !finish {
            // The engine asks about every copy waiting: those no longer asked about were linked
            // otherwise, and their comments go. (Finishing, it may ask about one alone.)
            stream.held.retain(|ticket, _| asked.contains(ticket));
        }
        let mut answered = Vec::new();
        let mut left: Vec<&LaterCopy> = copies.iter().collect();
        if left.iter().any(|c| shown(c, Utc::now().timestamp())) {
            self.read_on(&mut stream, &left, &asked).await?;
            answered.extend(stream.matched(&left));
            left.retain(|c| !answered.iter().any(|(id, _)| *id == c.id));
        }
        if !finish {
            return Ok(answered);
        }
        let latest = left.iter().map(|c| c.written_at.timestamp()).max();
        if let Some(latest) = latest
            && left.len() >= WAIT_FOR_AT_LEAST
        {
            let wait = latest + EXPORT_DELAY_SECS - Utc::now().timestamp();
            if wait > 0 {
                tracing::info!(
                    tickets = left.len(),
                    seconds = wait,
                    "Waiting for the ticket events export to show the latest imports, to link their comments in bulk."
                );
                let secs = u64::try_from(wait.min(EXPORT_DELAY_SECS)).unwrap_or(0);
                tokio::time::sleep(Duration::from_secs(secs)).await;
            }
            self.read_on(&mut stream, &left, &asked).await?;
            let more = stream.matched(&left);
            left.retain(|c| !more.iter().any(|(id, _)| *id == c.id));
            answered.extend(more);
        }
        for copy in left {
            // Not shown whole by the export: read back alone.
            let children = lookup::match_children(self, &copy.id, &copy.sent).await?;
            if let Some(number) = number(&copy.id) {
                stream.held.remove(&number);
            }
            answered.push((copy.id.clone(), children));
        }
        Ok(answered)
    }

    /// Reads the export on to its end, holding the comments of the tickets in `asked`.
    async fn read_on(
        &self,
        stream: &mut Stream,
        copies: &[&LaterCopy],
        asked: &HashSet<u64>,
    ) -> Result<(), ConnectError> {
        let earliest = copies
            .iter()
            .map(|c| c.written_at.timestamp() - CLOCK_SLACK_SECS)
            .min();
        let mut start_time = match (stream.start_time, earliest) {
            (Some(start), _) => start,
            (None, Some(earliest)) => earliest,
            (None, None) => return Ok(()),
        };
        loop {
            let page = events_page(&self.api, start_time).await?;
            stream.take(&page.events, asked);
            match page.end_time {
                Some(end) if end > start_time => start_time = end,
                _ => break,
            }
            if page.end_of_stream {
                break;
            }
        }
        stream.start_time = Some(start_time);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(ticket: u64, comments: &[u64]) -> Value {
        let children: Vec<Value> = comments
            .iter()
            .map(|id| json!({"id": id, "event_type": "Comment"}))
            .chain(std::iter::once(json!({"id": 1, "event_type": "Create"})))
            .collect();
        json!({"ticket_id": ticket, "child_events": children})
    }

    #[test]
    fn only_the_comments_of_tickets_asked_about_are_held_each_once() {
        let mut stream = Stream::default();
        let asked = HashSet::from([7]);
        stream.take(&[event(7, &[70, 71]), event(8, &[80])], &asked);
        stream.take(&[event(7, &[71])], &asked);
        assert_eq!(stream.held.len(), 1, "ticket 8 was not asked about");
        let ids: Vec<u64> = stream.held[&7]
            .iter()
            .filter_map(|c| c.get("id").and_then(Value::as_u64))
            .collect();
        assert_eq!(
            ids,
            [70, 71],
            "a repeated boundary second holds a comment once"
        );
    }
}
