//! `cutover bench backfill`: how fast, how cheap and how well paced a backfill is, measured
//! against the emulators and printed as JSON.
//!
//! It starts an old and a new emulator in this process (Zendesk or Freshdesk on each side,
//! `--from` and `--to`; Zendesk → Zendesk unless told), each behind a counter of the answers it
//! gives, writes a plan for them as a user does (`cutover init` against them) and runs the real
//! `cutover backfill` as a child process, so the CPU time and peak memory measured (sampled from
//! `/proc/<pid>` while it runs) are the engine's alone, not the emulators'. Two figures:
//!
//! - **rate-limited** (`--rate-limited`): the emulators keep their default limits (700 requests a
//!   minute, incremental exports 10) and the plan's budget is that limit; after `--minutes` the
//!   child is stopped, and the result is the requests the busier platform accepted per minute as
//!   a share of its limit, the share answered 429, and the tickets copied an hour (as the new
//!   emulator counts them), in any direction. Below [`MIN_SHARE_OF_LIMIT`] of the limit, or
//!   with [`MAX_SHARE_429`] answered 429 or more (`meets_pace` false), it exits with findings.
//! - **unthrottled** (the default): limits off (the plan's budget is above any real account's,
//!   which lifts the connectors' per-endpoint limits too); records per second end to end,
//!   CPU-seconds of the engine per 1,000 tickets and its peak resident memory.
//! - **verify** (`--verify`, with the unthrottled figure): after the backfill, `cutover verify`
//!   as a child process; the API reads it makes of each platform, set against the API reads the
//!   backfill made of the old platform (which reads every record once), and its CPU time and
//!   peak memory, and that peak over the backfill's (`peak_rss_per_backfill_peak`). The bench
//!   exits with findings (1) when the verification is not clean, reads more than once, or
//!   peaks above twice the backfill's memory (`peak_rss_within_bound`). Before it
//!   the emulators' clocks move on a minute, as time passes for a person
//!   between a backfill and its verification (Zendesk's exports leave out their last minute,
//!   which verify would otherwise read record by record).
//! - **cost** (`bench_cost.rs`): `cutover inventory`'s estimate first (its reads are not
//!   counted); then requests per ticket on each side against the floor
//!   (`cutover_engine::cost`), `meets_floor` within 1.25 of it (unthrottled), and tickets copied
//!   an hour and the estimate against the measured time, within 20 % (rate-limited). Misses exit
//!   with findings (1).

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use cutover_sim::AccountProfile;
use cutover_sim::control::Controlled;
use cutover_sim::freshdesk::{self, FreshdeskOptions, FreshdeskSim};
use cutover_sim::zendesk::{self as zendesk, ZendeskOptions, ZendeskSim};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use cutover_engine::cost::Volume;
use cutover_model::PlatformKind;

use super::bench_cost;
use super::rehearsal::{self, Limits};
use crate::exit::{Class, Outcome, fail};

/// The plan's budget in the unthrottled figure: more than any platform allows.
const UNTHROTTLED_RPM: u32 = 100_000;

/// What a verification may read of the new platform over the floor of reading its records once
/// (`cost::floor`), where the backfill did not read that platform: what the floor leaves out,
/// its configuration lists, Freshdesk's ticket windows that overlap where many copies share a
/// second, a long ticket's further conversation pages. Closed tickets' conversations read twice
/// (for the merge and for the comments) would be 20 % or more.
const NEW_SIDE_READ_SLACK: f64 = 1.05;

/// The least share of the account's limit the rate-limited run must use (issue 16): the busier
/// platform's accepted requests a minute over its limit.
const MIN_SHARE_OF_LIMIT: f64 = 0.95;

/// The most of its requests the busier platform may answer 429 in the rate-limited run.
const MAX_SHARE_429: f64 = 0.01;

/// The most `cutover verify` may use at its peak, as a multiple of the backfill's peak resident
/// memory in the same run: so an account a backfill can copy on a machine, that machine can
/// prove.
const VERIFY_PEAK_PER_BACKFILL_PEAK: f64 = 2.0;

