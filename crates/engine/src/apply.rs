//! One record step: map, fingerprint, compare with the link, wait for parents, write, link.
//!
//! Every record is fingerprinted in one form whichever side it was read from: values in the new
//! side's vocabulary, references in the old side's key space (through the links). A record whose
//! fingerprint equals its link's is [`Outcome::Unchanged`]: that is also what stops the bridge's
//! own writes from echoing back. A record whose parent is not linked yet is
//! [`Outcome::Waiting`]: it never creates a duplicate parent. Creates are idempotent (the
//! connector looks for a copy by its origin mark first), so a crash between "created" and
//! "linked" is healed by the next run.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock};

use cutover_connect::{
    ConnectError, Connector, ErrorClass, History, Origin, Outbound, ReadPosition, Reference,
    TargetIds, WriteOutcome, Written, references,
};
use cutover_model::records::Record;
use cutover_model::{Fingerprint, Observed, PlatformId, RecordKind, RecordRef, Side};
use cutover_store::{DeadLetterFilter, FieldHashes, Link, Store};

use crate::error::EngineError;
use crate::intent::Resume;
use crate::mapping::{Mapping, Translated};
use crate::refs::{Fate, rewrite};
use crate::stand_in::{self, Names, StandIns, name_originals};
use crate::state::RunState;

/// What one record step came to. Per-record trouble is data, not an `Err`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Written to the other side (created, found by its mark, or updated) and linked. In a dry
    /// run: would have been.
    Applied(WriteOutcome),
    /// The other side holds the same content already (the link's fingerprint is equal).
    Unchanged,
    /// A record it refers to is not linked yet; try again once that kind is done.
    Waiting(RecordRef),
    /// The plan leaves it behind, on purpose; the text says why.
    Dropped(String),
    /// It cannot be applied; the reason goes to the dead letters with the record.
    DeadLettered(String),
}

/// A record ready to write: what goes to the target, its fingerprint, and its link if any.
#[derive(Debug, Clone)]
pub struct Ready {
    /// What to write.
    pub outbound: Outbound,
    /// The fingerprint of its canonical form.
    pub fingerprint: Fingerprint,
    /// Its link, when it was copied before.
    pub link: Option<Link>,
    /// The source platform's version of it.
    pub version: Option<String>,
    /// A hash of each field of its canonical form (see `sync::conflicts`), kept in its link.
    pub fields: FieldHashes,
}

/// A record in both forms, its references resolved: what [`Applier::prepare_with`] compares
/// with the link, and what the bridge's conflict rules splice.
#[derive(Debug, Clone)]
pub(crate) struct Shaped {
    /// The canonical form (the new side's vocabulary, the old side's keys).
    pub(crate) form: Record,
    /// What goes to the target (its vocabulary, the source's keys).
    pub(crate) outgoing: Record,
    /// The target's ids of the records it refers to.
    pub(crate) targets: TargetIds,
    /// The agents and groups not carried, by field, as a person names them.
    pub(crate) originals: Vec<(&'static str, String)>,
}

/// A record step before writing: ready, or already decided.
#[derive(Debug, Clone)]
pub enum Prepared {
    /// Ready to write.
    Ready(Box<Ready>),
    /// Decided without writing.
    Done(Outcome),
}

/// Applies records read on one side to the other side.
#[derive(Debug)]
pub struct Applier {
    /// Where links, cursors and dead letters are kept.
    pub(crate) store: Arc<dyn Store>,
    /// The side records are read from.
    pub(crate) source: Arc<dyn Connector>,
    /// The side records are written to.
    pub(crate) target: Arc<dyn Connector>,
    /// The plan's tables (learns custom field titles as definitions are read).
    pub(crate) mapping: RwLock<Mapping>,
    /// Links not committed yet, drops, agents.
    pub(crate) state: RunState,
    /// Count what would be written, write nothing.
    pub(crate) dry_run: bool,
    /// The kinds this run copies; references to other kinds are treated as dropped.
    pub(crate) copied: Option<BTreeSet<RecordKind>>,
    /// Whether both sides' custom field definitions were learned (see `learn_fields`).
    pub(crate) fields_learned: std::sync::atomic::AtomicBool,
    /// Kinds this run is done with: a record of theirs not linked by now will not be, so a
    /// reference to it that takes a stand-in gets it instead of waiting (see `stand_in.rs`).
    pub(crate) finished: RwLock<BTreeSet<RecordKind>>,
    /// The plan's stand-ins on the target, read when first needed.
    pub(crate) stand_ins: futures::lock::Mutex<Option<Arc<StandIns>>>,
    /// The source's agents and groups as a person names them.
    pub(crate) names: Names,
    /// Old groups and roles that share another's copy, with its id: read on first use, when
    /// the plan maps several onto one (see `Mapping::merged_into`).
    pub(crate) merges: futures::lock::Mutex<Option<Arc<Merges>>>,
    /// In the bridge: updates are conditional on the version last seen, and a conflict is
    /// resolved by these rules with the other direction's applier (see `sync::conflicts`).
    pub(crate) conflicts: std::sync::OnceLock<crate::sync::conflicts::Resolver>,
    /// In the bridge: agents, groups and roles carried when a record refers to one with no
    /// link (see `late.rs`).
    pub(crate) late: crate::late::Late,
    /// Tickets whose children were all applied as read once their version had settled: an
    /// unchanged ticket at that version has no child to read again (see `children.rs`).
    pub(crate) children_known: Arc<crate::children::ChildrenKnown>,
    /// The children of the tickets of the page being applied, read in bulk before it (see
    /// `Applier::read_children_ahead`), each taken when its ticket reads its children.
    pub(crate) children_ahead:
        std::sync::Mutex<std::collections::HashMap<PlatformId, cutover_connect::Page>>,
    /// Whether creates may go out in the target's bulk creates ([`Applier::batching`]).
    pub(crate) batch: bool,
    /// Copies written with their children whose copies the target names later (see
    /// `later_links.rs`).
    pub(crate) later_links: crate::later_links::LaterLinks,
}

/// Old groups and roles that share another's copy, by kind and id, with the id they share.
pub(crate) type Merges = BTreeMap<(RecordKind, PlatformId), PlatformId>;

impl Applier {
    /// An applier from `source`'s side to `target`'s. In a dry run nothing is written to the
    /// target and links are only remembered for the run.
    pub fn new(
        store: Arc<dyn Store>,
        source: Arc<dyn Connector>,
        target: Arc<dyn Connector>,
        mut mapping: Mapping,
        dry_run: bool,
    ) -> Self {
        let to = target.capabilities();
        if source.side() == Side::Old && !to.agents_who_left {
            mapping.leaving_leavers_behind(Some(to.platform));
        }
        Applier {
            store,
            source,
            target,
            mapping: RwLock::new(mapping),
            state: RunState::default(),
            dry_run,
            copied: None,
            fields_learned: std::sync::atomic::AtomicBool::new(false),
            finished: RwLock::new(BTreeSet::new()),
            stand_ins: futures::lock::Mutex::new(None),
            names: Names::default(),
            merges: futures::lock::Mutex::new(None),
            conflicts: std::sync::OnceLock::new(),
            late: crate::late::Late::default(),
            children_known: Arc::default(),
            children_ahead: std::sync::Mutex::default(),
            batch: false,
            later_links: crate::later_links::LaterLinks::default(),
        }
    }

