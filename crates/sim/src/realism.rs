//! What a real account holds and a template does not: the organisation's own vocabulary (groups,
//! custom roles, custom statuses, custom fields of tickets, people and companies, brands and
//! their support addresses) and its team (agents, some of whom have left). Platform-neutral: each
//! platform's seed turns these into its own records.
//!
//! One organisation moves from one account to another, so the vocabulary has two spellings: the
//! account **in use** (generated with tickets: years of history) and the account **being set
//! up** (generated with none: a team has started to shape it). Some names are the same on both,
//! some differ only by case or spacing (a discovery that ignores both matches them), some differ
//! outright and some exist on one side only. The team is a fixed roster, the same whatever the
//! seed, so two emulators started with different seeds share people by e-mail as two accounts of
//! one organisation do.

use std::str::FromStr;

use rand::RngExt;
use rand::rngs::StdRng;
use serde_json::{Value, json};

use crate::datagen::{self, pick, rng_for};

/// What a generated account looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AccountProfile {
    /// What a real account holds (the default): the organisation's groups, custom roles,
    /// statuses and fields, agents who left, inactive and custom rules, several brands and
    /// support addresses; an account with no tickets is one being set up, not a template.
    #[default]
    Realistic,
    /// The generator's older, plainer account (the same bytes as before realism): a template's
    /// groups and fields, every agent active. For code that still expects a template.
    Plain,
}

impl AccountProfile {
    /// `realistic` or `plain`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Realistic => "realistic",
            Self::Plain => "plain",
        }
    }

    /// Whether this is [`AccountProfile::Realistic`].
    pub fn is_realistic(self) -> bool {
        self == Self::Realistic
    }
}

impl FromStr for AccountProfile {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "realistic" => Ok(Self::Realistic),
            "plain" => Ok(Self::Plain),
            other => Err(format!(
                "unknown account profile {other:?}: expected realistic or plain"
            )),
        }
    }
}

/// Where an account is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// In use for years: generated with tickets.
    InUse,
    /// Being set up by a team: generated with no tickets.
    SettingUp,
}

impl Stage {
    /// The stage of an account generated with `tickets` tickets.
    pub fn of(tickets: usize) -> Self {
        if tickets == 0 {
            Self::SettingUp
        } else {
            Self::InUse
        }
    }
}

/// One thing as each stage names it; `None` where that stage has no such thing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Named {
    /// The name in the account in use.
    pub in_use: Option<&'static str>,
    /// The name in the account being set up.
    pub setting_up: Option<&'static str>,
}

impl Named {
    /// The name at `stage`, if that stage has it.
    pub fn at(&self, stage: Stage) -> Option<&'static str> {
        match stage {
            Stage::InUse => self.in_use,
            Stage::SettingUp => self.setting_up,
        }
    }
}

const fn both(in_use: &'static str, setting_up: &'static str) -> Named {
    Named {
        in_use: Some(in_use),
        setting_up: Some(setting_up),
    }
}

const fn in_use(name: &'static str) -> Named {
    Named {
        in_use: Some(name),
        setting_up: None,
    }
}

const fn setting_up(name: &'static str) -> Named {
    Named {
        in_use: None,
        setting_up: Some(name),
    }
}

/// A group of agents.
#[derive(Debug, Clone, Copy)]
pub struct GroupDef {
    /// Its name per stage.
    pub name: Named,
    /// What it handles.
    pub description: &'static str,
}

/// The organisation's groups: the same, differing by case, by spacing, by name, or on one side.
pub const GROUPS: &[GroupDef] = &[
    GroupDef {
        name: both("Billing", "Billing"),
        description: "Invoices, refunds and plans",
    },
    GroupDef {
        name: both("Technical Support", "technical support"),
        description: "Product problems and questions",
    },
    GroupDef {
        name: both("Customer Success", "Customer  Success"),
        description: "Renewals, adoption and training",
    },
    GroupDef {
        name: both("Tier 2", "Escalations"),
        description: "Second line",
    },
    GroupDef {
        name: both("VIP", "Priority Care"),
        description: "Key accounts",
    },
    GroupDef {
        name: in_use("Returns"),
        description: "Returns and exchanges",
    },
    GroupDef {
        name: setting_up("Onboarding"),
        description: "New customers' first weeks",
    },
];

