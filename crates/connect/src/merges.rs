//! Ticket merges, as both connectors write them: a ticket whose canonical form names the ticket
//! it was merged into (`Ticket::merged_into`) is written as a merge on the platform
//! ([`Connector::merge`]), never as a field.
//!
//! - A copy made of a merged ticket is created open (a closed ticket cannot be merged), then
//!   merged into the copy of its target, which closes it as the platform's own merge does.
//! - An update of a copy that is not merged yet merges it; one already merged into that target is
//!   left as it is (a merged ticket is closed: Zendesk refuses any change of it). Fields changed
//!   in the same change as the merge are not written: the merge is.
//!
//! Each connector reads a merge back into `merged_into` (Zendesk: the `closed_by_merge` tag and
//! the merge's comment; Freshdesk: the merge's note on a closed ticket), so the copy of a merge
//! reads as equal to its original and is not sent back.

use cutover_model::records::Record;
use cutover_model::{PlatformId, RecordKind};

use crate::connector::{Connector, WriteOutcome, Written};
use crate::error::ConnectError;
use crate::outbound::Outbound;

/// The target's id of the ticket `outbound` was merged into, when it was.
pub(crate) fn target(outbound: &Outbound, op: &str) -> Result<Option<PlatformId>, ConnectError> {
    let Record::Ticket(ticket) = &outbound.record else {
        return Ok(None);
    };
    outbound.targets.require_opt(
        op,
        "merged_into",
        &[RecordKind::Ticket],
        ticket.merged_into.as_ref(),
    )
}

/// `outbound` as a ticket never merged, open (in the platform's word `open`): what is created
/// before the merge.
pub(crate) fn unmerged(outbound: &Outbound) -> Outbound {
    let mut plain = outbound.clone();
    if let Record::Ticket(ticket) = &mut plain.record {
        ticket.merged_into = None;
        "open".clone_into(&mut ticket.status);
        ticket.solved_at = None;
    }
    plain
}

/// After `written` (a copy just created open, or one found: an earlier attempt may have merged
/// it already), merges it into `into`; answers the write with the copy's version after the
/// merge.
pub(crate) async fn created<C: Connector + ?Sized>(
    connector: &C,
    mut written: Written,
    into: &PlatformId,
) -> Result<Written, ConnectError> {
    if written.outcome == WriteOutcome::Found {
        let merged = update(connector, &written.id, into).await?;
        written.updated_at = merged.updated_at.or(written.updated_at);
        return Ok(written);
    }
    connector
        .merge(into, std::slice::from_ref(&written.id))
        .await?;
    written.updated_at = version(connector, &written.id)
        .await?
        .or(written.updated_at);
    Ok(written)
}

/// Merges the copy `id` into `into` unless it is merged there already (read first: one
/// request); answers with the copy's version as it stands.
pub(crate) async fn update<C: Connector + ?Sized>(
    connector: &C,
    id: &PlatformId,
    into: &PlatformId,
) -> Result<Written, ConnectError> {
    let page = connector.read_one(RecordKind::Ticket, id).await?;
    let current = page.items.iter().find(|o| &o.id == id);
    let merged_there = current.is_some_and(|o| match &o.record {
        Record::Ticket(t) => t.merged_into.as_ref() == Some(into),
        _ => false,
    });
    let mut written = Written::new(id.clone(), WriteOutcome::Updated);
    if merged_there {
        written.updated_at = current.and_then(|o| o.updated_at);
        return Ok(written);
    }
    connector.merge(into, std::slice::from_ref(id)).await?;
    written.updated_at = version(connector, id).await?;
    Ok(written)
}

/// The update time ticket `id` shows now.
async fn version<C: Connector + ?Sized>(
    connector: &C,
    id: &PlatformId,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, ConnectError> {
    let page = connector.read_one(RecordKind::Ticket, id).await?;
    Ok(page
        .items
        .iter()
        .find(|o| &o.id == id)
        .and_then(|o| o.updated_at))
}
