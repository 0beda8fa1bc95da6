//! Broken plans: each case edits a copy of a small valid plan, and the snapshot shows every
//! diagnostic `plan check` reports for it, one per line, sorted by position.

use cutover_plan::plan::check_str;

const BASE: &str = include_str!("fixtures/base.toml");

/// A broken plan: edits (`find` replaced by `replace`, each `find` occurring exactly once in the
/// plan as edited so far), or a whole text.
enum Case {
    Edits(&'static [(&'static str, &'static str)]),
    Whole(&'static str),
}

const CASES: &[(&str, Case)] = &[
    (
        "syntax_errors",
        Case::Edits(&[
            ("name = \"acme\"", "name = \"acme"),
            ("platform = \"zendesk\"", "platform = zendesk"),
            ("via = [\"email\"]", "via = [\"email\","),
        ]),
    ),
    (
        "unknown_keys_at_every_level",
        Case::Edits(&[
            ("version = 1\n", "version = 1\nverison = 2\n"),
            ("share = 0.8\n", "share = 0.8\nrate = 5\n"),
            ("max_sync_lag = \"30s\"", "max_sync_lagg = \"30s\""),
            (
                "then = \"pause_wave\"\n",
                "then = \"pause_wave\"\ncolour = \"red\"\n",
            ),
            ("[mapping.fields]", "[mapping.feilds]"),
            ("role = \"operator\"", "rol = \"operator\""),
        ]),
    ),
    (
        "wrong_types",
        Case::Edits(&[
            ("requests_per_minute = 700", "requests_per_minute = \"700\""),
            ("since = \"2021-01-01\"", "since = 2021-01-01"),
            ("customers = \"5%\"", "customers = 5"),
            ("channels = [\"web\"]", "channels = \"web\""),
            ("max_sync_lag = \"30s\"", "max_sync_lag = 30"),
            (
                "groups = [\"Billing\", \"Escalations\"]",
                "groups = \"Billing\"",
            ),
            (
                "[backup]\nkeep = \"30d\"",
                "[backup]\nkeep = \"30d\"\nfull_before_first_wave = \"yes\"",
            ),
        ]),
    ),
    (
        "table_instead_of_a_list_of_tables",
        Case::Edits(&[("[[alerts]]", "[alerts]")]),
    ),
    (
        "missing_required_keys",
        Case::Edits(&[
            ("version = 1\n", ""),
            ("token_env = \"CUTOVER_NEW_TOKEN\"\n", ""),
            (
                "max_sync_lag = \"30s\"\nsign_off = [\"ops-lead\"]\n",
                "max_sync_lag = \"30s\"\n",
            ),
            ("kpi = \"wait_time\"\n", ""),
            ("[[notices]]\nbefore_wave = \"everyone\"\n", "[[notices]]\n"),
        ]),
    ),
    ("empty_file", Case::Whole("# nothing yet\n")),
    (
        "unknown_platforms",
        Case::Edits(&[
            ("platform = \"zendesk\"", "platform = \"zendsk\""),
            ("platform = \"freshdesk\"", "platform = \"jira\""),
        ]),
    ),
    (
        "same_account_on_both_sides",
        Case::Edits(&[
            ("platform = \"freshdesk\"", "platform = \"zendesk\""),
            (
                "url = \"https://acme.freshdesk.com\"",
                "url = \"https://ACME.zendesk.com/\"",
            ),
        ]),
    ),
    (
        "credentials_that_do_not_fit_the_platform",
        Case::Edits(&[
            ("email_env = \"CUTOVER_OLD_EMAIL\"\n", ""),
            (
                "token_env = \"CUTOVER_NEW_TOKEN\"",
                "email_env = \"CUTOVER_NEW_EMAIL\"\ntoken_env = \"CUTOVER_NEW_TOKEN\"",
            ),
        ]),
    ),
    (
        "secrets_where_env_var_names_belong",
        Case::Edits(&[
            (
                "token_env = \"CUTOVER_OLD_TOKEN\"",
                "token_env = \"zd-8f3a9c1e77b2-s3cr3t\"",
            ),
            (
                "email_env = \"CUTOVER_OLD_EMAIL\"",
                "email_env = \"dana@acme.example\"",
            ),
            (
                "webhook_secret_env = \"CUTOVER_WEBHOOK_SECRET\"",
                "webhook_secret_env = \"WHSEC9F8E7D6C5B4A3F2E1D0\"",
            ),
        ]),
    ),
    (
        "urls_with_credentials_or_plain_http",
        Case::Edits(&[
            (
                "url = \"https://acme.zendesk.com\"",
                "url = \"https://dana:hunter2@acme.zendesk.com\"",
            ),
            (
                "url = \"https://acme.freshdesk.com\"",
                "url = \"http://acme.freshdesk.com\"",
            ),
        ]),
    ),
    (
        "one_env_var_for_two_credentials",
        Case::Edits(&[(
            "token_env = \"CUTOVER_NEW_TOKEN\"",
            "token_env = \"CUTOVER_OLD_TOKEN\"",
        )]),
    ),
    (
        "unsupported_version",
        Case::Edits(&[("version = 1", "version = 2")]),
    ),
    (
        "share_out_of_range",
        Case::Edits(&[
            ("share = 0.8", "share = 1.5"),
            (
                "requests_per_minute = 400",
                "requests_per_minute = 400\nshare = 0",
            ),
        ]),
    ),
    (
        "unmapped_old_values",
        Case::Edits(&[
            ("hold = \"pending\"\n", ""),
            ("urgent = \"urgent\"\n", ""),
            ("admin = \"Administrator\"\n", ""),
        ]),
    ),
    (
        "misspelt_old_values",
        Case::Edits(&[
            ("hold = \"pending\"", "xhold = \"pending\""),
            ("end-user = \"drop\"", "enduser = \"drop\""),
        ]),
    ),
    (
        "values_the_new_platform_does_not_have",
        Case::Edits(&[
            ("solved = \"resolved\"", "solved = \"solved\""),
            ("normal = \"medium\"", "normal = \"normal\""),
            ("agent = \"Agent\"", "agent = \"agent\""),
            ("\"Legacy VIP\" = \"drop\"", "\"Legacy VIP\" = \"\""),
        ]),
    ),
    (
        "duplicate_names",
        Case::Edits(&[
            ("name = \"everyone\"", "name = \"pilot\""),
            ("name = \"web\"", "name = \"email\""),
            (
                "kinds = [\"organization\", \"contact\"",
                "kinds = [\"organization\", \"organization\"",
            ),
        ]),
    ),
    (
        "undefined_groups",
        Case::Edits(&[
            (
                "groups = [\"Billing\"]",
                "groups = [\"Biling\", \"Legacy VIP\"]",
            ),
            (
                "groups = [\"Billing\", \"Escalations\"]",
                "groups = [\"Billing\", \"Support\"]",
            ),
        ]),
    ),
    (
        "undefined_channels_and_channels_in_no_wave",
        Case::Edits(&[
            ("channels = [\"web\"]", "channels = [\"chat\"]"),
            (
                "channels = [\"email\", \"web\"]",
                "channels = [\"email\", \"webb\"]",
            ),
        ]),
    ),
    (
        "channels_and_groups_no_wave_moves",
        Case::Edits(&[
            (
                "[[waves]]\nname = \"pilot\"",
                "[[channels]]\nname = \"phone\"\nkind = \"voice\"\n\n[[waves]]\nname = \"pilot\"",
            ),
            (
                "\"Legacy VIP\" = \"drop\"",
                "\"Legacy VIP\" = \"drop\"\n\"Tier 3\" = \"Specialists\"",
            ),
        ]),
    ),
    (
        "undefined_people",
        Case::Edits(&[
            ("sign_off = [\"ops-lead\"]", "sign_off = [\"ops-lad\"]"),
            ("notify = [\"ops-lead\"]", "notify = [\"oncall\"]"),
            ("[people.cs-director]", "[people.\"cs director\"]"),
        ]),
    ),
    (
        "notices_before_no_wave",
        Case::Edits(&[
            ("before_wave = \"everyone\"", "before_wave = \"everone\""),
            (
                "template = \"We move on {date}.\"",
                "template = \"We move on {datum} at {time}; see {url\"",
            ),
        ]),
    ),
    (
        "bad_percentages",
        Case::Edits(&[
            ("customers = \"5%\"", "customers = \"150%\""),
            ("customers = \"100%\"", "customers = \"100\""),
            (
                "worse_than_baseline = \"50%\"",
                "worse_than_baseline = \"0%\"",
            ),
        ]),
    ),
    (
        "customers_shrink_and_never_reach_everyone",
        Case::Edits(&[
            ("customers = \"5%\"", "customers = \"60%\""),
            ("customers = \"100%\"", "customers = \"50%\""),
        ]),
    ),
    (
        "bad_durations",
        Case::Edits(&[
            ("sustained = \"15m\"", "sustained = \"15x\""),
            ("max_sync_lag = \"30s\"", "max_sync_lag = \"1mo\""),
            ("poll_every = \"60s\"", "poll_every = \"0s\""),
            ("[backup]\nkeep = \"30d\"", "[backup]\nkeep = \"30 days\""),
            ("lead = \"7d\"", "lead = \"7\""),
        ]),
    ),
    (
        "bad_alert_actions_and_kpis",
        Case::Edits(&[
            ("then = \"pause_wave\"", "then = \"pause\""),
            ("kpi = \"wait_time\"", "kpi = \"wait_tme\""),
            (
                "sustained = \"15m\"",
                "sustained = \"15m\"\nmin_samples = 0",
            ),
        ]),
    ),
    (
        "bad_names_from_closed_sets",
        Case::Edits(&[
            ("kind = \"web_form\"", "kind = \"webform\""),
            ("role = \"admin\"", "role = \"boss\""),
            ("via = [\"email\"]", "via = [\"email\", \"pigeon\"]"),
            ("to = \"customers\"", "to = \"everybody\""),
            (
                "kinds = [\"organization\", \"contact\", \"ticket\"",
                "kinds = [\"organization\", \"contact\", \"tickets\"",
            ),
            (
                "poll_every = \"60s\"",
                "poll_every = \"60s\"\nconflicts = \"newest\"",
            ),
        ]),
    ),
    (
        "bad_values_of_other_kinds",
        Case::Edits(&[
            ("since = \"2021-01-01\"", "since = \"2021-13-01\""),
            ("email = \"dana@acme.example\"", "email = \"dana at acme\""),
            (
                "groups = [\"Billing\"]\ncustomers = \"5%\"",
                "groups = [\"Billing\"]\ncustomers = \"5%\"\nwindow = { from = \"Tue 20:00\", to = \"Tue 20:00\", tz = \"London\" }",
            ),
            (
                "addresses = [\"support@acme.example\"]",
                "addresses = [\"support@acme.example\"]\nfallback_number = \"call us\"",
            ),
        ]),
    ),
    (
        "channel_keys_that_do_not_fit_the_kind",
        Case::Edits(&[
            ("addresses = [\"support@acme.example\"]\n", ""),
            (
                "kind = \"web_form\"",
                "kind = \"web_form\"\naddresses = [\"web@acme.example\"]\napp_secret_env = \"WA_SECRET\"\nnew_number = \"+44 20 7946 0202\"",
            ),
        ]),
    ),
    (
        "history_without_a_home_on_a_platform_that_cannot_backdate",
        Case::Edits(&[(
            "keep_original = { id_field = \"cf_original_id\", note_header = true }\n",
            "",
        )]),
    ),
    (
        "history_without_its_header_on_a_platform_that_cannot_backdate",
        Case::Edits(&[(
            "keep_original = { id_field = \"cf_original_id\", note_header = true }\n",
            "keep_original = { id_field = \"cf_original_id\", note_header = false }\n",
        )]),
    ),
    (
        "kpi_gate_without_alerts",
        Case::Edits(&[(
            "[[alerts]]\nkpi = \"wait_time\"\nworse_than_baseline = \"50%\"\nsustained = \"15m\"\nthen = \"pause_wave\"\nnotify = [\"ops-lead\"]\n",
            "",
        )]),
    ),
    (
        "backup_channel_without_a_backup",
        Case::Edits(&[("then = \"pause_wave\"", "then = \"backup_channel\"")]),
    ),
    (
        "conflict_policy_for_unknown_fields",
        Case::Edits(&[(
            "field_policy = { cf_order_number = \"old_wins\" }",
            "field_policy = { cf_order = \"old_wins\", subject = \"new_wins\", \"Internal score\" = \"latest\" }",
        )]),
    ),
    (
        "review_and_backup_windows",
        Case::Edits(&[
            ("final = \"30d\"", "final = \"1m\""),
            ("heightened = \"2w\"", "heightened = \"48h\""),
            (
                "[backup]\nkeep = \"30d\"",
                "[backup]\nincremental_every = \"1d\"\nkeep = \"12h\"",
            ),
        ]),
    ),
    (
        "empty_lists",
        Case::Edits(&[
            (
                "sign_off = [\"ops-lead\", \"cs-director\"]",
                "sign_off = []",
            ),
            ("channels = [\"web\"]", "channels = []"),
            ("groups = [\"Billing\"]", "groups = []"),
        ]),
    ),
];

/// The plan text of a case.
fn text_of(name: &str, case: &Case) -> String {
    match case {
        Case::Whole(text) => (*text).to_owned(),
        Case::Edits(edits) => {
            let mut text = BASE.to_owned();
            for (find, replace) in *edits {
                let count = text.matches(find).count();
                assert_eq!(count, 1, "case {name}: {find:?} occurs {count} times");
                text = text.replacen(find, replace, 1);
            }
            text
        }
    }
}

#[test]
fn the_base_plan_is_clean() {
    if let Err(errors) = check_str("cutover.toml", BASE) {
        panic!("{errors}");
    }
}

#[test]
fn every_broken_plan_reports_all_its_errors() {
    assert!(CASES.len() >= 20, "{} cases", CASES.len());
    for (name, case) in CASES {
        let text = text_of(name, case);
        let errors = match check_str("cutover.toml", &text) {
            Ok(_) => panic!("case {name} was accepted:\n{text}"),
            Err(errors) => errors,
        };
        let lines = text.lines().count().max(1);
        for diagnostic in &errors {
            assert_eq!(diagnostic.file, "cutover.toml");
            assert!(
                diagnostic.line >= 1 && diagnostic.line <= lines + 1,
                "{name}: {diagnostic}"
            );
            assert!(diagnostic.column >= 1, "{name}: {diagnostic}");
        }
        let positions: Vec<(usize, usize)> = errors.iter().map(|d| (d.line, d.column)).collect();
        assert!(
            positions.is_sorted(),
            "{name}: not sorted by position:\n{errors}"
        );
        insta::assert_snapshot!(*name, errors.to_string());
    }
}

#[test]
fn a_pasted_secret_never_reaches_a_message() {
    let (_, case) = CASES
        .iter()
        .find(|(name, _)| *name == "secrets_where_env_var_names_belong")
        .expect("the case exists");
    let errors = check_str("cutover.toml", &text_of("secrets", case)).unwrap_err();
    let text = errors.to_string();
    assert_eq!(errors.len(), 3, "{text}");
    for secret in [
        "zd-8f3a9c1e77b2-s3cr3t",
        "dana@acme.example",
        "WHSEC9F8E7D6C5B4A3F2E1D0",
    ] {
        assert!(!text.contains(secret), "{text}");
    }
    let url_case = CASES
        .iter()
        .find(|(name, _)| *name == "urls_with_credentials_or_plain_http");
    let (_, url_case) = url_case.expect("the case exists");
    let errors = check_str("cutover.toml", &text_of("urls", url_case)).unwrap_err();
    assert!(!errors.to_string().contains("hunter2"), "{errors}");
}

#[test]
fn diagnostics_point_at_the_offending_key_or_value() {
    let text = BASE.replacen("customers = \"5%\"", "customers = \"150%\"", 1);
    let errors = check_str("plan.toml", &text).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors}");
    let diagnostic = &errors.0[0];
    let line = text.lines().nth(diagnostic.line - 1).unwrap();
    assert_eq!(&line[diagnostic.column - 1..], "\"150%\"");
    assert_eq!(diagnostic.path, "waves[0].customers");
    assert!(diagnostic.to_string().starts_with(&format!(
        "plan.toml:{}:13: waves[0].customers: ",
        diagnostic.line
    )));
}

/// `inline_images = "link"` keeps the old platform's image addresses: refused from a platform
/// whose addresses expire, accepted from Zendesk.
#[test]
fn inline_images_as_links_only_from_a_platform_whose_addresses_last() {
    use cutover_model::PlatformKind;
    use cutover_plan::plan::init::{InitOptions, render};
    for (from, to, refused) in [
        (PlatformKind::Freshdesk, PlatformKind::Zendesk, true),
        (PlatformKind::Zendesk, PlatformKind::Freshdesk, false),
    ] {
        let text = render(&InitOptions {
            from,
            to,
            old_url: None,
            new_url: None,
        });
        assert!(text.contains("inline_images = \"rehost\""), "{text}");
        let linked = text.replace("inline_images = \"rehost\"", "inline_images = \"link\"");
        let checked = cutover_plan::plan::check_str("cutover.toml", &linked);
        match checked {
            Err(errors) => {
                let errors = errors.to_string();
                assert!(refused, "{from} to {to}: {errors}");
                assert!(
                    errors.contains("copy.inline_images: freshdesk's attachment addresses"),
                    "{errors}"
                );
            }
            Ok(_) => assert!(!refused, "{from} to {to}: accepted"),
        }
    }
}
