use std::collections::{BTreeMap, BTreeSet};

use chrono::DateTime;
use cutover_model::records::{Channel, FieldType};
use cutover_plan::plan::model::{AgentMapping, Mapping as PlanMapping};
use proptest::prelude::*;
use serde_json::json;

use super::*;

fn table(pairs: &[(&str, &str)]) -> BTreeMap<String, Target> {
    pairs
        .iter()
        .map(|(old, new)| ((*old).to_owned(), new.parse::<Target>().unwrap()))
        .collect()
}

fn plan() -> PlanMapping {
    PlanMapping {
        statuses: table(&[
            ("new", "open"),
            ("open", "open"),
            ("pending", "pending"),
            ("hold", "pending"),
            ("solved", "resolved"),
            ("closed", "closed"),
            ("deleted", "drop"),
        ]),
        priorities: table(&[
            ("low", "low"),
            ("normal", "medium"),
            ("high", "high"),
            ("urgent", "drop"),
        ]),
        roles: table(&[
            ("agent", "Agent"),
            ("admin", "Administrator"),
            ("end-user", "drop"),
        ]),
        groups: table(&[
            ("Billing", "Billing"),
            ("Tier 2", "Escalations"),
            ("Legacy VIP", "drop"),
        ]),
        agents: AgentMapping {
            match_by: MatchBy::Email,
            unmatched: Some("bot@acme.example".parse().unwrap()),
            overrides: table(&[
                ("gone@acme.example", "drop"),
                ("old@acme.example", "new@acme.example"),
            ]),
        },
        fields: table(&[
            ("Order number", "cf_order_number"),
            ("Internal score", "drop"),
        ]),
        new_groups: table(&[
            ("Night shift", "Legacy VIP"),
            ("Partners", "create"),
            ("Scratch", "drop"),
        ]),
        unmatched_group: Some("Support".into()),
        ticket_types: None,
        brands: None,
    }
}

fn ticket(status: &str, priority: Option<&str>, fields: &[(&str, i64)]) -> Ticket {
    Ticket {
        subject: "Refund".into(),
        status: status.into(),
        priority: priority.map(str::to_owned),
        ticket_type: None,
        brand: None,
        channel: Channel::Email,
        requester: PlatformId::from(1),
        assignee: None,
        group: None,
        organization: None,
        tags: BTreeSet::new(),
        custom_fields: fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect(),
        created_at: DateTime::UNIX_EPOCH,
        solved_at: None,
        merged_into: None,
    }
}

fn translated_ticket(result: Result<Translated, Hole>) -> Ticket {
    match result {
        Ok(Translated::Record(Record::Ticket(t))) => t,
        other => panic!("expected a ticket, got {other:?}"),
    }
}

#[test]
fn statuses_and_priorities_map_both_ways() {
    let mapping = Mapping::from_plan(&plan());
    let check = |status: &str, from: Side, expected: &str| {
        let t =
            translated_ticket(mapping.translate(Record::Ticket(ticket(status, None, &[])), from));
        assert_eq!(t.status, expected, "{status} from {from}");
    };
    check("hold", Side::Old, "pending");
    check("solved", Side::Old, "resolved");
    // The inverse of an ambiguous entry: the old value spelled like the new one wins.
    check("pending", Side::New, "pending");
    check("open", Side::New, "open");
    check("resolved", Side::New, "solved");
    // Else the first old value in byte order.
    let mut ambiguous = plan();
    ambiguous.statuses = table(&[("waiting", "pending"), ("hold", "pending")]);
    let t = translated_ticket(
        Mapping::from_plan(&ambiguous)
            .translate(Record::Ticket(ticket("pending", None, &[])), Side::New),
    );
    assert_eq!(t.status, "hold");
    let t = translated_ticket(mapping.translate(
        Record::Ticket(ticket("open", Some("normal"), &[])),
        Side::Old,
    ));
    assert_eq!(t.priority.as_deref(), Some("medium"));
    let t = translated_ticket(mapping.translate(
        Record::Ticket(ticket("open", Some("urgent"), &[])),
        Side::Old,
    ));
    assert_eq!(
        t.priority, None,
        "a dropped priority never reaches the target"
    );
}

