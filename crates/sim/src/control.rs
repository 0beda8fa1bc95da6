//! The `/_sim/*` controls every emulator answers, written once: state counts, reset, the clock,
//! faults, rate limits, notifications and webhook deliveries. An emulator builds its clock,
//! faults and webhook dispatcher as one [`Machinery`], implements [`Controlled`] and merges
//! [`routes`]. Never authenticated, rate limited or faulted.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use crate::SimError;
use crate::clock::Clock;
use crate::faults::{FaultBody, FaultConfig, Faults};
use crate::notify::Notification;
use crate::page::QueryMap;
use crate::server::{json_body, json_response as reply};
use crate::state::Counts;
use crate::webhooks::{Dispatcher, RetryPolicy};

/// What an emulator lends the shared controls.
pub trait Controlled: Send + Sync + 'static {
    /// The controllable clock.
    fn clock(&self) -> &Clock;
    /// The fault switchboard.
    fn faults(&self) -> &Faults;
    /// The webhook dispatcher.
    fn dispatcher(&self) -> &Dispatcher;
    /// Records per kind.
    fn counts(&self) -> Counts;
    /// Throws the account away and generates it again.
    fn reset(&self, seed: Option<u64>, tickets: Option<usize>);
    /// The rate limits in force, as JSON (the answer of `PUT /_sim/rate_limit`).
    fn rate_limits(&self) -> Value;
    /// The rate limits' entries in `/_sim/state`: `{"rate_limits": …}` unless the platform shows
    /// them otherwise.
    fn rate_limits_in_state(&self) -> Map<String, Value> {
        let mut entries = Map::new();
        entries.insert("rate_limits".to_owned(), self.rate_limits());
        entries
    }
    /// Changes the rate limits from a JSON body (`{"rpm": N}`, plus the platform's own keys).
    fn set_rate_limits(&self, body: &Value);
    /// Notifications sent, optionally about one ticket.
    fn notifications(&self, ticket_id: Option<u64>) -> Vec<Notification>;
    /// Forgets the notifications.
    fn clear_notifications(&self);
    /// Called after `POST /_sim/clock` moved or froze the clock: an emulator with time-driven
    /// behaviour (time-triggered rules) catches up here. Nothing by default.
    fn clock_moved(&self) {}
}

/// What every emulator runs on besides its account, built the same way for each: the clock
/// (real or starting at a given time), the fault switchboard (exempting `/_sim`) and the webhook
/// dispatcher (retrying with backoff, losing deliveries when the faults say so).
#[derive(Debug)]
pub struct Machinery {
    /// The controllable clock.
    pub clock: Clock,
    /// The fault switchboard.
    pub faults: Faults,
    /// The webhook dispatcher.
    pub webhooks: Dispatcher,
}

/// The options [`Machinery`] is built from; each platform's options carry them.
#[derive(Debug, Clone, Copy)]
pub struct MachineryOptions<'a> {
    /// The clock's time at start; `None` is real time.
    pub start_time: Option<DateTime<Utc>>,
    /// Faults in force from the start.
    pub faults: &'a FaultConfig,
    /// Seed of the faults' random choices.
    pub seed: u64,
    /// Attempts per webhook invocation (at least 1).
    pub webhook_attempts: u32,
    /// Wait before the first webhook retry (doubles per retry).
    pub webhook_retry_base: StdDuration,
    /// Allow webhooks to non-loopback endpoints.
    pub allow_external_webhooks: bool,
    /// How far behind the platform documents its search to be, in seconds (what the faults'
    /// `late` switches on, see [`crate::lateness`]).
    pub documented_search_lag: u64,
}

impl Machinery {
    /// Builds the machinery; `fault_body` answers injected errors in the platform's words and
    /// `shutdown` stops the dispatcher.
    pub fn new(
        opts: MachineryOptions<'_>,
        fault_body: FaultBody,
        shutdown: CancellationToken,
    ) -> Result<Self, SimError> {
        let clock = opts.start_time.map_or_else(Clock::real, Clock::starting_at);
        let faults = Faults::new(opts.faults.clone(), opts.seed, "/_sim", fault_body)
            .with_documented_lag(opts.documented_search_lag);
        let policy = RetryPolicy {
            max_attempts: opts.webhook_attempts.max(1),
            base_delay: opts.webhook_retry_base,
            ..RetryPolicy::default()
        };
        let webhooks = Dispatcher::new(
            policy,
            clock.clone(),
            Some(faults.clone()),
            opts.allow_external_webhooks,
            shutdown,
        )?;
        Ok(Self {
            clock,
            faults,
            webhooks,
        })
    }
}

/// A control request refused (400 with a description).
#[derive(Debug)]
struct Rejection(Box<Response>);

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        *self.0
    }
}

type Res = Result<Response, Rejection>;

fn bad(description: &str) -> Rejection {
    Rejection(Box::new(reply(
        StatusCode::BAD_REQUEST,
        &json!({"error": "InvalidControl", "description": description}),
    )))
}

fn body_json(body: &Bytes) -> Result<Value, Rejection> {
    json_body(body, |e| bad(&format!("body is not JSON: {e}")))
}

