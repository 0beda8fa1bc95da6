//! Undo and catch-up, end to end with the real binary: `cutover backfill` into an account that
//! already holds its own records, then `cutover cleanup --side new` (after its `--dry-run`
//! list) leaves every list of the target as it was before, counted by the emulator itself (with
//! the brands and ticket types the plan creates and the group memberships agents are given), but
//! what the platform's API cannot delete (listed as left); then a second backfill copies it all
//! again, and `cutover verify` finds the copy whole.

use std::collections::BTreeMap;
use std::path::Path;

use cutover_sim::AccountProfile;
use serde_json::Value;

use crate::harness::{emulators_command, run_to_end};
use crate::plans::init_and_decide;

const LIMIT: std::time::Duration = std::time::Duration::from_secs(180);
/// Tickets generated on the old account (those its API lists are copied).
const TICKETS: usize = 6;
/// What a platform's API cannot delete: (platform, the emulator's list, the record kind).
/// Freshdesk's API has no delete for canned responses or SLA policies.
const LEFT_BY_API: &[(&str, &str, &str)] = &[
    ("freshdesk", "canned_responses", "macro"),
    ("freshdesk", "sla_policies", "sla_policy"),
];
/// What the backfill adds to the target's set-up (no record of the move): the brands or ticket
/// types the plan creates, the group memberships Zendesk's agents are given.
const ADDED_TO_SETUP: &[(&str, &str)] = &[
    ("zendesk", "brands"),
    ("zendesk", "group_memberships"),
    ("freshdesk", "ticket types"),
];

/// Runs the binary in `dir` with the emulators' credentials: exit code, stdout, stderr.
async fn cutover(dir: &Path, store: &str, args: &[&str]) -> (i32, String, String) {
    run_to_end(emulators_command(dir, store, args), args, LIMIT).await
}

/// GET a path of an emulator (its `/_sim/*` controls or its API) as the admin.
async fn get(base: &str, path: &str, platform: &str) -> Value {
    let client = reqwest::Client::new();
    let request = client.get(format!("{base}{path}"));
    let request = match platform {
        "zendesk" => request.basic_auth("admin@example.com/token", Some("sim-token")),
        _ => request.basic_auth("sim-token", Some("X")),
    };
    let answer = request.send().await.unwrap();
    assert!(
        answer.status().is_success(),
        "GET {path}: {}",
        answer.status()
    );
    answer.json().await.unwrap()
}

/// What a platform holds that a move writes, as the emulator counts it (`/_sim/state`), with
/// the people its own API lists as live (both platforms keep a deleted person, inactive or
/// flagged, as their real APIs do).
async fn holdings(base: &str, platform: &str) -> BTreeMap<String, u64> {
    let state = get(base, "/_sim/state", platform).await;
    let mut counts: BTreeMap<String, u64> = state["counts"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(kind, _)| {
            ![
                "deleted_tickets",
                "users",
                "contacts",
                "notifications",
                "ticket_events",
                "job_statuses",
                "uploaded_attachments",
                "attachments",
                "comments",
                "conversations",
                // A rating goes with its ticket to the trash, as its comments do.
                "satisfaction_ratings",
            ]
            .contains(&kind.as_str())
        })
        .map(|(kind, n)| (kind.clone(), n.as_u64().unwrap()))
        .collect();
    let people = match platform {
        "zendesk" => {
            let users = get(base, "/api/v2/users.json?per_page=100", platform).await;
            users["users"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|u| u["active"] == Value::Bool(true))
                .count()
        }
        _ => get(base, "/api/v2/contacts?per_page=100", platform)
            .await
            .as_array()
            .unwrap()
            .len(),
    };
    counts.insert("live people".into(), people as u64);
    if platform == "freshdesk" {
        // A ticket type is a choice of the `ticket_type` field, no list of its own.
        let fields = get(base, "/api/v2/ticket_fields", platform).await;
        let types = fields
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == "ticket_type")
            .map(|f| f["choices"].as_array().unwrap().len())
            .unwrap();
        counts.insert("ticket types".into(), types as u64);
    }
    counts
}

