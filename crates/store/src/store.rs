//! The `Store` and `StoreTx` traits: everything the engine and control plane keep, and the one
//! transaction through which work and the cursor that covers it are written together.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cutover_model::{PlatformId, RecordKind, SetupKind, Side};
use serde_json::Value;

use crate::alerts::{AlertActionRecord, AlertRecord};
use crate::audit::{AuditEntry, NewAuditEntry};
use crate::conflicts::{Conflict, ConflictId, NewConflict};
use crate::contacts::{Accepted, Contact, ContactDelivery, ContactId, Conversation, NewContact};
use crate::created::{CreatedRecord, CreatedSetup};
use crate::cursors::{Cursor, CursorMove};
use crate::dead_letters::{DeadLetter, DeadLetterFilter, DeadLetterId, NewDeadLetter};
use crate::error::StoreError;
use crate::kpi::{CreatedCount, FactFilter, KpiBuckets, KpiGroup, TicketFacts, TicketReading};
use crate::leases::{HintId, Lease, StoredHint};
use crate::links::{Link, LinkOutcome, StoredLink};
use crate::outbox::{NewOutboxItem, OutboxId, OutboxItem};
use crate::probes::ApiProbe;
use crate::tokens::{ApiToken, NewApiToken, TokenHash};
use crate::url::Backend;

/// Work read from one page of a stream, written in one transaction with the cursor past it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    /// Links to create or update (see [`StoreTx::upsert_link`]).
    pub links: Vec<Link>,
    /// Records that could not be applied.
    pub dead_letters: Vec<NewDeadLetter>,
    /// Writes to send to a side.
    pub outbox: Vec<NewOutboxItem>,
    /// Where the reader stands once this work is durable.
    pub cursor: Option<CursorMove>,
}

/// The state of a migration: links, cursors, outbox, dead letters, audit log and run state.
///
/// Reads see committed data. Writes go through [`Store::begin`]; the methods here that write are
/// shorthands for a transaction of one step. A cursor moves only inside a transaction
/// ([`StoreTx::set_cursor`]), together with the work it covers.
///
/// On SQLite one transaction writes at a time: a task that holds a [`StoreTx`] must not write
/// through the `Store` before it commits or drops it.
#[async_trait]
pub trait Store: fmt::Debug + Send + Sync {
    /// Which implementation this is.
    fn backend(&self) -> Backend;

    /// A handle on the same store whose write transactions carry `fence`: each is refused
    /// ([`crate::StoreError::Fenced`]) unless the lease still holds the fence's token. What a
    /// leader's work writes through, so a deposed leader changes nothing. Hints kept for the
    /// leader ([`Store::put_hints`]) are not fenced: any process keeps them.
    fn fenced(&self, fence: crate::leases::Fence) -> std::sync::Arc<dyn Store>;

    /// Records what one reading of a ticket tells, for the KPIs: inserts the ticket's facts or
    /// updates them, counting a reopening (solved before, unsolved now), a raised priority and a
    /// change of group against the facts as they stood.
    async fn record_ticket(&self, reading: &TicketReading) -> Result<(), StoreError>;

    /// Records a customer's rating (1 to 5) of a ticket whose facts are kept. Returns whether
    /// they were (a rating of a ticket never read is not kept).
    async fn record_satisfaction(
        &self,
        side: Side,
        ticket: &PlatformId,
        score: u8,
    ) -> Result<bool, StoreError>;

    /// Writes the facts of many tickets at once, as they are, in one transaction (history
    /// brought in bulk; a ticket whose facts are already kept is left as it is). Returns how
    /// many were written.
    async fn import_ticket_facts(&self, facts: &[TicketFacts]) -> Result<u64, StoreError>;

    /// The facts of the tickets that matter to a window `[from, to)`: created before `to`, and
    /// created in it, or unsolved, or solved at or after `from`. Oldest first.
    async fn ticket_facts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<TicketFacts>, StoreError>;

    /// What the KPIs need of the tickets `filter` keeps, aggregated by the store per bucket of
    /// time: `n_buckets` buckets of `length` from `from` (counts and nearest-rank percentiles;
    /// see [`KpiBuckets`]), and the backlog at `from`. What is read grows with the buckets, not
    /// with the tickets.
    async fn kpi_buckets(
        &self,
        from: DateTime<Utc>,
        length: chrono::Duration,
        n_buckets: u32,
        filter: &FactFilter,
    ) -> Result<KpiBuckets, StoreError>;

