//! Go/no-go gates: whether a wave may start.
//!
//! A wave's `[waves.gates]` in the plan asks for criteria measured in the store and for named
//! people's sign-offs. [`evaluate`] reads them all and gives a [`GateReport`]: each criterion
//! with whether it is met, why, the values it was decided on, and the command that moves it on.
//! Nothing passes for want of a measurement: a criterion whose measurement is missing, stale or
//! made with another version of the plan is not met, and says so.
//!
//! - `verify_clean`: the last verification ([`LastVerify`], kept by `cutover verify` and by the
//!   scheduled verify of `cutover serve`) was clean and was made with this plan;
//! - `max_sync_lag`: each direction the bridge runs has written its status lately (so
//!   `cutover serve` runs), and the 99th percentile of the lag of the changes it applied is
//!   under the limit;
//! - `kpis_within_bounds`: the continuity monitor (the alerts of `cutover serve`'s leader)
//!   read the KPIs over the whole window (its [`Readings`] cover it and its last reading is
//!   recent), and no alert, on either side, was open in it (raised or inconclusive); the reason
//!   names each such alert with its KPI, side and values;
//! - `rollback_drill`: the last drill ([`DrillRecord`]) passed, with this plan;
//! - `sign_off`: every person the gates name signed ([`sign_off`], `cutover go`) since the
//!   wave last changed phase, for this plan.
//!
//! [`require`] is what `cutover wave start` asks: the report when the wave is ready, else
//! [`RuntimeError::GatesNotMet`] listing what is unmet and the commands to run. Each
//! evaluation made for a sign-off or a start lands in the audit log (`gate.evaluated`) with
//! the report.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use cutover_engine::sync::status::DirectionStatus;
use cutover_engine::verify::{LastVerify, VerifiedBy};
use cutover_model::Side;
use cutover_plan::plan::Plan;
use cutover_plan::plan::model::Wave;
use cutover_plan::plan::names::{AccessRole, Directions};
use cutover_store::{AlertRecord, NewAuditEntry, Store, StoreTx};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::alerts::Readings;
use crate::drill::DrillRecord;
use crate::error::RuntimeError;
use crate::routing::{RoutingState, WavePhase};

/// The run-state key of one person's latest sign-off of one wave. One key each, so two people
/// signing at once (through two `cutover serve` processes) cannot overwrite each other.
pub fn sign_off_key(wave: &str, person: &str) -> String {
    format!("gates/sign-off/{wave}/{person}")
}

/// The reason the `kpis_within_bounds` criterion gives while the monitor has never read.
pub const NO_READINGS: &str = "the KPI monitor has made no reading yet";

/// One person's sign-off of a wave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignOff {
    /// The person's id in the plan's `[people]`.
    pub person: String,
    /// When they signed.
    pub at: DateTime<Utc>,
    /// The digest of the plan file they signed for.
    pub plan_digest: String,
    /// Who recorded it: the login that ran `cutover go`, or the API token's name.
    pub actor: String,
}

/// The sign-offs of a plan's waves: by wave name, by person (the latest of each).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SignOffs {
    /// By wave name, then person id.
    pub waves: BTreeMap<String, BTreeMap<String, SignOff>>,
}

impl SignOffs {
    /// The latest sign-off of each person each wave of `plan` names, from the store.
    pub async fn load(store: &dyn Store, plan: &Plan) -> Result<Self, RuntimeError> {
        let mut all = SignOffs::default();
        for wave in &plan.waves {
            for person in &wave.gates.sign_off {
                let Some(value) = store.run_state(&sign_off_key(&wave.name, person)).await? else {
                    continue;
                };
                let signed: SignOff = serde_json::from_value(value)
                    .map_err(|e| RuntimeError::BadRoutingState(format!("a sign-off: {e}")))?;
                all.waves
                    .entry(wave.name.clone())
                    .or_default()
                    .insert(person.clone(), signed);
            }
        }
        Ok(all)
    }

