//! Switchable faults, set at start and at run time (`/_sim/faults`): 5xx bursts at a rate, added
//! latency from a distribution, dropped connections, 429 storms, writes stored whose answer is
//! then lost, a share of malformed records, a share of lost webhooks, and lateness (search and
//! autocomplete that see a write only after the platform's lag, see [`crate::lateness`]).
//! [`middleware`] applies the request-level faults; platforms call [`Faults::corrupt_records`]
//! on the records they render and [`json_bytes`] to encode them.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::time::Instant;

/// What faults to inject. Every rate is a share of requests (or records, or webhooks) in 0..=1.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct FaultConfig {
    /// Share of requests that start a burst of 5xx answers.
    pub error_rate: f64,
    /// How many consecutive requests a burst fails (at least 1).
    pub error_burst: u32,
    /// The status of a burst's answers (default 503).
    pub error_status: Option<u16>,
    /// Latency added to every request.
    pub latency: Option<Latency>,
    /// Share of requests whose connection is dropped without a complete answer.
    pub drop_rate: f64,
    /// Share of requests that start a storm of 429s.
    pub storm_rate: f64,
    /// How long a storm lasts, in seconds (default 10).
    pub storm_seconds: Option<u64>,
    /// Share of rendered records that are malformed.
    pub malformed_rate: f64,
    /// Which corruptions to use; empty means all.
    pub malformed_kinds: Vec<MalformedKind>,
    /// Share of webhook invocations that are silently lost.
    pub webhook_loss_rate: f64,
    /// Share of webhook invocations delivered twice (the platform did not see the first
    /// answer in time and sent it again, as Zendesk warns: receivers must de-duplicate).
    pub webhook_duplicate_rate: f64,
    /// Share of writes (`POST`, `PUT`, `PATCH`, `DELETE`) that are stored and whose answer is
    /// then lost, as when a platform's edge resets the connection or answers 502 after the
    /// write went through.
    pub lost_answer_rate: f64,
    /// How a lost answer reaches the client (default: either, at random).
    pub lost_answer_as: LostAnswer,
    /// Search and autocomplete see a write only after a delay, as the platforms document: the
    /// platform's documented lag, or `search_lag_seconds`.
    pub late: bool,
    /// The lag in seconds of the emulator's clock when `late` is on (default: the platform's).
    pub search_lag_seconds: Option<u64>,
    /// Only requests whose path starts with one of these get the request-level faults (bursts,
    /// latency, drops, storms, lost answers): one record's trouble, e.g. `/api/v2/tickets/7`.
    /// Empty: every request.
    pub paths: Vec<String>,
}

/// How the answer of a write that was stored is lost.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LostAnswer {
    /// The connection drops before the answer completes.
    Drop,
    /// A 502 Bad Gateway in the platform's words.
    BadGateway,
    /// One or the other, at random.
    #[default]
    Either,
}

/// A latency distribution, in milliseconds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "distribution", rename_all = "snake_case", deny_unknown_fields)]
pub enum Latency {
    /// Always the same.
    Fixed {
        /// Milliseconds.
        ms: u64,
    },
    /// Uniform between two bounds.
    Uniform {
        /// Lower bound.
        min_ms: u64,
        /// Upper bound.
        max_ms: u64,
    },
    /// Exponential with a mean (long tail).
    Exponential {
        /// Mean.
        mean_ms: u64,
    },
}

/// A way of breaking a record.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MalformedKind {
    /// A field gets another JSON type (number as string, array as object, …).
    WrongType,
    /// An enum field gets a value the platform does not document.
    UnknownEnum,
    /// A reference field points at a record that does not exist.
    DanglingReference,
    /// A text field holds an escaped lone surrogate (`\ud800`): not valid UTF-8 once decoded.
    InvalidUtf8,
}

const ALL_KINDS: [MalformedKind; 4] = [
    MalformedKind::WrongType,
    MalformedKind::UnknownEnum,
    MalformedKind::DanglingReference,
    MalformedKind::InvalidUtf8,
];

/// Which fields of a platform's record can be broken how.
#[derive(Debug, Clone, Copy)]
pub struct RecordShape {
    /// Fields holding documented enum values (`status`, `priority`).
    pub enum_fields: &'static [&'static str],
    /// Fields holding another record's id.
    pub reference_fields: &'static [&'static str],
    /// Free-text fields.
    pub text_fields: &'static [&'static str],
}

