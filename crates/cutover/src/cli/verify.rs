//! `cutover verify`: prove every record on both sides.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use cutover_engine::Mapping;
use cutover_engine::verify::VerifiedBy;
use cutover_model::Side;

use super::backfill::Setup;
use crate::context::Context;
use crate::exit::Outcome;

/// Options of `cutover verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Print the whole report as JSON on standard output.
    #[arg(long)]
    pub json: bool,
    /// Also write the report as an HTML page to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// Runs `cutover verify`.
pub(crate) async fn run(ctx: &Context, args: VerifyArgs) -> anyhow::Result<Outcome> {
    let setup = Setup::open(ctx).await?;
    let digest = Setup::plan_digest(ctx)?;
    let (old, new) = setup.connectors()?;
    let mapping = Mapping::for_plan(&setup.plan);
    // Beside a running bridge, verify leaves it the part of each budget it claims.
    let budgets = vec![(Side::Old, old.budget()), (Side::New, new.budget())];
    let report = cutover_engine::live::beside_the_bridge(
        setup.store.clone(),
        budgets,
        cutover_engine::verify(
            setup.store.as_ref(),
            old.as_ref(),
            new.as_ref(),
            mapping,
            &setup.plan.copy.kinds,
        ),
    )
    .await?;
    // Kept for the `verify_clean` gate of the waves (`cutover gates`).
    cutover_engine::verify::LastVerify::of(&report, &digest, VerifiedBy::Command)
        .save(setup.store.as_ref())
        .await
        .context("keep the verification's outcome for the gates")?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.summary());
    }
    if let Some(path) = &args.html {
        let generated = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string();
        std::fs::write(path, super::verify_html::page(&report, &generated))
            .with_context(|| format!("write the HTML report to {}", path.display()))?;
    }
    Ok(if report.is_clean() {
        Outcome::Clean
    } else {
        Outcome::Findings
    })
}
