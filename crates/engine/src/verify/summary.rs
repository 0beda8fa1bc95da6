//! The report as a person reads it in a terminal: the counts per kind, then what differs
//! grouped by reason with counts, then the records themselves (the first few of each group of
//! a kind; `--json` and `--html` hold them all), then the verdict.

use std::fmt::Write as _;

use cutover_model::RecordKind;

use super::report::{Pages, VerifyReport};
use crate::text::{Table, count};

/// Records listed per kind and section in the terminal; the rest are counted.
const LISTED: usize = 20;

impl VerifyReport {
    /// The report as text: counts per kind, differences grouped by reason, records, verdict.
    pub fn summary(&self) -> String {
        let mut text = String::new();
        if let (Some(old), Some(new)) = (self.old_platform, self.new_platform) {
            let _ = writeln!(text, "Verification of {old} (old) against {new} (new)\n");
        }
        text.push_str(&self.counts_table());
        self.groups(&mut text);
        self.records(&mut text);
        text.push('\n');
        text.push_str(&self.verdict());
        text.push('\n');
        text
    }

    /// Whether it is clean, in one sentence.
    pub fn verdict(&self) -> String {
        let (missing, extra, different) = self.n_differences();
        if self.is_clean() {
            "Both sides hold the same records.".to_owned()
        } else {
            format!("The sides differ: {missing} missing, {extra} extra, {different} different.")
        }
    }

    fn counts_table(&self) -> String {
        let mut table = Table::new(
            &[
                "kind",
                "old",
                "new",
                "matched",
                "missing",
                "extra",
                "different",
                "dropped",
                "unreadable",
                "only new",
            ],
            &[false, true, true, true, true, true, true, true, true, true],
        );
        for (kind, k) in &self.kinds {
            let n = |n: usize| count(n as u64);
            table.row(vec![
                kind.to_string(),
                count(k.old),
                count(k.new),
                count(k.matched),
                n(k.missing.len()),
                n(k.extra.len()),
                n(k.different.len()),
                count(k.dropped),
                count(k.unreadable),
                n(k.only_new.len()),
            ]);
        }
        table.render("")
    }

    /// Each kind's differences (and what is levelled) counted by reason.
    fn groups(&self, text: &mut String) {
        for (title, rows) in self.grouped() {
            let mut table = Table::headless(&[false, true, false]);
            for (kind, n, reason) in rows {
                table.row(vec![kind.to_string(), count(n), reason]);
            }
            let _ = write!(text, "\n{title}:\n{}", table.render("  "));
        }
        let only_new: Vec<String> = self
            .kinds
            .iter()
            .filter(|(_, k)| !k.only_new.is_empty())
            .map(|(kind, k)| format!("{kind} {}", count(k.only_new.len() as u64)))
            .collect();
        if !only_new.is_empty() {
            let _ = writeln!(
                text,
                "\nPresent only on the new side, with no link and no cutover mark (not written by \
                 cutover: the new account's own, or made there since; not a difference): {}",
                only_new.join(", ")
            );
        }
    }

    /// The records that differ, a few per kind and section, each with its pages.
    fn records(&self, text: &mut String) {
        let mut lines = String::new();
        for (kind, k) in &self.kinds {
            let missing = k.missing.iter().map(|m| {
                let line = format!("missing {kind} {}: {}", m.old_id, m.reason);
                (line, m.pages.clone())
            });
            list(&mut lines, *kind, missing, k.missing.len());
            let extra = k.extra.iter().map(|id| {
                let reason = k.extra_reasons.get(id).map_or("not linked", String::as_str);
                let pages = Pages {
                    old: None,
                    new: k.extra_pages.get(id).cloned(),
                };
                (format!("extra {kind} {id}: {reason}"), pages)
            });
            list(&mut lines, *kind, extra, k.extra.len());
            let different = k.different.iter().map(|d| {
                let fields: Vec<String> = d
                    .fields
                    .iter()
                    .map(|f| format!("{} {} → {}", f.pointer, short(&f.old), short(&f.new)))
                    .collect();
                let line = format!(
                    "different {kind} {} (new {}): {}",
                    d.old_id,
                    d.new_id,
                    fields.join("; ")
                );
                (line, d.pages.clone())
            });
            list(&mut lines, *kind, different, k.different.len());
        }
        if !lines.is_empty() {
            let _ = write!(text, "\nRecords:\n{lines}");
        }
    }
}

/// The first [`LISTED`] of `total` records, each with its pages, then how many more there are.
fn list(
    text: &mut String,
    kind: RecordKind,
    records: impl Iterator<Item = (String, Pages)>,
    total: usize,
) {
    for (line, pages) in records.take(LISTED) {
        let _ = writeln!(text, "  {line}");
        for (side, page) in [("old", &pages.old), ("new", &pages.new)] {
            if let Some(page) = page {
                let _ = writeln!(text, "      {side}: {page}");
            }
        }
    }
    if total > LISTED {
        let _ = writeln!(
            text,
            "  … and {} more {kind} records (all of them in `--json` and `--html`)",
            count((total - LISTED) as u64)
        );
    }
}

/// A value short enough for one line of a terminal.
fn short(value: &serde_json::Value) -> String {
    const LONGEST: usize = 60;
    let text = value.to_string();
    if text.chars().count() <= LONGEST {
        return text;
    }
    let cut: String = text.chars().take(LONGEST).collect();
    format!("{cut}…")
}