    /// Tells the applier that this run is done with `kinds`: references to their records that
    /// are still not linked will not be, and take the plan's stand-in where there is one.
    pub fn finish(&self, kinds: impl IntoIterator<Item = RecordKind>) {
        self.finished
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(kinds);
    }

    /// Limits the run to `kinds`: an optional reference to a kind that is not copied is removed
    /// instead of waiting for a parent that never comes.
    pub fn copying(mut self, kinds: &[RecordKind]) -> Self {
        self.copied = Some(kinds.iter().copied().collect());
        self
    }

    /// Lets creates wait a moment to go out together through the target's bulk creates
    /// (`Outbound::batch`): a backfill's, whose records come many at once. Each still leaves its
    /// intent first, so a crash after a bulk job ran finds its copies by their marks.
    pub fn batching(mut self) -> Self {
        self.batch = true;
        self
    }

    /// The side records are read from.
    pub fn from_side(&self) -> Side {
        self.source.side()
    }

    /// Learns the custom field definitions both sides hold now (once per applier), so a
    /// ticket's field values are translated by title and written under the target's own keys
    /// (Zendesk keys ticket values by the field's id, which a field copied a moment ago only has
    /// on the target).
    pub async fn learn_fields(&self) -> Result<(), EngineError> {
        if self
            .fields_learned
            .swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            return Ok(());
        }
        for connector in [&self.source, &self.target] {
            if !connector.capabilities().can_read(RecordKind::CustomField) {
                continue;
            }
            let side = connector.side();
            let mut position = ReadPosition::start();
            loop {
                let page = connector
                    .read_page(RecordKind::CustomField, &position)
                    .await?;
                for observed in &page.items {
                    if let Record::CustomField(def) = &observed.record {
                        self.mapping
                            .write()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .learn_field(side, def);
                    }
                }
                match page.next {
                    Some(next) if !page.done && next != position => position = next,
                    _ => break,
                }
            }
        }
        Ok(())
    }

    pub(crate) fn mapping(&self) -> std::sync::RwLockReadGuard<'_, Mapping> {
        self.mapping
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// One record step: prepare, then write (with no children).
    pub async fn apply(&self, observed: &Observed) -> Result<Outcome, EngineError> {
        match self.prepare(observed).await? {
            Prepared::Done(outcome) => Ok(outcome),
            Prepared::Ready(ready) => self.write(*ready, &BTreeMap::new()).await,
        }
    }

    /// Maps and fingerprints a record, resolves its references through the links, and compares
    /// it with its link.
    pub async fn prepare(&self, observed: &Observed) -> Result<Prepared, EngineError> {
        self.prepare_with(observed, None).await
    }

