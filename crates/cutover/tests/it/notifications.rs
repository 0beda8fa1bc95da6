//! `cutover backfill` into a platform whose API may e-mail requesters on ticket creation
//! (Freshdesk's "New Ticket Created" acknowledgement, which no API call switches off): it refuses
//! to start, writing nothing, until the user confirms those e-mails are off, with a flag or a plan
//! key. The real binary against both emulators.

use std::sync::Arc;

use cutover_sim::AccountProfile;
use cutover_sim::freshdesk::{FreshdeskOptions, FreshdeskSim};
use cutover_sim::zendesk::{ZendeskOptions, ZendeskSim};
use serde_json::Value;

use crate::harness::{self, Run, Workdir};

/// Runs the binary beside the in-process emulators.
async fn run(dir: &std::sync::Arc<Workdir>, args: &[&str]) -> Run {
    harness::run_beside_emulators(dir, args).await
}

async fn counts(url: &str) -> Value {
    let state: Value = reqwest::get(format!("{url}/_sim/state"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    state["counts"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_into_freshdesk_waits_for_the_user_to_confirm_acknowledgements_are_off() {
    let old = ZendeskSim::spawn(
        ZendeskOptions {
            seed: 3,
            tickets: 4,
            rate_limit_rpm: None,
            incremental_rpm: 0,
            // The plain account: a realistic one's contact and organization fields have no
            // table yet, and this test is about the notification gate.
            profile: AccountProfile::Plain,
            ..ZendeskOptions::default()
        },
        "127.0.0.1:0",
    )
    .await
    .unwrap();
    // The user has switched the acknowledgement off in the account, which cutover cannot see.
    let new = FreshdeskSim::spawn(
        FreshdeskOptions {
            rate_limit_rpm: Some(0),
            acknowledge_new_tickets: false,
            profile: AccountProfile::Plain,
            ..FreshdeskOptions::default()
        },
        "127.0.0.1:0",
    )
    .await
    .unwrap();
    let dir = Arc::new(Workdir::new());
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
    ];
    run(&dir, &init).await.expect_code(0);
    let path = dir.file("cutover.toml");
    let plan = std::fs::read_to_string(&path).unwrap();
    assert!(plan.contains("# target_notifications_off = true"), "{plan}");
    // Tickets and what they need; the old side's ticket fields left behind.
    // The emulators have no limits: neither has the plan.
    let mut plan = plan
        .replace("requests_per_minute = 700", "requests_per_minute = 100000")
        .replace("requests_per_minute = 400", "requests_per_minute = 100000");
    let start = plan.find("kinds = [").unwrap();
    let end = start + plan[start..].find("]\n").unwrap() + 1;
    plan.replace_range(
        start..end,
        r#"kinds = ["custom_field", "organization", "contact", "ticket", "comment", "attachment"]"#,
    );
    let fields: Value = reqwest::Client::new()
        .get(format!("{}/api/v2/ticket_fields.json", old.url()))
        .basic_auth("admin@example.com/token", Some("sim-token"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut dropped = String::new();
    for field in fields["ticket_fields"].as_array().unwrap() {
        let line = format!("{:?} = ", field["title"].as_str().unwrap());
        if field["removable"] == true && !plan.contains(&line) {
            dropped.push_str(&format!("{line}\"drop\"\n"));
        }
    }
    let at = plan.find("\n[mapping.fields]").unwrap() + 1;
    let at = at + plan[at..].find('\n').unwrap() + 1;
    plan.insert_str(at, &dropped);
    // Zendesk's "task", which Freshdesk lacks, is created there as its open line offers.
    let plan = plan.replacen("# open: task = \"…\"", "task = \"create\"", 1);
    // Zendesk's brand, which Freshdesk's API cannot create as a product, is left behind.
    let plan = plan.replacen(
        "# open: \"Cutover Sim\" = \"…\"",
        "\"Cutover Sim\" = \"drop\"",
        1,
    );
    std::fs::write(&path, &plan).unwrap();
    let tickets_before = counts(new.url()).await["tickets"].as_u64().unwrap();

    // Off a terminal, with neither the flag nor the plan key: refused, nothing written.
    let refused = run(&dir, &["backfill"]).await;
    refused.expect_code(3);
    let err = refused.stderr();
    for said in [
        "may e-mail each requester",
        "Admin > Email Notifications",
        "--notifications-off",
        "target_notifications_off = true",
        "Nothing was written",
    ] {
        assert!(err.contains(said), "{said:?} not in: {err}");
    }
    let after = counts(new.url()).await;
    assert_eq!(after["tickets"].as_u64(), Some(tickets_before), "{after}");
    assert_eq!(after["notifications"], 0, "{after}");

    // A dry run writes nothing, so it needs no confirmation.
    run(&dir, &["backfill", "--dry-run"]).await.expect_code(0);

    // Confirmed in the plan: the copy goes ahead.
    std::fs::write(
        &path,
        plan.replace(
            "# target_notifications_off = true",
            "target_notifications_off = true",
        ),
    )
    .unwrap();
    let copied = run(&dir, &["backfill", "--json"]).await;
    let report: Value = serde_json::from_str(&copied.stdout()).unwrap_or(Value::Null);
    assert!(
        report["kinds"]["ticket"]["created"].as_u64() > Some(0),
        "{}\n{}\n{}",
        copied.stdout(),
        copied.stderr(),
        run(&dir, &["deadletters", "list"]).await.stdout()
    );
    assert_eq!(counts(new.url()).await["notifications"], 0);

    // Confirmed by the flag instead: the gate opens too (and a second run creates nothing).
    std::fs::write(&path, &plan).unwrap();
    let again = run(&dir, &["backfill", "--notifications-off", "--json"]).await;
    again.expect_code(0);
    let report: Value = serde_json::from_str(&again.stdout()).unwrap();
    let created = report["kinds"]["ticket"]["created"].as_u64().unwrap_or(0);
    assert_eq!(created, 0, "{report}");

    // The bridge opens tickets in Freshdesk too: `init` wrote the confirmation as false, and
    // `sync setup` and `serve` refuse until it is given, touching nothing.
    assert!(plan.contains("\nnotifications_off = false\n"), "{plan}");
    let rules_before = freshdesk_rules(new.url()).await;
    let endpoint = ["--endpoint", "http://127.0.0.1:9"];
    for args in [
        &["sync", "setup", endpoint[0], endpoint[1]][..],
        &["serve", "--listen", "127.0.0.1:0"][..],
    ] {
        let refused = run_env(&dir, args).await;
        refused.expect_code(3);
        let err = refused.stderr();
        for said in [
            "e-mail the requester",
            "twice",
            "Admin > Email Notifications",
            "--notifications-off",
            "notifications_off = true",
            "Nothing was done",
            "\"New Ticket Created\"",
        ] {
            assert!(err.contains(said), "{args:?}: {said:?} not in: {err}");
        }
        // The bridge's replies, notes, solves and closes into Freshdesk e-mail nobody on their
        // own (private notes; `skip_close_notification`): the user keeps those switches on for
        // the agents who work there.
        assert!(!err.contains("Agent solves the ticket"), "{args:?}: {err}");
    }
    assert_eq!(freshdesk_rules(new.url()).await, rules_before);
    let setup = run_env(
        &dir,
        &[
            "sync",
            "setup",
            endpoint[0],
            endpoint[1],
            "--notifications-off",
        ],
    )
    .await;
    setup.expect_code(0);
    assert!(freshdesk_rules(new.url()).await > rules_before);
    std::fs::write(
        &path,
        plan.replace(
            "\nnotifications_off = false\n",
            "\nnotifications_off = true\n",
        ),
    )
    .unwrap();
    run_env(&dir, &["sync", "setup", endpoint[0], endpoint[1]])
        .await
        .expect_code(0);
}

/// Runs the binary beside the emulators with the plan's webhook secret set, within a minute
/// (a `serve` that does not refuse would run on).
async fn run_env(dir: &Arc<Workdir>, args: &[&str]) -> Run {
    let dir = Arc::clone(dir);
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let run = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut env = harness::SIM_ENV.to_vec();
        env.push(("CUTOVER_WEBHOOK_SECRET", "a-long-enough-bridge-secret"));
        dir.run_with_env(&args, &env)
    });
    tokio::time::timeout(std::time::Duration::from_secs(60), run)
        .await
        .expect("cutover did not end within a minute")
        .unwrap()
}

/// How many automation rules (of creation and update) the Freshdesk account has.
async fn freshdesk_rules(url: &str) -> usize {
    let mut n = 0;
    for kind in [1, 4] {
        let rules: Value = reqwest::Client::new()
            .get(format!("{url}/api/v2/automations/{kind}/rules"))
            .basic_auth("sim-key", Some("X"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        n += rules.as_array().map_or(0, Vec::len);
    }
    n
}
