//! What every account has (owner, brand, form, statuses, roles, default business rules) and the
//! seeded generator of realistic data: organizations, customers in many scripts, agents in groups
//! with roles, tickets in every status over two years with 1–50 comments (a few with over a
//! thousand), public and private, HTML with inline images, attachments with real bytes, tags,
//! custom fields and satisfaction ratings. Comment bodies and attachment bytes are regenerated
//! from `(seed, id)` on demand, so a ticket costs a few hundred bytes however long its history.

use std::sync::OnceLock;

use rand::RngExt;
use rand::rngs::StdRng;
use serde_json::{Map, Value, json};

use super::json::iso;
use super::model::{
    Comment, GeneratedComments, Group, Membership, Organization, Priority, Rating, Role, Status,
    Ticket, TicketEvent, TicketType, User,
};
use super::store::ZendeskState;
use crate::datagen::{self, pick, rng_for};

pub(crate) const TWO_YEARS: i64 = 730 * 86_400;
/// The channels a seeded ticket arrived by.
const VIAS: [&str; 4] = ["email", "web", "api", "mobile"];

/// The business rules and templates recorded from a real account (ids stripped).
pub(crate) fn defaults() -> &'static Value {
    static DEFAULTS: OnceLock<Value> = OnceLock::new();
    DEFAULTS
        .get_or_init(|| serde_json::from_str(include_str!("defaults.json")).unwrap_or(Value::Null))
}

