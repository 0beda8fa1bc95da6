//! Discovery: what each account of a move holds that a plan maps, read through the connectors.
//!
//! The connector says what only the platform's own endpoints say (statuses, priorities, ticket
//! types, brands, support addresses, the credentials' owner, [`Connector::discover`]); groups,
//! roles, agents and custom fields are read here as records, through the same reads a backfill
//! makes, so a name in the snapshot is the name the backfill meets. With `count`, the old
//! account's tickets are read once more and every value learns how many records use it
//! (`uses`): that is how a plan line says "120 tickets" and inventory says what a value holds
//! back. Reading every ticket costs what a backfill's read costs (Zendesk: one export page of
//! 1,000 tickets each, ten a minute); the progress callback hears of every page.

use std::collections::BTreeMap;

use cutover_connect::{Connector, ReadPosition};
use cutover_model::accounts::{AccountSnapshot, Accounts, AgentEntry, FieldEntry, NamedValue};
use cutover_model::records::{Record, Ticket};
use cutover_model::{Observed, PlatformId, RecordKind};

use crate::error::EngineError;

/// Hears how far discovery has read: what (`tickets`), and how many so far.
pub type DiscoveryProgress<'p> = &'p (dyn Fn(&str, u64) + Sync);

/// Both accounts of a move; the old one's records counted when `count`.
pub async fn discover_accounts(
    old: &dyn Connector,
    new: &dyn Connector,
    count: bool,
    progress: DiscoveryProgress<'_>,
) -> Result<Accounts, EngineError> {
    Ok(Accounts {
        discovered_at: chrono::Utc::now(),
        old: discover(old, count, progress).await?,
        new: discover(new, false, progress).await?,
    })
}

/// One account: its vocabulary, groups, roles, agents and custom fields; with `count`, how many
/// tickets and agents use each value.
pub async fn discover(
    connector: &dyn Connector,
    count: bool,
    progress: DiscoveryProgress<'_>,
) -> Result<AccountSnapshot, EngineError> {
    let mut tally = Tally::new(connector.discover().await?);
    let caps = connector.capabilities();
    for kind in [
        RecordKind::Group,
        RecordKind::Role,
        RecordKind::Agent,
        RecordKind::CustomField,
    ] {
        if caps.readable.contains(&kind) {
            read_all(connector, kind, |observed| tally.observe(observed)).await?;
        }
    }
    if count && caps.readable.contains(&RecordKind::Ticket) {
        let mut read = 0u64;
        read_all(connector, RecordKind::Ticket, |observed| {
            tally.observe(observed);
            read += 1;
            if read.is_multiple_of(100) {
                progress("tickets", read);
            }
        })
        .await?;
        progress("tickets", read);
        tally.counted();
    }
    Ok(tally.finish())
}

/// An account's snapshot being filled from its records as they are read: groups, roles,
/// agents and fields join it, tickets are counted against its values. Feed it parents first
/// (groups and roles before agents, agents and fields before tickets), as every read goes.
#[derive(Debug)]
pub struct Tally {
    snapshot: AccountSnapshot,
    ids: Ids,
}

impl Tally {
    /// A tally over what the connector said of the account ([`Connector::discover`]).
    pub fn new(snapshot: AccountSnapshot) -> Self {
        Tally {
            snapshot,
            ids: Ids::default(),
        }
    }

    /// Takes in one record read from the account.
    pub fn observe(&mut self, observed: &Observed) {
        match &observed.record {
            Record::Ticket(ticket) => self.ids.count_ticket(&mut self.snapshot, ticket),
            _ => self.ids.learn(&mut self.snapshot, observed),
        }
    }

    /// Says that every ticket was read, so the counts are whole.
    pub fn counted(&mut self) {
        self.snapshot.counted = true;
    }

    /// The snapshot, with the platform's built-in roles and each role's agents.
    pub fn finish(self) -> AccountSnapshot {
        let mut snapshot = self.snapshot;
        for role in snapshot.platform.roles() {
            if !snapshot.roles.iter().any(|r| r.name == *role) {
                snapshot.roles.push(NamedValue::builtin(*role));
            }
        }
        for role in &mut snapshot.roles {
            role.builtin |= snapshot.platform.roles().contains(&role.name.as_str());
            let agents = snapshot
                .agents
                .iter()
                .filter(|a| a.role.as_deref() == Some(role.name.as_str()))
                .count() as u64;
            if agents > 0 {
                role.uses.insert("agents".into(), agents);
            }
        }
        snapshot
    }
}

