//! The continuity monitor's alerts: each KPI now (the hour before `now`) against its
//! hour-of-week baseline (the old side's history), per the plan's `[[alerts]]`, and the actions
//! they start. [`evaluate`] takes an explicit `now`, so tests drive it in simulated time;
//! `cutover serve`'s leader runs [`run`] every `[monitor] every`.
//!
//! The rule (docs/alerts.md says the same for users):
//! - A side is watched while it takes customers: the old side while a wave is still on it, the
//!   new side once a wave has switched.
//! - A reading is **inconclusive** when the window has fewer samples than the rule's
//!   `min_samples` (or than [`crate::kpi::MIN_SAMPLES`]), the baseline has fewer weeks with a
//!   value than [`crate::kpi::MIN_WEEKS`], or cutover does not measure the KPI. It is never a pass.
//! - A reading is a **breach** when the KPI is worse than the baseline's mean by at least the
//!   threshold *and* outside the baseline's usual spread (more than two standard deviations).
//! - It is **calm** when it is worse by less than half the threshold, or within the spread.
//!   Between the two it holds whatever state the rule is in (hysteresis).
//! - An alert is **raised** once breaches have lasted `sustained`; it **clears** once calm
//!   readings have lasted `sustained`. An **inconclusive** alert opens once inconclusive readings
//!   have lasted `sustained`, and clears at the first conclusive reading that is not a breach.
//!
//! Each change is kept (table `alerts`) with its evidence, audited (`alert.raised`,
//! `alert.cleared`, `alert.inconclusive`) and its actions queued (the outbox, see
//! [`crate::actions`]) in one transaction; then the pending actions run through the same
//! control path as a person's (`pause::pause`, `switch::request_rollback`, `backup::set`) and
//! are audited as `action.<name>`. Each evaluation that reads also records [`Readings`]: what
//! the `kpis_within_bounds` gate checks the monitor covered.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use cutover_model::Side;
use cutover_plan::plan::Plan;
use cutover_plan::plan::names::{AlertAction, Kpi};
use cutover_store::{AlertRecord, NewAuditEntry, Store};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::error::RuntimeError;
use crate::kpi::{self, Better, Comparison, Filter, Verdict};
use crate::paging::{Page, Pager, Recipient};
use crate::routing::{RoutingState, WavePhase};

/// The actor of the audit entries the monitor writes.
pub const MONITOR: &str = "cutover monitor";

/// The run-state key of each rule's hysteresis state.
pub const STATE_KEY: &str = "alerts:state";

/// The window each evaluation measures: the hour before `now`.
pub const WINDOW: Duration = Duration::hours(1);

/// The default rules' `sustained`.
const DEFAULT_SUSTAINED: Duration = Duration::minutes(15);

/// One alert rule: from the plan's `[[alerts]]`, or the defaults when it has none.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    /// `alerts[N]` (1-based, as the plan lists them) or `default:<kpi>`.
    pub name: String,
    /// The KPI as the plan names it.
    pub plan_kpi: String,
    /// The KPI cutover computes for it (see [`measured`]); `None`: not measured.
    pub kpi: Option<&'static str>,
    /// How much worse than the baseline's mean is a breach, as a fraction (0.5 = 50 %).
    pub threshold: f64,
    /// How long breaches (or calm) must last before the alert is raised (or cleared).
    pub sustained: Duration,
    /// Fewer samples in the window than this is inconclusive.
    pub min_samples: u64,
    /// What a raised alert does.
    #[serde(serialize_with = "action_name")]
    pub then: AlertAction,
    /// Who is paged (ids in `[people]`).
    pub notify: Vec<String>,
}

fn action_name<S: serde::Serializer>(action: &AlertAction, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(action.as_str())
}

