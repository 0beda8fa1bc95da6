//! Rules through the plan's tables and the links: values translated, what the plan leaves
//! behind lost with its reason, and verify's levelling of a copy onto what its target holds.

use cutover_model::PlatformId;
use cutover_model::records::Record;
use cutover_model::rules::{Action, Condition, Lost, Operator, Rule, RuleField, RuleValue, When};
use cutover_model::{PlatformKind, Side};

use super::*;

fn mapping(edit: impl FnOnce(&mut PlanMapping)) -> Mapping {
    let text = cutover_plan::plan::init::render(&cutover_plan::plan::init::InitOptions {
        from: PlatformKind::Zendesk,
        to: PlatformKind::Freshdesk,
        old_url: None,
        new_url: None,
    });
    let mut plan = cutover_plan::plan::check_str("cutover.toml", &text)
        .unwrap()
        .mapping;
    edit(&mut plan);
    Mapping::from_plan(&plan)
}

fn text(s: &str) -> RuleValue {
    RuleValue::Text(s.into())
}

fn trigger() -> Record {
    let mut rule = Rule::titled("Escalate solved VIPs");
    rule.when = Some(When::Updated);
    rule.all = vec![
        Condition::test(RuleField::Status, Operator::ChangedTo, text("solved")),
        Condition::test(RuleField::Status, Operator::IsNot, text("hold")),
        Condition::test(
            RuleField::Group,
            Operator::Is,
            RuleValue::Key(PlatformId::from(12)),
        ),
    ];
    rule.actions = vec![Action::Set {
        field: RuleField::Priority,
        value: text("normal"),
    }];
    Record::Automation(rule)
}

fn rule_of(record: &Record) -> &Rule {
    record.rule().unwrap()
}

#[test]
fn values_go_through_the_plans_tables_and_dropped_ones_are_lost_with_the_reason() {
    let mapping = mapping(|plan| {
        plan.statuses
            .insert("hold".into(), cutover_plan::plan::values::Target::Drop);
    });
    let Ok(Translated::Record(record)) = translate(&mapping, trigger(), Side::Old) else {
        panic!("translated");
    };
    let rule = rule_of(&record);
    assert_eq!(
        rule.all[0],
        Condition::test(RuleField::Status, Operator::ChangedTo, text("resolved"))
    );
    assert_eq!(
        rule.all[1],
        Condition::Lost(Lost {
            text: r#"status is not "hold""#.into(),
            reason: r#""hold" is dropped by [mapping.statuses]"#.into(),
        })
    );
    assert_eq!(
        rule.actions[0],
        Action::Set {
            field: RuleField::Priority,
            value: text("medium")
        }
    );
}

#[test]
fn a_value_with_no_mapping_is_a_hole_naming_the_line_to_add() {
    let mapping = mapping(|plan| {
        plan.statuses.remove("hold");
    });
    let hole = translate(&mapping, trigger(), Side::Old).unwrap_err();
    assert_eq!(hole.table, "statuses");
    assert_eq!(hole.value, "hold");
}

#[test]
fn a_reference_that_is_not_copied_makes_its_part_lost() {
    let mut record = trigger();
    rewrite(&mut record, &mut |_, key| {
        if key.as_str() == "12" {
            Fate::Remove
        } else {
            Fate::Key(key.clone())
        }
    });
    assert!(
        matches!(&rule_of(&record).all[2], Condition::Lost(lost) if lost.reason == "its group #12 is not copied"),
        "{:?}",
        rule_of(&record).all
    );
}

