use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{opts, spawn};

#[tokio::test]
async fn users_create_update_upsert_identities_delete() {
    let sim = spawn(opts()).await;
    let a = sim
        .post(
            "/api/v2/users.json",
            json!({"user": {"name": "Søren", "email": "soren@example.com", "external_id": "s-1"}}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    let id = a.body["user"]["id"].as_u64().unwrap();
    assert_eq!(a.body["user"]["role"], "end-user");
    let dup = sim
        .post(
            "/api/v2/users.json",
            json!({"user": {"name": "Other", "email": "SOREN@example.com"}}),
        )
        .await;
    assert_eq!(dup.body["details"]["email"][0]["error"], "DuplicateValue");
    let upsert = sim
        .post(
            "/api/v2/users/create_or_update.json",
            json!({"user": {"external_id": "s-1", "name": "Søren K"}}),
        )
        .await;
    assert_eq!(
        (upsert.status, upsert.body["user"]["id"].as_u64()),
        (StatusCode::OK, Some(id))
    );
    let created = sim
        .post(
            "/api/v2/users/create_or_update.json",
            json!({"user": {"email": "new@example.com", "name": "New"}}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let ident = sim
        .post(
            &format!("/api/v2/users/{id}/identities.json"),
            json!({"identity": {"type": "email", "value": "soren@work.example"}}),
        )
        .await;
    assert_eq!(ident.status, StatusCode::CREATED);
    let list = sim
        .get(&format!("/api/v2/users/{id}/identities.json"))
        .await;
    assert_eq!(list.body["identities"].as_array().unwrap().len(), 2);
    let found = sim
        .get("/api/v2/users/search.json?query=soren@work.example")
        .await;
    assert_eq!(found.body["users"][0]["id"], id);
    let many = sim
        .get(&format!("/api/v2/users/show_many.json?ids={id}"))
        .await;
    assert_eq!(many.body["count"], 1);
    let del = sim.delete(&format!("/api/v2/users/{id}.json")).await;
    assert_eq!(
        (del.status, del.body["user"]["active"].clone()),
        (StatusCode::OK, json!(false))
    );
    let job = sim
        .post(
            "/api/v2/users/create_many.json",
            json!({"users": [{"name": "A"}, {"name": ""}]}),
        )
        .await;
    let done = sim
        .get(job.body["job_status"]["url"].as_str().unwrap())
        .await;
    let results = done.body["job_status"]["results"].as_array().unwrap();
    // A creation answers its id and status only (as recorded); a failure says so.
    assert_eq!(results[0]["status"], "Created");
    assert!(results[0]["id"].as_u64().is_some());
    assert!(results[0].get("success").is_none());
    assert_eq!(results[1]["success"], json!(false));
}

#[tokio::test]
async fn organizations_groups_memberships() {
    let sim = spawn(opts()).await;
    let org = sim
        .post(
            "/api/v2/organizations.json",
            json!({"organization": {"name": "Initech", "external_id": "org-1"}}),
        )
        .await;
    assert_eq!(org.status, StatusCode::CREATED);
    let dup = sim
        .post(
            "/api/v2/organizations.json",
            json!({"organization": {"name": "initech"}}),
        )
        .await;
    assert_eq!(dup.status, StatusCode::UNPROCESSABLE_ENTITY);
    let found = sim
        .get("/api/v2/organizations/search.json?external_id=org-1")
        .await;
    assert_eq!(found.body["organizations"][0]["name"], "Initech");
    let group = sim
        .post(
            "/api/v2/groups.json",
            json!({"group": {"name": "Escalations"}}),
        )
        .await;
    let gid = group.body["group"]["id"].as_u64().unwrap();
    let agent = sim
        .post(
            "/api/v2/users.json",
            json!({"user": {"name": "Agent", "email": "agent@example.com", "role": "agent"}}),
        )
        .await;
    let uid = agent.body["user"]["id"].as_u64().unwrap();
    let m = sim
        .post(
            "/api/v2/group_memberships.json",
            json!({"group_membership": {"user_id": uid, "group_id": gid}}),
        )
        .await;
    assert_eq!(m.status, StatusCode::CREATED);
    let mine = sim
        .get(&format!("/api/v2/users/{uid}/group_memberships.json"))
        .await;
    assert_eq!(mine.body["group_memberships"][0]["group_id"], gid);
    let t = sim
        .ticket(json!({"ticket": {"comment": {"body": "x"}, "group_id": gid, "assignee_id": uid}}))
        .await;
    assert_eq!(
        sim.get(&format!("/api/v2/tickets/{t}.json")).await.body["ticket"]["status"],
        "open"
    );
    assert_eq!(
        sim.delete(&format!("/api/v2/groups/{gid}.json"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let bad = sim
        .post(
            "/api/v2/tickets.json",
            json!({"ticket": {"comment": {"body": "x"}, "group_id": gid}}),
        )
        .await;
    assert_eq!(bad.body["details"]["group"][0]["error"], "InvalidValue");
}

#[tokio::test]
async fn configuration_records_and_views() {
    let sim = spawn(opts()).await;
    for (path, key) in [
        ("macros", "macros"),
        ("triggers", "triggers"),
        ("automations", "automations"),
        ("views", "views"),
        ("ticket_fields", "ticket_fields"),
        ("user_fields", "user_fields"),
        ("organization_fields", "organization_fields"),
        ("custom_roles", "custom_roles"),
        ("custom_statuses", "custom_statuses"),
        ("brands", "brands"),
        ("ticket_forms", "ticket_forms"),
        ("slas/policies", "sla_policies"),
        ("recipient_addresses", "recipient_addresses"),
    ] {
        let a = sim.get(&format!("/api/v2/{path}.json")).await;
        assert_eq!(a.status, StatusCode::OK, "{path}");
        assert!(
            !a.body[key].as_array().unwrap().is_empty(),
            "{path} has defaults"
        );
    }
    // A brand added is not the default: the account keeps its one default brand.
    let b = sim
        .post(
            "/api/v2/brands.json",
            json!({"brand": {"name": "Outlet", "subdomain": "outlet"}}),
        )
        .await;
    assert_eq!(b.status, StatusCode::CREATED, "{:?}", b.body);
    assert_eq!(b.body["brand"]["default"], false);
    let brands = sim.get("/api/v2/brands.json").await;
    let defaults = brands.body["brands"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["default"] == true)
        .count();
    assert_eq!(defaults, 1, "{:?}", brands.body);
    let v = sim.post("/api/v2/views.json", json!({"view": {"title": "Open urgent", "all": [{"field": "status", "operator": "is", "value": "open"}]}})).await;
    assert_eq!(v.status, StatusCode::CREATED);
    assert_eq!(v.body["view"]["raw_title"], "Open urgent");
    let vid = v.body["view"]["id"].as_u64().unwrap();
    let tickets = sim.get(&format!("/api/v2/views/{vid}/tickets.json")).await;
    assert!(
        tickets.body["tickets"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["status"] == "open")
    );
    let count = sim.get(&format!("/api/v2/views/{vid}/count.json")).await;
    assert_eq!(
        count.body["view_count"]["value"].as_u64().unwrap() as usize,
        tickets.body["tickets"].as_array().unwrap().len()
    );
    let u = sim
        .put(
            &format!("/api/v2/views/{vid}.json"),
            json!({"view": {"title": "Renamed"}}),
        )
        .await;
    assert_eq!(u.body["view"]["title"], "Renamed");
    assert_eq!(
        sim.delete(&format!("/api/v2/views/{vid}.json"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        sim.delete(&format!("/api/v2/views/{vid}.json"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let blank = sim
        .post("/api/v2/macros.json", json!({"macro": {"actions": []}}))
        .await;
    assert_eq!(blank.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn satisfaction_ratings() {
    let sim = spawn(opts()).await;
    let id = sim
        .ticket(json!({"ticket": {"comment": {"body": "x"}, "status": "solved"}}))
        .await;
    let r = sim
        .post(
            &format!("/api/v2/tickets/{id}/satisfaction_rating.json"),
            json!({"satisfaction_rating": {"score": "good", "comment": "Great"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let t = sim.get(&format!("/api/v2/tickets/{id}.json")).await;
    assert_eq!(t.body["ticket"]["satisfaction_rating"]["score"], "good");
    let list = sim
        .get("/api/v2/satisfaction_ratings.json?score=good")
        .await;
    assert!(
        list.body["satisfaction_ratings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["ticket_id"] == id)
    );
    let bad = sim
        .post(
            &format!("/api/v2/tickets/{id}/satisfaction_rating.json"),
            json!({"satisfaction_rating": {"score": "meh"}}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}
