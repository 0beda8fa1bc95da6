//! Which `cutover serve` leads: `GET /api/v1/leader` and the `cutover_leader` gauge. Several
//! processes may serve one PostgreSQL store; one holds the lease and runs the bridge, every one
//! answers HTTP (see `cutover_runtime::leader`).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cutover_runtime::Role;
use cutover_store::{Lease, Store};
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::AppState;

/// This process's part in leadership, as the HTTP faces show it.
#[derive(Debug, Clone)]
pub struct LeaderView {
    /// The lease's name (`serve`).
    pub lease: String,
    /// This process's holder id.
    pub holder: String,
    /// Whether it leads, as the leadership task last said.
    pub role: watch::Receiver<Role>,
}

impl LeaderView {
    /// A view of a process that never leads (nothing runs the leadership task): a follower.
    pub fn follower(holder: impl Into<String>) -> Self {
        let (_, role) = watch::channel(Role::Follower);
        LeaderView {
            lease: cutover_runtime::SERVE_LEASE.to_owned(),
            holder: holder.into(),
            role,
        }
    }

    /// Whether this process leads now.
    pub fn is_leader(&self) -> bool {
        self.role.borrow().is_leader()
    }
}

/// The lease as `GET /api/v1/leader` and `cutover sync status --json` show it (no secret in
/// it: a holder id is a host name, a process id and a nonce).
pub fn lease_json(lease: &Lease) -> Value {
    json!({
        "holder": lease.holder,
        "token": lease.token,
        "since": lease.since,
        "renewed_at": lease.renewed_at,
        "expires_at": lease.expires_at,
        "expired": lease.expired,
    })
}

/// What `GET /api/v1/leader` answers: this process's role and holder id, and the lease as the
/// store holds it (who leads, since when, until when unless renewed).
pub async fn leader_json(view: &LeaderView, store: &Arc<dyn Store>) -> Result<Value, Response> {
    let lease = store.lease(&view.lease).await.map_err(|e| {
        tracing::error!(error = %e, "reading the lease failed.");
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "error": "reading the lease failed" })),
        )
            .into_response()
    })?;
    let role = view.role.borrow().clone();
    let (name, since, token) = match role {
        Role::Leader { token, since } => ("leader", Some(since), Some(token)),
        Role::Follower => ("follower", None, None),
    };
    Ok(json!({
        "role": name,
        "holder": view.holder,
        "since": since,
        "token": token,
        "lease": lease.as_ref().map(lease_json),
    }))
}

/// `GET /api/v1/leader`.
pub(crate) async fn get_leader(State(state): State<AppState>) -> Response {
    match leader_json(&state.leader, &state.api.store).await {
        Ok(body) => Json(body).into_response(),
        Err(response) => response,
    }
}
