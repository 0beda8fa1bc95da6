//! Where a reader stands in a platform's list or change stream: serializable, so the engine saves
//! it in the store's cursor (in the same transaction as the work it covers) and resumes from it.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A position in one stream of one connector. Only the connector that produced it reads its
/// fields; the engine stores and hands it back (`ReadPosition::default()` is the beginning).
///
/// The fields map onto the store's compound cursor: `token` is the platform's opaque cursor,
/// `time` plus `seen_at_time` is the compound high-water mark (time, then the ids already
/// delivered at that very time, so ties are neither skipped nor doubled), and `seq` orders pages
/// within a window or lists within a kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadPosition {
    /// The platform's own cursor (Zendesk's `after_cursor`), if the stream has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The change time of the newest record delivered: where a time window starts again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<DateTime<Utc>>,
    /// Ids already delivered whose change time equals `time`: the overlap to drop when the next
    /// window starts at `time` again.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub seen_at_time: BTreeSet<String>,
    /// A page number within a window (Freshdesk, 1-based), or which of several lists a kind spans
    /// (Zendesk's ticket, user and organization fields).
    #[serde(default)]
    pub seq: u32,
}

impl ReadPosition {
    /// The beginning of the stream: everything.
    pub fn start() -> Self {
        ReadPosition::default()
    }

    /// The records changed at or after `time`.
    pub fn since(time: DateTime<Utc>) -> Self {
        ReadPosition {
            time: Some(time),
            ..ReadPosition::default()
        }
    }

    /// Moves the high-water mark over one delivered record; returns false when the record was
    /// already delivered (same time and id), which the caller then drops as overlap.
    pub fn advance(&mut self, time: DateTime<Utc>, id: &str) -> bool {
        match self.time {
            Some(current) if time < current => false,
            Some(current) if time == current => self.seen_at_time.insert(id.to_owned()),
            _ => {
                self.time = Some(time);
                self.seen_at_time = BTreeSet::from([id.to_owned()]);
                true
            }
        }
    }

    /// Whether a record changed at `time` with `id` was delivered already by this position.
    pub fn covers(&self, time: DateTime<Utc>, id: &str) -> bool {
        match self.time {
            Some(current) => time < current || (time == current && self.seen_at_time.contains(id)),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(secs, 0).single().unwrap()
    }

    #[test]
    fn ties_are_remembered_and_dropped() {
        let mut pos = ReadPosition::start();
        assert!(pos.advance(t(10), "a"));
        assert!(pos.advance(t(10), "b"));
        assert!(!pos.advance(t(10), "a"));
        assert!(pos.covers(t(10), "b"));
        assert!(!pos.covers(t(10), "c"));
        assert!(pos.covers(t(9), "z"));
        assert!(pos.advance(t(11), "c"));
        assert_eq!(pos.seen_at_time.len(), 1);
        assert!(
            pos.covers(t(10), "never-seen"),
            "everything older than the mark is covered"
        );
    }

    #[test]
    fn positions_round_trip_through_json() {
        let mut pos = ReadPosition::since(t(1_700_000_000));
        pos.advance(t(1_700_000_000), "42");
        pos.token = Some("MTY5NTA2MjcyNC4wfHwxNTcxfA==".into());
        pos.seq = 3;
        let json = serde_json::to_string(&pos).unwrap();
        assert_eq!(serde_json::from_str::<ReadPosition>(&json).unwrap(), pos);
        assert_eq!(
            serde_json::from_str::<ReadPosition>("{}").unwrap(),
            ReadPosition::start()
        );
    }
}
