//! Children linked later: a ticket imported in bulk into Zendesk comes back with its id only
//! (`Written::children_later`), and its comments are matched many tickets at once by the
//! target (`Connector::children_later`: the ticket events export) instead of one read per
//! ticket.
//!
//! Crash safety: the ticket's intent (`intent.rs`), which holds every comment as sent, is not
//! cleared with the ticket's link but only in the commit that links its comments; and the
//! copies waiting are listed in the run state (`later-children:<side>`), written in the same
//! transactions, so a run that starts after a crash links them first, before anything could
//! write one of their comments again. A comment about to be created alone on a ticket whose
//! copy still has its intent (a ticket shown again, or the bridge after a crashed backfill) has
//! its ticket's comments matched first (see [`Applier::linked_later`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use cutover_connect::{LaterCopy, Outbound, WriteOutcome, Written};
use cutover_model::records::Record;
use cutover_model::{Fingerprint, Observed, PlatformId, RecordKind, Side};
use serde::{Deserialize, Serialize};

use crate::apply::Applier;
use crate::error::EngineError;
use crate::intent::{self, Intent};

/// A copy whose children wait to be linked.
#[derive(Debug, Clone)]
struct Waiting {
    /// The source ticket's id.
    source_id: PlatformId,
    /// What was sent (the ticket and its comments), as its intent holds it.
    intent: Intent,
    /// The copy on the target.
    copy: PlatformId,
    /// When it was written.
    written_at: DateTime<Utc>,
}

/// One entry of the durable list.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Listed {
    ticket: PlatformId,
    copy: PlatformId,
    written_at: DateTime<Utc>,
}

/// The copies whose children wait to be linked, and whether the list changed since it was
/// last committed.
#[derive(Debug, Default)]
pub(crate) struct LaterLinks {
    inner: std::sync::Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    waiting: Vec<Waiting>,
    changed: bool,
}

/// The run-state key of the list of copies waiting, by the side read from.
fn list_key(side: Side) -> String {
    format!("later-children:{side}")
}

impl LaterLinks {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn push(&self, waiting: Waiting) {
        let mut inner = self.lock();
        inner.waiting.retain(|w| w.source_id != waiting.source_id);
        inner.waiting.push(waiting);
        inner.changed = true;
    }

    fn remove(&self, copy: &PlatformId) -> Option<Waiting> {
        let mut inner = self.lock();
        let idx = inner.waiting.iter().position(|w| &w.copy == copy)?;
        inner.changed = true;
        Some(inner.waiting.remove(idx))
    }

    fn snapshot(&self) -> Vec<Waiting> {
        self.lock().waiting.clone()
    }

    fn of_ticket(&self, source_id: &PlatformId) -> Option<Waiting> {
        self.lock()
            .waiting
            .iter()
            .find(|w| &w.source_id == source_id)
            .cloned()
    }

    /// Whether the children of the copy of source ticket `source_id` wait to be linked.
    pub(crate) fn holds(&self, source_id: &PlatformId) -> bool {
        self.lock()
            .waiting
            .iter()
            .any(|w| &w.source_id == source_id)
    }

    /// The list to commit (its run-state key and value), when it changed since the last commit.
    pub(crate) fn take_changed(&self, side: Side) -> Option<(String, serde_json::Value)> {
        let mut inner = self.lock();
        if !std::mem::take(&mut inner.changed) {
            return None;
        }
        let listed: Vec<Listed> = inner
            .waiting
            .iter()
            .map(|w| Listed {
                ticket: w.source_id.clone(),
                copy: w.copy.clone(),
                written_at: w.written_at,
            })
            .collect();
        Some((
            list_key(side),
            serde_json::to_value(listed).unwrap_or_default(),
        ))
    }

    /// Marks the list changed again (its commit failed).
    pub(crate) fn unsaved(&self) {
        self.lock().changed = true;
    }
}

impl Applier {
    /// Notes a copy written with its children whose copies the target names later: its intent
    /// stays until they are linked.
    pub(crate) fn note_later(
        &self,
        outbound: &Outbound,
        written: &Written,
        fingerprint: Fingerprint,
        fingerprints: &BTreeMap<String, Fingerprint>,
    ) {
        let origin = &outbound.origin;
        self.state
            .keep_intent(&intent::key(origin.side, origin.kind, &origin.id));
        self.later_links.push(Waiting {
            source_id: origin.id.clone(),
            intent: Intent::of(outbound, fingerprint, fingerprints),
            copy: written.id.clone(),
            written_at: Utc::now(),
        });
    }

    /// Links the children of the copies waiting that the target matches now; with `finish`,
    /// of every copy waiting. Their links (and their intents cleared, and the list) go with the
    /// next commit. Returns how many copies were done.
    pub(crate) async fn link_later(&self, finish: bool) -> Result<usize, EngineError> {
        let waiting = self.later_links.snapshot();
        self.link_waiting(waiting, finish).await
    }

