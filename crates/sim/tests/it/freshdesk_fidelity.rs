//! Fidelity against `shared/fixtures/freshdesk-samples/`: for every sample, the emulator's answer
//! for the corresponding object has every key of the sample, recursively, with the same JSON
//! type wherever both sides are not null. Some samples of that client library's test suite are
//! API v1 shapes (keys such as `custom_field`, `helpdesk_agent`, `cc_email`, `frDueBy`); those
//! keys are listed per sample as legacy and reported apart, never silently skipped. Every sample,
//! knowledge base and time entries included, is compared. The report goes
//! to stdout and `target/tmp/sim-fidelity-freshdesk.json` (Cargo's `CARGO_TARGET_TMPDIR`); the
//! test asserts that nothing else is off.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::freshdesk_harness::{Fd, fd_opts, fd_spawn};

fn samples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/freshdesk-samples")
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "num",
        Value::String(_) => "str",
        Value::Array(_) => "arr",
        Value::Object(_) => "obj",
    }
}

/// Keys whose maps hold the account's own field names: only their type is compared.
const OPEN_MAPS: [&str; 3] = ["custom_fields", "custom_field", "ratings"];

#[derive(Default)]
struct Tally {
    checked: usize,
    missing: Vec<String>,
    mismatched: Vec<String>,
    legacy: Vec<String>,
}

fn compare(sample: &Value, ours: &Value, path: &str, legacy: &[&str], t: &mut Tally) {
    match (sample, ours) {
        (Value::Object(s), Value::Object(o)) => {
            for (k, sv) in s {
                let p = format!("{path}.{k}");
                if legacy.contains(&k.as_str()) || legacy.contains(&p.as_str()) {
                    t.legacy.push(p);
                    continue;
                }
                t.checked += 1;
                match o.get(k) {
                    None => t.missing.push(p),
                    Some(ov) if OPEN_MAPS.contains(&k.as_str()) => {
                        if !sv.is_null() && !ov.is_null() && kind(sv) != kind(ov) {
                            t.mismatched
                                .push(format!("{p}: {} vs {}", kind(sv), kind(ov)));
                        }
                    }
                    Some(ov) => compare(sv, ov, &p, legacy, t),
                }
            }
        }
        (Value::Array(s), Value::Array(o)) => {
            // Every sample element against every emulator element of the same shape class.
            if let Some(first) = o.first() {
                for sv in s {
                    compare(sv, first, &format!("{path}[]"), legacy, t);
                }
            }
        }
        (s, o) if s.is_null() || o.is_null() => {}
        (s, o) if kind(s) != kind(o) => {
            if legacy.contains(&path) {
                t.legacy.push(path.to_owned());
            } else {
                t.mismatched
                    .push(format!("{path}: {} vs {}", kind(s), kind(o)));
            }
        }
        _ => {}
    }
}

/// API v1-era keys in the client library's samples (reported, not served).
const V1_CONTACT: [&str; 5] = [
    "customer_id",
    "external_id",
    "fb_profile_id",
    "helpdesk_agent",
    "custom_field",
];
const V1_TICKET: [&str; 17] = [
    "cc_email",
    "delta",
    "description_html",
    "frDueBy",
    "isescalated",
    "owner_id",
    "ticket_type",
    "to_email",
    "trained",
    "urgent",
    "requester_status_name",
    "source_name",
    "requester_name",
    "responder_name",
    "custom_field",
    "deleted",
    "status_name",
];
/// The role samples carry a group's keys (copied in that library's test data); v2 roles have
/// `id, name, description, default, created_at, updated_at`.
const GROUP_KEYS_IN_ROLE: [&str; 4] = [
    "business_hour_id",
    "escalate_to",
    "unassigned_for",
    "auto_ticket_assign",
];
const V1_COMPANY: [&str; 4] = [
    "cust_identifier",
    "sla_policy_id",
    "custom_field",
    "$.domains",
];
/// The sample's agent has numbers for phones; the v2 API answers strings.
const AGENT_NUMBERS: [&str; 2] = ["$.contact.mobile", "$.contact.phone"];
const AGENTS_NUMBERS: [&str; 2] = ["$[].contact.mobile", "$[].contact.phone"];

