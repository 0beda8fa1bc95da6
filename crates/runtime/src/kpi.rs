//! The continuity monitor's KPIs, computed one way for both platforms from the per-ticket facts
//! the backfill and the bridge record (`cutover_store::TicketFacts`, taken from canonical
//! records), and the baseline they are held against: an hour-of-week profile over the last weeks.
//! Three are not ticket facts: `api_response_p90` and `api_availability` count the monitor's
//! probes of each side's API ([`crate::probe`]), `channel_availability` the gateway's contacts;
//! only the store's aggregates ([`crate::kpi_stored`]) have them, and the in-memory [`compute`]
//! and [`baseline`] leave them without samples.
//!
//! Every KPI is defined once, in [`KPIS`]: `cutover kpi explain NAME`, `docs/kpis.md` (checked
//! against it by a test) and the computations all read that table.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, DurationRound, Timelike, Utc};
use cutover_model::Side;
use cutover_store::{FactFilter, KpiBucket, Percentiles, TicketFacts, WaveTickets};
use serde::Serialize;

/// Which way a KPI is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    /// Higher values are better.
    Higher,
    /// Lower values are better.
    Lower,
}

/// What a KPI is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The tickets' facts, which the backfill reads with the history: a baseline from day one.
    Tickets,
    /// The monitor's probes of each side's API: history from the first `cutover serve` on.
    Probes,
    /// The gateway's contacts: history from the first contact the gateway takes.
    Contacts,
}

/// The definition of one KPI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct KpiDef {
    /// Its name, as commands and the plan write it.
    pub name: &'static str,
    /// What it measures.
    pub measures: &'static str,
    /// How it is computed from the ticket facts over a window `[from, to)`.
    pub how: &'static str,
    /// What its sample size counts.
    pub samples: &'static str,
    /// Its unit.
    pub unit: &'static str,
    /// Which way is better.
    pub better: Better,
    /// What it is computed from.
    pub source: Source,
}

