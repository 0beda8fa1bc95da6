//! `cutover bench`: measure parts of cutover on this machine and print the figures as JSON.

use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use cutover_sim::bench::{self, BenchOptions, Platform};
use serde_json::Value;

use crate::exit::{Class, Outcome, fail};

mod traffic;

/// Benchmarks, each printing one JSON object on standard output.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Measure the emulators: seeding time, memory per ticket, GETs per second.
    ///
    /// For each platform (--platform, default all), seeds an emulated account of N tickets and
    /// reports how long that took and how much resident memory it added per ticket (measured
    /// from /proc/self/status, one platform per child process so the figures do not mix). Then
    /// serves it on one core (a single-threaded runtime, rate limits off) while several
    /// keep-alive clients request one ticket at a time (Zendesk `GET /api/v2/tickets/{id}.json`,
    /// Freshdesk `GET /api/v2/tickets/{id}`) for S seconds, and reports requests per second,
    /// latency percentiles and the server's CPU use. Prints one JSON object with a report per
    /// platform. Build with `--release`: the targets, the same for every platform, are at least
    /// 5,000 GETs per second and seeding 100,000 tickets in under 60 s; it exits 1 when one is
    /// missed.
    ///
    /// Example: cargo run --release -p cutover -- bench sim --platform freshdesk --tickets 100000
    Sim(SimBenchArgs),
    /// Measure a backfill: pacing under the rate limit, or speed, CPU and memory without it.
    ///
    /// Starts an old and a new emulated Zendesk in this process, each behind a counter of its
    /// answers, writes a plan for them and runs `cutover backfill` as a child process, so CPU
    /// time and peak memory are the engine's alone. Without --rate-limited the limits are off and the
    /// figures are records per second, engine CPU-seconds per 1,000 tickets and peak resident
    /// memory. With --rate-limited the emulators keep their default limit (700 requests a
    /// minute) and the figures are requests accepted per minute as a share of the limit and the
    /// share answered 429, over --minutes. With --verify, `cutover verify` runs after the
    /// backfill, and its API reads of each platform are set against the backfill's reads of the
    /// old one, which read every record once (it exits 1 if verify reads more, or is not clean).
    ///
    /// Cost: before the backfill, `cutover inventory` estimates its time (docs/cost.md). An
    /// unthrottled run reports requests per ticket on each side as the emulators counted them,
    /// the floor the platforms' bulk endpoints allow for the same records, their ratio
    /// (`meets_floor`: at most 1.25) and tickets an hour at common plan limits; a rate-limited
    /// run reports tickets copied an hour and the estimate against the time measured (within
    /// 20 %; to the end when the backfill finishes within --minutes). A miss exits 1.
    /// Build with `--release`.
    ///
    /// Example: cargo run --release -p cutover -- bench backfill --tickets 10000 --verify
    Backfill(super::bench_backfill::BackfillBenchArgs),
    /// Measure the traffic generator: actions per second against both emulators on one core.
    ///
    /// Starts an emulated Zendesk (old side) and Freshdesk (new side) in this process, rate
    /// limits off, and plays N actions on both with `cutover sim traffic`'s generator on a
    /// single-threaded runtime (one core), never waiting on the simulated clock. Reports
    /// actions and requests per second, the generator's CPU time per action and the failures,
    /// which must be none. Build with `--release`: the floor is 100 actions per second.
    ///
    /// Example: cargo run --release -p cutover -- bench traffic --actions 5000
    Traffic(traffic::TrafficBenchArgs),
    /// Measure the two-way bridge: lag with webhooks and polling only, requests, CPU, memory.
    ///
    /// Starts an old emulated Zendesk with N tickets and an empty new one in this process,
    /// writes the plan a user writes (`cutover init`, hints followed, the budget the platforms'
    /// limit, `poll_every` from --poll-every) and backfills as a child process. Then, once with
    /// webhooks (`cutover sync setup`) and once polling only, it starts `cutover serve` as a
    /// child process, plays `cutover sim traffic`'s generator on both sides at a steady --rate
    /// changes a minute each for --minutes, drains (`cutover sync drain`) and reports per
    /// direction the lag p50/p95/p99 from serve's /metrics (from each change's `updated_at` on
    /// its emulator to its commit on the other side) and `sync status --json`; cutover's
    /// requests per minute
    /// against each platform's limits (counted at the emulators, whose limiters are off for the
    /// traffic's sake) and the 429s answered; serve's CPU seconds and peak memory (/proc). With
    /// --step, the rate doubles until lag stops being steady. Build with `--release`; floors:
    /// p99 within 5 s with webhooks and two poll intervals polling, requests within each limit;
    /// it exits 1 when one is missed.
    ///
    /// Example: cargo run --release -p cutover -- bench sync --minutes 1
    Sync(super::bench_sync::SyncBenchArgs),
    /// Measure the inbound gateway: added latency, failed requests through a switch, a
    /// rollback and a failover, routing flip and reverse drain times, contacts kept.
    ///
    /// Starts an old emulated Freshdesk with a few tickets, an empty new one and a third like
    /// the old one outside the plan (the baseline), writes the plan a user writes, backfills
    /// and runs `cutover serve` as child processes on a PostgreSQL store (a throwaway database
    /// on the local server, or --bench-store). Meets wave 1's gates the user's way (`cutover drill`,
    /// `cutover verify`, `cutover go`), then posts web-form contacts to `/gateway/web` at
    /// --switch-rate while `cutover wave start 1` and `cutover rollback 1` run, and counts the
    /// answers other than 2xx; reads the rollback's routing flip and reverse drain times. With
    /// a second `cutover serve`, kills the leader with SIGKILL while posting to the other and
    /// times the takeover from `GET /api/v1/leader` (as on two hosts, then as on one). Then
    /// posts open loop at --rate for --seconds straight to the baseline's ticket create and
    /// through the gateway, and reports p50/p99 of each, the difference and the rate reached.
    /// Last, waits until every contact the store kept is delivered and finds each ticket in
    /// its emulator. Build with `--release`; goals: p99 added at most 2 ms at --rate, no failed
    /// request during switch, rollback or failover, routing back within 1 s, takeover within
    /// 10 s, every contact delivered; it exits 1 when one is missed.
    ///
    /// Example: cargo run --release -p cutover -- bench gateway --rate 1000 --seconds 10
    Gateway(super::bench_gateway::GatewayBenchArgs),
    /// Measure the continuity monitor: KPI and baseline time and memory over a large history,
    /// and the time from a degradation's start to its alert.
    ///
    /// For each store (--backend: a SQLite file and a throwaway PostgreSQL database on the
    /// local server, as the tests make) and each history size (--tickets), writes the plan
    /// `cutover init` writes, imports generated per-ticket facts into a fresh store (the
    /// traffic generator's hour-of-week curve, six channels, groups, agents, some reopened,
    /// escalated or rated, over the plan's baseline weeks) and runs `cutover baseline --json`
    /// and `cutover kpi --json` as child processes: their wall time and peak resident memory
    /// (VmHWM sampled from /proc/<pid>/status), and the store read apart from the computation,
    /// timed in this process. Then makes agents 60 % slower at a known simulated moment and
    /// watches minute by minute with the rule of the plan's first alert that pauses a wave
    /// (wait_time 50 % worse than the baseline, sustained 15 minutes): the simulated minutes
    /// from the degradation's start to the alert, and any alarm before it. Build with
    /// `--release`; floors: each command within 2 s + 20 s per million tickets and 64 MiB +
    /// 1 GiB per million tickets, every ticket counted, the alert within 60 simulated minutes
    /// and no false alarm; it exits 1 when one is missed.
    ///
    /// Example: cargo run --release -p cutover -- bench kpi --tickets 100000,1000000
    Kpi(super::bench_kpi::KpiBenchArgs),
}

