//! The backfill: every record of the plan's kinds copied from one side to the other, in
//! dependency order, resumable after any interruption.
//!
//! Each page is read from the saved cursor, its records applied (a bounded number of writes in
//! flight; the connector paces them within its rate budget), and then its links, its dead
//! letters and the cursor past it are committed in **one** store transaction. A crash loses at
//! most the page in flight, whose writes the next run finds again by their origin marks. Records
//! waiting for a parent are tried again once their parent's kind is done, and dead-lettered with
//! "parent never appeared" if they still wait at the end.
//!
//! Run again after a pass that went to the end, a backfill is a catch-up (a "delta"): each
//! kind's cursor holds where its pass ended, so the change feeds (tickets, people, organizations)
//! read on from their high-water mark and only what changed since is read; the short lists
//! (groups, fields, rules) are read again whole and found unchanged. A changed record is
//! updated through its link, a comment added to a copied ticket is added to its copy, and
//! nothing is created twice. A feed that shows changes late (Zendesk's exports leave out their
//! last minute) leaves the latest ones to the next run, which finds them from the same mark.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use cutover_connect::{Connector, Rejected};
use cutover_model::{Observed, PlatformId, RecordKind, RecordRef, Side};
use cutover_plan::Plan;
use cutover_store::{Cursor, DeadLetter, DeadLetterFilter, NewDeadLetter, Store};
use futures::StreamExt;

use crate::apply::{Applier, Outcome};
use crate::cursor::{self, Saved};
use crate::error::EngineError;
use crate::mapping::Mapping;
use crate::progress::{BackfillReport, Counts, ProgressEvent, ProgressSink};
use crate::sync::status::feed_delay;

/// The reason given to a record whose parent was never linked by the end of a backfill.
pub const PARENT_NEVER_APPEARED: &str = "parent never appeared";

/// The reason under which a record waiting for its parent is parked in the dead letters, so a
/// crash after its page's cursor moved on does not lose it: the next run takes it back.
pub const WAITING_FOR_PARENT: &str = "waiting for a parent";

/// The reason under which the bridge keeps a record whose read or write still failed after the
/// connector's retries (a 5xx burst, a create that cannot be retried blindly): the cursor moves
/// past it in the same transaction, and the record is read again by id at the end of the pass
/// and at the start of later passes until it is applied; then its letter is settled.
pub const READ_AGAIN: &str = "read again: a request failed after its retries";

/// How a backfill runs.
#[derive(Debug, Clone)]
pub struct BackfillOptions {
    /// The kinds to copy (copied in dependency order, whatever the order here).
    pub kinds: Vec<RecordKind>,
    /// Writes in flight at once; they share the target connector's rate budget.
    pub concurrency: usize,
    /// Count what would be created or updated; write nothing, neither to the target nor to the
    /// store.
    pub dry_run: bool,
    /// Where progress events go.
    pub progress: ProgressSink,
    /// The user confirmed that the target's own e-mails to requesters on ticket creation are
    /// off (see [`EngineError::NotificationsOn`]).
    pub notifications_off: bool,
    /// Start even though the old account holds values the plan does not decide (their records
    /// go to the dead letters); without it the backfill refuses ([`EngineError::Unmapped`]).
    pub allow_unmapped: bool,
}

impl BackfillOptions {
    /// The plan's `copy.kinds`, four writes in flight, progress ignored.
    pub fn from_plan(plan: &Plan) -> Self {
        BackfillOptions {
            kinds: plan.copy.kinds.clone(),
            concurrency: 4,
            dry_run: false,
            progress: ProgressSink::none(),
            notifications_off: plan.copy.target_notifications_off,
            allow_unmapped: false,
        }
    }

    /// Whether this backfill may not start into `target` until the user confirms that its
    /// e-mails to requesters on ticket creation are off (see [`EngineError::NotificationsOn`]).
    pub fn awaits_notifications_confirmed(&self, target: &cutover_connect::Capabilities) -> bool {
        target.ticket_create_may_notify
            && self.kinds.contains(&RecordKind::Ticket)
            && !self.dry_run
            && !self.notifications_off
    }
}

