//! The commented plan `cutover init` writes: the story of the move, top to bottom, with every
//! built-in status, priority and role of the old platform already mapped to the new one.
//!
//! The text holds the *names* of environment variables, never a credential; a URL given with a
//! user name or password in it is written without them.

use cutover_model::accounts::Accounts;
use cutover_model::{PlatformKind, RecordKind, Side};

use crate::plan::discovered;

use crate::plan::rules::mapping::toml_pair;
use crate::plan::rules::platforms::needs_email;
use crate::plan::vocab::{Vocabulary, suggest_unshared};

/// What `cutover init` was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitOptions {
    /// The platform the organisation is leaving.
    pub from: PlatformKind,
    /// The platform the organisation is moving to.
    pub to: PlatformKind,
    /// The old account's base URL; default: the platform's example URL.
    pub old_url: Option<String>,
    /// The new account's base URL; default: the platform's example URL.
    pub new_url: Option<String>,
}

/// The column trailing comments start at, so they read as a second column.
const COMMENT_COLUMN: usize = 36;

/// What a person asks of the plan beyond the defaults (`cutover init`'s flags).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tuning {
    /// Both accounts' rate limit, all of it cutover's (`share = 1.0`); default: each platform's
    /// usual plan, 80 % of it.
    pub requests_per_minute: Option<u32>,
    /// The kinds to copy; default: every kind.
    pub kinds: Option<Vec<RecordKind>>,
    /// The new platform's e-mails to requesters on ticket creation are confirmed off.
    pub notifications_off: bool,
    /// A backfill-only plan: no channels, waves, alerts, people or notices (`cutover init
    /// --backfill-only`); the commands that switch traffic ask for them when they run.
    pub backfill_only: bool,
}

/// What `cutover init` learned of the two accounts.
#[derive(Debug, Clone, Copy)]
pub enum Discovery<'a> {
    /// Both accounts were read: the mapping tables are written from what they hold.
    Found(&'a Accounts),
    /// They were not read (the reason says why): the template's examples stand.
    Skipped(&'a str),
}

/// Renders the plan without reading the accounts: the template, with examples where the
/// accounts' own groups, fields and agents go. The result passes `plan check` for every pair of
/// different platforms (given valid URLs).
pub fn render(options: &InitOptions) -> String {
    render_with(options, &Tuning::default(), None)
}

/// Renders the plan from what discovery found (or why it did not run), as `tuning` asks.
pub fn render_discovered(
    options: &InitOptions,
    tuning: &Tuning,
    discovery: Discovery<'_>,
) -> String {
    render_with(options, tuning, Some(discovery))
}

fn render_with(options: &InitOptions, tuning: &Tuning, discovery: Option<Discovery<'_>>) -> String {
    let mut doc = Doc::default();
    header(&mut doc, options);
    let accounts = match discovery {
        Some(Discovery::Found(accounts)) => {
            discovered::note(&mut doc, accounts);
            Some(accounts)
        }
        Some(Discovery::Skipped(why)) => {
            doc.line(&format!(
                "# Discovery was skipped: {why}. The groups, custom fields and agents below are"
            ));
            doc.line("# examples: `cutover plan refresh` reads both accounts and adds their own.");
            None
        }
        None => None,
    };
    for side in Side::BOTH {
        platform(&mut doc, options, tuning, side);
    }
    copy(&mut doc, options, tuning);
    mapping(&mut doc, options, accounts);
    match accounts {
        Some(accounts) => discovered::groups_agents_fields(&mut doc, accounts),
        None => groups_agents_fields(&mut doc, options),
    }
    sync(&mut doc, options, accounts);
    if tuning.backfill_only {
        doc.section("6. Backfill only");
        doc.line("# This plan copies history and proves it (`cutover backfill`, `cutover verify`); it switches");
        doc.line("# no traffic, so it has no [[channels]], [[waves]], [[alerts]], [people] or [[notices]]. The");
        doc.line("# commands that switch (`serve`, `wave`, `go`, `gates`, `rollback`, `drill`) ask for them:");
        doc.line("# `cutover init` without --backfill-only writes them, to copy from.");
        return doc.text;
    }
    channels(&mut doc, accounts);
    waves(&mut doc, options, accounts);
    watching(&mut doc);
    people_and_notices(&mut doc);
    safety(&mut doc, options);
    doc.text
}

/// A plan being written: lines, `key = value` with aligned comments, and section rules.
#[derive(Debug, Default)]
pub(crate) struct Doc {
    text: String,
}

impl Doc {
    pub(crate) fn line(&mut self, line: &str) {
        self.text.push_str(line);
        self.text.push('\n');
    }

    /// The text written so far.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    pub(crate) fn blank(&mut self) {
        self.text.push('\n');
    }

    /// `line`, followed by `# comment` at the comment column.
    pub(crate) fn with_comment(&mut self, line: &str, comment: &str) {
        let width = line.chars().count();
        let pad = if width + 1 < COMMENT_COLUMN {
            COMMENT_COLUMN - width
        } else {
            2
        };
        self.line(&format!("{line}{:pad$}# {comment}", ""));
    }

    /// `line`, with the comment only when `show` (the first of several alike entries).
    fn comment_if(&mut self, show: bool, line: &str, comment: &str) {
        if show {
            self.with_comment(line, comment)
        } else {
            self.line(line)
        }
    }

    fn section(&mut self, title: &str) {
        if !self.text.ends_with("\n\n") {
            self.blank();
        }
        let rule = "─".repeat(96usize.saturating_sub(title.chars().count() + 6));
        self.line(&format!("# ── {title} {rule}"));
    }
}

