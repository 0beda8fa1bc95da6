//! Pagination as the platforms do it: offset pages (`page`, `per_page`, `count`, `next_page`) and
//! cursor pages (`page[size]`, `page[after]`, `page[before]`, opaque cursors), plus query parsing
//! and the URL building both need.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::numbers::NumberSyntax;

/// A request's query string, decoded, in order.
#[derive(Debug, Clone, Default)]
pub struct QueryMap {
    pairs: Vec<(String, String)>,
}

impl QueryMap {
    /// Decodes a raw query string (without the `?`).
    pub fn parse(raw: Option<&str>) -> Self {
        let pairs = raw
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        Self { pairs }
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of `key`, trimmed, if not empty.
    pub fn non_empty(&self, key: &str) -> Option<&str> {
        self.get(key).map(str::trim).filter(|v| !v.is_empty())
    }

    /// A whole-number parameter read in a platform's `syntax`: `None` when absent or blank,
    /// `Some(Err(raw))` when it is not a number (or is negative) in that syntax.
    pub fn uint(&self, key: &str, syntax: NumberSyntax) -> Option<Result<u64, &str>> {
        self.non_empty(key).map(|raw| syntax.uint(raw).ok_or(raw))
    }

    /// Like [`QueryMap::uint`], for a parameter that may be negative (a Unix time).
    pub fn int(&self, key: &str, syntax: NumberSyntax) -> Option<Result<i64, &str>> {
        self.non_empty(key).map(|raw| syntax.int(raw).ok_or(raw))
    }

    /// All pairs.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// A comma-separated list parameter (`ids=1,2,3`, `include=users,groups`).
    pub fn list(&self, key: &str) -> Vec<String> {
        self.get(key)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The same query with `drop` keys removed and `add` pairs appended, encoded.
    pub fn rebuilt(&self, drop: &[&str], add: &[(&str, String)]) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.pairs {
            if !drop.contains(&k.as_str()) {
                out.append_pair(k, v);
            }
        }
        for (k, v) in add {
            out.append_pair(k, v);
        }
        out.finish()
    }
}

/// How a list request wants its page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageRequest {
    /// `?page=N&per_page=M` (1-based), the default when no `page[size]` is given.
    Offset {
        /// 1-based page number.
        page: u64,
        /// Records per page.
        per_page: usize,
    },
    /// `?page[size]=N[&page[after]=C | &page[before]=C]`.
    Cursor {
        /// Records per page.
        size: usize,
        /// Records after this position.
        after: Option<u64>,
        /// Records before this position.
        before: Option<u64>,
    },
}

/// Why a page request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageError {
    /// The offset reaches past what offset pagination serves.
    OffsetTooDeep {
        /// The limit in records.
        limit: u64,
    },
    /// A cursor that this emulator did not issue.
    BadCursor,
}

/// Limits a platform applies to pages.
#[derive(Debug, Clone, Copy)]
pub struct PageLimits {
    /// Records per page when the request does not say.
    pub default_size: usize,
    /// The largest page.
    pub max_size: usize,
    /// Offset pagination serves only this many records (Zendesk: 10,000); 0 is no limit.
    pub max_offset_records: u64,
}

impl PageRequest {
    /// Reads the page parameters of a query (Zendesk's shapes, its numbers read as Zendesk reads
    /// them: `per_page=50.0` is 50; one that is not a number is taken as absent).
    pub fn from_query(query: &QueryMap, limits: PageLimits) -> Result<Self, PageError> {
        let clamp = |n: u64| {
            usize::try_from(n)
                .unwrap_or(usize::MAX)
                .clamp(1, limits.max_size)
        };
        // A number Zendesk does not read as one is taken as absent.
        let number = |key: &str| query.uint(key, NumberSyntax::Zendesk).and_then(Result::ok);
        if query.get("page[size]").is_some() {
            let size = number("page[size]").map_or(limits.default_size, clamp);
            let after = match query.non_empty("page[after]") {
                Some(c) => Some(decode_cursor(c).ok_or(PageError::BadCursor)?),
                None => None,
            };
            let before = match query.non_empty("page[before]") {
                Some(c) => Some(decode_cursor(c).ok_or(PageError::BadCursor)?),
                None => None,
            };
            return Ok(Self::Cursor {
                size,
                after,
                before,
            });
        }
        let per_page = number("per_page").map_or(limits.default_size, clamp);
        let page = number("page").unwrap_or(1).max(1);
        if limits.max_offset_records > 0
            && (page - 1) * per_page as u64 >= limits.max_offset_records
        {
            return Err(PageError::OffsetTooDeep {
                limit: limits.max_offset_records,
            });
        }
        Ok(Self::Offset { page, per_page })
    }
}

/// The ids of one page and what its envelope reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The records on this page, in order.
    pub ids: Vec<u64>,
    /// Envelope facts.
    pub info: PageInfo,
}

/// What a page's envelope says besides its records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageInfo {
    /// Offset envelope.
    Offset {
        /// Records in the whole list.
        count: usize,
        /// This page's number.
        page: u64,
        /// Whether a next page exists.
        has_next: bool,
    },
    /// Cursor envelope.
    Cursor {
        /// Whether more records follow this page.
        has_more: bool,
        /// The first record's position, if any.
        first: Option<u64>,
        /// The last record's position, if any.
        last: Option<u64>,
    },
}

