//! The bridge: both directions, pass after pass, woken by webhooks and by the poll interval.
//!
//! Each direction runs its own passes, woken by its own side's deliveries and its own poll
//! interval, so one direction's feed waiting on its export's rate limit never holds up the
//! other's. They share one lock around every apply-and-commit (reads are outside it): a copy
//! one direction made is linked before the other direction applies anything it read, so the two
//! never race to copy one record both ways, and a read older than a link's version is
//! `Unchanged`. Webhook deliveries reach them through a [`BridgeHandle`]: they name records to
//! read now and wake the direction that reads that side; the poll interval is the safety net
//! that catches every delivery lost.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use cutover_connect::{ChangeHint, Connector, Delivery, WebhookSecret};
use cutover_model::{PlatformId, RecordKind, Side};
use cutover_plan::Plan;
use cutover_plan::plan::names::Directions;
use cutover_store::{NewDeadLetter, Store};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::apply::Applier;
use crate::error::EngineError;
pub use crate::late::CARRIED_WHEN_MET;
use crate::mapping::Mapping;
use crate::sync::conflicts::{ConflictPolicy, Resolver};
use crate::sync::direction::{Direction, NAMED_PER_GAP, NAMED_PER_PASS};
use crate::sync::metrics::SyncMetrics;
use crate::sync::status::{self, DirectionStatus, feed_delay};

/// The kinds the bridge reads the feeds of, in dependency order, when the plan copies them: those
/// every platform's change feed shows (comments and attachments travel with their ticket).
/// Agents, groups and roles are matched or copied by the backfill; one a side gains later is
/// carried when a record first refers to it ([`CARRIED_WHEN_MET`], see `late.rs`): matched on
/// the other side by the plan's `[mapping.agents]` and `[mapping.groups]` (by e-mail or name,
/// overrides) or created, as the backfill would, when `[copy] kinds` names its kind. Only what
/// the plan does not carry (dropped, an agent who left, a role with no counterpart, a group the
/// plan does not name yet, a kind left out of `[copy] kinds`) takes the plan's stand-in
/// (`[mapping.agents] unmatched`, `[mapping] unmatched_group`) with the original named, as in
/// the backfill.
pub const SYNCED_KINDS: [RecordKind; 3] = [
    RecordKind::Organization,
    RecordKind::Contact,
    RecordKind::Ticket,
];

/// How often a running bridge looks in the store for webhook hints another process kept.
pub const HINTS_WATCH_EVERY: Duration = Duration::from_secs(1);

/// At most this many kept hints are read by one pass (the rest by the next).
const KEPT_HINTS_PER_PASS: u32 = 1000;

/// How the bridge runs.
#[derive(Debug, Clone)]
pub struct BridgeOptions {
    /// The sides changes are read from: both, or the old side only.
    pub from: Vec<Side>,
    /// The kinds carried: those of [`SYNCED_KINDS`] through their feeds (comments and
    /// attachments ride with tickets), those of [`CARRIED_WHEN_MET`] when a record refers to one
    /// not linked yet.
    pub kinds: Vec<RecordKind>,
    /// How often each side is read when no webhook wakes the bridge.
    pub poll_every: Duration,
    /// Who wins a field changed on both sides.
    pub conflicts: ConflictPolicy,
    /// The store webhook deliveries are kept through (their hints for the leader, refused ones
    /// in the dead letters), when not the bridge's own: `cutover serve` gives the bridge a
    /// fenced handle (a deposed leader writes nothing) and the intake, which every process
    /// runs, an unfenced one.
    pub intake: Option<Arc<dyn Store>>,
}

impl BridgeOptions {
    /// The plan's `[sync]` directions and poll interval, over the kinds `copy.kinds` names.
    pub fn from_plan(plan: &Plan) -> Self {
        let from = match plan.sync.directions {
            Directions::OldToNew => vec![Side::Old],
            _ => vec![Side::Old, Side::New],
        };
        let mut kinds: Vec<RecordKind> = RecordKind::ALL
            .iter()
            .copied()
            .filter(|k| SYNCED_KINDS.contains(k) && plan.copy.kinds.contains(k))
            .collect();
        if plan.copy.kinds.contains(&RecordKind::Comment) {
            kinds.push(RecordKind::Comment);
        }
        kinds.extend(
            CARRIED_WHEN_MET
                .iter()
                .copied()
                .filter(|k| plan.copy.kinds.contains(k)),
        );
        BridgeOptions {
            from,
            kinds,
            poll_every: plan.sync.poll_every.get(),
            conflicts: ConflictPolicy::from_plan(plan),
            intake: None,
        }
    }
}

