//! What `--channel` and `--wave` name, as the KPIs' filters ([`Filter`]) take it.
//!
//! - A **channel** is a ticket's channel kind (`email`, `web_form`, …: what the ticket facts
//!   hold) or a plan's `[[channels]]` entry by name (what the gateway's contacts hold). Either
//!   names both: a `[[channels]]` name means its kind's tickets and its own contacts; a kind
//!   means its tickets and the contacts of every `[[channels]]` entry of that kind. Tickets are
//!   kept per kind, so two entries of one kind share their tickets.
//! - A **wave**'s tickets are those whose channel is the kind of one of its channels, or whose
//!   group is one of its groups on their side: the wave's group names (either platform's, as
//!   `[mapping.groups]` pairs them) are found among the groups the backfill and the bridge read
//!   ([`Store::kpi_groups`]), and each one's partner on the other side through the links. Its
//!   contacts are those of its channels.

use std::collections::BTreeSet;

use cutover_model::accounts::same_name;
use cutover_model::records::Channel as TicketChannel;
use cutover_model::{RecordKind, Side};
use cutover_plan::plan::model::{Channel, Plan, Wave};
use cutover_plan::plan::names::ChannelKind;
use cutover_plan::plan::values::{GroupSelection, Target};
use cutover_store::{Store, WaveTickets};

use crate::error::RuntimeError;
use crate::kpi::Filter;
use crate::mover::selects_group;

/// Links read per page from the store.
const PAGE: u32 = 500;

/// The ticket channel kind of a `[[channels]]` entry's kind: the same word, except text
/// messages and social media, which platforms file as `other`.
pub fn ticket_channel(kind: ChannelKind) -> &'static str {
    let channel = match kind {
        ChannelKind::Email => TicketChannel::Email,
        ChannelKind::WebForm => TicketChannel::WebForm,
        ChannelKind::Chat => TicketChannel::Chat,
        ChannelKind::Whatsapp => TicketChannel::Whatsapp,
        ChannelKind::Voice => TicketChannel::Voice,
        ChannelKind::Api => TicketChannel::Api,
        ChannelKind::Sms | ChannelKind::Social => TicketChannel::Other,
    };
    channel.as_str()
}

/// What a `--channel` comes to: the tickets of one channel kind, and the gateway's contacts of
/// some `[[channels]]` entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelScope {
    /// The ticket channel kind.
    pub tickets: String,
    /// The `[[channels]]` entries whose contacts count, by name.
    pub gateway: Vec<String>,
}

/// Resolves `text`, a `[[channels]]` name of `channels` (first) or a channel kind (a ticket's,
/// or a `[[channels]]` kind), into the tickets and contacts it means.
pub fn channel(channels: &[Channel], text: &str) -> Result<ChannelScope, RuntimeError> {
    if let Some(entry) = channels.iter().find(|c| c.name == text) {
        return Ok(ChannelScope {
            tickets: ticket_channel(entry.kind).to_owned(),
            gateway: vec![entry.name.clone()],
        });
    }
    let tickets = TicketChannel::ALL
        .iter()
        .map(|c| c.as_str())
        .find(|c| *c == text)
        .or_else(|| text.parse::<ChannelKind>().ok().map(ticket_channel));
    match tickets {
        Some(tickets) => Ok(ChannelScope {
            tickets: tickets.to_owned(),
            gateway: channels
                .iter()
                .filter(|c| ticket_channel(c.kind) == tickets)
                .map(|c| c.name.clone())
                .collect(),
        }),
        None => Err(RuntimeError::UnknownChannel {
            given: text.to_owned(),
            kinds: channel_kinds(),
            names: channels.iter().map(|c| c.name.clone()).collect(),
        }),
    }
}

/// Every channel kind `--channel` takes: the tickets' and the `[[channels]]` kinds.
fn channel_kinds() -> Vec<String> {
    let mut kinds: Vec<String> = TicketChannel::ALL
        .iter()
        .map(|c| c.as_str().to_owned())
        .collect();
    for name in ChannelKind::NAMES {
        if !kinds.iter().any(|k| k == name) {
            kinds.push((*name).to_owned());
        }
    }
    kinds
}

/// What a `--wave` comes to: its tickets, and its channels' contacts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaveScope {
    /// Its tickets, as the store tells them.
    pub tickets: WaveTickets,
    /// Its `[[channels]]` entries, by name (their contacts count).
    pub gateway: Vec<String>,
    /// The names among its `groups` that no group the store read has (on either side, by
    /// either platform's name), for a person to read.
    pub unknown_groups: Vec<String>,
}

