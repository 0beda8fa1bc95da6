//! The route table and the helpers every handler shares (answers, bodies, ids, faults).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::Value;
use tower::Layer;

use super::app::{App, ZendeskService};
use super::errors::ApiError;
use super::{
    auth, comments, config_objects, control, events, imports, incremental, jobs, merge, orgs,
    redactions, search, tickets, users,
};
use crate::faults::{self, RecordShape};
use crate::server::json_body;

/// What handlers return.
pub(crate) type Res = Result<Response, ApiError>;

/// Shapes of records for the malformed-record fault.
pub(crate) const TICKET_SHAPE: RecordShape = RecordShape {
    enum_fields: &["status", "priority", "type"],
    reference_fields: &[
        "requester_id",
        "submitter_id",
        "assignee_id",
        "organization_id",
        "group_id",
    ],
    text_fields: &["subject", "description", "raw_subject"],
};
/// Users.
pub(crate) const USER_SHAPE: RecordShape = RecordShape {
    enum_fields: &["role", "ticket_restriction"],
    reference_fields: &["organization_id", "default_group_id", "custom_role_id"],
    text_fields: &["name", "notes", "details"],
};
/// Anything else.
pub(crate) const GENERIC_SHAPE: RecordShape = RecordShape {
    enum_fields: &["status", "type"],
    reference_fields: &[
        "user_id",
        "group_id",
        "ticket_id",
        "author_id",
        "organization_id",
    ],
    text_fields: &["name", "title", "body", "html_body"],
};

/// A JSON answer (the platforms agree on its encoding and content type).
pub(crate) use crate::server::json_response as reply;

/// 201 with a `Location` header.
pub(crate) fn created(value: &Value, location: &str) -> Response {
    let mut response = reply(StatusCode::CREATED, value);
    if let Ok(v) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

/// 204 with no body.
pub(crate) fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// The request body as JSON (`null` when empty); 400 when it is not JSON.
pub(crate) fn body_json(body: &Bytes) -> Result<Value, ApiError> {
    json_body(body, ApiError::unparsable)
}

/// An id in a path; anything not a number is not found, as on Zendesk.
pub(crate) fn path_id(raw: &str) -> Result<u64, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found())
}

/// Breaks a share of rendered records when the malformed-record fault is on.
pub(crate) fn corrupt(app: &App, records: &mut [Value], shape: &RecordShape) {
    if app.faults.corrupting() {
        app.faults.corrupt_records(records, shape);
    }
}

fn strip_json(mut req: Request) -> Request {
    let uri = req.uri();
    if let Some(path) = uri.path().strip_suffix(".json") {
        let rebuilt = match uri.query() {
            Some(q) => format!("{path}?{q}"),
            None => path.to_owned(),
        };
        if let Ok(new_uri) = rebuilt.parse::<Uri>() {
            *req.uri_mut() = new_uri;
        }
    }
    req
}

/// The whole emulator as a service.
pub(crate) fn service(app: Arc<App>) -> ZendeskService {
    let api = api_routes(Router::new())
        .layer(from_fn_with_state(Arc::clone(&app), auth::authenticate))
        .layer(from_fn_with_state(Arc::clone(&app), auth::rate_limit));
    let public = Router::new()
        .route("/attachments/token/{token}", get(comments::content))
        .route("/attachments/token/{token}/", get(comments::content));
    let router = Router::new()
        .merge(api)
        .merge(public)
        .layer(from_fn_with_state(app.faults.clone(), faults::middleware))
        .merge(control::routes())
        .layer(DefaultBodyLimit::max(64 * 1024 * 1024))
        .with_state(app);
    tower::util::MapRequestLayer::new(strip_json as fn(Request) -> Request).layer(router)
}

fn api_routes(r: Router<Arc<App>>) -> Router<Arc<App>> {
    let r = ticket_routes(r);
    let r = user_routes(r);
    let r = org_routes(r);
    let r = config_objects::routes(r);
    r.route("/api/v2/job_statuses", get(jobs::list))
        .route("/api/v2/job_statuses/{id}", get(jobs::show))
        .route(
            "/api/v2/incremental/tickets/cursor",
            get(incremental::tickets_cursor),
        )
        .route(
            "/api/v2/incremental/tickets",
            get(incremental::tickets_time),
        )
        .route(
            "/api/v2/incremental/users/cursor",
            get(incremental::users_cursor),
        )
        .route("/api/v2/incremental/users", get(incremental::users_time))
        .route(
            "/api/v2/incremental/organizations",
            get(incremental::organizations_time),
        )
        .route(
            "/api/v2/incremental/ticket_events",
            get(incremental::ticket_events),
        )
        .route("/api/v2/search", get(search::search))
        .route("/api/v2/search/count", get(search::count))
        .route("/api/v2/search/export", get(search::export))
        .route(
            "/api/v2/webhooks",
            get(events::list_webhooks).post(events::create_webhook),
        )
        .route("/api/v2/webhooks/test", post(events::test_webhook))
        .route(
            "/api/v2/webhooks/{id}",
            get(events::show_webhook)
                .put(events::update_webhook)
                .patch(events::patch_webhook)
                .delete(events::delete_webhook),
        )
        .route(
            "/api/v2/webhooks/{id}/signing_secret",
            get(events::show_secret).post(events::reset_secret),
        )
        .route(
            "/api/v2/webhooks/{id}/invocations",
            get(events::invocations),
        )
        .route(
            "/api/v2/webhooks/{id}/invocations/{inv}/attempts",
            get(events::attempts),
        )
}