/// A recorded template object by key (`tpl_view`, `brand`, …), or an empty object.
pub(crate) fn template(key: &str) -> Map<String, Value> {
    defaults()
        .get(key)
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

fn stamp(
    st: &mut ZendeskState,
    mut record: Map<String, Value>,
    now: i64,
) -> (u64, Map<String, Value>) {
    let id = st.ids.next_id();
    record.insert("id".into(), json!(id));
    record.insert("created_at".into(), json!(iso(now)));
    record.insert("updated_at".into(), json!(iso(now)));
    (id, record)
}

/// Adds a configuration record built from `record`; returns its id.
pub(crate) fn add_config(
    st: &mut ZendeskState,
    kind: &'static str,
    record: Map<String, Value>,
    now: i64,
) -> u64 {
    let (id, record) = stamp(st, record, now);
    st.config_mut(kind).insert(id, record);
    id
}

/// Fills an empty account with what every Zendesk account has.
pub(crate) fn bootstrap(st: &mut ZendeskState, owner_email: &str, subdomain: &str, now: i64) {
    let roles = add_roles(st, now);
    add_statuses(st, now);
    let form_id = st.ids.next_id();
    st.form_id = form_id;
    let mut brand = template("brand");
    brand.insert("name".into(), json!("Cutover Sim"));
    brand.insert("subdomain".into(), json!(subdomain));
    brand.insert(
        "brand_url".into(),
        json!(format!("https://{subdomain}.zendesk.com")),
    );
    brand.insert("ticket_form_ids".into(), json!([form_id]));
    st.brand_id = add_config(st, "brands", brand, now);
    add_system_fields(st, now);
    let field_ids: Vec<u64> = st
        .config_of("ticket_fields")
        .map(|f| f.keys().copied().collect())
        .unwrap_or_default();
    let form = json!({
        "id": form_id, "name": "Default Ticket Form", "raw_name": "Default Ticket Form",
        "display_name": "Default Ticket Form", "raw_display_name": "Default Ticket Form",
        "end_user_visible": true, "position": 1, "ticket_field_ids": field_ids, "active": true,
        "default": true, "in_all_brands": true, "restricted_brand_ids": [],
        "end_user_conditions": [], "agent_conditions": [],
        "created_at": iso(now), "updated_at": iso(now),
    });
    if let Value::Object(form) = form {
        st.config_mut("ticket_forms").insert(form_id, form);
    }
    let support = add_group(st, "Support", true, now);
    let owner = st.ids.next_id();
    st.owner_id = owner;
    let mut admin = new_user(
        owner,
        "Sim Admin",
        Some(owner_email.to_owned()),
        Role::Admin,
        now,
    );
    admin.custom_role_id = roles.first().copied();
    admin.default_group_id = Some(support);
    admin.verified = true;
    st.put_user(admin);
    add_membership(st, owner, support, true, now);
    add_business_rules(st, now);
}

fn add_roles(st: &mut ZendeskState, now: i64) -> Vec<u64> {
    let admin = defaults()
        .get("custom_roles")
        .and_then(|r| r.get(0))
        .and_then(Value::as_object)
        .cloned();
    let admin = admin.unwrap_or_default();
    let mut ids = Vec::new();
    for (name, description, role_type) in [
        ("Admin", "Can manage all settings, except billing", 4),
        (
            "Light agent",
            "Can view and add private comments to tickets",
            1,
        ),
        ("Staff", "Can edit tickets within their groups", 0),
        (
            "Team lead",
            "Can manage all tickets and moderate the help center",
            0,
        ),
        (
            "Advisor",
            "Can manage the workflow and configure Zendesk Support",
            0,
        ),
    ] {
        let mut role = admin.clone();
        role.insert("name".into(), json!(name));
        role.insert("description".into(), json!(description));
        role.insert("role_type".into(), json!(role_type));
        role.insert("team_member_count".into(), json!(0));
        if let Some(Value::Object(c)) = role.get_mut("configuration") {
            c.insert("light_agent".into(), json!(name == "Light agent"));
        }
        ids.push(add_config(st, "custom_roles", role, now));
    }
    ids
}

fn add_statuses(st: &mut ZendeskState, now: i64) {
    for (category, label) in [
        ("new", "New"),
        ("open", "Open"),
        ("pending", "Pending"),
        ("hold", "On-hold"),
        ("solved", "Solved"),
    ] {
        let id = add_config(st, "custom_statuses", status(label, category, true), now);
        st.status_ids.insert(category, id);
    }
    if let Some(solved) = st.status_ids.get("solved").copied() {
        st.status_ids.insert("closed", solved);
    }
}

/// A custom status record of `category` labelled `label` for agents and end users.
pub(crate) fn status(label: &str, category: &str, default: bool) -> Map<String, Value> {
    let mut status = template("tpl_custom_status");
    for key in [
        "agent_label",
        "raw_agent_label",
        "end_user_label",
        "raw_end_user_label",
    ] {
        status.insert(key.into(), json!(label));
    }
    status.insert("status_category".into(), json!(category));
    status.insert("default".into(), json!(default));
    status
}

fn add_system_fields(st: &mut ZendeskState, now: i64) {
    for (kind, title) in [
        ("subject", "Subject"),
        ("description", "Description"),
        ("status", "Status"),
        ("tickettype", "Type"),
        ("priority", "Priority"),
        ("group", "Group"),
        ("assignee", "Assignee"),
    ] {
        let mut field = template("tpl_ticket_field");
        for key in [
            "title",
            "raw_title",
            "title_in_portal",
            "raw_title_in_portal",
        ] {
            field.insert(key.into(), json!(title));
        }
        for key in ["description", "raw_description"] {
            field.insert(key.into(), json!(""));
        }
        field.insert("type".into(), json!(kind));
        field.insert("removable".into(), json!(false));
        field.insert("position".into(), json!(0));
        add_config(st, "ticket_fields", field, now);
    }
}

fn add_business_rules(st: &mut ZendeskState, now: i64) {
    for (key, kind) in [
        ("automations", "automations"),
        ("triggers", "triggers"),
        ("views", "views"),
        ("macros", "macros"),
    ] {
        let records: Vec<Map<String, Value>> = defaults()
            .get(key)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|r| r.as_object().cloned()).collect())
            .unwrap_or_default();
        for record in records {
            add_config(st, kind, record, now);
        }
    }
    let mut address = template("recipient_address");
    address.insert("brand_id".into(), json!(st.brand_id));
    address.insert("email".into(), json!("support@cutover-sim.zendesk.com"));
    address.insert("name".into(), json!("Cutover Sim"));
    add_config(st, "recipient_addresses", address, now);
    let sla = json!({
        "title": "Standard SLA", "description": "First reply and resolution targets", "position": 1,
        "filter": {"all": [{"field": "type", "operator": "is", "value": "incident"}], "any": []},
        "policy_metrics": [
            {"priority": "urgent", "metric": "first_reply_time", "target": 30, "business_hours": false},
            {"priority": "high", "metric": "first_reply_time", "target": 60, "business_hours": true},
            {"priority": "normal", "metric": "requester_wait_time", "target": 480, "business_hours": true},
        ],
    });
    if let Value::Object(sla) = sla {
        add_config(st, "sla_policies", sla, now);
    }
}

