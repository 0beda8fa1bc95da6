//! `cutover sim freshdesk`: serve the Freshdesk API v2 emulator until Ctrl-C.

use std::path::Path;

use clap::{Args, ValueEnum};
use cutover_sim::freshdesk::{FreshdeskOptions, FreshdeskSim, Plan};

use crate::exit::{Class, Outcome, fail};

/// Options of `cutover sim freshdesk`.
#[derive(Debug, Args)]
pub struct FreshdeskArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8082")]
    pub listen: String,
    /// Seed of the data generator: the same seed gives the same data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Tickets to generate at start, with their contacts, companies, conversations and ratings;
    /// 0 is an account a team has started to set up.
    #[arg(long, default_value_t = 50)]
    pub tickets: usize,
    /// What the generated account looks like: `realistic` holds what a real account does
    /// (custom roles, statuses, groups and fields named the organisation's way, agents who
    /// left, inactive rules, several products); `plain` is the template-like account.
    #[arg(long, value_enum, default_value_t = super::ProfileArg::Realistic)]
    pub profile: super::ProfileArg,
    /// The API key the emulator accepts as the basic-auth user name (any password, e.g. `X`).
    #[arg(long, default_value = "sim-key")]
    pub api_key: String,
    /// The Freshdesk plan whose per-minute budgets apply: the account's and those of ticket
    /// create, ticket update, tickets list and contacts list [default: enterprise].
    ///
    /// `--plan growth|pro|enterprise` says the same: on this command the global `--plan` is
    /// read as the account plan, since an emulator reads no plan file.
    #[arg(long, value_enum)]
    pub account_plan: Option<PlanArg>,
    /// Account requests per minute instead of the plan's; 0 turns every limit off.
    #[arg(long, value_name = "RPM")]
    pub rate_limit: Option<u32>,
    /// Serve HTTPS with a generated certificate (valid for *.freshdesk.com, localhost and
    /// 127.0.0.1), written to FILE in PEM so clients can trust it.
    #[arg(long, value_name = "FILE")]
    pub tls_cert_out: Option<std::path::PathBuf>,
    /// Faults switched on from the start: the JSON body of `PUT /_sim/faults` (see
    /// crates/sim/README.md), inline or as @FILE. Change them at run time through `/_sim/faults`.
    #[arg(long, value_name = "JSON|@FILE")]
    pub faults: Option<String>,
}

/// Freshdesk plans, as the command line names them.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PlanArg {
    /// 200 requests a minute (ticket create 80, update 80, tickets list 20, contacts list 20).
    Growth,
    /// 400 a minute (160, 160, 100, 100).
    Pro,
    /// 700 a minute (280, 280, 200, 200).
    Enterprise,
}

impl From<PlanArg> for Plan {
    fn from(p: PlanArg) -> Self {
        match p {
            PlanArg::Growth => Self::Growth,
            PlanArg::Pro => Self::Pro,
            PlanArg::Enterprise => Self::Enterprise,
        }
    }
}

/// The account plan: `--account-plan`, else the global `--plan` when it names one (`cutover sim
/// freshdesk --plan pro`), else enterprise. A plan-file path in `--plan` (its default, or
/// `CUTOVER_PLAN`) is not about this command and is ignored.
fn account_plan(args: &FreshdeskArgs, global_plan: &Path) -> anyhow::Result<PlanArg> {
    if let Some(plan) = args.account_plan {
        return Ok(plan);
    }
    let text = global_plan.to_string_lossy();
    if let Ok(plan) = PlanArg::from_str(&text, true) {
        return Ok(plan);
    }
    let is_a_file = global_plan.extension().is_some() || global_plan.components().count() > 1;
    if is_a_file {
        return Ok(PlanArg::Enterprise);
    }
    Err(fail(
        Class::Config,
        format!(
            "--plan {text}: on `cutover sim freshdesk`, --plan names the Freshdesk account plan: \
             growth, pro or enterprise"
        ),
    ))
}

/// Serves until Ctrl-C, printing the base URL on standard output.
pub(crate) async fn run(args: FreshdeskArgs, global_plan: &Path) -> anyhow::Result<Outcome> {
    let plan = account_plan(&args, global_plan)?;
    let faults = super::parse_faults(args.faults.as_deref())?;
    let opts = FreshdeskOptions {
        faults,
        seed: args.seed,
        tickets: args.tickets,
        profile: args.profile.into(),
        api_key: args.api_key,
        plan: plan.into(),
        rate_limit_rpm: args.rate_limit,
        tls_cert_out: args.tls_cert_out,
        ..FreshdeskOptions::default()
    };
    let handle = FreshdeskSim::spawn(opts, &args.listen).await;
    super::serve_until_ctrl_c(handle, "Freshdesk", &args.listen).await
}
