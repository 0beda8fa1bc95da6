//! How a connector's [`ReadPosition`] is kept in the store's cursor: the position itself travels
//! as JSON in the cursor's token; the compound store position only ever moves forwards (the
//! change time where the stream has one, and a page counter that grows on every page).

use chrono::{DateTime, Utc};
use cutover_connect::ReadPosition;
use cutover_model::{RecordKind, Side};
use cutover_store::{Cursor, CursorMove, Position};
use serde::{Deserialize, Serialize};

/// What the backfill keeps about one kind's stream.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Saved {
    /// Where to read on from; `None` with `complete` means the list is read again from its start.
    pub position: Option<ReadPosition>,
    /// Whether the stream was read to its end.
    pub complete: bool,
}

/// The stream name of a kind's backfill: `backfill:ticket`.
pub fn stream(kind: RecordKind) -> String {
    format!("backfill:{kind}")
}

/// The saved state of a stream, read from its cursor (a token that does not parse reads as the
/// start: the pass is repeated, which changes nothing that is copied already).
pub fn load(cursor: Option<&Cursor>) -> Saved {
    cursor
        .and_then(|c| c.token.as_deref())
        .and_then(|token| serde_json::from_str(token).ok())
        .unwrap_or_default()
}

/// Where to start reading: the saved position, or the start.
pub fn start(saved: &Saved) -> ReadPosition {
    saved.position.clone().unwrap_or_default()
}

/// The stream name of a kind's bridge feed: `sync:ticket` (one per side).
pub fn sync_stream(kind: RecordKind) -> String {
    format!("sync:{kind}")
}

/// The cursor move past a page of a kind's backfill: never behind `previous`.
pub fn advance(
    side: Side,
    kind: RecordKind,
    previous: Option<&Cursor>,
    saved: &Saved,
) -> CursorMove {
    advance_stream(side, stream(kind), previous, saved)
}

/// The cursor move past a page of any stream: never behind `previous`.
pub fn advance_stream(
    side: Side,
    stream: String,
    previous: Option<&Cursor>,
    saved: &Saved,
) -> CursorMove {
    let epoch: DateTime<Utc> = DateTime::UNIX_EPOCH;
    let time = saved
        .position
        .as_ref()
        .and_then(|p| p.time)
        .unwrap_or(epoch);
    let (time, seq) = match previous {
        Some(p) => (time.max(p.position.time), p.position.seq.saturating_add(1)),
        None => (time, 1),
    };
    let token = serde_json::to_string(saved).ok();
    CursorMove {
        side,
        stream,
        cursor: Cursor {
            position: Position::new(time, "", seq),
            token,
        },
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn positions_round_trip_and_only_move_forwards() {
        let mut position = ReadPosition::since(Utc.timestamp_opt(2_000, 0).unwrap());
        position.token = Some("abc".into());
        let saved = Saved {
            position: Some(position),
            complete: false,
        };
        let first = advance(Side::Old, RecordKind::Ticket, None, &saved);
        assert_eq!(load(Some(&first.cursor)), saved);
        // A list position without time, after a later one: still forwards.
        let list = Saved {
            position: None,
            complete: true,
        };
        let second = advance(Side::Old, RecordKind::Ticket, Some(&first.cursor), &list);
        assert!(second.cursor.position > first.cursor.position);
        assert_eq!(start(&load(Some(&second.cursor))), ReadPosition::start());
        assert_eq!(first.stream, "backfill:ticket");
    }
}
