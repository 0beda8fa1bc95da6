//! A person never holds back a customer's history: a ticket whose agent or group, a comment
//! whose author or a rating whose agent **is not carried** (an agent who left, a role with no
//! counterpart, a record the plan drops, agents or groups left out of `[copy] kinds`) is copied
//! all the same, with the plan's stand-in: `[mapping.agents] unmatched` for agents, `[mapping]
//! unmatched_group` for groups. The original is named where the target keeps history (the note
//! header of a comment, the origin field of a ticket); verify counts the field as not
//! comparable, and `cutover inventory` names it before anything moves.
//!
//! A reference is not carried when the plan drops its record, or when its record is not linked
//! once every kind it may point at is done in this run (nothing later could link it) and the
//! source has that agent or group (a reference to nothing it has, a malformed record, waits and
//! ends in the dead letters).
//!
//! In the bridge, an agent, group or role a side gains after the backfill is first carried as
//! the backfill would carry it (see `late.rs`); only what that leaves behind takes the stand-in.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use cutover_connect::{Connector, ReadPosition};
use cutover_model::records::Record;
use cutover_model::{PlatformId, PlatformKind, RecordKind};
use cutover_plan::plan::model::Mapping as PlanMapping;
use cutover_plan::plan::names::MatchBy;
use cutover_plan::plan::values::Target;

use cutover_connect::{History, Reference};
use cutover_model::Observed;

use crate::apply::{Applier, Outcome, Resolution, Resolved};
use crate::error::EngineError;
use crate::losses::{
    ASSIGNEE_NOT_CARRIED, AUTHOR_NOT_CARRIED, GROUP_NOT_CARRIED, Lack, Loss,
    RATING_ASSIGNEE_NOT_CARRIED,
};
use crate::mapping::Mapping;

/// The key verify gives a reference that is not carried, on the old form (it then levels the
/// copy's stand-in onto it).
pub(crate) const NOT_CARRIED: &str = "not-carried";

/// The lack a `field` of a `kind` record stands for when its record is not carried, if that
/// field takes a stand-in.
pub(crate) fn lack(kind: RecordKind, field: &str) -> Option<Lack> {
    match (kind, field) {
        (RecordKind::Ticket, "assignee") => Some(ASSIGNEE_NOT_CARRIED),
        (RecordKind::Ticket, "group") => Some(GROUP_NOT_CARRIED),
        (RecordKind::Comment, "author") => Some(AUTHOR_NOT_CARRIED),
        (RecordKind::SatisfactionRating, "assignee") => Some(RATING_ASSIGNEE_NOT_CARRIED),
        _ => None,
    }
}

/// The plan's stand-ins on the target, read when one is first needed.
#[derive(Debug, Default)]
pub(crate) struct StandIns {
    /// The target agent `[mapping.agents] unmatched` names.
    pub(crate) agent: Option<PlatformId>,
    /// The target group `[mapping] unmatched_group` names.
    pub(crate) group: Option<PlatformId>,
}

impl StandIns {
    /// Finds the plan's stand-ins among the target's agents and groups (a group by its name,
    /// else by its name with case and spacing aside).
    pub(crate) async fn load(
        target: &dyn Connector,
        mapping: &Mapping,
    ) -> Result<Self, EngineError> {
        let mut stand_ins = StandIns::default();
        if let Some(email) = mapping.unmatched_author() {
            stand_ins.agent = every(target, RecordKind::Agent)
                .await?
                .into_iter()
                .find(|(_, r)| matches!(r, Record::Agent(a) if a.email.eq_ignore_ascii_case(email)))
                .map(|(id, _)| id);
        }
        if let Some(wanted) = mapping.unmatched_group() {
            let groups = every(target, RecordKind::Group).await?;
            let named = |exact: bool| {
                groups.iter().find(|(_, r)| match r {
                    Record::Group(g) if exact => g.name == wanted,
                    Record::Group(g) => folded(&g.name) == folded(wanted),
                    _ => false,
                })
            };
            stand_ins.group = named(true)
                .or_else(|| named(false))
                .map(|(id, _)| id.clone());
        }
        Ok(stand_ins)
    }
}

