//! What the bridge spends on the platform it writes to, over real HTTP between two Zendesk
//! emulators: a change that set a ticket's fields and added a comment is written in one
//! request (`PUT /tickets/{id}` with the fields, the comment and `safe_update`), the
//! comment linked from the update's audit, where it took two (the update, then the comment).

use std::sync::Arc;
use std::time::Duration;

use cutover_connect::ChangeHint;
use cutover_engine::sync::{Bridge, BridgeOptions, ConflictPolicy, status};
use cutover_model::{PlatformId, RecordKind, Side};
use cutover_store::Store;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::read_again::{create_ticket, read_requester};
use crate::support::{self, backfill_without_dead_letters, zendesk_at, zendesk_sim};
use crate::zendesk_e2e::identity_mapping;

/// How long the bridge gets to reach each state.
const WITHIN: Duration = Duration::from_secs(60);

async fn until<F: AsyncFn() -> bool>(what: &str, done: F) {
    let deadline = tokio::time::Instant::now() + WITHIN;
    while !done().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not within {WITHIN:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn copy_of(store: &dyn Store, ticket: u64) -> Option<PlatformId> {
    store
        .find_link(RecordKind::Ticket, Side::Old, &PlatformId::from(ticket))
        .await
        .unwrap()
        .map(|stored| stored.link.new_id)
}

async fn get(url: &str, path: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{url}{path}"))
        .basic_auth("admin@example.com/token", Some("sim-token"))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_of_fields_with_a_comment_is_written_in_one_request() {
    let old_sim = zendesk_sim(41, 2).await;
    let new_sim = zendesk_sim(42, 0).await;
    let old = zendesk_at(Side::Old, old_sim.url());
    let new = zendesk_at(Side::New, new_sim.url());
    let mapping = identity_mapping(old.as_ref()).await;
    let (store, _dir) = support::store().await;
    backfill_without_dead_letters(&store, &old, &new, &mapping).await;
    let requester = read_requester(old.as_ref()).await;
    let ticket = create_ticket(old_sim.url(), "Printer on fire", requester).await;

    let options = BridgeOptions {
        from: vec![Side::Old],
        kinds: vec![
            RecordKind::Organization,
            RecordKind::Contact,
            RecordKind::Ticket,
            RecordKind::Comment,
        ],
        // Only the first pass reads the feeds: the rest is what the records named cost.
        poll_every: Duration::from_secs(3600),
        conflicts: ConflictPolicy::default(),
        intake: None,
    };
    let bridge = Bridge::new(
        Arc::clone(&store),
        Arc::clone(&old),
        Arc::clone(&new),
        mapping,
        None,
        options,
    );
    let handle = bridge.handle();
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(bridge.run(shutdown.clone()));
    let hint = ChangeHint {
        kind: RecordKind::Ticket,
        id: PlatformId::from(ticket),
    };
    handle.name(Side::Old, [hint.clone()]);
    until("the new ticket copied", async || {
        copy_of(store.as_ref(), ticket).await.is_some()
    })
    .await;
    until("the first pass over", async || {
        status::load(store.as_ref())
            .await
            .unwrap()
            .iter()
            .any(|s| s.from == Side::Old && s.caught_up_to.is_some())
    })
    .await;
    let copy = copy_of(store.as_ref(), ticket).await.unwrap();

    // An agent answers with a private note and sets the ticket pending, in one change.
    let requests_before = new.capabilities().budget.requests;
    reqwest::Client::new()
        .put(format!("{}/api/v2/tickets/{ticket}.json", old_sim.url()))
        .basic_auth("admin@example.com/token", Some("sim-token"))
        .json(&json!({"ticket": {
            "status": "pending",
            "comment": {"body": "Looking into it.", "public": false},
        }}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    handle.name(Side::Old, [hint]);
    let comments_path = format!("/api/v2/tickets/{copy}/comments.json");
    until("the note and the status carried", async || {
        let comments = get(new_sim.url(), &comments_path).await;
        let copied = get(new_sim.url(), &format!("/api/v2/tickets/{copy}.json")).await;
        comments["comments"].as_array().map_or(0, Vec::len) == 2
            && copied["ticket"]["status"] == "pending"
    })
    .await;
    until("the note linked", async || {
        let comments = get(new_sim.url(), &comments_path).await;
        let note = comments["comments"][1]["id"].as_u64().unwrap();
        store
            .find_link(RecordKind::Comment, Side::New, &PlatformId::from(note))
            .await
            .unwrap()
            .is_some()
    })
    .await;
    assert_eq!(
        new.capabilities().budget.requests - requests_before,
        1,
        "the status and the note go in one request to the new side"
    );
    let note = &get(new_sim.url(), &comments_path).await["comments"][1];
    assert_eq!(note["public"], false, "{note}");
    assert!(
        note["body"].as_str().unwrap().contains("Looking into it."),
        "{note}"
    );
    shutdown.cancel();
    running.await.unwrap().unwrap();
}
