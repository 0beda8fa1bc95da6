//! A ticket with its children: comments and attachments, read per ticket from the source and
//! written with the ticket (an import keeps their times and authors) or, when the ticket was
//! copied before, one by one. Attachments travel byte for byte: downloaded from the source,
//! checksummed, uploaded to the target.

use std::collections::{BTreeMap, BTreeSet};

use cutover_connect::{
    AttachmentSource, ConnectError, ErrorClass, FileUpload, Rejected, UploadHandle, UploadRef,
};
use cutover_model::records::Record;
use cutover_model::{Fingerprint, Observed, PlatformId, RecordKind, RecordRef};

use crate::apply::{Applier, Outcome, Prepared, Ready};
use crate::error::EngineError;
use crate::intent::Intent;

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

impl Applier {
    /// Applies a ticket and, when `with_children`, its comments and attachments.
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
                if go_on {
                    let children = self.read_children(&ticket.id, &mut report).await?;
                    self.apply_children(children, &mut report).await?;
                }
                return Ok(report);
            }
            Prepared::Ready(ready) => *ready,
        };
        if !with_children {
            let outcome = self.write(ready, &BTreeMap::new()).await?;
            report.outcomes.push((ticket.clone(), outcome));
            return Ok(report);
        }
        let children = self.read_children(&ticket.id, &mut report).await?;
        if ready.link.is_some() {
            let outcome = self.write(ready, &BTreeMap::new()).await?;
            let written = matches!(outcome, Outcome::Applied(_));
            report.outcomes.push((ticket.clone(), outcome));
            if written {
                self.apply_children(children, &mut report).await?;
            }
            return Ok(report);
        }
        self.create_with_children(ticket, ready, children, &mut report)
            .await?;
        Ok(report)
    }

    /// Creates a ticket with every child that is ready; the others are applied one by one after.
    async fn create_with_children(
        &self,
        ticket: &Observed,
        mut ready: Ready,
        children: Children,
        report: &mut TicketReport,
    ) -> Result<(), EngineError> {
        let together = (RecordKind::Ticket, ticket.id.clone());
        let mut fingerprints = BTreeMap::new();
        let mut later = Children {
            items: Vec::new(),
            sources: children.sources.clone(),
        };
        let mut pending_comment: Option<Ready> = None;
        let mut outbounds = Vec::new();
        // Comments that wait for a parent this run (an author the source could not read now).
        let mut waiting = BTreeSet::new();
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
                Prepared::Done(outcome) => {
                    if matches!(outcome, Outcome::Waiting(_)) {
                        waiting.insert(item.id.to_string());
                    }
                    later.items.push(item.clone());
                }
            }
        }
        outbounds.extend(pending_comment.take().map(|c| c.outbound));
        // Comments this run cannot send (the source could not read them, or they wait for a
        // parent it could not read), but which an earlier run wrote with this ticket just before
        // it died: they go as that run sent them, so their copies are matched and linked, and
        // the intent written now still names them (else a later run would not find them).
        let mut carried: BTreeSet<String> = report
            .rejected
            .iter()
            .filter(|r| r.kind == RecordKind::Comment)
            .filter_map(|r| r.id.clone())
            .collect();
        carried.extend(waiting);
        let mut from_intent = BTreeSet::new();
        if !carried.is_empty()
            && let Some(previous) = self.previous_intent(&ticket.id).await?
        {
            for child in previous.children {
                if carried.contains(child.origin.id.as_str()) {
                    fingerprints.extend(child.fingerprints());
                    from_intent.insert(child.origin.id.clone());
                    outbounds.push(child.outbound());
                }
            }
        }
        // A comment sent from the intent no longer waits, nor do its attachments.
        later.items.retain(|item| match &item.record {
            Record::Comment(_) => !from_intent.contains(&item.id),
            Record::Attachment(a) => !from_intent.contains(&a.comment),
            _ => true,
        });
        let n_children = outbounds.len();
        self.record_intent(&ticket.id, &Intent::of(&outbounds, &fingerprints))
            .await?;
        ready.outbound.children = outbounds;
        let outcome = self.write(ready, &fingerprints).await?;
        let written = matches!(outcome, Outcome::Applied(_));
        report.outcomes.push((ticket.clone(), outcome));
        tracing::debug!(ticket = %ticket.id, n_children, "Ticket written with its comments.");
        for id in &from_intent {
            let linked = self
                .state
                .find_link(self.store.as_ref(), RecordKind::Comment, ticket.side, id)
                .await?;
            if linked.is_some() {
                // Its copy is linked: the unreadable answer of this run is no loss.
                tracing::info!(comment = %id, ticket = %ticket.id, "Comment unreadable now, linked to the copy an earlier run wrote.");
                report.rejected.retain(|r| {
                    r.kind != RecordKind::Comment || r.id.as_deref() != Some(id.as_str())
                });
            }
        }
        if written {
            // A dry run links nothing: only what did not go with the ticket is left to count.
            let rest = if self.dry_run {
                later
            } else {
                self.not_linked(&children, later).await?
            };
            self.apply_children(rest, report).await?;
        }
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
                if outcome != Outcome::Unchanged {
                    // Its files wait with it: the ticket is tried again as a whole.
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
                return Ok(());
            }
        };
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
        let outcome = self.write(ready, &fingerprints).await?;
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

    /// Reads every page of a ticket's comments (with their attachments) from the source.
    async fn read_children(
        &self,
        ticket: &PlatformId,
        report: &mut TicketReport,
    ) -> Result<Children, EngineError> {
        let mut children = Children::default();
        let mut position = cutover_connect::ReadPosition::start();
        loop {
            let page = self
                .source
                .read_children(RecordKind::Comment, ticket, &position)
                .await?;
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

/// A connector error on one file: the record's trouble, or the run's.
fn per_file<T>(error: ConnectError) -> Result<Result<T, Outcome>, EngineError> {
    match error.class() {
        ErrorClass::Permanent | ErrorClass::Waiting => {
            Ok(Err(Outcome::DeadLettered(error.to_string())))
        }
        ErrorClass::Transient | ErrorClass::Auth => Err(EngineError::from(error)),
    }
}
