//! The cost of a backfill in requests, and the time it takes at a plan's rate limits.
//!
//! Against a real account the rate limit is the whole budget, so how long a move takes is
//! requests per record divided by requests a minute. [`floor`] is the fewest requests each
//! platform's documented endpoints allow for given counts, in one direction (the formula is
//! written out in `docs/cost.md`); [`estimate`] turns requests into minutes at a plan's limits and
//! share, bucket by bucket (Zendesk's incremental exports have a limit of their own, Freshdesk's
//! ticket creates and lists theirs). Inventory estimates a backfill from it, the backfill's ETA
//! starts from it, and `cutover bench backfill` sets the requests the emulators counted against
//! it.
//!
//! Requests here are what reaches the platform's host, attachment downloads included (they are
//! requests the emulators count); only the API's requests count against its rate limit.

use cutover_model::PlatformKind;
use serde::Serialize;

/// Records a bulk create, a `show_many` or a list page carries at most.
pub const BULK: u64 = 100;

/// Records a page of Zendesk's incremental exports carries at most (`per_page` ≤ 1000).
pub const EXPORT_PAGE: u64 = 1000;

/// Zendesk's limit on incremental exports, requests a minute (whatever the plan).
pub const ZENDESK_EXPORTS_PER_MINUTE: f64 = 10.0;

/// What a backfill copies, counted on the old side.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Volume {
    /// Tickets.
    pub tickets: u64,
    /// Comments, each ticket's first (its description) included.
    pub comments: u64,
    /// Attachments of those comments.
    pub attachments: u64,
    /// Their bytes.
    pub attachment_bytes: u64,
    /// End users (Zendesk) or contacts (Freshdesk).
    pub users: u64,
    /// Organizations (Zendesk) or companies (Freshdesk).
    pub organizations: u64,
}

/// What one side of a move is asked, in requests, by the rate-limit bucket that paces them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct SideCost {
    /// API requests: every one counts against the account's limit.
    pub api: u64,
    /// Attachment downloads or other requests outside the API's limit.
    pub downloads: u64,
    /// Of `api`, Zendesk's incremental exports (their own limit, [`ZENDESK_EXPORTS_PER_MINUTE`]).
    pub exports: u64,
    /// Of `api`, Freshdesk's `POST /tickets` (its own share of the limit).
    pub ticket_creates: u64,
    /// Of `api`, Freshdesk's `GET /tickets` pages (their own share).
    pub ticket_lists: u64,
    /// Of `api`, Freshdesk's `GET /contacts` pages (their own share).
    pub contact_lists: u64,
}

impl SideCost {
    /// Every request, downloads included.
    pub fn total(&self) -> u64 {
        self.api + self.downloads
    }

    /// This cost scaled by `factor` (the engine's requests over the floor), each bucket rounded up.
    pub fn scaled(&self, factor: f64) -> SideCost {
        let f = |n: u64| (n as f64 * factor.max(0.0)).ceil() as u64;
        SideCost {
            api: f(self.api),
            downloads: f(self.downloads),
            exports: f(self.exports),
            ticket_creates: f(self.ticket_creates),
            ticket_lists: f(self.ticket_lists),
            contact_lists: f(self.contact_lists),
        }
    }
}

/// The requests a backfill asks of each side.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Cost {
    /// The old platform (read).
    pub old: SideCost,
    /// The new platform (written).
    pub new: SideCost,
}

/// Why there is no cost for a direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no cost model for a move from {from} to {to}: only Zendesk and Freshdesk are modelled")]
pub struct Unmodelled {
    /// The old platform.
    pub from: PlatformKind,
    /// The new platform.
    pub to: PlatformKind,
}

/// Pages of `per` records that hold `n`.
fn pages(n: u64, per: u64) -> u64 {
    n.div_ceil(per)
}

