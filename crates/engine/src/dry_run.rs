//! What a dry run's write would come to, asked of the target without writing: the copy a
//! lookup finds (found), the refusal a create would answer (dead-lettered, or waiting), or a
//! create. So a dry run counts what the real run then does: a kind the target cannot write is
//! dead-lettered by both, a record the target holds already is found by both.

use cutover_connect::{Outbound, WriteOutcome, Written};
use cutover_model::RecordKind;
use cutover_model::records::Record;
use cutover_store::Link;

use crate::apply::{Applier, Outcome, per_record};
use crate::error::EngineError;
use crate::state::{dry_run_id, is_dry_run_id};

impl Applier {
    /// What writing `outbound` would come to (`link`: its link, when it was copied before).
    pub(crate) async fn would_write(
        &self,
        outbound: &Outbound,
        link: Option<&Link>,
    ) -> Result<Result<Written, Outcome>, EngineError> {
        let written = |id, outcome| Written {
            id,
            outcome,
            children: Vec::new(),
            updated_at: None,
            set_up: Vec::new(),
            children_later: false,
        };
        if let Some(link) = link {
            let id = link.id(self.target.side()).clone();
            return Ok(Ok(written(id, WriteOutcome::Updated)));
        }
        // A record whose ticket or comment this run would create cannot be on the target yet;
        // asking would name an id the target never gave.
        if !self.container_would_be_created(outbound) {
            match self.target.find_by_origin(outbound).await {
                Ok(Some(id)) => return Ok(Ok(written(id, WriteOutcome::Found))),
                Ok(None) => {}
                Err(e) => return per_record(e, outbound).map(Err),
            }
        }
        // A ticket's comments go with it (an import, or notes right after it): a refusal of
        // any of them fails the ticket's create in the real run.
        for each in std::iter::once(outbound).chain(&outbound.children) {
            if let Err(e) = self.target.check_create(each) {
                return per_record(e, outbound).map(Err);
            }
        }
        let id = dry_run_id(&outbound.origin.id);
        Ok(Ok(written(id, WriteOutcome::Created)))
    }

    /// Whether the record `outbound` belongs to (a comment's or a rating's ticket, an
    /// attachment's comment) is one this dry run would create.
    fn container_would_be_created(&self, outbound: &Outbound) -> bool {
        let (kind, key) = match &outbound.record {
            Record::Comment(c) => (RecordKind::Ticket, &c.ticket),
            Record::SatisfactionRating(r) => (RecordKind::Ticket, &r.ticket),
            Record::Attachment(a) => (RecordKind::Comment, &a.comment),
            _ => return false,
        };
        outbound.targets.get(kind, key).is_some_and(is_dry_run_id)
    }
}
