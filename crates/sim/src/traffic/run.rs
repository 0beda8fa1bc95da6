//! [`run`]: the options, the loop that maps simulated time to real time, and the summary.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::actors::{Actors, Planned, SideView};
use super::client::{AnyClient, PlatformClient};
use super::curve::{Arrivals, to_time};
use super::error::TrafficError;
use super::ledger::{Entry, LedgerWriter};
use super::model::{Channel, PlatformKind, Side, Slowdown, Step};
use crate::datagen;

/// Data-generator streams of the traffic (arrival times, actors' choices).
const ARRIVALS_STREAM: u64 = 0x6172_7269;
const ACTORS_STREAM: u64 = 0x6163_746f;
/// Actions in a row without any answer after which a side counts as gone.
const MAX_SILENT: u32 = 20;

/// One platform to play traffic on.
#[derive(Clone)]
pub struct Target {
    /// Base URL (`https://acme.zendesk.com`, `http://127.0.0.1:8081`).
    pub url: Url,
    /// Its API.
    pub kind: PlatformKind,
    /// Zendesk: the agent's e-mail; Freshdesk: the API key.
    pub user: String,
    /// Zendesk: the API token; Freshdesk: the password (any, `X` by convention).
    pub secret: String,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target")
            .field("url", &self.url.as_str())
            .field("kind", &self.kind)
            .field("user", &"<redacted>")
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl Target {
    /// A Zendesk emulator's defaults at `url` (`admin@example.com`, token `sim-token`).
    pub fn zendesk_sim(url: Url) -> Self {
        Self {
            url,
            kind: PlatformKind::Zendesk,
            user: "admin@example.com".to_owned(),
            secret: "sim-token".to_owned(),
        }
    }

    /// A target from a URL's text: `kind` if given, else the platform its host names, else
    /// Zendesk; credentials default to that emulator's.
    pub fn parse(url: &str, kind: Option<PlatformKind>) -> Result<Self, TrafficError> {
        let url = Url::parse(url)
            .map_err(|e| TrafficError::Options(format!("read the platform URL {url:?}: {e}")))?;
        let kind = kind
            .or_else(|| PlatformKind::from_host(&url))
            .unwrap_or(PlatformKind::Zendesk);
        Ok(match kind {
            PlatformKind::Zendesk => Self::zendesk_sim(url),
            PlatformKind::Freshdesk => Self::freshdesk_sim(url),
        })
    }

    /// A Freshdesk emulator's defaults at `url` (API key `sim-key`, password `X`).
    pub fn freshdesk_sim(url: Url) -> Self {
        Self {
            url,
            kind: PlatformKind::Freshdesk,
            user: "sim-key".to_owned(),
            secret: "X".to_owned(),
        }
    }
}

/// How simulated time maps to real time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// Simulated seconds per real second (1.0 is real time; 60.0 plays an hour in a minute).
    Factor(f64),
    /// No waiting at all: each action as soon as the previous one is answered (tests, benchmark).
    Max,
}

impl std::str::FromStr for Speed {
    type Err = String;

    /// `max`, or a positive factor such as `1`, `60` or `0.5`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("max") {
            return Ok(Self::Max);
        }
        match s.parse::<f64>() {
            Ok(f) if f.is_finite() && f > 0.0 => Ok(Self::Factor(f)),
            _ => Err(format!(
                "speed {s:?} is neither `max` nor a positive number"
            )),
        }
    }
}

/// Reads a span such as `90s`, `10m`, `2h`, `1d` or `1h30m` (a bare number is seconds).
pub fn parse_span(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if let Ok(seconds) = trimmed.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    let mut total = 0_u64;
    let mut number = String::new();
    for c in trimmed.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => {
                return Err(format!(
                    "span {text:?}: unknown unit {c:?} (use s, m, h or d)"
                ));
            }
        };
        let n: u64 = number
            .parse()
            .map_err(|_| format!("span {text:?}: a number must come before {c:?}"))?;
        total = total.saturating_add(n.saturating_mul(unit));
        number.clear();
    }
    if !number.is_empty() || total == 0 {
        return Err(format!(
            "span {text:?}: expected something like 90s, 10m, 2h or 1d"
        ));
    }
    Ok(Duration::from_secs(total))
}

