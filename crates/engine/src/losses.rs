//! What a target cannot hold of what a source has: one description, read by `cutover inventory`
//! (which names each loss before anything moves, [`capability_losses`]) and by `cutover verify`
//! (which levels a linked pair on it and counts the pair as "not comparable" under the same name,
//! [`Losses::level`]). Both come from the connectors' stated [`Capabilities`]; every reason
//! verify gives starts with the key under which inventory names the loss ([`Lack::what`]).

use std::collections::BTreeSet;

use cutover_connect::Capabilities;
use cutover_model::PlatformKind;
use cutover_model::RecordKind;
use cutover_model::Side;
use cutover_model::accounts::same_name;
use cutover_model::records::{Channel, ConfigRecord, CustomFieldDef, Record};
use serde::Serialize;

/// Something of the old platform that does not reach the new one as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Loss {
    /// What is concerned (`history`, `ticket.channel`, `satisfaction_rating`, `mapping.statuses`).
    pub what: String,
    /// What happens to it, for a person.
    pub detail: String,
}

/// A loss verify levels instead of comparing: the key inventory names it under, and why the
/// field is not compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Lack {
    /// The key under which `cutover inventory` names the loss (`ticket.channel`).
    pub what: &'static str,
    /// Why the field is not compared.
    pub why: &'static str,
}

impl Lack {
    /// The reason verify counts a levelled pair under: `ticket.channel: the target …`.
    pub fn reason(&self) -> String {
        format!("{}: {}", self.what, self.why)
    }
}

/// A ticket's channel, on a target that cannot write one.
pub const CHANNEL: Lack = Lack {
    what: "ticket.channel",
    why: "the target does not let a ticket's channel be written",
};
/// A ticket's channel the target has not, written as its stated stand-in.
pub const CHANNEL_STAND_IN: Lack = Lack {
    what: "ticket.channel",
    why: "the target has no such channel (written as the one it stands for)",
};
/// A ticket type the target has not.
pub const TICKET_TYPE: Lack = Lack {
    what: "ticket.type",
    why: "the target has no such type",
};
/// The brand a Zendesk target gives a ticket written without one: its default brand.
pub const DEFAULT_BRAND: Lack = Lack {
    what: "ticket.brand",
    why: "zendesk gives a ticket without a brand the account's default brand",
};
/// A brand of the new side no old brand maps to, on a ticket opened there: its copy on the old
/// side carries none (the plan's `[mapping.brands]` runs old to new).
pub const NEW_SIDE_BRAND: Lack = Lack {
    what: "ticket.brand",
    why: "no old brand maps to this new-side brand: the old side's copy carries none",
};
/// A ticket opened on the new side without a priority, whose copy on the old side has the
/// priority that side gives every ticket without one (Freshdesk requires one: `low`).
pub const NEW_SIDE_PRIORITY: Lack = Lack {
    what: "ticket.priority",
    why: "the old side gives every ticket a priority: the copy of a ticket opened on the new side without one has the old side's default",
};
/// A ticket closed by a merge: each side's merge solves it at the time it was made there.
pub const MERGED_SOLVED_AT: Lack = Lack {
    what: "ticket.solved_at",
    why: "a ticket closed by a merge is solved when the merge is made on each side",
};
/// A solve time the target cannot backdate.
pub const SOLVED_AT: Lack = Lack {
    what: "ticket.solved_at",
    why: "the target cannot backdate (its solve time is the copy's)",
};
/// A rating's time, on a target that cannot backdate one (Freshdesk's API takes no time for a
/// rating: it is given when the copy is written).
pub const RATING_TIME: Lack = Lack {
    what: "satisfaction_rating.created_at",
    why: "the target cannot backdate a rating: its copy reads as given at the time of the copy",
};
/// Organization tags, on a side whose organizations have none.
pub const ORGANIZATION_TAGS: Lack = Lack {
    what: "organization.tags",
    why: "the target's organizations have no tags",
};
/// An attachment's inline flag, on a side whose attachments have none.
pub const ATTACHMENT_INLINE: Lack = Lack {
    what: "attachment.inline",
    why: "the target's attachments have no inline flag",
};
/// A choice option's name, on a side that keeps only its value.
pub const FIELD_OPTION_NAMES: Lack = Lack {
    what: "custom_field.options",
    why: "the target keeps an option's value, not its name",
};
/// The type of a field the target found by its label and kept.
pub const FIELD_TYPE: Lack = Lack {
    what: "custom_field.type",
    why: "a field found by its label on the target keeps the target's type",
};

