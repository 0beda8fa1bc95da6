//! Progress of a backfill, reported as events so a face can draw bars or print JSON lines.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use cutover_connect::WriteOutcome;
use cutover_model::RecordKind;
use serde::Serialize;

use crate::apply::Outcome;

/// How many records of one kind came to what.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Records read (children included).
    pub read: u64,
    /// Created on the target (in a dry run: would be).
    pub created: u64,
    /// Found on the target by their mark and linked.
    pub found: u64,
    /// Updated on the target (in a dry run: would be).
    pub updated: u64,
    /// Equal on both sides already.
    pub unchanged: u64,
    /// Waiting for a parent.
    pub waiting: u64,
    /// Left behind by the plan.
    pub dropped: u64,
    /// Sent to the dead letters (rejected on read, or not applicable).
    pub dead_lettered: u64,
}

impl Counts {
    /// Counts one outcome.
    pub fn count(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Applied(WriteOutcome::Created) => self.created += 1,
            Outcome::Applied(WriteOutcome::Found) => self.found += 1,
            Outcome::Applied(WriteOutcome::Updated) => self.updated += 1,
            Outcome::Unchanged => self.unchanged += 1,
            Outcome::Waiting(_) => self.waiting += 1,
            Outcome::Dropped(_) => self.dropped += 1,
            Outcome::DeadLettered(_) => self.dead_lettered += 1,
        }
    }

    /// Records written (or that would be).
    pub fn written(&self) -> u64 {
        self.created + self.found + self.updated
    }
}

/// One progress event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProgressEvent {
    /// The kind being copied.
    pub kind: RecordKind,
    /// Records of this kind handled so far.
    pub done: u64,
    /// How many there are, when the platform says.
    pub total: Option<u64>,
    /// Records handled per second since the kind started.
    pub rate: f64,
    /// The outcomes so far.
    pub counts: Counts,
    /// Whether the kind is finished.
    pub finished: bool,
}

/// Where progress events go (a progress bar, a JSON printer, a channel).
#[derive(Clone)]
pub struct ProgressSink(Arc<dyn Fn(&ProgressEvent) + Send + Sync>);

impl ProgressSink {
    /// A sink calling `f` for every event.
    pub fn new(f: impl Fn(&ProgressEvent) + Send + Sync + 'static) -> Self {
        ProgressSink(Arc::new(f))
    }

    /// A sink that ignores every event.
    pub fn none() -> Self {
        ProgressSink::new(|_| {})
    }

    /// Reports an event.
    pub fn report(&self, event: &ProgressEvent) {
        (self.0)(event);
    }
}

impl fmt::Debug for ProgressSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProgressSink")
    }
}

/// What a backfill did, per kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BackfillReport {
    /// Whether nothing was written.
    pub dry_run: bool,
    /// Outcomes per kind.
    pub kinds: BTreeMap<RecordKind, Counts>,
}

impl BackfillReport {
    /// The counts of one kind.
    pub fn counts(&self, kind: RecordKind) -> Counts {
        self.kinds.get(&kind).copied().unwrap_or_default()
    }

    /// Records written (or that would be) over every kind.
    pub fn written(&self) -> u64 {
        self.kinds.values().map(Counts::written).sum()
    }

    /// One line per kind: `ticket: 120 read, 118 created, …`.
    pub fn summary(&self) -> String {
        let verb = if self.dry_run { "would be " } else { "" };
        self.kinds
            .iter()
            .map(|(kind, c)| {
                format!(
                    "{kind}: {} read, {} {verb}created, {} found, {} {verb}updated, {} unchanged, \
                     {} dropped, {} dead-lettered, {} waiting\n",
                    c.read,
                    c.created,
                    c.found,
                    c.updated,
                    c.unchanged,
                    c.dropped,
                    c.dead_lettered,
                    c.waiting
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use cutover_model::{PlatformId, RecordRef, Side};

    use super::*;

    #[test]
    fn outcomes_are_counted_and_summed_per_kind() {
        let mut counts = Counts::default();
        let waiting = Outcome::Waiting(RecordRef {
            kind: RecordKind::Contact,
            side: Side::Old,
            id: PlatformId::from(1),
        });
        for outcome in [
            Outcome::Applied(WriteOutcome::Created),
            Outcome::Applied(WriteOutcome::Found),
            Outcome::Applied(WriteOutcome::Updated),
            Outcome::Unchanged,
            waiting,
            Outcome::Dropped("x".into()),
            Outcome::DeadLettered("y".into()),
        ] {
            counts.count(&outcome);
        }
        assert_eq!(counts.written(), 3);
        assert_eq!(
            (
                counts.unchanged,
                counts.waiting,
                counts.dropped,
                counts.dead_lettered
            ),
            (1, 1, 1, 1)
        );
        let report = BackfillReport {
            dry_run: true,
            kinds: BTreeMap::from([(RecordKind::Ticket, counts)]),
        };
        assert_eq!(report.written(), 3);
        assert!(
            report
                .summary()
                .starts_with("ticket: 0 read, 1 would be created, 1 found, 1 would be updated")
        );
        let event = ProgressEvent {
            kind: RecordKind::Ticket,
            done: 7,
            total: None,
            rate: 3.5,
            counts,
            finished: false,
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["kind"], "ticket");
        assert_eq!(json["counts"]["created"], 1);
    }
}