    /// Like [`Applier::prepare`], for a record written together with `together` (a ticket's
    /// comment, a comment's attachment): its reference to that record needs no link yet.
    pub async fn prepare_with(
        &self,
        observed: &Observed,
        together: Option<&(RecordKind, PlatformId)>,
    ) -> Result<Prepared, EngineError> {
        let from = observed.side;
        let kind = observed.record.kind();
        let Shaped {
            form,
            outgoing,
            targets,
            originals,
        } = match self.shape(observed, together).await? {
            Ok(shaped) => shaped,
            Err(outcome) => return Ok(Prepared::Done(outcome)),
        };
        let fingerprint = self.fingerprint(&form);
        let fields = self.field_hashes(&form);
        let link = self
            .state
            .find_link(self.store.as_ref(), kind, from, &observed.id)
            .await?;
        if link.is_none()
            && let Some(origin) = &observed.origin
            && origin.side != from
        {
            // A copy cutover made from the other side whose link is not committed yet (its
            // write's run was cut short): the other direction links it through its intent.
            // Copying it back would make a duplicate of its original.
            return Ok(Prepared::Done(Outcome::Dropped(format!(
                "{kind} {} on the {from} side is cutover's copy of {origin}; its own direction \
                 links it",
                observed.id
            ))));
        }
        let seen = observed.updated_at.map(|t| t.to_rfc3339());
        if let Some(link) = &link
            && let Some(kept) = link
                .version(from)
                .and_then(|v| chrono::DateTime::parse_from_rfc3339(v).ok())
            && observed.updated_at.is_some_and(|at| at < kept)
        {
            // Older than what the link already saw on this side (a feed page read before a
            // newer read of the same record was applied): nothing new to carry.
            return Ok(Prepared::Done(Outcome::Unchanged));
        }
        if let Some(link) = &link
            && link.last_writer != from
            && link.version(from) != Some(crate::sync::DELETED)
        {
            // The bridge wrote this record here from the other side, and the link keeps the
            // version this side answered that write with: while this side still shows that very
            // version, nobody changed it since, whatever its form reads (a stand-in agent, a
            // group not carried): it is the bridge's own write, not sent back.
            let written_here = link.version(from);
            if written_here.is_some() && written_here == seen.as_deref() {
                self.seen_again(link, from, seen.clone(), &fields);
                return Ok(Prepared::Done(Outcome::Unchanged));
            }
        }
        if let Some(link) = &link
            && link.old_version.as_deref() == Some(crate::sync::DELETED)
        {
            return Ok(Prepared::Done(Outcome::Dropped(format!(
                "{kind} {} on the {from} side: deleted on one side, and its copy with it",
                observed.id
            ))));
        }
        if let Some(link) = &link
            && (link.fingerprint == fingerprint
                || matches!(kind, RecordKind::Comment | RecordKind::Attachment))
        {
            // Comments and attachments are append-only: once linked, they are done. A record
            // equal to its link whose version moved (the bridge's own write read back, a
            // comment added) has that version kept, so a conditional write to this side is
            // made against the version it holds now.
            if !matches!(kind, RecordKind::Comment | RecordKind::Attachment) {
                self.seen_again(link, from, seen, &fields);
            }
            return Ok(Prepared::Done(Outcome::Unchanged));
        }
        let origin = Origin {
            side: from,
            platform: self.source.platform(),
            kind,
            id: observed.id.clone(),
        };
        let mut outbound = Outbound::new(origin, outgoing);
        outbound.targets = targets;
        outbound.history = History {
            updated_at: observed.updated_at,
            ..History::default()
        };
        name_originals(&mut outbound.history, kind, originals);
        Ok(Prepared::Ready(Box::new(Ready {
            outbound,
            fingerprint,
            link,
            version: observed.updated_at.map(|t| t.to_rfc3339()),
            fields,
        })))
    }

    /// In the bridge, keeps what a record read back unchanged shows of `side` (it is equal
    /// to its link, or the bridge's own write): its version, and the hash of each field it
    /// holds otherwise than the content last synced (a value the side can only hold as it can,
    /// kept as `{side}:{field}`), so the conflict rules do not take it for someone's change.
    fn seen_again(&self, link: &Link, side: Side, seen: Option<String>, fields: &FieldHashes) {
        if self.dry_run || self.conflicts.get().is_none() {
            return;
        }
        let mut next = link.clone();
        if seen.is_some() {
            match side {
                Side::Old => next.old_version = seen,
                Side::New => next.new_version = seen,
            }
        }
        next.fields = Some(match &link.fields {
            None => fields.clone(),
            Some(current) => {
                let prefix = format!("{side}:");
                let mut kept: FieldHashes = current
                    .iter()
                    .filter(|(k, _)| !k.starts_with(&prefix))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                for (field, hash) in fields {
                    if current.get(field) != Some(hash) {
                        kept.insert(format!("{prefix}{field}"), hash.clone());
                    }
                }
                kept
            }
        });
        if &next != link {
            self.state.add_link(next);
        }
    }

    /// A record in the canonical form and the target's, its references resolved through the
    /// links; or why it goes no further.
    pub(crate) async fn shape(
        &self,
        observed: &Observed,
        together: Option<&(RecordKind, PlatformId)>,
    ) -> Result<Result<Shaped, Outcome>, EngineError> {
        let kind = observed.record.kind();
        let (mut form, mut outgoing) = match self.translate(observed) {
            Ok(pair) => pair,
            Err(outcome) => return Ok(Err(outcome)),
        };
        let mut resolved = match self.resolve(observed, &form, together).await? {
            Ok(resolved) => resolved,
            Err(outcome) => return Ok(Err(outcome)),
        };
        rewrite(&mut form, |field, key| resolved.form_fate(field, key));
        rewrite(&mut outgoing, |field, key| resolved.source_fate(field, key));
        if kind.is_configuration()
            && let Some(outcome) =
                crate::rules::fit_for_target(&mut form, &mut outgoing, &self.target.capabilities())
        {
            return Ok(Err(outcome));
        }
        let originals = std::mem::take(&mut resolved.originals);
        Ok(Ok(Shaped {
            form,
            outgoing,
            targets: resolved.targets,
            originals,
        }))
    }