/// What a field the target had already keeps of its own: its label's case and spacing, its
/// choices as the target names and stores them.
pub const FIELD_FOUND: Lack = Lack {
    what: "custom_field.found",
    why: "a field the target had already (found by its label, case and spacing aside) keeps its \
          label and its choices as the target writes them",
};
/// A support address's settings between two platforms: each keeps its own (Freshdesk its
/// product, reply address and primary flag; Zendesk its name, brand and default flag), so only
/// the address itself and whether it is active are carried and compared.
pub const CONFIG_SETTINGS: Lack = Lack {
    what: "channel_config.settings",
    why: "each platform keeps its own settings for a support address (Freshdesk its product, \
          reply address and primary flag; Zendesk its name, brand and default flag): only the \
          address and whether it is active are carried",
};
/// The name of a support address the target had already (found by its address), which differs
/// from the source's by case or spacing alone.
pub const CONFIG_FOUND: Lack = Lack {
    what: "channel_config.found",
    why: "a support address the target had already (found by its address) keeps its name as \
          the target writes it (case and spacing aside, the same name)",
};
/// A retired field, on a target whose fields cannot be switched off.
pub const FIELD_ACTIVE: Lack = Lack {
    what: "custom_field.active",
    why: "the target's fields cannot be switched off: a retired field is copied in use",
};

/// An agent's groups on the target beyond those carried: the move adds memberships, it never
/// takes away what the new team set up.
pub const AGENT_GROUPS: Lack = Lack {
    what: "agent.groups",
    why: "the agent is in groups of the target's besides those carried: the move only adds \
          memberships",
};
/// The role of an agent the target had already (found by e-mail, not created by cutover).
pub const AGENT_FOUND_ROLE: Lack = Lack {
    what: "agent.role",
    why: "an agent the target had already keeps the role the new team gave them",
};

/// An agent the target had already (matched by e-mail) keeps the name it has there.
pub const AGENT_FOUND_NAME: Lack = Lack {
    what: "agent.name",
    why: "an agent the target had already (matched by e-mail) keeps the name it has there",
};
/// The description of a group the target had already (found by its name).
pub const GROUP_FOUND_DESCRIPTION: Lack = Lack {
    what: "group.description",
    why: "a group the target had already keeps its own description",
};
/// A role the target had already (an old role mapped onto one of the target's own, on a
/// platform whose API cannot create or edit roles): it keeps its description and permissions.
pub const ROLE_FOUND: Lack = Lack {
    what: "role.permissions",
    why: "a role the target had already keeps its own description and permissions",
};
/// The permissions of a role whose source says nothing of them.
pub const ROLE_PERMISSIONS: Lack = Lack {
    what: "role.permissions",
    why: "the source's role carries no permissions cutover reads: the target's role keeps its own",
};

/// A ticket's agent that is not carried (an agent who left, a role with no counterpart, dropped,
/// or agents left out of `[copy] kinds`): see `stand_in.rs`.
pub const ASSIGNEE_NOT_CARRIED: Lack = Lack {
    what: "ticket.assignee",
    why: "its agent is not carried: the copy is assigned to [mapping.agents] unmatched (none \
          when that is unset) and names the original in its origin field",
};
/// A ticket's group that is not carried.
pub const GROUP_NOT_CARRIED: Lack = Lack {
    what: "ticket.group",
    why: "its group is not carried: the copy has [mapping] unmatched_group (none when that is \
          unset) and names the original in its origin field",
};
/// A comment's author that is not carried.
pub const AUTHOR_NOT_CARRIED: Lack = Lack {
    what: "comment.author",
    why: "its author is not carried: written as [mapping.agents] unmatched, the original named \
          in the comment's header line",
};
/// A rating's agent that is not carried.
pub const RATING_ASSIGNEE_NOT_CARRIED: Lack = Lack {
    what: "satisfaction_rating.assignee",
    why: "its agent is not carried: the copy has [mapping.agents] unmatched, or no one",
};

/// What one platform cannot hold of another's tickets: left out of a comparison, because
/// `cutover inventory` names these losses before anything moves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Losses {
    /// By the side a copy is written to (old, new): it cannot write a ticket's channel (see
    /// `Capabilities::can_set_channel`), so every copy reads as created through the API.
    pub channel_unwritable: [bool; 2],
    /// By the side a copy is written to (old, new): the channels it has not, each with the
    /// channel it writes instead (see `Capabilities::channel_stand_ins`). Any other change of
    /// channel is a difference.
    pub channel_stand_ins: [&'static [(Channel, Channel)]; 2],
    /// A side takes only these ticket types (see `Capabilities::ticket_types`).
    pub ticket_types: Option<&'static [&'static str]>,
    /// The target names its own ticket types: a type it reads back as none, it has not.
    pub own_ticket_types: bool,
    /// Whether a ticket's brand is carried (the plan has `[mapping.brands]`); when not, brands
    /// are left out of every comparison.
    pub brands_carried: bool,
    /// A side cannot backdate: a copy's solve time there is the copy's. Either side: the
    /// bridge writes copies both ways, and a ticket's copy on a side keeps the solve time of
    /// its first write whichever side changed it last.
    pub solved_at: bool,
    /// The priority the target gives a ticket without one (a rule, compared: not a loss).
    pub default_priority: Option<&'static str>,
    /// The priority the old side gives a ticket without one: the bridge's copy there of a ticket
    /// opened on the new side without one has it ([`NEW_SIDE_PRIORITY`]).
    pub old_default_priority: Option<&'static str>,
    /// A side's organizations have no tags.
    pub organization_tags: bool,
    /// A side's attachments have no inline flag.
    pub attachment_inline: bool,
    /// A side keeps a choice option's value, not its name.
    pub field_option_names: bool,
    /// The target keeps the type of a field it found by its label.
    pub fields_found_by_label: bool,
    /// A side's fields cannot be switched off.
    pub field_active: bool,
    /// The platforms of the sides (old, new): what each holds of a rule (`cutover_connect::fit`,
    /// levelled by `rules::level_pair`).
    pub platforms: Option<[PlatformKind; 2]>,
    /// The configuration kinds each side's API cannot write (old, new): not carried.
    pub unwritable_config: [BTreeSet<RecordKind>; 2],
}

