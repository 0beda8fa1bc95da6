//! A ticket with its children: comments and attachments, read from the source in bulk for a
//! page of tickets where it can (else per ticket) and written with the ticket (an import keeps
//! their times and authors) or, when the ticket was copied before, one by one (a single new
//! comment goes with the ticket's update where the target can: one request, not two).
//! Attachments travel byte for byte: downloaded from the source, checksummed, uploaded to the
//! target.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use cutover_connect::{
    AttachmentSource, ConnectError, ErrorClass, FileUpload, Page, Rejected, UploadHandle,
    UploadRef, WriteOutcome,
};
use cutover_model::records::Record;
use cutover_model::{Fingerprint, Observed, PlatformId, RecordKind, RecordRef};

use crate::apply::{Applier, Outcome, Prepared, Ready};
use crate::error::EngineError;
use crate::intent::Resume;

/// What one ticket step came to: the ticket's outcome and each child's.
#[derive(Debug, Default)]
pub(crate) struct TicketReport {
    /// (record, outcome) for the ticket and each child, ticket first.
    pub(crate) outcomes: Vec<(Observed, Outcome)>,
    /// Children the source could not read.
    pub(crate) rejected: Vec<Rejected>,
}

/// A ticket's children as read: comments each followed by their attachments.
#[derive(Debug, Default)]
struct Children {
    items: Vec<Observed>,
    sources: BTreeMap<PlatformId, AttachmentSource>,
}

/// How long after a ticket's version its children must have been read for that read to hold
/// every child the version has: the platforms' versions are whole seconds (a comment added later
/// within the same second leaves the version as it was), and the platform's clock may be up to a
/// second from ours.
const SETTLED_AFTER: chrono::Duration = chrono::Duration::seconds(2);
/// Tickets kept before the oldest are looked for.
const KNOWN_PRUNE_ABOVE: usize = 20_000;
/// Kept this long at most.
const KNOWN_FOR: chrono::Duration = chrono::Duration::minutes(30);

/// Tickets whose children were all applied (written, or unchanged) as read at least
/// [`SETTLED_AFTER`] after the ticket's version: a new child bumps its ticket's version (to a
/// later second than that read), so while the ticket is read at that same version there is no
/// child to read. The bridge's feeds show again the tickets webhooks named a minute before
/// (Zendesk's export leaves out its last minute): this spares their children a second read.
/// Kept in memory only (a process that starts reads every ticket's children again), forgotten
/// when a pass fails (what it applied may not be committed) and for a ticket the scheduled
/// verify or the rolling re-check names (drift, perhaps in its children).
#[derive(Debug, Default)]
pub(crate) struct ChildrenKnown {
    known: std::sync::Mutex<Known>,
}

/// Ticket: (its version, when its children were read).
type Known = std::collections::HashMap<PlatformId, (DateTime<Utc>, DateTime<Utc>)>;

impl ChildrenKnown {
    fn lock(&self) -> std::sync::MutexGuard<'_, Known> {
        self.known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Notes that every child of `ticket` read from `read_at` on was applied; forgets what was
    /// noted of it otherwise.
    fn note(&self, ticket: &Observed, read_at: DateTime<Utc>, all_applied: bool) {
        let mut known = self.lock();
        match ticket.updated_at {
            Some(version) if all_applied && read_at >= version + SETTLED_AFTER => {
                known.insert(ticket.id.clone(), (version, read_at));
                if known.len() > KNOWN_PRUNE_ABOVE {
                    let now = Utc::now();
                    known.retain(|_, (_, at)| now - *at < KNOWN_FOR);
                }
            }
            _ => {
                known.remove(&ticket.id);
            }
        }
    }

    /// Whether every child of `ticket`, as read now, was applied already.
    fn holds(&self, ticket: &Observed) -> bool {
        let Some(version) = ticket.updated_at else {
            return false;
        };
        self.lock()
            .get(&ticket.id)
            .is_some_and(|(known, _)| *known == version)
    }

