//! The alerts in simulated time over facts in a real store (SQLite files, and PostgreSQL
//! through `cutover_store::testing`), paged to an SMTP sink and a webhook receiver the test
//! starts: a degradation raises an alert and pauses the wave; too little traffic is
//! inconclusive and paged; no degradation raises nothing over a simulated week.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, TimeZone, Utc};
use cutover_model::{PlatformId, PlatformKind, Side};
use cutover_plan::plan::init::{InitOptions, render};
use cutover_plan::plan::model::Alert;
use cutover_plan::plan::names::OnInconclusive;
use cutover_sim::mailsink::{Mailbox, smtp_sink};
use cutover_store::TicketReading;

use super::*;
use crate::paging::{PagerConfig, SmtpConfig, SmtpTls};

/// Monday 6 April 2026, 10:00 UTC: when the second wave starts.
fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 4, 6, 10, 0, 0).unwrap()
}

/// The template `cutover init` writes, baseline of 2 weeks, one rule: wait time 50 % worse for
/// 15 minutes pauses the wave and pages ops-lead.
fn plan() -> Plan {
    let text = render(&InitOptions {
        from: PlatformKind::Zendesk,
        to: PlatformKind::Freshdesk,
        old_url: None,
        new_url: None,
    });
    let mut plan = cutover_plan::plan::check_str("cutover.toml", &text).unwrap();
    plan.baseline.weeks = 2;
    plan.alerts = vec![Alert {
        kpi: Kpi::WaitTime,
        worse_than_baseline: "50%".parse().unwrap(),
        sustained: "15m".parse().unwrap(),
        min_samples: 5,
        then: AlertAction::PauseWave,
        notify: vec!["ops-lead".to_owned()],
    }];
    plan
}

// ---- hysteresis, table-driven ----

#[test]
fn an_alert_rises_when_sustained_and_clears_only_after_calm_lasts() {
    use Reading::{Breach, Calm, Elevated};
    let t0 = start();
    let sustained = Duration::minutes(15);
    // (minutes after t0, reading, the change expected)
    let script: &[(i64, Reading, Option<AlertState>)] = &[
        (0, Breach, None),
        (5, Calm, None), // not sustained: the breach restarts
        (10, Breach, None),
        (15, Elevated, None), // just under the threshold: the breach under way is held
        (20, Breach, None),
        (25, Breach, Some(AlertState::Raised)),
        (30, Breach, None),
        (35, Elevated, None), // between the bounds: stays raised
        (40, Calm, None),
        (45, Elevated, None), // calm interrupted? no: elevated holds, calm restarts below
        (50, Calm, None),
        (60, Calm, None),
        (65, Calm, Some(AlertState::Cleared)),
        (70, Calm, None),
    ];
    let mut track = Track::default();
    for (minutes, reading, expected) in script {
        let now = t0 + Duration::minutes(*minutes);
        let change = step(&mut track, reading, sustained, now);
        assert_eq!(change, *expected, "at +{minutes} min after {reading:?}");
        track.open = match change {
            Some(AlertState::Cleared) => None,
            Some(state) => Some(("a".into(), state, now)),
            None => track.open.take(),
        };
    }
}

#[test]
fn too_little_data_opens_an_inconclusive_alert_that_clears_when_data_returns() {
    let t0 = start();
    let thin = Reading::Inconclusive("2 samples".into());
    let mut track = Track::default();
    assert_eq!(step(&mut track, &thin, Duration::minutes(15), t0), None);
    let opened = step(
        &mut track,
        &thin,
        Duration::minutes(15),
        t0 + Duration::minutes(15),
    );
    assert_eq!(opened, Some(AlertState::Inconclusive));
    track.open = Some(("a".into(), AlertState::Inconclusive, t0));
    let back = step(
        &mut track,
        &Reading::Calm,
        Duration::minutes(15),
        t0 + Duration::minutes(20),
    );
    assert_eq!(back, Some(AlertState::Cleared));
}

