//! The control-plane API under `/api/v1/`: waves, their phases and gates, sign-offs, pause and
//! resume (through the same runtime functions as the CLI, audited with the token's name as the
//! actor), the bridge's status, conflicts and dead letters, and the OpenAPI document that describes them
//! (`GET /api/v1/openapi.json`, built from the same route table as the router, in
//! [`crate::openapi`]).
//!
//! Every route wants `Authorization: Bearer TOKEN`, a token `cutover token create` made. A
//! missing, malformed, unknown or revoked token gets 401 with `WWW-Authenticate: Bearer` and a
//! JSON error; a token whose role is below the route's gets 403. Roles are ordered: a viewer
//! reads, an operator also acts (retries a dead letter), an admin may do everything. Tokens
//! are looked up by their SHA-256 hash; neither the token nor its hash is ever logged.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, any, get, post};
use cutover_engine::Applier;
use cutover_engine::dead_letters::Retried;
use cutover_model::{RecordKind, Side};
use cutover_plan::plan::Plan;
use cutover_runtime::RuntimeError;
use cutover_runtime::routing::{RoutingState, find_wave};
use cutover_store::{
    ApiRole, ApiToken, Conflict, ConflictId, DeadLetter, DeadLetterFilter, DeadLetterId, Store,
    TokenHash,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;

/// What the API needs beyond the bridge: the store, the plan and its waves and, when the
/// process can write to the platforms, the appliers that retry dead letters.
#[derive(Debug, Clone)]
pub struct ApiState {
    /// Tokens, conflicts, dead letters and the bridge's status.
    pub store: Arc<dyn Store>,
    /// The plan `cutover serve` runs with: its waves, gates and people.
    pub plan: Arc<Plan>,
    /// The digest of its file (`cutover_runtime::plan_digest`), which sign-offs and gates are
    /// tied to.
    pub plan_digest: String,
    /// The plan's waves with their gates, as `GET /api/v1/waves` shows them (each wave's
    /// phase is added from the store at each request).
    pub waves: Value,
    /// One applier per side records are read from (a dead letter's `side`); without one,
    /// `POST /api/v1/deadletters/{id}/retry` answers 503.
    pub retry: BTreeMap<Side, Arc<Applier>>,
}

/// One route of the API: what the router serves and the OpenAPI document describes.
#[derive(Debug, Clone)]
pub struct ApiRoute {
    /// The HTTP method.
    pub method: Method,
    /// The path, in OpenAPI's template form (`/api/v1/conflicts/{id}`).
    pub path: &'static str,
    /// The lowest role that may call it.
    pub role: ApiRole,
    /// One line on what it does.
    pub summary: &'static str,
    /// The name of the schema (in the document's `components`) of a 200 answer.
    pub schema: &'static str,
}

/// Every route of the API.
pub const ROUTES: &[ApiRoute] = &[
    ApiRoute {
        method: Method::GET,
        path: "/api/v1/openapi.json",
        role: ApiRole::Viewer,
        summary: "This document.",
        schema: "OpenApi",
    },
    ApiRoute {
        method: Method::GET,
        path: "/api/v1/waves",
        role: ApiRole::Viewer,
        summary: "The plan's waves, each with its phase (old, holding, new, paused), channels, groups, agents, share of customers, window and gates (who must sign off).",
        schema: "Waves",
    },
    ApiRoute {
        method: Method::GET,
        path: "/api/v1/waves/{wave}/gates",
        role: ApiRole::Viewer,
        summary: "A wave's gates evaluated now, as `cutover gates WAVE --json` shows them: each criterion met or not, with its values and the command that moves it on, and the sign-offs.",
        schema: "GateReport",
    },
    ApiRoute {
        method: Method::POST,
        path: "/api/v1/waves/{wave}/sign-off",
        role: ApiRole::Operator,
        summary: "Signs off a wave as a person of the plan's [people] (body `{\"as\": \"PERSON\"}`; operator role or higher in the plan, named by the wave's gates), as `cutover go` does; answers the gates evaluated with it.",
        schema: "GateReport",
    },
    ApiRoute {
        method: Method::POST,
        path: "/api/v1/waves/{wave}/pause",
        role: ApiRole::Operator,
        summary: "Holds a switched wave where it is (phase new to paused), as `cutover wave pause` does.",
        schema: "PhaseChange",
    },
    ApiRoute {
        method: Method::POST,
        path: "/api/v1/waves/{wave}/resume",
        role: ApiRole::Operator,
        summary: "Lets a paused wave go on (phase paused to new), as `cutover wave resume` does.",
        schema: "PhaseChange",
    },
    ApiRoute {
        method: Method::GET,
        path: "/api/v1/sync/status",
        role: ApiRole::Viewer,
        summary: "The bridge's status, as `cutover sync status --json` shows it.",
        schema: "SyncStatus",
    },
    ApiRoute {
        method: Method::GET,
        path: "/api/v1/leader",
        role: ApiRole::Viewer,
        summary: "Which `cutover serve` leads (runs the bridge): this process's role and holder id, and the lease as the store holds it.",
        schema: "Leader",
    },
    ApiRoute {
        method: Method::GET,
        path: "/api/v1/conflicts",
        role: ApiRole::Viewer,
        summary: "Conflicts the bridge resolved, oldest first, a page at a time (`after`, `limit`).",
        schema: "Conflicts",
    },
    ApiRoute {
        method: Method::GET,
        path: "/api/v1/conflicts/{id}",
        role: ApiRole::Viewer,
        summary: "One conflict, with both values.",
        schema: "Conflict",
    },
    ApiRoute {
        method: Method::GET,
        path: "/api/v1/deadletters",
        role: ApiRole::Viewer,
        summary: "Dead letters in id order, a page at a time (`after`, `limit`), narrowed by `kind` and `side`.",
        schema: "DeadLetters",
    },
    ApiRoute {
        method: Method::GET,
        path: "/api/v1/deadletters/{id}",
        role: ApiRole::Viewer,
        summary: "One dead letter, with the record as last read.",
        schema: "DeadLetter",
    },
    ApiRoute {
        method: Method::GET,
        path: "/api/v1/tokens",
        role: ApiRole::Admin,
        summary: "The API tokens, as `cutover token list` shows them: names, roles, when made, last used and revoked (never a token or its hash).",
        schema: "Tokens",
    },
    ApiRoute {
        method: Method::POST,
        path: "/api/v1/deadletters/{id}/retry",
        role: ApiRole::Operator,
        summary: "Applies one dead letter again, as `cutover deadletters retry ID` does.",
        schema: "Retried",
    },
];

/// The handler of a route in [`ROUTES`].
fn handler(path: &str) -> MethodRouter<AppState> {
    match path {
        "/api/v1/openapi.json" => get(openapi),
        "/api/v1/waves" => get(waves),
        "/api/v1/waves/{wave}/gates" => get(wave_gates),
        "/api/v1/waves/{wave}/sign-off" => post(wave_sign_off),
        "/api/v1/waves/{wave}/pause" => post(wave_pause),
        "/api/v1/waves/{wave}/resume" => post(wave_resume),
        "/api/v1/sync/status" => get(sync_status),
        "/api/v1/leader" => get(crate::leader::get_leader),
        "/api/v1/conflicts" => get(conflicts),
        "/api/v1/conflicts/{id}" => get(conflict),
        "/api/v1/deadletters" => get(dead_letters),
        "/api/v1/deadletters/{id}" => get(dead_letter),
        "/api/v1/deadletters/{id}/retry" => post(retry),
        "/api/v1/tokens" => get(tokens),
        _ => MethodRouter::new(),
    }
}

/// The routes of [`ROUTES`], each behind its role; any other path under `/api/v1/` is a JSON
/// 404 (after the token is checked, so nothing is learnt without one).
pub fn router(state: AppState) -> Router<AppState> {
    let mut router = Router::new();
    for route in ROUTES {
        router = router.route(
            route.path,
            handler(route.path)
                .route_layer(from_fn_with_state((state.clone(), route.role), authorize)),
        );
    }
    router.route(
        "/api/v1/{*rest}",
        // `any` routes every method through the fallback, which only `layer` wraps.
        any(|| async { error(StatusCode::NOT_FOUND, "no such route") })
            .layer(from_fn_with_state((state, ApiRole::Viewer), authorize)),
    )
}

/// An error as the API answers it: `{"error": "..."}`.
fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// 401, with the challenge RFC 6750 asks for.
fn unauthorized(message: &str, invalid: bool) -> Response {
    let mut response = error(StatusCode::UNAUTHORIZED, message);
    let challenge = if invalid {
        "Bearer realm=\"cutover\", error=\"invalid_token\""
    } else {
        "Bearer realm=\"cutover\""
    };
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    response
}

/// The token of an `Authorization` value `Bearer TOKEN` (the scheme in any case, RFC 9110).
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token)
}

