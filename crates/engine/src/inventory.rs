//! The inventory: what the old platform holds, and what of it cannot be carried to the new one,
//! named before anything moves.
//!
//! Counts come from one read of every listable kind on the old side. Comments and attachments
//! are read per ticket, so they are counted on an even sample of the tickets (every ticket up to
//! [`CHILDREN_SAMPLE`], else between that and twice as many, spread over the whole list) and
//! scaled to all of them: at most a few hundred requests, where reading every ticket's would
//! cost as much as the backfill's own reads. The estimate of the backfill's time comes from
//! those counts and the cost model (`cost.rs`). Losses come from the two
//! connectors' stated capabilities, from the plan's explicit drops, and from that read: the
//! tickets whose agent or group is not carried and take the plan's stand-in (`stand_in.rs`).
//! Nothing here guesses.

use std::collections::BTreeMap;

use cutover_connect::{Connector, ReadPosition};
use cutover_model::accounts::AccountSnapshot;
use cutover_model::{PlatformId, PlatformKind, RecordKind};
use cutover_plan::plan::model::Mapping as PlanMapping;
use cutover_plan::plan::open::{OpenValue, open_values};
use cutover_plan::plan::values::Target;
use serde::Serialize;

use crate::cost::{self, Estimate, Rate, Volume};
use crate::discovery::Tally;
use crate::error::EngineError;
pub use crate::losses::{Loss, capability_losses};
use crate::stand_in;

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
    /// Values of the old account the plan does not decide yet, each with what it holds back
    /// and the line to add: a backfill refuses to start while there are any.
    pub unmapped: Vec<OpenValue>,
    /// What the backfill copies, tickets' comments and attachments counted on a sample.
    pub volume: Volume,
    /// Tickets whose comments were read for `volume` (all of them when it equals the tickets).
    pub children_sampled_from: u64,
    /// How long the backfill will take at the plan's limits and shares ([`Inventory::estimate`]);
    /// `None` until then, or for a direction the cost model does not know.
    pub estimate: Option<BackfillEstimate>,
}

/// The backfill's time at the plan's limits, from the cost model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackfillEstimate {
    /// The old account's limit and share.
    pub old: Rate,
    /// The new account's.
    pub new: Rate,
    /// The engine's requests on each side (the floor times its measured overhead).
    pub requests: cost::Cost,
    /// The fewest requests the platforms allow for the same records.
    pub floor: cost::Cost,
    /// Minutes, tickets an hour, and the side that paces it.
    pub time: Estimate,
}

/// Tickets whose comments inventory reads at least (all of them below this).
pub const CHILDREN_SAMPLE: u64 = 100;

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
        text.push_str(&self.volume_summary());
        text.push_str(&crate::unmapped::summary(&self.unmapped));
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

impl Inventory {
    /// Sets [`Inventory::estimate`] for the plan's limits and shares on each side (left `None`
    /// for a direction the cost model does not know).
    pub fn estimate(&mut self, old: Rate, new: Rate) {
        let (Ok(requests), Ok(floor)) = (
            cost::expected(self.from, self.to, &self.volume),
            cost::floor(self.from, self.to, &self.volume),
        ) else {
            return;
        };
        let time = cost::estimate(&requests, self.volume.tickets, &old, &new);
        self.estimate = Some(BackfillEstimate {
            old,
            new,
            requests,
            floor,
            time,
        });
    }

    fn volume_summary(&self) -> String {
        let v = &self.volume;
        let mut text = String::new();
        if v.tickets > 0 {
            let how = if self.children_sampled_from >= v.tickets {
                "counted on every ticket".to_owned()
            } else {
                format!(
                    "estimated from {} of {} tickets",
                    crate::text::count(self.children_sampled_from),
                    crate::text::count(v.tickets)
                )
            };
            text.push_str(&format!(
                "\nIn those tickets ({how}):\n  {:<20} {:>8}\n  {:<20} {:>8}  ({})\n",
                "comments",
                v.comments,
                "attachments",
                v.attachments,
                cost::bytes(v.attachment_bytes),
            ));
        }
        if let Some(e) = &self.estimate {
            let per_ticket = |n: u64| n as f64 / v.tickets.max(1) as f64;
            text.push_str(&format!(
                "\nBackfill estimate: {} at {} requests a minute on the old side ({:.0} % of it) \
                 and {} on the new ({:.0} % of it), about {} tickets an hour, paced by the {} side.\n\
                 \x20 Requests per ticket: {:.2} old, {:.2} new (the platforms' floor: {:.2} and {:.2}).\n",
                cost::duration(e.time.minutes * 60.0),
                e.old.requests_per_minute,
                e.old.share * 100.0,
                e.new.requests_per_minute,
                e.new.share * 100.0,
                crate::text::count(e.time.tickets_per_hour.round() as u64),
                e.time.paced_by,
                per_ticket(e.requests.old.total()),
                per_ticket(e.requests.new.total()),
                per_ticket(e.floor.old.total()),
                per_ticket(e.floor.new.total()),
            ));
        }
        text
    }
}