/// A record waiting for its parent. A ticket's child that waits parks its ticket: the ticket is
/// tried again as a whole, so its comments keep their attachments' download addresses.
type Waiting = (Observed, RecordRef);

/// Copies every record of `options.kinds` from `source`'s side to `target`'s.
pub async fn backfill(
    store: Arc<dyn Store>,
    source: Arc<dyn Connector>,
    target: Arc<dyn Connector>,
    mut mapping: Mapping,
    options: BackfillOptions,
) -> Result<BackfillReport, EngineError> {
    let target_caps = target.capabilities();
    if options.awaits_notifications_confirmed(&target_caps) {
        return Err(EngineError::NotificationsOn {
            platform: target_caps.platform,
        });
    }
    // Both accounts' definitions, read before anything is written: values the plan leaves open
    // stop the run here rather than dead-letter their records, and every hint names its choices.
    // (A copy the other way round reads the plan's tables backwards: it has no open values.)
    if source.side() == cutover_model::Side::Old {
        let (accounts, open) = crate::unmapped::unmapped(
            source.as_ref(),
            target.as_ref(),
            mapping.plan(),
            &options.kinds,
        )
        .await?;
        if !open.is_empty() && !options.allow_unmapped {
            return Err(EngineError::Unmapped(open));
        }
        mapping.know_choices(&accounts.new);
        // The ticket types and brands the plan creates (`"create"` in [mapping.ticket_types]
        // and [mapping.brands]) are added before the first ticket is written: the target
        // refuses a type it does not list, and a brand it lacks is lost.
        if !options.dry_run && options.kinds.contains(&RecordKind::Ticket) {
            create_ticket_types(store.as_ref(), target.as_ref(), &mapping).await?;
        }
    }
    let applier = Applier::new(store, source, target, mapping, options.dry_run)
        .copying(&options.kinds)
        .batching();
    let run = Run {
        applier,
        options,
        report: BackfillReport::default(),
        waiting: Vec::new(),
    };
    run.run().await
}

/// Adds to the new account `target` the ticket types and brands the plan creates (`"create"`
/// in `[mapping.ticket_types]` and `[mapping.brands]`) that it does not list yet: the target
/// refuses a type it does not list. Run before tickets are written into it (a backfill, the
/// bridge, a retry of dead letters). Each one added is noted in `store`'s ledger of what
/// cutover created, so `cutover cleanup` removes it. Returns the names of those added.
pub async fn create_ticket_types(
    store: &dyn Store,
    target: &dyn Connector,
    mapping: &Mapping,
) -> Result<Vec<String>, EngineError> {
    if target.side() != Side::New {
        return Ok(Vec::new());
    }
    let mut added = Vec::new();
    let types = mapping.ticket_types_to_create();
    if !types.is_empty() {
        added.extend(target.create_ticket_types(&types).await?);
    }
    let brands = mapping.brands_to_create();
    if !brands.is_empty() {
        added.extend(target.create_brands(&brands).await?);
    }
    if added.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = store.begin().await?;
    for item in &added {
        tx.record_setup(&cutover_store::CreatedSetup {
            side: target.side(),
            kind: item.kind,
            id: item.id.clone(),
            name: item.name.clone(),
            parent: None,
        })
        .await?;
    }
    tx.commit().await?;
    let names: Vec<String> = added.into_iter().map(|item| item.name).collect();
    tracing::info!(added = ?names, "Added the ticket types and brands the plan creates.");
    Ok(names)
}

struct Run {
    applier: Applier,
    options: BackfillOptions,
    report: BackfillReport,
    waiting: Vec<Waiting>,
}

