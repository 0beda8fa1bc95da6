//! `cutover demo`: the whole journey on this machine, against emulated platforms.
//!
//! Each step prints what it does and why, so a newcomer learns the journey by watching it:
//! start an emulated old Zendesk with generated data and an empty new Freshdesk, write a plan
//! pointing at them, check it, take the inventory of what cannot be carried, open a store, copy
//! everything (with progress), verify record by record; then the live part
//! ([`super::demo_live`]): the bridge both ways, wave 1 to the new side and rolled back, the
//! bridge drained; verify again, prove the audit log, and sum up. The emulators' rate limits
//! are raised and the emulated Zendesk's exports hold back a second, not a minute (the demo
//! says both), so that 2,000 tickets move and are verified in about a minute (release build,
//! two cores) and the live part takes seconds. Without `--headless` it pauses between steps when run on a terminal; with it,
//! it never waits and exits 0 only if both verifications are clean, the copy e-mailed no
//! customer and every live step held.
//!
//! `--to zendesk` moves one Zendesk account into another (an account consolidation) instead.
//! Into Freshdesk, what the platform cannot hold (named by the inventory before anything moves)
//! verify itself leaves out and counts as not comparable: the demo passes only if verify is clean.

use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal as _;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use cutover_connect::{Connector, ReadPosition};
use cutover_engine::{
    BackfillOptions, BackfillReport, Inventory, Mapping, ProgressEvent, ProgressSink, VerifyReport,
};
use cutover_model::{PlatformId, PlatformKind, RecordKind, Side};
use cutover_sim::zendesk::ZendeskOptions;
use cutover_store::{NewAuditEntry, Store, StoreUrl};
use serde_json::json;

use super::demo_live::{self, LiveReport, Sides};
use super::rehearsal::{self, Emulator, Limits};
use crate::context::Context;
use crate::exit::Outcome;

/// The emulators' rate limit during the demo, in requests a minute (a real Zendesk allows 700).
const DEMO_RPM: u32 = 100_000;

/// Arguments of `cutover demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Run without pauses; exit 0 only if both verifications end clean (the documented losses
    /// of a move into Freshdesk apart, each listed with its reason) and every live step held:
    /// the bridge carried a ticket each way, wave 1 switched and rolled back, the bridge drained.
    #[arg(long)]
    pub headless: bool,
    /// Keep the demo's folder (plan, store) instead of removing it at the end.
    #[arg(long)]
    pub keep: bool,
    /// Tickets on the emulated old platform, with their customers, organizations and comments.
    #[arg(long, default_value_t = 2_000, value_name = "N")]
    pub tickets: usize,
    /// The platform to move to: Freshdesk, or another Zendesk account (a consolidation).
    #[arg(long, value_enum, default_value_t = DemoTarget::Freshdesk)]
    pub to: DemoTarget,
    /// Seed of the generated data: the same seed gives the same tickets.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// Where the demo moves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DemoTarget {
    /// Freshdesk: the story of cutover.
    Freshdesk,
    /// Another Zendesk account (an account consolidation).
    Zendesk,
}

impl DemoTarget {
    fn platform(self) -> PlatformKind {
        match self {
            DemoTarget::Freshdesk => PlatformKind::Freshdesk,
            DemoTarget::Zendesk => PlatformKind::Zendesk,
        }
    }
}

/// A platform's name as a person writes it.
pub(super) fn name(platform: PlatformKind) -> &'static str {
    match platform {
        PlatformKind::Zendesk => "Zendesk",
        PlatformKind::Freshdesk => "Freshdesk",
        PlatformKind::Zammad => "Zammad",
    }
}

