//! One direction of the bridge: the changes of one side's feeds applied to the other side.
//!
//! A pass reads each kind's feed from its `sync:{kind}` cursor to the end of what the platform
//! shows now (parents' kinds first), applies every page through the backfill's `Applier` and
//! commits the page's links, dead letters and the cursor past it in one transaction. Records a
//! webhook named are read by id first, many to a request where the platform can
//! (`Connector::read_many`, Zendesk's `show_many`), a bounded number in each gap of the pass:
//! they skip the feed's own delay, and when the feed shows them later they are unchanged. A
//! record waiting for its
//! parent is parked in the dead letters (as the backfill parks it) and tried again on every
//! pass, so a crash after its page's cursor moved does not lose it.
//!
//! A record whose read or write still fails after the connector's retries does not hold the
//! pass up: it goes to the dead letters as [`READ_AGAIN`], in the same transaction as the
//! cursor that moves past it, and is read again by id at the end of the pass and at the start
//! of every later one until it is applied (then its letter is settled). Until then the direction
//! is not caught up, so a drain waits for it. [`FAILURES_IN_A_ROW`] records failing one after
//! the other mean the platform is down, not the record: the pass stops there, its cursor where
//! it was, so an outage does not turn every record into a letter.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Utc};
use cutover_connect::{ChangeHint, ConnectError, Page, ReadPosition, Rejected};
use cutover_model::{Observed, PlatformId, RecordKind, RecordRef, Side};
use cutover_store::{Cursor, DeadLetterId, NewDeadLetter};
use futures::StreamExt;

use crate::apply::{Applier, Outcome};
use crate::backfill::{
    READ_AGAIN, WAITING_FOR_PARENT, left_behind, letter, letters_for, parked, rejected_letter,
    step, ticket_of,
};
use crate::cursor::{self, Saved};
use crate::error::EngineError;
use crate::sync::metrics::SyncMetrics;
use crate::sync::written::Written;

/// The version a link keeps on both sides once its record is deleted on one side and its copy
/// on the other: such a record is never copied again.
pub(crate) const DELETED: &str = "deleted";
/// Writes in flight at once within a page; they share the target's rate budget.
const CONCURRENCY: usize = 4;
/// How often a feed page's request that is still waiting lets named records through.
const HINTS_WHILE_A_PAGE_WAITS: std::time::Duration = std::time::Duration::from_millis(250);
/// How many generations of parents a named record's are read for (a comment's ticket's
/// requester's organization is the deepest the carried kinds go).
const MAX_PARENT_DEPTH: usize = 4;
/// Records of a feed page applied under the apply lock at once: between parts, the other
/// direction and the records webhooks name go.
const PAGE_PART: usize = 16;
/// Records read by id at once (webhooks' records, records to read again), [`CONCURRENCY`] in
/// flight; each batch commits once.
const NAMED_AT_ONCE: usize = 16;
/// The most records webhooks named that are served in one gap of a feed pass (at its start,
/// before each kind's feed, between a page's parts, while a page's request waits): a flood of
/// webhooks slows a feed pass down, never keeps it from its end. The rest wait for the next gap.
pub(crate) const NAMED_PER_GAP: usize = 2 * NAMED_AT_ONCE;
/// The most records webhooks named that a pass without feeds serves; the rest go to the next
/// pass, which starts at once (the poll interval is looked at between passes).
pub(crate) const NAMED_PER_PASS: usize = 16 * NAMED_AT_ONCE;
/// Records whose requests fail one after the other past the connector's retries before the
/// pass stops (the platform is down, not the record).
pub(crate) const FAILURES_IN_A_ROW: usize = 3;

/// What one pass came to.
#[derive(Debug, Default)]
pub(crate) struct PassReport {
    /// Records still waiting for a parent after the pass, named for people.
    pub(crate) in_flight: Vec<String>,
}

