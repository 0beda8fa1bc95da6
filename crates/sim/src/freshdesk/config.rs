//! The options a Freshdesk emulator starts with, and the plans' rate limits.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::AccountProfile;
use crate::faults::FaultConfig;

/// A Freshdesk plan: it sets the per-minute budgets (account and per endpoint).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Plan {
    /// 200 a minute; ticket create 80, update 80, tickets list 20, contacts list 20.
    Growth,
    /// 400 a minute; 160, 160, 100, 100.
    Pro,
    /// 700 a minute; 280, 280, 200, 200.
    #[default]
    Enterprise,
}

/// A plan's per-minute budgets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanLimits {
    /// The whole account.
    pub account: u32,
    /// `POST /tickets`.
    pub ticket_create: u32,
    /// `PUT /tickets/{id}`.
    pub ticket_update: u32,
    /// `GET /tickets`.
    pub tickets_list: u32,
    /// `GET /contacts`.
    pub contacts_list: u32,
}

impl Plan {
    /// The plan's documented per-minute budgets.
    pub fn limits(self) -> PlanLimits {
        let (account, ticket_create, ticket_update, tickets_list, contacts_list) = match self {
            Self::Growth => (200, 80, 80, 20, 20),
            Self::Pro => (400, 160, 160, 100, 100),
            Self::Enterprise => (700, 280, 280, 200, 200),
        };
        PlanLimits {
            account,
            ticket_create,
            ticket_update,
            tickets_list,
            contacts_list,
        }
    }

    /// The plan's name in lower case.
    pub fn name(self) -> &'static str {
        match self {
            Self::Growth => "growth",
            Self::Pro => "pro",
            Self::Enterprise => "enterprise",
        }
    }
}

impl FromStr for Plan {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "growth" => Ok(Self::Growth),
            "pro" => Ok(Self::Pro),
            "enterprise" => Ok(Self::Enterprise),
            other => Err(format!(
                "unknown plan {other:?}: expected growth, pro or enterprise"
            )),
        }
    }
}

/// How to start a Freshdesk emulator. `Default` gives a small, realistic account: seed 1, 50 tickets, API
/// key `sim-key`, the Enterprise plan's limits, plain HTTP, no faults, creation
/// acknowledgements on.
#[derive(Debug, Clone)]
pub struct FreshdeskOptions {
    /// Seed of the data generator: the same seed gives the same data.
    pub seed: u64,
    /// Tickets to generate at start (with contacts, companies, conversations, …); none is an
    /// account being set up.
    pub tickets: usize,
    /// What the generated account looks like: a real one (default) or the plain template.
    pub profile: AccountProfile,
    /// The API key accepted as the basic-auth user name (any password, `X` by convention).
    pub api_key: String,
    /// A second API key, of an agent with the built-in Agent role (added to the account when
    /// set): it reads tickets, but what takes the Admin tab (roles, fields, agents, automation
    /// rules, webhooks) is refused with 403 `access_denied`, as a team's own agent key is.
    pub agent_api_key: Option<String>,
    /// The plan whose budgets apply.
    pub plan: Plan,
    /// The account budget per minute instead of the plan's; `Some(0)` turns every limit off.
    /// The per-endpoint budgets keep the plan's values (scaled when this is lower).
    pub rate_limit_rpm: Option<u32>,
    /// The helpdesk domain named in generated data (`{domain}.freshdesk.com`).
    pub domain: String,
    /// Serve HTTPS with a generated certificate, written here (PEM).
    pub tls_cert_out: Option<PathBuf>,
    /// Serve HTTPS even without writing the certificate anywhere.
    pub tls: bool,
    /// Faults in force from the start.
    pub faults: FaultConfig,
    /// The clock's time at start; `None` is real time.
    pub start_time: Option<DateTime<Utc>>,
    /// Whether the "new ticket created" e-mail to the requester is on (e-mail, portal and
    /// feedback-widget tickets).
    pub acknowledge_new_tickets: bool,
    /// Whether the other requester notifications of Admin > Email Notifications are on: a
    /// public note by an agent, the ticket resolved, the ticket closed (each e-mails the
    /// requester). On in a new account; `/_sim/email_notifications` changes them while running.
    pub requester_notifications: bool,
    /// Wait before the first webhook retry (doubles per retry).
    pub webhook_retry_base: Duration,
    /// Attempts per webhook invocation.
    pub webhook_attempts: u32,
    /// Allow webhooks to non-loopback endpoints (off: nothing leaves the machine).
    pub allow_external_webhooks: bool,
}

impl Default for FreshdeskOptions {
    fn default() -> Self {
        Self {
            seed: 1,
            tickets: 50,
            profile: AccountProfile::Realistic,
            api_key: "sim-key".to_owned(),
            agent_api_key: None,
            plan: Plan::Enterprise,
            rate_limit_rpm: None,
            domain: "cutover-sim".to_owned(),
            tls_cert_out: None,
            tls: false,
            faults: FaultConfig::default(),
            start_time: None,
            acknowledge_new_tickets: true,
            requester_notifications: true,
            webhook_retry_base: Duration::from_secs(1),
            webhook_attempts: 4,
            allow_external_webhooks: false,
        }
    }
}

impl FreshdeskOptions {
    /// Whether the emulator serves HTTPS.
    pub fn serves_tls(&self) -> bool {
        self.tls || self.tls_cert_out.is_some()
    }

    /// The budgets in force: the plan's, with the account budget replaced by
    /// `rate_limit_rpm`; `None` when limits are off.
    pub fn limits(&self) -> Option<PlanLimits> {
        let plan = self.plan.limits();
        match self.rate_limit_rpm {
            Some(0) => None,
            None => Some(plan),
            Some(rpm) => {
                let scale = |n: u32| {
                    if rpm >= plan.account {
                        n
                    } else {
                        (u64::from(n) * u64::from(rpm) / u64::from(plan.account)).max(1) as u32
                    }
                };
                Some(PlanLimits {
                    account: rpm,
                    ticket_create: scale(plan.ticket_create),
                    ticket_update: scale(plan.ticket_update),
                    tickets_list: scale(plan.tickets_list),
                    contacts_list: scale(plan.contacts_list),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_parse_and_carry_their_budgets() {
        assert_eq!("Pro".parse::<Plan>(), Ok(Plan::Pro));
        assert!("free".parse::<Plan>().is_err());
        assert_eq!(Plan::Growth.limits().tickets_list, 20);
        let opts = FreshdeskOptions {
            rate_limit_rpm: Some(0),
            ..FreshdeskOptions::default()
        };
        assert_eq!(opts.limits(), None);
        let opts = FreshdeskOptions {
            plan: Plan::Growth,
            rate_limit_rpm: Some(100),
            ..FreshdeskOptions::default()
        };
        let limits = opts.limits().unwrap_or(Plan::Pro.limits());
        assert_eq!((limits.account, limits.ticket_create), (100, 40));
    }
}
