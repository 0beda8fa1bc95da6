//! End to end over real HTTP between the Zendesk and the Freshdesk emulators, both ways, with
//! the plan `cutover init` writes (its groups, custom fields and custom statuses named for the
//! generated accounts, as a person would): backfill with no dead letter, verify clean apart from
//! the [`KNOWN`] losses, a second run that changes nothing, and no customer e-mailed by the
//! target. Into Freshdesk, history is checked straight from its API: private notes with a
//! header line, the original id and time in the origin fields.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use cutover_connect::{Connector, FreshdeskConnector};
use cutover_engine::{Mapping, VerifyReport, backfill, verify};
use cutover_model::records::{FieldTarget, Record};
use cutover_model::{PlatformId, PlatformKind, RecordKind, Side};
use cutover_plan::plan::init::{InitOptions, render};
use cutover_plan::plan::model::Mapping as PlanMapping;
use cutover_plan::plan::values::Target;
use cutover_store::Store;

use crate::support::{
    self, KINDS, assert_changed_nothing, assert_no_one_emailed, backfill_without_dead_letters,
    freshdesk_sim, move_options, read_all, zendesk_at, zendesk_sim,
};

pub(crate) fn freshdesk_connector(side: Side, url: &str) -> Arc<dyn Connector> {
    let mut config = support::freshdesk_config(side, url);
    // Where `cutover init` puts the old id (`[copy] keep_original.id_field`).
    config.origin_fields.id = "cf_original_id".to_owned();
    Arc::new(FreshdeskConnector::new(config).unwrap())
}

/// The plan `cutover init --from {from} --to {to}` writes, with the old account's groups (same
/// name on the new side) and custom ticket fields (by title; Freshdesk's `cf_` name when the
/// new side is Freshdesk): what a person fills in after `inventory`.
async fn plan_mapping(old: &dyn Connector, to: PlatformKind) -> Mapping {
    Mapping::from_plan(&plan_tables(old, to).await)
}

/// The tables of [`plan_mapping`], for a test to change before building the mapping.
pub(crate) async fn plan_tables(old: &dyn Connector, to: PlatformKind) -> PlanMapping {
    let text = render(&InitOptions {
        from: old.platform(),
        to,
        old_url: None,
        new_url: None,
    });
    let mut plan = cutover_plan::plan::check_str("cutover.toml", &text).unwrap();
    plan.mapping.groups = read_all(old, RecordKind::Group)
        .await
        .into_iter()
        .filter_map(|o| match o.record {
            Record::Group(g) => Some((g.name.clone(), Target::To(g.name))),
            _ => None,
        })
        .collect();
    plan.mapping.fields = read_all(old, RecordKind::CustomField)
        .await
        .into_iter()
        .filter_map(|o| match o.record {
            Record::CustomField(def) if def.target == FieldTarget::Ticket => {
                let name = match to {
                    PlatformKind::Freshdesk => {
                        cutover_plan::plan::init::freshdesk_field_name(&def.title)
                    }
                    _ => def.title.clone(),
                };
                Some((def.title, Target::To(name)))
            }
            _ => None,
        })
        .collect::<BTreeMap<_, _>>();
    // The old account's own statuses (Freshdesk's custom ones, by code), as the dead letters'
    // "add 6 = …" lines ask.
    for observed in read_all(old, RecordKind::Ticket).await {
        if let Record::Ticket(ticket) = observed.record {
            plan.mapping
                .statuses
                .entry(ticket.status)
                .or_insert_with(|| Target::To("open".to_owned()));
        }
    }
    plan.mapping
}

/// Backfill, verify, backfill again: the whole check for one direction.
async fn round(
    source: Arc<dyn Connector>,
    target: Arc<dyn Connector>,
    mapping: Mapping,
    target_url: &str,
) {
    let (store, _dir) = support::store().await;
    // What the target holds before the move (its admin, its default group): extra, and fine.
    let mut before = BTreeSet::new();
    for kind in [
        RecordKind::Organization,
        RecordKind::Contact,
        RecordKind::Group,
        RecordKind::Agent,
        RecordKind::CustomField,
    ] {
        for observed in read_all(target.as_ref(), kind).await {
            before.insert((kind, observed.id));
        }
    }
    let first = backfill_without_dead_letters(&store, &source, &target, &mapping).await;
    assert!(
        first.counts(RecordKind::Ticket).created > 0,
        "{}",
        first.summary()
    );

    let (old, new) = match source.side() {
        Side::Old => (&source, &target),
        Side::New => (&target, &source),
    };
    let report = verify(
        store.as_ref(),
        old.as_ref(),
        new.as_ref(),
        mapping.clone(),
        KINDS,
    )
    .await
    .unwrap();
    let unexplained = unexplained(&report, &before);
    assert!(
        unexplained.is_empty(),
        "{}\n{}\n{}",
        report.summary(),
        unexplained.join("\n"),
        serde_json::to_string_pretty(&report).unwrap()
    );

    // A ticket's channel is levelled only by the target's own rule: into Freshdesk, a channel it
    // has not (written as its stand-in); into Zendesk, any channel (it cannot write one).
    let not_comparable = &report.kinds[&RecordKind::Ticket].not_comparable;
    let wrong_rule = match target.platform() {
        PlatformKind::Freshdesk => cutover_engine::losses::CHANNEL,
        _ => cutover_engine::losses::CHANNEL_STAND_IN,
    };
    assert!(
        !not_comparable.contains_key(&wrong_rule.reason()),
        "{not_comparable:?}"
    );

    if target.platform() == PlatformKind::Freshdesk {
        freshdesk_history(store.as_ref(), target_url).await;
    }

    let second = backfill(Arc::clone(&store), source, target, mapping, move_options())
        .await
        .unwrap();
    assert_changed_nothing(&second);
    assert_no_one_emailed(target_url).await;
}

