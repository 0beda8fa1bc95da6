//! The bridge's read-again path, over real HTTP between the emulators: a record whose requests
//! keep failing past the connector's retries does not hold its direction up. It goes to the
//! dead letters as `READ_AGAIN` while the feed's cursor moves past it (the record after it is
//! copied), and once its platform answers again a later pass reads it by id, copies it and
//! settles its letter.

use std::sync::Arc;
use std::time::Duration;

use cutover_connect::{Connector, RetryPolicy, ZendeskConnector};
use cutover_engine::sync::{Bridge, BridgeOptions, ConflictPolicy, status};
use cutover_engine::{Mapping, READ_AGAIN};
use cutover_model::{PlatformId, PlatformKind, RecordKind, Side};
use cutover_store::{DeadLetter, DeadLetterFilter, Store};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::freshdesk_e2e::{freshdesk_connector, plan_tables};
use crate::support::{self, backfill_without_dead_letters, freshdesk_sim, zendesk_sim};

/// How long the bridge gets to reach each state (its passes run every second).
const WITHIN: Duration = Duration::from_secs(90);

/// Creates a ticket on the Zendesk emulator at `url` (requested by `requester`); its id.
pub(crate) async fn create_ticket(url: &str, subject: &str, requester: u64) -> u64 {
    let answer: Value = reqwest::Client::new()
        .post(format!("{url}/api/v2/tickets.json"))
        .basic_auth("admin@example.com/token", Some("sim-token"))
        .json(&json!({"ticket": {
            "subject": subject,
            "comment": {"body": format!("{subject}: the first message")},
            "requester_id": requester,
        }}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["ticket"]["id"].as_u64().unwrap()
}

/// Sets the Zendesk emulator's faults (`None`: clears them).
pub(crate) async fn faults(url: &str, faults: Option<Value>) {
    let client = reqwest::Client::new();
    let request = match faults {
        Some(f) => client.put(format!("{url}/_sim/faults")).json(&f),
        None => client.delete(format!("{url}/_sim/faults")),
    };
    request.send().await.unwrap().error_for_status().unwrap();
}

async fn read_again_letters(store: &dyn Store) -> Vec<DeadLetter> {
    let filter = DeadLetterFilter {
        reason: Some(READ_AGAIN.to_owned()),
        ..DeadLetterFilter::default()
    };
    store.dead_letters(&filter).await.unwrap()
}

pub(crate) async fn linked(store: &dyn Store, ticket: u64) -> bool {
    store
        .find_link(RecordKind::Ticket, Side::Old, &PlatformId::from(ticket))
        .await
        .unwrap()
        .is_some()
}

/// Waits until `done` holds, at most [`WITHIN`]; fails the test with `what` otherwise.
async fn until<F: AsyncFn() -> bool>(what: &str, done: F) {
    let deadline = tokio::time::Instant::now() + WITHIN;
    while !done().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not within {WITHIN:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_whose_reads_keep_failing_is_read_again_later_and_the_feed_moves_past_it() {
    let old_sim = zendesk_sim(21, 3).await;
    let new_sim = freshdesk_sim(22, 0).await;
    let mut config = support::zendesk_config(Side::Old, old_sim.url());
    // Retries as the connector makes them, only faster: the test is about what follows them.
    config.retry = RetryPolicy {
        base: Duration::from_millis(10),
        cap: Duration::from_millis(40),
        ..RetryPolicy::default()
    };
    let old: Arc<dyn Connector> = Arc::new(ZendeskConnector::new(config).unwrap());
    let new = freshdesk_connector(Side::New, new_sim.url());
    let mapping = Mapping::from_plan(&plan_tables(old.as_ref(), PlatformKind::Freshdesk).await);
    let (store, _dir) = support::store().await;
    backfill_without_dead_letters(&store, &old, &new, &mapping).await;

    // Two tickets opened after the backfill by a requester the backfill copied; every request
    // about the first (its comments, the ticket by id) answers 503 while the rest of the account
    // answers.
    let requester = read_requester(old.as_ref()).await;
    let failing = create_ticket(old_sim.url(), "Printer on fire", requester).await;
    let after = create_ticket(old_sim.url(), "Invoice missing", requester).await;
    assert!(!after.to_string().starts_with(&failing.to_string()));
    faults(
        old_sim.url(),
        Some(json!({
            "error_rate": 1.0,
            "error_burst": 1,
            "paths": [format!("/api/v2/tickets/{failing}")],
        })),
    )
    .await;
    // Zendesk's export leaves out its last minute, as the real one does.
    reqwest::Client::new()
        .post(format!("{}/_sim/clock", old_sim.url()))
        .json(&json!({ "advance_seconds": 61 }))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();

    let options = BridgeOptions {
        from: vec![Side::Old],
        kinds: vec![
            RecordKind::Organization,
            RecordKind::Contact,
            RecordKind::Ticket,
            RecordKind::Comment,
        ],
        poll_every: Duration::from_secs(1),
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
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(bridge.run(shutdown.clone()));

    // The ticket after the failing one is copied: the feed went on past it. The failing one is
    // in the dead letters to be read again, committed with the cursor that moved past it.
    until("the ticket after the failing one copied", async || {
        linked(store.as_ref(), after).await
    })
    .await;
    until("the failing ticket kept to be read again", async || {
        !read_again_letters(store.as_ref()).await.is_empty()
    })
    .await;
    let letters = read_again_letters(store.as_ref()).await;
    assert_eq!(letters.len(), 1, "{letters:#?}");
    let letter = &letters[0];
    assert_eq!(
        (letter.kind, letter.side, letter.source_id.clone()),
        (RecordKind::Ticket, Side::Old, PlatformId::from(failing))
    );
    assert!(
        letter.record["error"].as_str().unwrap().contains("503"),
        "{letter:#?}"
    );
    assert!(!linked(store.as_ref(), failing).await);
    let cursor = store.cursor(Side::Old, "sync:ticket").await.unwrap();
    assert!(cursor.is_some(), "the ticket feed's cursor is committed");
    // Until it is read, the direction is not caught up: it is named in flight.
    until("the failing ticket named in flight", async || {
        status::load(store.as_ref()).await.unwrap().iter().any(|s| {
            s.read_again == 1
                && s.in_flight
                    .iter()
                    .any(|n| n.contains(&format!("ticket {failing} ")) && n.contains("read again"))
        })
    })
    .await;

    // The platform answers again: a later pass reads the ticket by id, copies it, settles it.
    faults(old_sim.url(), None).await;
    until(
        "the failing ticket copied once it can be read",
        async || linked(store.as_ref(), failing).await,
    )
    .await;
    until("its letter settled", async || {
        read_again_letters(store.as_ref()).await.is_empty()
    })
    .await;
    until("nothing in flight", async || {
        status::load(store.as_ref())
            .await
            .unwrap()
            .iter()
            .all(|s| s.in_flight.is_empty() && s.read_again == 0)
    })
    .await;
    shutdown.cancel();
    running.await.unwrap().unwrap();
}

/// A contact of the old side that the backfill copied.
pub(crate) async fn read_requester(old: &dyn Connector) -> u64 {
    let contacts = support::read_all(old, RecordKind::Contact).await;
    let first = contacts
        .first()
        .expect("the generated account has contacts");
    first.id.to_string().parse().unwrap()
}
