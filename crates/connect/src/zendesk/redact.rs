//! Taking back a comment cutover added to a ticket it did not create. Zendesk's API deletes no
//! comment: it redacts one (`PUT /api/v2/comment_redactions/{comment_id}` with the ticket's id,
//! the comment's `html_body` with its text in `<redact>` tags, and its files' URLs), which
//! blanks the text (each character becomes ▇) and the files for good and keeps the comment.

use cutover_model::PlatformId;
use reqwest::Method;
use serde_json::{Value, json};

use super::ZendeskConnector;
use super::bodies;
use super::lookup::ticket_comments;
use crate::error::ConnectError;
use crate::http::Request;

impl ZendeskConnector {
    /// Redacts comment `comment` of ticket `ticket` whole: its text and its files. A comment or
    /// ticket already gone is not an error.
    pub(crate) async fn redact_comment(
        &self,
        ticket: &PlatformId,
        comment: &PlatformId,
    ) -> Result<(), ConnectError> {
        let op = format!("redact comment {comment} of ticket {ticket} on zendesk");
        let comments = match ticket_comments(self, &op, ticket).await {
            Err(e) if e.status() == Some(404) => return Ok(()),
            other => other?,
        };
        let wanted = bodies::id_json(comment);
        let Some(found) = comments.iter().find(|c| c.get("id") == Some(&wanted)) else {
            return Ok(());
        };
        let html = found
            .get("html_body")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let files: Vec<&str> = found
            .get("attachments")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|a| a.get("content_url").and_then(Value::as_str))
            .collect();
        let body = json!({
            "ticket_id": bodies::id_json(ticket),
            "html_body": redact_all(html),
            "external_attachment_urls": files,
        });
        let request =
            Request::new(Method::PUT, format!("comment_redactions/{comment}.json")).json(body);
        match self.api.http.send(&op, &request).await {
            Err(e) if e.status() == Some(404) => Ok(()),
            other => other.map(|_| ()),
        }
    }
}

/// `html` with each run of text between its tags wrapped in `<redact>`: all of its text.
pub(crate) fn redact_all(html: &str) -> String {
    let mut out = String::with_capacity(html.len() + 32);
    let mut text = String::new();
    let flush = |text: &mut String, out: &mut String| {
        if text.trim().is_empty() {
            out.push_str(text);
        } else {
            out.push_str("<redact>");
            out.push_str(text);
            out.push_str("</redact>");
        }
        text.clear();
    };
    let mut in_tag = false;
    for ch in html.chars() {
        match ch {
            '<' if !in_tag => {
                flush(&mut text, &mut out);
                in_tag = true;
                out.push(ch);
            }
            '>' if in_tag => {
                in_tag = false;
                out.push(ch);
            }
            _ if in_tag => out.push(ch),
            _ => text.push(ch),
        }
    }
    flush(&mut text, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::redact_all;

    #[test]
    fn every_run_of_text_is_wrapped_and_the_tags_kept() {
        let check = |html: &str, expected: &str| assert_eq!(redact_all(html), expected, "{html}");
        check("plain", "<redact>plain</redact>");
        check(
            "<div class=\"zd-comment\"><p>Hi <b>there</b></p>\n</div>",
            "<div class=\"zd-comment\"><p><redact>Hi </redact><b><redact>there</redact></b></p>\n</div>",
        );
        check("", "");
        check("<br>", "<br>");
    }
}