/// One direction: reads on `applier`'s source side, writes on its target side.
#[derive(Debug)]
pub(crate) struct Direction {
    pub(crate) applier: Arc<Applier>,
    /// Held by either direction from applying what it read to committing it: what one
    /// direction wrote is linked before the other applies anything.
    pub(crate) apply_lock: Arc<tokio::sync::Mutex<()>>,
    /// What either direction wrote lately: a read older than a write is read again.
    pub(crate) written: Arc<Written>,
    /// The kinds this direction carries, in dependency order.
    pub(crate) kinds: Vec<RecordKind>,
    /// Whether tickets carry their comments and attachments.
    pub(crate) with_children: bool,
    pub(crate) metrics: Arc<SyncMetrics>,
    /// Records whose request failed past the retries, one after the other, in this pass.
    pub(crate) failed_in_a_row: AtomicUsize,
    /// When this bridge was made: a change older than that (history the first passes carry,
    /// such as records the new account held before the move) counts its lag from here, so
    /// the lag says how long the bridge took, not how old the account's records are.
    pub(crate) started: DateTime<Utc>,
    /// How far behind the present the source's change feed shows changes: its platform's
    /// [`crate::sync::status::feed_delay`], unless the bridge was told otherwise
    /// ([`crate::sync::Bridge::with_feed_delay`]).
    pub(crate) feed_delay: chrono::Duration,
}

/// What one applied page holds for its commit.
#[derive(Default)]
struct Applied {
    letters: Vec<NewDeadLetter>,
    left: Vec<(RecordKind, PlatformId)>,
    /// The source times of the changes written, for their lag once committed.
    written_at: Vec<Option<DateTime<Utc>>>,
    /// Records that wait for a parent, and those that no longer do.
    waiting: Vec<String>,
    settled: Vec<(RecordKind, PlatformId)>,
    /// The parents waited for, on the side read from.
    parents: Vec<RecordRef>,
    /// Records whose request failed past the retries (their letters are in `letters`).
    read_again: Vec<(RecordKind, PlatformId)>,
}

impl Applied {
    /// Takes in what another batch of records applied.
    fn merge(&mut self, other: Applied) {
        self.letters.extend(other.letters);
        self.left.extend(other.left);
        self.written_at.extend(other.written_at);
        for waiting in other.waiting {
            if !self.waiting.contains(&waiting) {
                self.waiting.push(waiting);
            }
        }
        self.settled.extend(other.settled);
        for parent in other.parents {
            if !self.parents.contains(&parent) {
                self.parents.push(parent);
            }
        }
        self.read_again.extend(other.read_again);
    }
}

impl Direction {
    /// The side changes are read from.
    pub(crate) fn from(&self) -> Side {
        self.applier.from_side()
    }

    /// One pass: the records `hints` name, then (with `feeds`) every kind's feed to its end,
    /// then the parked records again. A pass without feeds is what a webhook wakes: the records
    /// named are applied at once, without waiting on the feeds' own rate limit (Zendesk allows
    /// 10 incremental exports a minute).
    pub(crate) async fn pass(
        &self,
        hints: &BTreeSet<ChangeHint>,
        feeds: bool,
        more_hints: &(dyn Fn(usize) -> BTreeSet<ChangeHint> + Send + Sync),
    ) -> Result<PassReport, EngineError> {
        let mut report = PassReport::default();
        self.failed_in_a_row.store(0, Ordering::Relaxed);
        self.applier.begin_pass().await;
        self.retry_read_again(&mut report, false).await?;
        self.retry_parked(&mut report, false).await?;
        self.apply_named(hints, &mut report).await?;
        if feeds {
            for kind in &self.kinds {
                // Records webhooks named since the pass began go before each feed: a feed may
                // wait on its export's own rate limit, they need not. (Lost if this pass
                // fails: the feeds still carry them.)
                let more = more_hints(NAMED_PER_GAP);
                if !more.is_empty() {
                    self.apply_named(&more, &mut report).await?;
                }
                self.feed(*kind, &mut report, more_hints).await?;
            }
        }
        report.in_flight.clear();
        self.retry_read_again(&mut report, true).await?;
        let waited_for = self.retry_parked(&mut report, true).await?;
        if !waited_for.is_empty() {
            // Records still waiting after the feeds have their parents read one by one, as a
            // named record's are: a parent the feed has not shown (or showed while a 5xx burst
            // cut the page short) does not hold its children up for ever.
            self.read_named(waited_for, &mut PassReport::default())
                .await?;
            report.in_flight.clear();
            self.retry_parked(&mut report, true).await?;
        }
        Ok(report)
    }

