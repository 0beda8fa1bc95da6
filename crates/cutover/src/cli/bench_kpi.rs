//! `cutover bench kpi`: how long the continuity monitor's KPIs and baseline take over a large
//! history, how much memory they need, and how soon a degradation is caught.
//!
//! For each store backend (SQLite file, PostgreSQL database) and each history size, it writes
//! the plan a user gets from `cutover init`, fills a fresh store with generated per-ticket facts
//! (imported in bulk, [`cutover_store::Store::import_ticket_facts`]) and runs `cutover baseline
//! --json`, `cutover kpi --json` and `cutover report --window 1m --json` (the month's review:
//! its KPIs against four earlier periods, its volume, twelve weeks of heatmaps) as child
//! processes, the user's commands on the user's
//! store, so the time and peak memory measured (VmHWM sampled from `/proc/<pid>/status`) are
//! theirs alone, not the generator's. All three aggregate in the store (SQL,
//! [`cutover_store::Store::kpi_buckets`], [`cutover_store::Store::kpi_created`]), so they read a
//! few rows a bucket, not every ticket.
//! The same computation is also timed in this process.
//!
//! Then the time to alert: a history of `--alert-tickets-per-hour` tickets, in which agents
//! become 60 % slower at a known simulated moment (when the wave moves every new ticket to the
//! new side), is watched minute by minute of simulated time with the product's rule
//! (`cutover_runtime::alerts`: `rules` of the plan, `read`, `step`), the plan's first
//! `[[alerts]]` that pauses a wave (`wait_time` 50 % worse than the baseline and outside its
//! spread, sustained 15 minutes, at least `min_samples` samples): each minute, the last hour of
//! the side that takes customers as it could be known then (replies after that minute not yet
//! seen; waits still going on count as such, the Kaplan-Meier median) against the old side's
//! hour-of-week baseline of the two clock hours the window straddles, blended.
//!
//! Floors (the bench exits 1 when one is missed):
//! - `cutover baseline` and `cutover kpi` each take at most [`FLOOR_SECONDS_BASE`] +
//!   [`FLOOR_SECONDS_PER_MILLION`] seconds per million tickets (release build), and these two
//!   and `cutover report` at most [`FLOOR_MIB`] MiB at their peak whatever the size: the read
//!   is per bucket, so memory must not grow with the tickets (the report's time has no floor
//!   yet: it runs a dozen statements per side and period, and its heatmaps read twelve weeks);
//! - every ticket is counted by the baseline and by the report's heatmap;
//! - over `--alert-seeds` degraded histories (seeds from `--seed`), every one is caught, the
//!   median alert comes at most [`FLOOR_ALERT_MINUTES`] simulated minutes after the degradation
//!   starts, and no alert is raised before it in any.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use anyhow::Context as _;
use chrono::{DateTime, Duration, TimeZone, Utc};
use clap::{Args, ValueEnum};
use cutover_model::{PlatformId, PlatformKind, Side};
use cutover_plan::plan::names::AlertAction;
use cutover_runtime::alerts;
use cutover_runtime::kpi::{self, Filter};
use cutover_runtime::kpi_stored;
use cutover_store::{Store, TicketFacts, TicketReading};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};

use super::bench_backfill::{engine, run_sampled};
use crate::exit::{Class, Outcome, fail};

/// Floors: each command over a history of `tickets` must take at most
/// `FLOOR_SECONDS_BASE + FLOOR_SECONDS_PER_MILLION × tickets / 1,000,000` seconds. The base
/// covers starting the process, opening the store and checking its migrations; the rest is
/// the database scanning the span's rows a few times per side (the in-memory computation this
/// replaced took 68 s for `baseline` and 93 s for `kpi` over 100,000 tickets on PostgreSQL in
/// a debug build; figures in the README's "KPI benchmark").
const FLOOR_SECONDS_BASE: f64 = 2.0;
/// … see [`FLOOR_SECONDS_BASE`].
const FLOOR_SECONDS_PER_MILLION: f64 = 10.0;
/// … and at most this many MiB at its peak, whatever the size.
const FLOOR_MIB: f64 = 64.0;
/// The alert must come at most this many simulated minutes after the degradation starts.
const FLOOR_ALERT_MINUTES: i64 = 60;

