//! Waves cover what discovery found: `cutover init` against both emulators writes waves that
//! move every channel, group and agent of the realistic account, and `cutover plan check` says
//! so; a wave edited to leave a group and an agent behind gets both named, with where and what to
//! write, and a last line listing all that would stay on the old side.

use cutover_model::accounts::Accounts;
use cutover_plan::plan::values::Target;
use cutover_sim::AccountProfile;

use crate::harness::{emulators_command, run_to_end};
use crate::plans::init_and_decide;

const LIMIT: std::time::Duration = std::time::Duration::from_secs(180);

/// Every `groups = …` and `agents = …` line of the waves written anew.
fn waves_move(plan: &str, groups: &str, agents: &str) -> String {
    let mut in_waves = false;
    plan.lines()
        .map(|line| {
            if line.starts_with('[') {
                in_waves = line.starts_with("[[waves]]") || line.starts_with("[waves.");
            }
            if in_waves && line.starts_with("groups = ") {
                format!("groups = {groups}")
            } else if in_waves && line.starts_with("agents = ") {
                format!("agents = {agents}")
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_check_names_the_group_and_agent_no_wave_moves() {
    let old = crate::harness::zendesk(21, 5, AccountProfile::Realistic).await;
    let new = crate::harness::freshdesk(22, 0, AccountProfile::Realistic).await;
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", dir.path().join("cutover.db").display());
    let run = |args: Vec<String>| {
        let args_ref: Vec<&str> = args.iter().map(String::as_str).collect();
        let cmd = emulators_command(dir.path(), &store, &args_ref);
        async move {
            let args_ref: Vec<&str> = args.iter().map(String::as_str).collect();
            run_to_end(cmd, &args_ref, LIMIT).await
        }
    };
    let plan_path = dir.path().join("cutover.toml");
    init_and_decide(
        &run,
        &plan_path,
        (old.url(), new.url()),
        ("zendesk", "freshdesk"),
        &["--notifications-off"],
    )
    .await;

    // The waves init wrote move everything discovery found.
    let (code, out, err) = run(vec!["plan".into(), "check".into()]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("nothing is left on the old side after the last wave \"everyone\""),
        "{out}"
    );
    let snapshot = std::fs::read(dir.path().join("cutover.accounts.json")).unwrap();
    let accounts: Accounts = serde_json::from_slice(&snapshot).unwrap();
    let carried = accounts.old.agents.iter().filter(|a| a.active).count();
    assert!(
        out.contains(&format!("every agent the move carries ({carried})")),
        "{out}"
    );

    // A group with a member in no other group, left out of every wave, with agents by group.
    let plan = cutover_plan::plan::load(&plan_path).unwrap();
    let moved: Vec<&String> = plan
        .mapping
        .groups
        .iter()
        .filter(|(_, target)| !matches!(target, Target::Drop))
        .map(|(old, _)| old)
        .collect();
    let (group, agent) = moved
        .iter()
        .find_map(|group| {
            let only_here = accounts
                .old
                .agents
                .iter()
                .find(|a| a.active && a.groups.len() == 1 && &&a.groups[0] == group)?;
            Some(((*group).clone(), only_here.email.clone()))
        })
        .expect("a realistic account has an agent in one group only");
    let kept: Vec<String> = moved
        .iter()
        .filter(|g| ***g != group)
        .map(|g| format!("{g:?}"))
        .collect();
    let text = std::fs::read_to_string(&plan_path).unwrap();
    let edited = waves_move(&text, &format!("[{}]", kept.join(", ")), "\"by_group\"");
    std::fs::write(&plan_path, &edited).unwrap();
    let (code, out, err) = run(vec!["plan".into(), "check".into()]).await;
    assert_eq!(code, 1, "{out}\n{err}");

    // A TOML key: bare when it can be.
    let bare = group
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let key = if bare {
        group.clone()
    } else {
        format!("{group:?}")
    };
    let group_line = edited
        .lines()
        .position(|l| l.starts_with(&format!("{key} = ")))
        .unwrap_or_else(|| panic!("no line for {key} in\n{edited}"))
        + 1;
    let expected = format!(
        "cutover.toml:{group_line}:1: mapping.groups.{key}: group {group:?} is moved by no \
         wave: add it to a wave's groups, or write groups = \"all\" in the last wave"
    );
    assert!(err.contains(&expected), "{expected}\n{err}");
    let last_agents = edited.lines().count()
        - edited
            .lines()
            .rev()
            .position(|l| l.starts_with("agents = "))
            .unwrap();
    let expected = format!(
        "cutover.toml:{last_agents}:10: waves[2].agents: agent {agent:?} (groups {group:?}) is \
         moved by no wave: add {agent:?} to a wave's agents, or write agents = \"all\" in the \
         last wave"
    );
    assert!(err.contains(&expected), "{expected}\n{err}");
    let summary = err
        .lines()
        .find(|l| l.contains("these stay on the old side"))
        .unwrap_or_else(|| panic!("no summary:\n{err}"));
    assert!(
        summary.contains("waves[2]: after the last wave \"everyone\""),
        "{summary}"
    );
    assert!(summary.contains(&format!("group {group:?}")), "{summary}");
    assert!(summary.contains(&format!("{agent:?}")), "{summary}");
}
