//! What a run remembers between records: links written but not committed yet (a page's links
//! are committed with its cursor), records the plan drops, and agents by e-mail (for the
//! fallback author).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard};

use cutover_model::{PlatformId, RecordKind, Side};
use cutover_store::{Link, Store, StoreError};

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
    /// Run-state keys of intents written since the last commit (see `intent.rs`).
    intents: Vec<String>,
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

    /// Remembers an intent to clear after the next commit.
    pub(crate) fn add_intent(&self, key: String) {
        self.lock().intents.push(key);
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
        let pending = self
            .lock()
            .by_address
            .get(&(kind, side, id.clone()))
            .cloned();
        if pending.is_some() {
            return Ok(pending);
        }
        Ok(store.find_link(kind, side, id).await?.map(|s| s.link))
    }
}
