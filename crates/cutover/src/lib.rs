//! The command line of cutover. Thin: each subcommand parses its arguments, calls the library
//! crates and reports. Everything that decides lives in `model`, `store`, `control`, `engine`.
//!
//! Layout:
//! - [`cli`]: the clap definitions, one file per subcommand.
//! - [`exit`]: error classes and the exit codes they map to.
//! - [`logging`]: tracing set-up, readable on a terminal or JSON lines.
//! - [`context`]: what every command needs: the plan path, the store URL, credentials from env.
//! - [`progress`]: progress bars on a terminal, JSON events in JSON logs, nothing in a pipe.
//! - [`out`]: standard output, ended quietly when its reader goes away (`println!` and
//!   `print!` are defined here to go through it).

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the binary's job is to print to the terminal"
)]

/// `println!` for this crate: through [`out::write`], so a closed pipe ends the command quietly.
macro_rules! println {
    () => {
        $crate::out::write(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::out::write(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` for this crate: through [`out::write`], so a closed pipe ends the command quietly.
macro_rules! print {
    ($($arg:tt)*) => {
        $crate::out::write(format_args!($($arg)*))
    };
}

pub mod cli;
pub mod context;
pub mod exit;
pub mod logging;
pub mod out;
pub mod progress;

use std::process::ExitCode;

/// Runs a parsed command line to completion and returns the process exit code.
pub fn run(cli: cli::Cli) -> ExitCode {
    // Ignore the error: a provider is already installed when tests call `run` twice.
    let _ = rustls::crypto::ring::default_provider().install_default();
    if let Err(e) = logging::init(&cli.global) {
        eprintln!("error: {e:#}");
        return exit::Class::Config.into();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: start the async runtime: {e}");
            return exit::Class::Internal.into();
        }
    };
    match runtime.block_on(cli::dispatch(cli)) {
        Ok(outcome) => outcome.into(),
        Err(e) => exit::report(&e),
    }
}
