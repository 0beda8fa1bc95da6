//! `cutover bench backfill`: the figures it prints are there and add up, on a tiny account.
//! With `--verify`, the verification after it is clean and reads each platform no more than
//! the backfill read the old one (every record once).

use serde_json::Value;

use crate::harness::Workdir;

fn figures(args: &[&str]) -> Value {
    let dir = Workdir::new();
    let run = dir.run(args);
    let out: Value = serde_json::from_str(run.stdout().trim())
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", run.stdout(), run.stderr()));
    if run.code() != 0 {
        // A miss of the cost floor (requests per ticket over 1.25 times the floor, or the
        // estimate off by more than 20 %) exits 1, as a benchmark that misses its floor does;
        // on a tiny account the fixed costs weigh more. Nothing else may fall short.
        run.expect_code(1);
        let missed_cost = out["cost"]["meets_floor"] == false
            || out["estimate"]["within_20_percent"] == false
            || out["meets_pace"] == false;
        assert!(
            missed_cost,
            "exit 1 for another reason: {out:#}\n{}",
            run.stderr()
        );
        let said = run.stderr();
        assert!(said.contains("fell short"), "{said}");
        for other in ["not clean", "read more than", "peak memory"] {
            assert!(!said.contains(other), "{said}");
        }
    }
    out
}

#[test]
fn the_unthrottled_benchmark_copies_everything_and_reports_the_engine_alone() {
    let out = figures(&[
        "bench",
        "backfill",
        "--tickets",
        "25",
        "--concurrency",
        "2",
        "--verify",
    ]);
    assert_eq!(out["mode"], "unthrottled", "{out:#}");
    let tickets = &out["backfill"]["kinds"]["ticket"];
    assert_eq!(tickets["created"], 25, "{out:#}");
    let records = out["records"].as_u64().unwrap();
    assert!(records > 25, "{out:#}");
    assert_eq!(out["written"].as_u64(), Some(records), "{out:#}");
    assert!(out["records_per_second"].as_f64().unwrap() > 0.0, "{out:#}");
    if cfg!(target_os = "linux") {
        assert!(out["engine_cpu_seconds"].as_f64().unwrap() > 0.0, "{out:#}");
        // The engine's own memory, not the emulators': far below a gigabyte.
        let rss = out["engine_peak_rss_bytes"].as_u64().unwrap();
        assert!(rss > 1 << 20 && rss < 1 << 30, "{out:#}");
    }
    assert!(out["requests"]["new"].as_u64().unwrap() > 0, "{out:#}");

    let verify = &out["verify"];
    assert_eq!(verify["clean"], true, "{verify:#}");
    assert_eq!(verify["within_read_once"], true, "{verify:#}");
    let read_once = verify["read_once_api_reads"].as_u64().unwrap();
    for side in ["old", "new"] {
        let reads = verify["api_reads"][side].as_u64().unwrap();
        // Every page read once, and no more than the copy read: the comments of many tickets
        // come a page at a time (Zendesk's ticket events), so fewer reads than tickets.
        assert!(reads > 0 && reads <= read_once, "{side}: {verify:#}");
        assert!(reads < 25, "comments are read in bulk: {side}: {verify:#}");
    }
    assert!(
        verify["matched"].as_u64().unwrap() > records / 2,
        "{verify:#}"
    );
}

/// In a direction other than the default too: the share of the limit, the share answered 429,
/// the tickets copied an hour as the new emulator counts them, and the pace judged against its
/// floor (a few seconds are mostly the engine's start, below it: exit 1, said).
#[test]
fn the_rate_limited_benchmark_measures_the_share_of_the_limit() {
    let out = figures(&[
        "bench",
        "backfill",
        "--rate-limited",
        "--minutes",
        "0.05",
        "--tickets",
        "25",
        "--from",
        "freshdesk",
        "--to",
        "zendesk",
    ]);
    assert_eq!(out["mode"], "rate_limited", "{out:#}");
    assert_eq!(out["direction"]["from"], "freshdesk", "{out:#}");
    assert_eq!(out["limit_per_minute"], 700, "{out:#}");
    let share = out["share_of_limit"].as_f64().unwrap();
    assert!(share > 0.0, "{out:#}");
    let storms = out["share_429"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&storms), "{out:#}");
    let copied = out["tickets_copied"].as_u64().unwrap();
    let per_hour = out["tickets_copied_per_hour"].as_f64().unwrap();
    let minutes = out["minutes"].as_f64().unwrap();
    assert!(
        (per_hour - copied as f64 * 60.0 / minutes).abs() < 1e-6,
        "{out:#}"
    );
    assert_eq!(out["tickets_copied_counted_by"], "zendesk", "{out:#}");
    let floor = &out["pace_floor"];
    let meets = share >= floor["min_share_of_limit"].as_f64().unwrap()
        && storms < floor["max_share_429"].as_f64().unwrap();
    assert_eq!(out["meets_pace"], meets, "{out:#}");
}

