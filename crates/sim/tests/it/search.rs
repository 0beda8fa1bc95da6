use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{opts, spawn};

#[tokio::test]
async fn ticket_search_filters_and_pages() {
    let mut o = opts();
    o.tickets = 200;
    let sim = spawn(o).await;
    let open = sim
        .get("/api/v2/search.json?query=type:ticket%20status:open")
        .await;
    assert_eq!(open.status, StatusCode::OK);
    let results = open.body["results"].as_array().unwrap();
    assert!(!results.is_empty());
    assert!(
        results
            .iter()
            .all(|r| r["status"] == "open" && r["result_type"] == "ticket")
    );
    let unsolved = sim
        .get("/api/v2/search.json?query=type:ticket%20status%3Csolved&per_page=10")
        .await;
    assert!(
        unsolved.body["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| ["new", "open", "pending", "hold"].contains(&r["status"].as_str().unwrap()))
    );
    assert!(unsolved.body["next_page"].is_string());
    let first = &results[0];
    let requester = first["requester_id"].as_u64().unwrap();
    let by = sim
        .get(&format!(
            "/api/v2/search.json?query=type:ticket%20requester:{requester}"
        ))
        .await;
    let mine = by.body["results"].as_array().unwrap();
    assert!(mine.iter().any(|r| r["id"] == first["id"]), "{}", by.text);
    assert!(mine.iter().all(|r| r["requester_id"] == requester));
    let created = first["created_at"].as_str().unwrap()[..10].to_owned();
    let before = sim
        .get(&format!(
            "/api/v2/search.json?query=type:ticket%20created%3C{created}"
        ))
        .await;
    assert!(
        before.body["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["created_at"].as_str().unwrap() < created.as_str())
    );
    let all = sim.get("/api/v2/search/count.json?query=type:ticket").await;
    let everything = sim
        .get("/api/v2/search.json?query=type:ticket%20created%3C2030-01-01")
        .await;
    assert_eq!(everything.body["count"], all.body["count"]);
    assert!(
        before.body["count"].as_u64().unwrap() < all.body["count"].as_u64().unwrap(),
        "created< leaves later tickets out"
    );
    let after = sim
        .get("/api/v2/search.json?query=type:ticket%20updated%3E2030-01-01")
        .await;
    assert_eq!(after.body["count"], 0);
    let too_deep = sim
        .get("/api/v2/search.json?query=type:ticket&page=11")
        .await;
    assert_eq!(too_deep.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn export_and_user_lookups() {
    let sim = spawn(opts()).await;
    sim.post(
        "/api/v2/users.json",
        json!({"user": {"name": "Ext", "email": "ext@example.com", "external_id": "crm-77"}}),
    )
    .await;
    let by_email = sim
        .get("/api/v2/users/search.json?query=ext@example.com")
        .await;
    assert_eq!(by_email.body["users"][0]["external_id"], "crm-77");
    let by_ext = sim
        .get("/api/v2/users/search.json?external_id=crm-77")
        .await;
    assert_eq!(by_ext.body["users"].as_array().unwrap().len(), 1);
    let export = sim
        .get("/api/v2/search/export.json?query=type:user&filter[type]=user&page[size]=5")
        .await;
    assert_eq!(export.body["results"].as_array().unwrap().len(), 5);
    assert_eq!(export.body["meta"]["has_more"], true);
    let next = sim
        .get(export.body["links"]["next"].as_str().unwrap())
        .await;
    assert_ne!(
        next.body["results"][0]["id"],
        export.body["results"][0]["id"]
    );
    assert_eq!(
        sim.get("/api/v2/search/export.json?query=x").await.status,
        StatusCode::BAD_REQUEST
    );
}
