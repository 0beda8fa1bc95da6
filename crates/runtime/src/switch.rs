//! Switching a wave: forward (`cutover wave start`) and back (`cutover rollback`), as a journal
//! in the store that `cutover serve` drives step by step (guarantee 8).
//!
//! One switch runs at a time. Its journal ([`Switch`], run-state key [`SWITCH_KEY`]) is written
//! before and after every step, in the same transaction as the routing change and the audit
//! entry of that step, so a `cutover serve` killed at any point resumes from the journal: a
//! forward switch not yet flipped drains again and flips or aborts by its deadline; once the
//! flip is journalled, the switch finishes.
//!
//! Forward, from [`Step::Requested`]:
//! 1. the forward bridge's lag is checked against the wave's `gates.max_sync_lag` (over it: the
//!    switch is refused before anything is held);
//! 2. [`Step::Holding`]: the wave's routing goes to `holding` (the gateway keeps its contacts)
//!    and the hold's time is recorded as the high-water mark;
//! 3. [`Step::Draining`]: the forward bridge (old to new) is asked to drain up to the high-water
//!    mark; if it has not within the plan's `switch_timeout` (counted from when the old
//!    platform's feed can show the mark), the switch aborts itself: routing back to what it was;
//! 4. [`Step::Flipped`]: routing goes to `new` (which releases what was held) and the journal
//!    records where reverse sync starts (the high-water mark: every change on the new side from
//!    then on is the reverse bridge's);
//! 5. [`Step::Moving`]: agents and rules (see [`Mover`] and [`crate::mover`]): the changes are
//!    journalled first, then made, so a rollback undoes exactly them and a resumed switch makes
//!    none twice;
//! 6. [`Step::Done`].
//!
//! Back, from [`Step::Requested`] (written by `cutover rollback` in one transaction with the
//! routing flip, so routing is back on the old side the moment the command returns from its
//! first write): [`Step::Flipped`], [`Step::Restoring`] (agents and rules put back from the
//! forward switch's journal), [`Step::Draining`] (the reverse bridge, new to old, up to the
//! flip), [`Step::Done`]. A rollback never aborts: routing is already back.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use cutover_engine::sync::status;
use cutover_model::{PlatformKind, Side};
use cutover_plan::plan::model::Wave;
use cutover_store::{NewAuditEntry, Store, StoreTx};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::error::RuntimeError;
use crate::routing::{RoutingState, WavePhase};

/// The run-state key of the journal of the current (or last) switch.
pub const SWITCH_KEY: &str = "switch";

/// The run-state key prefix of the last finished forward switch of each wave
/// (`switch:last:{wave}`): what a rollback restores from.
pub const LAST_FORWARD_PREFIX: &str = "switch:last:";

/// How often the driver in `cutover serve` looks at the journal.
pub const WATCH_EVERY: Duration = Duration::from_millis(100);

/// The actor of the audit entries the driver writes.
const DRIVER: &str = "cutover serve";

/// Which way a switch goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Old to new: `cutover wave start`.
    Forward,
    /// New to old: `cutover rollback`.
    Back,
}

/// Where a switch stands (see the module documentation for the order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Asked for; nothing changed yet (forward), or routing already back (rollback).
    Requested,
    /// The wave's contacts are held.
    Holding,
    /// Waiting for a bridge direction to reach the high-water mark.
    Draining,
    /// Routing is flipped: from here the switch finishes.
    Flipped,
    /// Moving agents and rules (forward).
    Moving,
    /// Putting agents and rules back (rollback).
    Restoring,
    /// Finished.
    Done,
    /// Given up before the flip; routing is as before.
    Aborted,
}

impl Step {
    /// Whether the switch has ended, one way or the other.
    pub fn is_final(self) -> bool {
        matches!(self, Step::Done | Step::Aborted)
    }

    /// The name shown to people.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Requested => "requested",
            Step::Holding => "holding",
            Step::Draining => "draining",
            Step::Flipped => "flipped",
            Step::Moving => "moving",
            Step::Restoring => "restoring",
            Step::Done => "done",
            Step::Aborted => "aborted",
        }
    }
}

/// One line of a switch's history: a step reached, when, and what it did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepEntry {
    /// The step reached.
    pub step: Step,
    /// When.
    pub at: DateTime<Utc>,
    /// What it did, in words.
    pub note: String,
}

/// One change a switch made outside routing, kept so a rollback can undo it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// What was changed: `agent`, `macro`, `automation`, …
    pub what: String,
    /// On which side.
    pub side: Side,
    /// Its id there.
    pub id: String,
    /// The value before the change (to restore).
    pub before: serde_json::Value,
    /// The value after it.
    pub after: serde_json::Value,
}

