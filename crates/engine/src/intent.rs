//! Durable intents: every create leaves, **before** the platform write, what it is about to
//! send, in the store's run state; the intent is cleared in the transaction that commits the
//! page its link belongs to.
//!
//! An intent found by a later run means its create may have happened (the run died between the
//! platform's write and the commit, or the write's answer was lost). That run looks for the copy
//! through a consistent read, by the record **as it was sent** (a source edited since would be
//! looked up by other keys: another requester, another name) and, when it finds it, links it and
//! what was written with it (a ticket's comments and their files), updating the copy first when
//! the source has changed since (the fingerprint sent differs). No file is downloaded or
//! uploaded for a copy that is found. A first attempt finds no intent and creates without a
//! lookup, so a clean run pays one store write per create and no platform lookup.
//!
//! The intent keeps each child as it was written, so a comment the source answers malformed on
//! the second read is still matched to its copy and linked, instead of staying on the target
//! unlinked (an extra) while the comment itself is dead-lettered (a missing).

use std::collections::BTreeMap;

use cutover_connect::{Origin, Outbound, UploadHandle, UploadRef, WriteOutcome, Written};
use cutover_model::records::Record;
use cutover_model::{Fingerprint, PlatformId, RecordKind, Side};
use serde::{Deserialize, Serialize};

use crate::apply::{Applier, Outcome, Ready, per_record, taken_by_another};
use crate::error::EngineError;

/// What one create sends: the record and, for a ticket, the comments written with it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Intent {
    /// The record as sent.
    pub(crate) record: Sent,
    /// A ticket's comments (each with its files) as sent with it.
    pub(crate) children: Vec<Sent>,
}

/// One record as sent: enough to find its copy again and link it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Sent {
    /// Where it came from.
    pub(crate) origin: Origin,
    /// Its canonical content (in the target's vocabulary) as sent.
    pub(crate) record: Record,
    /// The fingerprint of what was sent (its link's, unless the source changed since).
    pub(crate) fingerprint: Fingerprint,
    /// Target ids of what it refers to, by kind and source key (a ticket's requester, a
    /// comment's ticket and author): a lookup may need them (Freshdesk lists the requester's
    /// tickets).
    pub(crate) targets: Vec<(RecordKind, PlatformId, PlatformId)>,
    /// Its files: origin, name and fingerprint.
    pub(crate) files: Vec<SentFile>,
}

/// A file of a comment as sent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SentFile {
    /// Where it came from.
    pub(crate) origin: Origin,
    /// Its file name (copies are matched by it).
    pub(crate) file_name: String,
    /// The fingerprint its link gets.
    pub(crate) fingerprint: Fingerprint,
}

/// A copy an earlier attempt made, found again.
#[derive(Debug)]
pub(crate) struct Found {
    /// What that attempt sent.
    pub(crate) intent: Intent,
    /// The copy and its children as matched.
    pub(crate) written: Written,
}

/// The run-state key of a record's intent.
pub(crate) fn key(side: Side, kind: RecordKind, id: &PlatformId) -> String {
    format!("intent:{side}:{kind}:{id}")
}

impl Sent {
    /// `outbound` as it is about to be sent, with its fingerprint and its files' (by mark).
    fn of(
        outbound: &Outbound,
        fingerprint: Fingerprint,
        fingerprints: &BTreeMap<String, Fingerprint>,
    ) -> Self {
        let targets = outbound
            .targets
            .iter()
            .map(|(kind, key, id)| (kind, key.clone(), id.clone()))
            .collect();
        let files = outbound
            .uploads
            .iter()
            .filter_map(|upload| {
                let origin = upload.origin.clone()?;
                Some(SentFile {
                    fingerprint: *fingerprints.get(&origin.mark())?,
                    origin,
                    file_name: upload.file_name.clone(),
                })
            })
            .collect();
        Sent {
            origin: outbound.origin.clone(),
            record: outbound.record.clone(),
            fingerprint,
            targets,
            files,
        }
    }

