//! Agents, groups and roles a side gains after the backfill, carried by the bridge when a record
//! first refers to one.
//!
//! The bridge reads the feeds of organizations, contacts and tickets only (see
//! `sync::SYNCED_KINDS`); the backfill matched or copied every agent, group and role there was.
//! A real move runs for weeks, and either side gains agents and groups meanwhile. When a record
//! the bridge carries refers to one of the source's that has no link, and the plan copies its
//! kind (`[copy] kinds`), the bridge carries it first the way the backfill would, through the
//! same [`Applier`] and plan tables: an agent is matched on the target by `[mapping.agents]`
//! (`match_by`, overrides; `"drop"` stays dropped) or created, a group mapped by
//! `[mapping.groups]` matched on the target by that name or created; an agent's role and groups
//! go before it. The record then refers to the real one. What the plan does not carry (dropped,
//! an agent who left, a role with no counterpart, a group the table does not name yet, a write the
//! target refuses) is remembered as such and takes the plan's stand-in, as in the backfill (see
//! `stand_in.rs`); what could not be carried is kept in the dead letters with its reason (a group
//! the plan does not name says which line to add), once per `cutover serve`.
//!
//! Cost: the source's list of a kind is read when the pass first meets an id with no link, and
//! again in the same pass only for an id that list did not hold (one list per new unknown, never
//! per record; for an id that may be a contact's, a comment's author, at most every
//! [`LIST_AGAIN_AFTER`]); a decision not to carry is remembered for the bridge's life, so no
//! later record looks it up again. The target is asked as the backfill asks it (the connector's
//! lookup by e-mail or name before a create). One carry runs at a time, so two records naming the same new agent make
//! one copy.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use cutover_connect::{ReadPosition, Reference};
use cutover_model::{Observed, PlatformId, RecordKind, Side};
use cutover_store::Link;
use futures::future::BoxFuture;

use crate::apply::{Applier, Outcome};
use crate::error::EngineError;

/// The kinds the bridge carries when a record refers to one it has no link for, in the order
/// an agent needs them (its groups and role first).
pub const CARRIED_WHEN_MET: [RecordKind; 3] =
    [RecordKind::Group, RecordKind::Role, RecordKind::Agent];

/// How long a list read in a pass answers, for an id it did not hold that may be a contact's.
const LIST_AGAIN_AFTER: std::time::Duration = std::time::Duration::from_secs(5);

tokio::task_local! {
    /// Set while a carry runs: a carry within it (an agent's groups) holds the lock already.
    static CARRYING: ();
}

/// What a carry came to.
#[derive(Debug)]
enum Carried {
    /// Linked (carried now, or before).
    Linked(Link),
    /// Not carried: the plan leaves it behind, or the source has no such record.
    Not,
    /// The target refused it (the reason): what needs it is not carried either.
    Refused(String),
}

/// A source record of `kind` and id, by kind.
type Listed = BTreeMap<PlatformId, Observed>;

/// What the applier knows of agents, groups and roles met with no link (empty: nothing is
/// carried when met, as in the backfill, which reads every one of them).
#[derive(Debug, Default)]
pub(crate) struct Late {
    /// The kinds carried when met: those of [`CARRIED_WHEN_MET`] the plan copies.
    kinds: BTreeSet<RecordKind>,
    /// Records of the source met and not carried (the plan leaves them behind, or the target
    /// refused them): they take the stand-in from now on without a look.
    /// With the reason when the target refused it.
    not_carried: std::sync::Mutex<BTreeMap<(RecordKind, PlatformId), Option<String>>>,
    /// This pass: the source's lists read, and ids a list read in this pass did not hold.
    pass: futures::lock::Mutex<Pass>,
    /// One carry at a time.
    carrying: futures::lock::Mutex<()>,
}

/// What a pass read of the source's lists.
#[derive(Debug, Default)]
struct Pass {
    /// Each list, with when it was read.
    listed: BTreeMap<RecordKind, (std::time::Instant, Arc<Listed>)>,
    absent: BTreeSet<(RecordKind, PlatformId)>,
}