/// A user with Zendesk's defaults.
pub(crate) fn new_user(id: u64, name: &str, email: Option<String>, role: Role, now: i64) -> User {
    User {
        id,
        name: name.to_owned(),
        email,
        role,
        custom_role_id: None,
        default_group_id: None,
        organization_id: None,
        external_id: None,
        phone: None,
        locale: "en-US".into(),
        time_zone: "America/New_York".into(),
        tags: Vec::new(),
        user_fields: Map::new(),
        active: true,
        suspended: false,
        verified: false,
        notes: None,
        details: None,
        alias: None,
        signature: None,
        ticket_restriction: (role == Role::EndUser).then(|| "requested".to_owned()),
        only_private_comments: false,
        created_at: now,
        updated_at: now,
        identities: Vec::new(),
    }
}

/// Adds a group; returns its id.
pub(crate) fn add_group(st: &mut ZendeskState, name: &str, default: bool, now: i64) -> u64 {
    let id = st.ids.next_id();
    st.groups.insert(
        id,
        Group {
            id,
            name: name.to_owned(),
            description: String::new(),
            default,
            deleted: false,
            is_public: true,
            created_at: now,
            updated_at: now,
        },
    );
    id
}

/// Adds a membership; returns its id.
pub(crate) fn add_membership(
    st: &mut ZendeskState,
    user_id: u64,
    group_id: u64,
    default: bool,
    now: i64,
) -> u64 {
    let id = st.ids.next_id();
    st.memberships.insert(
        id,
        Membership {
            id,
            user_id,
            group_id,
            default,
            created_at: now,
            updated_at: now,
        },
    );
    id
}

/// The comments of a ticket, oldest first, generated ones rebuilt.
pub(crate) fn comments(st: &ZendeskState, t: &Ticket) -> Vec<Comment> {
    let mut out: Vec<Comment> = match t.generated {
        Some(g) => (0..g.count).map(|i| generated_comment(st, t, i)).collect(),
        None => Vec::new(),
    };
    out.extend(t.comments.iter().cloned());
    out
}

/// How many comments a ticket has.
pub(crate) fn comment_count(t: &Ticket) -> usize {
    t.generated.map_or(0, |g| g.count as usize) + t.comments.len()
}

/// The ticket's description: its first comment's text.
pub(crate) fn description(st: &ZendeskState, t: &Ticket) -> String {
    match t.generated {
        Some(g) if g.count > 0 => generated_comment(st, t, 0).body,
        _ => t
            .comments
            .first()
            .map(|c| c.body.clone())
            .unwrap_or_default(),
    }
}

/// When generated comment `idx` was written: spread evenly over the comments' span.
fn generated_comment_time(g: GeneratedComments, idx: u32) -> i64 {
    let (first_at, last_at) = g.span;
    let span = (last_at - first_at).max(0);
    first_at + span * i64::from(idx) / i64::from(g.count.max(1))
}

