//! The parts of the plan `cutover init` writes from what discovery found on both accounts: every
//! value of the old account gets a line. A value the new account has under the same name (case
//! and spacing aside) is mapped to it; every other one is an **open line**, commented out, with
//! its choices spelled out and what it holds back: `plan check` accepts the plan as it is, and
//! `cutover backfill` refuses to start until each open line is decided (uncommented with one of
//! its choices). `cutover plan refresh` adds lines in the same form for what appears later.

use cutover_model::PlatformKind;
use cutover_model::accounts::{AccountSnapshot, Accounts, FieldEntry, NamedValue, same_name};
use cutover_model::records::{FieldTarget, FieldType};

use crate::plan::init::{Doc, quote};
use crate::plan::new_groups;
use crate::plan::open::{OpenValue, Table, choices, holds_back, toml_key};

/// How an open line starts: `plan refresh` recognises an open line by it.
pub const OPEN_LINE: &str = "# open: ";

/// The lines under the plan's header that say where the tables come from.
pub(crate) fn note(doc: &mut Doc, accounts: &Accounts) {
    let when = accounts.discovered_at.format("%Y-%m-%d %H:%M UTC");
    doc.line(&format!(
        "# Written from both accounts as they were at {when} ({} and {}). Every value the old",
        accounts.old.url, accounts.new.url
    ));
    doc.line(
        "# account holds has a line: mapped where the new account has the same name, else an open",
    );
    doc.line("# line (`# open: …`) to decide: uncomment it and put one of its choices in place of \"…\".");
    doc.line(
        "# `cutover backfill` refuses to start while a line is open. `cutover plan refresh` adds",
    );
    doc.line("# what appears on either account later; the snapshot `plan check` reads is beside this file.");
}

/// A value's line: mapped to `target`, or open with its choices.
fn value_line(doc: &mut Doc, table: Table, value: &NamedValue, target: Option<&str>, extra: &str) {
    let mut comment = holds_back(table, value);
    if let Some(label) = &value.label {
        comment = format!("{label:?}: {comment}");
    }
    if !value.active {
        comment.push_str(" (inactive)");
    }
    if !extra.is_empty() {
        comment = format!("{extra}, {comment}");
    }
    match target {
        Some(target) => doc.with_comment(
            &format!("{} = {}", toml_key(&value.name), quote(target)),
            &comment,
        ),
        None => doc.with_comment(
            &format!("{OPEN_LINE}{} = \"…\"", toml_key(&value.name)),
            &comment,
        ),
    }
}

/// The line that names an open table's choices.
fn choices_line(doc: &mut Doc, table: Table, new: &AccountSnapshot) {
    let all = choices(table, new, &[]);
    let quoted: Vec<&str> = all.iter().map(String::as_str).collect();
    doc.line(&format!(
        "# Each \"…\" below is one of {}",
        crate::plan::hint::quoted_list(quoted)
    ));
    if let Err(why) = table.creatable(new.platform) {
        doc.line(&format!("# (not \"create\": {why})."));
    }
}

/// The old account's own values of a built-in table (statuses, priorities, roles): the custom
/// ones, after the built-in values the template maps.
pub(crate) fn own_values(doc: &mut Doc, table_key: &str, accounts: &Accounts) {
    let Some(table) = Table::ALL.into_iter().find(|t| t.key() == table_key) else {
        return;
    };
    let own: Vec<NamedValue> = table
        .values(&accounts.old)
        .into_iter()
        .filter(|v| !v.builtin)
        .collect();
    if table == Table::Statuses && !accounts.old.status_labels.is_empty() {
        let labels: Vec<String> = accounts
            .old
            .status_labels
            .iter()
            .map(|s| format!("{:?} ({})", s.name, s.label.as_deref().unwrap_or("")))
            .collect();
        doc.line(&format!(
            "# {}'s own statuses are read by their category, so they map with it: {}",
            accounts.old.platform,
            labels.join(", ")
        ));
    }
    lines(doc, table, &own, accounts);
}

