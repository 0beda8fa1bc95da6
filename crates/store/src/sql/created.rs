//! The ledger of what cutover created, over SQL.

use cutover_model::{PlatformId, RecordKind, Side};
use sqlx::{ColumnIndex, Decode, Encode, Executor, Type};

use crate::created::CreatedRecord;
use crate::error::{QueryContext, StoreError};
use crate::sql::codec::CreatedRow;
use crate::sql::dialect::Dialect;
use crate::sql::store::SqlStore;

const CREATED_PAGE: &str = "SELECT side, kind, record_id, source_id, parent_id FROM created_records \
     WHERE side = $1 AND ($2 IS NULL OR kind > $2 OR (kind = $2 AND record_id > $3)) \
     ORDER BY kind, record_id LIMIT $4";

impl<DB> SqlStore<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
{
    pub(crate) async fn created_records_sql(
        &self,
        side: Side,
        after: Option<(RecordKind, &PlatformId)>,
        limit: u32,
    ) -> Result<Vec<CreatedRecord>, StoreError> {
        let rows = sqlx::query_as::<DB, CreatedRow>(CREATED_PAGE)
            .bind(side.as_str())
            .bind(after.map(|(kind, _)| kind.as_str()))
            .bind(after.map(|(_, id)| id.as_str()))
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await
            .during(|| format!("read what cutover created on the {side} side"))?;
        rows.into_iter().map(CreatedRecord::try_from).collect()
    }
}
