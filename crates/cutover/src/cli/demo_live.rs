//! The live part of `cutover demo`, after the copy: the bridge carrying a ticket each way with
//! its lag, wave 1 switched to the new side, a ticket taken there, the rollback with its
//! routing flip, then the bridge drained. The same runtime code as `cutover serve` and
//! `cutover drill` ([`super::live`]), on the demo's own store and emulators.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cutover_connect::Connector;
use cutover_engine::sync::{Drained, status};
use cutover_model::{PlatformId, RecordKind, Side};
use cutover_plan::Plan;
use cutover_runtime::switch::SwitchConfig;
use cutover_store::Store;

use super::demo::{Demo, name};
use super::live::{self, FLIP_LIMIT_MS, Live};
use super::rehearsal::Emulator;
use crate::exit::{Class, fail};

/// Who asks for the demo's switch and rollback (in the demo's audit log).
const ACTOR: &str = "cutover demo";
/// How long the demo waits for the bridge to carry a ticket, and for the final drain.
const CARRY_LIMIT: Duration = Duration::from_secs(30);
/// How far behind its clock the demo's emulated Zendesk's exports end, in seconds (a real
/// Zendesk's: 60), and what the demo's bridge is told of it (a second more, as it is told
/// 61 s of a real Zendesk).
pub(crate) const EXPORT_DELAY_SECS: i64 = 1;
const BRIDGE_FEED_DELAY_SECS: i64 = EXPORT_DELAY_SECS + 1;

/// What the live part came to, for the summary.
pub(crate) struct LiveReport {
    /// Seconds the bridge took to carry a ticket from the old side to the new, and back.
    pub old_to_new: Option<f64>,
    pub new_to_old: Option<f64>,
    /// The rollback's routing flip, in milliseconds.
    pub flip_ms: Option<u64>,
    /// The ticket the new side took during the wave, and its copy on the old side.
    pub taken: Option<(String, String)>,
    /// Whether the final drain caught both directions up.
    pub drained: bool,
    /// What did not hold.
    pub problems: Vec<String>,
}

impl LiveReport {
    pub(crate) fn is_clean(&self) -> bool {
        self.problems.is_empty() && self.drained
    }
}

/// The sides and the store the live part runs on.
pub(crate) struct Sides<'a> {
    pub store: &'a Arc<dyn Store>,
    pub plan: &'a Plan,
    pub old: (&'a Emulator, &'a Arc<dyn Connector>),
    pub new: (&'a Emulator, &'a Arc<dyn Connector>),
}

/// Steps 8 to 11 of the demo (their numbers from `first`): runs the bridge and the switch
/// driver in this process, then stops them.
pub(crate) async fn steps(
    demo: &Demo,
    first: u32,
    sides: &Sides<'_>,
) -> anyhow::Result<LiveReport> {
    let (old, new) = (sides.old.0, sides.new.0);
    let names = (name(old.kind()), name(new.kind()));
    demo.step(
        first,
        "Run the bridge both ways",
        "`cutover serve` keeps both platforms live while customers move over in waves: a \
         change on either side is carried to the other.",
    );
    println!(
        "   The emulated Zendesk's incremental export holds back its last {EXPORT_DELAY_SECS} s \
         (a real Zendesk's holds back a minute, and the bridge knows it): like the rate limits, \
         so the demo takes seconds. Against a real account, the webhooks `cutover sync setup` \
         registers bring a change over in seconds; polling is the safety net."
    );
    let feed_delays: Vec<(Side, chrono::Duration)> = [(Side::Old, old), (Side::New, new)]
        .into_iter()
        .filter(|(_, e)| matches!(e, Emulator::Zendesk(_)))
        .map(|(side, _)| (side, chrono::Duration::seconds(BRIDGE_FEED_DELAY_SECS)))
        .collect();
    let switch = SwitchConfig {
        waves: sides.plan.waves.clone(),
        timeout: sides.plan.sync.switch_timeout.get(),
        old: old.kind(),
        new: new.kind(),
    };
    let mut running = Live::start(
        sides.store,
        (sides.old.1, sides.new.1),
        sides.plan,
        switch,
        &feed_delays,
    )
    .await?;
    let report = running.beside(journey(demo, first, sides, names)).await;
    running.stop().await;
    report
}

/// The bridge each way, the wave forward and back, the drain: each step printed.
async fn journey(
    demo: &Demo,
    first: u32,
    sides: &Sides<'_>,
    names: (&str, &str),
) -> anyhow::Result<LiveReport> {
    let store = sides.store.as_ref();
    live::caught_up_each_way(store).await?;
    let mut report = LiveReport {
        old_to_new: None,
        new_to_old: None,
        flip_ms: None,
        taken: None,
        drained: false,
        problems: Vec::new(),
    };
    match carry_one(store, sides.old.0, Side::Old, names).await? {
        Ok(seconds) => report.old_to_new = Some(seconds),
        Err(problem) => report.problems.push(problem),
    }
    match carry_one(store, sides.new.0, Side::New, names).await? {
        Ok(seconds) => report.new_to_old = Some(seconds),
        Err(problem) => report.problems.push(problem),
    }
    for direction in status::load(store).await? {
        println!(
            "   `cutover sync status`, {} to {}: {} change(s) applied (with the customers the \
             tickets brought, and what the first pass found on one side only), lag p50 {:.1} s.",
            direction.from,
            direction.from.other(),
            direction.applied,
            direction.lag.p50
        );
    }
    if forward_and_back(demo, first + 1, sides, &mut report).await? {
        drain(demo, first + 3, store, &mut report).await?;
    }
    Ok(report)
}

