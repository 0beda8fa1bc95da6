//! Zendesk mapping tests: every record in the recorded real answers maps (or is rejected with a
//! reason), bad records are rejected naming kind, id and field, and canonical records survive a
//! trip through Zendesk's JSON.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use chrono::{DateTime, TimeZone, Utc};
use cutover_model::records::{
    Channel, Comment, Contact, CustomFieldDef, FieldOption, FieldTarget, FieldType, Group,
    Organization, Record, Ticket,
};
use cutover_model::{PlatformId, PlatformKind, RecordKind, Side};
use proptest::prelude::*;
use serde_json::{Value, json};

use super::bodies;
use super::mapping::{self, ConfigShape, SolvedAt};
use super::rule_lists;
use super::rules::List;
use crate::connector::Page;
use crate::fields::{Mapped, Parsed, collect};
use crate::outbound::TicketIds;

const SIDE: Side = Side::Old;

fn recorded_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/zendesk-recorded")
}

/// Every interaction of every recorded session: (file, path, body).
fn interactions() -> Vec<(String, String, Value)> {
    let mut all = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(recorded_dir())
        .expect("fixtures are beside the workspace")
        .flatten()
        .collect();
    files.sort_by_key(|e| e.path());
    for entry in files {
        let name = entry.file_name().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(entry.path()).unwrap();
        let session: Value = serde_json::from_str(&text).unwrap();
        for interaction in session["interactions"].as_array().unwrap() {
            let status = interaction["status"].as_u64().unwrap_or(0);
            if (200..300).contains(&status) {
                all.push((
                    name.clone(),
                    interaction["path"].as_str().unwrap_or("").to_owned(),
                    interaction["body"].clone(),
                ));
            }
        }
    }
    all
}

fn records<'a>(body: &'a Value, single: &str, plural: &str) -> Vec<&'a Value> {
    match (body.get(single), body.get(plural)) {
        (Some(one), _) if one.is_object() => vec![one],
        (_, Some(Value::Array(many))) => many.iter().collect(),
        _ => Vec::new(),
    }
}

fn address_shape() -> ConfigShape {
    ConfigShape {
        title: "email",
        conditions: &["name", "brand_id", "default"],
        actions: &[],
    }
}

/// Every record of the recordings mapped into one page per kind read (once per test run).
fn map_recordings() -> &'static BTreeMap<RecordKind, Page> {
    static PAGES: std::sync::OnceLock<BTreeMap<RecordKind, Page>> = std::sync::OnceLock::new();
    PAGES.get_or_init(map_all_recordings)
}

