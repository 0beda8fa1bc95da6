//! The live part of a rehearsal, shared by `cutover drill` and `cutover demo`: the bridge and
//! the switch driver (the runtime code `cutover serve` runs) in this process, on the
//! rehearsal's own store and emulators; a wave switched to the new side through the journal as
//! `cutover wave start` asks, a ticket the new side takes while the wave is there, and the
//! rollback that brings the wave and the ticket back to the old side.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use cutover_connect::Connector;
use cutover_engine::EngineError;
use cutover_engine::sync::{Bridge, BridgeOptions, status};
use cutover_model::Side;
use cutover_plan::Plan;
use cutover_plan::plan::model::Wave;
use cutover_runtime::switch::{self, Driver, NoMover, Step, Switch, SwitchConfig, TakenContact};
use cutover_runtime::{RoutingState, WavePhase};
use cutover_store::Store;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::rehearsal::Emulator;
use crate::exit::{Class, fail};

/// How long a rehearsal waits for the switch and for the rollback, each.
const FOLLOW: Duration = Duration::from_secs(300);
/// The longest a rollback's routing flip may take for a rehearsal to pass.
pub(crate) const FLIP_LIMIT_MS: u64 = 1000;
/// How long the bridge may take to finish its first pass each way.
const FIRST_PASS: Duration = Duration::from_secs(30);

/// The bridge and the switch driver of a rehearsal, running on tasks of their own until
/// [`Live::stop`].
pub(crate) struct Live {
    shutdown: CancellationToken,
    bridge: JoinHandle<Result<(), EngineError>>,
    driver: JoinHandle<()>,
}

impl Live {
    /// Adds the ticket types `plan` creates on the new side (as `cutover serve` does first),
    /// then starts the bridge between `old` and `new` (the plan's directions and kinds, read
    /// every second) and the switch driver for `switch`'s waves, which moves no agents or rules
    /// (the rehearsal's emulators hold none of the user's). `feed_delays` tells the bridge of
    /// emulators whose change feed holds back less than their platform's does.
    pub(crate) async fn start(
        store: &Arc<dyn Store>,
        (old, new): (&Arc<dyn Connector>, &Arc<dyn Connector>),
        plan: &Plan,
        switch: SwitchConfig,
        feed_delays: &[(Side, chrono::Duration)],
    ) -> anyhow::Result<Self> {
        let mapping = cutover_engine::Mapping::for_plan(plan);
        cutover_engine::backfill::create_ticket_types(store.as_ref(), new.as_ref(), &mapping)
            .await
            .context("add the ticket types the plan creates")?;
        let options = BridgeOptions {
            poll_every: Duration::from_secs(1),
            ..BridgeOptions::from_plan(plan)
        };
        let mut bridge = Bridge::new(
            Arc::clone(store),
            Arc::clone(old),
            Arc::clone(new),
            mapping,
            None,
            options,
        );
        for (from, delay) in feed_delays {
            bridge = bridge.with_feed_delay(*from, *delay);
        }
        let shutdown = CancellationToken::new();
        let driver = Driver::new(Arc::clone(store), switch, Arc::new(NoMover));
        Ok(Live {
            bridge: tokio::spawn(bridge.run(shutdown.clone())),
            driver: tokio::spawn(driver.run(shutdown.clone())),
            shutdown,
        })
    }

    /// Runs `work` while the bridge runs: a bridge that stops first ends it with an error.
    pub(crate) async fn beside<T>(
        &mut self,
        work: impl Future<Output = anyhow::Result<T>>,
    ) -> anyhow::Result<T> {
        tokio::select! {
            done = work => done,
            ended = &mut self.bridge => Err(match ended {
                Ok(Ok(())) => fail(Class::Internal, "the rehearsal's bridge stopped"),
                Ok(Err(e)) => anyhow::Error::new(e).context("the rehearsal's bridge stopped"),
                Err(e) => fail(Class::Internal, format!("the rehearsal's bridge failed: {e}")),
            }),
        }
    }

    /// Stops the bridge and the driver and waits for them.
    pub(crate) async fn stop(self) {
        self.shutdown.cancel();
        if !self.bridge.is_finished() {
            let _ = self.bridge.await;
        }
        let _ = self.driver.await;
    }
}

