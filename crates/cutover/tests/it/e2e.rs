//! End-to-end: the real binary, in a temporary folder, as a user would run it.

use crate::harness::Workdir;

#[test]
fn init_then_check_is_clean_for_both_directions() {
    for (from, to) in [("zendesk", "freshdesk"), ("freshdesk", "zendesk")] {
        let dir = Workdir::new();
        let run = dir.run(&["init", "--from", from, "--to", to]);
        run.expect_code(0);
        assert!(
            run.stdout().contains("cutover plan check"),
            "{}",
            run.stdout()
        );
        let plan = std::fs::read_to_string(dir.file("cutover.toml")).unwrap();
        assert!(plan.contains(&format!("platform = \"{from}\"")), "{plan}");
        dir.run(&["plan", "check"]).expect_code(0);
    }
}

#[test]
fn init_never_overwrites_without_force() {
    let dir = Workdir::new();
    std::fs::write(dir.file("cutover.toml"), "# mine\n").unwrap();
    let run = dir.run(&["init", "--from", "zendesk", "--to", "freshdesk"]);
    run.expect_code(3);
    assert!(run.stderr().contains("already exists"), "{}", run.stderr());
    assert_eq!(
        std::fs::read_to_string(dir.file("cutover.toml")).unwrap(),
        "# mine\n"
    );
    dir.run(&["init", "--from", "zendesk", "--to", "freshdesk", "--force"])
        .expect_code(0);
}

#[test]
fn init_refuses_a_move_to_the_same_account() {
    let dir = Workdir::new();
    let run = dir.run(&["init", "--from", "zendesk", "--to", "zendesk"]);
    run.expect_code(3);
    assert!(
        run.stderr().contains("two different accounts"),
        "{}",
        run.stderr()
    );
    let run = dir.run(&[
        "init",
        "--from",
        "zendesk",
        "--to",
        "zendesk",
        "--old-url",
        "https://acme.zendesk.com",
        "--new-url",
        "https://ACME.zendesk.com/",
    ]);
    run.expect_code(3);
}

#[test]
fn init_writes_a_checked_plan_between_two_accounts_of_one_platform() {
    let dir = Workdir::new();
    dir.run(&[
        "init",
        "--from",
        "zendesk",
        "--to",
        "zendesk",
        "--old-url",
        "https://old-acme.zendesk.com",
        "--new-url",
        "https://acme.zendesk.com",
    ])
    .expect_code(0);
    let run = dir.run(&["plan", "check"]);
    run.expect_code(0);
}

#[test]
fn init_names_the_accepted_platforms() {
    let dir = Workdir::new();
    let run = dir.run(&["init", "--from", "zendsk", "--to", "freshdesk"]);
    run.expect_code(2);
    assert!(
        run.stderr().contains("zendesk, freshdesk"),
        "{}",
        run.stderr()
    );
}

#[test]
fn a_broken_plan_reports_every_error_with_file_line_and_key() {
    let dir = Workdir::new();
    dir.run(&[
        "init",
        "--from",
        "zendesk",
        "--to",
        "freshdesk",
        "--out",
        "plan.toml",
    ])
    .expect_code(0);
    let text = std::fs::read_to_string(dir.file("plan.toml")).unwrap();
    // Two mistakes: an unknown key at the top, and an unmapped status.
    let broken = text
        .replacen("version = 1", "version = 1\nverison = 2", 1)
        .replacen("\nhold = ", "\n# hold removed\nxhold = ", 1);
    std::fs::write(dir.file("plan.toml"), &broken).unwrap();
    let run = dir.run(&["plan", "check", "plan.toml"]);
    run.expect_code(1);
    let err = run.stderr();
    assert!(err.contains("plan.toml:"), "{err}");
    assert!(err.contains("verison"), "{err}");
    assert!(err.contains("hold"), "{err}");
    assert!(err.contains("error(s)"), "{err}");
}

#[test]
fn a_missing_plan_names_the_file() {
    let dir = Workdir::new();
    let run = dir.run(&["plan", "check"]);
    run.expect_code(3);
    assert!(run.stderr().contains("cutover.toml"), "{}", run.stderr());
}

#[test]
fn the_global_plan_flag_and_env_choose_the_file() {
    let dir = Workdir::new();
    dir.run(&[
        "init",
        "--from",
        "freshdesk",
        "--to",
        "zendesk",
        "--out",
        "other.toml",
    ])
    .expect_code(0);
    dir.run(&["--plan", "other.toml", "plan", "check"])
        .expect_code(0);
    dir.run_with_env(&["plan", "check"], &[("CUTOVER_PLAN", "other.toml")])
        .expect_code(0);
}

#[test]
fn audit_verify_on_a_new_sqlite_store_is_clean() {
    let dir = Workdir::new();
    let run = dir.run(&["--store", "sqlite://state.db", "audit", "verify"]);
    run.expect_code(0);
    assert!(run.stdout().contains("0 entries"), "{}", run.stdout());
    assert!(dir.file("state.db").exists());
}

#[test]
fn a_store_password_never_reaches_the_terminal() {
    let dir = Workdir::new();
    for format in ["text", "json"] {
        let run = dir.run(&[
            "--log-format",
            format,
            "--log-level",
            "debug",
            "--store",
            "postgres://cutover:s3cret-pw@127.0.0.1:1/cutover",
            "audit",
            "verify",
        ]);
        run.expect_code(4);
        let all = format!("{}{}", run.stdout(), run.stderr());
        assert!(!all.contains("s3cret-pw"), "password leaked:\n{all}");
        assert!(
            all.contains("127.0.0.1"),
            "the error should say where:\n{all}"
        );
    }
}

