//! Round trips of rules through each platform's JSON, for any rule: what `fit` keeps is written
//! by the platform's body and read back unchanged (canonical → platform → canonical), so a copy
//! read back has the fingerprint of what was written; and a rule a platform holds fits to itself
//! with nothing left out (what verify and the echo guard rely on). Recorded and sample JSON
//! (platform → canonical → platform) is checked in each connector's tests.

use std::collections::{BTreeSet, HashSet};

use cutover_model::rules::{
    Action, Condition, Metric, Moment, Operator, Recipient, Rule, RuleField, RuleValue, SlaTarget,
    Visibility, When,
};
use cutover_model::{PlatformId, PlatformKind, RecordKind};
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::freshdesk::rule_fit::macro_list;
use crate::freshdesk::rule_lists as fd_lists;
use crate::freshdesk::rules::{self as fd, HOURLY, ON_CREATE, ON_UPDATE};
use crate::rules::{Fitted, fit};
use crate::zendesk::rule_lists as zd_lists;
use crate::zendesk::rules::List as ZdList;

const STATUSES: &[&str] = &[
    "new", "open", "pending", "hold", "solved", "resolved", "closed",
];
const PRIORITIES: &[&str] = &["low", "normal", "medium", "high", "urgent"];
const CHANNELS: &[&str] = &["email", "web_form", "chat", "voice", "api", "whatsapp"];

fn key() -> impl Strategy<Value = PlatformId> {
    (1u64..50).prop_map(PlatformId::from)
}

fn word() -> impl Strategy<Value = String> {
    "[a-z]{1,8}"
}

fn text() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9 ,.!]{0,20}[a-z]"
}

fn moment() -> impl Strategy<Value = Moment> {
    prop::sample::select(vec![
        Moment::Created,
        Moment::Updated,
        Moment::Opened,
        Moment::Pending,
        Moment::Solved,
        Moment::Closed,
        Moment::Assigned,
        Moment::RequesterUpdated,
        Moment::AssigneeUpdated,
        Moment::Due,
        Moment::StatusChanged,
        Moment::Reopened,
    ])
}

fn field() -> impl Strategy<Value = RuleField> {
    prop_oneof![
        Just(RuleField::Status),
        Just(RuleField::Priority),
        Just(RuleField::TicketType),
        Just(RuleField::Group),
        Just(RuleField::Assignee),
        Just(RuleField::Requester),
        Just(RuleField::Organization),
        Just(RuleField::Channel),
        Just(RuleField::Subject),
        Just(RuleField::Description),
        Just(RuleField::Tags),
        (1u64..9).prop_map(|n| RuleField::CustomField(n.to_string())),
        word().prop_map(|w| RuleField::CustomField(format!("cf_{w}"))),
        moment().prop_map(RuleField::HoursSince),
    ]
}

fn operator() -> impl Strategy<Value = Operator> {
    prop::sample::select(vec![
        Operator::Is,
        Operator::IsNot,
        Operator::AnyOf,
        Operator::NoneOf,
        Operator::Contains,
        Operator::NotContains,
        Operator::LessThan,
        Operator::GreaterThan,
        Operator::Changed,
        Operator::ChangedTo,
        Operator::ChangedFrom,
        Operator::NotChanged,
    ])
}

/// A value that suits `field` most of the time, and sometimes one that does not.
fn scalar(field: &RuleField) -> BoxedStrategy<RuleValue> {
    let fitting: BoxedStrategy<RuleValue> = match field {
        RuleField::Status => prop::sample::select(STATUSES)
            .prop_map(|s| RuleValue::Text(s.into()))
            .boxed(),
        RuleField::Priority => prop::sample::select(PRIORITIES)
            .prop_map(|s| RuleValue::Text(s.into()))
            .boxed(),
        RuleField::Channel => prop::sample::select(CHANNELS)
            .prop_map(|s| RuleValue::Text(s.into()))
            .boxed(),
        RuleField::TicketType => {
            prop::sample::select(vec!["question", "incident", "feature request"])
                .prop_map(|s| RuleValue::Text(s.into()))
                .boxed()
        }
        RuleField::Group | RuleField::Assignee | RuleField::Requester | RuleField::Organization => {
            prop_oneof![
                4 => key().prop_map(RuleValue::Key),
                1 => Just(RuleValue::None),
                1 => Just(RuleValue::Text("current_user".into())),
            ]
            .boxed()
        }
        RuleField::Tags => word().prop_map(RuleValue::Text).boxed(),
        RuleField::HoursSince(_) => (0i64..500).prop_map(RuleValue::Number).boxed(),
        RuleField::CustomField(_) => prop_oneof![
            text().prop_map(RuleValue::Text),
            (0i64..100).prop_map(RuleValue::Number),
            any::<bool>().prop_map(RuleValue::Bool),
        ]
        .boxed(),
        _ => text().prop_map(RuleValue::Text).boxed(),
    };
    prop_oneof![9 => fitting, 1 => Just(RuleValue::Number(7))].boxed()
}

