//! Progress of long work, drawn the way the reader needs it: bars per record kind with rate and
//! ETA on a terminal, JSON events in the log stream with `--log-format json`, nothing otherwise
//! (a pipe or a CI log gets the final summary only).

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::Mutex;

use cutover_engine::{ProgressEvent, ProgressSink};
use cutover_model::RecordKind;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::cli::LogFormat;

/// Builds the sink the engine reports progress to.
pub fn sink(log_format: LogFormat) -> ProgressSink {
    match log_format {
        LogFormat::Json => ProgressSink::new(|event: &ProgressEvent| {
            tracing::info!(
                kind = event.kind.as_str(),
                done = event.done,
                total = event.total,
                rate_per_s = event.rate,
                written = event.counts.written(),
                unchanged = event.counts.unchanged,
                dead_lettered = event.counts.dead_lettered,
                finished = event.finished,
                "Progress."
            );
        }),
        LogFormat::Text if std::io::stderr().is_terminal() => {
            let bars = Bars {
                multi: MultiProgress::new(),
                bars: Mutex::new(BTreeMap::new()),
            };
            ProgressSink::new(move |event: &ProgressEvent| bars.show(event))
        }
        LogFormat::Text => ProgressSink::none(),
    }
}

/// One bar per record kind, in the order kinds start.
struct Bars {
    multi: MultiProgress,
    bars: Mutex<BTreeMap<RecordKind, ProgressBar>>,
}

impl Bars {
    fn show(&self, event: &ProgressEvent) {
        let Ok(mut bars) = self.bars.lock() else {
            return;
        };
        let bar = bars.entry(event.kind).or_insert_with(|| {
            let bar = self.multi.add(ProgressBar::no_length());
            bar.set_style(style(None));
            bar.set_prefix(event.kind.as_str());
            bar
        });
        if let Some(total) = event.total
            && bar.length() != Some(total)
        {
            bar.set_style(style(Some(total)));
            bar.set_length(total);
        }
        bar.set_position(event.done);
        bar.set_message(format!(
            "{} written, {} unchanged, {} dead-lettered",
            event.counts.written(),
            event.counts.unchanged,
            event.counts.dead_lettered
        ));
        if event.finished {
            bar.finish();
        }
    }
}

fn style(total: Option<u64>) -> ProgressStyle {
    let template = match total {
        Some(_) => "{prefix:>20} {bar:30} {pos}/{len} {per_sec} ETA {eta} {msg}",
        None => "{prefix:>20} {spinner} {pos} read, {per_sec} {msg}",
    };
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}
