//! Rules (macros, routing rules, SLA policies, views, ticket forms) between the canonical rule
//! form and each platform, the parts that neither connector knows: the references a rule holds,
//! and [`fit`], which says what a platform will hold of a rule.
//!
//! `fit` is the one description of what a target can hold of a rule: the write path writes what
//! it returns, `cutover inventory` lists its parts before the move, and `cutover verify` levels
//! an original onto it after. Each platform's `rules` module reads its JSON into the canonical
//! form (what it cannot express kept as a [`Native`] part), writes the canonical form back, and
//! answers `fit` with what its bodies can say: a part is kept exactly when the platform's body
//! can write it, so reading back what was written gives the fitted rule again.

use cutover_model::records::RecordKey;
use cutover_model::rules::{
    Action, Condition, Lost, Moment, Native, Recipient, Rule, RuleField, RuleValue, Untranslatable,
    Visibility,
};
use cutover_model::{PlatformKind, RecordKind};
use serde_json::Value;

use crate::error::ConnectError;
use crate::outbound::{Reference, TargetIds};

/// What a platform will hold of a rule.
#[expect(clippy::large_enum_variant, reason = "a short-lived value, moved once")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fitted {
    /// The rule as the platform will hold it (written switched off where the platform can), and
    /// each part left out or changed on the way, named.
    Written {
        /// What is written, and what reading it back gives.
        rule: Rule,
        /// The parts it does not hold as they are.
        parts: Vec<Untranslatable>,
    },
    /// The platform has no place for the rule at all; the text says why.
    Unwritable(String),
}

/// What `platform` will hold of `rule`, a record of `kind` (a macro, routing rule, SLA policy,
/// view or ticket form) whose values are in the platform's vocabulary already.
pub fn fit(platform: PlatformKind, kind: RecordKind, rule: &Rule) -> Fitted {
    match platform {
        PlatformKind::Zendesk => crate::zendesk::rule_fit::fit(kind, rule),
        PlatformKind::Freshdesk => crate::freshdesk::rule_fit::fit(kind, rule),
        PlatformKind::Zammad => Fitted::Unwritable(format!(
            "zammad has no connector that writes {kind} records yet"
        )),
    }
}

/// Every reference of a rule: groups, agents, contacts and organizations in its conditions,
/// actions and visibility. Custom fields are named by key, translated like a ticket's.
pub(crate) fn references(rule: &Rule) -> Vec<Reference> {
    let mut refs = Vec::new();
    for condition in rule.all.iter().chain(&rule.any) {
        if let Condition::Test { field, value, .. } = condition {
            value_refs(field, value, &mut refs);
        }
    }
    for action in &rule.actions {
        match action {
            Action::Set { field, value } => value_refs(field, value, &mut refs),
            Action::Notify { to, .. } => {
                if let Some(reference) = recipient_ref(to) {
                    refs.push(reference);
                }
            }
            _ => {}
        }
    }
    if let Visibility::Groups(groups) = &rule.visible_to {
        refs.extend(groups.iter().map(|key| Reference {
            field: "groups",
            kinds: &[RecordKind::Group],
            key: key.clone(),
        }));
    }
    refs
}

/// The kinds a rule's reference field may point at.
fn kinds_named(field: &str) -> &'static [RecordKind] {
    match field {
        "assignee" => &[RecordKind::Agent],
        "requester" => &[RecordKind::Contact, RecordKind::Agent],
        "organization" => &[RecordKind::Organization],
        _ => &[RecordKind::Group],
    }
}