#[test]
fn verify_levels_an_original_onto_what_its_target_holds_naming_each_part() {
    let mapping = mapping(|_| {});
    let mut original = trigger();
    if let Some(rule) = original.rule_mut() {
        rule.all.push(Condition::test(
            RuleField::Channel,
            Operator::Is,
            text("whatsapp"),
        ));
    }
    let Ok(Translated::Record(mut old)) = translate(&mapping, original, Side::Old) else {
        panic!("translated");
    };
    // The copy as Freshdesk holds it: switched off, without the channel it has not.
    let Fitted::Written { rule: copy, .. } = fit(
        PlatformKind::Freshdesk,
        RecordKind::Automation,
        rule_of(&old),
    ) else {
        panic!("writable");
    };
    assert!(!copy.active && copy.all.len() == 3, "{copy:?}");
    let mut new = Record::Automation(copy);
    assert_ne!(old.fingerprint(), new.fingerprint());
    let reasons = level(&mut old, &mut new, PlatformKind::Freshdesk);
    assert_eq!(old.fingerprint(), new.fingerprint());
    assert_eq!(
        reasons,
        [
            r#"automation "Escalate solved VIPs": condition 4: "channel is \"whatsapp\"" freshdesk has no source for whatsapp"#
        ]
    );
}

#[test]
fn a_rule_the_target_held_already_is_levelled_on_its_switch_only() {
    let mapping = mapping(|_| {});
    let Ok(Translated::Record(mut old)) = translate(&mapping, trigger(), Side::Old) else {
        panic!("translated");
    };
    let Fitted::Written { rule: mut own, .. } = fit(
        PlatformKind::Freshdesk,
        RecordKind::Automation,
        rule_of(&old),
    ) else {
        panic!("writable");
    };
    own.active = true;
    let mut new = Record::Automation(own.clone());
    let reasons = level(&mut old, &mut new, PlatformKind::Freshdesk);
    assert_eq!(old.fingerprint(), new.fingerprint());
    assert_eq!(reasons.len(), 1);
    assert!(reasons[0].contains("active"), "{reasons:?}");
    // Anything else that differs stays a difference.
    own.title = "Another".into();
    let mut new = Record::Automation(own);
    let Ok(Translated::Record(mut old)) = translate(&mapping, trigger(), Side::Old) else {
        panic!("translated");
    };
    level(&mut old, &mut new, PlatformKind::Freshdesk);
    assert_ne!(old.fingerprint(), new.fingerprint());
}

#[test]
fn a_ticket_type_condition_goes_through_the_ticket_type_table() {
    use cutover_plan::plan::values::Target;
    let mut record = trigger();
    if let Some(rule) = record.rule_mut() {
        rule.all = vec![
            Condition::test(RuleField::TicketType, Operator::Is, text("task")),
            Condition::test(RuleField::TicketType, Operator::IsNot, text("problem")),
        ];
    }
    // Without the table, a type is carried as it is.
    let Ok(Translated::Record(plain)) = translate(&mapping(|_| {}), record.clone(), Side::Old)
    else {
        panic!("translated");
    };
    assert_eq!(
        rule_of(&plain).all[0],
        Condition::test(RuleField::TicketType, Operator::Is, text("task"))
    );
    let mapping = mapping(|plan| {
        let mut types = std::collections::BTreeMap::new();
        types.insert("task".to_owned(), Target::To("Feature Request".into()));
        types.insert("problem".to_owned(), Target::Drop);
        plan.ticket_types = Some(types);
    });
    let Ok(Translated::Record(mapped)) = translate(&mapping, record.clone(), Side::Old) else {
        panic!("translated");
    };
    let rule = rule_of(&mapped);
    assert_eq!(
        rule.all[0],
        Condition::test(RuleField::TicketType, Operator::Is, text("feature request"))
    );
    assert_eq!(
        rule.all[1],
        Condition::Lost(Lost {
            text: r#"ticket_type is not "problem""#.into(),
            reason: r#""problem" is dropped by [mapping.ticket_types]"#.into(),
        })
    );
    // A type the table leaves out is a hole naming the table.
    let mapping = super::Mapping::from_plan(&{
        let mut plan = mapping.plan().clone();
        plan.ticket_types.as_mut().unwrap().remove("task");
        plan
    });
    let hole = translate(&mapping, record, Side::Old).unwrap_err();
    assert_eq!((hole.table, hole.value.as_str()), ("ticket_types", "task"));
}