fn condition() -> impl Strategy<Value = Condition> {
    (field(), operator()).prop_flat_map(|(field, operator)| {
        let value = match operator {
            Operator::AnyOf | Operator::NoneOf => prop::collection::vec(scalar(&field), 1..4)
                .prop_map(RuleValue::List)
                .boxed(),
            Operator::Changed | Operator::NotChanged => Just(RuleValue::None).boxed(),
            _ => scalar(&field),
        };
        value.prop_map(move |value| Condition::test(field.clone(), operator, value))
    })
}

fn recipient() -> impl Strategy<Value = Recipient> {
    prop_oneof![
        Just(Recipient::Requester),
        Just(Recipient::RequesterAndCcs),
        Just(Recipient::Assignee),
        Just(Recipient::AssignedGroup),
        key().prop_map(Recipient::Group),
        key().prop_map(Recipient::Agent),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        field().prop_flat_map(|field| {
            scalar(&field).prop_map(move |value| Action::Set {
                field: field.clone(),
                value,
            })
        }),
        prop::collection::vec(word(), 1..3).prop_map(|tags| Action::AddTags { tags }),
        prop::collection::vec(word(), 1..3).prop_map(|tags| Action::RemoveTags { tags }),
        (any::<bool>(), text()).prop_map(|(public, body)| Action::Comment { public, body }),
        (recipient(), text(), text()).prop_map(|(to, subject, body)| Action::Notify {
            to,
            subject,
            body
        }),
    ]
}

fn target() -> impl Strategy<Value = SlaTarget> {
    (
        prop::sample::select(PRIORITIES),
        prop::sample::select(vec![
            Metric::FirstReply,
            Metric::NextReply,
            Metric::Resolution,
            Metric::AgentWork,
        ]),
        15u64..5000,
        any::<bool>(),
    )
        .prop_map(|(priority, metric, minutes, business_hours)| SlaTarget {
            priority: priority.into(),
            metric,
            minutes,
            business_hours,
        })
}

fn rule() -> impl Strategy<Value = Rule> {
    (
        (
            prop_oneof![
                text(),
                (text(), text()).prop_map(|(f, t)| format!("{f}::{t}"))
            ],
            proptest::option::of(text()),
            any::<bool>(),
            prop::sample::select(vec![
                When::Created,
                When::Updated,
                When::CreatedOrUpdated,
                When::Hourly,
            ]),
        ),
        prop::collection::vec(condition(), 0..5),
        prop::collection::vec(condition(), 0..3),
        prop::collection::vec(action(), 0..4),
        prop_oneof![
            Just(Visibility::Everyone),
            prop::collection::btree_set(key(), 1..3).prop_map(Visibility::Groups),
        ],
        prop::collection::vec(target(), 0..6),
        prop::collection::vec(field(), 0..4),
    )
        .prop_map(
            |(
                (title, description, active, when),
                all,
                any,
                actions,
                visible_to,
                targets,
                fields,
            )| {
                Rule {
                    title,
                    description,
                    active,
                    when: Some(when),
                    all,
                    any,
                    actions,
                    visible_to,
                    targets,
                    fields,
                }
            },
        )
}

const KINDS: &[RecordKind] = &[
    RecordKind::Macro,
    RecordKind::Automation,
    RecordKind::SlaPolicy,
    RecordKind::View,
    RecordKind::TicketForm,
];

/// The rule of a kind as a record of that kind reads (only routing rules say when they run).
fn of_kind(kind: RecordKind, mut rule: Rule) -> Rule {
    if kind != RecordKind::Automation {
        rule.when = None;
    }
    rule
}

/// What Zendesk answers for a rule created with `body` (views read their conditions and layout
/// back in the shape they are shown).
fn zendesk_answer(list: ZdList, body: &Value) -> Value {
    let mut record = body[list.path().1].clone();
    record["id"] = json!(901);
    if list == ZdList::Views {
        record["conditions"] = json!({"all": record["all"], "any": record["any"]});
        if let Some(output) = record.get("output").cloned() {
            let columns: Vec<Value> = output["columns"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|id| json!({"id": id, "title": "x"}))
                .collect();
            let mut execution = output.clone();
            execution["columns"] = Value::Array(columns);
            record["execution"] = execution;
        }
    }
    record
}