/// One line per value: mapped to the new account's same name, else open.
fn lines(doc: &mut Doc, table: Table, values: &[NamedValue], accounts: &Accounts) {
    let new_values = table.values(&accounts.new);
    let mut seen: Vec<&str> = Vec::new();
    let mut open = Vec::new();
    for value in values {
        if seen.contains(&value.name.as_str()) {
            continue;
        }
        seen.push(&value.name);
        match new_values.iter().find(|n| same_name(&n.name, &value.name)) {
            Some(same) => value_line(doc, table, value, Some(&same.name), ""),
            None => open.push(value),
        }
    }
    if !open.is_empty() {
        choices_line(doc, table, &accounts.new);
        for value in open {
            value_line(doc, table, value, None, "");
        }
    }
}

/// `[mapping.groups]`, `[mapping.agents]`, `[mapping.fields]`, `[mapping.ticket_types]` and
/// `[mapping.brands]` from the accounts, and what cutover carries as it is (contact and
/// organization fields).
pub(crate) fn groups_agents_fields(doc: &mut Doc, accounts: &Accounts) {
    let (old, new) = (&accounts.old, &accounts.new);
    doc.blank();
    doc.with_comment(
        "[mapping.groups]",
        &format!("{} group = {} group", old.platform, new.platform),
    );
    lines(doc, Table::Groups, &old.groups, accounts);
    new_groups::discovered(doc, accounts);
    agents(doc, accounts);
    doc.blank();
    doc.with_comment(
        "[mapping.fields]",
        &format!(
            "custom ticket fields: {} title = {} title",
            old.platform, new.platform
        ),
    );
    fields(doc, accounts);
    ticket_types(doc, accounts);
    brands(doc, accounts);
    carried_as_is(doc, accounts);
}

/// `[mapping.brands]`: one line per brand (Zendesk) or product (Freshdesk) of the old account,
/// and the new account's.
fn brands(doc: &mut Doc, accounts: &Accounts) {
    let (old, new) = (&accounts.old, &accounts.new);
    let what = |platform: PlatformKind| match platform {
        PlatformKind::Freshdesk => "product",
        _ => "brand",
    };
    doc.blank();
    doc.with_comment(
        "[mapping.brands]",
        &format!(
            "{} {} = {} {}",
            old.platform,
            what(old.platform),
            new.platform,
            what(new.platform)
        ),
    );
    let names: Vec<String> = new.brands.iter().map(|v| format!("{:?}", v.name)).collect();
    if names.is_empty() {
        doc.line(&format!(
            "# {} lists no {}.",
            new.platform,
            what(new.platform)
        ));
    } else {
        doc.line(&format!("# {} has {}.", new.platform, names.join(", ")));
    }
    if new.platform == PlatformKind::Zendesk {
        doc.line("# A ticket whose brand is dropped gets the account's default brand.");
    }
    lines(doc, Table::Brands, &old.brands, accounts);
}

/// `[mapping.ticket_types]`: one line per type of the old account, and the new account's types.
fn ticket_types(doc: &mut Doc, accounts: &Accounts) {
    let (old, new) = (&accounts.old, &accounts.new);
    doc.blank();
    doc.with_comment(
        "[mapping.ticket_types]",
        &format!(
            "{} ticket type = {} ticket type",
            old.platform, new.platform
        ),
    );
    let names: Vec<String> = new
        .ticket_types
        .iter()
        .map(|v| format!("{:?}", v.name))
        .collect();
    if names.is_empty() {
        doc.line(&format!("# {} lists no ticket type.", new.platform));
    } else {
        doc.line(&format!("# {} has {}.", new.platform, names.join(", ")));
    }
    lines(doc, Table::TicketTypes, &old.ticket_types, accounts);
}

