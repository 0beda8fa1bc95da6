//! Exactly once against a platform that answers late, step by step over real HTTP: the Freshdesk
//! emulator's search and autocomplete lag as documented, so every lookup here must read the
//! records themselves.

use std::sync::Arc;

use cutover_connect::WriteOutcome;
use cutover_engine::{Applier, Mapping, Outcome};
use cutover_model::records::{Organization, Record};
use cutover_model::{RecordKind, Side};
use cutover_sim::SimHandle;
use cutover_sim::freshdesk::App;
use cutover_store::Store;
use serde_json::{Value, json};

use crate::support::{contact, freshdesk_at, freshdesk_sim, id, observed, plan, ticket, zendesk};

/// A Freshdesk emulator whose search and autocomplete lag as its documentation says.
async fn late_freshdesk() -> SimHandle<App> {
    let sim = freshdesk_sim(5, 0).await;
    let set = reqwest::Client::new()
        .put(format!("{}/_sim/faults", sim.url()))
        .json(&json!({"late": true}))
        .send()
        .await
        .unwrap();
    assert!(set.status().is_success());
    sim
}

/// A POST to the emulator's API with its key; the JSON answer.
async fn post(sim: &SimHandle<App>, path: &str, body: Value) -> Value {
    let answer = reqwest::Client::new()
        .post(format!("{}/api/v2/{path}", sim.url()))
        .basic_auth("sim-key", Some("X"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{path}: {}", answer.status());
    answer.json().await.unwrap()
}

/// An applier from a Zendesk source (never asked anything here) to the Freshdesk emulator.
fn into(store: &Arc<dyn Store>, sim: &SimHandle<App>) -> Applier {
    Applier::new(
        Arc::clone(store),
        zendesk(Side::Old),
        freshdesk_at(Side::New, sim.url()),
        Mapping::from_plan(&plan().mapping),
        false,
    )
}

fn organization(name: &str) -> Record {
    Record::Organization(Organization {
        name: name.into(),
        domains: Default::default(),
        details: None,
        notes: None,
        tags: Default::default(),
        custom_fields: Default::default(),
    })
}

#[tokio::test]
async fn already_exists_leads_to_the_record_it_names_even_when_search_has_not_seen_it() {
    let sim = late_freshdesk().await;
    let company = post(&sim, "companies", json!({"name": "Acme Ltd"})).await;
    let person = post(
        &sim,
        "contacts",
        json!({"name": "Ada", "email": "ada@customer.example"}),
    )
    .await;
    let (store, _dir) = crate::support::store().await;
    let applier = into(&store, &sim);
    // A first attempt creates without a lookup; the platform answers 409, and the copy is read
    // through its list (autocomplete would not show a company written a moment ago).
    let outcome = applier
        .apply(&observed(Side::Old, 1, organization("Acme Ltd")))
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Applied(WriteOutcome::Found));
    let outcome = applier
        .apply(&observed(Side::Old, 2, contact("Ada")))
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Applied(WriteOutcome::Found));
    applier.commit(Vec::new()).await.unwrap();
    let org = store
        .find_link(RecordKind::Organization, Side::Old, &id(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(org.link.new_id.as_str(), company["id"].to_string());
    let linked = store
        .find_link(RecordKind::Contact, Side::Old, &id(2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(linked.link.new_id.as_str(), person["id"].to_string());
}

#[tokio::test]
async fn a_copy_made_before_a_crash_is_found_through_its_intent_and_brought_up_to_date() {
    let sim = late_freshdesk().await;
    let (store, _dir) = crate::support::store().await;
    let requester = observed(Side::Old, 30, contact("Grace"));
    let before = into(&store, &sim);
    before.apply(&requester).await.unwrap();
    before.commit(Vec::new()).await.unwrap();
    let original = observed(Side::Old, 40, ticket("open", 30, None));
    let outcome = before.apply(&original).await.unwrap();
    assert_eq!(outcome, Outcome::Applied(WriteOutcome::Created));
    // The run dies before its page commits: the copy is on Freshdesk, unlinked, and search will
    // not see it for minutes. The source changes before the next run.
    drop(before);
    let mut edited = original.clone();
    if let Record::Ticket(t) = &mut edited.record {
        t.subject = "Refund for order 1234, and 1235".into();
    }
    let after = into(&store, &sim);
    let outcome = after.apply(&edited).await.unwrap();
    assert_eq!(outcome, Outcome::Applied(WriteOutcome::Updated));
    after.commit(Vec::new()).await.unwrap();
    let tickets = sim.state().ticket_ids();
    assert_eq!(tickets.len(), 1, "one copy");
    let copy = sim.state().ticket_json(tickets[0]).unwrap();
    assert_eq!(copy["subject"], json!("Refund for order 1234, and 1235"));
    let link = store
        .find_link(RecordKind::Ticket, Side::Old, &id(40))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(link.link.new_id.as_str(), tickets[0].to_string());
    // Linked and equal: a further run changes nothing and looks nothing up.
    let again = into(&store, &sim);
    assert_eq!(again.apply(&edited).await.unwrap(), Outcome::Unchanged);
}