    /// Reads and applies the records `hints` name, one by one. A named record whose parent is
    /// not linked yet (a ticket from a new customer) has its parent read one by one too,
    /// parents first, rather than waiting for the parent's feed (Zendesk's shows nothing of the
    /// last minute); the waiting record is parked and tried again once its parents are.
    async fn apply_named(
        &self,
        hints: &BTreeSet<ChangeHint>,
        report: &mut PassReport,
    ) -> Result<(), EngineError> {
        let named: Vec<(RecordKind, PlatformId)> =
            hints.iter().map(|h| (h.kind, h.id.clone())).collect();
        if self.read_named(named, report).await? {
            self.retry_parked(report, false).await?;
        }
        Ok(())
    }

    /// Reads one kind's feed from its cursor to the end of what the platform shows now; records
    /// webhooks name meanwhile are applied while its pages' requests wait.
    async fn feed(
        &self,
        kind: RecordKind,
        report: &mut PassReport,
        more_hints: &(dyn Fn(usize) -> BTreeSet<ChangeHint> + Send + Sync),
    ) -> Result<(), EngineError> {
        let side = self.from();
        let store = Arc::clone(&self.applier.store);
        let stream = cursor::sync_stream(kind);
        let mut previous: Option<Cursor> = store.cursor(side, &stream).await?;
        let mut position = match &previous {
            Some(saved) => cursor::start(&cursor::load(Some(saved))),
            None => self.first_position(kind).await?,
        };
        // Records changed at the very second the feed stands at are read again on every pass:
        // a record changed twice within one second has the same time and id both times, and
        // dropping it as overlap would lose its second change. Read again, an unchanged one is
        // `Unchanged` (its fingerprint equals its link's), so this costs reads, never writes.
        position.seen_at_time.clear();
        loop {
            let read_at = self.written.now();
            let page = self
                .read_page_serving_hints(kind, &position, report, more_hints)
                .await?;
            let saved = Saved {
                position: page.next.clone(),
                complete: page.done || page.next.is_none(),
            };
            let cursor_move =
                cursor::advance_stream(side, stream.clone(), previous.as_ref(), &saved);
            previous = Some(cursor_move.cursor.clone());
            // The page is applied a part at a time, each under the apply lock and committed
            // (the cursor with the last): the other direction's records, and those webhooks
            // name meanwhile, go between the parts instead of waiting for a whole page.
            let parts: Vec<&[Observed]> = page.items.chunks(PAGE_PART).collect();
            let n_parts = parts.len().max(1);
            let mut cursor_move = Some(cursor_move);
            for i in 0..n_parts {
                if i > 0 {
                    let more = more_hints(NAMED_PER_GAP);
                    if !more.is_empty() {
                        self.apply_named(&more, report).await?;
                    }
                }
                let part = Page {
                    items: parts.get(i).map(|p| p.to_vec()).unwrap_or_default(),
                    rejected: if i == 0 {
                        page.rejected.clone()
                    } else {
                        Vec::new()
                    },
                    deleted: Vec::new(),
                    attachments: page.attachments.clone(),
                    next: page.next.clone(),
                    done: page.done,
                };
                let _applying = self.apply_lock.lock().await;
                if i == 0 {
                    self.delete_copies(&page.deleted).await?;
                }
                let applied = self.apply_page_read_at(&part, read_at).await?;
                let moved = if i + 1 == n_parts {
                    cursor_move.take()
                } else {
                    None
                };
                self.commit(applied, moved, report).await?;
            }
            match page.next {
                Some(next) if !page.done && next != position => position = next,
                _ => break,
            }
        }
        Ok(())
    }

