//! The mapping tables: every built-in status, priority and role of the old platform mapped, only
//! to values the new platform has (or `"drop"`); and conflict policies naming real fields.

use std::ops::Range;

use cutover_model::accounts::Accounts;
use cutover_model::{PlatformKind, Side};
use toml::de::DeTable;

use crate::plan::hint::{did_you_mean, quoted_list};
use crate::plan::open::Table;
use crate::plan::rules::platforms::platform_of;
use crate::plan::rules::refs;
use crate::plan::span::{KeyPath, Sink};
use crate::plan::tree;
use crate::plan::vocab::{Vocabulary, suggest_unshared};

/// Zendesk's ticket types: fixed, none can be added.
const ZENDESK_TICKET_TYPES: &[&str] = &["question", "incident", "problem", "task"];

/// Standard ticket fields a conflict policy may name besides the mapped custom fields.
pub(crate) const STANDARD_FIELDS: &[&str] = &[
    "subject", "status", "priority", "type", "group", "assignee", "tags", "due_at",
];

/// Runs every check of this module. With `accounts` (discovery's snapshot of both accounts),
/// every table's names are checked against what the accounts hold, so a custom status, role,
/// group or field is a valid name; without, against the platforms' built-in vocabularies.
pub(crate) fn check(sink: &mut Sink<'_>, root: &DeTable<'_>, accounts: Option<&Accounts>) {
    let Some((mapping, _)) = tree::get_table(root, "mapping") else {
        return;
    };
    if let (Some(old), Some(new)) = (platform_of(root, Side::Old), platform_of(root, Side::New)) {
        for table in Table::ALL {
            if let Some((entries, span)) = tree::get_table(mapping, table.key()) {
                let path = KeyPath::root().key("mapping").key(table.key());
                let names = Names::of(table, (old, new), accounts);
                check_table(sink, &names, entries, &span, &path);
            }
        }
        new_groups(sink, mapping, (old, new), accounts);
    }
    field_policy(sink, root, mapping);
}

/// `[mapping.new_groups]`, the way back for groups only the new platform has: each key a group
/// of the new account, each value a group of the old one (or `"create"`, `"drop"`). A group the
/// old→new table reaches goes back by that line already, and an old group is linked to one new
/// group of its own: one that `[mapping.groups]` carries, or that another line here names, is
/// refused (the bridge would carry it back onto a group linked to another, and the next change
/// on the old side would move the ticket out of its group on the new one).
fn new_groups(
    sink: &mut Sink<'_>,
    mapping: &DeTable<'_>,
    (old, new): (PlatformKind, PlatformKind),
    accounts: Option<&Accounts>,
) {
    let Some((entries, span)) = tree::get_table(mapping, "new_groups") else {
        return;
    };
    let path = KeyPath::root().key("mapping").key("new_groups");
    let forward = Names::of(Table::Groups, (old, new), accounts);
    // The same checks as any table, its sides turned round.
    let names = Names {
        table: Table::Groups,
        vocabulary: None,
        old: new,
        new: old,
        old_names: forward.new_names,
        new_names: forward.old_names,
    };
    check_table(sink, &names, entries, &span, &path);
    let carried: Vec<(&str, &str)> = tree::get_table(mapping, "groups")
        .map(|(groups, _)| tree::str_entries(groups))
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, _, value, _)| *value != "drop")
        .map(|(key, _, value, _)| (key, if value == "create" { key } else { value }))
        .collect();
    let mut named: Vec<(String, &str)> = Vec::new();
    for (key, key_span, value, value_span) in tree::str_entries(entries) {
        if let Some((old_group, _)) = carried.iter().find(|(_, target)| *target == key) {
            sink.error(
                &key_span,
                path.key(key),
                format!(
                    "{new} group \"{key}\" goes back already by [mapping.groups] \"{old_group}\" \
                     = \"{key}\": remove this line"
                ),
            );
            continue;
        }
        let back = match value {
            "drop" => continue,
            "create" => key.to_owned(),
            other => other.to_owned(),
        };
        if let Some((_, target)) = carried.iter().find(|(old_group, _)| *old_group == back) {
            sink.error(
                &value_span,
                path.key(key),
                format!(
                    "{old} group \"{back}\" is linked to {new} group \"{target}\" by \
                     [mapping.groups]: each group is linked to one of its own, so name another \
                     {old} group, \"create\" to create \"{key}\" on {old}, or \"drop\""
                ),
            );
            continue;
        }
        match named.iter().find(|(earlier, _)| *earlier == back) {
            Some((_, first)) => sink.error(
                &value_span,
                path.key(key),
                format!(
                    "\"{key}\" and \"{first}\" both go back as the {old} group \"{back}\": each \
                     group is linked to one of its own, so name another, \"create\", or \"drop\""
                ),
            ),
            None => named.push((back, key)),
        }
    }
}

