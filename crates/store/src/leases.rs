//! Leases: which process leads (runs the bridge and the other work only one may do), held in the
//! store and timed by the database's clock; and the webhook hints a process that does not lead
//! passes to the one that does.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Utc};
use cutover_model::{PlatformId, RecordKind, Side};

/// A lease as the store holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// What it is a lease of (`serve`).
    pub name: String,
    /// Who holds (or last held) it.
    pub holder: String,
    /// The fencing token: raised at every change of holder, and when a lapsed lease is taken
    /// again, never lowered. Work done under a lease can be told apart by it.
    pub token: i64,
    /// Since when this holder holds it without a break.
    pub since: DateTime<Utc>,
    /// When it was last taken or renewed.
    pub renewed_at: DateTime<Utc>,
    /// When it lapses unless renewed.
    pub expires_at: DateTime<Utc>,
    /// Whether it had lapsed when read (by the database's clock).
    pub expired: bool,
}

/// A record a webhook delivery named, kept for the process that runs the bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredHint {
    /// Its place in the queue: [`crate::Store::drop_hints`] removes up to it.
    pub id: HintId,
    /// The side whose delivery named it.
    pub side: Side,
    /// The record's kind.
    pub kind: RecordKind,
    /// Its id on that side.
    pub record_id: PlatformId,
}

/// The place of a stored hint in its queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HintId(pub i64);

impl fmt::Display for HintId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The fencing token a leader writes under: the lease it leads by and the token of its tenure.
/// A store handle made with [`crate::Store::fenced`] checks it at the start of every write
/// transaction, in the transaction itself (`SELECT token … FOR SHARE` on PostgreSQL, so a
/// takeover waits for the writes in flight, and a write after it sees the new token): once
/// another process holds the lease, a deposed leader's writes are refused
/// ([`crate::StoreError::Fenced`]) and change nothing. Shared by clones: the leader sets the
/// token of each tenure ([`Fence::hold`]) before its work starts; without one, every write is
/// refused.
#[derive(Debug, Clone)]
pub struct Fence {
    lease: Arc<str>,
    token: Arc<AtomicI64>,
}

/// What [`Fence::token`] holds before any tenure.
const NO_TOKEN: i64 = i64::MIN;

impl Fence {
    /// A fence on lease `lease`, holding no token yet.
    pub fn new(lease: &str) -> Self {
        Fence {
            lease: Arc::from(lease),
            token: Arc::new(AtomicI64::new(NO_TOKEN)),
        }
    }

    /// The lease it checks.
    pub fn lease(&self) -> &str {
        &self.lease
    }

    /// Writes go on under `token` (a tenure's, [`Lease::token`]) from now on.
    pub fn hold(&self, token: i64) {
        self.token.store(token, Ordering::SeqCst);
    }

    /// The token writes carry, once a tenure set one.
    pub fn token(&self) -> Option<i64> {
        let token = self.token.load(Ordering::SeqCst);
        (token != NO_TOKEN).then_some(token)
    }
}
