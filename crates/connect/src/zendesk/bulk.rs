//! Bulk creates: tickets through `imports/tickets/create_many`, contacts through
//! `users/create_or_update_many`, organizations through `organizations/create_many`, up to
//! [`BATCH`] a request, each answered with a job that is polled until it completes.
//!
//! The engine still writes one record at a time (its intent left before, its link after); the
//! connector gathers the creates that arrive together into one request. The first create of a
//! batch waits [`LINGER`] (or until [`BATCH`] are waiting) and sends them all; each caller gets
//! back its own record's result. While creates keep joining, the batch keeps waiting for
//! more (up to [`MAX_HOLD`]). Only creates the engine marks [`Outbound::batch`] (a backfill's)
//! are gathered: the bridge's single creates are not held back.
//!
//! Idempotent as single creates are: every record's intent is left before the job is sent, so a
//! crash after the job ran finds each copy again by its mark. A record the job refused is sent
//! once more alone, so its error (and dead letter) is exactly the one a single create gets; a
//! batch whose request or job answer was lost looks each of its records up before sending it
//! alone.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use cutover_model::{PlatformId, RecordKind};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::{Notify, oneshot};

use super::ZendeskConnector;
use crate::error::ConnectError;
use crate::http::{Body, Request, Retry};

/// The most records a bulk create takes (Zendesk's limit).
pub(crate) const BATCH: usize = 100;

/// How long the first create of a batch waits for another to join it: while creates keep
/// joining within it, the batch keeps waiting (up to [`MAX_HOLD`]), so a backfill whose
/// tickets arrive one by one behind their attachments' uploads still sends full batches.
const LINGER: Duration = Duration::from_millis(150);

/// The longest a batch waits for more creates before it goes out.
const MAX_HOLD: Duration = Duration::from_secs(2);

/// How often, at most, a job is polled before its batch counts as lost.
const MAX_POLLS: u32 = 60;

/// What one record of a batch came to.
#[derive(Debug)]
pub(super) enum Slot {
    /// Created with this id.
    Created(PlatformId),
    /// An upsert matched a record already there (by external id or e-mail) and updated it.
    Updated(PlatformId),
    /// The job refused it (the record is sent again alone for the single create's answer).
    Refused(String),
    /// The request or its job's answer was lost: it may or may not have been created.
    Lost,
}

struct Waiter {
    item: Value,
    answer: oneshot::Sender<Slot>,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Waiter>,
    /// Whether a caller is gathering this batch (and will send it).
    gathering: bool,
}

/// One endpoint's batch in the making.
#[derive(Default)]
struct Lane {
    queue: Mutex<Queue>,
    /// Woken when a create joins the batch.
    joined: Notify,
}

/// The batches being gathered, by endpoint and query.
#[derive(Default)]
pub(super) struct Batches {
    lanes: Mutex<HashMap<String, std::sync::Arc<Lane>>>,
}

impl std::fmt::Debug for Batches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batches").finish_non_exhaustive()
    }
}

/// The bulk endpoint of a single create's path, with its body's array key and the envelope of
/// one record in it.
pub(super) fn bulk_endpoint(
    kind: RecordKind,
) -> Option<(&'static str, &'static str, &'static str)> {
    match kind {
        RecordKind::Ticket => Some(("imports/tickets/create_many.json", "tickets", "ticket")),
        RecordKind::Contact => Some(("users/create_or_update_many.json", "users", "user")),
        RecordKind::Organization => Some((
            "organizations/create_many.json",
            "organizations",
            "organization",
        )),
        _ => None,
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Drops the waiters of a gatherer that was cancelled before it sent them: each then creates
/// alone (after a lookup), instead of waiting for ever.
struct Abandon<'a> {
    lane: &'a Lane,
    armed: bool,
}

impl Drop for Abandon<'_> {
    fn drop(&mut self) {
        if self.armed {
            let mut queue = lock(&self.lane.queue);
            queue.waiting.clear();
            queue.gathering = false;
        }
    }
}

