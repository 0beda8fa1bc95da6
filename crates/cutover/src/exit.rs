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

/// Classifies an error by the typed errors in its chain.
pub fn classify(error: &anyhow::Error) -> Class {
    if let Some(classified) = error.downcast_ref::<Classified>() {
        return classified.class;
    }
    if error.downcast_ref::<cutover_store::StoreError>().is_some() {
        return Class::Store;
    }
    if error.downcast_ref::<cutover_control::PlanError>().is_some() {
        return Class::Config;
    }
    for cause in error.chain() {
        if let Some(classified) = cause.downcast_ref::<Classified>() {
            return classified.class;
        }
        if cause.downcast_ref::<cutover_store::StoreError>().is_some() {
            return Class::Store;
        }
        if cause.downcast_ref::<cutover_control::PlanError>().is_some() {
            return Class::Config;
        }
        if cause.downcast_ref::<std::io::Error>().is_some() {
            return Class::Config;
        }
    }
    Class::Internal
}

/// Prints an error with its chain of causes and returns its exit code.
pub fn report(error: &anyhow::Error) -> ExitCode {
    let class = classify(error);
    eprintln!("error: {error:#}");
    class.into()
}