    /// Writes one sign-off of `wave` in `tx` (with the audit entry of the sign-off).
    pub async fn save_in(
        tx: &mut dyn StoreTx,
        wave: &str,
        signed: &SignOff,
    ) -> Result<(), RuntimeError> {
        let value = serde_json::to_value(signed)
            .map_err(|e| RuntimeError::BadRoutingState(format!("a sign-off: {e}")))?;
        tx.put_run_state(&sign_off_key(wave, &signed.person), &value)
            .await?;
        Ok(())
    }

    /// A person's latest sign-off of a wave.
    pub fn of(&self, wave: &str, person: &str) -> Option<&SignOff> {
        self.waves.get(wave).and_then(|w| w.get(person))
    }
}

/// One criterion of a wave's gates, decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Criterion {
    /// Its name in the plan: `verify_clean`, `max_sync_lag`, `kpis_within_bounds`,
    /// `rollback_drill`, `sign_off`.
    pub name: String,
    /// Whether it holds.
    pub met: bool,
    /// Why, in words, with the values.
    pub detail: String,
    /// The values it was decided on.
    pub values: Value,
    /// The commands that would move it on (empty when met, or when no command can).
    pub next: Vec<String>,
}

/// One person's place in a wave's sign-off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignOffStatus {
    /// The person's id in `[people]`.
    pub person: String,
    /// Their full name, when the plan has them.
    pub name: Option<String>,
    /// When they last signed this wave, if ever.
    pub signed_at: Option<DateTime<Utc>>,
    /// Whether that sign-off counts (since the wave's last change of phase, for this plan).
    pub counts: bool,
}

/// A wave's gates, evaluated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateReport {
    /// The wave's name.
    pub wave: String,
    /// Its number in the plan (1 for the first).
    pub number: usize,
    /// Where it stands.
    pub phase: WavePhase,
    /// When it got there (none when it never moved).
    pub phase_since: Option<DateTime<Utc>>,
    /// When the gates were evaluated.
    pub evaluated_at: DateTime<Utc>,
    /// The digest of the plan they were evaluated with.
    pub plan_digest: String,
    /// Each criterion the wave's gates ask for, `sign_off` last.
    pub criteria: Vec<Criterion>,
    /// Each person who must sign off.
    pub sign_offs: Vec<SignOffStatus>,
}

impl GateReport {
    /// Whether every criterion holds, sign-offs included: the wave may start.
    pub fn ready(&self) -> bool {
        self.criteria.iter().all(|c| c.met)
    }

    /// The criteria that do not hold.
    pub fn unmet(&self) -> Vec<&Criterion> {
        self.criteria.iter().filter(|c| !c.met).collect()
    }

    /// The commands that move the unmet criteria on, each once, in order.
    pub fn next_commands(&self) -> Vec<String> {
        let mut all: Vec<String> = Vec::new();
        for command in self.unmet().into_iter().flat_map(|c| c.next.iter()) {
            if !all.contains(command) {
                all.push(command.clone());
            }
        }
        all
    }

    /// The report as lines for people: the wave and its phase, then one line per criterion.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let since = self
            .phase_since
            .map(|t| {
                format!(
                    " since {} ({} ago)",
                    t.to_rfc3339(),
                    ago(self.evaluated_at, t)
                )
            })
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "Wave {} {:?}: {}{since}",
            self.number,
            self.wave,
            self.phase.as_str()
        );
        for c in &self.criteria {
            let mark = if c.met { "met    " } else { "NOT MET" };
            let _ = writeln!(out, "  {mark}  {:<19} {}", c.name, c.detail);
        }
        if self.ready() {
            let _ = writeln!(
                out,
                "  Ready: every gate holds; `cutover wave start {}` may switch it.",
                self.number
            );
        } else {
            let unmet: Vec<&str> = self.unmet().iter().map(|c| c.name.as_str()).collect();
            let _ = writeln!(
                out,
                "  Not ready for `cutover wave start {}`: {} unmet.",
                self.number,
                unmet.join(", ")
            );
            for command in self.next_commands() {
                let _ = writeln!(out, "    next: {command}");
            }
        }
        out
    }

    /// Why a start is refused: what is unmet and what to run, in one message.
    pub fn refusal(&self) -> String {
        let mut out = format!(
            "wave {} {:?} cannot start: its gates do not hold:",
            self.number, self.wave
        );
        for c in self.unmet() {
            let _ = write!(out, "\n  {}: {}", c.name, c.detail);
        }
        let next = self.next_commands();
        if !next.is_empty() {
            let _ = write!(out, "\nnext: {}", next.join("; "));
        }
        out
    }
}