/// The control routes for an emulator of type `A`.
pub fn routes<A: Controlled>() -> Router<Arc<A>> {
    Router::new()
        .route("/_sim/state", get(state::<A>))
        .route("/_sim/reset", post(reset::<A>))
        .route("/_sim/clock", get(clock::<A>).post(set_clock::<A>))
        .route(
            "/_sim/faults",
            get(faults::<A>)
                .put(set_faults::<A>)
                .delete(clear_faults::<A>),
        )
        .route("/_sim/faults/storm", post(storm::<A>))
        .route("/_sim/rate_limit", put(rate_limit::<A>))
        .route(
            "/_sim/notifications",
            get(notifications::<A>).delete(clear_notifications::<A>),
        )
        .route("/_sim/webhooks", get(deliveries::<A>))
}

fn clock_json(clock: &Clock) -> Value {
    let now = clock.now_secs();
    json!({"now": now.to_rfc3339_opts(SecondsFormat::Secs, true), "unix": now.timestamp(), "frozen": clock.is_frozen()})
}

async fn state<A: Controlled>(State(app): State<Arc<A>>) -> Res {
    let mut body = app.rate_limits_in_state();
    body.insert("counts".to_owned(), json!(app.counts()));
    body.insert("clock".to_owned(), clock_json(app.clock()));
    body.insert("faults".to_owned(), json!(app.faults().config()));
    body.insert(
        "webhooks_in_flight".to_owned(),
        json!(app.dispatcher().in_flight()),
    );
    Ok(reply(StatusCode::OK, &Value::Object(body)))
}

async fn reset<A: Controlled>(State(app): State<Arc<A>>, body: Bytes) -> Res {
    let body = body_json(&body)?;
    let seed = body.get("seed").and_then(Value::as_u64);
    let tickets = body
        .get("tickets")
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok());
    app.reset(seed, tickets);
    Ok(reply(StatusCode::OK, &json!({"counts": app.counts()})))
}

async fn clock<A: Controlled>(State(app): State<Arc<A>>) -> Res {
    Ok(reply(StatusCode::OK, &clock_json(app.clock())))
}

/// `{"set": "2024-01-01T00:00:00Z"}`, `{"set_unix": 1700000000}`, `{"advance_seconds": 90}`,
/// `{"freeze": true|false}`, in any combination (set, then advance, then freeze).
async fn set_clock<A: Controlled>(State(app): State<Arc<A>>, body: Bytes) -> Res {
    let body = body_json(&body)?;
    let clock = app.clock();
    if let Some(at) = body.get("set").and_then(Value::as_str) {
        let at = DateTime::parse_from_rfc3339(at).map_err(|e| bad(&format!("set: {e}")))?;
        clock.set(at.to_utc());
    }
    if let Some(unix) = body.get("set_unix").and_then(Value::as_i64) {
        clock
            .set(DateTime::from_timestamp(unix, 0).ok_or_else(|| bad("set_unix is out of range"))?);
    }
    if let Some(secs) = body.get("advance_seconds").and_then(Value::as_i64) {
        clock.advance(Duration::seconds(secs));
    }
    match body.get("freeze").and_then(Value::as_bool) {
        Some(true) => clock.freeze(),
        Some(false) => clock.unfreeze(),
        None => {}
    }
    app.clock_moved();
    Ok(reply(StatusCode::OK, &clock_json(clock)))
}

async fn faults<A: Controlled>(State(app): State<Arc<A>>) -> Res {
    Ok(reply(StatusCode::OK, &json!(app.faults().config())))
}

async fn set_faults<A: Controlled>(State(app): State<Arc<A>>, body: Bytes) -> Res {
    let config: FaultConfig =
        serde_json::from_slice(&body).map_err(|e| bad(&format!("faults: {e}")))?;
    app.faults().set(config);
    Ok(reply(StatusCode::OK, &json!(app.faults().config())))
}

async fn clear_faults<A: Controlled>(State(app): State<Arc<A>>) -> Res {
    app.faults().set(FaultConfig::default());
    Ok(reply(StatusCode::OK, &json!(app.faults().config())))
}

async fn storm<A: Controlled>(State(app): State<Arc<A>>, body: Bytes) -> Res {
    let secs = body_json(&body)?
        .get("seconds")
        .and_then(Value::as_u64)
        .unwrap_or(10);
    app.faults().start_storm(secs);
    Ok(reply(StatusCode::OK, &json!({"storm_seconds": secs})))
}

async fn rate_limit<A: Controlled>(State(app): State<Arc<A>>, body: Bytes) -> Res {
    let body = body_json(&body)?;
    app.set_rate_limits(&body);
    Ok(reply(StatusCode::OK, &app.rate_limits()))
}

async fn notifications<A: Controlled>(State(app): State<Arc<A>>, RawQuery(q): RawQuery) -> Res {
    let query = QueryMap::parse(q.as_deref());
    let ticket = query.get("ticket_id").and_then(|t| t.parse().ok());
    let list = app.notifications(ticket);
    Ok(reply(
        StatusCode::OK,
        &json!({"notifications": list, "count": list.len()}),
    ))
}

async fn clear_notifications<A: Controlled>(State(app): State<Arc<A>>) -> Res {
    app.clear_notifications();
    Ok(reply(
        StatusCode::OK,
        &json!({"notifications": [], "count": 0}),
    ))
}

async fn deliveries<A: Controlled>(State(app): State<Arc<A>>) -> Res {
    let attempts = app.dispatcher().attempts();
    Ok(reply(
        StatusCode::OK,
        &json!({"attempts": attempts, "in_flight": app.dispatcher().in_flight()}),
    ))
}
