//! The [`Mover`] a switch runs after its flip: the wave's agents and rules moved to the new
//! side, through the connectors, and put back on rollback.
//!
//! What belongs to a wave, read from the links the backfill made and from each side as it is:
//! - **groups**: the linked groups whose name (on either side) is one of the wave's `groups`
//!   (every linked group for `groups = "all"`);
//! - **agents**: the linked agents the wave's `agents` selects: `"all"`, the named e-mails, or
//!   (`"by_group"`, the default) those the old side shows as members of one of the wave's
//!   groups, as the plan's coverage check resolves them;
//! - **rules**: the linked triggers, automations and macros whose conditions or actions name
//!   one of the wave's groups (`group is …`, `set group …`), which is how a rule routes work to
//!   a group. A rule that names no group belongs to no wave and is left alone.
//!
//! What is done: each agent is made a member of the copies of the wave's groups on the new side
//! and taken out of the wave's groups on the old side (an agent is never deleted); each rule's
//! copy is switched on on the new side and the original off on the old side. Rules a platform
//! has no on/off switch for (Freshdesk's canned responses and scenario automations) are left
//! alone.
//!
//! The switch asks for the [`Change`]s first ([`Mover::plan_move`]: only what differs from the
//! wanted state), journals them, then applies them ([`Mover::apply`]): every change sets a
//! state rather than toggling one, so applying them again after a crash changes nothing twice,
//! and a rollback sets each one's `before` back.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use cutover_connect::{ConnectError, Connector, ReadPosition};
use cutover_model::records::Record;
use cutover_model::rules::{Action, Condition, Rule, RuleField, RuleValue};
use cutover_model::{PlatformId, PlatformKind, RecordKind, Side};
use cutover_plan::plan::model::Wave;
use cutover_plan::plan::values::{AgentSelection, GroupSelection};
use cutover_store::{Store, StoredLink};
use serde_json::{Value, json};

use crate::switch::{Change, Mover};

/// [`Change::what`] of a group membership.
pub const MEMBERSHIP: &str = "group_membership";

/// The kinds of rules a wave moves.
const RULE_KINDS: [RecordKind; 2] = [RecordKind::Automation, RecordKind::Macro];

/// Links read per page from the store.
const PAGE: u32 = 500;

/// Pages read of one kind's list, at most.
const MAX_PAGES: usize = 1000;

/// The [`Mover`] of `cutover serve`: moves a wave's agents and rules through the connectors of
/// both sides, as the links in the store pair them.
pub struct LinkedMover {
    store: Arc<dyn Store>,
    old: Arc<dyn Connector>,
    new: Arc<dyn Connector>,
}

impl std::fmt::Debug for LinkedMover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkedMover").finish_non_exhaustive()
    }
}

/// A group of the wave: its id on each side.
#[derive(Debug, Clone, PartialEq, Eq)]
struct WaveGroup {
    old: PlatformId,
    new: PlatformId,
}

impl LinkedMover {
    /// A mover on the links in `store`, writing through `old` and `new`.
    pub fn new(store: Arc<dyn Store>, old: Arc<dyn Connector>, new: Arc<dyn Connector>) -> Self {
        LinkedMover { store, old, new }
    }

    fn side(&self, side: Side) -> &dyn Connector {
        match side {
            Side::Old => self.old.as_ref(),
            Side::New => self.new.as_ref(),
        }
    }

    async fn all_links(&self, kind: RecordKind) -> Result<Vec<StoredLink>, String> {
        let mut all: Vec<StoredLink> = Vec::new();
        loop {
            let after = all.last().map(|l| l.link.old_id.clone());
            let page = self
                .store
                .links(kind, after.as_ref(), PAGE)
                .await
                .map_err(|e| format!("{kind} links not read: {e}"))?;
            let full = page.len() == PAGE as usize;
            all.extend(page);
            if !full {
                return Ok(all);
            }
        }
    }

    /// Every record of `kind` on `side`, by id (the platforms' single reads do not cover
    /// groups, agents and rules everywhere; their lists do).
    async fn read_all(
        &self,
        side: Side,
        kind: RecordKind,
    ) -> Result<BTreeMap<PlatformId, Record>, String> {
        let connector = self.side(side);
        let mut all = BTreeMap::new();
        let mut position = ReadPosition::start();
        for _ in 0..MAX_PAGES {
            let page = connector
                .read_page(kind, &position)
                .await
                .map_err(|e| format!("{kind} records not read on the {side} side: {e}"))?;
            all.extend(page.items.into_iter().map(|o| (o.id, o.record)));
            match page.next {
                Some(next) if !page.done => position = next,
                _ => break,
            }
        }
        Ok(all)
    }

