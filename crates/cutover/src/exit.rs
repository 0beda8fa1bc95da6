//! Exit codes. Scripts rely on them; README lists them under "Exit codes".

use std::process::ExitCode;

/// How a command ended, when it ran to its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything asked for was done and found in order.
    Clean,
    /// The command ran, and what it checked is not in order (plan errors, differences, a broken
    /// audit chain). Exit code 1.
    Findings,
}

impl From<Outcome> for ExitCode {
    fn from(value: Outcome) -> Self {
        match value {
            Outcome::Clean => ExitCode::SUCCESS,
            Outcome::Findings => ExitCode::from(1),
        }
    }
}

/// The class of an error that stopped a command, each with its own exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// The plan, a flag, an environment variable or a file named on the command line is wrong.
    /// Exit code 3. (Code 2 is clap's, for a command line it cannot parse.)
    Config,
    /// The store cannot be opened, migrated, read or written. Exit code 4.
    Store,
    /// A platform cannot be reached or refuses us. Exit code 5.
    Platform,
    /// A bug or an exhausted machine. Exit code 70.
    Internal,
}

impl Class {
    /// The exit code of this class.
    pub fn code(self) -> u8 {
        match self {
            Class::Config => 3,
            Class::Store => 4,
            Class::Platform => 5,
            Class::Internal => 70,
        }
    }
}

impl From<Class> for ExitCode {
    fn from(value: Class) -> Self {
        ExitCode::from(value.code())
    }
}

/// An error the binary itself raises, with the class that decides its exit code.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Classified {
    /// Which exit code it maps to.
    pub class: Class,
    message: String,
}

/// Builds an error of a class, with a message that names what and where.
pub fn fail(class: Class, message: impl std::fmt::Display) -> anyhow::Error {
    anyhow::Error::new(Classified {
        class,
        message: message.to_string(),
    })
}

/// Classifies an error by the typed errors in its chain: the binary's own, the engine's, a
/// connector's, the store's and the plan's, so a command returns any of them with `?`.
pub fn classify(error: &anyhow::Error) -> Class {
    error.chain().find_map(class_of).unwrap_or(Class::Internal)
}

/// The class of one error of a chain, when it is one cutover knows.
fn class_of(cause: &(dyn std::error::Error + 'static)) -> Option<Class> {
    use cutover_engine::EngineError;
    if let Some(classified) = cause.downcast_ref::<Classified>() {
        return Some(classified.class);
    }
    if let Some(engine) = cause.downcast_ref::<EngineError>() {
        return Some(match engine {
            EngineError::Store(_) => Class::Store,
            EngineError::Connect(connect) => connect_class(connect),
            EngineError::Credentials { .. }
            | EngineError::Unsupported(_)
            | EngineError::NotificationsOn { .. }
            | EngineError::BridgeNotificationsOn { .. }
            | EngineError::Unmapped(_) => Class::Config,
            // An intent that does not serialize is a bug, not the user's doing.
            EngineError::Intent { .. } => Class::Internal,
            // The temporary folder is full or unwritable: the machine's, not the plan's.
            EngineError::Spill(_) => Class::Internal,
        });
    }
    if let Some(runtime) = cause.downcast_ref::<cutover_runtime::RuntimeError>() {
        use cutover_runtime::RuntimeError;
        return Some(match runtime {
            RuntimeError::Store(_)
            | RuntimeError::BadRoutingState(_)
            | RuntimeError::Measure(_) => Class::Store,
            // A wave, a person or a step the plan or the wave's phase does not allow.
            _ => Class::Config,
        });
    }
    if let Some(connect) = cause.downcast_ref::<cutover_connect::ConnectError>() {
        return Some(connect_class(connect));
    }
    if cause.downcast_ref::<cutover_store::StoreError>().is_some() {
        return Some(Class::Store);
    }
    if cause.downcast_ref::<cutover_plan::PlanError>().is_some() {
        return Some(Class::Config);
    }
    cause
        .downcast_ref::<std::io::Error>()
        .map(|_| Class::Config)
}

/// A connector's error: its configuration is the user's to fix; anything else is the platform's.
fn connect_class(error: &cutover_connect::ConnectError) -> Class {
    match error {
        cutover_connect::ConnectError::Config { .. } => Class::Config,
        _ => Class::Platform,
    }
}

/// Prints an error with its chain of causes and returns its exit code.
pub fn report(error: &anyhow::Error) -> ExitCode {
    let class = classify(error);
    eprintln!("error: {error:#}");
    class.into()
}

#[cfg(test)]
mod tests {
    use cutover_connect::ConnectError;
    use cutover_engine::EngineError;
    use cutover_model::{PlatformKind, Side};

    use super::*;

    fn check(error: anyhow::Error, expected: Class) {
        assert_eq!(classify(&error), expected, "{error:#}");
        // Context on top of it changes nothing.
        let wrapped = error.context("run the command");
        assert_eq!(classify(&wrapped), expected, "{wrapped:#}");
    }

    #[test]
    fn engine_and_connector_errors_have_their_class() {
        let refused = || ConnectError::Http {
            op: "read tickets from zendesk".into(),
            status: 401,
            message: "Couldn't authenticate you".into(),
            class: cutover_connect::ErrorClass::Auth,
        };
        check(EngineError::from(refused()).into(), Class::Platform);
        check(refused().into(), Class::Platform);
        let config = ConnectError::Config {
            platform: PlatformKind::Zendesk,
            detail: "bad base URL".into(),
        };
        check(config.into(), Class::Config);
        let credentials = EngineError::Credentials {
            missing: vec![(Side::Old, "CUTOVER_OLD_TOKEN".into())],
        };
        check(credentials.into(), Class::Config);
        check(
            EngineError::NotificationsOn {
                platform: PlatformKind::Freshdesk,
            }
            .into(),
            Class::Config,
        );
        check(std::io::Error::other("no such file").into(), Class::Config);
        check(fail(Class::Store, "open the store"), Class::Store);
        check(anyhow::anyhow!("a bug"), Class::Internal);
    }
}
