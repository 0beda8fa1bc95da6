//! The audit log: append-only and hash-chained, so an edited, removed or reordered entry shows.
//!
//! Each entry's hash is blake3 over a canonical, self-delimiting encoding of its sequence number,
//! time (in microseconds), actor, action, the canonical fingerprint of its detail (independent of
//! key order and whitespace, so a JSON column's normalisation does not matter) and the hash of the
//! entry before it. A chain head (last sequence number and hash) is written with each entry, so
//! entries removed from the end show too.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use cutover_model::Fingerprint;
use serde_json::Value;

use crate::error::{AuditProblem, StoreError};

/// A decision or event to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEntry {
    /// Who: a user name, a token's name, or `cutover` for automatic actions.
    pub actor: String,
    /// What, as a stable dotted name, e.g. `wave.start`, `gate.pass`, `rollback`.
    pub action: String,
    /// The particulars: wave, measurements, reasons.
    pub detail: Value,
}

impl NewAuditEntry {
    /// An entry.
    pub fn new(actor: impl Into<String>, action: impl Into<String>, detail: Value) -> Self {
        NewAuditEntry {
            actor: actor.into(),
            action: action.into(),
            detail,
        }
    }
}

/// An entry of the audit log, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// Its place in the chain, from 1 without gaps.
    pub seq: i64,
    /// When it was appended (store clock, to the microsecond).
    pub at: DateTime<Utc>,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// The particulars.
    pub detail: Value,
    /// The hash of the entry before it ([`AuditHash::GENESIS`] for the first).
    pub prev_hash: AuditHash,
    /// The hash of this entry.
    pub hash: AuditHash,
}

/// A blake3 hash in the audit chain. Shown and stored as 64 lowercase hexadecimal digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AuditHash([u8; 32]);

impl AuditHash {
    /// The `prev_hash` of the first entry: all zeros.
    pub const GENESIS: AuditHash = AuditHash([0; 32]);

    /// The hash of an entry with these fields.
    pub fn of_entry(
        seq: i64,
        at: DateTime<Utc>,
        actor: &str,
        action: &str,
        detail: &Value,
        prev_hash: &AuditHash,
    ) -> Self {
        let mut hasher = blake3::Hasher::new();
        hasher.update(b"cutover-audit-v1\0");
        hasher.update(&seq.to_le_bytes());
        hasher.update(&at.timestamp_micros().to_le_bytes());
        for text in [actor, action] {
            hasher.update(&(text.len() as u64).to_le_bytes());
            hasher.update(text.as_bytes());
        }
        hasher.update(Fingerprint::of_json(detail).as_bytes());
        hasher.update(&prev_hash.0);
        AuditHash(*hasher.finalize().as_bytes())
    }

    /// The 64 lowercase hexadecimal digits.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Display for AuditHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for AuditHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuditHash({})", self.to_hex())
    }
}

/// Text that is not 64 hexadecimal digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("parse audit hash: expected 64 hexadecimal digits")]
pub struct BadAuditHash;

impl FromStr for AuditHash {
    type Err = BadAuditHash;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // The fingerprint parser already checks 64 hex digits into 32 bytes.
        let parsed: Fingerprint = s.parse().map_err(|_| BadAuditHash)?;
        Ok(AuditHash(*parsed.as_bytes()))
    }
}

/// An entry as read for verification: hashes kept as stored text, since a tampered row may not
/// even hold valid hex.
#[derive(Debug)]
pub(crate) struct RawEntry {
    pub(crate) seq: i64,
    pub(crate) at: DateTime<Utc>,
    pub(crate) actor: String,
    pub(crate) action: String,
    pub(crate) detail: Value,
    pub(crate) prev_hash: String,
    pub(crate) hash: String,
}

/// Walks the chain in sequence order and stops at the first bad entry.
#[derive(Debug)]
pub(crate) struct ChainVerifier {
    previous_seq: i64,
    previous_hash: String,
    n_entries: u64,
}

impl ChainVerifier {
    pub(crate) fn new() -> Self {
        ChainVerifier {
            previous_seq: 0,
            previous_hash: AuditHash::GENESIS.to_hex(),
            n_entries: 0,
        }
    }

    /// Checks the next entry against the one before it and against its own content.
    pub(crate) fn check(&mut self, entry: &RawEntry) -> Result<(), StoreError> {
        let tampered = |problem| StoreError::AuditTampered {
            seq: entry.seq,
            problem,
        };
        if entry.seq != self.previous_seq + 1 {
            return Err(tampered(AuditProblem::Gap {
                previous: self.previous_seq,
            }));
        }
        if entry.prev_hash != self.previous_hash {
            return Err(tampered(AuditProblem::Unchained));
        }
        let prev_hash: AuditHash = entry
            .prev_hash
            .parse()
            .map_err(|_| tampered(AuditProblem::Unchained))?;
        let computed = AuditHash::of_entry(
            entry.seq,
            entry.at,
            &entry.actor,
            &entry.action,
            &entry.detail,
            &prev_hash,
        );
        if computed.to_hex() != entry.hash {
            return Err(tampered(AuditProblem::Edited));
        }
        self.previous_seq = entry.seq;
        self.previous_hash.clone_from(&entry.hash);
        self.n_entries += 1;
        Ok(())
    }