/// Runs the demo in a temporary folder.
pub(crate) async fn run(ctx: &Context, args: DemoArgs) -> anyhow::Result<Outcome> {
    let dir = tempfile::Builder::new()
        .prefix("cutover-demo-")
        .tempdir()
        .context("create the demo's temporary folder")?;
    match args.to {
        DemoTarget::Freshdesk => {
            println!("cutover demo: a move from Zendesk to Freshdesk, on this machine only.");
        }
        DemoTarget::Zendesk => println!(
            "cutover demo: a move from one Zendesk account to another (a consolidation), on \
             this machine only."
        ),
    }
    println!(
        "Nothing real is contacted: both platforms are emulators inside this process, with \
         generated data.\nWorking in {} (removed at the end unless --keep).\n",
        dir.path().display()
    );
    let demo = Demo {
        headless: args.headless,
        log_format: ctx.log_format,
    };
    let outcome = demo.steps(dir.path(), &args).await;
    if args.keep {
        let kept = dir.keep();
        println!("\nKept {}.", kept.display());
    }
    outcome
}

pub(super) struct Demo {
    headless: bool,
    log_format: super::LogFormat,
}

impl Demo {
    async fn steps(&self, dir: &Path, args: &DemoArgs) -> anyhow::Result<Outcome> {
        let to = name(args.to.platform());
        self.step(
            1,
            "Start the platforms",
            &format!("an emulated old Zendesk with generated history, and an empty new {to}."),
        );
        let started = Instant::now();
        let limits = Limits {
            rpm: Some(DEMO_RPM),
            incremental_rpm: DEMO_RPM,
        };
        // Zendesk's exports hold back a second rather than a minute (see step 8).
        let zendesk = |seed, tickets| ZendeskOptions {
            export_delay_secs: demo_live::EXPORT_DELAY_SECS,
            ..rehearsal::options(seed, tickets, limits)
        };
        let old = rehearsal::start_zendesk(zendesk(args.seed, args.tickets)).await?;
        let counts = old.state().counts();
        let old = Emulator::Zendesk(old);
        let new = match args.to {
            DemoTarget::Zendesk => Emulator::Zendesk(
                rehearsal::start_zendesk(zendesk(args.seed.wrapping_add(1), 0)).await?,
            ),
            DemoTarget::Freshdesk => {
                Emulator::Freshdesk(rehearsal::empty_freshdesk(args.seed.wrapping_add(1)).await?)
            }
        };
        let count = |kind: &str| counts.get(kind).copied().unwrap_or(0);
        println!(
            "   old Zendesk at {}: {} tickets, {} comments, {} people, {} organizations",
            old.url(),
            count("tickets"),
            count("comments"),
            count("users"),
            count("organizations")
        );
        println!("   new {to} at {}: empty", new.url());
        match args.to {
            DemoTarget::Zendesk => println!(
                "   Rate limits raised from Zendesk's 700 to {DEMO_RPM} requests a minute, so the \
                 demo takes a minute, not hours. Against a real account cutover paces itself to \
                 the limit."
            ),
            DemoTarget::Freshdesk => println!(
                "   Rate limits raised: Zendesk's from 700 to {DEMO_RPM} requests a minute, and \
                 Freshdesk's (400 a minute on Pro) switched off, so the demo takes a minute, not \
                 hours. Against real accounts cutover paces itself to the limits."
            ),
        }

        self.step(
            2,
            "Write a plan",
            "`cutover init` writes a commented cutover.toml: platforms, mappings, waves, gates.",
        );
        let plan_path = dir.join("cutover.toml");
        rehearsal::write_plan_to(
            &plan_path,
            old.url(),
            new.url(),
            args.to.platform(),
            DEMO_RPM,
        )
        .await?;
        let what = match args.to {
            DemoTarget::Zendesk => {
                "Zendesk to Zendesk (two accounts), every status, priority and role to itself, \
                 and the old account's groups and custom fields to the same names"
            }
            DemoTarget::Freshdesk => {
                "Zendesk to Freshdesk, every Zendesk status, priority and role to its Freshdesk \
                 counterpart, the old account's groups to the same names and its custom fields \
                 to Freshdesk's cf_ names"
            }
        };
        println!("   wrote {}: {what}", plan_path.display());

        self.step(
            3,
            "Check the plan",
            "`cutover plan check` reports every mistake at once, by file, line and key.",
        );
        let plan = cutover_plan::plan::load(&plan_path)?;
        println!("   {}", plan.summary());

        let source = rehearsal::connector(&plan, Side::Old)?;
        let target = rehearsal::connector(&plan, Side::New)?;

        self.step(
            4,
            "Take the inventory",
            "`cutover inventory` counts what the old platform holds and names what cannot be \
             carried, before anything moves.",
        );
        let inventory = cutover_engine::inventory(
            source.as_ref(),
            target.as_ref(),
            &plan.mapping,
            &plan.copy.kinds,
            &cutover_engine::discover(target.as_ref(), false, &|_, _| {}).await?,
        )
        .await?;
        print_inventory(&inventory);
        if inventory.losses.iter().any(|l| l.what == "notifications") {
            println!(
                "   Done on the emulated {to}, as you would do in its admin (Admin > Email \
                 Notifications) before a real backfill: the \"new ticket created\" e-mail to \
                 requesters is switched off, so creating copies e-mails no customer."
            );
        }

        self.step(
            5,
            "Open the store",
            "links, cursors, dead letters and the audit log live in SQLite (or PostgreSQL).",
        );
        let store_url = StoreUrl::sqlite(dir.join("cutover.db"));
        let store = cutover_store::open(&store_url).await?;
        println!("   opened {store_url}");
        record(
            store.as_ref(),
            "plan.check",
            json!({ "plan": plan.summary() }),
        )
        .await?;
        record(
            store.as_ref(),
            "inventory",
            json!({ "losses": inventory.losses.len() }),
        )
        .await?;

        self.step(
            6,
            "Copy everything",
            "`cutover backfill` copies parents first, page by page, saving each page's links \
             with its read position: a crash resumes where it stopped and creates nothing twice.",
        );
        // What the new platform holds before the move (its admin, default groups and fields):
        // verify finds it extra, and rightly so, but the move did not put it there.
        let before = held(target.as_ref(), &plan.copy.kinds).await?;
        let mapping = || Mapping::from_plan(&plan.mapping);
        let options = BackfillOptions {
            kinds: plan.copy.kinds.clone(),
            concurrency: 8,
            dry_run: false,
            progress: self.progress(),
            notifications_off: plan.copy.target_notifications_off,
            allow_unmapped: false,
        };
        let copy_started = Instant::now();
        let report = cutover_engine::backfill(
            Arc::clone(&store),
            Arc::clone(&source),
            Arc::clone(&target),
            mapping(),
            options,
        )
        .await?;
        let copy_seconds = copy_started.elapsed().as_secs_f64();
        if std::io::stderr().is_terminal() {
            print_indented(&report.summary());
        }
        record(
            store.as_ref(),
            "backfill",
            json!({ "written": report.written() }),
        )
        .await?;

        self.step(
            7,
            "Verify record by record",
            "`cutover verify` reads both sides once, puts every record in one form and compares \
             fingerprints: missing, extra, different.",
        );
        let connectors = (&source, &target);
        let (verified, judged) = verify_shown(store.as_ref(), connectors, &plan, &before).await?;
        record(
            store.as_ref(),
            "verify",
            json!({
                "clean": verified.is_clean(),
                "clean_but_documented_losses": judged.is_clean(),
            }),
        )
        .await?;

        // E-mails the copy sent (the live part's customers are answered as each platform
        // answers them).
        let emails = new.emails();

        let sides = Sides {
            store: &store,
            plan: &plan,
            old: (&old, &source),
            new: (&new, &target),
        };
        let live = demo_live::steps(self, 8, &sides).await?;
        record(
            store.as_ref(),
            "demo.live",
            json!({ "problems": live.problems, "drained": live.drained }),
        )
        .await?;

        self.step(
            12,
            "Verify again",
            "the same record-by-record comparison, now with what the bridge carried each way \
             and the ticket the rollback brought back.",
        );
        let (again, _) = verify_shown(store.as_ref(), connectors, &plan, &before).await?;
        record(
            store.as_ref(),
            "verify",
            json!({ "clean": again.is_clean() }),
        )
        .await?;

        self.step(
            13,
            "Prove the audit log",
            "every step above, the switch and the rollback included, landed in an append-only, \
             hash-chained log; `cutover audit verify` recomputes the chain.",
        );
        let n_entries = store.verify_audit().await?;
        println!("   {n_entries} entries, chain whole");

        let dead = dead_letters(&report);
        let copied = Copied {
            report: &report,
            verified: &verified,
            judged: &judged,
            seconds: copy_seconds,
            dead,
            emails,
        };
        summary(args.to.platform(), &copied, &live, again.is_clean());
        println!(
            "The whole demo took {:.0} s.",
            started.elapsed().as_secs_f64()
        );
        drop((source, target));
        old.shutdown().await;
        new.shutdown().await;
        Ok(
            if verified.is_clean() && emails == 0 && live.is_clean() && again.is_clean() {
                Outcome::Clean
            } else {
                Outcome::Findings
            },
        )
    }

