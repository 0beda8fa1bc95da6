//! The typed plan: what every command reads once `plan check` has passed.
//!
//! The structs mirror the file section by section (see `docs/plan.md`). Every struct denies
//! unknown fields; defaults are named functions so the reference can point at them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::NaiveDate;
use cutover_model::{PlatformKind, RecordKind, Side};
use serde::Deserialize;

use crate::plan::names::{
    AccessRole, AlertAction, Audience, ChannelKind, ConflictRule, Directions, InlineImages, Kpi,
    MatchBy, NoticeVia, OnInconclusive, SmtpTls, TimeZoneName, WeekTime,
};
use crate::plan::values::{
    AgentSelection, BaseUrl, Deviation, Duration, Email, EnvVarName, Fraction, GroupSelection,
    Percent, ServiceLevel, Target,
};

/// A migration plan (`cutover.toml`), checked.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// The plan format's version; always 1.
    pub version: u32,
    /// A name for the move, shown on the dashboard and in reports.
    #[serde(default)]
    pub name: String,
    /// The platform the organisation is leaving.
    pub old: Platform,
    /// The platform the organisation is moving to.
    pub new: Platform,
    /// What is copied, and how.
    #[serde(default)]
    pub copy: CopySettings,
    /// How values of the old platform become values of the new one.
    pub mapping: Mapping,
    /// The two-way bridge while both platforms are live.
    #[serde(default)]
    pub sync: SyncSettings,
    /// Every way contacts reach the organisation (none in a backfill-only plan).
    #[serde(default)]
    pub channels: Vec<Channel>,
    /// The steps of the move, in order (none in a backfill-only plan: `backfill`, `verify` and
    /// `inventory` need none; the commands that switch ask for them).
    #[serde(default)]
    pub waves: Vec<Wave>,
    /// How KPI baselines are computed.
    #[serde(default)]
    pub baseline: Baseline,
    /// What is watched, and what happens when it goes wrong.
    #[serde(default)]
    pub alerts: Vec<Alert>,
    /// How the alerts are evaluated and how people are paged.
    #[serde(default)]
    pub monitor: Monitor,
    /// The people named by gates and alerts, by their id in the plan.
    #[serde(default)]
    pub people: BTreeMap<String, Person>,
    /// Messages sent ahead of waves.
    #[serde(default)]
    pub notices: Vec<Notice>,
    /// Snapshots taken before and during the move.
    #[serde(default)]
    pub backup: Backup,
    /// The review windows after the last wave.
    #[serde(default)]
    pub review: Review,
    /// The service-level target staffing is computed for (Erlang C, in `cutover report`).
    #[serde(default)]
    pub staffing: Staffing,
}

impl Plan {
    /// The platform on one side.
    pub fn platform(&self, side: Side) -> &Platform {
        match side {
            Side::Old => &self.old,
            Side::New => &self.new,
        }
    }

    /// The wave with this name, with its index.
    pub fn wave(&self, name: &str) -> Option<(usize, &Wave)> {
        self.waves
            .iter()
            .enumerate()
            .find(|(_, wave)| wave.name == name)
    }

    /// Refuses, for `command` (e.g. `cutover go`), a plan without waves (a backfill-only one),
    /// saying what to add.
    pub fn require_waves(&self, command: &str) -> Result<(), crate::PlanError> {
        if self.waves.is_empty() {
            return Err(crate::PlanError::NoWaves {
                command: command.to_owned(),
            });
        }
        Ok(())
    }

    /// One line about the plan, e.g. `zendesk to freshdesk: 3 waves over 4 channels, 3 alerts`.
    pub fn summary(&self) -> String {
        format!(
            "{} to {}: {} wave(s) over {} channel(s), {} alert(s), {} notice(s); the plan is sound",
            self.old.platform,
            self.new.platform,
            self.waves.len(),
            self.channels.len(),
            self.alerts.len(),
            self.notices.len()
        )
    }
}

/// One platform account and how cutover reaches it. Holds the *names* of the environment
/// variables with the credentials, never the credentials.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Platform {
    /// Which platform.
    pub platform: PlatformKind,
    /// The account's base URL.
    pub url: BaseUrl,
    /// The variable holding the agent e-mail the API token belongs to (Zendesk only).
    #[serde(default)]
    pub email_env: Option<EnvVarName>,
    /// The variable holding the API token (Zendesk, Zammad) or API key (Freshdesk).
    pub token_env: EnvVarName,
    /// The account's API rate limit.
    pub requests_per_minute: u32,
    /// The share of that limit cutover may use, leaving the rest to other integrations.
    #[serde(default)]
    pub share: Fraction,
}