/// The KPI cutover computes for a plan's KPI name: `wait_time` and `first_response_time` are
/// the wait until the first agent reply (median and 90th percentile), `resolution_time` the
/// median resolution time, `channel_availability` the share of the gateway's contacts delivered
/// within five minutes, `api_response_p90` and `api_availability` the monitor's probes of each
/// side's API; `nps` is not measured yet (always inconclusive).
pub fn measured(kpi: Kpi) -> Option<&'static str> {
    match kpi {
        Kpi::WaitTime => Some("first_reply_p50"),
        Kpi::FirstResponseTime => Some("first_reply_p90"),
        Kpi::ResolutionTime => Some("resolution_p50"),
        Kpi::FirstContactResolution => Some("first_contact_resolution"),
        Kpi::Backlog => Some("backlog"),
        Kpi::ReopenRate => Some("reopen_rate"),
        Kpi::Escalations => Some("escalations"),
        Kpi::Csat => Some("csat"),
        Kpi::ChannelAvailability => Some("channel_availability"),
        Kpi::ApiResponseP90 => Some("api_response_p90"),
        Kpi::ApiAvailability => Some("api_availability"),
        Kpi::Nps => None,
    }
}

/// The rules of a plan: its `[[alerts]]`, or when it has none the defaults: every KPI of the
/// tickets 10 % worse than its baseline notifies everyone in `[people]`, and a wait time 50 %
/// worse pauses the running wave; each sustained 15 minutes. The API and channel KPIs have no
/// default rule: their history starts with the first `cutover serve` (or contact), so they
/// would hold every wave's `kpis_within_bounds` gate inconclusive for weeks.
pub fn rules(plan: &Plan) -> Vec<Rule> {
    if !plan.alerts.is_empty() {
        return plan
            .alerts
            .iter()
            .enumerate()
            .map(|(i, alert)| Rule {
                name: format!("alerts[{}]", i + 1),
                plan_kpi: alert.kpi.as_str().to_owned(),
                kpi: measured(alert.kpi),
                threshold: alert.worse_than_baseline.get() / 100.0,
                sustained: Duration::from_std(alert.sustained.get()).unwrap_or(Duration::zero()),
                min_samples: u64::from(alert.min_samples).max(kpi::MIN_SAMPLES),
                then: alert.then,
                notify: alert.notify.clone(),
            })
            .collect();
    }
    let everyone: Vec<String> = plan.people.keys().cloned().collect();
    let mut out: Vec<Rule> = kpi::KPIS
        .iter()
        .filter(|def| def.source == kpi::Source::Tickets)
        .map(|def| Rule {
            name: format!("default:{}", def.name),
            plan_kpi: def.name.to_owned(),
            kpi: Some(def.name),
            threshold: 0.10,
            sustained: DEFAULT_SUSTAINED,
            min_samples: kpi::MIN_SAMPLES,
            then: AlertAction::Notify,
            notify: everyone.clone(),
        })
        .collect();
    out.push(Rule {
        name: "default:wait_time".to_owned(),
        plan_kpi: Kpi::WaitTime.as_str().to_owned(),
        kpi: measured(Kpi::WaitTime),
        threshold: 0.50,
        sustained: DEFAULT_SUSTAINED,
        min_samples: kpi::MIN_SAMPLES,
        then: AlertAction::PauseWave,
        notify: everyone,
    });
    out
}

/// What one reading of a rule comes to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "reading", content = "reason")]
pub enum Reading {
    /// Worse than the threshold and outside the spread.
    Breach,
    /// Between the clear bound and the threshold: holds the rule's state, and a breach under
    /// way (only a calm reading restarts it).
    Elevated,
    /// Worse by less than half the threshold, or within the spread.
    Calm,
    /// Too little data to tell: never a pass.
    Inconclusive(String),
}

/// How much worse than the baseline's mean `comparison` is, as a fraction (negative: better).
pub fn worse_by(comparison: &Comparison) -> Option<f64> {
    let better = kpi::find(comparison.name).map_or(Better::Lower, |d| d.better);
    comparison.deviation.map(|d| match better {
        Better::Lower => d,
        Better::Higher => -d,
    })
}