#[test]
fn the_defaults_alert_on_every_kpi_and_pause_on_wait_time() {
    let mut plan = plan();
    plan.alerts.clear();
    let rules = rules(&plan);
    let of_tickets = kpi::KPIS
        .iter()
        .filter(|d| d.source == kpi::Source::Tickets)
        .count();
    assert_eq!(rules.len(), of_tickets + 1);
    assert!(rules.iter().all(|r| !r.plan_kpi.starts_with("api_")));
    assert!(
        rules
            .iter()
            .filter(|r| r.then == AlertAction::Notify)
            .all(|r| r.threshold == 0.10)
    );
    let wait = rules
        .iter()
        .find(|r| r.then == AlertAction::PauseWave)
        .unwrap();
    assert_eq!((wait.kpi, wait.threshold), (Some("first_reply_p50"), 0.50));
    assert_eq!(wait.notify, plan.people.keys().cloned().collect::<Vec<_>>());
}

// ---- a small SMTP sink and a webhook receiver ----

/// Every JSON body a webhook receiver got, by path.
type Posts = Arc<Mutex<Vec<(String, serde_json::Value)>>>;

/// Starts an axum receiver for Slack (`/slack`) and Teams (`/teams`) incoming webhooks.
async fn webhook_receiver() -> (String, Posts) {
    use axum::extract::State;
    use axum::routing::post;
    let posts: Posts = Arc::default();
    let keep = |path: &'static str| {
        move |State(posts): State<Posts>, axum::Json(body): axum::Json<serde_json::Value>| async move {
            posts.lock().unwrap().push((path.to_owned(), body));
            "1"
        }
    };
    let app = axum::Router::new()
        .route("/slack", post(keep("slack")))
        .route("/teams", post(keep("teams")))
        .with_state(posts.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, posts)
}

struct Paged {
    pager: Pager,
    mailbox: Mailbox,
    posts: Posts,
}

async fn paged() -> Paged {
    let (port, mailbox) = smtp_sink().await.unwrap();
    let (base, posts) = webhook_receiver().await;
    let pager = Pager::new(PagerConfig {
        smtp: Some(SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            tls: SmtpTls::None,
            from: "cutover@acme.example".into(),
            credentials: None,
        }),
        slack: Some(format!("{base}/slack").into()),
        teams: Some(format!("{base}/teams").into()),
    });
    Paged {
        pager,
        mailbox,
        posts,
    }
}

// ---- traffic in simulated time ----

/// One simulated ticket.
#[derive(Debug, Clone)]
struct Sim {
    side: Side,
    id: u64,
    created: DateTime<Utc>,
    reply: DateTime<Utc>,
    solved: DateTime<Utc>,
}

/// A deterministic spread of waits: 10 to 14 minutes, times `permille` / 1000 (1600: 60 %
/// slower).
fn traffic(
    side: Side,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    per_hour: i64,
    permille: impl Fn(DateTime<Utc>) -> i64,
    first_id: u64,
) -> Vec<Sim> {
    let mut out = Vec::new();
    let mut t = from;
    let mut id = first_id;
    let gap = Duration::seconds(3600 / per_hour);
    while t < to {
        let wait_s = 600 + i64::try_from((id * 7919) % 241).unwrap();
        let wait = Duration::seconds(wait_s * permille(t) / 1000);
        out.push(Sim {
            side,
            id,
            created: t,
            reply: t + wait,
            solved: t + Duration::hours(2) + Duration::seconds(i64::try_from(id % 600).unwrap()),
        });
        id += 1;
        t += gap;
    }
    out
}

fn reading(sim: &Sim, now: DateTime<Utc>) -> TicketReading {
    TicketReading {
        side: sim.side,
        ticket: PlatformId::from(sim.id),
        channel: "email".into(),
        group: Some("1".into()),
        assignee: Some(format!("{}", sim.id % 4)),
        priority_rank: Some(2),
        created_at: sim.created,
        first_reply_at: (sim.reply <= now).then_some(sim.reply),
        agent_replies: Some(i64::from(sim.reply <= now)),
        solved_at: (sim.solved <= now).then_some(sim.solved),
    }
}

/// Records what the bridge would have read of each ticket by `now`, from what it had read by
/// `since`: a ticket once its first reply is there, again once it is solved.
async fn feed(store: &dyn Store, tickets: &[Sim], since: DateTime<Utc>, now: DateTime<Utc>) {
    for sim in tickets {
        let replied = sim.reply > since && sim.reply <= now;
        let solved = sim.solved > since && sim.solved <= now && sim.reply <= since;
        if replied || solved {
            store.record_ticket(&reading(sim, now)).await.unwrap();
        }
    }
}

