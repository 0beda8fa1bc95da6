//! Durable intents: what a ticket create is about to send, written to the store **before** the
//! platform write and cleared once the page that links it commits.
//!
//! A ticket is created with its comments in one import. If the run dies after the import but
//! before the links commit, the next run finds the ticket by its mark and matches its comments
//! by content. That needs the comments' content, and a source that answered well the first time
//! may answer a comment malformed the second: without the intent, its copy would stay on the
//! target unlinked (an extra) while the comment itself is dead-lettered (a missing). The intent
//! keeps each child as it was written, so the copy is found and linked all the same.

use std::collections::BTreeMap;

use cutover_connect::{Origin, Outbound, UploadHandle, UploadRef};
use cutover_model::records::Record;
use cutover_model::{Fingerprint, PlatformId, RecordKind, Side};
use serde::{Deserialize, Serialize};

use crate::apply::Applier;
use crate::error::EngineError;

/// The children of one ticket create, as sent.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Intent {
    /// Each comment written with the ticket.
    pub(crate) children: Vec<IntentChild>,
}

/// One comment written with its ticket: enough to find its copy again and link it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct IntentChild {
    /// Where it came from.
    pub(crate) origin: Origin,
    /// Its canonical content (in the target's vocabulary) as sent.
    pub(crate) record: Record,
    /// The fingerprint its link gets.
    pub(crate) fingerprint: Fingerprint,
    /// Target ids of what it refers to (its author), by kind and source key.
    pub(crate) targets: Vec<(RecordKind, PlatformId, PlatformId)>,
    /// Its files: origin, name and fingerprint.
    pub(crate) files: Vec<IntentFile>,
}

/// A file of a comment written with its ticket.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct IntentFile {
    /// Where it came from.
    pub(crate) origin: Origin,
    /// Its file name (copies are matched by it).
    pub(crate) file_name: String,
    /// The fingerprint its link gets.
    pub(crate) fingerprint: Fingerprint,
}

/// The run-state key of a ticket's intent.
pub(crate) fn key(side: Side, ticket: &PlatformId) -> String {
    format!("intent:{side}:ticket:{ticket}")
}

impl Intent {
    /// The intent of writing `children` (with their fingerprints by mark).
    pub(crate) fn of(children: &[Outbound], fingerprints: &BTreeMap<String, Fingerprint>) -> Self {
        let children = children
            .iter()
            .filter_map(|child| {
                let fingerprint = *fingerprints.get(&child.origin.mark())?;
                let Record::Comment(comment) = &child.record else {
                    return None;
                };
                let targets = [RecordKind::Agent, RecordKind::Contact]
                    .into_iter()
                    .filter_map(|kind| {
                        let id = child.targets.get(kind, &comment.author)?;
                        Some((kind, comment.author.clone(), id.clone()))
                    })
                    .collect();
                let files = child
                    .uploads
                    .iter()
                    .filter_map(|upload| {
                        let origin = upload.origin.clone()?;
                        Some(IntentFile {
                            fingerprint: *fingerprints.get(&origin.mark())?,
                            origin,
                            file_name: upload.file_name.clone(),
                        })
                    })
                    .collect();
                Some(IntentChild {
                    origin: child.origin.clone(),
                    record: child.record.clone(),
                    fingerprint,
                    targets,
                    files,
                })
            })
            .collect();
        Intent { children }
    }
}

impl IntentChild {
    /// The child as an outbound again, to match its copy: no file bytes, only their names.
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

impl Applier {
    /// The intent a previous run left for `ticket`, if any (one that does not parse is ignored:
    /// it only helps to link, the lookup still guards against duplicates).
    pub(crate) async fn previous_intent(
        &self,
        ticket: &PlatformId,
    ) -> Result<Option<Intent>, EngineError> {
        let key = key(self.from_side(), ticket);
        let Some(value) = self.store.run_state(&key).await? else {
            return Ok(None);
        };
        if value.is_null() {
            return Ok(None);
        }
        match serde_json::from_value(value) {
            Ok(intent) => Ok(Some(intent)),
            Err(e) => {
                tracing::warn!(%key, error = %e, "Intent does not parse; ignored.");
                Ok(None)
            }
        }
    }

    /// Stores the intent of creating `ticket` with `intent`'s children, before the write; it
    /// is cleared after the commit that links them.
    pub(crate) async fn record_intent(
        &self,
        ticket: &PlatformId,
        intent: &Intent,
    ) -> Result<(), EngineError> {
        if self.dry_run || intent.children.is_empty() {
            return Ok(());
        }
        let key = key(self.from_side(), ticket);
        let value = match serde_json::to_value(intent) {
            Ok(value) => value,
            Err(e) => {
                // Only a help to link after a crash: the lookup still guards against duplicates.
                tracing::warn!(%key, error = %e, "Intent does not serialize; not kept.");
                return Ok(());
            }
        };
        self.store.put_run_state(&key, &value).await?;
        self.state.add_intent(key);
        Ok(())
    }
}
