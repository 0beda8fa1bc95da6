//! The route table and the helpers every handler shares (answers, bodies, ids, pages, faults).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use serde_json::Value;

use super::app::{App, FreshdeskService};
use super::errors::{ApiError, FieldError};
use super::{
    admin, auth, contacts, conversations, email_switches, rule_admin, search, solutions, tickets,
    time_entries,
};
use crate::control;
use crate::faults::{self, RecordShape};
use crate::numbers::NumberSyntax;
use crate::page::QueryMap;
use crate::server::json_body;

/// What handlers return.
pub(crate) type Res = Result<Response, ApiError>;

/// Shapes of tickets for the malformed-record fault.
pub(crate) const TICKET_SHAPE: RecordShape = RecordShape {
    enum_fields: &["status", "priority", "source"],
    reference_fields: &["requester_id", "responder_id", "group_id", "company_id"],
    text_fields: &["subject", "description", "description_text"],
};
/// Contacts, companies and the rest.
pub(crate) const GENERIC_SHAPE: RecordShape = RecordShape {
    enum_fields: &["source", "language"],
    reference_fields: &["company_id", "user_id", "ticket_id", "requester_id"],
    text_fields: &["name", "body", "body_text", "description"],
};

/// A JSON answer (the platforms agree on its encoding and content type).
pub(crate) use crate::server::json_response as reply;

/// 204 with no body.
pub(crate) fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// The request body as JSON (`null` when empty); 400 when it is not JSON.
pub(crate) fn body_json(body: &Bytes) -> Result<Value, ApiError> {
    json_body(body, ApiError::unparsable)
}

/// A JSON object body; 400 when it is anything else.
pub(crate) fn body_object(body: &Bytes) -> Result<serde_json::Map<String, Value>, ApiError> {
    match body_json(body)? {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(serde_json::Map::new()),
        _ => Err(ApiError::unparsable("the body must be a JSON object")),
    }
}

/// Whether a value is missing or not a non-blank string.
pub(crate) fn blank(v: Option<&Value>) -> bool {
    v.and_then(Value::as_str)
        .is_none_or(|s| s.trim().is_empty())
}

/// An id in a path; anything not a number is not found.
pub(crate) fn path_id(raw: &str) -> Result<u64, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found())
}

/// Breaks a share of rendered records when the malformed-record fault is on.
pub(crate) fn corrupt(app: &App, records: &mut [Value], shape: &RecordShape) {
    if app.faults.corrupting() {
        app.faults.corrupt_records(records, shape);
    }
}

/// A list request's page: `page` from 1, `per_page` 1..=100 (default 30).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Paging {
    pub(crate) page: usize,
    pub(crate) per_page: usize,
}

/// Reads `page` and `per_page`; Freshdesk's validation errors for bad values.
pub(crate) fn paging(query: &QueryMap, max_page: Option<usize>) -> Result<Paging, ApiError> {
    let mut errors = Vec::new();
    let per_page = match query.uint("per_page", NumberSyntax::Freshdesk) {
        None => 30,
        Some(n) => match n.map(usize::try_from) {
            Ok(Ok(n)) if (1..=100).contains(&n) => n,
            _ => {
                errors.push(FieldError::new(
                    "per_page",
                    "It should be a Positive Integer less than or equal to 100",
                    "invalid_value",
                ));
                30
            }
        },
    };
    let page = match query.uint("page", NumberSyntax::Freshdesk) {
        None => 1,
        Some(n) => match n.map(usize::try_from) {
            Ok(Ok(n)) if n >= 1 => n,
            _ => {
                errors.push(FieldError::new(
                    "page",
                    "It should be a Positive Integer",
                    "invalid_value",
                ));
                1
            }
        },
    };
    if let Some(max) = max_page
        && page > max
    {
        errors.push(FieldError::new(
            "page",
            format!("It should be a Positive Integer less than or equal to {max}"),
            "invalid_value",
        ));
    }
    if errors.is_empty() {
        Ok(Paging { page, per_page })
    } else {
        Err(ApiError::invalid(errors))
    }
}

