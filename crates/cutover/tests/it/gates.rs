//! Gates, sign-offs and pause (issue 14, items 4 and 5) through the real binary over SQLite:
//! `cutover gates` names every unmet criterion (no verification, no drill, no KPI readings) with
//! the command to run, and counts a running bridge's lag; `cutover go` refuses a person the plan lacks, a viewer and a person the
//! wave does not name, and records an accepted sign-off in the audit log, whose chain holds;
//! `cutover verify` is counted by the gate; `cutover wave pause` and `resume` move a switched
//! wave and refuse one that is not; `cutover channel backup` and `restore` move one channel.

use chrono::Utc;
use cutover_runtime::{RoutingState, WavePhase};
use serde_json::Value;

/// Zendesk (old) to Freshdesk (new).
type Bridge = crate::bridge::Bridge<cutover_sim::zendesk::App, cutover_sim::freshdesk::App>;

fn criterion<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {report}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gates_sign_offs_and_pause_through_the_binary() {
    let mv = Bridge::backfilled_with(false, 3).await;
    let plan = mv.dir.path().join("cutover.toml");
    let mut text = std::fs::read_to_string(&plan).unwrap();
    text.push_str(
        "\n[people.watcher]\nname = \"Sam Viewer\"\nemail = \"sam@acme.example\"\nrole = \"viewer\"\n",
    );
    std::fs::write(&plan, text).unwrap();

    // Nothing measured yet: each criterion unmet, with its reason and what to run.
    let out = mv.expect(0, &["gates", "--json"]).await;
    let all: Value = serde_json::from_str(&out).unwrap();
    let pilot = &all["waves"][0];
    assert_eq!(pilot["wave"], "pilot");
    assert_eq!(pilot["phase"], "old");
    let verify = criterion(pilot, "verify_clean");
    assert_eq!(verify["met"], false);
    assert_eq!(verify["detail"], "no verification recorded yet");
    let drill = criterion(pilot, "rollback_drill");
    assert_eq!(drill["met"], false);
    assert_eq!(drill["next"][0], "cutover drill");
    let kpis = criterion(&all["waves"][1], "kpis_within_bounds");
    assert_eq!(kpis["met"], false);
    assert!(
        kpis["detail"]
            .as_str()
            .unwrap()
            .starts_with("the KPI monitor has made no reading yet"),
        "{kpis}"
    );
    let text = mv.expect(0, &["gates", "pilot"]).await;
    assert!(text.contains("NOT MET  rollback_drill"), "{text}");
    assert!(
        text.contains("next: cutover go --wave 1 --as ops-lead"),
        "{text}"
    );

    // Refused: a person the plan lacks, a viewer, one the wave does not name, a wave the plan
    // lacks. Nothing reaches the audit log.
    for (who, wave, says) in [
        ("nobody", "1", "\"nobody\" is not in the plan's [people]"),
        ("watcher", "1", "needs the operator role or higher"),
        (
            "cs-director",
            "pilot",
            "does not ask \"cs-director\" to sign off",
        ),
        ("ops-lead", "9", "the plan has no wave \"9\""),
    ] {
        let (code, stdout, stderr) = mv.cutover(&["go", "--wave", wave, "--as", who]).await;
        assert_eq!(code, 3, "{who}: {stdout}\n{stderr}");
        assert!(stderr.contains(says), "{who}: {stderr}");
    }
    let store = cutover_store::open(&mv.store.parse().unwrap())
        .await
        .unwrap();
    assert!(store.audit_entries(0, 100).await.unwrap().is_empty());

    // A verification counts for the gate; a sign-off is recorded, and what is missing said.
    mv.expect(0, &["verify", "--json"]).await;
    let (code, out, err) = mv.cutover(&["go", "--wave", "1", "--as", "ops-lead"]).await;
    assert_eq!(
        code, 1,
        "not ready yet (no drill, no bridge):\n{out}\n{err}"
    );
    assert!(
        out.contains("Signed off wave 1 \"pilot\" as ops-lead (Dana Okafor)"),
        "{out}"
    );
    assert!(
        out.contains("met      verify_clean        clean, "),
        "{out}"
    );
    assert!(
        out.contains("met      sign_off            ops-lead signed"),
        "{out}"
    );
    assert!(out.contains("next: cutover drill"), "{out}");
    let entries = store.audit_entries(0, 100).await.unwrap();
    let signed = entries
        .iter()
        .find(|e| e.action == "wave.signed_off")
        .unwrap_or_else(|| panic!("{entries:?}"));
    assert_eq!(signed.detail["person"], "ops-lead");
    assert_eq!(signed.detail["wave"], "pilot");
    assert_eq!(signed.detail["ready"], false);
    let evaluated = entries
        .iter()
        .find(|e| e.action == "gate.evaluated")
        .unwrap();
    let unmet: Vec<&str> = evaluated.detail["unmet"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        unmet,
        ["max_sync_lag", "rollback_drill"],
        "{}",
        evaluated.detail
    );
    mv.expect(0, &["audit", "verify"]).await;

    // Pause: refused while the wave is on the old side; a switched wave pauses and resumes.
    let (code, _, stderr) = mv.cutover(&["wave", "pause", "1"]).await;
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("applies to a wave that is new"), "{stderr}");
    let switched = RoutingState::load(store.as_ref())
        .await
        .unwrap()
        .with_phase("pilot", WavePhase::New, Utc::now());
    let mut tx = store.begin().await.unwrap();
    switched.save_in(tx.as_mut()).await.unwrap();
    tx.commit().await.unwrap();
    let out = mv.expect(0, &["wave", "pause", "pilot"]).await;
    assert!(out.contains("new to paused"), "{out}");
    let out = mv.expect(0, &["wave", "pause", "1"]).await;
    assert!(out.contains("is paused already"), "{out}");
    let status: Value =
        serde_json::from_str(&mv.expect(0, &["wave", "status", "1", "--json"]).await).unwrap();
    assert_eq!(status["waves"][0]["phase"], "paused", "{status}");
    let out = mv.expect(0, &["wave", "resume", "1"]).await;
    assert!(out.contains("paused to new"), "{out}");
    let (code, _, stderr) = mv.cutover(&["wave", "resume", "1"]).await;
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = mv.cutover(&["wave", "resume", "2"]).await;
    assert_eq!(code, 3, "{stderr}");

    // The sign-off was before the wave's last change of phase: it no longer counts.
    let text = mv.expect(0, &["wave", "status", "pilot"]).await;
    assert!(
        text.contains("before the wave last changed phase"),
        "{text}"
    );
    let actions: Vec<String> = store
        .audit_entries(0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "wave.signed_off",
            "gate.evaluated",
            "wave.paused",
            "wave.resumed"
        ]
    );

    // A channel to its backup and back, as a person: only that channel leaves the waves'
    // routing, once; a channel without a backup is refused.
    let out = mv.expect(0, &["channel", "backup", "phone"]).await;
    assert!(
        out.contains("on its backup (every contact to the old side) now"),
        "{out}"
    );
    let out = mv.expect(0, &["channel", "backup", "phone"]).await;
    assert!(out.contains("already: nothing changed"), "{out}");
    let routing = RoutingState::load(store.as_ref()).await.unwrap();
    let backups: Vec<&String> = routing.backups.keys().collect();
    assert_eq!(backups, ["phone"]);
    let (code, _, stderr) = mv.cutover(&["channel", "backup", "email"]).await;
    assert_ne!(code, 0);
    assert!(stderr.contains("has no backup"), "{stderr}");
    let out = mv.expect(0, &["channel", "restore", "phone"]).await;
    assert!(out.contains("routed by the waves now"), "{out}");
    let routing = RoutingState::load(store.as_ref()).await.unwrap();
    assert!(routing.backups.is_empty());
    let actions: Vec<String> = store
        .audit_entries(0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .skip(4)
        .collect();
    assert_eq!(actions, ["channel.backup", "channel.restored"]);
    mv.expect(0, &["audit", "verify"]).await;
    store.close().await;
}
