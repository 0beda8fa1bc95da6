//! Errors of the control plane: a plan that cannot be read, or that breaks its rules.

use std::fmt;
use std::path::PathBuf;

/// One mistake in a plan file, at a position: `cutover.toml:14:3: waves[1].groups: unknown group`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    /// The file the plan came from, as the user named it.
    pub file: String,
    /// The 1-based line of the offending key or value.
    pub line: usize,
    /// The 1-based column (in characters) of the offending key or value.
    pub column: usize,
    /// The key path, e.g. `waves[1].groups` (array indexes count from 0); empty when unknown.
    pub path: String,
    /// What is wrong and, where it can tell, how to fix it.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// Every mistake found in a plan, sorted by position. Displays one diagnostic per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", lines(.0))]
pub struct PlanErrors(pub Vec<Diagnostic>);

fn lines(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(Diagnostic::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

impl PlanErrors {
    /// How many mistakes were found.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no mistake was found (a `PlanErrors` returned by a check is never empty).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The diagnostics, sorted by line and column.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }
}

impl<'a> IntoIterator for &'a PlanErrors {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Why a plan could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// There is no plan at the path asked for.
    #[error(
        "read the plan {}: there is no such file. Write one with `cutover init --from zendesk \
         --to freshdesk --old-url URL --new-url URL` (it writes ./cutover.toml), or name yours \
         with `--plan PATH` (or CUTOVER_PLAN)",
        path.display()
    )]
    Missing {
        /// The file that was asked for.
        path: PathBuf,
    },
    /// A command that switches traffic met a plan without waves (a backfill-only plan).
    #[error(
        "run `{command}`: the plan has no waves (a backfill-only plan copies and verifies, it \
         switches nothing). Add [[channels]], [[waves]] and the [people.<id>] their \
         gates.sign_off names (`cutover init --out example.toml` writes all three to copy \
         from; docs/plan.md explains each), then run `cutover plan check`"
    )]
    NoWaves {
        /// The command that needs them.
        command: String,
    },
    /// The file could not be read.
    #[error("read the plan {}", path.display())]
    Read {
        /// The file that was asked for.
        path: PathBuf,
        /// Why reading it failed.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be written (a plan, the accounts' snapshot).
    #[error("write {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why writing it failed.
        #[source]
        source: std::io::Error,
    },
    /// The accounts' snapshot beside the plan is not one cutover wrote.
    #[error("read the accounts' snapshot {}: {detail} (delete it, or run `cutover plan refresh` to write it again)", path.display())]
    Snapshot {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// The file was read but breaks the plan's rules; every mistake is listed.
    #[error(transparent)]
    Invalid(#[from] PlanErrors),
}

/// A value that breaks the rules of its type: a duration without a unit, a percentage over 100,
/// an unknown name. The message says what was expected; the checker adds where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValueError(pub String);

impl ValueError {
    /// An unknown name among accepted ones, with a "did you mean" when one is close.
    pub(crate) fn unknown(what: &str, given: &str, accepted: &[&str]) -> Self {
        ValueError(format!(
            "unknown {what} \"{given}\"{}: expected {}",
            crate::plan::hint::did_you_mean(given, accepted.iter().copied()),
            crate::plan::hint::quoted_list(accepted.iter().copied()),
        ))
    }
}