/// A TOML basic string.
pub(crate) fn quote(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            c if c.is_control() => quoted.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

fn header(doc: &mut Doc, options: &InitOptions) {
    let (from, to) = (options.from, options.to);
    doc.line(&format!(
        "# cutover.toml: the plan for moving customer service from {from} to {to}"
    ));
    doc.line(
        "# without downtime. Every cutover command reads it. Read it top to bottom, adjust it to",
    );
    doc.line(
        "# your account (`cutover inventory` shows what is there), then run `cutover plan check`:",
    );
    doc.line("# it reports every mistake at once, by file, line and key.");
    doc.line("#");
    doc.line("# Values with units:");
    doc.line("#   durations    a whole number and one unit: \"90s\", \"15m\" (minutes), \"24h\", \"7d\", \"2w\".");
    doc.line("#                \"m\" always means minutes; months have no fixed length, so write \"30d\".");
    doc.line("#   percentages  a number and a percent sign: \"5%\", \"12.5%\".");
    doc.line("# Every key, its type and its default: docs/plan.md.");
    doc.blank();
    doc.line("version = 1");
    doc.line(&format!(
        "name = {}",
        quote(&format!("acme: {from} to {to}"))
    ));
}

fn platform(doc: &mut Doc, options: &InitOptions, tuning: &Tuning, side: Side) {
    let (kind, url) = match side {
        Side::Old => (options.from, options.old_url.as_deref()),
        Side::New => (options.to, options.new_url.as_deref()),
    };
    if side == Side::Old {
        doc.section("1. The two platforms");
        doc.line("# Secrets never live here: only the names of the environment variables that hold them.");
        doc.line("# Set those variables before running cutover.");
    }
    doc.blank();
    doc.line(&format!("[{side}]"));
    let what = if side == Side::Old {
        "the platform you are leaving"
    } else {
        "where you are going"
    };
    doc.with_comment(&format!("platform = {}", quote(kind.as_str())), what);
    let (url, removed) = url_without_credentials(url.unwrap_or(kind.example_url()));
    if removed {
        doc.line("# The URL you gave held credentials; they were left out: they belong in the variables below.");
    }
    doc.line(&format!("url = {}", quote(&url)));
    let upper = side.as_str().to_uppercase();
    if needs_email(kind) {
        let name = format!("CUTOVER_{upper}_EMAIL");
        doc.with_comment(
            &format!("email_env = {}", quote(&name)),
            "the agent e-mail the token belongs to",
        );
    }
    let name = format!("CUTOVER_{upper}_TOKEN");
    doc.with_comment(&format!("token_env = {}", quote(&name)), token_hint(kind));
    match tuning.requests_per_minute {
        Some(limit) => {
            doc.with_comment(&format!("requests_per_minute = {limit}"), "as asked");
            doc.with_comment("share = 1.0", "all of it cutover's");
        }
        None => {
            let (limit, limit_hint) = rate_limit(kind);
            doc.with_comment(&format!("requests_per_minute = {limit}"), limit_hint);
            doc.with_comment(
                "share = 0.8",
                "leave 20 % for the integrations already using the API",
            );
        }
    }
}

/// The URL with any user name and password removed, and whether there were any.
fn url_without_credentials(text: &str) -> (String, bool) {
    match url::Url::parse(text) {
        Ok(mut url) if !url.username().is_empty() || url.password().is_some() => {
            let cleared = url.set_username("").is_ok() && url.set_password(None).is_ok();
            if cleared {
                (url.to_string(), true)
            } else {
                (String::new(), true)
            }
        }
        _ => (text.to_owned(), false),
    }
}

fn token_hint(kind: PlatformKind) -> &'static str {
    match kind {
        PlatformKind::Zendesk => "an API token (Admin Center > Apps and integrations > APIs)",
        PlatformKind::Freshdesk => "the API key (Profile settings); Freshdesk needs no e-mail",
        PlatformKind::Zammad => "an access token (Profile > Token Access); no e-mail needed",
    }
}

