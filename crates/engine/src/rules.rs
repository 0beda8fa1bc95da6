//! Rules (macros, routing rules, SLA policies, views, ticket forms) in the engine: their values
//! translated with the plan's tables, their references rewritten through the links like any
//! other reference, and fitted onto the target's platform (`cutover_connect::fit`), written
//! switched off where it can be. A part the plan leaves behind (a dropped status, a group that is
//! not copied) becomes a lost part with its reason; a part the target cannot say is named by
//! `fit`. Both are listed rule by rule: by `cutover inventory` before the move
//! ([`inventory_losses`]) and counted as not comparable by `cutover verify` after ([`level`]).
//!
//! A record is fingerprinted as the target will hold it (fitted), so a copy read back equals
//! its link and is not written again.

use std::collections::BTreeSet;

use cutover_connect::{Capabilities, Connector, Fitted, ReadPosition, fit, rewrite_keys};
use cutover_model::records::{Record, RecordKey};
use cutover_model::rules::{Action, Condition, Lost, Rule, RuleField, RuleValue, Untranslatable};
use cutover_model::{PlatformKind, RecordKind, Side};
use cutover_plan::plan::model::Mapping as PlanMapping;

use crate::apply::Outcome;
use crate::error::EngineError;
use crate::inventory::Loss;
use crate::losses::{Losses, side_index};
use crate::mapping::{Hole, Mapping, Translated};
use crate::refs::Fate;

/// The rule kinds, in dependency order.
const RULE_KINDS: &[RecordKind] = &[
    RecordKind::Macro,
    RecordKind::Automation,
    RecordKind::SlaPolicy,
    RecordKind::View,
    RecordKind::TicketForm,
];

/// A rule record read on `from` in the other side's vocabulary: statuses and priorities through
/// their tables, custom fields by key or title; a value the plan drops becomes a lost part. A
/// value with no mapping is a hole (the record goes to the dead letters with the line to add).
pub(crate) fn translate(
    mapping: &Mapping,
    mut record: Record,
    from: Side,
) -> Result<Translated, Hole> {
    if let Some(rule) = record.rule_mut() {
        translate_rule(mapping, rule, from)?;
    }
    Ok(Translated::Record(record))
}

fn translate_rule(mapping: &Mapping, rule: &mut Rule, from: Side) -> Result<(), Hole> {
    for condition in rule.all.iter_mut().chain(rule.any.iter_mut()) {
        let text = condition.to_string();
        if let Condition::Test { field, value, .. } = condition
            && let Err(reason) = translate_test(mapping, field, value, from)?
        {
            *condition = Condition::Lost(Lost { text, reason });
        }
    }
    for action in &mut rule.actions {
        let text = action.to_string();
        if let Action::Set { field, value } = action
            && let Err(reason) = translate_test(mapping, field, value, from)?
        {
            *action = Action::Lost(Lost { text, reason });
        }
    }
    let mut targets = Vec::new();
    for mut target in std::mem::take(&mut rule.targets) {
        // A priority the plan drops has no target: `inventory` names the drop.
        if let Some(priority) = mapping.priority(&target.priority, from)? {
            target.priority = priority;
            targets.push(target);
        }
    }
    rule.targets = targets;
    let mut fields = Vec::new();
    for field in std::mem::take(&mut rule.fields) {
        match field {
            RuleField::CustomField(key) => {
                if let Some(key) = mapping.field_key(&key, from)? {
                    fields.push(RuleField::CustomField(key));
                }
            }
            other => fields.push(other),
        }
    }
    rule.fields = fields;
    Ok(())
}