/// Picks one page out of `ids`, which must be in ascending position order.
pub fn select(ids: impl Iterator<Item = u64>, req: &PageRequest) -> Page {
    match *req {
        PageRequest::Offset { page, per_page } => {
            let skip = usize::try_from((page - 1) * per_page as u64).unwrap_or(usize::MAX);
            let mut count = 0;
            let mut picked = Vec::with_capacity(per_page);
            for id in ids {
                if count >= skip && picked.len() < per_page {
                    picked.push(id);
                }
                count += 1;
            }
            let has_next = skip.saturating_add(per_page) < count;
            Page {
                ids: picked,
                info: PageInfo::Offset {
                    count,
                    page,
                    has_next,
                },
            }
        }
        PageRequest::Cursor {
            size,
            after,
            before: Some(before),
        } => {
            let all: Vec<u64> = ids
                .filter(|id| *id < before && after.is_none_or(|a| *id > a))
                .collect();
            let start = all.len().saturating_sub(size);
            let picked = all[start..].to_vec();
            cursor_page(picked, start > 0)
        }
        PageRequest::Cursor {
            size,
            after,
            before: None,
        } => {
            let mut picked: Vec<u64> = ids
                .filter(|id| after.is_none_or(|a| *id > a))
                .take(size + 1)
                .collect();
            let has_more = picked.len() > size;
            picked.truncate(size);
            cursor_page(picked, has_more)
        }
    }
}

fn cursor_page(ids: Vec<u64>, has_more: bool) -> Page {
    let info = PageInfo::Cursor {
        has_more,
        first: ids.first().copied(),
        last: ids.last().copied(),
    };
    Page { ids, info }
}

/// An opaque cursor for a position, shaped like Zendesk's (`{"o":"id","v":…}` in base64).
pub fn encode_cursor(position: u64) -> String {
    let mut raw = vec![b'i'];
    raw.extend_from_slice(&position.to_le_bytes());
    let inner = STANDARD.encode(raw);
    STANDARD.encode(format!("{{\"o\":\"id\",\"v\":\"{inner}\"}}"))
}

/// The position inside a cursor made by [`encode_cursor`].
pub fn decode_cursor(cursor: &str) -> Option<u64> {
    let json = STANDARD.decode(cursor.trim()).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&json).ok()?;
    let raw = STANDARD.decode(value.get("v")?.as_str()?).ok()?;
    let bytes: [u8; 8] = raw.get(1..9)?.try_into().ok()?;
    (raw.first() == Some(&b'i')).then(|| u64::from_le_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: PageLimits = PageLimits {
        default_size: 100,
        max_size: 100,
        max_offset_records: 10_000,
    };

    fn req(q: &str) -> Result<PageRequest, PageError> {
        PageRequest::from_query(&QueryMap::parse(Some(q)), LIMITS)
    }

    #[test]
    fn page_numbers_are_read_as_zendesk_reads_them() {
        assert_eq!(
            req("page=3.0&per_page=2.0").unwrap(),
            PageRequest::Offset {
                page: 3,
                per_page: 2
            }
        );
        assert_eq!(
            req("page=x&per_page=1e3").unwrap(),
            PageRequest::Offset {
                page: 1,
                per_page: 100
            }
        );
        assert!(matches!(
            req("page[size]=10.0").unwrap(),
            PageRequest::Cursor { size: 10, .. }
        ));
    }

    #[test]
    fn offset_pages_count_and_stop() {
        let r = req("page=2&per_page=2").unwrap();
        let page = select(1..=5, &r);
        assert_eq!(page.ids, vec![3, 4]);
        assert_eq!(
            page.info,
            PageInfo::Offset {
                count: 5,
                page: 2,
                has_next: true
            }
        );
        let last = select(1..=5, &req("page=3&per_page=2").unwrap());
        assert_eq!(
            last.info,
            PageInfo::Offset {
                count: 5,
                page: 3,
                has_next: false
            }
        );
    }

    #[test]
    fn offset_past_ten_thousand_is_refused() {
        assert_eq!(
            req("page=101&per_page=100"),
            Err(PageError::OffsetTooDeep { limit: 10_000 })
        );
        assert!(req("page=100&per_page=100").is_ok());
        assert_eq!(
            req("per_page=500").unwrap(),
            PageRequest::Offset {
                page: 1,
                per_page: 100
            }
        );
    }

    #[test]
    fn cursor_pages_walk_forwards_and_backwards() {
        let first = select([2, 4, 6, 8].into_iter(), &req("page[size]=2").unwrap());
        assert_eq!(first.ids, vec![2, 4]);
        let PageInfo::Cursor {
            has_more: true,
            last: Some(last),
            ..
        } = first.info
        else {
            panic!("{first:?}")
        };
        let q = format!("page[size]=2&page[after]={}", encode_cursor(last));
        let second = select([2, 4, 6, 8].into_iter(), &req(&q).unwrap());
        assert_eq!(second.ids, vec![6, 8]);
        assert!(matches!(
            second.info,
            PageInfo::Cursor {
                has_more: false,
                ..
            }
        ));
        let q = format!("page[size]=1&page[before]={}", encode_cursor(6));
        let back = select([2, 4, 6, 8].into_iter(), &req(&q).unwrap());
        assert_eq!(back.ids, vec![4]);
    }

    #[test]
    fn cursors_round_trip_and_junk_is_refused() {
        assert_eq!(
            decode_cursor(&encode_cursor(123_456_789)),
            Some(123_456_789)
        );
        assert_eq!(
            req("page[size]=2&page[after]=nonsense"),
            Err(PageError::BadCursor)
        );
    }

    #[test]
    fn rebuilt_query_encodes_brackets() {
        let q = QueryMap::parse(Some("include=users&page%5Bsize%5D=1"));
        assert_eq!(q.get("page[size]"), Some("1"));
        let s = q.rebuilt(&["page[size]"], &[("page[size]", "2".into())]);
        assert_eq!(s, "include=users&page%5Bsize%5D=2");
    }
}
