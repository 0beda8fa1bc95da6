//! Plain-text tables for what a person reads in a terminal: every column padded to its widest
//! cell (numbers to the right), the last one left as it is, so long reasons do not widen the
//! table.

/// A table of text cells, a header first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    rows: Vec<Vec<String>>,
    numeric: Vec<bool>,
}

impl Table {
    /// A table with these column titles; `numeric` says which columns are right-aligned.
    pub fn new(header: &[&str], numeric: &[bool]) -> Self {
        Table {
            rows: vec![header.iter().map(|h| (*h).to_owned()).collect()],
            numeric: numeric.to_vec(),
        }
    }

    /// A table with no header.
    pub fn headless(numeric: &[bool]) -> Self {
        Table {
            rows: Vec::new(),
            numeric: numeric.to_vec(),
        }
    }

    /// Adds a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Whether it has no row (a header counts as one).
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table, each line indented by `indent` and ended by a newline.
    pub fn render(&self, indent: &str) -> String {
        let n_columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let width = |column: usize| {
            self.rows
                .iter()
                .filter_map(|row| row.get(column))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        };
        let widths: Vec<usize> = (0..n_columns).map(width).collect();
        let mut text = String::new();
        for row in &self.rows {
            let mut line = String::from(indent);
            for (column, cell) in row.iter().enumerate() {
                if column > 0 {
                    line.push_str("  ");
                }
                let pad = widths[column].saturating_sub(cell.chars().count());
                let last = column + 1 == row.len();
                if self.numeric.get(column).copied().unwrap_or(false) {
                    line.push_str(&" ".repeat(pad));
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    if !last {
                        line.push_str(&" ".repeat(pad));
                    }
                }
            }
            text.push_str(line.trim_end());
            text.push('\n');
        }
        text
    }
}

/// A count as a person reads it: `1,127,329`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut text = String::with_capacity(digits.len() + digits.len() / 3);
    for (idx, digit) in digits.chars().enumerate() {
        if idx > 0 && (digits.len() - idx).is_multiple_of(3) {
            text.push(',');
        }
        text.push(digit);
    }
    text
}

/// A reason with the ids in it left out (each run of digits as `N`), so records that failed
/// for one reason count as one group: `parent never appeared: ticket N on the old side refers
/// to agent N`. Quoted values (`group "Tier 2"`) stay whole: each is a line of the plan to write,
/// and the hint must stay one a person can follow.
pub fn reason_group(reason: &str) -> String {
    let mut group = String::with_capacity(reason.len());
    let (mut in_digits, mut quoted) = (false, false);
    for c in reason.chars() {
        if c == '"' {
            quoted = !quoted;
        }
        if c.is_ascii_digit() && !quoted {
            if !in_digits {
                group.push('N');
            }
            in_digits = true;
        } else {
            group.push(c);
            in_digits = false;
        }
    }
    group
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_grouped_without_their_ids() {
        assert_eq!(
            reason_group("parent never appeared: ticket 42 on the old side refers to agent 7"),
            "parent never appeared: ticket N on the old side refers to agent N"
        );
        assert_eq!(
            reason_group(
                "group 12 on the old side: group \"Tier 2\" has no mapping: add \"Tier 2\" = \"…\""
            ),
            "group N on the old side: group \"Tier 2\" has no mapping: add \"Tier 2\" = \"…\""
        );
    }

    #[test]
    fn counts_are_grouped_by_thousands() {
        for (n, text) in [
            (0, "0"),
            (999, "999"),
            (1000, "1,000"),
            (1_127_329, "1,127,329"),
        ] {
            assert_eq!(count(n), text);
        }
    }

    #[test]
    fn columns_line_up_whatever_the_width_of_their_cells() {
        let mut table = Table::new(&["kind", "count", "reason"], &[false, true, false]);
        table.row(vec![
            "satisfaction_rating".into(),
            "7".into(),
            "gone".into(),
        ]);
        table.row(vec![
            "ticket".into(),
            "1,234".into(),
            "a longer reason".into(),
        ]);
        assert_eq!(
            table.render("  "),
            "  kind                 count  reason\n  \
             satisfaction_rating      7  gone\n  \
             ticket               1,234  a longer reason\n"
        );
    }
}
