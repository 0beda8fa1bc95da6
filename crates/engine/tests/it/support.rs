//! Typed helpers: a checked plan, a SQLite store of its own per test, connectors (to a closed
//! port, or to an emulator over real HTTP), emulators, records.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use cutover_connect::{
    BudgetConfig, Connector, FreshdeskConfig, FreshdeskConnector, ReadPosition, ZendeskConfig,
    ZendeskConnector,
};
use cutover_engine::progress::ProgressSink;
use cutover_engine::{Applier, BackfillOptions, BackfillReport, Mapping, backfill};
use cutover_model::records::{Channel, Contact, Group, Record, Ticket};
use cutover_model::{Observed, PlatformId, PlatformKind, RecordKind, Side};
use cutover_plan::Plan;
use cutover_plan::plan::init::{InitOptions, render};
use cutover_sim::freshdesk::{FreshdeskOptions, FreshdeskSim};
use cutover_sim::zendesk::{ZendeskOptions, ZendeskSim};
use cutover_sim::{AccountProfile, SimHandle};
use cutover_store::{Store, StoreUrl};
use secrecy::SecretString;

/// The plan `cutover init --from zendesk --to freshdesk` writes, checked.
pub(crate) fn plan() -> Plan {
    let text = render(&InitOptions {
        from: PlatformKind::Zendesk,
        to: PlatformKind::Freshdesk,
        old_url: None,
        new_url: None,
    });
    cutover_plan::plan::check_str("cutover.toml", &text).unwrap()
}

/// A store in a file of its own; the directory lives as long as the guard.
pub(crate) async fn store() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url: StoreUrl = format!("sqlite://{}", dir.path().join("cutover.db").display())
        .parse()
        .unwrap();
    (cutover_store::open(&url).await.unwrap(), dir)
}

/// Connectors pointed at a closed port: these tests make no request (preparing and dry runs
/// never reach a platform), and a request would fail loudly.
pub(crate) fn zendesk(side: Side) -> Arc<dyn Connector> {
    let url = url::Url::parse("http://127.0.0.1:9").unwrap();
    let config =
        ZendeskConfig::with_api_token(side, url, "agent@acme.example", SecretString::from("t"));
    Arc::new(ZendeskConnector::new(config).unwrap())
}

/// See [`zendesk`].
pub(crate) fn freshdesk(side: Side) -> Arc<dyn Connector> {
    let url = url::Url::parse("http://127.0.0.1:9").unwrap();
    let config = FreshdeskConfig::with_api_key(side, url, SecretString::from("k"));
    Arc::new(FreshdeskConnector::new(config).unwrap())
}

/// A Zendesk emulator on a free port with `tickets` generated tickets (none when 0) and no rate
/// limit. The plain account: these tests build their plans from a template, which cannot map a
/// realistic account's own groups, fields and roles until discovery reads them.
pub(crate) async fn zendesk_sim(seed: u64, tickets: usize) -> SimHandle<cutover_sim::zendesk::App> {
    let opts = ZendeskOptions {
        seed,
        tickets,
        profile: AccountProfile::Plain,
        rate_limit_rpm: None,
        incremental_rpm: 0,
        ..ZendeskOptions::default()
    };
    ZendeskSim::spawn(opts, "127.0.0.1:0").await.unwrap()
}

/// A Freshdesk emulator on a free port with `tickets` generated tickets (none when 0), no rate
/// limit and no acknowledgement of new tickets. The plain account, as [`zendesk_sim`]'s.
pub(crate) async fn freshdesk_sim(
    seed: u64,
    tickets: usize,
) -> SimHandle<cutover_sim::freshdesk::App> {
    let opts = FreshdeskOptions {
        seed,
        tickets,
        profile: AccountProfile::Plain,
        rate_limit_rpm: Some(0),
        // Creating a ticket through Freshdesk's API may e-mail its requester: the operator
        // switches that off before a backfill, as `cutover inventory` and `backfill` say.
        acknowledge_new_tickets: false,
        ..FreshdeskOptions::default()
    };
    FreshdeskSim::spawn(opts, "127.0.0.1:0").await.unwrap()
}

