//! Store URLs: which backend, where, and a password that never shows.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use secrecy::{ExposeSecret, SecretString};

use crate::error::StoreError;

/// Where the store lives: `sqlite://PATH` (also `sqlite:PATH`; relative or absolute) or
/// `postgres://…` / `postgresql://…`.
///
/// `Debug` and `Display` show a PostgreSQL URL with its password (in the user part or a
/// `password` query parameter) replaced by `***`.
#[derive(Clone)]
pub struct StoreUrl {
    target: Target,
}

#[derive(Clone)]
pub(crate) enum Target {
    /// One SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database.
    Postgres {
        /// The whole URL, as given: it may hold a password.
        url: SecretString,
        /// The URL with any password replaced by `***`: what is shown.
        redacted: String,
    },
}

/// Which implementation a store URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// One SQLite file in WAL mode: the embedded default.
    Sqlite,
    /// A PostgreSQL database shared by several workers.
    Postgres,
}

impl StoreUrl {
    /// The default: `sqlite://cutover.db`, in the working directory.
    pub const DEFAULT: &'static str = "sqlite://cutover.db";

    /// A SQLite store in one file.
    pub fn sqlite(path: impl Into<PathBuf>) -> Self {
        StoreUrl {
            target: Target::Sqlite(path.into()),
        }
    }

    /// Which backend the URL selects.
    pub fn backend(&self) -> Backend {
        match self.target {
            Target::Sqlite(_) => Backend::Sqlite,
            Target::Postgres { .. } => Backend::Postgres,
        }
    }

    /// The SQLite file, for a SQLite URL.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match &self.target {
            Target::Sqlite(path) => Some(path),
            Target::Postgres { .. } => None,
        }
    }

    pub(crate) fn target(&self) -> &Target {
        &self.target
    }
}

impl Default for StoreUrl {
    fn default() -> Self {
        StoreUrl::sqlite("cutover.db")
    }
}

impl FromStr for StoreUrl {
    type Err = StoreError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let scheme = text.split_once(':').map_or("", |(scheme, _)| scheme);
        match scheme {
            "sqlite" => parse_sqlite(text),
            "postgres" | "postgresql" => parse_postgres(text),
            "" => Err(StoreError::Url {
                url: String::from("(no scheme)"),
                reason: String::from("expected sqlite://PATH or postgres://…"),
            }),
            other => Err(StoreError::Url {
                // Only the scheme: the rest of an unknown URL may hold a password.
                url: format!("{other}://…"),
                reason: format!("unknown scheme {other:?}: expected sqlite://PATH or postgres://…"),
            }),
        }
    }
}

fn parse_sqlite(text: &str) -> Result<StoreUrl, StoreError> {
    let rest = text.strip_prefix("sqlite:").unwrap_or_default();
    let path = rest.strip_prefix("//").unwrap_or(rest);
    let invalid = |reason: &str| StoreError::Url {
        url: text.to_owned(),
        reason: reason.to_owned(),
    };
    if path.is_empty() {
        return Err(invalid("no file path: expected sqlite://PATH"));
    }
    if path.contains('?') {
        return Err(invalid("a sqlite store url takes no options"));
    }
    if path == ":memory:" {
        return Err(invalid(
            "an in-memory database would lose everything on exit",
        ));
    }
    Ok(StoreUrl::sqlite(path))
}

fn parse_postgres(text: &str) -> Result<StoreUrl, StoreError> {
    let parsed = url::Url::parse(text).map_err(|e| StoreError::Url {
        // A URL that does not parse cannot be redacted reliably: show only its scheme.
        url: String::from("postgres://…"),
        reason: e.to_string(),
    })?;
    let redacted = redact(&parsed);
    // Check now what the driver would refuse later (it also allows no host: a local socket),
    // keeping of its message only the reason, scrubbed.
    if let Err(e) = sqlx::postgres::PgConnectOptions::from_str(text) {
        let reason = scrub(&e.to_string(), &parsed);
        return Err(StoreError::Url {
            url: redacted,
            reason,
        });
    }
    Ok(StoreUrl {
        target: Target::Postgres {
            url: SecretString::from(text),
            redacted,
        },
    })
}