/// The fewest requests the old platform's documented endpoints allow to read `v` once.
///
/// - Zendesk: the incremental exports of tickets, users and organizations, and
///   `incremental/ticket_events?include=comment_events` for comments (one audit a comment, as
///   tickets are written), 1000 a page; one download per attachment (outside the API).
/// - Freshdesk: lists of tickets, contacts and companies, 100 a page; per ticket one
///   `GET /tickets/{id}` (the description's attachments come only with the ticket itself: lists
///   leave them out, `include=description` too) and one `/tickets/{id}/conversations` (no bulk
///   read of conversations; `include=conversations` on the ticket saves the request but costs
///   its credit all the same, and gives ten at most); one download per attachment.
fn reads(platform: PlatformKind, v: &Volume) -> Option<SideCost> {
    match platform {
        PlatformKind::Zendesk => {
            let exports = pages(v.tickets, EXPORT_PAGE)
                + pages(v.comments, EXPORT_PAGE)
                + pages(v.users, EXPORT_PAGE)
                + pages(v.organizations, EXPORT_PAGE);
            Some(SideCost {
                api: exports,
                downloads: v.attachments,
                exports,
                ..SideCost::default()
            })
        }
        PlatformKind::Freshdesk => {
            let ticket_lists = pages(v.tickets, BULK);
            let contact_lists = pages(v.users, BULK);
            Some(SideCost {
                api: ticket_lists + 2 * v.tickets + contact_lists + pages(v.organizations, BULK),
                downloads: v.attachments,
                ticket_lists,
                contact_lists,
                ..SideCost::default()
            })
        }
        PlatformKind::Zammad => None,
    }
}

/// The fewest requests the new platform's documented endpoints allow to write `v` once, on a
/// clean first run (no lookups: nothing can exist there yet).
///
/// - Zendesk: `users/create_many`, `organizations/create_many` and
///   `imports/tickets/create_many` (comments inside the ticket), 100 a job, each job polled once;
///   one `POST /uploads` per attachment.
/// - Freshdesk: one `POST /contacts` per contact, `POST /companies` per company, `POST /tickets`
///   per ticket (its description and attachments inside) and `POST /tickets/{id}/notes` per
///   further comment (attachments inside): no bulk creates, no uploads.
fn writes(platform: PlatformKind, v: &Volume) -> Option<SideCost> {
    match platform {
        PlatformKind::Zendesk => Some(SideCost {
            api: 2 * (pages(v.users, BULK) + pages(v.organizations, BULK) + pages(v.tickets, BULK))
                + v.attachments,
            ..SideCost::default()
        }),
        PlatformKind::Freshdesk => Some(SideCost {
            api: v.users + v.organizations + v.tickets + v.comments.saturating_sub(v.tickets),
            ticket_creates: v.tickets,
            ..SideCost::default()
        }),
        PlatformKind::Zammad => None,
    }
}

/// The floor: the fewest requests a backfill of `v` from `from` to `to` can make on each side.
pub fn floor(from: PlatformKind, to: PlatformKind, v: &Volume) -> Result<Cost, Unmodelled> {
    match (reads(from, v), writes(to, v)) {
        (Some(old), Some(new)) => Ok(Cost { old, new }),
        _ => Err(Unmodelled { from, to }),
    }
}

/// The engine's requests over the floor in a direction, old side and new, as
/// `cutover bench backfill --from … --to …` measured them (its `cost.ratio`); the estimate
/// multiplies the floor by them (a direction not benchmarked, [`benchmarked`], at its floor).
/// Re-measure (`docs/cost.md`) when the engine's request pattern changes: a
/// rate-limited bench fails when the estimate misses the measured time by more than 20 %.
pub fn engine_over_floor(from: PlatformKind, to: PlatformKind) -> (f64, f64) {
    use PlatformKind::{Freshdesk, Zendesk};
    match (from, to) {
        (Zendesk, Zendesk) => ZENDESK_TO_ZENDESK,
        (Zendesk, Freshdesk) => ZENDESK_TO_FRESHDESK,
        (Freshdesk, Zendesk) => FRESHDESK_TO_ZENDESK,
        (Freshdesk, Freshdesk) => FRESHDESK_TO_FRESHDESK,
        _ => (1.0, 1.0),
    }
}

/// Whether [`engine_over_floor`] was measured for a direction: every one between Zendesk and
/// Freshdesk (`cutover bench backfill --from … --to …`).
pub fn benchmarked(from: PlatformKind, to: PlatformKind) -> bool {
    use PlatformKind::{Freshdesk, Zendesk};
    matches!(from, Zendesk | Freshdesk) && matches!(to, Zendesk | Freshdesk)
}

/// Zendesk → Zendesk's requests over the floor (read, written), from
/// `cutover bench backfill --tickets 2000` (docs/cost.md): comments read through the ticket
/// events export, tickets imported in bulk, their comments linked many tickets at once from the
/// target's ticket events export.
const ZENDESK_TO_ZENDESK: (f64, f64) = (1.01, 1.03);

/// Zendesk → Freshdesk's, from `cutover bench backfill --tickets 2000 --from zendesk --to
/// freshdesk` (docs/cost.md): Freshdesk's writes are one a record, as its floor.
const ZENDESK_TO_FRESHDESK: (f64, f64) = (1.01, 1.00);

