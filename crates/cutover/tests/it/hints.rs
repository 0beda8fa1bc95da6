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