/// Classifies one comparison for `rule`.
pub fn read(rule: &Rule, comparison: Option<&Comparison>) -> Reading {
    let Some(c) = comparison else {
        return Reading::Inconclusive(format!("cutover does not measure {} yet", rule.plan_kpi));
    };
    if let Verdict::Inconclusive(reason) = &c.verdict {
        return Reading::Inconclusive(reason.clone());
    }
    if c.now.samples < rule.min_samples {
        return Reading::Inconclusive(format!(
            "{} samples now, the rule needs at least {}",
            c.now.samples, rule.min_samples
        ));
    }
    let Some(worse) = worse_by(c) else {
        return Reading::Inconclusive(String::from("no deviation to compare (baseline mean 0)"));
    };
    let outside = c.verdict == Verdict::OutsideSpread;
    if worse >= rule.threshold && outside {
        Reading::Breach
    } else if worse < rule.threshold / 2.0 || !outside {
        Reading::Calm
    } else {
        Reading::Elevated
    }
}

/// The state an episode is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// Breaches lasted `sustained`.
    Raised,
    /// Too little data lasted `sustained`.
    Inconclusive,
    /// Over.
    Cleared,
}

impl AlertState {
    /// As the store and the audit log write it.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Raised => "raised",
            AlertState::Inconclusive => "inconclusive",
            AlertState::Cleared => "cleared",
        }
    }
}

/// One rule's hysteresis on one side, kept between evaluations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Track {
    /// Since when readings have been breaches.
    pub breach_since: Option<DateTime<Utc>>,
    /// Since when readings have been calm.
    pub calm_since: Option<DateTime<Utc>>,
    /// Since when readings have been inconclusive.
    pub inconclusive_since: Option<DateTime<Utc>>,
    /// The open episode: its id, state and when it opened.
    pub open: Option<(String, AlertState, DateTime<Utc>)>,
}

/// Moves `track` by one reading at `now`; the state an episode changes to, if any.
pub fn step(
    track: &mut Track,
    reading: &Reading,
    sustained: Duration,
    now: DateTime<Utc>,
) -> Option<AlertState> {
    let open = track.open.as_ref().map(|(_, state, _)| *state);
    match reading {
        Reading::Inconclusive(_) => {
            track.breach_since = None;
            track.calm_since = None;
            let since = *track.inconclusive_since.get_or_insert(now);
            (open.is_none() && now - since >= sustained).then_some(AlertState::Inconclusive)
        }
        Reading::Breach => {
            track.inconclusive_since = None;
            track.calm_since = None;
            let since = *track.breach_since.get_or_insert(now);
            (open != Some(AlertState::Raised) && now - since >= sustained)
                .then_some(AlertState::Raised)
        }
        Reading::Elevated => {
            // Between the bounds: a breach under way is held (a reading that dips just under
            // the threshold does not restart it; only a calm one does), and calm restarts.
            track.inconclusive_since = None;
            track.calm_since = None;
            (open == Some(AlertState::Inconclusive)).then_some(AlertState::Cleared)
        }
        Reading::Calm => {
            track.inconclusive_since = None;
            track.breach_since = None;
            match open {
                None => None,
                Some(AlertState::Inconclusive) => Some(AlertState::Cleared),
                Some(_) => {
                    let since = *track.calm_since.get_or_insert(now);
                    (now - since >= sustained).then_some(AlertState::Cleared)
                }
            }
        }
    }
}

/// A change of an alert, as [`evaluate`] made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The episode's id.
    pub id: String,
    /// The rule.
    pub rule: String,
    /// The side watched.
    pub side: Side,
    /// What it changed to.
    pub state: AlertState,
    /// When its episode opened.
    pub opened_at: DateTime<Utc>,
    /// The evidence.
    pub evidence: Value,
    /// What the actions did (each also audited as `action.<name>`).
    #[serde(default)]
    pub actions: Vec<Value>,
}

/// Which sides take customers now: the old while a wave is on it, the new once one switched.
fn watched_sides(plan: &Plan, routing: &RoutingState) -> Vec<Side> {
    let phases: Vec<WavePhase> = plan.waves.iter().map(|w| routing.phase(&w.name)).collect();
    let mut sides = Vec::new();
    if phases.iter().any(|p| !p.is_switched()) {
        sides.push(Side::Old);
    }
    if phases
        .iter()
        .any(|p| p.is_switched() || *p == WavePhase::Holding)
    {
        sides.push(Side::New);
    }
    sides
}

