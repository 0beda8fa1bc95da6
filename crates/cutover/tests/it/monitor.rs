//! Issue 15, item 8 through the real binary: `cutover serve`'s continuity monitor over traffic
//! that `cutover sim traffic` plays in simulated time.
//!
//! The design (docs/alerts.md, "Rehearsing in simulated time"): the traffic generator sets each
//! emulator's clock to its simulated time before each action (`--platform-clock`), so the
//! platforms record backdated history and the wave's hours as they would real ones; `cutover
//! backfill` and the bridge read those records the user's way; `cutover serve --monitor-from
//! --monitor-speed` evaluates the plan's `[[alerts]]` on a clock running with the traffic's.
//!
//! The story: a Freshdesk account with three weeks of history in the hours of the week the wave
//! runs in (and the hour before the wave), backfilled into another; `cutover serve` with the
//! monitor on the traffic's clock; a trickle of traffic on both sides; the pilot wave started
//! behind its sign-off. Then the wait time's reading on the new side is inconclusive: paged over
//! SMTP (a sink the test starts), the wave paused by itself, audited, and `cutover audit verify`
//! passes: never a pass. (A breach raised by slower agents is not tested this way yet:
//! docs/alerts.md says why.)

use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, Duration as Span, TimeZone, Utc};
use cutover_runtime::{RoutingState, WavePhase};
use cutover_sim::freshdesk;
use cutover_sim::mailsink::{Mailbox, smtp_sink};
use serde_json::{Value, json};

use crate::switch::bridge_ready;

/// Freshdesk on both sides: no export minute to wait out on the wave's drain.
type Bridge = crate::bridge::Bridge<freshdesk::App, freshdesk::App>;

/// Simulated seconds per real second while the wave runs: the rule's 15 minutes take 4 s.
const SPEED: f64 = 240.0;
/// Mean actions per simulated minute (the curve puts Monday 10:00 at about four times that):
/// some 30 tickets an hour on each side.
const RATE: &str = "0.4";
/// Weeks of baseline (the plan's `[baseline] weeks`).
const WEEKS: i64 = 3;
/// Live channels only: their first replies come within minutes, so the hour the monitor
/// reads holds nearly all of them (an e-mail's first reply can come after the window ends).
const CHANNELS: &str = "chat,whatsapp,phone";
/// The pilot's name in the plan `init` writes.
const PILOT: &str = "pilot";

/// The clock hour of the baseline: the first Monday 10:00 UTC at least 30 days ahead (any hour
/// works: every platform's clock is set to simulated time).
fn the_hour() -> DateTime<Utc> {
    let ahead = Utc::now() + Span::days(30);
    let monday = ahead.date_naive()
        + Span::days(i64::from((7 - ahead.weekday().num_days_from_monday()) % 7));
    Utc.from_utc_datetime(&monday.and_hms_opt(10, 0, 0).unwrap())
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// `cutover sim traffic` on one side (`old` or `new`), live channels, with the platform's
/// clock set to simulated time. Each side has a player of its own, so the agents' queue of one
/// side does not slow the other's.
fn traffic(
    bridge: &Bridge,
    side: &str,
    start: DateTime<Utc>,
    duration: &str,
    seed: u64,
    rest: &[&str],
) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_cutover"));
    cmd.current_dir(bridge.dir.path()).args(["sim", "traffic"]);
    if side == "old" {
        cmd.args([
            "--old",
            bridge.old.url(),
            "--old-kind",
            "freshdesk",
            "--old-user",
            "sim-token",
        ]);
    } else {
        cmd.args([
            "--new",
            bridge.new.url(),
            "--new-kind",
            "freshdesk",
            "--new-user",
            "sim-token",
        ]);
    }
    cmd.args(["--channels", CHANNELS, "--platform-clock", "--start"])
        .arg(rfc3339(start))
        .args(["--duration", duration, "--seed"])
        .arg(seed.to_string())
        .args(rest)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    cmd
}

