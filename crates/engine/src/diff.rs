//! Field-level differences between two JSON values, by JSON pointer.

use serde::Serialize;
use serde_json::Value;

/// One field that differs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldDiff {
    /// Where, as a JSON pointer into the canonical record (`/record/status`).
    pub pointer: String,
    /// The old side's value (`null` when absent).
    pub old: Value,
    /// The new side's value (`null` when absent).
    pub new: Value,
}

/// Every leaf where `old` and `new` differ. Objects are compared key by key; arrays of equal
/// length item by item; anything else as a whole.
pub fn diff(old: &Value, new: &Value) -> Vec<FieldDiff> {
    let mut out = Vec::new();
    walk(String::new(), old, new, &mut out);
    out
}

fn walk(pointer: String, old: &Value, new: &Value, out: &mut Vec<FieldDiff>) {
    if old == new {
        return;
    }
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let null = Value::Null;
                let child = format!("{pointer}/{}", escape(key));
                walk(
                    child,
                    a.get(key).unwrap_or(&null),
                    b.get(key).unwrap_or(&null),
                    out,
                );
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (idx, (x, y)) in a.iter().zip(b).enumerate() {
                walk(format!("{pointer}/{idx}"), x, y, out);
            }
        }
        _ => out.push(FieldDiff {
            pointer,
            old: old.clone(),
            new: new.clone(),
        }),
    }
}

/// A key as a JSON pointer token (RFC 6901).
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn differences_are_named_by_pointer() {
        let old =
            json!({"record": {"status": "open", "tags": ["a", "b"], "custom_fields": {"a/b": 1}}});
        let new = json!({"record": {"status": "pending", "tags": ["a", "c"], "custom_fields": {}}});
        let found: Vec<(String, Value, Value)> = diff(&old, &new)
            .into_iter()
            .map(|d| (d.pointer, d.old, d.new))
            .collect();
        assert_eq!(
            found,
            [
                (
                    "/record/custom_fields/a~1b".to_owned(),
                    json!(1),
                    Value::Null
                ),
                ("/record/status".to_owned(), json!("open"), json!("pending")),
                ("/record/tags/1".to_owned(), json!("b"), json!("c")),
            ]
        );
        assert!(diff(&old, &old).is_empty());
    }
}