/// The groups of an account at `stage`, in order.
pub fn groups(stage: Stage) -> Vec<(&'static str, &'static str)> {
    GROUPS
        .iter()
        .filter_map(|g| g.name.at(stage).map(|name| (name, g.description)))
        .collect()
}

/// The platform-neutral type of a custom field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// One line of text.
    Text,
    /// A decimal number.
    Decimal,
    /// A calendar date (`YYYY-MM-DD`).
    Date,
    /// True or false.
    Checkbox,
    /// One of [`FieldDef::options`].
    Dropdown,
}

/// A custom field.
#[derive(Debug, Clone, Copy)]
pub struct FieldDef {
    /// Its label per stage.
    pub label: Named,
    /// Its type.
    pub kind: FieldKind,
    /// A dropdown's choices, as agents see them.
    pub options: &'static [&'static str],
    /// False for a field switched off long ago (it keeps its old values).
    pub active: bool,
}

const fn field(label: Named, kind: FieldKind) -> FieldDef {
    FieldDef {
        label,
        kind,
        options: &[],
        active: true,
    }
}

const fn dropdown(label: Named, options: &'static [&'static str]) -> FieldDef {
    FieldDef {
        label,
        kind: FieldKind::Dropdown,
        options,
        active: true,
    }
}

/// Custom ticket fields (besides the platform's own).
pub const TICKET_FIELDS: &[FieldDef] = &[
    field(both("Order number", "Order Number"), FieldKind::Text),
    dropdown(
        both("Reason for contact", "Contact reason"),
        &[
            "Billing question",
            "Bug report",
            "Refund request",
            "How-to",
            "Feature request",
        ],
    ),
    field(both("Device model", "Device  model"), FieldKind::Text),
    field(in_use("Refund amount"), FieldKind::Decimal),
    field(both("Delivery date", "Delivery date"), FieldKind::Date),
    FieldDef {
        label: in_use("Legacy ticket ID"),
        kind: FieldKind::Text,
        options: &[],
        active: false,
    },
    field(setting_up("Survey sent"), FieldKind::Checkbox),
];

/// Custom fields of people (Zendesk user fields, Freshdesk contact fields).
pub const CONTACT_FIELDS: &[FieldDef] = &[
    field(both("Customer since", "Customer since"), FieldKind::Date),
    dropdown(
        both("Preferred language", "Language preference"),
        &["English", "German", "French", "Japanese"],
    ),
    field(
        both("Loyalty member", "Loyalty Member"),
        FieldKind::Checkbox,
    ),
];

/// Custom fields of companies (Zendesk organization fields, Freshdesk company fields).
pub const ORGANIZATION_FIELDS: &[FieldDef] = &[
    field(both("Account manager", "Account Manager"), FieldKind::Text),
    field(both("Contract renewal", "Renewal date"), FieldKind::Date),
    dropdown(
        both("Segment", "Segment"),
        &["Enterprise", "Mid-market", "SMB"],
    ),
];

/// The fields of `defs` an account at `stage` has: label and definition.
pub fn fields(defs: &'static [FieldDef], stage: Stage) -> Vec<(&'static str, &'static FieldDef)> {
    defs.iter()
        .filter_map(|d| d.label.at(stage).map(|label| (label, d)))
        .collect()
}

/// A value of `def` for one record, drawn from `rng`; `at` is the record's time (dates fall
/// before it).
pub fn field_value(rng: &mut StdRng, def: &FieldDef, at: i64) -> Value {
    match def.kind {
        FieldKind::Text => json!(format!(
            "{}-{}",
            pick(rng, &["AX", "BR", "CQ", "DL"]),
            rng.random_range(1000..99_999)
        )),
        FieldKind::Decimal => json!(format!(
            "{}.{:02}",
            rng.random_range(5..500),
            rng.random_range(0..100)
        )),
        FieldKind::Date => {
            let day = at - rng.random_range(0..400) * 86_400;
            json!(
                chrono::DateTime::from_timestamp(day, 0)
                    .map(|d| d.format("%Y-%m-%d").to_string())
                    .unwrap_or_default()
            )
        }
        FieldKind::Checkbox => json!(rng.random_bool(0.2)),
        FieldKind::Dropdown => json!(*pick(rng, def.options)),
    }
}

