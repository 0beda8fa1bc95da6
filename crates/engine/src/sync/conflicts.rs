//! Conflicts: a record changed on both sides since the bridge last synced it.
//!
//! Every update the bridge makes is conditional on the version it last saw on the target
//! (`Connector::update_if`). When the target changed since, the write is refused
//! (`ConnectError::Conflict`) and [`Resolver::resolve`] reads both sides again and decides field
//! by field, against the hashes of each field's content at the last sync that the link keeps
//! (guarantee 3 of DESIGN.md):
//!
//! - a field changed on one side only takes that side's value (no conflict);
//! - a field changed on both sides to the same value is settled (no conflict);
//! - a field changed on both sides to different values is a true conflict, decided by the
//!   plan's rule for that field (`[sync] conflicts`, `field_policy`): the side that owns the
//!   record's work in the current wave (the waves will name it; until then there is no owner
//!   and the next rule applies), else the later writer by each platform's own update time
//!   (a tie goes to the old side), or always the old or always the new side;
//! - comments and attachments are a union: each direction copies the ones the other side
//!   lacks (they are append-only, linked one by one), whatever the ticket's fields came to;
//! - a delete wins: a record gone on the target has its source deleted too.
//!
//! Both sides are then written to the merged content (each conditionally on the version just
//! read), and the link keeps the merged fingerprint, its field hashes and both versions as the
//! platforms answered: the next pass reads both as unchanged, so nothing flips back and forth.
//! Every true conflict is stored with both values, the rule and the winner
//! (`cutover conflicts list|show`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, Weak};

use chrono::{DateTime, Utc};
use cutover_connect::{ConnectError, Connector, ErrorClass, History, Origin, Outbound, references};
use cutover_model::records::Record;
use cutover_model::{Fingerprint, Observed, PlatformId, RecordKind, Side};
use cutover_plan::Plan;
use cutover_plan::plan::names::ConflictRule;
use cutover_store::{Link, NewConflict};
use serde_json::Value;

use crate::apply::{Applier, Outcome, Shaped, per_record};
use crate::error::EngineError;

/// How many times a resolution reads both sides again when a side changes under it.
const MAX_TRIES: usize = 3;

/// The plan's conflict rules: one for every field, and exceptions by field name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictPolicy {
    /// The rule of a field with no exception.
    pub default: ConflictRule,
    /// Exceptions, by the field's name as the plan writes it (`subject`, `status`, `type`,
    /// `tags`, …).
    pub fields: BTreeMap<String, ConflictRule>,
}

impl Default for ConflictPolicy {
    fn default() -> Self {
        ConflictPolicy {
            default: ConflictRule::OwnerThenLatest,
            fields: BTreeMap::new(),
        }
    }
}

impl ConflictPolicy {
    /// The plan's `[sync] conflicts` and `field_policy`.
    pub fn from_plan(plan: &Plan) -> Self {
        ConflictPolicy {
            default: plan.sync.conflicts,
            fields: plan.sync.field_policy.clone(),
        }
    }

    /// The rule for a field of the canonical form (`ticket_type` is the plan's `type`).
    pub fn rule_for(&self, field: &str) -> ConflictRule {
        self.fields
            .get(plan_name(field))
            .copied()
            .unwrap_or(self.default)
    }
}

/// A canonical field's name as the plan's `field_policy` writes it.
fn plan_name(field: &str) -> &str {
    match field {
        "ticket_type" => "type",
        other => other,
    }
}

/// What the rules make of one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Both sides hold the same value: nothing to do.
    Same,
    /// Changed on one side only since the last sync: that side's value.
    Take(Side),
    /// Changed on both sides to different values: a true conflict, won by `winner` under
    /// `rule`.
    Conflict {
        /// The side whose value both sides take.
        winner: Side,
        /// What decided, for people (`later writer`, `old wins`, `new wins`, `owner`).
        rule: &'static str,
    },
}

