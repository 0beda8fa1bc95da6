use reqwest::StatusCode;

use crate::harness::{opts, spawn};

#[tokio::test]
async fn over_the_budget_is_429_with_retry_after_and_headers() {
    let mut o = opts();
    o.rate_limit_rpm = Some(3);
    let sim = spawn(o).await;
    for remaining in [2, 1, 0] {
        let a = sim.get("/api/v2/users/me.json").await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(a.headers["x-rate-limit"], "3");
        assert_eq!(
            a.headers["x-rate-limit-remaining"],
            remaining.to_string().as_str()
        );
        assert_eq!(
            a.headers["ratelimit-remaining"],
            remaining.to_string().as_str()
        );
        assert!(a.headers.contains_key("rate-limit-reset"));
    }
    let refused = sim.get("/api/v2/users/me.json").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = refused.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    assert_eq!(refused.body["error"], "APIRateLimitExceeded");
    sim.app().rate_limiter().set_limit(None);
    let a = sim.get("/api/v2/users/me.json").await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(
        !a.headers.contains_key("x-rate-limit"),
        "off means no budget and no headers"
    );
}

#[tokio::test]
async fn incremental_exports_have_their_own_ten_a_minute() {
    let mut o = opts();
    o.incremental_rpm = 10;
    let sim = spawn(o).await;
    for _ in 0..10 {
        let a = sim
            .get("/api/v2/incremental/tickets/cursor.json?start_time=0")
            .await;
        assert_eq!(a.status, StatusCode::OK);
    }
    let refused = sim
        .get("/api/v2/incremental/tickets/cursor.json?start_time=0")
        .await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers.contains_key("retry-after"));
    assert_eq!(
        sim.get("/api/v2/tickets.json").await.status,
        StatusCode::OK,
        "other endpoints still answer"
    );
}