async fn set_phase(store: &dyn Store, wave: &str, phase: WavePhase, at: DateTime<Utc>) {
    let routing = RoutingState::load(store).await.unwrap();
    let mut tx = store.begin().await.unwrap();
    routing
        .with_phase(wave, phase, at)
        .save_in(tx.as_mut())
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

async fn audited(store: &dyn Store) -> Vec<String> {
    store
        .audit_entries(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}

/// Evaluates every `every` from `from` to `to`, feeding traffic as time passes; the changes.
/// With `pager` none, each evaluation only assesses: the process "dies" after committing the
/// alerts, before acting on them.
async fn drive(
    store: &dyn Store,
    plan: &Plan,
    pager: Option<&Pager>,
    tickets: &[Sim],
    (from, to, every): (DateTime<Utc>, DateTime<Utc>, Duration),
) -> Vec<(DateTime<Utc>, Change)> {
    let mut out = Vec::new();
    let mut since = from;
    let mut now = from;
    while now <= to {
        feed(store, tickets, since, now).await;
        let changes = match pager {
            Some(pager) => evaluate(store, plan, pager, now).await.unwrap(),
            None => assess(store, plan, now).await.unwrap(),
        };
        for change in changes {
            out.push((now, change));
        }
        since = now;
        now += every;
    }
    out
}

/// The old side's history of the two weeks before `start()`, only around the hours the test
/// looks at (all of it for `whole`), and the first wave switched a week before with normal
/// new-side traffic since.
async fn history(store: &dyn Store, plan: &Plan, whole: bool, per_hour: i64) -> Vec<Sim> {
    let t0 = start();
    let normal = |_| 1000;
    let mut tickets = old_history(whole, per_hour);
    tickets.extend(traffic(
        Side::New,
        t0 - Duration::hours(3),
        t0,
        per_hour,
        normal,
        100_000,
    ));
    feed(store, &tickets, t0 - Duration::weeks(3), t0).await;
    set_phase(
        store,
        &plan.waves[0].name,
        WavePhase::New,
        t0 - Duration::weeks(1),
    )
    .await;
    tickets
}

/// The old side's traffic in the two weeks before `start()`: all of it, or only from two hours
/// before to three after the same time in each week (what the baseline of the test's hours
/// reads) and the two hours before `start()`, `per_hour` tickets an hour.
fn old_history(whole: bool, per_hour: i64) -> Vec<Sim> {
    let t0 = start();
    if whole {
        return traffic(
            Side::Old,
            t0 - Duration::weeks(2),
            t0,
            per_hour,
            |_| 1000,
            1,
        );
    }
    (0..=2)
        .flat_map(|week| {
            let at = t0 - Duration::weeks(week);
            let first = u64::try_from(week).unwrap() * 10_000 + 1;
            let to = if week == 0 {
                at
            } else {
                at + Duration::hours(3)
            };
            traffic(
                Side::Old,
                at - Duration::hours(2),
                to,
                per_hour,
                |_| 1000,
                first,
            )
        })
        .collect()
}

async fn degradation_story(store: Arc<dyn Store>) {
    let plan = plan();
    let paged = paged().await;
    let t0 = start();
    let mut tickets = history(store.as_ref(), &plan, false, 12).await;
    // The second wave starts at t0; from then on the new side's agents are 60 % slower.
    set_phase(store.as_ref(), &plan.waves[1].name, WavePhase::New, t0).await;
    let slower = move |t: DateTime<Utc>| if t >= t0 { 1600 } else { 1000 };
    tickets.extend(traffic(
        Side::New,
        t0,
        t0 + Duration::hours(3),
        12,
        slower,
        200_000,
    ));
    tickets.extend(traffic(
        Side::Old,
        t0,
        t0 + Duration::hours(3),
        12,
        |_| 1000,
        300_000,
    ));
    // Each evaluation commits its alerts and then the process dies before acting.
    let changes = drive(
        store.as_ref(),
        &plan,
        None,
        &tickets,
        (t0, t0 + Duration::hours(2), Duration::minutes(5)),
    )
    .await;
    let raised: Vec<&(DateTime<Utc>, Change)> = changes
        .iter()
        .filter(|(_, c)| c.state == AlertState::Raised)
        .collect();
    assert_eq!(raised.len(), 1, "{changes:#?}");
    let (at, alert) = raised[0];
    assert_eq!(alert.side, Side::New);
    let minutes = (*at - t0).num_minutes();
    assert!(minutes <= 75, "raised {minutes} min after the wave started");
    // No alert on the old side, whose agents are as fast as ever, and nothing inconclusive.
    assert!(
        changes.iter().all(|(_, c)| c.side == Side::New),
        "{changes:#?}"
    );
    // Its evidence: the values, the baseline, the sample sizes, the window.
    let e = &alert.evidence;
    assert!(e["worse_by"].as_f64().unwrap() >= 0.5, "{e}");
    assert!(
        e["comparison"]["now"]["samples"].as_u64().unwrap() >= 5,
        "{e}"
    );
    assert_eq!(e["comparison"]["baseline"]["weeks"], 2, "{e}");
    assert!(e["window"]["from"].is_string(), "{e}");
    // Nothing acted yet: the pause and the page wait in the outbox, the wave runs on.
    let pending = store.alert_actions(true, 100).await.unwrap();
    let names: Vec<(&str, Option<&str>)> = pending
        .iter()
        .map(|a| (a.action.as_str(), a.target.as_deref()))
        .collect();
    assert_eq!(
        names,
        [("pause_wave", Some("email and whatsapp")), ("notify", None)],
        "{pending:#?}"
    );
    assert!(pending.iter().all(|a| a.alert == alert.id));
    let routing = RoutingState::load(store.as_ref()).await.unwrap();
    assert_eq!(routing.phase(&plan.waves[1].name), WavePhase::New);
    assert!(
        !audited(store.as_ref())
            .await
            .iter()
            .any(|a| a.starts_with("action.")),
    );
    // The next leader runs what is pending when it starts: once, however often it runs.
    let later = t0 + Duration::hours(2) + Duration::minutes(5);
    let rules = rules(&plan);
    let done = crate::actions::run_pending(store.as_ref(), &plan, &paged.pager, &rules, later)
        .await
        .unwrap();
    assert_eq!(done.len(), 2, "{done:#?}");
    assert_eq!(done[0].result["paused"], true, "{done:#?}");
    let again = crate::actions::run_pending(store.as_ref(), &plan, &paged.pager, &rules, later)
        .await
        .unwrap();
    assert!(again.is_empty(), "{again:#?}");
    assert!(store.alert_actions(true, 100).await.unwrap().is_empty());
    let kept_actions = store.alert_actions(false, 100).await.unwrap();
    assert!(kept_actions.iter().all(|a| a.done_at == Some(later)));
    // The running wave is paused by itself, through the same path as a person's.
    let routing = RoutingState::load(store.as_ref()).await.unwrap();
    assert_eq!(routing.phase(&plan.waves[1].name), WavePhase::Paused);
    assert_eq!(routing.phase(&plan.waves[0].name), WavePhase::New);
    let actions = audited(store.as_ref()).await;
    for action in [
        "alert.raised",
        "action.pause_wave",
        "wave.paused",
        "action.notify",
    ] {
        assert_eq!(
            actions.iter().filter(|a| *a == action).count(),
            1,
            "{actions:?}"
        );
    }
    store.verify_audit().await.unwrap();
    // Kept in the store with its evidence, and paged by e-mail, Slack and Teams.
    let kept = store.alerts(10).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(
        (kept[0].state.as_str(), kept[0].id.as_str()),
        ("raised", alert.id.as_str())
    );
    let mail = paged.mailbox.lock().unwrap().clone();
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert!(
        mail[0].contains("ALERT") && mail[0].contains("wait_time"),
        "{}",
        mail[0]
    );
    assert!(
        mail[0].contains("dana@acme.example") || mail[0].contains("To:"),
        "{}",
        mail[0]
    );
    let posts = paged.posts.lock().unwrap().clone();
    let slack = posts.iter().find(|(p, _)| p == "slack").unwrap();
    assert!(
        slack.1["text"].as_str().unwrap().contains("wait_time"),
        "{posts:?}"
    );
    let teams = posts.iter().find(|(p, _)| p == "teams").unwrap();
    assert_eq!(teams.1["@type"], "MessageCard");
    // The last wave's gate reads the alert: not met, and it says which.
    let gate = crate::gates::evaluate(store.as_ref(), &plan, "digest", 2, later)
        .await
        .unwrap();
    let kpis = gate
        .criteria
        .iter()
        .find(|c| c.name == "kpis_within_bounds")
        .unwrap();
    assert!(!kpis.met);
    assert!(
        kpis.detail.starts_with(&format!(
            "1 alert(s) in the last 3d: alert {} (wait_time, new side) raised",
            alert.id
        )),
        "{}",
        kpis.detail
    );
    store.close().await;
}

async fn thin_traffic_story(store: Arc<dyn Store>, on_inconclusive: OnInconclusive) {
    let mut plan = plan();
    plan.monitor.on_inconclusive = on_inconclusive;
    let paged = paged().await;
    let t0 = start();
    let mut tickets = old_history(false, 12);
    feed(store.as_ref(), &tickets, t0 - Duration::weeks(3), t0).await;
    // The first wave starts at t0, and only two customers an hour reach the new side.
    set_phase(store.as_ref(), &plan.waves[0].name, WavePhase::New, t0).await;
    tickets.extend(traffic(
        Side::New,
        t0,
        t0 + Duration::hours(2),
        2,
        |_| 1000,
        200_000,
    ));
    tickets.extend(traffic(
        Side::Old,
        t0,
        t0 + Duration::hours(2),
        12,
        |_| 1000,
        300_000,
    ));
    let changes = drive(
        store.as_ref(),
        &plan,
        Some(&paged.pager),
        &tickets,
        (t0, t0 + Duration::hours(1), Duration::minutes(5)),
    )
    .await;
    assert!(
        changes.iter().all(|(_, c)| c.state != AlertState::Raised),
        "{changes:#?}"
    );
    let thin: Vec<&Change> = changes
        .iter()
        .map(|(_, c)| c)
        .filter(|c| c.state == AlertState::Inconclusive)
        .collect();
    assert_eq!(thin.len(), 1, "{changes:#?}");
    assert_eq!(thin[0].side, Side::New);
    assert!(
        thin[0].evidence["reading"]["reason"]
            .as_str()
            .unwrap()
            .contains("samples")
    );
    let actions = audited(store.as_ref()).await;
    assert!(
        actions.contains(&"alert.inconclusive".to_owned()),
        "{actions:?}"
    );
    assert!(!actions.contains(&"alert.raised".to_owned()), "{actions:?}");
    let mail = paged.mailbox.lock().unwrap().clone();
    assert!(mail.iter().any(|m| m.contains("INCONCLUSIVE")), "{mail:?}");
    // Never a silent pass: paged as inconclusive; the wave is held only when the plan says so.
    let routing = RoutingState::load(store.as_ref()).await.unwrap();
    let (phase, paused) = match on_inconclusive {
        OnInconclusive::Page => (WavePhase::New, 0),
        OnInconclusive::Pause => (WavePhase::Paused, 1),
    };
    assert_eq!(routing.phase(&plan.waves[0].name), phase);
    for action in ["action.pause_wave", "wave.paused"] {
        assert_eq!(
            actions.iter().filter(|a| *a == action).count(),
            paused,
            "{actions:?}"
        );
    }
    assert_eq!(
        actions.iter().filter(|a| *a == "action.notify").count(),
        1,
        "{actions:?}"
    );
    store.verify_audit().await.unwrap();
    store.close().await;
}

async fn sqlite() -> (tempfile::TempDir, Arc<dyn Store>) {
    // In memory-backed /dev/shm where there is one: the week's thousands of readings are
    // written one transaction each, and a disk's sync would make the test slow.
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm).unwrap()
    } else {
        tempfile::tempdir().unwrap()
    };
    let url = format!("sqlite://{}", dir.path().join("cutover.db").display());
    let store = cutover_store::open(&url.parse().unwrap()).await.unwrap();
    (dir, store)
}