/// A customer opens a ticket on `side`'s emulator; the seconds until the bridge linked its copy
/// on the other side (printed), or why not.
async fn carry_one(
    store: &dyn Store,
    emulator: &Emulator,
    side: Side,
    (from, to): (&str, &str),
) -> anyhow::Result<Result<f64, String>> {
    let (here, there) = match side {
        Side::Old => (format!("old {from}"), format!("new {to}")),
        Side::New => (format!("new {to}"), format!("old {from}")),
    };
    let opened = emulator
        .open_ticket(
            ("Demo Customer", &format!("customer.{side}@example.com")),
            &format!("A question asked on the {here}"),
            "Written while the bridge runs.",
        )
        .await?;
    Ok(match carried(store, side, &opened).await? {
        Some((copy, seconds)) => {
            println!(
                "   A customer opened ticket {opened} on the {here}; the bridge wrote it to the \
                 {there} as ticket {copy}, {seconds:.1} s later."
            );
            Ok(seconds)
        }
        None => Err(format!(
            "ticket {opened} opened on the {here} was not on the {there} after {} s",
            CARRY_LIMIT.as_secs()
        )),
    })
}

/// Wave 1 to the new side, a ticket taken there, the rollback (steps `first` and `first + 1`);
/// whether the wave got to the new side.
async fn forward_and_back(
    demo: &Demo,
    first: u32,
    sides: &Sides<'_>,
    report: &mut LiveReport,
) -> anyhow::Result<bool> {
    let store = sides.store.as_ref();
    let Some(wave) = sides.plan.waves.first() else {
        return Err(fail(Class::Internal, "the demo's plan has no wave"));
    };
    demo.step(
        first,
        "Switch wave 1 to the new side",
        "`cutover wave start 1` holds the wave's new contacts, drains the bridge to that moment, \
         flips routing to the new side and releases what it held; each step is journalled, so \
         a crash resumes where it was.",
    );
    println!(
        "   Wave {:?} ({}). On a real move the wave's gates must pass and a person signs it \
         off first (`cutover go --wave 1 --as NAME`); the demo takes the path `cutover drill` \
         takes, without gates, and moves no agents or rules (its emulators hold none of yours).",
        wave.name,
        wave_scope(wave)
    );
    match live::switch_forward(store, wave, ACTOR, true).await? {
        Ok(done) => println!(
            "   Wave {:?} is on the new side: routing flipped {} ms after the request.",
            wave.name,
            done.flip_ms.unwrap_or(0)
        ),
        Err(problem) => {
            report.problems.push(problem);
            return Ok(false);
        }
    }

    demo.step(
        first + 1,
        "Take a ticket on the new side, then roll back",
        "`cutover rollback 1` puts routing back on the old side at once, then drains the \
         reverse bridge: what the new side took during the wave is on the old side.",
    );
    let subject = "Opened during wave 1, on the new side";
    let back = live::take_and_roll_back(
        store,
        wave,
        (sides.new.0, sides.old.1.as_ref()),
        (ACTOR, subject),
        true,
    )
    .await?;
    println!(
        "   Routing flipped back to the old side in {} ms (a rehearsal passes under {FLIP_LIMIT_MS} \
         ms); the reverse bridge drained in {} ms.",
        back.flip_ms,
        back.done.as_ref().and_then(|d| d.drain_ms).unwrap_or(0)
    );
    report.flip_ms = Some(back.flip_ms);
    if let Some(found) = back
        .contacts
        .iter()
        .find(|c| c.contact.is_none() && c.new_id == back.taken && c.on_old)
    {
        println!(
            "   Ticket {} that the new side took during the wave is on the old side as ticket {} \
             ({:?}).",
            found.new_id, found.old_id, found.old_read
        );
        report.taken = Some((found.new_id.clone(), found.old_id.clone()));
    }
    report.problems.extend(back.problems);
    Ok(true)
}

/// Step `number`: both directions caught up to now, as `cutover sync drain` waits for.
async fn drain(
    demo: &Demo,
    number: u32,
    store: &dyn Store,
    report: &mut LiveReport,
) -> anyhow::Result<()> {
    demo.step(
        number,
        "Drain the bridge",
        "`cutover sync drain` waits until every change made on either side up to now is \
         applied on the other: the moment to verify again, or to stop.",
    );
    let started = Instant::now();
    let drained = status::drain(
        store,
        &[Side::Old, Side::New],
        CARRY_LIMIT,
        status::DRAIN_WATCH_EVERY,
    )
    .await?;
    match drained {
        Drained::Done => {
            report.drained = true;
            println!(
                "   Both directions caught up in {:.1} s.",
                started.elapsed().as_secs_f64()
            );
        }
        Drained::TimedOut(behind) => {
            for direction in behind {
                report.problems.push(format!("not drained: {direction}"));
            }
        }
    }
    Ok(())
}

/// Who a wave moves, in a few words.
fn wave_scope(wave: &cutover_plan::plan::model::Wave) -> String {
    format!(
        "channels {}, {} of the customers",
        wave.channels.join(", "),
        wave.customers
    )
}

/// Waits until the bridge has linked the ticket `id` of side `from` to a copy on the other
/// side: the copy's id and the seconds it took, or `None` after [`CARRY_LIMIT`].
async fn carried(store: &dyn Store, from: Side, id: &str) -> anyhow::Result<Option<(String, f64)>> {
    let started = Instant::now();
    let id = PlatformId::parse(id)?;
    while started.elapsed() < CARRY_LIMIT {
        if let Some(link) = store.find_link(RecordKind::Ticket, from, &id).await? {
            let copy = match from {
                Side::Old => link.link.new_id,
                Side::New => link.link.old_id,
            };
            return Ok(Some((copy.to_string(), started.elapsed().as_secs_f64())));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(None)
}
