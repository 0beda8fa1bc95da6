//! The command line: global options and one module per subcommand.

mod alerts;
mod audit;
mod backfill;
mod bench;
mod bench_backfill;
mod bench_cost;
mod bench_gateway;
mod bench_kpi;
mod bench_sync;
mod channel;
mod cleanup;
mod conflicts;
mod deadletters;
mod demo;
mod demo_live;
mod doctor;
mod drill;
mod go;
mod init;
mod inventory;
mod kpi;
mod live;
mod plan;
mod rehearsal;
mod report;
mod report_html;
mod serve;
mod sim;
mod sync;
mod sync_hooks;
mod token;
mod verify;
mod verify_html;
mod wave;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::context::Context;
use crate::exit::Outcome;

/// Move customer service from one helpdesk platform to another without downtime.
///
/// cutover copies every record from the old platform to the new one and proves it, record by
/// record, while both stay live; it bridges them both ways, switches the plan's waves and rolls
/// them back; it watches service KPIs against their baseline and acts on the plan's alerts.
///
/// A move starts with a plan: `cutover init --from zendesk --to freshdesk --old-url … --new-url
/// …` reads both accounts and writes a commented `cutover.toml` from them; `cutover plan check`
/// explains every mistake in it, `cutover doctor` checks the credentials' rights, `cutover
/// inventory` names every gap before anything moves.
/// `cutover demo` shows the journey on this machine, against emulated platforms.
#[derive(Debug, Parser)]
#[command(
    name = "cutover",
    version,
    propagate_version = true,
    max_term_width = 100
)]
#[command(
    after_help = "Exit codes: 0 done and clean, 1 findings (plan errors, differences, values without a mapping), \
2 bad command line, 3 configuration, 4 store, 5 platform, 70 internal.\n\
Credentials come from the environment variables the plan names, never from the plan itself."
)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// The plan file every command reads.
    #[arg(
        long,
        global = true,
        hide_env_values = true,
        env = "CUTOVER_PLAN",
        default_value = "cutover.toml"
    )]
    pub plan: PathBuf,

    /// Where cutover keeps its state: links, cursors, dead letters, the audit log.
    ///
    /// `sqlite://PATH` (embedded, the default) or `postgres://USER@HOST/DB` for teams and
    /// several workers. A password in the URL is never logged.
    #[arg(
        long,
        global = true,
        hide_env_values = true,
        env = "CUTOVER_STORE",
        default_value = "sqlite://cutover.db"
    )]
    pub store: String,

    /// How logs are written to standard error: `text` for people, `json` for machines.
    #[arg(long, global = true, hide_env_values = true, env = "CUTOVER_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Which log lines to show, e.g. `info`, `debug`, `cutover_store=debug` (RUST_LOG syntax).
    #[arg(long, global = true, hide_env_values = true, env = "CUTOVER_LOG")]
    pub log_level: Option<String>,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Readable lines, coloured on a terminal.
    Text,
    /// One JSON object per line.
    Json,
}

