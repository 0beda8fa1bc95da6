//! Typed helpers: emulators on port 0, connectors to them, a receiver that keeps every
//! delivery, and an authenticated client for changes made "by a person" on a platform.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::any;
use cutover_connect::{
    BudgetConfig, Connector, FreshdeskConfig, FreshdeskConnector, ZendeskConfig, ZendeskConnector,
};
use cutover_model::Side;
use cutover_sim::freshdesk::{FreshdeskOptions, FreshdeskSim};
use cutover_sim::zendesk::{ZendeskOptions, ZendeskSim};
use cutover_sim::{AccountProfile, SimHandle};
use secrecy::SecretString;
use serde_json::Value;

pub(crate) type ZendeskHandle = SimHandle<cutover_sim::zendesk::App>;
pub(crate) type FreshdeskHandle = SimHandle<cutover_sim::freshdesk::App>;

/// A Zendesk emulator with a few tickets, no rate limit, fast webhook retries.
pub(crate) async fn zendesk_sim() -> ZendeskHandle {
    cutover_sim::install_crypto_provider();
    let opts = ZendeskOptions {
        seed: 13,
        tickets: 3,
        profile: AccountProfile::Plain,
        rate_limit_rpm: None,
        incremental_rpm: 0,
        webhook_retry_base: Duration::from_millis(20),
        ..ZendeskOptions::default()
    };
    ZendeskSim::spawn(opts, "127.0.0.1:0").await.unwrap()
}

/// A Freshdesk emulator with a few tickets, no rate limit, fast webhook retries.
pub(crate) async fn freshdesk_sim() -> FreshdeskHandle {
    cutover_sim::install_crypto_provider();
    let opts = FreshdeskOptions {
        seed: 13,
        tickets: 3,
        profile: AccountProfile::Plain,
        rate_limit_rpm: Some(0),
        acknowledge_new_tickets: false,
        webhook_retry_base: Duration::from_millis(20),
        ..FreshdeskOptions::default()
    };
    FreshdeskSim::spawn(opts, "127.0.0.1:0").await.unwrap()
}

pub(crate) fn zendesk(side: Side, url: &str) -> Arc<dyn Connector> {
    let mut config = ZendeskConfig::with_api_token(
        side,
        url::Url::parse(url).unwrap(),
        "admin@example.com",
        SecretString::from("sim-token"),
    );
    config.budget = BudgetConfig::new(60_000, 1.0);
    Arc::new(ZendeskConnector::new(config).unwrap())
}

pub(crate) fn freshdesk(side: Side, url: &str) -> Arc<dyn Connector> {
    let mut config = FreshdeskConfig::with_api_key(
        side,
        url::Url::parse(url).unwrap(),
        SecretString::from("sim-key"),
    );
    config.budget = BudgetConfig::new(60_000, 1.0);
    Arc::new(FreshdeskConnector::new(config).unwrap())
}

/// One delivery as it arrived: headers (names lowercase) and body.
#[derive(Debug, Clone)]
pub(crate) struct Arrived {
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Arrived {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn delivery(&self) -> cutover_connect::Delivery<'_> {
        cutover_connect::Delivery {
            headers: &self.headers,
            body: &self.body,
        }
    }
}

/// A receiver on port 0 that keeps every delivery and answers 200.
pub(crate) struct Receiver {
    pub(crate) url: url::Url,
    pub(crate) got: Arc<Mutex<Vec<Arrived>>>,
}

impl Receiver {
    pub(crate) async fn start() -> Receiver {
        let got: Arc<Mutex<Vec<Arrived>>> = Arc::default();
        let state = Arc::clone(&got);
        let app = Router::new().route(
            "/hooks/{side}",
            any(move |headers: HeaderMap, body: Bytes| {
                let state = Arc::clone(&state);
                async move {
                    let headers = headers
                        .iter()
                        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
                        .collect();
                    state.lock().unwrap().push(Arrived {
                        headers,
                        body: body.to_vec(),
                    });
                    StatusCode::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks/old", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver {
            url: url::Url::parse(&url).unwrap(),
            got,
        }
    }

    pub(crate) fn all(&self) -> Vec<Arrived> {
        self.got.lock().unwrap().clone()
    }

    /// Waits until at least `n` deliveries arrived (at most 10 s); returns them all.
    pub(crate) async fn wait_for(&self, n: usize) -> Vec<Arrived> {
        for _ in 0..500 {
            if self.got.lock().unwrap().len() >= n {
                return self.all();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("only {} of {n} deliveries arrived", self.all().len());
    }
}

/// A client for changes a person makes on the emulator.
pub(crate) struct Person {
    client: reqwest::Client,
    base: String,
    user: String,
    password: String,
}

impl Person {
    pub(crate) fn zendesk(url: &str) -> Person {
        Person {
            client: reqwest::Client::new(),
            base: url.trim_end_matches('/').to_owned(),
            user: "admin@example.com/token".to_owned(),
            password: "sim-token".to_owned(),
        }
    }

    /// Zendesk as the agent with e-mail `email` (the emulator's API token works for anyone).
    pub(crate) fn zendesk_as(url: &str, email: &str) -> Person {
        Person {
            user: format!("{email}/token"),
            ..Person::zendesk(url)
        }
    }

    pub(crate) fn freshdesk(url: &str) -> Person {
        Person {
            client: reqwest::Client::new(),
            base: url.trim_end_matches('/').to_owned(),
            user: "sim-key".to_owned(),
            password: "X".to_owned(),
        }
    }

    /// Sends `body` with `method` to `path`; panics unless the answer is 2xx.
    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.base))
            .basic_auth(&self.user, Some(&self.password));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(status.is_success(), "{method} {path}: {status}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    pub(crate) async fn put(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::PUT, path, Some(body)).await
    }

    pub(crate) async fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None).await
    }
}
