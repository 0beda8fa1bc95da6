//! `cutover bench gateway`: what the inbound gateway of `cutover serve` adds and what it keeps
//! through a switch, a rollback and the leader's death, measured against the emulators and
//! printed as JSON.
//!
//! It starts an old emulated Freshdesk with a few tickets, an empty new one and a third like the
//! old one outside the plan (the baseline: its tickets are not bridged), writes the plan a user
//! writes for the first two (`cutover init` with discovery, open values decided as hinted, poll
//! every second), backfills as a child process and starts `cutover serve` as a child process on
//! a PostgreSQL store (a throwaway database, or `--bench-store`). Then:
//!
//! 1. **switch and rollback**: the gates are met the user's way (`cutover drill`, `cutover
//!    verify`, `cutover go --wave 1 --as` the wave's first signer), and while web-form contacts
//!    are posted to `/gateway/web` at `--switch-rate` a second, `cutover wave start 1` and then
//!    `cutover rollback 1` run; the answers other than 2xx while each runs are counted, and the
//!    rollback's own report gives the time until routing flipped back and until the reverse
//!    bridge drained;
//! 2. **failover** (PostgreSQL only): a second `cutover serve` follows; contacts are posted to it
//!    while the leader is killed with SIGKILL, and the time until the follower holds the lease
//!    is read from its `GET /api/v1/leader` (a viewer token made with `cutover token create`).
//!    Twice: the two processes as on two hosts (each its own `HOSTNAME`: the follower waits out
//!    the lease), then as on one host (the follower sees the dead process and takes over at
//!    once);
//! 3. **added latency**: contacts posted open-loop at `--rate` a second for `--seconds`, first
//!    straight to the baseline emulator's ticket create (`POST /api/v2/tickets`, what the
//!    delivery worker sends), then to the gateway of the surviving `cutover serve`; p50/p99 of
//!    each and the difference, and the rate reached (a machine too small to reach `--rate` says
//!    so in `rate_reached`);
//! 4. **nothing lost**: every contact the store kept is waited for until delivered, and each
//!    delivered ticket is looked up in its emulator's own state.
//!
//! Goals: p99 added at most 2 ms at the rate asked, no failed request during the switch, the
//! rollback or the failover, routing back within a second, a takeover within 10 s, every
//! contact delivered; the command exits 1 when one is missed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use cutover_model::{PlatformKind, Side};
use cutover_sim::freshdesk;
use cutover_store::{ContactStatus, Store};
use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt;
use tokio_util::sync::CancellationToken;

use super::bench_backfill::engine;
use super::rehearsal::{self, SIM_TOKEN};
use crate::exit::{Class, Outcome, fail};

/// The goal of the added latency: p99 of the gateway over p99 of the platform's own create.
const ADDED_P99_GOAL_MS: f64 = 2.0;
/// The goal of a rollback's routing flip.
const FLIP_GOAL_MS: u64 = 1000;
/// What the issue allows from the leader's death to the follower's lease.
const TAKEOVER_GOAL: Duration = Duration::from_secs(10);
/// The share of the asked rate that counts as reaching it.
const RATE_REACHED: f64 = 0.95;
/// Requests in flight at most (beyond it the generator waits: the rate reached says so).
const IN_FLIGHT: usize = 512;
/// The secret the plan's `webhook_secret_env` names (never printed).
const SECRET: &str = "bench-gateway-webhook-secret-0123456789";
/// The web-form channel `cutover init` writes, moved by the first wave.
const CHANNEL: &str = "web";

