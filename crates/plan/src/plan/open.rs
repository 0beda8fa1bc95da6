//! Open values: what the old account holds that the plan's mapping tables do not decide yet,
//! the choices for each (a value the new account has, `"create"` where cutover can create one,
//! or `"drop"`), and the one way every part of cutover words the line to add.
//!
//! A value is open exactly when the engine would dead-letter a record for it (`engine::mapping`
//! looks a value up by its name, a custom field by its key or its title), and only for the
//! kinds the plan copies: `plan check` notes open values, `cutover inventory` lists them with
//! what they hold back, and `cutover backfill` refuses to start while any is left.

use cutover_model::accounts::{AccountSnapshot, NamedValue};
use cutover_model::{PlatformKind, RecordKind};
use serde::{Deserialize, Serialize};

use crate::plan::model::Mapping;
use crate::plan::values::Target;

/// A mapping table of the plan whose values come from the accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Table {
    /// `[mapping.statuses]`.
    Statuses,
    /// `[mapping.priorities]`.
    Priorities,
    /// `[mapping.roles]`.
    Roles,
    /// `[mapping.groups]`.
    Groups,
    /// `[mapping.fields]`: custom ticket fields.
    Fields,
    /// `[mapping.ticket_types]`: a ticket's type.
    TicketTypes,
    /// `[mapping.brands]`: a ticket's brand (Zendesk) or product (Freshdesk).
    Brands,
}

/// The table a plan without `[mapping.ticket_types]` has: none of its values is decided.
static NO_ENTRIES: std::collections::BTreeMap<String, Target> = std::collections::BTreeMap::new();

impl Table {
    /// Every table, in the plan's order.
    pub const ALL: [Table; 7] = [
        Table::Statuses,
        Table::Priorities,
        Table::Roles,
        Table::Groups,
        Table::Fields,
        Table::TicketTypes,
        Table::Brands,
    ];

