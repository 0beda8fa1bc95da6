//! `cutover report`: the reviews after a move (72 hours, two weeks, a month): the KPIs of a
//! window against the same span in earlier weeks, per side and channel and per wave; the alerts, actions and
//! decisions of the audit log in it; conflicts and dead letters; and when to switch (each
//! channel's hour-of-week heatmap, the quietest windows for each wave, staffing per hour by
//! Erlang C). One JSON document, and an HTML page drawn from it (`report_html.rs`).
//! `cutover report --due` lists the plan's reviews and when each falls due; `cutover serve`'s
//! leader writes each into `reviews/` beside the plan when it does ([`write_due`]).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::{DateTime, Duration, Utc};
use clap::Args;
use cutover_model::Side;
use cutover_plan::plan::model::{Plan, Wave};
use cutover_plan::plan::names::Weekday;
use cutover_runtime::heatmap::{self, Heatmap, hour_label};
use cutover_runtime::kpi::{self, Filter};
use cutover_runtime::routing::RoutingState;
use cutover_runtime::volume::Volume;
use cutover_runtime::{kpi_scope, kpi_stored};
use cutover_store::{AuditEntry, Store};
use serde_json::{Value, json};

use crate::context::Context;
use crate::exit::Outcome;

/// `cutover report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The window the report covers, ending at `--at`: `72h`, `2w` or `1m` (a month: 30 days),
    /// the reviews' names, or any length in hours, days or weeks (`36h`, `10d`).
    #[arg(long, value_parser = parse_window, default_value = "72h", value_name = "LENGTH")]
    pub window: Window,
    /// When the window ends (RFC 3339); now by default.
    #[arg(long)]
    pub at: Option<DateTime<Utc>>,
    /// How much history the heatmap, the recommended windows and the staffing read.
    #[arg(long, value_parser = parse_window, default_value = "12w", value_name = "LENGTH")]
    pub history: Window,
    /// Print the report as JSON on standard output instead of writing files.
    #[arg(long, conflicts_with = "out")]
    pub json: bool,
    /// The folder to write `report-LENGTH.html` and `report-LENGTH.json` into (made if
    /// missing); the current folder by default.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// List the plan's reviews (`[review]`: intensive, heightened, final, from the end of the
    /// last wave) and when each is due, instead of writing a report.
    #[arg(long, conflicts_with_all = ["out", "at"])]
    pub due: bool,
}

/// A length of time as `--window` takes it, with the name it was given.
#[derive(Debug, Clone)]
pub struct Window {
    /// As written: `72h`, `2w`, `1m`.
    pub label: String,
    /// Its length.
    pub length: Duration,
}

/// `Nm` is N months of 30 days (`1m` is the one-month review); otherwise a plan duration
/// (`s`, `h`, `d`, `w`).
fn parse_window(text: &str) -> Result<Window, String> {
    let text = text.trim();
    let length = if let Some(months) = text.strip_suffix('m')
        && !months.is_empty()
        && months.chars().all(|c| c.is_ascii_digit())
    {
        let months: i64 = months.parse().map_err(|_| format!("{text:?}: too long"))?;
        Duration::days(30 * months)
    } else {
        let parsed: cutover_plan::plan::values::Duration =
            text.parse().map_err(|e: cutover_plan::ValueError| e.0)?;
        Duration::from_std(parsed.get()).map_err(|_| format!("{text:?}: too long"))?
    };
    if length < Duration::hours(1) {
        return Err(format!("{text:?} is shorter than an hour"));
    }
    Ok(Window {
        label: text.to_owned(),
        length,
    })
}

/// Runs `cutover report`.
pub(crate) async fn run(ctx: &Context, args: ReportArgs) -> anyhow::Result<Outcome> {
    let plan = cutover_plan::plan::load(&ctx.plan_path)
        .with_context(|| format!("read {}", ctx.plan_path.display()))?;
    let store = ctx.open_store().await?;
    if args.due {
        let reviews = reviews(store.as_ref(), &plan, &ctx.plan_path).await?;
        print_due(&reviews, Utc::now());
        return Ok(Outcome::Clean);
    }
    let at = args.at.unwrap_or_else(Utc::now);
    let report = build(store.as_ref(), &plan, &args.window, at, args.history.length).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(Outcome::Clean);
    }
    let dir = args.out.unwrap_or_else(|| PathBuf::from("."));
    let written = write(&dir, &format!("report-{}", args.window.label), &report)?;
    println!("Wrote {}.", written.join(" and "));
    Ok(Outcome::Clean)
}

