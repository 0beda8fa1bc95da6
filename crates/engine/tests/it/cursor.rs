//! A connector's position kept in the store's cursor, page after page, forwards only.

use cutover_connect::ReadPosition;
use cutover_engine::cursor::{Saved, advance, load, start, stream};
use cutover_model::{RecordKind, Side};
use cutover_store::Batch;

use crate::support::*;

#[tokio::test]
async fn positions_survive_the_store_and_a_finished_list_starts_over() {
    let (store, _dir) = store().await;
    let name = stream(RecordKind::Ticket);
    let mut page_two = ReadPosition::since(t(50));
    page_two.token = Some("after-cursor-2".into());
    let saved = Saved {
        position: Some(page_two.clone()),
        complete: false,
    };
    let previous = store.cursor(Side::Old, &name).await.unwrap();
    let batch = Batch {
        cursor: Some(advance(
            Side::Old,
            RecordKind::Ticket,
            previous.as_ref(),
            &saved,
        )),
        ..Batch::default()
    };
    store.apply_batch(&batch).await.unwrap();
    let stored = store.cursor(Side::Old, &name).await.unwrap();
    assert_eq!(start(&load(stored.as_ref())), page_two);
    // A list read to its end, without times: the cursor still moves forwards, and says so.
    let done = Saved {
        position: None,
        complete: true,
    };
    let batch = Batch {
        cursor: Some(advance(
            Side::Old,
            RecordKind::Ticket,
            stored.as_ref(),
            &done,
        )),
        ..Batch::default()
    };
    store.apply_batch(&batch).await.unwrap();
    let stored = store.cursor(Side::Old, &name).await.unwrap();
    assert_eq!(load(stored.as_ref()), done);
    assert_eq!(start(&load(stored.as_ref())), ReadPosition::start());
}
