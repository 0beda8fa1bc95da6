//! Numeric query parameters as each platform reads them: Zendesk takes a decimal as its whole
//! part (a widely used extractor sends `start_time=946684800.0` to the incremental exports),
//! Freshdesk refuses anything but digits.

use reqwest::StatusCode;
use serde_json::Value;

use crate::freshdesk_harness::{fd_opts, fd_spawn};
use crate::harness::{opts, spawn};

fn ids(body: &Value, key: &str) -> Vec<u64> {
    body[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn zendesk_reads_a_decimal_as_its_whole_part() {
    let sim = spawn(opts()).await;
    for path in [
        "/api/v2/incremental/tickets.json",
        "/api/v2/incremental/tickets/cursor.json",
        "/api/v2/incremental/users.json",
        "/api/v2/incremental/organizations.json",
        "/api/v2/incremental/ticket_events.json",
    ] {
        let whole = sim
            .get(&format!("{path}?start_time=946684800&per_page=5"))
            .await;
        let decimal = sim
            .get(&format!("{path}?start_time=946684800.0&per_page=5.0"))
            .await;
        assert_eq!(whole.status, StatusCode::OK, "{path}: {}", whole.text);
        assert_eq!(decimal.status, StatusCode::OK, "{path}: {}", decimal.text);
        let key = whole
            .body
            .as_object()
            .unwrap()
            .iter()
            .find(|(_, v)| v.is_array())
            .map(|(k, _)| k.clone())
            .unwrap();
        assert_eq!(ids(&whole.body, &key), ids(&decimal.body, &key), "{path}");
        assert!(
            ids(&decimal.body, &key).len() <= 5,
            "{path}: per_page=5.0 is 5"
        );
    }
    let bad = sim
        .get("/api/v2/incremental/tickets.json?start_time=yesterday")
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
    assert_eq!(bad.body["error"], "InvalidValue");
    let listed = sim.get("/api/v2/tickets.json?per_page=3.0&page=2.0").await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    assert_eq!(listed.body["tickets"].as_array().unwrap().len(), 3);
    let plain = sim.get("/api/v2/tickets.json?per_page=3&page=2").await;
    assert_eq!(ids(&listed.body, "tickets"), ids(&plain.body, "tickets"));
    let rated = sim
        .get("/api/v2/satisfaction_ratings.json?start_time=946684800.0")
        .await;
    assert_eq!(rated.status, StatusCode::OK, "{}", rated.text);
}

#[tokio::test]
async fn freshdesk_refuses_anything_but_digits() {
    let fd = fd_spawn(fd_opts()).await;
    let since = "updated_since=2000-01-01T00:00:00Z";
    let ok = fd
        .get(&format!("/api/v2/tickets?{since}&per_page=5&page=2"))
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    for query in [
        "per_page=5.0",
        "page=2.0",
        "per_page=ten",
        "requester_id=1.0",
        "company_id=x",
    ] {
        let bad = fd.get(&format!("/api/v2/tickets?{since}&{query}")).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{query}: {}", bad.text);
        assert_eq!(bad.body["description"], "Validation failed", "{query}");
    }
    for path in [
        "/api/v2/contacts?company_id=1.0",
        "/api/v2/contacts?page=1.0",
        "/api/v2/time_entries?agent_id=2.5",
        "/api/v2/search/tickets?query=%22priority:4%22&page=1.0",
    ] {
        let bad = fd.get(path).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{path}: {}", bad.text);
    }
}
