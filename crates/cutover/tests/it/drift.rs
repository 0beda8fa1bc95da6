//! Drift repaired (issue 13, item 8): changes no feed shows and no webhook names (made on the old
//! Zendesk at a time its incremental export has already read past) are missed by the bridge's
//! passes; the full verify `cutover serve` runs on the plan's schedule (`[sync] verify_every`)
//! finds them, names them to the bridge, which carries them, and `cutover sync status` counts
//! them repaired. The rolling re-check (`[sync] recheck_every`) finds such drift on a record
//! changed lately within seconds, with the full verify a week away.

use std::time::{Duration, Instant};

use cutover_model::RecordKind;
use serde_json::{Value, json};

use crate::bridge::read;

/// Zendesk (old) to Freshdesk (new).
type Bridge = crate::bridge::Bridge<cutover_sim::zendesk::App, cutover_sim::freshdesk::App>;

const OLD_AUTH: (&str, &str) = ("admin@example.com/token", "sim-token");
const NEW_AUTH: (&str, &str) = ("sim-token", "X");
const CHANGED: &str = "Changed at a time the export had read past";
const OPENED: &str = "Opened at a time the export had read past";
const SEEN: &str = "Changed where the export shows it";

async fn send(request: reqwest::RequestBuilder, what: &str) -> Value {
    let answer = request.send().await.unwrap();
    let status = answer.status();
    let body = answer.text().await.unwrap_or_default();
    assert!(status.is_success(), "{what}: {status} {body}");
    serde_json::from_str(&body).unwrap_or(Value::Null)
}

async fn move_clock(url: &str, seconds: i64) {
    send(
        reqwest::Client::new()
            .post(format!("{url}/_sim/clock"))
            .json(&json!({ "advance_seconds": seconds })),
        "move the clock",
    )
    .await;
}

/// Every subject on the new side.
async fn new_subjects(mv: &Bridge) -> Vec<String> {
    let tickets = send(
        reqwest::Client::new()
            .get(format!(
                "{}/api/v2/tickets?per_page=100&updated_since=2000-01-01T00:00:00Z",
                mv.new.url()
            ))
            .basic_auth(NEW_AUTH.0, Some(NEW_AUTH.1)),
        "list the new side's tickets",
    )
    .await;
    tickets
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["subject"].as_str().map(str::to_owned))
        .collect()
}

