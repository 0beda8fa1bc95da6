//! Steps as Zendesk Support API v2 calls: tickets are created with `POST /tickets` (requester by
//! name and e-mail, the channel as `via_id` where Zendesk has one and as a tag), messages and field
//! changes are `PUT /tickets/{id}` with `ticket.comment` (`author_id`, `public`), ratings are
//! `POST /tickets/{id}/satisfaction_rating` with Zendesk's `good`/`bad`.

use std::sync::{Arc, OnceLock};

use reqwest::Method;
use serde_json::{Map, Value, json};

use super::client::{Group, Http, PlatformClient, Reply, Roster, answer_of, id_of};
use super::error::TrafficError;
use super::model::{Answer, Author, Channel, PlatformKind, Step};

/// A Zendesk client for the traffic actors.
///
/// Signed in with an admin's token, the steps are made as another agent of the account, the
/// desk (the first active agent without a ticket restriction, by id): agents work tickets as
/// themselves, and cutover's bridge ignores the changes of its own API user (its triggers say
/// `current_user is_not` that user), so traffic made as the admin whose token cutover also
/// holds would reach the bridge by polling only. Signed in as an agent, the steps are that
/// agent's.
#[derive(Debug, Clone)]
pub struct ZendeskClient {
    http: Http,
    /// The API token, to sign in as the desk with.
    token: Option<String>,
    /// The desk, once the roster found one.
    desk: Arc<OnceLock<Http>>,
}

impl ZendeskClient {
    /// Wraps an authenticated [`Http`] (`EMAIL/token:TOKEN`).
    pub fn new(http: Http) -> Self {
        Self {
            http,
            token: None,
            desk: Arc::default(),
        }
    }

    /// Signs the steps in as the desk with `token` once the roster finds one.
    pub fn with_token(mut self, token: &str) -> Self {
        self.token = Some(token.to_owned());
        self
    }

    /// Who the steps are made as.
    fn acting(&self) -> &Http {
        self.desk.get().unwrap_or(&self.http)
    }

    /// Picks the desk among `users` when the signed-in user is an admin.
    async fn choose_desk(&self, users: &Value) -> Result<(), TrafficError> {
        let Some(token) = &self.token else {
            return Ok(());
        };
        let me = self.http.get_json("/api/v2/users/me.json").await?;
        if me["user"]["role"] != "admin" {
            return Ok(());
        }
        let me = id_of(&me["user"]["id"]);
        let mut candidates: Vec<(u64, &str)> = users["users"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|u| u["active"] != false && u["suspended"] != true)
            .filter(|u| u["ticket_restriction"].is_null())
            .filter_map(|u| Some((id_of(&u["id"])?, u["email"].as_str()?)))
            .filter(|(id, _)| Some(*id) != me)
            .collect();
        candidates.sort_unstable();
        if let Some((_, email)) = candidates.first() {
            let desk = self.http.signed_in_as(&format!("{email}/token:{token}"));
            let _ = self.desk.set(desk);
        }
        Ok(())
    }
}

/// Zendesk's via id of a channel (via types reference); WhatsApp has none in the ticket API, so
/// it travels as a tag only.
fn via_id(channel: Channel) -> Option<u64> {
    match channel {
        Channel::WebForm => Some(0),
        Channel::Email => Some(4),
        Channel::Chat => Some(29),
        Channel::Phone => Some(34),
        Channel::WhatsApp => None,
    }
}

fn ticket_body(step: &Step) -> Value {
    let mut t = Map::new();
    match step {
        Step::Open {
            customer,
            channel,
            subject,
            body,
            priority,
            group_id,
        } => {
            t.insert("subject".into(), json!(subject));
            t.insert("comment".into(), json!({"body": body, "public": true}));
            t.insert(
                "requester".into(),
                json!({"name": customer.name, "email": customer.email}),
            );
            t.insert("priority".into(), json!(priority.zendesk()));
            if let Some(group) = group_id {
                t.insert("group_id".into(), json!(group));
            }
            if let Some(via) = via_id(*channel) {
                t.insert("via_id".into(), json!(via));
            }
            t.insert(
                "tags".into(),
                json!([format!("channel_{}", channel.as_str())]),
            );
        }
        Step::Message {
            author,
            public,
            body,
            status,
            assignee_id,
            ..
        } => {
            let author_id = match author {
                Author::Customer(id) | Author::Agent(id) => *id,
            };
            t.insert(
                "comment".into(),
                json!({"body": body, "public": public, "author_id": author_id}),
            );
            if let Some(s) = status {
                t.insert("status".into(), json!(s.zendesk()));
            }
            if let Some(a) = assignee_id {
                t.insert("assignee_id".into(), json!(a));
            }
        }
        Step::Update {
            status,
            priority,
            group_id,
            assignee_id,
            ..
        } => {
            if let Some(s) = status {
                t.insert("status".into(), json!(s.zendesk()));
            }
            if let Some(p) = priority {
                t.insert("priority".into(), json!(p.zendesk()));
            }
            if let Some(g) = group_id {
                t.insert("group_id".into(), json!(g));
            }
            if let Some(a) = assignee_id {
                t.insert("assignee_id".into(), json!(a));
            }
        }
        Step::Rate { .. } | Step::Merge { .. } => {}
    }
    json!({ "ticket": t })
}

