//! `cutover drill`: a rollback rehearsal with the user's plan, against emulators on this
//! machine shaped like the plan's platforms. It copies a sample into them, runs the bridge and
//! the switch driver (the same runtime code `cutover serve` runs) on a store of its own, starts
//! a wave of the user's plan, opens a ticket on the new side while the wave is there, rolls the
//! wave back, and checks that routing flipped back within a second and that the ticket is on
//! the old side. The result goes into the user's store as the `rollback_drill` gate's
//! [`cutover_runtime::DrillRecord`], tied to the plan file by its digest, audited.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use cutover_engine::sync::{Bridge, BridgeOptions, status};
use cutover_engine::{BackfillOptions, ProgressSink};
use cutover_model::{PlatformKind, Side};
use cutover_runtime::switch::{self, Driver, NoMover, Step, SwitchConfig};
use cutover_runtime::{DrillRecord, RoutingState, WavePhase, plan_digest};
use cutover_sim::SimHandle;
use cutover_sim::freshdesk::{self, FreshdeskOptions, FreshdeskSim};
use cutover_sim::{AccountProfile, zendesk};
use cutover_store::{NewAuditEntry, StoreUrl};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::backfill::Setup;
use super::rehearsal::{self, Limits, SIM_EMAIL, SIM_TOKEN};
use crate::context::Context;
use crate::exit::{Class, Outcome, fail};

/// Tickets on the emulated old account.
const SAMPLE_TICKETS: usize = 5;
/// How long the drill waits for the rehearsed switch and rollback, each.
const FOLLOW: Duration = Duration::from_secs(300);
/// The longest a rollback's routing flip may take for the drill to pass.
const FLIP_LIMIT_MS: u64 = 1000;

/// Options of `cutover drill`.
#[derive(Debug, Args)]
pub struct DrillArgs {
    /// The wave to rehearse: its `name` or number (1 for the first).
    #[arg(long, default_value = "1")]
    pub wave: String,
    /// Print the drill record as JSON on standard output.
    #[arg(long)]
    pub json: bool,
}

/// An emulator of one side.
enum Emulator {
    Zendesk(SimHandle<zendesk::App>),
    Freshdesk(SimHandle<freshdesk::App>),
}

impl Emulator {
    async fn start(kind: PlatformKind, seed: u64, tickets: usize) -> anyhow::Result<Self> {
        match kind {
            PlatformKind::Zendesk => {
                let limits = Limits {
                    rpm: None,
                    incremental_rpm: 0,
                };
                let opts = zendesk::ZendeskOptions {
                    // An account of plain records: the drill is about the switch, not the
                    // mapping (a realistic new side's own contacts of organizations nobody
                    // copies keep the reverse bridge waiting).
                    profile: AccountProfile::Plain,
                    ..rehearsal::options(seed, tickets, limits)
                };
                Ok(Emulator::Zendesk(rehearsal::start_zendesk(opts).await?))
            }
            PlatformKind::Freshdesk => {
                let opts = FreshdeskOptions {
                    seed,
                    tickets,
                    profile: AccountProfile::Plain,
                    api_key: SIM_TOKEN.to_owned(),
                    rate_limit_rpm: Some(0),
                    acknowledge_new_tickets: false,
                    ..FreshdeskOptions::default()
                };
                let sim = FreshdeskSim::spawn(opts, "127.0.0.1:0")
                    .await
                    .map_err(|e| {
                        fail(Class::Internal, format!("start an emulated Freshdesk: {e}"))
                    })?;
                Ok(Emulator::Freshdesk(sim))
            }
            other => Err(fail(
                Class::Config,
                format!(
                    "cutover drill has no emulator of {other}: it rehearses moves between \
                     Zendesk and Freshdesk"
                ),
            )),
        }
    }

    fn url(&self) -> &str {
        match self {
            Emulator::Zendesk(sim) => sim.url(),
            Emulator::Freshdesk(sim) => sim.url(),
        }
    }

    fn kind(&self) -> PlatformKind {
        match self {
            Emulator::Zendesk(_) => PlatformKind::Zendesk,
            Emulator::Freshdesk(_) => PlatformKind::Freshdesk,
        }
    }

    /// Moves the emulator's clock a minute on: Zendesk's export shows nothing of its last one.
    async fn skip_a_minute(&self) -> anyhow::Result<()> {
        reqwest::Client::new()
            .post(format!("{}/_sim/clock", self.url()))
            .json(&json!({ "advance_seconds": 61 }))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .context("move the emulator's clock")?;
        Ok(())
    }

