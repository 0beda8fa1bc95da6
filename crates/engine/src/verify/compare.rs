//! The comparison of both sides through the links: missing, extra, only on the new side,
//! different, and what is levelled as not comparable.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use cutover_model::records::Record;
use cutover_model::{Observed, PlatformId, RecordKind, Side};
use cutover_store::Link;

use super::held::Held;
use super::readers::Snapshot;
use super::report::{Different, KindReport, Missing, Pages, VerifyReport};
use crate::diff::diff;
use crate::error::EngineError;
use crate::forms::{Form, Forms};
use crate::losses::Losses;
use crate::mapping::Mapping;
use crate::stand_in;

/// The record a record is written with, as (kind, id on the same side): a comment's or a
/// rating's ticket, an attachment's comment. An unmarked record whose parent is extra is extra
/// too: Zendesk imports a ticket's comments with it, and no platform marks an attachment, so the
/// children of a duplicate carry no mark of their own.
pub fn parent_of(record: &Record) -> Option<(RecordKind, &PlatformId)> {
    match record {
        Record::Comment(c) => Some((RecordKind::Ticket, &c.ticket)),
        Record::SatisfactionRating(r) => Some((RecordKind::Ticket, &r.ticket)),
        Record::Attachment(a) => Some((RecordKind::Comment, &a.comment)),
        _ => None,
    }
}

/// Why an unlinked record of the new side is extra, or `None` when it is the new side's own
/// (no mark, and not part of an extra record). `extras` holds the extras found so far, by kind.
fn extra_reason(
    observed: &Observed,
    extras: &BTreeMap<RecordKind, BTreeMap<PlatformId, String>>,
) -> Option<String> {
    if let Some(origin) = &observed.origin {
        return Some(format!(
            "written by cutover as the copy of {origin} but not linked"
        ));
    }
    let (kind, parent) = parent_of(&observed.record)?;
    extras
        .get(&kind)
        .filter(|ids| ids.contains_key(parent))
        .map(|_| format!("part of {kind} {parent}, which is extra"))
}

/// Why an old record with no link is missing, until its dead letter says more (see
/// `run::explain_missing`).
pub(super) const NOT_COPIED: &str = "not copied: no backfill has read it (made since the last \
    backfill, or the backfill has not reached it yet): run `cutover backfill`";

/// A record's page on a platform, for people: `(side, kind, id)` to its address.
pub(super) type PageOf<'a> = &'a (dyn Fn(Side, RecordKind, &PlatformId) -> Option<String> + Sync);

/// The pages of the records a comparison reports.
struct Paging<'a> {
    page: PageOf<'a>,
    /// The ticket of each comment of the part being compared, by side and id: an attachment's
    /// page is its comment's ticket's.
    comment_tickets: HashMap<(Side, PlatformId), PlatformId>,
    /// The inline images the part's old comments link to, when the plan keeps them as links:
    /// by comment, each image's file name and address on the old platform.
    linked_images: HashMap<PlatformId, Vec<(String, url::Url)>>,
}

impl Paging<'_> {
    /// Where a record is seen: itself, or the ticket it belongs to.
    fn container(&self, observed: &Observed) -> (RecordKind, PlatformId) {
        let ticket = |id: &PlatformId| (RecordKind::Ticket, id.clone());
        match &observed.record {
            Record::Comment(c) => ticket(&c.ticket),
            Record::SatisfactionRating(r) => ticket(&r.ticket),
            Record::Attachment(a) => {
                match self
                    .comment_tickets
                    .get(&(observed.side, a.comment.clone()))
                {
                    Some(id) => ticket(id),
                    None => (RecordKind::Comment, a.comment.clone()),
                }
            }
            other => (other.kind(), observed.id.clone()),
        }
    }

    /// A record's page on its side and its copy's (`copy`, or its container's copy) on the
    /// other.
    fn pages(&self, forms: &Forms, observed: &Observed, copy: Option<&PlatformId>) -> Pages {
        let side = observed.side;
        let (kind, id) = self.container(observed);
        let here = (self.page)(side, kind, &id);
        let there_id = if kind == observed.record.kind() {
            copy.cloned()
        } else {
            forms.link(kind, side, &id).map(|l| match side {
                Side::Old => l.new_id,
                Side::New => l.old_id,
            })
        };
        let there = there_id.and_then(|id| (self.page)(side.other(), kind, &id));
        match side {
            Side::Old => Pages {
                old: here,
                new: there,
            },
            Side::New => Pages {
                old: there,
                new: here,
            },
        }
    }
}