fn agents(doc: &mut Doc, accounts: &Accounts) {
    let (old, new) = (&accounts.old, &accounts.new);
    let unmatched: Vec<String> = old
        .agents
        .iter()
        .filter(|a| new.agent(&a.email).is_none())
        .map(|a| {
            let state = if a.active { "" } else { ", has left" };
            let role = a.role.as_deref().unwrap_or("no role");
            format!("{} ({role}{state})", a.email)
        })
        .collect();
    doc.blank();
    doc.line("[mapping.agents]");
    doc.with_comment(
        "match_by = \"email\"",
        "the same person has the same address on both sides",
    );
    let matched = old.agents.len() - unmatched.len();
    doc.line(&format!(
        "# {matched} of {} {} agents have an agent with the same e-mail on {}.",
        old.agents.len(),
        old.platform,
        new.platform
    ));
    if !unmatched.is_empty() {
        doc.line(&format!(
            "# The others are created there with their role, or matched by hand below: {}",
            unmatched.join(", ")
        ));
    }
    let author = old
        .owner
        .as_ref()
        .filter(|owner| old.agent(owner).is_some())
        .or_else(|| old.agents.iter().find(|a| a.active).map(|a| &a.email));
    match author {
        Some(email) => doc.with_comment(
            &format!("unmatched = {}", quote(email)),
            &format!(
                "a {} agent who writes history of agents left behind",
                old.platform
            ),
        ),
        None => doc.line(
            "# unmatched = \"…\"   # a copied agent who writes history of agents left behind",
        ),
    }
    doc.blank();
    doc.with_comment(
        "[mapping.agents.overrides]",
        "agents whose address changed: old = new, or \"drop\"",
    );
}

fn field_type(field: &FieldEntry) -> String {
    let kind = match field.field_type {
        FieldType::Text => "text",
        FieldType::Textarea => "paragraph",
        FieldType::Integer => "number",
        FieldType::Decimal => "decimal",
        FieldType::Checkbox => "checkbox",
        FieldType::Date => "date",
        FieldType::Dropdown => "dropdown",
        FieldType::Multiselect => "multiselect",
        FieldType::Regexp => "pattern",
    };
    if field.options.is_empty() {
        kind.to_owned()
    } else {
        let mut shown: Vec<&str> = field.options.iter().map(String::as_str).take(6).collect();
        if field.options.len() > 6 {
            shown.push("…");
        }
        format!("{kind}: {}", shown.join(", "))
    }
}

fn fields(doc: &mut Doc, accounts: &Accounts) {
    let (old, new) = (&accounts.old, &accounts.new);
    let mut open = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for field in old.ticket_fields() {
        if seen.contains(&field.title.as_str()) {
            continue;
        }
        seen.push(&field.title);
        let value = field_value(field);
        match new
            .ticket_fields()
            .find(|n| same_name(&n.title, &field.title))
        {
            Some(same) => value_line(
                doc,
                Table::Fields,
                &value,
                Some(&same.title),
                &field_type(field),
            ),
            None => open.push((field, value)),
        }
    }
    if !open.is_empty() {
        choices_line(doc, Table::Fields, new);
        for (field, value) in open {
            value_line(doc, Table::Fields, &value, None, &field_type(field));
        }
    }
}

fn field_value(field: &FieldEntry) -> NamedValue {
    let mut value = NamedValue::new(field.title.clone());
    value.active = field.active;
    value.uses = field.uses.clone();
    value
}

/// What is carried without a table: listed so nothing surprises.
fn carried_as_is(doc: &mut Doc, accounts: &Accounts) {
    let (old, new) = (&accounts.old, &accounts.new);
    doc.blank();
    for (target, what) in [
        (FieldTarget::Contact, "contact"),
        (FieldTarget::Organization, "organization"),
    ] {
        let listed: Vec<String> = old
            .fields
            .iter()
            .filter(|f| f.target == target)
            .map(|f| format!("{:?} ({})", f.title, field_type(f)))
            .collect();
        if !listed.is_empty() {
            doc.line(&format!(
                "# {} {what} fields, carried under their own key (created on {} when missing): {}",
                old.platform,
                new.platform,
                listed.join(", ")
            ));
        }
    }
}

