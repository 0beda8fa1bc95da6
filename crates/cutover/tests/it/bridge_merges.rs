//! Merges carried by the bridge (issue 13, item 3): a ticket merged into another on one side is
//! merged into the copy of that ticket on the other side, once, and not sent back. Both
//! directions of the backfill (Zendesk to Freshdesk, Freshdesk to Zendesk); on each, merges made
//! on both sides by their own APIs: one of tickets the bridge has copied already (carried as a
//! merge of the copies), one of a ticket merged moments after it was opened (its copy is made
//! open and merged), one on the new side. Then drain, the merge notes counted on every target
//! (one each: no echo), both sides standing still, and verify clean.

use std::time::{Duration, Instant};

use cutover_model::{PlatformId, RecordKind, Side};
use cutover_sim::{freshdesk, zendesk};
use serde_json::{Value, json};

use crate::bridge::{Bridge, Platform, Served, assert_not_carried_only, read};

/// How long a change may take to be carried before the test gives up.
const CARRY_LIMIT: Duration = Duration::from_secs(90);

/// A platform whose tickets the test opens and merges by its own API, and whose merges it reads.
trait Merging: Platform {
    fn client(method: reqwest::Method, url: &str, path: &str) -> reqwest::RequestBuilder;

    /// Opens a ticket; answers its id.
    async fn open(url: &str, subject: &str) -> u64;

    /// Merges `source` into `into`.
    async fn merge(url: &str, into: u64, source: u64);

    /// The ticket `id` was merged into, as its own API shows it.
    async fn merged_into(url: &str, id: u64) -> Option<u64>;

    /// How many merge notes ticket `id` holds (on a target: one per merge into it).
    async fn merge_notes(url: &str, id: u64) -> usize;
}

