//! Per-ticket KPI facts over SQL.

use chrono::{DateTime, Utc};
use cutover_model::{PlatformId, Side};
use sqlx::{AssertSqlSafe, ColumnIndex, Decode, Encode, Executor, Type};

use crate::error::{QueryContext, StoreError};
use crate::kpi::{KpiGroup, TicketFacts, TicketReading};
use crate::sql::codec::{KpiTicketRow, now, parse};
use crate::sql::dialect::Dialect;
use crate::sql::store::SqlStore;

// One statement per reading: what only a sequence of readings shows is counted against the row
// as it stood (a solved ticket seen unsolved is a reopening; a higher priority rank is a raise; a
// different group is a reassignment).
const RECORD_TICKET: &str = "INSERT INTO kpi_tickets (side, ticket_id, channel, group_id, \
     assignee_id, priority_rank, created_us, first_reply_us, agent_replies, solved_us, seen_us) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, COALESCE($9, 0), $10, $11) \
     ON CONFLICT (side, ticket_id) DO UPDATE SET \
     reopened = kpi_tickets.reopened + CASE WHEN kpi_tickets.solved_us IS NOT NULL \
         AND excluded.solved_us IS NULL THEN 1 ELSE 0 END, \
     priority_raised = CASE WHEN kpi_tickets.priority_rank IS NOT NULL \
         AND excluded.priority_rank > kpi_tickets.priority_rank THEN 1 \
         ELSE kpi_tickets.priority_raised END, \
     reassigned = CASE WHEN kpi_tickets.group_id IS NOT NULL AND excluded.group_id IS NOT NULL \
         AND excluded.group_id <> kpi_tickets.group_id THEN 1 ELSE kpi_tickets.reassigned END, \
     channel = excluded.channel, group_id = excluded.group_id, \
     assignee_id = excluded.assignee_id, priority_rank = excluded.priority_rank, \
     created_us = excluded.created_us, \
     first_reply_us = COALESCE(excluded.first_reply_us, kpi_tickets.first_reply_us), \
     agent_replies = CASE WHEN $9 IS NULL THEN kpi_tickets.agent_replies \
         ELSE excluded.agent_replies END, \
     solved_us = excluded.solved_us, seen_us = excluded.seen_us";

const RECORD_SATISFACTION: &str = "UPDATE kpi_tickets SET satisfaction = $3 WHERE side = $1 AND ticket_id = $2 \
     RETURNING ticket_id";

const RECORD_GROUP: &str = "INSERT INTO kpi_groups (side, group_id, name) VALUES ($1, $2, $3) \
     ON CONFLICT (side, group_id) DO UPDATE SET name = excluded.name";

const KPI_GROUPS: &str = "SELECT side, group_id, name FROM kpi_groups ORDER BY side, group_id";

const TICKET_FACTS: &str = "SELECT side, ticket_id, channel, group_id, assignee_id, \
     priority_rank, created_us, first_reply_us, agent_replies, solved_us, reopened, \
     priority_raised, reassigned, satisfaction FROM kpi_tickets \
     WHERE created_us < $2 AND (created_us >= $1 OR solved_us IS NULL OR solved_us >= $1) \
     ORDER BY created_us, side, ticket_id";

const IMPORT_COLUMNS: &str = "INSERT INTO kpi_tickets (side, ticket_id, channel, group_id, \
     assignee_id, priority_rank, created_us, first_reply_us, agent_replies, solved_us, reopened, \
     priority_raised, reassigned, satisfaction, seen_us) VALUES ";
const IMPORT_WIDTH: usize = 15;
/// Rows per statement: 15 parameters each stays under SQLite's and PostgreSQL's limits.
const IMPORT_ROWS: usize = 100;

/// `INSERT … VALUES ($1, …), …` for `rows` rows of [`IMPORT_WIDTH`] parameters.
fn import_statement(rows: usize) -> String {
    let mut sql = String::from(IMPORT_COLUMNS);
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..IMPORT_WIDTH {
            if column > 0 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&(row * IMPORT_WIDTH + column + 1).to_string());
        }
        sql.push(')');
    }
    sql.push_str(" ON CONFLICT (side, ticket_id) DO NOTHING RETURNING ticket_id");
    sql
}

