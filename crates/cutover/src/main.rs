//! The `cutover` binary: parses the command line, sets up logging, runs one command and turns its
//! outcome into a documented exit code (see README, "Exit codes").

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cutover::cli::Cli::parse();
    cutover::run(cli)
}
