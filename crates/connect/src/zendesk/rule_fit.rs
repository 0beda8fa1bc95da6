//! What Zendesk holds of a rule ([`fit`]): the parts its lists can say, as `rules.rs` writes
//! them, switched off (SLA policies have no switch); every other part named. A list of
//! alternatives becomes `any` conditions, a `none of` one `is not` per value.

use cutover_model::RecordKind;
use cutover_model::rules::{Condition, Operator, Rule, RuleField, RuleValue, When};
use serde_json::Value;

use super::rules::{List, MOMENTS, ZENDESK, action_json, condition_json, is_alternatives};
use crate::rules::{Fitted, Fitter};

/// What Zendesk holds of a rule of `kind`: written switched off (SLA policies have no off
/// switch), with the parts its lists cannot say named.
pub(crate) fn fit(kind: RecordKind, rule: &Rule) -> Fitted {
    let Some(list) = List::of(kind, rule) else {
        return Fitted::Unwritable(format!("zendesk has no rules of kind {kind}"));
    };
    let mut fitter = Fitter::new(ZENDESK);
    let mut out = Rule::titled(rule.title.clone());
    out.active = fitter.active(rule, list != List::SlaPolicies, list.what());
    out.description = fitter.description(
        rule,
        matches!(
            list,
            List::Macros | List::Triggers | List::Views | List::SlaPolicies
        ),
        list.what(),
    );
    if kind == RecordKind::Automation {
        out.when = Some(match rule.when {
            Some(When::Hourly) => When::Hourly,
            Some(when @ (When::Created | When::Updated)) => when,
            _ => When::CreatedOrUpdated,
        });
    }
    match list {
        List::Macros | List::TicketForms => fitter.no_conditions(rule, list.what()),
        _ => fit_conditions(&mut fitter, list, rule, &mut out),
    }
    if list == List::Automations && !tests_time(&out.all) {
        return Fitted::Unwritable(
            "a zendesk automation must test a time (hours since …), and this one tests none \
             that zendesk can write"
                .into(),
        );
    }
    out.actions = fitter.actions(&rule.actions, |a| action_json(list, a).map(|_| ()));
    out.visible_to = if matches!(list, List::Macros | List::Views) {
        fitter.visibility(&rule.visible_to, true)
    } else {
        fitter.visibility(&rule.visible_to, false)
    };
    if list == List::SlaPolicies {
        out.targets = rule.targets.clone();
    }
    if list == List::TicketForms {
        out.fields = form_fields(&mut fitter, &rule.fields);
    }
    let acts = matches!(list, List::Macros | List::Triggers | List::Automations);
    if acts && out.actions.is_empty() {
        return fitter.nothing_left("an action");
    }
    let tests = matches!(list, List::Triggers | List::Views);
    if tests
        && out.all.is_empty()
        && out.any.is_empty()
        && out.when != Some(When::Created)
        && out.when != Some(When::Updated)
    {
        return fitter.nothing_left("a condition");
    }
    fitter.finish(out, list == List::SlaPolicies)
}

fn tests_time(all: &[Condition]) -> bool {
    all.iter().any(|c| {
        matches!(
            c,
            Condition::Test {
                field: RuleField::HoursSince(_),
                ..
            }
        ) || matches!(c, Condition::Native(n) if n.platform == ZENDESK
            && n.json.get("field").and_then(Value::as_str).is_some_and(|f| MOMENTS.iter().any(|(m, _)| *m == f)))
    })
}

/// A multi-valued `none of` (not of tags): Zendesk says it as one `is not` per value.
fn spread_none_of(condition: &Condition) -> Vec<Condition> {
    match condition {
        Condition::Test {
            field,
            operator: Operator::NoneOf,
            value: RuleValue::List(items),
        } if *field != RuleField::Tags => items
            .iter()
            .map(|v| Condition::test(field.clone(), Operator::IsNot, v.clone()))
            .collect(),
        other => vec![other.clone()],
    }
}

fn fit_conditions(fitter: &mut Fitter, list: List, rule: &Rule, out: &mut Rule) {
    let mut check = |c: &Condition| condition_json(list, c).map(|_| ());
    let mut alternatives = Vec::new();
    for (idx, condition) in rule.all.iter().enumerate() {
        if is_alternatives(condition) {
            alternatives.push((idx, condition.clone()));
            continue;
        }
        for part in spread_none_of(condition) {
            if fitter.condition(format!("condition {}", idx + 1), &part, &mut check) {
                out.all.push(part);
            }
        }
    }
    for (idx, condition) in rule.any.iter().enumerate() {
        let spread: Vec<Condition> = match condition {
            Condition::Test {
                field,
                operator: Operator::AnyOf,
                value: RuleValue::List(items),
            } if *field != RuleField::Tags => items
                .iter()
                .map(|v| Condition::test(field.clone(), Operator::Is, v.clone()))
                .collect(),
            other => vec![other.clone()],
        };
        for part in spread {
            if fitter.condition(format!("any condition {}", idx + 1), &part, &mut check) {
                out.any.push(part);
            }
        }
    }
    let mut alternatives = alternatives.into_iter();
    if out.any.is_empty()
        && let Some((idx, first)) = alternatives.next()
    {
        // Written as one `is` per value in `any`: each must be writable.
        let mut each = |c: &Condition| match c {
            Condition::Test {
                field,
                value: RuleValue::List(items),
                ..
            } => items.iter().try_for_each(|v| {
                condition_json(
                    list,
                    &Condition::test(field.clone(), Operator::Is, v.clone()),
                )
                .map(|_| ())
            }),
            other => check(other),
        };
        if fitter.condition(format!("condition {}", idx + 1), &first, &mut each) {
            out.all.push(first);
        }
    }
    for (idx, rest) in alternatives {
        fitter.lose(
            format!("condition {}", idx + 1),
            rest.to_string(),
            "zendesk tests one list of alternatives per rule (its any conditions)".into(),
        );
    }
}

fn form_fields(fitter: &mut Fitter, fields: &[RuleField]) -> Vec<RuleField> {
    let mut kept = Vec::new();
    for (idx, field) in fields.iter().enumerate() {
        match field {
            RuleField::CustomField(key) if key.bytes().all(|b| b.is_ascii_digit()) => {
                kept.push(field.clone());
            }
            RuleField::CustomField(key) => fitter.lose(
                format!("field {}", idx + 1),
                field.to_string(),
                format!("custom field {key} has no zendesk id"),
            ),
            other => fitter.lose(
                format!("field {}", idx + 1),
                other.to_string(),
                "zendesk shows its built-in fields on every form".into(),
            ),
        }
    }
    kept
}