/// How much slower agents become in the degradation (60 % slower: replies take 1.6 times as
/// long), as the test scenario has it.
const SLOWDOWN: f64 = 1.6;

/// Rows per call of `import_ticket_facts`.
const IMPORT_BATCH: usize = 20_000;

/// Options of `cutover bench kpi`.
#[derive(Debug, Args)]
pub struct KpiBenchArgs {
    /// Sizes of the history, in tickets, comma-separated: one run per size and store.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "100000,1000000",
        value_name = "N,…"
    )]
    pub tickets: Vec<usize>,
    /// Which store backends: sqlite, postgres or all. PostgreSQL is a throwaway database on
    /// the local server, as the tests make (`CUTOVER_TEST_POSTGRES` or
    /// postgres://postgres@127.0.0.1:5432).
    #[arg(long, value_enum, default_value_t = KpiBenchBackend::All)]
    pub backend: KpiBenchBackend,
    /// Tickets an hour, on average over the week, in the history watched for the
    /// degradation (150 is 100,000 tickets over four weeks).
    #[arg(long, default_value_t = 150.0, value_name = "N")]
    pub alert_tickets_per_hour: f64,
    /// Seed of the generated history.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// How many degraded histories to watch (seeds `--seed` on): a 60 % slowdown against a
    /// 50 % threshold is caught sooner or later as the hour's sample falls, so the time to
    /// alert is a distribution, reported per history and as its median.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub alert_seeds: u64,
}

/// The store backends `cutover bench kpi` measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KpiBenchBackend {
    /// A SQLite file.
    Sqlite,
    /// A PostgreSQL database.
    Postgres,
    /// Each of them.
    All,
}

/// The last moment of the generated history: a Monday, 10:00 UTC (a busy hour).
fn history_end() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0)
        .single()
        .unwrap_or(DateTime::UNIX_EPOCH)
}

/// The channels of the generated tickets: name, share, mean minutes to the first reply and
/// mean hours to a solution.
const CHANNELS: [(&str, f64, f64, f64); 6] = [
    ("email", 0.45, 40.0, 20.0),
    ("web_form", 0.20, 35.0, 16.0),
    ("chat", 0.18, 2.0, 0.6),
    ("voice", 0.08, 1.0, 0.4),
    ("whatsapp", 0.06, 8.0, 3.0),
    ("api", 0.03, 60.0, 30.0),
];

/// What the generator makes.
struct History {
    tickets: usize,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    seed: u64,
    /// From this moment, every new ticket lands on the new side, where agents are
    /// [`SLOWDOWN`] times slower.
    degraded_from: Option<DateTime<Utc>>,
}

/// Picks an index by weight.
fn pick(rng: &mut StdRng, cumulative: &[f64]) -> usize {
    let total = cumulative.last().copied().unwrap_or(0.0);
    let x = rng.random::<f64>() * total;
    cumulative
        .partition_point(|c| *c <= x)
        .min(cumulative.len().saturating_sub(1))
}

fn cumulate(weights: impl Iterator<Item = f64>) -> Vec<f64> {
    weights
        .scan(0.0, |sum, w| {
            *sum += w;
            Some(*sum)
        })
        .collect()
}

/// An exponential draw of mean `mean`.
fn exponential(rng: &mut StdRng, mean: f64) -> f64 {
    -mean * (1.0 - rng.random::<f64>()).ln()
}

fn after(t: DateTime<Utc>, minutes: f64) -> DateTime<Utc> {
    #[expect(clippy::cast_possible_truncation, reason = "minutes far below 2^53")]
    let micros = (minutes * 60_000_000.0) as i64;
    t + Duration::microseconds(micros)
}

