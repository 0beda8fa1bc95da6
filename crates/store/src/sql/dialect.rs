//! What differs between the SQL backends.

use sqlx::{Database, IntoArguments};

use crate::url::Backend;

/// A database the store runs on, with the statements in which it differs from the others.
///
/// Code generic over a dialect also states, in its `where` clauses, the driver capabilities it
/// uses (an executor over a connection, and the column types text, integer, time and JSON):
/// Rust does not carry such bounds from a trait to its users, so they are repeated where needed.
pub(crate) trait Dialect: Database<Arguments: IntoArguments<Self>> {
    /// Which public backend this is.
    const BACKEND: Backend;

    /// The statement that starts a write transaction, if not the driver's default `BEGIN`.
    const BEGIN_WRITE: Option<&'static str>;

    /// Whether a write of one statement may run outside a transaction, as its own (committed
    /// and flushed before the driver answers): one round trip instead of four (the pool's
    /// check, `BEGIN`, the statement, `COMMIT`). Not on SQLite, whose writers take the write
    /// lock up front (`BEGIN IMMEDIATE`) and have no round trip to save.
    const ONE_STATEMENT_COMMITS: bool;

    /// Reads the audit chain head (`seq`, `hash`) and holds it until the transaction ends, so
    /// appends from concurrent transactions form one chain.
    const LOCK_AUDIT_HEAD: &'static str;

    /// Reads the token of lease `$1` and holds the row until the transaction ends: the fence of
    /// a leader's write ([`crate::Fence`]), which a takeover waits for.
    const FENCE_TOKEN: &'static str;

    /// Claims outbox items: binds target side, limit, lease end and now (microseconds), and
    /// returns the claimed rows.
    const CLAIM_OUTBOX: &'static str;

    /// Reads the database's clock as microseconds since the epoch (leases are timed by it, so
    /// processes whose clocks disagree still agree on who holds one).
    const NOW_US: &'static str;
    /// Claims contacts: binds limit, lease end, now (microseconds) and the pending status, and
    /// returns the claimed rows (only each customer's oldest pending contact).
    const CLAIM_CONTACTS: &'static str;

    /// The SQL expression of a time column (`received_at`, `delivered_at`) as milliseconds since
    /// the epoch, times 1,000 (microseconds to the millisecond: SQLite's date functions read no
    /// finer); NULL when the column is.
    fn epoch_us(column: &str) -> String;

    /// The SQL condition that the text `item` is one of the list `list` (a parameter bound to
    /// [`list_param`]'s encoding): an exact match, with no wildcard.
    fn in_list(list: &str, item: &str) -> String;
}

/// The separator of a list bound as one text parameter ([`Dialect::in_list`]): the unit
/// separator, which no platform id (no control characters), channel kind or name holds.
pub(crate) const LIST_SEPARATOR: char = '\u{1f}';

/// `items` as one text parameter for [`Dialect::in_list`]: each item between separators.
pub(crate) fn list_param<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::from(LIST_SEPARATOR);
    for item in items {
        out.push_str(item);
        out.push(LIST_SEPARATOR);
    }
    out
}
