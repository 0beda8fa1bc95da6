//! The platform-neutral actors: customers who open tickets and write back, agents who answer,
//! reassign, escalate and solve, and the scheduler that decides, at each action time the
//! [`Arrivals`](super::curve::Arrivals) give, who does what.
//!
//! Every ticket follows one main thread of work (first reply → follow-ups and replies → solve →
//! rating or reopen → close), each step due after a realistic simulated delay drawn when the
//! previous one succeeded; escalations, reassignments, private notes and impatient customers'
//! chasers are side events that apply while the ticket is unsolved; so is a merge (about 5 % of
//! new tickets are merged, while unsolved, into an older unsolved ticket of the same requester
//! on the same side, when there is one; the merged ticket's thread ends there). At each action time, a share
//! of the time a new customer writes in; otherwise the earliest due piece of work is done (or a
//! new ticket when nothing is due). All choices come from one seeded `StdRng` (a merge's from a
//! stream of its own per ticket, so the rest of a seed's sequence is as it was before merges),
//! so the sequence depends on the seed and the platforms' answers only.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use rand::RngExt;
use rand::rngs::StdRng;

use super::client::Roster;
use super::ledger::Action;
use super::model::{
    Answer, Author, Channel, Customer, PlatformKind, Priority, Side, Slowdown, Stars, Status, Step,
};
use crate::datagen;

/// Share of action times at which a new ticket is opened regardless of the backlog.
const P_NEW_TICKET: f64 = 0.3;
/// Share of new tickets merged into another unsolved ticket of the same requester, when the
/// requester has one by then.
const P_MERGE: f64 = 0.05;
/// Data-generator stream of the merges (one draw per ticket).
const MERGE_STREAM: u64 = 0x6d65_7267;
/// Customers are numbered from here, away from the emulators' generated people.
const CUSTOMER_BASE: u64 = 1_000_000;
/// Data-generator stream of the traffic's customers.
const CUSTOMER_STREAM: u64 = 0x7472_6166;

/// One side as the actors see it.
#[derive(Debug)]
pub(crate) struct SideView {
    pub(crate) side: Side,
    pub(crate) platform: PlatformKind,
    pub(crate) roster: Roster,
    /// Platform ids of customers already seen, by e-mail.
    known: HashMap<String, u64>,
}

