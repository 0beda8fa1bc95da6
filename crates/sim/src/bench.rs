//! The emulators' own benchmark: how long seeding takes, how much memory a stored ticket costs
//! and how many simple GETs one core serves, so the emulator is never the bottleneck of the
//! engine's benchmarks (`cutover bench sim` prints the answer). Both platforms are held to the
//! same floors ([`FLOOR_GETS_PER_SECOND`], [`FLOOR_SEED_SECONDS_PER_100K`]).
//!
//! How it measures, for each [`Platform`]:
//!
//! - **Seeding**: wall time of building an account of `tickets` tickets (with its people,
//!   organisations, groups, conversations or events and ratings, as the platform's generator
//!   makes them).
//! - **Memory**: the process's resident set (`VmRSS` of `/proc/self/status`) before and after
//!   seeding, divided by the tickets; it is a measurement, not an estimate from sizes, so it
//!   counts everything generated per ticket and allocator overhead. `null` where `/proc` is
//!   missing. Memory an earlier run in the same process freed may be reused and not counted, so
//!   measure one platform per process for this figure (`cutover bench sim` does).
//! - **GETs**: the emulator serves on a current-thread tokio runtime on its own OS thread (one
//!   core at most), rate limits off, while `connections` keep-alive clients on the caller's
//!   runtime request one ticket (Zendesk `GET /api/v2/tickets/{id}.json`, Freshdesk
//!   `GET /api/v2/tickets/{id}`, authenticated, ids spread over the account) as fast as it
//!   answers for `seconds`.

use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::response::Response;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tower::Service;

use crate::SimError;
use crate::control::Controlled;
use crate::freshdesk::{self, FreshdeskOptions, FreshdeskSim};
use crate::zendesk::{self, ZendeskOptions, ZendeskSim};

/// Simple GETs per second one core must serve (issue 4, item 13; issue 5, item 10).
pub const FLOOR_GETS_PER_SECOND: f64 = 5000.0;
/// Seconds seeding 100,000 tickets may take (scaled linearly for other sizes).
pub const FLOOR_SEED_SECONDS_PER_100K: f64 = 60.0;

/// An emulated platform the benchmark measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// The Zendesk Support API emulator.
    Zendesk,
    /// The Freshdesk API v2 emulator.
    Freshdesk,
}

impl Platform {
    /// Every platform, in the order reports list them.
    pub const ALL: [Self; 2] = [Self::Zendesk, Self::Freshdesk];

    /// Lower-case name (`zendesk`, `freshdesk`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Zendesk => "zendesk",
            Self::Freshdesk => "freshdesk",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Platform {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| format!("unknown platform {s:?}: expected zendesk or freshdesk"))
    }
}

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Tickets to seed (the floor is stated for 100,000).
    pub tickets: usize,
    /// How long the GET load runs.
    pub load: Duration,
    /// Concurrent keep-alive client connections of the load.
    pub connections: usize,
    /// Seed of the data generator.
    pub seed: u64,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            tickets: 100_000,
            load: Duration::from_secs(5),
            connections: 8,
            seed: 1,
        }
    }
}

/// Measures one platform's emulator; see [`zendesk()`] for the report's shape.
pub async fn platform(platform: Platform, opts: &BenchOptions) -> Result<Value, SimError> {
    match platform {
        Platform::Zendesk => zendesk(opts).await,
        Platform::Freshdesk => freshdesk(opts).await,
    }
}

/// Seeds a Zendesk emulator, serves it on one core and loads it with simple GETs; answers the
/// figures as JSON (`seeding`, `memory`, `gets`) and whether the floors were met (`floors.met`).
/// `gets.per_second` is what the load got; `gets.per_server_cpu_second` is what one fully busy
/// core would serve (the load's clients share the machine, so they can be the bottleneck).
pub async fn zendesk(opts: &BenchOptions) -> Result<Value, SimError> {
    let sim_opts = ZendeskOptions {
        seed: opts.seed,
        tickets: opts.tickets,
        rate_limit_rpm: None,
        incremental_rpm: 0,
        ..ZendeskOptions::default()
    };
    let target = Target {
        platform: Platform::Zendesk,
        auth: basic_auth(&format!("{}/token", sim_opts.email), &sim_opts.token),
        ticket_path: "/api/v2/tickets/{id}.json",
    };
    measure(
        &target,
        opts,
        |url, shutdown| zendesk::App::new(sim_opts, url, shutdown),
        zendesk::App::ticket_ids,
        ZendeskSim::router,
    )
    .await
}

