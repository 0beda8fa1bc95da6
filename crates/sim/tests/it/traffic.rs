//! The traffic generator against in-process emulators: the ledger is the oracle, and what the
//! emulators hold afterwards must match it exactly; the same seed plays the same ledger.

use std::path::Path;

use cutover_sim::freshdesk::{FreshdeskOptions, FreshdeskSim};
use cutover_sim::traffic::{
    self, Action, ExpectedSide, Ledger, PlatformKind, Side, Speed, Target, TrafficOptions,
};
use reqwest::StatusCode;
use serde_json::Value;
use url::Url;

use crate::harness::{self, Sim};

fn options(old: Option<Target>, new: Option<Target>, ledger: &Path, seed: u64) -> TrafficOptions {
    TrafficOptions {
        old,
        new,
        // Slow enough that 300 actions span hours: replies, solves and ratings come due.
        rate_per_min: 0.25,
        seed,
        max_actions: Some(300),
        ledger: Some(ledger.to_owned()),
        speed: Speed::Max,
        customers: 60,
        ..TrafficOptions::default()
    }
}

async fn zendesk() -> (Sim, Target) {
    let sim = harness::spawn(harness::opts()).await;
    let target = Target::zendesk_sim(Url::parse(sim.handle.url()).unwrap());
    (sim, target)
}

fn failures(ledger: &Ledger) -> Vec<String> {
    ledger
        .entries
        .iter()
        .filter(|e| !e.answer.ok())
        .map(|e| format!("{} {:?}: {:?}", e.seq, e.action, e.answer.error))
        .collect()
}

/// Checks every ticket the ledger says was created against the Zendesk emulator.
async fn check_zendesk(sim: &Sim, expected: &ExpectedSide) {
    assert_eq!(expected.platform, PlatformKind::Zendesk);
    for (id, want) in &expected.tickets {
        let t = sim.get(&format!("/api/v2/tickets/{id}.json")).await;
        assert_eq!(t.status, 200, "ticket {id}: {}", t.text);
        let t = &t.body["ticket"];
        assert_eq!(t["status"], want.status.zendesk(), "status of ticket {id}");
        assert_eq!(
            t["priority"],
            want.priority.zendesk(),
            "priority of ticket {id}"
        );
        assert_eq!(
            t["group_id"].as_u64(),
            want.group_id,
            "group of ticket {id}"
        );
        assert_eq!(
            t["assignee_id"].as_u64(),
            want.assignee_id,
            "assignee of ticket {id}"
        );
        let score = want.rating.map(|s| s.zendesk());
        assert_eq!(
            t["satisfaction_rating"]["score"].as_str(),
            score,
            "rating of ticket {id}"
        );
        let c = sim
            .get(&format!("/api/v2/tickets/{id}/comments.json?per_page=100"))
            .await;
        let comments = c.body["comments"].as_array().unwrap();
        assert_eq!(
            comments.len() as u32,
            want.platform_comments(PlatformKind::Zendesk),
            "comments of ticket {id}"
        );
        let public = comments.iter().filter(|c| c["public"] == true).count() as u32;
        assert_eq!(
            public, want.public_messages,
            "public comments of ticket {id}"
        );
        // A merged ticket: tagged and given the merge's comment naming its target.
        if let Some(into) = want.merged_into {
            assert!(
                t["tags"]
                    .as_array()
                    .unwrap()
                    .contains(&"closed_by_merge".into()),
                "tags of merged ticket {id}: {t}"
            );
            let last = comments.last().unwrap();
            assert_eq!(
                last["via"]["source"]["to"]["ticket_id"].as_u64(),
                Some(into)
            );
        }
    }
}

