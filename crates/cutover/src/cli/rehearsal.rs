//! A move between emulated platforms, shared by `cutover demo`, `cutover drill` and `cutover
//! bench backfill`: start an old Zendesk emulator with generated data and an empty new one
//! (Zendesk or Freshdesk), hold either as an [`Emulator`] (open a ticket on it as a customer,
//! count the e-mails it sent), and write the plan a user would write for them: `cutover init` reads both
//! accounts (the same library path, with the emulators' credentials), then every open value is
//! decided as its hint says. A budget above any real Zendesk account's limit also lifts the
//! Zendesk connector's per-endpoint limits (see `cutover_engine::connector`).

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use cutover_connect::Connector;
use cutover_model::{PlatformKind, RecordKind, Side};
use cutover_plan::Plan;
use cutover_plan::plan::discovered::decide_as_rehearsed;
use cutover_plan::plan::init::{InitOptions, Tuning};
use cutover_plan::plan::open::open_values;
use cutover_sim::freshdesk::{self, FreshdeskOptions, FreshdeskSim};
use cutover_sim::zendesk::{App, ZendeskOptions, ZendeskSim};
use cutover_sim::{AccountProfile, SimHandle};
use serde_json::{Value, json};

use crate::exit::{Class, fail};

/// The API token every emulator accepts by default.
pub(crate) const SIM_TOKEN: &str = "sim-token";
/// The admin e-mail the emulator's token belongs to.
pub(crate) const SIM_EMAIL: &str = "admin@example.com";

/// The kinds a Zendesk-to-Zendesk rehearsal copies, parents first.
const KINDS: &[RecordKind] = &[
    RecordKind::Organization,
    RecordKind::Contact,
    RecordKind::Group,
    RecordKind::Agent,
    RecordKind::CustomField,
    RecordKind::Ticket,
    RecordKind::Comment,
];

/// How the emulators of a rehearsal are limited.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Account requests per minute; `None` turns the limit off.
    pub rpm: Option<u32>,
    /// Incremental-export requests per minute; 0 turns the limit off.
    pub incremental_rpm: u32,
}

/// The options of an emulated Zendesk with `tickets` generated tickets.
pub(crate) fn options(seed: u64, tickets: usize, limits: Limits) -> ZendeskOptions {
    ZendeskOptions {
        seed,
        tickets,
        // What a real account holds (its own groups, roles, statuses and fields, agents who
        // left): the plan is discovered and decided as a user does.
        profile: AccountProfile::Realistic,
        rate_limit_rpm: limits.rpm,
        incremental_rpm: limits.incremental_rpm,
        ..ZendeskOptions::default()
    }
}

/// An emulated Zendesk on a free local port.
pub(crate) async fn start_zendesk(opts: ZendeskOptions) -> anyhow::Result<SimHandle<App>> {
    ZendeskSim::spawn(opts, "127.0.0.1:0")
        .await
        .map_err(|e| fail(Class::Internal, format!("start an emulated Zendesk: {e}")))
}

/// An empty emulated Freshdesk with every rate limit off (its per-endpoint limits cannot be
/// raised, only turned off), whose API key is [`SIM_TOKEN`]. Its "new ticket" acknowledgement
/// e-mail is switched off, as a user switches it off in Freshdesk's admin before a backfill
/// (`cutover inventory` says so): no API turns it off.
pub(crate) async fn empty_freshdesk(seed: u64) -> anyhow::Result<SimHandle<freshdesk::App>> {
    // What a real account holds (its own groups, roles, statuses and fields, agents who
    // left): the plan is discovered and decided as a user does.
    start_freshdesk(seed, 0, AccountProfile::Realistic).await
}

/// An emulated Freshdesk of plain records with `tickets` tickets, limits and acknowledgement
/// e-mail off as [`empty_freshdesk`]'s (`cutover drill`, `cutover bench gateway`: about the
/// switch and the gateway, not the mapping).
pub(crate) async fn plain_freshdesk(
    seed: u64,
    tickets: usize,
) -> anyhow::Result<SimHandle<freshdesk::App>> {
    start_freshdesk(seed, tickets, AccountProfile::Plain).await
}