fn us(time: DateTime<Utc>) -> i64 {
    time.timestamp_micros()
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
    for<'q> Option<i64>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
{
    pub(crate) async fn record_ticket_sql(
        &self,
        reading: &TicketReading,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_sql().await?;
        sqlx::query::<DB>(RECORD_TICKET)
            .bind(reading.side.as_str())
            .bind(reading.ticket.as_str())
            .bind(reading.channel.as_str())
            .bind(reading.group.as_deref())
            .bind(reading.assignee.as_deref())
            .bind(reading.priority_rank)
            .bind(us(reading.created_at))
            .bind(reading.first_reply_at.map(us))
            .bind(reading.agent_replies)
            .bind(reading.solved_at.map(us))
            .bind(us(now()))
            .execute(tx.conn())
            .await
            .during(|| {
                format!(
                    "record the KPI facts of ticket {} of the {} side",
                    reading.ticket, reading.side
                )
            })?;
        tx.commit_sql().await
    }

    pub(crate) async fn record_satisfaction_sql(
        &self,
        side: Side,
        ticket: &PlatformId,
        score: u8,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_sql().await?;
        let done = sqlx::query_scalar::<DB, String>(RECORD_SATISFACTION)
            .bind(side.as_str())
            .bind(ticket.as_str())
            .bind(i64::from(score))
            .fetch_optional(tx.conn())
            .await
            .during(|| format!("record the rating of ticket {ticket} of the {side} side"))?;
        tx.commit_sql().await?;
        Ok(done.is_some())
    }

    pub(crate) async fn import_ticket_facts_sql(
        &self,
        facts: &[TicketFacts],
    ) -> Result<u64, StoreError> {
        let seen = us(now());
        let full = import_statement(IMPORT_ROWS);
        let mut written = 0;
        let mut tx = self.begin_sql().await?;
        for chunk in facts.chunks(IMPORT_ROWS) {
            let partial;
            let sql = if chunk.len() == IMPORT_ROWS {
                &full
            } else {
                partial = import_statement(chunk.len());
                &partial
            };
            // Built from constants and parameter numbers only: no value is spliced in.
            let mut query = sqlx::query_scalar::<DB, String>(AssertSqlSafe(sql.as_str()));
            for f in chunk {
                let r = &f.reading;
                query = query
                    .bind(r.side.as_str())
                    .bind(r.ticket.as_str())
                    .bind(r.channel.as_str())
                    .bind(r.group.as_deref())
                    .bind(r.assignee.as_deref())
                    .bind(r.priority_rank)
                    .bind(us(r.created_at))
                    .bind(r.first_reply_at.map(us))
                    .bind(r.agent_replies.unwrap_or(0))
                    .bind(r.solved_at.map(us))
                    .bind(f.reopened)
                    .bind(i64::from(f.priority_raised))
                    .bind(i64::from(f.reassigned))
                    .bind(f.satisfaction.map(i64::from))
                    .bind(seen);
            }
            let done = query
                .fetch_all(tx.conn())
                .await
                .during(|| format!("import the KPI facts of {} tickets", chunk.len()))?;
            written += u64::try_from(done.len()).unwrap_or(u64::MAX);
        }
        tx.commit_sql().await?;
        Ok(written)
    }

    pub(crate) async fn ticket_facts_sql(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<TicketFacts>, StoreError> {
        let rows = sqlx::query_as::<DB, KpiTicketRow>(TICKET_FACTS)
            .bind(us(from))
            .bind(us(to))
            .fetch_all(self.pool())
            .await
            .during(|| String::from("read the KPI facts of tickets"))?;
        rows.into_iter().map(TicketFacts::try_from).collect()
    }

    pub(crate) async fn record_group_sql(
        &self,
        side: Side,
        id: &PlatformId,
        name: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_sql().await?;
        sqlx::query::<DB>(RECORD_GROUP)
            .bind(side.as_str())
            .bind(id.as_str())
            .bind(name)
            .execute(tx.conn())
            .await
            .during(|| format!("keep the name of group {id} of the {side} side"))?;
        tx.commit_sql().await
    }

    pub(crate) async fn kpi_groups_sql(&self) -> Result<Vec<KpiGroup>, StoreError> {
        let rows: Vec<(String, String, String)> = sqlx::query_as::<DB, _>(KPI_GROUPS)
            .fetch_all(self.pool())
            .await
            .during(|| String::from("read the groups' names"))?;
        rows.into_iter()
            .map(|(side, id, name)| {
                Ok(KpiGroup {
                    side: parse("kpi_groups", "side", &side)?,
                    id: parse("kpi_groups", "group_id", &id)?,
                    name,
                })
            })
            .collect()
    }
}
