//! Search indexes that see writes late, as the platforms' do. Zendesk: "It can take up to a few
//! minutes for new tickets, users, and other resources to be indexed for search"; Freshdesk:
//! "updates can take a few minutes to be searchable". With lateness on (`late` in the faults),
//! a search or autocomplete at time `t` sees each record as it stood at `t - lag` on the
//! emulator's clock: a record created since is not found, one changed since is found by its
//! old values, one removed since is still found. Reads by id and filtered lists are not
//! searches: they see every write at once.
//!
//! [`IndexLag`] keeps, per record, the writes the index has not seen yet, each with the version
//! before it; a store calls [`IndexLag::note`] on every write of a searchable record and asks
//! [`IndexLag::seen`] (or [`IndexLag::view`]) when it answers a search. Nothing is kept while
//! lateness is off.

use std::collections::{HashMap, VecDeque};

use crate::clock::Clock;
use crate::faults::Faults;

/// What a store needs to know at each write: the time, and how far behind search is.
#[derive(Debug, Clone)]
pub struct Lateness {
    clock: Clock,
    faults: Faults,
}

impl Lateness {
    /// Lateness on the emulator's clock, switched by its faults.
    pub fn new(clock: Clock, faults: Faults) -> Self {
        Self { clock, faults }
    }

    /// The time now, in Unix seconds of the emulator's clock.
    pub fn now(&self) -> i64 {
        self.clock.now().timestamp()
    }

    /// The lag in seconds, or `None` when search sees every write at once.
    pub fn lag(&self) -> Option<i64> {
        self.faults.search_lag()
    }

    /// The time and the lag now, when search is behind.
    pub fn behind(&self) -> Option<(i64, i64)> {
        self.lag().map(|lag| (self.now(), lag))
    }
}

/// The writes a search index has not seen yet, per record id, with the version each replaced
/// (`None`: the record did not exist before it).
#[derive(Debug, Clone)]
pub struct IndexLag<T> {
    /// `(time, id)` of each write kept, oldest first: what [`IndexLag::note`] prunes from.
    order: VecDeque<(i64, u64)>,
    /// Per record, its unseen writes, oldest first: `(time, version before)`.
    unseen: HashMap<u64, VecDeque<(i64, Option<T>)>>,
}

impl<T> Default for IndexLag<T> {
    fn default() -> Self {
        Self {
            order: VecDeque::new(),
            unseen: HashMap::new(),
        }
    }
}

impl<T: Clone> IndexLag<T> {
    /// Records a write of record `id` at `now` that replaced `before` (`None` for a create);
    /// `lag` is how far behind search is (`None`: not behind, and nothing is kept).
    pub fn note(&mut self, id: u64, before: Option<&T>, now: i64, lag: Option<i64>) {
        let Some(lag) = lag else {
            if !self.order.is_empty() {
                *self = Self::default();
            }
            return;
        };
        self.prune(now, lag);
        self.order.push_back((now, id));
        self.unseen
            .entry(id)
            .or_default()
            .push_back((now, before.cloned()));
    }

    /// Forgets the writes the index has seen by `now`.
    fn prune(&mut self, now: i64, lag: i64) {
        while let Some(&(at, id)) = self.order.front() {
            if at.saturating_add(lag) > now {
                break;
            }
            self.order.pop_front();
            if let Some(writes) = self.unseen.get_mut(&id) {
                writes.pop_front();
                if writes.is_empty() {
                    self.unseen.remove(&id);
                }
            }
        }
    }

    /// What the index shows for record `id` at `now`: `None` when it has seen every write (the
    /// record as stored), `Some(None)` when the record did not exist for it yet, `Some(Some(v))`
    /// when it still shows the older version `v`.
    pub fn seen(&self, id: u64, now: i64, lag: Option<i64>) -> Option<Option<&T>> {
        let lag = lag?;
        let writes = self.unseen.get(&id)?;
        let (_, before) = writes.iter().find(|(at, _)| at.saturating_add(lag) > now)?;
        Some(before.as_ref())
    }

    /// The records as the index sees them at `now`, ascending by id: each stored record it is
    /// up to date with, and the older version of each it is behind on (records created since are
    /// left out, records removed since are still in).
    pub fn view<'a>(
        &'a self,
        stored: impl Iterator<Item = (u64, &'a T)>,
        now: i64,
        lag: Option<i64>,
    ) -> Vec<(u64, &'a T)> {
        if lag.is_none() || self.unseen.is_empty() {
            return stored.collect();
        }
        let mut out: Vec<(u64, &T)> = stored
            .filter(|(id, _)| self.seen(*id, now, lag).is_none())
            .collect();
        out.extend(self.unseen.keys().filter_map(|id| {
            let older = self.seen(*id, now, lag)??;
            Some((*id, older))
        }));
        out.sort_by_key(|(id, _)| *id);
        out
    }

    /// [`IndexLag::view`] when search is `behind` (`(now, lag)`), else `stored` as it is.
    pub fn searched<'a>(
        &'a self,
        stored: impl Iterator<Item = (u64, &'a T)> + 'a,
        behind: Option<(i64, i64)>,
    ) -> Box<dyn Iterator<Item = (u64, &'a T)> + 'a> {
        match behind {
            Some((now, lag)) if !self.unseen.is_empty() => {
                Box::new(self.view(stored, now, Some(lag)).into_iter())
            }
            _ => Box::new(stored),
        }
    }

    /// Ids of the records the index is behind on at `now`.
    pub fn behind(&self, now: i64, lag: Option<i64>) -> impl Iterator<Item = u64> + '_ {
        self.unseen
            .keys()
            .copied()
            .filter(move |id| self.seen(*id, now, lag).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_sees_each_write_after_the_lag() {
        let mut lag: IndexLag<&str> = IndexLag::default();
        let behind = Some(60);
        lag.note(1, None, 100, behind);
        lag.note(1, Some(&"v1"), 130, behind);
        assert_eq!(lag.seen(1, 120, behind), Some(None), "created since");
        assert_eq!(lag.seen(1, 165, behind), Some(Some(&"v1")), "changed since");
        assert_eq!(lag.seen(1, 190, behind), None, "up to date");
        assert_eq!(
            lag.seen(1, 120, None),
            None,
            "not behind when lateness is off"
        );
        assert_eq!(lag.seen(2, 120, behind), None);
        let stored = [(1, &"v2"), (3, &"w")];
        assert_eq!(lag.view(stored.into_iter(), 120, behind), [(3, &"w")]);
        assert_eq!(
            lag.view(stored.into_iter(), 165, behind),
            [(1, &"v1"), (3, &"w")]
        );
        assert_eq!(lag.behind(165, behind).collect::<Vec<_>>(), [1]);
    }

    #[test]
    fn a_removed_record_is_found_until_the_index_sees_it_go() {
        let mut lag: IndexLag<&str> = IndexLag::default();
        lag.note(7, Some(&"gone"), 10, Some(5));
        let stored: [(u64, &&str); 0] = [];
        assert_eq!(lag.view(stored.into_iter(), 12, Some(5)), [(7, &"gone")]);
        assert!(lag.view(stored.into_iter(), 15, Some(5)).is_empty());
    }

    #[test]
    fn seen_writes_are_forgotten_and_nothing_is_kept_while_off() {
        let mut lag: IndexLag<u32> = IndexLag::default();
        for t in 0..100 {
            lag.note(t as u64 % 3, Some(&t), i64::from(t), Some(10));
        }
        assert!(lag.order.len() <= 11, "{}", lag.order.len());
        lag.note(1, None, 200, None);
        assert!(lag.order.is_empty() && lag.unseen.is_empty());
    }
}
