//! Platform-neutral pieces of an emulator's store: monotonic id generators, per-kind counts and
//! the exact-key index both emulators' lookups use.

use std::collections::{BTreeMap, HashMap};

/// Hands out increasing ids, as the platforms do: never reused, even after a delete.
#[derive(Debug, Clone)]
pub struct IdGen {
    next: u64,
    step: u64,
}

impl IdGen {
    /// Ids starting at `first`, each `step` above the last.
    pub fn new(first: u64, step: u64) -> Self {
        Self {
            next: first,
            step: step.max(1),
        }
    }

    /// The next id.
    pub fn next_id(&mut self) -> u64 {
        let id = self.next;
        self.next += self.step;
        id
    }

    /// Reserves `n` consecutive ids (spaced by the step) and returns the first.
    pub fn reserve(&mut self, n: u64) -> u64 {
        let first = self.next;
        self.next += self.step * n;
        first
    }

    /// The id the next call would return.
    pub fn peek(&self) -> u64 {
        self.next
    }
}

/// Counts of records per kind, as `/_sim/state` reports them.
pub type Counts = BTreeMap<&'static str, usize>;

/// Record ids by an exact key (an external id, a lower-cased name), each key's ids ascending.
/// Records without the key are not in it.
#[derive(Debug, Default)]
pub(crate) struct KeyIndex {
    ids: HashMap<String, Vec<u64>>,
}

impl KeyIndex {
    /// The ids carrying `key`, ascending (empty if none).
    pub(crate) fn get(&self, key: &str) -> &[u64] {
        self.ids.get(key).map_or(&[], Vec::as_slice)
    }

    /// How many distinct keys are indexed.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether no key is indexed.
    pub(crate) fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Adds `id` under `key` (nothing when `key` is `None`).
    pub(crate) fn insert(&mut self, key: Option<&str>, id: u64) {
        let Some(key) = key else { return };
        let ids = self.ids.entry(key.to_owned()).or_default();
        if let Err(at) = ids.binary_search(&id) {
            ids.insert(at, id);
        }
    }

    /// Takes `id` out from under `key`.
    pub(crate) fn remove(&mut self, key: Option<&str>, id: u64) {
        let Some(key) = key else { return };
        if let Some(ids) = self.ids.get_mut(key) {
            if let Ok(at) = ids.binary_search(&id) {
                ids.remove(at);
            }
            if ids.is_empty() {
                self.ids.remove(key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_increase_and_reservations_skip_ahead() {
        let mut ids = IdGen::new(100, 2);
        assert_eq!(ids.next_id(), 100);
        assert_eq!(ids.reserve(3), 102);
        assert_eq!(ids.next_id(), 108);
        assert_eq!(ids.peek(), 110);
    }
}