/// The ticket facts of a helpdesk over `[from, to)`, as the backfill and the bridge would have
/// recorded them by `to`: arrivals following the traffic generator's hour-of-week curve, six
/// channels with their own response times (longer when busy), eight groups a side, 60 agents,
/// a tenth already on the new side, some never replied to or still open, some reopened,
/// escalated or rated. Oldest first.
fn generate(spec: &History) -> anyhow::Result<Vec<TicketFacts>> {
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let hours = usize::try_from((spec.to - spec.from).num_hours()).unwrap_or(0);
    let start = |h: usize| spec.from + Duration::hours(i64::try_from(h).unwrap_or(0));
    let load: Vec<f64> = (0..hours)
        .map(|h| cutover_sim::traffic::curve::load(start(h)))
        .collect();
    let by_hour = cumulate(load.iter().copied());
    let by_channel = cumulate(CHANNELS.iter().map(|c| c.1));
    let by_rating = cumulate([0.07, 0.05, 0.08, 0.25, 0.55].into_iter());
    let mut created: Vec<DateTime<Utc>> = (0..spec.tickets)
        .map(|_| {
            let h = pick(&mut rng, &by_hour);
            after(start(h), rng.random::<f64>() * 60.0)
        })
        .collect();
    created.sort_unstable();
    created
        .into_iter()
        .enumerate()
        .map(|(i, created_at)| {
            let (channel, _, reply_mean, solve_mean) = CHANNELS
                .get(pick(&mut rng, &by_channel))
                .copied()
                .unwrap_or(CHANNELS[0]);
            let busy = load
                .get(usize::try_from((created_at - spec.from).num_hours()).unwrap_or(0))
                .copied()
                .unwrap_or(1.0);
            let degraded = spec.degraded_from.is_some_and(|d| created_at >= d);
            let side = if degraded || rng.random_bool(0.1) {
                Side::New
            } else {
                Side::Old
            };
            let slower = if degraded { SLOWDOWN } else { 1.0 };
            let wait = exponential(&mut rng, reply_mean * (0.6 + 0.4 * busy) * slower);
            let first_reply_at =
                Some(after(created_at, wait)).filter(|t| rng.random_bool(0.97) && *t < spec.to);
            let resolve = exponential(&mut rng, solve_mean * 60.0 * slower);
            let solved_at = first_reply_at
                .map(|r| after(r, resolve))
                .filter(|t| rng.random_bool(0.92) && *t < spec.to);
            let solved = solved_at.is_some();
            let agent_replies = match first_reply_at {
                None => 0,
                Some(_) if rng.random_bool(0.55) => 1,
                Some(_) => rng.random_range(2..6),
            };
            let group = rng.random_range(1..=8u32);
            let agent = group * 10 + rng.random_range(0..8u32);
            let priority_rank = [1, 2, 2, 2, 2, 3, 3, 4][rng.random_range(0..8usize)];
            let ticket = PlatformId::parse(format!("{}", 1_000_000 + i))
                .context("number a generated ticket")?;
            Ok(TicketFacts {
                reading: TicketReading {
                    side,
                    ticket,
                    channel: channel.to_string(),
                    group: Some(group.to_string()),
                    assignee: (first_reply_at.is_some() || rng.random_bool(0.5))
                        .then(|| agent.to_string()),
                    priority_rank: Some(priority_rank),
                    created_at,
                    first_reply_at,
                    agent_replies: Some(agent_replies),
                    solved_at,
                },
                reopened: i64::from(solved && rng.random_bool(0.06)),
                priority_raised: rng.random_bool(0.04),
                reassigned: rng.random_bool(0.07),
                satisfaction: (solved && rng.random_bool(0.3))
                    .then(|| u8::try_from(pick(&mut rng, &by_rating) + 1).unwrap_or(5)),
            })
        })
        .collect()
}

