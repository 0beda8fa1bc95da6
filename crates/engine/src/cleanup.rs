//! Undoing a move: deleting from one platform exactly what cutover created there, and nothing
//! else.
//!
//! What to delete comes from the store's ledger of created records (`created_records`), written
//! in the transaction that commits each created record's link. A record cutover *found* on the
//! platform and linked (a group, role, field or agent matched by name or e-mail, a contact
//! matched by e-mail) is never in it, so it stays. Comments and files go with their ticket.
//!
//! Records are deleted in [`ORDER`]: rules first, then tickets, people and organizations,
//! groups and fields last (nothing refers to a record after its referrers are gone). Each
//! delete is followed by one store transaction that forgets the record and its link, so a
//! cleanup cut short goes on where it stopped. A delete the platform refuses goes to the dead
//! letters (reason [`CLEANUP_FAILED`] and the platform's words) and the run goes on; its record
//! stays in the ledger for the next run. Only a refusal of the credentials stops the run.

use std::collections::BTreeMap;
use std::sync::Arc;

use cutover_connect::{ConnectError, Connector, ErrorClass};
use cutover_model::{PlatformId, RecordKind, Side};
use cutover_store::{CreatedRecord, NewAuditEntry, NewDeadLetter, Store};
use serde::Serialize;
use serde_json::json;

use crate::cursor;
use crate::error::EngineError;
use crate::progress::{Counts, ProgressEvent, ProgressSink};

/// The reason a record cutover could not delete is kept under in the dead letters.
pub const CLEANUP_FAILED: &str = "cleanup: the platform refused the delete";

/// The order records are deleted in: what refers to others first, what is referred to last.
pub const ORDER: [RecordKind; 16] = [
    RecordKind::ChannelConfig,
    RecordKind::TicketForm,
    RecordKind::View,
    RecordKind::SlaPolicy,
    RecordKind::Automation,
    RecordKind::Macro,
    RecordKind::SatisfactionRating,
    RecordKind::Attachment,
    RecordKind::Comment,
    RecordKind::Ticket,
    RecordKind::Contact,
    RecordKind::Organization,
    RecordKind::Agent,
    RecordKind::Role,
    RecordKind::Group,
    RecordKind::CustomField,
];

/// What a cleanup of one side would delete (or has left to delete), in [`ORDER`].
#[derive(Debug, Clone, Serialize)]
pub struct CleanupPlan {
    /// The platform records are deleted from.
    pub side: Side,
    /// The records, kind by kind in [`ORDER`].
    pub kinds: Vec<KindToDelete>,
}

/// The records of one kind to delete.
#[derive(Debug, Clone, Serialize)]
pub struct KindToDelete {
    /// Their kind.
    pub kind: RecordKind,
    /// Their ids on the side cleaned.
    pub ids: Vec<PlatformId>,
}

impl CleanupPlan {
    /// How many records in all.
    pub fn total(&self) -> usize {
        self.kinds.iter().map(|k| k.ids.len()).sum()
    }
}

/// What a cleanup did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CleanupReport {
    /// Records deleted, by kind.
    pub deleted: BTreeMap<RecordKind, u64>,
    /// Records the platform refused to delete (now dead letters), by kind.
    pub failed: BTreeMap<RecordKind, u64>,
    /// Whether this run went on from one cut short.
    pub resumed: bool,
}

impl CleanupReport {
    /// Records the platform refused to delete, in all.
    pub fn n_failed(&self) -> u64 {
        self.failed.values().sum()
    }
}

/// The run-state key that says a cleanup of `side` is under way.
fn state_key(side: Side) -> String {
    format!("cleanup:{side}")
}

/// What cutover created on `side` and has not deleted yet, in [`ORDER`].
pub async fn plan(store: &dyn Store, side: Side) -> Result<CleanupPlan, EngineError> {
    let mut by_kind: BTreeMap<RecordKind, Vec<PlatformId>> = BTreeMap::new();
    let mut after: Option<CreatedRecord> = None;
    loop {
        let page = store
            .created_records(side, after.as_ref().map(|r| (r.kind, &r.id)), 500)
            .await?;
        let Some(last) = page.last().cloned() else {
            break;
        };
        for record in page {
            by_kind.entry(record.kind).or_default().push(record.id);
        }
        after = Some(last);
    }
    let kinds = ORDER
        .iter()
        .filter_map(|kind| {
            let ids = by_kind.remove(kind)?;
            Some(KindToDelete { kind: *kind, ids })
        })
        .collect();
    Ok(CleanupPlan { side, kinds })
}

