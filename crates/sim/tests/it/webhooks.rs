use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use cutover_sim::webhooks::hmac_sha256_base64;
use serde_json::{Value, json};

use crate::harness::{opts, spawn};

#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(HeaderMap, String)>>>,
    fail_first: Arc<Mutex<u32>>,
}

async fn receiver(fail_first: u32) -> (String, Receiver) {
    let r = Receiver {
        fail_first: Arc::new(Mutex::new(fail_first)),
        ..Receiver::default()
    };
    let state = r.clone();
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: String| {
            let state = state.clone();
            async move {
                state.got.lock().unwrap().push((headers, body));
                let mut left = state.fail_first.lock().unwrap();
                if *left > 0 {
                    *left -= 1;
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, r)
}

async fn wait_for(r: &Receiver, n: usize) {
    for _ in 0..200 {
        if r.got.lock().unwrap().len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("only {} deliveries arrived", r.got.lock().unwrap().len());
}

#[tokio::test]
async fn subscribed_endpoints_get_signed_ticket_and_user_events_with_retries() {
    let sim = spawn(opts()).await;
    let (url, r) = receiver(1).await;
    let subs = [
        "zen:event-type:ticket.created",
        "zen:event-type:ticket.status_changed",
        "zen:event-type:user.created",
    ];
    let w = sim.post("/api/v2/webhooks", json!({"webhook": {"name": "bridge", "endpoint": url, "http_method": "POST", "request_format": "json", "status": "active", "subscriptions": subs}})).await;
    assert_eq!(w.status, StatusCode::CREATED, "{}", w.text);
    let wid = w.body["webhook"]["id"].as_str().unwrap().to_owned();
    let secret = sim
        .get(&format!("/api/v2/webhooks/{wid}/signing_secret"))
        .await
        .body["signing_secret"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = sim
        .ticket(json!({"ticket": {"comment": {"body": "hook me"}}}))
        .await;
    sim.put(
        &format!("/api/v2/tickets/{id}.json"),
        json!({"ticket": {"status": "pending"}}),
    )
    .await;
    sim.post("/api/v2/users.json", json!({"user": {"name": "Hooked"}}))
        .await;
    wait_for(&r, 4).await;
    let got = r.got.lock().unwrap().clone();
    let mut types: Vec<String> = Vec::new();
    for (headers, body) in &got {
        let ts = headers["x-zendesk-webhook-signature-timestamp"]
            .to_str()
            .unwrap();
        let sig = headers["x-zendesk-webhook-signature"].to_str().unwrap();
        assert_eq!(
            sig,
            hmac_sha256_base64(secret.as_bytes(), &[ts.as_bytes(), body.as_bytes()])
        );
        assert_eq!(headers["x-zendesk-webhook-id"], wid.as_str());
        let payload: Value = serde_json::from_str(body).unwrap();
        types.push(payload["type"].as_str().unwrap().to_owned());
    }
    types.sort();
    types.dedup();
    assert_eq!(
        types,
        [
            "zen:event-type:ticket.created",
            "zen:event-type:ticket.status_changed",
            "zen:event-type:user.created"
        ]
    );
    let created: Vec<Value> = got
        .iter()
        .map(|(_, b)| serde_json::from_str::<Value>(b).unwrap())
        .filter(|p| p["type"] == "zen:event-type:ticket.created")
        .collect();
    assert!(
        created.len() >= 2,
        "the first attempt failed with 500 and was retried"
    );
    assert_eq!(created[0]["detail"]["id"], id.to_string());
    let inv = sim
        .get(&format!("/api/v2/webhooks/{wid}/invocations"))
        .await;
    assert!(!inv.body["invocations"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn webhook_api_hides_credentials_and_lost_webhooks_never_arrive() {
    let sim = spawn(opts()).await;
    let (url, r) = receiver(0).await;
    let w = sim.post("/api/v2/webhooks", json!({"webhook": {"name": "x", "endpoint": url, "http_method": "POST", "request_format": "json", "status": "active",
        "subscriptions": ["zen:event-type:ticket.created"], "authentication": {"type": "basic_auth", "add_position": "header", "data": {"username": "u", "password": "p"}}}})).await;
    assert!(
        w.body["webhook"]["authentication"]["data"]
            .get("password")
            .is_none()
    );
    let wid = w.body["webhook"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        sim.call(
            reqwest::Method::PATCH,
            &format!("/api/v2/webhooks/{wid}"),
            Some(&json!({"webhook": {"name": "renamed"}}))
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        sim.get(&format!("/api/v2/webhooks/{wid}")).await.body["webhook"]["name"],
        "renamed"
    );
    sim.control(
        reqwest::Method::PUT,
        "/_sim/faults",
        Some(json!({"webhook_loss_rate": 1.0})),
    )
    .await;
    sim.ticket(json!({"ticket": {"comment": {"body": "lost"}}}))
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(r.got.lock().unwrap().is_empty());
    assert!(
        sim.app()
            .webhook_attempts()
            .iter()
            .any(|a| a.status == "lost")
    );
    sim.control(reqwest::Method::DELETE, "/_sim/faults", None)
        .await;
    sim.ticket(json!({"ticket": {"comment": {"body": "found"}}}))
        .await;
    wait_for(&r, 1).await;
    let (headers, _) = r.got.lock().unwrap()[0].clone();
    assert_eq!(
        headers["authorization"], "Basic dTpw",
        "the webhook's own credentials are sent"
    );
    assert_eq!(
        sim.delete(&format!("/api/v2/webhooks/{wid}")).await.status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn triggers_call_their_webhook_with_the_body_filled_and_signed_with_the_given_secret() {
    let sim = spawn(opts()).await;
    let (url, r) = receiver(0).await;
    let w = sim
        .post("/api/v2/webhooks", json!({"webhook": {"name": "bridge", "endpoint": url, "http_method": "POST",
            "request_format": "json", "status": "active", "subscriptions": ["conditional_ticket_events"],
            "signing_secret": {"algorithm": "SHA256", "secret": "given-secret"}}}))
        .await;
    assert!(
        w.body["webhook"].get("signing_secret").is_none(),
        "never shown"
    );
    let wid = w.body["webhook"]["id"].as_str().unwrap().to_owned();
    let body = "{\"id\": \"{{ticket.id}}\", \"status\": \"{{ticket.status}}\", \"at\": \"{{ticket.updated_at_with_timestamp}}\"}";
    let on_create = sim
        .post("/api/v2/triggers", json!({"trigger": {"title": "Tell the bridge", "active": true,
            "conditions": {"all": [{"field": "update_type", "operator": "is", "value": "Create"}], "any": []},
            "actions": [{"field": "notification_webhook", "value": [wid, body]}]}}))
        .await;
    assert_eq!(on_create.status, StatusCode::CREATED, "{}", on_create.text);
    // A trigger whose condition the ticket does not meet stays quiet.
    sim.post("/api/v2/triggers", json!({"trigger": {"title": "Urgent only", "active": true,
            "conditions": {"all": [{"field": "priority", "operator": "is", "value": "urgent"}], "any": []},
            "actions": [{"field": "notification_webhook", "value": [wid, "{\"urgent\": true}"]}]}}))
        .await;
    let id = sim
        .ticket(json!({"ticket": {"subject": "Hi", "comment": {"body": "hello"}}}))
        .await;
    wait_for(&r, 1).await;
    // An update runs no Create trigger, and the webhook gets no events of its own.
    sim.put(
        &format!("/api/v2/tickets/{id}"),
        json!({"ticket": {"status": "pending"}}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let got = r.got.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "{got:?}");
    let (headers, payload) = &got[0];
    let sent: Value = serde_json::from_str(payload).unwrap();
    assert_eq!(sent["id"], id.to_string());
    assert_eq!(sent["status"], "new");
    let ts = headers["x-zendesk-webhook-signature-timestamp"]
        .to_str()
        .unwrap();
    let expected = hmac_sha256_base64(b"given-secret", &[ts.as_bytes(), payload.as_bytes()]);
    assert_eq!(
        headers["x-zendesk-webhook-signature"].to_str().unwrap(),
        expected
    );
}

#[tokio::test]
async fn a_duplicated_delivery_arrives_twice_with_one_invocation_id() {
    let sim = spawn(opts()).await;
    let (url, r) = receiver(0).await;
    sim.post("/api/v2/webhooks", json!({"webhook": {"name": "x", "endpoint": url, "http_method": "POST",
        "request_format": "json", "status": "active", "subscriptions": ["zen:event-type:ticket.created"]}}))
        .await;
    sim.control(
        reqwest::Method::PUT,
        "/_sim/faults",
        Some(json!({"webhook_duplicate_rate": 1.0})),
    )
    .await;
    sim.ticket(json!({"ticket": {"comment": {"body": "twice"}}}))
        .await;
    wait_for(&r, 2).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let got = r.got.lock().unwrap().clone();
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[0].0["x-zendesk-webhook-invocation-id"],
        got[1].0["x-zendesk-webhook-invocation-id"]
    );
    assert_eq!(got[0].1, got[1].1);
}