/// Every KPI, defined once.
pub const KPIS: &[KpiDef] = &[
    KpiDef {
        name: "first_contact_resolution",
        measures: "How often a ticket is solved with a single agent reply and not reopened.",
        how: "Of the tickets solved in the window, the share with at most one public reply by \
              someone other than the requester and never reopened.",
        samples: "tickets solved in the window",
        unit: "share (0 to 1)",
        better: Better::Higher,
        source: Source::Tickets,
    },
    KpiDef {
        name: "first_reply_p50",
        measures: "How long customers wait for the first agent reply (median).",
        how: "For the tickets created in the window, the median wait for the first reply (the \
              first public comment by someone other than the requester, after the opening \
              message) as of the window's end. A ticket still unanswered and unsolved then \
              counts as a wait not over yet (censored), so the median is the Kaplan-Meier \
              estimate; with every ticket answered it is the nearest-rank median. A slowdown \
              shows while customers wait, not only once they are answered. A ticket solved \
              without a reply in the window is not counted. While more than half the \
              customers still wait, the longest wait so far (the median is at least that).",
        samples: "tickets created in the window answered or still waiting at its end",
        unit: "minutes",
        better: Better::Lower,
        source: Source::Tickets,
    },
    KpiDef {
        name: "first_reply_p90",
        measures: "How long customers wait for the first agent reply (90th percentile).",
        how: "As first_reply_p50, the 90th percentile (Kaplan-Meier; nearest rank when every \
              ticket is answered; while more than a tenth still wait, the longest wait so far).",
        samples: "tickets created in the window answered or still waiting at its end",
        unit: "minutes",
        better: Better::Lower,
        source: Source::Tickets,
    },
    KpiDef {
        name: "resolution_p50",
        measures: "How long a ticket takes to be solved (median).",
        how: "For the tickets solved in the window, the median of solution time minus creation \
              time (nearest rank).",
        samples: "tickets solved in the window",
        unit: "hours",
        better: Better::Lower,
        source: Source::Tickets,
    },
    KpiDef {
        name: "resolution_p90",
        measures: "How long a ticket takes to be solved (90th percentile).",
        how: "As resolution_p50, the 90th percentile (nearest rank).",
        samples: "tickets solved in the window",
        unit: "hours",
        better: Better::Lower,
        source: Source::Tickets,
    },
    KpiDef {
        name: "csat",
        measures: "Customer satisfaction, both platforms' ratings on one 1-5 scale.",
        how: "The mean rating of the tickets solved in the window that were rated.",
        samples: "rated tickets solved in the window",
        unit: "score (1 to 5)",
        better: Better::Higher,
        source: Source::Tickets,
    },
    KpiDef {
        name: "backlog",
        measures: "How many tickets wait for a solution.",
        how: "The tickets created before the end of the window and not solved by then.",
        samples: "the tickets counted",
        unit: "tickets",
        better: Better::Lower,
        source: Source::Tickets,
    },
    KpiDef {
        name: "reopen_rate",
        measures: "How often a solved ticket comes back.",
        how: "Of the tickets solved in the window, the share seen unsolved again after being \
              seen solved.",
        samples: "tickets solved in the window",
        unit: "share (0 to 1)",
        better: Better::Lower,
        source: Source::Tickets,
    },
    KpiDef {
        name: "escalations",
        measures: "How often a ticket is escalated: its priority raised or its group changed.",
        how: "Of the tickets created in the window, the share seen with a higher priority than \
              before or in another group than before.",
        samples: "tickets created in the window",
        unit: "share (0 to 1)",
        better: Better::Lower,
        source: Source::Tickets,
    },
    KpiDef {
        name: "agent_productivity",
        measures: "Tickets solved per active agent-hour.",
        how: "The tickets with an assignee solved in the window, divided by the number of \
              distinct (assignee, clock hour) pairs in which those tickets were solved.",
        samples: "active agent-hours",
        unit: "tickets per agent-hour",
        better: Better::Higher,
        source: Source::Tickets,
    },
    KpiDef {
        name: "api_response_p90",
        measures: "How fast each platform's API answers cutover (90th percentile).",
        how: "While `cutover serve` leads, the monitor probes each side's API at every \
              `[monitor] every` with one cheap authenticated read, not retried (Zendesk \
              `GET /api/v2/users/me`, Freshdesk `GET /api/v2/agents/me`), timed from sending \
              to the end of the answer (a wait for the platform's rate budget is not counted; a \
              probe without an answer counts the time until it failed, at most 10 s: one not \
              answered by then is a failed probe of 10 000 ms). The nearest-rank 90th \
              percentile of the probes taken in the window. A probe is the side's: a channel or \
              group filter does not narrow it.",
        samples: "probes taken in the window",
        unit: "milliseconds",
        better: Better::Lower,
        source: Source::Probes,
    },
    KpiDef {
        name: "api_availability",
        measures: "How often each platform's API answers cutover at all.",
        how: "Of the probes taken in the window (see api_response_p90), the share the platform \
              answered with a 2xx status. A refused connection, a timeout, a 429 or a 5xx is a \
              failed probe.",
        samples: "probes taken in the window",
        unit: "share (0 to 1)",
        better: Better::Higher,
        source: Source::Probes,
    },
    KpiDef {
        name: "channel_availability",
        measures: "How often a contact the gateway accepted reaches a platform within five \
                   minutes.",
        how: "Of the contacts the gateway accepted in the window whose delivery can be judged \
              at the window's end (accepted at least five minutes before it, or delivered \
              before it), the share delivered to a platform (a ticket or a follow-up; a call \
              forwarded) within five minutes of acceptance and before the window's end. A \
              contact accepted in the window's last five minutes and not delivered yet is left \
              for a later window to judge. Per `[[channels]]` entry: `--channel NAME` counts \
              that entry's contacts, `--channel KIND` those of every entry of that kind, \
              `--wave` those of the wave's channels. On a side: the contacts delivered to it or last tried on it, \
              and on both sides those whose side is not known (not tried yet, or refused for \
              good). A group filter does not narrow it. Delivery is timed to the millisecond.",
        samples: "contacts accepted in the window and judged at its end",
        unit: "share (0 to 1)",
        better: Better::Higher,
        source: Source::Contacts,
    },
];

