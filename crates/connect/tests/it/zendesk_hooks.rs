//! Zendesk: `setup_hooks` makes a signing webhook and the triggers that call it (and a webhook
//! for user and organization events), the emulator delivers through them, `accept_webhook`
//! checks and reads each delivery, and `teardown_hooks` removes exactly what setup made.

use std::collections::BTreeSet;

use cutover_connect::{ChangeHint, ConnectError, WebhookSecret};
use cutover_model::{PlatformId, RecordKind, Side};
use serde_json::{Value, json};

use crate::support::{Person, Receiver, zendesk, zendesk_sim};

fn hints_of(
    connector: &dyn cutover_connect::Connector,
    arrived: &[crate::support::Arrived],
    secret: &WebhookSecret,
) -> BTreeSet<ChangeHint> {
    arrived
        .iter()
        .flat_map(|a| connector.accept_webhook(&a.delivery(), secret).unwrap())
        .collect()
}

#[tokio::test]
async fn hooks_are_made_once_deliver_signed_changes_and_are_removed_exactly() {
    let sim = zendesk_sim().await;
    let person = Person::zendesk(sim.url());
    let desk = desk_agent(&person, sim.url()).await;
    let connector = zendesk(Side::Old, sim.url());
    let receiver = Receiver::start().await;
    let secret = WebhookSecret::new("bridge-secret-1");

    // Something a person made, named like nothing of cutover's: teardown must leave it.
    let theirs = person
        .post("/api/v2/webhooks", json!({"webhook": {"name": "CRM sync", "endpoint": receiver.url.as_str(),
            "http_method": "POST", "request_format": "json", "status": "active", "subscriptions": ["conditional_ticket_events"]}}))
        .await;
    let theirs = theirs["webhook"]["id"].as_str().unwrap().to_owned();

    let made = connector.setup_hooks(&receiver.url, &secret).await.unwrap();
    let whats: Vec<&str> = made.created.iter().map(|h| h.what.as_str()).collect();
    assert_eq!(
        whats,
        ["webhook", "webhook", "trigger", "trigger"],
        "{made:?}"
    );
    assert!(
        made.created
            .iter()
            .all(|h| h.name.starts_with("cutover bridge (old side)"))
    );
    // The secret is the one given, not one the platform made.
    let wid = &made.created[0].id;
    let shown = person
        .get(&format!("/api/v2/webhooks/{wid}/signing_secret"))
        .await;
    assert_eq!(shown["signing_secret"]["secret"], "bridge-secret-1");

    // A second setup makes nothing new.
    let again = connector.setup_hooks(&receiver.url, &secret).await.unwrap();
    assert!(again.created.is_empty(), "{again:?}");
    assert_eq!(again.updated.len(), 4);

    // A ticket made and then commented on through the API: both reach the receiver, signed.
    let ticket = desk
        .post(
            "/api/v2/tickets",
            json!({"ticket": {"subject": "Printer", "comment": {"body": "It is on fire"}}}),
        )
        .await;
    let ticket_id = ticket["ticket"]["id"].as_u64().unwrap();
    desk.put(
        &format!("/api/v2/tickets/{ticket_id}"),
        json!({"ticket": {"comment": {"body": "Still burning", "public": false}}}),
    )
    .await;
    let user = person
        .post(
            "/api/v2/users",
            json!({"user": {"name": "Ada Lovelace", "email": "ada@example.com"}}),
        )
        .await;
    let user_id = user["user"]["id"].as_u64().unwrap();
    let arrived = receiver.wait_for(3).await;
    for a in &arrived {
        assert!(a.header("x-zendesk-webhook-signature").is_some());
    }
    let hints = hints_of(connector.as_ref(), &arrived, &secret);
    let ticket_hint = ChangeHint {
        kind: RecordKind::Ticket,
        id: PlatformId::from(ticket_id),
    };
    let user_hint = ChangeHint {
        kind: RecordKind::Contact,
        id: PlatformId::from(user_id),
    };
    assert_eq!(hints, BTreeSet::from([ticket_hint, user_hint]));
    let ticket_bodies = arrived
        .iter()
        .filter(|a| serde_json::from_slice::<Value>(&a.body).unwrap()["cutover"] == "bridge")
        .count();
    assert_eq!(ticket_bodies, 2, "one for the create, one for the update");

    // Checked with another secret, every delivery is refused as unauthenticated.
    let wrong = WebhookSecret::new("not-the-secret");
    for a in &arrived {
        let err = connector.accept_webhook(&a.delivery(), &wrong).unwrap_err();
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
    }

    // Teardown removes the four hooks, leaves the person's webhook, and a second run removes nothing.
    let removed = connector.teardown_hooks().await.unwrap();
    assert_eq!(removed.removed.len(), 4, "{removed:?}");
    let left = person.get("/api/v2/webhooks").await;
    let ids: Vec<&str> = left["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["id"].as_str())
        .collect();
    assert_eq!(ids, [theirs.as_str()]);
    let triggers = person.get("/api/v2/triggers.json").await;
    assert!(!triggers.to_string().contains("cutover bridge"));
    assert!(connector.teardown_hooks().await.unwrap().removed.is_empty());

    // Nothing more is delivered to cutover after teardown.
    let before = receiver.all().len();
    desk.put(
        &format!("/api/v2/tickets/{ticket_id}"),
        json!({"ticket": {"priority": "high"}}),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(receiver.all().len(), before);
}

#[tokio::test]
async fn a_new_secret_makes_the_webhook_anew_and_duplicated_deliveries_read_the_same() {
    let sim = zendesk_sim().await;
    let person = Person::zendesk(sim.url());
    let desk = desk_agent(&person, sim.url()).await;
    let connector = zendesk(Side::New, sim.url());
    let receiver = Receiver::start().await;
    connector
        .setup_hooks(&receiver.url, &WebhookSecret::new("first"))
        .await
        .unwrap();
    let secret = WebhookSecret::new("second");
    let changed = connector.setup_hooks(&receiver.url, &secret).await.unwrap();
    let remade: Vec<&str> = changed.created.iter().map(|h| h.what.as_str()).collect();
    assert_eq!(remade, ["webhook", "webhook"], "{changed:?}");
    assert_eq!(changed.removed.len(), 2);
    assert_eq!(
        changed.updated.len(),
        2,
        "the triggers now call the new webhook"
    );

    person
        .put("/_sim/faults", json!({"webhook_duplicate_rate": 1.0}))
        .await;
    let ticket = desk
        .post(
            "/api/v2/tickets",
            json!({"ticket": {"subject": "Twice", "comment": {"body": "hello"}}}),
        )
        .await;
    let arrived = receiver.wait_for(2).await;
    let invocations: BTreeSet<&str> = arrived
        .iter()
        .filter_map(|a| a.header("x-zendesk-webhook-invocation-id"))
        .collect();
    assert_eq!(invocations.len(), 1, "the same invocation, delivered twice");
    for a in &arrived {
        let hints = connector.accept_webhook(&a.delivery(), &secret).unwrap();
        assert_eq!(
            hints[0].id,
            PlatformId::from(ticket["ticket"]["id"].as_u64().unwrap())
        );
    }
}

#[tokio::test]
async fn lost_deliveries_never_arrive_and_imports_run_no_trigger() {
    let sim = zendesk_sim().await;
    let person = Person::zendesk(sim.url());
    let desk = desk_agent(&person, sim.url()).await;
    let connector = zendesk(Side::Old, sim.url());
    let receiver = Receiver::start().await;
    let secret = WebhookSecret::new("s");
    connector.setup_hooks(&receiver.url, &secret).await.unwrap();
    person
        .put("/_sim/faults", json!({"webhook_loss_rate": 1.0}))
        .await;
    desk.post(
        "/api/v2/tickets",
        json!({"ticket": {"subject": "Lost", "comment": {"body": "x"}}}),
    )
    .await;
    person
        .call(reqwest::Method::DELETE, "/_sim/faults", None)
        .await;
    person
        .post(
            "/api/v2/imports/tickets",
            json!({"ticket": {"subject": "Imported",
                "requester": {"name": "Old Customer", "email": "old@example.com"},
                "comments": [{"value": "old"}]}}),
        )
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(receiver.all().is_empty(), "{:?}", receiver.all());
    desk.post(
        "/api/v2/tickets",
        json!({"ticket": {"subject": "Found", "comment": {"body": "y"}}}),
    )
    .await;
    assert_eq!(receiver.wait_for(1).await.len(), 1);
}

/// The rules an account has, as `(title, conditions)`.
async fn triggers_of(person: &Person) -> Vec<(String, Value)> {
    let list = person.get("/api/v2/triggers.json").await;
    list["triggers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["title"].as_str().unwrap().to_owned(),
                t["conditions"].clone(),
            )
        })
        .collect()
}