    /// Forgets `ticket` (drift was found in it: its children are read again).
    pub(crate) fn forget(&self, ticket: &PlatformId) {
        self.lock().remove(ticket);
    }

    /// Forgets every ticket (a pass failed: what it applied may not be committed).
    pub(crate) fn forget_all(&self) {
        self.lock().clear();
    }
}

/// Whether every record of a ticket's step was applied (written, unchanged, or left behind by
/// the plan on purpose) and every child read.
fn all_applied(report: &TicketReport) -> bool {
    report.rejected.is_empty()
        && report.outcomes.iter().all(|(_, outcome)| {
            matches!(
                outcome,
                Outcome::Applied(_) | Outcome::Unchanged | Outcome::Dropped(_)
            )
        })
}

impl Applier {
    /// Applies a ticket and, when `with_children`, its comments and attachments. An unchanged
    /// ticket whose children were all applied at its version has them left unread
    /// ([`ChildrenKnown`]).
    pub(crate) async fn apply_ticket(
        &self,
        ticket: &Observed,
        with_children: bool,
    ) -> Result<TicketReport, EngineError> {
        let mut report = TicketReport::default();
        let prepared = self.prepare(ticket).await?;
        let ready = match prepared {
            Prepared::Done(outcome) => {
                let go_on = outcome == Outcome::Unchanged && with_children;
                report.outcomes.push((ticket.clone(), outcome));
                if go_on && !self.children_known.holds(ticket) {
                    let read_at = Utc::now();
                    let children = self.read_children(&ticket.id, &mut report).await?;
                    self.record_facts(ticket, Some(&children.items)).await?;
                    self.apply_children(children, &mut report).await?;
                    self.children_known
                        .note(ticket, read_at, all_applied(&report));
                } else {
                    self.record_facts(ticket, None).await?;
                }
                return Ok(report);
            }
            Prepared::Ready(ready) => *ready,
        };
        if !with_children {
            self.record_facts(ticket, None).await?;
            let outcome = self.write(ready, &BTreeMap::new()).await?;
            report.outcomes.push((ticket.clone(), outcome));
            return Ok(report);
        }
        let read_at = Utc::now();
        let children = self.read_children(&ticket.id, &mut report).await?;
        self.record_facts(ticket, Some(&children.items)).await?;
        if ready.link.is_some() {
            let mut ready = ready;
            let merged = self.comment_with_update(&mut ready, &children).await?;
            let fingerprints: BTreeMap<String, Fingerprint> = merged
                .iter()
                .map(|(mark, fingerprint, _)| (mark.clone(), *fingerprint))
                .collect();
            let outcome = self.write(ready, &fingerprints).await?;
            let written = matches!(outcome, Outcome::Applied(_));
            report.outcomes.push((ticket.clone(), outcome));
            if written {
                let from = report.outcomes.len();
                self.apply_children(children, &mut report).await?;
                if let Some((_, _, comment)) = &merged {
                    // Linked by the ticket's write, so its own step reads it as unchanged.
                    for (observed, outcome) in &mut report.outcomes[from..] {
                        if observed.id == *comment && *outcome == Outcome::Unchanged {
                            *outcome = Outcome::Applied(WriteOutcome::Created);
                        }
                    }
                }
            }
            // Not written (a conflict kept the other side's): its children were not applied.
            self.children_known
                .note(ticket, read_at, written && all_applied(&report));
            return Ok(report);
        }
        self.create_with_children(ticket, ready, children, &mut report)
            .await?;
        self.children_known
            .note(ticket, read_at, all_applied(&report));
        Ok(report)
    }

