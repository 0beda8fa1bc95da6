//! A person never holds back a customer's history: a move whose `[copy] kinds` leave agents and
//! groups out (so no ticket's agent or group, no comment's author can be carried) copies every
//! ticket and comment all the same, with the plan's stand-ins (`[mapping.agents] unmatched`,
//! `[mapping] unmatched_group`), names the originals where the target keeps history (the
//! comment's header line, the ticket's origin field on Freshdesk), and verify counts those
//! fields as not comparable, with the reason; `cutover inventory` names all this before anything
//! moves. Both directions, over real HTTP.

use std::collections::BTreeSet;
use std::sync::Arc;

use cutover_connect::Connector;
use cutover_engine::discover;
use cutover_engine::inventory::inventory;
use cutover_engine::{BackfillOptions, Mapping, VerifyReport, backfill, verify};
use cutover_model::accounts::AccountSnapshot;
use cutover_model::records::Record;
use cutover_model::{PlatformKind, RecordKind, Side};
use cutover_plan::plan::model::Mapping as PlanMapping;
use cutover_store::{DeadLetterFilter, Store};
use serde_json::Value;

use crate::fidelity::{Api, links};
use crate::freshdesk_e2e::{freshdesk_connector, plan_tables};
use crate::support::{
    self, assert_changed_nothing, assert_no_one_emailed, freshdesk_sim, move_options, read_all,
    zendesk_at, zendesk_sim,
};

/// A move without agents and groups.
const WITHOUT_PEOPLE: &[RecordKind] = &[
    RecordKind::Organization,
    RecordKind::Contact,
    RecordKind::CustomField,
    RecordKind::Ticket,
    RecordKind::Comment,
    RecordKind::Attachment,
];

fn options(kinds: &[RecordKind]) -> BackfillOptions {
    BackfillOptions {
        kinds: kinds.to_vec(),
        ..move_options()
    }
}

/// The plan's tables with the stand-ins named: an agent and a group of the new account.
async fn tables(old: &dyn Connector, to: PlatformKind, agent: &str, group: &str) -> PlanMapping {
    let mut tables = plan_tables(old, to).await;
    tables.agents.unmatched = Some(agent.parse().unwrap());
    tables.unmatched_group = Some(group.to_owned());
    tables
}

/// What the new account offers, as `cutover inventory` reads it.
async fn account(new: &dyn Connector) -> AccountSnapshot {
    discover(new, false, &|_, _| {}).await.unwrap()
}

/// Before anything moves, `cutover inventory` names what takes a stand-in, and how much.
async fn inventory_names_the_stand_ins(
    old: &dyn Connector,
    new: &dyn Connector,
    tables: &PlanMapping,
    originals: &Originals,
) {
    let inventory = inventory(old, new, tables, WITHOUT_PEOPLE, &account(new).await)
        .await
        .unwrap();
    let detail = |what: &str| {
        inventory
            .losses
            .iter()
            .find(|l| l.what == what)
            .map(|l| l.detail.clone())
            .unwrap_or_else(|| panic!("{what}: {}", inventory.summary()))
    };
    let assignee = detail("ticket.assignee");
    assert!(
        assignee.starts_with(&format!(
            "{} tickets are assigned to agents",
            originals.assigned
        )) && assignee.contains("left out of [copy] kinds"),
        "{assignee}"
    );
    let group = detail("ticket.group");
    assert!(
        group.starts_with(&format!("{} tickets belong to groups", originals.grouped)),
        "{group}"
    );
    assert!(detail("comment.author").contains("header line"));
}

/// The id of the record of `kind` on `connector`'s side that `pick` finds.
async fn id_of(
    connector: &dyn Connector,
    kind: RecordKind,
    pick: impl Fn(&Record) -> bool,
) -> Option<u64> {
    read_all(connector, kind)
        .await
        .into_iter()
        .find(|o| pick(&o.record))
        .and_then(|o| o.id.to_string().parse().ok())
}