/// The tickets and contacts of `wave` of `plan`, from the groups and links in `store`.
pub async fn wave_tickets(
    store: &dyn Store,
    plan: &Plan,
    wave: &Wave,
) -> Result<WaveScope, RuntimeError> {
    let mut channels: BTreeSet<String> = BTreeSet::new();
    for name in &wave.channels {
        if let Some(entry) = plan.channels.iter().find(|c| c.name == *name) {
            channels.insert(ticket_channel(entry.kind).to_owned());
        }
    }
    // Each name of the wave, and the other platform's name `[mapping.groups]` pairs it with.
    let names: Vec<(String, Vec<String>)> = match &wave.groups {
        GroupSelection::All => Vec::new(),
        GroupSelection::Named(names) => names
            .iter()
            .map(|n| (n.clone(), also_named(plan, n)))
            .collect(),
    };
    let wanted = |name: &str| match &wave.groups {
        GroupSelection::All => true,
        GroupSelection::Named(_) => names
            .iter()
            .any(|(n, others)| same(n, name) || others.iter().any(|o| same(o, name))),
    };
    let known = store.kpi_groups().await?;
    let mut groups: BTreeSet<(Side, String)> = known
        .iter()
        .filter(|g| wanted(&g.name))
        .map(|g| (g.side, g.id.to_string()))
        .collect();
    let unknown_groups = names
        .iter()
        .filter(|(n, others)| {
            !known
                .iter()
                .any(|g| same(n, &g.name) || others.iter().any(|o| same(o, &g.name)))
        })
        .map(|(n, _)| n.clone())
        .collect();
    // Each group's partner on the other side.
    let mut after = None;
    loop {
        let page = store.links(RecordKind::Group, after.as_ref(), PAGE).await?;
        let full = page.len() == PAGE as usize;
        for stored in &page {
            let link = &stored.link;
            let old = (Side::Old, link.old_id.to_string());
            let new = (Side::New, link.new_id.to_string());
            let all = matches!(wave.groups, GroupSelection::All);
            if all || groups.contains(&old) || groups.contains(&new) {
                groups.insert(old);
                groups.insert(new);
            }
        }
        after = page.last().map(|l| l.link.old_id.clone());
        if !full {
            break;
        }
    }
    Ok(WaveScope {
        tickets: WaveTickets {
            name: wave.name.clone(),
            channels: channels.into_iter().collect(),
            groups: groups.into_iter().collect(),
        },
        gateway: wave.channels.clone(),
        unknown_groups,
    })
}

/// Whether a wave's group name and a group's name are the same (as the switch's mover and the
/// plan check compare them).
fn same(wave_name: &str, name: &str) -> bool {
    selects_group(&GroupSelection::Named(vec![wave_name.to_owned()]), name)
        || same_name(wave_name, name)
}

/// The other platform's names `[mapping.groups]` gives the group a wave calls `name`: the new
/// name of an old group, or the old names of a new one.
fn also_named(plan: &Plan, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (old, target) in &plan.mapping.groups {
        let new = match target {
            Target::To(new) => Some(new.as_str()),
            Target::Create | Target::Drop => None,
        };
        if same(old, name) {
            out.extend(new.map(str::to_owned));
        }
        if new.is_some_and(|new| same(new, name)) {
            out.push(old.clone());
        }
    }
    out
}

/// `filter` narrowed to a wave's tickets and contacts (with its own channel's, if any).
pub fn with_wave(filter: &Filter, wave: &WaveScope) -> Filter {
    let gateway = match &filter.gateway_channels {
        Some(names) => names
            .iter()
            .filter(|n| wave.gateway.contains(n))
            .cloned()
            .collect(),
        None => wave.gateway.clone(),
    };
    Filter {
        wave: Some(wave.tickets.clone()),
        gateway_channels: Some(gateway),
        ..filter.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, kind: ChannelKind) -> Channel {
        serde_json::from_value(serde_json::json!({ "name": name, "kind": kind.as_str() })).unwrap()
    }

    #[test]
    fn a_channel_is_named_by_its_entry_or_by_its_kind() {
        let channels = [
            entry("support", ChannelKind::Email),
            entry("sales", ChannelKind::Email),
            entry("web", ChannelKind::WebForm),
            entry("texts", ChannelKind::Sms),
        ];
        let check = |text: &str, tickets: &str, gateway: &[&str]| {
            let scope = channel(&channels, text).unwrap();
            assert_eq!(scope.tickets, tickets, "{text}");
            assert_eq!(scope.gateway, gateway, "{text}");
        };
        check("support", "email", &["support"]);
        check("email", "email", &["support", "sales"]);
        check("web", "web_form", &["web"]);
        check("web_form", "web_form", &["web"]);
        check("texts", "other", &["texts"]);
        check("sms", "other", &["texts"]);
        check("other", "other", &["texts"]);
        check("chat", "chat", &[]);
        let err = channel(&channels, "mail").unwrap_err().to_string();
        assert!(err.contains("\"mail\""), "{err}");
        assert!(err.contains("web_form") && err.contains("sms"), "{err}");
        assert!(err.contains("support, sales, web, texts"), "{err}");
        // Without a plan's channels, the kinds only.
        assert_eq!(channel(&[], "email").unwrap().gateway, Vec::<String>::new());
        assert!(channel(&[], "support").is_err());
    }
}
