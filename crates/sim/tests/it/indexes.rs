//! The Zendesk emulator's lookup indexes (users, organizations and tickets by external id,
//! organizations by name, users by searched text) stay in step with the records: a changed or
//! removed key no longer finds its record, the new one does, and the indexed answers equal a
//! scan of every record.

use reqwest::StatusCode;
use serde_json::{Value, json};

use cutover_sim::zendesk::ZendeskOptions;

use crate::harness::{Sim, opts, spawn};

/// Ids of the records under `key` in an answer, in answer order.
fn ids(body: &Value, key: &str) -> Vec<u64> {
    body[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} array in {body}"))
        .iter()
        .map(|r| r["id"].as_u64().unwrap())
        .collect()
}

async fn found(sim: &Sim, path: &str, key: &str) -> Vec<u64> {
    let answer = sim.get(path).await;
    assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.text);
    ids(&answer.body, key)
}

/// `text` encoded for a query string.
fn enc(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Every record of a cursor-paged list.
async fn all(sim: &Sim, path: &str, key: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut next = Some(format!("{path}?page[size]=100"));
    while let Some(url) = next {
        let page = sim.get(&url).await;
        assert_eq!(page.status, StatusCode::OK, "{url}: {}", page.text);
        out.extend(page.body[key].as_array().unwrap().iter().cloned());
        next = page.body["meta"]["has_more"]
            .as_bool()
            .unwrap()
            .then(|| page.body["links"]["next"].as_str().unwrap().to_owned());
    }
    out
}

#[tokio::test]
async fn a_users_changed_external_id_email_and_name_find_it_and_the_old_ones_do_not() {
    let sim = spawn(opts()).await;
    let made = sim
        .post(
            "/api/v2/users.json",
            json!({"user": {"name": "Quentin Oldname", "email": "quentin.old@idx.example", "external_id": "idx-old"}}),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    let id = made.body["user"]["id"].as_u64().unwrap();
    let search = "/api/v2/users/search.json";
    assert_eq!(
        found(&sim, &format!("{search}?external_id=idx-old"), "users").await,
        [id]
    );

    let changed = sim
        .put(
            &format!("/api/v2/users/{id}.json"),
            json!({"user": {"name": "Quentin Newname", "email": "quentin.new@idx.example", "external_id": "idx-new"}}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);

    let by = |q: &str| format!("{search}?{q}");
    assert!(
        found(&sim, &by("external_id=idx-old"), "users")
            .await
            .is_empty()
    );
    assert_eq!(found(&sim, &by("external_id=idx-new"), "users").await, [id]);
    let many = "/api/v2/users/show_many.json?external_ids=idx-old,idx-new";
    assert_eq!(found(&sim, many, "users").await, [id]);
    let old_mail = by("query=email:%22quentin.old@idx.example%22");
    assert!(found(&sim, &old_mail, "users").await.is_empty());
    let new_mail = by("query=email:%22QUENTIN.NEW@idx.example%22");
    assert_eq!(found(&sim, &new_mail, "users").await, [id]);
    assert!(found(&sim, &by("query=oldname"), "users").await.is_empty());
    assert_eq!(found(&sim, &by("query=newname"), "users").await, [id]);

    // create_or_update matches the new external id, not the old one.
    let upsert = sim
        .post(
            "/api/v2/users/create_or_update.json",
            json!({"user": {"name": "Quentin Again", "external_id": "idx-new"}}),
        )
        .await;
    assert_eq!(
        (upsert.status, upsert.body["user"]["id"].as_u64()),
        (StatusCode::OK, Some(id))
    );
    let fresh = sim
        .post(
            "/api/v2/users/create_or_update.json",
            json!({"user": {"name": "Someone Else", "external_id": "idx-old"}}),
        )
        .await;
    assert_eq!(fresh.status, StatusCode::CREATED, "{}", fresh.text);
    let other = fresh.body["user"]["id"].as_u64().unwrap();
    assert_ne!(other, id);
    assert_eq!(
        found(&sim, &by("external_id=idx-old"), "users").await,
        [other]
    );
}

#[tokio::test]
async fn an_added_identity_is_found_by_search() {
    let sim = spawn(opts()).await;
    let made = sim
        .post(
            "/api/v2/users.json",
            json!({"user": {"name": "Ida Identity", "email": "ida@idx.example"}}),
        )
        .await;
    let id = made.body["user"]["id"].as_u64().unwrap();
    let path = "/api/v2/users/search.json?query=email:%22ida.second@idx.example%22";
    assert!(found(&sim, path, "users").await.is_empty());
    let added = sim
        .post(
            &format!("/api/v2/users/{id}/identities.json"),
            json!({"identity": {"type": "email", "value": "ida.second@idx.example"}}),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text);
    assert_eq!(found(&sim, path, "users").await, [id]);
}

#[tokio::test]
async fn an_organizations_changed_or_removed_keys_no_longer_find_it() {
    let sim = spawn(opts()).await;
    let made = sim
        .post(
            "/api/v2/organizations.json",
            json!({"organization": {"name": "Acme Index", "external_id": "org-old"}}),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    let id = made.body["organization"]["id"].as_u64().unwrap();
    let changed = sim
        .put(
            &format!("/api/v2/organizations/{id}.json"),
            json!({"organization": {"name": "Beta Index", "external_id": "org-new"}}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);

    let search = |q: &str| format!("/api/v2/organizations/search.json?{q}");
    let key = "organizations";
    assert!(
        found(&sim, &search("external_id=org-old"), key)
            .await
            .is_empty()
    );
    assert_eq!(found(&sim, &search("external_id=org-new"), key).await, [id]);
    assert!(
        found(&sim, &search("name=Acme%20Index"), key)
            .await
            .is_empty()
    );
    assert_eq!(found(&sim, &search("name=bETA%20index"), key).await, [id]);
    let many = "/api/v2/organizations/show_many.json?external_ids=org-old,org-new";
    assert_eq!(found(&sim, many, key).await, [id]);

    // The old name is free again; the new one is taken whatever its case.
    let reuse = json!({"organization": {"name": "acme index"}});
    let reused = sim.post("/api/v2/organizations.json", reuse).await;
    assert_eq!(reused.status, StatusCode::CREATED, "{}", reused.text);
    let clash = json!({"organization": {"name": "BETA INDEX"}});
    let clashed = sim.post("/api/v2/organizations.json", clash).await;
    assert_eq!(clashed.status, StatusCode::UNPROCESSABLE_ENTITY);
    let upsert = json!({"organization": {"name": "Other", "external_id": "org-new"}});
    let upserted = sim
        .post("/api/v2/organizations/create_or_update.json", upsert)
        .await;
    assert_eq!(
        (
            upserted.status,
            upserted.body["organization"]["id"].as_u64()
        ),
        (StatusCode::OK, Some(id))
    );

    let gone = sim
        .delete(&format!("/api/v2/organizations/{id}.json"))
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    assert!(
        found(&sim, &search("external_id=org-new"), key)
            .await
            .is_empty()
    );
    assert!(found(&sim, &search("name=Other"), key).await.is_empty());
    let named_again = json!({"organization": {"name": "Other"}});
    let again = sim.post("/api/v2/organizations.json", named_again).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.text);
}

#[tokio::test]
async fn a_tickets_changed_external_id_finds_it_and_deleted_tickets_are_not_listed() {
    let sim = spawn(opts()).await;
    let body = json!({"ticket": {"subject": "Indexed", "comment": {"body": "x"}, "external_id": "tkt-old"}});
    let made = sim.post("/api/v2/tickets.json", body).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    let id = made.body["ticket"]["id"].as_u64().unwrap();
    let by = |e: &str| format!("/api/v2/tickets.json?external_id={e}");
    assert_eq!(found(&sim, &by("tkt-old"), "tickets").await, [id]);
    let changed = sim
        .put(
            &format!("/api/v2/tickets/{id}.json"),
            json!({"ticket": {"external_id": "tkt-new"}}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    assert!(found(&sim, &by("tkt-old"), "tickets").await.is_empty());
    assert_eq!(found(&sim, &by("tkt-new"), "tickets").await, [id]);
    let gone = sim.delete(&format!("/api/v2/tickets/{id}.json")).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    assert!(found(&sim, &by("tkt-new"), "tickets").await.is_empty());
}

/// What `users/search?query=` answers by definition: a scan of every user.
fn user_matches(user: &Value, term: &str) -> bool {
    let lower = |k: &str| user[k].as_str().unwrap_or_default().to_lowercase();
    lower("email").contains(term) || lower("name").contains(term)
}

#[tokio::test]
async fn indexed_searches_answer_what_a_scan_of_the_seeded_account_answers() {
    let sim = spawn(ZendeskOptions {
        tickets: 400,
        ..opts()
    })
    .await;
    let users = all(&sim, "/api/v2/users.json", "users").await;
    assert!(users.len() > 20, "a seeded account has users");
    let mut terms: Vec<String> = ["a", "co", "zzq", "example", ".com", "@"]
        .map(str::to_owned)
        .to_vec();
    for u in users.iter().step_by(7) {
        let email = u["email"].as_str().unwrap_or_default();
        terms.push(email.to_lowercase());
        terms.push(email.split('@').next().unwrap_or_default().to_lowercase());
        let name = u["name"].as_str().unwrap().to_lowercase();
        terms.push(name.split(' ').next().unwrap_or_default().to_owned());
    }
    for term in terms.iter().filter(|t| !t.is_empty()) {
        let expected: Vec<u64> = users
            .iter()
            .filter(|u| user_matches(u, term))
            .map(|u| u["id"].as_u64().unwrap())
            .collect();
        let path = format!(
            "/api/v2/users/search.json?query={}&page[size]=100",
            enc(term)
        );
        let want: Vec<u64> = expected.iter().copied().take(100).collect();
        assert_eq!(
            found(&sim, &path, "users").await,
            want,
            "users matching {term:?}"
        );
    }
    let orgs = all(&sim, "/api/v2/organizations.json", "organizations").await;
    assert!(
        orgs.iter().any(|o| o["external_id"].is_string()),
        "some seeded organizations have external ids"
    );
    for org in &orgs {
        let id = org["id"].as_u64().unwrap();
        let name = org["name"].as_str().unwrap().to_uppercase();
        let path = format!("/api/v2/organizations/search.json?name={}", enc(&name));
        assert_eq!(found(&sim, &path, "organizations").await, [id], "{name}");
        if let Some(external) = org["external_id"].as_str() {
            let path = format!(
                "/api/v2/organizations/search.json?external_id={}",
                enc(external)
            );
            assert_eq!(found(&sim, &path, "organizations").await, [id]);
        }
    }
}
