//! What discovery found on the two accounts of a move: the values their records carry (statuses,
//! priorities, ticket types, groups, roles, agents, custom fields, brands, support addresses),
//! each with how many records use it where that was counted.
//!
//! `cutover init` and `cutover plan refresh` write the plan's mapping tables from these, leave
//! them beside the plan (`cutover.accounts.json`), and `cutover plan check` validates the plan's
//! names against them. Platform-neutral: the connectors fill them, nothing here reads anything.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::PlatformKind;
use crate::records::{FieldTarget, FieldType};

/// Counts of the records that use a value, by what they are (`tickets`, `agents`).
pub type Uses = BTreeMap<String, u64>;

/// One value of an account's vocabulary: a status, a priority, a type, a group, a role, a brand,
/// a support address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedValue {
    /// The value as the account's records carry it, and as a plan names it (a status's name, a
    /// Freshdesk custom status's code, a group's name).
    pub name: String,
    /// What a person sees, when it differs from `name` (a Freshdesk custom status's label, a
    /// Zendesk custom status's category).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Whether every account of the platform has it.
    #[serde(default)]
    pub builtin: bool,
    /// Whether it is in use (false: deactivated, deleted, switched off).
    #[serde(default = "yes")]
    pub active: bool,
    /// How many records use it, where discovery counted them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub uses: Uses,
}

fn yes() -> bool {
    true
}

impl NamedValue {
    /// A value of the account's own.
    pub fn new(name: impl Into<String>) -> Self {
        NamedValue {
            name: name.into(),
            label: None,
            builtin: false,
            active: true,
            uses: Uses::new(),
        }
    }

    /// A value every account of the platform has.
    pub fn builtin(name: impl Into<String>) -> Self {
        NamedValue {
            builtin: true,
            ..NamedValue::new(name)
        }
    }

    /// With a label a person reads.
    pub fn labelled(mut self, label: impl Into<String>) -> Self {
        let label = label.into();
        if label != self.name {
            self.label = Some(label);
        }
        self
    }

    /// The name, with its label when it has one: `"7" ("Waiting on Third Party")`.
    pub fn display(&self) -> String {
        match &self.label {
            Some(label) => format!("{:?} ({label:?})", self.name),
            None => format!("{:?}", self.name),
        }
    }
}

/// An agent of the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentEntry {
    /// Login e-mail: how agents are matched across accounts.
    pub email: String,
    /// Full name.
    pub name: String,
    /// The name of the agent's role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The names of the agent's groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// False once the agent has left (suspended, deactivated).
    pub active: bool,
    /// How many records refer to the agent (`tickets` assigned), where counted.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub uses: Uses,
}

/// A custom field of tickets, contacts or organizations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldEntry {
    /// Which records carry it.
    pub target: FieldTarget,
    /// The key its values are stored under (a Zendesk ticket field's id, a Freshdesk `cf_` name).
    pub key: String,
    /// What agents see: how a plan names it.
    pub title: String,
    /// The type of its values.
    pub field_type: FieldType,
    /// The names of its choices, for dropdown and multiselect fields.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// False when retired.
    pub active: bool,
    /// How many records hold a value of it, where counted.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub uses: Uses,
}

impl FieldEntry {
    /// Whether `name` names this field, by its title or its key.
    pub fn is_named(&self, name: &str) -> bool {
        self.key == name || same_name(&self.title, name)
    }
}

