//! Every hint cutover prints, followed as written, yields a plan `plan check` accepts: one hint
//! of each kind (a dead letter's, the inventory's, the backfill's refusal's and `plan check`'s
//! own) taken from the real binary's output and applied to the plan literally.

use cutover_sim::AccountProfile;

use crate::harness::{emulators_command, run_to_end};

const LIMIT: std::time::Duration = std::time::Duration::from_secs(180);

/// The hints in `text`: every `add KEY = "…" to [mapping.TABLE]…` to the end of its line.
fn hints(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.find("add ").map(|at| line[at..].to_owned()))
        .filter(|hint| hint.contains(" to [mapping.") || hint.contains(" = \""))
        .collect()
}

/// Follows a hint as written: `add KEY = "…" to [mapping.T], "…" being one of "A", … or "drop"`
/// puts `KEY = "A"` under `[mapping.T]`; `add KEY = "VALUE" (…)` (plan check's own, whose table
/// is the diagnostic's) puts the line as it stands under `table`.
fn follow(plan: &str, hint: &str, table: Option<&str>) -> String {
    let rest = hint.strip_prefix("add ").unwrap();
    let (key, rest) = rest.split_once(" = ").unwrap();
    let (line, table) = match rest.split_once(" to [mapping.") {
        Some((_, after)) => {
            let (table, after) = after.split_once(']').unwrap();
            let choice = after
                .split_once("being one of \"")
                .map(|(_, choices)| choices.split('"').next().unwrap().to_owned())
                .unwrap_or_else(|| panic!("a hint with no choices: {hint}"));
            (format!("{key} = \"{choice}\""), table.to_owned())
        }
        None => {
            let value = rest.split(' ').next().unwrap();
            (format!("{key} = {value}"), table.unwrap().to_owned())
        }
    };
    let header = format!("[mapping.{table}]");
    let at = plan.find(&header).unwrap_or_else(|| panic!("no {header}"));
    let end = at + plan[at..].find('\n').unwrap() + 1;
    format!("{}{line}\n{}", &plan[..end], &plan[end..])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hint_followed_as_written_gives_a_plan_that_checks() {
    let old = crate::harness::zendesk(5, 10, AccountProfile::Realistic).await;
    let new = crate::harness::freshdesk(6, 0, AccountProfile::Realistic).await;
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", dir.path().join("cutover.db").display());
    let run = |args: Vec<&str>| {
        let cmd = emulators_command(dir.path(), &store, &args);
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run_to_end(cmd, &args, LIMIT).await
        }
    };
    let kinds = "organization,contact,group,role,agent,custom_field,ticket";
    let init = vec![
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
        "--kinds",
        kinds,
        "--notifications-off",
    ];
    assert_eq!(run(init).await.0, 0);
    let plan_path = dir.path().join("cutover.toml");
    let plan = std::fs::read_to_string(&plan_path).unwrap();

    // The inventory's hints and the refusal's.
    let (_, inventory, _) = run(vec!["inventory"]).await;
    let (code, _, refusal) = run(vec!["backfill"]).await;
    assert_eq!(code, 1, "{refusal}");
    // The dead letters' (a backfill told to go on anyway).
    let (code, out, err) = run(vec!["backfill", "--allow-unmapped"]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    let (_, letters, _) = run(vec!["deadletters", "list"]).await;
    let mut followed = 0;
    // A ticket type Freshdesk lacks (Zendesk's "task") is named by each, with "create" among
    // its choices (Freshdesk lets an account add types); followed, the plan checks.
    for (source, text) in [("inventory", &inventory), ("refusal", &refusal)] {
        let hint = hints(text)
            .into_iter()
            .find(|h| h.contains("to [mapping.ticket_types]"))
            .unwrap_or_else(|| panic!("no ticket type hint from the {source}:\n{text}"));
        assert!(hint.starts_with("add task = \"…\""), "{hint}");
        assert!(hint.contains("\"create\""), "{hint}");
        std::fs::write(&plan_path, follow(&plan, &hint, None)).unwrap();
        let (code, out, err) = run(vec!["plan", "check"]).await;
        assert_eq!(
            code, 0,
            "the {source}'s ticket type hint `{hint}` followed:\n{out}\n{err}"
        );
    }
    for (source, text) in [
        ("inventory", &inventory),
        ("refusal", &refusal),
        ("dead letter", &letters),
    ] {
        let found = hints(text);
        let hint = found
            .first()
            .unwrap_or_else(|| panic!("no hint from the {source}:\n{text}"));
        std::fs::write(&plan_path, follow(&plan, hint, None)).unwrap();
        let (code, out, err) = run(vec!["plan", "check"]).await;
        assert_eq!(
            code, 0,
            "the {source}'s hint `{hint}` followed:\n{out}\n{err}"
        );
        followed += 1;
    }

    // plan check's own: a built-in status left out is named with the line to add.
    let without_hold = plan.replacen("\nhold = \"pending\"", "\n", 1);
    std::fs::write(&plan_path, &without_hold).unwrap();
    let (code, _, errors) = run(vec!["plan", "check"]).await;
    assert_eq!(code, 1);
    let hint = hints(&errors)
        .into_iter()
        .next()
        .expect("plan check names the line");
    std::fs::write(&plan_path, follow(&without_hold, &hint, Some("statuses"))).unwrap();
    let (code, out, err) = run(vec!["plan", "check"]).await;
    assert_eq!(
        code, 0,
        "plan check's hint `{hint}` followed:\n{out}\n{err}"
    );
    assert_eq!(followed + 1, 4);
}

/// A ticket whose type has no line is dead-lettered (a backfill told to go on) with the line
/// to add; followed as written, `plan check` accepts the plan, and retrying the dead letters
/// copies the ticket with the type it maps to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_type_dead_letter_followed_as_written_copies_the_ticket() {
    let old = crate::harness::zendesk(7, 12, AccountProfile::Realistic).await;
    let new = crate::harness::freshdesk(8, 0, AccountProfile::Realistic).await;
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", dir.path().join("cutover.db").display());
    let run = |args: Vec<&str>| {
        let cmd = emulators_command(dir.path(), &store, &args);
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run_to_end(cmd, &args, LIMIT).await
        }
    };
    let init = vec![
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
        "--kinds",
        "organization,contact,group,agent,custom_field,ticket",
        "--notifications-off",
    ];
    assert_eq!(run(init).await.0, 0);
    let plan_path = dir.path().join("cutover.toml");
    let (code, inventory, err) = run(vec!["inventory", "--json"]).await;
    assert_eq!(code, 0, "{err}");
    let inventory: serde_json::Value = serde_json::from_str(&inventory).unwrap();
    crate::plans::follow_hints(&plan_path, &inventory);
    // Every value decided but the type most of the old tickets have: its line taken out.
    let tickets: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/api/v2/tickets.json?per_page=100", old.url()))
        .basic_auth("admin@example.com/token", Some("sim-token"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut by_type = std::collections::BTreeMap::new();
    for ticket in tickets["tickets"].as_array().unwrap() {
        if let Some(kind) = ticket["type"].as_str() {
            *by_type.entry(kind.to_owned()).or_insert(0) += 1;
        }
    }
    let (kind, _) = by_type
        .iter()
        .max_by_key(|(_, n)| **n)
        .unwrap_or_else(|| panic!("no ticket has a type: {tickets:#}"));
    let plan = std::fs::read_to_string(&plan_path).unwrap();
    let line = plan
        .lines()
        .find(|l| l.starts_with(&format!("{kind} = ")))
        .unwrap_or_else(|| panic!("{kind} has a line:\n{plan}"))
        .to_owned();
    let mapped_to = line.split('"').nth(1).unwrap().to_owned();
    let plan = plan.replacen(&format!("{line}\n"), "", 1);
    std::fs::write(&plan_path, &plan).unwrap();
    // The inventory names the type and what it holds back; the backfill refuses.
    let (code, listed, err) = run(vec!["inventory"]).await;
    assert_eq!(code, 0, "{err}");
    let n = by_type[kind];
    let plural = if n == 1 { "" } else { "s" };
    let holds = format!("ticket type \"{kind}\" ({n} ticket{plural} of this type)");
    assert!(listed.contains(&holds), "{holds} not in:\n{listed}");
    let (code, _, refusal) = run(vec!["backfill"]).await;
    assert_eq!(code, 1, "{refusal}");
    assert!(
        refusal.contains(&format!("ticket type \"{kind}\"")),
        "{refusal}"
    );
    let (code, out, err) = run(vec!["backfill", "--allow-unmapped"]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    let (_, letters, _) = run(vec!["deadletters", "list"]).await;
    let held = letters
        .lines()
        .filter(|l| l.contains(&format!("ticket type \"{kind}\" has no mapping")))
        .count();
    assert!(held > 0, "no ticket held back by its type:\n{letters}");
    let hint = hints(&letters)
        .into_iter()
        .find(|h| h.contains("to [mapping.ticket_types]"))
        .unwrap_or_else(|| panic!("no ticket type hint:\n{letters}"));
    assert!(hint.starts_with(&format!("add {kind} = \"…\"")), "{hint}");
    // The line as discovery wrote it: the hint's choice is the type it had mapped to.
    let followed = follow(
        &plan,
        &hint.replacen(
            "being one of \"",
            &format!("being one of \"{mapped_to}\", \""),
            1,
        ),
        None,
    );
    assert!(hint.contains(&format!("\"{mapped_to}\"")), "{hint}");
    std::fs::write(&plan_path, followed).unwrap();
    let (code, out, err) = run(vec!["plan", "check"]).await;
    assert_eq!(code, 0, "`{hint}` followed:\n{out}\n{err}");
    let (code, out, err) = run(vec!["deadletters", "retry"]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    let (_, letters, _) = run(vec!["deadletters", "list"]).await;
    assert!(!letters.contains("ticket type"), "{letters}");
    // The copies carry the type the line names, as Freshdesk spells it.
    let copies: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "{}/api/v2/tickets?per_page=100&updated_since=2000-01-01T00:00:00Z",
            new.url()
        ))
        .basic_auth("sim-token", Some("X"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // "create": the type is added to Freshdesk's and the copies carry it under its own name.
    let expected = if mapped_to == "create" {
        kind
    } else {
        &mapped_to
    };
    let typed = copies
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| {
            t["type"]
                .as_str()
                .is_some_and(|t| t.eq_ignore_ascii_case(expected))
        })
        .count();
    assert_eq!(
        typed, by_type[kind],
        "{held} held back, {typed} copied as {expected}"
    );
}