/// The subcommands, in the order of a migration.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented plan file for a move, from both accounts as they are.
    ///
    /// With both accounts' URLs and the credentials the plan names set in the environment
    /// (`CUTOVER_OLD_EMAIL`, `CUTOVER_OLD_TOKEN`, `CUTOVER_NEW_TOKEN`; `CUTOVER_NEW_EMAIL` too
    /// into Zendesk), it reads both accounts (discovery: statuses, priorities, roles, groups,
    /// agents, custom fields, brands, support addresses; the old account's tickets once, to
    /// count what uses each value) and writes the mapping tables from them: a value the new
    /// account has under the same name is mapped, every other one gets an open line with its
    /// choices and what it holds back. The snapshot of both accounts goes beside the plan
    /// (`cutover.accounts.json`) for `plan check`. Without the credentials, or with
    /// `--offline`, it writes the template and says why. The plan also holds the waves, gates,
    /// alerts, people and notices; `--backfill-only` leaves them out, for a move that only
    /// copies and verifies.
    ///
    /// Example: cutover init --from zendesk --to freshdesk --old-url https://acme.zendesk.com
    /// --new-url https://acme.freshdesk.com
    Init(init::InitArgs),
    /// Check that the plan's credentials can do what the move needs, before anything moves.
    ///
    /// Reads who each side's credentials belong to and their role (Zendesk `users/me`,
    /// Freshdesk `agents/me` and its roles), and the first page of every kind the plan copies on
    /// the old side, then lists everything missing at once, each with what to do: a variable
    /// not set, credentials refused, a kind that cannot be read, a role without the rights for
    /// what cutover creates (ticket fields, agents and imports take an admin on the new side;
    /// Zendesk's exports take one on the old side). Nothing is written on either platform; the
    /// old side is only read. Exits 0 when nothing is missing, 1 otherwise.
    ///
    /// Example: cutover doctor --json
    Doctor(doctor::DoctorArgs),
    /// Work with the plan file: check it, or refresh it from the accounts.
    #[command(subcommand)]
    Plan(plan::PlanCommand),
    /// Count what the old platform holds and name what cannot be carried to the new one.
    ///
    /// Reads every kind the plan's `[copy]` names on the old platform once and counts it
    /// (comments, attachments and their bytes on an even sample of at most 200 tickets, scaled
    /// to all), says how long the backfill will take at the plan's `requests_per_minute` and
    /// `share` on each side (requests per ticket from the cost model, docs/cost.md), then
    /// lists what the new platform cannot hold as it is (original times and authors it cannot
    /// backdate, channels and ticket types it cannot write, kinds it cannot create, files over
    /// its size cap), what the plan drops on purpose, and every value of the old account the
    /// plan does not decide yet, with what it holds back and the line to add. Nothing is
    /// written anywhere; the new platform is read only for its values, when its credentials are
    /// set.
    ///
    /// Example: cutover inventory --json
    Inventory(inventory::InventoryArgs),
    /// Copy all history from the old platform to the new one, resumable after any crash.
    ///
    /// Copies every kind the plan's `[copy]` names, parents first (organizations, contacts,
    /// groups, roles, agents, fields, then tickets with their comments and attachments), page by
    /// page. Each page's links and its read position are saved together, so a run interrupted
    /// at any point resumes where it stopped, and nothing is created twice: before creating,
    /// cutover looks for the copy it may have made already. It refuses to start while the old
    /// account holds a value the plan does not decide (exit code 1, the list printed, nothing
    /// written; `--allow-unmapped` goes on anyway). Records that cannot be copied (a platform's
    /// refusal) go to the dead letters and the run goes on. A second run after a complete one
    /// is a catch-up: it reads on from where that one ended and copies only what changed on
    /// the old side since (new records created, changed ones updated through their links,
    /// nothing twice). Without the bridge, a last run at the switch moves what changed.
    ///
    /// Example: cutover backfill --dry-run
    Backfill(backfill::BackfillArgs),
    /// The two-way bridge while both platforms are live: its status, drain, and its hooks.
    ///
    /// `cutover sync status` and `cutover sync drain` show and wait for what `cutover serve`
    /// carries. `cutover sync setup --endpoint URL` registers the webhooks (Zendesk: a signing webhook
    /// and the triggers that call it; Freshdesk: automation rules with a webhook action carrying
    /// a secret header) that tell the bridge of changes as they happen; `cutover sync teardown`
    /// removes exactly what setup made.
    ///
    /// Example: cutover sync setup --endpoint https://cutover.acme.com
    #[command(subcommand)]
    Sync(sync::SyncCommand),
    /// Prove every record: compare both platforms record by record.
    ///
    /// Reads both platforms once, puts every record in one form (the new platform's values,
    /// the old platform's ids) and reports what is missing on the new side, what is extra there,
    /// and what differs, field by field. Exits 0 when both sides match, 1 when they differ. The
    /// outcome is kept for the waves' `verify_clean` gate (`cutover gates`).
    ///
    /// Example: cutover verify --html verify.html
    Verify(verify::VerifyArgs),
    /// Undo a move: delete from one platform exactly what cutover created there.
    ///
    /// What to delete is the store's ledger of records cutover *created* on that platform
    /// (tickets with their comments and files, contacts, organizations, agents, groups, roles,
    /// fields, rules), noted as each was linked. Records that were there before the move and
    /// that cutover found and linked (a group or agent matched by name or e-mail) are never
    /// touched. Rules go first, then tickets, people and organizations, groups and fields last.
    /// A comment the bridge added to a ticket that was there before is deleted (Freshdesk) or
    /// redacted (Zendesk, whose API deletes no comment). What the platform's API cannot delete
    /// (Freshdesk's canned responses and SLA policies) is listed as left, to delete by hand.
    /// Each deleted record is forgotten in the store at once (with its link), so a cleanup cut
    /// short goes on where it stopped when run again; the start and the end are in the audit
    /// log. A delete the platform refuses goes to the dead letters with its reason and the run
    /// goes on (exit code 1); run the command again to retry. Tickets go to the platform's
    /// trash, restorable there for 30 days. Once done, the backfill's positions are cleared,
    /// so a later `cutover backfill` copies everything again.
    ///
    /// `--side old` removes what the bridge created on the old platform (tickets and people
    /// that began on the new one). Asks before deleting; `--yes` to skip the question.
    ///
    /// Example: cutover cleanup --side new --dry-run
    Cleanup(cleanup::CleanupArgs),
    /// The one long-running process: the two-way bridge with its webhook intake, `/healthz`,
    /// `/metrics` and the control-plane API under `/api/v1/` (bearer tokens from `cutover token
    /// create`; routes and roles in `/api/v1/openapi.json`). Stops on Ctrl-C or SIGTERM.
    Serve(serve::ServeArgs),
    /// Sign off a wave's gates as a person the plan names, and see what is still missing.
    ///
    /// PERSON is an id in the plan's `[people]` with the operator role or higher, and one the
    /// wave's `gates.sign_off` names. The gates are evaluated (the last verification clean and
    /// made with this plan, the bridge's sync lag under the limit, a rollback drill passed with
    /// this plan, the KPIs, the sign-offs), the sign-off and the evaluation are recorded in the
    /// audit log, and the report says what is missing before `cutover wave start`. A sign-off
    /// counts for this version of the plan until the wave next changes phase. Exits 0 when the
    /// wave is ready, 1 when something is still missing (the sign-off is recorded either way).
    ///
    /// Example: cutover go --wave 1 --as ops-lead
    Go(go::GoArgs),
    /// Show each wave's phase and whether its gates hold: every criterion with its values, the
    /// sign-offs, and the next command for what is missing (the same as `cutover wave status`).
    ///
    /// Example: cutover gates pilot --json
    Gates(wave::GatesArgs),
    /// Work with the waves: switch one to the new platform (`start`), see where each stands
    /// (`status`), hold one where it is (`pause`, `resume`).
    #[command(subcommand)]
    Wave(wave::WaveCommand),
    /// Switch a channel to its backup (the side its `backup` in the plan names) and back, as
    /// the alerts' `backup_channel` action does.
    #[command(subcommand)]
    Channel(channel::ChannelCommand),
    /// Roll a switched wave back to the old platform, in seconds, with nothing lost.
    ///
    /// Routing goes back to the old side at once (within a second of the command; the time is
    /// printed), then the running `cutover serve` puts the wave's agents and rules back from
    /// the switch's journal and drains the reverse bridge (new to old). The report lists every
    /// contact the new side took during the wave, each with its link and a read of its copy on
    /// the old side. Exits 0 when the reverse bridge drained and every contact is on the old
    /// side, 1 otherwise. Without a wave: the one switched last.
    ///
    /// Example: cutover rollback 2 --as alice --json
    Rollback(wave::RollbackArgs),
    /// Rehearse a rollback with this plan, against emulators on this machine, and record it
    /// for the `rollback_drill` gate.
    ///
    /// Starts two emulators shaped like the plan's platforms, copies a sample into them, runs
    /// the bridge and the switch driver as `cutover serve` does (on a store of its own, in a
    /// temporary folder), starts the plan's wave (`--wave`, the first by default) with the
    /// plan's `switch_timeout`, opens a ticket on the new side while the wave is there, rolls the
    /// wave back, and checks that routing flipped back within a second and that the ticket is
    /// on the old side. The record (passed or not, the flip and drain times, what failed) goes
    /// into this plan's store with the plan file's digest and an audit entry: the
    /// `rollback_drill` gate counts it for this plan only. No real platform is contacted. A
    /// Zendesk side adds a minute (its export's last minute). Exits 0 when it passed.
    ///
    /// Example: cutover drill --wave pilot
    Drill(drill::DrillArgs),
    /// Work with the dead letters: records that could not be copied, kept with the reason.
    #[command(subcommand)]
    Deadletters(deadletters::DeadLettersCommand),
    /// See the conflicts the bridge resolved: fields changed on both sides since the last
    /// sync, each with both values, the rule that decided and the winner.
    #[command(subcommand)]
    Conflicts(conflicts::ConflictsCommand),
    /// The continuity monitor's KPIs over the last hour, per side, against the baseline of the
    /// same hour of the week, with sample sizes; `kpi explain NAME` prints a definition.
    ///
    /// The KPIs are computed one way for both platforms from what the backfill and the bridge
    /// read of each ticket. A comparison with too few samples is "inconclusive", never a pass.
    ///
    /// Example: cutover kpi --json
    Kpi(kpi::KpiArgs),
    /// The baseline: each KPI's hour-of-week profile over the last weeks (the plan's
    /// `[baseline] weeks`, default 4), with its spread and sample sizes.
    ///
    /// Example: cutover baseline --side old --json
    Baseline(kpi::BaselineArgs),
    /// Write the review of a window: KPIs against the baseline, alerts, actions, decisions,
    /// conflicts, dead letters, and when to switch (heatmaps, quiet windows, staffing).
    ///
    /// Writes `report-LENGTH.html` (inline SVG charts, no script, nothing fetched) and
    /// `report-LENGTH.json` into the current folder (`--out DIR` elsewhere); `--json` prints
    /// the JSON instead. The 72-hour, two-week and one-month reviews the plan's `[review]`
    /// schedules from the end of the last wave are listed by `--due`, and `cutover serve`
    /// writes each into `reviews/` beside the plan when it falls due.
    ///
    /// Example: cutover report --window 2w --out reports
    Report(report::ReportArgs),
    /// The continuity monitor's alerts, current and recent, with their evidence.
    ///
    /// The leading `cutover serve` compares each KPI of the last hour with its baseline per
    /// the plan's [[alerts]] (without any: 10 % worse on any KPI notifies everyone in [people];
    /// wait time 50 % worse pauses the running wave) every `[monitor] every`. An alert is
    /// raised once a breach lasts `sustained`, clears once the KPI stays under half the
    /// threshold as long, and too little data is "inconclusive", paged, never a pass. Each
    /// change is in the audit log (alert.raised, alert.cleared, alert.inconclusive, action.*).
    ///
    /// Example: cutover alerts --json
    Alerts(alerts::AlertsArgs),
    /// Work with the audit log: verify its hash chain.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Make, list and revoke the bearer tokens of the control-plane API (`/api/v1/` on
    /// `cutover serve`), each with a role: viewer, operator or admin.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Run the whole journey on this machine, against emulated platforms.
    ///
    /// Starts an emulated old Zendesk with generated data (2,000 tickets by default) and an
    /// empty new Freshdesk (`--to zendesk`: another Zendesk account), writes a plan into a
    /// temporary folder, checks it, lists what cannot be carried, copies everything with
    /// progress and verifies record by record. Then the live part, with the runtime code
    /// `cutover serve` runs: the two-way bridge carries a ticket opened on each side to the
    /// other (the lag printed); wave 1 is switched to the new side (without its gates and
    /// sign-off, which a real move needs: `cutover go --wave 1 --as NAME`); a ticket is taken
    /// there; the wave is rolled back (how fast routing flipped, and the ticket shown on the old
    /// side); the bridge is drained and verification runs again. Last, the audit log's chain
    /// is checked and the demo sums up, explaining each step. The emulators' rate limits are
    /// raised, so 2,000 tickets are copied and verified in about a minute in a release build on
    /// two cores, and the emulated Zendesk's exports hold back a second rather than a minute,
    /// so the live part takes seconds (`--tickets 20`: the whole demo in about 15 s, even in
    /// a debug build). Nothing outside the
    /// temporary folder is touched and no real platform is contacted. `--headless` never
    /// pauses and exits 0 only if both verifications are clean (apart from Freshdesk's
    /// documented losses, each listed with its reason), the copy e-mailed no customer, and
    /// every live step held.
    ///
    /// Example: cutover demo --headless --tickets 500
    Demo(demo::DemoArgs),
    /// Run a platform emulator on this machine, for rehearsals, tests and demos.
    ///
    /// The emulators speak the platforms' real APIs over HTTP (or HTTPS), with generated data,
    /// rate limits, webhooks, the e-mails the platform would send, and faults you can switch on.
    /// Point a plan's `url` at one to rehearse a move without touching a real account.
    ///
    /// Example: cutover sim zendesk --listen 127.0.0.1:8081 --tickets 500
    #[command(subcommand)]
    Sim(sim::SimCommand),
    /// Measure parts of cutover on this machine; each benchmark prints one JSON object.
    ///
    /// Run them from a release build: debug builds are many times slower.
    ///
    /// Example: cargo run --release -p cutover -- bench sim --tickets 100000
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