/// Writes `key = "value"` as TOML, quoting the key when it is not bare.
pub(crate) fn toml_pair(key: &str, value: &str) -> String {
    let bare = key
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        format!("{key} = \"{value}\"")
    } else {
        format!("\"{key}\" = \"{value}\"")
    }
}

/// The names one table may use on each side, and the built-in values it must cover.
struct Names {
    table: Table,
    vocabulary: Option<Vocabulary>,
    old: PlatformKind,
    new: PlatformKind,
    /// The old side's values (`None`: not known, any key goes).
    old_names: Option<Vec<String>>,
    /// The new side's values (`None`: not known, any target goes).
    new_names: Option<Vec<String>>,
}

impl Names {
    fn of(
        table: Table,
        (old, new): (PlatformKind, PlatformKind),
        accounts: Option<&Accounts>,
    ) -> Self {
        let vocabulary = Vocabulary::ALL
            .into_iter()
            .find(|v| v.table() == table.key());
        let names =
            |platform: PlatformKind,
             snapshot: Option<&cutover_model::accounts::AccountSnapshot>| {
                let builtin = vocabulary.map(|v| {
                    v.values(platform)
                        .iter()
                        .map(|s| (*s).to_owned())
                        .collect::<Vec<_>>()
                });
                match (builtin, snapshot) {
                    (Some(mut builtin), Some(snapshot)) => {
                        builtin.extend(table.names(snapshot));
                        Some(builtin)
                    }
                    (None, Some(snapshot)) => Some(table.names(snapshot)),
                    // Zendesk's ticket types are fixed, so known without its account.
                    (None, None)
                        if table == Table::TicketTypes && platform == PlatformKind::Zendesk =>
                    {
                        Some(
                            ZENDESK_TICKET_TYPES
                                .iter()
                                .map(|t| (*t).to_owned())
                                .collect(),
                        )
                    }
                    (builtin, None) => builtin,
                }
            };
        Names {
            table,
            vocabulary,
            old,
            new,
            old_names: names(old, accounts.map(|a| &a.old)),
            new_names: names(new, accounts.map(|a| &a.new)),
        }
    }

    /// `"a", "b" or "c"`, at most a dozen, then how many more.
    fn listed(names: &[String], extra: &[&str]) -> String {
        let mut shown: Vec<&str> = names.iter().map(String::as_str).take(12).collect();
        shown.dedup();
        let more = names.len().saturating_sub(12);
        shown.extend(extra.iter().copied());
        let list = quoted_list(shown);
        if more > 0 {
            format!("{list} (and {more} more: `cutover inventory` lists them)")
        } else {
            list
        }
    }
}

