//! Lenient reading of one platform record out of JSON: every getter names the field at fault, so
//! a record that does not parse becomes a [`Rejected`] that says kind, id, field and why.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use cutover_model::records::CustomFields;
use cutover_model::{Observed, PlatformId, PlatformKind, RecordKind};
use serde_json::{Map, Value};

use crate::connector::{Page, Rejected};
use crate::error::ConnectError;
use crate::outbound::AttachmentSource;

/// Why one record cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub(crate) field: Option<String>,
    pub(crate) reason: String,
}

impl Problem {
    pub(crate) fn field(field: &str, reason: impl Into<String>) -> Self {
        Problem {
            field: Some(field.to_owned()),
            reason: reason.into(),
        }
    }

    pub(crate) fn record(reason: impl Into<String>) -> Self {
        Problem {
            field: None,
            reason: reason.into(),
        }
    }
}

pub(crate) type Parsed<T> = Result<T, Problem>;

/// Turns a problem into a rejection carrying the raw record.
pub(crate) fn reject(
    platform: PlatformKind,
    kind: RecordKind,
    raw: &Value,
    problem: Problem,
) -> Rejected {
    Rejected {
        platform,
        kind,
        id: raw_id(raw),
        field: problem.field,
        reason: problem.reason,
        raw: raw.clone(),
    }
}

