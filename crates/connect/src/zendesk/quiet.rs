//! Keeping the bridge's own writes from e-mailing customers on Zendesk.
//!
//! On Zendesk, the e-mails a customer gets are the account's triggers' doing: "Notify requester
//! and CCs of comment update" and the like fire on any change that meets their conditions, the
//! bridge's API writes included. A reply an agent wrote on the other platform was e-mailed there
//! already; bridged here, it must not be e-mailed again. So `cutover sync setup` adds the
//! condition `current_user is_not <the token's owner>` (under `all`) to each active trigger that
//! e-mails the requester or the CCs: it keeps firing for everyone else's changes and stays
//! silent for the bridge's. `cutover sync teardown` removes exactly that condition and nothing
//! else, so the triggers are as they were. Both are idempotent.
//!
//! The bridge writes a public reply public only while that holds: [`QuietState`] keeps what the
//! triggers were last read to be (at `cutover serve`'s start, and again before a public reply
//! once the last reading is older than [`super::ZendeskConfig::quiet_recheck`]). A trigger that
//! e-mails customers without the condition (added after `sync setup`, or `sync setup` never run)
//! turns the bridge back to private notes with a header line saying they were public replies,
//! said once in the log (and by `cutover sync status`) with the trigger's name.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Map, Value, json};

use super::ZendeskConnector;
use crate::error::ConnectError;
use crate::http::Request;
use crate::webhook::{Hook, HookChanges, QuietCheck};

/// The recipients of a `notification_user` action that reach the customer.
const CUSTOMER_RECIPIENTS: &[&str] = &["requester_id", "requester_and_ccs", "ccs"];

/// The condition that keeps a trigger from firing for the bridge's own writes.
pub(super) fn quieting(owner: &str) -> Value {
    json!({"field": "current_user", "operator": "is_not", "value": owner})
}

/// Whether `c` is that condition (the value as a string or a number).
fn is_quieting(c: &Value, owner: &str) -> bool {
    let value = match c.get("value") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return false,
    };
    c.get("field").and_then(Value::as_str) == Some("current_user")
        && c.get("operator").and_then(Value::as_str) == Some("is_not")
        && value == owner
}

/// Whether a trigger e-mails the requester or the CCs.
fn emails_the_customer(trigger: &Value) -> bool {
    trigger
        .get("actions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|a| {
            a.get("field").and_then(Value::as_str) == Some("notification_user")
                && a.get("value")
                    .and_then(Value::as_array)
                    .and_then(|v| v.first())
                    .and_then(Value::as_str)
                    .is_some_and(|r| CUSTOMER_RECIPIENTS.contains(&r))
        })
}