impl Platform {
    /// The requests per minute cutover may spend: the limit times the share, at least one.
    pub fn budget_per_minute(&self) -> u32 {
        let budget = (f64::from(self.requests_per_minute) * self.share.get()).floor();
        // In range: share is in (0, 1], so the budget is at most the u32 limit.
        (budget as u32).max(1)
    }
}

/// What is copied, and how.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CopySettings {
    /// The kinds of record to copy; default: all.
    #[serde(default = "all_kinds")]
    pub kinds: Vec<RecordKind>,
    /// Copy history created on or after this day only; default: all history.
    #[serde(default)]
    pub since: Option<NaiveDate>,
    /// What happens to images embedded in bodies.
    #[serde(default = "default_inline_images")]
    pub inline_images: InlineImages,
    /// Where the original id, time and author go when the new platform cannot backdate.
    #[serde(default)]
    pub keep_original: Option<KeepOriginal>,
    /// The user confirms that the new platform's own e-mails to requesters on ticket creation
    /// (Freshdesk's "New Ticket Created" acknowledgement, which its API cannot switch off) are
    /// off. A backfill into such a platform refuses to start without it.
    #[serde(default)]
    pub target_notifications_off: bool,
}

impl Default for CopySettings {
    fn default() -> Self {
        CopySettings {
            kinds: all_kinds(),
            since: None,
            inline_images: default_inline_images(),
            keep_original: None,
            target_notifications_off: false,
        }
    }
}

fn all_kinds() -> Vec<RecordKind> {
    RecordKind::ALL.to_vec()
}

fn default_inline_images() -> InlineImages {
    InlineImages::Rehost
}

/// Where original ids, times and authors travel on a platform that cannot take them directly.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeepOriginal {
    /// A custom field on the new platform that receives the old id.
    #[serde(default)]
    pub id_field: Option<String>,
    /// Whether each copied comment starts with a line naming its original author and time.
    #[serde(default = "yes")]
    pub note_header: bool,
}

fn yes() -> bool {
    true
}

/// The mapping tables: old value = new value, or `"drop"`. The default maps nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// Ticket statuses; every old status is mapped.
    pub statuses: BTreeMap<String, Target>,
    /// Ticket priorities; every old priority is mapped.
    pub priorities: BTreeMap<String, Target>,
    /// Agent roles; every old built-in role is mapped.
    pub roles: BTreeMap<String, Target>,
    /// Groups (departments) by name.
    #[serde(default)]
    pub groups: BTreeMap<String, Target>,
    /// The way back for groups only the new platform has (made there during the parallel run,
    /// which `groups` cannot name: its keys are the old account's): new group = old group,
    /// `"create"` (the bridge creates it on the old platform under its new name) or `"drop"`
    /// (tickets in it reach the old side without it). A group `groups` maps onto already goes
    /// back by that line; one named here goes back by this one.
    #[serde(default)]
    pub new_groups: BTreeMap<String, Target>,
    /// How agents are matched.
    #[serde(default)]
    pub agents: AgentMapping,
    /// Custom fields: old field name = new field name.
    #[serde(default)]
    pub fields: BTreeMap<String, Target>,
    /// Ticket types by name. Absent (a plan written before cutover mapped types): each type is
    /// carried under its own name and the new platform leaves one it lacks empty. Present
    /// (discovery writes it): every old type must have a line.
    #[serde(default)]
    pub ticket_types: Option<BTreeMap<String, Target>>,
    /// Brands (Zendesk) or products (Freshdesk) by name. Absent (a plan written before cutover
    /// carried brands, or written offline): no ticket's brand is carried, and the new platform
    /// gives its copy its default (Zendesk) or none (Freshdesk). Present (discovery writes
    /// it): every old brand must have a line.
    #[serde(default)]
    pub brands: Option<BTreeMap<String, Target>>,
    /// The new platform's group given to tickets whose own group is not carried (dropped, or
    /// left out of `[copy] kinds`); none: such tickets go without a group.
    #[serde(default)]
    pub unmatched_group: Option<String>,
}