/// The record's `id` as text, if it has a usable one.
pub(crate) fn raw_id(raw: &Value) -> Option<String> {
    match raw.get("id") {
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

fn type_name(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => format!("string {:?}", s.chars().take(40).collect::<String>()),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

fn wrong(field: &str, expected: &str, found: &Value) -> Problem {
    Problem::field(
        field,
        format!("expected {expected}, found {}", type_name(found)),
    )
}

/// Decodes a response body into JSON. Invalid UTF-8 and lone UTF-16 surrogate escapes
/// (`"\ud800"`, which JSON parsers refuse) do not fail the page: they are replaced, and the
/// `lossy` flag tells the mappers to reject the records that contained them.
pub(crate) fn decode_body(op: &str, body: &[u8]) -> Result<(Value, bool), ConnectError> {
    let (text, mut lossy) = match std::str::from_utf8(body) {
        Ok(text) => (std::borrow::Cow::Borrowed(text), false),
        Err(_) => (String::from_utf8_lossy(body), true),
    };
    let value = match serde_json::from_str(&text) {
        Ok(value) => value,
        Err(first) => {
            let (mended, replaced) = replace_lone_surrogates(&text);
            let parsed = replaced
                .then(|| serde_json::from_str(&mended).ok())
                .flatten();
            lossy |= parsed.is_some();
            parsed.ok_or_else(|| ConnectError::Malformed {
                op: op.to_owned(),
                detail: format!("body is not JSON: {first}"),
            })?
        }
    };
    Ok((value, lossy))
}

/// `text` with every `\uXXXX` escape of a UTF-16 surrogate that has no partner replaced by
/// `\ufffd`, and whether any was.
fn replace_lone_surrogates(text: &str) -> (String, bool) {
    let escape_at = |i: usize| -> Option<u16> {
        let hex = text.get(i + 2..i + 6)?;
        (text.get(i..i + 2) == Some("\\u"))
            .then(|| u16::from_str_radix(hex, 16).ok())
            .flatten()
    };
    let (mut out, mut replaced, mut i) = (String::with_capacity(text.len()), false, 0);
    while let Some(offset) = text[i..].find('\\') {
        let at = i + offset;
        out.push_str(&text[i..at]);
        match escape_at(at) {
            Some(0xD800..=0xDBFF) => {
                if matches!(escape_at(at + 6), Some(0xDC00..=0xDFFF)) {
                    out.push_str(&text[at..at + 12]);
                    i = at + 12;
                } else {
                    out.push_str("\\ufffd");
                    replaced = true;
                    i = at + 6;
                }
            }
            Some(0xDC00..=0xDFFF) => {
                out.push_str("\\ufffd");
                replaced = true;
                i = at + 6;
            }
            _ => {
                // Any other escape: the backslash and the character it escapes, as they are.
                let next = text[at + 1..].chars().next().map_or(0, char::len_utf8);
                out.push_str(&text[at..at + 1 + next]);
                i = at + 1 + next;
            }
        }
    }
    out.push_str(&text[i..]);
    (out, replaced)
}

/// The first field of `value` (depth first) whose text holds a replacement character.
pub(crate) fn find_replacement_char(value: &Value, path: &str) -> Option<String> {
    match value {
        Value::String(s) if s.contains('\u{FFFD}') => Some(path.to_owned()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(idx, item)| find_replacement_char(item, &format!("{path}[{idx}]"))),
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            let child = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            find_replacement_char(item, &child)
        }),
        _ => None,
    }
}

/// Why a record with mangled text is rejected.
pub(crate) const INVALID_TEXT: &str = "invalid text (bad UTF-8 or a lone UTF-16 surrogate)";

/// Rejects a record of a lossy page that carried invalid UTF-8 or a lone surrogate.
pub(crate) fn check_utf8(raw: &Value, lossy: bool) -> Parsed<()> {
    if !lossy {
        return Ok(());
    }
    match find_replacement_char(raw, "") {
        Some(field) => Err(Problem::field(&field, INVALID_TEXT)),
        None => Ok(()),
    }
}

/// One record's fields.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields<'a> {
    obj: &'a Map<String, Value>,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(raw: &'a Value) -> Parsed<Self> {
        match raw {
            Value::Object(obj) => Ok(Fields { obj }),
            other => Err(Problem::record(format!(
                "expected a JSON object, found {}",
                type_name(other)
            ))),
        }
    }

    /// The value of `name`, `None` when missing or null.
    pub(crate) fn get(&self, name: &str) -> Option<&'a Value> {
        self.obj.get(name).filter(|v| !v.is_null())
    }

    pub(crate) fn id(&self) -> Parsed<PlatformId> {
        self.opt_id("id")?
            .ok_or_else(|| Problem::field("id", "missing"))
    }

    pub(crate) fn opt_id(&self, name: &str) -> Parsed<Option<PlatformId>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) if n.is_u64() => {
                Ok(Some(PlatformId::from(n.as_u64().unwrap_or_default())))
            }
            Some(Value::String(s)) => PlatformId::parse(s.clone())
                .map(Some)
                .map_err(|e| Problem::field(name, e.to_string())),
            Some(other) => Err(wrong(name, "an id (a whole number or a string)", other)),
        }
    }

    pub(crate) fn str(&self, name: &str) -> Parsed<String> {
        match self.get(name) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(wrong(name, "a string", other)),
            None => Err(Problem::field(name, "missing")),
        }
    }

    /// A string that may be missing, null or empty (all `None`).
    pub(crate) fn opt_str(&self, name: &str) -> Parsed<Option<String>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(wrong(name, "a string", other)),
        }
    }

    /// Text that some payloads send as a number (phone numbers in Freshdesk's agent samples).
    pub(crate) fn opt_text(&self, name: &str) -> Parsed<Option<String>> {
        match self.get(name) {
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            _ => self.opt_str(name),
        }
    }

    pub(crate) fn bool_or(&self, name: &str, default: bool) -> Parsed<bool> {
        match self.get(name) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(wrong(name, "true or false", other)),
        }
    }

    pub(crate) fn opt_i64(&self, name: &str) -> Parsed<Option<i64>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| wrong(name, "a whole number", &Value::Number(n.clone()))),
            Some(other) => Err(wrong(name, "a whole number", other)),
        }
    }

    pub(crate) fn time(&self, name: &str) -> Parsed<DateTime<Utc>> {
        self.opt_time(name)?
            .ok_or_else(|| Problem::field(name, "missing"))
    }

    pub(crate) fn opt_time(&self, name: &str) -> Parsed<Option<DateTime<Utc>>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => parse_time(s).map(Some).ok_or_else(|| {
                Problem::field(name, format!("expected an RFC 3339 time, found {s:?}"))
            }),
            Some(other) => Err(wrong(name, "a time", other)),
        }
    }

    /// A set of strings (tags, domains); missing or null is empty.
    pub(crate) fn string_set(&self, name: &str) -> Parsed<BTreeSet<String>> {
        match self.get(name) {
            None => Ok(BTreeSet::new()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(idx, item)| match item {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(wrong(&format!("{name}[{idx}]"), "a string", other)),
                })
                .collect(),
            Some(other) => Err(wrong(name, "an array of strings", other)),
        }
    }

    /// A list of ids; missing or null is empty.
    pub(crate) fn id_list(&self, name: &str) -> Parsed<Vec<PlatformId>> {
        match self.get(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(idx, item)| match item {
                    Value::Number(n) if n.is_u64() => {
                        Ok(PlatformId::from(n.as_u64().unwrap_or_default()))
                    }
                    Value::String(s) => PlatformId::parse(s.clone())
                        .map_err(|e| Problem::field(&format!("{name}[{idx}]"), e.to_string())),
                    other => Err(wrong(&format!("{name}[{idx}]"), "an id", other)),
                })
                .collect(),
            Some(other) => Err(wrong(name, "an array of ids", other)),
        }
    }

    pub(crate) fn opt_object(&self, name: &str) -> Parsed<Option<&'a Map<String, Value>>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(map)),
            Some(other) => Err(wrong(name, "an object", other)),
        }
    }

    pub(crate) fn opt_array(&self, name: &str) -> Parsed<&'a [Value]> {
        match self.get(name) {
            None => Ok(&[]),
            Some(Value::Array(items)) => Ok(items),
            Some(other) => Err(wrong(name, "an array", other)),
        }
    }
}

