//! `POST /api/v2/tickets/{id}/merge`: merges the tickets `ids` into ticket `id`, answered with a
//! job status as Zendesk does. Each source is closed, tagged `closed_by_merge` and given a comment
//! naming the target (`source_comment`, private unless `source_comment_is_public`); the target is
//! given one comment naming the sources (`target_comment`). The comments carry `via.source.rel`
//! `merge` and the tickets they join. Triggers do not run on a merge (as on Zendesk): the merged
//! tickets reach the incremental export and the ticket events, not the webhooks.

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::app::App;
use super::auth::Actor;
use super::errors::{ApiError, FieldError};
use super::jobs;
use super::model::{Comment, MergeNote, Status, Ticket, TicketEvent};
use super::routes::{Res, body_json, path_id};
use super::store::ZendeskState;

/// Zendesk merges at most five sources in one request.
const MAX_SOURCES: usize = 5;
/// The tag Zendesk gives a ticket closed by a merge.
pub(crate) const CLOSED_BY_MERGE: &str = "closed_by_merge";

/// What a merge request asks.
struct MergeRequest {
    sources: Vec<u64>,
    target_comment: Option<String>,
    source_comment: Option<String>,
    target_public: bool,
    source_public: bool,
}

fn invalid(description: impl Into<String>) -> ApiError {
    ApiError::invalid(vec![FieldError::new("ids", description, "InvalidValue")])
}

fn parse(target: u64, body: &Value) -> Result<MergeRequest, ApiError> {
    let obj = body
        .as_object()
        .ok_or_else(|| ApiError::unparsable("the body must be a JSON object"))?;
    let text = |key: &str| obj.get(key).and_then(Value::as_str).map(str::to_owned);
    let flag = |key: &str| obj.get(key).and_then(Value::as_bool).unwrap_or(false);
    let ids = obj
        .get("ids")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("ids: is required"))?;
    let mut sources = Vec::new();
    for id in ids {
        let id = id
            .as_u64()
            .or_else(|| id.as_str().and_then(|s| s.parse().ok()))
            .ok_or_else(|| invalid(format!("ids: {id} is not a ticket id")))?;
        if !sources.contains(&id) {
            sources.push(id);
        }
    }
    if sources.is_empty() {
        return Err(invalid("ids: is required"));
    }
    if sources.len() > MAX_SOURCES {
        return Err(ApiError::too_many(MAX_SOURCES));
    }
    if sources.contains(&target) {
        return Err(invalid("A ticket cannot be merged into itself"));
    }
    Ok(MergeRequest {
        sources,
        target_comment: text("target_comment"),
        source_comment: text("source_comment"),
        target_public: flag("target_comment_is_public"),
        source_public: flag("source_comment_is_public"),
    })
}

/// The ticket `id` if a merge may use it: present, not deleted, not closed.
fn open_ticket(st: &ZendeskState, id: u64) -> Result<&Ticket, ApiError> {
    let t = st
        .tickets
        .get(&id)
        .filter(|t| !t.deleted)
        .ok_or_else(ApiError::not_found)?;
    if t.status == Status::Closed {
        return Err(invalid(format!(
            "Ticket {id} is closed: closed tickets cannot be merged"
        )));
    }
    Ok(t)
}

