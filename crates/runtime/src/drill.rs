//! The record a rollback drill leaves for the gates: `cutover drill` writes it, the
//! `rollback_drill` gate reads it. It counts only for the plan it was made with: the plan file's
//! digest ([`plan_digest`]) is kept with it.

use chrono::{DateTime, Utc};
use cutover_store::{Store, StoreTx};
use serde::{Deserialize, Serialize};

use crate::error::RuntimeError;

/// The run-state key of the last drill.
pub const DRILL_KEY: &str = "drill";

/// What the last rollback drill did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrillRecord {
    /// The digest of the plan file it ran with ([`plan_digest`]).
    pub plan_digest: String,
    /// When it finished.
    pub at: DateTime<Utc>,
    /// Whether every check of the drill held.
    pub passed: bool,
    /// How long routing took to flip back, in milliseconds.
    pub routing_flip_ms: u64,
    /// How long the reverse bridge took to drain, in milliseconds.
    pub drain_ms: u64,
    /// What failed, in words (empty when it passed).
    pub problems: Vec<String>,
}

impl DrillRecord {
    /// The last drill, if any.
    pub async fn load(store: &dyn Store) -> Result<Option<Self>, RuntimeError> {
        match store.run_state(DRILL_KEY).await? {
            None => Ok(None),
            Some(value) => serde_json::from_value(value)
                .map(Some)
                .map_err(|e| RuntimeError::BadRoutingState(format!("drill record: {e}"))),
        }
    }

    /// Writes this record in `tx` (with the audit entry of the drill).
    pub async fn save_in(&self, tx: &mut dyn StoreTx) -> Result<(), RuntimeError> {
        let value = serde_json::to_value(self)
            .map_err(|e| RuntimeError::BadRoutingState(format!("drill record: {e}")))?;
        tx.put_run_state(DRILL_KEY, &value).await?;
        Ok(())
    }
}

/// The digest of a plan file's text (BLAKE3, hexadecimal): what ties a drill, a verification or
/// a sign-off to the plan it was made with. Any edit of the plan changes it.
pub fn plan_digest(plan_text: &str) -> String {
    blake3::hash(plan_text.as_bytes()).to_hex().to_string()
}