/// Marks a string that [`json_bytes`] turns into an escaped lone surrogate.
const INVALID_UTF8_SENTINEL: &str = "\u{F8FF}\u{F8FE}\u{F8FD}";
const INVALID_UTF8_ESCAPE: &str = "\\ud800";

/// How a platform words a fault's answer.
pub type FaultBody = Arc<dyn Fn(StatusCode, u64) -> Response + Send + Sync>;

/// The fault switchboard of one emulator. Clones share it.
#[derive(Clone)]
pub struct Faults {
    inner: Arc<Mutex<FaultState>>,
    exempt_prefix: &'static str,
    body: FaultBody,
    /// The platform's documented search lag, in seconds: what `late` switches on.
    documented_lag: u64,
}

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Faults")
            .field("config", &self.config())
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct FaultState {
    config: FaultConfig,
    rng: StdRng,
    burst_left: u32,
    storm_until: Option<Instant>,
}

enum Action {
    Pass,
    /// The request goes through (its write is stored), then its answer is lost.
    PassThenLose(LostAnswer),
    Error(StatusCode),
    Drop,
    Storm(u64),
}

impl Faults {
    /// A switchboard with `config`, deterministic from `seed`. Paths starting with
    /// `exempt_prefix` (the `/_sim` controls) are never faulted; `body` words the answers.
    pub fn new(
        config: FaultConfig,
        seed: u64,
        exempt_prefix: &'static str,
        body: FaultBody,
    ) -> Self {
        let state = FaultState {
            config,
            rng: StdRng::seed_from_u64(seed ^ 0xFA01_7500),
            burst_left: 0,
            storm_until: None,
        };
        Self {
            inner: Arc::new(Mutex::new(state)),
            exempt_prefix,
            body,
            documented_lag: 0,
        }
    }

    /// The same switchboard, knowing the platform's documented search lag (what `late` turns
    /// on), in seconds.
    pub fn with_documented_lag(mut self, seconds: u64) -> Self {
        self.documented_lag = seconds;
        self
    }

    /// How far behind search and autocomplete are, in seconds of the emulator's clock: `None`
    /// when they see every write at once.
    pub fn search_lag(&self) -> Option<i64> {
        self.with(|s| {
            s.config.late.then(|| {
                let seconds = s.config.search_lag_seconds.unwrap_or(self.documented_lag);
                i64::try_from(seconds).unwrap_or(i64::MAX)
            })
        })
    }

