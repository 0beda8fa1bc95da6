//! Authentication (HTTP basic with the API key as user name and any password) and the plan's
//! rate limits (account budget plus per-endpoint sub-budgets, embeds costing extra credits), as
//! axum middleware on `/api/*`.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::app::App;
use super::errors::ApiError;
use crate::page::QueryMap;
use crate::ratelimit::{Decision, FreshdeskHeaders, HeaderStyle, RateLimiter, retry_after};

/// Who is calling, put into request extensions by [`authenticate`]: the agent the key is for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Actor {
    /// The agent's id.
    pub(crate) agent_id: u64,
}

/// Whether a request of a key without admin rights is refused: what the Admin tab governs
/// (roles, fields, agents, automation rules, webhooks), read or written, and any other write
/// under `admin/`.
fn needs_admin(method: &Method, path: &str) -> bool {
    let rest = path
        .trim_end_matches('/')
        .strip_prefix("/api/v2/")
        .unwrap_or("");
    let first = rest.split('/').next().unwrap_or("");
    match first {
        "roles" | "automations" | "webhooks" => true,
        "admin" | "ticket_fields" | "contact_fields" | "company_fields" => method != Method::GET,
        "agents" => method != Method::GET,
        _ => false,
    }
}

fn api_key(req: &Request) -> Option<String> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim();
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (user, _password) = decoded.split_once(':').unwrap_or((&decoded, ""));
    Some(user.to_owned())
}

/// Checks the API key; 401 `invalid_credentials` when missing or wrong.
pub(crate) async fn authenticate(
    State(app): State<Arc<App>>,
    mut req: Request,
    next: Next,
) -> Response {
    match api_key(&req) {
        Some(key) if key == app.opts.api_key => {
            let agent_id = app.read().owner_id;
            req.extensions_mut().insert(Actor { agent_id });
            next.run(req).await
        }
        Some(key) if app.opts.agent_api_key.as_deref() == Some(key.as_str()) => {
            let Some(agent_id) = app.read().agent_key_id else {
                return ApiError::unauthenticated().into_response();
            };
            if needs_admin(req.method(), req.uri().path()) {
                return ApiError::access_denied().into_response();
            }
            req.extensions_mut().insert(Actor { agent_id });
            next.run(req).await
        }
        _ => ApiError::unauthenticated().into_response(),
    }
}

/// The sub-budget a request also counts against, if any.
fn sub_budget<'a>(app: &'a App, method: &Method, path: &str) -> Option<&'a RateLimiter> {
    let path = path.trim_end_matches('/');
    let rest = path.strip_prefix("/api/v2/")?;
    let segments: Vec<&str> = rest.split('/').collect();
    match (method, segments.as_slice()) {
        (&Method::POST, ["tickets"]) => Some(&app.limiters.ticket_create),
        (&Method::PUT, ["tickets", id]) if id.parse::<u64>().is_ok() => {
            Some(&app.limiters.ticket_update)
        }
        (&Method::GET, ["tickets"]) => Some(&app.limiters.tickets_list),
        (&Method::GET, ["contacts"]) => Some(&app.limiters.contacts_list),
        _ => None,
    }
}

/// Credits a request costs: one, plus one per embed named in `include=`.
pub(crate) fn cost(req: &Request) -> u32 {
    let query = QueryMap::parse(req.uri().query());
    1 + u32::try_from(query.list("include").len()).unwrap_or(0)
}

/// Counts the request against the account's minute budget and its endpoint's sub-budget, adds
/// the `X-RateLimit-*` headers, and answers 429 with `Retry-After` when either is spent.
pub(crate) async fn rate_limit(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let cost = cost(&req);
    let account = app.limiters.account.check_cost("account", cost);
    let sub = if account.is_none_or(|d| d.allowed) {
        sub_budget(&app, req.method(), req.uri().path()).and_then(|l| l.check_cost("account", cost))
    } else {
        None
    };
    let refused: Option<Decision> = [account, sub].into_iter().flatten().find(|d| !d.allowed);
    let mut response = match refused {
        Some(decision) => {
            let mut response = ApiError::rate_limited().into_response();
            retry_after(&decision, response.headers_mut());
            response
        }
        None => next.run(req).await,
    };
    if let Some(decision) = account {
        FreshdeskHeaders.apply(&decision, response.headers_mut());
    }
    // What the request cost is reported even with the limits off.
    response
        .headers_mut()
        .insert("x-ratelimit-used-currentrequest", HeaderValue::from(cost));
    response
}
