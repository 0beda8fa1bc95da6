//! The bridge under a flood of webhooks, over real HTTP between the emulators: records named
//! faster than they can be read do not keep a feed pass from its end. Each gap of the pass
//! serves a bounded number of them, so the pass reads its feeds through, copies what they show
//! and writes its status while the names keep coming.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cutover_connect::{ChangeHint, Connector, ZendeskConnector};
use cutover_engine::Mapping;
use cutover_engine::sync::{Bridge, BridgeOptions, ConflictPolicy, status};
use cutover_model::{PlatformId, PlatformKind, RecordKind, Side};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::freshdesk_e2e::{freshdesk_connector, plan_tables};
use crate::read_again::{create_ticket, faults, linked, read_requester};
use crate::support::{self, backfill_without_dead_letters, freshdesk_sim, zendesk_sim};

/// Tickets opened after the backfill: the feed shows them in several parts.
const OPENED: usize = 40;
/// Ids named at a time by the flood, none of a ticket that exists.
const NAMED_AT_A_TIME: u64 = 100;
/// How long the pass gets to reach its end under the flood.
const WITHIN: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_pass_reaches_its_end_and_writes_its_status_while_webhooks_keep_naming_records() {
    let old_sim = zendesk_sim(31, 3).await;
    let new_sim = freshdesk_sim(32, 0).await;
    let old: Arc<dyn Connector> =
        Arc::new(ZendeskConnector::new(support::zendesk_config(Side::Old, old_sim.url())).unwrap());
    let new = freshdesk_connector(Side::New, new_sim.url());
    let mapping = Mapping::from_plan(&plan_tables(old.as_ref(), PlatformKind::Freshdesk).await);
    let (store, _dir) = support::store().await;
    backfill_without_dead_letters(&store, &old, &new, &mapping).await;

    let requester = read_requester(old.as_ref()).await;
    let mut opened = Vec::new();
    for n in 0..OPENED {
        opened.push(create_ticket(old_sim.url(), &format!("Question {n}"), requester).await);
    }
    // Zendesk's export leaves out its last minute, as the real one does.
    reqwest::Client::new()
        .post(format!("{}/_sim/clock", old_sim.url()))
        .json(&json!({ "advance_seconds": 61 }))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    // Every request of the old side takes a while: the named records cost time to read.
    faults(
        old_sim.url(),
        Some(json!({ "latency": { "distribution": "fixed", "ms": 20 } })),
    )
    .await;

    let options = BridgeOptions {
        from: vec![Side::Old],
        kinds: vec![
            RecordKind::Organization,
            RecordKind::Contact,
            RecordKind::Ticket,
            RecordKind::Comment,
        ],
        // Only the first pass reads the feeds within the test's time.
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
    // The flood: webhooks name tickets far faster than they can be read, from before the
    // first pass starts until the test ends (ids no ticket has: each read finds nothing).
    let stop = CancellationToken::new();
    let named = Arc::new(AtomicU64::new(0));
    let flood = {
        let (stop, named, handle) = (stop.clone(), Arc::clone(&named), handle.clone());
        tokio::spawn(async move {
            let mut next = 10_000_000u64;
            while !stop.is_cancelled() {
                let hints = (next..next + NAMED_AT_A_TIME).map(|id| ChangeHint {
                    kind: RecordKind::Ticket,
                    id: PlatformId::from(id),
                });
                next += NAMED_AT_A_TIME;
                named.fetch_add(handle.name(Side::Old, hints) as u64, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(bridge.run(shutdown.clone()));

    // The first pass ends, its status written (the time its feeds prove), while names keep
    // coming; every ticket its feed showed is copied.
    let deadline = tokio::time::Instant::now() + WITHIN;
    loop {
        let statuses = status::load(store.as_ref()).await.unwrap();
        if statuses
            .iter()
            .any(|s| s.from == Side::Old && s.caught_up_to.is_some())
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the feed pass did not reach its end within {WITHIN:?} under the flood \
             ({} records named)",
            named.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(!stop.is_cancelled(), "the flood ran through the pass");
    for ticket in &opened {
        assert!(
            linked(store.as_ref(), *ticket).await,
            "ticket {ticket} the feed showed is copied"
        );
    }
    stop.cancel();
    flood.await.unwrap();
    shutdown.cancel();
    running.await.unwrap().unwrap();
}
