//! End to end over real HTTP: a backfill from one Zendesk emulator to another (an account
//! consolidation), then verify, then a second run that must change nothing. The Freshdesk
//! directions join when the Freshdesk emulator exists.

use std::collections::BTreeMap;
use std::sync::Arc;

use cutover_connect::{BudgetConfig, Connector, ReadPosition, ZendeskConfig, ZendeskConnector};
use cutover_control::plan::values::Target;
use cutover_engine::progress::ProgressSink;
use cutover_engine::{BackfillOptions, Mapping, backfill, verify};
use cutover_model::records::{FieldTarget, Record};
use cutover_model::{Observed, PlatformKind, RecordKind, Side};
use cutover_sim::zendesk::{ZendeskOptions, ZendeskSim};
use secrecy::SecretString;

use crate::{fidelity, support};

/// An emulator with `tickets` generated tickets (none when 0) and no rate limit.
async fn emulator(seed: u64, tickets: usize) -> cutover_sim::SimHandle<cutover_sim::zendesk::App> {
    let opts = ZendeskOptions {
        seed,
        tickets,
        rate_limit_rpm: None,
        incremental_rpm: 0,
        ..ZendeskOptions::default()
    };
    ZendeskSim::spawn(opts, "127.0.0.1:0").await.unwrap()
}

fn connector(side: Side, url: &str) -> Arc<dyn Connector> {
    let mut config = ZendeskConfig::with_api_token(
        side,
        url::Url::parse(url).unwrap(),
        "admin@example.com",
        SecretString::from("sim-token"),
    );
    // The emulators' limits are off: so is the budget (no 10-a-minute lane for the exports).
    config.budget = BudgetConfig::new(60_000, 1.0);
    Arc::new(ZendeskConnector::new(config).unwrap())
}

/// Every record of `kind` on `connector`'s side, read through the connector from the start.
async fn read_all(connector: &dyn Connector, kind: RecordKind) -> Vec<Observed> {
    let mut position = ReadPosition::start();
    let mut records = Vec::new();
    loop {
        let page = connector.read_page(kind, &position).await.unwrap();
        assert!(page.rejected.is_empty(), "{kind}: {:?}", page.rejected);
        records.extend(page.items);
        match page.next {
            Some(next) if !page.done && next != position => position = next,
            _ => return records,
        }
    }
}

/// Zendesk to Zendesk, as a person would write the plan: every built-in value, every group and
/// every custom ticket field (by title) of the old account maps to itself.
async fn identity_mapping(source: &dyn Connector) -> Mapping {
    let mut plan = support::plan();
    let identity = |values: &[&str]| -> BTreeMap<String, Target> {
        values
            .iter()
            .map(|v| ((*v).to_owned(), Target::To((*v).to_owned())))
            .collect()
    };
    let groups: Vec<String> = read_all(source, RecordKind::Group)
        .await
        .into_iter()
        .filter_map(|o| match o.record {
            Record::Group(group) => Some(group.name),
            _ => None,
        })
        .collect();
    let fields: Vec<String> = read_all(source, RecordKind::CustomField)
        .await
        .into_iter()
        .filter_map(|o| match o.record {
            Record::CustomField(def) if def.target == FieldTarget::Ticket => Some(def.title),
            _ => None,
        })
        .collect();
    plan.mapping.statuses = identity(PlatformKind::Zendesk.statuses());
    plan.mapping.priorities = identity(PlatformKind::Zendesk.priorities());
    plan.mapping.roles = identity(PlatformKind::Zendesk.roles());
    plan.mapping.groups = identity(&groups.iter().map(String::as_str).collect::<Vec<_>>());
    plan.mapping.fields = identity(&fields.iter().map(String::as_str).collect::<Vec<_>>());
    Mapping::from_plan(&plan.mapping)
}

/// Every dead letter's kind, id and reason, one a line (empty when there are none).
async fn dead_letters(store: &dyn cutover_store::Store) -> String {
    let filter = cutover_store::DeadLetterFilter::default();
    let letters = store.dead_letters(&filter).await.unwrap();
    letters
        .iter()
        .map(|l| format!("{} {}: {}\n", l.kind, l.source_id, l.reason))
        .collect()
}

const KINDS: &[RecordKind] = &[
    RecordKind::Organization,
    RecordKind::Contact,
    RecordKind::Group,
    RecordKind::Agent,
    RecordKind::CustomField,
    RecordKind::Ticket,
    RecordKind::Comment,
    RecordKind::Attachment,
];

#[tokio::test]
async fn a_zendesk_backfill_copies_everything_proves_it_and_is_idempotent() {
    let old = emulator(7, 12).await;
    let new = emulator(8, 0).await;
    let (store, _dir) = support::store().await;
    let (source, target) = (
        connector(Side::Old, old.url()),
        connector(Side::New, new.url()),
    );
    let mapping = identity_mapping(source.as_ref()).await;
    let options = || BackfillOptions {
        kinds: KINDS.to_vec(),
        concurrency: 4,
        dry_run: false,
        progress: ProgressSink::none(),
    };

    let first = backfill(
        Arc::clone(&store),
        Arc::clone(&source),
        Arc::clone(&target),
        mapping.clone(),
        options(),
    )
    .await
    .unwrap();
    let letters = dead_letters(store.as_ref()).await;
    assert!(letters.is_empty(), "{}\n{letters}", first.summary());
    let tickets = first.counts(RecordKind::Ticket);
    assert_eq!(tickets.created, 12, "{}", first.summary());

    let report = verify(
        store.as_ref(),
        source.as_ref(),
        target.as_ref(),
        mapping.clone(),
        KINDS,
    )
    .await
    .unwrap();
    assert!(
        report.is_clean(),
        "{}\n{}",
        report.summary(),
        serde_json::to_string_pretty(&report).unwrap()
    );

    let checked = fidelity::zendesk_to_zendesk(
        store.as_ref(),
        &fidelity::Api::new(old.url()),
        &fidelity::Api::new(new.url()),
    )
    .await;
    assert!(
        checked.tickets == 12
            && checked.private_comments > 0
            && checked.attachments > 0
            && checked.inline_images > 0
            && checked.custom_values > 0,
        "the data left a case out: {checked:?}"
    );

    let second = backfill(
        Arc::clone(&store),
        source,
        target,
        mapping.clone(),
        options(),
    )
    .await
    .unwrap();
    for (kind, counts) in &second.kinds {
        assert_eq!(
            counts.created + counts.updated,
            0,
            "{kind} changed on a second run: {}",
            second.summary()
        );
    }

    // History went through the import API: no customer was e-mailed by the move.
    let notifications: serde_json::Value =
        reqwest::get(format!("{}/_sim/notifications", new.url()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let sent = notifications
        .get("notifications")
        .and_then(|n| n.as_array())
        .map_or(0, Vec::len);
    assert_eq!(sent, 0, "{notifications}");
}