/// The inline images each old comment of `snapshot` links to, when the plan keeps them as
/// links (the backfill wrote the comment's body so).
fn linked_images(
    forms: &Forms,
    snapshot: &Snapshot,
) -> HashMap<PlatformId, Vec<(String, url::Url)>> {
    let mut images: HashMap<PlatformId, Vec<(String, url::Url)>> = HashMap::new();
    if !forms.links_inline_images() {
        return images;
    }
    let attachments = snapshot.records.get(&(RecordKind::Attachment, Side::Old));
    for observed in attachments.into_iter().flatten() {
        if let Record::Attachment(a) = &observed.record
            && a.inline
            && let Some(url) = snapshot.sources.get(&observed.id)
        {
            let image = (a.file_name.clone(), url.clone());
            images.entry(a.comment.clone()).or_default().push(image);
        }
    }
    images
}

/// No page for any record (a comparison of records without their platforms).
pub(super) fn no_pages(_: Side, _: RecordKind, _: &PlatformId) -> Option<String> {
    None
}

/// Compares a snapshot of both sides through the links, kind by kind in dependency order.
pub fn compare(
    snapshot: &Snapshot,
    links: &[Link],
    mapping: Mapping,
    kinds: &[RecordKind],
) -> VerifyReport {
    compare_with(snapshot, links, mapping, kinds, &Losses::default())
}

/// Like [`compare`], leaving `losses` out of the comparison.
pub fn compare_with(
    snapshot: &Snapshot,
    links: &[Link],
    mapping: Mapping,
    kinds: &[RecordKind],
    losses: &Losses,
) -> VerifyReport {
    let mut report = VerifyReport::default();
    Comparer::new(mapping, links, kinds, losses, &no_pages).compare(snapshot, kinds, &mut report);
    report
}

/// Compares records through the links, part after part: what a later part depends on (field
/// titles, agents, the links, the extras found so far) is kept between parts.
pub(super) struct Comparer<'a> {
    /// Forms of records, with the links and what they depend on.
    pub(super) forms: Forms,
    /// The extras found so far, by kind: a child of an extra record is extra too.
    extras: BTreeMap<RecordKind, BTreeMap<PlatformId, String>>,
    paging: Paging<'a>,
}

impl<'a> Comparer<'a> {
    pub(super) fn new(
        mapping: Mapping,
        links: &[Link],
        kinds: &[RecordKind],
        losses: &Losses,
        page: PageOf<'a>,
    ) -> Self {
        Comparer {
            forms: Forms::new(mapping, links, kinds).with_losses(losses.clone()),
            extras: BTreeMap::new(),
            paging: Paging {
                page,
                comment_tickets: HashMap::new(),
                linked_images: HashMap::new(),
            },
        }
    }

    /// Compares the records of `kinds` in `snapshot`, in dependency order, adding the results
    /// to `report`.
    pub(super) fn compare(
        &mut self,
        snapshot: &Snapshot,
        kinds: &[RecordKind],
        report: &mut VerifyReport,
    ) {
        let empty = Vec::new();
        self.paging.comment_tickets.clear();
        self.paging.linked_images = linked_images(&self.forms, snapshot);
        self.forms.learn_merges(
            [RecordKind::Group, RecordKind::Role]
                .iter()
                .filter_map(|kind| snapshot.records.get(&(*kind, Side::Old)))
                .flatten(),
        );
        // Field definitions first: organizations and contacts, read before them, hold values
        // of their choices.
        for side in [Side::Old, Side::New] {
            for observed in snapshot
                .records
                .get(&(RecordKind::CustomField, side))
                .unwrap_or(&empty)
            {
                self.forms.learn(observed);
            }
        }
        for kind in RecordKind::ALL.iter().filter(|k| kinds.contains(k)) {
            let old = snapshot.records.get(&(*kind, Side::Old)).unwrap_or(&empty);
            let new = snapshot.records.get(&(*kind, Side::New)).unwrap_or(&empty);
            let mut k = KindReport {
                old: old.len() as u64,
                new: new.len() as u64,
                unreadable: [Side::Old, Side::New]
                    .iter()
                    .map(|s| snapshot.unreadable.get(&(*kind, *s)).copied().unwrap_or(0))
                    .sum(),
                ..KindReport::default()
            };
            for observed in old.iter().chain(new) {
                self.learn(observed);
            }
            let new_by_id: BTreeMap<&PlatformId, &Observed> =
                new.iter().map(|o| (&o.id, o)).collect();
            let mut seen_new = BTreeSet::new();
            for observed in old {
                let found = |id: &PlatformId| {
                    let found = new_by_id.get(id).map(|o| Cow::Borrowed(*o));
                    if found.is_some() {
                        seen_new.insert(id.clone());
                    }
                    Ok(found)
                };
                // Nothing to read: the lookup cannot fail.
                let _ = compare_one(&mut self.forms, &self.paging, observed, found, &mut k);
            }
            for observed in new.iter().filter(|o| !seen_new.contains(&o.id)) {
                self.judge_new(observed, &mut k);
            }
            self.end_kind(*kind, k, report);
        }
    }

