//! `cutover drill`: a rollback rehearsal with the user's plan, against emulators on this
//! machine shaped like the plan's platforms. It copies a sample into them, runs the bridge and
//! the switch driver (the same runtime code `cutover serve` runs) on a store of its own, starts
//! a wave of the user's plan, opens a ticket on the new side while the wave is there, rolls the
//! wave back, and checks that routing flipped back within a second and that the ticket is on
//! the old side. The result goes into the user's store as the `rollback_drill` gate's
//! [`cutover_runtime::DrillRecord`], tied to the plan file by its digest, audited.

use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use cutover_engine::{BackfillOptions, ProgressSink};
use cutover_model::{PlatformKind, Side};
use cutover_runtime::switch::SwitchConfig;
use cutover_runtime::{DrillRecord, plan_digest};
use cutover_sim::{AccountProfile, zendesk};
use cutover_store::{NewAuditEntry, StoreUrl};
use serde_json::json;

use super::backfill::Setup;
use super::live::{self, Live};
use super::rehearsal::{self, Emulator, Limits};
use crate::context::Context;
use crate::exit::{Class, Outcome, fail};

/// Tickets on the emulated old account.
const SAMPLE_TICKETS: usize = 5;
/// Who asks for the rehearsed switch and rollback (for the audit log of the drill's store).
const ACTOR: &str = "cutover drill";

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

/// An emulator of one side shaped like the plan's platform `kind`: an account of plain records
/// (the drill is about the switch, not the mapping: a realistic new side's own contacts of
/// organizations nobody copies keep the reverse bridge waiting), no rate limits.
async fn start_emulator(kind: PlatformKind, seed: u64, tickets: usize) -> anyhow::Result<Emulator> {
    match kind {
        PlatformKind::Zendesk => {
            let limits = Limits {
                rpm: None,
                incremental_rpm: 0,
            };
            let opts = zendesk::ZendeskOptions {
                profile: AccountProfile::Plain,
                ..rehearsal::options(seed, tickets, limits)
            };
            Ok(Emulator::Zendesk(rehearsal::start_zendesk(opts).await?))
        }
        PlatformKind::Freshdesk => Ok(Emulator::Freshdesk(
            rehearsal::plain_freshdesk(seed, tickets).await?,
        )),
        other => Err(fail(
            Class::Config,
            format!(
                "cutover drill has no emulator of {other}: it rehearses moves between \
                 Zendesk and Freshdesk"
            ),
        )),
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
    let old = start_emulator(setup.plan.old.platform, 71, SAMPLE_TICKETS).await?;
    let new = start_emulator(setup.plan.new.platform, 72, 0).await?;
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
    let drill_plan = cutover_plan::plan::load(&drill_plan_path)?;
    let store = cutover_store::open(&StoreUrl::sqlite(dir.path().join("drill.db"))).await?;
    let (source, target) = (
        rehearsal::connector(&drill_plan, Side::Old)?,
        rehearsal::connector(&drill_plan, Side::New)?,
    );
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

    // The bridge and the switch driver, as `cutover serve` runs them; the switch goes by the
    // user's waves and switch timeout.
    let switch = SwitchConfig {
        waves: setup.plan.waves.clone(),
        timeout: setup.plan.sync.switch_timeout.get(),
        old: old.kind(),
        new: new.kind(),
    };
    let mut live = Live::start(&store, (&source, &target), &drill_plan, switch, &[]).await?;
    let rehearsed = live
        .beside(rehearse(&store, wave, &new, &source, !args.json))
        .await;
    live.stop().await;
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
    live::caught_up_each_way(store).await?;
    if let Err(problem) = live::switch_forward(store, wave, ACTOR, print).await? {
        return Ok((false, 0, 0, vec![problem]));
    }
    let subject = "Taken by the new side during the drill";
    let back = live::take_and_roll_back(
        store,
        wave,
        (new, old_connector.as_ref()),
        (ACTOR, subject),
        print,
    )
    .await?;
    let drain_ms = back.done.as_ref().and_then(|d| d.drain_ms).unwrap_or(0);
    if print && let Some(done) = &back.done {
        super::wave::print_report(done, &back.contacts, false)?;
    }
    Ok((
        back.problems.is_empty(),
        back.flip_ms,
        drain_ms,
        back.problems,
    ))
}