    /// Reads one page of a feed. While its request waits (Zendesk's incremental exports have a
    /// lane of 10 a minute, so a page may wait six seconds for its turn), the records webhooks
    /// named meanwhile are read and applied, so their lag is not the lane's. Still one writer:
    /// the page is applied after, and a record in it older than what a named read applied is
    /// `Unchanged` (`Applier` compares it with the version its link kept).
    async fn read_page_serving_hints(
        &self,
        kind: RecordKind,
        position: &ReadPosition,
        report: &mut PassReport,
        more_hints: &(dyn Fn(usize) -> BTreeSet<ChangeHint> + Send + Sync),
    ) -> Result<Page, EngineError> {
        let read = self.applier.source.read_page(kind, position);
        tokio::pin!(read);
        loop {
            tokio::select! {
                biased;
                page = &mut read => return Ok(page?),
                () = tokio::time::sleep(HINTS_WHILE_A_PAGE_WAITS) => {
                    let more = more_hints(NAMED_PER_GAP);
                    if !more.is_empty() {
                        self.apply_named(&more, report).await?;
                    }
                }
            }
        }
    }

    /// Deletes on the target the copies of records the source reports deleted (or marked as
    /// spam), and marks their links deleted ([`DELETED`] as both versions), so neither side's
    /// copy is made again. Before the page's cursor moves: a crash repeats the delete, and a
    /// record already gone is not an error.
    async fn delete_copies(&self, deleted: &[(RecordKind, PlatformId)]) -> Result<(), EngineError> {
        let from = self.from();
        let store = &self.applier.store;
        for (kind, id) in deleted {
            if !self.kinds.contains(kind) {
                continue;
            }
            let Some(stored) = store.find_link(*kind, from, id).await? else {
                continue;
            };
            let mut link = stored.link;
            if link.old_version.as_deref() == Some(DELETED) {
                continue;
            }
            let copy = link.id(from.other()).clone();
            self.applier.target.delete(*kind, &copy).await?;
            link.old_version = Some(DELETED.to_owned());
            link.new_version = Some(DELETED.to_owned());
            link.last_writer = from;
            let mut tx = store.begin().await?;
            tx.upsert_link(&link).await?;
            tx.commit().await?;
            self.metrics.applied(from, None);
        }
        Ok(())
    }

    /// Where a feed starts the first time: where the backfill of this side and kind ended, or,
    /// on a side never backfilled from, at the beginning (every copy the backfill made reads as
    /// unchanged; the side's own records are carried over).
    async fn first_position(&self, kind: RecordKind) -> Result<ReadPosition, EngineError> {
        let backfilled = self
            .applier
            .store
            .cursor(self.from(), &cursor::stream(kind))
            .await?;
        Ok(cursor::start(&cursor::load(backfilled.as_ref())))
    }

    /// Applies a page read when the write count stood at `read_at`: its records written since
    /// (by either direction, under the apply lock, which the caller holds) are read again by id
    /// and applied as read now; the others as the page has them.
    async fn apply_page_read_at(&self, page: &Page, read_at: u64) -> Result<Applied, EngineError> {
        let side = self.from();
        let stale: BTreeSet<(RecordKind, PlatformId)> = page
            .items
            .iter()
            .filter(|item| {
                self.written
                    .since(side, item.record.kind(), &item.id, read_at)
            })
            .map(|item| (item.record.kind(), item.id.clone()))
            .collect();
        if stale.is_empty() {
            return self.apply_page(page).await;
        }
        let stale_tickets: BTreeSet<&PlatformId> = stale
            .iter()
            .filter(|(kind, _)| *kind == RecordKind::Ticket)
            .map(|(_, id)| id)
            .collect();
        let fresh = Page {
            items: page
                .items
                .iter()
                .filter(|item| !stale.contains(&(item.record.kind(), item.id.clone())))
                .filter(|item| match &item.record {
                    cutover_model::Record::Comment(c) => !stale_tickets.contains(&c.ticket),
                    _ => true,
                })
                .cloned()
                .collect(),
            rejected: page.rejected.clone(),
            deleted: Vec::new(),
            attachments: page.attachments.clone(),
            next: page.next.clone(),
            done: page.done,
        };
        tracing::debug!(from = %side, records = stale.len(), "Records written since their page was read are read again.");
        let mut applied = self.apply_page(&fresh).await?;
        for (kind, id) in &stale {
            let (_, _, result) = self.read_and_apply(*kind, id).await;
            match result {
                Ok(one) => applied.merge(one),
                Err(e) => {
                    let error = self.failed(e)?;
                    applied
                        .letters
                        .push(self.read_again_letter(*kind, id, None, &error));
                    applied.read_again.push((*kind, id.clone()));
                }
            }
        }
        Ok(applied)
    }