/// The sides the bridge writes into under the plan's directions.
pub fn written_sides(plan: &Plan) -> Vec<Side> {
    match plan.sync.directions {
        Directions::OldToNew => vec![Side::New],
        _ => vec![Side::Old, Side::New],
    }
}

/// Refuses to run the bridge while it would write into a platform whose own notifications may
/// e-mail requesters a second time, and whose API cannot keep the bridge's writes from doing so
/// ([`cutover_connect::Capabilities::agent_changes_may_notify`] for replies, notes, solves and
/// closes; [`cutover_connect::Capabilities::ticket_create_may_notify`] for the tickets the
/// bridge opens there), unless the user confirmed they are off (`confirmed`: the plan's
/// `[sync] notifications_off` or `--notifications-off`). `written` holds each side the bridge
/// writes into, with its connector.
pub fn notifications_gate(
    written: &[(Side, &dyn Connector)],
    confirmed: bool,
) -> Result<(), EngineError> {
    if confirmed {
        return Ok(());
    }
    for (side, connector) in written {
        let caps = connector.capabilities();
        let switches = if caps.agent_changes_may_notify {
            "\"New Ticket Created\", \"Agent adds comment to ticket\", \"Agent solves the ticket\", \
             \"Agent closes the ticket\""
        } else if caps.ticket_create_may_notify {
            "\"New Ticket Created\""
        } else {
            continue;
        };
        return Err(EngineError::BridgeNotificationsOn {
            platform: caps.platform,
            side: *side,
            switches,
        });
    }
    Ok(())
}

/// What the faces share with the running bridge: its counters, and the webhook intake.
#[derive(Debug, Clone)]
pub struct BridgeHandle {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    store: Arc<dyn Store>,
    /// Where deliveries are kept ([`BridgeOptions::intake`]).
    intake: Arc<dyn Store>,
    old: Arc<dyn Connector>,
    new: Arc<dyn Connector>,
    secret: Option<WebhookSecret>,
    metrics: Arc<SyncMetrics>,
    hints: Mutex<BTreeMap<Side, BTreeSet<ChangeHint>>>,
    /// Wakes the direction that reads the old side.
    wake_old: Notify,
    /// Wakes the direction that reads the new side.
    wake_new: Notify,
    from: Vec<Side>,
    /// Whether the bridge runs in this process. When it does not (another `cutover serve`
    /// leads), a delivery's records are kept in the store for the one that runs it.
    running: AtomicBool,
    /// The tickets whose children each direction (by the side it reads) knows all applied.
    children_known: Vec<(Side, Arc<crate::children::ChildrenKnown>)>,
}

impl Shared {
    /// What wakes the direction that reads `side`.
    fn wake(&self, side: Side) -> &Notify {
        match side {
            Side::Old => &self.wake_old,
            Side::New => &self.wake_new,
        }
    }
}

/// Why a webhook delivery was refused (the intake answers 4xx; it is in the dead letters).
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// The check failed or the body could not be read.
    #[error("webhook delivery from the {side} side refused: {reason}")]
    Check {
        /// The side the delivery claims to come from.
        side: Side,
        /// Why.
        reason: String,
    },
    /// No secret is configured to check deliveries with.
    #[error(
        "webhook delivery from the {0} side refused: the plan names no [sync] webhook_secret_env, or the variable is not set"
    )]
    NoSecret(Side),
}

impl BridgeHandle {
    /// The bridge's counters.
    pub fn metrics(&self) -> &SyncMetrics {
        &self.shared.metrics
    }

    /// The sides changes are read from.
    pub fn from_sides(&self) -> &[Side] {
        &self.shared.from
    }

