//! Each platform's built-in vocabularies, as named in its API: what a plan's mapping tables must
//! cover. Custom statuses and fields come from the platform itself at run time (`inventory`).

use crate::ids::PlatformKind;

impl PlatformKind {
    /// The built-in ticket statuses, as the platform's API names them (Freshdesk's by their
    /// display names; the connector translates its numeric codes).
    pub fn statuses(self) -> &'static [&'static str] {
        match self {
            PlatformKind::Zendesk => &["new", "open", "pending", "hold", "solved", "closed"],
            PlatformKind::Freshdesk => &["open", "pending", "resolved", "closed"],
            PlatformKind::Zammad => &[
                "new",
                "open",
                "pending reminder",
                "pending close",
                "closed",
                "merged",
                "removed",
            ],
        }
    }

    /// The built-in ticket priorities, as the platform's API names them.
    pub fn priorities(self) -> &'static [&'static str] {
        match self {
            PlatformKind::Zendesk => &["low", "normal", "high", "urgent"],
            PlatformKind::Freshdesk => &["low", "medium", "high", "urgent"],
            PlatformKind::Zammad => &["1 low", "2 normal", "3 high"],
        }
    }

    /// The platform's agent roles that exist on every account.
    pub fn roles(self) -> &'static [&'static str] {
        match self {
            PlatformKind::Zendesk => &["end-user", "agent", "admin"],
            PlatformKind::Freshdesk => &[
                "Agent",
                "Supervisor",
                "Administrator",
                "Account Administrator",
            ],
            PlatformKind::Zammad => &["Admin", "Agent", "Customer"],
        }
    }

    /// Whether the platform's API can write original creation times and authors (an import API).
    pub fn can_backdate(self) -> bool {
        matches!(self, PlatformKind::Zendesk | PlatformKind::Zammad)
    }

    /// The base URL a plan suggests for an account on this platform.
    pub fn example_url(self) -> &'static str {
        match self {
            PlatformKind::Zendesk => "https://acme.zendesk.com",
            PlatformKind::Freshdesk => "https://acme.freshdesk.com",
            PlatformKind::Zammad => "https://support.acme.example",
        }
    }
}
