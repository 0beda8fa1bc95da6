//! `plan check`: parse, walk, cross-check, and only then build the typed plan.
//!
//! serde stops at the first error, so it is not what finds mistakes: the file is parsed into a
//! spanned tree (`toml::de::DeTable`), the walker and the rules collect every diagnostic, and a
//! plan without any is deserialized into [`Plan`]. A file that is not valid TOML reports all its
//! syntax errors (the parser recovers) and nothing else, since the rest would be guesswork.

use std::ops::Range;
use std::path::Path;

use toml::de::{DeTable, DeValue};

use crate::error::{Diagnostic, PlanError, PlanErrors};
use crate::plan::model::Plan;
use crate::plan::rules;
use crate::plan::schema;
use crate::plan::span::{KeyPath, LineIndex, Sink};
use crate::plan::walk;

/// Checks a plan's text and builds the typed plan; `source_name` names the file in diagnostics.
/// Every mistake is reported at once, sorted by position.
pub fn check_str(source_name: &str, text: &str) -> Result<Plan, PlanErrors> {
    let (document, syntax_errors) = DeTable::parse_recoverable(text);
    let mut sink = Sink::new(source_name, text);
    if !syntax_errors.is_empty() {
        syntax(&mut sink, document.get_ref(), &syntax_errors);
        return Err(PlanErrors(sink.finish()));
    }
    let root = document.get_ref();
    walk::table(&mut sink, root, &(0..0), schema::ROOT, &KeyPath::root());
    rules::platforms::check(&mut sink, root);
    rules::mapping::check(&mut sink, root);
    rules::waves::check(&mut sink, root);
    rules::watch::check(&mut sink, root);
    if !sink.is_empty() {
        return Err(PlanErrors(sink.finish()));
    }
    toml::from_str::<Plan>(text).map_err(|error| {
        // The rules above mirror the typed plan; this is the net under a gap between them.
        let span = error.span().unwrap_or(0..0);
        let mut sink = Sink::new(source_name, text);
        sink.error(&span, String::new(), error.message().to_owned());
        PlanErrors(sink.finish())
    })
}

/// Reads and checks the plan at `path`; diagnostics name the file as the path was given.
pub fn load(path: impl AsRef<Path>) -> Result<Plan, PlanError> {
    let path = path.as_ref();
    let source_name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| PlanError::Read {
        path: path.to_owned(),
        source,
    })?;
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            return Err(PlanError::Invalid(not_utf8(
                &source_name,
                error.as_bytes(),
                error.utf8_error(),
            )));
        }
    };
    Ok(check_str(&source_name, &text)?)
}

fn not_utf8(source_name: &str, bytes: &[u8], error: std::str::Utf8Error) -> PlanErrors {
    let valid = &bytes[..error.valid_up_to()];
    // The prefix is valid UTF-8 by the error's own account.
    let prefix = std::str::from_utf8(valid).unwrap_or_default();
    let (line, column) = LineIndex::new(prefix).position(prefix.len());
    PlanErrors(vec![Diagnostic {
        file: source_name.to_owned(),
        line,
        column,
        path: String::new(),
        message: format!(
            "the file is not valid UTF-8 (byte {}): save it as UTF-8",
            error.valid_up_to() + 1
        ),
    }])
}

/// Reports syntax errors, one per key: the parser recovers, but one broken value (an array never
/// closed) can set off many more errors inside it. An "unclosed" error names the cause, so it is
/// kept over the others and placed where the value opens rather than at the end of the file.
fn syntax(sink: &mut Sink<'_>, document: &DeTable<'_>, errors: &[toml::de::Error]) {
    let mut located: Vec<(Range<usize>, Option<Located>, &str)> = errors
        .iter()
        .map(|error| {
            let span = error.span().unwrap_or(0..0);
            (span.clone(), locate(document, span.start), error.message())
        })
        .collect();
    located.sort_by_key(|(span, _, message)| (!message.starts_with("unclosed"), span.start));
    let mut reported: Vec<KeyPath> = Vec::new();
    for (span, place, message) in located {
        let message = format!("syntax error: {}", message.trim_end_matches('.'));
        match place {
            Some(place) if reported.contains(&place.path) => {}
            Some(place) => {
                let span = if message.contains("unclosed") {
                    place.value_span
                } else {
                    span
                };
                sink.error(&span, &place.path, message);
                reported.push(place.path);
            }
            None => sink.error(&span, String::new(), message),
        }
    }
}

/// Where an offset is in the recovered tree: the entry's key path and its value's span.
#[derive(Debug, Clone)]
struct Located {
    path: KeyPath,
    key_start: usize,
    value_span: Range<usize>,
}

/// The deepest entry whose key starts at or before `offset` and whose value ends at or after it.
fn locate(table: &DeTable<'_>, offset: usize) -> Option<Located> {
    let mut best: Option<Located> = None;
    visit(table, &KeyPath::root(), offset, &mut best);
    best
}

fn visit(table: &DeTable<'_>, path: &KeyPath, offset: usize, best: &mut Option<Located>) {
    for (key, value) in table.iter() {
        let key_path = path.key(key.get_ref().as_ref());
        let key_span = key.span();
        let covers = key_span.start <= offset && offset <= value.span().end;
        if covers
            && best
                .as_ref()
                .is_none_or(|found| key_span.start >= found.key_start)
        {
            *best = Some(Located {
                path: key_path.clone(),
                key_start: key_span.start,
                value_span: value.span(),
            });
        }
        match value.get_ref() {
            DeValue::Table(inner) => visit(inner, &key_path, offset, best),
            DeValue::Array(items) => {
                for (idx, item) in items.iter().enumerate() {
                    if let DeValue::Table(inner) = item.get_ref() {
                        visit(inner, &key_path.index(idx), offset, best);
                    }
                }
            }
            _ => {}
        }
    }
}
