//! Errors of the connectors, classified so the engine knows whether to retry, dead-letter or stop.
//!
//! Messages are lowercase fragments that read after "failed to" and name what and where:
//! `read tickets page 3 from zendesk: http 503: …`. Per-record trouble found while *reading*
//! (a record that does not parse) is not an error at all: it travels in [`crate::Page::rejected`].

use std::time::Duration;

use cutover_model::{PlatformKind, RecordKind};
use serde_json::Value;

/// What the caller should do about an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// Try again later: 5xx, timeouts, dropped connections, throttling that outlasted the retries.
    Transient,
    /// The credentials are wrong or lack a permission: stop the run and tell a person.
    Auth,
    /// The platform refuses this request as it stands (validation, not found, conflict, a
    /// capability the platform lacks): dead-letter the record and go on.
    Permanent,
    /// A referenced record has no id on the target yet: the record waits for its parent.
    Waiting,
    /// A conditional write found the record changed since the version cutover last saw
    /// (Zendesk's `safe_update` answered 409; Freshdesk's `updated_at` moved): read it again and
    /// decide by the conflict rules, never overwrite blindly.
    Conflict,
}

/// An error of a connector.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The platform answered with an error status.
    #[error("{op}: http {status}: {message}")]
    Http {
        /// What was being done, e.g. `create ticket cutover:old:ticket:7 on zendesk`.
        op: String,
        /// The HTTP status.
        status: u16,
        /// The platform's own error text (its `error`/`description` or `message`).
        message: String,
        /// How to treat it.
        class: ErrorClass,
    },
    /// The request never got an answer: connection refused or dropped, timeout, TLS.
    #[error("{op}: {detail}")]
    Transport {
        /// What was being done.
        op: String,
        /// What went wrong, without the URL's credentials.
        detail: String,
    },
    /// Retries were used up on transient trouble or throttling.
    #[error("{op}: gave up after {attempts} attempts: {last}")]
    Exhausted {
        /// What was being done.
        op: String,
        /// How many attempts were made.
        attempts: u32,
        /// The last trouble seen.
        last: String,
    },
    /// The platform answered 2xx with a body that is not what its API promises (a whole page, not
    /// one record: single bad records are rejected, not errors).
    #[error("{op}: malformed response: {detail}")]
    Malformed {
        /// What was being done.
        op: String,
        /// What did not fit.
        detail: String,
    },
    /// A reference of the record to write has no target-side id in the outbound's table.
    #[error("{op}: {field} refers to {kinds} {key}, which has no id on the target yet")]
    Unresolved {
        /// What was being done.
        op: String,
        /// The record's field holding the reference.
        field: &'static str,
        /// The kinds the reference may point at, e.g. `contact or agent`.
        kinds: String,
        /// The referenced record's key on the source side.
        key: String,
    },
    /// The platform (or its API) cannot do this at all.
    #[error("{op}: {platform} cannot {what}")]
    Unsupported {
        /// What was being done.
        op: String,
        /// Which platform.
        platform: PlatformKind,
        /// What it cannot do.
        what: String,
    },
    /// A value of the record has no equivalent on the target (e.g. a status with no code).
    #[error("{op}: {kind} field {field}: {detail}")]
    Unmappable {
        /// What was being done.
        op: String,
        /// The record's kind.
        kind: RecordKind,
        /// The field whose value cannot be written.
        field: &'static str,
        /// Why.
        detail: String,
    },
    /// An attachment is larger than the target accepts.
    #[error("{op}: {file_name} is {size} bytes, over {platform}'s cap of {cap} bytes")]
    TooLarge {
        /// What was being done.
        op: String,
        /// The file.
        file_name: String,
        /// Its size in bytes.
        size: u64,
        /// The target's cap in bytes.
        cap: u64,
        /// Which platform.
        platform: PlatformKind,
    },
    /// A conditional write ([`crate::Connector::update_if`]) found the record changed since the
    /// version cutover last saw: nothing was written.
    #[error("{op}: changed on {platform} since {seen} (now {current})")]
    Conflict {
        /// What was being done.
        op: String,
        /// Which platform.
        platform: PlatformKind,
        /// The version cutover last saw (the platform's update time, RFC 3339).
        seen: String,
        /// The version the platform holds now, when it said (`unknown` when it did not).
        current: String,
    },
    /// A webhook delivery was refused: its signature or secret does not check out, it is too
    /// old, or it cannot be read. The intake answers 401 (`unauthenticated`) or 400 and keeps it.
    #[error("accept a webhook delivery from {platform}: {detail}")]
    Delivery {
        /// Which platform it claims to come from.
        platform: PlatformKind,
        /// What is wrong with it (never the secret).
        detail: String,
        /// Whether it failed the check of its origin (signature, secret, age) rather than
        /// being unreadable.
        unauthenticated: bool,
    },
    /// The connector's configuration cannot work (bad base URL, empty credentials).
    #[error("configure {platform} connector: {detail}")]
    Config {
        /// Which platform.
        platform: PlatformKind,
        /// What is wrong.
        detail: String,
    },
}