/// Checks the bearer token and its role; passes the token on to the handler.
async fn authorize(
    State((state, needed)): State<(AppState, ApiRole)>,
    mut request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(|value| value.to_str().ok().and_then(bearer));
    let token = match presented {
        None => return unauthorized("a bearer token is required", false),
        Some(None) => {
            return unauthorized("the Authorization header is not `Bearer TOKEN`", true);
        }
        Some(Some(token)) => token.trim(),
    };
    let found = match state.api.store.use_api_token(&TokenHash::of(token)).await {
        Ok(found) => found,
        Err(e) => {
            tracing::error!(error = %e, "Reading the API tokens failed.");
            return error(StatusCode::SERVICE_UNAVAILABLE, "the store cannot be read");
        }
    };
    let Some(caller) = found else {
        return unauthorized("the token is unknown or revoked", true);
    };
    if !caller.role.allows(needed) {
        return error(
            StatusCode::FORBIDDEN,
            &format!(
                "the token {:?} has the {} role; this route needs {needed}",
                caller.name, caller.role
            ),
        );
    }
    request.extensions_mut().insert(caller);
    next.run(request).await
}

/// A store or engine error as a 503 (the detail goes to the log, not the caller).
fn unavailable(what: &str, e: &dyn std::error::Error) -> Response {
    tracing::error!(error = %e, "{what} failed.");
    error(StatusCode::SERVICE_UNAVAILABLE, &format!("{what} failed"))
}