/// A dropdown choice as a tag (`Billing question` → `billing_question`), as Zendesk stores
/// option values.
pub fn tag_of(label: &str) -> String {
    crate::text::snake_case(label)
}

/// A custom ticket status and the built-in status it behaves as.
#[derive(Debug, Clone, Copy)]
pub struct StatusDef {
    /// Its label per stage.
    pub label: Named,
    /// `open`, `pending`, `hold` or `solved`.
    pub category: &'static str,
}

/// The organisation's custom statuses.
pub const STATUSES: &[StatusDef] = &[
    StatusDef {
        label: both("Waiting on customer", "Waiting on Customer"),
        category: "pending",
    },
    StatusDef {
        label: both("Escalated to engineering", "Escalated to engineering"),
        category: "open",
    },
    StatusDef {
        label: in_use("Awaiting parts"),
        category: "hold",
    },
    StatusDef {
        label: setting_up("Scheduled callback"),
        category: "pending",
    },
];

/// The custom statuses of an account at `stage`: label and category.
pub fn statuses(stage: Stage) -> Vec<(&'static str, &'static str)> {
    STATUSES
        .iter()
        .filter_map(|s| s.label.at(stage).map(|label| (label, s.category)))
        .collect()
}

/// The organisation's own agent roles (beyond what the platform ships): name per stage and
/// what it is for.
pub const ROLES: &[(Named, &str)] = &[
    (
        both("Billing specialist", "Billing Specialist"),
        "Agents who handle invoices and refunds",
    ),
    (
        both("Senior agent", "Senior agent"),
        "Can edit macros and merge tickets",
    ),
    (
        in_use("Contractor"),
        "Outsourced first line, own tickets only",
    ),
    (setting_up("Trainee"), "New agents in their first month"),
];

/// The custom roles of an account at `stage`: name and description.
pub fn roles(stage: Stage) -> Vec<(&'static str, &'static str)> {
    ROLES
        .iter()
        .filter_map(|(name, description)| name.at(stage).map(|n| (n, *description)))
        .collect()
}

/// The organisation's brands (Zendesk) or products (Freshdesk), each with its support mailbox
/// (the local part of its address).
pub const BRANDS: &[(Named, &str)] = &[
    (both("Cutover Cloud", "Cutover Cloud"), "support"),
    (both("Cutover Mobile", "Cutover mobile"), "mobile"),
    (in_use("Cutover Payments"), "billing"),
];

/// The brands of an account at `stage`: name and mailbox, the main brand first.
pub fn brands(stage: Stage) -> Vec<(&'static str, &'static str)> {
    BRANDS
        .iter()
        .filter_map(|(name, mailbox)| name.at(stage).map(|n| (n, *mailbox)))
        .collect()
}

/// The domain of the team's e-mail addresses, the same on every account of the organisation.
pub const TEAM_DOMAIN: &str = "team.cutover-sim.example";

/// Whether, and how, a member of the team has left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Departure {
    /// Still on the team.
    Here,
    /// Left, with the agent record kept but unable to sign in (Zendesk: suspended; Freshdesk:
    /// turned into an occasional agent with a placeholder address, as Freshdesk advises).
    Blocked,
    /// Left, and no longer an agent (Zendesk: downgraded to end-user; Freshdesk: deleted, which
    /// turns the agent into a contact and unassigns its tickets).
    Removed,
}

/// A member of the organisation's support team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffMember {
    /// Its place on the roster (the same person on every account).
    pub n: u64,
    /// Display name, in its own script.
    pub name: String,
    /// Work e-mail at [`TEAM_DOMAIN`].
    pub email: String,
    /// Locale tag.
    pub locale: &'static str,
    /// IANA time zone.
    pub time_zone: &'static str,
    /// Whether it has left (on the account in use).
    pub departure: Departure,
}