/// `POST /api/v2/tickets/{id}/merge`.
pub(crate) async fn merge(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    body: Bytes,
) -> Res {
    let target = path_id(&id)?;
    let body = body_json(&body)?;
    let request = parse(target, &body)?;
    let now = app.now();
    let mut st = app.write();
    let subject = open_ticket(&st, target)?.subject.clone();
    for source in &request.sources {
        open_ticket(&st, *source)?;
    }
    let mut results = Vec::new();
    for source in &request.sources {
        let body = request.source_comment.clone().unwrap_or_else(|| {
            format!("This request was closed and merged into request #{target} \"{subject}\".")
        });
        let note = MergeNote::Into(target, subject.clone());
        let comment = (body, request.source_public, note);
        close_source(&mut st, *source, comment, actor.user_id, now);
        results.push(json!({"id": source, "action": "merge", "success": true, "status": "Merged"}));
    }
    let names: Vec<String> = request.sources.iter().map(|id| format!("#{id}")).collect();
    let body = request.target_comment.clone().unwrap_or_else(|| {
        let (noun, verb) = if names.len() == 1 {
            ("Request", "was")
        } else {
            ("Requests", "were")
        };
        format!(
            "{noun} {} {verb} closed and merged into this request.",
            names.join(", ")
        )
    });
    let note = MergeNote::From(request.sources.clone());
    let comment = (body, request.target_public, note);
    comment_on(&mut st, target, comment, actor.user_id, now, Vec::new());
    Ok(jobs::queued(
        &mut st,
        &app.base,
        "ticket_merge",
        request.sources.len(),
        results,
        now,
    ))
}

/// Closes `id` as a merge does: status closed, the tag, the comment.
fn close_source(
    st: &mut ZendeskState,
    id: u64,
    comment: (String, bool, MergeNote),
    author: u64,
    now: i64,
) {
    let Some(t) = st.tickets.get(&id) else {
        return;
    };
    let previous = t.status.as_str();
    let changes = vec![
        ("status".to_owned(), json!(previous), json!("closed")),
        ("tags".to_owned(), json!(t.tags), json!([CLOSED_BY_MERGE])),
    ];
    comment_on(st, id, comment, author, now, changes);
}

/// Adds a merge's comment to ticket `id` (closing it when `changes` say so), with its event.
fn comment_on(
    st: &mut ZendeskState,
    id: u64,
    (body, public, note): (String, bool, MergeNote),
    author: u64,
    now: i64,
    changes: Vec<(String, Value, Value)>,
) {
    let Some(mut t) = st.tickets.get(&id).cloned() else {
        return;
    };
    let audit_id = st.ids.next_id();
    let comment_id = st.ids.next_id();
    let html = format!(
        "<div class=\"zd-comment\" dir=\"auto\"><p dir=\"auto\">{}</p></div>",
        crate::datagen::html_escape(&body)
    );
    t.comments.push(Comment {
        id: comment_id,
        audit_id,
        author_id: author,
        body,
        html_body: html,
        public,
        created_at: now,
        attachments: Vec::new(),
        via: "web",
        recipient_id: None,
        merge: Some(note),
    });
    if public {
        t.is_public = true;
    }
    if !changes.is_empty() {
        t.status = Status::Closed;
        t.custom_status_id = None;
        t.solved_at = t.solved_at.or(Some(now));
        if !t.tags.iter().any(|tag| tag == CLOSED_BY_MERGE) {
            t.tags.push(CLOSED_BY_MERGE.to_owned());
            t.tags.sort();
        }
    }
    t.updated_at = now;
    t.generated_at = now;
    st.events.push(TicketEvent {
        id: audit_id,
        ticket_id: id,
        timestamp: now,
        updater_id: author,
        via: "web",
        changes,
        created: false,
        comment_ids: vec![comment_id],
    });
    st.put_ticket(t);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_read_with_their_comments_and_flags() {
        let r = parse(
            9,
            &json!({"ids": [3, "4", 3], "source_comment": "gone",
                "source_comment_is_public": true}),
        )
        .map_err(|_| "refused")
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.sources, vec![3, 4]);
        assert_eq!(r.source_comment.as_deref(), Some("gone"));
        assert!(r.source_public);
        assert!(!r.target_public);
        assert_eq!(r.target_comment, None);
    }

    #[test]
    fn self_merges_empty_and_oversized_requests_are_refused() {
        assert!(parse(3, &json!({"ids": [3]})).is_err());
        assert!(parse(3, &json!({"ids": []})).is_err());
        assert!(parse(3, &json!({})).is_err());
        assert!(parse(1, &json!({"ids": [2, 3, 4, 5, 6, 7]})).is_err());
    }
}
