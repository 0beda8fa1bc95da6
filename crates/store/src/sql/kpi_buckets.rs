//! The KPIs' per-bucket aggregates over SQL: counts and exact nearest-rank percentiles computed
//! by the database, so a baseline over a long history reads a few rows a bucket rather than
//! every ticket. One set of statements serves both backends (window functions, integer
//! arithmetic), for the tickets a filter keeps together or for each channel apart (one pass
//! over the span for every channel); `runtime`'s tests hold the results against the KPIs
//! computed in memory.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use futures::TryStreamExt as _;
use sqlx::{ColumnIndex, Decode, Encode, Executor, Type};

use crate::error::{QueryContext, StoreError};
use crate::kpi::{CONTACT_DEADLINE_SECS, FactFilter, KpiBucket, KpiBuckets, Percentiles};
use crate::sql::dialect::{Dialect, list_param};
use crate::sql::store::SqlStore;

// Every statement takes the filter as $1 (side), $2 (channel), $3 (group), $4 and $5 (a wave's
// channels and its groups as `side:id`, lists as `list_param` makes them; $4 NULL: no wave),
// then the span's start $6, its end $7 and the bucket length $8, all microseconds. Times are non-negative
// offsets from $6 in the span, so integer division is the bucket's number.
fn filter_sql<DB: Dialect>() -> String {
    let channel = DB::in_list("$4", "channel");
    let group = DB::in_list("$5", "side || ':' || group_id");
    format!(
        "($1 IS NULL OR side = $1) AND ($2 IS NULL OR channel = $2) \
         AND ($3 IS NULL OR group_id = $3) AND ($4 IS NULL OR {channel} OR {group})"
    )
}