/// The emulators' limits are off: so is the budget (no 10-a-minute lane for the exports).
fn emulator_budget() -> BudgetConfig {
    BudgetConfig::new(60_000, 1.0)
}

/// A Zendesk connector for the emulator at `url`, with the emulator's credentials.
pub(crate) fn zendesk_at(side: Side, url: &str) -> Arc<dyn Connector> {
    Arc::new(ZendeskConnector::new(zendesk_config(side, url)).unwrap())
}

/// The configuration of a Zendesk connector for the emulator at `url`, with the emulator's
/// credentials: for a test that changes it before building.
pub(crate) fn zendesk_config(side: Side, url: &str) -> ZendeskConfig {
    let mut config = ZendeskConfig::with_api_token(
        side,
        url::Url::parse(url).unwrap(),
        "admin@example.com",
        SecretString::from("sim-token"),
    );
    config.budget = emulator_budget();
    config
}

/// The configuration of a Freshdesk connector for the emulator at `url`, with the emulator's
/// key and the default origin fields: for a test that changes them before building.
pub(crate) fn freshdesk_config(side: Side, url: &str) -> FreshdeskConfig {
    let mut config = FreshdeskConfig::with_api_key(
        side,
        url::Url::parse(url).unwrap(),
        SecretString::from("sim-key"),
    );
    config.budget = emulator_budget();
    config
}

/// A Freshdesk connector for the emulator at `url`: [`freshdesk_config`] as it is.
pub(crate) fn freshdesk_at(side: Side, url: &str) -> Arc<dyn Connector> {
    Arc::new(FreshdeskConnector::new(freshdesk_config(side, url)).unwrap())
}

