//! The canonical rule form: what a macro, a routing rule (trigger, automation), an SLA policy, a
//! view or a ticket form says, in a platform-neutral vocabulary.
//!
//! A rule is conditions (all of, any of: field, operator, value) and actions (set a field, add or
//! remove tags, add a reply or a note, e-mail someone), plus what some kinds have of their own: when
//! a routing rule runs, an SLA policy's targets, a form's fields, who may use a macro or a view.
//! Values stay in the platform's vocabulary (status and priority names, as tickets hold them: the
//! engine translates them with the plan's tables) and references are [`RecordKey`]s (groups,
//! agents, contacts, organizations), rewritten through the links like any other reference; custom
//! fields are named by the key ticket values are stored under, translated like a ticket's.
//!
//! What a platform states that this vocabulary has no word for is kept as a [`Native`] part, in
//! the platform's own terms: written back as it is to the same platform, named as untranslatable
//! everywhere else. A part the engine cannot carry (a value or a record the plan leaves behind)
//! becomes a [`Lost`] part, with the reason. A connector's `fit` takes both out of what it writes
//! and reports each as an [`Untranslatable`], naming the part; `cutover inventory` lists them
//! before the move and `cutover verify` counts them after.
//!
//! Rule order and the platform's own numbering (`position`) are not content: each platform numbers
//! its rules its own way, and a target account has rules of its own.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ids::PlatformKind;
use crate::records::RecordKey;

/// When a routing rule runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum When {
    /// When a ticket is created.
    Created,
    /// When a ticket is updated.
    Updated,
    /// When a ticket is created and on every update (a Zendesk trigger that tests neither).
    CreatedOrUpdated,
    /// Every hour, on the tickets that match (Zendesk automations, Freshdesk time triggers).
    Hourly,
}

/// A moment of a ticket's life that a time condition counts whole hours from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Moment {
    /// The ticket was created.
    Created,
    /// The ticket was last updated.
    Updated,
    /// The ticket was last set open.
    Opened,
    /// The ticket was set pending.
    Pending,
    /// The ticket was solved (resolved).
    Solved,
    /// The ticket was closed.
    Closed,
    /// The ticket was assigned.
    Assigned,
    /// The requester last wrote.
    RequesterUpdated,
    /// The assignee last wrote.
    AssigneeUpdated,
    /// The ticket's due date.
    Due,
    /// The ticket's status last changed.
    StatusChanged,
    /// The ticket was reopened.
    Reopened,
}

/// A property of a ticket that a rule tests or sets.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleField {
    /// Its status, by name (translated with `[mapping.statuses]`).
    Status,
    /// Its priority, by name (translated with `[mapping.priorities]`).
    Priority,
    /// Its type, in lower case.
    TicketType,
    /// Its group: a group's key.
    Group,
    /// Its assignee: an agent's key.
    Assignee,
    /// Its requester: a contact's (or agent's) key.
    Requester,
    /// Its organization: an organization's key.
    Organization,
    /// How the customer reached the service ([`crate::records::Channel`] names).
    Channel,
    /// Its subject line.
    Subject,
    /// Its first message (or, for a trigger, the comment being added).
    Description,
    /// Its tags.
    Tags,
    /// A custom ticket field, by the key ticket values are stored under.
    CustomField(String),
    /// Whole hours since a moment of the ticket's life.
    HoursSince(Moment),
}

/// How a condition compares a field with its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    /// Equal to the value (for tags: carries the value).
    Is,
    /// Not equal to the value.
    IsNot,
    /// Equal to one of a list (for tags: carries at least one of them).
    AnyOf,
    /// Equal to none of a list (for tags: carries none of them).
    NoneOf,
    /// Contains the text.
    Contains,
    /// Does not contain the text.
    NotContains,
    /// Less than the value (hours; a platform's own order of statuses or priorities).
    LessThan,
    /// Greater than the value.
    GreaterThan,
    /// Changed in this update, to anything.
    Changed,
    /// Changed in this update, to the value.
    ChangedTo,
    /// Changed in this update, from the value.
    ChangedFrom,
    /// Not changed in this update.
    NotChanged,
}

