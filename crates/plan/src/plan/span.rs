//! Byte offsets to 1-based line and column, and a sink that turns spans into diagnostics.

use std::ops::Range;

use crate::error::Diagnostic;

/// Where each line of a text starts, to turn byte offsets into line and column.
#[derive(Debug)]
pub(crate) struct LineIndex<'t> {
    text: &'t str,
    line_starts: Vec<usize>,
}

impl<'t> LineIndex<'t> {
    pub(crate) fn new(text: &'t str) -> Self {
        let newlines = text.match_indices('\n').map(|(idx, _)| idx + 1);
        let line_starts = std::iter::once(0).chain(newlines).collect();
        LineIndex { text, line_starts }
    }

    /// The 1-based line and column (in characters) of a byte offset; offsets past the end or
    /// inside a character are clamped.
    pub(crate) fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line_idx = self.line_starts.partition_point(|&start| start <= offset) - 1;
        let line_start = self.line_starts[line_idx];
        let column = self
            .text
            .get(line_start..)
            .map(|rest| {
                rest.char_indices()
                    .take_while(|(idx, _)| line_start + idx < offset)
                    .count()
            })
            .unwrap_or(0);
        (line_idx + 1, column + 1)
    }
}

/// Collects diagnostics for one file.
#[derive(Debug)]
pub(crate) struct Sink<'t> {
    file: &'t str,
    index: LineIndex<'t>,
    diagnostics: Vec<Diagnostic>,
}

impl<'t> Sink<'t> {
    pub(crate) fn new(file: &'t str, text: &'t str) -> Self {
        Sink {
            file,
            index: LineIndex::new(text),
            diagnostics: Vec::new(),
        }
    }

    /// Records a mistake at the start of `span`.
    pub(crate) fn error(&mut self, span: &Range<usize>, path: impl Into<String>, message: String) {
        let (line, column) = self.index.position(span.start);
        self.diagnostics.push(Diagnostic {
            file: self.file.to_owned(),
            line,
            column,
            path: path.into(),
            message,
        });
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.diagnostics.is_empty()
    }

    /// The diagnostics sorted by position, then path and message; exact repeats removed.
    pub(crate) fn finish(self) -> Vec<Diagnostic> {
        let mut diagnostics = self.diagnostics;
        diagnostics.sort();
        diagnostics.dedup();
        diagnostics
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let index = LineIndex::new("a = 1\nnamé = \"x\"\n\nz");
        assert_eq!(index.position(0), (1, 1));
        assert_eq!(index.position(4), (1, 5));
        assert_eq!(index.position(6), (2, 1));
        // "namé" has a two-byte character: the `=` is at byte 12, column 6.
        assert_eq!(index.position(12), (2, 6));
        assert_eq!(index.position(18), (3, 1));
        assert_eq!(index.position(19), (4, 1));
        assert_eq!(index.position(20), (4, 2));
        assert_eq!(index.position(999), (4, 2));
    }
}

/// A key path such as `waves[1].gates.sign_off` or `mapping.statuses."pending reminder"`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct KeyPath(String);

impl KeyPath {
    /// The path of the document's root (empty).
    pub(crate) fn root() -> Self {
        KeyPath(String::new())
    }

    /// This path followed by a key; keys that are not bare TOML keys are quoted.
    pub(crate) fn key(&self, key: &str) -> Self {
        let bare = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        let key = if bare {
            key.to_owned()
        } else {
            format!("{key:?}")
        };
        if self.0.is_empty() {
            KeyPath(key)
        } else {
            KeyPath(format!("{}.{key}", self.0))
        }
    }

    /// This path followed by an array index (counted from 0).
    pub(crate) fn index(&self, idx: usize) -> Self {
        KeyPath(format!("{}[{idx}]", self.0))
    }

    /// The path as text.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&KeyPath> for String {
    fn from(path: &KeyPath) -> Self {
        path.0.clone()
    }
}

impl From<KeyPath> for String {
    fn from(path: KeyPath) -> Self {
        path.0
    }
}