/// Every record of `kind` on `connector`'s side, read through the connector from the start;
/// a record the connector rejects fails the test.
pub(crate) async fn read_all(connector: &dyn Connector, kind: RecordKind) -> Vec<Observed> {
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

/// What a whole move copies, in order.
pub(crate) const KINDS: &[RecordKind] = &[
    RecordKind::Organization,
    RecordKind::Contact,
    RecordKind::Group,
    RecordKind::Agent,
    RecordKind::CustomField,
    RecordKind::Ticket,
    RecordKind::Comment,
    RecordKind::Attachment,
];

/// A real (not dry) backfill of [`KINDS`], four at a time, with no progress shown.
pub(crate) fn move_options() -> BackfillOptions {
    BackfillOptions {
        kinds: KINDS.to_vec(),
        concurrency: 4,
        dry_run: false,
        progress: ProgressSink::none(),
        // The Freshdesk emulator's "new ticket" acknowledgement is off, as the user sets it.
        notifications_off: true,
        // These tests build their plans by hand and look at the dead letters themselves.
        allow_unmapped: true,
    }
}

/// Every dead letter's kind, id and reason, one a line (empty when there are none).
async fn dead_letters(store: &dyn Store) -> String {
    let filter = cutover_store::DeadLetterFilter::default();
    let letters = store.dead_letters(&filter).await.unwrap();
    letters
        .iter()
        .map(|l| format!("{} {}: {}\n", l.kind, l.source_id, l.reason))
        .collect()
}

/// A backfill of [`KINDS`] with [`move_options`] that must leave no dead letter; its report.
pub(crate) async fn backfill_without_dead_letters(
    store: &Arc<dyn Store>,
    source: &Arc<dyn Connector>,
    target: &Arc<dyn Connector>,
    mapping: &Mapping,
) -> BackfillReport {
    backfill_clean(store, source, target, mapping, move_options()).await
}

/// A backfill with `options` that must leave no dead letter; its report.
pub(crate) async fn backfill_clean(
    store: &Arc<dyn Store>,
    source: &Arc<dyn Connector>,
    target: &Arc<dyn Connector>,
    mapping: &Mapping,
    options: BackfillOptions,
) -> BackfillReport {
    let report = backfill(
        Arc::clone(store),
        Arc::clone(source),
        Arc::clone(target),
        mapping.clone(),
        options,
    )
    .await
    .unwrap();
    let letters = dead_letters(store.as_ref()).await;
    assert!(letters.is_empty(), "{}\n{letters}", report.summary());
    report
}

/// Fails unless `second`, a backfill run again over a finished one, created and updated nothing.
pub(crate) fn assert_changed_nothing(second: &BackfillReport) {
    for (kind, counts) in &second.kinds {
        assert_eq!(
            counts.created + counts.updated,
            0,
            "{kind} changed on a second run: {}",
            second.summary()
        );
    }
}

/// Fails unless the emulator at `url` sent no e-mail (its `/_sim/notifications` list is empty).
pub(crate) async fn assert_no_one_emailed(url: &str) {
    let sent: serde_json::Value = reqwest::get(format!("{url}/_sim/notifications"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let count = sent
        .get("notifications")
        .and_then(|n| n.as_array())
        .map_or(0, Vec::len);
    assert_eq!(count, 0, "{sent}");
}

/// An applier from Zendesk (old) to Freshdesk (new), or the reverse.
pub(crate) fn applier(store: &Arc<dyn Store>, from: Side, dry_run: bool) -> Applier {
    let (zd, fd) = (zendesk(Side::Old), freshdesk(Side::New));
    let (source, target) = match from {
        Side::Old => (zd, fd),
        Side::New => (fd, zd),
    };
    Applier::new(
        Arc::clone(store),
        source,
        target,
        Mapping::from_plan(&plan().mapping),
        dry_run,
    )
}

pub(crate) fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap()
}

pub(crate) fn id(n: u64) -> PlatformId {
    PlatformId::from(n)
}

pub(crate) fn observed(side: Side, n: u64, record: Record) -> Observed {
    Observed {
        side,
        id: id(n),
        updated_at: Some(t(n as i64)),
        record,
        origin: None,
    }
}

pub(crate) fn ticket(status: &str, requester: u64, group: Option<u64>) -> Record {
    Record::Ticket(Ticket {
        subject: "Refund for order 1234".into(),
        status: status.into(),
        priority: Some(
            if status == "pending" {
                "medium"
            } else {
                "normal"
            }
            .into(),
        ),
        ticket_type: None,
        brand: None,
        channel: Channel::Email,
        requester: id(requester),
        assignee: None,
        group: group.map(id),
        organization: None,
        tags: BTreeSet::from(["refund".to_owned()]),
        custom_fields: Default::default(),
        created_at: t(0),
        solved_at: None,
        merged_into: None,
    })
}

pub(crate) fn contact(name: &str) -> Record {
    Record::Contact(Contact {
        name: name.into(),
        email: Some(format!("{}@customer.example", name.to_lowercase())),
        phone: None,
        organization: None,
        external_id: None,
        locale: None,
        time_zone: None,
        tags: BTreeSet::new(),
        custom_fields: Default::default(),
        active: true,
    })
}

pub(crate) fn group(name: &str) -> Record {
    Record::Group(Group {
        name: name.into(),
        description: None,
    })
}

/// An applier from Zendesk (old) to Freshdesk (new) with the plan's mapping changed by `edit`.
pub(crate) fn applier_with(
    store: &Arc<dyn Store>,
    edit: impl FnOnce(&mut cutover_plan::plan::model::Mapping),
) -> Applier {
    let mut mapping = plan().mapping;
    edit(&mut mapping);
    Applier::new(
        Arc::clone(store),
        zendesk(Side::Old),
        freshdesk(Side::New),
        Mapping::from_plan(&mapping),
        false,
    )
}

pub(crate) fn agent(email: &str) -> Record {
    Record::Agent(cutover_model::records::Agent {
        name: email.split('@').next().unwrap_or(email).into(),
        email: email.into(),
        role: None,
        groups: BTreeSet::new(),
        active: true,
    })
}