/// The journal of one switch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Switch {
    /// A unique id (`{wave}-{direction}-{requested, in ms}`).
    pub id: String,
    /// The wave's name.
    pub wave: String,
    /// Which way.
    pub direction: Direction,
    /// Where it stands.
    pub step: Step,
    /// Who asked.
    pub actor: String,
    /// When it was asked for.
    pub requested_at: DateTime<Utc>,
    /// The wave's phase before the switch (what an abort goes back to).
    pub phase_before: WavePhase,
    /// When the drain must be done by (forward: past it the switch aborts).
    pub deadline: Option<DateTime<Utc>>,
    /// The high-water mark: every change made on the side drained up to this time is applied
    /// on the other before the flip (forward: the hold; rollback: the flip).
    pub high_water: Option<DateTime<Utc>>,
    /// Where reverse sync starts: changes on the new side from this time are the reverse
    /// bridge's to carry back.
    pub reverse_from: Option<DateTime<Utc>>,
    /// When routing flipped.
    pub flipped_at: Option<DateTime<Utc>>,
    /// Milliseconds from the request to the routing flip.
    pub flip_ms: Option<u64>,
    /// Milliseconds the drain took.
    pub drain_ms: Option<u64>,
    /// Whether the drain reached the high-water mark (a rollback finishes either way).
    pub drained: Option<bool>,
    /// Rollback: when the forward switch it undoes started (the report lists what the new
    /// side took since).
    pub wave_since: Option<DateTime<Utc>>,
    /// What was changed besides routing, to undo on rollback.
    pub changes: Vec<Change>,
    /// What could not be done, in words (an abort's reason, agents or rules left alone).
    pub problems: Vec<String>,
    /// Every step reached, in order.
    pub history: Vec<StepEntry>,
    /// Skips the gates: only `cutover drill` against its own emulators sets it.
    #[serde(default)]
    pub drill: bool,
    /// Forward: whether the changes of agents and rules are journalled (in `changes`), so the
    /// `moving` step makes exactly those, once found.
    #[serde(default)]
    pub moves_planned: bool,
}

impl Switch {
    /// The journal in the store, if any switch was ever asked for.
    pub async fn load(store: &dyn Store) -> Result<Option<Self>, RuntimeError> {
        load_key(store, SWITCH_KEY).await
    }

    /// The last finished forward switch of `wave`, if any.
    pub async fn last_forward(store: &dyn Store, wave: &str) -> Result<Option<Self>, RuntimeError> {
        load_key(store, &format!("{LAST_FORWARD_PREFIX}{wave}")).await
    }

    /// Writes this journal in `tx`.
    pub async fn save_in(&self, tx: &mut dyn StoreTx) -> Result<(), RuntimeError> {
        let value = serde_json::to_value(self).map_err(|e| bad(format!("switch journal: {e}")))?;
        tx.put_run_state(SWITCH_KEY, &value).await?;
        if self.direction == Direction::Forward && self.step == Step::Done {
            tx.put_run_state(&format!("{LAST_FORWARD_PREFIX}{}", self.wave), &value)
                .await?;
        }
        Ok(())
    }

    /// Moves to `step`, noting what it did.
    fn reach(&mut self, step: Step, note: impl Into<String>) {
        self.step = step;
        self.history.push(StepEntry {
            step,
            at: Utc::now(),
            note: note.into(),
        });
    }

    /// Whether it is still under way.
    pub fn is_active(&self) -> bool {
        !self.step.is_final()
    }
}

async fn load_key(store: &dyn Store, key: &str) -> Result<Option<Switch>, RuntimeError> {
    match store.run_state(key).await? {
        None => Ok(None),
        Some(value) => serde_json::from_value(value)
            .map(Some)
            .map_err(|e| bad(format!("switch journal: {e}"))),
    }
}

fn bad(message: String) -> RuntimeError {
    RuntimeError::BadRoutingState(message)
}

/// Asks for a wave's forward switch: writes the journal's first step and the audit entry of
/// the request in one transaction. Refused while another switch is under way or when the wave
/// is not on the old side. The gates are the caller's to check first.
pub async fn request_start(
    store: &dyn Store,
    wave: &Wave,
    actor: &str,
    drill: bool,
) -> Result<Switch, RuntimeError> {
    let routing = RoutingState::load(store).await?;
    let phase = routing.phase(&wave.name);
    if phase != WavePhase::Old {
        return Err(RuntimeError::Refused(format!(
            "wave {:?} is {} already: only a wave on the old side starts",
            wave.name,
            phase.as_str()
        )));
    }
    refuse_if_busy(store).await?;
    let now = Utc::now();
    let mut switch = new_switch(wave, Direction::Forward, actor, phase, now, drill);
    switch.reach(Step::Requested, "asked for; waiting for `cutover serve`");
    let mut tx = store.begin().await?;
    switch.save_in(tx.as_mut()).await?;
    tx.append_audit(&NewAuditEntry::new(
        actor,
        "wave.start",
        json!({ "wave": wave.name, "switch": switch.id, "drill": drill }),
    ))
    .await?;
    tx.commit().await?;
    Ok(switch)
}

