//! What a run remembers between records: links written but not committed yet (a page's links
//! are committed with its cursor), records the plan drops, and agents by e-mail (for the
//! fallback author). A dry run commits nothing, so it keeps what it would have linked in a
//! compact form instead (source id and fingerprint, no comments or attachments): its memory
//! stays nearly flat however large the platform.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

use cutover_model::{Fingerprint, PlatformId, RecordKind, Side};
use cutover_store::{CreatedRecord, Link, Store, StoreError};

/// A record's address: kind, side, id.
pub(crate) type Address = (RecordKind, Side, PlatformId);

#[derive(Debug, Default)]
struct Inner {
    /// Links written since the last commit, in write order.
    pending: Vec<Link>,
    /// The same links by the address of either of their records.
    by_address: BTreeMap<Address, Link>,
    /// Records the plan leaves behind.
    dropped: BTreeSet<Address>,
    /// Agents by e-mail: (side, id).
    agents: BTreeMap<String, (Side, PlatformId)>,
    /// Records this run created on a platform since the last commit (the cleanup's ledger).
    created: Vec<CreatedRecord>,
    /// Set-up items this run added on a platform since the last commit (the same ledger).
    set_up: Vec<cutover_store::CreatedSetup>,
    /// Run-state keys of intents written since the last commit (see `intent.rs`).
    intents: Vec<String>,
    /// In a dry run, what would have been linked: by kind and source id, the fingerprint and
    /// the side written from. Comments and attachments are left out: they are append-only and
    /// nothing refers to them once their ticket is done.
    would_link: HashMap<(RecordKind, PlatformId), (Fingerprint, Side)>,
}

/// The shared memory of one run. Locked only for map operations, never across an `await`.
#[derive(Debug, Default)]
pub(crate) struct RunState {
    inner: Mutex<Inner>,
}

impl RunState {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding this lock leaves plain maps behind, still consistent enough to
        // read: take them rather than poisoning the run.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Keeps a link to commit with the current page; later lookups see it.
    pub(crate) fn add_link(&self, link: Link) {
        let mut inner = self.lock();
        for side in Side::BOTH {
            inner
                .by_address
                .insert((link.kind, side, link.id(side).clone()), link.clone());
        }
        inner.pending.push(link);
    }

    /// The links to commit, leaving them visible to lookups until the commit is done.
    pub(crate) fn pending_links(&self) -> Vec<Link> {
        self.lock().pending.clone()
    }

    /// Forgets the links just committed (the store has them now).
    pub(crate) fn committed(&self, n_links: usize) {
        let mut inner = self.lock();
        let n = n_links.min(inner.pending.len());
        let done: Vec<Link> = inner.pending.drain(..n).collect();
        for link in done {
            for side in Side::BOTH {
                inner
                    .by_address
                    .remove(&(link.kind, side, link.id(side).clone()));
            }
        }
    }

    /// What a dry run does instead of committing: forgets the pending links, keeping only what
    /// later records of the run can ask about (see [`Inner::would_link`]).
    pub(crate) fn committed_dry(&self) {
        let mut inner = self.lock();
        let done: Vec<Link> = std::mem::take(&mut inner.pending);
        for link in done {
            for side in Side::BOTH {
                inner
                    .by_address
                    .remove(&(link.kind, side, link.id(side).clone()));
            }
            if matches!(link.kind, RecordKind::Comment | RecordKind::Attachment) {
                continue;
            }
            let from = link.last_writer;
            inner
                .would_link
                .insert((link.kind, link.id(from).clone()), (link.fingerprint, from));
        }
    }

    /// A link a dry run would have committed for this record, rebuilt from its compact form
    /// (the target id is the dry run's placeholder `dry-run:<source id>`).
    fn would_be_link(inner: &Inner, kind: RecordKind, side: Side, id: &PlatformId) -> Option<Link> {
        // By its source id, or by the placeholder id its copy would have had.
        let (source_id, fingerprint, from) = match inner.would_link.get(&(kind, id.clone())) {
            Some((fingerprint, from)) if *from == side => (id.clone(), *fingerprint, *from),
            _ => {
                let source = id.as_str().strip_prefix(DRY_RUN_PREFIX)?;
                let source = PlatformId::parse(source).ok()?;
                let (fingerprint, from) = *inner.would_link.get(&(kind, source.clone()))?;
                if from.other() != side {
                    return None;
                }
                (source, fingerprint, from)
            }
        };
        let target_id = dry_run_id(&source_id);
        let (old_id, new_id) = match from {
            Side::Old => (source_id, target_id),
            Side::New => (target_id, source_id),
        };
        Some(Link::new(kind, old_id, new_id, fingerprint, from))
    }

    /// Remembers a record this run created, to note in the store with the next commit.
    pub(crate) fn add_created(&self, created: CreatedRecord) {
        self.lock().created.push(created);
    }

