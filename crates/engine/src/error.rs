//! Errors of the engine: what stops a run. Per-record trouble is not here: it is an outcome.

use cutover_connect::ConnectError;
use cutover_model::{PlatformKind, Side};
use cutover_store::StoreError;

/// A failure that stops a run; the run resumes from its last committed page.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The store failed.
    #[error(transparent)]
    Store(Box<StoreError>),
    /// A platform failed in a way that retrying later or a person must fix (credentials,
    /// throttling or outages that outlasted the connector's retries).
    #[error(transparent)]
    Connect(Box<ConnectError>),
    /// Credentials the plan names are not set (their values are never shown): every one
    /// missing, at once.
    #[error(
        "read credentials: {} not set or empty; set {} (README, \"Credentials\": what each \
         side's token needs) and run the command again",
        list_variables(missing),
        if missing.len() == 1 { "it" } else { "them" }
    )]
    Credentials {
        /// Each variable's side and name.
        missing: Vec<(Side, String)>,
    },
    /// A backfill would create tickets on a platform that may e-mail their requesters, and the
    /// user has not confirmed that those e-mails are off.
    #[error(
        "creating tickets on {platform} may e-mail each requester (its \"New Ticket Created\" \
         acknowledgement), and its API cannot switch that off: switch it off in {platform} \
         (Admin > Email Notifications > Requester notifications > New Ticket Created), then confirm \
         with `cutover backfill --notifications-off` or `target_notifications_off = true` under \
         [copy] in the plan. Nothing was written."
    )]
    NotificationsOn {
        /// The new platform.
        platform: PlatformKind,
    },
    /// The bridge would write agents' changes into a platform whose own notifications may
    /// e-mail the requester for each, and the user has not confirmed that they are off.
    #[error(
        "the bridge writes tickets and agents' work into {platform} (the {side} side), which may \
         e-mail the requester by its own requester notifications ({switches}), and its API cannot \
         keep the bridge's writes from doing so: those customers would get the e-mail twice (once \
         from the platform where the agent wrote, once from {platform}). Switch them off in \
         {platform} (Admin > Email Notifications > Requester notifications: {switches}), then \
         confirm with `--notifications-off` or `notifications_off = true` under [sync] in the \
         plan. Nothing was done."
    )]
    BridgeNotificationsOn {
        /// The platform written into.
        platform: PlatformKind,
        /// Its side.
        side: Side,
        /// The notifications to switch off, as the platform names them.
        switches: &'static str,
    },
    /// The old account holds values the plan does not decide: a backfill would dead-letter the
    /// records that carry them, so it does not start (`--allow-unmapped` goes on anyway).
    #[error(
        "{} value(s) of the old account have no mapping in the plan, so their records would go to \
         the dead letters; nothing was written. Decide each (the plan's open lines, or the line \
         named below), or pass --allow-unmapped to copy the rest anyway:\n{}",
        .0.len(),
        crate::unmapped::describe(.0)
    )]
    Unmapped(Vec<cutover_plan::plan::open::OpenValue>),
    /// The intent of a create could not be written down, so the create is not sent (a crash
    /// after it could not be told from a create that never happened).
    #[error("keep the intent {key} before its write: {reason}")]
    Intent {
        /// The run-state key.
        key: String,
        /// Why it could not be written.
        reason: String,
    },
    /// A verification could not hold one side's records in its temporary file.
    #[error("hold the new side's records in a temporary file for verification: {0}")]
    Spill(std::io::Error),
    /// The plan names a platform that has no connector yet.
    #[error("connect to {0}: there is no connector for this platform yet")]
    Unsupported(PlatformKind),
}

impl From<StoreError> for EngineError {
    fn from(error: StoreError) -> Self {
        EngineError::Store(Box::new(error))
    }
}

impl From<ConnectError> for EngineError {
    fn from(error: ConnectError) -> Self {
        EngineError::Connect(Box::new(error))
    }
}

/// `environment variable X (old side)` or `environment variables X (old side), Y (new side)`.
fn list_variables(missing: &[(Side, String)]) -> String {
    let names: Vec<String> = missing
        .iter()
        .map(|(side, name)| format!("{name} ({side} side)"))
        .collect();
    let noun = if missing.len() == 1 {
        "environment variable"
    } else {
        "environment variables"
    };
    format!("{noun} {}", names.join(", "))
}
