//! Webhook deliveries as the bridge's intake receives them: a connector checks that a delivery
//! came from its platform (Zendesk signs each one with HMAC-SHA256 of its timestamp and body;
//! Freshdesk's automation-rule webhooks carry a secret header the plan names) and says which
//! records changed. A delivery is a hint to read those records now: the change feed (polling)
//! stays the truth, so a lost delivery costs lag, never data, and one delivered twice is read
//! twice and applied once.

use std::fmt;

use cutover_model::{PlatformId, RecordKind};

/// A delivery's headers (names in any case) and raw body, as they arrived.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    /// The request's headers.
    pub headers: &'a [(String, String)],
    /// The request's body, unparsed (a signature covers these exact bytes).
    pub body: &'a [u8],
}

impl Delivery<'_> {
    /// The first header named `name`, ignoring case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What a checked delivery says changed: read this record now.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ChangeHint {
    /// The record's kind (a ticket for a comment or an attachment: they are read with it).
    pub kind: RecordKind,
    /// Its id on the platform that sent the delivery.
    pub id: PlatformId,
}

/// The secret a platform's deliveries are checked with. Never printed: its `Debug` and
/// `Display` show a placeholder.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        WebhookSecret(secret.into())
    }

    /// The secret itself, for signing and comparing only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

impl fmt::Display for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_never_printed() {
        let secret = WebhookSecret::new("s3cr3t-value");
        assert!(!format!("{secret:?} {secret}").contains("s3cr3t"));
        assert_eq!(secret.expose(), "s3cr3t-value");
    }

    #[test]
    fn headers_are_found_whatever_their_case() {
        let headers = vec![("X-Zendesk-Webhook-Signature".to_owned(), "abc".to_owned())];
        let delivery = Delivery {
            headers: &headers,
            body: b"{}",
        };
        assert_eq!(delivery.header("x-zendesk-webhook-signature"), Some("abc"));
        assert_eq!(delivery.header("x-other"), None);
    }
}