#[test]
fn an_unknown_store_scheme_is_a_configuration_error() {
    let dir = Workdir::new();
    let run = dir.run(&["--store", "mysql://db/x", "audit", "verify"]);
    run.expect_code(3);
    assert!(run.stderr().contains("--store"), "{}", run.stderr());
}

#[test]
fn an_unknown_command_is_a_usage_error() {
    let dir = Workdir::new();
    dir.run(&["frobnicate"]).expect_code(2);
}

#[test]
fn json_logs_are_one_json_object_per_line() {
    let dir = Workdir::new();
    let run = dir.run(&[
        "--log-format",
        "json",
        "--log-level",
        "debug",
        "audit",
        "verify",
    ]);
    run.expect_code(0);
    let stderr = run.stderr();
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "debug logging should say something");
    for line in lines {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(value.get("level").is_some(), "no level: {line}");
    }
}

/// Whether verify's table counts `n` records of `kind` on both sides.
fn counted(out: &str, kind: &str, n: &str) -> bool {
    out.lines()
        .any(|line| line.split_whitespace().take(3).eq([kind, n, n]))
}

#[test]
fn the_demo_runs_headless_and_ends_clean() {
    // The story: Zendesk to Freshdesk, the default.
    let dir = Workdir::new();
    let run = dir.run(&["demo", "--headless", "--tickets", "20"]);
    run.expect_code(0);
    let out = run.stdout();
    assert!(out.contains("a move from Zendesk to Freshdesk"), "{out}");
    assert!(out.contains("the plan is sound"), "{out}");
    assert!(out.contains("Rate limits raised"), "{out}");
    // The inventory names the acknowledgement e-mail, and the demo says it switched it off.
    assert!(out.contains("- notifications:"), "{out}");
    assert!(out.contains("Done on the emulated Freshdesk"), "{out}");
    // Verify's own summary stays on screen, clean: what Freshdesk cannot hold it counts as not
    // comparable, and the inventory named it before anything moved.
    assert!(counted(&out, "ticket", "20"), "{out}");
    assert!(out.contains("Both sides hold the same records."), "{out}");
    assert!(out.contains("- organization.tags:"), "{out}");
    assert!(out.contains("Customers e-mailed by the move: 0"), "{out}");
    assert!(out.contains("No record was left behind"), "{out}");
    assert!(out.contains("chain whole"), "{out}");
    assert!(!out.contains("the emulated clocks"), "{out}");
    // The live part: a ticket each way, wave 1 forward and back, the drain, verify again (the
    // 20 copied tickets and the 3 the live part opened).
    live_steps_happened(&out, "Zendesk", "Freshdesk");
    assert!(counted(&out, "ticket", "23"), "{out}");
    assert!(out.contains("(`cutover go --wave 1 --as NAME`)"), "{out}");
    assert!(!out.contains("Not in this version yet"), "{out}");
    // The demo works in its own temporary folder and leaves the current one untouched.
    assert!(!dir.file("cutover.db").exists());
    assert!(!dir.file("cutover.toml").exists());
}

#[test]
fn the_demo_moves_both_ways_to_freshdesk_and_between_zendesk_accounts() {
    for (to, says) in [
        ("freshdesk", "Both sides hold the same records."),
        ("zendesk", "Both sides hold the same records."),
    ] {
        let dir = Workdir::new();
        let run = dir.run(&["demo", "--headless", "--tickets", "12", "--to", to]);
        run.expect_code(0);
        let out = run.stdout();
        assert!(out.contains(says), "--to {to}:\n{out}");
        assert!(counted(&out, "ticket", "12"), "--to {to}:\n{out}");
        assert!(
            out.contains("Customers e-mailed by the move: 0"),
            "--to {to}:\n{out}"
        );
        let new = if to == "zendesk" {
            "Zendesk"
        } else {
            "Freshdesk"
        };
        live_steps_happened(&out, "Zendesk", new);
        assert!(counted(&out, "ticket", "15"), "--to {to}:\n{out}");
    }
}

/// The demo's live part printed each of its steps, as it does only when they held: the bridge
/// carried a ticket each way, wave 1 switched to the new side, the rollback flipped routing
/// within a second and the ticket the new side took is on the old side, the bridge drained and
/// the second verification is clean.
fn live_steps_happened(out: &str, old: &str, new: &str) {
    let says = |text: &str| assert!(out.contains(text), "no {text:?} in:\n{out}");
    says(&format!("the bridge wrote it to the new {new} as ticket"));
    says(&format!("the bridge wrote it to the old {old} as ticket"));
    let ms_after = |text: &str| -> u64 {
        out.split(text)
            .nth(1)
            .and_then(|rest| rest.split(" ms").next())
            .and_then(|ms| ms.parse().ok())
            .unwrap_or_else(|| panic!("no {text:?} in:\n{out}"))
    };
    // The emulated Zendesk's export holds back a second and the bridge knows it: the forward
    // drain takes seconds, not the real export's minute.
    let forward_ms = ms_after("Wave \"pilot\" is on the new side: routing flipped ");
    assert!(
        forward_ms < 30_000,
        "wave 1 switched in {forward_ms} ms:\n{out}"
    );
    let flip_ms = ms_after("Routing flipped back to the old side in ");
    assert!(
        flip_ms <= 1000,
        "routing flipped back in {flip_ms} ms:\n{out}"
    );
    says("that the new side took during the wave is on the old side as ticket");
    says("(\"Opened during wave 1, on the new side\")");
    says("Both directions caught up in");
    assert_eq!(
        out.matches("Both sides hold the same records.").count(),
        2,
        "the copy and the second verification are both clean:\n{out}"
    );
    says(
        "The bridge drained, and a second verification found both sides holding the same records.",
    );
    assert!(!out.contains("problem:"), "{out}");
}