/// Agents and groups as a person names them, by kind and id.
type NameTable = BTreeMap<(RecordKind, PlatformId), String>;

/// The source's agents and groups as a person names them (`Jane Doe <jane@example.com>`,
/// `Tier 2`): learned as they pass through the run, else read from the source once. Best
/// effort: a source that cannot list them leaves the original named by its kind and id, which
/// must not hold back the history it belongs to.
#[derive(Debug, Default)]
pub(crate) struct Names {
    learned: std::sync::Mutex<NameTable>,
    listed: futures::lock::Mutex<Option<Arc<NameTable>>>,
}

impl Names {
    /// Learns the name of an agent or group read from the source.
    pub(crate) fn learn(&self, id: &PlatformId, record: &Record) {
        if let Some(name) = name(record) {
            self.learned
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert((record.kind(), id.clone()), name);
        }
    }

    /// The source's `kind` record `id` as a person names it, when the source lists it.
    pub(crate) async fn name(
        &self,
        source: &dyn Connector,
        kind: RecordKind,
        id: &PlatformId,
    ) -> Option<String> {
        let listed = self.listed(source, kind, id).await;
        if listed.is_some() || kind != RecordKind::Agent {
            return listed;
        }
        self.former(source, id).await
    }

    /// The name of agent or group `id` as the source lists it now (no former agent).
    pub(crate) async fn listed(
        &self,
        source: &dyn Connector,
        kind: RecordKind,
        id: &PlatformId,
    ) -> Option<String> {
        let key = (kind, id.clone());
        let learned = self
            .learned
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key)
            .cloned();
        if learned.is_some() {
            return learned;
        }
        let mut slot = self.listed.lock().await;
        if slot.is_none() {
            let mut listed = BTreeMap::new();
            for kind in [RecordKind::Agent, RecordKind::Group] {
                match every(source, kind).await {
                    Ok(records) => listed.extend(
                        records
                            .into_iter()
                            .filter_map(|(id, r)| Some(((kind, id), name(&r)?))),
                    ),
                    Err(error) => {
                        tracing::warn!(%kind, error = %error, "Could not list the source's records to name those not carried; they are named by id.");
                    }
                }
            }
            *slot = Some(Arc::new(listed));
        }
        slot.as_ref().and_then(|listed| listed.get(&key).cloned())
    }

    /// A person an agent reference points at who is no longer listed as an agent.
    async fn former(&self, source: &dyn Connector, id: &PlatformId) -> Option<String> {
        let key = (RecordKind::Agent, id.clone());
        // An agent who left may be a customer now (Zendesk downgrades a leaver to end-user and
        // keeps them on their tickets): the source still has the person.
        let former = match source.read_one(RecordKind::Contact, id).await {
            Ok(page) => page.items.into_iter().find_map(|o| match o.record {
                Record::Contact(c) => Some(match &c.email {
                    Some(email) => format!("{} <{email}> (no longer an agent)", c.name),
                    None => format!("{} (no longer an agent)", c.name),
                }),
                _ => None,
            }),
            Err(error) => {
                tracing::debug!(%id, error = %error, "Could not read the person an agent reference points at.");
                None
            }
        };
        if let Some(name) = &former {
            self.learned
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(key, name.clone());
        }
        former
    }
}

/// What `cutover inventory` says, before anything moves, of history whose agent or group is not
/// carried: fed every record it reads of the old side (agents and groups come before tickets).
#[derive(Debug)]
pub(crate) struct NotCarried<'a> {
    plan: &'a PlanMapping,
    /// Whether the move copies agents, and groups.
    copies_agents: bool,
    copies_groups: bool,
    /// Agents and groups the plan drops, by id.
    dropped_agents: BTreeSet<PlatformId>,
    dropped_groups: BTreeSet<PlatformId>,
    /// Whether agents who have left are not carried (the target has no place for them,
    /// `Capabilities::agents_who_left`).
    pub(crate) leavers_left_behind: bool,
    /// Tickets whose agent, or group, is not carried.
    assigned: u64,
    grouped: u64,
}