    /// Prints a step's title and why it matters; on a terminal without `--headless`, waits for
    /// Enter first.
    pub(super) fn step(&self, number: u32, title: &str, why: &str) {
        if !self.headless && number > 1 && std::io::stdin().is_terminal() {
            println!("\n   (press Enter for the next step)");
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
        }
        println!("\n{number}. {title}: {why}");
    }

    /// Bars on a terminal (or JSON events with `--log-format json`), and one line per finished
    /// kind either way, so a log or a pipe shows the copy progressing too.
    fn progress(&self) -> ProgressSink {
        let bars = crate::progress::sink(self.log_format);
        let terminal = std::io::stderr().is_terminal();
        let printed: Mutex<Vec<RecordKind>> = Mutex::new(Vec::new());
        ProgressSink::new(move |event: &ProgressEvent| {
            bars.report(event);
            if !event.finished || terminal {
                return;
            }
            if let Ok(mut printed) = printed.lock()
                && !printed.contains(&event.kind)
            {
                printed.push(event.kind);
                println!(
                    "   {:>12}: {} read, {} written, {} dead-lettered ({:.0} a second)",
                    event.kind.as_str(),
                    event.done,
                    event.counts.written(),
                    event.counts.dead_lettered,
                    event.rate
                );
            }
        })
    }
}