/// What the old side's tickets hold: how many have an agent, how many a group, and the
/// people who wrote them (as the header names them, HTML-escaped).
struct Originals {
    assigned: u64,
    grouped: u64,
    agents: Vec<String>,
}

async fn originals(old: &dyn Connector) -> Originals {
    let tickets = read_all(old, RecordKind::Ticket).await;
    let count = |f: fn(&Record) -> bool| tickets.iter().filter(|o| f(&o.record)).count() as u64;
    let agents = read_all(old, RecordKind::Agent)
        .await
        .into_iter()
        .filter_map(|o| match o.record {
            Record::Agent(a) => Some(format!("{} &lt;{}&gt;", a.name, a.email)),
            _ => None,
        })
        .collect();
    Originals {
        assigned: count(|r| matches!(r, Record::Ticket(t) if t.assignee.is_some())),
        grouped: count(|r| matches!(r, Record::Ticket(t) if t.group.is_some())),
        agents,
    }
}

/// Backfills `kinds`: no dead letter, every ticket copied.
async fn move_all_history(
    store: &Arc<dyn Store>,
    (source, target): (&Arc<dyn Connector>, &Arc<dyn Connector>),
    mapping: &Mapping,
    kinds: &[RecordKind],
) {
    let report = backfill(
        Arc::clone(store),
        Arc::clone(source),
        Arc::clone(target),
        mapping.clone(),
        options(kinds),
    )
    .await
    .unwrap();
    let letters = store
        .dead_letters(&DeadLetterFilter::default())
        .await
        .unwrap();
    let reasons: Vec<String> = letters
        .iter()
        .map(|l| format!("{} {}: {}", l.kind, l.source_id, l.reason))
        .collect();
    assert!(
        reasons.is_empty(),
        "{}\n{}",
        report.summary(),
        reasons.join("\n")
    );
    assert!(
        report.counts(RecordKind::Ticket).created > 0,
        "{}",
        report.summary()
    );
}

/// Verify is clean, with the fields whose originals were not carried counted as not
/// comparable under their reason.
async fn verified(
    store: &dyn Store,
    (old, new): (&dyn Connector, &dyn Connector),
    mapping: Mapping,
    kinds: &[RecordKind],
    originals: &Originals,
) -> VerifyReport {
    let report = verify(store, old, new, mapping, kinds).await.unwrap();
    for (kind, k) in &report.kinds {
        assert!(
            k.missing.is_empty() && k.different.is_empty() && k.extra.is_empty(),
            "{kind}: {}\n{}",
            report.summary(),
            serde_json::to_string_pretty(&report).unwrap()
        );
    }
    let not_comparable = |kind: RecordKind, key: &str| -> u64 {
        report.kinds[&kind]
            .not_comparable
            .iter()
            .filter(|(reason, _)| reason.starts_with(key))
            .map(|(_, n)| n)
            .sum()
    };
    assert_eq!(
        not_comparable(
            RecordKind::Ticket,
            "ticket.assignee: its agent is not carried"
        ),
        originals.assigned
    );
    assert_eq!(
        not_comparable(RecordKind::Ticket, "ticket.group: its group is not carried"),
        originals.grouped
    );
    assert!(
        not_comparable(
            RecordKind::Comment,
            "comment.author: its author is not carried"
        ) > 0
    );
    report
}

/// Whether a comment body opens with cutover's header line naming one of `people`.
fn names_one_of(html: &str, people: &[String]) -> bool {
    let header = html.split("</p>").next().unwrap_or_default();
    header.contains("[cutover:old:comment:") && people.iter().any(|p| header.contains(p.as_str()))
}

/// A move without agents and groups, done and verified, with what the tests check after it.
struct Moved {
    store: Arc<dyn Store>,
    _dir: tempfile::TempDir,
    source: Arc<dyn Connector>,
    target: Arc<dyn Connector>,
    mapping: Mapping,
    originals: Originals,
    /// The stand-in agent's and group's ids on the target.
    agent: Option<u64>,
    group: Option<u64>,
}