impl Run {
    async fn run(mut self) -> Result<BackfillReport, EngineError> {
        self.report.dry_run = self.options.dry_run;
        // What this run reads at the latest: the source's changes made before it started, less
        // how late its feeds show them (a Zendesk export leaves out its last minute).
        self.report.read_up_to =
            Some(chrono::Utc::now() - feed_delay(self.applier.source.platform()));
        self.report.catching_up_from = self.caught_up_to().await?;
        // Copies an earlier run wrote with their comments and stopped before linking them: linked
        // first, so none of their comments is written again (see `later_links.rs`).
        self.applier.resume_later().await?;
        self.commit(Vec::new(), None).await?;
        let per_ticket = self.applier.source.capabilities().read_per_ticket;
        // Custom field definitions go first: they have no parents, and organizations and
        // contacts carry values of theirs (a platform refuses a value of an unknown field).
        let mut kinds: Vec<RecordKind> = RecordKind::ALL
            .iter()
            .copied()
            .filter(|k| self.options.kinds.contains(k) && !per_ticket.contains(k))
            .collect();
        kinds.sort_by_key(|k| *k != RecordKind::CustomField);
        let target = self.applier.target.capabilities();
        if target.ticket_create_may_notify && self.options.kinds.contains(&RecordKind::Ticket) {
            tracing::warn!(
                platform = %target.platform,
                confirmed_off = self.options.notifications_off,
                "Creating tickets on the new platform may e-mail their requesters: its requester notifications must be off before the backfill."
            );
        }
        self.unpark().await?;
        let mut finished = BTreeSet::new();
        for kind in kinds {
            // Once the definitions are copied: a choice field's values are carried as the
            // target's choice of the same name (organizations and contacts hold them too).
            if kind != RecordKind::CustomField {
                self.applier.learn_fields().await?;
            }
            if self.can_copy(kind) {
                self.copy_kind(kind).await?;
            }
            finished.insert(kind);
            finished.extend(
                per_ticket
                    .iter()
                    .copied()
                    .filter(|_| kind == RecordKind::Ticket),
            );
            self.applier.finish(finished.iter().copied());
            self.retry_waiting(Some(&finished)).await?;
        }
        // Whatever still waits for an agent or group that never appeared takes its stand-in.
        self.applier.finish(RecordKind::ALL.iter().copied());
        self.retry_waiting(None).await?;
        // The comments of every ticket imported in bulk are linked before the run ends.
        self.applier.link_later(true).await?;
        self.commit(Vec::new(), None).await?;
        Ok(self.report)
    }

    /// The change time an earlier backfill read the tickets to, when it read them to their end:
    /// this run is then a catch-up (a "delta"), reading on from there (each stream's cursor holds
    /// its place), so only what changed since is read and written.
    async fn caught_up_to(&self) -> Result<Option<chrono::DateTime<chrono::Utc>>, EngineError> {
        if !self.options.kinds.contains(&RecordKind::Ticket) {
            return Ok(None);
        }
        let side = self.applier.from_side();
        let saved = self
            .applier
            .store
            .cursor(side, &cursor::stream(RecordKind::Ticket))
            .await?;
        let Some(saved_cursor) = saved else {
            return Ok(None);
        };
        let kept = cursor::load(Some(&saved_cursor));
        Ok(kept.complete.then(|| {
            kept.position
                .and_then(|p| p.time)
                .unwrap_or(saved_cursor.position.time)
        }))
    }

    /// Whether the source can read `kind`. A kind the target cannot create is still copied:
    /// every create looks for an existing record first (roles are matched by name), and what is
    /// not found is dead-lettered with the platform's reason.
    fn can_copy(&self, kind: RecordKind) -> bool {
        let readable = self.applier.source.capabilities().can_read(kind);
        let writable = self.applier.target.capabilities().can_write(kind);
        if !readable {
            tracing::warn!(%kind, "Kind skipped: the source cannot list it.");
        } else if !writable {
            tracing::info!(%kind, "The target cannot create this kind: records are matched to existing ones.");
        }
        readable
    }