fn rate_limit(kind: PlatformKind) -> (u32, &'static str) {
    match kind {
        PlatformKind::Zendesk => (
            700,
            "your plan's limit: Team 200, Growth/Professional 400, Enterprise 700",
        ),
        PlatformKind::Freshdesk => (
            400,
            "your plan's limit: Growth 200, Pro 400, Enterprise 700",
        ),
        PlatformKind::Zammad => (
            600,
            "Zammad sets no limit: what your server carries comfortably",
        ),
    }
}

fn copy(doc: &mut Doc, options: &InitOptions, tuning: &Tuning) {
    let to = options.to;
    doc.section("2. What is copied, and how");
    doc.line("# Kinds are copied in dependency order, whatever the order here. Remove what you would rather");
    doc.line(&format!("# rebuild by hand on {to}."));
    doc.line("[copy]");
    doc.line("kinds = [");
    let names: Vec<String> = RecordKind::ALL
        .iter()
        .filter(|kind| tuning.kinds.as_ref().is_none_or(|k| k.contains(kind)))
        .map(|kind| quote(kind.as_str()))
        .collect();
    let mut row = String::new();
    for name in names {
        if row.len() + name.len() > 88 {
            doc.line(&format!("  {}", row.trim_end()));
            row.clear();
        }
        row.push_str(&format!("{name}, "));
    }
    doc.line(&format!("  {}", row.trim_end().trim_end_matches(',')));
    doc.line("]");
    doc.with_comment(
        "# since = \"2021-01-01\"",
        "copy only newer history; the rest stays in the backup",
    );
    doc.with_comment(
        "inline_images = \"rehost\"",
        "upload embedded images to the new platform (\"link\" keeps old links)",
    );
    let field = quote(&custom_field(to, "original_id"));
    if to.can_backdate() {
        doc.line(&format!(
            "# {to} takes original times and authors through its import API; the old id is kept"
        ));
        doc.line("# in a custom field for tracing.");
        doc.line(&format!(
            "keep_original = {{ id_field = {field}, note_header = false }}"
        ));
    } else {
        doc.line(&format!("# {to} cannot backdate: the old id goes in a custom field, and each comment starts with a"));
        doc.line("# line naming its original author and time. History never e-mails a customer.");
        doc.line(&format!(
            "keep_original = {{ id_field = {field}, note_header = true }}"
        ));
        doc.line(&format!(
            "# Creating a ticket through {to}'s API may e-mail its requester (the \"New Ticket Created\""
        ));
        doc.line(&format!(
            "# acknowledgement), and the API cannot switch that off: switch it off in {to} (Admin >"
        ));
        doc.line("# Email Notifications), then confirm here. `cutover backfill` refuses to start until then.");
        if tuning.notifications_off {
            doc.line("target_notifications_off = true");
        } else {
            doc.line("# target_notifications_off = true");
        }
    }
}

