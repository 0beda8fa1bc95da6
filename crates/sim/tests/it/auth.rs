use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::{basic, opts, spawn};

#[tokio::test]
async fn missing_or_wrong_credentials_get_zendesks_401() {
    let sim = spawn(opts()).await;
    let none = sim.control(Method::GET, "/api/v2/tickets.json", None).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.body, json!({"error": "Couldn't authenticate you"}));
    let wrong = sim
        .client
        .get(sim.url("/api/v2/users/me.json"))
        .header("Authorization", basic("admin@example.com", "nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let password = sim
        .client
        .get(sim.url("/api/v2/users/me.json"))
        .basic_auth("admin@example.com", Some("sim-token"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        password.status(),
        StatusCode::UNAUTHORIZED,
        "password auth is not accepted"
    );
}

#[tokio::test]
async fn token_and_bearer_both_work() {
    let sim = spawn(opts()).await;
    let me = sim.get("/api/v2/users/me.json").await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["user"]["email"], "admin@example.com");
    assert_eq!(me.body["user"]["role"], "admin");
    let bearer = sim
        .client
        .get(sim.url("/api/v2/users/me"))
        .bearer_auth("sim-token")
        .send()
        .await
        .unwrap();
    assert_eq!(
        bearer.status(),
        StatusCode::OK,
        ".json suffix is optional too"
    );
}

#[tokio::test]
async fn a_suspended_users_token_is_forbidden() {
    let sim = spawn(opts()).await;
    let created = sim
        .post(
            "/api/v2/users.json",
            json!({"user": {"name": "Agent Smith", "email": "smith@example.com", "role": "agent"}}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let auth = basic("smith@example.com", "sim-token");
    let ok = sim
        .client
        .get(sim.url("/api/v2/users/me.json"))
        .header("Authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let a = sim
        .control(
            Method::POST,
            "/_sim/users/suspend",
            Some(json!({"email": "smith@example.com"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let forbidden = sim
        .client
        .get(sim.url("/api/v2/users/me.json"))
        .header("Authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    let body: serde_json::Value = forbidden.json().await.unwrap();
    assert_eq!(body["error"], "Forbidden");
}
