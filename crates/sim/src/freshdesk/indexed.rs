//! Records by id with the lookup keys derived from them: contacts by e-mail, phone, external id;
//! companies by name; tickets by custom-field value. The map is private, so every write goes
//! through [`Indexed::put`], [`Indexed::update`] or [`Indexed::remove`], which move the record's
//! index entries with it: an index that went stale would be worse than a scan.
//!
//! Those exact-key indexes answer the filtered lists, which see every write at once. Search and
//! autocomplete are another index, the platform's search engine, which sees writes late when
//! lateness is on ([`crate::lateness`]): every write is noted, and [`Indexed::searched`] and
//! [`Indexed::searched_prefixed`] answer as that index would.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, btree_map};

use super::store::Rec;
use crate::lateness::{IndexLag, Lateness};
use crate::state::KeyIndex;

/// The lookup keys of one record as `(field, key)` pairs (a field may carry several keys, as a
/// contact's e-mails do). Keys are normalised by the function (lower-cased where lookups ignore
/// case); lookups must normalise the same way.
pub(crate) type KeysOf = fn(&Rec) -> Vec<(Cow<'static, str>, String)>;

/// Records by id plus an exact-key index per field, and optionally one field's keys in order
/// (for prefix lookups).
#[derive(Debug)]
pub(crate) struct Indexed {
    records: BTreeMap<u64, Rec>,
    index: Index,
    keys_of: KeysOf,
    /// The clock and the switch of search's lateness (none: search sees writes at once).
    late: Option<Lateness>,
    /// The writes search has not seen yet.
    lag: IndexLag<Rec>,
}

/// The index proper.
#[derive(Debug, Default)]
struct Index {
    exact: HashMap<String, KeyIndex>,
    /// The field kept in order, and its `(key, id)` pairs.
    ordered: Option<(&'static str, BTreeSet<(String, u64)>)>,
}

impl Indexed {
    /// An empty collection whose records are indexed by `keys_of`.
    pub(crate) fn new(keys_of: KeysOf) -> Self {
        Self {
            records: BTreeMap::new(),
            index: Index::default(),
            keys_of,
            late: None,
            lag: IndexLag::default(),
        }
    }

    /// From now on, search sees this collection's writes as late as `late` says.
    pub(crate) fn set_lateness(&mut self, late: Lateness) {
        self.late = Some(late);
    }

    /// Notes a write of record `id` that replaced `before`, for search's late view.
    fn note(&mut self, id: u64, before: Option<&Rec>) {
        if let Some(late) = &self.late {
            let (now, lag) = (late.now(), late.lag());
            self.lag.note(id, before, now, lag);
        }
    }

    /// `stored` records (ascending by id) as search sees them now: records written within the
    /// lag as they were before (left out when created since, still in when removed since).
    pub(crate) fn searched<'a>(
        &'a self,
        stored: Box<dyn Iterator<Item = (u64, &'a Rec)> + 'a>,
    ) -> Box<dyn Iterator<Item = &'a Rec> + 'a> {
        let behind = self.late.as_ref().and_then(Lateness::behind);
        Box::new(self.lag.searched(stored, behind).map(|(_, rec)| rec))
    }

    /// Like [`Indexed::prefixed`], as search sees it now (see [`Indexed::searched`]): `(key,
    /// record)` in key order; `key_of` gives an older version's key.
    pub(crate) fn searched_prefixed<'a>(
        &'a self,
        prefix: &'a str,
        key_of: impl Fn(&Rec) -> Option<String>,
    ) -> Vec<(String, &'a Rec)> {
        let live = self
            .prefixed(prefix)
            .filter_map(|(key, id)| Some((key.to_owned(), id, self.records.get(&id)?)));
        let Some((now, lag)) = self.late.as_ref().and_then(Lateness::behind) else {
            return live.map(|(key, _, rec)| (key, rec)).collect();
        };
        let mut out: Vec<(String, u64, &Rec)> = live
            .filter(|(_, id, _)| self.lag.seen(*id, now, Some(lag)).is_none())
            .collect();
        for id in self.lag.behind(now, Some(lag)) {
            if let Some(Some(older)) = self.lag.seen(id, now, Some(lag))
                && let Some(key) = key_of(older).filter(|k| k.starts_with(prefix))
            {
                out.push((key, id, older));
            }
        }
        out.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        out.into_iter().map(|(key, _, rec)| (key, rec)).collect()
    }

    /// Like [`Indexed::new`], also keeping `field`'s keys in order for [`Indexed::prefixed`].
    pub(crate) fn with_ordered(keys_of: KeysOf, field: &'static str) -> Self {
        let mut out = Self::new(keys_of);
        out.index.ordered = Some((field, BTreeSet::new()));
        out
    }

    /// The record with this id.
    pub(crate) fn get(&self, id: &u64) -> Option<&Rec> {
        self.records.get(id)
    }

    /// Whether a record has this id.
    pub(crate) fn contains_key(&self, id: &u64) -> bool {
        self.records.contains_key(id)
    }

    /// The records, ascending by id.
    pub(crate) fn values(&self) -> btree_map::Values<'_, u64, Rec> {
        self.records.values()
    }

    /// `(id, record)`, ascending by id.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u64, &Rec)> {
        self.records.iter().map(|(id, rec)| (*id, rec))
    }

    /// The ids, ascending.
    pub(crate) fn keys(&self) -> btree_map::Keys<'_, u64, Rec> {
        self.records.keys()
    }

    /// How many records there are.
    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }

    /// Ids (ascending) of the records whose `field` has the (normalised) `key`.
    pub(crate) fn lookup(&self, field: &str, key: &str) -> &[u64] {
        self.index.exact.get(field).map_or(&[], |ix| ix.get(key))
    }

    /// `(key, id)` of the records whose ordered field's (normalised) key starts with `prefix`,
    /// in key order; empty when the collection keeps no field in order.
    pub(crate) fn prefixed<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a str, u64)> + use<'a> {
        self.index
            .ordered
            .iter()
            .flat_map(move |(_, keys)| keys.range((prefix.to_owned(), 0)..))
            .take_while(move |(key, _)| key.starts_with(prefix))
            .map(|(key, id)| (key.as_str(), *id))
    }

    /// The records whose `field` has the (normalised) `key`, ascending by id.
    pub(crate) fn find<'a>(
        &'a self,
        field: &str,
        key: &str,
    ) -> impl Iterator<Item = &'a Rec> + use<'a> {
        self.lookup(field, key)
            .iter()
            .filter_map(|id| self.records.get(id))
    }

    /// Stores a record (new or replacing the one with its id), moving its index entries.
    pub(crate) fn put(&mut self, id: u64, rec: Rec) -> Option<Rec> {
        let new = (self.keys_of)(&rec);
        let old = self.records.insert(id, rec);
        self.note(id, old.as_ref());
        let old_keys = old.as_ref().map(self.keys_of).unwrap_or_default();
        self.index.reindex(id, old_keys, new);
        old
    }

    /// Changes a record in place and moves its index entries; `None` when there is no record
    /// with this id.
    pub(crate) fn update<R>(&mut self, id: u64, change: impl FnOnce(&mut Rec) -> R) -> Option<R> {
        let searched_late = self.late.as_ref().is_some_and(|l| l.lag().is_some());
        let before = searched_late
            .then(|| self.records.get(&id).cloned())
            .flatten();
        let rec = self.records.get_mut(&id)?;
        let old = (self.keys_of)(rec);
        let out = change(rec);
        let new = (self.keys_of)(rec);
        self.index.reindex(id, old, new);
        if searched_late {
            self.note(id, before.as_ref());
        }
        Some(out)
    }

    /// Changes every record for which `pick` holds (see [`Indexed::update`]).
    pub(crate) fn update_where(
        &mut self,
        pick: impl Fn(&Rec) -> bool,
        mut change: impl FnMut(&mut Rec),
    ) {
        let ids: Vec<u64> = self
            .records
            .iter()
            .filter(|(_, r)| pick(r))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.update(id, &mut change);
        }
    }

    /// Removes a record and its index entries.
    pub(crate) fn remove(&mut self, id: u64) -> Option<Rec> {
        let old = self.records.remove(&id)?;
        self.index.reindex(id, (self.keys_of)(&old), Vec::new());
        self.note(id, Some(&old));
        Some(old)
    }

    /// Whether the index agrees with the records (every key of every record is indexed and
    /// nothing else is): for tests.
    #[cfg(test)]
    pub(crate) fn index_is_true(&self) -> bool {
        let mut expected: HashMap<String, HashMap<String, Vec<u64>>> = HashMap::new();
        for (id, rec) in &self.records {
            for (field, key) in (self.keys_of)(rec) {
                let ids = expected
                    .entry(field.into_owned())
                    .or_default()
                    .entry(key)
                    .or_default();
                if !ids.contains(id) {
                    ids.push(*id);
                }
            }
        }
        let indexed: usize = self.index.exact.values().map(KeyIndex::len).sum();
        let ordered_true = self.index.ordered.as_ref().is_none_or(|(field, keys)| {
            let wanted: BTreeSet<(String, u64)> = expected
                .get(*field)
                .into_iter()
                .flatten()
                .flat_map(|(key, ids)| ids.iter().map(move |id| (key.clone(), *id)))
                .collect();
            *keys == wanted
        });
        let wanted: usize = expected.values().map(HashMap::len).sum();
        ordered_true
            && indexed == wanted
            && expected.iter().all(|(field, keys)| {
                keys.iter()
                    .all(|(key, ids)| self.lookup(field, key) == ids.as_slice())
            })
    }
}