    async fn wave_groups(&self, wave: &Wave) -> Result<Vec<WaveGroup>, String> {
        let links = self.all_links(RecordKind::Group).await?;
        let named = !matches!(wave.groups, GroupSelection::All);
        let (old, new) = if named {
            (
                self.read_all(Side::Old, RecordKind::Group).await?,
                self.read_all(Side::New, RecordKind::Group).await?,
            )
        } else {
            (BTreeMap::new(), BTreeMap::new())
        };
        let name = |records: &BTreeMap<PlatformId, Record>, id: &PlatformId| match records.get(id) {
            Some(Record::Group(g)) => Some(g.name.clone()),
            _ => None,
        };
        let mut groups = Vec::new();
        for stored in links {
            let link = stored.link;
            let names = [name(&old, &link.old_id), name(&new, &link.new_id)];
            if !named
                || names
                    .iter()
                    .flatten()
                    .any(|n| selects_group(&wave.groups, n))
            {
                groups.push(WaveGroup {
                    old: link.old_id,
                    new: link.new_id,
                });
            }
        }
        Ok(groups)
    }

    async fn plan_agents(
        &self,
        wave: &Wave,
        groups: &[WaveGroup],
        changes: &mut Vec<Change>,
        problems: &mut Vec<String>,
    ) -> Result<(), String> {
        let old_groups: BTreeSet<PlatformId> = groups.iter().map(|g| g.old.clone()).collect();
        let old_agents = self.read_all(Side::Old, RecordKind::Agent).await?;
        let new_agents = self.read_all(Side::New, RecordKind::Agent).await?;
        for stored in self.all_links(RecordKind::Agent).await? {
            let link = stored.link;
            let Some(Record::Agent(old_agent)) = old_agents.get(&link.old_id) else {
                problems.push(format!("agent {} not found on the old side", link.old_id));
                continue;
            };
            if !selects_agent(
                &wave.agents,
                &old_agent.email,
                &old_agent.groups,
                &old_groups,
            ) {
                continue;
            }
            let Some(Record::Agent(new_agent)) = new_agents.get(&link.new_id) else {
                problems.push(format!("agent {} not found on the new side", link.new_id));
                continue;
            };
            for group in groups {
                if !new_agent.groups.contains(&group.new) {
                    changes.push(membership(Side::New, &link.new_id, &group.new, false, true));
                }
                if old_agent.groups.contains(&group.old) {
                    changes.push(membership(Side::Old, &link.old_id, &group.old, true, false));
                }
            }
        }
        Ok(())
    }

    async fn plan_rules(
        &self,
        groups: &[WaveGroup],
        changes: &mut Vec<Change>,
        problems: &mut Vec<String>,
    ) -> Result<(), String> {
        let old_groups: BTreeSet<PlatformId> = groups.iter().map(|g| g.old.clone()).collect();
        for kind in RULE_KINDS {
            let links = self.all_links(kind).await?;
            if links.is_empty() {
                continue;
            }
            let old_rules = self.read_all(Side::Old, kind).await?;
            let new_rules = self.read_all(Side::New, kind).await?;
            for stored in links {
                let link = stored.link;
                if !switchable(self.old.platform(), kind, &link.old_id)
                    || !switchable(self.new.platform(), kind, &link.new_id)
                {
                    continue;
                }
                let Some(old_rule) = old_rules.get(&link.old_id).and_then(Record::rule) else {
                    problems.push(format!("{kind} {} not found on the old side", link.old_id));
                    continue;
                };
                if !names_groups(old_rule, &old_groups) {
                    continue;
                }
                let Some(new_rule) = new_rules.get(&link.new_id).and_then(Record::rule) else {
                    problems.push(format!("{kind} {} not found on the new side", link.new_id));
                    continue;
                };
                if !new_rule.active {
                    changes.push(rule_change(kind, Side::New, &link.new_id, false, true));
                }
                if old_rule.active {
                    changes.push(rule_change(kind, Side::Old, &link.old_id, true, false));
                }
            }
        }
        Ok(())
    }

