//! Canonical records: the platform-neutral form of every record kind.
//!
//! A connector turns a platform's record into one of these and back; values from a platform's own
//! vocabulary (statuses, priorities) keep the platform's names, and the engine translates them
//! between sides with the plan's mapping tables. References to other records are
//! [`RecordKey`]s: before fingerprinting, the engine expresses every reference in the key space of
//! the old side (through the links), so the same content on both sides has the same fingerprint.
//! Times that a platform changes on every write (`updated_at`) are not content; they travel beside
//! the record in an [`Observed`] envelope.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ModelError;
use crate::fingerprint::Fingerprint;
use crate::ids::{PlatformId, RecordKind, RecordRef, Side};
use crate::rules::Rule;

/// A reference from one record to another, by the referenced record's id in a common key space.
pub type RecordKey = PlatformId;

/// Custom field values by field key (`cf_order_number`, or a Zendesk field id as text).
pub type CustomFields = BTreeMap<String, Value>;

/// How a customer reached the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// E-mail to a support address.
    Email,
    /// A web form or help-centre portal.
    WebForm,
    /// Live chat or messaging widget.
    Chat,
    /// WhatsApp messages.
    Whatsapp,
    /// A phone call.
    Voice,
    /// Created through the API or by an agent.
    Api,
    /// Social media and anything else.
    Other,
}

impl Channel {
    /// Every channel.
    pub const ALL: [Channel; 7] = [
        Channel::Email,
        Channel::WebForm,
        Channel::Chat,
        Channel::Whatsapp,
        Channel::Voice,
        Channel::Api,
        Channel::Other,
    ];

    /// The channel's name as it is serialized (`email`, `web_form`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::WebForm => "web_form",
            Channel::Chat => "chat",
            Channel::Whatsapp => "whatsapp",
            Channel::Voice => "voice",
            Channel::Api => "api",
            Channel::Other => "other",
        }
    }
}

/// A customer organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    /// Display name, unique on most platforms.
    pub name: String,
    /// E-mail domains whose senders belong to it.
    pub domains: BTreeSet<String>,
    /// Free-text details.
    pub details: Option<String>,
    /// Internal notes.
    pub notes: Option<String>,
    /// Tags.
    pub tags: BTreeSet<String>,
    /// Custom field values.
    pub custom_fields: CustomFields,
}

/// A customer (end user).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// Full name, in any script.
    pub name: String,
    /// Primary e-mail address.
    pub email: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// The organisation the contact belongs to.
    pub organization: Option<RecordKey>,
    /// The identity the organisation gives the customer in its own systems.
    pub external_id: Option<String>,
    /// Preferred language (BCP 47).
    pub locale: Option<String>,
    /// IANA time zone.
    pub time_zone: Option<String>,
    /// Tags.
    pub tags: BTreeSet<String>,
    /// Custom field values.
    pub custom_fields: CustomFields,
    /// False once suspended or deleted.
    pub active: bool,
}

/// A person who answers tickets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    /// Full name.
    pub name: String,
    /// Login e-mail: how agents are matched across platforms.
    pub email: String,
    /// The agent's role.
    pub role: Option<RecordKey>,
    /// Groups the agent belongs to.
    pub groups: BTreeSet<RecordKey>,
    /// False once the agent has left.
    pub active: bool,
}

/// A group or department of agents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// Display name.
    pub name: String,
    /// What the group handles.
    pub description: Option<String>,
}

/// A set of permissions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    /// Display name.
    pub name: String,
    /// What the role is for.
    pub description: Option<String>,
    /// Permission names, in the canonical vocabulary.
    pub permissions: BTreeSet<String>,
}

/// Which records a custom field belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldTarget {
    /// Ticket fields.
    Ticket,
    /// Contact (user) fields.
    Contact,
    /// Organisation (company) fields.
    Organization,
}