/// Counts the old side's records of `kinds`, names what cannot be carried to `target`, and
/// lists the old account's values `plan` leaves open with what each holds back. `new` is what
/// the new account offers those values (its discovery), for their choices; the target itself
/// is not contacted (its capabilities are known).
pub async fn inventory(
    source: &dyn Connector,
    target: &dyn Connector,
    plan: &PlanMapping,
    kinds: &[RecordKind],
    new: &AccountSnapshot,
) -> Result<Inventory, EngineError> {
    let caps = source.capabilities();
    let mut tally = Tally::new(source.discover().await?);
    let mut read_kinds: Vec<RecordKind> = kinds.to_vec();
    // Open values are looked up among these: read them whatever the plan copies.
    read_kinds.extend([
        RecordKind::Group,
        RecordKind::Role,
        RecordKind::Agent,
        RecordKind::CustomField,
    ]);
    let mut counts = BTreeMap::new();
    let mut unreadable = BTreeMap::new();
    let mut not_carried = stand_in::NotCarried::new(plan, kinds);
    not_carried.leavers_left_behind = !target.capabilities().agents_who_left;
    let mut sample = Sample::default();
    for kind in RecordKind::ALL.iter().copied() {
        if !read_kinds.contains(&kind) || !caps.readable.contains(&kind) {
            continue;
        }
        let mut position = ReadPosition::start();
        let (mut read, mut bad) = (0u64, 0u64);
        loop {
            let page = source.read_page(kind, &position).await?;
            read += page.items.len() as u64;
            for item in &page.items {
                tally.observe(item);
            }
            bad += page.rejected.len() as u64;
            for item in &page.items {
                not_carried.observe(&item.id, &item.record);
            }
            if kind == RecordKind::Ticket && kinds.contains(&kind) {
                for item in &page.items {
                    sample.offer(&item.id);
                }
            }
            match page.next {
                Some(next) if !page.done && next != position => position = next,
                _ => break,
            }
        }
        if !kinds.contains(&kind) {
            continue;
        }
        counts.insert(kind, read);
        if bad > 0 {
            unreadable.insert(kind, bad);
        }
    }
    if kinds.contains(&RecordKind::Ticket) {
        tally.counted();
    }
    let unmapped = open_values(plan, kinds, &tally.finish(), new);
    let mut losses = capability_losses(&caps, &target.capabilities(), kinds);
    if plan.ticket_types.is_some() {
        // Every type goes through [mapping.ticket_types]: to one the target lists, created
        // there, or dropped (listed with the plan's drops).
        losses.retain(|loss| loss.what != crate::losses::TICKET_TYPE.what);
    }
    losses.extend(drops(plan));
    losses.extend(not_carried.losses(target.platform()));
    losses.extend(crate::rules::inventory_losses(source, target, plan, kinds).await?);
    let children = if kinds.contains(&RecordKind::Comment) {
        count_children(source, &sample.kept).await?
    } else {
        Children::default()
    };
    let count = |kind| counts.get(&kind).copied().unwrap_or(0);
    let volume = children.scaled_to(
        count(RecordKind::Ticket),
        count(RecordKind::Contact),
        count(RecordKind::Organization),
    );
    Ok(Inventory {
        from: source.platform(),
        to: target.platform(),
        counts,
        unreadable,
        losses,
        unmapped,
        volume,
        children_sampled_from: children.tickets,
        estimate: None,
    })
}

/// Tickets whose comments a backfill reads for its first estimate ([`sample_volume`]).
pub const BACKFILL_SAMPLE: usize = 20;