/// How long before `now` a time was, in the largest whole unit: `40s`, `12m`, `3h`, `2d`.
pub fn ago(now: DateTime<Utc>, then: DateTime<Utc>) -> String {
    let secs = (now - then).num_seconds().max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// Evaluates the gates of the wave at `index` (0-based) of `plan`, whose file has digest
/// `plan_digest`, as of `now`. Reads only.
pub async fn evaluate(
    store: &dyn Store,
    plan: &Plan,
    plan_digest: &str,
    index: usize,
    now: DateTime<Utc>,
) -> Result<GateReport, RuntimeError> {
    let routing = RoutingState::load(store).await?;
    let sign_offs = SignOffs::load(store, plan).await?;
    let measured = Measured::load(store, plan, now).await?;
    evaluate_with(
        plan,
        plan_digest,
        index,
        now,
        &routing,
        &sign_offs,
        &measured,
    )
}

/// What the criteria are decided on, read from the store.
#[derive(Debug, Clone, Default)]
struct Measured {
    verify: Option<LastVerify>,
    directions: Vec<DirectionStatus>,
    drill: Option<DrillRecord>,
    readings: Option<Readings>,
    /// The alerts open in the longest `kpis_within_bounds` window of the plan.
    alerts: Vec<AlertRecord>,
}

impl Measured {
    async fn load(
        store: &dyn Store,
        plan: &Plan,
        now: DateTime<Utc>,
    ) -> Result<Self, RuntimeError> {
        let engine = |e: cutover_engine::EngineError| RuntimeError::Measure(e.to_string());
        let longest = plan
            .waves
            .iter()
            .filter_map(|w| w.gates.kpis_within_bounds)
            .map(|d| d.get())
            .max();
        let (readings, alerts) = match longest {
            Some(longest) => (
                Readings::load(store).await?,
                store.alerts_open_since(now - chrono_of(longest)).await?,
            ),
            None => (None, Vec::new()),
        };
        Ok(Measured {
            readings,
            alerts,
            verify: LastVerify::load(store).await.map_err(engine)?,
            directions: cutover_engine::sync::status::load(store)
                .await
                .map_err(engine)?,
            drill: DrillRecord::load(store).await?,
        })
    }
}

fn wave_at(plan: &Plan, index: usize) -> Result<&Wave, RuntimeError> {
    plan.waves
        .get(index)
        .ok_or_else(|| RuntimeError::NoSuchWave((index + 1).to_string()))
}

fn evaluate_with(
    plan: &Plan,
    plan_digest: &str,
    index: usize,
    now: DateTime<Utc>,
    routing: &RoutingState,
    sign_offs: &SignOffs,
    measured: &Measured,
) -> Result<GateReport, RuntimeError> {
    let wave = wave_at(plan, index)?;
    let gates = &wave.gates;
    let number = index + 1;
    let mut criteria = Vec::new();
    if gates.verify_clean {
        criteria.push(verify_clean(measured.verify.as_ref(), plan_digest, now));
    }
    if let Some(limit) = gates.max_sync_lag {
        criteria.push(sync_lag(plan, &measured.directions, limit.get(), now));
    }
    if let Some(within) = gates.kpis_within_bounds {
        criteria.push(crate::gates_kpis::criterion(
            plan,
            &within,
            measured.readings.as_ref(),
            &measured.alerts,
            now,
        ));
    }
    if gates.rollback_drill {
        criteria.push(rollback_drill(measured.drill.as_ref(), plan_digest, now));
    }
    let since = routing.waves.get(&wave.name).map(|w| w.changed_at);
    let mut people = Vec::new();
    for person in &gates.sign_off {
        let signed = sign_offs.of(&wave.name, person);
        let counts = signed.is_some_and(|s| {
            s.plan_digest == plan_digest && since.is_none_or(|changed| s.at > changed)
        });
        people.push(SignOffStatus {
            person: person.clone(),
            name: plan.people.get(person).map(|p| p.name.clone()),
            signed_at: signed.map(|s| s.at),
            counts,
        });
    }
    criteria.push(sign_off_criterion(
        &people,
        sign_offs,
        &wave.name,
        number,
        plan_digest,
        now,
    ));
    Ok(GateReport {
        wave: wave.name.clone(),
        number,
        phase: routing.phase(&wave.name),
        phase_since: since,
        evaluated_at: now,
        plan_digest: plan_digest.to_owned(),
        criteria,
        sign_offs: people,
    })
}

fn verify_clean(last: Option<&LastVerify>, plan_digest: &str, now: DateTime<Utc>) -> Criterion {
    let name = "verify_clean".to_owned();
    let next = vec!["cutover verify".to_owned()];
    let Some(v) = last else {
        return Criterion {
            name,
            met: false,
            detail: "no verification recorded yet".to_owned(),
            values: Value::Null,
            next,
        };
    };
    let by = match v.by {
        VerifiedBy::Command => "cutover verify",
        VerifiedBy::Schedule => "the scheduled verify",
    };
    let values = serde_json::to_value(v).unwrap_or(Value::Null);
    let age = ago(now, v.at);
    let same_plan = v.plan_digest == plan_digest;
    let (met, detail) = if !v.clean {
        (
            false,
            format!(
                "the last verification ({by}, {age} ago) found {} missing, {} extra and {} \
                 different record(s)",
                v.missing, v.extra, v.different
            ),
        )
    } else if !same_plan {
        (
            false,
            format!(
                "the last verification ({by}, {age} ago) was clean but made with another \
                 version of the plan"
            ),
        )
    } else {
        (
            true,
            format!("clean, {age} ago ({by}, {} record(s) matched)", v.matched),
        )
    };
    Criterion {
        name,
        met,
        detail,
        values,
        next: if met { Vec::new() } else { next },
    }
}

/// A plan's duration as chrono's (saturating: a duration too long to add counts as 100 years).
pub(crate) fn chrono_of(d: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or_else(|_| chrono::Duration::days(36_500))
}

/// How old a direction's status may be before the bridge counts as not running: two poll
/// intervals and half a minute (a pass is written after every poll).
fn stale_after(plan: &Plan) -> chrono::Duration {
    let poll = chrono::Duration::from_std(plan.sync.poll_every.get())
        .unwrap_or_else(|_| chrono::Duration::seconds(60));
    poll * 2 + chrono::Duration::seconds(30)
}

fn sync_lag(
    plan: &Plan,
    statuses: &[DirectionStatus],
    limit: std::time::Duration,
    now: DateTime<Utc>,
) -> Criterion {
    let sides: &[Side] = match plan.sync.directions {
        Directions::Both => &[Side::Old, Side::New],
        Directions::OldToNew => &[Side::Old],
    };
    let limit_secs = limit.as_secs_f64();
    let stale = stale_after(plan);
    let mut met = true;
    let mut parts = Vec::new();
    let mut values = Vec::new();
    let mut next = Vec::new();
    for side in sides {
        let way = format!("{side} to {}", side.other());
        let Some(status) = statuses.iter().find(|s| s.from == *side) else {
            met = false;
            parts.push(format!("{way}: no status from the bridge yet"));
            values.push(json!({ "from": side, "status": null }));
            next.push("cutover serve".to_owned());
            continue;
        };
        let age = now - status.at;
        let p99 = if status.lag.samples > 0 {
            status.lag.p99
        } else {
            0.0
        };
        values.push(json!({
            "from": side,
            "status_at": status.at,
            "p99_seconds": p99,
            "samples": status.lag.samples,
            "in_flight": status.in_flight.len(),
        }));
        if age > stale {
            met = false;
            parts.push(format!(
                "{way}: the bridge's last status is {} old (is `cutover serve` running?)",
                ago(now, status.at)
            ));
            next.push("cutover serve".to_owned());
        } else if p99 > limit_secs {
            met = false;
            parts.push(format!(
                "{way}: p99 lag {p99:.1}s over {} change(s), above the limit",
                status.lag.samples
            ));
            next.push("cutover sync status".to_owned());
        } else if status.lag.samples == 0 {
            parts.push(format!("{way}: no change carried yet, bridge running"));
        } else {
            parts.push(format!(
                "{way}: p99 lag {p99:.1}s over {} change(s)",
                status.lag.samples
            ));
        }
    }
    next.dedup();
    Criterion {
        name: "max_sync_lag".to_owned(),
        met,
        detail: format!("limit {limit_secs:.0}s; {}", parts.join("; ")),
        values: json!({ "limit_seconds": limit_secs, "directions": values }),
        next: if met { Vec::new() } else { next },
    }
}

fn rollback_drill(last: Option<&DrillRecord>, plan_digest: &str, now: DateTime<Utc>) -> Criterion {
    let name = "rollback_drill".to_owned();
    let next = vec!["cutover drill".to_owned()];
    let Some(d) = last else {
        return Criterion {
            name,
            met: false,
            detail: "no rollback drill recorded yet".to_owned(),
            values: Value::Null,
            next,
        };
    };
    let values = serde_json::to_value(d).unwrap_or(Value::Null);
    let age = ago(now, d.at);
    let (met, detail) = if !d.passed {
        (
            false,
            format!(
                "the last drill ({age} ago) failed: {}",
                d.problems.join("; ")
            ),
        )
    } else if d.plan_digest != plan_digest {
        (
            false,
            format!("the last drill ({age} ago) passed but with another version of the plan"),
        )
    } else {
        (
            true,
            format!(
                "passed {age} ago: routing flipped back in {} ms, the reverse bridge drained in {} ms",
                d.routing_flip_ms, d.drain_ms
            ),
        )
    };
    Criterion {
        name,
        met,
        detail,
        values,
        next: if met { Vec::new() } else { next },
    }
}

fn sign_off_criterion(
    people: &[SignOffStatus],
    sign_offs: &SignOffs,
    wave: &str,
    number: usize,
    plan_digest: &str,
    now: DateTime<Utc>,
) -> Criterion {
    let mut parts = Vec::new();
    let mut next = Vec::new();
    for p in people {
        let who = &p.person;
        match (p.counts, sign_offs.of(wave, who)) {
            (true, Some(s)) => parts.push(format!("{who} signed {} ago", ago(now, s.at))),
            (false, Some(s)) if s.plan_digest != plan_digest => parts.push(format!(
                "{who} signed {} ago for another version of the plan",
                ago(now, s.at)
            )),
            (false, Some(s)) => parts.push(format!(
                "{who} signed {} ago, before the wave last changed phase",
                ago(now, s.at)
            )),
            (_, None) => parts.push(format!("{who} has not signed")),
        }
        if !p.counts {
            next.push(format!("cutover go --wave {number} --as {who}"));
        }
    }
    Criterion {
        name: "sign_off".to_owned(),
        met: people.iter().all(|p| p.counts),
        detail: parts.join("; "),
        values: serde_json::to_value(people).unwrap_or(Value::Null),
        next,
    }
}

/// What `cutover wave start` asks before it switches the wave at `index` (0-based): the gates
/// evaluated as of `now`, that evaluation appended to the audit log (`gate.evaluated`, actor
/// `cutover`, for `wave.start`), and the report when the wave is ready, else
/// [`RuntimeError::GatesNotMet`] with what is unmet and the commands to run.
pub async fn require(
    store: &dyn Store,
    plan: &Plan,
    plan_digest: &str,
    index: usize,
    now: DateTime<Utc>,
) -> Result<GateReport, RuntimeError> {
    let report = evaluate(store, plan, plan_digest, index, now).await?;
    store
        .append_audit(&evaluated_entry("cutover", &report, "wave.start"))
        .await?;
    if report.ready() {
        Ok(report)
    } else {
        Err(RuntimeError::GatesNotMet(Box::new(report)))
    }
}

/// The audit entry of an evaluation made for `purpose` (`wave.start`, `wave.sign_off`).
pub fn evaluated_entry(actor: &str, report: &GateReport, purpose: &str) -> NewAuditEntry {
    let unmet: Vec<Value> = report
        .unmet()
        .iter()
        .map(|c| json!({ "name": c.name, "detail": c.detail }))
        .collect();
    NewAuditEntry::new(
        actor,
        "gate.evaluated",
        json!({
            "wave": report.wave,
            "for": purpose,
            "ready": report.ready(),
            "unmet": unmet,
            "report": report,
        }),
    )
}

/// Records `person`'s sign-off of the wave at `index` (0-based), made by `actor` (the login
/// that ran `cutover go`, or an API token's name) through `via` (`cli`, `api`), as of `now`.
///
/// Refused when `person` is not in the plan's `[people]`, has a role below operator, or is
/// not named by the wave's `gates.sign_off`, and when the wave is not on the old side (a
/// sign-off is for a start). Otherwise the sign-off, the audit entry `wave.signed_off` and the
/// evaluation (`gate.evaluated`, this sign-off counted) are written in one transaction; the
/// report says what is still missing.
#[allow(clippy::too_many_arguments)]
pub async fn sign_off(
    store: &dyn Store,
    plan: &Plan,
    plan_digest: &str,
    index: usize,
    person: &str,
    actor: &str,
    via: &str,
    now: DateTime<Utc>,
) -> Result<GateReport, RuntimeError> {
    let wave = wave_at(plan, index)?;
    let Some(found) = plan.people.get(person) else {
        return Err(RuntimeError::UnknownPerson {
            person: person.to_owned(),
            known: plan.people.keys().cloned().collect(),
        });
    };
    if found.role < AccessRole::Operator {
        return Err(RuntimeError::NotOperator {
            person: person.to_owned(),
            role: found.role.as_str().to_owned(),
        });
    }
    if !wave.gates.sign_off.iter().any(|p| p == person) {
        return Err(RuntimeError::NotNamed {
            person: person.to_owned(),
            wave: wave.name.clone(),
            named: wave.gates.sign_off.clone(),
        });
    }
    let routing = RoutingState::load(store).await?;
    let phase = routing.phase(&wave.name);
    if phase != WavePhase::Old {
        return Err(RuntimeError::WrongPhase {
            wave: wave.name.clone(),
            phase,
            action: "sign off",
            wanted: "old (not switched)",
        });
    }
    let mut sign_offs = SignOffs::load(store, plan).await?;
    let signed = SignOff {
        person: person.to_owned(),
        at: now,
        plan_digest: plan_digest.to_owned(),
        actor: actor.to_owned(),
    };
    sign_offs
        .waves
        .entry(wave.name.clone())
        .or_default()
        .insert(person.to_owned(), signed.clone());
    let measured = Measured::load(store, plan, now).await?;
    let report = evaluate_with(
        plan,
        plan_digest,
        index,
        now,
        &routing,
        &sign_offs,
        &measured,
    )?;
    let mut tx = store.begin().await?;
    SignOffs::save_in(tx.as_mut(), &wave.name, &signed).await?;
    tx.append_audit(&NewAuditEntry::new(
        actor,
        "wave.signed_off",
        json!({
            "wave": wave.name,
            "person": person,
            "name": found.name,
            "role": found.role.as_str(),
            "plan_digest": plan_digest,
            "via": via,
            "ready": report.ready(),
        }),
    ))
    .await?;
    tx.append_audit(&evaluated_entry(actor, &report, "wave.sign_off"))
        .await?;
    tx.commit().await?;
    Ok(report)
}

#[cfg(test)]
#[path = "gates_tests.rs"]
mod tests;
