//! The walker: compares the spanned TOML tree with the schema and reports, all at once, every
//! unknown key (with a "did you mean"), wrong type, missing required key and value that breaks
//! its rule.

use std::ops::Range;

use toml::de::{DeTable, DeValue};

use crate::plan::hint::did_you_mean;
use crate::plan::schema::{Field, Shape, StrRule};
use crate::plan::span::{KeyPath, Sink};
use crate::plan::tree::Value;
use crate::plan::values::Email;

/// Walks `table` (found at `span`, reached by `path`) against `fields`.
pub(crate) fn table(
    sink: &mut Sink<'_>,
    table: &DeTable<'_>,
    span: &Range<usize>,
    fields: &[Field],
    path: &KeyPath,
) {
    for (key, value) in table.iter() {
        let name = key.get_ref().as_ref();
        match fields.iter().find(|field| field.name == name) {
            Some(field) => self::value(sink, value, &field.shape, &path.key(name)),
            None => unknown_key(sink, name, &key.span(), fields, path),
        }
    }
    for field in fields.iter().filter(|field| field.required) {
        if !table.contains_key(field.name) {
            sink.error(
                span,
                path,
                format!("missing required key \"{}\"", field.name),
            );
        }
    }
}

fn unknown_key(
    sink: &mut Sink<'_>,
    name: &str,
    span: &Range<usize>,
    fields: &[Field],
    path: &KeyPath,
) {
    let known = fields.iter().map(|field| field.name);
    let hint = did_you_mean(name, known.clone());
    let message = if hint.is_empty() {
        let expected: Vec<&str> = known.collect();
        format!(
            "unknown key \"{name}\": expected one of {}",
            expected.join(", ")
        )
    } else {
        format!("unknown key \"{name}\"{hint}")
    };
    sink.error(span, path.key(name), message);
}

/// Walks one value against its shape.
pub(crate) fn value(sink: &mut Sink<'_>, value: &Value<'_>, shape: &Shape, path: &KeyPath) {
    let span = value.span();
    match (shape, value.get_ref()) {
        (Shape::Str(rule), DeValue::String(text)) => report(sink, &span, path, rule(text)),
        (Shape::Int(rule), DeValue::Integer(int)) => {
            match i64::from_str_radix(int.as_str(), int.radix()) {
                Ok(number) => report(sink, &span, path, rule(number)),
                Err(_) => sink.error(&span, path, format!("{int} is too large")),
            }
        }
        (Shape::Number(rule), DeValue::Integer(int)) => {
            let number = i64::from_str_radix(int.as_str(), int.radix()).ok();
            // Integers in plans are small; the conversion only loses precision past 2^53.
            let outcome = number.map_or(Err(format!("{int} is too large")), |n| rule(n as f64));
            report(sink, &span, path, outcome);
        }
        (Shape::Number(rule), DeValue::Float(float)) => {
            let outcome = float
                .as_str()
                .parse::<f64>()
                .map_err(|e| e.to_string())
                .and_then(rule);
            report(sink, &span, path, outcome);
        }
        (Shape::Bool, DeValue::Boolean(_)) => {}
        (Shape::List { item, min }, DeValue::Array(items)) => {
            too_few(sink, &span, path, items.len(), *min);
            for (idx, element) in items.iter().enumerate() {
                self::value(sink, element, item, &path.index(idx));
            }
        }
        (Shape::Table(fields), DeValue::Table(inner)) => table(sink, inner, &span, fields, path),
        (Shape::Tables { fields, min }, DeValue::Array(items)) => {
            too_few(sink, &span, path, items.len(), *min);
            tables(sink, items, fields, path);
        }
        (Shape::Map { key, value: item }, DeValue::Table(inner)) => {
            map(sink, inner, *key, item, path);
        }
        (Shape::AllOrList, DeValue::String(text)) if text.as_ref() == "all" => {}
        (Shape::AllOrList, DeValue::String(text)) => sink.error(
            &span,
            path,
            format!("expected \"all\" or a list of names: write [\"{text}\"] for one name"),
        ),
        (Shape::AllOrList, DeValue::Array(items)) => {
            too_few(sink, &span, path, items.len(), 1);
            let name = Shape::Str(non_blank);
            for (idx, element) in items.iter().enumerate() {
                self::value(sink, element, &name, &path.index(idx));
            }
        }
        (Shape::Agents, DeValue::String(text)) if ["all", "by_group"].contains(&text.as_ref()) => {}
        (Shape::Agents, DeValue::String(text)) => {
            let hint = did_you_mean(text, ["all", "by_group"]);
            let fix = if text.contains('@') {
                format!(": write [\"{text}\"] for one agent")
            } else {
                String::new()
            };
            sink.error(
                &span,
                path,
                format!("expected \"all\", \"by_group\" or a list of agents' e-mails{hint}{fix}"),
            )
        }
        (Shape::Agents, DeValue::Array(items)) => {
            too_few(sink, &span, path, items.len(), 1);
            let email = Shape::Str(email);
            for (idx, element) in items.iter().enumerate() {
                self::value(sink, element, &email, &path.index(idx));
            }
        }
        (shape, found) => wrong_type(sink, &span, path, expected(shape), found),
    }
}