    async fn link_waiting(
        &self,
        waiting: Vec<Waiting>,
        finish: bool,
    ) -> Result<usize, EngineError> {
        if waiting.is_empty() || self.dry_run {
            return Ok(0);
        }
        let copies: Vec<LaterCopy> = waiting
            .iter()
            .map(|w| LaterCopy {
                id: w.copy.clone(),
                written_at: w.written_at,
                sent: w.intent.outbound(),
            })
            .collect();
        let matched = self.target.children_later(&copies, finish).await?;
        let n_done = matched.len();
        for (copy, children) in matched {
            self.later_links.remove(&copy);
            let Some(done) = waiting.iter().find(|w| w.copy == copy) else {
                continue;
            };
            let written = Written {
                id: copy,
                outcome: WriteOutcome::Found,
                children,
                updated_at: None,
                set_up: Vec::new(),
                children_later: false,
            };
            self.link_children(&written, &done.intent.fingerprints())
                .await?;
            let origin = &done.intent.record.origin;
            self.state
                .add_intent(intent::key(origin.side, origin.kind, &origin.id));
        }
        tracing::debug!(
            n_done,
            finish,
            "Linked the comments of tickets imported in bulk."
        );
        Ok(n_done)
    }

    /// Takes back the copies an earlier run left waiting (it stopped before their children were
    /// linked) and links their children now: before anything else of this run, so none of them
    /// is written again.
    pub(crate) async fn resume_later(&self) -> Result<(), EngineError> {
        if self.dry_run {
            return Ok(());
        }
        let side = self.from_side();
        let Some(value) = self.store.run_state(&list_key(side)).await? else {
            return Ok(());
        };
        let listed: Vec<Listed> = serde_json::from_value(value).unwrap_or_default();
        for entry in listed {
            if let Some(waiting) = self.left_waiting(&entry.ticket, &entry).await? {
                self.later_links.push(waiting);
            }
        }
        // The list is written again with the next commit, without those done.
        self.later_links.unsaved();
        let n_done = self.link_later(true).await?;
        if n_done > 0 {
            tracing::info!(
                n_done,
                "Linked the comments of tickets an earlier run imported."
            );
        }
        Ok(())
    }

    /// The durable list's entry of source ticket `ticket`, if it has one.
    async fn later_listed(&self, ticket: &PlatformId) -> Result<Option<Listed>, EngineError> {
        let Some(value) = self.store.run_state(&list_key(self.from_side())).await? else {
            return Ok(None);
        };
        let listed: Vec<Listed> = serde_json::from_value(value).unwrap_or_default();
        Ok(listed.into_iter().find(|l| &l.ticket == ticket))
    }

    /// The copy of source ticket `ticket` that an earlier run left waiting (`listed`), when it
    /// still has its intent (cleared once its children were linked) and its link.
    async fn left_waiting(
        &self,
        ticket: &PlatformId,
        listed: &Listed,
    ) -> Result<Option<Waiting>, EngineError> {
        let side = self.from_side();
        let key = intent::key(side, RecordKind::Ticket, ticket);
        let Some(value) = self.store.run_state(&key).await?.filter(|v| !v.is_null()) else {
            return Ok(None);
        };
        let Ok(intent) = serde_json::from_value::<Intent>(value) else {
            return Ok(None);
        };
        let Some(link) = self
            .state
            .find_link(self.store.as_ref(), RecordKind::Ticket, side, ticket)
            .await?
        else {
            // Not linked: the ticket is created or found again through its intent.
            return Ok(None);
        };
        let copy = link.id(side.other()).clone();
        if listed.copy != copy {
            return Ok(None);
        }
        Ok(Some(Waiting {
            source_id: ticket.clone(),
            intent,
            copy,
            written_at: listed.written_at,
        }))
    }

    /// Before `comment` is created alone on its ticket's copy: when that copy was written with
    /// its comments and they wait to be linked (in this run, or left by an earlier one), they
    /// are matched now. Answers whether `comment` is linked then (its copy went with its
    /// ticket), so it is not written again.
    pub(crate) async fn linked_later(&self, comment: &Observed) -> Result<bool, EngineError> {
        let Record::Comment(record) = &comment.record else {
            return Ok(false);
        };
        let ticket = &record.ticket;
        let waiting = match self.later_links.of_ticket(ticket) {
            Some(waiting) => Some(waiting),
            None if !self.dry_run => match self.later_listed(ticket).await? {
                Some(entry) => self.left_waiting(ticket, &entry).await?,
                None => None,
            },
            None => None,
        };
        let Some(waiting) = waiting else {
            return Ok(false);
        };
        let sent_with_it = waiting
            .intent
            .children
            .iter()
            .any(|c| c.origin.kind == RecordKind::Comment && c.origin.id == comment.id);
        if !sent_with_it {
            // It did not go with its ticket (it waited for its author, say): written alone.
            return Ok(false);
        }
        self.link_waiting(vec![waiting], true).await?;
        let link = self
            .state
            .find_link(
                self.store.as_ref(),
                RecordKind::Comment,
                comment.side,
                &comment.id,
            )
            .await?;
        Ok(link.is_some())
    }
}
