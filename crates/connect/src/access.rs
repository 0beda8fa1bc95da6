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