#[tokio::test]
async fn zendesk_holds_exactly_what_the_ledger_says() {
    let (sim, target) = zendesk().await;
    let before = sim.get("/api/v2/tickets/count.json").await.body["count"]["value"]
        .as_u64()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.jsonl");
    let summary = traffic::run(options(Some(target), None, &path, 7))
        .await
        .unwrap();
    assert_eq!(summary.actions, 300);
    assert_eq!(summary.stopped_by, "max_actions");

    let ledger = Ledger::read(&path).unwrap();
    assert_eq!(ledger.entries.len(), 300);
    assert_eq!(failures(&ledger), Vec::<String>::new());
    let expected = ledger.expected();
    let old = &expected[&Side::Old];
    assert!(!expected.contains_key(&Side::New));
    assert_eq!(old.actions, 300);
    assert_eq!(
        summary.sides[&Side::Old].tickets_opened,
        old.n_tickets() as u64
    );

    // The run exercises every kind of action, so the oracle covers them all.
    for action in [
        Action::OpenTicket,
        Action::FirstReply,
        Action::Reply,
        Action::FollowUp,
        Action::InternalNote,
        Action::Solve,
        Action::Escalate,
        Action::Reassign,
        Action::Rate,
    ] {
        assert!(
            ledger.entries.iter().any(|e| e.action == action),
            "no {action:?} in 300 actions"
        );
    }
    let after = sim.get("/api/v2/tickets/count.json").await.body["count"]["value"]
        .as_u64()
        .unwrap();
    assert_eq!(after - before, old.n_tickets() as u64, "tickets created");
    check_zendesk(&sim, old).await;
    // About 5 % of new tickets whose requester has another open ticket are merged into it.
    let merges = ledger
        .entries
        .iter()
        .filter(|e| e.action == Action::Merge)
        .count();
    let merged = old
        .tickets
        .values()
        .filter(|t| t.merged_into.is_some())
        .count();
    assert_eq!(merged, merges, "merged tickets");
    assert!(merges > 0, "no merge in 300 actions");
    let ratings = sim
        .get("/api/v2/satisfaction_ratings.json?per_page=100")
        .await;
    let traffic_ratings = ratings.body["satisfaction_ratings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["ticket_id"]
                .as_u64()
                .is_some_and(|id| old.tickets.contains_key(&id))
        })
        .count();
    assert_eq!(traffic_ratings as u64, old.n_ratings(), "ratings");
}

#[tokio::test]
async fn the_same_seed_plays_the_same_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let mut ledgers = Vec::new();
    for (name, seed) in [("a", 11), ("b", 11), ("c", 12)] {
        let (_sim, target) = zendesk().await;
        let path = dir.path().join(name);
        let mut opts = options(Some(target), None, &path, seed);
        opts.max_actions = Some(150);
        traffic::run(opts).await.unwrap();
        ledgers.push(std::fs::read_to_string(&path).unwrap());
    }
    assert_eq!(ledgers[0].lines().count(), 150);
    assert_eq!(
        ledgers[0], ledgers[1],
        "same seed, fresh emulators: same bytes"
    );
    assert_ne!(ledgers[0], ledgers[2], "another seed plays other actions");
}

#[tokio::test]
async fn a_simulated_duration_stops_the_run_and_the_speed_paces_it() {
    let (_sim, target) = zendesk().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.jsonl");
    let mut opts = options(Some(target), None, &path, 3);
    opts.max_actions = None;
    opts.rate_per_min = 6.0;
    // Ten simulated minutes on a Monday morning at 1200× take half a second.
    opts.duration = Some(std::time::Duration::from_secs(600));
    opts.speed = Speed::Factor(1200.0);
    let summary = traffic::run(opts).await.unwrap();
    assert_eq!(summary.stopped_by, "duration");
    assert!(summary.real_seconds >= 0.45, "{summary:?}");
    // Monday 08:00–08:10 runs at ~2.5× the weekly mean: ~150 actions (Poisson sd ~12).
    assert!(
        (100..200).contains(&summary.actions),
        "{} actions",
        summary.actions
    );
    let ledger = Ledger::read(&path).unwrap();
    assert_eq!(ledger.entries.len() as u64, summary.actions);
    let last = &ledger.entries.last().unwrap().sim_time;
    assert!(last.as_str() < "2024-06-03T08:10:00.000Z", "{last}");
}

#[tokio::test]
async fn a_run_without_a_side_or_with_a_bad_rate_is_refused() {
    let err = traffic::run(TrafficOptions::default()).await.unwrap_err();
    assert!(err.to_string().contains("no platform given"), "{err}");
    let (_sim, target) = zendesk().await;
    let opts = TrafficOptions {
        old: Some(target),
        rate_per_min: 0.0,
        ..TrafficOptions::default()
    };
    let err = traffic::run(opts).await.unwrap_err();
    assert!(err.to_string().contains("rate must be a positive"), "{err}");
}

/// A Freshdesk emulator for the traffic: small, no rate limits, the harness's start time.
struct Freshdesk {
    handle: cutover_sim::SimHandle<cutover_sim::freshdesk::App>,
    client: reqwest::Client,
}

