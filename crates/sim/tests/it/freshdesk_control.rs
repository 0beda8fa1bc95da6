//! The shared `/_sim/*` controls and faults on the Freshdesk emulator.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::freshdesk_harness::{fd_opts, fd_spawn};

#[tokio::test]
async fn state_reset_and_clock_are_controlled_without_credentials() {
    let fd = fd_spawn(fd_opts()).await;
    let state = fd.control(Method::GET, "/_sim/state", None).await;
    assert_eq!(state.status, StatusCode::OK);
    let tickets = state.body["counts"]["tickets"].as_u64().unwrap()
        + state.body["counts"]["deleted_tickets"].as_u64().unwrap();
    assert_eq!(tickets, 40);
    assert_eq!(
        state.body["clock"]["now"],
        crate::harness::START.replace(".000", "")
    );
    let before = fd.get("/api/v2/contacts?per_page=5").await.body;
    let reset = fd
        .control(
            Method::POST,
            "/_sim/reset",
            Some(json!({"seed": 9, "tickets": 10})),
        )
        .await;
    assert_eq!(reset.status, StatusCode::OK);
    let after = fd.control(Method::GET, "/_sim/state", None).await;
    assert_eq!(
        after.body["counts"]["tickets"].as_u64().unwrap()
            + after.body["counts"]["deleted_tickets"].as_u64().unwrap(),
        10
    );
    assert_ne!(
        fd.get("/api/v2/contacts?per_page=5").await.body,
        before,
        "another seed, other people"
    );
    let clock = fd
        .control(
            Method::POST,
            "/_sim/clock",
            Some(json!({"set": "2025-01-01T00:00:00Z", "freeze": true})),
        )
        .await;
    assert_eq!(clock.body["now"], "2025-01-01T00:00:00Z");
    let t = fd
        .ticket(json!({"email": "clock@example.com", "subject": "then"}))
        .await;
    assert_eq!(t["created_at"], "2025-01-01T00:00:00Z");
}

#[tokio::test]
async fn faults_answer_in_freshdesk_words_and_spare_the_controls() {
    let fd = fd_spawn(fd_opts()).await;
    let set = fd
        .control(
            Method::PUT,
            "/_sim/faults",
            Some(json!({"error_rate": 1.0, "error_burst": 1})),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK);
    let failed = fd.get("/api/v2/tickets").await;
    assert_eq!(failed.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(failed.body["message"].is_string());
    assert_eq!(
        fd.control(Method::GET, "/_sim/state", None).await.status,
        StatusCode::OK
    );
    fd.control(Method::DELETE, "/_sim/faults", None).await;
    fd.control(
        Method::POST,
        "/_sim/faults/storm",
        Some(json!({"seconds": 30})),
    )
    .await;
    let storm = fd.get("/api/v2/tickets").await;
    assert_eq!(storm.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(storm.headers.contains_key("retry-after"));
    fd.control(Method::DELETE, "/_sim/faults", None).await;
    fd.control(
        Method::PUT,
        "/_sim/faults",
        Some(json!({"malformed_rate": 1.0, "malformed_kinds": ["unknown_enum"]})),
    )
    .await;
    let broken = fd.get("/api/v2/tickets?per_page=3").await;
    assert!(broken.body.as_array().unwrap().iter().all(|t| {
        ["status", "priority", "source"].iter().any(|k| {
            t[k].as_str()
                .is_some_and(|s| s.starts_with("zz_undocumented_"))
        })
    }));
}

#[tokio::test]
async fn https_with_a_certificate_for_freshdesk_hosts() {
    cutover_sim::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let cert_path = dir.path().join("fd.pem");
    let handle = cutover_sim::freshdesk::FreshdeskSim::spawn(
        cutover_sim::freshdesk::FreshdeskOptions {
            tls_cert_out: Some(cert_path.clone()),
            ..fd_opts()
        },
        "127.0.0.1:0",
    )
    .await
    .unwrap();
    assert!(handle.url().starts_with("https://"));
    let pem = std::fs::read(&cert_path).unwrap();
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
        .resolve("acme.freshdesk.com", handle.addr())
        .build()
        .unwrap();
    let url = format!(
        "https://acme.freshdesk.com:{}/api/v2/agents/me",
        handle.addr().port()
    );
    let r = client
        .get(&url)
        .header(
            "Authorization",
            crate::freshdesk_harness::key_auth("sim-key"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    handle.shutdown().await.unwrap();
}
