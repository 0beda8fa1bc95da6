//! The faces of cutover over HTTP. Today: the bridge's webhook intake, its health and its
//! Prometheus metrics, and the control-plane API, served by `cutover serve`; later the
//! dashboard and status page; and the inbound gateway.
//!
//! The caller binds the listener and owns the shutdown signal ([`run`]), so tests serve on
//! port 0 and many servers run in one process; [`router`] is the same routes without a socket.
//!
//! Layout:
//! - [`hooks`]: `POST /hooks/{old|new}`, a delivery checked by its platform's connector.
//! - [`gateway`]: `/gateway/{channel}`, the inbound gateway: one endpoint per channel of the
//!   plan, each taking what its kind's providers send, kept in the store before it answers.
//! - [`keeper`]: the writers of the gateway's contacts, many to a commit.
//! - [`metrics`]: `GET /metrics`, every metric cutover exports, in Prometheus' text format.
//! - `GET /healthz`: `ok` while the process serves.
//! - [`api`]: `/api/v1/…`, the control-plane API behind bearer tokens with a role.
//! - [`leader`]: `GET /api/v1/leader`, which of several `cutover serve` processes leads.
//! - [`openapi`]: the OpenAPI document of the API, built from the same route table.

pub mod api;
pub mod gateway;
pub mod hooks;
pub mod keeper;
pub mod leader;
pub mod metrics;
pub mod openapi;

use std::future::Future;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::serve::ListenerExt as _;
use cutover_engine::sync::BridgeHandle;
use tokio::net::TcpListener;

/// What every route shares: the running bridge and what the API reads.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The bridge the intake feeds and the metrics read.
    pub bridge: BridgeHandle,
    /// The store, the plan's waves and the dead-letter appliers, for `/api/v1/`.
    pub api: api::ApiState,
    /// Whether this process leads (runs the bridge) or follows, for `/api/v1/leader` and
    /// `/metrics`.
    pub leader: leader::LeaderView,
    /// The inbound gateway's channels, store and counts.
    pub gateway: gateway::GatewayState,
}

/// Every route of `cutover serve`.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/hooks/{side}", post(hooks::receive))
        .route(
            "/gateway/{channel}",
            get(gateway::verify)
                .post(gateway::receive)
                .layer(DefaultBodyLimit::max(gateway::BODY_LIMIT)),
        )
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics::render))
        .merge(api::router(state.clone()))
        .with_state(state)
}

/// Serves [`router`] on `listener` until `shutdown` completes; requests in flight finish.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Answers go out at once: a small answer written in two pieces would otherwise wait for
    // the client's delayed acknowledgement of the first (Nagle's algorithm), up to 40 ms.
    let listener = listener.tap_io(|stream| {
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "Could not set TCP_NODELAY on a connection.");
        }
    });
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