    /// The table's key under `[mapping]`.
    pub fn key(self) -> &'static str {
        match self {
            Table::Statuses => "statuses",
            Table::Priorities => "priorities",
            Table::Roles => "roles",
            Table::Groups => "groups",
            Table::Fields => "fields",
            Table::TicketTypes => "ticket_types",
            Table::Brands => "brands",
        }
    }

    /// One value of it, for messages: "status", "custom field".
    pub fn singular(self) -> &'static str {
        match self {
            Table::Statuses => "status",
            Table::Priorities => "priority",
            Table::Roles => "role",
            Table::Groups => "group",
            Table::Fields => "custom field",
            Table::TicketTypes => "ticket type",
            Table::Brands => "brand",
        }
    }

    /// The table's entries in a plan.
    pub fn of(self, mapping: &Mapping) -> &std::collections::BTreeMap<String, Target> {
        match self {
            Table::Statuses => &mapping.statuses,
            Table::Priorities => &mapping.priorities,
            Table::Roles => &mapping.roles,
            Table::Groups => &mapping.groups,
            Table::Fields => &mapping.fields,
            Table::TicketTypes => mapping.ticket_types.as_ref().unwrap_or(&NO_ENTRIES),
            Table::Brands => mapping.brands.as_ref().unwrap_or(&NO_ENTRIES),
        }
    }

    /// Whether the plan has this table. Only `[mapping.ticket_types]` and `[mapping.brands]`
    /// may be left out: a plan without the first (written before cutover mapped types) carries
    /// each type under its own name, one without the second carries no brand; none of their
    /// values is open.
    pub fn in_plan(self, mapping: &Mapping) -> bool {
        match self {
            Table::TicketTypes => mapping.ticket_types.is_some(),
            Table::Brands => mapping.brands.is_some(),
            _ => true,
        }
    }

    /// The account's values of this table, each as a plan names it (a field by its title).
    pub fn values(self, account: &AccountSnapshot) -> Vec<NamedValue> {
        match self {
            Table::Statuses => account.statuses.clone(),
            Table::Priorities => account.priorities.clone(),
            Table::Roles => account.roles.clone(),
            Table::Groups => account.groups.clone(),
            Table::TicketTypes => account.ticket_types.clone(),
            Table::Brands => account.brands.clone(),
            Table::Fields => account
                .ticket_fields()
                .map(|f| {
                    let mut value = NamedValue::new(f.title.clone());
                    value.active = f.active;
                    value.uses = f.uses.clone();
                    value
                })
                .collect(),
        }
    }

    /// Every name the account's values of this table answer to: for fields, titles and keys.
    pub fn names(self, account: &AccountSnapshot) -> Vec<String> {
        match self {
            Table::Fields => account
                .ticket_fields()
                .flat_map(|f| [f.title.clone(), f.key.clone()])
                .collect(),
            other => other.values(account).into_iter().map(|v| v.name).collect(),
        }
    }

    /// Whether this table matters to a copy of `kinds`: a value of it would dead-letter a
    /// record of one of them.
    pub fn matters(self, kinds: &[RecordKind]) -> bool {
        let has = |kind| kinds.contains(&kind);
        match self {
            Table::Statuses | Table::Priorities | Table::TicketTypes | Table::Brands => {
                has(RecordKind::Ticket)
            }
            Table::Roles => has(RecordKind::Role),
            Table::Groups => has(RecordKind::Group),
            Table::Fields => has(RecordKind::Ticket) || has(RecordKind::CustomField),
        }
    }

    /// Whether two old values may share one value of the new platform. Statuses and priorities
    /// are values on a ticket; several old groups or roles onto one new one is an ordinary
    /// part of a move (the one spelled like the new value, else the first in byte order, is
    /// copied or found, and what refers to the others refers to its copy). A custom field's
    /// values are kept under one key, so two fields cannot share one.
    pub fn may_share(self, _platform: PlatformKind) -> bool {
        !matches!(self, Table::Fields)
    }

    /// The new values the plan's table gives its entries already, where two may not share one.
    pub fn taken(self, mapping: &Mapping, platform: PlatformKind) -> Vec<String> {
        if self.may_share(platform) {
            return Vec::new();
        }
        self.of(mapping)
            .iter()
            .filter_map(|(old, target)| target.resolve(old).map(str::to_owned))
            .collect()
    }

    /// Whether cutover can create a value of this table on `platform` (`"create"`), or why not.
    pub fn creatable(self, platform: PlatformKind) -> Result<(), String> {
        match (self, platform) {
            (Table::Groups | Table::Fields, PlatformKind::Zendesk | PlatformKind::Freshdesk) => {
                Ok(())
            }
            (Table::Roles, PlatformKind::Zendesk) => Ok(()),
            (Table::TicketTypes, PlatformKind::Freshdesk) => Ok(()),
            (Table::TicketTypes, PlatformKind::Zendesk) => Err(
                "zendesk's ticket types are fixed: question, incident, problem and task".to_owned(),
            ),
            (Table::Brands, PlatformKind::Zendesk) => Ok(()),
            (Table::Brands, _) => Err(format!("{platform}'s API cannot create products")),
            (Table::Roles, _) => Err(format!("{platform}'s API cannot create roles")),
            (Table::Statuses, _) => Err(format!(
                "cutover cannot create statuses: tickets are written with one of {platform}'s statuses"
            )),
            (Table::Priorities, _) => Err(format!("{platform}'s priorities are fixed")),
            (_, _) => Err(format!("cutover has no {platform} connector yet")),
        }
    }
}

/// A value of the old account that the plan does not decide yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenValue {
    /// Its table.
    pub table: Table,
    /// The value, with its label and how many records use it (when counted).
    pub value: NamedValue,
    /// What the line may say: the new account's values, `"create"` where possible, `"drop"`.
    pub choices: Vec<String>,
    /// Whether it may take a new value another old value takes too ([`Table::may_share`]).
    #[serde(default)]
    pub may_share: bool,
}

impl OpenValue {
    /// `role "Team lead" ("…")`, for lists.
    pub fn name(&self) -> String {
        format!("{} {}", self.table.singular(), self.value.display())
    }

    /// What it holds back, from the counts: `3 agents, 120 tickets assigned to them`.
    pub fn holds_back(&self) -> String {
        holds_back(self.table, &self.value)
    }

    /// The line to add, as every hint words it.
    pub fn hint(&self) -> String {
        hint(self.table, &self.value.name, &self.choices)
    }

    /// The choice a rehearsal takes where nobody is there to decide (`cutover demo`, the
    /// benchmarks, tests): `"create"` where cutover can create the value; else the new
    /// account's value whose name holds the old one's or is held in it (`"Light agent"` →
    /// `"Agent"`); else, for a status of the account's own (most are a kind of waiting), the
    /// new account's `pending`; else the last of them; `"drop"` only when there is nothing else.
    pub fn rehearsal_choice(&self) -> &str {
        let values: Vec<&str> = self
            .choices
            .iter()
            .map(String::as_str)
            .filter(|c| *c != "create" && *c != "drop")
            .collect();
        if self.choices.iter().any(|c| c == "create") {
            return "create";
        }
        let name = self.value.name.to_lowercase();
        let label = self
            .value
            .label
            .as_deref()
            .unwrap_or_default()
            .to_lowercase();
        let fits = |choice: &&&str| {
            let choice = choice.to_lowercase();
            [&name, &label]
                .iter()
                .any(|n| !n.is_empty() && (n.contains(&choice) || choice.contains(n.as_str())))
        };
        let waiting = (self.table == Table::Statuses)
            .then(|| values.iter().find(|v| **v == "pending"))
            .flatten();
        values
            .iter()
            .find(fits)
            .or(waiting)
            .or(values.last())
            .copied()
            .unwrap_or("drop")
    }
}

