//! What a verification found, per kind, as a person and a machine read it.

use std::collections::BTreeMap;

use cutover_model::{PlatformId, PlatformKind, RecordKind};
use serde::Serialize;

use crate::diff::FieldDiff;
use crate::text::reason_group;

/// Where a person sees a record on each platform: its page for agents (a comment's or an
/// attachment's ticket), when the platform has one (see `Connector::record_url`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Pages {
    /// On the old platform.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    /// On the new platform.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
}

impl Pages {
    /// Whether neither platform has a page for it.
    pub fn is_empty(&self) -> bool {
        self.old.is_none() && self.new.is_none()
    }
}

/// A record of the old side with no live copy on the new side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Missing {
    /// Its id on the old side.
    pub old_id: PlatformId,
    /// The new id its link names, when the link's record is gone.
    pub new_id: Option<PlatformId>,
    /// Why it counts as missing: its dead letter's reason, that no backfill read it, that its
    /// value has no mapping, or that its copy is gone.
    pub reason: String,
    /// Its page on each platform.
    #[serde(skip_serializing_if = "Pages::is_empty")]
    pub pages: Pages,
}

/// A record on both sides whose contents differ.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Different {
    /// Its id on the old side.
    pub old_id: PlatformId,
    /// Its id on the new side.
    pub new_id: PlatformId,
    /// What differs, field by field.
    pub fields: Vec<FieldDiff>,
    /// Its page on each platform.
    #[serde(skip_serializing_if = "Pages::is_empty")]
    pub pages: Pages,
}

impl Different {
    /// The fields that differ, as one text: `/record/status, /record/tags`.
    pub fn pointers(&self) -> String {
        let pointers: Vec<&str> = self.fields.iter().map(|f| f.pointer.as_str()).collect();
        pointers.join(", ")
    }
}

/// The verification of one kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct KindReport {
    /// Records read on the old side.
    pub old: u64,
    /// Records read on the new side.
    pub new: u64,
    /// Records equal on both sides.
    pub matched: u64,
    /// Old records the plan leaves behind (not compared).
    pub dropped: u64,
    /// Records a side could not read (see the dead letters of a backfill).
    pub unreadable: u64,
    /// On the old side, not (or no longer) on the new side.
    pub missing: Vec<Missing>,
    /// On the new side, not linked to an old record, yet written by cutover (it carries
    /// cutover's mark, or belongs to a record that is extra): a copy without a link, that is a
    /// duplicate.
    pub extra: Vec<PlatformId>,
    /// Why each of [`KindReport::extra`] is one, by its id: `written by cutover as the copy of
    /// ticket 42 on the old side but not linked`, or the extra record it belongs to.
    pub extra_reasons: BTreeMap<PlatformId, String>,
    /// The page of each of [`KindReport::extra`] on the new platform, by its id.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub extra_pages: BTreeMap<PlatformId, String>,
    /// On the new side only, with no link and no cutover mark, whatever its kind: what the target
    /// account held of its own (agents, default groups and fields, sample companies and
    /// contacts) or what people created there since. Reported, not a difference.
    pub only_new: Vec<PlatformId>,
    /// Linked records equal once levelled onto what the target can hold, per reason (what one
    /// side cannot hold, as `cutover inventory` names it): counted, not a difference.
    pub not_comparable: BTreeMap<String, u64>,
    /// On both sides, different.
    pub different: Vec<Different>,
}

impl KindReport {
    /// Adds what another part of the same kind found.
    pub(super) fn absorb(&mut self, part: KindReport) {
        self.old += part.old;
        self.new += part.new;
        self.matched += part.matched;
        self.dropped += part.dropped;
        self.unreadable += part.unreadable;
        self.missing.extend(part.missing);
        self.extra.extend(part.extra);
        self.extra_reasons.extend(part.extra_reasons);
        self.extra_pages.extend(part.extra_pages);
        self.only_new.extend(part.only_new);
        for (reason, count) in part.not_comparable {
            *self.not_comparable.entry(reason).or_default() += count;
        }
        self.different.extend(part.different);
    }

    /// Whether this kind has no difference.
    pub fn is_clean(&self) -> bool {
        self.missing.is_empty() && self.extra.is_empty() && self.different.is_empty()
    }

    /// The missing records counted by reason (ids left out, see [`crate::text::reason_group`]), most first.
    pub fn missing_by_reason(&self) -> Vec<(String, u64)> {
        grouped(self.missing.iter().map(|m| reason_group(&m.reason)))
    }

    /// The extra records counted by reason (ids left out), most first.
    pub fn extra_by_reason(&self) -> Vec<(String, u64)> {
        grouped(self.extra.iter().map(|id| {
            let reason = self
                .extra_reasons
                .get(id)
                .map_or("not linked", String::as_str);
            reason_group(reason)
        }))
    }

    /// The different records counted by the fields that differ, most first.
    pub fn different_by_fields(&self) -> Vec<(String, u64)> {
        grouped(self.different.iter().map(Different::pointers))
    }
}

/// Counts of equal keys, most first, then by key.
fn grouped(keys: impl Iterator<Item = String>) -> Vec<(String, u64)> {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for key in keys {
        *counts.entry(key).or_default() += 1;
    }
    let mut groups: Vec<(String, u64)> = counts.into_iter().collect();
    groups.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    groups
}

/// Records of one kind counted under one reason: kind, count, reason.
pub type Group = (RecordKind, u64, String);

/// The verification of both sides, per kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VerifyReport {
    /// The old platform, when the report comes from a verification of two accounts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_platform: Option<PlatformKind>,
    /// The new platform.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_platform: Option<PlatformKind>,
    /// Per kind, in dependency order.
    pub kinds: BTreeMap<RecordKind, KindReport>,
}

impl VerifyReport {
    /// Whether both sides hold the same records.
    pub fn is_clean(&self) -> bool {
        self.kinds.values().all(KindReport::is_clean)
    }

    /// Each kind's differences, and what is levelled, counted by reason: per section (a title
    /// and its rows of kind, count, reason), only those with rows, in reading order.
    pub fn grouped(&self) -> Vec<(&'static str, Vec<Group>)> {
        type Groups = fn(&KindReport) -> Vec<(String, u64)>;
        let sections: [(&str, Groups); 4] = [
            (
                "Not comparable, counted as matched (what the target cannot hold, as `cutover \
                 inventory` named it)",
                |k| {
                    k.not_comparable
                        .iter()
                        .map(|(r, n)| (r.clone(), *n))
                        .collect()
                },
            ),
            (
                "Missing on the new side, by reason",
                KindReport::missing_by_reason,
            ),
            (
                "Extra on the new side (duplicates), by reason",
                KindReport::extra_by_reason,
            ),
            (
                "Different, by the fields that differ",
                KindReport::different_by_fields,
            ),
        ];
        sections
            .into_iter()
            .map(|(title, groups)| {
                let rows = self
                    .kinds
                    .iter()
                    .flat_map(|(kind, k)| groups(k).into_iter().map(|(r, n)| (*kind, n, r)))
                    .collect();
                (title, rows)
            })
            .filter(|(_, rows): &(_, Vec<_>)| !rows.is_empty())
            .collect()
    }

    /// Missing, extra and different records over every kind.
    pub fn n_differences(&self) -> (usize, usize, usize) {
        self.kinds.values().fold((0, 0, 0), |(m, e, d), k| {
            (
                m + k.missing.len(),
                e + k.extra.len(),
                d + k.different.len(),
            )
        })
    }
}
