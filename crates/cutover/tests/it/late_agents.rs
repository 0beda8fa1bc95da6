//! Agents and groups a side gains after the backfill, carried by the bridge (`cutover serve`)
//! the way the backfill would carry them: a ticket assigned to a new agent and group on either
//! side is copied assigned to the agent and group matched or created on the other side, not to
//! the plan's stand-in; an agent the plan drops still gets the stand-in.

use std::time::Duration;

use cutover_model::{PlatformId, RecordKind, Side};
use cutover_sim::{freshdesk, zendesk};
use serde_json::{Value, json};

use crate::bridge::{Bridge, read};

/// A request to an emulator's API as its admin: Zendesk by `admin@example.com`'s token,
/// Freshdesk by its API key. Its answer's JSON; fails the test on an error status.
async fn call(
    zendesk: bool,
    method: reqwest::Method,
    url: &str,
    path: &str,
    body: Option<Value>,
) -> Value {
    let request = reqwest::Client::new().request(method, format!("{url}/api/v2/{path}"));
    let mut request = if zendesk {
        request.basic_auth("admin@example.com/token", Some("sim-token"))
    } else {
        request.basic_auth("sim-token", Some("X"))
    };
    if let Some(body) = body {
        request = request.json(&body);
    }
    let answer = request.send().await.unwrap();
    let status = answer.status();
    let text = answer.text().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

async fn zd(method: reqwest::Method, url: &str, path: &str, body: Option<Value>) -> Value {
    call(true, method, url, path, body).await
}

async fn fd(method: reqwest::Method, url: &str, path: &str, body: Option<Value>) -> Value {
    call(false, method, url, path, body).await
}

/// A new Zendesk group and agent (a member of it): their ids.
async fn zendesk_agent(url: &str, email: &str, group: Option<u64>) -> u64 {
    let user = zd(
        reqwest::Method::POST,
        url,
        "users.json",
        Some(json!({"user": {"name": email.split('@').next().unwrap(), "email": email, "role": "agent", "verified": true}})),
    )
    .await;
    let id = user["user"]["id"].as_u64().unwrap();
    if let Some(group) = group {
        zd(
            reqwest::Method::POST,
            url,
            "group_memberships.json",
            Some(json!({"group_membership": {"user_id": id, "group_id": group}})),
        )
        .await;
    }
    id
}

async fn zendesk_group(url: &str, name: &str) -> u64 {
    let group = zd(
        reqwest::Method::POST,
        url,
        "groups.json",
        Some(json!({"group": {"name": name}})),
    )
    .await;
    group["group"]["id"].as_u64().unwrap()
}

/// A Zendesk ticket from a new customer, assigned to `assignee` in `group`.
async fn zendesk_ticket(url: &str, subject: &str, assignee: u64, group: Option<u64>) -> u64 {
    let ticket = zd(
        reqwest::Method::POST,
        url,
        "tickets.json",
        Some(json!({"ticket": {
            "subject": subject,
            "comment": {"body": format!("{subject}: please help")},
            "requester": {"name": "Late Customer", "email": "late.customer@example.com"},
            "assignee_id": assignee,
            "group_id": group,
        }})),
    )
    .await;
    ticket["ticket"]["id"].as_u64().unwrap()
}

/// The Zendesk user with `email`, if any, and how many there are.
async fn zendesk_users_with(url: &str, email: &str) -> Vec<u64> {
    let found = zd(
        reqwest::Method::GET,
        url,
        &format!("users/search.json?query=email:\"{email}\""),
        None,
    )
    .await;
    found["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["email"].as_str() == Some(email))
        .filter_map(|u| u["id"].as_u64())
        .collect()
}

async fn zendesk_group_named(url: &str, name: &str) -> Vec<u64> {
    let groups = zd(reqwest::Method::GET, url, "groups.json", None).await;
    groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["name"].as_str() == Some(name))
        .filter_map(|g| g["id"].as_u64())
        .collect()
}

async fn freshdesk_agents_with(url: &str, email: &str) -> Vec<u64> {
    let agents = fd(
        reqwest::Method::GET,
        url,
        &format!("agents?email={email}"),
        None,
    )
    .await;
    agents
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["id"].as_u64())
        .collect()
}