async fn played(mut cmd: tokio::process::Command) -> Value {
    let out = cmd.output().await.unwrap();
    assert!(
        out.status.success(),
        "sim traffic: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Sets both emulators' clocks to `at`.
async fn set_clocks(bridge: &Bridge, at: DateTime<Utc>) {
    for url in [bridge.old.url(), bridge.new.url()] {
        let set = reqwest::Client::new()
            .post(format!("{url}/_sim/clock"))
            .json(&json!({ "set": rfc3339(at) }))
            .send()
            .await
            .unwrap();
        assert!(set.status().is_success());
    }
}

/// The plan for the rehearsal: a baseline of three weeks; one rule, the template's first (wait
/// time 50 % worse for 15 minutes pauses the wave, at least 5 samples); alerts evaluated every
/// second and paged by e-mail to an SMTP relay on `smtp_port`; the pilot's gates a sign-off
/// only (no verification or drill: they are not what this test is about).
fn watch_plan(path: &std::path::Path, smtp_port: u16, on_inconclusive: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    let (mut in_alert, mut gates_seen) = (false, 0);
    for line in text.lines() {
        if line == "[[alerts]]" {
            in_alert = true;
            continue;
        }
        if in_alert {
            in_alert = !line.trim().is_empty();
            continue;
        }
        if line == "[waves.gates]" {
            gates_seen += 1;
        }
        let pilot_gate = gates_seen == 1
            && ["verify_clean", "max_sync_lag", "rollback_drill"]
                .iter()
                .any(|k| line.starts_with(k));
        if pilot_gate {
            if line.starts_with("verify_clean") {
                out.push("verify_clean = false".to_owned());
            }
            continue;
        }
        if line.starts_with("weeks = 4") {
            out.push(format!("weeks = {WEEKS}"));
            continue;
        }
        out.push(line.to_owned());
    }
    let mut edited = out.join("\n");
    assert!(edited.contains(&format!("weeks = {WEEKS}")), "{edited}");
    assert!(
        !edited
            .lines()
            .any(|l| l.trim() == "[[alerts]]" || l.trim() == "[monitor]"),
        "{edited}"
    );
    edited.push_str(&format!(
        "\n\n[monitor]\nevery = \"1s\"\non_inconclusive = \"{on_inconclusive}\"\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {smtp_port}\n\
         smtp_tls = \"none\"\nsmtp_from = \"cutover@acme.example\"\n\n\
         [[alerts]]\nkpi = \"wait_time\"\nworse_than_baseline = \"50%\"\nsustained = \"15m\"\n\
         min_samples = 5\nthen = \"pause_wave\"\nnotify = [\"ops-lead\"]\n"
    ));
    std::fs::write(path, edited).unwrap();
}

/// A moved account ready for the wave: history played on the old side (the baseline's hour in
/// each of the last weeks, and the hour before the wave), the plan for the rehearsal, the
/// backfill done. Returns the bridge, the mailbox and when (simulated) the wave's traffic
/// starts.
async fn rehearsal(
    postgres: bool,
    on_inconclusive: &str,
    generator: &[&str],
) -> (Bridge, Mailbox, DateTime<Utc>) {
    let bridge = Bridge::planned(postgres, 0).await;
    let (smtp_port, mailbox) = smtp_sink().await.unwrap();
    watch_plan(
        &bridge.dir.path().join("cutover.toml"),
        smtp_port,
        on_inconclusive,
    );
    let hour = the_hour();
    // Each week's two hours (and ten minutes before), then the hour before the wave starts.
    for week in (1..=WEEKS).rev() {
        let start = hour - Span::weeks(week) - Span::minutes(10);
        let seed = u64::try_from(week).unwrap();
        let mut played_for = vec!["--rate", RATE, "--speed", "max"];
        played_for.extend_from_slice(generator);
        played(traffic(&bridge, "old", start, "140m", seed, &played_for)).await;
    }
    let wave_start = hour + Span::hours(1);
    let mut before = vec!["--rate", RATE, "--speed", "max"];
    before.extend_from_slice(generator);
    played(traffic(
        &bridge,
        "old",
        hour - Span::minutes(10),
        "70m",
        9,
        &before,
    ))
    .await;
    // Both platforms' clocks at the wave's start, so all the backfill writes comes before it.
    set_clocks(&bridge, wave_start).await;
    bridge
        .expect(0, &["backfill", "--notifications-off", "--json"])
        .await;
    (bridge, mailbox, wave_start + Span::minutes(2))
}

async fn phase(bridge: &Bridge) -> WavePhase {
    let store = cutover_store::open(&bridge.store.parse().unwrap())
        .await
        .unwrap();
    let phase = RoutingState::load(store.as_ref())
        .await
        .unwrap()
        .phase(PILOT);
    store.close().await;
    phase
}

/// `cutover alerts --json`'s alerts.
async fn alerts(bridge: &Bridge) -> Vec<Value> {
    let out = bridge.expect(0, &["alerts", "--json"]).await;
    let all: Value = serde_json::from_str(&out).unwrap();
    all["alerts"].as_array().unwrap().clone()
}

/// Starts `cutover serve` with its monitor on a simulated clock running [`SPEED`] times real
/// time from `from`.
async fn serve_on_clock(bridge: &Bridge, from: DateTime<Utc>) -> crate::bridge::Served {
    let speed = SPEED.to_string();
    let mut cmd = bridge.command(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--monitor-from",
        &rfc3339(from),
        "--monitor-speed",
        &speed,
    ]);
    crate::bridge::Served::start(&mut cmd, &bridge.dir.path().join("serve.log")).await
}

/// Starts `cutover serve` with the monitor on the traffic's clock from `from`, then the wave's
/// traffic from the same simulated time on each side (`new`: the new side's rate and
/// degradation), then signs the pilot off and starts it. Returns serve and the players.
async fn wave_under_traffic(
    bridge: &Bridge,
    from: DateTime<Utc>,
    old: &[&str],
    new: &[&str],
) -> (crate::bridge::Served, Vec<tokio::process::Child>) {
    let speed = SPEED.to_string();
    let served = serve_on_clock(bridge, from).await;
    let mut players = Vec::new();
    for (side, seed, rest) in [("old", 21, old), ("new", 22, new)] {
        let mut args = vec!["--speed", speed.as_str()];
        args.extend_from_slice(rest);
        players.push(
            traffic(bridge, side, from, "150m", seed, &args)
                .spawn()
                .unwrap(),
        );
    }
    bridge_ready(bridge).await;
    bridge
        .expect(0, &["go", "--wave", PILOT, "--as", "ops-lead"])
        .await;
    bridge
        .expect(0, &["wave", "start", PILOT, "--as", "ops-lead"])
        .await;
    (served, players)
}

async fn stop(players: Vec<tokio::process::Child>) {
    for mut player in players {
        player.start_kill().unwrap();
        let _ = player.wait().await;
    }
}

/// Waits (real time) until `cutover alerts --json` shows an alert in `state` on the new side.
async fn wait_for_alert(bridge: &Bridge, state: &str, limit: Duration) -> Value {
    let started = Instant::now();
    loop {
        let list = alerts(bridge).await;
        if let Some(found) = list
            .iter()
            .find(|a| a["state"] == state && a["evidence"]["side"] == "new")
        {
            return found.clone();
        }
        assert!(
            started.elapsed() < limit,
            "no {state} alert on the new side within {limit:?}: {list:#?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The audit entries of the last day, as `cutover report --json` lists them.
async fn audited(bridge: &Bridge) -> Value {
    let out = bridge
        .expect(0, &["report", "--window", "72h", "--json"])
        .await;
    serde_json::from_str(&out).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn too_little_traffic_is_inconclusive_paged_and_pauses_the_wave_on_sqlite() {
    too_little_traffic(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn too_little_traffic_is_inconclusive_paged_and_pauses_the_wave_on_postgres() {
    too_little_traffic(true).await;
}

async fn too_little_traffic(postgres: bool) {
    let (bridge, mailbox, from) = rehearsal(postgres, "pause", &[]).await;
    // A trickle: a few actions an hour.
    let trickle = ["--rate", "0.02"];
    let (served, players) = wave_under_traffic(&bridge, from, &trickle, &trickle).await;
    let alert = wait_for_alert(&bridge, "inconclusive", Duration::from_secs(60)).await;
    let e = &alert["evidence"];
    assert_eq!(e["reading"]["reading"], "inconclusive", "{alert:#}");
    assert!(
        e["comparison"]["now"]["samples"].as_u64().unwrap() < 5,
        "{alert:#}"
    );
    // Paged: ops-lead got the page by e-mail, saying it is inconclusive.
    let started = Instant::now();
    while !mailbox
        .lock()
        .unwrap()
        .iter()
        .any(|m| m.contains("INCONCLUSIVE") && m.contains("dana@acme.example"))
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no page: {:?}",
            mailbox.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Never a pass: the wave is held.
    assert_eq!(phase(&bridge).await, WavePhase::Paused);
    // The monitor probed both sides' APIs as it read, each probe kept with its answer, on the
    // monitor's (simulated) clock.
    let store = cutover_store::open(&bridge.store.parse().unwrap())
        .await
        .unwrap();
    let probes = store
        .probes(the_hour() - Span::weeks(1), the_hour() + Span::weeks(1))
        .await
        .unwrap();
    store.close().await;
    for side in [cutover_model::Side::Old, cutover_model::Side::New] {
        assert!(
            probes
                .iter()
                .any(|p| p.side == side && p.ok && p.status == Some(200)),
            "no probe of the {side} side: {probes:?}"
        );
    }
    stop(players).await;
    served.terminate().await;
    let report = audited(&bridge).await;
    let id = alert["id"].as_str().unwrap();
    let notified = report["actions"].as_array().unwrap().iter().any(|a| {
        a["action"] == "action.notify"
            && a["detail"]["alert"] == id
            && a["detail"]["configured"] == true
    });
    assert!(notified, "{:#}", report["actions"]);
    let out = bridge.expect(0, &["audit", "verify"]).await;
    assert!(out.contains("hash chain whole"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slower_agents_on_the_new_side_raise_a_breach_that_pauses_the_wave_on_postgres() {
    slower_agents(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slower_agents_on_the_new_side_raise_a_breach_that_pauses_the_wave_on_sqlite() {
    slower_agents(false).await;
}

/// The scenario: the same traffic on both sides as in the baseline's weeks, the new
/// side's agents 60 % slower from the wave's start. A young wave's thin first minutes only
/// page (`on_inconclusive = "page"`, the default); the breach pauses it.
async fn slower_agents(postgres: bool) {
    let when_due = ["--agents-when-due"];
    let (bridge, mailbox, from) = rehearsal(postgres, "page", &when_due).await;
    // The wave started with a first serve; then serve again, its monitor's clock running from
    // `from`, and the traffic from where that clock is (a little ahead: the clock started after
    // `launched`), so neither the set-up's real seconds nor a loaded machine move the watched
    // hour away from the baseline's, and the monitor never reads an hour the traffic has not
    // played yet.
    let speed = SPEED.to_string();
    let setting_up = serve_on_clock(&bridge, from).await;
    bridge_ready(&bridge).await;
    bridge
        .expect(0, &["go", "--wave", PILOT, "--as", "ops-lead"])
        .await;
    bridge
        .expect(0, &["wave", "start", PILOT, "--as", "ops-lead"])
        .await;
    setting_up.terminate().await;
    let launched = Instant::now();
    let served = serve_on_clock(&bridge, from).await;
    let elapsed = Span::from_std(launched.elapsed()).unwrap();
    let began = from + elapsed * i32::try_from(SPEED as i64).unwrap() + Span::minutes(1);
    let mut players = Vec::new();
    for (side, seed, slower) in [("old", 21, None), ("new", 22, Some("new:60%"))] {
        let mut args = vec![
            "--speed",
            speed.as_str(),
            "--rate",
            RATE,
            "--agents-when-due",
        ];
        if let Some(slower) = slower {
            args.extend_from_slice(&["--slower-agents", slower]);
        }
        players.push(
            traffic(&bridge, side, began, "150m", seed, &args)
                .spawn()
                .unwrap(),
        );
    }
    let alert = wait_for_alert(&bridge, "raised", Duration::from_secs(90)).await;
    let e = &alert["evidence"];
    assert_eq!(e["reading"]["reading"], "breach", "{alert:#}");
    assert_eq!(e["comparison"]["name"], "first_reply_p50", "{alert:#}");
    let worse = e["comparison"]["deviation"].as_f64().unwrap();
    assert!(worse >= 0.5, "{alert:#}");
    assert!(
        e["comparison"]["now"]["samples"].as_u64().unwrap() >= 5,
        "{alert:#}"
    );
    // Within the hour of simulated time after the wave's traffic began.
    let opened = DateTime::parse_from_rfc3339(alert["opened_at"].as_str().unwrap()).unwrap();
    let after = opened.with_timezone(&Utc) - began;
    assert!(
        after <= Span::minutes(60),
        "raised {} simulated minutes after the traffic began: {alert:#}",
        after.num_minutes()
    );
    // The wave paused itself.
    let started = Instant::now();
    while phase(&bridge).await != WavePhase::Paused {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the wave did not pause: {alert:#}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop(players).await;
    served.terminate().await;
    // ops-lead was paged about the breach.
    assert!(
        mailbox
            .lock()
            .unwrap()
            .iter()
            .any(|m| m.contains("[cutover] ALERT") && m.contains("dana@acme.example")),
        "{:?}",
        mailbox.lock().unwrap()
    );
    let report = audited(&bridge).await;
    let id = alert["id"].as_str().unwrap();
    let paused = report["actions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["action"] == "action.pause_wave" && a["detail"]["alert"] == id);
    assert!(paused, "{:#}", report["actions"]);
    let out = bridge.expect(0, &["audit", "verify"]).await;
    assert!(out.contains("hash chain whole"), "{out}");
}