    /// Copies one kind, page by page, from its saved cursor.
    async fn copy_kind(&mut self, kind: RecordKind) -> Result<(), EngineError> {
        let side = self.applier.from_side();
        let store = Arc::clone(&self.applier.store);
        let mut previous: Option<Cursor> = store.cursor(side, &cursor::stream(kind)).await?;
        let mut position = cursor::start(&cursor::load(previous.as_ref()));
        let started = Instant::now();
        // How many there are, for the progress bar's ETA, when the platform says so cheaply.
        let total = match self.applier.source.count(kind).await {
            Ok(total) => total,
            Err(e) => {
                tracing::debug!(%kind, error = %e, "The source did not say how many records it holds.");
                None
            }
        };
        let with_children = self.options.kinds.contains(&RecordKind::Comment);
        loop {
            let page = self.applier.source.read_page(kind, &position).await?;
            let mut left: Vec<(RecordKind, PlatformId)> = page
                .rejected
                .iter()
                .filter_map(|r| Some((r.kind, PlatformId::parse(r.id.clone()?).ok()?)))
                .collect();
            let mut letters = self.rejected(&page.rejected);
            // Where the target creates records of this kind in bulk, enough are kept in flight
            // to fill a batch (most of them wait in it, not on the platform).
            let concurrency = self
                .options
                .concurrency
                .max(self.applier.target.create_batch(kind))
                .max(1);
            let applier = &self.applier;
            if with_children && kind == RecordKind::Ticket {
                applier.read_children_ahead(&page.items).await?;
            }
            let results: Vec<_> = futures::stream::iter(page.items.iter())
                .map(|item| step(applier, item, with_children))
                .buffer_unordered(concurrency)
                .collect()
                .await;
            applier.forget_children_ahead();
            for result in results {
                let (outcomes, rejected) = result?;
                letters.extend(self.rejected(&rejected));
                let ticket = ticket_of(&outcomes);
                for (observed, outcome) in outcomes {
                    left.extend(left_behind(&observed, &outcome));
                    letters.extend(self.tally(observed, outcome, ticket.as_ref()));
                }
            }
            self.adopt_left(&left).await?;
            let saved = Saved {
                position: page.next.clone(),
                complete: page.done || page.next.is_none(),
            };
            let cursor_move = cursor::advance(side, kind, previous.as_ref(), &saved);
            previous = Some(cursor_move.cursor.clone());
            self.commit(letters, Some(cursor_move)).await?;
            if kind == RecordKind::Ticket && self.applier.link_later(false).await? > 0 {
                // The comments of tickets imported a minute ago and more, many at once.
                self.commit(Vec::new(), None).await?;
            }
            self.progress(kind, total, started, false);
            match page.next {
                Some(next) if !page.done && next != position => position = next,
                _ => break,
            }
        }
        self.progress(kind, total, started, true);
        Ok(())
    }

    /// Counts an outcome; keeps a waiting record (or, for a ticket's child, its `ticket`);
    /// returns the dead letter it makes, if any.
    fn tally(
        &mut self,
        observed: Observed,
        outcome: Outcome,
        ticket: Option<&Observed>,
    ) -> Option<NewDeadLetter> {
        let counts = self.report.kinds.entry(observed.record.kind()).or_default();
        counts.read += 1;
        counts.count(&outcome);
        match outcome {
            Outcome::Waiting(parent) => {
                let park = match ticket {
                    Some(ticket) if observed.record.kind() != RecordKind::Ticket => ticket.clone(),
                    _ => observed,
                };
                let kind = park.record.kind();
                if self
                    .waiting
                    .iter()
                    .any(|(o, _)| o.record.kind() == kind && o.id == park.id)
                {
                    return None;
                }
                let parked = letter(&park, WAITING_FOR_PARENT.to_owned());
                self.waiting.push((park, parent));
                Some(parked)
            }
            Outcome::DeadLettered(reason) => Some(letter(&observed, reason)),
            _ => None,
        }
    }