impl Late {
    /// Carries `kinds` (those of [`CARRIED_WHEN_MET`] among them) when met.
    pub(crate) fn new(kinds: &[RecordKind]) -> Self {
        Late {
            kinds: kinds
                .iter()
                .copied()
                .filter(|k| CARRIED_WHEN_MET.contains(k))
                .collect(),
            ..Late::default()
        }
    }

    /// What was decided of a record met before and not carried: `Some(None)` left behind,
    /// `Some(Some(why))` refused by the target.
    fn not_carried(&self, key: &(RecordKind, PlatformId)) -> Option<Option<String>> {
        self.not_carried
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(key)
            .cloned()
    }

    fn remember_not_carried(&self, key: (RecordKind, PlatformId), refused: Option<String>) {
        self.not_carried
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key, refused);
    }
}

impl Applier {
    /// Carries agents, groups and roles of `kinds` (of [`CARRIED_WHEN_MET`]) when a record refers
    /// to one with no link (the bridge; see the module's text).
    pub fn carrying_when_met(mut self, kinds: &[RecordKind]) -> Self {
        self.late = Late::new(kinds);
        self
    }

    /// Starts a pass: the source's lists read by the last one are read again when needed.
    pub(crate) async fn begin_pass(&self) {
        *self.late.pass.lock().await = Pass::default();
    }