/// The definition of the KPI named `name`.
pub fn find(name: &str) -> Option<&'static KpiDef> {
    KPIS.iter().find(|k| k.name == name)
}

/// `docs/kpis.md`: every definition of [`KPIS`], as `cutover kpi explain --markdown` prints it.
pub fn markdown() -> String {
    let mut out = String::from(
        "# KPIs\n\n\
         <!-- Generated from crates/runtime/src/kpi.rs by `cutover kpi explain --markdown`; \
         a test checks it. -->\n\n\
         The continuity monitor computes every KPI one way for both platforms, from the facts \
         the backfill and the bridge record of each ticket they read (canonical records, never \
         a platform's JSON), and from what cutover sees itself (its probes of each side's API, \
         the gateway's contacts): per side, channel, group and wave, over a window. A wave's \
         tickets (`--wave N`, its number or name) are those whose channel is the kind of one of \
         its `[[channels]]` and those in one of its groups (by either platform's name, as the \
         backfill read the groups; its copy on the other side through the links); its contacts \
         are its channels'. `--channel` takes a ticket's channel kind or a `[[channels]]` name: \
         a name means its kind's tickets (tickets are kept per kind, so entries of one kind \
         share them; `sms` and `social` are `other`) and its own contacts. `cutover kpi` shows \
         the last hour against the baseline of the same hour of the week (`cutover baseline`: \
         the last `[baseline] weeks` weeks, default 4, each KPI's mean, standard deviation, \
         lowest and highest weekly value, and sample sizes). A comparison with fewer than \
         5 samples now, or fewer than 2 weeks of baseline with a value, is **inconclusive**, \
         never a pass. Hours are UTC; hour 0 of the week is Monday 00:00.\n",
    );
    for def in KPIS {
        let better = match def.better {
            Better::Higher => "higher",
            Better::Lower => "lower",
        };
        out.push_str(&format!(
            "\n## {}\n\n{}\n\n- How: {}\n- Unit: {}\n- Samples: {}\n- Better: {}\n",
            def.name, def.measures, def.how, def.unit, def.samples, better
        ));
    }
    out
}

/// Fewer samples than this in the window (or fewer weeks with a value in the baseline than
/// [`MIN_WEEKS`]) make a comparison inconclusive.
pub const MIN_SAMPLES: u64 = 5;
/// See [`MIN_SAMPLES`].
pub const MIN_WEEKS: u32 = 2;

/// Which tickets a computation counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Filter {
    /// Only this side's tickets.
    pub side: Option<Side>,
    /// Only this channel's (`email`, `chat`, …).
    pub channel: Option<String>,
    /// Only this group's (by id on its side).
    pub group: Option<String>,
    /// Only a wave's ([`crate::kpi_scope::wave_tickets`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wave: Option<WaveTickets>,
    /// Only the gateway's contacts of these `[[channels]]` entries (`channel_availability`);
    /// `None`: every contact ([`crate::kpi_scope::channel`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway_channels: Option<Vec<String>>,
}

impl Filter {
    /// The same filter, as the store's aggregation takes it.
    pub fn to_store(&self) -> FactFilter {
        FactFilter {
            side: self.side,
            channel: self.channel.clone(),
            group: self.group.clone(),
            wave: self.wave.clone(),
            gateway_channels: self.gateway_channels.clone(),
        }
    }

    fn keeps(&self, facts: &TicketFacts) -> bool {
        let r = &facts.reading;
        self.side.is_none_or(|s| s == r.side)
            && self.channel.as_ref().is_none_or(|c| *c == r.channel)
            && self
                .group
                .as_ref()
                .is_none_or(|g| r.group.as_ref() == Some(g))
            && self
                .wave
                .as_ref()
                .is_none_or(|w| w.keeps(r.side, &r.channel, r.group.as_deref()))
    }
}

/// A KPI's value over a window, with its sample size.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figure {
    /// The KPI.
    pub name: &'static str,
    /// Its value; `None` when nothing was there to measure.
    pub value: Option<f64>,
    /// How many samples it is computed from (see [`KpiDef::samples`]).
    pub samples: u64,
}

