//! End to end over real HTTP: a backfill from one Zendesk emulator to another (an account
//! consolidation), then verify, then a second run that must change nothing. The Freshdesk
//! directions join when the Freshdesk emulator exists.

use std::collections::BTreeMap;
use std::sync::Arc;

use cutover_connect::Connector;
use cutover_engine::{Mapping, backfill, verify, verify_in_parts};
use cutover_model::records::{FieldTarget, Record};
use cutover_model::{PlatformKind, RecordKind, Side};
use cutover_plan::plan::values::Target;

use crate::support::{
    KINDS, assert_changed_nothing, assert_no_one_emailed, backfill_without_dead_letters,
    move_options, read_all, zendesk_at, zendesk_sim,
};
use crate::{fidelity, support};

/// Zendesk to Zendesk, as a person would write the plan: every built-in value, every group and
/// every custom ticket field (by title) of the old account maps to itself.
pub(crate) async fn identity_mapping(source: &dyn Connector) -> Mapping {
    let mut plan = support::plan();
    let identity = |values: &[&str]| -> BTreeMap<String, Target> {
        values
            .iter()
            .map(|v| ((*v).to_owned(), Target::To((*v).to_owned())))
            .collect()
    };
    let groups: Vec<String> = read_all(source, RecordKind::Group)
        .await
        .into_iter()
        .filter_map(|o| match o.record {
            Record::Group(group) => Some(group.name),
            _ => None,
        })
        .collect();
    let fields: Vec<String> = read_all(source, RecordKind::CustomField)
        .await
        .into_iter()
        .filter_map(|o| match o.record {
            Record::CustomField(def) if def.target == FieldTarget::Ticket => Some(def.title),
            _ => None,
        })
        .collect();
    plan.mapping.statuses = identity(PlatformKind::Zendesk.statuses());
    plan.mapping.priorities = identity(PlatformKind::Zendesk.priorities());
    plan.mapping.roles = identity(PlatformKind::Zendesk.roles());
    plan.mapping.groups = identity(&groups.iter().map(String::as_str).collect::<Vec<_>>());
    plan.mapping.fields = identity(&fields.iter().map(String::as_str).collect::<Vec<_>>());
    Mapping::from_plan(&plan.mapping)
}

