use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::{opts, spawn};

#[tokio::test]
async fn bursts_latency_drops_and_storms() {
    let sim = spawn(opts()).await;
    let set = |v: serde_json::Value| sim.control(Method::PUT, "/_sim/faults", Some(v));
    set(json!({"error_rate": 1.0, "error_burst": 2})).await;
    let a = sim.get("/api/v2/tickets.json").await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        sim.control(Method::GET, "/_sim/state", None).await.status,
        StatusCode::OK,
        "controls are never faulted"
    );
    set(json!({"latency": {"distribution": "fixed", "ms": 150}})).await;
    let started = Instant::now();
    assert_eq!(
        sim.get("/api/v2/users/me.json").await.status,
        StatusCode::OK
    );
    assert!(started.elapsed() >= Duration::from_millis(150));
    set(json!({"drop_rate": 1.0})).await;
    let dropped = async {
        let r = sim
            .client
            .get(sim.url("/api/v2/tickets.json"))
            .header("Authorization", &sim.auth)
            .send()
            .await?;
        r.bytes().await
    };
    assert!(
        dropped.await.is_err(),
        "the connection drops before the answer completes"
    );
    sim.control(Method::DELETE, "/_sim/faults", None).await;
    sim.control(
        Method::POST,
        "/_sim/faults/storm",
        Some(json!({"seconds": 30})),
    )
    .await;
    let storm = sim.get("/api/v2/tickets.json").await;
    assert_eq!(storm.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(storm.headers.contains_key("retry-after"));
    sim.control(Method::DELETE, "/_sim/faults", None).await;
    assert_eq!(sim.get("/api/v2/tickets.json").await.status, StatusCode::OK);
}

#[tokio::test]
async fn malformed_records_break_as_configured() {
    let sim = spawn(opts()).await;
    sim.control(
        Method::PUT,
        "/_sim/faults",
        Some(json!({"malformed_rate": 1.0, "malformed_kinds": ["unknown_enum"]})),
    )
    .await;
    let a = sim.get("/api/v2/tickets.json").await;
    let tickets = a.body["tickets"].as_array().unwrap();
    let odd = tickets
        .iter()
        .filter(|t| {
            ["status", "priority", "type"].iter().any(|f| {
                t[*f]
                    .as_str()
                    .is_some_and(|v| v.starts_with("zz_undocumented"))
            })
        })
        .count();
    assert_eq!(odd, tickets.len());
    sim.control(
        Method::PUT,
        "/_sim/faults",
        Some(json!({"malformed_rate": 1.0, "malformed_kinds": ["dangling_reference"]})),
    )
    .await;
    let a = sim.get("/api/v2/users.json").await;
    assert!(a.body["users"].as_array().unwrap().iter().any(|u| {
        u["organization_id"]
            .as_u64()
            .is_some_and(|o| o >= 9_000_000_000_000)
    }));
    sim.control(
        Method::PUT,
        "/_sim/faults",
        Some(json!({"malformed_rate": 1.0, "malformed_kinds": ["invalid_utf8"]})),
    )
    .await;
    let a = sim.get("/api/v2/tickets.json").await;
    assert!(a.text.contains("\\ud800"));
    assert!(
        serde_json::from_str::<serde_json::Value>(&a.text).is_err(),
        "a lone surrogate is not valid UTF-8"
    );
    sim.control(
        Method::PUT,
        "/_sim/faults",
        Some(json!({"malformed_rate": 0.5, "malformed_kinds": ["wrong_type"]})),
    )
    .await;
    let a = sim.get("/api/v2/tickets.json").await;
    assert_eq!(a.status, StatusCode::OK);
    let bad = sim
        .control(
            Method::PUT,
            "/_sim/faults",
            Some(json!({"no_such_fault": 1})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn faults_can_be_set_at_start() {
    let mut o = opts();
    o.faults.error_rate = 1.0;
    o.faults.error_status = Some(502);
    let sim = spawn(o).await;
    assert_eq!(
        sim.get("/api/v2/tickets.json").await.status,
        StatusCode::BAD_GATEWAY
    );
}
