//! `cutover sim traffic`: play customers and agents on one or both platforms, with a ledger.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::Args;
use cutover_sim::traffic::{self, Channel, PlatformKind, Slowdown, Speed, Target, TrafficOptions};

use crate::exit::{Class, Outcome, fail};

/// Options of `cutover sim traffic`.
#[derive(Debug, Args)]
pub struct TrafficArgs {
    /// Base URL of the old platform (e.g. http://127.0.0.1:8081 or https://acme.zendesk.com).
    #[arg(
        long,
        value_name = "URL",
        env = "CUTOVER_TRAFFIC_OLD_URL",
        hide_env_values = true
    )]
    pub old: Option<String>,
    /// The old platform's API; guessed from a *.zendesk.com or *.freshdesk.com host, else
    /// zendesk.
    #[arg(long, value_name = "KIND", value_parser = parse_kind)]
    pub old_kind: Option<PlatformKind>,
    /// The old side's user: a Zendesk agent's e-mail or a Freshdesk API key. Default: the
    /// emulator's (admin@example.com, sim-key).
    #[arg(
        long,
        value_name = "USER",
        env = "CUTOVER_TRAFFIC_OLD_USER",
        hide_env_values = true
    )]
    pub old_user: Option<String>,
    /// The old side's secret: a Zendesk API token or a Freshdesk password (any). Default: the
    /// emulator's (sim-token, X).
    #[arg(
        long,
        value_name = "SECRET",
        env = "CUTOVER_TRAFFIC_OLD_SECRET",
        hide_env_values = true
    )]
    pub old_secret: Option<String>,
    /// Base URL of the new platform.
    #[arg(
        long,
        value_name = "URL",
        env = "CUTOVER_TRAFFIC_NEW_URL",
        hide_env_values = true
    )]
    pub new: Option<String>,
    /// The new platform's API; guessed from the host like --old-kind.
    #[arg(long, value_name = "KIND", value_parser = parse_kind)]
    pub new_kind: Option<PlatformKind>,
    /// The new side's user (as --old-user).
    #[arg(
        long,
        value_name = "USER",
        env = "CUTOVER_TRAFFIC_NEW_USER",
        hide_env_values = true
    )]
    pub new_user: Option<String>,
    /// The new side's secret (as --old-secret).
    #[arg(
        long,
        value_name = "SECRET",
        env = "CUTOVER_TRAFFIC_NEW_SECRET",
        hide_env_values = true
    )]
    pub new_secret: Option<String>,
    /// Mean actions per simulated minute over a week; the daily and weekly curve (busy Monday
    /// mornings, quiet nights) shapes it.
    #[arg(long, value_name = "N/min", default_value_t = 60.0)]
    pub rate: f64,
    /// Seed: the same seed against the same fresh platforms plays the same actions.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Stop after this much simulated time (90s, 10m, 2h, 1d). Without it and --max-actions,
    /// traffic runs until Ctrl-C.
    #[arg(long, value_name = "SPAN", value_parser = traffic::parse_span)]
    pub duration: Option<Duration>,
    /// Stop after this many actions.
    #[arg(long, value_name = "N")]
    pub max_actions: Option<u64>,
    /// Simulated time per real time: 1 is real time, 60 plays an hour a minute, `max` never
    /// waits.
    #[arg(long, value_name = "FACTOR", default_value = "1", value_parser = parse_speed)]
    pub speed: Speed,
    /// Write every action and the platform's answer here, one JSON object a line.
    #[arg(long, value_name = "FILE")]
    pub ledger: Option<PathBuf>,
    /// Share of new tickets opened on the new side when both sides are given.
    #[arg(long, value_name = "SHARE", default_value_t = 0.5)]
    pub new_share: f64,
    /// Simulated time of the first action (RFC 3339, e.g. 2026-04-06T10:00:00Z). Default: a
    /// Monday 08:00 UTC.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub start: Option<DateTime<Utc>>,
    /// New tickets come only by these channels (comma-separated: email, web_form, chat,
    /// whatsapp, phone). Default: all, in a realistic mix.
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = parse_channel)]
    pub channels: Vec<Channel>,
    /// Injected degradation: agents on SIDE take PERCENT longer to answer and to solve (e.g.
    /// new:60%). The platform records the slower answers as it would real ones.
    #[arg(long, value_name = "SIDE:PERCENT", value_parser = parse_slowdown)]
    pub slower_agents: Option<Slowdown>,
    /// The degradation starts at this simulated time (RFC 3339), e.g. when a wave starts.
    /// Default: from the first action.
    #[arg(long, value_name = "TIME", value_parser = parse_time, requires = "slower_agents")]
    pub slower_from: Option<DateTime<Utc>>,
    /// Emulators only: set each platform's clock to the simulated time before each action, so
    /// records carry simulated times (weeks of history with --start in the past and --speed
    /// max, or hours of a wave in minutes with --speed 300). Clocks stay where the run ends.
    #[arg(long)]
    pub platform_clock: bool,
    /// Agents answer and solve, and customers write back, the moment their work falls due,
    /// not in the action slots the arrivals give; --rate then counts new tickets only. Waits
    /// are then the agents' own delays (and --slower-agents' share of them), not a queue: use
    /// it to rehearse the monitor against a slowdown.
    #[arg(long)]
    pub agents_when_due: bool,
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.to_utc())
        .map_err(|e| format!("time {text:?}: {e} (expected RFC 3339, e.g. 2026-04-06T10:00:00Z)"))
}