/// Freshdesk → Zendesk's, from `cutover bench backfill --tickets 2000 --from freshdesk --to
/// zendesk` (docs/cost.md): the old side read at its floor (two requests a ticket, ticket pages
/// and the deleted and spam lists once a pass); the imported tickets' comments linked in bulk,
/// as from Zendesk.
const FRESHDESK_TO_ZENDESK: (f64, f64) = (1.01, 1.10);

/// Freshdesk → Freshdesk's, from `cutover bench backfill --tickets 2000 --from freshdesk --to
/// freshdesk` (docs/cost.md): the old side read as into Zendesk, the new written at its floor.
const FRESHDESK_TO_FRESHDESK: (f64, f64) = (1.01, 1.01);

/// A platform account's rate limit and the share of it cutover may use.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rate {
    /// The platform.
    pub platform: PlatformKind,
    /// The account's limit, requests a minute.
    pub requests_per_minute: u32,
    /// The share of it cutover may use, in (0, 1].
    pub share: f64,
}

impl Rate {
    /// Requests a minute cutover may spend in each bucket of this account, as the platform's
    /// documented per-endpoint limits scale with its plan.
    fn budgets(&self) -> Budgets {
        let rpm = f64::from(self.requests_per_minute.max(1));
        let share = if self.share > 0.0 && self.share <= 1.0 {
            self.share
        } else {
            1.0
        };
        // Freshdesk's per-endpoint limits by plan: ticket creates 40 % of the account's; lists of
        // tickets and contacts 20 of 200, 100 of 400, 200 of 700.
        let lists = match self.requests_per_minute {
            0..=200 => 0.1,
            201..=400 => 0.25,
            _ => 200.0 / 700.0,
        };
        Budgets {
            account: rpm * share,
            exports: ZENDESK_EXPORTS_PER_MINUTE * share,
            ticket_creates: rpm * 0.4 * share,
            lists: rpm * lists * share,
        }
    }
}

/// Requests a minute of each bucket.
struct Budgets {
    account: f64,
    exports: f64,
    ticket_creates: f64,
    lists: f64,
}

/// Minutes `cost` takes on one account: its slowest bucket.
fn side_minutes(cost: &SideCost, rate: &Rate) -> f64 {
    let b = rate.budgets();
    let buckets = [
        (cost.api, b.account),
        (cost.exports, b.exports),
        (cost.ticket_creates, b.ticket_creates),
        (cost.ticket_lists, b.lists),
        (cost.contact_lists, b.lists),
    ];
    buckets
        .iter()
        .map(|(requests, per_minute)| *requests as f64 / per_minute)
        .fold(0.0, f64::max)
}

/// How long a backfill takes at the plans' limits.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    /// Minutes, the slower side's (both sides are paced at once).
    pub minutes: f64,
    /// Tickets an hour at that pace.
    pub tickets_per_hour: f64,
    /// The side whose limit paces the move (`old` or `new`).
    pub paced_by: &'static str,
}

/// How long `cost` takes for `tickets` tickets at the old and new accounts' limits and shares.
pub fn estimate(cost: &Cost, tickets: u64, old: &Rate, new: &Rate) -> Estimate {
    let (old_minutes, new_minutes) = (side_minutes(&cost.old, old), side_minutes(&cost.new, new));
    let minutes = old_minutes.max(new_minutes);
    Estimate {
        minutes,
        tickets_per_hour: if minutes > 0.0 {
            tickets as f64 * 60.0 / minutes
        } else {
            0.0
        },
        paced_by: if old_minutes > new_minutes {
            "old"
        } else {
            "new"
        },
    }
}

/// The engine's expected cost of `v` in a direction: the floor times [`engine_over_floor`].
pub fn expected(from: PlatformKind, to: PlatformKind, v: &Volume) -> Result<Cost, Unmodelled> {
    let floor = floor(from, to, v)?;
    let (old, new) = engine_over_floor(from, to);
    Ok(Cost {
        old: floor.old.scaled(old),
        new: floor.new.scaled(new),
    })
}

/// Common plan limits, requests a minute: Zendesk's Team, Growth/Professional, Enterprise and
/// High Volume; Freshdesk's Growth, Pro and Enterprise.
pub fn plan_limits(platform: PlatformKind) -> &'static [u32] {
    match platform {
        PlatformKind::Freshdesk => &[200, 400, 700],
        _ => &[200, 400, 700, 2500],
    }
}