async fn start_freshdesk(
    seed: u64,
    tickets: usize,
    profile: AccountProfile,
) -> anyhow::Result<SimHandle<freshdesk::App>> {
    let opts = FreshdeskOptions {
        seed,
        tickets,
        profile,
        api_key: SIM_TOKEN.to_owned(),
        rate_limit_rpm: Some(0),
        acknowledge_new_tickets: false,
        ..FreshdeskOptions::default()
    };
    FreshdeskSim::spawn(opts, "127.0.0.1:0")
        .await
        .map_err(|e| fail(Class::Internal, format!("start an emulated Freshdesk: {e}")))
}

/// The connector of one side of a rehearsal's plan, with the emulators' credentials
/// (`cutover_engine::connector` raises the per-endpoint limits with a raised plan budget).
pub(crate) fn connector(plan: &Plan, side: Side) -> anyhow::Result<Arc<dyn Connector>> {
    cutover_engine::connector(plan, side, credential).map_err(anyhow::Error::from)
}

/// The credentials the plan names, as the emulators accept them (the demo and the benchmark
/// read no environment).
pub(crate) fn credential(variable: &str) -> Option<String> {
    match variable {
        "CUTOVER_OLD_EMAIL" | "CUTOVER_NEW_EMAIL" => Some(SIM_EMAIL.to_owned()),
        "CUTOVER_OLD_TOKEN" | "CUTOVER_NEW_TOKEN" => Some(SIM_TOKEN.to_owned()),
        _ => None,
    }
}

/// The emulator of one side of a rehearsal, started with [`SIM_TOKEN`] (and, on Zendesk,
/// [`SIM_EMAIL`]) as its credentials.
pub(crate) enum Emulator {
    Zendesk(SimHandle<App>),
    Freshdesk(SimHandle<freshdesk::App>),
}

impl Emulator {
    pub(crate) fn url(&self) -> &str {
        match self {
            Emulator::Zendesk(sim) => sim.url(),
            Emulator::Freshdesk(sim) => sim.url(),
        }
    }

    pub(crate) fn kind(&self) -> PlatformKind {
        match self {
            Emulator::Zendesk(_) => PlatformKind::Zendesk,
            Emulator::Freshdesk(_) => PlatformKind::Freshdesk,
        }
    }

    /// E-mails the emulator sent to customers so far.
    pub(crate) fn emails(&self) -> usize {
        match self {
            Emulator::Zendesk(sim) => sim.state().notifications().len(),
            Emulator::Freshdesk(sim) => sim.state().notification_log().len(),
        }
    }

    /// Moves the emulator's clock a minute on: Zendesk's export shows nothing of its last one.
    pub(crate) async fn skip_a_minute(&self) -> anyhow::Result<()> {
        reqwest::Client::new()
            .post(format!("{}/_sim/clock", self.url()))
            .json(&json!({ "advance_seconds": 61 }))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .context("move the emulator's clock")?;
        Ok(())
    }

    /// Opens a ticket as a customer (`customer`'s name and e-mail) writes in, by the platform's
    /// own API; its id.
    pub(crate) async fn open_ticket(
        &self,
        (name, email): (&str, &str),
        subject: &str,
        body: &str,
    ) -> anyhow::Result<String> {
        let client = reqwest::Client::new();
        let request = match self.kind() {
            PlatformKind::Zendesk => client
                .post(format!("{}/api/v2/tickets.json", self.url()))
                .basic_auth(format!("{SIM_EMAIL}/token"), Some(SIM_TOKEN))
                .json(&json!({ "ticket": {
                    "subject": subject,
                    "comment": { "body": body },
                    "requester": { "name": name, "email": email }
                }})),
            _ => client
                .post(format!("{}/api/v2/tickets", self.url()))
                .basic_auth(SIM_TOKEN, Some("X"))
                .json(&json!({
                    "subject": subject, "description": body, "name": name,
                    "email": email, "status": 2, "priority": 1
                })),
        };
        let answer: Value = request
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .with_context(|| format!("open a ticket on the emulated {}", self.kind()))?
            .json()
            .await
            .with_context(|| format!("read the emulated {}'s answer", self.kind()))?;
        let id = match self.kind() {
            PlatformKind::Zendesk => &answer["ticket"]["id"],
            _ => &answer["id"],
        };
        Ok(id.to_string())
    }