impl Losses {
    /// The losses of a move between platforms with these capabilities (either way).
    pub fn between(old: &Capabilities, new: &Capabilities) -> Self {
        Losses {
            channel_unwritable: [!old.can_set_channel, !new.can_set_channel],
            channel_stand_ins: [old.channel_stand_ins, new.channel_stand_ins],
            // Two platforms with one fixed list lose no type.
            ticket_types: new
                .ticket_types
                .or(old.ticket_types)
                .filter(|_| old.ticket_types != new.ticket_types),
            own_ticket_types: new.ticket_types.is_none(),
            brands_carried: false,
            solved_at: !(old.can_backdate && new.can_backdate),
            default_priority: new.default_priority,
            old_default_priority: old.default_priority,
            organization_tags: !(old.organization_tags && new.organization_tags),
            attachment_inline: !(old.attachment_inline && new.attachment_inline),
            field_option_names: !(old.field_option_names && new.field_option_names),
            fields_found_by_label: new.fields_found_by_label,
            field_active: !(old.field_active && new.field_active),
            platforms: Some([old.platform, new.platform]),
            unwritable_config: [
                crate::rules::unwritable_config(old),
                crate::rules::unwritable_config(new),
            ],
        }
    }

    /// The platform of the side a copy is written to, when known.
    fn platform_of(&self, written_to: Side) -> Option<PlatformKind> {
        self.platforms.map(|p| p[side_index(written_to)])
    }

    /// Whether the two sides are different platforms (so each keeps its own shape of a
    /// channel's set-up).
    fn platforms_differ(&self) -> bool {
        self.platforms.is_some_and(|[old, new]| old != new)
    }

    /// Every lack [`Losses::level`] may give for a copy written to `written_to`.
    pub fn lacks(&self, written_to: Side) -> Vec<Lack> {
        let to = side_index(written_to);
        let flagged = [
            (self.channel_unwritable[to], CHANNEL),
            (!self.channel_stand_ins[to].is_empty(), CHANNEL_STAND_IN),
            (
                self.ticket_types.is_some() || self.own_ticket_types,
                TICKET_TYPE,
            ),
            (self.solved_at, SOLVED_AT),
            (self.solved_at, RATING_TIME),
            (
                self.brands_carried && self.platform_of(written_to) == Some(PlatformKind::Zendesk),
                DEFAULT_BRAND,
            ),
            (
                self.brands_carried && written_to == Side::Old,
                NEW_SIDE_BRAND,
            ),
            (
                self.old_default_priority.is_some() && written_to == Side::Old,
                NEW_SIDE_PRIORITY,
            ),
            (self.organization_tags, ORGANIZATION_TAGS),
            (self.attachment_inline, ATTACHMENT_INLINE),
            (self.field_option_names, FIELD_OPTION_NAMES),
            (self.fields_found_by_label, FIELD_TYPE),
            (self.fields_found_by_label, FIELD_FOUND),
            (self.field_active, FIELD_ACTIVE),
            (self.platforms_differ(), CONFIG_SETTINGS),
            (!self.platforms_differ(), CONFIG_FOUND),
        ];
        flagged
            .into_iter()
            .filter_map(|(on, lack)| on.then_some(lack))
            .collect()
    }

    /// One record with every field that either side may not hold as written set to one
    /// value: what its fingerprint is taken over, so that a copy read back from the side it was
    /// written to has its original's fingerprint (a Freshdesk copy solved now, not back then;
    /// its channel written as a stand-in; its type spelled with a capital). A change to such a
    /// field alone is not carried: the other side could not hold it either. Unlike
    /// [`Losses::level`], it needs no pair, so the bridge can compare one record with its link.
    pub fn flatten(&self, record: &Record) -> Record {
        let mut record = record.clone();
        match &mut record {
            Record::Ticket(t) => {
                let channel_lossy = self.channel_unwritable.iter().any(|u| *u)
                    || self.channel_stand_ins.iter().any(|s| !s.is_empty());
                if channel_lossy {
                    t.channel = Channel::Other;
                }
                t.ticket_type = t.ticket_type.take().map(|t| t.to_lowercase());
                if let Some(types) = self.ticket_types {
                    t.ticket_type = t.ticket_type.take().filter(|t| types.contains(&t.as_str()));
                }
                if self.solved_at {
                    t.solved_at = None;
                }
                // A brand alone is not synced: the bridge carries it with a ticket's copy.
                t.brand = None;
            }
            Record::Organization(o) if self.organization_tags => o.tags.clear(),
            Record::Attachment(a) if self.attachment_inline => a.inline = false,
            _ => {}
        }
        record
    }

