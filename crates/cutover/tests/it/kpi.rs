//! The continuity monitor's KPIs end to end with the real binary: a Zendesk account with two
//! years of generated history backfilled into an empty Freshdesk one, then `cutover kpi --json`
//! and `cutover baseline --json` give figures from that history (computed from the facts the
//! backfill recorded of each ticket), with sample sizes, and "inconclusive" where there are too
//! few, never a pass.

use chrono::{DateTime, Duration, Utc};
use cutover_sim::{freshdesk, zendesk};
use serde_json::Value;

use crate::bridge::{Bridge, Platform, json_of};

/// Tickets on the old account.
const TICKETS: usize = 150;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kpis_and_the_baseline_come_from_the_backfilled_history() {
    let bridge = Bridge::<zendesk::App, freshdesk::App>::backfilled_with(false, TICKETS).await;
    // The old account's tickets by its own API: when the last was created, how many are open.
    let mut tickets = Vec::new();
    let mut next = Some(String::from("tickets.json?per_page=100"));
    while let Some(path) = next.take() {
        let page = json_of(zendesk::App::get(bridge.old.url(), &path)).await;
        tickets.extend(page["tickets"].as_array().unwrap().iter().cloned());
        next = page["next_page"]
            .as_str()
            .and_then(|url| url.split("/api/v2/").nth(1))
            .map(str::to_owned);
    }
    assert_eq!(tickets.len(), TICKETS);
    let created =
        |t: &Value| -> DateTime<Utc> { t["created_at"].as_str().unwrap().parse().unwrap() };
    let last = tickets.iter().map(created).max().unwrap();
    let open = tickets
        .iter()
        .filter(|t| !matches!(t["status"].as_str(), Some("solved" | "closed")))
        .count();
    // The hour after the last ticket was created holds it.
    let at = (last + Duration::minutes(30)).to_rfc3339();

    let out = bridge
        .expect(0, &["kpi", "--json", "--at", &at, "--weeks", "104"])
        .await;
    let now: Value = serde_json::from_str(&out).unwrap();
    let sides = now["sides"].as_array().unwrap();
    assert_eq!(sides.len(), 2, "{now:#}");
    let old = sides.iter().find(|s| s["filter"]["side"] == "old").unwrap();
    let new = sides.iter().find(|s| s["filter"]["side"] == "new").unwrap();
    let kpi = |side: &Value, name: &str| -> Value {
        side["kpis"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name} in {side:#}"))
    };
    // The backlog then: every ticket open now, and some solved only later.
    let backlog = kpi(old, "backlog");
    let then = backlog["now"]["value"].as_f64().unwrap();
    assert!(then >= open as f64 && then <= TICKETS as f64, "{backlog:#}");
    // The last ticket was created in the window: a first reply or not, it is counted, and one
    // ticket is too few to compare.
    let escalations = kpi(old, "escalations");
    assert!(
        escalations["now"]["samples"].as_u64().unwrap() >= 1,
        "{escalations:#}"
    );
    assert_eq!(escalations["verdict"], "inconclusive", "{escalations:#}");
    // Nothing was opened on the new side (copies are not its customers' tickets): every KPI
    // with fewer samples than needed is inconclusive there, never a pass.
    for k in new["kpis"].as_array().unwrap() {
        if k["now"]["samples"].as_u64().unwrap() < 5 {
            assert_eq!(k["verdict"], "inconclusive", "{k:#}");
        }
    }
    assert_eq!(kpi(new, "first_reply_p50")["now"]["samples"], 0);
    // The API and channel KPIs are listed too: no `cutover serve` probed, no gateway took a
    // contact, so they have no samples and are inconclusive.
    for name in [
        "api_response_p90",
        "api_availability",
        "channel_availability",
    ] {
        let k = kpi(old, name);
        assert_eq!(k["now"]["samples"], 0, "{k:#}");
        assert_eq!(k["verdict"], "inconclusive", "{k:#}");
    }
    // Two months on, every ticket solved is solved by then: the backlog is exactly the old
    // account's open tickets, from the canonical records.
    let later = (last + Duration::days(60)).to_rfc3339();
    let out = bridge
        .expect(0, &["kpi", "--json", "--side", "old", "--at", &later])
        .await;
    let later: Value = serde_json::from_str(&out).unwrap();
    let backlog = kpi(&later["sides"][0], "backlog");
    assert_eq!(
        backlog["now"]["value"].as_f64(),
        Some(open as f64),
        "{backlog:#}"
    );
    assert_eq!(backlog["now"]["samples"].as_u64(), Some(open as u64));

    // The baseline over two years: per hour of the week, with sample sizes summing to the
    // history's.
    let out = bridge
        .expect(
            0,
            &[
                "baseline", "--json", "--side", "old", "--at", &at, "--weeks", "104",
            ],
        )
        .await;
    let baselines: Value = serde_json::from_str(&out).unwrap();
    let old = &baselines.as_array().unwrap()[0];
    let hours = old["hours"].as_array().unwrap();
    assert_eq!(hours.len(), 168);
    let total = |name: &str| -> u64 {
        hours
            .iter()
            .flat_map(|h| h["kpis"].as_array().unwrap())
            .filter(|k| k["name"] == name)
            .map(|k| k["samples"].as_u64().unwrap())
            .sum()
    };
    let solved = TICKETS - open;
    assert!(solved > 0);
    assert!(total("resolution_p50") > 0, "no resolution samples");
    assert!(total("resolution_p50") <= solved as u64);
    assert!(
        total("first_reply_p50") > 0,
        "no first replies in the history"
    );
    // Office hours on weekdays are busier than Sunday nights, as the history was generated.
    let created_in = |range: std::ops::Range<usize>| -> u64 {
        hours[range]
            .iter()
            .flat_map(|h| h["kpis"].as_array().unwrap())
            .filter(|k| k["name"] == "escalations")
            .map(|k| k["samples"].as_u64().unwrap())
            .sum()
    };
    assert!(created_in(8..18) > created_in(6 * 24..6 * 24 + 10), "{out}");

    // Without --weeks, the plan's [baseline] weeks (4 by default).
    let out = bridge
        .expect(0, &["baseline", "--json", "--side", "old", "--at", &at])
        .await;
    let plain: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(plain[0]["weeks"], 4);
}

/// The bridge records the facts of both sides: a ticket opened on the new side while `cutover
/// serve` runs is counted on the new side, and its copy on the old side is not counted there.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_bridge_records_tickets_opened_on_the_new_side() {
    let bridge = Bridge::<zendesk::App, freshdesk::App>::backfilled_with(false, 20).await;
    let served = bridge.serve(0).await;
    let opened: Value = reqwest::Client::new()
        .post(format!("{}/api/v2/tickets", bridge.new.url()))
        .basic_auth("sim-token", Some("X"))
        .json(&serde_json::json!({
            "subject": "Opened on the new side",
            "description": "Where is my parcel?",
            "email": "kpi.customer@example.com",
            "status": 2,
            "priority": 1
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = opened["id"].to_string();
    // Wait for the bridge to read it (it polls every second).
    let store = cutover_store::open(&bridge.store.parse().unwrap())
        .await
        .unwrap();
    let since = Utc::now() - Duration::days(1);
    let started = std::time::Instant::now();
    loop {
        let facts = store
            .ticket_facts(since, Utc::now() + Duration::days(1))
            .await
            .unwrap();
        if facts
            .iter()
            .any(|f| f.reading.side == cutover_model::Side::New && f.reading.ticket.as_str() == id)
        {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "the bridge did not record new ticket {id}: {facts:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    // And for its copy on the old side, then for the old side's feed to show that copy (Zendesk's
    // export leaves out its last minute) and a few passes to read it.
    let started = std::time::Instant::now();
    let new_id = cutover_model::PlatformId::parse(id.clone()).unwrap();
    while store
        .find_link(
            cutover_model::RecordKind::Ticket,
            cutover_model::Side::New,
            &new_id,
        )
        .await
        .unwrap()
        .is_none()
    {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "ticket {id} was not copied to the old side"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    bridge.skip_a_minute().await;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    store.close().await;
    served.terminate().await;
    let at = (Utc::now() + Duration::hours(1)).to_rfc3339();
    let out = bridge
        .expect(0, &["kpi", "--json", "--at", &at, "--weeks", "1"])
        .await;
    let now: Value = serde_json::from_str(&out).unwrap();
    let created = |side: &str| -> u64 {
        let side = now["sides"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["filter"]["side"] == side)
            .unwrap();
        side["kpis"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["name"] == "escalations")
            .unwrap()["now"]["samples"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(created("new"), 1, "{now:#}");
    // Its copy on the old side is cutover's, not a customer's there.
    assert_eq!(created("old"), 0, "{now:#}");
}

/// `cutover report` over the backfilled history: the JSON's KPIs count the tickets the old
/// account's API shows in the window, the heatmap counts every ticket of the history, each
/// wave gets its recommended windows and staffing follows arrivals; the HTML is whole (every
/// element closed, one heatmap per channel) and `--due` says no review is scheduled yet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_covers_the_backfilled_history() {
    let bridge = Bridge::<zendesk::App, freshdesk::App>::backfilled_with(false, TICKETS).await;
    // The pilot's window in UTC, so it is judged against the busy hours.
    let plan_path = bridge.dir.path().join("cutover.toml");
    let plan = std::fs::read_to_string(&plan_path).unwrap();
    std::fs::write(
        &plan_path,
        plan.replace("tz = \"Europe/London\"", "tz = \"UTC\""),
    )
    .unwrap();
    let mut created: Vec<DateTime<Utc>> = Vec::new();
    let mut next = Some(String::from("tickets.json?per_page=100"));
    while let Some(path) = next.take() {
        let page = json_of(zendesk::App::get(bridge.old.url(), &path)).await;
        for t in page["tickets"].as_array().unwrap() {
            created.push(t["created_at"].as_str().unwrap().parse().unwrap());
        }
        next = page["next_page"]
            .as_str()
            .and_then(|url| url.split("/api/v2/").nth(1))
            .map(str::to_owned);
    }
    let at = *created.iter().max().unwrap() + Duration::minutes(30);
    let in_window = created
        .iter()
        .filter(|t| **t >= at - Duration::weeks(2))
        .count();
    let at_text = at.to_rfc3339();
    let args = [
        "report",
        "--window",
        "2w",
        "--at",
        &at_text,
        "--history",
        "110w",
    ];
    let out = bridge.expect(0, &[&args[..], &["--json"]].concat()).await;
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["window"]["label"], "2w");
    let old = report["kpis"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["side"] == "old" && r["channel"].is_null())
        .unwrap();
    let kpis = old["kpis"].as_array().unwrap();
    assert_eq!(kpis.len(), cutover_runtime::kpi::KPIS.len());
    let escalations = kpis.iter().find(|k| k["name"] == "escalations").unwrap();
    assert_eq!(
        escalations["now"]["samples"], in_window as u64,
        "{escalations:#}"
    );
    // Each wave's tickets too, after the channels: a slice of the side's.
    let waves: Vec<&Value> = report["kpis"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["side"] == "old" && r["wave"].is_string())
        .collect();
    assert!(!waves.is_empty(), "no wave rows in {:#}", report["kpis"]);
    for row in waves {
        let created = row["kpis"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["name"] == "escalations")
            .unwrap()["now"]["samples"]
            .as_u64()
            .unwrap();
        assert!(created <= in_window as u64, "{row:#}");
    }
    let w = &report["when_to_switch"];
    let channels = w["channels"].as_array().unwrap();
    assert_eq!(channels[0]["channel"], "all");
    assert_eq!(channels[0]["tickets"], TICKETS as u64, "{:#}", channels[0]);
    let per_channel: u64 = channels[1..]
        .iter()
        .map(|c| c["tickets"].as_u64().unwrap())
        .sum();
    assert_eq!(per_channel, TICKETS as u64);
    let pilot = &w["waves"][0];
    assert_eq!(pilot["name"], "pilot", "{w:#}");
    assert!(
        pilot["busy_hours_in_window"].is_array() || pilot["not_judged"].is_string(),
        "{pilot:#}"
    );
    for r in pilot["recommended"].as_array().unwrap() {
        // Tue 20:00 to 23:00: three hours.
        assert_eq!(r["hours"], 3, "{pilot:#}");
    }
    for h in w["staffing"]["hours"].as_array().unwrap() {
        let (arrivals, agents) = (
            h["arrivals"].as_f64().unwrap(),
            h["agents"].as_u64().unwrap(),
        );
        assert_eq!(arrivals > 0.0, agents > 0, "{h:#}");
    }
    assert_eq!(w["staffing"]["hours"].as_array().unwrap().len(), 168);

    // The files: the same JSON, and a page whose elements all close.
    let out_dir = bridge.dir.path().join("reports");
    let out_text = out_dir.display().to_string();
    bridge
        .expect(0, &[&args[..], &["--out", &out_text]].concat())
        .await;
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("report-2w.json")).unwrap())
            .unwrap();
    assert_eq!(written["kpis"], report["kpis"]);
    let html = std::fs::read_to_string(out_dir.join("report-2w.html")).unwrap();
    assert_balanced(&html);
    // One heatmap per channel and one of staffing; no script, nothing fetched.
    assert_eq!(
        html.matches("class=\"heatmap\"").count(),
        channels.len() + 1
    );
    assert!(!html.contains("<script") && !html.contains("src="));

    let due = bridge.expect(0, &["report", "--due"]).await;
    assert_eq!(due.matches("not scheduled").count(), 3, "{due}");
}

/// Every element of an HTML page is closed in order (void elements aside).
fn assert_balanced(html: &str) {
    const VOID: [&str; 4] = ["meta", "br", "!doctype", "polyline"];
    let mut open: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        let end = rest[start..].find('>').expect("a tag closes") + start;
        let tag = &rest[start + 1..end];
        rest = &rest[end + 1..];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '/')
            .collect::<String>()
            .to_lowercase();
        if tag.ends_with('/') || VOID.contains(&name.as_str()) {
            continue;
        }
        if tag.starts_with('/') {
            assert_eq!(
                open.pop().as_deref(),
                Some(name.as_str()),
                "at …{}",
                &rest[..rest.len().min(80)]
            );
        } else {
            open.push(name);
        }
    }
    assert!(open.is_empty(), "unclosed: {open:?}");
}

/// Every ticket of the old account by its own API.
async fn old_tickets(bridge: &Bridge<zendesk::App, freshdesk::App>) -> Vec<Value> {
    let mut tickets = Vec::new();
    let mut next = Some(String::from("tickets.json?per_page=100"));
    while let Some(path) = next.take() {
        let page = json_of(zendesk::App::get(bridge.old.url(), &path)).await;
        tickets.extend(page["tickets"].as_array().unwrap().iter().cloned());
        next = page["next_page"]
            .as_str()
            .and_then(|url| url.split("/api/v2/").nth(1))
            .map(str::to_owned);
    }
    tickets
}

/// `--wave` slices the KPIs to a wave's tickets (its channels' kinds, its groups by name as the
/// backfill read them): the pilot's backlog, long after the history, is exactly the old
/// account's open tickets that came by the web form or sit in one of the pilot's groups, counted
/// here from Zendesk's own API. `--channel` takes a `[[channels]]` name or a kind alike. A wave
/// the store holds no ticket of, an unknown wave and an unknown channel are refused, saying why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kpis_are_sliced_per_wave_and_channel_by_name_or_kind() {
    use cutover_plan::plan::values::GroupSelection;

    let bridge = Bridge::<zendesk::App, freshdesk::App>::backfilled_with(false, TICKETS).await;
    // The pilot moves the web form and one group (the plan `cutover init` wrote names every
    // group, none being mapped by name when it was written).
    let path = bridge.dir.path().join("cutover.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let at = text.find("name = \"pilot\"").unwrap();
    let line = at + text[at..].find("groups = ").unwrap();
    let end = line + text[line..].find('\n').unwrap();
    let text = format!("{}groups = [\"Billing 1\"]{}", &text[..line], &text[end..]);
    std::fs::write(&path, text).unwrap();
    let plan = cutover_plan::plan::load(&path).unwrap();
    let pilot = &plan.waves[0];
    assert_eq!(pilot.channels, ["web"], "the plan init writes");
    let groups = json_of(zendesk::App::get(bridge.old.url(), "groups.json")).await;
    let pilot_groups: Vec<u64> = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| match &pilot.groups {
            GroupSelection::All => true,
            GroupSelection::Named(names) => names
                .iter()
                .any(|n| n.eq_ignore_ascii_case(g["name"].as_str().unwrap())),
        })
        .map(|g| g["id"].as_u64().unwrap())
        .collect();
    let tickets = old_tickets(&bridge).await;
    let open = |t: &&Value| !matches!(t["status"].as_str(), Some("solved" | "closed"));
    let web = |t: &Value| {
        matches!(
            t["via"]["channel"].as_str(),
            Some("web" | "web_form" | "help_center" | "web_widget" | "mobile" | "mobile_sdk")
        )
    };
    let in_pilot = |t: &Value| {
        web(t)
            || t["group_id"]
                .as_u64()
                .is_some_and(|g| pilot_groups.contains(&g))
    };
    let open_in_pilot = tickets.iter().filter(open).filter(|t| in_pilot(t)).count();
    let open_all = tickets.iter().filter(open).count();
    let open_web = tickets.iter().filter(open).filter(|t| web(t)).count();
    assert!(
        open_in_pilot > 0,
        "the history should have open tickets in the pilot"
    );
    assert!(
        open_in_pilot < open_all,
        "the history should have open tickets outside the pilot: {open_in_pilot} of {open_all}"
    );
    let last = tickets
        .iter()
        .map(|t| {
            t["created_at"]
                .as_str()
                .unwrap()
                .parse::<DateTime<Utc>>()
                .unwrap()
        })
        .max()
        .unwrap();
    let later = (last + Duration::days(60)).to_rfc3339();
    let backlog = |out: &str| -> (f64, Value) {
        let now: Value = serde_json::from_str(out).unwrap();
        let side = &now["sides"][0];
        let k = side["kpis"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["name"] == "backlog")
            .cloned()
            .unwrap();
        (k["now"]["value"].as_f64().unwrap(), side["filter"].clone())
    };
    // By number or by name, as `cutover wave start` takes it.
    for named in ["1", pilot.name.as_str()] {
        let out = bridge
            .expect(
                0,
                &[
                    "kpi", "--json", "--side", "old", "--wave", named, "--at", &later,
                ],
            )
            .await;
        let (value, filter) = backlog(&out);
        assert_eq!(value, open_in_pilot as f64, "{filter:#}");
        assert_eq!(filter["wave"]["name"], pilot.name.as_str(), "{filter:#}");
        assert_eq!(filter["wave"]["channels"], serde_json::json!(["web_form"]));
    }
    // The baseline is sliced too: fewer tickets created in the pilot than in all.
    let created = |out: &str| -> u64 {
        let b: Value = serde_json::from_str(out).unwrap();
        b[0]["hours"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|h| h["kpis"].as_array().unwrap())
            .filter(|k| k["name"] == "escalations")
            .map(|k| k["samples"].as_u64().unwrap())
            .sum()
    };
    let at = (last + Duration::minutes(30)).to_rfc3339();
    let base = [
        "baseline", "--json", "--side", "old", "--at", &at, "--weeks", "104",
    ];
    let all = created(&bridge.expect(0, &base).await);
    let mut args = base.to_vec();
    args.extend(["--wave", "1"]);
    let sliced = created(&bridge.expect(0, &args).await);
    assert!(sliced > 0 && sliced < all, "{sliced} of {all}");
    // The text output names the wave.
    let out = bridge
        .expect(0, &["kpi", "--side", "old", "--wave", "1", "--at", &later])
        .await;
    assert!(
        out.contains(&format!("old side, wave {:?}", pilot.name)),
        "{out}"
    );

    // A channel by its `[[channels]]` name or by its kind: the same tickets.
    for channel in ["web", "web_form"] {
        let out = bridge
            .expect(
                0,
                &[
                    "kpi",
                    "--json",
                    "--side",
                    "old",
                    "--channel",
                    channel,
                    "--at",
                    &later,
                ],
            )
            .await;
        let (value, filter) = backlog(&out);
        assert_eq!(value, open_web as f64, "--channel {channel}: {filter:#}");
        assert_eq!(filter["channel"], "web_form");
        assert_eq!(filter["gateway_channels"], serde_json::json!(["web"]));
    }
    let (code, _, stderr) = bridge
        .cutover(&["kpi", "--channel", "webform", "--at", &later])
        .await;
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("no channel is called \"webform\"")
            && stderr.contains("web_form")
            && stderr.contains("email, web, whatsapp, phone"),
        "{stderr}"
    );

    // An unknown wave, and a wave the store holds no ticket of (a store nothing was read
    // into): refused with the reason, never an empty success.
    let (code, _, stderr) = bridge.cutover(&["kpi", "--wave", "9"]).await;
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("no wave \"9\""), "{stderr}");
    let empty = format!("sqlite://{}", bridge.dir.path().join("empty.db").display());
    let args = ["baseline", "--wave", "1"];
    let (code, _, stderr) = crate::harness::run_to_end(
        crate::harness::emulators_command(bridge.dir.path(), &empty, &args),
        &args,
        std::time::Duration::from_secs(120),
    )
    .await;
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "wave {:?} matches no ticket the store holds",
            pilot.name
        )) && stderr.contains("web (web_form)")
            && stderr.contains("cutover backfill"),
        "{stderr}"
    );
}