fn ticket_routes(r: Router<Arc<App>>) -> Router<Arc<App>> {
    r.route("/api/v2/tickets", get(tickets::list).post(tickets::create))
        .route("/api/v2/tickets/show_many", get(tickets::show_many))
        .route("/api/v2/tickets/create_many", post(tickets::create_many))
        .route("/api/v2/tickets/update_many", put(tickets::update_many))
        .route(
            "/api/v2/tickets/destroy_many",
            axum::routing::delete(tickets::destroy_many),
        )
        .route("/api/v2/tickets/count", get(tickets::count))
        .route(
            "/api/v2/tickets/{id}",
            get(tickets::show)
                .put(tickets::update)
                .delete(tickets::destroy),
        )
        .route("/api/v2/tickets/{id}/merge", post(merge::merge))
        .route("/api/v2/tickets/{id}/comments", get(comments::list))
        .route("/api/v2/tickets/{id}/audits", get(comments::audits))
        .route(
            "/api/v2/tickets/{id}/comments/{cid}/attachments/{aid}/redact",
            put(comments::redact_attachment),
        )
        .route(
            "/api/v2/tickets/{id}/satisfaction_rating",
            post(comments::rate),
        )
        .route("/api/v2/comment_redactions/{id}", put(redactions::redact))
        .route("/api/v2/ticket_audits", get(comments::all_audits))
        .route("/api/v2/satisfaction_ratings", get(comments::ratings))
        .route("/api/v2/satisfaction_ratings/{id}", get(comments::rating))
        .route("/api/v2/deleted_tickets", get(tickets::deleted_list))
        .route(
            "/api/v2/deleted_tickets/{id}",
            axum::routing::delete(tickets::purge),
        )
        .route(
            "/api/v2/deleted_tickets/{id}/restore",
            put(tickets::restore),
        )
        .route("/api/v2/tags", get(tickets::tags))
        .route("/api/v2/imports/tickets", post(imports::import_one))
        .route(
            "/api/v2/imports/tickets/create_many",
            post(imports::import_many),
        )
        .route("/api/v2/uploads", post(comments::upload))
        .route(
            "/api/v2/uploads/{token}",
            axum::routing::delete(comments::delete_upload),
        )
        .route("/api/v2/attachments/{id}", get(comments::attachment))
}

fn user_routes(r: Router<Arc<App>>) -> Router<Arc<App>> {
    r.route("/api/v2/users", get(users::list).post(users::create))
        .route("/api/v2/users/me", get(users::me))
        .route("/api/v2/users/show_many", get(users::show_many))
        .route(
            "/api/v2/deleted_users/{id}",
            axum::routing::delete(users::purge),
        )
        .route("/api/v2/users/search", get(users::search))
        .route("/api/v2/users/create_many", post(users::create_many))
        .route(
            "/api/v2/users/create_or_update",
            post(users::create_or_update),
        )
        .route(
            "/api/v2/users/create_or_update_many",
            post(users::create_or_update_many),
        )
        .route("/api/v2/users/update_many", put(users::update_many))
        .route(
            "/api/v2/users/destroy_many",
            axum::routing::delete(users::destroy_many),
        )
        .route(
            "/api/v2/users/{id}",
            get(users::show).put(users::update).delete(users::destroy),
        )
        .route(
            "/api/v2/users/{id}/identities",
            get(users::identities).post(users::add_identity),
        )
        .route("/api/v2/users/{id}/identities/{iid}", get(users::identity))
        .route(
            "/api/v2/users/{id}/group_memberships",
            get(orgs::user_memberships),
        )
        .route(
            "/api/v2/users/{id}/tickets/requested",
            get(tickets::requested_by),
        )
}

fn org_routes(r: Router<Arc<App>>) -> Router<Arc<App>> {
    r.route("/api/v2/organizations", get(orgs::list).post(orgs::create))
        .route("/api/v2/organizations/show_many", get(orgs::show_many))
        .route("/api/v2/organizations/search", get(orgs::search))
        .route("/api/v2/organizations/create_many", post(orgs::create_many))
        .route(
            "/api/v2/organizations/create_or_update",
            post(orgs::create_or_update),
        )
        .route("/api/v2/organizations/update_many", put(orgs::update_many))
        .route(
            "/api/v2/organizations/destroy_many",
            axum::routing::delete(orgs::destroy_many),
        )
        .route(
            "/api/v2/organizations/{id}",
            get(orgs::show).put(orgs::update).delete(orgs::destroy),
        )
        .route(
            "/api/v2/groups",
            get(orgs::list_groups).post(orgs::create_group),
        )
        .route(
            "/api/v2/groups/{id}",
            get(orgs::show_group)
                .put(orgs::update_group)
                .delete(orgs::delete_group),
        )
        .route(
            "/api/v2/groups/{id}/memberships",
            get(orgs::group_memberships),
        )
        .route(
            "/api/v2/group_memberships",
            get(orgs::list_memberships).post(orgs::create_membership),
        )
        .route(
            "/api/v2/group_memberships/{id}",
            get(orgs::show_membership).delete(orgs::delete_membership),
        )
}