    /// Applies a page's records, a bounded number at once.
    async fn apply_page(&self, page: &Page) -> Result<Applied, EngineError> {
        let mut applied = Applied {
            letters: self.rejected(&page.rejected),
            left: page
                .rejected
                .iter()
                .filter_map(|r| Some((r.kind, PlatformId::parse(r.id.clone()?).ok()?)))
                .collect(),
            ..Applied::default()
        };
        // The steps are made before they are streamed, so the future stays `Send` (a closure
        // over borrowed items inside the stream is not, for any lifetime).
        let steps: Vec<_> = page
            .items
            .iter()
            .map(|item| keyed(item, step(self.applier.as_ref(), item, self.with_children)))
            .collect();
        let results: Vec<_> = futures::stream::iter(steps)
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        for (item, result) in results {
            match result {
                Ok((outcomes, rejected)) => {
                    self.succeeded();
                    applied.letters.extend(self.rejected(&rejected));
                    self.tally(outcomes, &mut applied);
                }
                Err(e) => {
                    let error = self.failed(e)?;
                    let (kind, id) = (item.record.kind(), item.id.clone());
                    applied
                        .letters
                        .push(self.read_again_letter(kind, &id, Some(item), &error));
                    applied.read_again.push((kind, id));
                }
            }
        }
        Ok(applied)
    }

    /// A record's request went through: the platform is up.
    fn succeeded(&self) {
        self.failed_in_a_row.store(0, Ordering::Relaxed);
    }

    /// A record's request failed: when it failed past the connector's retries (transient
    /// trouble), the record is read again later, and this answers the error's text; `Err` for any
    /// other error, and once [`FAILURES_IN_A_ROW`] records failed one after the other (the
    /// platform is down: the pass stops, its cursor where it was).
    fn failed(&self, error: EngineError) -> Result<String, EngineError> {
        let transient = matches!(&error, EngineError::Connect(e) if e.is_transient());
        if !transient {
            return Err(error);
        }
        let in_a_row = self.failed_in_a_row.fetch_add(1, Ordering::Relaxed) + 1;
        if in_a_row >= FAILURES_IN_A_ROW {
            return Err(error);
        }
        tracing::info!(from = %self.from(), error = %error, "A record's request failed after its retries; it is read again later.");
        Ok(error.to_string())
    }

    /// The dead letter of a record to read again: the error, and the record as last read.
    fn read_again_letter(
        &self,
        kind: RecordKind,
        id: &PlatformId,
        read: Option<&Observed>,
        error: &str,
    ) -> NewDeadLetter {
        let read = read
            .and_then(|observed| serde_json::to_value(observed).ok())
            .unwrap_or(serde_json::Value::Null);
        NewDeadLetter {
            kind,
            side: self.from(),
            source_id: id.clone(),
            reason: READ_AGAIN.to_owned(),
            record: serde_json::json!({ "error": error, "read": read }),
        }
    }

    /// Counts a step's outcomes and keeps what its commit needs.
    fn tally(&self, outcomes: Vec<(Observed, Outcome)>, applied: &mut Applied) {
        let from = self.from();
        let ticket = ticket_of(&outcomes);
        let mut waits = false;
        let parked_as = outcomes
            .first()
            .map(|(o, _)| (o.record.kind(), o.id.clone()));
        for (observed, outcome) in outcomes {
            applied.left.extend(left_behind(&observed, &outcome));
            match outcome {
                Outcome::Applied(_) => applied.written_at.push(observed.updated_at),
                Outcome::Unchanged => self.metrics.echo_suppressed(from),
                Outcome::Dropped(_) => {}
                Outcome::DeadLettered(reason) => {
                    self.metrics.dead_lettered(from);
                    applied.letters.push(letter(&observed, reason));
                }
                Outcome::Waiting(parent) => {
                    waits = true;
                    if !applied.parents.contains(&parent) {
                        applied.parents.push(parent.clone());
                    }
                    let park = match &ticket {
                        Some(ticket) if observed.record.kind() != RecordKind::Ticket => {
                            ticket.clone()
                        }
                        _ => observed.clone(),
                    };
                    let named = waiting_name(&observed, &parent);
                    if !applied.waiting.contains(&named) {
                        applied.waiting.push(named);
                        applied
                            .letters
                            .push(letter(&park, WAITING_FOR_PARENT.to_owned()));
                    }
                }
            }
        }
        if !waits && let Some(settled) = parked_as {
            applied.settled.push(settled);
        }
    }

