//! The generated account: the admin agent and its team, roles, groups, reference lists (products,
//! e-mail configs, business hours, SLA policies, fields, canned responses, scenarios), then
//! companies, customers and tickets over two years with conversations, HTML, inline images,
//! attachments with real bytes, custom fields and satisfaction ratings. Deterministic from the
//! seed, through the shared generator ([`crate::datagen`]).

use rand::RngExt;
use rand::rngs::StdRng;
use serde_json::{Map, Value, json};

use super::realistic::Dress;
use super::render::attachment_url;
use super::store::{Attachment, Content, FreshdeskState, Rec, iso};
use crate::datagen::{
    attachment_meta, business_time, comment_text, company, html_escape, person, pick, rng_for,
    subject,
};
use crate::text::html_to_text;

const DAY: i64 = 86_400;

/// The ticket custom fields every ticket carries (`custom_fields.cf_*`).
pub(crate) const TICKET_CUSTOM_FIELDS: [(&str, &str, &str); 3] = [
    ("cf_order_number", "Order number", "custom_text"),
    ("cf_plan", "Plan", "custom_dropdown"),
    ("cf_source_ticket_id", "Source ticket id", "custom_text"),
];
/// Plan choices of `cf_plan`.
pub(crate) const PLANS: [&str; 3] = ["Free", "Basic", "Premium"];
/// Ticket types.
pub(crate) const TYPES: [&str; 5] = [
    "Question",
    "Incident",
    "Problem",
    "Feature Request",
    "Refund",
];

pub(crate) fn obj(value: Value) -> Rec {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// The custom fields of `kind` (`contact_fields`, `company_fields`) a new record shows (as null):
/// the defined ones, or `fallback` before the account has its field lists.
fn null_fields(st: &FreshdeskState, kind: &str, fallback: &[&str]) -> Value {
    let mut names: Vec<String> = st
        .custom_fields_of(kind)
        .into_iter()
        .map(|f| f.name)
        .collect();
    if !st.lists.contains_key(kind) {
        names = fallback.iter().map(|n| (*n).to_owned()).collect();
    }
    Value::Object(names.into_iter().map(|n| (n, Value::Null)).collect())
}

/// A contact record as created at `now`.
pub(crate) fn contact_record(st: &FreshdeskState, id: u64, name: &str, now: i64) -> Rec {
    let mut rec = obj(json!({
        "active": true, "address": null, "company_id": null, "view_all_tickets": false,
        "deleted": false, "description": null, "email": null, "id": id, "job_title": null,
        "language": "en", "mobile": null, "name": name, "phone": null, "time_zone": "Eastern Time (US & Canada)",
        "twitter_id": null, "other_emails": [], "facebook_id": null, "unique_external_id": null,
        "tags": [], "other_companies": [],
        "csat_rating": 103, "preferred_source": 1, "avatar": null,
        "created_at": iso(now), "updated_at": iso(now),
    }));
    let custom = null_fields(st, "contact_fields", &["customer_tier"]);
    rec.insert("custom_fields".into(), custom);
    rec
}

/// A company record.
pub(crate) fn company_record(st: &FreshdeskState, id: u64, name: &str, now: i64) -> Rec {
    let mut rec = obj(json!({
        "id": id, "name": name, "description": null, "domains": [], "note": null,
        "health_score": null,
        "account_tier": null, "renewal_date": null, "industry": null,
        "created_at": iso(now), "updated_at": iso(now),
    }));
    let custom = null_fields(st, "company_fields", &["website", "address"]);
    rec.insert("custom_fields".into(), custom);
    rec
}

/// A ticket with every key at its default, as created at `now`.
pub(crate) fn ticket_record(st: &FreshdeskState, id: u64, requester_id: u64, now: i64) -> Rec {
    let custom: Map<String, Value> = st
        .ticket_custom_fields()
        .into_iter()
        .map(|f| (f.name, Value::Null))
        .collect();
    let mut rec = obj(json!({
        "cc_emails": [], "fwd_emails": [], "reply_cc_emails": [], "ticket_cc_emails": [],
        "fr_escalated": false, "spam": false, "email_config_id": null, "group_id": null,
        "priority": 1, "requester_id": requester_id, "responder_id": null, "source": 2,
        "company_id": null, "status": 2, "subject": "", "association_type": null,
        "support_email": null, "to_emails": null, "product_id": null, "id": id, "type": null,
    }));
    rec.extend(obj(json!({
        "due_by": iso(now + 3 * DAY), "fr_due_by": iso(now + DAY), "is_escalated": false,
        "nr_due_by": null, "nr_escalated": false, "description": "", "description_text": "",
        "custom_fields": custom, "created_at": iso(now), "updated_at": iso(now), "tags": [],
        "source_additional_info": null,
        "_attachments": [], "_deleted": false,
    })));
    rec.insert(
        "_stats".into(),
        json!({"agent_responded_at": null, "requester_responded_at": null,
            "first_responded_at": null, "status_updated_at": iso(now), "reopened_at": null,
            "resolved_at": null, "closed_at": null, "pending_since": null}),
    );
    rec
}

/// A conversation record.
pub(crate) struct NewConversation<'a> {
    pub(crate) id: u64,
    pub(crate) ticket_id: u64,
    pub(crate) user_id: u64,
    pub(crate) body_html: &'a str,
    pub(crate) body_text: &'a str,
    pub(crate) incoming: bool,
    pub(crate) private: bool,
    pub(crate) source: u64,
    pub(crate) at: i64,
}

