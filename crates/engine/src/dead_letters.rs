//! Retrying dead letters: a record kept whole is applied again, as a backfill applies it (after
//! the plan gained the missing mapping, or the parent appeared); once it applies, its dead
//! letter is removed. Letters are retried parents first ([`in_dependency_order`]).

use cutover_connect::Rejected;
use cutover_model::records::Record;
use cutover_model::{Observed, RecordKind};
use cutover_store::{DeadLetter, NewDeadLetter};

use crate::apply::{Applier, Outcome};
use crate::backfill::{PARENT_NEVER_APPEARED, letter};
use crate::error::EngineError;

/// What a retry came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Retried {
    /// Applied (or found equal, or dropped by the plan): the dead letter is removed.
    Resolved(Outcome),
    /// Still cannot be applied: the dead letter is kept, with the new reason if it changed.
    Failing(Outcome),
    /// The letter holds a platform's raw JSON that never became a record: the next read of the
    /// source brings it again. It is marked as retried.
    Unreadable,
}

/// Puts dead letters in the order a backfill applies records: parents' kinds first (an
/// organization before its contacts, a contact before its tickets), then by id.
pub fn in_dependency_order(letters: &mut [DeadLetter]) {
    let rank = |kind: RecordKind| RecordKind::ALL.iter().position(|k| *k == kind);
    letters.sort_by_key(|letter| (rank(letter.kind), letter.id));
}

impl Applier {
    /// Applies a dead letter's record again exactly as a backfill would (a ticket with its
    /// comments and attachments; a comment through its ticket's children; the plan's kinds and
    /// mapping), and commits what that wrote: new dead letters of what still fails, links of
    /// what applied.
    pub async fn retry_dead_letter(&self, dead: &DeadLetter) -> Result<Retried, EngineError> {
        let store = self.store.as_ref();
        let Ok(observed) = serde_json::from_value::<Observed>(dead.record.clone()) else {
            store.mark_dead_letter_retried(dead.id).await?;
            return Ok(Retried::Unreadable);
        };
        let (outcomes, rejected) = self.apply_as_backfill(&observed).await?;
        let kind = observed.record.kind();
        let own = outcomes
            .iter()
            .find(|(o, _)| o.record.kind() == kind && o.id == observed.id)
            .map(|(_, outcome)| outcome.clone())
            .unwrap_or_else(|| {
                Outcome::DeadLettered(format!(
                    "{kind} {} on the {} side: not read again from its ticket on the source",
                    observed.id, observed.side
                ))
            });
        let side = self.from_side();
        let mut letters: Vec<NewDeadLetter> = rejected
            .iter()
            .map(|r| crate::backfill::rejected_letter(side, r))
            .collect();
        for (other, outcome) in &outcomes {
            if other.record.kind() == kind && other.id == observed.id {
                continue;
            }
            match outcome {
                Outcome::DeadLettered(reason) => letters.push(letter(other, reason.clone())),
                Outcome::Waiting(parent) => letters.push(letter(
                    other,
                    format!(
                        "{PARENT_NEVER_APPEARED}: {} {} on the {} side refers to {parent}",
                        other.record.kind(),
                        other.id,
                        other.side
                    ),
                )),
                _ => {}
            }
        }
        let retried = match &own {
            Outcome::Applied(_) | Outcome::Unchanged | Outcome::Dropped(_) => {
                Retried::Resolved(own)
            }
            Outcome::DeadLettered(reason) => {
                if *reason != dead.reason {
                    letters.push(letter(&observed, reason.clone()));
                }
                Retried::Failing(own)
            }
            Outcome::Waiting(_) => Retried::Failing(own),
        };
        self.commit(letters).await?;
        match retried {
            Retried::Resolved(_) if !self.dry_run => {
                store.drop_dead_letter(dead.id).await?;
            }
            Retried::Failing(_) if !self.dry_run => {
                store.mark_dead_letter_retried(dead.id).await?;
            }
            _ => {}
        }
        Ok(retried)
    }

    /// One record applied as a backfill applies it: a ticket with its children (when comments
    /// are copied), a comment with its ticket's other children, any other record alone.
    async fn apply_as_backfill(
        &self,
        observed: &Observed,
    ) -> Result<(Vec<(Observed, Outcome)>, Vec<Rejected>), EngineError> {
        let with_children = self
            .copied
            .as_ref()
            .is_none_or(|kinds| kinds.contains(&RecordKind::Comment));
        match &observed.record {
            Record::Ticket(ticket) => {
                if !ticket.custom_fields.is_empty() {
                    // Field values are translated by title, and written under the target's keys.
                    self.learn_fields().await?;
                }
                let report = self.apply_ticket(observed, with_children).await?;
                Ok((report.outcomes, report.rejected))
            }
            Record::Comment(comment) if with_children => {
                let report = self.apply_children_of(&comment.ticket).await?;
                Ok((report.outcomes, report.rejected))
            }
            _ => {
                let outcome = self.apply(observed).await?;
                Ok((vec![(observed.clone(), outcome)], Vec::new()))
            }
        }
    }