    /// Levels a linked pair onto what the target can hold: each field a side cannot hold and
    /// on which the two forms differ is set alike on both, and its reason returned (verify
    /// counts it as not comparable, and `cutover inventory` names it before anything moves).
    /// `written_to` is the side the copy was written to (the other side holds the original).
    pub fn level(&self, old: &mut Record, new: &mut Record, written_to: Side) -> Vec<Lack> {
        let losses = self;
        let mut reasons = Vec::new();
        let mut note = |differed: bool, lack: Lack| {
            if differed {
                reasons.push(lack);
            }
        };
        match (old, new) {
            (Record::Ticket(a), Record::Ticket(b)) => {
                if a.channel != b.channel {
                    let to = side_index(written_to);
                    let (original, copy) = match written_to {
                        Side::New => (a.channel, b.channel),
                        Side::Old => (b.channel, a.channel),
                    };
                    let stood_in = losses.channel_stand_ins[to].contains(&(original, copy));
                    if losses.channel_unwritable[to] {
                        note(true, CHANNEL);
                    } else if stood_in {
                        note(true, CHANNEL_STAND_IN);
                    }
                    if losses.channel_unwritable[to] || stood_in {
                        a.channel = Channel::Other;
                        b.channel = Channel::Other;
                    }
                }
                for t in [&mut *a, &mut *b] {
                    t.ticket_type = t.ticket_type.take().map(|t| t.to_lowercase());
                }
                let before = a.ticket_type != b.ticket_type;
                if let Some(types) = losses.ticket_types {
                    for t in [&mut *a, &mut *b] {
                        t.ticket_type =
                            t.ticket_type.take().filter(|t| types.contains(&t.as_str()));
                    }
                }
                if losses.own_ticket_types && b.ticket_type.is_none() {
                    a.ticket_type = None;
                }
                note(before && a.ticket_type == b.ticket_type, TICKET_TYPE);
                if !losses.brands_carried {
                    a.brand = None;
                    b.brand = None;
                } else if losses.platform_of(written_to) == Some(PlatformKind::Zendesk) {
                    let (original, copy) = match written_to {
                        Side::New => (&mut a.brand, &mut b.brand),
                        Side::Old => (&mut b.brand, &mut a.brand),
                    };
                    if original.is_none() && copy.is_some() {
                        *copy = None;
                        note(true, DEFAULT_BRAND);
                    }
                }
                if losses.brands_carried
                    && written_to == Side::Old
                    && a.brand.is_none()
                    && b.brand.is_some()
                {
                    b.brand = None;
                    note(true, NEW_SIDE_BRAND);
                }
                if written_to == Side::Old
                    && b.priority.is_none()
                    && a.priority.is_some()
                    && a.priority.as_deref() == losses.old_default_priority
                {
                    b.priority.clone_from(&a.priority);
                    note(true, NEW_SIDE_PRIORITY);
                }
                if losses.solved_at && a.solved_at != b.solved_at {
                    a.solved_at = None;
                    b.solved_at = None;
                    note(true, SOLVED_AT);
                }
                if a.merged_into.is_some() && b.merged_into.is_some() && a.solved_at != b.solved_at
                {
                    a.solved_at = None;
                    b.solved_at = None;
                    note(true, MERGED_SOLVED_AT);
                }
            }
            (Record::Organization(a), Record::Organization(b))
                if losses.organization_tags && a.tags != b.tags =>
            {
                a.tags.clear();
                b.tags.clear();
                note(true, ORGANIZATION_TAGS);
            }
            (Record::Attachment(a), Record::Attachment(b))
                if losses.attachment_inline && a.inline != b.inline =>
            {
                a.inline = false;
                b.inline = false;
                note(true, ATTACHMENT_INLINE);
            }
            (Record::SatisfactionRating(a), Record::SatisfactionRating(b))
                if losses.solved_at && a.created_at != b.created_at =>
            {
                b.created_at = a.created_at;
                note(true, RATING_TIME);
            }
            (Record::ChannelConfig(a), Record::ChannelConfig(b)) => {
                if losses.platforms_differ() {
                    let differed = a.conditions != b.conditions
                        || a.actions != b.actions
                        || a.position != b.position;
                    for c in [&mut *a, &mut *b] {
                        c.conditions = serde_json::Value::Null;
                        c.actions = serde_json::Value::Null;
                        c.position = None;
                    }
                    note(differed, CONFIG_SETTINGS);
                } else {
                    let name = |c: &ConfigRecord| {
                        c.conditions
                            .get("name")
                            .and_then(serde_json::Value::as_str)
                            .map(str::to_owned)
                    };
                    if let (Some(x), Some(y)) = (name(a), name(b))
                        && x != y
                        && same_name(&x, &y)
                        && let Some(map) = a.conditions.as_object_mut()
                    {
                        map.insert("name".into(), serde_json::Value::String(y));
                        note(true, CONFIG_FOUND);
                    }
                }
            }
            (Record::CustomField(a), Record::CustomField(b)) => {
                if losses.fields_found_by_label
                    && a.title != b.title
                    && same_name(&a.title, &b.title)
                {
                    a.title.clone_from(&b.title);
                    note(true, FIELD_FOUND);
                }
                if losses.fields_found_by_label && a.options != b.options && same_choices(a, b) {
                    a.options.clone_from(&b.options);
                    note(true, FIELD_FOUND);
                }
                if losses.field_active && a.active != b.active {
                    a.active = b.active;
                    note(true, FIELD_ACTIVE);
                }
                if losses.field_option_names && a.options != b.options {
                    for option in a.options.iter_mut().chain(b.options.iter_mut()) {
                        option.name.clone_from(&option.value);
                    }
                    note(a.options == b.options, FIELD_OPTION_NAMES);
                }
                if losses.fields_found_by_label && a.field_type != b.field_type {
                    a.field_type = b.field_type;
                    note(true, FIELD_TYPE);
                }
            }
            _ => {}
        }
        reasons
    }
}

