//! Freshdesk webhooks: automation rules (ticket creation, ticket update) whose
//! `trigger_webhook` action calls a receiver with the configured method, URL, headers and
//! templated body, unsigned, for changes made through the API.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, Method as AxMethod, StatusCode};
use axum::routing::any;
use serde_json::{Value, json};

use crate::freshdesk_harness::{fd_opts, fd_spawn};

pub(crate) type Got = Arc<Mutex<Vec<(AxMethod, HeaderMap, String)>>>;

pub(crate) async fn receiver() -> (String, Got) {
    let got: Got = Arc::default();
    let state = Arc::clone(&got);
    let app = Router::new().route(
        "/hook/{rest}",
        any(move |method: AxMethod, headers: HeaderMap, body: String| {
            let state = Arc::clone(&state);
            async move {
                state.lock().unwrap().push((method, headers, body));
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, got)
}

async fn wait_for(got: &Got, n: usize) {
    for _ in 0..200 {
        if got.lock().unwrap().len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("only {} deliveries arrived", got.lock().unwrap().len());
}

#[tokio::test]
async fn creation_and_update_rules_call_their_webhooks_with_templated_bodies() {
    let fd = fd_spawn(fd_opts()).await;
    let (url, got) = receiver().await;
    let create_rule = fd
        .post("/api/v2/automations/1/rules", json!({
            "name": "Urgent to the bridge", "active": true,
            "conditions": [{"name": "condition_set_1", "match_type": "all", "properties": [
                {"resource_type": "ticket", "field_name": "priority", "operator": "in", "value": [3, 4]}]}],
            "actions": [{"field_name": "trigger_webhook", "request_type": "POST", "url": format!("{url}/created"),
                "content_type": "JSON", "custom_headers": {"X-Bridge-Secret": "s3cret"},
                "content": "{\"id\": {{ticket.id}}, \"subject\": \"{{ticket.subject}}\", \"requester\": \"{{ticket.requester.email}}\", \"status\": \"{{ticket.status}}\"}"}]
        }))
        .await;
    assert_eq!(
        create_rule.status,
        StatusCode::CREATED,
        "{}",
        create_rule.text
    );
    assert_eq!(create_rule.body["automation_type_id"], 1);
    let update_rule = fd
        .post("/api/v2/automations/4/rules", json!({
            "name": "Status changes", "active": true,
            "events": [{"field_name": "status", "from": "--", "to": "--"}],
            "conditions": [],
            "actions": [{"field_name": "trigger_webhook", "request_type": "PUT", "url": format!("{url}/updated"),
                "content_type": "JSON", "content": {"ticket": "{{ticket.id}}", "status": "{{ticket.status}}"}}]
        }))
        .await;
    assert_eq!(
        update_rule.status,
        StatusCode::CREATED,
        "{}",
        update_rule.text
    );
    let listed = fd.get("/api/v2/automations/4/rules").await;
    let listed = listed.body.as_array().unwrap();
    assert_eq!(
        listed
            .iter()
            .filter(|r| r["name"] == "Status changes")
            .count(),
        1
    );
    let quiet = fd
        .ticket(json!({"email": "hook@example.com", "subject": "low", "priority": 1}))
        .await;
    let loud = fd
        .ticket(json!({"email": "hook@example.com", "subject": "Срочно \"now\"", "priority": 4}))
        .await;
    wait_for(&got, 1).await;
    let id = loud["id"].as_u64().unwrap();
    fd.put(&format!("/api/v2/tickets/{id}"), json!({"priority": 3}))
        .await;
    fd.put(&format!("/api/v2/tickets/{id}"), json!({"status": 3}))
        .await;
    wait_for(&got, 2).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 2, "one creation, one status change: {got:?}");
    let (method, headers, body) = got
        .iter()
        .find(|(m, _, _)| m == AxMethod::POST)
        .unwrap()
        .clone();
    assert_eq!(method, AxMethod::POST);
    assert_eq!(headers["x-bridge-secret"], "s3cret");
    assert!(
        !headers.keys().any(|k| k.as_str().contains("signature")),
        "unsigned"
    );
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        body,
        json!({"id": id, "subject": "Срочно \"now\"", "requester": "hook@example.com", "status": "Open"})
    );
    assert_ne!(body["id"], quiet["id"]);
    let (_, _, body) = got
        .iter()
        .find(|(m, _, _)| m == AxMethod::PUT)
        .unwrap()
        .clone();
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body, json!({"ticket": id.to_string(), "status": "Pending"}));
    let attempts = fd.app().webhook_attempts();
    assert!(
        attempts.iter().all(|a| a.status == "success"),
        "{attempts:?}"
    );
    let bad = fd.post("/api/v2/automations/1/rules", json!({"name": "x", "actions": [{"field_name": "trigger_webhook", "url": "not a url"}]})).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        fd.get("/api/v2/automations/2/rules").await.status,
        StatusCode::NOT_FOUND
    );
}