    fn with<T>(&self, f: impl FnOnce(&mut FaultState) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The faults in force.
    pub fn config(&self) -> FaultConfig {
        self.with(|s| s.config.clone())
    }

    /// Replaces the faults in force (and ends any burst or storm under way).
    pub fn set(&self, config: FaultConfig) {
        self.with(|s| {
            s.config = config;
            s.burst_left = 0;
            s.storm_until = None;
        });
    }

    /// Starts a storm of 429s now, for `seconds`.
    pub fn start_storm(&self, seconds: u64) {
        self.with(|s| s.storm_until = Some(Instant::now() + Duration::from_secs(seconds)));
    }

    /// Whether request-level faults apply to a request for `path`.
    fn applies_to(&self, path: &str) -> bool {
        if path.starts_with(self.exempt_prefix) {
            return false;
        }
        self.with(|s| {
            s.config.paths.is_empty() || s.config.paths.iter().any(|p| path.starts_with(p.as_str()))
        })
    }

    /// Whether a webhook invocation should be lost.
    pub fn lose_webhook(&self) -> bool {
        self.with(|s| chance(&mut s.rng, s.config.webhook_loss_rate))
    }

    /// Whether a delivered webhook invocation should be delivered once more.
    pub fn duplicate_webhook(&self) -> bool {
        self.with(|s| chance(&mut s.rng, s.config.webhook_duplicate_rate))
    }

    /// Whether the answer of this write is lost (after the write is stored), and how.
    fn lose_answer(s: &mut FaultState) -> Option<LostAnswer> {
        if !chance(&mut s.rng, s.config.lost_answer_rate) {
            return None;
        }
        Some(match s.config.lost_answer_as {
            LostAnswer::Either if s.rng.random_bool(0.5) => LostAnswer::Drop,
            LostAnswer::Either => LostAnswer::BadGateway,
            other => other,
        })
    }

    fn plan(&self, write: bool) -> (Option<Duration>, Action) {
        self.with(|s| {
            let latency = s
                .config
                .latency
                .clone()
                .map(|l| sample_latency(&mut s.rng, &l));
            let now = Instant::now();
            if let Some(until) = s.storm_until {
                if until > now {
                    return (latency, Action::Storm((until - now).as_secs().max(1)));
                }
                s.storm_until = None;
            }
            if chance(&mut s.rng, s.config.storm_rate) {
                let secs = s.config.storm_seconds.unwrap_or(10).max(1);
                s.storm_until = Some(now + Duration::from_secs(secs));
                return (latency, Action::Storm(secs));
            }
            let status = s.config.error_status.unwrap_or(503);
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            if s.burst_left > 0 {
                s.burst_left -= 1;
                return (latency, Action::Error(status));
            }
            if chance(&mut s.rng, s.config.error_rate) {
                s.burst_left = s.config.error_burst.max(1) - 1;
                return (latency, Action::Error(status));
            }
            if chance(&mut s.rng, s.config.drop_rate) {
                return (latency, Action::Drop);
            }
            if write && let Some(lost) = Self::lose_answer(s) {
                return (latency, Action::PassThenLose(lost));
            }
            (latency, Action::Pass)
        })
    }

    /// Breaks a share of `records` (JSON objects) as configured; returns how many were broken.
    pub fn corrupt_records(&self, records: &mut [Value], shape: &RecordShape) -> usize {
        self.with(|s| {
            if s.config.malformed_rate <= 0.0 {
                return 0;
            }
            let kinds = if s.config.malformed_kinds.is_empty() {
                ALL_KINDS.to_vec()
            } else {
                s.config.malformed_kinds.clone()
            };
            let mut broken = 0;
            for record in records.iter_mut() {
                if !chance(&mut s.rng, s.config.malformed_rate) {
                    continue;
                }
                let kind = kinds[s.rng.random_range(0..kinds.len())];
                if corrupt_one(&mut s.rng, record, kind, shape) {
                    broken += 1;
                }
            }
            broken
        })
    }

    /// Whether malformed records are on (so encoders know to look for the UTF-8 marker).
    pub fn corrupting(&self) -> bool {
        self.with(|s| s.config.malformed_rate > 0.0)
    }
}

fn chance(rng: &mut StdRng, rate: f64) -> bool {
    rate > 0.0 && rng.random::<f64>() < rate
}

fn sample_latency(rng: &mut StdRng, latency: &Latency) -> Duration {
    let ms = match *latency {
        Latency::Fixed { ms } => ms as f64,
        Latency::Uniform { min_ms, max_ms } => {
            let (lo, hi) = (min_ms.min(max_ms) as f64, min_ms.max(max_ms) as f64);
            lo + rng.random::<f64>() * (hi - lo)
        }
        Latency::Exponential { mean_ms } => {
            -(mean_ms as f64) * (1.0 - rng.random::<f64>()).max(f64::MIN_POSITIVE).ln()
        }
    };
    Duration::from_micros((ms.clamp(0.0, 600_000.0) * 1000.0) as u64)
}

fn corrupt_one(
    rng: &mut StdRng,
    record: &mut Value,
    kind: MalformedKind,
    shape: &RecordShape,
) -> bool {
    let Some(map) = record.as_object_mut() else {
        return false;
    };
    let present = |fields: &[&str]| -> Vec<String> {
        fields
            .iter()
            .filter(|f| map.contains_key(**f))
            .map(|f| (*f).to_owned())
            .collect()
    };
    match kind {
        MalformedKind::WrongType => {
            let keys: Vec<String> = map
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, _)| k.clone())
                .collect();
            let Some(key) = pick(rng, &keys) else {
                return false;
            };
            let Some(value) = map.get_mut(&key) else {
                return false;
            };
            *value = match value.take() {
                Value::Number(n) => Value::String(n.to_string()),
                Value::String(s) => Value::from(s.len() as u64 * 7 + 1),
                Value::Bool(b) => Value::String(b.to_string()),
                Value::Array(_) => Value::Object(serde_json::Map::new()),
                Value::Object(_) => Value::Array(Vec::new()),
                Value::Null => Value::Bool(false),
            };
            true
        }
        MalformedKind::UnknownEnum => {
            let Some(key) = pick(rng, &present(shape.enum_fields)) else {
                return false;
            };
            map.insert(
                key,
                Value::String(format!("zz_undocumented_{}", rng.random_range(1..1000))),
            );
            true
        }
        MalformedKind::DanglingReference => {
            let Some(key) = pick(rng, &present(shape.reference_fields)) else {
                return false;
            };
            map.insert(
                key,
                Value::from(9_000_000_000_000_u64 + rng.random_range(0..1_000_000)),
            );
            true
        }
        MalformedKind::InvalidUtf8 => {
            let Some(key) = pick(rng, &present(shape.text_fields)) else {
                return false;
            };
            map.insert(
                key,
                Value::String(format!("broken {INVALID_UTF8_SENTINEL} text")),
            );
            true
        }
    }
}

