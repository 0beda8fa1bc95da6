//! `load` reads a file and names it in every error.

use cutover_model::PlatformKind;
use cutover_plan::PlanError;
use cutover_plan::plan::init::{InitOptions, render};
use cutover_plan::plan::load;

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.path().join(name);
    if let Err(error) = std::fs::write(&path, bytes) {
        panic!("write {}: {error}", path.display());
    }
    path
}

#[test]
fn a_rendered_plan_loads() {
    let dir = tempfile::tempdir().unwrap();
    let options = InitOptions {
        from: PlatformKind::Freshdesk,
        to: PlatformKind::Zendesk,
        old_url: None,
        new_url: Some("http://127.0.0.1:8081".to_owned()),
    };
    let path = write(&dir, "cutover.toml", render(&options).as_bytes());
    let plan = load(&path).unwrap();
    assert_eq!(plan.new.url.as_url().port(), Some(8081));
    assert_eq!(plan.review.final_review.to_string(), "30d");
    assert_eq!(plan.new.budget_per_minute(), 560);
}

#[test]
fn a_plan_for_zammad_is_refused_up_front_as_not_supported_yet() {
    let dir = tempfile::tempdir().unwrap();
    let options = InitOptions {
        from: PlatformKind::Zendesk,
        to: PlatformKind::Zammad,
        old_url: None,
        new_url: None,
    };
    let path = write(&dir, "cutover.toml", render(&options).as_bytes());
    let errors = load(&path).unwrap_err().to_string();
    assert!(
        errors.contains("new.platform: zammad is not supported yet"),
        "{errors}"
    );
}

#[test]
fn a_missing_file_names_the_path_cutover_init_and_the_plan_option() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nowhere.toml");
    let error = load(&path).unwrap_err();
    assert!(matches!(error, PlanError::Missing { .. }), "{error:?}");
    for part in ["nowhere.toml", "cutover init", "--plan"] {
        assert!(error.to_string().contains(part), "{part}: {error}");
    }
}

#[test]
fn errors_name_the_file_as_it_was_given() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "broken.toml", b"version = 1\nverison = 1\n");
    let Err(PlanError::Invalid(errors)) = load(&path) else {
        panic!("expected diagnostics")
    };
    let first = errors.iter().next().unwrap();
    assert_eq!(first.file, path.display().to_string());
    let typo = errors.iter().find(|d| d.path == "verison").unwrap();
    assert_eq!((typo.line, typo.column), (2, 1));
    // Every line of the display is one diagnostic, prefixed by the file.
    let text = PlanError::Invalid(errors.clone()).to_string();
    assert_eq!(text.lines().count(), errors.len());
    assert!(
        text.lines().all(|line| line.starts_with(&first.file)),
        "{text}"
    );
}

#[test]
fn a_file_that_is_not_utf8_points_at_the_bad_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "latin1.toml", b"version = 1\nname = \"caf\xe9\"\n");
    let Err(PlanError::Invalid(errors)) = load(&path) else {
        panic!("expected diagnostics")
    };
    assert_eq!(errors.len(), 1);
    let diagnostic = errors.iter().next().unwrap();
    assert_eq!((diagnostic.line, diagnostic.column), (2, 12));
    assert!(diagnostic.message.contains("UTF-8"), "{diagnostic}");
}