/// The run-state key of the monitor's [`Readings`].
pub const READINGS_KEY: &str = "alerts:readings";

/// What the monitor has read, kept at each evaluation that read the KPIs: each reading covers
/// the [`WINDOW`] before it, so readings at most a window apart cover time without a gap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Readings {
    /// Since when the readings have covered time without a gap.
    pub since: DateTime<Utc>,
    /// The latest reading.
    pub at: DateTime<Utc>,
    /// The sides it watched then.
    pub sides: Vec<Side>,
    /// How many rules it read on each.
    pub rules: usize,
}

impl Readings {
    /// The readings kept in the store, if the monitor ever read.
    pub async fn load(store: &dyn Store) -> Result<Option<Self>, RuntimeError> {
        store
            .run_state(READINGS_KEY)
            .await?
            .map(|value| {
                serde_json::from_value(value)
                    .map_err(|e| RuntimeError::BadRoutingState(format!("alert readings: {e}")))
            })
            .transpose()
    }

    /// The readings after one more at `now`.
    fn after(
        previous: Option<Readings>,
        now: DateTime<Utc>,
        sides: Vec<Side>,
        rules: usize,
    ) -> Self {
        let since = match previous {
            Some(p) if p.at <= now && now - p.at <= WINDOW => p.since,
            _ => now - WINDOW,
        };
        Readings {
            since,
            at: now,
            sides,
            rules,
        }
    }
}

/// Evaluates every rule at `now` against the facts in the store ([`assess`]), then runs the
/// actions pending in the outbox ([`crate::actions::run_pending`]): this change's and any a
/// process that died left. Returns the changes, each with what its actions did.
pub async fn evaluate(
    store: &dyn Store,
    plan: &Plan,
    pager: &Pager,
    now: DateTime<Utc>,
) -> Result<Vec<Change>, RuntimeError> {
    let mut changes = assess(store, plan, now).await?;
    let done = crate::actions::run_pending(store, plan, pager, &rules(plan), now).await?;
    for change in &mut changes {
        change.actions = done
            .iter()
            .filter(|d| d.alert == change.id)
            .map(|d| json!({ "action": d.action, "details": d.result }))
            .collect();
    }
    Ok(changes)
}

/// Evaluates every rule at `now`, and keeps and audits each change with its actions queued, in
/// one transaction; runs no action.
pub async fn assess(
    store: &dyn Store,
    plan: &Plan,
    now: DateTime<Utc>,
) -> Result<Vec<Change>, RuntimeError> {
    let weeks = plan.baseline.weeks.max(1);
    let window = (now - WINDOW, now);
    // The baseline ends where the window's first hour starts, so it holds that hour of the
    // week in each of its weeks. Both come from the store's hourly aggregates (SQL), so an
    // evaluation reads a few rows an hour, not every ticket of the weeks.
    let routing = RoutingState::load(store).await?;
    let old_only = Filter {
        side: Some(Side::Old),
        ..Filter::default()
    };
    let base = crate::kpi_stored::baseline(store, window.0, weeks, &old_only).await?;
    // The window straddles two clock hours: their profiles blended by overlap.
    let Some(hour) = base.window(window.0) else {
        return Ok(Vec::new());
    };
    let mut tracks: BTreeMap<String, Track> = match store.run_state(STATE_KEY).await? {
        Some(value) => serde_json::from_value(value)
            .map_err(|e| RuntimeError::BadRoutingState(format!("alert state: {e}")))?,
        None => BTreeMap::new(),
    };
    let rules = rules(plan);
    let mut changes = Vec::new();
    let sides = watched_sides(plan, &routing);
    for side in sides.iter().copied() {
        let filter = Filter {
            side: Some(side),
            ..Filter::default()
        };
        let figures = crate::kpi_stored::compute(store, window.0, window.1, &filter).await?;
        let comparisons = kpi::compare(&figures, &hour);
        for rule in &rules {
            let comparison = rule
                .kpi
                .and_then(|name| comparisons.iter().find(|c| c.name == name));
            let reading = read(rule, comparison);
            let key = format!("{}/{}", rule.name, side);
            let track = tracks.entry(key.clone()).or_default();
            let Some(state) = step(track, &reading, rule.sustained, now) else {
                continue;
            };
            let mut evidence =
                evidence(rule, side, comparison, &reading, window, hour.hour_of_week);
            if let (AlertState::Cleared, Some((_, was, _))) = (state, &track.open) {
                // What the episode was before it cleared: the gate names it.
                evidence["was"] = json!(was);
            }
            let (id, opened_at) = match &track.open {
                Some((id, _, opened)) => (id.clone(), *opened),
                None => (format!("{key}@{}", now.timestamp_micros()), now),
            };
            track.open = match state {
                AlertState::Cleared => None,
                open => Some((id.clone(), open, opened_at)),
            };
            if state == AlertState::Cleared {
                track.calm_since = None;
            }
            changes.push(Change {
                id,
                rule: rule.name.clone(),
                side,
                state,
                opened_at,
                evidence,
                actions: Vec::new(),
            });
        }
    }
    let readings = Readings::after(Readings::load(store).await?, now, sides, rules.len());
    let kept = Kept {
        tracks: &tracks,
        readings: &readings,
        rules: &rules,
    };
    keep(store, plan, &routing, &kept, &changes, now).await?;
    Ok(changes)
}