async fn openapi() -> Json<Value> {
    Json(crate::openapi::document())
}

async fn waves(State(state): State<AppState>) -> Response {
    let routing = match RoutingState::load(state.api.store.as_ref()).await {
        Ok(routing) => routing,
        Err(e) => return unavailable("reading the routing state", &e),
    };
    let mut waves = state.api.waves.clone();
    for wave in waves.as_array_mut().into_iter().flatten() {
        let name = wave["name"].as_str().unwrap_or_default().to_owned();
        let since = routing.waves.get(&name).map(|w| w.changed_at);
        if let Value::Object(fields) = wave {
            fields.insert("phase".to_owned(), json!(routing.phase(&name)));
            fields.insert("phase_since".to_owned(), json!(since));
        }
    }
    Json(json!({ "generation": routing.generation, "waves": waves })).into_response()
}

/// A runtime refusal or failure as the API answers it: an unknown wave 404, a person the step
/// does not accept (or a channel no plan names) 422, a wave in the wrong phase 409, the store 503.
fn runtime_error(e: &RuntimeError) -> Response {
    match e {
        RuntimeError::NoSuchWave(_) => error(StatusCode::NOT_FOUND, &e.to_string()),
        RuntimeError::UnknownPerson { .. }
        | RuntimeError::NotOperator { .. }
        | RuntimeError::NotNamed { .. }
        | RuntimeError::UnknownChannel { .. } => {
            error(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string())
        }
        RuntimeError::WrongPhase { .. }
        | RuntimeError::GatesNotMet(_)
        | RuntimeError::Refused(_) => error(StatusCode::CONFLICT, &e.to_string()),
        RuntimeError::Store(_)
        | RuntimeError::BadRoutingState(_)
        | RuntimeError::Measure(_)
        | RuntimeError::Engine(_) => unavailable("the wave's step", e),
    }
}

/// The index of the wave a path names (its name or number).
fn wave_index(state: &AppState, named: &str) -> Result<usize, RuntimeError> {
    find_wave(&state.api.plan.waves, named).map(|(index, _)| index)
}

async fn wave_gates(State(state): State<AppState>, Path(wave): Path<String>) -> Response {
    let index = match wave_index(&state, &wave) {
        Ok(index) => index,
        Err(e) => return runtime_error(&e),
    };
    let api = &state.api;
    match cutover_runtime::gates::evaluate(
        api.store.as_ref(),
        &api.plan,
        &api.plan_digest,
        index,
        chrono::Utc::now(),
    )
    .await
    {
        Ok(report) => Json(json!(report)).into_response(),
        Err(e) => runtime_error(&e),
    }
}

/// The body of a sign-off: `{"as": "PERSON"}`.
#[derive(Debug, Deserialize)]
struct SignOffBody {
    #[serde(rename = "as")]
    person: String,
}

