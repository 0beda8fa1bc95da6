//! `cutover plan refresh`: what appears on the old account after `init` gets a line, and no line
//! the user wrote changes.

use serde_json::json;

use cutover_sim::AccountProfile;

use crate::harness::{emulators_command, run_to_end};

const LIMIT: std::time::Duration = std::time::Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_adds_what_appeared_and_changes_no_line_the_user_wrote() {
    let old = crate::harness::zendesk(8, 6, AccountProfile::Realistic).await;
    let new = crate::harness::freshdesk(9, 0, AccountProfile::Realistic).await;
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", dir.path().join("cutover.db").display());
    let run = async |args: &[&str]| {
        run_to_end(emulators_command(dir.path(), &store, args), args, LIMIT).await
    };
    let init = [
        "init",
        "--from",
        "zendesk",
        "--to",
        "freshdesk",
        "--old-url",
        old.url(),
        "--new-url",
        new.url(),
        "--rate-limit",
        "100000",
    ];
    assert_eq!(run(&init).await.0, 0);
    let path = dir.path().join("cutover.toml");
    // The user decides a line and writes one of their own.
    let plan = std::fs::read_to_string(&path).unwrap();
    let open = plan
        .lines()
        .find(|l| l.starts_with("# open: "))
        .expect("the realistic account has open values")
        .to_owned();
    let decided = open
        .replacen("# open: ", "", 1)
        .replacen("\"…\"", "\"drop\"", 1);
    let written = plan.replacen(&open, &decided, 1).replacen(
        "[mapping.groups]",
        "[mapping.groups]\n# ours: keep this",
        1,
    );
    std::fs::write(&path, &written).unwrap();

    // A group appears on the old account.
    let created = reqwest::Client::new()
        .post(format!("{}/api/v2/groups.json", old.url()))
        .basic_auth("admin@example.com/token", Some("sim-token"))
        .json(&json!({"group": {"name": "Cutover refresh test"}}))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "{}", created.status());

    let (code, out, err) = run(&["plan", "refresh"]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("group \"Cutover refresh test\""), "{out}");
    let refreshed = std::fs::read_to_string(&path).unwrap();
    assert!(
        refreshed.contains("# open: \"Cutover refresh test\" = \"…\""),
        "{refreshed}"
    );
    // Every line as it was, in its order: lines were only added.
    let mut after = refreshed.lines();
    for line in written.lines() {
        assert!(
            after.any(|l| l == line),
            "line changed or moved: {line:?}\n{refreshed}"
        );
    }
    let (code, out, err) = run(&["plan", "check"]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("group \"Cutover refresh test\""), "{out}");
    // Nothing new since: a second refresh adds nothing.
    let (code, out, _) = run(&["plan", "refresh"]).await;
    assert_eq!(code, 0);
    assert!(out.contains("nothing new"), "{out}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), refreshed);
}
