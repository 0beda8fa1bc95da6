//! `cutover go --wave N --as PERSON`: a named person's sign-off of a wave's gates.

use clap::Args;
use cutover_runtime::routing::find_wave;

use super::backfill::Setup;
use crate::context::Context;
use crate::exit::Outcome;

/// Options of `cutover go`.
#[derive(Debug, Args)]
pub struct GoArgs {
    /// The wave: its number in the plan (1 for the first) or its name.
    #[arg(long, value_name = "WAVE")]
    pub wave: String,
    /// Who signs: a person's id in the plan's `[people]`, with the operator role or higher,
    /// whom the wave's `gates.sign_off` names.
    #[arg(long = "as", value_name = "PERSON")]
    pub person: String,
    /// Print the gates' report as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `cutover go`.
pub(crate) async fn run(ctx: &Context, args: GoArgs) -> anyhow::Result<Outcome> {
    let setup = Setup::open_with_waves(ctx, "cutover go").await?;
    let digest = Setup::plan_digest(ctx)?;
    let (index, wave) = find_wave(&setup.plan.waves, &args.wave)?;
    let report = cutover_runtime::gates::sign_off(
        setup.store.as_ref(),
        &setup.plan,
        &digest,
        index,
        &args.person,
        &super::token::actor(),
        "cli",
        chrono::Utc::now(),
    )
    .await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let name = setup
            .plan
            .people
            .get(&args.person)
            .map(|p| format!(" ({})", p.name))
            .unwrap_or_default();
        println!(
            "Signed off wave {} {:?} as {}{name} (recorded in the audit log).",
            index + 1,
            wave.name,
            args.person
        );
        print!("{}", report.text());
    }
    // Signed either way; exit 1 says the wave cannot start yet.
    Ok(if report.ready() {
        Outcome::Clean
    } else {
        Outcome::Findings
    })
}
