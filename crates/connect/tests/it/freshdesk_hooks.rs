//! Freshdesk: `setup_hooks` makes automation rules (ticket creation, ticket update) whose
//! webhook action carries the bridge's secret header, the emulator delivers through them,
//! `accept_webhook` checks and reads each delivery, and `teardown_hooks` removes exactly what
//! setup made. Deleted and spam tickets reach the feed as deletes.

use std::collections::BTreeSet;

use cutover_connect::{ChangeHint, ConnectError, ReadPosition, WebhookSecret};
use cutover_model::{PlatformId, RecordKind, Side};
use serde_json::json;

use crate::support::{Person, Receiver, freshdesk, freshdesk_sim};

#[tokio::test]
async fn rules_are_made_once_deliver_with_the_secret_header_and_are_removed_exactly() {
    let sim = freshdesk_sim().await;
    let person = Person::freshdesk(sim.url());
    let connector = freshdesk(Side::New, sim.url());
    let receiver = Receiver::start().await;
    let secret = WebhookSecret::new("fd-bridge-secret");

    let made = connector.setup_hooks(&receiver.url, &secret).await.unwrap();
    assert_eq!(made.created.len(), 2, "{made:?}");
    assert!(
        made.created
            .iter()
            .all(|h| h.name.starts_with("cutover bridge (new side)"))
    );
    let again = connector.setup_hooks(&receiver.url, &secret).await.unwrap();
    assert!(again.created.is_empty(), "{again:?}");
    assert_eq!(again.updated.len(), 2);

    let ticket = person
        .post(
            "/api/v2/tickets",
            json!({"subject": "Refund", "description": "Please", "email": "bob@example.com",
            "priority": 1, "status": 2}),
        )
        .await;
    let ticket_id = ticket["id"].as_u64().unwrap();
    person
        .put(
            &format!("/api/v2/tickets/{ticket_id}"),
            json!({"priority": 3}),
        )
        .await;
    person
        .post(
            &format!("/api/v2/tickets/{ticket_id}/notes"),
            json!({"body": "internal", "private": true}),
        )
        .await;
    let arrived = receiver.wait_for(3).await;
    let hints: BTreeSet<ChangeHint> = arrived
        .iter()
        .flat_map(|a| connector.accept_webhook(&a.delivery(), &secret).unwrap())
        .collect();
    assert_eq!(
        hints,
        BTreeSet::from([ChangeHint {
            kind: RecordKind::Ticket,
            id: PlatformId::from(ticket_id)
        }])
    );
    let wrong = WebhookSecret::new("fd-bridge-secreT");
    let err = connector
        .accept_webhook(&arrived[0].delivery(), &wrong)
        .unwrap_err();
    assert!(
        matches!(
            err,
            ConnectError::Delivery {
                unauthenticated: true,
                ..
            }
        ),
        "{err}"
    );
    assert!(!err.to_string().contains("fd-bridge"));

    // A rule a person made stays; ours go, once.
    person
        .post("/api/v2/automations/1/rules", json!({"name": "Route VIPs", "active": true,
            "conditions": [{"name": "condition_set_1", "match_type": "all", "properties": [
                {"resource_type": "ticket", "field_name": "priority", "operator": "in", "value": [4]}]}],
            "actions": [{"field_name": "priority", "value": 4}]}))
        .await;
    let removed = connector.teardown_hooks().await.unwrap();
    assert_eq!(removed.removed.len(), 2, "{removed:?}");
    let left = person.get("/api/v2/automations/1/rules").await;
    let names: Vec<&str> = left
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert!(names.contains(&"Route VIPs"), "{names:?}");
    assert!(
        !names.iter().any(|n| n.starts_with("cutover bridge")),
        "{names:?}"
    );
    assert!(connector.teardown_hooks().await.unwrap().removed.is_empty());
    let before = receiver.all().len();
    person
        .put(
            &format!("/api/v2/tickets/{ticket_id}"),
            json!({"priority": 2}),
        )
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(receiver.all().len(), before);
}

#[tokio::test]
async fn deleted_tickets_reach_the_feed_as_deletes_and_a_delete_is_applied_once() {
    let sim = freshdesk_sim().await;
    let person = Person::freshdesk(sim.url());
    let connector = freshdesk(Side::Old, sim.url());
    let ticket = person
        .post(
            "/api/v2/tickets",
            json!({"subject": "Gone soon", "description": "x", "email": "eve@example.com",
            "priority": 1, "status": 2}),
        )
        .await;
    let id = PlatformId::from(ticket["id"].as_u64().unwrap());
    // The generated account may hold tickets deleted before the test
    // began (real accounts do); only the change this test makes counts.
    let before = deleted_in_feed(&*connector, None).await;
    connector.delete(RecordKind::Ticket, &id).await.unwrap();
    // Deleting what is already gone is not an error.
    connector.delete(RecordKind::Ticket, &id).await.unwrap();
    let after = deleted_in_feed(&*connector, Some(&id)).await;
    let new: Vec<_> = after.into_iter().filter(|d| !before.contains(d)).collect();
    assert_eq!(new, vec![(RecordKind::Ticket, id.clone())]);
    let one = connector.read_one(RecordKind::Ticket, &id).await.unwrap();
    assert_eq!(one.deleted, vec![(RecordKind::Ticket, id)]);
}

/// Every ticket delete the feed names, from its start; `gone` must not be
/// among the live records.
async fn deleted_in_feed(
    connector: &dyn cutover_connect::Connector,
    gone: Option<&PlatformId>,
) -> Vec<(RecordKind, PlatformId)> {
    let mut position = ReadPosition::start();
    let mut deleted = Vec::new();
    loop {
        let page = connector
            .read_page(RecordKind::Ticket, &position)
            .await
            .unwrap();
        assert!(
            page.items.iter().all(|o| Some(&o.id) != gone),
            "a deleted ticket is not a live record"
        );
        deleted.extend(page.deleted);
        match page.next {
            Some(next) if !page.done => position = next,
            _ => break,
        }
    }
    deleted
}
