//! What a verification found, per kind, as a person and a machine read it.

use std::collections::BTreeMap;

use cutover_model::{PlatformId, RecordKind};
use serde::Serialize;

use crate::diff::FieldDiff;

/// A record of the old side with no live copy on the new side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Missing {
    /// Its id on the old side.
    pub old_id: PlatformId,
    /// The new id its link names, when the link's record is gone.
    pub new_id: Option<PlatformId>,
    /// Why it counts as missing.
    pub reason: String,
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
}

/// The verification of both sides, per kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VerifyReport {
    /// Per kind, in dependency order.
    pub kinds: BTreeMap<RecordKind, KindReport>,
}

impl VerifyReport {
    /// Whether both sides hold the same records.
    pub fn is_clean(&self) -> bool {
        self.kinds.values().all(KindReport::is_clean)
    }

    /// A short text: one line per kind, then the verdict.
    pub fn summary(&self) -> String {
        let mut text = String::new();
        for (kind, k) in &self.kinds {
            text.push_str(&format!(
                "{kind}: {} old, {} new, {} matched, {} missing, {} extra, {} different, {} dropped, {} unreadable\n",
                k.old,
                k.new,
                k.matched,
                k.missing.len(),
                k.extra.len(),
                k.different.len(),
                k.dropped,
                k.unreadable
            ));
            for (reason, count) in &k.not_comparable {
                text.push_str(&format!("  {count} matched but not comparable: {reason}\n"));
            }
            for id in &k.extra {
                let reason = k.extra_reasons.get(id).map_or("not linked", String::as_str);
                text.push_str(&format!("  extra {kind} {id}: {reason}\n"));
            }
            if !k.only_new.is_empty() {
                text.push_str(&format!(
                    "  {} present only on the new side (no link and no cutover mark: not written by cutover; not a difference)\n",
                    k.only_new.len()
                ));
            }
        }
        text.push_str(if self.is_clean() {
            "both sides hold the same records\n"
        } else {
            "the sides differ\n"
        });
        text
    }
}
