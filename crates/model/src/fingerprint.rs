//! Fingerprints: a blake3 hash of a canonical encoding of a record's mapped content.
//!
//! The encoding is self-delimiting (every string and container carries its length, every value a
//! type tag), objects are encoded with their keys sorted by bytes, and nothing depends on the order
//! in which a map was built. Equal fingerprints therefore mean equal content, whatever the order in
//! which a platform sent its keys.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ModelError;

/// A blake3 hash of canonical content. Shown and stored as 64 lowercase hexadecimal digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of any serializable value, through its canonical encoding.
    pub fn of<T: Serialize + ?Sized>(value: &T) -> Result<Self, serde_json::Error> {
        let json = serde_json::to_value(value)?;
        Ok(Self::of_json(&json))
    }

    /// The fingerprint of a JSON value, through its canonical encoding.
    pub fn of_json(value: &Value) -> Self {
        let mut hasher = blake3::Hasher::new();
        hasher.update(b"cutover-fingerprint-v1\0");
        encode(value, &mut hasher);
        Fingerprint(*hasher.finalize().as_bytes())
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Builds a fingerprint from raw bytes (as stored).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Fingerprint(bytes)
    }

    /// The 64 lowercase hexadecimal digits.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

fn encode(value: &Value, hasher: &mut blake3::Hasher) {
    match value {
        Value::Null => {
            hasher.update(&[0]);
        }
        Value::Bool(b) => {
            hasher.update(&[1, u8::from(*b)]);
        }
        Value::Number(n) => {
            hasher.update(&[2]);
            encode_bytes(n.to_string().as_bytes(), hasher);
        }
        Value::String(s) => {
            hasher.update(&[3]);
            encode_bytes(s.as_bytes(), hasher);
        }
        Value::Array(items) => {
            hasher.update(&[4]);
            hasher.update(&(items.len() as u64).to_le_bytes());
            for item in items {
                encode(item, hasher);
            }
        }
        Value::Object(map) => {
            hasher.update(&[5]);
            hasher.update(&(map.len() as u64).to_le_bytes());
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            for (key, item) in entries {
                encode_bytes(key.as_bytes(), hasher);
                encode(item, hasher);
            }
        }
    }
}

fn encode_bytes(bytes: &[u8], hasher: &mut blake3::Hasher) {
    hasher.update(&(bytes.len() as u64).to_le_bytes());
    hasher.update(bytes);
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({})", self.to_hex())
    }
}

impl FromStr for Fingerprint {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ModelError::Fingerprint(s.to_owned());
        if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let mut bytes = [0u8; 32];
        for (idx, byte) in bytes.iter_mut().enumerate() {
            let pair = s.get(idx * 2..idx * 2 + 2).ok_or_else(bad)?;
            *byte = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
        }
        Ok(Fingerprint(bytes))
    }
}

impl TryFrom<String> for Fingerprint {
    type Error = ModelError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Fingerprint> for String {
    fn from(value: Fingerprint) -> Self {
        value.to_hex()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hex_round_trips() {
        let fp = Fingerprint::of_json(&json!({"a": 1}));
        assert_eq!(fp.to_hex().parse::<Fingerprint>(), Ok(fp));
        assert!("zz".parse::<Fingerprint>().is_err());
        assert!("g".repeat(64).parse::<Fingerprint>().is_err());
    }

    #[test]
    fn string_boundaries_are_part_of_the_content() {
        let a = Fingerprint::of_json(&json!(["ab", "c"]));
        let b = Fingerprint::of_json(&json!(["a", "bc"]));
        assert_ne!(a, b);
    }

    #[test]
    fn types_are_part_of_the_content() {
        assert_ne!(
            Fingerprint::of_json(&json!(1)),
            Fingerprint::of_json(&json!("1"))
        );
        assert_ne!(
            Fingerprint::of_json(&json!(null)),
            Fingerprint::of_json(&json!(false))
        );
        assert_ne!(
            Fingerprint::of_json(&json!([])),
            Fingerprint::of_json(&json!({}))
        );
    }
}