/// The URL with every password (user part and query parameters) replaced by `***`.
fn redact(url: &url::Url) -> String {
    let mut shown = url.clone();
    if shown.password().is_some() {
        // Setting a password fails only for URLs that cannot have one; there is none to hide then.
        let _ = shown.set_password(Some("***"));
    }
    if url.query_pairs().any(|(key, _)| is_secret_key(&key)) {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(key, value)| {
                let value = if is_secret_key(&key) {
                    "***".into()
                } else {
                    value.into_owned()
                };
                (key.into_owned(), value)
            })
            .collect();
        shown.query_pairs_mut().clear().extend_pairs(pairs);
    }
    shown.to_string()
}

fn is_secret_key(key: &str) -> bool {
    key.to_ascii_lowercase().contains("password")
}

/// Removes every password of `url`, raw or percent-decoded, from a text.
fn scrub(text: &str, url: &url::Url) -> String {
    let mut secrets: Vec<String> = Vec::new();
    if let Some(password) = url.password() {
        secrets.push(password.to_owned());
        if let Ok(decoded) = percent_encoding::percent_decode_str(password).decode_utf8() {
            secrets.push(decoded.into_owned());
        }
    }
    for (key, value) in url.query_pairs() {
        if is_secret_key(&key) {
            secrets.push(value.into_owned());
        }
    }
    secrets.retain(|s| !s.is_empty());
    secrets.iter().fold(text.to_owned(), |acc, secret| {
        acc.replace(secret.as_str(), "***")
    })
}

impl Target {
    /// The whole PostgreSQL URL, password included: only for the driver.
    pub(crate) fn expose_postgres(&self) -> Option<&str> {
        match self {
            Target::Postgres { url, .. } => Some(url.expose_secret()),
            Target::Sqlite(_) => None,
        }
    }
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.target {
            Target::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            Target::Postgres { redacted, .. } => f.write_str(redacted),
        }
    }
}

impl fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreUrl({self})")
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, shown: &str, backend: Backend) {
        let url: StoreUrl = input.parse().unwrap();
        assert_eq!(url.to_string(), shown, "{input}");
        assert_eq!(format!("{url:?}"), format!("StoreUrl({shown})"), "{input}");
        assert_eq!(url.backend(), backend, "{input}");
    }

    #[test]
    fn urls_parse_and_show_without_passwords() {
        use Backend::{Postgres, Sqlite};
        check("sqlite://cutover.db", "sqlite://cutover.db", Sqlite);
        check("sqlite:cutover.db", "sqlite://cutover.db", Sqlite);
        check(
            "sqlite:///var/lib/cutover.db",
            "sqlite:///var/lib/cutover.db",
            Sqlite,
        );
        check("sqlite://./state/x.db", "sqlite://./state/x.db", Sqlite);
        check(
            "postgres://u@db.example/cutover",
            "postgres://u@db.example/cutover",
            Postgres,
        );
        check(
            "postgres://u:pw@db:5433/c",
            "postgres://u:***@db:5433/c",
            Postgres,
        );
        check(
            "postgresql://u:p%40ss@db/c",
            "postgresql://u:***@db/c",
            Postgres,
        );
        check(
            "postgres://u@db/c?password=pw&sslmode=disable",
            "postgres://u@db/c?password=***&sslmode=disable",
            Postgres,
        );
    }

    #[test]
    fn sqlite_paths_are_kept_relative_or_absolute() {
        let url: StoreUrl = "sqlite://a/b.db".parse().unwrap();
        assert_eq!(url.sqlite_path(), Some(Path::new("a/b.db")));
        let url: StoreUrl = "sqlite:///a/b.db".parse().unwrap();
        assert_eq!(url.sqlite_path(), Some(Path::new("/a/b.db")));
        assert_eq!(StoreUrl::default().to_string(), StoreUrl::DEFAULT);
    }

    #[test]
    fn bad_urls_are_refused_without_echoing_secrets() {
        for input in [
            "mysql://root:s3cret-pw@db/x",
            "sqlite://",
            "sqlite:",
            "sqlite://x.db?mode=ro",
            "postgres://u:s3cret-pw@db:99999/x",
            "postgres://u:s3cret-pw@db/x?sslmode=sometimes",
            "postgres://u:s3cret-pw@[db/x",
            "cutover.db",
        ] {
            let err = input.parse::<StoreUrl>().unwrap_err();
            let text = format!("{err} {err:?}");
            assert!(!text.contains("s3cret-pw"), "{input}: {text}");
            assert!(matches!(err, StoreError::Url { .. }), "{input}: {text}");
        }
    }
}
