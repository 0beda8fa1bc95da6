use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Sim, opts, spawn};

#[tokio::test]
async fn create_show_update_with_audits() {
    let sim = spawn(opts()).await;
    let a = sim.post("/api/v2/tickets.json", json!({"ticket": {"subject": "Printer on fire", "comment": {"body": "Help!"}, "priority": "urgent", "tags": ["Fire", "printer"]}})).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let t = &a.body["ticket"];
    let id = t["id"].as_u64().unwrap();
    assert_eq!(
        a.headers["location"],
        sim.url(&format!("/api/v2/tickets/{id}.json")).as_str()
    );
    assert_eq!(t["status"], "new");
    assert_eq!(t["description"], "Help!");
    assert_eq!(t["tags"], json!(["fire", "printer"]));
    assert!(t["generated_timestamp"].is_number());
    assert_eq!(a.body["audit"]["events"][0]["type"], "Comment");
    let u = sim
        .put(
            &format!("/api/v2/tickets/{id}.json"),
            json!({"ticket": {"status": "open", "comment": {"body": "internal", "public": false}}}),
        )
        .await;
    assert_eq!(u.status, StatusCode::OK, "{}", u.text);
    assert_eq!(u.body["ticket"]["status"], "open");
    let change = u.body["audit"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "Change")
        .unwrap()
        .clone();
    assert_eq!(
        change,
        json!({"field_name": "status", "id": change["id"], "previous_value": "new", "type": "Change", "value": "open"})
    );
    let comments = sim
        .get(&format!("/api/v2/tickets/{id}/comments.json"))
        .await;
    let list = comments.body["comments"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[1]["public"], false);
    assert_eq!(
        list[0]["html_body"],
        "<div class=\"zd-comment\" dir=\"auto\"><p dir=\"auto\">Help!</p></div>"
    );
    let missing = sim.get("/api/v2/tickets/9223372036854775807.json").await;
    assert_eq!(
        (missing.status, missing.body.clone()),
        (
            StatusCode::NOT_FOUND,
            json!({"description": "Not found", "error": "RecordNotFound"})
        )
    );
}

async fn invalid(sim: &Sim, method: Method, path: &str, body: Value, field: &str) -> Value {
    let a = sim.call(method, path, Some(&body)).await;
    assert_eq!(
        a.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{body} → {}",
        a.text
    );
    assert_eq!(a.body["error"], "RecordInvalid");
    assert_eq!(a.body["description"], "Record validation errors");
    let details = &a.body["details"][field];
    assert!(
        details[0]["description"].is_string() && details[0]["error"].is_string(),
        "{field} in {}",
        a.text
    );
    details[0].clone()
}

#[tokio::test]
async fn validation_answers_record_invalid_per_field() {
    let sim = spawn(opts()).await;
    let post = |b: Value, f: &'static str| {
        let sim = &sim;
        async move { invalid(sim, Method::POST, "/api/v2/tickets.json", b, f).await }
    };
    post(
        json!({"ticket": {"comment": {"body": "x"}, "status": "escalated"}}),
        "status",
    )
    .await;
    post(
        json!({"ticket": {"comment": {"body": "x"}, "priority": "panic"}}),
        "priority",
    )
    .await;
    post(
        json!({"ticket": {"comment": {"body": "x"}, "requester_id": null}}),
        "requester",
    )
    .await;
    post(json!({"ticket": {"comment": {"body": "x"}, "requester": {"name": "A", "email": "not-an-email"}}}), "requester").await;
    post(json!({"ticket": {"comment": {"body": "x"}, "custom_fields": [{"id": 424242, "value": "v"}]}}), "custom_fields").await;
    let e = post(
        json!({"ticket": {"subject": "s", "comment": {"body": "   "}}}),
        "comment",
    )
    .await;
    assert_eq!(e["error"], "BlankValue");
    let e = invalid(
        &sim,
        Method::POST,
        "/api/v2/users.json",
        json!({"user": {"name": "Bad", "email": "bad@"}}),
        "email",
    )
    .await;
    assert_eq!(e["error"], "InvalidFormat");
}

