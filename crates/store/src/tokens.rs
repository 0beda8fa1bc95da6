//! Bearer tokens of the control-plane API: a name, a role, and the SHA-256 hash of the token.
//! The token itself is never stored; it is shown once, when `cutover token create` makes it.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

/// What a token may do. Ordered: each role may do everything the ones before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ApiRole {
    /// Reads: waves, sync status, conflicts, dead letters.
    Viewer,
    /// Reads and acts: retries dead letters (and later starts, pauses and rolls back waves).
    Operator,
    /// Everything.
    Admin,
}

impl ApiRole {
    /// Every role, lowest first.
    pub const ALL: [ApiRole; 3] = [ApiRole::Viewer, ApiRole::Operator, ApiRole::Admin];

    /// The role's name: `viewer`, `operator` or `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiRole::Viewer => "viewer",
            ApiRole::Operator => "operator",
            ApiRole::Admin => "admin",
        }
    }

    /// Whether a token with this role may do what `needed` allows.
    pub fn allows(self, needed: ApiRole) -> bool {
        self >= needed
    }
}

impl fmt::Display for ApiRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not `viewer`, `operator` or `admin`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not a role: expected viewer, operator or admin")]
pub struct BadRole(pub String);

impl FromStr for ApiRole {
    type Err = BadRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ApiRole::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| BadRole(s.to_owned()))
    }
}

/// The SHA-256 of a token, as 64 lowercase hexadecimal digits: what the store keeps and looks
/// tokens up by. A token carries 256 random bits, so a plain hash suffices (no salt, no
/// stretching: there is nothing to guess).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TokenHash(String);

impl TokenHash {
    /// The hash of a token as presented.
    pub fn of(token: &str) -> Self {
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(token.as_bytes());
        TokenHash(digest.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// The hexadecimal digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A hash reveals nothing, but a log needs no part of it either.
        f.write_str("TokenHash(..)")
    }
}

/// A token to store: its name, role and hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiToken {
    /// A name people know it by (`ci`, `ana`); one live token per name.
    pub name: String,
    /// What it may do.
    pub role: ApiRole,
    /// The hash of the token.
    pub hash: TokenHash,
}

/// A token as stored (without its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// Its name.
    pub name: String,
    /// What it may do.
    pub role: ApiRole,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When a request last presented it, if ever.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}