impl<'a> NotCarried<'a> {
    /// A tally for a move of `kinds` under `plan`.
    pub(crate) fn new(plan: &'a PlanMapping, kinds: &[RecordKind]) -> Self {
        NotCarried {
            plan,
            copies_agents: kinds.contains(&RecordKind::Agent),
            copies_groups: kinds.contains(&RecordKind::Group),
            dropped_agents: BTreeSet::new(),
            dropped_groups: BTreeSet::new(),
            leavers_left_behind: false,
            assigned: 0,
            grouped: 0,
        }
    }

    /// Takes one record of the old side into account.
    pub(crate) fn observe(&mut self, id: &PlatformId, record: &Record) {
        let drops = |table: &BTreeMap<String, Target>, value: &str| {
            matches!(table.get(value), Some(Target::Drop))
        };
        match record {
            Record::Agent(a) => {
                let identity = match self.plan.agents.match_by {
                    MatchBy::Email => &a.email,
                    MatchBy::Name => &a.name,
                };
                if drops(&self.plan.agents.overrides, identity)
                    || (self.leavers_left_behind && !a.active)
                {
                    self.dropped_agents.insert(id.clone());
                }
            }
            Record::Group(g) if drops(&self.plan.groups, &g.name) => {
                self.dropped_groups.insert(id.clone());
            }
            Record::Ticket(t) => {
                let agent_lost =
                    |a: &PlatformId| !self.copies_agents || self.dropped_agents.contains(a);
                let group_lost =
                    |g: &PlatformId| !self.copies_groups || self.dropped_groups.contains(g);
                self.assigned += u64::from(t.assignee.as_ref().is_some_and(agent_lost));
                self.grouped += u64::from(t.group.as_ref().is_some_and(group_lost));
            }
            _ => {}
        }
    }

    /// Why agents, or groups, are not carried: left out of the kinds, or dropped by the plan.
    fn why(copied: bool, dropped: usize, kind: &str, table: &str) -> String {
        if copied {
            format!("{kind}s dropped by [mapping.{table}]: {dropped}")
        } else {
            format!("{kind}s are left out of [copy] kinds")
        }
    }

    /// What the move does with that history, one loss per field.
    pub(crate) fn losses(&self, to: PlatformKind) -> Vec<Loss> {
        let agents_lost = !self.copies_agents || !self.dropped_agents.is_empty();
        let mut agents_why = Self::why(
            self.copies_agents,
            self.dropped_agents.len(),
            "agent",
            "agents.overrides",
        );
        if self.leavers_left_behind && self.copies_agents {
            agents_why.push_str(&format!(
                ", agents who have left among them: {to} has no place for an agent who has left"
            ));
        }
        let unmatched = self
            .plan
            .agents
            .unmatched
            .as_ref()
            .map(|e| e.as_str().to_owned());
        let mut losses = Vec::new();
        if self.assigned > 0 {
            let then = match &unmatched {
                Some(agent) => format!(
                    "the copies are assigned to {agent} and name the original in their origin field"
                ),
                None => format!(
                    "the copies go unassigned: name an agent of {to} in [mapping.agents] unmatched to assign them"
                ),
            };
            losses.push(Loss {
                what: ASSIGNEE_NOT_CARRIED.what.to_owned(),
                detail: format!(
                    "{} tickets are assigned to agents who are not carried ({agents_why}): {then}",
                    self.assigned
                ),
            });
        }
        if self.grouped > 0 {
            let why = Self::why(
                self.copies_groups,
                self.dropped_groups.len(),
                "group",
                "groups",
            );
            let then = match &self.plan.unmatched_group {
                Some(group) => format!(
                    "the copies get the group {group:?} and name the original in their origin field"
                ),
                None => format!(
                    "the copies go without a group: name a group of {to} in [mapping] unmatched_group to give them one"
                ),
            };
            losses.push(Loss {
                what: GROUP_NOT_CARRIED.what.to_owned(),
                detail: format!(
                    "{} tickets belong to groups that are not carried ({why}): {then}",
                    self.grouped
                ),
            });
        }
        if agents_lost {
            let then = match &unmatched {
                Some(agent) => format!(
                    "they are written as {agent}, the original author named in each comment's header line"
                ),
                None => format!(
                    "they wait in the dead letters until [mapping.agents] unmatched names an agent of {to} to write them as"
                ),
            };
            losses.push(Loss {
                what: AUTHOR_NOT_CARRIED.what.to_owned(),
                detail: format!(
                    "comments written by agents who are not carried ({agents_why}): {then}"
                ),
            });
        }
        losses
    }
}