/// How old agents are found on the new platform.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentMapping {
    /// What identifies the same person on both sides.
    #[serde(default = "default_match_by")]
    pub match_by: MatchBy,
    /// The author of history written by agents who are not on the new platform.
    #[serde(default)]
    pub unmatched: Option<Email>,
    /// Agents matched by hand: old e-mail or name = new one, or `"drop"`.
    #[serde(default)]
    pub overrides: BTreeMap<String, Target>,
}

impl Default for AgentMapping {
    fn default() -> Self {
        AgentMapping {
            match_by: default_match_by(),
            unmatched: None,
            overrides: BTreeMap::new(),
        }
    }
}

fn default_match_by() -> MatchBy {
    MatchBy::Email
}

/// The bridge while both platforms are live.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncSettings {
    /// Which way changes flow.
    #[serde(default = "default_directions")]
    pub directions: Directions,
    /// How often each side is polled, behind webhooks.
    #[serde(default = "default_poll_every")]
    pub poll_every: Duration,
    /// The variable holding the secret that signs the platforms' webhooks.
    #[serde(default)]
    pub webhook_secret_env: Option<EnvVarName>,
    /// Who wins a field changed on both sides.
    #[serde(default = "default_conflicts")]
    pub conflicts: ConflictRule,
    /// Per-field exceptions to `conflicts`, by the new platform's field name.
    #[serde(default)]
    pub field_policy: BTreeMap<String, ConflictRule>,
    /// How often `cutover serve` runs a full verify beside the bridge; what it finds differing
    /// or missing is read again by the bridge and repaired.
    #[serde(default = "default_verify_every")]
    pub verify_every: Duration,
    /// How often `cutover serve` re-checks the records changed lately (the rolling re-check);
    /// what differs is read again by the bridge and repaired.
    #[serde(default = "default_recheck_every")]
    pub recheck_every: Duration,
    /// How far back the rolling re-check looks for records changed lately.
    #[serde(default = "default_recheck_window")]
    pub recheck_window: Duration,
    /// The user's confirmation that the requester e-mail notifications are switched off on
    /// every platform the bridge writes into whose API cannot switch them off (Freshdesk:
    /// Admin > Email Notifications). Without it, `serve` and `sync setup` refuse.
    #[serde(default)]
    pub notifications_off: bool,
    /// How long `cutover wave start` may wait for the forward bridge to drain while a wave's
    /// contacts are held, counted from the moment the old platform's change feed can show the
    /// hold (Zendesk's incremental exports leave out their last minute); past it the switch
    /// aborts itself and routing stays where it was.
    #[serde(default = "default_switch_timeout")]
    pub switch_timeout: Duration,
}

impl Default for SyncSettings {
    fn default() -> Self {
        SyncSettings {
            directions: default_directions(),
            poll_every: default_poll_every(),
            webhook_secret_env: None,
            conflicts: default_conflicts(),
            field_policy: BTreeMap::new(),
            verify_every: default_verify_every(),
            recheck_every: default_recheck_every(),
            recheck_window: default_recheck_window(),
            notifications_off: false,
            switch_timeout: default_switch_timeout(),
        }
    }
}

fn default_switch_timeout() -> Duration {
    Duration::default_of_secs(30)
}

fn default_verify_every() -> Duration {
    Duration::default_of_secs(7 * 86_400)
}

fn default_recheck_every() -> Duration {
    Duration::default_of_secs(5 * 60)
}

fn default_recheck_window() -> Duration {
    Duration::default_of_secs(3600)
}

fn default_directions() -> Directions {
    Directions::Both
}

fn default_poll_every() -> Duration {
    Duration::default_of_secs(60)
}

fn default_conflicts() -> ConflictRule {
    ConflictRule::OwnerThenLatest
}

/// A way contacts reach the organisation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Channel {
    /// The name waves use.
    pub name: String,
    /// What kind of channel it is.
    pub kind: ChannelKind,
    /// The support addresses (e-mail channels).
    #[serde(default)]
    pub addresses: Vec<Email>,
    /// Where calls go when neither platform answers (voice channels).
    #[serde(default)]
    pub fallback_number: Option<String>,
    /// The number the gateway forwards a call to while its caller is routed to the old side
    /// (voice channels).
    #[serde(default)]
    pub old_number: Option<String>,
    /// The number the gateway forwards a call to while its caller is routed to the new side
    /// (voice channels).
    #[serde(default)]
    pub new_number: Option<String>,
    /// The environment variable holding the verify token WhatsApp's webhook set-up sends
    /// (`hub.verify_token`), whatsapp channels.
    #[serde(default)]
    pub verify_token_env: Option<EnvVarName>,
    /// The environment variable holding the app secret WhatsApp signs each delivery with
    /// (`X-Hub-Signature-256`), whatsapp channels.
    #[serde(default)]
    pub app_secret_env: Option<EnvVarName>,
    /// The side every contact of this channel goes to while it is switched to its backup
    /// (by the `backup_channel` alert action or `cutover channel backup`), whatever the waves
    /// say; without it the channel has no backup.
    #[serde(default)]
    pub backup: Option<Side>,
}