    /// Checks a webhook delivery from `side` and, when it passes, reads the records it names on
    /// the next pass, which starts now. A refused delivery is kept in the dead letters.
    /// Answers how many records it names, or why it was refused; `Err` only when the store
    /// cannot keep a refused delivery.
    pub async fn deliver(
        &self,
        side: Side,
        delivery: &Delivery<'_>,
    ) -> Result<Result<usize, Refused>, EngineError> {
        let shared = &self.shared;
        let connector = match side {
            Side::Old => &shared.old,
            Side::New => &shared.new,
        };
        let checked = match &shared.secret {
            None => Err(Refused::NoSecret(side)),
            Some(secret) => {
                connector
                    .accept_webhook(delivery, secret)
                    .map_err(|e| Refused::Check {
                        side,
                        reason: e.to_string(),
                    })
            }
        };
        let hints = match checked {
            Ok(hints) => hints,
            Err(refused) => {
                let record = serde_json::from_slice(delivery.body).unwrap_or_else(|_| {
                    serde_json::Value::String(String::from_utf8_lossy(delivery.body).into_owned())
                });
                let mut tx = shared.intake.begin().await?;
                tx.put_dead_letter(&NewDeadLetter {
                    kind: RecordKind::Ticket,
                    side,
                    source_id: PlatformId::from(0),
                    reason: refused.to_string(),
                    record,
                })
                .await?;
                tx.commit().await?;
                return Ok(Err(refused));
            }
        };
        let n_hints = hints.len();
        if !shared.running.load(Ordering::SeqCst) {
            // The bridge runs in another process (or not yet): the store carries the records
            // to it. Answered only once kept, so a delivery is never lost here.
            let kept: Vec<(RecordKind, PlatformId)> =
                hints.into_iter().map(|h| (h.kind, h.id)).collect();
            shared.intake.put_hints(side, &kept).await?;
            return Ok(Ok(n_hints));
        }
        shared
            .hints
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(side)
            .or_default()
            .extend(hints);
        shared.wake(side).notify_one();
        Ok(Ok(n_hints))
    }

    /// Starts a pass of each direction now, as a delivery does.
    pub fn wake(&self) {
        self.shared.wake_old.notify_one();
        self.shared.wake_new.notify_one();
    }

    /// Names records of `side` to read again on the next pass, which starts now, as a delivery
    /// names them (the scheduled verify's drift). Answers how many were named.
    pub fn name(&self, side: Side, hints: impl IntoIterator<Item = ChangeHint>) -> usize {
        let before = self.take_hints(side);
        let mut all = before.clone();
        let hints: Vec<ChangeHint> = hints.into_iter().collect();
        // Drift may be in a ticket's children: they are read again, however settled.
        for (_, known) in self
            .shared
            .children_known
            .iter()
            .filter(|(s, _)| *s == side)
        {
            for hint in hints.iter().filter(|h| h.kind == RecordKind::Ticket) {
                known.forget(&hint.id);
            }
        }
        all.extend(hints);
        let named = all.len() - before.len();
        self.put_back(side, all);
        self.shared.wake(side).notify_one();
        named
    }

    fn take_hints(&self, side: Side) -> BTreeSet<ChangeHint> {
        self.shared
            .hints
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&side)
            .unwrap_or_default()
    }

    /// Takes at most `n` of the records named on `side` (parents' kinds first); the rest stay
    /// named for a later gap or pass.
    fn take_hints_at_most(&self, side: Side, n: usize) -> BTreeSet<ChangeHint> {
        let mut hints = self
            .shared
            .hints
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(named) = hints.get_mut(&side) else {
            return BTreeSet::new();
        };
        if named.len() <= n {
            return std::mem::take(named);
        }
        let mut taken = BTreeSet::new();
        while taken.len() < n {
            match named.pop_first() {
                Some(hint) => taken.insert(hint),
                None => break,
            };
        }
        taken
    }

    /// Whether records are still named on `side`.
    fn any_named(&self, side: Side) -> bool {
        self.shared
            .hints
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&side)
            .is_some_and(|named| !named.is_empty())
    }

    fn put_back(&self, side: Side, hints: BTreeSet<ChangeHint>) {
        self.shared
            .hints
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(side)
            .or_default()
            .extend(hints);
    }
}

/// The two-way bridge, ready to run.
#[derive(Debug)]
pub struct Bridge {
    directions: Vec<Direction>,
    handle: BridgeHandle,
    poll_every: Duration,
}