/// Waits for the bridge's first whole pass each way, so a switch has a lag to check.
pub(crate) async fn caught_up_each_way(store: &dyn Store) -> anyhow::Result<()> {
    let ready = tokio::time::Instant::now();
    loop {
        let statuses = status::load(store).await?;
        if statuses.len() == 2 && statuses.iter().all(|s| s.caught_up_to.is_some()) {
            return Ok(());
        }
        if ready.elapsed() > FIRST_PASS {
            let what: Vec<String> = statuses
                .iter()
                .map(|s| {
                    format!(
                        "{} side: caught up to {:?}, in flight {:?}",
                        s.from, s.caught_up_to, s.in_flight
                    )
                })
                .collect();
            return Err(fail(
                Class::Internal,
                format!(
                    "the rehearsal's bridge did not catch up each way in {} s: {}",
                    FIRST_PASS.as_secs(),
                    what.join("; ")
                ),
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Switches `wave` to the new side as `cutover wave start` asks (the internal path, without
/// gates: the rehearsal's own emulators) and follows the journal, printing each step when
/// `print`. The finished switch, or why the wave is not on the new side.
pub(crate) async fn switch_forward(
    store: &dyn Store,
    wave: &Wave,
    actor: &str,
    print: bool,
) -> anyhow::Result<Result<Switch, String>> {
    let asked = switch::request_start(store, wave, actor, true).await?;
    let forward = super::wave::follow(store, &asked.id, FOLLOW, print).await?;
    match forward {
        Some(done) if done.step == Step::Done => {
            if RoutingState::load(store).await?.phase(&wave.name) == WavePhase::New {
                Ok(Ok(done))
            } else {
                Ok(Err(
                    "routing was not on the new side after the switch".to_owned()
                ))
            }
        }
        Some(done) => Ok(Err(format!(
            "the wave did not switch forward: {}",
            done.problems.join("; ")
        ))),
        None => Ok(Err(
            "the wave did not switch forward: it did not end".to_owned()
        )),
    }
}

/// A rollback rehearsed: the ticket the new side took, the flip, the journal's end and what
/// the old side holds of every contact the new side took.
pub(crate) struct RolledBack {
    /// The ticket opened on the new side while the wave was there.
    pub taken: String,
    /// How long after the request routing was back on the old side, in milliseconds.
    pub flip_ms: u64,
    /// The rollback's journal at its end; `None` when it did not end.
    pub done: Option<Switch>,
    /// Every contact the new side took during the wave, as the old side holds it.
    pub contacts: Vec<TakenContact>,
    /// What did not hold: a slow flip, routing not back, no drain, the ticket not on the old
    /// side.
    pub problems: Vec<String>,
}

/// With `wave` on the new side: a customer opens a ticket on `new` (`subject`), then the wave
/// is rolled back as `cutover rollback` asks, followed (printed when `print`), and the old
/// side (`old`) is read for that ticket.
pub(crate) async fn take_and_roll_back(
    store: &dyn Store,
    wave: &Wave,
    (new, old): (&Emulator, &dyn Connector),
    (actor, subject): (&str, &str),
    print: bool,
) -> anyhow::Result<RolledBack> {
    let mut problems = Vec::new();
    let taken = new
        .open_ticket(
            ("Wave Customer", "wave.customer@example.com"),
            subject,
            "Opened on the new side while the wave was there.",
        )
        .await?;
    let back = switch::request_rollback(store, wave, actor, true).await?;
    let flip_ms = back.flip_ms.unwrap_or(u64::MAX);
    if flip_ms > FLIP_LIMIT_MS {
        problems.push(format!(
            "routing flipped back in {flip_ms} ms, over {FLIP_LIMIT_MS} ms"
        ));
    }
    if RoutingState::load(store).await?.phase(&wave.name) != WavePhase::Old {
        problems.push("routing was not on the old side after the rollback".to_owned());
    }
    let done = super::wave::follow(store, &back.id, FOLLOW, print).await?;
    let Some(finished) = &done else {
        problems.push("the rollback did not end".to_owned());
        return Ok(RolledBack {
            taken,
            flip_ms,
            done,
            contacts: Vec::new(),
            problems,
        });
    };
    if finished.drained != Some(true) {
        problems.push("the reverse bridge did not drain".to_owned());
    }
    let since = finished.wave_since.unwrap_or(finished.requested_at);
    let contacts = switch::contacts_taken(store, old, since).await?;
    match contacts
        .iter()
        .find(|c| c.contact.is_none() && c.new_id == taken)
    {
        Some(c) if c.on_old && c.old_read == subject => {}
        Some(c) => problems.push(format!(
            "ticket {taken} opened on the new side is not on the old side ({})",
            c.old_read
        )),
        None => problems.push(format!(
            "ticket {taken} opened on the new side during the wave was lost: no copy on the old side"
        )),
    }
    Ok(RolledBack {
        taken,
        flip_ms,
        done,
        contacts,
        problems,
    })
}
