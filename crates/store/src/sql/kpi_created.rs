//! The arrivals of tickets over SQL: how many were created per side, channel and bucket of
//! time, counted by the database, so a review's volume and heatmaps read a row per bucket and
//! channel rather than every ticket. One statement serves both backends (integer arithmetic);
//! `runtime`'s tests hold the counts against the ones made in memory.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, Type};

use crate::error::{QueryContext, StoreError};
use crate::kpi::CreatedCount;
use crate::sql::codec::parse;
use crate::sql::dialect::Dialect;
use crate::sql::store::SqlStore;

// $1 the span's start, $2 its end, $3 the origin of the buckets, $4 their length, all
// microseconds. Integer division truncates towards zero on both backends; a creation before
// the origin is counted back by the ceiling of the distance, so the bucket is the floor.
const CREATED: &str = "SELECT CASE WHEN created_us >= $3 THEN (created_us - $3) / $4 \
     ELSE -(($3 - created_us + $4 - 1) / $4) END, side, channel, COUNT(*) \
     FROM kpi_tickets WHERE created_us >= $1 AND created_us < $2 GROUP BY 1, 2, 3";

// As `ticket_facts` picks the tickets that matter to a window.
const CHANNELS: &str = "SELECT DISTINCT channel FROM kpi_tickets \
     WHERE created_us < $2 AND (created_us >= $1 OR solved_us IS NULL OR solved_us >= $1)";

impl<DB> SqlStore<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    for<'q> String: Decode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
{
    pub(crate) async fn kpi_created_sql(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        origin: DateTime<Utc>,
        length: Duration,
    ) -> Result<Vec<CreatedCount>, StoreError> {
        let length_us = length.num_microseconds().unwrap_or(i64::MAX).max(1);
        let rows: Vec<(i64, String, String, i64)> = sqlx::query_as::<DB, _>(CREATED)
            .bind(from.timestamp_micros())
            .bind(to.timestamp_micros())
            .bind(origin.timestamp_micros())
            .bind(length_us)
            .fetch_all(self.pool())
            .await
            .during(|| String::from("count the tickets created per bucket"))?;
        let mut counts = rows
            .into_iter()
            .map(|(bucket, side, channel, tickets)| {
                Ok(CreatedCount {
                    bucket,
                    side: parse("kpi_tickets", "side", &side)?,
                    channel,
                    tickets: u64::try_from(tickets).unwrap_or(0),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        // In Rust, not SQL: a PostgreSQL collation would order the channels otherwise.
        counts.sort_unstable();
        Ok(counts)
    }

    pub(crate) async fn kpi_channels_sql(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        let channels: Vec<String> = sqlx::query_scalar::<DB, String>(CHANNELS)
            .bind(from.timestamp_micros())
            .bind(to.timestamp_micros())
            .fetch_all(self.pool())
            .await
            .during(|| String::from("read the channels of the KPI facts"))?;
        let sorted: BTreeSet<String> = channels.into_iter().collect();
        Ok(sorted.into_iter().collect())
    }
}
