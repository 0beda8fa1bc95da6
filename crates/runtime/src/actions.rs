//! The actions alerts start, through an outbox (table `alert_actions`): [`queue`] says what a
//! change of an alert must do, and [`crate::alerts`] writes it in the same transaction as the
//! alert; [`run_pending`] (the leader, at every evaluation and when it starts or takes over)
//! runs each action not done yet and marks it done in the same transaction as its audit entry
//! (`action.<name>`). So a process that dies between the alert and its actions leaves them
//! pending, and the next leader runs them; each is audited once.
//!
//! What an action acts on is fixed when it is queued (the wave running then, the channel), and
//! each is safe to run again: pausing a paused wave, rolling back a wave already on the old side
//! and switching a channel already on its backup change nothing. A page sent just before a
//! crash may be sent again; it is recorded once.

use chrono::{DateTime, Utc};
use cutover_plan::plan::Plan;
use cutover_plan::plan::names::{AlertAction, OnInconclusive};
use cutover_store::{AlertActionRecord, NewAuditEntry, Store};
use serde_json::{Value, json};

use crate::alerts::{AlertState, Change, MONITOR, Rule, page_of};
use crate::error::RuntimeError;
use crate::paging::Pager;
use crate::routing::{RoutingState, WavePhase};

/// How many pending actions one pass runs at most.
const BATCH: u32 = 100;

/// The running wave (switched, not paused), last in plan order.
fn running_wave(plan: &Plan, routing: &RoutingState) -> Option<String> {
    plan.waves
        .iter()
        .rev()
        .find(|w| routing.phase(&w.name) == WavePhase::New)
        .map(|w| w.name.clone())
}

/// The last switched wave (new or paused) in plan order: what a rollback takes back.
fn switched_wave(plan: &Plan, routing: &RoutingState) -> Option<String> {
    plan.waves
        .iter()
        .rev()
        .find(|w| routing.phase(&w.name).is_switched())
        .map(|w| w.name.clone())
}

/// The actions a change of an alert must do, as of `routing` at `now`, in the order they run:
/// - raised, `pause_wave`: pause the running wave; `rollback_wave`: roll the last switched wave
///   back (or, without `[monitor] rollback_without_sign_off`, pause it and wait for a person);
///   `backup_channel`: switch each channel that has a `backup` to it;
/// - inconclusive, for a `pause_wave` or `rollback_wave` rule with `[monitor] on_inconclusive =
///   "pause"`: pause the running wave (cutover never rolls back for want of data);
/// - every change: page the rule's people.
pub fn queue(
    plan: &Plan,
    routing: &RoutingState,
    rule: &Rule,
    change: &Change,
    now: DateTime<Utc>,
) -> Vec<AlertActionRecord> {
    let mut wanted: Vec<(&str, Option<String>)> = Vec::new();
    let holds = matches!(
        rule.then,
        AlertAction::PauseWave | AlertAction::RollbackWave
    );
    match change.state {
        AlertState::Raised => match rule.then {
            AlertAction::PauseWave => wanted.push(("pause_wave", running_wave(plan, routing))),
            AlertAction::RollbackWave if plan.monitor.rollback_without_sign_off => {
                wanted.push(("rollback_wave", switched_wave(plan, routing)));
            }
            AlertAction::RollbackWave => {
                wanted.push(("rollback_wave", running_wave(plan, routing)));
            }
            AlertAction::BackupChannel => {
                let channels = crate::backup::with_backup(plan);
                if channels.is_empty() {
                    wanted.push(("backup_channel", None));
                }
                for channel in channels {
                    wanted.push(("backup_channel", Some(channel.to_owned())));
                }
            }
            AlertAction::Notify => {}
        },
        AlertState::Inconclusive
            if holds && plan.monitor.on_inconclusive == OnInconclusive::Pause =>
        {
            wanted.push(("pause_wave", running_wave(plan, routing)));
        }
        AlertState::Inconclusive | AlertState::Cleared => {}
    }
    wanted.push(("notify", None));
    let details = serde_json::to_value(change).unwrap_or(Value::Null);
    wanted
        .into_iter()
        .enumerate()
        .map(|(i, (action, target))| AlertActionRecord {
            id: format!(
                "{}/{}/{i}:{action}{}",
                change.id,
                change.state.as_str(),
                target
                    .as_deref()
                    .map(|t| format!(":{t}"))
                    .unwrap_or_default()
            ),
            alert: change.id.clone(),
            action: action.to_owned(),
            target,
            details: details.clone(),
            created_at: now,
            done_at: None,
            result: None,
        })
        .collect()
}

/// One action done by [`run_pending`].
#[derive(Debug, Clone, PartialEq)]
pub struct Done {
    /// The alert it belongs to.
    pub alert: String,
    /// The action's name.
    pub action: String,
    /// What it did (also in its audit entry).
    pub result: Value,
}

/// Runs every action the outbox holds that is not done yet, oldest first; each is marked done
/// with its audit entry in one transaction (one another process marked first is left alone).
pub async fn run_pending(
    store: &dyn Store,
    plan: &Plan,
    pager: &Pager,
    rules: &[Rule],
    now: DateTime<Utc>,
) -> Result<Vec<Done>, RuntimeError> {
    let mut done = Vec::new();
    for pending in store.alert_actions(true, BATCH).await? {
        let result = run_one(store, plan, pager, rules, &pending, now).await?;
        let mut tx = store.begin().await?;
        if !tx.finish_alert_action(&pending.id, now, &result).await? {
            continue;
        }
        tx.append_audit(&NewAuditEntry::new(
            MONITOR,
            format!("action.{}", pending.action),
            result.clone(),
        ))
        .await?;
        tx.commit().await?;
        done.push(Done {
            alert: pending.alert,
            action: pending.action,
            result,
        });
    }
    Ok(done)
}