/// Options of `cutover bench backfill`.
#[derive(Debug, Args)]
pub struct BackfillBenchArgs {
    /// Tickets the old platform starts with (with their users, organizations and comments).
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    pub tickets: usize,
    /// Keep the emulators' default rate limit and measure how close to it the engine runs (at
    /// least 0.95 of it, under 1 % answered 429) and the tickets it copies an hour.
    #[arg(long)]
    pub rate_limited: bool,
    /// With --rate-limited: how long to measure before stopping the engine.
    #[arg(long, default_value_t = 3.0, value_name = "MINUTES")]
    pub minutes: f64,
    /// Writes in flight at once in the engine.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub concurrency: usize,
    /// Seed of the generated data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Read everything and write nothing (`cutover backfill --dry-run`): the engine's cost of
    /// reading and planning alone, without the new platform's writes.
    #[arg(long)]
    pub dry_run: bool,
    /// Then run `cutover verify` and count its requests to each platform against reading every
    /// record once (the backfill's reads of the old platform; a new platform of another kind the
    /// floor of reading it, 5 % over). Not with --rate-limited or --dry-run.
    #[arg(long, conflicts_with_all = ["rate_limited", "dry_run"])]
    pub verify: bool,
    /// The platform moved from: its emulator is generated with --tickets tickets.
    #[arg(long, value_enum, default_value_t = Emulated::Zendesk)]
    pub from: Emulated,
    /// The platform moved to: its emulator starts empty.
    #[arg(long, value_enum, default_value_t = Emulated::Zendesk)]
    pub to: Emulated,
}

/// A platform the benchmark has an emulator of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Emulated {
    /// Zendesk.
    Zendesk,
    /// Freshdesk.
    Freshdesk,
}

impl Emulated {
    fn platform(self) -> PlatformKind {
        match self {
            Emulated::Zendesk => PlatformKind::Zendesk,
            Emulated::Freshdesk => PlatformKind::Freshdesk,
        }
    }

    /// The account's rate limit in the rate-limited figure: the emulator's default (Zendesk's
    /// 700 a minute, the Freshdesk plan's account budget).
    fn default_limit(self) -> u32 {
        match self {
            Emulated::Zendesk => ZendeskOptions::default().rate_limit_rpm.unwrap_or(700),
            Emulated::Freshdesk => FreshdeskOptions::default()
                .limits()
                .map_or(700, |limits| limits.account),
        }
    }
}

/// CPU time and peak memory of a process.
#[derive(Debug, Clone, Copy)]
pub(super) struct Usage {
    pub(super) cpu_seconds: f64,
    pub(super) peak_rss_bytes: u64,
}

/// A running process's CPU time and peak resident memory, from `/proc/<pid>` (Linux); `None`
/// elsewhere, or once the process has exited.
pub(super) fn usage_of(pid: u32) -> Option<Usage> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at field 3 ("state").
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux architecture cutover builds for.
    let cpu_seconds = ticks as f64 / 100.0;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let peak_kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(Usage {
        cpu_seconds,
        peak_rss_bytes: peak_kib * 1024,
    })
}

/// Answers an emulator gave, by class (every request of the engine; the bench sends none).
#[derive(Debug, Default)]
struct Tally {
    accepted: AtomicU64,
    limited: AtomicU64,
    failed: AtomicU64,
    /// Reads of the API (`GET /api/v2/…`): not attachment downloads, not writes.
    api_reads: AtomicU64,
    /// Requests outside the API (attachment downloads), which its rate limit does not count.
    downloads: AtomicU64,
    /// Requests to the incremental exports (`/api/v2/incremental/…`), limited apart.
    exports: AtomicU64,
    /// Requests by method and path, each part with a digit in it as `{id}`: where they go.
    endpoints: std::sync::Mutex<std::collections::BTreeMap<String, u64>>,
}

impl Tally {
    fn api_reads(&self) -> u64 {
        self.api_reads.load(Ordering::Relaxed)
    }