    pub(crate) async fn shutdown(self) {
        let _ = match self {
            Emulator::Zendesk(sim) => sim.shutdown().await,
            Emulator::Freshdesk(sim) => sim.shutdown().await,
        };
    }
}

/// Writes the plan for a move from the Zendesk at `old_url` to the Zendesk at `new_url` into
/// `path` (see [`write_plan_to`]).
pub(crate) async fn write_plan(
    path: &Path,
    old_url: &str,
    new_url: &str,
    rpm: u32,
) -> anyhow::Result<()> {
    write_plan_to(path, old_url, new_url, PlatformKind::Zendesk, rpm).await
}

/// Writes the plan for a move from the Zendesk at `old_url` to the `to` platform at `new_url`
/// into `path` as a user does: `cutover init` reads both accounts (with the emulators'
/// credentials) and writes the plan from them, with the copied kinds, the budget `rpm` on both
/// sides and the target's notifications confirmed off; then every open value is decided as its
/// hint says, with the choice a rehearsal takes (`OpenValue::rehearsal_choice`).
pub(crate) async fn write_plan_to(
    path: &Path,
    old_url: &str,
    new_url: &str,
    to: PlatformKind,
    rpm: u32,
) -> anyhow::Result<()> {
    write_plan_between(path, (PlatformKind::Zendesk, old_url), (to, new_url), rpm).await
}

/// The same for a move from the `from` platform at `old_url` (what `cutover drill` rehearses
/// with: emulators shaped like the user's plan).
pub(crate) async fn write_plan_between(
    path: &Path,
    (from, old_url): (PlatformKind, &str),
    (to, new_url): (PlatformKind, &str),
    rpm: u32,
) -> anyhow::Result<()> {
    let options = InitOptions {
        from,
        to,
        old_url: Some(old_url.to_owned()),
        new_url: Some(new_url.to_owned()),
    };
    let mut kinds = KINDS.to_vec();
    if to == PlatformKind::Freshdesk {
        // Attachments too into Freshdesk, since their bytes are re-uploaded there.
        kinds.push(RecordKind::Attachment);
    }
    let tuning = Tuning {
        requests_per_minute: Some(rpm),
        kinds: Some(kinds),
        // The emulated target's "new ticket" acknowledgement is off (see `empty_freshdesk`).
        notifications_off: true,
        backfill_only: false,
    };
    // Nobody reads the counts of a rehearsal's plan: its tickets are not read a second time.
    super::init::discover_and_write(path, &options, &tuning, credential, false).await?;
    follow_hints(path).await
}

/// Decides every open value of the plan at `path` as its hint says, with the choice a
/// rehearsal takes, and checks the plan it leaves.
pub(crate) async fn follow_hints(path: &Path) -> anyhow::Result<()> {
    let checked = cutover_plan::plan::load_checked(path)?;
    let Some(accounts) = &checked.accounts else {
        return Err(fail(
            Class::Internal,
            format!(
                "{} has no snapshot of the accounts beside it",
                path.display()
            ),
        ));
    };
    let plan = &checked.plan;
    let open = open_values(
        &plan.mapping,
        &plan.copy.kinds,
        &accounts.old,
        &accounts.new,
    );
    let text = tokio::fs::read_to_string(path)
        .await
        .with_context(|| format!("read {}", path.display()))?;
    tokio::fs::write(path, decide_as_rehearsed(&text, &open))
        .await
        .with_context(|| format!("write {}", path.display()))?;
    let checked = cutover_plan::plan::load_checked(path)?;
    if let Some(note) = checked.notes.iter().find(|n| n.contains("no mapping")) {
        return Err(fail(
            Class::Internal,
            format!("a hint left a value open: {note}"),
        ));
    }
    Ok(())
}
