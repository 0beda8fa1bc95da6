//! Typed helpers: a checked plan, a SQLite store of its own per test, connectors, records.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use cutover_connect::{
    Connector, FreshdeskConfig, FreshdeskConnector, ZendeskConfig, ZendeskConnector,
};
use cutover_control::Plan;
use cutover_control::plan::init::{InitOptions, render};
use cutover_engine::{Applier, Mapping};
use cutover_model::records::{Channel, Contact, Group, Record, Ticket};
use cutover_model::{Observed, PlatformId, PlatformKind, Side};
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
    cutover_control::plan::check_str("cutover.toml", &text).unwrap()
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
        channel: Channel::Email,
        requester: id(requester),
        assignee: None,
        group: group.map(id),
        organization: None,
        tags: BTreeSet::from(["refund".to_owned()]),
        custom_fields: Default::default(),
        created_at: t(0),
        solved_at: None,
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
    edit: impl FnOnce(&mut cutover_control::plan::model::Mapping),
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
