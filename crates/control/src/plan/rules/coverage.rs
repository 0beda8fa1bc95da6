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
}

impl Coverage {
    /// One line for a person about what the waves move, and what could not be checked.
    pub(crate) fn note(&self) -> String {
        let mut moved = vec![
            format!("every channel ({})", self.channels),
            format!("every group [mapping.groups] carries ({})", self.groups),
        ];
        if let Some(addresses) = self.addresses {
            moved.insert(1, format!("every support address discovery found ({addresses})"));
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