/// The same as [`zendesk()`] for a Freshdesk emulator (enterprise plan, every limit off).
pub async fn freshdesk(opts: &BenchOptions) -> Result<Value, SimError> {
    let sim_opts = FreshdeskOptions {
        seed: opts.seed,
        tickets: opts.tickets,
        rate_limit_rpm: Some(0),
        ..FreshdeskOptions::default()
    };
    let target = Target {
        platform: Platform::Freshdesk,
        auth: basic_auth(&sim_opts.api_key, "X"),
        ticket_path: "/api/v2/tickets/{id}",
    };
    measure(
        &target,
        opts,
        |url, shutdown| freshdesk::App::new(sim_opts, url, shutdown),
        freshdesk::App::ticket_ids,
        FreshdeskSim::router,
    )
    .await
}

/// How the load reaches one platform's emulator.
struct Target {
    platform: Platform,
    /// The `Authorization` header.
    auth: String,
    /// The ticket's path, `{id}` standing for its id.
    ticket_path: &'static str,
}

impl Target {
    fn ticket_url(&self, base: &str, id: u64) -> String {
        format!(
            "{base}{}",
            self.ticket_path.replace("{id}", &id.to_string())
        )
    }
}

async fn measure<A, S>(
    target: &Target,
    opts: &BenchOptions,
    build: impl FnOnce(&str, CancellationToken) -> Result<Arc<A>, SimError>,
    ticket_ids: impl FnOnce(&A) -> Vec<u64>,
    router: impl FnOnce(Arc<A>) -> S,
) -> Result<Value, SimError>
where
    A: Controlled,
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    crate::install_crypto_provider();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|source| SimError::Bind {
        addr: "127.0.0.1:0".to_owned(),
        source,
    })?;
    listener
        .set_nonblocking(true)
        .map_err(|e| bench_error("make the listener non-blocking", &e))?;
    let addr = listener.local_addr().map_err(SimError::LocalAddr)?;
    let url = format!("http://{addr}");
    let shutdown = CancellationToken::new();

    let rss_before = rss_kib();
    let started = Instant::now();
    let app = build(&url, shutdown.clone())?;
    let seeding = started.elapsed();
    let rss_after = rss_kib();
    let ticket_ids = ticket_ids(&app);

    let server = spawn_one_core_server(listener, router(Arc::clone(&app)), shutdown.clone())?;
    let load = run_load(&url, target, &ticket_ids, opts).await;
    shutdown.cancel();
    let server_cpu = tokio::task::spawn_blocking(move || server.join())
        .await
        .map_err(|e| bench_error("join the server thread", &e))?
        .map_err(|_| bench_error("join the server thread", &"it panicked"))??;
    let load = load?;

    let memory = match (rss_before, rss_after) {
        (Some(before), Some(after)) => json!({
            "method": "VmRSS of /proc/self/status before and after seeding",
            "rss_before_kib": before,
            "rss_after_kib": after,
            "bytes_per_ticket": (after.saturating_sub(before) * 1024) as f64 / opts.tickets.max(1) as f64,
        }),
        _ => json!({"method": "unavailable: no /proc/self/status", "bytes_per_ticket": null}),
    };
    let wall = load.elapsed.as_secs_f64();
    let per_second = load.ok as f64 / wall.max(1e-9);
    let seed_per_100k = seeding.as_secs_f64() * 100_000.0 / opts.tickets.max(1) as f64;
    let met = per_second >= FLOOR_GETS_PER_SECOND
        && seed_per_100k < FLOOR_SEED_SECONDS_PER_100K
        && load.errors == 0;
    let auth_kind = match target.platform {
        Platform::Zendesk => "basic token auth",
        Platform::Freshdesk => "basic API-key auth",
    };
    Ok(json!({
        "emulator": target.platform.name(),
        "tickets": opts.tickets,
        "counts": app.counts(),
        "seeding": {
            "seconds": seeding.as_secs_f64(),
            "tickets_per_second": opts.tickets as f64 / seeding.as_secs_f64().max(1e-9),
        },
        "memory": memory,
        "gets": {
            "request": format!("GET {}, {auth_kind}, rate limits off", target.ticket_path),
            "server": "current-thread tokio runtime on one OS thread",
            "connections": opts.connections,
            "seconds": wall,
            "ok": load.ok,
            "errors": load.errors,
            "per_second": per_second,
            "latency_ms_p50": load.percentile_ms(0.50),
            "latency_ms_p99": load.percentile_ms(0.99),
            "server_cpu_seconds": server_cpu,
            "server_cpu_share": server_cpu.map(|cpu| cpu / wall.max(1e-9)),
            "per_server_cpu_second": server_cpu
                .filter(|cpu| *cpu > 0.0)
                .map(|cpu| load.ok as f64 / cpu),
        },
        "floors": {
            "gets_per_second": FLOOR_GETS_PER_SECOND,
            "seed_seconds_per_100k_tickets": FLOOR_SEED_SECONDS_PER_100K,
            "seed_seconds_per_100k_measured": seed_per_100k,
            "met": met,
        },
    }))
}