fn typed(kind: Option<&str>) -> Ticket {
    let mut t = ticket("open", None, &[]);
    t.ticket_type = kind.map(str::to_owned);
    t
}

#[test]
fn ticket_types_map_both_ways_and_only_with_their_table() {
    // No table (a plan written before types were mapped): a type is carried as it is.
    let mapping = Mapping::from_plan(&plan());
    let t = translated_ticket(mapping.translate(Record::Ticket(typed(Some("task"))), Side::Old));
    assert_eq!(t.ticket_type.as_deref(), Some("task"));
    assert!(mapping.ticket_types_to_create().is_empty());

    let mut with = plan();
    with.ticket_types = Some(table(&[
        ("question", "Question"),
        ("incident", "Incident"),
        ("problem", "drop"),
        ("task", "create"),
    ]));
    let mapping = Mapping::from_plan(&with);
    let check = |kind: &str, from: Side| {
        translated_ticket(mapping.translate(Record::Ticket(typed(Some(kind))), from)).ticket_type
    };
    assert_eq!(check("question", Side::Old).as_deref(), Some("Question"));
    // Case and spacing aside, as Zendesk spells types in lower case.
    assert_eq!(check("Incident", Side::Old).as_deref(), Some("Incident"));
    assert_eq!(check("task", Side::Old).as_deref(), Some("task"));
    assert_eq!(
        check("problem", Side::Old),
        None,
        "a dropped type is left empty"
    );
    assert_eq!(check("Question", Side::New).as_deref(), Some("question"));
    assert_eq!(check("question", Side::New).as_deref(), Some("question"));
    assert_eq!(mapping.ticket_types_to_create(), vec!["task".to_owned()]);
    // A ticket without a type needs no line.
    let t = translated_ticket(mapping.translate(Record::Ticket(typed(None)), Side::Old));
    assert_eq!(t.ticket_type, None);
    // A type the table leaves out is a hole, with the line to add.
    let mut new = AccountSnapshot::empty(cutover_model::PlatformKind::Freshdesk, "https://new");
    new.ticket_types = vec![
        cutover_model::accounts::NamedValue::new("Question"),
        cutover_model::accounts::NamedValue::new("Refund"),
    ];
    let mut mapping = mapping;
    mapping.know_choices(&new);
    let hole = mapping
        .translate(Record::Ticket(typed(Some("chore"))), Side::Old)
        .unwrap_err();
    assert_eq!(
        hole.reason(RecordKind::Ticket, &PlatformId::from(9)),
        "ticket 9 on the old side: ticket type \"chore\" has no mapping: add chore = \"…\" to \
         [mapping.ticket_types], \"…\" being one of \"Question\", \"Refund\", \"create\" or \"drop\""
    );
}

fn branded(brand: Option<&str>) -> Ticket {
    let mut t = ticket("open", None, &[]);
    t.brand = brand.map(str::to_owned);
    t
}

#[test]
fn brands_map_both_ways_and_only_with_their_table() {
    // No table (an older or offline plan): no brand is carried.
    let mapping = Mapping::from_plan(&plan());
    let t = translated_ticket(mapping.translate(Record::Ticket(branded(Some("Acme"))), Side::Old));
    assert_eq!(t.brand, None);
    assert!(!mapping.maps_brands());
    assert!(mapping.brands_to_create().is_empty());

    let mut with = plan();
    with.brands = Some(table(&[
        ("Acme", "Acme Support"),
        ("Legacy", "drop"),
        ("Shop", "create"),
    ]));
    let mapping = Mapping::from_plan(&with);
    assert!(mapping.maps_brands());
    let check = |brand: &str, from: Side| {
        translated_ticket(mapping.translate(Record::Ticket(branded(Some(brand))), from)).brand
    };
    assert_eq!(check("Acme", Side::Old).as_deref(), Some("Acme Support"));
    assert_eq!(check("acme", Side::Old).as_deref(), Some("Acme Support"));
    assert_eq!(
        check("Legacy", Side::Old),
        None,
        "a dropped brand is left empty"
    );
    assert_eq!(check("Shop", Side::Old).as_deref(), Some("Shop"));
    assert_eq!(check("Acme Support", Side::New).as_deref(), Some("Acme"));
    // The table runs old to new: a new-side brand no old one maps to (a Zendesk target's
    // default brand on a ticket opened there) goes back as none, not as a hole.
    assert_eq!(check("Cutover Sim", Side::New), None);
    assert_eq!(mapping.brands_to_create(), vec!["Shop".to_owned()]);
    let t = translated_ticket(mapping.translate(Record::Ticket(branded(None)), Side::Old));
    assert_eq!(t.brand, None);
    // A brand the table leaves out is a hole, with the line to add.
    let mut new = AccountSnapshot::empty(cutover_model::PlatformKind::Zendesk, "https://new");
    new.brands = vec![cutover_model::accounts::NamedValue::new("Acme Support")];
    let mut mapping = mapping;
    mapping.know_choices(&new);
    let hole = mapping
        .translate(Record::Ticket(branded(Some("Outlet"))), Side::Old)
        .unwrap_err();
    assert_eq!(
        hole.reason(RecordKind::Ticket, &PlatformId::from(9)),
        "ticket 9 on the old side: brand \"Outlet\" has no mapping: add Outlet = \"…\" to \
         [mapping.brands], \"…\" being one of \"Acme Support\", \"create\" or \"drop\""
    );
}

