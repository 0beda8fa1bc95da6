//! The fingerprint form of records read in bulk (for verification): values in the new side's
//! vocabulary, references in the old side's key space, references to dropped records removed
//! and history of dropped agents given to the plan's fallback author, as a backfill writes them.

use std::collections::{BTreeMap, BTreeSet};

use cutover_connect::references;
use cutover_model::records::Record;
use cutover_model::{Observed, PlatformId, RecordKind, Side};
use cutover_store::Link;

use crate::losses::Losses;
use crate::mapping::{Mapping, Translated};
use crate::refs::{Fate, rewrite};

/// What an old record's form came to.
#[expect(clippy::large_enum_variant, reason = "a short-lived value, moved once")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Form {
    /// The form.
    Record(Record),
    /// The plan leaves it behind.
    Dropped,
    /// A value has no mapping: the reason, naming the line to add.
    Hole(String),
}

/// Forms of records, with what they depend on: links, drops, agents by e-mail.
#[derive(Debug)]
pub(crate) struct Forms {
    mapping: Mapping,
    links: BTreeMap<(RecordKind, Side, PlatformId), Link>,
    /// Old records the plan drops.
    dropped: BTreeSet<(RecordKind, PlatformId)>,
    /// Old agents by e-mail (lowercase).
    agents: BTreeMap<String, PlatformId>,
    /// The kinds copied: references to other kinds are removed, as a backfill does.
    copied: BTreeSet<RecordKind>,
    /// What one side cannot hold: left out of both forms.
    losses: Losses,
}

impl Forms {
    pub(crate) fn new(mapping: Mapping, links: &[Link], copied: &[RecordKind]) -> Self {
        let mut by_address = BTreeMap::new();
        for link in links {
            for side in Side::BOTH {
                by_address.insert((link.kind, side, link.id(side).clone()), link.clone());
            }
        }
        Forms {
            mapping,
            links: by_address,
            dropped: BTreeSet::new(),
            agents: BTreeMap::new(),
            copied: copied.iter().copied().collect(),
            losses: Losses::default(),
        }
    }

    /// Leaves `losses` out of both forms.
    pub(crate) fn with_losses(mut self, losses: Losses) -> Self {
        self.losses = losses;
        self
    }

    /// What the target cannot hold, levelled on both forms of a linked pair.
    pub(crate) fn losses(&self) -> &Losses {
        &self.losses
    }

    /// The link of a record.
    pub(crate) fn link(&self, kind: RecordKind, side: Side, id: &PlatformId) -> Option<&Link> {
        self.links.get(&(kind, side, id.clone()))
    }

    /// Learns what later forms depend on: field titles, agents' e-mails.
    pub(crate) fn learn(&mut self, observed: &Observed) {
        match &observed.record {
            Record::CustomField(def) => self.mapping.learn_field(observed.side, def),
            Record::Agent(agent) if observed.side == Side::Old => {
                self.agents
                    .insert(agent.email.to_ascii_lowercase(), observed.id.clone());
            }
            _ => {}
        }
    }

    /// The form of a record read on the old side.
    pub(crate) fn old_form(&mut self, observed: &Observed) -> Form {
        let kind = observed.record.kind();
        let mut record = match self.mapping.translate(observed.record.clone(), Side::Old) {
            Ok(Translated::Record(record)) => record,
            Ok(Translated::Dropped(_)) => {
                self.dropped.insert((kind, observed.id.clone()));
                return Form::Dropped;
            }
            Err(hole) => return Form::Hole(hole.reason(kind, &observed.id)),
        };
        if let Some(platforms) = self.losses.platforms
            && crate::rules::left_behind(&record, platforms[1], &self.losses.unwritable_config[1])
        {
            // The new side's API cannot write it: not carried, as `cutover inventory` says.
            self.dropped.insert((kind, observed.id.clone()));
            return Form::Dropped;
        }
        if let Record::Ticket(ticket) = &mut record
            && ticket.priority.is_none()
        {
            // The target requires a priority: the backfill writes its default, so compare that.
            ticket.priority = self.losses.default_priority.map(str::to_owned);
        }
        let kinds = kinds_by_reference(&record);
        let fallback = self
            .mapping
            .unmatched_author()
            .and_then(|email| self.agents.get(&email.to_ascii_lowercase()))
            .cloned();
        let (dropped, copied) = (&self.dropped, &self.copied);
        rewrite(&mut record, |field, key| {
            let is_dropped = kinds.get(&(field, key.clone())).is_some_and(|ks| {
                ks.iter().all(|k| !copied.contains(k))
                    || ks.iter().any(|k| dropped.contains(&(*k, key.clone())))
            });
            match (is_dropped, field, &fallback) {
                (true, "author", Some(agent)) => Fate::Key(agent.clone()),
                (true, "assignee" | "group" | "organization" | "role" | "groups", _) => {
                    Fate::Remove
                }
                _ => Fate::Key(key.clone()),
            }
        });
        Form::Record(record)
    }

    /// The form of a record read on the new side: its references through the links (a reference
    /// with no link reads `new:{id}`, which no old key equals).
    pub(crate) fn new_form(&self, observed: &Observed) -> Record {
        let mut record = observed.record.clone();
        let kinds = kinds_by_reference(&record);
        let copied = &self.copied;
        rewrite(&mut record, |field, key| {
            // A reference to a kind not copied is removed from the old form: so here.
            let not_copied = kinds
                .get(&(field, key.clone()))
                .is_some_and(|ks| ks.iter().all(|k| !copied.contains(k)));
            if not_copied
                && matches!(
                    field,
                    "assignee" | "group" | "organization" | "role" | "groups"
                )
            {
                return Fate::Remove;
            }
            let old = kinds.get(&(field, key.clone())).and_then(|ks| {
                ks.iter()
                    .find_map(|k| self.link(*k, Side::New, key).map(|l| l.old_id.clone()))
            });
            match old {
                Some(old) => Fate::Key(old),
                None => Fate::Key(
                    PlatformId::parse(format!("new:{key}")).unwrap_or_else(|_| key.clone()),
                ),
            }
        });
        record
    }
}

/// The kinds each (field, key) reference may point at.
fn kinds_by_reference(
    record: &Record,
) -> BTreeMap<(&'static str, PlatformId), &'static [RecordKind]> {
    references(record)
        .into_iter()
        .map(|r| ((r.field, r.key), r.kinds))
        .collect()
}