    /// Makes the update of a linked ticket write its one new comment in the same request, where
    /// the target can ([`cutover_connect::Connector::comment_with_update`]): one request, not
    /// two, for a change that set fields and added a comment. Only a comment without files, the
    /// only one of the ticket's not linked yet, never tried before (no intent), goes with it;
    /// its intent is left first, as its own create would. Answers its mark, fingerprint and
    /// source id; the ticket's write links it. Any other case writes comments one by one after.
    async fn comment_with_update(
        &self,
        ready: &mut Ready,
        children: &Children,
    ) -> Result<Option<(String, Fingerprint, PlatformId)>, EngineError> {
        let merging =
            matches!(&ready.outbound.record, Record::Ticket(t) if t.merged_into.is_some());
        if self.dry_run || merging || !self.target.comment_with_update() {
            // A merge is written by its own request, which takes no comment.
            return Ok(None);
        }
        let mut new_comments = Vec::new();
        for (idx, item) in children.items.iter().enumerate() {
            if !matches!(item.record, Record::Comment(_)) {
                continue;
            }
            if let Prepared::Ready(comment) = self.prepare(item).await? {
                let with_files = children
                    .items
                    .get(idx + 1)
                    .is_some_and(|next| matches!(next.record, Record::Attachment(_)));
                new_comments.push((item, comment, with_files));
            }
            if new_comments.len() > 1 {
                return Ok(None);
            }
        }
        let Some((observed, comment, with_files)) = new_comments.pop() else {
            return Ok(None);
        };
        let comment = *comment;
        if with_files || comment.link.is_some() {
            return Ok(None);
        }
        if !matches!(
            self.resumed(&comment).await?,
            Resume::Create { look_first: false }
        ) {
            return Ok(None);
        }
        let mut outbound = comment.outbound;
        outbound.may_exist = false;
        self.leave_intent(&outbound, comment.fingerprint, &BTreeMap::new())
            .await?;
        let mark = outbound.origin.mark();
        ready.outbound.children = vec![outbound];
        Ok(Some((mark, comment.fingerprint, observed.id.clone())))
    }

    /// Applies the children of a ticket that is linked already (those not linked yet are
    /// written; the others are unchanged), as a backfill does for an unchanged ticket.
    pub(crate) async fn apply_children_of(
        &self,
        ticket: &PlatformId,
    ) -> Result<TicketReport, EngineError> {
        let mut report = TicketReport::default();
        let children = self.read_children(ticket, &mut report).await?;
        self.apply_children(children, &mut report).await?;
        Ok(report)
    }