/// Rebuilds generated comment `idx` of `t` from the seed.
pub(crate) fn generated_comment(st: &ZendeskState, t: &Ticket, idx: u32) -> Comment {
    let g = t.generated.unwrap_or(GeneratedComments {
        count: 1,
        first_id: 0,
        span: (t.created_at, t.updated_at),
        requester_id: t.requester_id,
        agent_id: t.assignee_id,
        submitter_id: t.submitter_id,
        via: t.via,
    });
    let id = g.first_id + u64::from(idx);
    let mut rng = rng_for(st.seed, 0xC033, id);
    let agent = g.agent_id;
    let from_customer = idx.is_multiple_of(2) || agent.is_none();
    let author_id = if from_customer {
        g.requester_id
    } else {
        agent.unwrap_or(g.submitter_id)
    };
    let public = from_customer || !rng.random_bool(0.25);
    let (body, mut html) = datagen::comment_text(&mut rng, from_customer);
    let mut attachments = Vec::new();
    if rng.random_bool(0.12) {
        attachments.extend((0..rng.random_range(1..=2u64)).map(|k| id * 4 + k));
    }
    if !from_customer && rng.random_bool(0.15) {
        let inline_id = id * 4 + 3;
        let name = format!("screenshot-{inline_id}.png");
        let src = format!("{}/attachments/token/g{inline_id}/?name={name}", st.base);
        html = html.replace(
            "</div>",
            &format!("<p><img src=\"{src}\" alt=\"{name}\"></p></div>"),
        );
        attachments.push(inline_id);
    }
    let created_at = generated_comment_time(g, idx);
    let via = if idx == 0 {
        g.via
    } else {
        *pick(&mut rng, &["email", "web", "api"])
    };
    Comment {
        id,
        audit_id: id,
        author_id,
        body,
        html_body: html,
        public,
        created_at,
        attachments,
        via,
        recipient_id: None,
        merge: None,
    }
}

/// Sizes of the generated account for `tickets` tickets.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sizes {
    pub(crate) groups: usize,
    pub(crate) agents: usize,
    pub(crate) orgs: usize,
    pub(crate) customers: usize,
}

pub(crate) fn sizes(tickets: usize) -> Sizes {
    Sizes {
        groups: (tickets / 2000).clamp(3, 50),
        agents: (tickets / 200).clamp(5, 1000),
        orgs: (tickets / 50).clamp(3, 5000),
        customers: (tickets / 2).clamp(10, 100_000),
    }
}

/// Generates `tickets` tickets and everything around them, deterministically from the seed.
/// Times are relative to `now` rounded down to the day, so a seed gives the same data all day.
pub(crate) fn generate(st: &mut ZendeskState, tickets: usize, now: i64) {
    if tickets == 0 {
        return;
    }
    let anchor = now - now.rem_euclid(86_400);
    let size = sizes(tickets);
    let fields = add_custom_fields(st, anchor);
    let groups: Vec<u64> = (0..size.groups)
        .map(|i| {
            add_group(
                st,
                &format!(
                    "{} {}",
                    GROUP_NAMES[i % GROUP_NAMES.len()],
                    i / GROUP_NAMES.len() + 1
                ),
                false,
                anchor - TWO_YEARS,
            )
        })
        .collect();
    let agents_by_group = add_agents(st, size.agents, &groups, anchor);
    let orgs = add_orgs(st, size.orgs, anchor);
    let customers = add_customers(st, size.customers, &orgs, anchor);
    let mut rng = rng_for(st.seed, 0x71C4, 0);
    let mut created: Vec<i64> = (0..tickets)
        .map(|_| datagen::business_time(&mut rng, anchor - TWO_YEARS, anchor - 3600))
        .collect();
    created.sort_unstable();
    for (i, created_at) in created.into_iter().enumerate() {
        let world = World {
            groups: &groups,
            agents_by_group: &agents_by_group,
            customers: &customers,
            fields: &fields,
            dress: None,
        };
        add_ticket(st, &world, i as u64, created_at, anchor);
    }
    st.events.sort_by_key(|e| (e.timestamp, e.id));
}