/// Rewrites every record key of a rule (the references [`references`] lists) with
/// `fate(field, key)`: a new key, or why the reference cannot be carried. A part whose only
/// record cannot be carried becomes a [`Lost`] part with that reason; a list (`any of`, the
/// groups a macro is restricted to) loses the member, and is lost when none is left.
pub fn rewrite_keys(
    rule: &mut Rule,
    mut fate: impl FnMut(&'static str, &RecordKey) -> Result<RecordKey, String>,
) {
    for condition in rule.all.iter_mut().chain(rule.any.iter_mut()) {
        let text = condition.to_string();
        let outcome = match condition {
            Condition::Test { field, value, .. } => match field_kinds(field) {
                Some((name, _)) => rewrite_value(value, &mut |key| fate(name, key)),
                None => Ok(()),
            },
            _ => Ok(()),
        };
        if let Err(reason) = outcome {
            *condition = Condition::Lost(Lost { text, reason });
        }
    }
    for action in &mut rule.actions {
        let text = action.to_string();
        let outcome = match action {
            Action::Set { field, value } => match field_kinds(field) {
                Some((name, _)) => rewrite_value(value, &mut |key| fate(name, key)),
                None => Ok(()),
            },
            Action::Notify {
                to: Recipient::Group(key),
                ..
            } => fate("group", key).map(|new| *key = new),
            Action::Notify {
                to: Recipient::Agent(key),
                ..
            } => fate("assignee", key).map(|new| *key = new),
            _ => Ok(()),
        };
        if let Err(reason) = outcome {
            *action = Action::Lost(Lost { text, reason });
        }
    }
    if matches!(rule.visible_to, Visibility::Groups(_)) {
        let text = visibility_text(&rule.visible_to);
        let Visibility::Groups(groups) = &mut rule.visible_to else {
            return;
        };
        let mut kept = std::collections::BTreeSet::new();
        let mut last_refusal = None;
        for key in std::mem::take(groups) {
            match fate("groups", &key) {
                Ok(new) => {
                    kept.insert(new);
                }
                Err(reason) => last_refusal = Some(reason),
            }
        }
        rule.visible_to = match (kept.is_empty(), last_refusal) {
            (true, Some(reason)) => Visibility::Lost(Lost { text, reason }),
            _ => Visibility::Groups(kept),
        };
    }
}

fn rewrite_value(
    value: &mut RuleValue,
    fate: &mut dyn FnMut(&RecordKey) -> Result<RecordKey, String>,
) -> Result<(), String> {
    match value {
        RuleValue::Key(key) => *key = fate(key)?,
        RuleValue::List(items) => {
            let mut refusal = None;
            items.retain_mut(|item| match item {
                RuleValue::Key(key) => match fate(key) {
                    Ok(new) => {
                        *key = new;
                        true
                    }
                    Err(reason) => {
                        refusal = Some(reason);
                        false
                    }
                },
                _ => true,
            });
            if items.is_empty()
                && let Some(reason) = refusal
            {
                return Err(reason);
            }
        }
        _ => {}
    }
    Ok(())
}

/// The rule with every record key replaced by its target id, as the engine resolved them; the
/// first reference with none fails `op` (the record waits for its parent).
pub(crate) fn resolve(rule: &Rule, targets: &TargetIds, op: &str) -> Result<Rule, ConnectError> {
    let mut out = rule.clone();
    let mut missing: Option<(&'static str, RecordKey)> = None;
    rewrite_keys(&mut out, |field, key| {
        let reference = Reference {
            field,
            kinds: kinds_named(field),
            key: key.clone(),
        };
        match targets.resolve(&reference) {
            Some(id) => Ok(id.clone()),
            None => {
                missing.get_or_insert((field, key.clone()));
                Err(format!("{field} {key} is not linked"))
            }
        }
    });
    match missing {
        Some((field, key)) => match targets.require(op, field, kinds_named(field), &key) {
            Err(e) => Err(e),
            Ok(_) => Ok(out),
        },
        None => Ok(out),
    }
}

/// The reference field and kinds of a rule field whose values are records.
pub(crate) fn field_kinds(field: &RuleField) -> Option<(&'static str, &'static [RecordKind])> {
    Some(match field {
        RuleField::Group => ("group", &[RecordKind::Group]),
        RuleField::Assignee => ("assignee", &[RecordKind::Agent]),
        RuleField::Requester => ("requester", &[RecordKind::Contact, RecordKind::Agent]),
        RuleField::Organization => ("organization", &[RecordKind::Organization]),
        _ => return None,
    })
}

fn value_refs(field: &RuleField, value: &RuleValue, refs: &mut Vec<Reference>) {
    let Some((name, kinds)) = field_kinds(field) else {
        return;
    };
    let mut push = |key: &RecordKey| {
        refs.push(Reference {
            field: name,
            kinds,
            key: key.clone(),
        });
    };
    match value {
        RuleValue::Key(key) => push(key),
        RuleValue::List(items) => {
            for item in items {
                if let RuleValue::Key(key) = item {
                    push(key);
                }
            }
        }
        _ => {}
    }
}

/// The reference of a recipient that is a record.
pub(crate) fn recipient_ref(to: &Recipient) -> Option<Reference> {
    let (field, kinds, key): (_, &'static [RecordKind], _) = match to {
        Recipient::Group(key) => ("group", &[RecordKind::Group], key),
        Recipient::Agent(key) => ("assignee", &[RecordKind::Agent], key),
        _ => return None,
    };
    Some(Reference {
        field,
        kinds,
        key: key.clone(),
    })
}

/// Walks a rule's parts for one platform's `fit`: keeps what the platform can write, names the
/// rest.
#[derive(Debug)]
pub(crate) struct Fitter {
    pub(crate) platform: PlatformKind,
    pub(crate) parts: Vec<Untranslatable>,
}

impl Fitter {
    pub(crate) fn new(platform: PlatformKind) -> Self {
        Fitter {
            platform,
            parts: Vec::new(),
        }
    }

    /// Names a part that is not carried as it is.
    pub(crate) fn lose(&mut self, part: impl Into<String>, text: impl Into<String>, why: String) {
        self.parts.push(Untranslatable {
            part: part.into(),
            text: text.into(),
            reason: why,
        });
    }

    /// Why a native part cannot be written here, or `None` when it can (this platform's own, and
    /// not bound to the source account).
    pub(crate) fn native_refusal(&self, native: &Native) -> Option<String> {
        native_json(self.platform, native).err()
    }

    /// Whether the platform can write `condition` (`check` says why a test cannot); a condition
    /// it cannot is named as `part`.
    pub(crate) fn condition(
        &mut self,
        part: String,
        condition: &Condition,
        check: &mut dyn FnMut(&Condition) -> Result<(), String>,
    ) -> bool {
        let refusal = match condition {
            Condition::Lost(Lost { reason, .. }) => Some(reason.clone()),
            Condition::Native(native) => self.native_refusal(native),
            test => check(test).err(),
        };
        match refusal {
            Some(why) => {
                self.lose(part, condition.to_string(), why);
                false
            }
            None => true,
        }
    }

    /// The conditions of `list` the platform can write, in order; `label` names them
    /// (`condition`, `any condition`).
    pub(crate) fn conditions(
        &mut self,
        label: &str,
        list: &[Condition],
        mut check: impl FnMut(&Condition) -> Result<(), String>,
    ) -> Vec<Condition> {
        let mut kept = Vec::new();
        for (idx, condition) in list.iter().enumerate() {
            if self.condition(format!("{label} {}", idx + 1), condition, &mut check) {
                kept.push(condition.clone());
            }
        }
        kept
    }

    /// The actions the platform can write (`check` says why one cannot), in order.
    pub(crate) fn actions(
        &mut self,
        list: &[Action],
        mut check: impl FnMut(&Action) -> Result<(), String>,
    ) -> Vec<Action> {
        let mut kept = Vec::new();
        for (idx, action) in list.iter().enumerate() {
            let refusal = match action {
                Action::Lost(Lost { reason, .. }) => Some(reason.clone()),
                Action::Native(native) => self.native_refusal(native),
                other => check(other).err(),
            };
            match refusal {
                Some(why) => self.lose(format!("action {}", idx + 1), action.to_string(), why),
                None => kept.push(action.clone()),
            }
        }
        kept
    }

    /// The visibility the platform can hold (`groups_ok`: whether it can restrict to groups).
    pub(crate) fn visibility(&mut self, visible_to: &Visibility, groups_ok: bool) -> Visibility {
        let refusal = match visible_to {
            Visibility::Everyone => None,
            Visibility::Groups(_) if groups_ok => None,
            Visibility::Groups(_) => Some(format!(
                "{} cannot restrict it to groups: every agent may use it",
                self.platform
            )),
            Visibility::Native(native) => self.native_refusal(native),
            Visibility::Lost(lost) => Some(lost.reason.clone()),
        };
        match refusal {
            None => visible_to.clone(),
            Some(why) => {
                self.lose("visible to", visibility_text(visible_to), why);
                Visibility::Everyone
            }
        }
    }

    /// The active flag as written: off where the platform has an off switch for the kind (copies
    /// wait for their wave), else on, naming an original that was off.
    pub(crate) fn active(&mut self, rule: &Rule, can_switch_off: bool, what: &str) -> bool {
        if can_switch_off {
            return false;
        }
        if !rule.active {
            self.lose(
                "active",
                "switched off",
                format!(
                    "{} {what} have no off switch: the copy is live as soon as it is written",
                    self.platform
                ),
            );
        }
        true
    }

    /// The description, or none when the kind has none on this platform.
    pub(crate) fn description(&mut self, rule: &Rule, kept: bool, what: &str) -> Option<String> {
        if kept {
            return rule.description.clone();
        }
        if let Some(text) = rule.description.as_ref().filter(|t| !t.trim().is_empty()) {
            let why = format!("{} {what} have no description", self.platform);
            self.lose("description", text.clone(), why);
        }
        None
    }

    /// Rules of a kind that has no conditions here: each one named.
    pub(crate) fn no_conditions(&mut self, rule: &Rule, what: &str) {
        let platform = self.platform;
        let why = || format!("{platform} {what} have no conditions");
        let mut lost = Vec::new();
        for (label, list) in [("condition", &rule.all), ("any condition", &rule.any)] {
            for (idx, condition) in list.iter().enumerate() {
                lost.push((format!("{label} {}", idx + 1), condition.to_string()));
            }
        }
        for (part, text) in lost {
            let reason = why();
            self.lose(part, text, reason);
        }
    }

    pub(crate) fn finish(self, mut rule: Rule, sorted_conditions: bool) -> Fitted {
        rule.normalize(sorted_conditions);
        Fitted::Written {
            rule,
            parts: self.parts,
        }
    }

    /// A rule the platform refuses without an action (or a condition) left: unwritable, naming
    /// what was left out on the way.
    pub(crate) fn nothing_left(self, what: &str) -> Fitted {
        let parts: Vec<String> = self.parts.iter().map(ToString::to_string).collect();
        let detail = if parts.is_empty() {
            String::new()
        } else {
            format!(" ({})", parts.join("; "))
        };
        Fitted::Unwritable(format!(
            "{} needs {what}, and none of this rule's can be written there{detail}",
            self.platform
        ))
    }
}

fn visibility_text(visible_to: &Visibility) -> String {
    match visible_to {
        Visibility::Everyone => "every agent".into(),
        Visibility::Groups(groups) => {
            let names: Vec<String> = groups.iter().map(|g| format!("group #{g}")).collect();
            names.join(", ")
        }
        Visibility::Native(native) => native.text.clone(),
        Visibility::Lost(lost) => lost.text.clone(),
    }
}

/// A JSON value as a rule value: strings as text, whole numbers as numbers, lists as lists.
pub(crate) fn value_of(json: &Value) -> RuleValue {
    match json {
        Value::Null => RuleValue::None,
        Value::Bool(b) => RuleValue::Bool(*b),
        Value::Number(n) => n
            .as_i64()
            .map_or_else(|| RuleValue::Text(n.to_string()), RuleValue::Number),
        Value::String(s) => RuleValue::Text(s.clone()),
        Value::Array(items) => RuleValue::List(items.iter().map(value_of).collect()),
        Value::Object(_) => RuleValue::Text(json.to_string()),
    }
}

/// A rule value as JSON (the inverse of [`value_of`] for values that came from JSON).
pub(crate) fn json_of(value: &RuleValue) -> Value {
    match value {
        RuleValue::None => Value::Null,
        RuleValue::Bool(b) => Value::Bool(*b),
        RuleValue::Number(n) => Value::from(*n),
        RuleValue::Text(s) => Value::String(s.clone()),
        RuleValue::Key(key) => key
            .as_str()
            .parse::<u64>()
            .map_or_else(|_| Value::String(key.to_string()), Value::from),
        RuleValue::List(items) => Value::Array(items.iter().map(json_of).collect()),
    }
}

/// A platform's names for the rule fields: the built-in ones, the hours-since ones, and how a
/// custom field's key becomes a name (`custom_fields_123`, `cf_plan`) and back.
#[derive(Debug)]
pub(crate) struct FieldNames {
    pub(crate) fixed: &'static [(&'static str, RuleField)],
    pub(crate) moments: &'static [(&'static str, Moment)],
    /// The custom field's name for a key, when the platform can name it.
    pub(crate) custom_name: fn(&str) -> Option<String>,
    /// The key of a custom field's name, when the name is one.
    pub(crate) custom_key: fn(&str) -> Option<String>,
}

