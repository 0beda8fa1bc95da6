//! Paging people by real protocols: e-mail over SMTP (lettre, tokio + rustls) to each person's
//! address in the plan's `[people]`, and one message to each incoming webhook configured, in the
//! JSON Slack (`{"text": …}`) and Microsoft Teams (a `MessageCard`) accept.
//!
//! The configuration comes resolved from the caller (the binary reads the environment variables
//! the plan names); the password and the webhook URLs are secrets: they never reach a `Debug`,
//! a log line or an error text (a webhook's error is reported without its URL).

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::json;

pub use cutover_plan::plan::names::SmtpTls;

/// How long one delivery may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The SMTP relay pages go through.
#[derive(Clone)]
pub struct SmtpConfig {
    /// The relay's host.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// How the connection is secured.
    pub tls: SmtpTls,
    /// The sender.
    pub from: String,
    /// User name and password, when the relay asks for them.
    pub credentials: Option<(String, SecretString)>,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("from", &self.from)
            .field(
                "credentials",
                &self.credentials.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

/// Where pages go. Each part is optional: a plan without any pages nobody (and
/// `cutover alerts` says so).
#[derive(Clone, Default)]
pub struct PagerConfig {
    /// E-mail, to each person paged.
    pub smtp: Option<SmtpConfig>,
    /// A Slack incoming webhook's URL (a secret).
    pub slack: Option<SecretString>,
    /// A Microsoft Teams incoming webhook's URL (a secret).
    pub teams: Option<SecretString>,
}

impl std::fmt::Debug for PagerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PagerConfig")
            .field("smtp", &self.smtp)
            .field("slack", &self.slack.as_ref().map(|_| "[redacted]"))
            .field("teams", &self.teams.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

/// A person paged, from the plan's `[people]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recipient {
    /// Their id in the plan.
    pub id: String,
    /// Their name.
    pub name: String,
    /// Their e-mail address.
    pub email: String,
    /// Their role (`viewer`, `operator`, `admin`).
    pub role: String,
}

/// One page: what happened, to whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Page {
    /// One line, the e-mail's subject and the chat message's title.
    pub subject: String,
    /// The evidence, in plain text.
    pub text: String,
    /// Who is paged.
    pub to: Vec<Recipient>,
}

/// What one delivery came to: `ok`, or the error (never a secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// `email:<address>`, `slack` or `teams`.
    pub via: String,
    /// `None` when it was delivered.
    pub error: Option<String>,
}

/// Sends pages.
#[derive(Debug, Clone)]
pub struct Pager {
    config: PagerConfig,
    http: reqwest::Client,
}

impl Pager {
    /// A pager over `config`.
    pub fn new(config: PagerConfig) -> Self {
        // The workspace's reqwest and lettre use rustls with ring; a process that installed
        // a provider already keeps it.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Pager { config, http }
    }

    /// Whether any way of paging is configured.
    pub fn is_configured(&self) -> bool {
        self.config.smtp.is_some() || self.config.slack.is_some() || self.config.teams.is_some()
    }

    /// Sends `page` every way configured; each delivery's outcome, never an error.
    pub async fn send(&self, page: &Page) -> Vec<Delivery> {
        let mut out = Vec::new();
        if let Some(smtp) = &self.config.smtp {
            for person in &page.to {
                let error = send_mail(smtp, &person.email, page).await.err();
                out.push(Delivery {
                    via: format!("email:{}", person.email),
                    error,
                });
            }
        }
        if let Some(url) = &self.config.slack {
            let body =
                json!({ "text": format!("*{}*\n{}\n{}", page.subject, page.text, names(page)) });
            out.push(Delivery {
                via: "slack".to_owned(),
                error: self.post(url, &body).await.err(),
            });
        }
        if let Some(url) = &self.config.teams {
            let body = json!({
                "@type": "MessageCard",
                "@context": "https://schema.org/extensions",
                "summary": page.subject,
                "themeColor": "D70000",
                "title": page.subject,
                "text": format!("{}\n\n{}", page.text, names(page)),
            });
            out.push(Delivery {
                via: "teams".to_owned(),
                error: self.post(url, &body).await.err(),
            });
        }
        out
    }

    async fn post(&self, url: &SecretString, body: &serde_json::Value) -> Result<(), String> {
        let response = self
            .http
            .post(url.expose_secret())
            .json(body)
            .send()
            .await
            .map_err(|e| e.without_url().to_string())?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("the webhook answered {status}"))
        }
    }
}

/// Whom a page is for, as a chat message names them.
fn names(page: &Page) -> String {
    let people: Vec<String> = page
        .to
        .iter()
        .map(|p| format!("{} ({}, {})", p.name, p.role, p.email))
        .collect();
    if people.is_empty() {
        String::from("Paged: nobody named in the plan.")
    } else {
        format!("Paged: {}", people.join(", "))
    }
}

async fn send_mail(smtp: &SmtpConfig, to: &str, page: &Page) -> Result<(), String> {
    let message = Message::builder()
        .from(
            smtp.from
                .parse()
                .map_err(|e| format!("sender {:?}: {e}", smtp.from))?,
        )
        .to(to.parse().map_err(|e| format!("recipient {to:?}: {e}"))?)
        .subject(page.subject.as_str())
        .header(ContentType::TEXT_PLAIN)
        .body(page.text.clone())
        .map_err(|e| format!("the message: {e}"))?;
    let builder = match smtp.tls {
        SmtpTls::None => {
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.as_str())
        }
        SmtpTls::Starttls => {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(smtp.host.as_str())
                .map_err(|e| format!("the relay {}: {e}", smtp.host))?
        }
        SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(smtp.host.as_str())
            .map_err(|e| format!("the relay {}: {e}", smtp.host))?,
    };
    let mut builder = builder.port(smtp.port).timeout(Some(TIMEOUT));
    if let Some((user, password)) = &smtp.credentials {
        builder = builder.credentials(Credentials::new(
            user.clone(),
            password.expose_secret().to_owned(),
        ));
    }
    builder
        .build()
        .send(message)
        .await
        .map(|_| ())
        .map_err(|e| format!("the relay {}:{}: {e}", smtp.host, smtp.port))
}
