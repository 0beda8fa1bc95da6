//! Which value of one platform's built-in vocabulary (statuses, priorities, roles) matches which
//! of another's: each value names a platform-neutral concept, and each concept has a nearest
//! value on every platform. `init` pre-fills mapping tables from this and `plan check` suggests
//! from it when a value is not mapped.

use cutover_model::PlatformKind;

use crate::plan::open::Table;

/// One of the three built-in vocabularies a plan must map completely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Vocabulary {
    Statuses,
    Priorities,
    Roles,
}

impl Vocabulary {
    pub(crate) const ALL: [Vocabulary; 3] = [
        Vocabulary::Statuses,
        Vocabulary::Priorities,
        Vocabulary::Roles,
    ];

    /// The table's key under `[mapping]`.
    pub(crate) fn table(self) -> &'static str {
        match self {
            Vocabulary::Statuses => "statuses",
            Vocabulary::Priorities => "priorities",
            Vocabulary::Roles => "roles",
        }
    }

    /// One value of it, for messages: "status".
    pub(crate) fn singular(self) -> &'static str {
        match self {
            Vocabulary::Statuses => "status",
            Vocabulary::Priorities => "priority",
            Vocabulary::Roles => "role",
        }
    }

    /// The platform's values.
    pub(crate) fn values(self, platform: PlatformKind) -> &'static [&'static str] {
        match self {
            Vocabulary::Statuses => platform.statuses(),
            Vocabulary::Priorities => platform.priorities(),
            Vocabulary::Roles => platform.roles(),
        }
    }
}

/// A platform-neutral meaning, with each platform's nearest value (`None`: the platform has no
/// such thing, so the value is dropped, e.g. a customer role on Freshdesk, whose customers are
/// contacts without a role).
#[derive(Debug)]
struct Concept {
    name: &'static str,
    zendesk: Option<&'static str>,
    freshdesk: Option<&'static str>,
    zammad: Option<&'static str>,
}

impl Concept {
    fn on(&self, platform: PlatformKind) -> Option<&'static str> {
        match platform {
            PlatformKind::Zendesk => self.zendesk,
            PlatformKind::Freshdesk => self.freshdesk,
            PlatformKind::Zammad => self.zammad,
        }
    }
}

const fn concept(
    name: &'static str,
    zendesk: &'static str,
    freshdesk: Option<&'static str>,
    zammad: &'static str,
) -> Concept {
    Concept {
        name,
        zendesk: Some(zendesk),
        freshdesk,
        zammad: Some(zammad),
    }
}

/// A platform value means the *first* concept whose slot holds it, so where one value is the
/// nearest for several concepts (Freshdesk's "open" for new and open tickets), the concept it
/// really names comes first.
const STATUSES: &[Concept] = &[
    concept("open", "open", Some("open"), "open"),
    concept("new", "new", Some("open"), "new"),
    concept("pending", "pending", Some("pending"), "pending reminder"),
    concept("on hold", "hold", Some("pending"), "pending reminder"),
    concept("solved", "solved", Some("resolved"), "pending close"),
    concept("closed", "closed", Some("closed"), "closed"),
    concept("merged", "closed", Some("closed"), "merged"),
    concept("removed", "closed", Some("closed"), "removed"),
];

const PRIORITIES: &[Concept] = &[
    concept("low", "low", Some("low"), "1 low"),
    concept("normal", "normal", Some("medium"), "2 normal"),
    concept("high", "high", Some("high"), "3 high"),
    concept("urgent", "urgent", Some("urgent"), "3 high"),
];

const ROLES: &[Concept] = &[
    concept("customer", "end-user", None, "Customer"),
    concept("agent", "agent", Some("Agent"), "Agent"),
    concept("supervisor", "agent", Some("Supervisor"), "Agent"),
    concept("administrator", "admin", Some("Administrator"), "Admin"),
    concept(
        "account owner",
        "admin",
        Some("Account Administrator"),
        "Admin",
    ),
];

fn concepts(vocabulary: Vocabulary) -> &'static [Concept] {
    match vocabulary {
        Vocabulary::Statuses => STATUSES,
        Vocabulary::Priorities => PRIORITIES,
        Vocabulary::Roles => ROLES,
    }
}

/// The concept an old value means: the first concept whose slot for that platform is the value.
/// ("closed" on Zendesk means closed, not merged, because closed comes first.)
fn meaning(
    vocabulary: Vocabulary,
    platform: PlatformKind,
    value: &str,
) -> Option<&'static Concept> {
    concepts(vocabulary)
        .iter()
        .find(|concept| concept.on(platform) == Some(value))
}

/// A suggested mapping of one old value: the new value (or `"drop"`), and a note when the
/// match is not exact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Suggestion {
    pub(crate) target: &'static str,
    pub(crate) note: Option<String>,
}

