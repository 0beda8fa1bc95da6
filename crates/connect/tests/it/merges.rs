//! Ticket merges through the connectors, against the emulators: `Connector::merge` merges as
//! the platform's agents do, a merge reads back as the source's `merged_into` (and not as a
//! tag), the merge's notes are not read as comments, and a copy of a merged ticket is created
//! open and merged into the copy of its target.

use cutover_connect::{Connector, Origin, Outbound, ReadPosition, TargetIds, references};
use cutover_model::records::Record;
use cutover_model::{Observed, PlatformId, RecordKind, Side};
use serde_json::{Value, json};

use crate::support::{Person, freshdesk, freshdesk_sim, zendesk, zendesk_sim};

async fn read(connector: &dyn Connector, id: &PlatformId) -> Observed {
    let page = connector.read_one(RecordKind::Ticket, id).await.unwrap();
    page.items.into_iter().find(|o| &o.id == id).unwrap()
}

fn merged_into(observed: &Observed) -> Option<PlatformId> {
    match &observed.record {
        Record::Ticket(t) => t.merged_into.clone(),
        _ => None,
    }
}

async fn comments(connector: &dyn Connector, id: &PlatformId) -> Vec<String> {
    let page = connector
        .read_children(RecordKind::Comment, id, &ReadPosition::start())
        .await
        .unwrap();
    page.items
        .iter()
        .filter_map(|o| match &o.record {
            Record::Comment(c) => Some(c.html_body.clone()),
            _ => None,
        })
        .collect()
}

/// An outbound copy of `observed` (as another side's ticket `origin_id`) merged into `into`,
/// its references pointing at the records themselves.
fn merged_copy(
    observed: &Observed,
    connector: &dyn Connector,
    origin_id: u64,
    into: &PlatformId,
) -> Outbound {
    let mut record = observed.record.clone();
    if let Record::Ticket(t) = &mut record {
        t.merged_into = Some(into.clone());
        "closed".clone_into(&mut t.status);
        "A copy merged on the other side".clone_into(&mut t.subject);
    }
    let origin = Origin {
        side: Side::Old,
        platform: connector.platform(),
        kind: RecordKind::Ticket,
        id: PlatformId::from(origin_id),
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

/// The story on one platform: tickets `a` and `b` opened by a person.
/// `refuses_closed`: the platform refuses to merge a closed ticket (Zendesk).
async fn check_merges(connector: &dyn Connector, a: u64, b: u64, refuses_closed: bool) {
    let (a, b) = (PlatformId::from(a), PlatformId::from(b));
    let before = read(connector, &b).await;
    assert_eq!(merged_into(&before), None);
    let comments_before = (comments(connector, &a).await, comments(connector, &b).await);

    connector.merge(&a, std::slice::from_ref(&b)).await.unwrap();
    let source = read(connector, &b).await;
    assert_eq!(merged_into(&source), Some(a.clone()), "{source:?}");
    if let Record::Ticket(t) = &source.record {
        assert_eq!(t.status, "closed");
        assert!(!t.tags.contains("closed_by_merge"), "{:?}", t.tags);
    }
    assert_eq!(merged_into(&read(connector, &a).await), None);
    // The merge's notes (one on each) are not comments of the conversation.
    assert_eq!(
        (comments(connector, &a).await, comments(connector, &b).await),
        comments_before
    );
    if refuses_closed {
        // Merging again is refused by the platform (a closed ticket), as an error.
        assert!(connector.merge(&a, std::slice::from_ref(&b)).await.is_err());
    }

    // A copy of a ticket merged elsewhere: created open, then merged into `a`.
    let copy = merged_copy(&before, connector, 777_001, &a);
    let written = connector.create(&copy).await.unwrap();
    let made = read(connector, &written.id).await;
    assert_eq!(merged_into(&made), Some(a.clone()), "{made:?}");
    assert_eq!(
        written.updated_at, made.updated_at,
        "the version after the merge"
    );
    // Updating a copy already merged there writes nothing and answers its version.
    let again = connector.update(&written.id, &copy).await.unwrap();
    assert_eq!(again.updated_at, made.updated_at);
    assert_eq!(
        read(connector, &written.id).await.updated_at,
        made.updated_at
    );
}

#[tokio::test]
async fn zendesk_merges_and_reads_them_back() {
    let sim = zendesk_sim().await;
    let person = Person::zendesk(sim.url());
    let open = async |subject: &str| -> u64 {
        let t: Value = person
            .post(
                "/api/v2/tickets",
                json!({"ticket": {"subject": subject, "comment": {"body": "Hello"}}}),
            )
            .await;
        t["ticket"]["id"].as_u64().unwrap()
    };
    let (a, b) = (open("Target").await, open("Source").await);
    let connector = zendesk(Side::New, sim.url());
    check_merges(connector.as_ref(), a, b, true).await;
}

#[tokio::test]
async fn freshdesk_merges_and_reads_them_back() {
    let sim = freshdesk_sim().await;
    let person = Person::freshdesk(sim.url());
    let open = async |subject: &str| -> u64 {
        let t: Value = person
            .post(
                "/api/v2/tickets",
                json!({"subject": subject, "description": "Hello", "email": "dora@example.com",
                       "priority": 1, "status": 2}),
            )
            .await;
        t["id"].as_u64().unwrap()
    };
    let (a, b) = (open("Target").await, open("Source").await);
    let connector = freshdesk(Side::New, sim.url());
    check_merges(connector.as_ref(), a, b, false).await;
}
