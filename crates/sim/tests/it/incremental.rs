use std::collections::BTreeMap;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::{opts, spawn};

#[tokio::test]
async fn cursor_export_pages_to_end_of_stream_and_skips_the_last_minute() {
    let mut o = opts();
    o.tickets = 30;
    let sim = spawn(o).await;
    sim.control(Method::POST, "/_sim/clock", Some(json!({"freeze": true})))
        .await;
    let fresh = sim
        .ticket(json!({"ticket": {"comment": {"body": "just now"}}}))
        .await;
    let mut url = "/api/v2/incremental/tickets/cursor.json?start_time=0&per_page=7".to_owned();
    let mut ids = Vec::new();
    let mut pages = 0;
    loop {
        let a = sim.get(&url).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        assert_eq!(a.body["before_cursor"], serde_json::Value::Null);
        let batch = a.body["tickets"].as_array().unwrap();
        assert!(batch.len() <= 7);
        assert!(batch.iter().all(|t| t["generated_timestamp"].is_number()));
        ids.extend(batch.iter().map(|t| t["id"].as_u64().unwrap()));
        pages += 1;
        url = a.body["after_url"].as_str().unwrap().to_owned();
        assert!(url.contains("cursor=") && url.contains("per_page=7"));
        if a.body["end_of_stream"] == true {
            break;
        }
    }
    assert_eq!(pages, 5);
    assert_eq!(ids.len(), 30);
    assert!(
        !ids.contains(&fresh),
        "changes of the last minute are left out"
    );
    sim.advance(61).await;
    let a = sim.get(&url).await;
    let after: Vec<u64> = a.body["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_u64().unwrap())
        .collect();
    assert_eq!(after, vec![fresh], "a minute later the cursor picks it up");
    let recent = sim
        .get(&format!(
            "/api/v2/incremental/tickets/cursor.json?start_time={}",
            sim.app().now() - 5
        ))
        .await;
    assert_eq!(recent.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn time_based_users_repeat_the_boundary_record() {
    let sim = spawn(opts()).await;
    sim.control(Method::POST, "/_sim/clock", Some(json!({"freeze": true})))
        .await;
    for i in 0..3 {
        sim.post(
            "/api/v2/users.json",
            json!({"user": {"name": format!("same second {i}")}}),
        )
        .await;
    }
    sim.advance(5).await;
    sim.post("/api/v2/users.json", json!({"user": {"name": "later"}}))
        .await;
    sim.advance(120).await;
    let all = sim.get("/api/v2/incremental/users.json?start_time=0").await;
    let total = all.body["count"].as_u64().unwrap() as usize;
    assert_eq!(all.body["end_of_stream"], true);
    let mut seen: BTreeMap<u64, usize> = BTreeMap::new();
    let mut url = "/api/v2/incremental/users.json?start_time=0&per_page=4".to_owned();
    for _ in 0..100 {
        let a = sim.get(&url).await;
        assert!(a.body["end_time"].is_number());
        assert_eq!(
            a.body["count"].as_u64().unwrap() as usize,
            a.body["users"].as_array().unwrap().len()
        );
        for u in a.body["users"].as_array().unwrap() {
            *seen.entry(u["id"].as_u64().unwrap()).or_default() += 1;
        }
        if a.body["end_of_stream"] == true {
            break;
        }
        url = a.body["next_page"].as_str().unwrap().to_owned();
    }
    assert_eq!(seen.len(), total, "every user exported");
    assert!(
        seen.values().any(|n| *n > 1),
        "a record at a page boundary comes twice"
    );
}

#[tokio::test]
async fn time_based_tickets_organizations_and_events() {
    let sim = spawn(opts()).await;
    let t = sim
        .get("/api/v2/incremental/tickets.json?start_time=0")
        .await;
    assert_eq!(t.body["count"], 20);
    assert!(
        t.body["next_page"]
            .as_str()
            .unwrap()
            .contains("start_time=")
    );
    let o = sim
        .get("/api/v2/incremental/organizations.json?start_time=0")
        .await;
    assert!(o.body["organizations"].as_array().unwrap().len() >= 3);
    let e = sim
        .get("/api/v2/incremental/ticket_events.json?start_time=0&include=comment_events")
        .await;
    let events = e.body["ticket_events"].as_array().unwrap();
    assert!(events.len() >= 20);
    assert!(events.iter().any(|e| {
        e["child_events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["event_type"] == "Comment")
    }));
    assert_eq!(
        sim.get("/api/v2/incremental/tickets.json").await.status,
        StatusCode::BAD_REQUEST,
        "start_time is required"
    );
}

#[tokio::test]
async fn the_ticket_export_side_loads_metric_sets_with_solve_times() {
    let mut o = opts();
    o.tickets = 40;
    let sim = spawn(o).await;
    let a = sim
        .get("/api/v2/incremental/tickets/cursor.json?start_time=0&include=metric_sets")
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let tickets = a.body["tickets"].as_array().unwrap();
    let sets = a.body["metric_sets"].as_array().unwrap();
    assert_eq!(sets.len(), tickets.len());
    let mut solved = 0;
    for t in tickets {
        let set = sets.iter().find(|s| s["ticket_id"] == t["id"]).unwrap();
        assert!(set["reply_time_in_minutes"].is_object());
        if matches!(t["status"].as_str(), Some("solved" | "closed")) {
            assert!(
                set["solved_at"].is_string(),
                "ticket {} has no solve time",
                t["id"]
            );
            solved += 1;
        } else {
            assert!(set["solved_at"].is_null(), "{set}");
        }
    }
    assert!(solved > 0, "no solved ticket among {}", tickets.len());
    let without = sim
        .get("/api/v2/incremental/tickets/cursor.json?start_time=0")
        .await;
    assert!(without.body.get("metric_sets").is_none());
}

#[tokio::test]
async fn ticket_events_give_every_comment_with_its_attachments() {
    let mut o = opts();
    o.tickets = 25;
    let sim = spawn(o).await;
    // Every page of the events export, each comment child by ticket.
    let mut from_events: BTreeMap<u64, BTreeMap<u64, serde_json::Value>> = BTreeMap::new();
    let mut start = 0;
    loop {
        let url = format!(
            "/api/v2/incremental/ticket_events.json?start_time={start}&include=comment_events&per_page=40"
        );
        let e = sim.get(&url).await;
        assert_eq!(e.status, StatusCode::OK, "{}", e.text);
        for event in e.body["ticket_events"].as_array().unwrap() {
            let ticket = event["ticket_id"].as_u64().unwrap();
            for child in event["child_events"].as_array().unwrap() {
                if child["event_type"] == "Comment" {
                    let id = child["id"].as_u64().unwrap();
                    from_events
                        .entry(ticket)
                        .or_default()
                        .insert(id, child.clone());
                }
            }
        }
        if e.body["end_of_stream"] == true {
            break;
        }
        start = e.body["end_time"].as_i64().unwrap();
    }
    let tickets = sim
        .get("/api/v2/incremental/tickets/cursor.json?start_time=0")
        .await;
    let mut n_attachments = 0;
    for t in tickets.body["tickets"].as_array().unwrap() {
        if t["status"] == "deleted" {
            continue;
        }
        let id = t["id"].as_u64().unwrap();
        let listed = sim
            .get(&format!(
                "/api/v2/tickets/{id}/comments.json?include_inline_images=true"
            ))
            .await;
        let listed = listed.body["comments"].as_array().unwrap();
        let events = from_events.get(&id).cloned().unwrap_or_default();
        assert_eq!(
            events.len(),
            listed.len(),
            "ticket {id}: every comment once"
        );
        for comment in listed {
            let child = &events[&comment["id"].as_u64().unwrap()];
            for key in [
                "author_id",
                "html_body",
                "public",
                "created_at",
                "attachments",
            ] {
                assert_eq!(child[key], comment[key], "ticket {id}: {key}");
            }
            n_attachments += comment["attachments"].as_array().unwrap().len();
        }
    }
    assert!(n_attachments > 0, "the account has attachments to compare");
}