#[tokio::test]
async fn a_slower_new_side_raises_an_alert_and_pauses_the_wave_on_sqlite() {
    let (_dir, store) = sqlite().await;
    degradation_story(store).await;
}

#[tokio::test]
async fn a_slower_new_side_raises_an_alert_and_pauses_the_wave_on_postgres() {
    let db = cutover_store::testing::TestDatabase::create()
        .await
        .unwrap();
    let store = cutover_store::open(db.url()).await.unwrap();
    degradation_story(store).await;
}

#[tokio::test]
async fn too_little_traffic_is_inconclusive_and_paged_on_sqlite() {
    let (_dir, store) = sqlite().await;
    thin_traffic_story(store, OnInconclusive::Page).await;
}

#[tokio::test]
async fn too_little_traffic_is_inconclusive_and_paged_on_postgres() {
    let db = cutover_store::testing::TestDatabase::create()
        .await
        .unwrap();
    let store = cutover_store::open(db.url()).await.unwrap();
    thin_traffic_story(store, OnInconclusive::Page).await;
}

#[tokio::test]
async fn too_little_traffic_pauses_the_wave_when_the_plan_says_so_on_sqlite() {
    let (_dir, store) = sqlite().await;
    thin_traffic_story(store, OnInconclusive::Pause).await;
}

