//! Bulk creates into the Zendesk emulator over real HTTP: records created together go out in one
//! job (`users/create_or_update_many`, `imports/tickets/create_many`), a job that refuses some
//! records dead-letters exactly those, and a job that ran before a crash is found again by its
//! records' marks, not sent again.

use std::sync::Arc;

use cutover_connect::WriteOutcome;
use cutover_engine::{Applier, Mapping, Outcome};
use cutover_model::records::Record;
use cutover_model::{Observed, RecordKind, Side};
use cutover_sim::SimHandle;
use cutover_sim::zendesk::App;
use cutover_store::Store;
use futures::future::join_all;
use serde_json::Value;

use crate::support::{contact, id, observed, plan, ticket, zendesk, zendesk_at, zendesk_sim};

/// A batching applier (as a backfill's) from a Zendesk source, never asked anything here, to
/// the Zendesk emulator `sim`.
fn into(store: &Arc<dyn Store>, sim: &SimHandle<App>) -> Applier {
    Applier::new(
        Arc::clone(store),
        zendesk(Side::Old),
        zendesk_at(Side::New, sim.url()),
        Mapping::from_plan(&plan().mapping),
        false,
    )
    .batching()
}

/// A GET of the emulator's API as its admin; the JSON answer.
async fn get(sim: &SimHandle<App>, path: &str) -> Value {
    let answer = reqwest::Client::new()
        .get(format!("{}/api/v2/{path}", sim.url()))
        .basic_auth("admin@example.com/token", Some("sim-token"))
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{path}: {}", answer.status());
    answer.json().await.unwrap()
}

/// The emulator's bulk jobs of `job_type`.
async fn jobs(sim: &SimHandle<App>, job_type: &str) -> Vec<Value> {
    get(sim, "job_statuses.json").await["job_statuses"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|job| job["job_type"] == job_type)
        .cloned()
        .collect()
}

/// The e-mail addresses of the emulator's users at the test's customer domain.
async fn customers(sim: &SimHandle<App>) -> Vec<String> {
    let users = get(sim, "users.json?per_page=100").await;
    let mut emails: Vec<String> = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["email"].as_str())
        .filter(|e| e.ends_with("@customer.example") || e.starts_with("broken"))
        .map(str::to_owned)
        .collect();
    emails.sort();
    emails
}

fn contacts(names: &[&str], first: u64) -> Vec<Observed> {
    (first..)
        .zip(names)
        .map(|(n, name)| observed(Side::Old, n, contact(name)))
        .collect()
}

#[tokio::test]
async fn a_bulk_job_that_partly_fails_dead_letters_exactly_the_records_it_refused() {
    let sim = zendesk_sim(21, 0).await;
    let (store, _dir) = crate::support::store().await;
    let applier = into(&store, &sim);
    let mut records = contacts(&["Ada", "Brook", "Cy", "Dee", "Eve", "Flo"], 100);
    // Two addresses Zendesk refuses: the job creates the others and names these as failed.
    for n in [1, 4] {
        if let Record::Contact(c) = &mut records[n].record {
            c.email = Some(format!("broken-{n}-at-nowhere"));
        }
    }
    let outcomes = join_all(records.iter().map(|r| applier.apply(r))).await;
    for (n, outcome) in outcomes.into_iter().enumerate() {
        match outcome.unwrap() {
            Outcome::DeadLettered(reason) if n == 1 || n == 4 => {
                assert!(reason.contains("not properly formatted"), "{reason}");
            }
            Outcome::Applied(WriteOutcome::Created) if n != 1 && n != 4 => {}
            other => panic!("record {n}: {other:?}"),
        }
    }
    applier.commit(Vec::new()).await.unwrap();
    // One job carried all six, and it refused exactly the two.
    let jobs = jobs(&sim, "bulk_create_or_update_users").await;
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0]["total"], 6);
    let failed: Vec<u64> = jobs[0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["success"] == false)
        .filter_map(|r| r["index"].as_u64())
        .collect();
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert_eq!(
        customers(&sim).await,
        vec![
            "ada@customer.example",
            "cy@customer.example",
            "dee@customer.example",
            "flo@customer.example"
        ]
    );
    for (n, record) in records.iter().enumerate() {
        let link = store
            .find_link(RecordKind::Contact, Side::Old, &record.id)
            .await
            .unwrap();
        assert_eq!(link.is_some(), n != 1 && n != 4, "record {n}");
    }
}

#[tokio::test]
async fn a_bulk_job_that_ran_before_a_crash_is_found_by_its_marks_not_sent_again() {
    let sim = zendesk_sim(22, 0).await;
    let (store, _dir) = crate::support::store().await;
    let requester = observed(Side::Old, 30, contact("Grace"));
    let tickets: Vec<Observed> = (40..44)
        .map(|n| {
            // No priority: the support plan's table speaks Freshdesk's.
            let mut record = ticket("open", 30, None);
            if let Record::Ticket(t) = &mut record {
                t.priority = None;
            }
            observed(Side::Old, n, record)
        })
        .collect();
    let people = contacts(&["Hal", "Ivy", "Jo"], 50);
    let before = into(&store, &sim);
    assert_eq!(
        before.apply(&requester).await.unwrap(),
        Outcome::Applied(WriteOutcome::Created)
    );
    before.commit(Vec::new()).await.unwrap();
    let written = join_all(
        tickets
            .iter()
            .chain(&people)
            .map(|record| before.apply(record)),
    )
    .await;
    for outcome in written {
        assert_eq!(outcome.unwrap(), Outcome::Applied(WriteOutcome::Created));
    }
    let imports = jobs(&sim, "bulk_import_tickets").await;
    assert_eq!(imports.len(), 1, "the four tickets in one job: {imports:?}");
    assert_eq!(imports[0]["total"], 4);
    // The run dies before its page commits: the copies are on Zendesk, unlinked.
    drop(before);
    let after = into(&store, &sim);
    let again = join_all(
        tickets
            .iter()
            .chain(&people)
            .map(|record| after.apply(record)),
    )
    .await;
    for outcome in again {
        assert_eq!(outcome.unwrap(), Outcome::Applied(WriteOutcome::Found));
    }
    after.commit(Vec::new()).await.unwrap();
    // Nothing was sent again: one import job, one user job, one copy of each record.
    assert_eq!(jobs(&sim, "bulk_import_tickets").await.len(), 1);
    assert_eq!(jobs(&sim, "bulk_create_or_update_users").await.len(), 2);
    assert_eq!(sim.state().ticket_ids().len(), 4);
    assert_eq!(customers(&sim).await.len(), 4);
    for record in tickets.iter().chain(&people) {
        let kind = record.record.kind();
        let link = store.find_link(kind, Side::Old, &record.id).await.unwrap();
        assert!(link.is_some(), "{kind} {} linked", record.id);
    }
    assert!(
        store
            .find_link(RecordKind::Ticket, Side::Old, &id(40))
            .await
            .unwrap()
            .is_some()
    );
}