/// Rolls a switched wave back: in one transaction, routing goes back to the old side, the
/// journal's first step is written and the rollback is audited; `cutover serve` does the rest
/// (agents and rules back, the reverse bridge drained). Refused while another switch is under
/// way or when the wave is not switched.
pub async fn request_rollback(
    store: &dyn Store,
    wave: &Wave,
    actor: &str,
    drill: bool,
) -> Result<Switch, RuntimeError> {
    let requested_at = Utc::now();
    let routing = RoutingState::load(store).await?;
    let phase = routing.phase(&wave.name);
    if !phase.is_switched() {
        return Err(RuntimeError::Refused(format!(
            "wave {:?} is {}: only a switched wave (new or paused) rolls back",
            wave.name,
            phase.as_str()
        )));
    }
    refuse_if_busy(store).await?;
    let forward = Switch::last_forward(store, &wave.name).await?;
    let mut switch = new_switch(wave, Direction::Back, actor, phase, requested_at, drill);
    switch.wave_since = forward.as_ref().map(|f| f.requested_at);
    switch.changes = forward.map(|f| f.changes).unwrap_or_default();
    let mut tx = store.begin().await?;
    let flipped_at = Utc::now();
    routing
        .with_phase(&wave.name, WavePhase::Old, flipped_at)
        .save_in(tx.as_mut())
        .await?;
    switch.flipped_at = Some(flipped_at);
    switch.high_water = Some(flipped_at);
    let flip_ms = (flipped_at - requested_at).num_milliseconds().max(0) as u64;
    switch.flip_ms = Some(flip_ms);
    switch.reach(
        Step::Flipped,
        format!("routing back on the old side ({flip_ms} ms after the command)"),
    );
    switch.save_in(tx.as_mut()).await?;
    tx.append_audit(&NewAuditEntry::new(
        actor,
        "rollback",
        json!({ "wave": wave.name, "switch": switch.id, "phase_before": phase.as_str(),
                "routing_flip_ms": flip_ms, "drill": drill }),
    ))
    .await?;
    tx.commit().await?;
    Ok(switch)
}

fn new_switch(
    wave: &Wave,
    direction: Direction,
    actor: &str,
    phase: WavePhase,
    now: DateTime<Utc>,
    drill: bool,
) -> Switch {
    let way = match direction {
        Direction::Forward => "start",
        Direction::Back => "rollback",
    };
    Switch {
        id: format!("{}-{way}-{}", wave.name, now.timestamp_millis()),
        wave: wave.name.clone(),
        direction,
        step: Step::Requested,
        actor: actor.to_owned(),
        requested_at: now,
        phase_before: phase,
        deadline: None,
        high_water: None,
        reverse_from: None,
        flipped_at: None,
        flip_ms: None,
        drain_ms: None,
        drained: None,
        wave_since: None,
        changes: Vec::new(),
        problems: Vec::new(),
        history: Vec::new(),
        drill,
        moves_planned: false,
    }
}

async fn refuse_if_busy(store: &dyn Store) -> Result<(), RuntimeError> {
    if let Some(current) = Switch::load(store).await?
        && current.is_active()
    {
        return Err(RuntimeError::Refused(format!(
            "a switch of wave {:?} ({}) is under way at step {}: one switch at a time; \
             wait for it to end (`cutover wave start` and `cutover rollback` follow it)",
            current.wave,
            match current.direction {
                Direction::Forward => "forward",
                Direction::Back => "rollback",
            },
            current.step.as_str()
        )));
    }
    Ok(())
}

/// What moves agents and rules at a switch. The driver asks it after the flip (forward) for
/// the changes to make ([`Mover::plan_move`]), journals them, then has them made
/// ([`Mover::apply`]); before the reverse drain (rollback) it has them undone
/// ([`Mover::restore`]). Each change sets a state (never toggles one), so applying or undoing
/// it again after a crash changes nothing twice. What it could not do is reported.
/// [`crate::mover::LinkedMover`] is the one `cutover serve` runs.
#[async_trait::async_trait]
pub trait Mover: Send + Sync {
    /// The changes that move the wave's agents and rules to the new side (only those that
    /// differ from what the platforms show now), and what it could not look at.
    async fn plan_move(&self, wave: &Wave) -> (Vec<Change>, Vec<String>);
    /// Makes `changes` (sets each one's `after`); answers what it could not do.
    async fn apply(&self, changes: &[Change]) -> Vec<String>;
    /// Undoes `changes` (a forward switch's: sets each one's `before`); answers what it could
    /// not undo.
    async fn restore(&self, wave: &Wave, changes: &[Change]) -> Vec<String>;
}