/// Runs `cutover bench kpi` and prints its report.
pub(crate) async fn kpi(args: KpiBenchArgs) -> anyhow::Result<Outcome> {
    if args.tickets.is_empty() || args.tickets.contains(&0) {
        return Err(fail(Class::Config, "--tickets needs sizes above zero"));
    }
    if !(args.alert_tickets_per_hour > 0.0 && args.alert_tickets_per_hour < 1e6) {
        return Err(fail(
            Class::Config,
            "--alert-tickets-per-hour must be above zero and below a million",
        ));
    }
    let dir = tempfile::tempdir().context("make a working directory")?;
    // The plan a user starts from: its [baseline] and [[alerts]] are the defaults under test.
    let plan_path = dir.path().join("cutover.toml");
    let plan_text = cutover_plan::plan::init::render(&cutover_plan::plan::init::InitOptions {
        from: PlatformKind::Zendesk,
        to: PlatformKind::Freshdesk,
        old_url: None,
        new_url: None,
    });
    std::fs::write(&plan_path, plan_text)
        .with_context(|| format!("write {}", plan_path.display()))?;
    let plan = cutover_plan::plan::load(&plan_path)
        .with_context(|| format!("read {}", plan_path.display()))?;
    let weeks = plan.baseline.weeks.max(1);
    let backends: &[&str] = match args.backend {
        KpiBenchBackend::Sqlite => &["sqlite"],
        KpiBenchBackend::Postgres => &["postgres"],
        KpiBenchBackend::All => &["sqlite", "postgres"],
    };
    let mut runs = Vec::new();
    for &backend in backends {
        for &tickets in &args.tickets {
            eprintln!("Measuring KPIs over {tickets} tickets on {backend}…");
            let run = history_run(dir.path(), &plan_path, backend, tickets, weeks, args.seed)
                .await
                .with_context(|| format!("measure {tickets} tickets on {backend}"))?;
            runs.push(run);
        }
    }
    // The product's rules for this plan, as `cutover serve` evaluates them.
    let alert_rule = alerts::rules(&plan)
        .into_iter()
        .find(|r| r.then == AlertAction::PauseWave && r.kpi.is_some())
        .ok_or_else(|| {
            fail(
                Class::Internal,
                "the plan `cutover init` writes has no measured alert that pauses a wave",
            )
        })?;
    eprintln!(
        "Measuring the time from a degradation to its alert over {} histories…",
        args.alert_seeds.max(1)
    );
    let mut watched = Vec::new();
    for seed in args.seed..args.seed.saturating_add(args.alert_seeds.max(1)) {
        watched.push(time_to_alert(
            &alert_rule,
            weeks,
            args.alert_tickets_per_hour,
            seed,
        )?);
    }
    let summary = alert_summary(&watched);
    let alert = watched.first().cloned().unwrap_or(Value::Null);
    let history_met = runs.iter().all(|r| r["floors"]["met"] == Value::Bool(true));
    let alert_met = summary["met"] == Value::Bool(true);
    let met = history_met && alert_met;
    let report = json!({
        "baseline_weeks": weeks,
        "memory": "peak resident memory (VmHWM) of each child process, sampled every 20 ms from /proc/<pid>/status",
        "runs": runs,
        "degradation": alert,
        "degradations": summary,
        "history_floors_met": history_met,
        "alert_floor_met": alert_met,
        "floors_met": met,
    });
    let text = serde_json::to_string_pretty(&report)
        .map_err(|e| fail(Class::Internal, format!("write the benchmark report: {e}")))?;
    println!("{text}");
    Ok(if met {
        Outcome::Clean
    } else {
        Outcome::Findings
    })
}

/// The time to alert over several degraded histories: each one's, the median, and the floors
/// (no false alarm in any, every one caught within the watch, the median within
/// [`FLOOR_ALERT_MINUTES`]).
fn alert_summary(watched: &[Value]) -> Value {
    let each: Vec<Value> = watched
        .iter()
        .map(|w| {
            json!({
                "seed": w["seed"],
                "minutes_to_alert": w["watch"]["minutes_to_alert"],
                "false_alarms_before_start": w["watch"]["false_alarms_before_start"],
            })
        })
        .collect();
    let mut minutes: Vec<i64> = watched
        .iter()
        .filter_map(|w| w["watch"]["minutes_to_alert"].as_i64())
        .collect();
    minutes.sort_unstable();
    let caught = minutes.len() == watched.len();
    // Nearest rank, as the KPIs take it; a history not caught counts as never.
    let median = caught
        .then(|| minutes.get(minutes.len().div_ceil(2).max(1) - 1).copied())
        .flatten();
    let false_alarms: u64 = watched
        .iter()
        .filter_map(|w| w["watch"]["false_alarms_before_start"].as_u64())
        .sum();
    json!({
        "histories": each,
        "caught": minutes.len(),
        "of": watched.len(),
        "minutes_to_alert_median": median,
        "minutes_to_alert_max": minutes.last(),
        "false_alarms_before_start": false_alarms,
        "floors": {
            "every_history_caught": true,
            "median_minutes_max": FLOOR_ALERT_MINUTES,
            "false_alarms": 0,
        },
        "met": caught && false_alarms == 0 && median.is_some_and(|m| m <= FLOOR_ALERT_MINUTES),
    })
}

#[expect(clippy::cast_precision_loss, reason = "sizes far below 2^52")]
fn millions(tickets: usize) -> f64 {
    tickets as f64 / 1e6
}

#[expect(clippy::cast_precision_loss, reason = "byte counts far below 2^52")]
fn mib(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1 << 20)
}