#[tokio::test]
async fn too_little_traffic_pauses_the_wave_when_the_plan_says_so_on_postgres() {
    let db = cutover_store::testing::TestDatabase::create()
        .await
        .unwrap();
    let store = cutover_store::open(db.url()).await.unwrap();
    thin_traffic_story(store, OnInconclusive::Pause).await;
}

/// No degradation: a simulated week of normal traffic on both sides, evaluated every three
/// hours, raises nothing (and finds nothing inconclusive). Prints the false-alarm rate (raised per rule reading).
#[tokio::test]
async fn no_degradation_raises_no_alert_over_a_simulated_week() {
    let (_dir, store) = sqlite().await;
    let plan = plan();
    let paged = paged().await;
    let t0 = start();
    let started = std::time::Instant::now();
    let mut tickets = history(store.as_ref(), &plan, true, 8).await;
    let week = t0 + Duration::weeks(1);
    tickets.extend(traffic(Side::New, t0, week, 8, |_| 1000, 200_000));
    tickets.extend(traffic(Side::Old, t0, week, 8, |_| 1000, 400_000));
    let every = Duration::hours(3);
    let changes = drive(
        store.as_ref(),
        &plan,
        Some(&paged.pager),
        &tickets,
        (t0, week, every),
    )
    .await;
    let readings = 57 * 2 * plan.alerts.len();
    let raised = changes
        .iter()
        .filter(|(_, c)| c.state == AlertState::Raised)
        .count();
    #[expect(clippy::cast_precision_loss, reason = "small counts")]
    let rate = raised as f64 / readings as f64;
    println!(
        "{{\"readings\": {readings}, \"raised\": {raised}, \"false_alarm_rate\": {rate}, \"wall_ms\": {}}}",
        started.elapsed().as_millis()
    );
    assert!(changes.is_empty(), "{changes:#?}");
    assert!(paged.mailbox.lock().unwrap().is_empty());
    store.close().await;
}