/// What to play, where and for how long.
#[derive(Debug, Clone)]
pub struct TrafficOptions {
    /// The old platform, if traffic goes there.
    pub old: Option<Target>,
    /// The new platform, if traffic goes there.
    pub new: Option<Target>,
    /// Mean actions per simulated minute over a week; the daily and weekly curve shapes it.
    pub rate_per_min: f64,
    /// Seed: the same seed against the same platforms plays the same actions.
    pub seed: u64,
    /// Stop after this much simulated time.
    pub duration: Option<Duration>,
    /// Stop after this many actions.
    pub max_actions: Option<u64>,
    /// Where to write the ledger (JSON lines); `None` keeps none.
    pub ledger: Option<PathBuf>,
    /// Simulated time per real time.
    pub speed: Speed,
    /// Simulated time of the first action's clock (a Monday 08:00 UTC by default).
    pub start: DateTime<Utc>,
    /// Share of new tickets opened on the new side when both sides are played.
    pub new_share: f64,
    /// Size of the customer pool (repeat customers write again).
    pub customers: u64,
    /// Stops the run early (Ctrl-C); the ledger so far is kept.
    pub cancel: CancellationToken,
    /// New tickets come only by these channels; empty: every channel.
    pub channels: Vec<Channel>,
    /// Agents of one side slower than usual (an injected degradation).
    pub slowdown: Option<Slowdown>,
    /// Sets each emulator's clock (`POST /_sim/clock`) to the simulated time before each
    /// action, so the platform stamps records with simulated time: weeks of backdated history
    /// in seconds, or hours of a wave in minutes. Emulators only.
    pub platform_clock: bool,
    /// Agents answer, and customers write back, at the moment their work falls due, apart
    /// from the arrivals; the arrivals (`rate_per_min`) are then new tickets only. Waits are
    /// then the drawn delays (and a slowdown's share of them), not a queue for action slots.
    pub agents_when_due: bool,
}

impl Default for TrafficOptions {
    fn default() -> Self {
        Self {
            old: None,
            new: None,
            rate_per_min: 60.0,
            seed: 1,
            duration: None,
            max_actions: None,
            ledger: None,
            speed: Speed::Factor(1.0),
            start: DateTime::from_timestamp(1_717_401_600, 0).unwrap_or_default(),
            new_share: 0.5,
            customers: 500,
            cancel: CancellationToken::new(),
            channels: Vec::new(),
            slowdown: None,
            platform_clock: false,
            agents_when_due: false,
        }
    }
}

/// What one side saw.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SideSummary {
    /// Its platform.
    pub platform: Option<PlatformKind>,
    /// Actions taken.
    pub actions: u64,
    /// Actions refused or unanswered.
    pub failed: u64,
    /// Tickets opened.
    pub tickets_opened: u64,
    /// HTTP requests sent, retries included.
    pub requests: u64,
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrafficSummary {
    /// Actions taken.
    pub actions: u64,
    /// Actions refused or unanswered.
    pub failed: u64,
    /// Per side.
    pub sides: BTreeMap<Side, SideSummary>,
    /// Simulated time of the first action's clock.
    pub sim_start: String,
    /// Simulated time of the last action.
    pub sim_end: String,
    /// Real seconds the run took.
    pub real_seconds: f64,
    /// Actions per real second.
    pub actions_per_sec: f64,
    /// Why it stopped: `max_actions`, `duration` or `cancelled`.
    pub stopped_by: &'static str,
}

fn check(opts: &TrafficOptions) -> Result<(), TrafficError> {
    if opts.old.is_none() && opts.new.is_none() {
        return Err(TrafficError::NoSide);
    }
    if !(opts.rate_per_min.is_finite() && opts.rate_per_min > 0.0) {
        return Err(TrafficError::Options(format!(
            "rate must be a positive number of actions per minute, not {}",
            opts.rate_per_min
        )));
    }
    if let Speed::Factor(f) = opts.speed
        && !(f.is_finite() && f > 0.0)
    {
        return Err(TrafficError::Options(format!(
            "speed must be a positive factor, not {f}"
        )));
    }
    if !(0.0..=1.0).contains(&opts.new_share) {
        return Err(TrafficError::Options(format!(
            "new-side share must be between 0 and 1, not {}",
            opts.new_share
        )));
    }
    Ok(())
}

