//! The `/_sim/*` controls: state counts, reset, the clock, faults, rate limits, notifications,
//! webhook deliveries and user suspension. Never authenticated, rate limited or faulted.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use chrono::{DateTime, Duration};
use serde_json::{Value, json};

use super::app::App;
use super::errors::ApiError;
use super::json::iso;
use super::routes::{Res, body_json, reply};
use crate::faults::FaultConfig;
use crate::page::QueryMap;

/// The control routes.
pub(crate) fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/_sim/state", get(state))
        .route("/_sim/reset", post(reset))
        .route("/_sim/clock", get(clock).post(set_clock))
        .route(
            "/_sim/faults",
            get(faults).put(set_faults).delete(clear_faults),
        )
        .route("/_sim/faults/storm", post(storm))
        .route("/_sim/rate_limit", put(rate_limit))
        .route(
            "/_sim/notifications",
            get(notifications).delete(clear_notifications),
        )
        .route("/_sim/webhooks", get(deliveries))
        .route("/_sim/users/suspend", post(suspend))
}

fn bad(description: &str) -> ApiError {
    ApiError::bad_request("InvalidControl", description)
}

async fn state(State(app): State<Arc<App>>) -> Res {
    let counts = app.counts();
    Ok(reply(
        StatusCode::OK,
        &json!({
            "counts": counts,
            "clock": {"now": iso(app.now()), "unix": app.now(), "frozen": app.clock.is_frozen()},
            "rate_limit_rpm": app.limiter.limit(),
            "incremental_rpm": app.incremental.limit(),
            "faults": app.faults.config(),
            "webhooks_in_flight": app.webhooks.in_flight(),
        }),
    ))
}

async fn reset(State(app): State<Arc<App>>, body: Bytes) -> Res {
    let body = body_json(&body)?;
    let seed = body.get("seed").and_then(Value::as_u64);
    let tickets = body
        .get("tickets")
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok());
    app.reset(seed, tickets);
    Ok(reply(StatusCode::OK, &json!({"counts": app.counts()})))
}

fn clock_json(app: &App) -> Value {
    json!({"now": iso(app.now()), "unix": app.now(), "frozen": app.clock.is_frozen()})
}

async fn clock(State(app): State<Arc<App>>) -> Res {
    Ok(reply(StatusCode::OK, &clock_json(&app)))
}

/// `{"set": "2024-01-01T00:00:00Z"}`, `{"set_unix": 1700000000}`, `{"advance_seconds": 90}`,
/// `{"freeze": true|false}`, in any combination (set, then advance, then freeze).
async fn set_clock(State(app): State<Arc<App>>, body: Bytes) -> Res {
    let body = body_json(&body)?;
    if let Some(at) = body.get("set").and_then(Value::as_str) {
        let at = DateTime::parse_from_rfc3339(at).map_err(|e| bad(&format!("set: {e}")))?;
        app.clock.set(at.to_utc());
    }
    if let Some(unix) = body.get("set_unix").and_then(Value::as_i64) {
        app.clock
            .set(DateTime::from_timestamp(unix, 0).ok_or_else(|| bad("set_unix is out of range"))?);
    }
    if let Some(secs) = body.get("advance_seconds").and_then(Value::as_i64) {
        app.clock.advance(Duration::seconds(secs));
    }
    match body.get("freeze").and_then(Value::as_bool) {
        Some(true) => app.clock.freeze(),
        Some(false) => app.clock.unfreeze(),
        None => {}
    }
    Ok(reply(StatusCode::OK, &clock_json(&app)))
}

async fn faults(State(app): State<Arc<App>>) -> Res {
    Ok(reply(StatusCode::OK, &json!(app.faults.config())))
}

async fn set_faults(State(app): State<Arc<App>>, body: Bytes) -> Res {
    let config: FaultConfig =
        serde_json::from_slice(&body).map_err(|e| bad(&format!("faults: {e}")))?;
    app.faults.set(config);
    Ok(reply(StatusCode::OK, &json!(app.faults.config())))
}

async fn clear_faults(State(app): State<Arc<App>>) -> Res {
    app.faults.set(FaultConfig::default());
    Ok(reply(StatusCode::OK, &json!(app.faults.config())))
}

async fn storm(State(app): State<Arc<App>>, body: Bytes) -> Res {
    let secs = body_json(&body)?
        .get("seconds")
        .and_then(Value::as_u64)
        .unwrap_or(10);
    app.faults.start_storm(secs);
    Ok(reply(StatusCode::OK, &json!({"storm_seconds": secs})))
}

async fn rate_limit(State(app): State<Arc<App>>, body: Bytes) -> Res {
    let body = body_json(&body)?;
    if let Some(rpm) = body.get("rpm") {
        app.limiter
            .set_limit(rpm.as_u64().and_then(|n| u32::try_from(n).ok()));
    }
    if let Some(rpm) = body.get("incremental_rpm") {
        app.incremental
            .set_limit(rpm.as_u64().and_then(|n| u32::try_from(n).ok()));
    }
    Ok(reply(
        StatusCode::OK,
        &json!({"rate_limit_rpm": app.limiter.limit(), "incremental_rpm": app.incremental.limit()}),
    ))
}

async fn notifications(State(app): State<Arc<App>>, RawQuery(q): RawQuery) -> Res {
    let query = QueryMap::parse(q.as_deref());
    let ticket = query.get("ticket_id").and_then(|t| t.parse().ok());
    let list = app.read().notifications.list(ticket);
    Ok(reply(
        StatusCode::OK,
        &json!({"notifications": list, "count": list.len()}),
    ))
}

async fn clear_notifications(State(app): State<Arc<App>>) -> Res {
    app.write().notifications.clear();
    Ok(reply(
        StatusCode::OK,
        &json!({"notifications": [], "count": 0}),
    ))
}

async fn deliveries(State(app): State<Arc<App>>) -> Res {
    let attempts = app.webhooks.attempts();
    Ok(reply(
        StatusCode::OK,
        &json!({"attempts": attempts, "in_flight": app.webhooks.in_flight()}),
    ))
}

async fn suspend(State(app): State<Arc<App>>, body: Bytes) -> Res {
    let body = body_json(&body)?;
    let email = body
        .get("email")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("email is required"))?;
    let suspended = body
        .get("suspended")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    if !app.set_suspended(email, suspended) {
        return Err(ApiError::not_found());
    }
    Ok(reply(
        StatusCode::OK,
        &json!({"email": email, "suspended": suspended}),
    ))
}
