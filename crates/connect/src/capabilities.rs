//! What a connector can and cannot do, stated so the engine plans around it rather than
//! discovering it record by record.

use std::collections::BTreeSet;

use cutover_model::records::Channel;
use cutover_model::{PlatformKind, RecordKind};

use crate::budget::BudgetStats;

/// How uploaded files reach a comment on the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadMode {
    /// Uploaded first, the comment names their tokens (Zendesk: `POST /uploads`, tokens valid an hour).
    Token,
    /// Sent inside the comment's own multipart request (Freshdesk): `upload` only holds the bytes.
    WithComment,
}

/// A connector's capabilities.
#[derive(Debug, Clone, PartialEq)]
pub struct Capabilities {
    /// Which platform.
    pub platform: PlatformKind,
    /// Whether original creation times are written as such (an import API). When false, they
    /// travel in custom fields and note headers instead, and `inventory` names the loss.
    pub can_backdate: bool,
    /// Whether comments are written with their original author (else a header line names them).
    pub can_set_authors: bool,
    /// Whether public replies can be written as public without e-mailing the customer. When
    /// false, history arrives as private notes whose header says it was a public reply.
    pub can_write_public_history: bool,
    /// Whether a ticket's channel (how the customer reached the service) can be written. Zendesk's
    /// `via` is read-only: a ticket written through the API reads back as `api`.
    pub can_set_channel: bool,
    /// The channels the platform does not have, each with the channel a ticket from it is
    /// written as (Freshdesk has no API or WhatsApp source). Empty when every channel is kept
    /// or none can be written.
    pub channel_stand_ins: &'static [(Channel, Channel)],
    /// The ticket types the platform takes, when it has a fixed list (Zendesk: `question`,
    /// `incident`, `problem`, `task`); `None` when an account names its own. Another type is
    /// written as none.
    pub ticket_types: Option<&'static [&'static str]>,
    /// The priority a ticket without one gets, in the platform's vocabulary, when every ticket
    /// must have one (Freshdesk: `low`); `None` when a ticket may have none.
    pub default_priority: Option<&'static str>,
    /// Whether organizations carry tags (Freshdesk companies have none).
    pub organization_tags: bool,
    /// Whether an attachment says it is inline (shown in the body) apart from its comment's HTML.
    pub attachment_inline: bool,
    /// Whether a choice field's options have a name apart from their stored value (Freshdesk
    /// keeps only the value).
    pub field_option_names: bool,
    /// Whether a custom field that already exists on the platform is found by its label and kept
    /// as it is (its type included) rather than created with the old field's type.
    pub fields_found_by_label: bool,
    /// Whether a custom field can be switched off (retired) through the API; Freshdesk's fields
    /// are always in use.
    pub field_active: bool,
    /// Whether an agent who has left can be written as one (Zendesk suspends them); where not
    /// (Freshdesk's API has no such state, and an agent created there is one more seat in use),
    /// an agent who has left is not carried and their history takes the plan's stand-in.
    pub agents_who_left: bool,
    /// How the platform rates satisfaction, as a person reads it (scores travel on 1 to 5).
    pub rating_scale: &'static str,
    /// Whether creating a ticket may trigger the platform's own notifications to the requester
    /// (switch them off on the target before a backfill, and before the bridge opens tickets
    /// there).
    pub ticket_create_may_notify: bool,
    /// Whether an agent's change written through the API (a public note, a solve, a close) may
    /// e-mail the requester by the platform's own notifications, which its API cannot switch
    /// off. Where true, the bridge writing into this platform needs the user's confirmation
    /// that they are off; where false, the connector keeps the bridge's writes quiet itself
    /// (Zendesk: `sync setup` quiets the triggers; Freshdesk: comments are private notes, and a
    /// resolve or close carries `skip_close_notification`).
    pub agent_changes_may_notify: bool,
    /// The largest attachment the target takes, in bytes.
    pub max_attachment_bytes: u64,
    /// How uploaded files reach a comment.
    pub upload_mode: UploadMode,
    /// The rate budget as it stands: limit, target rate, counters.
    pub budget: BudgetStats,
    /// Kinds `read_page` can list.
    pub readable: BTreeSet<RecordKind>,
    /// Kinds read per parent through `read_children` (comments and attachments, per ticket).
    pub read_per_ticket: BTreeSet<RecordKind>,
    /// Whether `read_children_of_many` reads many tickets' children at once from one stream in
    /// the order the platform lists tickets (Zendesk's ticket events export): asked in that
    /// order, it holds the fewest read ahead.
    pub children_in_bulk: bool,
    /// Kinds whose stream resumes from a saved position (a change feed or an `updated_since`
    /// window); the others are listed whole on every pass.
    pub incremental: BTreeSet<RecordKind>,
    /// Kinds `create` and `update` can write.
    pub writable: BTreeSet<RecordKind>,
}

impl Capabilities {
    /// Whether `kind` can be read at all (listed, or per ticket).
    pub fn can_read(&self, kind: RecordKind) -> bool {
        self.readable.contains(&kind) || self.read_per_ticket.contains(&kind)
    }

    /// Whether `kind` can be written.
    pub fn can_write(&self, kind: RecordKind) -> bool {
        self.writable.contains(&kind)
    }
}