/// A custom field's name as the platform spells it (Freshdesk prefixes `cf_`, Zendesk shows
/// titles).
/// Freshdesk's name of a custom field created with the label `title`: `cf_` and the title in
/// snake case (what a plan's `[mapping.fields]` maps an old field to).
pub fn freshdesk_field_name(title: &str) -> String {
    let snake: String = title
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("cf_{snake}")
}

fn custom_field(platform: PlatformKind, snake_name: &str) -> String {
    match platform {
        PlatformKind::Freshdesk => format!("cf_{snake_name}"),
        PlatformKind::Zammad => snake_name.to_owned(),
        PlatformKind::Zendesk => {
            let words = snake_name.replace('_', " ");
            let mut chars = words.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect())
                .unwrap_or_default()
        }
    }
}

fn mapping(doc: &mut Doc, options: &InitOptions, accounts: Option<&Accounts>) {
    let (from, to) = (options.from, options.to);
    doc.section(&format!("3. Mapping: how {from}'s values become {to}'s"));
    doc.line(&format!("# old value = new value. Every built-in value of {from} must appear. \"drop\" is an explicit"));
    doc.line(
        "# decision to leave something behind; `cutover inventory` lists it among the losses.",
    );
    for vocabulary in Vocabulary::ALL {
        doc.blank();
        doc.with_comment(
            &format!("[mapping.{}]", vocabulary.table()),
            &format!(
                "{to}'s {}: {}",
                vocabulary.table(),
                vocabulary.values(to).join(", ")
            ),
        );
        let mut taken = Vec::new();
        for value in vocabulary.values(from) {
            let suggestion = suggest_unshared(vocabulary, (from, to), value, &mut taken);
            let pair = toml_pair(value, suggestion.target);
            match suggestion.note {
                Some(note) => doc.with_comment(&pair, &note),
                None => doc.line(&pair),
            }
        }
        if let Some(accounts) = accounts {
            discovered::own_values(doc, vocabulary.table(), accounts);
        }
    }
}

fn groups_agents_fields(doc: &mut Doc, options: &InitOptions) {
    let (from, to) = (options.from, options.to);
    doc.blank();
    doc.line(
        "# Groups, agents and custom fields are your account's own: these are examples to replace",
    );
    doc.line("# with what `cutover inventory` lists. Waves name groups by either platform's name.");
    doc.with_comment("[mapping.groups]", "old group = new group");
    doc.line("\"Billing\" = \"Billing\"");
    doc.line("\"Tier 2\" = \"Escalations\"");
    doc.with_comment(
        "\"Legacy VIP\" = \"drop\"",
        "an explicit decision, listed in the inventory's losses",
    );
    doc.blank();
    doc.with_comment(
        "[mapping.new_groups]",
        "the way back for groups only the new account has: new group = old group",
    );
    doc.with_comment(
        "\"Night shift\" = \"create\"",
        "or an old group no line above carries, or \"drop\"",
    );
    doc.blank();
    doc.line("[mapping.agents]");
    doc.with_comment(
        "match_by = \"email\"",
        "the same person has the same address on both sides",
    );
    doc.with_comment(
        "unmatched = \"support-bot@acme.example\"",
        "author of history by agents who have left",
    );
    doc.blank();
    doc.with_comment(
        "[mapping.agents.overrides]",
        "agents whose address changed: old = new",
    );
    doc.line("\"jo@old-acme.example\" = \"jo@acme.example\"");
    doc.blank();
    doc.with_comment(
        "[mapping.fields]",
        &format!("custom ticket fields: {from} name = {to} name"),
    );
    let old_field = custom_field(from, "order_number");
    let new_field = custom_field(to, "order_number");
    doc.line(&format!("{} = {}", quote(&old_field), quote(&new_field)));
    let dropped = quote(&custom_field(from, "internal_score"));
    doc.with_comment(
        &format!("{dropped} = \"drop\""),
        "not needed after the move",
    );
    doc.blank();
    doc.line(
        "# Ticket types: without a [mapping.ticket_types] table each type is carried under its own",
    );
    doc.line(&format!(
        "# name, and {to} leaves a type it lacks empty. Discovery (`cutover plan refresh`) writes"
    ));
    doc.line("# the table: one line per type, then every type must have one.");
    doc.line(
        "# Brands (Zendesk) or products (Freshdesk): without a [mapping.brands] table no ticket's",
    );
    doc.line("# brand is carried; discovery writes the table, one line per brand.");
}