/// Zendesk: write the fitted rule, read it back.
fn zendesk_round_trip(kind: RecordKind, fitted: &Rule) -> Rule {
    let list = ZdList::of(kind, fitted).expect("a rule kind");
    let system = [1001u64, 1002, 1003];
    let body = zd_lists::body(list, fitted, &system).expect("fit keeps only what the body writes");
    let answer = zendesk_answer(list, &body);
    let system: HashSet<u64> = system.into_iter().collect();
    zd_lists::rule_from(list, &answer, &system).expect("an answer reads")
}

/// Freshdesk: write the fitted rule, read it back.
fn freshdesk_round_trip(kind: RecordKind, fitted: &Rule) -> Rule {
    let (body, read): (Value, fn(&Value) -> Option<Rule>) = match kind {
        RecordKind::Macro if macro_list(fitted) == fd::List::Canned => {
            let folder = PlatformId::from(77);
            let mut body = fd_lists::canned_body(fitted, &folder).expect("canned body");
            let (folder_name, _) = fd_lists::folder_and_title(&fitted.title);
            body["_folder"] = json!(folder_name);
            (body, |raw| {
                let folder = raw["_folder"].as_str()?.to_owned();
                rule_of(fd_lists::canned(raw, cutover_model::Side::New, &folder))
            })
        }
        RecordKind::Macro => (
            fd_lists::scenario_body(fitted).expect("scenario body"),
            |raw| rule_of(fd_lists::scenario(raw, cutover_model::Side::New)),
        ),
        RecordKind::Automation => {
            let rule_type = match fitted.when {
                Some(When::Hourly) => HOURLY,
                Some(When::Updated) => ON_UPDATE,
                _ => ON_CREATE,
            };
            let mut body = fd_lists::rule_body(fitted, rule_type).expect("rule body");
            body["_type"] = json!(rule_type);
            (body, |raw| {
                let rule_type = u8::try_from(raw["_type"].as_u64()?).ok()?;
                rule_of(fd_lists::automation_rule(
                    raw,
                    cutover_model::Side::New,
                    rule_type,
                ))
            })
        }
        _ => (fd_lists::sla_body(fitted).expect("sla body"), |raw| {
            rule_of(fd_lists::sla(raw, cutover_model::Side::New))
        }),
    };
    let mut answer = body;
    answer["id"] = json!(902);
    read(&answer).expect("an answer reads")
}

fn rule_of(mapped: crate::fields::Parsed<crate::fields::Mapped>) -> Option<Rule> {
    match mapped.ok()? {
        crate::fields::Mapped::Record(observed) => observed.record.rule().cloned(),
        _ => None,
    }
}

fn fitted(platform: PlatformKind, kind: RecordKind, rule: &Rule) -> Option<Rule> {
    match fit(platform, kind, rule) {
        Fitted::Written { rule, .. } => Some(rule),
        Fitted::Unwritable(_) => None,
    }
}

