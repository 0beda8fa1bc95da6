//! `[mapping.new_groups]` in `cutover plan refresh`: a group of the new account that no line of
//! `[mapping.groups]` reaches (made there during the parallel run, or there before the move)
//! has no way back to the old side, so a ticket in it would reach the old side without its
//! group. Refresh gives each one an open line, its choices spelled out: the old account's groups
//! that no line carries, `"create"` (the bridge creates it on the old platform) or `"drop"`.

use cutover_model::accounts::{Accounts, NamedValue, same_name};

use crate::plan::discovered::OPEN_LINE;
use crate::plan::hint::quoted_list;
use crate::plan::init::Doc;
use crate::plan::open::{Table, holds_back, toml_key};

/// The table's header.
pub(crate) const HEADER: &str = "[mapping.new_groups]";

/// The table as `cutover init` writes it from both accounts: its header, and an open line for
/// each group of the new account that no old group has the name of (the lines `init` writes
/// under `[mapping.groups]` map those).
pub(crate) fn discovered(doc: &mut Doc, accounts: &Accounts) {
    doc.blank();
    doc.with_comment(HEADER, &comment(accounts));
    let new = Table::Groups.values(&accounts.new);
    let mut carried = Carried::default();
    for old in Table::Groups.values(&accounts.old) {
        if let Some(same) = new.iter().find(|n| same_name(&n.name, &old.name)) {
            carried.old.push(old.name.clone());
            carried.new.push(same.name.clone());
        }
    }
    for (_, line) in open_lines(accounts, &[], &carried) {
        doc.line(line.trim_end());
    }
}

/// What the header says of the table.
pub(crate) fn comment(accounts: &Accounts) -> String {
    format!(
        "the way back for groups only {} has: {} group = {} group",
        accounts.new.platform, accounts.new.platform, accounts.old.platform
    )
}

/// The open lines for the new account's groups with no way back, as `(name, lines)`: `present`
/// holds the keys the plan gives each table (by its path, `mapping.groups`), `carried` the new
/// groups the plan's `[mapping.groups]` reaches and the old groups it carries.
pub(crate) fn open_lines(
    accounts: &Accounts,
    present: &[(String, String)],
    carried: &Carried,
) -> Vec<(String, String)> {
    let has = |name: &str| {
        present
            .iter()
            .any(|(t, k)| t == "mapping.new_groups" && k == name)
    };
    let choices: Vec<String> = Table::Groups
        .values(&accounts.old)
        .into_iter()
        .map(|g| g.name)
        .filter(|name| !carried.old.contains(name))
        .chain(["create".to_owned(), "drop".to_owned()])
        .collect();
    let mut out = Vec::new();
    for value in Table::Groups.values(&accounts.new) {
        if carried.new.contains(&value.name) || has(&value.name) {
            continue;
        }
        out.push((value.name.clone(), line(&value, &choices)));
    }
    out
}

/// One open line, with the choices and what the group holds.
fn line(value: &NamedValue, choices: &[String]) -> String {
    let choices = quoted_list(choices.iter().map(String::as_str));
    format!(
        "{OPEN_LINE}{} = \"…\"   # one of {choices}; {}\n",
        toml_key(&value.name),
        holds_back(Table::Groups, value)
    )
}

/// What the plan's `[mapping.groups]` carries: the new groups its lines reach, the old groups
/// they carry (`"drop"` aside).
#[derive(Debug, Default)]
pub(crate) struct Carried {
    new: Vec<String>,
    old: Vec<String>,
}

impl Carried {
    /// Read from the plan's text; `None` when it does not parse (refresh adds no line then, and
    /// the check that follows names the error).
    pub(crate) fn of(text: &str) -> Option<Self> {
        let doc: toml::Table = toml::from_str(text).ok()?;
        let mut carried = Carried::default();
        let groups = doc
            .get("mapping")
            .and_then(|m| m.get("groups"))
            .and_then(toml::Value::as_table);
        for (old, target) in groups.into_iter().flatten() {
            let new = match target.as_str() {
                Some("drop") | None => continue,
                Some("create") => old.clone(),
                Some(new) => new.to_owned(),
            };
            carried.old.push(old.clone());
            carried.new.push(new);
        }
        Some(carried)
    }
}
