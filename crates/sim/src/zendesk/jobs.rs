//! Job statuses of bulk requests. The work is done when the request is answered: the answer
//! shows the job `queued` (as Zendesk's does) and every later read shows it `completed` with
//! its results. Only the last 100 jobs are kept.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::app::App;
use super::errors::ApiError;
use super::json::iso;
use super::model::Job;
use super::routes::{Res, reply};
use super::store::ZendeskState;
use crate::datagen::mix64;

fn job_id(st: &mut ZendeskState) -> String {
    st.token_counter += 1;
    let (a, b) = (
        mix64(st.seed ^ st.token_counter),
        mix64(st.token_counter ^ 0x10B),
    );
    format!("V3-{a:016x}{b:016x}")
}

fn url(base: &str, id: &str) -> String {
    format!("{base}/api/v2/job_statuses/{id}.json")
}

/// Stores a finished job and returns the `queued` answer of its request.
pub(crate) fn submit(
    st: &mut ZendeskState,
    base: &str,
    job_type: &'static str,
    total: usize,
    results: impl Into<Value>,
    now: i64,
) -> Value {
    let id = job_id(st);
    st.jobs.push_back(Job {
        id: id.clone(),
        job_type,
        total,
        results: results.into(),
        completed_at: now,
    });
    while st.jobs.len() > 100 {
        st.jobs.pop_front();
    }
    json!({"job_status": {
        "id": id, "message": null, "progress": null, "results": null,
        "status": "queued", "total": total, "url": url(base, &id),
    }})
}

/// Stores a finished job and answers its request: 200 with the `queued` job status.
pub(crate) fn queued(
    st: &mut ZendeskState,
    base: &str,
    job_type: &'static str,
    total: usize,
    results: Vec<Value>,
    now: i64,
) -> Response {
    reply(
        StatusCode::OK,
        &submit(st, base, job_type, total, results, now),
    )
}

/// One record's result in a bulk deletion's job.
pub(crate) fn deletion(id: u64, ok: bool) -> Value {
    json!({"id": id, "action": "delete", "success": ok, "status": if ok { "Deleted" } else { "Failed" }})
}

fn render(job: &Job, base: &str) -> Value {
    json!({
        "id": job.id, "message": format!("Completed at {}", iso(job.completed_at)),
        "progress": job.total, "results": job.results, "status": "completed", "total": job.total, "url": url(base, &job.id),
    })
}

/// `GET /api/v2/job_statuses`.
pub(crate) async fn list(State(app): State<Arc<App>>) -> Res {
    let st = app.read();
    // The list names each job's type; single reads do not, as in most recordings.
    let jobs: Vec<Value> = st
        .jobs
        .iter()
        .rev()
        .map(|j| {
            let mut v = render(j, &app.base);
            v["job_type"] = json!(j.job_type);
            v
        })
        .collect();
    Ok(reply(
        StatusCode::OK,
        &json!({"job_statuses": jobs, "count": jobs.len(), "next_page": null, "previous_page": null}),
    ))
}

/// `GET /api/v2/job_statuses/{id}`.
pub(crate) async fn show(State(app): State<Arc<App>>, Path(id): Path<String>) -> Res {
    let st = app.read();
    let job = st
        .jobs
        .iter()
        .find(|j| j.id == id)
        .ok_or_else(ApiError::not_found)?;
    Ok(reply(
        StatusCode::OK,
        &json!({"job_status": render(job, &app.base)}),
    ))
}