/// What a backfill will copy, cheaply: tickets, contacts and organizations as the platform
/// counts them (one request each), comments and attachments from the first page of tickets'
/// first [`BACKFILL_SAMPLE`]. `None` when the platform does not count its tickets.
pub async fn sample_volume(source: &dyn Connector) -> Result<Option<Volume>, EngineError> {
    let Some(tickets) = source.count(RecordKind::Ticket).await? else {
        return Ok(None);
    };
    let users = source.count(RecordKind::Contact).await?.unwrap_or(0);
    let organizations = source.count(RecordKind::Organization).await?.unwrap_or(0);
    let first = source
        .read_page(RecordKind::Ticket, &ReadPosition::start())
        .await?;
    let ids: Vec<PlatformId> = first
        .items
        .iter()
        .filter(|item| item.record.kind() == RecordKind::Ticket)
        .take(BACKFILL_SAMPLE)
        .map(|item| item.id.clone())
        .collect();
    let children = count_children(source, &ids).await?;
    Ok(Some(children.scaled_to(tickets, users, organizations)))
}

/// An even sample of ticket ids in the order they are read: every one up to twice
/// [`CHILDREN_SAMPLE`]; past that, every second one kept is dropped and the stride doubles.
#[derive(Debug)]
struct Sample {
    kept: Vec<PlatformId>,
    stride: u64,
    seen: u64,
}

impl Default for Sample {
    fn default() -> Self {
        Sample {
            kept: Vec::new(),
            stride: 1,
            seen: 0,
        }
    }
}

impl Sample {
    fn offer(&mut self, id: &PlatformId) {
        if self.seen.is_multiple_of(self.stride) {
            self.kept.push(id.clone());
            if self.kept.len() as u64 >= 2 * CHILDREN_SAMPLE {
                let mut index = 0;
                self.kept.retain(|_| {
                    index += 1;
                    index % 2 == 1
                });
                self.stride *= 2;
            }
        }
        self.seen += 1;
    }
}

/// Comments, attachments and their bytes of some tickets.
#[derive(Debug, Default)]
struct Children {
    tickets: u64,
    comments: u64,
    attachments: u64,
    bytes: u64,
}

impl Children {
    /// The volume of `tickets` tickets (with `users` and `organizations`) whose comments and
    /// attachments are in the sample's proportion.
    fn scaled_to(&self, tickets: u64, users: u64, organizations: u64) -> Volume {
        let scale = |n: u64| {
            if self.tickets == 0 {
                0
            } else {
                (n as f64 * tickets as f64 / self.tickets as f64).round() as u64
            }
        };
        Volume {
            tickets,
            comments: scale(self.comments),
            attachments: scale(self.attachments),
            attachment_bytes: scale(self.bytes),
            users,
            organizations,
        }
    }
}

/// Reads every comment of `tickets` (with their attachments' metadata) and counts them.
async fn count_children(
    source: &dyn Connector,
    tickets: &[PlatformId],
) -> Result<Children, EngineError> {
    let mut children = Children::default();
    for ticket in tickets {
        let mut position = ReadPosition::start();
        loop {
            let page = source
                .read_children(RecordKind::Comment, ticket, &position)
                .await?;
            children.comments += page
                .items
                .iter()
                .filter(|item| item.record.kind() == RecordKind::Comment)
                .count() as u64;
            children.attachments += page.attachments.len() as u64;
            children.bytes += page.attachments.iter().map(|a| a.size).sum::<u64>();
            match page.next {
                Some(next) if !page.done && next != position => position = next,
                _ => break,
            }
        }
        children.tickets += 1;
    }
    Ok(children)
}

/// The plan's explicit decisions to leave values behind.
fn drops(plan: &PlanMapping) -> Vec<Loss> {
    let no_types = BTreeMap::new();
    let tables: [(&str, &BTreeMap<String, Target>); 8] = [
        ("statuses", &plan.statuses),
        ("priorities", &plan.priorities),
        ("roles", &plan.roles),
        ("groups", &plan.groups),
        ("fields", &plan.fields),
        (
            "ticket_types",
            plan.ticket_types.as_ref().unwrap_or(&no_types),
        ),
        ("brands", plan.brands.as_ref().unwrap_or(&no_types)),
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
