//! Webhook delivery shared by every emulator: each invocation runs as its own task (so order is
//! not guaranteed, as on the real platforms), is signed by a pluggable [`Signer`], retried with
//! exponential backoff on connection errors, 408, 409, 429 and 5xx, and every attempt is logged
//! for the platform's invocation API and for tests. Only loopback endpoints are called unless
//! external delivery is allowed, so an emulator never sends traffic off the machine by accident.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use sha2::Sha256;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::SimError;
use crate::clock::Clock;
use crate::faults::Faults;

/// Adds signature headers to a delivery.
pub trait Signer: Send + Sync + std::fmt::Debug {
    /// The headers that sign `body` sent at `timestamp`.
    fn sign(&self, body: &[u8], timestamp: &str) -> Vec<(String, String)>;
}

/// `base64(HMAC-SHA256(secret, parts…))`.
pub fn hmac_sha256_base64(secret: &[u8], parts: &[&[u8]]) -> String {
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(secret) else {
        return String::new();
    };
    for part in parts {
        mac.update(part);
    }
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Signs as Zendesk does: `base64(HMAC-SHA256(secret, timestamp ‖ body))` in one header and the
/// timestamp in another.
#[derive(Debug, Clone)]
pub struct HmacSigner {
    /// The webhook's signing secret.
    pub secret: String,
    /// Header carrying the signature.
    pub signature_header: &'static str,
    /// Header carrying the timestamp.
    pub timestamp_header: &'static str,
}

impl Signer for HmacSigner {
    fn sign(&self, body: &[u8], timestamp: &str) -> Vec<(String, String)> {
        let signature = hmac_sha256_base64(self.secret.as_bytes(), &[timestamp.as_bytes(), body]);
        vec![
            (self.signature_header.to_owned(), signature),
            (self.timestamp_header.to_owned(), timestamp.to_owned()),
        ]
    }
}

/// One invocation to deliver.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The webhook's id.
    pub webhook_id: String,
    /// This invocation's id (kept across retries).
    pub invocation_id: String,
    /// The event that caused it.
    pub event_type: String,
    /// Where to send it.
    pub url: String,
    /// `POST`, `PUT`, `PATCH`, `GET` or `DELETE`.
    pub method: String,
    /// Headers besides the signature.
    pub headers: Vec<(String, String)>,
    /// The payload.
    pub body: Vec<u8>,
    /// Who signs it, if anyone.
    pub signer: Option<Arc<dyn Signer>>,
}

/// One delivery attempt, as logged.
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    /// The webhook's id.
    pub webhook_id: String,
    /// The invocation's id.
    pub invocation_id: String,
    /// The event that caused it.
    pub event_type: String,
    /// 1 for the first try.
    pub attempt: u32,
    /// When it finished (RFC 3339).
    pub completed_at: String,
    /// `success`, `failed`, `retrying`, `lost` (fault injection) or `blocked` (not loopback); a
    /// duplicate (fault injection) is logged as a further attempt with its `error` saying so.
    pub status: String,
    /// The receiver's status code, if it answered.
    pub status_code: Option<u16>,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// The headers sent.
    pub request_headers: Vec<(String, String)>,
    /// The payload sent.
    pub payload: String,
    /// The receiver's answer (first 2,000 characters).
    pub response_body: String,
}

/// How hard to try.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Wait before the first retry; doubles each time.
    pub base_delay: Duration,
    /// Longest wait between attempts.
    pub max_delay: Duration,
    /// Time allowed for one attempt (Zendesk: 10 s).
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            timeout: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `next` (2 for the first retry).
    pub fn delay_before(&self, next: u32) -> Duration {
        let factor = 1u32 << next.saturating_sub(2).min(16);
        (self.base_delay * factor).min(self.max_delay)
    }
}

/// Sends webhooks in the background. Clones share the queue and the log.
#[derive(Debug, Clone)]
pub struct Dispatcher {
    inner: Arc<DispatcherInner>,
}

#[derive(Debug)]
struct DispatcherInner {
    client: reqwest::Client,
    log: Mutex<Vec<Attempt>>,
    policy: RetryPolicy,
    clock: Clock,
    faults: Option<Faults>,
    allow_external: bool,
    tracker: TaskTracker,
    cancel: CancellationToken,
    in_flight: AtomicUsize,
}

