//! Typed ids: which side, which kind of record, which platform, and a platform's own id.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::ModelError;

/// One of the two platforms of a migration. Every link, cursor, metric and route names its side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The platform the organisation is leaving.
    Old,
    /// The platform the organisation is moving to.
    New,
}

impl Side {
    /// Both sides, old first.
    pub const BOTH: [Side; 2] = [Side::Old, Side::New];

    /// The other side.
    pub fn other(self) -> Side {
        match self {
            Side::Old => Side::New,
            Side::New => Side::Old,
        }
    }

    /// The lowercase name used in plans, the store and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Old => "old",
            Side::New => "new",
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, so a width (`{:<20}`) lines a table up.
        f.pad(self.as_str())
    }
}

impl FromStr for Side {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "old" => Ok(Side::Old),
            "new" => Ok(Side::New),
            other => Err(ModelError::Side(other.to_owned())),
        }
    }
}

macro_rules! record_kinds {
    ($($variant:ident => $name:literal, $doc:literal;)*) => {
        /// A kind of record, listed in dependency order: a record's parents come before it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum RecordKind {
            $(#[doc = $doc] $variant,)*
        }

        impl RecordKind {
            /// Every kind, in dependency order (parents first).
            pub const ALL: &'static [RecordKind] = &[$(RecordKind::$variant,)*];

            /// The snake_case name used in plans, the store, the CLI and metrics labels.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(RecordKind::$variant => $name,)*
                }
            }
        }

        impl FromStr for RecordKind {
            type Err = ModelError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($name => Ok(RecordKind::$variant),)*
                    other => Err(ModelError::RecordKind {
                        value: other.to_owned(),
                        expected: [$($name,)*].join(", "),
                    }),
                }
            }
        }
    };
}

record_kinds! {
    Organization => "organization", "A customer organisation (company).";
    Contact => "contact", "A customer: an end user who writes in.";
    Group => "group", "A group or department of agents.";
    Role => "role", "A set of permissions given to agents.";
    Agent => "agent", "A person who answers tickets.";
    CustomField => "custom_field", "The definition of a custom field on tickets, contacts or organizations.";
    Ticket => "ticket", "A conversation with a customer.";
    Comment => "comment", "A public reply or private note on a ticket, with its author and time.";
    Attachment => "attachment", "A file attached to a comment, carried byte for byte.";
    SatisfactionRating => "satisfaction_rating", "A customer's rating of a solved ticket.";
    Macro => "macro", "A canned set of actions an agent applies to a ticket.";
    Automation => "automation", "A routing rule: a trigger on change or an automation on time.";
    SlaPolicy => "sla_policy", "Service-level targets for first response and resolution.";
    View => "view", "A saved ticket list.";
    TicketForm => "ticket_form", "A form: which fields a ticket of a given type shows.";
    ChannelConfig => "channel_config", "The set-up of a channel: an e-mail address, an IVR menu, a chatbot flow.";
}

impl RecordKind {
    /// The kinds this kind refers to, which must be linked before a record of this kind is written.
    pub fn parents(self) -> &'static [RecordKind] {
        use RecordKind as K;
        match self {
            K::Organization | K::Group | K::Role | K::CustomField | K::ChannelConfig => &[],
            K::Contact => &[K::Organization],
            K::Agent => &[K::Group, K::Role],
            K::Ticket => &[
                K::Organization,
                K::Contact,
                K::Agent,
                K::Group,
                K::CustomField,
            ],
            K::Comment => &[K::Ticket, K::Contact, K::Agent],
            K::Attachment => &[K::Comment],
            K::SatisfactionRating => &[K::Ticket, K::Contact, K::Agent],
            K::TicketForm => &[K::CustomField],
            // A rule's conditions and actions name groups, agents, customers and their
            // organizations, and custom fields.
            K::Macro | K::View => &[K::Group, K::Agent, K::CustomField],
            K::Automation | K::SlaPolicy => &[
                K::Organization,
                K::Contact,
                K::Group,
                K::Agent,
                K::CustomField,
            ],
        }
    }

    /// Whether this kind is configuration (rules, forms, channels) rather than service data.
    pub fn is_configuration(self) -> bool {
        matches!(
            self,
            RecordKind::Macro
                | RecordKind::Automation
                | RecordKind::SlaPolicy
                | RecordKind::View
                | RecordKind::TicketForm
                | RecordKind::ChannelConfig
        )
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, so a width (`{:<20}`) lines a table up.
        f.pad(self.as_str())
    }
}

