//! Reading records by id, many at once: Zendesk's `show_many` reads up to a hundred tickets,
//! contacts or organizations a request, each as reading it alone does (a ticket with its
//! `solved_at`); a record gone is left out; Freshdesk reads one by one.

use cutover_connect::{Connector, ReadPosition};
use cutover_model::{Observed, PlatformId, RecordKind, Side};

use crate::support::{freshdesk, freshdesk_sim, zendesk, zendesk_sim};

/// Every id of `kind` the connector lists.
async fn ids(connector: &dyn Connector, kind: RecordKind) -> Vec<PlatformId> {
    let mut ids = Vec::new();
    let mut position = ReadPosition::start();
    loop {
        let page = connector.read_page(kind, &position).await.unwrap();
        ids.extend(
            page.items
                .iter()
                .filter(|o| o.record.kind() == kind)
                .map(|o| o.id.clone()),
        );
        match page.next {
            Some(next) if !page.done && next != position => position = next,
            _ => return ids,
        }
    }
}

/// `read_many` answers what `read_one` answers for each id, and leaves out one that is gone.
/// Answers the requests it took.
async fn check(connector: &dyn Connector, kind: RecordKind) -> u64 {
    let mut wanted = ids(connector, kind).await;
    assert!(wanted.len() >= 2, "{kind}: too few to read many");
    let mut one_by_one: Vec<Observed> = Vec::new();
    for id in &wanted {
        let page = connector.read_one(kind, id).await.unwrap();
        one_by_one.extend(page.items.into_iter().filter(|o| o.record.kind() == kind));
    }
    wanted.push(PlatformId::from(987_654_321));
    let before = connector.budget().stats().requests;
    let page = connector.read_many(kind, &wanted).await.unwrap();
    let took = connector.budget().stats().requests - before;
    let mut many: Vec<Observed> = page
        .items
        .into_iter()
        .filter(|o| o.record.kind() == kind)
        .collect();
    many.sort_by(|a, b| a.id.cmp(&b.id));
    one_by_one.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(many, one_by_one, "{kind}");
    took
}

#[tokio::test]
async fn zendesk_reads_tickets_contacts_and_organizations_a_hundred_to_a_request() {
    let sim = zendesk_sim().await;
    let connector = zendesk(Side::Old, sim.url());
    assert_eq!(check(connector.as_ref(), RecordKind::Contact).await, 1);
    assert_eq!(check(connector.as_ref(), RecordKind::Organization).await, 1);
    assert_eq!(check(connector.as_ref(), RecordKind::Ticket).await, 1);
}

#[tokio::test]
async fn freshdesk_reads_by_id_one_by_one() {
    let sim = freshdesk_sim().await;
    let connector = freshdesk(Side::New, sim.url());
    let contacts = ids(connector.as_ref(), RecordKind::Contact).await.len() as u64;
    assert_eq!(
        check(connector.as_ref(), RecordKind::Contact).await,
        contacts + 1
    );
}
