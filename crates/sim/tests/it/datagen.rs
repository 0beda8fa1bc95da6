//! The data generator seen through the API: what `--tickets N` seeds is realistic (every status
//! over two years, 1–50 comments with every thousandth ticket past 1,000, public and private,
//! HTML with inline images whose bytes are served, attachments with real bytes, non-Latin names
//! and e-mails, agents in groups with roles, tags, custom fields, ratings) and the same seed
//! gives the same answers.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::harness::{Sim, opts, spawn};

/// Enough tickets for the generator's rare cases: ticket 1,000 is the first long one.
const TICKETS: usize = 1000;

async fn seeded(seed: u64) -> Sim {
    let mut o = opts();
    o.tickets = TICKETS;
    o.seed = seed;
    spawn(o).await
}

/// Every record of an offset-paged collection.
async fn all(sim: &Sim, collection: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut next = Some(format!("/api/v2/{collection}.json?per_page=100"));
    while let Some(url) = next {
        let a = sim.get(&url).await;
        assert!(a.status.is_success(), "{url}: {}", a.text);
        out.extend(a.body[collection].as_array().unwrap().iter().cloned());
        next = a.body["next_page"].as_str().map(str::to_owned);
    }
    out
}

fn time(v: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .timestamp()
}

async fn comment_count(sim: &Sim, id: u64) -> u64 {
    let a = sim
        .get(&format!("/api/v2/tickets/{id}/comments.json?per_page=1"))
        .await;
    a.body["count"].as_u64().unwrap()
}

#[tokio::test]
async fn seeded_tickets_cover_what_migrations_meet() {
    let sim = seeded(7).await;
    let tickets = all(&sim, "tickets").await;
    assert_eq!(tickets.len(), TICKETS);
    let statuses: BTreeSet<&str> = tickets
        .iter()
        .map(|t| t["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        BTreeSet::from(["closed", "hold", "new", "open", "pending", "solved"]),
        "every status"
    );
    let now = time(&Value::from(crate::harness::START));
    let created: Vec<i64> = tickets.iter().map(|t| time(&t["created_at"])).collect();
    let (first, last) = (created.iter().min().unwrap(), created.iter().max().unwrap());
    assert!(now - first <= 731 * 86_400, "no older than two years");
    assert!(last - first > 600 * 86_400, "spread over two years");
    assert!(
        tickets
            .iter()
            .any(|t| !t["tags"].as_array().unwrap().is_empty())
    );
    assert!(tickets.iter().all(|t| {
        t["custom_fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| !f["value"].is_null())
    }));

    let mut long = Vec::new();
    for t in &tickets {
        let id = t["id"].as_u64().unwrap();
        let n = comment_count(&sim, id).await;
        if n > 50 {
            long.push((id, n));
        } else {
            assert!(n >= 1, "ticket {id} has a comment");
        }
    }
    assert_eq!(long.len(), 1, "one long ticket per thousand: {long:?}");
    assert!(long[0].1 >= 1000, "{long:?}");
    let page = sim
        .get(&format!(
            "/api/v2/tickets/{}/comments.json?page=10&per_page=100",
            long[0].0
        ))
        .await;
    assert_eq!(page.body["comments"].as_array().unwrap().len(), 100);
}

#[tokio::test]
async fn seeded_comments_have_private_notes_inline_images_and_real_files() {
    let sim = seeded(7).await;
    let (mut private, mut inline_served, mut files_served) = (0, 0, 0);
    for id in 1..=200u64 {
        let c = sim
            .get(&format!(
                "/api/v2/tickets/{id}/comments.json?include_inline_images=true"
            ))
            .await;
        for comment in c.body["comments"].as_array().unwrap() {
            private += usize::from(comment["public"] == false);
            assert!(comment["author_id"].as_u64().is_some());
            let html = comment["html_body"].as_str().unwrap();
            if let Some(src) = html
                .split("<img src=\"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                && inline_served < 3
            {
                let bytes = sim.client.get(src).send().await.unwrap();
                assert!(bytes.status().is_success(), "inline image {src}");
                assert_eq!(&bytes.bytes().await.unwrap()[..4], b"\x89PNG");
                inline_served += 1;
            }
            for a in comment["attachments"].as_array().unwrap() {
                if files_served >= 5 {
                    break;
                }
                let url = a["content_url"].as_str().unwrap();
                let bytes = sim.client.get(url).send().await.unwrap();
                let bytes = bytes.bytes().await.unwrap();
                assert_eq!(bytes.len() as u64, a["size"].as_u64().unwrap(), "{url}");
                assert!(!bytes.is_empty());
                files_served += 1;
            }
        }
    }
    assert!(private > 0, "private notes");
    assert!(inline_served > 0, "inline images with served bytes");
    assert!(files_served > 0, "attachments with served bytes");
}

#[tokio::test]
async fn seeded_people_organizations_groups_and_ratings() {
    let sim = seeded(7).await;
    let users = all(&sim, "users").await;
    let name = |u: &&Value| u["name"].as_str().unwrap().to_owned();
    assert!(
        users.iter().map(|u| name(&u)).any(|n| !n.is_ascii()),
        "non-Latin names"
    );
    assert!(
        users
            .iter()
            .filter_map(|u| u["email"].as_str())
            .any(|e| !e.is_ascii()),
        "non-Latin e-mail addresses"
    );
    let agents: Vec<&Value> = users
        .iter()
        .filter(|u| u["role"] == "agent" || u["role"] == "admin")
        .collect();
    assert!(agents.len() >= 5);
    assert!(
        agents
            .iter()
            .filter(|u| u["role"] == "agent")
            .all(|u| u["custom_role_id"].as_u64().is_some()),
        "agents have roles"
    );
    let memberships = all(&sim, "group_memberships").await;
    let in_groups: BTreeSet<u64> = memberships
        .iter()
        .map(|m| m["user_id"].as_u64().unwrap())
        .collect();
    assert!(
        agents
            .iter()
            .filter(|u| u["role"] == "agent")
            .all(|u| in_groups.contains(&u["id"].as_u64().unwrap())),
        "every agent is in a group"
    );
    assert!(all(&sim, "organizations").await.len() >= 3);
    let ratings = all(&sim, "satisfaction_ratings").await;
    let scores: BTreeSet<&str> = ratings
        .iter()
        .map(|r| r["score"].as_str().unwrap())
        .collect();
    assert!(
        scores.contains("good") && scores.contains("bad"),
        "{scores:?}"
    );
}

#[tokio::test]
async fn the_same_seed_answers_the_same_data() {
    let (a, b, c) = (seeded(7).await, seeded(7).await, seeded(8).await);
    let strip = |sim: &Sim, v: Vec<Value>| Value::from(v).to_string().replace(sim.handle.url(), "");
    for collection in ["tickets", "users", "organizations", "satisfaction_ratings"] {
        let (ra, rb) = (all(&a, collection).await, all(&b, collection).await);
        assert_eq!(strip(&a, ra), strip(&b, rb), "{collection}");
    }
    assert_eq!(long_page(&a).await, long_page(&b).await);
    let (ta, tc) = (all(&a, "tickets").await, all(&c, "tickets").await);
    assert_ne!(strip(&a, ta), strip(&c, tc), "another seed, other data");
}

/// A page deep into the long ticket's comments, without the emulator's own URL.
async fn long_page(sim: &Sim) -> String {
    let page = sim
        .get("/api/v2/tickets/1000/comments.json?page=3&per_page=100")
        .await;
    assert_eq!(page.body["comments"].as_array().unwrap().len(), 100);
    page.body.to_string().replace(sim.handle.url(), "")
}