    /// Sets what `state` says for one change (its `after`, or its `before` on restore).
    async fn set(&self, change: &Change, state: &Value) -> Result<bool, String> {
        let id = PlatformId::parse(change.id.clone())
            .map_err(|e| format!("{} {}: bad id: {e}", change.what, change.id))?;
        let connector = self.side(change.side);
        let answer: Result<bool, ConnectError> = if change.what == MEMBERSHIP {
            let group = state
                .get("group")
                .and_then(Value::as_str)
                .and_then(|g| PlatformId::parse(g.to_owned()).ok())
                .ok_or_else(|| format!("{MEMBERSHIP} {}: no group in the journal", change.id))?;
            let member = state
                .get("member")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            connector.set_group_member(&id, &group, member).await
        } else {
            let kind: RecordKind = change
                .what
                .parse()
                .map_err(|e| format!("{}: {e}", change.what))?;
            let active = state
                .get("active")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            connector.set_rule_active(kind, &id, active).await
        };
        answer.map_err(|e| {
            format!(
                "{} {} on the {} side: {e}",
                change.what, change.id, change.side
            )
        })
    }
}

fn membership(
    side: Side,
    agent: &PlatformId,
    group: &PlatformId,
    before: bool,
    after: bool,
) -> Change {
    Change {
        what: MEMBERSHIP.to_owned(),
        side,
        id: agent.to_string(),
        before: json!({ "group": group.to_string(), "member": before }),
        after: json!({ "group": group.to_string(), "member": after }),
    }
}

fn rule_change(kind: RecordKind, side: Side, id: &PlatformId, before: bool, after: bool) -> Change {
    Change {
        what: kind.as_str().to_owned(),
        side,
        id: id.to_string(),
        before: json!({ "active": before }),
        after: json!({ "active": after }),
    }
}

/// Whether a wave's `groups` names a group called `name` (case and surrounding spaces aside).
pub fn selects_group(groups: &GroupSelection, name: &str) -> bool {
    match groups {
        GroupSelection::All => true,
        GroupSelection::Named(names) => names
            .iter()
            .any(|n| n.trim().eq_ignore_ascii_case(name.trim())),
    }
}

/// Whether a wave's `agents` selects the agent with `email` who is a member of `groups` on the
/// old side, the wave's groups there being `wave_groups`.
pub fn selects_agent(
    agents: &AgentSelection,
    email: &str,
    groups: &BTreeSet<PlatformId>,
    wave_groups: &BTreeSet<PlatformId>,
) -> bool {
    match agents {
        AgentSelection::All => true,
        AgentSelection::Named(emails) => emails
            .iter()
            .any(|e| e.as_str().eq_ignore_ascii_case(email.trim())),
        AgentSelection::ByGroup => !groups.is_disjoint(wave_groups),
    }
}

/// Whether `rule` names one of `groups` in a condition on the ticket's group or in an action
/// setting it: the rules that route work to (or from) those groups.
pub fn names_groups(rule: &Rule, groups: &BTreeSet<PlatformId>) -> bool {
    let tests = rule.all.iter().chain(&rule.any).filter_map(|c| match c {
        Condition::Test { field, value, .. } => Some((field, value)),
        _ => None,
    });
    let sets = rule.actions.iter().filter_map(|a| match a {
        Action::Set { field, value } => Some((field, value)),
        _ => None,
    });
    tests
        .chain(sets)
        .any(|(field, value)| *field == RuleField::Group && value_names(value, groups))
}

fn value_names(value: &RuleValue, groups: &BTreeSet<PlatformId>) -> bool {
    match value {
        RuleValue::Key(key) => groups.contains(key),
        RuleValue::List(values) => values.iter().any(|v| value_names(v, groups)),
        _ => false,
    }
}

/// Whether a platform has an on/off switch for the rule `id` of `kind` (Freshdesk: automation
/// rules only, whose ids read `creation:`, `update:` or `time:`).
fn switchable(platform: PlatformKind, kind: RecordKind, id: &PlatformId) -> bool {
    match platform {
        PlatformKind::Zendesk => true,
        PlatformKind::Freshdesk => {
            kind == RecordKind::Automation
                && ["creation:", "update:", "time:"]
                    .iter()
                    .any(|p| id.as_str().starts_with(p))
        }
        PlatformKind::Zammad => false,
    }
}