    /// Tries waiting records again: those whose parent's kind is in `finished`, or all of them
    /// at the end (`None`), when the ones still waiting are dead-lettered.
    async fn retry_waiting(
        &mut self,
        finished: Option<&BTreeSet<RecordKind>>,
    ) -> Result<(), EngineError> {
        let (retry, keep): (Vec<Waiting>, Vec<Waiting>) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|(_, parent)| finished.is_none_or(|f| f.contains(&parent.kind)));
        self.waiting = keep;
        if retry.is_empty() {
            return Ok(());
        }
        let with_children = self.options.kinds.contains(&RecordKind::Comment);
        let mut letters = Vec::new();
        let mut left = Vec::new();
        let mut settled = Vec::new();
        for (parked, _) in retry {
            // The earlier attempt was counted as waiting; this one replaces it.
            if let Some(counts) = self.report.kinds.get_mut(&parked.record.kind()) {
                counts.read = counts.read.saturating_sub(1);
                counts.waiting = counts.waiting.saturating_sub(1);
            }
            let (outcomes, rejected) = step(&self.applier, &parked, with_children).await?;
            letters.extend(self.rejected(&rejected));
            let ticket = ticket_of(&outcomes);
            let mut still_waiting = false;
            for (observed, outcome) in outcomes {
                let outcome = match (outcome, finished) {
                    (Outcome::Waiting(parent), None) => Outcome::DeadLettered(format!(
                        "{PARENT_NEVER_APPEARED}: {} {} on the {} side refers to {parent}",
                        observed.record.kind(),
                        observed.id,
                        observed.side
                    )),
                    (outcome, _) => outcome,
                };
                still_waiting |= matches!(outcome, Outcome::Waiting(_));
                left.extend(left_behind(&observed, &outcome));
                letters.extend(self.tally(observed, outcome, ticket.as_ref()));
            }
            if !still_waiting {
                settled.push((parked.record.kind(), parked.id.clone()));
            }
        }
        self.adopt_left(&left).await?;
        self.commit(letters, None).await?;
        self.release(&settled).await
    }

    /// Takes back the records a previous run parked as waiting: they are tried again once their
    /// own kind is done in this run (their parents' kinds come first).
    async fn unpark(&mut self) -> Result<(), EngineError> {
        let side = self.applier.from_side();
        for letter in parked(self.applier.store.as_ref(), side).await? {
            match serde_json::from_value::<Observed>(letter.record) {
                Ok(observed) => {
                    let parent = RecordRef {
                        kind: observed.record.kind(),
                        side,
                        id: observed.id.clone(),
                    };
                    self.waiting.push((observed, parent));
                }
                Err(e) => {
                    tracing::warn!(dead_letter = %letter.id, error = %e, "Parked record does not parse; left in the dead letters.")
                }
            }
        }
        Ok(())
    }

    /// Removes the parked copies of records that no longer wait.
    async fn release(&self, settled: &[(RecordKind, PlatformId)]) -> Result<(), EngineError> {
        if settled.is_empty() || self.options.dry_run {
            return Ok(());
        }
        let store = self.applier.store.as_ref();
        let wanted: BTreeSet<&(RecordKind, PlatformId)> = settled.iter().collect();
        for letter in parked(store, self.applier.from_side()).await? {
            if wanted.contains(&(letter.kind, letter.source_id.clone())) {
                store.drop_dead_letter(letter.id).await?;
            }
        }
        Ok(())
    }

    /// Links the copies earlier runs made of records this run leaves behind (see
    /// `Applier::adopt_left`), so no copy stays on the target unlinked.
    async fn adopt_left(&self, left: &[(RecordKind, PlatformId)]) -> Result<(), EngineError> {
        for (kind, id) in left {
            self.applier.adopt_left(*kind, id).await?;
        }
        Ok(())
    }

    /// Commits the links written since the last commit, the dead letters and the cursor in one
    /// transaction. A dry run commits nothing.
    async fn commit(
        &mut self,
        dead_letters: Vec<NewDeadLetter>,
        cursor: Option<cutover_store::CursorMove>,
    ) -> Result<(), EngineError> {
        self.applier.commit_with_cursor(dead_letters, cursor).await
    }

    /// Dead letters of records the source could not read.
    fn rejected(&mut self, rejected: &[Rejected]) -> Vec<NewDeadLetter> {
        let side = self.applier.from_side();
        rejected
            .iter()
            .map(|r| {
                self.report.kinds.entry(r.kind).or_default().dead_lettered += 1;
                rejected_letter(side, r)
            })
            .collect()
    }

    fn progress(&self, kind: RecordKind, total: Option<u64>, started: Instant, finished: bool) {
        let counts: Counts = self.report.counts(kind);
        let elapsed = started.elapsed().as_secs_f64().max(1e-3);
        self.options.progress.report(&ProgressEvent {
            kind,
            done: counts.read,
            total,
            rate: counts.read as f64 / elapsed,
            counts,
            finished,
        });
    }
}

