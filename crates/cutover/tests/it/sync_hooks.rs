//! `cutover sync setup` and `cutover sync teardown`, the real binary against both emulators:
//! hooks made once on each platform, delivered through, refused without a secret, and removed
//! exactly, twice safely.

use std::sync::Arc;

use serde_json::Value;

use crate::harness::{Workdir, freshdesk, zendesk};

const SECRET: &str = "a-long-enough-bridge-secret";

async fn run(dir: &Arc<Workdir>, args: &[&str], secret: Option<&str>) -> crate::harness::Run {
    let dir = Arc::clone(dir);
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let secret = secret.map(str::to_owned);
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut env = vec![
            ("CUTOVER_OLD_EMAIL", "admin@example.com"),
            ("CUTOVER_OLD_TOKEN", "sim-token"),
            ("CUTOVER_NEW_TOKEN", "sim-token"),
        ];
        if let Some(secret) = &secret {
            env.push(("CUTOVER_WEBHOOK_SECRET", secret.as_str()));
        }
        dir.run_with_env(&args, &env)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_makes_each_hook_once_and_teardown_removes_exactly_them() {
    let old = zendesk(31, 2, cutover_sim::AccountProfile::Plain).await;
    let new = freshdesk(32, 2, cutover_sim::AccountProfile::Plain).await;
    let dir = Arc::new(Workdir::new());
    let init = [
        "init",
        "--offline",
        "--from",
        "zendesk",
        "--to",
        "freshdesk",
        "--old-url",
        old.url(),
        "--new-url",
        new.url(),
    ];
    run(&dir, &init, None).await.expect_code(0);
    // The emulated Freshdesk's requester notifications are off (`harness::freshdesk`).
    let plan = dir.file("cutover.toml");
    let text = std::fs::read_to_string(&plan).unwrap();
    let confirmed = text.replace(
        "\nnotifications_off = false\n",
        "\nnotifications_off = true\n",
    );
    assert_ne!(text, confirmed, "init asks for the confirmation");
    std::fs::write(&plan, confirmed).unwrap();
    let endpoint = "http://127.0.0.1:9/bridge";

    // Without the secret's variable set: a configuration error naming it, nothing made.
    let refused = run(&dir, &["sync", "setup", "--endpoint", endpoint], None).await;
    refused.expect_code(3);
    assert!(
        refused.stderr().contains("CUTOVER_WEBHOOK_SECRET"),
        "{}",
        refused.stderr()
    );
    let short = run(
        &dir,
        &["sync", "setup", "--endpoint", endpoint],
        Some("short"),
    )
    .await;
    short.expect_code(3);
    assert!(
        !short.stderr().contains("short\n"),
        "the secret is never printed"
    );

    let made = run(
        &dir,
        &["sync", "setup", "--endpoint", endpoint, "--json"],
        Some(SECRET),
    )
    .await;
    made.expect_code(0);
    assert!(!made.stdout().contains(SECRET) && !made.stderr().contains(SECRET));
    let report: Value = serde_json::from_str(&made.stdout()).unwrap();
    let created = |side: usize| report[side]["created"].as_array().unwrap().len();
    assert_eq!((created(0), created(1)), (4, 2), "{report:#}");
    let quieted = |side: usize| report[side]["quieted"].as_array().unwrap().len();
    assert_eq!(
        (quieted(0), quieted(1)),
        (4, 0),
        "Zendesk's triggers that e-mail requesters: {report:#}"
    );
    assert_eq!(report[0]["side"], "old");
    assert_eq!(report[1]["platform"], "freshdesk");
    let old_hooks = old.state().webhook_endpoints();
    assert!(
        old_hooks
            .iter()
            .all(|(_, endpoint)| endpoint.ends_with("/bridge/hooks/old")),
        "{old_hooks:?}"
    );

    let again = run(
        &dir,
        &["sync", "setup", "--endpoint", endpoint, "--json"],
        Some(SECRET),
    )
    .await;
    again.expect_code(0);
    let report: Value = serde_json::from_str(&again.stdout()).unwrap();
    for side in 0..2 {
        assert!(
            report[side]["created"].as_array().unwrap().is_empty(),
            "{report:#}"
        );
    }

    let text = run(&dir, &["sync", "teardown"], None).await;
    text.expect_code(0);
    assert!(
        text.stdout().contains(
            "old side (zendesk): 4 hooks changed, 4 of its rules that e-mail customers unquieted"
        ),
        "{}",
        text.stdout()
    );
    assert!(
        text.stdout()
            .contains("new side (freshdesk): 2 hooks changed"),
        "{}",
        text.stdout()
    );
    assert!(old.state().webhook_endpoints().is_empty());
    let twice = run(&dir, &["sync", "teardown"], None).await;
    twice.expect_code(0);
    assert!(
        twice
            .stdout()
            .contains("old side (zendesk): 0 hooks changed"),
        "{}",
        twice.stdout()
    );
}
