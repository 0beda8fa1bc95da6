//! Undoing a move: deleting from one platform exactly what cutover created there, and nothing
//! else.
//!
//! What to delete comes from the store's ledger of created records (`created_records`), written
//! in the transaction that commits each created record's link. A record cutover *found* on the
//! platform and linked (a group, role, field or agent matched by name or e-mail, a contact
//! matched by e-mail) is never in it, so it stays. Comments and files go with their ticket (the
//! ledger keeps each one's parent, and they are forgotten, links and all, with it); a comment
//! cutover added to a ticket it did not create is removed on its own, as the platform can
//! ([`Connector::comment_removal`]: Freshdesk deletes a note, Zendesk only redacts a comment).
//!
//! What cutover adds to a platform's set-up that is no record of the move is in the same ledger,
//! under its own kinds ([`SetupKind`]): the brands and ticket types the plan creates (noted when
//! they are added), the group memberships an agent's copy is given (noted with the agent's
//! link). They are removed after the records, by their ids, and only those: a membership an
//! agent had before the move, or a type the account listed, is never in the ledger.
//!
//! Records are deleted in [`ORDER`]: rules first, then tickets, people and organizations,
//! groups and fields last (nothing refers to a record after its referrers are gone). Each
//! delete is followed by one store transaction that forgets the record and its link, so a
//! cleanup cut short goes on where it stopped. A delete the platform refuses goes to the dead
//! letters (reason [`CLEANUP_FAILED`] and the platform's words) and the run goes on; its record
//! stays in the ledger for the next run. Only a refusal of the credentials stops the run. What
//! the platform's API has no delete for (Freshdesk's canned responses and SLA policies) is
//! sorted out before anything is deleted ([`CleanupPlan::sort_out`]): listed by the dry run and
//! the report as left, to delete by hand, and kept in the ledger.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use cutover_connect::{CommentRemoval, ConnectError, Connector, ErrorClass};
use cutover_model::{PlatformId, RecordKind, SetupKind, Side};
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
    /// What cutover created there that the platform's API cannot delete (see
    /// [`CleanupPlan::sort_out`]): listed and left, to delete by hand.
    pub left: Vec<KindLeft>,
    /// How the comments of [`CleanupPlan::kinds`] (those cutover added to tickets it did not
    /// create) are removed; `None` until sorted out.
    pub comments: Option<CommentRemoval>,
    /// What cutover added to the platform's set-up (brands, ticket types, group memberships),
    /// removed after the records, kind by kind in [`SetupKind::ALL`]'s order.
    pub setup: Vec<SetupToRemove>,
    /// The ticket of each such comment.
    #[serde(skip)]
    tickets: BTreeMap<PlatformId, PlatformId>,
    /// What goes with a record, by its id: a ticket's comments and files, a comment's files.
    /// They are forgotten with it, in the same transaction.
    #[serde(skip)]
    children: BTreeMap<PlatformId, Vec<(RecordKind, PlatformId)>>,
    /// The agents cutover found on the platform and linked (their ids there): their links are
    /// forgotten at the end when groups, roles or memberships cutover made go (see
    /// [`found_agents_to_forget`]).
    #[serde(skip)]
    found_agents: Vec<PlatformId>,
}

/// The records of one kind a cleanup leaves, and why.
#[derive(Debug, Clone, Serialize)]
pub struct KindLeft {
    /// Their kind.
    pub kind: RecordKind,
    /// Their ids on the side cleaned.
    pub ids: Vec<PlatformId>,
    /// Why they stay (the platform's API has no such delete).
    pub why: String,
}

/// The set-up items of one kind to remove.
#[derive(Debug, Clone, Serialize)]
pub struct SetupToRemove {
    /// Their kind.
    pub kind: SetupKind,
    /// Each one's id on the side cleaned and what it is.
    pub items: Vec<SetupItem>,
}

/// One set-up item cutover added.
#[derive(Debug, Clone, Serialize)]
pub struct SetupItem {
    /// Its id (a ticket type's is its name).
    pub id: PlatformId,
    /// What it is, for people.
    pub name: String,
    /// The record it belongs to (a membership's agent), whose link is forgotten with it.
    pub parent: Option<PlatformId>,
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
    /// How many records and set-up items to delete in all.
    pub fn total(&self) -> usize {
        self.kinds.iter().map(|k| k.ids.len()).sum::<usize>()
            + self.setup.iter().map(|k| k.items.len()).sum::<usize>()
    }