    /// The records created so far, to note now that their links are committed.
    pub(crate) fn take_created(&self) -> Vec<CreatedRecord> {
        std::mem::take(&mut self.lock().created)
    }

    /// Remembers a set-up item this run added (an agent's group membership), to note in the
    /// store with the next commit.
    pub(crate) fn add_setup(&self, added: cutover_store::CreatedSetup) {
        self.lock().set_up.push(added);
    }

    /// The set-up items added so far, to note with the next commit.
    pub(crate) fn take_setup(&self) -> Vec<cutover_store::CreatedSetup> {
        std::mem::take(&mut self.lock().set_up)
    }

    /// Remembers an intent to clear after the next commit.
    pub(crate) fn add_intent(&self, key: String) {
        self.lock().intents.push(key);
    }

    /// Keeps the intent `key` past the next commit (it is cleared with a later one).
    pub(crate) fn keep_intent(&self, key: &str) {
        self.lock().intents.retain(|k| k != key);
    }

    /// The intents written so far, to clear now that their links are committed.
    pub(crate) fn take_intents(&self) -> Vec<String> {
        std::mem::take(&mut self.lock().intents)
    }

    /// Marks a record as left behind by the plan.
    pub(crate) fn drop_record(&self, address: Address) {
        self.lock().dropped.insert(address);
    }

    /// Whether the plan left this record behind.
    pub(crate) fn is_dropped(&self, address: &Address) -> bool {
        self.lock().dropped.contains(address)
    }

    /// Remembers an agent's e-mail.
    pub(crate) fn learn_agent(&self, email: &str, side: Side, id: PlatformId) {
        self.lock()
            .agents
            .insert(email.to_ascii_lowercase(), (side, id));
    }

    /// The agent with this e-mail on `side`, if one was read.
    pub(crate) fn agent(&self, email: &str, side: Side) -> Option<PlatformId> {
        self.lock()
            .agents
            .get(&email.to_ascii_lowercase())
            .filter(|(s, _)| *s == side)
            .map(|(_, id)| id.clone())
    }

    /// The link of a record: written in this run and not committed yet, else stored.
    pub(crate) async fn find_link(
        &self,
        store: &dyn Store,
        kind: RecordKind,
        side: Side,
        id: &PlatformId,
    ) -> Result<Option<Link>, StoreError> {
        let pending = {
            let inner = self.lock();
            inner
                .by_address
                .get(&(kind, side, id.clone()))
                .cloned()
                .or_else(|| Self::would_be_link(&inner, kind, side, id))
        };
        if pending.is_some() {
            return Ok(pending);
        }
        Ok(store.find_link(kind, side, id).await?.map(|s| s.link))
    }
}

/// How a dry run names the record it would have created for a source record.
const DRY_RUN_PREFIX: &str = "dry-run:";

/// Whether `id` is the placeholder a dry run gave a copy it would create.
pub(crate) fn is_dry_run_id(id: &PlatformId) -> bool {
    id.as_str().starts_with(DRY_RUN_PREFIX)
}

/// The placeholder id a dry run gives the copy of `source_id`.
pub(crate) fn dry_run_id(source_id: &PlatformId) -> PlatformId {
    PlatformId::parse(format!("{DRY_RUN_PREFIX}{source_id}")).unwrap_or_else(|_| source_id.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> PlatformId {
        PlatformId::parse(s).unwrap()
    }

    fn would_link(state: &RunState, kind: RecordKind, side: Side, of: &str) -> Option<Link> {
        RunState::would_be_link(&state.lock(), kind, side, &id(of))
    }

    #[test]
    fn a_dry_run_forgets_its_links_but_still_answers_for_parents() {
        let state = RunState::default();
        let fp = Fingerprint::of(&"ticket 7").unwrap();
        for (kind, source) in [(RecordKind::Ticket, "7"), (RecordKind::Comment, "70")] {
            let link = Link::new(kind, id(source), dry_run_id(&id(source)), fp, Side::Old);
            state.add_link(link);
        }
        state.committed_dry();
        {
            let inner = state.lock();
            assert!(inner.pending.is_empty());
            assert!(inner.by_address.is_empty());
            assert_eq!(inner.would_link.len(), 1, "comments are not kept");
        }
        let by_source = would_link(&state, RecordKind::Ticket, Side::Old, "7").unwrap();
        assert_eq!(by_source.new_id, id("dry-run:7"));
        assert_eq!(by_source.fingerprint, fp);
        let by_target = would_link(&state, RecordKind::Ticket, Side::New, "dry-run:7").unwrap();
        assert_eq!(by_target.old_id, id("7"));
        assert!(would_link(&state, RecordKind::Ticket, Side::New, "7").is_none());
        assert!(would_link(&state, RecordKind::Comment, Side::Old, "70").is_none());
        assert!(would_link(&state, RecordKind::Contact, Side::Old, "7").is_none());
    }
}