const GROUP_NAMES: &[&str] = &[
    "Support",
    "Billing",
    "Tier 2",
    "Returns",
    "Sales",
    "Onboarding",
    "Technical",
    "VIP",
];

/// What tickets are generated from.
pub(crate) struct World<'a> {
    pub(crate) groups: &'a [u64],
    /// Every agent who was ever a member of each group, by group.
    pub(crate) agents_by_group: &'a [Vec<u64>],
    pub(crate) customers: &'a [(u64, Option<u64>)],
    pub(crate) fields: &'a CustomFields,
    /// The realistic profile's additions, applied to each ticket before it is stored.
    pub(crate) dress: Option<&'a super::realistic::Dress>,
}

/// The ticket fields every generated account has.
pub(crate) struct CustomFields {
    product: u64,
    order_number: u64,
    vip: u64,
}

pub(crate) fn add_custom_fields(st: &mut ZendeskState, now: i64) -> CustomFields {
    let field = |st: &mut ZendeskState, title: &str, kind: &str, options: Value| {
        let mut f = template("tpl_ticket_field");
        for key in [
            "title",
            "raw_title",
            "title_in_portal",
            "raw_title_in_portal",
        ] {
            f.insert(key.into(), json!(title));
        }
        f.insert("type".into(), json!(kind));
        if !options.is_null() {
            f.insert("custom_field_options".into(), options);
        }
        add_config(st, "ticket_fields", f, now)
    };
    let options = json!([
        {"id": 1, "name": "Mobile app", "raw_name": "Mobile app", "value": "mobile_app", "default": false},
        {"id": 2, "name": "Web", "raw_name": "Web", "value": "web", "default": false},
        {"id": 3, "name": "API", "raw_name": "API", "value": "api", "default": false},
    ]);
    let product = field(st, "Product", "tagger", options);
    let order_number = field(st, "Order number", "integer", Value::Null);
    let vip = field(st, "VIP", "checkbox", Value::Null);
    let mut plan = template("tpl_user_field");
    for (k, v) in [
        ("key", "plan"),
        ("title", "Plan"),
        ("raw_title", "Plan"),
        ("type", "text"),
    ] {
        plan.insert(k.into(), json!(v));
    }
    add_config(st, "user_fields", plan, now);
    let mut tier = template("tpl_organization_field");
    for (k, v) in [
        ("key", "tier"),
        ("title", "Tier"),
        ("raw_title", "Tier"),
        ("type", "text"),
    ] {
        tier.insert(k.into(), json!(v));
    }
    add_config(st, "organization_fields", tier, now);
    CustomFields {
        product,
        order_number,
        vip,
    }
}

fn add_agents(st: &mut ZendeskState, n: usize, groups: &[u64], anchor: i64) -> Vec<Vec<u64>> {
    let roles: Vec<u64> = st
        .config_of("custom_roles")
        .map(|r| r.keys().copied().collect())
        .unwrap_or_default();
    let mut by_group = vec![Vec::new(); groups.len()];
    for i in 0..n {
        let mut rng = rng_for(st.seed, 0xA6E7, i as u64);
        let p = datagen::person(&mut rng, i as u64);
        let id = st.ids.next_id();
        let role = if rng.random_bool(0.1) {
            Role::Admin
        } else {
            Role::Agent
        };
        let mut u = new_user(
            id,
            &p.name,
            Some(p.email.replace('@', ".agent@")),
            role,
            anchor - TWO_YEARS,
        );
        u.locale = p.locale.into();
        u.time_zone = p.time_zone.into();
        u.verified = true;
        u.custom_role_id = if role == Role::Admin {
            roles.first().copied()
        } else {
            roles.get(1 + i % 4.min(roles.len().max(2) - 1)).copied()
        };
        u.signature = Some(format!("— {}", p.name));
        let first = i % groups.len();
        u.default_group_id = Some(groups[first]);
        let extra = rng.random_range(0..3usize);
        let mut mine = vec![first];
        mine.extend(
            (0..extra)
                .map(|_| rng.random_range(0..groups.len()))
                .filter(|g| *g != first),
        );
        mine.dedup();
        st.put_user(u);
        for (k, g) in mine.into_iter().enumerate() {
            add_membership(st, id, groups[g], k == 0, anchor - TWO_YEARS);
            by_group[g].push(id);
        }
    }
    by_group
}