#[tokio::test]
async fn closed_tickets_cannot_be_updated() {
    let sim = spawn(opts()).await;
    let id = sim
        .ticket(json!({"ticket": {"comment": {"body": "x"}, "status": "closed"}}))
        .await;
    let e = invalid(
        &sim,
        Method::PUT,
        &format!("/api/v2/tickets/{id}.json"),
        json!({"ticket": {"status": "open"}}),
        "status",
    )
    .await;
    assert_eq!(e["description"], "Status: closed prevents ticket update");
}

#[tokio::test]
async fn offset_pages_count_and_stop_past_ten_thousand() {
    let sim = spawn(opts()).await;
    let first = sim.get("/api/v2/tickets.json?per_page=7").await;
    assert_eq!(first.body["count"], 20);
    assert_eq!(first.body["tickets"].as_array().unwrap().len(), 7);
    assert_eq!(first.body["previous_page"], Value::Null);
    let next = first.body["next_page"].as_str().unwrap().to_owned();
    assert!(
        next.contains("page=2") && next.contains("per_page=7"),
        "{next}"
    );
    let third = sim
        .get(sim.get(&next).await.body["next_page"].as_str().unwrap())
        .await;
    assert_eq!(third.body["tickets"].as_array().unwrap().len(), 6);
    assert_eq!(third.body["next_page"], Value::Null);
    let deep = sim.get("/api/v2/tickets.json?page=101&per_page=100").await;
    assert_eq!(deep.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn cursor_pages_follow_links_until_has_more_is_false() {
    let sim = spawn(opts()).await;
    let mut url = "/api/v2/tickets.json?page[size]=6".to_owned();
    let mut seen = Vec::new();
    loop {
        let a = sim.get(&url).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        seen.extend(
            a.body["tickets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].as_u64().unwrap()),
        );
        assert!(a.body["meta"]["after_cursor"].is_string());
        if a.body["meta"]["has_more"] == false {
            break;
        }
        url = a.body["links"]["next"].as_str().unwrap().to_owned();
    }
    let expected: Vec<u64> = (1..=20).collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn sideloads_add_users_groups_organizations() {
    let sim = spawn(opts()).await;
    let a = sim
        .get("/api/v2/tickets.json?include=users,groups,organizations&per_page=5")
        .await;
    let tickets = a.body["tickets"].as_array().unwrap();
    let users = a.body["users"].as_array().unwrap();
    for t in tickets {
        assert!(users.iter().any(|u| u["id"] == t["requester_id"]));
        if let Some(group) = t["group_id"].as_u64() {
            assert!(
                a.body["groups"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|g| g["id"] == group)
            );
        }
    }
    assert!(a.body["organizations"].is_array());
}

#[tokio::test]
async fn bulk_requests_answer_with_a_job_that_completes() {
    let sim = spawn(opts()).await;
    let tickets: Vec<Value> = (0..3)
        .map(|i| json!({"subject": format!("bulk {i}"), "comment": {"body": "b"}}))
        .collect();
    let a = sim
        .post(
            "/api/v2/tickets/create_many.json",
            json!({"tickets": tickets}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["job_status"]["status"], "queued");
    let job = sim.get(a.body["job_status"]["url"].as_str().unwrap()).await;
    assert_eq!(job.body["job_status"]["status"], "completed");
    let ids: Vec<u64> = job.body["job_status"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids.len(), 3);
    let list = ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
    let many = sim
        .get(&format!("/api/v2/tickets/show_many.json?ids={list}"))
        .await;
    assert_eq!(many.body["count"], 3);
    let upd = sim
        .put(
            &format!("/api/v2/tickets/update_many.json?ids={list}"),
            json!({"ticket": {"status": "pending"}}),
        )
        .await;
    let job = sim
        .get(upd.body["job_status"]["url"].as_str().unwrap())
        .await;
    assert!(
        job.body["job_status"]["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "Updated")
    );
    assert_eq!(
        sim.get(&format!("/api/v2/tickets/{}.json", ids[0]))
            .await
            .body["ticket"]["status"],
        "pending"
    );
    let del = sim
        .delete(&format!("/api/v2/tickets/destroy_many.json?ids={list}"))
        .await;
    assert_eq!(del.body["job_status"]["total"], 3);
    assert_eq!(
        sim.get(&format!("/api/v2/tickets/{}.json", ids[1]))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let too_many: Vec<Value> = (0..101)
        .map(|_| json!({"comment": {"body": "b"}}))
        .collect();
    let refused = sim
        .post(
            "/api/v2/tickets/create_many.json",
            json!({"tickets": too_many}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.body["error"], "TooManyValues");
}

#[tokio::test]
async fn deleted_tickets_can_be_listed_restored_and_purged() {
    let sim = spawn(opts()).await;
    let id = sim
        .ticket(json!({"ticket": {"comment": {"body": "bye"}}}))
        .await;
    assert_eq!(
        sim.delete(&format!("/api/v2/tickets/{id}.json"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        sim.get(&format!("/api/v2/tickets/{id}.json")).await.status,
        StatusCode::NOT_FOUND
    );
    let deleted = sim.get("/api/v2/deleted_tickets.json").await;
    assert!(
        deleted.body["deleted_tickets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == id)
    );
    assert_eq!(
        sim.put(
            &format!("/api/v2/deleted_tickets/{id}/restore.json"),
            json!(null)
        )
        .await
        .status,
        StatusCode::OK
    );
    assert_eq!(
        sim.get(&format!("/api/v2/tickets/{id}.json")).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn import_keeps_history_and_emails_nobody() {
    let sim = spawn(opts()).await;
    let customer = sim
        .post(
            "/api/v2/users.json",
            json!({"user": {"name": "Анна Иванова", "email": "anna@пример.рф"}}),
        )
        .await;
    let customer = customer.body["user"]["id"].as_u64().unwrap();
    let body = json!({"ticket": {
    "subject": "Old ticket", "requester_id": customer, "status": "solved",
    "created_at": "2019-03-01T10:00:00Z", "updated_at": "2019-03-05T10:00:00Z", "solved_at": "2019-03-04T10:00:00Z",
    "comments": [
        {"author_id": customer, "value": "It broke", "created_at": "2019-03-01T10:00:00Z"},
        {"author_id": customer, "html_body": "<p>Still <b>broken</b></p>", "public": false, "created_at": "2019-03-02T10:00:00Z"},
    ]}});
    let a = sim.post("/api/v2/imports/tickets.json", body).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let t = &a.body["ticket"];
    assert_eq!(
        (t["created_at"].as_str(), t["updated_at"].as_str()),
        (Some("2019-03-01T10:00:00Z"), Some("2019-03-05T10:00:00Z"))
    );
    assert_eq!(t["status"], "solved");
    let comments = sim
        .get(&format!("/api/v2/tickets/{}/comments.json", t["id"]))
        .await;
    let c = comments.body["comments"].as_array().unwrap();
    assert_eq!(c[1]["created_at"], "2019-03-02T10:00:00Z");
    assert_eq!(c[1]["author_id"], customer);
    assert_eq!(c[1]["body"], "Still broken");
    assert_eq!(c[1]["public"], false);
    let many = sim
        .post(
            "/api/v2/imports/tickets/create_many.json",
            json!({"tickets": [{"requester_id": customer, "comments": [{"value": "x"}]}]}),
        )
        .await;
    assert_eq!(many.body["job_status"]["status"], "queued");
    let n = sim.control(Method::GET, "/_sim/notifications", None).await;
    assert_eq!(n.body["count"], 0, "imports send no e-mail: {}", n.text);
    let missing = sim
        .post(
            "/api/v2/imports/tickets.json",
            json!({"ticket": {"comments": [{"value": "x"}]}}),
        )
        .await;
    assert_eq!(
        missing.body["details"]["requester"][0]["error"], "BlankValue",
        "import needs a requester"
    );
}

#[tokio::test]
async fn api_changes_email_the_customer() {
    let sim = spawn(opts()).await;
    let id = sim.ticket(json!({"ticket": {"requester": {"name": "Zoë", "email": "zoe@example.com"}, "comment": {"body": "My order"}}})).await;
    sim.put(
        &format!("/api/v2/tickets/{id}.json"),
        json!({"ticket": {"comment": {"body": "We are on it"}}}),
    )
    .await;
    sim.put(
        &format!("/api/v2/tickets/{id}.json"),
        json!({"ticket": {"comment": {"body": "note", "public": false}}}),
    )
    .await;
    sim.put(
        &format!("/api/v2/tickets/{id}.json"),
        json!({"ticket": {"status": "solved"}}),
    )
    .await;
    let n = sim
        .control(
            Method::GET,
            &format!("/_sim/notifications?ticket_id={id}"),
            None,
        )
        .await;
    let kinds: Vec<&str> = n.body["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "ticket_created_for_requester",
            "comment_added",
            "ticket_solved"
        ]
    );
    assert!(
        n.body["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["to"] == "zoe@example.com")
    );
}

/// The requester e-mails of `id`, by rule (trigger title).
async fn emails_of(sim: &Sim, id: u64) -> Vec<String> {
    let n = sim
        .control(
            Method::GET,
            &format!("/_sim/notifications?ticket_id={id}"),
            None,
        )
        .await;
    n.body["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["rule"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_accounts_triggers_decide_who_is_emailed() {
    let sim = spawn(opts()).await;
    let me = sim.get("/api/v2/users/me.json").await.body["user"]["id"]
        .as_u64()
        .unwrap();
    let agent = sim
        .post(
            "/api/v2/users.json",
            json!({"user": {"name": "Ann Agent", "email": "ann@example.com", "role": "agent"}}),
        )
        .await;
    assert_eq!(agent.status, StatusCode::CREATED, "{}", agent.text);
    let as_ann = crate::harness::basic("ann@example.com", &opts().token);
    let id = sim.ticket(json!({"ticket": {"requester": {"name": "Zoë", "email": "zoe@example.com"}, "comment": {"body": "My order"}}})).await;
    let a = sim
        .put(
            &format!("/api/v2/tickets/{id}.json"),
            json!({"ticket": {"comment": {"body": "private", "public": false}}}),
        )
        .await;
    assert!(
        a.body["audit"]["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["type"] != "Notification"),
        "a private note e-mails nobody: {}",
        a.text
    );
    assert_eq!(
        emails_of(&sim, id).await,
        ["Notify requester of new proactive ticket"]
    );
    // `current_user is_not <me>` on the comment trigger, as `cutover sync setup` adds it.
    let triggers = sim.get("/api/v2/triggers.json").await;
    let comment = triggers.body["triggers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["title"] == "Notify requester and CCs of comment update")
        .unwrap()
        .clone();
    let mut all = comment["conditions"]["all"].as_array().unwrap().clone();
    all.push(json!({"field": "current_user", "operator": "is_not", "value": me.to_string()}));
    let put = sim
        .put(
            &format!("/api/v2/triggers/{}.json", comment["id"]),
            json!({"trigger": {"conditions": {"all": all, "any": []}}}),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text);
    sim.put(
        &format!("/api/v2/tickets/{id}.json"),
        json!({"ticket": {"comment": {"body": "By the token owner"}}}),
    )
    .await;
    let by_ann = sim
        .client
        .put(sim.url(&format!("/api/v2/tickets/{id}.json")))
        .header("Authorization", &as_ann)
        .json(&json!({"ticket": {"comment": {"body": "By Ann"}, "status": "solved"}}))
        .send()
        .await
        .unwrap();
    assert!(by_ann.status().is_success());
    assert_eq!(
        emails_of(&sim, id).await,
        [
            "Notify requester of new proactive ticket",
            "Notify requester and CCs of comment update",
            "Notify requester of solved request",
        ],
        "the owner's public comment is quiet, Ann's is not; the solve e-mails"
    );
    let n = sim
        .control(
            Method::GET,
            &format!("/_sim/notifications?ticket_id={id}"),
            None,
        )
        .await;
    assert_eq!(n.body["notifications"][1]["body"], "By Ann");
    assert_eq!(n.body["notifications"][1]["to"], "zoe@example.com");
}

#[tokio::test]
async fn safe_update_refuses_a_stale_stamp() {
    let sim = spawn(opts()).await;
    let id = sim
        .ticket(json!({"ticket": {"comment": {"body": "x"}}}))
        .await;
    let a = sim.put(&format!("/api/v2/tickets/{id}.json"), json!({"ticket": {"subject": "new", "safe_update": true, "updated_stamp": "2001-01-01T00:00:00Z"}})).await;
    assert_eq!(a.status, StatusCode::CONFLICT);
    assert_eq!(a.body["error"], "UpdateConflict");
}

#[tokio::test]
async fn a_create_with_via_id_records_its_channel() {
    let sim = spawn(opts()).await;
    for (via_id, channel) in [
        (4, "email"),
        (0, "web"),
        (29, "chat"),
        (34, "voice"),
        (5, "api"),
    ] {
        let a = sim
            .post(
                "/api/v2/tickets.json",
                json!({"ticket": {"subject": "Hello", "comment": {"body": "Hi"}, "via_id": via_id}}),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
        assert_eq!(
            a.body["ticket"]["via"]["channel"], channel,
            "via_id {via_id}"
        );
    }
}

#[tokio::test]
async fn merge_closes_the_sources_with_their_comments_and_answers_a_job() {
    let sim = spawn(opts()).await;
    let mk = |s: &str| json!({"ticket": {"subject": s, "comment": {"body": "hi"}, "tags": ["x"]}});
    let mut ids = Vec::new();
    for s in ["target", "one", "two", "closed"] {
        let t = sim.post("/api/v2/tickets.json", mk(s)).await;
        ids.push(t.body["ticket"]["id"].as_u64().unwrap());
    }
    let (target, one, two, closed) = (ids[0], ids[1], ids[2], ids[3]);
    let url = format!("/api/v2/tickets/{target}/merge.json");
    let job = sim
        .post(
            &url,
            json!({"ids": [one, two], "source_comment": "Merged away", "target_comment_is_public": true}),
        )
        .await;
    assert_eq!(job.status, StatusCode::OK, "{}", job.text);
    assert_eq!(job.body["job_status"]["status"], "queued");
    let done = sim
        .get(job.body["job_status"]["url"].as_str().unwrap())
        .await;
    assert_eq!(done.body["job_status"]["status"], "completed");
    assert_eq!(done.body["job_status"]["results"][1]["id"], two);
    for id in [one, two] {
        let t = sim.get(&format!("/api/v2/tickets/{id}.json")).await;
        assert_eq!(t.body["ticket"]["status"], "closed");
        assert_eq!(t.body["ticket"]["tags"], json!(["closed_by_merge", "x"]));
        let c = sim
            .get(&format!("/api/v2/tickets/{id}/comments.json"))
            .await;
        let last = c.body["comments"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        assert_eq!(last["body"], "Merged away");
        assert_eq!(last["public"], false);
        assert_eq!(last["via"]["source"]["rel"], "merge");
        assert_eq!(last["via"]["source"]["to"]["ticket_id"], target);
    }
    let t = sim.get(&format!("/api/v2/tickets/{target}.json")).await;
    assert_ne!(t.body["ticket"]["status"], "closed");
    let c = sim
        .get(&format!("/api/v2/tickets/{target}/comments.json"))
        .await;
    let last = c.body["comments"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        last["body"],
        format!("Requests #{one}, #{two} were closed and merged into this request.")
    );
    assert_eq!(last["public"], true);
    assert_eq!(
        last["via"]["source"]["from"]["ticket_ids"],
        json!([one, two])
    );
    // A closed ticket, the target itself and a missing ticket are refused; nothing changes.
    let again = sim.post(&url, json!({"ids": [one]})).await;
    assert_eq!(
        again.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        again.text
    );
    let to_self = sim.post(&url, json!({"ids": [target]})).await;
    assert_eq!(to_self.status, StatusCode::UNPROCESSABLE_ENTITY);
    let missing = sim.post(&url, json!({"ids": [closed, 9_999_999]})).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let t = sim.get(&format!("/api/v2/tickets/{closed}.json")).await;
    assert_ne!(t.body["ticket"]["status"], "closed");
}
