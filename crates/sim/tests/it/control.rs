use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::{opts, spawn};

#[tokio::test]
async fn starts_on_port_zero_and_reports_counts() {
    let sim = spawn(opts()).await;
    assert!(sim.handle.url().starts_with("http://127.0.0.1:"));
    assert_ne!(sim.handle.addr().port(), 0);
    let state = sim.control(Method::GET, "/_sim/state", None).await;
    assert_eq!(state.status, StatusCode::OK);
    assert_eq!(state.body["counts"]["tickets"], 20);
    assert!(state.body["counts"]["users"].as_u64().unwrap() > 10);
    assert!(state.body["counts"]["comments"].as_u64().unwrap() >= 20);
    sim.handle.shutdown().await.unwrap();
}

#[tokio::test]
async fn reset_regenerates_with_another_size() {
    let sim = spawn(opts()).await;
    sim.ticket(json!({"ticket": {"subject": "x", "comment": {"body": "y"}}}))
        .await;
    let a = sim
        .control(Method::POST, "/_sim/reset", Some(json!({"tickets": 7})))
        .await;
    assert_eq!(a.body["counts"]["tickets"], 7);
    assert_eq!(sim.app().counts()["tickets"], 7);
}

#[tokio::test]
async fn clock_can_be_set_frozen_and_advanced() {
    let sim = spawn(opts()).await;
    let a = sim
        .control(
            Method::POST,
            "/_sim/clock",
            Some(json!({"set": "2025-01-01T00:00:00Z", "freeze": true})),
        )
        .await;
    assert_eq!(a.body["now"], "2025-01-01T00:00:00Z");
    sim.advance(90).await;
    let a = sim.control(Method::GET, "/_sim/clock", None).await;
    assert_eq!(a.body["now"], "2025-01-01T00:01:30Z");
    assert_eq!(a.body["frozen"], true);
    let id = sim
        .ticket(json!({"ticket": {"comment": {"body": "clocked"}}}))
        .await;
    let t = sim.get(&format!("/api/v2/tickets/{id}.json")).await;
    assert_eq!(
        t.body["ticket"]["created_at"], "2025-01-01T00:01:30Z",
        "the clock stamps records"
    );
}

#[tokio::test]
async fn same_seed_same_data_through_the_api() {
    let (a, b) = (spawn(opts()).await, spawn(opts()).await);
    let (ta, tb) = (
        a.get("/api/v2/tickets.json").await,
        b.get("/api/v2/tickets.json").await,
    );
    let strip = |v: &serde_json::Value| {
        v.to_string()
            .replace(a.handle.url(), "")
            .replace(b.handle.url(), "")
    };
    assert_eq!(strip(&ta.body["tickets"]), strip(&tb.body["tickets"]));
    let mut other = opts();
    other.seed = 99;
    let c = spawn(other).await;
    let tc = c.get("/api/v2/tickets.json").await;
    assert_ne!(
        strip(&ta.body["tickets"]),
        tc.body["tickets"].to_string().replace(c.handle.url(), "")
    );
}