pub(crate) fn add_orgs(st: &mut ZendeskState, n: usize, anchor: i64) -> Vec<u64> {
    (0..n)
        .map(|i| {
            let mut rng = rng_for(st.seed, 0x0A65, i as u64);
            let (name, domain) = datagen::company(&mut rng, i as u64);
            let id = st.ids.next_id();
            let created = datagen::business_time(
                &mut rng,
                anchor - TWO_YEARS - 86_400 * 30,
                anchor - TWO_YEARS,
            );
            let mut fields = Map::new();
            fields.insert(
                "tier".into(),
                json!(pick(&mut rng, &["gold", "silver", "bronze"])),
            );
            st.put_org(Organization {
                id,
                name,
                external_id: rng.random_bool(0.3).then(|| format!("crm-{i}")),
                domain_names: vec![domain],
                details: None,
                notes: None,
                group_id: None,
                shared_tickets: rng.random_bool(0.2),
                shared_comments: false,
                tags: vec![pick(&mut rng, &["enterprise", "smb", "partner"]).to_string()],
                organization_fields: fields,
                created_at: created,
                updated_at: created,
            });
            id
        })
        .collect()
}

pub(crate) fn add_customers(
    st: &mut ZendeskState,
    n: usize,
    orgs: &[u64],
    anchor: i64,
) -> Vec<(u64, Option<u64>)> {
    (0..n)
        .map(|i| {
            let mut rng = rng_for(st.seed, 0xC057, i as u64);
            let p = datagen::person(&mut rng, 10_000 + i as u64);
            let id = st.ids.next_id();
            let created =
                datagen::business_time(&mut rng, anchor - TWO_YEARS - 86_400 * 30, anchor - 86_400);
            let mut u = new_user(id, &p.name, Some(p.email), Role::EndUser, created);
            u.locale = p.locale.into();
            u.time_zone = p.time_zone.into();
            u.verified = rng.random_bool(0.8);
            u.organization_id = rng.random_bool(0.7).then(|| *pick(&mut rng, orgs));
            u.external_id = rng.random_bool(0.25).then(|| format!("cust-{i}"));
            u.user_fields.insert(
                "plan".into(),
                json!(pick(&mut rng, &["free", "pro", "enterprise"])),
            );
            if rng.random_bool(0.3) {
                u.tags.push("newsletter".into());
            }
            let org = u.organization_id;
            st.put_user(u);
            (id, org)
        })
        .collect()
}

fn comment_total(rng: &mut StdRng, n: u64) -> u32 {
    if n % 1000 == 999 {
        return rng.random_range(1000..1500);
    }
    // Mostly short conversations, a long tail up to 50.
    let u: f64 = rng.random();
    ((1.0 - u).ln() * -6.0).floor().clamp(0.0, 49.0) as u32 + 1
}

fn status_for(rng: &mut StdRng) -> Status {
    match rng.random_range(0..100) {
        0..40 => Status::Closed,
        40..65 => Status::Solved,
        65..80 => Status::Open,
        80..88 => Status::Pending,
        88..92 => Status::Hold,
        _ => Status::New,
    }
}

