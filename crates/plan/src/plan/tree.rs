//! Small readers over the spanned TOML tree, for checks that look across keys. Each returns
//! nothing for a value of the wrong shape: the walker has already reported it.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// A value with its span in the source.
pub(crate) type Value<'i> = Spanned<DeValue<'i>>;

/// The span of `key` itself (where the key is written), if present.
pub(crate) fn key_span(table: &DeTable<'_>, key: &str) -> Option<Range<usize>> {
    table.get_key_value(key).map(|(key, _)| key.span())
}

/// The string under `key`, with the span of the value.
pub(crate) fn get_str<'a>(table: &'a DeTable<'_>, key: &str) -> Option<(&'a str, Range<usize>)> {
    let value = table.get(key)?;
    match value.get_ref() {
        DeValue::String(text) => Some((text.as_ref(), value.span())),
        _ => None,
    }
}

/// The boolean under `key`.
pub(crate) fn get_bool(table: &DeTable<'_>, key: &str) -> Option<bool> {
    match table.get(key)?.get_ref() {
        DeValue::Boolean(flag) => Some(*flag),
        _ => None,
    }
}

/// The table under `key`, with its span (its header, or its inline braces).
pub(crate) fn get_table<'a, 'i>(
    table: &'a DeTable<'i>,
    key: &str,
) -> Option<(&'a DeTable<'i>, Range<usize>)> {
    let value = table.get(key)?;
    match value.get_ref() {
        DeValue::Table(inner) => Some((inner, value.span())),
        _ => None,
    }
}

/// The tables of an array of tables under `key`, with their index and span; items that are not
/// tables are skipped.
pub(crate) fn get_tables<'a, 'i>(
    table: &'a DeTable<'i>,
    key: &str,
) -> Vec<(usize, &'a DeTable<'i>, Range<usize>)> {
    let Some(DeValue::Array(items)) = table.get(key).map(Spanned::get_ref) else {
        return Vec::new();
    };
    items
        .iter()
        .enumerate()
        .filter_map(|(idx, item)| match item.get_ref() {
            DeValue::Table(inner) => Some((idx, inner, item.span())),
            _ => None,
        })
        .collect()
}

/// The strings of an array under `key`, with their index and span; other items are skipped.
pub(crate) fn get_strs<'a>(
    table: &'a DeTable<'_>,
    key: &str,
) -> Vec<(usize, &'a str, Range<usize>)> {
    let Some(DeValue::Array(items)) = table.get(key).map(Spanned::get_ref) else {
        return Vec::new();
    };
    items
        .iter()
        .enumerate()
        .filter_map(|(idx, item)| match item.get_ref() {
            DeValue::String(text) => Some((idx, text.as_ref(), item.span())),
            _ => None,
        })
        .collect()
}

/// The entries of a table whose values are strings: key, key span, value, value span.
pub(crate) fn str_entries<'a>(
    table: &'a DeTable<'_>,
) -> Vec<(&'a str, Range<usize>, &'a str, Range<usize>)> {
    table
        .iter()
        .filter_map(|(key, value)| match value.get_ref() {
            DeValue::String(text) => Some((
                key.get_ref().as_ref(),
                key.span(),
                text.as_ref(),
                value.span(),
            )),
            _ => None,
        })
        .collect()
}