/// A [`Mover`] that changes nothing and says so (`cutover drill`, whose emulators hold no
/// agents or rules of the user's).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoMover;

#[async_trait::async_trait]
impl Mover for NoMover {
    async fn plan_move(&self, wave: &Wave) -> (Vec<Change>, Vec<String>) {
        let _ = wave;
        (
            Vec::new(),
            vec!["agents and rules were not moved: this switch runs without a mover".to_owned()],
        )
    }

    async fn apply(&self, _changes: &[Change]) -> Vec<String> {
        Vec::new()
    }

    async fn restore(&self, _wave: &Wave, changes: &[Change]) -> Vec<String> {
        if changes.is_empty() {
            Vec::new()
        } else {
            vec![format!(
                "{} change(s) of agents or rules not restored: this switch runs without a mover",
                changes.len()
            )]
        }
    }
}

/// What the driver needs to know of the plan.
#[derive(Debug, Clone)]
pub struct SwitchConfig {
    /// The plan's waves, in order.
    pub waves: Vec<Wave>,
    /// The plan's `[sync] switch_timeout`.
    pub timeout: Duration,
    /// The old platform (its feed's delay counts toward the forward drain's deadline).
    pub old: PlatformKind,
    /// The new platform (its feed's delay counts toward the reverse drain's deadline).
    pub new: PlatformKind,
}