    /// The record as an outbound again, to look its copy up and match it: its files by name
    /// only (no bytes).
    pub(crate) fn outbound(&self) -> Outbound {
        let mut outbound = Outbound::new(self.origin.clone(), self.record.clone());
        for (kind, key, id) in &self.targets {
            outbound.targets.insert(*kind, key.clone(), id.clone());
        }
        outbound.uploads = self
            .files
            .iter()
            .map(|file| UploadRef {
                origin: Some(file.origin.clone()),
                file_name: file.file_name.clone(),
                content_type: String::new(),
                size: 0,
                handle: UploadHandle::Token(String::new()),
                url: None,
            })
            .collect();
        outbound
    }

    /// Its fingerprint and its files', by mark.
    pub(crate) fn fingerprints(&self) -> impl Iterator<Item = (String, Fingerprint)> + '_ {
        std::iter::once((self.origin.mark(), self.fingerprint)).chain(
            self.files
                .iter()
                .map(|file| (file.origin.mark(), file.fingerprint)),
        )
    }
}

impl Intent {
    /// The intent of sending `outbound` (with its children), whose fingerprint is `fingerprint`
    /// and its children's and files' are in `fingerprints` (by mark).
    pub(crate) fn of(
        outbound: &Outbound,
        fingerprint: Fingerprint,
        fingerprints: &BTreeMap<String, Fingerprint>,
    ) -> Self {
        let children = outbound
            .children
            .iter()
            .filter_map(|child| {
                let fingerprint = *fingerprints.get(&child.origin.mark())?;
                Some(Sent::of(child, fingerprint, fingerprints))
            })
            .collect();
        Intent {
            record: Sent::of(outbound, fingerprint, fingerprints),
            children,
        }
    }

    /// What was sent, as an outbound with its children: what the copy holds.
    pub(crate) fn outbound(&self) -> Outbound {
        let mut outbound = self.record.outbound();
        outbound.children = self.children.iter().map(Sent::outbound).collect();
        outbound
    }

    /// Every fingerprint sent (the record's, its children's, their files'), by mark.
    pub(crate) fn fingerprints(&self) -> BTreeMap<String, Fingerprint> {
        std::iter::once(&self.record)
            .chain(&self.children)
            .flat_map(Sent::fingerprints)
            .collect()
    }
}

/// What an earlier attempt left for a record about to be created.
#[derive(Debug)]
pub(crate) enum Resume {
    /// Create it: with a lookup first when a copy may exist all the same (an intent that does
    /// not parse), without when there was no earlier attempt or its copy was looked for and is
    /// not there.
    Create {
        /// Look for a copy before creating.
        look_first: bool,
    },
    /// The copy that attempt made.
    Copy(Box<Found>),
    /// Looking for the copy failed in a way only this record suffers (a reference gone, a
    /// refusal): the record's outcome. Its intent stays, so a later run looks again.
    Failed(Outcome),
}

impl Applier {
    /// Whether an earlier attempt may have made a copy of `ready`'s record, and if so, the copy:
    /// its intent is read and the copy looked up (through a consistent read) by what that
    /// attempt sent. A found copy's intent is cleared with the next commit.
    pub(crate) async fn resumed(&self, ready: &Ready) -> Result<Resume, EngineError> {
        if self.dry_run || ready.link.is_some() {
            return Ok(Resume::Create { look_first: true });
        }
        let origin = &ready.outbound.origin;
        let key = key(origin.side, origin.kind, &origin.id);
        let Some(value) = self.store.run_state(&key).await?.filter(|v| !v.is_null()) else {
            return Ok(Resume::Create { look_first: false });
        };
        let intent: Intent = match serde_json::from_value(value) {
            Ok(intent) => intent,
            Err(e) => {
                tracing::warn!(%key, error = %e, "Intent does not parse; the record is looked up before it is created.");
                return Ok(Resume::Create { look_first: true });
            }
        };
        let mut sent = intent.outbound();
        sent.taken.clone_from(&ready.outbound.taken);
        let id = match self.target.find_by_origin(&sent).await {
            Ok(Some(id)) => id,
            Ok(None) => {
                tracing::debug!(mark = %origin.mark(), "An earlier attempt left an intent and no copy; creating.");
                return Ok(Resume::Create { look_first: false });
            }
            Err(e) => return Ok(Resume::Failed(per_record(e, &sent)?)),
        };
        let written = match self.target.found(&id, &sent).await {
            Ok(written) => written,
            Err(e) => return Ok(Resume::Failed(per_record(e, &sent)?)),
        };
        self.state.add_intent(key);
        tracing::info!(mark = %origin.mark(), copy = %written.id, n_children = written.children.len(), "Found the copy an earlier attempt made.");
        Ok(Resume::Copy(Box::new(Found { intent, written })))
    }

