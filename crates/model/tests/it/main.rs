//! Integration tests of the model: fingerprint properties over canonical records.

mod fingerprints;
