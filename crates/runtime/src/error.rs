//! Errors of the runtime.

use cutover_store::StoreError;

use crate::gates::GateReport;
use crate::routing::WavePhase;

/// Something the runtime could not do.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The store failed (boxed: a store error is large, and every result carries this type).
    #[error(transparent)]
    Store(Box<StoreError>),
    /// The routing state in the store is not what this version of cutover writes.
    #[error(
        "the routing state in the store cannot be read ({0}); was it written by another version of cutover?"
    )]
    BadRoutingState(String),
    /// No wave of the plan has this name or number.
    #[error(
        "the plan has no wave {0:?}: name a wave by its `name` or its number (1 for the first); \
         `cutover wave status` lists them"
    )]
    NoSuchWave(String),
    /// A `--channel` names neither a channel kind nor a `[[channels]]` entry.
    #[error(
        "no channel is called {given:?}: name a channel kind ({}) or one of the plan's [[channels]] by name ({})",
        kinds.join(", "),
        if names.is_empty() { String::from("the plan has none") } else { names.join(", ") }
    )]
    UnknownChannel {
        /// What was given.
        given: String,
        /// The channel kinds.
        kinds: Vec<String>,
        /// The plan's `[[channels]]` names.
        names: Vec<String>,
    },
    /// A measurement the gates read could not be read.
    #[error("reading what the gates measure failed: {0}")]
    Measure(String),
    /// A sign-off names a person the plan's `[people]` does not have.
    #[error("{person:?} is not in the plan's [people] (known: {}); sign off as a person the plan names", known.join(", "))]
    UnknownPerson {
        /// The id given.
        person: String,
        /// The ids the plan has.
        known: Vec<String>,
    },
    /// A sign-off names a person whose role is below operator.
    #[error(
        "{person:?} has the {role} role in the plan's [people]; signing off a wave needs the operator role or higher: give them `role = \"operator\"` in the plan, or sign off as one who has it"
    )]
    NotOperator {
        /// The person's id.
        person: String,
        /// Their role.
        role: String,
    },
    /// A sign-off names a person the wave's gates do not name.
    #[error("wave {wave:?} does not ask {person:?} to sign off; its gates name: {} (`cutover go --wave {wave} --as {}`)", named.join(", "), named.first().map_or("PERSON", String::as_str))]
    NotNamed {
        /// The person's id.
        person: String,
        /// The wave.
        wave: String,
        /// Whom its `gates.sign_off` names.
        named: Vec<String>,
    },
    /// The wave is not in a phase where this step applies.
    #[error("wave {wave:?} is {phase}; {action} applies to a wave that is {wanted} (`cutover wave status` shows where each stands)", phase = phase.as_str())]
    WrongPhase {
        /// The wave.
        wave: String,
        /// Where it stands.
        phase: WavePhase,
        /// What was asked.
        action: &'static str,
        /// The phase the step applies to.
        wanted: &'static str,
    },
    /// The wave's gates do not hold: what is unmet and what to run.
    #[error("{}", .0.refusal())]
    GatesNotMet(Box<GateReport>),
    /// A switch cannot be asked for now (another is under way, the wave is not where the
    /// command needs it).
    #[error("{0}")]
    Refused(String),
    /// The bridge's status could not be read.
    #[error("the bridge's status: {0}")]
    Engine(String),
}

impl From<StoreError> for RuntimeError {
    fn from(e: StoreError) -> Self {
        RuntimeError::Store(Box::new(e))
    }
}