/// The rule for one field. `base` is the hash of what each side (old, new) held at the last
/// sync: the same content, unless a side holds it as it can (a Freshdesk copy of a Zendesk
/// ticket without priority reads `low`); `None` when the link keeps none, and every difference
/// is then taken for a change on both sides. `old` and `new` are the hashes of each side's
/// content now; `owner` the side that owns the record's work in the current wave (none before
/// waves); `old_at` and `new_at` each platform's update time of the record.
pub fn decide(
    (base_old, base_new): (Option<&str>, Option<&str>),
    old: &str,
    new: &str,
    rule: ConflictRule,
    owner: Option<Side>,
    (old_at, new_at): (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
) -> Decision {
    if old == new {
        return Decision::Same;
    }
    let old_changed = base_old != Some(old);
    let new_changed = base_new != Some(new);
    match (old_changed, new_changed) {
        // Each side holds what it held at the last sync, as it could hold it.
        (false, false) => return Decision::Same,
        (true, false) => return Decision::Take(Side::Old),
        (false, true) => return Decision::Take(Side::New),
        (true, true) => {}
    }
    let later = || match (old_at, new_at) {
        (Some(o), Some(n)) if n > o => Side::New,
        (None, Some(_)) => Side::New,
        _ => Side::Old,
    };
    let (winner, rule) = match rule {
        ConflictRule::OldWins => (Side::Old, "old wins"),
        ConflictRule::NewWins => (Side::New, "new wins"),
        ConflictRule::Latest => (later(), "later writer"),
        ConflictRule::OwnerThenLatest => match owner {
            Some(side) => (side, "owner"),
            None => (later(), "later writer"),
        },
    };
    Decision::Conflict { winner, rule }
}

/// The hash a link keeps of what `side` held of `field` at the last sync: its own when it holds
/// the field as it can (kept as `{side}:{field}`), else the one both held.
pub(crate) fn base_of<'a>(
    fields: Option<&'a cutover_store::FieldHashes>,
    side: Side,
    field: &str,
) -> Option<&'a str> {
    let fields = fields?;
    fields
        .get(&format!("{side}:{field}"))
        .or_else(|| fields.get(field))
        .map(String::as_str)
}

/// `shared` (the hashes of the content both sides hold) with each side's own hash of the
/// fields it holds differently (`{side}:{field}`).
pub(crate) fn with_sides(
    mut shared: cutover_store::FieldHashes,
    sides: [(Side, &BTreeMap<String, String>); 2],
) -> cutover_store::FieldHashes {
    let mut own = Vec::new();
    for (side, hashes) in sides {
        for (field, hash) in hashes {
            if !field.contains(':') && shared.get(field) != Some(hash) {
                own.push((format!("{side}:{field}"), hash.clone()));
            }
        }
    }
    shared.extend(own);
    shared
}

/// The fields of a record's canonical form, by name, as JSON.
pub(crate) fn field_values(record: &Record) -> BTreeMap<String, Value> {
    match serde_json::to_value(record) {
        Ok(Value::Object(mut whole)) => match whole.remove("record") {
            Some(Value::Object(fields)) => fields.into_iter().collect(),
            _ => BTreeMap::new(),
        },
        _ => BTreeMap::new(),
    }
}

/// The hash of one field's value (independent of key order).
pub(crate) fn hash_value(value: &Value) -> String {
    let hex = Fingerprint::of_json(value).to_hex();
    hex.get(..32).unwrap_or(&hex).to_owned()
}

/// A record of `kind` whose canonical fields are `fields`.
fn record_of(kind: RecordKind, fields: &BTreeMap<String, Value>) -> Option<Record> {
    let whole = serde_json::json!({
        "kind": kind.as_str(),
        "record": fields.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<serde_json::Map<_, _>>(),
    });
    serde_json::from_value(whole).ok()
}

/// Where a direction's applier resolves conflicts: the other direction's applier (which reads
/// and writes the other way), the plan's rules, and the conflicts found, kept until the page's
/// commit stores them with its links.
#[derive(Debug)]
pub(crate) struct Resolver {
    /// The applier of the other direction.
    pub(crate) partner: Weak<Applier>,
    /// The plan's rules.
    pub(crate) policy: ConflictPolicy,
    /// Conflicts resolved and not committed yet.
    pub(crate) pending: Arc<Mutex<Vec<NewConflict>>>,
}

/// One side's record as read again for a resolution.
struct Read {
    observed: Observed,
    shaped: Shaped,
    values: BTreeMap<String, Value>,
}

/// What reading a side again came to.
enum Fresh {
    Here(Box<Read>),
    Gone,
    Decided(Outcome),
}

