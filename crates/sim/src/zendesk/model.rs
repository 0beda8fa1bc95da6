//! Zendesk's records as the emulator stores them: typed, compact, with times as Unix seconds.
//! Generated comments are not stored; a ticket keeps their count and first id and
//! `seed::generated_comment` rebuilds them on demand.

use serde_json::{Map, Value};

/// Declares a string enum with `parse` and `as_str`.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub(crate) enum $name { $(#[doc = $text] $variant),+ }

        impl $name {
            /// Every value, in order.
            #[allow(dead_code, reason = "not every enum's list is used")]
            pub(crate) const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value named `text`, if documented.
            pub(crate) fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }

            /// Zendesk's name for it.
            pub(crate) fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }
    };
}

string_enum!(
    /// A ticket's status.
    Status { New = "new", Open = "open", Pending = "pending", Hold = "hold", Solved = "solved", Closed = "closed" }
);
string_enum!(
    /// A ticket's priority.
    Priority { Urgent = "urgent", High = "high", Normal = "normal", Low = "low" }
);
string_enum!(
    /// A ticket's type.
    TicketType { Problem = "problem", Incident = "incident", Question = "question", Task = "task" }
);
string_enum!(
    /// A user's role.
    Role { EndUser = "end-user", Agent = "agent", Admin = "admin" }
);

/// A ticket.
#[derive(Debug, Clone)]
pub(crate) struct Ticket {
    /// Sequential id from 1.
    pub(crate) id: u64,
    /// Caller's own id, not unique.
    pub(crate) external_id: Option<String>,
    /// `type`.
    pub(crate) kind: Option<TicketType>,
    /// Subject line.
    pub(crate) subject: String,
    /// Status.
    pub(crate) status: Status,
    /// A custom status of the status's category; `None` is the category's default one.
    pub(crate) custom_status_id: Option<u64>,
    /// Priority.
    pub(crate) priority: Option<Priority>,
    /// Who asked.
    pub(crate) requester_id: u64,
    /// Who filed it.
    pub(crate) submitter_id: u64,
    /// Agent working on it.
    pub(crate) assignee_id: Option<u64>,
    /// Requester's organization.
    pub(crate) organization_id: Option<u64>,
    /// Group working on it.
    pub(crate) group_id: Option<u64>,
    /// Brand.
    pub(crate) brand_id: u64,
    /// Ticket form.
    pub(crate) ticket_form_id: u64,
    /// Tags, lower case, unique.
    pub(crate) tags: Vec<String>,
    /// Custom field values by field id.
    pub(crate) custom_fields: Vec<(u64, Value)>,
    /// CCs (legacy collaborators).
    pub(crate) collaborator_ids: Vec<u64>,
    /// Followers.
    pub(crate) follower_ids: Vec<u64>,
    /// E-mail CCs.
    pub(crate) email_cc_ids: Vec<u64>,
    /// Due date of a task.
    pub(crate) due_at: Option<i64>,
    /// The problem an incident belongs to.
    pub(crate) problem_id: Option<u64>,
    /// Whether any comment is public.
    pub(crate) is_public: bool,
    /// `via.channel`.
    pub(crate) via: &'static str,
    /// Creation time.
    pub(crate) created_at: i64,
    /// Last update time.
    pub(crate) updated_at: i64,
    /// When it was (last) solved.
    pub(crate) solved_at: Option<i64>,
    /// What the incremental export orders by.
    pub(crate) generated_at: i64,
    /// Soft-deleted (in `deleted_tickets`).
    pub(crate) deleted: bool,
    /// Satisfaction rating's id.
    pub(crate) rating_id: Option<u64>,
    /// Comments kept implicitly (generated data).
    pub(crate) generated: Option<GeneratedComments>,
    /// Comments added through the API or import, oldest first.
    pub(crate) comments: Vec<Comment>,
}

/// Comments of generated data: `count` of them with ids `first_id..first_id + count`, rebuilt
/// from the seed and from what the ticket was when they were written (kept here: a later update
/// of the ticket must not move a comment's time or change its author, as Zendesk never does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GeneratedComments {
    /// How many.
    pub(crate) count: u32,
    /// The first one's id.
    pub(crate) first_id: u64,
    /// The first comment's time and the last's.
    pub(crate) span: (i64, i64),
    /// The requester then (the customer's comments).
    pub(crate) requester_id: u64,
    /// The assignee then (the agent's comments), or the submitter when there was none.
    pub(crate) agent_id: Option<u64>,
    /// Who submitted the ticket.
    pub(crate) submitter_id: u64,
    /// How the ticket came in (the first comment's channel).
    pub(crate) via: &'static str,
}