impl Bridge {
    /// A bridge between `old` and `new` through `store`, with the plan's `mapping`; `secret`
    /// checks webhook deliveries (none: every delivery is refused, polling still runs).
    pub fn new(
        store: Arc<dyn Store>,
        old: Arc<dyn Connector>,
        new: Arc<dyn Connector>,
        mapping: Mapping,
        secret: Option<WebhookSecret>,
        options: BridgeOptions,
    ) -> Self {
        let metrics = Arc::new(SyncMetrics::default());
        let record_kinds: Vec<RecordKind> = RecordKind::ALL
            .iter()
            .copied()
            .filter(|k| SYNCED_KINDS.contains(k) && options.kinds.contains(k))
            .collect();
        let with_children = options.kinds.contains(&RecordKind::Comment);
        let mut copied = record_kinds.clone();
        if with_children {
            copied.extend([RecordKind::Comment, RecordKind::Attachment]);
        }
        let appliers: Vec<Arc<Applier>> = options
            .from
            .iter()
            .map(|from| {
                let (source, target) = match from {
                    Side::Old => (Arc::clone(&old), Arc::clone(&new)),
                    Side::New => (Arc::clone(&new), Arc::clone(&old)),
                };
                // An agent, group or role not linked is carried when met, where the plan
                // carries it; else (and for a kind the bridge does not carry) the reference
                // takes the plan's stand-in instead of waiting.
                Arc::new(
                    Applier::new(Arc::clone(&store), source, target, mapping.clone(), false)
                        .copying(&copied)
                        .carrying_when_met(&options.kinds),
                )
            })
            .collect();
        // Both ways, every update is conditional on the version last seen, and a conflict is
        // resolved with the other direction's applier. One way (old to new only), nothing of
        // the new side is carried back, so the old side's content is written as it is.
        if let [first, second] = appliers.as_slice() {
            for (applier, partner) in [(first, second), (second, first)] {
                let resolver = Resolver {
                    partner: Arc::downgrade(partner),
                    policy: options.conflicts.clone(),
                    pending: Arc::default(),
                };
                // Set once, here, on an applier made just above.
                let _ = applier.conflicts.set(resolver);
            }
        }
        let children_known = appliers
            .iter()
            .map(|applier| (applier.from_side(), Arc::clone(&applier.children_known)))
            .collect();
        // One apply-and-commit at a time across both directions.
        let apply_lock = Arc::new(tokio::sync::Mutex::new(()));
        let written = Arc::new(crate::sync::written::Written::default());
        let directions = appliers
            .into_iter()
            .map(|applier| Direction {
                feed_delay: feed_delay(applier.source.platform()),
                applier,
                apply_lock: Arc::clone(&apply_lock),
                written: Arc::clone(&written),
                kinds: record_kinds.clone(),
                with_children,
                metrics: Arc::clone(&metrics),
                failed_in_a_row: AtomicUsize::new(0),
                started: chrono::Utc::now(),
            })
            .collect();
        let handle = BridgeHandle {
            shared: Arc::new(Shared {
                intake: options.intake.clone().unwrap_or_else(|| Arc::clone(&store)),
                store,
                old,
                new,
                secret,
                metrics,
                hints: Mutex::new(BTreeMap::new()),
                wake_old: Notify::new(),
                wake_new: Notify::new(),
                from: options.from.clone(),
                running: AtomicBool::new(false),
                children_known,
            }),
        };
        Bridge {
            directions,
            handle,
            poll_every: options.poll_every,
        }
    }

    /// Takes the change feeds of `from` to show changes `delay` late rather than as late as
    /// their platform's do ([`feed_delay`]): for emulators started with a shorter delay
    /// (`cutover demo`'s Zendesk, whose exports hold back a second, not a minute). Against a
    /// real platform a shorter delay would let a drain claim changes it has not read.
    #[must_use]
    pub fn with_feed_delay(mut self, from: Side, delay: chrono::Duration) -> Self {
        for direction in self.directions.iter_mut().filter(|d| d.from() == from) {
            direction.feed_delay = delay;
        }
        self
    }

    /// What the faces hold of the bridge.
    pub fn handle(&self) -> BridgeHandle {
        self.handle.clone()
    }