fn sync(doc: &mut Doc, options: &InitOptions, accounts: Option<&Accounts>) {
    let (from, to) = (options.from, options.to);
    doc.section("4. The bridge while both are live");
    doc.line(&format!(
        "# Changes flow both ways until the last wave, so {from} stays complete and a rollback"
    ));
    doc.line("# loses nothing.");
    doc.line("[sync]");
    doc.with_comment(
        "directions = \"both\"",
        "or \"old_to_new\" (no rollback without loss)",
    );
    doc.with_comment("poll_every = \"60s\"", "the safety net behind webhooks");
    doc.with_comment(
        "webhook_secret_env = \"CUTOVER_WEBHOOK_SECRET\"",
        "signs both platforms' webhooks",
    );
    doc.with_comment(
        "conflicts = \"owner_then_latest\"",
        "the wave's owning side wins a field, else the later writer",
    );
    doc.with_comment(
        "verify_every = \"7d\"",
        "a full verify beside the bridge; what differs is read again and repaired",
    );
    doc.with_comment(
        "recheck_every = \"5m\"",
        "re-checks the records changed lately, likewise",
    );
    doc.with_comment("recheck_window = \"1h\"", "how far back \"lately\" goes");
    doc.with_comment(
        "switch_timeout = \"30s\"",
        "a wave's switch aborts if the bridge has not drained by then",
    );
    match accounts {
        // A field policy names a mapped field; the accounts' own are decided below first.
        Some(_) => doc.with_comment(
            "field_policy = { status = \"old_wins\" }",
            &format!("{to} field = rule: exceptions"),
        ),
        None => {
            let field = toml_pair(&custom_field(to, "order_number"), "old_wins");
            doc.with_comment(
                &format!("field_policy = {{ {field} }}"),
                &format!("{to} field = rule: exceptions"),
            );
        }
    }
    if from == PlatformKind::Freshdesk || to == PlatformKind::Freshdesk {
        doc.line("# Freshdesk e-mails the requester when an agent adds a public note, solves or closes a");
        doc.line("# ticket, and its API cannot switch that off: each change the bridge carries there would");
        doc.line(
            "# reach the customer twice. Switch off its requester notifications (Admin > Email",
        );
        doc.line(
            "# Notifications), then set this to true; until then `serve` and `sync setup` refuse.",
        );
        doc.line("notifications_off = false");
    }
}

fn channels(doc: &mut Doc, accounts: Option<&Accounts>) {
    doc.section("5. Channels: how contacts reach you");
    doc.line("# The gateway routes each contact to one side, sticky per customer. Kinds: email, web_form,");
    doc.line("# chat, whatsapp, voice, sms, social, api.");
    let addresses = accounts.map(discovered::addresses);
    let email = match &addresses {
        Some(list) if !list.is_empty() => format!("addresses = [{list}]"),
        _ => "addresses = [\"support@acme.example\"]".to_owned(),
    };
    let entries: [(&str, &str, &str); 4] = [
        ("email", "email", email.as_str()),
        ("web", "web_form", ""),
        ("whatsapp", "whatsapp", ""),
        ("phone", "voice", "fallback_number = \"+44 20 7946 0000\""),
    ];
    for (name, kind, extra) in entries {
        doc.blank();
        doc.line("[[channels]]");
        doc.line(&format!("name = {}", quote(name)));
        doc.line(&format!("kind = {}", quote(kind)));
        if extra.starts_with("fallback") {
            doc.with_comment(extra, "where calls go if neither platform answers");
            doc.with_comment(
                "backup = \"old\"",
                "where its calls go while switched to its backup",
            );
        } else if !extra.is_empty() {
            doc.line(extra);
        }
    }
}

