//! The HTTP layer shared by the connectors: a reqwest client with the platform's credentials,
//! every request paced through the connector's [`RateBudget`], retried when that is safe, and
//! answered as an [`HttpResponse`] or a classified [`ConnectError`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use cutover_model::PlatformKind;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use url::Url;

use crate::budget::{RateBudget, RateHeaders};
use crate::error::{ConnectError, ErrorClass, classify_status, error_message, parse_retry_after};
use crate::retry::RetryPolicy;

/// How a connector proves who it is. Debug never shows a secret.
#[derive(Clone)]
pub enum Auth {
    /// HTTP Basic: Zendesk's `{email}/token` + API token, Freshdesk's API key + `X`.
    Basic {
        /// The user name (for Freshdesk, the API key itself: so it is secret too).
        user: SecretString,
        /// The password or token.
        password: SecretString,
    },
    /// An OAuth bearer token.
    Bearer(SecretString),
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::Basic { .. } => f.write_str("Auth::Basic([redacted])"),
            Auth::Bearer(_) => f.write_str("Auth::Bearer([redacted])"),
        }
    }
}

/// Whether a request may be sent again after trouble whose outcome is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Reads, updates and anything idempotent: retry 429s, 5xx, timeouts and dropped connections.
    All,
    /// Creates without an idempotency key: retry only what surely did not happen (429, refused
    /// connections); anything else goes back to the caller, who looks up before trying again.
    ThrottleOnly,
}

/// A file sent inside a multipart body.
#[derive(Debug, Clone)]
pub(crate) struct FilePart {
    pub(crate) field: String,
    pub(crate) file_name: String,
    pub(crate) content_type: String,
    pub(crate) bytes: Arc<Vec<u8>>,
}

/// A request body that can be built again for every attempt.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    Empty,
    Json(Value),
    Bytes {
        content_type: String,
        bytes: Arc<Vec<u8>>,
    },
    Multipart {
        fields: Vec<(String, String)>,
        files: Vec<FilePart>,
    },
}

/// Where a request goes: a path under the API base, or a full URL the platform gave us.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    Path(String),
    Url(Url),
}

/// One request, described so it can be sent again.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) method: Method,
    pub(crate) target: Target,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) body: Body,
    pub(crate) headers: Vec<(HeaderName, String)>,
    pub(crate) lane: Option<&'static str>,
    pub(crate) retry: Retry,
}

impl Request {
    pub(crate) fn new(method: Method, path: impl Into<String>) -> Self {
        Request {
            method,
            target: Target::Path(path.into()),
            query: Vec::new(),
            body: Body::Empty,
            headers: Vec::new(),
            lane: None,
            retry: Retry::All,
        }
    }

    pub(crate) fn get(path: impl Into<String>) -> Self {
        Request::new(Method::GET, path)
    }

    pub(crate) fn url(url: Url) -> Self {
        Request {
            target: Target::Url(url),
            ..Request::get("")
        }
    }

    pub(crate) fn query(mut self, key: &str, value: impl ToString) -> Self {
        self.query.push((key.to_owned(), value.to_string()));
        self
    }

    pub(crate) fn json(mut self, body: Value) -> Self {
        self.body = Body::Json(body);
        self
    }

    pub(crate) fn body(mut self, body: Body) -> Self {
        self.body = body;
        self
    }

    pub(crate) fn header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub(crate) fn lane(mut self, lane: &'static str) -> Self {
        self.lane = Some(lane);
        self
    }

    pub(crate) fn retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }
}

