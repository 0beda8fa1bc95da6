//! Undo of what the bridge wrote into a ticket cutover did not create: the comment it added
//! there is in the ledger with its ticket, and `cleanup` removes it as the platform can
//! (Freshdesk deletes the note; Zendesk, which deletes no comment, redacts it whole), over real
//! HTTP against the emulators; the ticket stays.

use std::sync::Arc;

use cutover_connect::{CommentRemoval, Connector};
use cutover_engine::cleanup;
use cutover_engine::progress::ProgressSink;
use cutover_engine::{Applier, Mapping, Outcome};
use cutover_model::records::{Comment, Record};
use cutover_model::{Fingerprint, RecordKind, Side};
use cutover_store::Link;
use serde_json::Value;

use crate::support::{
    freshdesk, freshdesk_at, freshdesk_sim, id, observed, plan, read_all, store, t, zendesk,
    zendesk_at, zendesk_sim,
};

/// The text of the comment the bridge adds.
const SAID: &str = "Refund sent to the card ending 4242.";

/// The comments (Zendesk) or conversations (Freshdesk) of ticket `ticket`, from the emulator's
/// own API.
async fn comments_of(platform: &str, url: &str, ticket: &str) -> Vec<Value> {
    let client = reqwest::Client::new();
    let (path, request) = match platform {
        "zendesk" => {
            let path = format!("{url}/api/v2/tickets/{ticket}/comments.json");
            let request = client.get(&path);
            (
                path,
                request.basic_auth("admin@example.com/token", Some("sim-token")),
            )
        }
        _ => {
            let path = format!("{url}/api/v2/tickets/{ticket}/conversations");
            let request = client.get(&path);
            (path, request.basic_auth("sim-key", Some("X")))
        }
    };
    let answer = request.send().await.unwrap();
    assert!(
        answer.status().is_success(),
        "GET {path}: {}",
        answer.status()
    );
    let body: Value = answer.json().await.unwrap();
    match platform {
        "zendesk" => body["comments"].as_array().unwrap().clone(),
        _ => body.as_array().unwrap().clone(),
    }
}

/// Adds a comment to a ticket the `target` account held before (linked as found), then cleans
/// up and checks the comment is removed as the platform can, and nothing else.
async fn comment_then_cleanup(
    platform: &str,
    url: &str,
    target: Arc<dyn Connector>,
    source: Arc<dyn Connector>,
) {
    let (store, _dir) = store().await;
    let theirs = read_all(target.as_ref(), RecordKind::Ticket).await;
    let ticket = theirs
        .first()
        .expect("the account holds tickets")
        .id
        .clone();
    let agents = read_all(target.as_ref(), RecordKind::Agent).await;
    let agent = agents.first().expect("the account has agents").id.clone();
    let fp = Fingerprint::of(&"found").unwrap();
    for (kind, old, new) in [
        (RecordKind::Ticket, id(40), ticket.clone()),
        (RecordKind::Agent, id(6), agent),
    ] {
        store
            .link_if_absent(&Link::new(kind, old, new, fp, Side::Old))
            .await
            .unwrap();
    }
    let applier = Applier::new(
        Arc::clone(&store),
        source,
        Arc::clone(&target),
        Mapping::from_plan(&plan().mapping),
        false,
    );
    let comment = Record::Comment(Comment {
        ticket: id(40),
        author: id(6),
        public: false,
        html_body: format!("<p>{SAID}</p>"),
        created_at: t(5),
    });
    let outcome = applier
        .apply(&observed(Side::Old, 70, comment))
        .await
        .unwrap();
    assert!(matches!(outcome, Outcome::Applied(_)), "{outcome:?}");
    applier.commit(Vec::new()).await.unwrap();
    let written = store
        .find_link(RecordKind::Comment, Side::Old, &id(70))
        .await
        .unwrap()
        .expect("the comment is linked")
        .link
        .new_id;
    // Both platforms answer a comment's id as a number.
    let written_id = Value::from(written.as_str().parse::<u64>().unwrap());
    let is_written = |c: &Value| c["id"] == written_id;
    let before = comments_of(platform, url, ticket.as_str()).await;
    assert!(before.iter().any(is_written));

    let plan = cleanup::plan(store.as_ref(), Side::New)
        .await
        .unwrap()
        .sort_out(target.as_ref());
    // Only the comment: the ticket was the account's own.
    assert_eq!(plan.kinds.len(), 1, "{plan:?}");
    assert_eq!(plan.kinds[0].kind, RecordKind::Comment);
    assert_eq!(plan.kinds[0].ids, vec![written.clone()]);
    assert!(plan.left.is_empty(), "{plan:?}");
    let report = cleanup::run(
        Arc::clone(&store),
        Arc::clone(&target),
        &plan,
        "test",
        &ProgressSink::none(),
    )
    .await
    .unwrap();
    assert_eq!(report.n_failed(), 0, "{report:?}");

    let after = comments_of(platform, url, ticket.as_str()).await;
    let kept = after.iter().find(|c| is_written(c));
    match target.comment_removal() {
        CommentRemoval::Delete => {
            assert_eq!(report.deleted.get(&RecordKind::Comment), Some(&1));
            assert!(kept.is_none(), "the note is gone: {after:?}");
            assert_eq!(after.len(), before.len() - 1);
        }
        CommentRemoval::Redact => {
            assert_eq!(report.redacted, 1, "{report:?}");
            let kept = kept.expect("Zendesk keeps a redacted comment");
            let html = kept["html_body"].as_str().unwrap();
            assert!(
                !html.contains("4242") && html.contains('\u{2587}'),
                "{html}"
            );
            assert!(!kept["body"].as_str().unwrap().contains("Refund"));
            assert_eq!(after.len(), before.len());
        }
        CommentRemoval::Keep => panic!("both platforms remove a comment"),
    }
    // Every other comment is as it was, and the ledger is empty: a second cleanup has nothing.
    let others = |list: &[Value]| -> Vec<Value> {
        list.iter().filter(|c| !is_written(c)).cloned().collect()
    };
    assert_eq!(others(&after), others(&before));
    let again = cleanup::plan(store.as_ref(), Side::New).await.unwrap();
    assert_eq!(again.total(), 0, "{again:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_note_added_to_a_freshdesk_ticket_cutover_did_not_create_is_deleted() {
    let sim = freshdesk_sim(41, 2).await;
    let target = freshdesk_at(Side::New, sim.url());
    comment_then_cleanup("freshdesk", sim.url(), target, zendesk(Side::Old)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comment_added_to_a_zendesk_ticket_cutover_did_not_create_is_redacted() {
    let sim = zendesk_sim(42, 2).await;
    let target = zendesk_at(Side::New, sim.url());
    comment_then_cleanup("zendesk", sim.url(), target, freshdesk(Side::Old)).await;
}
