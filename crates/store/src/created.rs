//! What cutover created on a platform, as opposed to what it found there and linked: the
//! ledger `cutover cleanup` deletes from, and only from.

use cutover_model::{PlatformId, RecordKind, SetupKind, Side};

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

/// Something cutover added to the set-up of `side` that is no record of the move (a brand, a
/// ticket type, a group membership): kept in the same ledger, under its own kind, so `cutover
/// cleanup` removes it too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedSetup {
    /// The platform it was added to.
    pub side: Side,
    /// What it is.
    pub kind: SetupKind,
    /// Its id there (a ticket type's is its name).
    pub id: PlatformId,
    /// What it is, for people: a brand's or type's name, a membership's agent and group.
    pub name: String,
    /// The record it belongs to on `side`, when it belongs to one: a membership's agent, whose
    /// link a cleanup forgets with it (so a later backfill gives the agent its groups again).
    pub parent: Option<PlatformId>,
}

/// The ledger's kind of a set-up item: apart from every record kind's.
pub(crate) fn setup_kind_key(kind: SetupKind) -> String {
    format!("setup:{kind}")
}
