//! Catch-up without the bridge, end to end with the real binary: `cutover backfill`, then
//! changes on the old platform through its own API (a ticket edited, a reply on another, a new
//! customer with a new ticket, an organization's notes edited), then `cutover backfill` again.
//! The second run reads on from where the first one ended: the new records are created once,
//! the changed ones updated through their links, the copies of the others left as they were
//! (their `updated_at` on the new platform unchanged), the emulators' counts grow by exactly
//! what was added, and `cutover verify` finds nothing missing or doubled. Zendesk → Freshdesk on
//! SQLite with `copy.since` (a ticket last changed before it is left behind by the first run, and
//! copied whole by the catch-up once it changes), Freshdesk → Zendesk on PostgreSQL.

use std::collections::BTreeMap;
use std::time::Duration;

use cutover_sim::AccountProfile;
use cutover_store::testing::TestDatabase;
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{emulators_command, run_to_end};
use crate::plans::init_and_decide;

const LIMIT: Duration = Duration::from_secs(180);
/// Tickets on the old account.
const TICKETS: usize = 8;
/// The records and their history (not the rules, whose copies verify compares apart).
const KINDS: &str = "organization,contact,group,role,agent,custom_field,ticket,comment,attachment,satisfaction_rating";
const BACKFILL: &[&str] = &["backfill", "--notifications-off", "--json"];

/// An emulated account and the handle that keeps it running.
struct Account {
    platform: &'static str,
    url: String,
    _sim: Box<dyn std::any::Any + Send>,
}

impl Account {
    async fn start(platform: &'static str, seed: u64, tickets: usize) -> Self {
        let profile = AccountProfile::Realistic;
        let (url, sim): (String, Box<dyn std::any::Any + Send>) = match platform {
            "zendesk" => {
                let sim = crate::harness::zendesk(seed, tickets, profile).await;
                (sim.url().to_owned(), Box::new(sim))
            }
            _ => {
                let sim = crate::harness::freshdesk(seed, tickets, profile).await;
                (sim.url().to_owned(), Box::new(sim))
            }
        };
        Account {
            platform,
            url,
            _sim: sim,
        }
    }