/// The old account's active support addresses, as a TOML list's items.
pub(crate) fn addresses(accounts: &Accounts) -> String {
    accounts
        .old
        .addresses
        .iter()
        .filter(|a| a.active && a.name.contains('@'))
        .map(|a| quote(&a.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The groups of the first two waves: groups the plan maps already (by their old name), else
/// every group. With the third wave's `"all"`, every mapped group is in some wave.
pub(crate) fn wave_groups(accounts: &Accounts) -> (String, String, String) {
    let new_groups = Table::Groups.values(&accounts.new);
    let mapped: Vec<&str> = accounts
        .old
        .groups
        .iter()
        .filter(|g| new_groups.iter().any(|n| same_name(&n.name, &g.name)))
        .map(|g| g.name.as_str())
        .collect();
    let list = |names: &[&str]| {
        format!(
            "[{}]",
            names
                .iter()
                .map(|n| quote(n))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    match mapped.as_slice() {
        [] => (
            "\"all\"".to_owned(),
            "\"all\"".to_owned(),
            "no group is mapped yet: name groups once they are".to_owned(),
        ),
        [one] => (
            list(&[one]),
            list(&[one]),
            "groups by either name".to_owned(),
        ),
        [first, second, ..] => (
            list(&[first]),
            list(&[first, second]),
            "groups by either name".to_owned(),
        ),
    }
}

/// The plan's text with the open value `value` of `table` decided as `choice`: its open line
/// uncommented with the choice in place of "…" (its comment kept), or, when it has none, the
/// line added under the table's header. This is what following a hint does by hand.
pub fn decide(text: &str, table: Table, value: &str, choice: &str) -> String {
    let key = toml_key(value);
    let line = format!("{key} = {}", quote(choice));
    let open = format!("{OPEN_LINE}{key} = \"…\"");
    let mut out = String::with_capacity(text.len() + line.len() + 1);
    let mut done = false;
    let header = format!("[mapping.{}]", table.key());
    for current in text.split_inclusive('\n') {
        if !done && let Some(rest) = current.strip_prefix(open.as_str()) {
            out.push_str(&line);
            out.push_str(rest);
            done = true;
            continue;
        }
        out.push_str(current);
        if !done && current.trim_start().starts_with(&header) && !text.contains(&open) {
            if !current.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(&line);
            out.push('\n');
            done = true;
        }
    }
    if !done {
        out.push_str(&format!("\n{header}\n{line}\n"));
    }
    out
}

/// The plan's text with every open value decided with the choice a rehearsal takes
/// ([`OpenValue::rehearsal_choice`]): what `cutover demo`, the benchmarks and the tests do
/// where a person would follow each hint.
/// Where two old values may not share a new one, a value another takes is no choice any more.
pub fn decide_as_rehearsed(text: &str, open: &[OpenValue]) -> String {
    let mut taken: Vec<(Table, String)> = Vec::new();
    let mut text = text.to_owned();
    for value in open {
        let mut value = value.clone();
        value
            .choices
            .retain(|c| !taken.contains(&(value.table, c.clone())));
        let choice = value.rehearsal_choice().to_owned();
        text = decide(&text, value.table, &value.value.name, &choice);
        if !value.may_share && choice != "create" && choice != "drop" {
            taken.push((value.table, choice));
        }
    }
    text
}

/// The keys a plan's text gives each mapping table, written or open, by table key.
fn present(text: &str) -> Vec<(String, String)> {
    let mut present = Vec::new();
    let mut table = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            table = trimmed
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned();
            continue;
        }
        let entry = trimmed.strip_prefix(OPEN_LINE).unwrap_or(trimmed);
        if entry.starts_with('#') {
            continue;
        }
        if let Some((key, _)) = entry.split_once('=') {
            let key = key.trim();
            let key = serde_json::from_str::<String>(key).unwrap_or_else(|_| key.to_owned());
            present.push((table.clone(), key));
        }
    }
    present
}

/// The plan's text with a line for every value of the old account that has none yet, written
/// or open (see [`decide`]): mapped where the new account has the same name, else open; and an
/// open line under `[mapping.new_groups]` for each group of the new account no line reaches
/// (the way back, see `new_groups.rs`). Lines are only added, under their table's header; none
/// the user wrote is changed. Returns the text and the values added, as a person reads them.
pub fn refresh(text: &str, accounts: &Accounts) -> (String, Vec<String>) {
    let present = present(text);
    let mut text = text.to_owned();
    let mut added = Vec::new();
    for table in Table::ALL {
        let path = format!("mapping.{}", table.key());
        let has = |name: &str| present.iter().any(|(t, k)| t == &path && k == name);
        let old = &accounts.old;
        let values = table.values(old);
        let new_values = table.values(&accounts.new);
        for value in values {
            let known = has(&value.name)
                || (table == Table::Fields
                    && old
                        .ticket_fields()
                        .any(|f| f.title == value.name && has(&f.key)));
            if known || added.contains(&format!("{} {}", table.singular(), value.display())) {
                continue;
            }
            let mut doc = Doc::default();
            match new_values.iter().find(|n| same_name(&n.name, &value.name)) {
                Some(same) => value_line(&mut doc, table, &value, Some(&same.name), ""),
                None => value_line(&mut doc, table, &value, None, ""),
            }
            text = insert_under(&text, &format!("[mapping.{}]", table.key()), doc.text());
            added.push(format!("{} {}", table.singular(), value.display()));
        }
    }
    if let Some(carried) = new_groups::Carried::of(&text) {
        for (name, line) in new_groups::open_lines(accounts, &present, &carried) {
            text = insert_under(&text, new_groups::HEADER, &line);
            added.push(format!(
                "{} group {name:?} (the way back, [mapping.new_groups])",
                accounts.new.platform
            ));
        }
    }
    (text, added)
}

/// `text` with `lines` inserted after the header line `header` (a new table at the end when
/// there is none).
fn insert_under(text: &str, header: &str, lines: &str) -> String {
    let mut out = String::with_capacity(text.len() + lines.len());
    let mut done = false;
    for current in text.split_inclusive('\n') {
        out.push_str(current);
        if !done && current.trim_start().starts_with(header) {
            if !current.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(lines);
            done = true;
        }
    }
    if !done {
        out.push_str(&format!("\n{header}\n{lines}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAN: &str = "[mapping.roles]\nagent = \"Agent\"\n# open: \"Team lead\" = \"…\"   # 3 agents\n\n[mapping.groups]\n\"Support\" = \"create\"\n";

    #[test]
    fn deciding_uncomments_the_open_line_and_keeps_its_comment() {
        let text = decide(PLAN, Table::Roles, "Team lead", "Agent");
        assert!(
            text.contains("\"Team lead\" = \"Agent\"   # 3 agents\n"),
            "{text}"
        );
        assert!(!text.contains(OPEN_LINE), "{text}");
        let text = decide(PLAN, Table::Groups, "Tier 2", "drop");
        assert!(
            text.contains("[mapping.groups]\n\"Tier 2\" = \"drop\"\n\"Support\""),
            "{text}"
        );
    }

    #[test]
    fn the_lines_present_are_read_per_table_open_or_not() {
        let present = present(PLAN);
        assert!(present.contains(&("mapping.roles".into(), "Team lead".into())));
        assert!(present.contains(&("mapping.roles".into(), "agent".into())));
        assert!(present.contains(&("mapping.groups".into(), "Support".into())));
        assert!(!present.contains(&("mapping.groups".into(), "agent".into())));
    }
}

#[cfg(test)]
mod rehearsal_tests {
    use super::*;

    fn open(name: &str, choices: &[&str]) -> OpenValue {
        OpenValue {
            table: Table::Roles,
            value: NamedValue::new(name),
            choices: choices.iter().map(|c| (*c).to_owned()).collect(),
            may_share: false,
        }
    }

    #[test]
    fn a_rehearsal_never_gives_two_values_one_they_may_not_share() {
        let text = "[mapping.roles]\n# open: A = \"…\"\n# open: B = \"…\"\n# open: C = \"…\"\n";
        let choices = ["Supervisor", "Agent", "drop"];
        let values = [
            open("A", &choices),
            open("B", &choices),
            open("C", &choices),
        ];
        let text = decide_as_rehearsed(text, &values);
        assert_eq!(
            text,
            "[mapping.roles]\nA = \"Agent\"\nB = \"Supervisor\"\nC = \"drop\"\n"
        );
    }
}