    /// Links the copy an earlier attempt made (and what it wrote with it). The copy holds what
    /// that attempt sent: when the source has changed since, the copy is updated first; if that
    /// update cannot be made, the copy is linked as what it holds and the record dead-lettered
    /// with the reason (a later run, or a retry, updates it through its link).
    pub(crate) async fn adopt(&self, ready: Ready, found: Found) -> Result<Outcome, EngineError> {
        let Found { intent, written } = found;
        let Ready {
            outbound,
            fingerprint,
            version,
            ..
        } = ready;
        let origin = &outbound.origin;
        if let Some(other) = self
            .linked_elsewhere(origin.kind, &origin.id, &written.id)
            .await?
        {
            return Ok(taken_by_another(origin, &written.id, &other, 1));
        }
        let sent = intent.record.fingerprint;
        let (mut outcome, mut linked) = (Outcome::Applied(WriteOutcome::Found), fingerprint);
        if sent != fingerprint {
            tracing::info!(mark = %origin.mark(), copy = %written.id, "The source changed since its copy was sent; updating the copy.");
            match self.target.update(&written.id, &outbound).await {
                Ok(_) => outcome = Outcome::Applied(WriteOutcome::Updated),
                Err(e) => {
                    outcome = per_record(e, &outbound)?;
                    linked = sent;
                }
            }
        }
        self.link(origin.kind, &origin.id, &written.id, linked, version, None);
        if origin.kind == RecordKind::Ticket {
            // A ticket is found only by cutover's mark, so this copy is the earlier attempt's;
            // other kinds may be found by a natural key (the platform's own record), and are
            // left out of what `cutover cleanup` deletes.
            self.state.add_created(cutover_store::CreatedRecord {
                side: origin.side.other(),
                kind: origin.kind,
                id: written.id.clone(),
                source_id: origin.id.clone(),
                parent: None,
            });
        }
        self.link_children(&written, &intent.fingerprints()).await?;
        self.state
            .add_intent(crate::intent::key(origin.side, origin.kind, &origin.id));
        Ok(outcome)
    }

    /// Links the copy an earlier attempt made of a record this run leaves behind: one the
    /// source could not read now (it read well then), or one dead-lettered now (a reference it
    /// holds now never appeared). The intent holds the record as sent, so its copy is found and
    /// linked as what it holds, instead of staying on the target unlinked while the record is in
    /// the dead letters (which it still is: a later run or a retry compares it through the link).
    /// Returns whether a copy was linked.
    pub(crate) async fn adopt_left(
        &self,
        kind: RecordKind,
        id: &PlatformId,
    ) -> Result<bool, EngineError> {
        let side = self.from_side();
        let store = self.store.as_ref();
        if self.dry_run || self.state.find_link(store, kind, side, id).await?.is_some() {
            return Ok(false);
        }
        let key = key(side, kind, id);
        let Some(value) = store.run_state(&key).await?.filter(|v| !v.is_null()) else {
            return Ok(false);
        };
        let Ok(intent) = serde_json::from_value::<Intent>(value) else {
            return Ok(false);
        };
        let sent = intent.outbound();
        let found = match self.target.find_by_origin(&sent).await {
            Ok(Some(copy)) => self.target.found(&copy, &sent).await.map(Some),
            other => other.map(|_| None),
        };
        let written = match found {
            Ok(Some(written)) => written,
            Ok(None) => return Ok(false),
            Err(e) => {
                // The record is in the dead letters all the same; only a run that cannot go on
                // stops here.
                per_record(e, &sent)?;
                return Ok(false);
            }
        };
        let origin = &intent.record.origin;
        if self
            .linked_elsewhere(origin.kind, &origin.id, &written.id)
            .await?
            .is_some()
        {
            return Ok(false);
        }
        self.link(
            origin.kind,
            &origin.id,
            &written.id,
            intent.record.fingerprint,
            None,
            None,
        );
        self.link_children(&written, &intent.fingerprints()).await?;
        self.state.add_intent(key);
        tracing::info!(mark = %origin.mark(), copy = %written.id, "Left behind now, linked to the copy an earlier run made.");
        Ok(true)
    }

