//! The ledger: one JSON line per action the traffic took, with the platform's answer, so a test
//! can compute exactly what must exist afterwards on each side ([`Ledger::expected`]).
//!
//! A line holds `seq`, the simulated time, the side and its platform, the actor, the action, the
//! neutral request ([`Step`]) and the [`Answer`]. Nothing in it depends on the wall clock, so
//! the same seed against fresh emulators writes the same ledger byte for byte.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::TrafficError;
use super::model::{Answer, Channel, PlatformKind, Priority, Side, Stars, Status, Step};

/// What an actor did, named for people reading the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A customer opened a ticket.
    OpenTicket,
    /// A customer wrote again on an open ticket.
    FollowUp,
    /// An agent's first public reply (the first response).
    FirstReply,
    /// An agent's later public reply.
    Reply,
    /// An agent's private note.
    InternalNote,
    /// An agent solved the ticket.
    Solve,
    /// An agent raised the priority.
    Escalate,
    /// The ticket moved to another group.
    Reassign,
    /// The customer wrote on a solved ticket, which opened it again.
    Reopen,
    /// The customer rated the solved ticket.
    Rate,
    /// The ticket was closed for good.
    Close,
    /// An agent merged the ticket into another open ticket of the same requester.
    Merge,
}

/// One line of the ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// 1-based position in the run.
    pub seq: u64,
    /// Simulated time of the action (RFC 3339, milliseconds).
    pub sim_time: String,
    /// Which side it went to.
    pub side: Side,
    /// That side's platform.
    pub platform: PlatformKind,
    /// Who acted: `customer <email>`, `agent <id>` or `system`.
    pub actor: String,
    /// What was done.
    pub action: Action,
    /// The channel of the ticket.
    pub channel: Channel,
    /// The neutral request.
    pub request: Step,
    /// The platform's answer.
    pub answer: Answer,
}

/// Writes entries as JSON lines to a file or any writer.
pub struct LedgerWriter {
    out: Option<Box<dyn Write + Send>>,
    path: PathBuf,
}

impl std::fmt::Debug for LedgerWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerWriter")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl LedgerWriter {
    /// Creates (or truncates) `path`.
    pub fn create(path: &Path) -> Result<Self, TrafficError> {
        let file = File::create(path).map_err(|source| TrafficError::Ledger {
            action: "create",
            path: path.to_owned(),
            source,
        })?;
        Ok(Self {
            out: Some(Box::new(BufWriter::new(file))),
            path: path.to_owned(),
        })
    }

    /// Writes to any writer (`name` is used in error messages).
    pub fn to_writer(out: Box<dyn Write + Send>, name: &str) -> Self {
        Self {
            out: Some(out),
            path: PathBuf::from(name),
        }
    }

    /// Keeps no ledger.
    pub fn none() -> Self {
        Self {
            out: None,
            path: PathBuf::new(),
        }
    }

    /// Appends one entry.
    pub fn write(&mut self, entry: &Entry) -> Result<(), TrafficError> {
        let Some(out) = self.out.as_mut() else {
            return Ok(());
        };
        let mut line = serde_json::to_vec(entry).map_err(|e| TrafficError::Ledger {
            action: "write",
            path: self.path.clone(),
            source: e.into(),
        })?;
        line.push(b'\n');
        out.write_all(&line).map_err(|source| TrafficError::Ledger {
            action: "write",
            path: self.path.clone(),
            source,
        })
    }

    /// Flushes what is buffered.
    pub fn flush(&mut self) -> Result<(), TrafficError> {
        match self.out.as_mut() {
            Some(out) => out.flush().map_err(|source| TrafficError::Ledger {
                action: "write",
                path: self.path.clone(),
                source,
            }),
            None => Ok(()),
        }
    }
}

/// A whole ledger, read back.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ledger {
    /// Every entry, in order.
    pub entries: Vec<Entry>,
}

/// What must exist on one ticket after the run, from the successful actions.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedTicket {
    /// Channel it was opened on.
    pub channel: Channel,
    /// Last status set.
    pub status: Status,
    /// Last priority set.
    pub priority: Priority,
    /// Last group set.
    pub group_id: Option<u64>,
    /// Last assignee set.
    pub assignee_id: Option<u64>,
    /// Messages including the first one (the description).
    pub messages: u32,
    /// Public messages including the first one.
    pub public_messages: u32,
    /// The last rating given.
    pub rating: Option<Stars>,
    /// Ratings given (a ticket reopened and solved again can be rated again).
    pub ratings_given: u32,
    /// The ticket it was merged into (which closed it), when it was.
    pub merged_into: Option<u64>,
}

impl ExpectedTicket {
    /// Comments as the platform lists them: Zendesk lists the description as the first comment,
    /// Freshdesk's conversations leave it out.
    pub fn platform_comments(&self, platform: PlatformKind) -> u32 {
        match platform {
            PlatformKind::Zendesk => self.messages,
            PlatformKind::Freshdesk => self.messages.saturating_sub(1),
        }
    }

