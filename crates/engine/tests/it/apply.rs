//! One record step: fingerprints against links, parents, drops, holes, both directions.

use cutover_connect::WriteOutcome;
use cutover_engine::{Outcome, Prepared};
use cutover_model::records::Record;
use cutover_model::{RecordKind, RecordRef, Side};
use cutover_store::Link;

use crate::support::*;

fn ready(prepared: Prepared) -> Box<cutover_engine::Ready> {
    match prepared {
        Prepared::Ready(ready) => ready,
        Prepared::Done(outcome) => panic!("expected ready, got {outcome:?}"),
    }
}

fn done(prepared: Prepared) -> Outcome {
    match prepared {
        Prepared::Done(outcome) => outcome,
        Prepared::Ready(ready) => panic!("expected an outcome, got {:?}", ready.outbound),
    }
}

#[tokio::test]
async fn a_record_equal_to_its_link_is_unchanged_and_a_change_is_an_update() {
    let (store, _dir) = store().await;
    let applier = applier(&store, Side::Old, false);
    let record = observed(Side::Old, 7, contact("Ada"));
    let first = ready(applier.prepare(&record).await.unwrap());
    assert!(first.link.is_none());
    let link = Link::new(
        RecordKind::Contact,
        id(7),
        id(507),
        first.fingerprint,
        Side::Old,
    );
    store.link_if_absent(&link).await.unwrap();
    // The echo guard: the same content again is not written.
    assert_eq!(
        done(applier.prepare(&record).await.unwrap()),
        Outcome::Unchanged
    );
    let changed = observed(Side::Old, 7, contact("Ada L."));
    let update = ready(applier.prepare(&changed).await.unwrap());
    assert_eq!(
        update.link.as_ref().map(|l| l.new_id.clone()),
        Some(id(507))
    );
    assert_ne!(update.fingerprint, first.fingerprint);
}

#[tokio::test]
async fn a_read_older_than_the_version_its_link_kept_is_unchanged() {
    let (store, _dir) = store().await;
    let applier = applier(&store, Side::Old, false);
    let record = observed(Side::Old, 7, contact("Ada"));
    let first = ready(applier.prepare(&record).await.unwrap());
    let mut link = Link::new(
        RecordKind::Contact,
        id(7),
        id(507),
        first.fingerprint,
        Side::Old,
    );
    // The bridge applied a read of this record made at t(60): a feed page read before it
    // (its record changed at t(30)) comes in after.
    link.old_version = Some(t(60).to_rfc3339());
    store.link_if_absent(&link).await.unwrap();
    let mut older = observed(Side::Old, 7, contact("Ada (before)"));
    older.updated_at = Some(t(30));
    assert_eq!(
        done(applier.prepare(&older).await.unwrap()),
        Outcome::Unchanged
    );
    // The same content changed later than the link's version is a change.
    let mut newer = observed(Side::Old, 7, contact("Ada (after)"));
    newer.updated_at = Some(t(90));
    ready(applier.prepare(&newer).await.unwrap());
}

#[tokio::test]
async fn a_child_waits_for_its_parent_and_then_resolves_through_the_link() {
    let (store, _dir) = store().await;
    let applier = applier(&store, Side::Old, false);
    let ticket = observed(Side::Old, 40, ticket("hold", 7, None));
    assert_eq!(
        done(applier.prepare(&ticket).await.unwrap()),
        Outcome::Waiting(RecordRef {
            kind: RecordKind::Contact,
            side: Side::Old,
            id: id(7)
        })
    );
    let contact_fp = ready(
        applier
            .prepare(&observed(Side::Old, 7, contact("Ada")))
            .await
            .unwrap(),
    )
    .fingerprint;
    store
        .link_if_absent(&Link::new(
            RecordKind::Contact,
            id(7),
            id(507),
            contact_fp,
            Side::Old,
        ))
        .await
        .unwrap();
    let ready = ready(applier.prepare(&ticket).await.unwrap());
    let Record::Ticket(out) = &ready.outbound.record else {
        panic!("a ticket")
    };
    assert_eq!(
        out.status, "pending",
        "written in the new side's vocabulary"
    );
    assert_eq!(out.priority.as_deref(), Some("medium"));
    assert_eq!(
        out.requester,
        id(7),
        "references stay source keys, resolved by targets"
    );
    assert_eq!(
        ready.outbound.targets.get(RecordKind::Contact, &id(7)),
        Some(&id(507))
    );
    assert_eq!(ready.outbound.origin.mark(), "cutover:old:ticket:40");
}

