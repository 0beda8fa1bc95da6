//! `plan check`: parse, walk, cross-check, and only then build the typed plan.
//!
//! serde stops at the first error, so it is not what finds mistakes: the file is parsed into a
//! spanned tree (`toml::de::DeTable`), the walker and the rules collect every diagnostic, and a
//! plan without any is deserialized into [`Plan`]. A file that is not valid TOML reports all its
//! syntax errors (the parser recovers) and nothing else, since the rest would be guesswork.

use std::ops::Range;
use std::path::Path;

use toml::de::{DeTable, DeValue};

use cutover_model::accounts::Accounts;
use cutover_model::{PlatformKind, Side};

use crate::error::{Diagnostic, PlanError, PlanErrors};
use crate::plan::accounts::{accounts_path, read_accounts};
use crate::plan::model::Plan;
use crate::plan::open::open_values;
use crate::plan::rules;
use crate::plan::rules::coverage::Coverage;
use crate::plan::schema;
use crate::plan::span::{KeyPath, LineIndex, Sink};
use crate::plan::walk;

/// Checks a plan's text and builds the typed plan; `source_name` names the file in diagnostics.
/// Every mistake is reported at once, sorted by position. Names are checked against the
/// platforms' built-in vocabularies only: [`check_with`] knows the accounts.
pub fn check_str(source_name: &str, text: &str) -> Result<Plan, PlanErrors> {
    check_with(source_name, text, None)
}

/// Like [`check_str`], with discovery's snapshot of both accounts: a mapping table may name
/// any status, role, group or field the accounts hold, and only those.
pub fn check_with(
    source_name: &str,
    text: &str,
    accounts: Option<&Accounts>,
) -> Result<Plan, PlanErrors> {
    check_covered(source_name, text, accounts).map(|(plan, _)| plan)
}

/// Like [`check_with`], with what the waves together move.
fn check_covered(
    source_name: &str,
    text: &str,
    accounts: Option<&Accounts>,
) -> Result<(Plan, Coverage), PlanErrors> {
    let (document, syntax_errors) = DeTable::parse_recoverable(text);
    let mut sink = Sink::new(source_name, text);
    if !syntax_errors.is_empty() {
        syntax(&mut sink, document.get_ref(), &syntax_errors);
        return Err(PlanErrors(sink.finish()));
    }
    let root = document.get_ref();
    walk::table(&mut sink, root, &(0..0), schema::ROOT, &KeyPath::root());
    rules::platforms::check(&mut sink, root);
    rules::mapping::check(&mut sink, root, accounts);
    let coverage = rules::waves::check(&mut sink, root, accounts);
    rules::watch::check(&mut sink, root);
    if !sink.is_empty() {
        return Err(PlanErrors(sink.finish()));
    }
    let plan = toml::from_str::<Plan>(text).map_err(|error| {
        // The rules above mirror the typed plan; this is the net under a gap between them.
        let span = error.span().unwrap_or(0..0);
        let mut sink = Sink::new(source_name, text);
        sink.error(&span, String::new(), error.message().to_owned());
        PlanErrors(sink.finish())
    })?;
    Ok((plan, coverage))
}

/// Reads and checks the plan at `path`; diagnostics name the file as the path was given. The
/// accounts' snapshot beside it (`cutover.accounts.json`), when there is one for the plan's
/// platforms, is what its names are checked against.
pub fn load(path: impl AsRef<Path>) -> Result<Plan, PlanError> {
    Ok(load_checked(path)?.plan)
}

/// A plan that passed its check, with what a person should know about it.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The plan.
    pub plan: Plan,
    /// The accounts' snapshot it was checked against, if any.
    pub accounts: Option<Accounts>,
    /// Notes: how names were checked, and values of the old account the plan leaves open.
    pub notes: Vec<String>,
}

/// Like [`load`], with the snapshot used and notes for a person.
pub fn load_checked(path: impl AsRef<Path>) -> Result<Checked, PlanError> {
    let path = path.as_ref();
    let text = read_text(path)?;
    let (mut accounts, mut notes) = snapshot_for(path)?;
    if let Some(found) = &accounts
        && platforms(&text) != Some((found.old.platform, found.new.platform))
    {
        notes = vec![format!(
            "{} is for other platforms than the plan's: names are checked against the \
             platforms' built-in values only (`cutover plan refresh` reads the accounts again)",
            accounts_path(path).display()
        )];
        accounts = None;
    }
    let (plan, coverage) = check_covered(&path.display().to_string(), &text, accounts.as_ref())?;
    notes.push(coverage.note());
    if let Some(found) = &accounts {
        let open = open_values(&plan.mapping, &plan.copy.kinds, &found.old, &found.new);
        if !open.is_empty() {
            let names: Vec<String> = open.iter().map(|o| o.name()).collect();
            notes.push(format!(
                "{} value(s) of the old account have no mapping yet: {}. `cutover backfill` \
                 refuses to start until each is decided; `cutover inventory` says what each \
                 holds back",
                open.len(),
                names.join(", ")
            ));
        }
    }
    Ok(Checked {
        plan,
        accounts,
        notes,
    })
}

/// The plan's two platforms, when its text names them.
fn platforms(text: &str) -> Option<(PlatformKind, PlatformKind)> {
    let (document, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        return None;
    }
    let root = document.get_ref();
    Some((
        rules::platforms::platform_of(root, Side::Old)?,
        rules::platforms::platform_of(root, Side::New)?,
    ))
}

/// The accounts' snapshot beside the plan at `path`, and a note when there is none.
fn snapshot_for(path: &Path) -> Result<(Option<Accounts>, Vec<String>), PlanError> {
    let snapshot = accounts_path(path);
    match read_accounts(&snapshot)? {
        Some(accounts) => Ok((Some(accounts), Vec::new())),
        None => Ok((
            None,
            vec![format!(
                "no snapshot of the accounts beside the plan ({}): names are checked against the \
                 platforms' built-in values only; `cutover plan refresh` reads both accounts and \
                 writes one",
                snapshot.display()
            )],
        )),
    }
}

fn read_text(path: &Path) -> Result<String, PlanError> {
    let source_name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => PlanError::Missing {
            path: path.to_owned(),
        },
        _ => PlanError::Read {
            path: path.to_owned(),
            source,
        },
    })?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok(text),
        Err(error) => Err(PlanError::Invalid(not_utf8(
            &source_name,
            error.as_bytes(),
            error.utf8_error(),
        ))),
    }
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