fn tables(sink: &mut Sink<'_>, items: &[Value<'_>], fields: &[Field], path: &KeyPath) {
    for (idx, element) in items.iter().enumerate() {
        let element_path = path.index(idx);
        match element.get_ref() {
            DeValue::Table(inner) => table(sink, inner, &element.span(), fields, &element_path),
            other => wrong_type(sink, &element.span(), &element_path, "a table", other),
        }
    }
}

fn email(text: &str) -> Result<(), String> {
    text.parse::<Email>().map(|_| ()).map_err(|e| e.0)
}

fn non_blank(text: &str) -> Result<(), String> {
    if text.trim().is_empty() {
        Err("expected a non-empty string".to_owned())
    } else {
        Ok(())
    }
}

fn map(
    sink: &mut Sink<'_>,
    table: &DeTable<'_>,
    key_rule: Option<StrRule>,
    item: &Shape,
    path: &KeyPath,
) {
    for (key, entry) in table.iter() {
        let name = key.get_ref().as_ref();
        let entry_path = path.key(name);
        if let Some(Err(message)) = key_rule.map(|rule| rule(name)) {
            sink.error(&key.span(), &entry_path, message);
        }
        value(sink, entry, item, &entry_path);
    }
}

fn report(sink: &mut Sink<'_>, span: &Range<usize>, path: &KeyPath, outcome: Result<(), String>) {
    if let Err(message) = outcome {
        sink.error(span, path, message);
    }
}

fn too_few(sink: &mut Sink<'_>, span: &Range<usize>, path: &KeyPath, len: usize, min: usize) {
    if len < min {
        let what = if min == 1 {
            "at least one entry".to_owned()
        } else {
            format!("{min} entries")
        };
        sink.error(span, path, format!("is empty: expected {what}"));
    }
}

fn wrong_type(
    sink: &mut Sink<'_>,
    span: &Range<usize>,
    path: &KeyPath,
    expected: &str,
    found: &DeValue<'_>,
) {
    let hint = match (expected, found) {
        ("a list of tables", DeValue::Table(_)) => {
            let name = path.as_str().rsplit('.').next().unwrap_or_default();
            format!(": write [[{name}]] before each entry")
        }
        ("a string", DeValue::Datetime(_)) => ": put it in quotes".to_owned(),
        ("a list", DeValue::String(text)) => format!(": write [\"{text}\"] for one entry"),
        _ => String::new(),
    };
    sink.error(
        span,
        path,
        format!("expected {expected}, found {}{hint}", describe(found)),
    );
}

fn expected(shape: &Shape) -> &'static str {
    match shape {
        Shape::Str(_) => "a string",
        Shape::Int(_) => "a whole number",
        Shape::Number(_) => "a number",
        Shape::Bool => "true or false",
        Shape::List { .. } => "a list",
        Shape::Table(_) | Shape::Map { .. } => "a table",
        Shape::Tables { .. } => "a list of tables",
        Shape::AllOrList => "\"all\" or a list of names",
        Shape::Agents => "\"all\", \"by_group\" or a list of e-mails",
    }
}

fn describe(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "a whole number",
        DeValue::Float(_) => "a decimal number",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date or time",
        DeValue::Array(_) => "a list",
        DeValue::Table(_) => "a table",
    }
}
