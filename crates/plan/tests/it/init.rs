//! `init` writes a plan that `plan check` accepts, for every pair of platforms, and that holds
//! only the names of environment variables, never a secret.

use cutover_model::{PlatformKind, Side};
use cutover_plan::plan::init::{InitOptions, render};
use cutover_plan::plan::values::Target;
use cutover_plan::plan::{Plan, check_str};
use toml::de::{DeTable, DeValue};

fn pairs() -> Vec<(PlatformKind, PlatformKind)> {
    let mut pairs = Vec::new();
    // Zammad has no connector yet: its plans are refused (tested in `load`).
    let supported = [PlatformKind::Zendesk, PlatformKind::Freshdesk];
    for from in supported {
        for to in supported {
            if from != to {
                pairs.push((from, to));
            }
        }
    }
    pairs
}

fn options(from: PlatformKind, to: PlatformKind) -> InitOptions {
    InitOptions {
        from,
        to,
        old_url: None,
        new_url: None,
    }
}

fn checked(options: &InitOptions) -> Plan {
    let text = render(options);
    match check_str("cutover.toml", &text) {
        Ok(plan) => plan,
        Err(errors) => panic!("{} to {}:\n{errors}\n\n{text}", options.from, options.to),
    }
}

#[test]
fn every_pair_of_platforms_renders_a_plan_that_checks_clean() {
    let pairs = pairs();
    assert_eq!(pairs.len(), 2);
    for (from, to) in pairs {
        let plan = checked(&options(from, to));
        assert_eq!(plan.old.platform, from);
        assert_eq!(plan.new.platform, to);
        assert_eq!(plan.platform(Side::New).platform, to);
        assert_eq!(plan.waves.len(), 3);
        assert!(
            plan.summary().contains(&format!("{from} to {to}")),
            "{}",
            plan.summary()
        );
    }
}

/// Every key whose name speaks of a credential, anywhere in the document, with its value.
fn credential_keys<'a>(
    table: &'a DeTable<'_>,
    path: &str,
    found: &mut Vec<(String, &'a DeValue<'a>)>,
) {
    for (key, value) in table.iter() {
        let name = key.get_ref().as_ref();
        let key_path = format!("{path}.{name}");
        let lower = name.to_lowercase();
        if ["token", "secret", "password", "email", "key", "credential"]
            .iter()
            .any(|w| lower.contains(w))
        {
            found.push((key_path.clone(), value.get_ref()));
        }
        match value.get_ref() {
            DeValue::Table(inner) => credential_keys(inner, &key_path, found),
            DeValue::Array(items) => {
                for item in items.iter() {
                    if let DeValue::Table(inner) = item.get_ref() {
                        credential_keys(inner, &key_path, found);
                    }
                }
            }
            _ => {}
        }
    }
}

#[test]
fn a_rendered_plan_holds_env_var_names_and_never_a_secret() {
    for (from, to) in pairs() {
        let text = render(&options(from, to));
        let document = DeTable::parse(&text).unwrap();
        let mut found = Vec::new();
        credential_keys(document.get_ref(), "", &mut found);
        let mut env_keys = 0;
        for (path, value) in found {
            if path.ends_with("_env") {
                env_keys += 1;
                let DeValue::String(name) = value else {
                    panic!("{path} is not a string")
                };
                assert!(name.starts_with("CUTOVER_"), "{path} = {name}");
                assert!(
                    name.chars().all(|c| c.is_ascii_uppercase() || c == '_'),
                    "{path} = {name}"
                );
            } else {
                // Only people's and agents' addresses may mention e-mail; none is a credential.
                assert!(
                    path.starts_with(".people.") || path.starts_with(".mapping.agents"),
                    "{from} to {to}: {path} looks like a credential"
                );
            }
        }
        // old and new tokens, the webhook secret, and an e-mail for each Zendesk side.
        let emails = [from, to]
            .iter()
            .filter(|p| **p == PlatformKind::Zendesk)
            .count();
        assert_eq!(env_keys, 3 + emails, "{from} to {to}");
        let plan = checked(&options(from, to));
        assert_eq!(plan.old.email_env.is_some(), from == PlatformKind::Zendesk);
        assert_eq!(plan.new.email_env.is_some(), to == PlatformKind::Zendesk);
        assert_eq!(plan.old.token_env.as_str(), "CUTOVER_OLD_TOKEN");
        assert_eq!(plan.new.token_env.as_str(), "CUTOVER_NEW_TOKEN");
    }
}

