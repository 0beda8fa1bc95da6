//! The emulators answer late, as the platforms do: search and autocomplete see a write only
//! after the platform's lag (reads by id and filtered lists at once), a write can be stored and
//! its answer lost, autocomplete answers a capped list, a comment's time never changes, and
//! Zendesk's `Idempotency-Key` on a ticket create behaves as documented.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::freshdesk_harness::{fd_opts, fd_spawn};
use crate::harness::{Answer, opts, spawn};

fn late(seconds: Option<u64>) -> Value {
    match seconds {
        Some(s) => json!({"late": true, "search_lag_seconds": s}),
        None => json!({"late": true}),
    }
}

fn ids(answer: &Answer, key: &str) -> Vec<u64> {
    let list = answer.body.get(key).unwrap_or(&answer.body);
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["id"].as_u64())
        .collect()
}

#[tokio::test]
async fn zendesk_search_sees_a_write_only_after_the_documented_lag() {
    let sim = spawn(opts()).await;
    let set = sim
        .control(Method::PUT, "/_sim/faults", Some(late(None)))
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    let id = sim
        .ticket(
            json!({"ticket": {"subject": "Printer offline", "external_id": "crm-77",
            "comment": {"body": "It is offline."},
            "requester": {"name": "Ana Late", "email": "ana.late@example.com"}}}),
        )
        .await;
    let search = "/api/v2/search.json?query=type:ticket%20external_id:crm-77";
    assert!(
        ids(&sim.get(search).await, "results").is_empty(),
        "indexed at once"
    );
    let users = "/api/v2/users/search.json?query=ana.late@example.com";
    assert!(ids(&sim.get(users).await, "users").is_empty());
    // Reads and filtered lists are not searches.
    let listed = sim.get("/api/v2/tickets.json?external_id=crm-77").await;
    assert_eq!(ids(&listed, "tickets"), [id]);
    assert_eq!(
        sim.get(&format!("/api/v2/tickets/{id}.json")).await.status,
        StatusCode::OK
    );
    sim.advance(cutover_sim::zendesk::SEARCH_LAG_SECONDS as i64 - 5)
        .await;
    assert!(ids(&sim.get(search).await, "results").is_empty());
    // A change is found by the old values until the index sees it.
    let renamed = sim
        .put(
            &format!("/api/v2/tickets/{id}.json"),
            json!({"ticket": {"external_id": "crm-78"}}),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.text);
    sim.advance(10).await;
    assert_eq!(
        ids(&sim.get(search).await, "results"),
        [id],
        "the old value"
    );
    assert_eq!(ids(&sim.get(users).await, "users").len(), 1);
    sim.advance(cutover_sim::zendesk::SEARCH_LAG_SECONDS as i64)
        .await;
    assert!(ids(&sim.get(search).await, "results").is_empty());
    let renamed = "/api/v2/search.json?query=type:ticket%20external_id:crm-78";
    assert_eq!(ids(&sim.get(renamed).await, "results"), [id]);
    // Switched off, search sees everything at once.
    sim.control(Method::DELETE, "/_sim/faults", None).await;
    let id = sim
        .ticket(json!({"ticket": {"subject": "Now", "external_id": "crm-79",
            "comment": {"body": "Now."}}}))
        .await;
    let now = "/api/v2/search.json?query=type:ticket%20external_id:crm-79";
    assert_eq!(ids(&sim.get(now).await, "results"), [id]);
}

#[tokio::test]
async fn freshdesk_search_and_autocomplete_see_a_write_late_and_lists_at_once() {
    let fd = fd_spawn(fd_opts()).await;
    fd.control(Method::PUT, "/_sim/faults", Some(late(Some(60))))
        .await;
    let mut company_ids = Vec::new();
    for n in 0..30 {
        let made = fd
            .post(
                "/api/v2/companies",
                json!({"name": format!("Latecomer {n:02}")}),
            )
            .await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
        company_ids.push(made.body["id"].as_u64().unwrap());
    }
    let ticket = fd
        .ticket(
            json!({"email": "late@example.com", "subject": "Late", "description": "x",
            "status": 2, "priority": 1, "custom_fields": {"cf_order_number": "ORD-LATE"}}),
        )
        .await;
    let ticket = ticket["id"].as_u64().unwrap();
    let search = "/api/v2/search/tickets?query=%22order_number:'ORD-LATE'%22";
    let complete = "/api/v2/companies/autocomplete?name=latecomer";
    assert!(ids(&fd.get(search).await, "results").is_empty());
    assert!(ids(&fd.get(complete).await, "companies").is_empty());
    let all = fd.get("/api/v2/companies?per_page=100").await;
    assert!(company_ids.iter().all(|id| ids(&all, "").contains(id)));
    let by_requester = fd
        .get(&format!(
            "/api/v2/tickets?requester_id={}",
            fd.get(&format!("/api/v2/tickets/{ticket}")).await.body["requester_id"]
        ))
        .await;
    assert_eq!(ids(&by_requester, ""), [ticket]);
    fd.advance(61).await;
    assert_eq!(ids(&fd.get(search).await, "results"), [ticket]);
    let completed = ids(&fd.get(complete).await, "companies");
    assert_eq!(completed, company_ids[..25], "the first 25 by name");
    // A company removed is still suggested until the index sees it go.
    let gone = fd
        .delete(&format!("/api/v2/companies/{}", company_ids[0]))
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    assert_eq!(ids(&fd.get(complete).await, "companies")[0], company_ids[0]);
    fd.advance(61).await;
    assert_eq!(ids(&fd.get(complete).await, "companies")[0], company_ids[1]);
}

