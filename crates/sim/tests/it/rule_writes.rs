//! Writing rules to both emulators as the platforms take them: Freshdesk's canned responses (in
//! folders), scenario automations, SLA policies and automation rules of each type; Zendesk's
//! macros, triggers, automations, views (written with `output`, shown with `execution`) and SLA
//! policies. Created switched off where the platform has a switch, served back as written, and
//! refused with the platform's error when malformed.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::freshdesk_harness::{fd_opts, fd_spawn};
use crate::harness::{opts, spawn};

fn ids(list: &Value) -> Vec<u64> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["id"].as_u64())
        .collect()
}

#[tokio::test]
async fn freshdesk_canned_responses_live_in_folders_and_are_checked() {
    let fd = fd_spawn(fd_opts()).await;
    let folder = fd
        .post(
            "/api/v2/canned_response_folders",
            json!({"name": "Written by the test"}),
        )
        .await;
    assert_eq!(folder.status, StatusCode::CREATED, "{}", folder.text);
    let folder_id = folder.body["id"].as_u64().unwrap();
    let again = fd
        .post(
            "/api/v2/canned_response_folders",
            json!({"name": "Written by the test"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
    assert_eq!(again.body["errors"][0]["code"], "duplicate_value");

    let group = fd.get("/api/v2/groups").await.body[0]["id"]
        .as_u64()
        .unwrap();
    let created = fd
        .post(
            "/api/v2/canned_responses",
            json!({"title": "Refund issued", "content_html": "<p>Your refund is on its way.</p>",
                "folder_id": folder_id, "visibility": 2, "group_ids": [group]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.body["content"], "Your refund is on its way.");
    let id = created.body["id"].as_u64().unwrap();
    let in_folder = fd
        .get(&format!(
            "/api/v2/canned_response_folders/{folder_id}/responses"
        ))
        .await;
    assert_eq!(ids(&in_folder.body), [id]);
    let folders = fd.get("/api/v2/canned_response_folders").await.body;
    let billing = folders
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == folder_id)
        .unwrap();
    assert_eq!(billing["responses_count"], 1);

    let updated = fd
        .put(
            &format!("/api/v2/canned_responses/{id}"),
            json!({"title": "Refund sent", "visibility": 0}),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);
    let shown = fd.get(&format!("/api/v2/canned_responses/{id}")).await.body;
    assert_eq!(
        (shown["title"].as_str(), shown["visibility"].as_u64()),
        (Some("Refund sent"), Some(0))
    );

    for (body, field) in [
        (
            json!({"title": "x", "content_html": "y", "folder_id": 1}),
            "folder_id",
        ),
        (
            json!({"content_html": "y", "folder_id": folder_id}),
            "title",
        ),
        (
            json!({"title": "x", "content_html": "y", "folder_id": folder_id, "visibility": 2}),
            "group_ids",
        ),
        (
            json!({"title": "x", "content_html": "y", "folder_id": folder_id, "colour": "red"}),
            "colour",
        ),
    ] {
        let refused = fd.post("/api/v2/canned_responses", body).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
        assert_eq!(refused.body["description"], "Validation failed");
        assert!(
            refused.body["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == field),
            "{field}: {}",
            refused.text
        );
    }
    assert_eq!(
        fd.put("/api/v2/canned_responses/999", json!({"title": "x"}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn freshdesk_scenarios_and_sla_policies_are_written_and_checked() {
    let fd = fd_spawn(fd_opts()).await;
    let scenario = fd
        .post(
            "/api/v2/scenario_automations",
            json!({"name": "Escalate", "description": "to tier 2",
                "actions": [{"name": "priority", "value": 4}, {"name": "add_note", "note_body": "Escalated"}]}),
        )
        .await;
    assert_eq!(scenario.status, StatusCode::CREATED, "{}", scenario.text);
    let listed = fd.get("/api/v2/scenario_automations").await.body;
    assert!(ids(&listed).contains(&scenario.body["id"].as_u64().unwrap()));
    let no_actions = fd
        .post(
            "/api/v2/scenario_automations",
            json!({"name": "Empty", "actions": []}),
        )
        .await;
    assert_eq!(
        no_actions.status,
        StatusCode::BAD_REQUEST,
        "{}",
        no_actions.text
    );

    let target = |seconds: u64| json!({"respond_within": seconds, "resolve_within": seconds * 4, "business_hours": false, "escalation_enabled": true});
    let targets = json!({"priority_1": target(86_400), "priority_2": target(28_800),
        "priority_3": target(14_400), "priority_4": target(3_600)});
    let sla = fd
        .post(
            "/api/v2/sla_policies",
            json!({"name": "VIP", "active": false, "applicable_to": {"sources": [1, 7]},
                "sla_target": targets}),
        )
        .await;
    assert_eq!(sla.status, StatusCode::CREATED, "{}", sla.text);
    assert_eq!(
        (
            sla.body["active"].as_bool(),
            sla.body["is_default"].as_bool()
        ),
        (Some(false), Some(false))
    );
    let sla_id = sla.body["id"].as_u64().unwrap();
    let policies = fd.get("/api/v2/sla_policies").await.body;
    assert!(ids(&policies).contains(&sla_id));
    let default = policies
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["is_default"] == true)
        .unwrap()["id"]
        .as_u64()
        .unwrap();
    for (path, body, field) in [
        (
            "/api/v2/sla_policies".to_owned(),
            json!({"name": "No scope", "applicable_to": {}, "sla_target": targets}),
            "applicable_to",
        ),
        (
            "/api/v2/sla_policies".to_owned(),
            json!({"name": "Fast", "applicable_to": {"sources": [1]},
            "sla_target": {"priority_1": target(60)}}),
            "sla_target.priority_1",
        ),
        (
            "/api/v2/sla_policies".to_owned(),
            json!({"name": "Odd", "applicable_to": {"sources": [4]}, "sla_target": targets}),
            "applicable_to.sources",
        ),
        (
            format!("/api/v2/sla_policies/{default}"),
            json!({"applicable_to": {"sources": [1]}}),
            "applicable_to",
        ),
    ] {
        let refused = fd
            .call(
                if path.ends_with("policies") {
                    reqwest::Method::POST
                } else {
                    reqwest::Method::PUT
                },
                &path,
                Some(&body),
            )
            .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
        assert!(
            refused.body["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == field),
            "{field}: {}",
            refused.text
        );
    }
    let duplicate = fd
        .post(
            "/api/v2/sla_policies",
            json!({"name": "VIP", "applicable_to": {"sources": [1]}, "sla_target": targets}),
        )
        .await;
    assert_eq!(duplicate.status, StatusCode::CONFLICT, "{}", duplicate.text);
    let switched_on = fd
        .put(
            &format!("/api/v2/sla_policies/{sla_id}"),
            json!({"active": true}),
        )
        .await;
    assert_eq!(switched_on.status, StatusCode::OK, "{}", switched_on.text);
    assert_eq!(switched_on.body["active"], true);
}

#[tokio::test]
async fn freshdesk_automation_rules_are_served_as_written_and_checked() {
    let fd = fd_spawn(fd_opts()).await;
    let rule = fd
        .post(
            "/api/v2/automations/4/rules",
            json!({"name": "Resolved VIP", "active": false, "performer": {"type": 3},
                "events": [{"field_name": "status", "from": "--", "to": 4}],
                "conditions": [{"name": "condition_set_1", "match_type": "all", "properties": [
                    {"resource_type": "ticket", "field_name": "priority", "operator": "in", "value": [3, 4]}]}],
                "actions": [{"field_name": "add_note", "note_body": "Check the refund"},
                    {"field_name": "priority", "value": 1}]}),
        )
        .await;
    assert_eq!(rule.status, StatusCode::CREATED, "{}", rule.text);
    assert_eq!(rule.body["active"], false);
    let listed = fd.get("/api/v2/automations/4/rules").await.body;
    let listed = &listed.as_array().unwrap()[0];
    assert_eq!(
        (
            listed["active"].as_bool(),
            listed["events"][0]["to"].as_u64()
        ),
        (Some(false), Some(4))
    );

    for body in [
        json!({"name": "x", "actions": [{"field_name": "status", "value": 2}],
            "conditions": [{"name": "condition_set_1", "match_type": "all", "properties": [
                {"resource_type": "ticket", "field_name": "priority", "operator": "equals", "value": 3}]}]}),
        json!({"name": "x", "actions": [{"field_name": "status", "value": 2}],
            "conditions": [{"name": "condition_set_1", "match_type": "sometimes", "properties": []}]}),
        json!({"name": "x", "performer": {"type": 9}, "events": [], "actions": [{"field_name": "status", "value": 2}]}),
    ] {
        let refused = fd.post("/api/v2/automations/4/rules", body).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    }
}

#[tokio::test]
async fn zendesk_rules_are_created_switched_off_checked_and_views_show_their_layout() {
    let zd = spawn(opts()).await;
    let trigger = zd
        .post(
            "/api/v2/triggers.json",
            json!({"trigger": {"title": "Route VIP", "active": false,
                "conditions": {"all": [{"field": "update_type", "operator": "is", "value": "Create"},
                    {"field": "group_id", "operator": "is", "value": "12"}], "any": []},
                "actions": [{"field": "priority", "value": "urgent"}]}}),
        )
        .await;
    assert_eq!(trigger.status, StatusCode::CREATED, "{}", trigger.text);
    let id = trigger.body["trigger"]["id"].as_u64().unwrap();
    assert!(ids(&zd.get("/api/v2/triggers.json").await.body["triggers"]).contains(&id));
    assert!(!ids(&zd.get("/api/v2/triggers/active.json").await.body["triggers"]).contains(&id));

    let view = zd
        .post(
            "/api/v2/views.json",
            json!({"view": {"title": "Billing queue", "active": false,
                "all": [{"field": "status", "operator": "less_than", "value": "solved"}], "any": [],
                "output": {"columns": ["subject", "requester", "priority"], "group_by": "status",
                    "group_order": "asc", "sort_by": "updated", "sort_order": "desc"}}}),
        )
        .await;
    assert_eq!(view.status, StatusCode::CREATED, "{}", view.text);
    let execution = &view.body["view"]["execution"];
    let columns: Vec<&str> = execution["columns"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(columns, ["subject", "requester", "priority"]);
    assert_eq!(
        (
            execution["group_by"].as_str(),
            execution["group"]["title"].as_str()
        ),
        (Some("status"), Some("Status"))
    );
    assert!(view.body["view"].get("output").is_none(), "{}", view.text);

    let sla = zd
        .post(
            "/api/v2/slas/policies.json",
            json!({"sla_policy": {"title": "VIP", "filter": {"all": [{"field": "group_id", "operator": "is", "value": "12"}], "any": []},
                "policy_metrics": [{"priority": "urgent", "metric": "first_reply_time", "target": 30, "business_hours": false}]}}),
        )
        .await;
    assert_eq!(sla.status, StatusCode::CREATED, "{}", sla.text);

    for (path, body, field) in [
        (
            "/api/v2/macros.json",
            json!({"macro": {"title": "Nothing", "actions": []}}),
            "actions",
        ),
        (
            "/api/v2/automations.json",
            json!({"automation": {"title": "Every hour",
            "all": [{"field": "status", "operator": "is", "value": "open"}],
            "actions": [{"field": "status", "value": "pending"}]}}),
            "base",
        ),
        (
            "/api/v2/triggers.json",
            json!({"trigger": {"title": "Always", "all": [], "any": [],
            "actions": [{"field": "status", "value": "open"}]}}),
            "conditions",
        ),
        (
            "/api/v2/slas/policies.json",
            json!({"sla_policy": {"title": "Odd", "filter": {"all": []},
            "policy_metrics": [{"priority": "normal", "metric": "lunch_time", "target": 30}]}}),
            "policy_metrics",
        ),
    ] {
        let refused = zd.post(path, body).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path}: {}",
            refused.text
        );
        assert_eq!(refused.body["error"], "RecordInvalid");
        assert!(
            refused.body["details"].get(field).is_some(),
            "{field}: {}",
            refused.text
        );
    }
}