/// Something cutover adds to a platform's set-up that is no record of the move (no link names
/// it), kept in the ledger of what cutover created so `cutover cleanup` removes it: the brands
/// and ticket types the plan creates, the group memberships an agent's copy is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SetupKind {
    /// A brand (Zendesk), added for `"create"` in `[mapping.brands]`; its id is the brand's.
    Brand,
    /// A ticket type (a choice of Freshdesk's `ticket_type` field), added for `"create"` in
    /// `[mapping.ticket_types]`; its id is its name.
    TicketType,
    /// An agent's membership of a group (Zendesk's `group_memberships`); its id is the
    /// membership's.
    GroupMembership,
}

impl SetupKind {
    /// Every kind, in the order a cleanup removes them.
    pub const ALL: [SetupKind; 3] = [
        SetupKind::GroupMembership,
        SetupKind::Brand,
        SetupKind::TicketType,
    ];

    /// The snake_case name used in the store, the CLI and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            SetupKind::Brand => "brand",
            SetupKind::TicketType => "ticket_type",
            SetupKind::GroupMembership => "group_membership",
        }
    }
}

impl fmt::Display for SetupKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// A helpdesk platform that cutover can move from or to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlatformKind {
    /// Zendesk Support (API v2).
    Zendesk,
    /// Freshdesk (API v2).
    Freshdesk,
    /// Zammad (REST API v1).
    Zammad,
}

impl PlatformKind {
    /// Every platform known to the model.
    pub const ALL: &'static [PlatformKind] = &[
        PlatformKind::Zendesk,
        PlatformKind::Freshdesk,
        PlatformKind::Zammad,
    ];

    /// The lowercase name used in plans and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            PlatformKind::Zendesk => "zendesk",
            PlatformKind::Freshdesk => "freshdesk",
            PlatformKind::Zammad => "zammad",
        }
    }
}

impl fmt::Display for PlatformKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, so a width (`{:<20}`) lines a table up.
        f.pad(self.as_str())
    }
}

impl FromStr for PlatformKind {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PlatformKind::ALL
            .iter()
            .copied()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| ModelError::Platform {
                value: s.to_owned(),
                expected: PlatformKind::ALL
                    .iter()
                    .map(|p| p.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

/// A record's id on one platform, as the platform spells it (numbers are kept as their decimal text).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PlatformId(String);

impl PlatformId {
    /// Parses a platform id: not empty, no whitespace or control characters.
    pub fn parse(value: impl Into<String>) -> Result<Self, ModelError> {
        let value = value.into();
        if value.is_empty() {
            return Err(ModelError::EmptyPlatformId);
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ModelError::InvalidPlatformId(value));
        }
        Ok(PlatformId(value))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<u64> for PlatformId {
    fn from(value: u64) -> Self {
        PlatformId(value.to_string())
    }
}

impl TryFrom<String> for PlatformId {
    type Error = ModelError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        PlatformId::parse(value)
    }
}

impl From<PlatformId> for String {
    fn from(value: PlatformId) -> Self {
        value.0
    }
}

impl FromStr for PlatformId {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PlatformId::parse(s)
    }
}

impl fmt::Display for PlatformId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, so a width (`{id:>8}`) lines a table up.
        f.pad(&self.0)
    }
}

/// A record on one side: its kind, its side and its id there. Names a record in errors and logs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RecordRef {
    /// What kind of record.
    pub kind: RecordKind,
    /// Which platform holds it.
    pub side: Side,
    /// Its id on that platform.
    pub id: PlatformId,
}

impl fmt::Display for RecordRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} on the {} side", self.kind, self.id, self.side)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in RecordKind::ALL {
            assert_eq!(kind.as_str().parse::<RecordKind>(), Ok(*kind));
            let json = serde_json::to_string(kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
    }

    #[test]
    fn parents_come_before_children_in_dependency_order() {
        for (idx, kind) in RecordKind::ALL.iter().enumerate() {
            for parent in kind.parents() {
                let parent_idx = RecordKind::ALL.iter().position(|k| k == parent).unwrap();
                assert!(parent_idx < idx, "{parent} must come before {kind}");
            }
        }
    }

    #[test]
    fn unknown_kind_names_what_is_accepted() {
        let err = "tickets".parse::<RecordKind>().unwrap_err();
        let text = err.to_string();
        assert!(text.contains("\"tickets\""), "{text}");
        assert!(text.contains("ticket, comment"), "{text}");
    }

    #[test]
    fn sides_parse_and_flip() {
        assert_eq!("old".parse::<Side>(), Ok(Side::Old));
        assert_eq!(Side::Old.other(), Side::New);
        assert!("Old".parse::<Side>().is_err());
    }

    #[test]
    fn platform_ids_reject_blank_and_whitespace() {
        assert_eq!(PlatformId::parse(""), Err(ModelError::EmptyPlatformId));
        assert!(PlatformId::parse("12 3").is_err());
        assert_eq!(PlatformId::from(42).as_str(), "42");
        assert!(serde_json::from_str::<PlatformId>("\"\"").is_err());
    }
}