    /// Leaves the intent of creating `outbound` (with its children) in the store before the
    /// write; it is cleared after the commit that links what the write made. A dry run leaves
    /// none.
    pub(crate) async fn leave_intent(
        &self,
        outbound: &Outbound,
        fingerprint: Fingerprint,
        fingerprints: &BTreeMap<String, Fingerprint>,
    ) -> Result<(), EngineError> {
        if self.dry_run {
            return Ok(());
        }
        let origin = &outbound.origin;
        let key = key(origin.side, origin.kind, &origin.id);
        let intent = Intent::of(outbound, fingerprint, fingerprints);
        let value = serde_json::to_value(&intent).map_err(|e| EngineError::Intent {
            key: key.clone(),
            reason: e.to_string(),
        })?;
        self.store.put_run_state(&key, &value).await?;
        self.state.add_intent(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use cutover_model::records::Comment;
    use cutover_model::{PlatformKind, RecordKind};

    use super::*;

    fn origin(kind: RecordKind, id: u64) -> Origin {
        Origin {
            side: Side::Old,
            platform: PlatformKind::Zendesk,
            kind,
            id: PlatformId::from(id),
        }
    }

    fn fingerprint(text: &str) -> Fingerprint {
        Fingerprint::of(&text).unwrap()
    }

    #[test]
    fn an_intent_gives_back_what_was_sent_and_what_finding_it_needs() {
        let comment = Record::Comment(Comment {
            ticket: PlatformId::from(4),
            author: PlatformId::from(30),
            public: true,
            html_body: "<p>Hello</p>".into(),
            created_at: chrono::DateTime::UNIX_EPOCH,
        });
        let mut child = Outbound::new(origin(RecordKind::Comment, 40), comment);
        child.targets.insert(
            RecordKind::Contact,
            PlatformId::from(30),
            PlatformId::from(930),
        );
        child.uploads.push(UploadRef {
            origin: Some(origin(RecordKind::Attachment, 400)),
            file_name: "invoice.pdf".into(),
            content_type: "application/pdf".into(),
            size: 3,
            handle: UploadHandle::Held(std::sync::Arc::new(b"pdf".to_vec())),
            url: None,
        });
        let mut ticket = Outbound::new(
            origin(RecordKind::Ticket, 4),
            Record::Group(cutover_model::records::Group {
                name: "stands in for a ticket".into(),
                description: None,
            }),
        );
        ticket.targets.insert(
            RecordKind::Contact,
            PlatformId::from(30),
            PlatformId::from(930),
        );
        ticket.children.push(child);
        let fingerprints = BTreeMap::from([
            (
                origin(RecordKind::Comment, 40).mark(),
                fingerprint("comment"),
            ),
            (
                origin(RecordKind::Attachment, 400).mark(),
                fingerprint("file"),
            ),
        ]);
        let intent = Intent::of(&ticket, fingerprint("ticket"), &fingerprints);
        let stored = serde_json::to_value(&intent).unwrap();
        let intent: Intent = serde_json::from_value(stored).unwrap();
        let sent = intent.outbound();
        assert_eq!(sent.origin, ticket.origin);
        assert_eq!(
            sent.targets, ticket.targets,
            "the requester's copy, to list its tickets"
        );
        assert!(sent.may_exist);
        let child = &sent.children[0];
        assert_eq!(
            child
                .targets
                .get(RecordKind::Contact, &PlatformId::from(30)),
            Some(&PlatformId::from(930))
        );
        assert_eq!(child.uploads[0].file_name, "invoice.pdf");
        assert!(
            matches!(&child.uploads[0].handle, UploadHandle::Token(t) if t.is_empty()),
            "no bytes are kept"
        );
        let mut all = fingerprints.clone();
        all.insert(origin(RecordKind::Ticket, 4).mark(), fingerprint("ticket"));
        assert_eq!(intent.fingerprints(), all);
    }
}
