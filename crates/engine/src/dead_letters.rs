//! Retrying dead letters: a record kept whole is applied again (after the plan gained the
//! missing mapping, or the parent appeared); once it applies, its dead letter is removed.

use cutover_model::Observed;
use cutover_model::records::Record;
use cutover_store::{DeadLetter, NewDeadLetter};

use crate::apply::{Applier, Outcome};
use crate::backfill::letter;
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

impl Applier {
    /// Applies a dead letter's record again, and commits what that wrote.
    pub async fn retry_dead_letter(&self, dead: &DeadLetter) -> Result<Retried, EngineError> {
        let store = self.store.as_ref();
        let Ok(observed) = serde_json::from_value::<Observed>(dead.record.clone()) else {
            store.mark_dead_letter_retried(dead.id).await?;
            return Ok(Retried::Unreadable);
        };
        if let Record::Ticket(ticket) = &observed.record
            && !ticket.custom_fields.is_empty()
        {
            // Field values are translated by title, and written under the target's keys.
            self.learn_fields().await?;
        }
        let outcome = self.apply(&observed).await?;
        let mut letters: Vec<NewDeadLetter> = Vec::new();
        let retried = match &outcome {
            Outcome::Applied(_) | Outcome::Unchanged | Outcome::Dropped(_) => {
                Retried::Resolved(outcome)
            }
            Outcome::DeadLettered(reason) => {
                if *reason != dead.reason {
                    letters.push(letter(&observed, reason.clone()));
                }
                Retried::Failing(outcome)
            }
            Outcome::Waiting(_) => Retried::Failing(outcome),
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
        if self.dry_run {
            // Nothing is committed; what later records may ask about is kept compactly.
            self.state.committed_dry();
            drop(self.state.take_intents());
            return Ok(());
        }
        // Taken before the links: every intent taken here belongs to a write whose links are
        // in this batch (steps finish before their page commits).
        let intents = self.state.take_intents();
        let links = self.state.pending_links();
        let n_links = links.len();
        let batch = cutover_store::Batch {
            links,
            dead_letters,
            outbox: Vec::new(),
            cursor,
        };
        // The intents are cleared in the same transaction: they are done once their links are in.
        let mut tx = self.store.begin().await?;
        tx.apply(&batch).await?;
        for key in &intents {
            tx.delete_run_state(key).await?;
        }
        tx.commit().await?;
        self.state.committed(n_links);
        Ok(())
    }
}