    /// Creates a ticket with every child that is ready; the others are applied one by one after.
    /// When an earlier attempt made the copy, the copy is linked with the children it holds
    /// (found before any file is downloaded or uploaded), and only the rest are written.
    async fn create_with_children(
        &self,
        ticket: &Observed,
        mut ready: Ready,
        children: Children,
        report: &mut TicketReport,
    ) -> Result<(), EngineError> {
        let resume = self.resumed(&ready).await?;
        if let Resume::Failed(outcome) = resume {
            report.outcomes.push((ticket.clone(), outcome));
            return Ok(());
        }
        if let Resume::Copy(found) = resume {
            let outcome = self
                .write_resumed(ready, Resume::Copy(found), &BTreeMap::new())
                .await?;
            let written = matches!(outcome, Outcome::Applied(_));
            report.outcomes.push((ticket.clone(), outcome));
            self.forgive_linked(ticket, report).await?;
            self.files_not_held(&children.items, report).await?;
            if written {
                let none = Children {
                    items: Vec::new(),
                    sources: children.sources.clone(),
                };
                let rest = self.not_linked(&children, none).await?;
                self.apply_children(rest, report).await?;
            }
            return Ok(());
        }
        let together = (RecordKind::Ticket, ticket.id.clone());
        let mut fingerprints = BTreeMap::new();
        let mut later = Children {
            items: Vec::new(),
            sources: children.sources.clone(),
        };
        let mut pending_comment: Option<Ready> = None;
        let mut outbounds = Vec::new();
        for item in &children.items {
            if let Record::Attachment(_) = item.record {
                let Some(comment) = pending_comment.as_mut() else {
                    later.items.push(item.clone());
                    continue;
                };
                let parent = (RecordKind::Comment, comment.outbound.origin.id.clone());
                let linked = self
                    .keep_image_link(&mut comment.outbound, item, &children.sources)
                    .await?;
                if let Some(outcome) = linked {
                    report.outcomes.push((item.clone(), outcome));
                    continue;
                }
                match self
                    .carry_attachment(item, &children.sources, &parent, &mut fingerprints)
                    .await?
                {
                    Ok(upload) => comment.outbound.uploads.push(upload),
                    Err(outcome) => report.outcomes.push((item.clone(), outcome)),
                }
                continue;
            }
            outbounds.extend(pending_comment.take().map(|c| c.outbound));
            match self.prepare_with(item, Some(&together)).await? {
                Prepared::Ready(comment) => {
                    fingerprints.insert(comment.outbound.origin.mark(), comment.fingerprint);
                    pending_comment = Some(*comment);
                }
                Prepared::Done(_) => later.items.push(item.clone()),
            }
        }
        outbounds.extend(pending_comment.take().map(|c| c.outbound));
        let n_children = outbounds.len();
        ready.outbound.children = outbounds;
        let outcome = self.write_resumed(ready, resume, &fingerprints).await?;
        let written = matches!(outcome, Outcome::Applied(_));
        report.outcomes.push((ticket.clone(), outcome));
        tracing::debug!(ticket = %ticket.id, n_children, "Ticket written with its comments.");
        if written {
            // A dry run links nothing, and the comments of a copy whose target names them later
            // are linked then (`later_links.rs`): only what did not go with the ticket is left.
            let rest = if self.dry_run || self.later_links.holds(&ticket.id) {
                later
            } else {
                self.not_linked(&children, later).await?
            };
            self.apply_children(rest, report).await?;
        }
        Ok(())
    }