/// The template's phone channel has `backup = "old"`: an alert whose action is
/// `backup_channel` switches it there through the outbox (audited once), every other channel
/// routes as before, and a person switches it back through the same path.
#[tokio::test]
async fn backup_channel_routes_that_channel_only_to_its_backup() {
    let (_dir, store) = sqlite().await;
    let store = store.as_ref();
    let mut plan = plan();
    plan.alerts[0].then = AlertAction::BackupChannel;
    let t0 = start();
    set_phase(store, &plan.waves[2].name, WavePhase::New, t0).await;
    let routes = async || {
        let routing = RoutingState::load(store).await.unwrap();
        ["phone", "email", "web", "whatsapp"].map(|c| routing.route(&plan.waves, c, "+15550123"))
    };
    let to = |side| crate::routing::Route::To(side);
    assert_eq!(routes().await, [to(Side::New); 4]);

    // The raise queues the switch with the alert; the leader's pass runs it, once.
    let rules = rules(&plan);
    let change = Change {
        id: "alerts[1]/new@1".into(),
        rule: rules[0].name.clone(),
        side: Side::New,
        state: AlertState::Raised,
        opened_at: t0,
        evidence: json!({ "kpi": "wait_time", "side": "new" }),
        actions: Vec::new(),
    };
    let routing = RoutingState::load(store).await.unwrap();
    let queued = crate::actions::queue(&plan, &routing, &rules[0], &change, t0);
    let mut tx = store.begin().await.unwrap();
    for action in &queued {
        tx.put_alert_action(action).await.unwrap();
        tx.put_alert_action(action).await.unwrap(); // queued twice: kept once
    }
    tx.commit().await.unwrap();
    let pager = Pager::new(PagerConfig::default());
    let done = crate::actions::run_pending(store, &plan, &pager, &rules, t0)
        .await
        .unwrap();
    let names: Vec<&str> = done.iter().map(|d| d.action.as_str()).collect();
    assert_eq!(names, ["backup_channel", "notify"], "{done:#?}");
    assert_eq!(done[0].result["channel"], "phone");
    assert_eq!(done[0].result["changed"], true);
    assert_eq!(
        routes().await,
        [to(Side::Old), to(Side::New), to(Side::New), to(Side::New)]
    );
    // Switching it again (a person, or a re-run) changes and records nothing.
    let again = crate::backup::set(store, &plan, "phone", true, "dana", "cli", t0)
        .await
        .unwrap();
    assert!(!again.changed);
    let refused = crate::backup::set(store, &plan, "email", true, "dana", "cli", t0).await;
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.to_string().contains("has no backup")),
        "{refused:?}"
    );

    // A person switches it back: the waves decide again.
    let back = crate::backup::set(store, &plan, "phone", false, "dana", "cli", t0)
        .await
        .unwrap();
    assert!(back.changed && !back.on_backup);
    assert_eq!(routes().await, [to(Side::New); 4]);
    let actions = audited(store).await;
    for (action, count) in [
        ("action.backup_channel", 1),
        ("channel.backup", 1),
        ("channel.restored", 1),
        ("action.notify", 1),
    ] {
        assert_eq!(
            actions.iter().filter(|a| *a == action).count(),
            count,
            "{actions:?}"
        );
    }
    store.verify_audit().await.unwrap();
}