impl SideView {
    pub(crate) fn new(side: Side, platform: PlatformKind, roster: Roster) -> Self {
        Self {
            side,
            platform,
            roster,
            known: HashMap::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Work {
    FirstReply,
    Reply,
    FollowUp,
    Chase,
    Solve,
    Rate,
    Reopen,
    Close,
    Escalate,
    Reassign,
    InternalNote,
    Merge,
}

impl Work {
    fn is_side_event(self) -> bool {
        matches!(
            self,
            Self::Chase | Self::Escalate | Self::Reassign | Self::InternalNote | Self::Merge
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Due {
    at_ms: i64,
    order: u64,
    ticket: usize,
    epoch: u32,
    work: Work,
    /// When the work was scheduled.
    since_ms: i64,
    /// Already put off by the slowdown once.
    slowed: bool,
}

#[derive(Debug)]
struct Ticket {
    side: usize,
    id: u64,
    customer: Customer,
    channel: Channel,
    status: Status,
    priority: Priority,
    group_id: Option<u64>,
    assignee_id: Option<u64>,
    replies: u32,
    /// Main-thread work is valid only while its epoch is the ticket's.
    epoch: u32,
    alive: bool,
}

impl Ticket {
    fn unsolved(&self) -> bool {
        self.alive && matches!(self.status, Status::New | Status::Open | Status::Pending)
    }
}

/// What the scheduler decided to do next.
#[derive(Debug, Clone)]
pub(crate) struct Planned {
    pub(crate) side: usize,
    pub(crate) actor: String,
    pub(crate) action: Action,
    pub(crate) channel: Channel,
    pub(crate) step: Step,
    ticket: Option<usize>,
    work: Option<Work>,
}

/// The actors and their schedule.
#[derive(Debug)]
pub(crate) struct Actors {
    rng: StdRng,
    seed: u64,
    pub(crate) sides: Vec<SideView>,
    tickets: Vec<Ticket>,
    queue: BinaryHeap<Reverse<Due>>,
    order: u64,
    customers: u64,
    new_share: f64,
    /// The channels new tickets come by, with their weights.
    mix: Vec<(Channel, u32)>,
    /// Agents of one side slower than usual, if injected.
    slowdown: Option<Slowdown>,
}

impl Actors {
    /// Actors over `sides` (one or two); `new_share` of new tickets go to the new side when both
    /// are played; customers are drawn from a pool of `customers` people.
    pub(crate) fn new(
        rng: StdRng,
        seed: u64,
        sides: Vec<SideView>,
        customers: u64,
        new_share: f64,
    ) -> Self {
        Self {
            rng,
            seed,
            sides,
            tickets: Vec::new(),
            queue: BinaryHeap::new(),
            order: 0,
            customers: customers.max(1),
            new_share,
            mix: Channel::MIX.to_vec(),
            slowdown: None,
        }
    }

    /// New tickets come only by `channels` (in [`Channel::MIX`]'s proportions among them);
    /// empty keeps every channel.
    pub(crate) fn only_channels(mut self, channels: &[Channel]) -> Self {
        if !channels.is_empty() {
            self.mix.retain(|(c, _)| channels.contains(c));
        }
        self
    }

    /// Agents of one side answer and solve slower (see [`Slowdown`]).
    pub(crate) fn slowed(mut self, slowdown: Option<Slowdown>) -> Self {
        self.slowdown = slowdown;
        self
    }

    /// With a slowdown on the side of `due` (an agent's reply or solve, not yet put off): puts
    /// it off by the slowdown's share of the time it actually waited (queueing included), so
    /// the agents' answers come that much slower whatever the load. Whether it did.
    fn put_off(&mut self, due: Due, now_ms: i64) -> bool {
        let Some(slow) = self.slowdown else {
            return false;
        };
        let agents_work = matches!(due.work, Work::FirstReply | Work::Reply | Work::Solve);
        let Some(t) = self.tickets.get(due.ticket) else {
            return false;
        };
        if due.slowed || !agents_work {
            return false;
        }
        let waited_s = (now_ms - due.since_ms).max(0) as f64 / 1000.0;
        let later_s = slow.apply(self.sides[t.side].side, now_ms, waited_s) - waited_s;
        if later_s <= 0.0 {
            return false;
        }
        self.queue.push(Reverse(Due {
            at_ms: now_ms + (later_s * 1000.0) as i64,
            slowed: true,
            ..due
        }));
        true
    }

    /// Decides the action at simulated time `now_ms`.
    pub(crate) fn plan(&mut self, now_ms: i64) -> Planned {
        if !self.rng.random_bool(P_NEW_TICKET) {
            while let Some(Reverse(due)) = self.queue.peek().copied() {
                if due.at_ms > now_ms {
                    break;
                }
                self.queue.pop();
                if self.put_off(due, now_ms) {
                    continue;
                }
                if let Some(planned) = self.plan_work(due) {
                    return planned;
                }
            }
        }
        self.plan_open()
    }

    /// When the earliest piece of work falls due, in simulated milliseconds.
    pub(crate) fn next_due_ms(&self) -> Option<i64> {
        self.queue.peek().map(|Reverse(due)| due.at_ms)
    }

    /// The earliest piece of work due by `now_ms`, done at once rather than at an arrival (see
    /// `TrafficOptions::agents_when_due`); `None` when nothing valid is due (work put off by a
    /// slowdown goes back in the queue for later).
    pub(crate) fn plan_due(&mut self, now_ms: i64) -> Option<Planned> {
        while let Some(Reverse(due)) = self.queue.peek().copied() {
            if due.at_ms > now_ms {
                return None;
            }
            self.queue.pop();
            if self.put_off(due, now_ms) {
                continue;
            }
            if let Some(planned) = self.plan_work(due) {
                return Some(planned);
            }
        }
        None
    }

    /// A new ticket by a customer (see `TrafficOptions::agents_when_due`).
    pub(crate) fn plan_new_ticket(&mut self) -> Planned {
        self.plan_open()
    }

    /// Takes the answer of a planned action into account and schedules what follows.
    pub(crate) fn record(&mut self, planned: &Planned, answer: &Answer, now_ms: i64) {
        if !answer.ok() {
            // The thread of work of a ticket the platform refused ends here.
            if let Some(t) = planned.ticket.and_then(|idx| self.tickets.get_mut(idx))
                && !planned.work.is_some_and(Work::is_side_event)
            {
                t.alive = false;
            }
            return;
        }
        match (&planned.step, planned.ticket) {
            (
                Step::Open {
                    customer,
                    channel,
                    priority,
                    group_id,
                    ..
                },
                _,
            ) => {
                let Some(id) = answer.created_id else { return };
                let mut customer = customer.clone();
                customer.id = answer.requester_id.or(customer.id);
                if let Some(requester) = customer.id {
                    self.sides[planned.side]
                        .known
                        .insert(customer.email.clone(), requester);
                }
                self.tickets.push(Ticket {
                    side: planned.side,
                    id,
                    customer,
                    channel: *channel,
                    status: Status::New,
                    priority: *priority,
                    group_id: *group_id,
                    assignee_id: None,
                    replies: 0,
                    epoch: 0,
                    alive: true,
                });
                let idx = self.tickets.len() - 1;
                self.after_open(idx, now_ms);
            }
            (step, Some(idx)) => self.after_work(idx, step, planned.work, now_ms),
            (_, None) => {}
        }
    }

    fn plan_open(&mut self) -> Planned {
        let side = if self.sides.len() > 1 && self.rng.random_bool(self.new_share) {
            1
        } else {
            0
        };
        let n = self.rng.random_range(0..self.customers);
        let person = datagen::person(
            &mut datagen::rng_for(self.seed, CUSTOMER_STREAM, n),
            CUSTOMER_BASE + n,
        );
        let channel = pick_weighted(&mut self.rng, &self.mix);
        let priority = pick_weighted(
            &mut self.rng,
            &[
                (Priority::Low, 20),
                (Priority::Normal, 60),
                (Priority::High, 15),
                (Priority::Urgent, 5),
            ],
        );
        let groups = &self.sides[side].roster.groups;
        let group_id = if groups.is_empty() {
            None
        } else {
            Some(groups[self.rng.random_range(0..groups.len())].id)
        };
        let subject = datagen::subject(&mut self.rng);
        let (body, _) = datagen::comment_text(&mut self.rng, true);
        let known = self.sides[side].known.get(&person.email).copied();
        Planned {
            side,
            actor: format!("customer {}", person.email),
            action: Action::OpenTicket,
            channel,
            step: Step::Open {
                customer: Customer {
                    name: person.name,
                    email: person.email,
                    id: known,
                },
                channel,
                subject,
                body,
                priority,
                group_id,
            },
            ticket: None,
            work: None,
        }
    }

    fn plan_work(&mut self, due: Due) -> Option<Planned> {
        let t = self.tickets.get(due.ticket)?;
        let valid = if due.work.is_side_event() {
            t.unsolved()
        } else {
            t.alive && due.epoch == t.epoch
        };
        if !valid {
            return None;
        }
        let (ticket_id, customer_id) = (t.id, t.customer.id?);
        let customer = format!("customer {}", t.customer.email);
        let (side, channel) = (t.side, t.channel);
        let (action, actor, step) = match due.work {
            Work::FirstReply | Work::Reply => self.agent_reply(due, ticket_id),
            Work::FollowUp | Work::Chase | Work::Reopen => {
                let (body, _) = datagen::comment_text(&mut self.rng, true);
                let (action, status) = match due.work {
                    Work::Chase => (Action::FollowUp, None),
                    Work::Reopen => (Action::Reopen, Some(Status::Open)),
                    _ => (Action::FollowUp, Some(Status::Open)),
                };
                let step = message(ticket_id, Author::Customer(customer_id), true, body, status);
                (action, customer, step)
            }
            Work::Solve => self.solve(due.ticket, ticket_id),
            Work::Rate => (Action::Rate, customer, self.rate(ticket_id, customer_id)),
            Work::Close => (
                Action::Close,
                "system".to_owned(),
                update(ticket_id, Some(Status::Closed), None, None, None),
            ),
            Work::Escalate => {
                let priority = self.tickets.get(due.ticket)?.priority.raised()?;
                let agent = self.agent_for(due.ticket);
                let step = update(ticket_id, None, Some(priority), None, None);
                (Action::Escalate, format!("agent {agent}"), step)
            }
            Work::Reassign => {
                let (group_id, assignee_id) = self.other_group(due.ticket)?;
                let agent = self.agent_for(due.ticket);
                let step = update(ticket_id, None, None, Some(group_id), assignee_id);
                (Action::Reassign, format!("agent {agent}"), step)
            }
            Work::Merge => {
                let into = self.merge_target(due.ticket)?;
                let agent = self.agent_for(due.ticket);
                let step = Step::Merge { ticket_id, into };
                (Action::Merge, format!("agent {agent}"), step)
            }
            Work::InternalNote => {
                let agent = self.agent_for(due.ticket);
                let text = datagen::comment_text(&mut self.rng, false).0;
                let body = format!("Internal: {text}");
                let step = message(ticket_id, Author::Agent(agent), false, body, None);
                (Action::InternalNote, format!("agent {agent}"), step)
            }
        };
        Some(Planned {
            side,
            actor,
            action,
            channel,
            step,
            ticket: Some(due.ticket),
            work: Some(due.work),
        })
    }

    /// An agent's public reply, which sets the ticket pending (and assigns it on the first).
    fn agent_reply(&mut self, due: Due, ticket_id: u64) -> (Action, String, Step) {
        let first = self
            .tickets
            .get(due.ticket)
            .is_some_and(|t| t.assignee_id.is_none());
        let agent = self.agent_for(due.ticket);
        let (body, _) = datagen::comment_text(&mut self.rng, false);
        let mut step = message(
            ticket_id,
            Author::Agent(agent),
            true,
            body,
            Some(Status::Pending),
        );
        if let Step::Message { assignee_id, .. } = &mut step {
            *assignee_id = first.then_some(agent);
        }
        let action = if due.work == Work::FirstReply {
            Action::FirstReply
        } else {
            Action::Reply
        };
        (action, format!("agent {agent}"), step)
    }

    /// Solving: half the time with a closing reply, half as a bare status change.
    fn solve(&mut self, idx: usize, ticket_id: u64) -> (Action, String, Step) {
        let agent = self.agent_for(idx);
        let step = if self.rng.random_bool(0.5) {
            let body = "I'm marking this as solved, reply to reopen it anytime.".to_owned();
            message(
                ticket_id,
                Author::Agent(agent),
                true,
                body,
                Some(Status::Solved),
            )
        } else {
            update(ticket_id, Some(Status::Solved), None, None, None)
        };
        (Action::Solve, format!("agent {agent}"), step)
    }

    /// The customer's 1–5 stars, mostly happy, with a matching remark.
    fn rate(&mut self, ticket_id: u64, customer_id: u64) -> Step {
        let stars = pick_weighted(
            &mut self.rng,
            &[(5_u8, 45), (4, 25), (3, 12), (2, 8), (1, 10)],
        );
        let comment = match stars {
            4.. => "Quick and friendly, thank you!",
            3 => "Solved, but it took a while.",
            _ => "Not happy with how this was handled.",
        };
        Step::Rate {
            ticket_id,
            customer_id,
            stars: Stars(stars),
            comment: comment.to_owned(),
        }
    }

    /// The ticket's assignee, else an agent of its group, else any agent.
    fn agent_for(&mut self, idx: usize) -> u64 {
        let Some(t) = self.tickets.get(idx) else {
            return 0;
        };
        if let Some(a) = t.assignee_id {
            return a;
        }
        let roster = &self.sides[t.side].roster;
        let members = t
            .group_id
            .and_then(|g| roster.groups.iter().find(|group| group.id == g))
            .map(|g| g.agent_ids.as_slice())
            .filter(|m| !m.is_empty())
            .unwrap_or(roster.agents.as_slice());
        if members.is_empty() {
            return 0;
        }
        members[self.rng.random_range(0..members.len())]
    }

    /// Another group for the ticket, with one of its agents when the ticket is assigned.
    fn other_group(&mut self, idx: usize) -> Option<(u64, Option<u64>)> {
        let t = self.tickets.get(idx)?;
        let groups: Vec<_> = self.sides[t.side]
            .roster
            .groups
            .iter()
            .filter(|g| Some(g.id) != t.group_id)
            .collect();
        if groups.is_empty() {
            return None;
        }
        let group = groups[self.rng.random_range(0..groups.len())];
        let assignee = if t.assignee_id.is_some() && !group.agent_ids.is_empty() {
            Some(group.agent_ids[self.rng.random_range(0..group.agent_ids.len())])
        } else {
            None
        };
        Some((group.id, assignee))
    }

    /// The oldest other unsolved ticket of the same requester on the same side.
    fn merge_target(&self, idx: usize) -> Option<u64> {
        let t = self.tickets.get(idx)?;
        self.tickets
            .iter()
            .find(|o| {
                o.side == t.side
                    && o.id != t.id
                    && o.unsolved()
                    && o.customer.email == t.customer.email
            })
            .map(|o| o.id)
    }

    fn after_open(&mut self, idx: usize, now_ms: i64) {
        let mut draw = datagen::rng_for(self.seed, MERGE_STREAM, idx as u64);
        if draw.random_bool(P_MERGE) {
            let delay = draw.random_range(60.0..1_800.0);
            self.schedule_side(idx, Work::Merge, now_ms, delay);
        }
        let live = self.tickets[idx].channel.is_live();
        let first = match self.tickets[idx].channel {
            Channel::Phone => self.lognormal(120.0, 0.5),
            Channel::Chat | Channel::WhatsApp => self.lognormal(240.0, 0.7),
            Channel::Email | Channel::WebForm => self.lognormal(45.0 * 60.0, 1.0),
        };
        self.schedule_main(idx, Work::FirstReply, now_ms, first);
        let scale = if live { 0.1 } else { 1.0 };
        if self.rng.random_bool(0.2) {
            let delay = first * 0.6;
            self.schedule_side(idx, Work::Chase, now_ms, delay);
        }
        for (work, p) in [
            (Work::Escalate, 0.12),
            (Work::Reassign, 0.12),
            (Work::InternalNote, 0.2),
        ] {
            if self.rng.random_bool(p) {
                let delay = self.rng.random_range(300.0..10_800.0) * scale;
                self.schedule_side(idx, work, now_ms, delay);
            }
        }
    }

    fn after_work(&mut self, idx: usize, step: &Step, work: Option<Work>, now_ms: i64) {
        let live = self.tickets[idx].channel.is_live();
        if let Some(t) = self.tickets.get_mut(idx) {
            apply(t, step);
        }
        let Some(work) = work else { return };
        match work {
            Work::FirstReply | Work::Reply => {
                self.tickets[idx].replies += 1;
                if self.tickets[idx].replies >= 4 || self.rng.random_bool(0.5) {
                    let delay = self.solve_delay(live);
                    self.schedule_main(idx, Work::Solve, now_ms, delay);
                } else {
                    let delay = if live {
                        self.lognormal(120.0, 0.6)
                    } else {
                        self.lognormal(3.0 * 3600.0, 1.0)
                    };
                    self.schedule_main(idx, Work::FollowUp, now_ms, delay);
                }
            }
            Work::FollowUp | Work::Reopen => {
                let delay = if live {
                    self.lognormal(180.0, 0.6)
                } else {
                    self.lognormal(40.0 * 60.0, 1.0)
                };
                self.schedule_main(idx, Work::Reply, now_ms, delay);
            }
            Work::Solve => {
                let r: f64 = self.rng.random();
                if r < 0.55 {
                    let delay = self.lognormal(2.0 * 3600.0, 0.8);
                    self.schedule_main(idx, Work::Rate, now_ms, delay);
                } else if r < 0.65 {
                    let delay = self.lognormal(20.0 * 3600.0, 0.8);
                    self.schedule_main(idx, Work::Reopen, now_ms, delay);
                } else {
                    self.schedule_main(idx, Work::Close, now_ms, 4.0 * 86_400.0);
                }
            }
            Work::Rate => {
                let unhappy = matches!(step, Step::Rate { stars, .. } if stars.0 <= 2);
                if unhappy && self.rng.random_bool(0.4) {
                    let delay = self.lognormal(3.0 * 3600.0, 0.8);
                    self.schedule_main(idx, Work::Reopen, now_ms, delay);
                } else {
                    self.schedule_main(idx, Work::Close, now_ms, 4.0 * 86_400.0);
                }
            }
            Work::Close => self.tickets[idx].alive = false,
            Work::Chase | Work::Escalate | Work::Reassign | Work::InternalNote | Work::Merge => {}
        }
    }

    fn solve_delay(&mut self, live: bool) -> f64 {
        if live {
            self.lognormal(10.0 * 60.0, 0.7)
        } else {
            self.lognormal(8.0 * 3600.0, 1.0)
        }
    }

    fn schedule_main(&mut self, idx: usize, work: Work, now_ms: i64, delay_s: f64) {
        self.tickets[idx].epoch += 1;
        let epoch = self.tickets[idx].epoch;
        self.push(idx, work, epoch, now_ms, delay_s);
    }

    fn schedule_side(&mut self, idx: usize, work: Work, now_ms: i64, delay_s: f64) {
        self.push(idx, work, 0, now_ms, delay_s);
    }

    fn push(&mut self, ticket: usize, work: Work, epoch: u32, now_ms: i64, delay_s: f64) {
        self.order += 1;
        self.queue.push(Reverse(Due {
            at_ms: now_ms + (delay_s * 1000.0) as i64,
            order: self.order,
            ticket,
            epoch,
            work,
            since_ms: now_ms,
            slowed: false,
        }));
    }

    /// A log-normal delay in seconds with the given median.
    fn lognormal(&mut self, median_s: f64, sigma: f64) -> f64 {
        let u1: f64 = self.rng.random::<f64>().max(f64::MIN_POSITIVE);
        let u2: f64 = self.rng.random();
        let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        median_s * (sigma * z).exp()
    }
}

/// What a successful step changed on the actors' copy of a ticket.
fn apply(t: &mut Ticket, step: &Step) {
    match step {
        Step::Message {
            status,
            assignee_id,
            ..
        } => {
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
        // Merged away: closed, and its thread of work ends.
        Step::Merge { .. } => {
            t.status = Status::Closed;
            t.alive = false;
        }
        Step::Open { .. } | Step::Rate { .. } => {}
    }
}

fn message(
    ticket_id: u64,
    author: Author,
    public: bool,
    body: String,
    status: Option<Status>,
) -> Step {
    Step::Message {
        ticket_id,
        author,
        public,
        body,
        status,
        assignee_id: None,
    }
}

fn update(
    ticket_id: u64,
    status: Option<Status>,
    priority: Option<Priority>,
    group_id: Option<u64>,
    assignee_id: Option<u64>,
) -> Step {
    Step::Update {
        ticket_id,
        status,
        priority,
        group_id,
        assignee_id,
    }
}

fn pick_weighted<T: Copy>(rng: &mut StdRng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut roll = rng.random_range(0..total.max(1));
    for (item, weight) in items {
        if roll < *weight {
            return *item;
        }
        roll -= weight;
    }
    items[items.len() - 1].0
}
