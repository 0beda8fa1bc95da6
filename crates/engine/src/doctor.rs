//! `cutover doctor`: whether the credentials the plan names can do what the move needs, checked
//! before anything moves, without writing anything. Each side's user and role are read
//! (Zendesk `users/me`, Freshdesk `agents/me` and its roles), the first page of every kind the
//! plan copies is read on the old side, and what the role lacks for what cutover writes is
//! listed, every gap at once, each with what to do.

use cutover_connect::{Access, ConnectError, Connector, ReadPosition};
use cutover_model::{PlatformKind, RecordKind, Side};
use cutover_plan::Plan;
use serde::Serialize;

use crate::connectors::{connector, missing_credentials};

/// Something the credentials lack, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Missing {
    /// The side it is about.
    pub side: Side,
    /// What is missing, e.g. `an admin: Zendesk's incremental exports …`.
    pub what: String,
    /// What to do.
    pub fix: String,
}

/// What one side's credentials are, as far as they could be read.
#[derive(Debug, Clone, Serialize)]
pub struct SideAccess {
    /// The side.
    pub side: Side,
    /// Its platform.
    pub platform: PlatformKind,
    /// The user and role, when the credentials were set and accepted.
    pub access: Option<Access>,
    /// The kinds whose first page was read (old side).
    pub readable: Vec<RecordKind>,
}

/// The doctor's findings: both sides, and everything missing.
#[derive(Debug, Clone, Serialize)]
pub struct DoctorReport {
    /// Each side as read.
    pub sides: Vec<SideAccess>,
    /// Everything missing, on both sides.
    pub missing: Vec<Missing>,
}

impl DoctorReport {
    /// The report for a person: each side's user and role, then every gap with its fix.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        for side in &self.sides {
            let who = match &side.access {
                Some(access) => format!(
                    "{} ({})",
                    access.user.as_deref().unwrap_or("the token's user"),
                    access.role
                ),
                None => "not checked".to_owned(),
            };
            out.push_str(&format!("{} side ({}): {who}", side.side, side.platform));
            if !side.readable.is_empty() {
                let kinds: Vec<&str> = side.readable.iter().map(|k| k.as_str()).collect();
                out.push_str(&format!("; reads {}", kinds.join(", ")));
            }
            out.push('\n');
        }
        if self.missing.is_empty() {
            out.push_str(
                "Nothing missing: both sides' credentials can do what this plan needs. Next: \
                 `cutover inventory`, then `cutover backfill`.\n",
            );
            return out;
        }
        out.push_str(&format!(
            "{} thing(s) missing before anything moves:\n",
            self.missing.len()
        ));
        for missing in &self.missing {
            out.push_str(&format!(
                "  - {} side: {}\n    fix: {}\n",
                missing.side, missing.what, missing.fix
            ));
        }
        out.push_str("Then run `cutover doctor` again.\n");
        out
    }
}

/// Checks both sides' credentials against what `plan` needs. `var` reads an environment
/// variable by name. Nothing is written anywhere.
pub async fn doctor(plan: &Plan, var: impl Fn(&str) -> Option<String>) -> DoctorReport {
    let mut report = DoctorReport {
        sides: Vec::new(),
        missing: Vec::new(),
    };
    for side in Side::BOTH {
        let platform = plan.platform(side).platform;
        let mut seen = SideAccess {
            side,
            platform,
            access: None,
            readable: Vec::new(),
        };
        let unset = missing_credentials(plan, &[side], &var);
        if !unset.is_empty() {
            report
                .missing
                .extend(unset.into_iter().map(|(side, name)| Missing {
                    side,
                    what: format!("the credential in {name} (not set or empty)"),
                    fix: format!("set {name} ({})", credential_help(plan, side, &name)),
                }));
            report.sides.push(seen);
            continue;
        }
        match connector(plan, side, &var) {
            Ok(connector) => {
                check_side(plan, connector.as_ref(), &mut seen, &mut report.missing).await
            }
            Err(e) => report.missing.push(Missing {
                side,
                what: format!("a connector: {e}"),
                fix: format!("correct [{side}] in the plan, then run `cutover plan check`"),
            }),
        }
        report.sides.push(seen);
    }
    report
}

/// What a credential variable holds, for the fix line.
fn credential_help(plan: &Plan, side: Side, name: &str) -> String {
    let platform = plan.platform(side);
    let role = match side {
        Side::Old => "read",
        Side::New => "write",
    };
    match platform.platform {
        PlatformKind::Zendesk
            if platform
                .email_env
                .as_ref()
                .is_some_and(|e| e.as_str() == name) =>
        {
            format!("the e-mail of the Zendesk admin whose API token cutover uses to {role}")
        }
        PlatformKind::Zendesk => format!(
            "a Zendesk API token (Admin Center > Apps and integrations > Zendesk API) of an admin, \
             to {role}"
        ),
        PlatformKind::Freshdesk => {
            format!("the API key of a Freshdesk admin (Profile settings > View API key), to {role}")
        }
        other => format!("the {other} credential, to {role}"),
    }
}