/// One backend and size: a fresh store filled with `tickets` tickets' facts, then `cutover
/// baseline` and `cutover kpi` as child processes, and the same work timed in this process.
async fn history_run(
    dir: &Path,
    plan: &Path,
    backend: &str,
    tickets: usize,
    weeks: u32,
    seed: u64,
) -> anyhow::Result<Value> {
    // The database lives as long as this run (a PostgreSQL one is dropped with it).
    let (_database, store_url) = match backend {
        "postgres" => {
            let db = cutover_store::testing::TestDatabase::create()
                .await
                .context("create a throwaway PostgreSQL database")?;
            let url = db.url().to_string();
            (Some(db), url)
        }
        _ => {
            let file = dir.join(format!("kpi-{tickets}.db"));
            (None, format!("sqlite://{}", file.display()))
        }
    };
    let parsed: cutover_store::StoreUrl = store_url.parse().context("read the store's URL")?;
    let store = cutover_store::open(&parsed)
        .await
        .with_context(|| format!("open the store at {parsed}"))?;
    let end = history_end();
    let (from, to) = kpi::baseline_span(end, weeks);
    let started = Instant::now();
    let facts = generate(&History {
        tickets,
        from,
        to,
        seed,
        degraded_from: None,
    })?;
    let generate_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut imported = 0;
    for batch in facts.chunks(IMPORT_BATCH) {
        imported += store
            .import_ticket_facts(batch)
            .await
            .context("import the generated facts")?;
    }
    let import_seconds = started.elapsed().as_secs_f64();
    drop(facts);
    let at = end.to_rfc3339();
    let baseline = child(plan, &store_url, &["baseline", "--json", "--at", &at]).await?;
    let covered: u64 = baseline
        .1
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|b| b["hours"].as_array().into_iter().flatten())
        .flat_map(|h| h["kpis"].as_array().into_iter().flatten())
        .filter(|s| s["name"] == "escalations")
        .filter_map(|s| s["samples"].as_u64())
        .sum();
    let now = child(plan, &store_url, &["kpi", "--json", "--at", &at]).await?;
    // The month's review, its four earlier periods and twelve weeks of heatmaps, from the
    // store's aggregates.
    let review_args = ["report", "--window", "1m", "--json", "--at", &at];
    let review = child(plan, &store_url, &review_args).await?;
    let review_counted = review
        .1
        .pointer("/when_to_switch/channels/0/tickets")
        .and_then(Value::as_u64);
    let in_process = in_process(store.as_ref(), end, weeks).await?;
    let seconds_floor = FLOOR_SECONDS_BASE + FLOOR_SECONDS_PER_MILLION * millions(tickets);
    let mib_floor = FLOOR_MIB;
    let within =
        |m: &Measured| m.seconds <= seconds_floor && m.peak_mib.is_none_or(|p| p <= mib_floor);
    // By the baseline, and by the report's heatmap of all channels (its twelve weeks hold the
    // history).
    let all_counted =
        covered == u64::try_from(tickets).unwrap_or(u64::MAX) && review_counted == Some(covered);
    // The review is held to the memory floor only: its time (a dozen statements per side and
    // period, over the window and four earlier periods) is not given a floor yet.
    let review_met = review.0.peak_mib.is_none_or(|p| p <= mib_floor);
    let met = within(&baseline.0) && within(&now.0) && review_met && all_counted;
    Ok(json!({
        "backend": backend,
        "tickets": tickets,
        "generate_seconds": generate_seconds,
        "import": {
            "rows": imported,
            "seconds": import_seconds,
            "rows_per_second": f64::from(u32::try_from(imported).unwrap_or(u32::MAX)) / import_seconds.max(1e-9),
        },
        "baseline": baseline.0.json(),
        "baseline_tickets_counted": covered,
        "kpi": now.0.json(),
        "report": review.0.json(),
        "report_heatmap_tickets": review_counted,
        "in_process": in_process,
        "floors": {
            "seconds_max": seconds_floor,
            "peak_mib_max": mib_floor,
            "every_ticket_counted": all_counted,
            "met": met,
        },
    }))
}

/// A child command's wall time and peak memory.
struct Measured {
    seconds: f64,
    peak_mib: Option<f64>,
}

