//! The small per-platform client the actors drive: [`PlatformClient`] turns a neutral [`Step`]
//! into a platform's API calls, and [`Http`] is the one place requests are sent (basic auth,
//! JSON, 429 + `Retry-After` honoured, transport errors retried twice).

use std::fmt;
use std::future::Future;
use std::time::Duration;

use base64::Engine as _;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use url::Url;

use super::error::TrafficError;
use super::freshdesk::FreshdeskClient;
use super::model::{Answer, PlatformKind, Side, Step};
use super::zendesk::ZendeskClient;

/// Longest wait a `Retry-After` may impose before the traffic gives up on a request.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// Attempts per request (the first one included).
const ATTEMPTS: u32 = 5;

/// The agents and groups of a platform, read once at start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roster {
    /// Agent ids (admins included), ascending.
    pub agents: Vec<u64>,
    /// Groups with their member agents, ascending by id.
    pub groups: Vec<Group>,
}

/// A group and who is in it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Group {
    /// The platform's id.
    pub id: u64,
    /// Member agents' ids (may be empty).
    pub agent_ids: Vec<u64>,
}

/// What a platform client does: read who works there, and perform one step.
pub trait PlatformClient {
    /// The API it speaks.
    fn kind(&self) -> PlatformKind;
    /// Reads the agents and groups.
    fn roster(&self) -> impl Future<Output = Result<Roster, TrafficError>> + Send;
    /// Performs one step; per-step trouble is in the [`Answer`], never an `Err`.
    fn perform(&self, step: &Step) -> impl Future<Output = Answer> + Send;
}

/// Either platform's client.
#[derive(Debug, Clone)]
pub enum AnyClient {
    /// Zendesk.
    Zendesk(ZendeskClient),
    /// Freshdesk.
    Freshdesk(FreshdeskClient),
}

impl AnyClient {
    /// A client for `kind` at `base` authenticating as `user` with `secret`: Zendesk takes the
    /// agent's e-mail and an API token, Freshdesk an API key (`user`) and any password.
    pub fn new(
        kind: PlatformKind,
        side: Side,
        base: Url,
        user: &str,
        secret: &str,
    ) -> Result<Self, TrafficError> {
        Ok(match kind {
            PlatformKind::Zendesk => {
                let http = Http::new(side, base, &format!("{user}/token:{secret}"))?;
                Self::Zendesk(ZendeskClient::new(http).with_token(secret))
            }
            PlatformKind::Freshdesk => {
                let http = Http::new(side, base, &format!("{user}:{secret}"))?;
                Self::Freshdesk(FreshdeskClient::new(http))
            }
        })
    }
}

impl PlatformClient for AnyClient {
    fn kind(&self) -> PlatformKind {
        match self {
            Self::Zendesk(c) => c.kind(),
            Self::Freshdesk(c) => c.kind(),
        }
    }

    async fn roster(&self) -> Result<Roster, TrafficError> {
        match self {
            Self::Zendesk(c) => c.roster().await,
            Self::Freshdesk(c) => c.roster().await,
        }
    }

    async fn perform(&self, step: &Step) -> Answer {
        match self {
            Self::Zendesk(c) => c.perform(step).await,
            Self::Freshdesk(c) => c.perform(step).await,
        }
    }
}

/// One platform's HTTP: base URL, basic auth, a shared connection pool.
#[derive(Clone)]
pub struct Http {
    side: Side,
    client: reqwest::Client,
    base: String,
    authorization: String,
}

impl fmt::Debug for Http {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Http")
            .field("side", &self.side)
            .field("base", &self.base)
            .field("authorization", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// A platform's reply: status and body (`Null` when empty or not JSON).
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status; 0 when nothing came back.
    pub status: u16,
    /// Parsed body.
    pub body: Value,
    /// Raw body (or the transport error), kept for the ledger when the call failed.
    pub text: String,
}

impl Reply {
    /// Whether the status is 2xx.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

impl Http {
    /// A client for `base` sending `Authorization: Basic base64(credentials)`.
    pub fn new(side: Side, base: Url, credentials: &str) -> Result<Self, TrafficError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| TrafficError::Client {
                side,
                reason: e.to_string(),
            })?;
        let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
        Ok(Self {
            side,
            client,
            base: base.as_str().trim_end_matches('/').to_owned(),
            authorization: format!("Basic {encoded}"),
        })
    }

    /// The same client signed in with other `credentials` (`user:secret`).
    pub fn signed_in_as(&self, credentials: &str) -> Self {
        let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
        Self {
            authorization: format!("Basic {encoded}"),
            ..self.clone()
        }
    }

    /// Which side this client talks to.
    pub fn side(&self) -> Side {
        self.side
    }

    /// The base URL, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends one request, retrying 429s (after `Retry-After`) and transport errors; counts every
    /// attempt in `requests`.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        requests: &mut u32,
    ) -> Reply {
        let url = format!("{}{path}", self.base);
        let mut last = Reply {
            status: 0,
            body: Value::Null,
            text: String::new(),
        };
        for attempt in 0..ATTEMPTS {
            *requests += 1;
            let mut request = self
                .client
                .request(method.clone(), &url)
                .header(reqwest::header::AUTHORIZATION, &self.authorization);
            if let Some(body) = body {
                request = request.json(body);
            }
            match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    let wait = retry_after(&response);
                    let text = response.text().await.unwrap_or_default();
                    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
                    last = Reply {
                        status: status.as_u16(),
                        body,
                        text,
                    };
                    if status != StatusCode::TOO_MANY_REQUESTS || attempt + 1 == ATTEMPTS {
                        return last;
                    }
                    tokio::time::sleep(wait).await;
                }
                Err(e) => {
                    last = Reply {
                        status: 0,
                        body: Value::Null,
                        text: format!("{method} {url}: {e}"),
                    };
                    if attempt >= 2 {
                        return last;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        last
    }

    /// Reads a JSON list page for the roster; an error names side, path and status.
    pub async fn get_json(&self, path: &str) -> Result<Value, TrafficError> {
        let mut requests = 0;
        let reply = self.send(Method::GET, path, None, &mut requests).await;
        if reply.ok() {
            Ok(reply.body)
        } else {
            Err(TrafficError::Roster {
                side: self.side,
                path: path.to_owned(),
                reason: failure_text(&reply),
            })
        }
    }
}

fn retry_after(response: &reqwest::Response) -> Duration {
    response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(Duration::from_secs(1), Duration::from_secs)
        .min(MAX_RETRY_AFTER)
}

/// A short description of a failed reply for the ledger: status and the start of the body.
pub fn failure_text(reply: &Reply) -> String {
    let text: String = reply.text.chars().take(300).collect();
    if reply.status == 0 {
        text
    } else {
        format!("HTTP {}: {text}", reply.status)
    }
}

/// Folds the replies of one step into its [`Answer`]: the first failure decides, else the last.
pub fn answer_of(replies: &[Reply], requests: u32, created_id: Option<u64>) -> Answer {
    let deciding = replies.iter().find(|r| !r.ok()).or(replies.last());
    match deciding {
        Some(reply) if reply.ok() => Answer {
            status: reply.status,
            created_id,
            requester_id: None,
            requests,
            error: None,
        },
        Some(reply) => Answer {
            status: reply.status,
            created_id: None,
            requester_id: None,
            requests,
            error: Some(failure_text(reply)),
        },
        None => Answer {
            requests,
            ..Answer::default()
        },
    }
}

/// A JSON number or numeric string as an id.
pub fn id_of(v: &Value) -> Option<u64> {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}
