//! Errors of the runtime.

use cutover_store::StoreError;

/// Something the runtime could not do.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The routing state in the store is not what this version of cutover writes.
    #[error(
        "the routing state in the store cannot be read ({0}); was it written by another version of cutover?"
    )]
    BadRoutingState(String),
    /// No wave of the plan has this name or number.
    #[error(
        "the plan has no wave {0:?}: name a wave by its `name` or its number (1 for the first)"
    )]
    NoSuchWave(String),
}
