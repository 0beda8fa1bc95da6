//! The Freshdesk emulator's lookup indexes (contacts by e-mail, phone, mobile, external id and
//! Twitter id; companies by name; tickets by custom-field value) stay in step with the records
//! over HTTP: after a create the key finds the record, after an update the new key does and the
//! old one does not, and merge, soft delete, restore and hard delete move them as well.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::freshdesk_harness::{Fd, fd_opts, fd_spawn};

/// `text` encoded for a query string.
fn enc(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Ids of a bare-array list, or of a search's `results`.
fn ids(body: &Value) -> Vec<u64> {
    body.as_array()
        .or_else(|| body["results"].as_array())
        .unwrap_or_else(|| panic!("no list in {body}"))
        .iter()
        .map(|r| r["id"].as_u64().unwrap())
        .collect()
}

async fn found(fd: &Fd, path: &str) -> Vec<u64> {
    let answer = fd.get(path).await;
    assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.text);
    ids(&answer.body)
}

/// Contacts listed with one filter.
async fn contacts_where(fd: &Fd, filter: &str, value: &str) -> Vec<u64> {
    found(fd, &format!("/api/v2/contacts?{filter}={}", enc(value))).await
}

/// A filter search (`query` without its double quotes).
async fn search(fd: &Fd, kind: &str, query: &str) -> Vec<u64> {
    found(
        fd,
        &format!(
            "/api/v2/search/{kind}?query={}",
            enc(&format!("\"{query}\""))
        ),
    )
    .await
}

