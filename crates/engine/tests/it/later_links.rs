//! The comments of tickets imported in bulk into Zendesk are linked after their tickets, many at
//! once (the import job names ticket ids only). A run that stops in between, its tickets' links
//! committed and their comments' not, is taken up by the next run, which links those comments
//! before anything else and writes none of them twice.

use std::sync::Arc;

use async_trait::async_trait;
use cutover_connect::{
    AttachmentSource, Capabilities, ConnectError, Connector, Downloaded, FileUpload, LaterCopy,
    Outbound, Page, RateBudget, ReadPosition, UploadRef, Written, WrittenChild,
};
use cutover_engine::{backfill, verify};
use cutover_model::accounts::AccountSnapshot;
use cutover_model::records::Record;
use cutover_model::{PlatformId, PlatformKind, RecordKind, Side};
use serde_json::Value;

use crate::support::{self, KINDS, backfill_without_dead_letters, move_options, read_all};
use crate::zendesk_e2e::identity_mapping;

/// A target that stops the run where its comments would be linked, as a run killed there.
#[derive(Debug)]
struct StopsBeforeLinking(Arc<dyn Connector>);

#[async_trait]
impl Connector for StopsBeforeLinking {
    fn platform(&self) -> PlatformKind {
        self.0.platform()
    }
    fn side(&self) -> Side {
        self.0.side()
    }
    fn capabilities(&self) -> Capabilities {
        self.0.capabilities()
    }
    fn budget(&self) -> Arc<RateBudget> {
        self.0.budget()
    }
    async fn discover(&self) -> Result<AccountSnapshot, ConnectError> {
        self.0.discover().await
    }
    async fn read_page(
        &self,
        kind: RecordKind,
        position: &ReadPosition,
    ) -> Result<Page, ConnectError> {
        self.0.read_page(kind, position).await
    }
    async fn read_children(
        &self,
        kind: RecordKind,
        ticket: &PlatformId,
        position: &ReadPosition,
    ) -> Result<Page, ConnectError> {
        self.0.read_children(kind, ticket, position).await
    }
    fn create_batch(&self, kind: RecordKind) -> usize {
        self.0.create_batch(kind)
    }
    async fn create_brands(
        &self,
        names: &[String],
    ) -> Result<Vec<cutover_connect::SetUp>, ConnectError> {
        self.0.create_brands(names).await
    }
    async fn find_by_origin(
        &self,
        outbound: &Outbound,
    ) -> Result<Option<PlatformId>, ConnectError> {
        self.0.find_by_origin(outbound).await
    }
    async fn create(&self, outbound: &Outbound) -> Result<Written, ConnectError> {
        self.0.create(outbound).await
    }
    async fn found(&self, id: &PlatformId, outbound: &Outbound) -> Result<Written, ConnectError> {
        self.0.found(id, outbound).await
    }
    async fn children_later(
        &self,
        copies: &[LaterCopy],
        _finish: bool,
    ) -> Result<Vec<(PlatformId, Vec<WrittenChild>)>, ConnectError> {
        Err(ConnectError::Malformed {
            op: format!("link the comments of {} tickets", copies.len()),
            detail: "the run stops here".to_owned(),
        })
    }
    async fn update(&self, id: &PlatformId, outbound: &Outbound) -> Result<Written, ConnectError> {
        self.0.update(id, outbound).await
    }
    async fn upload(&self, file: FileUpload) -> Result<UploadRef, ConnectError> {
        self.0.upload(file).await
    }
    async fn download(&self, source: &AttachmentSource) -> Result<Downloaded, ConnectError> {
        self.0.download(source).await
    }
}

/// How many comments the emulator at `url` holds.
async fn comments_held(url: &str) -> u64 {
    let state: Value = reqwest::get(format!("{url}/_sim/state"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    state["counts"]["comments"].as_u64().unwrap()
}

#[tokio::test]
async fn comments_left_unlinked_by_a_stopped_run_are_linked_by_the_next_and_never_written_twice() {
    let old = support::zendesk_sim(31, 12).await;
    let new = support::zendesk_sim(32, 0).await;
    let (store, _dir) = support::store().await;
    let source = support::zendesk_at(Side::Old, old.url());
    let target = support::zendesk_at(Side::New, new.url());
    let mapping = identity_mapping(source.as_ref()).await;
    let empty = comments_held(new.url()).await;

    let stopping: Arc<dyn Connector> = Arc::new(StopsBeforeLinking(Arc::clone(&target)));
    let stopped = backfill(
        Arc::clone(&store),
        Arc::clone(&source),
        stopping,
        mapping.clone(),
        move_options(),
    )
    .await;
    assert!(
        stopped.is_err(),
        "the run should stop where it links comments"
    );
    // Every ticket is on the target and linked, none of its comments is, and each ticket's
    // intent (what was sent, comments and all) is still in the store.
    let tickets = read_all(source.as_ref(), RecordKind::Ticket).await;
    let copied = comments_held(new.url()).await - empty;
    assert!(copied > 0);
    let mut n_comments = 0;
    for ticket in &tickets {
        let link = store.find_link(RecordKind::Ticket, Side::Old, &ticket.id);
        assert!(link.await.unwrap().is_some(), "ticket {} linked", ticket.id);
        let key = format!("intent:{}:ticket:{}", Side::Old, ticket.id);
        assert!(store.run_state(&key).await.unwrap().is_some(), "{key} kept");
        let page = source
            .read_children(RecordKind::Comment, &ticket.id, &ReadPosition::start())
            .await
            .unwrap();
        for comment in page
            .items
            .iter()
            .filter(|o| matches!(o.record, Record::Comment(_)))
        {
            n_comments += 1;
            let link = store.find_link(RecordKind::Comment, Side::Old, &comment.id);
            assert!(
                link.await.unwrap().is_none(),
                "comment {} linked",
                comment.id
            );
        }
    }
    assert_eq!(copied, n_comments, "every comment went with its ticket");

    // The next run links them first: nothing is written twice, every comment is linked, no
    // intent is left, and the move verifies clean.
    let resumed = backfill_without_dead_letters(&store, &source, &target, &mapping).await;
    let comments = resumed.counts(RecordKind::Comment);
    assert_eq!(comments.created, 0, "{}", resumed.summary());
    assert_eq!(comments_held(new.url()).await - empty, copied);
    for ticket in &tickets {
        let key = format!("intent:{}:ticket:{}", Side::Old, ticket.id);
        assert_eq!(store.run_state(&key).await.unwrap(), None, "{key} left");
    }
    let report = verify(
        store.as_ref(),
        source.as_ref(),
        target.as_ref(),
        mapping.clone(),
        KINDS,
    )
    .await
    .unwrap();
    assert!(report.is_clean(), "{}", report.summary());
}