/// Runs one command.
pub async fn dispatch(cli: Cli) -> anyhow::Result<Outcome> {
    let ctx = Context::new(&cli.global)?;
    match cli.command {
        Command::Init(args) => init::run(args).await,
        Command::Plan(command) => plan::run(&ctx, command).await,
        Command::Doctor(args) => doctor::run(&ctx, args).await,
        Command::Inventory(args) => inventory::run(&ctx, args).await,
        Command::Backfill(args) => backfill::run(&ctx, args).await,
        Command::Verify(args) => verify::run(&ctx, args).await,
        Command::Cleanup(args) => cleanup::run(&ctx, args).await,
        Command::Serve(args) => serve::run(&ctx, args).await,
        Command::Sync(command) => sync::run(&ctx, command).await,
        Command::Go(args) => go::run(&ctx, args).await,
        Command::Gates(args) => wave::gates(&ctx, args).await,
        Command::Wave(command) => wave::run(&ctx, command).await,
        Command::Channel(command) => channel::run(&ctx, command).await,
        Command::Rollback(args) => wave::rollback(&ctx, args).await,
        Command::Drill(args) => drill::run(&ctx, args).await,
        Command::Deadletters(command) => deadletters::run(&ctx, command).await,
        Command::Conflicts(command) => conflicts::run(&ctx, command).await,
        Command::Alerts(args) => alerts::run(&ctx, args).await,
        Command::Audit(command) => audit::run(&ctx, command).await,
        Command::Report(args) => report::run(&ctx, args).await,
        Command::Kpi(args) => kpi::run(&ctx, args).await,
        Command::Baseline(args) => kpi::baseline(&ctx, args).await,
        Command::Token(command) => token::run(&ctx, command).await,
        Command::Demo(args) => demo::run(&ctx, args).await,
        Command::Sim(command) => sim::run(command, &cli.global.plan).await,
        Command::Bench(command) => bench::run(command).await,
    }
}