impl Applier {
    /// The plan's stand-in for an agent or group that is not carried: the copied source agent
    /// `[mapping.agents] unmatched` names, else the target's agent or group the plan names;
    /// with none, an agent or group reference is removed and an author dead-lettered. The
    /// original is kept in `resolved.originals`, to be named where the target keeps history.
    pub(crate) async fn stand_in(
        &self,
        observed: &Observed,
        reference: &Reference,
        original: Option<String>,
        resolved: &mut Resolved,
    ) -> Result<Result<Resolution, Outcome>, EngineError> {
        let (from, key) = (observed.side, reference.key.clone());
        let is_group = reference.field == "group";
        let kind = if is_group {
            RecordKind::Group
        } else {
            RecordKind::Agent
        };
        let original = original.unwrap_or_else(|| {
            // An author may be a contact: name it by what is known.
            let what = match reference.field {
                "author" => "person",
                _ => kind.as_str(),
            };
            format!("{what} {key} on the {from} side")
        });
        resolved.originals.push((reference.field, original));
        if !is_group && let Some((source_key, link)) = self.fallback_author(from).await? {
            let target = link.id(from.other()).clone();
            resolved
                .targets
                .insert(RecordKind::Agent, source_key.clone(), target);
            return Ok(Ok(Resolution::Replaced {
                source_key,
                old_key: link.old_id,
            }));
        }
        let named = if is_group {
            self.mapping().unmatched_group().is_some()
        } else {
            self.mapping().unmatched_author().is_some()
        };
        let target = match named {
            true => {
                let stand_ins = self.stand_ins().await?;
                if is_group {
                    stand_ins.group.clone()
                } else {
                    stand_ins.agent.clone()
                }
            }
            false => None,
        };
        Ok(match (target, reference.field) {
            (Some(target), _) => {
                resolved.targets.insert(kind, key, target);
                Ok(Resolution::StoodIn)
            }
            (None, "author") => Err(Outcome::DeadLettered(format!(
                "{} {} on the {from} side: its author {key} is an agent who is not carried, and \
                 [mapping.agents] unmatched names no agent of the {} side to write it as",
                observed.record.kind(),
                observed.id,
                from.other()
            ))),
            (None, _) => Ok(Resolution::Removed),
        })
    }

    /// The agent or group a reference that takes a stand-in points at, as a person names it,
    /// if the source has it.
    pub(crate) async fn original(&self, reference: &Reference) -> Option<String> {
        let kind = match reference.field {
            "group" => RecordKind::Group,
            _ => RecordKind::Agent,
        };
        self.names
            .name(self.source.as_ref(), kind, &reference.key)
            .await
    }

    /// The agent a reference points at, when the source lists them as an agent now.
    pub(crate) async fn listed_agent(&self, reference: &Reference) -> bool {
        self.names
            .listed(self.source.as_ref(), RecordKind::Agent, &reference.key)
            .await
            .is_some()
    }

    /// The plan's stand-ins, read on first use (one task reads; the others wait for it).
    async fn stand_ins(&self) -> Result<Arc<StandIns>, EngineError> {
        let mut slot = self.stand_ins.lock().await;
        if let Some(stand_ins) = slot.as_ref() {
            return Ok(Arc::clone(stand_ins));
        }
        let mapping = self.mapping().clone();
        let loaded = Arc::new(StandIns::load(self.target.as_ref(), &mapping).await?);
        *slot = Some(Arc::clone(&loaded));
        Ok(loaded)
    }
}

