//! What Freshdesk holds of a rule ([`fit`]): a macro as a canned response (a public reply's text)
//! or a scenario automation, a routing rule as an automation rule of one type (an update rule
//! running on one named change), an SLA policy with a first response and a resolution target for
//! every priority; written switched off where Freshdesk has a switch, every other part named.

use std::collections::BTreeSet;

use cutover_model::RecordKind;
use cutover_model::rules::{Action, Condition, Metric, Operator, Rule, RuleField, SlaTarget, When};

use super::rule_lists::sla_body;
use super::rules::{
    FILLED_TARGET_MINUTES, FRESHDESK_PLATFORM as FRESHDESK, HOURLY, List, ON_CREATE, ON_UPDATE,
    SLA_PRIORITIES, action_json, events_json, is_change, property_json,
};
use crate::rules::{Fitted, Fitter};

/// What Freshdesk holds of a rule of `kind`.
pub(crate) fn fit(kind: RecordKind, rule: &Rule) -> Fitted {
    match kind {
        RecordKind::Macro => fit_macro(rule),
        RecordKind::Automation => fit_rule(rule),
        RecordKind::SlaPolicy => fit_sla(rule),
        RecordKind::View => Fitted::Unwritable(
            "freshdesk has no views that its API writes: set this view up by hand".into(),
        ),
        RecordKind::TicketForm => Fitted::Unwritable(
            "freshdesk's API does not write ticket forms: set this form up by hand".into(),
        ),
        other => Fitted::Unwritable(format!("freshdesk has no rules of kind {other}")),
    }
}

/// The list a macro goes to: a public reply's text is a canned response, the rest a scenario.
pub(crate) fn macro_list(rule: &Rule) -> List {
    if rule
        .actions
        .iter()
        .any(|a| matches!(a, Action::Comment { public: true, .. }))
    {
        List::Canned
    } else {
        List::Scenarios
    }
}

fn fit_macro(rule: &Rule) -> Fitted {
    let mut fitter = Fitter::new(FRESHDESK);
    let mut out = Rule::titled(rule.title.clone());
    fitter.no_conditions(rule, "canned responses and scenarios");
    match macro_list(rule) {
        List::Canned => {
            out.active = fitter.active(rule, false, "canned responses");
            out.description = fitter.description(rule, false, "canned responses");
            let mut reply = None;
            for (idx, action) in rule.actions.iter().enumerate() {
                match action {
                    Action::Comment { public: true, .. } if reply.is_none() => {
                        reply = Some(action.clone());
                    }
                    other => fitter.lose(
                        format!("action {}", idx + 1),
                        other.to_string(),
                        "a freshdesk canned response holds only the text of one reply".into(),
                    ),
                }
            }
            out.actions.extend(reply);
            out.visible_to = fitter.visibility(&rule.visible_to, true);
        }
        _ => {
            out.active = fitter.active(rule, false, "scenario automations");
            out.description = fitter.description(rule, true, "scenario automations");
            out.actions = fitter.actions(&rule.actions, |a| {
                action_json(List::Scenarios, a).map(|_| ())
            });
            out.visible_to = fitter.visibility(&rule.visible_to, false);
            if out.actions.is_empty() {
                return fitter.nothing_left("an action for a scenario");
            }
        }
    }
    fitter.finish(out, false)
}

fn fit_rule(rule: &Rule) -> Fitted {
    let mut fitter = Fitter::new(FRESHDESK);
    let mut out = Rule::titled(rule.title.clone());
    out.active = fitter.active(rule, true, "automation rules");
    out.description = fitter.description(rule, false, "automation rules");
    let when = rule.when.unwrap_or(When::CreatedOrUpdated);
    out.when = Some(match when {
        When::CreatedOrUpdated => {
            fitter.lose(
                "when",
                when.to_string(),
                "freshdesk runs a rule on creation or on update, not both: written as a \
                 ticket-creation rule"
                    .into(),
            );
            When::Created
        }
        other => other,
    });
    let mut changes: Vec<&Condition> = rule.all.iter().filter(|c| is_change(c)).collect();
    changes.sort_by_key(|c| match c {
        Condition::Test { operator, .. } => *operator,
        _ => Operator::Is,
    });
    let native_events = rule.all.iter().any(|c| {
        matches!(c, Condition::Native(n) if n.platform == FRESHDESK && n.json.get("events").is_some())
    });
    if out.when == Some(When::Updated) && !native_events {
        if let Err(why) = events_json(&changes) {
            return Fitted::Unwritable(format!(
                "{why}: a freshdesk update rule runs on one named change, and this rule runs {when}"
            ));
        }
        out.all.extend(changes.iter().map(|c| (*c).clone()));
    }
    for (idx, condition) in rule.all.iter().enumerate() {
        if is_change(condition) && out.when == Some(When::Updated) {
            continue;
        }
        if fitter.condition(
            format!("condition {}", idx + 1),
            condition,
            &mut property_check,
        ) {
            out.all.push(condition.clone());
        }
    }
    out.any = fitter.conditions("any condition", &rule.any, property_check);
    let list = List::Rules(match out.when {
        Some(When::Hourly) => HOURLY,
        Some(When::Updated) => ON_UPDATE,
        _ => ON_CREATE,
    });
    out.actions = fitter.actions(&rule.actions, |a| action_json(list, a).map(|_| ()));
    out.visible_to = fitter.visibility(&rule.visible_to, false);
    if out.actions.is_empty() {
        return fitter.nothing_left("an action for an automation rule");
    }
    fitter.finish(out, false)
}

