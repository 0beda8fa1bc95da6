//! The header line of a comment written where its history cannot be kept natively (a Freshdesk
//! note, or a Zendesk comment kept private so nobody is e-mailed): it carries the mark, the
//! original time, the author and whether it was a public reply, and is read back on the way in
//! so the canonical comment compares equal to its source.
//!
//! Shape: `<p>[cutover:old:comment:42] 2023-09-18T15:57:42Z · public reply · Jane Doe &lt;jane@example.com&gt;</p>`

use chrono::{DateTime, Utc};
use cutover_model::{PlatformId, RecordKind, RecordRef, Side};

use crate::fields::{format_time, parse_time};
use crate::outbound::{MARK_PREFIX, Origin};

const PUBLIC: &str = "public reply";
const PRIVATE: &str = "private note";
const SEPARATOR: &str = " · ";

/// What a header line says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeaderInfo {
    pub(crate) side: Side,
    pub(crate) kind: RecordKind,
    pub(crate) id: PlatformId,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) public: bool,
}

impl HeaderInfo {
    /// The record the header's mark names: the origin of the comment that carries it.
    pub(crate) fn origin(&self) -> RecordRef {
        RecordRef {
            kind: self.kind,
            side: self.side,
            id: self.id.clone(),
        }
    }
}

/// Escapes text for HTML.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The header paragraph for a comment.
pub(crate) fn header(
    origin: &Origin,
    created_at: &DateTime<Utc>,
    public: bool,
    author: Option<&str>,
) -> String {
    let mut line = format!(
        "[{}] {}{SEPARATOR}{}",
        origin.mark(),
        format_time(created_at),
        if public { PUBLIC } else { PRIVATE }
    );
    if let Some(author) = author.filter(|a| !a.is_empty()) {
        line.push_str(SEPARATOR);
        line.push_str(&escape(author));
    }
    format!("<p>{line}</p>")
}

/// Finds a header in `html`; returns what it says and the body without it.
pub(crate) fn parse(html: &str) -> Option<(HeaderInfo, String)> {
    let marker = format!("[{MARK_PREFIX}");
    let start = html.find(&marker)?;
    // Only a header at the very start of the body counts (inside at most a wrapper or two).
    if html[..start].chars().filter(|c| *c == '>').count() > 3 {
        return None;
    }
    let open = html[..start].rfind("<p")?;
    let close = start + html[start..].find("</p>")?;
    let line = &html[start + 1..close];
    let (mark, rest) = line.split_once(']')?;
    let (side, kind, id) = Origin::parse_mark(mark)?;
    let mut parts = rest.trim().split(SEPARATOR);
    let created_at = parse_time(parts.next()?)?;
    let public = match parts.next()?.trim() {
        PUBLIC => true,
        PRIVATE => false,
        _ => return None,
    };
    let body = format!("{}{}", &html[..open], &html[close + "</p>".len()..]);
    Some((
        HeaderInfo {
            side,
            kind,
            id,
            created_at,
            public,
        },
        body,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cutover_model::PlatformKind;

    #[test]
    fn headers_round_trip_and_leave_the_body_as_it_was() {
        let origin = Origin {
            side: Side::Old,
            platform: PlatformKind::Zendesk,
            kind: RecordKind::Comment,
            id: PlatformId::from(42),
        };
        let time = parse_time("2023-09-18T15:57:42Z").unwrap();
        let body = "<div>Hello <b>there</b></div>";
        let html = format!(
            "{}{body}",
            header(&origin, &time, true, Some("Jane <jane@example.com>"))
        );
        assert!(html.contains("Jane &lt;jane@example.com&gt;"));
        let (info, rest) = parse(&html).unwrap();
        assert_eq!(rest, body);
        assert_eq!(
            info,
            HeaderInfo {
                side: Side::Old,
                kind: RecordKind::Comment,
                id: PlatformId::from(42),
                created_at: time,
                public: true
            }
        );
        let wrapped = format!(
            "<div class=\"zd-comment\" dir=\"auto\">{}{body}</div>",
            header(&origin, &time, false, None).replace("<p>", "<p dir=\"auto\">")
        );
        let (info, rest) = parse(&wrapped).unwrap();
        assert!(!info.public);
        assert_eq!(
            rest,
            format!("<div class=\"zd-comment\" dir=\"auto\">{body}</div>")
        );
    }

    #[test]
    fn text_that_merely_mentions_a_mark_is_not_a_header() {
        assert_eq!(
            parse("<div><p>a</p><p>b</p><p>see [cutover:old:comment:1] 2023</p></div>"),
            None
        );
        assert_eq!(
            parse("<p>[cutover:old:comment:1] yesterday · public reply</p>"),
            None
        );
        assert_eq!(parse("<p>plain</p>"), None);
    }
}
