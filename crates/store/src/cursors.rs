//! Cursors: how far a reader has read a side's change stream.

use std::fmt;

use chrono::{DateTime, Utc};
use cutover_model::Side;

/// A compound position in a change stream, ordered by time, then id, then sequence, so records
/// that share a time are neither skipped nor read twice.
///
/// The store keeps `time` to the microsecond (as PostgreSQL does); a position read back has any
/// finer digits cut.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// The platform's change time of the last record read.
    pub time: DateTime<Utc>,
    /// Its id, as the platform spells it: the tie-break between records of the same time.
    pub id: String,
    /// A sequence number within the same time and id (e.g. an event's index).
    pub seq: i64,
}

impl Position {
    /// A position.
    pub fn new(time: DateTime<Utc>, id: impl Into<String>, seq: i64) -> Self {
        Position {
            time,
            id: id.into(),
            seq,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {}, {})", self.time.to_rfc3339(), self.id, self.seq)
    }
}

/// A saved cursor: where a reader stands, and the platform's own cursor token if it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The last position read and applied.
    pub position: Position,
    /// The platform's opaque cursor (e.g. an incremental export's `after_cursor`).
    pub token: Option<String>,
}

/// A cursor to save in the same transaction as the work it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorMove {
    /// The side whose stream was read.
    pub side: Side,
    /// The stream's name (e.g. `tickets`, `ticket_events`).
    pub stream: String,
    /// Where the reader now stands.
    pub cursor: Cursor,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn positions_order_by_time_then_id_then_seq() {
        let t = |s| Utc.timestamp_opt(s, 0).unwrap();
        let ordered = [
            Position::new(t(1), "b", 9),
            Position::new(t(2), "a", 5),
            Position::new(t(2), "a", 6),
            Position::new(t(2), "b", 0),
            Position::new(t(3), "", 0),
        ];
        for pair in ordered.windows(2) {
            assert!(pair[0] < pair[1], "{} < {}", pair[0], pair[1]);
        }
    }
}
