//! `cutover bench traffic`: the traffic generator's sustained rate against both emulators.

use clap::Args;
use cutover_sim::traffic::bench::{self, TrafficBenchOptions};

use crate::exit::{Class, Outcome, fail};

/// Options of `cutover bench traffic`.
#[derive(Debug, Args)]
pub struct TrafficBenchArgs {
    /// Actions to play (both sides together).
    #[arg(long, default_value_t = 5_000)]
    pub actions: u64,
    /// Seed of the traffic and of the emulators' data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Tickets each emulator starts with.
    #[arg(long, default_value_t = 50)]
    pub tickets: usize,
}

/// Runs the benchmark and prints its JSON report.
pub(crate) async fn run(args: TrafficBenchArgs) -> anyhow::Result<Outcome> {
    let opts = TrafficBenchOptions {
        actions: args.actions,
        seed: args.seed,
        tickets: args.tickets,
    };
    let report = bench::traffic(&opts).await.map_err(|e| {
        fail(
            Class::Internal,
            format!("benchmark the traffic generator: {e}"),
        )
    })?;
    let text = serde_json::to_string_pretty(&report)
        .map_err(|e| fail(Class::Internal, format!("write the benchmark report: {e}")))?;
    println!("{text}");
    Ok(Outcome::Clean)
}