    /// The link of the agent, group or role `reference` points at, carried now when it had
    /// none and the plan carries it; `None` when it is not carried (or is no such record).
    pub(crate) fn carry_when_met<'a>(
        &'a self,
        reference: &'a Reference,
        from: Side,
    ) -> BoxFuture<'a, Result<Option<(RecordKind, Link)>, EngineError>> {
        Box::pin(async move {
            if from != self.from_side() {
                return Ok(None);
            }
            let kinds: Vec<RecordKind> = reference
                .kinds
                .iter()
                .copied()
                .filter(|k| self.late.kinds.contains(k))
                .collect();
            // A reference that may point at a contact (a comment's author) is most often one.
            let surely = kinds.len() == reference.kinds.len();
            for kind in kinds {
                let key = (kind, reference.key.clone());
                if self.late.not_carried(&key).is_some() {
                    continue;
                }
                let carried = if CARRYING.try_with(|()| ()).is_ok() {
                    self.carry(kind, &reference.key, surely).await?
                } else {
                    let _one = self.late.carrying.lock().await;
                    CARRYING
                        .scope((), self.carry(kind, &reference.key, surely))
                        .await?
                };
                if let Carried::Linked(link) = carried {
                    return Ok(Some((kind, link)));
                }
            }
            Ok(None)
        })
    }

    /// Carries the source's `kind` record `id` (holding the carry lock); `surely` when the
    /// reference can point at nothing else (see [`Applier::listed`]).
    fn carry<'a>(
        &'a self,
        kind: RecordKind,
        id: &'a PlatformId,
        surely: bool,
    ) -> BoxFuture<'a, Result<Carried, EngineError>> {
        Box::pin(async move {
            let from = self.from_side();
            // Carried by the carry just before this one (or another record's).
            if let Some(link) = self
                .state
                .find_link(self.store.as_ref(), kind, from, id)
                .await?
            {
                return Ok(Carried::Linked(link));
            }
            let key = (kind, id.clone());
            match self.late.not_carried(&key) {
                Some(Some(why)) => return Ok(Carried::Refused(why)),
                Some(None) => return Ok(Carried::Not),
                None => {}
            }
            let Some(observed) = self.listed(kind, id, surely).await? else {
                return Ok(Carried::Not);
            };
            // An agent's groups and role go first, so its copy has them. A role that cannot be
            // carried (no counterpart) leaves the agent behind, as in the backfill, where the
            // agent waits for it; a role the plan drops, and a group not carried, are left off
            // the copy.
            for parent in cutover_connect::references(&observed.record) {
                let Some(parent_kind) = parent
                    .kinds
                    .iter()
                    .copied()
                    .find(|k| self.late.kinds.contains(k))
                else {
                    continue;
                };
                if let Carried::Refused(why) = self.carry(parent_kind, &parent.key, true).await?
                    && parent.field == "role"
                {
                    let why = format!("its {} {} was not carried: {why}", parent.field, parent.key);
                    tracing::warn!(%kind, %id, %from, reason = %why, "A record the side gained after the backfill could not be carried; what refers to it takes the plan's stand-in.");
                    self.late.remember_not_carried(key, Some(why.clone()));
                    self.keep_letter(&observed, &why).await?;
                    return Ok(Carried::Refused(why));
                }
            }
            let outcome = self.apply(&observed).await?;
            match outcome {
                Outcome::Applied(_) | Outcome::Unchanged => {
                    let link = self
                        .state
                        .find_link(self.store.as_ref(), kind, from, id)
                        .await?;
                    if link.is_some() {
                        tracing::info!(%kind, %id, %from, "Carried a record the side gained after the backfill.");
                    }
                    Ok(link.map_or(Carried::Not, Carried::Linked))
                }
                Outcome::Waiting(parent) => {
                    // Tried again on the next pass.
                    tracing::info!(%kind, %id, %from, %parent, "A record the side gained after the backfill waits for a parent; the stand-in is used meanwhile.");
                    self.late.pass.lock().await.absent.insert(key);
                    Ok(Carried::Not)
                }
                Outcome::Dropped(why) => {
                    tracing::debug!(%kind, %id, %from, reason = %why, "Left behind by the plan.");
                    self.late.remember_not_carried(key, None);
                    Ok(Carried::Not)
                }
                Outcome::DeadLettered(why) => {
                    tracing::warn!(%kind, %id, %from, reason = %why, "A record the side gained after the backfill could not be carried; what refers to it takes the plan's stand-in.");
                    self.late.remember_not_carried(key, Some(why.clone()));
                    self.keep_letter(&observed, &why).await?;
                    Ok(Carried::Refused(why))
                }
            }
        })
    }

    /// Keeps a record that could not be carried in the dead letters, with why (a group the plan
    /// does not name says which line to add), as the backfill keeps it: `cutover deadletters`
    /// shows it, and a retry carries it once the plan is fixed.
    async fn keep_letter(&self, observed: &Observed, why: &str) -> Result<(), EngineError> {
        if self.dry_run {
            return Ok(());
        }
        let mut tx = self.store.begin().await?;
        tx.put_dead_letter(&crate::backfill::letter(observed, why.to_owned()))
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The source's `kind` record `id` as its list shows it: the list read once a pass, and
    /// again for an id it did not hold (it may be newer than the list): at once when the
    /// reference can point at nothing else (`surely`), else once the list is
    /// [`LIST_AGAIN_AFTER`] old.
    async fn listed(
        &self,
        kind: RecordKind,
        id: &PlatformId,
        surely: bool,
    ) -> Result<Option<Observed>, EngineError> {
        let key = (kind, id.clone());
        let mut pass = self.late.pass.lock().await;
        if pass.absent.contains(&key) {
            return Ok(None);
        }
        if let Some((at, list)) = pass.listed.get(&kind) {
            if let Some(found) = list.get(id) {
                return Ok(Some(found.clone()));
            }
            // An id a reference may use for a contact as well (a comment's author) is read
            // again at most every few seconds: it is most often a customer's.
            if !surely && at.elapsed() < LIST_AGAIN_AFTER {
                pass.absent.insert(key);
                return Ok(None);
            }
        }
        let listed = Arc::new(list(self.source.as_ref(), kind).await?);
        tracing::info!(%kind, from = %self.from_side(), n = listed.len(), "Read the source's list of a kind to carry one it gained after the backfill.");
        let found = listed.get(id).cloned();
        pass.listed
            .insert(kind, (std::time::Instant::now(), listed));
        if found.is_none() {
            pass.absent.insert(key);
        }
        Ok(found)
    }
}

/// Every record of `kind` the connector lists, by id (none when it cannot list the kind).
async fn list(
    connector: &dyn cutover_connect::Connector,
    kind: RecordKind,
) -> Result<Listed, EngineError> {
    let mut out = BTreeMap::new();
    if !connector.capabilities().can_read(kind) {
        return Ok(out);
    }
    let mut position = ReadPosition::start();
    loop {
        let page = connector.read_page(kind, &position).await?;
        out.extend(page.items.into_iter().map(|o| (o.id.clone(), o)));
        match page.next {
            Some(next) if !page.done && next != position => position = next,
            _ => return Ok(out),
        }
    }
}
