//! Freshdesk mapping tests: every sample payload maps to a canonical record or a clear
//! rejection, codes read as Freshdesk's names, and canonical records survive a trip through
//! Freshdesk's JSON (history included: origin fields and note headers).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use chrono::{DateTime, TimeZone, Utc};
use cutover_model::records::{Channel, Comment, Contact, Organization, Record, Ticket};
use cutover_model::{PlatformId, PlatformKind, RecordKind, Side};
use proptest::prelude::*;
use serde_json::{Value, json};

use super::bodies;
use super::mapping::{self, OriginFields};
use crate::connector::Page;
use crate::fields::{Mapped, Parsed, collect, format_time};
use crate::header;
use crate::outbound::Origin;
use crate::outbound::TicketIds;

const SIDE: Side = Side::New;

/// A mapping function under test.
type Mapper<'a> = Box<dyn Fn(&Value) -> Parsed<Mapped> + 'a>;

fn sample(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/freshdesk-samples")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The records of a sample: the object itself, the items of an array, or a search's results.
fn records(sample: &Value) -> Vec<Value> {
    match sample {
        Value::Array(items) => items.clone(),
        Value::Object(map) if map.contains_key("results") => {
            map["results"].as_array().cloned().unwrap_or_default()
        }
        other => vec![other.clone()],
    }
}

fn map_sample(name: &str, kind: RecordKind, map: impl Fn(&Value) -> Parsed<Mapped>) -> Page {
    let mut page = Page::default();
    for raw in records(&sample(name)) {
        collect(&mut page, PlatformKind::Freshdesk, kind, &raw, false, &map);
    }
    page
}

#[test]
fn every_sample_maps_or_is_rejected_with_a_reason() {
    let origin = OriginFields::default();
    let ticket = |raw: &Value| mapping::ticket(raw, SIDE, &origin);
    let cases: Vec<(&str, RecordKind, Mapper<'_>, usize)> = vec![
        ("ticket_1.json", RecordKind::Ticket, Box::new(ticket), 1),
        (
            "ticket_1_updated.json",
            RecordKind::Ticket,
            Box::new(ticket),
            1,
        ),
        (
            "outbound_email_1.json",
            RecordKind::Ticket,
            Box::new(ticket),
            1,
        ),
        ("all_tickets.json", RecordKind::Ticket, Box::new(ticket), 1),
        (
            "search_tickets.json",
            RecordKind::Ticket,
            Box::new(ticket),
            2,
        ),
        (
            "ticket_1.json",
            RecordKind::Comment,
            Box::new(|r| mapping::description(r, SIDE)),
            2,
        ),
        (
            "conversations.json",
            RecordKind::Comment,
            Box::new(|r| mapping::conversation(r, SIDE)),
            2,
        ),
        (
            "note_1.json",
            RecordKind::Comment,
            Box::new(|r| mapping::conversation(r, SIDE)),
            1,
        ),
        (
            "reply_1.json",
            RecordKind::Comment,
            Box::new(|r| mapping::conversation(r, SIDE)),
            1,
        ),
        (
            "contact.json",
            RecordKind::Contact,
            Box::new(|r| mapping::contact(r, SIDE)),
            1,
        ),
        (
            "contacts.json",
            RecordKind::Contact,
            Box::new(|r| mapping::contact(r, SIDE)),
            2,
        ),
        (
            "contact_updated.json",
            RecordKind::Contact,
            Box::new(|r| mapping::contact(r, SIDE)),
            1,
        ),
        (
            "search_contacts.json",
            RecordKind::Contact,
            Box::new(|r| mapping::contact(r, SIDE)),
            2,
        ),
        (
            "contact_1_agent.json",
            RecordKind::Contact,
            Box::new(|r| mapping::contact(r, SIDE)),
            0,
        ),
        (
            "company.json",
            RecordKind::Organization,
            Box::new(|r| mapping::company(r, SIDE)),
            1,
        ),
        (
            "companies.json",
            RecordKind::Organization,
            Box::new(|r| mapping::company(r, SIDE)),
            2,
        ),
        (
            "company_updated.json",
            RecordKind::Organization,
            Box::new(|r| mapping::company(r, SIDE)),
            1,
        ),
        (
            "search_companies.json",
            RecordKind::Organization,
            Box::new(|r| mapping::company(r, SIDE)),
            2,
        ),
        (
            "agent_1.json",
            RecordKind::Agent,
            Box::new(|r| mapping::agent(r, SIDE)),
            1,
        ),
        (
            "agents.json",
            RecordKind::Agent,
            Box::new(|r| mapping::agent(r, SIDE)),
            2,
        ),
        (
            "agent_1_updated.json",
            RecordKind::Agent,
            Box::new(|r| mapping::agent(r, SIDE)),
            1,
        ),
        (
            "group_1.json",
            RecordKind::Group,
            Box::new(|r| mapping::group(r, SIDE)),
            1,
        ),
        (
            "groups.json",
            RecordKind::Group,
            Box::new(|r| mapping::group(r, SIDE)),
            2,
        ),
        (
            "role_1.json",
            RecordKind::Role,
            Box::new(|r| mapping::role(r, SIDE)),
            1,
        ),
        (
            "roles.json",
            RecordKind::Role,
            Box::new(|r| mapping::role(r, SIDE)),
            2,
        ),
    ];
    for (name, kind, map, expected) in cases {
        let page = map_sample(name, kind, map);
        let rejected: Vec<String> = page.rejected.iter().map(ToString::to_string).collect();
        assert!(rejected.is_empty(), "{name}: {rejected:?}");
        assert_eq!(page.items.len(), expected, "{name}");
    }
    // The legacy (API v1) company sample spells domains as one string: a clear rejection.
    let legacy = map_sample("customer.json", RecordKind::Organization, |r| {
        mapping::company(r, SIDE)
    });
    assert_eq!(legacy.rejected.len(), 1);
    assert_eq!(
        legacy.rejected[0].to_string(),
        "read organization 1 from freshdesk: field domains: expected an array of strings, found string \"acme.com\""
    );
}

#[test]
fn a_sample_ticket_reads_with_freshdesk_names() {
    let page = map_sample("ticket_1.json", RecordKind::Ticket, |r| {
        mapping::ticket(r, SIDE, &OriginFields::default())
    });
    let Record::Ticket(ticket) = &page.items[0].record else {
        panic!("a ticket")
    };
    assert_eq!(
        (ticket.status.as_str(), ticket.priority.as_deref()),
        ("open", Some("low"))
    );
    assert_eq!(ticket.channel, Channel::WebForm);
    assert_eq!(ticket.ticket_type.as_deref(), Some("Question"));
    assert_eq!(ticket.requester.as_str(), "6012691534");
    assert_eq!(
        ticket.assignee.as_ref().map(PlatformId::as_str),
        Some("6010396333")
    );
    assert_eq!(
        ticket.solved_at.map(|t| format_time(&t)).as_deref(),
        Some("2020-07-24T15:35:21Z")
    );
    assert!(
        ticket.custom_fields.is_empty(),
        "null custom fields are left out"
    );
    let updated = map_sample("ticket_1_updated.json", RecordKind::Ticket, |r| {
        mapping::ticket(r, SIDE, &OriginFields::default())
    });
    let Record::Ticket(updated) = &updated.items[0].record else {
        panic!("a ticket")
    };
    assert_eq!(
        (updated.status.as_str(), updated.priority.as_deref()),
        ("resolved", Some("high"))
    );
}

#[test]
fn the_description_is_the_first_comment_with_the_tickets_attachments() {
    let page = map_sample("ticket_1.json", RecordKind::Comment, |r| {
        mapping::description(r, SIDE)
    });
    assert_eq!(page.items[0].id.as_str(), "d1");
    let Record::Comment(comment) = &page.items[0].record else {
        panic!("a comment")
    };
    assert_eq!(comment.author.as_str(), "6012691534");
    assert!(comment.public);
    let Record::Attachment(attachment) = &page.items[1].record else {
        panic!("an attachment")
    };
    assert_eq!(
        (
            attachment.file_name.as_str(),
            attachment.size,
            attachment.comment.as_str()
        ),
        ("attachment.txt", 44115, "d1")
    );
    assert_eq!(
        page.attachments[0].url.host_str(),
        Some("cdn.freshdesk.com")
    );
}

#[test]
fn notes_read_private_and_replies_public() {
    let page = map_sample("conversations.json", RecordKind::Comment, |r| {
        mapping::conversation(r, SIDE)
    });
    let public: Vec<bool> = page
        .items
        .iter()
        .map(|o| matches!(&o.record, Record::Comment(c) if c.public))
        .collect();
    assert_eq!(public, vec![false, true]);
}

#[test]
fn a_mark_reads_as_the_origin_and_anything_else_as_none() {
    let origin = |mapped: Parsed<Mapped>| match mapped {
        Ok(Mapped::Record(observed) | Mapped::Comment(observed, _)) => observed.origin,
        other => panic!("maps: {:?}", other.err()),
    };
    let copy = |kind, id: u64| {
        Some(cutover_model::RecordRef {
            kind,
            side: Side::Old,
            id: PlatformId::from(id),
        })
    };
    // Tickets: the origin custom field, under the name the connector is configured with.
    let fields = OriginFields {
        id: "cf_original_id".into(),
        ..OriginFields::default()
    };
    let ticket = |custom: Value| json!({"id": 9, "status": 2, "priority": 1, "source": 1, "requester_id": 1, "created_at": "2020-01-01T00:00:00Z", "custom_fields": custom});
    assert_eq!(
        origin(mapping::ticket(
            &ticket(json!({"cf_original_id": "cutover:old:ticket:40"})),
            SIDE,
            &fields
        )),
        copy(RecordKind::Ticket, 40)
    );
    assert_eq!(
        origin(mapping::ticket(
            &ticket(json!({"cf_original_id": null, "cf_other": "cutover:old:ticket:41"})),
            SIDE,
            &fields
        )),
        None
    );
    // Contacts: `unique_external_id`, unless the customer's own.
    let contact = |external: &str| json!({"id": 5, "name": "Ann", "unique_external_id": external});
    assert_eq!(
        origin(mapping::contact(&contact("cutover:old:contact:7"), SIDE)),
        copy(RecordKind::Contact, 7)
    );
    assert_eq!(origin(mapping::contact(&contact("crm-7"), SIDE)), None);
    // Notes and descriptions: the header line.
    let source = Origin {
        side: Side::Old,
        platform: PlatformKind::Zendesk,
        kind: RecordKind::Comment,
        id: PlatformId::from(400),
    };
    let created = Utc.with_ymd_and_hms(2023, 9, 18, 15, 57, 42).unwrap();
    let line = header::header(&source, &created, true, None);
    let note = |body: String| json!({"id": 77, "ticket_id": 9, "user_id": 5, "private": true, "body": body, "created_at": "2030-01-01T00:00:00Z"});
    assert_eq!(
        origin(mapping::conversation(
            &note(format!("{line}<p>Hi</p>")),
            SIDE
        )),
        copy(RecordKind::Comment, 400)
    );
    assert_eq!(
        origin(mapping::conversation(&note("<p>Hi</p>".into()), SIDE)),
        None
    );
    let description = json!({"id": 9, "requester_id": 5, "created_at": "2030-01-01T00:00:00Z", "description": format!("{line}<p>Hi</p>")});
    assert_eq!(
        origin(mapping::description(&description, SIDE)),
        copy(RecordKind::Comment, 400)
    );
}

#[test]
fn unknown_codes_are_rejected_naming_the_field() {
    let origin = OriginFields::default();
    let raw = |status: i64, priority: i64, source: i64| json!({"id": 9, "status": status, "priority": priority, "source": source, "requester_id": 1, "created_at": "2020-01-01T00:00:00Z"});
    let check = |raw: Value, field: &str| {
        let mut page = Page::default();
        collect(
            &mut page,
            PlatformKind::Freshdesk,
            RecordKind::Ticket,
            &raw,
            false,
            |r| mapping::ticket(r, SIDE, &origin),
        );
        assert_eq!(page.rejected.len(), 1, "{raw}");
        assert_eq!(page.rejected[0].field.as_deref(), Some(field));
        assert_eq!(page.rejected[0].id.as_deref(), Some("9"));
    };
    check(raw(1, 1, 1), "status");
    check(raw(2, 5, 1), "priority");
    check(raw(2, 1, 99), "source");
    check(
        json!({"id": 9, "status": "open", "priority": 1, "source": 1, "requester_id": 1, "created_at": "2020-01-01T00:00:00Z"}),
        "status",
    );
    // Custom statuses (codes above 5) are the account's own: kept as their code.
    let Ok(Mapped::Record(custom)) = mapping::ticket(&raw(7, 1, 1), SIDE, &origin) else {
        panic!("maps")
    };
    assert!(matches!(custom.record, Record::Ticket(t) if t.status == "7"));
}

#[test]
fn ratings_read_freshdesk_answer_codes() {
    let raw = |code: i64| json!({"id": 1, "ticket_id": 2, "user_id": 3, "ratings": {"default_question": code}, "created_at": "2023-01-01T00:00:00Z"});
    for (code, score) in mapping::RATINGS {
        let Ok(Mapped::Record(observed)) = mapping::rating(&raw(*code), SIDE) else {
            panic!("maps")
        };
        assert!(
            matches!(observed.record, Record::SatisfactionRating(r) if i64::from(r.score.get()) == *score)
        );
    }
    assert!(mapping::rating(&raw(7), SIDE).is_err());
}

// Round trips: canonical → the body cutover writes → Freshdesk's answer → canonical.

fn time() -> impl Strategy<Value = DateTime<Utc>> {
    (0i64..2_000_000_000).prop_map(|s| Utc.timestamp_opt(s, 0).single().unwrap())
}

fn text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9 ,.'-]{1,30}"
}

