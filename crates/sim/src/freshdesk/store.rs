//! The account's records. Most are held as the JSON objects the API shows (Freshdesk's shapes
//! are wide and mostly flat), with a few internal keys starting with `_` that rendering strips.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime};
use serde_json::{Map, Value};

use super::indexed::Indexed;
use crate::datagen::{AttachmentMeta, attachment_bytes};
use crate::notify::NotificationLog;
use crate::state::{Counts, IdGen};

/// One record as JSON.
pub(crate) type Rec = Map<String, Value>;

/// Where an attachment's bytes come from.
#[derive(Debug, Clone)]
pub(crate) enum Content {
    /// Uploaded: the exact bytes.
    Stored(Arc<Vec<u8>>),
    /// Generated: regenerated from the seed on demand.
    Generated(AttachmentMeta),
}

/// A file attached to a ticket or conversation.
#[derive(Debug, Clone)]
pub(crate) struct Attachment {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) content_type: String,
    pub(crate) size: u64,
    pub(crate) created_at: i64,
    pub(crate) content: Content,
}

/// Kinds of stored reference lists (`/products`, `/email_configs`, …).
pub(crate) const LIST_KINDS: [&str; 11] = [
    "products",
    "email_configs",
    "business_hours",
    "sla_policies",
    "ticket_fields",
    "contact_fields",
    "company_fields",
    "canned_response_folders",
    "canned_responses",
    "scenario_automations",
    "skills",
];

/// The whole account.
#[derive(Debug)]
pub(crate) struct FreshdeskState {
    pub(crate) seed: u64,
    pub(crate) ticket_ids: IdGen,
    pub(crate) user_ids: IdGen,
    pub(crate) company_ids: IdGen,
    pub(crate) group_ids: IdGen,
    pub(crate) conversation_ids: IdGen,
    pub(crate) attachment_ids: IdGen,
    pub(crate) other_ids: IdGen,
    /// Tickets (trashed ones too), indexed by their `cf_*` text values.
    pub(crate) tickets: Indexed,
    pub(crate) conversations: BTreeMap<u64, Rec>,
    pub(crate) ticket_conversations: HashMap<u64, Vec<u64>>,
    /// Contacts, agents' too, indexed by e-mail (primary and other), phone, mobile,
    /// `unique_external_id` and `twitter_id`.
    pub(crate) contacts: Indexed,
    pub(crate) agents: BTreeMap<u64, Rec>,
    /// Companies, indexed by lower-cased name (in order, for autocomplete).
    pub(crate) companies: Indexed,
    pub(crate) groups: BTreeMap<u64, Rec>,
    pub(crate) roles: BTreeMap<u64, Rec>,
    pub(crate) ratings: BTreeMap<u64, Rec>,
    pub(crate) rules: BTreeMap<u64, Rec>,
    /// Time-triggered firings: `(rule id, ticket id)` to the window it fired in.
    pub(crate) time_fired: HashMap<(u64, u64), Vec<i64>>,
    pub(crate) lists: BTreeMap<&'static str, Vec<Value>>,
    pub(crate) jobs: BTreeMap<String, Value>,
    pub(crate) attachments: HashMap<u64, Attachment>,
    pub(crate) notifications: NotificationLog,
    pub(crate) owner_id: u64,
    /// The agent `agent_api_key` belongs to, when the emulator has one (Agent role, no admin).
    pub(crate) agent_key_id: Option<u64>,
    /// Ids of time entries.
    pub(crate) time_entry_ids: IdGen,
    /// Time entries (see `time_entries.rs`), with `_spent` (seconds logged while stopped).
    pub(crate) time_entries: BTreeMap<u64, Rec>,
    /// Ids of knowledge-base categories, folders and articles (one sequence).
    pub(crate) solution_ids: IdGen,
    /// Knowledge-base categories, with `_translations` (language to translated fields).
    pub(crate) solution_categories: BTreeMap<u64, Rec>,
    /// Knowledge-base folders, with `category_id` and `_translations`.
    pub(crate) solution_folders: BTreeMap<u64, Rec>,
    /// Knowledge-base articles, with `folder_id`, `category_id` and `_translations`.
    pub(crate) solution_articles: BTreeMap<u64, Rec>,
}

