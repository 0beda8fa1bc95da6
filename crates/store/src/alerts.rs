//! The continuity monitor's alerts as the store keeps them: one row per episode of one alert
//! rule, opened when the rule is raised (or found inconclusive), closed when it clears. What an
//! alert means and when it changes is the runtime's (`cutover_runtime::alerts`); the store only
//! keeps it, with its evidence as JSON.

use chrono::{DateTime, Utc};
use serde_json::Value;

/// One alert episode.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRecord {
    /// Unique: the rule and when the episode opened (`{rule}@{opened, microseconds}`).
    pub id: String,
    /// The rule it belongs to (`wait_time`, or `alerts[2]` of the plan).
    pub rule: String,
    /// The KPI it watches.
    pub kpi: String,
    /// `raised`, `inconclusive` or `cleared`.
    pub state: String,
    /// What the rule does when raised (`notify`, `pause_wave`, `rollback_wave`).
    pub action: String,
    /// When it opened.
    pub opened_at: DateTime<Utc>,
    /// When it cleared, once it has.
    pub closed_at: Option<DateTime<Utc>>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// The comparison behind its last change, and what was done.
    pub evidence: Value,
}

/// One action an alert's change must do, kept in the outbox `alert_actions` in the same
/// transaction as the alert, until the leader has run it.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertActionRecord {
    /// Unique: the alert, its new state and the action (`{alert}/{state}/{action}`), so the
    /// same change never queues the same action twice.
    pub id: String,
    /// The alert's id.
    pub alert: String,
    /// The action's name (`notify`, `pause_wave`, `rollback_wave`, `backup_channel`).
    pub action: String,
    /// What it acts on, fixed when it was queued: a wave's or a channel's name.
    pub target: Option<String>,
    /// What the runtime needs to run it (the change and its rule), as JSON.
    pub details: Value,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// When it was done, once it has been.
    pub done_at: Option<DateTime<Utc>>,
    /// What it did, once done.
    pub result: Option<Value>,
}