/// `(id, name)` of the companies `GET /companies/autocomplete?name=` answers.
async fn autocomplete(fd: &Fd, name: &str) -> Vec<(u64, String)> {
    let path = format!("/api/v2/companies/autocomplete?name={}", enc(name));
    let answer = fd.get(&path).await;
    assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.text);
    answer.body["companies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_u64().unwrap(),
                c["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The requester a new ticket gets when it names its requester by `key`.
async fn requester_by(fd: &Fd, key: &str, value: &str) -> u64 {
    let t = fd
        .ticket(json!({key: value, "subject": "who is it", "description": "x"}))
        .await;
    t["requester_id"].as_u64().unwrap()
}

#[tokio::test]
async fn a_contacts_changed_keys_find_it_and_the_old_ones_do_not() {
    let fd = fd_spawn(fd_opts()).await;
    let made = fd
        .post(
            "/api/v2/contacts",
            json!({"name": "Ida Index", "email": "ida.old@idx.example", "phone": "+44 20 0000 0001",
                "mobile": "+44 7700 000001", "unique_external_id": "idx-old", "twitter_id": "ida_old"}),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    let id = made.body["id"].as_u64().unwrap();

    assert_eq!(
        contacts_where(&fd, "email", "IDA.OLD@idx.example").await,
        [id]
    );
    assert_eq!(contacts_where(&fd, "phone", "+44 20 0000 0001").await, [id]);
    assert_eq!(contacts_where(&fd, "mobile", "+44 7700 000001").await, [id]);
    assert_eq!(
        contacts_where(&fd, "unique_external_id", "idx-old").await,
        [id]
    );
    // The filter filters: an unknown external id lists nothing (it used to be ignored).
    assert!(
        contacts_where(&fd, "unique_external_id", "nobody")
            .await
            .is_empty()
    );
    assert_eq!(search(&fd, "contacts", "twitter_id:'ida_old'").await, [id]);
    assert_eq!(requester_by(&fd, "unique_external_id", "idx-old").await, id);
    assert_eq!(requester_by(&fd, "phone", "+44 20 0000 0001").await, id);

    let changed = fd
        .put(
            &format!("/api/v2/contacts/{id}"),
            json!({"email": "ida.new@idx.example", "phone": "+44 20 0000 0002",
                "mobile": "+44 7700 000002", "unique_external_id": "idx-new", "twitter_id": "ida_new"}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);

    for (filter, old, new) in [
        ("email", "ida.old@idx.example", "ida.new@idx.example"),
        ("phone", "+44 20 0000 0001", "+44 20 0000 0002"),
        ("mobile", "+44 7700 000001", "+44 7700 000002"),
        ("unique_external_id", "idx-old", "idx-new"),
    ] {
        assert!(
            contacts_where(&fd, filter, old).await.is_empty(),
            "{filter}={old}"
        );
        assert_eq!(contacts_where(&fd, filter, new).await, [id], "{filter}");
    }
    assert!(
        search(&fd, "contacts", "twitter_id:'ida_old'")
            .await
            .is_empty()
    );
    assert_eq!(search(&fd, "contacts", "twitter_id:'ida_new'").await, [id]);
    assert_eq!(requester_by(&fd, "unique_external_id", "idx-new").await, id);

    // The old keys are free again; the new ones are taken.
    let reuse = fd
        .post(
            "/api/v2/contacts",
            json!({"name": "Other", "email": "ida.old@idx.example", "unique_external_id": "idx-old"}),
        )
        .await;
    assert_eq!(reuse.status, StatusCode::CREATED, "{}", reuse.text);
    let taken = fd
        .post(
            "/api/v2/contacts",
            json!({"name": "Copy", "unique_external_id": "idx-new"}),
        )
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT, "{}", taken.text);
    assert_eq!(taken.body["errors"][0]["additional_info"]["user_id"], id);
}

#[tokio::test]
async fn merge_delete_restore_and_hard_delete_move_contact_lookups() {
    let fd = fd_spawn(fd_opts()).await;
    let create = |body: Value| {
        let fd = &fd;
        async move {
            let a = fd.post("/api/v2/contacts", body).await;
            assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
            a.body["id"].as_u64().unwrap()
        }
    };
    let keep = create(json!({"name": "Keep", "email": "keep@idx.example"})).await;
    let gone = create(
        json!({"name": "Gone", "email": "gone@idx.example", "unique_external_id": "idx-gone"}),
    )
    .await;

    let merged = fd
        .post(
            "/api/v2/contacts/merge",
            json!({"primary_contact_id": keep, "secondary_contact_ids": [gone]}),
        )
        .await;
    assert_eq!(merged.status, StatusCode::NO_CONTENT, "{}", merged.text);
    // The secondary's e-mail is now one of the primary's other e-mails: it names the primary.
    assert_eq!(requester_by(&fd, "email", "GONE@idx.example").await, keep);
    let dup = fd
        .post(
            "/api/v2/contacts",
            json!({"name": "Again", "email": "gone@idx.example"}),
        )
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT, "{}", dup.text);
    assert_eq!(dup.body["errors"][0]["additional_info"]["user_id"], keep);
    // The secondary is gone, with its external id.
    assert!(
        contacts_where(&fd, "unique_external_id", "idx-gone")
            .await
            .is_empty()
    );
    assert_eq!(
        fd.get(&format!("/api/v2/contacts/{gone}")).await.status,
        StatusCode::NOT_FOUND
    );

    // Soft delete: out of the default list, in the deleted one; restore brings it back.
    let deleted = fd.delete(&format!("/api/v2/contacts/{keep}")).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert!(
        contacts_where(&fd, "email", "keep@idx.example")
            .await
            .is_empty()
    );
    let trash = "/api/v2/contacts?state=deleted&email=keep%40idx.example";
    assert_eq!(found(&fd, trash).await, [keep]);
    let restored = fd
        .put(&format!("/api/v2/contacts/{keep}/restore"), json!({}))
        .await;
    assert_eq!(restored.status, StatusCode::NO_CONTENT);
    assert_eq!(
        contacts_where(&fd, "email", "keep@idx.example").await,
        [keep]
    );
    assert!(found(&fd, trash).await.is_empty());

    // Hard delete frees every e-mail of the contact.
    let hard = fd
        .delete(&format!("/api/v2/contacts/{keep}/hard_delete?force=true"))
        .await;
    assert_eq!(hard.status, StatusCode::NO_CONTENT);
    assert!(
        contacts_where(&fd, "email", "keep@idx.example")
            .await
            .is_empty()
    );
    let fresh = create(json!({"name": "Fresh", "email": "gone@idx.example"})).await;
    assert_ne!(fresh, keep);
    assert_eq!(
        contacts_where(&fd, "email", "gone@idx.example").await,
        [fresh]
    );
    assert_eq!(requester_by(&fd, "email", "gone@idx.example").await, fresh);
}

#[tokio::test]
async fn an_agents_email_follows_the_agent() {
    let fd = fd_spawn(fd_opts()).await;
    let agent = fd
        .post(
            "/api/v2/agents",
            json!({"email": "agent.old@idx.example", "ticket_scope": 1}),
        )
        .await;
    assert_eq!(agent.status, StatusCode::CREATED, "{}", agent.text);
    let id = agent.body["id"].as_u64().unwrap();
    let changed = fd
        .put(
            &format!("/api/v2/agents/{id}"),
            json!({"email": "agent.new@idx.example"}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    // A new agent may take the old address, not the new one.
    let old = fd
        .post(
            "/api/v2/agents",
            json!({"email": "agent.old@idx.example", "ticket_scope": 1}),
        )
        .await;
    assert_eq!(old.status, StatusCode::CREATED, "{}", old.text);
    let new = fd
        .post(
            "/api/v2/agents",
            json!({"email": "agent.new@idx.example", "ticket_scope": 1}),
        )
        .await;
    assert_eq!(new.status, StatusCode::CONFLICT, "{}", new.text);
    assert_eq!(new.body["errors"][0]["additional_info"]["user_id"], id);
}

#[tokio::test]
async fn company_names_are_unique_case_blind_and_follow_renames_and_deletes() {
    let fd = fd_spawn(fd_opts()).await;
    let made = fd
        .post("/api/v2/companies", json!({"name": "Acme Index"}))
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    let id = made.body["id"].as_u64().unwrap();
    let same = fd
        .post("/api/v2/companies", json!({"name": "ACME INDEX "}))
        .await;
    assert_eq!(same.status, StatusCode::CONFLICT, "{}", same.text);
    assert_eq!(same.body["errors"][0]["additional_info"]["company_id"], id);
    assert_eq!(search(&fd, "companies", "name:'acme index'").await, [id]);
    assert_eq!(
        autocomplete(&fd, "acme ind").await,
        [(id, "Acme Index".to_owned())]
    );

    let renamed = fd
        .put(
            &format!("/api/v2/companies/{id}"),
            json!({"name": "Beta Index"}),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.text);
    assert!(
        search(&fd, "companies", "name:'acme index'")
            .await
            .is_empty()
    );
    assert_eq!(search(&fd, "companies", "name:'BETA INDEX'").await, [id]);
    assert!(autocomplete(&fd, "Acme Ind").await.is_empty());
    assert_eq!(
        autocomplete(&fd, "BETA").await,
        [(id, "Beta Index".to_owned())]
    );
    let reuse = fd
        .post("/api/v2/companies", json!({"name": "acme index"}))
        .await;
    assert_eq!(reuse.status, StatusCode::CREATED, "{}", reuse.text);
    let reuse = reuse.body["id"].as_u64().unwrap();
    let prefix = fd.post("/api/v2/companies", json!({"name": "Acme"})).await;
    let prefix = prefix.body["id"].as_u64().unwrap();
    assert_eq!(
        autocomplete(&fd, "ACME").await,
        [
            (prefix, "Acme".to_owned()),
            (reuse, "acme index".to_owned())
        ]
    );
    let missing = fd.get("/api/v2/companies/autocomplete").await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST, "{}", missing.text);

    let deleted = fd.delete(&format!("/api/v2/companies/{id}")).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert!(
        search(&fd, "companies", "name:'beta index'")
            .await
            .is_empty()
    );
    assert!(autocomplete(&fd, "beta").await.is_empty());
    let again = fd
        .post("/api/v2/companies", json!({"name": "Beta Index"}))
        .await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.text);
}

#[tokio::test]
async fn tickets_are_found_by_a_custom_field_through_every_write() {
    let fd = fd_spawn(fd_opts()).await;
    let field = fd
        .post(
            "/api/v2/admin/ticket_fields",
            json!({"label": "Origin id", "type": "custom_text"}),
        )
        .await;
    assert_eq!(field.status, StatusCode::CREATED, "{}", field.text);
    assert_eq!(field.body["name"], "cf_origin_id");

    let t = fd
        .ticket(
            json!({"email": "origin@idx.example", "subject": "indexed", "description": "x",
            "custom_fields": {"cf_origin_id": "zd-1001"}}),
        )
        .await;
    let id = t["id"].as_u64().unwrap();
    // Freshdesk's spelling (no `cf_`), the emulator's older one, and any case.
    assert_eq!(search(&fd, "tickets", "origin_id:'zd-1001'").await, [id]);
    assert_eq!(search(&fd, "tickets", "cf_origin_id:'ZD-1001'").await, [id]);
    assert_eq!(
        search(&fd, "tickets", "origin_id:'zd-1001' AND status:2").await,
        [id]
    );
    assert!(
        search(&fd, "tickets", "origin_id:'zd-1001' AND status:3")
            .await
            .is_empty()
    );

    let changed = fd
        .put(
            &format!("/api/v2/tickets/{id}"),
            json!({"custom_fields": {"cf_origin_id": "zd-1002"}}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    assert!(
        search(&fd, "tickets", "origin_id:'zd-1001'")
            .await
            .is_empty()
    );
    assert_eq!(search(&fd, "tickets", "origin_id:'zd-1002'").await, [id]);

    // Bulk update moves the key too.
    let bulk = fd
        .post(
            "/api/v2/tickets/bulk_update",
            json!({"bulk_action": {"ids": [id], "properties": {"custom_fields": {"cf_origin_id": "zd-1003"}}}}),
        )
        .await;
    assert_eq!(bulk.status, StatusCode::ACCEPTED, "{}", bulk.text);
    assert!(
        search(&fd, "tickets", "origin_id:'zd-1002'")
            .await
            .is_empty()
    );
    assert_eq!(search(&fd, "tickets", "origin_id:'zd-1003'").await, [id]);

    // Trashed tickets are not searched; restored ones are again.
    assert_eq!(
        fd.delete(&format!("/api/v2/tickets/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert!(
        search(&fd, "tickets", "origin_id:'zd-1003'")
            .await
            .is_empty()
    );
    let restored = fd
        .put(&format!("/api/v2/tickets/{id}/restore"), json!({}))
        .await;
    assert_eq!(restored.status, StatusCode::NO_CONTENT);
    assert_eq!(search(&fd, "tickets", "origin_id:'zd-1003'").await, [id]);

    // A second ticket with the same value: both, newest first.
    let twin = fd
        .ticket(
            json!({"email": "origin@idx.example", "subject": "twin", "description": "x",
            "custom_fields": {"cf_origin_id": "zd-1003"}}),
        )
        .await;
    let twin = twin["id"].as_u64().unwrap();
    let both = search(&fd, "tickets", "origin_id:'zd-1003'").await;
    assert_eq!(both.len(), 2);
    assert!(both.contains(&id) && both.contains(&twin));
}

#[tokio::test]
async fn seeded_custom_field_searches_agree_with_the_ticket_list() {
    let fd = fd_spawn(fd_opts()).await;
    // Every live ticket, from the list (spam left out, as search leaves it out).
    let mut all = Vec::new();
    for page in 1.. {
        let a = fd
            .get(&format!(
                "/api/v2/tickets?updated_since=2000-01-01T00:00:00Z&per_page=100&page={page}"
            ))
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        let items = a.body.as_array().unwrap().clone();
        if items.is_empty() {
            break;
        }
        all.extend(items);
    }
    assert!(all.len() > 20);
    for plan in ["Free", "basic", "PREMIUM"] {
        let mut wanted: Vec<u64> = all
            .iter()
            .filter(|t| {
                t["custom_fields"]["cf_plan"]
                    .as_str()
                    .is_some_and(|p| p.eq_ignore_ascii_case(plan))
            })
            .map(|t| t["id"].as_u64().unwrap())
            .collect();
        let mut got = search(&fd, "tickets", &format!("plan:'{plan}'")).await;
        wanted.sort_unstable();
        got.sort_unstable();
        assert_eq!(got, wanted, "{plan}");
    }
}