fn bench_error(step: &'static str, reason: &dyn std::fmt::Display) -> SimError {
    SimError::Bench {
        step,
        reason: reason.to_string(),
    }
}

/// `Basic base64(user:password)`.
fn basic_auth(user: &str, password: &str) -> String {
    use base64::Engine as _;
    let raw = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// The server thread answers the CPU seconds it used (`None` without `/proc`).
type ServerThread = std::thread::JoinHandle<Result<Option<f64>, SimError>>;

fn spawn_one_core_server<S>(
    listener: std::net::TcpListener,
    service: S,
    shutdown: CancellationToken,
) -> Result<ServerThread, SimError>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    std::thread::Builder::new()
        .name("sim-bench-server".to_owned())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| bench_error("build the server's runtime", &e))?;
            let cpu_before = thread_cpu_seconds();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener)
                    .map_err(|e| bench_error("register the listener", &e))?;
                crate::serve(listener, service, shutdown)
                    .await
                    .map_err(|e| bench_error("serve", &e))
            })?;
            Ok(thread_cpu_seconds()
                .zip(cpu_before)
                .map(|(after, before)| after - before))
        })
        .map_err(|e| bench_error("start the server thread", &e))
}

struct Load {
    ok: u64,
    errors: u64,
    elapsed: Duration,
    /// Latencies of successful requests, in microseconds, sorted.
    latencies_us: Vec<u32>,
}

impl Load {
    fn percentile_ms(&self, q: f64) -> Option<f64> {
        let last = self.latencies_us.len().checked_sub(1)?;
        let idx = ((last as f64) * q).round() as usize;
        self.latencies_us.get(idx).map(|us| f64::from(*us) / 1000.0)
    }
}

