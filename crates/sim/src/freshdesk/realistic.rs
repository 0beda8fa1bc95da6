//! The realistic profile of a generated Freshdesk account ([`crate::AccountProfile::Realistic`]):
//! the organisation's vocabulary and team from [`crate::realism`] in Freshdesk's shapes. In use
//! (with tickets): its products with their support addresses, custom roles, custom statuses
//! that tickets carry, its groups, ticket, contact and company fields with values, agents who
//! left (deleted, now contacts whose replies remain on tickets left unassigned; or turned into
//! occasional agents with a placeholder address, as Freshdesk advises), and automation rules,
//! canned responses and scenarios that refer to custom groups and fields, some rules inactive.
//! Being set up (no tickets): products, roles, statuses, groups, fields and agents, as the new
//! account's team named them.
//!
//! The plain generator still makes the companies, contacts, tickets and conversations; what is
//! laid over them draws from generators of its own, so their texts and times are unchanged.

use std::collections::BTreeMap;

use rand::RngExt;
use serde_json::{Value, json};

use super::fields::{field_name, next_status};
use super::seed::{self, add_agent, add_group, contact_record, obj};
use super::store::{FreshdeskState, Rec, iso, u64_of};
use crate::datagen::{pick, rng_for};
use crate::realism::{self, Departure, FieldDef, FieldKind, Stage};

const DAY: i64 = 86_400;
/// The built-in roles' ids (every account's): Account Administrator, Administrator,
/// Supervisor, Agent.
const SUPERVISOR: u64 = 47_000_000_003;
const AGENT: u64 = 47_000_000_004;

