//! Errors of the model: values that do not parse into the types that hold rules.

/// A value that does not satisfy the rules of a model type.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ModelError {
    /// A side that is neither `old` nor `new`.
    #[error("parse side {0:?}: expected \"old\" or \"new\"")]
    Side(String),
    /// A record kind this model does not know.
    #[error("parse record kind {value:?}: expected one of {expected}")]
    RecordKind {
        /// The text that was given.
        value: String,
        /// The accepted names, comma-separated.
        expected: String,
    },
    /// A platform this model does not know.
    #[error("parse platform {value:?}: expected one of {expected}")]
    Platform {
        /// The text that was given.
        value: String,
        /// The accepted names, comma-separated.
        expected: String,
    },
    /// An empty or blank platform id.
    #[error("parse platform id: it is empty")]
    EmptyPlatformId,
    /// A platform id with characters that no platform uses in ids.
    #[error("parse platform id {0:?}: it contains whitespace or control characters")]
    InvalidPlatformId(String),
    /// A fingerprint that is not 64 lowercase hexadecimal digits.
    #[error("parse fingerprint {0:?}: expected 64 hexadecimal digits")]
    Fingerprint(String),
    /// A satisfaction score outside 1 to 5.
    #[error("parse satisfaction score {0}: expected 1 to 5")]
    Score(i64),
}
