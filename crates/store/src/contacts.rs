//! Contacts of the inbound gateway: what a channel's provider posted, kept before the gateway
//! answers 2xx, then delivered to the side its customer is routed to by a worker that claims it
//! under a lease; and each customer's conversation per channel (which ticket, on which side).

use std::fmt;

use chrono::{DateTime, Utc};
use cutover_model::{PlatformId, Side};
use serde_json::Value;

/// The id of a contact: the order contacts were accepted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContactId(pub i64);

impl fmt::Display for ContactId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Where a contact stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContactStatus {
    /// Accepted, not delivered yet (held by a switch, waiting for a platform, or claimed).
    Pending,
    /// Delivered: a ticket or a follow-up on the side it was routed to.
    Delivered,
    /// Refused for good by the platform it was routed to (kept in the dead letters too).
    Failed,
    /// A call answered while a switch held calls: told to wait, not forwarded yet.
    Ringing,
    /// A call forwarded to a side's number.
    Forwarded,
}

impl ContactStatus {
    /// Its name in the store: `pending`, `delivered`, `failed`, `ringing`, `forwarded`.
    pub fn as_str(self) -> &'static str {
        match self {
            ContactStatus::Pending => "pending",
            ContactStatus::Delivered => "delivered",
            ContactStatus::Failed => "failed",
            ContactStatus::Ringing => "ringing",
            ContactStatus::Forwarded => "forwarded",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(ContactStatus::Pending),
            "delivered" => Some(ContactStatus::Delivered),
            "failed" => Some(ContactStatus::Failed),
            "ringing" => Some(ContactStatus::Ringing),
            "forwarded" => Some(ContactStatus::Forwarded),
            _ => None,
        }
    }
}

impl fmt::Display for ContactStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A contact to keep.
#[derive(Debug, Clone, PartialEq)]
pub struct NewContact {
    /// The `[[channels]]` name it came in on.
    pub channel: String,
    /// The provider's id of the message (a Message-ID, a WhatsApp message id, a CallSid, an
    /// idempotency key): a retry of the same message carries the same key and is kept once.
    pub message_key: String,
    /// Who wrote or called: an e-mail address, a phone number, a chat user id.
    pub customer: String,
    /// The message as the gateway read it (subject, text, attachments' names…).
    pub payload: Value,
    /// [`ContactStatus::Pending`] for messages; calls start [`ContactStatus::Ringing`] or
    /// [`ContactStatus::Forwarded`].
    pub status: ContactStatus,
    /// The side a forwarded call went to.
    pub side: Option<Side>,
}

/// A contact as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    /// Its id.
    pub id: ContactId,
    /// The channel it came in on.
    pub channel: String,
    /// The provider's id of the message.
    pub message_key: String,
    /// Who wrote or called.
    pub customer: String,
    /// The message as read.
    pub payload: Value,
    /// Where it stands.
    pub status: ContactStatus,
    /// How many times a worker claimed it.
    pub attempts: i64,
    /// Until when the worker that claimed it last holds it: also the token a worker hands back
    /// with its answer, so a worker whose lease ran out cannot answer for another's claim.
    pub leased_until: Option<DateTime<Utc>>,
    /// Not claimed again before this time (backoff after a failed attempt).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The side it was delivered or forwarded to, or the side of its last attempt.
    pub side: Option<Side>,
    /// The ticket it became or followed up on, once delivered.
    pub ticket_id: Option<PlatformId>,
    /// Whether it was delivered as a follow-up on an open ticket (not a new one).
    pub follow_up: bool,
    /// Why the last attempt failed (never a secret: a platform's answer, classified).
    pub last_error: Option<String>,
    /// When the gateway accepted it.
    pub received_at: DateTime<Utc>,
    /// When it was delivered or forwarded.
    pub delivered_at: Option<DateTime<Utc>>,
}

/// Whether [`crate::Store::accept_contact`] kept a new contact or found the same message kept.
#[derive(Debug, Clone, PartialEq)]
pub enum Accepted {
    /// The contact is new.
    New(Contact),
    /// The same channel and message key was kept before (a provider's retry): that contact.
    Repeat(Contact),
}

impl Accepted {
    /// The contact, new or kept before.
    pub fn contact(&self) -> &Contact {
        match self {
            Accepted::New(contact) | Accepted::Repeat(contact) => contact,
        }
    }
}

/// A customer's conversation on a channel: the ticket its contacts follow up on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    /// The channel.
    pub channel: String,
    /// The customer.
    pub customer: String,
    /// The side the ticket was opened on.
    pub side: Side,
    /// The ticket there.
    pub ticket_id: PlatformId,
    /// The contact that opened it.
    pub contact_id: ContactId,
    /// When it was opened or last moved.
    pub updated_at: DateTime<Utc>,
}

/// A claimed contact, delivered: written with [`crate::Store::deliver_contact`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactDelivery {
    /// The contact.
    pub id: ContactId,
    /// The lease it was claimed under ([`Contact::leased_until`]).
    pub lease: DateTime<Utc>,
    /// The side it was delivered to.
    pub side: Side,
    /// The ticket it became or followed up on.
    pub ticket_id: PlatformId,
    /// Whether it followed up on an open ticket.
    pub follow_up: bool,
    /// The conversation to keep for its customer (a new ticket opens one).
    pub conversation: Option<(Side, PlatformId)>,
}
