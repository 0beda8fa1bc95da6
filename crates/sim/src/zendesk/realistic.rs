//! The realistic profile of a generated Zendesk account ([`crate::AccountProfile::Realistic`]):
//! the organisation's vocabulary and team from [`crate::realism`] in Zendesk's shapes, laid over
//! the plain generator. In use (with tickets): several brands with their support addresses,
//! custom roles, custom statuses that tickets carry, the organisation's groups, ticket, user and
//! organization fields with values, agents who left (suspended, or downgraded to end-user, still
//! authoring the comments of their closed tickets), and macros, triggers, automations and views
//! that refer to custom groups and fields, some inactive. Being set up (no tickets): brands,
//! roles, statuses, groups, fields and agents, as the new account's team named them.
//!
//! Everything added draws from generators of its own streams, so the plain generator's data
//! (subjects, comments, times) is unchanged underneath.

use std::collections::BTreeMap;

use rand::RngExt;
use serde_json::{Map, Value, json};

use super::model::{Role, Status, Ticket};
use super::seed::{
    self, TWO_YEARS, World, add_config, add_group, add_membership, new_user, template,
};
use super::store::ZendeskState;
use crate::datagen::{self, pick, rng_for};
use crate::realism::{self, Departure, FieldDef, FieldKind, Stage};

const YEAR: i64 = 365 * 86_400;