/// The README's table: per direction, the engine's requests per ticket (old + new side), the
/// floor's, and tickets an hour with both accounts at each common limit (the engine's), for
/// the shape of `v` (Markdown).
pub fn readme_table(v: &Volume) -> String {
    let limits = plan_limits(PlatformKind::Zendesk);
    let mut text = String::from("| Direction | Requests per ticket (old + new) | Floor |");
    for rpm in limits {
        text.push_str(&format!(
            " Tickets/hour at {}/min (engine / floor) |",
            crate::text::count(u64::from(*rpm))
        ));
    }
    text.push_str("\n|---|---|---|");
    text.push_str(&"---:|".repeat(limits.len()));
    text.push('\n');
    let tickets = v.tickets.max(1) as f64;
    let sides = |c: &Cost| {
        format!(
            "{:.2} + {:.2}",
            c.old.total() as f64 / tickets,
            c.new.total() as f64 / tickets
        )
    };
    for (from, to) in [
        (PlatformKind::Zendesk, PlatformKind::Zendesk),
        (PlatformKind::Zendesk, PlatformKind::Freshdesk),
        (PlatformKind::Freshdesk, PlatformKind::Zendesk),
        (PlatformKind::Freshdesk, PlatformKind::Freshdesk),
    ] {
        let (Ok(engine), Ok(floor)) = (expected(from, to, v), floor(from, to, v)) else {
            continue;
        };
        let note = if benchmarked(from, to) {
            ""
        } else {
            " (not benchmarked: at the floor)"
        };
        text.push_str(&format!(
            "| {from} → {to} | {}{note} | {} |",
            sides(&engine),
            sides(&floor)
        ));
        for rpm in limits {
            let supported = |p| plan_limits(p).contains(rpm);
            if !(supported(from) && supported(to)) {
                text.push_str(" — |");
                continue;
            }
            let rate = |platform| Rate {
                platform,
                requests_per_minute: *rpm,
                share: 1.0,
            };
            let per_hour = |c: &Cost| {
                let e = estimate(c, v.tickets, &rate(from), &rate(to));
                crate::text::count((e.tickets_per_hour / 10.0).round() as u64 * 10)
            };
            text.push_str(&format!(" {} / {} |", per_hour(&engine), per_hour(&floor)));
        }
        text.push('\n');
    }
    text
}

/// The volume the README's table is computed for: `cutover bench backfill --tickets 2000`'s
/// generated account.
pub const README_VOLUME: Volume = Volume {
    tickets: 2000,
    comments: 16_105,
    attachments: 3935,
    attachment_bytes: 0,
    users: 500,
    organizations: 50,
};