#[tokio::test]
async fn a_zendesk_backfill_copies_everything_proves_it_and_is_idempotent() {
    let old = zendesk_sim(7, 12).await;
    let new = zendesk_sim(8, 0).await;
    let (store, _dir) = support::store().await;
    let (source, target) = (
        zendesk_at(Side::Old, old.url()),
        zendesk_at(Side::New, new.url()),
    );
    let mapping = identity_mapping(source.as_ref()).await;

    let first = backfill_without_dead_letters(&store, &source, &target, &mapping).await;
    let tickets = first.counts(RecordKind::Ticket);
    assert_eq!(tickets.created, 12, "{}", first.summary());
    // The intents written before each ticket's creation are gone once its links are in.
    for ticket in read_all(source.as_ref(), RecordKind::Ticket).await {
        let key = format!("intent:{}:ticket:{}", Side::Old, ticket.id);
        assert_eq!(
            store.run_state(&key).await.unwrap(),
            None,
            "{key} left behind"
        );
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
    assert!(
        report.is_clean(),
        "{}\n{}",
        report.summary(),
        serde_json::to_string_pretty(&report).unwrap()
    );
    // Comments and attachments read a few tickets at a time: the same report.
    let in_parts = verify_in_parts(
        store.as_ref(),
        source.as_ref(),
        target.as_ref(),
        mapping.clone(),
        KINDS,
        5,
    )
    .await
    .unwrap();
    assert_eq!(in_parts, report);

    let checked = fidelity::zendesk_to_zendesk(
        store.as_ref(),
        &fidelity::Api::new(old.url()),
        &fidelity::Api::new(new.url()),
    )
    .await;
    assert!(
        checked.tickets == 12
            && checked.private_comments > 0
            && checked.attachments > 0
            && checked.inline_images > 0
            && checked.custom_values > 0,
        "the data left a case out: {checked:?}"
    );

    let second = backfill(
        Arc::clone(&store),
        source,
        target,
        mapping.clone(),
        move_options(),
    )
    .await
    .unwrap();
    assert_changed_nothing(&second);

    // History went through the import API: no customer was e-mailed by the move.
    assert_no_one_emailed(new.url()).await;
}

/// The plan's `copy.since` leaves tickets last changed before it behind with their history: the backfill and
/// verify count them as dropped, and verify is clean. `keep_original.note_header = true`
/// starts each comment imported with its ticket with cutover's header line (original time and
/// author), read back as the comment it copies.
#[tokio::test]
async fn history_before_copy_since_is_left_behind_and_headers_go_on_imports_when_asked() {
    let old = zendesk_sim(9, 12).await;
    let new = zendesk_sim(10, 0).await;
    let (store, _dir) = support::store().await;
    let source = zendesk_at(Side::Old, old.url());
    let mut config = support::zendesk_config(Side::New, new.url());
    config.headers_on_imports = true;
    let target: Arc<dyn Connector> =
        Arc::new(cutover_connect::ZendeskConnector::new(config).unwrap());
    let mut days: Vec<chrono::NaiveDate> = read_all(source.as_ref(), RecordKind::Ticket)
        .await
        .into_iter()
        .filter_map(|o| match o.record {
            // History is left behind by when it last changed, not when it began.
            Record::Ticket(t) => Some(o.updated_at.unwrap_or(t.created_at).date_naive()),
            _ => None,
        })
        .collect();
    days.sort();
    let since = days[days.len() / 2];
    let older = days.iter().filter(|d| **d < since).count() as u64;
    assert!(older > 0 && older < 12, "{days:?}");
    let mapping = identity_mapping(source.as_ref())
        .await
        .history_since(Some(since));

    let report = backfill_without_dead_letters(&store, &source, &target, &mapping).await;
    let tickets = report.counts(RecordKind::Ticket);
    assert_eq!(
        (tickets.dropped, tickets.created),
        (older, 12 - older),
        "{}",
        report.summary()
    );

    let verified = verify(
        store.as_ref(),
        source.as_ref(),
        target.as_ref(),
        mapping,
        KINDS,
    )
    .await
    .unwrap();
    assert!(verified.is_clean(), "{}", verified.summary());
    assert_eq!(verified.kinds[&RecordKind::Ticket].dropped, older);
    assert!(
        verified.kinds[&RecordKind::Comment].dropped > 0,
        "{}",
        verified.summary()
    );

    // Each imported comment starts with the header line, as the platform shows it. The list,
    // not the export (which leaves out its last minute).
    let listed = zendesk_get(new.url(), "tickets.json").await;
    let listed = listed["tickets"].as_array().unwrap();
    assert_eq!(listed.len() as u64, 12 - older);
    let ticket = &listed[0]["id"];
    let comments = zendesk_get(new.url(), &format!("tickets/{ticket}/comments.json")).await;
    let bodies: Vec<&str> = comments["comments"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["html_body"].as_str())
        .collect();
    assert!(!bodies.is_empty());
    assert!(
        bodies.iter().all(|b| b.contains("[cutover:old:comment:")),
        "{bodies:#?}"
    );
}

/// `GET /api/v2/{path}` of a Zendesk emulator, with its credentials.
async fn zendesk_get(url: &str, path: &str) -> serde_json::Value {
    reqwest::Client::new()
        .get(format!("{url}/api/v2/{path}"))
        .basic_auth("admin@example.com/token", Some("sim-token"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The plan's `copy.inline_images = "link"`: inline images are not uploaded again; the copied
/// bodies point at them on the old platform, the images count as left behind, and verify (which
/// expects those links) is clean.
#[tokio::test]
async fn inline_images_kept_as_links_point_at_the_old_platform() {
    let old = zendesk_sim(7, 12).await;
    let new = zendesk_sim(8, 0).await;
    let (store, _dir) = support::store().await;
    let (source, target) = (
        zendesk_at(Side::Old, old.url()),
        zendesk_at(Side::New, new.url()),
    );
    let mapping = identity_mapping(source.as_ref())
        .await
        .linking_inline_images(true);
    let report = backfill_without_dead_letters(&store, &source, &target, &mapping).await;
    let attachments = report.counts(RecordKind::Attachment);
    assert!(attachments.dropped > 0, "{}", report.summary());

    let verified = verify(
        store.as_ref(),
        source.as_ref(),
        target.as_ref(),
        mapping,
        KINDS,
    )
    .await
    .unwrap();
    assert!(verified.is_clean(), "{}", verified.summary());
    assert_eq!(
        verified.kinds[&RecordKind::Attachment].dropped,
        attachments.dropped
    );

    // Some copied body shows an image from the old platform, none a `cid:` left unresolved.
    let listed = zendesk_get(new.url(), "tickets.json").await;
    let mut bodies = Vec::new();
    for ticket in listed["tickets"].as_array().unwrap() {
        let path = format!("tickets/{}/comments.json", ticket["id"]);
        let comments = zendesk_get(new.url(), &path).await;
        for comment in comments["comments"].as_array().unwrap() {
            bodies.push(comment["html_body"].as_str().unwrap_or_default().to_owned());
        }
    }
    let old_image = format!("src=\"{}", old.url());
    assert!(bodies.iter().any(|b| b.contains(&old_image)), "{bodies:#?}");
    assert!(
        !bodies.iter().any(|b| b.contains("src=\"cid:")),
        "{bodies:#?}"
    );
}

/// A ticket merged on the old Zendesk (closed, tagged `closed_by_merge`, the merge's comment
/// naming its target) is read as merged into its target: its copy is created and merged into
/// the target's copy, the merge's comments are not copied as comments, verify is clean and a
/// second run changes nothing.
#[tokio::test]
async fn a_merged_zendesk_ticket_is_copied_as_a_merge() {
    let old = zendesk_sim(7, 3).await;
    let new = zendesk_sim(8, 0).await;
    let client = reqwest::Client::new();
    let call = async |method: reqwest::Method, path: &str, body: serde_json::Value| {
        let answer = client
            .request(method, format!("{}/api/v2/{path}", old.url()))
            .basic_auth("admin@example.com/token", Some("sim-token"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "{path}: {}", answer.status());
        answer.json::<serde_json::Value>().await.unwrap()
    };
    let open = async |subject: &str| {
        let body = serde_json::json!({"ticket": {"subject": subject, "comment": {"body": "Help"},
            "requester": {"name": "Ola Merge", "email": "ola.merge@example.com"}}});
        call(reqwest::Method::POST, "tickets.json", body).await["ticket"]["id"]
            .as_u64()
            .unwrap()
    };
    let (into, source) = (
        open("Invoice wrong").await,
        open("Invoice wrong, again").await,
    );
    call(
        reqwest::Method::POST,
        &format!("tickets/{into}/merge.json"),
        serde_json::json!({"ids": [source]}),
    )
    .await;
    // Zendesk's export leaves out its last minute.
    client
        .post(format!("{}/_sim/clock", old.url()))
        .json(&serde_json::json!({"advance_seconds": 61}))
        .send()
        .await
        .unwrap();

    let (store, _dir) = support::store().await;
    let (source_side, target) = (
        zendesk_at(Side::Old, old.url()),
        zendesk_at(Side::New, new.url()),
    );
    let mapping = identity_mapping(source_side.as_ref()).await;
    let read_back = read_all(source_side.as_ref(), RecordKind::Ticket).await;
    let merged = read_back
        .iter()
        .find(|o| o.id == cutover_model::PlatformId::from(source))
        .unwrap();
    let Record::Ticket(t) = &merged.record else {
        panic!("{merged:?}")
    };
    assert_eq!(t.merged_into, Some(cutover_model::PlatformId::from(into)));
    assert!(!t.tags.contains("closed_by_merge"), "{:?}", t.tags);

    backfill_without_dead_letters(&store, &source_side, &target, &mapping).await;
    let copy = |id: u64| {
        let store = Arc::clone(&store);
        async move {
            store
                .find_link(
                    RecordKind::Ticket,
                    Side::Old,
                    &cutover_model::PlatformId::from(id),
                )
                .await
                .unwrap()
                .expect("copied")
                .link
                .new_id
        }
    };
    let (into_copy, source_copy) = (copy(into).await, copy(source).await);
    let page = target
        .read_one(RecordKind::Ticket, &source_copy)
        .await
        .unwrap();
    let Record::Ticket(t) = &page.items[0].record else {
        panic!("{page:?}")
    };
    assert_eq!(t.merged_into, Some(into_copy.clone()));
    assert_eq!(t.status, "closed");
    let raw = zendesk_get(new.url(), &format!("tickets/{into_copy}/comments.json")).await;
    let merge_comments = raw["comments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["via"]["source"]["rel"] == "merge")
        .count();
    assert_eq!(
        merge_comments, 1,
        "the target's copy has its merge's comment once"
    );

    let report = verify(
        store.as_ref(),
        source_side.as_ref(),
        target.as_ref(),
        mapping.clone(),
        KINDS,
    )
    .await
    .unwrap();
    assert!(
        report.is_clean(),
        "{}\n{}",
        report.summary(),
        serde_json::to_string_pretty(&report).unwrap()
    );
    let second = backfill(
        Arc::clone(&store),
        source_side,
        target,
        mapping.clone(),
        move_options(),
    )
    .await
    .unwrap();
    assert_changed_nothing(&second);
}
