//! Steps as Freshdesk API v2 calls: tickets are created with `POST /tickets` (requester by
//! `email` and `name`, the channel as `source`: e-mail 1, portal 2, phone 3, chat 7; WhatsApp has
//! no documented source, so it is chat with a `channel_whatsapp` tag). A customer's follow-up is
//! a public incoming note with the requester as `user_id` (the API's only way to write as a
//! contact), an agent's reply is `POST /tickets/{id}/reply`, a private note `POST
//! /tickets/{id}/notes`; field changes are `PUT /tickets/{id}` (a message with a status change
//! takes both calls). Ratings are `POST /tickets/{id}/satisfaction_ratings` with
//! `ratings.default_question` on the 103 … -103 scale.

use reqwest::Method;
use serde_json::{Map, Value, json};

use super::client::{Group, Http, PlatformClient, Reply, Roster, answer_of, id_of};
use super::error::TrafficError;
use super::model::{Answer, Author, Channel, PlatformKind, Priority, Status, Step};

/// A Freshdesk client for the traffic actors.
#[derive(Debug, Clone)]
pub struct FreshdeskClient {
    http: Http,
}

impl FreshdeskClient {
    /// Wraps an authenticated [`Http`] (`API_KEY:X`).
    pub fn new(http: Http) -> Self {
        Self { http }
    }
}

/// Freshdesk's `source` of a channel.
fn source(channel: Channel) -> u64 {
    match channel {
        Channel::Email => 1,
        Channel::WebForm => 2,
        Channel::Phone => 3,
        Channel::Chat | Channel::WhatsApp => 7,
    }
}

fn html(text: &str) -> String {
    text.split("\n\n")
        .map(|p| format!("<div>{}</div>", crate::datagen::html_escape(p)))
        .collect()
}

fn fields(
    status: Option<Status>,
    priority: Option<Priority>,
    group_id: Option<u64>,
    assignee_id: Option<u64>,
) -> Map<String, Value> {
    let mut t = Map::new();
    if let Some(s) = status {
        t.insert("status".into(), json!(s.freshdesk()));
    }
    if let Some(p) = priority {
        t.insert("priority".into(), json!(p.freshdesk()));
    }
    if let Some(g) = group_id {
        t.insert("group_id".into(), json!(g));
    }
    if let Some(a) = assignee_id {
        t.insert("responder_id".into(), json!(a));
    }
    t
}

impl FreshdeskClient {
    async fn open(&self, step: &Step) -> Answer {
        let Step::Open {
            customer,
            channel,
            subject,
            body,
            priority,
            group_id,
        } = step
        else {
            return Answer::default();
        };
        let mut t = fields(Some(Status::Open), Some(*priority), *group_id, None);
        t.insert("name".into(), json!(customer.name));
        t.insert("email".into(), json!(customer.email));
        t.insert("subject".into(), json!(subject));
        t.insert("description".into(), json!(html(body)));
        t.insert("source".into(), json!(source(*channel)));
        t.insert(
            "tags".into(),
            json!([format!("channel_{}", channel.as_str())]),
        );
        let mut requests = 0;
        let reply = self
            .http
            .send(
                Method::POST,
                "/api/v2/tickets",
                Some(&Value::Object(t)),
                &mut requests,
            )
            .await;
        let mut answer = answer_of(
            std::slice::from_ref(&reply),
            requests,
            id_of(&reply.body["id"]),
        );
        answer.requester_id = id_of(&reply.body["requester_id"]);
        answer
    }

    async fn message(&self, step: &Step) -> Answer {
        let Step::Message {
            ticket_id,
            author,
            public,
            body,
            status,
            assignee_id,
        } = step
        else {
            return Answer::default();
        };
        let (path, payload) = match author {
            Author::Customer(user) => (
                "notes",
                json!({"body": html(body), "private": !public, "incoming": true, "user_id": user}),
            ),
            Author::Agent(user) if *public => {
                ("reply", json!({"body": html(body), "user_id": user}))
            }
            Author::Agent(user) => (
                "notes",
                json!({"body": html(body), "private": true, "user_id": user}),
            ),
        };
        let mut requests = 0;
        let mut replies: Vec<Reply> = Vec::with_capacity(2);
        let written = self
            .http
            .send(
                Method::POST,
                &format!("/api/v2/tickets/{ticket_id}/{path}"),
                Some(&payload),
                &mut requests,
            )
            .await;
        let created = id_of(&written.body["id"]);
        let go_on = written.ok();
        replies.push(written);
        let change = fields(*status, None, None, *assignee_id);
        if go_on && !change.is_empty() {
            replies.push(self.update(*ticket_id, change, &mut requests).await);
        }
        answer_of(&replies, requests, created)
    }

    async fn update(
        &self,
        ticket_id: u64,
        change: Map<String, Value>,
        requests: &mut u32,
    ) -> Reply {
        self.http
            .send(
                Method::PUT,
                &format!("/api/v2/tickets/{ticket_id}"),
                Some(&Value::Object(change)),
                requests,
            )
            .await
    }
}

impl PlatformClient for FreshdeskClient {
    fn kind(&self) -> PlatformKind {
        PlatformKind::Freshdesk
    }

    async fn roster(&self) -> Result<Roster, TrafficError> {
        let agents = self.http.get_json("/api/v2/agents?per_page=100").await?;
        let mut agent_ids: Vec<u64> = agents
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["contact"]["active"] != false)
            .filter_map(|a| id_of(&a["id"]))
            .collect();
        agent_ids.sort_unstable();
        let groups = self.http.get_json("/api/v2/groups?per_page=100").await?;
        let mut groups: Vec<Group> = groups
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|g| {
                let mut members: Vec<u64> = g["agent_ids"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(id_of)
                    .filter(|a| agent_ids.contains(a))
                    .collect();
                members.sort_unstable();
                Some(Group {
                    id: id_of(&g["id"])?,
                    agent_ids: members,
                })
            })
            .collect();
        groups.sort_by_key(|g| g.id);
        Ok(Roster {
            agents: agent_ids,
            groups,
        })
    }

    async fn perform(&self, step: &Step) -> Answer {
        match step {
            Step::Open { .. } => self.open(step).await,
            Step::Message { .. } => self.message(step).await,
            Step::Update {
                ticket_id,
                status,
                priority,
                group_id,
                assignee_id,
            } => {
                let mut requests = 0;
                let change = fields(*status, *priority, *group_id, *assignee_id);
                let reply = self.update(*ticket_id, change, &mut requests).await;
                answer_of(std::slice::from_ref(&reply), requests, None)
            }
            Step::Merge { ticket_id, into } => {
                let mut requests = 0;
                let body = json!({"primary_id": into, "ticket_ids": [ticket_id]});
                let reply = self
                    .http
                    .send(
                        Method::PUT,
                        "/api/v2/tickets/merge",
                        Some(&body),
                        &mut requests,
                    )
                    .await;
                answer_of(std::slice::from_ref(&reply), requests, None)
            }
            Step::Rate {
                ticket_id,
                stars,
                comment,
                ..
            } => {
                let mut requests = 0;
                let body = json!({"ratings": {"default_question": stars.freshdesk()}, "feedback": comment});
                let reply = self
                    .http
                    .send(
                        Method::POST,
                        &format!("/api/v2/tickets/{ticket_id}/satisfaction_ratings"),
                        Some(&body),
                        &mut requests,
                    )
                    .await;
                let id = id_of(&reply.body["id"]);
                answer_of(std::slice::from_ref(&reply), requests, id)
            }
        }
    }
}