/// Names the agents and groups a record's copy could not carry where the target keeps history:
/// a comment's original author (its header line), a ticket's agent and group (its origin field).
pub(crate) fn name_originals(
    history: &mut History,
    kind: RecordKind,
    originals: Vec<(&'static str, String)>,
) {
    if originals.is_empty() {
        return;
    }
    if kind == RecordKind::Comment {
        history.author = originals
            .into_iter()
            .find(|(field, _)| *field == "author")
            .map(|(_, name)| name);
        return;
    }
    let named: Vec<String> = originals
        .into_iter()
        .map(|(field, name)| format!("{field}: {name}"))
        .collect();
    history.stand_ins = Some(named.join("; "));
}

/// A name with case and runs of spaces aside.
fn folded(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// An agent or group as a person names it.
fn name(record: &Record) -> Option<String> {
    match record {
        Record::Agent(a) => Some(format!("{} <{}>", a.name, a.email)),
        Record::Group(g) => Some(g.name.clone()),
        _ => None,
    }
}

/// Every record of `kind` a connector lists (none when it cannot list the kind); records it
/// cannot read are left out.
pub(crate) async fn every(
    connector: &dyn Connector,
    kind: RecordKind,
) -> Result<Vec<(PlatformId, Record)>, EngineError> {
    let mut out = Vec::new();
    if !connector.capabilities().can_read(kind) {
        return Ok(out);
    }
    let mut position = ReadPosition::start();
    loop {
        let page = connector.read_page(kind, &position).await?;
        out.extend(page.items.into_iter().map(|o| (o.id, o.record)));
        match page.next {
            Some(next) if !page.done && next != position => position = next,
            _ => return Ok(out),
        }
    }
}

/// Levels, on a linked pair, each field whose original is not carried (the old form holds
/// [`NOT_CARRIED`] there): whatever the copy holds (the stand-in, or nothing) is not compared.
/// Returns the lack of each field levelled.
pub(crate) fn level(old: &Record, new: &mut Record) -> Vec<Lack> {
    let marker = PlatformId::parse(NOT_CARRIED).ok();
    let is_marker = |key: &Option<PlatformId>| key.is_some() && *key == marker;
    let mut lacks = Vec::new();
    match (old, new) {
        (Record::Ticket(a), Record::Ticket(b)) => {
            if is_marker(&a.assignee) {
                b.assignee.clone_from(&marker);
                lacks.push(ASSIGNEE_NOT_CARRIED);
            }
            if is_marker(&a.group) {
                b.group.clone_from(&marker);
                lacks.push(GROUP_NOT_CARRIED);
            }
        }
        (Record::Comment(a), Record::Comment(b)) if is_marker(&Some(a.author.clone())) => {
            if let Some(marker) = &marker {
                b.author.clone_from(marker);
            }
            lacks.push(AUTHOR_NOT_CARRIED);
        }
        (Record::SatisfactionRating(a), Record::SatisfactionRating(b))
            if is_marker(&a.assignee) =>
        {
            b.assignee.clone_from(&marker);
            lacks.push(RATING_ASSIGNEE_NOT_CARRIED);
        }
        _ => {}
    }
    lacks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_that_take_a_stand_in_are_people_and_groups_of_history() {
        assert_eq!(
            lack(RecordKind::Ticket, "assignee"),
            Some(ASSIGNEE_NOT_CARRIED)
        );
        assert_eq!(
            lack(RecordKind::Comment, "author"),
            Some(AUTHOR_NOT_CARRIED)
        );
        assert_eq!(lack(RecordKind::Ticket, "requester"), None);
        assert_eq!(lack(RecordKind::Agent, "groups"), None);
        assert_eq!(folded(" Customer  Success "), "customer success");
    }
}