fn pick(rng: &mut StdRng, items: &[String]) -> Option<String> {
    (!items.is_empty()).then(|| items[rng.random_range(0..items.len())].clone())
}

/// Encodes a JSON answer, turning the invalid-UTF-8 marker into an escaped lone surrogate.
pub fn json_bytes(value: &Value) -> Vec<u8> {
    let text = value.to_string();
    if text.contains(INVALID_UTF8_SENTINEL) {
        text.replace(INVALID_UTF8_SENTINEL, INVALID_UTF8_ESCAPE)
            .into_bytes()
    } else {
        text.into_bytes()
    }
}

/// An answer whose connection drops before it completes.
pub fn dropped_connection() -> Response {
    let failing = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "connection dropped by fault injection",
        ))
    });
    let mut response = Response::new(Body::from_stream(failing));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The axum middleware that applies request-level faults.
pub async fn middleware(State(faults): State<Faults>, req: Request, next: Next) -> Response {
    if !faults.applies_to(req.uri().path()) {
        return next.run(req).await;
    }
    let write = !matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    );
    let (latency, action) = faults.plan(write);
    if let Some(delay) = latency {
        tokio::time::sleep(delay).await;
    }
    match action {
        Action::Pass => next.run(req).await,
        Action::PassThenLose(lost) => {
            // The write is stored; only its answer never arrives whole.
            let stored = next.run(req).await;
            drop(stored);
            match lost {
                LostAnswer::BadGateway => (faults.body)(StatusCode::BAD_GATEWAY, 0),
                LostAnswer::Drop | LostAnswer::Either => dropped_connection(),
            }
        }
        Action::Error(status) => (faults.body)(status, 0),
        Action::Drop => dropped_connection(),
        Action::Storm(retry_after) => {
            let mut response = (faults.body)(StatusCode::TOO_MANY_REQUESTS, retry_after);
            if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            response
        }
    }
}

