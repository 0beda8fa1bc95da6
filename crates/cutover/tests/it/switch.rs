//! Switching a wave forward and back with the real binary, both emulators and the bridge
//! running in `cutover serve`: `cutover wave start` holds, drains, flips and releases;
//! `cutover rollback` flips routing back within a second and reports every ticket the new side
//! took during the wave, each read back on the old side; a switch whose drain cannot finish
//! aborts itself and leaves routing on the old side; a `cutover serve` killed mid-switch is
//! restarted and finishes the switch from the journal.

use std::time::Duration;

use cutover_runtime::switch::{Step, Switch};
use cutover_runtime::{RoutingState, WavePhase};
use cutover_sim::{freshdesk, zendesk};
use serde_json::{Value, json};

use crate::bridge::{Bridge, Platform};

/// The first wave `cutover init` writes.
const PILOT: &str = "pilot";

/// Opens a ticket on the platform at `url` as a customer would, by its own API; its id.
async fn open_ticket<A: Platform>(url: &str, subject: &str) -> String {
    let client = reqwest::Client::new();
    if A::NAME == "zendesk" {
        let answer: Value = client
            .post(format!("{url}/api/v2/tickets.json"))
            .basic_auth("admin@example.com/token", Some("sim-token"))
            .json(&json!({ "ticket": {
                "subject": subject,
                "comment": { "body": "Opened while the wave was on the new side." },
                "requester": { "name": "Wave Customer", "email": "wave.customer@example.com" }
            }}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["ticket"]["id"].to_string()
    } else {
        let answer: Value = client
            .post(format!("{url}/api/v2/tickets"))
            .basic_auth("sim-token", Some("X"))
            .json(&json!({
                "subject": subject,
                "description": "Opened while the wave was on the new side.",
                "email": "wave.customer@example.com",
                "status": 2,
                "priority": 1
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["id"].to_string()
    }
}

/// The wave's phase, as the store holds it.
async fn phase<O: Platform, N: Platform>(mv: &Bridge<O, N>, wave: &str) -> WavePhase {
    let store = cutover_store::open(&mv.store.parse().unwrap())
        .await
        .unwrap();
    let phase = RoutingState::load(store.as_ref())
        .await
        .unwrap()
        .phase(wave);
    store.close().await;
    phase
}

/// The switch journal, as the store holds it.
async fn journal<O: Platform, N: Platform>(mv: &Bridge<O, N>) -> Option<Switch> {
    let store = cutover_store::open(&mv.store.parse().unwrap())
        .await
        .unwrap();
    let switch = Switch::load(store.as_ref()).await.unwrap();
    store.close().await;
    switch
}

/// Waits until the bridge finished a pass each way.
pub(crate) async fn bridge_ready<O: Platform, N: Platform>(mv: &Bridge<O, N>) {
    for _ in 0..120 {
        let (_, out, _) = mv.cutover(&["sync", "status", "--json"]).await;
        let status: Value = serde_json::from_str(&out).unwrap_or(Value::Null);
        let ready = status["directions"]
            .as_array()
            .is_some_and(|d| d.len() == 2 && d.iter().all(|s| !s["caught_up_to"].is_null()));
        if ready {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("the bridge made no pass each way in 30 s");
}

/// What a user does before `wave start`, as the gates ask (`cutover gates` names each step): a
/// clean verification, a rollback drill with this plan (or, with `drill` false, the drill gate
/// taken out of the plan, as a team that does not want one would), and the sign-off of the
/// person the wave's gates name. A sign-off counts until the wave next changes phase, so each
/// start after a rollback or an abort signs again.
async fn ready_to_start<O: Platform, N: Platform>(mv: &Bridge<O, N>, drill: bool) {
    if drill {
        if std::fs::read_to_string(mv.dir.path().join("cutover.toml"))
            .unwrap()
            .contains("rollback_drill = true")
        {
            mv.expect(0, &["drill", "--wave", PILOT]).await;
        }
    } else {
        let plan = mv.dir.path().join("cutover.toml");
        let text = std::fs::read_to_string(&plan).unwrap();
        std::fs::write(
            &plan,
            text.replacen("rollback_drill = true", "rollback_drill = false", 1),
        )
        .unwrap();
    }
    mv.expect(0, &["verify"]).await;
    let (code, out, err) = mv
        .cutover(&["go", "--wave", PILOT, "--as", "ops-lead"])
        .await;
    assert_eq!(
        code, 0,
        "the wave is not ready after verify, drill and sign-off:\n{out}\n{err}"
    );
}

/// `wave start`, a ticket opened on the new side while the wave is there, `rollback`.
/// With `words`, a second round checks what people read (left out where the new side is a
/// Zendesk: each rollback's reverse drain waits out its export's last minute).
async fn forward_and_back<O: Platform, N: Platform>(postgres: bool, words: bool) {
    let mv = Bridge::<O, N>::backfilled_with(postgres, 3).await;
    let served = mv.serve(0).await;
    bridge_ready(&mv).await;
    assert_eq!(phase(&mv, PILOT).await, WavePhase::Old);
    // Not ready: the refusal names what is missing and what to run.
    let (code, _, err) = mv.cutover(&["wave", "start", "1"]).await;
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("gates do not hold") && err.contains("cutover go --wave 1"),
        "{err}"
    );
    assert_eq!(phase(&mv, PILOT).await, WavePhase::Old);
    ready_to_start(&mv, !postgres).await;

    let out = mv
        .expect(0, &["wave", "start", "1", "--as", "alice", "--json"])
        .await;
    let done: Switch = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(done.step, Step::Done, "{out}");
    let steps: Vec<Step> = done.history.iter().map(|e| e.step).collect();
    assert_eq!(
        steps,
        [
            Step::Requested,
            Step::Holding,
            Step::Draining,
            Step::Flipped,
            Step::Moving,
            Step::Done
        ],
        "{out}"
    );
    assert!(done.high_water.is_some() && done.reverse_from == done.high_water);
    assert_eq!(phase(&mv, PILOT).await, WavePhase::New);

    let taken = open_ticket::<N>(mv.new.url(), "Taken by the new side").await;

    let out = mv.expect(0, &["rollback", "--as", "alice", "--json"]).await;
    let report: Value = serde_json::from_str(out.trim()).unwrap();
    let flip_ms = report["routing_flip_ms"].as_u64().unwrap();
    assert!(flip_ms <= 1000, "routing flipped back in {flip_ms} ms");
    assert_eq!(report["reverse_drained"], true, "{report:#}");
    let contacts = report["contacts"].as_array().unwrap();
    let found = contacts
        .iter()
        .find(|c| c["new_id"].as_str() == Some(taken.as_str()))
        .unwrap_or_else(|| panic!("ticket {taken} is not in the report: {report:#}"));
    assert_eq!(found["on_old"], true, "{report:#}");
    assert_eq!(found["old_read"], "Taken by the new side", "{report:#}");
    assert_eq!(phase(&mv, PILOT).await, WavePhase::Old);

    if !words {
        mv.expect(0, &["audit", "verify"]).await;
        served.terminate().await;
        return;
    }
    // The words people read.
    ready_to_start(&mv, true).await;
    let (code, out, err) = mv.cutover(&["wave", "start", "1"]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("draining"), "{out}");
    let (code, out, err) = mv.cutover(&["rollback", PILOT]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("routing is back on the old side"), "{out}");
    assert!(
        out.contains("contact(s) the new side took during the wave"),
        "{out}"
    );
    mv.expect(0, &["audit", "verify"]).await;
    served.terminate().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wave_start_then_rollback_on_sqlite() {
    forward_and_back::<freshdesk::App, freshdesk::App>(false, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wave_start_then_rollback_on_postgres() {
    forward_and_back::<freshdesk::App, zendesk::App>(true, false).await;
}

/// Sets `[sync] switch_timeout` in the plan.
fn set_switch_timeout(plan: &std::path::Path, timeout: &str) {
    let text = std::fs::read_to_string(plan).unwrap();
    let edited = text.replacen(
        "switch_timeout = \"30s\"",
        &format!("switch_timeout = \"{timeout}\""),
        1,
    );
    assert_ne!(text, edited, "the plan has no switch_timeout line:\n{text}");
    std::fs::write(plan, edited).unwrap();
}

/// Every request to the old emulator fails: the forward bridge cannot drain.
async fn break_old<O: Platform, N: Platform>(mv: &Bridge<O, N>, broken: bool) {
    let client = reqwest::Client::new();
    let url = format!("{}/_sim/faults", mv.old.url());
    let answer = if broken {
        let faults = json!({ "error_rate": 1.0, "error_burst": 1000000, "error_status": 503 });
        client.put(url).json(&faults).send().await.unwrap()
    } else {
        client.delete(url).send().await.unwrap()
    };
    assert!(answer.status().is_success(), "{:?}", answer.text().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_switch_that_cannot_drain_aborts_and_leaves_routing_old() {
    let mv = Bridge::<freshdesk::App, freshdesk::App>::backfilled_with(false, 2).await;
    set_switch_timeout(&mv.dir.path().join("cutover.toml"), "2s");
    let served = mv.serve(0).await;
    bridge_ready(&mv).await;
    ready_to_start(&mv, true).await;
    break_old(&mv, true).await;
    let started = std::time::Instant::now();
    let (code, out, err) = mv.cutover(&["wave", "start", PILOT]).await;
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains("aborted"), "{out}");
    assert!(out.contains("switch_timeout"), "{out}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(phase(&mv, PILOT).await, WavePhase::Old);
    let switch = journal(&mv).await.unwrap();
    assert_eq!(switch.step, Step::Aborted);
    assert!(
        switch.history.iter().any(|e| e.step == Step::Holding),
        "the contacts were held first: {switch:?}"
    );
    // Once the old side is back, the wave starts (signed off again: its phase changed).
    break_old(&mv, false).await;
    ready_to_start(&mv, true).await;
    mv.expect(0, &["wave", "start", PILOT]).await;
    assert_eq!(phase(&mv, PILOT).await, WavePhase::New);
    served.terminate().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_killed_mid_switch_resumes_from_the_journal() {
    let mv = Bridge::<freshdesk::App, freshdesk::App>::backfilled_with(false, 2).await;
    set_switch_timeout(&mv.dir.path().join("cutover.toml"), "60s");
    let served = mv.serve(0).await;
    bridge_ready(&mv).await;
    ready_to_start(&mv, true).await;
    // The old side fails for now: the switch holds and drains, and cannot finish.
    break_old(&mv, true).await;
    let mut start = mv.command(&["wave", "start", PILOT, "--follow", "1s"]);
    let started = start.output().await.unwrap();
    assert_eq!(started.status.code(), Some(1), "{started:?}");
    for _ in 0..100 {
        if journal(&mv).await.is_some_and(|s| s.step == Step::Draining) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(journal(&mv).await.unwrap().step, Step::Draining);
    assert_eq!(phase(&mv, PILOT).await, WavePhase::Holding);
    served.kill().await;
    // Still holding with nobody driving; then the old side comes back and serve restarts.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(phase(&mv, PILOT).await, WavePhase::Holding);
    break_old(&mv, false).await;
    let served = mv.serve(1).await;
    let mut last = None;
    for _ in 0..300 {
        let switch = journal(&mv).await.unwrap();
        if switch.step.is_final() {
            last = Some(switch);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let switch = last.expect("the restarted serve did not finish the switch in 30 s");
    assert_eq!(switch.step, Step::Done, "{switch:?}");
    assert_eq!(phase(&mv, PILOT).await, WavePhase::New);
    served.terminate().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drill_records_a_passing_rehearsal_for_the_plan() {
    let mv = Bridge::<freshdesk::App, freshdesk::App>::backfilled_with(false, 1).await;
    let out = mv.expect(0, &["drill", "--wave", PILOT, "--json"]).await;
    let printed: cutover_runtime::DrillRecord = serde_json::from_str(out.trim()).unwrap();
    assert!(printed.passed, "{printed:?}");
    assert!(printed.routing_flip_ms <= 1000, "{printed:?}");
    let store = cutover_store::open(&mv.store.parse().unwrap())
        .await
        .unwrap();
    let stored = cutover_runtime::DrillRecord::load(store.as_ref())
        .await
        .unwrap()
        .expect("no drill record in the store");
    let plan = std::fs::read_to_string(mv.dir.path().join("cutover.toml")).unwrap();
    assert_eq!(stored, printed);
    assert_eq!(stored.plan_digest, cutover_runtime::plan_digest(&plan));
    let audit = store.audit_entries(0, 1000).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "drill"), "{audit:?}");
    // The drill ran against its own emulators and store: this store's routing is untouched.
    assert_eq!(
        RoutingState::load(store.as_ref())
            .await
            .unwrap()
            .phase(PILOT),
        WavePhase::Old
    );
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drill_from_zendesk_waits_out_the_export_minute() {
    let mv = Bridge::<zendesk::App, freshdesk::App>::backfilled_with(false, 1).await;
    let out = mv.expect(0, &["drill", "--wave", PILOT, "--json"]).await;
    let printed: cutover_runtime::DrillRecord = serde_json::from_str(out.trim()).unwrap();
    assert!(printed.passed, "{printed:?}");
}

/// The names of the pilot wave's groups, as `cutover init` wrote them into the plan (empty for
/// `"all"`).
fn pilot_groups(plan: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(plan).unwrap();
    let after = text.split("name = \"pilot\"").nth(1).unwrap();
    let line = after
        .lines()
        .find(|l| l.trim_start().starts_with("groups = "))
        .unwrap();
    let list = line.trim_start().trim_start_matches("groups = ");
    let list = list.split('#').next().unwrap().trim();
    if list == "\"all\"" {
        return Vec::new();
    }
    serde_json::from_str(list).unwrap_or_else(|e| panic!("groups {list}: {e}"))
}

/// Adds `kind` to the plan's `[copy] kinds`.
fn copy_also(plan: &std::path::Path, kind: &str) {
    let text = std::fs::read_to_string(plan).unwrap();
    let edited = text.replacen("kinds = [", &format!("kinds = [\"{kind}\", "), 1);
    assert_ne!(text, edited);
    std::fs::write(plan, edited).unwrap();
}

/// An emulator's API, as its admin.
fn api<A: Platform>(url: &str, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
    let client = reqwest::Client::new();
    if A::NAME == "zendesk" {
        client
            .request(method, format!("{url}/api/v2/{path}"))
            .basic_auth("admin@example.com/token", Some("sim-token"))
    } else {
        client
            .request(method, format!("{url}/api/v2/{path}"))
            .basic_auth("sim-token", Some("X"))
    }
}

async fn get_json<A: Platform>(url: &str, path: &str) -> Value {
    let answer = api::<A>(url, reqwest::Method::GET, path)
        .send()
        .await
        .unwrap();
    assert!(
        answer.status().is_success(),
        "GET {path}: {}",
        answer.status()
    );
    answer.json().await.unwrap()
}

/// The id of the group called `name`.
async fn group_id<A: Platform>(url: &str, name: &str) -> u64 {
    let groups = if A::NAME == "zendesk" {
        get_json::<A>(url, "groups.json?per_page=100").await["groups"].clone()
    } else {
        get_json::<A>(url, "groups?per_page=100").await
    };
    groups
        .as_array()
        .unwrap()
        .iter()
        .find(|g| {
            g["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
        .and_then(|g| g["id"].as_u64())
        .unwrap_or_else(|| panic!("no group {name} at {url}: {groups}"))
}

/// The name of the first group that has agents (for a wave of `groups = "all"`).
async fn first_group_with_members<A: Platform>(url: &str) -> String {
    let groups = if A::NAME == "zendesk" {
        get_json::<A>(url, "groups.json?per_page=100").await["groups"].clone()
    } else {
        get_json::<A>(url, "groups?per_page=100").await
    };
    for group in groups.as_array().unwrap() {
        if !members::<A>(url, group["id"].as_u64().unwrap())
            .await
            .is_empty()
        {
            return group["name"].as_str().unwrap().to_owned();
        }
    }
    panic!("no group with agents at {url}: {groups}");
}

/// The e-mails of the agents in group `group`.
async fn members<A: Platform>(url: &str, group: u64) -> std::collections::BTreeSet<String> {
    if A::NAME == "zendesk" {
        let list = get_json::<A>(url, &format!("groups/{group}/memberships.json")).await;
        let mut emails = std::collections::BTreeSet::new();
        for m in list["group_memberships"].as_array().unwrap() {
            let user = get_json::<A>(url, &format!("users/{}.json", m["user_id"])).await;
            emails.insert(user["user"]["email"].as_str().unwrap().to_lowercase());
        }
        return emails;
    }
    let agents = get_json::<A>(url, "agents?per_page=100").await;
    agents
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| {
            a["group_ids"]
                .as_array()
                .is_some_and(|ids| ids.iter().any(|id| id.as_u64() == Some(group)))
        })
        .filter_map(|a| a["contact"]["email"].as_str().map(str::to_lowercase))
        .collect()
}

/// Creates, switched on, a rule called `name` that routes new high-priority tickets to `group`
/// (Zendesk: a trigger; Freshdesk: an automation rule on ticket creation).
async fn create_routing_rule<A: Platform>(url: &str, name: &str, group: u64) {
    let (path, body) = if A::NAME == "zendesk" {
        (
            "triggers.json",
            json!({ "trigger": { "title": name, "active": true,
                "conditions": { "all": [
                    { "field": "update_type", "operator": "is", "value": "Create" },
                    { "field": "priority", "operator": "is", "value": "high" }], "any": [] },
                "actions": [{ "field": "group_id", "value": group.to_string() }] } }),
        )
    } else {
        (
            "automations/1/rules",
            json!({ "name": name, "active": true,
                "conditions": [{ "name": "condition_set_1", "match_type": "all", "properties": [
                    { "resource_type": "ticket", "field_name": "priority", "operator": "in",
                      "value": [3] }] }],
                "actions": [{ "field_name": "group_id", "value": group }] }),
        )
    };
    let created = api::<A>(url, reqwest::Method::POST, path)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "{:?}", created.text().await);
}

/// Whether the rule called `name` is active; `None` when there is none.
async fn rule_active<A: Platform>(url: &str, name: &str) -> Option<bool> {
    let rules: Vec<Value> = if A::NAME == "zendesk" {
        let mut all = Vec::new();
        for (path, key) in [
            ("triggers.json", "triggers"),
            ("automations.json", "automations"),
        ] {
            let list = get_json::<A>(url, path).await;
            all.extend(list[key].as_array().unwrap().iter().cloned());
        }
        all
    } else {
        let mut all = Vec::new();
        for rule_type in [1, 3, 4] {
            let list =
                get_json::<A>(url, &format!("automations/{rule_type}/rules?per_page=100")).await;
            all.extend(list.as_array().unwrap().iter().cloned());
        }
        all
    };
    rules
        .iter()
        .find(|r| r["name"] == name || r["title"] == name)
        .map(|r| r["active"].as_bool().unwrap())
}

/// `wave start` moves the pilot's agents (members of its groups' copies on the new side, no
/// longer in its groups on the old) and its rules (the copy on, the original off); `rollback`
/// puts both back as they were.
async fn moves_agents_and_rules<O: Platform, N: Platform>() {
    let mv = Bridge::<O, N>::backfilled_with(false, 1).await;
    let plan = mv.dir.path().join("cutover.toml");
    let (old, new) = (mv.old.url().to_owned(), mv.new.url().to_owned());
    let group = match pilot_groups(&plan).into_iter().next() {
        Some(group) => group,
        None => first_group_with_members::<O>(&old).await,
    };
    let old_group = group_id::<O>(&old, &group).await;
    let new_group = group_id::<N>(&new, &group).await;
    let old_members = members::<O>(&old, old_group).await;
    assert!(!old_members.is_empty(), "group {group} has no agents");
    let new_members = members::<N>(&new, new_group).await;
    // A rule that routes work to the pilot's group, copied (switched off) by a backfill.
    let rule = "Route to the pilot group";
    create_routing_rule::<O>(&old, rule, old_group).await;
    copy_also(&plan, "automation");
    mv.skip_a_minute().await;
    mv.expect(0, &["backfill", "--notifications-off", "--json"])
        .await;
    assert_eq!(rule_active::<N>(&new, rule).await, Some(false));

    let served = mv.serve(0).await;
    bridge_ready(&mv).await;
    ready_to_start(&mv, true).await;
    let out = mv
        .expect(0, &["wave", "start", PILOT, "--as", "alice", "--json"])
        .await;
    let done: Switch = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(done.step, Step::Done, "{out}");
    assert!(done.moves_planned && !done.changes.is_empty(), "{out}");
    // The agents: members of the copy of the group on the new side, gone from it on the old.
    let moved = members::<N>(&new, new_group).await;
    assert!(
        moved.is_superset(&old_members),
        "{moved:?} ⊉ {old_members:?}"
    );
    assert!(members::<O>(&old, old_group).await.is_empty());
    // The rule: on on the new side, off on the old.
    assert_eq!(rule_active::<N>(&new, rule).await, Some(true), "{out}");
    assert_eq!(rule_active::<O>(&old, rule).await, Some(false), "{out}");
    // The bridge (polling every second) leaves the switch as it is: it carries no rule's
    // switch (copies are written off, and levelled on it).
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(rule_active::<N>(&new, rule).await, Some(true));
    assert_eq!(members::<N>(&new, new_group).await, moved);

    mv.expect(0, &["rollback", "--as", "alice", "--json"]).await;
    assert_eq!(members::<O>(&old, old_group).await, old_members);
    assert_eq!(members::<N>(&new, new_group).await, new_members);
    assert_eq!(rule_active::<N>(&new, rule).await, Some(false));
    assert_eq!(rule_active::<O>(&old, rule).await, Some(true));
    let back = journal(&mv).await.unwrap();
    assert!(
        back.problems.iter().all(|p| !p.contains("not restored")),
        "{back:?}"
    );
    mv.expect(0, &["audit", "verify"]).await;
    served.terminate().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wave_start_moves_agents_and_rules_and_rollback_restores_them() {
    moves_agents_and_rules::<freshdesk::App, freshdesk::App>().await;
}

/// The same from Zendesk (memberships and a trigger) to Freshdesk: the forward drain waits out
/// Zendesk's export minute.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zendesk_wave_moves_memberships_and_triggers_and_rollback_restores_them() {
    moves_agents_and_rules::<zendesk::App, freshdesk::App>().await;
}