    /// Commits a page's links, dead letters and cursor in one transaction; then counts the lag
    /// of what it wrote and removes the parked copies of records that no longer wait.
    async fn commit(
        &self,
        applied: Applied,
        cursor: Option<cutover_store::CursorMove>,
        report: &mut PassReport,
    ) -> Result<(), EngineError> {
        for (kind, id) in &applied.left {
            self.applier.adopt_left(*kind, id).await?;
        }
        let links = self.applier.commit_links(applied.letters, cursor).await?;
        self.written.mark(&links);
        let now = Utc::now();
        for at in applied.written_at {
            let lag = at.map(|at| (now - at.max(self.started)).num_milliseconds() as f64 / 1000.0);
            self.metrics.applied(self.from(), lag);
        }
        report.in_flight.extend(applied.waiting);
        self.release(&applied.settled).await
    }

    /// Reads `named` records of this side by id and applies them ([`NAMED_AT_ONCE`] at a
    /// time, [`CONCURRENCY`] in flight), then the parents they wait for, a bounded number of
    /// generations deep. Answers whether any parent was read.
    async fn read_named(
        &self,
        mut named: Vec<(RecordKind, PlatformId)>,
        report: &mut PassReport,
    ) -> Result<bool, EngineError> {
        let mut parents_read = false;
        for _depth in 0..MAX_PARENT_DEPTH {
            let mut parents: Vec<(RecordKind, PlatformId)> = Vec::new();
            named.retain(|(kind, _)| self.kinds.contains(kind));
            for batch in named.chunks(NAMED_AT_ONCE) {
                let (applied, _applying) = self.read_batch(batch).await?;
                for parent in &applied.parents {
                    let wanted = (parent.kind, parent.id.clone());
                    if parent.side == self.from() && !parents.contains(&wanted) {
                        parents.push(wanted);
                    }
                }
                self.commit(applied, None, report).await?;
            }
            if parents.is_empty() {
                break;
            }
            parents_read = true;
            named = parents;
        }
        Ok(parents_read)
    }

    /// Reads `batch` by id, [`CONCURRENCY`] records in flight, then takes the apply lock and
    /// applies what was read; answers with the lock, held until the caller commits. A record
    /// whose read or write fails past the retries is in the answer's `read_again` (and letters).
    async fn read_batch(
        &self,
        batch: &[(RecordKind, PlatformId)],
    ) -> Result<(Applied, tokio::sync::OwnedMutexGuard<()>), EngineError> {
        let read_at = self.written.now();
        let reads = self.read_by_id(batch).await;
        let applying = Arc::clone(&self.apply_lock).lock_owned().await;
        let applies: Vec<_> = reads
            .into_iter()
            .map(|(kind, id, read)| async move {
                // Written since it was read (by the other direction, or a conflict's
                // resolution): read again now, under the lock.
                if self.written.since(self.from(), kind, id, read_at) {
                    return self.read_and_apply(kind, id).await;
                }
                let result = match read {
                    Ok(page) => {
                        self.succeeded();
                        self.apply_page(&page).await
                    }
                    Err(e) => Err(EngineError::from(e)),
                };
                (kind, id, result)
            })
            .collect();
        let results: Vec<_> = futures::stream::iter(applies)
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        let mut applied = Applied::default();
        for (kind, id, result) in results {
            match result {
                Ok(one) => applied.merge(one),
                Err(e) => {
                    let error = self.failed(e)?;
                    applied
                        .letters
                        .push(self.read_again_letter(kind, id, None, &error));
                    applied.read_again.push((kind, id.clone()));
                }
            }
        }
        Ok((applied, applying))
    }