async fn backfill_then_cleanup(from: &str, to: &str) {
    let (old_url, new_url, _old, _new) = start(from, to).await;
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", dir.path().join("cutover.db").display());
    let run = |args: Vec<String>| {
        let (dir, store) = (dir.path().to_owned(), store.clone());
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            cutover(&dir, &store, &args).await
        }
    };
    init_and_decide(
        &run,
        &dir.path().join("cutover.toml"),
        (&old_url, &new_url),
        (from, to),
        &["--notifications-off"],
    )
    .await;
    let before = holdings(&new_url, to).await;
    // What the old side's API lists: a generated account has a spam or deleted ticket now and
    // then, which no move copies.
    let tickets = listed_tickets(&old_url, from).await;
    assert!(tickets > 0, "the old account lists no ticket");

    let (code, out, err) = cutover(dir.path(), &store, &["backfill"]).await;
    assert_eq!(code, 0, "backfill:\n{out}\n{err}");
    let during = holdings(&new_url, to).await;
    assert_eq!(
        during["tickets"],
        before["tickets"] + tickets,
        "backfill:\n{out}\n{err}"
    );
    // The plan creates brands (Zendesk) or ticket types (Freshdesk), and Zendesk's agents found
    // there are given groups: the move adds to the set-up, which the cleanup must take away.
    for added in ADDED_TO_SETUP
        .iter()
        .filter(|(platform, _)| *platform == to)
    {
        assert!(
            during[added.1] > before[added.1],
            "{}: {before:?} {during:?}",
            added.1
        );
    }

    let first = verify_findings(dir.path(), &store).await;
    // A first backfill with the plan as its hints decide it leaves nothing missing, extra or
    // different: what the target cannot hold, verify levels under the loss inventory named.
    assert!(
        first.values().all(|f| *f == (0, 0, 0)),
        "verify after the first backfill: {first:?}"
    );
    // The dry run lists what would go, deletes nothing.
    let (code, out, err) = cutover(
        dir.path(),
        &store,
        &["cleanup", "--side", "new", "--dry-run", "--json"],
    )
    .await;
    assert_eq!(code, 0, "cleanup --dry-run:\n{out}\n{err}");
    let listed: Value = serde_json::from_str(&out).unwrap();
    let ticket_ids = listed["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == "ticket")
        .map(|k| k["ids"].as_array().unwrap().len());
    assert_eq!(ticket_ids, Some(tickets as usize), "{listed}");
    assert_eq!(
        holdings(&new_url, to).await,
        during,
        "a dry run deletes nothing"
    );
    let (code, out, _) = cutover(
        dir.path(),
        &store,
        &["cleanup", "--side", "new", "--dry-run"],
    )
    .await;
    assert_eq!(code, 0);
    assert!(out.contains(&format!("ticket: {tickets}")), "{out}");

    // Off a terminal, without --yes, it refuses and says what to run.
    let (code, _, err) = cutover(dir.path(), &store, &["cleanup", "--side", "new"]).await;
    assert_ne!(code, 0);
    assert!(err.contains("--yes"), "{err}");

    let (code, out, err) =
        cutover(dir.path(), &store, &["cleanup", "--side", "new", "--yes"]).await;
    assert_eq!(code, 0, "cleanup:\n{out}\n{err}");
    let (code, out, _) = cutover(
        dir.path(),
        &store,
        &["cleanup", "--side", "new", "--dry-run", "--json"],
    )
    .await;
    assert_eq!(code, 0);
    let left: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(left["kinds"], Value::Array(vec![]), "{left}");
    // What the platform's API cannot delete stays, named with the reason, and only that.
    let kept: Vec<&str> = left["left"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kind"].as_str().unwrap())
        .collect();
    let after = holdings(&new_url, to).await;
    for (kind, n) in &before {
        if after[kind] != *n {
            let rule = LEFT_BY_API
                .iter()
                .find(|(platform, list, _)| *platform == to && list == kind);
            let Some((_, _, record_kind)) = rule else {
                panic!(
                    "{kind}: {n} before, {} after the cleanup:\n{out}",
                    after[kind]
                );
            };
            assert!(
                kept.contains(record_kind),
                "{kind} changed, not listed as left: {left}"
            );
        }
    }
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>()
    );

    // A backfill after the cleanup copies everything again (a cleaned-up copy, in the trash or
    // deleted for good, is never taken for a copy), and dead-letters no ticket.
    let (code, out, err) = cutover(dir.path(), &store, &["backfill"]).await;
    assert_eq!(code, 0, "backfill after the cleanup:\n{out}\n{err}");
    let again = holdings(&new_url, to).await;
    assert_eq!(
        again["tickets"],
        before["tickets"] + tickets,
        "backfill after the cleanup:\n{out}\n{err}"
    );
    for (kind, n) in &during {
        assert_eq!(
            again[kind], *n,
            "{kind}: the second backfill writes what the first did"
        );
    }
    let (code, out, err) = cutover(dir.path(), &store, &["deadletters", "list", "--json"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("\"ticket\""), "tickets dead-lettered:\n{out}");
    let (code, out, err) = cutover(dir.path(), &store, &["audit", "verify"]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    // The copy made after the cleanup is as whole as the first: the cleanup forgot exactly
    // what it deleted (agents found there and linked are given their groups again).
    let second = verify_findings(dir.path(), &store).await;
    assert_eq!(
        second, first,
        "verify after the cleanup and a second backfill"
    );
    assert!(
        second
            .values()
            .all(|(missing, extra, _)| *missing + *extra == 0),
        "{second:?}"
    );
}

/// The tickets a platform's API lists (neither spam nor deleted), as a backfill reads them.
async fn listed_tickets(base: &str, platform: &str) -> u64 {
    let listed = match platform {
        "zendesk" => {
            get(base, "/api/v2/tickets.json?per_page=100", platform).await["tickets"].clone()
        }
        _ => {
            get(
                base,
                "/api/v2/tickets?updated_since=1970-01-01T00:00:00Z&per_page=100",
                platform,
            )
            .await
        }
    };
    listed.as_array().map_or(0, Vec::len) as u64
}

/// `cutover verify --json`: by kind, how many records are missing, extra and different.
/// (Exit 0 when clean, 1 with findings.)
async fn verify_findings(dir: &Path, store: &str) -> BTreeMap<String, (usize, usize, usize)> {
    let (code, out, err) = cutover(dir, store, &["verify", "--json"]).await;
    assert!(code == 0 || code == 1, "verify:\n{out}\n{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    report["kinds"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(kind, k)| {
            let n = |key: &str| k[key].as_array().map_or(0, Vec::len);
            (kind.clone(), (n("missing"), n("extra"), n("different")))
        })
        .collect()
}

/// The old account with generated tickets, the new one with its own records and no tickets.
async fn start(
    from: &str,
    to: &str,
) -> (
    String,
    String,
    Box<dyn std::any::Any>,
    Box<dyn std::any::Any>,
) {
    async fn one(platform: &str, seed: u64, tickets: usize) -> (String, Box<dyn std::any::Any>) {
        match platform {
            "zendesk" => {
                let sim = crate::harness::zendesk(seed, tickets, AccountProfile::Realistic).await;
                (sim.url().to_owned(), Box::new(sim))
            }
            _ => {
                let sim = crate::harness::freshdesk(seed, tickets, AccountProfile::Realistic).await;
                (sim.url().to_owned(), Box::new(sim))
            }
        }
    }
    let (old_url, old) = one(from, 31, TICKETS).await;
    let (new_url, new) = one(to, 32, 0).await;
    (old_url, new_url, old, new)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_leaves_freshdesk_as_it_was_before_the_backfill() {
    backfill_then_cleanup("zendesk", "freshdesk").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_leaves_zendesk_as_it_was_before_the_backfill() {
    backfill_then_cleanup("freshdesk", "zendesk").await;
}