impl Index {
    /// Moves one record's entries from its `old` keys to its `new` ones.
    fn reindex(
        &mut self,
        id: u64,
        old: Vec<(Cow<'static, str>, String)>,
        new: Vec<(Cow<'static, str>, String)>,
    ) {
        if old == new {
            return;
        }
        for (field, key) in &old {
            if new.contains(&(field.clone(), key.clone())) {
                continue;
            }
            if let Some(ix) = self.exact.get_mut(field.as_ref()) {
                ix.remove(Some(key), id);
                if ix.is_empty() {
                    self.exact.remove(field.as_ref());
                }
            }
            if let Some((_, keys)) = self.ordered.as_mut().filter(|(f, _)| f == field) {
                keys.remove(&(key.clone(), id));
            }
        }
        for (field, key) in new {
            if old.contains(&(field.clone(), key.clone())) {
                continue;
            }
            if let Some((_, keys)) = self.ordered.as_mut().filter(|(f, _)| *f == field) {
                keys.insert((key.clone(), id));
            }
            self.exact
                .entry(field.into_owned())
                .or_default()
                .insert(Some(&key), id);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn tags(rec: &Rec) -> Vec<(Cow<'static, str>, String)> {
        rec.get("tags")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|t| (Cow::Borrowed("tag"), t.to_lowercase()))
            .collect()
    }

    fn rec(v: Value) -> Rec {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn every_write_moves_the_index_with_the_record() {
        let mut ix = Indexed::new(tags);
        ix.put(1, rec(json!({"tags": ["A", "b"]})));
        ix.put(2, rec(json!({"tags": ["b"]})));
        assert_eq!(ix.lookup("tag", "a"), [1]);
        assert_eq!(ix.lookup("tag", "b"), [1, 2]);
        ix.update(1, |r| r.insert("tags".into(), json!(["c"])));
        assert!(ix.lookup("tag", "a").is_empty());
        assert_eq!(ix.lookup("tag", "b"), [2]);
        assert_eq!(ix.lookup("tag", "c"), [1]);
        ix.put(2, rec(json!({"tags": ["c"]})));
        assert_eq!(ix.lookup("tag", "c"), [1, 2]);
        assert!(ix.lookup("tag", "b").is_empty());
        ix.update_where(
            |_| true,
            |r| {
                r.insert("tags".into(), json!(["d", "d"]));
            },
        );
        assert_eq!(ix.lookup("tag", "d"), [1, 2]);
        assert!(ix.index_is_true());
        ix.remove(1);
        assert_eq!(ix.lookup("tag", "d"), [2]);
        assert_eq!(ix.find("tag", "d").count(), 1);
        assert!(ix.index_is_true());
        ix.remove(2);
        assert!(ix.index.exact.is_empty());
    }

    #[test]
    fn the_ordered_field_answers_prefixes() {
        let mut ix = Indexed::with_ordered(tags, "tag");
        ix.put(1, rec(json!({"tags": ["acme", "beta"]})));
        ix.put(2, rec(json!({"tags": ["acme corp"]})));
        ix.put(3, rec(json!({"tags": ["acm"]})));
        let found: Vec<(&str, u64)> = ix.prefixed("acme").collect();
        assert_eq!(found, [("acme", 1), ("acme corp", 2)]);
        ix.update(2, |r| r.insert("tags".into(), json!(["zeta"])));
        assert_eq!(ix.prefixed("acme").count(), 1);
        assert_eq!(ix.prefixed("z").collect::<Vec<_>>(), [("zeta", 2)]);
        ix.remove(1);
        assert_eq!(ix.prefixed("").count(), 2);
        assert!(ix.index_is_true());
        assert_eq!(Indexed::new(tags).prefixed("").count(), 0);
    }
}