#[test]
fn the_typed_plan_holds_what_the_file_says() {
    use cutover_plan::plan::names::{AlertAction, ConflictRule, Directions, Kpi};
    use cutover_plan::plan::values::{GroupSelection, Target};

    let text = include_str!("fixtures/base.toml").replacen(
        "groups = [\"Billing\", \"Escalations\"]",
        "groups = \"all\"",
        1,
    );
    let plan = cutover_plan::plan::check_str("base.toml", &text).unwrap();
    assert_eq!(plan.version, 1);
    assert_eq!(
        plan.old.email_env.as_ref().map(|e| e.as_str()),
        Some("CUTOVER_OLD_EMAIL")
    );
    assert_eq!(plan.old.budget_per_minute(), 560);
    assert_eq!(
        plan.new.share.get(),
        1.0,
        "share defaults to the whole budget"
    );
    assert_eq!(
        plan.mapping.statuses["hold"],
        Target::To("pending".to_owned())
    );
    assert_eq!(plan.mapping.roles["end-user"], Target::Drop);
    assert_eq!(plan.sync.directions, Directions::Both);
    assert_eq!(plan.sync.poll_every.get().as_secs(), 60);
    assert_eq!(
        plan.sync.field_policy["cf_order_number"],
        ConflictRule::OldWins
    );
    assert_eq!(
        plan.waves[0].groups,
        GroupSelection::Named(vec!["Billing".to_owned()])
    );
    assert_eq!(plan.waves[1].groups, GroupSelection::All);
    assert_eq!(plan.waves[0].customers.get(), 5.0);
    assert!(
        plan.waves[0].gates.verify_clean,
        "verify_clean defaults to true"
    );
    assert_eq!(plan.wave("everyone").map(|(idx, _)| idx), Some(1));
    assert_eq!(plan.alerts[0].kpi, Kpi::WaitTime);
    assert_eq!(plan.alerts[0].then, AlertAction::PauseWave);
    assert_eq!(plan.alerts[0].min_samples, 20);
    assert_eq!(plan.alerts[0].sustained.get().as_secs(), 900);
    assert_eq!(plan.review.heightened.get().as_secs(), 14 * 86_400);
    assert_eq!(plan.backup.incremental_every.to_string(), "1h");
    assert_eq!(plan.people["ops-lead"].email.as_str(), "dana@acme.example");
}

#[test]
fn the_stand_in_group_may_follow_the_mapping_tables_and_must_name_a_group() {
    let options = InitOptions {
        from: PlatformKind::Zendesk,
        to: PlatformKind::Freshdesk,
        old_url: None,
        new_url: None,
    };
    let template = render(&options);
    let text = format!("{template}\n[mapping]\nunmatched_group = \"Support\"\n");
    let plan = cutover_plan::plan::check_str("cutover.toml", &text).unwrap();
    assert_eq!(plan.mapping.unmatched_group.as_deref(), Some("Support"));
    let empty = format!("{template}\n[mapping]\nunmatched_group = \"\"\n");
    let errors = cutover_plan::plan::check_str("cutover.toml", &empty)
        .unwrap_err()
        .to_string();
    assert!(errors.contains("mapping.unmatched_group"), "{errors}");
}

/// The API KPIs the monitor measures (its own probes of each side) may be watched by an alert,
/// with any action; `plan check` takes them as it takes the others.
#[test]
fn alerts_may_watch_the_api_kpis() {
    use cutover_plan::plan::names::{AlertAction, Kpi};

    let alerts = "\n[[alerts]]\nkpi = \"api_response_p90\"\nworse_than_baseline = \"100%\"\n\
                  sustained = \"10m\"\nthen = \"notify\"\nnotify = [\"ops-lead\"]\n\n\
                  [[alerts]]\nkpi = \"api_availability\"\nworse_than_baseline = \"5%\"\n\
                  sustained = \"5m\"\nthen = \"pause_wave\"\nnotify = [\"ops-lead\"]\n";
    let text = include_str!("fixtures/base.toml").replacen(
        "[people.ops-lead]",
        &format!("{alerts}\n[people.ops-lead]"),
        1,
    );
    let plan = cutover_plan::plan::check_str("base.toml", &text).unwrap();
    let kpis: Vec<(Kpi, AlertAction)> = plan.alerts.iter().map(|a| (a.kpi, a.then)).collect();
    assert_eq!(
        kpis,
        [
            (Kpi::WaitTime, AlertAction::PauseWave),
            (Kpi::ApiResponseP90, AlertAction::Notify),
            (Kpi::ApiAvailability, AlertAction::PauseWave),
        ]
    );
    // A slower API is worse; a lower availability is worse.
    assert!(Kpi::ApiResponseP90.higher_is_worse());
    assert!(!Kpi::ApiAvailability.higher_is_worse());
    // A near miss is named with the right spelling.
    let typo = text.replacen("kpi = \"api_availability\"", "kpi = \"api_availabilty\"", 1);
    let err = cutover_plan::plan::check_str("base.toml", &typo)
        .unwrap_err()
        .to_string();
    assert!(err.contains("did you mean \"api_availability\""), "{err}");
}
