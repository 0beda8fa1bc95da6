//! Progress of long work, drawn the way the reader needs it: bars per record kind with rate and
//! ETA on a terminal, JSON events in the log stream with `--log-format json`, nothing otherwise
//! (a pipe or a CI log gets the final summary only).

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write as _};
use std::sync::{Mutex, OnceLock};

use cutover_engine::cost::duration;
use cutover_engine::text::count;
use cutover_engine::{ProgressEvent, ProgressSink};
use cutover_model::RecordKind;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::cli::LogFormat;

/// Builds the sink the engine reports progress to.
pub fn sink(log_format: LogFormat) -> ProgressSink {
    sink_with_model(log_format, None)
}

/// Builds the sink the engine reports progress to; `seconds_per_ticket` (the cost model's, at
/// the plan's limits) gives the tickets' ETA until the engine's measured rate replaces it.
pub fn sink_with_model(log_format: LogFormat, seconds_per_ticket: Option<f64>) -> ProgressSink {
    match log_format {
        LogFormat::Json => ProgressSink::new(move |event: &ProgressEvent| {
            tracing::info!(
                kind = event.kind.as_str(),
                done = event.done,
                total = event.total,
                rate_per_s = event.rate,
                eta_s = eta(event, seconds_per_ticket),
                written = event.counts.written(),
                unchanged = event.counts.unchanged,
                dead_lettered = event.counts.dead_lettered,
                finished = event.finished,
                "Progress."
            );
        }),
        LogFormat::Text if std::io::stderr().is_terminal() => {
            let multi = DRAWN.get_or_init(MultiProgress::new).clone();
            let bars = Bars {
                multi,
                bars: Mutex::new(BTreeMap::new()),
                seconds_per_ticket,
            };
            ProgressSink::new(move |event: &ProgressEvent| bars.show(event))
        }
        LogFormat::Text => ProgressSink::none(),
    }
}

/// The bars on the terminal, once a command draws them: log lines are written above them
/// (see [`LogWriter`]) instead of tearing through them.
static DRAWN: OnceLock<MultiProgress> = OnceLock::new();

/// Where text log lines go: standard error, above the progress bars while they are drawn.
#[derive(Debug, Default)]
pub struct LogWriter {
    line: Vec<u8>,
}

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.line.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let line = std::mem::take(&mut self.line);
        if line.is_empty() {
            return Ok(());
        }
        let write = || std::io::stderr().lock().write_all(&line);
        match DRAWN.get() {
            Some(multi) => multi.suspend(write),
            None => write(),
        }
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        // A log line is written whole once its event is formatted; stderr has nowhere to report.
        let _ = self.flush();
    }
}

/// One bar per record kind, in the order kinds start.
struct Bars {
    multi: MultiProgress,
    bars: Mutex<BTreeMap<RecordKind, ProgressBar>>,
    seconds_per_ticket: Option<f64>,
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
            "{} · {} written, {} unchanged, {} dead-lettered",
            pace(event, self.seconds_per_ticket),
            count(event.counts.written()),
            count(event.counts.unchanged),
            count(event.counts.dead_lettered)
        ));
        if event.finished {
            bar.finish();
        }
    }
}

/// The rate since the kind started, as the engine measured it (indicatif's own estimate jumps
/// to millions a second when a whole page lands at once); none in the first second, when it
/// would say nothing true.
fn pace(event: &ProgressEvent, seconds_per_ticket: Option<f64>) -> String {
    let rate_text = rate(event);
    match eta(event, seconds_per_ticket) {
        Some(left) if rate_text.ends_with("/s") => format!("{rate_text}, ETA {}", duration(left)),
        Some(left) => format!("{rate_text}, ETA {} (estimated)", duration(left)),
        None => rate_text,
    }
}

/// Seconds left of the kind: at the engine's measured rate once it means something; before
/// that, for tickets, at the cost model's seconds a ticket; none when finished or unknown.
fn eta(event: &ProgressEvent, seconds_per_ticket: Option<f64>) -> Option<f64> {
    let total = event.total.filter(|_| !event.finished)?;
    let left = total.saturating_sub(event.done) as f64;
    if event.rate > 0.0 && rate(event).ends_with("/s") {
        return Some(left / event.rate);
    }
    seconds_per_ticket
        .filter(|_| event.kind == RecordKind::Ticket)
        .map(|s| left * s)
}

fn rate(event: &ProgressEvent) -> String {
    let elapsed = if event.rate > 0.0 {
        event.done as f64 / event.rate
    } else {
        0.0
    };
    if elapsed < 1.0 || !event.rate.is_finite() {
        return "measuring rate".to_owned();
    }
    format!("{}/s", count(event.rate.round() as u64))
}

fn style(total: Option<u64>) -> ProgressStyle {
    // With a total: a bar, and (in the message) the ETA from the engine's rate. Without one (a
    // platform that does not say how many records it holds), the count read so far.
    let template = match total {
        Some(_) => "{prefix:>20} {bar:30} {human_pos}/{human_len} {msg}",
        None => "{prefix:>20} {spinner} {human_pos} read {msg}",
    };
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

#[cfg(test)]
mod tests {
    use cutover_engine::Counts;

    use super::*;

    fn event(done: u64, rate: f64) -> ProgressEvent {
        ProgressEvent {
            kind: RecordKind::Contact,
            done,
            total: None,
            rate,
            counts: Counts::default(),
            finished: false,
        }
    }

    #[test]
    fn the_rate_is_the_engines_and_only_once_it_means_something() {
        // A first page of 250 landing in a fifth of a millisecond: no rate yet.
        assert_eq!(rate(&event(250, 1_127_329.626_7)), "measuring rate");
        assert_eq!(rate(&event(0, 0.0)), "measuring rate");
        // 5,000 in five seconds.
        assert_eq!(rate(&event(5_000, 1_000.0)), "1,000/s");
        assert_eq!(rate(&event(12_000, 2_345.6)), "2,346/s");
    }

    #[test]
    fn the_eta_comes_from_the_total_left_at_the_engines_rate() {
        let mut halfway = event(5_000, 1_000.0);
        halfway.total = Some(10_000);
        assert_eq!(pace(&halfway, None), "1,000/s, ETA 5s");
        halfway.total = Some(200_000);
        assert_eq!(pace(&halfway, Some(9.0)), "1,000/s, ETA 3m 15s");
        halfway.total = None;
        assert_eq!(pace(&halfway, None), "1,000/s");
        assert_eq!(duration(7_500.0), "2h 05m");
    }

    #[test]
    fn the_tickets_eta_starts_from_the_cost_model_until_a_rate_is_measured() {
        let mut start = event(0, 0.0);
        start.kind = RecordKind::Ticket;
        start.total = Some(2_000);
        // 0.5 s a ticket by the model: 1,000 s for 2,000.
        assert_eq!(
            pace(&start, Some(0.5)),
            "measuring rate, ETA 16m 40s (estimated)"
        );
        assert_eq!(pace(&start, None), "measuring rate");
        // Once measured, the rate decides: 1,000 left at 100 a second.
        let mut later = event(1_000, 100.0);
        later.kind = RecordKind::Ticket;
        later.total = Some(2_000);
        assert_eq!(pace(&later, Some(0.5)), "100/s, ETA 10s");
        // Other kinds have no model ETA.
        let mut contacts = start.clone();
        contacts.kind = RecordKind::Contact;
        assert_eq!(pace(&contacts, Some(0.5)), "measuring rate");
    }
}