fn check_table(
    sink: &mut Sink<'_>,
    names: &Names,
    table: &DeTable<'_>,
    span: &Range<usize>,
    path: &KeyPath,
) {
    let (old, new, what) = (names.old, names.new, names.table.singular());
    let plural = names.table.key();
    for (key, key_span, value, value_span) in tree::str_entries(table) {
        if let Some(old_names) = &names.old_names
            && !old_names.iter().any(|n| n == key)
        {
            let hint = did_you_mean(key, old_names.iter().map(String::as_str));
            sink.error(
                &key_span,
                path.key(key),
                format!(
                    "{old} has no {what} \"{key}\"{hint}: its {plural} are {}",
                    Names::listed(old_names, &[])
                ),
            );
        }
        let creatable = names.table.creatable(new);
        let mut extra = Vec::new();
        if creatable.is_ok() {
            extra.push("create");
        }
        extra.push("drop");
        match (value, &creatable) {
            ("drop", _) | ("create", Ok(())) => {}
            ("create", Err(why)) => {
                let accepted = names
                    .new_names
                    .as_deref()
                    .map_or_else(|| "\"drop\"".to_owned(), |n| Names::listed(n, &extra));
                sink.error(
                    &value_span,
                    path.key(key),
                    format!("a {new} {what} cannot be created: {why}: expected {accepted}"),
                );
            }
            (value, _) => {
                if let Some(new_names) = &names.new_names
                    && !new_names.iter().any(|n| n == value)
                {
                    let hint = did_you_mean(value, new_names.iter().map(String::as_str));
                    let create = if creatable.is_ok() {
                        format!(", or \"create\" to create {key:?} there")
                    } else {
                        String::new()
                    };
                    sink.error(
                        &value_span,
                        path.key(key),
                        format!(
                            "\"{value}\" is not a {new} {what}{hint}: expected {}{create}",
                            Names::listed(new_names, &["drop"])
                        ),
                    );
                }
            }
        }
    }
    shared(sink, names, table, path);
    let Some(vocabulary) = names.vocabulary else {
        return;
    };
    let mut taken: Vec<String> = tree::str_entries(table)
        .into_iter()
        .filter_map(|(key, _, value, _)| match value {
            "drop" => None,
            "create" => Some(key.to_owned()),
            other => Some(other.to_owned()),
        })
        .collect();
    for value in vocabulary
        .values(old)
        .iter()
        .filter(|value| !table.contains_key(**value))
    {
        let suggestion = suggest_unshared(vocabulary, (old, new), value, &mut taken);
        let pair = toml_pair(value, suggestion.target);
        let why = match (suggestion.target, suggestion.note) {
            ("drop", Some(note)) => note,
            _ => "or \"drop\" to leave it behind".to_owned(),
        };
        sink.error(
            span,
            path,
            format!("{old} {what} \"{value}\" is not mapped: add {pair} ({why})"),
        );
    }
}

/// Two old values on one new value where each must have one of its own (see
/// [`Table::may_share`]): the later entry is refused.
fn shared(sink: &mut Sink<'_>, names: &Names, table: &DeTable<'_>, path: &KeyPath) {
    let (new, what) = (names.new, names.table.singular());
    if names.table.may_share(new) {
        return;
    }
    let mut first: Vec<(String, &str)> = Vec::new();
    for (key, _, value, value_span) in tree::str_entries(table) {
        let target = match value {
            "drop" => continue,
            "create" => key.to_owned(),
            other => other.to_owned(),
        };
        match first.iter().find(|(t, _)| *t == target) {
            Some((_, earlier)) => sink.error(
                &value_span,
                path.key(key),
                format!(
                    "\"{key}\" and \"{earlier}\" both become the {new} {what} \"{target}\": cutover \
                     links each {what} to one of its own on {new}, so two cannot share one yet: map \
                     it to another, or \"drop\" it"
                ),
            ),
            None => first.push((target, key)),
        }
    }
}

fn field_policy(sink: &mut Sink<'_>, root: &DeTable<'_>, mapping: &DeTable<'_>) {
    let Some((sync, _)) = tree::get_table(root, "sync") else {
        return;
    };
    let Some((policy, _)) = tree::get_table(sync, "field_policy") else {
        return;
    };
    let mapped: Vec<&str> = tree::get_table(mapping, "fields")
        .map(|(fields, _)| tree::str_entries(fields))
        .unwrap_or_default()
        .into_iter()
        .map(|(_, _, value, _)| value)
        .filter(|value| *value != "drop")
        .collect();
    let known: Vec<&str> = mapped
        .iter()
        .copied()
        .chain(STANDARD_FIELDS.iter().copied())
        .collect();
    let path = KeyPath::root().key("sync").key("field_policy");
    for (key, _) in policy.iter() {
        let name = key.get_ref().as_ref();
        if !known.contains(&name) {
            let fix = format!(
                "name a new-side field mapped in [mapping.fields], or one of {}",
                STANDARD_FIELDS.join(", ")
            );
            refs::unknown(
                sink,
                &key.span(),
                &path.key(name),
                "field",
                name,
                &known,
                &fix,
            );
        }
    }
}