impl Moved {
    /// Inventory, backfill and verify of a move without agents and groups, the plan naming
    /// `agent` and `group` of the target as stand-ins.
    async fn run(
        (source, target): (Arc<dyn Connector>, Arc<dyn Connector>),
        agent: &str,
        group: &str,
    ) -> Moved {
        let tables = tables(source.as_ref(), target.platform(), agent, group).await;
        let mapping = Mapping::from_plan(&tables);
        let originals = originals(source.as_ref()).await;
        assert!(originals.assigned > 0 && originals.grouped > 0);
        inventory_names_the_stand_ins(source.as_ref(), target.as_ref(), &tables, &originals).await;
        let (store, dir) = support::store().await;
        move_all_history(&store, (&source, &target), &mapping, WITHOUT_PEOPLE).await;
        verified(
            store.as_ref(),
            (source.as_ref(), target.as_ref()),
            mapping.clone(),
            WITHOUT_PEOPLE,
            &originals,
        )
        .await;
        let agent = id_of(
            target.as_ref(),
            RecordKind::Agent,
            |r| matches!(r, Record::Agent(a) if a.email == agent),
        )
        .await;
        let group = id_of(
            target.as_ref(),
            RecordKind::Group,
            |r| matches!(r, Record::Group(g) if g.name == group),
        )
        .await;
        assert!(
            agent.is_some() && group.is_some(),
            "the stand-ins exist on the target"
        );
        Moved {
            store,
            _dir: dir,
            source,
            target,
            mapping,
            originals,
            agent,
            group,
        }
    }

    /// The ids of the tickets' copies.
    async fn copies(&self) -> Vec<String> {
        links(self.store.as_ref(), RecordKind::Ticket)
            .await
            .into_values()
            .collect()
    }

    /// A second run changes nothing, and the target e-mailed no one.
    async fn again_changes_nothing(self, target_url: &str) {
        let second = backfill(
            Arc::clone(&self.store),
            self.source,
            self.target,
            self.mapping,
            options(WITHOUT_PEOPLE),
        )
        .await
        .unwrap();
        assert_changed_nothing(&second);
        assert_no_one_emailed(target_url).await;
    }
}