#[test]
fn a_hole_names_the_value_and_the_line_to_add() {
    let mapping = Mapping::from_plan(&plan());
    let hole = mapping
        .translate(Record::Ticket(ticket("escalated", None, &[])), Side::Old)
        .unwrap_err();
    assert_eq!(
        hole.reason(RecordKind::Ticket, &PlatformId::from(17)),
        "ticket 17 on the old side: status \"escalated\" has no mapping: \
         add escalated = \"…\" to [mapping.statuses]"
    );
    let hole = mapping
        .translate(
            Record::Ticket(ticket("waiting on customer", None, &[])),
            Side::New,
        )
        .unwrap_err();
    assert_eq!(
        hole.reason(RecordKind::Ticket, &PlatformId::from(9)),
        "ticket 9 on the new side: status \"waiting on customer\" has no mapping: \
         add … = \"waiting on customer\" to [mapping.statuses]"
    );
    let group = Record::Group(Group {
        name: "Sales EMEA".into(),
        description: None,
    });
    let hole = mapping.translate(group, Side::Old).unwrap_err();
    assert!(
        hole.reason(RecordKind::Group, &PlatformId::from(3))
            .ends_with("add \"Sales EMEA\" = \"…\" to [mapping.groups]")
    );
}

/// A Freshdesk old side and a Zendesk new side: the plan maps Freshdesk's four statuses; the
/// Zendesk statuses none of them maps to come back as their nearest kin.
#[test]
fn a_new_side_status_no_old_one_maps_to_comes_back_as_its_nearest_kin() {
    let mut freshdesk_to_zendesk = plan();
    freshdesk_to_zendesk.statuses = table(&[
        ("open", "open"),
        ("pending", "pending"),
        ("resolved", "solved"),
        ("closed", "closed"),
    ]);
    let mapping = Mapping::from_plan(&freshdesk_to_zendesk);
    for (zendesk, freshdesk) in [
        ("new", "open"),
        ("hold", "pending"),
        ("open", "open"),
        ("solved", "resolved"),
    ] {
        let t = translated_ticket(
            mapping.translate(Record::Ticket(ticket(zendesk, None, &[])), Side::New),
        );
        assert_eq!(t.status, freshdesk, "{zendesk}");
    }
    // A copy's round trip folds `new` into `open`: the copy of a `new` ticket reads as it.
    let Record::Ticket(t) = mapping.round_trip(Record::Ticket(ticket("new", None, &[]))) else {
        unreachable!()
    };
    assert_eq!(t.status, "open");
    // The way there is the plan's only.
    let t =
        translated_ticket(mapping.translate(Record::Ticket(ticket("open", None, &[])), Side::Old));
    assert_eq!(t.status, "open");
}