    /// A hash of each field of a record's canonical form, over what both sides can hold (as
    /// the fingerprint is): a field whose hash differs from its link's changed since.
    pub(crate) fn field_hashes(&self, form: &Record) -> FieldHashes {
        crate::sync::conflicts::field_values(&self.flatten(form))
            .into_iter()
            .map(|(field, value)| (field, crate::sync::conflicts::hash_value(&value)))
            .collect()
    }

    /// A record over what both sides can hold (`Losses::flatten`).
    pub(crate) fn flatten(&self, form: &Record) -> Record {
        let (source, target) = (self.source.capabilities(), self.target.capabilities());
        let losses = match self.from_side() {
            Side::Old => crate::losses::Losses::between(&source, &target),
            Side::New => crate::losses::Losses::between(&target, &source),
        };
        losses.flatten(form)
    }

    /// The fingerprint of a record in the form's vocabulary, over what both sides can hold
    /// (`Losses::flatten`): equal for an original and its copy read back from either side.
    pub(crate) fn fingerprint(&self, form: &Record) -> Fingerprint {
        self.flatten(form).fingerprint()
    }

    /// The record in the form's vocabulary (the new side's) and in the target's, after the run
    /// learned what it teaches (field titles, agents' e-mails); or why it goes no further.
    fn translate(&self, observed: &Observed) -> Result<(Record, Record), Outcome> {
        let (from, kind) = (observed.side, observed.record.kind());
        match &observed.record {
            Record::CustomField(def) => self
                .mapping
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .learn_field(from, def),
            Record::Agent(agent) => {
                self.state
                    .learn_agent(&agent.email, from, observed.id.clone());
                self.names.learn(&observed.id, &observed.record);
            }
            Record::Group(_) => self.names.learn(&observed.id, &observed.record),
            _ => {}
        }
        let (translation, shares, new_form) = {
            let mapping = self.mapping();
            // A group or role that shares another's copy is not left behind: what refers to it
            // is linked through that one.
            let shares = from == Side::Old
                && match &observed.record {
                    Record::Group(g) => mapping.merged_into(kind, &g.name).is_some(),
                    Record::Role(r) => mapping.merged_into(kind, &r.name).is_some(),
                    _ => false,
                };
            // The form of a record read on the new side is in the new side's vocabulary as
            // it is, save the values the way back and forth folds into one (a Zendesk `new`
            // ticket is `open` on a Freshdesk old side and `open` again when read back): its
            // form is what a copy round trip leaves, so a copy reads as its original.
            let form = match from {
                Side::Old => None,
                Side::New => Some(mapping.round_trip(observed.record.clone())),
            };
            (mapping.translate_observed(observed), shares, form)
        };
        let translated = match translation {
            Ok(Translated::Record(record)) => record,
            Ok(Translated::Dropped(reason)) => {
                if !shares {
                    self.state.drop_record((kind, from, observed.id.clone()));
                }
                return Err(Outcome::Dropped(reason));
            }
            Err(hole) => return Err(Outcome::DeadLettered(hole.reason(kind, &observed.id))),
        };
        Ok(match new_form {
            None => (translated.clone(), translated),
            Some(form) => (form, translated),
        })
    }

    /// Resolves every reference of a record through the links: its target ids, its keys in the
    /// old side's key space, and what to do with references to dropped records.
    async fn resolve(
        &self,
        observed: &Observed,
        record: &Record,
        together: Option<&(RecordKind, PlatformId)>,
    ) -> Result<Result<Resolved, Outcome>, EngineError> {
        let from = observed.side;
        let to = from.other();
        let mut resolved = Resolved::default();
        for reference in references(record) {
            if let Some((kind, id)) = together
                && reference.kinds.contains(kind)
                && &reference.key == id
            {
                let key = reference.key.clone();
                resolved
                    .fates
                    .insert((reference.field, key.clone()), Resolution::Linked(key));
                continue;
            }
            let key = reference.key.clone();
            let found = match self.linked(&reference, from).await? {
                Some(found) => Some(found),
                // An agent, group or role the side gained after the backfill, carried now.
                None => self.carry_when_met(&reference, from).await?,
            };
            if let Some((kind, link)) = found {
                resolved
                    .targets
                    .insert(kind, key.clone(), link.id(to).clone());
                resolved
                    .fates
                    .insert((reference.field, key), Resolution::Linked(link.old_id));
                continue;
            }
            let fate = match self.unlinked(observed, &reference, &mut resolved).await? {
                Ok(fate) => fate,
                Err(outcome) => return Ok(Err(outcome)),
            };
            resolved.fates.insert((reference.field, key), fate);
        }
        Ok(Ok(resolved))
    }