/// A step of the move: what belongs to the new side once it has run (waves add up).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wave {
    /// A unique name.
    pub name: String,
    /// The channels this wave moves.
    pub channels: Vec<String>,
    /// The groups this wave moves.
    pub groups: GroupSelection,
    /// The agents this wave moves; default: the members of its groups.
    #[serde(default)]
    pub agents: AgentSelection,
    /// The share of customers routed to the new side after this wave (sticky per customer).
    pub customers: Percent,
    /// When the switch may happen.
    #[serde(default)]
    pub window: Option<Window>,
    /// What must hold before the wave starts.
    pub gates: Gates,
}

/// A weekly window in a time zone.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// Start.
    pub from: WeekTime,
    /// End.
    pub to: WeekTime,
    /// The zone both times are in.
    pub tz: TimeZoneName,
}

/// Go/no-go criteria of a wave: measurements plus a named human sign-off.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gates {
    /// A clean record-by-record verification is required.
    #[serde(default = "yes")]
    pub verify_clean: bool,
    /// The sync lag, each way, must be below this.
    #[serde(default)]
    pub max_sync_lag: Option<Duration>,
    /// The KPIs must have stayed within their alert bounds for this long.
    #[serde(default)]
    pub kpis_within_bounds: Option<Duration>,
    /// A rollback drill must have been done.
    #[serde(default)]
    pub rollback_drill: bool,
    /// The people (ids in `[people]`) who must sign off; at least one.
    pub sign_off: Vec<String>,
}

/// How baselines are computed: the same hour of the week over previous weeks.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// How many previous weeks.
    #[serde(default = "default_weeks")]
    pub weeks: u32,
}

impl Default for Baseline {
    fn default() -> Self {
        Baseline {
            weeks: default_weeks(),
        }
    }
}

fn default_weeks() -> u32 {
    4
}

/// A KPI watched against its baseline, and what happens when it drifts.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alert {
    /// The KPI.
    pub kpi: Kpi,
    /// How much worse than the baseline counts as a breach.
    pub worse_than_baseline: Deviation,
    /// How long the breach must last.
    pub sustained: Duration,
    /// Fewer samples than this is inconclusive (paged, and per `[monitor] on_inconclusive`
    /// the wave paused; never a pass).
    #[serde(default = "default_min_samples")]
    pub min_samples: u32,
    /// What happens.
    pub then: AlertAction,
    /// Who is told (ids in `[people]`).
    pub notify: Vec<String>,
}

fn default_min_samples() -> u32 {
    20
}

/// How the alerts are evaluated (by the leading `cutover serve`) and how people are paged.
/// Secrets (the SMTP password, the webhook URLs) are named by environment variable only.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Monitor {
    /// How often the alerts are evaluated.
    #[serde(default = "default_monitor_every")]
    pub every: Duration,
    /// Whether an alert whose action is `rollback_wave` may roll the wave back without a
    /// person's sign-off; by default it pauses the wave and pages, and a person runs
    /// `cutover rollback`.
    #[serde(default)]
    pub rollback_without_sign_off: bool,
    /// What an inconclusive alert of a `pause_wave` or `rollback_wave` rule does: page only
    /// (the default), or pause the running wave too.
    #[serde(default)]
    pub on_inconclusive: OnInconclusive,
    /// The SMTP relay's host; without it no e-mail is sent.
    #[serde(default)]
    pub smtp_host: Option<String>,
    /// The SMTP relay's port.
    #[serde(default = "default_smtp_port")]
    pub smtp_port: u16,
    /// How the connection to the relay is secured.
    #[serde(default)]
    pub smtp_tls: SmtpTls,
    /// The sender of pages.
    #[serde(default)]
    pub smtp_from: Option<Email>,
    /// The environment variable holding the relay's user name.
    #[serde(default)]
    pub smtp_user_env: Option<EnvVarName>,
    /// The environment variable holding the relay's password.
    #[serde(default)]
    pub smtp_password_env: Option<EnvVarName>,
    /// The environment variable holding a Slack incoming webhook's URL.
    #[serde(default)]
    pub slack_webhook_env: Option<EnvVarName>,
    /// The environment variable holding a Microsoft Teams incoming webhook's URL.
    #[serde(default)]
    pub teams_webhook_env: Option<EnvVarName>,
}