/// Each direction the benchmark measures besides Zendesk → Zendesk: the account generated on
/// the chosen old emulator is copied to the chosen new one, and the figures say the direction
/// and, per side, requests per ticket and the floor for that direction (a Freshdesk side's
/// floor is not a Zendesk side's: a direction flag ignored gives other floors).
#[test]
fn every_direction_reports_requests_per_ticket_and_its_floor_on_each_side() {
    for (from, to) in [("zendesk", "freshdesk"), ("freshdesk", "zendesk")] {
        let out = figures(&[
            "bench",
            "backfill",
            "--tickets",
            "10",
            "--concurrency",
            "2",
            "--from",
            from,
            "--to",
            to,
        ]);
        assert_eq!(out["mode"], "unthrottled", "{out:#}");
        assert_eq!(out["direction"]["from"], from, "{out:#}");
        assert_eq!(out["direction"]["to"], to, "{out:#}");
        let cost = &out["cost"];
        assert_eq!(cost["direction"], format!("{from} → {to}"), "{out:#}");
        // The generated tickets were copied (Freshdesk's generator keeps a few as spam or in
        // its trash, which are not), and the floor is for those the new side holds.
        let tickets = cost["volume"]["tickets"].as_u64().unwrap();
        assert!(tickets >= 7, "{out:#}");
        let created = out["backfill"]["kinds"]["ticket"]["created"]
            .as_u64()
            .unwrap();
        assert!(created >= tickets, "{out:#}");
        let comments = cost["volume"]["comments"].as_u64().unwrap();
        assert!(comments >= tickets, "{out:#}");
        for side in ["old", "new"] {
            let measured = cost["requests_per_ticket"][side].as_f64().unwrap();
            let floor = cost["floor_per_ticket"][side].as_f64().unwrap();
            assert!(floor > 0.0 && measured >= floor, "{side}: {out:#}");
            let ratio = cost["ratio"][side].as_f64().unwrap();
            assert!((ratio - measured / floor).abs() < 1e-9, "{side}: {out:#}");
        }
        // The floor is the direction's: Freshdesk is read a conversations page a ticket and
        // written a request a ticket and a comment; Zendesk is read by exports of 1000 and
        // written in bulk jobs of 100.
        let (old_floor, new_floor) = (
            cost["floor_per_ticket"]["old"].as_f64().unwrap(),
            cost["floor_per_ticket"]["new"].as_f64().unwrap(),
        );
        let per_ticket = |n: u64| n as f64 / tickets as f64;
        if from == "freshdesk" {
            // The ticket (its description's attachments) and its conversations, a ticket.
            assert!(old_floor > 2.0, "two reads a ticket: {out:#}");
            let shows = &out["requests_by_endpoint"]["old"]["GET /api/v2/tickets/{id}"];
            assert_eq!(shows.as_u64(), Some(tickets), "{out:#}");
            // A closed ticket's conversations, read for its merge, are not read again for its
            // comments: one read of them a ticket.
            let conversations =
                &out["requests_by_endpoint"]["old"]["GET /api/v2/tickets/{id}/conversations"];
            let conversations = conversations.as_u64().unwrap_or(0);
            assert!(conversations > 0 && conversations <= tickets, "{out:#}");
        } else {
            assert!(old_floor < per_ticket(comments), "{out:#}");
        }
        if to == "freshdesk" {
            assert!(
                new_floor >= per_ticket(comments),
                "a write a comment: {out:#}"
            );
        } else {
            assert!(new_floor < per_ticket(comments), "bulk imports: {out:#}");
        }
    }
}