/// Options of `cutover bench gateway`.
#[derive(Debug, Args)]
pub struct GatewayBenchArgs {
    /// Contacts a second while measuring the added latency (open loop).
    #[arg(long, default_value_t = 1000.0, value_name = "N")]
    pub rate: f64,
    /// How long each latency run (straight to the platform, then through the gateway) lasts.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub seconds: f64,
    /// Contacts a second posted while a wave switches and rolls back, and during failover.
    #[arg(long, default_value_t = 100.0, value_name = "N")]
    pub switch_rate: f64,
    /// Tickets the old platform starts with.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub tickets: usize,
    /// The store: a PostgreSQL URL (by default a throwaway database on the local server, as
    /// the tests make: `CUTOVER_TEST_POSTGRES` or postgres://postgres@127.0.0.1:5432) or
    /// `sqlite://FILE` (one process per SQLite file: no failover figure). The global --store
    /// is not used: the benchmark makes its own.
    #[arg(long, value_name = "URL")]
    pub bench_store: Option<String>,
    /// How long to wait for every contact to be delivered at the end.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub drain_timeout: u64,
}

/// One request of a load: when it was sent (since the load began), how long its answer took,
/// and its status (`None`: no answer).
#[derive(Debug, Clone, Copy)]
struct Sample {
    at: Duration,
    ms: f64,
    status: Option<u16>,
}

/// What a load sent and got.
#[derive(Debug)]
struct Load {
    started: Instant,
    seconds: f64,
    samples: Vec<Sample>,
}

impl Load {
    /// The samples sent between `from` and `to`.
    fn between(&self, from: Instant, to: Instant) -> impl Iterator<Item = &Sample> {
        let (from, to) = (
            from.saturating_duration_since(self.started),
            to.saturating_duration_since(self.started),
        );
        self.samples
            .iter()
            .filter(move |s| s.at >= from && s.at <= to)
    }

    fn failed<'a>(samples: impl Iterator<Item = &'a Sample>) -> (u64, u64) {
        let (mut sent, mut failed) = (0, 0);
        for s in samples {
            sent += 1;
            if !s.status.is_some_and(|c| (200..300).contains(&c)) {
                failed += 1;
            }
        }
        (sent, failed)
    }

    fn figures(&self, asked: f64) -> Value {
        let mut ok: Vec<f64> = self
            .samples
            .iter()
            .filter(|s| s.status.is_some_and(|c| (200..300).contains(&c)))
            .map(|s| s.ms)
            .collect();
        ok.sort_by(f64::total_cmp);
        let mut statuses = BTreeMap::new();
        for s in &self.samples {
            let key = s.status.map_or("no_answer".to_owned(), |c| c.to_string());
            *statuses.entry(key).or_insert(0u64) += 1;
        }
        let sent = self.samples.len() as f64;
        let achieved = sent / self.seconds.max(f64::EPSILON);
        json!({
            "rate_asked_per_second": asked,
            "rate_achieved_per_second": achieved,
            "rate_reached": achieved >= asked * RATE_REACHED,
            "sent": self.samples.len(),
            "answered_2xx": ok.len(),
            "failed": self.samples.len() - ok.len(),
            "statuses": statuses,
            "seconds": self.seconds,
            "latency_ms": {
                "p50": quantile(&ok, 0.50),
                "p90": quantile(&ok, 0.90),
                "p99": quantile(&ok, 0.99),
                "max": ok.last().copied(),
            },
        })
    }
}