/// Writes `NAME.html` and `NAME.json` into `dir`; returns their paths.
fn write(dir: &Path, name: &str, report: &Value) -> anyhow::Result<Vec<String>> {
    std::fs::create_dir_all(dir).with_context(|| format!("make {}", dir.display()))?;
    let html = dir.join(format!("{name}.html"));
    let json_path = dir.join(format!("{name}.json"));
    std::fs::write(&json_path, serde_json::to_string_pretty(report)?)
        .with_context(|| format!("write {}", json_path.display()))?;
    std::fs::write(&html, super::report_html::page(report))
        .with_context(|| format!("write {}", html.display()))?;
    Ok(vec![
        html.display().to_string(),
        json_path.display().to_string(),
    ])
}

/// The report of the `window` before `at`, reading `history` of tickets for when to switch.
pub(crate) async fn build(
    store: &dyn Store,
    plan: &Plan,
    window: &Window,
    at: DateTime<Utc>,
    history: Duration,
) -> anyhow::Result<Value> {
    let (from, to) = (at - window.length, at);
    let periods = plan.baseline.weeks.max(1);
    // Everything below is read as the store's aggregates (counts per bucket, channel and
    // side), never as every ticket's facts: what is held grows with the buckets.
    let mut kpis = kpis(store, from, to, periods).await?;
    if let Value::Array(rows) = &mut kpis {
        rows.extend(wave_kpis(store, plan, from, to, periods).await?);
    }
    let volume = kpi_stored::volume(store, from, to, periods)
        .await
        .context("count the tickets created in the window")?;
    let maps = kpi_stored::heatmaps(store, at - history, at)
        .await
        .context("count the tickets created per hour of the week")?;
    let audit = audit_in(store, from, to).await?;
    let by_prefix = |keep: &dyn Fn(&str) -> bool| -> Vec<Value> {
        audit
            .iter()
            .filter(|e| keep(&e.action))
            .map(audit_json)
            .collect()
    };
    Ok(json!({
        "name": plan.name,
        "old": plan.old.platform.to_string(),
        "new": plan.new.platform.to_string(),
        "window": { "label": window.label, "from": from, "to": to },
        "generated": Utc::now(),
        "baseline": { "periods": periods, "from": kpi::window_baseline_start(from, to, periods) },
        "kpis": kpis,
        "volume": volume_json(&volume),
        "alerts": by_prefix(&|a| a.starts_with("alert.")),
        "actions": by_prefix(&|a| a.starts_with("action.")),
        "decisions": by_prefix(&is_decision),
        "conflicts": conflicts(store, from, to).await?,
        "dead_letters": dead_letters(store, from, to).await?,
        "when_to_switch": when_to_switch(plan, &maps, at - history, at),
    }))
}

/// The audit entries people read as decisions: sign-offs, gates, wave starts, pauses and
/// resumptions, switches, rollbacks and drills.
fn is_decision(action: &str) -> bool {
    ["wave.", "gate.", "switch.", "rollback", "drill"]
        .iter()
        .any(|p| action.starts_with(p))
}