    /// How many records are left in all.
    pub fn n_left(&self) -> usize {
        self.left.iter().map(|k| k.ids.len()).sum()
    }

    /// Moves what `target` (the connector of the side cleaned) cannot delete to
    /// [`CleanupPlan::left`], with its reason, before anything is deleted.
    #[must_use]
    pub fn sort_out(mut self, target: &dyn Connector) -> Self {
        let mut left: BTreeMap<(RecordKind, String), Vec<PlatformId>> = BTreeMap::new();
        let removal = target.comment_removal();
        self.comments = Some(removal);
        for group in &mut self.kinds {
            let tickets = &self.tickets;
            group.ids.retain(
                |id| match undeletable(target, removal, tickets, group.kind, id) {
                    Some(why) => {
                        left.entry((group.kind, why)).or_default().push(id.clone());
                        false
                    }
                    None => true,
                },
            );
        }
        self.kinds.retain(|k| !k.ids.is_empty());
        self.left = left
            .into_iter()
            .map(|((kind, why), ids)| KindLeft { kind, ids, why })
            .collect();
        self
    }

    /// What goes with record `id`: its children, theirs, and so on.
    fn descendants(&self, id: &PlatformId) -> Vec<(RecordKind, PlatformId)> {
        let mut out = Vec::new();
        let mut stack = vec![id.clone()];
        while let Some(parent) = stack.pop() {
            for (kind, child) in self.children.get(&parent).into_iter().flatten() {
                // A child id equal to one seen (a comment and a ticket may share an id) ends the
                // walk there, so it ends.
                if out.iter().all(|(_, seen)| seen != child) {
                    out.push((*kind, child.clone()));
                    stack.push(child.clone());
                }
            }
        }
        out
    }
}

/// Why `target` cannot remove record `id` of `kind`, or `None` when it can; a comment (one
/// cutover added to a ticket it did not create) by `removal`.
fn undeletable(
    target: &dyn Connector,
    removal: CommentRemoval,
    tickets: &BTreeMap<PlatformId, PlatformId>,
    kind: RecordKind,
    id: &PlatformId,
) -> Option<String> {
    if kind != RecordKind::Comment {
        return target.undeletable(kind, id);
    }
    if !tickets.contains_key(id) {
        return Some("cutover did not keep its ticket".to_owned());
    }
    (removal == CommentRemoval::Keep)
        .then(|| format!("{}'s API removes no comment", target.platform()))
}

impl CleanupPlan {
    /// Adds what cutover set up on the platform for its own use ([`Connector::own_setup`]:
    /// Freshdesk's origin fields), deleted last, with the records of its kind.
    pub async fn with_own_setup(mut self, target: &dyn Connector) -> Result<Self, EngineError> {
        for (kind, id) in target.own_setup().await? {
            let group = match self.kinds.iter_mut().position(|g| g.kind == kind) {
                Some(at) => &mut self.kinds[at],
                None => {
                    let rank = |k: RecordKind| ORDER.iter().position(|o| *o == k);
                    let at = self
                        .kinds
                        .iter()
                        .position(|g| rank(g.kind) > rank(kind))
                        .unwrap_or(self.kinds.len());
                    self.kinds.insert(
                        at,
                        KindToDelete {
                            kind,
                            ids: Vec::new(),
                        },
                    );
                    &mut self.kinds[at]
                }
            };
            if !group.ids.contains(&id) {
                group.ids.push(id);
            }
        }
        Ok(self)
    }
}

/// What a cleanup did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CleanupReport {
    /// Records deleted, by kind.
    pub deleted: BTreeMap<RecordKind, u64>,
    /// Records the platform refused to delete (now dead letters), by kind.
    pub failed: BTreeMap<RecordKind, u64>,
    /// Set-up items removed, by kind.
    pub setup_removed: BTreeMap<SetupKind, u64>,
    /// Set-up items the platform refused to remove (kept in the ledger for the next run), by
    /// kind.
    pub setup_failed: BTreeMap<SetupKind, u64>,
    /// Records left because the platform's API cannot delete them, by kind.
    pub left: BTreeMap<RecordKind, u64>,
    /// Comments on tickets cutover did not create whose text and files were redacted (the
    /// platform's API cannot delete a comment): left, blanked.
    pub redacted: u64,
    /// Whether this run went on from one cut short.
    pub resumed: bool,
}

