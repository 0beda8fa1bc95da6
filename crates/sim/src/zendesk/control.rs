//! Zendesk's side of the `/_sim/*` controls: what it lends the shared ones in
//! [`crate::control`] (its two rate limiters shown flat as `rate_limit_rpm` and
//! `incremental_rpm`), plus its own `/_sim/users/suspend`. Never authenticated, rate limited or
//! faulted.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::{Map, Value, json};

use super::app::App;
use super::errors::ApiError;
use super::routes::{Res, body_json, reply};
use crate::clock::Clock;
use crate::control::{self, Controlled};
use crate::faults::Faults;
use crate::notify::Notification;
use crate::state::Counts;
use crate::webhooks::Dispatcher;

/// The control routes: the shared ones and user suspension.
pub(crate) fn routes() -> Router<Arc<App>> {
    control::routes::<App>().route("/_sim/users/suspend", post(suspend))
}

impl Controlled for App {
    fn clock(&self) -> &Clock {
        &self.clock
    }

    fn faults(&self) -> &Faults {
        &self.faults
    }

    fn dispatcher(&self) -> &Dispatcher {
        &self.webhooks
    }

    fn counts(&self) -> Counts {
        self.read().counts()
    }

    fn reset(&self, seed: Option<u64>, tickets: Option<usize>) {
        App::reset(self, seed, tickets);
    }

    fn rate_limits(&self) -> Value {
        json!({"rate_limit_rpm": self.limiter.limit(), "incremental_rpm": self.incremental.limit()})
    }

    /// Zendesk's state shows the limits at its top level.
    fn rate_limits_in_state(&self) -> Map<String, Value> {
        match self.rate_limits() {
            Value::Object(entries) => entries,
            _ => Map::new(),
        }
    }

    /// `{"rpm": N|0|null}` sets the account budget, `{"incremental_rpm": …}` the exports' one.
    fn set_rate_limits(&self, body: &Value) {
        let as_limit = |v: &Value| v.as_u64().and_then(|n| u32::try_from(n).ok());
        if let Some(rpm) = body.get("rpm") {
            self.limiter.set_limit(as_limit(rpm));
        }
        if let Some(rpm) = body.get("incremental_rpm") {
            self.incremental.set_limit(as_limit(rpm));
        }
    }

    fn notifications(&self, ticket_id: Option<u64>) -> Vec<Notification> {
        self.read().notifications.list(ticket_id)
    }

    fn clear_notifications(&self) {
        self.write().notifications.clear();
    }
}

/// `{"email": "…", "suspended": true|false}` (suspended by default).
async fn suspend(State(app): State<Arc<App>>, body: Bytes) -> Res {
    let body = body_json(&body)?;
    let email = body
        .get("email")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_request("InvalidControl", "email is required"))?;
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