/// The nearest-rank percentile `q` (0 to 1) of `values`, `None` when empty.
pub fn percentile(values: &mut [f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    #[expect(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a rank among a slice's indices"
    )]
    let rank = ((q.clamp(0.0, 1.0) * n as f64).ceil() as usize).clamp(1, n);
    values.get(rank - 1).copied()
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// Every KPI of [`KPIS`] over `[from, to)`, for the tickets `filter` keeps.
pub fn compute(
    facts: &[TicketFacts],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    filter: &Filter,
) -> Vec<Figure> {
    let within = |t: DateTime<Utc>| t >= from && t < to;
    let kept: Vec<&TicketFacts> = facts.iter().filter(|f| filter.keeps(f)).collect();
    let created: Vec<&TicketFacts> = kept
        .iter()
        .copied()
        .filter(|f| within(f.reading.created_at))
        .collect();
    let solved: Vec<&TicketFacts> = kept
        .iter()
        .copied()
        .filter(|f| f.reading.solved_at.is_some_and(within))
        .collect();
    let backlog = kept
        .iter()
        .filter(|f| f.reading.created_at < to && f.reading.solved_at.is_none_or(|s| s >= to))
        .count();
    figures(&created, &solved, backlog, to)
}

/// Every KPI from the tickets created in a window ending at `end`, those solved in it and the
/// backlog at its end.
fn figures(
    created: &[&TicketFacts],
    solved: &[&TicketFacts],
    backlog: usize,
    end: DateTime<Utc>,
) -> Vec<Figure> {
    figures_of(&aggregate(created, solved, end), count(backlog))
}

/// How long `facts`' customer had waited for a first reply as of `end`, and whether the wait
/// had ended (answered) or still went on (unanswered and unsolved then); `None` for a ticket
/// solved without a reply before `end`.
fn wait_as_of(facts: &TicketFacts, end: DateTime<Utc>) -> Option<(i64, bool)> {
    let r = &facts.reading;
    let (until, ended) = match r.first_reply_at {
        Some(at) if at < end => (at, true),
        Some(_) => (end, false),
        None if r.solved_at.is_none_or(|s| s >= end) => (end, false),
        None => return None,
    };
    Some(((until - r.created_at).num_seconds(), ended))
}

/// The nearest-rank median and 90th percentile of whole seconds, as the store computes them.
fn percentiles(mut secs: Vec<i64>) -> Percentiles {
    secs.sort_unstable();
    let n = secs.len();
    // Ranks ceil(n / 2) and ceil(9 n / 10), as [`percentile`] picks them.
    let at = |rank: usize| secs.get(rank.max(1) - 1).copied();
    Percentiles {
        n: count(n),
        p50_secs: at(n.div_ceil(2)),
        p90_secs: at((9 * n).div_ceil(10)),
    }
}

/// What the KPIs need of the tickets of a window ending at `end` (the same aggregate the
/// store computes in SQL, [`cutover_store::Store::kpi_buckets`]), from the tickets themselves.
fn aggregate(created: &[&TicketFacts], solved: &[&TicketFacts], end: DateTime<Utc>) -> KpiBucket {
    let mut waits: Vec<(i64, bool)> = created.iter().filter_map(|f| wait_as_of(f, end)).collect();
    let first_reply = Percentiles::of_waits(&mut waits);
    let resolution = percentiles(
        solved
            .iter()
            .filter_map(|f| Some((f.reading.solved_at? - f.reading.created_at).num_seconds()))
            .collect(),
    );
    let by_agents: Vec<(&str, DateTime<Utc>)> = solved
        .iter()
        .filter_map(|f| {
            let at = f.reading.solved_at?;
            Some((f.reading.assignee.as_deref()?, at))
        })
        .collect();
    let agent_hours: BTreeSet<(&str, i64)> = by_agents
        .iter()
        .map(|(agent, at)| (*agent, at.timestamp().div_euclid(3600)))
        .collect();
    let ratings: Vec<u64> = solved
        .iter()
        .filter_map(|f| f.satisfaction.map(u64::from))
        .collect();
    let counted = |keep: &dyn Fn(&TicketFacts) -> bool, of: &[&TicketFacts]| {
        count(of.iter().filter(|f| keep(f)).count())
    };
    KpiBucket {
        created: count(created.len()),
        escalated: counted(&|f| f.priority_raised || f.reassigned, created),
        first_reply,
        solved: count(solved.len()),
        first_contact: counted(
            &|f| f.reading.agent_replies.unwrap_or(0) <= 1 && f.reopened == 0,
            solved,
        ),
        reopened: counted(&|f| f.reopened > 0, solved),
        rated: count(ratings.len()),
        rating_sum: ratings.iter().sum(),
        resolution,
        solved_assigned: count(by_agents.len()),
        agent_hours: count(agent_hours.len()),
        // Only the store's buckets need it; a window's backlog is counted apart.
        left: 0,
        // Probes and the gateway's contacts are not ticket facts: only the store has them.
        probes: 0,
        probes_ok: 0,
        probe_p90_ms: None,
        contacts: 0,
        contacts_in_time: 0,
    }
}