    /// Reads `batch` by id, a page for each record (empty for one that is gone): the records of
    /// a kind in one [`Connector::read_many`] (a platform's `show_many` reads up to a hundred to
    /// a request), one by one where the kind has a single record or the read of many fails
    /// (then each record fails or goes through on its own), [`CONCURRENCY`] in flight.
    ///
    /// [`Connector::read_many`]: cutover_connect::Connector::read_many
    async fn read_by_id<'a>(
        &self,
        batch: &'a [(RecordKind, PlatformId)],
    ) -> Vec<(RecordKind, &'a PlatformId, Result<Page, ConnectError>)> {
        let mut kinds: Vec<RecordKind> = Vec::new();
        for (kind, _) in batch {
            if !kinds.contains(kind) {
                kinds.push(*kind);
            }
        }
        let mut reads = Vec::new();
        let mut one_by_one: Vec<&'a (RecordKind, PlatformId)> = Vec::new();
        for kind in kinds {
            let of_kind: Vec<&'a (RecordKind, PlatformId)> =
                batch.iter().filter(|(k, _)| *k == kind).collect();
            if of_kind.len() < 2 {
                one_by_one.extend(of_kind);
                continue;
            }
            let ids: Vec<PlatformId> = of_kind.iter().map(|(_, id)| id.clone()).collect();
            match self.applier.source.read_many(kind, &ids).await {
                Ok(page) => reads.extend(split_by_id(page, kind, &of_kind)),
                Err(e) => {
                    tracing::debug!(from = %self.from(), kind = %kind, records = ids.len(), error = %e, "Reading records by id many at once failed; they are read one by one.");
                    one_by_one.extend(of_kind);
                }
            }
        }
        let singles: Vec<_> = one_by_one
            .into_iter()
            .map(|(kind, id)| async move {
                let read = self.applier.source.read_one(*kind, id).await;
                (*kind, id, read)
            })
            .collect();
        let singles: Vec<_> = futures::stream::iter(singles)
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        reads.extend(singles);
        reads
    }

    /// Reads one record by id and applies it (the caller holds the apply lock).
    async fn read_and_apply<'a>(
        &self,
        kind: RecordKind,
        id: &'a PlatformId,
    ) -> (RecordKind, &'a PlatformId, Result<Applied, EngineError>) {
        let result = match self.applier.source.read_one(kind, id).await {
            Ok(page) => {
                self.succeeded();
                self.apply_page(&page).await
            }
            Err(e) => Err(EngineError::from(e)),
        };
        (kind, id, result)
    }

    /// Reads the records kept to be read again on this side, by id, and applies them; settles
    /// the letters of those that went through. With `last`, those still to read again are
    /// reported in flight.
    async fn retry_read_again(
        &self,
        report: &mut PassReport,
        last: bool,
    ) -> Result<(), EngineError> {
        let store = self.applier.store.as_ref();
        let letters = letters_for(store, self.from(), READ_AGAIN).await?;
        let letters: Vec<_> = letters
            .into_iter()
            .filter(|l| self.kinds.contains(&l.kind))
            .collect();
        for batch in letters.chunks(NAMED_AT_ONCE) {
            let named: Vec<(RecordKind, PlatformId)> = batch
                .iter()
                .map(|l| (l.kind, l.source_id.clone()))
                .collect();
            let (applied, _applying) = self.read_batch(&named).await?;
            let settled: Vec<DeadLetterId> = batch
                .iter()
                .filter(|l| !applied.read_again.contains(&(l.kind, l.source_id.clone())))
                .map(|l| l.id)
                .collect();
            let still: Vec<String> = batch
                .iter()
                .filter(|l| applied.read_again.contains(&(l.kind, l.source_id.clone())))
                .map(|l| {
                    format!(
                        "{} {} on the {} side waits to be read again (failed {} times)",
                        l.kind,
                        l.source_id,
                        l.side,
                        l.attempts + 1
                    )
                })
                .collect();
            // What it waits for now is reported by the parked records' own retry.
            self.commit(applied, None, &mut PassReport::default())
                .await?;
            for id in settled {
                store.drop_dead_letter(id).await?;
            }
            if last {
                report.in_flight.extend(still);
            }
        }
        Ok(())
    }

    /// Tries the records parked as waiting on this side again. With `last`, what still waits
    /// is reported in flight. Answers the parents still waited for, on this side.
    async fn retry_parked(
        &self,
        report: &mut PassReport,
        last: bool,
    ) -> Result<Vec<(RecordKind, PlatformId)>, EngineError> {
        let store = self.applier.store.as_ref();
        let letters = parked(store, self.from()).await?;
        if letters.is_empty() {
            return Ok(Vec::new());
        }
        let _applying = self.apply_lock.lock().await;
        let mut applied = Applied::default();
        for parked_letter in letters {
            let observed = match serde_json::from_value::<Observed>(parked_letter.record.clone()) {
                Ok(observed) => observed,
                Err(e) => {
                    tracing::warn!(dead_letter = %parked_letter.id, error = %e, "Parked record does not parse; left in the dead letters.");
                    continue;
                }
            };
            if !self.kinds.contains(&observed.record.kind()) {
                continue;
            }
            match step(self.applier.as_ref(), &observed, self.with_children).await {
                Ok((outcomes, rejected)) => {
                    self.succeeded();
                    applied.letters.extend(self.rejected(&rejected));
                    self.tally(outcomes, &mut applied);
                }
                // It stays parked, in flight: tried again on the next pass.
                Err(e) => {
                    let error = self.failed(e)?;
                    applied.waiting.push(format!(
                        "{} {} on the {} side waits to be tried again ({error})",
                        observed.record.kind(),
                        observed.id,
                        observed.side
                    ));
                }
            }
        }
        let waited_for: Vec<(RecordKind, PlatformId)> = applied
            .parents
            .iter()
            .filter(|p| p.side == self.from())
            .map(|p| (p.kind, p.id.clone()))
            .collect();
        let mut sub = PassReport::default();
        self.commit(applied, None, &mut sub).await?;
        if last {
            report.in_flight.extend(sub.in_flight);
        }
        Ok(waited_for)
    }

    /// Removes the parked copies of records that no longer wait.
    async fn release(&self, settled: &[(RecordKind, PlatformId)]) -> Result<(), EngineError> {
        if settled.is_empty() {
            return Ok(());
        }
        let store = self.applier.store.as_ref();
        let wanted: BTreeSet<&(RecordKind, PlatformId)> = settled.iter().collect();
        for parked_letter in parked(store, self.from()).await? {
            if wanted.contains(&(parked_letter.kind, parked_letter.source_id.clone())) {
                store.drop_dead_letter(parked_letter.id).await?;
            }
        }
        Ok(())
    }

    /// Dead letters of records the source could not read.
    fn rejected(&self, rejected: &[Rejected]) -> Vec<NewDeadLetter> {
        rejected
            .iter()
            .map(|r| {
                self.metrics.dead_lettered(self.from());
                rejected_letter(self.from(), r)
            })
            .collect()
    }
}