/// Plays traffic until `max_actions`, `duration` (simulated) or `cancel`, whichever comes first
/// (with none of them, until cancelled), writing every action to the ledger.
pub async fn run(opts: TrafficOptions) -> Result<TrafficSummary, TrafficError> {
    check(&opts)?;
    let mut player = Player::start(&opts).await?;
    let mut arrivals = Arrivals::new(
        datagen::rng_for(opts.seed, ARRIVALS_STREAM, 0),
        opts.start,
        opts.rate_per_min,
    );
    let start_s = opts.start.timestamp() as f64;
    let end_s = opts.duration.map(|d| start_s + d.as_secs_f64());
    let real_start = Instant::now();
    let mut last_s = start_s;
    let mut next_arrival = arrivals.next_time();
    let stopped_by = loop {
        if opts.max_actions.is_some_and(|max| player.seq >= max) {
            break "max_actions";
        }
        // With `agents_when_due`, work due before the next arrival is done at its time.
        let due_ms = player
            .actors
            .next_due_ms()
            .filter(|ms| opts.agents_when_due && (*ms as f64 / 1000.0) <= next_arrival);
        let t = match due_ms {
            Some(ms) => (ms as f64 / 1000.0).max(last_s),
            None => next_arrival,
        };
        if end_s.is_some_and(|end| t >= end) {
            break "duration";
        }
        if opts.cancel.is_cancelled() {
            break "cancelled";
        }
        if let Speed::Factor(factor) = opts.speed {
            let due = real_start + Duration::from_secs_f64((t - start_s).max(0.0) / factor);
            tokio::select! {
                () = tokio::time::sleep_until(due.into()) => {}
                () = opts.cancel.cancelled() => break "cancelled",
            }
        }
        last_s = t;
        let now_ms = ((t * 1000.0).floor() as i64).max(due_ms.unwrap_or(i64::MIN));
        if due_ms.is_some() {
            if let Some(planned) = player.actors.plan_due(now_ms) {
                player.act(t, planned).await?;
            }
            continue;
        }
        next_arrival = arrivals.next_time();
        let planned = if opts.agents_when_due {
            player.actors.plan_new_ticket()
        } else {
            player.actors.plan(now_ms)
        };
        player.act(t, planned).await?;
    };
    player.ledger.flush()?;
    let real_seconds = real_start.elapsed().as_secs_f64();
    Ok(TrafficSummary {
        actions: player.seq,
        failed: player.failed,
        sides: player.sides,
        sim_start: opts
            .start
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        sim_end: to_time(last_s).to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        real_seconds,
        actions_per_sec: if real_seconds > 0.0 {
            player.seq as f64 / real_seconds
        } else {
            0.0
        },
        stopped_by,
    })
}

/// The clients, the actors, the ledger and the tallies of one run.
struct Player {
    clients: Vec<AnyClient>,
    actors: Actors,
    ledger: LedgerWriter,
    sides: BTreeMap<Side, SideSummary>,
    /// Actions in a row without an answer, per side.
    silent: Vec<u32>,
    /// With `platform_clock`: the client that sets each side's clock, and each side's base URL.
    clock: Option<(reqwest::Client, Vec<Url>)>,
    seq: u64,
    failed: u64,
}