/// Samples the emulator has no answer for (none left).
const NOT_EMULATED: [&str; 0] = [];

async fn ok(a: crate::harness::Answer, what: &str) -> Value {
    assert!(a.status.is_success(), "{what}: {} {}", a.status, a.text);
    a.body
}

/// The emulator's answer for each sample, and that sample's legacy keys.
async fn answers(fd: &Fd) -> BTreeMap<&'static str, (Value, Vec<&'static str>)> {
    let mut out = BTreeMap::new();
    // A ticket with every reference filled and a file.
    let company = ok(fd.post("/api/v2/companies", json!({"name": "Fidelity Co", "domains": ["fid.example"], "description": "d", "note": "n", "health_score": "Happy", "account_tier": "Premium", "renewal_date": "2030-01-01T00:00:00Z", "industry": "Retail", "custom_fields": {"website": "https://fid.example", "address": "1 Road"}})).await, "company").await;
    let contact = ok(fd.post("/api/v2/contacts", json!({"name": "Rachel", "email": "rachel@example.com", "phone": "123", "mobile": "456", "twitter_id": "rach", "job_title": "CTO", "address": "Somewhere", "description": "vip", "company_id": company["id"], "unique_external_id": "r-1"})).await, "contact").await;
    let agents = ok(fd.get("/api/v2/agents").await, "agents").await;
    let groups = ok(fd.get("/api/v2/groups").await, "groups").await;
    let products = ok(fd.get("/api/v2/products").await, "products").await;
    let configs = ok(fd.get("/api/v2/email_configs").await, "email_configs").await;
    let agent_id = agents[1]["id"].clone();
    let base = json!({"requester_id": contact["id"], "subject": "This is a sample ticket", "description": "<div>sample</div>", "type": "Question", "priority": 1, "status": 2, "source": 2, "responder_id": agent_id, "group_id": groups[0]["id"], "product_id": products[0]["id"], "email_config_id": configs[0]["id"], "company_id": company["id"], "cc_emails": ["test2@example.com"], "tags": ["foo", "bar"], "custom_fields": {"cf_order_number": "1", "cf_plan": "Basic", "cf_source_ticket_id": "9"}});
    let created = ok(fd.post("/api/v2/tickets", base.clone()).await, "ticket").await;
    let id = created["id"].as_u64().unwrap();
    // A file on the ticket, through multipart.
    let attachment = std::fs::read(samples().join("attachment.txt")).unwrap();
    let (ct, body) = crate::freshdesk_tickets::multipart(&[(
        "attachments[]",
        Some(("attachment.txt", "text/plain")),
        attachment.clone(),
    )]);
    let up = fd
        .client
        .put(fd.url(&format!("/api/v2/tickets/{id}")))
        .header("Authorization", &fd.auth)
        .header("Content-Type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(up.status(), StatusCode::OK);
    let note = ok(
        fd.post(
            &format!("/api/v2/tickets/{id}/notes"),
            json!({"body": "<div>This is a private note</div>"}),
        )
        .await,
        "note",
    )
    .await;
    let reply = ok(fd.post(&format!("/api/v2/tickets/{id}/reply"), json!({"body": "<div>This is a reply</div>", "cc_emails": ["c@example.com"], "bcc_emails": ["b@example.com"]})).await, "reply").await;
    let ticket = ok(
        fd.get(&format!("/api/v2/tickets/{id}?include=requester,stats"))
            .await,
        "show",
    )
    .await;
    let bytes = fd
        .client
        .get(ticket["attachments"][0]["attachment_url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(
        bytes.to_vec(),
        attachment,
        "attachment.txt comes back byte for byte"
    );
    let updated = ok(fd.put(&format!("/api/v2/tickets/{id}"), json!({"subject": "Test subject update", "status": 4, "priority": 3, "tags": ["hello", "world"]})).await, "update").await;
    let outbound = ok(fd.post("/api/v2/tickets/outbound_email", json!({"email": "out@example.com", "subject": "out", "description": "<div>o</div>", "email_config_id": configs[0]["id"], "priority": 1, "status": 2, "type": "Question", "cc_emails": ["test2@example.com"], "tags": ["foo"], "responder_id": agent_id})).await, "outbound").await;
    let conversations = ok(
        fd.get(&format!("/api/v2/tickets/{id}/conversations")).await,
        "conversations",
    )
    .await;
    let all = ok(
        fd.get("/api/v2/tickets?include=description&per_page=100")
            .await,
        "list",
    )
    .await;
    let search_tickets = ok(
        fd.get("/api/v2/search/tickets?query=%22status:4%22").await,
        "search tickets",
    )
    .await;
    let contact_id = contact["id"].as_u64().unwrap();
    let contact_updated = ok(
        fd.put(
            &format!("/api/v2/contacts/{contact_id}"),
            json!({"job_title": "CEO"}),
        )
        .await,
        "contact update",
    )
    .await;
    let contacts = ok(fd.get("/api/v2/contacts?per_page=100").await, "contacts").await;
    let search_contacts = ok(
        fd.get("/api/v2/search/contacts?query=%22email:'rachel@example.com'%22")
            .await,
        "search contacts",
    )
    .await;
    let company_id = company["id"].as_u64().unwrap();
    let company_shown = ok(
        fd.get(&format!("/api/v2/companies/{company_id}")).await,
        "company",
    )
    .await;
    let company_updated = ok(
        fd.put(
            &format!("/api/v2/companies/{company_id}"),
            json!({"note": "updated"}),
        )
        .await,
        "company update",
    )
    .await;
    let companies = ok(fd.get("/api/v2/companies?per_page=100").await, "companies").await;
    let search_companies = ok(
        fd.get("/api/v2/search/companies?query=%22domain:'fid.example'%22")
            .await,
        "search companies",
    )
    .await;
    let agent = ok(fd.get(&format!("/api/v2/agents/{agent_id}")).await, "agent").await;
    let group = ok(
        fd.get(&format!("/api/v2/groups/{}", groups[0]["id"])).await,
        "group",
    )
    .await;
    let roles = ok(fd.get("/api/v2/roles").await, "roles").await;
    let role = ok(
        fd.get(&format!("/api/v2/roles/{}", roles[0]["id"])).await,
        "role",
    )
    .await;
    let newcomer = ok(
        fd.post(
            "/api/v2/contacts",
            json!({"name": "Soon Agent", "email": "soon@example.com"}),
        )
        .await,
        "contact",
    )
    .await;
    let made_agent = ok(
        fd.put(
            &format!("/api/v2/contacts/{}/make_agent", newcomer["id"]),
            json!({}),
        )
        .await,
        "make_agent",
    )
    .await;
    // Time entries: one logged on the ticket, then the ticket's list and the account's.
    ok(
        fd.post(
            &format!("/api/v2/tickets/{id}/time_entries"),
            json!({"note": "This is test time entry", "time_spent": "00:10", "billable": true, "executed_at": "2020-09-27T22:00:00Z"}),
        )
        .await,
        "time entry",
    )
    .await;
    let ticket_entries = ok(
        fd.get(&format!("/api/v2/tickets/{id}/time_entries")).await,
        "ticket time entries",
    )
    .await;
    let time_entries = ok(
        fd.get("/api/v2/time_entries?per_page=100").await,
        "time entries",
    )
    .await;
    // The knowledge base: a category, folder and article, each also in French.
    let category = ok(
        fd.post(
            "/api/v2/solutions/categories",
            json!({"name": "Fidelity Category", "description": "d"}),
        )
        .await,
        "category",
    )
    .await;
    let cat_id = category["id"].as_u64().unwrap();
    let folder = ok(
        fd.post(
            &format!("/api/v2/solutions/categories/{cat_id}/folders"),
            json!({"name": "Fidelity Folder", "description": "d", "visibility": 1}),
        )
        .await,
        "folder",
    )
    .await;
    let folder_id = folder["id"].as_u64().unwrap();
    let article = ok(
        fd.post(
            &format!("/api/v2/solutions/folders/{folder_id}/articles"),
            json!({"title": "Changing account details", "description": "<p>Steps</p>", "status": 2, "tags": ["foo", "bar"], "seo_data": {"meta_title": "seo_account", "meta_description": "seo_account_description"}}),
        )
        .await,
        "article",
    )
    .await;
    let article_id = article["id"].as_u64().unwrap();
    for (path, body) in [
        (
            format!("/api/v2/solutions/categories/{cat_id}/fr"),
            json!({"name": "Catégorie", "description": "fr"}),
        ),
        (
            format!("/api/v2/solutions/folders/{folder_id}/fr"),
            json!({"name": "Dossier", "description": "fr"}),
        ),
        (
            format!("/api/v2/solutions/articles/{article_id}/fr"),
            json!({"title": "Modifier", "description": "<p>Étapes</p>", "status": 2}),
        ),
    ] {
        ok(fd.post(&path, body).await, "translation").await;
    }
    let categories = ok(fd.get("/api/v2/solutions/categories").await, "categories").await;
    let categories_fr = ok(
        fd.get("/api/v2/solutions/categories/fr").await,
        "categories fr",
    )
    .await;
    let folders = ok(
        fd.get(&format!("/api/v2/solutions/categories/{cat_id}/folders"))
            .await,
        "folders",
    )
    .await;
    let folders_fr = ok(
        fd.get(&format!("/api/v2/solutions/categories/{cat_id}/folders/fr"))
            .await,
        "folders fr",
    )
    .await;
    let articles = ok(
        fd.get(&format!("/api/v2/solutions/folders/{folder_id}/articles"))
            .await,
        "articles",
    )
    .await;
    let articles_fr = ok(
        fd.get(&format!(
            "/api/v2/solutions/folders/{folder_id}/articles/fr"
        ))
        .await,
        "articles fr",
    )
    .await;
    let v = |x: &[&'static str]| x.to_vec();
    out.insert("time_entries.json", (time_entries, vec![]));
    out.insert("time_entry_1.json", (ticket_entries, vec![]));
    out.insert("solution_categories.json", (categories, vec![]));
    out.insert("solution_categories_fr.json", (categories_fr, vec![]));
    out.insert("solution_folders.json", (folders, vec![]));
    out.insert("solution_folders_fr.json", (folders_fr, vec![]));
    out.insert("solution_articles.json", (articles, vec![]));
    out.insert("solution_articles_fr.json", (articles_fr, vec![]));
    out.insert("ticket_1.json", (ticket, vec![]));
    out.insert("ticket_1_updated.json", (updated, vec![]));
    out.insert("outbound_email_1.json", (outbound, vec![]));
    out.insert("note_1.json", (note, vec![]));
    out.insert("reply_1.json", (reply, vec![]));
    out.insert("conversations.json", (conversations, vec![]));
    out.insert("all_tickets.json", (all, v(&V1_TICKET)));
    out.insert("search_tickets.json", (search_tickets, v(&V1_TICKET)));
    out.insert("contact.json", (contact, v(&V1_CONTACT)));
    out.insert("contact_updated.json", (contact_updated, v(&V1_CONTACT)));
    out.insert("contacts.json", (contacts, v(&V1_CONTACT)));
    out.insert("search_contacts.json", (search_contacts, v(&V1_CONTACT)));
    out.insert("contact_1_agent.json", (made_agent, v(&V1_CONTACT)));
    out.insert("customer.json", (company_shown.clone(), v(&V1_COMPANY)));
    out.insert("company.json", (company_shown, vec![]));
    out.insert("company_updated.json", (company_updated, vec![]));
    out.insert("companies.json", (companies, vec![]));
    out.insert("search_companies.json", (search_companies, vec![]));
    out.insert("agent_1.json", (agent.clone(), v(&AGENT_NUMBERS)));
    out.insert("agent_1_updated.json", (agent, v(&AGENT_NUMBERS)));
    out.insert("agents.json", (agents, v(&AGENTS_NUMBERS)));
    out.insert("group_1.json", (group, vec![]));
    out.insert("groups.json", (groups, vec![]));
    out.insert("role_1.json", (role, v(&GROUP_KEYS_IN_ROLE)));
    out.insert("roles.json", (roles, v(&GROUP_KEYS_IN_ROLE)));
    out
}

#[tokio::test]
async fn every_sample_is_matched_in_keys_and_types() {
    let fd = fd_spawn(fd_opts()).await;
    let answers = answers(&fd).await;
    let mut files: Vec<String> = std::fs::read_dir(samples())
        .expect("the samples are beside the repository")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".json"))
        .collect();
    files.sort();
    let mut report = Vec::new();
    let (mut checked, mut legacy, mut bad) = (0, 0, Vec::new());
    let mut not_emulated = BTreeSet::new();
    for name in &files {
        if NOT_EMULATED.contains(&name.as_str()) {
            not_emulated.insert(name.clone());
            report.push(json!({"sample": name, "status": "not emulated"}));
            continue;
        }
        let Some((ours, legacy_keys)) = answers.get(name.as_str()) else {
            bad.push(format!("{name}: no emulator answer mapped"));
            continue;
        };
        let sample: Value =
            serde_json::from_slice(&std::fs::read(samples().join(name)).unwrap()).unwrap();
        let mut t = Tally::default();
        compare(&sample, ours, "$", legacy_keys, &mut t);
        checked += t.checked;
        let legacy_set: BTreeSet<&String> = t.legacy.iter().collect();
        legacy += legacy_set.len();
        bad.extend(t.missing.iter().map(|m| format!("{name}: missing {m}")));
        bad.extend(t.mismatched.iter().map(|m| format!("{name}: type {m}")));
        report.push(
            json!({"sample": name, "keys_checked": t.checked, "missing": t.missing,
            "mismatched": t.mismatched, "legacy_v1_keys": legacy_set}),
        );
    }
    let summary = json!({"samples": files.len(), "compared": files.len() - not_emulated.len(),
        "not_emulated": not_emulated, "keys_checked": checked, "legacy_keys_reported": legacy,
        "failures": bad, "per_sample": report});
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sim-fidelity-freshdesk.json");
    std::fs::write(&out, serde_json::to_string_pretty(&summary).unwrap()).unwrap();
    println!(
        "freshdesk fidelity: {} samples, {} compared, {} not emulated, {} keys checked, {} v1-era keys reported, {} failures",
        files.len(),
        files.len() - not_emulated.len(),
        not_emulated.len(),
        checked,
        legacy,
        bad.len()
    );
    assert!(bad.is_empty(), "{bad:#?}");
    assert_eq!(
        not_emulated.len(),
        NOT_EMULATED.len(),
        "every unemulated sample is named"
    );
    assert!(
        checked > 300,
        "the comparison covers the samples ({checked} keys)"
    );
    let _ = fd.control(Method::GET, "/_sim/state", None).await;
}

/// The documented shapes of the rule records the samples do not cover: each key, with its JSON
/// type (`null` accepted where the documentation says nullable). SLA policies from the API
/// description in `shared/fixtures/openapi/freshdesk/rest-api.yml` (`SLAPolicy`); canned responses
/// and folders from the attributes Freshdesk's API reference lists (as a widely used .NET client
/// models them); automation rules from the shape the webhook rules already follow.
const DOCUMENTED: &[(&str, &[(&str, &str)])] = &[
    (
        "sla_policy",
        &[
            ("id", "num"),
            ("name", "str"),
            ("description", "str?"),
            ("is_default", "bool"),
            ("active", "bool"),
            ("sla_target", "obj"),
            ("applicable_to", "obj"),
            ("escalation", "obj"),
            ("created_at", "str"),
            ("updated_at", "str"),
        ],
    ),
    (
        "canned_response",
        &[
            ("id", "num"),
            ("title", "str"),
            ("content_html", "str"),
            ("content", "str"),
            ("folder_id", "num"),
            ("visibility", "num"),
            ("group_ids", "arr"),
            ("attachments", "arr"),
            ("created_at", "str"),
            ("updated_at", "str"),
        ],
    ),
    (
        "canned_response_folder",
        &[
            ("id", "num"),
            ("name", "str"),
            ("personal", "bool"),
            ("responses_count", "num"),
            ("created_at", "str"),
            ("updated_at", "str"),
        ],
    ),
    (
        "automation_rule",
        &[
            ("id", "num"),
            ("name", "str"),
            ("position", "num"),
            ("active", "bool"),
            ("performer", "obj"),
            ("events", "arr"),
            ("conditions", "arr"),
            ("actions", "arr"),
            ("automation_type_id", "num"),
            ("created_at", "str"),
            ("updated_at", "str"),
        ],
    ),
];

#[tokio::test]
async fn written_rules_have_the_documented_shape() {
    let fd = fd_spawn(fd_opts()).await;
    let folder = ok(
        fd.post("/api/v2/canned_response_folders", json!({"name": "Shapes"}))
            .await,
        "folder",
    )
    .await;
    let canned = ok(
        fd.post(
            "/api/v2/canned_responses",
            json!({"title": "Hello", "content_html": "<p>Hello</p>", "folder_id": folder["id"]}),
        )
        .await,
        "canned response",
    )
    .await;
    let folder = ok(
        fd.get(&format!("/api/v2/canned_response_folders/{}", folder["id"]))
            .await,
        "folder",
    )
    .await;
    let target = json!({"respond_within": 3600, "resolve_within": 7200, "business_hours": false, "escalation_enabled": true});
    let sla = ok(
        fd.post(
            "/api/v2/sla_policies",
            json!({"name": "Shapes", "applicable_to": {"sources": [1]}, "sla_target": {
                "priority_1": target, "priority_2": target, "priority_3": target, "priority_4": target}}),
        )
        .await,
        "sla policy",
    )
    .await;
    let rule = ok(
        fd.post(
            "/api/v2/automations/4/rules",
            json!({"name": "Shapes", "active": false, "events": [{"field_name": "status", "from": "--", "to": "--"}],
                "actions": [{"field_name": "priority", "value": 2}]}),
        )
        .await,
        "automation rule",
    )
    .await;
    let answers = [
        ("sla_policy", sla),
        ("canned_response", canned),
        ("canned_response_folder", folder),
        ("automation_rule", rule),
    ];
    let mut bad = Vec::new();
    for (name, answer) in &answers {
        let (_, keys) = DOCUMENTED.iter().find(|(n, _)| n == name).unwrap();
        for (key, expected) in *keys {
            let nullable = expected.ends_with('?');
            match answer.get(*key) {
                None => bad.push(format!("{name}: missing {key}")),
                Some(Value::Null) if nullable => {}
                Some(v) if kind(v) != expected.trim_end_matches('?') => {
                    bad.push(format!("{name}.{key}: {} vs {expected}", kind(v)));
                }
                Some(_) => {}
            }
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
}
