//! Typed helpers: start an emulator, call it as an authenticated client, read JSON answers.

use std::time::Duration;

use base64::Engine as _;
use cutover_sim::SimHandle;
use cutover_sim::zendesk::{App, ZendeskOptions, ZendeskSim};
use reqwest::{Method, StatusCode, header::HeaderMap};
use serde_json::Value;

/// A fixed start, so generated data and times are the same on every run.
pub(crate) const START: &str = "2024-06-03T12:00:00Z";

/// Options for tests: a small account, no rate limits, fast webhook retries, fixed clock start.
pub(crate) fn opts() -> ZendeskOptions {
    ZendeskOptions {
        tickets: 20,
        rate_limit_rpm: None,
        incremental_rpm: 0,
        start_time: Some(
            chrono::DateTime::parse_from_rfc3339(START)
                .unwrap()
                .to_utc(),
        ),
        webhook_retry_base: Duration::from_millis(20),
        ..ZendeskOptions::default()
    }
}

/// A running emulator of either platform (`A` is its `App`) and a client for it.
pub(crate) struct Emulator<A> {
    pub(crate) handle: SimHandle<A>,
    pub(crate) client: reqwest::Client,
    /// The `Authorization` header API calls carry.
    pub(crate) auth: String,
}

/// A running Zendesk emulator and a client for it.
pub(crate) type Sim = Emulator<App>;

/// An answer: status, headers and the body as JSON (`Null` when empty or not JSON).
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Value,
    pub(crate) text: String,
}

pub(crate) async fn spawn(opts: ZendeskOptions) -> Sim {
    cutover_sim::install_crypto_provider();
    let auth = basic(&opts.email, &opts.token);
    let handle = ZendeskSim::spawn(opts, "127.0.0.1:0")
        .await
        .expect("emulator starts");
    Sim {
        handle,
        client: reqwest::Client::new(),
        auth,
    }
}

pub(crate) fn basic(email: &str, token: &str) -> String {
    let raw = format!("{email}/token:{token}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

impl<A> Emulator<A> {
    pub(crate) fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.handle.url())
        }
    }

    pub(crate) fn app(&self) -> &A {
        self.handle.state()
    }

    pub(crate) async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Answer {
        let mut request = self
            .client
            .request(method, self.url(path))
            .header("Authorization", &self.auth);
        if let Some(body) = body {
            request = request.json(body);
        }
        answer(request.send().await.expect("request is answered")).await
    }

    pub(crate) async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, None).await
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(&body)).await
    }

    pub(crate) async fn put(&self, path: &str, body: Value) -> Answer {
        self.call(Method::PUT, path, Some(&body)).await
    }

    pub(crate) async fn delete(&self, path: &str) -> Answer {
        self.call(Method::DELETE, path, None).await
    }

    /// An unauthenticated call (for `/_sim/*`).
    pub(crate) async fn control(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let mut request = self.client.request(method, self.url(path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        answer(request.send().await.expect("control answers")).await
    }

    /// Moves the clock forwards.
    pub(crate) async fn advance(&self, seconds: i64) {
        let a = self
            .control(
                Method::POST,
                "/_sim/clock",
                Some(serde_json::json!({"advance_seconds": seconds})),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK);
    }
}

impl Sim {
    /// Creates a ticket and returns its id.
    pub(crate) async fn ticket(&self, body: Value) -> u64 {
        let a = self.post("/api/v2/tickets.json", body).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
        a.body["ticket"]["id"].as_u64().unwrap()
    }
}

pub(crate) async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
        text,
    }
}
