//! `cutover wave pause` and `resume`: a switched wave held where it is, and let go again.
//!
//! A paused wave routes as a switched one (its customers stay on the new side); it is only
//! marked so that nothing moves it on by itself (later: the KPI monitor's `pause_wave`, and the
//! next wave's start). Pausing a wave that is not switched, or resuming one that is not paused,
//! is refused; pausing a paused wave or resuming a running one changes nothing. Each change is
//! written with its audit entry (`wave.paused`, `wave.resumed`) in one transaction.

use chrono::{DateTime, Utc};
use cutover_plan::plan::Plan;
use cutover_store::{NewAuditEntry, Store};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::RuntimeError;
use crate::routing::{RoutingState, WavePhase};

/// What a pause or a resume did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseChange {
    /// The wave's name.
    pub wave: String,
    /// Its phase before.
    pub from: WavePhase,
    /// Its phase after.
    pub to: WavePhase,
    /// Whether anything changed (false: it was there already).
    pub changed: bool,
}

/// Pauses the switched wave at `index` (0-based): [`WavePhase::New`] to [`WavePhase::Paused`].
pub async fn pause(
    store: &dyn Store,
    plan: &Plan,
    index: usize,
    actor: &str,
    via: &str,
    now: DateTime<Utc>,
) -> Result<PhaseChange, RuntimeError> {
    let step = Step {
        from: WavePhase::New,
        to: WavePhase::Paused,
        action: "pause",
        audit: "wave.paused",
        wanted: "new (switched)",
    };
    step.run(store, plan, index, actor, via, now).await
}

/// Resumes the paused wave at `index` (0-based): [`WavePhase::Paused`] to [`WavePhase::New`].
pub async fn resume(
    store: &dyn Store,
    plan: &Plan,
    index: usize,
    actor: &str,
    via: &str,
    now: DateTime<Utc>,
) -> Result<PhaseChange, RuntimeError> {
    let step = Step {
        from: WavePhase::Paused,
        to: WavePhase::New,
        action: "resume",
        audit: "wave.resumed",
        wanted: "paused",
    };
    step.run(store, plan, index, actor, via, now).await
}

struct Step {
    from: WavePhase,
    to: WavePhase,
    action: &'static str,
    audit: &'static str,
    wanted: &'static str,
}

impl Step {
    async fn run(
        &self,
        store: &dyn Store,
        plan: &Plan,
        index: usize,
        actor: &str,
        via: &str,
        now: DateTime<Utc>,
    ) -> Result<PhaseChange, RuntimeError> {
        let wave = plan
            .waves
            .get(index)
            .ok_or_else(|| RuntimeError::NoSuchWave((index + 1).to_string()))?;
        let routing = RoutingState::load(store).await?;
        let phase = routing.phase(&wave.name);
        if phase == self.to {
            return Ok(PhaseChange {
                wave: wave.name.clone(),
                from: phase,
                to: phase,
                changed: false,
            });
        }
        if phase != self.from {
            return Err(RuntimeError::WrongPhase {
                wave: wave.name.clone(),
                phase,
                action: self.action,
                wanted: self.wanted,
            });
        }
        let next = routing.with_phase(&wave.name, self.to, now);
        let mut tx = store.begin().await?;
        next.save_in(tx.as_mut()).await?;
        tx.append_audit(&NewAuditEntry::new(
            actor,
            self.audit,
            json!({
                "wave": wave.name,
                "number": index + 1,
                "from": self.from,
                "to": self.to,
                "generation": next.generation,
                "via": via,
            }),
        ))
        .await?;
        tx.commit().await?;
        Ok(PhaseChange {
            wave: wave.name.clone(),
            from: self.from,
            to: self.to,
            changed: true,
        })
    }
}