pub(crate) fn add_ticket(
    st: &mut ZendeskState,
    w: &World<'_>,
    n: u64,
    created_at: i64,
    anchor: i64,
) {
    let mut rng = rng_for(st.seed, 0x71C7, n);
    let id = st.ticket_ids.next_id();
    let status = status_for(&mut rng);
    let (requester_id, organization_id) = *pick(&mut rng, w.customers);
    let group_idx = rng.random_range(0..w.groups.len());
    let assignee_id = (status != Status::New)
        .then(|| w.agents_by_group[group_idx].first().copied())
        .flatten()
        .map(|first| {
            *w.agents_by_group[group_idx]
                .get(rng.random_range(0..w.agents_by_group[group_idx].len()))
                .unwrap_or(&first)
        });
    let count = comment_total(&mut rng, n);
    let lifetime = rng.random_range(600..(86_400 * 20));
    let updated_at = (created_at + lifetime).min(anchor - 120);
    let solved_at = matches!(status, Status::Solved | Status::Closed).then_some(updated_at);
    let mut tags: Vec<String> = (0..rng.random_range(0..4))
        .map(|_| {
            pick(
                &mut rng,
                &[
                    "billing", "bug", "refund", "vip", "mobile", "urgent", "feedback",
                ],
            )
            .to_string()
        })
        .collect();
    tags.sort();
    tags.dedup();
    let custom_fields = vec![
        (
            w.fields.product,
            json!(pick(&mut rng, &["mobile_app", "web", "api"])),
        ),
        (
            w.fields.order_number,
            json!(rng.random_range(10_000..99_999).to_string()),
        ),
        (w.fields.vip, json!(rng.random_bool(0.1))),
    ];
    let first_id = st.ids.reserve(u64::from(count));
    let rating_id = (solved_at.is_some() && rng.random_bool(0.3)).then(|| st.ids.next_id());
    let mut ticket = Ticket {
        id,
        external_id: rng.random_bool(0.2).then(|| format!("legacy-{n}")),
        kind: rng
            .random_bool(0.7)
            .then(|| *pick(&mut rng, TicketType::ALL)),
        subject: datagen::subject(&mut rng),
        status,
        custom_status_id: None,
        priority: rng.random_bool(0.8).then(|| *pick(&mut rng, Priority::ALL)),
        requester_id,
        submitter_id: requester_id,
        assignee_id,
        organization_id,
        group_id: Some(w.groups[group_idx]),
        brand_id: st.brand_id,
        ticket_form_id: st.form_id,
        tags,
        custom_fields,
        collaborator_ids: Vec::new(),
        follower_ids: Vec::new(),
        email_cc_ids: Vec::new(),
        due_at: None,
        problem_id: None,
        is_public: true,
        via: VIAS[rng.random_range(0..VIAS.len())],
        created_at,
        updated_at,
        solved_at,
        generated_at: updated_at,
        deleted: false,
        rating_id,
        generated: None,
        comments: Vec::new(),
    };
    if let Some(dress) = w.dress {
        dress.ticket(st.seed, n, anchor, &mut ticket);
    }
    let assignee_id = ticket.assignee_id;
    ticket.generated = Some(GeneratedComments {
        count,
        first_id,
        span: (ticket.created_at, ticket.updated_at),
        requester_id: ticket.requester_id,
        agent_id: ticket.assignee_id,
        submitter_id: ticket.submitter_id,
        via: ticket.via,
    });
    if let Some(rating_id) = rating_id {
        let good = rng.random_bool(0.8);
        st.ratings.insert(
            rating_id,
            Rating {
                id: rating_id,
                ticket_id: id,
                score: if good { "good" } else { "bad" }.into(),
                comment: Some(
                    if good {
                        "Thanks, great help!"
                    } else {
                        "Took far too long."
                    }
                    .into(),
                ),
                reason: None,
                requester_id,
                assignee_id,
                group_id: ticket.group_id,
                created_at: updated_at,
                updated_at,
            },
        );
    }
    push_generated_events(st, &ticket);
    st.put_ticket(ticket);
}

