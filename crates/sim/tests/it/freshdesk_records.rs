//! Freshdesk contacts, companies, agents, groups, roles, reference lists and ratings.

use reqwest::StatusCode;
use serde_json::{Value, json};

use cutover_sim::AccountProfile;
use cutover_sim::freshdesk::FreshdeskOptions;

use crate::freshdesk_harness::{fd_opts, fd_spawn};

#[tokio::test]
async fn contacts_are_created_filtered_deleted_restored_and_merged() {
    let fd = fd_spawn(fd_opts()).await;
    let missing = fd.post("/api/v2/contacts", json!({"name": "No Way"})).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing.body["errors"][0]["code"], "missing_field");
    let a = fd.post("/api/v2/contacts", json!({"name": "林 美咲", "email": "misaki@example.jp", "unique_external_id": "crm-1", "custom_fields": {"customer_tier": "gold"}})).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let a_id = a.body["id"].as_u64().unwrap();
    assert_eq!(a.body["custom_fields"]["customer_tier"], "gold");
    let dup = fd
        .post(
            "/api/v2/contacts",
            json!({"name": "Dup", "email": "MISAKI@example.jp"}),
        )
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    assert_eq!(dup.body["errors"][0]["code"], "duplicate_value");
    assert_eq!(dup.body["errors"][0]["additional_info"]["user_id"], a_id);
    let by_email = fd.get("/api/v2/contacts?email=misaki@example.jp").await;
    assert_eq!(by_email.body.as_array().unwrap().len(), 1);
    fd.control(
        reqwest::Method::POST,
        "/_sim/clock",
        Some(json!({"advance_seconds": 60})),
    )
    .await;
    let b = fd
        .post(
            "/api/v2/contacts",
            json!({"name": "Second", "email": "second@example.com"}),
        )
        .await;
    let b_id = b.body["id"].as_u64().unwrap();
    let since = fd
        .get(&format!(
            "/api/v2/contacts?_updated_since={}",
            b.body["updated_at"].as_str().unwrap()
        ))
        .await;
    let ids: Vec<u64> = since
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, vec![b_id]);
    let t = fd
        .ticket(json!({"requester_id": b_id, "subject": "moves on merge"}))
        .await;
    let merged = fd
        .post(
            "/api/v2/contacts/merge",
            json!({"primary_contact_id": a_id, "secondary_contact_ids": [b_id]}),
        )
        .await;
    assert_eq!(merged.status, StatusCode::NO_CONTENT, "{}", merged.text);
    assert_eq!(
        fd.get(&format!("/api/v2/tickets/{}", t["id"])).await.body["requester_id"],
        a_id
    );
    assert_eq!(
        fd.get(&format!("/api/v2/contacts/{a_id}")).await.body["other_emails"],
        json!(["second@example.com"])
    );
    assert_eq!(
        fd.get(&format!("/api/v2/contacts/{b_id}")).await.status,
        StatusCode::NOT_FOUND
    );
    // Soft delete, hard delete needs the soft one first (or force), restore.
    let early = fd
        .delete(&format!("/api/v2/contacts/{a_id}/hard_delete"))
        .await;
    assert_eq!(early.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        fd.delete(&format!("/api/v2/contacts/{a_id}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        fd.get(&format!("/api/v2/contacts/{a_id}")).await.body["deleted"],
        true
    );
    let deleted = fd.get("/api/v2/contacts?state=deleted").await;
    assert!(
        deleted
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == a_id)
    );
    assert!(
        fd.get("/api/v2/contacts?per_page=100")
            .await
            .body
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["id"] != a_id)
    );
    assert_eq!(
        fd.put(&format!("/api/v2/contacts/{a_id}/restore"), json!({}))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        fd.delete(&format!("/api/v2/contacts/{a_id}/hard_delete?force=true"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        fd.get(&format!("/api/v2/contacts/{a_id}")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn generated_contacts_include_non_latin_names_and_agents_sit_in_groups() {
    let fd = fd_spawn(fd_opts()).await;
    let contacts = fd.get("/api/v2/contacts?per_page=100").await;
    let list = contacts.body.as_array().unwrap();
    assert!(list.iter().any(|c| !c["name"].as_str().unwrap().is_ascii()));
    let agents = fd.get("/api/v2/agents").await;
    let agents = agents.body.as_array().unwrap();
    assert!(agents.len() >= 5);
    assert!(agents.iter().all(|a| a["contact"]["email"].is_string()));
    let me = fd.get("/api/v2/agents/me").await;
    assert_eq!(me.status, StatusCode::OK);
    assert!(
        agents
            .iter()
            .all(|a| list.iter().all(|c| c["id"] != a["id"])),
        "agents are not in /contacts"
    );
    let groups = fd.get("/api/v2/groups").await;
    let groups = groups.body.as_array().unwrap();
    assert!(groups.len() >= 3, "{groups:?}");
    assert!(
        groups
            .iter()
            .all(|g| !g["agent_ids"].as_array().unwrap().is_empty())
    );
    let created = fd
        .post(
            "/api/v2/groups",
            json!({"name": "Night shift", "agent_ids": [agents[1]["id"]]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(
        fd.post("/api/v2/groups", json!({"name": "Night shift"}))
            .await
            .status,
        StatusCode::CONFLICT
    );
    let roles = fd.get("/api/v2/roles").await;
    let roles = roles.body.as_array().unwrap();
    assert_eq!(roles.iter().filter(|r| r["default"] == true).count(), 4);
    assert!(
        roles.iter().any(|r| r["default"] == false),
        "the organisation's own roles: {roles:?}"
    );
    let companies = fd.get("/api/v2/companies").await;
    assert!(
        companies
            .body
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["domains"].is_array())
    );
    let co = fd.post("/api/v2/companies", json!({"name": "Ωmega Ltd", "domains": ["omega.example"], "custom_fields": {"website": "https://omega.example"}})).await;
    assert_eq!(co.status, StatusCode::CREATED, "{}", co.text);
    let co_id = co.body["id"].as_u64().unwrap();
    assert_eq!(
        fd.post("/api/v2/companies", json!({"name": "ωMEGA LTD"}))
            .await
            .status,
        StatusCode::CONFLICT
    );
    let up = fd
        .put(
            &format!("/api/v2/companies/{co_id}"),
            json!({"note": "big"}),
        )
        .await;
    assert_eq!(up.body["note"], "big");
    assert_eq!(
        fd.delete(&format!("/api/v2/companies/{co_id}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn reference_lists_fields_and_ratings_have_real_shapes() {
    let fd = fd_spawn(fd_opts()).await;
    for path in [
        "products",
        "email_configs",
        "business_hours",
        "sla_policies",
        "ticket_fields",
        "contact_fields",
        "company_fields",
        "canned_response_folders",
        "scenario_automations",
    ] {
        let a = fd.get(&format!("/api/v2/{path}")).await;
        assert_eq!(a.status, StatusCode::OK, "{path}");
        let list = a
            .body
            .as_array()
            .unwrap_or_else(|| panic!("{path}: {}", a.text));
        assert!(!list.is_empty(), "{path}");
        let one = fd.get(&format!("/api/v2/{path}/{}", list[0]["id"])).await;
        assert_eq!(one.body, list[0], "{path}");
    }
    let fields = fd.get("/api/v2/ticket_fields").await;
    let names: Vec<&str> = fields
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert!(names.iter().any(|n| n.starts_with("cf_")));
    let folder = fd.get("/api/v2/canned_response_folders").await.body[0]["id"].clone();
    let responses = fd
        .get(&format!(
            "/api/v2/canned_response_folders/{folder}/responses"
        ))
        .await;
    assert!(!responses.body.as_array().unwrap().is_empty());
    let ratings = fd
        .get("/api/v2/surveys/satisfaction_ratings?created_since=2015-01-01T00:00:00Z&per_page=100")
        .await;
    let ratings = ratings.body.as_array().unwrap();
    assert!(
        !ratings.is_empty(),
        "generated solved tickets carry ratings"
    );
    assert!(
        ratings
            .iter()
            .all(|r| r["ratings"]["default_question"].is_i64())
    );
    let t = fd
        .ticket(json!({"email": "rate@example.com", "subject": "rate me"}))
        .await;
    let id = t["id"].as_u64().unwrap();
    let bad = fd
        .post(
            &format!("/api/v2/tickets/{id}/satisfaction_ratings"),
            json!({"ratings": {"default_question": 5}}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let ok = fd
        .post(
            &format!("/api/v2/tickets/{id}/satisfaction_ratings"),
            json!({"ratings": {"default_question": 103}, "feedback": "great"}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED);
    let mine = fd
        .get(&format!("/api/v2/tickets/{id}/satisfaction_ratings"))
        .await;
    assert_eq!(mine.body.as_array().map(Vec::len), Some(1));
    assert_eq!(mine.body[0]["feedback"], Value::from("great"));
}

#[tokio::test]
async fn fields_custom_statuses_and_agents_can_be_created_as_on_the_real_api() {
    // The plain account: its status field holds only the built-in choices (2-7), so the first
    // status added is 8.
    let fd = fd_spawn(FreshdeskOptions {
        profile: AccountProfile::Plain,
        ..fd_opts()
    })
    .await;
    let field = fd
        .post("/api/v2/admin/ticket_fields", json!({"label": "Source system", "type": "custom_dropdown", "choices": [{"value": "Zendesk", "position": 1}, {"value": "Email", "position": 2}]}))
        .await;
    assert_eq!(field.status, StatusCode::CREATED, "{}", field.text);
    assert_eq!(field.body["name"], "cf_source_system");
    let again = fd
        .post(
            "/api/v2/admin/ticket_fields",
            json!({"label": "Source system", "type": "custom_text"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let t = fd
        .ticket(json!({"email": "f@example.com", "subject": "s", "custom_fields": {"cf_source_system": "Zendesk"}}))
        .await;
    assert_eq!(t["custom_fields"]["cf_source_system"], "Zendesk");
    let old = fd.get("/api/v2/tickets/1").await;
    assert!(
        old.body["custom_fields"]
            .as_object()
            .unwrap()
            .contains_key("cf_source_system")
    );
    let bad = fd
        .post(
            "/api/v2/tickets",
            json!({"email": "f@example.com", "custom_fields": {"cf_source_system": "Fax"}}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    // A custom status is a new choice of the status field.
    let fields = fd.get("/api/v2/admin/ticket_fields").await;
    let status = fields
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "status")
        .unwrap()
        .clone();
    assert_eq!(
        fd.post(
            "/api/v2/tickets",
            json!({"email": "f@example.com", "status": 8})
        )
        .await
        .status,
        StatusCode::BAD_REQUEST
    );
    let up = fd
        .put(&format!("/api/v2/admin/ticket_fields/{}", status["id"]), json!({"choices": [{"value": "Awaiting parts", "customer_display_name": "Being processed"}]}))
        .await;
    assert_eq!(up.status, StatusCode::OK, "{}", up.text);
    assert_eq!(up.body["choices"]["8"][0], "Awaiting parts");
    let custom = fd
        .ticket(json!({"email": "f@example.com", "status": 8}))
        .await;
    assert_eq!(custom["status"], 8);
    // A ticket type is a choice of the built-in type field: refused until an admin adds it,
    // added after the account's own, and then taken on a ticket.
    let refused = fd
        .post(
            "/api/v2/tickets",
            json!({"email": "f@example.com", "type": "Task"}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    let kind = fields
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "ticket_type")
        .unwrap()
        .clone();
    let up = fd
        .put(
            &format!("/api/v2/admin/ticket_fields/{}", kind["id"]),
            json!({"choices": [{"value": "Task", "position": 6}, {"value": "question", "position": 7}]}),
        )
        .await;
    assert_eq!(up.status, StatusCode::OK, "{}", up.text);
    let choices: Vec<&str> = up.body["choices"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(choices.first(), Some(&"Question"));
    assert_eq!(choices.last(), Some(&"Task"));
    assert_eq!(
        choices
            .iter()
            .filter(|c| c.eq_ignore_ascii_case("question"))
            .count(),
        1
    );
    let typed = fd
        .ticket(json!({"email": "f@example.com", "type": "Task"}))
        .await;
    assert_eq!(typed["type"], "Task");
    // Contact and company fields.
    let cf = fd
        .post(
            "/api/v2/contact_fields",
            json!({"label": "Legacy id", "type": "custom_number"}),
        )
        .await;
    assert_eq!(cf.status, StatusCode::CREATED, "{}", cf.text);
    assert_eq!(cf.body["name"], "legacy_id");
    let c = fd
        .post(
            "/api/v2/contacts",
            json!({"name": "L", "email": "l@example.com", "custom_fields": {"legacy_id": 42}}),
        )
        .await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.text);
    assert_eq!(c.body["custom_fields"]["legacy_id"], 42);
    let wrong = fd
        .post(
            "/api/v2/contacts",
            json!({"name": "M", "email": "m@example.com", "custom_fields": {"legacy_id": "x"}}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        fd.post(
            "/api/v2/company_fields",
            json!({"label": "Region", "type": "custom_text"})
        )
        .await
        .status,
        StatusCode::CREATED
    );
    // Agents.
    let groups = fd.get("/api/v2/groups").await;
    let gid = groups.body[0]["id"].as_u64().unwrap();
    let agent = fd.post("/api/v2/agents", json!({"email": "new.agent@example.com", "name": "New Agent", "ticket_scope": 1, "group_ids": [gid]})).await;
    assert_eq!(agent.status, StatusCode::CREATED, "{}", agent.text);
    let aid = agent.body["id"].as_u64().unwrap();
    assert_eq!(agent.body["contact"]["email"], "new.agent@example.com");
    let group = fd.get(&format!("/api/v2/groups/{gid}")).await;
    assert!(
        group.body["agent_ids"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == aid)
    );
    assert_eq!(
        fd.post(
            "/api/v2/agents",
            json!({"email": "new.agent@example.com", "ticket_scope": 1})
        )
        .await
        .status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        fd.post("/api/v2/agents", json!({"email": "x@example.com"}))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let assigned = fd
        .ticket(json!({"email": "f@example.com", "responder_id": aid}))
        .await;
    assert_eq!(assigned["responder_id"], aid);
    let up = fd
        .put(
            &format!("/api/v2/agents/{aid}"),
            json!({"ticket_scope": 2, "group_ids": []}),
        )
        .await;
    assert_eq!(up.body["ticket_scope"], 2);
    assert_eq!(
        fd.delete(&format!("/api/v2/agents/{aid}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        fd.get(&format!("/api/v2/agents/{aid}")).await.status,
        StatusCode::NOT_FOUND
    );
}
