//! The snapshot of both accounts that discovery leaves beside the plan: `cutover.toml` has its
//! `cutover.accounts.json` (a plan `acme.toml`, `acme.accounts.json`). `plan check` validates
//! the plan's names against it; `cutover init` and `cutover plan refresh` write it. It holds
//! names, counts and e-mail addresses of the accounts, never a credential.

use std::path::{Path, PathBuf};

use cutover_model::accounts::Accounts;

use crate::error::PlanError;

/// Where the snapshot of the plan at `plan` lives.
pub fn accounts_path(plan: &Path) -> PathBuf {
    let stem = plan
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "cutover".to_owned());
    plan.with_file_name(format!("{stem}.accounts.json"))
}

/// The snapshot at `path`, or `None` when there is none.
pub fn read_accounts(path: &Path) -> Result<Option<Accounts>, PlanError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(PlanError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| PlanError::Snapshot {
            path: path.to_owned(),
            detail: e.to_string(),
        })
}

/// Writes the snapshot of the plan at `plan` beside it.
pub fn write_accounts(plan: &Path, accounts: &Accounts) -> Result<PathBuf, PlanError> {
    let path = accounts_path(plan);
    let json = serde_json::to_string_pretty(accounts).map_err(|e| PlanError::Snapshot {
        path: path.clone(),
        detail: e.to_string(),
    })?;
    std::fs::write(&path, json + "\n").map_err(|source| PlanError::Write {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snapshot_sits_beside_its_plan() {
        assert_eq!(
            accounts_path(Path::new("dir/cutover.toml")),
            Path::new("dir/cutover.accounts.json")
        );
        assert_eq!(
            accounts_path(Path::new("acme.toml")),
            Path::new("acme.accounts.json")
        );
    }
}