impl FreshdeskState {
    /// An empty account.
    pub(crate) fn empty(seed: u64) -> Self {
        Self {
            seed,
            ticket_ids: IdGen::new(1, 1),
            user_ids: IdGen::new(43_000_000_001, 1),
            company_ids: IdGen::new(51_000_000_001, 1),
            group_ids: IdGen::new(48_000_000_001, 1),
            conversation_ids: IdGen::new(60_000_000_001, 1),
            attachment_ids: IdGen::new(70_000_000_001, 1),
            other_ids: IdGen::new(80_000_000_001, 1),
            tickets: Indexed::new(ticket_keys),
            conversations: BTreeMap::new(),
            ticket_conversations: HashMap::new(),
            contacts: Indexed::new(contact_keys),
            agents: BTreeMap::new(),
            companies: Indexed::with_ordered(company_keys, "name"),
            groups: BTreeMap::new(),
            roles: BTreeMap::new(),
            ratings: BTreeMap::new(),
            rules: BTreeMap::new(),
            time_fired: HashMap::new(),
            lists: LIST_KINDS.iter().map(|k| (*k, Vec::new())).collect(),
            jobs: BTreeMap::new(),
            attachments: HashMap::new(),
            notifications: NotificationLog::default(),
            owner_id: 0,
            agent_key_id: None,
            time_entry_ids: IdGen::new(90_000_000_001, 1),
            time_entries: BTreeMap::new(),
            solution_ids: IdGen::new(95_000_000_001, 1),
            solution_categories: BTreeMap::new(),
            solution_folders: BTreeMap::new(),
            solution_articles: BTreeMap::new(),
        }
    }

    /// From now on, search and autocomplete see writes of tickets, contacts and companies as
    /// late as `late` says (set once the account is generated: generated data is indexed).
    pub(crate) fn set_lateness(&mut self, late: &crate::lateness::Lateness) {
        self.tickets.set_lateness(late.clone());
        self.contacts.set_lateness(late.clone());
        self.companies.set_lateness(late.clone());
    }

    /// Records per kind, for `/_sim/state`.
    pub(crate) fn counts(&self) -> Counts {
        let mut counts = Counts::new();
        let live = self
            .tickets
            .values()
            .filter(|t| !flag(t, "_deleted"))
            .count();
        counts.insert("tickets", live);
        counts.insert("deleted_tickets", self.tickets.len() - live);
        counts.insert("conversations", self.conversations.len());
        counts.insert(
            "contacts",
            self.contacts.values().filter(|c| !is_agent(c)).count(),
        );
        counts.insert("agents", self.agents.len());
        counts.insert("companies", self.companies.len());
        counts.insert("groups", self.groups.len());
        counts.insert("roles", self.roles.len());
        counts.insert("satisfaction_ratings", self.ratings.len());
        counts.insert("automation_rules", self.rules.len());
        counts.insert("attachments", self.attachments.len());
        counts.insert("notifications", self.notifications.len());
        counts.insert("time_entries", self.time_entries.len());
        counts.insert("solution_categories", self.solution_categories.len());
        counts.insert("solution_folders", self.solution_folders.len());
        counts.insert("solution_articles", self.solution_articles.len());
        for (kind, list) in &self.lists {
            counts.insert(kind, list.len());
        }
        counts
    }

    /// The contact with this e-mail (primary or other, case aside), deleted ones included.
    pub(crate) fn contact_by_email(&self, email: &str) -> Option<&Rec> {
        self.contacts.find("email", &fold(email.trim())).next()
    }

    /// The contact whose `key` (`phone`, `mobile`, `unique_external_id`, `twitter_id`) is
    /// exactly `value`.
    pub(crate) fn contact_by(&self, key: &str, value: &str) -> Option<&Rec> {
        self.contacts
            .find(key, &fold(value))
            .find(|c| str_of(c, key).is_some_and(|v| v == value))
    }

