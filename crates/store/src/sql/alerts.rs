//! The continuity monitor's alerts over SQL.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{ColumnIndex, Decode, Encode, Executor, Type};

use crate::alerts::{AlertActionRecord, AlertRecord};
use crate::error::{QueryContext, StoreError};
use crate::sql::codec::from_micros;
use crate::sql::dialect::Dialect;
use crate::sql::store::SqlStore;

pub(crate) const PUT_ALERT: &str = "INSERT INTO alerts (id, rule, kpi, state, action, opened_us, \
     closed_us, updated_us, evidence) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
     ON CONFLICT (id) DO UPDATE SET state = excluded.state, action = excluded.action, \
     closed_us = excluded.closed_us, updated_us = excluded.updated_us, \
     evidence = excluded.evidence";

const ALERTS: &str = "SELECT id, rule, kpi, state, action, opened_us, closed_us, updated_us, \
     evidence FROM alerts ORDER BY opened_us DESC, id LIMIT $1";

const ALERTS_SINCE: &str = "SELECT id, rule, kpi, state, action, opened_us, closed_us, \
     updated_us, evidence FROM alerts WHERE closed_us IS NULL OR closed_us >= $1 \
     ORDER BY opened_us DESC, id";

pub(crate) const PUT_ALERT_ACTION: &str = "INSERT INTO alert_actions (id, alert, action, target, \
     details, created_us) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING";

pub(crate) const FINISH_ALERT_ACTION: &str = "UPDATE alert_actions SET done_us = $2, result = $3 \
     WHERE id = $1 AND done_us IS NULL RETURNING id";

const ALERT_ACTIONS: &str = "SELECT id, alert, action, target, details, created_us, done_us, \
     result FROM alert_actions WHERE ($1 = 0 OR done_us IS NULL) ORDER BY created_us, id LIMIT $2";

type ActionRow = (
    String,
    String,
    String,
    Option<String>,
    Json<Value>,
    i64,
    Option<i64>,
    Option<Json<Value>>,
);

fn action_record(row: ActionRow) -> Result<AlertActionRecord, StoreError> {
    let (id, alert, action, target, details, created, done, result) = row;
    Ok(AlertActionRecord {
        id,
        alert,
        action,
        target,
        details: details.0,
        created_at: from_micros("alert_actions", "created_us", created)?,
        done_at: done
            .map(|d| from_micros("alert_actions", "done_us", d))
            .transpose()?,
        result: result.map(|r| r.0),
    })
}

type AlertRow = (
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
    i64,
    Json<Value>,
);

pub(crate) fn us(time: DateTime<Utc>) -> i64 {
    time.timestamp_micros()
}

fn record(row: AlertRow) -> Result<AlertRecord, StoreError> {
    let (id, rule, kpi, state, action, opened, closed, updated, evidence) = row;
    Ok(AlertRecord {
        id,
        rule,
        kpi,
        state,
        action,
        opened_at: from_micros("alerts", "opened_us", opened)?,
        closed_at: closed
            .map(|c| from_micros("alerts", "closed_us", c))
            .transpose()?,
        updated_at: from_micros("alerts", "updated_us", updated)?,
        evidence: evidence.0,
    })
}

impl<DB> SqlStore<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> Json<Value>: Decode<'q, DB> + Type<DB>,
{
    pub(crate) async fn alerts_sql(&self, limit: u32) -> Result<Vec<AlertRecord>, StoreError> {
        let rows = sqlx::query_as::<DB, AlertRow>(ALERTS)
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await
            .during(|| String::from("read the alerts"))?;
        rows.into_iter().map(record).collect()
    }

    pub(crate) async fn alerts_open_since_sql(
        &self,
        from: DateTime<Utc>,
    ) -> Result<Vec<AlertRecord>, StoreError> {
        let rows = sqlx::query_as::<DB, AlertRow>(ALERTS_SINCE)
            .bind(us(from))
            .fetch_all(self.pool())
            .await
            .during(|| format!("read the alerts open since {from}"))?;
        rows.into_iter().map(record).collect()
    }

    pub(crate) async fn alert_actions_sql(
        &self,
        pending_only: bool,
        limit: u32,
    ) -> Result<Vec<AlertActionRecord>, StoreError> {
        let rows = sqlx::query_as::<DB, ActionRow>(ALERT_ACTIONS)
            .bind(i64::from(pending_only))
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await
            .during(|| String::from("read the alerts' actions"))?;
        rows.into_iter().map(action_record).collect()
    }
}