/// Roster member `n`: the same person whatever the seed.
pub fn staff(n: u64) -> StaffMember {
    let mut rng = rng_for(0x7EA3, 0x57AF, n);
    let p = datagen::person(&mut rng, n);
    StaffMember {
        n,
        email: format!("{}.{n}@{TEAM_DOMAIN}", p.handle),
        name: p.name,
        locale: p.locale,
        time_zone: p.time_zone,
        departure: Departure::Here,
    }
}

/// Roster places of new hires: people only the account being set up has.
const NEW_HIRES: u64 = 500;

/// The team of an account at `stage`. In use: the first `size` people on the roster, every
/// fifth from the fourth blocked and every fifth from the fifth removed. Being set up: the
/// people still here among the first ten, and four new hires.
pub fn team(stage: Stage, size: usize) -> Vec<StaffMember> {
    match stage {
        Stage::InUse => (0..size as u64)
            .map(|n| StaffMember {
                departure: match n % 5 {
                    3 => Departure::Blocked,
                    4 => Departure::Removed,
                    _ => Departure::Here,
                },
                ..staff(n)
            })
            .collect(),
        Stage::SettingUp => (0..10u64)
            .filter(|n| n % 5 < 3)
            .chain(NEW_HIRES..NEW_HIRES + 4)
            .map(staff)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Case and runs of spaces aside, as a discovery compares names.
    fn folded(name: &str) -> String {
        name.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    }

    #[test]
    fn the_two_stages_name_things_alike_differently_and_alone() {
        for table in [
            GROUPS.iter().map(|g| g.name).collect::<Vec<_>>(),
            TICKET_FIELDS.iter().map(|f| f.label).collect(),
            STATUSES.iter().map(|s| s.label).collect(),
            ROLES.iter().map(|r| r.0).collect(),
        ] {
            let pairs: Vec<(&str, &str)> = table
                .iter()
                .filter_map(|n| Some((n.in_use?, n.setting_up?)))
                .collect();
            assert!(pairs.iter().any(|(a, b)| a == b), "{table:?}: one the same");
            assert!(
                pairs.iter().any(|(a, b)| a != b && folded(a) == folded(b)),
                "{table:?}: one differing by case or spacing"
            );
            assert!(table.iter().any(|n| n.setting_up.is_none()), "{table:?}");
            assert!(table.iter().any(|n| n.in_use.is_none()), "{table:?}");
        }
        assert!(
            GROUPS
                .iter()
                .any(|g| matches!((g.name.in_use, g.name.setting_up), (Some(a), Some(b)) if folded(a) != folded(b)))
        );
    }

    #[test]
    fn the_team_is_one_roster_shared_by_e_mail_with_leavers_and_new_hires() {
        assert_eq!(staff(3), staff(3), "the same person whatever the seed");
        let in_use = team(Stage::InUse, 10);
        let new = team(Stage::SettingUp, 0);
        let shared: Vec<&StaffMember> = in_use
            .iter()
            .filter(|m| new.iter().any(|n| n.email == m.email))
            .collect();
        assert!(shared.iter().all(|m| m.departure == Departure::Here));
        assert_eq!(shared.len(), 6);
        assert!(
            new.iter()
                .any(|n| in_use.iter().all(|m| m.email != n.email))
        );
        for departure in [Departure::Blocked, Departure::Removed] {
            assert!(in_use.iter().any(|m| m.departure == departure));
        }
        assert!(in_use.iter().all(|m| m.email.is_ascii()));
    }

    #[test]
    fn profiles_parse_by_name() {
        assert_eq!("Plain".parse(), Ok(AccountProfile::Plain));
        assert_eq!(
            AccountProfile::default().name().parse(),
            Ok(AccountProfile::Realistic)
        );
        assert!("template".parse::<AccountProfile>().is_err());
        assert_eq!(tag_of("Billing question"), "billing_question");
    }
}