    /// Dead-letters the files of comments linked to a copy an earlier run made that the copy
    /// does not hold (the file could not go with it then): a file cannot be added to a comment,
    /// and a file left out silently would be lost without a trace.
    async fn files_not_held(
        &self,
        items: &[Observed],
        report: &mut TicketReport,
    ) -> Result<(), EngineError> {
        let side = self.from_side();
        let store = self.store.as_ref();
        let mut comment_linked = false;
        for item in items {
            match &item.record {
                Record::Comment(_) => {
                    let link = self
                        .state
                        .find_link(store, RecordKind::Comment, side, &item.id)
                        .await?;
                    comment_linked = link.is_some();
                }
                Record::Attachment(file) if comment_linked => {
                    let link = self
                        .state
                        .find_link(store, RecordKind::Attachment, side, &item.id)
                        .await?;
                    if link.is_none() {
                        let reason = format!(
                            "attachment {} on the {side} side: the copy of its comment {}, made \
                             by an earlier run, does not hold it, and a file cannot be added to a \
                             comment",
                            item.id, file.comment
                        );
                        report
                            .outcomes
                            .push((item.clone(), Outcome::DeadLettered(reason)));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Takes back the read failures of comments that are linked now: an earlier attempt wrote
    /// them with their ticket (its intent kept them as sent), so the unreadable answer of this
    /// run loses nothing.
    async fn forgive_linked(
        &self,
        ticket: &Observed,
        report: &mut TicketReport,
    ) -> Result<(), EngineError> {
        let mut linked = BTreeSet::new();
        for rejected in &report.rejected {
            let Some(id) = rejected.id.as_deref() else {
                continue;
            };
            let Ok(id) = PlatformId::parse(id) else {
                continue;
            };
            if rejected.kind == RecordKind::Comment
                && self
                    .state
                    .find_link(self.store.as_ref(), RecordKind::Comment, ticket.side, &id)
                    .await?
                    .is_some()
            {
                tracing::info!(comment = %id, ticket = %ticket.id, "Comment unreadable now, linked to the copy an earlier run wrote.");
                linked.insert(id.to_string());
            }
        }
        report.rejected.retain(|r| {
            r.kind != RecordKind::Comment || !r.id.as_ref().is_some_and(|id| linked.contains(id))
        });
        Ok(())
    }

    /// The children to apply one by one after their ticket was written: those that did not go
    /// with it (`later`), and those that went but were not linked. A ticket found on the target
    /// (copied before a crash) is matched against its comments there, and a comment that was not
    /// in that copy (the source could not read it then) or matched another record's copy must
    /// still be written, else it is lost without a trace.
    async fn not_linked(
        &self,
        children: &Children,
        later: Children,
    ) -> Result<Children, EngineError> {
        let mut rest = Children {
            items: Vec::new(),
            sources: later.sources,
        };
        let side = self.from_side();
        let mut keep = true;
        for item in &children.items {
            if let Record::Comment(_) = item.record {
                let in_later = later
                    .items
                    .iter()
                    .any(|l| l.record.kind() == RecordKind::Comment && l.id == item.id);
                keep = in_later
                    || self
                        .state
                        .find_link(self.store.as_ref(), RecordKind::Comment, side, &item.id)
                        .await?
                        .is_none();
                if keep && !in_later {
                    tracing::debug!(comment = %item.id, "Comment not linked with its ticket; written on its own.");
                }
            }
            let orphan = !matches!(item.record, Record::Comment(_))
                && later.items.iter().any(|l| l.id == item.id);
            if keep || orphan {
                rest.items.push(item.clone());
            }
        }
        Ok(rest)
    }

    /// Applies comments (each with its attachments) one by one, on a ticket linked already.
    async fn apply_children(
        &self,
        children: Children,
        report: &mut TicketReport,
    ) -> Result<(), EngineError> {
        let mut idx = 0;
        while idx < children.items.len() {
            let comment = &children.items[idx];
            let mut end = idx + 1;
            while end < children.items.len()
                && matches!(children.items[end].record, Record::Attachment(_))
            {
                end += 1;
            }
            let attachments = &children.items[idx + 1..end];
            self.apply_comment(comment, attachments, &children.sources, report)
                .await?;
            idx = end;
        }
        Ok(())
    }

    async fn apply_comment(
        &self,
        comment: &Observed,
        attachments: &[Observed],
        sources: &BTreeMap<PlatformId, AttachmentSource>,
        report: &mut TicketReport,
    ) -> Result<(), EngineError> {
        let mut ready = match self.prepare(comment).await? {
            Prepared::Ready(ready) => *ready,
            Prepared::Done(outcome) => {
                not_written(comment, attachments, outcome, report);
                return Ok(());
            }
        };
        // An earlier attempt may have made the copy: look for it before carrying any file.
        let resume = self.resumed(&ready).await?;
        if let Resume::Failed(outcome) = resume {
            not_written(comment, attachments, outcome, report);
            return Ok(());
        }
        if let Resume::Copy(found) = resume {
            let outcome = self
                .write_resumed(ready, Resume::Copy(found), &BTreeMap::new())
                .await?;
            report.outcomes.push((comment.clone(), outcome));
            let mut items = vec![comment.clone()];
            items.extend(attachments.iter().cloned());
            self.files_not_held(&items, report).await?;
            return Ok(());
        }
        if !self.dry_run && self.linked_later(comment).await? {
            // Its copy went with its ticket, and is linked now: not written again.
            not_written(comment, attachments, Outcome::Unchanged, report);
            return Ok(());
        }
        let parent = (RecordKind::Comment, comment.id.clone());
        let mut fingerprints = BTreeMap::new();
        for attachment in attachments {
            let linked = self
                .keep_image_link(&mut ready.outbound, attachment, sources)
                .await?;
            if let Some(outcome) = linked {
                report.outcomes.push((attachment.clone(), outcome));
                continue;
            }
            match self
                .carry_attachment(attachment, sources, &parent, &mut fingerprints)
                .await?
            {
                Ok(upload) => ready.outbound.uploads.push(upload),
                Err(outcome) => report.outcomes.push((attachment.clone(), outcome)),
            }
        }
        let outcome = self.write_resumed(ready, resume, &fingerprints).await?;
        report.outcomes.push((comment.clone(), outcome));
        Ok(())
    }

    /// Downloads an attachment from the source, checks and records its checksum, and uploads it
    /// to the target. Its fingerprint goes into `fingerprints` so the written copy is linked.
    async fn carry_attachment(
        &self,
        attachment: &Observed,
        sources: &BTreeMap<PlatformId, AttachmentSource>,
        parent: &(RecordKind, PlatformId),
        fingerprints: &mut BTreeMap<String, Fingerprint>,
    ) -> Result<Result<UploadRef, Outcome>, EngineError> {
        let Record::Attachment(record) = &attachment.record else {
            return Ok(Err(Outcome::DeadLettered("not an attachment".into())));
        };
        let Some(source) = sources.get(&attachment.id) else {
            return Ok(Err(Outcome::DeadLettered(format!(
                "attachment {} on the {} side: the source gave no download address",
                attachment.id, attachment.side
            ))));
        };
        let downloaded = match self.source.download(source).await {
            Ok(downloaded) => downloaded,
            Err(e) => return per_file(e),
        };
        if !record.checksum.is_empty() && record.checksum != downloaded.checksum {
            return Ok(Err(Outcome::DeadLettered(format!(
                "attachment {} on the {} side: checksum of the bytes {} differs from the recorded {}",
                attachment.id, attachment.side, downloaded.checksum, record.checksum
            ))));
        }
        let mut with_checksum = attachment.clone();
        if let Record::Attachment(a) = &mut with_checksum.record {
            a.checksum = downloaded.checksum.clone();
        }
        let ready = match self.prepare_with(&with_checksum, Some(parent)).await? {
            Prepared::Ready(ready) => ready,
            Prepared::Done(outcome) => return Ok(Err(outcome)),
        };
        let origin = ready.outbound.origin.clone();
        let file = FileUpload {
            origin: Some(origin.clone()),
            file_name: record.file_name.clone(),
            content_type: record.content_type.clone(),
            bytes: downloaded.bytes,
            inline: record.inline,
        };
        let upload = if self.dry_run {
            if let Err(e) = self.target.check_upload(&file) {
                return per_file(e);
            }
            UploadRef {
                origin: Some(origin.clone()),
                file_name: file.file_name,
                content_type: file.content_type,
                size: record.size,
                handle: UploadHandle::Held(file.bytes),
                url: None,
            }
        } else {
            match self.target.upload(file).await {
                Ok(upload) => upload,
                Err(e) => return per_file(e),
            }
        };
        fingerprints.insert(origin.mark(), ready.fingerprint);
        Ok(Ok(upload))
    }

    /// Reads in bulk, where the source can, the children of `tickets` (a page of them, about
    /// to be applied): each ticket then takes its own instead of reading them per ticket.
    pub(crate) async fn read_children_ahead(
        &self,
        tickets: &[Observed],
    ) -> Result<(), EngineError> {
        let ids: Vec<PlatformId> = tickets
            .iter()
            .filter(|t| t.record.kind() == RecordKind::Ticket)
            .map(|t| t.id.clone())
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        let pages = self.source.read_children_of_many(&ids).await?;
        tracing::debug!(
            tickets = ids.len(),
            read_ahead = pages.len(),
            "Read the children of a page of tickets in bulk."
        );
        self.ahead().extend(pages);
        Ok(())
    }

    /// Drops the children read ahead that no ticket took (a ticket unchanged since its
    /// children were applied takes none): they may be stale by the next page.
    pub(crate) fn forget_children_ahead(&self) {
        self.ahead().clear();
    }

    fn ahead(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<PlatformId, Page>> {
        self.children_ahead
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Reads every page of a ticket's comments (with their attachments) from the source, or
    /// takes them as read ahead in bulk.
    async fn read_children(
        &self,
        ticket: &PlatformId,
        report: &mut TicketReport,
    ) -> Result<Children, EngineError> {
        let mut children = Children::default();
        let mut position = cutover_connect::ReadPosition::start();
        let mut ahead = self.ahead().remove(ticket);
        loop {
            let page = match ahead.take() {
                Some(page) => page,
                None => {
                    self.source
                        .read_children(RecordKind::Comment, ticket, &position)
                        .await?
                }
            };
            children.items.extend(page.items);
            children
                .sources
                .extend(page.attachments.into_iter().map(|s| (s.id.clone(), s)));
            report.rejected.extend(page.rejected);
            match page.next {
                Some(next) if !page.done && next != position => position = next,
                _ => return Ok(children),
            }
        }
    }
}

/// Reports a comment that was not written (`outcome`), with its files: unless it is unchanged,
/// they wait with it, and the ticket is tried again as a whole.
fn not_written(
    comment: &Observed,
    attachments: &[Observed],
    outcome: Outcome,
    report: &mut TicketReport,
) {
    if outcome != Outcome::Unchanged {
        let parent = RecordRef {
            kind: RecordKind::Comment,
            side: comment.side,
            id: comment.id.clone(),
        };
        for attachment in attachments {
            report
                .outcomes
                .push((attachment.clone(), Outcome::Waiting(parent.clone())));
        }
    }
    report.outcomes.push((comment.clone(), outcome));
}

/// A connector error on one file: the record's trouble, or the run's.
fn per_file<T>(error: ConnectError) -> Result<Result<T, Outcome>, EngineError> {
    match error.class() {
        ErrorClass::Permanent | ErrorClass::Waiting | ErrorClass::Conflict => {
            Ok(Err(Outcome::DeadLettered(error.to_string())))
        }
        ErrorClass::Transient | ErrorClass::Auth => Err(EngineError::from(error)),
    }
}

#[cfg(test)]
mod tests {
    use cutover_model::records::{Group, Record};
    use cutover_model::{Observed, PlatformId, Side};

    use super::*;

    fn ticket(version: DateTime<Utc>) -> Observed {
        // Any record does: only the id and the version are looked at.
        Observed {
            side: Side::Old,
            id: PlatformId::from(7),
            updated_at: Some(version),
            record: Record::Group(Group {
                name: "t".into(),
                description: None,
            }),
            origin: None,
        }
    }

    #[test]
    fn children_are_known_only_when_read_once_the_version_settled_and_all_applied() {
        let known = ChildrenKnown::default();
        let v = Utc::now() - chrono::Duration::seconds(10);
        let s = chrono::Duration::milliseconds;
        // Read within the version's second (a child could still come at the same version).
        known.note(&ticket(v), v + s(900), true);
        assert!(!known.holds(&ticket(v)));
        // Read after it settled, every child applied: an unchanged ticket at v has none to read.
        known.note(&ticket(v), v + s(2_500), true);
        assert!(known.holds(&ticket(v)));
        // Another version: read again.
        assert!(!known.holds(&ticket(v + chrono::Duration::seconds(1))));
        // A child not applied (waiting, failed) forgets it.
        known.note(&ticket(v), v + s(3_000), false);
        assert!(!known.holds(&ticket(v)));
        known.note(&ticket(v), v + s(3_000), true);
        known.forget_all();
        assert!(!known.holds(&ticket(v)));
        // No version: never known.
        let mut unversioned = ticket(v);
        unversioned.updated_at = None;
        known.note(&unversioned, v + s(5_000), true);
        assert!(!known.holds(&unversioned));
    }
}
