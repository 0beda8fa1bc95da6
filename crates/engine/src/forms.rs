//! The fingerprint form of records read in bulk (for verification): values in the new side's
//! vocabulary, references in the old side's key space, references to dropped records removed,
//! as a backfill writes them; an agent or group of history that is not carried (the copy has
//! the plan's stand-in, `stand_in.rs`) is marked, and levelled on the pair as not comparable.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use cutover_connect::references;
use cutover_model::records::Record;
use cutover_model::{Observed, PlatformId, RecordKind, Side};
use cutover_store::Link;

use crate::losses::Losses;
use crate::mapping::{Mapping, Translated};
use crate::refs::{Fate, rewrite};
use crate::stand_in::{self, NOT_CARRIED};

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

/// What verification needs of a link: both ids and the side written last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Linked {
    /// The record's id on the old side.
    pub(crate) old_id: PlatformId,
    /// The record's id on the new side.
    pub(crate) new_id: PlatformId,
    /// Which side wrote the content last (the other holds the original).
    pub(crate) last_writer: Side,
}

/// Links held compactly: by old id, the new id and the last writer; by new id, the old id. No
/// fingerprint or version: verification compares contents, not what the last sync saw.
#[derive(Debug, Default)]
struct LinkIndex {
    by_old: HashMap<(RecordKind, PlatformId), (PlatformId, Side)>,
    by_new: HashMap<(RecordKind, PlatformId), PlatformId>,
}

impl LinkIndex {
    fn add(&mut self, link: &Link) {
        let kind = link.kind;
        self.by_old.insert(
            (kind, link.old_id.clone()),
            (link.new_id.clone(), link.last_writer),
        );
        self.by_new
            .insert((kind, link.new_id.clone()), link.old_id.clone());
    }

    fn get(&self, kind: RecordKind, side: Side, id: &PlatformId) -> Option<Linked> {
        let key = (kind, id.clone());
        let old_id = match side {
            Side::Old => id.clone(),
            Side::New => self.by_new.get(&key)?.clone(),
        };
        let (new_id, last_writer) = self.by_old.get(&(kind, old_id.clone()))?.clone();
        Some(Linked {
            old_id,
            new_id,
            last_writer,
        })
    }

    fn len(&self) -> usize {
        self.by_old.len()
    }
}

/// Forms of records, with what they depend on: links, drops.
#[derive(Debug)]
pub(crate) struct Forms {
    mapping: Mapping,
    /// Links of the kinds held whole (everything but a ticket's children).
    links: LinkIndex,
    /// Links of the records of the part being compared (comments and attachments of a part
    /// of the tickets), replaced part after part so they are never all held at once.
    part_links: LinkIndex,
    /// Old records the plan drops.
    dropped: BTreeSet<(RecordKind, PlatformId)>,
    /// The kinds copied: references to other kinds are removed, as a backfill does.
    copied: BTreeSet<RecordKind>,
    /// What one side cannot hold: left out of both forms.
    losses: Losses,
    /// Old groups and roles that share another's copy, with its id (`Mapping::merged_into`).
    merges: crate::apply::Merges,
}

impl Forms {
    pub(crate) fn new(mapping: Mapping, links: &[Link], copied: &[RecordKind]) -> Self {
        let mut forms = Forms {
            mapping,
            links: LinkIndex::default(),
            part_links: LinkIndex::default(),
            dropped: BTreeSet::new(),
            copied: copied.iter().copied().collect(),
            losses: Losses::default(),
            merges: crate::apply::Merges::new(),
        };
        forms.add_links(links);
        forms
    }

    /// Adds links held for the whole run.
    pub(crate) fn add_links(&mut self, links: &[Link]) {
        for link in links {
            self.links.add(link);
        }
    }

    /// Replaces the links of the part being compared.
    pub(crate) fn set_part_links(&mut self, links: &[Link]) {
        self.part_links = LinkIndex::default();
        for link in links {
            self.part_links.add(link);
        }
    }

    /// How many links are held for the whole run.
    pub(crate) fn n_links(&self) -> usize {
        self.links.len()
    }

    /// The ids on `side` of the links of `kind` held for the whole run.
    pub(crate) fn linked_ids(&self, kind: RecordKind, side: Side) -> Vec<PlatformId> {
        self.links
            .by_old
            .iter()
            .filter(|((k, _), _)| *k == kind)
            .map(|((_, old_id), (new_id, _))| match side {
                Side::Old => old_id.clone(),
                Side::New => new_id.clone(),
            })
            .collect()
    }

    /// Leaves `losses` out of both forms.
    pub(crate) fn with_losses(mut self, losses: Losses) -> Self {
        self.losses = losses;
        self
    }

    /// Whether old inline images stay where they are (`copy.inline_images = "link"`).
    pub(crate) fn links_inline_images(&self) -> bool {
        self.mapping.links_inline_images()
    }