    /// Stores a contact (new or changed) with its index entries: every contact write, agents'
    /// included, goes through here, [`Indexed::update`] or [`Indexed::remove`].
    pub(crate) fn put_contact(&mut self, id: u64, contact: Rec) {
        self.contacts.put(id, contact);
    }

    /// Stores a ticket (new or changed) with its index entries.
    pub(crate) fn put_ticket(&mut self, id: u64, ticket: Rec) {
        self.tickets.put(id, ticket);
    }

    /// The bytes of an attachment.
    pub(crate) fn attachment_bytes(&self, att: &Attachment) -> Vec<u8> {
        match &att.content {
            Content::Stored(bytes) => bytes.as_ref().clone(),
            Content::Generated(meta) => attachment_bytes(self.seed, att.id, meta),
        }
    }

    /// Conversation ids of a ticket, oldest first.
    pub(crate) fn conversations_of(&self, ticket_id: u64) -> &[u64] {
        self.ticket_conversations
            .get(&ticket_id)
            .map_or(&[], Vec::as_slice)
    }

    /// The ticket custom fields (`cf_*`): name, type and, for dropdowns, the choices.
    pub(crate) fn ticket_custom_fields(&self) -> Vec<CustomField> {
        custom_fields(self.lists.get("ticket_fields"), true)
    }

    /// The custom fields of contacts (`"contact_fields"`) or companies (`"company_fields"`).
    pub(crate) fn custom_fields_of(&self, kind: &str) -> Vec<CustomField> {
        custom_fields(self.lists.get(kind), false)
    }

    /// The statuses a ticket may have: the keys of the status field's choices.
    pub(crate) fn statuses(&self) -> Vec<u64> {
        let mut out: Vec<u64> = self
            .lists
            .get("ticket_fields")
            .and_then(|l| {
                l.iter()
                    .find(|f| f.get("name").and_then(Value::as_str) == Some("status"))
            })
            .and_then(|f| f.get("choices"))
            .and_then(Value::as_object)
            .map(|c| c.keys().filter_map(|k| k.parse().ok()).collect())
            .unwrap_or_default();
        out.sort_unstable();
        out
    }

    /// Stores a conversation and links it to its ticket.
    pub(crate) fn put_conversation(&mut self, conversation: Rec) {
        let id = u64_of(&conversation, "id").unwrap_or(0);
        let ticket = u64_of(&conversation, "ticket_id").unwrap_or(0);
        if !self.conversations.contains_key(&id) {
            self.ticket_conversations
                .entry(ticket)
                .or_default()
                .push(id);
        }
        self.conversations.insert(id, conversation);
    }
}

/// A custom field's definition, as validation needs it.
#[derive(Debug, Clone)]
pub(crate) struct CustomField {
    pub(crate) name: String,
    pub(crate) kind: String,
    pub(crate) choices: Option<Vec<String>>,
}

fn custom_fields(list: Option<&Vec<Value>>, ticket: bool) -> Vec<CustomField> {
    list.into_iter()
        .flatten()
        .filter(|f| f.get("default").and_then(Value::as_bool) != Some(true))
        .filter_map(|f| {
            let name = f.get("name")?.as_str()?.to_owned();
            if ticket && !name.starts_with("cf_") {
                return None;
            }
            let choices = f.get("choices").and_then(Value::as_array).map(|l| {
                l.iter()
                    .filter_map(|c| {
                        c.as_str()
                            .or_else(|| c.get("value").and_then(Value::as_str))
                    })
                    .map(str::to_owned)
                    .collect()
            });
            Some(CustomField {
                name,
                kind: f
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("custom_text")
                    .to_owned(),
                choices,
            })
        })
        .collect()
}

/// A lookup key: ASCII case folded, as the API compares e-mails, phones and search values.
pub(crate) fn fold(value: &str) -> String {
    value.to_ascii_lowercase()
}

/// Contact fields looked up by value (besides `email`, which also covers `other_emails`).
pub(crate) const CONTACT_KEYS: [&str; 4] = ["phone", "mobile", "unique_external_id", "twitter_id"];

