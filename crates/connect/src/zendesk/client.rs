//! Zendesk's HTTP shapes: list pages (cursor or offset), incremental exports, and the envelope
//! keys of single records.

use chrono::{DateTime, Utc};
use serde_json::Value;
use url::Url;

use crate::error::ConnectError;
use crate::fields::decode_body;
use crate::http::{HttpClient, Request};

/// The parameter that lists a comment's inline images among its attachments (Zendesk leaves
/// them out by default, and a copy would lose them).
pub(crate) const INLINE_IMAGES: &[(&str, &str)] = &[("include_inline_images", "true")];

/// The lane of the incremental export endpoints: 10 requests a minute of their own.
pub(crate) const INCREMENTAL_LANE: &str = "incremental";

/// One page of a list endpoint.
#[derive(Debug)]
pub(crate) struct ListPage {
    pub(crate) items: Vec<Value>,
    pub(crate) lossy: bool,
    /// The cursor of the next page (`meta.after_cursor`) or its URL (`next_page`), if any.
    pub(crate) next: Option<String>,
}

/// One page of a cursor-based incremental export.
#[derive(Debug)]
pub(crate) struct ExportPage {
    pub(crate) items: Vec<Value>,
    pub(crate) body: Value,
    pub(crate) lossy: bool,
    pub(crate) after_cursor: Option<String>,
    pub(crate) end_of_stream: bool,
}

/// One page of a time-based incremental export.
#[derive(Debug)]
pub(crate) struct TimePage {
    pub(crate) items: Vec<Value>,
    pub(crate) lossy: bool,
    pub(crate) end_time: Option<i64>,
    pub(crate) end_of_stream: bool,
}

/// Zendesk's API over the shared HTTP client.
#[derive(Debug)]
pub(crate) struct ZendeskApi {
    pub(crate) http: HttpClient,
    pub(crate) page_size: u32,
    pub(crate) export_page_size: u32,
}

fn items_of(op: &str, body: &Value, key: &str) -> Result<Vec<Value>, ConnectError> {
    match body.get(key) {
        Some(Value::Array(items)) => Ok(items.clone()),
        Some(Value::Null) => Ok(Vec::new()),
        _ => Err(ConnectError::Malformed {
            op: op.to_owned(),
            detail: format!("no `{key}` array in the answer"),
        }),
    }
}

/// Incremental exports refuse a start time within the last minute.
fn export_start(time: Option<DateTime<Utc>>) -> i64 {
    let latest = Utc::now().timestamp() - 61;
    time.map_or(0, |t| t.timestamp().clamp(0, latest.max(0)))
}

impl ZendeskApi {
    /// GETs `request` and decodes its JSON body.
    pub(crate) async fn get(
        &self,
        op: &str,
        request: &Request,
    ) -> Result<(Value, bool), ConnectError> {
        let response = self.http.send(op, request).await?;
        decode_body(op, &response.body)
    }

    /// A page of a list endpoint under `key`. `token` is a cursor or a next-page URL from a
    /// previous page; `paged` is false for endpoints that return everything at once.
    pub(crate) async fn list_page(
        &self,
        op: &str,
        path: &str,
        key: &str,
        token: Option<&str>,
        paged: bool,
    ) -> Result<ListPage, ConnectError> {
        self.list_page_with(op, path, key, token, paged, &[]).await
    }

    /// Like [`ZendeskApi::list_page`], with parameters of the list's own (`extra`) on every
    /// page built here (a next-page URL carries them already).
    pub(crate) async fn list_page_with(
        &self,
        op: &str,
        path: &str,
        key: &str,
        token: Option<&str>,
        paged: bool,
        extra: &[(&str, &str)],
    ) -> Result<ListPage, ConnectError> {
        let mut request = match token {
            Some(url) if url.starts_with("http") => Request::url(self.next_url(op, url)?),
            Some(cursor) => Request::get(path)
                .query("page[size]", self.page_size)
                .query("page[after]", cursor),
            None if paged => Request::get(path).query("page[size]", self.page_size),
            None => Request::get(path),
        };
        if !token.is_some_and(|t| t.starts_with("http")) {
            for (name, value) in extra {
                request = request.query(name, value);
            }
        }
        let (body, lossy) = self.get(op, &request).await?;
        let items = items_of(op, &body, key)?;
        let meta = body.get("meta");
        let has_more = meta
            .and_then(|m| m.get("has_more"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let after = meta
            .and_then(|m| m.get("after_cursor"))
            .and_then(Value::as_str);
        let next = match (has_more, after) {
            (true, Some(cursor)) => Some(cursor.to_owned()),
            _ => body
                .get("next_page")
                .and_then(Value::as_str)
                .map(str::to_owned),
        };
        Ok(ListPage { items, lossy, next })
    }

    /// A next-page URL, accepted only on the account's own host.
    fn next_url(&self, op: &str, url: &str) -> Result<Url, ConnectError> {
        let parsed = Url::parse(url).map_err(|e| ConnectError::Malformed {
            op: op.to_owned(),
            detail: format!("next page is not a url: {e}"),
        })?;
        if parsed.host_str() != self.http.base().host_str() {
            return Err(ConnectError::Malformed {
                op: op.to_owned(),
                detail: format!("next page points at another host: {:?}", parsed.host_str()),
            });
        }
        Ok(parsed)
    }

    /// A page of a cursor-based incremental export (`tickets` or `users`).
    pub(crate) async fn export_page(
        &self,
        op: &str,
        resource: &str,
        cursor: Option<&str>,
        since: Option<DateTime<Utc>>,
        include: Option<&str>,
    ) -> Result<ExportPage, ConnectError> {
        let mut request = Request::get(format!("incremental/{resource}/cursor.json"))
            .query("per_page", self.export_page_size)
            .lane(INCREMENTAL_LANE);
        request = match cursor {
            Some(cursor) => request.query("cursor", cursor),
            None => request.query("start_time", export_start(since)),
        };
        if let Some(include) = include {
            request = request.query("include", include);
        }
        let (body, lossy) = self.get(op, &request).await?;
        let items = items_of(op, &body, resource)?;
        let after_cursor = body
            .get("after_cursor")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let end_of_stream = body
            .get("end_of_stream")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        Ok(ExportPage {
            items,
            body,
            lossy,
            after_cursor,
            end_of_stream,
        })
    }

    /// A page of a time-based incremental export (`organizations`).
    pub(crate) async fn time_export_page(
        &self,
        op: &str,
        resource: &str,
        since: Option<DateTime<Utc>>,
    ) -> Result<TimePage, ConnectError> {
        let request = Request::get(format!("incremental/{resource}.json"))
            .query("start_time", export_start(since))
            .query("per_page", self.export_page_size)
            .lane(INCREMENTAL_LANE);
        let (body, lossy) = self.get(op, &request).await?;
        let items = items_of(op, &body, resource)?;
        let end_time = body.get("end_time").and_then(Value::as_i64);
        let end_of_stream = body
            .get("end_of_stream")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        Ok(TimePage {
            items,
            lossy,
            end_time,
            end_of_stream,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_start_is_never_in_the_last_minute() {
        assert_eq!(export_start(None), 0);
        let now = Utc::now();
        assert!(export_start(Some(now)) <= now.timestamp() - 61);
        let old = DateTime::from_timestamp(1_695_062_724, 0).unwrap();
        assert_eq!(export_start(Some(old)), 1_695_062_724);
    }
}