/// The type of a custom field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// One line of text.
    Text,
    /// Several lines of text.
    Textarea,
    /// A whole number.
    Integer,
    /// A decimal number.
    Decimal,
    /// Yes or no.
    Checkbox,
    /// A calendar date.
    Date,
    /// One value from a list.
    Dropdown,
    /// Several values from a list.
    Multiselect,
    /// Text matched against a pattern.
    Regexp,
}

/// One choice of a dropdown or multiselect field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldOption {
    /// What agents see.
    pub name: String,
    /// What is stored.
    pub value: String,
}

/// The definition of a custom field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomFieldDef {
    /// Which records carry it.
    pub target: FieldTarget,
    /// The key values are stored under.
    pub key: String,
    /// What agents see.
    pub title: String,
    /// The type of its values.
    pub field_type: FieldType,
    /// Choices, in display order, for dropdown and multiselect fields.
    pub options: Vec<FieldOption>,
    /// Whether agents must fill it in.
    pub required: bool,
    /// False when retired.
    pub active: bool,
}

/// A conversation with a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    /// Subject line.
    pub subject: String,
    /// Status as its platform names it (Zendesk's `solved`, Freshdesk's code 4 as `resolved`, or a
    /// custom status name). The engine translates between sides with the plan's mapping tables.
    pub status: String,
    /// Priority as its platform names it (`low`, `normal`/`medium`, `high`, `urgent`).
    pub priority: Option<String>,
    /// Type (`question`, `incident`, `problem`, `task`, or a platform's own).
    pub ticket_type: Option<String>,
    /// Brand (Zendesk) or product (Freshdesk), by name. Carried only through a plan's
    /// `[mapping.brands]`; left out of the serialized form when none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    /// How the customer reached the service.
    pub channel: Channel,
    /// The customer who asked.
    pub requester: RecordKey,
    /// The agent it is assigned to.
    pub assignee: Option<RecordKey>,
    /// The group it is assigned to.
    pub group: Option<RecordKey>,
    /// The customer's organisation.
    pub organization: Option<RecordKey>,
    /// Tags.
    pub tags: BTreeSet<String>,
    /// Custom field values.
    pub custom_fields: CustomFields,
    /// When the customer first wrote: kept through the move.
    pub created_at: DateTime<Utc>,
    /// When it was solved, if it was.
    pub solved_at: Option<DateTime<Utc>>,
    /// The ticket it was merged into (which closed it), when it was: a reference like the
    /// others, so each side names its own copy of the target. Left out of the serialized form
    /// when none, so the fingerprint of a ticket never merged is what it was before merges were
    /// carried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<RecordKey>,
}

/// A public reply or private note on a ticket. Append-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    /// The ticket it belongs to.
    pub ticket: RecordKey,
    /// Who wrote it (a contact or an agent).
    pub author: RecordKey,
    /// Public reply (seen by the customer) or private note.
    pub public: bool,
    /// The body as HTML, inline images pointing at attachments.
    pub html_body: String,
    /// When it was written: kept through the move.
    pub created_at: DateTime<Utc>,
}

/// A file attached to a comment. Carried byte for byte, proven by its checksum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The comment it belongs to.
    pub comment: RecordKey,
    /// File name as the customer sent it.
    pub file_name: String,
    /// MIME type.
    pub content_type: String,
    /// Size in bytes.
    pub size: u64,
    /// blake3 of the bytes, lowercase hex.
    pub checksum: String,
    /// Whether it is an image shown inside the body.
    pub inline: bool,
}

/// A satisfaction score from 1 (very unhappy) to 5 (very happy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Score(u8);

impl Score {
    /// Parses a score: 1 to 5.
    pub fn new(value: i64) -> Result<Self, ModelError> {
        match u8::try_from(value) {
            Ok(v @ 1..=5) => Ok(Score(v)),
            _ => Err(ModelError::Score(value)),
        }
    }