async fn audit_in(
    store: &dyn Store,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> anyhow::Result<Vec<AuditEntry>> {
    let mut kept = Vec::new();
    let mut after = 0;
    loop {
        let page = store
            .audit_entries(after, 500)
            .await
            .context("read the audit log")?;
        let Some(last) = page.last() else {
            return Ok(kept);
        };
        after = last.seq;
        kept.extend(page.into_iter().filter(|e| e.at >= from && e.at < to));
    }
}

fn audit_json(e: &AuditEntry) -> Value {
    json!({ "seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action, "detail": e.detail })
}

/// Each KPI over the window against the same span in earlier weeks: per side, all channels
/// first, then each channel with tickets.
async fn kpis(
    store: &dyn Store,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    periods: u32,
) -> anyhow::Result<Value> {
    let channels = store
        .kpi_channels(kpi::window_baseline_start(from, to, periods), to)
        .await
        .context("read the channels of the ticket facts")?;
    let mut rows = Vec::new();
    for side in [Side::Old, Side::New] {
        let filter = Filter {
            side: Some(side),
            ..Filter::default()
        };
        // All channels together, then each channel apart (one pass of the store for all).
        let mut now = vec![
            kpi_stored::compute(store, from, to, &filter)
                .await
                .context("compute the KPIs of the window")?,
        ];
        let mut spreads = vec![
            kpi_stored::window_baseline(store, from, to, periods, &filter)
                .await
                .context("compute the KPIs of the earlier periods")?,
        ];
        now.extend(
            kpi_stored::compute_by_channel(store, from, to, &filter, &channels)
                .await
                .context("compute the KPIs of the window per channel")?,
        );
        spreads.extend(
            kpi_stored::window_baseline_by_channel(store, from, to, periods, &filter, &channels)
                .await
                .context("compute the KPIs of the earlier periods per channel")?,
        );
        let names = std::iter::once(None).chain(channels.iter().map(Some));
        for ((channel, now), spreads) in names.zip(now).zip(spreads) {
            let quiet =
                now.iter().all(|f| f.samples == 0) && spreads.iter().all(|s| s.samples == 0);
            if channel.is_some() && quiet {
                continue;
            }
            rows.push(json!({
                "side": side,
                "channel": channel,
                "kpis": kpi::compare_spreads(&now, &spreads),
            }));
        }
    }
    Ok(Value::Array(rows))
}

/// Each KPI over the window against the same span in earlier weeks, per wave of the plan and
/// side (`kpi_scope::wave_tickets`: its channels' tickets and its groups'); a wave and side
/// with no samples now or before is left out.
async fn wave_kpis(
    store: &dyn Store,
    plan: &Plan,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    periods: u32,
) -> anyhow::Result<Vec<Value>> {
    let mut rows = Vec::new();
    for wave in &plan.waves {
        let scope = kpi_scope::wave_tickets(store, plan, wave)
            .await
            .context("find the waves' groups")?;
        for side in [Side::Old, Side::New] {
            let side_only = Filter {
                side: Some(side),
                ..Filter::default()
            };
            let filter = kpi_scope::with_wave(&side_only, &scope);
            let now = kpi_stored::compute(store, from, to, &filter)
                .await
                .context("compute the KPIs of a wave")?;
            let spreads = kpi_stored::window_baseline(store, from, to, periods, &filter)
                .await
                .context("compute the KPIs of a wave in the earlier periods")?;
            if now.iter().all(|f| f.samples == 0) && spreads.iter().all(|s| s.samples == 0) {
                continue;
            }
            rows.push(json!({
                "side": side,
                "channel": null,
                "wave": wave.name,
                "kpis": kpi::compare_spreads(&now, &spreads),
            }));
        }
    }
    Ok(rows)
}

/// Tickets created per hour (windows up to four days) or per day, each side, with the mean of
/// the same bucket in the earlier periods.
fn volume_json(volume: &Volume) -> Value {
    let sides: Vec<Value> = volume
        .sides
        .iter()
        .map(|side| {
            let buckets: Vec<Value> = side
                .buckets
                .iter()
                .map(|b| json!({ "from": b.from, "created": b.created, "baseline": b.baseline }))
                .collect();
            json!({ "side": side.side, "buckets": buckets })
        })
        .collect();
    json!({ "bucket_hours": volume.bucket.num_hours(), "sides": sides })
}

async fn conflicts(
    store: &dyn Store,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> anyhow::Result<Value> {
    let all = super::conflicts::every(store).await?;
    let in_window: Vec<Value> = all
        .iter()
        .filter(|c| c.conflict.at >= from && c.conflict.at < to)
        .map(cutover_server::api::conflict_json)
        .collect();
    Ok(json!({ "total": all.len(), "in_window": in_window }))
}

/// The dead letters kept (every one is open until dropped or retried into place), counted by
/// kind, side and reason; never their records.
async fn dead_letters(
    store: &dyn Store,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> anyhow::Result<Value> {
    let every = super::deadletters::Filter {
        ids: Vec::new(),
        kind: None,
        side: None,
        reason: None,
        json: false,
    };
    let all = super::deadletters::matching(store, &every).await?;
    let mut groups: std::collections::BTreeMap<(String, String, String), u64> = Default::default();
    for d in &all {
        *groups
            .entry((
                d.kind.to_string(),
                d.side.to_string(),
                cutover_engine::text::reason_group(&d.reason),
            ))
            .or_default() += 1;
    }
    let new_in_window = all
        .iter()
        .filter(|d| d.first_seen >= from && d.first_seen < to)
        .count();
    let by_reason: Vec<Value> = groups
        .into_iter()
        .map(|((kind, side, reason), n)| json!({ "kind": kind, "side": side, "reason": reason, "count": n }))
        .collect();
    Ok(json!({ "open": all.len(), "new_in_window": new_in_window, "by_reason": by_reason }))
}

/// The length of a wave's switch when it has no window.
const DEFAULT_WAVE_HOURS: u32 = 2;

/// A wave's window as hours of the week in UTC: its first hour and how many hours it touches;
/// `Err` with why when it cannot be judged.
pub(crate) fn wave_hours(wave: &Wave) -> Result<(u32, u32), String> {
    let Some(window) = &wave.window else {
        return Err(String::from("no window"));
    };
    if window.tz.as_str() != "UTC" {
        return Err(format!(
            "its window is in {}, and only UTC windows are judged",
            window.tz.as_str()
        ));
    }
    let minute_of_week = |day: Weekday, minute: u16| -> u32 {
        let day = Weekday::NAMES
            .iter()
            .position(|n| *n == day.as_str())
            .and_then(|d| u32::try_from(d).ok())
            .unwrap_or(0);
        day * 24 * 60 + u32::from(minute)
    };
    let start = minute_of_week(window.from.day, window.from.minute);
    let end = minute_of_week(window.to.day, window.to.minute);
    let week = heatmap::WEEK_HOURS * 60;
    let length = (end + week - start) % week;
    let first_hour = start / 60;
    let last_minute = start + length.max(1);
    let hours = last_minute.div_ceil(60) - first_hour;
    Ok((first_hour % heatmap::WEEK_HOURS, hours.max(1)))
}

/// The channel kinds a wave moves, as the ticket facts name channels.
fn wave_kinds(plan: &Plan, wave: &Wave) -> Vec<String> {
    let kinds: BTreeSet<String> = wave
        .channels
        .iter()
        .filter_map(|name| plan.channels.iter().find(|c| &c.name == name))
        .map(|c| c.kind.as_str().to_owned())
        .collect();
    kinds.into_iter().collect()
}

/// A wave's channels' heatmap, added up.
fn wave_map(plan: &Plan, wave: &Wave, maps: &[Heatmap]) -> Heatmap {
    let kinds = wave_kinds(plan, wave);
    Heatmap::combined(
        &wave.name,
        maps.iter().filter(|m| kinds.contains(&m.channel)),
    )
}

/// The busy hours a wave's window falls in, for `plan check`: `None` when it cannot be judged
/// (no window, a zone other than UTC, too little history).
pub(crate) fn busy_hours(plan: &Plan, wave: &Wave, maps: &[Heatmap]) -> Option<Vec<u32>> {
    let (start, hours) = wave_hours(wave).ok()?;
    let map = wave_map(plan, wave, maps);
    map.is_judged().then(|| map.busy_hours_in(start, hours))
}

fn when_to_switch(plan: &Plan, maps: &[Heatmap], from: DateTime<Utc>, to: DateTime<Utc>) -> Value {
    let hours = |list: Vec<u32>, map: &Heatmap| -> Vec<Value> {
        list.into_iter()
            .map(|h| json!({ "hour": h, "label": hour_label(h), "tickets": map.at(h) }))
            .collect()
    };
    let channels: Vec<Value> = maps
        .iter()
        .map(|m| {
            json!({
                "channel": m.channel,
                "tickets": m.tickets,
                "judged": m.is_judged(),
                "per_hour": m.per_hour,
                "busiest": hours(m.busiest(3), m),
                "quietest": hours(m.quietest(3), m),
            })
        })
        .collect();
    let waves: Vec<Value> = plan
        .waves
        .iter()
        .map(|wave| {
            let map = wave_map(plan, wave, maps);
            let judged = wave_hours(wave);
            let length = judged.as_ref().map_or(DEFAULT_WAVE_HOURS, |(_, h)| *h);
            let recommended: Vec<Value> = map
                .quietest_windows(length, 3)
                .into_iter()
                .map(|q| {
                    json!({
                        "from": hour_label(q.start),
                        "to": hour_label(q.start + q.hours),
                        "hours": q.hours,
                        "tickets": q.arrivals,
                    })
                })
                .collect();
            let busy: Option<Vec<String>> = judged
                .as_ref()
                .ok()
                .filter(|_| map.is_judged())
                .map(|(start, hours)| {
                    map.busy_hours_in(*start, *hours)
                        .into_iter()
                        .map(hour_label)
                        .collect()
                });
            json!({
                "name": wave.name,
                "channels": wave_kinds(plan, wave),
                "tickets": map.tickets,
                "window": wave.window.as_ref().map(|w| format!("{} to {} {}", w.from, w.to, w.tz.as_str())),
                "busy_hours_in_window": busy,
                "not_judged": judged.err().or_else(|| (!map.is_judged()).then(|| format!(
                    "{} tickets of history, at least {} needed", map.tickets, heatmap::MIN_TICKETS
                ))),
                "recommended": recommended,
            })
        })
        .collect();
    json!({
        "history": { "from": from, "to": to },
        "busy_from": "an hour in the busiest quarter of the week's hours with more tickets than the median hour",
        "channels": channels,
        "waves": waves,
        "staffing": staffing(plan, maps.first()),
    })
}

/// Agents per hour of the week by Erlang C, for all channels together.
fn staffing(plan: &Plan, all: Option<&Heatmap>) -> Value {
    let target = plan.staffing.service_level;
    #[expect(clippy::cast_precision_loss, reason = "seconds of a plan duration")]
    let handle = plan.staffing.handle_time.get().as_secs() as f64;
    #[expect(clippy::cast_precision_loss, reason = "seconds of a plan duration")]
    let within = target.within().as_secs() as f64;
    let hours: Vec<Value> = (0..heatmap::WEEK_HOURS)
        .map(|h| {
            let arrivals = all.map_or(0.0, |m| m.at(h));
            let s = cutover_runtime::erlang::staffing(arrivals, handle, target.share(), within);
            json!({
                "hour": h,
                "label": hour_label(h),
                "arrivals": arrivals,
                "traffic": s.traffic,
                "agents": s.agents,
                "service_level": s.service_level,
            })
        })
        .collect();
    json!({
        "service_level": target.to_string(),
        "handle_time": plan.staffing.handle_time.to_string(),
        "hours": hours,
    })
}

/// One of the plan's reviews.
#[derive(Debug, Clone)]
pub(crate) struct Review {
    /// `intensive`, `heightened` or `final`.
    pub name: &'static str,
    /// Its window, from the end of the last wave.
    pub window: Window,
    /// When it falls due: the end of the last wave plus its window; `None` until that wave
    /// has switched.
    pub due: Option<DateTime<Utc>>,
    /// Where `cutover serve` writes it (without the extension).
    pub path: PathBuf,
}

/// The plan's reviews, scheduled from when its last wave switched.
pub(crate) async fn reviews(
    store: &dyn Store,
    plan: &Plan,
    plan_path: &Path,
) -> anyhow::Result<Vec<Review>> {
    let routing = RoutingState::load(store)
        .await
        .context("read the routing state")?;
    let end = plan.waves.last().and_then(|wave| {
        routing
            .waves
            .get(&wave.name)
            .filter(|w| w.phase.is_switched())
            .map(|w| w.changed_at)
    });
    let dir = plan_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join("reviews");
    let r = &plan.review;
    Ok([
        ("intensive", r.intensive),
        ("heightened", r.heightened),
        ("final", r.final_review),
    ]
    .into_iter()
    .map(|(name, length)| {
        let length = Duration::from_std(length.get()).unwrap_or(Duration::days(30));
        Review {
            name,
            window: Window {
                label: name.to_owned(),
                length,
            },
            due: end.map(|end| end + length),
            path: dir.join(format!("review-{name}")),
        }
    })
    .collect())
}

fn print_due(reviews: &[Review], now: DateTime<Utc>) {
    for r in reviews {
        let html = r.path.with_extension("html");
        let when = match r.due {
            None => String::from("not scheduled: the last wave has not switched yet"),
            Some(due) if html.exists() => format!("written to {} (due {due})", html.display()),
            Some(due) if due <= now => format!("due since {due}"),
            Some(due) => format!("due at {due}"),
        };
        println!(
            "{:<10} the {} after the last wave: {when}",
            r.name,
            human(r.window.length)
        );
    }
}

fn human(length: Duration) -> String {
    if length.num_hours() % 24 == 0 {
        format!("{} days", length.num_days())
    } else {
        format!("{} hours", length.num_hours())
    }
}

/// Writes each review that fell due and is not written yet; `cutover serve`'s leader runs
/// this every minute.
pub(crate) async fn write_due(
    store: &dyn Store,
    plan: &Plan,
    plan_path: &Path,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    for review in reviews(store, plan, plan_path).await? {
        let Some(due) = review.due.filter(|due| *due <= now) else {
            continue;
        };
        if review.path.with_extension("html").exists() {
            continue;
        }
        let report = build(store, plan, &review.window, due, Duration::weeks(12)).await?;
        let dir = review.path.parent().unwrap_or(Path::new("."));
        let name = review
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let written = write(dir, &name, &report)?;
        tracing::info!(review = review.name, files = %written.join(", "), "Wrote a review.");
    }
    Ok(())
}

/// Runs [`write_due`] every minute until `stop`.
pub(crate) async fn schedule(
    store: std::sync::Arc<dyn Store>,
    plan: Plan,
    plan_path: PathBuf,
    stop: tokio_util::sync::CancellationToken,
) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Err(e) = write_due(store.as_ref(), &plan, &plan_path, Utc::now()).await {
            tracing::warn!(error = %format!("{e:#}"), "Could not write a review; trying again in a minute.");
        }
    }
}