    /// Rating records as the platform keeps them: Zendesk has one per ticket (a new score
    /// replaces the old), Freshdesk one per rating given.
    pub fn platform_ratings(&self, platform: PlatformKind) -> u32 {
        match platform {
            PlatformKind::Zendesk => u32::from(self.rating.is_some()),
            PlatformKind::Freshdesk => self.ratings_given,
        }
    }
}

/// What must exist on one side after the run.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedSide {
    /// The side's platform.
    pub platform: PlatformKind,
    /// Tickets created, by platform id.
    pub tickets: BTreeMap<u64, ExpectedTicket>,
    /// Actions taken on this side.
    pub actions: u64,
    /// Actions the platform refused or did not answer.
    pub failed: u64,
}

impl ExpectedSide {
    /// Tickets created.
    pub fn n_tickets(&self) -> usize {
        self.tickets.len()
    }

    /// Comments (Zendesk) or conversations (Freshdesk) over all created tickets.
    pub fn n_comments(&self) -> u64 {
        self.tickets
            .values()
            .map(|t| u64::from(t.platform_comments(self.platform)))
            .sum()
    }

    /// Rating records over all created tickets, as the platform keeps them.
    pub fn n_ratings(&self) -> u64 {
        self.tickets
            .values()
            .map(|t| u64::from(t.platform_ratings(self.platform)))
            .sum()
    }
}

impl Ledger {
    /// Reads a ledger file; an error names the file and line.
    pub fn read(path: &Path) -> Result<Self, TrafficError> {
        let file = File::open(path).map_err(|source| TrafficError::Ledger {
            action: "read",
            path: path.to_owned(),
            source,
        })?;
        let mut entries = Vec::new();
        for (idx, line) in BufReader::new(file).lines().enumerate() {
            let line = line.map_err(|source| TrafficError::Ledger {
                action: "read",
                path: path.to_owned(),
                source,
            })?;
            if line.trim().is_empty() {
                continue;
            }
            let entry = serde_json::from_str(&line).map_err(|e| TrafficError::LedgerLine {
                path: path.to_owned(),
                line: idx + 1,
                reason: e.to_string(),
            })?;
            entries.push(entry);
        }
        Ok(Self { entries })
    }

    /// What must exist on each side: every successful action applied in order.
    pub fn expected(&self) -> BTreeMap<Side, ExpectedSide> {
        let mut sides: BTreeMap<Side, ExpectedSide> = BTreeMap::new();
        for e in &self.entries {
            let side = sides.entry(e.side).or_insert_with(|| ExpectedSide {
                platform: e.platform,
                tickets: BTreeMap::new(),
                actions: 0,
                failed: 0,
            });
            side.actions += 1;
            if !e.answer.ok() {
                side.failed += 1;
                continue;
            }
            apply(side, e);
        }
        sides
    }
}

fn apply(side: &mut ExpectedSide, e: &Entry) {
    if let Step::Open {
        channel,
        priority,
        group_id,
        ..
    } = &e.request
    {
        if let Some(id) = e.answer.created_id {
            side.tickets.insert(
                id,
                ExpectedTicket {
                    channel: *channel,
                    status: Status::New,
                    priority: *priority,
                    group_id: *group_id,
                    assignee_id: None,
                    messages: 1,
                    public_messages: 1,
                    rating: None,
                    ratings_given: 0,
                    merged_into: None,
                },
            );
        }
        return;
    }
    if let Step::Merge { ticket_id, into } = &e.request {
        // Each ticket is given the merge's private note.
        if let Some(t) = side.tickets.get_mut(ticket_id) {
            t.status = Status::Closed;
            t.merged_into = Some(*into);
            t.messages += 1;
        }
        if let Some(t) = side.tickets.get_mut(into) {
            t.messages += 1;
        }
        return;
    }
    let Some(t) = e
        .request
        .ticket_id()
        .and_then(|id| side.tickets.get_mut(&id))
    else {
        return;
    };
    match &e.request {
        Step::Open { .. } | Step::Merge { .. } => {}
        Step::Message {
            public,
            status,
            assignee_id,
            ..
        } => {
            t.messages += 1;
            t.public_messages += u32::from(*public);
            t.status = status.unwrap_or(t.status);
            t.assignee_id = assignee_id.or(t.assignee_id);
        }
        Step::Update {
            status,
            priority,
            group_id,
            assignee_id,
            ..
        } => {
            t.status = status.unwrap_or(t.status);
            t.priority = priority.unwrap_or(t.priority);
            t.group_id = group_id.or(t.group_id);
            t.assignee_id = assignee_id.or(t.assignee_id);
        }
        Step::Rate { stars, .. } => {
            t.rating = Some(*stars);
            t.ratings_given += 1;
        }
    }
}