impl Freshdesk {
    async fn get(&self, path: &str) -> Value {
        let response = self
            .client
            .get(format!("{}{path}", self.handle.url()))
            .basic_auth("sim-key", Some("X"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.json().await.unwrap()
    }
}

async fn freshdesk() -> (Freshdesk, Target) {
    cutover_sim::install_crypto_provider();
    let opts = FreshdeskOptions {
        tickets: 20,
        rate_limit_rpm: Some(0),
        start_time: Some(
            chrono::DateTime::parse_from_rfc3339(harness::START)
                .unwrap()
                .to_utc(),
        ),
        ..FreshdeskOptions::default()
    };
    let handle = FreshdeskSim::spawn(opts, "127.0.0.1:0").await.unwrap();
    let target = Target::freshdesk_sim(Url::parse(handle.url()).unwrap());
    (
        Freshdesk {
            handle,
            client: reqwest::Client::new(),
        },
        target,
    )
}

/// Checks every ticket the ledger says was created against the Freshdesk emulator.
async fn check_freshdesk(fd: &Freshdesk, expected: &ExpectedSide) {
    assert_eq!(expected.platform, PlatformKind::Freshdesk);
    for (id, want) in &expected.tickets {
        let t = fd.get(&format!("/api/v2/tickets/{id}")).await;
        assert_eq!(
            t["status"],
            want.status.freshdesk(),
            "status of ticket {id}"
        );
        assert_eq!(
            t["priority"],
            want.priority.freshdesk(),
            "priority of ticket {id}"
        );
        assert_eq!(
            t["group_id"].as_u64(),
            want.group_id,
            "group of ticket {id}"
        );
        assert_eq!(
            t["responder_id"].as_u64(),
            want.assignee_id,
            "responder of ticket {id}"
        );
        let conversations = fd
            .get(&format!("/api/v2/tickets/{id}/conversations?per_page=100"))
            .await;
        let conversations = conversations.as_array().unwrap();
        assert_eq!(
            conversations.len() as u32,
            want.platform_comments(PlatformKind::Freshdesk),
            "conversations of ticket {id}"
        );
        let public = conversations
            .iter()
            .filter(|c| c["private"] == false)
            .count() as u32;
        assert_eq!(
            public + 1,
            want.public_messages,
            "public conversations of ticket {id}"
        );
        let ratings = fd
            .get(&format!("/api/v2/tickets/{id}/satisfaction_ratings"))
            .await;
        let ratings = ratings.as_array().unwrap();
        assert_eq!(
            ratings.len() as u32,
            want.platform_ratings(PlatformKind::Freshdesk),
            "ratings of ticket {id}"
        );
        if let Some(stars) = want.rating {
            let scores: Vec<i64> = ratings
                .iter()
                .filter_map(|r| r["ratings"]["default_question"].as_i64())
                .collect();
            assert!(
                scores.contains(&stars.freshdesk()),
                "rating of ticket {id}: {scores:?}"
            );
        }
    }
}

#[tokio::test]
async fn freshdesk_holds_exactly_what_the_ledger_says() {
    let (fd, target) = freshdesk().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.jsonl");
    let summary = traffic::run(options(None, Some(target), &path, 7))
        .await
        .unwrap();
    assert_eq!(summary.actions, 300);
    let ledger = Ledger::read(&path).unwrap();
    assert_eq!(failures(&ledger), Vec::<String>::new());
    let expected = ledger.expected();
    let new = &expected[&Side::New];
    assert!(!expected.contains_key(&Side::Old));
    for action in [
        Action::OpenTicket,
        Action::Reply,
        Action::InternalNote,
        Action::Rate,
    ] {
        assert!(
            ledger.entries.iter().any(|e| e.action == action),
            "no {action:?}"
        );
    }
    check_freshdesk(&fd, new).await;
}

#[tokio::test]
async fn both_sides_at_once_match_the_ledger_and_repeat_with_the_seed() {
    let dir = tempfile::tempdir().unwrap();
    let mut texts = Vec::new();
    for run in ["first", "second"] {
        let (zd, old) = zendesk().await;
        let (fd, new) = freshdesk().await;
        let path = dir.path().join(run);
        let mut opts = options(Some(old), Some(new), &path, 5);
        opts.max_actions = Some(400);
        let summary = traffic::run(opts).await.unwrap();
        let ledger = Ledger::read(&path).unwrap();
        assert_eq!(failures(&ledger), Vec::<String>::new());
        let expected = ledger.expected();
        let (old, new) = (&expected[&Side::Old], &expected[&Side::New]);
        assert_eq!(old.actions + new.actions, 400);
        assert!(old.n_tickets() > 5 && new.n_tickets() > 5, "{summary:?}");
        check_zendesk(&zd, old).await;
        check_freshdesk(&fd, new).await;
        texts.push(std::fs::read_to_string(&path).unwrap());
    }
    assert_eq!(
        texts[0], texts[1],
        "same seed, fresh emulators: same ledger, ids included"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_benchmark_plays_both_emulators_and_reports_its_figures() {
    let opts = traffic::bench::TrafficBenchOptions {
        actions: 200,
        seed: 5,
        tickets: 10,
    };
    let report = traffic::bench::traffic(&opts).await.unwrap();
    assert_eq!(report["actions"], 200, "{report:#}");
    assert_eq!(report["failed"], 0, "{report:#}");
    assert!(report["actions_per_second"].as_f64().unwrap() > 0.0);
    assert!(report["requests"].as_u64().unwrap() >= 200);
    assert_eq!(report["sides"]["old"]["platform"], "zendesk");
    assert_eq!(report["sides"]["new"]["platform"], "freshdesk");
    assert!(report["sides"]["new"]["tickets"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn a_quiet_fortnight_closes_and_reopens_tickets_on_both_sides() {
    let (zd, old) = zendesk().await;
    let (fd, new) = freshdesk().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.jsonl");
    let mut opts = options(Some(old), Some(new), &path, 5);
    // 0.015 actions a minute: 400 actions span about two weeks of simulated time.
    opts.rate_per_min = 0.015;
    opts.max_actions = Some(400);
    traffic::run(opts).await.unwrap();
    let ledger = Ledger::read(&path).unwrap();
    assert_eq!(failures(&ledger), Vec::<String>::new());
    for action in [Action::Close, Action::Reopen, Action::Rate, Action::Solve] {
        for side in [Side::Old, Side::New] {
            assert!(
                ledger
                    .entries
                    .iter()
                    .any(|e| e.action == action && e.side == side),
                "no {action:?} on the {side} side"
            );
        }
    }
    let expected = ledger.expected();
    check_zendesk(&zd, &expected[&Side::Old]).await;
    check_freshdesk(&fd, &expected[&Side::New]).await;
}

/// Each first reply's wait, open to first reply, in simulated seconds, from a ledger.
fn first_reply_waits(ledger: &Ledger) -> Vec<f64> {
    use std::collections::HashMap;
    let at = |e: &traffic::Entry| {
        chrono::DateTime::parse_from_rfc3339(&e.sim_time)
            .unwrap()
            .timestamp_millis() as f64
            / 1000.0
    };
    let mut opened: HashMap<u64, f64> = HashMap::new();
    let mut waits = Vec::new();
    for e in &ledger.entries {
        match (&e.action, &e.request) {
            (Action::OpenTicket, _) => {
                if let Some(id) = e.answer.created_id {
                    opened.insert(id, at(e));
                }
            }
            (Action::FirstReply, traffic::Step::Message { ticket_id, .. }) => {
                if let Some(t0) = opened.get(ticket_id) {
                    waits.push(at(e) - t0);
                }
            }
            _ => {}
        }
    }
    waits.sort_by(f64::total_cmp);
    waits
}

/// With `agents_when_due`, every arrival opens a ticket and the agents answer at their due
/// times, so a slowdown of 100 % doubles the waits (the median, within the draws' noise),
/// whatever the load.
#[tokio::test]
async fn agents_answering_when_due_make_a_slowdown_show_in_full() {
    let dir = tempfile::tempdir().unwrap();
    let mut medians = Vec::new();
    for (name, slower) in [("normal", None), ("slower", Some(1.0))] {
        let (_sim, target) = zendesk().await;
        let path = dir.path().join(name);
        let mut opts = options(Some(target), None, &path, 5);
        opts.max_actions = None;
        opts.rate_per_min = 1.0;
        opts.duration = Some(std::time::Duration::from_secs(3 * 3600));
        opts.agents_when_due = true;
        opts.channels = vec![traffic::Channel::Chat, traffic::Channel::WhatsApp];
        opts.slowdown = slower.map(|by| traffic::Slowdown {
            side: Side::Old,
            by,
            from: None,
        });
        let summary = traffic::run(opts).await.unwrap();
        let ledger = Ledger::read(&path).unwrap();
        assert!(failures(&ledger).is_empty(), "{:?}", failures(&ledger));
        let opens = ledger
            .entries
            .iter()
            .filter(|e| e.action == Action::OpenTicket)
            .count() as u64;
        // Monday 08:00 to 11:00 at about three times the weekly mean of 1 a minute: every
        // arrival is a new ticket (a few hundred), and the rest of the work comes on top.
        assert!((300..800).contains(&opens), "{opens} opened: {summary:?}");
        assert!(summary.actions > opens + opens / 2, "{summary:?}");
        let waits = first_reply_waits(&ledger);
        assert!(
            waits.len() as u64 > opens / 2,
            "{} first replies",
            waits.len()
        );
        medians.push(waits[waits.len().div_ceil(2) - 1]);
    }
    let ratio = medians[1] / medians[0];
    assert!(
        (1.6..2.5).contains(&ratio),
        "median first-reply wait {:.0} s normally, {:.0} s twice as slow: ratio {ratio:.2}",
        medians[0],
        medians[1]
    );
}