async fn run_load(
    url: &str,
    target: &Target,
    ticket_ids: &[u64],
    opts: &BenchOptions,
) -> Result<Load, SimError> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(opts.connections.max(1))
        .build()
        .map_err(|e| bench_error("build the load's http client", &e))?;
    // A first request proves the emulator answers before the clock starts.
    let first = ticket_ids.first().copied().unwrap_or(1);
    let probe = client
        .get(target.ticket_url(url, first))
        .header("Authorization", &target.auth)
        .send()
        .await
        .map_err(|e| bench_error("reach the emulator", &e))?;
    if !probe.status().is_success() {
        return Err(bench_error(
            "get a ticket from the emulator",
            &format!("status {}", probe.status()),
        ));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let ids: Arc<[u64]> = if ticket_ids.is_empty() {
        Arc::from([1u64])
    } else {
        Arc::from(ticket_ids)
    };
    let started = Instant::now();
    let workers: Vec<_> = (0..opts.connections.max(1))
        .map(|worker| {
            let (client, stop, ids) = (client.clone(), Arc::clone(&stop), Arc::clone(&ids));
            let (base, auth) = (url.to_owned(), target.auth.clone());
            let path = target.ticket_path;
            tokio::spawn(async move {
                let (mut ok, mut errors, mut latencies) = (0u64, 0u64, Vec::new());
                // A stride prime to the account's size spreads requests over all tickets.
                let mut idx = worker * 7919;
                while !stop.load(Ordering::Relaxed) {
                    let id = ids[idx % ids.len()];
                    idx += 7919;
                    let sent = Instant::now();
                    let answer = client
                        .get(format!("{base}{}", path.replace("{id}", &id.to_string())))
                        .header("Authorization", &auth)
                        .send()
                        .await;
                    let good = match answer {
                        Ok(response) if response.status().is_success() => {
                            response.bytes().await.is_ok()
                        }
                        _ => false,
                    };
                    if good {
                        ok += 1;
                        latencies
                            .push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
                    } else {
                        errors += 1;
                    }
                }
                (ok, errors, latencies)
            })
        })
        .collect();
    tokio::time::sleep(opts.load).await;
    stop.store(true, Ordering::Relaxed);
    let mut load = Load {
        ok: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        latencies_us: Vec::new(),
    };
    for worker in workers {
        let (ok, errors, latencies) = worker
            .await
            .map_err(|e| bench_error("finish a load worker", &e))?;
        load.ok += ok;
        load.errors += errors;
        load.latencies_us.extend(latencies);
    }
    load.elapsed = started.elapsed();
    load.latencies_us.sort_unstable();
    Ok(load)
}

/// The process's resident set in KiB, from `/proc/self/status`.
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// CPU seconds (user + system) of the calling thread, from `/proc/thread-self/stat`; clock
/// ticks are taken as Linux's fixed `USER_HZ` of 100.
fn thread_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start at field 3 (`state`).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_small_run_reports_every_figure() {
        let opts = BenchOptions {
            tickets: 300,
            load: Duration::from_millis(300),
            connections: 2,
            seed: 3,
        };
        for which in Platform::ALL {
            let report = platform(which, &opts).await.unwrap();
            assert_eq!(report["emulator"], which.name());
            assert_eq!(report["tickets"], 300);
            assert!(report["seeding"]["seconds"].as_f64().unwrap() > 0.0);
            assert!(report["gets"]["ok"].as_u64().unwrap() > 10, "{report}");
            assert_eq!(report["gets"]["errors"], 0, "{report}");
            assert!(report["gets"]["latency_ms_p99"].as_f64().is_some());
            assert!(report["memory"]["rss_after_kib"].as_u64().is_some());
            assert!(report["floors"]["met"].is_boolean());
        }
    }

    #[test]
    fn platforms_parse_by_name() {
        assert_eq!("freshdesk".parse::<Platform>(), Ok(Platform::Freshdesk));
        assert_eq!("zendesk".parse::<Platform>(), Ok(Platform::Zendesk));
        assert!("kayako".parse::<Platform>().is_err());
    }

    #[test]
    fn percentiles_come_from_sorted_latencies() {
        let load = Load {
            ok: 4,
            errors: 0,
            elapsed: Duration::from_secs(1),
            latencies_us: vec![1000, 2000, 3000, 4000],
        };
        assert_eq!(load.percentile_ms(0.0), Some(1.0));
        assert_eq!(load.percentile_ms(1.0), Some(4.0));
        let empty = Load {
            latencies_us: Vec::new(),
            ..load
        };
        assert_eq!(empty.percentile_ms(0.5), None);
    }
}
