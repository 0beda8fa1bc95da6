//! Time entries and the knowledge base (solutions) of the Freshdesk emulator, over HTTP:
//! create/read/update/delete, filters, timers, translations, validation errors, seeding and
//! `/_sim/state` counts.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::freshdesk_harness::{Fd, fd_opts, fd_spawn};

async fn advance(fd: &Fd, seconds: i64) {
    let a = fd
        .control(
            Method::POST,
            "/_sim/clock",
            Some(json!({"advance_seconds": seconds})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
}

fn codes(body: &Value) -> Vec<(String, String)> {
    body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn freshdesk_time_entries_crud_filters_and_timer() {
    let fd = fd_spawn(fd_opts()).await;
    let agents = fd.get("/api/v2/agents").await.body;
    let agent = agents[1]["id"].as_u64().unwrap();
    let company = fd
        .post("/api/v2/companies", json!({"name": "Timed Co"}))
        .await
        .body;
    let contact = fd
        .post(
            "/api/v2/contacts",
            json!({"name": "T", "email": "t@example.com", "company_id": company["id"]}),
        )
        .await
        .body;
    let ticket = fd
        .ticket(json!({"requester_id": contact["id"], "subject": "s", "description": "d", "status": 2, "priority": 1}))
        .await;
    let tid = ticket["id"].as_u64().unwrap();

    // Create: a stopped entry with a duration, and a running one.
    let a = fd
        .post(
            &format!("/api/v2/tickets/{tid}/time_entries"),
            json!({"time_spent": "01:30", "note": "fixed", "agent_id": agent, "billable": false, "executed_at": "2024-01-10T10:00:00Z"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let first = a.body;
    assert_eq!(first["time_spent"], "01:30");
    assert_eq!(first["timer_running"], false);
    assert_eq!(first["ticket_id"], tid);
    assert_eq!(first["company_id"], company["id"]);
    assert_eq!(first["agent_id"], agent);
    assert!(first.get("_spent").is_none());
    let running = fd
        .post(&format!("/api/v2/tickets/{tid}/time_entries"), json!({}))
        .await;
    assert_eq!(running.status, StatusCode::CREATED, "{}", running.text);
    assert_eq!(running.body["timer_running"], true);
    assert_eq!(running.body["billable"], true);
    let rid = running.body["id"].as_u64().unwrap();

    // The timer counts the emulator's clock and stops on toggle.
    advance(&fd, 25 * 60).await;
    let shown = fd.get(&format!("/api/v2/time_entries/{rid}")).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert_eq!(shown.body["time_spent"], "00:25");
    let stopped = fd
        .put(
            &format!("/api/v2/time_entries/{rid}/toggle_timer"),
            json!({}),
        )
        .await;
    assert_eq!(stopped.status, StatusCode::OK, "{}", stopped.text);
    assert_eq!(stopped.body["timer_running"], false);
    advance(&fd, 600).await;
    assert_eq!(
        fd.get(&format!("/api/v2/time_entries/{rid}")).await.body["time_spent"],
        "00:25"
    );

    // Lists: the ticket's, and the account's with filters.
    let of_ticket = fd.get(&format!("/api/v2/tickets/{tid}/time_entries")).await;
    assert_eq!(of_ticket.body.as_array().unwrap().len(), 2);
    let by_company = fd
        .get(&format!(
            "/api/v2/time_entries?company_id={}",
            company["id"]
        ))
        .await
        .body;
    assert_eq!(by_company.as_array().unwrap().len(), 2);
    let billable = fd
        .get(&format!(
            "/api/v2/time_entries?company_id={}&billable=false",
            company["id"]
        ))
        .await
        .body;
    assert_eq!(billable.as_array().unwrap().len(), 1);
    assert_eq!(billable[0]["id"], first["id"]);
    let window = fd
        .get("/api/v2/time_entries?executed_after=2024-01-01&executed_before=2024-01-31&per_page=100")
        .await
        .body;
    assert!(
        window
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["id"] == first["id"])
    );
    assert!(window.as_array().unwrap().iter().all(|e| {
        let at = e["executed_at"].as_str().unwrap();
        ("2024-01-01".."2024-02-01").contains(&at)
    }));
    let by_agent = fd
        .get(&format!(
            "/api/v2/time_entries?agent_id={agent}&per_page=100"
        ))
        .await
        .body;
    assert!(
        by_agent
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["agent_id"] == agent)
    );

    // Update, then delete.
    let fid = first["id"].as_u64().unwrap();
    let up = fd
        .put(
            &format!("/api/v2/time_entries/{fid}"),
            json!({"time_spent": "02:00", "note": "more", "billable": true}),
        )
        .await;
    assert_eq!(up.status, StatusCode::OK, "{}", up.text);
    assert_eq!(up.body["time_spent"], "02:00");
    assert_eq!(up.body["note"], "more");
    assert_eq!(up.body["billable"], true);
    let gone = fd.delete(&format!("/api/v2/time_entries/{fid}")).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    assert_eq!(
        fd.get(&format!("/api/v2/time_entries/{fid}")).await.status,
        StatusCode::NOT_FOUND
    );

    // Validation in Freshdesk's shape.
    let bad = fd
        .post(
            &format!("/api/v2/tickets/{tid}/time_entries"),
            json!({"time_spent": "1h", "billable": "yes", "agent_id": 1, "colour": "red"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.body["description"], "Validation failed");
    let got = codes(&bad.body);
    for want in [
        ("time_spent", "invalid_value"),
        ("billable", "datatype_mismatch"),
        ("agent_id", "invalid_value"),
        ("colour", "invalid_field"),
    ] {
        assert!(
            got.contains(&(want.0.to_owned(), want.1.to_owned())),
            "{want:?} in {got:?}"
        );
    }
    let bad_filter = fd.get("/api/v2/time_entries?billable=maybe").await;
    assert_eq!(bad_filter.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        fd.post("/api/v2/tickets/999999/time_entries", json!({}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn freshdesk_time_entries_are_seeded_deterministically_and_paginated() {
    let a = fd_spawn(fd_opts()).await;
    let b = fd_spawn(fd_opts()).await;
    let first = a.get("/api/v2/time_entries?per_page=100").await.body;
    let second = b.get("/api/v2/time_entries?per_page=100").await.body;
    assert!(!first.as_array().unwrap().is_empty());
    assert_eq!(first, second, "same seed, same entries");
    let page = a.get("/api/v2/time_entries?per_page=2").await;
    assert_eq!(page.body.as_array().unwrap().len(), 2);
    let link = page.headers.get("link").unwrap().to_str().unwrap();
    assert!(link.contains("page=2"), "{link}");
    let state = a.control(Method::GET, "/_sim/state", None).await.body;
    let n = first.as_array().unwrap().len() as u64;
    assert_eq!(state["counts"]["time_entries"].as_u64(), Some(n), "{state}");
    assert_eq!(state["counts"]["solution_categories"], 2);
    assert_eq!(state["counts"]["solution_folders"], 3);
    assert_eq!(state["counts"]["solution_articles"], 5);
}

#[tokio::test]
async fn freshdesk_solutions_crud_and_translations() {
    let fd = fd_spawn(fd_opts()).await;
    // The seeded knowledge base, in English and French.
    let seeded = fd.get("/api/v2/solutions/categories").await.body;
    assert_eq!(seeded[0]["name"], "General Category");
    let fr = fd.get("/api/v2/solutions/categories/fr").await.body;
    assert_eq!(fr.as_array().unwrap().len(), 1);
    assert_eq!(fr[0]["name"], "Catégorie générale");
    assert_eq!(
        fd.get("/api/v2/solutions/categories/xx").await.status,
        StatusCode::NOT_FOUND
    );

    // Category.
    let c = fd
        .post(
            "/api/v2/solutions/categories",
            json!({"name": "Shipping", "description": "All about parcels"}),
        )
        .await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.text);
    let cid = c.body["id"].as_u64().unwrap();
    let dup = fd
        .post("/api/v2/solutions/categories", json!({"name": "shipping"}))
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    assert_eq!(
        codes(&dup.body),
        [("name".into(), "duplicate_value".into())]
    );
    let missing = fd
        .post("/api/v2/solutions/categories", json!({"description": "x"}))
        .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        codes(&missing.body),
        [("name".into(), "missing_field".into())]
    );
    let up = fd
        .put(
            &format!("/api/v2/solutions/categories/{cid}"),
            json!({"description": "Parcels"}),
        )
        .await;
    assert_eq!(up.status, StatusCode::OK);
    assert_eq!(up.body["description"], "Parcels");
    assert_eq!(
        fd.get(&format!("/api/v2/solutions/categories/{cid}"))
            .await
            .body["name"],
        "Shipping"
    );

    // Folder.
    let bad = fd
        .post(
            &format!("/api/v2/solutions/categories/{cid}/folders"),
            json!({"name": "Returns", "visibility": 9}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        codes(&bad.body),
        [("visibility".into(), "invalid_value".into())]
    );
    let f = fd
        .post(
            &format!("/api/v2/solutions/categories/{cid}/folders"),
            json!({"name": "Returns", "visibility": 1, "description": "How to return"}),
        )
        .await;
    assert_eq!(f.status, StatusCode::CREATED, "{}", f.text);
    assert_eq!(f.body["category_id"], cid);
    let fid = f.body["id"].as_u64().unwrap();
    let f_up = fd
        .put(
            &format!("/api/v2/solutions/folders/{fid}"),
            json!({"name": "Returns and refunds"}),
        )
        .await;
    assert_eq!(f_up.body["name"], "Returns and refunds");
    let listed = fd
        .get(&format!("/api/v2/solutions/categories/{cid}/folders"))
        .await
        .body;
    assert_eq!(listed.as_array().unwrap().len(), 1);

    // Article.
    let a = fd
        .post(
            &format!("/api/v2/solutions/folders/{fid}/articles"),
            json!({"title": "Return a parcel", "description": "<p>Print the <b>label</b></p>", "status": 2, "tags": ["returns"]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert_eq!(a.body["folder_id"], fid);
    assert_eq!(a.body["category_id"], cid);
    assert_eq!(a.body["description_text"], "Print the label");
    let aid = a.body["id"].as_u64().unwrap();
    let a_bad = fd
        .post(
            &format!("/api/v2/solutions/folders/{fid}/articles"),
            json!({"title": "x", "status": 3}),
        )
        .await;
    assert_eq!(a_bad.status, StatusCode::BAD_REQUEST);
    let got = codes(&a_bad.body);
    assert!(
        got.contains(&("description".into(), "missing_field".into())),
        "{got:?}"
    );
    assert!(
        got.contains(&("status".into(), "invalid_value".into())),
        "{got:?}"
    );
    let a_up = fd
        .put(
            &format!("/api/v2/solutions/articles/{aid}"),
            json!({"description": "<p>Print it</p>"}),
        )
        .await;
    assert_eq!(a_up.body["description_text"], "Print it");
    assert_eq!(a_up.body["title"], "Return a parcel");

    // Translations: create, read, list, update; twice is a conflict; unknown ones are 404.
    let tr = fd
        .post(
            &format!("/api/v2/solutions/articles/{aid}/fr"),
            json!({"title": "Retourner un colis", "description": "<p>Imprimez</p>", "status": 1}),
        )
        .await;
    assert_eq!(tr.status, StatusCode::CREATED, "{}", tr.text);
    assert_eq!(tr.body["title"], "Retourner un colis");
    assert_eq!(tr.body["id"], aid);
    assert_eq!(
        fd.post(
            &format!("/api/v2/solutions/articles/{aid}/fr"),
            json!({"title": "x", "description": "y", "status": 1}),
        )
        .await
        .status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        fd.get(&format!("/api/v2/solutions/articles/{aid}/de"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let tr_up = fd
        .put(
            &format!("/api/v2/solutions/articles/{aid}/fr"),
            json!({"status": 2}),
        )
        .await;
    assert_eq!(tr_up.status, StatusCode::OK, "{}", tr_up.text);
    assert_eq!(tr_up.body["status"], 2);
    assert_eq!(tr_up.body["title"], "Retourner un colis");
    let in_fr = fd
        .get(&format!("/api/v2/solutions/folders/{fid}/articles/fr"))
        .await
        .body;
    assert_eq!(in_fr[0]["title"], "Retourner un colis");
    assert_eq!(
        fd.get(&format!("/api/v2/solutions/articles/{aid}"))
            .await
            .body["title"],
        "Return a parcel",
        "the original is untouched"
    );
    let cf = fd
        .post(
            &format!("/api/v2/solutions/folders/{fid}/fr"),
            json!({"name": "Retours"}),
        )
        .await;
    assert_eq!(cf.status, StatusCode::CREATED, "{}", cf.text);
    assert_eq!(
        fd.get(&format!("/api/v2/solutions/categories/{cid}/folders/fr"))
            .await
            .body[0]["name"],
        "Retours"
    );
    assert_eq!(
        fd.put(
            &format!("/api/v2/solutions/categories/{cid}/fr"),
            json!({"name": "x"})
        )
        .await
        .status,
        StatusCode::NOT_FOUND,
        "no French category yet"
    );

    // Deletes cascade.
    let before = fd.control(Method::GET, "/_sim/state", None).await.body;
    assert_eq!(
        fd.delete(&format!("/api/v2/solutions/categories/{cid}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    for path in [
        format!("/api/v2/solutions/categories/{cid}"),
        format!("/api/v2/solutions/folders/{fid}"),
        format!("/api/v2/solutions/articles/{aid}"),
    ] {
        assert_eq!(fd.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    let after = fd.control(Method::GET, "/_sim/state", None).await.body;
    for kind in [
        "solution_categories",
        "solution_folders",
        "solution_articles",
    ] {
        assert_eq!(
            before["counts"][kind].as_u64().unwrap() - 1,
            after["counts"][kind].as_u64().unwrap(),
            "{kind}"
        );
    }
    // The seeded article can be deleted alone.
    let seeded_folder = fd
        .get(&format!(
            "/api/v2/solutions/categories/{}/folders",
            seeded[0]["id"]
        ))
        .await
        .body;
    let arts = fd
        .get(&format!(
            "/api/v2/solutions/folders/{}/articles",
            seeded_folder[0]["id"]
        ))
        .await
        .body;
    let one = arts[0]["id"].as_u64().unwrap();
    assert_eq!(
        fd.delete(&format!("/api/v2/solutions/articles/{one}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        fd.get(&format!("/api/v2/solutions/articles/{one}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn freshdesk_solutions_need_the_api_key() {
    let fd = fd_spawn(fd_opts()).await;
    for path in ["/api/v2/solutions/categories", "/api/v2/time_entries"] {
        let r = fd.client.get(fd.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
}
