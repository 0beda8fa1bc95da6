//! The one error type of the emulators' library API.

use std::io;
use std::path::PathBuf;

/// Why an emulator could not be started or configured.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The listening socket could not be bound.
    #[error("bind the emulator's listener on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: String,
        /// The operating system's reason.
        source: io::Error,
    },
    /// The bound listener did not tell its address.
    #[error("read the local address of the emulator's listener: {0}")]
    LocalAddr(io::Error),
    /// The self-signed certificate could not be generated.
    #[error("generate the emulator's tls certificate: {0}")]
    Certificate(String),
    /// The certificate could not be written where asked.
    #[error("write the emulator's tls certificate to {path}: {source}")]
    WriteCertificate {
        /// Where it was to be written.
        path: PathBuf,
        /// The operating system's reason.
        source: io::Error,
    },
    /// rustls refused the generated certificate or key.
    #[error("configure tls for the emulator: {0}")]
    Tls(String),
    /// An option holds a value the emulator cannot run with.
    #[error("use emulator option {name}: {reason}")]
    InvalidOption {
        /// The option's name.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The HTTP client that delivers webhooks could not be built.
    #[error("build the webhook delivery client: {0}")]
    HttpClient(String),
    /// The benchmark could not run a step.
    #[error("run the emulator benchmark: {step}: {reason}")]
    Bench {
        /// The step that failed.
        step: &'static str,
        /// Why.
        reason: String,
    },
}
