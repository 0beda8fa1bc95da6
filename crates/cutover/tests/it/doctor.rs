//! `cutover doctor`, the real binary against the emulators: clean with admin credentials; with
//! a Freshdesk agent's key (no admin) and an unset variable, every gap listed at once.

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