/// A 2xx answer, read whole.
#[derive(Debug)]
pub(crate) struct HttpResponse {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl HttpResponse {
    /// A header as text.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `rel="next"` target of a `Link` header (Freshdesk's pagination).
    pub(crate) fn link_next(&self) -> Option<String> {
        let link = self.header("link")?;
        link.split(',').find_map(|part| {
            let (target, params) = part.split_once(';')?;
            let is_next = params.split(';').any(|p| {
                let p = p.trim().replace(' ', "");
                p == "rel=\"next\"" || p == "rel=next"
            });
            is_next.then(|| {
                target
                    .trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_owned()
            })
        })
    }
}

/// What to do after an attempt.
enum Outcome {
    Done(HttpResponse),
    Fail(ConnectError),
    Throttled(Option<Duration>),
    Retry {
        detail: String,
        wait: Option<Duration>,
    },
}

/// What one attempt came to.
enum Attempt {
    Answer(HttpResponse),
    Failed { detail: String, surely_unsent: bool },
}

/// A platform's HTTP client: base URL, credentials, budget and retry rules.
pub(crate) struct HttpClient {
    client: reqwest::Client,
    base: Url,
    auth: Auth,
    budget: Arc<RateBudget>,
    retry: RetryPolicy,
    platform: PlatformKind,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("platform", &self.platform)
            .field("base", &redacted_url(&self.base))
            .field("auth", &self.auth)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// A URL with any user name, password and query removed: safe for logs.
pub(crate) fn redacted_url(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.to_string()
}

/// A page of the account for people (`agent/tickets/42`), from its API root: the same host,
/// with no query, user name or password.
pub(crate) fn page_url(api_root: &Url, path: &str) -> Option<Url> {
    let mut account = api_root.clone();
    let root = account
        .path()
        .trim_end_matches('/')
        .trim_end_matches("/api/v2")
        .to_owned();
    account.set_path(&format!("{root}/{path}"));
    account.set_query(None);
    // A base URL with no host cannot hold a user name; then there is none to remove.
    let _ = account.set_username("");
    let _ = account.set_password(None);
    Some(account)
}

/// The API root under an account URL: `https://acme.zendesk.com` and
/// `https://acme.zendesk.com/api/v2` both become `https://acme.zendesk.com/api/v2/`.
pub(crate) fn api_root(account: &Url) -> Url {
    let mut base = account.clone();
    let path = base.path().trim_end_matches('/').to_owned();
    let path = if path.ends_with("/api/v2") {
        format!("{path}/")
    } else {
        format!("{path}/api/v2/")
    };
    base.set_path(&path);
    base.set_query(None);
    base
}

impl HttpClient {
    /// A client for `base` (the API root, e.g. `https://acme.zendesk.com/api/v2/`).
    pub(crate) fn new(
        platform: PlatformKind,
        base: Url,
        auth: Auth,
        budget: Arc<RateBudget>,
        retry: RetryPolicy,
    ) -> Result<Self, ConnectError> {
        let config = |detail: String| ConnectError::Config { platform, detail };
        if !matches!(base.scheme(), "http" | "https") || base.host().is_none() {
            return Err(config(format!(
                "base url {} is not an http(s) url",
                redacted_url(&base)
            )));
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(config(
                "base url must not carry credentials: pass them apart".into(),
            ));
        }
        ensure_crypto_provider();
        let client = reqwest::Client::builder()
            .user_agent(concat!("cutover/", env!("CARGO_PKG_VERSION")))
            .timeout(retry.timeout)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| config(format!("build http client: {}", e.without_url())))?;
        Ok(HttpClient {
            client,
            base,
            auth,
            budget,
            retry,
            platform,
        })
    }

    /// The connector's budget.
    pub(crate) fn budget(&self) -> &Arc<RateBudget> {
        &self.budget
    }

    /// The API base URL.
    pub(crate) fn base(&self) -> &Url {
        &self.base
    }

    fn resolve(&self, target: &Target, op: &str) -> Result<Url, ConnectError> {
        match target {
            Target::Url(url) => Ok(url.clone()),
            Target::Path(path) => {
                self.base
                    .join(path.trim_start_matches('/'))
                    .map_err(|e| ConnectError::Malformed {
                        op: op.to_owned(),
                        detail: format!("path {path:?} does not join the base url: {e}"),
                    })
            }
        }
    }

    /// Whether `url` is on the platform's own host: only there do credentials go.
    fn same_origin(&self, url: &Url) -> bool {
        url.scheme() == self.base.scheme()
            && url.host_str() == self.base.host_str()
            && url.port_or_known_default() == self.base.port_or_known_default()
    }

