//! `cutover bench sync`: the two-way bridge's lag at a steady change rate, with webhooks and
//! with polling only, its requests against each platform's rate limit, the change rate at which
//! its lag stops being steady, and the CPU and peak memory of `cutover serve`.
//!
//! It starts an old emulated Zendesk with generated data and an empty new one in this process,
//! each behind a counter of the requests it answers, writes the plan a user writes for them
//! (`cutover init` with discovery, open values decided as hinted, the budget the platform's
//! limit), runs `cutover backfill` as a child process, then for each phase:
//!
//! 1. starts `cutover serve` as a child process (fresh counters), and with webhooks runs
//!    `cutover sync setup --endpoint` (polling only: `cutover sync teardown`);
//! 2. plays `cutover sim traffic`'s generator on both sides at a steady rate (real time, at an
//!    hour of the simulated week whose load is constant, the rate scaled to it), for
//!    `--minutes`;
//! 3. runs `cutover sync drain` so every change of the phase is applied (and counted in the lag);
//! 4. reads the lag per direction from serve's `/metrics` (p50/p95/p99 of every change applied,
//!    from its time on one platform, the emulator's own `updated_at`, to its commit on the
//!    other), beside what `cutover sync status --json` read from the store. The copies' own
//!    timestamps cannot cross-check it: the bridge writes new tickets through Zendesk's import
//!    API, which keeps the original's `created_at` and `updated_at`;
//! 5. reads serve's CPU seconds and peak resident memory from `/proc/<pid>` and stops it.
//!
//! Requests: the emulators' limiters are off, because the traffic generator's API calls stand
//! for customers' e-mails and agents' clicks, which a real platform does not count against the
//! API limit. Each emulator counts instead the requests cutover sends (its `User-Agent`) per
//! minute window, as the platform's limiter counts them (a fixed window per minute), and the
//! incremental exports apart (Zendesk: 10 a minute); the floor is the busiest window within
//! each limit. Answers 429 are counted too.
//!
//! With `--step`, after the two phases the webhook phase runs again at rising rates (doubling
//! from `--rate` to `--step-max`, `--step-minutes` each) and reports the highest rate whose
//! lag was steady (p99 within the webhook floor) and the first that was not.
//!
//! With `--beside-verify`, a third phase plays the webhook phase again while `cutover verify`
//! runs over and over beside the bridge (live work first: verify leaves the bridge the part of
//! each budget it claims in the store); the emulators count verify's requests with cutover's,
//! so the busiest minute still has to fit the limit, and the lag is compared with the first
//! phase's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::Args;
use cutover_model::Side;
use cutover_sim::traffic::{self, Speed, Target, TrafficOptions};
use cutover_sim::zendesk::{App, ZendeskOptions, ZendeskSim};
use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt;
use tokio_util::sync::CancellationToken;

use super::bench_backfill::{engine, usage_of};
use super::rehearsal::{self, Limits};
use crate::exit::{Class, Outcome, fail};

/// The webhook floor: p99 lag of each direction, in seconds.
const WEBHOOK_P99_FLOOR: f64 = 5.0;
/// The polling floor: p99 lag of each direction, in poll intervals.
const POLL_P99_INTERVALS: f64 = 2.0;
/// The secret both platforms sign their deliveries with (never printed).
const SECRET: &str = "bench-sync-webhook-secret-0123456789";
/// A Wednesday at 10:00 UTC: the traffic's simulated clock starts here, an hour whose load
/// factor is constant, so the rate is steady for the whole phase (under an hour).
const STEADY_HOUR: i64 = 1_717_582_800;