    /// Opens a ticket as a customer, by the platform's own API; its id.
    async fn open_ticket(&self, subject: &str) -> anyhow::Result<String> {
        let client = reqwest::Client::new();
        let body = "Opened on the new side while the drill's wave was there.";
        let id = match self.kind() {
            PlatformKind::Zendesk => {
                let answer: Value = client
                    .post(format!("{}/api/v2/tickets.json", self.url()))
                    .basic_auth(format!("{SIM_EMAIL}/token"), Some(SIM_TOKEN))
                    .json(&json!({ "ticket": {
                        "subject": subject,
                        "comment": { "body": body },
                        "requester": { "name": "Drill Customer", "email": "drill.customer@example.com" }
                    }}))
                    .send()
                    .await
                    .and_then(reqwest::Response::error_for_status)
                    .context("open a ticket on the emulated new side")?
                    .json()
                    .await?;
                answer["ticket"]["id"].to_string()
            }
            _ => {
                let answer: Value = client
                    .post(format!("{}/api/v2/tickets", self.url()))
                    .basic_auth(SIM_TOKEN, Some("X"))
                    .json(&json!({
                        "subject": subject, "description": body,
                        "email": "drill.customer@example.com", "status": 2, "priority": 1
                    }))
                    .send()
                    .await
                    .and_then(reqwest::Response::error_for_status)
                    .context("open a ticket on the emulated new side")?
                    .json()
                    .await?;
                answer["id"].to_string()
            }
        };
        Ok(id)
    }
}

/// Runs `cutover drill`.
pub(crate) async fn run(ctx: &Context, args: DrillArgs) -> anyhow::Result<Outcome> {
    let setup = Setup::open_with_waves(ctx, "cutover drill").await?;
    let plan_text = tokio::fs::read_to_string(&ctx.plan_path)
        .await
        .with_context(|| format!("read {}", ctx.plan_path.display()))?;
    let digest = plan_digest(&plan_text);
    let (_, wave) = cutover_runtime::routing::find_wave(&setup.plan.waves, &args.wave)
        .map_err(|e| fail(Class::Config, e))?;
    let say = |line: String| {
        if !args.json {
            println!("{line}");
        }
    };

    // Two emulators shaped like the plan's platforms, a sample on the old one.
    let old = Emulator::start(setup.plan.old.platform, 71, SAMPLE_TICKETS).await?;
    let new = Emulator::start(setup.plan.new.platform, 72, 0).await?;
    for emulator in [&old, &new] {
        emulator.skip_a_minute().await?;
    }
    say(format!(
        "Drill of wave {:?}: emulated old {} at {}, new {} at {}.",
        wave.name,
        old.kind(),
        old.url(),
        new.kind(),
        new.url()
    ));
    let dir = tempfile::tempdir().context("make a temporary folder for the drill")?;
    let drill_plan_path = dir.path().join("cutover.toml");
    rehearsal::write_plan_between(
        &drill_plan_path,
        (old.kind(), old.url()),
        (new.kind(), new.url()),
        100_000,
    )
    .await?;
    // The bridge polls every second in a drill.
    let text = tokio::fs::read_to_string(&drill_plan_path).await?;
    tokio::fs::write(
        &drill_plan_path,
        text.replace("poll_every = \"60s\"", "poll_every = \"1s\""),
    )
    .await?;
    let drill_plan = cutover_plan::plan::load(&drill_plan_path)?;
    let store = cutover_store::open(&StoreUrl::sqlite(dir.path().join("drill.db"))).await?;
    let (source, target) = (
        rehearsal::connector(&drill_plan, Side::Old)?,
        rehearsal::connector(&drill_plan, Side::New)?,
    );
    let mapping = cutover_engine::Mapping::for_plan(&drill_plan);
    cutover_engine::backfill(
        Arc::clone(&store),
        Arc::clone(&source),
        Arc::clone(&target),
        cutover_engine::Mapping::from_plan(&drill_plan.mapping),
        BackfillOptions {
            kinds: drill_plan.copy.kinds.clone(),
            concurrency: 8,
            dry_run: false,
            progress: ProgressSink::new(|_| {}),
            notifications_off: true,
            allow_unmapped: true,
        },
    )
    .await
    .context("copy the sample into the emulated new side")?;
    say(format!(
        "Copied a sample of {SAMPLE_TICKETS} tickets; the bridge and the switch driver run."
    ));
    cutover_engine::backfill::create_ticket_types(store.as_ref(), target.as_ref(), &mapping)
        .await?;

    // The bridge and the switch driver, as `cutover serve` runs them; the switch goes by the
    // user's waves and switch timeout.
    let shutdown = CancellationToken::new();
    let bridge = Bridge::new(
        Arc::clone(&store),
        Arc::clone(&source),
        Arc::clone(&target),
        mapping,
        None,
        BridgeOptions::from_plan(&drill_plan),
    );
    let mut bridge_task = tokio::spawn(bridge.run(shutdown.clone()));
    let driver = Driver::new(
        Arc::clone(&store),
        SwitchConfig {
            waves: setup.plan.waves.clone(),
            timeout: setup.plan.sync.switch_timeout.get(),
            old: old.kind(),
            new: new.kind(),
        },
        Arc::new(NoMover),
    );
    let driver_task = tokio::spawn(driver.run(shutdown.clone()));

    let rehearsed = tokio::select! {
        rehearsed = rehearse(&store, wave, &new, &source, !args.json) => rehearsed,
        ended = &mut bridge_task => Err(match ended {
            Ok(Ok(())) => fail(Class::Internal, "the drill's bridge stopped"),
            Ok(Err(e)) => anyhow::Error::new(e).context("the drill's bridge stopped"),
            Err(e) => fail(Class::Internal, format!("the drill's bridge failed: {e}")),
        }),
    };
    shutdown.cancel();
    if !bridge_task.is_finished() {
        let _ = bridge_task.await;
    }
    let _ = driver_task.await;
    store.close().await;
    let (passed, flip_ms, drain_ms, problems) = rehearsed?;

    let record = DrillRecord {
        plan_digest: digest,
        at: chrono::Utc::now(),
        passed,
        routing_flip_ms: flip_ms,
        drain_ms,
        problems,
    };
    let mut tx = setup.store.begin().await?;
    record.save_in(tx.as_mut()).await?;
    tx.append_audit(&NewAuditEntry::new(
        "cutover drill",
        "drill",
        json!({ "wave": wave.name, "plan_digest": record.plan_digest, "passed": passed,
                "routing_flip_ms": flip_ms, "drain_ms": drain_ms, "problems": record.problems }),
    ))
    .await?;
    tx.commit().await?;
    if args.json {
        println!("{}", serde_json::to_string(&record)?);
    } else {
        println!(
            "Drill {}: routing flipped back in {flip_ms} ms, the reverse bridge drained in {drain_ms} ms; recorded for the rollback_drill gate of this plan.",
            if passed { "passed" } else { "FAILED" }
        );
        for problem in &record.problems {
            println!("  {problem}");
        }
    }
    Ok(if passed {
        Outcome::Clean
    } else {
        Outcome::Findings
    })
}

