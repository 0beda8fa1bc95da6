//! Issue 14, item 8's first test: mixed-channel contacts through the gateway of `cutover serve`
//! (e-mail inbound parse, web form, chat, signed WhatsApp), posted without pause by a fixed set
//! of customers, some writing many times, while the plan's first wave switches forward
//! (`cutover wave start 1`, behind its gates) and back (`cutover rollback 1`) five times, the
//! bridge running, Freshdesk to Freshdesk, on SQLite and on PostgreSQL. Every POST is answered
//! 2xx; every accepted contact is delivered exactly once, on one side, to its customer's one
//! conversation there, and after a final `cutover sync drain` exactly once on the other side
//! too, on that conversation's linked copy; a customer outside the wave's share never reaches
//! the new side; every rollback report shows the gateway's contacts on the old side; and
//! `cutover audit verify` passes. With the new platform down during a wave, contacts wait and
//! arrive once it is back, exactly once.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use cutover_model::{PlatformId, RecordKind, Side};
use cutover_runtime::routing::customer_bucket;
use cutover_runtime::switch::{Step, Switch};
use cutover_sim::freshdesk;
use cutover_store::{Contact, ContactId, ContactStatus, Store};
use serde_json::{Value, json};

use crate::bridge::{Platform, read};
use crate::gateway::{SECRET, contact_ids, gateway_plan, inbound_parse, post, sign, whatsapp_body};
use crate::switch::bridge_ready;

/// Freshdesk on both sides: no export minute to wait out on a drain.
type Bridge = crate::bridge::Bridge<freshdesk::App, freshdesk::App>;

const CHANNELS: [&str; 4] = ["email", "web", "chat", "whatsapp"];
const ROUNDS: usize = 5;

/// The plan's first wave takes every message channel and half the customers.
fn wave_plan(plan: &std::path::Path) {
    gateway_plan(plan);
    let text = std::fs::read_to_string(plan).unwrap();
    let edited = text
        .replacen(
            "name = \"pilot\"\nchannels = [\"web\"]",
            "name = \"pilot\"\nchannels = [\"email\", \"web\", \"chat\", \"whatsapp\"]",
            1,
        )
        .replacen("customers = \"5%\"", "customers = \"50%\"", 1);
    assert!(
        edited.contains("\"chat\", \"whatsapp\"]") && edited.contains("customers = \"50%\""),
        "{edited}"
    );
    std::fs::write(plan, edited).unwrap();
}

/// The customer's id as the channel's provider names them.
fn customer(channel: &str, i: usize) -> String {
    match channel {
        "email" => format!("mail{i}@example.com"),
        "web" => format!("form{i}@example.com"),
        "chat" => format!("visitor-{i}"),
        _ => format!("4477009001{i:02}"),
    }
}

/// Two customers of each channel inside the wave's share and two outside it.
fn customers() -> Vec<(&'static str, String)> {
    let mut chosen = Vec::new();
    for channel in CHANNELS {
        let (mut inside, mut outside) = (0, 0);
        for i in 0.. {
            let who = customer(channel, i);
            if customer_bucket(&who) < 50.0 && inside < 2 {
                inside += 1;
                chosen.push((channel, who));
            } else if customer_bucket(&who) >= 50.0 && outside < 2 {
                outside += 1;
                chosen.push((channel, who));
            }
            if inside == 2 && outside == 2 {
                break;
            }
        }
    }
    chosen
}

/// One POST of contact `n`: its channel's provider payload, with `marker` in its text.
async fn post_one(base: &str, n: usize, channel: &str, who: &str, marker: &str) -> (u16, String) {
    let subject = format!("Conversation of {who} on {channel}");
    let text = format!("{marker} a message from {who}");
    let (status, answer) = match channel {
        "email" => {
            let (ct, body) = inbound_parse(
                &format!("Customer <{who}>"),
                &subject,
                &text,
                &format!("<gw-{n}@mail.example.com>"),
            );
            post(base, "email", &ct, body, &[]).await
        }
        "web" => {
            let body = json!({ "id": format!("gw-{n}"), "email": who, "subject": subject,
                               "message": text });
            post(
                base,
                "web",
                "application/json",
                serde_json::to_vec(&body).unwrap(),
                &[],
            )
            .await
        }
        "chat" => {
            let body = json!({ "id": format!("gw-{n}"), "user": { "id": who, "name": who },
                               "text": text });
            post(
                base,
                "chat",
                "application/json",
                serde_json::to_vec(&body).unwrap(),
                &[],
            )
            .await
        }
        _ => {
            let body = whatsapp_body(who, &format!("wamid.gw{n}"), &text);
            let signature = sign(&body, SECRET);
            post(
                base,
                "whatsapp",
                "application/json",
                body,
                &[("x-hub-signature-256", signature)],
            )
            .await
        }
    };
    (status.as_u16(), answer)
}

