//! Authentication (`EMAIL/token:TOKEN` basic and `Bearer TOKEN`) and the account's rate limits,
//! as axum middleware on `/api/*`.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::app::App;
use super::errors::ApiError;
use super::model::Role;
use crate::ratelimit::{HeaderStyle, ZendeskHeaders, retry_after};

/// Who is calling, put into request extensions by [`authenticate`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Actor {
    /// The user's id.
    pub(crate) user_id: u64,
    /// The user's role.
    pub(crate) role: Role,
}

enum Credentials {
    Token { email: String, token: String },
    Bearer(String),
}

fn credentials(req: &Request) -> Option<Credentials> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim();
    if let Some(token) = value.strip_prefix("Bearer ") {
        return Some(Credentials::Bearer(token.trim().to_owned()));
    }
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (user, secret) = decoded.split_once(':')?;
    let email = user.strip_suffix("/token")?;
    Some(Credentials::Token {
        email: email.to_owned(),
        token: secret.to_owned(),
    })
}

/// Checks credentials; 401 with Zendesk's body when missing or wrong, 403 for a suspended user.
pub(crate) async fn authenticate(
    State(app): State<Arc<App>>,
    mut req: Request,
    next: Next,
) -> Response {
    let actor = {
        let st = app.read();
        match credentials(&req) {
            Some(Credentials::Bearer(token)) if token == app.opts.token => st
                .users
                .get(&st.owner_id)
                .map(|u| (u.id, u.role, u.suspended)),
            Some(Credentials::Token { email, token }) if token == app.opts.token => st
                .user_by_email(&email)
                .filter(|u| u.active)
                .map(|u| (u.id, u.role, u.suspended)),
            _ => None,
        }
    };
    match actor {
        None => ApiError::unauthenticated().into_response(),
        Some((_, _, true)) => ApiError::forbidden().into_response(),
        Some((user_id, role, false)) => {
            req.extensions_mut().insert(Actor { user_id, role });
            next.run(req).await
        }
    }
}

/// Counts the request against the account's minute budget (and the incremental exports' own
/// budget), adds the rate-limit headers, and answers 429 with `Retry-After` when over.
pub(crate) async fn rate_limit(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let account = app.limiter.check("account");
    let incremental = if req.uri().path().starts_with("/api/v2/incremental/") {
        app.incremental.check("account")
    } else {
        None
    };
    let refused = [account, incremental]
        .into_iter()
        .flatten()
        .find(|d| !d.allowed);
    let mut response = match refused {
        Some(decision) => {
            let description = if incremental.is_some_and(|d| !d.allowed) {
                "Number of allowed incremental export API requests per minute exceeded"
            } else {
                "Number of allowed API requests per minute exceeded"
            };
            let body =
                serde_json::json!({"error": "APIRateLimitExceeded", "description": description});
            let mut response = ApiError::new(StatusCode::TOO_MANY_REQUESTS, body).into_response();
            retry_after(&decision, response.headers_mut());
            response
        }
        None => next.run(req).await,
    };
    if let Some(decision) = account {
        ZendeskHeaders.apply(&decision, response.headers_mut());
    }
    response
        .headers_mut()
        .insert("x-zendesk-api-version", HeaderValue::from_static("v2"));
    response
}