impl FieldNames {
    /// The platform's name of `field`.
    pub(crate) fn name(&self, field: &RuleField) -> Option<String> {
        match field {
            RuleField::CustomField(key) => (self.custom_name)(key),
            RuleField::HoursSince(moment) => self
                .moments
                .iter()
                .find(|(_, m)| m == moment)
                .map(|(n, _)| (*n).to_owned()),
            other => self
                .fixed
                .iter()
                .find(|(_, f)| f == other)
                .map(|(n, _)| (*n).to_owned()),
        }
    }

    /// The rule field the platform names `name`.
    pub(crate) fn field(&self, name: &str) -> Option<RuleField> {
        if let Some(key) = (self.custom_key)(name) {
            return Some(RuleField::CustomField(key));
        }
        if let Some((_, moment)) = self.moments.iter().find(|(n, _)| *n == name) {
            return Some(RuleField::HoursSince(*moment));
        }
        self.fixed
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| f.clone())
    }
}

/// The JSON of a native part as `platform` writes it back, or why it cannot be written there
/// (another platform's, or bound to the source account).
pub(crate) fn native_json(platform: PlatformKind, native: &Native) -> Result<Value, String> {
    if native.platform != platform {
        return Err(format!("has no {platform} counterpart"));
    }
    match &native.bound {
        Some(why) => Err(why.clone()),
        None => Ok(native.json.clone()),
    }
}