/// What a statement's rows are keyed by: every ticket the filter keeps together, or each
/// channel apart ([`crate::Store::kpi_buckets_by_channel`]). The key is each row's first column.
#[derive(Clone, Copy)]
struct Key(&'static str);

const ALL: Key = Key("CAST('' AS TEXT)");
const BY_CHANNEL: Key = Key("channel");

fn backlog_before<DB: Dialect>(key: Key) -> String {
    let filter = filter_sql::<DB>();
    format!(
        "SELECT {}, COUNT(*) FROM kpi_tickets WHERE created_us < $6 \
         AND (solved_us IS NULL OR solved_us >= $6) AND {filter} GROUP BY 1",
        key.0
    )
}

// A ticket solved at or before its creation (a platform's rounding) leaves the backlog as it
// comes: counted here, by its creation.
fn created<DB: Dialect>(key: Key) -> String {
    let filter = filter_sql::<DB>();
    format!(
        "SELECT {}, (created_us - $6) / $8, COUNT(*), \
         CAST(SUM(CASE WHEN priority_raised <> 0 OR reassigned <> 0 THEN 1 ELSE 0 END) AS BIGINT), \
         CAST(SUM(CASE WHEN solved_us < created_us THEN 1 ELSE 0 END) AS BIGINT) \
         FROM kpi_tickets WHERE created_us >= $6 AND created_us < $7 AND {filter} GROUP BY 1, 2",
        key.0
    )
}

fn solved<DB: Dialect>(key: Key) -> String {
    let filter = filter_sql::<DB>();
    format!(
        "SELECT {}, (solved_us - $6) / $8, COUNT(*), \
         CAST(SUM(CASE WHEN agent_replies <= 1 AND reopened = 0 THEN 1 ELSE 0 END) AS BIGINT), \
         CAST(SUM(CASE WHEN reopened > 0 THEN 1 ELSE 0 END) AS BIGINT), \
         COUNT(satisfaction), CAST(COALESCE(SUM(satisfaction), 0) AS BIGINT), COUNT(assignee_id), \
         CAST(SUM(CASE WHEN solved_us >= created_us THEN 1 ELSE 0 END) AS BIGINT) \
         FROM kpi_tickets WHERE solved_us >= $6 AND solved_us < $7 AND {filter} GROUP BY 1, 2",
        key.0
    )
}

fn agent_hours<DB: Dialect>(key: Key) -> String {
    let filter = filter_sql::<DB>();
    format!(
        "SELECT k, bucket, COUNT(*) FROM (SELECT DISTINCT {} AS k, \
         (solved_us - $6) / $8 AS bucket, assignee_id, solved_us / 3600000000 AS clock_hour \
         FROM kpi_tickets WHERE solved_us >= $6 AND solved_us < $7 AND assignee_id IS NOT NULL \
         AND {filter}) pairs GROUP BY k, bucket",
        key.0
    )
}

/// The end of the bucket a row falls in by `bucket_of`.
fn bucket_end(bucket_of: &str) -> String {
    format!("($6 + (({bucket_of} - $6) / $8 + 1) * $8)")
}

/// The statement that picks the nearest-rank median and 90th percentile of `end - start` (in
/// whole seconds) per key and bucket of `bucket_of` among the rows `keep` keeps: rank
/// `ceil(n / 2)` is `(n + 1) / 2` and rank `ceil(9 n / 10)` is `(9 n + 9) / 10` in integer
/// arithmetic.
fn percentiles<DB: Dialect>(
    key: Key,
    bucket_of: &str,
    start: &str,
    end: &str,
    keep: &str,
) -> String {
    let filter = filter_sql::<DB>();
    let key = key.0;
    format!(
        "SELECT k, bucket, n, rank, secs FROM (SELECT {key} AS k, ({bucket_of} - $6) / $8 AS bucket, \
         ({end} - {start}) / 1000000 AS secs, \
         ROW_NUMBER() OVER (PARTITION BY {key}, ({bucket_of} - $6) / $8 ORDER BY {end} - {start}) AS rank, \
         COUNT(*) OVER (PARTITION BY {key}, ({bucket_of} - $6) / $8) AS n \
         FROM kpi_tickets WHERE {bucket_of} >= $6 AND {bucket_of} < $7 AND {keep} AND {filter}) ranked \
         WHERE rank = (n + 1) / 2 OR rank = (9 * n + 9) / 10"
    )
}

/// Each ticket's wait for a first reply as of the end of its creation's bucket (`runtime`'s
/// `first_reply_p50`), in key and bucket order: the key, the bucket, the whole seconds, and 1
/// when the wait had ended (answered before the bucket's end) or 0 when it still went on
/// (unanswered and unsolved then). A ticket solved without a reply before then is left out.
/// The percentiles are the Kaplan-Meier estimate ([`Percentiles::of_waits`]), made from these
/// rows a bucket at a time.
fn first_reply_waits<DB: Dialect>(key: Key) -> String {
    let filter = filter_sql::<DB>();
    let end = bucket_end("created_us");
    let answered = format!("first_reply_us IS NOT NULL AND first_reply_us < {end}");
    format!(
        "SELECT {}, (created_us - $6) / $8, \
         ((CASE WHEN {answered} THEN first_reply_us ELSE {end} END) - created_us) / 1000000, \
         CAST(CASE WHEN {answered} THEN 1 ELSE 0 END AS BIGINT) \
         FROM kpi_tickets WHERE created_us >= $6 AND created_us < $7 \
         AND (first_reply_us IS NOT NULL OR solved_us IS NULL OR solved_us >= {end}) \
         AND {filter} ORDER BY 1, 2",
        key.0
    )
}

// The probes' statements take the side $1, the span's start $2, its end $3 and the bucket
// length $4 (microseconds). A probe is the side's: no channel or group narrows it.
const PROBES: &str = "SELECT (at_us - $2) / $4, COUNT(*), CAST(SUM(ok) AS BIGINT) \
     FROM api_probes WHERE at_us >= $2 AND at_us < $3 AND ($1 IS NULL OR side = $1) GROUP BY 1";

/// The nearest-rank 90th percentile of the probes' times per bucket (rank `(9 n + 9) / 10`).
const PROBE_P90: &str = "SELECT bucket, millis FROM (SELECT (at_us - $2) / $4 AS bucket, millis, \
     ROW_NUMBER() OVER (PARTITION BY (at_us - $2) / $4 ORDER BY millis) AS rank, \
     COUNT(*) OVER (PARTITION BY (at_us - $2) / $4) AS n \
     FROM api_probes WHERE at_us >= $2 AND at_us < $3 AND ($1 IS NULL OR side = $1)) ranked \
     WHERE rank = (9 * n + 9) / 10";

/// The gateway's contacts per bucket (`channel_availability`): those whose delivery can be
/// judged at the bucket's end, and those delivered in time. Takes the side $1 (a contact not
/// tried yet, side NULL, is kept on either side), the gateway's channels $2 (a list by
/// `list_param`, `[[channels]]` names; NULL: every one), the span's start $3, its end
/// $4, the bucket length $5, all microseconds, and the span widened by a second, $6 and $7, as
/// times: the index on `received_at` narrows the rows before their times are converted.
fn contacts<DB: Dialect>() -> String {
    let received = DB::epoch_us("received_at");
    let delivered = DB::epoch_us("delivered_at");
    let end = "($3 + ((r - $3) / $5 + 1) * $5)";
    let deadline = format!("(r + {})", CONTACT_DEADLINE_SECS * 1_000_000);
    let channels = DB::in_list("$2", "channel");
    format!(
        "SELECT (r - $3) / $5, COUNT(*), \
         CAST(SUM(CASE WHEN d IS NOT NULL AND d <= {deadline} AND d < {end} THEN 1 ELSE 0 END) \
         AS BIGINT) FROM (SELECT {received} AS r, {delivered} AS d FROM contacts \
         WHERE received_at >= $6 AND received_at < $7 AND ($1 IS NULL OR side IS NULL OR side = $1) \
         AND ($2 IS NULL OR {channels})) c \
         WHERE r >= $3 AND r < $4 AND ({deadline} <= {end} OR (d IS NOT NULL AND d < {end})) \
         GROUP BY 1"
    )
}

/// A row of [`solved`]: key, bucket, solved, first contact, reopened, rated, sum of ratings,
/// assigned, left.
type SolvedRow = (String, i64, i64, i64, i64, i64, i64, i64, i64);

/// A query of one of the span's statements (`$1` side, `$2` channel, `$3` group, `$4` and `$5`
/// a wave's channels and groups, `$6` start, `$7` end, `$8` bucket length) with those bound, in
/// that order, from the tuple `$binds`.
macro_rules! spanned {
    ($row:ty, $sql:expr, $binds:expr) => {
        sqlx::query_as::<DB, $row>(sqlx::AssertSqlSafe($sql.as_str()))
            .bind($binds.0)
            .bind($binds.1)
            .bind($binds.2)
            .bind($binds.3)
            .bind($binds.4)
            .bind($binds.5)
            .bind($binds.6)
            .bind($binds.7)
    };
}

/// A wave's channels and groups as the statements' `$4` and `$5` take them (`None`: no wave).
fn wave_lists(filter: &FactFilter) -> (Option<String>, Option<String>) {
    let Some(wave) = &filter.wave else {
        return (None, None);
    };
    let groups: Vec<String> = wave
        .groups
        .iter()
        .map(|(side, id)| format!("{}:{id}", side.as_str()))
        .collect();
    (
        Some(list_param(wave.channels.iter().map(String::as_str))),
        Some(list_param(groups.iter().map(String::as_str))),
    )
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Each key's buckets, made as a key first shows.
struct Keyed {
    n_buckets: usize,
    by_key: BTreeMap<String, KpiBuckets>,
}

impl Keyed {
    fn slot(&mut self, key: String, bucket: i64) -> Option<&mut KpiBucket> {
        self.of(key).buckets.get_mut(usize::try_from(bucket).ok()?)
    }

    fn of(&mut self, key: String) -> &mut KpiBuckets {
        let n = self.n_buckets;
        self.by_key.entry(key).or_insert_with(|| KpiBuckets {
            backlog_before: 0,
            buckets: vec![KpiBucket::default(); n],
        })
    }
}

impl<DB> SqlStore<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> String: Decode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Type<DB>,
{
    pub(crate) async fn kpi_buckets_sql(
        &self,
        from: DateTime<Utc>,
        length: Duration,
        n_buckets: u32,
        filter: &FactFilter,
    ) -> Result<KpiBuckets, StoreError> {
        let mut keyed = self
            .kpi_buckets_keyed(from, length, n_buckets, filter, ALL)
            .await?;
        let mut out = keyed
            .by_key
            .remove("")
            .unwrap_or_else(|| keyed.of(String::new()).clone());
        // The side's API probes and the gateway's contacts: not tickets, so not keyed by a
        // ticket's channel; only this unkeyed aggregate carries them.
        let length_us = length.num_microseconds().unwrap_or(i64::MAX).max(1);
        let from_us = from.timestamp_micros();
        let to_us = from_us.saturating_add(length_us.saturating_mul(i64::from(n_buckets)));
        let span = (from_us, to_us, length_us);
        self.probe_buckets(&mut out.buckets, span, filter).await?;
        self.contact_buckets(&mut out.buckets, span, filter).await?;
        Ok(out)
    }

    pub(crate) async fn kpi_count_sql(&self, filter: &FactFilter) -> Result<u64, StoreError> {
        let (wave_channels, wave_groups) = wave_lists(filter);
        let sql = format!(
            "SELECT COUNT(*) FROM kpi_tickets WHERE {}",
            filter_sql::<DB>()
        );
        let n: i64 = sqlx::query_scalar::<DB, i64>(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(filter.side.map(|s| s.as_str()))
            .bind(filter.channel.as_deref())
            .bind(filter.group.as_deref())
            .bind(wave_channels.as_deref())
            .bind(wave_groups.as_deref())
            .fetch_one(self.pool())
            .await
            .during(|| String::from("count the KPI facts of tickets"))?;
        Ok(count(n))
    }

    pub(crate) async fn kpi_buckets_by_channel_sql(
        &self,
        from: DateTime<Utc>,
        length: Duration,
        n_buckets: u32,
        filter: &FactFilter,
    ) -> Result<BTreeMap<String, KpiBuckets>, StoreError> {
        let keyed = self
            .kpi_buckets_keyed(from, length, n_buckets, filter, BY_CHANNEL)
            .await?;
        Ok(keyed.by_key)
    }

    async fn kpi_buckets_keyed(
        &self,
        from: DateTime<Utc>,
        length: Duration,
        n_buckets: u32,
        filter: &FactFilter,
        key: Key,
    ) -> Result<Keyed, StoreError> {
        let length_us = length.num_microseconds().unwrap_or(i64::MAX).max(1);
        let from_us = from.timestamp_micros();
        let to_us = from_us.saturating_add(length_us.saturating_mul(i64::from(n_buckets)));
        let side = filter.side.map(|s| s.as_str());
        let channel = filter.channel.as_deref();
        let group = filter.group.as_deref();
        let (wave_channels, wave_groups) = wave_lists(filter);
        let (wave_channels, wave_groups) = (wave_channels.as_deref(), wave_groups.as_deref());
        let binds = (
            side,
            channel,
            group,
            wave_channels,
            wave_groups,
            from_us,
            to_us,
            length_us,
        );
        let mut out = Keyed {
            n_buckets: usize::try_from(n_buckets).unwrap_or(0),
            by_key: BTreeMap::new(),
        };
        let what = || String::from("aggregate the KPI facts of tickets");

        let sql = backlog_before::<DB>(key);
        let rows: Vec<(String, i64)> = sqlx::query_as::<DB, _>(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(side)
            .bind(channel)
            .bind(group)
            .bind(wave_channels)
            .bind(wave_groups)
            .bind(from_us)
            .fetch_all(self.pool())
            .await
            .during(what)?;
        for (k, backlog) in rows {
            out.of(k).backlog_before = count(backlog);
        }

        let sql = created::<DB>(key);
        let rows: Vec<(String, i64, i64, i64, i64)> = spanned!(_, sql, binds)
            .fetch_all(self.pool())
            .await
            .during(what)?;
        for (k, bucket, created, escalated, left_at_creation) in rows {
            if let Some(b) = out.slot(k, bucket) {
                b.created = count(created);
                b.escalated = count(escalated);
                b.left += count(left_at_creation);
            }
        }

        let sql = solved::<DB>(key);
        let rows: Vec<SolvedRow> = spanned!(_, sql, binds)
            .fetch_all(self.pool())
            .await
            .during(what)?;
        for (k, bucket, solved, first_contact, reopened, rated, rating_sum, assigned, left) in rows
        {
            if let Some(b) = out.slot(k, bucket) {
                b.solved = count(solved);
                b.first_contact = count(first_contact);
                b.reopened = count(reopened);
                b.rated = count(rated);
                b.rating_sum = count(rating_sum);
                b.solved_assigned = count(assigned);
                b.left += count(left);
            }
        }

        let sql = agent_hours::<DB>(key);
        let rows: Vec<(String, i64, i64)> = spanned!(_, sql, binds)
            .fetch_all(self.pool())
            .await
            .during(what)?;
        for (k, bucket, pairs) in rows {
            if let Some(b) = out.slot(k, bucket) {
                b.agent_hours = count(pairs);
            }
        }

        let sql = percentiles::<DB>(
            key,
            "solved_us",
            "created_us",
            "solved_us",
            "solved_us IS NOT NULL",
        );
        let rows: Vec<(String, i64, i64, i64, i64)> = spanned!(_, sql, binds)
            .fetch_all(self.pool())
            .await
            .during(what)?;
        for (k, bucket, n, rank, secs) in rows {
            if let Some(b) = out.slot(k, bucket) {
                let p = &mut b.resolution;
                p.n = count(n);
                if rank == (n + 1) / 2 {
                    p.p50_secs = Some(secs);
                }
                if rank == (9 * n + 9) / 10 {
                    p.p90_secs = Some(secs);
                }
            }
        }

        // The waits, streamed in key and bucket order and estimated a bucket at a time: what
        // is held is one bucket's tickets, never the span's.
        let sql = first_reply_waits::<DB>(key);
        let mut rows = spanned!((String, i64, i64, i64), sql, binds).fetch(self.pool());
        let mut current: Option<(String, i64)> = None;
        let mut waits: Vec<(i64, bool)> = Vec::new();
        while let Some((k, bucket, secs, ended)) = rows.try_next().await.during(what)? {
            if current
                .as_ref()
                .is_none_or(|(ck, cb)| *ck != k || *cb != bucket)
            {
                if let Some(b) = current.take().and_then(|(ck, cb)| out.slot(ck, cb)) {
                    b.first_reply = Percentiles::of_waits(&mut waits);
                }
                waits.clear();
                current = Some((k, bucket));
            }
            waits.push((secs, ended != 0));
        }
        if let Some(b) = current.and_then(|(ck, cb)| out.slot(ck, cb)) {
            b.first_reply = Percentiles::of_waits(&mut waits);
        }
        drop(rows);
        Ok(out)
    }

    /// The probes' counts and 90th percentile per bucket of the span `(from, to, length)` (µs).
    async fn probe_buckets(
        &self,
        buckets: &mut [KpiBucket],
        (from_us, to_us, length_us): (i64, i64, i64),
        filter: &FactFilter,
    ) -> Result<(), StoreError> {
        let side = filter.side.map(|s| s.as_str());
        let what = || String::from("aggregate the api probes");
        let rows: Vec<(i64, i64, i64)> = sqlx::query_as::<DB, _>(PROBES)
            .bind(side)
            .bind(from_us)
            .bind(to_us)
            .bind(length_us)
            .fetch_all(self.pool())
            .await
            .during(what)?;
        for (bucket, n, ok) in rows {
            if let Some(b) = slot(buckets, bucket) {
                b.probes = count(n);
                b.probes_ok = count(ok);
            }
        }
        let rows: Vec<(i64, i64)> = sqlx::query_as::<DB, _>(PROBE_P90)
            .bind(side)
            .bind(from_us)
            .bind(to_us)
            .bind(length_us)
            .fetch_all(self.pool())
            .await
            .during(what)?;
        for (bucket, millis) in rows {
            if let Some(b) = slot(buckets, bucket) {
                b.probe_p90_ms = Some(millis);
            }
        }
        Ok(())
    }

    /// The gateway's contacts judged and delivered in time per bucket of the span.
    async fn contact_buckets(
        &self,
        buckets: &mut [KpiBucket],
        (from_us, to_us, length_us): (i64, i64, i64),
        filter: &FactFilter,
    ) -> Result<(), StoreError> {
        let time = |us: i64| DateTime::<Utc>::from_timestamp_micros(us).unwrap_or_default();
        let sql = contacts::<DB>();
        let gateway_channels = filter
            .gateway_channels
            .as_ref()
            .map(|names| list_param(names.iter().map(String::as_str)));
        let rows: Vec<(i64, i64, i64)> = sqlx::query_as::<DB, _>(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(filter.side.map(|s| s.as_str()))
            .bind(gateway_channels.as_deref())
            .bind(from_us)
            .bind(to_us)
            .bind(length_us)
            .bind(time(from_us.saturating_sub(1_000_000)))
            .bind(time(to_us.saturating_add(1_000_000)))
            .fetch_all(self.pool())
            .await
            .during(|| String::from("aggregate the gateway's contacts"))?;
        for (bucket, judged, in_time) in rows {
            if let Some(b) = slot(buckets, bucket) {
                b.contacts = count(judged);
                b.contacts_in_time = count(in_time);
            }
        }
        Ok(())
    }
}

fn slot(buckets: &mut [KpiBucket], bucket: i64) -> Option<&mut KpiBucket> {
    buckets.get_mut(usize::try_from(bucket).ok()?)
}