impl ZendeskConnector {
    /// Creates one record of `kind` through its bulk endpoint, gathered with the others that
    /// arrive together: `request` is its single create, whose JSON body holds the record under
    /// its envelope and whose query the batch shares.
    pub(super) async fn create_in_batch(
        &self,
        kind: RecordKind,
        op: &str,
        request: &Request,
    ) -> Result<Slot, ConnectError> {
        let Some((path, array, envelope)) = bulk_endpoint(kind) else {
            return Ok(Slot::Lost);
        };
        let Body::Json(body) = &request.body else {
            return Ok(Slot::Lost);
        };
        let Some(item) = body.get(envelope).cloned() else {
            return Ok(Slot::Lost);
        };
        let query: Vec<String> = request
            .query
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let key = format!("{path}?{}", query.join("&"));
        let lane = {
            let mut lanes = lock(&self.batches.lanes);
            std::sync::Arc::clone(lanes.entry(key).or_default())
        };
        let (answer, mine) = oneshot::channel();
        let gather = {
            let mut queue = lock(&lane.queue);
            queue.waiting.push(Waiter { item, answer });
            lane.joined.notify_one();
            !std::mem::replace(&mut queue.gathering, true)
        };
        if gather {
            let mut abandon = Abandon {
                lane: &lane,
                armed: true,
            };
            gather_batch(&lane).await;
            let waiting = {
                let mut queue = lock(&lane.queue);
                queue.gathering = false;
                std::mem::take(&mut queue.waiting)
            };
            abandon.armed = false;
            for chunk in chunks(waiting) {
                self.send_batch(op, path, array, &request.query, chunk)
                    .await;
            }
        }
        Ok(mine.await.unwrap_or(Slot::Lost))
    }

    /// Sends one batch, polls its job and answers each waiter.
    async fn send_batch(
        &self,
        op: &str,
        path: &str,
        array: &str,
        query: &[(String, String)],
        waiters: Vec<Waiter>,
    ) {
        let count = waiters.len();
        let (items, answers): (Vec<Value>, Vec<_>) =
            waiters.into_iter().map(|w| (w.item, w.answer)).unzip();
        let mut request = Request::new(Method::POST, path)
            .json(json!({ array: items }))
            .retry(Retry::ThrottleOnly);
        for (k, v) in query {
            request = request.query(k, v);
        }
        let op = format!("{op} (a batch of {count} through {path})");
        let slots = match self.run_job(&op, &request).await {
            Ok(results) => slots_of(&results, count),
            Err(e) => {
                tracing::debug!(op, error = %e, "A bulk create's answer was lost; each record is looked up and created alone.");
                (0..count).map(|_| Slot::Lost).collect()
            }
        };
        for (answer, slot) in answers.into_iter().zip(slots) {
            // A caller gone (its step cancelled) needs no answer.
            let _ = answer.send(slot);
        }
    }

    /// Sends a bulk request and polls its job until it completes: the job's results.
    async fn run_job(&self, op: &str, request: &Request) -> Result<Vec<Value>, ConnectError> {
        let response = self.api.http.send(op, request).await?;
        let (body, _) = crate::fields::decode_body(op, &response.body)?;
        let mut job = body.get("job_status").cloned().unwrap_or(Value::Null);
        let id = job
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| ConnectError::Malformed {
                op: op.to_owned(),
                detail: "no job_status.id in the answer".to_owned(),
            })?;
        let poll = Request::new(Method::GET, format!("job_statuses/{id}.json"));
        let mut polls = 0;
        loop {
            match job.get("status").and_then(Value::as_str) {
                Some("completed") => {
                    return Ok(job
                        .get("results")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default());
                }
                Some("failed" | "killed") => {
                    return Err(ConnectError::Malformed {
                        op: op.to_owned(),
                        detail: format!(
                            "job {id} {}",
                            job.get("message")
                                .and_then(Value::as_str)
                                .unwrap_or("failed")
                        ),
                    });
                }
                _ => {}
            }
            if polls >= MAX_POLLS {
                return Err(ConnectError::Malformed {
                    op: op.to_owned(),
                    detail: format!("job {id} not completed after {polls} polls"),
                });
            }
            if polls > 0 {
                let wait = Duration::from_millis(250 * u64::from(polls.min(8)));
                tokio::time::sleep(wait).await;
            }
            polls += 1;
            let response = self.api.http.send(op, &poll).await?;
            let (body, _) = crate::fields::decode_body(op, &response.body)?;
            job = body.get("job_status").cloned().unwrap_or(Value::Null);
        }
    }
}

