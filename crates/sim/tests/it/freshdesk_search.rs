//! Freshdesk filter search: the query language, 30 a page, 10 pages at most, the real errors.

use reqwest::StatusCode;
use serde_json::json;

use crate::freshdesk_harness::{fd_opts, fd_spawn};

fn q(query: &str) -> String {
    let encoded: String =
        url::form_urlencoded::byte_serialize(format!("\"{query}\"").as_bytes()).collect();
    encoded
}

#[tokio::test]
async fn ticket_search_filters_pages_and_refuses_bad_queries() {
    let fd = fd_spawn(cutover_sim::freshdesk::FreshdeskOptions {
        tickets: 120,
        ..fd_opts()
    })
    .await;
    let open = fd
        .get(&format!(
            "/api/v2/search/tickets?query={}",
            q("status:2 OR status:3")
        ))
        .await;
    assert_eq!(open.status, StatusCode::OK, "{}", open.text);
    let total = open.body["total"].as_u64().unwrap();
    let results = open.body["results"].as_array().unwrap();
    assert!(total > 0 && results.len() as u64 == total.min(30));
    assert!(results.iter().all(|t| t["status"] == 2 || t["status"] == 3));
    let urgent = fd
        .get(&format!(
            "/api/v2/search/tickets?query={}",
            q("(status:2 OR status:3) AND priority:>3")
        ))
        .await;
    let urgent = urgent.body["results"].as_array().unwrap().clone();
    assert!(!urgent.is_empty());
    // `:>` is "greater than or equal to" in Freshdesk's query language.
    assert!(urgent.iter().all(|t| t["priority"].as_u64().unwrap() >= 3 && (t["status"] == 2 || t["status"] == 3)));
    let t = fd.ticket(json!({"email": "s@example.com", "subject": "findme", "tags": ["needle"], "custom_fields": {"cf_order_number": "ORD-42"}})).await;
    for query in [
        "tag:'needle'",
        "cf_order_number:'ORD-42'",
        "created_at:'2024-06-03'",
    ] {
        let found = fd
            .get(&format!("/api/v2/search/tickets?query={}", q(query)))
            .await;
        assert!(
            found.body["results"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["id"] == t["id"]),
            "{query}: {}",
            found.text
        );
    }
    let later = fd
        .get(&format!(
            "/api/v2/search/tickets?query={}",
            q("created_at:>'2030-01-01'")
        ))
        .await;
    assert_eq!(later.body["total"], 0);
    let unquoted = fd.get("/api/v2/search/tickets?query=status:2").await;
    assert_eq!(unquoted.status, StatusCode::BAD_REQUEST);
    assert_eq!(unquoted.body["description"], "Validation failed");
    let bad_field = fd
        .get(&format!(
            "/api/v2/search/tickets?query={}",
            q("subject:'x'")
        ))
        .await;
    assert_eq!(bad_field.status, StatusCode::BAD_REQUEST);
    let deep = fd
        .get(&format!(
            "/api/v2/search/tickets?query={}&page=11",
            q("status:2")
        ))
        .await;
    assert_eq!(deep.status, StatusCode::BAD_REQUEST);
    assert_eq!(deep.body["errors"][0]["field"], "page");
    let contacts = fd
        .get(&format!(
            "/api/v2/search/contacts?query={}",
            q("email:'s@example.com'")
        ))
        .await;
    assert_eq!(contacts.body["total"], 1);
    let companies = fd
        .get(&format!(
            "/api/v2/search/companies?query={}",
            q("created_at:>'2000-01-01'")
        ))
        .await;
    assert!(companies.body["total"].as_u64().unwrap() > 0);
}