fn map_all_recordings() -> BTreeMap<RecordKind, Page> {
    let mut pages: BTreeMap<RecordKind, Page> = BTreeMap::new();
    let solved = SolvedAt::new();
    let mut add = |kind: RecordKind, raw: &Value, map: &dyn Fn(&Value) -> Parsed<Mapped>| {
        collect(
            pages.entry(kind).or_default(),
            PlatformKind::Zendesk,
            kind,
            raw,
            false,
            map,
        );
    };
    for (_, path, body) in interactions() {
        for raw in records(&body, "ticket", "tickets") {
            add(RecordKind::Ticket, raw, &|r| {
                mapping::ticket(r, SIDE, &solved)
            });
        }
        for raw in records(&body, "user", "users") {
            add(RecordKind::Contact, raw, &|r| mapping::contact(r, SIDE));
            add(RecordKind::Agent, raw, &|r| {
                mapping::agent(r, SIDE, &BTreeMap::new())
            });
        }
        for raw in records(&body, "organization", "organizations") {
            add(RecordKind::Organization, raw, &|r| {
                mapping::organization(r, SIDE)
            });
        }
        for raw in records(&body, "group", "groups") {
            add(RecordKind::Group, raw, &|r| mapping::group(r, SIDE));
        }
        for raw in records(&body, "custom_role", "custom_roles") {
            add(RecordKind::Role, raw, &|r| mapping::role(r, SIDE));
        }
        for (single, plural, target) in [
            ("ticket_field", "ticket_fields", FieldTarget::Ticket),
            ("user_field", "user_fields", FieldTarget::Contact),
            (
                "organization_field",
                "organization_fields",
                FieldTarget::Organization,
            ),
        ] {
            for raw in records(&body, single, plural) {
                add(RecordKind::CustomField, raw, &|r| {
                    mapping::custom_field(r, SIDE, target)
                });
            }
        }
        if let Some(ticket) = path
            .strip_prefix("/api/v2/tickets/")
            .and_then(|p| p.split('/').next())
        {
            let ticket = PlatformId::parse(ticket).unwrap();
            for raw in records(&body, "", "comments") {
                add(RecordKind::Comment, raw, &|r| {
                    mapping::comment(r, SIDE, &ticket)
                });
            }
        }
        for audit in records(&body, "", "audits") {
            // An audit's comment event is a comment without its time: the audit's is the same.
            let ticket = PlatformId::from(audit["ticket_id"].as_u64().unwrap());
            for event in audit["events"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["type"] == "Comment")
            {
                let mut comment = event.clone();
                comment["created_at"] = audit["created_at"].clone();
                add(RecordKind::Comment, &comment, &|r| {
                    mapping::comment(r, SIDE, &ticket)
                });
            }
        }
        let no_system_fields = std::collections::HashSet::new();
        for (single, plural, list) in [
            ("macro", "macros", List::Macros),
            ("trigger", "triggers", List::Triggers),
            ("automation", "automations", List::Automations),
            ("view", "views", List::Views),
        ] {
            for raw in records(&body, single, plural) {
                let kind = match list {
                    List::Macros => RecordKind::Macro,
                    List::Views => RecordKind::View,
                    _ => RecordKind::Automation,
                };
                add(kind, raw, &|r| {
                    rule_lists::observed(r, SIDE, list, &no_system_fields)
                });
            }
        }
        for raw in records(&body, "recipient_address", "recipient_addresses") {
            add(RecordKind::ChannelConfig, raw, &|r| {
                mapping::config(r, SIDE, &address_shape())
            });
        }
    }
    pages
}

#[test]
fn every_recorded_record_maps_to_a_canonical_record() {
    let pages = map_recordings();
    let mut summary = Vec::new();
    for (kind, page) in pages {
        summary.push(format!(
            "{kind}: {} read, {} deleted, {} rejected",
            page.items.len(),
            page.deleted.len(),
            page.rejected.len()
        ));
        let rejected: Vec<String> = page
            .rejected
            .iter()
            .take(3)
            .map(ToString::to_string)
            .collect();
        assert!(page.rejected.is_empty(), "{kind}: {rejected:?}");
    }
    let count = |kind| {
        pages
            .values()
            .flat_map(|p| &p.items)
            .filter(|o| o.record.kind() == kind)
            .count()
    };
    for kind in [
        RecordKind::Ticket,
        RecordKind::Contact,
        RecordKind::Agent,
        RecordKind::Organization,
        RecordKind::Group,
        RecordKind::Role,
        RecordKind::CustomField,
        RecordKind::Comment,
        RecordKind::Attachment,
        RecordKind::Macro,
        RecordKind::Automation,
        RecordKind::View,
        RecordKind::ChannelConfig,
    ] {
        assert!(count(kind) > 0, "no {kind} in the recordings: {summary:?}");
    }
    assert!(
        !pages[&RecordKind::Ticket].deleted.is_empty(),
        "deleted tickets read as tombstones"
    );
}

#[test]
fn a_recorded_ticket_reads_as_zendesk_names_it() {
    let pages = map_recordings();
    let ticket = pages[&RecordKind::Ticket]
        .items
        .iter()
        .find(|o| o.id.as_str() == "1")
        .expect("sample ticket 1");
    let Record::Ticket(t) = &ticket.record else {
        panic!("not a ticket")
    };
    assert_eq!(t.subject, "Sample ticket: Meet the ticket");
    assert_eq!(t.status, "open");
    assert_eq!(t.priority.as_deref(), Some("normal"));
    assert_eq!(t.ticket_type.as_deref(), Some("incident"));
    assert_eq!(
        t.channel,
        Channel::Other,
        "sample_ticket is no channel of the model"
    );
    assert!(t.tags.contains("sample"));
    assert_eq!(ticket.side, SIDE);
}

