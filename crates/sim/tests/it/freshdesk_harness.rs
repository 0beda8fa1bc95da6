//! Typed helpers for the Freshdesk emulator: start one on port 0, call it with the API key.

use std::time::Duration;

use base64::Engine as _;
use cutover_sim::freshdesk::{App, FreshdeskOptions, FreshdeskSim};
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub(crate) use crate::harness::{Emulator, START, answer};

/// Options for tests: a small account, no rate limits, fast webhook retries, fixed clock start.
pub(crate) fn fd_opts() -> FreshdeskOptions {
    FreshdeskOptions {
        tickets: 40,
        rate_limit_rpm: Some(0),
        start_time: Some(
            chrono::DateTime::parse_from_rfc3339(START)
                .unwrap()
                .to_utc(),
        ),
        webhook_retry_base: Duration::from_millis(20),
        ..FreshdeskOptions::default()
    }
}

/// A running Freshdesk emulator and a client for it.
pub(crate) type Fd = Emulator<App>;

/// Basic credentials for an API key (password `X`).
pub(crate) fn key_auth(key: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{key}:X"))
    )
}

pub(crate) async fn fd_spawn(opts: FreshdeskOptions) -> Fd {
    cutover_sim::install_crypto_provider();
    let auth = key_auth(&opts.api_key);
    let handle = FreshdeskSim::spawn(opts, "127.0.0.1:0")
        .await
        .expect("emulator starts");
    Fd {
        handle,
        client: reqwest::Client::new(),
        auth,
    }
}

impl Fd {
    /// Creates a ticket and returns its JSON.
    pub(crate) async fn ticket(&self, body: Value) -> Value {
        let a = self.post("/api/v2/tickets", body).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
        a.body
    }

    /// Notifications listed at `/_sim/notifications`, optionally for one ticket.
    pub(crate) async fn notifications(&self, ticket: Option<u64>) -> Vec<Value> {
        let path = match ticket {
            Some(t) => format!("/_sim/notifications?ticket_id={t}"),
            None => "/_sim/notifications".to_owned(),
        };
        let a = self.control(Method::GET, &path, None).await;
        assert_eq!(a.status, StatusCode::OK);
        a.body["notifications"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}
