//! The same tickets edited on both sides within a second, round after round, with the real
//! binary against both emulators: every update of the bridge is conditional on the version it
//! last saw, so no edit is overwritten blindly; fields changed on one side only keep that
//! side's value, a field changed on both goes to the later writer (the plan's default rule),
//! every such conflict is stored (`cutover conflicts list|show`), comments end as the union
//! of both sides', nothing flips back and forth once settled, and `cutover verify` is clean.
//!
//! `cutover serve` is stopped while each round's edits are made, so both sides' changes are
//! certainly between the same two passes: the conflicts the test causes are exactly countable.

use std::time::{Duration, Instant};

use cutover_model::RecordKind;
use serde_json::{Value, json};

use crate::bridge::{assert_not_carried_only, read};

/// The bridge these tests run: Zendesk (old) and Freshdesk (new).
type Bridge = crate::bridge::Bridge<cutover_sim::zendesk::App, cutover_sim::freshdesk::App>;

/// Tickets edited on both sides.
const TICKETS: usize = 20;
/// Tickets on the old account (some are closed, and closed tickets take no changes).
const ACCOUNT_TICKETS: usize = 32;
/// Rounds of edits; in the last one both sides edit within the same second or so.
const ROUNDS: usize = 4;

/// Whether both sides edit at once in `round` (the later writer is then whichever platform
/// stamped the later second, and a tie goes to the old side); in the others the new side edits
/// more than a second after the old one, so it is certainly the later writer.
fn at_once(round: usize) -> bool {
    round == ROUNDS - 1
}
/// How long one round may take to settle.
const SETTLE_LIMIT: Duration = Duration::from_secs(60);

const OLD_AUTH: (&str, &str) = ("admin@example.com/token", "sim-token");
const NEW_AUTH: (&str, &str) = ("sim-token", "X");

/// The subject the new side writes in a round: it is written last, so it is the later writer.
fn new_subject(round: usize, n: usize) -> String {
    format!("Round {round} ticket {n}: as the new side wrote it")
}

fn old_subject(round: usize, n: usize) -> String {
    format!("Round {round} ticket {n}: as the old side wrote it")
}

/// A priority only the old side sets (Zendesk's names; the plan maps them onto Freshdesk's).
fn old_priority(round: usize, n: usize) -> &'static str {
    ["low", "normal", "high", "urgent"][(round + n) % 4]
}

/// The status both sides set in a round, alike (Zendesk's name, Freshdesk's number): a field
/// changed on both sides to the same value is no conflict.
fn both_status(round: usize) -> (&'static str, u64) {
    if round.is_multiple_of(2) {
        ("pending", 3)
    } else {
        ("open", 2)
    }
}

/// Tags only the new side sets.
fn new_tags(round: usize) -> Vec<String> {
    vec![format!("round-{round}"), "edited-on-new".to_owned()]
}

async fn send(request: reqwest::RequestBuilder, what: &str) -> Value {
    let answer = request.send().await.unwrap();
    let status = answer.status();
    let body = answer.text().await.unwrap_or_default();
    assert!(status.is_success(), "{what}: {status} {body}");
    serde_json::from_str(&body).unwrap_or(Value::Null)
}

async fn old_ticket(mv: &Bridge, id: &str) -> Value {
    let client = reqwest::Client::new();
    let body = send(
        client
            .get(format!("{}/api/v2/tickets/{id}.json", mv.old.url()))
            .basic_auth(OLD_AUTH.0, Some(OLD_AUTH.1)),
        "read an old ticket",
    )
    .await;
    body["ticket"].clone()
}

async fn new_ticket(mv: &Bridge, id: &str) -> Value {
    let client = reqwest::Client::new();
    send(
        client
            .get(format!("{}/api/v2/tickets/{id}", mv.new.url()))
            .basic_auth(NEW_AUTH.0, Some(NEW_AUTH.1)),
        "read a new ticket",
    )
    .await
}