fn waves(doc: &mut Doc, options: &InitOptions, accounts: Option<&Accounts>) {
    let to = options.to;
    doc.section("6. The move, in waves");
    doc.line(&format!(
        "# Waves add up: what a wave moves stays on {to}, and the share of customers only grows,"
    ));
    doc.line("# to 100 % in the last wave. Every channel, group and agent is in some wave: `cutover plan");
    doc.line("# check` names what would stay behind. A wave starts only when its gates pass and a person");
    doc.line("# signed off: `cutover go --wave N --as ID`, then `cutover wave start N`; `cutover rollback N`.");
    let (pilot, second, note) = match accounts {
        Some(accounts) => discovered::wave_groups(accounts),
        None => (
            "[\"Billing\"]".to_owned(),
            "[\"Billing\", \"Escalations\"]".to_owned(),
            "\"Escalations\" is Tier 2's new name".to_owned(),
        ),
    };
    doc.blank();
    doc.line("[[waves]]");
    doc.line("name = \"pilot\"");
    doc.line("channels = [\"web\"]");
    doc.line(&format!("groups = {pilot}"));
    doc.with_comment(
        "agents = \"by_group\"",
        "the members of its groups; or \"all\", or a list of e-mails",
    );
    doc.with_comment(
        "customers = \"5%\"",
        "sticky: a customer's conversation never splits",
    );
    doc.line("window = { from = \"Tue 20:00\", to = \"Tue 23:00\", tz = \"Europe/London\" }");
    doc.line("[waves.gates]");
    doc.with_comment(
        "verify_clean = true",
        "every record reconciled on both sides",
    );
    doc.with_comment("max_sync_lag = \"30s\"", "each way");
    doc.with_comment(
        "rollback_drill = true",
        "a rollback rehearsed first: `cutover drill`",
    );
    doc.with_comment("sign_off = [\"ops-lead\"]", "people from [people] below");
    doc.blank();
    doc.line("[[waves]]");
    doc.line("name = \"email and whatsapp\"");
    doc.line("channels = [\"email\", \"whatsapp\"]");
    doc.with_comment(&format!("groups = {second}"), &note);
    doc.line("agents = \"by_group\"");
    doc.line("customers = \"50%\"");
    doc.line("[waves.gates]");
    doc.line("verify_clean = true");
    doc.line("max_sync_lag = \"30s\"");
    doc.with_comment("kpis_within_bounds = \"24h\"", "no alert fired for a day");
    doc.line("sign_off = [\"ops-lead\", \"cs-director\"]");
    doc.blank();
    doc.line("[[waves]]");
    doc.line("name = \"everyone\"");
    doc.line("channels = [\"email\", \"web\", \"whatsapp\", \"phone\"]");
    doc.line("groups = \"all\"");
    doc.with_comment(
        "agents = \"all\"",
        "agents in no group too: nothing stays behind",
    );
    doc.line("customers = \"100%\"");
    doc.line("[waves.gates]");
    doc.line("verify_clean = true");
    doc.line("kpis_within_bounds = \"72h\"");
    doc.line("sign_off = [\"cs-director\"]");
}

fn watching(doc: &mut Doc) {
    doc.section("7. Watching the service");
    doc.line("# KPIs are computed the same way on both sides and compared with the same hour of the week");
    doc.line("# in previous weeks. Too few samples is never good news: it is \"inconclusive\", and a person");
    doc.line("# is paged (set [monitor] on_inconclusive = \"pause\" to pause the wave as well).");
    doc.line("# KPIs: first_response_time, resolution_time, first_contact_resolution, wait_time, backlog,");
    doc.line("# reopen_rate, escalations, csat, nps, channel_availability.");
    doc.line("[baseline]");
    doc.with_comment(
        "weeks = 4",
        "the same hour of the week over the last four weeks",
    );
    let alerts: [(&str, &str, &str, &str, &str); 4] = [
        ("wait_time", "50%", "15m", "pause_wave", "ops-lead"),
        ("wait_time", "100%", "30m", "rollback_wave", "ops-lead"),
        ("csat", "10%", "24h", "notify", "cs-director"),
        ("first_response_time", "10%", "1h", "notify", "ops-lead"),
    ];
    for (idx, (kpi, worse, sustained, then, notify)) in alerts.into_iter().enumerate() {
        let first = idx == 0;
        doc.blank();
        doc.line("[[alerts]]");
        doc.line(&format!("kpi = {}", quote(kpi)));
        let worse = format!("worse_than_baseline = {}", quote(worse));
        doc.comment_if(
            first,
            &worse,
            "a deviation from the baseline; direction per KPI",
        );
        let sustained = format!("sustained = {}", quote(sustained));
        doc.comment_if(first, &sustained, "for this long");
        doc.comment_if(
            first,
            "min_samples = 20",
            "fewer is inconclusive: paged, never a pass",
        );
        let then = format!("then = {}", quote(then));
        doc.comment_if(
            first,
            &then,
            "notify | pause_wave | rollback_wave | backup_channel",
        );
        doc.line(&format!("notify = [{}]", quote(notify)));
    }
}