/// What the records using a value hold back, in words: `3 agents, 120 tickets assigned to
/// them`; only what was counted and is more than none.
pub fn holds_back(table: Table, value: &NamedValue) -> String {
    let count = |what: &str| value.uses.get(what).copied().unwrap_or(0);
    let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let (agents, tickets) = (count("agents"), count("tickets"));
    let tickets_are = match table {
        Table::Roles => "assigned to them",
        Table::Groups => "in it",
        Table::Fields => "with a value",
        Table::TicketTypes => "of this type",
        Table::Brands => "under it",
        _ => "",
    };
    let mut parts = Vec::new();
    if agents > 0 {
        parts.push(plural(agents, "agent", "agents"));
    }
    if tickets > 0 {
        let tickets = plural(tickets, "ticket", "tickets");
        parts.push(format!("{tickets} {tickets_are}").trim_end().to_owned());
    }
    if parts.is_empty() {
        "no record uses it".to_owned()
    } else {
        parts.join(", ")
    }
}

/// A TOML key: bare when it can be, quoted otherwise.
pub fn toml_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if bare {
        key.to_owned()
    } else {
        format!("{key:?}")
    }
}

/// The line to add for an open value, and what it may say:
/// `add "Team lead" = "…" to [mapping.roles], "…" being one of "Agent", "Supervisor" or "drop"`.
/// Followed as written (the `…` replaced by one of the choices), `plan check` accepts it.
pub fn hint(table: Table, value: &str, choices: &[String]) -> String {
    let line = format!(
        "add {} = \"…\" to [mapping.{}]",
        toml_key(value),
        table.key()
    );
    if choices.is_empty() {
        return line;
    }
    let quoted: Vec<&str> = choices.iter().map(String::as_str).collect();
    format!(
        "{line}, \"…\" being one of {}",
        crate::plan::hint::quoted_list(quoted)
    )
}

/// The choices for a value of `table` going to the `new` account: its values (by the name a
/// plan writes) but those `taken` by other entries, `"create"` where cutover can create one
/// there, and `"drop"`.
pub fn choices(table: Table, new: &AccountSnapshot, taken: &[String]) -> Vec<String> {
    let mut choices: Vec<String> = table
        .values(new)
        .into_iter()
        .filter(|v| v.active && !taken.contains(&v.name))
        .map(|v| v.name)
        .collect();
    choices.dedup();
    if table.creatable(new.platform).is_ok() {
        choices.push("create".to_owned());
    }
    choices.push("drop".to_owned());
    choices
}

/// Whether the plan's table decides the value `name` (for fields, by key or title).
fn decided(table: Table, mapping: &Mapping, old: &AccountSnapshot, value: &NamedValue) -> bool {
    let entries = table.of(mapping);
    if entries.contains_key(&value.name) {
        return true;
    }
    table == Table::Fields
        && old
            .ticket_fields()
            .filter(|f| f.title == value.name)
            .any(|f| entries.contains_key(&f.key))
}

