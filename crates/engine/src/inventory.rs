//! The inventory: what the old platform holds, and what of it cannot be carried to the new one,
//! named before anything moves.
//!
//! Counts come from one read of every listable kind on the old side (comments and attachments,
//! read per ticket, are left to the backfill's own counts). Losses come from the two
//! connectors' stated capabilities and from the plan's explicit drops: nothing here guesses.

use std::collections::BTreeMap;

use cutover_connect::{Capabilities, Connector, ReadPosition};
use cutover_control::plan::model::Mapping as PlanMapping;
use cutover_control::plan::values::Target;
use cutover_model::{PlatformKind, RecordKind};
use serde::Serialize;

use crate::error::EngineError;

/// Something of the old platform that does not reach the new one as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Loss {
    /// What is concerned (`history`, `ticket.channel`, `satisfaction_rating`, `mapping.statuses`).
    pub what: String,
    /// What happens to it, for a person.
    pub detail: String,
}

/// What the old platform holds and what cannot be carried.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inventory {
    /// The old platform.
    pub from: PlatformKind,
    /// The new platform.
    pub to: PlatformKind,
    /// Records per kind on the old side (kinds read per ticket are not counted).
    pub counts: BTreeMap<RecordKind, u64>,
    /// Records the old side could not read, per kind (they would be dead-lettered).
    pub unreadable: BTreeMap<RecordKind, u64>,
    /// What cannot be carried as it is.
    pub losses: Vec<Loss>,
}

impl Inventory {
    /// The inventory as a person reads it.
    pub fn summary(&self) -> String {
        let mut text = format!(
            "Inventory of the move from {} to {}\n\n",
            self.from, self.to
        );
        text.push_str("Records on the old side:\n");
        for (kind, count) in &self.counts {
            let unreadable = self.unreadable.get(kind).copied().unwrap_or(0);
            if unreadable > 0 {
                text.push_str(&format!(
                    "  {kind:<20} {count:>8}  ({unreadable} unreadable)\n"
                ));
            } else {
                text.push_str(&format!("  {kind:<20} {count:>8}\n"));
            }
        }
        if self.losses.is_empty() {
            text.push_str(&format!("\nEverything can be carried to {}.\n", self.to));
        } else {
            text.push_str(&format!(
                "\nWhat cannot be carried to {} as it is ({}):\n",
                self.to,
                self.losses.len()
            ));
            for loss in &self.losses {
                text.push_str(&format!("  - {}: {}\n", loss.what, loss.detail));
            }
        }
        text
    }
}

/// Counts the old side's records of `kinds` and names what cannot be carried to `target`.
/// The target is not contacted: its capabilities are known.
pub async fn inventory(
    source: &dyn Connector,
    target: &dyn Connector,
    plan: &PlanMapping,
    kinds: &[RecordKind],
) -> Result<Inventory, EngineError> {
    let caps = source.capabilities();
    let mut counts = BTreeMap::new();
    let mut unreadable = BTreeMap::new();
    for kind in RecordKind::ALL.iter().copied() {
        if !kinds.contains(&kind) || !caps.readable.contains(&kind) {
            continue;
        }
        let mut position = ReadPosition::start();
        let (mut read, mut bad) = (0u64, 0u64);
        loop {
            let page = source.read_page(kind, &position).await?;
            read += page.items.len() as u64;
            bad += page.rejected.len() as u64;
            match page.next {
                Some(next) if !page.done && next != position => position = next,
                _ => break,
            }
        }
        counts.insert(kind, read);
        if bad > 0 {
            unreadable.insert(kind, bad);
        }
    }
    let mut losses = capability_losses(&caps, &target.capabilities(), kinds);
    losses.extend(drops(plan));
    Ok(Inventory {
        from: source.platform(),
        to: target.platform(),
        counts,
        unreadable,
        losses,
    })
}