fn push_generated_events(st: &mut ZendeskState, t: &Ticket) {
    let created = TicketEvent {
        id: st.ids.next_id(),
        ticket_id: t.id,
        timestamp: t.created_at,
        updater_id: t.requester_id,
        via: t.via,
        changes: Vec::new(),
        created: true,
        comment_ids: t.generated.map(|g| g.first_id).into_iter().collect(),
    };
    st.events.push(created);
    // Each later comment came with an audit of its own, at its time (its id is the comment's:
    // ids come from one counter, so no other event has it).
    if let Some(g) = t.generated {
        for idx in 1..g.count {
            let comment_id = g.first_id + u64::from(idx);
            st.events.push(TicketEvent {
                id: comment_id,
                ticket_id: t.id,
                timestamp: generated_comment_time(g, idx),
                updater_id: t.requester_id,
                via: "web",
                changes: Vec::new(),
                created: false,
                comment_ids: vec![comment_id],
            });
        }
    }
    if t.updated_at > t.created_at {
        let update = TicketEvent {
            id: st.ids.next_id(),
            ticket_id: t.id,
            timestamp: t.updated_at,
            updater_id: t.assignee_id.unwrap_or(t.requester_id),
            via: "web",
            changes: vec![("status".into(), json!("open"), json!(t.status.as_str()))],
            created: false,
            comment_ids: Vec::new(),
        };
        st.events.push(update);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(seed: u64, tickets: usize) -> ZendeskState {
        let mut st = ZendeskState::empty(seed, "http://sim");
        bootstrap(&mut st, "admin@example.com", "sim", 1_700_000_000);
        generate(&mut st, tickets, 1_700_000_000);
        st
    }

    #[test]
    fn same_seed_same_data() {
        let (a, b) = (account(5, 300), account(5, 300));
        let render = |st: &ZendeskState| -> Vec<Value> {
            st.tickets
                .values()
                .map(|t| super::super::json::ticket(st, t, "http://sim", true))
                .collect()
        };
        assert_eq!(render(&a), render(&b));
        let comments = |st: &ZendeskState| -> Vec<Comment> {
            st.tickets.values().flat_map(|t| comments(st, t)).collect()
        };
        assert_eq!(comments(&a), comments(&b));
        assert_ne!(render(&a), render(&account(6, 300)));
    }

    #[test]
    fn data_covers_what_migrations_meet() {
        let st = account(11, 2000);
        let statuses: std::collections::BTreeSet<&str> =
            st.tickets.values().map(|t| t.status.as_str()).collect();
        assert_eq!(statuses.len(), 6, "every status: {statuses:?}");
        assert!(
            st.tickets.values().any(|t| comment_count(t) >= 1000),
            "some very long tickets"
        );
        assert!(
            st.tickets
                .values()
                .all(|t| (1..=1500).contains(&comment_count(t)))
        );
        let all: Vec<Comment> = st
            .tickets
            .values()
            .take(300)
            .flat_map(|t| comments(&st, t))
            .collect();
        assert!(all.iter().any(|c| !c.public), "private notes");
        assert!(
            all.iter().any(|c| c.html_body.contains("<img")),
            "inline images"
        );
        assert!(all.iter().any(|c| !c.attachments.is_empty()), "attachments");
        assert!(
            st.users.values().any(|u| !u.name.is_ascii()),
            "non-Latin names"
        );
        assert!(!st.ratings.is_empty());
        let span = st.tickets.values().map(|t| t.created_at).max().unwrap()
            - st.tickets.values().map(|t| t.created_at).min().unwrap();
        assert!(span > 600 * 86_400, "two years of history");
        let ids: Vec<u64> = st.tickets.keys().copied().collect();
        let by_time: Vec<u64> = {
            let mut t: Vec<&Ticket> = st.tickets.values().collect();
            t.sort_by_key(|t| (t.created_at, t.id));
            t.iter().map(|t| t.id).collect()
        };
        assert_eq!(ids, by_time, "ids grow with creation time");
    }
}