    /// The score, 1 to 5.
    pub fn get(self) -> u8 {
        self.0
    }

    /// Whether it counts towards CSAT (4 or 5).
    pub fn is_satisfied(self) -> bool {
        self.0 >= 4
    }
}

impl TryFrom<i64> for Score {
    type Error = ModelError;
    fn try_from(value: i64) -> Result<Self, Self::Error> {
        Score::new(value)
    }
}

impl From<Score> for i64 {
    fn from(value: Score) -> Self {
        i64::from(value.0)
    }
}

/// A customer's rating of a solved ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SatisfactionRating {
    /// The ticket rated.
    pub ticket: RecordKey,
    /// The customer who rated.
    pub requester: RecordKey,
    /// The agent who was assigned.
    pub assignee: Option<RecordKey>,
    /// The score.
    pub score: Score,
    /// What the customer wrote.
    pub comment: Option<String>,
    /// When the customer rated.
    pub created_at: DateTime<Utc>,
}

/// A channel's set-up (a support e-mail address): kept as the platform's JSON and compared as
/// such. Macros, routing rules, SLA policies, views and forms are [`Rule`]s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigRecord {
    /// Title or name.
    pub title: String,
    /// False when switched off.
    pub active: bool,
    /// Position among its siblings, where order matters (triggers, views).
    pub position: Option<i64>,
    /// Conditions, in canonical JSON.
    pub conditions: Value,
    /// Actions or targets, in canonical JSON.
    pub actions: Value,
}

/// A canonical record of any kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "record", rename_all = "snake_case")]
pub enum Record {
    /// See [`Organization`].
    Organization(Organization),
    /// See [`Contact`].
    Contact(Contact),
    /// See [`Agent`].
    Agent(Agent),
    /// See [`Group`].
    Group(Group),
    /// See [`Role`].
    Role(Role),
    /// See [`CustomFieldDef`].
    CustomField(CustomFieldDef),
    /// See [`Ticket`].
    Ticket(Ticket),
    /// See [`Comment`].
    Comment(Comment),
    /// See [`Attachment`].
    Attachment(Attachment),
    /// See [`SatisfactionRating`].
    SatisfactionRating(SatisfactionRating),
    /// A macro (Freshdesk: a canned response or a scenario automation).
    Macro(Rule),
    /// A trigger or automation (Freshdesk: an automation rule).
    Automation(Rule),
    /// An SLA policy.
    SlaPolicy(Rule),
    /// A view.
    View(Rule),
    /// A ticket form.
    TicketForm(Rule),
    /// A channel's set-up.
    ChannelConfig(ConfigRecord),
}

impl Record {
    /// The kind of this record.
    pub fn kind(&self) -> RecordKind {
        match self {
            Record::Organization(_) => RecordKind::Organization,
            Record::Contact(_) => RecordKind::Contact,
            Record::Agent(_) => RecordKind::Agent,
            Record::Group(_) => RecordKind::Group,
            Record::Role(_) => RecordKind::Role,
            Record::CustomField(_) => RecordKind::CustomField,
            Record::Ticket(_) => RecordKind::Ticket,
            Record::Comment(_) => RecordKind::Comment,
            Record::Attachment(_) => RecordKind::Attachment,
            Record::SatisfactionRating(_) => RecordKind::SatisfactionRating,
            Record::Macro(_) => RecordKind::Macro,
            Record::Automation(_) => RecordKind::Automation,
            Record::SlaPolicy(_) => RecordKind::SlaPolicy,
            Record::View(_) => RecordKind::View,
            Record::TicketForm(_) => RecordKind::TicketForm,
            Record::ChannelConfig(_) => RecordKind::ChannelConfig,
        }
    }

    /// The rule of a macro, routing rule, SLA policy, view or ticket form.
    pub fn rule(&self) -> Option<&Rule> {
        match self {
            Record::Macro(rule)
            | Record::Automation(rule)
            | Record::SlaPolicy(rule)
            | Record::View(rule)
            | Record::TicketForm(rule) => Some(rule),
            _ => None,
        }
    }