    /// What the target cannot hold, levelled on both forms of a linked pair.
    pub(crate) fn losses(&self) -> &Losses {
        &self.losses
    }

    /// The link of a record.
    pub(crate) fn link(&self, kind: RecordKind, side: Side, id: &PlatformId) -> Option<Linked> {
        self.links
            .get(kind, side, id)
            .or_else(|| self.part_links.get(kind, side, id))
    }

    /// Learns which of the old side's groups and roles share another's copy.
    pub(crate) fn learn_merges<'a>(&mut self, old: impl IntoIterator<Item = &'a Observed>) {
        if !self.mapping.has_merges() {
            return;
        }
        let records: Vec<(RecordKind, &PlatformId, &str)> = old
            .into_iter()
            .filter_map(|o| match &o.record {
                Record::Group(g) => Some((RecordKind::Group, &o.id, g.name.as_str())),
                Record::Role(r) => Some((RecordKind::Role, &o.id, r.name.as_str())),
                _ => None,
            })
            .collect();
        // Learned kind by kind (a part of tickets' children holds none): what was learned
        // stands.
        self.merges.extend(self.mapping.merges(records));
    }

    /// Learns what later forms depend on: field titles.
    pub(crate) fn learn(&mut self, observed: &Observed) {
        if let Record::CustomField(def) = &observed.record {
            self.mapping.learn_field(observed.side, def);
        }
    }

    /// The form of a record read on the old side.
    pub(crate) fn old_form(&mut self, observed: &Observed) -> Form {
        let kind = observed.record.kind();
        let mut record = match self.mapping.translate_observed(observed) {
            Ok(Translated::Record(record)) => record,
            Ok(Translated::Dropped(_)) => {
                self.dropped.insert((kind, observed.id.clone()));
                return Form::Dropped;
            }
            Err(hole) => return Form::Hole(hole.reason(kind, &observed.id)),
        };
        // What belongs to a record left behind is left behind with it (the comments of a
        // ticket last changed before `copy.since`, their attachments, its rating).
        let container = match &record {
            Record::Comment(c) => Some((RecordKind::Ticket, &c.ticket)),
            Record::SatisfactionRating(r) => Some((RecordKind::Ticket, &r.ticket)),
            Record::Attachment(a) => Some((RecordKind::Comment, &a.comment)),
            _ => None,
        };
        if let Some((parent, id)) = container
            && self.dropped.contains(&(parent, id.clone()))
        {
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
        // A rule's reference to what the plan leaves behind is a lost part, as the backfill
        // makes it (`rules::rewrite`).
        let is_rule = record.rule().is_some();
        let (dropped, copied, links) = (&self.dropped, &self.copied, &self.links);
        let merges = &self.merges;
        let not_carried = PlatformId::parse(NOT_CARRIED).ok();
        rewrite(&mut record, |field, key| {
            let ks = kinds.get(&(field, key.clone()));
            // A group or role that shares another's copy stands for that one, as in a backfill.
            let shared = ks.and_then(|ks| {
                ks.iter()
                    .find_map(|k| merges.get(&(*k, key.clone())).cloned())
            });
            let key = shared.as_ref().unwrap_or(key);
            if stand_in::lack(kind, field).is_some() {
                let linked =
                    ks.is_some_and(|ks| ks.iter().any(|k| links.get(*k, Side::Old, key).is_some()));
                return match (&not_carried, linked) {
                    (Some(marker), false) => Fate::Key(marker.clone()),
                    _ => Fate::Key(key.clone()),
                };
            }
            let is_dropped = ks.is_some_and(|ks| {
                ks.iter().all(|k| !copied.contains(k))
                    || ks.iter().any(|k| dropped.contains(&(*k, key.clone())))
            });
            match (is_dropped, field) {
                (true, _) if is_rule => Fate::Remove,
                (true, "organization" | "role" | "groups") => Fate::Remove,
                _ => Fate::Key(key.clone()),
            }
        });
        if let Some(platforms) = self.losses.platforms
            && crate::rules::left_behind(&record, platforms[1], &self.losses.unwritable_config[1])
        {
            // The new side cannot hold it (its API writes no such kind, or the rule has no part
            // left the target can say once the plan's drops are out): not carried, as `cutover
            // inventory` says.
            self.dropped.insert((kind, observed.id.clone()));
            return Form::Dropped;
        }
        Form::Record(record)
    }

    /// The form of a record read on the new side: its references through the links (a reference
    /// with no link reads `new:{id}`, which no old key equals).
    pub(crate) fn new_form(&self, observed: &Observed) -> Record {
        // Values a copy's round trip folds into one compare as that one (a Zendesk `new`
        // ticket is `open` on a Freshdesk old side): see `Mapping::round_trip`.
        let mut record = self.mapping.round_trip(observed.record.clone());
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