/// Levels what a linked pair of people and roles may hold on the target beyond the move:
/// memberships the new team added, the role of an agent and the description of a group the
/// target had already (`found`: the copy carries no cutover mark, so cutover did not create
/// it), the description and permissions of a role the target had already (`found`), the
/// permissions of a role whose source reads none. What the old side has and the new one lacks is
/// never levelled.
pub fn level_found(old: &mut Record, new: &mut Record, found: bool) -> Vec<Lack> {
    let mut reasons = Vec::new();
    match (old, new) {
        (Record::Agent(a), Record::Agent(b)) => {
            if a.groups != b.groups && a.groups.iter().all(|g| b.groups.contains(g)) {
                b.groups.clone_from(&a.groups);
                reasons.push(AGENT_GROUPS);
            }
            if found && a.role != b.role {
                b.role.clone_from(&a.role);
                reasons.push(AGENT_FOUND_ROLE);
            }
            if found && a.name != b.name {
                b.name.clone_from(&a.name);
                reasons.push(AGENT_FOUND_NAME);
            }
        }
        (Record::Group(a), Record::Group(b)) if found && a.description != b.description => {
            b.description.clone_from(&a.description);
            reasons.push(GROUP_FOUND_DESCRIPTION);
        }
        (Record::Role(a), Record::Role(b))
            if found && (a.description != b.description || a.permissions != b.permissions) =>
        {
            b.description.clone_from(&a.description);
            b.permissions.clone_from(&a.permissions);
            reasons.push(ROLE_FOUND);
        }
        (Record::Role(a), Record::Role(b))
            if a.permissions.is_empty() && !b.permissions.is_empty() =>
        {
            b.permissions.clear();
            reasons.push(ROLE_PERMISSIONS);
        }
        _ => {}
    }
    reasons
}