    /// Starts a kind held whole (not read per ticket): no comment of a part is in view.
    pub(super) fn begin_listed(&mut self) {
        self.paging.comment_tickets.clear();
        self.paging.linked_images.clear();
    }

    /// Learns what later forms depend on from a record of either side.
    pub(super) fn learn(&mut self, observed: &Observed) {
        self.forms.learn(observed);
        if let Record::Comment(c) = &observed.record {
            let key = (observed.side, observed.id.clone());
            self.paging.comment_tickets.insert(key, c.ticket.clone());
        }
    }

    /// Compares an old record with its copy among the new side's `held` records.
    pub(super) fn compare_old(
        &mut self,
        observed: &Observed,
        held: &mut Held,
        k: &mut KindReport,
    ) -> Result<(), EngineError> {
        let found = |id: &PlatformId| held.take(id).map(|o| o.map(Cow::Owned));
        compare_one(&mut self.forms, &self.paging, observed, found, k)
    }

    /// Judges a record of the new side that no old record's link led to: extra, the new
    /// side's own, or (linked, its old record not read) neither.
    pub(super) fn judge_new(&mut self, observed: &Observed, k: &mut KindReport) {
        let (forms, paging) = (&self.forms, &self.paging);
        if forms
            .link(observed.record.kind(), Side::New, &observed.id)
            .is_some()
        {
            return;
        }
        match extra_reason(observed, &self.extras) {
            Some(reason) => {
                k.extra.push(observed.id.clone());
                k.extra_reasons.insert(observed.id.clone(), reason);
                if let Some(page) = paging.pages(forms, observed, None).new {
                    k.extra_pages.insert(observed.id.clone(), page);
                }
            }
            None => k.only_new.push(observed.id.clone()),
        }
    }

    /// Ends a kind (or a part of it): its extras are kept for its children's, its counts added
    /// to `report`.
    pub(super) fn end_kind(&mut self, kind: RecordKind, k: KindReport, report: &mut VerifyReport) {
        self.extras
            .entry(kind)
            .or_default()
            .extend(k.extra_reasons.clone());
        report.kinds.entry(kind).or_default().absorb(k);
    }
}

