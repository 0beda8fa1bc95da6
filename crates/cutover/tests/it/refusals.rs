//! Refusals that lead somewhere, the real binary: a missing plan names `cutover init` and
//! `--plan`; every missing credential is named at once; a backfill-only plan checks, and the
//! commands that switch traffic say what to add.

use crate::harness::Workdir;

/// A backfill-only plan written without reading the accounts.
fn backfill_only_plan(dir: &Workdir) {
    dir.run(&[
        "init",
        "--offline",
        "--backfill-only",
        "--from",
        "zendesk",
        "--to",
        "freshdesk",
        "--old-url",
        "http://127.0.0.1:9",
        "--new-url",
        "http://127.0.0.1:9",
    ])
    .expect_code(0);
}

#[test]
fn a_missing_plan_names_cutover_init_and_the_plan_option() {
    let dir = Workdir::new();
    let run = dir.run(&["inventory"]);
    run.expect_code(3);
    let err = run.stderr();
    assert!(err.contains("cutover.toml: there is no such file"), "{err}");
    assert!(err.contains("`cutover init --from"), "{err}");
    assert!(err.contains("`--plan PATH`"), "{err}");
}

#[test]
fn every_missing_credential_is_named_at_once() {
    let dir = Workdir::new();
    backfill_only_plan(&dir);
    let run = dir.run(&["backfill", "--dry-run"]);
    run.expect_code(3);
    let err = run.stderr();
    assert!(
        err.contains(
            "environment variables CUTOVER_OLD_EMAIL (old side), CUTOVER_OLD_TOKEN (old side), \
             CUTOVER_NEW_TOKEN (new side) not set or empty"
        ),
        "{err}"
    );
    assert!(err.contains("run the command again"), "{err}");
}

#[test]
fn a_backfill_only_plan_checks_and_switching_commands_say_what_to_add() {
    let dir = Workdir::new();
    backfill_only_plan(&dir);
    let check = dir.run(&["plan", "check"]);
    check.expect_code(0);
    assert!(
        check.stdout().contains("note: a backfill-only plan"),
        "{}",
        check.stdout()
    );
    for args in [
        &["go", "--wave", "1", "--as", "ops-lead"][..],
        &["wave", "start", "1", "--as", "alice"][..],
        &["gates"][..],
    ] {
        let run = dir.run(args);
        run.expect_code(3);
        let err = run.stderr();
        assert!(err.contains("the plan has no waves"), "{args:?}: {err}");
        assert!(
            err.contains("Add [[channels]], [[waves]] and the [people.<id>]"),
            "{err}"
        );
        assert!(err.contains("then run `cutover plan check`"), "{err}");
        assert!(
            !dir.file("cutover.db").exists(),
            "{args:?} opened the store"
        );
    }
}
