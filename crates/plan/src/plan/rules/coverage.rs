//! What the waves together move, since waves add up: every channel of the plan, every support
//! address discovery found, every group `[mapping.groups]` carries and, with the accounts'
//! snapshot, every agent the move carries (active, not dropped). What no wave moves is reported
//! where it is named, and a last diagnostic at the last wave lists all that would stay on the old
//! side after it.

use std::ops::Range;

use cutover_model::accounts::{Accounts, AgentEntry, same_name};
use toml::de::{DeTable, DeValue};

use crate::plan::rules::refs;
use crate::plan::rules::waves::{WaveView, mapped_groups};
use crate::plan::span::{KeyPath, Sink};
use crate::plan::tree;

/// What the waves move, for a plan whose waves cover everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Coverage {
    /// The plan's channels.
    channels: usize,
    /// The support addresses discovery found on the old account; `None` without a snapshot.
    addresses: Option<usize>,
    /// The groups `[mapping.groups]` carries to a new group.
    groups: usize,
    /// The agents the move carries; `None` without a snapshot.
    agents: Option<usize>,
    /// The last wave's name.
    last_wave: String,
    /// The plan has no channels and no waves: it copies and proves, it switches nothing.
    backfill_only: bool,
}

impl Coverage {
    /// What a plan without channels and waves is checked for: nothing to cover.
    pub(crate) fn backfill_only() -> Self {
        Coverage {
            backfill_only: true,
            ..Coverage::default()
        }
    }

    /// One line for a person about what the waves move, and what could not be checked.
    pub(crate) fn note(&self) -> String {
        if self.backfill_only {
            return "a backfill-only plan (no [[channels]], no [[waves]]): `cutover inventory`, \
                    `cutover backfill` and `cutover verify` need nothing more; the commands that \
                    switch traffic (`serve`, `wave`, `go`, `gates`, `rollback`, `drill`) ask for \
                    waves, and the people their sign-offs name, when they run"
                .to_owned();
        }
        let mut moved = vec![
            format!("every channel ({})", self.channels),
            format!("every group [mapping.groups] carries ({})", self.groups),
        ];
        if let Some(addresses) = self.addresses {
            moved.insert(
                1,
                format!("every support address discovery found ({addresses})"),
            );
        }
        match self.agents {
            Some(agents) => {
                moved.push(format!("every agent the move carries ({agents})"));
                format!(
                    "the waves move {}: nothing is left on the old side after the last wave \"{}\"",
                    join_and(&moved),
                    self.last_wave
                )
            }
            None => format!(
                "the waves move {}; which agents they move could not be checked without the \
                 accounts' snapshot beside the plan: `cutover plan refresh` reads both accounts \
                 and writes one",
                join_and(&moved)
            ),
        }
    }
}

