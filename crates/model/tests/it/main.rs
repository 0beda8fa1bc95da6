//! Integration tests of the model: fingerprint properties over canonical records.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on what it did not expect"
)]

mod fingerprints;