/// A comment (public reply or private note).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Comment {
    /// Id.
    pub(crate) id: u64,
    /// The audit that added it.
    pub(crate) audit_id: u64,
    /// Author.
    pub(crate) author_id: u64,
    /// Plain text.
    pub(crate) body: String,
    /// HTML.
    pub(crate) html_body: String,
    /// Public reply or private note.
    pub(crate) public: bool,
    /// When.
    pub(crate) created_at: i64,
    /// Attachment ids.
    pub(crate) attachments: Vec<u64>,
    /// `via.channel`.
    pub(crate) via: &'static str,
    /// Whom the platform e-mailed it to (`via.source.to`): the requester, for a public
    /// `comment` added through the API.
    pub(crate) recipient_id: Option<u64>,
    /// The comment a merge left (`via.source.rel` `merge`): on a source ticket, the ticket it
    /// was merged into (`via.source.to`); on the target, the tickets merged into it
    /// (`via.source.from`).
    pub(crate) merge: Option<MergeNote>,
}

/// What a merge's comment names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MergeNote {
    /// On a source ticket: the target's id and subject.
    Into(u64, String),
    /// On the target: the source tickets' ids.
    From(Vec<u64>),
}

/// A user (end user, agent or admin).
#[derive(Debug, Clone)]
pub(crate) struct User {
    /// Id.
    pub(crate) id: u64,
    /// Name.
    pub(crate) name: String,
    /// Primary e-mail.
    pub(crate) email: Option<String>,
    /// Role.
    pub(crate) role: Role,
    /// Custom role of an agent.
    pub(crate) custom_role_id: Option<u64>,
    /// Default group of an agent.
    pub(crate) default_group_id: Option<u64>,
    /// Organization.
    pub(crate) organization_id: Option<u64>,
    /// Caller's own id (unique).
    pub(crate) external_id: Option<String>,
    /// Phone.
    pub(crate) phone: Option<String>,
    /// Locale tag.
    pub(crate) locale: String,
    /// IANA time zone.
    pub(crate) time_zone: String,
    /// Tags.
    pub(crate) tags: Vec<String>,
    /// Custom user field values by key.
    pub(crate) user_fields: Map<String, Value>,
    /// False once deleted.
    pub(crate) active: bool,
    /// Suspended users cannot sign in or use the API.
    pub(crate) suspended: bool,
    /// Primary identity verified.
    pub(crate) verified: bool,
    /// Notes.
    pub(crate) notes: Option<String>,
    /// Details.
    pub(crate) details: Option<String>,
    /// Alias.
    pub(crate) alias: Option<String>,
    /// Agent signature.
    pub(crate) signature: Option<String>,
    /// `organization`, `groups`, `assigned`, `requested` or none.
    pub(crate) ticket_restriction: Option<String>,
    /// Agent may only add private comments.
    pub(crate) only_private_comments: bool,
    /// Creation time.
    pub(crate) created_at: i64,
    /// Last update time.
    pub(crate) updated_at: i64,
    /// Extra identities beyond the primary e-mail.
    pub(crate) identities: Vec<Identity>,
}

/// A user identity (e-mail, phone, …).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Identity {
    /// Id.
    pub(crate) id: u64,
    /// `email`, `phone_number`, `twitter`, …
    pub(crate) kind: String,
    /// The address or number.
    pub(crate) value: String,
    /// Verified.
    pub(crate) verified: bool,
    /// Primary of its kind.
    pub(crate) primary: bool,
    /// Creation time.
    pub(crate) created_at: i64,
}

/// An organization.
#[derive(Debug, Clone)]
pub(crate) struct Organization {
    /// Id.
    pub(crate) id: u64,
    /// Unique name.
    pub(crate) name: String,
    /// Caller's own id.
    pub(crate) external_id: Option<String>,
    /// Mail domains.
    pub(crate) domain_names: Vec<String>,
    /// Details.
    pub(crate) details: Option<String>,
    /// Notes.
    pub(crate) notes: Option<String>,
    /// Default group.
    pub(crate) group_id: Option<u64>,
    /// Members see each other's tickets.
    pub(crate) shared_tickets: bool,
    /// Members comment on each other's tickets.
    pub(crate) shared_comments: bool,
    /// Tags.
    pub(crate) tags: Vec<String>,
    /// Custom organization field values by key.
    pub(crate) organization_fields: Map<String, Value>,
    /// Creation time.
    pub(crate) created_at: i64,
    /// Last update time.
    pub(crate) updated_at: i64,
}

