//! The ledger of what cutover created, over SQL.

use cutover_model::{PlatformId, RecordKind, SetupKind, Side};
use sqlx::{ColumnIndex, Decode, Encode, Executor, Type};

use crate::created::{CreatedRecord, CreatedSetup, setup_kind_key};
use crate::error::{QueryContext, StoreError};
use crate::sql::codec::{CreatedRow, parse};
use crate::sql::dialect::Dialect;
use crate::sql::store::SqlStore;

const CREATED_PAGE: &str = "SELECT side, kind, record_id, source_id, parent_id FROM created_records \
     WHERE side = $1 AND kind NOT LIKE 'setup:%' AND ($2 IS NULL OR kind > $2 OR (kind = $2 AND record_id > $3)) \
     ORDER BY kind, record_id LIMIT $4";

// Set-up items (see `CreatedSetup`) are kept under `setup:<kind>`, apart from the records.
const SETUP_OF_KIND: &str = "SELECT record_id, source_id, parent_id FROM created_records \
     WHERE side = $1 AND kind = $2 ORDER BY record_id";

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

    pub(crate) async fn created_setup_sql(
        &self,
        side: Side,
        kind: SetupKind,
    ) -> Result<Vec<CreatedSetup>, StoreError> {
        let rows = sqlx::query_as::<DB, (String, String, Option<String>)>(SETUP_OF_KIND)
            .bind(side.as_str())
            .bind(setup_kind_key(kind))
            .fetch_all(self.pool())
            .await
            .during(|| format!("read the {kind}s cutover added on the {side} side"))?;
        rows.into_iter()
            .map(|(id, name, parent)| {
                Ok(CreatedSetup {
                    side,
                    kind,
                    id: parse("created_records", "record_id", &id)?,
                    name,
                    parent: parent
                        .map(|p| parse("created_records", "parent_id", &p))
                        .transpose()?,
                })
            })
            .collect()
    }
}