fn set_verify_every(plan: &std::path::Path, was: &str, every: &str) {
    let text = std::fs::read_to_string(plan).unwrap();
    let edited = text.replace(
        &format!("verify_every = \"{was}\""),
        &format!("verify_every = \"{every}\""),
    );
    assert_ne!(text, edited, "the plan has no verify_every line:\n{text}");
    std::fs::write(plan, edited).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn drift_no_feed_shows_is_found_by_the_scheduled_verify_and_repaired() {
    drift_story(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn drift_no_feed_shows_is_repaired_on_postgres() {
    drift_story(true).await;
}

async fn drift_story(postgres: bool) {
    let mv = Bridge::backfilled_with(postgres, 10).await;
    let plan = mv.dir.path().join("cutover.toml");
    let store = cutover_store::open(&mv.store.parse().unwrap())
        .await
        .unwrap();
    let linked: Vec<String> = store
        .links(RecordKind::Ticket, None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.link.old_id.to_string())
        .collect();
    store.close().await;
    let (old_id, seen_id) = (&linked[0], &linked[1]);

    // First without the scheduled verify. Ten minutes on, a change the export shows moves its
    // position there.
    let served = mv.serve(0).await;
    move_clock(mv.old.url(), 600).await;
    let client = reqwest::Client::new();
    send(
        client
            .put(format!("{}/api/v2/tickets/{seen_id}.json", mv.old.url()))
            .basic_auth(OLD_AUTH.0, Some(OLD_AUTH.1))
            .json(&json!({ "ticket": { "subject": SEEN } })),
        "change a ticket the export shows",
    )
    .await;
    // Zendesk's export leaves out its last minute.
    move_clock(mv.old.url(), 61).await;
    let started = Instant::now();
    loop {
        if new_subjects(&mv).await.iter().any(|s| s == SEEN) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "a change the export shows was not carried:\n{}",
            read(&served.log)
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Five minutes back, where the export has read past: a ticket changed, one opened (by a
    // new customer).
    move_clock(mv.old.url(), -300).await;
    send(
        client
            .put(format!("{}/api/v2/tickets/{old_id}.json", mv.old.url()))
            .basic_auth(OLD_AUTH.0, Some(OLD_AUTH.1))
            .json(&json!({ "ticket": { "subject": CHANGED } })),
        "change a ticket",
    )
    .await;
    send(
        client
            .post(format!("{}/api/v2/tickets.json", mv.old.url()))
            .basic_auth(OLD_AUTH.0, Some(OLD_AUTH.1))
            .json(&json!({ "ticket": {
                "subject": OPENED,
                "comment": { "body": "Nobody's feed shows this." },
                "requester": { "name": "Drift Customer", "email": "drift.customer@example.com" }
            }})),
        "open a ticket",
    )
    .await;
    move_clock(mv.old.url(), 301).await;
    // The bridge's passes miss them.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let subjects = new_subjects(&mv).await;
    assert!(
        !subjects.iter().any(|s| s == CHANGED || s == OPENED),
        "a feed showed the change after all, so this test proves nothing: {subjects:?}"
    );
    served.terminate().await;

    // With the scheduled verify every 3 s, both are found, named and carried.
    set_verify_every(&plan, "7d", "3s");
    let served = mv.serve(1).await;
    let started = Instant::now();
    loop {
        let subjects = new_subjects(&mv).await;
        if subjects.iter().any(|s| s == CHANGED) && subjects.iter().any(|s| s == OPENED) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "not repaired within 90 s: {subjects:?}\n{}",
            read(&served.log)
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // A later run finds them no more: counted repaired.
    let started = Instant::now();
    let status = loop {
        let status = mv.expect(0, &["sync", "status"]).await;
        let line = status
            .lines()
            .find(|l| l.starts_with("scheduled verify:"))
            .unwrap_or_default()
            .to_owned();
        let in_all: u64 = line
            .rsplit_once('(')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        // The ticket changed, the ticket opened and its new requester.
        if in_all >= 3 {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "drift not counted repaired:\n{status}\n{}",
            read(&served.log)
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(status.contains("scheduled verify:"), "{status}");
    served.terminate().await;

    // Its outcome is kept for the waves' `verify_clean` gate, tied to the plan it ran with.
    let gates: serde_json::Value =
        serde_json::from_str(&mv.expect(0, &["gates", "1", "--json"]).await).unwrap();
    let verify = gates["waves"][0]["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "verify_clean")
        .unwrap()
        .clone();
    assert_eq!(verify["values"]["by"], "schedule", "{verify}");
    let digest = cutover_runtime::plan_digest(&std::fs::read_to_string(&plan).unwrap());
    assert_eq!(verify["values"]["plan_digest"], digest, "{verify}");
}

/// Sets a `[sync]` key the generated plan does not write, after `verify_every`.
fn set_sync_key(plan: &std::path::Path, key: &str, value: &str) {
    let text = std::fs::read_to_string(plan).unwrap();
    let (head, tail) = text
        .split_once("verify_every = ")
        .expect("the plan has a verify_every line");
    let (verify_line, rest) = tail.split_once('\n').unwrap_or((tail, ""));
    let rest: String = rest
        .lines()
        .filter(|l| !l.starts_with(&format!("{key} = ")))
        .map(|l| format!("{l}\n"))
        .collect();
    let edited = format!("{head}verify_every = {verify_line}\n{key} = \"{value}\"\n{rest}");
    std::fs::write(plan, edited).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn drift_on_a_record_changed_lately_is_found_by_the_rolling_recheck() {
    recheck_story(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn drift_on_a_record_changed_lately_is_rechecked_on_postgres() {
    recheck_story(true).await;
}

/// The re-check's part of `sync status --json`.
async fn recheck_status(mv: &Bridge) -> Value {
    let status = mv.expect(0, &["sync", "status", "--json"]).await;
    let status: Value = serde_json::from_str(status.trim()).unwrap();
    status["recheck"].clone()
}

#[expect(
    clippy::print_stderr,
    reason = "the time to repair, which the README quotes"
)]
async fn recheck_story(postgres: bool) {
    let mv = Bridge::backfilled_with(postgres, 10).await;
    let plan = mv.dir.path().join("cutover.toml");
    let store = cutover_store::open(&mv.store.parse().unwrap())
        .await
        .unwrap();
    let linked: Vec<String> = store
        .links(RecordKind::Ticket, None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.link.old_id.to_string())
        .collect();
    store.close().await;
    let (old_id, seen_id) = (&linked[0], &linked[1]);

    // The bridge first, with no re-check for the next hour and no full verify for a week. A
    // change the export shows moves its position ten minutes on.
    set_sync_key(&plan, "recheck_every", "1h");
    let served = mv.serve(0).await;
    move_clock(mv.old.url(), 600).await;
    let client = reqwest::Client::new();
    send(
        client
            .put(format!("{}/api/v2/tickets/{seen_id}.json", mv.old.url()))
            .basic_auth(OLD_AUTH.0, Some(OLD_AUTH.1))
            .json(&json!({ "ticket": { "subject": SEEN } })),
        "change a ticket the export shows",
    )
    .await;
    move_clock(mv.old.url(), 61).await;
    let started = Instant::now();
    while !new_subjects(&mv).await.iter().any(|s| s == SEEN) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "a change the export shows was not carried:\n{}",
            read(&served.log)
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // A ticket the backfill wrote minutes ago changes five minutes back, where the export has
    // read past: the bridge's passes miss it.
    move_clock(mv.old.url(), -300).await;
    send(
        client
            .put(format!("{}/api/v2/tickets/{old_id}.json", mv.old.url()))
            .basic_auth(OLD_AUTH.0, Some(OLD_AUTH.1))
            .json(&json!({ "ticket": { "subject": CHANGED } })),
        "change a ticket",
    )
    .await;
    move_clock(mv.old.url(), 301).await;
    tokio::time::sleep(Duration::from_secs(8)).await;
    let subjects = new_subjects(&mv).await;
    assert!(
        !subjects.iter().any(|s| s == CHANGED),
        "a feed showed the change after all, so this test proves nothing: {subjects:?}"
    );
    assert_eq!(
        recheck_status(&mv).await,
        Value::Null,
        "no re-check ran yet"
    );
    served.terminate().await;

    // The re-check every 2 s (the full verify still a week away): found, named and carried
    // within seconds.
    set_sync_key(&plan, "recheck_every", "2s");
    set_sync_key(&plan, "recheck_window", "1h");
    let served = mv.serve(1).await;
    let started = Instant::now();
    while !new_subjects(&mv).await.iter().any(|s| s == CHANGED) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "not repaired within 30 s:\n{}",
            read(&served.log)
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let repaired_after = started.elapsed();
    // A later run finds it equal: counted repaired, in the store and on /metrics.
    let started = Instant::now();
    let recheck = loop {
        let recheck = recheck_status(&mv).await;
        if recheck["repaired_total"].as_u64().unwrap_or(0) >= 1 {
            break recheck;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "drift not counted repaired: {recheck:#}\n{}",
            read(&served.log)
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    eprintln!("repaired {repaired_after:?} after serve started; re-check: {recheck}");
    assert!(recheck["drift_total"].as_u64().unwrap() >= 1, "{recheck:#}");
    assert!(
        recheck["rechecked_total"].as_u64().unwrap() >= 1,
        "{recheck:#}"
    );
    assert!(recheck["error"].is_null(), "{recheck:#}");
    let status = mv.expect(0, &["sync", "status", "--json"]).await;
    let status: Value = serde_json::from_str(status.trim()).unwrap();
    assert!(
        status["scheduled_verify"].is_null(),
        "the full verify ran: {status:#}"
    );
    let human = mv.expect(0, &["sync", "status"]).await;
    assert!(human.contains("rolling re-check: "), "{human}");
    let metrics = reqwest::get(format!("{}/metrics", served.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let counter = |name: &str| -> u64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in:\n{metrics}"))
    };
    assert!(counter("cutover_sync_rechecked_total") >= 1, "{metrics}");
    assert!(
        counter("cutover_sync_recheck_drift_total") >= 1,
        "{metrics}"
    );
    assert!(
        counter("cutover_sync_recheck_repaired_total") >= 1,
        "{metrics}"
    );
    served.terminate().await;
}