/// The value a condition compares with, or an action sets.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleValue {
    /// Nothing: an empty field, no group, unassigned.
    None,
    /// A name or text in the platform's vocabulary (a status, a priority, a channel, a word).
    Text(String),
    /// A whole number (hours).
    Number(i64),
    /// Yes or no (a checkbox field).
    Bool(bool),
    /// A record (group, agent, contact, organization), by key.
    Key(RecordKey),
    /// Several values (`any of`, `none of`, tags).
    List(Vec<RuleValue>),
}

/// A part that a platform states in its own terms, which the vocabulary has no word for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Native {
    /// The platform whose terms these are.
    pub platform: PlatformKind,
    /// How the platform states it (`satisfaction_score is good`), for reports. Never a secret:
    /// a connector leaves credentials out of both this and `json`.
    pub text: String,
    /// The platform's JSON of the part, written back as it is to the same platform.
    pub json: Value,
    /// Why it cannot be written even to another account of the same platform, when it names
    /// something of the source account that cutover does not copy (a webhook, a brand).
    pub bound: Option<String>,
}

/// A part that cannot be carried: what it said, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lost {
    /// What the part said.
    pub text: String,
    /// Why it cannot be carried (`is dropped by [mapping.statuses]`).
    pub reason: String,
}

/// One condition of a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// A test in the vocabulary.
    Test {
        /// What is tested.
        field: RuleField,
        /// How.
        operator: Operator,
        /// Against what.
        value: RuleValue,
    },
    /// A test in a platform's own terms.
    Native(Native),
    /// A test that cannot be carried.
    Lost(Lost),
}

impl Condition {
    /// A test in the vocabulary.
    pub fn test(field: RuleField, operator: Operator, value: RuleValue) -> Self {
        Condition::Test {
            field,
            operator,
            value,
        }
    }
}

/// Whom a rule e-mails.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recipient {
    /// The ticket's requester.
    Requester,
    /// The requester and the ticket's CCs.
    RequesterAndCcs,
    /// The ticket's assignee.
    Assignee,
    /// The agents of the ticket's group.
    AssignedGroup,
    /// The agents of a group, by key.
    Group(RecordKey),
    /// An agent, by key.
    Agent(RecordKey),
}

/// One action of a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Sets a field (tags: replaces them all).
    Set {
        /// The field.
        field: RuleField,
        /// Its new value.
        value: RuleValue,
    },
    /// Adds tags.
    AddTags {
        /// The tags.
        tags: Vec<String>,
    },
    /// Removes tags.
    RemoveTags {
        /// The tags.
        tags: Vec<String>,
    },
    /// Adds a comment: a public reply to the requester, or a private note.
    Comment {
        /// Public reply (true) or private note.
        public: bool,
        /// The body, as HTML; placeholders as the platform writes them.
        body: String,
    },
    /// E-mails someone.
    Notify {
        /// To whom.
        to: Recipient,
        /// The subject line.
        subject: String,
        /// The body.
        body: String,
    },
    /// An action in a platform's own terms.
    Native(Native),
    /// An action that cannot be carried.
    Lost(Lost),
}

/// Which agents may use a macro or a view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Every agent.
    Everyone,
    /// The agents of these groups.
    Groups(BTreeSet<RecordKey>),
    /// A platform's own restriction (one agent's personal macro).
    Native(Native),
    /// A restriction that cannot be carried.
    Lost(Lost),
}

/// A service-level metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Time to the first public reply.
    FirstReply,
    /// Time to each next public reply.
    NextReply,
    /// Time between public updates.
    PeriodicUpdate,
    /// Time between updates, public or private, paused while pending.
    PausableUpdate,
    /// Time until solved, not counting time waiting on the customer (Zendesk's requester wait
    /// time, Freshdesk's "resolve within").
    Resolution,
    /// Time agents work on it: new and open only (Zendesk's agent work time).
    AgentWork,
}

