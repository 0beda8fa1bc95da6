//! The KPIs and the baseline of [`crate::kpi`], computed from the aggregates the store makes in
//! SQL ([`Store::kpi_buckets`]: counts and nearest-rank percentiles per clock hour) instead of
//! from every ticket's facts read into memory: what is read grows with the hours, not with the
//! tickets. Same definitions, same results, bit for bit: both paths end in
//! [`kpi::figures_of`], and a test holds them against each other on both backends. Likewise a
//! review's earlier periods ([`window_baseline`]), its volume ([`volume`]) and the heatmaps of
//! when to switch ([`heatmaps`]), from the store's counts of tickets created per bucket
//! ([`Store::kpi_created`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use cutover_model::Side;
use cutover_store::{KpiBucket, KpiBuckets, Store};

use crate::error::RuntimeError;
use crate::heatmap::{self, Heatmap};
use crate::kpi::{self, Baseline, Figure, Filter, Spread};
use crate::volume::{self, Volume};

/// As [`kpi::baseline`], from the store's hourly aggregates.
pub async fn baseline(
    store: &dyn Store,
    until: DateTime<Utc>,
    weeks: u32,
    filter: &Filter,
) -> Result<Baseline, RuntimeError> {
    let (from, to) = kpi::baseline_span(until, weeks);
    let n_hours = u32::try_from((to - from).num_hours().max(0)).unwrap_or(u32::MAX);
    let buckets = store
        .kpi_buckets(from, Duration::hours(1), n_hours, &filter.to_store())
        .await?;
    Ok(kpi::profile(from, to, weeks, filter, hourly(&buckets)))
}

/// Each bucket's figures, the backlog at its end carried from the one before.
fn hourly(buckets: &KpiBuckets) -> impl Iterator<Item = Vec<Figure>> + '_ {
    let mut backlog = buckets.backlog_before;
    buckets.buckets.iter().map(move |b| {
        backlog = (backlog + b.created).saturating_sub(b.left);
        kpi::figures_of(b, backlog)
    })
}

/// As [`kpi::compute`] over `[from, to)`, from the store's aggregate of that window.
pub async fn compute(
    store: &dyn Store,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    filter: &Filter,
) -> Result<Vec<Figure>, RuntimeError> {
    let length = (to - from).max(Duration::microseconds(1));
    let buckets = store
        .kpi_buckets(from, length, 1, &filter.to_store())
        .await?;
    Ok(hourly(&buckets).next().unwrap_or_default())
}

/// As [`kpi::window_baseline`]: every KPI's spread over the same window in `periods` earlier
/// periods, each from the store's aggregate of that period.
pub async fn window_baseline(
    store: &dyn Store,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    periods: u32,
    filter: &Filter,
) -> Result<Vec<Spread>, RuntimeError> {
    let mut earlier = Vec::new();
    for (a, b) in kpi::earlier_periods(from, to, periods) {
        earlier.push(compute(store, a, b, filter).await?);
    }
    Ok(kpi::spreads(&earlier))
}

/// As [`compute`] for each of `channels` (with `filter`): one pass of the store over the
/// window for all of them ([`Store::kpi_buckets_by_channel`]). In the order of `channels`.
pub async fn compute_by_channel(
    store: &dyn Store,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    filter: &Filter,
    channels: &[String],
) -> Result<Vec<Vec<Figure>>, RuntimeError> {
    let length = (to - from).max(Duration::microseconds(1));
    let by_channel = store
        .kpi_buckets_by_channel(from, length, 1, &filter.to_store())
        .await?;
    let empty = KpiBuckets {
        backlog_before: 0,
        buckets: vec![KpiBucket::default()],
    };
    Ok(channels
        .iter()
        .map(|c| {
            hourly(by_channel.get(c).unwrap_or(&empty))
                .next()
                .unwrap_or_default()
        })
        .collect())
}

/// As [`window_baseline`] for each of `channels` (with `filter`), a pass of the store per
/// period for all of them. In the order of `channels`.
pub async fn window_baseline_by_channel(
    store: &dyn Store,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    periods: u32,
    filter: &Filter,
    channels: &[String],
) -> Result<Vec<Vec<Spread>>, RuntimeError> {
    let mut earlier: Vec<Vec<Vec<Figure>>> = vec![Vec::new(); channels.len()];
    for (a, b) in kpi::earlier_periods(from, to, periods) {
        let figures = compute_by_channel(store, a, b, filter, channels).await?;
        for (list, f) in earlier.iter_mut().zip(figures) {
            list.push(f);
        }
    }
    Ok(earlier.iter().map(|e| kpi::spreads(e)).collect())
}

/// As [`heatmap::heatmaps`] over `[from, to)`, from the store's counts of tickets created per
/// clock hour and channel.
pub async fn heatmaps(
    store: &dyn Store,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Heatmap>, RuntimeError> {
    let counts = store
        .kpi_created(from, to, heatmap::HOURLY_ORIGIN, Duration::hours(1))
        .await?;
    Ok(heatmap::of_hourly_counts(&counts, from, to))
}

/// As [`volume::of_facts`], from the store's counts of tickets created per bucket in the window
/// and in each earlier period.
pub async fn volume(
    store: &dyn Store,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    periods: u32,
) -> Result<Volume, RuntimeError> {
    let bucket = volume::bucket_length(from, to);
    // Per period, side and bucket; each bucket's channels added up.
    let mut counts: BTreeMap<(u32, Side, i64), u64> = BTreeMap::new();
    for k in 0..=periods {
        let shift = volume::shift(from, to, k);
        let (a, b) = (from - shift, to - shift);
        for c in store.kpi_created(a, b, a, bucket).await? {
            *counts.entry((k, c.side, c.bucket)).or_default() += c.tickets;
        }
    }
    Ok(volume::assemble(from, to, periods, |k, side, i| {
        let i = i64::try_from(i).unwrap_or(i64::MAX);
        counts.get(&(k, side, i)).copied().unwrap_or(0)
    }))
}

#[cfg(test)]
#[path = "kpi_stored_tests.rs"]
mod tests;
