//! The comments of tickets imported in bulk into Zendesk, linked later in bulk: a backfill's
//! import (`Outbound::batch`) answers without its comments' ids, and `children_later` matches
//! them, many tickets at once, from the ticket events export once it shows the import (a minute
//! later), instead of reading each ticket's comments back; what the export does not show yet is
//! read per ticket when the pass finishes.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::Utc;
use cutover_connect::{
    Connector, LaterCopy, Origin, Outbound, ReadPosition, TargetIds, WriteOutcome, references,
};
use cutover_model::records::Record;
use cutover_model::{Observed, PlatformId, PlatformKind, RecordKind, Side};

use crate::support::{ZendeskHandle, zendesk, zendesk_sim};

/// An outbound whose references point at the records themselves (copied within one account).
fn outbound(kind: RecordKind, id: &PlatformId, record: Record) -> Outbound {
    let origin = Origin {
        side: Side::Old,
        platform: PlatformKind::Freshdesk,
        kind,
        id: PlatformId::parse(format!("9{id}")).unwrap(),
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
    outbound.batch = true;
    outbound
}

/// A copy of each of the account's tickets with its comments, as a backfill sends it.
async fn copies(connector: &dyn Connector) -> Vec<Outbound> {
    let page = connector
        .read_page(RecordKind::Ticket, &ReadPosition::start())
        .await
        .unwrap();
    let tickets: Vec<Observed> = page
        .items
        .into_iter()
        .filter(|o| o.record.kind() == RecordKind::Ticket)
        .collect();
    let mut copies = Vec::new();
    for ticket in tickets {
        let children = connector
            .read_children(RecordKind::Comment, &ticket.id, &ReadPosition::start())
            .await
            .unwrap();
        let mut copy = outbound(RecordKind::Ticket, &ticket.id, ticket.record.clone());
        if let Record::Ticket(t) = &mut copy.record {
            t.merged_into = None;
        }
        copy.children = children
            .items
            .iter()
            .filter(|o| o.record.kind() == RecordKind::Comment)
            .map(|c| outbound(RecordKind::Comment, &c.id, c.record.clone()))
            .collect();
        if !copy.children.is_empty() {
            copies.push(copy);
        }
    }
    copies
}

/// Creates the copies together (one import job); each answers with its children for later.
async fn import(connector: &Arc<dyn Connector>, copies: &[Outbound]) -> Vec<LaterCopy> {
    let tasks: Vec<_> = copies
        .iter()
        .map(|copy| {
            let (connector, copy) = (Arc::clone(connector), copy.clone());
            tokio::spawn(async move { connector.create(&copy).await })
        })
        .collect();
    let mut written = Vec::new();
    for task in tasks {
        written.push(task.await.unwrap().unwrap());
    }
    written
        .into_iter()
        .zip(copies)
        .map(|(written, sent)| {
            assert_eq!(written.outcome, WriteOutcome::Created);
            assert!(written.children_later && written.children.is_empty());
            LaterCopy {
                id: written.id,
                written_at: Utc::now(),
                sent: sent.clone(),
            }
        })
        .collect()
}

/// The origins of every comment sent with the copies.
fn sent_comments(copies: &[LaterCopy]) -> BTreeSet<String> {
    copies
        .iter()
        .flat_map(|c| c.sent.children.iter().map(|child| child.origin.mark()))
        .collect()
}

fn linked(matched: &[(PlatformId, Vec<cutover_connect::WrittenChild>)]) -> BTreeSet<String> {
    matched
        .iter()
        .flat_map(|(_, children)| children.iter())
        .filter(|child| child.origin.kind == RecordKind::Comment)
        .map(|child| child.origin.mark())
        .collect()
}

fn advance(sim: &ZendeskHandle, seconds: i64) {
    sim.state()
        .clock()
        .advance(chrono::Duration::seconds(seconds));
}

#[tokio::test]
async fn comments_imported_in_bulk_are_linked_from_the_events_export_not_ticket_by_ticket() {
    let sim = zendesk_sim().await;
    let connector = zendesk(Side::New, sim.url());
    let sent = copies(connector.as_ref()).await;
    assert!(sent.len() >= 2, "too few tickets with comments");
    let mut later = import(&connector, &sent).await;

    // The export leaves out its last minute: nothing is matched yet, and nothing is read.
    let before = connector.budget().stats().requests;
    let early = connector.children_later(&later, false).await.unwrap();
    assert!(early.is_empty(), "{early:?}");
    assert_eq!(connector.budget().stats().requests, before);

    // A minute later (on both clocks) the export shows the import: every comment is matched,
    // each to its own copy, in one read of the export.
    advance(&sim, 120);
    for copy in &mut later {
        copy.written_at -= chrono::Duration::seconds(120);
    }
    let before = connector.budget().stats().requests;
    let matched = connector.children_later(&later, false).await.unwrap();
    let took = connector.budget().stats().requests - before;
    assert_eq!(matched.len(), later.len(), "{matched:?}");
    assert_eq!(linked(&matched), sent_comments(&later));
    assert!(took <= 2, "{took} requests for {} tickets", later.len());
    let ids: BTreeSet<&PlatformId> = matched
        .iter()
        .flat_map(|(_, children)| children.iter().map(|c| &c.id))
        .collect();
    let n_children: usize = matched.iter().map(|(_, c)| c.len()).sum();
    assert_eq!(ids.len(), n_children, "no copy handed to two comments");
}

#[tokio::test]
async fn what_the_export_does_not_show_yet_is_read_per_ticket_when_the_pass_finishes() {
    let sim = zendesk_sim().await;
    let connector = zendesk(Side::New, sim.url());
    let sent = copies(connector.as_ref()).await;
    let later = import(&connector, &sent).await;
    // Fewer than a batch, just written: read back one ticket a request, not waited for.
    let before = connector.budget().stats().requests;
    let matched = connector.children_later(&later, true).await.unwrap();
    let took = connector.budget().stats().requests - before;
    assert_eq!(matched.len(), later.len());
    assert_eq!(linked(&matched), sent_comments(&later));
    assert_eq!(took, later.len() as u64);
}
