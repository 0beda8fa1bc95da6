//! Verification's comparison of both sides' records through the links.

use cutover_engine::Mapping;
use cutover_engine::verify::{Snapshot, compare};
use cutover_model::{Fingerprint, Observed, RecordKind, RecordRef, Side};
use cutover_store::Link;
use serde_json::json;

use crate::support::*;

fn link(kind: RecordKind, old: u64, new: u64) -> Link {
    Link::new(
        kind,
        id(old),
        id(new),
        Fingerprint::of_json(&json!(null)),
        Side::Old,
    )
}

/// `observed` as cutover's copy of old ticket `old` (its mark read back).
fn marked(mut observed: Observed, old: u64) -> Observed {
    observed.origin = Some(RecordRef {
        kind: RecordKind::Ticket,
        side: Side::Old,
        id: id(old),
    });
    observed
}

fn snapshot(records: Vec<Observed>) -> Snapshot {
    let mut snapshot = Snapshot::default();
    for record in records {
        snapshot
            .records
            .entry((record.record.kind(), record.side))
            .or_default()
            .push(record);
    }
    snapshot
}

#[test]
fn missing_extra_and_different_are_told_apart() {
    let kinds = [RecordKind::Contact, RecordKind::Group, RecordKind::Ticket];
    let snapshot = snapshot(vec![
        observed(Side::Old, 7, contact("Ada")),
        observed(Side::New, 507, contact("Ada")),
        observed(Side::Old, 8, contact("Grace")),
        observed(Side::Old, 9, contact("Linus")),
        observed(Side::New, 999, contact("Stranger")),
        observed(Side::Old, 3, group("Legacy VIP")),
        observed(Side::Old, 4, group("Tier 2")),
        observed(Side::New, 504, group("Escalations")),
        // Equal once mapped: hold → pending, normal → medium, requester through the link,
        // the dropped group removed.
        observed(Side::Old, 40, ticket("hold", 7, Some(3))),
        observed(Side::New, 940, ticket("pending", 507, None)),
        observed(Side::Old, 41, ticket("solved", 7, Some(4))),
        observed(Side::New, 941, ticket("open", 507, Some(504))),
        // On the new side with no link, marked as cutover's copy of an old ticket: a duplicate.
        marked(observed(Side::New, 942, ticket("open", 507, None)), 40),
        // On the new side with no link and no mark: opened there by a customer, not extra.
        observed(Side::New, 943, ticket("open", 507, None)),
    ]);
    let links = [
        link(RecordKind::Contact, 7, 507),
        link(RecordKind::Contact, 9, 509),
        link(RecordKind::Group, 4, 504),
        link(RecordKind::Ticket, 40, 940),
        link(RecordKind::Ticket, 41, 941),
    ];
    let report = compare(
        &snapshot,
        &links,
        Mapping::from_plan(&plan().mapping),
        &kinds,
    );
    let contacts = &report.kinds[&RecordKind::Contact];
    assert_eq!((contacts.old, contacts.new, contacts.matched), (3, 2, 1));
    let missing: Vec<(String, Option<String>)> = contacts
        .missing
        .iter()
        .map(|m| {
            (
                m.old_id.to_string(),
                m.new_id.as_ref().map(ToString::to_string),
            )
        })
        .collect();
    assert_eq!(
        missing,
        [
            ("8".to_owned(), None),
            ("9".to_owned(), Some("509".to_owned()))
        ]
    );
    // An unlinked contact with no mark is the target's own (not created by cutover): reported,
    // not extra.
    assert!(contacts.extra.is_empty());
    assert_eq!(contacts.only_new, [id(999)]);
    let groups = &report.kinds[&RecordKind::Group];
    assert_eq!((groups.matched, groups.dropped), (1, 1));
    assert!(groups.is_clean());
    let tickets = &report.kinds[&RecordKind::Ticket];
    assert_eq!(tickets.matched, 1);
    assert_eq!(tickets.different.len(), 1);
    assert_eq!(tickets.extra, [id(942)]);
    assert_eq!(
        tickets.extra_reasons[&id(942)],
        "written by cutover as the copy of ticket 40 on the old side but not linked"
    );
    assert_eq!(tickets.only_new, [id(943)]);
    let diff = &tickets.different[0];
    assert_eq!(
        (diff.old_id.clone(), diff.new_id.clone()),
        (id(41), id(941))
    );
    let fields: Vec<(&str, &serde_json::Value, &serde_json::Value)> = diff
        .fields
        .iter()
        .map(|f| (f.pointer.as_str(), &f.old, &f.new))
        .collect();
    assert_eq!(
        fields,
        [
            ("/record/priority", &json!("medium"), &json!("normal")),
            ("/record/status", &json!("resolved"), &json!("open")),
        ]
    );
    assert!(!report.is_clean());
    // The terminal's report: counts, then each kind's differences grouped by reason with their
    // counts, then the records, then the verdict.
    insta::assert_snapshot!("differences_terminal", report.summary());
    insta::assert_json_snapshot!("differences_json", report);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(
        json["kinds"]["ticket"]["different"][0]["fields"][1]["pointer"],
        "/record/status"
    );
}

#[test]
fn identical_sides_are_clean() {
    let snapshot = snapshot(vec![
        observed(Side::Old, 7, contact("Ada")),
        observed(Side::New, 507, contact("Ada")),
    ]);
    let report = compare(
        &snapshot,
        &[link(RecordKind::Contact, 7, 507)],
        Mapping::from_plan(&plan().mapping),
        &[RecordKind::Contact],
    );
    assert!(report.is_clean());
    assert!(
        report
            .summary()
            .ends_with("Both sides hold the same records.\n")
    );
}