fn people_and_notices(doc: &mut Doc) {
    doc.section("8. People and notices");
    doc.line("# People named by gates and alerts. Roles on cutover's control plane: viewer, operator, admin.");
    let people = [
        ("ops-lead", "Dana Okafor", "dana@acme.example", "operator"),
        ("cs-director", "Lee Marchetti", "lee@acme.example", "admin"),
    ];
    for (id, name, email, role) in people {
        doc.line(&format!("[people.{id}]"));
        doc.line(&format!("name = {}", quote(name)));
        doc.line(&format!("email = {}", quote(email)));
        doc.line(&format!("role = {}", quote(role)));
        doc.blank();
    }
    doc.line("# Notices go out ahead of a wave. Templates may use {date}, {time} and {wave}.");
    let notices = [
        (
            "7d",
            "[\"email\", \"status_page\"]",
            "We are moving to a new support system on {date}. Nothing changes for you.",
        ),
        (
            "1d",
            "[\"status_page\", \"ivr\"]",
            "Tomorrow we switch support systems; replies may take a little longer.",
        ),
    ];
    for (idx, (lead, via, template)) in notices.into_iter().enumerate() {
        let first = idx == 0;
        doc.line("[[notices]]");
        doc.comment_if(first, "before_wave = \"everyone\"", "a wave's name");
        doc.comment_if(
            first,
            &format!("lead = {}", quote(lead)),
            "how long before the wave",
        );
        doc.comment_if(first, "to = \"customers\"", "customers | agents | everyone");
        doc.comment_if(
            first,
            &format!("via = {via}"),
            "email, status_page, ivr, chat_banner, sms",
        );
        doc.line(&format!("template = {}", quote(template)));
        doc.blank();
    }
}

fn safety(doc: &mut Doc, options: &InitOptions) {
    let from = options.from;
    doc.section("9. Safety and review");
    doc.line(&format!(
        "# Snapshots of {from}: checksummed (not yet: no command takes or restores one)."
    ));
    doc.line("[backup]");
    doc.line("full_before_first_wave = true");
    doc.line("incremental_every = \"1h\"");
    doc.with_comment("keep = \"30d\"", "then pruned");
    doc.with_comment("dir = \"backups\"", "relative to this file's folder");
    doc.blank();
    doc.line(
        "# Review windows run from the end of the last wave, comparing KPIs before and after (not",
    );
    doc.line(
        "# yet: no command reports them). \"m\" means minutes here too, so a month is \"30d\".",
    );
    doc.line("[review]");
    doc.with_comment("intensive = \"72h\"", "every alert pages");
    doc.with_comment("heightened = \"2w\"", "a daily look at the KPIs");
    doc.with_comment(
        "final = \"30d\"",
        &format!("the final review; then {from} can be switched off"),
    );
}

#[cfg(test)]
mod tests {
    use super::freshdesk_field_name;

    #[test]
    fn a_freshdesk_field_is_named_by_its_label_in_snake_case() {
        assert_eq!(freshdesk_field_name("Order number"), "cf_order_number");
        assert_eq!(freshdesk_field_name("VIP"), "cf_vip");
        assert_eq!(freshdesk_field_name("Région/pays"), "cf_r_gion_pays");
    }
}