/// A native part of `platform`: its JSON, and how it reads.
pub(crate) fn native(platform: PlatformKind, text: String, json: Value) -> Native {
    Native {
        platform,
        text,
        json,
        bound: None,
    }
}

/// The text of a JSON scalar for a part's description (`"x"` → `x`).
pub(crate) fn plain(json: &Value) -> String {
    match json {
        Value::String(s) => s.clone(),
        Value::Null => "nothing".into(),
        other => other.to_string(),
    }
}

/// A record key out of a JSON id (number or numeric text).
pub(crate) fn key_of(json: &Value) -> Option<RecordKey> {
    match json {
        Value::Number(n) => n.as_u64().map(RecordKey::from),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            RecordKey::parse(s.clone()).ok()
        }
        _ => None,
    }
}

/// A value's texts, when it holds only texts (one, or a list).
pub(crate) fn texts_of(value: &RuleValue) -> Option<Vec<&str>> {
    match value {
        RuleValue::Text(text) => Some(vec![text.as_str()]),
        RuleValue::List(items) => items
            .iter()
            .map(|item| match item {
                RuleValue::Text(text) => Some(text.as_str()),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use cutover_model::PlatformId;
    use cutover_model::rules::Operator;

    use super::*;

    #[test]
    fn a_rule_refers_to_the_groups_agents_and_customers_it_names() {
        let mut rule = Rule::titled("Route VIP");
        rule.all = vec![
            Condition::test(
                RuleField::Group,
                Operator::AnyOf,
                RuleValue::List(vec![
                    RuleValue::Key(PlatformId::from(1)),
                    RuleValue::Key(PlatformId::from(2)),
                ]),
            ),
            Condition::test(
                RuleField::Status,
                Operator::Is,
                RuleValue::Text("open".into()),
            ),
        ];
        rule.actions = vec![
            Action::Set {
                field: RuleField::Assignee,
                value: RuleValue::Key(PlatformId::from(3)),
            },
            Action::Notify {
                to: Recipient::Group(PlatformId::from(4)),
                subject: "s".into(),
                body: "b".into(),
            },
        ];
        rule.visible_to = Visibility::Groups([PlatformId::from(5)].into());
        let refs: Vec<String> = references(&rule)
            .iter()
            .map(|r| format!("{}={}", r.field, r.key))
            .collect();
        assert_eq!(
            refs,
            ["group=1", "group=2", "assignee=3", "group=4", "groups=5"]
        );
    }

    #[test]
    fn json_values_round_trip() {
        for json in [
            serde_json::json!(null),
            serde_json::json!("open"),
            serde_json::json!(96),
            serde_json::json!(true),
            serde_json::json!(["a", 2]),
        ] {
            assert_eq!(json_of(&value_of(&json)), json);
        }
    }
}

#[cfg(test)]
#[path = "rule_tests.rs"]
mod round_trips;