/// Options of `cutover bench sync`.
#[derive(Debug, Args)]
pub struct SyncBenchArgs {
    /// Tickets the old platform starts with (with their users, organizations and comments),
    /// backfilled before the bridge runs.
    #[arg(long, default_value_t = 2_000, value_name = "N")]
    pub tickets: usize,
    /// Changes a minute on each side while measuring.
    #[arg(long, default_value_t = 600.0, value_name = "N")]
    pub rate: f64,
    /// How long each phase (webhooks, polling only) plays traffic.
    #[arg(long, default_value_t = 3.0, value_name = "MINUTES")]
    pub minutes: f64,
    /// The plan's poll interval (`[sync] poll_every`) in both phases, in seconds. Zendesk allows
    /// 10 incremental exports a minute and the bridge reads three feeds a pass, so below 20 s
    /// the exports' own limit paces the passes.
    #[arg(long, default_value_t = 20, value_name = "SECONDS")]
    pub poll_every: u64,
    /// Then raise the rate, doubling, until the lag stops being steady.
    #[arg(long)]
    pub step: bool,
    /// With --step: how long each rate plays.
    #[arg(long, default_value_t = 1.0, value_name = "MINUTES")]
    pub step_minutes: f64,
    /// With --step: the highest rate tried (changes a minute on each side).
    #[arg(long, default_value_t = 4_800.0, value_name = "N")]
    pub step_max: f64,
    /// How long each drain may take.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub drain_timeout: u64,
    /// Seed of the generated data and the traffic.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Then a third phase: webhooks again, with `cutover verify` run over and over beside the
    /// bridge (live work first: verify leaves the bridge the budget it claims), to compare lag.
    #[arg(long)]
    pub beside_verify: bool,
}

/// Requests an emulator answered, counted at its door.
#[derive(Debug, Default)]
struct Counts {
    /// cutover's requests per minute window (Unix minute), all and incremental exports.
    windows: BTreeMap<u64, (u64, u64)>,
    /// Answers 429, to anyone.
    limited: u64,
    /// Every request, anyone's.
    all: u64,
    /// cutover's requests by method and path, ids as `{id}`: where the budget goes.
    by_endpoint: BTreeMap<String, u64>,
}

/// A request's endpoint for [`Counts::by_endpoint`]: its method and path, each number (an id)
/// as `{id}` and `.json` left out, so every ticket's comments count as one endpoint.
fn endpoint_of(method: &str, path: &str) -> String {
    let path: Vec<&str> = path
        .trim_end_matches(".json")
        .split('/')
        .map(|part| {
            let part = part.trim_end_matches(".json");
            if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) {
                "{id}"
            } else {
                part
            }
        })
        .collect();
    format!("{method} {}", path.join("/"))
}

/// An emulated Zendesk served from this process behind a counter.
struct Counted {
    url: String,
    app: Arc<App>,
    counts: Arc<Mutex<Counts>>,
    shutdown: CancellationToken,
}