async fn wave_sign_off(
    State(state): State<AppState>,
    Path(wave): Path<String>,
    axum::Extension(caller): axum::Extension<ApiToken>,
    body: axum::body::Bytes,
) -> Response {
    let index = match wave_index(&state, &wave) {
        Ok(index) => index,
        Err(e) => return runtime_error(&e),
    };
    let body: SignOffBody = match serde_json::from_slice(&body) {
        Ok(body) => body,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!(
                    "the body must be {{\"as\": \"PERSON\"}} (a person of the plan's [people]): {e}"
                ),
            );
        }
    };
    let api = &state.api;
    match cutover_runtime::gates::sign_off(
        api.store.as_ref(),
        &api.plan,
        &api.plan_digest,
        index,
        &body.person,
        &caller.name,
        "api",
        chrono::Utc::now(),
    )
    .await
    {
        Ok(report) => Json(json!(report)).into_response(),
        Err(e) => runtime_error(&e),
    }
}

async fn wave_pause(
    State(state): State<AppState>,
    Path(wave): Path<String>,
    axum::Extension(caller): axum::Extension<ApiToken>,
) -> Response {
    wave_step(&state, &wave, &caller, true).await
}

async fn wave_resume(
    State(state): State<AppState>,
    Path(wave): Path<String>,
    axum::Extension(caller): axum::Extension<ApiToken>,
) -> Response {
    wave_step(&state, &wave, &caller, false).await
}

async fn wave_step(state: &AppState, wave: &str, caller: &ApiToken, pause: bool) -> Response {
    let index = match wave_index(state, wave) {
        Ok(index) => index,
        Err(e) => return runtime_error(&e),
    };
    let (store, plan, now) = (
        state.api.store.as_ref(),
        &state.api.plan,
        chrono::Utc::now(),
    );
    let done = if pause {
        cutover_runtime::pause::pause(store, plan, index, &caller.name, "api", now).await
    } else {
        cutover_runtime::pause::resume(store, plan, index, &caller.name, "api", now).await
    };
    match done {
        Ok(change) => Json(json!(change)).into_response(),
        Err(e) => runtime_error(&e),
    }
}

async fn sync_status(State(state): State<AppState>) -> Response {
    let store = state.api.store.as_ref();
    let loaded = async {
        let directions = cutover_engine::sync::status::load(store).await?;
        let recheck = cutover_engine::sync::recheck::last(store).await?;
        let verify = cutover_engine::sync::reconcile::last(store).await?;
        Ok::<_, cutover_engine::EngineError>(json!({
            "directions": directions,
            "recheck": recheck,
            "scheduled_verify": verify,
        }))
    };
    match loaded.await {
        Ok(status) => Json(status).into_response(),
        Err(e) => unavailable("reading the bridge's status", &e),
    }
}

/// `after` and `limit` of a listing (and, for dead letters, `kind` and `side`).
#[derive(Debug, Deserialize)]
struct Page {
    after: Option<i64>,
    limit: Option<u32>,
    kind: Option<String>,
    side: Option<String>,
}

/// The most items a page holds, and how many when `limit` is left out.
const MAX_PAGE: u32 = 1000;
const DEFAULT_PAGE: u32 = 100;

impl Page {
    fn limit(&self) -> u32 {
        self.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE)
    }
}

/// One conflict as JSON (as `cutover conflicts show --json` prints it); the values as JSON
/// when they read as JSON.
pub fn conflict_json(c: &Conflict) -> Value {
    let f = &c.conflict;
    let value = |text: &str| {
        serde_json::from_str::<Value>(text).unwrap_or_else(|_| Value::String(text.to_owned()))
    };
    json!({
        "id": c.id.0,
        "kind": f.kind,
        "old_id": f.old_id,
        "new_id": f.new_id,
        "field": f.field,
        "old_value": value(&f.old_value),
        "new_value": value(&f.new_value),
        "rule": f.rule,
        "winner": f.winner,
        "at": f.at,
    })
}

/// One dead letter as JSON; with its record when `whole`.
pub fn dead_letter_json(letter: &DeadLetter, whole: bool) -> Value {
    let mut line = json!({
        "id": letter.id.0,
        "kind": letter.kind,
        "side": letter.side,
        "source_id": letter.source_id,
        "reason": letter.reason,
        "attempts": letter.attempts,
        "first_seen": letter.first_seen,
        "last_seen": letter.last_seen,
        "retried_at": letter.retried_at,
    });
    if whole && let Value::Object(fields) = &mut line {
        fields.insert("record".to_owned(), letter.record.clone());
    }
    line
}

/// An id from the path, or (`None`) a JSON 400 from [`bad_id`].
fn path_id(text: &str) -> Option<i64> {
    text.parse().ok()
}

fn bad_id() -> Response {
    error(StatusCode::BAD_REQUEST, "the id is not a number")
}