/// Every KPI of [`KPIS`], in its order, from a window's aggregate and the backlog at its end.
pub fn figures_of(bucket: &KpiBucket, backlog: u64) -> Vec<Figure> {
    #[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
    let ratio = |part: u64, whole: u64| (whole > 0).then(|| part as f64 / whole as f64);
    #[expect(
        clippy::cast_precision_loss,
        reason = "durations in seconds far below 2^52"
    )]
    let minutes = |secs: Option<i64>| secs.map(|s| s as f64 / 60.0);
    #[expect(
        clippy::cast_precision_loss,
        reason = "durations in seconds far below 2^52"
    )]
    let hours = |secs: Option<i64>| secs.map(|s| s as f64 / 3600.0);
    #[expect(clippy::cast_precision_loss, reason = "milliseconds far below 2^52")]
    let millis = |ms: Option<i64>| ms.map(|m| m as f64);
    #[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
    let backlog_value = backlog as f64;
    let figure = |name: &'static str, value: Option<f64>, samples: u64| Figure {
        name,
        value,
        samples,
    };
    let b = bucket;
    vec![
        figure(
            "first_contact_resolution",
            ratio(b.first_contact, b.solved),
            b.solved,
        ),
        figure(
            "first_reply_p50",
            minutes(b.first_reply.p50_secs),
            b.first_reply.n,
        ),
        figure(
            "first_reply_p90",
            minutes(b.first_reply.p90_secs),
            b.first_reply.n,
        ),
        figure(
            "resolution_p50",
            hours(b.resolution.p50_secs),
            b.resolution.n,
        ),
        figure(
            "resolution_p90",
            hours(b.resolution.p90_secs),
            b.resolution.n,
        ),
        figure("csat", ratio(b.rating_sum, b.rated), b.rated),
        figure("backlog", Some(backlog_value), backlog),
        figure("reopen_rate", ratio(b.reopened, b.solved), b.solved),
        figure("escalations", ratio(b.escalated, b.created), b.created),
        figure(
            "agent_productivity",
            ratio(b.solved_assigned, b.agent_hours),
            b.agent_hours,
        ),
        figure("api_response_p90", millis(b.probe_p90_ms), b.probes),
        figure("api_availability", ratio(b.probes_ok, b.probes), b.probes),
        figure(
            "channel_availability",
            ratio(b.contacts_in_time, b.contacts),
            b.contacts,
        ),
    ]
}

/// The hour of the week of `t` in UTC: 0 is Monday 00:00 to 01:00, 167 Sunday 23:00 to 24:00.
pub fn hour_of_week(t: DateTime<Utc>) -> u32 {
    t.weekday().num_days_from_monday() * 24 + t.hour()
}

/// The start of the clock hour `t` falls in.
pub fn hour_start(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(Duration::hours(1)).unwrap_or(t)
}

/// A KPI's spread over the same hour of the week in the previous weeks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spread {
    /// The KPI.
    pub name: &'static str,
    /// The mean of the weekly values.
    pub mean: Option<f64>,
    /// Their (population) standard deviation.
    pub std_dev: Option<f64>,
    /// The lowest and highest weekly value.
    pub min: Option<f64>,
    /// See `min`.
    pub max: Option<f64>,
    /// How many weeks had a value.
    pub weeks: u32,
    /// The samples of all those weeks together.
    pub samples: u64,
}

