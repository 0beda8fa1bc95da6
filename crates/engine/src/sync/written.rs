//! What either direction wrote lately, so a read made before a write is not applied after it.
//!
//! The two directions read outside the apply lock and apply under it. A record one direction
//! read may be written by the other (or by a conflict's resolution) between that read and its
//! apply. The platforms' versions are times to the second, so the link's version cannot always
//! tell such a read is older than the write: within one second it would be taken for a change
//! and carried back, undoing the write until the feed shows the record again. So every commit
//! marks the records of its links on both sides with a rising number, a read notes the number
//! before it starts, and a record marked after that is read again, under the lock, before it is
//! applied.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cutover_model::{PlatformId, RecordKind, Side};
use cutover_store::Link;

/// Marks older than this are forgotten (no read waits this long between its start and its
/// apply; one that did is only read again less often than it could be).
const FORGET_AFTER: Duration = Duration::from_secs(30 * 60);
/// Marks kept before the old ones are looked for.
const PRUNE_ABOVE: usize = 20_000;

type Key = (Side, RecordKind, PlatformId);

/// Records written lately, each with the number of the commit that wrote it.
#[derive(Debug, Default)]
pub(crate) struct Written {
    epoch: AtomicU64,
    marks: Mutex<HashMap<Key, (u64, Instant)>>,
}

impl Written {
    /// The number a read notes before it starts.
    pub(crate) fn now(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// Marks the records of `links`, on both sides, as written by a commit after every read
    /// started so far.
    pub(crate) fn mark(&self, links: &[Link]) {
        if links.is_empty() {
            return;
        }
        let epoch = self.epoch.fetch_add(1, Ordering::SeqCst) + 1;
        let at = Instant::now();
        let mut marks = self
            .marks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for link in links {
            for side in Side::BOTH {
                marks.insert((side, link.kind, link.id(side).clone()), (epoch, at));
            }
        }
        if marks.len() > PRUNE_ABOVE {
            marks.retain(|_, (_, when)| when.elapsed() < FORGET_AFTER);
        }
    }

    /// Whether the record `id` of `kind` on `side` was written after a read that noted `read_at`
    /// started.
    pub(crate) fn since(
        &self,
        side: Side,
        kind: RecordKind,
        id: &PlatformId,
        read_at: u64,
    ) -> bool {
        self.marks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&(side, kind, id.clone()))
            .is_some_and(|(epoch, _)| *epoch > read_at)
    }
}

#[cfg(test)]
mod tests {
    use cutover_model::Fingerprint;

    use super::*;

    fn link(old: u64, new: u64) -> Link {
        Link {
            kind: RecordKind::Ticket,
            old_id: PlatformId::from(old),
            new_id: PlatformId::from(new),
            fingerprint: Fingerprint::of_json(&serde_json::json!("x")),
            old_version: None,
            new_version: None,
            last_writer: Side::Old,
            fields: None,
        }
    }

    #[test]
    fn a_record_written_after_a_read_started_is_read_again_and_one_written_before_is_not() {
        let written = Written::default();
        written.mark(&[link(1, 10)]);
        let read_at = written.now();
        let id = |n: u64| PlatformId::from(n);
        // Written before the read started: the read saw it.
        assert!(!written.since(Side::Old, RecordKind::Ticket, &id(1), read_at));
        written.mark(&[link(2, 20)]);
        // Written after: on both sides of its link, and of that kind only.
        assert!(written.since(Side::Old, RecordKind::Ticket, &id(2), read_at));
        assert!(written.since(Side::New, RecordKind::Ticket, &id(20), read_at));
        assert!(!written.since(Side::New, RecordKind::Contact, &id(20), read_at));
        assert!(!written.since(Side::Old, RecordKind::Ticket, &id(3), read_at));
        // A read that starts now saw both.
        let later = written.now();
        assert!(!written.since(Side::Old, RecordKind::Ticket, &id(2), later));
    }
}