async fn conflicts(State(state): State<AppState>, Query(page): Query<Page>) -> Response {
    let limit = page.limit();
    match state
        .api
        .store
        .conflicts(page.after.map(ConflictId), limit)
        .await
    {
        Ok(found) => {
            let next = (found.len() == limit as usize)
                .then(|| found.last().map(|c| c.id.0))
                .flatten();
            let items: Vec<Value> = found.iter().map(conflict_json).collect();
            Json(json!({ "conflicts": items, "next_after": next })).into_response()
        }
        Err(e) => unavailable("listing the conflicts", &e),
    }
}

async fn conflict(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let Some(id) = path_id(&id) else {
        return bad_id();
    };
    match state.api.store.conflict(ConflictId(id)).await {
        Ok(Some(found)) => Json(conflict_json(&found)).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, &format!("there is no conflict {id}")),
        Err(e) => unavailable("reading a conflict", &e),
    }
}

async fn dead_letters(State(state): State<AppState>, Query(page): Query<Page>) -> Response {
    let kind = match page
        .kind
        .as_deref()
        .map(str::parse::<RecordKind>)
        .transpose()
    {
        Ok(kind) => kind,
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("kind: {e}")),
    };
    let side = match page.side.as_deref().map(str::parse::<Side>).transpose() {
        Ok(side) => side,
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("side: {e}")),
    };
    let limit = page.limit();
    let filter = DeadLetterFilter {
        kind,
        side,
        after: page.after.map(DeadLetterId),
        limit,
        ..DeadLetterFilter::default()
    };
    match state.api.store.dead_letters(&filter).await {
        Ok(found) => {
            let next = (found.len() == limit as usize)
                .then(|| found.last().map(|l| l.id.0))
                .flatten();
            let items: Vec<Value> = found.iter().map(|l| dead_letter_json(l, false)).collect();
            Json(json!({ "dead_letters": items, "next_after": next })).into_response()
        }
        Err(e) => unavailable("listing the dead letters", &e),
    }
}

async fn dead_letter(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let Some(id) = path_id(&id) else {
        return bad_id();
    };
    match state.api.store.dead_letter(DeadLetterId(id)).await {
        Ok(Some(found)) => Json(dead_letter_json(&found, true)).into_response(),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            &format!("there is no dead letter {id}"),
        ),
        Err(e) => unavailable("reading a dead letter", &e),
    }
}

async fn tokens(State(state): State<AppState>) -> Response {
    match state.api.store.api_tokens().await {
        Ok(all) => {
            let items: Vec<Value> = all.iter().map(token_json).collect();
            Json(json!({ "tokens": items })).into_response()
        }
        Err(e) => unavailable("listing the API tokens", &e),
    }
}

/// A token as `cutover token list --json` and `GET /api/v1/tokens` show it: never the token
/// or its hash.
pub fn token_json(t: &ApiToken) -> Value {
    json!({
        "name": t.name,
        "role": t.role.as_str(),
        "created_at": t.created_at,
        "last_used_at": t.last_used_at,
        "revoked_at": t.revoked_at,
    })
}

async fn retry(
    State(state): State<AppState>,
    Path(id): Path<String>,
    axum::Extension(caller): axum::Extension<ApiToken>,
) -> Response {
    let Some(id) = path_id(&id) else {
        return bad_id();
    };
    let store = &state.api.store;
    let letter = match store.dead_letter(DeadLetterId(id)).await {
        Ok(Some(letter)) => letter,
        Ok(None) => {
            return error(
                StatusCode::NOT_FOUND,
                &format!("there is no dead letter {id}"),
            );
        }
        Err(e) => return unavailable("reading a dead letter", &e),
    };
    let Some(applier) = state.api.retry.get(&letter.side) else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "this server cannot write to the platforms",
        );
    };
    let (result, outcome) = match applier.retry_dead_letter(&letter).await {
        Ok(Retried::Resolved(outcome)) => ("resolved", Some(format!("{outcome:?}"))),
        Ok(Retried::Failing(outcome)) => ("failing", Some(format!("{outcome:?}"))),
        Ok(Retried::Unreadable) => ("unreadable", None),
        Err(e) => return unavailable("retrying a dead letter", &e),
    };
    let entry = cutover_store::NewAuditEntry::new(
        caller.name.clone(),
        "deadletter.retry",
        json!({ "id": id, "kind": letter.kind, "side": letter.side,
                "source_id": letter.source_id, "result": result, "via": "api" }),
    );
    if let Err(e) = store.append_audit(&entry).await {
        return unavailable("auditing the retry", &e);
    }
    Json(json!({ "id": id, "result": result, "outcome": outcome })).into_response()
}
