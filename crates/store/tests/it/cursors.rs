//! Cursors: compound positions per side and stream, which only move forward.

use cutover_model::Side;
use cutover_store::{Cursor, Position, StoreError};

use crate::harness::{TestStore, at, backend_tests};

backend_tests!(
    cursors_are_kept_per_side_and_stream,
    a_cursor_moves_forward_only_until_cleared
);

async fn set(t: &TestStore, side: Side, stream: &str, cursor: &Cursor) -> Result<(), StoreError> {
    let mut tx = t.store.begin().await?;
    tx.set_cursor(side, stream, cursor).await?;
    tx.commit().await
}

async fn cursors_are_kept_per_side_and_stream(t: TestStore) {
    assert_eq!(t.store.cursor(Side::Old, "tickets").await.unwrap(), None);
    let old = Cursor {
        // Nanoseconds are cut to microseconds, as both backends keep them.
        position: Position::new(
            at(1_700_000_000, 0) + chrono::Duration::nanoseconds(123_456_789),
            "42",
            3,
        ),
        token: Some("MTcwMDAwMDAwMA==".into()),
    };
    let new = Cursor {
        position: Position::new(at(1_600_000_000, 5), "a-7", 0),
        token: None,
    };
    set(&t, Side::Old, "tickets", &old).await.unwrap();
    set(&t, Side::New, "tickets", &new).await.unwrap();

    let read = t.store.cursor(Side::Old, "tickets").await.unwrap().unwrap();
    assert_eq!(read.position.time, at(1_700_000_000, 123_456));
    assert_eq!((read.position.id.as_str(), read.position.seq), ("42", 3));
    assert_eq!(read.token, old.token);
    assert_eq!(
        t.store.cursor(Side::New, "tickets").await.unwrap(),
        Some(new)
    );
    assert_eq!(
        t.store.cursor(Side::Old, "ticket_events").await.unwrap(),
        None
    );
}

async fn a_cursor_moves_forward_only_until_cleared(t: TestStore) {
    let cursor = |seconds, record_id: &str, seq| Cursor {
        position: Position::new(at(seconds, 0), record_id, seq),
        token: None,
    };
    set(&t, Side::Old, "tickets", &cursor(100, "b", 2))
        .await
        .unwrap();

    // Earlier by time, by id at the same time, by sequence at the same time and id.
    for earlier in [cursor(99, "z", 9), cursor(100, "a", 9), cursor(100, "b", 1)] {
        let err = set(&t, Side::Old, "tickets", &earlier).await.unwrap_err();
        assert!(matches!(err, StoreError::CursorBackwards { .. }), "{err:?}");
    }
    let err = set(&t, Side::Old, "tickets", &cursor(99, "z", 9))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("move cursor tickets on the old side from ("),
        "{err}"
    );
    assert_eq!(
        t.store.cursor(Side::Old, "tickets").await.unwrap(),
        Some(cursor(100, "b", 2))
    );

    // The same position with a new platform token, then later positions, are fine.
    let mut same = cursor(100, "b", 2);
    same.token = Some("next-page".into());
    set(&t, Side::Old, "tickets", &same).await.unwrap();
    set(&t, Side::Old, "tickets", &cursor(100, "b", 3))
        .await
        .unwrap();
    assert_eq!(
        t.store.cursor(Side::Old, "tickets").await.unwrap(),
        Some(cursor(100, "b", 3))
    );

    let mut tx = t.store.begin().await.unwrap();
    tx.clear_cursor(Side::Old, "tickets").await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(t.store.cursor(Side::Old, "tickets").await.unwrap(), None);
    set(&t, Side::Old, "tickets", &cursor(1, "a", 0))
        .await
        .unwrap();
}