#[tokio::test]
async fn a_write_is_stored_and_its_answer_lost() {
    let sim = spawn(opts()).await;
    let before = sim.app().ticket_ids().len();
    sim.control(
        Method::PUT,
        "/_sim/faults",
        Some(json!({"lost_answer_rate": 1.0, "lost_answer_as": "bad_gateway"})),
    )
    .await;
    let lost = sim
        .post(
            "/api/v2/tickets.json",
            json!({"ticket": {"subject": "Lost", "comment": {"body": "x"}}}),
        )
        .await;
    assert_eq!(lost.status, StatusCode::BAD_GATEWAY);
    assert_eq!(
        sim.app().ticket_ids().len(),
        before + 1,
        "stored all the same"
    );
    assert_eq!(sim.get("/api/v2/tickets.json").await.status, StatusCode::OK);
    sim.control(
        Method::PUT,
        "/_sim/faults",
        Some(json!({"lost_answer_rate": 1.0, "lost_answer_as": "drop"})),
    )
    .await;
    let dropped = sim
        .client
        .post(sim.url("/api/v2/tickets.json"))
        .header("Authorization", &sim.auth)
        .json(&json!({"ticket": {"subject": "Dropped", "comment": {"body": "x"}}}))
        .send()
        .await;
    let whole = match dropped {
        Ok(answer) => answer.bytes().await.is_ok(),
        Err(_) => false,
    };
    assert!(!whole, "the answer never arrives whole");
    assert_eq!(sim.app().ticket_ids().len(), before + 2);

    let fd = fd_spawn(fd_opts()).await;
    fd.control(
        Method::PUT,
        "/_sim/faults",
        Some(json!({"lost_answer_rate": 1.0, "lost_answer_as": "bad_gateway"})),
    )
    .await;
    let lost = fd
        .post("/api/v2/companies", json!({"name": "Lost Answer Ltd"}))
        .await;
    assert_eq!(lost.status, StatusCode::BAD_GATEWAY);
    let again = fd
        .post("/api/v2/companies", json!({"name": "Lost Answer Ltd"}))
        .await;
    assert_eq!(again.status, StatusCode::BAD_GATEWAY);
    fd.control(Method::DELETE, "/_sim/faults", None).await;
    let again = fd
        .post("/api/v2/companies", json!({"name": "Lost Answer Ltd"}))
        .await;
    assert_eq!(
        again.status,
        StatusCode::CONFLICT,
        "the first write was stored"
    );
}

#[tokio::test]
async fn updating_a_ticket_never_moves_its_comments_times() {
    let sim = spawn(opts()).await;
    let mut open = None;
    for id in sim.app().ticket_ids() {
        let ticket = sim.get(&format!("/api/v2/tickets/{id}.json")).await.body;
        let path = format!("/api/v2/tickets/{id}/comments.json");
        let comments = sim.get(&path).await.body["comments"].clone();
        if ticket["ticket"]["status"] != "closed" && comments.as_array().unwrap().len() > 2 {
            open = Some((id, path, comments));
            break;
        }
    }
    let (id, path, before) = open.expect("an open ticket with a few comments");
    sim.advance(3 * 86_400).await;
    let updated = sim
        .put(
            &format!("/api/v2/tickets/{id}.json"),
            json!({"ticket": {"priority": "urgent", "tags": ["moved"], "assignee_id": null}}),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);
    let after = sim.get(&path).await.body["comments"].clone();
    let times = |comments: &Value| -> Vec<(Value, Value, Value)> {
        comments
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["id"].clone(),
                    c["created_at"].clone(),
                    c["author_id"].clone(),
                )
            })
            .collect()
    };
    assert_eq!(times(&after), times(&before));
}

#[tokio::test]
async fn an_idempotency_key_answers_a_repeat_with_the_first_ticket() {
    let sim = spawn(opts()).await;
    let body = json!({"ticket": {"subject": "Once", "comment": {"body": "once"}}});
    let send = |body: Value, key: &'static str| {
        let request = sim
            .client
            .post(sim.url("/api/v2/tickets.json"))
            .header("Authorization", &sim.auth)
            .header("Idempotency-Key", key)
            .json(&body);
        async move { crate::harness::answer(request.send().await.unwrap()).await }
    };
    let first = send(body.clone(), "k-1").await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(first.headers["x-idempotency-lookup"], "miss");
    let repeat = send(body.clone(), "k-1").await;
    assert_eq!(repeat.headers["x-idempotency-lookup"], "hit");
    assert_eq!(repeat.body["ticket"]["id"], first.body["ticket"]["id"]);
    let other = send(
        json!({"ticket": {"subject": "Twice", "comment": {"body": "x"}}}),
        "k-1",
    )
    .await;
    assert_eq!(other.status, StatusCode::BAD_REQUEST);
    assert_eq!(other.body["error"], "IdempotentRequestError");
    // Forgotten after its lifetime: the same request creates again.
    sim.advance(2 * 3600 + 1).await;
    let later = send(body, "k-1").await;
    assert_eq!(later.headers["x-idempotency-lookup"], "miss");
    assert_ne!(later.body["ticket"]["id"], first.body["ticket"]["id"]);
}