#[test]
fn recorded_comments_carry_their_attachments_and_download_urls() {
    let pages = map_recordings();
    let page = &pages[&RecordKind::Comment];
    let attachment = page
        .items
        .iter()
        .find(|o| o.id.as_str() == "33144647570963")
        .expect("README.md attachment");
    let Record::Attachment(a) = &attachment.record else {
        panic!("not an attachment")
    };
    assert_eq!(a.comment.as_str(), "33144692244499");
    assert_eq!((a.file_name.as_str(), a.size), ("README.md", 15156));
    assert!(a.checksum.is_empty(), "checksums come from the download");
    let source = page
        .attachments
        .iter()
        .find(|s| s.id == attachment.id)
        .unwrap();
    assert_eq!(source.url.host_str(), Some("z3npuddn.zendesk.com"));
}

fn rejection(
    kind: RecordKind,
    raw: Value,
    map: impl FnOnce(&Value) -> Parsed<Mapped>,
) -> crate::Rejected {
    let mut page = Page::default();
    collect(&mut page, PlatformKind::Zendesk, kind, &raw, false, map);
    assert!(page.items.is_empty(), "{raw} should not map");
    page.rejected.pop().expect("a rejection")
}

#[test]
fn bad_records_are_rejected_naming_kind_id_and_field() {
    let solved = SolvedAt::new();
    let ticket = |extra: Value| {
        let mut raw = json!({"id": 7, "status": "open", "requester_id": 1, "created_at": "2023-09-18T15:57:42Z", "subject": "s"});
        for (k, v) in extra.as_object().unwrap() {
            raw[k] = v.clone();
        }
        raw
    };
    let wrong_type = rejection(RecordKind::Ticket, ticket(json!({"subject": 5})), |r| {
        mapping::ticket(r, SIDE, &solved)
    });
    assert_eq!(
        wrong_type.to_string(),
        "read ticket 7 from zendesk: field subject: expected a string, found number 5"
    );
    let unknown = rejection(
        RecordKind::Ticket,
        ticket(json!({"priority": "critical"})),
        |r| mapping::ticket(r, SIDE, &solved),
    );
    assert_eq!(unknown.field.as_deref(), Some("priority"));
    assert!(unknown.reason.contains("unknown value \"critical\""));
    let dangling = rejection(
        RecordKind::Ticket,
        ticket(json!({"requester_id": null})),
        |r| mapping::ticket(r, SIDE, &solved),
    );
    assert_eq!(
        (dangling.id.as_deref(), dangling.field.as_deref()),
        (Some("7"), Some("requester_id"))
    );
    let bad_id = rejection(
        RecordKind::Ticket,
        ticket(json!({"assignee_id": "12 3"})),
        |r| mapping::ticket(r, SIDE, &solved),
    );
    assert_eq!(bad_id.field.as_deref(), Some("assignee_id"));
    assert_eq!(
        bad_id.raw["assignee_id"], "12 3",
        "the raw record is kept whole"
    );
    let not_object = rejection(RecordKind::Group, json!("group"), |r| {
        mapping::group(r, SIDE)
    });
    assert_eq!(not_object.id, None);
}

