//! Freshdesk's error answers: `{"description":"Validation failed","errors":[{"field","message",
//! "code"}]}` for validation, `{"code","message"}` for authentication and access, an empty body
//! for a missing record.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// A failed request, answered with Freshdesk's status and body.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// JSON body; `None` answers with no body (Freshdesk's 404).
    pub body: Option<Value>,
}

/// One field's validation failure, as listed under `errors`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// The field (`status`, `email`, `requester_id`, …).
    pub field: String,
    /// Human text, Freshdesk's wording where known.
    pub message: String,
    /// Machine code (`invalid_value`, `missing_field`, `invalid_field`, `datatype_mismatch`,
    /// `duplicate_value`).
    pub code: &'static str,
}

impl FieldError {
    /// A failure of `field`.
    pub fn new(field: &str, message: impl Into<String>, code: &'static str) -> Self {
        Self {
            field: field.to_owned(),
            message: message.into(),
            code,
        }
    }

    /// A field the endpoint does not accept (Freshdesk: `invalid_field`).
    pub fn unexpected(field: &str) -> Self {
        Self::new(
            field,
            "Unexpected/invalid field in request",
            "invalid_field",
        )
    }

    /// A value outside a list of allowed ones.
    pub fn not_one_of(field: &str, allowed: &str) -> Self {
        Self::new(
            field,
            format!("It should be one of these values: '{allowed}'"),
            "invalid_value",
        )
    }

    /// A value of the wrong JSON type.
    pub fn mismatch(field: &str, expected: &str, given: &str) -> Self {
        Self::new(
            field,
            format!("Value set is of type {given}.It should be a/an {expected}"),
            "datatype_mismatch",
        )
    }
}

impl ApiError {
    /// Any status and body.
    pub fn new(status: StatusCode, body: Value) -> Self {
        Self {
            status,
            body: Some(body),
        }
    }

    /// 404 with an empty body, as Freshdesk answers for a missing record.
    pub fn not_found() -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            body: None,
        }
    }

    /// 400 `Validation failed` with per-field errors.
    pub fn invalid(errors: Vec<FieldError>) -> Self {
        Self::validation(StatusCode::BAD_REQUEST, errors)
    }

    /// 409 `Validation failed` (a duplicate value).
    pub fn conflict(errors: Vec<FieldError>) -> Self {
        Self::validation(StatusCode::CONFLICT, errors)
    }

    fn validation(status: StatusCode, errors: Vec<FieldError>) -> Self {
        let list: Vec<Value> = errors
            .into_iter()
            .map(|e| json!({"field": e.field, "message": e.message, "code": e.code}))
            .collect();
        Self::new(
            status,
            json!({"description": "Validation failed", "errors": list}),
        )
    }

    /// One field's failure.
    pub fn field(field: &str, message: impl Into<String>, code: &'static str) -> Self {
        Self::invalid(vec![FieldError::new(field, message, code)])
    }

    /// Adds `additional_info` (e.g. the id of the record a duplicate clashes with) to the first
    /// field error.
    pub fn with_info(mut self, info: Value) -> Self {
        if let Some(Value::Object(first)) = self
            .body
            .as_mut()
            .and_then(|b| b.get_mut("errors"))
            .and_then(Value::as_array_mut)
            .and_then(|l| l.first_mut())
        {
            first.insert("additional_info".into(), info);
        }
        self
    }

    /// 401 `invalid_credentials`.
    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            json!({"code": "invalid_credentials", "message": "You have to be logged in to perform this action."}),
        )
    }

    /// 403 `access_denied`: the key's agent lacks the privilege (the Admin tab's, for one).
    pub fn access_denied() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            json!({"code": "access_denied", "message": "You are not authorized to perform this action."}),
        )
    }

    /// 400 for a body that is not JSON.
    pub fn unparsable(detail: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            json!({"description": "Validation failed", "errors": [{"code": "invalid_json", "message": format!("Request body has invalid json format: {detail}")}]}),
        )
    }

    /// 415 for a body of another media type.
    pub fn unsupported_media() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            json!({"code": "invalid_content_type", "message": "Content-Type header should have application/json or multipart/form-data"}),
        )
    }

    /// 429 with Freshdesk's wording.
    pub fn rate_limited() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            json!({"code": "rate_limit_exceeded", "message": "You have exceeded the limit of requests per minute. Please try again after some time."}),
        )
    }

    /// 5xx for the fault injector.
    pub fn unavailable(status: StatusCode) -> Self {
        Self::new(
            status,
            json!({"code": "service_unavailable", "message": "The server is temporarily unable to service your request. Please try again later."}),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let Some(body) = self.body else {
            return self.status.into_response();
        };
        let mut response = (self.status, body.to_string()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        response
    }
}
