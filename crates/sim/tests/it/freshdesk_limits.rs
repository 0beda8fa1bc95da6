//! Freshdesk rate limits: the plan's account budget, the per-endpoint sub-budgets, embeds
//! costing credits, the `X-RateLimit-*` headers and 429 with `Retry-After`.

use cutover_sim::freshdesk::{FreshdeskOptions, Plan};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::freshdesk_harness::{fd_opts, fd_spawn};

#[tokio::test]
async fn the_growth_plan_caps_ticket_lists_at_twenty_a_minute_and_the_rest_goes_on() {
    let fd = fd_spawn(FreshdeskOptions {
        plan: Plan::Growth,
        rate_limit_rpm: None,
        ..fd_opts()
    })
    .await;
    for n in 0..20 {
        let a = fd.get("/api/v2/tickets").await;
        assert_eq!(a.status, StatusCode::OK, "list {n}");
        assert_eq!(a.headers["x-ratelimit-total"], "200");
        assert_eq!(a.headers["x-ratelimit-used-currentrequest"], "1");
        assert_eq!(
            a.headers["x-ratelimit-remaining"],
            (199 - n).to_string().as_str()
        );
    }
    let refused = fd.get("/api/v2/tickets").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = refused.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    assert!(refused.body["message"].is_string());
    assert_eq!(
        fd.get("/api/v2/contacts").await.status,
        StatusCode::OK,
        "another budget"
    );
    assert_eq!(
        fd.get("/api/v2/groups").await.status,
        StatusCode::OK,
        "the account budget is not spent"
    );
    let state = fd.control(Method::GET, "/_sim/state", None).await;
    assert_eq!(state.body["rate_limits"]["plan"], "growth");
    assert_eq!(state.body["rate_limits"]["tickets_list"], 20);
}

#[tokio::test]
async fn the_account_budget_counts_embed_credits_and_can_be_changed_at_run_time() {
    let fd = fd_spawn(FreshdeskOptions {
        rate_limit_rpm: Some(5),
        ..fd_opts()
    })
    .await;
    let a = fd.get("/api/v2/groups").await;
    assert_eq!(a.headers["x-ratelimit-total"], "5");
    let t = fd
        .ticket(json!({"email": "c@example.com", "subject": "s"}))
        .await;
    let id = t["id"].as_u64().unwrap();
    let embed = fd
        .get(&format!("/api/v2/tickets/{id}?include=requester,stats"))
        .await;
    assert_eq!(embed.status, StatusCode::OK);
    assert_eq!(embed.headers["x-ratelimit-used-currentrequest"], "3");
    assert_eq!(embed.headers["x-ratelimit-remaining"], "0");
    let refused = fd.get("/api/v2/groups").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers.contains_key("retry-after"));
    let off = fd
        .control(Method::PUT, "/_sim/rate_limit", Some(json!({"rpm": 0})))
        .await;
    assert_eq!(off.status, StatusCode::OK);
    assert_eq!(fd.get("/api/v2/groups").await.status, StatusCode::OK);
}