/// Compares an old record with its copy, which `find` gives by its new id (marking it seen).
fn compare_one<'n>(
    forms: &mut Forms,
    paging: &Paging<'_>,
    observed: &Observed,
    find: impl FnOnce(&PlatformId) -> Result<Option<Cow<'n, Observed>>, EngineError>,
    k: &mut KindReport,
) -> Result<(), EngineError> {
    let kind = observed.record.kind();
    let old_form = match forms.old_form(observed) {
        Form::Record(record) => record,
        Form::Dropped => {
            k.dropped += 1;
            return Ok(());
        }
        Form::Hole(reason) => {
            k.missing.push(Missing {
                old_id: observed.id.clone(),
                new_id: None,
                reason,
                pages: paging.pages(forms, observed, None),
            });
            return Ok(());
        }
    };
    let mut old_form = old_form;
    if let (Record::Comment(c), Some(images)) =
        (&mut old_form, paging.linked_images.get(&observed.id))
    {
        let images = images.iter().map(|(name, url)| (name.as_str(), url));
        c.html_body = cutover_connect::with_addresses(&c.html_body, images);
    }
    let Some(link) = forms.link(kind, Side::Old, &observed.id) else {
        // A comment of a ticket that was not copied was not copied for its ticket's reason.
        let reason = match parent_of(&observed.record) {
            Some((parent, id)) if forms.link(parent, Side::Old, id).is_none() => {
                format!("part of {parent} {id}, which is missing too")
            }
            _ => NOT_COPIED.into(),
        };
        k.missing.push(Missing {
            old_id: observed.id.clone(),
            new_id: None,
            reason,
            pages: paging.pages(forms, observed, None),
        });
        return Ok(());
    };
    let Some(new) = find(&link.new_id)? else {
        k.missing.push(Missing {
            old_id: observed.id.clone(),
            new_id: Some(link.new_id.clone()),
            reason: "copied, but the copy is gone from the new side (deleted there since?)".into(),
            pages: paging.pages(forms, observed, None),
        });
        return Ok(());
    };
    let (mut old_form, mut new_form) = (old_form, forms.new_form(&new));
    if old_form.fingerprint() == new_form.fingerprint() {
        k.matched += 1;
        return Ok(());
    }
    let written_to = link.last_writer.other();
    let mut lacks = forms
        .losses()
        .level(&mut old_form, &mut new_form, written_to);
    lacks.extend(stand_in::level(&old_form, &mut new_form));
    lacks.extend(crate::losses::level_found(
        &mut old_form,
        &mut new_form,
        new.origin.is_none(),
    ));
    let mut reasons: Vec<String> = lacks.iter().map(|lack| lack.reason()).collect();
    reasons.extend(crate::rules::level_pair(
        forms.losses(),
        &mut old_form,
        &mut new_form,
        written_to,
    ));
    if old_form.fingerprint() == new_form.fingerprint() {
        k.matched += 1;
        for reason in reasons {
            *k.not_comparable.entry(reason).or_default() += 1;
        }
        return Ok(());
    }
    let to_json = |r: &Record| serde_json::to_value(r).unwrap_or(serde_json::Value::Null);
    k.different.push(Different {
        old_id: observed.id.clone(),
        new_id: link.new_id.clone(),
        fields: diff(&to_json(&old_form), &to_json(&new_form)),
        pages: paging.pages(forms, observed, Some(&link.new_id)),
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test data built here")]

    use cutover_model::records::{Channel, Organization};

    use super::*;
    use crate::losses::ORGANIZATION_TAGS;

    fn organization(side: Side, id: u64, tags: &[&str]) -> Observed {
        Observed {
            side,
            id: PlatformId::from(id),
            updated_at: None,
            record: Record::Organization(Organization {
                name: "Acme".into(),
                domains: BTreeSet::new(),
                details: None,
                notes: None,
                tags: tags.iter().map(|t| (*t).to_owned()).collect(),
                custom_fields: BTreeMap::new(),
            }),
            origin: None,
        }
    }

    /// An old organization with tags, its copy without (the target has none), and one the
    /// target held before the move.
    fn snapshot() -> (Snapshot, Vec<Link>) {
        let old = organization(Side::Old, 1, &["vip"]);
        let new = organization(Side::New, 101, &[]);
        let link = Link::new(
            RecordKind::Organization,
            old.id.clone(),
            new.id.clone(),
            old.record.fingerprint(),
            Side::New,
        );
        let mut snapshot = Snapshot::default();
        snapshot
            .records
            .insert((RecordKind::Organization, Side::Old), vec![old]);
        snapshot.records.insert(
            (RecordKind::Organization, Side::New),
            vec![new, organization(Side::New, 102, &[])],
        );
        (snapshot, vec![link])
    }

    fn mapping() -> Mapping {
        let plan = cutover_plan::plan::model::Mapping::default();
        Mapping::from_plan(&plan)
    }

    #[test]
    fn what_the_target_cannot_hold_is_counted_not_compared() {
        let (snapshot, links) = snapshot();
        let losses = Losses {
            organization_tags: true,
            ..Losses::default()
        };
        let report = compare_with(
            &snapshot,
            &links,
            mapping(),
            &[RecordKind::Organization],
            &losses,
        );
        let k = &report.kinds[&RecordKind::Organization];
        assert!(report.is_clean(), "{}", report.summary());
        assert_eq!(k.matched, 1);
        assert_eq!(
            k.not_comparable.get(&ORGANIZATION_TAGS.reason()).copied(),
            Some(1)
        );
        assert_eq!(k.only_new, [PlatformId::from(102)]);
        assert!(
            report.summary().contains(&format!(
                "Not comparable, counted as matched (what the target cannot hold, as `cutover \
                 inventory` named it):\n  organization  1  {}\n",
                ORGANIZATION_TAGS.reason()
            )),
            "{}",
            report.summary()
        );
        assert!(report.summary().contains("Present only on the new side"));
    }

    #[test]
    fn without_the_loss_the_tags_are_a_difference() {
        let (snapshot, links) = snapshot();
        let report = compare(&snapshot, &links, mapping(), &[RecordKind::Organization]);
        let k = &report.kinds[&RecordKind::Organization];
        assert!(!report.is_clean());
        assert_eq!(k.different.len(), 1);
        assert_eq!(k.different[0].fields[0].pointer, "/record/tags");
        assert!(k.not_comparable.is_empty());
    }

    fn marked(mut observed: Observed, kind: RecordKind, old_id: u64) -> Observed {
        observed.origin = Some(cutover_model::RecordRef {
            kind,
            side: Side::Old,
            id: PlatformId::from(old_id),
        });
        observed
    }

    fn on_new(id: u64, record: Record) -> Observed {
        Observed {
            side: Side::New,
            id: PlatformId::from(id),
            updated_at: None,
            record,
            origin: None,
        }
    }

    fn ticket() -> Record {
        Record::Ticket(cutover_model::records::Ticket {
            subject: "Where is my order?".into(),
            status: "open".into(),
            priority: None,
            ticket_type: None,
            brand: None,
            channel: Channel::Email,
            requester: PlatformId::from(5),
            assignee: None,
            group: None,
            organization: None,
            tags: BTreeSet::new(),
            custom_fields: BTreeMap::new(),
            created_at: chrono::DateTime::UNIX_EPOCH,
            solved_at: None,
            merged_into: None,
        })
    }

    fn comment(ticket: u64) -> Record {
        Record::Comment(cutover_model::records::Comment {
            ticket: PlatformId::from(ticket),
            author: PlatformId::from(5),
            public: true,
            html_body: "<p>Any news?</p>".into(),
            created_at: chrono::DateTime::UNIX_EPOCH,
        })
    }

    fn attachment(comment: u64) -> Record {
        Record::Attachment(cutover_model::records::Attachment {
            comment: PlatformId::from(comment),
            file_name: "invoice.pdf".into(),
            content_type: "application/pdf".into(),
            size: 3,
            checksum: String::new(),
            inline: false,
        })
    }

    fn contact(name: &str) -> Record {
        Record::Contact(cutover_model::records::Contact {
            name: name.into(),
            email: None,
            phone: None,
            organization: None,
            external_id: None,
            locale: None,
            time_zone: None,
            tags: BTreeSet::new(),
            custom_fields: BTreeMap::new(),
            active: true,
        })
    }

    fn new_side_only(records: Vec<Observed>) -> Snapshot {
        let mut snapshot = Snapshot::default();
        for observed in records {
            snapshot
                .records
                .entry((observed.record.kind(), Side::New))
                .or_default()
                .push(observed);
        }
        snapshot
    }

    const HISTORY_KINDS: &[RecordKind] = &[
        RecordKind::Contact,
        RecordKind::Ticket,
        RecordKind::Comment,
        RecordKind::Attachment,
    ];

    #[test]
    fn a_marked_unlinked_ticket_is_extra_and_fails() {
        let snapshot = new_side_only(vec![marked(on_new(901, ticket()), RecordKind::Ticket, 42)]);
        let report = compare(&snapshot, &[], mapping(), HISTORY_KINDS);
        let k = &report.kinds[&RecordKind::Ticket];
        assert!(!report.is_clean(), "{}", report.summary());
        assert_eq!(k.extra, [PlatformId::from(901)]);
        assert!(k.only_new.is_empty());
        let reason = "written by cutover as the copy of ticket 42 on the old side but not linked";
        assert_eq!(k.extra_reasons[&PlatformId::from(901)], reason);
        assert!(
            report
                .summary()
                .contains(&format!("extra ticket 901: {reason}")),
            "{}",
            report.summary()
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["kinds"]["ticket"]["extra"], serde_json::json!(["901"]));
        assert_eq!(json["kinds"]["ticket"]["extra_reasons"]["901"], reason);
    }

    #[test]
    fn an_unmarked_unlinked_ticket_is_the_new_sides_own_and_passes() {
        // A customer opened it on the new platform: no link, no mark, with a comment and a file.
        let snapshot = new_side_only(vec![
            on_new(902, ticket()),
            on_new(7001, comment(902)),
            on_new(8001, attachment(7001)),
        ]);
        let report = compare(&snapshot, &[], mapping(), HISTORY_KINDS);
        assert!(report.is_clean(), "{}", report.summary());
        for (kind, id) in [
            (RecordKind::Ticket, 902),
            (RecordKind::Comment, 7001),
            (RecordKind::Attachment, 8001),
        ] {
            let k = &report.kinds[&kind];
            assert!(k.extra.is_empty(), "{kind}: {:?}", k.extra);
            assert_eq!(k.only_new, [PlatformId::from(id)], "{kind}");
        }
        assert!(report.summary().contains("no cutover mark"));
    }

    #[test]
    fn a_marked_unlinked_contact_is_extra_and_an_unmarked_one_is_not() {
        let snapshot = new_side_only(vec![
            marked(on_new(501, contact("Ada")), RecordKind::Contact, 7),
            on_new(502, contact("Grace")),
        ]);
        let report = compare(&snapshot, &[], mapping(), &[RecordKind::Contact]);
        let k = &report.kinds[&RecordKind::Contact];
        assert!(!report.is_clean(), "{}", report.summary());
        assert_eq!(k.extra, [PlatformId::from(501)]);
        assert_eq!(
            k.extra_reasons[&PlatformId::from(501)],
            "written by cutover as the copy of contact 7 on the old side but not linked"
        );
        assert_eq!(k.only_new, [PlatformId::from(502)]);
    }

    #[test]
    fn unmarked_children_of_an_extra_ticket_are_extra_with_it() {
        // Zendesk imports a ticket's comments with it (no header) and no platform marks a file:
        // the history of a duplicate ticket is a duplicate too.
        let snapshot = new_side_only(vec![
            marked(on_new(903, ticket()), RecordKind::Ticket, 43),
            on_new(7002, comment(903)),
            on_new(8002, attachment(7002)),
            // On another ticket, the new side's own.
            on_new(7003, comment(904)),
        ]);
        let report = compare(&snapshot, &[], mapping(), HISTORY_KINDS);
        let comments = &report.kinds[&RecordKind::Comment];
        assert_eq!(comments.extra, [PlatformId::from(7002)]);
        assert_eq!(
            comments.extra_reasons[&PlatformId::from(7002)],
            "part of ticket 903, which is extra"
        );
        assert_eq!(comments.only_new, [PlatformId::from(7003)]);
        let attachments = &report.kinds[&RecordKind::Attachment];
        assert_eq!(attachments.extra, [PlatformId::from(8002)]);
        assert_eq!(
            attachments.extra_reasons[&PlatformId::from(8002)],
            "part of comment 7002, which is extra"
        );
    }

    #[test]
    fn a_linked_copy_is_neither_extra_nor_only_new_whatever_its_mark() {
        let old = Observed {
            side: Side::Old,
            ..on_new(42, ticket())
        };
        let new = marked(on_new(901, ticket()), RecordKind::Ticket, 42);
        let link = Link::new(
            RecordKind::Ticket,
            old.id.clone(),
            new.id.clone(),
            old.record.fingerprint(),
            Side::New,
        );
        let mut snapshot = Snapshot::default();
        snapshot
            .records
            .insert((RecordKind::Ticket, Side::Old), vec![old]);
        snapshot
            .records
            .insert((RecordKind::Ticket, Side::New), vec![new]);
        let report = compare(&snapshot, &[link], mapping(), &[RecordKind::Ticket]);
        let k = &report.kinds[&RecordKind::Ticket];
        assert!(k.extra.is_empty() && k.only_new.is_empty(), "{k:?}");
        assert!(
            k.missing.iter().all(|m| !m.reason.contains("not linked")),
            "{k:?}"
        );
    }
}