/// Whether an HTML body opens with cutover's header line naming the original comment.
fn header_first(html: &str) -> bool {
    html.trim_start_matches("<p>")
        .starts_with("[cutover:old:comment:")
}

/// Into Freshdesk, read straight from its API: every copied ticket names its original id and
/// time in the origin fields, and its history is private notes (no reply, so no e-mail), each
/// opening with a header line that names the original comment.
async fn freshdesk_history(store: &dyn Store, url: &str) {
    let client = reqwest::Client::new();
    let get = |path: String| {
        let request = client
            .get(format!("{url}/api/v2/{path}"))
            .basic_auth("sim-key", Some("X"));
        async move {
            let answer = request.send().await.unwrap();
            assert!(answer.status().is_success(), "{}", answer.status());
            answer.json::<serde_json::Value>().await.unwrap()
        }
    };
    let tickets = crate::fidelity::links(store, RecordKind::Ticket).await;
    let mut notes = 0;
    for (old_id, new_id) in &tickets {
        let ticket = get(format!("tickets/{new_id}")).await;
        let fields = &ticket["custom_fields"];
        assert_eq!(
            fields["cf_original_id"],
            format!("cutover:old:ticket:{old_id}"),
            "{ticket}"
        );
        assert!(fields["cf_cutover_created_at"].is_string(), "{ticket}");
        let description = ticket["description"].as_str().unwrap();
        assert!(header_first(description), "{description}");
        let conversations = get(format!("tickets/{new_id}/conversations")).await;
        for note in conversations.as_array().unwrap() {
            assert_eq!(note["private"], true, "{note}");
            let body = note["body"].as_str().unwrap();
            assert!(header_first(body), "{body}");
            notes += 1;
        }
    }
    assert!(notes > 0, "no history was written as notes");
}

/// Differences that are known losses of a move into Freshdesk, or a known gap of an emulator,
/// each with its reason. Everything else fails the test. Empty: verify itself levels what the
/// target cannot hold (counted as not comparable), from the connectors' capabilities.
const KNOWN: &[(RecordKind, &str, &str)] = &[];

/// The differences of a verification that neither existed before the move nor are [`KNOWN`].
fn unexplained(report: &VerifyReport, before: &BTreeSet<(RecordKind, PlatformId)>) -> Vec<String> {
    let known = |kind: RecordKind, pointer: &str| {
        KNOWN
            .iter()
            .any(|(k, prefix, _)| *k == kind && pointer.starts_with(prefix))
    };
    let mut left = Vec::new();
    for (kind, k) in &report.kinds {
        left.extend(
            k.missing
                .iter()
                .map(|m| format!("{kind} {} missing: {}", m.old_id, m.reason)),
        );
        left.extend(
            k.extra
                .iter()
                .filter(|id| !before.contains(&(*kind, (*id).clone())))
                .map(|id| format!("{kind} {id} extra")),
        );
        for d in &k.different {
            if !d.fields.iter().all(|f| known(*kind, &f.pointer)) {
                left.push(format!("{kind} {} different: {:?}", d.old_id, d.fields));
            }
        }
    }
    left
}

#[tokio::test]
async fn zendesk_to_freshdesk_copies_everything_proves_it_and_emails_no_one() {
    let old = zendesk_sim(11, 8).await;
    let new = freshdesk_sim(12, 0).await;
    let source = zendesk_at(Side::Old, old.url());
    let target = freshdesk_connector(Side::New, new.url());
    let mapping = plan_mapping(source.as_ref(), PlatformKind::Freshdesk).await;
    round(source, target, mapping, new.url()).await;
}

#[tokio::test]
async fn freshdesk_to_zendesk_copies_everything_proves_it_and_emails_no_one() {
    let old = freshdesk_sim(12, 8).await;
    let new = zendesk_sim(11, 0).await;
    let source = freshdesk_connector(Side::Old, old.url());
    let target = zendesk_at(Side::New, new.url());
    let mapping = plan_mapping(source.as_ref(), PlatformKind::Zendesk).await;
    round(source, target, mapping, new.url()).await;
}