fn conditions_of(trigger: &Value, key: &str) -> Vec<Value> {
    trigger
        .get("conditions")
        .and_then(|c| c.get(key))
        .or_else(|| trigger.get(key))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn hook_of(trigger: &Map<String, Value>, id: String) -> Hook {
    Hook {
        what: "trigger".to_owned(),
        id,
        name: trigger
            .get("title")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
    }
}

/// What the triggers were last read to be.
#[derive(Debug, Default)]
pub(super) struct QuietState {
    inner: Mutex<Reading>,
}

#[derive(Debug, Default)]
struct Reading {
    /// When they were read; `None`: not yet, or to be read again before the next public reply.
    at: Option<Instant>,
    /// Whether no trigger e-mails customers for the bridge's writes.
    quiet: bool,
    /// The loud triggers last said in the log, so a state is said once, not on every reading.
    said: Option<Vec<Hook>>,
}

impl QuietState {
    fn lock(&self) -> std::sync::MutexGuard<'_, Reading> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether the last reading found the bridge's writes quiet.
    pub(super) fn is_quiet(&self) -> bool {
        self.lock().quiet
    }

    /// Whether the triggers are to be read (again) before a public reply is written.
    fn stale(&self, every: Duration) -> bool {
        self.lock().at.is_none_or(|at| at.elapsed() >= every)
    }

    /// Reads the triggers again before the next public reply (after `sync setup` changed them).
    pub(super) fn forget(&self) {
        self.lock().at = None;
    }

    /// Keeps a reading; answers whether it differs from the one last said.
    fn keep(&self, check: &QuietCheck) -> bool {
        let mut reading = self.lock();
        reading.at = Some(Instant::now());
        reading.quiet = check.is_quiet();
        if reading.said.as_ref() == Some(&check.loud) {
            return false;
        }
        reading.said = Some(check.loud.clone());
        true
    }

    /// A reading that failed: private notes until one succeeds.
    fn failed(&self) {
        let mut reading = self.lock();
        reading.at = Some(Instant::now());
        reading.quiet = false;
        reading.said = None;
    }
}

impl ZendeskConnector {
    /// The id of the user the token belongs to: who makes the bridge's writes.
    pub(super) async fn token_owner(&self, op: &str) -> Result<String, ConnectError> {
        let (body, _) = self.api.get(op, &Request::get("users/me.json")).await?;
        body.get("user")
            .and_then(|u| u.get("id"))
            .and_then(id_text)
            .ok_or_else(|| ConnectError::Malformed {
                op: op.to_owned(),
                detail: "no user.id in users/me".to_owned(),
            })
    }

    async fn put_conditions(
        &self,
        op: &str,
        id: &str,
        all: Vec<Value>,
        any: Vec<Value>,
    ) -> Result<(), ConnectError> {
        let put = Request::new(Method::PUT, format!("triggers/{id}.json"))
            .json(json!({"trigger": {"conditions": {"all": all, "any": any}}}));
        self.api.http.send(op, &put).await.map(|_| ())
    }

    /// Adds the quieting condition to each active trigger (not cutover's own) that e-mails the
    /// customer and lacks it; lists them in `changes.quieted`.
    pub(crate) async fn quiet_triggers(
        &self,
        op: &str,
        prefix: &str,
        changes: &mut HookChanges,
    ) -> Result<(), ConnectError> {
        let owner = self.token_owner(op).await?;
        for trigger in self.all_triggers(op).await? {
            let Some(obj) = trigger.as_object() else {
                continue;
            };
            let title = obj.get("title").and_then(Value::as_str).unwrap_or_default();
            let active = obj.get("active").and_then(Value::as_bool) != Some(false);
            if !active || title.starts_with(prefix) || !emails_the_customer(&trigger) {
                continue;
            }
            let mut all = conditions_of(&trigger, "all");
            if all.iter().any(|c| is_quieting(c, &owner)) {
                continue;
            }
            let Some(id) = obj.get("id").and_then(id_text) else {
                continue;
            };
            all.push(quieting(&owner));
            self.put_conditions(op, &id, all, conditions_of(&trigger, "any"))
                .await?;
            changes.quieted.push(hook_of(obj, id));
        }
        Ok(())
    }

    /// Reads the triggers: the active ones (not cutover's own) that e-mail the customer without
    /// the quieting condition. Keeps the answer for the public replies written next, and logs
    /// it when it changed.
    pub(crate) async fn read_quiet(&self) -> Result<QuietCheck, ConnectError> {
        let op = format!(
            "check that zendesk's triggers are quiet for the bridge ({} side)",
            self.side
        );
        let result = self.loud_triggers(&op).await;
        let check = match result {
            Ok(loud) => QuietCheck { loud },
            Err(e) => {
                self.quiet.failed();
                tracing::warn!(side = %self.side, error = %e, "Could not read zendesk's triggers: bridged public replies are written as private notes until they can be read");
                return Err(e);
            }
        };
        if self.quiet.keep(&check) {
            let line = check.describe(cutover_model::PlatformKind::Zendesk, self.side);
            if check.is_quiet() {
                tracing::info!("{line}");
            } else {
                tracing::warn!("{line}");
            }
        }
        Ok(check)
    }

    /// Reads the triggers again when the last reading is older than the re-check interval;
    /// answers whether a public reply may be written public.
    pub(super) async fn quiet_now(&self) -> bool {
        if self.quiet.stale(self.quiet_recheck) {
            // A failed reading is logged and means private notes: the write goes on.
            let _ = self.read_quiet().await;
        }
        self.quiet.is_quiet()
    }

    async fn loud_triggers(&self, op: &str) -> Result<Vec<Hook>, ConnectError> {
        let owner = self.token_owner(op).await?;
        let prefix = self.prefix();
        let mut loud = Vec::new();
        for trigger in self.all_triggers(op).await? {
            let Some(obj) = trigger.as_object() else {
                continue;
            };
            let title = obj.get("title").and_then(Value::as_str).unwrap_or_default();
            let active = obj.get("active").and_then(Value::as_bool) != Some(false);
            if !active || title.starts_with(&prefix) || !emails_the_customer(&trigger) {
                continue;
            }
            if conditions_of(&trigger, "all")
                .iter()
                .any(|c| is_quieting(c, &owner))
            {
                continue;
            }
            let id = obj.get("id").and_then(id_text).unwrap_or_default();
            loud.push(hook_of(obj, id));
        }
        Ok(loud)
    }

    /// Removes the quieting condition from every trigger that has it (and nothing else), not
    /// cutover's own (named with `prefix`: teardown removes them whole); lists them in
    /// `changes.unquieted`.
    pub(crate) async fn unquiet_triggers(
        &self,
        op: &str,
        prefix: &str,
        changes: &mut HookChanges,
    ) -> Result<(), ConnectError> {
        let owner = self.token_owner(op).await?;
        for trigger in self.all_triggers(op).await? {
            let Some(obj) = trigger.as_object() else {
                continue;
            };
            let title = obj.get("title").and_then(Value::as_str).unwrap_or_default();
            if title.starts_with(prefix) {
                continue;
            }
            let all = conditions_of(&trigger, "all");
            let kept: Vec<Value> = all
                .iter()
                .filter(|c| !is_quieting(c, &owner))
                .cloned()
                .collect();
            if kept.len() == all.len() {
                continue;
            }
            let Some(id) = obj.get("id").and_then(id_text) else {
                continue;
            };
            self.put_conditions(op, &id, kept, conditions_of(&trigger, "any"))
                .await?;
            changes.unquieted.push(hook_of(obj, id));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reading_is_said_once_and_a_failed_one_means_private_notes() {
        let state = QuietState::default();
        assert!(!state.is_quiet() && state.stale(Duration::from_secs(60)));
        let loud = QuietCheck {
            loud: vec![Hook {
                what: "trigger".into(),
                id: "7".into(),
                name: "Copy the CCs".into(),
            }],
        };
        assert!(state.keep(&loud), "the first reading is said");
        assert!(!state.keep(&loud), "the same again is not");
        assert!(!state.is_quiet() && !state.stale(Duration::from_secs(60)));
        assert!(state.keep(&QuietCheck::default()), "a change is said");
        assert!(state.is_quiet());
        state.forget();
        assert!(state.stale(Duration::from_secs(60)) && state.is_quiet());
        state.failed();
        assert!(!state.is_quiet());
        assert!(
            state.keep(&QuietCheck::default()),
            "said again after a failure"
        );
    }

    #[test]
    fn only_triggers_that_email_the_customer_are_quieted_and_the_condition_is_recognised() {
        let to_requester = json!({"actions": [{"field": "notification_user", "value": ["requester_and_ccs", "s", "b"]}]});
        let to_assignee = json!({"actions": [{"field": "notification_user", "value": ["assignee_id", "s", "b"]}]});
        let webhook = json!({"actions": [{"field": "notification_webhook", "value": ["1", "{}"]}]});
        assert!(emails_the_customer(&to_requester));
        assert!(!emails_the_customer(&to_assignee) && !emails_the_customer(&webhook));
        assert!(is_quieting(&quieting("42"), "42"));
        assert!(is_quieting(
            &json!({"field": "current_user", "operator": "is_not", "value": 42}),
            "42"
        ));
        assert!(!is_quieting(&quieting("42"), "43"));
        assert!(!is_quieting(
            &json!({"field": "current_user", "operator": "is", "value": "42"}),
            "42"
        ));
    }
}