/// Seconds as a person reads a wait: `45s`, `3m 20s`, `2h 05m`, `3d 04h`.
pub fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        3600..86_400 => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d {:02}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// Bytes as a person reads a size: `512 B`, `3.4 MB`, `1.2 GB` (powers of 1000).
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use PlatformKind::{Freshdesk, Zendesk};

    const DIRECTIONS: [(PlatformKind, PlatformKind); 4] = [
        (Zendesk, Zendesk),
        (Zendesk, Freshdesk),
        (Freshdesk, Zendesk),
        (Freshdesk, Freshdesk),
    ];

    fn volume(t: u64, c: u64, a: u64, u: u64, o: u64) -> Volume {
        Volume {
            tickets: t,
            comments: c,
            attachments: a,
            attachment_bytes: a * 1000,
            users: u,
            organizations: o,
        }
    }

    #[test]
    fn the_floor_is_the_documented_formula() {
        // 2,000 tickets, 16,000 comments, 4,000 attachments, 500 users, 50 organizations.
        let v = volume(2000, 16_000, 4000, 500, 50);
        let zz = floor(Zendesk, Zendesk, &v).unwrap();
        // Exports: 2 + 16 + 1 + 1 pages; downloads 4,000.
        assert_eq!(
            (zz.old.api, zz.old.exports, zz.old.downloads),
            (20, 20, 4000)
        );
        // Jobs and their polls: 2 × (5 + 1 + 20); uploads 4,000.
        assert_eq!(zz.new.api, 52 + 4000);
        let zf = floor(Zendesk, Freshdesk, &v).unwrap();
        // 500 contacts + 50 companies + 2,000 tickets + 14,000 notes.
        assert_eq!((zf.new.api, zf.new.ticket_creates), (16_550, 2000));
        let fz = floor(Freshdesk, Zendesk, &v).unwrap();
        // 20 ticket pages + 2,000 ticket reads (the description's attachments) + 2,000
        // conversation reads + 5 contact pages + 1 company page.
        assert_eq!(
            (fz.old.api, fz.old.ticket_lists, fz.old.contact_lists),
            (4026, 20, 5)
        );
        assert!(floor(PlatformKind::Zammad, Zendesk, &v).is_err());
    }

    #[test]
    fn the_estimate_is_paced_by_the_slowest_bucket() {
        let v = volume(2000, 16_000, 4000, 500, 50);
        let rate = |platform, rpm| Rate {
            platform,
            requests_per_minute: rpm,
            share: 1.0,
        };
        let zz = floor(Zendesk, Zendesk, &v).unwrap();
        let e = estimate(&zz, v.tickets, &rate(Zendesk, 700), &rate(Zendesk, 700));
        // 4,052 API requests on the new side at 700 a minute.
        assert!((e.minutes - 4052.0 / 700.0).abs() < 1e-9);
        assert_eq!(e.paced_by, "new");
        // Into Freshdesk Growth: 16,550 requests at 200 a minute, ticket creates 2,000 at 80.
        let zf = floor(Zendesk, Freshdesk, &v).unwrap();
        let e = estimate(&zf, v.tickets, &rate(Zendesk, 700), &rate(Freshdesk, 200));
        assert!((e.minutes - 16_550.0 / 200.0).abs() < 1e-9);
        // Half the share takes twice as long.
        let half = Rate {
            share: 0.5,
            ..rate(Freshdesk, 200)
        };
        let slower = estimate(&zf, v.tickets, &rate(Zendesk, 700), &half);
        assert!((slower.minutes - 2.0 * e.minutes).abs() < 1e-9);
    }

    #[test]
    fn waits_and_sizes_read_as_a_person_reads_them() {
        assert_eq!(duration(45.0), "45s");
        assert_eq!(duration(7_500.0), "2h 05m");
        assert_eq!(duration(3.0 * 86_400.0 + 4.0 * 3600.0), "3d 04h");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(3_400_000), "3.4 MB");
    }

    /// The README's table is the cost model's: `CUTOVER_UPDATE_README=1` rewrites it.
    #[test]
    fn the_readmes_table_is_the_cost_models() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
        let readme = std::fs::read_to_string(path).unwrap();
        let (start, end) = ("<!-- cost-table:start -->\n", "<!-- cost-table:end -->");
        let (head, rest) = readme.split_once(start).unwrap();
        let (_, tail) = rest.split_once(end).unwrap();
        let table = readme_table(&README_VOLUME);
        let fresh = format!("{head}{start}{table}{end}{tail}");
        if std::env::var_os("CUTOVER_UPDATE_README").is_some() {
            std::fs::write(path, &fresh).unwrap();
        }
        assert!(
            readme == fresh,
            "README.md's cost table is stale; run with CUTOVER_UPDATE_README=1:\n{table}"
        );
    }

    proptest! {
        #[test]
        fn more_records_never_cost_fewer_requests(
            t in 0u64..5000, c in 0u64..50_000, a in 0u64..10_000, u in 0u64..5000,
            o in 0u64..500, extra in 1u64..1000, which in 0usize..5,
        ) {
            let small = volume(t, c, a, u, o);
            let mut big = small;
            match which {
                0 => big.tickets += extra,
                1 => big.comments += extra,
                2 => big.attachments += extra,
                3 => big.users += extra,
                _ => big.organizations += extra,
            }
            for (from, to) in DIRECTIONS {
                let (s, b) = (floor(from, to, &small).unwrap(), floor(from, to, &big).unwrap());
                prop_assert!(s.old.total() <= b.old.total());
                prop_assert!(s.new.total() <= b.new.total());
                let rate = Rate { platform: to, requests_per_minute: 400, share: 0.8 };
                let old = Rate { platform: from, ..rate };
                prop_assert!(
                    estimate(&s, t, &old, &rate).minutes <= estimate(&b, t, &old, &rate).minutes
                );
            }
        }

        #[test]
        fn the_engines_expected_cost_is_never_below_the_floor(
            t in 0u64..5000, c in 0u64..50_000, a in 0u64..10_000, u in 0u64..5000,
            o in 0u64..500,
        ) {
            let v = volume(t, c, a, u, o);
            for (from, to) in DIRECTIONS {
                let (f, e) = (floor(from, to, &v).unwrap(), expected(from, to, &v).unwrap());
                prop_assert!(f.old.total() <= e.old.total() && f.new.total() <= e.new.total());
            }
        }
    }
}
