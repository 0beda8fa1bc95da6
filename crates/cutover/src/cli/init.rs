//! `cutover init`: write a commented plan file from both accounts as they are.
//!
//! With both accounts' URLs and the credentials the plan names set in the environment, it reads
//! both accounts through the connectors (discovery: their statuses, roles, groups, fields and
//! agents, the old one's tickets counted once) and writes the mapping tables from them, with a
//! snapshot of the accounts beside the plan that `plan check` validates names against. Without
//! them, or with `--offline`, it writes the template and says why discovery was skipped.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;
use cutover_model::accounts::Accounts;
use cutover_model::{PlatformKind, RecordKind, Side};
use cutover_plan::plan::init::{Discovery, InitOptions, Tuning, render, render_discovered};

use crate::exit::{Class, Outcome, fail};

/// Arguments of `cutover init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The platform you are leaving.
    #[arg(long, value_parser = parse_platform)]
    pub from: PlatformKind,
    /// The platform you are moving to.
    #[arg(long, value_parser = parse_platform)]
    pub to: PlatformKind,
    /// Base URL of the old platform's account (e.g. https://acme.zendesk.com).
    #[arg(long)]
    pub old_url: Option<String>,
    /// Base URL of the new platform's account (e.g. https://acme.freshdesk.com).
    #[arg(long)]
    pub new_url: Option<String>,
    /// Where to write the plan (its snapshot of the accounts goes beside it).
    #[arg(long, default_value = "cutover.toml")]
    pub out: PathBuf,
    /// Overwrite the file if it exists.
    #[arg(long)]
    pub force: bool,
    /// Write the template without reading the accounts.
    #[arg(long)]
    pub offline: bool,
    /// Both accounts' API rate limit, in requests a minute, all of it cutover's (default: each
    /// platform's usual plan, 80 % of it).
    #[arg(long, value_name = "RPM")]
    pub rate_limit: Option<u32>,
    /// The record kinds to copy, comma-separated (default: every kind).
    #[arg(long, value_delimiter = ',', value_parser = parse_kind, value_name = "KINDS")]
    pub kinds: Option<Vec<RecordKind>>,
    /// Write a backfill-only plan: the copy and its proof, without channels, waves, alerts,
    /// people or notices (the commands that switch traffic ask for them when they run).
    #[arg(long)]
    pub backfill_only: bool,
    /// Confirm in the plan that the new platform's own e-mails to requesters on ticket creation
    /// are switched off (`target_notifications_off = true`).
    #[arg(long)]
    pub notifications_off: bool,
}

fn parse_platform(value: &str) -> Result<PlatformKind, String> {
    let platform: PlatformKind = value
        .parse()
        .map_err(|e: cutover_model::ModelError| e.to_string())?;
    if platform == PlatformKind::Zammad {
        return Err(
            "zammad is not supported yet: cutover has no zammad connector; it moves \
                    between zendesk and freshdesk today"
                .to_owned(),
        );
    }
    Ok(platform)
}

fn parse_kind(value: &str) -> Result<RecordKind, String> {
    value
        .trim()
        .parse()
        .map_err(|e: cutover_model::ModelError| e.to_string())
}

/// Writes the plan, refusing to overwrite one unless `--force` is given.
pub(crate) async fn run(args: InitArgs) -> anyhow::Result<Outcome> {
    refuse_same_account(&args)?;
    if args.out.exists() && !args.force {
        return Err(fail(
            Class::Config,
            format!(
                "{} already exists: pass --force to overwrite it, or --out to write elsewhere",
                args.out.display()
            ),
        ));
    }
    let options = InitOptions {
        from: args.from,
        to: args.to,
        old_url: args.old_url.clone(),
        new_url: args.new_url.clone(),
    };
    let tuning = Tuning {
        requests_per_minute: args.rate_limit,
        kinds: args.kinds.clone(),
        notifications_off: args.notifications_off,
        backfill_only: args.backfill_only,
    };
    let read = |name: &str| std::env::var(name).ok();
    let skipped = skip_reason(&args, &options, &read);
    let written = match skipped {
        Some(why) => {
            let text = render_discovered(&options, &tuning, Discovery::Skipped(&why));
            write(&args.out, &text).await?;
            println!("Discovery skipped: {why}.");
            None
        }
        None => Some(discover_and_write(&args.out, &options, &tuning, read, true).await?),
    };
    println!(
        "Wrote {} (a move from {} to {}).",
        args.out.display(),
        args.from,
        args.to,
    );
    if let Some(accounts) = written {
        let plan = cutover_plan::plan::load_checked(&args.out)?;
        println!(
            "Read both accounts: {} groups, {} roles, {} agents and {} custom fields on the old \
             one.",
            accounts.old.groups.len(),
            accounts.old.roles.len(),
            accounts.old.agents.len(),
            accounts.old.fields.len()
        );
        for note in &plan.notes {
            println!("{note}");
        }
    }
    println!(
        "Next: read it top to bottom, set the environment variables it names, then run `cutover \
         plan check --plan {}`, `cutover doctor` and `cutover inventory`.",
        args.out.display()
    );
    Ok(Outcome::Clean)
}