impl Measured {
    fn json(&self) -> Value {
        json!({ "seconds": self.seconds, "peak_rss_mib": self.peak_mib })
    }
}

/// Runs `cutover ARGS` on the plan and store, and reads its JSON.
async fn child(plan: &Path, store: &str, args: &[&str]) -> anyhow::Result<(Measured, Value)> {
    let mut command = engine(plan, store)?;
    command.args(args);
    let (status, stdout, usage, seconds) = run_sampled(command).await?;
    if !status.success() {
        anyhow::bail!("cutover {} exited with {status}", args.join(" "));
    }
    let value: Value = serde_json::from_str(&stdout)
        .with_context(|| format!("read the JSON of cutover {}", args.join(" ")))?;
    Ok((
        Measured {
            seconds,
            peak_mib: usage.map(|u| mib(u.peak_rss_bytes)),
        },
        value,
    ))
}

/// The baseline's and the last hour's work in this process, as the commands do it: the store
/// aggregates per hour (SQL), this process reads a few rows an hour.
async fn in_process(store: &dyn Store, end: DateTime<Utc>, weeks: u32) -> anyhow::Result<Value> {
    let started = Instant::now();
    for side in [Side::Old, Side::New] {
        let filter = Filter {
            side: Some(side),
            ..Filter::default()
        };
        kpi_stored::baseline(store, end, weeks, &filter)
            .await
            .context("compute the baseline")?;
    }
    let baseline_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    for side in [Side::Old, Side::New] {
        let filter = Filter {
            side: Some(side),
            ..Filter::default()
        };
        kpi_stored::compute(store, end - Duration::hours(1), end, &filter)
            .await
            .context("compute the KPIs of the last hour")?;
    }
    Ok(json!({
        "baseline_both_sides_seconds": baseline_seconds,
        "last_hour_both_sides_seconds": started.elapsed().as_secs_f64(),
    }))
}

/// Facts as the monitor could know them at `t`: replies and solutions after `t` not yet seen.
fn seen_at(facts: &[TicketFacts], t: DateTime<Utc>) -> Vec<TicketFacts> {
    facts
        .iter()
        .map(|f| {
            let mut f = f.clone();
            let r = &mut f.reading;
            r.first_reply_at = r.first_reply_at.filter(|x| *x <= t);
            r.solved_at = r.solved_at.filter(|x| *x <= t);
            f
        })
        .collect()
}

/// Every KPI of `side` over the hour before `t`, as it could be known at `t`.
fn last_hour(facts: &[TicketFacts], side: Side, t: DateTime<Utc>) -> Vec<kpi::Figure> {
    let window = t - alerts::WINDOW;
    // The tickets created in the window and the day before it: exact for the KPIs of tickets
    // created in the window (the wait time the rule watches); the backlog and the KPIs of
    // tickets solved in it miss older tickets (the rule does not watch them).
    let lo = facts.partition_point(|f| f.reading.created_at < window - Duration::days(1));
    let hi = facts.partition_point(|f| f.reading.created_at < t);
    let seen = seen_at(facts.get(lo..hi).unwrap_or_default(), t);
    let filter = Filter {
        side: Some(side),
        ..Filter::default()
    };
    kpi::compute(&seen, window, t, &filter)
}