/// Whether two fields offer the same choices by name (case and spacing aside), whatever each
/// stores for them.
fn same_choices(a: &CustomFieldDef, b: &CustomFieldDef) -> bool {
    a.options.len() == b.options.len()
        && a.options
            .iter()
            .all(|o| b.options.iter().any(|p| same_name(&o.name, &p.name)))
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
            CHANNEL.what,
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
            CHANNEL_STAND_IN.what,
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
            TICKET_TYPE.what,
            format!(
                "{to} takes only the ticket types {}; any other type is left empty",
                types.join(", ")
            ),
        );
    }
    if kinds.contains(&RecordKind::Ticket) {
        if target.ticket_types.is_none() {
            add(
                TICKET_TYPE.what,
                format!(
                    "{to} takes only the ticket types its account lists; any other type is left empty"
                ),
            );
        }
        if !target.can_backdate {
            add(
                SOLVED_AT.what,
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
            ORGANIZATION_TAGS.what,
            format!("{to} organizations have no tags: they are left behind"),
        );
    }
    if kinds.contains(&RecordKind::Attachment)
        && source.attachment_inline
        && !target.attachment_inline
    {
        add(
            ATTACHMENT_INLINE.what,
            format!(
                "{to} attachments have no inline flag: inline images are re-hosted in the body, the flag is lost"
            ),
        );
    }
    if kinds.contains(&RecordKind::CustomField) {
        if source.field_option_names && !target.field_option_names {
            add(
                FIELD_OPTION_NAMES.what,
                format!("{to} keeps a choice's stored value, not its name: option names are lost"),
            );
        }
        if !target.field_active {
            add(
                FIELD_ACTIVE.what,
                format!("{to}'s fields cannot be switched off: a retired field is copied in use"),
            );
        }
        if target.fields_found_by_label {
            add(
                FIELD_TYPE.what,
                format!(
                    "a custom field {to} already has (found by its label) keeps its type on {to}"
                ),
            );
            add(
                FIELD_FOUND.what,
                format!(
                    "a custom field {to} already has (found by its label, case and spacing aside) keeps its label and its choices as {to} writes them; values are carried as the choice of the same name"
                ),
            );
        }
    }
    if kinds.contains(&RecordKind::ChannelConfig) && source.platform == target.platform {
        add(
            CONFIG_FOUND.what,
            format!(
                "a support address {to} already has (found by its address) keeps its name as \
                 {to} writes it, case and spacing aside"
            ),
        );
    }
    if kinds.contains(&RecordKind::ChannelConfig) && source.platform != target.platform {
        add(
            CONFIG_SETTINGS.what,
            format!(
                "a support address is carried to {to} by its address alone: {} and {to} each \
                 keep their own settings for it (a product or a brand, a reply address, which is \
                 the default), set on {to} by hand",
                source.platform
            ),
        );
    }
    if kinds.contains(&RecordKind::SatisfactionRating)
        && target.can_write(RecordKind::SatisfactionRating)
        && !target.can_backdate
    {
        add(
            RATING_TIME.what,
            format!(
                "{to} cannot backdate a satisfaction rating: a copied rating reads as given at \
                 the time of the copy"
            ),
        );
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
        // Rules are named one by one (`rules::inventory_losses`).
        let by_rule = crate::rules::listed_rule_by_rule(*kind);
        if source.can_read(*kind) && !target.can_write(*kind) && !carried && !by_rule {
            let fate = if kind.is_configuration() {
                "they are not carried; set them up by hand"
            } else {
                "existing ones are matched by name, the others go to the dead letters"
            };
            add(
                kind.as_str(),
                format!("{to} does not let cutover create {kind} records: {fate}"),
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

/// The index of a side in the by-side arrays of [`Losses`] (old, new).
pub(crate) fn side_index(side: Side) -> usize {
    match side {
        Side::Old => 0,
        Side::New => 1,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use chrono::DateTime;
    use cutover_model::PlatformId;
    use cutover_model::records::Ticket;

    use super::*;

    fn ticket(channel: Channel) -> Record {
        Record::Ticket(Ticket {
            subject: "Refund".into(),
            status: "open".into(),
            priority: None,
            ticket_type: None,
            brand: None,
            channel,
            requester: PlatformId::from(1),
            assignee: None,
            group: None,
            organization: None,
            tags: BTreeSet::new(),
            custom_fields: BTreeMap::new(),
            created_at: DateTime::UNIX_EPOCH,
            solved_at: None,
            merged_into: None,
        })
    }

    /// The reasons `level` gives for an original on one side and its copy on the other, and
    /// whether the two are alike afterwards.
    fn level(
        losses: Losses,
        original: Channel,
        copy: Channel,
        written_to: Side,
    ) -> (Vec<Lack>, bool) {
        let (mut old, mut new) = match written_to {
            Side::New => (ticket(original), ticket(copy)),
            Side::Old => (ticket(copy), ticket(original)),
        };
        let reasons = losses.level(&mut old, &mut new, written_to);
        (reasons, old == new)
    }

    /// `level` over an original with brand `original` and its copy with brand `copy`.
    fn level_brands(
        losses: &Losses,
        original: Option<&str>,
        copy: Option<&str>,
    ) -> (Vec<Lack>, bool) {
        let with = |brand: Option<&str>| {
            let mut record = ticket(Channel::Email);
            if let Record::Ticket(t) = &mut record {
                t.brand = brand.map(str::to_owned);
            }
            record
        };
        let (mut old, mut new) = (with(original), with(copy));
        let reasons = losses.level(&mut old, &mut new, Side::New);
        (reasons, old == new)
    }

    #[test]
    fn zendesks_default_brand_is_levelled_with_its_reason_and_any_other_brand_compared() {
        let into_zendesk = Losses {
            brands_carried: true,
            platforms: Some([PlatformKind::Freshdesk, PlatformKind::Zendesk]),
            ..Losses::default()
        };
        // Written without a brand, the copy got the account's default one.
        assert_eq!(
            level_brands(&into_zendesk, None, Some("Cutover Cloud")),
            (vec![DEFAULT_BRAND], true)
        );
        assert!(into_zendesk.lacks(Side::New).contains(&DEFAULT_BRAND));
        // A brand carried is compared: another one is a difference.
        assert_eq!(
            level_brands(&into_zendesk, Some("Outlet"), Some("Cutover Cloud")),
            (vec![], false)
        );
        assert_eq!(
            level_brands(&into_zendesk, Some("Outlet"), Some("Outlet")),
            (vec![], true)
        );
        // Into Freshdesk nothing is given: a product where none was sent is a difference.
        let into_freshdesk = Losses {
            platforms: Some([PlatformKind::Zendesk, PlatformKind::Freshdesk]),
            ..into_zendesk.clone()
        };
        assert_eq!(
            level_brands(&into_freshdesk, None, Some("Cutover Cloud")),
            (vec![], false)
        );
        // A ticket opened on the new side (Zendesk, with its default brand) whose copy on the
        // old side carries none, as no old brand maps to it: levelled with its reason.
        let (mut old, mut new) = (
            {
                let mut r = ticket(Channel::Email);
                if let Record::Ticket(t) = &mut r {
                    t.brand = None;
                }
                r
            },
            {
                let mut r = ticket(Channel::Email);
                if let Record::Ticket(t) = &mut r {
                    t.brand = Some("Cutover Sim".to_owned());
                }
                r
            },
        );
        assert_eq!(
            into_zendesk.level(&mut old, &mut new, Side::Old),
            vec![NEW_SIDE_BRAND]
        );
        assert_eq!(old, new);
        assert!(into_zendesk.lacks(Side::Old).contains(&NEW_SIDE_BRAND));
        assert!(!into_zendesk.lacks(Side::New).contains(&NEW_SIDE_BRAND));
        // A ticket opened on Zendesk (the new side) without a priority, whose copy on
        // Freshdesk (the old side) has Freshdesk's default: levelled with its reason; another
        // priority on the copy, or the original's own, is compared.
        let from_zendesk = Losses {
            old_default_priority: Some("low"),
            ..Losses::default()
        };
        let with_priority = |p: Option<&str>| {
            let mut r = ticket(Channel::Email);
            if let Record::Ticket(t) = &mut r {
                t.priority = p.map(str::to_owned);
            }
            r
        };
        let (mut old, mut new) = (with_priority(Some("low")), with_priority(None));
        assert_eq!(
            from_zendesk.level(&mut old, &mut new, Side::Old),
            vec![NEW_SIDE_PRIORITY]
        );
        assert_eq!(old, new);
        let (mut old, mut new) = (with_priority(Some("high")), with_priority(None));
        assert_eq!(from_zendesk.level(&mut old, &mut new, Side::Old), vec![]);
        assert_ne!(old, new);
        let (mut old, mut new) = (with_priority(Some("low")), with_priority(None));
        assert_eq!(from_zendesk.level(&mut old, &mut new, Side::New), vec![]);
        assert!(from_zendesk.lacks(Side::Old).contains(&NEW_SIDE_PRIORITY));
        assert!(!from_zendesk.lacks(Side::New).contains(&NEW_SIDE_PRIORITY));
        // A plan without [mapping.brands] carries none: brands are left out, silently.
        let not_carried = Losses {
            brands_carried: false,
            ..into_freshdesk
        };
        assert_eq!(
            level_brands(&not_carried, Some("Outlet"), Some("Cutover Cloud")),
            (vec![], true)
        );
    }

    const FRESHDESK_LIKE: &[(Channel, Channel)] = &[
        (Channel::Api, Channel::WebForm),
        (Channel::Whatsapp, Channel::Chat),
    ];

    #[test]
    fn a_channel_the_target_has_not_is_levelled_only_as_its_stand_in() {
        let losses = Losses {
            channel_stand_ins: [&[], FRESHDESK_LIKE],
            ..Losses::default()
        };
        let stood_in = level(losses.clone(), Channel::Api, Channel::WebForm, Side::New);
        assert_eq!(stood_in, (vec![CHANNEL_STAND_IN], true));
        // A channel the target has, changed on the way, is a difference.
        let changed = level(losses.clone(), Channel::Email, Channel::WebForm, Side::New);
        assert_eq!(changed, (vec![], false));
        // So is a stand-in other than the stated one.
        let wrong = level(losses.clone(), Channel::Api, Channel::Chat, Side::New);
        assert_eq!(wrong, (vec![], false));
        // The stand-ins are the new side's: a copy written to the old side keeps its channel.
        let other_way = level(losses, Channel::Api, Channel::WebForm, Side::Old);
        assert_eq!(other_way, (vec![], false));
    }

    #[test]
    fn a_target_that_cannot_write_channels_is_levelled_whatever_the_channel() {
        let losses = Losses {
            channel_unwritable: [false, true],
            ..Losses::default()
        };
        let read_as_api = level(losses.clone(), Channel::Email, Channel::Api, Side::New);
        assert_eq!(read_as_api, (vec![CHANNEL], true));
        // The old side writes channels: a copy there must keep it.
        let back = level(losses, Channel::Email, Channel::Api, Side::Old);
        assert_eq!(back, (vec![], false));
        let alike = level(Losses::default(), Channel::Chat, Channel::Chat, Side::New);
        assert_eq!(alike, (vec![], true));
    }

    #[test]
    fn a_role_the_target_had_already_keeps_its_own_description_and_permissions() {
        let role = |description: &str, permissions: &[&str]| {
            Record::Role(cutover_model::records::Role {
                name: "Administrator".into(),
                description: Some(description.into()),
                permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
            })
        };
        let old = role("Can manage all settings", &["ticket_access=all"]);
        let theirs = role("Has complete control", &[]);
        // Found on the target (no cutover mark): its own description and permissions stand.
        let (mut a, mut b) = (old.clone(), theirs.clone());
        assert_eq!(level_found(&mut a, &mut b, true), vec![ROLE_FOUND]);
        assert_eq!(a, b);
        // A role cutover wrote must hold what the old one holds: a difference stays.
        let (mut a, mut b) = (old, theirs);
        assert!(level_found(&mut a, &mut b, false).is_empty());
        assert_ne!(a, b);
    }

    #[test]
    fn an_agent_the_target_had_already_keeps_its_own_name() {
        let agent = |name: &str| {
            Record::Agent(cutover_model::records::Agent {
                name: name.into(),
                email: "bob@example.com".into(),
                role: None,
                groups: Default::default(),
                active: true,
            })
        };
        let (mut a, mut b) = (agent("Bob Smith"), agent("Robert Smith"));
        assert_eq!(level_found(&mut a, &mut b, true), vec![AGENT_FOUND_NAME]);
        assert_eq!(a, b);
        // An agent cutover created must carry the old name.
        let (mut a, mut b) = (agent("Bob Smith"), agent("Robert Smith"));
        assert!(level_found(&mut a, &mut b, false).is_empty());
        assert_ne!(a, b);
    }

    fn address(name: &str, settings: serde_json::Value) -> Record {
        let mut conditions = settings;
        if let Some(map) = conditions.as_object_mut() {
            map.insert("name".into(), name.into());
        }
        Record::ChannelConfig(ConfigRecord {
            title: "support@example.com".into(),
            active: true,
            position: None,
            conditions,
            actions: serde_json::Value::Null,
        })
    }

    #[test]
    fn a_support_address_between_platforms_is_compared_by_its_address_alone() {
        let between = Losses {
            platforms: Some([PlatformKind::Freshdesk, PlatformKind::Zendesk]),
            ..Losses::default()
        };
        let mut a = address(
            "Support",
            serde_json::json!({"product_id": 8, "primary_role": true}),
        );
        let mut b = address(
            "Support",
            serde_json::json!({"brand_id": 10, "default": true}),
        );
        assert_eq!(
            between.level(&mut a, &mut b, Side::New),
            vec![CONFIG_SETTINGS]
        );
        assert_eq!(a, b);
        assert!(between.lacks(Side::New).contains(&CONFIG_SETTINGS));
        // The address itself is compared.
        let mut a = address("Support", serde_json::json!({}));
        let mut b = address("Support", serde_json::json!({}));
        if let Record::ChannelConfig(c) = &mut b {
            c.title = "help@example.com".into();
        }
        between.level(&mut a, &mut b, Side::New);
        assert_ne!(a, b);
    }

    #[test]
    fn a_support_address_found_on_the_same_platform_keeps_its_names_case_and_nothing_else() {
        let same = Losses {
            platforms: Some([PlatformKind::Zendesk, PlatformKind::Zendesk]),
            ..Losses::default()
        };
        let settings = serde_json::json!({"brand_id": 10, "default": false});
        let (mut a, mut b) = (
            address("Cutover Mobile", settings.clone()),
            address("Cutover mobile", settings.clone()),
        );
        assert_eq!(same.level(&mut a, &mut b, Side::New), vec![CONFIG_FOUND]);
        assert_eq!(a, b);
        // Another name, or another setting, is a difference.
        let (mut a, mut b) = (
            address("Cutover Mobile", settings.clone()),
            address("Mobile team", settings.clone()),
        );
        assert!(same.level(&mut a, &mut b, Side::New).is_empty());
        assert_ne!(a, b);
        let (mut a, mut b) = (
            address("Mobile", settings),
            address(
                "Mobile",
                serde_json::json!({"brand_id": 11, "default": false}),
            ),
        );
        assert!(same.level(&mut a, &mut b, Side::New).is_empty());
        assert_ne!(a, b);
    }

    #[test]
    fn a_ratings_time_is_levelled_only_where_a_side_cannot_backdate() {
        let rating = |at: i64| {
            Record::SatisfactionRating(cutover_model::records::SatisfactionRating {
                ticket: PlatformId::from(5),
                requester: PlatformId::from(7),
                assignee: None,
                score: cutover_model::records::Score::new(5).unwrap(),
                comment: None,
                created_at: DateTime::from_timestamp(at, 0).unwrap(),
            })
        };
        let into_freshdesk = Losses {
            solved_at: true,
            ..Losses::default()
        };
        let (mut a, mut b) = (rating(1_000), rating(9_000));
        assert_eq!(
            into_freshdesk.level(&mut a, &mut b, Side::New),
            vec![RATING_TIME]
        );
        assert_eq!(a, b);
        assert!(into_freshdesk.lacks(Side::New).contains(&RATING_TIME));
        let (mut a, mut b) = (rating(1_000), rating(9_000));
        assert!(
            Losses::default()
                .level(&mut a, &mut b, Side::New)
                .is_empty()
        );
        assert_ne!(a, b);
    }
}
