//! The last verification's outcome, kept for the `verify_clean` gate: `cutover verify` and the
//! scheduled verify of `cutover serve` both write it (run state [`LAST_VERIFY_KEY`]); the
//! runtime's gates read it.

use chrono::{DateTime, Utc};
use cutover_store::Store;
use serde::{Deserialize, Serialize};

use crate::error::EngineError;
use crate::verify::VerifyReport;

/// The run-state key of the last verification's outcome.
pub const LAST_VERIFY_KEY: &str = "verify/last";

/// What made a verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifiedBy {
    /// `cutover verify`.
    Command,
    /// The scheduled verify of `cutover serve` (`[sync] verify_every`).
    Schedule,
}

/// The outcome of one verification, as the gates read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastVerify {
    /// When it finished.
    pub at: DateTime<Utc>,
    /// Whether both sides held the same records.
    pub clean: bool,
    /// Records compared equal.
    pub matched: u64,
    /// Records missing on the new side.
    pub missing: u64,
    /// Records extra on the new side (duplicates).
    pub extra: u64,
    /// Records that differ.
    pub different: u64,
    /// The digest of the plan file it ran with (`cutover_runtime::plan_digest`).
    pub plan_digest: String,
    /// What ran it.
    pub by: VerifiedBy,
}

impl LastVerify {
    /// The outcome of `report`, made now with the plan of digest `plan_digest`.
    pub fn of(report: &VerifyReport, plan_digest: &str, by: VerifiedBy) -> Self {
        let (missing, extra, different) = report.n_differences();
        LastVerify {
            at: Utc::now(),
            clean: report.is_clean(),
            matched: report.kinds.values().map(|k| k.matched).sum(),
            missing: missing as u64,
            extra: extra as u64,
            different: different as u64,
            plan_digest: plan_digest.to_owned(),
            by,
        }
    }

    /// Keeps this outcome as the last verification's.
    pub async fn save(&self, store: &dyn Store) -> Result<(), EngineError> {
        let value = serde_json::to_value(self).map_err(|e| EngineError::Intent {
            key: LAST_VERIFY_KEY.to_owned(),
            reason: e.to_string(),
        })?;
        store.put_run_state(LAST_VERIFY_KEY, &value).await?;
        Ok(())
    }

    /// The last verification's outcome, if one was kept (and this version can read it).
    pub async fn load(store: &dyn Store) -> Result<Option<Self>, EngineError> {
        Ok(store
            .run_state(LAST_VERIFY_KEY)
            .await?
            .and_then(|value| serde_json::from_value(value).ok()))
    }
}