/// The id of the comment an update added (`audit.events[type=Comment].id`).
fn comment_id(reply: &Reply) -> Option<u64> {
    reply.body["audit"]["events"]
        .as_array()?
        .iter()
        .find(|e| e["type"] == "Comment")
        .and_then(|e| id_of(&e["id"]))
}

impl PlatformClient for ZendeskClient {
    fn kind(&self) -> PlatformKind {
        PlatformKind::Zendesk
    }

    async fn roster(&self) -> Result<Roster, TrafficError> {
        let users = self
            .http
            .get_json("/api/v2/users.json?role[]=agent&role[]=admin&per_page=100")
            .await?;
        let mut agents: Vec<u64> = users["users"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|u| u["active"] != false)
            .filter_map(|u| id_of(&u["id"]))
            .collect();
        agents.sort_unstable();
        self.choose_desk(&users).await?;
        let groups = self
            .http
            .get_json("/api/v2/groups.json?per_page=100")
            .await?;
        let memberships = self
            .http
            .get_json("/api/v2/group_memberships.json?per_page=100")
            .await?;
        let members: Vec<(u64, u64)> = memberships["group_memberships"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| Some((id_of(&m["group_id"])?, id_of(&m["user_id"])?)))
            .collect();
        let mut groups: Vec<Group> = groups["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|g| g["deleted"] != true)
            .filter_map(|g| id_of(&g["id"]))
            .map(|id| {
                let mut agent_ids: Vec<u64> = members
                    .iter()
                    .filter(|(g, u)| *g == id && agents.contains(u))
                    .map(|(_, u)| *u)
                    .collect();
                agent_ids.sort_unstable();
                Group { id, agent_ids }
            })
            .collect();
        groups.sort_by_key(|g| g.id);
        Ok(Roster { agents, groups })
    }

    async fn perform(&self, step: &Step) -> Answer {
        let mut requests = 0;
        match step {
            Step::Open { .. } => {
                let reply = self
                    .acting()
                    .send(
                        Method::POST,
                        "/api/v2/tickets.json",
                        Some(&ticket_body(step)),
                        &mut requests,
                    )
                    .await;
                let mut answer = answer_of(
                    std::slice::from_ref(&reply),
                    requests,
                    id_of(&reply.body["ticket"]["id"]),
                );
                answer.requester_id = id_of(&reply.body["ticket"]["requester_id"]);
                answer
            }
            Step::Message { ticket_id, .. } | Step::Update { ticket_id, .. } => {
                let reply = self
                    .acting()
                    .send(
                        Method::PUT,
                        &format!("/api/v2/tickets/{ticket_id}.json"),
                        Some(&ticket_body(step)),
                        &mut requests,
                    )
                    .await;
                let created = if matches!(step, Step::Message { .. }) {
                    comment_id(&reply)
                } else {
                    None
                };
                answer_of(std::slice::from_ref(&reply), requests, created)
            }
            Step::Merge { ticket_id, into } => {
                // Answered with a job status; the merge is done when it is answered.
                let body = json!({"ids": [ticket_id]});
                let reply = self
                    .acting()
                    .send(
                        Method::POST,
                        &format!("/api/v2/tickets/{into}/merge.json"),
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
                let body =
                    json!({"satisfaction_rating": {"score": stars.zendesk(), "comment": comment}});
                let reply = self
                    .acting()
                    .send(
                        Method::POST,
                        &format!("/api/v2/tickets/{ticket_id}/satisfaction_rating.json"),
                        Some(&body),
                        &mut requests,
                    )
                    .await;
                let id = id_of(&reply.body["satisfaction_rating"]["id"]);
                answer_of(std::slice::from_ref(&reply), requests, id)
            }
        }
    }
}
