//! Rewriting a record's references: into the old side's key space for fingerprints, without the
//! references the plan drops, with the fallback author for history of agents who are not copied.

use cutover_model::Record;
use cutover_model::records::RecordKey;

/// What becomes of one reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fate {
    /// It now points at this key.
    Key(RecordKey),
    /// It is removed (an optional reference, or one of a set). A required reference is never
    /// given this fate: the caller decides about the record instead.
    Remove,
}

/// Rewrites every reference of `record` (the fields `cutover_connect::references` lists) with
/// `fate(field, key)`.
pub(crate) fn rewrite(record: &mut Record, mut fate: impl FnMut(&'static str, &RecordKey) -> Fate) {
    let mut opt = |field: &'static str, key: &mut Option<RecordKey>| {
        if let Some(current) = key.take() {
            *key = match fate(field, &current) {
                Fate::Key(new) => Some(new),
                Fate::Remove => None,
            };
        }
    };
    match record {
        Record::Contact(c) => opt("organization", &mut c.organization),
        Record::Agent(a) => {
            opt("role", &mut a.role);
            let groups = std::mem::take(&mut a.groups);
            for group in groups {
                let mut key = Some(group);
                opt("groups", &mut key);
                a.groups.extend(key);
            }
        }
        Record::Ticket(t) => {
            required(&mut opt, "requester", &mut t.requester);
            opt("assignee", &mut t.assignee);
            opt("group", &mut t.group);
            opt("organization", &mut t.organization);
            opt("merged_into", &mut t.merged_into);
        }
        Record::Comment(c) => {
            required(&mut opt, "ticket", &mut c.ticket);
            required(&mut opt, "author", &mut c.author);
        }
        Record::Attachment(a) => required(&mut opt, "comment", &mut a.comment),
        Record::SatisfactionRating(r) => {
            required(&mut opt, "ticket", &mut r.ticket);
            required(&mut opt, "requester", &mut r.requester);
            opt("assignee", &mut r.assignee);
        }
        other => crate::rules::rewrite(other, &mut fate),
    }
}

/// A required reference: rewritten, or kept as it is when the fate would remove it.
fn required(
    opt: &mut impl FnMut(&'static str, &mut Option<RecordKey>),
    field: &'static str,
    key: &mut RecordKey,
) {
    let mut slot = Some(key.clone());
    opt(field, &mut slot);
    if let Some(new) = slot {
        *key = new;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use cutover_connect::references;
    use cutover_model::PlatformId;
    use cutover_model::records::Agent;

    use super::*;

    #[test]
    fn every_listed_reference_is_rewritten_and_sets_lose_removed_members() {
        let mut record = Record::Agent(Agent {
            name: "Jo".into(),
            email: "jo@acme.example".into(),
            role: Some(PlatformId::from(1)),
            groups: BTreeSet::from([PlatformId::from(2), PlatformId::from(3)]),
            active: true,
        });
        rewrite(&mut record, |_, key| {
            if key.as_str() == "3" {
                Fate::Remove
            } else {
                Fate::Key(PlatformId::from(100 + key.as_str().parse::<u64>().unwrap()))
            }
        });
        let keys: Vec<String> = references(&record)
            .iter()
            .map(|r| format!("{}={}", r.field, r.key))
            .collect();
        assert_eq!(keys, ["role=101", "groups=102"]);
    }
}