/// One target of an SLA policy.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SlaTarget {
    /// The priority it applies to, by name (translated with `[mapping.priorities]`).
    pub priority: String,
    /// What is measured.
    pub metric: Metric,
    /// The target, in minutes.
    pub minutes: u64,
    /// Counted in business hours (the target account's own schedule) or around the clock.
    pub business_hours: bool,
}

/// A macro, routing rule, SLA policy, view or ticket form in the canonical rule form. Each kind
/// uses the parts it has; the others stay empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    /// Title or name.
    pub title: String,
    /// What it is for.
    pub description: Option<String>,
    /// Whether it is switched on. Copies are written switched off where the platform allows it:
    /// switching them on belongs to the wave that moves their work.
    pub active: bool,
    /// When a routing rule runs; `None` for the other kinds.
    pub when: Option<When>,
    /// Conditions that must all hold.
    pub all: Vec<Condition>,
    /// Conditions of which one must hold (when there are any).
    pub any: Vec<Condition>,
    /// What it does, in order.
    pub actions: Vec<Action>,
    /// Which agents may use it (macros, views).
    pub visible_to: Visibility,
    /// An SLA policy's targets.
    pub targets: Vec<SlaTarget>,
    /// The fields a ticket form shows, in order.
    pub fields: Vec<RuleField>,
}

impl Rule {
    /// An active rule with a title and nothing else.
    pub fn titled(title: impl Into<String>) -> Self {
        Rule {
            title: title.into(),
            description: None,
            active: true,
            when: None,
            all: Vec::new(),
            any: Vec::new(),
            actions: Vec::new(),
            visible_to: Visibility::Everyone,
            targets: Vec::new(),
            fields: Vec::new(),
        }
    }

    /// Puts the rule in its one canonical shape, so that two platforms' readings of equal rules
    /// are equal: a list of one becomes `is` (`is not`); one `any` condition is an `all` one;
    /// `any` made only of `is` tests of one field becomes one `any of` test, at the end of `all`;
    /// an SLA policy's conditions (a set of dimensions) are sorted; targets are sorted.
    pub fn normalize(&mut self, sorted_conditions: bool) {
        for condition in self.all.iter_mut().chain(self.any.iter_mut()) {
            single_valued(condition);
        }
        if self.any.len() == 1 {
            self.all.append(&mut self.any);
        } else if let Some(merged) = merged_any(&self.any) {
            self.any.clear();
            self.all.push(merged);
        }
        if sorted_conditions {
            self.all.sort_by_key(sort_key);
        }
        self.targets.sort();
        if let Visibility::Groups(groups) = &self.visible_to
            && groups.is_empty()
        {
            self.visible_to = Visibility::Everyone;
        }
    }
}

fn sort_key(condition: &Condition) -> String {
    serde_json::to_string(condition).unwrap_or_default()
}

/// `any of [x]` is `is x`; `none of [x]` is `is not x` (not for tags, whose tests are lists).
fn single_valued(condition: &mut Condition) {
    let Condition::Test {
        field,
        operator,
        value,
    } = condition
    else {
        return;
    };
    if *field == RuleField::Tags {
        if let (Operator::Is | Operator::IsNot, RuleValue::Text(tag)) = (&*operator, &*value) {
            *value = RuleValue::List(vec![RuleValue::Text(tag.clone())]);
        }
        *operator = match *operator {
            Operator::Is => Operator::AnyOf,
            Operator::IsNot => Operator::NoneOf,
            other => other,
        };
        return;
    }
    if let RuleValue::List(list) = value
        && list.len() == 1
        && matches!(operator, Operator::AnyOf | Operator::NoneOf)
    {
        *operator = match *operator {
            Operator::AnyOf => Operator::Is,
            _ => Operator::IsNot,
        };
        *value = list.remove(0);
    }
}

