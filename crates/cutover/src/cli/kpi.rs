//! `cutover kpi` and `cutover baseline`: the continuity monitor's KPIs now, against the
//! hour-of-week baseline from the history the backfill and the bridge read, and each KPI's
//! definition (`cutover kpi explain NAME`), all from the one table in `cutover_runtime::kpi`.

use anyhow::Context as _;
use chrono::{DateTime, Duration, Utc};
use clap::{Args, Subcommand};
use cutover_model::Side;
use cutover_runtime::kpi::{self, Filter, KPIS};
use cutover_runtime::kpi_stored;
use serde_json::json;

use crate::context::Context;
use crate::exit::{Class, Outcome, fail};

/// `cutover kpi`.
#[derive(Debug, Args)]
pub struct KpiArgs {
    /// What to do; without one, the KPIs now against the baseline.
    #[command(subcommand)]
    pub command: Option<KpiCommand>,
    /// Which tickets, and when.
    #[command(flatten)]
    pub scope: Scope,
    /// Print JSON.
    #[arg(long, global = true)]
    pub json: bool,
}

/// `cutover kpi` subcommands.
#[derive(Debug, Subcommand)]
pub enum KpiCommand {
    /// Print a KPI's definition: what it measures, how, its unit and sample size.
    ///
    /// Example: cutover kpi explain first_reply_p90
    Explain(ExplainArgs),
}

/// `cutover kpi explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The KPI; without one, every KPI.
    pub name: Option<String>,
    /// Print every definition as Markdown (what docs/kpis.md holds).
    #[arg(long, conflicts_with = "name")]
    pub markdown: bool,
}

/// Which tickets and which time a KPI command looks at.
#[derive(Debug, Args)]
pub struct Scope {
    /// Only this side's tickets (`old` or `new`); both sides, each apart, by default.
    #[arg(long)]
    pub side: Option<Side>,
    /// Only this channel's tickets (`email`, `web_form`, `chat`, `whatsapp`, `voice`, `api`,
    /// `other`); for `channel_availability`, the gateway's contacts of the `[[channels]]` entry
    /// of this name.
    #[arg(long)]
    pub channel: Option<String>,
    /// Only this group's tickets (its id on the side).
    #[arg(long)]
    pub group: Option<String>,
    /// The time to look from (RFC 3339); now by default. `cutover kpi` measures the hour
    /// before it; the baseline covers the weeks before the start of its hour.
    #[arg(long)]
    pub at: Option<DateTime<Utc>>,
    /// How many weeks the baseline covers; the plan's `[baseline] weeks` (default 4) by
    /// default.
    #[arg(long)]
    pub weeks: Option<u32>,
}

/// `cutover baseline`.
#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// Which tickets, and when.
    #[command(flatten)]
    pub scope: Scope,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

impl Scope {
    fn filters(&self) -> Vec<Filter> {
        let sides = match self.side {
            Some(side) => vec![side],
            None => vec![Side::Old, Side::New],
        };
        sides
            .into_iter()
            .map(|side| Filter {
                side: Some(side),
                channel: self.channel.clone(),
                group: self.group.clone(),
            })
            .collect()
    }

    /// The baseline's weeks: `--weeks`, else the plan's, else 4.
    fn weeks(&self, ctx: &Context) -> anyhow::Result<u32> {
        if let Some(weeks) = self.weeks {
            return Ok(weeks.max(1));
        }
        if !ctx.plan_path.exists() {
            return Ok(cutover_plan::plan::model::Baseline::default().weeks);
        }
        let plan = cutover_plan::plan::load(&ctx.plan_path)
            .with_context(|| format!("read {}", ctx.plan_path.display()))?;
        Ok(plan.baseline.weeks.max(1))
    }
}

/// Runs `cutover kpi`.
pub(crate) async fn run(ctx: &Context, args: KpiArgs) -> anyhow::Result<Outcome> {
    match args.command {
        Some(KpiCommand::Explain(explain)) => self::explain(&explain, args.json),
        None => now(ctx, &args.scope, args.json).await,
    }
}

fn explain(args: &ExplainArgs, as_json: bool) -> anyhow::Result<Outcome> {
    if args.markdown {
        print!("{}", kpi::markdown());
        return Ok(Outcome::Clean);
    }
    let defs: Vec<&kpi::KpiDef> = match &args.name {
        Some(name) => vec![kpi::find(name).ok_or_else(|| {
            let known: Vec<&str> = KPIS.iter().map(|k| k.name).collect();
            fail(
                Class::Config,
                format!(
                    "no KPI is named {name:?} (known: {}); e.g. `cutover kpi explain {}`",
                    known.join(", "),
                    known.first().copied().unwrap_or("wait_time")
                ),
            )
        })?],
        None => KPIS.iter().collect(),
    };
    if as_json {
        let value = match defs.as_slice() {
            [one] if args.name.is_some() => serde_json::to_value(one)?,
            all => serde_json::to_value(all)?,
        };
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(Outcome::Clean);
    }
    for def in defs {
        println!("{}: {}", def.name, def.measures);
        println!("  How: {}", def.how);
        println!("  Unit: {}", def.unit);
        println!("  Samples: {}", def.samples);
        println!();
    }
    Ok(Outcome::Clean)
}

