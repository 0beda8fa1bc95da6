//! The monitor's API probes over SQL.

use chrono::{DateTime, Utc};
use cutover_model::Side;
use sqlx::{ColumnIndex, Decode, Encode, Executor, Type};

use crate::error::{CorruptValue, QueryContext, StoreError};
use crate::probes::ApiProbe;
use crate::sql::codec::{from_micros, stored_time};
use crate::sql::dialect::Dialect;
use crate::sql::store::SqlStore;

const RECORD_PROBE: &str =
    "INSERT INTO api_probes (side, at_us, millis, status, ok) VALUES ($1, $2, $3, $4, $5)";

const PROBES: &str = "SELECT side, at_us, millis, status, ok FROM api_probes \
     WHERE at_us >= $1 AND at_us < $2 ORDER BY at_us, id";

/// A row of [`PROBES`].
type ProbeRow = (String, i64, i64, Option<i64>, i64);

fn corrupt(column: &'static str, what: String) -> StoreError {
    StoreError::Corrupt {
        table: "api_probes",
        column,
        source: CorruptValue::Other(what),
    }
}

impl<DB> SqlStore<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
{
    pub(crate) async fn record_probe_sql(&self, probe: &ApiProbe) -> Result<(), StoreError> {
        let mut tx = self.begin_sql().await?;
        sqlx::query::<DB>(RECORD_PROBE)
            .bind(probe.side.as_str())
            .bind(stored_time(probe.at).timestamp_micros())
            .bind(i64::try_from(probe.millis).unwrap_or(i64::MAX))
            .bind(probe.status.map(i64::from))
            .bind(i64::from(probe.ok))
            .execute(tx.conn())
            .await
            .during(|| format!("keep a probe of the {} side's api", probe.side))?;
        tx.commit_sql().await
    }

    pub(crate) async fn probes_sql(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ApiProbe>, StoreError> {
        let rows: Vec<ProbeRow> = sqlx::query_as::<DB, ProbeRow>(PROBES)
            .bind(from.timestamp_micros())
            .bind(to.timestamp_micros())
            .fetch_all(self.pool())
            .await
            .during(|| String::from("read the api probes"))?;
        rows.into_iter()
            .map(|(side, at_us, millis, status, ok)| {
                Ok(ApiProbe {
                    side: side
                        .parse::<Side>()
                        .map_err(|_| corrupt("side", format!("unknown side {side:?}")))?,
                    at: from_micros("api_probes", "at_us", at_us)?,
                    millis: u64::try_from(millis)
                        .map_err(|_| corrupt("millis", format!("negative: {millis}")))?,
                    status: status
                        .map(|s| u16::try_from(s).map_err(|_| corrupt("status", format!("{s}"))))
                        .transpose()?,
                    ok: ok != 0,
                })
            })
            .collect()
    }
}
