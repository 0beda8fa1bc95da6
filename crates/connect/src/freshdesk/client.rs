//! Freshdesk's HTTP shapes: offset pages of bare JSON arrays, a `Link` header when more follow.

use serde_json::Value;

use crate::error::ConnectError;
use crate::fields::decode_body;
use crate::http::{HttpClient, Request};

/// Lane of ticket lists (Growth: 20 a minute, Pro: 100, Enterprise: 200).
pub const LANE_TICKETS_LIST: &str = "tickets_list";
/// Lane of contact lists (Growth: 20 a minute, Pro: 100, Enterprise: 200).
pub const LANE_CONTACTS_LIST: &str = "contacts_list";
/// Lane of ticket creates (Growth: 80 a minute, Pro: 160, Enterprise: 280).
pub const LANE_TICKET_CREATE: &str = "ticket_create";
/// Lane of ticket updates (Growth: 80 a minute, Pro: 160, Enterprise: 280).
pub const LANE_TICKET_UPDATE: &str = "ticket_update";

/// One page of a list.
#[derive(Debug, Clone)]
pub(crate) struct ListPage {
    pub(crate) items: Vec<Value>,
    pub(crate) lossy: bool,
    /// Whether the answer's `Link` header names a next page.
    pub(crate) has_next: bool,
}

/// Freshdesk's API over the shared HTTP client.
#[derive(Debug)]
pub(crate) struct FreshdeskApi {
    pub(crate) http: HttpClient,
    pub(crate) page_size: u32,
}

impl FreshdeskApi {
    /// GETs `request` and decodes its JSON body.
    pub(crate) async fn get(
        &self,
        op: &str,
        request: &Request,
    ) -> Result<(Value, bool), ConnectError> {
        let response = self.http.send(op, request).await?;
        decode_body(op, &response.body)
    }

    /// Page `page` (1-based) of a list; `request` carries the path and filters.
    pub(crate) async fn list_page(
        &self,
        op: &str,
        request: Request,
        page: u32,
    ) -> Result<ListPage, ConnectError> {
        let request = request
            .query("per_page", self.page_size)
            .query("page", page.max(1));
        let response = self.http.send(op, &request).await?;
        let has_next = response.link_next().is_some();
        let (body, lossy) = decode_body(op, &response.body)?;
        let items = match body {
            Value::Array(items) => items,
            // Search answers wrap their results.
            Value::Object(mut map) => match map.remove("results") {
                Some(Value::Array(items)) => items,
                _ => {
                    return Err(ConnectError::Malformed {
                        op: op.to_owned(),
                        detail: "expected a JSON array".into(),
                    });
                }
            },
            _ => {
                return Err(ConnectError::Malformed {
                    op: op.to_owned(),
                    detail: "expected a JSON array".into(),
                });
            }
        };
        Ok(ListPage {
            items,
            lossy,
            has_next,
        })
    }

    /// Every record of a list, page after page (for lookups in short lists).
    pub(crate) async fn list_all(
        &self,
        op: &str,
        request: &Request,
        max_pages: u32,
    ) -> Result<Vec<Value>, ConnectError> {
        let mut all = Vec::new();
        for page in 1..=max_pages.max(1) {
            let list = self.list_page(op, request.clone(), page).await?;
            all.extend(list.items);
            if !list.has_next {
                break;
            }
        }
        Ok(all)
    }
}
