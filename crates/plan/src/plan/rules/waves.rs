//! Channels and waves: unique names, references to channels, groups and people that exist, and a
//! share of customers that only grows to 100 %. What the waves together move is
//! [`coverage`]'s.

use std::ops::Range;

use toml::de::{DeTable, DeValue};

use cutover_model::accounts::Accounts;

use crate::plan::names::ChannelKind;
use crate::plan::rules::coverage::{self, Coverage};
use crate::plan::rules::refs;
use crate::plan::span::{KeyPath, Sink};
use crate::plan::tree;
use crate::plan::values::Percent;

/// A wave as the checks see it.
pub(crate) struct WaveView<'a, 'i> {
    pub(crate) path: KeyPath,
    pub(crate) table: &'a DeTable<'i>,
    pub(crate) span: Range<usize>,
}

/// Runs every check of this module, and the coverage of [`coverage`] with the accounts' snapshot
/// when there is one.
pub(crate) fn check(
    sink: &mut Sink<'_>,
    root: &DeTable<'_>,
    accounts: Option<&Accounts>,
) -> Coverage {
    let channels = channel_names(root);
    channel_keys(sink, root);
    refs::duplicates(
        sink,
        "channel",
        &channels,
        "waves name channels, so names are unique",
    );
    let waves: Vec<WaveView<'_, '_>> = tree::get_tables(root, "waves")
        .into_iter()
        .map(|(idx, table, span)| WaveView {
            path: KeyPath::root().key("waves").index(idx),
            table,
            span,
        })
        .collect();
    let wave_names: Vec<(KeyPath, &str, Range<usize>)> = waves
        .iter()
        .filter_map(|wave| {
            let (name, span) = tree::get_str(wave.table, "name")?;
            Some((wave.path.key("name"), name, span))
        })
        .collect();
    refs::duplicates(
        sink,
        "wave",
        &wave_names,
        "gates and notices name waves, so names are unique",
    );
    let known_channels: Vec<&str> = channels.iter().map(|(_, name, _)| *name).collect();
    let people = refs::people(root);
    // A wrongly shaped [alerts] was reported by the walker; it still counts as alerts here.
    let has_alerts = root.get("alerts").is_some_and(
        |alerts| !matches!(alerts.get_ref(), DeValue::Array(items) if items.is_empty()),
    );
    for wave in &waves {
        wave_channels(sink, wave, &known_channels);
        wave_groups(sink, root, wave);
        if let Some((gates, _)) = tree::get_table(wave.table, "gates") {
            refs::check_people(sink, &people, gates, "sign_off", &wave.path.key("gates"));
            kpi_gate(sink, gates, &wave.path.key("gates"), has_alerts);
        }
        window(sink, wave);
    }
    customers(sink, &waves);
    if waves.is_empty() && channels.is_empty() {
        // A backfill-only plan: nothing switches, so nothing has to be covered.
        return Coverage::backfill_only();
    }
    coverage::check(sink, root, &channels, &waves, accounts)
}

fn channel_names<'a>(root: &'a DeTable<'_>) -> Vec<(KeyPath, &'a str, Range<usize>)> {
    tree::get_tables(root, "channels")
        .into_iter()
        .filter_map(|(idx, table, _)| {
            let (name, span) = tree::get_str(table, "name")?;
            Some((
                KeyPath::root().key("channels").index(idx).key("name"),
                name,
                span,
            ))
        })
        .collect()
}

/// `addresses` belong to e-mail channels (which need them), `fallback_number`, `old_number` and
/// `new_number` to voice, `verify_token_env` and `app_secret_env` to WhatsApp.
fn channel_keys(sink: &mut Sink<'_>, root: &DeTable<'_>) {
    for (idx, table, span) in tree::get_tables(root, "channels") {
        let path = KeyPath::root().key("channels").index(idx);
        let Some(kind) =
            tree::get_str(table, "kind").and_then(|(k, _)| k.parse::<ChannelKind>().ok())
        else {
            continue;
        };
        let has_addresses = table.contains_key("addresses");
        if kind == ChannelKind::Email && !has_addresses {
            sink.error(
                &span,
                &path,
                "an email channel needs addresses: the gateway routes mail by them".to_owned(),
            );
        }
        for (key, allowed) in [
            ("addresses", ChannelKind::Email),
            ("fallback_number", ChannelKind::Voice),
            ("old_number", ChannelKind::Voice),
            ("new_number", ChannelKind::Voice),
            ("verify_token_env", ChannelKind::Whatsapp),
            ("app_secret_env", ChannelKind::Whatsapp),
        ] {
            if kind != allowed
                && let Some(key_span) = tree::key_span(table, key)
            {
                sink.error(
                    &key_span,
                    path.key(key),
                    format!("{key} applies to {allowed} channels only, and this one is {kind}"),
                );
            }
        }
    }
}

