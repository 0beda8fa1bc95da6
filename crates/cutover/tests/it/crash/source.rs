//! The side a move copies from: an emulated account with generated data, read back through its
//! own API to say what the target must hold, and changed between a kill and a resume as a
//! customer service goes on changing it.

use std::future::Future;

use cutover_sim::freshdesk::{self, FreshdeskOptions, FreshdeskSim};
use cutover_sim::zendesk;
use cutover_sim::{AccountProfile, SimHandle};
use serde_json::{Value, json};

use super::{SIM_TOKEN, Target, get, items, zendesk_all, zendesk_emulator};

/// A comment as cutover reads it from the source: its id and its files' ids.
pub(super) type History = Vec<(String, Vec<String>)>;

/// An emulated platform a move can come from.
pub(super) trait Source: Target {
    /// Its `/_sim/state` count of organizations.
    const ORGANIZATIONS: &'static str;

    /// An account with `tickets` generated tickets (and their people), rate limits off.
    fn seeded(seed: u64, tickets: usize) -> impl Future<Output = SimHandle<Self>>;

    /// Its tickets' ids.
    fn ticket_ids(sim: &SimHandle<Self>) -> Vec<String>;

    /// Adds the group `name` and moves up to `n` tickets that can still change into it;
    /// returns their ids.
    fn new_group(sim: &SimHandle<Self>, name: &str, n: usize) -> impl Future<Output = Vec<String>>;

    /// The comments of one of its tickets as cutover reads them, with their files.
    fn comments(sim: &SimHandle<Self>, ticket: &str) -> impl Future<Output = History>;

    /// Its customers (contacts, not agents), by id.
    fn contacts(sim: &SimHandle<Self>) -> impl Future<Output = Vec<String>>;

    /// Adds two customers with different e-mails who share a phone number, each with a ticket;
    /// returns their ids.
    fn phone_twins(sim: &SimHandle<Self>) -> impl Future<Output = [String; 2]>;

    /// Changes `ticket` as an agent would (subject, priority, tags) and, with `requester`, gives
    /// it that requester.
    fn edit_ticket(
        sim: &SimHandle<Self>,
        ticket: &str,
        requester: Option<&str>,
    ) -> impl Future<Output = ()>;

    /// The requester of `ticket`.
    fn requester(sim: &SimHandle<Self>, ticket: &str) -> impl Future<Output = String>;

    /// Whether `ticket` can still be changed (a closed Zendesk ticket cannot).
    fn editable(sim: &SimHandle<Self>, ticket: &str) -> impl Future<Output = bool>;
}