/// What the realistic profile changes on each generated ticket.
#[derive(Debug)]
pub(crate) struct Dress {
    /// Everyone who worked tickets: agents, occasional agents and deleted agents.
    authors: Vec<u64>,
    /// Deleted agents (contacts now): their tickets are unassigned.
    removed: Vec<u64>,
    /// The organisation's custom statuses: code and category.
    statuses: Vec<(u64, &'static str)>,
    /// Product ids.
    products: Vec<u64>,
    /// The organisation's ticket fields: API name and definition.
    fields: Vec<(String, &'static FieldDef)>,
}

impl Dress {
    /// Who authors agents' conversations.
    pub(crate) fn authors(&self) -> &[u64] {
        &self.authors
    }

    /// Lays the realistic profile over a generated ticket.
    pub(crate) fn ticket(&self, seed: u64, t: &mut Rec) {
        let mut rng = rng_for(seed, 0x2EA2, u64_of(t, "id").unwrap_or_default());
        if u64_of(t, "responder_id").is_some_and(|r| self.removed.contains(&r)) {
            t.insert("responder_id".into(), Value::Null);
        }
        let category = match u64_of(t, "status") {
            Some(2) => "open",
            Some(3) => "pending",
            _ => "",
        };
        let custom: Vec<u64> = self
            .statuses
            .iter()
            .filter(|(_, c)| *c == category || (*c == "hold" && category == "pending"))
            .map(|(code, _)| *code)
            .collect();
        if !custom.is_empty() && rng.random_bool(0.3) {
            t.insert("status".into(), json!(*pick(&mut rng, &custom)));
        }
        if !self.products.is_empty() && rng.random_bool(0.5) {
            t.insert("product_id".into(), json!(*pick(&mut rng, &self.products)));
        }
        let at = created_at(t);
        if let Some(Value::Object(custom)) = t.get_mut("custom_fields") {
            for (name, def) in &self.fields {
                let share = if def.active { 0.6 } else { 0.3 };
                if rng.random_bool(share) {
                    custom.insert(name.clone(), realism::field_value(&mut rng, def, at));
                }
            }
        }
    }
}

fn created_at(rec: &Rec) -> i64 {
    rec.get("created_at")
        .and_then(Value::as_str)
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map_or(0, |t| t.timestamp())
}

/// Builds a realistic account with `tickets` tickets (none: an account being set up).
pub(crate) fn generate(
    st: &mut FreshdeskState,
    (domain, base): (&str, &str),
    tickets: usize,
    now: i64,
) {
    let stage = Stage::of(tickets);
    let epoch = now - 3 * 365 * DAY;
    let (hours, admin) = seed::foundation(st, domain, epoch);
    let roles = add_roles(st, stage, epoch);
    let team = add_team(st, stage, domain, &roles, epoch);
    let names = realism::groups(stage);
    let mut groups = BTreeMap::new();
    for (i, named) in names.iter().enumerate() {
        let members: Vec<u64> = std::iter::once(admin)
            .chain(
                team.members
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| j % names.len() == i || j % 3 == i % 3)
                    .map(|(_, id)| *id),
            )
            .collect();
        groups.insert(
            named.0,
            add_group(st, *named, &members, (hours, admin), epoch),
        );
    }
    seed::reference_lists(st, domain, epoch, &realism::brands(stage));
    let fields = add_ticket_fields(st, stage, epoch);
    add_person_fields(st, "contact_fields", realism::CONTACT_FIELDS, stage, epoch);
    add_person_fields(
        st,
        "company_fields",
        realism::ORGANIZATION_FIELDS,
        stage,
        epoch,
    );
    let statuses = add_statuses(st, stage);
    if stage == Stage::InUse {
        add_rules(st, &groups, epoch);
    }
    let products = st
        .lists
        .get("products")
        .map(|l| l.iter().filter_map(|p| p.get("id")?.as_u64()).collect())
        .unwrap_or_default();
    let dress = Dress {
        authors: team.authors,
        removed: team.removed,
        statuses,
        products,
        fields,
    };
    seed::generate(st, (domain, base), tickets, now, Some(&dress));
    fill_person_fields(st);
}

/// The organisation's own roles, after the built-in ones; their ids.
fn add_roles(st: &mut FreshdeskState, stage: Stage, epoch: i64) -> Vec<u64> {
    realism::roles(stage)
        .into_iter()
        .enumerate()
        .map(|(i, (name, description))| {
            let id = 47_000_000_101 + i as u64;
            st.roles.insert(
                id,
                obj(json!({"id": id, "name": name, "description": description,
                    "default": false, "agent_type": 1, "created_at": iso(epoch),
                    "updated_at": iso(epoch)})),
            );
            id
        })
        .collect()
}

/// The team's agents and leavers.
struct Team {
    /// Agents still on the team (group members).
    members: Vec<u64>,
    /// Everyone who ever worked tickets.
    authors: Vec<u64>,
    /// Deleted agents, contacts now.
    removed: Vec<u64>,
}

/// The team: supervisors and agents with built-in and custom roles; a blocked leaver is an
/// occasional agent with a placeholder address, a removed one a contact.
fn add_team(
    st: &mut FreshdeskState,
    stage: Stage,
    domain: &str,
    custom_roles: &[u64],
    epoch: i64,
) -> Team {
    let mut roles = vec![SUPERVISOR, AGENT];
    roles.extend(custom_roles);
    let mut team = Team {
        members: Vec::new(),
        authors: Vec::new(),
        removed: Vec::new(),
    };
    let size = match stage {
        Stage::InUse => 8,
        Stage::SettingUp => 0,
    };
    for (i, member) in realism::team(stage, size).into_iter().enumerate() {
        let role = roles[i % roles.len()];
        let id = match member.departure {
            Departure::Removed => {
                let id = st.user_ids.next_id();
                let mut contact = contact_record(st, id, &member.name, epoch);
                contact.insert("email".into(), json!(member.email));
                st.put_contact(id, contact);
                team.removed.push(id);
                id
            }
            Departure::Blocked => {
                let placeholder = format!("former.agent.{}@{domain}.example.com", member.n);
                let id = add_agent(st, &member.name, &placeholder, role, epoch);
                if let Some(agent) = st.agents.get_mut(&id) {
                    agent.insert("occasional".into(), json!(true));
                    agent.insert("available".into(), json!(false));
                }
                id
            }
            Departure::Here => {
                let id = add_agent(st, &member.name, &member.email, role, epoch);
                st.contacts.update(id, |c| {
                    c.insert("language".into(), json!(member.locale));
                });
                team.members.push(id);
                id
            }
        };
        team.authors.push(id);
    }
    team
}

/// The organisation's ticket fields not already on the account (by API name), after the
/// built-in ones; their names and definitions.
fn add_ticket_fields(
    st: &mut FreshdeskState,
    stage: Stage,
    epoch: i64,
) -> Vec<(String, &'static FieldDef)> {
    let at = iso(epoch);
    let mut out = Vec::new();
    for (label, def) in realism::fields(realism::TICKET_FIELDS, stage) {
        let name = field_name(label, true);
        let list = st.lists.entry("ticket_fields").or_default();
        if list.iter().any(|f| f.get("name") == Some(&json!(name))) {
            continue;
        }
        let position = list.len() + 1;
        let id = st.other_ids.next_id();
        let mut field = json!({"id": id, "name": name, "label": label, "description": label,
            "position": position, "required_for_closure": false, "required_for_agents": false,
            "type": freshdesk_type(def.kind), "default": false, "customers_can_edit": false,
            "label_for_customers": label, "required_for_customers": false,
            "displayed_to_customers": false, "created_at": at, "updated_at": at});
        if def.kind == FieldKind::Dropdown
            && let Some(map) = field.as_object_mut()
        {
            map.insert("choices".into(), json!(def.options));
        }
        st.lists.entry("ticket_fields").or_default().push(field);
        out.push((name, def));
    }
    out
}

fn freshdesk_type(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Text => "custom_text",
        FieldKind::Decimal => "custom_decimal",
        FieldKind::Date => "custom_date",
        FieldKind::Checkbox => "custom_checkbox",
        FieldKind::Dropdown => "custom_dropdown",
    }
}