/// Every record of `kind`, page after page; records that do not read are left out.
async fn read_all(
    connector: &dyn Connector,
    kind: RecordKind,
    mut each: impl FnMut(&Observed),
) -> Result<(), EngineError> {
    let mut position = ReadPosition::start();
    loop {
        let page = connector.read_page(kind, &position).await?;
        for observed in &page.items {
            each(observed);
        }
        match page.next {
            Some(next) if !page.done && next != position => position = next,
            _ => return Ok(()),
        }
    }
}

/// What discovery learns of ids while it reads, to name what records refer to.
#[derive(Debug, Default)]
struct Ids {
    groups: BTreeMap<PlatformId, String>,
    roles: BTreeMap<PlatformId, String>,
    /// Agents by id: their index in the snapshot's agents.
    agents: BTreeMap<PlatformId, usize>,
}

impl Ids {
    fn learn(&mut self, snapshot: &mut AccountSnapshot, observed: &Observed) {
        match &observed.record {
            Record::Group(group) => {
                self.groups.insert(observed.id.clone(), group.name.clone());
                snapshot.groups.push(NamedValue::new(group.name.clone()));
            }
            Record::Role(role) => {
                self.roles.insert(observed.id.clone(), role.name.clone());
                snapshot.roles.push(NamedValue::new(role.name.clone()));
            }
            Record::Agent(agent) => {
                let groups: Vec<String> = agent
                    .groups
                    .iter()
                    .filter_map(|g| self.groups.get(g).cloned())
                    .collect();
                for name in &groups {
                    if let Some(group) = snapshot.groups.iter_mut().find(|g| &g.name == name) {
                        *group.uses.entry("agents".into()).or_default() += 1;
                    }
                }
                self.agents
                    .insert(observed.id.clone(), snapshot.agents.len());
                snapshot.agents.push(AgentEntry {
                    email: agent.email.clone(),
                    name: agent.name.clone(),
                    role: agent.role.as_ref().and_then(|r| self.roles.get(r).cloned()),
                    groups,
                    active: agent.active,
                    uses: BTreeMap::new(),
                });
            }
            Record::CustomField(def) => snapshot.fields.push(FieldEntry {
                target: def.target,
                key: def.key.clone(),
                title: def.title.clone(),
                field_type: def.field_type,
                options: def.options.iter().map(|o| o.name.clone()).collect(),
                active: def.active,
                uses: BTreeMap::new(),
            }),
            _ => {}
        }
    }

    /// Counts what one ticket uses: its status, priority, type, brand, group, fields, and its
    /// assignee and the assignee's role.
    fn count_ticket(&self, snapshot: &mut AccountSnapshot, ticket: &Ticket) {
        bump(&mut snapshot.statuses, &ticket.status);
        if let Some(priority) = &ticket.priority {
            bump(&mut snapshot.priorities, priority);
        }
        if let Some(kind) = &ticket.ticket_type {
            bump(&mut snapshot.ticket_types, kind);
        }
        if let Some(brand) = &ticket.brand {
            bump(&mut snapshot.brands, brand);
        }
        if let Some(group) = ticket.group.as_ref().and_then(|g| self.groups.get(g)) {
            bump(&mut snapshot.groups, group);
        }
        for (key, value) in &ticket.custom_fields {
            let used = !(value.is_null() || value == &serde_json::Value::Bool(false));
            if let Some(field) = snapshot
                .fields
                .iter_mut()
                .find(|f| f.target == cutover_model::records::FieldTarget::Ticket && &f.key == key)
                && used
            {
                *field.uses.entry("tickets".into()).or_default() += 1;
            }
        }
        let assignee = ticket.assignee.as_ref().and_then(|a| self.agents.get(a));
        if let Some(agent) = assignee.and_then(|idx| snapshot.agents.get_mut(*idx)) {
            *agent.uses.entry("tickets".into()).or_default() += 1;
            if let Some(role) = agent.role.clone() {
                bump_as(&mut snapshot.roles, &role, "tickets");
            }
        }
    }
}

/// One more ticket for the value named `name`, which joins the list if the account did not
/// list it (a value only its records show).
fn bump(values: &mut Vec<NamedValue>, name: &str) {
    bump_as(values, name, "tickets");
}

fn bump_as(values: &mut Vec<NamedValue>, name: &str, what: &str) {
    let idx = match values.iter().position(|v| v.name == name) {
        Some(idx) => idx,
        None => {
            values.push(NamedValue::new(name));
            values.len() - 1
        }
    };
    *values[idx].uses.entry(what.to_owned()).or_default() += 1;
}