impl Default for Monitor {
    fn default() -> Self {
        Monitor {
            every: default_monitor_every(),
            rollback_without_sign_off: false,
            on_inconclusive: OnInconclusive::default(),
            smtp_host: None,
            smtp_port: default_smtp_port(),
            smtp_tls: SmtpTls::default(),
            smtp_from: None,
            smtp_user_env: None,
            smtp_password_env: None,
            slack_webhook_env: None,
            teams_webhook_env: None,
        }
    }
}

fn default_monitor_every() -> Duration {
    Duration::default_of_secs(60)
}

fn default_smtp_port() -> u16 {
    587
}

/// Someone named by gates and alerts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    /// Full name.
    pub name: String,
    /// Where alerts and sign-off requests go.
    pub email: Email,
    /// What they may do.
    pub role: AccessRole,
}

/// A message sent ahead of a wave.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notice {
    /// The wave it announces.
    pub before_wave: String,
    /// How long before the wave it goes out.
    pub lead: Duration,
    /// Who it is for.
    pub to: Audience,
    /// How it reaches them.
    pub via: Vec<NoticeVia>,
    /// The text; `{date}`, `{time}` and `{wave}` are filled in.
    pub template: String,
}

/// Snapshots of the old platform.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backup {
    /// A full, checksummed snapshot before the first wave.
    #[serde(default = "yes")]
    pub full_before_first_wave: bool,
    /// Incremental snapshots during the move.
    #[serde(default = "default_incremental_every")]
    pub incremental_every: Duration,
    /// How long snapshots are kept before they are pruned.
    #[serde(default = "default_keep")]
    pub keep: Duration,
    /// The folder snapshots are written to.
    #[serde(default = "default_backup_dir")]
    pub dir: PathBuf,
}

impl Default for Backup {
    fn default() -> Self {
        Backup {
            full_before_first_wave: true,
            incremental_every: default_incremental_every(),
            keep: default_keep(),
            dir: default_backup_dir(),
        }
    }
}

fn default_incremental_every() -> Duration {
    Duration::default_of_secs(3_600)
}

fn default_keep() -> Duration {
    Duration::default_of_secs(30 * 86_400)
}

fn default_backup_dir() -> PathBuf {
    PathBuf::from("backups")
}

/// The review windows after the last wave, from its end: KPIs before vs after.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Review {
    /// Watched closely: every alert pages.
    #[serde(default = "default_intensive")]
    pub intensive: Duration,
    /// Watched daily.
    #[serde(default = "default_heightened")]
    pub heightened: Duration,
    /// The final review; after it the old platform may be switched off.
    #[serde(default = "default_final", rename = "final")]
    pub final_review: Duration,
}

impl Default for Review {
    fn default() -> Self {
        Review {
            intensive: default_intensive(),
            heightened: default_heightened(),
            final_review: default_final(),
        }
    }
}

fn default_intensive() -> Duration {
    Duration::default_of_secs(72 * 3_600)
}

fn default_heightened() -> Duration {
    Duration::default_of_secs(14 * 86_400)
}

fn default_final() -> Duration {
    Duration::default_of_secs(30 * 86_400)
}

/// The service-level target of staffing per hour (Erlang C): `cutover report` gives the agents
/// each hour of the week needs to meet it.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Staffing {
    /// The share of contacts answered within a time.
    #[serde(default = "default_service_level")]
    pub service_level: ServiceLevel,
    /// How long an agent spends on a contact, on average.
    #[serde(default = "default_handle_time")]
    pub handle_time: Duration,
}

impl Default for Staffing {
    fn default() -> Self {
        Staffing {
            service_level: default_service_level(),
            handle_time: default_handle_time(),
        }
    }
}

fn default_service_level() -> ServiceLevel {
    ServiceLevel::DEFAULT
}

fn default_handle_time() -> Duration {
    Duration::default_of_secs(6 * 60)
}
