//! `cutover sim`: run a platform emulator from the command line.

use clap::{Args, Subcommand, ValueEnum};
use cutover_sim::AccountProfile;
use cutover_sim::faults::FaultConfig;
use cutover_sim::zendesk::{ZendeskOptions, ZendeskSim};

use crate::exit::{Class, Outcome, fail};

mod freshdesk;
mod traffic;

/// Platform emulators, for rehearsals, tests and demos on this machine.
#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Serve an emulated Zendesk Support API (v2) until stopped with Ctrl-C.
    ///
    /// A faithful, stateful emulator over real HTTP: the endpoints, JSON shapes, errors,
    /// pagination, incremental exports, rate limits, webhooks and notifications of Zendesk,
    /// with generated data. Controls live under `/_sim/` (state, reset, clock, faults,
    /// notifications): see crates/sim/README.md. It prints its base URL on standard output.
    ///
    /// Example: cutover sim zendesk --listen 127.0.0.1:8081 --tickets 500 --seed 7
    Zendesk(ZendeskArgs),
    /// Serve an emulated Freshdesk API (v2) until stopped with Ctrl-C.
    ///
    /// A faithful, stateful emulator over real HTTP: the endpoints, JSON shapes (bare arrays),
    /// validation errors, `Link` pagination, per-plan rate limits with per-endpoint budgets,
    /// automation-rule webhooks and customer e-mails of Freshdesk, with generated data.
    /// Authenticate with the API key as the basic-auth user and `X` as the password. Controls
    /// live under `/_sim/`: see crates/sim/README.md. It prints its base URL on standard output.
    ///
    /// Example: cutover sim freshdesk --listen 127.0.0.1:8082 --account-plan growth --tickets 500
    Freshdesk(freshdesk::FreshdeskArgs),
    /// Play customers and agents on one or both platforms, with a ledger of every action.
    ///
    /// Customers open tickets by e-mail, web form, chat, WhatsApp and phone and write back;
    /// agents answer with realistic first-response and resolution times, reassign, escalate,
    /// solve and close; customers rate solved tickets 1-5 and sometimes reopen them. Volume
    /// follows a daily and weekly curve scaled to --rate; everything follows from --seed.
    /// Delays run on a simulated clock that --speed maps to real time. The ledger (JSON lines)
    /// holds every action with the platform's answer: the oracle of what must exist on each
    /// side. Either side may be omitted. It prints a JSON summary when it stops.
    ///
    /// Example: cutover sim traffic --old http://127.0.0.1:8081 --new http://127.0.0.1:8082
    /// --new-kind freshdesk --rate 120 --speed 60 --duration 2h --ledger traffic.jsonl
    Traffic(traffic::TrafficArgs),
}

/// Options of `cutover sim zendesk`.
#[derive(Debug, Args)]
pub struct ZendeskArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub listen: String,
    /// Seed of the data generator: the same seed gives the same data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Tickets to generate at start, with their users, organisations, comments and ratings;
    /// 0 is an account a team has started to set up.
    #[arg(long, default_value_t = 50)]
    pub tickets: usize,
    /// What the generated account looks like: `realistic` holds what a real account does
    /// (custom roles, statuses, groups and fields named the organisation's way, agents who
    /// left, inactive rules, several brands); `plain` is the template-like account.
    #[arg(long, value_enum, default_value_t = ProfileArg::Realistic)]
    pub profile: ProfileArg,
    /// The API token the emulator accepts (as `EMAIL/token:TOKEN` or `Bearer TOKEN`).
    #[arg(long, default_value = "sim-token")]
    pub token: String,
    /// The admin's e-mail, the user the token belongs to.
    #[arg(long, default_value = "admin@example.com")]
    pub email: String,
    /// Requests per minute for the account (Zendesk Enterprise: 700); 0 turns the limit off.
    #[arg(long, default_value_t = 700)]
    pub rate_limit: u32,
    /// Serve HTTPS with a generated certificate (valid for *.zendesk.com, localhost and
    /// 127.0.0.1), written to FILE in PEM so clients can trust it.
    #[arg(long, value_name = "FILE")]
    pub tls_cert_out: Option<std::path::PathBuf>,
    /// Faults switched on from the start: the JSON body of `PUT /_sim/faults` (see
    /// crates/sim/README.md), inline or as @FILE. Change them at run time through `/_sim/faults`.
    ///
    /// Example: --faults '{"error_rate": 0.05, "latency": {"distribution": "exponential", "mean_ms": 40}}'
    #[arg(long, value_name = "JSON|@FILE")]
    pub faults: Option<String>,
}

/// Account profiles, as the command line names them.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ProfileArg {
    /// What a real account holds (the default).
    Realistic,
    /// The template-like account.
    Plain,
}

impl From<ProfileArg> for AccountProfile {
    fn from(p: ProfileArg) -> Self {
        match p {
            ProfileArg::Realistic => Self::Realistic,
            ProfileArg::Plain => Self::Plain,
        }
    }
}

/// Reads `--faults`: inline JSON, or `@FILE` holding it.
pub(crate) fn parse_faults(value: Option<&str>) -> anyhow::Result<FaultConfig> {
    let Some(value) = value else {
        return Ok(FaultConfig::default());
    };
    let (text, origin) = match value.strip_prefix('@') {
        Some(path) => (
            std::fs::read_to_string(path)
                .map_err(|e| fail(Class::Config, format!("--faults: read {path}: {e}")))?,
            path.to_owned(),
        ),
        None => (value.to_owned(), "the command line".to_owned()),
    };
    serde_json::from_str(&text).map_err(|e| {
        fail(
            Class::Config,
            format!("--faults ({origin}): not a fault body: {e}; see crates/sim/README.md"),
        )
    })
}

/// Runs a `sim` subcommand until Ctrl-C.
pub(crate) async fn run(
    command: SimCommand,
    global_plan: &std::path::Path,
) -> anyhow::Result<Outcome> {
    match command {
        SimCommand::Traffic(args) => traffic::run(args).await,
        SimCommand::Freshdesk(args) => freshdesk::run(args, global_plan).await,
        SimCommand::Zendesk(args) => {
            let faults = parse_faults(args.faults.as_deref())?;
            let opts = ZendeskOptions {
                faults,
                seed: args.seed,
                tickets: args.tickets,
                profile: args.profile.into(),
                token: args.token,
                email: args.email,
                rate_limit_rpm: Some(args.rate_limit),
                tls_cert_out: args.tls_cert_out,
                ..ZendeskOptions::default()
            };
            let handle = ZendeskSim::spawn(opts, &args.listen).await;
            serve_until_ctrl_c(handle, "Zendesk", &args.listen).await
        }
    }
}

/// Prints a started emulator's base URL, serves until Ctrl-C, then stops it gracefully.
pub(crate) async fn serve_until_ctrl_c<A, E: std::fmt::Display>(
    started: Result<cutover_sim::SimHandle<A>, E>,
    platform: &str,
    listen: &str,
) -> anyhow::Result<Outcome> {
    let handle = started.map_err(|e| {
        fail(
            Class::Config,
            format!("start the {platform} emulator on {listen}: {e}"),
        )
    })?;
    println!("{}", handle.url());
    tracing::info!(
        url = handle.url(),
        "{platform} emulator serving; Ctrl-C stops it."
    );
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| fail(Class::Internal, format!("wait for Ctrl-C: {e}")))?;
    handle.shutdown().await.map_err(|e| {
        fail(
            Class::Internal,
            format!("stop the {platform} emulator: {e}"),
        )
    })?;
    Ok(Outcome::Clean)
}
