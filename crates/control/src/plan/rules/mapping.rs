//! The mapping tables: every built-in status, priority and role of the old platform mapped, only
//! to values the new platform has (or `"drop"`); and conflict policies naming real fields.

use std::ops::Range;

use cutover_model::{PlatformKind, Side};
use toml::de::DeTable;

use crate::plan::hint::{did_you_mean, quoted_list};
use crate::plan::rules::platforms::platform_of;
use crate::plan::rules::refs;
use crate::plan::span::{KeyPath, Sink};
use crate::plan::tree;
use crate::plan::vocab::{Vocabulary, suggest};

/// Standard ticket fields a conflict policy may name besides the mapped custom fields.
pub(crate) const STANDARD_FIELDS: &[&str] = &[
    "subject", "status", "priority", "type", "group", "assignee", "tags", "due_at",
];

/// Runs every check of this module.
pub(crate) fn check(sink: &mut Sink<'_>, root: &DeTable<'_>) {
    let Some((mapping, _)) = tree::get_table(root, "mapping") else {
        return;
    };
    if let (Some(old), Some(new)) = (platform_of(root, Side::Old), platform_of(root, Side::New)) {
        for vocabulary in Vocabulary::ALL {
            if let Some((table, span)) = tree::get_table(mapping, vocabulary.table()) {
                let path = KeyPath::root().key("mapping").key(vocabulary.table());
                let pair = (old, new);
                vocabulary_table(sink, vocabulary, pair, table, &span, &path);
            }
        }
    }
    field_policy(sink, root, mapping);
}

/// Writes `key = "value"` as TOML, quoting the key when it is not bare.
pub(crate) fn toml_pair(key: &str, value: &str) -> String {
    let bare = key
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        format!("{key} = \"{value}\"")
    } else {
        format!("\"{key}\" = \"{value}\"")
    }
}

fn vocabulary_table(
    sink: &mut Sink<'_>,
    vocabulary: Vocabulary,
    (old, new): (PlatformKind, PlatformKind),
    table: &DeTable<'_>,
    span: &Range<usize>,
    path: &KeyPath,
) {
    let old_values = vocabulary.values(old);
    let new_values = vocabulary.values(new);
    let what = vocabulary.singular();
    for (key, key_span, value, value_span) in tree::str_entries(table) {
        if !old_values.contains(&key) {
            let hint = did_you_mean(key, old_values.iter().copied());
            sink.error(
                &key_span,
                path.key(key),
                format!(
                    "{old} has no {what} \"{key}\"{hint}: its {} are {}",
                    vocabulary.table(),
                    quoted_list(old_values.iter().copied())
                ),
            );
        }
        if value != "drop" && !new_values.contains(&value) {
            let hint = did_you_mean(value, new_values.iter().copied());
            let accepted = quoted_list(new_values.iter().copied().chain(["drop"]));
            sink.error(
                &value_span,
                path.key(key),
                format!("\"{value}\" is not a {new} {what}{hint}: expected {accepted}"),
            );
        }
    }
    for value in old_values
        .iter()
        .filter(|value| !table.contains_key(**value))
    {
        let suggestion = suggest(vocabulary, old, new, value);
        let pair = toml_pair(value, suggestion.target);
        let why = match (suggestion.target, suggestion.note) {
            ("drop", Some(note)) => note,
            _ => "or \"drop\" to leave it behind".to_owned(),
        };
        sink.error(
            span,
            path,
            format!("{old} {what} \"{value}\" is not mapped: add {pair} ({why})"),
        );
    }
}

fn field_policy(sink: &mut Sink<'_>, root: &DeTable<'_>, mapping: &DeTable<'_>) {
    let Some((sync, _)) = tree::get_table(root, "sync") else {
        return;
    };
    let Some((policy, _)) = tree::get_table(sync, "field_policy") else {
        return;
    };
    let mapped: Vec<&str> = tree::get_table(mapping, "fields")
        .map(|(fields, _)| tree::str_entries(fields))
        .unwrap_or_default()
        .into_iter()
        .map(|(_, _, value, _)| value)
        .filter(|value| *value != "drop")
        .collect();
    let known: Vec<&str> = mapped
        .iter()
        .copied()
        .chain(STANDARD_FIELDS.iter().copied())
        .collect();
    let path = KeyPath::root().key("sync").key("field_policy");
    for (key, _) in policy.iter() {
        let name = key.get_ref().as_ref();
        if !known.contains(&name) {
            let fix = format!(
                "name a new-side field mapped in [mapping.fields], or one of {}",
                STANDARD_FIELDS.join(", ")
            );
            refs::unknown(
                sink,
                &key.span(),
                &path.key(name),
                "field",
                name,
                &known,
                &fix,
            );
        }
    }
}
