//! Conditional updates: a write goes through only when the platform still holds the version
//! cutover last saw; otherwise it is a `Conflict` and nothing is written. Zendesk checks it in
//! the write (`safe_update`, 409); Freshdesk by reading just before writing.

use cutover_connect::{Connector, ErrorClass, Origin, Outbound, TargetIds, references};
use cutover_model::{Observed, PlatformId, PlatformKind, RecordKind, Side};
use serde_json::json;

use crate::support::{Person, freshdesk, freshdesk_sim, zendesk, zendesk_sim};

/// An update of `observed` onto itself with `subject`, its references pointing at themselves.
fn self_update(observed: &Observed, platform: PlatformKind, subject: &str) -> Outbound {
    let mut record = observed.record.clone();
    if let cutover_model::records::Record::Ticket(ticket) = &mut record {
        ticket.subject = subject.to_owned();
    }
    let origin = Origin {
        side: Side::New,
        platform,
        kind: RecordKind::Ticket,
        id: observed.id.clone(),
    };
    let mut targets = TargetIds::new();
    for reference in references(&record) {
        for kind in reference.kinds {
            targets.insert(*kind, reference.key.clone(), reference.key.clone());
        }
    }
    let mut outbound = Outbound::new(origin, record);
    outbound.targets = targets;
    outbound.may_exist = false;
    outbound
}

async fn read(connector: &dyn Connector, id: &PlatformId) -> Observed {
    let page = connector.read_one(RecordKind::Ticket, id).await.unwrap();
    page.items.into_iter().find(|o| &o.id == id).unwrap()
}

async fn check_conflict(
    connector: &dyn Connector,
    person: &Person,
    id: &PlatformId,
    advance: impl AsyncFn(),
    change_by_person: impl AsyncFn(),
) {
    let platform = connector.platform();
    let seen = read(connector, id).await;
    let at = seen.updated_at.unwrap();
    advance().await;
    // Unchanged since it was read: the write goes through.
    connector
        .update_if(
            id,
            &self_update(&seen, platform, "Written by the bridge"),
            at,
        )
        .await
        .unwrap();
    let after = read(connector, id).await;
    assert_ne!(after.updated_at, seen.updated_at);
    // A person changes it after the bridge read it: the bridge's write is refused.
    advance().await;
    change_by_person().await;
    let err = connector
        .update_if(
            id,
            &self_update(&after, platform, "Stale write"),
            after.updated_at.unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Conflict, "{err}");
    let now = read(connector, id).await;
    if let cutover_model::records::Record::Ticket(t) = &now.record {
        assert_ne!(t.subject, "Stale write", "nothing was written");
    }
    let _ = person;
}

#[tokio::test]
async fn zendesk_safe_update_refuses_a_stale_write() {
    let sim = zendesk_sim().await;
    let person = Person::zendesk(sim.url());
    let connector = zendesk(Side::New, sim.url());
    let ticket = person
        .post(
            "/api/v2/tickets",
            json!({"ticket": {"subject": "Original", "comment": {"body": "x"}}}),
        )
        .await;
    let raw_id = ticket["ticket"]["id"].as_u64().unwrap();
    let id = PlatformId::from(raw_id);
    let advance = async || {
        person
            .post("/_sim/clock", json!({"advance_seconds": 5}))
            .await;
    };
    let change = async || {
        person
            .put(
                &format!("/api/v2/tickets/{raw_id}"),
                json!({"ticket": {"subject": "Changed by an agent"}}),
            )
            .await;
    };
    check_conflict(connector.as_ref(), &person, &id, advance, change).await;
    // The emulator answers Zendesk's own 409 to a stale stamp.
    let stale = person
        .call(
            reqwest::Method::GET,
            &format!("/api/v2/tickets/{raw_id}"),
            None,
        )
        .await;
    assert_eq!(stale["ticket"]["subject"], "Changed by an agent");
}

#[tokio::test]
async fn freshdesk_reads_before_writing_and_refuses_a_stale_write() {
    let sim = freshdesk_sim().await;
    let person = Person::freshdesk(sim.url());
    let connector = freshdesk(Side::New, sim.url());
    let ticket = person
        .post(
            "/api/v2/tickets",
            json!({"subject": "Original", "description": "x", "email": "carol@example.com",
            "priority": 1, "status": 2}),
        )
        .await;
    let raw_id = ticket["id"].as_u64().unwrap();
    let id = PlatformId::from(raw_id);
    let advance = async || {
        person
            .post("/_sim/clock", json!({"advance_seconds": 5}))
            .await;
    };
    let change = async || {
        person
            .put(
                &format!("/api/v2/tickets/{raw_id}"),
                json!({"subject": "Changed by an agent"}),
            )
            .await;
    };
    check_conflict(connector.as_ref(), &person, &id, advance, change).await;
}

#[tokio::test]
async fn zendesk_deletes_a_ticket_once_and_the_feed_names_it() {
    let sim = zendesk_sim().await;
    let person = Person::zendesk(sim.url());
    let connector = zendesk(Side::Old, sim.url());
    let ticket = person
        .post(
            "/api/v2/tickets",
            json!({"ticket": {"subject": "Spam", "comment": {"body": "buy now"}}}),
        )
        .await;
    let id = PlatformId::from(ticket["ticket"]["id"].as_u64().unwrap());
    connector.delete(RecordKind::Ticket, &id).await.unwrap();
    connector.delete(RecordKind::Ticket, &id).await.unwrap();
    // Zendesk's export leaves out the last minute: move past it.
    person
        .post("/_sim/clock", json!({"advance_seconds": 120}))
        .await;
    let mut position = cutover_connect::ReadPosition::start();
    let mut deleted = Vec::new();
    for _ in 0..20 {
        let page = connector
            .read_page(RecordKind::Ticket, &position)
            .await
            .unwrap();
        deleted.extend(page.deleted);
        match page.next {
            Some(next) if !page.done => position = next,
            _ => break,
        }
    }
    assert_eq!(deleted, vec![(RecordKind::Ticket, id)]);
}
