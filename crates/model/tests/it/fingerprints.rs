//! Property tests: key order and map order never change a fingerprint; any change of content does.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{TimeZone, Utc};
use cutover_model::records::{Channel, Contact, Ticket};
use cutover_model::{Fingerprint, PlatformId, Record};
use proptest::prelude::*;
use serde_json::{Map, Value};

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,6}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Writes a JSON object's keys in the order `order` gives (a permutation seed), recursively, as
/// text: what a platform that sends keys in another order would send.
fn write_permuted(value: &Value, seed: u64, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            let len = entries.len().max(1);
            entries.rotate_left((seed as usize) % len);
            if seed % 2 == 1 {
                entries.reverse();
            }
            out.push('{');
            for (idx, (key, item)) in entries.into_iter().enumerate() {
                if idx > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(key).unwrap());
                out.push(':');
                write_permuted(item, seed.wrapping_mul(31).wrapping_add(idx as u64), out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (idx, item) in items.iter().enumerate() {
                if idx > 0 {
                    out.push(',');
                }
                write_permuted(item, seed.wrapping_add(idx as u64), out);
            }
            out.push(']');
        }
        leaf => out.push_str(&serde_json::to_string(leaf).unwrap()),
    }
}

fn ticket_strategy() -> impl Strategy<Value = Ticket> {
    (
        "\\PC{0,40}",
        prop::sample::select(vec!["new", "open", "pending", "hold", "solved", "closed"]),
        prop::option::of(prop::sample::select(vec![
            "low", "normal", "high", "urgent",
        ])),
        1u64..1_000_000,
        prop::collection::btree_set("[a-z]{1,8}", 0..4),
        prop::collection::btree_map("cf_[a-z]{1,6}", json_leaf(), 0..4),
        0i64..2_000_000_000,
    )
        .prop_map(
            |(subject, status, priority, requester, tags, custom_fields, created)| Ticket {
                subject,
                status: status.to_owned(),
                priority: priority.map(str::to_owned),
                ticket_type: None,
                brand: None,
                channel: Channel::Email,
                requester: PlatformId::from(requester),
                assignee: None,
                group: None,
                organization: None,
                tags,
                custom_fields,
                created_at: Utc.timestamp_opt(created, 0).single().unwrap(),
                solved_at: None,
                merged_into: None,
            },
        )
}

proptest! {
    #[test]
    fn key_order_never_changes_a_fingerprint(value in json_value(), seed in any::<u64>()) {
        let mut text = String::new();
        write_permuted(&value, seed, &mut text);
        let reparsed: Value = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(Fingerprint::of_json(&value), Fingerprint::of_json(&reparsed));
    }

    #[test]
    fn map_insertion_order_never_changes_a_fingerprint(
        entries in prop::collection::vec(("[a-z]{1,6}", json_leaf()), 0..12)
    ) {
        let mut forward = Map::new();
        for (key, item) in &entries {
            forward.insert(key.clone(), item.clone());
        }
        // Insert in reverse, keeping the last value per key as the forward map does.
        let kept: BTreeMap<&String, &Value> = entries.iter().map(|(k, v)| (k, v)).collect();
        let mut backward = Map::new();
        for (key, item) in kept.iter().rev() {
            backward.insert((*key).clone(), (*item).clone());
        }
        prop_assert_eq!(
            Fingerprint::of_json(&Value::Object(forward)),
            Fingerprint::of_json(&Value::Object(backward))
        );
    }

    #[test]
    fn a_record_read_back_from_permuted_json_keeps_its_fingerprint(
        ticket in ticket_strategy(), seed in any::<u64>()
    ) {
        let record = Record::Ticket(ticket);
        let mut text = String::new();
        write_permuted(&serde_json::to_value(&record).unwrap(), seed, &mut text);
        let reread: Record = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(record.fingerprint(), reread.fingerprint());
    }

    #[test]
    fn any_change_of_a_ticket_changes_its_fingerprint(
        ticket in ticket_strategy(), which in 0usize..8, text in "\\PC{1,10}"
    ) {
        let mut changed = ticket.clone();
        match which {
            0 => changed.subject.push_str(&text),
            1 => changed.status = if ticket.status == "open" { "pending".into() } else { "open".into() },
            2 => changed.priority = if ticket.priority.is_some() { None } else { Some("low".into()) },
            3 => changed.requester = PlatformId::parse(format!("{}9", ticket.requester)).unwrap(),
            4 => { changed.tags.insert(format!("{text}-extra")); }
            5 => { changed.custom_fields.insert("cf_changed".into(), Value::String(text)); }
            6 => changed.merged_into = Some(PlatformId::from(7u64)),
            _ => changed.created_at += chrono::Duration::seconds(1),
        }
        prop_assert_ne!(Record::Ticket(ticket).fingerprint(), Record::Ticket(changed).fingerprint());
    }

    #[test]
    fn a_ticket_never_merged_is_written_as_before_merges_were_carried(ticket in ticket_strategy()) {
        // Without `merged_into`, the serialized form (what the fingerprint hashes) has no such
        // key: the links and fingerprints stored before merges were carried stay equal.
        let value = serde_json::to_value(Record::Ticket(ticket.clone())).unwrap();
        prop_assert!(!value.to_string().contains("merged_into"));
        let mut merged = ticket;
        merged.merged_into = Some(PlatformId::from(7u64));
        let value = serde_json::to_value(Record::Ticket(merged)).unwrap();
        prop_assert!(value.to_string().contains("\"merged_into\":\"7\""), "{}", value);
    }

    #[test]
    fn any_change_of_a_json_leaf_changes_the_fingerprint(value in json_value(), replacement in json_leaf()) {
        // Replace the whole value inside a wrapper: differing content must differ in hash.
        prop_assume!(value != replacement);
        prop_assert_ne!(Fingerprint::of_json(&value), Fingerprint::of_json(&replacement));
    }
}

#[test]
fn the_same_kind_of_content_under_another_kind_has_another_fingerprint() {
    let contact = Contact {
        name: "Ана Петрова".into(),
        email: Some("ana@example.com".into()),
        phone: None,
        organization: None,
        external_id: None,
        locale: None,
        time_zone: None,
        tags: BTreeSet::new(),
        custom_fields: BTreeMap::new(),
        active: true,
    };
    let as_contact = Record::Contact(contact.clone());
    let mut inactive = contact;
    inactive.active = false;
    assert_ne!(
        as_contact.fingerprint(),
        Record::Contact(inactive).fingerprint()
    );
    assert_eq!(as_contact.kind().as_str(), "contact");
}
