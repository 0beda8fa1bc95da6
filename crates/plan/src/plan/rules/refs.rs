//! Shared helpers for checks: references to names defined elsewhere, and duplicates.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::de::DeTable;

use crate::plan::hint::did_you_mean;
use crate::plan::span::{KeyPath, Sink};
use crate::plan::tree;

/// Reports a reference to a name that is not defined, with a "did you mean" and how to fix it.
pub(crate) fn unknown(
    sink: &mut Sink<'_>,
    span: &Range<usize>,
    path: &KeyPath,
    what: &str,
    name: &str,
    known: &[&str],
    fix: &str,
) {
    let hint = did_you_mean(name, known.iter().copied());
    sink.error(
        span,
        path,
        format!("unknown {what} \"{name}\"{hint}: {fix}"),
    );
}

/// Reports every name after the first that repeats one before it; `why` ends the message.
pub(crate) fn duplicates(
    sink: &mut Sink<'_>,
    what: &str,
    names: &[(KeyPath, &str, Range<usize>)],
    why: &str,
) {
    let mut first: BTreeMap<&str, &KeyPath> = BTreeMap::new();
    for (path, name, span) in names {
        match first.get(name) {
            Some(earlier) => sink.error(
                span,
                path,
                format!(
                    "{what} \"{name}\" is already used at {}: {why}",
                    earlier.as_str()
                ),
            ),
            None => {
                first.insert(name, path);
            }
        }
    }
}

/// The ids of the people defined under `[people]`.
pub(crate) fn people<'a>(root: &'a DeTable<'_>) -> Vec<&'a str> {
    tree::get_table(root, "people")
        .map(|(people, _)| {
            people
                .iter()
                .map(|(key, _)| key.get_ref().as_ref())
                .collect()
        })
        .unwrap_or_default()
}

/// Reports each name in the list at `table.key` that is not a person under `[people]`.
pub(crate) fn check_people(
    sink: &mut Sink<'_>,
    known: &[&str],
    table: &DeTable<'_>,
    key: &str,
    path: &KeyPath,
) {
    let fix = if known.is_empty() {
        "define people under [people], e.g. [people.ops-lead]"
    } else {
        "name a person defined under [people]"
    };
    for (idx, name, span) in tree::get_strs(table, key) {
        if !known.contains(&name) {
            let item_path = path.key(key).index(idx);
            unknown(sink, &span, &item_path, "person", name, known, fix);
        }
    }
}
