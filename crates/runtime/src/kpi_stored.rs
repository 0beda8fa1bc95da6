//! The KPIs and the baseline of [`crate::kpi`], computed from the aggregates the store makes in
//! SQL ([`Store::kpi_buckets`]: counts and nearest-rank percentiles per clock hour) instead of
//! from every ticket's facts read into memory: what is read grows with the hours, not with the
//! tickets. Same definitions, same results, bit for bit: both paths end in
//! [`kpi::figures_of`], and a test holds them against each other on both backends.

use chrono::{DateTime, Duration, Utc};
use cutover_store::{KpiBuckets, Store};

use crate::error::RuntimeError;
use crate::kpi::{self, Baseline, Figure, Filter};

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

#[cfg(test)]
#[path = "kpi_stored_tests.rs"]
mod tests;
