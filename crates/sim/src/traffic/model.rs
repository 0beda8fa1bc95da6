//! The platform-neutral vocabulary of traffic: sides, platforms, channels, statuses, priorities,
//! the requests the actors make ([`Step`]) and what a platform answered ([`Answer`]).

use std::fmt;

use serde::{Deserialize, Serialize};

/// Which platform of a cutover an action went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The platform being left.
    Old,
    /// The platform being moved to.
    New,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Old => "old",
            Self::New => "new",
        })
    }
}

/// Which API a side speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlatformKind {
    /// Zendesk Support API v2.
    Zendesk,
    /// Freshdesk API v2.
    Freshdesk,
}

impl std::str::FromStr for PlatformKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "zendesk" => Ok(Self::Zendesk),
            "freshdesk" => Ok(Self::Freshdesk),
            other => Err(format!(
                "unknown platform {other:?}: expected zendesk or freshdesk"
            )),
        }
    }
}

impl PlatformKind {
    /// The platform a URL's host names (`*.freshdesk.com` is Freshdesk, `*.zendesk.com`
    /// Zendesk); `None` for anything else (an emulator on localhost).
    pub fn from_host(url: &url::Url) -> Option<Self> {
        let host = url.host_str()?.to_ascii_lowercase();
        if host.ends_with(".freshdesk.com") {
            Some(Self::Freshdesk)
        } else if host.ends_with(".zendesk.com") {
            Some(Self::Zendesk)
        } else {
            None
        }
    }
}

impl fmt::Display for PlatformKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Zendesk => "zendesk",
            Self::Freshdesk => "freshdesk",
        })
    }
}

/// How a customer reached support.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// An e-mail to the support address.
    Email,
    /// The help-centre or portal form.
    WebForm,
    /// Live chat on the web site.
    Chat,
    /// A WhatsApp message.
    #[serde(rename = "whatsapp")]
    WhatsApp,
    /// A phone call, logged by the agent who took it.
    Phone,
}

impl Channel {
    /// Every channel, with its share of new tickets (percent).
    pub const MIX: [(Self, u32); 5] = [
        (Self::Email, 40),
        (Self::WebForm, 20),
        (Self::Chat, 18),
        (Self::WhatsApp, 12),
        (Self::Phone, 10),
    ];

    /// Lower-case name, used in tags and the ledger.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::WebForm => "web_form",
            Self::Chat => "chat",
            Self::WhatsApp => "whatsapp",
            Self::Phone => "phone",
        }
    }

    /// Whether the customer waits on line (answers come in minutes, not hours).
    pub fn is_live(self) -> bool {
        matches!(self, Self::Chat | Self::WhatsApp | Self::Phone)
    }
}

/// A ticket's status in neutral terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Nobody has looked at it yet (Freshdesk shows it as Open).
    New,
    /// Waiting for the agents.
    Open,
    /// Waiting for the customer.
    Pending,
    /// Solved (Freshdesk: Resolved).
    Solved,
    /// Closed for good.
    Closed,
}

impl Status {
    /// Zendesk's `status`.
    pub fn zendesk(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Open => "open",
            Self::Pending => "pending",
            Self::Solved => "solved",
            Self::Closed => "closed",
        }
    }

    /// Freshdesk's numeric `status` (2 Open, 3 Pending, 4 Resolved, 5 Closed).
    pub fn freshdesk(self) -> u64 {
        match self {
            Self::New | Self::Open => 2,
            Self::Pending => 3,
            Self::Solved => 4,
            Self::Closed => 5,
        }
    }
}

/// A ticket's priority in neutral terms, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Low.
    Low,
    /// Normal (Freshdesk: Medium).
    Normal,
    /// High.
    High,
    /// Urgent.
    Urgent,
}

impl Priority {
    /// Zendesk's `priority`.
    pub fn zendesk(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Normal => "normal",
            Self::High => "high",
            Self::Urgent => "urgent",
        }
    }

    /// Freshdesk's numeric `priority` (1 Low, 2 Medium, 3 High, 4 Urgent).
    pub fn freshdesk(self) -> u64 {
        match self {
            Self::Low => 1,
            Self::Normal => 2,
            Self::High => 3,
            Self::Urgent => 4,
        }
    }

    /// One step up, if there is one (an escalation).
    pub fn raised(self) -> Option<Self> {
        match self {
            Self::Low => Some(Self::Normal),
            Self::Normal => Some(Self::High),
            Self::High => Some(Self::Urgent),
            Self::Urgent => None,
        }
    }
}

/// A satisfaction rating on the platforms' scales, from the customer's 1–5 stars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stars(pub u8);

impl Stars {
    /// Zendesk's binary score: 4 and 5 stars are `good`, the rest `bad`.
    pub fn zendesk(self) -> &'static str {
        if self.0 >= 4 { "good" } else { "bad" }
    }

    /// Freshdesk's `default_question` answer (103 extremely happy … -103 extremely unhappy).
    pub fn freshdesk(self) -> i64 {
        match self.0 {
            5.. => 103,
            4 => 102,
            3 => 100,
            2 => -102,
            _ => -103,
        }
    }
}

/// Who a customer is (generated; the platform id is learned from the first answer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    /// Display name.
    pub name: String,
    /// E-mail address, the key platforms find the customer by.
    pub email: String,
    /// The platform's id, once known.
    pub id: Option<u64>,
}

/// Who writes a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Author {
    /// The ticket's requester, by platform id.
    Customer(u64),
    /// An agent, by platform id.
    Agent(u64),
}