    /// Like [`Record::rule`], to change it.
    pub fn rule_mut(&mut self) -> Option<&mut Rule> {
        match self {
            Record::Macro(rule)
            | Record::Automation(rule)
            | Record::SlaPolicy(rule)
            | Record::View(rule)
            | Record::TicketForm(rule) => Some(rule),
            _ => None,
        }
    }

    /// A rule as a record of `kind` (a macro, routing rule, SLA policy, view or ticket form);
    /// `None` for another kind.
    pub fn of_rule(kind: RecordKind, rule: Rule) -> Option<Record> {
        Some(match kind {
            RecordKind::Macro => Record::Macro(rule),
            RecordKind::Automation => Record::Automation(rule),
            RecordKind::SlaPolicy => Record::SlaPolicy(rule),
            RecordKind::View => Record::View(rule),
            RecordKind::TicketForm => Record::TicketForm(rule),
            _ => return None,
        })
    }

    /// The fingerprint of this record's content (kind included).
    pub fn fingerprint(&self) -> Fingerprint {
        // Serializing plain structs of strings, numbers, maps with string keys and times cannot
        // fail; should a future field make it fail, the error text still gives a stable hash.
        match serde_json::to_value(self) {
            Ok(json) => Fingerprint::of_json(&json),
            Err(e) => Fingerprint::of_json(&Value::String(format!("unserializable: {e}"))),
        }
    }
}

/// A record as read from one side: where it lives, the platform's version of it, and its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observed {
    /// Which platform it was read from.
    pub side: Side,
    /// Its id there.
    pub id: PlatformId,
    /// The platform's own last update time: a version, not content.
    pub updated_at: Option<DateTime<Utc>>,
    /// The canonical content.
    pub record: Record,
    /// The record this one is cutover's copy of, when it carries cutover's mark (an external id,
    /// an origin custom field or a comment's header line naming `cutover:{side}:{kind}:{id}`);
    /// `None` when the platform shows no mark, whoever wrote it. Not content: it is kept out of
    /// the record and so out of its fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<RecordRef>,
}

#[cfg(test)]
mod observed_tests {
    use super::{Group, Observed, Record};
    use crate::ids::{PlatformId, RecordKind, RecordRef, Side};

    fn group() -> Observed {
        Observed {
            side: Side::New,
            id: PlatformId::from(5),
            updated_at: None,
            record: Record::Group(Group {
                name: "Billing".into(),
                description: None,
            }),
            origin: None,
        }
    }

    #[test]
    fn an_origin_is_written_only_when_known_and_read_back_as_none_when_absent() {
        let plain = group();
        let json = serde_json::to_value(&plain).unwrap();
        assert!(json.get("origin").is_none(), "{json}");
        // Envelopes stored before origins existed read back with none.
        let back: Observed = serde_json::from_value(json).unwrap();
        assert_eq!(back, plain);
        let marked = Observed {
            origin: Some(RecordRef {
                kind: RecordKind::Group,
                side: Side::Old,
                id: PlatformId::from(2),
            }),
            ..group()
        };
        let json = serde_json::to_value(&marked).unwrap();
        assert_eq!(json["origin"]["id"], "2");
        assert_eq!(serde_json::from_value::<Observed>(json).unwrap(), marked);
        // Not content: the record, and so its fingerprint, is the same.
        assert_eq!(marked.record.fingerprint(), plain.record.fingerprint());
    }
}

#[cfg(test)]
mod channel_tests {
    use super::Channel;

    #[test]
    fn a_channel_is_named_as_it_is_serialized() {
        for channel in Channel::ALL {
            let json = serde_json::to_value(channel).unwrap();
            assert_eq!(json.as_str(), Some(channel.as_str()));
        }
    }
}