impl Paging {
    /// This page's part of `items` and whether more follow.
    pub(crate) fn window<T>(self, items: Vec<T>) -> (Vec<T>, bool) {
        let total = items.len();
        let start = (self.page - 1).saturating_mul(self.per_page);
        let page: Vec<T> = items.into_iter().skip(start).take(self.per_page).collect();
        (page, start.saturating_add(self.per_page) < total)
    }
}

/// One page of `items` as a bare JSON array, with `Link: <…>; rel="next"` when more follow.
pub(crate) fn page_reply(
    app: &App,
    path: &str,
    query: &QueryMap,
    paging: Paging,
    items: Vec<Value>,
) -> Response {
    let (page, has_next) = paging.window(items);
    page_answer(app, path, query, paging, page, has_next)
}

/// An already cut page as a bare JSON array, with the `Link` header when `has_next`.
pub(crate) fn page_answer(
    app: &App,
    path: &str,
    query: &QueryMap,
    paging: Paging,
    page: Vec<Value>,
    has_next: bool,
) -> Response {
    let mut response = reply(StatusCode::OK, &Value::Array(page));
    if has_next {
        let next = query.rebuilt(
            &["page", "per_page"],
            &[
                ("page", (paging.page + 1).to_string()),
                ("per_page", paging.per_page.to_string()),
            ],
        );
        let link = format!("<{}{path}?{next}>; rel=\"next\"", app.base);
        if let Ok(v) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, v);
        }
    }
    response
}

/// The whole emulator as a service.
pub(crate) fn service(app: Arc<App>) -> FreshdeskService {
    let api = api_routes(Router::new())
        .layer(from_fn_with_state(Arc::clone(&app), auth::authenticate))
        .layer(from_fn_with_state(Arc::clone(&app), auth::rate_limit));
    let files = Router::new().route(
        "/data/helpdesk/attachments/production/{id}/original/{name}",
        get(conversations::download),
    );
    Router::new()
        .merge(api)
        .merge(files)
        .layer(from_fn_with_state(app.faults.clone(), faults::middleware))
        .merge(control::routes::<App>())
        .route(
            "/_sim/email_notifications",
            get(email_switches::show).put(email_switches::set),
        )
        .layer(DefaultBodyLimit::max(64 * 1024 * 1024))
        .with_state(app)
}

fn api_routes(r: Router<Arc<App>>) -> Router<Arc<App>> {
    let r = ticket_routes(r);
    let r = contacts::routes(r);
    let r = admin::routes(r);
    let r = rule_admin::routes(r);
    let r = time_entries::routes(r);
    let r = solutions::routes(r);
    r.route("/api/v2/search/tickets", get(search::tickets))
        .route("/api/v2/search/contacts", get(search::contacts))
        .route("/api/v2/search/companies", get(search::companies))
}

fn ticket_routes(r: Router<Arc<App>>) -> Router<Arc<App>> {
    r.route("/api/v2/tickets", get(tickets::list).post(tickets::create))
        .route(
            "/api/v2/tickets/outbound_email",
            post(tickets::outbound_email),
        )
        .route("/api/v2/tickets/bulk_update", post(tickets::bulk_update))
        .route("/api/v2/tickets/bulk_delete", post(tickets::bulk_delete))
        .route("/api/v2/tickets/merge", put(tickets::merge))
        .route(
            "/api/v2/tickets/{id}",
            get(tickets::show)
                .put(tickets::update)
                .delete(tickets::destroy),
        )
        .route("/api/v2/tickets/{id}/restore", put(tickets::restore))
        .route(
            "/api/v2/tickets/{id}/conversations",
            get(conversations::list),
        )
        .route("/api/v2/tickets/{id}/reply", post(conversations::reply_to))
        .route("/api/v2/tickets/{id}/notes", post(conversations::note))
        .route(
            "/api/v2/conversations/{id}",
            put(conversations::edit).delete(conversations::remove),
        )
        .route(
            "/api/v2/attachments/{id}",
            delete(conversations::delete_attachment),
        )
        .route(
            "/api/v2/tickets/{id}/satisfaction_ratings",
            get(admin::ticket_ratings).post(admin::rate),
        )
        .route("/api/v2/surveys/satisfaction_ratings", get(admin::ratings))
        .route("/api/v2/jobs/{id}", get(tickets::job))
}
