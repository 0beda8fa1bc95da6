//! The traffic generator's benchmark: how many actions a second it plays against both
//! emulators when the generator has one core (`cutover bench traffic` prints the answer).
//!
//! How it measures: an old-side Zendesk and a new-side Freshdesk emulator start in this process
//! on port 0 (rate limits off, on the caller's runtime), then the generator runs on a
//! current-thread tokio runtime on its own OS thread (one core at most) at `Speed::Max` and a
//! weekly mean of one action a simulated minute (so tickets live their whole life), both
//! sides played, until `actions` actions are done. The figures are actions and HTTP requests
//! per second of wall time, the generator thread's CPU seconds (from `/proc/thread-self/stat`)
//! and whether the floor of 100 actions a second is met. Every action must succeed: a refused
//! action is counted and reported, since a fast generator that fails is no benchmark.

use std::time::Instant;

use serde_json::{Value, json};
use url::Url;

use super::error::TrafficError;
use super::ledger::Ledger;
use super::run::{Speed, Target, TrafficOptions, run};
use crate::freshdesk::{FreshdeskOptions, FreshdeskSim};
use crate::zendesk::{ZendeskOptions, ZendeskSim};

/// The floor the generator must sustain, in actions a second, on one core.
pub const FLOOR_ACTIONS_PER_SEC: f64 = 100.0;

/// What to measure.
#[derive(Debug, Clone)]
pub struct TrafficBenchOptions {
    /// Actions to play.
    pub actions: u64,
    /// Seed of the traffic and the emulators' data.
    pub seed: u64,
    /// Tickets the emulators start with.
    pub tickets: usize,
}

impl Default for TrafficBenchOptions {
    fn default() -> Self {
        Self {
            actions: 5_000,
            seed: 1,
            tickets: 50,
        }
    }
}

fn bench_error(step: &str, reason: &dyn std::fmt::Display) -> TrafficError {
    TrafficError::Options(format!("benchmark: {step}: {reason}"))
}

fn url_of(text: &str) -> Result<Url, TrafficError> {
    Url::parse(text).map_err(|e| bench_error("read the emulator's URL", &e))
}

/// Plays `actions` actions against an in-process Zendesk (old) and Freshdesk (new) with the
/// generator on one core; answers the figures as JSON.
pub async fn traffic(opts: &TrafficBenchOptions) -> Result<Value, TrafficError> {
    crate::install_crypto_provider();
    let zendesk = ZendeskSim::spawn(
        ZendeskOptions {
            seed: opts.seed,
            tickets: opts.tickets,
            rate_limit_rpm: None,
            incremental_rpm: 0,
            ..ZendeskOptions::default()
        },
        "127.0.0.1:0",
    )
    .await
    .map_err(|e| bench_error("start the Zendesk emulator", &e))?;
    let freshdesk = FreshdeskSim::spawn(
        FreshdeskOptions {
            seed: opts.seed,
            tickets: opts.tickets,
            rate_limit_rpm: Some(0),
            ..FreshdeskOptions::default()
        },
        "127.0.0.1:0",
    )
    .await
    .map_err(|e| bench_error("start the Freshdesk emulator", &e))?;
    let dir = tempfile_dir()?;
    let ledger_path = dir.join("traffic-bench.jsonl");
    let traffic_opts = TrafficOptions {
        old: Some(Target::zendesk_sim(url_of(zendesk.url())?)),
        new: Some(Target::freshdesk_sim(url_of(freshdesk.url())?)),
        // Slow enough in simulated time that tickets live their whole life (replies, solves,
        // ratings, reopens) within the run, so the mix of actions is the realistic one.
        rate_per_min: 1.0,
        seed: opts.seed,
        max_actions: Some(opts.actions),
        ledger: Some(ledger_path.clone()),
        speed: Speed::Max,
        ..TrafficOptions::default()
    };
    let generator = std::thread::Builder::new()
        .name("traffic-bench".to_owned())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| bench_error("build the generator's runtime", &e))?;
            let cpu_before = thread_cpu_seconds();
            let started = Instant::now();
            let summary = runtime.block_on(run(traffic_opts))?;
            let wall = started.elapsed().as_secs_f64();
            let cpu = thread_cpu_seconds()
                .zip(cpu_before)
                .map(|(after, before)| after - before);
            Ok::<_, TrafficError>((summary, wall, cpu))
        })
        .map_err(|e| bench_error("start the generator thread", &e))?;
    let joined = tokio::task::spawn_blocking(move || generator.join())
        .await
        .map_err(|e| bench_error("join the generator thread", &e))?
        .map_err(|_| bench_error("join the generator thread", &"it panicked"))?;
    let (summary, wall, cpu) = joined?;
    let expected = Ledger::read(&ledger_path)?.expected();
    let _ = std::fs::remove_dir_all(&dir);
    zendesk
        .shutdown()
        .await
        .map_err(|e| bench_error("stop the Zendesk emulator", &e))?;
    freshdesk
        .shutdown()
        .await
        .map_err(|e| bench_error("stop the Freshdesk emulator", &e))?;
    let requests: u64 = summary.sides.values().map(|s| s.requests).sum();
    let per_second = summary.actions as f64 / wall.max(1e-9);
    let per_side: Value = expected
        .iter()
        .map(|(side, e)| {
            (
                side.to_string(),
                json!({
                    "platform": e.platform,
                    "actions": e.actions,
                    "failed": e.failed,
                    "tickets": e.n_tickets(),
                    "comments": e.n_comments(),
                    "ratings": e.n_ratings(),
                }),
            )
        })
        .collect::<serde_json::Map<_, _>>()
        .into();
    Ok(json!({
        "benchmark": "traffic",
        "method": "generator on a current-thread tokio runtime on one OS thread, Speed::Max, \
                   old Zendesk + new Freshdesk emulators in-process, rate limits off",
        "actions": summary.actions,
        "failed": summary.failed,
        "requests": requests,
        "seconds": wall,
        "actions_per_second": per_second,
        "requests_per_second": requests as f64 / wall.max(1e-9),
        "generator_cpu_seconds": cpu,
        "generator_cpu_ms_per_action": cpu.map(|c| c * 1000.0 / (summary.actions.max(1) as f64)),
        "floor_actions_per_second": FLOOR_ACTIONS_PER_SEC,
        "meets_floor": per_second >= FLOOR_ACTIONS_PER_SEC && summary.failed == 0,
        "sides": per_side,
        "sim_span": {"start": summary.sim_start, "end": summary.sim_end},
    }))
}

/// A fresh private directory under the system's temporary directory for the ledger.
fn tempfile_dir() -> Result<std::path::PathBuf, TrafficError> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!(
        "cutover-traffic-bench-{}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).map_err(|source| TrafficError::Ledger {
        action: "create a directory for",
        path: dir.clone(),
        source,
    })?;
    Ok(dir)
}

/// CPU seconds (user + system) of the calling thread; `None` without `/proc`.
fn thread_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start at `state`.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
}
