//! Zendesk's error answers: `{"error": …, "description": …, "details": {field: [{…}]}}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// A failed request, answered with Zendesk's status and body.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// JSON body.
    pub body: Value,
}

/// One field's validation failure, as listed under `details`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// The field (`status`, `requester`, `email`, `base`, …).
    pub field: String,
    /// Human text, prefixed with the field's title as Zendesk does.
    pub description: String,
    /// Machine code (`InvalidValue`, `BlankValue`, …).
    pub error: &'static str,
}

impl FieldError {
    /// A failure of `field`.
    pub fn new(field: &str, description: impl Into<String>, error: &'static str) -> Self {
        Self {
            field: field.to_owned(),
            description: description.into(),
            error,
        }
    }
}

impl ApiError {
    /// Any status and body.
    pub fn new(status: StatusCode, body: Value) -> Self {
        Self { status, body }
    }

    /// 404 `RecordNotFound`.
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            json!({"error": "RecordNotFound", "description": "Not found"}),
        )
    }

    /// 422 `RecordInvalid` with per-field details.
    pub fn invalid(errors: Vec<FieldError>) -> Self {
        let mut details = Map::new();
        for e in errors {
            let entry = details
                .entry(e.field.clone())
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(list) = entry {
                list.push(json!({"description": e.description, "error": e.error}));
            }
        }
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"error": "RecordInvalid", "description": "Record validation errors", "details": details}),
        )
    }

    /// 400 with an error code and description.
    pub fn bad_request(error: &str, description: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            json!({"error": error, "description": description}),
        )
    }

    /// 400 `TooManyValues` for bulk endpoints over their limit.
    pub fn too_many(max: usize) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            json!({
                "error": "TooManyValues",
                "description": format!("Parameter  cannot specify more than {max} values"),
                "max_count": max,
            }),
        )
    }

    /// 400 for a body that is not JSON.
    pub fn unparsable(reason: &str) -> Self {
        Self::bad_request(
            "Unprocessable Entity",
            &format!("Request body is not valid JSON: {reason}"),
        )
    }

    /// 401 as Zendesk words it.
    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            json!({"error": "Couldn't authenticate you"}),
        )
    }

    /// 403 for a user that may not use the API (suspended) or an endpoint above its role.
    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            json!({
                "error": "Forbidden",
                "description": "You do not have access to this page. Please contact the account owner of this help desk for further help.",
            }),
        )
    }

    /// 409 when `safe_update` finds the ticket changed since `updated_stamp`.
    pub fn update_conflict() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            json!({
                "error": "UpdateConflict",
                "description": "Safe Update prevented the update due to outdated ticket data. Please fetch the latest ticket data and try again.",
            }),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.body.to_string()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_groups_details_per_field() {
        let e = ApiError::invalid(vec![
            FieldError::new("status", "Status: foo is not valid", "InvalidValue"),
            FieldError::new("status", "again", "InvalidValue"),
            FieldError::new("priority", "Priority: bar is not valid", "InvalidValue"),
        ]);
        assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e.body["error"], "RecordInvalid");
        assert_eq!(e.body["details"]["status"].as_array().unwrap().len(), 2);
        assert_eq!(e.body["details"]["priority"][0]["error"], "InvalidValue");
    }
}