/// A contact's lookup keys: every e-mail under `email`, and [`CONTACT_KEYS`], case folded.
fn contact_keys(rec: &Rec) -> Vec<(Cow<'static, str>, String)> {
    let others = rec
        .get("other_emails")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str);
    str_of(rec, "email")
        .into_iter()
        .chain(others)
        .map(|e| (Cow::Borrowed("email"), fold(e)))
        .chain(
            CONTACT_KEYS
                .iter()
                .filter_map(|k| str_of(rec, k).map(|v| (Cow::Borrowed(*k), fold(v)))),
        )
        .collect()
}

/// A company's lookup key: its lower-cased name.
fn company_keys(rec: &Rec) -> Vec<(Cow<'static, str>, String)> {
    str_of(rec, "name")
        .map(|n| (Cow::Borrowed("name"), n.to_lowercase()))
        .into_iter()
        .collect()
}

/// A ticket's lookup keys: each text value (or text item of a list value) of its `cf_*` custom
/// fields, case folded, under the field's name.
fn ticket_keys(rec: &Rec) -> Vec<(Cow<'static, str>, String)> {
    let Some(Value::Object(custom)) = rec.get("custom_fields") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, value) in custom.iter().filter(|(k, _)| k.starts_with("cf_")) {
        match value {
            Value::String(s) => out.push((Cow::Owned(name.clone()), fold(s))),
            Value::Array(items) => out.extend(
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|s| (Cow::Owned(name.clone()), fold(s))),
            ),
            _ => {}
        }
    }
    out
}

/// A Unix time in Freshdesk's format (`2024-06-03T12:00:00Z`).
pub(crate) fn iso(unix: i64) -> String {
    DateTime::from_timestamp(unix, 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// A timestamp (RFC 3339 or `YYYY-MM-DD`) as Unix seconds.
pub(crate) fn parse_time(raw: &str) -> Option<i64> {
    let raw = raw.trim().trim_matches('\'');
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.timestamp());
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S") {
        return Some(t.and_utc().timestamp());
    }
    chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc().timestamp())
}

/// A record's timestamp field as Unix seconds (0 when absent).
pub(crate) fn time_of(rec: &Rec, key: &str) -> i64 {
    rec.get(key)
        .and_then(Value::as_str)
        .and_then(|s| fast_iso(s).or_else(|| parse_time(s)))
        .unwrap_or(0)
}

/// `YYYY-MM-DDTHH:MM:SSZ` (the format this emulator writes) without a general parser: lists
/// sort and filter every record by time, so this is on the hot path.
fn fast_iso(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[19] != b'Z' {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> { s.get(from..to)?.parse().ok() };
    let date =
        chrono::NaiveDate::from_ymd_opt(i32::try_from(num(0, 4)?).ok()?, num(5, 7)?, num(8, 10)?)?;
    let time = chrono::NaiveTime::from_hms_opt(num(11, 13)?, num(14, 16)?, num(17, 19)?)?;
    Some(date.and_time(time).and_utc().timestamp())
}

/// A string field.
pub(crate) fn str_of<'a>(rec: &'a Rec, key: &str) -> Option<&'a str> {
    rec.get(key).and_then(Value::as_str)
}

/// A numeric field.
pub(crate) fn u64_of(rec: &Rec, key: &str) -> Option<u64> {
    rec.get(key).and_then(Value::as_u64)
}

/// A boolean field (false when absent).
pub(crate) fn flag(rec: &Rec, key: &str) -> bool {
    rec.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// Whether a contact record belongs to an agent.
pub(crate) fn is_agent(contact: &Rec) -> bool {
    flag(contact, "_agent")
}

/// A copy without the internal `_` keys.
pub(crate) fn public(rec: &Rec) -> Rec {
    rec.iter()
        .filter(|(k, _)| !k.starts_with('_'))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_path_agrees_with_the_general_parser() {
        for t in [0, 1_717_416_000, 951_782_400, 4_102_444_799] {
            let s = iso(t);
            assert_eq!(fast_iso(&s), Some(t), "{s}");
            assert_eq!(parse_time(&s), Some(t));
        }
        assert_eq!(fast_iso("2024-06-03T12:00:00+02:00"), None);
        assert_eq!(parse_time("2024-06-03T12:00:00+02:00"), Some(1_717_408_800));
    }
}
