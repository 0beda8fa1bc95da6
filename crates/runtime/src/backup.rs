//! A channel switched to its backup, and back: `cutover channel backup` and `restore`, and the
//! alerts' `backup_channel` action, through one path.
//!
//! A `[[channels]]` entry with `backup = "old"` (or `"new"`) may be switched to its backup:
//! from then on every contact on it goes to that side, whatever the waves say (routing's first
//! rule, [`crate::routing::RoutingState::route`]); a voice channel's calls are forwarded to that
//! side's number (`old_number`, `new_number`). Switching back lets the waves decide again.
//! Each change is written with its audit entry (`channel.backup`, `channel.restored`) in one
//! transaction; switching a channel that is on its backup already (or restoring one that is
//! not) changes nothing and writes nothing, so an action run twice is recorded once.

use chrono::{DateTime, Utc};
use cutover_model::Side;
use cutover_plan::plan::Plan;
use cutover_store::{NewAuditEntry, Store};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::RuntimeError;
use crate::routing::RoutingState;

/// What a switch to the backup or back did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupChange {
    /// The channel's name.
    pub channel: String,
    /// The side its contacts go to on its backup.
    pub backup: Side,
    /// Whether it is on its backup now.
    pub on_backup: bool,
    /// Whether anything changed (false: it was there already).
    pub changed: bool,
}

/// The channels of `plan` that have a backup, in plan order.
pub fn with_backup(plan: &Plan) -> Vec<&str> {
    plan.channels
        .iter()
        .filter(|c| c.backup.is_some())
        .map(|c| c.name.as_str())
        .collect()
}

/// Switches `channel` to its backup (`on = true`) or back (`on = false`), by `actor` through
/// `via` (`cli`, `api`, `alert <id>`), as of `now`. Refused for a channel the plan lacks or one
/// without a `backup`.
pub async fn set(
    store: &dyn Store,
    plan: &Plan,
    channel: &str,
    on: bool,
    actor: &str,
    via: &str,
    now: DateTime<Utc>,
) -> Result<BackupChange, RuntimeError> {
    let Some(found) = plan.channels.iter().find(|c| c.name == channel) else {
        let known: Vec<&str> = plan.channels.iter().map(|c| c.name.as_str()).collect();
        return Err(RuntimeError::Refused(format!(
            "no channel {channel:?} in the plan's [[channels]] (known: {})",
            known.join(", ")
        )));
    };
    let Some(backup) = found.backup else {
        return Err(RuntimeError::Refused(format!(
            "channel {channel:?} has no backup: add `backup = \"old\"` (or \"new\") to its \
             [[channels]] entry"
        )));
    };
    let routing = RoutingState::load(store).await?;
    let is_on = routing.backups.contains_key(channel);
    let change = BackupChange {
        channel: channel.to_owned(),
        backup,
        on_backup: on,
        changed: is_on != on,
    };
    if !change.changed {
        return Ok(change);
    }
    let next = routing.with_backup(channel, on.then_some(backup), now);
    let mut tx = store.begin().await?;
    next.save_in(tx.as_mut()).await?;
    tx.append_audit(&NewAuditEntry::new(
        actor,
        if on {
            "channel.backup"
        } else {
            "channel.restored"
        },
        json!({
            "channel": channel,
            "backup": backup,
            "generation": next.generation,
            "via": via,
        }),
    ))
    .await?;
    tx.commit().await?;
    Ok(change)
}