#[tokio::test]
async fn into_freshdesk_tickets_and_comments_of_agents_not_carried_take_the_stand_ins() {
    let old = zendesk_sim(21, 8).await;
    let new = freshdesk_sim(22, 0).await;
    let sides = (
        zendesk_at(Side::Old, old.url()),
        freshdesk_connector(Side::New, new.url()),
    );
    let moved = Moved::run(sides, "admin@cutover-sim.example.com", "Billing").await;
    let client = reqwest::Client::new();
    let get = |path: String| {
        let request = client
            .get(format!("{}/api/v2/{path}", new.url()))
            .basic_auth("sim-key", Some("X"));
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let (mut stood_in, mut named) = (0, 0);
    for new_id in moved.copies().await {
        let ticket = get(format!("tickets/{new_id}")).await;
        let origin = ticket["custom_fields"]["cf_cutover_author"]
            .as_str()
            .unwrap_or_default();
        if ticket["responder_id"].as_u64() == moved.agent {
            assert!(origin.contains("assignee: "), "{ticket}");
            stood_in += 1;
        }
        if ticket["group_id"].as_u64() == moved.group {
            assert!(origin.contains("group: "), "{ticket}");
        }
        for note in get(format!("tickets/{new_id}/conversations"))
            .await
            .as_array()
            .unwrap()
        {
            if note["user_id"].as_u64() == moved.agent {
                let body = note["body"].as_str().unwrap();
                assert!(names_one_of(body, &moved.originals.agents), "{body}");
                named += 1;
            }
        }
    }
    assert_eq!(stood_in, moved.originals.assigned);
    assert!(named > 0, "no note was written as the stand-in");
    moved.again_changes_nothing(new.url()).await;
}

#[tokio::test]
async fn into_zendesk_tickets_and_comments_of_agents_not_carried_take_the_stand_ins() {
    let old = freshdesk_sim(23, 8).await;
    let new = zendesk_sim(24, 0).await;
    let sides = (
        freshdesk_connector(Side::Old, old.url()),
        zendesk_at(Side::New, new.url()),
    );
    let moved = Moved::run(sides, "admin@example.com", "Support").await;
    let api = Api::new(new.url());
    let (mut assignees, mut groups) = (BTreeSet::new(), BTreeSet::new());
    let mut named = 0;
    for new_id in moved.copies().await {
        let ticket = api.get(&format!("tickets/{new_id}.json")).await;
        assignees.insert(ticket["ticket"]["assignee_id"].as_u64());
        groups.insert(ticket["ticket"]["group_id"].as_u64());
        let comments = api.get(&format!("tickets/{new_id}/comments.json")).await;
        for comment in comments["comments"].as_array().unwrap() {
            if comment["author_id"].as_u64() == moved.agent {
                let body = comment["html_body"].as_str().unwrap();
                assert!(names_one_of(body, &moved.originals.agents), "{body}");
                named += 1;
            }
        }
    }
    assert!(assignees.contains(&moved.agent), "{assignees:?}");
    assert!(groups.contains(&moved.group), "{groups:?}");
    assert!(named > 0, "no comment was written as the stand-in");
    moved.again_changes_nothing(new.url()).await;
}

#[tokio::test]
async fn the_tickets_and_comments_of_an_agent_who_left_take_the_stand_in() {
    let old = zendesk_sim(25, 8).await;
    let new = freshdesk_sim(26, 0).await;
    let source = zendesk_at(Side::Old, old.url());
    let target = freshdesk_connector(Side::New, new.url());
    // The agent with the most tickets has left: the plan drops them.
    let tickets = read_all(source.as_ref(), RecordKind::Ticket).await;
    let mut by_agent: std::collections::BTreeMap<String, u64> = Default::default();
    for o in &tickets {
        if let Record::Ticket(t) = &o.record
            && let Some(a) = &t.assignee
        {
            *by_agent.entry(a.to_string()).or_default() += 1;
        }
    }
    let (gone, assigned) = by_agent.into_iter().max_by_key(|(_, n)| *n).unwrap();
    let gone = read_all(source.as_ref(), RecordKind::Agent)
        .await
        .into_iter()
        .find(|o| o.id.to_string() == gone)
        .and_then(|o| match o.record {
            Record::Agent(a) => Some(a),
            _ => None,
        })
        .unwrap();
    let mut tables = tables(
        source.as_ref(),
        PlatformKind::Freshdesk,
        "admin@cutover-sim.example.com",
        "Billing",
    )
    .await;
    tables
        .agents
        .overrides
        .insert(gone.email.clone(), "drop".parse().unwrap());
    let mapping = Mapping::from_plan(&tables);
    let originals = Originals {
        assigned,
        grouped: 0,
        agents: vec![format!("{} &lt;{}&gt;", gone.name, gone.email)],
    };
    let inventory = inventory(
        source.as_ref(),
        target.as_ref(),
        &tables,
        support::KINDS,
        &account(target.as_ref()).await,
    )
    .await
    .unwrap();
    assert!(
        inventory.losses.iter().any(|l| l.what == "ticket.assignee"
            && l.detail.starts_with(&format!("{assigned} tickets"))
            && l.detail
                .contains("agents dropped by [mapping.agents.overrides]: 1")),
        "{}",
        inventory.summary()
    );
    let (store, _dir) = support::store().await;
    move_all_history(&store, (&source, &target), &mapping, support::KINDS).await;
    verified(
        store.as_ref(),
        (source.as_ref(), target.as_ref()),
        mapping,
        support::KINDS,
        &originals,
    )
    .await;
}