/// What the target's capabilities leave behind of what the source holds.
pub fn capability_losses(
    source: &Capabilities,
    target: &Capabilities,
    kinds: &[RecordKind],
) -> Vec<Loss> {
    let to = target.platform;
    let mut losses = Vec::new();
    let mut add = |what: &str, detail: String| {
        losses.push(Loss {
            what: what.to_owned(),
            detail,
        });
    };
    if !target.can_backdate {
        add(
            "history.times",
            format!(
                "{to} cannot backdate: tickets and comments get the time of the copy; the \
                 original creation time is kept in a custom field and in a header line of each note"
            ),
        );
    }
    if !target.can_set_authors {
        add(
            "history.authors",
            format!(
                "{to} cannot write a comment as its original author: the author is named in a \
                 header line of each note"
            ),
        );
    }
    if !target.can_write_public_history {
        add(
            "history.public_replies",
            format!(
                "public replies arrive on {to} as private notes (their header line says they \
                 were public), so no customer is e-mailed by the move"
            ),
        );
    }
    if target.ticket_create_may_notify && kinds.contains(&RecordKind::Ticket) {
        add(
            "notifications",
            format!(
                "creating a ticket on {to} may e-mail its requester (the \"new ticket\" \
                 acknowledgement): switch the requester notifications off on {to} before the \
                 backfill; cutover itself sends nothing through replies"
            ),
        );
    }
    if !target.can_set_channel {
        add(
            "ticket.channel",
            format!(
                "{to} does not let a ticket's channel be written: copied tickets read as \
                 created through the API"
            ),
        );
    } else if !target.channel_stand_ins.is_empty() {
        let stand_ins: Vec<String> = target
            .channel_stand_ins
            .iter()
            .map(|(lacking, stand_in)| format!("{} as {}", lacking.as_str(), stand_in.as_str()))
            .collect();
        add(
            "ticket.channel",
            format!(
                "{to} has no such channel for some tickets: they are written with the nearest \
                 one ({})",
                stand_ins.join(", ")
            ),
        );
    }
    if let Some(types) = target.ticket_types
        && source.ticket_types != target.ticket_types
    {
        add(
            "ticket.type",
            format!(
                "{to} takes only the ticket types {}; any other type is left empty",
                types.join(", ")
            ),
        );
    }
    if kinds.contains(&RecordKind::Ticket) {
        if target.ticket_types.is_none() {
            add(
                "ticket.type",
                format!(
                    "{to} takes only the ticket types its account lists; any other type is left empty"
                ),
            );
        }
        if !target.can_backdate {
            add(
                "ticket.solved_at",
                format!(
                    "{to} cannot backdate a solve time: a solved ticket reads as solved at the time of the copy"
                ),
            );
        }
        if let Some(priority) = target.default_priority
            && source.default_priority.is_none()
        {
            add(
                "ticket.priority",
                format!("every {to} ticket has a priority: a ticket with none gets {priority}"),
            );
        }
    }
    if kinds.contains(&RecordKind::Organization)
        && source.organization_tags
        && !target.organization_tags
    {
        add(
            "organization.tags",
            format!("{to} organizations have no tags: they are left behind"),
        );
    }
    if kinds.contains(&RecordKind::Attachment)
        && source.attachment_inline
        && !target.attachment_inline
    {
        add(
            "attachment.inline",
            format!(
                "{to} attachments have no inline flag: inline images are re-hosted in the body, the flag is lost"
            ),
        );
    }
    if kinds.contains(&RecordKind::CustomField) {
        if source.field_option_names && !target.field_option_names {
            add(
                "custom_field.options",
                format!("{to} keeps a choice's stored value, not its name: option names are lost"),
            );
        }
        if target.fields_found_by_label {
            add(
                "custom_field.type",
                format!(
                    "a custom field {to} already has (found by its label) keeps its type on {to}"
                ),
            );
        }
    }
    if kinds.contains(&RecordKind::SatisfactionRating)
        && target.can_write(RecordKind::SatisfactionRating)
        && source.rating_scale != target.rating_scale
    {
        add(
            "satisfaction_rating.scale",
            format!(
                "{} rates {}; {to} rates {}: scores are carried on a scale of 1 to 5",
                source.platform, source.rating_scale, target.rating_scale
            ),
        );
    }
    for kind in kinds {
        // Attachments travel inside their comment (uploaded with it or by token): a target that
        // writes comments takes them, whatever `writable` says of attachment records.
        let carried = *kind == RecordKind::Attachment && target.can_write(RecordKind::Comment);
        if source.can_read(*kind) && !target.can_write(*kind) && !carried {
            add(
                kind.as_str(),
                format!(
                    "{to} does not let cutover create {kind} records: existing ones are matched \
                     by name, the others go to the dead letters"
                ),
            );
        }
    }
    if kinds.contains(&RecordKind::Attachment) && target.max_attachment_bytes > 0 {
        add(
            "attachment.size",
            format!(
                "files over {} MB are refused by {to} and go to the dead letters",
                target.max_attachment_bytes / (1024 * 1024)
            ),
        );
    }
    losses
}

/// The plan's explicit decisions to leave values behind.
fn drops(plan: &PlanMapping) -> Vec<Loss> {
    let tables: [(&str, &BTreeMap<String, Target>); 6] = [
        ("statuses", &plan.statuses),
        ("priorities", &plan.priorities),
        ("roles", &plan.roles),
        ("groups", &plan.groups),
        ("fields", &plan.fields),
        ("agents.overrides", &plan.agents.overrides),
    ];
    tables
        .iter()
        .filter_map(|(name, table)| {
            let dropped: Vec<&str> = table
                .iter()
                .filter(|(_, target)| matches!(target, Target::Drop))
                .map(|(value, _)| value.as_str())
                .collect();
            (!dropped.is_empty()).then(|| Loss {
                what: format!("mapping.{name}"),
                detail: format!("dropped by the plan: {}", dropped.join(", ")),
            })
        })
        .collect()
}