/// What `platform` keeps of `rule` reads back as it was written (`round_trip`), and fits to
/// itself with nothing left out.
fn holds_what_it_keeps(
    platform: PlatformKind,
    kind: RecordKind,
    rule: &Rule,
    round_trip: fn(RecordKind, &Rule) -> Rule,
) -> Result<(), TestCaseError> {
    if let Some(fitted) = fitted(platform, kind, rule) {
        prop_assert_eq!(round_trip(kind, &fitted), fitted.clone());
        prop_assert_eq!(
            fit(platform, kind, &fitted),
            Fitted::Written {
                rule: fitted,
                parts: Vec::new()
            }
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn what_zendesk_keeps_of_a_rule_reads_back_as_it_was_written(rule in rule(), kind in prop::sample::select(KINDS)) {
        holds_what_it_keeps(PlatformKind::Zendesk, kind, &of_kind(kind, rule), zendesk_round_trip)?;
    }

    #[test]
    fn what_freshdesk_keeps_of_a_rule_reads_back_as_it_was_written(rule in rule(), kind in prop::sample::select(KINDS)) {
        holds_what_it_keeps(PlatformKind::Freshdesk, kind, &of_kind(kind, rule), freshdesk_round_trip)?;
    }

    #[test]
    fn every_condition_and_action_left_out_is_named(rule in rule(), kind in prop::sample::select(KINDS)) {
        let mut rule = of_kind(kind, rule);
        rule.normalize(false);
        for platform in [PlatformKind::Zendesk, PlatformKind::Freshdesk] {
            let Fitted::Written { rule: kept, parts } = fit(platform, kind, &rule) else {
                continue;
            };
            // What is kept, a list of alternatives also one value at a time (`any` conditions
            // of one field are merged into one such list).
            let kept_texts: BTreeSet<String> = kept.all.iter().chain(&kept.any)
                .flat_map(|c| std::iter::once(c.to_string()).chain(spread(c)))
                .chain(kept.actions.iter().map(ToString::to_string))
                .collect();
            let named: BTreeSet<&str> = parts.iter().map(|p| p.text.as_str()).collect();
            let accounted = |text: String, spread: Vec<String>| {
                kept_texts.contains(&text)
                    || named.contains(text.as_str())
                    // A list written one value at a time: kept whole, or the values left out named.
                    || (!spread.is_empty() && spread.iter().all(|t| kept_texts.contains(t)))
                    || spread.iter().any(|t| named.contains(t.as_str()))
            };
            for condition in rule.all.iter().chain(&rule.any) {
                prop_assert!(
                    accounted(condition.to_string(), spread(condition)),
                    "{platform} {kind}: {condition} neither kept nor named: {kept:?} {parts:?}"
                );
            }
            for action in &rule.actions {
                prop_assert!(
                    accounted(action.to_string(), Vec::new()),
                    "{platform} {kind}: {action} neither kept nor named: {kept:?} {parts:?}"
                );
            }
        }
    }
}

/// A list test written one value at a time (Zendesk's `any` and `is not`s).
fn spread(condition: &Condition) -> Vec<String> {
    match condition {
        Condition::Test {
            field,
            operator: operator @ (Operator::AnyOf | Operator::NoneOf),
            value: RuleValue::List(items),
        } => items
            .iter()
            .map(|v| {
                let one = if *operator == Operator::AnyOf {
                    Operator::Is
                } else {
                    Operator::IsNot
                };
                Condition::test(field.clone(), one, v.clone()).to_string()
            })
            .collect(),
        _ => Vec::new(),
    }
}

#[test]
fn a_zendesk_trigger_on_a_group_reads_into_freshdesk_as_a_creation_rule_on_it() {
    let mut rule = Rule::titled("Route VIP");
    rule.when = Some(When::Created);
    rule.all = vec![
        Condition::test(
            RuleField::Group,
            Operator::Is,
            RuleValue::Key(PlatformId::from(12)),
        ),
        Condition::test(
            RuleField::Channel,
            Operator::Is,
            RuleValue::Text("whatsapp".into()),
        ),
    ];
    rule.actions = vec![Action::Set {
        field: RuleField::Priority,
        value: RuleValue::Text("urgent".into()),
    }];
    let Fitted::Written { rule: kept, parts } =
        fit(PlatformKind::Freshdesk, RecordKind::Automation, &rule)
    else {
        panic!("writable");
    };
    assert!(!kept.active, "copies wait for their wave");
    assert_eq!(kept.all.len(), 1);
    assert_eq!(
        parts.iter().map(ToString::to_string).collect::<Vec<_>>(),
        ["condition 2: \"channel is \\\"whatsapp\\\"\" freshdesk has no source for whatsapp"]
    );
    let body = fd_lists::rule_body(&kept, ON_CREATE).unwrap();
    assert_eq!(
        body["conditions"][0]["properties"][0],
        json!({"resource_type": "ticket", "field_name": "group_id", "operator": "is", "value": 12})
    );
    assert_eq!(
        body["actions"][0],
        json!({"field_name": "priority", "value": 4})
    );
    assert_eq!(body["active"], false);
}

#[test]
fn views_and_forms_cannot_go_into_freshdesk() {
    let rule = Rule::titled("Unsolved");
    for kind in [RecordKind::View, RecordKind::TicketForm] {
        assert!(
            matches!(fit(PlatformKind::Freshdesk, kind, &rule), Fitted::Unwritable(why) if why.contains("by hand")),
            "{kind}"
        );
    }
    let groups: BTreeSet<PlatformId> = [PlatformId::from(1)].into();
    let mut view = Rule::titled("Billing queue");
    view.visible_to = Visibility::Groups(groups);
    assert!(
        matches!(fit(PlatformKind::Zendesk, RecordKind::View, &view), Fitted::Unwritable(why) if why.contains("a condition")),
        "a zendesk view lists tickets that meet a condition"
    );
    view.all = vec![Condition::test(
        RuleField::Status,
        Operator::LessThan,
        RuleValue::Text("solved".into()),
    )];
    assert!(matches!(
        fit(PlatformKind::Zendesk, RecordKind::View, &view),
        Fitted::Written { parts, .. } if parts.is_empty()
    ));
}