#[test]
fn credentials_in_a_given_url_are_left_out() {
    let options = InitOptions {
        from: PlatformKind::Zendesk,
        to: PlatformKind::Freshdesk,
        old_url: Some("https://dana:hunter2@acme.zendesk.com".to_owned()),
        new_url: Some("https://acme-support.freshdesk.com".to_owned()),
    };
    let text = render(&options);
    assert!(!text.contains("hunter2"), "{text}");
    assert!(!text.contains("dana:"), "{text}");
    let plan = checked(&options);
    assert_eq!(plan.old.url.to_string(), "https://acme.zendesk.com/");
    assert_eq!(
        plan.new.url.to_string(),
        "https://acme-support.freshdesk.com/"
    );
}

#[test]
fn every_old_value_is_mapped_to_a_value_the_new_platform_has() {
    for (from, to) in pairs() {
        let plan = checked(&options(from, to));
        let tables = [
            (&plan.mapping.statuses, from.statuses(), to.statuses()),
            (&plan.mapping.priorities, from.priorities(), to.priorities()),
            (&plan.mapping.roles, from.roles(), to.roles()),
        ];
        for (table, old_values, new_values) in tables {
            let keys: Vec<&str> = table.keys().map(String::as_str).collect();
            let mut expected = old_values.to_vec();
            expected.sort_unstable();
            assert_eq!(keys, expected, "{from} to {to}");
            for (old, target) in table {
                match target.value() {
                    Some(new) => {
                        assert!(new_values.contains(&new), "{from} to {to}: {old} = {new}")
                    }
                    // A role whose nearest is taken by another is created as one of its own
                    // (two old roles cannot share one new one), where the new platform can.
                    None if *target == Target::Create => {
                        assert_eq!(to, PlatformKind::Zendesk, "{from} to {to}: {old}");
                    }
                    // Only a customer role may be dropped: Freshdesk's customers have no role.
                    None => {
                        let customer_role = ["end-user", "Customer"].contains(&old.as_str());
                        assert!(
                            customer_role && to == PlatformKind::Freshdesk,
                            "{from} to {to}: {old}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn a_typo_in_a_rendered_plan_is_reported_with_the_unmapped_value() {
    // What the CLI's end-to-end test does: an unknown key at the top, a status key misspelt.
    let text = render(&options(PlatformKind::Zendesk, PlatformKind::Freshdesk));
    let broken = text
        .replacen("version = 1", "version = 1\nverison = 2", 1)
        .replacen("\nhold = ", "\n# hold removed\nxhold = ", 1);
    let errors = check_str("plan.toml", &broken).unwrap_err().to_string();
    assert!(
        errors.contains(
            "plan.toml:13:1: verison: unknown key \"verison\" (did you mean \"version\"?)"
        ),
        "{errors}"
    );
    assert!(
        errors.contains("zendesk has no status \"xhold\" (did you mean \"hold\"?)"),
        "{errors}"
    );
    assert!(
        errors.contains("zendesk status \"hold\" is not mapped: add hold = \"pending\""),
        "{errors}"
    );
}

/// Two accounts with ticket types: Freshdesk's own and Zendesk's fixed four.
fn typed_accounts() -> cutover_model::accounts::Accounts {
    use cutover_model::accounts::{AccountSnapshot, Accounts, NamedValue};
    let typed = |name: &str, tickets: u64| {
        let mut value = NamedValue::new(name);
        value.uses.insert("tickets".into(), tickets);
        value
    };
    let mut old = AccountSnapshot::empty(PlatformKind::Freshdesk, "https://old.example");
    old.ticket_types = vec![typed("Question", 5), typed("Feature Request", 3)];
    let mut new = AccountSnapshot::empty(PlatformKind::Zendesk, "https://new.example");
    new.ticket_types = ["question", "incident", "problem", "task"]
        .into_iter()
        .map(NamedValue::new)
        .collect();
    Accounts {
        discovered_at: chrono::Utc::now(),
        old,
        new,
    }
}

#[test]
fn discovery_writes_a_ticket_type_table_that_checks_against_the_accounts() {
    use cutover_plan::plan::check_with;
    use cutover_plan::plan::discovered::{decide, refresh};
    use cutover_plan::plan::init::{Discovery, Tuning, render_discovered};
    use cutover_plan::plan::open::Table;

    let accounts = typed_accounts();
    let options = options(PlatformKind::Freshdesk, PlatformKind::Zendesk);
    let text = render_discovered(&options, &Tuning::default(), Discovery::Found(&accounts));
    // A type found on both sides (case aside) is mapped; the other is open, its choices named,
    // "create" left out (Zendesk's types are fixed), and what it holds back counted.
    assert!(text.contains("[mapping.ticket_types]"), "{text}");
    let line = |start: &str| {
        text.lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no line {start}:\n{text}"))
            .to_owned()
    };
    assert!(
        line("Question = \"question\"").ends_with("# 5 tickets of this type"),
        "{text}"
    );
    assert!(
        text.contains(
            "# Each \"…\" below is one of \"question\", \"incident\", \"problem\", \"task\" or \"drop\""
        ),
        "{text}"
    );
    assert!(
        line("# open: \"Feature Request\" = \"…\"").ends_with("# 3 tickets of this type"),
        "{text}"
    );
    assert!(text.contains("(not \"create\": zendesk's ticket types are fixed"));
    let plan = check_with("cutover.toml", &text, Some(&accounts))
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    let types = plan.mapping.ticket_types.expect("the table is read");
    assert_eq!(types["Question"], Target::To("question".into()));
    assert!(!types.contains_key("Feature Request"));

    // Decided as the line says, the plan checks; a value Zendesk has not, or "create", does not.
    let decided = decide(&text, Table::TicketTypes, "Feature Request", "task");
    let plan = check_with("cutover.toml", &decided, Some(&accounts))
        .unwrap_or_else(|e| panic!("{e}\n{decided}"));
    assert_eq!(
        plan.mapping.ticket_types.unwrap()["Feature Request"],
        Target::To("task".into())
    );
    for (choice, says) in [
        ("Chore", "\"Chore\" is not a zendesk ticket type"),
        ("create", "a zendesk ticket type cannot be created"),
    ] {
        let wrong = decide(&text, Table::TicketTypes, "Feature Request", choice);
        let errors = check_with("cutover.toml", &wrong, Some(&accounts))
            .expect_err(choice)
            .to_string();
        assert!(errors.contains(says), "{errors}");
    }
    // A key the old account has not is refused too.
    let stray = decide(&text, Table::TicketTypes, "Chore", "task");
    let errors = check_with("cutover.toml", &stray, Some(&accounts))
        .expect_err("an unknown type")
        .to_string();
    assert!(
        errors.contains("freshdesk has no ticket type \"Chore\""),
        "{errors}"
    );

    // A type that appears later is added by refresh, the user's line left as written.
    let mut later = accounts.clone();
    later
        .old
        .ticket_types
        .push(cutover_model::accounts::NamedValue::new("Refund"));
    let (refreshed, added) = refresh(&decided, &later);
    assert_eq!(added, vec!["ticket type \"Refund\"".to_owned()]);
    assert!(refreshed.contains("\"Feature Request\" = \"task\""));
    assert!(refreshed.contains("# open: Refund = \"…\""), "{refreshed}");
    check_with("cutover.toml", &refreshed, Some(&later)).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn into_freshdesk_a_ticket_type_may_be_created_and_without_accounts_zendesk_types_are_known() {
    use cutover_plan::plan::check_with;
    let text = render(&options(PlatformKind::Freshdesk, PlatformKind::Zendesk));
    assert!(!text.contains("\n[mapping.ticket_types]"));
    let with = |line: &str| format!("{text}\n[mapping.ticket_types]\n{line}\n");
    check_with("cutover.toml", &with("Refund = \"task\""), None).unwrap();
    let errors = check_with("cutover.toml", &with("Refund = \"Chore\""), None)
        .expect_err("Zendesk's types are fixed")
        .to_string();
    assert!(
        errors.contains("\"Chore\" is not a zendesk ticket type"),
        "{errors}"
    );
    let text = render(&options(PlatformKind::Zendesk, PlatformKind::Freshdesk));
    let with = format!("{text}\n[mapping.ticket_types]\ntask = \"create\"\n");
    check_with("cutover.toml", &with, None).unwrap();
}

/// Two accounts with brands: Zendesk's brands on the old side, Freshdesk's products on the new.
fn branded_accounts() -> cutover_model::accounts::Accounts {
    use cutover_model::accounts::{AccountSnapshot, Accounts, NamedValue};
    let branded = |name: &str, tickets: u64| {
        let mut value = NamedValue::new(name);
        value.uses.insert("tickets".into(), tickets);
        value
    };
    let mut old = AccountSnapshot::empty(PlatformKind::Zendesk, "https://old.example");
    old.brands = vec![branded("Cutover Cloud", 7), branded("Cutover Payments", 2)];
    let mut new = AccountSnapshot::empty(PlatformKind::Freshdesk, "https://new.example");
    new.brands = vec![NamedValue::new("cutover cloud"), NamedValue::new("Mobile")];
    Accounts {
        discovered_at: chrono::Utc::now(),
        old,
        new,
    }
}

#[test]
fn discovery_writes_a_brand_table_that_checks_against_the_accounts() {
    use cutover_plan::plan::check_with;
    use cutover_plan::plan::discovered::{decide, refresh};
    use cutover_plan::plan::init::{Discovery, Tuning, render_discovered};
    use cutover_plan::plan::open::Table;

    let accounts = branded_accounts();
    let into_freshdesk = options(PlatformKind::Zendesk, PlatformKind::Freshdesk);
    let text = render_discovered(
        &into_freshdesk,
        &Tuning::default(),
        Discovery::Found(&accounts),
    );
    assert!(text.contains("[mapping.brands]"), "{text}");
    assert!(!text.contains("Not yet: cutover does not carry"), "{text}");
    let line = |start: &str| {
        text.lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no line {start}:\n{text}"))
            .to_owned()
    };
    // A brand found on both sides (case aside) is mapped; the other is open, its choices the
    // new account's products, "create" left out (Freshdesk's API cannot create products).
    assert!(
        line("\"Cutover Cloud\" = \"cutover cloud\"").ends_with("# 7 tickets under it"),
        "{text}"
    );
    assert!(
        line("# open: \"Cutover Payments\" = \"…\"").ends_with("# 2 tickets under it"),
        "{text}"
    );
    assert!(
        text.contains("# Each \"…\" below is one of \"cutover cloud\", \"Mobile\" or \"drop\""),
        "{text}"
    );
    let plan = check_with("cutover.toml", &text, Some(&accounts))
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    let brands = plan.mapping.brands.expect("the table is read");
    assert!(!brands.contains_key("Cutover Payments"));

    let decided = decide(&text, Table::Brands, "Cutover Payments", "Mobile");
    let plan = check_with("cutover.toml", &decided, Some(&accounts))
        .unwrap_or_else(|e| panic!("{e}\n{decided}"));
    assert_eq!(
        plan.mapping.brands.unwrap()["Cutover Payments"],
        Target::To("Mobile".into())
    );
    for choice in ["Outlet", "create"] {
        let wrong = decide(&text, Table::Brands, "Cutover Payments", choice);
        let errors = check_with("cutover.toml", &wrong, Some(&accounts))
            .expect_err(choice)
            .to_string();
        assert!(errors.contains("brand"), "{choice}: {errors}");
    }
    // A brand that appears later is added by refresh, the user's line left as written.
    let mut later = accounts.clone();
    later
        .old
        .brands
        .push(cutover_model::accounts::NamedValue::new("Outlet"));
    let (refreshed, added) = refresh(&decided, &later);
    assert_eq!(added, vec!["brand \"Outlet\"".to_owned()]);
    assert!(refreshed.contains("\"Cutover Payments\" = \"Mobile\""));
    assert!(refreshed.contains("# open: Outlet = \"…\""), "{refreshed}");

    // Into Zendesk a brand may be created; a plan without the table (older, offline) checks.
    let text = render(&options(PlatformKind::Freshdesk, PlatformKind::Zendesk));
    assert!(!text.contains("\n[mapping.brands]"));
    check_with("cutover.toml", &text, None).unwrap();
    let with = format!("{text}\n[mapping.brands]\nOutlet = \"create\"\n");
    check_with("cutover.toml", &with, None).unwrap();
}

/// Issue 13: groups only the new account has get a way back, `[mapping.new_groups]`: `init`
/// writes an open line for each, `plan check` holds the lines to the accounts (a key the new
/// account has, a value the old one has and no line of `[mapping.groups]` carries), and
/// `plan refresh` adds a line for a group the new account gains later.
#[test]
fn groups_only_the_new_account_has_get_a_way_back() {
    use cutover_model::accounts::{AccountSnapshot, Accounts, NamedValue};
    use cutover_plan::plan::check_with;
    use cutover_plan::plan::discovered::refresh;
    use cutover_plan::plan::init::{Discovery, Tuning, render_discovered};

    let groups = |names: &[&str]| names.iter().map(|n| NamedValue::new(*n)).collect();
    let mut old = AccountSnapshot::empty(PlatformKind::Zendesk, "https://old.example");
    old.groups = groups(&["Support", "Legacy"]);
    let mut new = AccountSnapshot::empty(PlatformKind::Freshdesk, "https://new.example");
    new.groups = groups(&["Support", "Weekend Desk"]);
    let accounts = Accounts {
        discovered_at: chrono::Utc::now(),
        old,
        new,
    };
    let options = options(PlatformKind::Zendesk, PlatformKind::Freshdesk);
    let text = render_discovered(&options, &Tuning::default(), Discovery::Found(&accounts));
    let open = "# open: \"Weekend Desk\" = \"…\"";
    let header = text.find("[mapping.new_groups]").expect("the table");
    assert!(text[header..].contains(open), "{text}");
    assert!(!text[header..].contains("# open: Support"), "{text}");
    check_with("cutover.toml", &text, Some(&accounts)).unwrap_or_else(|e| panic!("{e}\n{text}"));

    let with = |line: &str| text.replacen(open, line, 1);
    for fine in [
        "\"Weekend Desk\" = \"create\"",
        "\"Weekend Desk\" = \"Legacy\"",
    ] {
        let plan = check_with("cutover.toml", &with(fine), Some(&accounts))
            .unwrap_or_else(|e| panic!("{fine}: {e}"));
        assert!(plan.mapping.new_groups.contains_key("Weekend Desk"));
    }
    for (line, says) in [
        (
            "\"Weekend Desk\" = \"Support\"",
            "zendesk group \"Support\" is linked to freshdesk group \"Support\" by [mapping.groups]",
        ),
        (
            "\"Weekend Desk\" = \"Sales\"",
            "\"Sales\" is not a zendesk group",
        ),
        (
            "\"Nights\" = \"create\"",
            "freshdesk has no group \"Nights\"",
        ),
        (
            "\"Support\" = \"create\"",
            "freshdesk group \"Support\" goes back already by [mapping.groups] \"Support\"",
        ),
    ] {
        let errors = check_with("cutover.toml", &with(line), Some(&accounts))
            .expect_err(line)
            .to_string();
        assert!(errors.contains(says), "{line}: {errors}");
    }

    // A group the new account gains later gets its line from refresh; decided lines stay.
    let decided = with("\"Weekend Desk\" = \"create\"");
    let mut later = accounts.clone();
    later.new.groups.push(NamedValue::new("Night Desk"));
    let (refreshed, added) = refresh(&decided, &later);
    assert_eq!(
        added,
        vec!["freshdesk group \"Night Desk\" (the way back, [mapping.new_groups])".to_owned()]
    );
    let header = refreshed.find("[mapping.new_groups]").unwrap();
    assert!(
        refreshed[header..].contains("# open: \"Night Desk\" = \"…\""),
        "{refreshed}"
    );
    assert!(refreshed.contains("\"Weekend Desk\" = \"create\""));
    check_with("cutover.toml", &refreshed, Some(&later)).unwrap_or_else(|e| panic!("{e}"));
    let (again, added) = refresh(&refreshed, &later);
    assert!(added.is_empty(), "{added:?}");
    assert_eq!(again, refreshed);
}
