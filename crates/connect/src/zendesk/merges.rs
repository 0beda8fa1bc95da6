//! Ticket merges on Zendesk: read back from the `closed_by_merge` tag and the merge's comment
//! (`via.source.rel` `merge`, naming the target in `via.source.to.ticket_id`, or failing that in
//! its default text "merged into request #N"), one extra request per merged ticket read; written
//! with `POST /tickets/{id}/merge` and its job status. A merge's comments are not comments of
//! the conversation: `comments` leaves them out, as the merge itself is carried.

use std::time::Duration;

use cutover_model::PlatformId;
use cutover_model::records::Record;
use reqwest::Method;
use serde_json::{Value, json};

use super::ZendeskConnector;
use crate::connector::Page;
use crate::error::ConnectError;
use crate::http::Request;

/// The tag Zendesk gives a ticket a merge closed.
pub(crate) const CLOSED_BY_MERGE: &str = "closed_by_merge";
/// How often a merge's job status is read before giving up on it.
const JOB_POLLS: u32 = 30;
/// Comments read per merged ticket, at most, looking for its merge's.
const MAX_COMMENT_PAGES: usize = 10;

/// Whether a comment (as the API shows it) is one a merge left.
pub(crate) fn is_merge_comment(raw: &Value) -> bool {
    raw.pointer("/via/source/rel").and_then(Value::as_str) == Some("merge")
}

/// The ticket a merge's comment on a source names as its target.
fn target_of(raw: &Value) -> Option<PlatformId> {
    if let Some(id) = raw
        .pointer("/via/source/to/ticket_id")
        .and_then(Value::as_u64)
    {
        return Some(PlatformId::from(id));
    }
    let body = raw.get("body").and_then(Value::as_str)?;
    let (_, rest) = body.split_once("merged into request #")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse::<u64>().ok().map(PlatformId::from)
}

impl ZendeskConnector {
    /// Reads the target of every ticket of `page` closed by a merge into its `merged_into`, and
    /// takes the `closed_by_merge` tag off it (the merge is carried, not the tag). A ticket so
    /// tagged whose merge comment is not found keeps its tag and is read as not merged.
    pub(crate) async fn read_merges(&self, mut page: Page) -> Result<Page, ConnectError> {
        for item in &mut page.items {
            let Record::Ticket(ticket) = &mut item.record else {
                continue;
            };
            if !ticket.tags.contains(CLOSED_BY_MERGE) {
                continue;
            }
            if let Some(into) = self.merge_target(&item.id).await? {
                ticket.tags.remove(CLOSED_BY_MERGE);
                ticket.merged_into = Some(into);
            }
        }
        Ok(page)
    }

    /// The ticket that ticket `id` was merged into, from its merge's comment (the last one).
    async fn merge_target(&self, id: &PlatformId) -> Result<Option<PlatformId>, ConnectError> {
        let op = format!("read the merge of ticket {id} from zendesk");
        let path = format!("tickets/{id}/comments.json");
        let mut token: Option<String> = None;
        let mut found = None;
        for _ in 0..MAX_COMMENT_PAGES {
            let list = match self
                .api
                .list_page(&op, &path, "comments", token.as_deref(), true)
                .await
            {
                Err(e) if e.status() == Some(404) => return Ok(None),
                other => other?,
            };
            if let Some(into) = list
                .items
                .iter()
                .filter(|c| is_merge_comment(c))
                .rev()
                .find_map(target_of)
            {
                found = Some(into);
            }
            match list.next {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        Ok(found)
    }

    /// `POST /tickets/{into}/merge` with Zendesk's own comments (private), then its job status
    /// until it is done.
    pub(crate) async fn merge_tickets(
        &self,
        into: &PlatformId,
        sources: &[PlatformId],
    ) -> Result<(), ConnectError> {
        let op = format!(
            "merge ticket(s) {} into ticket {into} on zendesk",
            join(sources)
        );
        let ids: Vec<Value> = sources
            .iter()
            .map(|id| {
                id.as_str()
                    .parse::<u64>()
                    .map_or_else(|_| json!(id.as_str()), |n| json!(n))
            })
            .collect();
        let body = json!({
            "ids": ids,
            "target_comment_is_public": false,
            "source_comment_is_public": false,
        });
        let request = Request::new(Method::POST, format!("tickets/{into}/merge.json")).json(body);
        let (answer, _) = self.api.get(&op, &request).await?;
        let Some(job) = answer.pointer("/job_status/id").and_then(Value::as_str) else {
            return Err(ConnectError::Malformed {
                op,
                detail: "no job_status.id in the answer".to_owned(),
            });
        };
        let path = format!("job_statuses/{job}.json");
        for poll in 0..JOB_POLLS {
            let (status, _) = self.api.get(&op, &Request::get(path.clone())).await?;
            match status.pointer("/job_status/status").and_then(Value::as_str) {
                Some("completed") => return check_results(&op, &status),
                Some("failed" | "killed") => {
                    return Err(ConnectError::Malformed {
                        op,
                        detail: format!("the merge's job ended {}", status["job_status"]),
                    });
                }
                _ => tokio::time::sleep(Duration::from_millis(200 * u64::from(poll + 1))).await,
            }
        }
        Err(ConnectError::Malformed {
            op,
            detail: format!("the merge's job {job} did not finish"),
        })
    }
}

/// A completed merge job whose results say a ticket failed is an error.
fn check_results(op: &str, status: &Value) -> Result<(), ConnectError> {
    let failed: Vec<String> = status
        .pointer("/job_status/results")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|r| r.get("success").and_then(Value::as_bool) == Some(false))
        .map(Value::to_string)
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(ConnectError::Malformed {
            op: op.to_owned(),
            detail: format!("the merge failed for {}", failed.join(", ")),
        })
    }
}

fn join(ids: &[PlatformId]) -> String {
    ids.iter()
        .map(PlatformId::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_merge_comment_names_its_target_by_via_or_by_its_text() {
        let by_via =
            json!({"body": "x", "via": {"source": {"rel": "merge", "to": {"ticket_id": 7}}}});
        assert!(is_merge_comment(&by_via));
        assert_eq!(target_of(&by_via), Some(PlatformId::from(7)));
        let by_text = json!({"body": "This request was closed and merged into request #42 \"Hi\".",
                             "via": {"source": {"rel": "merge", "to": {}}}});
        assert_eq!(target_of(&by_text), Some(PlatformId::from(42)));
        let plain = json!({"body": "merged into request #42", "via": {"source": {"rel": null}}});
        assert!(!is_merge_comment(&plain));
    }
}