impl Player {
    /// Connects to each side (reading its agents and groups) and opens the ledger.
    async fn start(opts: &TrafficOptions) -> Result<Self, TrafficError> {
        let mut clients = Vec::new();
        let mut views = Vec::new();
        let mut bases = Vec::new();
        for (side, target) in [(Side::Old, &opts.old), (Side::New, &opts.new)] {
            let Some(target) = target else { continue };
            bases.push(target.url.clone());
            let client = AnyClient::new(
                target.kind,
                side,
                target.url.clone(),
                &target.user,
                &target.secret,
            )?;
            let roster = client.roster().await?;
            if roster.agents.is_empty() {
                return Err(TrafficError::NoAgents { side });
            }
            views.push(SideView::new(side, target.kind, roster));
            clients.push(client);
        }
        let ledger = match &opts.ledger {
            Some(path) => LedgerWriter::create(path)?,
            None => LedgerWriter::none(),
        };
        let actors = Actors::new(
            datagen::rng_for(opts.seed, ACTORS_STREAM, 0),
            opts.seed,
            views,
            opts.customers,
            opts.new_share,
        )
        .only_channels(&opts.channels)
        .slowed(opts.slowdown);
        let clock = if opts.platform_clock {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .map_err(|e| TrafficError::Client {
                    side: Side::Old,
                    reason: e.to_string(),
                })?;
            Some((client, bases))
        } else {
            None
        };
        Ok(Self {
            silent: vec![0; clients.len()],
            clock,
            clients,
            actors,
            ledger,
            sides: BTreeMap::new(),
            seq: 0,
            failed: 0,
        })
    }

    /// Performs and records the planned action at simulated time `t` (seconds since the epoch).
    async fn act(&mut self, t: f64, planned: Planned) -> Result<(), TrafficError> {
        let now_ms = (t * 1000.0).floor() as i64;
        let side_idx = planned.side;
        let view = &self.actors.sides[side_idx];
        let (side, platform) = (view.side, view.platform);
        self.set_clock(side_idx, side, t).await?;
        let answer = self.clients[side_idx].perform(&planned.step).await;
        self.actors.record(&planned, &answer, now_ms);
        self.seq += 1;
        let summary = self.sides.entry(side).or_default();
        summary.platform = Some(platform);
        summary.actions += 1;
        summary.requests += u64::from(answer.requests);
        if answer.ok() {
            self.silent[side_idx] = 0;
            if matches!(planned.step, Step::Open { .. }) {
                summary.tickets_opened += 1;
            }
        } else {
            summary.failed += 1;
            self.failed += 1;
            if answer.status == 0 {
                self.silent[side_idx] += 1;
            }
        }
        let entry = Entry {
            seq: self.seq,
            sim_time: to_time(t).to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            side,
            platform,
            actor: planned.actor,
            action: planned.action,
            channel: planned.channel,
            request: planned.step,
            answer,
        };
        self.ledger.write(&entry)?;
        if self.silent[side_idx] >= MAX_SILENT {
            self.ledger.flush()?;
            return Err(TrafficError::Unreachable {
                side,
                n: self.silent[side_idx],
                last: entry.answer.error.unwrap_or_default(),
            });
        }
        Ok(())
    }
}

impl Player {
    /// With `platform_clock`, sets the clock of the emulator about to act to simulated time `t`.
    async fn set_clock(&self, side_idx: usize, side: Side, t: f64) -> Result<(), TrafficError> {
        let Some((client, bases)) = &self.clock else {
            return Ok(());
        };
        let Some(base) = bases.get(side_idx) else {
            return Ok(());
        };
        let url = format!("{}/_sim/clock", base.as_str().trim_end_matches('/'));
        let at = to_time(t).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let failed = |reason: String| TrafficError::Clock {
            side,
            url: url.clone(),
            reason,
        };
        let answer = client
            .post(&url)
            .json(&serde_json::json!({ "set": at }))
            .send()
            .await
            .map_err(|e| failed(e.to_string()))?;
        if !answer.status().is_success() {
            return Err(failed(format!(
                "{} (is it an emulator? only emulators have a clock to set)",
                answer.status()
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_and_speeds_parse() {
        assert_eq!(parse_span("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_span("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_span("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_span("2d"), Ok(Duration::from_secs(172_800)));
        assert!(parse_span("10x").is_err());
        assert!(parse_span("m").is_err());
        assert!(parse_span("5m3").is_err());
        assert_eq!("max".parse::<Speed>(), Ok(Speed::Max));
        assert_eq!("60".parse::<Speed>(), Ok(Speed::Factor(60.0)));
        assert!("0".parse::<Speed>().is_err());
    }
}
