//! Helpers to run the real binary in a temporary folder.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A temporary working folder with the binary to run in it.
pub(crate) struct Workdir {
    dir: tempfile::TempDir,
}

impl Workdir {
    pub(crate) fn new() -> Self {
        Workdir {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs `cutover ARGS` in the folder, with no CUTOVER_* variables inherited.
    pub(crate) fn run(&self, args: &[&str]) -> Run {
        self.run_with_env(args, &[])
    }

    pub(crate) fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cutover"));
        cmd.args(args).current_dir(self.path());
        for (key, _) in std::env::vars() {
            if key.starts_with("CUTOVER_") || key == "RUST_LOG" {
                cmd.env_remove(key);
            }
        }
        for (key, value) in env {
            cmd.env(key, value);
        }
        Run(cmd.output().unwrap())
    }
}

/// The credentials of the in-process emulators, and a SQLite store in the folder.
pub(crate) const SIM_ENV: &[(&str, &str)] = &[
    ("CUTOVER_OLD_EMAIL", "admin@example.com"),
    ("CUTOVER_OLD_TOKEN", "sim-token"),
    ("CUTOVER_NEW_TOKEN", "sim-key"),
    ("CUTOVER_STORE", "sqlite://state.db"),
];

/// Runs `cutover ARGS` in the folder with [`SIM_ENV`], off the async runtime's threads, so
/// emulators served in the test's process keep answering.
pub(crate) async fn run_beside_emulators(dir: &std::sync::Arc<Workdir>, args: &[&str]) -> Run {
    let dir = std::sync::Arc::clone(dir);
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        dir.run_with_env(&args, SIM_ENV)
    })
    .await
    .unwrap()
}

/// The result of a run, with readable accessors.
pub(crate) struct Run(pub(crate) Output);

impl Run {
    pub(crate) fn code(&self) -> i32 {
        self.0.status.code().unwrap_or(-1)
    }
    pub(crate) fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }
    pub(crate) fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }
    /// Asserts an exit code, showing both streams when it differs.
    pub(crate) fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code(),
            code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }
}

/// The real binary in `dir` on the store at `store`, with the emulators' credentials
/// (`admin@example.com`, token `sim-token`) in every variable a plan names, and no other
/// CUTOVER_* variable inherited.
pub(crate) fn emulators_command(dir: &Path, store: &str, args: &[&str]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_cutover"));
    for (key, _) in std::env::vars() {
        if key.starts_with("CUTOVER_") || key == "RUST_LOG" {
            cmd.env_remove(key);
        }
    }
    // CUTOVER_TEST_LOG=<filter> is the children's RUST_LOG, for reading a failure's logs.
    if let Some(filter) = std::env::var_os("CUTOVER_TEST_LOG") {
        cmd.env("RUST_LOG", filter);
    }
    cmd.current_dir(dir)
        .env("CUTOVER_STORE", store)
        .env("CUTOVER_OLD_EMAIL", "admin@example.com")
        .env("CUTOVER_NEW_EMAIL", "admin@example.com")
        .env("CUTOVER_OLD_TOKEN", "sim-token")
        .env("CUTOVER_NEW_TOKEN", "sim-token")
        .args(args)
        .kill_on_drop(true);
    cmd
}

/// Runs `cmd` (the binary with `args`) to its end within `limit`: exit code, stdout, stderr.
pub(crate) async fn run_to_end(
    mut cmd: tokio::process::Command,
    args: &[&str],
    limit: std::time::Duration,
) -> (i32, String, String) {
    use std::process::Stdio;
    let output = tokio::time::timeout(
        limit,
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).output(),
    )
    .await
    .unwrap_or_else(|_| panic!("cutover {args:?} ran past {limit:?}"))
    .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// An emulated Zendesk with `tickets` generated tickets (as `profile` generates them) and no
/// rate limits, whose admin `admin@example.com` signs in with the token `sim-token`.
pub(crate) async fn zendesk(
    seed: u64,
    tickets: usize,
    profile: cutover_sim::AccountProfile,
) -> cutover_sim::SimHandle<cutover_sim::zendesk::App> {
    let opts = cutover_sim::zendesk::ZendeskOptions {
        seed,
        tickets,
        profile,
        rate_limit_rpm: None,
        incremental_rpm: 0,
        ..cutover_sim::zendesk::ZendeskOptions::default()
    };
    cutover_sim::zendesk::ZendeskSim::spawn(opts, "127.0.0.1:0")
        .await
        .unwrap()
}

/// An emulated Freshdesk with `tickets` generated tickets (as `profile` generates them) and no
/// rate limits, whose API key is `sim-token`, its "new ticket" acknowledgement switched off as a
/// user does before a move.
pub(crate) async fn freshdesk(
    seed: u64,
    tickets: usize,
    profile: cutover_sim::AccountProfile,
) -> cutover_sim::SimHandle<cutover_sim::freshdesk::App> {
    let opts = cutover_sim::freshdesk::FreshdeskOptions {
        seed,
        tickets,
        profile,
        api_key: "sim-token".to_owned(),
        rate_limit_rpm: Some(0),
        acknowledge_new_tickets: false,
        // Switched off in Admin > Email Notifications, as the plan's `notifications_off` says.
        requester_notifications: false,
        ..cutover_sim::freshdesk::FreshdeskOptions::default()
    };
    cutover_sim::freshdesk::FreshdeskSim::spawn(opts, "127.0.0.1:0")
        .await
        .unwrap()
}