    /// The link of a referenced record, trying the kinds it may be in order.
    async fn linked(
        &self,
        reference: &Reference,
        from: Side,
    ) -> Result<Option<(RecordKind, Link)>, EngineError> {
        for kind in reference.kinds {
            let link = self
                .state
                .find_link(self.store.as_ref(), *kind, from, &reference.key)
                .await?;
            if let Some(link) = link {
                return Ok(Some((*kind, link)));
            }
        }
        // A group or role that shares another's copy is linked through that one.
        if let Some((kind, kept)) = self.merged(reference, from).await? {
            let link = self
                .state
                .find_link(self.store.as_ref(), kind, from, &kept)
                .await?;
            return Ok(link.map(|link| (kind, link)));
        }
        Ok(None)
    }

    /// The old group or role whose copy the referenced one shares, if it shares one.
    async fn merged(
        &self,
        reference: &Reference,
        from: Side,
    ) -> Result<Option<(RecordKind, PlatformId)>, EngineError> {
        let shares = |k: &RecordKind| matches!(k, RecordKind::Group | RecordKind::Role);
        if from != Side::Old || !reference.kinds.iter().any(shares) || !self.mapping().has_merges()
        {
            return Ok(None);
        }
        let mut slot = self.merges.lock().await;
        if slot.is_none() {
            let mut records = Vec::new();
            for kind in [RecordKind::Group, RecordKind::Role] {
                for (id, record) in crate::stand_in::every(self.source.as_ref(), kind).await? {
                    let name = match &record {
                        Record::Group(g) => g.name.clone(),
                        Record::Role(r) => r.name.clone(),
                        _ => continue,
                    };
                    records.push((kind, id, name));
                }
            }
            let merges = self
                .mapping()
                .merges(records.iter().map(|(k, id, n)| (*k, id, n.as_str())));
            *slot = Some(Arc::new(merges));
        }
        Ok(slot.as_ref().and_then(|merges| {
            reference.kinds.iter().find_map(|kind| {
                merges
                    .get(&(*kind, reference.key.clone()))
                    .map(|kept| (*kind, kept.clone()))
            })
        }))
    }

    /// What becomes of a reference with no link: removed or replaced when the plan drops its
    /// record, else the record waits for it.
    async fn unlinked(
        &self,
        observed: &Observed,
        reference: &Reference,
        resolved: &mut Resolved,
    ) -> Result<Result<Resolution, Outcome>, EngineError> {
        let (from, key) = (observed.side, reference.key.clone());
        let not_copied = |kind: &RecordKind| {
            self.copied
                .as_ref()
                .is_some_and(|copied| !copied.contains(kind))
        };
        let mut dropped = reference.kinds.iter().all(not_copied)
            || reference
                .kinds
                .iter()
                .any(|kind| self.state.is_dropped(&(*kind, from, key.clone())));
        // An author who may be an agent or a contact, when agents are not carried (the bridge
        // carries neither agents nor groups): one the source lists as an agent is left behind
        // (and takes the stand-in) rather than waiting for a contact that will never come.
        // A person who may be a contact, when contacts are carried, is left behind only when
        // listed as an agent now: one the source no longer lists as an agent is a customer (a
        // new one, named by a webhook before the contacts' feed shows them), whose copy comes.
        let contact_comes =
            reference.kinds.contains(&RecordKind::Contact) && !not_copied(&RecordKind::Contact);
        if !dropped
            && reference.kinds.iter().any(not_copied)
            && if contact_comes {
                self.listed_agent(reference).await
            } else {
                self.original(reference).await.is_some()
            }
        {
            dropped = true;
        }
        let settled = {
            let finished = self
                .finished
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            reference
                .kinds
                .iter()
                .all(|kind| not_copied(kind) || finished.contains(kind))
        };
        // A record held in the dead letters is not left behind: it waits for a fix (a plan
        // decision, a retry), and what refers to it waits with it, to be retried after it.
        let held = !dropped && settled && self.held(reference, from).await?;
        if (dropped || settled)
            && !held
            && stand_in::lack(observed.record.kind(), reference.field).is_some()
        {
            // An agent or group the source lists, or one the plan leaves behind, takes the
            // stand-in; a reference to nothing the source has (a malformed record) still waits,
            // and ends in the dead letters.
            let original = self.original(reference).await;
            if dropped || original.is_some() {
                return self.stand_in(observed, reference, original, resolved).await;
            }
        }
        Ok(match (dropped, reference.field) {
            (true, "assignee" | "group" | "organization" | "role" | "groups" | "merged_into") => {
                Ok(Resolution::Removed)
            }
            (true, field) => Err(Outcome::Dropped(format!(
                "its {field} {key} is left behind by the plan"
            ))),
            (false, _) => Err(Outcome::Waiting(RecordRef {
                kind: reference
                    .kinds
                    .first()
                    .copied()
                    .unwrap_or(RecordKind::Contact),
                side: from,
                id: key,
            })),
        })
    }