/// Deletes every record of `plan` from `target` (the connector of `plan.side`), forgetting each
/// in the store once it is gone; audited at the start and the end. `progress` hears of each
/// record (done and total of its kind; refusals as dead letters). Then the backfill's cursors on the other side are cleared,
/// so a later backfill copies again what was deleted.
pub async fn run(
    store: Arc<dyn Store>,
    target: Arc<dyn Connector>,
    plan: &CleanupPlan,
    actor: &str,
    progress: &ProgressSink,
) -> Result<CleanupReport, EngineError> {
    let side = plan.side;
    let key = state_key(side);
    let mut report = CleanupReport {
        resumed: store.run_state(&key).await?.is_some(),
        ..CleanupReport::default()
    };
    let counts: BTreeMap<String, usize> = plan
        .kinds
        .iter()
        .map(|k| (k.kind.to_string(), k.ids.len()))
        .collect();
    {
        let mut tx = store.begin().await?;
        tx.put_run_state(&key, &json!({"to_delete": counts}))
            .await?;
        tx.append_audit(&NewAuditEntry::new(
            actor,
            "cleanup.start",
            json!({"side": side, "platform": target.platform(), "to_delete": counts,
                   "resumed": report.resumed}),
        ))
        .await?;
        tx.commit().await?;
    }
    for group in &plan.kinds {
        let started = std::time::Instant::now();
        let total = group.ids.len() as u64;
        for (idx, id) in group.ids.iter().enumerate() {
            delete_one(
                store.as_ref(),
                target.as_ref(),
                side,
                group.kind,
                id,
                &mut report,
            )
            .await?;
            let done = idx as u64 + 1;
            progress.report(&ProgressEvent {
                kind: group.kind,
                done,
                total: Some(total),
                rate: done as f64 / started.elapsed().as_secs_f64().max(1e-3),
                counts: Counts {
                    read: done,
                    dead_lettered: report.failed.get(&group.kind).copied().unwrap_or(0),
                    ..Counts::default()
                },
                finished: done == total,
            });
        }
        tracing::info!(kind = %group.kind, %side, deleted = report.deleted.get(&group.kind).copied().unwrap_or(0), "Kind cleaned up.");
    }
    let mut tx = store.begin().await?;
    for kind in RecordKind::ALL {
        tx.clear_cursor(side.other(), &cursor::stream(*kind))
            .await?;
    }
    tx.delete_run_state(&key).await?;
    tx.append_audit(&NewAuditEntry::new(
        actor,
        "cleanup.finish",
        json!({"side": side, "platform": target.platform(), "deleted": report.deleted,
               "failed": report.failed}),
    ))
    .await?;
    tx.commit().await?;
    Ok(report)
}

/// Deletes one record and forgets it, or keeps the platform's refusal as a dead letter.
async fn delete_one(
    store: &dyn Store,
    target: &dyn Connector,
    side: Side,
    kind: RecordKind,
    id: &PlatformId,
    report: &mut CleanupReport,
) -> Result<(), EngineError> {
    match target.delete(kind, id).await {
        Ok(()) => {
            let mut tx = store.begin().await?;
            tx.forget_created(side, kind, id).await?;
            tx.commit().await?;
            *report.deleted.entry(kind).or_default() += 1;
        }
        Err(e) if e.class() == ErrorClass::Auth => return Err(e.into()),
        Err(e) => {
            tracing::warn!(%kind, %id, %side, error = %e, "The platform refused a delete; kept in the dead letters.");
            let mut tx = store.begin().await?;
            tx.put_dead_letter(&refused(side, kind, id, &e, target))
                .await?;
            tx.commit().await?;
            *report.failed.entry(kind).or_default() += 1;
        }
    }
    Ok(())
}

/// The dead letter of a delete the platform refused: what, where, and what to do.
fn refused(
    side: Side,
    kind: RecordKind,
    id: &PlatformId,
    error: &ConnectError,
    target: &dyn Connector,
) -> NewDeadLetter {
    let page = target.record_url(kind, id).map(|url| url.to_string());
    NewDeadLetter {
        kind,
        side,
        source_id: id.clone(),
        reason: CLEANUP_FAILED.to_owned(),
        record: json!({
            "error": error.to_string(),
            "platform": target.platform(),
            "page": page,
            "next": format!(
                "delete {kind} {id} on {} by hand, or run `cutover cleanup --side {side}` again",
                target.platform()
            ),
        }),
    }
}
