//! Every command's `--help` is a short manual: snapshot them all, so a change is reviewed.

use clap::CommandFactory;
use cutover::cli::Cli;

/// Collects `(path, long help)` for a command and all its subcommands, depth first.
fn collect(cmd: &clap::Command, path: &str, out: &mut Vec<(String, String)>) {
    let mut cmd = cmd.clone();
    out.push((path.to_owned(), cmd.render_long_help().to_string()));
    for sub in cmd.get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        collect(sub, &format!("{path} {}", sub.get_name()), out);
    }
}

#[test]
fn every_help_text_is_snapshotted() {
    let mut root = Cli::command().term_width(100);
    root.build();
    let mut helps = Vec::new();
    collect(&root, "cutover", &mut helps);
    assert!(
        helps.len() >= 6,
        "expected the root and its subcommands, got {}",
        helps.len()
    );
    for (path, help) in helps {
        let name = path.replace(' ', "_");
        insta::assert_snapshot!(name, help);
    }
}

#[test]
fn help_never_shows_environment_values() {
    // A password in CUTOVER_STORE must not be echoed by --help.
    let mut root = Cli::command().term_width(100);
    root.build();
    let mut helps = Vec::new();
    collect(&root, "cutover", &mut helps);
    for (path, help) in helps {
        assert!(
            !help.contains("[env: CUTOVER_STORE="),
            "{path} shows the value of CUTOVER_STORE"
        );
        assert!(
            help.contains("CUTOVER_STORE") || path != "cutover",
            "{path} should name the variable"
        );
    }
}

#[test]
fn the_command_definition_is_consistent() {
    Cli::command().debug_assert();
}
