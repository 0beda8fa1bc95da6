//! What cannot be carried, from the connectors' capabilities: both directions.

use cutover_engine::inventory::capability_losses;
use cutover_engine::losses::Losses;
use cutover_model::{RecordKind, Side};

use crate::support;

/// What the inventory says cannot be carried: (what, detail) per loss.
fn all_losses(from_zendesk: bool) -> Vec<(String, String)> {
    let (zd, fd) = (support::zendesk(Side::Old), support::freshdesk(Side::New));
    let (source, target) = if from_zendesk { (zd, fd) } else { (fd, zd) };
    capability_losses(
        &source.capabilities(),
        &target.capabilities(),
        RecordKind::ALL,
    )
    .into_iter()
    .map(|l| (l.what.clone(), format!("{l:?}")))
    .collect()
}

fn losses(from_zendesk: bool) -> Vec<String> {
    all_losses(from_zendesk)
        .into_iter()
        .map(|(what, _)| what)
        .collect()
}

#[test]
fn into_freshdesk_history_loses_its_times_and_public_replies_become_notes() {
    let losses = losses(true);
    for what in [
        "history.times",
        "history.public_replies",
        "attachment.size",
        "satisfaction_rating.scale",
        "notifications",
        // A Freshdesk account names its own types: a Zendesk type it lacks is left empty.
        "ticket.type",
        "ticket.solved_at",
        "ticket.priority",
        "organization.tags",
        "attachment.inline",
        // Freshdesk has no API or WhatsApp source: such tickets get the nearest one.
        "ticket.channel",
    ] {
        assert!(losses.iter().any(|l| l == what), "{what}: {losses:?}");
    }
    // Attachments travel inside their comment: not refused as a kind Freshdesk cannot create.
    assert!(!losses.iter().any(|l| l == "attachment"), "{losses:?}");
    let channel = details(true, "ticket.channel");
    assert!(
        channel.contains("api as web_form") && channel.contains("whatsapp as chat"),
        "{channel}"
    );
}

/// What the inventory says of one loss.
fn details(from_zendesk: bool, what: &str) -> String {
    all_losses(from_zendesk)
        .into_iter()
        .filter(|(w, _)| w == what)
        .map(|(_, detail)| detail)
        .collect()
}

#[test]
fn into_zendesk_channels_types_and_ratings_are_lost_but_not_history() {
    let losses = losses(false);
    for what in ["ticket.channel", "ticket.type", "satisfaction_rating"] {
        assert!(losses.iter().any(|l| l == what), "{what}: {losses:?}");
    }
    let channel = details(false, "ticket.channel");
    assert!(channel.contains("created through the API"), "{channel}");
    for what in ["history.times", "history.authors", "history.public_replies"] {
        assert!(!losses.iter().any(|l| l == what), "{what}: {losses:?}");
    }
}

/// Verify counts a levelled pair as "not comparable" under a key inventory named beforehand:
/// a move's every lack is in its inventory, for each pair of platforms.
#[test]
fn every_loss_verify_levels_is_named_by_inventory_first() {
    let zd = || support::zendesk(Side::Old).capabilities();
    let fd = || support::freshdesk(Side::New).capabilities();
    for (source, target) in [(zd(), fd()), (zd(), zd())] {
        let named: Vec<String> = capability_losses(&source, &target, RecordKind::ALL)
            .into_iter()
            .map(|l| l.what)
            .collect();
        for lack in Losses::between(&source, &target).lacks(Side::New) {
            assert!(
                named.iter().any(|w| w == lack.what),
                "{} to {}: verify levels {lack:?}, inventory names only {named:?}",
                source.platform,
                target.platform
            );
        }
    }
}