fn spread(name: &'static str, figures: &[&Figure]) -> Spread {
    let values: Vec<f64> = figures.iter().filter_map(|f| f.value).collect();
    #[expect(clippy::cast_precision_loss, reason = "a few weeks")]
    let n = values.len() as f64;
    let mean = (!values.is_empty()).then(|| values.iter().sum::<f64>() / n);
    let std_dev = mean.map(|m| (values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n).sqrt());
    Spread {
        name,
        mean,
        std_dev,
        min: values.iter().copied().reduce(f64::min),
        max: values.iter().copied().reduce(f64::max),
        weeks: u32::try_from(values.len()).unwrap_or(u32::MAX),
        samples: figures.iter().map(|f| f.samples).sum(),
    }
}

/// The baseline of one hour of the week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HourProfile {
    /// The hour of the week (see [`hour_of_week`]).
    pub hour_of_week: u32,
    /// Each KPI's spread, in the order of [`KPIS`].
    pub kpis: Vec<Spread>,
}

/// An hour-of-week profile of every KPI over the `weeks` weeks before `until`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Baseline {
    /// How many weeks it covers.
    pub weeks: u32,
    /// The start of the first hour it covers.
    pub from: DateTime<Utc>,
    /// The end of the last hour it covers (the start of the hour `until` falls in).
    pub to: DateTime<Utc>,
    /// The tickets it counts.
    pub filter: Filter,
    /// All 168 hours of the week, Monday 00:00 UTC first.
    pub hours: Vec<HourProfile>,
}

impl Baseline {
    /// The profile of the hour of the week `t` falls in.
    pub fn hour(&self, t: DateTime<Utc>) -> Option<&HourProfile> {
        self.hours.get(usize::try_from(hour_of_week(t)).ok()?)
    }

    /// The profile of an hour-long window starting at `from`, which straddles two clock hours
    /// unless it starts on one: the two hours' profiles blended by how much of the window each
    /// covers (means and standard deviations weighted, lows and highs of both, the fewer weeks,
    /// samples weighted). A window at 07:40 is mostly the 08:00 hour, and on a rising morning
    /// holding it against 07:00 alone would read the ramp as a degradation. Named by the first
    /// hour.
    pub fn window(&self, from: DateTime<Utc>) -> Option<HourProfile> {
        let first = self.hour(from)?;
        let next = hour_start(from) + Duration::hours(1);
        let Some(second) = self.hour(next) else {
            return Some(first.clone());
        };
        #[expect(clippy::cast_precision_loss, reason = "seconds in an hour")]
        let w1 = (next - from).num_seconds() as f64 / 3600.0;
        let w2 = 1.0 - w1;
        let blend = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => Some(w1 * a + w2 * b),
            (a, b) => a.or(b),
        };
        let kpis = first
            .kpis
            .iter()
            .zip(&second.kpis)
            .map(|(a, b)| {
                #[expect(
                    clippy::cast_precision_loss,
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    reason = "sample counts far below 2^52"
                )]
                let samples = (w1 * a.samples as f64 + w2 * b.samples as f64).round() as u64;
                Spread {
                    name: a.name,
                    mean: blend(a.mean, b.mean),
                    std_dev: blend(a.std_dev, b.std_dev),
                    min: [a.min, b.min].into_iter().flatten().reduce(f64::min),
                    max: [a.max, b.max].into_iter().flatten().reduce(f64::max),
                    weeks: match (a.mean, b.mean) {
                        (Some(_), Some(_)) if w2 > 0.0 => a.weeks.min(b.weeks),
                        (Some(_), _) | (None, None) => a.weeks,
                        (None, Some(_)) => b.weeks,
                    },
                    samples,
                }
            })
            .collect();
        Some(HourProfile {
            hour_of_week: first.hour_of_week,
            kpis,
        })
    }
}

/// The time span the facts of a baseline of `weeks` weeks before `until` must cover.
pub fn baseline_span(until: DateTime<Utc>, weeks: u32) -> (DateTime<Utc>, DateTime<Utc>) {
    let to = hour_start(until);
    (to - Duration::weeks(i64::from(weeks)), to)
}