async fn check_side(
    plan: &Plan,
    connector: &dyn Connector,
    seen: &mut SideAccess,
    missing: &mut Vec<Missing>,
) {
    let side = seen.side;
    let access = match connector.access().await {
        Ok(access) => access,
        Err(e) => {
            missing.push(refused(plan, side, &e));
            return;
        }
    };
    for need in needs(plan, side, seen.platform) {
        if !need.met(&access) {
            missing.push(Missing {
                side,
                what: need.what,
                fix: need.fix,
            });
        }
    }
    seen.access = Some(access);
    if side == Side::Old {
        read_every_kind(plan, connector, seen, missing).await;
    }
}

/// Reads the first page of every kind the plan copies (a ticket's comments and attachments are
/// read with it); a refusal is something missing.
async fn read_every_kind(
    plan: &Plan,
    connector: &dyn Connector,
    seen: &mut SideAccess,
    missing: &mut Vec<Missing>,
) {
    let kinds = plan
        .copy
        .kinds
        .iter()
        .filter(|k| !matches!(k, RecordKind::Comment | RecordKind::Attachment));
    for &kind in kinds {
        match connector.read_page(kind, &ReadPosition::start()).await {
            Ok(_) => seen.readable.push(kind),
            Err(e) if matches!(e.status(), Some(401 | 403)) => missing.push(Missing {
                side: seen.side,
                what: format!("the right to read {kind} records ({e})"),
                fix: format!(
                    "use credentials of a {} admin, or take {kind} out of [copy] kinds",
                    seen.platform
                ),
            }),
            // Not a question of rights (a kind this platform has no list of, say): the
            // backfill reports it in its own words.
            Err(e) => tracing::debug!(%kind, error = %e, "A kind's first page could not be read."),
        }
    }
}

/// The platform refused or could not be reached: what to check.
fn refused(plan: &Plan, side: Side, error: &ConnectError) -> Missing {
    let platform = plan.platform(side);
    let names: Vec<&str> = platform
        .email_env
        .iter()
        .map(|e| e.as_str())
        .chain([platform.token_env.as_str()])
        .collect();
    match error.status() {
        Some(401 | 403) => Missing {
            side,
            what: format!(
                "credentials {} accepts ({} at {} answered: {error})",
                platform.platform, platform.platform, platform.url
            ),
            fix: format!("check {} for this account", names.join(" and ")),
        },
        _ => Missing {
            side,
            what: format!(
                "an answer from {} at {} ({error})",
                platform.platform, platform.url
            ),
            fix: format!("check [{side}] url in the plan and that the account is reachable"),
        },
    }
}

/// One right a side needs.
struct Need {
    what: String,
    fix: String,
    admin: bool,
    every_ticket: bool,
}

impl Need {
    fn met(&self, access: &Access) -> bool {
        (!self.admin || access.admin) && (!self.every_ticket || access.every_ticket)
    }
}

/// The rights `side` needs for this plan: the old side is read during a backfill (and written by
/// the bridge and its hooks, when the plan has waves); the new side is written.
fn needs(plan: &Plan, side: Side, platform: PlatformKind) -> Vec<Need> {
    let copies = |kind| plan.copy.kinds.contains(&kind);
    let bridge = !plan.waves.is_empty();
    let admin = |what: String| Need {
        fix: format!(
            "use the credentials of {} admin (or give this user the admin role), then run \
             `cutover doctor` again",
            match platform {
                PlatformKind::Freshdesk => "a Freshdesk",
                _ => "a Zendesk",
            }
        ),
        what,
        admin: true,
        every_ticket: false,
    };
    let mut needs = Vec::new();
    match (side, platform) {
        (Side::Old, PlatformKind::Zendesk) => needs.push(admin(
            "an admin: Zendesk's incremental exports, which the backfill reads tickets, users \
             and organizations through, are for admins only"
                .to_owned(),
        )),
        (Side::Old, PlatformKind::Freshdesk) => {
            needs.push(Need {
                what: "global ticket scope: this agent sees only some tickets, so a backfill \
                       would miss the others"
                    .to_owned(),
                fix: "give the agent \"Global access\" (Admin > Agents > the agent > Ticket \
                      scope) or use an admin's API key"
                    .to_owned(),
                admin: false,
                every_ticket: true,
            });
            if copies(RecordKind::Role) || bridge {
                needs.push(admin(
                    "an admin: reading roles, and the bridge's automation rules (`cutover \
                     sync setup`), take the Admin tab"
                        .to_owned(),
                ));
            }
        }
        (Side::New, PlatformKind::Zendesk) => needs.push(admin(
            "an admin: ticket imports (original times and authors), ticket fields, agents and \
             groups are created by admins only"
                .to_owned(),
        )),
        (Side::New, PlatformKind::Freshdesk) => needs.push(admin(
            "an admin: cutover creates ticket fields (Admin > Ticket Fields), agents and groups, \
             which take the Admin tab"
                .to_owned(),
        )),
        _ => {}
    }
    needs
}
