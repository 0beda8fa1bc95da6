//! `cutover kpi` and `cutover baseline`: the continuity monitor's KPIs now, against the
//! hour-of-week baseline from the history the backfill and the bridge read, and each KPI's
//! definition (`cutover kpi explain NAME`), all from the one table in `cutover_runtime::kpi`.

use anyhow::Context as _;
use chrono::{DateTime, Duration, Utc};
use clap::{Args, Subcommand};
use cutover_model::Side;
use cutover_plan::plan::model::{Plan, Wave};
use cutover_plan::plan::values::GroupSelection;
use cutover_runtime::kpi::{self, Filter, KPIS};
use cutover_runtime::routing::find_wave;
use cutover_runtime::{kpi_scope, kpi_stored};
use cutover_store::Store;
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
    /// Only this channel: a channel kind (`email`, `web_form`, `chat`, `whatsapp`, `voice`,
    /// `api`, `other`, or a `[[channels]]` kind: `sms` and `social` are `other`) or a plan's
    /// `[[channels]]` entry by name. A name means its kind's tickets and its own contacts
    /// (`channel_availability`); a kind means its tickets and the contacts of every
    /// `[[channels]]` entry of that kind.
    #[arg(long)]
    pub channel: Option<String>,
    /// Only this group's tickets (its id on the side).
    #[arg(long)]
    pub group: Option<String>,
    /// Only this wave's tickets: its number in the plan (1 for the first) or its name, as
    /// `cutover wave start` takes it. A wave's tickets are those of its channels' kinds and
    /// those in its groups (by either platform's name, the groups the backfill read); its
    /// contacts are its channels'.
    #[arg(long)]
    pub wave: Option<String>,
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
    /// One filter per side asked for, with the channel, group and wave resolved against the
    /// plan (when there is one) and the store.
    async fn filters(&self, plan: Option<&Plan>, store: &dyn Store) -> anyhow::Result<Vec<Filter>> {
        let channels = plan.map_or(&[][..], |p| p.channels.as_slice());
        let channel = self
            .channel
            .as_deref()
            .map(|text| kpi_scope::channel(channels, text))
            .transpose()
            .map_err(|e| fail(Class::Config, e))?;
        let base = Filter {
            side: None,
            channel: channel.as_ref().map(|c| c.tickets.clone()),
            group: self.group.clone(),
            wave: None,
            gateway_channels: channel.map(|c| c.gateway),
        };
        let base = match &self.wave {
            Some(named) => {
                let plan = plan.ok_or_else(|| {
                    fail(
                        Class::Config,
                        "--wave names a wave of the plan, and there is no plan file: \
                         give --plan PATH, or run `cutover init`",
                    )
                })?;
                let (_, wave) =
                    find_wave(&plan.waves, named).map_err(|e| fail(Class::Config, e))?;
                let scope = kpi_scope::wave_tickets(store, plan, wave)
                    .await
                    .context("find the wave's groups")?;
                let filter = kpi_scope::with_wave(&base, &scope);
                let held = store
                    .kpi_count(&filter.to_store())
                    .await
                    .context("count the wave's tickets")?;
                if held == 0 {
                    return Err(fail(Class::Config, no_tickets(plan, wave, &scope, &base)));
                }
                filter
            }
            None => base,
        };
        let sides = match self.side {
            Some(side) => vec![side],
            None => vec![Side::Old, Side::New],
        };
        Ok(sides
            .into_iter()
            .map(|side| Filter {
                side: Some(side),
                ..base.clone()
            })
            .collect())
    }

    /// The baseline's weeks: `--weeks`, else the plan's, else 4.
    fn weeks(&self, plan: Option<&Plan>) -> u32 {
        match (self.weeks, plan) {
            (Some(weeks), _) => weeks.max(1),
            (None, Some(plan)) => plan.baseline.weeks.max(1),
            (None, None) => cutover_plan::plan::model::Baseline::default().weeks,
        }
    }
}

/// The plan, when its file exists (the KPIs need none, unless a wave or a channel's name is
/// asked for).
fn load_plan(ctx: &Context) -> anyhow::Result<Option<Plan>> {
    if !ctx.plan_path.exists() {
        return Ok(None);
    }
    cutover_plan::plan::load(&ctx.plan_path)
        .map(Some)
        .with_context(|| format!("read {}", ctx.plan_path.display()))
}

/// Why a wave's KPIs would be empty: what its channels and groups came to.
fn no_tickets(plan: &Plan, wave: &Wave, scope: &kpi_scope::WaveScope, base: &Filter) -> String {
    let channels: Vec<String> = wave
        .channels
        .iter()
        .map(|name| {
            let kind = plan
                .channels
                .iter()
                .find(|c| c.name == *name)
                .map_or("?", |c| kpi_scope::ticket_channel(c.kind));
            format!("{name} ({kind})")
        })
        .collect();
    let groups = match &wave.groups {
        GroupSelection::All => String::from("every group"),
        GroupSelection::Named(names) => names.join(", "),
    };
    let mut message = format!(
        "wave {:?} matches no ticket the store holds: no ticket came by its channels [{}] \
         or is in its groups [{groups}] ({} group id(s) found on the two sides)",
        wave.name,
        channels.join(", "),
        scope.tickets.groups.len(),
    );
    if !scope.unknown_groups.is_empty() {
        message.push_str(&format!(
            "; no group the backfill or the bridge read is called {}",
            scope.unknown_groups.join(" or ")
        ));
    }
    if base.channel.is_some() || base.group.is_some() {
        message.push_str(" with --channel or --group as given");
    }
    message.push_str(
        ". Run `cutover backfill` to read the tickets and groups, or check the wave's \
         `channels` and `groups` in the plan",
    );
    message
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
    let plan = load_plan(ctx)?;
    let weeks = scope.weeks(plan.as_ref());
    let store = ctx.open_store().await?;
    let window = (at - Duration::hours(1), at);
    let mut sides = Vec::new();
    // The store aggregates per hour (SQL): what is read grows with the hours, not the tickets.
    for filter in scope.filters(plan.as_ref(), store.as_ref()).await? {
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
        println!("\n{} (hour {hour} of the week):", describe(filter));
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

/// What a filter keeps, for a heading: `old side`, `new side, wave "pilot", channel email`.
fn describe(filter: &Filter) -> String {
    let mut out = match filter.side {
        Some(side) => format!("{side} side"),
        None => String::from("both sides"),
    };
    if let Some(wave) = &filter.wave {
        out.push_str(&format!(", wave {:?}", wave.name));
    }
    if let Some(channel) = &filter.channel {
        out.push_str(&format!(", channel {channel}"));
    }
    if let Some(group) = &filter.group {
        out.push_str(&format!(", group {group}"));
    }
    out
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
    let plan = load_plan(ctx)?;
    let weeks = args.scope.weeks(plan.as_ref());
    let store = ctx.open_store().await?;
    let mut baselines: Vec<kpi::Baseline> = Vec::new();
    for filter in args.scope.filters(plan.as_ref(), store.as_ref()).await? {
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
        println!(
            "Baseline of the {}: {} weeks, {} to {} (mean ± standard deviation, weeks with a value, samples)",
            describe(&b.filter),
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