    /// Runs both directions until `shutdown` is cancelled, each in its own loop. A pass that
    /// fails (a platform down, the store unreachable) is logged and tried again on the next
    /// wake-up: what it did not commit is read again, so nothing is lost.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), EngineError> {
        self.run_until(&shutdown).await
    }

    /// Runs both directions, as [`Bridge::run`] does, until `shutdown` is cancelled; then it may
    /// run again (a `cutover serve` that leads again after losing its lease). While it runs,
    /// deliveries wake it; while it does not, they are kept in the store for the process that
    /// runs it, and it reads those when it starts and between passes.
    pub async fn run_until(&self, shutdown: &CancellationToken) -> Result<(), EngineError> {
        struct Running<'a>(&'a AtomicBool);
        impl Drop for Running<'_> {
            fn drop(&mut self) {
                self.0.store(false, Ordering::SeqCst);
            }
        }
        let _running = {
            let flag = &self.handle.shared.running;
            flag.store(true, Ordering::SeqCst);
            Running(flag)
        };
        for direction in &self.directions {
            direction.applier.learn_fields().await?;
        }
        let loops = self
            .directions
            .iter()
            .map(|direction| self.run_direction(direction, shutdown));
        futures::future::join_all(loops).await;
        Ok(())
    }

    /// One direction's loop: its feeds are read on the first pass, every poll interval and for
    /// a drain; a webhook between those wakes a pass of the records it names only.
    async fn run_direction(&self, direction: &Direction, shutdown: &CancellationToken) {
        let from = direction.from();
        // A drain is proven by a pass that starts as long after it as the feed shows changes
        // late.
        let delay = direction.feed_delay;
        let wake = self.handle.shared.wake(from);
        let mut feeds = true;
        let mut last_feeds = tokio::time::Instant::now();
        let mut started = Utc::now();
        loop {
            if feeds {
                started = Utc::now();
                last_feeds = tokio::time::Instant::now();
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                result = self.pass(direction, feeds) => {
                    if let Err(e) = result {
                        tracing::warn!(from = %from, error = %e, "Bridge pass failed; it is tried again on the next wake-up.");
                    }
                }
            }
            let next_poll = last_feeds + self.poll_every;
            feeds = tokio::select! {
                () = shutdown.cancelled() => return,
                () = wake.notified() => tokio::time::Instant::now() >= next_poll,
                () = tokio::time::sleep_until(next_poll) => true,
                () = self.drain_asked(started, delay) => true,
                () = self.hints_kept(from) => tokio::time::Instant::now() >= next_poll,
            };
        }
    }

    /// Completes when a drain (of this process or another sharing the store) needs a pass that
    /// the one started at `last_pass` does not give: a drain asked since, or, for a feed that
    /// shows changes `delay` late, the first moment a pass can prove the drain's time. Looks at
    /// the store every [`status::DRAIN_WATCH_EVERY`]; a store it cannot read is a drain not seen
    /// (the poll interval still runs).
    async fn drain_asked(&self, last_pass: chrono::DateTime<Utc>, delay: chrono::Duration) {
        let store = self.handle.shared.store.as_ref();
        loop {
            tokio::time::sleep(status::DRAIN_WATCH_EVERY).await;
            let asked = match status::drain_requested(store).await {
                Ok(Some(asked)) => asked,
                Ok(None) => continue,
                Err(e) => {
                    tracing::debug!(error = %e, "Could not look for a drain request.");
                    continue;
                }
            };
            if needs_pass(asked, last_pass, delay, Utc::now()) {
                return;
            }
        }
    }

    /// Completes when the store holds records of `from` that a delivery to another process
    /// named (one that does not run the bridge). Looks every [`HINTS_WATCH_EVERY`]; a store it
    /// cannot read is a hint not seen yet (the poll interval still runs).
    async fn hints_kept(&self, from: Side) {
        let store = self.handle.shared.store.as_ref();
        loop {
            tokio::time::sleep(HINTS_WATCH_EVERY).await;
            match store.pending_hints(from, 1).await {
                Ok(kept) if !kept.is_empty() => return,
                Ok(_) => {}
                Err(e) => tracing::debug!(error = %e, "Could not look for kept webhook hints."),
            }
        }
    }

    /// One pass of one direction (with `feeds`, its feeds read to their end), then its status
    /// in the store.
    async fn pass(&self, direction: &Direction, feeds: bool) -> Result<(), EngineError> {
        let from = direction.from();
        let started = Utc::now();
        // Records deliveries to another process named join those named here (served a bounded
        // number at a time, below); removed from the store once this pass is done (a pass that
        // fails leaves them for the next).
        let store = self.handle.shared.store.as_ref();
        let kept = store.pending_hints(from, KEPT_HINTS_PER_PASS).await?;
        let kept_up_to = kept.last().map(|h| h.id);
        if !kept.is_empty() {
            let named: BTreeSet<ChangeHint> = kept
                .into_iter()
                .map(|h| ChangeHint {
                    kind: h.kind,
                    id: h.record_id,
                })
                .collect();
            self.handle.put_back(from, named);
        }
        // A pass over feeds that show a change at once (Freshdesk's) leaves the records webhooks
        // named to those feeds: reading them by id as well would read each twice. Those named
        // while the pass runs wait for the next one (their delivery woke it).
        let feeds_show_all = feeds && direction.feed_delay.is_zero();
        // The named records are served a bounded number at a time (at the start, and in each
        // gap between a feed's parts), so a flood of webhooks never keeps a pass from reaching
        // the end of its feeds and writing its status: what is left stays named, for the next
        // gap or pass.
        let hints = if feeds_show_all {
            self.handle.take_hints(from)
        } else if feeds {
            self.handle.take_hints_at_most(from, NAMED_PER_GAP)
        } else {
            self.handle.take_hints_at_most(from, NAMED_PER_PASS)
        };
        let named = if feeds_show_all {
            BTreeSet::new()
        } else {
            hints.clone()
        };
        let more = |n: usize| {
            if feeds_show_all {
                BTreeSet::new()
            } else {
                self.handle.take_hints_at_most(from, n)
            }
        };
        let result = direction.pass(&named, feeds, &more).await;
        if !feeds_show_all && self.handle.any_named(from) {
            // Left for the next pass, which starts at once.
            self.handle.shared.wake(from).notify_one();
        }
        let report = match result {
            Ok(report) => report,
            Err(e) => {
                // What the pass applied may not be committed: children are read again.
                direction.applier.children_known.forget_all();
                self.handle.put_back(from, hints);
                return Err(e);
            }
        };
        if let Some(up_to) = kept_up_to {
            store.drop_hints(from, up_to).await?;
        }
        let previous = status::load(store)
            .await?
            .into_iter()
            .find(|s| s.from == from)
            .and_then(|s| s.caught_up_to);
        // Only a pass that read every feed to its end proves a time.
        let caught_up_to = if feeds && report.in_flight.is_empty() {
            Some(started - direction.feed_delay)
        } else {
            previous
        };
        let metrics = &self.handle.shared.metrics;
        let status = DirectionStatus {
            from,
            positions: status::positions(store, from, &direction.kinds).await?,
            caught_up_to,
            in_flight: report.in_flight,
            read_again: status::read_again(store, from).await?,
            lag: metrics.lag(from),
            applied: metrics.applied_total(from),
            echoes_suppressed: metrics.echoes_total(from),
            dead_lettered: metrics.dead_lettered_total(from),
            at: Utc::now(),
        };
        let value = serde_json::to_value(&status).unwrap_or(serde_json::Value::Null);
        store
            .put_run_state(&status::status_key(from), &value)
            .await?;
        Ok(())
    }
}