/// Options of `cutover bench sim`.
#[derive(Debug, Args)]
pub struct SimBenchArgs {
    /// Tickets to seed, with their users, organisations, events and ratings.
    #[arg(long, default_value_t = 100_000)]
    pub tickets: usize,
    /// How long the GET load runs, in seconds.
    #[arg(long, default_value_t = 5.0)]
    pub seconds: f64,
    /// Concurrent client connections of the GET load.
    #[arg(long, default_value_t = 8)]
    pub connections: usize,
    /// Seed of the data generator.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Which emulator to measure: zendesk, freshdesk or all.
    #[arg(long, value_enum, default_value_t = SimPlatform::All)]
    pub platform: SimPlatform,
}

/// The emulators `cutover bench sim` measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SimPlatform {
    /// The Zendesk emulator.
    Zendesk,
    /// The Freshdesk emulator.
    Freshdesk,
    /// Each of them, one child process per platform.
    All,
}

/// Runs a `bench` subcommand and prints its JSON report.
pub(crate) async fn run(command: BenchCommand) -> anyhow::Result<Outcome> {
    match command {
        BenchCommand::Traffic(args) => traffic::run(args).await,
        BenchCommand::Backfill(args) => super::bench_backfill::backfill(args).await,
        BenchCommand::Sim(args) => sim(args).await,
        BenchCommand::Sync(args) => super::bench_sync::sync(args).await,
        BenchCommand::Gateway(args) => super::bench_gateway::gateway(args).await,
        BenchCommand::Kpi(args) => super::bench_kpi::kpi(args).await,
    }
}