#[tokio::test]
async fn both_sides_fingerprint_the_same_content_alike() {
    let (store, _dir) = store().await;
    let forwards = applier(&store, Side::Old, false);
    let backwards = applier(&store, Side::New, false);
    store
        .link_if_absent(&Link::new(
            RecordKind::Contact,
            id(7),
            id(507),
            ready(
                forwards
                    .prepare(&observed(Side::Old, 7, contact("Ada")))
                    .await
                    .unwrap(),
            )
            .fingerprint,
            Side::Old,
        ))
        .await
        .unwrap();
    let old = ready(
        forwards
            .prepare(&observed(Side::Old, 40, ticket("hold", 7, None)))
            .await
            .unwrap(),
    );
    // As the new side reads the copy: its vocabulary, its ids.
    let new = ready(
        backwards
            .prepare(&observed(Side::New, 940, ticket("pending", 507, None)))
            .await
            .unwrap(),
    );
    assert_eq!(old.fingerprint, new.fingerprint);
    // Written back, the new side's value takes the inverse table (pending ← pending).
    let Record::Ticket(back) = &new.outbound.record else {
        panic!("a ticket")
    };
    assert_eq!(back.status, "pending");
    assert_eq!(back.priority.as_deref(), Some("normal"));
}

#[tokio::test]
async fn a_dropped_group_is_not_copied_and_references_to_it_are_removed() {
    let (store, _dir) = store().await;
    let applier = applier(&store, Side::Old, false);
    let outcome = done(
        applier
            .prepare(&observed(Side::Old, 3, group("Legacy VIP")))
            .await
            .unwrap(),
    );
    assert!(
        matches!(outcome, Outcome::Dropped(ref why) if why.contains("Legacy VIP")),
        "{outcome:?}"
    );
    let renamed = ready(
        applier
            .prepare(&observed(Side::Old, 4, group("Tier 2")))
            .await
            .unwrap(),
    );
    assert_eq!(renamed.outbound.record, group("Escalations"));
    let contact_fp = ready(
        applier
            .prepare(&observed(Side::Old, 7, contact("Ada")))
            .await
            .unwrap(),
    )
    .fingerprint;
    store
        .link_if_absent(&Link::new(
            RecordKind::Contact,
            id(7),
            id(507),
            contact_fp,
            Side::Old,
        ))
        .await
        .unwrap();
    let ticket = ready(
        applier
            .prepare(&observed(Side::Old, 40, ticket("open", 7, Some(3))))
            .await
            .unwrap(),
    );
    let Record::Ticket(out) = &ticket.outbound.record else {
        panic!("a ticket")
    };
    assert_eq!(out.group, None, "a dropped group never reaches the target");
}

#[tokio::test]
async fn a_value_with_no_mapping_dead_letters_the_record_with_the_line_to_add() {
    let (store, _dir) = store().await;
    let applier = applier(&store, Side::Old, false);
    let outcome = done(
        applier
            .prepare(&observed(Side::Old, 17, ticket("escalated", 7, None)))
            .await
            .unwrap(),
    );
    assert_eq!(
        outcome,
        Outcome::DeadLettered(
            "ticket 17 on the old side: status \"escalated\" has no mapping: \
             add escalated = \"…\" to [mapping.statuses]"
                .into()
        )
    );
}

#[tokio::test]
async fn a_dry_run_asks_the_target_and_writes_to_neither_platform_nor_store() {
    let new = freshdesk_sim(3, 0).await;
    let (store, _dir) = store().await;
    let target = freshdesk_at(Side::New, new.url());
    let applier = cutover_engine::Applier::new(
        std::sync::Arc::clone(&store),
        zendesk(Side::Old),
        std::sync::Arc::clone(&target),
        cutover_engine::Mapping::from_plan(&plan().mapping),
        true,
    );
    let contacts_before = read_all(target.as_ref(), RecordKind::Contact).await.len();
    let outcome = applier
        .apply(&observed(Side::Old, 7, contact("Ada")))
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Applied(WriteOutcome::Created));
    assert_eq!(store.count_links(None).await.unwrap(), 0);
    let contacts_after = read_all(target.as_ref(), RecordKind::Contact).await.len();
    assert_eq!(contacts_after, contacts_before, "a dry run creates nothing");
    // Its children see the would-be link and do not wait.
    let ticket = applier
        .prepare(&observed(Side::Old, 40, ticket("open", 7, None)))
        .await
        .unwrap();
    assert!(matches!(ticket, Prepared::Ready(_)));
}