fn evidence(
    rule: &Rule,
    side: Side,
    comparison: Option<&Comparison>,
    reading: &Reading,
    window: (DateTime<Utc>, DateTime<Utc>),
    hour_of_week: u32,
) -> Value {
    json!({
        "rule": rule.name,
        "kpi": rule.plan_kpi,
        "measured_as": rule.kpi,
        "side": side,
        "window": { "from": window.0, "to": window.1 },
        "hour_of_week": hour_of_week,
        "threshold": rule.threshold,
        "clear_below": rule.threshold / 2.0,
        "sustained_secs": rule.sustained.num_seconds(),
        "min_samples": rule.min_samples,
        "reading": reading,
        "worse_by": comparison.and_then(worse_by),
        "comparison": comparison,
    })
}

/// What an evaluation keeps besides its changes.
struct Kept<'a> {
    tracks: &'a BTreeMap<String, Track>,
    readings: &'a Readings,
    rules: &'a [Rule],
}

/// Keeps the changes (each with its audit entry and its actions queued), the tracks and the
/// readings, in one transaction.
async fn keep(
    store: &dyn Store,
    plan: &Plan,
    routing: &RoutingState,
    kept: &Kept<'_>,
    changes: &[Change],
    now: DateTime<Utc>,
) -> Result<(), RuntimeError> {
    let mut tx = store.begin().await?;
    for change in changes {
        let rule = kept.rules.iter().find(|r| r.name == change.rule);
        tx.put_alert(&AlertRecord {
            id: change.id.clone(),
            rule: change.rule.clone(),
            kpi: rule.map(|r| r.plan_kpi.clone()).unwrap_or_default(),
            state: change.state.as_str().to_owned(),
            action: rule.map(|r| r.then.as_str()).unwrap_or("notify").to_owned(),
            opened_at: change.opened_at,
            closed_at: (change.state == AlertState::Cleared).then_some(now),
            updated_at: now,
            evidence: change.evidence.clone(),
        })
        .await?;
        tx.append_audit(&NewAuditEntry::new(
            MONITOR,
            format!("alert.{}", change.state.as_str()),
            json!({ "alert": change.id, "at": now, "evidence": change.evidence }),
        ))
        .await?;
        if let Some(rule) = rule {
            for action in crate::actions::queue(plan, routing, rule, change, now) {
                tx.put_alert_action(&action).await?;
            }
        }
    }
    let value = serde_json::to_value(kept.tracks)
        .map_err(|e| RuntimeError::BadRoutingState(format!("alert state: {e}")))?;
    tx.put_run_state(STATE_KEY, &value).await?;
    let value = serde_json::to_value(kept.readings)
        .map_err(|e| RuntimeError::BadRoutingState(format!("alert readings: {e}")))?;
    tx.put_run_state(READINGS_KEY, &value).await?;
    tx.commit().await?;
    Ok(())
}