/// A group of agents.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    /// Id.
    pub(crate) id: u64,
    /// Name.
    pub(crate) name: String,
    /// Description.
    pub(crate) description: String,
    /// The account's default group.
    pub(crate) default: bool,
    /// Deleted groups stay listed as deleted.
    pub(crate) deleted: bool,
    /// Public or private.
    pub(crate) is_public: bool,
    /// Creation time.
    pub(crate) created_at: i64,
    /// Last update time.
    pub(crate) updated_at: i64,
}

/// An agent's membership of a group.
#[derive(Debug, Clone)]
pub(crate) struct Membership {
    /// Id.
    pub(crate) id: u64,
    /// Agent.
    pub(crate) user_id: u64,
    /// Group.
    pub(crate) group_id: u64,
    /// The agent's default group.
    pub(crate) default: bool,
    /// Creation time.
    pub(crate) created_at: i64,
    /// Last update time.
    pub(crate) updated_at: i64,
}

/// A satisfaction rating.
#[derive(Debug, Clone)]
pub(crate) struct Rating {
    /// Id.
    pub(crate) id: u64,
    /// Ticket.
    pub(crate) ticket_id: u64,
    /// `good`, `bad`, `offered` or `unoffered`.
    pub(crate) score: String,
    /// Customer's comment.
    pub(crate) comment: Option<String>,
    /// Customer's reason.
    pub(crate) reason: Option<String>,
    /// Who rated.
    pub(crate) requester_id: u64,
    /// Assignee at the time.
    pub(crate) assignee_id: Option<u64>,
    /// Group at the time.
    pub(crate) group_id: Option<u64>,
    /// Creation time.
    pub(crate) created_at: i64,
    /// Last update time.
    pub(crate) updated_at: i64,
}

/// An uploaded (or imported) attachment's bytes.
#[derive(Debug, Clone)]
pub(crate) struct StoredAttachment {
    /// File name.
    pub(crate) file_name: String,
    /// MIME type as sent.
    pub(crate) content_type: String,
    /// The exact bytes.
    pub(crate) bytes: std::sync::Arc<Vec<u8>>,
    /// Inline image.
    pub(crate) inline: bool,
    /// Token in its content URL.
    pub(crate) token: String,
    /// Redacted attachments keep their record but serve a placeholder.
    pub(crate) redacted: bool,
}

/// An upload token grouping attachments until a comment uses them.
#[derive(Debug, Clone)]
pub(crate) struct Upload {
    /// Attachments in upload order.
    pub(crate) attachment_ids: Vec<u64>,
    /// Expiry (60 minutes after the first file).
    pub(crate) expires_at: i64,
}

/// A job status of a bulk request; results are final when stored.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    /// `V3-…` id.
    pub(crate) id: String,
    /// `bulk_create_tickets`, …
    pub(crate) job_type: &'static str,
    /// Items in the job.
    pub(crate) total: usize,
    /// Per-item results (an array), or one object for a single-record job.
    pub(crate) results: Value,
    /// Completion time.
    pub(crate) completed_at: i64,
}

/// One ticket change in the ticket-events stream.
#[derive(Debug, Clone)]
pub(crate) struct TicketEvent {
    /// Id.
    pub(crate) id: u64,
    /// Ticket.
    pub(crate) ticket_id: u64,
    /// When.
    pub(crate) timestamp: i64,
    /// Who.
    pub(crate) updater_id: u64,
    /// `via.channel`.
    pub(crate) via: &'static str,
    /// `(field, previous, current)` changes; empty with `created` for generated tickets.
    pub(crate) changes: Vec<(String, Value, Value)>,
    /// Whether this is the ticket's creation.
    pub(crate) created: bool,
    /// Comments added (an import adds all of a ticket's at once).
    pub(crate) comment_ids: Vec<u64>,
}

/// A webhook.
#[derive(Debug, Clone)]
pub(crate) struct Webhook {
    /// ULID-like id.
    pub(crate) id: String,
    /// Stored as sent (with credentials), rendered without them.
    pub(crate) data: Map<String, Value>,
    /// Signing secret.
    pub(crate) secret: String,
    /// Creation time (RFC 3339 with nanoseconds, as the API echoes on create).
    pub(crate) created_at: chrono::DateTime<chrono::Utc>,
    /// Who created it.
    pub(crate) created_by: u64,
    /// Last update, once updated.
    pub(crate) updated: Option<(chrono::DateTime<chrono::Utc>, u64)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_parse_their_documented_names_only() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(*s));
        }
        assert_eq!(Status::parse("escalated"), None);
        assert_eq!(Priority::parse("urgent"), Some(Priority::Urgent));
        assert_eq!(Role::parse("end-user"), Some(Role::EndUser));
        assert_eq!(TicketType::parse("Task"), None, "case matters");
    }
}