/// The baseline: every KPI over each clock hour of the `weeks` weeks before the hour `until`
/// falls in, grouped by hour of the week.
pub fn baseline(
    facts: &[TicketFacts],
    until: DateTime<Utc>,
    weeks: u32,
    filter: &Filter,
) -> Baseline {
    let (from, to) = baseline_span(until, weeks);
    // Each clock hour's tickets by when they were created and solved, and the backlog at each
    // hour's end from the times tickets came and left (sorted), so each fact is touched a few
    // times rather than once per hour.
    let kept: Vec<&TicketFacts> = facts.iter().filter(|f| filter.keeps(f)).collect();
    let hour_index = |t: DateTime<Utc>| (t - from).num_hours();
    let n_hours = (to - from).num_hours().max(0);
    let slots = usize::try_from(n_hours).unwrap_or(0);
    let slot = |t: DateTime<Utc>| {
        (t >= from && t < to)
            .then(|| usize::try_from(hour_index(t)).ok())
            .flatten()
    };
    let mut created: Vec<Vec<&TicketFacts>> = vec![Vec::new(); slots];
    let mut solved: Vec<Vec<&TicketFacts>> = vec![Vec::new(); slots];
    let mut came: Vec<DateTime<Utc>> = Vec::with_capacity(kept.len());
    let mut left: Vec<DateTime<Utc>> = Vec::new();
    for f in &kept {
        let r = &f.reading;
        came.push(r.created_at);
        // Solved at or before creation (a platform's rounding) leaves as it comes.
        if let Some(s) = r.solved_at {
            left.push(s.max(r.created_at));
        }
        if let Some(list) = slot(r.created_at).and_then(|i| created.get_mut(i)) {
            list.push(f);
        }
        if let Some(list) = r.solved_at.and_then(slot).and_then(|i| solved.get_mut(i)) {
            list.push(f);
        }
    }
    came.sort_unstable();
    left.sort_unstable();
    let hourly = created
        .iter()
        .zip(&solved)
        .enumerate()
        .map(|(i, (created, solved))| {
            let end = from + Duration::hours(i64::try_from(i).unwrap_or(0) + 1);
            let backlog = came
                .partition_point(|t| *t < end)
                .saturating_sub(left.partition_point(|t| *t < end));
            figures(created, solved, backlog, end)
        });
    profile(from, to, weeks, filter, hourly)
}

/// The baseline from every KPI of each clock hour from `from` on (in order), grouped by hour of
/// the week.
pub(crate) fn profile(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    weeks: u32,
    filter: &Filter,
    hourly: impl Iterator<Item = Vec<Figure>>,
) -> Baseline {
    let mut by_hour: Vec<Vec<Vec<Figure>>> = vec![Vec::new(); 168];
    for (i, figures) in hourly.enumerate() {
        let start = from + Duration::hours(i64::try_from(i).unwrap_or(0));
        if let Some(slot) = usize::try_from(hour_of_week(start))
            .ok()
            .and_then(|h| by_hour.get_mut(h))
        {
            slot.push(figures);
        }
    }
    let hours = by_hour
        .iter()
        .zip(0u32..)
        .map(|(weekly, hour)| HourProfile {
            hour_of_week: hour,
            kpis: KPIS
                .iter()
                .enumerate()
                .map(|(i, def)| {
                    let figures: Vec<&Figure> = weekly.iter().filter_map(|w| w.get(i)).collect();
                    spread(def.name, &figures)
                })
                .collect(),
        })
        .collect();
    Baseline {
        weeks,
        from,
        to,
        filter: filter.clone(),
        hours,
    }
}

/// How a KPI now compares with its baseline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "verdict", content = "reason")]
pub enum Verdict {
    /// Too little data to tell: never a pass.
    Inconclusive(String),
    /// Within two standard deviations of the baseline's mean.
    WithinSpread,
    /// Further than two standard deviations from the baseline's mean.
    OutsideSpread,
}