fn wave_channels(sink: &mut Sink<'_>, wave: &WaveView<'_, '_>, known: &[&str]) {
    for (idx, name, span) in tree::get_strs(wave.table, "channels") {
        if !known.contains(&name) {
            let path = wave.path.key("channels").index(idx);
            let fix = "define it under [[channels]] or name one that is";
            refs::unknown(sink, &span, &path, "channel", name, known, fix);
        }
    }
}

/// The groups named in `[mapping.groups]`: (old name, new name or `None` when dropped).
pub(super) fn mapped_groups<'a>(
    root: &'a DeTable<'_>,
) -> Vec<(&'a str, Range<usize>, Option<&'a str>)> {
    tree::get_table(root, "mapping")
        .and_then(|(mapping, _)| tree::get_table(mapping, "groups"))
        .map(|(groups, _)| tree::str_entries(groups))
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, _, new, _)| !new.trim().is_empty())
        .map(|(old, span, new, _)| (old, span, (new != "drop").then_some(new)))
        .collect()
}

fn wave_groups(sink: &mut Sink<'_>, root: &DeTable<'_>, wave: &WaveView<'_, '_>) {
    let groups = mapped_groups(root);
    let moved: Vec<&str> = groups
        .iter()
        .filter_map(|(old, _, new)| new.map(|new| [*old, new]))
        .flatten()
        .collect();
    for (idx, name, span) in tree::get_strs(wave.table, "groups") {
        let path = wave.path.key("groups").index(idx);
        if moved.contains(&name) {
            continue;
        }
        if groups.iter().any(|(old, _, _)| *old == name) {
            let message =
                format!("group \"{name}\" is dropped in [mapping.groups]: no wave can move it");
            sink.error(&span, &path, message);
            continue;
        }
        let fix =
            "name it in [mapping.groups] (by either platform's name) or write groups = \"all\"";
        refs::unknown(sink, &span, &path, "group", name, &moved, fix);
    }
}

fn kpi_gate(sink: &mut Sink<'_>, gates: &DeTable<'_>, path: &KeyPath, has_alerts: bool) {
    if has_alerts {
        return;
    }
    if let Some(span) = tree::key_span(gates, "kpis_within_bounds") {
        sink.error(
            &span,
            path.key("kpis_within_bounds"),
            "the bounds are the alerts' thresholds, and there are no [[alerts]]: add one"
                .to_owned(),
        );
    }
}

fn window(sink: &mut Sink<'_>, wave: &WaveView<'_, '_>) {
    let Some((window, span)) = tree::get_table(wave.table, "window") else {
        return;
    };
    let from = tree::get_str(window, "from").map(|(text, _)| text);
    let to = tree::get_str(window, "to").map(|(text, _)| text);
    if from.is_some() && from == to {
        let message = "the window starts and ends at the same time".to_owned();
        sink.error(&span, wave.path.key("window"), message);
    }
}

/// Waves add up: the share of customers on the new side never shrinks, and the last wave moves
/// everyone, or the move never ends.
fn customers(sink: &mut Sink<'_>, waves: &[WaveView<'_, '_>]) {
    let mut previous: Option<(&str, f64)> = None;
    let mut last = None;
    for wave in waves {
        let Some((text, span)) = tree::get_str(wave.table, "customers") else {
            continue;
        };
        let Ok(share) = text.parse::<Percent>() else {
            continue;
        };
        if let Some((previous_text, previous_share)) = previous
            && share.get() < previous_share
        {
            let message = format!(
                "\"{text}\" is less than the previous wave's \"{previous_text}\": waves add up, \
                 so the share of customers on the new side never shrinks"
            );
            sink.error(&span, wave.path.key("customers"), message);
        }
        previous = Some((text, share.get()));
        last = Some((wave, text, span, share.get()));
    }
    if let Some((wave, text, span, share)) = last
        && share < 100.0
    {
        let message = format!(
            "the last wave moves \"{text}\" of customers: it must move \"100%\" for the move to end"
        );
        sink.error(&span, wave.path.key("customers"), message);
    }
}