/// Verifies both sides record by record, prints verify's own summary and what the new side
/// held before the move.
async fn verify_shown(
    store: &dyn Store,
    (source, target): (&Arc<dyn Connector>, &Arc<dyn Connector>),
    plan: &cutover_plan::Plan,
    before: &BTreeSet<(RecordKind, PlatformId)>,
) -> anyhow::Result<(VerifyReport, Judged)> {
    let verified = cutover_engine::verify(
        store,
        source.as_ref(),
        target.as_ref(),
        Mapping::from_plan(&plan.mapping),
        &plan.copy.kinds,
    )
    .await?;
    print_indented(&verified.summary());
    // What the target cannot hold, verify levels and counts itself ("not comparable"): no
    // difference is excused here.
    let judged = Judged::of(&verified, &[], before);
    judged.print(name(plan.new.platform));
    Ok((verified, judged))
}

/// A verification sorted out: the differences that are documented losses (by reason, with the
/// records they touch) and everything else.
struct Judged {
    /// Per documented loss (kind, field, reason): records whose only differences are such.
    documented: BTreeMap<(RecordKind, &'static str, &'static str), u64>,
    /// Extra records of the new side that it held before the move.
    held_before: u64,
    /// Missing, extra and different records not explained by a documented loss.
    unexplained: u64,
}

