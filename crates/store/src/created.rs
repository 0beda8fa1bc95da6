//! What cutover created on a platform, as opposed to what it found there and linked: the
//! ledger `cutover cleanup` deletes from, and only from.

use cutover_model::{PlatformId, RecordKind, Side};

/// A record cutover created on `side` as the copy of `source_id` on the other side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedRecord {
    /// The platform it was created on.
    pub side: Side,
    /// Its kind.
    pub kind: RecordKind,
    /// Its id there.
    pub id: PlatformId,
    /// The id of the record it copies, on the other side.
    pub source_id: PlatformId,
    /// The record it belongs to on `side`, for a comment (its ticket) or a file (its comment or
    /// ticket): it goes with that record, or is removed on its own when that record is not
    /// cutover's.
    pub parent: Option<PlatformId>,
}