#[test]
fn fields_map_by_key_or_by_title_and_drop() {
    let mut mapping = Mapping::from_plan(&plan());
    let def = |key: &str, title: &str| CustomFieldDef {
        target: FieldTarget::Ticket,
        key: key.into(),
        title: title.into(),
        field_type: FieldType::Text,
        options: Vec::new(),
        required: false,
        active: true,
    };
    mapping.learn_field(Side::Old, &def("360001", "Order number"));
    mapping.learn_field(Side::Old, &def("360002", "Internal score"));
    let t = translated_ticket(mapping.translate(
        Record::Ticket(ticket("open", None, &[("360001", 42), ("360002", 7)])),
        Side::Old,
    ));
    assert_eq!(
        t.custom_fields,
        BTreeMap::from([("cf_order_number".to_owned(), json!(42))])
    );
    let back = translated_ticket(mapping.translate(Record::Ticket(t), Side::New));
    assert_eq!(
        back.custom_fields,
        BTreeMap::from([("360001".to_owned(), json!(42))])
    );
    let dropped = mapping.translate(
        Record::CustomField(def("360002", "Internal score")),
        Side::Old,
    );
    assert!(matches!(dropped, Ok(Translated::Dropped(_))));
}

#[test]
fn groups_roles_and_agents_follow_their_tables() {
    let mapping = Mapping::from_plan(&plan());
    let group = |name: &str| {
        Record::Group(Group {
            name: name.into(),
            description: None,
        })
    };
    assert_eq!(
        mapping.translate(group("Tier 2"), Side::Old),
        Ok(Translated::Record(group("Escalations")))
    );
    assert_eq!(
        mapping.translate(group("Escalations"), Side::New),
        Ok(Translated::Record(group("Tier 2")))
    );
    assert!(matches!(
        mapping.translate(group("Legacy VIP"), Side::Old),
        Ok(Translated::Dropped(_))
    ));
    let role = Record::Role(Role {
        name: "end-user".into(),
        description: None,
        permissions: BTreeSet::new(),
    });
    assert!(matches!(
        mapping.translate(role, Side::Old),
        Ok(Translated::Dropped(_))
    ));
    let agent = |email: &str| {
        Record::Agent(Agent {
            name: "Jo".into(),
            email: email.into(),
            role: None,
            groups: BTreeSet::new(),
            active: true,
        })
    };
    assert_eq!(
        mapping.translate(agent("jo@acme.example"), Side::Old),
        Ok(Translated::Record(agent("jo@acme.example")))
    );
    assert_eq!(
        mapping.translate(agent("old@acme.example"), Side::Old),
        Ok(Translated::Record(agent("new@acme.example")))
    );
    assert_eq!(
        mapping.translate(agent("new@acme.example"), Side::New),
        Ok(Translated::Record(agent("old@acme.example")))
    );
    assert!(matches!(
        mapping.translate(agent("gone@acme.example"), Side::Old),
        Ok(Translated::Dropped(_))
    ));
    assert_eq!(mapping.unmatched_author(), Some("bot@acme.example"));
}

/// Groups only the new side has go back by `[mapping.new_groups]`: onto an old group, created
/// under their own name, or dropped; one it does not name is a hole naming that table.
#[test]
fn new_side_groups_go_back_by_their_own_table() {
    let mapping = Mapping::from_plan(&plan());
    let group = |name: &str| {
        Record::Group(Group {
            name: name.into(),
            description: None,
        })
    };
    for (new, old) in [("Night shift", "Legacy VIP"), ("Partners", "Partners")] {
        assert_eq!(
            mapping.translate(group(new), Side::New),
            Ok(Translated::Record(group(old))),
            "{new}"
        );
    }
    assert!(matches!(
        mapping.translate(group("Scratch"), Side::New),
        Ok(Translated::Dropped(_))
    ));
    // The old→new table is left as it was.
    assert_eq!(
        mapping.translate(group("Escalations"), Side::New),
        Ok(Translated::Record(group("Tier 2")))
    );
    let hole = mapping
        .translate(group("Weekend desk"), Side::New)
        .unwrap_err();
    assert_eq!(
        hole.reason(RecordKind::Group, &PlatformId::from(8)),
        "group 8 on the new side: group \"Weekend desk\" has no mapping: add \"Weekend desk\" \
         = \"…\" to [mapping.new_groups] (an old group, \"create\" or \"drop\"; `cutover plan \
         refresh` adds the line)"
    );
}