#[tokio::test]
async fn channel_availability_is_measured_and_inconclusive_without_two_weeks_of_history() {
    let mut plan = plan();
    plan.alerts[0].kpi = Kpi::ChannelAvailability;
    let rule = rules(&plan).remove(0);
    assert_eq!(rule.kpi, Some("channel_availability"));
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cutover.db").display());
    let store = cutover_store::open(&url.parse().unwrap()).await.unwrap();
    // Six contacts the gateway took and no platform has yet.
    for key in 0..6 {
        store
            .accept_contact(&cutover_store::NewContact {
                channel: "web".into(),
                message_key: format!("m{key}"),
                customer: format!("c{key}@example.com"),
                payload: json!({}),
                status: cutover_store::ContactStatus::Pending,
                side: None,
            })
            .await
            .unwrap();
    }
    // Ten minutes on, as the monitor would read the hour then.
    let now = Utc::now() + Duration::minutes(10);
    let window = (now - WINDOW, now);
    let old_only = Filter {
        side: Some(Side::Old),
        ..Filter::default()
    };
    let figures = crate::kpi_stored::compute(store.as_ref(), window.0, window.1, &old_only)
        .await
        .unwrap();
    let base = crate::kpi_stored::baseline(store.as_ref(), window.0, 2, &old_only)
        .await
        .unwrap();
    let comparisons = kpi::compare(&figures, &base.window(window.0).unwrap());
    let c = comparisons
        .iter()
        .find(|c| c.name == "channel_availability")
        .unwrap();
    assert_eq!((c.now.value, c.now.samples), (Some(0.0), 6));
    // Measured, and no history of the gateway's: inconclusive for want of weeks, not of a KPI.
    match read(&rule, Some(c)) {
        Reading::Inconclusive(reason) => assert!(reason.contains("weeks of baseline"), "{reason}"),
        other => panic!("{other:?}"),
    }
    store.close().await;
}