impl Counted {
    async fn start(opts: ZendeskOptions) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("bind a port on 127.0.0.1 for an emulator")?;
        let addr = listener
            .local_addr()
            .context("read the emulator's address")?;
        let url = format!("http://{addr}");
        let shutdown = CancellationToken::new();
        let app: Arc<App> = App::new(opts, &url, shutdown.clone())
            .map_err(|e| fail(Class::Internal, format!("start an emulator: {e}")))?;
        let counts = Arc::new(Mutex::new(Counts::default()));
        let answers = Arc::clone(&counts);
        let requests = Arc::clone(&counts);
        let service = tower::ServiceExt::map_response(
            ZendeskSim::router(Arc::clone(&app)),
            move |response: axum::response::Response| {
                if response.status().as_u16() == 429 {
                    lock(&answers).limited += 1;
                }
                response
            },
        );
        let service = tower::ServiceExt::map_request(
            service,
            move |request: axum::http::Request<axum::body::Body>| {
                let ours = request
                    .headers()
                    .get(axum::http::header::USER_AGENT)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|ua| ua.starts_with("cutover/"));
                let mut counts = lock(&requests);
                counts.all += 1;
                if ours {
                    let minute = (Utc::now().timestamp() / 60) as u64;
                    let export = request.uri().path().contains("/incremental/");
                    let window = counts.windows.entry(minute).or_default();
                    window.0 += 1;
                    window.1 += u64::from(export);
                    let endpoint = endpoint_of(request.method().as_str(), request.uri().path());
                    *counts.by_endpoint.entry(endpoint).or_default() += 1;
                }
                request
            },
        );
        let token = shutdown.clone();
        tokio::spawn(async move { cutover_sim::serve(listener, service, token).await });
        Ok(Counted {
            url,
            app,
            counts,
            shutdown,
        })
    }

    /// Forgets the windows and answers counted so far (a phase starts).
    fn reset(&self) {
        *lock(&self.counts) = Counts::default();
    }

    /// cutover's requests since the last reset, against the platform's limits.
    fn requests(&self, seconds: f64) -> Value {
        let counts = lock(&self.counts);
        let total: u64 = counts.windows.values().map(|w| w.0).sum();
        let exports: u64 = counts.windows.values().map(|w| w.1).sum();
        // The first and last windows are partial; the busiest is the figure.
        let busiest = counts.windows.values().map(|w| w.0).max().unwrap_or(0);
        let busiest_exports = counts.windows.values().map(|w| w.1).max().unwrap_or(0);
        let limit = ZendeskOptions::default().rate_limit_rpm.unwrap_or(700);
        let export_limit = ZendeskOptions::default().incremental_rpm;
        json!({
            "cutover_requests": total,
            "cutover_requests_per_minute": total as f64 * 60.0 / seconds.max(1.0),
            "busiest_minute": busiest,
            "limit_per_minute": limit,
            "incremental_exports": exports,
            "busiest_minute_exports": busiest_exports,
            "export_limit_per_minute": export_limit,
            "answered_429": counts.limited,
            "all_requests": counts.all,
            "by_endpoint": counts.by_endpoint,
            "within_limit": busiest <= u64::from(limit)
                && busiest_exports <= u64::from(export_limit)
                && counts.limited == 0,
        })
    }
}

fn lock(counts: &Mutex<Counts>) -> std::sync::MutexGuard<'_, Counts> {
    counts
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// How changes reach the bridge in a phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Webhooks,
    Polling,
    /// Webhooks, with verify run over and over beside the bridge.
    BesideVerify,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Webhooks => "webhooks",
            Mode::Polling => "polling_only",
            Mode::BesideVerify => "webhooks_beside_verify",
        }
    }
}

/// What the phases share.
struct Bench {
    dir: tempfile::TempDir,
    plan: PathBuf,
    store: String,
    old: Counted,
    new: Counted,
    args: SyncBenchArgs,
}

/// A running `cutover serve`.
struct Served {
    child: tokio::process::Child,
    url: String,
    usage: Arc<Mutex<Option<(f64, u64)>>>,
    sampling: CancellationToken,
}

impl Bench {
    fn command(&self, args: &[&str]) -> anyhow::Result<tokio::process::Command> {
        let mut command = engine(&self.plan, &self.store)?;
        command.args(args).env("CUTOVER_WEBHOOK_SECRET", SECRET);
        Ok(command)
    }

    /// Runs a cutover command to its end: its exit code, standard output and error.
    async fn cutover(&self, args: &[&str]) -> anyhow::Result<(i32, String, String)> {
        let mut command = self.command(args)?;
        command.stderr(Stdio::piped());
        let output = command
            .output()
            .await
            .with_context(|| format!("run cutover {}", args.join(" ")))?;
        Ok((
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        ))
    }