async fn run_one(
    store: &dyn Store,
    plan: &Plan,
    pager: &Pager,
    rules: &[Rule],
    pending: &AlertActionRecord,
    now: DateTime<Utc>,
) -> Result<Value, RuntimeError> {
    let alert = pending.alert.as_str();
    let target = pending.target.as_deref();
    Ok(match pending.action.as_str() {
        "pause_wave" => pause(store, plan, alert, target, now).await?,
        "rollback_wave" => rollback(store, plan, alert, target, now).await?,
        "backup_channel" => backup(store, plan, alert, target, now).await?,
        "notify" => notify(plan, pager, rules, pending).await,
        other => json!({ "alert": alert, "note": format!("unknown action {other:?}: skipped") }),
    })
}

async fn pause(
    store: &dyn Store,
    plan: &Plan,
    alert: &str,
    wave: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Value, RuntimeError> {
    let Some((index, wave)) =
        wave.and_then(|w| plan.waves.iter().position(|x| x.name == w).map(|i| (i, w)))
    else {
        return Ok(json!({ "alert": alert, "wave": wave, "paused": false,
                          "note": "no switched wave was running" }));
    };
    let via = format!("alert {alert}");
    Ok(
        match crate::pause::pause(store, plan, index, MONITOR, &via, now).await {
            Ok(phase) => json!({ "alert": alert, "wave": wave, "paused": true,
                                 "changed": phase.changed }),
            Err(RuntimeError::WrongPhase { phase, .. }) => json!({
                "alert": alert, "wave": wave, "paused": false,
                "note": format!("the wave is {} now: nothing to pause", phase.as_str()),
            }),
            Err(e) => return Err(e),
        },
    )
}

async fn rollback(
    store: &dyn Store,
    plan: &Plan,
    alert: &str,
    wave: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Value, RuntimeError> {
    if !plan.monitor.rollback_without_sign_off {
        // The plan wants a person's sign-off: hold the wave and page; a person rolls back.
        let held = pause(store, plan, alert, wave, now).await?;
        return Ok(json!({
            "alert": alert, "rolled_back": false, "held": held,
            "note": "[monitor] rollback_without_sign_off is false: the wave is paused; \
                     a person decides with `cutover rollback`",
        }));
    }
    let Some(found) = wave.and_then(|w| plan.waves.iter().find(|x| x.name == w)) else {
        return Ok(json!({ "alert": alert, "rolled_back": false,
                          "note": "no switched wave to roll back" }));
    };
    let phase = RoutingState::load(store).await?.phase(&found.name);
    if !phase.is_switched() {
        return Ok(
            json!({ "alert": alert, "wave": found.name, "rolled_back": true,
                          "changed": false,
                          "note": format!("the wave is {} already", phase.as_str()) }),
        );
    }
    Ok(
        match crate::switch::request_rollback(store, found, MONITOR, false).await {
            Ok(switch) => json!({ "alert": alert, "wave": found.name, "rolled_back": true,
                                  "changed": true, "switch": switch.id }),
            Err(e) => json!({ "alert": alert, "wave": found.name, "rolled_back": false,
                              "error": e.to_string() }),
        },
    )
}

async fn backup(
    store: &dyn Store,
    plan: &Plan,
    alert: &str,
    channel: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Value, RuntimeError> {
    let Some(channel) = channel else {
        return Ok(json!({ "alert": alert, "switched": false,
                          "note": "no [[channels]] entry has a backup" }));
    };
    let via = format!("alert {alert}");
    Ok(
        match crate::backup::set(store, plan, channel, true, MONITOR, &via, now).await {
            Ok(change) => json!({ "alert": alert, "channel": channel, "switched": true,
                                  "backup": change.backup, "changed": change.changed }),
            Err(RuntimeError::Refused(why)) => json!({ "alert": alert, "channel": channel,
                                                       "switched": false, "note": why }),
            Err(e) => return Err(e),
        },
    )
}

async fn notify(plan: &Plan, pager: &Pager, rules: &[Rule], pending: &AlertActionRecord) -> Value {
    let change: Change = match serde_json::from_value(pending.details.clone()) {
        Ok(change) => change,
        Err(e) => {
            return json!({ "alert": pending.alert, "sent": false,
                           "note": format!("the queued change does not read: {e}") });
        }
    };
    let Some(rule) = rules.iter().find(|r| r.name == change.rule) else {
        return json!({ "alert": pending.alert, "sent": false,
                       "note": format!("rule {} is no longer in the plan", change.rule) });
    };
    let page = page_of(plan, rule, &change);
    let deliveries = pager.send(&page).await;
    json!({
        "alert": change.id,
        "state": change.state,
        "to": page.to.iter().map(|p| json!({ "id": p.id, "role": p.role })).collect::<Vec<_>>(),
        "configured": pager.is_configured(),
        "deliveries": deliveries,
    })
}
