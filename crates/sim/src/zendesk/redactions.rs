//! `PUT /api/v2/comment_redactions/{comment_id}` (Zendesk's "redact ticket comment in agent
//! workspace"): the body names the ticket (`ticket_id`), gives the comment's `html_body` with
//! what to blank in `<redact>` tags (each character becomes ▇) and the files to blank
//! (`external_attachment_urls`, each replaced by an empty `redacted.txt`). The comment stays;
//! redaction cannot be undone. 200 with the comment.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::app::App;
use super::errors::{ApiError, FieldError};
use super::json;
use super::routes::{Res, body_json, path_id, reply};
use crate::text::html_to_text;

/// What a redacted character becomes.
const BLOCK: char = '\u{2587}';

/// `PUT /api/v2/comment_redactions/{comment_id}`.
pub(crate) async fn redact(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Res {
    let comment_id = path_id(&id)?;
    let body = body_json(&body)?;
    let Some(ticket_id) = body.get("ticket_id").and_then(Value::as_u64) else {
        return Err(ApiError::invalid(vec![FieldError::new(
            "ticket_id",
            "Ticket: is required",
            "BlankValue",
        )]));
    };
    let html = body.get("html_body").and_then(Value::as_str);
    let urls: Vec<&str> = body
        .get("external_attachment_urls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let mut st = app.write();
    let mut ticket = st
        .tickets
        .get(&ticket_id)
        .filter(|t| !t.deleted)
        .cloned()
        .ok_or_else(ApiError::not_found)?;
    let comment = ticket
        .comments
        .iter_mut()
        .find(|c| c.id == comment_id)
        .ok_or_else(ApiError::not_found)?;
    if let Some(html) = html {
        let redacted = blank_tagged(html);
        comment.body = html_to_text(&redacted);
        comment.html_body = redacted;
    }
    let files: Vec<u64> = comment
        .attachments
        .iter()
        .copied()
        .filter(|aid| {
            json::attachment(&st, *aid, &app.base)
                .and_then(|a| {
                    a.get("content_url")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .is_some_and(|url| urls.contains(&url.as_str()))
        })
        .collect();
    let comment = comment.clone();
    for aid in files {
        if let Some(a) = st.attachments.get_mut(&aid) {
            a.redacted = true;
            a.file_name = "redacted.txt".into();
            a.content_type = "text/plain".into();
            a.bytes = Arc::new(Vec::new());
        }
    }
    st.put_ticket(ticket);
    let out = json!({"comment": json::comment(&st, &comment, &app.base)});
    Ok(reply(StatusCode::OK, &out))
}

/// `html` with what each `<redact>…</redact>` holds blanked, one ▇ per character, and the tags
/// gone.
fn blank_tagged(html: &str) -> String {
    const OPEN: &str = "<redact>";
    const CLOSE: &str = "</redact>";
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find(OPEN) {
        out.push_str(&rest[..start]);
        let inner = &rest[start + OPEN.len()..];
        let (hidden, after) = match inner.find(CLOSE) {
            Some(end) => (&inner[..end], &inner[end + CLOSE.len()..]),
            None => (inner, ""),
        };
        out.extend(std::iter::repeat_n(BLOCK, hidden.chars().count()));
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::blank_tagged;

    #[test]
    fn what_is_tagged_is_blanked_and_the_rest_kept() {
        assert_eq!(
            blank_tagged("<p>My id is <redact>8475</redact>!</p>"),
            "<p>My id is \u{2587}\u{2587}\u{2587}\u{2587}!</p>"
        );
        assert_eq!(blank_tagged("<p>nothing</p>"), "<p>nothing</p>");
        assert_eq!(blank_tagged("<redact>ab"), "\u{2587}\u{2587}");
    }
}