fn refuse_same_account(args: &InitArgs) -> anyhow::Result<()> {
    if args.from != args.to {
        return Ok(());
    }
    let same = |a: &str, b: &str| {
        a.trim()
            .trim_end_matches('/')
            .eq_ignore_ascii_case(b.trim().trim_end_matches('/'))
    };
    match (&args.old_url, &args.new_url) {
        (Some(old), Some(new)) if !same(old, new) => Ok(()),
        _ => Err(fail(
            Class::Config,
            format!(
                "--from and --to are both {}: a move between two accounts of one platform needs \
                 --old-url and --new-url, naming two different accounts",
                args.from
            ),
        )),
    }
}

/// Why discovery cannot run, if it cannot: `--offline`, an account without a URL, or a
/// credential the plan names that is not set.
fn skip_reason(
    args: &InitArgs,
    options: &InitOptions,
    read: &impl Fn(&str) -> Option<String>,
) -> Option<String> {
    if args.offline {
        return Some("--offline".to_owned());
    }
    if args.old_url.is_none() || args.new_url.is_none() {
        return Some("--old-url and --new-url name the accounts to read".to_owned());
    }
    let plan = cutover_plan::plan::check_str("template", &render(options)).ok()?;
    let mut missing = Vec::new();
    for side in Side::BOTH {
        let platform = plan.platform(side);
        let names = platform.email_env.iter().chain([&platform.token_env]);
        for name in names {
            if read(name.as_str()).is_none_or(|v| v.is_empty()) {
                missing.push(name.as_str().to_owned());
            }
        }
    }
    (!missing.is_empty()).then(|| {
        format!(
            "the credentials are not set ({}): set them and run `cutover plan refresh`",
            missing.join(", ")
        )
    })
}

/// Reads both accounts with the credentials `read` gives for the variables the plan names
/// (the old one's tickets too, counted, when `count`), writes the plan from them to `out` and
/// their snapshot beside it. The one way a plan is written from the accounts: `cutover init`,
/// the demo and the benchmarks all come here.
pub(crate) async fn discover_and_write(
    out: &Path,
    options: &InitOptions,
    tuning: &Tuning,
    read: impl Fn(&str) -> Option<String>,
    count: bool,
) -> anyhow::Result<Accounts> {
    let template = render_discovered(options, tuning, Discovery::Skipped("not yet"));
    let plan = cutover_plan::plan::check_str(&out.display().to_string(), &template)
        .map_err(|e| fail(Class::Config, e))?;
    let (old, new) = cutover_engine::connectors(&plan, &read)?;
    let terminal = std::io::stderr().is_terminal();
    let progress = move |what: &str, read: u64| {
        if terminal {
            eprint!("\rReading the old account's {what}: {read}");
        }
    };
    let accounts = cutover_engine::discover_accounts(old.as_ref(), new.as_ref(), count, &progress)
        .await
        .context("read both accounts (pass --offline to write the plan without them)")?;
    if terminal {
        eprintln!();
    }
    let text = render_discovered(options, tuning, Discovery::Found(&accounts));
    write(out, &text).await?;
    cutover_plan::plan::accounts::write_accounts(out, &accounts)?;
    Ok(accounts)
}

async fn write(out: &Path, text: &str) -> anyhow::Result<()> {
    tokio::fs::write(out, text)
        .await
        .with_context(|| format!("write the plan to {}", out.display()))
}