/// `cutover bench sim`: one platform in this process, or each in a child process of its own
/// (so one's freed memory does not hide the other's), then one report with an object per
/// platform and `floors_met` over all of them.
async fn sim(args: SimBenchArgs) -> anyhow::Result<Outcome> {
    let mut platforms = serde_json::Map::new();
    match args.platform {
        SimPlatform::Zendesk => {
            platforms.insert("zendesk".into(), sim_here(&args, Platform::Zendesk).await?);
        }
        SimPlatform::Freshdesk => {
            platforms.insert(
                "freshdesk".into(),
                sim_here(&args, Platform::Freshdesk).await?,
            );
        }
        SimPlatform::All => {
            for platform in Platform::ALL {
                platforms.insert(platform.name().into(), sim_child(&args, platform).await?);
            }
        }
    }
    let met = platforms
        .values()
        .all(|report| report["floors"]["met"] == Value::Bool(true));
    let report = serde_json::json!({"platforms": platforms, "floors_met": met});
    let text = serde_json::to_string_pretty(&report)
        .map_err(|e| fail(Class::Internal, format!("write the benchmark report: {e}")))?;
    println!("{text}");
    // A missed floor is a finding (exit 1), so scripts and CI can hold the line.
    Ok(if met {
        Outcome::Clean
    } else {
        Outcome::Findings
    })
}

/// Measures one platform in this process.
async fn sim_here(args: &SimBenchArgs, platform: Platform) -> anyhow::Result<Value> {
    let load = Duration::try_from_secs_f64(args.seconds).map_err(|e| {
        fail(
            Class::Config,
            format!("read --seconds {}: {e}", args.seconds),
        )
    })?;
    let opts = BenchOptions {
        tickets: args.tickets,
        load,
        connections: args.connections,
        seed: args.seed,
    };
    bench::platform(platform, &opts).await.map_err(|e| {
        fail(
            Class::Internal,
            format!("benchmark the {platform} emulator: {e}"),
        )
    })
}

/// Measures one platform in a child `cutover bench sim --platform P` and reads its report.
async fn sim_child(args: &SimBenchArgs, platform: Platform) -> anyhow::Result<Value> {
    let exe = std::env::current_exe()
        .map_err(|e| fail(Class::Internal, format!("find the cutover executable: {e}")))?;
    let output = tokio::process::Command::new(&exe)
        .args(["bench", "sim", "--platform", platform.name()])
        .args(["--tickets", &args.tickets.to_string()])
        .args(["--seconds", &args.seconds.to_string()])
        .args(["--connections", &args.connections.to_string()])
        .args(["--seed", &args.seed.to_string()])
        .stderr(std::process::Stdio::inherit())
        .output()
        .await
        .map_err(|e| {
            fail(
                Class::Internal,
                format!("run {} bench sim --platform {platform}: {e}", exe.display()),
            )
        })?;
    // Exit 1 only says a floor was missed; the report says which.
    let report: Value = serde_json::from_slice(&output.stdout).map_err(|e| {
        fail(
            Class::Internal,
            format!(
                "read the {platform} benchmark's report (child exited with {}): {e}",
                output.status
            ),
        )
    })?;
    report["platforms"]
        .get(platform.name())
        .cloned()
        .ok_or_else(|| {
            fail(
                Class::Internal,
                format!("the {platform} benchmark's report has no platforms.{platform}"),
            )
        })
}