/// The driver `cutover serve` runs beside the bridge: it follows the journal and runs every
/// step of the switch it finds under way.
pub struct Driver {
    store: Arc<dyn Store>,
    config: SwitchConfig,
    mover: Arc<dyn Mover>,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Driver {
    /// A driver on `store` for the plan's waves.
    pub fn new(store: Arc<dyn Store>, config: SwitchConfig, mover: Arc<dyn Mover>) -> Self {
        Driver {
            store,
            config,
            mover,
        }
    }

    /// Runs until `shutdown`: looks at the journal every [`WATCH_EVERY`] and advances the
    /// switch under way, one step at a time. A step that fails (the store unreachable) is
    /// logged and tried again.
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            let advanced = tokio::select! {
                () = shutdown.cancelled() => return,
                result = self.advance_once() => result,
            };
            match advanced {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "A switch step failed; it is tried again.");
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(WATCH_EVERY) => {}
            }
        }
    }

    /// Runs the next step of the switch under way, if any; answers whether there was one.
    pub async fn advance_once(&self) -> Result<bool, RuntimeError> {
        let Some(switch) = Switch::load(self.store.as_ref()).await? else {
            return Ok(false);
        };
        if !switch.is_active() {
            return Ok(false);
        }
        let wave = self
            .config
            .waves
            .iter()
            .find(|w| w.name == switch.wave)
            .cloned();
        let Some(wave) = wave else {
            let mut switch = switch;
            let reason = format!("the plan has no wave {:?} any more", switch.wave);
            return self.abort(&mut switch, reason).await.map(|()| true);
        };
        match switch.direction {
            Direction::Forward => self.forward(switch, &wave).await?,
            Direction::Back => self.back(switch, &wave).await?,
        }
        Ok(true)
    }

    async fn forward(&self, mut switch: Switch, wave: &Wave) -> Result<(), RuntimeError> {
        let store = self.store.as_ref();
        match switch.step {
            Step::Requested => {
                if let Some(reason) = self.lag_over_limit(wave).await? {
                    return self.abort(&mut switch, reason).await;
                }
                let hold = Utc::now();
                let delay = status::feed_delay(self.config.old);
                let deadline = hold
                    + delay
                    + chrono::Duration::from_std(self.config.timeout)
                        .unwrap_or(chrono::Duration::seconds(30));
                switch.high_water = Some(hold);
                switch.deadline = Some(deadline);
                let routing = RoutingState::load(store).await?;
                let mut tx = store.begin().await?;
                routing
                    .with_phase(&wave.name, WavePhase::Holding, hold)
                    .save_in(tx.as_mut())
                    .await?;
                switch.reach(
                    Step::Holding,
                    format!(
                        "the wave's contacts are held; high-water mark {}",
                        hold.to_rfc3339()
                    ),
                );
                switch.save_in(tx.as_mut()).await?;
                tx.append_audit(&NewAuditEntry::new(
                    DRIVER,
                    "switch.hold",
                    json!({ "wave": wave.name, "switch": switch.id, "high_water": hold,
                            "deadline": deadline }),
                ))
                .await?;
                tx.commit().await?;
                Ok(())
            }
            Step::Holding => {
                let hold = switch.high_water.unwrap_or(switch.requested_at);
                status::request_drain(store, hold)
                    .await
                    .map_err(engine_error)?;
                switch.reach(
                    Step::Draining,
                    format!(
                        "draining the forward bridge (old to new) to the high-water mark, until {}",
                        switch
                            .deadline
                            .map_or_else(|| "?".to_owned(), |d| d.to_rfc3339())
                    ),
                );
                self.save(&switch).await
            }
            Step::Draining => self.drain_then_flip(switch, wave).await,
            Step::Flipped => {
                switch.reach(Step::Moving, "moving the wave's agents and rules");
                self.save(&switch).await
            }
            // First the changes are found and journalled, then made: a driver that dies while
            // making them makes them again (each sets a state, so nothing happens twice), and a
            // rollback undoes exactly what is journalled.
            Step::Moving if !switch.moves_planned => {
                let (changes, problems) = self.mover.plan_move(wave).await;
                switch.changes.extend(changes);
                switch.problems.extend(problems);
                switch.moves_planned = true;
                self.save(&switch).await
            }
            Step::Moving => {
                let problems = self.mover.apply(&switch.changes).await;
                switch.problems.extend(problems);
                let note = format!(
                    "{} change(s) of agents and rules{}",
                    switch.changes.len(),
                    if switch.problems.is_empty() {
                        String::new()
                    } else {
                        format!("; {}", switch.problems.join("; "))
                    }
                );
                let mut tx = store.begin().await?;
                switch.reach(Step::Done, format!("{note}; released"));
                switch.save_in(tx.as_mut()).await?;
                tx.append_audit(&NewAuditEntry::new(
                    DRIVER,
                    "switch.done",
                    json!({ "wave": wave.name, "switch": switch.id, "changes": switch.changes,
                            "problems": switch.problems }),
                ))
                .await?;
                tx.commit().await?;
                Ok(())
            }
            Step::Restoring | Step::Done | Step::Aborted => Ok(()),
        }
    }

    async fn drain_then_flip(&self, mut switch: Switch, wave: &Wave) -> Result<(), RuntimeError> {
        let store = self.store.as_ref();
        let hold = switch.high_water.unwrap_or(switch.requested_at);
        let deadline = switch.deadline.unwrap_or(hold);
        loop {
            let behind = status::behind(store, &[Side::Old], hold)
                .await
                .map_err(engine_error)?;
            if behind.is_empty() {
                break;
            }
            if Utc::now() >= deadline {
                let what: Vec<String> = behind.iter().map(ToString::to_string).collect();
                let reason = format!(
                    "the forward bridge did not drain to the high-water mark by the deadline \
                     (plan [sync] switch_timeout): {}",
                    what.join("; ")
                );
                return self.abort(&mut switch, reason).await;
            }
            tokio::time::sleep(status::DRAIN_WATCH_EVERY).await;
        }
        let flipped_at = Utc::now();
        let drain_ms = (flipped_at - hold).num_milliseconds().max(0) as u64;
        let routing = RoutingState::load(store).await?;
        let mut tx = store.begin().await?;
        routing
            .with_phase(&wave.name, WavePhase::New, flipped_at)
            .save_in(tx.as_mut())
            .await?;
        switch.flipped_at = Some(flipped_at);
        switch.reverse_from = Some(hold);
        switch.drain_ms = Some(drain_ms);
        switch.drained = Some(true);
        switch.flip_ms = Some((flipped_at - switch.requested_at).num_milliseconds().max(0) as u64);
        switch.reach(
            Step::Flipped,
            format!(
                "drained in {drain_ms} ms; routing flipped to the new side; reverse sync starts at {}",
                hold.to_rfc3339()
            ),
        );
        switch.save_in(tx.as_mut()).await?;
        tx.append_audit(&NewAuditEntry::new(
            DRIVER,
            "switch.flip",
            json!({ "wave": wave.name, "switch": switch.id, "drain_ms": drain_ms,
                    "reverse_from": hold }),
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn back(&self, mut switch: Switch, wave: &Wave) -> Result<(), RuntimeError> {
        let store = self.store.as_ref();
        match switch.step {
            // `request_rollback` flips routing itself; a journal at `Requested` is one written
            // by an older command: flip now.
            Step::Requested | Step::Holding => {
                let routing = RoutingState::load(store).await?;
                let at = Utc::now();
                let mut tx = store.begin().await?;
                routing
                    .with_phase(&wave.name, WavePhase::Old, at)
                    .save_in(tx.as_mut())
                    .await?;
                switch.flipped_at = Some(at);
                switch.high_water = Some(at);
                switch.reach(Step::Flipped, "routing back on the old side");
                switch.save_in(tx.as_mut()).await?;
                tx.commit().await?;
                Ok(())
            }
            Step::Flipped => {
                switch.reach(
                    Step::Restoring,
                    format!(
                        "putting back {} change(s) of agents and rules",
                        switch.changes.len()
                    ),
                );
                self.save(&switch).await
            }
            Step::Restoring => {
                let problems = self.mover.restore(wave, &switch.changes).await;
                switch.problems.extend(problems);
                let mark = switch.flipped_at.unwrap_or(switch.requested_at);
                status::request_drain(store, mark)
                    .await
                    .map_err(engine_error)?;
                let deadline = mark
                    + status::feed_delay(self.config.new)
                    + chrono::Duration::from_std(self.config.timeout)
                        .unwrap_or(chrono::Duration::seconds(30));
                switch.deadline = Some(deadline);
                switch.reach(
                    Step::Draining,
                    format!(
                        "draining the reverse bridge (new to old) to the flip, until {}",
                        deadline.to_rfc3339()
                    ),
                );
                self.save(&switch).await
            }
            Step::Draining => {
                let mark = switch.flipped_at.unwrap_or(switch.requested_at);
                let deadline = switch.deadline.unwrap_or(mark);
                let drained = loop {
                    let behind = status::behind(store, &[Side::New], mark)
                        .await
                        .map_err(engine_error)?;
                    if behind.is_empty() {
                        break true;
                    }
                    if Utc::now() >= deadline {
                        let what: Vec<String> = behind.iter().map(ToString::to_string).collect();
                        switch.problems.push(format!(
                            "the reverse bridge had not drained by {}: {}; it goes on carrying \
                             the new side's changes back",
                            deadline.to_rfc3339(),
                            what.join("; ")
                        ));
                        break false;
                    }
                    tokio::time::sleep(status::DRAIN_WATCH_EVERY).await;
                };
                let drain_ms = (Utc::now() - mark).num_milliseconds().max(0) as u64;
                switch.drained = Some(drained);
                switch.drain_ms = Some(drain_ms);
                let mut tx = store.begin().await?;
                switch.reach(
                    Step::Done,
                    if drained {
                        format!("reverse bridge drained in {drain_ms} ms")
                    } else {
                        format!("reverse bridge not drained after {drain_ms} ms")
                    },
                );
                switch.save_in(tx.as_mut()).await?;
                tx.append_audit(&NewAuditEntry::new(
                    DRIVER,
                    "rollback.done",
                    json!({ "wave": wave.name, "switch": switch.id, "drained": drained,
                            "drain_ms": drain_ms, "problems": switch.problems }),
                ))
                .await?;
                tx.commit().await?;
                Ok(())
            }
            Step::Moving | Step::Done | Step::Aborted => Ok(()),
        }
    }

    /// The forward lag over the wave's `max_sync_lag`, in words; `None` when under it or when
    /// the wave sets no limit. The lag is the one `cutover sync status` shows: the 99th
    /// percentile of the time from a change on the old side to its write on the new one, as the
    /// bridge last reported it. A bridge that has not finished a pass yet has no lag to show and
    /// is refused; one that stopped moving is caught by the drain's deadline.
    async fn lag_over_limit(&self, wave: &Wave) -> Result<Option<String>, RuntimeError> {
        let Some(limit) = wave.gates.max_sync_lag else {
            return Ok(None);
        };
        let statuses = status::load(self.store.as_ref())
            .await
            .map_err(engine_error)?;
        let Some(forward) = statuses.into_iter().find(|s| s.from == Side::Old) else {
            return Ok(Some(
                "refused: the forward bridge has no pass yet (is `cutover serve` running it?), \
                 so its lag is unknown"
                    .to_owned(),
            ));
        };
        let lag_s = forward.lag.p99;
        if lag_s > limit.get().as_secs_f64() {
            return Ok(Some(format!(
                "refused: the forward bridge lags {lag_s:.1}s (p99), over the wave's \
                 max_sync_lag of {limit}"
            )));
        }
        Ok(None)
    }

    /// Ends a forward switch before its flip: routing back to the phase before, audited.
    async fn abort(&self, switch: &mut Switch, reason: String) -> Result<(), RuntimeError> {
        let store = self.store.as_ref();
        let routing = RoutingState::load(store).await?;
        let mut tx = store.begin().await?;
        if routing.phase(&switch.wave) != switch.phase_before {
            routing
                .with_phase(&switch.wave, switch.phase_before, Utc::now())
                .save_in(tx.as_mut())
                .await?;
        }
        switch.problems.push(reason.clone());
        switch.reach(
            Step::Aborted,
            format!(
                "aborted: {reason}; routing is {} as before",
                switch.phase_before.as_str()
            ),
        );
        switch.save_in(tx.as_mut()).await?;
        tx.append_audit(&NewAuditEntry::new(
            DRIVER,
            "switch.abort",
            json!({ "wave": switch.wave, "switch": switch.id, "reason": reason }),
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn save(&self, switch: &Switch) -> Result<(), RuntimeError> {
        let mut tx = self.store.begin().await?;
        switch.save_in(tx.as_mut()).await?;
        tx.commit().await?;
        Ok(())
    }
}

fn engine_error(e: cutover_engine::EngineError) -> RuntimeError {
    RuntimeError::Engine(e.to_string())
}

/// One contact the new side took during a wave, as a rollback's report shows it: a ticket
/// opened there (by any means), or a contact the gateway delivered there (then `contact`,
/// `channel`, `customer` and `follow_up` say which).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TakenContact {
    /// The ticket's id on the new side (for a gateway contact, the ticket it became or
    /// followed up on).
    pub new_id: String,
    /// Its copy's id on the old side (its link); empty when the bridge has not linked it.
    pub old_id: String,
    /// Whether the old copy was read back just now.
    pub on_old: bool,
    /// The old copy's subject, as read (or why it could not be read).
    pub old_read: String,
    /// The gateway's contact id, for a contact the gateway delivered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<i64>,
    /// The `[[channels]]` name the contact came in on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Who wrote (an e-mail address, a phone number, a chat user id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    /// Whether the contact followed up on an open ticket (then `on_old` says the ticket it
    /// followed up on is on the old side).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow_up: Option<bool>,
}

/// What reading one old ticket answered: whether it is there, its subject or why not, and
/// whether cutover's mark on it names the new side's ticket `new_id`.
struct OldRead {
    on_old: bool,
    read: String,
    from_new: Option<bool>,
}

async fn read_old(
    old: &dyn cutover_connect::Connector,
    old_id: &cutover_model::PlatformId,
    new_id: &cutover_model::PlatformId,
) -> OldRead {
    use cutover_model::RecordKind;
    match old.read_one(RecordKind::Ticket, old_id).await {
        Ok(page) => match page.items.into_iter().find(|o| &o.id == old_id) {
            Some(observed) => {
                let from_new = observed
                    .origin
                    .as_ref()
                    .is_some_and(|r| r.side == Side::New && &r.id == new_id);
                let subject = match &observed.record {
                    cutover_model::records::Record::Ticket(t) => t.subject.clone(),
                    _ => String::new(),
                };
                OldRead {
                    on_old: true,
                    read: subject,
                    from_new: Some(from_new),
                }
            }
            None => OldRead {
                on_old: false,
                read: "not found".to_owned(),
                from_new: None,
            },
        },
        Err(e) => OldRead {
            on_old: false,
            read: format!("not read: {e}"),
            from_new: None,
        },
    }
}

/// What the new side took since `since`: first the tickets created there (those whose copy on
/// the old side carries cutover's mark naming the new side), each with its link and a read of
/// its old copy (a ticket the reverse bridge has not linked yet is not listed: drain first);
/// then every contact the gateway delivered to the new side since `since`, in contact order,
/// with the ticket it became or followed up on, that ticket's link and a read of the old copy
/// (a contact whose ticket has no link yet is listed as not on the old side).
pub async fn contacts_taken(
    store: &dyn Store,
    old: &dyn cutover_connect::Connector,
    since: DateTime<Utc>,
) -> Result<Vec<TakenContact>, RuntimeError> {
    use cutover_model::RecordKind;
    use std::collections::HashMap;
    let links = store.links_written_since(since, 10_000).await?;
    let mut taken = Vec::new();
    for stored in links {
        let link = stored.link;
        if link.kind != RecordKind::Ticket {
            continue;
        }
        let read = read_old(old, &link.old_id, &link.new_id).await;
        let origin_new = read.from_new.unwrap_or(link.last_writer == Side::New);
        if origin_new {
            taken.push(TakenContact {
                new_id: link.new_id.to_string(),
                old_id: link.old_id.to_string(),
                on_old: read.on_old,
                old_read: read.read,
                contact: None,
                channel: None,
                customer: None,
                follow_up: None,
            });
        }
    }
    taken.sort_by(|a, b| a.new_id.cmp(&b.new_id));

    // The gateway's contacts: one read per old ticket, however many contacts it took.
    let mut reads: HashMap<String, (String, bool, String)> = HashMap::new();
    let mut after = None;
    loop {
        let page = store
            .contacts_delivered_since(Side::New, since, after, 500)
            .await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for contact in page {
            let Some(ticket) = contact.ticket_id.clone() else {
                // A call forwarded to the new side's number: no ticket to carry.
                continue;
            };
            let key = ticket.to_string();
            if !reads.contains_key(&key) {
                let seen = match store
                    .find_link(RecordKind::Ticket, Side::New, &ticket)
                    .await?
                {
                    Some(stored) => {
                        let read = read_old(old, &stored.link.old_id, &ticket).await;
                        (stored.link.old_id.to_string(), read.on_old, read.read)
                    }
                    None => (
                        String::new(),
                        false,
                        "no copy on the old side yet (not linked)".to_owned(),
                    ),
                };
                reads.insert(key.clone(), seen);
            }
            let (old_id, on_old, old_read) = reads.get(&key).cloned().unwrap_or_default();
            taken.push(TakenContact {
                new_id: key,
                old_id,
                on_old,
                old_read,
                contact: Some(contact.id.0),
                channel: Some(contact.channel),
                customer: Some(contact.customer),
                follow_up: Some(contact.follow_up),
            });
        }
    }
    Ok(taken)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test fails loudly")]

    use super::*;
    use cutover_store::StoreUrl;

    fn wave(name: &str) -> Wave {
        serde_json::from_value(json!({
            "name": name, "channels": ["web"], "groups": "all", "customers": "10%",
            "gates": { "sign_off": ["lead"] }
        }))
        .unwrap()
    }

    fn config(waves: Vec<Wave>, timeout: Duration) -> SwitchConfig {
        SwitchConfig {
            waves,
            timeout,
            old: PlatformKind::Freshdesk,
            new: PlatformKind::Freshdesk,
        }
    }

    /// Runs the driver's steps until the switch ends (or `steps` pass).
    async fn drive(driver: &Driver, steps: usize) -> Switch {
        for _ in 0..steps {
            if !driver.advance_once().await.unwrap() {
                break;
            }
        }
        Switch::load(driver.store.as_ref()).await.unwrap().unwrap()
    }

    #[tokio::test]
    async fn an_undrained_switch_aborts_to_old_and_one_switch_runs_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let store = cutover_store::open(&StoreUrl::sqlite(dir.path().join("s.db")))
            .await
            .unwrap();
        let pilot = wave("pilot");
        let asked = request_start(store.as_ref(), &pilot, "alice", false)
            .await
            .unwrap();
        // One at a time.
        let again = request_start(store.as_ref(), &wave("pilot"), "bob", false).await;
        assert!(matches!(again, Err(RuntimeError::Refused(_))), "{again:?}");
        // No bridge ever reports: the drain cannot finish; the deadline is a second away.
        let driver = Driver::new(
            store.clone(),
            config(vec![pilot.clone()], Duration::from_secs(1)),
            Arc::new(NoMover),
        );
        let ended = drive(&driver, 10).await;
        assert_eq!(ended.id, asked.id);
        assert_eq!(ended.step, Step::Aborted, "{ended:?}");
        let steps: Vec<Step> = ended.history.iter().map(|e| e.step).collect();
        assert_eq!(
            steps,
            [
                Step::Requested,
                Step::Holding,
                Step::Draining,
                Step::Aborted
            ]
        );
        let routing = RoutingState::load(store.as_ref()).await.unwrap();
        assert_eq!(routing.phase("pilot"), WavePhase::Old);
        // Hold and abort both changed routing: two generations.
        assert_eq!(routing.generation, 2);
        let audit = store.audit_entries(0, 100).await.unwrap();
        let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["wave.start", "switch.hold", "switch.abort"]);
        // A rollback of a wave that is not switched is refused.
        let back = request_rollback(store.as_ref(), &pilot, "alice", false).await;
        assert!(matches!(back, Err(RuntimeError::Refused(_))), "{back:?}");
    }

    #[tokio::test]
    async fn a_rollback_flips_routing_in_its_own_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let store = cutover_store::open(&StoreUrl::sqlite(dir.path().join("s.db")))
            .await
            .unwrap();
        let pilot = wave("pilot");
        let mut tx = store.begin().await.unwrap();
        RoutingState::default()
            .with_phase("pilot", WavePhase::New, Utc::now())
            .save_in(tx.as_mut())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let back = request_rollback(store.as_ref(), &pilot, "alice", false)
            .await
            .unwrap();
        // No driver has run: routing is old already.
        assert_eq!(back.step, Step::Flipped);
        assert!(back.flip_ms.unwrap() < 1000, "{back:?}");
        let routing = RoutingState::load(store.as_ref()).await.unwrap();
        assert_eq!(routing.phase("pilot"), WavePhase::Old);
        let audit = store.audit_entries(0, 100).await.unwrap();
        assert_eq!(audit.last().unwrap().action, "rollback");
    }
}