/// A field the realistic profile added: its id and definition.
type Field = (u64, &'static FieldDef);

/// What the realistic profile changes on each generated ticket.
#[derive(Debug)]
pub(crate) struct Dress {
    /// Brand ids, the main brand first.
    brands: Vec<u64>,
    /// Custom status ids with their category.
    statuses: Vec<(&'static str, u64)>,
    /// The organisation's ticket fields beyond the plain ones: id and definition.
    fields: Vec<Field>,
    /// Group ids, in the order of `active_by_group`.
    groups: Vec<u64>,
    /// Agents still on the team, by group.
    active_by_group: Vec<Vec<u64>>,
    /// Agents who have left.
    left: Vec<u64>,
}

impl Dress {
    /// Lays the realistic profile over generated ticket `n`.
    pub(crate) fn ticket(&self, seed: u64, n: u64, anchor: i64, t: &mut Ticket) {
        let mut rng = rng_for(seed, 0x2EA1, n);
        // Only a closed ticket (immutable) keeps an agent who left; the rest were reassigned.
        if t.status != Status::Closed
            && let Some(assignee) = t.assignee_id
            && self.left.contains(&assignee)
        {
            let group = t
                .group_id
                .and_then(|g| self.groups.iter().position(|id| *id == g))
                .unwrap_or_default();
            let active = &self.active_by_group[group];
            t.assignee_id = (!active.is_empty()).then(|| *pick(&mut rng, active));
        }
        let category = t.status.as_str();
        let custom: Vec<u64> = self
            .statuses
            .iter()
            .filter(|(c, _)| *c == category)
            .map(|(_, id)| *id)
            .collect();
        if !custom.is_empty() && rng.random_bool(0.35) {
            t.custom_status_id = Some(*pick(&mut rng, &custom));
        }
        if self.brands.len() > 1 && rng.random_bool(0.35) {
            t.brand_id = *pick(&mut rng, &self.brands[1..]);
        }
        for (id, def) in &self.fields {
            let retired = !def.active && t.created_at > anchor - YEAR;
            if retired || !rng.random_bool(0.6) {
                continue;
            }
            t.custom_fields
                .push((*id, value_of(&mut rng, def, t.created_at)));
        }
    }
}

/// A field value as Zendesk stores it: a dropdown's as its option's tag.
fn value_of(rng: &mut rand::rngs::StdRng, def: &FieldDef, at: i64) -> Value {
    let value = realism::field_value(rng, def, at);
    match (def.kind, value.as_str()) {
        (FieldKind::Dropdown, Some(label)) => json!(realism::tag_of(label)),
        _ => value,
    }
}

/// Generates a realistic account with `tickets` tickets (none: an account being set up).
/// Configuration dates from two years before `now`'s day, as the plain generator's does.
pub(crate) fn generate(st: &mut ZendeskState, tickets: usize, now: i64) {
    let stage = Stage::of(tickets);
    let anchor = now - now.rem_euclid(86_400);
    let since = anchor - TWO_YEARS;
    let size = seed::sizes(tickets);
    let brands = add_brands(st, stage, since);
    add_roles(st, stage, since);
    let statuses = add_statuses(st, stage, since);
    let groups = add_groups(st, stage, size.groups, since);
    let group_ids: Vec<u64> = groups.values().copied().collect();
    let plain_fields = (stage == Stage::InUse).then(|| seed::add_custom_fields(st, since));
    let fields = add_fields(st, "ticket_fields", realism::TICKET_FIELDS, stage, since);
    let user_fields = add_fields(st, "user_fields", realism::CONTACT_FIELDS, stage, since);
    let org_fields = add_fields(
        st,
        "organization_fields",
        realism::ORGANIZATION_FIELDS,
        stage,
        since,
    );
    let team = add_team(st, stage, size.agents, &group_ids, since);
    let Some(plain_fields) = plain_fields else {
        return;
    };
    add_rules(st, &groups, since);
    let orgs = seed::add_orgs(st, size.orgs, anchor);
    let customers = seed::add_customers(st, size.customers, &orgs, anchor);
    fill_person_fields(st, &orgs, &customers, (&user_fields, &org_fields));
    let dress = Dress {
        brands,
        statuses,
        fields,
        groups: group_ids.clone(),
        active_by_group: team.active_by_group,
        left: team.left,
    };
    let mut rng = rng_for(st.seed, 0x71C4, 0);
    let mut created: Vec<i64> = (0..tickets)
        .map(|_| datagen::business_time(&mut rng, since, anchor - 3600))
        .collect();
    created.sort_unstable();
    let world = World {
        groups: &group_ids,
        agents_by_group: &team.by_group,
        customers: &customers,
        fields: &plain_fields,
        dress: Some(&dress),
    };
    for (i, created_at) in created.into_iter().enumerate() {
        seed::add_ticket(st, &world, i as u64, created_at, anchor);
    }
    st.events.sort_by_key(|e| (e.timestamp, e.id));
}

/// Renames the account's brand to the organisation's main one and adds the others, each with
/// its support address; returns their ids, the main brand first.
fn add_brands(st: &mut ZendeskState, stage: Stage, since: i64) -> Vec<u64> {
    let subdomain = st
        .config_of("brands")
        .and_then(|b| b.get(&st.brand_id))
        .and_then(|b| b.get("subdomain"))
        .and_then(Value::as_str)
        .unwrap_or("cutover-sim")
        .to_owned();
    let mut ids = vec![st.brand_id];
    for (i, (name, mailbox)) in realism::brands(stage).into_iter().enumerate() {
        let brand_id = if i == 0 {
            if let Some(main) = st.config_mut("brands").get_mut(&ids[0]) {
                main.insert("name".into(), json!(name));
            }
            ids[0]
        } else {
            let host = format!("{subdomain}-{mailbox}");
            let mut brand = template("brand");
            brand.insert("name".into(), json!(name));
            brand.insert("subdomain".into(), json!(host));
            brand.insert(
                "brand_url".into(),
                json!(format!("https://{host}.zendesk.com")),
            );
            brand.insert("default".into(), json!(false));
            brand.insert("ticket_form_ids".into(), json!([st.form_id]));
            let id = add_config(st, "brands", brand, since);
            ids.push(id);
            id
        };
        if mailbox != "support" {
            let mut address = template("recipient_address");
            address.insert("brand_id".into(), json!(brand_id));
            address.insert(
                "email".into(),
                json!(format!("{mailbox}@{subdomain}.zendesk.com")),
            );
            address.insert("name".into(), json!(name));
            address.insert("default".into(), json!(false));
            add_config(st, "recipient_addresses", address, since);
        }
    }
    ids
}

/// The organisation's own roles, beside the ones every account has.
fn add_roles(st: &mut ZendeskState, stage: Stage, since: i64) {
    let staff = st
        .config_of("custom_roles")
        .and_then(|r| r.values().find(|r| r.get("name") == Some(&json!("Staff"))))
        .cloned()
        .unwrap_or_default();
    for (name, description) in realism::roles(stage) {
        let mut role = staff.clone();
        for key in ["id", "created_at", "updated_at"] {
            role.remove(key);
        }
        role.insert("name".into(), json!(name));
        role.insert("description".into(), json!(description));
        role.insert("role_type".into(), json!(0));
        add_config(st, "custom_roles", role, since);
    }
}

/// The organisation's custom statuses; returns each id with its category.
fn add_statuses(st: &mut ZendeskState, stage: Stage, since: i64) -> Vec<(&'static str, u64)> {
    realism::statuses(stage)
        .into_iter()
        .map(|(label, category)| {
            let status = seed::status(label, category, false);
            (category, add_config(st, "custom_statuses", status, since))
        })
        .collect()
}

/// The organisation's groups (and regional teams when the account is large): ids by name.
fn add_groups(
    st: &mut ZendeskState,
    stage: Stage,
    n: usize,
    since: i64,
) -> BTreeMap<&'static str, u64> {
    let named = realism::groups(stage);
    let mut out = BTreeMap::new();
    for (name, description) in &named {
        let id = add_group(st, name, false, since);
        if let Some(group) = st.groups.get_mut(&id) {
            group.description = (*description).to_owned();
        }
        out.insert(*name, id);
    }
    for k in named.len()..n {
        let name: &'static str = REGIONAL[k % REGIONAL.len()];
        if !out.contains_key(name) {
            out.insert(name, add_group(st, name, false, since));
        }
    }
    out
}

/// Regional teams of a large account.
const REGIONAL: &[&str] = &[
    "Support EMEA",
    "Support APAC",
    "Support Americas",
    "Billing EMEA",
    "Billing APAC",
    "Billing Americas",
];

/// The organisation's fields of `collection` at `stage` (a title the account has already is
/// kept as it is); returns the new ones' ids with their definitions.
fn add_fields(
    st: &mut ZendeskState,
    collection: &'static str,
    defs: &'static [FieldDef],
    stage: Stage,
    since: i64,
) -> Vec<Field> {
    let ticket = collection == "ticket_fields";
    let mut out = Vec::new();
    for (label, def) in realism::fields(defs, stage) {
        let taken = st.config_of(collection).is_some_and(|fields| {
            fields
                .values()
                .any(|f| f.get("title").and_then(Value::as_str) == Some(label))
        });
        if taken {
            continue;
        }
        let tpl = match collection {
            "ticket_fields" => "tpl_ticket_field",
            "user_fields" => "tpl_user_field",
            _ => "tpl_organization_field",
        };
        let mut field = template(tpl);
        for key in [
            "title",
            "raw_title",
            "title_in_portal",
            "raw_title_in_portal",
        ] {
            if ticket || !key.contains("portal") {
                field.insert(key.into(), json!(label));
            }
        }
        for key in ["description", "raw_description"] {
            field.insert(key.into(), json!(""));
        }
        let kind = match def.kind {
            FieldKind::Text => "text",
            FieldKind::Decimal => "decimal",
            FieldKind::Date => "date",
            FieldKind::Checkbox => "checkbox",
            FieldKind::Dropdown if ticket => "tagger",
            FieldKind::Dropdown => "dropdown",
        };
        field.insert("type".into(), json!(kind));
        field.insert("active".into(), json!(def.active));
        if !ticket {
            field.insert("key".into(), json!(realism::tag_of(label)));
        }
        if def.kind == FieldKind::Dropdown {
            let options: Vec<Value> = def
                .options
                .iter()
                .map(|name| {
                    json!({"id": st.ids.next_id(), "name": name, "raw_name": name,
                        "value": realism::tag_of(name), "default": false})
                })
                .collect();
            field.insert("custom_field_options".into(), json!(options));
        }
        out.push((add_config(st, collection, field, since), def));
    }
    out
}

/// Values of the organisation's user and organization fields on a share of customers and
/// organizations.
fn fill_person_fields(
    st: &mut ZendeskState,
    orgs: &[u64],
    customers: &[(u64, Option<u64>)],
    (user_fields, org_fields): (&[Field], &[Field]),
) {
    let key_of = |st: &ZendeskState, collection: &str, id: u64| -> Option<String> {
        st.config_of(collection)?
            .get(&id)?
            .get("key")?
            .as_str()
            .map(str::to_owned)
    };
    let user_keys: Vec<(String, &FieldDef)> = user_fields
        .iter()
        .filter_map(|(id, def)| Some((key_of(st, "user_fields", *id)?, *def)))
        .collect();
    let org_keys: Vec<(String, &FieldDef)> = org_fields
        .iter()
        .filter_map(|(id, def)| Some((key_of(st, "organization_fields", *id)?, *def)))
        .collect();
    for (id, _) in customers {
        let Some(mut user) = st.users.get(id).cloned() else {
            continue;
        };
        let mut rng = rng_for(st.seed, 0xC058, *id);
        fill(&mut rng, &mut user.user_fields, &user_keys, user.created_at);
        st.put_user(user);
    }
    for id in orgs {
        let Some(mut org) = st.orgs.get(id).cloned() else {
            continue;
        };
        let mut rng = rng_for(st.seed, 0x0A66, *id);
        fill(
            &mut rng,
            &mut org.organization_fields,
            &org_keys,
            org.created_at,
        );
        st.put_org(org);
    }
}

fn fill(
    rng: &mut rand::rngs::StdRng,
    values: &mut Map<String, Value>,
    keys: &[(String, &FieldDef)],
    at: i64,
) {
    for (key, def) in keys {
        if rng.random_bool(0.7) {
            values.insert(key.clone(), value_of(rng, def, at));
        }
    }
}

/// The agents, by group: every agent who was ever a member (whom old tickets name), those
/// still on the team, and those who left.
struct Team {
    by_group: Vec<Vec<u64>>,
    active_by_group: Vec<Vec<u64>>,
    left: Vec<u64>,
}

/// The team as agents: its first member an admin, the rest agents with the account's custom
/// roles; those who left suspended (blocked) or downgraded to end-users (removed, out of their
/// groups).
fn add_team(st: &mut ZendeskState, stage: Stage, size: usize, groups: &[u64], since: i64) -> Team {
    let roles: Vec<u64> = st
        .config_of("custom_roles")
        .map(|r| r.keys().copied().collect())
        .unwrap_or_default();
    let mut team = Team {
        by_group: vec![Vec::new(); groups.len()],
        active_by_group: vec![Vec::new(); groups.len()],
        left: Vec::new(),
    };
    for (i, member) in realism::team(stage, size).into_iter().enumerate() {
        let mut rng = rng_for(st.seed, 0xA6E8, member.n);
        let id = st.ids.next_id();
        let (role, custom_role) = match (i, member.departure) {
            (_, Departure::Removed) => (Role::EndUser, None),
            (0, _) => (Role::Admin, roles.first().copied()),
            _ => (
                Role::Agent,
                roles
                    .get(1 + i % roles.len().saturating_sub(1).max(1))
                    .copied(),
            ),
        };
        let mut u = new_user(id, &member.name, Some(member.email.clone()), role, since);
        u.locale = member.locale.into();
        u.time_zone = member.time_zone.into();
        u.verified = true;
        u.custom_role_id = custom_role;
        u.suspended = member.departure == Departure::Blocked;
        u.signature = (role != Role::EndUser).then(|| format!("— {}", member.name));
        let first = i % groups.len();
        let mut mine = vec![first];
        mine.extend(
            (0..rng.random_range(0..3usize))
                .map(|_| rng.random_range(0..groups.len()))
                .filter(|g| *g != first),
        );
        mine.dedup();
        if role != Role::EndUser {
            u.default_group_id = Some(groups[first]);
        }
        st.put_user(u);
        for (k, g) in mine.into_iter().enumerate() {
            team.by_group[g].push(id);
            if member.departure == Departure::Here {
                team.active_by_group[g].push(id);
            }
            if role != Role::EndUser {
                add_membership(st, id, groups[g], k == 0, since);
            }
        }
        if member.departure != Departure::Here {
            team.left.push(id);
        }
    }
    team
}

/// The id of the ticket field titled `title`, as an action or condition names it
/// (`custom_fields_{id}`).
fn field_ref(st: &ZendeskState, title: &str) -> String {
    let id = st
        .config_of("ticket_fields")
        .and_then(|f| {
            f.iter()
                .find(|(_, f)| f.get("title").and_then(Value::as_str) == Some(title))
        })
        .map_or(0, |(id, _)| *id);
    format!("custom_fields_{id}")
}

/// One business rule from its recorded template.
fn rule(tpl: &str, title: &str, active: bool, extra: Value) -> Map<String, Value> {
    let mut record = template(tpl);
    record.insert("title".into(), json!(title));
    record.insert("raw_title".into(), json!(title));
    record.insert("active".into(), json!(active));
    record.insert("default".into(), json!(false));
    if let Value::Object(extra) = extra {
        record.extend(extra);
    }
    record
}

/// Macros, triggers, automations and views of an account in use that refer to its own groups
/// and fields; some were switched off long ago.
fn add_rules(st: &mut ZendeskState, groups: &BTreeMap<&'static str, u64>, since: i64) {
    let group = |name: &str| groups.get(name).map_or(String::new(), u64::to_string);
    let reason = field_ref(st, "Reason for contact");
    let vip = field_ref(st, "VIP");
    let rules: Vec<(&str, Map<String, Value>)> = vec![
        (
            "macros",
            rule(
                "tpl_macro",
                "Escalate to Tier 2",
                true,
                json!({"actions": [
            {"field": "group_id", "value": group("Tier 2")},
            {"field": "priority", "value": "high"},
            {"field": "comment_value", "value": "I have passed this on to our second line."}]}),
            ),
        ),
        (
            "macros",
            rule(
                "tpl_macro",
                "Refund approved",
                true,
                json!({"actions": [
            {"field": reason, "value": "refund_request"},
            {"field": "status", "value": "solved"},
            {"field": "comment_value_html", "value": "<p>Your refund is on its way.</p>"}]}),
            ),
        ),
        (
            "macros",
            rule(
                "tpl_macro",
                "Holiday greeting (2022)",
                false,
                json!({"actions": [
            {"field": "comment_value", "value": "Our team is away until January 3."}]}),
            ),
        ),
        (
            "triggers",
            rule(
                "tpl_trigger",
                "Route billing questions to Billing",
                true,
                json!({
            "conditions": {"all": [
                {"field": "update_type", "operator": "is", "value": "Create"},
                {"field": reason, "operator": "is", "value": "billing_question"}], "any": []},
            "actions": [{"field": "group_id", "value": group("Billing")}]}),
            ),
        ),
        (
            "triggers",
            rule(
                "tpl_trigger",
                "Route VIP customers",
                false,
                json!({
            "conditions": {"all": [{"field": vip, "operator": "is", "value": "true"}], "any": []},
            "actions": [{"field": "group_id", "value": group("VIP")},
                {"field": "priority", "value": "urgent"}]}),
            ),
        ),
        (
            "automations",
            rule(
                "tpl_automation",
                "Remind customers pending for 3 days",
                true,
                json!({
            "conditions": {"all": [
                {"field": "status", "operator": "is", "value": "pending"},
                {"field": "PENDING", "operator": "greater_than", "value": "72"},
                {"field": "current_tags", "operator": "not_includes", "value": "reminded"}], "any": []},
            "actions": [{"field": "current_tags", "value": "reminded"},
                {"field": "notification_user", "value": ["requester_id", "Do you still need help?",
                    "We are waiting for your reply on {{ticket.title}}."]}]}),
            ),
        ),
        (
            "automations",
            rule(
                "tpl_automation",
                "Escalate unassigned Tier 2 tickets (retired)",
                false,
                json!({
            "conditions": {"all": [
                {"field": "group_id", "operator": "is", "value": group("Tier 2")},
                {"field": "assignee_id", "operator": "is", "value": ""},
                {"field": "NEW", "operator": "greater_than", "value": "48"}], "any": []},
            "actions": [{"field": "priority", "value": "urgent"}]}),
            ),
        ),
        (
            "views",
            rule(
                "tpl_view",
                "Tier 2 queue",
                true,
                json!({
            "conditions": {"all": [
                {"field": "group_id", "operator": "is", "value": group("Tier 2")},
                {"field": "status", "operator": "less_than", "value": "solved"}], "any": []}}),
            ),
        ),
        (
            "views",
            rule(
                "tpl_view",
                "Refund requests (old)",
                false,
                json!({
            "conditions": {"all": [
                {"field": reason, "operator": "is", "value": "refund_request"}], "any": []}}),
            ),
        ),
    ];
    for (kind, record) in rules {
        add_config(st, kind, record, since);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::realism::TEAM_DOMAIN;

    fn account(seed: u64, tickets: usize) -> ZendeskState {
        let mut st = ZendeskState::empty(seed, "http://sim");
        seed::bootstrap(&mut st, "admin@example.com", "sim", 1_600_000_000);
        generate(&mut st, tickets, 1_700_000_000);
        st
    }

    fn titles(st: &ZendeskState, kind: &str, key: &str) -> Vec<String> {
        st.config_of(kind)
            .into_iter()
            .flat_map(|c| c.values())
            .filter_map(|r| r.get(key).and_then(Value::as_str).map(str::to_owned))
            .collect()
    }

    #[test]
    fn an_account_in_use_holds_what_a_template_does_not() {
        let st = account(3, 300);
        let groups: Vec<&str> = st.groups.values().map(|g| g.name.as_str()).collect();
        assert!(
            groups.contains(&"Tier 2") && groups.contains(&"Returns"),
            "{groups:?}"
        );
        assert!(titles(&st, "custom_roles", "name").contains(&"Contractor".to_owned()));
        assert!(titles(&st, "brands", "name").len() >= 3);
        assert!(titles(&st, "recipient_addresses", "email").len() >= 3);
        for field in [
            "Reason for contact",
            "Legacy ticket ID",
            "Order number",
            "Product",
        ] {
            assert!(
                titles(&st, "ticket_fields", "title").contains(&field.to_owned()),
                "{field}"
            );
        }
        assert!(titles(&st, "user_fields", "key").contains(&"preferred_language".to_owned()));
        assert!(titles(&st, "organization_fields", "key").contains(&"segment".to_owned()));
        let inactive = |kind: &str| {
            st.config_of(kind)
                .is_some_and(|c| c.values().any(|r| r.get("active") == Some(&json!(false))))
        };
        for kind in ["macros", "triggers", "automations", "views"] {
            assert!(inactive(kind), "an inactive {kind}");
        }
        let custom_statuses: Vec<u64> = st
            .config_of("custom_statuses")
            .into_iter()
            .flat_map(|c| c.iter())
            .filter(|(_, s)| s.get("default") == Some(&json!(false)))
            .map(|(id, _)| *id)
            .collect();
        assert!(st.tickets.values().any(|t| {
            t.custom_status_id
                .is_some_and(|s| custom_statuses.contains(&s))
        }));
        let team: Vec<_> = st
            .users
            .values()
            .filter(|u| u.email.as_deref().is_some_and(|e| e.ends_with(TEAM_DOMAIN)))
            .collect();
        let suspended: Vec<u64> = team.iter().filter(|u| u.suspended).map(|u| u.id).collect();
        let downgraded: Vec<u64> = team
            .iter()
            .filter(|u| u.role == Role::EndUser)
            .map(|u| u.id)
            .collect();
        assert!(!suspended.is_empty() && !downgraded.is_empty());
        let authors: std::collections::BTreeSet<u64> = st
            .tickets
            .values()
            .flat_map(|t| seed::comments(&st, t))
            .map(|c| c.author_id)
            .collect();
        assert!(
            downgraded.iter().any(|id| authors.contains(id)),
            "a downgraded agent's comments"
        );
        assert!(
            suspended.iter().any(|id| authors.contains(id)),
            "a suspended agent's comments"
        );
        for t in st.tickets.values().filter(|t| t.status != Status::Closed) {
            let left = suspended
                .iter()
                .chain(&downgraded)
                .any(|id| t.assignee_id == Some(*id));
            assert!(!left, "ticket {} open with an agent who left", t.id);
        }
    }

    #[test]
    fn an_empty_account_is_one_being_set_up() {
        let st = account(4, 0);
        assert!(st.tickets.is_empty());
        let groups: Vec<&str> = st.groups.values().map(|g| g.name.as_str()).collect();
        assert!(
            groups.contains(&"Escalations") && groups.contains(&"Onboarding"),
            "{groups:?}"
        );
        assert!(titles(&st, "ticket_fields", "title").contains(&"Contact reason".to_owned()));
        assert!(titles(&st, "custom_roles", "name").contains(&"Trainee".to_owned()));
        let agents = st
            .users
            .values()
            .filter(|u| u.role != Role::EndUser)
            .count();
        assert!(agents >= 10, "the admin and the team: {agents}");
    }

    #[test]
    fn same_seed_same_bytes() {
        let render = |st: &ZendeskState| -> Vec<Value> {
            st.tickets
                .values()
                .map(|t| super::super::json::ticket(st, t, "http://sim", true))
                .chain(
                    st.users
                        .values()
                        .map(|u| super::super::json::user(u, "http://sim")),
                )
                .collect()
        };
        assert_eq!(render(&account(9, 200)), render(&account(9, 200)));
        assert_ne!(render(&account(9, 200)), render(&account(10, 200)));
    }
}