/// The old account's values that the plan does not decide, for the tables a copy of `kinds`
/// needs, each with its choices on the new account.
pub fn open_values(
    mapping: &Mapping,
    kinds: &[RecordKind],
    old: &AccountSnapshot,
    new: &AccountSnapshot,
) -> Vec<OpenValue> {
    let mut open = Vec::new();
    for table in Table::ALL {
        if !table.matters(kinds) || !table.in_plan(mapping) {
            continue;
        }
        let choices = choices(table, new, &table.taken(mapping, new.platform));
        let mut seen = Vec::new();
        for value in table.values(old) {
            if seen.contains(&value.name) || decided(table, mapping, old, &value) {
                continue;
            }
            seen.push(value.name.clone());
            open.push(OpenValue {
                table,
                value,
                choices: choices.clone(),
                may_share: table.may_share(new.platform),
            });
        }
    }
    open
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hint_names_the_line_and_its_choices() {
        let choices = vec!["Agent".to_owned(), "drop".to_owned()];
        assert_eq!(
            hint(Table::Roles, "Team lead", &choices),
            "add \"Team lead\" = \"…\" to [mapping.roles], \"…\" being one of \"Agent\" or \"drop\""
        );
        assert_eq!(
            hint(Table::Statuses, "7", &[]),
            "add 7 = \"…\" to [mapping.statuses]"
        );
    }

    #[test]
    fn roles_are_created_only_where_the_api_lets_cutover() {
        assert!(Table::Roles.creatable(PlatformKind::Zendesk).is_ok());
        assert!(Table::Roles.creatable(PlatformKind::Freshdesk).is_err());
        assert!(Table::Groups.creatable(PlatformKind::Freshdesk).is_ok());
        assert!(Table::Statuses.creatable(PlatformKind::Zendesk).is_err());
    }

    #[test]
    fn ticket_types_are_created_only_on_freshdesk_and_open_only_with_their_table() {
        assert!(
            Table::TicketTypes
                .creatable(PlatformKind::Freshdesk)
                .is_ok()
        );
        let why = Table::TicketTypes
            .creatable(PlatformKind::Zendesk)
            .unwrap_err();
        assert!(
            why.contains("question, incident, problem and task"),
            "{why}"
        );

        let mut old = AccountSnapshot::empty(PlatformKind::Freshdesk, "https://old.example");
        let mut refund = NamedValue::new("Refund");
        refund.uses.insert("tickets".into(), 4);
        old.ticket_types = vec![NamedValue::new("Question"), refund];
        let mut new = AccountSnapshot::empty(PlatformKind::Zendesk, "https://new.example");
        new.ticket_types = ["question", "incident", "problem", "task"]
            .into_iter()
            .map(NamedValue::new)
            .collect();
        let kinds = [RecordKind::Ticket];
        // A plan without the table (written before types were mapped) leaves none open.
        let mut mapping = Mapping::default();
        assert!(open_values(&mapping, &kinds, &old, &new).is_empty());
        // With it, every type without a line is open, its choices the new account's types.
        let mut table = std::collections::BTreeMap::new();
        table.insert("Question".to_owned(), Target::To("question".into()));
        mapping.ticket_types = Some(table);
        let open = open_values(&mapping, &kinds, &old, &new);
        assert_eq!(open.len(), 1, "{open:?}");
        assert_eq!(open[0].name(), "ticket type \"Refund\"");
        assert_eq!(open[0].holds_back(), "4 tickets of this type");
        assert_eq!(
            open[0].hint(),
            "add Refund = \"…\" to [mapping.ticket_types], \"…\" being one of \"question\", \
             \"incident\", \"problem\", \"task\" or \"drop\""
        );
        assert!(open_values(&mapping, &[RecordKind::Agent], &old, &new).is_empty());
    }

    #[test]
    fn brands_are_created_only_on_zendesk_and_open_only_with_their_table() {
        assert!(Table::Brands.creatable(PlatformKind::Zendesk).is_ok());
        let why = Table::Brands
            .creatable(PlatformKind::Freshdesk)
            .unwrap_err();
        assert!(why.contains("cannot create products"), "{why}");

        let mut old = AccountSnapshot::empty(PlatformKind::Freshdesk, "https://old.example");
        let mut outlet = NamedValue::new("Outlet");
        outlet.uses.insert("tickets".into(), 3);
        old.brands = vec![NamedValue::new("Acme"), outlet];
        let mut new = AccountSnapshot::empty(PlatformKind::Zendesk, "https://new.example");
        new.brands = vec![NamedValue::new("Acme")];
        let kinds = [RecordKind::Ticket];
        // A plan without the table (older, or written offline) leaves none open.
        let mut mapping = Mapping::default();
        assert!(open_values(&mapping, &kinds, &old, &new).is_empty());
        let mut table = std::collections::BTreeMap::new();
        table.insert("Acme".to_owned(), Target::To("Acme".into()));
        mapping.brands = Some(table);
        let open = open_values(&mapping, &kinds, &old, &new);
        assert_eq!(open.len(), 1, "{open:?}");
        assert_eq!(open[0].name(), "brand \"Outlet\"");
        assert_eq!(open[0].holds_back(), "3 tickets under it");
        assert_eq!(
            open[0].hint(),
            "add Outlet = \"…\" to [mapping.brands], \"…\" being one of \"Acme\", \"create\" or \"drop\""
        );
        assert!(open_values(&mapping, &[RecordKind::Agent], &old, &new).is_empty());
    }
}