/// What one platform record became.
#[derive(Debug)]
pub(crate) enum Mapped {
    /// A canonical record.
    Record(Observed),
    /// A comment with its attachments and where their bytes are.
    Comment(Observed, Vec<(Observed, AttachmentSource)>),
    /// A tombstone: the platform reports the record deleted.
    Deleted(PlatformId),
    /// Not a record of the kind read (an agent in a contact stream, a system field): dropped.
    Skip,
}

/// Maps one raw record into `page`: a record, a tombstone, or a rejection naming the field.
pub(crate) fn collect(
    page: &mut Page,
    platform: PlatformKind,
    kind: RecordKind,
    raw: &Value,
    lossy: bool,
    map: impl FnOnce(&Value) -> Parsed<Mapped>,
) {
    match check_utf8(raw, lossy).and_then(|()| map(raw)) {
        Ok(Mapped::Record(observed)) => page.items.push(observed),
        Ok(Mapped::Comment(comment, attachments)) => {
            page.items.push(comment);
            for (observed, source) in attachments {
                page.items.push(observed);
                page.attachments.push(source);
            }
        }
        Ok(Mapped::Deleted(id)) => page.deleted.push((kind, id)),
        Ok(Mapped::Skip) => {}
        Err(problem) => page.rejected.push(reject(platform, kind, raw, problem)),
    }
}

/// Custom field values from a JSON object, nulls dropped (a platform lists unset fields as null;
/// the canonical form leaves them out so both sides compare equal).
pub(crate) fn custom_fields(map: Option<&Map<String, Value>>) -> CustomFields {
    map.into_iter()
        .flatten()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Parses an RFC 3339 time with any offset into UTC.
pub(crate) fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The canonical text of a time in platform JSON: RFC 3339, UTC, whole seconds with `Z`.
pub(crate) fn format_time(time: &DateTime<Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn getters_name_the_field_and_what_was_found() {
        let raw = json!({"id": 7, "subject": 5, "tags": ["a", 3], "created_at": "yesterday", "phone": 1234});
        let fields = Fields::new(&raw).unwrap();
        assert_eq!(fields.id().unwrap(), PlatformId::from(7));
        let err = fields.str("subject").unwrap_err();
        assert_eq!(
            err,
            Problem::field("subject", "expected a string, found number 5")
        );
        assert_eq!(
            fields.string_set("tags").unwrap_err().field.as_deref(),
            Some("tags[1]")
        );
        assert!(
            fields
                .time("created_at")
                .unwrap_err()
                .reason
                .contains("RFC 3339")
        );
        assert_eq!(fields.opt_text("phone").unwrap().as_deref(), Some("1234"));
        assert_eq!(fields.opt_str("missing").unwrap(), None);
        assert!(Fields::new(&json!([1])).is_err());
    }

    #[test]
    fn a_lone_surrogate_rejects_only_the_records_that_carry_it() {
        let body = br#"[{"id":1,"name":"ok \ud83d\ude00 \\ud800"},{"id":2,"name":"bad \ud800"},{"id":3,"name":"\udc00"}]"#;
        let (value, lossy) = decode_body("read users from zendesk", body).unwrap();
        assert!(lossy);
        let items = value.as_array().unwrap();
        assert_eq!(items[0]["name"], "ok \u{1F600} \\ud800");
        assert_eq!(check_utf8(&items[0], lossy), Ok(()));
        for item in &items[1..] {
            assert_eq!(
                check_utf8(item, lossy),
                Err(Problem::field("name", INVALID_TEXT))
            );
        }
    }

    #[test]
    fn times_with_offsets_become_utc() {
        let t = parse_time("2014-12-31T12:27:09+10:00").unwrap();
        assert_eq!(format_time(&t), "2014-12-31T02:27:09Z");
    }

    #[test]
    fn invalid_utf8_rejects_only_the_records_that_carry_it() {
        let mut body = br#"[{"id":1,"name":"ok"},{"id":2,"name":"bad "#.to_vec();
        body.extend_from_slice(&[0xff, 0xfe]);
        body.extend_from_slice(br#""}]"#);
        let (value, lossy) = decode_body("read contacts page 1 from freshdesk", &body).unwrap();
        assert!(lossy);
        let items = value.as_array().unwrap();
        assert_eq!(check_utf8(&items[0], lossy), Ok(()));
        assert_eq!(
            check_utf8(&items[1], lossy),
            Err(Problem::field("name", INVALID_TEXT))
        );
        let err = decode_body("read x", b"{not json").unwrap_err();
        assert!(
            err.to_string().starts_with("read x: malformed response"),
            "{err}"
        );
        let err = decode_body("read x", br#"{"a":"\ud800"#).unwrap_err();
        assert!(
            err.to_string().starts_with("read x: malformed response"),
            "{err}"
        );
    }
}