/// One request of the actors, in neutral terms; each platform client turns it into its API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// A customer opens a ticket.
    Open {
        /// The requester.
        customer: Customer,
        /// Where it came from.
        channel: Channel,
        /// Subject line.
        subject: String,
        /// First message.
        body: String,
        /// Priority at creation.
        priority: Priority,
        /// Group it is routed to.
        group_id: Option<u64>,
    },
    /// A message on a ticket: a customer's follow-up, an agent's reply or private note.
    Message {
        /// Platform ticket id.
        ticket_id: u64,
        /// Who writes.
        author: Author,
        /// Public (seen by the customer) or a private note.
        public: bool,
        /// Text.
        body: String,
        /// Status set with the message.
        status: Option<Status>,
        /// Assignee set with the message.
        assignee_id: Option<u64>,
    },
    /// A change of fields without a message.
    Update {
        /// Platform ticket id.
        ticket_id: u64,
        /// New status.
        status: Option<Status>,
        /// New priority.
        priority: Option<Priority>,
        /// New group.
        group_id: Option<u64>,
        /// New assignee.
        assignee_id: Option<u64>,
    },
    /// An agent merges a ticket into another open ticket of the same requester (the source is
    /// closed by the merge).
    Merge {
        /// The platform id of the ticket merged away.
        ticket_id: u64,
        /// The platform id of the ticket it is merged into.
        into: u64,
    },
    /// The requester rates a solved ticket.
    Rate {
        /// Platform ticket id.
        ticket_id: u64,
        /// Requester's platform id.
        customer_id: u64,
        /// 1 to 5.
        stars: Stars,
        /// Free text.
        comment: String,
    },
}

impl Step {
    /// The ticket a step is about (none for `Open`, whose id comes in the answer).
    pub fn ticket_id(&self) -> Option<u64> {
        match self {
            Self::Open { .. } => None,
            Self::Message { ticket_id, .. }
            | Self::Update { ticket_id, .. }
            | Self::Merge { ticket_id, .. }
            | Self::Rate { ticket_id, .. } => Some(*ticket_id),
        }
    }
}

/// What a platform answered to one step.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// HTTP status of the deciding request: the first that failed, else the last; 0 when no
    /// answer came (connection refused, timeout).
    pub status: u16,
    /// The created record's id (ticket, comment, conversation or rating), when one was made.
    pub created_id: Option<u64>,
    /// The requester's id a new ticket was given.
    pub requester_id: Option<u64>,
    /// HTTP requests the step took, retries included.
    pub requests: u32,
    /// Why it failed, when it did: the platform's error body or the transport error.
    pub error: Option<String>,
}

impl Answer {
    /// Whether the platform did what was asked.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// An injected degradation: the agents of one side take longer than usual to answer (first
/// reply and later replies) and to solve, from a given simulated time on. When such work comes
/// due, it is put off once by `by` times the time it actually waited (the drawn delay and any
/// queueing), so the platform records answers that much slower, as it would real ones.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Slowdown {
    /// Whose agents are slower.
    pub side: Side,
    /// How much longer they take, as a fraction: 0.6 is 60 % slower (each delay × 1.6).
    pub by: f64,
    /// From when, in simulated time (work scheduled earlier keeps its delay); `None`: from the
    /// start.
    pub from: Option<chrono::DateTime<chrono::Utc>>,
}

impl Slowdown {
    /// A wait of `delay_s` as the agents of `side` take it at simulated time `now_ms`.
    pub fn apply(&self, side: Side, now_ms: i64, delay_s: f64) -> f64 {
        let started = self
            .from
            .is_none_or(|from| now_ms >= from.timestamp_millis());
        if side == self.side && started {
            delay_s * (1.0 + self.by)
        } else {
            delay_s
        }
    }
}

impl std::str::FromStr for Slowdown {
    type Err = String;

    /// `SIDE:PERCENT`, such as `new:60%` (agents on the new side 60 % slower).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let hint = || format!("slowdown {s:?}: expected SIDE:PERCENT, such as new:60%");
        let (side, percent) = s.trim().split_once(':').ok_or_else(hint)?;
        let side = match side.trim().to_ascii_lowercase().as_str() {
            "old" => Side::Old,
            "new" => Side::New,
            _ => return Err(hint()),
        };
        let number = percent.trim().trim_end_matches('%').trim();
        match number.parse::<f64>() {
            Ok(p) if p.is_finite() && p > 0.0 && p <= 1000.0 => Ok(Self {
                side,
                by: p / 100.0,
                from: None,
            }),
            _ => Err(format!(
                "slowdown {s:?}: the percentage must be a number above 0 and at most 1000"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slowdown_reads_side_and_percent_and_acts_on_its_side_from_its_time() {
        let slow: Slowdown = "new:60%".parse().unwrap();
        assert_eq!((slow.side, slow.by), (Side::New, 0.6));
        assert_eq!("old:150".parse::<Slowdown>().unwrap().by, 1.5);
        for bad in ["new", "both:60%", "new:-5%", "new:abc", "new:0%"] {
            assert!(bad.parse::<Slowdown>().is_err(), "{bad}");
        }
        let from = chrono::DateTime::from_timestamp(1_000, 0).unwrap();
        let slow = Slowdown {
            from: Some(from),
            ..slow
        };
        assert_eq!(slow.apply(Side::New, 999_999, 100.0), 100.0);
        assert!((slow.apply(Side::New, 1_000_000, 100.0) - 160.0).abs() < 1e-9);
        assert_eq!(slow.apply(Side::Old, 2_000_000, 100.0), 100.0);
    }
}