    /// Whether the record a reference points at is held in the dead letters (read but not
    /// applied, in this run or an earlier one).
    async fn held(&self, reference: &Reference, from: Side) -> Result<bool, EngineError> {
        for kind in reference.kinds {
            let filter = DeadLetterFilter {
                kind: Some(*kind),
                side: Some(from),
                source_id: Some(reference.key.clone()),
                limit: 1,
                ..DeadLetterFilter::default()
            };
            if !self.store.dead_letters(&filter).await?.is_empty() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The agent that writes history of agents the plan drops: its id on `from` and its link.
    pub(crate) async fn fallback_author(
        &self,
        from: Side,
    ) -> Result<Option<(PlatformId, Link)>, EngineError> {
        let Some(email) = self.mapping().unmatched_author().map(str::to_owned) else {
            return Ok(None);
        };
        let Some(id) = self.state.agent(&email, from) else {
            return Ok(None);
        };
        let link = self
            .state
            .find_link(self.store.as_ref(), RecordKind::Agent, from, &id)
            .await?;
        Ok(link.map(|link| (id, link)))
    }

    /// Writes a ready record (with the children and uploads its outbound carries: a ticket's
    /// comments, a comment's files) and links it and them. `fingerprints` holds the children's,
    /// by origin mark. A create first reads the intent an earlier attempt may have left and, when
    /// that attempt made a copy, links the copy instead (see `intent.rs`).
    pub async fn write(
        &self,
        ready: Ready,
        fingerprints: &BTreeMap<String, Fingerprint>,
    ) -> Result<Outcome, EngineError> {
        let resume = self.resumed(&ready).await?;
        self.write_resumed(ready, resume, fingerprints).await
    }

    /// Writes a ready record as `resume` says: links the copy an earlier attempt made, or
    /// creates it after leaving its intent (updates need none).
    pub(crate) async fn write_resumed(
        &self,
        mut ready: Ready,
        resume: Resume,
        fingerprints: &BTreeMap<String, Fingerprint>,
    ) -> Result<Outcome, EngineError> {
        match resume {
            Resume::Copy(found) => return self.adopt(ready, *found).await,
            Resume::Failed(outcome) => return Ok(outcome),
            Resume::Create { look_first } if ready.link.is_none() && !self.dry_run => {
                ready.outbound.may_exist = look_first;
                ready.outbound.batch = self.batch;
                self.leave_intent(&ready.outbound, ready.fingerprint, fingerprints)
                    .await?;
            }
            Resume::Create { .. } => {}
        }
        self.send(ready, fingerprints).await
    }

    /// Sends a ready record (a create, or an update of its link's copy) and links what it wrote.
    async fn send(
        &self,
        ready: Ready,
        fingerprints: &BTreeMap<String, Fingerprint>,
    ) -> Result<Outcome, EngineError> {
        let Ready {
            mut outbound,
            fingerprint,
            link,
            version,
            fields,
        } = ready;
        let written = if self.dry_run {
            match self.would_write(&outbound, link.as_ref()).await? {
                Ok(written) => written,
                Err(outcome) => return Ok(outcome),
            }
        } else {
            let mut tries = 0;
            loop {
                let result = match &link {
                    Some(link) => self.update(link, &outbound).await,
                    None => self.target.create(&outbound).await,
                };
                let written = match result {
                    Ok(written) => written,
                    Err(e)
                        if e.class() == ErrorClass::Conflict
                            && let Some(link) = &link
                            && let Some(resolver) = self.conflicts.get() =>
                    {
                        // The target changed since the bridge last saw it: both sides are
                        // read again and the conflict rules decide, field by field.
                        tracing::debug!(mark = %outbound.origin.mark(), error = %e, "Conditional write refused; resolving by the conflict rules.");
                        return resolver.resolve(self, link, &outbound.origin.id).await;
                    }
                    Err(e) => return per_record(e, &outbound),
                };
                let origin = &outbound.origin;
                let other = match &link {
                    Some(_) => None,
                    None => {
                        self.linked_elsewhere(origin.kind, &origin.id, &written.id)
                            .await?
                    }
                };
                let Some(other) = other else { break written };
                // The lookup found a copy that is another record's (two comments with equal
                // author and text): look again without it, else create a copy of its own.
                tries += 1;
                if origin.kind == RecordKind::Comment
                    && tries < MAX_TAKEN_RETRIES
                    && outbound.taken.insert(written.id.clone())
                {
                    tracing::debug!(mark = %origin.mark(), taken = %written.id, "Copy found is linked to another record; looking again.");
                    outbound.may_exist = true;
                    continue;
                }
                return Ok(taken_by_another(
                    &outbound.origin,
                    &written.id,
                    &other,
                    tries,
                ));
            }
        };
        let source_id = outbound.origin.id.clone();
        if written.outcome == WriteOutcome::Created && link.is_none() && !self.dry_run {
            // What `cutover cleanup` may delete: made here, not found (a found copy may be the
            // platform's own record, matched by a natural key). A comment keeps its ticket: it
            // goes with it, or is removed alone from a ticket cutover did not create.
            self.state.add_created(cutover_store::CreatedRecord {
                side: self.target.side(),
                kind: outbound.origin.kind,
                id: written.id.clone(),
                source_id: source_id.clone(),
                parent: parent_on_target(&outbound),
            });
        }
        if !self.dry_run {
            // What the write added besides the record (an agent's group memberships, on a found
            // agent too): `cutover cleanup` removes exactly these.
            for added in &written.set_up {
                self.state.add_setup(cutover_store::CreatedSetup {
                    side: self.target.side(),
                    kind: added.kind,
                    id: added.id.clone(),
                    name: added.name.clone(),
                    parent: Some(written.id.clone()),
                });
            }
        }
        let answered = written.updated_at.map(|t| t.to_rfc3339());
        self.link_synced(
            outbound.origin.kind,
            (&source_id, &written.id),
            fingerprint,
            (version, answered),
            fields,
            link,
        );
        if written.children_later && !self.dry_run {
            // Linked with many other copies' once the target shows them (`later_links.rs`).
            self.note_later(&outbound, &written, fingerprint, fingerprints);
        } else {
            self.link_children(&written, fingerprints).await?;
        }
        Ok(Outcome::Applied(written.outcome))
    }

    /// Links the children a write made or found (a ticket's comments, a comment's files) whose
    /// fingerprints are in `fingerprints`, unless a copy is another record's.
    pub(crate) async fn link_children(
        &self,
        written: &Written,
        fingerprints: &BTreeMap<String, Fingerprint>,
    ) -> Result<(), EngineError> {
        for child in &written.children {
            let Some(fingerprint) = fingerprints.get(&child.origin.mark()) else {
                continue;
            };
            let origin = &child.origin;
            if let Some(other) = self
                .linked_elsewhere(origin.kind, &origin.id, &child.id)
                .await?
            {
                // Left unlinked: the caller writes it on its own (see `children.rs`).
                tracing::debug!(mark = %origin.mark(), copy = %child.id, %other, "Child matched a copy linked to another record; not linked.");
                continue;
            }
            self.link(origin.kind, &origin.id, &child.id, *fingerprint, None, None);
            if !self.dry_run {
                // Written by cutover with its parent (a ticket's comments, a comment's files):
                // `cutover cleanup` forgets it, and its link, with that parent.
                self.state.add_created(cutover_store::CreatedRecord {
                    side: self.target.side(),
                    kind: origin.kind,
                    id: child.id.clone(),
                    source_id: origin.id.clone(),
                    parent: Some(written.id.clone()),
                });
            }
        }
        Ok(())
    }

    /// The source id of the record that `target_id` (a record of `kind` on the target) is linked
    /// to already, when that is not `source_id`: a lookup must not hand one copy to two records.
    pub(crate) async fn linked_elsewhere(
        &self,
        kind: RecordKind,
        source_id: &PlatformId,
        target_id: &PlatformId,
    ) -> Result<Option<PlatformId>, EngineError> {
        let from = self.from_side();
        let link = self
            .state
            .find_link(self.store.as_ref(), kind, from.other(), target_id)
            .await?;
        Ok(link
            .map(|link| link.id(from).clone())
            .filter(|linked| linked != source_id))
    }

    /// Updates the target's copy through `link`: in the bridge, only if the target still holds
    /// the version the link last saw there (`Connector::update_if`); a link that keeps no
    /// version of the target (one made before versions were kept, or a copy found rather than
    /// written) is updated as the backfill does.
    async fn update(&self, link: &Link, outbound: &Outbound) -> Result<Written, ConnectError> {
        let side = self.target.side();
        let id = link.id(side);
        let seen = self
            .conflicts
            .get()
            .and(link.version(side))
            .and_then(|v| chrono::DateTime::parse_from_rfc3339(v).ok())
            .map(|t| t.with_timezone(&chrono::Utc));
        match seen {
            Some(seen) => self.target.update_if(id, outbound, seen).await,
            None => self.target.update(id, outbound).await,
        }
    }

    /// Remembers the link of a record written by this applier: the source's version it was
    /// read at, the target's as the platform answered the write, and its field hashes.
    pub(crate) fn link_synced(
        &self,
        kind: RecordKind,
        (source_id, target_id): (&PlatformId, &PlatformId),
        fingerprint: Fingerprint,
        (version, answered): (Option<String>, Option<String>),
        fields: FieldHashes,
        previous: Option<Link>,
    ) {
        let from = self.from_side();
        let (old_id, new_id) = match from {
            Side::Old => (source_id.clone(), target_id.clone()),
            Side::New => (target_id.clone(), source_id.clone()),
        };
        let mut link = Link::new(kind, old_id, new_id, fingerprint, from);
        let (old_version, new_version) = match from {
            Side::Old => (version, answered),
            Side::New => (answered, version),
        };
        link.old_version = old_version;
        link.new_version = new_version;
        if previous.is_some() || !matches!(kind, RecordKind::Comment | RecordKind::Attachment) {
            link.fields = Some(fields);
        }
        self.state.add_link(link);
    }

    /// Remembers a link to commit with the page.
    pub(crate) fn link(
        &self,
        kind: RecordKind,
        source_id: &PlatformId,
        target_id: &PlatformId,
        fingerprint: Fingerprint,
        version: Option<String>,
        previous: Option<Link>,
    ) {
        self.link_written(
            kind,
            (source_id, target_id),
            fingerprint,
            (version, None),
            previous,
        );
    }

    /// [`Applier::link`], with the version the target showed in its write's answer (`None`: it
    /// showed none), kept as the target side's version: while the target still shows it, the
    /// record is the bridge's own write there (see the echo check in `prepare_with`).
    pub(crate) fn link_written(
        &self,
        kind: RecordKind,
        (source_id, target_id): (&PlatformId, &PlatformId),
        fingerprint: Fingerprint,
        (version, target_version): (Option<String>, Option<String>),
        previous: Option<Link>,
    ) {
        let from = self.from_side();
        let (old_id, new_id) = match from {
            Side::Old => (source_id.clone(), target_id.clone()),
            Side::New => (target_id.clone(), source_id.clone()),
        };
        let mut link = Link::new(kind, old_id, new_id, fingerprint, from);
        if let Some(previous) = previous {
            link.old_version = previous.old_version;
            link.new_version = previous.new_version;
        }
        match from {
            Side::Old => link.old_version = version,
            Side::New => link.new_version = version,
        }
        if let Some(written) = target_version {
            match from {
                Side::Old => link.new_version = Some(written),
                Side::New => link.old_version = Some(written),
            }
        }
        self.state.add_link(link);
    }
}

/// How often a comment whose lookup found another record's copy is looked up again (each time
/// without the copies found before) before it is dead-lettered.
const MAX_TAKEN_RETRIES: usize = 8;

/// The outcome of a record whose lookup found only `copy`, which is linked to `other` already.
pub(crate) fn taken_by_another(
    origin: &Origin,
    copy: &PlatformId,
    other: &PlatformId,
    tries: usize,
) -> Outcome {
    Outcome::DeadLettered(format!(
        "{} {} on the {} side: the copy found on the {} side, {copy}, is linked to {} {other} \
         already, and no copy of its own was found or made after {tries} tries; compare the two \
         records on the source: they may be duplicates",
        origin.kind,
        origin.id,
        origin.side,
        origin.side.other(),
        origin.kind,
    ))
}

/// A connector error on one record: data when it is the record's trouble, `Err` when the run
/// cannot go on.
pub(crate) fn per_record(error: ConnectError, outbound: &Outbound) -> Result<Outcome, EngineError> {
    match error.class() {
        ErrorClass::Permanent | ErrorClass::Conflict => {
            Ok(Outcome::DeadLettered(error.to_string()))
        }
        ErrorClass::Waiting => {
            let parent = references(&outbound.record)
                .into_iter()
                .find(|r| outbound.targets.resolve(r).is_none());
            match parent {
                Some(r) => Ok(Outcome::Waiting(RecordRef {
                    kind: r.kinds.first().copied().unwrap_or(RecordKind::Contact),
                    side: outbound.origin.side,
                    id: r.key,
                })),
                None => Ok(Outcome::DeadLettered(error.to_string())),
            }
        }
        ErrorClass::Transient | ErrorClass::Auth => Err(EngineError::from(error)),
    }
}

/// What became of each reference of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resolution {
    /// Linked: its key in the old side's key space.
    Linked(PlatformId),
    /// Points at a dropped record: removed.
    Removed,
    /// Points at a dropped agent: the fallback author, by its source key and old key.
    Replaced {
        source_key: PlatformId,
        old_key: PlatformId,
    },
    /// Points at an agent or group that is not carried: the target's stand-in, found through
    /// the outbound's target ids under the original key (the fingerprint marks it not carried).
    StoodIn,
}

/// The references of one record, resolved.
#[derive(Debug, Default)]
pub(crate) struct Resolved {
    pub(crate) targets: TargetIds,
    fates: BTreeMap<(&'static str, PlatformId), Resolution>,
    /// The agents and groups not carried, by field, as a person names them.
    pub(crate) originals: Vec<(&'static str, String)>,
}

impl Resolved {
    /// The reference in the fingerprint's form: the old side's key.
    fn form_fate(&self, field: &'static str, key: &PlatformId) -> Fate {
        match self.fates.get(&(field, key.clone())) {
            Some(Resolution::Linked(old)) | Some(Resolution::Replaced { old_key: old, .. }) => {
                Fate::Key(old.clone())
            }
            Some(Resolution::Removed) => Fate::Remove,
            // Not the original's key: once the original is carried (a later run copies it), the
            // form changes and the copy is updated to it.
            Some(Resolution::StoodIn) => match PlatformId::parse(stand_in::NOT_CARRIED) {
                Ok(marker) => Fate::Key(marker),
                Err(_) => Fate::Remove,
            },
            None => Fate::Key(key.clone()),
        }
    }

    /// The reference in what goes to the target: the source side's key (resolved through the
    /// outbound's target ids).
    fn source_fate(&self, field: &'static str, key: &PlatformId) -> Fate {
        match self.fates.get(&(field, key.clone())) {
            Some(Resolution::Removed) => Fate::Remove,
            Some(Resolution::Replaced { source_key, .. }) => Fate::Key(source_key.clone()),
            _ => Fate::Key(key.clone()),
        }
    }
}

/// The target id of the record a comment, rating or file belongs to (its ticket, its comment),
/// as the engine resolved it for the write; `None` for other kinds.
fn parent_on_target(outbound: &cutover_connect::Outbound) -> Option<PlatformId> {
    let parent = match outbound.origin.kind {
        RecordKind::Comment | RecordKind::SatisfactionRating => RecordKind::Ticket,
        RecordKind::Attachment => RecordKind::Comment,
        _ => return None,
    };
    cutover_connect::references(&outbound.record)
        .iter()
        .filter(|r| r.kinds == [parent])
        .find_map(|r| outbound.targets.resolve(r))
        .cloned()
}