/// A KPI now against its baseline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// The KPI.
    pub name: &'static str,
    /// Its unit.
    pub unit: &'static str,
    /// Its value over the window.
    pub now: Figure,
    /// The baseline of the window's hour of the week.
    pub baseline: Spread,
    /// `(now - mean) / mean`, when both are known and the mean is not zero.
    pub deviation: Option<f64>,
    /// What the comparison comes to.
    #[serde(flatten)]
    pub verdict: Verdict,
}

/// How far back the baseline of a window `[from, to)` over `periods` earlier periods reaches:
/// each period is the window shifted back by whole weeks, at least its own length, so the hours
/// of the week line up and the periods do not overlap.
pub fn window_baseline_start(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    periods: u32,
) -> DateTime<Utc> {
    from - period_shift(from, to) * i32::try_from(periods).unwrap_or(i32::MAX)
}

fn period_shift(from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
    let span = (to - from).num_seconds().max(1);
    let week = Duration::weeks(1).num_seconds();
    Duration::weeks((span + week - 1) / week)
}

/// Every KPI's spread over the same window in `periods` earlier periods (see
/// [`window_baseline_start`]), in the order of [`KPIS`]: the baseline a review compares its
/// window with.
pub fn window_baseline(
    facts: &[TicketFacts],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    periods: u32,
    filter: &Filter,
) -> Vec<Spread> {
    let earlier: Vec<Vec<Figure>> = earlier_periods(from, to, periods)
        .map(|(a, b)| compute(facts, a, b, filter))
        .collect();
    spreads(&earlier)
}

/// The `periods` earlier periods of a window `[from, to)` (see [`window_baseline_start`]), the
/// latest first.
pub(crate) fn earlier_periods(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    periods: u32,
) -> impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)> {
    let shift = period_shift(from, to);
    (1..=i32::try_from(periods).unwrap_or(i32::MAX))
        .map(move |k| (from - shift * k, to - shift * k))
}

/// Every KPI's spread over the figures of the earlier periods, in the order of [`KPIS`].
pub(crate) fn spreads(earlier: &[Vec<Figure>]) -> Vec<Spread> {
    KPIS.iter()
        .enumerate()
        .map(|(i, def)| {
            let figures: Vec<&Figure> = earlier.iter().filter_map(|p| p.get(i)).collect();
            spread(def.name, &figures)
        })
        .collect()
}

/// Compares each figure with the spread of the same KPI.
pub fn compare(now: &[Figure], baseline: &HourProfile) -> Vec<Comparison> {
    compare_spreads(now, &baseline.kpis)
}

/// Compares each figure with the spread of the same KPI (both in the order of [`KPIS`]). A
/// spread's `weeks` counts the periods with a value.
pub fn compare_spreads(now: &[Figure], spreads: &[Spread]) -> Vec<Comparison> {
    now.iter()
        .zip(spreads)
        .map(|(figure, spread)| {
            let unit = find(figure.name).map_or("", |d| d.unit);
            let deviation = match (figure.value, spread.mean) {
                (Some(v), Some(m)) if m != 0.0 => Some((v - m) / m.abs()),
                _ => None,
            };
            let verdict = verdict(figure, spread);
            Comparison {
                name: figure.name,
                unit,
                now: figure.clone(),
                baseline: spread.clone(),
                deviation,
                verdict,
            }
        })
        .collect()
}

fn verdict(figure: &Figure, spread: &Spread) -> Verdict {
    if figure.samples < MIN_SAMPLES {
        return Verdict::Inconclusive(format!(
            "{} samples now, at least {MIN_SAMPLES} needed",
            figure.samples
        ));
    }
    if spread.weeks < MIN_WEEKS {
        return Verdict::Inconclusive(format!(
            "{} weeks of baseline with a value, at least {MIN_WEEKS} needed",
            spread.weeks
        ));
    }
    match (figure.value, spread.mean, spread.std_dev) {
        (Some(v), Some(m), Some(sd)) if (v - m).abs() <= 2.0 * sd => Verdict::WithinSpread,
        (Some(_), Some(_), Some(_)) => Verdict::OutsideSpread,
        _ => Verdict::Inconclusive(String::from("no value to compare")),
    }
}

#[cfg(test)]
#[path = "kpi_tests.rs"]
mod tests;
