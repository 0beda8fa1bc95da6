//! Why a traffic run could not start or go on. Per-action trouble (a 422, a 5xx) is not here: it
//! is written to the ledger as the platform's answer and the run continues.

use std::path::PathBuf;

use super::model::Side;

/// A traffic run that cannot start or go on.
#[derive(Debug, thiserror::Error)]
pub enum TrafficError {
    /// Neither side was given.
    #[error("play traffic: no platform given (set an old side, a new side or both)")]
    NoSide,
    /// An option is out of range.
    #[error("play traffic: {0}")]
    Options(String),
    /// The HTTP client could not be built.
    #[error("build the HTTP client for the {side} side: {reason}")]
    Client {
        /// Which side.
        side: Side,
        /// What the client library said.
        reason: String,
    },
    /// The agents or groups could not be read at start.
    #[error("read agents and groups of the {side} side at {path}: {reason}")]
    Roster {
        /// Which side.
        side: Side,
        /// The request path.
        path: String,
        /// Status and body, or the transport error.
        reason: String,
    },
    /// A side has no agent to answer tickets.
    #[error("play traffic on the {side} side: the platform has no active agent")]
    NoAgents {
        /// Which side.
        side: Side,
    },
    /// The ledger could not be written or read.
    #[error("{action} the ledger {path}: {source}")]
    Ledger {
        /// `write` or `read`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A ledger line is not a ledger entry.
    #[error("read the ledger {path}:{line}: {reason}")]
    LedgerLine {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What serde said.
        reason: String,
    },
    /// A platform stopped answering altogether.
    #[error("play traffic on the {side} side: {n} actions in a row got no answer; last: {last}")]
    Unreachable {
        /// Which side.
        side: Side,
        /// How many in a row.
        n: u32,
        /// The last transport error.
        last: String,
    },
    /// `--platform-clock`: an emulator's clock could not be set.
    #[error("set the {side} side's clock at {url}: {reason}")]
    Clock {
        /// Which side.
        side: Side,
        /// The emulator's clock URL.
        url: String,
        /// Status or transport error.
        reason: String,
    },
}
