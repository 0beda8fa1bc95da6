//! The control-plane API (issue 14, item 6) against a real `cutover serve` over SQLite and
//! PostgreSQL: tokens made, listed and revoked with `cutover token`; every `/api/v1/` route
//! answers 401 without a token, with a wrong, malformed or revoked one, 403 to a role too low,
//! and 200 with the expected JSON to the right role; the OpenAPI document lists exactly the
//! routes served.

use std::collections::BTreeSet;

use chrono::Utc;
use cutover_model::{RecordKind, Side};
use cutover_store::{NewConflict, NewDeadLetter};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::bridge::read;

/// Zendesk (old) to Freshdesk (new).
type Bridge = crate::bridge::Bridge<cutover_sim::zendesk::App, cutover_sim::freshdesk::App>;

/// The roles, lowest first, as `token create --role` takes them.
const ROLES: [&str; 3] = ["viewer", "operator", "admin"];

/// Every route the API serves: method, path template, lowest role.
const ROUTES: [(&str, &str, &str); 14] = [
    ("GET", "/api/v1/openapi.json", "viewer"),
    ("GET", "/api/v1/waves", "viewer"),
    ("GET", "/api/v1/waves/{wave}/gates", "viewer"),
    ("POST", "/api/v1/waves/{wave}/sign-off", "operator"),
    ("POST", "/api/v1/waves/{switched}/pause", "operator"),
    ("POST", "/api/v1/waves/{switched}/resume", "operator"),
    ("GET", "/api/v1/sync/status", "viewer"),
    ("GET", "/api/v1/leader", "viewer"),
    ("GET", "/api/v1/conflicts", "viewer"),
    ("GET", "/api/v1/conflicts/{id}", "viewer"),
    ("GET", "/api/v1/deadletters", "viewer"),
    ("GET", "/api/v1/deadletters/{id}", "viewer"),
    ("POST", "/api/v1/deadletters/{id}/retry", "operator"),
    ("GET", "/api/v1/tokens", "admin"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn api_routes_check_tokens_and_roles_on_sqlite() {
    api_story(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn api_routes_check_tokens_and_roles_on_postgres() {
    api_story(true).await;
}

/// `cutover token create`: the token alone on standard output.
async fn create(mv: &Bridge, role: &str, name: &str) -> String {
    let out = mv
        .expect(0, &["token", "create", "--role", role, "--name", name])
        .await;
    let token = out.trim().to_owned();
    assert!(token.starts_with("cut_"), "{out}");
    assert_eq!(token.len(), 4 + 64, "{out}");
    token
}

async fn call(
    log: &std::path::Path,
    client: &reqwest::Client,
    base: &str,
    method: &str,
    path: &str,
    auth: Option<&str>,
) -> (StatusCode, Option<String>, Value) {
    // A sign-off needs its body; every other route takes none.
    let body = path
        .ends_with("/sign-off")
        .then(|| json!({ "as": "ops-lead" }).to_string());
    call_with(log, client, base, method, path, auth, body).await
}

async fn call_with(
    log: &std::path::Path,
    client: &reqwest::Client,
    base: &str,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: Option<String>,
) -> (StatusCode, Option<String>, Value) {
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = client.request(method, format!("{base}{path}"));
    if let Some(auth) = auth {
        request = request.header("Authorization", auth);
    }
    if let Some(body) = body {
        request = request
            .header("Content-Type", "application/json")
            .body(body);
    }
    let answer = request.send().await.unwrap_or_else(|e| {
        std::thread::sleep(std::time::Duration::from_millis(300));
        panic!("{path}: {e}\n--- serve's log\n{}", read(log))
    });
    let status = answer.status();
    let challenge = answer
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = answer.text().await.unwrap();
    let json = serde_json::from_str(&body)
        .unwrap_or_else(|e| panic!("{path}: {status} not JSON ({e}): {body}"));
    (status, challenge, json)
}

async fn api_story(postgres: bool) {
    let mv = Bridge::backfilled_with(postgres, 3).await;

    // Tokens: one per role, one revoked; a second live token of a name is refused.
    let mut tokens = Vec::new();
    for role in ROLES {
        tokens.push((role, create(&mv, role, &format!("{role}-token")).await));
    }
    let revoked = create(&mv, "admin", "gone").await;
    let (code, _, stderr) = mv
        .cutover(&["token", "create", "--role", "viewer", "--name", "gone"])
        .await;
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("a live token has that name"), "{stderr}");
    mv.expect(0, &["token", "revoke", "gone"]).await;
    let (code, _, stderr) = mv.cutover(&["token", "revoke", "gone"]).await;
    assert_eq!(code, 3, "{stderr}");
    let (code, _, stderr) = mv
        .cutover(&["token", "create", "--role", "root", "--name", "x"])
        .await;
    assert_eq!(code, 2, "{stderr}");

    // Something to read: a conflict and a dead letter whose record never parsed.
    let store = cutover_store::open(&mv.store.parse().unwrap())
        .await
        .unwrap();
    let mut tx = store.begin().await.unwrap();
    let conflict = tx
        .put_conflict(&NewConflict {
            kind: RecordKind::Ticket,
            old_id: "1".parse().unwrap(),
            new_id: "9001".parse().unwrap(),
            field: "subject".to_owned(),
            old_value: "\"on the old side\"".to_owned(),
            new_value: "\"on the new side\"".to_owned(),
            rule: "later".to_owned(),
            winner: Side::New,
            at: Utc::now(),
        })
        .await
        .unwrap();
    let letter = tx
        .put_dead_letter(&NewDeadLetter {
            kind: RecordKind::Ticket,
            side: Side::Old,
            source_id: "777".parse().unwrap(),
            reason: "unparseable".to_owned(),
            record: json!({ "not": "a ticket" }),
        })
        .await
        .unwrap();
    // Wave 2 switched, to pause and resume; wave 1 on the old side, to sign off.
    let routing = cutover_runtime::RoutingState::default().with_phase(
        "email and whatsapp",
        cutover_runtime::WavePhase::New,
        Utc::now(),
    );
    routing.save_in(tx.as_mut()).await.unwrap();
    tx.commit().await.unwrap();
    let path_of = |template: &str| {
        let id = if template.contains("conflicts") {
            conflict.0
        } else {
            letter.id.0
        };
        template
            .replace("{id}", &id.to_string())
            .replace("{wave}", "pilot")
            .replace("{switched}", "2")
    };

    let served = mv.serve(0).await;
    let base = served.url.clone();
    let serve_log = served.log.clone();
    let client = reqwest::Client::new();

    for (method, template, needed) in ROUTES {
        let path = path_of(template);
        let rejected: [(&str, Option<String>); 5] = [
            ("no token", None),
            (
                "an unknown token",
                Some(format!("Bearer cut_{}", "0".repeat(64))),
            ),
            ("a malformed header", Some(format!("Basic {}", tokens[2].1))),
            ("an empty bearer", Some("Bearer ".to_owned())),
            ("a revoked token", Some(format!("Bearer {revoked}"))),
        ];
        for (what, auth) in rejected {
            let (status, challenge, body) =
                call(&serve_log, &client, &base, method, &path, auth.as_deref()).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} with {what}: {body}"
            );
            assert!(
                challenge
                    .as_deref()
                    .is_some_and(|c| c.starts_with("Bearer")),
                "{method} {path} with {what}: {challenge:?}"
            );
            assert!(body["error"].is_string(), "{body}");
        }
        let needed_rank = ROLES.iter().position(|r| *r == needed).unwrap();
        for (rank, (role, token)) in tokens.iter().enumerate() {
            let auth = format!("Bearer {token}");
            let (status, _, body) =
                call(&serve_log, &client, &base, method, &path, Some(&auth)).await;
            if rank < needed_rank {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{method} {path} as {role}: {body}"
                );
                assert!(body["error"].as_str().unwrap().contains(needed), "{body}");
                continue;
            }
            assert_eq!(status, StatusCode::OK, "{method} {path} as {role}: {body}");
            match template {
                "/api/v1/openapi.json" => assert_eq!(body["openapi"], "3.1.0"),
                "/api/v1/waves" => {
                    let waves = body["waves"].as_array().unwrap();
                    assert!(!waves.is_empty(), "{body}");
                    assert_eq!(waves[0]["phase"], "old", "{body}");
                    assert_eq!(waves[1]["phase"], "new", "{body}");
                    for wave in waves {
                        assert!(wave["name"].is_string(), "{wave}");
                        assert!(wave["gates"]["sign_off"].is_array(), "{wave}");
                        assert!(wave["customers_percent"].is_number(), "{wave}");
                    }
                }
                "/api/v1/waves/{wave}/gates" => {
                    assert_eq!(body["wave"], "pilot", "{body}");
                    assert_eq!(body["phase"], "old", "{body}");
                    let verify = &body["criteria"][0];
                    assert_eq!(verify["name"], "verify_clean", "{body}");
                    assert_eq!(verify["met"], false, "{body}");
                    assert_eq!(verify["next"][0], "cutover verify", "{body}");
                }
                "/api/v1/waves/{wave}/sign-off" => {
                    assert_eq!(body["sign_offs"][0]["person"], "ops-lead", "{body}");
                    assert_eq!(body["sign_offs"][0]["counts"], true, "{body}");
                }
                "/api/v1/waves/{switched}/pause" => {
                    assert_eq!(body["to"], "paused", "{body}");
                    // The first allowed role pauses it; the next finds it paused already.
                    assert_eq!(body["changed"], rank == needed_rank, "{body}");
                }
                "/api/v1/waves/{switched}/resume" => {
                    assert_eq!(body["to"], "new", "{body}");
                    assert_eq!(body["changed"], rank == needed_rank, "{body}");
                }
                "/api/v1/sync/status" => {
                    assert!(body["directions"].is_array(), "{body}");
                    assert!(
                        body.get("recheck").is_some() && body.get("scheduled_verify").is_some()
                    );
                }
                "/api/v1/leader" => {
                    // One serve: it leads as soon as its first try for the lease is done.
                    let holder = body["holder"].as_str().unwrap();
                    assert!(!holder.is_empty(), "{body}");
                    match body["role"].as_str().unwrap() {
                        "leader" => {
                            assert_eq!(body["lease"]["holder"], holder, "{body}");
                            assert!(body["token"].as_i64().unwrap() >= 1, "{body}");
                        }
                        "follower" => assert_eq!(body["token"], Value::Null, "{body}"),
                        other => panic!("role {other}: {body}"),
                    }
                }
                "/api/v1/conflicts" => {
                    assert_eq!(body["conflicts"][0]["id"], conflict.0, "{body}");
                    assert_eq!(body["conflicts"][0]["new_value"], "on the new side");
                    assert_eq!(body["next_after"], Value::Null);
                }
                "/api/v1/conflicts/{id}" => {
                    assert_eq!(body["field"], "subject");
                    assert_eq!(body["winner"], "new");
                }
                "/api/v1/deadletters" => {
                    assert_eq!(body["dead_letters"][0]["source_id"], "777", "{body}");
                    assert!(body["dead_letters"][0].get("record").is_none(), "{body}");
                }
                "/api/v1/deadletters/{id}" => {
                    assert_eq!(body["record"], json!({ "not": "a ticket" }));
                }
                "/api/v1/deadletters/{id}/retry" => {
                    assert_eq!(body["result"], "unreadable", "{body}");
                }
                "/api/v1/tokens" => {
                    let names: Vec<&str> = body["tokens"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|t| t["name"].as_str().unwrap())
                        .collect();
                    assert!(
                        names.contains(&"viewer-token") && names.contains(&"gone"),
                        "{body}"
                    );
                    assert!(!body.to_string().contains(token.as_str()), "{body}");
                }
                other => panic!("no check for {other}"),
            }
        }
    }

    // The wave routes refuse what the plan or the wave's phase does not allow, in JSON.
    let operator = format!("Bearer {}", tokens[1].1);
    let refusals: [(&str, Option<Value>, StatusCode, &str); 6] = [
        (
            "/api/v1/waves/9/sign-off",
            Some(json!({ "as": "ops-lead" })),
            StatusCode::NOT_FOUND,
            "no wave",
        ),
        (
            "/api/v1/waves/pilot/sign-off",
            Some(json!({ "as": "cs-director" })),
            StatusCode::UNPROCESSABLE_ENTITY,
            "does not ask",
        ),
        (
            "/api/v1/waves/pilot/sign-off",
            Some(json!({ "as": "nobody" })),
            StatusCode::UNPROCESSABLE_ENTITY,
            "not in the plan's [people]",
        ),
        (
            "/api/v1/waves/pilot/sign-off",
            Some(json!({ "who": "ops-lead" })),
            StatusCode::BAD_REQUEST,
            "the body must be",
        ),
        (
            "/api/v1/waves/pilot/pause",
            None,
            StatusCode::CONFLICT,
            "applies to a wave that is new",
        ),
        (
            "/api/v1/waves/2/sign-off",
            Some(json!({ "as": "ops-lead" })),
            StatusCode::CONFLICT,
            "is new",
        ),
    ];
    for (path, body, expected, says) in refusals {
        let method = "POST";
        let (status, _, answer) = call_with(
            &serve_log,
            &client,
            &base,
            method,
            path,
            Some(&operator),
            body.map(|b| b.to_string()),
        )
        .await;
        assert_eq!(status, expected, "{path}: {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains(says),
            "{path}: {answer}"
        );
    }

    // The document lists exactly the routes served, each with its role.
    let admin = format!("Bearer {}", tokens[2].1);
    let (_, _, doc) = call(
        &serve_log,
        &client,
        &base,
        "GET",
        "/api/v1/openapi.json",
        Some(&admin),
    )
    .await;
    let mut listed = BTreeSet::new();
    for (path, methods) in doc["paths"].as_object().unwrap() {
        for (method, operation) in methods.as_object().unwrap() {
            listed.insert((
                method.to_uppercase(),
                path.clone(),
                operation["x-cutover-role"].as_str().unwrap().to_owned(),
            ));
        }
    }
    let served_routes: BTreeSet<_> = ROUTES
        .iter()
        .map(|(m, p, r)| {
            let p = p.replace("{switched}", "{wave}");
            ((*m).to_owned(), p, (*r).to_owned())
        })
        .collect();
    assert_eq!(listed, served_routes);

    // Elsewhere under /api/v1/: 401 without a token, a JSON 404 with one.
    let (status, _, _) = call(&serve_log, &client, &base, "GET", "/api/v1/nothing", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, body) = call(
        &serve_log,
        &client,
        &base,
        "GET",
        "/api/v1/nothing",
        Some(&admin),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let viewer = format!("Bearer {}", tokens[0].1);
    let (status, _, _) = call(
        &serve_log,
        &client,
        &base,
        "GET",
        "/api/v1/conflicts/999999",
        Some(&viewer),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = call(
        &serve_log,
        &client,
        &base,
        "GET",
        "/api/v1/conflicts/x",
        Some(&viewer),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // The scheme in any case (RFC 9110).
    let lower = format!("bearer {}", tokens[0].1);
    let (status, _, _) = call(
        &serve_log,
        &client,
        &base,
        "GET",
        "/api/v1/waves",
        Some(&lower),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // /healthz keeps needing no token.
    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);

    // A token revoked while serve runs is refused from the next request on.
    mv.expect(0, &["token", "revoke", "viewer-token"]).await;
    let (status, _, _) = call(
        &serve_log,
        &client,
        &base,
        "GET",
        "/api/v1/waves",
        Some(&viewer),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    served.terminate().await;

    // `token list` names, roles and uses, never a token; no token reaches serve's log.
    let list = mv.expect(0, &["token", "list", "--json"]).await;
    let rows: Vec<Value> = list
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 4, "{list}");
    let operator = rows.iter().find(|r| r["name"] == "operator-token").unwrap();
    assert_eq!(operator["role"], "operator");
    assert!(operator["last_used_at"].is_string(), "{list}");
    let log = read(&serve_log);
    for (_, token) in &tokens {
        assert!(!list.contains(token.as_str()) && !log.contains(token.as_str()));
        assert!(!list.contains(&token[4..]) && !log.contains(&token[4..]));
    }
    assert!(!log.contains(&revoked[4..]));

    // Made, revoked and retried: each in the audit log, whose chain holds.
    let actions: Vec<(String, String)> = store
        .audit_entries(0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.actor, e.action))
        .collect();
    let count = |action: &str| actions.iter().filter(|(_, a)| a == action).count();
    assert_eq!(count("token.create"), 4, "{actions:?}");
    assert_eq!(count("token.revoke"), 2, "{actions:?}");
    for action in [
        "deadletter.retry",
        "wave.signed_off",
        "gate.evaluated",
        "wave.paused",
        "wave.resumed",
    ] {
        assert!(
            actions.contains(&("operator-token".to_owned(), action.to_owned())),
            "{action}: {actions:?}"
        );
    }
    // A pause or resume that changed nothing is not recorded.
    assert_eq!(count("wave.paused"), 1, "{actions:?}");
    mv.expect(0, &["audit", "verify"]).await;
    store.close().await;
}