impl Resolver {
    /// Takes the conflicts resolved since the last commit.
    pub(crate) fn take(&self) -> Vec<NewConflict> {
        std::mem::take(
            &mut *self
                .pending
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Resolves a conditional write of `forward` refused because the target changed: reads
    /// both sides again, decides field by field, writes the merged content to each side that
    /// lacks it (conditionally again), and links both at the versions they answered.
    pub(crate) async fn resolve(
        &self,
        forward: &Applier,
        link: &Link,
        source_id: &PlatformId,
    ) -> Result<Outcome, EngineError> {
        let Some(partner) = self.partner.upgrade() else {
            return Ok(Outcome::DeadLettered(format!(
                "{} {source_id}: changed on both sides, and the other direction is not running",
                link.kind
            )));
        };
        let (s_side, t_side) = (forward.from_side(), forward.from_side().other());
        let kind = link.kind;
        for _try in 0..MAX_TRIES {
            let source = match read(forward, forward.source.as_ref(), kind, link.id(s_side)).await?
            {
                Fresh::Here(read) => read,
                // Deleted on the source: its own feed carries the delete.
                Fresh::Gone => return Ok(Outcome::Unchanged),
                Fresh::Decided(outcome) => return Ok(outcome),
            };
            let target =
                match read(&partner, forward.target.as_ref(), kind, link.id(t_side)).await? {
                    Fresh::Here(read) => read,
                    Fresh::Gone => return self.delete_wins(forward, link, &source).await,
                    Fresh::Decided(outcome) => return Ok(outcome),
                };
            let (old, new) = match s_side {
                Side::Old => (&source, &target),
                Side::New => (&target, &source),
            };
            let times = (old.observed.updated_at, new.observed.updated_at);
            let names: BTreeSet<&String> = old.values.keys().chain(new.values.keys()).collect();
            let mut winners: BTreeMap<String, Side> = BTreeMap::new();
            let mut found = Vec::new();
            let null = Value::Null;
            let base = link.fields.as_ref();
            for field in names {
                let (o, n) = (
                    old.values.get(field).unwrap_or(&null),
                    new.values.get(field).unwrap_or(&null),
                );
                let decision = decide(
                    (
                        base_of(base, Side::Old, field),
                        base_of(base, Side::New, field),
                    ),
                    &hash_value(o),
                    &hash_value(n),
                    self.policy.rule_for(field),
                    None,
                    times,
                );
                match decision {
                    Decision::Same => {}
                    Decision::Take(side) => {
                        winners.insert(field.clone(), side);
                    }
                    Decision::Conflict { winner, rule } => {
                        winners.insert(field.clone(), winner);
                        found.push(NewConflict {
                            kind,
                            old_id: link.old_id.clone(),
                            new_id: link.new_id.clone(),
                            field: field.clone(),
                            old_value: o.to_string(),
                            new_value: n.to_string(),
                            rule: rule.to_owned(),
                            winner,
                            at: Utc::now(),
                        });
                    }
                }
            }
            // What each side ends with: its own value of every field, but those the other
            // side won.
            let won_by = |side: Side| -> BTreeSet<String> {
                winners
                    .iter()
                    .filter(|(f, w)| **w == side && source.values.get(*f) != target.values.get(*f))
                    .map(|(f, _)| f.clone())
                    .collect()
            };
            let (s_won, t_won) = (won_by(s_side), won_by(t_side));
            let mut merged = source.values.clone();
            for field in &t_won {
                match target.values.get(field) {
                    Some(value) => merged.insert(field.clone(), value.clone()),
                    None => merged.remove(field),
                };
            }
            let Some(merged_form) = record_of(kind, &merged) else {
                return Ok(Outcome::DeadLettered(format!(
                    "{kind} {source_id}: changed on both sides, and the merged record does not \
                     read back"
                )));
            };
            let all: BTreeSet<String> = source
                .values
                .keys()
                .chain(target.values.keys())
                .cloned()
                .collect();
            // The target takes the source's winning fields and keeps the rest as it holds
            // them; the source likewise.
            let mut t_answer = target.observed.updated_at;
            if !s_won.is_empty() {
                let keep: BTreeSet<String> = all.difference(&s_won).cloned().collect();
                let outbound = splice(forward, &source, &target.observed, &keep).await?;
                match write_if(forward.target.as_ref(), &target.observed, &outbound).await {
                    Ok(at) => t_answer = at.or(t_answer),
                    Err(e) if e.class() == ErrorClass::Conflict => continue,
                    Err(e) => return per_record(e, &outbound),
                }
            }
            let mut s_answer = source.observed.updated_at;
            if !t_won.is_empty() {
                let keep: BTreeSet<String> = all.difference(&t_won).cloned().collect();
                let outbound = splice(&partner, &target, &source.observed, &keep).await?;
                match write_if(forward.source.as_ref(), &source.observed, &outbound).await {
                    Ok(at) => s_answer = at.or(s_answer),
                    Err(e) if e.class() == ErrorClass::Conflict => continue,
                    Err(e) => return per_record(e, &outbound),
                }
            }
            // Each side's own hashes: what it held of the fields it did not take.
            let own = |read: &Read, took: &BTreeSet<String>| -> BTreeMap<String, String> {
                read.values
                    .iter()
                    .filter(|(f, _)| !took.contains(*f))
                    .map(|(f, v)| (f.clone(), hash_value(v)))
                    .collect()
            };
            let (s_own, t_own) = (own(&source, &t_won), own(&target, &s_won));
            let mut settled = Link::new(
                kind,
                link.old_id.clone(),
                link.new_id.clone(),
                forward.fingerprint(&merged_form),
                s_side,
            );
            let (old_at, new_at) = match s_side {
                Side::Old => (s_answer, t_answer),
                Side::New => (t_answer, s_answer),
            };
            settled.old_version = old_at.map(|t| t.to_rfc3339());
            settled.new_version = new_at.map(|t| t.to_rfc3339());
            settled.fields = Some(with_sides(
                forward.field_hashes(&merged_form),
                [(s_side, &s_own), (t_side, &t_own)],
            ));
            forward.state.add_link(settled);
            if !found.is_empty() {
                tracing::info!(%kind, old = %link.old_id, new = %link.new_id, conflicts = found.len(), "Changed on both sides; resolved by the conflict rules.");
            }
            self.pending
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .extend(found);
            return Ok(Outcome::Applied(cutover_connect::WriteOutcome::Updated));
        }
        Ok(Outcome::DeadLettered(format!(
            "{kind} {source_id}: changed on both sides, and again while the conflict was resolved \
             ({MAX_TRIES} tries); tried again on the next change"
        )))
    }

    /// The target's copy is gone (deleted there since the last sync): a delete wins, so the
    /// source is deleted too and the link marked, and the conflict stored.
    async fn delete_wins(
        &self,
        forward: &Applier,
        link: &Link,
        source: &Read,
    ) -> Result<Outcome, EngineError> {
        let (s_side, t_side) = (forward.from_side(), forward.from_side().other());
        let kind = link.kind;
        if let Err(e) = forward.source.delete(kind, &source.observed.id).await {
            return per_record(
                e,
                &Outbound::new(
                    origin_of(forward, &source.observed),
                    source.observed.record.clone(),
                ),
            );
        }
        let mut gone = link.clone();
        gone.old_version = Some(crate::sync::DELETED.to_owned());
        gone.new_version = Some(crate::sync::DELETED.to_owned());
        gone.last_writer = t_side;
        forward.state.add_link(gone);
        let (old_value, new_value) = match s_side {
            Side::Old => ("present".to_owned(), "deleted".to_owned()),
            Side::New => ("deleted".to_owned(), "present".to_owned()),
        };
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(NewConflict {
                kind,
                old_id: link.old_id.clone(),
                new_id: link.new_id.clone(),
                field: "record".to_owned(),
                old_value,
                new_value,
                rule: "a delete wins".to_owned(),
                winner: t_side,
                at: Utc::now(),
            });
        Ok(Outcome::Dropped(format!(
            "{kind} {}: deleted on the {t_side} side while changed on the {s_side} side; a \
             delete wins",
            source.observed.id
        )))
    }
}

/// Reads one record again and shapes it through `applier` (whose source side it is on).
async fn read(
    applier: &Applier,
    connector: &dyn Connector,
    kind: RecordKind,
    id: &PlatformId,
) -> Result<Fresh, EngineError> {
    let page = connector.read_one(kind, id).await?;
    if let Some(rejected) = page.rejected.iter().find(|r| r.kind == kind) {
        // Unreadable now is not gone: nothing is deleted on its account.
        return Ok(Fresh::Decided(Outcome::DeadLettered(rejected.to_string())));
    }
    let Some(observed) = page
        .items
        .into_iter()
        .find(|o| &o.id == id && o.record.kind() == kind)
    else {
        // Not found (404), or reported deleted: gone.
        return Ok(Fresh::Gone);
    };
    let shaped = match applier.shape(&observed, None).await? {
        Ok(shaped) => shaped,
        Err(outcome) => return Ok(Fresh::Decided(outcome)),
    };
    let values = field_values(&applier.flatten(&shaped.form));
    Ok(Fresh::Here(Box::new(Read {
        observed,
        shaped,
        values,
    })))
}

/// The mark of a record written by `applier` (read on its source side).
fn origin_of(applier: &Applier, observed: &Observed) -> Origin {
    Origin {
        side: observed.side,
        platform: applier.source.platform(),
        kind: observed.record.kind(),
        id: observed.id.clone(),
    }
}

/// What `applier` writes of `from` (read on its source side) onto `onto` (on its target side),
/// the fields in `keep` left as `onto` holds them: values as `onto` reads them, references
/// through the links to the source's keys, which the outbound's target ids resolve back.
async fn splice(
    applier: &Applier,
    from: &Read,
    onto: &Observed,
    keep: &BTreeSet<String>,
) -> Result<Outbound, EngineError> {
    let mut targets = from.shaped.targets.clone();
    let mut outgoing = serde_json::to_value(&from.shaped.outgoing).unwrap_or(Value::Null);
    let own = serde_json::to_value(&onto.record).unwrap_or(Value::Null);
    let refs = references(&onto.record);
    for field in keep {
        let Some(fields) = outgoing.get_mut("record").and_then(Value::as_object_mut) else {
            break;
        };
        let kept = own
            .get("record")
            .and_then(|r| r.get(field))
            .cloned()
            .unwrap_or(Value::Null);
        if let Some(reference) = refs.iter().find(|r| r.field == field.as_str()) {
            // A reference kept: the source's record linked to it, resolved back to it.
            let mut mapped = None;
            for kind in reference.kinds {
                if let Some(link) = applier
                    .state
                    .find_link(applier.store.as_ref(), *kind, onto.side, &reference.key)
                    .await?
                {
                    let source_key = link.id(onto.side.other()).clone();
                    targets.insert(*kind, source_key.clone(), reference.key.clone());
                    mapped = Some(source_key);
                    break;
                }
            }
            // One not linked (a stand-in, a record not carried) keeps the source's value.
            if let Some(source_key) = mapped {
                fields.insert(field.clone(), Value::String(source_key.to_string()));
            }
            continue;
        }
        if kept.is_null()
            && refs.iter().all(|r| r.field != field.as_str())
            && is_reference_field(field)
        {
            // A reference the record no longer holds.
            fields.insert(field.clone(), Value::Null);
            continue;
        }
        fields.insert(field.clone(), kept);
    }
    let record: Record = match serde_json::from_value(outgoing) {
        Ok(record) => record,
        Err(_) => from.shaped.outgoing.clone(),
    };
    let mut outbound = Outbound::new(origin_of(applier, &from.observed), record);
    outbound.targets = targets;
    outbound.history = History {
        updated_at: from.observed.updated_at,
        ..History::default()
    };
    Ok(outbound)
}

/// Whether a canonical field holds a reference to another record.
fn is_reference_field(field: &str) -> bool {
    matches!(field, "assignee" | "group" | "organization" | "requester")
}

/// Writes `outbound` over `current` only if it is still at the version just read; answers the
/// version the platform answered.
async fn write_if(
    connector: &dyn Connector,
    current: &Observed,
    outbound: &Outbound,
) -> Result<Option<DateTime<Utc>>, ConnectError> {
    let written = match current.updated_at {
        Some(seen) => connector.update_if(&current.id, outbound, seen).await?,
        None => connector.update(&current.id, outbound).await?,
    };
    Ok(written.updated_at)
}

#[cfg(test)]
#[path = "conflicts_tests.rs"]
mod tests;
