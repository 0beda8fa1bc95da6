//! What a person reads after a first move as `init` writes it (groups and fields of the
//! account not mapped yet, so records go to the dead letters): `cutover verify` on the terminal,
//! as JSON and as an HTML page (snapshots, with the emulators' ports and the time redacted),
//! `cutover deadletters list` with its counts and filters, and output into a closed pipe. The
//! real binary against both emulators.

use std::io::Read as _;
use std::process::{Command, Stdio};
use std::sync::Arc;

use cutover_sim::freshdesk::{FreshdeskOptions, FreshdeskSim};
use cutover_sim::zendesk::{ZendeskOptions, ZendeskSim};

use crate::harness::{self, Run, SIM_ENV, Workdir};

async fn run(dir: &Arc<Workdir>, args: &[&str]) -> Run {
    harness::run_beside_emulators(dir, args).await
}

/// Snapshot settings: the emulators' addresses (random ports), the report's time and record ids
/// redacted.
fn redacted(old: &str, new: &str) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(&regex_escape(old), "[old]");
    settings.add_filter(&regex_escape(new), "[new]");
    settings.add_filter(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", "[time]");
    // Record ids (the emulators' are long numbers); counts stay.
    settings.add_filter(r"\b\d{6,}\b", "[id]");
    settings
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let special = ".^$*+?()[]{}|\\/".contains(c);
            special
                .then_some('\\')
                .into_iter()
                .chain(std::iter::once(c))
        })
        .collect()
}

/// Both emulators' clocks start here, so what they generate is the same every run.
fn start() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_767_225_600, 0).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_explains_what_is_missing_and_deadletters_count_it() {
    let old = ZendeskSim::spawn(
        ZendeskOptions {
            seed: 5,
            tickets: 6,
            rate_limit_rpm: None,
            incremental_rpm: 0,
            start_time: Some(start()),
            ..ZendeskOptions::default()
        },
        "127.0.0.1:0",
    )
    .await
    .unwrap();
    let new = FreshdeskSim::spawn(
        FreshdeskOptions {
            seed: 6,
            rate_limit_rpm: Some(0),
            acknowledge_new_tickets: false,
            start_time: Some(start()),
            ..FreshdeskOptions::default()
        },
        "127.0.0.1:0",
    )
    .await
    .unwrap();
    let dir = Arc::new(Workdir::new());
    let init = [
        "init",
        "--from",
        "zendesk",
        "--to",
        "freshdesk",
        "--old-url",
        old.url(),
        "--new-url",
        new.url(),
    ];
    run(&dir, &init).await.expect_code(0);
    let path = dir.file("cutover.toml");
    let plan = std::fs::read_to_string(&path)
        .unwrap()
        .replace("requests_per_minute = 700", "requests_per_minute = 100000")
        .replace("requests_per_minute = 400", "requests_per_minute = 100000");
    std::fs::write(&path, plan).unwrap();
    // One write at a time: the new side's ids, and so the reports, are the same every run. The
    // account's open values stay open, so their records go to the dead letters the reports explain.
    let backfill = [
        "backfill",
        "--notifications-off",
        "--allow-unmapped",
        "--concurrency",
        "1",
    ];
    run(&dir, &backfill).await.expect_code(0);

    let settings = redacted(old.url(), new.url());
    let verified = run(&dir, &["verify", "--html", "verify.html"]).await;
    verified.expect_code(1);
    let terminal = verified.stdout();
    assert!(
        terminal.contains("Missing on the new side, by reason:")
            && terminal.contains("in the dead letters: "),
        "{terminal}"
    );
    let json = run(&dir, &["verify", "--json"]).await;
    let html = std::fs::read_to_string(dir.file("verify.html")).unwrap();
    assert!(
        html.contains("<a href=\""),
        "each record links to its pages"
    );
    settings.bind(|| {
        insta::assert_snapshot!("verify_terminal", terminal);
        insta::assert_snapshot!("verify_json", json.stdout());
        insta::assert_snapshot!("verify_html", html);
    });

    let list = run(&dir, &["deadletters", "list"]).await;
    list.expect_code(0);
    let listed = list.stdout();
    assert!(listed.contains("by kind and reason"), "{listed}");
    settings.bind(|| insta::assert_snapshot!("deadletters_list", listed));
    // A line of the counts, given back as it is, selects its dead letters.
    let counted = listed.lines().nth(2).unwrap();
    let (kind, reason) = {
        let cells: Vec<&str> = counted.split_whitespace().collect();
        // The reason starts after the count (it may repeat the kind's name).
        let count_at = counted.find(&format!(" {} ", cells[2])).unwrap() + cells[2].len() + 1;
        let reason_at = count_at + counted[count_at..].find(cells[3]).unwrap();
        (cells[0].to_owned(), counted[reason_at..].to_owned())
    };
    let n: usize = counted.split_whitespace().nth(2).unwrap().parse().unwrap();
    let narrowed = run(
        &dir,
        &[
            "deadletters",
            "list",
            "--kind",
            &kind,
            "--reason",
            &reason,
            "--json",
        ],
    )
    .await;
    assert_eq!(
        narrowed.stdout().lines().count(),
        n,
        "{}",
        narrowed.stdout()
    );

    // Into a pipe its reader has closed: a quiet end, exit code 0, for every command tried.
    for args in [&["deadletters", "list"][..], &["verify"], &["--help"]] {
        let dir = Arc::clone(&dir);
        let owned: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let (code, stderr) = tokio::task::spawn_blocking(move || closed_pipe(&dir, &owned))
            .await
            .unwrap();
        let expected = if args[0] == "verify" { [0, 1] } else { [0, 0] };
        assert!(expected.contains(&code), "{args:?}: exit {code}\n{stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.contains("Broken pipe"), "{args:?}: {stderr}");
    }
}

/// Runs `cutover ARGS` with its standard output a pipe closed before it writes: its exit code
/// and standard error.
fn closed_pipe(dir: &Workdir, args: &[String]) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(args)
        .current_dir(dir.path())
        .envs(SIM_ENV.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    (status.code().unwrap_or(-1), stderr)
}