    /// Starts `cutover serve` on a free port and samples its CPU time and peak memory.
    async fn serve(&self, name: &str) -> anyhow::Result<Served> {
        let log = self.dir.path().join(format!("serve-{name}.log"));
        let mut command = self.command(&["serve", "--listen", "127.0.0.1:0"])?;
        command.stderr(std::fs::File::create(&log).context("create serve's log")?);
        let mut child = command.spawn().context("start `cutover serve`")?;
        let stdout = child.stdout.take().context("serve's standard output")?;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .context("`cutover serve` did not start listening within a minute")?
            .context("read serve's output")?
            .with_context(|| {
                format!(
                    "`cutover serve` ended: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            })?;
        let url = line
            .rsplit(' ')
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned();
        let usage = Arc::new(Mutex::new(None));
        let sampling = CancellationToken::new();
        if let Some(pid) = child.id() {
            let (usage, token) = (Arc::clone(&usage), sampling.clone());
            tokio::spawn(async move {
                while !token.is_cancelled() {
                    if let Some(u) = usage_of(pid) {
                        *usage
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner) =
                            Some((u.cpu_seconds, u.peak_rss_bytes));
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            });
        }
        Ok(Served {
            child,
            url,
            usage,
            sampling,
        })
    }

    /// One phase: serve, hooks or none, traffic at `rate` for `minutes`, drain, figures.
    async fn phase(&self, mode: Mode, rate: f64, minutes: f64, seed: u64) -> anyhow::Result<Value> {
        eprintln!(
            "Phase {} at {rate} changes a minute on each side for {minutes} minutes…",
            mode.name()
        );
        let served = self.serve(mode.name()).await?;
        let hooks = match mode {
            Mode::Webhooks | Mode::BesideVerify => {
                vec!["sync", "setup", "--endpoint", served.url.as_str()]
            }
            Mode::Polling => vec!["sync", "teardown"],
        };
        let (code, out, err) = self.cutover(&hooks).await?;
        if code != 0 {
            return Err(fail(
                Class::Internal,
                format!("cutover {} failed ({code}): {out}{err}", hooks.join(" ")),
            ));
        }
        // Serve's first pass reads what came before the phase: let it end before measuring.
        tokio::time::sleep(Duration::from_secs(3)).await;
        self.old.reset();
        self.new.reset();
        let started = Instant::now();
        let ledger = self
            .dir
            .path()
            .join(format!("ledger-{}-{rate}.jsonl", mode.name()));
        let (summary, beside) = if mode == Mode::BesideVerify {
            let stop = CancellationToken::new();
            let traffic = async {
                let played = self.traffic(rate, minutes, seed, &ledger).await;
                stop.cancel();
                played
            };
            let (summary, beside) = tokio::join!(traffic, self.verify_over_and_over(stop.clone()));
            (summary?, beside?)
        } else {
            (
                self.traffic(rate, minutes, seed, &ledger).await?,
                Value::Null,
            )
        };
        let traffic_seconds = started.elapsed().as_secs_f64();
        let drain_started = Instant::now();
        let timeout = format!("{}s", self.args.drain_timeout);
        let (drain_code, _, drain_err) = self
            .cutover(&["sync", "drain", "--timeout", timeout.as_str()])
            .await?;
        let drain_seconds = drain_started.elapsed().as_secs_f64();
        let seconds = started.elapsed().as_secs_f64();
        let metrics = reqwest::get(format!("{}/metrics", served.url))
            .await
            .and_then(reqwest::Response::error_for_status)
            .context("read serve's /metrics")?
            .text()
            .await
            .context("read serve's /metrics")?;
        let (_, status, _) = self.cutover(&["sync", "status", "--json"]).await?;
        let status: Value = serde_json::from_str(status.trim()).unwrap_or(Value::Null);
        served.sampling.cancel();
        let usage = *served
            .usage
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        stop(served.child).await?;
        let mut directions = serde_json::Map::new();
        for (from, name) in [(Side::Old, "old_to_new"), (Side::New, "new_to_old")] {
            let of = status["directions"]
                .as_array()
                .and_then(|all| all.iter().find(|s| s["from"] == json!(from.to_string())))
                .cloned()
                .unwrap_or(Value::Null);
            directions.insert(
                name.to_owned(),
                json!({
                    "lag_seconds": lag_of(&metrics, name),
                    "status_lag_seconds": of["lag"],
                    "applied": of["applied"],
                    "echoes_suppressed": of["echoes_suppressed"],
                    "dead_lettered": of["dead_lettered"],
                }),
            );
        }
        let per_side = |side: traffic::Side| {
            summary
                .sides
                .get(&side)
                .map_or(0.0, |s| s.actions as f64 * 60.0 / traffic_seconds.max(1.0))
        };
        Ok(json!({
            "mode": mode.name(),
            "rate_asked_per_side": rate,
            "changes_per_minute": { "old": per_side(traffic::Side::Old),
                                    "new": per_side(traffic::Side::New) },
            "traffic_actions": summary.actions,
            "traffic_failed": summary.failed,
            "traffic_seconds": traffic_seconds,
            "drained": drain_code == 0,
            "drain_seconds": drain_seconds,
            "drain_report": if drain_code == 0 { Value::Null } else { json!(drain_err) },
            "poll_every_seconds": self.args.poll_every,
            "directions": directions,
            "requests": { "old": self.old.requests(seconds), "new": self.new.requests(seconds) },
            "serve_cpu_seconds": usage.map(|u| u.0),
            "serve_cpu_share_of_a_core": usage.map(|u| u.0 / seconds.max(1.0)),
            "serve_peak_rss_bytes": usage.map(|u| u.1),
            "beside": beside,
        }))
    }

    /// Runs `cutover verify` again and again until `stop`; the one running then is killed.
    /// Counts the runs started and finished, and those whose log says they left the bridge its
    /// claim (each run logs to a file of its own in the benchmark's folder).
    async fn verify_over_and_over(&self, stop: CancellationToken) -> anyhow::Result<Value> {
        let (mut started, mut finished, mut failed) = (0u64, 0u64, 0u64);
        let mut logs = Vec::new();
        while !stop.is_cancelled() {
            let log = self.dir.path().join(format!("verify-beside-{started}.log"));
            let mut command = self.command(&["verify", "--json"])?;
            command
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).context("create a verify log")?)
                .kill_on_drop(true);
            let mut child = command.spawn().context("start cutover verify")?;
            started += 1;
            logs.push(log);
            tokio::select! {
                () = stop.cancelled() => {
                    let _ = child.kill().await;
                    break;
                }
                status = child.wait() => {
                    let status = status.context("wait for cutover verify")?;
                    finished += 1;
                    // 0 clean, 1 differences (the traffic keeps changing records): both ran.
                    if !matches!(status.code(), Some(0 | 1)) {
                        failed += 1;
                    }
                }
            }
        }
        let yielded = logs
            .iter()
            .filter(|log| {
                std::fs::read_to_string(log).is_ok_and(|text| text.contains("leaving it"))
            })
            .count();
        Ok(json!({
            "verify_runs_started": started,
            "verify_runs_finished": finished,
            "verify_runs_failed": failed,
            "verify_runs_that_left_the_bridge_its_claim": yielded,
        }))
    }

    /// Plays the traffic on both sides at `rate` changes a minute each, in real time, at an
    /// hour of the week whose load is constant.
    async fn traffic(
        &self,
        rate: f64,
        minutes: f64,
        seed: u64,
        ledger: &Path,
    ) -> anyhow::Result<traffic::TrafficSummary> {
        let start = DateTime::from_timestamp(STEADY_HOUR, 0).unwrap_or_default();
        let target = |url: &str| -> anyhow::Result<Target> {
            Ok(Target::zendesk_sim(
                url.parse().context("read an emulator's URL")?,
            ))
        };
        let options = TrafficOptions {
            old: Some(target(&self.old.url)?),
            new: Some(target(&self.new.url)?),
            // Both sides together, scaled so the hour's load gives `rate` on each.
            rate_per_min: 2.0 * rate / traffic::curve::load(start),
            seed,
            duration: Some(Duration::from_secs_f64(minutes.max(0.05) * 60.0)),
            ledger: Some(ledger.to_owned()),
            speed: Speed::Factor(1.0),
            start,
            ..TrafficOptions::default()
        };
        traffic::run(options)
            .await
            .map_err(|e| fail(Class::Internal, format!("play the traffic: {e}")))
    }
}

/// Stops `cutover serve` with SIGTERM (it commits the page in flight), or kills it after 30 s.
async fn stop(mut child: tokio::process::Child) -> anyhow::Result<()> {
    if let Some(pid) = child.id() {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
    }
    if tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .is_err()
    {
        child.kill().await.context("kill `cutover serve`")?;
    }
    Ok(())
}

/// The lag quantiles of `direction` in serve's Prometheus text.
fn lag_of(metrics: &str, direction: &str) -> Value {
    let mut lag = serde_json::Map::new();
    for line in metrics.lines() {
        let Some(rest) = line.strip_prefix("cutover_sync_lag_seconds") else {
            continue;
        };
        if !rest.contains(&format!("direction=\"{direction}\"")) {
            continue;
        }
        let Some((labels, value)) = rest.rsplit_once(' ') else {
            continue;
        };
        let Ok(value) = value.trim().parse::<f64>() else {
            continue;
        };
        let key = if labels.starts_with("_count") {
            "samples"
        } else if labels.contains("quantile=\"0.5\"") {
            "p50"
        } else if labels.contains("quantile=\"0.95\"") {
            "p95"
        } else if labels.contains("quantile=\"0.99\"") {
            "p99"
        } else {
            continue;
        };
        lag.insert(key.to_owned(), json!(value));
    }
    Value::Object(lag)
}

/// What a phase's figures fall short of, one phrase each: every change drained, lag measured
/// in both directions and its p99 within `floor` seconds, cutover's requests within each
/// platform's limits, no traffic action failed.
fn shortfalls(phase: &Value, floor: f64) -> Vec<String> {
    let mode = phase["mode"].as_str().unwrap_or("?");
    let mut verdicts = Vec::new();
    if phase["drained"] != true {
        verdicts.push(format!("{mode}: the drain timed out"));
    }
    for direction in ["old_to_new", "new_to_old"] {
        let lag = &phase["directions"][direction]["lag_seconds"];
        match (lag["p99"].as_f64(), lag["samples"].as_f64()) {
            (Some(p99), Some(samples)) if samples > 0.0 => {
                if p99 > floor {
                    verdicts.push(format!(
                        "{mode}: {direction} p99 lag {p99:.2} s is above {floor} s"
                    ));
                }
            }
            _ => verdicts.push(format!("{mode}: no lag measured {direction}")),
        }
    }
    for side in ["old", "new"] {
        if phase["requests"][side]["within_limit"] != true {
            verdicts.push(format!(
                "{mode}: cutover's requests to the {side} platform went over its limit"
            ));
        }
    }
    if phase["traffic_failed"].as_u64().unwrap_or(0) > 0 {
        verdicts.push(format!("{mode}: traffic actions failed"));
    }
    verdicts
}

/// Whether a step's lag is steady: drained, and p99 within the webhook floor both ways.
fn steady(phase: &Value) -> bool {
    shortfalls(phase, WEBHOOK_P99_FLOOR)
        .iter()
        .all(|v| v.contains("requests") || v.contains("traffic"))
}

/// Runs `cutover bench sync` and prints its figures as one JSON object.
pub(crate) async fn sync(args: SyncBenchArgs) -> anyhow::Result<Outcome> {
    if !(args.rate > 0.0 && args.minutes > 0.0 && args.poll_every > 0) {
        return Err(fail(
            Class::Config,
            "--rate, --minutes and --poll-every must be above zero",
        ));
    }
    let limit = ZendeskOptions::default().rate_limit_rpm.unwrap_or(700);
    // The traffic generator's calls stand for e-mails and clicks, which no platform counts
    // against its API limit: the emulators' limiters are off and cutover's requests are
    // counted at their doors (see the module's notes).
    let limits = Limits {
        rpm: None,
        incremental_rpm: 0,
    };
    eprintln!(
        "Generating {} tickets in the old emulator (its limiter off; cutover's requests counted)…",
        args.tickets
    );
    let old = Counted::start(rehearsal::options(args.seed, args.tickets, limits)).await?;
    let new = Counted::start(rehearsal::options(args.seed + 1, 0, limits)).await?;
    let dir = tempfile::Builder::new()
        .prefix("cutover-bench-sync-")
        .tempdir()
        .context("create the benchmark's temporary folder")?;
    let plan = dir.path().join("cutover.toml");
    // The plan's budget is the platform's limit: the connectors pace themselves within it.
    rehearsal::write_plan(&plan, &old.url, &new.url, limit).await?;
    let text = std::fs::read_to_string(&plan).context("read the plan")?;
    let edited = text.replace(
        "poll_every = \"60s\"",
        &format!("poll_every = \"{}s\"", args.poll_every),
    );
    if edited == text {
        return Err(fail(
            Class::Internal,
            "the plan `cutover init` wrote has no `poll_every = \"60s\"` line",
        ));
    }
    std::fs::write(&plan, edited).context("write the plan")?;
    let store = format!("sqlite://{}", dir.path().join("bench.db").display());
    let bench = Bench {
        plan,
        store,
        old,
        new,
        dir,
        args,
    };
    eprintln!("Backfilling as a child process…");
    let started = Instant::now();
    let (code, out, err) = bench
        .cutover(&["backfill", "--notifications-off", "--json"])
        .await?;
    if code != 0 {
        return Err(fail(
            Class::Internal,
            format!("`cutover backfill` failed ({code}): {out}{err}"),
        ));
    }
    let backfill_seconds = started.elapsed().as_secs_f64();
    let args = &bench.args;
    let webhooks = bench
        .phase(Mode::Webhooks, args.rate, args.minutes, args.seed)
        .await?;
    let polling = bench
        .phase(Mode::Polling, args.rate, args.minutes, args.seed + 1)
        .await?;
    let beside_verify = if args.beside_verify {
        bench
            .phase(Mode::BesideVerify, args.rate, args.minutes, args.seed + 7)
            .await?
    } else {
        Value::Null
    };
    let poll_floor = POLL_P99_INTERVALS * args.poll_every as f64;
    let mut verdicts = shortfalls(&webhooks, WEBHOOK_P99_FLOOR);
    verdicts.extend(shortfalls(&polling, poll_floor));
    if !beside_verify.is_null() {
        verdicts.extend(
            shortfalls(&beside_verify, WEBHOOK_P99_FLOOR)
                .into_iter()
                .map(|missed| format!("beside verify: {missed}")),
        );
    }
    let step = if args.step {
        let mut steps = Vec::new();
        let mut rate = args.rate;
        let (mut steady_up_to, mut unsteady_at) = (None, None);
        while rate <= args.step_max {
            let figures = bench
                .phase(
                    Mode::Webhooks,
                    rate,
                    args.step_minutes,
                    args.seed + 2 + steps.len() as u64,
                )
                .await?;
            let is_steady = steady(&figures);
            steps.push(json!({ "rate_per_side": rate, "steady": is_steady, "figures": figures }));
            if !is_steady {
                unsteady_at = Some(rate);
                break;
            }
            steady_up_to = Some(rate);
            rate *= 2.0;
        }
        json!({
            "steady_up_to_per_side": steady_up_to,
            "unsteady_at_per_side": unsteady_at,
            "steps": steps,
        })
    } else {
        Value::Null
    };
    bench.old.shutdown.cancel();
    bench.new.shutdown.cancel();
    let report = json!({
        "tickets": args.tickets,
        "old_tickets_now": bench.old.app.counts().get("tickets").copied().unwrap_or(0),
        "backfill_seconds": backfill_seconds,
        "floors": {
            "webhook_p99_seconds": WEBHOOK_P99_FLOOR,
            "polling_p99_seconds": poll_floor,
            "requests": "cutover's busiest minute within each platform's limit, no 429",
            "met": verdicts.is_empty(),
            "missed": verdicts,
        },
        "webhooks": webhooks,
        "polling_only": polling,
        "webhooks_beside_verify": beside_verify,
        "step": step,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(if report["floors"]["met"] == true {
        Outcome::Clean
    } else {
        Outcome::Findings
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phase(p99: (f64, f64), drained: bool, busiest: u64) -> Value {
        let within = busiest <= 700;
        json!({
            "mode": "webhooks",
            "drained": drained,
            "traffic_failed": 0,
            "directions": {
                "old_to_new": { "lag_seconds": { "p99": p99.0, "samples": 10.0 } },
                "new_to_old": { "lag_seconds": { "p99": p99.1, "samples": 10.0 } },
            },
            "requests": { "old": { "within_limit": within }, "new": { "within_limit": true } },
        })
    }

    #[test]
    fn floors_hold_the_p99_the_drain_and_the_limit() {
        assert_eq!(
            shortfalls(&phase((1.2, 4.9), true, 500), 5.0),
            Vec::<String>::new()
        );
        assert_eq!(
            shortfalls(&phase((1.2, 5.1), true, 500), 5.0),
            ["webhooks: new_to_old p99 lag 5.10 s is above 5 s"]
        );
        assert_eq!(shortfalls(&phase((1.0, 1.0), false, 800), 5.0).len(), 2);
        // The polling floor is two intervals: 12 s within 40.
        assert!(shortfalls(&phase((12.0, 12.0), true, 100), 40.0).is_empty());
        // No sample in a direction is a missed floor, not a pass.
        let mut none = phase((0.0, 0.0), true, 100);
        none["directions"]["old_to_new"]["lag_seconds"] = json!({});
        assert_eq!(
            shortfalls(&none, 5.0),
            ["webhooks: no lag measured old_to_new"]
        );
    }

    #[test]
    fn a_step_is_steady_while_its_lag_is() {
        assert!(steady(&phase((1.0, 2.0), true, 900)));
        assert!(!steady(&phase((1.0, 7.0), true, 100)));
        assert!(!steady(&phase((1.0, 1.0), false, 100)));
    }

    #[test]
    fn endpoints_are_counted_without_their_ids() {
        assert_eq!(
            endpoint_of("GET", "/api/v2/tickets/42/comments.json"),
            "GET /api/v2/tickets/{id}/comments"
        );
        assert_eq!(
            endpoint_of("PUT", "/api/v2/tickets/7.json"),
            "PUT /api/v2/tickets/{id}"
        );
        assert_eq!(
            endpoint_of("GET", "/api/v2/tickets/show_many.json"),
            "GET /api/v2/tickets/show_many"
        );
    }

    #[test]
    fn lag_is_read_from_the_metrics_text() {
        let text = "cutover_sync_lag_seconds{direction=\"old_to_new\",quantile=\"0.5\"} 0.8\n\
                    cutover_sync_lag_seconds{direction=\"old_to_new\",quantile=\"0.99\"} 2.5\n\
                    cutover_sync_lag_seconds{direction=\"new_to_old\",quantile=\"0.99\"} 9\n\
                    cutover_sync_lag_seconds_count{direction=\"old_to_new\"} 42\n";
        let lag = lag_of(text, "old_to_new");
        assert_eq!(lag, json!({ "p50": 0.8, "p99": 2.5, "samples": 42.0 }));
    }
}
