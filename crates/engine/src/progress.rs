//! Progress of a backfill, reported as events so a face can draw bars or print JSON lines.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
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
    /// When this run caught up after a backfill that read the tickets to their end (a delta):
    /// the change time that one had read to. Only what changed on the source since was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub catching_up_from: Option<DateTime<Utc>>,
    /// Every change the source side's feeds show was made before this time is read by this run:
    /// its start, less how late the source shows a change (Zendesk's exports leave out their
    /// last minute). A later `cutover backfill` copies what changed from then on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_up_to: Option<DateTime<Utc>>,
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

    /// One line per kind: `ticket: 120 read, 118 created, …`; after a catch-up, a line of what
    /// it did in all, and the time up to which the source's changes are read.
    pub fn summary(&self) -> String {
        let verb = if self.dry_run { "would be " } else { "" };
        let mut lines = self.per_kind(verb);
        if let Some(from) = self.catching_up_from {
            let all = self.kinds.values().fold(Counts::default(), |mut all, c| {
                all.created += c.created;
                all.found += c.found;
                all.updated += c.updated;
                all.unchanged += c.unchanged;
                all
            });
            lines.push_str(&format!(
                "Caught up on what changed since {}: {} new {verb}created, {} {verb}updated, {} \
                 read again and found unchanged (not written).\n",
                from.to_rfc3339_opts(SecondsFormat::Secs, true),
                all.created + all.found,
                all.updated,
                all.unchanged,
            ));
        }
        if let Some(to) = self.read_up_to {
            lines.push_str(&format!(
                "Changes made on the source before {} are read; `cutover backfill` again copies \
                 what changed since.\n",
                to.to_rfc3339_opts(SecondsFormat::Secs, true),
            ));
        }
        lines
    }

    fn per_kind(&self, verb: &str) -> String {
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
            ..BackfillReport::default()
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

    /// A catch-up ends with what it did over every kind and where the source was read to.
    #[test]
    fn a_catch_up_says_what_it_did_in_all() {
        let at = |t: &str| t.parse::<DateTime<Utc>>().unwrap();
        let ticket = Counts {
            read: 3,
            created: 1,
            updated: 1,
            unchanged: 1,
            ..Counts::default()
        };
        let group = Counts {
            read: 4,
            unchanged: 4,
            ..Counts::default()
        };
        let report = BackfillReport {
            kinds: BTreeMap::from([(RecordKind::Ticket, ticket), (RecordKind::Group, group)]),
            catching_up_from: Some(at("2026-01-02T03:04:05Z")),
            read_up_to: Some(at("2026-01-03T00:00:00Z")),
            ..BackfillReport::default()
        };
        let summary = report.summary();
        assert!(
            summary.contains(
                "Caught up on what changed since 2026-01-02T03:04:05Z: 1 new created, 1 updated, \
                 5 read again and found unchanged (not written).\n"
            ),
            "{summary}"
        );
        assert!(
            summary.contains("Changes made on the source before 2026-01-03T00:00:00Z are read"),
            "{summary}"
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["catching_up_from"], "2026-01-02T03:04:05Z");
        let first = serde_json::to_value(BackfillReport::default()).unwrap();
        assert!(first.get("catching_up_from").is_none(), "{first}");
    }
}