/// The `q` quantile of sorted values (nearest rank).
fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// Posts `request(i)` at `rate` a second, open loop (each on time, not after the one before),
/// until `stop` or for `seconds`.
async fn play<F>(rate: f64, seconds: Option<f64>, stop: CancellationToken, request: F) -> Load
where
    F: Fn(u64) -> reqwest::RequestBuilder,
{
    let started = Instant::now();
    let limit = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let mut tasks = tokio::task::JoinSet::new();
    let mut samples = Vec::new();
    let end = seconds.map(|s| started + Duration::from_secs_f64(s));
    let mut i = 0u64;
    loop {
        let due = started + Duration::from_secs_f64(i as f64 / rate);
        if stop.is_cancelled() || end.is_some_and(|end| due >= end) {
            break;
        }
        tokio::select! {
            () = stop.cancelled() => break,
            () = tokio::time::sleep_until(due.into()) => {}
        }
        let Ok(permit) = Arc::clone(&limit).acquire_owned().await else {
            break;
        };
        let sent = request(i);
        tasks.spawn(async move {
            let begun = Instant::now();
            let status = match sent.send().await {
                Ok(answer) => {
                    let status = answer.status().as_u16();
                    // The whole answer counts.
                    let _ = answer.bytes().await;
                    Some(status)
                }
                Err(_) => None,
            };
            drop(permit);
            Sample {
                at: begun.saturating_duration_since(started),
                ms: begun.elapsed().as_secs_f64() * 1000.0,
                status,
            }
        });
        while let Some(done) = tasks.try_join_next() {
            if let Ok(sample) = done {
                samples.push(sample);
            }
        }
        i += 1;
    }
    let seconds = started.elapsed().as_secs_f64();
    while let Some(done) = tasks.join_next().await {
        if let Ok(sample) = done {
            samples.push(sample);
        }
    }
    samples.sort_by_key(|s| s.at);
    Load {
        started,
        seconds,
        samples,
    }
}

/// A web-form contact as a site posts it: customer `customer`, the message key `key`.
fn web_form(
    client: &reqwest::Client,
    serve: &str,
    key: &str,
    customer: u64,
) -> reqwest::RequestBuilder {
    client
        .post(format!("{serve}/gateway/{CHANNEL}"))
        .json(&json!({
            "id": key,
            "email": format!("customer-{customer}@bench.example"),
            "name": format!("Customer {customer}"),
            "subject": format!("Question {key}"),
            "message": "Where is my order? It was due yesterday.",
        }))
}

/// A running `cutover serve`.
struct Served {
    child: tokio::process::Child,
    url: String,
    host: String,
}

impl Served {
    fn pid(&self) -> Option<u32> {
        self.child.id()
    }
}

/// What the phases share.
struct Bench {
    dir: tempfile::TempDir,
    plan: PathBuf,
    store: String,
    client: reqwest::Client,
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

    /// The same, which must exit 0: its standard output.
    async fn expect(&self, args: &[&str]) -> anyhow::Result<String> {
        let (code, out, err) = self.cutover(args).await?;
        if code != 0 {
            return Err(fail(
                Class::Internal,
                format!("`cutover {}` exited {code}: {out}{err}", args.join(" ")),
            ));
        }
        Ok(out)
    }

    /// Starts `cutover serve` on a free port as on host `host` (its `HOSTNAME`, which names it
    /// in the lease); waits until it listens.
    async fn serve(&self, host: &str) -> anyhow::Result<Served> {
        let log = self.dir.path().join(format!("serve-{host}.log"));
        let mut command = self.command(&["serve", "--listen", "127.0.0.1:0"])?;
        command
            .env("HOSTNAME", host)
            .stderr(std::fs::File::create(&log).context("create serve's log")?);
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
        Ok(Served {
            child,
            url,
            host: host.to_owned(),
        })
    }