/// A request with a JSON body to an emulator's API, as its admin; a failure fails the test.
async fn send<S: Target>(
    sim: &SimHandle<S>,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> Value {
    let url = format!("{}/api/v2/{path}", sim.url());
    let request = super::http().request(method.clone(), &url);
    let request = match S::PLATFORM {
        "zendesk" => request.basic_auth(super::SIM_USER, Some(SIM_TOKEN)),
        _ => request.basic_auth(SIM_TOKEN, Some("X")),
    };
    let answer = request.json(&body).send().await.unwrap();
    let status = answer.status();
    let text = answer.text().await.unwrap_or_default();
    assert!(status.is_success(), "{method} {path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

fn id_of(record: &Value) -> String {
    record["id"].to_string()
}

fn file_ids(record: &Value) -> Vec<String> {
    items(&record["attachments"], "attachments")
        .iter()
        .map(id_of)
        .collect()
}

impl Source for zendesk::App {
    const ORGANIZATIONS: &'static str = "organizations";

    async fn seeded(seed: u64, tickets: usize) -> SimHandle<Self> {
        zendesk_emulator(seed, tickets).await
    }

    fn ticket_ids(sim: &SimHandle<Self>) -> Vec<String> {
        sim.state()
            .ticket_ids()
            .iter()
            .map(u64::to_string)
            .collect()
    }

    async fn new_group(sim: &SimHandle<Self>, name: &str, n: usize) -> Vec<String> {
        let group = json!({"group": {"name": name}});
        let made = send(sim, reqwest::Method::POST, "groups.json", group).await;
        let mut moved = Vec::new();
        for id in <Self as Source>::ticket_ids(sim) {
            if moved.len() == n {
                break;
            }
            if Self::editable(sim, &id).await {
                let change = json!({"ticket": {"group_id": made["group"]["id"]}});
                send(
                    sim,
                    reqwest::Method::PUT,
                    &format!("tickets/{id}.json"),
                    change,
                )
                .await;
                moved.push(id);
            }
        }
        moved
    }

    /// Inline images among the files (Zendesk lists them only when asked; cutover asks).
    async fn comments(sim: &SimHandle<Self>, ticket: &str) -> History {
        let path = format!("tickets/{ticket}/comments?include_inline_images=true");
        let answer = get(sim, &path).await;
        items(&answer, "comments")
            .iter()
            .map(|c| (id_of(c), file_ids(c)))
            .collect()
    }

    async fn contacts(sim: &SimHandle<Self>) -> Vec<String> {
        zendesk_all(sim, "users")
            .await
            .iter()
            .filter(|u| u["role"] == json!("end-user"))
            .map(id_of)
            .collect()
    }

    async fn phone_twins(sim: &SimHandle<Self>) -> [String; 2] {
        let mut ids = Vec::new();
        for (n, name) in ["Ada Twin", "Bea Twin"].into_iter().enumerate() {
            let user = json!({"user": {"name": name, "email": format!("twin{n}@phone.example"),
                "phone": "+44 20 7946 0000", "role": "end-user"}});
            let made = send(sim, reqwest::Method::POST, "users.json", user).await;
            let id = id_of(&made["user"]);
            let ticket = json!({"ticket": {"subject": format!("{name} calls"),
                "requester_id": made["user"]["id"], "comment": {"body": "I share a phone."}}});
            send(sim, reqwest::Method::POST, "tickets.json", ticket).await;
            ids.push(id);
        }
        [ids[0].clone(), ids[1].clone()]
    }

    async fn edit_ticket(sim: &SimHandle<Self>, ticket: &str, requester: Option<&str>) {
        let mut change = json!({"subject": format!("Edited after a crash ({ticket})"),
            "priority": "urgent", "tags": ["edited"]});
        if let Some(requester) = requester {
            change["requester_id"] = json!(requester.parse::<u64>().unwrap());
        }
        let path = format!("tickets/{ticket}.json");
        send(
            sim,
            reqwest::Method::PUT,
            &path,
            json!({ "ticket": change }),
        )
        .await;
    }

    async fn requester(sim: &SimHandle<Self>, ticket: &str) -> String {
        get(sim, &format!("tickets/{ticket}")).await["ticket"]["requester_id"].to_string()
    }

    async fn editable(sim: &SimHandle<Self>, ticket: &str) -> bool {
        get(sim, &format!("tickets/{ticket}")).await["ticket"]["status"] != json!("closed")
    }
}

impl Source for freshdesk::App {
    const ORGANIZATIONS: &'static str = "companies";

    async fn seeded(seed: u64, tickets: usize) -> SimHandle<Self> {
        let opts = FreshdeskOptions {
            seed,
            tickets,
            // The plain account, as the other directions use (see `zendesk_emulator`).
            profile: AccountProfile::Plain,
            api_key: SIM_TOKEN.to_owned(),
            rate_limit_rpm: Some(0),
            ..FreshdeskOptions::default()
        };
        FreshdeskSim::spawn(opts, "127.0.0.1:0").await.unwrap()
    }

    /// Its tickets but spam and trashed ones (which neither its lists nor cutover read).
    fn ticket_ids(sim: &SimHandle<Self>) -> Vec<String> {
        let app = sim.state();
        app.ticket_ids()
            .into_iter()
            .filter(|id| {
                app.ticket_json(*id)
                    .is_some_and(|t| t["spam"] != json!(true) && t["deleted"] != json!(true))
            })
            .map(|id| id.to_string())
            .collect()
    }

    async fn new_group(sim: &SimHandle<Self>, name: &str, n: usize) -> Vec<String> {
        let made = send(
            sim,
            reqwest::Method::POST,
            "groups",
            json!({ "name": name }),
        )
        .await;
        let mut moved = Vec::new();
        for id in <Self as Source>::ticket_ids(sim) {
            if moved.len() == n {
                break;
            }
            if Self::editable(sim, &id).await {
                let change = json!({"group_id": made["id"]});
                send(sim, reqwest::Method::PUT, &format!("tickets/{id}"), change).await;
                moved.push(id);
            }
        }
        moved
    }

    /// Its description first (cutover reads it as the first comment, `d{ticket}`, with the
    /// ticket's files), then its conversations.
    async fn comments(sim: &SimHandle<Self>, ticket: &str) -> History {
        let raw = get(sim, &format!("tickets/{ticket}")).await;
        let mut history = vec![(format!("d{ticket}"), file_ids(&raw))];
        let path = format!("tickets/{ticket}/conversations?per_page=100");
        let conversations = get(sim, &path).await;
        history.extend(
            items(&conversations, "conversations")
                .iter()
                .map(|c| (id_of(c), file_ids(c))),
        );
        history
    }

    async fn contacts(sim: &SimHandle<Self>) -> Vec<String> {
        let mut ids = Vec::new();
        for page in 1.. {
            let list = get(sim, &format!("contacts?per_page=100&page={page}")).await;
            let found = items(&list, "contacts");
            ids.extend(found.iter().map(id_of));
            if found.len() < 100 {
                return ids;
            }
        }
        ids
    }

    async fn phone_twins(sim: &SimHandle<Self>) -> [String; 2] {
        let mut ids = Vec::new();
        for (n, name) in ["Ada Twin", "Bea Twin"].into_iter().enumerate() {
            let contact = json!({"name": name, "email": format!("twin{n}@phone.example"),
                "phone": "+44 20 7946 0000"});
            let made = send(sim, reqwest::Method::POST, "contacts", contact).await;
            let ticket = json!({"requester_id": made["id"], "subject": format!("{name} calls"),
                "description": "<p>I share a phone.</p>", "status": 2, "priority": 1});
            send(sim, reqwest::Method::POST, "tickets", ticket).await;
            ids.push(id_of(&made));
        }
        [ids[0].clone(), ids[1].clone()]
    }

    /// Keeps the requester: a Freshdesk ticket's description is its requester's first comment,
    /// and a new requester would rewrite that comment's author, which a copied comment never
    /// follows (comments are append-only).
    async fn edit_ticket(sim: &SimHandle<Self>, ticket: &str, _requester: Option<&str>) {
        let change = json!({"subject": format!("Edited after a crash ({ticket})"),
            "priority": 4, "tags": ["edited"]});
        send(
            sim,
            reqwest::Method::PUT,
            &format!("tickets/{ticket}"),
            change,
        )
        .await;
    }

    async fn requester(sim: &SimHandle<Self>, ticket: &str) -> String {
        get(sim, &format!("tickets/{ticket}")).await["requester_id"].to_string()
    }

    /// Not when closed: its copy may be a closed Zendesk ticket, which nothing can change.
    async fn editable(sim: &SimHandle<Self>, ticket: &str) -> bool {
        get(sim, &format!("tickets/{ticket}")).await["status"] != json!(5)
    }
}
