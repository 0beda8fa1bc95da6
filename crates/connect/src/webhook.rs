//! Webhook deliveries as the bridge's intake receives them: a connector checks that a delivery
//! came from its platform (Zendesk signs each one with HMAC-SHA256 of its timestamp and body;
//! Freshdesk's automation-rule webhooks carry a secret header the plan names) and says which
//! records changed. A delivery is a hint to read those records now: the change feed (polling)
//! stays the truth, so a lost delivery costs lag, never data, and one delivered twice is read
//! twice and applied once.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cutover_model::{PlatformId, RecordKind, Side};
use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use serde_json::Value;
use sha2::Sha256;

/// How far a signed delivery's timestamp may be from now, either way, before it is refused as
/// stale (or replayed): five minutes, as Zendesk's own receivers are told to allow for retries
/// and clock skew.
pub const SIGNATURE_TOLERANCE_SECS: i64 = 300;

/// The header carrying the secret of the deliveries cutover registers where a platform does
/// not sign them (Freshdesk's automation-rule webhooks).
pub const SECRET_HEADER: &str = "X-Cutover-Webhook-Secret";

/// Whether `signature` is `base64(HMAC-SHA256(secret, parts…))`, compared in constant time.
pub(crate) fn hmac_matches(secret: &[u8], parts: &[&[u8]], signature: &str) -> bool {
    let Ok(expected) = STANDARD.decode(signature.trim()) else {
        return false;
    };
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(secret) else {
        return false;
    };
    for part in parts {
        mac.update(part);
    }
    mac.verify_slice(&expected).is_ok()
}

/// Whether two secrets are equal, compared in constant time (lengths aside).
pub(crate) fn secrets_equal(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The name every hook cutover registers starts with, so that teardown finds exactly what
/// setup made (and nothing a person made) on the side it serves.
pub fn hook_prefix(side: Side) -> String {
    format!("cutover bridge ({side} side)")
}

/// The body cutover's own triggers and automation rules send: which record changed and how.
/// Placeholders of the platform (`{{ticket.id}}`) fill `id` when it is delivered.
pub(crate) fn bridge_body(kind: &str, id_placeholder: &str, event: &str) -> String {
    format!(
        "{{\"cutover\": \"bridge\", \"kind\": \"{kind}\", \"id\": \"{id_placeholder}\", \"event\": \"{event}\"}}"
    )
}

/// Reads a body [`bridge_body`] wrote, once the platform filled it: the hint it carries.
/// `None` when the body is not one of cutover's.
pub(crate) fn bridge_hint(body: &Value) -> Option<Result<ChangeHint, String>> {
    if body.get("cutover").and_then(Value::as_str) != Some("bridge") {
        return None;
    }
    let kind = match body.get("kind").and_then(Value::as_str) {
        Some("ticket") => RecordKind::Ticket,
        Some("contact") => RecordKind::Contact,
        Some("organization") => RecordKind::Organization,
        Some(other) => return Some(Err(format!("kind {other:?} is not one cutover registers"))),
        None => return Some(Err("no kind".to_owned())),
    };
    let id = match body.get("id") {
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Some(Err("no id".to_owned())),
    };
    Some(
        PlatformId::parse(id.clone())
            .map(|id| ChangeHint { kind, id })
            .map_err(|e| format!("id {id:?}: {e}")),
    )
}

/// One hook cutover registered on a platform: a webhook, a trigger, an automation rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hook {
    /// What it is on the platform (`webhook`, `trigger`, `automation rule`).
    pub what: String,
    /// Its id there.
    pub id: String,
    /// Its name there (starts with [`hook_prefix`]).
    pub name: String,
}

/// What [`crate::Connector::setup_hooks`] or [`crate::Connector::teardown_hooks`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HookChanges {
    /// Hooks made now.
    pub created: Vec<Hook>,
    /// Hooks found from an earlier setup and brought up to date (endpoint, secret, body).
    pub updated: Vec<Hook>,
    /// Hooks removed.
    pub removed: Vec<Hook>,
    /// The platform's own rules (Zendesk triggers that e-mail customers) given a condition that
    /// keeps them silent for the bridge's writes, so a change bridged in is not e-mailed again.
    pub quieted: Vec<Hook>,
    /// Rules that condition was taken from again (teardown): as they were before setup.
    pub unquieted: Vec<Hook>,
    /// What the hooks do not cover, in plain words (changes left to polling).
    pub notes: Vec<String>,
}

/// Whether a platform keeps the bridge's writes from e-mailing customers
/// ([`crate::Connector::check_quiet`]): Zendesk, when every active trigger that e-mails the
/// requester or the CCs carries the condition `cutover sync setup` adds. Only then are the
/// public replies the bridge carries in written public there.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct QuietCheck {
    /// The active rules that e-mail customers without that condition: each would e-mail a
    /// bridged public reply a second time.
    pub loud: Vec<Hook>,
}

impl QuietCheck {
    /// Whether nothing e-mails customers for the bridge's writes.
    pub fn is_quiet(&self) -> bool {
        self.loud.is_empty()
    }

    /// The check in words, for the log and `cutover sync status`.
    pub fn describe(&self, platform: cutover_model::PlatformKind, side: Side) -> String {
        if self.is_quiet() {
            return format!(
                "{platform} ({side} side): every trigger that e-mails customers is quiet for the bridge's writes; bridged public replies are written public"
            );
        }
        let names: Vec<String> = self
            .loud
            .iter()
            .map(|h| format!("\"{}\" ({} {})", h.name, h.what, h.id))
            .collect();
        format!(
            "{platform} ({side} side): {} e-mail customers for the bridge's writes too: {}; bridged public replies are written as private notes until you run `cutover sync setup`",
            if self.loud.len() == 1 {
                "this trigger would"
            } else {
                "these triggers would"
            },
            names.join(", ")
        )
    }
}

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