impl Judged {
    fn of(
        report: &VerifyReport,
        losses: &'static [(RecordKind, &'static str, &'static str)],
        before: &BTreeSet<(RecordKind, PlatformId)>,
    ) -> Self {
        let mut judged = Judged {
            documented: BTreeMap::new(),
            held_before: 0,
            unexplained: 0,
        };
        for (kind, k) in &report.kinds {
            judged.unexplained += k.missing.len() as u64;
            for id in &k.extra {
                if before.contains(&(*kind, id.clone())) {
                    judged.held_before += 1;
                } else {
                    judged.unexplained += 1;
                }
            }
            for different in &k.different {
                let explained: Option<Vec<_>> = different
                    .fields
                    .iter()
                    .map(|f| {
                        losses
                            .iter()
                            .find(|(k, prefix, _)| k == kind && f.pointer.starts_with(prefix))
                    })
                    .collect();
                match explained {
                    Some(found) if !found.is_empty() => {
                        let mut seen = Vec::new();
                        for loss in found {
                            if !seen.contains(&loss) {
                                seen.push(loss);
                                *judged.documented.entry(*loss).or_default() += 1;
                            }
                        }
                    }
                    _ => judged.unexplained += 1,
                }
            }
        }
        judged
    }

    /// Clean apart from documented losses.
    fn is_clean(&self) -> bool {
        self.unexplained == 0
    }

    fn print(&self, to: &str) {
        if self.held_before > 0 {
            println!(
                "   The {} extra record(s) were on {to} before the move (its admin, default \
                 groups and fields): the move did not create them.",
                self.held_before
            );
        }
        if self.documented.is_empty() {
            return;
        }
        println!(
            "   Of these differences, these are what {to} cannot hold as Zendesk does (not \
             counted against the move):"
        );
        for ((kind, pointer, reason), records) in &self.documented {
            println!("   - {kind} {pointer} ({records} records): {reason}");
        }
        if self.unexplained == 0 {
            println!("   Nothing else differs.");
        } else {
            println!(
                "   {} other record(s) differ, are missing or extra: these count.",
                self.unexplained
            );
        }
    }
}

/// What the copy came to, for the summary.
struct Copied<'a> {
    report: &'a BackfillReport,
    verified: &'a VerifyReport,
    judged: &'a Judged,
    /// How long the copy took.
    seconds: f64,
    /// Records left in the dead letters.
    dead: u64,
    /// E-mails the new platform sent customers during the copy.
    emails: usize,
}

/// What a newcomer should take away, in plain words.
fn summary(platform: PlatformKind, copied: &Copied<'_>, live: &LiveReport, clean_again: bool) {
    let Copied {
        report,
        verified,
        judged,
        seconds,
        dead,
        emails,
    } = copied;
    let tickets = report.counts(RecordKind::Ticket);
    // Comments travel with their ticket; verify counts them on the new side.
    let comments = verified
        .kinds
        .get(&RecordKind::Comment)
        .map_or(0, |k| k.new);
    let to = name(platform);
    let history = match platform {
        PlatformKind::Zendesk => "with their original times and authors",
        _ => {
            "their history as private notes, the original times and authors kept in custom \
             fields and in a header line of each note"
        }
    };
    println!("\nWhat happened:");
    println!(
        "   - {} records were written to the new platform in {seconds:.0} s, among them {} tickets \
         carrying {comments} comments, {history}.",
        report.written(),
        tickets.written()
    );
    let matched: u64 = verified.kinds.values().map(|k| k.matched).sum();
    if verified.is_clean() {
        println!(
            "   - Verification compared both platforms record by record: all {matched} records \
             match."
        );
    } else if judged.is_clean() {
        let touched: u64 = verified
            .kinds
            .values()
            .map(|k| k.different.len() as u64)
            .sum();
        println!(
            "   - Verification compared both platforms record by record: {matched} records \
             match exactly, and {touched} differ only by what {to} cannot hold as Zendesk does \
             (the documented losses listed above)."
        );
    } else {
        println!(
            "   - Verification found differences (listed above): on a real move, fix the plan \
             or retry the dead letters, then verify again."
        );
    }
    if *dead == 0 {
        println!("   - No record was left behind in the dead letters.");
    } else {
        println!(
            "   - {dead} record(s) could not be copied and wait in the dead letters with their \
             reason (`cutover deadletters list`)."
        );
    }
    let how = match platform {
        PlatformKind::Zendesk => "History goes in through the import API, which notifies no one.",
        _ => {
            "History goes in as private notes, which e-mail no one, and the new-ticket \
             acknowledgement was switched off first."
        }
    };
    println!("   - Customers e-mailed by the move: {emails}. {how}");
    live_summary(live, clean_again);
    println!(
        "Run it again and nothing is copied twice; kill it halfway and it resumes.\n\
         This version has more than the demo shows: the gateway that takes e-mail, web forms, \
         WhatsApp, chat and calls and routes each by its wave (`cutover serve`), the gates and \
         sign-offs a wave waits for (`cutover gates`, `cutover go`), and the KPI monitor with \
         its alerts (`cutover kpi`, `cutover alerts`)."
    );
}