/// A contact the poster sent: its marker and what the gateway answered.
struct Posted {
    marker: String,
    status: u16,
    answer: String,
}

/// Posts contacts round the customers, one every `every`, until `stop`.
fn poster(
    base: String,
    stop: Arc<AtomicBool>,
    every: Duration,
) -> tokio::task::JoinHandle<Vec<Posted>> {
    tokio::spawn(async move {
        let who = customers();
        let mut posted = Vec::new();
        let mut n = 0;
        while !stop.load(Ordering::Relaxed) {
            let (channel, customer) = &who[n % who.len()];
            let marker = format!("gw-msg-{n:05}:");
            let (status, answer) = post_one(&base, n, channel, customer, &marker).await;
            posted.push(Posted {
                marker,
                status,
                answer,
            });
            n += 1;
            tokio::time::sleep(every).await;
        }
        posted
    })
}

/// Where each marker appears on one Freshdesk side: marker → the tickets (one entry per
/// appearance, in the description or a conversation).
async fn markers_on(url: &str) -> BTreeMap<String, Vec<String>> {
    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (id, _) in freshdesk::App::versions(url).await {
        let ticket: Value = freshdesk::App::get(url, &format!("tickets/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let notes: Value = freshdesk::App::get(url, &format!("tickets/{id}/conversations"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut texts = vec![
            ticket["description_text"]
                .as_str()
                .or(ticket["description"].as_str())
                .unwrap_or_default()
                .to_owned(),
        ];
        for note in notes.as_array().unwrap() {
            texts.push(
                note["body_text"]
                    .as_str()
                    .or(note["body"].as_str())
                    .unwrap_or_default()
                    .to_owned(),
            );
        }
        for text in texts {
            for (at, _) in text.match_indices("gw-msg-") {
                let marker = text[at..].chars().take(13).collect::<String>();
                seen.entry(marker).or_default().push(id.clone());
            }
        }
    }
    seen
}

/// Every contact in the store, once the gateway has delivered them all (or the test fails).
async fn all_delivered(store: &dyn Store, log: &std::path::Path) -> Vec<Contact> {
    let start = std::time::Instant::now();
    loop {
        let contacts = store.contacts(None, 10_000).await.unwrap();
        if contacts
            .iter()
            .all(|c| c.status == ContactStatus::Delivered)
        {
            return contacts;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "not all delivered: {:?}\n--- serve's log\n{}",
            contacts
                .iter()
                .filter(|c| c.status != ContactStatus::Delivered)
                .collect::<Vec<_>>(),
            read(log)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The old side's id of a ticket on `side`: itself on the old side, its link's on the new.
async fn old_id_of(store: &dyn Store, side: Side, ticket: &PlatformId) -> String {
    match side {
        Side::Old => ticket.to_string(),
        Side::New => store
            .find_link(RecordKind::Ticket, Side::New, ticket)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("new ticket {ticket} has no copy on the old side"))
            .link
            .old_id
            .to_string(),
    }
}

async fn other_id_of(store: &dyn Store, side: Side, ticket: &PlatformId) -> String {
    let other = match side {
        Side::Old => Side::New,
        Side::New => Side::Old,
    };
    let link = store
        .find_link(RecordKind::Ticket, side, ticket)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{side} ticket {ticket} has no copy on the {other} side"))
        .link;
    match other {
        Side::Old => link.old_id.to_string(),
        Side::New => link.new_id.to_string(),
    }
}

/// The store's contact id → the marker it carries.
fn marker_of(contact: &Contact) -> String {
    let text = contact.payload.to_string();
    let at = text
        .find("gw-msg-")
        .unwrap_or_else(|| panic!("no marker in {contact:?}"));
    text[at..at + 13].to_owned()
}

#[expect(
    clippy::print_stderr,
    reason = "how many contacts each side took, for whoever reads the run"
)]
async fn waves_forward_and_back_under_gateway_traffic(postgres: bool) {
    let mv = Bridge::backfilled_with(postgres, 2).await;
    wave_plan(&mv.dir.path().join("cutover.toml"));
    mv.expect(0, &["plan", "check"]).await;
    let served = mv.serve(0).await;
    bridge_ready(&mv).await;
    // The gates that do not change between rounds: a clean verification and a drill with
    // this plan; the sign-off is asked again before each start (the wave changed phase).
    mv.expect(0, &["verify"]).await;
    mv.expect(0, &["drill", "--wave", "1"]).await;

    let stop = Arc::new(AtomicBool::new(false));
    let posting = poster(served.url.clone(), stop.clone(), Duration::from_millis(40));
    let mut reported = BTreeSet::new();
    for round in 0..ROUNDS {
        let (code, out, err) = mv.cutover(&["go", "--wave", "1", "--as", "ops-lead"]).await;
        assert_eq!(code, 0, "round {round}: not ready\n{out}\n{err}");
        let out = mv
            .expect(0, &["wave", "start", "1", "--as", "alice", "--json"])
            .await;
        let done: Switch = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(done.step, Step::Done, "round {round}: {out}");
        tokio::time::sleep(Duration::from_millis(700)).await;
        let (code, out, err) = mv
            .cutover(&["rollback", "1", "--as", "alice", "--json"])
            .await;
        let report: Value = serde_json::from_str(out.trim())
            .unwrap_or_else(|e| panic!("round {round}: {e}: {out}\n{err}"));
        assert_eq!(code, 0, "round {round}: {report:#}\n{err}");
        assert!(
            report["routing_flip_ms"].as_u64().unwrap() <= 1000,
            "{report:#}"
        );
        for taken in report["contacts"].as_array().unwrap() {
            assert_eq!(taken["on_old"], true, "round {round}: {report:#}");
            if let Some(id) = taken["contact"].as_i64() {
                reported.insert(id);
                assert!(!taken["old_id"].as_str().unwrap().is_empty(), "{taken}");
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let posted = posting.await.unwrap();

    // Zero failed requests.
    let failed: Vec<_> = posted
        .iter()
        .filter(|p| !(200..300).contains(&p.status))
        .map(|p| (&p.marker, p.status, &p.answer))
        .collect();
    assert!(failed.is_empty(), "failed gateway requests: {failed:?}");
    let accepted: BTreeSet<ContactId> = posted
        .iter()
        .flat_map(|p| contact_ids(&p.answer))
        .map(|(id, repeat)| {
            assert!(!repeat, "a new message was taken for a repeat: {id}");
            id
        })
        .collect();
    assert_eq!(accepted.len(), posted.len());

    // Zero lost contacts: each delivered once, on one side, and through the bridge on the other.
    let store = cutover_store::open(&mv.store.parse().unwrap())
        .await
        .unwrap();
    let contacts = all_delivered(store.as_ref(), &served.log).await;
    assert_eq!(
        contacts.iter().map(|c| c.id).collect::<BTreeSet<_>>(),
        accepted
    );
    mv.expect(0, &["sync", "drain", "--timeout", "60s"]).await;
    let on_old = markers_on(mv.old.url()).await;
    let on_new = markers_on(mv.new.url()).await;
    let mut conversations: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    let mut sides = BTreeMap::new();
    for contact in &contacts {
        let side = contact.side.unwrap();
        let ticket = contact.ticket_id.clone().unwrap();
        *sides.entry(side).or_insert(0) += 1;
        if customer_bucket(&contact.customer) >= 50.0 {
            assert_eq!(side, Side::Old, "outside the wave's share: {contact:?}");
        }
        let marker = marker_of(contact);
        let other = other_id_of(store.as_ref(), side, &ticket).await;
        let (here, there) = match side {
            Side::Old => (&on_old, &on_new),
            Side::New => (&on_new, &on_old),
        };
        assert_eq!(
            here.get(&marker),
            Some(&vec![ticket.to_string()]),
            "{contact:?} on its side"
        );
        assert_eq!(
            there.get(&marker),
            Some(&vec![other]),
            "{contact:?} through the bridge"
        );
        conversations
            .entry((contact.channel.clone(), contact.customer.clone()))
            .or_default()
            .insert(old_id_of(store.as_ref(), side, &ticket).await);
    }
    // Every contact the new side took is in a rollback report, shown on the old side.
    let on_new_side: BTreeSet<i64> = contacts
        .iter()
        .filter(|c| c.side == Some(Side::New))
        .map(|c| c.id.0)
        .collect();
    assert_eq!(reported, on_new_side, "the rollback reports");
    // Both sides took contacts: the wave moved customers each round.
    assert!(
        sides.get(&Side::New).is_some_and(|n| *n > 0)
            && sides.get(&Side::Old).is_some_and(|n| *n > 0),
        "{sides:?}"
    );
    // No conversation split: one ticket (and its linked copy) per customer and channel.
    let split: Vec<_> = conversations.iter().filter(|(_, t)| t.len() != 1).collect();
    assert!(split.is_empty(), "split conversations: {split:?}");
    assert_eq!(conversations.len(), customers().len());
    eprintln!(
        "{} contacts over {ROUNDS} rounds: {sides:?}, {} in rollback reports",
        contacts.len(),
        reported.len()
    );
    mv.expect(0, &["audit", "verify"]).await;
    store.close().await;
    served.terminate().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn waves_switch_five_times_under_gateway_traffic_on_sqlite() {
    waves_forward_and_back_under_gateway_traffic(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn waves_switch_five_times_under_gateway_traffic_on_postgres() {
    waves_forward_and_back_under_gateway_traffic(true).await;
}

/// Sets (or, with `None`, clears) the new emulator's faults.
async fn new_side_faults(mv: &Bridge, faults: Option<Value>) {
    let client = reqwest::Client::new();
    let url = format!("{}/_sim/faults", mv.new.url());
    let answer = match faults {
        Some(faults) => client.put(url).json(&faults).send().await.unwrap(),
        None => client.delete(url).send().await.unwrap(),
    };
    assert!(answer.status().is_success(), "{:?}", answer.text().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn contacts_wait_for_the_new_side_down_during_a_wave_and_arrive_once() {
    let mv = Bridge::backfilled_with(false, 1).await;
    wave_plan(&mv.dir.path().join("cutover.toml"));
    let served = mv.serve(0).await;
    bridge_ready(&mv).await;
    mv.expect(0, &["verify"]).await;
    mv.expect(0, &["drill", "--wave", "1"]).await;
    mv.expect(0, &["go", "--wave", "1", "--as", "ops-lead"])
        .await;
    mv.expect(0, &["wave", "start", "1", "--as", "alice"]).await;
    new_side_faults(
        &mv,
        Some(json!({ "error_rate": 1.0, "error_burst": 1_000_000, "error_status": 503 })),
    )
    .await;

    // Customers of the wave write: one twice, one once.
    let inside: Vec<(&str, String)> = customers()
        .into_iter()
        .filter(|(_, who)| customer_bucket(who) < 50.0)
        .take(2)
        .collect();
    let mut ids = Vec::new();
    for (n, (channel, who)) in [&inside[0], &inside[0], &inside[1]].into_iter().enumerate() {
        let marker = format!("gw-msg-{n:05}:");
        let (status, answer) = post_one(&served.url, n, channel, who, &marker).await;
        assert_eq!(status, 202, "{answer}");
        ids.push((contact_ids(&answer)[0].0, marker));
    }
    let store = cutover_store::open(&mv.store.parse().unwrap())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    // All wait; the first of each customer was tried and failed, the second waits its turn
    // (a customer's contacts go in order).
    for (n, (id, _)) in ids.iter().enumerate() {
        let waiting = store.contact(*id).await.unwrap().unwrap();
        assert_eq!(waiting.status, ContactStatus::Pending, "{waiting:?}");
        assert_eq!(waiting.last_error.is_some(), n != 1, "{waiting:?}");
    }

    new_side_faults(&mv, None).await;
    let contacts = all_delivered(store.as_ref(), &served.log).await;
    assert_eq!(contacts.len(), ids.len());
    let on_new = markers_on(mv.new.url()).await;
    for contact in &contacts {
        assert_eq!(contact.side, Some(Side::New), "{contact:?}");
        let marker = marker_of(contact);
        assert!(ids.iter().any(|(id, m)| *id == contact.id && *m == marker));
        assert_eq!(
            on_new.get(&marker),
            Some(&vec![contact.ticket_id.clone().unwrap().to_string()]),
            "{contact:?}"
        );
    }
    // The second contact of the first customer followed up on the ticket the first opened.
    assert!(contacts[1].follow_up, "{:?}", contacts[1]);
    assert_eq!(contacts[1].ticket_id, contacts[0].ticket_id);
    // The rollback's report names each contact, on the old side.
    let out = mv.expect(0, &["rollback", "1", "--as", "alice"]).await;
    assert!(
        out.contains("3 gateway contact(s) delivered to the new side during the wave"),
        "{out}"
    );
    for contact in &contacts {
        let line = format!(
            "contact {} ({} from {}, {}) -> new ticket {} -> old ticket ",
            contact.id,
            contact.channel,
            contact.customer,
            if contact.follow_up {
                "follow-up"
            } else {
                "new ticket"
            },
            contact.ticket_id.clone().unwrap()
        );
        let shown = out
            .lines()
            .find(|l| l.contains(&line))
            .unwrap_or_else(|| panic!("{line} not in\n{out}"));
        assert!(shown.contains(": on the old side ("), "{shown}");
    }
    mv.expect(0, &["audit", "verify"]).await;
    store.close().await;
    served.terminate().await;
}