async fn json_of(request: reqwest::RequestBuilder) -> Value {
    let answer = request.send().await.unwrap();
    let status = answer.status();
    let text = answer.text().await.unwrap();
    assert!(status.is_success(), "{status}: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

impl Merging for zendesk::App {
    fn client(method: reqwest::Method, url: &str, path: &str) -> reqwest::RequestBuilder {
        reqwest::Client::new()
            .request(method, format!("{url}/api/v2/{path}"))
            .basic_auth("admin@example.com/token", Some("sim-token"))
    }

    async fn open(url: &str, subject: &str) -> u64 {
        let body = json!({"ticket": {"subject": subject, "comment": {"body": format!("{subject}, please")},
            "requester": {"name": "Mia Merge", "email": "mia.merge@example.com"}}});
        let made =
            json_of(Self::client(reqwest::Method::POST, url, "tickets.json").json(&body)).await;
        made["ticket"]["id"].as_u64().unwrap()
    }

    async fn merge(url: &str, into: u64, source: u64) {
        let path = format!("tickets/{into}/merge.json");
        let job = json_of(
            Self::client(reqwest::Method::POST, url, &path).json(&json!({"ids": [source]})),
        )
        .await;
        assert_eq!(job["job_status"]["status"], "queued", "{job}");
    }

    async fn merged_into(url: &str, id: u64) -> Option<u64> {
        let t = json_of(Self::client(
            reqwest::Method::GET,
            url,
            &format!("tickets/{id}.json"),
        ))
        .await;
        let tagged = t["ticket"]["tags"]
            .as_array()
            .unwrap()
            .contains(&json!("closed_by_merge"));
        if !tagged || t["ticket"]["status"] != "closed" {
            return None;
        }
        let c = json_of(Self::client(
            reqwest::Method::GET,
            url,
            &format!("tickets/{id}/comments.json"),
        ))
        .await;
        c["comments"]
            .as_array()
            .unwrap()
            .iter()
            .rev()
            .find_map(|c| c["via"]["source"]["to"]["ticket_id"].as_u64())
    }

    async fn merge_notes(url: &str, id: u64) -> usize {
        let c = json_of(Self::client(
            reqwest::Method::GET,
            url,
            &format!("tickets/{id}/comments.json"),
        ))
        .await;
        c["comments"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["via"]["source"]["rel"] == "merge")
            .count()
    }
}

impl Merging for freshdesk::App {
    fn client(method: reqwest::Method, url: &str, path: &str) -> reqwest::RequestBuilder {
        reqwest::Client::new()
            .request(method, format!("{url}/api/v2/{path}"))
            .basic_auth("sim-token", Some("X"))
    }

    async fn open(url: &str, subject: &str) -> u64 {
        let body = json!({"email": "max.merge@example.com", "subject": subject,
            "description": format!("{subject}, please"), "status": 2, "priority": 1});
        let made = json_of(Self::client(reqwest::Method::POST, url, "tickets").json(&body)).await;
        made["id"].as_u64().unwrap()
    }

    async fn merge(url: &str, into: u64, source: u64) {
        let body = json!({"primary_id": into, "ticket_ids": [source]});
        json_of(Self::client(reqwest::Method::PUT, url, "tickets/merge").json(&body)).await;
    }

    async fn merged_into(url: &str, id: u64) -> Option<u64> {
        let t = json_of(Self::client(
            reqwest::Method::GET,
            url,
            &format!("tickets/{id}"),
        ))
        .await;
        if t["status"] != 5 {
            return None;
        }
        let notes = json_of(Self::client(
            reqwest::Method::GET,
            url,
            &format!("tickets/{id}/conversations"),
        ))
        .await;
        notes.as_array().unwrap().iter().rev().find_map(|n| {
            n["body_text"]
                .as_str()?
                .strip_prefix("This ticket is closed and merged into ticket ")?
                .parse()
                .ok()
        })
    }

    async fn merge_notes(url: &str, id: u64) -> usize {
        let notes = json_of(Self::client(
            reqwest::Method::GET,
            url,
            &format!("tickets/{id}/conversations"),
        ))
        .await;
        notes
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| {
                n["body_text"].as_str().is_some_and(|t| {
                    t.contains("merged into this ticket")
                        || t.contains("closed and merged into ticket")
                })
            })
            .count()
    }
}

/// One merge made on `side`: `source` into `into`, by that side's ids.
struct Made {
    side: Side,
    into: u64,
    source: u64,
}

async fn copy_of<O: Platform, N: Platform>(
    mv: &Bridge<O, N>,
    side: Side,
    id: u64,
    served: &Served,
) -> u64 {
    let store = cutover_store::open(&mv.store.parse().unwrap())
        .await
        .unwrap();
    let started = Instant::now();
    loop {
        let link = store
            .find_link(RecordKind::Ticket, side, &PlatformId::from(id))
            .await
            .unwrap();
        if let Some(stored) = link {
            store.close().await;
            return stored.link.id(side.other()).as_str().parse().unwrap();
        }
        assert!(
            started.elapsed() < CARRY_LIMIT,
            "ticket {id} on the {side} side was not copied\n{}",
            read(&served.log)
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn merges_story<O: Merging, N: Merging>() {
    let mv = Bridge::<O, N>::backfilled_with(false, 4).await;
    let served = mv.serve(0).await;
    let (old, new) = (mv.old.url().to_owned(), mv.new.url().to_owned());
    let mut made = Vec::new();

    // 1. Two tickets opened on the old side and copied; then one merged into the other.
    let (t1, s1) = (
        O::open(&old, "Printer jam").await,
        O::open(&old, "Printer jam again").await,
    );
    mv.skip_a_minute().await;
    copy_of(&mv, Side::Old, t1, &served).await;
    copy_of(&mv, Side::Old, s1, &served).await;
    O::merge(&old, t1, s1).await;
    made.push(Made {
        side: Side::Old,
        into: t1,
        source: s1,
    });

    // 2. A ticket merged moments after it was opened: the bridge may first see it merged.
    let t2 = O::open(&old, "Lost parcel").await;
    let s2 = O::open(&old, "Lost parcel, still").await;
    O::merge(&old, t2, s2).await;
    made.push(Made {
        side: Side::Old,
        into: t2,
        source: s2,
    });

    // 3. Two tickets opened on the new side and copied back; then merged there.
    let (t3, s3) = (
        N::open(&new, "Refund").await,
        N::open(&new, "Refund twice").await,
    );
    mv.skip_a_minute().await;
    copy_of(&mv, Side::New, t3, &served).await;
    copy_of(&mv, Side::New, s3, &served).await;
    N::merge(&new, t3, s3).await;
    made.push(Made {
        side: Side::New,
        into: t3,
        source: s3,
    });

    mv.skip_a_minute().await;
    mv.expect(0, &["sync", "drain", "--timeout", "120s"]).await;

    // Each merge is on the other side, between the copies, once; the original is merged once.
    for m in &made {
        let into_copy = copy_of(&mv, m.side, m.into, &served).await;
        let source_copy = copy_of(&mv, m.side, m.source, &served).await;
        let (here, there) = match m.side {
            Side::Old => (old.as_str(), new.as_str()),
            Side::New => (new.as_str(), old.as_str()),
        };
        let started = Instant::now();
        loop {
            let carried = match m.side {
                Side::Old => N::merged_into(there, source_copy).await,
                Side::New => O::merged_into(there, source_copy).await,
            };
            if carried == Some(into_copy) {
                break;
            }
            assert!(
                started.elapsed() < CARRY_LIMIT,
                "the merge of {} into {} on the {} side is not on the other side \
                 ({source_copy} into {into_copy}): {carried:?}\n{}",
                m.source,
                m.into,
                m.side,
                read(&served.log)
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let (notes_here, notes_there) = match m.side {
            Side::Old => (
                O::merge_notes(here, m.into).await,
                N::merge_notes(there, into_copy).await,
            ),
            Side::New => (
                N::merge_notes(here, m.into).await,
                O::merge_notes(there, into_copy).await,
            ),
        };
        assert_eq!(
            (notes_here, notes_there),
            (1, 1),
            "merge notes on the target {} ({} side) and its copy {into_copy}: once each",
            m.into,
            m.side
        );
    }

    // No echo: drained again, both sides stand still while the bridge keeps reading them.
    mv.skip_a_minute().await;
    mv.expect(0, &["sync", "drain", "--timeout", "120s"]).await;
    let versions = mv.versions().await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        mv.versions().await,
        versions,
        "the bridge wrote again with nothing changed\n{}",
        read(&served.log)
    );
    served.terminate().await;

    mv.skip_a_minute().await;
    let (code, stdout, stderr) = mv.cutover(&["verify", "--json"]).await;
    let report: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("verify printed no JSON ({e}):\n{stdout}\n{stderr}"));
    assert_not_carried_only(&report);
    assert!(code == 0 || code == 1, "verify failed:\n{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bridge_merges_from_zendesk_to_freshdesk() {
    merges_story::<zendesk::App, freshdesk::App>().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bridge_merges_from_freshdesk_to_zendesk() {
    merges_story::<freshdesk::App, zendesk::App>().await;
}