async fn now(ctx: &Context, scope: &Scope, as_json: bool) -> anyhow::Result<Outcome> {
    let at = scope.at.unwrap_or_else(Utc::now);
    let weeks = scope.weeks(ctx)?;
    let store = ctx.open_store().await?;
    let window = (at - Duration::hours(1), at);
    let mut sides = Vec::new();
    // The store aggregates per hour (SQL): what is read grows with the hours, not the tickets.
    for filter in scope.filters() {
        let base = kpi_stored::baseline(store.as_ref(), at, weeks, &filter)
            .await
            .context("compute the baseline")?;
        let figures = kpi_stored::compute(store.as_ref(), window.0, window.1, &filter)
            .await
            .context("compute the KPIs of the last hour")?;
        let hour = base
            .hour(window.0)
            .ok_or_else(|| fail(Class::Config, "no hour of the week for the window"))?;
        sides.push((
            filter,
            kpi::hour_of_week(window.0),
            kpi::compare(&figures, hour),
        ));
    }
    if as_json {
        let value = json!({
            "window": { "from": window.0, "to": window.1 },
            "baseline_weeks": weeks,
            "sides": sides.iter().map(|(filter, hour, comparisons)| json!({
                "filter": filter,
                "hour_of_week": hour,
                "kpis": comparisons,
            })).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(Outcome::Clean);
    }
    println!(
        "KPIs from {} to {}, against the same hour of the week over {weeks} weeks:",
        stamp(window.0),
        stamp(window.1)
    );
    for (filter, hour, comparisons) in &sides {
        let side = filter.side.map_or("both sides", Side::as_str);
        println!("\n{side} side (hour {hour} of the week):");
        for c in comparisons {
            let verdict = match &c.verdict {
                kpi::Verdict::Inconclusive(why) => format!("inconclusive: {why}"),
                kpi::Verdict::WithinSpread => String::from("within the spread"),
                kpi::Verdict::OutsideSpread => String::from("OUTSIDE the spread"),
            };
            println!(
                "  {:<26} {:>10} (n={:<4}) baseline {:>10} ± {:<8} (weeks={}, n={})  {verdict}",
                c.name,
                number(c.now.value),
                c.now.samples,
                number(c.baseline.mean),
                number(c.baseline.std_dev),
                c.baseline.weeks,
                c.baseline.samples,
            );
        }
    }
    Ok(Outcome::Clean)
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn number(value: Option<f64>) -> String {
    value.map_or_else(|| String::from("-"), |v| format!("{v:.2}"))
}

/// Runs `cutover baseline`.
pub(crate) async fn baseline(ctx: &Context, args: BaselineArgs) -> anyhow::Result<Outcome> {
    let at = args.scope.at.unwrap_or_else(Utc::now);
    let weeks = args.scope.weeks(ctx)?;
    let store = ctx.open_store().await?;
    let mut baselines: Vec<kpi::Baseline> = Vec::new();
    for filter in args.scope.filters() {
        baselines.push(
            kpi_stored::baseline(store.as_ref(), at, weeks, &filter)
                .await
                .context("compute the baseline")?,
        );
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&baselines)?);
        return Ok(Outcome::Clean);
    }
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    for b in &baselines {
        let side = b.filter.side.map_or("both sides", Side::as_str);
        println!(
            "Baseline of the {side} side: {} weeks, {} to {} (mean ± standard deviation, weeks with a value, samples)",
            b.weeks,
            stamp(b.from),
            stamp(b.to)
        );
        for hour in &b.hours {
            let Some(created) = hour.kpis.iter().find(|s| s.name == "first_reply_p50") else {
                continue;
            };
            let resolution = hour.kpis.iter().find(|s| s.name == "resolution_p50");
            let backlog = hour.kpis.iter().find(|s| s.name == "backlog");
            let day = DAYS
                .get(usize::try_from(hour.hour_of_week / 24).unwrap_or(0))
                .copied()
                .unwrap_or("?");
            println!(
                "  {day} {:02}:00  first reply p50 {} ± {} min (w={}, n={})  resolution p50 {} h (n={})  backlog {}",
                hour.hour_of_week % 24,
                number(created.mean),
                number(created.std_dev),
                created.weeks,
                created.samples,
                number(resolution.and_then(|s| s.mean)),
                resolution.map_or(0, |s| s.samples),
                number(backlog.and_then(|s| s.mean)),
            );
        }
        println!();
    }
    Ok(Outcome::Clean)
}