impl Dispatcher {
    /// A dispatcher; its tasks stop when `cancel` fires.
    pub fn new(
        policy: RetryPolicy,
        clock: Clock,
        faults: Option<Faults>,
        allow_external: bool,
        cancel: CancellationToken,
    ) -> Result<Self, SimError> {
        crate::install_crypto_provider();
        let client = reqwest::Client::builder()
            .timeout(policy.timeout)
            .build()
            .map_err(|e| SimError::HttpClient(e.to_string()))?;
        let inner = DispatcherInner {
            client,
            log: Mutex::new(Vec::new()),
            policy,
            clock,
            faults,
            allow_external,
            tracker: TaskTracker::new(),
            cancel,
            in_flight: AtomicUsize::new(0),
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// Queues one invocation; it is tried in the background.
    pub fn dispatch(&self, delivery: Delivery) {
        let inner = Arc::clone(&self.inner);
        inner.in_flight.fetch_add(1, Ordering::SeqCst);
        self.inner.tracker.spawn(async move {
            tokio::select! {
                () = deliver(&inner, delivery) => {}
                () = inner.cancel.cancelled() => {}
            }
            inner.in_flight.fetch_sub(1, Ordering::SeqCst);
        });
    }

    /// Every attempt so far, oldest first.
    pub fn attempts(&self) -> Vec<Attempt> {
        self.inner
            .log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Invocations not finished yet (retries pending included).
    pub fn in_flight(&self) -> usize {
        self.inner.in_flight.load(Ordering::SeqCst)
    }

    /// Forgets the log.
    pub fn clear(&self) {
        self.inner
            .log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

fn is_loopback(url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else {
        return false;
    };
    match parsed.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn retryable(status: u16) -> bool {
    matches!(status, 408 | 409 | 429) || (500..600).contains(&status)
}

async fn deliver(inner: &DispatcherInner, delivery: Delivery) {
    let payload = String::from_utf8_lossy(&delivery.body).into_owned();
    let base = |attempt: u32, status: &str, code: Option<u16>, error: Option<String>| Attempt {
        webhook_id: delivery.webhook_id.clone(),
        invocation_id: delivery.invocation_id.clone(),
        event_type: delivery.event_type.clone(),
        attempt,
        completed_at: inner
            .clock
            .now_secs()
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string(),
        status: status.to_owned(),
        status_code: code,
        error,
        request_headers: Vec::new(),
        payload: payload.clone(),
        response_body: String::new(),
    };
    if inner.faults.as_ref().is_some_and(Faults::lose_webhook) {
        log(
            inner,
            base(1, "lost", None, Some("lost by fault injection".into())),
        );
        return;
    }
    if !inner.allow_external && !is_loopback(&delivery.url) {
        let why = "the emulator delivers only to loopback endpoints".to_owned();
        log(inner, base(1, "blocked", None, Some(why)));
        return;
    }
    for attempt in 1..=inner.policy.max_attempts {
        if attempt > 1 {
            tokio::time::sleep(inner.policy.delay_before(attempt)).await;
        }
        let (mut record, retry) = attempt_once(inner, &delivery, attempt, &base).await;
        let last = attempt == inner.policy.max_attempts;
        if retry && !last {
            record.status = "retrying".into();
        }
        let delivered = record.status == "success";
        log(inner, record);
        if delivered && inner.faults.as_ref().is_some_and(Faults::duplicate_webhook) {
            // Sent again with the same invocation id, signed anew, as a platform that did not
            // see the first answer in time would.
            let (mut again, _) = attempt_once(inner, &delivery, attempt + 1, &base).await;
            again.error = Some("duplicated by fault injection".into());
            log(inner, again);
        }
        if !retry {
            return;
        }
    }
}

async fn attempt_once(
    inner: &DispatcherInner,
    delivery: &Delivery,
    attempt: u32,
    base: &impl Fn(u32, &str, Option<u16>, Option<String>) -> Attempt,
) -> (Attempt, bool) {
    let timestamp = inner
        .clock
        .now_secs()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let mut headers = delivery.headers.clone();
    if let Some(signer) = &delivery.signer {
        headers.extend(signer.sign(&delivery.body, &timestamp));
    }
    let method =
        reqwest::Method::from_bytes(delivery.method.as_bytes()).unwrap_or(reqwest::Method::POST);
    let mut request = inner
        .client
        .request(method, &delivery.url)
        .body(delivery.body.clone());
    for (k, v) in &headers {
        request = request.header(k, v);
    }
    let mut record = match request.send().await {
        Ok(response) => {
            let code = response.status().as_u16();
            let text = response.text().await.unwrap_or_default();
            let ok = (200..300).contains(&code);
            let mut record = base(
                attempt,
                if ok { "success" } else { "failed" },
                Some(code),
                None,
            );
            record.response_body = text.chars().take(2000).collect();
            (record, !ok && retryable(code))
        }
        Err(e) => (base(attempt, "failed", None, Some(e.to_string())), true),
    };
    record.0.request_headers = headers;
    record
}

fn log(inner: &DispatcherInner, attempt: Attempt) {
    inner
        .log
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(attempt);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_a_known_vector() {
        // RFC 4231 test case 2.
        let sig = hmac_sha256_base64(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(sig, "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=");
    }

    #[test]
    fn signer_signs_timestamp_then_body() {
        let signer = HmacSigner {
            secret: "s3cret".into(),
            signature_header: "X-Sig",
            timestamp_header: "X-Ts",
        };
        let headers = signer.sign(b"{}", "2024-01-01T00:00:00Z");
        assert_eq!(
            headers[0].1,
            hmac_sha256_base64(b"s3cret", &[b"2024-01-01T00:00:00Z{}"])
        );
        assert_eq!(
            headers[1],
            ("X-Ts".to_owned(), "2024-01-01T00:00:00Z".to_owned())
        );
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let p = RetryPolicy {
            base_delay: Duration::from_millis(100),
            ..RetryPolicy::default()
        };
        assert_eq!(p.delay_before(2), Duration::from_millis(100));
        assert_eq!(p.delay_before(3), Duration::from_millis(200));
        assert_eq!(p.delay_before(4), Duration::from_millis(400));
        assert_eq!(p.delay_before(30), p.max_delay);
    }

    #[test]
    fn only_loopback_is_called() {
        assert!(is_loopback("http://127.0.0.1:9/x"));
        assert!(is_loopback("http://localhost/x"));
        assert!(is_loopback("http://[::1]:80/"));
        assert!(!is_loopback("https://example.com/"));
        assert!(!is_loopback("http://10.0.0.1/"));
    }
}