/// How `value` of `from`'s vocabulary is best carried to `to`.
pub(crate) fn suggest(
    vocabulary: Vocabulary,
    from: PlatformKind,
    to: PlatformKind,
    value: &str,
) -> Suggestion {
    let Some(concept) = meaning(vocabulary, from, value) else {
        return Suggestion {
            target: "drop",
            note: Some("no known equivalent".to_owned()),
        };
    };
    let Some(target) = concept.on(to) else {
        return Suggestion {
            target: "drop",
            note: Some(format!(
                "{to} has no {} {}",
                concept.name,
                vocabulary.singular()
            )),
        };
    };
    let exact = meaning(vocabulary, to, target).is_some_and(|c| c.name == concept.name);
    let note = (!exact).then(|| {
        format!(
            "{to} has no {} {}: the nearest is {target}",
            concept.name,
            vocabulary.singular()
        )
    });
    Suggestion { target, note }
}

/// Like [`suggest`], where two old values may not share a new one ([`Table::may_share`]): a
/// target `taken` by another entry becomes `"create"` where cutover can create one on `to`, else
/// `"drop"`. Whatever it suggests is added to `taken`.
pub(crate) fn suggest_unshared(
    vocabulary: Vocabulary,
    (from, to): (PlatformKind, PlatformKind),
    value: &str,
    taken: &mut Vec<String>,
) -> Suggestion {
    let suggestion = suggest(vocabulary, from, to, value);
    let table = vocabulary.open_table();
    if table.may_share(to) || suggestion.target == "drop" {
        return suggestion;
    }
    if !taken.iter().any(|t| t == suggestion.target) {
        taken.push(suggestion.target.to_owned());
        return suggestion;
    }
    let what = vocabulary.singular();
    let shared = suggestion.target;
    match table.creatable(to) {
        Ok(()) => Suggestion {
            target: "create",
            note: Some(format!(
                "{to}'s {shared} {what} is taken: created on {to} as a {what} of its own"
            )),
        },
        Err(why) => Suggestion {
            target: "drop",
            note: Some(format!(
                "{to}'s {shared} {what} is taken, and {why}: its agents get {to}'s default"
            )),
        },
    }
}

impl Vocabulary {
    /// The plan's table of this vocabulary.
    pub(crate) fn open_table(self) -> Table {
        match self {
            Vocabulary::Statuses => Table::Statuses,
            Vocabulary::Priorities => Table::Priorities,
            Vocabulary::Roles => Table::Roles,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_platform_value_has_a_meaning_and_every_slot_is_in_the_vocabulary() {
        for vocabulary in Vocabulary::ALL {
            for &platform in PlatformKind::ALL {
                for value in vocabulary.values(platform) {
                    assert!(
                        meaning(vocabulary, platform, value).is_some(),
                        "{platform} {value}"
                    );
                }
                for concept in concepts(vocabulary) {
                    if let Some(slot) = concept.on(platform) {
                        assert!(
                            vocabulary.values(platform).contains(&slot),
                            "{platform} {slot}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn suggestions_are_sensible() {
        use PlatformKind::{Freshdesk, Zammad, Zendesk};
        let target = |v, from, to, value| suggest(v, from, to, value).target;
        assert_eq!(
            target(Vocabulary::Statuses, Zendesk, Freshdesk, "solved"),
            "resolved"
        );
        assert_eq!(
            target(Vocabulary::Statuses, Zendesk, Freshdesk, "hold"),
            "pending"
        );
        assert_eq!(
            target(Vocabulary::Statuses, Freshdesk, Zendesk, "resolved"),
            "solved"
        );
        assert_eq!(
            target(Vocabulary::Statuses, Zammad, Zendesk, "merged"),
            "closed"
        );
        assert_eq!(
            target(Vocabulary::Priorities, Zendesk, Freshdesk, "normal"),
            "medium"
        );
        assert_eq!(
            target(Vocabulary::Priorities, Freshdesk, Zammad, "urgent"),
            "3 high"
        );
        assert_eq!(
            target(Vocabulary::Roles, Zendesk, Freshdesk, "end-user"),
            "drop"
        );
        assert_eq!(
            target(Vocabulary::Roles, Freshdesk, Zendesk, "Supervisor"),
            "agent"
        );
        assert_eq!(
            target(Vocabulary::Roles, Zammad, Zendesk, "Customer"),
            "end-user"
        );
        let hold = suggest(Vocabulary::Statuses, Zendesk, Freshdesk, "hold");
        assert_eq!(
            hold.note.as_deref(),
            Some("freshdesk has no on hold status: the nearest is pending")
        );
        assert_eq!(
            suggest(Vocabulary::Statuses, Zendesk, Zammad, "open").note,
            None
        );
        assert_eq!(
            target(Vocabulary::Statuses, Freshdesk, Zendesk, "open"),
            "open"
        );
        assert_eq!(
            suggest(Vocabulary::Statuses, Freshdesk, Zendesk, "open").note,
            None
        );
    }
}
