//! The fingerprint form of records read in bulk (for verification): values in the new side's
//! vocabulary, references in the old side's key space, references to dropped records removed
//! and history of dropped agents given to the plan's fallback author, as a backfill writes them.

use std::collections::{BTreeMap, BTreeSet};

use cutover_connect::references;
use cutover_model::records::{Channel, Record};
use cutover_model::{Observed, PlatformId, RecordKind, Side};
use cutover_store::Link;

use crate::mapping::{Mapping, Translated};
use crate::refs::{Fate, rewrite};
use crate::verify::Losses;

/// Why a ticket's channel is not compared.
pub(crate) const CHANNEL: &str =
    "ticket channel: the target does not let a ticket's channel be written";
/// Why a ticket's channel differs as the target's capabilities say it must.
pub(crate) const CHANNEL_STAND_IN: &str =
    "ticket channel: the target has no such channel (written as the one it stands for)";
/// Why a ticket's type is not compared.
pub(crate) const TICKET_TYPE: &str = "ticket type: the target has no such type";
/// Why a ticket's solve time is not compared.
pub(crate) const SOLVED_AT: &str =
    "ticket solved_at: the target cannot backdate (its solve time is the copy's)";
/// Why an organization's tags are not compared.
pub(crate) const ORGANIZATION_TAGS: &str =
    "organization tags: the target's organizations have no tags";
/// Why an attachment's inline flag is not compared.
pub(crate) const ATTACHMENT_INLINE: &str =
    "attachment inline flag: the target's attachments have no inline flag";
/// Why a choice field's option names are not compared.
pub(crate) const FIELD_OPTION_NAMES: &str =
    "custom field options: the target keeps an option's value, not its name";
/// Why a custom field's type is not compared.
pub(crate) const FIELD_TYPE: &str =
    "custom field type: a field found by its label on the target keeps the target's type";

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

    /// Levels a linked pair onto what the target can hold: each field a side cannot hold and
    /// on which the two forms differ is set alike on both, and its reason returned (verify
    /// counts it as not comparable, and `cutover inventory` names it before anything moves).
    /// `written_to` is the side the copy was written to (the other side holds the original).
    pub(crate) fn level(
        &self,
        old: &mut Record,
        new: &mut Record,
        written_to: Side,
    ) -> Vec<&'static str> {
        let losses = &self.losses;
        let mut reasons = Vec::new();
        let mut note = |differed: bool, reason: &'static str| {
            if differed {
                reasons.push(reason);
            }
        };
        match (old, new) {
            (Record::Ticket(a), Record::Ticket(b)) => {
                if a.channel != b.channel {
                    let to = side_index(written_to);
                    let (original, copy) = match written_to {
                        Side::New => (a.channel, b.channel),
                        Side::Old => (b.channel, a.channel),
                    };
                    let stood_in = losses.channel_stand_ins[to].contains(&(original, copy));
                    if losses.channel_unwritable[to] {
                        note(true, CHANNEL);
                    } else if stood_in {
                        note(true, CHANNEL_STAND_IN);
                    }
                    if losses.channel_unwritable[to] || stood_in {
                        a.channel = Channel::Other;
                        b.channel = Channel::Other;
                    }
                }
                for t in [&mut *a, &mut *b] {
                    t.ticket_type = t.ticket_type.take().map(|t| t.to_lowercase());
                }
                let before = a.ticket_type != b.ticket_type;
                if let Some(types) = losses.ticket_types {
                    for t in [&mut *a, &mut *b] {
                        t.ticket_type =
                            t.ticket_type.take().filter(|t| types.contains(&t.as_str()));
                    }
                }
                if losses.own_ticket_types && b.ticket_type.is_none() {
                    a.ticket_type = None;
                }
                note(before && a.ticket_type == b.ticket_type, TICKET_TYPE);
                if losses.solved_at && a.solved_at != b.solved_at {
                    a.solved_at = None;
                    b.solved_at = None;
                    note(true, SOLVED_AT);
                }
            }
            (Record::Organization(a), Record::Organization(b))
                if losses.organization_tags && a.tags != b.tags =>
            {
                a.tags.clear();
                b.tags.clear();
                note(true, ORGANIZATION_TAGS);
            }
            (Record::Attachment(a), Record::Attachment(b))
                if losses.attachment_inline && a.inline != b.inline =>
            {
                a.inline = false;
                b.inline = false;
                note(true, ATTACHMENT_INLINE);
            }
            (Record::CustomField(a), Record::CustomField(b)) => {
                if losses.field_option_names && a.options != b.options {
                    for option in a.options.iter_mut().chain(b.options.iter_mut()) {
                        option.name.clone_from(&option.value);
                    }
                    note(a.options == b.options, FIELD_OPTION_NAMES);
                }
                if losses.fields_found_by_label && a.field_type != b.field_type {
                    a.field_type = b.field_type;
                    note(true, FIELD_TYPE);
                }
            }
            _ => {}
        }
        reasons
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