/// Whether a drain asked at `asked` needs a pass now, when the last pass started at
/// `last_pass` and the slowest feed shows changes `delay` late: a pass has not started since
/// the ask, or one can now prove the ask's time (`asked + delay` has passed) and the last did not
/// start late enough to.
fn needs_pass(
    asked: chrono::DateTime<Utc>,
    last_pass: chrono::DateTime<Utc>,
    delay: chrono::Duration,
    now: chrono::DateTime<Utc>,
) -> bool {
    let provable_from = asked + delay;
    last_pass < asked || (last_pass < provable_from && now >= provable_from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drain_gets_a_pass_at_once_and_another_once_the_feed_shows_its_time() {
        let t0 = Utc::now();
        let s = chrono::Duration::seconds;
        let minute = s(61);
        // Asked after the last pass started: a pass now.
        assert!(needs_pass(t0, t0 - s(5), minute, t0));
        // The pass ran; the Zendesk feed cannot show the ask's time before a minute passes.
        assert!(!needs_pass(t0, t0 + s(1), minute, t0 + s(30)));
        // A minute and a second on: one more pass, which proves it.
        assert!(needs_pass(t0, t0 + s(1), minute, t0 + s(61)));
        assert!(!needs_pass(t0, t0 + s(61), minute, t0 + s(62)));
        // A feed with no delay: the first pass after the ask is enough.
        assert!(!needs_pass(
            t0,
            t0 + s(1),
            chrono::Duration::zero(),
            t0 + s(2)
        ));
    }
}