/// The conversation's JSON record.
pub(crate) fn conversation_record(c: &NewConversation<'_>) -> Rec {
    obj(json!({
        "body": c.body_html, "body_text": c.body_text, "id": c.id, "incoming": c.incoming,
        "private": c.private, "user_id": c.user_id, "support_email": null, "source": c.source,
        "category": if c.private { 2 } else { 3 }, "ticket_id": c.ticket_id, "to_emails": [],
        "from_email": null, "cc_emails": [], "bcc_emails": null, "source_additional_info": null,
        "created_at": iso(c.at), "updated_at": iso(c.at), "_attachments": [],
    }))
}

/// The products (with their support mailboxes) of the plain account.
const PLAIN_PRODUCTS: [(&str, &str); 2] =
    [("Cutover Cloud", "support"), ("Cutover Mobile", "mobile")];

/// The admin agent, roles, groups, agents and reference lists.
pub(crate) fn bootstrap(st: &mut FreshdeskState, domain: &str, epoch: i64) {
    let (business_hour_id, admin) = foundation(st, domain, epoch);
    let mut rng = rng_for(st.seed, 0xF0, 0);
    let mut agents = vec![admin];
    for n in 0..6 {
        let p = person(&mut rng, 9_000 + n);
        let email = format!("agent{n}@{domain}.example.com");
        agents.push(add_agent(st, &p.name, &email, 47_000_000_004, epoch));
    }
    let groups = [
        ("Billing", "Invoices, refunds and plans"),
        ("Technical Support", "Product problems and questions"),
        ("Escalations", "Second line"),
    ];
    for (i, (name, description)) in groups.into_iter().enumerate() {
        let members: Vec<u64> = agents
            .iter()
            .copied()
            .enumerate()
            .filter(|(j, _)| *j == 0 || j % 3 == i)
            .map(|(_, a)| a)
            .collect();
        add_group(
            st,
            (name, description),
            &members,
            (business_hour_id, admin),
            epoch,
        );
    }
    reference_lists(st, domain, epoch, &PLAIN_PRODUCTS);
}

/// The built-in Agent role's id (every account's): no access to the Admin tab.
pub(crate) const AGENT_ROLE: u64 = 47_000_000_004;

