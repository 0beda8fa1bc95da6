//! Freshdesk tickets over real HTTP: auth, the list's window, pages, filters and embeds, writes
//! with validation, multipart attachments served byte for byte, delete/restore, bulk and merge.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::freshdesk_harness::{Fd, answer, fd_opts, fd_spawn, key_auth};

const DAY: i64 = 86_400;

fn unix(v: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .timestamp()
}

fn start() -> i64 {
    unix(&json!(crate::harness::START))
}

/// One multipart part: name, `(file name, content type)` for a file, bytes.
pub(crate) type Part<'a> = (&'a str, Option<(&'a str, &'a str)>, Vec<u8>);

/// A multipart body by hand: `(name, Some((file name, content type)), bytes)` parts.
pub(crate) fn multipart(parts: &[Part<'_>]) -> (String, Vec<u8>) {
    let boundary = "----cutover-sim-boundary-7d1f";
    let mut body = Vec::new();
    for (name, file, bytes) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file {
            Some((file_name, content_type)) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: {content_type}\r\n\r\n").as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn send_multipart(
    fd: &Fd,
    method: Method,
    path: &str,
    parts: &[Part<'_>],
) -> crate::harness::Answer {
    let (content_type, body) = multipart(parts);
    let response = fd
        .client
        .request(method, fd.url(path))
        .header("Authorization", &fd.auth)
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    answer(response).await
}

#[tokio::test]
async fn the_api_key_is_the_basic_user_and_anything_else_is_refused() {
    let fd = fd_spawn(fd_opts()).await;
    let ok = fd.get("/api/v2/tickets").await;
    assert_eq!(ok.status, StatusCode::OK);
    assert!(ok.body.is_array(), "lists are bare arrays");
    for auth in [Some(key_auth("wrong-key")), None] {
        let mut req = fd.client.get(fd.url("/api/v2/tickets"));
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        let a = answer(req.send().await.unwrap()).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            a.body,
            json!({"code": "invalid_credentials", "message": "You have to be logged in to perform this action."})
        );
    }
}

#[tokio::test]
async fn the_list_shows_thirty_days_by_default_and_pages_with_a_link_header() {
    let fd = fd_spawn(fd_opts()).await;
    let recent = fd.get("/api/v2/tickets?per_page=100").await;
    let recent = recent.body.as_array().unwrap().clone();
    assert!(!recent.is_empty());
    assert!(
        recent
            .iter()
            .all(|t| unix(&t["created_at"]) >= start() - 30 * DAY)
    );
    assert!(
        recent.iter().all(|t| t.get("description").is_none()),
        "lists leave out the description"
    );
    let all = fd
        .get("/api/v2/tickets?updated_since=2015-01-01T00:00:00Z&per_page=100")
        .await;
    let all = all.body.as_array().unwrap().clone();
    assert!(
        all.len() > recent.len(),
        "updated_since reaches older tickets"
    );
    let first = fd
        .get("/api/v2/tickets?updated_since=2015-01-01T00:00:00Z&per_page=5")
        .await;
    assert_eq!(first.body.as_array().unwrap().len(), 5);
    let link = first.headers["link"].to_str().unwrap().to_owned();
    assert!(
        link.ends_with("rel=\"next\"") && link.contains("page=2"),
        "{link}"
    );
    let next_url = link.trim_start_matches('<').split('>').next().unwrap();
    let second = fd.get(next_url).await;
    assert_eq!(second.status, StatusCode::OK);
    assert_ne!(second.body[0]["id"], first.body[0]["id"]);
    let last = fd
        .get("/api/v2/tickets?updated_since=2015-01-01T00:00:00Z&per_page=100")
        .await;
    assert!(last.headers.get("link").is_none(), "no next page, no link");
    let deep = fd.get("/api/v2/tickets?page=301").await;
    assert_eq!(deep.status, StatusCode::BAD_REQUEST);
    assert_eq!(deep.body["description"], "Validation failed");
    assert_eq!(deep.body["errors"][0]["field"], "page");
    assert_eq!(
        fd.get("/api/v2/tickets?page=300").await.status,
        StatusCode::OK
    );
    let wide = fd.get("/api/v2/tickets?per_page=101").await;
    assert_eq!(wide.status, StatusCode::BAD_REQUEST);
    assert_eq!(wide.body["errors"][0]["code"], "invalid_value");
}

#[tokio::test]
async fn order_filters_and_embeds_follow_the_query() {
    let fd = fd_spawn(fd_opts()).await;
    let asc = fd
        .get("/api/v2/tickets?updated_since=2015-01-01T00:00:00Z&order_by=created_at&order_type=asc&per_page=100&include=stats,requester,description")
        .await;
    assert_eq!(
        asc.headers["x-ratelimit-used-currentrequest"], "4",
        "each embed costs a credit"
    );
    let list = asc.body.as_array().unwrap();
    let times: Vec<i64> = list.iter().map(|t| unix(&t["created_at"])).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "ascending");
    assert!(list.iter().all(|t| t["stats"].is_object()
        && t["requester"]["email"].is_string()
        && t["description"].is_string()));
    let bad = fd.get("/api/v2/tickets?include=everything").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let bad = fd.get("/api/v2/tickets?filter=nonsense").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    // Delete one, then only filter=deleted shows it.
    let id = list[0]["id"].as_u64().unwrap();
    assert_eq!(
        fd.delete(&format!("/api/v2/tickets/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    let deleted = fd
        .get("/api/v2/tickets?filter=deleted&updated_since=2015-01-01T00:00:00Z&per_page=100")
        .await;
    let ids: Vec<u64> = deleted
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_u64().unwrap())
        .collect();
    assert!(ids.contains(&id));
    assert!(
        deleted
            .body
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["deleted"] == true)
    );
    let live = fd
        .get("/api/v2/tickets?updated_since=2015-01-01T00:00:00Z&per_page=100")
        .await;
    assert!(live.body.as_array().unwrap().iter().all(|t| t["id"] != id));
    assert_eq!(
        fd.get(&format!("/api/v2/tickets/{id}")).await.body["deleted"],
        true
    );
    assert_eq!(
        fd.put(&format!("/api/v2/tickets/{id}"), json!({"priority": 2}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        fd.put(&format!("/api/v2/tickets/{id}/restore"), json!({}))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        fd.put(&format!("/api/v2/tickets/{id}/restore"), json!({}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let requester = list[1]["requester_id"].as_u64().unwrap();
    let mine = fd
        .get(&format!(
            "/api/v2/tickets?requester_id={requester}&updated_since=2015-01-01T00:00:00Z"
        ))
        .await;
    assert!(
        mine.body
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["requester_id"] == requester)
    );
    let show = fd
        .get(&format!(
            "/api/v2/tickets/{id}?include=conversations,requester,company,stats"
        ))
        .await;
    assert!(show.body["conversations"].is_array() && show.body["stats"].is_object());
    assert_eq!(
        fd.get("/api/v2/tickets/999999").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn writes_are_validated_field_by_field_and_created_at_is_now() {
    let fd = fd_spawn(fd_opts()).await;
    let bad = fd
        .post("/api/v2/tickets", json!({"subject": "x", "status": 99, "priority": 7, "source": 4, "created_at": "2020-01-01T00:00:00Z", "custom_fields": {"cf_nope": "1"}}))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.body["description"], "Validation failed");
    let errors = bad.body["errors"].as_array().unwrap();
    let by_field = |f: &str| {
        errors
            .iter()
            .find(|e| e["field"] == f)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(by_field("created_at")["code"], "invalid_field");
    assert_eq!(by_field("status")["code"], "invalid_value");
    assert_eq!(by_field("priority")["code"], "invalid_value");
    assert_eq!(by_field("source")["code"], "invalid_value");
    assert_eq!(by_field("cf_nope")["code"], "invalid_field");
    assert_eq!(by_field("requester_id")["code"], "missing_field");
    assert!(errors.iter().all(|e| e["message"].is_string()));
    // An unknown e-mail creates the contact; created_at is the clock's now.
    let t = fd
        .ticket(json!({"email": "new.person@example.org", "name": "Новый Человек", "subject": "Hello", "description": "<p>Hi <b>there</b></p>", "status": 2, "priority": 3, "source": 7, "tags": ["a"], "custom_fields": {"cf_plan": "Premium"}}))
        .await;
    assert!(
        (unix(&t["created_at"]) - start()).abs() < 60,
        "{}",
        t["created_at"]
    );
    assert_eq!(t["description_text"], "Hi there");
    assert_eq!(t["custom_fields"]["cf_plan"], "Premium");
    let requester = t["requester_id"].as_u64().unwrap();
    let contact = fd.get(&format!("/api/v2/contacts/{requester}")).await;
    assert_eq!(contact.body["email"], "new.person@example.org");
    assert_eq!(contact.body["name"], "Новый Человек");
    // The same e-mail again reuses the contact; a phone needs a name for a new contact.
    let again = fd
        .ticket(json!({"email": "NEW.person@example.org", "subject": "again"}))
        .await;
    assert_eq!(again["requester_id"], requester);
    let phone = fd
        .post(
            "/api/v2/tickets",
            json!({"phone": "+44 20 7946 0000", "subject": "call"}),
        )
        .await;
    assert_eq!(phone.status, StatusCode::BAD_REQUEST);
    assert_eq!(phone.body["errors"][0]["field"], "name");
    let ext = fd
        .ticket(json!({"unique_external_id": "crm-77", "name": "Ext", "subject": "s"}))
        .await;
    let ext_contact = fd
        .get(&format!("/api/v2/contacts/{}", ext["requester_id"]))
        .await;
    assert_eq!(ext_contact.body["unique_external_id"], "crm-77");
    let custom_status = fd
        .ticket(json!({"requester_id": requester, "subject": "c", "status": 6}))
        .await;
    assert_eq!(custom_status["status"], 6);
    // Update: fields change, updated_at moves, unknown agent refused.
    fd.control(
        Method::POST,
        "/_sim/clock",
        Some(json!({"advance_seconds": 3600})),
    )
    .await;
    let id = t["id"].as_u64().unwrap();
    let up = fd
        .put(
            &format!("/api/v2/tickets/{id}"),
            json!({"status": 4, "priority": 4}),
        )
        .await;
    assert_eq!(up.status, StatusCode::OK, "{}", up.text);
    assert_eq!(up.body["status"], 4);
    assert_eq!(up.body["created_at"], t["created_at"]);
    assert!(unix(&up.body["updated_at"]) > unix(&t["updated_at"]));
    let stats = fd.get(&format!("/api/v2/tickets/{id}?include=stats")).await;
    assert_eq!(stats.body["stats"]["resolved_at"], up.body["updated_at"]);
    let bad_agent = fd
        .put(
            &format!("/api/v2/tickets/{id}"),
            json!({"responder_id": 12345}),
        )
        .await;
    assert_eq!(bad_agent.body["errors"][0]["field"], "responder_id");
}

#[tokio::test]
async fn multipart_creates_carry_files_and_custom_fields_and_urls_serve_the_exact_bytes() {
    let fd = fd_spawn(fd_opts()).await;
    let bytes: Vec<u8> = (0..70_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let a = send_multipart(
        &fd,
        Method::POST,
        "/api/v2/tickets",
        &[
            ("email", None, b"files@example.com".to_vec()),
            ("subject", None, "Съёмка экрана".as_bytes().to_vec()),
            ("description", None, b"<div>see attached</div>".to_vec()),
            ("priority", None, b"2".to_vec()),
            ("status", None, b"2".to_vec()),
            ("tags[]", None, b"one".to_vec()),
            ("tags[]", None, b"two".to_vec()),
            ("custom_fields[cf_order_number]", None, b"ORD-1".to_vec()),
            (
                "attachments[]",
                Some(("dump.bin", "application/octet-stream")),
                bytes.clone(),
            ),
            (
                "attachments[]",
                Some(("note.txt", "text/plain")),
                b"hello".to_vec(),
            ),
        ],
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert_eq!(a.body["tags"], json!(["one", "two"]));
    assert_eq!(a.body["custom_fields"]["cf_order_number"], "ORD-1");
    assert_eq!(a.body["priority"], 2);
    let atts = a.body["attachments"].as_array().unwrap();
    assert_eq!(atts.len(), 2);
    assert_eq!(atts[0]["file_size"], 70_000);
    let url = atts[0]["attachment_url"].as_str().unwrap();
    let got = fd.client.get(url).send().await.unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(
        got.bytes().await.unwrap().to_vec(),
        bytes,
        "exact bytes, no credentials needed"
    );
    // Over 20 MB in all is refused.
    let big = vec![7u8; 11 * 1024 * 1024];
    let over = send_multipart(
        &fd,
        Method::POST,
        "/api/v2/tickets",
        &[
            ("email", None, b"files@example.com".to_vec()),
            (
                "attachments[]",
                Some(("a.bin", "application/octet-stream")),
                big.clone(),
            ),
            (
                "attachments[]",
                Some(("b.bin", "application/octet-stream")),
                big,
            ),
        ],
    )
    .await;
    assert_eq!(over.status, StatusCode::BAD_REQUEST);
    assert_eq!(over.body["errors"][0]["field"], "attachments");
    // Generated attachments serve their bytes too, with the advertised size.
    let ids = fd.app().ticket_ids();
    let with_file = ids
        .iter()
        .filter_map(|id| fd.app().ticket_json(*id))
        .find(|t| !t["attachments"].as_array().unwrap().is_empty())
        .expect("some generated ticket has a file");
    let att = &with_file["attachments"][0];
    let got = fd
        .client
        .get(att["attachment_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.bytes().await.unwrap().len() as u64,
        att["file_size"].as_u64().unwrap()
    );
}

#[tokio::test]
async fn bulk_update_answers_with_a_job_and_merge_closes_the_secondaries() {
    let fd = fd_spawn(fd_opts()).await;
    let mk = |s: &str| json!({"email": "bulk@example.com", "subject": s});
    let a = fd.ticket(mk("a")).await["id"].as_u64().unwrap();
    let b = fd.ticket(mk("b")).await["id"].as_u64().unwrap();
    let c = fd.ticket(mk("c")).await["id"].as_u64().unwrap();
    let job = fd
        .post("/api/v2/tickets/bulk_update", json!({"bulk_action": {"ids": [a, b, 999_999], "properties": {"priority": 4, "tags": ["bulk"]}}}))
        .await;
    assert_eq!(job.status, StatusCode::ACCEPTED, "{}", job.text);
    let href = job.body["href"].as_str().unwrap().to_owned();
    let status = fd.get(&href).await;
    assert_eq!(status.body["status"], "completed");
    assert_eq!(status.body["data"].as_array().unwrap().len(), 3);
    assert_eq!(
        fd.get(&format!("/api/v2/tickets/{b}")).await.body["priority"],
        4
    );
    let bad = fd
        .post(
            "/api/v2/tickets/bulk_update",
            json!({"bulk_action": {"ids": [a], "properties": {"status": 42}}}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let merged = fd
        .put(
            "/api/v2/tickets/merge",
            json!({"primary_id": a, "ticket_ids": [b, c]}),
        )
        .await;
    assert_eq!(merged.status, StatusCode::NO_CONTENT, "{}", merged.text);
    for id in [b, c] {
        assert_eq!(
            fd.get(&format!("/api/v2/tickets/{id}")).await.body["status"],
            5
        );
        let notes = fd.get(&format!("/api/v2/tickets/{id}/conversations")).await;
        assert!(
            notes.body[0]["body_text"]
                .as_str()
                .unwrap()
                .contains(&a.to_string())
        );
        assert_eq!(notes.body[0]["private"], true);
    }
    // The documented options: notes of one's own (one public), requesters becoming CCs.
    let d = fd
        .ticket(json!({"email": "other@example.com", "subject": "d"}))
        .await["id"]
        .as_u64()
        .unwrap();
    let merged = fd
        .put(
            "/api/v2/tickets/merge",
            json!({"primary_id": a, "ticket_ids": [d], "convert_recepients_to_cc": true,
                   "note_in_primary": {"body": "joined", "private": false},
                   "note_in_secondary": {"body": "see the other one"}}),
        )
        .await;
    assert_eq!(merged.status, StatusCode::NO_CONTENT, "{}", merged.text);
    let primary = fd.get(&format!("/api/v2/tickets/{a}")).await;
    assert!(
        primary.body["cc_emails"]
            .as_array()
            .unwrap()
            .contains(&json!("other@example.com")),
        "{}",
        primary.body
    );
    let notes = fd.get(&format!("/api/v2/tickets/{a}/conversations")).await;
    let last = notes.body.as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["body_text"].clone(), last["private"].clone()),
        (json!("joined"), json!(false))
    );
    let notes = fd.get(&format!("/api/v2/tickets/{d}/conversations")).await;
    assert_eq!(notes.body[0]["body_text"], "see the other one");
    assert_eq!(notes.body[0]["private"], true);
    let to_self = fd
        .put(
            "/api/v2/tickets/merge",
            json!({"primary_id": a, "ticket_ids": [a]}),
        )
        .await;
    assert_eq!(to_self.status, StatusCode::BAD_REQUEST);
    let missing = fd
        .put(
            "/api/v2/tickets/merge",
            json!({"primary_id": a, "ticket_ids": [999_999]}),
        )
        .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    let bulk_delete = fd
        .post(
            "/api/v2/tickets/bulk_delete",
            json!({"bulk_action": {"ids": [a]}}),
        )
        .await;
    assert_eq!(bulk_delete.status, StatusCode::ACCEPTED);
    assert_eq!(
        fd.get(&format!("/api/v2/tickets/{a}")).await.body["deleted"],
        true
    );
}
