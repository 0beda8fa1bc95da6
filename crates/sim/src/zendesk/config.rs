//! The options a Zendesk emulator starts with.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::AccountProfile;
use crate::faults::FaultConfig;

/// How to start a Zendesk emulator. `Default` gives a small, open, realistic account: seed 1, 50
/// tickets, token `sim-token`, admin `admin@example.com`, 700 requests per minute, incremental
/// exports 10 per minute, plain HTTP, no faults.
#[derive(Debug, Clone)]
pub struct ZendeskOptions {
    /// Seed of the data generator: the same seed gives the same data.
    pub seed: u64,
    /// Tickets to generate at start (with their users, organizations, comments, …); none is an
    /// account being set up.
    pub tickets: usize,
    /// What the generated account looks like: a real one (default) or the plain template.
    pub profile: AccountProfile,
    /// The API token accepted with `EMAIL/token:TOKEN` and as `Bearer TOKEN`.
    pub token: String,
    /// The account owner's (admin's) e-mail.
    pub email: String,
    /// The subdomain named in generated data (`{subdomain}.zendesk.com`).
    pub subdomain: String,
    /// Account requests per minute; `None` or `Some(0)` turns the limit off.
    pub rate_limit_rpm: Option<u32>,
    /// Incremental-export requests per minute (Zendesk: 10); 0 turns it off.
    pub incremental_rpm: u32,
    /// Serve HTTPS with a generated certificate, written here (PEM).
    pub tls_cert_out: Option<PathBuf>,
    /// Serve HTTPS even without writing the certificate anywhere.
    pub tls: bool,
    /// Faults in force from the start.
    pub faults: FaultConfig,
    /// The clock's time at start; `None` is real time.
    pub start_time: Option<DateTime<Utc>>,
    /// Wait before the first webhook retry (doubles per retry).
    pub webhook_retry_base: Duration,
    /// Attempts per webhook invocation.
    pub webhook_attempts: u32,
    /// Allow webhooks to non-loopback endpoints (off: nothing leaves the machine).
    pub allow_external_webhooks: bool,
    /// How many seconds of the latest changes the incremental exports hold back (Zendesk: the
    /// last minute, 60). Shorter only to rehearse quickly (`cutover demo`), with the bridge told
    /// the same.
    pub export_delay_secs: i64,
}

impl Default for ZendeskOptions {
    fn default() -> Self {
        Self {
            seed: 1,
            tickets: 50,
            profile: AccountProfile::Realistic,
            token: "sim-token".to_owned(),
            email: "admin@example.com".to_owned(),
            subdomain: "cutover-sim".to_owned(),
            rate_limit_rpm: Some(700),
            incremental_rpm: 10,
            tls_cert_out: None,
            tls: false,
            faults: FaultConfig::default(),
            start_time: None,
            webhook_retry_base: Duration::from_secs(1),
            webhook_attempts: 4,
            allow_external_webhooks: false,
            export_delay_secs: 60,
        }
    }
}

impl ZendeskOptions {
    /// Whether the emulator serves HTTPS.
    pub fn serves_tls(&self) -> bool {
        self.tls || self.tls_cert_out.is_some()
    }
}
