//! Freshdesk time-triggered automation rules (`automation_type_id` 3): evaluated when the clock
//! is moved through `/_sim/clock` and when an emulated hour begins, over the tickets updated in
//! the last 30 days; each ticket fires a rule once per window (the times its time conditions
//! count from), through the same webhook delivery as the other rule types.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use cutover_sim::freshdesk::FreshdeskOptions;

use crate::freshdesk_harness::{Fd, fd_opts, fd_spawn};
use crate::freshdesk_webhooks::receiver;

const HOUR: i64 = 3600;

async fn clock(fd: &Fd, body: Value) {
    let a = fd.control(Method::POST, "/_sim/clock", Some(body)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
}

async fn advance(fd: &Fd, seconds: i64) {
    clock(fd, json!({"advance_seconds": seconds})).await;
}

/// A time-triggered rule with these condition properties calling `url`; its id.
async fn time_rule(fd: &Fd, name: &str, properties: Value, url: &str) -> u64 {
    let rule = fd
        .post(
            "/api/v2/automations/3/rules",
            json!({"name": name, "active": true,
                "conditions": [{"name": "condition_set_1", "match_type": "all", "properties": properties}],
                "actions": [{"field_name": "trigger_webhook", "request_type": "POST", "url": url,
                    "content_type": "JSON", "content": "{\"ticket\": {{ticket.id}}}"}]}),
        )
        .await;
    assert_eq!(rule.status, StatusCode::CREATED, "{}", rule.text);
    assert_eq!(rule.body["automation_type_id"], 3);
    rule.body["id"].as_u64().unwrap()
}

async fn open_ticket(fd: &Fd, subject: &str, status: u64) -> u64 {
    let t = fd
        .ticket(
            json!({"email": "timer@example.com", "subject": subject, "description": "x",
            "status": status, "priority": 1}),
        )
        .await;
    t["id"].as_u64().unwrap()
}

/// `(rule id, ticket id)` of every time-triggered invocation so far, once deliveries settled.
async fn fired(fd: &Fd) -> Vec<(u64, u64)> {
    for _ in 0..250 {
        if fd.app().webhooks_in_flight() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut out: Vec<(u64, u64)> = fd
        .app()
        .webhook_attempts()
        .into_iter()
        .filter(|a| a.event_type == "time_triggered" && a.attempt == 1)
        .map(|a| {
            let body: Value = serde_json::from_str(&a.payload).unwrap();
            (
                a.webhook_id.parse().unwrap(),
                body["ticket"].as_u64().unwrap(),
            )
        })
        .collect();
    out.sort_unstable();
    out
}

fn quiet() -> FreshdeskOptions {
    FreshdeskOptions {
        tickets: 0,
        ..fd_opts()
    }
}

#[tokio::test]
async fn a_rule_on_hours_since_created_fires_for_exactly_the_qualifying_tickets_once() {
    let fd = fd_spawn(quiet()).await;
    let (url, _got) = receiver().await;
    clock(&fd, json!({"freeze": true})).await;
    let rule = time_rule(
        &fd,
        "Open a day",
        json!([{"resource_type": "ticket", "field_name": "status", "operator": "is", "value": 2},
            {"resource_type": "ticket", "field_name": "hours_since_created", "operator": "greater_than", "value": 24}]),
        &format!("{url}/aged"),
    )
    .await;
    let a = open_ticket(&fd, "open since the start", 2).await;
    let pending = open_ticket(&fd, "pending since the start", 3).await;
    let trashed = open_ticket(&fd, "trashed", 2).await;
    assert_eq!(
        fd.delete(&format!("/api/v2/tickets/{trashed}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    advance(&fd, 10 * HOUR).await;
    let later = open_ticket(&fd, "opened ten hours later", 2).await;

    advance(&fd, 14 * HOUR).await;
    assert!(
        fired(&fd).await.is_empty(),
        "nothing is older than 24 h yet"
    );
    advance(&fd, HOUR).await;
    assert_eq!(fired(&fd).await, [(rule, a)]);
    // Still qualifying an hour later: no second firing, and nothing else qualifies.
    advance(&fd, HOUR).await;
    assert_eq!(fd.app().run_time_triggers(), 0);
    assert_eq!(fired(&fd).await, [(rule, a)]);

    // An update does not open a new window for a rule counting from creation.
    let touched = fd
        .put(&format!("/api/v2/tickets/{a}"), json!({"priority": 2}))
        .await;
    assert_eq!(touched.status, StatusCode::OK, "{}", touched.text);
    advance(&fd, 9 * HOUR).await;
    assert_eq!(fired(&fd).await, [(rule, a), (rule, later)]);
    let _ = pending;
    // An inactive rule fires nothing.
    let off = fd
        .put(
            &format!("/api/v2/automations/3/rules/{rule}"),
            json!({"active": false}),
        )
        .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.text);
    open_ticket(&fd, "would qualify tomorrow", 2).await;
    advance(&fd, 30 * HOUR).await;
    assert_eq!(fired(&fd).await, [(rule, a), (rule, later)]);
}

#[tokio::test]
async fn a_rule_on_hours_since_updated_fires_again_after_the_ticket_changes() {
    let fd = fd_spawn(quiet()).await;
    let (url, _got) = receiver().await;
    clock(&fd, json!({"freeze": true})).await;
    let rule = time_rule(
        &fd,
        "Pending and idle",
        json!([{"resource_type": "ticket", "field_name": "status", "operator": "in", "value": [3]},
            {"resource_type": "ticket", "field_name": "hours_since_updated", "operator": "greater_than", "value": "2"}]),
        &format!("{url}/idle"),
    )
    .await;
    let pending = open_ticket(&fd, "waiting", 3).await;
    let open = open_ticket(&fd, "not pending", 2).await;
    advance(&fd, 2 * HOUR).await;
    assert!(fired(&fd).await.is_empty());
    advance(&fd, HOUR).await;
    assert_eq!(fired(&fd).await, [(rule, pending)]);
    advance(&fd, 5 * HOUR).await;
    assert_eq!(fired(&fd).await, [(rule, pending)], "once per window");

    // The update opens a new window: three idle hours later it fires again.
    let touched = fd
        .put(
            &format!("/api/v2/tickets/{pending}"),
            json!({"priority": 3}),
        )
        .await;
    assert_eq!(touched.status, StatusCode::OK, "{}", touched.text);
    advance(&fd, 2 * HOUR).await;
    assert_eq!(fired(&fd).await, [(rule, pending)]);
    advance(&fd, 2 * HOUR).await;
    assert_eq!(fired(&fd).await, [(rule, pending), (rule, pending)]);

    // Tickets not updated for 30 days are out of the pass.
    let to_pending = fd
        .put(&format!("/api/v2/tickets/{open}"), json!({"status": 3}))
        .await;
    assert_eq!(to_pending.status, StatusCode::OK, "{}", to_pending.text);
    advance(&fd, 31 * 24 * HOUR).await;
    assert_eq!(fired(&fd).await, [(rule, pending), (rule, pending)]);
}

#[tokio::test]
async fn the_hourly_pass_runs_when_an_emulated_hour_begins() {
    let fd = fd_spawn(quiet()).await;
    let (url, _got) = receiver().await;
    // The test start is on the hour: freeze there.
    clock(
        &fd,
        json!({"set": crate::freshdesk_harness::START, "freeze": true}),
    )
    .await;
    let rule = time_rule(
        &fd,
        "An hour old",
        json!([{"resource_type": "ticket", "field_name": "hours_since_created", "operator": "greater_than", "value": 0}]),
        &format!("{url}/hourly"),
    )
    .await;
    let t = open_ticket(&fd, "hourly", 2).await;
    // Seconds before the next hour, running: the move's own pass finds nothing ...
    clock(&fd, json!({"advance_seconds": HOUR - 3, "freeze": false})).await;
    assert!(fired(&fd).await.is_empty());
    // ... and the pass at the top of the hour fires, without any request moving the clock.
    for _ in 0..50 {
        if !fired(&fd).await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(fired(&fd).await, [(rule, t)]);
}