/// Translates one test's (or action's) field and value; `Ok(Err(reason))` when the plan drops
/// what it names.
fn translate_test(
    mapping: &Mapping,
    field: &mut RuleField,
    value: &mut RuleValue,
    from: Side,
) -> Result<Result<(), String>, Hole> {
    if let RuleField::CustomField(key) = field {
        match mapping.field_key(key, from)? {
            Some(new) => *key = new,
            None => {
                return Ok(Err(format!(
                    "custom field {key} is dropped by [mapping.fields]"
                )));
            }
        }
    }
    match field {
        RuleField::Status => {
            return translate_values(value, |v| mapping.status(v, from), "statuses");
        }
        RuleField::Priority => {
            return translate_values(value, |v| mapping.priority(v, from), "priorities");
        }
        _ => {}
    }
    if *field == RuleField::TicketType {
        if mapping.maps_ticket_types() {
            let mapped = translate_values(value, |v| mapping.ticket_type(v, from), "ticket_types")?;
            if mapped.is_err() {
                return Ok(mapped);
            }
        }
        lowercase(value);
    }
    Ok(Ok(()))
}

fn lowercase(value: &mut RuleValue) {
    match value {
        RuleValue::Text(text) => *text = text.to_lowercase(),
        RuleValue::List(items) => items.iter_mut().for_each(lowercase),
        _ => {}
    }
}

/// Translates the names in a value (one, or a list: a dropped member leaves the list, a list
/// left empty is lost).
fn translate_values(
    value: &mut RuleValue,
    mut map: impl FnMut(&str) -> Result<Option<String>, Hole>,
    table: &str,
) -> Result<Result<(), String>, Hole> {
    let dropped = |name: &str| format!("{name:?} is dropped by [mapping.{table}]");
    match value {
        RuleValue::Text(name) => match map(name)? {
            Some(new) => *name = new,
            None => return Ok(Err(dropped(name))),
        },
        RuleValue::List(items) => {
            let mut last_dropped = None;
            let mut kept = Vec::new();
            for item in std::mem::take(items) {
                match item {
                    RuleValue::Text(name) => match map(&name)? {
                        Some(new) => kept.push(RuleValue::Text(new)),
                        None => last_dropped = Some(dropped(&name)),
                    },
                    other => kept.push(other),
                }
            }
            *items = kept;
            if items.is_empty()
                && let Some(reason) = last_dropped
            {
                return Ok(Err(reason));
            }
        }
        _ => {}
    }
    Ok(Ok(()))
}

