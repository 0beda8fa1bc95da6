//! `cutover doctor`, the real binary against the emulators: clean with admin credentials; with
//! a Freshdesk agent's key (no admin) and an unset variable, every gap listed at once; with a
//! Zendesk agent's token (a role without admin rights), what it lacks.

use std::sync::Arc;

use cutover_sim::AccountProfile;
use cutover_sim::freshdesk::{FreshdeskOptions, FreshdeskSim};

use crate::harness::{self, Run, Workdir};

/// Runs the binary in `dir` with `env` only (no inherited CUTOVER_* variable), off the async
/// runtime's threads so the in-process emulators keep answering.
async fn run(dir: &Arc<Workdir>, args: &[&str], env: &[(&str, &str)]) -> Run {
    let dir = Arc::clone(dir);
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        dir.run_with_env(&args, &env)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_passes_admin_credentials_and_lists_everything_a_restricted_key_lacks() {
    let old = harness::zendesk(3, 2, AccountProfile::Plain).await;
    let new = FreshdeskSim::spawn(
        FreshdeskOptions {
            tickets: 0,
            profile: AccountProfile::Plain,
            agent_api_key: Some("agent-key".to_owned()),
            rate_limit_rpm: Some(0),
            ..FreshdeskOptions::default()
        },
        "127.0.0.1:0",
    )
    .await
    .unwrap();
    let dir = Arc::new(Workdir::new());
    let admin = [
        ("CUTOVER_OLD_EMAIL", "admin@example.com"),
        ("CUTOVER_OLD_TOKEN", "sim-token"),
        ("CUTOVER_NEW_TOKEN", "sim-key"),
    ];
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
        "--backfill-only",
    ];
    run(&dir, &init, &admin).await.expect_code(0);

    let clean = run(&dir, &["doctor"], &admin).await;
    clean.expect_code(0);
    assert!(
        clean.stdout().contains("Nothing missing"),
        "{}",
        clean.stdout()
    );
    assert!(clean.stdout().contains("(admin)"), "{}", clean.stdout());

    // The new side's key is an agent's; the old side's token is not set.
    let restricted = [
        ("CUTOVER_OLD_EMAIL", "admin@example.com"),
        ("CUTOVER_NEW_TOKEN", "agent-key"),
    ];
    let gaps = run(&dir, &["doctor"], &restricted).await;
    gaps.expect_code(1);
    let out = gaps.stdout();
    assert!(out.contains("2 thing(s) missing"), "{out}");
    assert!(
        out.contains("old side: the credential in CUTOVER_OLD_TOKEN"),
        "{out}"
    );
    assert!(
        out.contains("new side: an admin: cutover creates ticket fields"),
        "{out}"
    );
    assert!(
        out.contains("fix: use the credentials of a Freshdesk admin"),
        "{out}"
    );
    assert!(
        !out.contains("agent-key") && !out.contains("sim-token"),
        "{out}"
    );
}

/// The e-mail of an agent of the Zendesk emulator at `base` who is no admin.
async fn zendesk_agent_email(base: &str) -> String {
    let users: serde_json::Value = reqwest::Client::new()
        .get(format!("{base}/api/v2/users.json?per_page=100"))
        .basic_auth("admin@example.com/token", Some("sim-token"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["role"] == "agent" && u["active"] == true)
        .and_then(|u| u["email"].as_str())
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_lists_what_a_zendesk_agent_token_lacks_before_anything_moves() {
    let old = harness::freshdesk(3, 2, AccountProfile::Plain).await;
    let new = harness::zendesk(4, 0, AccountProfile::Realistic).await;
    let dir = Arc::new(Workdir::new());
    let admin = [
        ("CUTOVER_OLD_TOKEN", "sim-token"),
        ("CUTOVER_NEW_EMAIL", "admin@example.com"),
        ("CUTOVER_NEW_TOKEN", "sim-token"),
    ];
    let init = [
        "init",
        "--from",
        "freshdesk",
        "--to",
        "zendesk",
        "--old-url",
        old.url(),
        "--new-url",
        new.url(),
        "--backfill-only",
    ];
    run(&dir, &init, &admin).await.expect_code(0);
    let clean = run(&dir, &["doctor"], &admin).await;
    clean.expect_code(0);
    assert!(
        clean.stdout().contains("Nothing missing"),
        "{}",
        clean.stdout()
    );

    // The new side's token is an agent's (a role without admin rights): doctor says what is
    // missing before anything moves.
    let agent = zendesk_agent_email(new.url()).await;
    let restricted = [
        ("CUTOVER_OLD_TOKEN", "sim-token"),
        ("CUTOVER_NEW_EMAIL", agent.as_str()),
        ("CUTOVER_NEW_TOKEN", "sim-token"),
    ];
    let gaps = run(&dir, &["doctor"], &restricted).await;
    gaps.expect_code(1);
    let out = gaps.stdout();
    assert!(
        out.contains("1 thing(s) missing before anything moves"),
        "{out}"
    );
    assert!(out.contains("new side (zendesk): "), "{out}");
    assert!(out.contains(&format!("{agent} (agent)")), "{out}");
    assert!(
        out.contains("new side: an admin: ticket imports (original times and authors)"),
        "{out}"
    );
    assert!(
        out.contains("fix: use the credentials of a Zendesk admin"),
        "{out}"
    );
    assert!(!out.contains("sim-token"), "{out}");
}
