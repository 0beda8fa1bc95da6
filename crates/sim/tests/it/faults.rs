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

/// Statuses of `n` GETs of the ticket list, in order (`None`: the connection dropped).
async fn statuses(sim: &crate::harness::Sim, n: usize) -> Vec<Option<u16>> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let sent = sim
            .client
            .get(sim.url("/api/v2/tickets.json?per_page=1"))
            .header("Authorization", &sim.auth)
            .send()
            .await;
        out.push(match sent {
            Ok(r) => {
                let status = r.status().as_u16();
                r.bytes().await.ok().map(|_| status)
            }
            Err(_) => None,
        });
    }
    out
}

#[tokio::test]
async fn bursts_come_at_their_rate_and_length() {
    let sim = spawn(opts()).await;
    sim.control(
        Method::PUT,
        "/_sim/faults",
        Some(json!({"error_rate": 0.2, "error_burst": 3, "error_status": 500})),
    )
    .await;
    let got = statuses(&sim, 300).await;
    assert!(got.iter().all(|s| matches!(s, Some(200 | 500))), "{got:?}");
    // Runs of failures are whole bursts: a multiple of three long (the last may be cut off).
    let mut runs = Vec::new();
    let mut run = 0;
    for s in &got {
        if *s == Some(500) {
            run += 1;
        } else if run > 0 {
            runs.push(run);
            run = 0;
        }
    }
    assert!(runs.len() > 10, "bursts start at about the rate: {runs:?}");
    assert!(runs.iter().all(|r| r % 3 == 0), "{runs:?}");
    let failed = got.iter().filter(|s| **s == Some(500)).count();
    // Expected share: 3 × 0.2 / (1 + 2 × 0.2) ≈ 0.43.
    assert!((75..=180).contains(&failed), "{failed} of 300 failed");
    let a = sim.get("/api/v2/tickets.json").await;
    if a.status == StatusCode::INTERNAL_SERVER_ERROR {
        assert!(
            a.body["error"].is_string(),
            "Zendesk's error body: {}",
            a.text
        );
    }
}

#[tokio::test]
async fn drops_and_storms_come_at_their_rate() {
    let sim = spawn(opts()).await;
    sim.control(Method::PUT, "/_sim/faults", Some(json!({"drop_rate": 0.3})))
        .await;
    let got = statuses(&sim, 100).await;
    let dropped = got.iter().filter(|s| s.is_none()).count();
    assert!((15..=45).contains(&dropped), "{dropped} of 100 dropped");
    assert!(got.iter().flatten().all(|s| *s == 200));

    sim.control(
        Method::PUT,
        "/_sim/faults",
        Some(json!({"storm_rate": 1.0, "storm_seconds": 30})),
    )
    .await;
    let first = sim.get("/api/v2/tickets.json").await;
    assert_eq!(first.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(first.body["error"], "APIRateLimitExceeded");
    let retry: u64 = first.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry), "Retry-After {retry}");
    // Replacing the faults ends a storm; one started by hand lasts its seconds.
    sim.control(
        Method::PUT,
        "/_sim/faults",
        Some(json!({"storm_rate": 0.0})),
    )
    .await;
    assert_eq!(
        sim.get("/api/v2/tickets.json").await.status,
        StatusCode::OK,
        "setting faults ends a storm"
    );
    sim.control(
        Method::POST,
        "/_sim/faults/storm",
        Some(json!({"seconds": 30})),
    )
    .await;
    let storm = statuses(&sim, 20).await;
    assert!(storm.iter().all(|s| *s == Some(429)), "{storm:?}");
}

#[tokio::test]
async fn latency_follows_its_distribution() {
    let sim = spawn(opts()).await;
    sim.control(
        Method::PUT,
        "/_sim/faults",
        Some(json!({"latency": {"distribution": "uniform", "min_ms": 40, "max_ms": 90}})),
    )
    .await;
    let mut took = Vec::new();
    for _ in 0..8 {
        let started = Instant::now();
        assert_eq!(
            sim.get("/api/v2/users/me.json").await.status,
            StatusCode::OK
        );
        took.push(started.elapsed());
    }
    assert!(
        took.iter().all(|t| *t >= Duration::from_millis(40)),
        "{took:?}"
    );
    let spread = took.iter().max().unwrap().as_millis() - took.iter().min().unwrap().as_millis();
    assert!(spread >= 5, "uniform draws differ: {took:?}");
    sim.control(
        Method::PUT,
        "/_sim/faults",
        Some(json!({"latency": {"distribution": "exponential", "mean_ms": 20}})),
    )
    .await;
    let started = Instant::now();
    for _ in 0..10 {
        sim.get("/api/v2/users/me.json").await;
    }
    let mean = started.elapsed().as_millis() / 10;
    assert!((5..=120).contains(&mean), "mean {mean} ms for a 20 ms mean");
}

#[tokio::test]
async fn wrong_types_change_a_fields_json_type() {
    let sim = spawn(opts()).await;
    let clean = sim.get("/api/v2/tickets.json").await.body["tickets"].clone();
    sim.control(
        Method::PUT,
        "/_sim/faults",
        Some(json!({"malformed_rate": 1.0, "malformed_kinds": ["wrong_type"]})),
    )
    .await;
    let broken = sim.get("/api/v2/tickets.json").await.body["tickets"].clone();
    let kind = |v: &serde_json::Value| std::mem::discriminant(v);
    for (c, b) in clean
        .as_array()
        .unwrap()
        .iter()
        .zip(broken.as_array().unwrap())
    {
        let changed = c
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, v)| kind(v) != kind(&b[k.as_str()]))
            .count();
        assert_eq!(changed, 1, "one field per record changes type: {c} / {b}");
    }
}