fn parse_channel(text: &str) -> Result<Channel, String> {
    let name = text.trim().to_ascii_lowercase();
    Channel::MIX
        .iter()
        .map(|(c, _)| *c)
        .find(|c| c.as_str() == name)
        .ok_or_else(|| {
            format!("unknown channel {text:?}: expected email, web_form, chat, whatsapp or phone")
        })
}

fn parse_slowdown(text: &str) -> Result<Slowdown, String> {
    text.parse()
}

fn parse_kind(text: &str) -> Result<PlatformKind, String> {
    text.parse()
}

fn parse_speed(text: &str) -> Result<Speed, String> {
    text.parse()
}

fn target(
    url: Option<String>,
    kind: Option<PlatformKind>,
    user: Option<String>,
    secret: Option<String>,
) -> anyhow::Result<Option<Target>> {
    let Some(url) = url else { return Ok(None) };
    let mut target = Target::parse(&url, kind).map_err(|e| fail(Class::Config, e.to_string()))?;
    if let Some(user) = user {
        target.user = user;
    }
    if let Some(secret) = secret {
        target.secret = secret;
    }
    Ok(Some(target))
}

/// Plays traffic until the duration, the action count or Ctrl-C; prints the summary as JSON.
pub(crate) async fn run(args: TrafficArgs) -> anyhow::Result<Outcome> {
    let opts = TrafficOptions {
        old: target(args.old, args.old_kind, args.old_user, args.old_secret)?,
        new: target(args.new, args.new_kind, args.new_user, args.new_secret)?,
        rate_per_min: args.rate,
        seed: args.seed,
        duration: args.duration,
        max_actions: args.max_actions,
        ledger: args.ledger,
        speed: args.speed,
        new_share: args.new_share,
        channels: args.channels,
        slowdown: args.slower_agents.map(|slow| Slowdown {
            from: args.slower_from,
            ..slow
        }),
        platform_clock: args.platform_clock,
        agents_when_due: args.agents_when_due,
        ..TrafficOptions::default()
    };
    let opts = match args.start {
        Some(start) => TrafficOptions { start, ..opts },
        None => opts,
    };
    let stop = opts.cancel.clone();
    let ctrl_c = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::info!("Ctrl-C: stopping the traffic after the current action.");
            stop.cancel();
        }
    });
    tracing::info!(
        rate = opts.rate_per_min,
        seed = opts.seed,
        "Playing traffic."
    );
    let result = traffic::run(opts).await;
    ctrl_c.abort();
    let summary = result.map_err(|e| {
        let class = match e {
            traffic::TrafficError::Roster { .. }
            | traffic::TrafficError::NoAgents { .. }
            | traffic::TrafficError::Unreachable { .. }
            | traffic::TrafficError::Clock { .. } => Class::Platform,
            _ => Class::Config,
        };
        fail(class, e.to_string())
    })?;
    let text = serde_json::to_string_pretty(&summary)
        .map_err(|e| fail(Class::Internal, format!("write the traffic summary: {e}")))?;
    println!("{text}");
    Ok(Outcome::Clean)
}