    /// `METHOD /api/v2/{path}` as the admin, expecting success; the answer's JSON.
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let client = reqwest::Client::new();
        let request = client.request(method.clone(), format!("{}/api/v2/{path}", self.url));
        let request = match self.platform {
            "zendesk" => request.basic_auth("admin@example.com/token", Some("sim-token")),
            _ => request.basic_auth("sim-token", Some("X")),
        };
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        let answer = request.send().await.unwrap();
        let status = answer.status();
        let text = answer.text().await.unwrap();
        assert!(status.is_success(), "{method} {path}: {status}\n{text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// The emulator's own counts (`/_sim/state`).
    async fn counts(&self) -> BTreeMap<String, u64> {
        let state: Value = reqwest::get(format!("{}/_sim/state", self.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        state["counts"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(kind, n)| (kind.clone(), n.as_u64().unwrap()))
            .collect()
    }

    /// Moves the emulator's clock on past the minute Zendesk's exports leave out.
    async fn skip_a_minute(&self) {
        let moved = reqwest::Client::new()
            .post(format!("{}/_sim/clock", self.url))
            .json(&json!({ "advance_seconds": 61 }))
            .send()
            .await
            .unwrap();
        assert!(moved.status().is_success());
    }

    /// Every live ticket by id, with its status and `updated_at`, by the platform's own list.
    async fn tickets(&self) -> BTreeMap<u64, (Value, String)> {
        let list = match self.platform {
            "zendesk" => self
                .call(Method::GET, "tickets.json?per_page=100", None)
                .await["tickets"]
                .clone(),
            _ => {
                let path = "tickets?per_page=100&updated_since=2000-01-01T00:00:00Z";
                self.call(Method::GET, path, None).await
            }
        };
        list.as_array()
            .unwrap()
            .iter()
            .map(|t| {
                let updated = t["updated_at"].as_str().unwrap().to_owned();
                (t["id"].as_u64().unwrap(), (t["status"].clone(), updated))
            })
            .collect()
    }

    /// The keys of the emulator's counts for tickets, their messages after the first, people and
    /// organizations.
    fn keys(&self) -> [&'static str; 4] {
        match self.platform {
            "zendesk" => ["tickets", "comments", "users", "organizations"],
            _ => ["tickets", "conversations", "contacts", "companies"],
        }
    }

    /// Its tickets that still take changes (a closed ticket takes none on either platform), by
    /// when they last changed, oldest first: `(day, id)`.
    async fn open_tickets(&self) -> Vec<(String, u64)> {
        let mut open: Vec<(String, u64)> = self
            .tickets()
            .await
            .into_iter()
            .filter(|(_, (status, _))| *status != json!("closed") && *status != json!(5))
            .map(|(id, (_, updated))| (updated, id))
            .collect();
        open.sort();
        open.into_iter()
            .map(|(updated, id)| (updated[..10].to_owned(), id))
            .collect()
    }

    /// Changes on this (old) account after a first backfill: ticket `edited`'s subject edited,
    /// a reply on ticket `replied`, a new customer who opens a new ticket, an organization's
    /// notes edited.
    async fn change_after_the_backfill(&self, edited: u64, replied: u64) {
        let zendesk = self.platform == "zendesk";
        if zendesk {
            let subject = json!({"ticket": {"subject": "Edited after the backfill"}});
            self.call(
                Method::PUT,
                &format!("tickets/{edited}.json"),
                Some(subject),
            )
            .await;
            let reply = json!({"ticket": {"comment": {"body": "A reply after the backfill", "public": true}}});
            self.call(Method::PUT, &format!("tickets/{replied}.json"), Some(reply))
                .await;
            let user = json!({"user": {"name": "Delta Customer", "email": "delta.customer@example.org", "role": "end-user"}});
            let user = self.call(Method::POST, "users.json", Some(user)).await;
            let ticket = json!({"ticket": {
                "subject": "New after the backfill",
                "comment": {"body": "Opened after the first backfill", "author_id": user["user"]["id"]},
                "requester_id": user["user"]["id"],
            }});
            self.call(Method::POST, "tickets.json", Some(ticket)).await;
            let orgs = self.call(Method::GET, "organizations.json", None).await;
            let org = &orgs["organizations"][0]["id"];
            let notes = json!({"organization": {"notes": "Changed after the backfill"}});
            self.call(
                Method::PUT,
                &format!("organizations/{org}.json"),
                Some(notes),
            )
            .await;
        } else {
            let subject = json!({"subject": "Edited after the backfill"});
            self.call(Method::PUT, &format!("tickets/{edited}"), Some(subject))
                .await;
            let reply = json!({"body": "A reply after the backfill"});
            self.call(
                Method::POST,
                &format!("tickets/{replied}/reply"),
                Some(reply),
            )
            .await;
            let contact = json!({"name": "Delta Customer", "email": "delta.customer@example.org"});
            let contact = self.call(Method::POST, "contacts", Some(contact)).await;
            let ticket = json!({
                "subject": "New after the backfill",
                "description": "Opened after the first backfill",
                "requester_id": contact["id"],
                "status": 2,
                "priority": 1,
            });
            self.call(Method::POST, "tickets", Some(ticket)).await;
            let companies = self.call(Method::GET, "companies", None).await;
            let company = &companies[0]["id"];
            let note = json!({"note": "Changed after the backfill"});
            self.call(Method::PUT, &format!("companies/{company}"), Some(note))
                .await;
        }
    }
}

/// The counts of `kind` in a backfill's JSON report.
fn counts(report: &Value, kind: &str) -> BTreeMap<String, u64> {
    report["kinds"][kind]
        .as_object()
        .unwrap_or_else(|| panic!("no {kind} in {report:#}"))
        .iter()
        .map(|(key, n)| (key.clone(), n.as_u64().unwrap()))
        .collect()
}

/// Sets `copy.since` in the plan `init` wrote (its commented-out example line).
fn copy_since(plan: &std::path::Path, day: &str) {
    let text = std::fs::read_to_string(plan).unwrap();
    let mut found = false;
    let text: Vec<String> = text
        .lines()
        .map(|line| {
            if line.starts_with("# since = ") {
                found = true;
                format!("since = \"{day}\"")
            } else {
                line.to_owned()
            }
        })
        .collect();
    assert!(found, "no `# since` line in the plan init wrote");
    std::fs::write(plan, text.join("\n") + "\n").unwrap();
}

/// The first backfill, changes on the old side, a second and a third backfill, verify. With
/// `since`, the plan's `copy.since` is set between the days two open tickets last changed: the
/// older one is left behind by the first backfill, then edited, and the catch-up copies it whole.
async fn catch_up(from: &'static str, to: &'static str, postgres: bool, since: bool) {
    let old = Account::start(from, 41, TICKETS).await;
    let new = Account::start(to, 42, 0).await;
    let dir = tempfile::tempdir().unwrap();
    let database = if postgres {
        Some(TestDatabase::create().await.unwrap())
    } else {
        None
    };
    let store = match &database {
        Some(db) => db.url().to_string(),
        None => format!("sqlite://{}", dir.path().join("cutover.db").display()),
    };
    let cutover = |args: Vec<String>| {
        let (dir, store) = (dir.path().to_owned(), store.clone());
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run_to_end(emulators_command(&dir, &store, &args), &args, LIMIT).await
        }
    };
    let expect = |args: &'static [&'static str]| {
        let run = cutover(args.iter().map(|a| (*a).to_owned()).collect());
        async move {
            let (code, out, err) = run.await;
            assert_eq!(
                code, 0,
                "cutover {args:?}\n--- stdout\n{out}\n--- stderr\n{err}"
            );
            out
        }
    };
    // Zendesk lets only the requester rate: ratings into Zendesk are a declared loss (dead
    // letters, shown by `plan check`), not what a catch-up is about.
    let kinds = if to == "zendesk" {
        KINDS.trim_end_matches(",satisfaction_rating")
    } else {
        KINDS
    };
    init_and_decide(
        &cutover,
        &dir.path().join("cutover.toml"),
        (&old.url, &new.url),
        (from, to),
        &[
            "--notifications-off",
            "--rate-limit",
            "100000",
            "--kinds",
            kinds,
        ],
    )
    .await;

    // The tickets the old platform lists (a generated account may hold a deleted one).
    let live = old.tickets().await.len() as u64;
    let open = old.open_tickets().await;
    let (edited, replied, left_behind) = if since {
        // The newest open ticket is copied; an older one, changed on an earlier day, is not.
        let (day, replied) = open.last().cloned().unwrap();
        let (_, edited) = open
            .iter()
            .find(|(d, _)| *d < day)
            .cloned()
            .unwrap_or_else(|| panic!("no two open tickets changed on different days: {open:?}"));
        copy_since(&dir.path().join("cutover.toml"), &day);
        let left_behind = old
            .tickets()
            .await
            .values()
            .filter(|(_, updated)| updated[..10] < *day)
            .count() as u64;
        (edited, replied, left_behind)
    } else {
        (open[0].1, open[1].1, 0)
    };
    // The edited ticket left behind comes back: copied whole by the catch-up.
    let revived = u64::from(since);

    let first: Value = serde_json::from_str(&expect(BACKFILL).await).unwrap();
    let tickets = counts(&first, "ticket");
    assert!(left_behind < live, "{first:#}");
    assert_eq!(
        (tickets["created"], tickets["dropped"]),
        (live - left_behind, left_behind),
        "{first:#}"
    );
    assert!(first.get("catching_up_from").is_none(), "{first:#}");
    let copies = new.tickets().await;
    let held = new.counts().await;

    // Changes on the old platform, shown by its feeds once a minute has passed (Zendesk's
    // exports leave out their last minute).
    old.change_after_the_backfill(edited, replied).await;
    let touched = 2;
    old.skip_a_minute().await;

    let second: Value = serde_json::from_str(&expect(BACKFILL).await).unwrap();
    assert!(second["catching_up_from"].is_string(), "{second:#}");
    let tickets = counts(&second, "ticket");
    // Only what changed is read: not every ticket again.
    assert!(tickets["read"] < live, "{second:#}");
    assert_eq!(tickets["created"], 1 + revived, "{second:#}");
    assert!(tickets["updated"] >= 1 - revived, "{second:#}");
    assert!(
        tickets["updated"] + tickets["unchanged"] >= touched - revived,
        "{second:#}"
    );
    // The reply (the new ticket's first message travels with the ticket); a ticket copied
    // whole brings its own.
    let comments = counts(&second, "comment");
    if since {
        assert!(comments["created"] >= 1, "{second:#}");
    } else {
        assert_eq!(comments["created"], 1, "{second:#}");
    }
    assert_eq!(counts(&second, "contact")["created"], 1, "{second:#}");
    let orgs = counts(&second, "organization");
    assert_eq!((orgs["created"], orgs["updated"]), (0, 1), "{second:#}");

    // On the new platform: the new records once, nothing doubled, and the copies of the
    // tickets nobody touched not written again.
    let now = new.counts().await;
    let [tickets_key, messages_key, people_key, orgs_key] = new.keys();
    assert_eq!(now[tickets_key], held[tickets_key] + 1 + revived);
    assert_eq!(now[people_key], held[people_key] + 1);
    assert_eq!(now[orgs_key], held[orgs_key]);
    // Freshdesk keeps a ticket's first message, its requester's, as its description, not as a
    // conversation.
    let messages = if to == "freshdesk" { 1 } else { 2 };
    if since {
        assert!(now[messages_key] >= held[messages_key] + messages);
    } else {
        assert_eq!(now[messages_key], held[messages_key] + messages);
    }
    let after = new.tickets().await;
    assert_eq!(after.len() as u64, copies.len() as u64 + 1 + revived);
    let rewritten = copies
        .iter()
        .filter(|(id, (_, updated))| after[*id].1 != *updated)
        .count() as u64;
    assert!(
        rewritten <= touched - revived,
        "{rewritten} copies written again, {touched} tickets changed"
    );

    // A third run finds nothing new to write.
    old.skip_a_minute().await;
    let third: Value = serde_json::from_str(&expect(BACKFILL).await).unwrap();
    for (kind, c) in third["kinds"].as_object().unwrap() {
        assert_eq!(c["created"], 0, "{kind}: {third:#}");
        assert_eq!(c["updated"], 0, "{kind}: {third:#}");
    }
    assert_eq!(new.counts().await, now);

    new.skip_a_minute().await;
    let (code, out, err) = cutover(vec!["verify".into(), "--json".into()]).await;
    let verify: Value = serde_json::from_str(out.trim())
        .unwrap_or_else(|e| panic!("verify printed no JSON ({e}):\n{out}\n{err}"));
    for (kind, c) in verify["kinds"].as_object().unwrap() {
        for list in ["missing", "extra"] {
            assert_eq!(c[list], json!([]), "{kind} {list}: {verify:#}");
        }
    }
    assert_eq!(code, 0, "verify is not clean: {verify:#}");
    // What copy.since leaves behind is counted so, less the ticket that changed after it.
    assert_eq!(
        verify["kinds"]["ticket"]["dropped"],
        left_behind - revived,
        "{verify:#}"
    );
    drop(database);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_backfill_copies_only_what_changed_from_zendesk_on_sqlite() {
    catch_up("zendesk", "freshdesk", false, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_backfill_copies_only_what_changed_from_freshdesk_on_postgres() {
    catch_up("freshdesk", "zendesk", true, false).await;
}