    /// As [`Store::kpi_buckets`], for each channel apart (`filter`'s channel, if any, still
    /// applies): the same statements in one pass over the span, keyed by channel. A channel
    /// without a ticket that counts is absent (its buckets would all be empty).
    async fn kpi_buckets_by_channel(
        &self,
        from: DateTime<Utc>,
        length: chrono::Duration,
        n_buckets: u32,
        filter: &FactFilter,
    ) -> Result<std::collections::BTreeMap<String, KpiBuckets>, StoreError>;

    /// How many tickets were created in `[from, to)`, counted in the store per side, channel
    /// and bucket of `length` counted from `origin` (a ticket created at `t` is in bucket
    /// `floor((t - origin) / length)`): the arrivals a review's volume and the heatmaps need,
    /// a row per bucket, side and channel with tickets, never the tickets. Ordered by bucket,
    /// side, then channel.
    async fn kpi_created(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        origin: DateTime<Utc>,
        length: chrono::Duration,
    ) -> Result<Vec<CreatedCount>, StoreError>;

    /// The channels of the tickets that matter to a window `[from, to)` (those
    /// [`Store::ticket_facts`] reads), each once, in byte order.
    async fn kpi_channels(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError>;

    /// How many tickets' facts `filter` keeps, at any time (its side, channel, group and wave;
    /// `gateway_channels` plays no part): whether a slice has any tickets at all.
    async fn kpi_count(&self, filter: &FactFilter) -> Result<u64, StoreError>;

    /// Keeps a group's name as read on its side, for the KPIs of a wave (its `groups` are
    /// names): inserts it, or updates the name of a group renamed.
    async fn record_group(&self, side: Side, id: &PlatformId, name: &str)
    -> Result<(), StoreError>;

    /// Every group [`Store::record_group`] kept, by side then id.
    async fn kpi_groups(&self) -> Result<Vec<KpiGroup>, StoreError>;

    /// Keeps one probe of a side's API (the continuity monitor's, see [`ApiProbe`]).
    async fn record_probe(&self, probe: &ApiProbe) -> Result<(), StoreError>;

    /// The probes taken in `[from, to)`, oldest first.
    async fn probes(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ApiProbe>, StoreError>;

    /// The continuity monitor's alerts, the `limit` most recently opened first.
    async fn alerts(&self, limit: u32) -> Result<Vec<AlertRecord>, StoreError>;

    /// The alerts open at or after `from`: still open, or closed at or after it; the most
    /// recently opened first.
    async fn alerts_open_since(&self, from: DateTime<Utc>) -> Result<Vec<AlertRecord>, StoreError>;

    /// The alerts' actions in the outbox, oldest first: only those not done yet when
    /// `pending_only`, at most `limit`.
    async fn alert_actions(
        &self,
        pending_only: bool,
        limit: u32,
    ) -> Result<Vec<AlertActionRecord>, StoreError>;

    /// Starts a write transaction. Dropping it without [`StoreTx::commit`] rolls it back.
    async fn begin(&self) -> Result<Box<dyn StoreTx>, StoreError>;

    /// Writes a batch and moves its cursor, all or nothing.
    async fn apply_batch(&self, batch: &Batch) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        tx.apply(batch).await?;
        tx.commit().await
    }

    /// The link of the record with this id on `side`.
    async fn find_link(
        &self,
        kind: RecordKind,
        side: Side,
        id: &PlatformId,
    ) -> Result<Option<StoredLink>, StoreError>;

    /// Links of a kind in old-id order (bytewise), after `after` if given: a page of at most
    /// `limit`.
    async fn links(
        &self,
        kind: RecordKind,
        after: Option<&PlatformId>,
        limit: u32,
    ) -> Result<Vec<StoredLink>, StoreError>;

    /// Links written at or after `since` (by a backfill or the bridge), newest first: a page of
    /// at most `limit`. What the bridge's rolling re-check starts from.
    async fn links_written_since(
        &self,
        since: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<StoredLink>, StoreError>;

    /// How many links there are, of one kind or of all.
    async fn count_links(&self, kind: Option<RecordKind>) -> Result<u64, StoreError>;

    /// Creates a link unless one of its ids is linked already; safe against concurrent callers.
    async fn link_if_absent(&self, link: &Link) -> Result<LinkOutcome, StoreError> {
        let mut tx = self.begin().await?;
        let outcome = tx.link_if_absent(link).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Where a reader of a side's stream stands.
    async fn cursor(&self, side: Side, stream: &str) -> Result<Option<Cursor>, StoreError>;

    /// Claims up to `limit` pending items for `target`, oldest first, that no live lease holds:
    /// each gets one more attempt and is held for `lease`. Workers on one PostgreSQL never
    /// claim the same item while its lease runs.
    async fn claim_outbox(
        &self,
        target: Side,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<OutboxItem>, StoreError>;

    /// Gives back a claimed item before its lease ends (e.g. after a transient error). Returns
    /// whether a pending item was released.
    async fn release_outbox(&self, id: OutboxId) -> Result<bool, StoreError>;

    /// Dead letters that pass a filter, in id order.
    async fn dead_letters(&self, filter: &DeadLetterFilter) -> Result<Vec<DeadLetter>, StoreError>;

    /// Stored conflicts with an id above `after`, oldest first, at most `limit`.
    async fn conflicts(
        &self,
        after: Option<ConflictId>,
        limit: u32,
    ) -> Result<Vec<Conflict>, StoreError>;

    /// One stored conflict.
    async fn conflict(&self, id: ConflictId) -> Result<Option<Conflict>, StoreError>;

    /// One dead letter.
    async fn dead_letter(&self, id: DeadLetterId) -> Result<Option<DeadLetter>, StoreError>;

    /// Removes a dead letter. Returns whether it existed.
    async fn drop_dead_letter(&self, id: DeadLetterId) -> Result<bool, StoreError>;

    /// Records that an operator asked to retry a dead letter. Returns whether it existed.
    async fn mark_dead_letter_retried(&self, id: DeadLetterId) -> Result<bool, StoreError>;

    /// Appends an entry to the audit log.
    async fn append_audit(&self, entry: &NewAuditEntry) -> Result<AuditEntry, StoreError> {
        let mut tx = self.begin().await?;
        let stored = tx.append_audit(entry).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Audit entries after `after_seq`, in order: a page of at most `limit`.
    async fn audit_entries(
        &self,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError>;

    /// Walks the whole audit chain. Returns how many entries it holds, or
    /// [`StoreError::AuditTampered`] naming the first bad entry.
    async fn verify_audit(&self) -> Result<u64, StoreError>;

    /// A run-state value.
    async fn run_state(&self, key: &str) -> Result<Option<Value>, StoreError>;

    /// Sets a run-state value.
    async fn put_run_state(&self, key: &str, value: &Value) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        tx.put_run_state(key, value).await?;
        tx.commit().await
    }

    /// Forgets a run-state value (no error when there is none).
    async fn delete_run_state(&self, key: &str) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        tx.delete_run_state(key).await?;
        tx.commit().await
    }

    /// Stores a new API token. A live token of the same name already there is a unique
    /// violation ([`StoreError::is_unique_violation`]).
    async fn create_api_token(&self, token: &NewApiToken) -> Result<ApiToken, StoreError>;

    /// Every API token, revoked ones too, by name then age (never their hashes).
    async fn api_tokens(&self) -> Result<Vec<ApiToken>, StoreError>;

    /// Revokes the live token of this name. Returns whether there was one.
    async fn revoke_api_token(&self, name: &str) -> Result<bool, StoreError>;

    /// The live (unrevoked) token with this hash, its last use set to now (written at most once
    /// a minute per token).
    async fn use_api_token(&self, hash: &TokenHash) -> Result<Option<ApiToken>, StoreError>;

    /// Takes the lease `name` for `holder` when it is free or lapsed, or renews it when
    /// `holder` holds it, for `ttl` from now by the database's clock. Answers the lease held
    /// (its token raised when the holder changed or the lease had lapsed), or `None` when
    /// another holder's lease is live. Atomic: of callers racing for a free lease, one wins.
    async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>, StoreError>;

    /// Lets `holder`'s live lease lapse now, so another may take it at once. Returns whether
    /// it held one.
    async fn release_lease(&self, name: &str, holder: &str) -> Result<bool, StoreError>;

    /// The lease `name` as it stands (lapsed or not), if it was ever taken.
    async fn lease(&self, name: &str) -> Result<Option<Lease>, StoreError>;

    /// Keeps the records a webhook delivery from `side` named, for the process that runs the
    /// bridge (when this one does not).
    async fn put_hints(
        &self,
        side: Side,
        hints: &[(RecordKind, PlatformId)],
    ) -> Result<(), StoreError>;

    /// The oldest kept hints of `side`, at most `limit`, in the order they were kept.
    async fn pending_hints(&self, side: Side, limit: u32) -> Result<Vec<StoredHint>, StoreError>;

    /// Removes the kept hints of `side` up to `up_to` (once they are read). Returns how many.
    async fn drop_hints(&self, side: Side, up_to: HintId) -> Result<u64, StoreError>;
    /// Keeps a contact of the gateway, unless the same channel and message key is kept already
    /// (a provider's retry): then answers that one. Safe against concurrent callers.
    async fn accept_contact(&self, contact: &NewContact) -> Result<Accepted, StoreError>;

    /// Keeps several contacts in one transaction (one commit, one flush to disk: the group
    /// commit of the gateway's keeper), each as [`Store::accept_contact`] does, answered in
    /// order: a message key given twice is kept once, the second answered as its repeat. All
    /// or none. They are written in the order given, so their ids follow arrival (the order a
    /// customer's messages are delivered in); two batches that share keys in opposite orders
    /// may deadlock on PostgreSQL, and the one the database gives up is written again.
    async fn accept_contacts(&self, contacts: &[NewContact]) -> Result<Vec<Accepted>, StoreError>;

    /// One contact.
    async fn contact(&self, id: ContactId) -> Result<Option<Contact>, StoreError>;

    /// Contacts with an id above `after`, in id order, at most `limit`.
    async fn contacts(
        &self,
        after: Option<ContactId>,
        limit: u32,
    ) -> Result<Vec<Contact>, StoreError>;

    /// Contacts delivered (or calls forwarded) to `side` at or after `since`, in id order, with
    /// an id above `after`, at most `limit`: what a wave's rollback report lists.
    async fn contacts_delivered_since(
        &self,
        side: Side,
        since: DateTime<Utc>,
        after: Option<ContactId>,
        limit: u32,
    ) -> Result<Vec<Contact>, StoreError>;

    /// Claims up to `limit` pending contacts that are due and that no live lease holds, oldest
    /// first, and only the oldest pending contact of each customer on a channel (a customer's
    /// contacts are delivered in order, one at a time): each gets one more attempt and is held
    /// for `lease`. Workers on one PostgreSQL never claim the same contact while its lease runs.
    async fn claim_contacts(&self, limit: u32, lease: Duration)
    -> Result<Vec<Contact>, StoreError>;

    /// Marks a claimed contact delivered and keeps its customer's conversation, in one
    /// transaction. Returns false (and writes nothing) when the claim no longer holds: the
    /// contact is not pending under that lease.
    async fn deliver_contact(&self, delivery: &ContactDelivery) -> Result<bool, StoreError>;

    /// Gives a claimed contact back, not to be claimed before `next_attempt`, noting the side
    /// the attempt went to and why it failed. Returns whether the claim held.
    async fn retry_contact(
        &self,
        id: ContactId,
        lease: DateTime<Utc>,
        next_attempt: DateTime<Utc>,
        side: Option<Side>,
        error: Option<&str>,
    ) -> Result<bool, StoreError>;

    /// Marks a claimed contact failed for good (a platform refused it as it stands) and keeps
    /// `letter` in the dead letters, in one transaction: the customer's later contacts are
    /// delivered on. Returns false (and writes nothing) when the claim no longer holds.
    async fn fail_contact(
        &self,
        id: ContactId,
        lease: DateTime<Utc>,
        error: &str,
        letter: &NewDeadLetter,
    ) -> Result<bool, StoreError>;

    /// Marks a call forwarded to `side` (a ringing call, once the switch that held it ended).
    /// Returns whether a ringing call was marked.
    async fn forward_call(&self, id: ContactId, side: Side) -> Result<bool, StoreError>;

    /// A customer's conversation on a channel.
    async fn conversation(
        &self,
        channel: &str,
        customer: &str,
    ) -> Result<Option<Conversation>, StoreError>;

    /// What cutover created on `side` (of one kind, or of all), by kind then id (bytewise),
    /// after `after` (kind and id) if given: a page of at most `limit`.
    async fn created_records(
        &self,
        side: Side,
        after: Option<(RecordKind, &PlatformId)>,
        limit: u32,
    ) -> Result<Vec<CreatedRecord>, StoreError>;

    /// The set-up items of `kind` cutover added on `side` (brands, ticket types, group
    /// memberships; few), by id.
    async fn created_setup(
        &self,
        side: Side,
        kind: SetupKind,
    ) -> Result<Vec<CreatedSetup>, StoreError>;

    /// Closes every connection, waiting for those in use to come back.
    async fn close(&self);
}

/// A write transaction. Nothing it writes is visible to others until [`StoreTx::commit`];
/// dropped without it, everything is rolled back. After an error, drop it.
#[async_trait]
pub trait StoreTx: fmt::Debug + Send {
    /// The link of the record with this id on `side`, as this transaction sees it.
    async fn find_link(
        &mut self,
        kind: RecordKind,
        side: Side,
        id: &PlatformId,
    ) -> Result<Option<StoredLink>, StoreError>;

    /// Creates the link of `link.old_id`, or replaces what it says. Fails with
    /// [`StoreError::LinkConflict`] when `link.new_id` is linked to another old record.
    async fn upsert_link(&mut self, link: &Link) -> Result<StoredLink, StoreError>;

    /// Creates a link unless its old or new id is linked already; says which happened. Concurrent
    /// callers linking the same record end with one link.
    async fn link_if_absent(&mut self, link: &Link) -> Result<LinkOutcome, StoreError>;

    /// Keeps a record that cannot be applied; a repeat (same kind, side, source id and reason)
    /// counts one more attempt and keeps the latest record.
    async fn put_dead_letter(&mut self, letter: &NewDeadLetter) -> Result<DeadLetter, StoreError>;

    /// Queues a write to send to a side.
    async fn enqueue_outbox(&mut self, item: &NewOutboxItem) -> Result<OutboxId, StoreError>;

    /// Marks an item sent, with the work its sending produced. Returns whether a pending item
    /// was marked.
    async fn ack_outbox(&mut self, id: OutboxId) -> Result<bool, StoreError>;

    /// Moves a reader's cursor. Fails with [`StoreError::CursorBackwards`] if the stored position
    /// is later.
    async fn set_cursor(
        &mut self,
        side: Side,
        stream: &str,
        cursor: &Cursor,
    ) -> Result<(), StoreError>;

    /// Forgets a reader's cursor, so the stream is read again from its start.
    async fn clear_cursor(&mut self, side: Side, stream: &str) -> Result<(), StoreError>;

    /// Appends an entry to the audit log. Appends are serialised: the chain stays single.
    async fn append_audit(&mut self, entry: &NewAuditEntry) -> Result<AuditEntry, StoreError>;

    /// Sets a run-state value.
    async fn put_run_state(&mut self, key: &str, value: &Value) -> Result<(), StoreError>;

    /// Forgets a run-state value (no error when there is none).
    async fn delete_run_state(&mut self, key: &str) -> Result<(), StoreError>;

    /// Notes that cutover created this record (kept once: a repeat changes nothing).
    async fn record_created(&mut self, created: &CreatedRecord) -> Result<(), StoreError>;

    /// Notes that cutover added this set-up item (kept once: a repeat changes nothing).
    async fn record_setup(&mut self, created: &CreatedSetup) -> Result<(), StoreError>;

    /// Forgets a set-up item cutover added and has now removed. Returns whether the ledger held
    /// it.
    async fn forget_setup(
        &mut self,
        side: Side,
        kind: SetupKind,
        id: &PlatformId,
    ) -> Result<bool, StoreError>;

    /// Forgets a record cutover created and has now deleted: its row in the ledger and its
    /// link (by its id on its side). Returns whether the ledger held it.
    async fn forget_created(
        &mut self,
        side: Side,
        kind: RecordKind,
        id: &PlatformId,
    ) -> Result<bool, StoreError>;
    /// Writes an alert episode (a new one, or the change of one kept already by its id), with
    /// the audit entry of the change in the same transaction.
    async fn put_alert(&mut self, alert: &AlertRecord) -> Result<(), StoreError>;

    /// Queues an alert's action in the outbox (nothing when one with its id is queued already).
    async fn put_alert_action(&mut self, action: &AlertActionRecord) -> Result<(), StoreError>;

    /// Marks a queued action done with its result. Returns false when it was done already (by
    /// another process): then the caller's transaction should write nothing else.
    async fn finish_alert_action(
        &mut self,
        id: &str,
        done_at: DateTime<Utc>,
        result: &Value,
    ) -> Result<bool, StoreError>;

    /// Stores a conflict the bridge resolved.
    async fn put_conflict(&mut self, conflict: &NewConflict) -> Result<ConflictId, StoreError>;

    /// Writes a batch: its links (upserted), dead letters, outbox items, then its cursor.
    async fn apply(&mut self, batch: &Batch) -> Result<(), StoreError> {
        for link in &batch.links {
            self.upsert_link(link).await?;
        }
        for letter in &batch.dead_letters {
            self.put_dead_letter(letter).await?;
        }
        for item in &batch.outbox {
            self.enqueue_outbox(item).await?;
        }
        if let Some(CursorMove {
            side,
            stream,
            cursor,
        }) = &batch.cursor
        {
            self.set_cursor(*side, stream, cursor).await?;
        }
        Ok(())
    }

    /// Makes everything written durable and visible, at once.
    async fn commit(self: Box<Self>) -> Result<(), StoreError>;

    /// Undoes everything written, and waits until the database has.
    async fn rollback(self: Box<Self>) -> Result<(), StoreError>;
}
