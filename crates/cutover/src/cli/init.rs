//! `cutover init`: write a commented plan file.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use cutover_control::plan::init::{InitOptions, render};
use cutover_model::PlatformKind;

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
    /// Where to write the plan.
    #[arg(long, default_value = "cutover.toml")]
    pub out: PathBuf,
    /// Overwrite the file if it exists.
    #[arg(long)]
    pub force: bool,
}

fn parse_platform(value: &str) -> Result<PlatformKind, String> {
    value
        .parse()
        .map_err(|e: cutover_model::ModelError| e.to_string())
}

/// Writes the plan, refusing to overwrite one unless `--force` is given.
pub(crate) async fn run(args: InitArgs) -> anyhow::Result<Outcome> {
    if args.from == args.to {
        let same = |a: &str, b: &str| {
            a.trim()
                .trim_end_matches('/')
                .eq_ignore_ascii_case(b.trim().trim_end_matches('/'))
        };
        match (&args.old_url, &args.new_url) {
            (Some(old), Some(new)) if !same(old, new) => {}
            _ => {
                return Err(fail(
                    Class::Config,
                    format!(
                        "--from and --to are both {}: a move between two accounts of one \
                         platform needs --old-url and --new-url, naming two different accounts",
                        args.from
                    ),
                ));
            }
        }
    }
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
        old_url: args.old_url,
        new_url: args.new_url,
    };
    let text = render(&options);
    tokio::fs::write(&args.out, text)
        .await
        .with_context(|| format!("write the plan to {}", args.out.display()))?;
    println!(
        "Wrote {} (a move from {} to {}).\nNext: read it top to bottom, set the environment \
         variables it names, then run `cutover plan check --plan {}`.",
        args.out.display(),
        args.from,
        args.to,
        args.out.display()
    );
    Ok(Outcome::Clean)
}