/// What one account holds that a plan maps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSnapshot {
    /// The platform.
    pub platform: PlatformKind,
    /// The account's base URL (never with credentials).
    pub url: String,
    /// The e-mail of the user the credentials belong to, when the platform says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Ticket statuses, built-in and the account's own.
    pub statuses: Vec<NamedValue>,
    /// Ticket priorities.
    pub priorities: Vec<NamedValue>,
    /// Ticket types.
    pub ticket_types: Vec<NamedValue>,
    /// Groups (departments).
    pub groups: Vec<NamedValue>,
    /// Agent roles, built-in and custom.
    pub roles: Vec<NamedValue>,
    /// Agents, active or not.
    pub agents: Vec<AgentEntry>,
    /// Custom fields of tickets, contacts and organizations.
    pub fields: Vec<FieldEntry>,
    /// Brands (Zendesk) or products (Freshdesk).
    pub brands: Vec<NamedValue>,
    /// Support e-mail addresses customers write to.
    pub addresses: Vec<NamedValue>,
    /// Statuses of the account's own that its records carry under a built-in one (Zendesk's
    /// custom statuses, read as their category): listed for a person, never mapped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub status_labels: Vec<NamedValue>,
    /// Whether the `uses` counts were gathered (reading the account's records once).
    #[serde(default)]
    pub counted: bool,
}

impl AccountSnapshot {
    /// An account with nothing discovered yet.
    pub fn empty(platform: PlatformKind, url: impl Into<String>) -> Self {
        AccountSnapshot {
            platform,
            url: url.into(),
            owner: None,
            statuses: Vec::new(),
            priorities: Vec::new(),
            ticket_types: Vec::new(),
            groups: Vec::new(),
            roles: Vec::new(),
            agents: Vec::new(),
            fields: Vec::new(),
            brands: Vec::new(),
            addresses: Vec::new(),
            status_labels: Vec::new(),
            counted: false,
        }
    }

    /// The ticket fields (custom fields of tickets), active or not.
    pub fn ticket_fields(&self) -> impl Iterator<Item = &FieldEntry> {
        self.fields
            .iter()
            .filter(|f| f.target == FieldTarget::Ticket)
    }

    /// The agent with this e-mail (case aside).
    pub fn agent(&self, email: &str) -> Option<&AgentEntry> {
        self.agents
            .iter()
            .find(|a| a.email.eq_ignore_ascii_case(email))
    }
}

/// Both accounts of a move, as discovered at one time: what `cutover.accounts.json` holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accounts {
    /// When discovery read them.
    pub discovered_at: DateTime<Utc>,
    /// The account being left.
    pub old: AccountSnapshot,
    /// The account being moved to.
    pub new: AccountSnapshot,
}

/// Whether two names are the same name, case and spacing aside (`"Tier 2"`, `"tier2"`).
pub fn same_name(a: &str, b: &str) -> bool {
    let squeeze = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect()
    };
    squeeze(a) == squeeze(b)
}

/// The value of `values` that is the same name as `name` (see [`same_name`]), exact first.
pub fn find_named<'v>(values: &'v [NamedValue], name: &str) -> Option<&'v NamedValue> {
    values
        .iter()
        .find(|v| v.name == name)
        .or_else(|| values.iter().find(|v| same_name(&v.name, name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_case_and_spacing_aside() {
        assert!(same_name("Tier 2", "tier2"));
        assert!(same_name("Team  Lead", "team lead"));
        assert!(!same_name("Tier 2", "Tier 3"));
        let values = vec![NamedValue::new("Billing"), NamedValue::new("billing")];
        assert_eq!(find_named(&values, "billing").unwrap().name, "billing");
        assert_eq!(find_named(&values, "BILLING").unwrap().name, "Billing");
    }

    #[test]
    fn a_snapshot_reads_back_what_it_wrote() {
        let mut snapshot = AccountSnapshot::empty(PlatformKind::Freshdesk, "https://a.example");
        let mut status = NamedValue::new("7").labelled("Waiting on Third Party");
        status.uses.insert("tickets".into(), 3);
        snapshot.statuses.push(status);
        snapshot.statuses.push(NamedValue::builtin("open"));
        let json = serde_json::to_string(&snapshot).unwrap();
        let back: AccountSnapshot = serde_json::from_str(&json).unwrap();
        assert_eq!(back, snapshot);
        assert_eq!(
            back.statuses[0].display(),
            "\"7\" (\"Waiting on Third Party\")"
        );
    }
}