/// Every record parked as waiting on `side`.
pub(crate) async fn parked(store: &dyn Store, side: Side) -> Result<Vec<DeadLetter>, EngineError> {
    letters_for(store, side, WAITING_FOR_PARENT).await
}

/// Every dead letter of `side` with exactly `reason`.
pub(crate) async fn letters_for(
    store: &dyn Store,
    side: Side,
    reason: &str,
) -> Result<Vec<DeadLetter>, EngineError> {
    let mut all = Vec::new();
    let mut filter = DeadLetterFilter {
        side: Some(side),
        reason: Some(reason.to_owned()),
        limit: 500,
        ..DeadLetterFilter::default()
    };
    loop {
        let page = store.dead_letters(&filter).await?;
        let Some(last) = page.last() else { break };
        filter.after = Some(last.id);
        all.extend(page);
    }
    Ok(all)
}

/// A record this run leaves behind (dead-lettered), whose copy an earlier run may have made.
pub(crate) fn left_behind(
    observed: &Observed,
    outcome: &Outcome,
) -> Option<(RecordKind, PlatformId)> {
    matches!(outcome, Outcome::DeadLettered(_))
        .then(|| (observed.record.kind(), observed.id.clone()))
}

/// The ticket of a ticket step's outcomes (it comes first), if it is one.
pub(crate) fn ticket_of(outcomes: &[(Observed, Outcome)]) -> Option<Observed> {
    outcomes
        .first()
        .map(|(observed, _)| observed)
        .filter(|observed| observed.record.kind() == RecordKind::Ticket)
        .cloned()
}

/// One item of a page: a ticket with its children, or any other record.
pub(crate) async fn step(
    applier: &Applier,
    item: &Observed,
    with_children: bool,
) -> Result<(Vec<(Observed, Outcome)>, Vec<Rejected>), EngineError> {
    if item.record.kind() == RecordKind::Ticket {
        let report = applier.apply_ticket(item, with_children).await?;
        return Ok((report.outcomes, report.rejected));
    }
    if item.record.kind() == RecordKind::SatisfactionRating {
        applier.record_rating(item).await?;
    }
    if item.record.kind() == RecordKind::Group {
        applier.record_group_name(item).await?;
    }
    let outcome = applier.apply(item).await?;
    Ok((vec![(item.clone(), outcome)], Vec::new()))
}

/// The dead letter of a record that cannot be applied.
pub(crate) fn letter(observed: &Observed, reason: String) -> NewDeadLetter {
    NewDeadLetter {
        kind: observed.record.kind(),
        side: observed.side,
        source_id: observed.id.clone(),
        reason,
        record: serde_json::to_value(observed).unwrap_or(serde_json::Value::Null),
    }
}

/// The dead letter of a record the source could not read: its raw JSON and the reason.
pub(crate) fn rejected_letter(side: Side, rejected: &Rejected) -> NewDeadLetter {
    let source_id = rejected
        .id
        .as_deref()
        .and_then(|id| PlatformId::parse(id).ok())
        .unwrap_or_else(|| PlatformId::from(0));
    NewDeadLetter {
        kind: rejected.kind,
        side,
        source_id,
        reason: rejected.to_string(),
        record: rejected.raw.clone(),
    }
}
