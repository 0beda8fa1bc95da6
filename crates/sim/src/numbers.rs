//! Whole numbers in query strings, read as each platform reads them: the one place where
//! `page`, `per_page`, `page[size]`, `start_time`, `end_time` and id filters are parsed.
//!
//! - **Zendesk** (Ruby on Rails) reads a number leniently: a decimal is taken as its whole part,
//!   so `start_time=946684800.0`, which a widely used extractor sends to the incremental
//!   exports, is 946684800 (the platform accepts it). An exponent (`9.4e8`) or anything else
//!   that is not a decimal number is not a number (assumed: refused or ignored as each
//!   endpoint does with a bad value).
//! - **Freshdesk** validates its integer parameters: an optional sign and digits only, so
//!   `page=2.0` is a validation error there, as `page=two` is.

/// How a platform writes a whole number in a query string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberSyntax {
    /// Digits with an optional sign and an optional decimal fraction, read as the whole part.
    Zendesk,
    /// An optional sign and digits only.
    Freshdesk,
}

impl NumberSyntax {
    /// The whole number `raw` (surrounding blanks aside) stands for, if it is one.
    pub fn int(self, raw: &str) -> Option<i64> {
        let raw = raw.trim();
        let (whole, fraction) = match (self, raw.split_once('.')) {
            (Self::Zendesk, Some((whole, fraction))) => (whole, fraction),
            (_, None) => (raw, ""),
            (Self::Freshdesk, Some(_)) => return None,
        };
        let digits = whole.strip_prefix(['+', '-']).unwrap_or(whole);
        let is_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if digits.is_empty() || !is_digits(digits) || !is_digits(fraction) {
            return None;
        }
        whole.parse().ok()
    }

    /// [`NumberSyntax::int`], not negative.
    pub fn uint(self, raw: &str) -> Option<u64> {
        self.int(raw).and_then(|n| u64::try_from(n).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::NumberSyntax::{Freshdesk, Zendesk};

    #[test]
    fn each_platform_reads_numbers_its_own_way() {
        let cases: &[(&str, Option<i64>, Option<i64>)] = &[
            // (raw, Zendesk, Freshdesk)
            ("946684800", Some(946_684_800), Some(946_684_800)),
            ("946684800.0", Some(946_684_800), None),
            ("946684800.75", Some(946_684_800), None),
            ("946684800.", Some(946_684_800), None),
            (" 25 ", Some(25), Some(25)),
            ("+3", Some(3), Some(3)),
            ("-3", Some(-3), Some(-3)),
            ("-3.9", Some(-3), None),
            ("9.4e8", None, None),
            (".5", None, None),
            ("1.2.3", None, None),
            ("two", None, None),
            ("", None, None),
            ("0x10", None, None),
            ("99999999999999999999", None, None),
        ];
        for (raw, zendesk, freshdesk) in cases {
            assert_eq!(Zendesk.int(raw), *zendesk, "zendesk {raw:?}");
            assert_eq!(Freshdesk.int(raw), *freshdesk, "freshdesk {raw:?}");
        }
        assert_eq!(Zendesk.uint("-1"), None);
        assert_eq!(Zendesk.uint("7.0"), Some(7));
    }
}
