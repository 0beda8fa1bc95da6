//! `cutover sim`: run a platform emulator from the command line.

use clap::{Args, Subcommand};
use cutover_sim::zendesk::{ZendeskOptions, ZendeskSim};

use crate::exit::{Class, Outcome, fail};

/// Platform emulators, for rehearsals, tests and demos on this machine.
#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Serve an emulated Zendesk Support API (v2) until stopped with Ctrl-C.
    ///
    /// A faithful, stateful emulator over real HTTP: the endpoints, JSON shapes, errors,
    /// pagination, incremental exports, rate limits, webhooks and notifications of Zendesk,
    /// with generated data. Controls live under `/_sim/` (state, reset, clock, faults,
    /// notifications): see crates/sim/README.md. It prints its base URL on standard output.
    ///
    /// Example: cutover sim zendesk --listen 127.0.0.1:8081 --tickets 500 --seed 7
    Zendesk(ZendeskArgs),
}

/// Options of `cutover sim zendesk`.
#[derive(Debug, Args)]
pub struct ZendeskArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub listen: String,
    /// Seed of the data generator: the same seed gives the same data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Tickets to generate at start, with their users, organisations, comments and ratings.
    #[arg(long, default_value_t = 50)]
    pub tickets: usize,
    /// The API token the emulator accepts (as `EMAIL/token:TOKEN` or `Bearer TOKEN`).
    #[arg(long, default_value = "sim-token")]
    pub token: String,
    /// The admin's e-mail, the user the token belongs to.
    #[arg(long, default_value = "admin@example.com")]
    pub email: String,
    /// Requests per minute for the account (Zendesk Enterprise: 700); 0 turns the limit off.
    #[arg(long, default_value_t = 700)]
    pub rate_limit: u32,
    /// Serve HTTPS with a generated certificate (valid for *.zendesk.com, localhost and
    /// 127.0.0.1), written to FILE in PEM so clients can trust it.
    #[arg(long, value_name = "FILE")]
    pub tls_cert_out: Option<std::path::PathBuf>,
}

/// Runs a `sim` subcommand until Ctrl-C.
pub(crate) async fn run(command: SimCommand) -> anyhow::Result<Outcome> {
    match command {
        SimCommand::Zendesk(args) => {
            let opts = ZendeskOptions {
                seed: args.seed,
                tickets: args.tickets,
                token: args.token,
                email: args.email,
                rate_limit_rpm: Some(args.rate_limit),
                tls_cert_out: args.tls_cert_out,
                ..ZendeskOptions::default()
            };
            let handle = ZendeskSim::spawn(opts, &args.listen)
                .await
                .map_err(|e| fail(Class::Config, format!("start the Zendesk emulator on {}: {e}", args.listen)))?;
            println!("{}", handle.url());
            tracing::info!(url = handle.url(), "Zendesk emulator serving; Ctrl-C stops it.");
            tokio::signal::ctrl_c()
                .await
                .map_err(|e| fail(Class::Internal, format!("wait for Ctrl-C: {e}")))?;
            handle
                .shutdown()
                .await
                .map_err(|e| fail(Class::Internal, format!("stop the Zendesk emulator: {e}")))?;
            Ok(Outcome::Clean)
        }
    }
}
