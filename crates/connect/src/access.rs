//! Who the credentials are on a platform and what their role allows: what `cutover doctor`
//! checks before anything moves, read without writing anything.

use serde::Serialize;

/// What the platform says of the user the credentials belong to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Access {
    /// The user's e-mail, when the platform says.
    pub user: Option<String>,
    /// The role's name as the platform shows it (Zendesk `admin`, `agent`; Freshdesk
    /// `Account Administrator`, `Agent`, …).
    pub role: String,
    /// Whether the role may change the account's configuration: create ticket fields, agents,
    /// rules and webhooks, import tickets, read the incremental exports.
    pub admin: bool,
    /// Whether the user sees every ticket of the account (not only its groups' or its own).
    pub every_ticket: bool,
}

/// One timed read of a platform's API (the continuity monitor's probe): how long the answer
/// took and what it was. Holds no credential and no body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Probe {
    /// The HTTP status of the answer; `None` when none came (refused, timed out, cut off).
    pub status: Option<u16>,
    /// From sending the request to the end of the answer's body (or the failure).
    pub elapsed: std::time::Duration,
}

impl Probe {
    /// Whether the platform answered 2xx.
    pub fn ok(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}