    fn count(&self, status: u16) {
        let counter = match status {
            429 => &self.limited,
            s if s >= 500 => &self.failed,
            _ => &self.accepted,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a request to `path` by `method`, each part with a digit in it as `{id}`.
    fn count_endpoint(&self, method: &axum::http::Method, path: &str) {
        let shape: Vec<&str> = path
            .split('/')
            .map(|part| {
                // The API's version (`v2`) is a name; ids, job ids and file names are not.
                let version = part
                    .strip_prefix('v')
                    .is_some_and(|n| n.parse::<u32>().is_ok());
                if !version && part.chars().any(|c| c.is_ascii_digit()) {
                    "{id}"
                } else {
                    part
                }
            })
            .collect();
        // A poisoned count is still a count.
        let mut endpoints = self
            .endpoints
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *endpoints
            .entry(format!("{method} {}", shape.join("/")))
            .or_default() += 1;
    }

    /// The requests by endpoint since `then` (an earlier [`Tally::endpoints`]).
    fn endpoints_since(&self, then: &std::collections::BTreeMap<String, u64>) -> serde_json::Value {
        self.endpoints()
            .into_iter()
            .filter_map(|(endpoint, n)| {
                let since = n - then.get(&endpoint).copied().unwrap_or(0);
                (since > 0).then(|| (endpoint, json!(since)))
            })
            .collect::<serde_json::Map<_, _>>()
            .into()
    }

    fn endpoints(&self) -> std::collections::BTreeMap<String, u64> {
        self.endpoints
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn snapshot(&self) -> (u64, u64, u64) {
        (
            self.accepted.load(Ordering::Relaxed),
            self.limited.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
        )
    }
}

/// An emulator served from this process behind a counter of its answers.
struct Counted {
    url: String,
    platform: Emulated,
    app: Arc<dyn Controlled>,
    tally: Arc<Tally>,
    shutdown: CancellationToken,
}

/// An emulator's service, whichever platform it emulates.
type Service = tower::util::BoxCloneService<
    axum::http::Request<axum::body::Body>,
    axum::response::Response,
    std::convert::Infallible,
>;

impl Counted {
    /// An emulated `platform` with `tickets` generated tickets (none: an empty account to move
    /// to), limited as `rate_limited` says (the emulator's defaults, or off).
    async fn start(
        platform: Emulated,
        seed: u64,
        tickets: usize,
        rate_limited: bool,
    ) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("bind a port on 127.0.0.1 for an emulator")?;
        let addr = listener
            .local_addr()
            .context("read the emulator's address")?;
        let url = format!("http://{addr}");
        let shutdown = CancellationToken::new();
        let started = |e: cutover_sim::SimError| {
            fail(
                Class::Internal,
                format!("start an emulated {platform:?}: {e}"),
            )
        };
        let (app, service): (Arc<dyn Controlled>, Service) = match platform {
            Emulated::Zendesk => {
                let limits = if rate_limited {
                    Limits {
                        rpm: ZendeskOptions::default().rate_limit_rpm,
                        incremental_rpm: ZendeskOptions::default().incremental_rpm,
                    }
                } else {
                    Limits {
                        rpm: None,
                        incremental_rpm: 0,
                    }
                };
                let opts = rehearsal::options(seed, tickets, limits);
                let app = zendesk::App::new(opts, &url, shutdown.clone()).map_err(started)?;
                let service = Service::new(ZendeskSim::router(Arc::clone(&app)));
                (app, service)
            }
            Emulated::Freshdesk => {
                let opts = FreshdeskOptions {
                    seed,
                    tickets,
                    // A real account's own groups, roles, statuses and fields, as Zendesk's.
                    profile: AccountProfile::Realistic,
                    api_key: rehearsal::SIM_TOKEN.to_owned(),
                    // The plan's limits, or every one off (they cannot be raised).
                    rate_limit_rpm: if rate_limited { None } else { Some(0) },
                    // Switched off in the admin before a backfill (see `rehearsal`).
                    acknowledge_new_tickets: false,
                    ..FreshdeskOptions::default()
                };
                let app = freshdesk::App::new(opts, &url, shutdown.clone()).map_err(started)?;
                let service = Service::new(FreshdeskSim::router(Arc::clone(&app)));
                (app, service)
            }
        };
        let tally = Arc::new(Tally::default());
        let counter = Arc::clone(&tally);
        let reads = Arc::clone(&tally);
        let service =
            tower::ServiceExt::map_response(service, move |response: axum::response::Response| {
                counter.count(response.status().as_u16());
                response
            });
        let service = tower::ServiceExt::map_request(
            service,
            move |request: axum::http::Request<axum::body::Body>| {
                let path = request.uri().path();
                reads.count_endpoint(request.method(), path);
                if !path.starts_with("/api/") && !path.starts_with("/_sim/") {
                    reads.downloads.fetch_add(1, Ordering::Relaxed);
                } else if path.starts_with("/api/v2/incremental/") {
                    reads.exports.fetch_add(1, Ordering::Relaxed);
                }
                if request.method() == axum::http::Method::GET
                    && request.uri().path().starts_with("/api/v2/")
                {
                    reads.api_reads.fetch_add(1, Ordering::Relaxed);
                }
                request
            },
        );
        let token = shutdown.clone();
        tokio::spawn(async move { cutover_sim::serve(listener, service, token).await });
        Ok(Counted {
            url,
            platform,
            app,
            tally,
            shutdown,
        })
    }

    /// Comments the emulator holds, each ticket's first (its description) included: Freshdesk
    /// keeps that one on the ticket, the rest as conversations.
    fn comments(&self) -> usize {
        match self.platform {
            Emulated::Zendesk => self.count("comments"),
            Emulated::Freshdesk => self.count("tickets") + self.count("conversations"),
        }
    }

    /// End users (Zendesk's users, Freshdesk's contacts).
    fn users(&self) -> usize {
        match self.platform {
            Emulated::Zendesk => self.count("users"),
            Emulated::Freshdesk => self.count("contacts"),
        }
    }

    /// Organizations (Zendesk's organizations, Freshdesk's companies).
    fn organizations(&self) -> usize {
        match self.platform {
            Emulated::Zendesk => self.count("organizations"),
            Emulated::Freshdesk => self.count("companies"),
        }
    }

    /// Attachments the emulator holds as uploaded or written to it.
    fn attachments(&self) -> usize {
        match self.platform {
            Emulated::Zendesk => self.count("uploaded_attachments"),
            Emulated::Freshdesk => self.count("attachments"),
        }
    }

    /// Records of one kind the emulator holds, by its own count.
    fn count(&self, kind: &str) -> usize {
        self.app.counts().get(kind).copied().unwrap_or(0)
    }

    /// Downloads and export requests so far.
    fn side_counts(&self) -> (u64, u64) {
        (
            self.tally.downloads.load(Ordering::Relaxed),
            self.tally.exports.load(Ordering::Relaxed),
        )
    }
}

/// The `cutover` executable as a child process on the bench's plan and store, with the
/// emulators' credentials; the caller adds the command.
pub(super) fn engine(
    plan: &std::path::Path,
    store: &str,
) -> anyhow::Result<tokio::process::Command> {
    let exe = std::env::current_exe().context("find the cutover executable")?;
    let mut command = tokio::process::Command::new(exe);
    command
        .arg("--plan")
        .arg(plan)
        .args(["--store", store])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    for (variable, value) in [
        ("CUTOVER_OLD_EMAIL", rehearsal::SIM_EMAIL),
        ("CUTOVER_NEW_EMAIL", rehearsal::SIM_EMAIL),
        ("CUTOVER_OLD_TOKEN", rehearsal::SIM_TOKEN),
        ("CUTOVER_NEW_TOKEN", rehearsal::SIM_TOKEN),
    ] {
        command.env(variable, value);
    }
    Ok(command)
}

/// Runs a child to its end, sampling its CPU time and peak memory: its exit status, standard
/// output, usage and wall time in seconds.
pub(super) async fn run_sampled(
    mut command: tokio::process::Command,
) -> anyhow::Result<(std::process::ExitStatus, String, Option<Usage>, f64)> {
    let started = Instant::now();
    let mut child = command.spawn().context("start the engine")?;
    let pid = child.id();
    let mut stdout = String::new();
    let mut out = child
        .stdout
        .take()
        .context("the engine's standard output")?;
    let reading = tokio::spawn(async move {
        tokio::io::AsyncReadExt::read_to_string(&mut out, &mut stdout)
            .await
            .map(|_| stdout)
    });
    let mut usage = None;
    let status = loop {
        if let Some(status) = child.try_wait().context("wait for the engine")? {
            break status;
        }
        usage = pid.and_then(usage_of).or(usage);
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let stdout = reading
        .await
        .context("read the engine's output")?
        .context("read the engine's output")?;
    Ok((status, stdout, usage, started.elapsed().as_secs_f64()))
}

/// Moves an emulator's clock on by a minute and a second, over its control API.
async fn skip_a_minute(url: &str) -> anyhow::Result<()> {
    reqwest::Client::new()
        .post(format!("{url}/_sim/clock"))
        .json(&json!({ "advance_seconds": 61 }))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .with_context(|| format!("move the clock of the emulator at {url}"))?;
    Ok(())
}

/// Runs `cutover verify` after a backfill and sets its API reads of each platform against
/// `read_once`, on each side the API reads of every record once: on the old side the
/// backfill's reads (which read every record once); on the new side the same, or when it is
/// another platform and reading the copied records there costs more (a Freshdesk is read two
/// requests a ticket, a Zendesk by exports), that floor (`cutover_engine::cost`) with
/// [`NEW_SIDE_READ_SLACK`].
async fn verify_figures(
    plan: &std::path::Path,
    store: &str,
    old: &Counted,
    new: &Counted,
    read_once: (u64, u64),
) -> anyhow::Result<serde_json::Value> {
    skip_a_minute(&old.url).await?;
    skip_a_minute(&new.url).await?;
    let before = (old.tally.api_reads(), new.tally.api_reads());
    let endpoints = (old.tally.endpoints(), new.tally.endpoints());
    let mut command = engine(plan, store)?;
    command.args(["verify", "--json"]);
    eprintln!("Running `cutover verify` as a child process…");
    let (status, stdout, usage, seconds) = run_sampled(command).await?;
    let reads = (
        old.tally.api_reads() - before.0,
        new.tally.api_reads() - before.1,
    );
    let report: serde_json::Value = serde_json::from_str(stdout.trim())
        .with_context(|| format!("read the verification's JSON report ({status}): {stdout}"))?;
    let ratio = |n: u64, once: u64| n as f64 / once.max(1) as f64;
    Ok(json!({
        "clean": status.success(),
        "seconds": seconds,
        "api_reads": { "old": reads.0, "new": reads.1 },
        "read_once_api_reads": read_once.0,
        "read_once_api_reads_by_side": { "old": read_once.0, "new": read_once.1 },
        "reads_per_read_once": { "old": ratio(reads.0, read_once.0),
                                 "new": ratio(reads.1, read_once.1) },
        "within_read_once": reads.0 <= read_once.0 && reads.1 <= read_once.1,
        "requests_by_endpoint": { "old": old.tally.endpoints_since(&endpoints.0),
                                  "new": new.tally.endpoints_since(&endpoints.1) },
        "cpu_seconds": usage.map(|u| u.cpu_seconds),
        "peak_rss_bytes": usage.map(|u| u.peak_rss_bytes),
        "matched": report["kinds"].as_object().map(|kinds| {
            kinds.values().filter_map(|k| k["matched"].as_u64()).sum::<u64>()
        }),
    }))
}

/// What the verification's figures fall short of, one phrase each (none without `--verify`):
/// clean, no more reads than reading every record once, a peak within
/// [`VERIFY_PEAK_PER_BACKFILL_PEAK`] times the backfill's.
fn shortfalls(verify: &serde_json::Value) -> Vec<String> {
    let mut verdicts = Vec::new();
    if verify.is_null() {
        return verdicts;
    }
    if verify["clean"] != true {
        verdicts.push("the verification was not clean".to_owned());
    }
    if verify["within_read_once"] != true {
        verdicts.push("it read more than the records once".to_owned());
    }
    if verify["peak_rss_within_bound"] == false {
        verdicts.push(format!(
            "its peak memory was {:.2} times the backfill's (at most {VERIFY_PEAK_PER_BACKFILL_PEAK})",
            verify["peak_rss_per_backfill_peak"].as_f64().unwrap_or(f64::NAN)
        ));
    }
    verdicts
}

/// What the cost figures fall short of: requests above [`bench_cost::MAX_OVER_FLOOR`] times the
/// floor (a full unthrottled run); in a rate-limited run, the busier platform below
/// [`MIN_SHARE_OF_LIMIT`] of its limit or at [`MAX_SHARE_429`] answered 429 or more, and
/// inventory's estimate off the measured time by more than [`bench_cost::MAX_ESTIMATE_ERROR`].
fn cost_shortfalls(figures: &serde_json::Value) -> Vec<String> {
    let mut verdicts = Vec::new();
    if figures["cost"]["meets_floor"] == false {
        verdicts.push(format!(
            "requests were {:.2} times the floor (at most {})",
            figures["cost"]["ratio"]["worst"]
                .as_f64()
                .unwrap_or(f64::NAN),
            bench_cost::MAX_OVER_FLOOR
        ));
    }
    if figures["meets_pace"] == false {
        verdicts.push(format!(
            "the busier platform accepted {:.2} of its limit with {:.2} % answered 429 (at least \
             {MIN_SHARE_OF_LIMIT}, under {} %)",
            figures["share_of_limit"].as_f64().unwrap_or(f64::NAN),
            figures["share_429"].as_f64().unwrap_or(f64::NAN) * 100.0,
            MAX_SHARE_429 * 100.0
        ));
    }
    if figures["estimate"]["within_20_percent"] == false {
        verdicts.push(format!(
            "inventory's estimate missed the measured {} by {:.0} %",
            figures["estimate"]["compared"].as_str().unwrap_or("time"),
            figures["estimate"]["error"].as_f64().unwrap_or(f64::NAN) * 100.0
        ));
    }
    verdicts
}

/// Runs `cutover bench backfill` and prints its figures as one JSON object.
pub(crate) async fn backfill(args: BackfillBenchArgs) -> anyhow::Result<Outcome> {
    let (from, to) = (args.from.platform(), args.to.platform());
    // The plan's budget and the share's denominator: the lower of the two accounts' limits.
    let limit = args.from.default_limit().min(args.to.default_limit());
    eprintln!(
        "Generating {} tickets in the old emulated {from} (moving to {to}){}…",
        args.tickets,
        if args.rate_limited {
            format!(" (rate limit {limit} requests a minute)")
        } else {
            " (rate limits off)".to_owned()
        }
    );
    let old = Counted::start(args.from, args.seed, args.tickets, args.rate_limited).await?;
    let new = Counted::start(args.to, args.seed + 1, 0, args.rate_limited).await?;
    // What the empty account holds of its own (a realistic account's): not copied.
    let attachments_before = new.attachments();
    let dir = tempfile::Builder::new()
        .prefix("cutover-bench-")
        .tempdir()
        .context("create the benchmark's temporary folder")?;
    let plan = dir.path().join("cutover.toml");
    let budget = if args.rate_limited {
        limit
    } else {
        UNTHROTTLED_RPM
    };
    rehearsal::write_plan_between(&plan, (from, &old.url), (to, &new.url), budget).await?;
    let store = format!("sqlite://{}", dir.path().join("bench.db").display());
    // The user's estimate, before anything moves: checked below against the time measured.
    let inventory = bench_cost::inventory(&plan, &store).await?;
    if args.rate_limited {
        // A minute passes, as for a person between reading the estimate and starting: the
        // inventory's reads leave the limits' windows before the backfill is timed.
        tokio::time::sleep(Duration::from_secs(61)).await;
    }
    // Writing the plan read both accounts: the figures count from here.
    let before = (
        old.tally.snapshot(),
        new.tally.snapshot(),
        old.tally.api_reads(),
    );
    let sides_before = (old.side_counts(), new.side_counts());
    let endpoints_before = (old.tally.endpoints(), new.tally.endpoints());
    let since = |now: (u64, u64, u64), then: (u64, u64, u64)| {
        (now.0 - then.0, now.1 - then.1, now.2 - then.2)
    };
    let mut command = engine(&plan, &store)?;
    command
        .args(["backfill", "--json"])
        .args(args.dry_run.then_some("--dry-run"))
        .arg("--concurrency")
        .arg(args.concurrency.to_string());
    eprintln!("Running the engine as a child process…");
    let started = Instant::now();
    let mut child = command.spawn().context("start `cutover backfill`")?;
    let deadline = Duration::from_secs_f64(args.minutes.max(0.01) * 60.0);
    let pid = child.id();
    let mut usage = None;
    let finished = loop {
        if let Some(status) = child.try_wait().context("wait for the engine")? {
            break Some(status);
        }
        if args.rate_limited && started.elapsed() >= deadline {
            break None;
        }
        // The last sample before the exit misses at most one interval of CPU time.
        usage = pid.and_then(usage_of).or(usage);
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let elapsed = started.elapsed().as_secs_f64();
    let (old_counts, new_counts) = (
        since(old.tally.snapshot(), before.0),
        since(new.tally.snapshot(), before.1),
    );
    let measured = |counts: (u64, u64, u64), side: &Counted, then: (u64, u64)| {
        let (downloads, exports) = side.side_counts();
        bench_cost::Measured {
            total: counts.0 + counts.1 + counts.2,
            downloads: downloads - then.0,
            exports: exports - then.1,
        }
    };
    let (old_measured, new_measured) = (
        measured(old_counts, &old, sides_before.0),
        measured(new_counts, &new, sides_before.1),
    );
    let copied = new.count("tickets") as u64;
    let copied_per_hour = copied as f64 * 3600.0 / elapsed.max(f64::EPSILON);
    let figures = if args.rate_limited {
        if finished.is_none() {
            child.kill().await.context("stop the engine")?;
        }
        let side = |(accepted, limited, failed): (u64, u64, u64)| {
            let minutes = elapsed / 60.0;
            let total = accepted + limited + failed;
            json!({
                "accepted": accepted,
                "answered_429": limited,
                "answered_5xx": failed,
                "accepted_per_minute": accepted as f64 / minutes,
                "share_of_limit": accepted as f64 / minutes / f64::from(limit),
                "share_429": if total == 0 { 0.0 } else { limited as f64 / total as f64 },
            })
        };
        let (old_side, new_side) = (side(old_counts), side(new_counts));
        // The headline is the busier platform's: the one whose limit paces the copy.
        let busiest = if old_counts.0 > new_counts.0 {
            &old_side
        } else {
            &new_side
        };
        let share = busiest["share_of_limit"].as_f64().unwrap_or(0.0);
        let share_429 = busiest["share_429"].as_f64().unwrap_or(1.0);
        json!({
            "mode": "rate_limited",
            "direction": { "from": from, "to": to },
            "limit_per_minute": limit,
            "tickets": args.tickets,
            "minutes": elapsed / 60.0,
            "engine_finished_early": finished.is_some(),
            "share_of_limit": busiest["share_of_limit"],
            "share_429": busiest["share_429"],
            "tickets_copied": copied,
            "tickets_copied_per_hour": copied_per_hour,
            // Counted by the new emulator (it starts with none), over the time measured.
            "tickets_copied_counted_by": to,
            "pace_floor": { "min_share_of_limit": MIN_SHARE_OF_LIMIT,
                            "max_share_429": MAX_SHARE_429 },
            "meets_pace": share >= MIN_SHARE_OF_LIMIT && share_429 < MAX_SHARE_429,
            "estimate": bench_cost::estimate_check(
                &inventory,
                finished.is_some().then_some(elapsed / 60.0),
                copied_per_hour,
            ),
            "old": old_side,
            "new": new_side,
        })
    } else {
        let status = finished.context("the engine's exit status")?;
        let mut stdout = String::new();
        if let Some(mut out) = child.stdout.take() {
            tokio::io::AsyncReadExt::read_to_string(&mut out, &mut stdout)
                .await
                .context("read the engine's result")?;
        }
        if !status.success() {
            return Err(fail(
                Class::Internal,
                format!("`cutover backfill` failed ({status}); its output: {stdout}"),
            ));
        }
        let report: serde_json::Value = serde_json::from_str(stdout.trim())
            .with_context(|| format!("read the backfill's JSON report: {stdout}"))?;
        let seconds = elapsed;
        let total = |field: &str| -> u64 {
            report["kinds"]
                .as_object()
                .map(|kinds| {
                    kinds
                        .values()
                        .filter_map(|counts| counts[field].as_u64())
                        .sum()
                })
                .unwrap_or(0)
        };
        let records = total("read");
        let written = total("created") + total("found") + total("updated");
        let per_thousand = |cpu: f64| cpu * 1000.0 / args.tickets.max(1) as f64;
        let comments = new.comments() as u64;
        // What was copied, counted by the new side (it starts with no tickets): a ticket the
        // old side keeps as spam (Freshdesk) is not copied, nor read past its list. Users and
        // organizations by the old side's count (the new account holds its own).
        let volume = Volume {
            tickets: new.count("tickets") as u64,
            comments,
            // The attachments copied: each one downloaded once and written once.
            attachments: new.attachments().saturating_sub(attachments_before) as u64,
            attachment_bytes: 0,
            users: old.users() as u64,
            organizations: old.organizations() as u64,
        };
        let cost = if args.dry_run {
            serde_json::Value::Null
        } else {
            bench_cost::figures(from, to, &volume, old_measured, new_measured)?
        };
        // The backfill's alone, before the verification reads.
        let by_endpoint = json!({
            "old": old.tally.endpoints_since(&endpoints_before.0),
            "new": new.tally.endpoints_since(&endpoints_before.1),
        });
        let mut verified = if args.verify {
            let backfill_reads = old.tally.api_reads() - before.2;
            // Reading the new platform as it is read when it is the old side: the floor of
            // reading its records once, with what that floor leaves out.
            let floor = cutover_engine::cost::floor(to, to, &volume)?.old.api;
            let new_once = backfill_reads.max((floor as f64 * NEW_SIDE_READ_SLACK).ceil() as u64);
            verify_figures(&plan, &store, &old, &new, (backfill_reads, new_once)).await?
        } else {
            serde_json::Value::Null
        };
        // Verify's peak memory against the backfill's, measured in one run: at most
        // `VERIFY_PEAK_PER_BACKFILL_PEAK` (unmeasured, off Linux: not judged).
        if let (Some(backfill_peak), Some(verify_peak)) = (
            usage.map(|u| u.peak_rss_bytes),
            verified["peak_rss_bytes"].as_u64(),
        ) {
            let ratio = verify_peak as f64 / backfill_peak.max(1) as f64;
            verified["peak_rss_per_backfill_peak"] = json!(ratio);
            verified["peak_rss_within_bound"] = json!(ratio <= VERIFY_PEAK_PER_BACKFILL_PEAK);
        }
        json!({
            "mode": if args.dry_run { "unthrottled_dry_run" } else { "unthrottled" },
            "direction": { "from": from, "to": to },
            "tickets": args.tickets,
            "records": records,
            "written": written,
            "engine_seconds": seconds,
            "records_per_second": records as f64 / seconds.max(f64::EPSILON),
            "comments_copied": comments,
            "records_per_second_with_comments":
                (records + comments) as f64 / seconds.max(f64::EPSILON),
            "engine_cpu_seconds": usage.map(|u| u.cpu_seconds),
            "engine_cpu_seconds_per_1000_tickets": usage.map(|u| per_thousand(u.cpu_seconds)),
            "engine_peak_rss_bytes": usage.map(|u| u.peak_rss_bytes),
            "requests": { "old": old_counts.0 + old_counts.1 + old_counts.2,
                          "new": new_counts.0 + new_counts.1 + new_counts.2 },
            "downloads": { "old": old_measured.downloads, "new": new_measured.downloads },
            "requests_by_endpoint": by_endpoint,
            "cost": cost,
            "meets_floor": cost["meets_floor"],
            "estimate": { "minutes_at_plan_limits": inventory["estimate"]["time"]["minutes"],
                          "volume_estimated": inventory["volume"] },
            "verify": verified,
            "backfill": report,
        })
    };
    old.shutdown.cancel();
    new.shutdown.cancel();
    println!("{}", serde_json::to_string_pretty(&figures)?);
    let mut verdicts = shortfalls(&figures["verify"]);
    verdicts.extend(cost_shortfalls(&figures));
    if verdicts.is_empty() {
        return Ok(Outcome::Clean);
    }
    eprintln!("The benchmark fell short: {}.", verdicts.join("; "));
    Ok(Outcome::Findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verification_above_twice_the_backfills_peak_falls_short() {
        let figures = |ratio: f64| {
            json!({
                "clean": true,
                "within_read_once": true,
                "peak_rss_per_backfill_peak": ratio,
                "peak_rss_within_bound": ratio <= VERIFY_PEAK_PER_BACKFILL_PEAK,
            })
        };
        assert_eq!(shortfalls(&figures(1.24)), Vec::<String>::new());
        assert_eq!(
            shortfalls(&figures(2.08)),
            ["its peak memory was 2.08 times the backfill's (at most 2)"]
        );
        assert_eq!(shortfalls(&serde_json::Value::Null), Vec::<String>::new());
        let unclean = json!({ "clean": false, "within_read_once": false });
        assert_eq!(shortfalls(&unclean).len(), 2);
    }

    #[test]
    fn a_rate_limited_run_below_its_pace_falls_short() {
        let run = |share: f64, share_429: f64| {
            json!({
                "mode": "rate_limited",
                "share_of_limit": share,
                "share_429": share_429,
                "meets_pace": share >= MIN_SHARE_OF_LIMIT && share_429 < MAX_SHARE_429,
            })
        };
        assert_eq!(cost_shortfalls(&run(0.97, 0.0)), Vec::<String>::new());
        assert_eq!(
            cost_shortfalls(&run(0.78, 0.0)),
            [
                "the busier platform accepted 0.78 of its limit with 0.00 % answered 429 \
              (at least 0.95, under 1 %)"
            ]
        );
        assert_eq!(cost_shortfalls(&run(0.99, 0.02)).len(), 1);
    }
}