async fn freshdesk_group_named(url: &str, name: &str) -> Vec<u64> {
    let groups = fd(reqwest::Method::GET, url, "groups?per_page=100", None).await;
    groups
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["name"].as_str() == Some(name))
        .filter_map(|g| g["id"].as_u64())
        .collect()
}

/// The id of the copy of `side`'s ticket `id`, by the store's link.
async fn copy_of(store: &dyn cutover_store::Store, side: Side, id: u64) -> Option<String> {
    let link = store
        .find_link(RecordKind::Ticket, side, &PlatformId::from(id))
        .await
        .unwrap()?
        .link;
    Some(link.id(side.other()).as_str().to_owned())
}

/// A log's text without its terminal colours (`ESC [ … m`).
fn without_colours(log: &str) -> String {
    let mut out = String::with_capacity(log.len());
    let mut chars = log.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The plan's `[mapping.agents] unmatched` e-mail.
fn unmatched_agent(plan: &str) -> String {
    plan.lines()
        .find_map(|l| l.trim().strip_prefix("unmatched = \""))
        .and_then(|rest| rest.split('"').next())
        .expect("the plan names an unmatched agent")
        .to_owned()
}

/// Zendesk old, Freshdesk new: after the backfill, with `cutover serve` running, each side gains
/// a group and an agent in it, and the old side an agent the plan drops and one whose address
/// the new side already has; tickets assigned to them are copied, after a drain, assigned to
/// the agents and groups carried or matched on the other side (one copy each), and the dropped
/// agent's to the plan's stand-in; the source's lists are read once per new agent or group met,
/// not per ticket.
async fn late_agents_and_groups(postgres: bool) -> String {
    let mv = Bridge::<zendesk::App, freshdesk::App>::backfilled_with(postgres, 2).await;
    let plan_path = mv.dir.path().join("cutover.toml");
    let plan = std::fs::read_to_string(&plan_path).unwrap();
    let stand_in = unmatched_agent(&plan);
    // The plan drops one agent the old side will gain.
    let edited = plan.replacen(
        "[mapping.agents.overrides]",
        "[mapping.agents.overrides]\n\"dropped.hire@example.com\" = \"drop\"",
        1,
    );
    assert_ne!(plan, edited, "the plan has no [mapping.agents.overrides]");
    std::fs::write(&plan_path, edited).unwrap();
    // A group appears on the old side; `plan refresh` gives it a line to decide, decided as
    // "create". (A group the plan does not name is not carried: see "Unplanned Team" below.)
    let old_group = zendesk_group(mv.old.url(), "Late Night Shift").await;
    mv.expect(0, &["plan", "refresh"]).await;
    let plan = std::fs::read_to_string(&plan_path).unwrap();
    let open = "# open: \"Late Night Shift\" = \"…\"";
    assert!(plan.contains(open), "{plan}");
    let decided = plan.replacen(open, "\"Late Night Shift\" = \"create\"", 1);
    std::fs::write(&plan_path, decided).unwrap();
    mv.expect(0, &["plan", "check"]).await;
    let store = cutover_store::open(&mv.store.parse().unwrap())
        .await
        .unwrap();
    let (old, new) = (mv.old.url(), mv.new.url());
    let served = mv.serve(0).await;

    // The old side: a new group with a new agent; an agent the new side has already; an agent
    // the plan drops.
    let old_hire = zendesk_agent(old, "late.hire@example.com", Some(old_group)).await;
    let matched = fd(
        reqwest::Method::POST,
        new,
        "agents",
        Some(json!({"email": "both.sides@example.com", "name": "Both Sides", "ticket_scope": 1})),
    )
    .await["id"]
        .as_u64()
        .unwrap();
    let old_both = zendesk_agent(old, "both.sides@example.com", None).await;
    let old_dropped = zendesk_agent(old, "dropped.hire@example.com", None).await;
    // Several tickets each: the agent is carried (or left behind) once, not looked up per ticket.
    let mut t_hires = Vec::new();
    for n in 0..4 {
        t_hires
            .push(zendesk_ticket(old, &format!("Late hire {n}"), old_hire, Some(old_group)).await);
    }
    let t_both = zendesk_ticket(old, "Both sides", old_both, None).await;
    let unplanned = zendesk_group(old, "Unplanned Team").await;
    let t_unplanned = zendesk_ticket(old, "Unplanned team", old_hire, Some(unplanned)).await;
    let mut t_droppeds = Vec::new();
    for n in 0..3 {
        t_droppeds.push(zendesk_ticket(old, &format!("Dropped hire {n}"), old_dropped, None).await);
    }

    // The new side: a new group with a new agent, and a ticket assigned to them.
    let new_group = fd(
        reqwest::Method::POST,
        new,
        "groups",
        Some(json!({"name": "New Side Desk"})),
    )
    .await["id"]
        .as_u64()
        .unwrap();
    let new_hire = fd(
        reqwest::Method::POST,
        new,
        "agents",
        Some(json!({"email": "new.hire@example.com", "name": "New Hire", "ticket_scope": 1, "group_ids": [new_group]})),
    )
    .await["id"]
        .as_u64()
        .unwrap();
    let t_new = fd(
        reqwest::Method::POST,
        new,
        "tickets",
        Some(json!({
            "subject": "New side hire",
            "description": "Opened on the new side",
            "email": "late.customer2@example.com",
            "status": 2,
            "priority": 1,
            "responder_id": new_hire,
            "group_id": new_group,
        })),
    )
    .await["id"]
        .as_u64()
        .unwrap();

    // Zendesk's export shows the last minute once it has passed.
    mv.skip_a_minute().await;
    let (code, stdout, stderr) = mv.cutover(&["sync", "drain", "--timeout", "150s"]).await;
    assert_eq!(code, 0, "drain: {stdout}\n{stderr}\n{}", read(&served.log));

    // Old to new: the new agent and group carried, once each.
    let fd_hire = freshdesk_agents_with(new, "late.hire@example.com").await;
    assert_eq!(fd_hire.len(), 1, "one copy of the new agent: {fd_hire:?}");
    let fd_group = freshdesk_group_named(new, "Late Night Shift").await;
    assert_eq!(fd_group.len(), 1, "one copy of the new group: {fd_group:?}");
    for t_hire in &t_hires {
        let copy = copy_of(store.as_ref(), Side::Old, *t_hire)
            .await
            .unwrap_or_else(|| panic!("ticket {t_hire} not copied\n{}", read(&served.log)));
        let ticket = fd(reqwest::Method::GET, new, &format!("tickets/{copy}"), None).await;
        assert_eq!(ticket["responder_id"], json!(fd_hire[0]), "{ticket:#}");
        assert_eq!(ticket["group_id"], json!(fd_group[0]), "{ticket:#}");
    }
    // A group the plan does not name is not carried: the copy has the real agent, no group
    // (the plan names no `unmatched_group`).
    assert!(
        freshdesk_group_named(new, "Unplanned Team")
            .await
            .is_empty()
    );
    let copy = copy_of(store.as_ref(), Side::Old, t_unplanned)
        .await
        .unwrap();
    let ticket = fd(reqwest::Method::GET, new, &format!("tickets/{copy}"), None).await;
    assert_eq!(ticket["responder_id"], json!(fd_hire[0]), "{ticket:#}");
    assert_eq!(ticket["group_id"], Value::Null, "{ticket:#}");
    // The group the plan does not name is in the dead letters, saying which line to add.
    let letters = mv.expect(0, &["deadletters", "list"]).await;
    assert!(
        letters.contains("\"Unplanned Team\" has no mapping"),
        "{letters}"
    );
    // The agent the new side had already is matched, not doubled.
    assert_eq!(
        freshdesk_agents_with(new, "both.sides@example.com").await,
        vec![matched]
    );
    let copy = copy_of(store.as_ref(), Side::Old, t_both).await.unwrap();
    let ticket = fd(reqwest::Method::GET, new, &format!("tickets/{copy}"), None).await;
    assert_eq!(ticket["responder_id"], json!(matched), "{ticket:#}");
    // The agent the plan drops is not carried: the stand-in has the ticket.
    assert!(
        freshdesk_agents_with(new, "dropped.hire@example.com")
            .await
            .is_empty()
    );
    let stand_in_id = freshdesk_agents_with(new, &stand_in).await;
    assert_eq!(
        stand_in_id.len(),
        1,
        "the stand-in {stand_in} on the new side"
    );
    for t_dropped in &t_droppeds {
        let copy = copy_of(store.as_ref(), Side::Old, *t_dropped)
            .await
            .unwrap();
        let ticket = fd(reqwest::Method::GET, new, &format!("tickets/{copy}"), None).await;
        assert_eq!(ticket["responder_id"], json!(stand_in_id[0]), "{ticket:#}");
    }

    // New to old: the new side's agent carried onto the old side; its group, which the plan
    // has no way back for (it appeared after the last `plan refresh`, so `[mapping.new_groups]`
    // has no line for it), is not: no group on the copy (see
    // `a_group_made_on_the_new_side_goes_back_by_the_plans_way_back` for the line given).
    let zd_hire = zendesk_users_with(old, "new.hire@example.com").await;
    assert_eq!(zd_hire.len(), 1, "one copy of the new side's agent");
    assert!(zendesk_group_named(old, "New Side Desk").await.is_empty());
    let copy = copy_of(store.as_ref(), Side::New, t_new)
        .await
        .unwrap_or_else(|| panic!("ticket {t_new} not copied\n{}", read(&served.log)));
    let ticket = zd(
        reqwest::Method::GET,
        old,
        &format!("tickets/{copy}.json"),
        None,
    )
    .await;
    assert_eq!(
        ticket["ticket"]["assignee_id"],
        json!(zd_hire[0]),
        "{ticket:#}"
    );
    assert_eq!(ticket["ticket"]["group_id"], Value::Null, "{ticket:#}");

    // The carried agents and groups are linked, as the backfill links its own.
    for (kind, side, id) in [
        (RecordKind::Agent, Side::Old, old_hire),
        (RecordKind::Group, Side::Old, old_group),
        (RecordKind::Agent, Side::New, new_hire),
    ] {
        let link = store
            .find_link(kind, side, &PlatformId::from(id))
            .await
            .unwrap();
        assert!(link.is_some(), "{kind} {id} on the {side} side is linked");
    }
    // What it cost: the old side's lists of agents and groups read for 8 tickets naming three
    // new agents and a new group (one list each when they are met in one pass; a pass that
    // began between two creates may read one again).
    let log = without_colours(&read(&served.log));
    let lists = |kind: &str, from: &str| {
        log.lines()
            .filter(|l| l.contains("Read the source's list of a kind"))
            .filter(|l| l.contains(&format!("kind={kind}")) && l.contains(&format!("from={from}")))
            .count()
    };
    let (agents_old, groups_old) = (lists("agent", "old"), lists("group", "old"));
    let (agents_new, groups_new) = (lists("agent", "new"), lists("group", "new"));
    assert!((1..=2).contains(&agents_old) && groups_old <= 2, "{log}");
    assert!(agents_new <= 3 && groups_new <= 2, "{log}");
    served.terminate().await;
    store.close().await;
    format!(
        "lists read to carry: old side agents {agents_old}, groups {groups_old}; new side agents {agents_new}, groups {groups_new}"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bridge_carries_agents_and_groups_gained_after_the_backfill_on_sqlite() {
    let cost = tokio::time::timeout(Duration::from_secs(600), late_agents_and_groups(false))
        .await
        .expect("the story took too long");
    eprintln!("{cost}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bridge_carries_agents_and_groups_gained_after_the_backfill_on_postgres() {
    let cost = tokio::time::timeout(Duration::from_secs(600), late_agents_and_groups(true))
        .await
        .expect("the story took too long");
    eprintln!("{cost}");
}

/// Issue 13, item 3: a group made on the new side after the backfill, which `[mapping.groups]`
/// cannot name (its keys are the old account's). `plan refresh` gives it an open line under
/// `[mapping.new_groups]`, decided as "create"; `plan check` takes it; a ticket opened in it on
/// the new side reaches the old side in the group the bridge created there, once, and nothing
/// is dead-lettered.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_group_made_on_the_new_side_goes_back_by_the_plans_way_back() {
    let mv = Bridge::<zendesk::App, freshdesk::App>::backfilled_with(false, 2).await;
    let (old, new) = (mv.old.url(), mv.new.url());
    let new_group = fd(
        reqwest::Method::POST,
        new,
        "groups",
        Some(json!({"name": "Weekend Desk"})),
    )
    .await["id"]
        .as_u64()
        .unwrap();
    let refreshed = mv.expect(0, &["plan", "refresh"]).await;
    assert!(
        refreshed.contains("group \"Weekend Desk\" (the way back, [mapping.new_groups])"),
        "{refreshed}"
    );
    let plan_path = mv.dir.path().join("cutover.toml");
    let plan = std::fs::read_to_string(&plan_path).unwrap();
    let open = "# open: \"Weekend Desk\" = \"…\"";
    let at = plan
        .find(open)
        .unwrap_or_else(|| panic!("no open line: {plan}"));
    assert!(
        plan[..at].rfind("[mapping.new_groups]").is_some(),
        "the line is under [mapping.new_groups]: {plan}"
    );
    std::fs::write(
        &plan_path,
        plan.replacen(open, "\"Weekend Desk\" = \"create\"", 1),
    )
    .unwrap();
    mv.expect(0, &["plan", "check"]).await;

    let served = mv.serve(0).await;
    let t_new = fd(
        reqwest::Method::POST,
        new,
        "tickets",
        Some(json!({
            "subject": "Weekend question",
            "description": "Opened in a group only the new side has",
            "email": "weekend.customer@example.com",
            "status": 2,
            "priority": 1,
            "group_id": new_group,
        })),
    )
    .await["id"]
        .as_u64()
        .unwrap();
    mv.skip_a_minute().await;
    let (code, stdout, stderr) = mv.cutover(&["sync", "drain", "--timeout", "150s"]).await;
    assert_eq!(code, 0, "drain: {stdout}\n{stderr}\n{}", read(&served.log));

    let made = zendesk_group_named(old, "Weekend Desk").await;
    assert_eq!(
        made.len(),
        1,
        "one copy of the group on the old side: {made:?}"
    );
    let store = cutover_store::open(&mv.store.parse().unwrap())
        .await
        .unwrap();
    let copy = copy_of(store.as_ref(), Side::New, t_new)
        .await
        .unwrap_or_else(|| panic!("ticket {t_new} not copied\n{}", read(&served.log)));
    let ticket = zd(
        reqwest::Method::GET,
        old,
        &format!("tickets/{copy}.json"),
        None,
    )
    .await;
    assert_eq!(ticket["ticket"]["group_id"], json!(made[0]), "{ticket:#}");
    let link = store
        .find_link(RecordKind::Group, Side::New, &PlatformId::from(new_group))
        .await
        .unwrap()
        .expect("the new side's group is linked");
    assert_eq!(link.link.old_id, PlatformId::from(made[0]));
    let letters = mv.expect(0, &["deadletters", "list"]).await;
    assert!(letters.contains("No dead letters."), "{letters}");
    served.terminate().await;
    store.close().await;
}