/// The rules that e-mailed the requester of `ticket`.
async fn emails_of(sim: &crate::support::ZendeskHandle, ticket: u64) -> Vec<String> {
    let answer: Value = reqwest::get(format!(
        "{}/_sim/notifications?ticket_id={ticket}",
        sim.url()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    answer["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["rule"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn setup_quiets_the_triggers_that_email_customers_for_the_bridge_only_and_teardown_restores_them()
 {
    let sim = zendesk_sim().await;
    let person = Person::zendesk(sim.url());
    let connector = zendesk(Side::New, sim.url());
    let receiver = Receiver::start().await;
    let secret = WebhookSecret::new("bridge-secret-1");
    let me = person.get("/api/v2/users/me.json").await["user"]["id"].clone();
    person
        .post(
            "/api/v2/users",
            json!({"user": {"name": "Ann Agent", "email": "ann@example.com", "role": "agent"}}),
        )
        .await;
    let ann = Person::zendesk_as(sim.url(), "ann@example.com");
    let before = triggers_of(&person).await;

    let made = connector.setup_hooks(&receiver.url, &secret).await.unwrap();
    let mut quieted: Vec<&str> = made.quieted.iter().map(|h| h.name.as_str()).collect();
    quieted.sort_unstable();
    assert_eq!(
        quieted,
        [
            "Notify requester and CCs of comment update",
            "Notify requester and CCs of received request",
            "Notify requester of new proactive ticket",
            "Notify requester of solved request",
        ],
        "every active trigger that e-mails the requester, and only those: {made:?}"
    );
    let condition = json!({"field": "current_user", "operator": "is_not", "value": me.to_string()});
    for (title, conditions) in triggers_of(&person).await {
        if title.starts_with("cutover bridge") {
            // cutover's own triggers skip its API user's changes too (the webhook's).
            continue;
        }
        let has = conditions["all"].as_array().unwrap().contains(&condition);
        assert_eq!(
            has,
            quieted.contains(&title.as_str()),
            "{title}: {conditions}"
        );
    }
    let again = connector.setup_hooks(&receiver.url, &secret).await.unwrap();
    assert!(again.quieted.is_empty(), "idempotent: {again:?}");

    // The bridge's writes (the token's owner) e-mail nobody; an agent's own still do.
    let by_bridge = person
        .post(
            "/api/v2/tickets",
            json!({"ticket": {"requester": {"name": "Zoë", "email": "zoe@example.com"}, "comment": {"body": "Bridged in"}}}),
        )
        .await;
    let id = by_bridge["ticket"]["id"].as_u64().unwrap();
    person
        .put(
            &format!("/api/v2/tickets/{id}"),
            json!({"ticket": {"comment": {"body": "A reply bridged in"}}}),
        )
        .await;
    assert_eq!(emails_of(&sim, id).await, Vec::<String>::new());
    ann.put(
        &format!("/api/v2/tickets/{id}"),
        json!({"ticket": {"comment": {"body": "Ann answers here"}, "status": "solved"}}),
    )
    .await;
    assert_eq!(
        emails_of(&sim, id).await,
        [
            "Notify requester and CCs of comment update",
            "Notify requester of solved request"
        ]
    );

    // Teardown takes exactly that condition out again: every trigger is as it was.
    let undone = connector.teardown_hooks().await.unwrap();
    let mut unquieted: Vec<&str> = undone.unquieted.iter().map(|h| h.name.as_str()).collect();
    unquieted.sort_unstable();
    assert_eq!(unquieted, quieted);
    assert_eq!(triggers_of(&person).await, before);
    assert!(
        connector
            .teardown_hooks()
            .await
            .unwrap()
            .unquieted
            .is_empty()
    );
}

/// Issue 13, item 6: the bridge writes public replies public into Zendesk only while every
/// trigger that e-mails customers is quiet for its writes; `check_quiet` names each one that is
/// not, CCs included, and a quiet account e-mails neither requester nor CC for a public reply
/// the bridge writes.
#[tokio::test]
async fn check_quiet_names_each_trigger_that_would_email_the_bridges_writes() {
    let sim = zendesk_sim().await;
    let person = Person::zendesk(sim.url());
    let connector = zendesk(Side::New, sim.url());
    let receiver = Receiver::start().await;
    let secret = WebhookSecret::new("bridge-secret-1");
    let before = connector.check_quiet().await.unwrap().unwrap();
    let mut loud: Vec<&str> = before.loud.iter().map(|h| h.name.as_str()).collect();
    loud.sort_unstable();
    assert_eq!(
        loud,
        [
            "Notify requester and CCs of comment update",
            "Notify requester and CCs of received request",
            "Notify requester of new proactive ticket",
            "Notify requester of solved request",
        ]
    );
    connector.setup_hooks(&receiver.url, &secret).await.unwrap();
    let after = connector.check_quiet().await.unwrap().unwrap();
    assert!(after.is_quiet(), "{after:?}");

    // A public reply by the bridge (the token's owner) on a ticket with a CC: nobody e-mailed.
    let cc = person
        .post(
            "/api/v2/users",
            json!({"user": {"name": "Cleo CC", "email": "cleo@example.com"}}),
        )
        .await["user"]["id"]
        .clone();
    let ticket = person
        .post(
            "/api/v2/tickets",
            json!({"ticket": {"requester": {"name": "Zoë", "email": "zoe@example.com"},
                "collaborator_ids": [cc], "comment": {"body": "Bridged in"}}}),
        )
        .await;
    let id = ticket["ticket"]["id"].as_u64().unwrap();
    let reply = json!({"ticket": {"comment": {"body": "A reply bridged in", "public": true}}});
    person
        .put(&format!("/api/v2/tickets/{id}"), reply.clone())
        .await;
    assert_eq!(emails_of(&sim, id).await, Vec::<String>::new());

    // A trigger added later that e-mails the CCs of a public comment, without the condition.
    person
        .post(
            "/api/v2/triggers",
            json!({"trigger": {"title": "Copy the CCs", "active": true,
                "conditions": {"all": [{"field": "comment_is_public", "operator": "is", "value": "true"}], "any": []},
                "actions": [{"field": "notification_user", "value": ["ccs", "Update", "{{ticket.latest_comment}}"]}]}}),
        )
        .await;
    let later = connector.check_quiet().await.unwrap().unwrap();
    let names: Vec<&str> = later.loud.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["Copy the CCs"]);
    let line = later.describe(cutover_model::PlatformKind::Zendesk, Side::New);
    assert!(
        line.contains("\"Copy the CCs\"") && line.contains("`cutover sync setup`"),
        "{line}"
    );
    // It would e-mail the CC: the bridge is right to write private notes now.
    person.put(&format!("/api/v2/tickets/{id}"), reply).await;
    assert_eq!(emails_of(&sim, id).await, ["Copy the CCs"]);
}

/// An agent who is not the token's owner: cutover's triggers skip the owner's own changes (the
/// bridge's writes), so the changes a person makes are made as this agent.
async fn desk_agent(person: &Person, url: &str) -> Person {
    person
        .post(
            "/api/v2/users",
            json!({"user": {"name": "Dee Desk", "email": "desk@example.com", "role": "agent"}}),
        )
        .await;
    Person::zendesk_as(url, "desk@example.com")
}