/// The product's alert rule (`cutover_runtime::alerts`: [`alerts::read`] each reading,
/// [`alerts::step`] its hysteresis) evaluated minute by minute over `[from, to]`, as
/// `alerts::evaluate` does in `cutover serve`: the last hour of the side that takes customers
/// (the old before the wave's start, the new after) against the old side's hour-of-week
/// baseline as it could be known then. Stops at the first alert raised at or after `start`.
fn watch(
    rule: &alerts::Rule,
    facts: &[TicketFacts],
    weeks: u32,
    (from, start, to): (DateTime<Utc>, DateTime<Utc>, DateTime<Utc>),
) -> Value {
    let started = Instant::now();
    let old_only = Filter {
        side: Some(Side::Old),
        ..Filter::default()
    };
    let mut baseline: Option<(DateTime<Utc>, kpi::Baseline)> = None;
    let mut baseline_seconds = 0.0;
    let mut tracks: BTreeMap<Side, alerts::Track> = BTreeMap::new();
    let (mut false_alarms, mut inconclusive_alerts, mut inconclusive_readings, mut evaluations) =
        (0, 0, 0, 0);
    let mut alert: Option<(DateTime<Utc>, Value)> = None;
    let mut t = from;
    while t <= to && alert.is_none() {
        evaluations += 1;
        let window_start = t - alerts::WINDOW;
        // The baseline ends where the window's first hour starts; it changes once an hour.
        let hour = kpi::hour_start(window_start);
        if baseline.as_ref().is_none_or(|(h, _)| *h != hour) {
            let computing = Instant::now();
            let before = facts.partition_point(|f| f.reading.created_at < hour);
            let history = seen_at(facts.get(..before).unwrap_or_default(), t);
            baseline = Some((
                hour,
                kpi::baseline(&history, window_start, weeks, &old_only),
            ));
            baseline_seconds += computing.elapsed().as_secs_f64();
        }
        let Some(profile) = baseline.as_ref().and_then(|(_, b)| b.window(window_start)) else {
            break;
        };
        let side = if t < start { Side::Old } else { Side::New };
        let comparisons = kpi::compare(&last_hour(facts, side, t), &profile);
        let comparison = rule
            .kpi
            .and_then(|name| comparisons.iter().find(|c| c.name == name));
        let reading = alerts::read(rule, comparison);
        if matches!(reading, alerts::Reading::Inconclusive(_)) {
            inconclusive_readings += 1;
        }
        let track = tracks.entry(side).or_default();
        match alerts::step(track, &reading, rule.sustained, t) {
            Some(alerts::AlertState::Raised) if t < start => {
                false_alarms += 1;
                track.open = Some((String::new(), alerts::AlertState::Raised, t));
            }
            Some(alerts::AlertState::Raised) => {
                alert = Some((
                    t,
                    json!({
                        "side": side,
                        "reading": reading,
                        "worse_by": comparison.and_then(alerts::worse_by),
                        "comparison": comparison,
                    }),
                ));
            }
            Some(alerts::AlertState::Inconclusive) => {
                inconclusive_alerts += 1;
                track.open = Some((String::new(), alerts::AlertState::Inconclusive, t));
            }
            Some(alerts::AlertState::Cleared) => track.open = None,
            None => {}
        }
        t += Duration::minutes(1);
    }
    let minutes = alert.as_ref().map(|(at, _)| (*at - start).num_minutes());
    json!({
        "alert_at": alert.as_ref().map(|(at, _)| at),
        "minutes_to_alert": minutes,
        "evidence": alert.map(|(_, e)| e),
        "evaluations": evaluations,
        "inconclusive_readings": inconclusive_readings,
        "inconclusive_alerts": inconclusive_alerts,
        "false_alarms_before_start": false_alarms,
        "baseline_compute_seconds": baseline_seconds,
        "compute_seconds": started.elapsed().as_secs_f64(),
    })
}

/// Watches a generated history with a degradation at a known moment, minute by minute of
/// simulated time, with the product's rule (see [`watch`]).
fn time_to_alert(rule: &alerts::Rule, weeks: u32, rate: f64, seed: u64) -> anyhow::Result<Value> {
    // A Tuesday, 09:00 UTC: the wave starts as the morning gets busy.
    let start = history_end() + Duration::hours(23);
    let watch_from = start - Duration::hours(3);
    let watch_to = start + Duration::hours(3);
    let (from, _) = kpi::baseline_span(watch_from, weeks);
    #[expect(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a ticket count"
    )]
    let total = (rate * (watch_to - from).num_hours() as f64) as usize;
    let facts = generate(&History {
        tickets: total,
        from,
        to: watch_to,
        seed: seed.wrapping_add(1),
        degraded_from: Some(start),
    })?;
    let watched = watch(rule, &facts, weeks, (watch_from, start, watch_to));
    let met = watched["false_alarms_before_start"] == 0
        && watched["minutes_to_alert"]
            .as_i64()
            .is_some_and(|m| m <= FLOOR_ALERT_MINUTES);
    Ok(json!({
        "seed": seed,
        "rule": rule,
        "tickets": facts.len(),
        "tickets_per_hour": rate,
        "slowdown": SLOWDOWN,
        "degradation_start": start,
        "watched": { "from": watch_from, "to": watch_to, "every": "1m", "window": "1h" },
        "watch": watched,
        "floors": {
            "minutes_to_alert_max": FLOOR_ALERT_MINUTES,
            "met": met,
        },
    }))
}