/// An alert may watch the API KPIs: the monitor's probes of a side, held against the same
/// hour of the week in the baseline. Slower answers than in the two weeks before are a breach;
/// answers as fast as before are calm; no probes before is inconclusive, never a pass.
#[tokio::test]
async fn the_api_kpis_can_be_watched_by_an_alert() {
    let mut plan = plan();
    plan.alerts[0].kpi = Kpi::ApiResponseP90;
    let p90 = rules(&plan).remove(0);
    assert_eq!(p90.kpi, Some("api_response_p90"));
    plan.alerts[0].kpi = Kpi::ApiAvailability;
    let availability = rules(&plan).remove(0);
    assert_eq!(availability.kpi, Some("api_availability"));

    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cutover.db").display());
    let store = cutover_store::open(&url.parse().unwrap()).await.unwrap();
    let now = start() + Duration::minutes(30);
    let window = (now - WINDOW, now);
    let probes = |weeks_back: i64, millis: u64, ok: bool| {
        let store = store.clone();
        async move {
            for i in 0..20 {
                let at = window.0 - Duration::weeks(weeks_back) + Duration::minutes(2 * i + 1);
                store
                    .record_probe(&cutover_store::ApiProbe {
                        side: Side::Old,
                        at,
                        millis: millis + u64::try_from(i).unwrap(),
                        status: Some(if ok { 200 } else { 503 }),
                        ok,
                    })
                    .await
                    .unwrap();
            }
        }
    };
    let old_only = Filter {
        side: Some(Side::Old),
        ..Filter::default()
    };
    let reading = |rule: Rule| {
        let store = store.clone();
        let old_only = old_only.clone();
        async move {
            let figures = crate::kpi_stored::compute(store.as_ref(), window.0, window.1, &old_only)
                .await
                .unwrap();
            let base = crate::kpi_stored::baseline(store.as_ref(), window.0, 2, &old_only)
                .await
                .unwrap();
            let comparisons = kpi::compare(&figures, &base.window(window.0).unwrap());
            let c = comparisons
                .iter()
                .find(|c| Some(c.name) == rule.kpi)
                .cloned()
                .unwrap();
            read(&rule, Some(&c))
        }
    };
    // Slow, failing answers now, and no history: inconclusive.
    probes(0, 900, false).await;
    match reading(p90.clone()).await {
        Reading::Inconclusive(reason) => assert!(reason.contains("weeks of baseline"), "{reason}"),
        other => panic!("{other:?}"),
    }
    // Two weeks of fast answers at the same hour: now is a breach on both.
    probes(1, 50, true).await;
    probes(2, 50, true).await;
    assert_eq!(reading(p90.clone()).await, Reading::Breach);
    assert_eq!(reading(availability.clone()).await, Reading::Breach);
    store.close().await;

    // The same history with answers now as fast and as sure as before: calm.
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cutover.db").display());
    let store = cutover_store::open(&url.parse().unwrap()).await.unwrap();
    for weeks_back in 0..3 {
        for i in 0..20 {
            let at = window.0 - Duration::weeks(weeks_back) + Duration::minutes(2 * i + 1);
            store
                .record_probe(&cutover_store::ApiProbe {
                    side: Side::Old,
                    at,
                    millis: 50 + u64::try_from(i).unwrap(),
                    status: Some(200),
                    ok: true,
                })
                .await
                .unwrap();
        }
    }
    let figures = crate::kpi_stored::compute(store.as_ref(), window.0, window.1, &old_only)
        .await
        .unwrap();
    let base = crate::kpi_stored::baseline(store.as_ref(), window.0, 2, &old_only)
        .await
        .unwrap();
    let comparisons = kpi::compare(&figures, &base.window(window.0).unwrap());
    for rule in [&p90, &availability] {
        let c = comparisons.iter().find(|c| Some(c.name) == rule.kpi);
        assert_eq!(read(rule, c), Reading::Calm, "{:?}", rule.kpi);
    }
    store.close().await;
}