fn tags() -> impl Strategy<Value = BTreeSet<String>> {
    prop::collection::btree_set("[a-z_]{1,10}", 0..4)
}

fn custom_values() -> impl Strategy<Value = BTreeMap<String, Value>> {
    prop::collection::btree_map(
        "cf_[a-z_]{1,8}",
        prop_oneof![
            text().prop_map(Value::from),
            any::<bool>().prop_map(Value::from)
        ],
        0..3,
    )
}

fn id() -> impl Strategy<Value = PlatformId> {
    (1u64..u64::from(u32::MAX)).prop_map(PlatformId::from)
}

fn answered(mut body: Value, id: &PlatformId, created_at: &str) -> Value {
    body["id"] = bodies::id_json(id);
    body["created_at"] = json!(created_at);
    body["updated_at"] = json!("2024-01-01T00:00:00Z");
    body
}

fn read_back(mapped: Parsed<Mapped>) -> Record {
    match mapped {
        Ok(Mapped::Record(observed)) => observed.record,
        other => panic!("did not map: {other:?}"),
    }
}

proptest! {
    #[test]
    fn companies_round_trip(name in text(), domains in tags(), details in prop::option::of(text()), notes in prop::option::of(text()), custom_fields in custom_values(), id in id()) {
        let org = Organization { name, domains, details, notes, tags: BTreeSet::new(), custom_fields };
        let raw = answered(bodies::company(&org), &id, "2020-01-01T00:00:00Z");
        prop_assert_eq!(read_back(mapping::company(&raw, SIDE)), Record::Organization(org));
    }

    #[test]
    fn contacts_round_trip(
        name in text(), email in prop::option::of("[a-z]{1,8}@[a-z]{1,8}\\.com"), phone in prop::option::of("[0-9]{6,12}"),
        company in prop::option::of(id()), external_id in prop::option::of("[A-Z]{2}-[0-9]{1,6}"),
        language in prop::option::of("[a-z]{2}"), time_zone in prop::option::of("[A-Z][a-z]+"), tags in tags(),
        custom_fields in custom_values(), id in id(),
    ) {
        let contact = Contact { name, email, phone, organization: company.clone(), external_id, locale: language, time_zone, tags, custom_fields, active: true };
        let raw = answered(bodies::contact(&contact, company.as_ref(), "cutover:old:contact:1"), &id, "2020-01-01T00:00:00Z");
        prop_assert_eq!(read_back(mapping::contact(&raw, SIDE)), Record::Contact(contact));
    }

    /// Freshdesk cannot backdate: the original creation time comes back from the origin field.
    #[test]
    fn tickets_round_trip_with_their_history(
        subject in text(), status in prop::sample::select(vec!["open", "pending", "resolved", "closed", "6"]),
        priority in prop::option::of(prop::sample::select(vec!["low", "medium", "high", "urgent"])),
        ticket_type in prop::option::of(text()), channel in prop::sample::select(vec![Channel::Email, Channel::WebForm, Channel::Voice, Channel::Chat]),
        requester in id(), assignee in prop::option::of(id()), group in prop::option::of(id()), company in prop::option::of(id()),
        tags in tags(), custom_fields in custom_values(), created_at in time(), id in id(),
    ) {
        let ticket = Ticket {
            subject, status: status.to_owned(), priority: priority.map(str::to_owned), ticket_type, brand: None, channel,
            requester: requester.clone(), assignee: assignee.clone(), group: group.clone(), organization: company.clone(),
            tags, custom_fields, created_at, solved_at: None, merged_into: None,
        };
        let origin_fields = OriginFields::default();
        let mut fields = ticket.custom_fields.clone();
        fields.insert(origin_fields.id.clone(), json!("cutover:old:ticket:1"));
        if let Some(key) = &origin_fields.created_at {
            fields.insert(key.clone(), json!(format_time(&created_at)));
        }
        let ids = TicketIds { requester, assignee, group, organization: company, brand: None };
        let body = bodies::ticket("test", &ticket, &ids, Some("<p>hi</p>"), &fields).unwrap();
        let raw = answered(body, &id, "2024-06-01T00:00:00Z");
        prop_assert_eq!(read_back(mapping::ticket(&raw, SIDE, &origin_fields)), Record::Ticket(ticket));
    }

    /// A note carries the original time and visibility in its header line.
    #[test]
    fn notes_round_trip_with_their_history(
        ticket in id(), author in id(), public in any::<bool>(), html_body in "<div>[A-Za-z0-9 ]{0,40}</div>", created_at in time(),
        source_id in id(), id in id(),
    ) {
        let comment = Comment { ticket: ticket.clone(), author: author.clone(), public, html_body, created_at };
        let origin = Origin { side: Side::Old, platform: PlatformKind::Zendesk, kind: RecordKind::Comment, id: source_id };
        let line = header::header(&origin, &created_at, public, Some("Jane Doe <jane@example.com>"));
        let mut raw = bodies::note(&format!("{line}{}", comment.html_body), &author, true);
        raw["ticket_id"] = bodies::id_json(&ticket);
        let raw = answered(raw, &id, "2024-06-01T00:00:00Z");
        let Ok(Mapped::Comment(observed, _)) = mapping::conversation(&raw, SIDE) else { panic!("maps") };
        prop_assert_eq!(observed.record, Record::Comment(comment));
        prop_assert_eq!(raw["private"].as_bool(), Some(true), "history is always written private");
    }
}