/// A plain fault answer, for platforms without their own wording.
pub fn plain_body(status: StatusCode, _retry_after: u64) -> Response {
    (
        status,
        axum::Json(serde_json::json!({ "error": status.canonical_reason() })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    const SHAPE: RecordShape = RecordShape {
        enum_fields: &["status"],
        reference_fields: &["requester_id"],
        text_fields: &["subject"],
    };

    fn faults(config: FaultConfig) -> Faults {
        Faults::new(config, 7, "/_sim", Arc::new(plain_body))
    }

    #[test]
    fn every_kind_breaks_what_it_says() {
        let record =
            || serde_json::json!({"id": 1, "status": "open", "requester_id": 5, "subject": "hi"});
        let mut rng = StdRng::seed_from_u64(1);
        let mut r = record();
        assert!(corrupt_one(
            &mut rng,
            &mut r,
            MalformedKind::UnknownEnum,
            &SHAPE
        ));
        assert!(
            r["status"]
                .as_str()
                .unwrap()
                .starts_with("zz_undocumented_")
        );
        let mut r = record();
        assert!(corrupt_one(
            &mut rng,
            &mut r,
            MalformedKind::DanglingReference,
            &SHAPE
        ));
        assert!(r["requester_id"].as_u64().unwrap() >= 9_000_000_000_000);
        let mut r = record();
        assert!(corrupt_one(
            &mut rng,
            &mut r,
            MalformedKind::WrongType,
            &SHAPE
        ));
        assert_ne!(r, record());
        let mut r = record();
        assert!(corrupt_one(
            &mut rng,
            &mut r,
            MalformedKind::InvalidUtf8,
            &SHAPE
        ));
        let bytes = String::from_utf8(json_bytes(&r)).unwrap();
        assert!(bytes.contains("\\ud800"), "{bytes}");
        assert!(
            serde_json::from_str::<Value>(&bytes).is_err(),
            "a lone surrogate does not decode"
        );
    }

    #[test]
    fn rate_one_breaks_all_and_rate_zero_none() {
        let mut records = vec![serde_json::json!({"status": "open"}); 20];
        let all = faults(FaultConfig {
            malformed_rate: 1.0,
            malformed_kinds: vec![MalformedKind::UnknownEnum],
            ..FaultConfig::default()
        });
        assert_eq!(all.corrupt_records(&mut records, &SHAPE), 20);
        let none = faults(FaultConfig::default());
        assert_eq!(none.corrupt_records(&mut records, &SHAPE), 0);
    }

    #[test]
    fn bursts_last_their_length() {
        let f = faults(FaultConfig {
            error_rate: 1.0,
            error_burst: 3,
            ..FaultConfig::default()
        });
        assert!(
            matches!(f.plan(false).1, Action::Error(s) if s == StatusCode::SERVICE_UNAVAILABLE)
        );
        f.set(FaultConfig {
            error_rate: 0.0,
            ..FaultConfig::default()
        });
        assert!(matches!(f.plan(false).1, Action::Pass));
    }

    #[test]
    fn paths_narrow_the_faults_to_their_requests() {
        let f = faults(FaultConfig {
            error_rate: 1.0,
            paths: vec!["/api/v2/tickets/7".to_owned()],
            ..FaultConfig::default()
        });
        assert!(f.applies_to("/api/v2/tickets/7.json"));
        assert!(f.applies_to("/api/v2/tickets/7/comments.json"));
        assert!(!f.applies_to("/api/v2/tickets/8.json"));
        assert!(!f.applies_to("/_sim/faults"));
        f.set(FaultConfig::default());
        assert!(f.applies_to("/api/v2/tickets/8.json"));
    }

    #[test]
    fn only_writes_lose_their_answers() {
        let f = faults(FaultConfig {
            lost_answer_rate: 1.0,
            lost_answer_as: LostAnswer::Drop,
            ..FaultConfig::default()
        });
        assert!(matches!(f.plan(false).1, Action::Pass));
        assert!(matches!(
            f.plan(true).1,
            Action::PassThenLose(LostAnswer::Drop)
        ));
        f.set(FaultConfig {
            lost_answer_rate: 1.0,
            ..FaultConfig::default()
        });
        let kinds: BTreeSet<bool> = (0..64)
            .filter_map(|_| match f.plan(true).1 {
                Action::PassThenLose(lost) => Some(lost == LostAnswer::Drop),
                _ => None,
            })
            .collect();
        assert_eq!(kinds.len(), 2, "either way, at random");
    }

    #[test]
    fn lateness_is_the_documented_lag_unless_told() {
        let f = faults(FaultConfig::default()).with_documented_lag(180);
        assert_eq!(f.search_lag(), None);
        f.set(FaultConfig {
            late: true,
            ..FaultConfig::default()
        });
        assert_eq!(f.search_lag(), Some(180));
        f.set(FaultConfig {
            late: true,
            search_lag_seconds: Some(5),
            ..FaultConfig::default()
        });
        assert_eq!(f.search_lag(), Some(5));
    }

    #[test]
    fn latency_stays_in_its_bounds() {
        let mut rng = StdRng::seed_from_u64(3);
        for _ in 0..100 {
            let d = sample_latency(
                &mut rng,
                &Latency::Uniform {
                    min_ms: 5,
                    max_ms: 10,
                },
            );
            assert!(d >= Duration::from_millis(5) && d <= Duration::from_millis(10));
        }
        assert_eq!(
            sample_latency(&mut rng, &Latency::Fixed { ms: 7 }),
            Duration::from_millis(7)
        );
    }

    #[test]
    fn config_reads_from_json() {
        let c: FaultConfig = serde_json::from_str(
            r#"{"error_rate":0.1,"latency":{"distribution":"exponential","mean_ms":20},"malformed_kinds":["invalid_utf8"]}"#,
        )
        .unwrap();
        assert_eq!(c.latency, Some(Latency::Exponential { mean_ms: 20 }));
        assert!(serde_json::from_str::<FaultConfig>(r#"{"nope":1}"#).is_err());
    }
}