/// The organisation's contact or company fields (`kind`), after the account's own.
fn add_person_fields(
    st: &mut FreshdeskState,
    kind: &'static str,
    defs: &'static [FieldDef],
    stage: Stage,
    epoch: i64,
) {
    let at = iso(epoch);
    for (label, def) in realism::fields(defs, stage) {
        let name = field_name(label, false);
        let list = st.lists.entry(kind).or_default();
        if list.iter().any(|f| f.get("name") == Some(&json!(name))) {
            continue;
        }
        let position = list.len() + 1;
        let id = st.other_ids.next_id();
        let mut field = json!({"id": id, "name": name, "label": label,
            "position": position, "required_for_agents": false, "type": freshdesk_type(def.kind),
            "default": false, "customers_can_edit": false, "label_for_customers": label,
            "required_for_customers": false, "displayed_for_customers": false,
            "created_at": at, "updated_at": at});
        if def.kind == FieldKind::Dropdown
            && let Some(map) = field.as_object_mut()
        {
            map.insert("choices".into(), json!(def.options));
        }
        st.lists.entry(kind).or_default().push(field);
    }
}

/// Every contact (agents aside) and company shows the organisation's fields, and a share holds
/// values in them.
fn fill_person_fields(st: &mut FreshdeskState) {
    let seed = st.seed;
    for (kind, stream) in [("contact_fields", 0xC059), ("company_fields", 0x0A67)] {
        let defined: Vec<(String, Option<&'static FieldDef>)> = st
            .custom_fields_of(kind)
            .into_iter()
            .map(|f| {
                let def = realism::CONTACT_FIELDS
                    .iter()
                    .chain(realism::ORGANIZATION_FIELDS)
                    .find(|d| {
                        [d.label.in_use, d.label.setting_up]
                            .into_iter()
                            .flatten()
                            .any(|l| field_name(l, false) == f.name)
                    });
                (f.name, def)
            })
            .collect();
        let fill = |rec: &mut Rec| {
            let id = u64_of(rec, "id").unwrap_or_default();
            let at = created_at(rec);
            let mut rng = rng_for(seed, stream, id);
            if let Some(Value::Object(custom)) = rec.get_mut("custom_fields") {
                for (name, def) in &defined {
                    let value = match def {
                        Some(def) if rng.random_bool(0.7) => {
                            realism::field_value(&mut rng, def, at)
                        }
                        _ => Value::Null,
                    };
                    if !value.is_null() || !custom.contains_key(name) {
                        custom.insert(name.clone(), value);
                    }
                }
            }
        };
        let not_agent = |rec: &Rec| rec.get("_agent") != Some(&json!(true));
        match kind {
            "contact_fields" => st.contacts.update_where(not_agent, fill),
            _ => st.companies.update_where(|_| true, fill),
        }
    }
}

/// The organisation's custom statuses (a label the status field has already, case aside, is
/// not added again): code and category.
fn add_statuses(st: &mut FreshdeskState, stage: Stage) -> Vec<(u64, &'static str)> {
    let Some(Value::Object(choices)) = st
        .lists
        .get_mut("ticket_fields")
        .and_then(|l| {
            l.iter_mut()
                .find(|f| f.get("name") == Some(&json!("status")))
        })
        .and_then(|f| f.get_mut("choices"))
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (label, category) in realism::statuses(stage) {
        let known = choices.values().any(|v| {
            v.get(0)
                .and_then(Value::as_str)
                .is_some_and(|l| l.eq_ignore_ascii_case(label))
        });
        if known {
            continue;
        }
        let code = next_status(choices);
        let shown = match category {
            "pending" => "Awaiting your Reply",
            _ => "Being Processed",
        };
        choices.insert(code.to_string(), json!([label, shown]));
        out.push((code, category));
    }
    out
}

/// One automation rule as `POST /automations/{kind}/rules` stores it: the only rule of its kind
/// the generator makes, so the first in position.
fn rule(st: &mut FreshdeskState, kind: u64, name: &str, active: bool, body: Value, epoch: i64) {
    let id = st.other_ids.next_id();
    let position = 1;
    let mut rec = obj(
        json!({"id": id, "name": name, "position": position, "active": active,
        "outdated": false, "performer": {"type": 1}, "events": [], "conditions": [], "actions": [],
        "last_updated_by": st.owner_id, "summary": {}, "created_at": iso(epoch),
        "updated_at": iso(epoch), "_type": kind}),
    );
    if let Value::Object(body) = body {
        rec.extend(body);
    }
    st.rules.insert(id, rec);
}

/// Automation rules, canned responses and scenarios of an account in use that refer to its own
/// groups and fields; two rules were switched off long ago.
fn add_rules(st: &mut FreshdeskState, groups: &BTreeMap<&'static str, u64>, epoch: i64) {
    let group = |name: &str| groups.get(name).copied().unwrap_or_default();
    let (billing, tier2, vip, returns) = (
        group("Billing"),
        group("Tier 2"),
        group("VIP"),
        group("Returns"),
    );
    let property = |field: &str, operator: &str, value: Value| json!({"resource_type": "ticket", "field_name": field, "operator": operator, "value": value});
    let all = |properties: Vec<Value>| json!([{"name": "condition_set_1", "match_type": "all", "properties": properties}]);
    rule(
        st,
        1,
        "Route billing questions to Billing",
        true,
        json!({
        "conditions": all(vec![property("cf_reason_for_contact", "is", json!("Billing question"))]),
        "actions": [{"field_name": "group_id", "value": billing}]}),
        epoch,
    );
    rule(
        st,
        4,
        "Escalate urgent VIP updates",
        false,
        json!({
        "events": [{"field_name": "priority", "from": "--", "to": 4}],
        "conditions": all(vec![property("group_id", "in", json!([vip]))]),
        "actions": [{"field_name": "group_id", "value": tier2}]}),
        epoch,
    );
    rule(
        st,
        3,
        "Close resolved tickets after 48 hours (retired)",
        false,
        json!({
        "conditions": all(vec![property("status", "in", json!([4])),
            property("hours_since_resolved", "greater_than", json!(48))]),
        "actions": [{"field_name": "status", "value": 5}]}),
        epoch,
    );
    let at = iso(epoch);
    let folder = st.other_ids.next_id();
    let responses: Vec<Value> = [
        (
            "Refund approved",
            "Hello {{ticket.requester.name}}, your refund is on its way.",
        ),
        (
            "Invoice copy",
            "Please find a copy of invoice {{ticket.cf_order_number}} attached.",
        ),
    ]
    .into_iter()
    .map(|(title, text)| {
        json!({"id": st.other_ids.next_id(), "title": title, "folder_id": folder,
            "content": text, "content_html": format!("<div>{text}</div>"), "attachments": [],
            "visibility": 2, "group_ids": [billing], "created_at": at, "updated_at": at})
    })
    .collect();
    st.lists
        .entry("canned_response_folders")
        .or_default()
        .push(json!({"id": folder, "name": "Billing", "personal": false,
            "responses_count": responses.len(), "created_at": at, "updated_at": at}));
    st.lists
        .entry("canned_responses")
        .or_default()
        .extend(responses);
    let scenarios: Vec<Value> = [
        (
            "Escalate to Tier 2",
            json!([{"name": "group_id", "value": tier2}, {"name": "priority", "value": 3}]),
        ),
        (
            "Refund request to Returns",
            json!([{"name": "group_id", "value": returns},
                {"name": "cf_reason_for_contact", "value": "Refund request"}]),
        ),
    ]
    .into_iter()
    .map(|(name, actions)| {
        json!({"id": st.other_ids.next_id(), "name": name, "description": name,
            "actions": actions, "private": false, "created_at": at, "updated_at": at})
    })
    .collect();
    st.lists
        .entry("scenario_automations")
        .or_default()
        .extend(scenarios);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::realism::TEAM_DOMAIN;

    fn account(seed: u64, tickets: usize) -> FreshdeskState {
        let mut st = FreshdeskState::empty(seed);
        generate(&mut st, ("acme", "http://sim"), tickets, 1_717_416_000);
        st
    }

    fn names(list: &[Value], key: &str) -> Vec<String> {
        list.iter()
            .filter_map(|v| v.get(key).and_then(Value::as_str).map(str::to_owned))
            .collect()
    }

    #[test]
    fn an_account_in_use_holds_what_a_template_does_not() {
        let st = account(3, 200);
        let groups: Vec<String> = st.groups.values().map(|g| g["name"].to_string()).collect();
        assert!(groups.iter().any(|g| g.contains("Tier 2")), "{groups:?}");
        assert!(st.roles.values().any(|r| r["default"] == json!(false)));
        assert!(st.statuses().len() > 6);
        let fields = names(&st.lists["ticket_fields"], "name");
        assert!(
            fields.contains(&"cf_reason_for_contact".to_owned()),
            "{fields:?}"
        );
        assert!(
            fields.contains(&"cf_plan".to_owned()),
            "the plain fields stay"
        );
        assert!(names(&st.lists["contact_fields"], "name").contains(&"preferred_language".into()));
        assert!(names(&st.lists["company_fields"], "name").contains(&"segment".into()));
        assert!(st.lists["products"].len() >= 3);
        assert!(st.rules.values().any(|r| r["active"] == json!(false)));
        assert!(
            st.tickets
                .values()
                .any(|t| t["status"].as_u64().is_some_and(|s| s > 7))
        );
        // A deleted agent is a contact whose replies remain on tickets nobody is assigned.
        let removed: Vec<u64> = st
            .contacts
            .values()
            .filter(|c| c.get("_agent").is_none())
            .filter(|c| {
                c["email"]
                    .as_str()
                    .is_some_and(|e| e.ends_with(TEAM_DOMAIN))
            })
            .filter_map(|c| u64_of(c, "id"))
            .collect();
        assert!(!removed.is_empty());
        assert!(
            st.conversations
                .values()
                .any(|c| u64_of(c, "user_id").is_some_and(|u| removed.contains(&u)))
        );
        assert!(
            st.tickets
                .values()
                .all(|t| !u64_of(t, "responder_id").is_some_and(|r| removed.contains(&r)))
        );
        assert!(st.agents.values().any(|a| a["occasional"] == json!(true)));
        let contact = st.contacts.values().find(|c| c.get("_agent").is_none());
        let custom = contact.and_then(|c| c["custom_fields"].as_object());
        assert!(
            custom.is_some_and(|c| c.contains_key("loyalty_member")),
            "{custom:?}"
        );
    }

    #[test]
    fn an_empty_account_is_one_being_set_up() {
        let st = account(4, 0);
        assert_eq!(st.tickets.values().count(), 0);
        let groups: Vec<String> = st.groups.values().map(|g| g["name"].to_string()).collect();
        assert!(
            groups.iter().any(|g| g.contains("Onboarding")),
            "{groups:?}"
        );
        let fields = names(&st.lists["ticket_fields"], "label");
        assert!(fields.contains(&"Contact reason".to_owned()), "{fields:?}");
        assert!(st.agents.len() >= 10, "the admin and the team");
    }

    #[test]
    fn same_seed_same_bytes() {
        let dump = |st: &FreshdeskState| {
            serde_json::to_string(&(
                st.tickets.values().collect::<Vec<_>>(),
                st.contacts.values().collect::<Vec<_>>(),
                &st.lists,
                &st.rules,
            ))
            .unwrap_or_default()
        };
        assert_eq!(dump(&account(9, 120)), dump(&account(9, 120)));
        assert_ne!(dump(&account(9, 120)), dump(&account(10, 120)));
    }
}