/// What every account has first: the built-in roles, the default business hours and the admin
/// agent the API key belongs to; returns the business hours' id and the admin's.
pub(crate) fn foundation(st: &mut FreshdeskState, domain: &str, epoch: i64) -> (u64, u64) {
    for (i, (name, description)) in [
        (
            "Account Administrator",
            "Has complete control over the help desk including access to Account or Billing related information, and receives Invoices.",
        ),
        (
            "Administrator",
            "Can configure all features through the Admin tab, but is restricted from viewing Account or Billing related information.",
        ),
        (
            "Supervisor",
            "Can perform all agent related activities and access reports, but cannot access or change configurations in the Admin tab.",
        ),
        (
            "Agent",
            "Can log, view, reply, update and resolve tickets and manage contacts.",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let id = 47_000_000_001 + i as u64;
        st.roles.insert(
            id,
            obj(json!({"id": id, "name": name, "description": description,
                "default": true, "agent_type": 1, "created_at": iso(epoch), "updated_at": iso(epoch)})),
        );
    }
    let business_hour_id = st.other_ids.next_id();
    st.lists.insert(
        "business_hours",
        vec![
            json!({"id": business_hour_id, "name": "Default", "is_default": true,
            "description": "Default Business Calendar", "time_zone": "Eastern Time (US & Canada)",
            "business_hours": {"monday": {"start_time": "8:00 am", "end_time": "5:00 pm"},
                "tuesday": {"start_time": "8:00 am", "end_time": "5:00 pm"},
                "wednesday": {"start_time": "8:00 am", "end_time": "5:00 pm"},
                "thursday": {"start_time": "8:00 am", "end_time": "5:00 pm"},
                "friday": {"start_time": "8:00 am", "end_time": "5:00 pm"}},
            "created_at": iso(epoch), "updated_at": iso(epoch)}),
        ],
    );
    let admin = add_agent(
        st,
        "Account Admin",
        &format!("admin@{domain}.example.com"),
        47_000_000_001,
        epoch,
    );
    st.owner_id = admin;
    (business_hour_id, admin)
}

/// Adds a group of `members` (whose `group_ids` it joins), escalating to `admin`; its id.
pub(crate) fn add_group(
    st: &mut FreshdeskState,
    (name, description): (&str, &str),
    members: &[u64],
    (business_hour_id, admin): (u64, u64),
    epoch: i64,
) -> u64 {
    let id = st.group_ids.next_id();
    for a in members {
        if let Some(Value::Array(groups)) =
            st.agents.get_mut(a).and_then(|r| r.get_mut("group_ids"))
        {
            groups.push(json!(id));
        }
    }
    st.groups.insert(
        id,
        obj(json!({"id": id, "name": name, "description": description,
            "business_hour_id": business_hour_id, "escalate_to": admin, "unassigned_for": "30m",
            "agent_ids": members, "auto_ticket_assign": false, "group_type": "support_agent_group",
            "created_at": iso(epoch), "updated_at": iso(epoch)})),
    );
    id
}

/// Adds an agent (and its contact) with one role; its id.
pub(crate) fn add_agent(
    st: &mut FreshdeskState,
    name: &str,
    email: &str,
    role: u64,
    epoch: i64,
) -> u64 {
    let id = st.user_ids.next_id();
    let mut contact = contact_record(st, id, name, epoch);
    contact.insert("email".into(), json!(email));
    contact.insert("_agent".into(), json!(true));
    st.put_contact(id, contact);
    st.agents.insert(
        id,
        obj(
            json!({"available": true, "occasional": false, "id": id, "ticket_scope": 1,
            "signature": format!("<div>{}</div>", html_escape(name)), "group_ids": [],
            "role_ids": [role], "skill_ids": [], "available_since": null, "type": "support_agent",
            "focus_mode": true, "created_at": iso(epoch), "updated_at": iso(epoch),
            "_last_login_at": iso(epoch)}),
        ),
    );
    id
}

/// Products (named with their mailboxes, the first the primary address), e-mail configs, the SLA
/// policy, fields, canned responses and scenarios.
pub(crate) fn reference_lists(
    st: &mut FreshdeskState,
    domain: &str,
    epoch: i64,
    products_named: &[(&str, &str)],
) {
    let at = iso(epoch);
    let mut products = Vec::new();
    let mut configs = Vec::new();
    for (i, (name, prefix)) in products_named.iter().copied().enumerate() {
        let pid = st.other_ids.next_id();
        products.push(
            json!({"id": pid, "name": name, "description": format!("{name} help"),
            "created_at": at, "updated_at": at}),
        );
        let cid = st.other_ids.next_id();
        configs.push(json!({"id": cid, "name": name, "product_id": pid,
            "to_email": format!("{prefix}@{domain}.freshdesk.com"),
            "reply_email": format!("{prefix}@{domain}.example.com"), "group_id": null,
            "primary_role": i == 0, "active": true, "created_at": at, "updated_at": at}));
    }
    st.lists.insert("products", products);
    st.lists.insert("email_configs", configs);
    let sla = st.other_ids.next_id();
    st.lists.insert("sla_policies", vec![json!({"id": sla, "name": "Default SLA Policy",
        "description": "default policy", "active": true, "is_default": true, "position": 1,
        "applicable_to": {}, "escalation": {},
        "sla_target": {
            "priority_4": {"respond_within": 3600, "resolve_within": 14400, "business_hours": false, "escalation_enabled": true},
            "priority_3": {"respond_within": 14400, "resolve_within": 86400, "business_hours": false, "escalation_enabled": true},
            "priority_2": {"respond_within": 28800, "resolve_within": 172800, "business_hours": false, "escalation_enabled": true},
            "priority_1": {"respond_within": 86400, "resolve_within": 259200, "business_hours": false, "escalation_enabled": true}},
        "created_at": at, "updated_at": at})]);
    let mut fields = Vec::new();
    for (i, (name, label, kind)) in [
        ("requester", "Search a requester", "default_requester"),
        ("subject", "Subject", "default_subject"),
        ("ticket_type", "Type", "default_ticket_type"),
        ("status", "Status", "default_status"),
        ("priority", "Priority", "default_priority"),
        ("group", "Group", "default_group"),
        ("agent", "Agent", "default_agent"),
        ("source", "Source", "default_source"),
        ("description", "Description", "default_description"),
    ]
    .into_iter()
    .chain(TICKET_CUSTOM_FIELDS)
    .enumerate()
    {
        let id = st.other_ids.next_id();
        let mut field = json!({"id": id, "name": name, "label": label, "description": label,
            "position": i + 1, "required_for_closure": false, "required_for_agents": false,
            "type": kind, "default": kind.starts_with("default_"), "customers_can_edit": true,
            "label_for_customers": label, "required_for_customers": false,
            "displayed_to_customers": true, "created_at": at, "updated_at": at});
        let choices = match name {
            "status" => Some(
                json!({"2": ["Open", "Being Processed"], "3": ["Pending", "Awaiting your Reply"],
                "4": ["Resolved", "This ticket has been Resolved"], "5": ["Closed", "This ticket has been Closed"],
                "6": ["Waiting on Customer", "Awaiting your Reply"], "7": ["Waiting on Third Party", "Being Processed"]}),
            ),
            "priority" => Some(json!({"Low": 1, "Medium": 2, "High": 3, "Urgent": 4})),
            "source" => Some(
                json!({"Email": 1, "Portal": 2, "Phone": 3, "Chat": 7, "Feedback Widget": 9, "Outbound Email": 10}),
            ),
            "ticket_type" => Some(json!(TYPES)),
            "cf_plan" => Some(json!(PLANS)),
            _ => None,
        };
        if let (Some(c), Some(map)) = (choices, field.as_object_mut()) {
            map.insert("choices".into(), c);
        }
        fields.push(field);
    }
    st.lists.insert("ticket_fields", fields);
    let simple = |st: &mut FreshdeskState, defs: &[(&str, &str, &str)]| -> Vec<Value> {
        defs.iter()
            .enumerate()
            .map(|(i, (name, label, kind))| {
                json!({"id": st.other_ids.next_id(), "name": name, "label": label,
                "position": i + 1, "required_for_agents": false, "type": kind,
                "default": kind.starts_with("default_"), "customers_can_edit": false,
                "label_for_customers": label, "required_for_customers": false,
                "displayed_for_customers": false, "created_at": at, "updated_at": at})
            })
            .collect()
    };
    let contact_fields = simple(
        st,
        &[
            ("name", "Full name", "default_name"),
            ("email", "Email", "default_email"),
            ("phone", "Work phone", "default_phone"),
            ("company_name", "Company", "default_company_name"),
            ("customer_tier", "Customer tier", "custom_text"),
        ],
    );
    st.lists.insert("contact_fields", contact_fields);
    let company_fields = simple(
        st,
        &[
            ("name", "Company Name", "default_name"),
            ("domains", "Domains for this company", "default_domains"),
            ("website", "Website", "custom_url"),
            ("address", "Address", "custom_paragraph"),
        ],
    );
    st.lists.insert("company_fields", company_fields);
    let folder = st.other_ids.next_id();
    let personal = st.other_ids.next_id();
    st.lists.insert("canned_response_folders", vec![
        json!({"id": folder, "name": "General", "personal": false, "responses_count": 2, "created_at": at, "updated_at": at}),
        json!({"id": personal, "name": "Personal", "personal": true, "responses_count": 0, "created_at": at, "updated_at": at}),
    ]);
    let responses = ["Thanks for reaching out", "Refund issued"]
        .iter()
        .map(|title| {
            json!({"id": st.other_ids.next_id(), "title": title, "folder_id": folder,
            "content": format!("{title}. We will get back to you shortly."),
            "content_html": format!("<div>{title}. We will get back to you shortly.</div>"),
            "attachments": [], "visibility": 0, "group_ids": [], "created_at": at, "updated_at": at})
        })
        .collect();
    st.lists.insert("canned_responses", responses);
    let scenarios = [
        (
            "Mark as spam and close",
            json!([{"name": "status", "value": 5}]),
        ),
        (
            "Escalate to second line",
            json!([{"name": "priority", "value": 4}]),
        ),
    ]
    .into_iter()
    .map(|(name, actions)| {
        json!({"id": st.other_ids.next_id(), "name": name, "description": name, "actions": actions,
        "private": false, "created_at": at, "updated_at": at})
    })
    .collect();
    st.lists.insert("scenario_automations", scenarios);
}

/// Generates `tickets` tickets (with companies and customers) up to `now`; `dress` is the
/// realistic profile's ticket layer (its authors replace the account's agents). Times are
/// relative to `now` rounded down to the day, as Zendesk's are, so a seed gives the same data
/// all day (times drawn from a moving `now` shifted the draws, and a ticket could turn spam
/// between two runs of one test).
pub(crate) fn generate(
    st: &mut FreshdeskState,
    (domain, base): (&str, &str),
    tickets: usize,
    now: i64,
    dress: Option<&Dress>,
) {
    let now = now - now.rem_euclid(DAY);
    let mut rng = rng_for(st.seed, 0xF1, 0);
    let start = now - 2 * 365 * DAY;
    let companies: Vec<u64> = (0..(tickets / 10 + 3) as u64)
        .map(|n| {
            let (name, mail_domain) = company(&mut rng, n);
            let id = st.company_ids.next_id();
            let mut rec = company_record(st, id, &name, start - DAY);
            rec.insert("domains".into(), json!([mail_domain]));
            rec.insert(
                "health_score".into(),
                json!(pick(&mut rng, &["Happy", "Doing okay", "At risk"])),
            );
            rec.insert(
                "account_tier".into(),
                json!(pick(&mut rng, &["Basic", "Premium", "Enterprise"])),
            );
            rec.insert(
                "industry".into(),
                json!(pick(&mut rng, &["Retail", "Software", "Logistics"])),
            );
            rec.insert(
                "custom_fields".into(),
                json!({"website": format!("https://{mail_domain}"), "address": null}),
            );
            st.companies.put(id, rec);
            id
        })
        .collect();
    let customers: Vec<u64> = (0..(tickets / 2 + 5) as u64)
        .map(|n| {
            let p = person(&mut rng, n);
            let id = st.user_ids.next_id();
            let mut rec = contact_record(st, id, &p.name, start - DAY);
            rec.insert("email".into(), json!(p.email));
            rec.insert("language".into(), json!(p.locale));
            rec.insert("time_zone".into(), json!(p.time_zone));
            if rng.random_bool(0.6) {
                rec.insert("company_id".into(), json!(pick(&mut rng, &companies)));
            }
            if rng.random_bool(0.3) {
                rec.insert("phone".into(), json!(format!("+1 555 01{:02}", n % 100)));
            }
            if rng.random_bool(0.2) {
                rec.insert("unique_external_id".into(), json!(format!("ext-{n}")));
            }
            rec.insert("custom_fields".into(), json!({"customer_tier": pick(&mut rng, &[Value::Null, json!("gold"), json!("silver")])}));
            st.put_contact(id, rec);
            id
        })
        .collect();
    let agents: Vec<u64> = match dress {
        Some(dress) => dress.authors().to_vec(),
        None => st.agents.keys().copied().collect(),
    };
    let groups: Vec<u64> = st.groups.keys().copied().collect();
    for n in 0..tickets as u64 {
        // A fifth of the tickets are recent, so the default 30-day list is never empty.
        let created = if n % 5 == 0 {
            business_time(&mut rng, now - 29 * DAY, now - 3600)
        } else {
            business_time(&mut rng, start, now - DAY)
        };
        let requester = *pick(&mut rng, &customers);
        one_ticket(
            st,
            &mut rng,
            (domain, base),
            requester,
            &agents,
            &groups,
            (created, now),
            dress,
        );
    }
}

#[allow(
    clippy::too_many_arguments,
    reason = "one generated ticket needs all of these"
)]
fn one_ticket(
    st: &mut FreshdeskState,
    rng: &mut StdRng,
    (domain, base): (&str, &str),
    requester: u64,
    agents: &[u64],
    groups: &[u64],
    (created, now): (i64, i64),
    dress: Option<&Dress>,
) {
    let id = st.ticket_ids.next_id();
    let mut t = ticket_record(st, id, requester, created);
    let status = *pick(rng, &[2u64, 2, 3, 4, 4, 5, 5, 5, 6, 7]);
    let source = *pick(rng, &[1u64, 1, 1, 2, 2, 3, 7, 9, 10]);
    let (_, html) = comment_text(rng, true);
    let html = html.replace("zd-comment", "fd-description");
    let mut body = html.clone();
    let mut attachment_ids = Vec::new();
    if rng.random_bool(0.15) {
        let att = add_generated(st, created, true);
        let url = attachment_url(&att, base);
        body.push_str(&format!(
            "<div><img src=\"{url}\" class=\"inline-image\" data-id=\"{}\"></div>",
            att.id
        ));
    }
    if rng.random_bool(0.25) {
        attachment_ids.push(add_generated(st, created, false).id);
    }
    t.insert("description_text".into(), json!(html_to_text(&html)));
    t.insert("description".into(), json!(body));
    t.insert("_attachments".into(), json!(attachment_ids));
    t.insert("subject".into(), json!(subject(rng)));
    t.insert("status".into(), json!(status));
    t.insert("source".into(), json!(source));
    t.insert("priority".into(), json!(rng.random_range(1..=4u64)));
    t.insert("type".into(), json!(pick(rng, &TYPES)));
    t.insert(
        "company_id".into(),
        st.contacts
            .get(&requester)
            .and_then(|c| c.get("company_id"))
            .cloned()
            .unwrap_or(Value::Null),
    );
    t.insert("group_id".into(), json!(pick(rng, groups)));
    let agent = *pick(rng, agents);
    if status != 2 || rng.random_bool(0.5) {
        t.insert("responder_id".into(), json!(agent));
    }
    t.insert(
        "tags".into(),
        json!(pick(
            rng,
            &[vec![], vec!["vip"], vec!["billing", "refund"], vec!["bug"]]
        )),
    );
    if let Some(Value::Object(cf)) = t.get_mut("custom_fields") {
        cf.insert(
            "cf_order_number".into(),
            json!(format!("ORD-{}", rng.random_range(10_000..99_999))),
        );
        cf.insert("cf_plan".into(), json!(pick(rng, &PLANS)));
    }
    if source == 10 {
        t.insert(
            "email_config_id".into(),
            st.lists
                .get("email_configs")
                .and_then(|l| l.first())
                .and_then(|c| c.get("id"))
                .cloned()
                .unwrap_or(Value::Null),
        );
    }
    // Conversations: agent replies, customer follow-ups, a private note now and then.
    let mut at = created;
    let mut first_response = None;
    let (mut agent_at, mut requester_at) = (None, None);
    for k in 0..rng.random_range(0..5u32) {
        at = (at + rng.random_range(600..3 * DAY)).min(now - 60);
        let from_customer = k % 2 == 1;
        let private = !from_customer && rng.random_bool(0.2);
        let (text, html) = comment_text(rng, from_customer);
        let html = html.replace("zd-comment", "fd-reply");
        let cid = st.conversation_ids.next_id();
        let mut c = conversation_record(&NewConversation {
            id: cid,
            ticket_id: id,
            user_id: if from_customer { requester } else { agent },
            body_html: &html,
            body_text: &text,
            incoming: from_customer,
            private,
            source: if private { 2 } else { 0 },
            at,
        });
        if !private && !from_customer {
            let to = st
                .contacts
                .get(&requester)
                .and_then(|r| r.get("email"))
                .cloned()
                .unwrap_or(Value::Null);
            c.insert("to_emails".into(), json!([to]));
            c.insert(
                "from_email".into(),
                json!(format!("support@{domain}.freshdesk.com")),
            );
            first_response.get_or_insert(at);
            agent_at = Some(at);
        } else if from_customer {
            requester_at = Some(at);
        }
        if rng.random_bool(0.1) {
            let att = add_generated(st, at, false);
            c.insert("_attachments".into(), json!([att.id]));
        }
        st.put_conversation(c);
    }
    let updated = (at + rng.random_range(60..DAY)).min(now);
    t.insert("updated_at".into(), json!(iso(updated)));
    let stats = json!({
        "agent_responded_at": agent_at.map(iso), "requester_responded_at": requester_at.map(iso),
        "first_responded_at": first_response.map(iso), "status_updated_at": iso(updated),
        "reopened_at": null, "resolved_at": (4..=5).contains(&status).then(|| iso(updated)),
        "closed_at": (status == 5).then(|| iso(updated)),
        "pending_since": (status == 3).then(|| iso(updated)),
    });
    t.insert("_stats".into(), stats);
    if let Some(dress) = dress {
        dress.ticket(st.seed, &mut t);
    }
    if (4..=5).contains(&status) && rng.random_bool(0.4) {
        let rid = st.other_ids.next_id();
        let score = *pick(rng, &[103i64, 103, 102, 101, 100, -101, -102, -103]);
        st.ratings.insert(
            rid,
            rating_record(
                rid,
                id,
                requester,
                t.get("responder_id").and_then(Value::as_u64),
                t.get("group_id").and_then(Value::as_u64),
                score,
                "",
                updated,
            ),
        );
    }
    if rng.random_bool(0.03) {
        t.insert("spam".into(), json!(true));
    } else if rng.random_bool(0.03) {
        t.insert("_deleted".into(), json!(true));
    }
    st.put_ticket(id, t);
}

/// A satisfaction rating record.
#[allow(clippy::too_many_arguments, reason = "a rating names all of these")]
pub(crate) fn rating_record(
    id: u64,
    ticket_id: u64,
    user_id: u64,
    agent_id: Option<u64>,
    group_id: Option<u64>,
    score: i64,
    feedback: &str,
    at: i64,
) -> Rec {
    obj(
        json!({"id": id, "survey_id": 1, "user_id": user_id, "agent_id": agent_id,
        "feedback": feedback, "group_id": group_id, "ticket_id": ticket_id,
        "ratings": {"default_question": score}, "created_at": iso(at), "updated_at": iso(at)}),
    )
}

fn add_generated(st: &mut FreshdeskState, at: i64, inline: bool) -> Attachment {
    let id = st.attachment_ids.next_id();
    let meta = attachment_meta(st.seed, id, inline);
    let att = Attachment {
        id,
        name: meta.file_name.clone(),
        content_type: meta.content_type.to_owned(),
        size: meta.size,
        created_at: at,
        content: Content::Generated(meta),
    };
    st.attachments.insert(id, att.clone());
    att
}
