//! A move between emulated platforms, shared by `cutover demo` and `cutover bench backfill`:
//! start an old Zendesk emulator with generated data and an empty new one (Zendesk or
//! Freshdesk), and write the plan a user would write for them (`cutover init`, then the old
//! account's groups and custom fields mapped to the same names on the new side, the budget as
//! the emulators allow). A budget above any real Zendesk account's limit also lifts the Zendesk
//! connector's per-endpoint limits (see `cutover_engine::connector`).

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use cutover_connect::Connector;
use cutover_control::Plan;
use cutover_control::plan::init::{InitOptions, render};
use cutover_model::{PlatformKind, Side};
use cutover_sim::freshdesk::{self, FreshdeskOptions, FreshdeskSim};
use cutover_sim::zendesk::{App, ZendeskOptions, ZendeskSim};
use cutover_sim::{AccountProfile, SimHandle};
use serde_json::Value;

use crate::exit::{Class, fail};

/// The API token every emulator accepts by default.
pub(crate) const SIM_TOKEN: &str = "sim-token";
/// The admin e-mail the emulator's token belongs to.
pub(crate) const SIM_EMAIL: &str = "admin@example.com";

/// The kinds a Zendesk-to-Zendesk rehearsal copies, parents first.
const KINDS: &str =
    r#"kinds = ["organization", "contact", "group", "agent", "custom_field", "ticket", "comment"]"#;

/// The kinds a Zendesk-to-Freshdesk rehearsal copies, parents first: attachments too, since
/// their bytes are re-uploaded to Freshdesk.
const KINDS_TO_FRESHDESK: &str = r#"kinds = ["organization", "contact", "group", "agent", "custom_field", "ticket", "comment", "attachment"]"#;

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
        // The plain account until discovery can read a realistic one (issue 11).
        profile: AccountProfile::Plain,
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
    let opts = FreshdeskOptions {
        seed,
        tickets: 0,
        // The plain account until discovery can read a realistic one (issue 11).
        profile: AccountProfile::Plain,
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
/// into `path`: the `cutover init` template, with the copied kinds, the budget `rpm` on both
/// sides (share 1), every group of the old account mapped to the same name and every custom
/// ticket field to the same title (Freshdesk's `cf_` name of it into Freshdesk).
pub(crate) async fn write_plan_to(
    path: &Path,
    old_url: &str,
    new_url: &str,
    to: PlatformKind,
    rpm: u32,
) -> anyhow::Result<()> {
    let mut text = render(&InitOptions {
        from: PlatformKind::Zendesk,
        to,
        old_url: Some(old_url.to_owned()),
        new_url: Some(new_url.to_owned()),
    });
    let kinds = text
        .find("kinds = [")
        .and_then(|start| Some((start, start + text[start..].find("]\n")? + 1)))
        .ok_or_else(|| {
            fail(
                Class::Internal,
                "the plan template has no [copy] kinds list",
            )
        })?;
    let kinds_line = match to {
        PlatformKind::Freshdesk => KINDS_TO_FRESHDESK,
        _ => KINDS,
    };
    text.replace_range(kinds.0..kinds.1, kinds_line);
    let budget = format!("requests_per_minute = {rpm}");
    text = text
        .replace("requests_per_minute = 700", &budget)
        .replace("requests_per_minute = 400", &budget)
        .replace("share = 0.8", "share = 1.0")
        // The emulated target's "new ticket" acknowledgement is off (see `freshdesk`).
        .replace(
            "# target_notifications_off = true",
            "target_notifications_off = true",
        );
    let client = reqwest::Client::new();
    let mut groups = String::new();
    for name in list(&client, old_url, "groups", "name", |_| true).await? {
        if !text.contains(&format!("{name:?} = ")) {
            groups.push_str(&format!("{name:?} = {name:?}\n"));
        }
    }
    let mut fields = String::new();
    let custom = |field: &Value| field.get("removable") == Some(&Value::Bool(true));
    for title in list(&client, old_url, "ticket_fields", "title", custom).await? {
        if !text.contains(&format!("{title:?} = ")) {
            let name = match to {
                PlatformKind::Freshdesk => {
                    cutover_control::plan::init::freshdesk_field_name(&title)
                }
                _ => title.clone(),
            };
            fields.push_str(&format!("{title:?} = {name:?}\n"));
        }
    }
    text = insert_after_line(&text, "[mapping.groups]", &groups)?;
    text = insert_after_line(&text, "[mapping.fields]", &fields)?;
    tokio::fs::write(path, text)
        .await
        .with_context(|| format!("write {}", path.display()))?;
    Ok(())
}

/// The `field` of every record an emulator lists at `/api/v2/{what}.json` that `keep` accepts.
async fn list(
    client: &reqwest::Client,
    base: &str,
    what: &str,
    field: &str,
    keep: impl Fn(&Value) -> bool,
) -> anyhow::Result<Vec<String>> {
    let url = format!("{base}/api/v2/{what}.json");
    let body: Value = client
        .get(&url)
        .basic_auth(format!("{SIM_EMAIL}/token"), Some(SIM_TOKEN))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .with_context(|| format!("list {url}"))?
        .json()
        .await
        .with_context(|| format!("read the list at {url}"))?;
    Ok(body
        .get(what)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|item| keep(item))
        .filter_map(|item| item.get(field).and_then(Value::as_str).map(str::to_owned))
        .collect())
}

/// `text` with `insert` added after the line that starts with `line`.
fn insert_after_line(text: &str, line: &str, insert: &str) -> anyhow::Result<String> {
    let end = text
        .find(line)
        .and_then(|at| Some(at + text[at..].find('\n')? + 1))
        .ok_or_else(|| fail(Class::Internal, format!("the plan template has no {line}")))?;
    Ok(format!("{}{insert}{}", &text[..end], &text[end..]))
}