impl CleanupReport {
    /// Records and set-up items the platform refused to delete, in all.
    pub fn n_failed(&self) -> u64 {
        self.failed.values().sum::<u64>() + self.setup_failed.values().sum::<u64>()
    }
}

/// The run-state key that says a cleanup of `side` is under way.
fn state_key(side: Side) -> String {
    format!("cleanup:{side}")
}

/// What cutover created on `side` and has not deleted yet, in [`ORDER`].
pub async fn plan(store: &dyn Store, side: Side) -> Result<CleanupPlan, EngineError> {
    let mut records = Vec::new();
    loop {
        let page = store
            .created_records(
                side,
                records.last().map(|r: &CreatedRecord| (r.kind, &r.id)),
                500,
            )
            .await?;
        if page.is_empty() {
            break;
        }
        records.extend(page);
    }
    let created_tickets: BTreeSet<&PlatformId> = records
        .iter()
        .filter(|r| r.kind == RecordKind::Ticket)
        .map(|r| &r.id)
        .collect();
    let mut by_kind: BTreeMap<RecordKind, Vec<PlatformId>> = BTreeMap::new();
    let mut tickets = BTreeMap::new();
    let mut children: BTreeMap<PlatformId, Vec<(RecordKind, PlatformId)>> = BTreeMap::new();
    for record in &records {
        let goes_with = match (record.kind, &record.parent) {
            // A comment added to a ticket cutover did not create is removed on its own.
            (RecordKind::Comment, Some(ticket)) if !created_tickets.contains(ticket) => {
                tickets.insert(record.id.clone(), ticket.clone());
                None
            }
            // A rating of a ticket cutover did not create is listed on its own (and left:
            // neither platform deletes one).
            (RecordKind::SatisfactionRating, Some(ticket)) if !created_tickets.contains(ticket) => {
                None
            }
            (
                RecordKind::Comment | RecordKind::Attachment | RecordKind::SatisfactionRating,
                Some(parent),
            ) => Some(parent),
            _ => None,
        };
        match goes_with {
            Some(parent) => children
                .entry(parent.clone())
                .or_default()
                .push((record.kind, record.id.clone())),
            None => by_kind
                .entry(record.kind)
                .or_default()
                .push(record.id.clone()),
        }
    }
    let kinds = ORDER
        .iter()
        .filter_map(|kind| {
            let ids = by_kind.remove(kind)?;
            Some(KindToDelete { kind: *kind, ids })
        })
        .collect();
    let mut setup = Vec::new();
    for kind in SetupKind::ALL {
        let items: Vec<SetupItem> = store
            .created_setup(side, kind)
            .await?
            .into_iter()
            .map(|added| SetupItem {
                id: added.id,
                name: added.name,
                parent: added.parent,
            })
            .collect();
        if !items.is_empty() {
            setup.push(SetupToRemove { kind, items });
        }
    }
    let created_agents: BTreeSet<&PlatformId> = records
        .iter()
        .filter(|r| r.kind == RecordKind::Agent)
        .map(|r| &r.id)
        .collect();
    let mut found_agents = Vec::new();
    let mut after: Option<PlatformId> = None;
    loop {
        let page = store.links(RecordKind::Agent, after.as_ref(), 500).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.link.old_id.clone());
        found_agents.extend(
            page.iter()
                .map(|stored| stored.link.id(side).clone())
                .filter(|id| !created_agents.contains(id)),
        );
    }
    Ok(CleanupPlan {
        side,
        kinds,
        setup,
        left: Vec::new(),
        comments: None,
        tickets,
        children,
        found_agents,
    })
}