fn join_and(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// What stays on the old side after the last wave.
#[derive(Debug, Default)]
struct Left {
    channels: Vec<String>,
    addresses: Vec<String>,
    groups: Vec<String>,
    agents: Vec<String>,
}

impl Left {
    fn is_empty(&self) -> bool {
        self.channels.is_empty()
            && self.addresses.is_empty()
            && self.groups.is_empty()
            && self.agents.is_empty()
    }

    fn describe(&self) -> String {
        let quoted = |names: &[String]| {
            names
                .iter()
                .map(|n| format!("\"{n}\""))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let parts: [(&[String], &str, &str); 4] = [
            (&self.channels, "channel", "channels"),
            (&self.addresses, "support address", "support addresses"),
            (&self.groups, "group", "groups"),
            (&self.agents, "agent", "agents"),
        ];
        parts
            .iter()
            .filter(|(names, _, _)| !names.is_empty())
            .map(|(names, one, many)| {
                let what = if names.len() == 1 { one } else { many };
                format!("{what} {}", quoted(names))
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Checks that the waves move everything, and says what they move.
pub(crate) fn check(
    sink: &mut Sink<'_>,
    root: &DeTable<'_>,
    channels: &[(KeyPath, &str, Range<usize>)],
    waves: &[WaveView<'_, '_>],
    accounts: Option<&Accounts>,
) -> Coverage {
    let mut left = Left {
        channels: channel_coverage(sink, channels, waves),
        groups: group_coverage(sink, root, waves),
        ..Left::default()
    };
    let addresses = accounts.map(|accounts| {
        let (found, missing) = address_coverage(sink, root, accounts);
        left.addresses = missing;
        found
    });
    let agents = accounts.map(|accounts| {
        let carried = carried_agents(root, accounts);
        named_agents(sink, waves, accounts, &carried);
        left.agents = agent_coverage(sink, root, waves, &carried);
        carried.len()
    });
    let last = waves.last();
    if let Some(last) = last
        && !left.is_empty()
    {
        let name = tree::get_str(last.table, "name").map_or("", |(name, _)| name);
        let message = format!(
            "after the last wave \"{name}\", these stay on the old side: {}. Each is reported \
             where it is named, with what to write",
            left.describe()
        );
        sink.error(&last.span, &last.path, message);
    }
    Coverage {
        channels: channels.len(),
        addresses,
        groups: mapped_groups(root)
            .iter()
            .filter(|(_, _, new)| new.is_some())
            .count(),
        agents,
        last_wave: last
            .and_then(|wave| tree::get_str(wave.table, "name"))
            .map(|(name, _)| name.to_owned())
            .unwrap_or_default(),
        backfill_only: false,
    }
}

/// Whether every wave's `key` has a shape the walker accepts: otherwise the walker has reported
/// it, and coverage would only repeat that mistake in other words. `words` are the strings
/// allowed in place of a list; `optional`: a wave may leave the key out.
fn all_well_formed(waves: &[WaveView<'_, '_>], key: &str, words: &[&str], optional: bool) -> bool {
    waves.iter().all(
        |wave| match wave.table.get(key).map(|value| value.get_ref()) {
            Some(DeValue::Array(items)) => items
                .iter()
                .all(|item| matches!(item.get_ref(), DeValue::String(_))),
            Some(DeValue::String(text)) => words.contains(&text.as_ref()),
            None => optional,
            _ => false,
        },
    )
}

fn channel_coverage(
    sink: &mut Sink<'_>,
    channels: &[(KeyPath, &str, Range<usize>)],
    waves: &[WaveView<'_, '_>],
) -> Vec<String> {
    if !all_well_formed(waves, "channels", &[], false) {
        return Vec::new();
    }
    let moved: Vec<&str> = waves
        .iter()
        .flat_map(|wave| tree::get_strs(wave.table, "channels"))
        .map(|(_, name, _)| name)
        .collect();
    let mut left = Vec::new();
    for (path, name, span) in channels {
        if !moved.contains(name) {
            let message = format!(
                "channel \"{name}\" is in no wave: add it to a wave's channels, or remove the channel"
            );
            sink.error(span, path, message);
            left.push((*name).to_owned());
        }
    }
    left
}

fn group_coverage(
    sink: &mut Sink<'_>,
    root: &DeTable<'_>,
    waves: &[WaveView<'_, '_>],
) -> Vec<String> {
    let all = waves
        .iter()
        .any(|wave| tree::get_str(wave.table, "groups").is_some_and(|(text, _)| text == "all"));
    if all || waves.is_empty() || !all_well_formed(waves, "groups", &["all"], false) {
        return Vec::new();
    }
    let named: Vec<&str> = waves
        .iter()
        .flat_map(|wave| tree::get_strs(wave.table, "groups"))
        .map(|(_, name, _)| name)
        .collect();
    let mut left = Vec::new();
    for (old, span, new) in mapped_groups(root) {
        let Some(new) = new else { continue };
        if !named.contains(&old) && !named.contains(&new) {
            let path = KeyPath::root().key("mapping").key("groups").key(old);
            let message = format!(
                "group \"{old}\" is moved by no wave: add it to a wave's groups, or write \
                 groups = \"all\" in the last wave"
            );
            sink.error(&span, path, message);
            left.push(old.to_owned());
        }
    }
    left
}

/// The old account's support addresses that no channel lists: mail to them would reach no wave.
/// Returns how many addresses discovery found, and those left.
fn address_coverage(
    sink: &mut Sink<'_>,
    root: &DeTable<'_>,
    accounts: &Accounts,
) -> (usize, Vec<String>) {
    let channels = tree::get_tables(root, "channels");
    let listed: Vec<&str> = channels
        .iter()
        .flat_map(|(_, table, _)| tree::get_strs(table, "addresses"))
        .map(|(_, address, _)| address)
        .collect();
    // The first e-mail channel's addresses is where a missing address belongs.
    let place = channels
        .iter()
        .find(|(_, table, _)| tree::get_str(table, "kind").is_some_and(|(k, _)| k == "email"))
        .map(|(idx, table, span)| {
            let path = KeyPath::root().key("channels").index(*idx);
            match table.get("addresses") {
                Some(value) => (path.key("addresses"), value.span()),
                None => (path, span.clone()),
            }
        });
    let (path, span) = place.unwrap_or_else(|| {
        let span = tree::key_span(root, "channels").unwrap_or(0..0);
        (KeyPath::root().key("channels"), span)
    });
    let found: Vec<&str> = accounts
        .old
        .addresses
        .iter()
        .filter(|a| a.active && a.name.contains('@'))
        .map(|a| a.name.as_str())
        .collect();
    let mut left = Vec::new();
    for address in &found {
        if !listed.iter().any(|l| l.eq_ignore_ascii_case(address)) {
            let message = format!(
                "support address \"{address}\" of the old account is in no channel, so no wave \
                 moves its mail: add \"{address}\" to an email channel's addresses"
            );
            sink.error(&span, &path, message);
            left.push((*address).to_owned());
        }
    }
    (found.len(), left)
}

/// An agent the move carries: active on the old account and not dropped by
/// `[mapping.agents.overrides]`.
struct Carried<'a> {
    agent: &'a AgentEntry,
    /// Their address on the new side, when an override gives one.
    new: Option<&'a str>,
}

impl Carried<'_> {
    fn is_named(&self, name: &str) -> bool {
        self.agent.email.eq_ignore_ascii_case(name)
            || self.new.is_some_and(|new| new.eq_ignore_ascii_case(name))
    }
}

/// The override of `agent` (by e-mail, or by name when agents are matched by name).
fn override_of<'a>(root: &'a DeTable<'_>, agent: &AgentEntry) -> Option<&'a str> {
    let mapping = tree::get_table(root, "mapping").map(|(t, _)| t)?;
    let agents = tree::get_table(mapping, "agents").map(|(t, _)| t)?;
    let by_name = tree::get_str(agents, "match_by").is_some_and(|(by, _)| by == "name");
    let identity = if by_name { &agent.name } else { &agent.email };
    let overrides = tree::get_table(agents, "overrides").map(|(t, _)| t)?;
    tree::str_entries(overrides)
        .into_iter()
        .find(|(old, _, _, _)| old == identity)
        .map(|(_, _, new, _)| new)
}

/// Whether `[copy] kinds` carries agents (it does when it is absent).
fn copies_agents(root: &DeTable<'_>) -> bool {
    match tree::get_table(root, "copy") {
        Some((copy, _)) if copy.contains_key("kinds") => tree::get_strs(copy, "kinds")
            .iter()
            .any(|(_, kind, _)| *kind == "agent"),
        _ => true,
    }
}

fn carried_agents<'a>(root: &'a DeTable<'_>, accounts: &'a Accounts) -> Vec<Carried<'a>> {
    if !copies_agents(root) {
        return Vec::new();
    }
    accounts
        .old
        .agents
        .iter()
        .filter(|agent| agent.active)
        .filter_map(|agent| match override_of(root, agent) {
            Some("drop") => None,
            new => Some(Carried { agent, new }),
        })
        .collect()
}

/// Every e-mail in a wave's `agents` names an agent the move carries.
fn named_agents(
    sink: &mut Sink<'_>,
    waves: &[WaveView<'_, '_>],
    accounts: &Accounts,
    carried: &[Carried<'_>],
) {
    let known: Vec<&str> = carried.iter().map(|c| c.agent.email.as_str()).collect();
    for wave in waves {
        for (idx, name, span) in tree::get_strs(wave.table, "agents") {
            if carried.iter().any(|c| c.is_named(name)) {
                continue;
            }
            let path = wave.path.key("agents").index(idx);
            match accounts.old.agent(name) {
                Some(agent) if !agent.active => sink.error(
                    &span,
                    &path,
                    format!(
                        "agent \"{name}\" is deactivated on the old account, so the move does \
                         not carry them: remove the name"
                    ),
                ),
                Some(_) => sink.error(
                    &span,
                    &path,
                    format!(
                        "agent \"{name}\" is dropped (in [mapping.agents.overrides], or agents \
                         are not in [copy] kinds): no wave can move them; remove the name"
                    ),
                ),
                _ => {
                    let fix = "name an agent of the old account by e-mail (`cutover inventory` \
                               lists them), or write agents = \"by_group\"";
                    refs::unknown(sink, &span, &path, "agent", name, &known, fix);
                }
            }
        }
    }
}

/// Which agents a wave moves.
enum Selection<'a> {
    All,
    ByGroup,
    Named(Vec<&'a str>),
}

fn selection<'a>(wave: &WaveView<'a, '_>) -> Selection<'a> {
    match tree::get_str(wave.table, "agents") {
        Some(("all", _)) => Selection::All,
        Some(_) => Selection::ByGroup,
        None if wave.table.contains_key("agents") => Selection::Named(
            tree::get_strs(wave.table, "agents")
                .into_iter()
                .map(|(_, name, _)| name)
                .collect(),
        ),
        None => Selection::ByGroup,
    }
}

/// The old names of the groups a wave moves; `None`: every group the plan carries.
fn wave_old_groups<'a>(
    wave: &WaveView<'a, '_>,
    mapped: &[(&'a str, Range<usize>, Option<&'a str>)],
) -> Option<Vec<&'a str>> {
    if tree::get_str(wave.table, "groups").is_some_and(|(text, _)| text == "all") {
        return None;
    }
    let named = tree::get_strs(wave.table, "groups");
    let old = named
        .iter()
        .flat_map(|(_, name, _)| {
            let by_new = mapped
                .iter()
                .filter(move |(_, _, new)| new.as_deref() == Some(*name))
                .map(|(old, _, _)| *old);
            std::iter::once(*name).chain(by_new)
        })
        .collect();
    Some(old)
}

/// Whether `wave` moves `agent`.
fn moves(
    wave: &WaveView<'_, '_>,
    agent: &Carried<'_>,
    mapped: &[(&str, Range<usize>, Option<&str>)],
) -> bool {
    match selection(wave) {
        Selection::All => true,
        Selection::Named(names) => names.iter().any(|name| agent.is_named(name)),
        Selection::ByGroup => {
            let dropped = |group: &str| {
                mapped
                    .iter()
                    .any(|(old, _, new)| new.is_none() && same_name(old, group))
            };
            match wave_old_groups(wave, mapped) {
                None => agent.agent.groups.iter().any(|g| !dropped(g)),
                Some(groups) => agent
                    .agent
                    .groups
                    .iter()
                    .any(|g| groups.iter().any(|w| same_name(w, g))),
            }
        }
    }
}

fn agent_coverage(
    sink: &mut Sink<'_>,
    root: &DeTable<'_>,
    waves: &[WaveView<'_, '_>],
    carried: &[Carried<'_>],
) -> Vec<String> {
    let Some(last) = waves.last() else {
        return Vec::new();
    };
    if !all_well_formed(waves, "agents", &["all", "by_group"], true)
        || !all_well_formed(waves, "groups", &["all"], false)
    {
        return Vec::new();
    }
    let mapped = mapped_groups(root);
    let (path, span) = match last.table.get("agents") {
        Some(value) => (last.path.key("agents"), value.span()),
        None => (last.path.clone(), last.span.clone()),
    };
    let mut left = Vec::new();
    for agent in carried {
        if waves.iter().any(|wave| moves(wave, agent, &mapped)) {
            continue;
        }
        let email = &agent.agent.email;
        let groups = match agent.agent.groups.as_slice() {
            [] => "in no group".to_owned(),
            groups => format!(
                "groups {}",
                groups
                    .iter()
                    .map(|g| format!("\"{g}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let message = format!(
            "agent \"{email}\" ({groups}) is moved by no wave: add \"{email}\" to a wave's agents, \
             or write agents = \"all\" in the last wave"
        );
        sink.error(&span, &path, message);
        left.push(email.clone());
    }
    left
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use cutover_model::PlatformKind;
    use cutover_model::accounts::{AccountSnapshot, NamedValue};

    use super::*;
    use crate::error::Diagnostic;
    use crate::plan::init::{InitOptions, render};
    use crate::plan::rules::waves;

    /// The plan `cutover init --offline` writes: groups "Billing", "Tier 2" (to "Escalations")
    /// and "Legacy VIP" (dropped), one e-mail channel with `support@acme.example`, three waves.
    fn plan() -> String {
        render(&InitOptions {
            from: PlatformKind::Zendesk,
            to: PlatformKind::Freshdesk,
            old_url: None,
            new_url: None,
        })
    }

    fn agent(email: &str, groups: &[&str], active: bool) -> AgentEntry {
        AgentEntry {
            email: email.to_owned(),
            name: email.split('@').next().unwrap_or_default().to_owned(),
            role: None,
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            active,
            uses: Default::default(),
        }
    }

    /// An old account with an agent in each group, one in none, one only in the dropped group,
    /// one deactivated, and jo, whose address changes (`[mapping.agents.overrides]`).
    fn accounts() -> Accounts {
        let mut old = AccountSnapshot::empty(PlatformKind::Zendesk, "https://acme.zendesk.com");
        old.addresses = vec![NamedValue::new("support@acme.example")];
        old.agents = vec![
            agent("ana@acme.example", &["Billing"], true),
            agent("bo@acme.example", &["Tier 2"], true),
            agent("cy@acme.example", &[], true),
            agent("dee@acme.example", &["Billing"], false),
            agent("ed@acme.example", &["Legacy VIP"], true),
            agent("jo@old-acme.example", &[], true),
        ];
        let new = AccountSnapshot::empty(PlatformKind::Freshdesk, "https://acme.freshdesk.com");
        Accounts {
            discovered_at: Utc::now(),
            old,
            new,
        }
    }

    /// The diagnostics of the waves' checks on `text`, and what the waves move.
    fn check(text: &str, accounts: Option<&Accounts>) -> (Vec<Diagnostic>, Coverage) {
        let (document, errors) = DeTable::parse_recoverable(text);
        assert!(errors.is_empty(), "{errors:?}");
        let mut sink = Sink::new("cutover.toml", text);
        let coverage = waves::check(&mut sink, document.get_ref(), accounts);
        (sink.finish(), coverage)
    }

    fn lines(diagnostics: &[Diagnostic]) -> Vec<String> {
        diagnostics
            .iter()
            .map(|d| format!("{}: {}", d.path, d.message))
            .collect()
    }

    /// The plan with the last wave's `agents = "all"` line replaced by `agents = VALUE`.
    fn last_wave_agents(value: &str) -> String {
        let text = plan();
        let at = text.rfind("agents = \"all\"").unwrap();
        let end = at + text[at..].find('\n').unwrap();
        format!("{}agents = {value}{}", &text[..at], &text[end..])
    }

    #[test]
    fn the_template_moves_everything_discovery_found() {
        let accounts = accounts();
        let (diagnostics, coverage) = check(&plan(), Some(&accounts));
        assert!(diagnostics.is_empty(), "{:#?}", lines(&diagnostics));
        let note = coverage.note();
        assert!(note.contains("every agent the move carries (5)"), "{note}");
        assert!(
            note.contains("every support address discovery found (1)"),
            "{note}"
        );
        assert!(
            note.contains("nothing is left on the old side after the last wave \"everyone\""),
            "{note}"
        );
    }

    #[test]
    fn without_the_snapshot_agents_are_said_to_be_unchecked() {
        let (diagnostics, coverage) = check(&last_wave_agents("\"by_group\""), None);
        assert!(diagnostics.is_empty(), "{:#?}", lines(&diagnostics));
        let note = coverage.note();
        assert!(note.contains("could not be checked"), "{note}");
        assert!(!note.contains("nothing is left"), "{note}");
    }

    #[test]
    fn agents_no_wave_moves_are_named_at_the_last_wave() {
        let accounts = accounts();
        let (diagnostics, _) = check(&last_wave_agents("\"by_group\""), Some(&accounts));
        let found = lines(&diagnostics);
        // cy and jo are in no group, ed only in the dropped one; dee has left.
        for (email, groups) in [
            ("cy@acme.example", "in no group"),
            ("ed@acme.example", "groups \"Legacy VIP\""),
            ("jo@old-acme.example", "in no group"),
        ] {
            let expected = format!(
                "waves[2].agents: agent \"{email}\" ({groups}) is moved by no wave: add \
                 \"{email}\" to a wave's agents, or write agents = \"all\" in the last wave"
            );
            assert!(found.contains(&expected), "{found:#?}");
        }
        let summary = "waves[2]: after the last wave \"everyone\", these stay on the old side: \
                       agents \"cy@acme.example\", \"ed@acme.example\", \"jo@old-acme.example\"";
        assert!(found.iter().any(|l| l.starts_with(summary)), "{found:#?}");
        assert_eq!(found.len(), 4, "{found:#?}");
        assert!(!found.iter().any(|l| l.contains("dee@")), "{found:#?}");
    }

    #[test]
    fn by_group_finds_members_of_a_group_named_by_its_new_name() {
        let text = last_wave_agents("\"by_group\"")
            .replacen("groups = \"all\"", "groups = [\"Escalations\"]", 1)
            .replace("[\"Billing\", \"Escalations\"]", "[\"Billing\"]");
        let accounts = accounts();
        let found = lines(&check(&text, Some(&accounts)).0);
        // bo is in "Tier 2", which becomes "Escalations": moved by the last wave.
        assert!(!found.iter().any(|l| l.contains("bo@")), "{found:#?}");
        assert!(
            found
                .iter()
                .any(|l| l.starts_with("waves[2].agents: agent \"cy@acme.example\"")),
            "{found:#?}"
        );
    }

    #[test]
    fn a_list_of_agents_moves_them_by_either_address() {
        let text = last_wave_agents(
            "[\"cy@acme.example\", \"ED@acme.example\", \"jo@acme.example\"]",
        )
        .replace(
            "\"jo@old-acme.example\" = \"jo@acme.example\"",
            "\"jo@old-acme.example\" = \"jo@acme.example\"\n\"dee@acme.example\" = \"drop\"",
        );
        let accounts = accounts();
        let (diagnostics, coverage) = check(&text, Some(&accounts));
        assert!(diagnostics.is_empty(), "{:#?}", lines(&diagnostics));
        assert!(coverage.note().contains("nothing is left"));
    }

    #[test]
    fn named_agents_must_be_carried() {
        let mut accounts = accounts();
        accounts
            .old
            .agents
            .push(agent("gone@acme.example", &[], true));
        let text = last_wave_agents(
            "[\"cy@acme.example\", \"ed@acme.example\", \"jo@acme.example\", \
             \"cyy@acme.example\", \"dee@acme.example\", \"gone@acme.example\"]",
        )
        .replace(
            "\"jo@old-acme.example\" = \"jo@acme.example\"",
            "\"jo@old-acme.example\" = \"jo@acme.example\"\n\"gone@acme.example\" = \"drop\"",
        );
        let found = lines(&check(&text, Some(&accounts)).0);
        assert_eq!(
            found,
            [
                "waves[2].agents[3]: unknown agent \"cyy@acme.example\" (did you mean \
                 \"cy@acme.example\"?): name an agent of the old account by e-mail (`cutover \
                 inventory` lists them), or write agents = \"by_group\"",
                "waves[2].agents[4]: agent \"dee@acme.example\" is deactivated on the old \
                 account, so the move does not carry them: remove the name",
                "waves[2].agents[5]: agent \"gone@acme.example\" is dropped (in \
                 [mapping.agents.overrides], or agents are not in [copy] kinds): no wave can \
                 move them; remove the name",
            ]
        );
    }

    #[test]
    fn groups_and_addresses_no_wave_moves_are_named_where_they_are() {
        let mut accounts = accounts();
        accounts
            .old
            .addresses
            .push(NamedValue::new("billing@acme.example"));
        let text = plan()
            .replacen("groups = \"all\"", "groups = [\"Billing\"]", 1)
            .replace("[\"Billing\", \"Escalations\"]", "[\"Billing\"]");
        let found = lines(&check(&text, Some(&accounts)).0);
        let expected = [
            "channels[0].addresses: support address \"billing@acme.example\" of the old account \
             is in no channel, so no wave moves its mail: add \"billing@acme.example\" to an \
             email channel's addresses",
            "mapping.groups.\"Tier 2\": group \"Tier 2\" is moved by no wave: add it to a wave's \
             groups, or write groups = \"all\" in the last wave",
            "waves[2]: after the last wave \"everyone\", these stay on the old side: support \
             address \"billing@acme.example\"; group \"Tier 2\". Each is reported where it is \
             named, with what to write",
        ];
        for line in expected {
            assert!(found.iter().any(|f| f == line), "{line}\n{found:#?}");
        }
        assert_eq!(found.len(), 3, "{found:#?}");
    }

    #[test]
    fn an_agents_value_of_the_wrong_shape_says_what_to_write() {
        let errors = crate::plan::check_str("cutover.toml", &last_wave_agents("\"al\""))
            .unwrap_err()
            .to_string();
        assert!(
            errors.contains("waves[2].agents: expected \"all\", \"by_group\" or a list of agents' e-mails (did you mean \"all\"?)"),
            "{errors}"
        );
        let errors = crate::plan::check_str("cutover.toml", &last_wave_agents("[\"cy\"]"))
            .unwrap_err()
            .to_string();
        assert!(
            errors.contains("waves[2].agents[0]: \"cy\" is not an e-mail address"),
            "{errors}"
        );
        let plan = crate::plan::check_str("cutover.toml", &plan()).unwrap();
        assert_eq!(
            plan.waves[0].agents,
            crate::plan::values::AgentSelection::ByGroup
        );
        assert_eq!(
            plan.waves[2].agents,
            crate::plan::values::AgentSelection::All
        );
    }
}
