//! Errors of the store: what could not be opened, read or written, and where.
//!
//! Messages are lowercase fragments that read after "failed to". None of them carries a password:
//! URLs are shown redacted, and no error of a connection-string parser is kept as a source.

use std::fmt;
use std::path::PathBuf;

use cutover_model::{ModelError, PlatformId, RecordKind, Side};
use sqlx::error::ErrorKind;

use crate::cursors::Position;

/// Something the store could not do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A store URL that cannot be used. The reason never repeats a password.
    #[error("parse store url {url}: {reason}")]
    Url {
        /// The URL as far as it can be shown: redacted, or only its scheme.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The SQLite file could not be opened or created.
    #[error("open the sqlite store at {}", path.display())]
    OpenSqlite {
        /// The file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: sqlx::Error,
    },
    /// The PostgreSQL server could not be reached or refused the connection.
    #[error("connect to the postgres store at {url}")]
    Connect {
        /// The URL, password redacted.
        url: String,
        /// What the driver said (it never includes the connection string).
        #[source]
        source: sqlx::Error,
    },
    /// The schema could not be brought up to date.
    #[error("migrate the store at {location}")]
    Migrate {
        /// The file or URL (password redacted).
        location: String,
        /// What the migrator said.
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    /// A statement failed.
    #[error("{action}")]
    Query {
        /// What was being done, with the kind, side and id it concerned.
        action: String,
        /// What the database said.
        #[source]
        source: sqlx::Error,
    },
    /// A write of a leader's work under a fencing token that is no longer the lease's: another
    /// process took the lease, and this one's writes change nothing.
    #[error(
        "write under lease {lease:?} with fencing token {}: the lease is held under token {} now, by another process",
        token.map_or_else(|| "none".to_owned(), |t| t.to_string()),
        current.map_or_else(|| "none".to_owned(), |t| t.to_string())
    )]
    Fenced {
        /// The lease.
        lease: String,
        /// The token the write carried (none: this process never led).
        token: Option<i64>,
        /// The lease's token in the store (none: no lease).
        current: Option<i64>,
    },
    /// A stored value does not parse into the model type it holds.
    #[error("read {table}.{column}: the stored value is not valid")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// The column.
        column: &'static str,
        /// Why the value is not valid.
        #[source]
        source: CorruptValue,
    },
    /// Writing a link would give one record two links: the id on `side` is linked to another
    /// record already. Like any error inside a transaction, it leaves the transaction fit only
    /// to be dropped.
    #[error("link {kind} {old_id} to {new_id}: the {side} id is linked to another record")]
    LinkConflict {
        /// The kind of the link.
        kind: RecordKind,
        /// Old-side id of the link being written.
        old_id: PlatformId,
        /// New-side id of the link being written.
        new_id: PlatformId,
        /// The side whose id is taken.
        side: Side,
    },
    /// A link that blocked an insert was gone when it was looked up (removed behind the store's
    /// back).
    #[error(
        "link {kind} {old_id} to {new_id}: a conflicting link vanished before it could be read"
    )]
    LinkVanished {
        /// The kind of the link.
        kind: RecordKind,
        /// Old-side id of the link being written.
        old_id: PlatformId,
        /// New-side id of the link being written.
        new_id: PlatformId,
    },
    /// A cursor may only move forward; `clear_cursor` starts a stream over.
    #[error("move cursor {stream} on the {side} side from {from} back to {to}")]
    CursorBackwards {
        /// The side read.
        side: Side,
        /// The stream name.
        stream: String,
        /// The stored position.
        from: Position,
        /// The earlier position that was refused.
        to: Position,
    },
    /// The audit log's hash chain is broken at an entry.
    #[error("verify audit entry {seq}: {problem}")]
    AuditTampered {
        /// The first entry found bad.
        seq: i64,
        /// What is wrong with it.
        problem: AuditProblem,
    },
}

impl StoreError {
    /// Whether this error says the audit log was tampered with (as opposed to the store failing).
    pub fn is_tampering(&self) -> bool {
        matches!(self, StoreError::AuditTampered { .. })
    }

    /// Whether a deposed leader's write was refused ([`StoreError::Fenced`]).
    pub fn is_fenced(&self) -> bool {
        matches!(self, StoreError::Fenced { .. })
    }

    /// Whether the database refused a write because it would break a unique constraint.
    pub fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Query { source, .. } => is_unique_violation(source),
            StoreError::LinkConflict { .. } => true,
            _ => false,
        }
    }

    /// Whether the database gave this statement up to break a deadlock (PostgreSQL's SQLSTATE
    /// 40P01, `deadlock_detected`): the other side committed, and the same write tried again
    /// goes through.
    pub fn is_deadlock(&self) -> bool {
        matches!(self, StoreError::Query { source: sqlx::Error::Database(db), .. }
            if db.code().as_deref() == Some("40P01"))
    }
}

/// Whether a driver error is a unique-constraint violation, by its kind (never its SQLSTATE text).
pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.kind() == ErrorKind::UniqueViolation)
}

/// Why a stored value is not valid.
#[derive(Debug, thiserror::Error)]
pub enum CorruptValue {
    /// A side, kind, id or fingerprint that does not parse.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// Any other value outside its rules.
    #[error("{0}")]
    Other(String),
}

/// What is wrong with an audit entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditProblem {
    /// Its hash does not match its content: the entry was edited.
    Edited,
    /// Its sequence number does not follow the entry before it (`0` when it is the first found):
    /// entries between were removed, or the entries were reordered.
    Gap {
        /// The sequence number of the entry before it.
        previous: i64,
    },
    /// Its `prev_hash` is not the hash of the entry before it: an entry was removed, replaced or
    /// moved.
    Unchained,
    /// The chain head records this entry, but the log ends before it at `last`: entries at the
    /// end were removed.
    Truncated {
        /// The last entry present (`0` when none is).
        last: i64,
    },
    /// It is the last entry, consistent in itself, but its hash is not the one the chain head
    /// recorded: it was replaced.
    Replaced,
}

impl fmt::Display for AuditProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuditProblem::Edited => {
                f.write_str("its hash does not match its content, so it was edited")
            }
            AuditProblem::Gap { previous: 0 } => {
                f.write_str("it is the first entry found, so entries before it were removed")
            }
            AuditProblem::Gap { previous } => write!(
                f,
                "it follows entry {previous}, so entries between were removed or reordered"
            ),
            AuditProblem::Unchained => f.write_str(
                "its prev_hash is not the hash of the entry before it, so an entry was removed, \
                 replaced or reordered",
            ),
            AuditProblem::Truncated { last } => write!(
                f,
                "it is recorded as the chain head but the log ends at entry {last}, so entries \
                 at the end were removed"
            ),
            AuditProblem::Replaced => {
                f.write_str("its hash is not the one the chain head recorded, so it was replaced")
            }
        }
    }
}

/// Adds what was being done to a driver error.
pub(crate) trait QueryContext<T> {
    /// Wraps the error with the action, built only on failure.
    fn during(self, action: impl FnOnce() -> String) -> Result<T, StoreError>;
}

impl<T> QueryContext<T> for Result<T, sqlx::Error> {
    fn during(self, action: impl FnOnce() -> String) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Query {
            action: action(),
            source,
        })
    }
}