/// The wave forward, a ticket on the new side, the wave back: whether every check held, the
/// rollback's flip and drain times, and what failed.
async fn rehearse(
    store: &Arc<dyn cutover_store::Store>,
    wave: &cutover_plan::plan::model::Wave,
    new: &Emulator,
    old_connector: &Arc<dyn cutover_connect::Connector>,
    print: bool,
) -> anyhow::Result<(bool, u64, u64, Vec<String>)> {
    let store = store.as_ref();
    let mut problems = Vec::new();
    // The bridge's first pass each way, so the switch has a lag to check.
    let ready = tokio::time::Instant::now();
    loop {
        let statuses = status::load(store).await?;
        if statuses.len() == 2 && statuses.iter().all(|s| s.caught_up_to.is_some()) {
            break;
        }
        if ready.elapsed() > Duration::from_secs(30) {
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
                    "the drill's bridge did not catch up each way in 30 s: {}",
                    what.join("; ")
                ),
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // The drill's own emulators: no gates to pass (the internal drill path).
    let asked = switch::request_start(store, wave, "cutover drill", true).await?;
    let forward = super::wave::follow(store, &asked.id, FOLLOW, print).await?;
    let forward_done = forward.as_ref().is_some_and(|s| s.step == Step::Done);
    if !forward_done {
        problems.push(format!(
            "the wave did not switch forward: {}",
            forward
                .as_ref()
                .map_or_else(|| "it did not end".to_owned(), |s| s.problems.join("; "))
        ));
        return Ok((false, 0, 0, problems));
    }
    if RoutingState::load(store).await?.phase(&wave.name) != WavePhase::New {
        problems.push("routing was not on the new side after the switch".to_owned());
    }
    let subject = "Taken by the new side during the drill";
    let taken = new.open_ticket(subject).await?;
    let back = switch::request_rollback(store, wave, "cutover drill", true).await?;
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
    let Some(done) = done else {
        problems.push("the rollback did not end".to_owned());
        return Ok((false, flip_ms, 0, problems));
    };
    if done.drained != Some(true) {
        problems.push("the reverse bridge did not drain".to_owned());
    }
    let since = done.wave_since.unwrap_or(done.requested_at);
    let contacts = switch::contacts_taken(store, old_connector.as_ref(), since).await?;
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
    if print {
        super::wave::print_report(&done, &contacts, false)?;
    }
    Ok((
        problems.is_empty(),
        flip_ms,
        done.drain_ms.unwrap_or(0),
        problems,
    ))
}