/// `any` of several `is` tests of one field, as one `any of` test.
fn merged_any(any: &[Condition]) -> Option<Condition> {
    let mut field = None;
    let mut values = Vec::new();
    for condition in any {
        match condition {
            Condition::Test {
                field: f,
                operator: Operator::Is,
                value,
            } if *f != RuleField::Tags && field.is_none_or(|seen| seen == f) => {
                field = Some(f);
                values.push(value.clone());
            }
            _ => return None,
        }
    }
    Some(Condition::test(
        field?.clone(),
        Operator::AnyOf,
        RuleValue::List(values),
    ))
}

/// A part of a rule that a platform cannot hold as it is: named, quoted, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Untranslatable {
    /// Which part (`condition 2`, `action 1`, `when`, `active`).
    pub part: String,
    /// What it says, as its platform states it.
    pub text: String,
    /// Why it is not carried as it is (`has no freshdesk counterpart`).
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::PlatformId;

    fn is(field: RuleField, value: &str) -> Condition {
        Condition::test(field, Operator::Is, RuleValue::Text(value.into()))
    }

    #[test]
    fn any_of_one_field_becomes_one_any_of_test_at_the_end_of_all() {
        let mut rule = Rule::titled("Urgent or high");
        rule.all = vec![is(RuleField::Status, "open")];
        rule.any = vec![
            is(RuleField::Priority, "high"),
            is(RuleField::Priority, "urgent"),
        ];
        rule.normalize(false);
        assert!(rule.any.is_empty());
        assert_eq!(
            rule.all[1],
            Condition::test(
                RuleField::Priority,
                Operator::AnyOf,
                RuleValue::List(vec![
                    RuleValue::Text("high".into()),
                    RuleValue::Text("urgent".into())
                ])
            )
        );
        // Normalizing again changes nothing.
        let once = rule.clone();
        rule.normalize(false);
        assert_eq!(rule, once);
    }

    #[test]
    fn a_list_of_one_is_an_equality_but_tags_stay_lists() {
        let mut rule = Rule::titled("x");
        rule.all = vec![
            Condition::test(
                RuleField::Group,
                Operator::AnyOf,
                RuleValue::List(vec![RuleValue::Key(PlatformId::from(7))]),
            ),
            is(RuleField::Tags, "vip"),
        ];
        rule.any = vec![is(RuleField::Channel, "chat")];
        rule.normalize(false);
        assert_eq!(
            rule.all,
            vec![
                Condition::test(
                    RuleField::Group,
                    Operator::Is,
                    RuleValue::Key(PlatformId::from(7))
                ),
                Condition::test(
                    RuleField::Tags,
                    Operator::AnyOf,
                    RuleValue::List(vec![RuleValue::Text("vip".into())])
                ),
                is(RuleField::Channel, "chat"),
            ]
        );
    }

    #[test]
    fn parts_read_as_a_person_states_them() {
        let condition = Condition::test(
            RuleField::HoursSince(Moment::Solved),
            Operator::GreaterThan,
            RuleValue::Number(96),
        );
        assert_eq!(condition.to_string(), "hours since solved greater than 96");
        let changed = Condition::test(RuleField::Group, Operator::Changed, RuleValue::None);
        assert_eq!(changed.to_string(), "group changed");
        let part = Untranslatable {
            part: "condition 2".into(),
            text: "via_id is 47".into(),
            reason: "has no freshdesk counterpart".into(),
        };
        assert_eq!(
            part.to_string(),
            "condition 2: \"via_id is 47\" has no freshdesk counterpart"
        );
        let notify = Action::Notify {
            to: Recipient::Group(PlatformId::from(3)),
            subject: "New".into(),
            body: "b".into(),
        };
        assert_eq!(notify.to_string(), "e-mail group #3: \"New\"");
    }
}