    /// Sends `request`, paced and retried, and returns the 2xx answer or a classified error.
    pub(crate) async fn send(
        &self,
        op: &str,
        request: &Request,
    ) -> Result<HttpResponse, ConnectError> {
        let url = self.resolve(&request.target, op)?;
        // Files on a CDN do not count against the platform's API limit.
        let paced = self.same_origin(&url);
        let (mut failures, mut throttled) = (0u32, 0u32);
        loop {
            if paced {
                self.budget.acquire(request.lane).await;
            }
            let attempt = self.attempt(&url, request).await;
            match self.judge(op, request, paced, attempt) {
                Outcome::Done(response) => return Ok(response),
                Outcome::Fail(error) => return Err(error),
                Outcome::Throttled(retry_after) => {
                    throttled += 1;
                    if throttled > self.retry.max_throttled {
                        let last = "http 429: too many requests";
                        return Err(self.exhausted(op, failures + throttled, last));
                    }
                    tracing::debug!(platform = %self.platform, op, throttled, "Throttled; waiting out Retry-After");
                    if paced {
                        self.budget.throttled(request.lane, retry_after);
                    } else {
                        tokio::time::sleep(retry_after.unwrap_or(Duration::from_secs(5))).await;
                    }
                }
                Outcome::Retry { detail, wait } => {
                    failures += 1;
                    if failures >= self.retry.max_attempts {
                        return Err(self.exhausted(op, failures + throttled, &detail));
                    }
                    let backoff = self.retry.backoff_now(failures);
                    let wait = wait.map_or(backoff, |w| w.max(backoff));
                    tracing::debug!(platform = %self.platform, op, failures, error = %detail, wait_ms = wait.as_millis() as u64, "Retrying after transient trouble");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// One GET of `path`, timed, neither retried nor throttled further than the budget's pacing
    /// (the wait for the budget is not timed): the continuity monitor's probe of the API.
    pub(crate) async fn probe(&self, path: &str) -> crate::Probe {
        let request = Request::get(path);
        let Ok(url) = self.resolve(&request.target, "probe the api") else {
            return crate::Probe {
                status: None,
                elapsed: Duration::ZERO,
            };
        };
        self.budget.acquire(request.lane).await;
        let started = std::time::Instant::now();
        let attempt = self.attempt(&url, &request).await;
        let elapsed = started.elapsed();
        let status = match attempt {
            Attempt::Answer(response) => {
                self.budget
                    .observe(&RateHeaders::from_headers(&response.headers));
                Some(response.status)
            }
            Attempt::Failed { .. } => None,
        };
        crate::Probe { status, elapsed }
    }

    /// What to do about one attempt's result.
    fn judge(&self, op: &str, request: &Request, paced: bool, attempt: Attempt) -> Outcome {
        let response = match attempt {
            Attempt::Answer(response) => response,
            Attempt::Failed {
                detail,
                surely_unsent,
            } => {
                if request.retry == Retry::ThrottleOnly && !surely_unsent {
                    return Outcome::Fail(ConnectError::Transport {
                        op: op.to_owned(),
                        detail,
                    });
                }
                return Outcome::Retry { detail, wait: None };
            }
        };
        if paced {
            self.budget
                .observe(&RateHeaders::from_headers(&response.headers));
        }
        let retry_after = response.header("retry-after").and_then(parse_retry_after);
        if response.status == 429 {
            return Outcome::Throttled(retry_after);
        }
        if (200..300).contains(&response.status) {
            return Outcome::Done(response);
        }
        let class = classify_status(response.status);
        let message = error_message(&response.body);
        if class != ErrorClass::Transient || request.retry == Retry::ThrottleOnly {
            let status = response.status;
            return Outcome::Fail(ConnectError::Http {
                op: op.to_owned(),
                status,
                message,
                class,
            });
        }
        Outcome::Retry {
            detail: format!("http {}: {message}", response.status),
            wait: retry_after,
        }
    }

    fn exhausted(&self, op: &str, attempts: u32, last: &str) -> ConnectError {
        ConnectError::Exhausted {
            op: op.to_owned(),
            attempts,
            last: last.to_owned(),
        }
    }

    async fn attempt(&self, url: &Url, request: &Request) -> Attempt {
        let mut builder = self.client.request(request.method.clone(), url.clone());
        if !request.query.is_empty() {
            builder = builder.query(&request.query);
        }
        if self.same_origin(url) {
            builder = match &self.auth {
                Auth::Basic { user, password } => {
                    builder.basic_auth(user.expose_secret(), Some(password.expose_secret()))
                }
                Auth::Bearer(token) => builder.bearer_auth(token.expose_secret()),
            };
        }
        for (name, value) in &request.headers {
            if let Ok(value) = HeaderValue::from_str(value) {
                builder = builder.header(name.clone(), value);
            }
        }
        builder = match build_body(&request.body) {
            Ok(Some(BuiltBody::Json(v))) => builder.json(v),
            Ok(Some(BuiltBody::Raw(content_type, bytes))) => builder
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(bytes),
            Ok(Some(BuiltBody::Form(form))) => builder.multipart(form),
            Ok(None) => builder,
            Err(detail) => {
                return Attempt::Failed {
                    detail,
                    surely_unsent: false,
                };
            }
        };
        match builder.send().await {
            Ok(response) => {
                let status = response.status();
                let headers = response.headers().clone();
                match response.bytes().await {
                    Ok(body) => Attempt::Answer(HttpResponse {
                        status: status.as_u16(),
                        headers,
                        body: body.to_vec(),
                    }),
                    Err(e) => Attempt::Failed {
                        detail: describe(&e, status),
                        surely_unsent: false,
                    },
                }
            }
            Err(e) => Attempt::Failed {
                detail: describe(&e, StatusCode::OK),
                surely_unsent: e.is_connect(),
            },
        }
    }
}

enum BuiltBody<'a> {
    Json(&'a Value),
    Raw(String, Vec<u8>),
    Form(reqwest::multipart::Form),
}

fn build_body(body: &Body) -> Result<Option<BuiltBody<'_>>, String> {
    Ok(match body {
        Body::Empty => None,
        Body::Json(value) => Some(BuiltBody::Json(value)),
        Body::Bytes {
            content_type,
            bytes,
        } => Some(BuiltBody::Raw(content_type.clone(), bytes.to_vec())),
        Body::Multipart { fields, files } => {
            let mut form = reqwest::multipart::Form::new();
            for (name, value) in fields {
                form = form.text(name.clone(), value.clone());
            }
            for file in files {
                let part = reqwest::multipart::Part::bytes(file.bytes.to_vec())
                    .file_name(file.file_name.clone())
                    .mime_str(&file.content_type)
                    .map_err(|e| {
                        format!(
                            "content type {:?} of {}: {e}",
                            file.content_type, file.file_name
                        )
                    })?;
                form = form.part(file.field.clone(), part);
            }
            Some(BuiltBody::Form(form))
        }
    })
}

/// A transport error as text, without its URL (which may carry e-mail addresses in the query).
fn describe(error: &reqwest::Error, status: StatusCode) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_body() || error.is_decode() {
        "the answer broke off"
    } else {
        "request failed"
    };
    let mut text = format!("{kind}: {error}");
    if let Some(url) = error.url() {
        text = text.replace(url.as_str(), &redacted_url(url));
    }
    if status != StatusCode::OK {
        text = format!("http {}: {text}", status.as_u16());
    }
    text
}

/// reqwest is built without a default TLS crypto provider (to avoid aws-lc's C build); install
/// ring's once. Installing twice is refused harmlessly, so every client may call this.
fn ensure_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_debug_hides_secrets() {
        let auth = Auth::Basic {
            user: "agent@example.com/token".into(),
            password: "s3cr3t".into(),
        };
        let shown = format!("{auth:?}");
        assert!(
            !shown.contains("s3cr3t") && !shown.contains("agent@example.com"),
            "{shown}"
        );
    }

    #[test]
    fn the_api_root_is_found_under_any_account_url() {
        for account in [
            "https://acme.zendesk.com",
            "https://acme.zendesk.com/",
            "https://acme.zendesk.com/api/v2",
            "https://acme.zendesk.com/api/v2/",
        ] {
            let root = api_root(&Url::parse(account).unwrap());
            assert_eq!(
                root.as_str(),
                "https://acme.zendesk.com/api/v2/",
                "{account}"
            );
        }
    }

    #[test]
    fn urls_lose_credentials_and_queries_when_shown() {
        let url =
            Url::parse("https://me:pw@acme.zendesk.com/api/v2/users/search?query=email:a@b.c")
                .unwrap();
        assert_eq!(
            redacted_url(&url),
            "https://acme.zendesk.com/api/v2/users/search"
        );
    }

    #[test]
    fn link_next_is_found_among_links() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "link",
            HeaderValue::from_static(
                "<https://acme.freshdesk.com/api/v2/tickets?page=2>; rel=\"next\"",
            ),
        );
        let response = HttpResponse {
            status: 200,
            headers,
            body: Vec::new(),
        };
        assert_eq!(
            response.link_next().as_deref(),
            Some("https://acme.freshdesk.com/api/v2/tickets?page=2")
        );
        let none = HttpResponse {
            status: 200,
            headers: HeaderMap::new(),
            body: Vec::new(),
        };
        assert_eq!(none.link_next(), None);
    }
}