    /// Commits the links written since the last commit, with `dead_letters`, in one
    /// transaction. A dry run commits nothing.
    pub async fn commit(&self, dead_letters: Vec<NewDeadLetter>) -> Result<(), EngineError> {
        self.commit_with_cursor(dead_letters, None).await
    }

    /// Like [`Applier::commit`], moving a cursor in the same transaction.
    pub async fn commit_with_cursor(
        &self,
        dead_letters: Vec<NewDeadLetter>,
        cursor: Option<cutover_store::CursorMove>,
    ) -> Result<(), EngineError> {
        self.commit_links(dead_letters, cursor).await.map(drop)
    }

    /// Like [`Applier::commit_with_cursor`], answering the links committed.
    pub(crate) async fn commit_links(
        &self,
        dead_letters: Vec<NewDeadLetter>,
        cursor: Option<cutover_store::CursorMove>,
    ) -> Result<Vec<cutover_store::Link>, EngineError> {
        if self.dry_run {
            // Nothing is committed; what later records may ask about is kept compactly.
            self.state.committed_dry();
            drop(self.state.take_intents());
            drop(self.state.take_created());
            drop(self.state.take_setup());
            return Ok(Vec::new());
        }
        // Taken before the links: every intent taken here belongs to a write whose links are
        // in this batch (steps finish before their page commits).
        let intents = self.state.take_intents();
        let created = self.state.take_created();
        let set_up = self.state.take_setup();
        let links = self.state.pending_links();
        let n_links = links.len();
        let later = self.later_links.take_changed(self.from_side());
        let batch = cutover_store::Batch {
            links: links.clone(),
            dead_letters,
            outbox: Vec::new(),
            cursor,
        };
        // The intents are cleared in the same transaction: they are done once their links are in.
        let conflicts = self
            .conflicts
            .get()
            .map(crate::sync::conflicts::Resolver::take)
            .unwrap_or_default();
        let mut tx = self.store.begin().await?;
        tx.apply(&batch).await?;
        for conflict in &conflicts {
            tx.put_conflict(conflict).await?;
        }
        for key in &intents {
            tx.delete_run_state(key).await?;
        }
        for record in &created {
            tx.record_created(record).await?;
        }
        for added in &set_up {
            tx.record_setup(added).await?;
        }
        if let Some((key, value)) = &later {
            tx.put_run_state(key, value).await?;
        }
        if let Err(e) = tx.commit().await {
            if later.is_some() {
                self.later_links.unsaved();
            }
            return Err(e.into());
        }
        self.state.committed(n_links);
        Ok(links)
    }
}

#[cfg(test)]
mod tests {
    use cutover_model::{PlatformId, Side};
    use cutover_store::DeadLetterId;

    use super::*;

    fn letter(id: i64, kind: RecordKind) -> DeadLetter {
        DeadLetter {
            id: DeadLetterId(id),
            kind,
            side: Side::Old,
            source_id: PlatformId::from(7),
            reason: "parent never appeared".into(),
            record: serde_json::Value::Null,
            attempts: 1,
            first_seen: chrono::DateTime::UNIX_EPOCH,
            last_seen: chrono::DateTime::UNIX_EPOCH,
            retried_at: None,
        }
    }

    #[test]
    fn parents_are_retried_before_what_refers_to_them() {
        let mut letters = vec![
            letter(1, RecordKind::Comment),
            letter(2, RecordKind::Ticket),
            letter(3, RecordKind::Agent),
            letter(4, RecordKind::Group),
            letter(5, RecordKind::Ticket),
            letter(6, RecordKind::Organization),
        ];
        in_dependency_order(&mut letters);
        let order: Vec<(RecordKind, i64)> = letters.iter().map(|l| (l.kind, l.id.0)).collect();
        assert_eq!(
            order,
            [
                (RecordKind::Organization, 6),
                (RecordKind::Group, 4),
                (RecordKind::Agent, 3),
                (RecordKind::Ticket, 2),
                (RecordKind::Ticket, 5),
                (RecordKind::Comment, 1),
            ]
        );
    }
}