/// The agents whose links a cleanup that did `report` forgets: the agents cutover found on the
/// platform, once a group or role it made (the agent's copy was given it) or a membership it
/// added is gone. Their links are kept otherwise, and an unchanged record is not written again,
/// so a later backfill would leave them without their groups and role; without their links it
/// finds them anew by e-mail and gives them those again.
fn found_agents_to_forget<'p>(plan: &'p CleanupPlan, report: &CleanupReport) -> &'p [PlatformId] {
    let referred_gone = [RecordKind::Group, RecordKind::Role]
        .iter()
        .any(|kind| report.deleted.get(kind).copied().unwrap_or(0) > 0)
        || report
            .setup_removed
            .contains_key(&SetupKind::GroupMembership);
    if referred_gone {
        &plan.found_agents
    } else {
        &[]
    }
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
        left: plan
            .left
            .iter()
            .map(|k| (k.kind, k.ids.len() as u64))
            .collect(),
        ..CleanupReport::default()
    };
    let counts: BTreeMap<String, usize> = plan
        .kinds
        .iter()
        .map(|k| (k.kind.to_string(), k.ids.len()))
        .chain(
            plan.setup
                .iter()
                .map(|k| (k.kind.to_string(), k.items.len())),
        )
        .collect();
    {
        let mut tx = store.begin().await?;
        tx.put_run_state(&key, &json!({"to_delete": counts}))
            .await?;
        tx.append_audit(&NewAuditEntry::new(
            actor,
            "cleanup.start",
            json!({"side": side, "platform": target.platform(), "to_delete": counts,
                   "left": report.left, "resumed": report.resumed}),
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
                plan,
                (group.kind, id),
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
    for group in &plan.setup {
        for item in &group.items {
            remove_setup(
                store.as_ref(),
                target.as_ref(),
                side,
                group.kind,
                item,
                &mut report,
            )
            .await?;
        }
    }
    let mut tx = store.begin().await?;
    for kind in RecordKind::ALL {
        tx.clear_cursor(side.other(), &cursor::stream(*kind))
            .await?;
    }
    for agent in found_agents_to_forget(plan, &report) {
        tx.forget_created(side, RecordKind::Agent, agent).await?;
    }
    tx.delete_run_state(&key).await?;
    tx.append_audit(&NewAuditEntry::new(
        actor,
        "cleanup.finish",
        json!({"side": side, "platform": target.platform(), "deleted": report.deleted,
               "failed": report.failed, "left": report.left,
               "setup_removed": report.setup_removed, "setup_failed": report.setup_failed}),
    ))
    .await?;
    tx.commit().await?;
    Ok(report)
}

/// Deletes one record (a comment on a ticket cutover did not create: removes it as the platform
/// can) and forgets it with what goes with it, or keeps the platform's refusal as a dead letter.
async fn delete_one(
    store: &dyn Store,
    target: &dyn Connector,
    plan: &CleanupPlan,
    (kind, id): (RecordKind, &PlatformId),
    report: &mut CleanupReport,
) -> Result<(), EngineError> {
    let side = plan.side;
    let ticket = plan.tickets.get(id).filter(|_| kind == RecordKind::Comment);
    let removed = match ticket {
        Some(ticket) => target.remove_comment(ticket, id).await,
        None => target.delete_created(kind, id).await,
    };
    match removed {
        Ok(()) => {
            let mut tx = store.begin().await?;
            tx.forget_created(side, kind, id).await?;
            for (child_kind, child) in plan.descendants(id) {
                tx.forget_created(side, child_kind, &child).await?;
            }
            tx.commit().await?;
            if ticket.is_some() && plan.comments == Some(CommentRemoval::Redact) {
                report.redacted += 1;
            } else {
                *report.deleted.entry(kind).or_default() += 1;
            }
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

/// Removes one set-up item cutover added and forgets it; a refusal (but of the credentials) is
/// logged and counted, and the item kept in the ledger for the next run.
async fn remove_setup(
    store: &dyn Store,
    target: &dyn Connector,
    side: Side,
    kind: SetupKind,
    item: &SetupItem,
    report: &mut CleanupReport,
) -> Result<(), EngineError> {
    match target.delete_setup(kind, &item.id).await {
        Ok(()) => {
            let mut tx = store.begin().await?;
            tx.forget_setup(side, kind, &item.id).await?;
            // An agent found on the platform keeps its link, and an unchanged record is not
            // written again: without its link, a later backfill finds it anew and gives it its
            // groups again. (One cutover created is gone, link and all, already.)
            if let (SetupKind::GroupMembership, Some(agent)) = (kind, &item.parent) {
                tx.forget_created(side, RecordKind::Agent, agent).await?;
            }
            tx.commit().await?;
            *report.setup_removed.entry(kind).or_default() += 1;
        }
        Err(e) if e.class() == ErrorClass::Auth => return Err(e.into()),
        Err(e) => {
            tracing::warn!(%kind, id = %item.id, name = %item.name, %side, error = %e, "The platform refused to remove a set-up item; kept in the ledger.");
            *report.setup_failed.entry(kind).or_default() += 1;
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