    /// Waits until the bridge made a pass each way.
    async fn bridge_ready(&self) -> anyhow::Result<()> {
        for _ in 0..240 {
            let (_, out, _) = self.cutover(&["sync", "status", "--json"]).await?;
            let status: Value = serde_json::from_str(&out).unwrap_or(Value::Null);
            let ready = status["directions"]
                .as_array()
                .is_some_and(|d| d.len() == 2 && d.iter().all(|s| !s["caught_up_to"].is_null()));
            if ready {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Err(fail(
            Class::Internal,
            "the bridge made no pass each way within a minute",
        ))
    }

    /// `GET /api/v1/leader` of `served`: whether it leads.
    async fn leads(&self, served: &Served, token: &str) -> Option<bool> {
        let answer = self
            .client
            .get(format!("{}/api/v1/leader", served.url))
            .bearer_auth(token)
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .ok()?;
        let body: Value = answer.json().await.ok()?;
        body["role"].as_str().map(|r| r == "leader")
    }

    /// Waits until `served` answers with `role` (within `limit`): how long that took.
    async fn until_role(
        &self,
        served: &Served,
        token: &str,
        leader: bool,
        limit: Duration,
    ) -> anyhow::Result<Duration> {
        let started = Instant::now();
        loop {
            if self.leads(served, token).await == Some(leader) {
                return Ok(started.elapsed());
            }
            if started.elapsed() > limit {
                return Err(fail(
                    Class::Internal,
                    format!(
                        "serve on {} did not become {} within {limit:?}",
                        served.host,
                        if leader { "the leader" } else { "a follower" }
                    ),
                ));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The gates of wave 1 met the user's way: drill (if the plan asks for one), a clean
    /// verify, the sign-off of the wave's first signer.
    async fn ready_to_start(&self) -> anyhow::Result<()> {
        let checked = cutover_plan::plan::load_checked(&self.plan)?;
        let wave = checked.plan.waves.first().context("the plan has no wave")?;
        if wave.gates.rollback_drill {
            self.expect(&["drill", "--wave", "1"]).await?;
        }
        self.expect(&["verify"]).await?;
        let signer = wave
            .gates
            .sign_off
            .first()
            .context("the first wave names nobody to sign off")?
            .clone();
        self.expect(&["go", "--wave", "1", "--as", &signer]).await?;
        Ok(())
    }

    /// Posts contacts to `served` at `rate` (customers from a pool of 500, so some write
    /// again) until stopped.
    fn post_until(
        &self,
        served: &Served,
        rate: f64,
        phase: &'static str,
        stop: CancellationToken,
    ) -> tokio::task::JoinHandle<Load> {
        let (client, url) = (self.client.clone(), served.url.clone());
        tokio::spawn(async move {
            play(rate, None, stop, move |i| {
                web_form(&client, &url, &format!("{phase}-{i}"), i % 500)
            })
            .await
        })
    }

    /// Phase 1: the switch and the rollback under load.
    async fn switch_and_rollback(&self, served: &Served, rate: f64) -> anyhow::Result<Value> {
        eprintln!("Switch and rollback: meeting the gates (drill, verify, sign-off)…");
        self.ready_to_start().await?;
        eprintln!("Switch and rollback: posting {rate} contacts a second to the gateway…");
        let stop = CancellationToken::new();
        let load = self.post_until(served, rate, "switch", stop.clone());
        tokio::time::sleep(Duration::from_secs(1)).await;
        let start_began = Instant::now();
        let (start_code, start_out, start_err) = self
            .cutover(&["wave", "start", "1", "--as", "bench", "--json"])
            .await?;
        let start_ended = Instant::now();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let back_began = Instant::now();
        let (back_code, back_out, back_err) = self
            .cutover(&["rollback", "1", "--as", "bench", "--json"])
            .await?;
        let back_ended = Instant::now();
        tokio::time::sleep(Duration::from_secs(1)).await;
        stop.cancel();
        let load = load.await.context("the switch phase's load")?;
        let started: Value = serde_json::from_str(start_out.trim()).unwrap_or(Value::Null);
        let rolled: Value = serde_json::from_str(back_out.trim()).unwrap_or(Value::Null);
        let (switch_sent, switch_failed) = Load::failed(load.between(start_began, start_ended));
        let (back_sent, back_failed) = Load::failed(load.between(back_began, back_ended));
        let contacts = rolled["contacts"].as_array();
        Ok(json!({
            "wave_start": {
                "exit_code": start_code,
                "step": started["step"],
                "seconds": (start_ended - start_began).as_secs_f64(),
                "routing_flip_ms": started["flip_ms"],
                "drain_ms": started["drain_ms"],
                "requests": switch_sent,
                "failed_requests": switch_failed,
                "error": if start_code == 0 { Value::Null } else { json!(start_err) },
            },
            "rollback": {
                "exit_code": back_code,
                "seconds": (back_ended - back_began).as_secs_f64(),
                "routing_flip_ms": rolled["routing_flip_ms"],
                "reverse_drained": rolled["reverse_drained"],
                "reverse_drain_ms": rolled["reverse_drain_ms"],
                "contacts_the_new_side_took": contacts.map(Vec::len),
                "of_them_on_the_old_side": contacts
                    .map(|c| c.iter().filter(|c| c["on_old"] == true).count()),
                "requests": back_sent,
                "failed_requests": back_failed,
                "error": if back_code == 0 { Value::Null } else { json!(back_err) },
            },
            "load": load.figures(rate),
        }))
    }

    /// Phase 2, one takeover: posts to `follower` while `leader` is killed; the time until
    /// the follower leads and the requests it failed meanwhile.
    async fn failover(
        &self,
        mut leader: Served,
        follower: &Served,
        token: &str,
        (rate, phase): (f64, &'static str),
    ) -> anyhow::Result<Value> {
        self.until_role(&leader, token, true, Duration::from_secs(30))
            .await?;
        self.until_role(follower, token, false, Duration::from_secs(30))
            .await?;
        let stop = CancellationToken::new();
        let load = self.post_until(follower, rate, phase, stop.clone());
        tokio::time::sleep(Duration::from_secs(1)).await;
        let killed = Instant::now();
        leader
            .child
            .start_kill()
            .context("kill the leading `cutover serve`")?;
        // Reaped at once, as a service manager reaps it: a zombie's process id still shows
        // in /proc, and the follower would take it for alive.
        let _ = leader.child.wait().await;
        let takeover = self
            .until_role(follower, token, true, Duration::from_secs(60))
            .await;
        let took = killed.elapsed();
        tokio::time::sleep(Duration::from_secs(1)).await;
        stop.cancel();
        let load = load.await.context("the failover phase's load")?;
        let (sent, failed) = Load::failed(load.between(killed, Instant::now()));
        Ok(json!({
            "killed": leader.host,
            "took_over": follower.host,
            "took_over_within_ms": takeover.is_ok().then_some(took.as_millis() as u64),
            "requests_to_the_survivor_after_the_kill": sent,
            "failed_requests": failed,
            "load": load.figures(rate),
        }))
    }
}

/// Stops `cutover serve` with SIGTERM, or kills it after 30 s.
async fn stop(mut served: Served) {
    if let Some(pid) = served.pid() {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
    }
    if tokio::time::timeout(Duration::from_secs(30), served.child.wait())
        .await
        .is_err()
    {
        let _ = served.child.kill().await;
    }
}

/// Waits until no contact is pending (or `limit`); then counts them by status and looks each
/// delivered ticket up in its emulator's state.
async fn contacts(
    store: &dyn Store,
    old: &freshdesk::App,
    new: &freshdesk::App,
    limit: Duration,
) -> anyhow::Result<Value> {
    let started = Instant::now();
    loop {
        let mut all = Vec::new();
        let mut after = None;
        loop {
            let page = store.contacts(after, 1000).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            all.extend(page);
        }
        let pending = all
            .iter()
            .filter(|c| c.status == ContactStatus::Pending)
            .count();
        if pending > 0 && started.elapsed() < limit {
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        }
        let delivered: Vec<_> = all
            .iter()
            .filter(|c| c.status == ContactStatus::Delivered)
            .collect();
        let mut missing = 0u64;
        let mut by_side = BTreeMap::new();
        let mut waits: Vec<f64> = Vec::new();
        for c in &delivered {
            let side = c.side.unwrap_or(Side::Old);
            *by_side.entry(side.to_string()).or_insert(0u64) += 1;
            let app = match side {
                Side::Old => old,
                Side::New => new,
            };
            let found = c
                .ticket_id
                .as_ref()
                .and_then(|t| t.to_string().parse::<u64>().ok())
                .is_some_and(|id| app.ticket_json(id).is_some());
            if !found {
                missing += 1;
            }
            if let Some(at) = c.delivered_at {
                waits.push((at - c.received_at).num_milliseconds() as f64);
            }
        }
        waits.sort_by(f64::total_cmp);
        let follow_ups = delivered.iter().filter(|c| c.follow_up).count();
        return Ok(json!({
            "accepted": all.len(),
            "delivered": delivered.len(),
            "pending": pending,
            "failed": all.len() - delivered.len() - pending,
            "delivered_by_side": by_side,
            "follow_ups": follow_ups,
            "delivered_tickets_missing_on_their_platform": missing,
            "waited_seconds": started.elapsed().as_secs_f64(),
            "delivery_ms": {
                "p50": quantile(&waits, 0.5),
                "p99": quantile(&waits, 0.99),
                "max": waits.last().copied(),
            },
        }));
    }
}

/// What the report falls short of, one phrase each.
fn shortfalls(report: &Value) -> Vec<String> {
    let mut missed = Vec::new();
    let latency = &report["latency"];
    match latency["added_ms"]["p99"].as_f64() {
        Some(p99) if p99 <= ADDED_P99_GOAL_MS => {}
        Some(p99) => missed.push(format!(
            "the gateway's p99 adds {p99:.2} ms (goal {ADDED_P99_GOAL_MS} ms)"
        )),
        None => missed.push("no latency measured".to_owned()),
    }
    for run in ["direct", "gateway"] {
        if latency[run]["rate_reached"] != true {
            missed.push(format!(
                "{run}: {:.0} contacts a second of {} asked",
                latency[run]["rate_achieved_per_second"]
                    .as_f64()
                    .unwrap_or(0.0),
                latency[run]["rate_asked_per_second"]
            ));
        }
    }
    if latency["gateway"]["failed"].as_u64() != Some(0) {
        missed.push("the gateway failed requests at the asked rate".to_owned());
    }
    let switch = &report["switch"];
    for step in ["wave_start", "rollback"] {
        if switch[step]["exit_code"] != 0 {
            missed.push(format!("{step} did not finish cleanly"));
        }
        if switch[step]["failed_requests"].as_u64() != Some(0) {
            missed.push(format!("requests failed during {step}"));
        }
    }
    match switch["rollback"]["routing_flip_ms"].as_u64() {
        Some(ms) if ms <= FLIP_GOAL_MS => {}
        other => missed.push(format!(
            "routing flipped back in {other:?} ms (goal {FLIP_GOAL_MS} ms)"
        )),
    }
    if let Some(runs) = report["failover"]["runs"].as_object() {
        for (name, run) in runs {
            match run["took_over_within_ms"].as_u64() {
                Some(ms) if ms <= TAKEOVER_GOAL.as_millis() as u64 => {}
                other => missed.push(format!("failover {name}: took over in {other:?} ms")),
            }
            if run["failed_requests"].as_u64() != Some(0) {
                missed.push(format!("failover {name}: requests failed"));
            }
        }
    }
    let contacts = &report["contacts"];
    if contacts["accepted"] != contacts["delivered"]
        || contacts["delivered_tickets_missing_on_their_platform"] != 0
    {
        missed.push("not every accepted contact was delivered".to_owned());
    }
    missed
}

/// Runs `cutover bench gateway` and prints its figures as one JSON object.
pub(crate) async fn gateway(args: GatewayBenchArgs) -> anyhow::Result<Outcome> {
    if !(args.rate > 0.0 && args.seconds > 0.0 && args.switch_rate > 0.0) {
        return Err(fail(
            Class::Config,
            "--rate, --seconds and --switch-rate must be above zero",
        ));
    }
    // A throwaway database unless one is given; dropped at the end.
    let (database, store_url) = match &args.bench_store {
        Some(url) => (None, url.clone()),
        None => {
            let db = cutover_store::testing::TestDatabase::create()
                .await
                .context("create a throwaway PostgreSQL database (or pass --bench-store)")?;
            let url = db.url().to_string();
            (Some(db), url)
        }
    };
    let parsed: cutover_store::StoreUrl = store_url.parse().context("read --bench-store")?;
    let postgres = parsed.backend() == cutover_store::Backend::Postgres;
    eprintln!(
        "Starting the emulators ({} tickets on the old side)…",
        args.tickets
    );
    let old = rehearsal::plain_freshdesk(71, args.tickets).await?;
    let new = rehearsal::plain_freshdesk(72, 0).await?;
    let direct = rehearsal::plain_freshdesk(73, args.tickets).await?;
    let dir = tempfile::Builder::new()
        .prefix("cutover-bench-gateway-")
        .tempdir()
        .context("create the benchmark's temporary folder")?;
    let plan = dir.path().join("cutover.toml");
    rehearsal::write_plan_between(
        &plan,
        (PlatformKind::Freshdesk, old.url()),
        (PlatformKind::Freshdesk, new.url()),
        100_000,
    )
    .await?;
    tune_plan(&plan)?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(IN_FLIGHT)
        .build()
        .context("make an HTTP client")?;
    let bench = Bench {
        dir,
        plan,
        store: store_url,
        client,
    };
    eprintln!("Backfilling as a child process…");
    bench
        .expect(&["backfill", "--notifications-off", "--json"])
        .await?;
    let token = bench
        .expect(&[
            "token",
            "create",
            "--role",
            "viewer",
            "--name",
            "bench-gateway",
        ])
        .await?
        .trim()
        .to_owned();
    let first = bench.serve("bench-host-a").await?;
    bench.bridge_ready().await?;

    let switch = bench.switch_and_rollback(&first, args.switch_rate).await?;

    let (failover, survivor) = if postgres {
        eprintln!("Failover: two processes as on two hosts, then as on one…");
        let second = bench.serve("bench-host-b").await?;
        let two_hosts = bench
            .failover(first, &second, &token, (args.switch_rate, "two-hosts"))
            .await?;
        let third = bench.serve("bench-host-b").await?;
        let one_host = bench
            .failover(second, &third, &token, (args.switch_rate, "one-host"))
            .await?;
        (
            json!({
                "store": "postgres",
                "runs": { "two_hosts": two_hosts, "one_host": one_host },
                "note": "two hosts: the follower waits out the lease (6 s, tried every second); \
                         one host: it sees the leader's process is gone and takes over at once",
            }),
            third,
        )
    } else {
        (
            json!({ "store": "sqlite", "runs": null,
                    "note": "one cutover serve per SQLite file: no failover" }),
            first,
        )
    };

    eprintln!(
        "Added latency: {} contacts a second for {} s straight to the platform, then through the gateway…",
        args.rate, args.seconds
    );
    let direct_url = direct.url().to_owned();
    let client = bench.client.clone();
    let direct_load = play(
        args.rate,
        Some(args.seconds),
        CancellationToken::new(),
        |i| {
            client
                .post(format!("{direct_url}/api/v2/tickets"))
                .basic_auth(SIM_TOKEN, Some("X"))
                .json(&json!({
                    "subject": format!("Question direct-{i}"),
                    "description": "<p>Where is my order? It was due yesterday.</p>",
                    "name": format!("Customer {i}"),
                    "email": format!("customer-{i}@bench.example"),
                    "status": 2,
                    "priority": 1,
                    "tags": [format!("cutover-contact-{i}")],
                }))
        },
    )
    .await;
    let serve_url = survivor.url.clone();
    let gateway_load = play(
        args.rate,
        Some(args.seconds),
        CancellationToken::new(),
        |i| {
            // A new customer each: every contact a new ticket, as in the direct run.
            web_form(&client, &serve_url, &format!("latency-{i}"), 1_000_000 + i)
        },
    )
    .await;
    let (direct_figures, gateway_figures) = (
        direct_load.figures(args.rate),
        gateway_load.figures(args.rate),
    );
    let added = |q: &str| match (
        gateway_figures["latency_ms"][q].as_f64(),
        direct_figures["latency_ms"][q].as_f64(),
    ) {
        (Some(g), Some(d)) => json!(g - d),
        _ => Value::Null,
    };
    let latency = json!({
        "added_ms": { "p50": added("p50"), "p99": added("p99") },
        "direct": direct_figures,
        "gateway": gateway_figures,
        "direct_target": "a third emulated Freshdesk like the old one, outside the plan: POST /api/v2/tickets",
        "gateway_target": format!("POST /gateway/{CHANNEL} (web form, JSON) of cutover serve, kept in the {} store before the 202", if postgres { "PostgreSQL" } else { "SQLite" }),
    });

    eprintln!("Waiting for every contact to be delivered…");
    let store = cutover_store::open(&parsed).await?;
    let contacts = contacts(
        store.as_ref(),
        old.state(),
        new.state(),
        Duration::from_secs(args.drain_timeout),
    )
    .await?;
    store.close().await;
    stop(survivor).await;

    let mut report = json!({
        "platforms": { "old": "freshdesk", "new": "freshdesk" },
        "store": if postgres { "postgres" } else { "sqlite" },
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "goals": {
            "added_p99_ms": ADDED_P99_GOAL_MS,
            "rate_per_second": args.rate,
            "failed_requests_during_switch_rollback_failover": 0,
            "routing_flip_ms": FLIP_GOAL_MS,
            "takeover_seconds": TAKEOVER_GOAL.as_secs(),
            "contacts_lost": 0,
        },
        "latency": latency,
        "switch": switch,
        "failover": failover,
        "contacts": contacts,
    });
    let missed = shortfalls(&report);
    report["goals"]["met"] = json!(missed.is_empty());
    report["goals"]["missed"] = json!(missed);
    println!("{}", serde_json::to_string_pretty(&report)?);
    drop(database);
    for sim in [old, new, direct] {
        sim.shutdown_token().cancel();
    }
    Ok(if missed.is_empty() {
        Outcome::Clean
    } else {
        Outcome::Findings
    })
}

/// The plan's `poll_every` set to a second (the bench is about the gateway, not polling), and
/// the requester notifications confirmed off, as a user confirms them once switched off in
/// Freshdesk's admin (the emulators send none).
fn tune_plan(plan: &Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(plan).context("read the plan")?;
    let edited = text
        .replace("poll_every = \"60s\"", "poll_every = \"1s\"")
        .replace(
            "\nnotifications_off = false\n",
            "\nnotifications_off = true\n",
        );
    if !edited.contains("poll_every = \"1s\"") {
        return Err(fail(
            Class::Internal,
            "the plan `cutover init` wrote has no `poll_every = \"60s\"` line",
        ));
    }
    std::fs::write(plan, edited).context("write the plan")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.5), Some(50.0));
        assert_eq!(quantile(&v, 0.99), Some(99.0));
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(quantile(&[3.0], 0.99), Some(3.0));
    }

    #[test]
    fn a_failed_answer_in_a_window_is_counted() {
        let started = Instant::now();
        let sample = |ms: u64, status| Sample {
            at: Duration::from_millis(ms),
            ms: 1.0,
            status,
        };
        let load = Load {
            started,
            seconds: 1.0,
            samples: vec![
                sample(10, Some(202)),
                sample(20, Some(503)),
                sample(30, None),
                sample(900, Some(500)),
            ],
        };
        let window = load.between(started, started + Duration::from_millis(100));
        assert_eq!(Load::failed(window), (3, 2));
    }
}