/// The live part's lines of the summary.
fn live_summary(live: &LiveReport, clean_again: bool) {
    let seconds =
        |s: Option<f64>| s.map_or_else(|| "not at all".to_owned(), |s| format!("in {s:.1} s"));
    println!(
        "   - The bridge carried a new ticket each way while both sides were live: old to new \
         {}, new to old {}.",
        seconds(live.old_to_new),
        seconds(live.new_to_old)
    );
    match (live.flip_ms, &live.taken) {
        (Some(flip_ms), Some((new_id, old_id))) => println!(
            "   - Wave 1 went to the new side and came back: the rollback flipped routing in \
             {flip_ms} ms, and ticket {new_id}, taken by the new side during the wave, is on the \
             old side as ticket {old_id}."
        ),
        _ => println!("   - Wave 1 did not go to the new side and back cleanly (see above)."),
    }
    for problem in &live.problems {
        println!("     problem: {problem}");
    }
    if live.drained && clean_again {
        println!(
            "   - The bridge drained, and a second verification found both sides holding the \
             same records."
        );
    } else {
        println!("   - The bridge did not drain, or the second verification found differences.");
    }
}

/// Every record of `kinds` the platform lists (not those read per ticket), by kind and id.
async fn held(
    connector: &dyn Connector,
    kinds: &[RecordKind],
) -> anyhow::Result<BTreeSet<(RecordKind, PlatformId)>> {
    let caps = connector.capabilities();
    let mut held = BTreeSet::new();
    for kind in kinds
        .iter()
        .filter(|k| caps.can_read(**k) && !caps.read_per_ticket.contains(k))
    {
        let mut position = ReadPosition::start();
        loop {
            let page = connector.read_page(*kind, &position).await?;
            held.extend(page.items.into_iter().map(|o| (*kind, o.id)));
            match page.next {
                Some(next) if !page.done && next != position => position = next,
                _ => break,
            }
        }
    }
    Ok(held)
}

/// The inventory, indented under its step.
fn print_inventory(inventory: &Inventory) {
    println!("   Records on the old side:");
    for (kind, count) in &inventory.counts {
        println!("     {:<14} {count:>7}", kind.as_str());
    }
    println!(
        "   What cannot be carried to {} as it is ({}):",
        name(inventory.to),
        inventory.losses.len()
    );
    for loss in &inventory.losses {
        println!("   - {}: {}", loss.what, loss.detail);
    }
}

fn dead_letters(report: &BackfillReport) -> u64 {
    report.kinds.values().map(|c| c.dead_lettered).sum()
}

fn print_indented(text: &str) {
    for line in text.lines() {
        println!("   {line}");
    }
}

async fn record(store: &dyn Store, action: &str, detail: serde_json::Value) -> anyhow::Result<()> {
    store
        .append_audit(&NewAuditEntry::new("cutover-demo", action, detail))
        .await
        .with_context(|| format!("record {action} in the audit log"))?;
    Ok(())
}