    /// The last sequence number checked.
    pub(crate) fn last_seq(&self) -> i64 {
        self.previous_seq
    }

    /// Checks that the chain ends where its head says, and returns how many entries it holds.
    pub(crate) fn finish(self, head_seq: i64, head_hash: &str) -> Result<u64, StoreError> {
        if self.previous_seq != head_seq {
            return Err(StoreError::AuditTampered {
                seq: head_seq,
                problem: AuditProblem::Truncated {
                    last: self.previous_seq,
                },
            });
        }
        if self.previous_hash != head_hash {
            return Err(StoreError::AuditTampered {
                seq: head_seq,
                problem: AuditProblem::Replaced,
            });
        }
        Ok(self.n_entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn chain(n: i64) -> Vec<RawEntry> {
        let mut prev = AuditHash::GENESIS;
        let at = DateTime::from_timestamp_micros(1_700_000_000_000_001).unwrap();
        (1..=n)
            .map(|seq| {
                let detail = json!({"n": seq});
                let hash = AuditHash::of_entry(seq, at, "ops", "wave.start", &detail, &prev);
                let entry = RawEntry {
                    seq,
                    at,
                    actor: "ops".into(),
                    action: "wave.start".into(),
                    detail,
                    prev_hash: prev.to_hex(),
                    hash: hash.to_hex(),
                };
                prev = hash;
                entry
            })
            .collect()
    }

    fn verify(entries: &[RawEntry]) -> Result<u64, StoreError> {
        let mut verifier = ChainVerifier::new();
        for entry in entries {
            verifier.check(entry)?;
        }
        let head = chain(3).pop().unwrap();
        verifier.finish(head.seq, &head.hash)
    }

    fn problem(result: Result<u64, StoreError>) -> (i64, AuditProblem) {
        match result {
            Err(StoreError::AuditTampered { seq, problem }) => (seq, problem),
            other => panic!("expected tampering, got {other:?}"),
        }
    }

    #[test]
    fn a_whole_chain_verifies() {
        assert_eq!(verify(&chain(3)).unwrap(), 3);
    }

    #[test]
    fn every_kind_of_tampering_names_the_entry() {
        let mut edited = chain(3);
        edited[1].actor = "mallory".into();
        assert_eq!(problem(verify(&edited)), (2, AuditProblem::Edited));

        let mut removed = chain(3);
        removed.remove(1);
        assert_eq!(
            problem(verify(&removed)),
            (3, AuditProblem::Gap { previous: 1 })
        );

        let mut swapped = chain(3);
        swapped.swap(0, 1);
        assert_eq!(
            problem(verify(&swapped)),
            (2, AuditProblem::Gap { previous: 0 })
        );

        let mut rehashed = chain(3);
        rehashed[1].detail = json!({"n": 99});
        let prev: AuditHash = rehashed[0].hash.parse().unwrap();
        let e = &rehashed[1];
        rehashed[1].hash =
            AuditHash::of_entry(2, e.at, &e.actor, &e.action, &e.detail, &prev).to_hex();
        assert_eq!(problem(verify(&rehashed)), (3, AuditProblem::Unchained));

        let mut truncated = chain(3);
        truncated.pop();
        assert_eq!(
            problem(verify(&truncated)),
            (3, AuditProblem::Truncated { last: 2 })
        );
    }

    #[test]
    fn hashes_cover_every_field_and_ignore_key_order() {
        let at = DateTime::from_timestamp_micros(5).unwrap();
        let base = AuditHash::of_entry(
            1,
            at,
            "a",
            "b",
            &json!({"x": 1, "y": 2}),
            &AuditHash::GENESIS,
        );
        let same = AuditHash::of_entry(
            1,
            at,
            "a",
            "b",
            &json!({"y": 2, "x": 1}),
            &AuditHash::GENESIS,
        );
        assert_eq!(base, same);
        let later = DateTime::from_timestamp_micros(6).unwrap();
        for other in [
            AuditHash::of_entry(
                2,
                at,
                "a",
                "b",
                &json!({"x": 1, "y": 2}),
                &AuditHash::GENESIS,
            ),
            AuditHash::of_entry(
                1,
                later,
                "a",
                "b",
                &json!({"x": 1, "y": 2}),
                &AuditHash::GENESIS,
            ),
            AuditHash::of_entry(
                1,
                at,
                "ab",
                "",
                &json!({"x": 1, "y": 2}),
                &AuditHash::GENESIS,
            ),
            AuditHash::of_entry(
                1,
                at,
                "a",
                "b",
                &json!({"x": 1, "y": 3}),
                &AuditHash::GENESIS,
            ),
            AuditHash::of_entry(1, at, "a", "b", &json!({"x": 1, "y": 2}), &base),
        ] {
            assert_ne!(base, other);
        }
        assert_eq!(base.to_hex().parse::<AuditHash>().unwrap(), base);
    }
}