fn property_check(condition: &Condition) -> Result<(), String> {
    if let Condition::Native(n) = condition
        && n.platform == FRESHDESK
        && n.bound.is_none()
    {
        return Ok(());
    }
    property_json(condition).map(|_| ())
}

/// What Freshdesk holds of an SLA policy: conditions on groups, companies, sources and types
/// (each any of a list), a first response and a resolution target for every priority.
pub(crate) fn fit_sla(rule: &Rule) -> Fitted {
    let mut fitter = Fitter::new(FRESHDESK);
    let mut out = Rule::titled(rule.title.clone());
    out.active = fitter.active(rule, true, "SLA policies");
    out.description = fitter.description(rule, true, "SLA policies");
    let mut dimensions = BTreeSet::new();
    for (idx, condition) in rule.all.iter().enumerate() {
        let mut check = |c: &Condition| -> Result<(), String> {
            match c {
                Condition::Test {
                    field,
                    operator: Operator::Is | Operator::AnyOf,
                    ..
                } if matches!(
                    field,
                    RuleField::Group
                        | RuleField::Organization
                        | RuleField::Channel
                        | RuleField::TicketType
                ) =>
                {
                    let probe = Rule {
                        all: vec![c.clone()],
                        ..Rule::titled("probe")
                    };
                    sla_body(&probe).map(|_| ())?;
                    if dimensions.insert(field.clone()) {
                        Ok(())
                    } else {
                        Err(format!("freshdesk SLA policies test {field} once"))
                    }
                }
                other => Err(format!("freshdesk SLA policies cannot apply by {other}")),
            }
        };
        if fitter.condition(format!("condition {}", idx + 1), condition, &mut check) {
            out.all.push(condition.clone());
        }
    }
    for (idx, condition) in rule.any.iter().enumerate() {
        fitter.lose(
            format!("any condition {}", idx + 1),
            condition.to_string(),
            "freshdesk SLA policies have no alternatives: every condition must hold".into(),
        );
    }
    out.actions = fitter.actions(&rule.actions, |a| match a {
        Action::Native(n) if n.json.get("escalation").is_some() => Ok(()),
        _ => Err("freshdesk SLA policies have no actions".into()),
    });
    out.targets = fit_targets(&mut fitter, &rule.targets);
    fitter.visibility(&rule.visible_to, false);
    fitter.finish(out, true)
}

/// Why Freshdesk cannot hold `target` beside the targets `kept` so far, if it cannot.
fn target_refusal(target: &SlaTarget, kept: &[SlaTarget]) -> Option<String> {
    let known = SLA_PRIORITIES.iter().any(|(_, p)| *p == target.priority);
    if !matches!(target.metric, Metric::FirstReply | Metric::Resolution) {
        return Some(
            "freshdesk SLA policies set first response and resolution targets only".into(),
        );
    }
    if !known {
        return Some(format!("freshdesk has no priority {:?}", target.priority));
    }
    if kept
        .iter()
        .any(|k| k.priority == target.priority && k.metric == target.metric)
    {
        return Some("one target per priority and metric".into());
    }
    let other = kept
        .iter()
        .find(|k| k.priority == target.priority && k.business_hours != target.business_hours)?;
    Some(format!(
        "freshdesk counts a priority's targets one way: {} hours, as its {} target",
        if other.business_hours {
            "business"
        } else {
            "calendar"
        },
        metric_words(other.metric)
    ))
}

fn fit_targets(fitter: &mut Fitter, targets: &[SlaTarget]) -> Vec<SlaTarget> {
    let mut kept: Vec<SlaTarget> = Vec::new();
    for (idx, target) in targets.iter().enumerate() {
        let why = target_refusal(target, &kept);
        match why {
            Some(why) => fitter.lose(format!("target {}", idx + 1), target.to_string(), why),
            None => kept.push(target.clone()),
        }
    }
    for (_, priority) in SLA_PRIORITIES {
        for metric in [Metric::FirstReply, Metric::Resolution] {
            if kept
                .iter()
                .any(|k| k.priority == *priority && k.metric == metric)
            {
                continue;
            }
            let business_hours = kept
                .iter()
                .find(|k| k.priority == *priority)
                .is_some_and(|k| k.business_hours);
            let filled = SlaTarget {
                priority: (*priority).to_owned(),
                metric,
                minutes: FILLED_TARGET_MINUTES,
                business_hours,
            };
            fitter.lose(
                "targets",
                format!("no {priority} {} target", metric_words(metric)),
                format!(
                    "freshdesk needs a first response and a resolution target for every \
                     priority: written as {filled}"
                ),
            );
            kept.push(filled);
        }
    }
    kept
}

fn metric_words(metric: Metric) -> &'static str {
    match metric {
        Metric::FirstReply => "first response",
        _ => "resolution",
    }
}
