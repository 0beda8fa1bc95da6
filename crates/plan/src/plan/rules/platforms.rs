//! The two platforms: credentials that fit each platform, two different platforms, one variable
//! per credential, and how history travels to a platform that cannot backdate.

use std::ops::Range;

use cutover_model::{PlatformKind, RecordKind, Side};
use toml::de::DeTable;

use crate::plan::rules::refs;
use crate::plan::span::{KeyPath, Sink};
use crate::plan::tree;

/// The platform named on one side, if the name is valid.
pub(crate) fn platform_of(root: &DeTable<'_>, side: Side) -> Option<PlatformKind> {
    let (table, _) = tree::get_table(root, side.as_str())?;
    tree::get_str(table, "platform")?.0.parse().ok()
}

/// Whether a platform signs in with an agent e-mail beside its token.
pub(crate) fn needs_email(platform: PlatformKind) -> bool {
    matches!(platform, PlatformKind::Zendesk)
}

/// What a platform's token is called in its own documentation.
pub(crate) fn token_name(platform: PlatformKind) -> &'static str {
    match platform {
        PlatformKind::Freshdesk => "API key",
        PlatformKind::Zendesk | PlatformKind::Zammad => "API token",
    }
}

/// Runs every check of this module.
pub(crate) fn check(sink: &mut Sink<'_>, root: &DeTable<'_>) {
    for side in Side::BOTH {
        credentials(sink, root, side);
        supported(sink, root, side);
    }
    distinct_platforms(sink, root);
    distinct_variables(sink, root);
    keep_original(sink, root);
    inline_images(sink, root);
    copy_kinds(sink, root);
}

/// A platform cutover has no connector for yet is refused here, before anything reads it.
fn supported(sink: &mut Sink<'_>, root: &DeTable<'_>, side: Side) {
    let Some(PlatformKind::Zammad) = platform_of(root, side) else {
        return;
    };
    let Some((table, _)) = tree::get_table(root, side.as_str()) else {
        return;
    };
    if let Some((_, span)) = tree::get_str(table, "platform") {
        sink.error(
            &span,
            KeyPath::root().key(side.as_str()).key("platform"),
            "zammad is not supported yet: cutover has no zammad connector; it moves between \
             zendesk and freshdesk today"
                .to_owned(),
        );
    }
}

fn credentials(sink: &mut Sink<'_>, root: &DeTable<'_>, side: Side) {
    let (Some(platform), Some((table, span))) = (
        platform_of(root, side),
        tree::get_table(root, side.as_str()),
    ) else {
        return;
    };
    let path = KeyPath::root().key(side.as_str());
    let has_email = table.contains_key("email_env");
    if needs_email(platform) && !has_email {
        let variable = format!("CUTOVER_{}_EMAIL", side.as_str().to_uppercase());
        sink.error(
            &span,
            &path,
            format!(
                "{platform} signs in with an agent e-mail and an API token: add \
                 email_env = \"{variable}\""
            ),
        );
    }
    if !needs_email(platform) && has_email {
        let key_span = tree::key_span(table, "email_env").unwrap_or(span);
        sink.error(
            &key_span,
            path.key("email_env"),
            format!(
                "{platform} signs in with its {} alone: remove email_env",
                token_name(platform)
            ),
        );
    }
}

fn distinct_platforms(sink: &mut Sink<'_>, root: &DeTable<'_>) {
    let (Some(old), Some(new)) = (platform_of(root, Side::Old), platform_of(root, Side::New))
    else {
        return;
    };
    if old != new {
        return;
    }
    // The same platform on both sides is a consolidation or a move between accounts: fine, as
    // long as the two sides are different accounts.
    let url_of = |side: Side| {
        tree::get_table(root, side.as_str())
            .and_then(|(table, _)| tree::get_str(table, "url"))
            .map(|(url, span)| (same_account_key(url), span))
    };
    if let (Some((old_url, _)), Some((new_url, span))) = (url_of(Side::Old), url_of(Side::New))
        && old_url == new_url
    {
        let message = format!(
            "old and new are the same {new} account ({old_url}): a move needs two different accounts"
        );
        sink.error(&span, "new.url", message);
    }
}

/// A base URL reduced to what names an account: scheme and host in lower case, no trailing `/`.
fn same_account_key(url: &str) -> String {
    url.trim().trim_end_matches('/').to_lowercase()
}

fn distinct_variables(sink: &mut Sink<'_>, root: &DeTable<'_>) {
    let places = [
        ("old", "email_env"),
        ("old", "token_env"),
        ("new", "email_env"),
        ("new", "token_env"),
        ("sync", "webhook_secret_env"),
    ];
    let mut names: Vec<(KeyPath, &str, Range<usize>)> = Vec::new();
    for (table_name, key) in places {
        let Some((table, _)) = tree::get_table(root, table_name) else {
            continue;
        };
        if let Some((name, span)) = tree::get_str(table, key) {
            names.push((KeyPath::root().key(table_name).key(key), name, span));
        }
    }
    refs::duplicates(
        sink,
        "environment variable",
        &names,
        "each credential needs its own",
    );
}

fn keep_original(sink: &mut Sink<'_>, root: &DeTable<'_>) {
    let Some(new) = platform_of(root, Side::New) else {
        return;
    };
    if new.can_backdate() {
        return;
    }
    let copy = tree::get_table(root, "copy");
    let keep = copy
        .as_ref()
        .and_then(|(table, _)| tree::get_table(table, "keep_original"));
    let example = "keep_original = { id_field = \"cf_original_id\", note_header = true }";
    match keep {
        None => {
            let span = copy.map(|(_, span)| span).unwrap_or(0..0);
            sink.error(
                &span,
                "copy",
                format!(
                    "{new} cannot backdate: add {example} so that original ids, times and \
                     authors travel with the history"
                ),
            );
        }
        Some((table, span)) => {
            if !tree::get_bool(table, "note_header").unwrap_or(true) {
                sink.error(
                    &span,
                    "copy.keep_original.note_header",
                    format!(
                        "{new} cannot backdate a comment nor write it as its author: the header \
                         line is the only place a comment's original author and time are kept \
                         (and how cutover finds its copy after a crash); set note_header = true"
                    ),
                );
            }
        }
    }
}

/// `inline_images = "link"` keeps the old platform's addresses of inline images in the copied
/// bodies: only Zendesk's stay valid while the account lives (and cutover marks them inline).
fn inline_images(sink: &mut Sink<'_>, root: &DeTable<'_>) {
    let Some(old) = platform_of(root, Side::Old) else {
        return;
    };
    let Some((copy, _)) = tree::get_table(root, "copy") else {
        return;
    };
    let Some((value, span)) = tree::get_str(copy, "inline_images") else {
        return;
    };
    if value == "link" && old != PlatformKind::Zendesk {
        sink.error(
            &span,
            "copy.inline_images",
            format!(
                "{old}'s attachment addresses are signed and expire, so a link kept to one \
                 breaks within hours: keep inline_images = \"rehost\""
            ),
        );
    }
}

fn copy_kinds(sink: &mut Sink<'_>, root: &DeTable<'_>) {
    let Some((copy, _)) = tree::get_table(root, "copy") else {
        return;
    };
    let path = KeyPath::root().key("copy").key("kinds");
    let kinds: Vec<(KeyPath, &str, Range<usize>)> = tree::get_strs(copy, "kinds")
        .into_iter()
        .filter(|(_, name, _)| name.parse::<RecordKind>().is_ok())
        .map(|(idx, name, span)| (path.index(idx), name, span))
        .collect();
    refs::duplicates(sink, "kind", &kinds, "list each kind once");
}