/// Waits until the batch is full, no create joined it for [`LINGER`], or [`MAX_HOLD`] passed
/// (in any case it goes out then).
async fn gather_batch(lane: &Lane) {
    let deadline = tokio::time::Instant::now() + MAX_HOLD;
    loop {
        if lock(&lane.queue).waiting.len() >= BATCH {
            return;
        }
        let wait = LINGER.min(deadline.saturating_duration_since(tokio::time::Instant::now()));
        if wait.is_zero()
            || tokio::time::timeout(wait, lane.joined.notified())
                .await
                .is_err()
        {
            return;
        }
    }
}

/// Splits waiters into batches the endpoint takes.
fn chunks(mut waiting: Vec<Waiter>) -> Vec<Vec<Waiter>> {
    let mut out = Vec::new();
    while waiting.len() > BATCH {
        let rest = waiting.split_off(BATCH);
        out.push(std::mem::replace(&mut waiting, rest));
    }
    if !waiting.is_empty() {
        out.push(waiting);
    }
    out
}

/// Each record's slot from a job's results: a result names its record by `index` where it
/// says one, else by its place in the list; a record no result names counts as lost.
pub(super) fn slots_of(results: &[Value], count: usize) -> Vec<Slot> {
    let mut slots: Vec<Slot> = (0..count).map(|_| Slot::Lost).collect();
    for (place, result) in results.iter().enumerate() {
        let index = result
            .get("index")
            .and_then(Value::as_u64)
            .and_then(|i| usize::try_from(i).ok())
            .unwrap_or(place);
        let Some(slot) = slots.get_mut(index) else {
            continue;
        };
        let failed = result.get("success") == Some(&Value::Bool(false))
            || result.get("error").is_some_and(|e| !e.is_null());
        let id = result.get("id").and_then(Value::as_u64);
        *slot = match (failed, id) {
            (false, Some(id))
                if result.get("status").and_then(Value::as_str) == Some("Updated")
                    || result.get("action").and_then(Value::as_str) == Some("updated") =>
            {
                Slot::Updated(PlatformId::from(id))
            }
            (false, Some(id)) => Slot::Created(PlatformId::from(id)),
            (true, _) => {
                let text = |key: &str| match result.get(key) {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Null) | None => String::new(),
                    Some(other) => other.to_string(),
                };
                Slot::Refused(
                    format!("{} {}", text("error"), text("details"))
                        .trim()
                        .to_owned(),
                )
            }
            (false, None) => Slot::Lost,
        };
    }
    slots
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_name_records_by_index_or_place() {
        let results = vec![
            json!({"id": 7, "status": "Created"}),
            json!({"index": 2, "error": "RecordInvalid", "details": "{\"requester\":[\"is invalid\"]}", "success": false}),
            json!({"id": 9, "index": 1}),
            json!({"id": 11, "index": 4, "status": "Updated"}),
        ];
        let slots = slots_of(&results, 5);
        assert!(matches!(&slots[0], Slot::Created(id) if id.as_str() == "7"));
        assert!(matches!(&slots[1], Slot::Created(id) if id.as_str() == "9"));
        assert!(matches!(&slots[2], Slot::Refused(reason) if reason.contains("RecordInvalid")));
        assert!(matches!(slots[3], Slot::Lost), "no result names it");
        assert!(
            matches!(&slots[4], Slot::Updated(id) if id.as_str() == "11"),
            "an upsert that matched a record already there did not create it"
        );
    }
}