#[async_trait::async_trait]
impl Mover for LinkedMover {
    async fn plan_move(&self, wave: &Wave) -> (Vec<Change>, Vec<String>) {
        let mut changes = Vec::new();
        let mut problems = Vec::new();
        let groups = match self.wave_groups(wave).await {
            Ok(groups) => groups,
            Err(e) => return (changes, vec![e]),
        };
        if groups.is_empty() {
            problems.push("no linked group belongs to the wave: no agent or rule moved".into());
            return (changes, problems);
        }
        if let Err(e) = self
            .plan_agents(wave, &groups, &mut changes, &mut problems)
            .await
        {
            problems.push(e);
        }
        if let Err(e) = self.plan_rules(&groups, &mut changes, &mut problems).await {
            problems.push(e);
        }
        (changes, problems)
    }

    async fn apply(&self, changes: &[Change]) -> Vec<String> {
        let mut problems = Vec::new();
        for change in changes {
            if let Err(e) = self.set(change, &change.after).await {
                problems.push(format!("not moved: {e}"));
            }
        }
        problems
    }

    async fn restore(&self, _wave: &Wave, changes: &[Change]) -> Vec<String> {
        let mut problems = Vec::new();
        // Backwards: the old side's memberships come back after the new side's go.
        for change in changes.iter().rev() {
            if let Err(e) = self.set(change, &change.before).await {
                problems.push(format!("not restored: {e}"));
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test fails loudly")]

    use super::*;
    use cutover_model::rules::Operator;

    fn id(s: &str) -> PlatformId {
        PlatformId::parse(s.to_owned()).unwrap()
    }

    fn ids(list: &[&str]) -> BTreeSet<PlatformId> {
        list.iter().map(|s| id(s)).collect()
    }

    #[test]
    fn groups_are_selected_by_name_on_either_side() {
        let named = GroupSelection::Named(vec!["Billing".into(), " escalations ".into()]);
        assert!(selects_group(&named, "billing"));
        assert!(selects_group(&named, "Escalations"));
        assert!(!selects_group(&named, "Sales"));
        assert!(selects_group(&GroupSelection::All, "Sales"));
    }

    #[test]
    fn agents_are_selected_as_the_plan_says() {
        let wave_groups = ids(&["1", "2"]);
        let in_two = ids(&["2", "9"]);
        let elsewhere = ids(&["9"]);
        let by_group = AgentSelection::ByGroup;
        assert!(selects_agent(
            &by_group,
            "a@x.example",
            &in_two,
            &wave_groups
        ));
        assert!(!selects_agent(
            &by_group,
            "a@x.example",
            &elsewhere,
            &wave_groups
        ));
        assert!(selects_agent(
            &AgentSelection::All,
            "b@x.example",
            &elsewhere,
            &wave_groups
        ));
        let named = AgentSelection::Named(vec!["Ana@X.example".parse().unwrap()]);
        assert!(selects_agent(
            &named,
            "ana@x.example",
            &elsewhere,
            &wave_groups
        ));
        assert!(!selects_agent(
            &named,
            "bo@x.example",
            &in_two,
            &wave_groups
        ));
    }

    #[test]
    fn a_rule_belongs_to_the_groups_it_tests_or_assigns() {
        let groups = ids(&["7"]);
        let mut assigns = Rule::titled("route billing");
        assigns.actions.push(Action::Set {
            field: RuleField::Group,
            value: RuleValue::Key(id("7")),
        });
        assert!(names_groups(&assigns, &groups));
        let mut tests = Rule::titled("billing escalates");
        tests.any.push(Condition::test(
            RuleField::Group,
            Operator::Is,
            RuleValue::List(vec![RuleValue::Key(id("3")), RuleValue::Key(id("7"))]),
        ));
        assert!(names_groups(&tests, &groups));
        // The same number as an agent's key is not a group.
        let mut agent = Rule::titled("assign to 7");
        agent.actions.push(Action::Set {
            field: RuleField::Assignee,
            value: RuleValue::Key(id("7")),
        });
        assert!(!names_groups(&agent, &groups));
        assert!(!names_groups(&Rule::titled("nothing"), &groups));
    }

    #[test]
    fn only_rules_with_a_switch_are_switched() {
        assert!(switchable(
            PlatformKind::Zendesk,
            RecordKind::Macro,
            &id("4")
        ));
        assert!(switchable(
            PlatformKind::Freshdesk,
            RecordKind::Automation,
            &id("update:4")
        ));
        assert!(!switchable(
            PlatformKind::Freshdesk,
            RecordKind::Macro,
            &id("scenario:4")
        ));
        assert!(!switchable(
            PlatformKind::Freshdesk,
            RecordKind::Automation,
            &id("4")
        ));
    }
}