/// Rewrites a rule record's references with `fate` (see `refs::rewrite`): a reference that is
/// removed (its record not copied) makes its part lost.
pub(crate) fn rewrite(
    record: &mut Record,
    fate: &mut impl FnMut(&'static str, &RecordKey) -> Fate,
) {
    if let Some(rule) = record.rule_mut() {
        rewrite_keys(rule, |field, key| match fate(field, key) {
            Fate::Key(new) => Ok(new),
            Fate::Remove => Err(format!("its {field} #{key} is not copied")),
        });
    }
}

/// Fits a configuration record onto the target before it is fingerprinted and written: the
/// form and what goes out become what the target holds. `Some(outcome)` when it is not written
/// at all: a kind the target's API cannot write, or a rule it has no place for (dropped, with
/// the reason `cutover inventory` gives too).
pub(crate) fn fit_for_target(
    form: &mut Record,
    outgoing: &mut Record,
    target: &Capabilities,
) -> Option<Outcome> {
    let kind = form.kind();
    if !kind.is_configuration() {
        return None;
    }
    if !target.can_write(kind) {
        return Some(Outcome::Dropped(cannot_write(target.platform, kind)));
    }
    for record in [form, outgoing] {
        let Some(rule) = record.rule_mut() else {
            continue;
        };
        match fit(target.platform, kind, rule) {
            Fitted::Written { rule: fitted, .. } => *rule = fitted,
            Fitted::Unwritable(why) => return Some(Outcome::Dropped(why)),
        }
    }
    None
}

fn cannot_write(platform: PlatformKind, kind: RecordKind) -> String {
    format!("{platform} has no API that writes {kind} records: not carried; set it up by hand")
}

/// Whether `platform` holds no copy of an old record at all (a kind its API cannot write, or a
/// rule it has no place for): verify counts it as left behind, not missing.
pub(crate) fn left_behind(
    record: &Record,
    platform: PlatformKind,
    unwritable: &BTreeSet<RecordKind>,
) -> bool {
    let kind = record.kind();
    if unwritable.contains(&kind) {
        return true;
    }
    record
        .rule()
        .is_some_and(|rule| matches!(fit(platform, kind, rule), Fitted::Unwritable(_)))
}

/// Levels a linked pair of rule records (other records: nothing) onto what the side the copy was
/// written to holds, for verify; see [`level`].
pub(crate) fn level_pair(
    losses: &Losses,
    old: &mut Record,
    new: &mut Record,
    written_to: Side,
) -> Vec<String> {
    match losses.platforms {
        Some(platforms) if old.rule().is_some() => {
            level(old, new, platforms[side_index(written_to)])
        }
        _ => Vec::new(),
    }
}

/// Levels a linked pair of rule records onto what `platform` (the side the copy was written to)
/// holds: the original is fitted as the copy was, and each part left out is a reason, naming the
/// rule and the part as `cutover inventory` named it before the move; a rule the target held
/// already under the same title and kept switched on is levelled on its switch.
pub(crate) fn level(old: &mut Record, new: &mut Record, platform: PlatformKind) -> Vec<String> {
    let kind = old.kind();
    let (Some(original), Some(copy)) = (old.rule_mut(), new.rule_mut()) else {
        return Vec::new();
    };
    let mut reasons = Vec::new();
    if let Fitted::Written { rule, parts } = fit(platform, kind, original) {
        reasons.extend(parts.iter().map(|part| named(kind, &rule.title, part)));
        *original = rule;
    }
    if original.active != copy.active {
        reasons.push(format!(
            "{}: active: the rule of this title that {platform} held already was linked as it \
             is (cutover writes its copies switched off)",
            rule_key(kind, &original.title)
        ));
        copy.active = original.active;
    }
    reasons
}

/// The key `cutover inventory` names a rule under (`automation "Route VIP"`).
fn rule_key(kind: RecordKind, title: &str) -> String {
    format!("{kind} {title:?}")
}

/// A part as verify counts it: the rule's key and the part, as inventory lists them.
fn named(kind: RecordKind, title: &str, part: &Untranslatable) -> String {
    format!("{}: {part}", rule_key(kind, title))
}

/// What of the source's rules cannot be carried to the target, rule by rule and part by part, as
/// `cutover inventory` lists it: kinds the target's API cannot write, values and records the
/// plan leaves behind, parts the target has no words for, and which copies wait switched off.
pub(crate) async fn inventory_losses(
    source: &dyn Connector,
    target: &dyn Connector,
    plan: &PlanMapping,
    kinds: &[RecordKind],
) -> Result<Vec<Loss>, EngineError> {
    let source_caps = source.capabilities();
    let target_caps = target.capabilities();
    let wanted: Vec<RecordKind> = RULE_KINDS
        .iter()
        .copied()
        .filter(|k| kinds.contains(k) && source_caps.readable.contains(k))
        .collect();
    let mut losses = not_read(&source_caps, &target_caps, kinds);
    if wanted.is_empty() {
        return Ok(losses);
    }
    if source_caps.platform != target_caps.platform {
        losses.push(Loss {
            what: "rules.placeholders".into(),
            detail: format!(
                "placeholders in rules' reply, note and e-mail texts are carried as {} writes \
                 them ({{{{ticket.title}}}} stays as it is): check the texts on {} before \
                 switching the rules on",
                source_caps.platform, target_caps.platform
            ),
        });
    }
    let from = source.side();
    let mut mapping = Mapping::from_plan(plan);
    let left = left_behind_keys(source, &mut mapping, kinds).await?;
    losses.extend(activation(&target_caps, &wanted));
    for kind in wanted {
        for observed in read_all(source, kind).await? {
            let Some(rule) = observed.record.rule() else {
                continue;
            };
            let what = rule_key(kind, &rule.title);
            let mut loss = |detail: String| {
                losses.push(Loss {
                    what: what.clone(),
                    detail,
                })
            };
            if !target_caps.can_write(kind) {
                loss(cannot_write(target_caps.platform, kind));
                continue;
            }
            let record = match mapping.translate(observed.record.clone(), from) {
                Ok(Translated::Record(record)) => record,
                Ok(Translated::Dropped(why)) => {
                    loss(why);
                    continue;
                }
                Err(hole) => {
                    loss(hole.reason(kind, &observed.id));
                    continue;
                }
            };
            let Some(mut rule) = record.rule().cloned() else {
                continue;
            };
            rewrite_keys(&mut rule, |field, key| match left.get(field, key) {
                Some(why) => Err(why),
                None => Ok(key.clone()),
            });
            stand_in_field_keys(&mut rule, target_caps.platform);
            match fit(target_caps.platform, kind, &rule) {
                Fitted::Unwritable(why) => loss(why),
                Fitted::Written { parts, .. } => {
                    for part in parts {
                        loss(part.to_string());
                    }
                }
            }
        }
    }
    Ok(losses)
}

/// Which copies wait switched off for their wave, and which the target has no off switch for.
fn activation(target: &Capabilities, kinds: &[RecordKind]) -> Vec<Loss> {
    let to = target.platform;
    let live: &[(RecordKind, &str)] = match to {
        PlatformKind::Zendesk => &[(
            RecordKind::SlaPolicy,
            "zendesk SLA policies have no off switch: their copies measure copied and new \
             tickets on zendesk from the moment they are written",
        )],
        PlatformKind::Freshdesk => &[(
            RecordKind::Macro,
            "freshdesk canned responses and scenario automations have no off switch: agents \
             can use their copies at once (they run only when an agent applies them)",
        )],
        PlatformKind::Zammad => &[],
    };
    let mut losses = Vec::new();
    let written: Vec<&str> = kinds
        .iter()
        .filter(|k| target.can_write(**k) && !live.iter().any(|(l, _)| l == *k))
        .map(|k| k.as_str())
        .collect();
    if !written.is_empty() {
        losses.push(Loss {
            what: "rules.activation".into(),
            detail: format!(
                "copies of {} are written switched off on {to}: the old side's rules keep serving \
                 customers until the wave that moves their work switches them on",
                written.join(", ")
            ),
        });
    }
    for (kind, detail) in live {
        if kinds.contains(kind) && target.can_write(*kind) {
            losses.push(Loss {
                what: "rules.activation".into(),
                detail: (*detail).to_owned(),
            });
        }
    }
    losses
}

/// What a helpdesk's rules depend on that no connector reads: business hours (which SLA targets
/// in business hours count by) and channel flows (IVR menus, chatbot flows).
fn not_read(source: &Capabilities, target: &Capabilities, kinds: &[RecordKind]) -> Vec<Loss> {
    let (from, to) = (source.platform, target.platform);
    let mut losses = Vec::new();
    if kinds.contains(&RecordKind::SlaPolicy) {
        losses.push(Loss {
            what: "business_hours".into(),
            detail: format!(
                "{from}'s business hours and holidays are not carried: SLA targets counted in \
                 business hours count by {to}'s own schedule; set it up on {to} by hand"
            ),
        });
    }
    if kinds.contains(&RecordKind::ChannelConfig) {
        losses.push(Loss {
            what: "channel_config.flows".into(),
            detail: format!(
                "IVR menus and chatbot flows live in {from}'s voice and bot products, which \
                 cutover does not read: set them up on {to} by hand"
            ),
        });
    }
    losses
}

/// References a backfill will not carry, by reference field and source key, with why: groups
/// and agents the plan drops, and kinds that are not copied.
#[derive(Debug, Default)]
struct LeftBehind {
    dropped: BTreeSet<(RecordKind, RecordKey)>,
    not_copied: BTreeSet<RecordKind>,
}

impl LeftBehind {
    fn get(&self, field: &str, key: &RecordKey) -> Option<String> {
        let kind = match field {
            "assignee" => RecordKind::Agent,
            "requester" => RecordKind::Contact,
            "organization" => RecordKind::Organization,
            _ => RecordKind::Group,
        };
        if self.not_copied.contains(&kind) {
            return Some(format!(
                "its {field} #{key} is not copied ([copy] kinds leaves out {kind})"
            ));
        }
        self.dropped
            .contains(&(kind, key.clone()))
            .then(|| format!("its {field} #{key} is left behind by the plan"))
    }
}

async fn left_behind_keys(
    source: &dyn Connector,
    mapping: &mut Mapping,
    kinds: &[RecordKind],
) -> Result<LeftBehind, EngineError> {
    let from = source.side();
    let mut left = LeftBehind::default();
    for kind in [
        RecordKind::Organization,
        RecordKind::Contact,
        RecordKind::Group,
        RecordKind::Agent,
    ] {
        if !kinds.contains(&kind) {
            left.not_copied.insert(kind);
        }
    }
    let caps = source.capabilities();
    for kind in [
        RecordKind::Group,
        RecordKind::Agent,
        RecordKind::CustomField,
    ] {
        if !caps.readable.contains(&kind) {
            continue;
        }
        for observed in read_all(source, kind).await? {
            if let Record::CustomField(def) = &observed.record {
                mapping.learn_field(from, def);
                continue;
            }
            if let Ok(Translated::Dropped(_)) = mapping.translate(observed.record.clone(), from) {
                left.dropped.insert((kind, observed.id.clone()));
            }
        }
    }
    Ok(left)
}

/// Before the move the target's custom fields may not exist yet (the backfill creates them):
/// a field the plan carries is given a key of the target's form, so only what the plan or the
/// platform leaves out is named.
fn stand_in_field_keys(rule: &mut Rule, platform: PlatformKind) {
    let stand_in = |key: &mut String| {
        let fits = match platform {
            PlatformKind::Zendesk => key.bytes().all(|b| b.is_ascii_digit()),
            _ => key.starts_with("cf_"),
        };
        if !fits {
            *key = match platform {
                PlatformKind::Zendesk => "1".to_owned(),
                _ => format!("cf_{key}"),
            };
        }
    };
    let field = |f: &mut RuleField| {
        if let RuleField::CustomField(key) = f {
            stand_in(key);
        }
    };
    for condition in rule.all.iter_mut().chain(rule.any.iter_mut()) {
        if let Condition::Test { field: f, .. } = condition {
            field(f);
        }
    }
    for action in &mut rule.actions {
        if let Action::Set { field: f, .. } = action {
            field(f);
        }
    }
    rule.fields.iter_mut().for_each(field);
}

async fn read_all(
    connector: &dyn Connector,
    kind: RecordKind,
) -> Result<Vec<cutover_model::Observed>, EngineError> {
    let mut position = ReadPosition::start();
    let mut out = Vec::new();
    loop {
        let page = connector.read_page(kind, &position).await?;
        out.extend(page.items);
        match page.next {
            Some(next) if !page.done && next != position => position = next,
            _ => return Ok(out),
        }
    }
}

/// The configuration kinds a platform's API cannot write: their records are not carried.
pub(crate) fn unwritable_config(caps: &Capabilities) -> BTreeSet<RecordKind> {
    RecordKind::ALL
        .iter()
        .copied()
        .filter(|k| k.is_configuration() && !caps.can_write(*k))
        .collect()
}

/// Whether `cutover inventory` lists a kind's records rule by rule ([`inventory_losses`]).
pub(crate) fn listed_rule_by_rule(kind: RecordKind) -> bool {
    RULE_KINDS.contains(&kind)
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
