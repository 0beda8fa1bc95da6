//! Reading for a verification: a ticket's children (in bulk where the platform can, else per
//! ticket), and the links (the listed
//! kinds are read page by page in `run`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use cutover_connect::{Connector, Page, ReadPosition};
use cutover_model::{Observed, PlatformId, RecordKind, Side};
use cutover_store::{Link, Store};

use futures::{StreamExt, TryStreamExt};

use crate::error::EngineError;
use crate::forms::Forms;

/// Records of both sides, read once: the comments and attachments of a part of the tickets.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Records by kind and side.
    pub records: BTreeMap<(RecordKind, Side), Vec<Observed>>,
    /// Records a side could not read, by kind and side.
    pub unreadable: BTreeMap<(RecordKind, Side), u64>,
    /// Where the old side's attachments read per ticket can be downloaded, by id: a comment
    /// whose inline images the plan keeps as links points at these addresses.
    pub sources: BTreeMap<PlatformId, url::Url>,
}

/// The children of `tickets` that `connector` reads in bulk (see
/// [`Connector::read_children_of_many`]), by ticket.
pub(super) async fn read_children_ahead(
    connector: &dyn Connector,
    tickets: &[PlatformId],
) -> Result<HashMap<PlatformId, Page>, EngineError> {
    if tickets.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(connector
        .read_children_of_many(tickets)
        .await?
        .into_iter()
        .collect())
}

/// Reads every comment (with its attachments) of one ticket, or takes them from `ahead`
/// (read in bulk).
pub(super) async fn read_ticket_children(
    connector: &dyn Connector,
    ticket: &PlatformId,
    ahead: &mut HashMap<PlatformId, Page>,
    snapshot: &mut Snapshot,
) -> Result<(), EngineError> {
    let side = connector.side();
    let mut position = ReadPosition::start();
    let mut ahead = ahead.remove(ticket);
    loop {
        let page = match ahead.take() {
            Some(page) => page,
            None => {
                connector
                    .read_children(RecordKind::Comment, ticket, &position)
                    .await?
            }
        };
        if side == Side::Old {
            let sources = page
                .attachments
                .iter()
                .map(|a| (a.id.clone(), a.url.clone()));
            snapshot.sources.extend(sources);
        }
        keep(
            snapshot,
            side,
            page.items,
            page.rejected.iter().map(|r| r.kind),
        );
        match page.next {
            Some(next) if !page.done && next != position => position = next,
            _ => return Ok(()),
        }
    }
}

fn keep(
    snapshot: &mut Snapshot,
    side: Side,
    items: Vec<Observed>,
    rejected: impl Iterator<Item = RecordKind>,
) {
    for item in items {
        let key = (item.record.kind(), side);
        snapshot.records.entry(key).or_default().push(item);
    }
    for kind in rejected {
        *snapshot.unreadable.entry((kind, side)).or_default() += 1;
    }
}

/// Every link of `kinds` and of the kinds they refer to, except the kinds read per ticket
/// (`per_ticket`: their links are looked up part by part, see [`part_links`]), into `forms`.
pub(super) async fn load_links(
    store: &dyn Store,
    kinds: &[RecordKind],
    per_ticket: &[RecordKind],
    forms: &mut Forms,
) -> Result<(), EngineError> {
    let mut wanted: BTreeSet<RecordKind> = kinds.iter().copied().collect();
    for kind in kinds {
        wanted.extend(kind.parents().iter().copied());
    }
    for kind in wanted.into_iter().filter(|k| !per_ticket.contains(k)) {
        let mut after: Option<PlatformId> = None;
        loop {
            let page = store.links(kind, after.as_ref(), 1000).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.link.old_id.clone());
            let links: Vec<Link> = page.into_iter().map(|s| s.link).collect();
            forms.add_links(&links);
        }
    }
    Ok(())
}

/// Lookups of the store in flight at once while a part's links are found.
const LINK_LOOKUPS_IN_FLIGHT: usize = 8;

/// The links of the records in a part (a ticket's children on both sides), each looked up by
/// its id: an old record's by its old id, a new record's by its new id unless its old
/// counterpart's link named it already.
pub(super) async fn part_links(
    store: &dyn Store,
    part: &Snapshot,
) -> Result<Vec<Link>, EngineError> {
    let mut links: Vec<Link> = Vec::new();
    for side in Side::BOTH {
        let named: BTreeSet<(RecordKind, &PlatformId)> =
            links.iter().map(|l| (l.kind, l.id(side))).collect();
        let wanted: Vec<(RecordKind, PlatformId)> = part
            .records
            .iter()
            .filter(|((_, s), _)| *s == side)
            .flat_map(|((kind, _), records)| records.iter().map(move |o| (*kind, o.id.clone())))
            .filter(|(kind, id)| !named.contains(&(*kind, id)))
            .collect();
        let found: Vec<Option<cutover_store::StoredLink>> = futures::stream::iter(
            wanted
                .iter()
                .map(|(kind, id)| store.find_link(*kind, side, id)),
        )
        .buffered(LINK_LOOKUPS_IN_FLIGHT)
        .try_collect()
        .await?;
        links.extend(found.into_iter().flatten().map(|s| s.link));
    }
    Ok(links)
}