/// One round of edits: the old side first (subject, priority, status, an internal note), then,
/// more than a second later, the new side (subject, tags, the same status, a private note).
async fn edit_both_sides(mv: &Bridge, pairs: &[(String, String)], round: usize) {
    let client = reqwest::Client::new();
    for (n, (old_id, _)) in pairs.iter().enumerate() {
        send(
            client
                .put(format!("{}/api/v2/tickets/{old_id}.json", mv.old.url()))
                .basic_auth(OLD_AUTH.0, Some(OLD_AUTH.1))
                .json(&json!({ "ticket": {
                    "subject": old_subject(round, n),
                    "priority": old_priority(round, n),
                    "status": both_status(round).0,
                    "comment": { "body": format!("Old side's note, round {round}"), "public": false },
                }})),
            "edit an old ticket",
        )
        .await;
    }
    // Both platforms stamp updates to the second: the new side's edits are the later ones.
    if !at_once(round) {
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    for (n, (_, new_id)) in pairs.iter().enumerate() {
        send(
            client
                .put(format!("{}/api/v2/tickets/{new_id}", mv.new.url()))
                .basic_auth(NEW_AUTH.0, Some(NEW_AUTH.1))
                .json(&json!({
                    "subject": new_subject(round, n),
                    "tags": new_tags(round),
                    "status": both_status(round).1,
                })),
            "edit a new ticket",
        )
        .await;
        send(
            client
                .post(format!("{}/api/v2/tickets/{new_id}/notes", mv.new.url()))
                .basic_auth(NEW_AUTH.0, Some(NEW_AUTH.1))
                .json(
                    &json!({ "body": format!("New side's note, round {round}"), "private": true }),
                ),
            "add a note on the new side",
        )
        .await;
    }
}

/// Waits until every ticket shows the round's outcome on both sides: the new side's subject
/// (the later writer), the old side's priority and the new side's tags (each changed on one
/// side only), and the status both set.
async fn settled(mv: &Bridge, pairs: &[(String, String)], round: usize, log: &std::path::Path) {
    let started = Instant::now();
    loop {
        let mut waiting = Vec::new();
        for (n, (old_id, new_id)) in pairs.iter().enumerate() {
            let (old, new) = (old_ticket(mv, old_id).await, new_ticket(mv, new_id).await);
            // At once, either subject may win; both sides must hold the same one.
            let want = if at_once(round) && old["subject"] == json!(old_subject(round, n)) {
                old_subject(round, n)
            } else {
                new_subject(round, n)
            };
            let tags_of = |t: &Value| {
                let mut tags: Vec<String> = t["tags"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                tags.sort();
                tags
            };
            let mut wanted_tags = new_tags(round);
            wanted_tags.sort();
            if old["subject"] != json!(want)
                || new["subject"] != json!(want)
                || old["priority"] != json!(old_priority(round, n))
                || old["status"] != json!(both_status(round).0)
                || new["status"] != json!(both_status(round).1)
                || tags_of(&old) != wanted_tags
                || tags_of(&new) != wanted_tags
            {
                waiting.push(format!(
                    "ticket {n}: old {} {} {} {:?} / new {} {} {} {:?}",
                    old["subject"],
                    old["priority"],
                    old["status"],
                    tags_of(&old),
                    new["subject"],
                    new["priority"],
                    new["status"],
                    tags_of(&new)
                ));
            }
        }
        if waiting.is_empty() {
            return;
        }
        if started.elapsed() >= SETTLE_LIMIT {
            let (_, conflicts, _) = mv.cutover(&["conflicts", "list", "--json"]).await;
            panic!(
                "round {round} not settled after {SETTLE_LIMIT:?}:\n{}\n--- conflicts\n{conflicts}\n--- serve log\n{}",
                waiting.join("\n"),
                read(log)
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Waits until `cutover sync status` shows a finished pass in both directions.
async fn first_passes_done(mv: &Bridge) {
    let started = Instant::now();
    loop {
        let (_, out, _) = mv.cutover(&["sync", "status", "--json"]).await;
        let status: Value = serde_json::from_str(out.trim()).unwrap_or(Value::Null);
        let directions = status["directions"].as_array().cloned().unwrap_or_default();
        if directions.len() == 2 && directions.iter().all(|d| !d["caught_up_to"].is_null()) {
            return;
        }
        assert!(
            started.elapsed() < SETTLE_LIMIT,
            "the bridge's first passes did not finish: {out}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

async fn conflicts_story(postgres: bool) {
    let mv = Bridge::backfilled_with(postgres, ACCOUNT_TICKETS).await;
    let store = cutover_store::open(&mv.store.parse().unwrap())
        .await
        .unwrap();
    let linked: Vec<(String, String)> = store
        .links(RecordKind::Ticket, None, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|l| (l.link.old_id.to_string(), l.link.new_id.to_string()))
        .collect();
    store.close().await;
    assert_eq!(linked.len(), ACCOUNT_TICKETS);
    // Closed tickets take no more changes on either platform.
    let mut pairs = Vec::new();
    for pair in linked {
        if pairs.len() < TICKETS && old_ticket(&mv, &pair.0).await["status"] != "closed" {
            pairs.push(pair);
        }
    }
    assert_eq!(
        pairs.len(),
        TICKETS,
        "too few tickets open on the old account"
    );

    let mut served = mv.serve(0).await;
    // The first passes read both sides once (every copy unchanged) and keep their versions;
    // on a loaded machine they take longer than any fixed wait.
    first_passes_done(&mv).await;
    for round in 0..ROUNDS {
        served.terminate().await;
        // The edits fall in a later second than the bridge's last write: Freshdesk's
        // conditional write compares update times to the second, so an edit within the same
        // second as the bridge's own write is not seen as a change and is overwritten. That
        // gap is known (issue 13: the check must compare the re-read's content too) and is not
        // what this story tests: both sides' edits within a second of each other.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        edit_both_sides(&mv, &pairs, round).await;
        // Zendesk's export shows a change once its last minute has passed.
        mv.skip_a_minute().await;
        served = mv.serve(round + 1).await;
        settled(&mv, &pairs, round, &served.log).await;
    }

    // No flip-flop: once settled, both sides stand still while the bridge reads on (the old
    // side's own writes of the last round included, once Zendesk's export shows them).
    mv.skip_a_minute().await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let versions = mv.versions().await;
    mv.skip_a_minute().await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        mv.versions().await,
        versions,
        "the bridge wrote again with nothing changed:\n{}",
        read(&served.log)
    );
    mv.expect(0, &["sync", "drain", "--timeout", "180s"]).await;
    served.terminate().await;

    // Every conflict the test caused is stored: the subject of every ticket in every round,
    // decided for the later writer (the new side); nothing changed on one side only is one.
    let listed = mv.expect(0, &["conflicts", "list", "--json"]).await;
    let conflicts: Vec<Value> = listed
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let by_field = |field: &str| conflicts.iter().filter(|c| c["field"] == field).count();
    assert_eq!(by_field("subject"), TICKETS * ROUNDS, "{}", listed);
    assert_eq!(conflicts.len(), TICKETS * ROUNDS, "{listed}");
    for c in &conflicts {
        assert_eq!(c["rule"], "later writer", "{c}");
        assert_eq!(c["kind"], "ticket", "{c}");
        let old = c["old_value"].as_str().unwrap();
        let new = c["new_value"].as_str().unwrap();
        assert!(old.ends_with("as the old side wrote it"), "{c}");
        assert!(new.ends_with("as the new side wrote it"), "{c}");
        let last = old.starts_with(&format!("Round {} ", ROUNDS - 1));
        if !last {
            assert_eq!(c["winner"], "new", "{c}");
        }
    }
    let first = conflicts[0]["id"].to_string();
    let shown: Value =
        serde_json::from_str(&mv.expect(0, &["conflicts", "show", &first, "--json"]).await)
            .unwrap();
    assert_eq!(shown, conflicts[0]);
    let text = mv.expect(0, &["conflicts", "show", &first]).await;
    assert!(text.contains("winner:    the new side"), "{text}");
    let table = mv.expect(0, &["conflicts", "list"]).await;
    assert!(
        table.starts_with(&format!("{} conflict(s)", TICKETS * ROUNDS)),
        "{table}"
    );
    mv.expect(3, &["conflicts", "show", "999999"]).await;

    // Comments are the union: every note of both sides is on both sides (verify compares
    // each ticket's comments through their links), and nothing differs.
    mv.skip_a_minute().await;
    let (code, stdout, stderr) = mv.cutover(&["verify", "--json"]).await;
    let report: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("verify printed no JSON ({e}):\n{stdout}\n{stderr}"));
    assert_not_carried_only(&report);
    assert!(code == 0 || code == 1, "verify failed:\n{stderr}");
    let comments = &report["kinds"]["comment"];
    assert!(
        comments["matched"].as_u64().unwrap_or(0) >= (TICKETS * ROUNDS * 2) as u64,
        "{comments:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tickets_edited_on_both_sides_settle_by_rule_on_sqlite() {
    conflicts_story(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tickets_edited_on_both_sides_settle_by_rule_on_postgres() {
    conflicts_story(true).await;
}

/// A ticket deleted on the new side while it changed on the old side: a delete wins. The old
/// side's change is not written anywhere, the old ticket is deleted too, its link marked, and
/// the conflict stored with the rule.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_delete_on_one_side_wins_over_a_change_on_the_other() {
    let mv = Bridge::backfilled_with(false, 6).await;
    let store = cutover_store::open(&mv.store.parse().unwrap())
        .await
        .unwrap();
    let mut pair = None;
    for stored in store.links(RecordKind::Ticket, None, 100).await.unwrap() {
        let link = stored.link;
        if old_ticket(&mv, link.old_id.as_str()).await["status"] != "closed" {
            pair = Some(link);
            break;
        }
    }
    let link = pair.expect("an open ticket");
    let served = mv.serve(0).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    served.terminate().await;

    let client = reqwest::Client::new();
    send(
        client
            .put(format!(
                "{}/api/v2/tickets/{}.json",
                mv.old.url(),
                link.old_id
            ))
            .basic_auth(OLD_AUTH.0, Some(OLD_AUTH.1))
            .json(&json!({ "ticket": { "subject": "Changed on the old side" } })),
        "edit the old ticket",
    )
    .await;
    send(
        client
            .delete(format!("{}/api/v2/tickets/{}", mv.new.url(), link.new_id))
            .basic_auth(NEW_AUTH.0, Some(NEW_AUTH.1)),
        "delete the new ticket",
    )
    .await;
    mv.skip_a_minute().await;
    let served = mv.serve(1).await;
    let started = Instant::now();
    loop {
        let answer = client
            .get(format!(
                "{}/api/v2/tickets/{}.json",
                mv.old.url(),
                link.old_id
            ))
            .basic_auth(OLD_AUTH.0, Some(OLD_AUTH.1))
            .send()
            .await
            .unwrap();
        let status = answer.status().as_u16();
        let body: Value = answer.json().await.unwrap_or(Value::Null);
        if status == 404 || body["ticket"]["status"] == "deleted" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the old ticket is still there: {status} {body}\n{}",
            read(&served.log)
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    served.terminate().await;
    let marked = store
        .find_link(RecordKind::Ticket, cutover_model::Side::Old, &link.old_id)
        .await
        .unwrap()
        .unwrap()
        .link;
    assert_eq!(marked.old_version.as_deref(), Some("deleted"));
    assert_eq!(marked.new_version.as_deref(), Some("deleted"));
    store.close().await;
    let listed = mv.expect(0, &["conflicts", "list", "--json"]).await;
    let conflicts: Vec<Value> = listed
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(conflicts.len(), 1, "{listed}");
    let c = &conflicts[0];
    assert_eq!(c["field"], "record", "{c}");
    assert_eq!(c["rule"], "a delete wins", "{c}");
    assert_eq!(c["winner"], "new", "{c}");
    assert_eq!(c["old_value"], "present", "{c}");
    assert_eq!(c["new_value"], "deleted", "{c}");
    // Nothing is made again on either side.
    let tickets = (mv.counts(&mv.old).await, mv.counts(&mv.new).await);
    assert_eq!(tickets.0["tickets"], tickets.1["tickets"], "{tickets:?}");
}
