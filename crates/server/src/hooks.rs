//! `POST /hooks/{old|new}`: a platform's webhook delivery. The side's connector checks it
//! (Zendesk's signature, Freshdesk's secret header) with the plan's secret; a delivery that
//! passes wakes the bridge to read the records it names now (answered 202), one that fails is
//! kept in the dead letters and answered 401. The body is never logged: it may hold customer
//! text.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use cutover_connect::Delivery;
use cutover_model::Side;

use crate::AppState;

/// Receives one delivery.
pub async fn receive(
    State(state): State<AppState>,
    Path(side): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let side = match side.as_str() {
        "old" => Side::Old,
        "new" => Side::New,
        other => {
            return (
                StatusCode::NOT_FOUND,
                format!("no such side {other:?}: deliveries go to /hooks/old or /hooks/new\n"),
            )
                .into_response();
        }
    };
    let headers: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    let delivery = Delivery {
        headers: &headers,
        body: &body,
    };
    match state.bridge.deliver(side, &delivery).await {
        Ok(Ok(n_hints)) => {
            (StatusCode::ACCEPTED, format!("{{\"records\":{n_hints}}}\n")).into_response()
        }
        Ok(Err(refused)) => {
            tracing::warn!(%side, reason = %refused, "Webhook delivery refused; kept in the dead letters.");
            (StatusCode::UNAUTHORIZED, format!("{refused}\n")).into_response()
        }
        Err(e) => {
            tracing::error!(%side, error = %e, "Webhook delivery could not be kept.");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "the store is unavailable; deliver again\n",
            )
                .into_response()
        }
    }
}
