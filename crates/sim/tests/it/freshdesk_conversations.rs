//! Freshdesk conversations and the e-mails they cause: replies e-mail the requester, private
//! notes e-mail nobody, public agent notes e-mail the requester, creation acknowledgements go
//! out for e-mail and portal tickets while the automation is on.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::freshdesk_harness::{fd_opts, fd_spawn};

#[tokio::test]
async fn replies_and_notes_are_listed_and_only_customer_facing_ones_send_mail() {
    let fd = fd_spawn(fd_opts()).await;
    fd.control(Method::DELETE, "/_sim/notifications", None)
        .await;
    let t = fd
        .ticket(
            json!({"email": "talk@example.com", "name": "Talk", "subject": "Help", "source": 3}),
        )
        .await;
    let id = t["id"].as_u64().unwrap();
    assert!(
        fd.notifications(Some(id)).await.is_empty(),
        "phone tickets get no acknowledgement"
    );
    let reply = fd
        .post(
            &format!("/api/v2/tickets/{id}/reply"),
            json!({"body": "<p>We are on it</p>", "cc_emails": ["boss@example.com"]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body["source"], 0);
    assert_eq!(reply.body["private"], false);
    assert_eq!(reply.body["to_emails"], json!(["talk@example.com"]));
    assert_eq!(reply.body["body_text"], "We are on it");
    let after_reply = fd.notifications(Some(id)).await;
    assert_eq!(after_reply.len(), 2, "requester and cc: {after_reply:?}");
    assert!(after_reply.iter().all(|n| n["kind"] == "reply"));
    let private = fd
        .post(
            &format!("/api/v2/tickets/{id}/notes"),
            json!({"body": "internal only"}),
        )
        .await;
    assert_eq!(private.status, StatusCode::CREATED);
    assert_eq!(
        private.body["private"], true,
        "notes are private by default"
    );
    assert_eq!(private.body["source"], 2);
    assert_eq!(
        fd.notifications(Some(id)).await.len(),
        2,
        "private notes send nothing"
    );
    let public = fd
        .post(
            &format!("/api/v2/tickets/{id}/notes"),
            json!({"body": "visible", "private": false}),
        )
        .await;
    assert_eq!(public.body["private"], false);
    let after_public = fd.notifications(Some(id)).await;
    assert_eq!(after_public.len(), 3);
    assert_eq!(after_public[2]["kind"], "public_note");
    let requester = t["requester_id"].as_u64().unwrap();
    let incoming = fd
        .post(&format!("/api/v2/tickets/{id}/notes"), json!({"body": "from the customer", "incoming": true, "private": false, "user_id": requester}))
        .await;
    assert_eq!(incoming.status, StatusCode::CREATED, "{}", incoming.text);
    assert_eq!(incoming.body["incoming"], true);
    assert_eq!(incoming.body["user_id"], requester);
    assert_eq!(
        fd.notifications(Some(id)).await.len(),
        3,
        "the customer's own note mails nobody"
    );
    let bad = fd
        .post(
            &format!("/api/v2/tickets/{id}/notes"),
            json!({"private": "yes"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.body["description"], "Validation failed");
    let bad_user = fd
        .post(
            &format!("/api/v2/tickets/{id}/reply"),
            json!({"body": "x", "user_id": requester}),
        )
        .await;
    assert_eq!(
        bad_user.body["errors"][0]["field"], "user_id",
        "replies come from agents"
    );
    let list = fd.get(&format!("/api/v2/tickets/{id}/conversations")).await;
    assert_eq!(list.body.as_array().unwrap().len(), 4);
    let stats = fd.get(&format!("/api/v2/tickets/{id}?include=stats")).await;
    assert!(stats.body["stats"]["first_responded_at"].is_string());
    assert!(stats.body["stats"]["requester_responded_at"].is_string());
    // Resolving e-mails the requester; editing and deleting a note works.
    fd.put(&format!("/api/v2/tickets/{id}"), json!({"status": 4}))
        .await;
    let last = fd.notifications(Some(id)).await;
    assert_eq!(last.last().unwrap()["kind"], "ticket_resolved");
    let nid = private.body["id"].as_u64().unwrap();
    let edited = fd
        .put(
            &format!("/api/v2/conversations/{nid}"),
            json!({"body": "<b>edited</b>"}),
        )
        .await;
    assert_eq!(edited.body["body_text"], "edited");
    assert_eq!(
        fd.delete(&format!("/api/v2/conversations/{nid}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        fd.get(&format!("/api/v2/tickets/{id}/conversations"))
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

#[tokio::test]
async fn acknowledgements_follow_the_source_and_the_switch() {
    let fd = fd_spawn(fd_opts()).await;
    fd.control(Method::DELETE, "/_sim/notifications", None)
        .await;
    let email = fd
        .ticket(json!({"email": "ack@example.com", "subject": "by mail", "source": 1}))
        .await;
    let portal = fd
        .ticket(json!({"email": "ack@example.com", "subject": "by portal"}))
        .await;
    let chat = fd
        .ticket(json!({"email": "ack@example.com", "subject": "by chat", "source": 7}))
        .await;
    for (t, n) in [(&email, 1), (&portal, 1), (&chat, 0)] {
        let got = fd.notifications(t["id"].as_u64()).await;
        assert_eq!(got.len(), n, "{}: {got:?}", t["subject"]);
        if n == 1 {
            assert_eq!(got[0]["kind"], "ticket_received");
            assert_eq!(got[0]["to"], "ack@example.com");
        }
    }
    let config = fd.get("/api/v2/email_configs").await;
    let config_id = config.body[0]["id"].as_u64().unwrap();
    let out = fd
        .post("/api/v2/tickets/outbound_email", json!({"email": "out@example.com", "subject": "We noticed", "description": "<p>Hello</p>", "email_config_id": config_id}))
        .await;
    assert_eq!(out.status, StatusCode::CREATED, "{}", out.text);
    assert_eq!(out.body["source"], 10);
    assert_eq!(out.body["status"], 5);
    let sent = fd.notifications(out.body["id"].as_u64()).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["kind"], "outbound_email");
    assert_eq!(sent[0]["to"], "out@example.com");
    let quiet = fd_spawn(cutover_sim::freshdesk::FreshdeskOptions {
        acknowledge_new_tickets: false,
        ..fd_opts()
    })
    .await;
    let t = quiet
        .ticket(json!({"email": "ack@example.com", "subject": "by mail", "source": 1}))
        .await;
    assert!(quiet.notifications(t["id"].as_u64()).await.is_empty());
}

#[tokio::test]
async fn requester_notifications_follow_the_admin_switches() {
    let fd = fd_spawn(cutover_sim::freshdesk::FreshdeskOptions {
        requester_notifications: false,
        ..fd_opts()
    })
    .await;
    let shown = fd
        .control(Method::GET, "/_sim/email_notifications", None)
        .await;
    assert_eq!(
        shown.body["email_notifications"],
        json!({"new_ticket_created": true, "agent_adds_comment": false, "agent_solves_ticket": false, "agent_closes_ticket": false})
    );
    let t = fd
        .ticket(json!({"email": "sw@example.com", "subject": "switches", "source": 3}))
        .await;
    let id = t["id"].as_u64().unwrap();
    let act = |on: bool| {
        let fd = &fd;
        async move {
            fd.post(
                &format!("/api/v2/tickets/{id}/notes"),
                json!({"body": "public note", "private": false}),
            )
            .await;
            fd.put(&format!("/api/v2/tickets/{id}"), json!({"status": 4}))
                .await;
            fd.put(&format!("/api/v2/tickets/{id}"), json!({"status": 5}))
                .await;
            if !on {
                fd.put(&format!("/api/v2/tickets/{id}"), json!({"status": 2}))
                    .await;
            }
        }
    };
    act(false).await;
    assert!(
        fd.notifications(Some(id)).await.is_empty(),
        "switched off: a public note, a resolve and a close e-mail nobody"
    );
    let bad = fd
        .control(
            Method::PUT,
            "/_sim/email_notifications",
            Some(json!({"agent_replies": true})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let on = fd
        .control(
            Method::PUT,
            "/_sim/email_notifications",
            Some(json!({"agent_adds_comment": true, "agent_solves_ticket": true, "agent_closes_ticket": true})),
        )
        .await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.text);
    act(true).await;
    let kinds: Vec<String> = fd
        .notifications(Some(id))
        .await
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["public_note", "ticket_resolved", "ticket_closed"]);
}

/// `skip_close_notification: true` on an update that resolves or closes a ticket keeps the
/// requester from being e-mailed about it, switches on or not; beside any other status (or not a
/// boolean) Freshdesk refuses it, as its own validation does.
#[tokio::test]
async fn an_update_may_resolve_or_close_without_the_requester_notification() {
    let fd = fd_spawn(fd_opts()).await;
    let t = fd
        .ticket(json!({"email": "skip@example.com", "subject": "skip", "source": 3}))
        .await;
    let id = t["id"].as_u64().unwrap();
    let path = format!("/api/v2/tickets/{id}");
    for status in [4, 5] {
        let quiet = fd
            .put(
                &path,
                json!({"status": status, "skip_close_notification": true}),
            )
            .await;
        assert_eq!(quiet.status, StatusCode::OK, "{}", quiet.text);
        fd.put(&path, json!({"status": 2})).await;
    }
    assert!(
        fd.notifications(Some(id)).await.is_empty(),
        "resolved and closed with skip_close_notification: nobody e-mailed"
    );
    for body in [
        json!({"status": 3, "skip_close_notification": true}),
        json!({"priority": 2, "skip_close_notification": true}),
        json!({"status": 4, "skip_close_notification": "yes"}),
    ] {
        let refused = fd.put(&path, body.clone()).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(
            refused.text.contains("skip_close_notification"),
            "{}",
            refused.text
        );
    }
    // Without it, the same resolve e-mails the requester (the switches are on).
    fd.put(&path, json!({"status": 4})).await;
    let kinds: Vec<String> = fd
        .notifications(Some(id))
        .await
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["ticket_resolved"]);
}