/// A bijective status table and a ticket whose status is one of its keys.
fn bijection() -> impl Strategy<Value = (Vec<(String, String)>, usize, Option<String>)> {
    proptest::collection::btree_map("[a-z]{1,8}", "[A-Z]{1,8}", 1..8).prop_flat_map(|map| {
        let len = map.len();
        let pairs: Vec<(String, String)> = map.into_iter().collect();
        let mut targets = BTreeSet::new();
        let pairs: Vec<(String, String)> = pairs
            .into_iter()
            .filter(|(_, new)| targets.insert(new.clone()))
            .collect();
        (Just(pairs), 0..len, proptest::option::of("[a-z]{1,8}"))
    })
}

proptest! {
    #[test]
    fn old_to_new_to_old_gives_back_the_original_where_the_table_is_a_bijection(
        (pairs, idx, drop_key) in bijection()
    ) {
        let idx = idx % pairs.len();
        let mut plan = plan();
        plan.statuses = pairs.iter().map(|(o, n)| (o.clone(), Target::To(n.clone()))).collect();
        plan.priorities = plan.statuses.clone();
        if let Some(key) = &drop_key {
            // A dropped value does not spoil the bijection of the rest.
            plan.priorities.entry(key.clone()).or_insert(Target::Drop);
        }
        let mapping = Mapping::from_plan(&plan);
        let status = pairs[idx].0.clone();
        let original = ticket(&status, Some(&status), &[]);
        let there = translated_ticket(mapping.translate(Record::Ticket(original.clone()), Side::Old));
        prop_assert_eq!(&there.status, &pairs[idx].1);
        let back = translated_ticket(mapping.translate(Record::Ticket(there), Side::New));
        prop_assert_eq!(back, original);
    }

    #[test]
    fn a_dropped_value_never_reaches_the_target(
        (pairs, _idx, drop_key) in bijection(), dropped in "[a-z]{1,8}"
    ) {
        let _ = drop_key;
        let mut plan = plan();
        plan.priorities = pairs.iter().map(|(o, n)| (o.clone(), Target::To(n.clone()))).collect();
        plan.priorities.insert(dropped.clone(), Target::Drop);
        plan.fields = BTreeMap::from([(dropped.clone(), Target::Drop)]);
        let mapping = Mapping::from_plan(&plan);
        let t = translated_ticket(mapping.translate(
            Record::Ticket(ticket("open", Some(&dropped), &[(dropped.as_str(), 1)])),
            Side::Old,
        ));
        prop_assert_eq!(t.priority, None);
        prop_assert!(t.custom_fields.is_empty());
    }
}

/// `copy.since` leaves an old ticket behind by when it last changed, not when it began: one
/// opened long ago and answered after the day is copied; a ticket read on the new side never is
/// left behind; one read without a change time counts from its creation.
#[test]
fn copy_since_leaves_behind_tickets_last_changed_before_it() {
    let day = |d: &str| d.parse::<chrono::NaiveDate>().unwrap();
    let at = |t: &str| t.parse::<DateTime<chrono::Utc>>().unwrap();
    let mapping = Mapping::from_plan(&plan()).history_since(Some(day("2024-03-01")));
    let check = |side: Side, created: &str, updated: Option<&str>, copied: bool| {
        let mut record = ticket("open", None, &[]);
        record.created_at = at(created);
        let observed = Observed {
            side,
            id: PlatformId::from(7),
            updated_at: updated.map(at),
            record: Record::Ticket(record),
            origin: None,
        };
        let translated = mapping.translate_observed(&observed).unwrap();
        assert_eq!(
            matches!(translated, Translated::Record(_)),
            copied,
            "{side} ticket created {created}, changed {updated:?}: {translated:?}"
        );
        if let Translated::Dropped(reason) = translated {
            assert!(reason.contains("copy.since = 2024-03-01"), "{reason}");
        }
    };
    check(
        Side::Old,
        "2020-01-01T00:00:00Z",
        Some("2024-03-01T00:00:00Z"),
        true,
    );
    check(
        Side::Old,
        "2020-01-01T00:00:00Z",
        Some("2024-02-29T23:59:59Z"),
        false,
    );
    check(Side::Old, "2024-03-02T00:00:00Z", None, true);
    check(Side::Old, "2024-02-01T00:00:00Z", None, false);
    check(
        Side::New,
        "2020-01-01T00:00:00Z",
        Some("2020-01-02T00:00:00Z"),
        true,
    );
}
