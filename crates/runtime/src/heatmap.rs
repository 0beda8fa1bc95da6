//! When to switch: how many tickets each channel receives in each hour of the week, from the
//! creation times in the ticket facts (both sides, cutover's own copies left out), the busiest
//! and quietest hours, the quietest windows of a given length, and whether a wave's window falls
//! in a busy hour. Hours are UTC; hour 0 of the week is Monday 00:00 (as [`kpi::hour_of_week`]).
//!
//! [`kpi::hour_of_week`]: crate::kpi::hour_of_week

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use cutover_store::{CreatedCount, TicketFacts};
use serde::Serialize;

use crate::kpi::{hour_of_week, hour_start, percentile};

/// Hours in a week.
pub const WEEK_HOURS: u32 = 168;

/// Fewer tickets than this in a history is too little to call an hour busy or quiet.
pub const MIN_TICKETS: u64 = 30;

/// One channel's arrivals by hour of the week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Heatmap {
    /// The channel kind (`email`, `chat`, …), or `all`.
    pub channel: String,
    /// The tickets created in the history.
    pub tickets: u64,
    /// For each of the 168 hours of the week, the mean tickets created in it per week.
    pub per_hour: Vec<f64>,
}

/// The arrivals of each channel (and of all together, first) over `[from, to)`.
pub fn heatmaps(facts: &[TicketFacts], from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Heatmap> {
    let mut counts = Counts::new();
    for f in facts {
        let created = f.reading.created_at;
        if created < from || created >= to {
            continue;
        }
        counts.add(&f.reading.channel, created, 1);
    }
    counts.heatmaps(from, to)
}

/// As [`heatmaps`], from the tickets created per clock hour: the store's counts
/// ([`cutover_store::Store::kpi_created`] over `[from, to)` in buckets of an hour from the
/// epoch, [`HOURLY_ORIGIN`]), read by [`crate::kpi_stored::heatmaps`].
pub fn of_hourly_counts(
    counts: &[CreatedCount],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<Heatmap> {
    let mut by_channel = Counts::new();
    for c in counts {
        let hour = HOURLY_ORIGIN + Duration::hours(c.bucket);
        by_channel.add(&c.channel, hour, c.tickets);
    }
    by_channel.heatmaps(from, to)
}

/// Where the clock hours of [`of_hourly_counts`] are counted from: the epoch, a Thursday 00:00.
pub const HOURLY_ORIGIN: DateTime<Utc> = DateTime::UNIX_EPOCH;

/// Tickets per channel (and of all together) per hour of the week.
struct Counts(BTreeMap<String, Vec<u64>>);

impl Counts {
    fn new() -> Self {
        let mut counts = BTreeMap::new();
        counts.insert(String::from("all"), vec![0; 168]);
        Self(counts)
    }

    /// Counts `n` tickets of `channel` created at `created`.
    fn add(&mut self, channel: &str, created: DateTime<Utc>, n: u64) {
        for channel in ["all", channel] {
            let hours = self
                .0
                .entry(channel.to_owned())
                .or_insert_with(|| vec![0; 168]);
            if let Some(count) = slot(hours, created) {
                *count += n;
            }
        }
    }

    /// The heatmaps of a history `[from, to)`.
    fn heatmaps(self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Heatmap> {
        // How often each hour of the week occurs in the history, so a part week counts right.
        let mut occurrences = vec![0u32; 168];
        let mut hour = hour_start(from);
        while hour < to {
            if let Some(n) = slot(&mut occurrences, hour) {
                *n += 1;
            }
            hour += Duration::hours(1);
        }
        self.0
            .into_iter()
            .map(|(channel, hours)| {
                #[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
                let per_hour = hours
                    .iter()
                    .zip(&occurrences)
                    .map(|(n, weeks)| {
                        if *weeks == 0 {
                            0.0
                        } else {
                            *n as f64 / f64::from(*weeks)
                        }
                    })
                    .collect();
                Heatmap {
                    tickets: hours.iter().sum(),
                    channel,
                    per_hour,
                }
            })
            .collect()
    }
}

fn slot<T>(hours: &mut [T], t: DateTime<Utc>) -> Option<&mut T> {
    hours.get_mut(usize::try_from(hour_of_week(t)).ok()?)
}

impl Heatmap {
    /// Several channels' arrivals together (a wave's channels).
    pub fn combined<'a>(name: &str, maps: impl IntoIterator<Item = &'a Heatmap>) -> Heatmap {
        let mut sum = Heatmap {
            channel: name.to_owned(),
            tickets: 0,
            per_hour: vec![0.0; 168],
        };
        for map in maps {
            sum.tickets += map.tickets;
            for (total, n) in sum.per_hour.iter_mut().zip(&map.per_hour) {
                *total += n;
            }
        }
        sum
    }

    /// Whether there is enough history to judge its hours ([`MIN_TICKETS`]).
    pub fn is_judged(&self) -> bool {
        self.tickets >= MIN_TICKETS
    }

    /// The arrivals from which an hour counts as busy: the 75th percentile of the week's hours.
    pub fn busy_from(&self) -> f64 {
        let mut values = self.per_hour.clone();
        percentile(&mut values, 0.75).unwrap_or(0.0)
    }

    /// Whether an hour of the week is busy: in the busiest quarter of the week's hours, with
    /// more tickets than the median hour.
    pub fn is_busy(&self, hour: u32) -> bool {
        let mut values = self.per_hour.clone();
        let median = percentile(&mut values, 0.5).unwrap_or(0.0);
        let at = self.at(hour);
        at >= self.busy_from() && at > median
    }

    /// The mean arrivals in an hour of the week (taken modulo a week).
    pub fn at(&self, hour: u32) -> f64 {
        usize::try_from(hour % WEEK_HOURS)
            .ok()
            .and_then(|h| self.per_hour.get(h))
            .copied()
            .unwrap_or(0.0)
    }

    /// The `n` busiest hours of the week, busiest first (ties by hour).
    pub fn busiest(&self, n: usize) -> Vec<u32> {
        let mut hours: Vec<u32> = (0..WEEK_HOURS).collect();
        hours.sort_by(|a, b| self.at(*b).total_cmp(&self.at(*a)).then(a.cmp(b)));
        hours.truncate(n);
        hours
    }

    /// The `n` quietest hours of the week, quietest first (ties by hour).
    pub fn quietest(&self, n: usize) -> Vec<u32> {
        let mut hours: Vec<u32> = (0..WEEK_HOURS).collect();
        hours.sort_by(|a, b| self.at(*a).total_cmp(&self.at(*b)).then(a.cmp(b)));
        hours.truncate(n);
        hours
    }

    /// The busy hours among the `hours` hours from `start` (an hour of the week; the week wraps).
    pub fn busy_hours_in(&self, start: u32, hours: u32) -> Vec<u32> {
        (0..hours.min(WEEK_HOURS))
            .map(|i| (start + i) % WEEK_HOURS)
            .filter(|h| self.is_busy(*h))
            .collect()
    }

    /// The tickets expected in the `hours` hours from `start`.
    pub fn arrivals_in(&self, start: u32, hours: u32) -> f64 {
        (0..hours.min(WEEK_HOURS)).map(|i| self.at(start + i)).sum()
    }

    /// The `n` quietest windows of `hours` whole hours, quietest first, not overlapping.
    pub fn quietest_windows(&self, hours: u32, n: usize) -> Vec<Quiet> {
        let hours = hours.clamp(1, WEEK_HOURS);
        let mut starts: Vec<Quiet> = (0..WEEK_HOURS)
            .map(|start| Quiet {
                start,
                hours,
                arrivals: self.arrivals_in(start, hours),
            })
            .collect();
        starts.sort_by(|a, b| {
            a.arrivals
                .total_cmp(&b.arrivals)
                .then(a.start.cmp(&b.start))
        });
        let mut picked: Vec<Quiet> = Vec::new();
        for window in starts {
            if picked.len() >= n {
                break;
            }
            if picked.iter().all(|p| !p.overlaps(&window)) {
                picked.push(window);
            }
        }
        picked
    }
}

/// A window of whole hours in the week.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Quiet {
    /// Its first hour of the week.
    pub start: u32,
    /// How many hours it lasts.
    pub hours: u32,
    /// The tickets expected in it (mean per week).
    pub arrivals: f64,
}

impl Quiet {
    fn overlaps(&self, other: &Quiet) -> bool {
        // On the week's circle: one starts within the other.
        let within = |a: &Quiet, b: &Quiet| (b.start + WEEK_HOURS - a.start) % WEEK_HOURS < a.hours;
        within(self, other) || within(other, self)
    }
}

/// An hour of the week as people read it: `Mon 09:00`.
pub fn hour_label(hour: u32) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let hour = hour % WEEK_HOURS;
    let day = DAYS
        .get(usize::try_from(hour / 24).unwrap_or(0))
        .copied()
        .unwrap_or("?");
    format!("{day} {:02}:00", hour % 24)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use cutover_model::{PlatformId, Side};
    use cutover_store::TicketReading;

    use super::*;

    fn ticket(id: usize, channel: &str, created_at: DateTime<Utc>) -> TicketFacts {
        TicketFacts {
            reading: TicketReading {
                side: Side::Old,
                ticket: PlatformId::parse(id.to_string()).unwrap(),
                channel: channel.to_owned(),
                group: None,
                assignee: None,
                priority_rank: None,
                created_at,
                first_reply_at: None,
                agent_replies: None,
                solved_at: None,
            },
            reopened: 0,
            priority_raised: false,
            reassigned: false,
            satisfaction: None,
        }
    }

    /// Two weeks from Monday 2026-03-02: e-mail every weekday 09:00 to 17:00 (three an hour on
    /// Mondays at 10:00), one chat on Sunday 03:00 of the first week.
    fn history() -> (Vec<TicketFacts>, DateTime<Utc>, DateTime<Utc>) {
        let from = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
        let mut facts = Vec::new();
        for week in 0..2 {
            for day in 0..5 {
                for hour in 9..17 {
                    let at = from + Duration::days(week * 7 + day) + Duration::hours(hour);
                    let n = if day == 0 && hour == 10 { 3 } else { 1 };
                    for _ in 0..n {
                        facts.push(ticket(facts.len() + 1, "email", at));
                    }
                }
            }
        }
        facts.push(ticket(
            999,
            "chat",
            from + Duration::days(6) + Duration::hours(3),
        ));
        (facts, from, from + Duration::weeks(2))
    }

    #[test]
    fn counts_each_channels_tickets_per_hour_of_the_week() {
        let (facts, from, to) = history();
        let maps = heatmaps(&facts, from, to);
        let names: Vec<&str> = maps.iter().map(|m| m.channel.as_str()).collect();
        assert_eq!(names, ["all", "chat", "email"]);
        let email = &maps[2];
        assert_eq!(email.tickets, 2 * (5 * 8 + 2));
        assert_eq!(email.at(10), 3.0);
        assert_eq!(email.at(24 + 9), 1.0);
        assert_eq!(email.at(5 * 24 + 10), 0.0);
        // One chat in two Sundays at 03:00: half a ticket a week.
        assert_eq!(maps[1].at(6 * 24 + 3), 0.5);
        assert_eq!(maps[0].tickets, email.tickets + 1);
        assert_eq!(email.busiest(1), [10]);
        assert_eq!(hour_label(email.busiest(1)[0]), "Mon 10:00");
        assert!(email.quietest(3).iter().all(|h| email.at(*h) == 0.0));
        assert!(email.is_judged() && !maps[1].is_judged());
    }

    #[test]
    fn office_hours_are_busy_and_the_quietest_windows_avoid_them() {
        let (facts, from, to) = history();
        let email = heatmaps(&facts, from, to).remove(2);
        assert!(email.is_busy(10) && email.is_busy(2 * 24 + 14));
        assert!(!email.is_busy(2 * 24 + 20) && !email.is_busy(6 * 24 + 10));
        assert_eq!(email.busy_hours_in(7, 4), [9, 10]);
        // A four-hour window: one with no tickets at all, never in office hours; three of them,
        // apart.
        let quiet = email.quietest_windows(4, 3);
        assert_eq!(quiet.len(), 3);
        for q in &quiet {
            assert_eq!(q.arrivals, 0.0, "{q:?}");
            assert!(email.busy_hours_in(q.start, q.hours).is_empty());
        }
        for (i, a) in quiet.iter().enumerate() {
            for b in &quiet[i + 1..] {
                assert!(!a.overlaps(b), "{a:?} {b:?}");
            }
        }
        // A window across the week's end wraps to Monday.
        assert_eq!(email.arrivals_in(167, 12), 1.0 + 3.0);
        // Combined channels add up.
        let all = Heatmap::combined("wave", [&email, &email]);
        assert_eq!(all.at(10), 6.0);
    }
}
