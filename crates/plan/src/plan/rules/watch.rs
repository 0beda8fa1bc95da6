//! Watching and telling: alerts that notify people who exist, notices before waves that exist
//! with templates that only use known placeholders, and backup and review windows that make sense.

use std::ops::Range;

use toml::de::DeTable;

use crate::plan::rules::refs;
use crate::plan::span::{KeyPath, Sink};
use crate::plan::tree;
use crate::plan::values::Duration;

/// The placeholders a notice template may use.
pub(crate) const PLACEHOLDERS: &[&str] = &["date", "time", "wave"];

/// Runs every check of this module.
pub(crate) fn check(sink: &mut Sink<'_>, root: &DeTable<'_>) {
    let people = refs::people(root);
    let with_backup = tree::get_tables(root, "channels")
        .into_iter()
        .any(|(_, channel, _)| channel.contains_key("backup"));
    for (idx, alert, _) in tree::get_tables(root, "alerts") {
        let path = KeyPath::root().key("alerts").index(idx);
        refs::check_people(sink, &people, alert, "notify", &path);
        if let Some(("backup_channel", span)) = tree::get_str(alert, "then")
            && !with_backup
        {
            sink.error(
                &span,
                path.key("then"),
                "backup_channel switches the channels that have a backup, and no [[channels]] \
                 has one: add `backup = \"old\"` to the channels it should switch"
                    .to_owned(),
            );
        }
    }
    notices(sink, root);
    review(sink, root);
    backup(sink, root);
}

fn notices(sink: &mut Sink<'_>, root: &DeTable<'_>) {
    let waves: Vec<&str> = tree::get_tables(root, "waves")
        .into_iter()
        .filter_map(|(_, wave, _)| tree::get_str(wave, "name").map(|(name, _)| name))
        .collect();
    for (idx, notice, _) in tree::get_tables(root, "notices") {
        let path = KeyPath::root().key("notices").index(idx);
        if let Some((name, span)) = tree::get_str(notice, "before_wave")
            && !waves.contains(&name)
        {
            let fix = "name one of the waves";
            refs::unknown(
                sink,
                &span,
                &path.key("before_wave"),
                "wave",
                name,
                &waves,
                fix,
            );
        }
        if let Some((text, span)) = tree::get_str(notice, "template") {
            placeholders(sink, text, &span, &path.key("template"));
        }
    }
}

fn placeholders(sink: &mut Sink<'_>, text: &str, span: &Range<usize>, path: &KeyPath) {
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            sink.error(
                span,
                path,
                "a \"{\" is never closed: placeholders look like {date}".to_owned(),
            );
            return;
        };
        let name = &after[..close];
        if !PLACEHOLDERS.contains(&name) {
            let known: Vec<String> = PLACEHOLDERS.iter().map(|p| format!("{{{p}}}")).collect();
            let (last, rest) = known
                .split_last()
                .map_or(("", &[][..]), |(l, r)| (l.as_str(), r));
            sink.error(
                span,
                path,
                format!(
                    "unknown placeholder {{{name}}}: use {} or {last}",
                    rest.join(", ")
                ),
            );
        }
        rest = &after[close + 1..];
    }
}

/// A duration as written under `key`.
#[derive(Debug)]
struct Written {
    duration: Duration,
    /// The text as written, or the default's.
    text: String,
    /// Where it is written; `None` for a default.
    span: Option<Range<usize>>,
}

/// The duration under `key`, or the default when absent; `None` when it does not parse (the
/// walker reported it).
fn duration_or(table: Option<&DeTable<'_>>, key: &str, default: u64) -> Option<Written> {
    match table.and_then(|table| tree::get_str(table, key)) {
        Some((text, span)) => {
            let duration = text.parse().ok()?;
            Some(Written {
                duration,
                text: text.to_owned(),
                span: Some(span),
            })
        }
        None => {
            let duration = Duration::default_of_secs(default);
            Some(Written {
                duration,
                text: duration.to_string(),
                span: None,
            })
        }
    }
}

fn review(sink: &mut Sink<'_>, root: &DeTable<'_>) {
    let table = tree::get_table(root, "review").map(|(table, _)| table);
    let keys = [
        ("intensive", 72 * 3_600),
        ("heightened", 14 * 86_400),
        ("final", 30 * 86_400),
    ];
    let path = KeyPath::root().key("review");
    let mut previous: Option<(&str, Written)> = None;
    for (key, default) in keys {
        let Some(written) = duration_or(table, key, default) else {
            continue;
        };
        if let Some(span) = &written.span {
            let text = &written.text;
            if written.duration.get().as_secs() < 3_600 {
                let message = format!(
                    "\"{text}\" is shorter than an hour (m means minutes): review windows are \
                     hours, days or weeks, and a month is \"30d\""
                );
                sink.error(span, path.key(key), message);
            } else if let Some((previous_key, earlier)) = &previous
                && written.duration <= earlier.duration
            {
                let message = format!(
                    "\"{text}\" must be longer than {previous_key} (\"{}\"): the windows follow \
                     one another",
                    earlier.text
                );
                sink.error(span, path.key(key), message);
            }
        }
        previous = Some((key, written));
    }
}

fn backup(sink: &mut Sink<'_>, root: &DeTable<'_>) {
    let Some((table, _)) = tree::get_table(root, "backup") else {
        return;
    };
    let every = duration_or(Some(table), "incremental_every", 3_600);
    let keep = duration_or(Some(table), "keep", 30 * 86_400);
    if let (Some(every), Some(keep)) = (every, keep)
        && let Some(span) = &keep.span
        && keep.duration <= every.duration
    {
        let message = format!(
            "snapshots kept for \"{}\" are pruned before the next one (every \"{}\"): keep them \
             longer",
            keep.text, every.text
        );
        sink.error(span, "backup.keep", message);
    }
}