/// The people a rule pages, from `[people]` (ids the plan does not have are skipped; `plan
/// check` refuses them).
fn recipients(plan: &Plan, rule: &Rule) -> Vec<Recipient> {
    rule.notify
        .iter()
        .filter_map(|id| {
            let person = plan.people.get(id)?;
            Some(Recipient {
                id: id.clone(),
                name: person.name.clone(),
                email: person.email.as_str().to_owned(),
                role: person.role.as_str().to_owned(),
            })
        })
        .collect()
}

/// The page of a change: subject and the evidence in words.
pub fn page_of(plan: &Plan, rule: &Rule, change: &Change) -> Page {
    let e = &change.evidence;
    let number = |v: &Value| v.as_f64().map_or("-".to_owned(), |v| format!("{v:.2}"));
    let comparison = &e["comparison"];
    let subject = format!(
        "[cutover] {} {}: {} on the {} side",
        match change.state {
            AlertState::Raised => "ALERT",
            AlertState::Inconclusive => "INCONCLUSIVE",
            AlertState::Cleared => "cleared",
        },
        rule.name,
        rule.plan_kpi,
        change.side
    );
    let text = format!(
        "{subject}\nPlan: {}\nNow: {} (n={}) over {} to {}\nBaseline (hour {} of the week): mean {} \
         ± {} over {} weeks (n={})\nWorse by: {} (threshold {:.0} %, clears below {:.0} %)\n\
         Reading: {}\nAction: {}\nAlert: {}\n",
        plan.name,
        number(&comparison["now"]["value"]),
        comparison["now"]["samples"],
        e["window"]["from"].as_str().unwrap_or("-"),
        e["window"]["to"].as_str().unwrap_or("-"),
        e["hour_of_week"],
        number(&comparison["baseline"]["mean"]),
        number(&comparison["baseline"]["std_dev"]),
        comparison["baseline"]["weeks"],
        comparison["baseline"]["samples"],
        e["worse_by"]
            .as_f64()
            .map_or("-".to_owned(), |w| format!("{:.0} %", w * 100.0)),
        rule.threshold * 100.0,
        rule.threshold * 50.0,
        e["reading"],
        rule.then,
        change.id,
    );
    Page {
        subject,
        text,
        to: recipients(plan, rule),
    }
}

/// Evaluates the alerts every `every` (real time) at the time `clock` shows, until `shutdown`
/// (the leader's work in `cutover serve`); before each evaluation, probes each side's API with
/// `probers` ([`crate::probe`]) so the reading counts it.
pub async fn run(
    store: std::sync::Arc<dyn Store>,
    plan: Plan,
    pager: Pager,
    probers: Option<crate::probe::Probers>,
    every: std::time::Duration,
    clock: crate::clock::MonitorClock,
    shutdown: CancellationToken,
) {
    // A leader that starts (or takes over) first runs what a process that died left pending;
    // the first tick, at once, evaluates and runs them too.
    if let Err(e) =
        crate::actions::run_pending(store.as_ref(), &plan, &pager, &rules(&plan), clock.now()).await
    {
        tracing::warn!(error = %e, "Running the alerts' pending actions failed; trying again.");
    }
    let mut ticks = tokio::time::interval(every.max(std::time::Duration::from_secs(1)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        if let Some(probers) = &probers
            && let Err(e) = crate::probe::probe_sides(store.as_ref(), probers, clock.now()).await
        {
            tracing::warn!(error = %e, "Keeping the API probes failed; probing again next time.");
        }
        match evaluate(store.as_ref(), &plan, &pager, clock.now()).await {
            Ok(changes) => {
                for change in changes {
                    tracing::warn!(alert = %change.id, state = change.state.as_str(), "Alert changed.");
                }
            }
            Err(e) => tracing::warn!(error = %e, "Evaluating the alerts failed; trying again."),
        }
    }
}

#[cfg(test)]
#[path = "alerts_tests.rs"]
mod tests;