/// The index of a side in the by-side arrays of [`Losses`] (old, new).
fn side_index(side: Side) -> usize {
    match side {
        Side::Old => 0,
        Side::New => 1,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use chrono::DateTime;
    use cutover_model::records::Ticket;

    use super::*;

    fn ticket(channel: Channel) -> Record {
        Record::Ticket(Ticket {
            subject: "Refund".into(),
            status: "open".into(),
            priority: None,
            ticket_type: None,
            channel,
            requester: PlatformId::from(1),
            assignee: None,
            group: None,
            organization: None,
            tags: BTreeSet::new(),
            custom_fields: BTreeMap::new(),
            created_at: DateTime::UNIX_EPOCH,
            solved_at: None,
        })
    }

    fn forms(losses: Losses) -> Forms {
        let plan = cutover_control::plan::model::Mapping::default();
        Forms::new(Mapping::from_plan(&plan), &[], &[]).with_losses(losses)
    }

    /// The reasons `level` gives for an original on one side and its copy on the other, and
    /// whether the two are alike afterwards.
    fn level(
        losses: Losses,
        original: Channel,
        copy: Channel,
        written_to: Side,
    ) -> (Vec<&'static str>, bool) {
        let forms = forms(losses);
        let (mut old, mut new) = match written_to {
            Side::New => (ticket(original), ticket(copy)),
            Side::Old => (ticket(copy), ticket(original)),
        };
        let reasons = forms.level(&mut old, &mut new, written_to);
        (reasons, old == new)
    }

    const FRESHDESK_LIKE: &[(Channel, Channel)] = &[
        (Channel::Api, Channel::WebForm),
        (Channel::Whatsapp, Channel::Chat),
    ];

    #[test]
    fn a_channel_the_target_has_not_is_levelled_only_as_its_stand_in() {
        let losses = Losses {
            channel_stand_ins: [&[], FRESHDESK_LIKE],
            ..Losses::default()
        };
        let stood_in = level(losses.clone(), Channel::Api, Channel::WebForm, Side::New);
        assert_eq!(stood_in, (vec![CHANNEL_STAND_IN], true));
        // A channel the target has, changed on the way, is a difference.
        let changed = level(losses.clone(), Channel::Email, Channel::WebForm, Side::New);
        assert_eq!(changed, (vec![], false));
        // So is a stand-in other than the stated one.
        let wrong = level(losses.clone(), Channel::Api, Channel::Chat, Side::New);
        assert_eq!(wrong, (vec![], false));
        // The stand-ins are the new side's: a copy written to the old side keeps its channel.
        let other_way = level(losses, Channel::Api, Channel::WebForm, Side::Old);
        assert_eq!(other_way, (vec![], false));
    }

    #[test]
    fn a_target_that_cannot_write_channels_is_levelled_whatever_the_channel() {
        let losses = Losses {
            channel_unwritable: [false, true],
            ..Losses::default()
        };
        let read_as_api = level(losses.clone(), Channel::Email, Channel::Api, Side::New);
        assert_eq!(read_as_api, (vec![CHANNEL], true));
        // The old side writes channels: a copy there must keep it.
        let back = level(losses, Channel::Email, Channel::Api, Side::Old);
        assert_eq!(back, (vec![], false));
        let alike = level(Losses::default(), Channel::Chat, Channel::Chat, Side::New);
        assert_eq!(alike, (vec![], true));
    }
}