/// The page of records of `kind` read many at once split into a page for each of `wanted`, as
/// reading it alone answers (empty for one that is gone). A rejected record that names no id
/// goes with the first, so its letter is kept.
fn split_by_id<'a>(
    page: Page,
    kind: RecordKind,
    wanted: &[&'a (RecordKind, PlatformId)],
) -> Vec<(RecordKind, &'a PlatformId, Result<Page, ConnectError>)> {
    let Page {
        items,
        rejected,
        deleted,
        attachments,
        ..
    } = page;
    wanted
        .iter()
        .enumerate()
        .map(|(i, (_, id))| {
            let one = Page {
                items: items.iter().filter(|o| o.id == *id).cloned().collect(),
                rejected: rejected
                    .iter()
                    .filter(|r| match r.id.as_deref() {
                        Some(named) => named == id.as_str(),
                        None => i == 0,
                    })
                    .cloned()
                    .collect(),
                deleted: deleted.iter().filter(|(_, d)| d == id).cloned().collect(),
                attachments: attachments.clone(),
                next: None,
                done: true,
            };
            (kind, id, Ok(one))
        })
        .collect()
}

/// A step's future with the item it applies.
async fn keyed<T>(item: &Observed, step: impl std::future::Future<Output = T>) -> (&Observed, T) {
    (item, step.await)
}

/// A waiting record, named for people: `ticket 12 on the old side waits for contact 5 on the
/// old side`.
fn waiting_name(observed: &Observed, parent: &RecordRef) -> String {
    format!(
        "{} {} on the {} side waits for {parent}",
        observed.record.kind(),
        observed.id,
        observed.side
    )
}