#[test]
fn invalid_utf8_in_a_page_rejects_only_its_record() {
    let mut body = br#"{"groups":[{"id":1,"name":"ok"},{"id":2,"name":"bad "#.to_vec();
    body.extend_from_slice(&[0xc3, 0x28]);
    body.extend_from_slice(br#""}]}"#);
    let (value, lossy) = crate::fields::decode_body("read group", &body).unwrap();
    let mut page = Page::default();
    for raw in value["groups"].as_array().unwrap() {
        collect(
            &mut page,
            PlatformKind::Zendesk,
            RecordKind::Group,
            raw,
            lossy,
            |r| mapping::group(r, SIDE),
        );
    }
    assert_eq!(page.items.len(), 1);
    assert_eq!(
        page.rejected[0].to_string(),
        "read group 2 from zendesk: field name: invalid text (bad UTF-8 or a lone UTF-16 surrogate)"
    );
}

#[test]
fn marks_are_not_the_customers_external_ids() {
    let raw =
        json!({"id": 5, "name": "Ann", "role": "end-user", "external_id": "cutover:old:contact:9"});
    let Ok(Mapped::Record(observed)) = mapping::contact(&raw, SIDE) else {
        panic!("maps")
    };
    let Record::Contact(contact) = observed.record else {
        panic!("a contact")
    };
    assert_eq!(contact.external_id, None);
    assert_eq!(
        observed.origin,
        Some(cutover_model::RecordRef {
            kind: RecordKind::Contact,
            side: Side::Old,
            id: PlatformId::from(9),
        })
    );
}

#[test]
fn a_mark_reads_as_the_origin_and_anything_else_as_none() {
    let origin = |raw: &Value, map: &dyn Fn(&Value) -> Parsed<Mapped>| match map(raw) {
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
    let solved = SolvedAt::new();
    let ticket = |external_id: Value| json!({"id": 70, "status": "open", "requester_id": 5, "created_at": "2023-01-01T00:00:00Z", "external_id": external_id});
    let map_ticket = |r: &Value| mapping::ticket(r, SIDE, &solved);
    assert_eq!(
        origin(&ticket(json!("cutover:old:ticket:40")), &map_ticket),
        copy(RecordKind::Ticket, 40)
    );
    assert_eq!(origin(&ticket(json!("crm-40")), &map_ticket), None);
    assert_eq!(origin(&ticket(Value::Null), &map_ticket), None);
    let org = json!({"id": 3, "name": "Acme", "external_id": "cutover:old:organization:2"});
    assert_eq!(
        origin(&org, &|r| mapping::organization(r, SIDE)),
        copy(RecordKind::Organization, 2)
    );
    let agent = json!({"id": 4, "name": "Bo", "role": "agent", "email": "bo@example.com", "external_id": "cutover:old:agent:1"});
    assert_eq!(
        origin(&agent, &|r| mapping::agent(r, SIDE, &BTreeMap::new())),
        copy(RecordKind::Agent, 1)
    );
    // A comment cutover added to a ticket carries its mark in the header line; an imported one
    // (or one written by a person) has none.
    let crate_origin = crate::outbound::Origin {
        side: Side::Old,
        platform: PlatformKind::Zendesk,
        kind: RecordKind::Comment,
        id: PlatformId::from(400),
    };
    let created = Utc.with_ymd_and_hms(2023, 9, 18, 15, 57, 42).unwrap();
    let line = crate::header::header(&crate_origin, &created, true, None);
    let comment = |html: String| json!({"id": 900, "author_id": 5, "public": false, "html_body": html, "created_at": "2030-01-01T00:00:00Z"});
    let ticket_id = PlatformId::from(70);
    let map_comment = |r: &Value| mapping::comment(r, SIDE, &ticket_id);
    assert_eq!(
        origin(&comment(format!("{line}<p>Hi</p>")), &map_comment),
        copy(RecordKind::Comment, 400)
    );
    assert_eq!(origin(&comment("<p>Hi</p>".into()), &map_comment), None);
}

#[test]
fn ratings_read_good_as_five_and_skip_unanswered_offers() {
    let raw = |score: &str| json!({"id": 1, "ticket_id": 2, "requester_id": 3, "score": score, "created_at": "2023-01-01T00:00:00Z"});
    let Ok(Mapped::Record(good)) = mapping::rating(&raw("good"), SIDE) else {
        panic!("maps")
    };
    let Record::SatisfactionRating(rating) = good.record else {
        panic!("a rating")
    };
    assert_eq!(rating.score.get(), 5);
    assert!(matches!(
        mapping::rating(&raw("offered"), SIDE),
        Ok(Mapped::Skip)
    ));
    assert!(mapping::rating(&raw("meh"), SIDE).is_err());
}

// Round trips: canonical → the body cutover writes → Zendesk's answer → canonical.

fn time() -> impl Strategy<Value = DateTime<Utc>> {
    (0i64..2_000_000_000).prop_map(|s| Utc.timestamp_opt(s, 0).single().unwrap())
}

fn text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9 ,.'-]{1,30}"
}

fn opt_text() -> impl Strategy<Value = Option<String>> {
    prop::option::of(text())
}

fn tags() -> impl Strategy<Value = BTreeSet<String>> {
    prop::collection::btree_set("[a-z_]{1,10}", 0..4)
}

fn custom_values() -> impl Strategy<Value = BTreeMap<String, Value>> {
    prop::collection::btree_map(
        "[a-z_]{1,8}",
        prop_oneof![
            text().prop_map(Value::from),
            any::<bool>().prop_map(Value::from),
            any::<i32>().prop_map(Value::from)
        ],
        0..3,
    )
}

fn id() -> impl Strategy<Value = PlatformId> {
    (1u64..u64::from(u32::MAX)).prop_map(PlatformId::from)
}

/// Zendesk's answer to a write: the body's record plus what Zendesk adds.
fn answered(body: &Value, envelope: &str, id: &PlatformId, updated_at: &str) -> Value {
    let mut record = body[envelope].clone();
    record["id"] = bodies::id_json(id);
    record["updated_at"] = json!(updated_at);
    record["created_at"] = record
        .get("created_at")
        .cloned()
        .unwrap_or(json!(updated_at));
    record
}

fn read_back(mapped: Parsed<Mapped>) -> Record {
    match mapped {
        Ok(Mapped::Record(observed)) => observed.record,
        other => panic!("did not map: {other:?}"),
    }
}

proptest! {
    #[test]
    fn organizations_round_trip(name in text(), domains in tags(), details in opt_text(), notes in opt_text(), tags in tags(), custom_fields in custom_values(), id in id()) {
        let org = Organization { name, domains, details, notes, tags, custom_fields };
        let raw = answered(&bodies::organization(&org, "cutover:old:organization:1"), "organization", &id, "2024-01-01T00:00:00Z");
        prop_assert_eq!(read_back(mapping::organization(&raw, SIDE)), Record::Organization(org));
    }

    #[test]
    fn contacts_round_trip(
        name in text(), email in opt_text(), phone in opt_text(), organization in prop::option::of(id()),
        external_id in prop::option::of("[A-Z]{2}-[0-9]{1,6}"), locale in prop::option::of("[a-z]{2}-[A-Z]{2}"),
        time_zone in prop::option::of("[A-Z][a-z]+/[A-Z][a-z]+"), tags in tags(), custom_fields in custom_values(),
        active in any::<bool>(), id in id(),
    ) {
        let contact = Contact { name, email, phone, organization: organization.clone(), external_id, locale, time_zone, tags, custom_fields, active };
        let body = bodies::contact(&contact, organization.as_ref(), "cutover:old:contact:1");
        let raw = answered(&body, "user", &id, "2024-01-01T00:00:00Z");
        prop_assert_eq!(read_back(mapping::contact(&raw, SIDE)), Record::Contact(contact));
    }

    #[test]
    fn groups_round_trip(name in text(), description in opt_text(), id in id()) {
        let group = Group { name, description };
        let raw = answered(&bodies::group(&group), "group", &id, "2024-01-01T00:00:00Z");
        prop_assert_eq!(read_back(mapping::group(&raw, SIDE)), Record::Group(group));
    }

    #[test]
    fn user_fields_round_trip(key in "[a-z_]{1,12}", title in text(), dropdown in any::<bool>(), options in prop::collection::vec((text(), "[a-z_]{1,8}"), 0..4), active in any::<bool>(), id in id()) {
        let (field_type, options) = if dropdown {
            (FieldType::Dropdown, options.into_iter().map(|(name, value)| FieldOption { name, value }).collect())
        } else {
            (FieldType::Text, Vec::new())
        };
        let def = CustomFieldDef { target: FieldTarget::Contact, key, title, field_type, options, required: false, active };
        let raw = answered(&bodies::custom_field(&def), "user_field", &id, "2024-01-01T00:00:00Z");
        prop_assert_eq!(read_back(mapping::custom_field(&raw, SIDE, FieldTarget::Contact)), Record::CustomField(def));
    }

    #[test]
    fn imported_tickets_round_trip(
        subject in text(), status in prop::sample::select(mapping::STATUSES), priority in prop::option::of(prop::sample::select(mapping::PRIORITIES)),
        ticket_type in prop::option::of(prop::sample::select(mapping::TYPES)), requester in id(), assignee in prop::option::of(id()),
        group in prop::option::of(id()), organization in prop::option::of(id()), tags in tags(),
        custom_fields in prop::collection::btree_map((1u64..1_000_000).prop_map(|n| n.to_string()), text().prop_map(Value::from), 0..3),
        created_at in time(), solved_at in prop::option::of(time()), id in id(),
    ) {
        let ticket = Ticket {
            subject, status: status.to_owned(), priority: priority.map(str::to_owned), ticket_type: ticket_type.map(str::to_owned), brand: None,
            channel: Channel::Api, requester: requester.clone(), assignee: assignee.clone(), group: group.clone(),
            organization: organization.clone(), tags, custom_fields, created_at, solved_at, merged_into: None,
        };
        let ids = TicketIds { requester, assignee, group, organization, brand: None };
        let body = bodies::ticket_import(&ticket, &ids, "cutover:old:ticket:1", None, Vec::new());
        let mut raw = answered(&body, "ticket", &id, "2024-01-01T00:00:00Z");
        raw["via"] = json!({"channel": "api"});
        let solved: SolvedAt = solved_at.map(|t| (id.clone(), t)).into_iter().collect();
        prop_assert_eq!(read_back(mapping::ticket(&raw, SIDE, &solved)), Record::Ticket(ticket));
    }

    #[test]
    fn imported_comments_round_trip(author in id(), public in any::<bool>(), html_body in "<p>[A-Za-z0-9 ]{0,40}</p>", created_at in time(), ticket in id(), id in id()) {
        let comment = Comment { ticket: ticket.clone(), author: author.clone(), public, html_body, created_at };
        let mut raw = bodies::import_comment(&comment, &author, &comment.html_body, &[]);
        raw["id"] = bodies::id_json(&id);
        let Ok(Mapped::Comment(observed, attachments)) = mapping::comment(&raw, SIDE, &ticket) else { panic!("maps") };
        prop_assert!(attachments.is_empty());
        prop_assert_eq!(observed.record, Record::Comment(comment));
    }
}

/// Recorded rules (platform → canonical → platform): every recorded trigger, automation and
/// view reads into the canonical form, Zendesk keeps all of it (switched off), and the body it
/// writes states the very conditions and actions that were recorded; a macro reads back as
/// itself.
#[test]
fn recorded_rules_are_written_back_as_they_were_recorded() {
    use crate::rules::{Fitted, fit};
    let condition_set = |json: &Value| -> Vec<String> {
        let mut set: Vec<String> = ["all", "any"]
            .iter()
            .flat_map(|k| json[*k].as_array().cloned().unwrap_or_default())
            .map(|c| c.to_string())
            .collect();
        set.sort();
        set
    };
    let mut checked = 0;
    for (_, _, body) in interactions() {
        for (single, plural, list, kind) in [
            ("macro", "macros", List::Macros, RecordKind::Macro),
            (
                "trigger",
                "triggers",
                List::Triggers,
                RecordKind::Automation,
            ),
            (
                "automation",
                "automations",
                List::Automations,
                RecordKind::Automation,
            ),
            ("view", "views", List::Views, RecordKind::View),
        ] {
            for raw in records(&body, single, plural) {
                let rule = rule_lists::rule_from(list, raw, &Default::default()).unwrap();
                let Fitted::Written {
                    rule: fitted,
                    parts,
                } = fit(PlatformKind::Zendesk, kind, &rule)
                else {
                    panic!("zendesk cannot write its own {single}: {raw}");
                };
                assert!(parts.is_empty(), "{single} {}: {parts:?}", rule.title);
                assert!(!fitted.active, "copies are written switched off");
                let written = rule_lists::body(list, &fitted, &[]).unwrap();
                let written = &written[list.path().1];
                if list == List::Macros {
                    let mut answer = written.clone();
                    answer["id"] = serde_json::json!(1);
                    let back = rule_lists::rule_from(list, &answer, &Default::default()).unwrap();
                    assert_eq!(back, fitted, "{raw}");
                } else {
                    let recorded = &raw["conditions"];
                    let sent = match list {
                        List::Views => written.clone(),
                        _ => written["conditions"].clone(),
                    };
                    assert_eq!(condition_set(&sent), condition_set(recorded), "{raw}");
                    if list != List::Views {
                        assert_eq!(written["actions"], raw["actions"], "{raw}");
                    }
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 20, "only {checked} recorded rules");
}