#[tokio::test]
async fn history_of_a_dropped_agent_is_written_by_the_unmatched_author() {
    let (store, _dir) = store().await;
    let applier = applier_with(&store, |mapping| {
        mapping
            .agents
            .overrides
            .insert("gone@acme.example".into(), "drop".parse().unwrap());
    });
    let bot = ready(
        applier
            .prepare(&observed(Side::Old, 5, agent("support-bot@acme.example")))
            .await
            .unwrap(),
    );
    store
        .link_if_absent(&Link::new(
            RecordKind::Agent,
            id(5),
            id(505),
            bot.fingerprint,
            Side::Old,
        ))
        .await
        .unwrap();
    let gone = done(
        applier
            .prepare(&observed(Side::Old, 6, agent("gone@acme.example")))
            .await
            .unwrap(),
    );
    assert!(matches!(gone, Outcome::Dropped(_)), "{gone:?}");
    store
        .link_if_absent(&Link::new(
            RecordKind::Ticket,
            id(40),
            id(940),
            bot.fingerprint,
            Side::Old,
        ))
        .await
        .unwrap();
    let comment = Record::Comment(cutover_model::records::Comment {
        ticket: id(40),
        author: id(6),
        public: true,
        html_body: "<p>Refunded.</p>".into(),
        created_at: t(5),
    });
    let ready = ready(
        applier
            .prepare(&observed(Side::Old, 70, comment))
            .await
            .unwrap(),
    );
    let Record::Comment(out) = &ready.outbound.record else {
        panic!("a comment")
    };
    assert_eq!(out.author, id(5));
    assert_eq!(
        ready.outbound.targets.get(RecordKind::Agent, &id(5)),
        Some(&id(505))
    );
    assert_eq!(
        ready.outbound.targets.get(RecordKind::Ticket, &id(40)),
        Some(&id(940))
    );
}

#[tokio::test]
async fn an_optional_reference_to_a_kind_not_copied_is_removed_instead_of_waiting() {
    let (store, _dir) = store().await;
    let applier =
        applier(&store, Side::Old, false).copying(&[RecordKind::Contact, RecordKind::Ticket]);
    // The group passes through the run (as when another kind's records name it), so the copy
    // can name the original it leaves behind.
    applier
        .prepare(&observed(Side::Old, 4, group("Tier 2")))
        .await
        .unwrap();
    let contact_fp = ready(
        applier
            .prepare(&observed(Side::Old, 7, contact("Ada")))
            .await
            .unwrap(),
    )
    .fingerprint;
    store
        .link_if_absent(&Link::new(
            RecordKind::Contact,
            id(7),
            id(507),
            contact_fp,
            Side::Old,
        ))
        .await
        .unwrap();
    let ticket = ready(
        applier
            .prepare(&observed(Side::Old, 40, ticket("open", 7, Some(4))))
            .await
            .unwrap(),
    );
    let Record::Ticket(out) = &ticket.outbound.record else {
        panic!("a ticket")
    };
    assert_eq!(out.group, None, "groups are not copied in this run");
    assert_eq!(
        ticket.outbound.history.stand_ins.as_deref(),
        Some("group: Tier 2"),
        "the copy names the group it leaves behind"
    );
}

/// A person already on a Zendesk target with the same e-mail is matched by `create_or_update`
/// (answered 200): found, not created, so cleanup never takes them for cutover's own; a new
/// person (answered 201) is created and recorded as such.
#[tokio::test]
async fn a_zendesk_person_matched_by_email_is_found_not_created() {
    let new = zendesk_sim(5, 0).await;
    let (store, _dir) = store().await;
    let target = zendesk_at(Side::New, new.url());
    let answer = reqwest::Client::new()
        .post(format!("{}/api/v2/users.json", new.url()))
        .basic_auth("admin@example.com/token", Some("sim-token"))
        .json(&serde_json::json!({"user": {"name": "Ada (there before)", "email": "ada@customer.example"}}))
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{}", answer.status());
    let applier = cutover_engine::Applier::new(
        std::sync::Arc::clone(&store),
        zendesk(Side::Old),
        std::sync::Arc::clone(&target),
        cutover_engine::Mapping::from_plan(&plan().mapping),
        false,
    );
    let matched = applier
        .apply(&observed(Side::Old, 7, contact("Ada")))
        .await
        .unwrap();
    assert_eq!(matched, Outcome::Applied(WriteOutcome::Found));
    let created = applier
        .apply(&observed(Side::Old, 8, contact("Grace")))
        .await
        .unwrap();
    assert_eq!(created, Outcome::Applied(WriteOutcome::Created));
    applier.commit(Vec::new()).await.unwrap();
    let ledger = store.created_records(Side::New, None, 100).await.unwrap();
    let sources: Vec<&str> = ledger.iter().map(|c| c.source_id.as_str()).collect();
    assert_eq!(
        sources,
        vec!["8"],
        "only the person cutover made is its own"
    );
}