impl ConnectError {
    /// How the caller should treat this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            ConnectError::Http { class, .. } => *class,
            ConnectError::Transport { .. } | ConnectError::Exhausted { .. } => {
                ErrorClass::Transient
            }
            ConnectError::Malformed { .. } => ErrorClass::Transient,
            ConnectError::Unresolved { .. } => ErrorClass::Waiting,
            ConnectError::Unsupported { .. }
            | ConnectError::Unmappable { .. }
            | ConnectError::TooLarge { .. }
            | ConnectError::Delivery { .. } => ErrorClass::Permanent,
            ConnectError::Config { .. } => ErrorClass::Auth,
            ConnectError::Conflict { .. } => ErrorClass::Conflict,
        }
    }

    /// Whether trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        self.class() == ErrorClass::Transient
    }

    /// The HTTP status, when the platform answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ConnectError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// How an HTTP status is treated: what to retry, what to give up on.
pub fn classify_status(status: u16) -> ErrorClass {
    match status {
        401 | 403 => ErrorClass::Auth,
        408 | 429 | 500..=599 => ErrorClass::Transient,
        _ => ErrorClass::Permanent,
    }
}

/// A `Retry-After` value in seconds (the only form both platforms send), capped at an hour.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let secs: f64 = value.trim().parse().ok()?;
    if !secs.is_finite() || secs < 0.0 {
        return None;
    }
    Some(Duration::from_secs_f64(secs.min(3600.0)))
}

/// The platform's own words about an error, from either platform's error body, kept short.
pub(crate) fn error_message(body: &[u8]) -> String {
    let text = match serde_json::from_slice::<Value>(body) {
        Ok(json) => json_error_message(&json),
        Err(_) => String::from_utf8_lossy(body).trim().to_owned(),
    };
    let text = if text.is_empty() {
        "no error text".to_owned()
    } else {
        text
    };
    let mut short: String = text.chars().take(500).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

fn json_error_message(json: &Value) -> String {
    let mut parts: Vec<String> = Vec::new();
    match json.get("error") {
        Some(Value::String(s)) => parts.push(s.clone()),
        Some(Value::Object(o)) => {
            for key in ["title", "message"] {
                if let Some(Value::String(s)) = o.get(key) {
                    parts.push(s.clone());
                }
            }
        }
        _ => {}
    }
    for key in ["description", "message"] {
        if let Some(Value::String(s)) = json.get(key) {
            parts.push(s.clone());
        }
    }
    // Zendesk: details {field: [{description}]}; Freshdesk: errors [{field, message, code}].
    if let Some(Value::Object(details)) = json.get("details") {
        for (field, problems) in details {
            for problem in problems.as_array().into_iter().flatten() {
                if let Some(text) = problem.get("description").and_then(Value::as_str) {
                    parts.push(format!("{field}: {text}"));
                }
            }
        }
    }
    for error in json
        .get("errors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let field = error.get("field").and_then(Value::as_str).unwrap_or("");
        let message = error.get("message").and_then(Value::as_str).unwrap_or("");
        let code = error.get("code").and_then(Value::as_str).unwrap_or("");
        parts.push(format!("{field}: {message} ({code})"));
    }
    if parts.is_empty() {
        json.to_string()
    } else {
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified() {
        let check = |status, class| assert_eq!(classify_status(status), class, "{status}");
        check(400, ErrorClass::Permanent);
        check(401, ErrorClass::Auth);
        check(403, ErrorClass::Auth);
        check(404, ErrorClass::Permanent);
        check(409, ErrorClass::Permanent);
        check(422, ErrorClass::Permanent);
        check(429, ErrorClass::Transient);
        check(500, ErrorClass::Transient);
        check(503, ErrorClass::Transient);
    }

    #[test]
    fn messages_name_what_and_where() {
        let err = ConnectError::Http {
            op: "read tickets page 3 from zendesk".into(),
            status: 503,
            message: "service unavailable".into(),
            class: ErrorClass::Transient,
        };
        assert_eq!(
            err.to_string(),
            "read tickets page 3 from zendesk: http 503: service unavailable"
        );
        assert!(err.is_transient());
        let err = ConnectError::Unresolved {
            op: "create comment cutover:old:comment:9 on freshdesk".into(),
            field: "author",
            kinds: "contact or agent".into(),
            key: "42".into(),
        };
        assert_eq!(err.class(), ErrorClass::Waiting);
        assert!(
            err.to_string()
                .contains("author refers to contact or agent 42")
        );
    }

    #[test]
    fn retry_after_parses_seconds_only() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after(" 1.5 "),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("99999"), Some(Duration::from_secs(3600)));
    }

    #[test]
    fn error_bodies_of_both_platforms_read_well() {
        let zendesk = br#"{"error":"RecordInvalid","description":"Record validation errors","details":{"email":[{"description":"Email is already being used"}]}}"#;
        assert_eq!(
            error_message(zendesk),
            "RecordInvalid; Record validation errors; email: Email is already being used"
        );
        let freshdesk = br#"{"description":"Validation failed","errors":[{"field":"email","message":"It should be a valid email address","code":"invalid_value"}]}"#;
        assert_eq!(
            error_message(freshdesk),
            "Validation failed; email: It should be a valid email address (invalid_value)"
        );
        assert_eq!(error_message(b"Bad gateway\n"), "Bad gateway");
        assert_eq!(error_message(b""), "no error text");
    }
}
