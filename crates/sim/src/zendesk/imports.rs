//! The ticket import API: original `created_at`, `updated_at`, `solved_at`, comment authors and
//! times are kept; no trigger runs and no notification is sent.

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use serde_json::json;

use super::app::App;
use super::auth::Actor;
use super::errors::ApiError;
use super::json;
use super::model::Role;
use super::routes::{Res, body_json, created};
use super::ticket_input::Mode;
use super::ticket_write::{self, ticket_of};
use super::tickets::bulk_create;

fn admin_only(actor: &Actor) -> Result<(), ApiError> {
    if actor.role == Role::Admin {
        Ok(())
    } else {
        Err(ApiError::forbidden())
    }
}

/// `POST /api/v2/imports/tickets`: 201 with the ticket.
pub(crate) async fn import_one(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    body: Bytes,
) -> Res {
    admin_only(&actor)?;
    let body = body_json(&body)?;
    let obj = ticket_of(&body)?;
    let now = app.now();
    let mut st = app.write();
    let written = ticket_write::create(&mut st, obj, &actor, Mode::Import, now)?;
    let t = st
        .tickets
        .get(&written.ticket_id)
        .ok_or_else(ApiError::not_found)?;
    let out = json!({"ticket": json::ticket(&st, t, &app.base, false)});
    Ok(created(
        &out,
        &format!("{}/api/v2/tickets/{}.json", app.base, written.ticket_id),
    ))
}

/// `POST /api/v2/imports/tickets/create_many`: up to 100, answered with a job status.
pub(crate) async fn import_many(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    body: Bytes,
) -> Res {
    admin_only(&actor)?;
    bulk_create(&app, &actor, &body, Mode::Import, "bulk_import_tickets")
}
