//! A user's first move, end to end with the real binary, against generated accounts in every
//! direction (Zendesk → Freshdesk, Freshdesk → Zendesk, Zendesk → Zendesk) and on both stores:
//! `cutover init` reads both accounts → `plan check` passes → `inventory` lists exactly the
//! values without a mapping → `backfill` refuses and writes nothing → the plan edited as the
//! hints say → `backfill` → every ticket, agent and translatable rule on the target (rules switched
//! off, what cannot be carried named by inventory and verify), `verify` clean, no customer
//! e-mailed. The accounts are small: the story, not the volume, is under test.

use std::collections::BTreeSet;
use std::time::Duration;

use cutover_model::accounts::same_name;
use cutover_sim::{AccountProfile, SimHandle};
use cutover_sim::{freshdesk, zendesk};
use cutover_store::testing::TestDatabase;
use serde_json::{Value, json};

/// The credentials both emulators accept.
const EMAIL: &str = "admin@example.com";
const TOKEN: &str = "sim-token";
/// Tickets on the old account.
const TICKETS: usize = 24;
/// What the journey copies: every kind a mapping table decides, the history of tickets, and the
/// rules (macros, triggers and automations, SLA policies, views, ticket forms).
const KINDS: &str = "organization,contact,group,role,agent,custom_field,ticket,comment,attachment,macro,automation,sla_policy,view,ticket_form";
/// Into Freshdesk the same: its API cannot create roles, so old roles are mapped onto its own
/// (several may share one) and found there.
const KINDS_TO_FRESHDESK: &str = "organization,contact,group,role,agent,custom_field,ticket,comment,attachment,macro,automation,sla_policy,view,ticket_form";
const RUN_LIMIT: Duration = Duration::from_secs(240);

/// An emulated account, old (with generated data) or new (empty, as an account bought for the
/// move is).
enum Account {
    Zendesk(SimHandle<zendesk::App>),
    Freshdesk(SimHandle<freshdesk::App>),
}

impl Account {
    async fn start(platform: &str, seed: u64, tickets: usize, profile: AccountProfile) -> Self {
        match platform {
            "zendesk" => Account::Zendesk(crate::harness::zendesk(seed, tickets, profile).await),
            _ => Account::Freshdesk(crate::harness::freshdesk(seed, tickets, profile).await),
        }
    }

    /// The codes of its own ticket statuses (Freshdesk's above 5), by its own API.
    async fn own_statuses(&self) -> Vec<String> {
        let Account::Freshdesk(_) = self else {
            return Vec::new();
        };
        let fields = self.get("ticket_fields").await;
        let status = fields
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == "status")
            .cloned()
            .unwrap();
        status["choices"]
            .as_object()
            .unwrap()
            .keys()
            .filter(|code| code.parse::<u32>().is_ok_and(|c| c > 5))
            .cloned()
            .collect()
    }

    fn url(&self) -> &str {
        match self {
            Account::Zendesk(sim) => sim.url(),
            Account::Freshdesk(sim) => sim.url(),
        }
    }

    /// GET an API path as the admin.
    async fn get(&self, path: &str) -> Value {
        let client = reqwest::Client::new();
        let request = match self {
            Account::Zendesk(sim) => client
                .get(format!("{}/api/v2/{path}", sim.url()))
                .basic_auth(format!("{EMAIL}/token"), Some(TOKEN)),
            Account::Freshdesk(sim) => client
                .get(format!("{}/api/v2/{path}", sim.url()))
                .basic_auth(TOKEN, Some("X")),
        };
        let answer = request.send().await.unwrap();
        assert!(
            answer.status().is_success(),
            "GET {path}: {}",
            answer.status()
        );
        answer.json().await.unwrap()
    }

    /// The names of its groups, by its own API.
    async fn groups(&self) -> Vec<String> {
        let list = match self {
            Account::Zendesk(_) => self.get("groups.json?per_page=100").await["groups"].clone(),
            Account::Freshdesk(_) => self.get("groups?per_page=100").await,
        };
        names(&list, "name")
    }

    /// The titles of its custom ticket fields, by its own API.
    async fn ticket_fields(&self) -> Vec<String> {
        match self {
            Account::Zendesk(_) => {
                let list = self.get("ticket_fields.json").await["ticket_fields"].clone();
                let custom: Vec<Value> = list
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|f| f["removable"] == json!(true))
                    .cloned()
                    .collect();
                names(&Value::Array(custom), "title")
            }
            Account::Freshdesk(_) => {
                let list = self.get("ticket_fields").await;
                let custom: Vec<Value> = list
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|f| f["default"] == json!(false))
                    .cloned()
                    .collect();
                names(&Value::Array(custom), "label")
            }
        }
    }

    /// Its ticket types: Zendesk's fixed four, Freshdesk's the choices of its type field.
    async fn ticket_types(&self) -> Vec<String> {
        match self {
            Account::Zendesk(_) => ["question", "incident", "problem", "task"]
                .into_iter()
                .map(str::to_owned)
                .collect(),
            Account::Freshdesk(_) => {
                let list = self.get("ticket_fields").await;
                let field = list
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|f| f["name"] == "ticket_type")
                    .cloned()
                    .unwrap();
                field["choices"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|c| c.as_str().map(str::to_owned))
                    .collect()
            }
        }
    }

    /// Its brands (Zendesk) or products (Freshdesk): (id, name, whether the default brand).
    async fn brands(&self) -> Vec<(u64, String, bool)> {
        let list = match self {
            Account::Zendesk(_) => self.get("brands.json").await["brands"].clone(),
            Account::Freshdesk(_) => self.get("products").await,
        };
        list.as_array()
            .unwrap()
            .iter()
            .map(|b| {
                (
                    b["id"].as_u64().unwrap(),
                    b["name"].as_str().unwrap().to_owned(),
                    b["default"] == true,
                )
            })
            .collect()
    }

    /// The brand (product) of each of its tickets by name (none: no brand), by its own API.
    async fn brands_of_tickets(&self) -> Vec<Option<String>> {
        let (list, key) = match self {
            Account::Zendesk(_) => (
                self.get("tickets.json?per_page=100").await["tickets"].clone(),
                "brand_id",
            ),
            Account::Freshdesk(_) => (
                self.get("tickets?per_page=100&updated_since=2000-01-01T00:00:00Z")
                    .await,
                "product_id",
            ),
        };
        let brands = self.brands().await;
        list.as_array()
            .unwrap()
            .iter()
            .map(|t| {
                let id = t[key].as_u64()?;
                let brand = brands.iter().find(|(b, _, _)| *b == id);
                Some(brand.expect("a ticket's brand is listed").1.clone())
            })
            .collect()
    }

    /// The type of each of its tickets (none: no type), by its own API.
    async fn types_of_tickets(&self) -> Vec<Option<String>> {
        let list = match self {
            Account::Zendesk(_) => self.get("tickets.json?per_page=100").await["tickets"].clone(),
            Account::Freshdesk(_) => {
                self.get("tickets?per_page=100&updated_since=2000-01-01T00:00:00Z")
                    .await
            }
        };
        list.as_array()
            .unwrap()
            .iter()
            .map(|t| t["type"].as_str().map(str::to_owned))
            .collect()
    }

    /// The ids of its groups and the values its rules give a status (Zendesk's names, Freshdesk's
    /// codes), by its own API.
    async fn groups_and_statuses(&self) -> (Vec<Value>, Vec<Value>) {
        let (groups, statuses) = match self {
            Account::Zendesk(_) => (
                self.get("groups.json?per_page=100").await["groups"].clone(),
                json!(["new", "open", "pending", "hold", "solved", "closed"]),
            ),
            Account::Freshdesk(_) => {
                let fields = self.get("ticket_fields").await;
                let status = fields
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|f| f["name"] == "status")
                    .cloned()
                    .unwrap();
                let codes: Vec<Value> = status["choices"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .filter_map(|code| code.parse::<u64>().ok())
                    .map(Value::from)
                    .collect();
                (self.get("groups?per_page=100").await, Value::Array(codes))
            }
        };
        let ids = groups
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["id"].clone())
            .collect();
        (ids, statuses.as_array().unwrap().clone())
    }

    /// Its routing rules (Zendesk's triggers and automations, Freshdesk's automation rules of
    /// every type).
    async fn rules(&self) -> Vec<Rule> {
        let mut rules = Vec::new();
        let mut add = |prefix: &str, list: &Value, name: &str| {
            for rule in list.as_array().unwrap() {
                rules.push(Rule {
                    id: format!("{prefix}{}", rule["id"]),
                    name: rule[name].as_str().unwrap_or_default().to_owned(),
                    active: rule["active"] != json!(false),
                    json: rule.clone(),
                });
            }
        };
        match self {
            Account::Zendesk(_) => {
                add(
                    "trigger:",
                    &self.get("triggers.json").await["triggers"],
                    "title",
                );
                add(
                    "automation:",
                    &self.get("automations.json").await["automations"],
                    "title",
                );
            }
            Account::Freshdesk(_) => {
                for kind in [1, 3, 4] {
                    let list = self.get(&format!("automations/{kind}/rules")).await;
                    add(&format!("{kind}:"), &list, "name");
                }
            }
        }
        rules
    }

    /// The e-mails it sent customers, by its `/_sim/notifications`.
    async fn emails(&self) -> u64 {
        let answer: Value = reqwest::get(format!("{}/_sim/notifications", self.url()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["count"]
            .as_u64()
            .or_else(|| answer.as_array().map(|a| a.len() as u64))
            .unwrap_or_else(|| panic!("no count of notifications: {answer}"))
    }

    /// Moves its clock on a minute: Zendesk's exports leave out their last minute.
    async fn skip_a_minute(&self) {
        let moved = reqwest::Client::new()
            .post(format!("{}/_sim/clock", self.url()))
            .json(&json!({ "advance_seconds": 61 }))
            .send()
            .await
            .unwrap();
        assert!(moved.status().is_success());
    }
}

/// A routing rule as its platform's API shows it.
#[derive(Debug)]
struct Rule {
    id: String,
    name: String,
    active: bool,
    json: Value,
}

/// The values a rule's conditions and actions give `field` (Zendesk's `field`, Freshdesk's
/// `field_name`), lists flattened.
fn values_of(json: &Value, field: &str, out: &mut Vec<Value>) {
    match json {
        Value::Object(map) => {
            let named = map.get("field").or_else(|| map.get("field_name"));
            if named.and_then(Value::as_str) == Some(field)
                && let Some(value) = map.get("value")
            {
                match value {
                    Value::Array(items) => out.extend(items.iter().cloned()),
                    other => out.push(other.clone()),
                }
            }
            map.values().for_each(|v| values_of(v, field, out));
        }
        Value::Array(items) => items.iter().for_each(|v| values_of(v, field, out)),
        _ => {}
    }
}

fn names(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .filter_map(|item| item[key].as_str().map(str::to_owned))
        .collect()
}

/// One move: the folder of its plan, its store and both accounts.
struct Journey {
    dir: tempfile::TempDir,
    store: String,
    /// The PostgreSQL database the store lives in, dropped with the journey.
    _database: Option<TestDatabase>,
    old: Account,
    new: Account,
    to: &'static str,
}

impl Journey {
    async fn new(
        from: &'static str,
        to: &'static str,
        postgres: bool,
        profile: AccountProfile,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (database, store) = if postgres {
            let db = TestDatabase::create().await.unwrap();
            let url = db.url().to_string();
            (Some(db), url)
        } else {
            let url = format!("sqlite://{}", dir.path().join("cutover.db").display());
            (None, url)
        };
        Journey {
            old: Account::start(from, 21, TICKETS, profile).await,
            new: Account::start(to, 22, 0, profile).await,
            dir,
            store,
            _database: database,
            to,
        }
    }

    /// `cutover ARGS` in the plan's folder, with the credentials the plan names.
    async fn cutover(&self, args: &[&str]) -> (i32, String, String) {
        let cmd = crate::harness::emulators_command(self.dir.path(), &self.store, args);
        crate::harness::run_to_end(cmd, args, RUN_LIMIT).await
    }

    /// `cutover ARGS`, expecting `code`; its standard output.
    async fn expect(&self, code: i32, args: &[&str]) -> String {
        let (got, stdout, stderr) = self.cutover(args).await;
        assert_eq!(
            got, code,
            "cutover {args:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
        );
        stdout
    }

    fn backfill(&self) -> Vec<&'static str> {
        let mut args = vec!["backfill", "--json"];
        if self.to == "freshdesk" {
            args.push("--notifications-off");
        }
        args
    }

    /// What the old account holds that the new one has no same-named counterpart for, by the
    /// emulators' own APIs: the groups and the custom ticket fields.
    async fn expected_open(&self) -> BTreeSet<(String, String)> {
        let mut open = BTreeSet::new();
        let new_groups = self.new.groups().await;
        for group in self.old.groups().await {
            if !new_groups.iter().any(|n| same_name(n, &group)) {
                open.insert(("groups".to_owned(), group));
            }
        }
        let new_fields = self.new.ticket_fields().await;
        for field in self.old.ticket_fields().await {
            if !new_fields.iter().any(|n| same_name(n, &field)) {
                open.insert(("fields".to_owned(), field));
            }
        }
        let new_types = self.new.ticket_types().await;
        for kind in self.old.ticket_types().await {
            if !new_types.iter().any(|n| same_name(n, &kind)) {
                open.insert(("ticket_types".to_owned(), kind));
            }
        }
        let new_brands = self.new.brands().await;
        for (_, brand, _) in self.old.brands().await {
            if !new_brands.iter().any(|(_, n, _)| same_name(n, &brand)) {
                open.insert(("brands".to_owned(), brand));
            }
        }
        for status in self.old.own_statuses().await {
            open.insert(("statuses".to_owned(), status));
        }
        open
    }
}

/// `init` → `plan check` → `inventory` lists exactly the values without a mapping → the
/// backfill refuses and writes nothing. Returns the inventory.
async fn discovered(mv: &Journey, from: &str, to: &str) -> Value {
    let (old_url, new_url) = (mv.old.url().to_owned(), mv.new.url().to_owned());
    let kinds = if to == "freshdesk" {
        KINDS_TO_FRESHDESK
    } else {
        KINDS
    };
    let init = [
        "init",
        "--from",
        from,
        "--to",
        to,
        "--old-url",
        &old_url,
        "--new-url",
        &new_url,
        "--rate-limit",
        "100000",
        "--kinds",
        kinds,
    ];
    let out = mv.expect(0, &init).await;
    assert!(out.contains("Read both accounts"), "{out}");
    assert!(mv.dir.path().join("cutover.accounts.json").exists());

    // The plan as written checks clean; its open values are noted, not errors.
    let out = mv.expect(0, &["plan", "check"]).await;
    assert!(out.contains("no mapping yet"), "{out}");

    // The inventory lists exactly the values without a mapping: every group and custom field
    // the new account has no same-named counterpart for, and the old account's own statuses and
    // roles the new one lacks.
    let inventory: Value =
        serde_json::from_str(&mv.expect(0, &["inventory", "--json"]).await).unwrap();
    let open = crate::plans::open_values(&inventory);
    let listed: BTreeSet<(String, String)> = open
        .iter()
        .map(|o| (o.table.key().to_owned(), o.value.name.clone()))
        .collect();
    let expected = mv.expected_open().await;
    let checked: BTreeSet<(String, String)> = listed
        .iter()
        .filter(|(table, _)| table != "roles")
        .cloned()
        .collect();
    assert_eq!(checked, expected, "{inventory:#}");
    for value in &open {
        assert!(!value.choices.is_empty(), "{value:?}");
        assert!(
            value
                .hint()
                .contains(&format!("[mapping.{}]", value.table.key()))
        );
    }

    // The backfill refuses, names every open value, and writes nothing.
    let (code, stdout, stderr) = mv.cutover(&mv.backfill()).await;
    assert_eq!(code, 1, "--- stdout\n{stdout}\n--- stderr\n{stderr}");
    for value in &open {
        assert!(
            stderr.contains(&value.name()),
            "{} not named:\n{stderr}",
            value.name()
        );
    }
    let letters = mv.expect(0, &["deadletters", "list"]).await;
    assert!(
        letters.trim().is_empty() || letters.to_lowercase().contains("no dead letters"),
        "{letters}"
    );
    inventory
}

/// Maps the first two open groups onto the first group of the new account both may take, as
/// their hints offer it.
fn share_one_group(plan: &std::path::Path, open: &[cutover_plan::plan::open::OpenValue]) {
    use cutover_plan::plan::open::{Table, toml_key};
    let groups: Vec<_> = open.iter().filter(|o| o.table == Table::Groups).collect();
    let [first, second, ..] = groups.as_slice() else {
        panic!("two open groups expected: {open:?}");
    };
    let shared = first
        .choices
        .iter()
        .find(|c| *c != "create" && *c != "drop" && second.choices.contains(c))
        .unwrap_or_else(|| panic!("no group both may take: {first:?} {second:?}"));
    let mut text = std::fs::read_to_string(plan).unwrap();
    for value in [first, second] {
        let key = toml_key(&value.value.name);
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{key} = ")))
            .unwrap_or_else(|| panic!("no line for {key}:\n{text}"))
            .to_owned();
        let decided = line.split_once(" = ").unwrap().1;
        let choice = decided.split('"').nth(1).unwrap();
        text = text.replace(
            &line,
            &line.replacen(&format!("\"{choice}\""), &format!("{shared:?}"), 1),
        );
    }
    std::fs::write(plan, text).unwrap();
}

/// Every ticket's type is on its copy as `[mapping.ticket_types]` says: the type it maps to, the
/// type itself where the plan creates it (then listed by the new account), or none where dropped.
async fn ticket_types_carried(mv: &Journey, plan: &std::path::Path) {
    use cutover_plan::plan::values::Target;
    let plan = cutover_plan::plan::load(plan).unwrap();
    let table = plan
        .mapping
        .ticket_types
        .expect("discovery writes the table");
    let new_types = mv.new.ticket_types().await;
    let tally = |types: Vec<Option<String>>| {
        let mut counts = std::collections::BTreeMap::new();
        for kind in types {
            *counts.entry(kind.map(|k| k.to_lowercase())).or_insert(0) += 1;
        }
        counts
    };
    let mut expected = Vec::new();
    for kind in mv.old.types_of_tickets().await {
        let Some(kind) = kind else {
            expected.push(None);
            continue;
        };
        let (old, target) = table
            .iter()
            .find(|(old, _)| same_name(old, &kind))
            .unwrap_or_else(|| panic!("type {kind:?} has no line: {table:?}"));
        if *target == Target::Create {
            assert!(
                new_types.iter().any(|n| same_name(n, old)),
                "{old:?} is created on the new account: {new_types:?}"
            );
        }
        expected.push(target.resolve(old).map(str::to_owned));
    }
    assert_eq!(
        tally(mv.new.types_of_tickets().await),
        tally(expected),
        "ticket types on the copies, as [mapping.ticket_types] says: {table:?}"
    );
}

/// Every rule of the old account is on the target or named, part by part, as what cannot be
/// carried: verify counts each rule as matched or dropped, and every rule verify names (a part
/// left behind, or the rule itself) the inventory named before the move; the routing rules the
/// move wrote are switched off.
fn rules_carried(
    verify: &Value,
    inventory: &Value,
    before: &[Rule],
    after: Vec<Rule>,
    (groups, statuses): (&[Value], &[Value]),
) {
    let inventory_names: Vec<&str> = inventory["losses"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["what"].as_str())
        .collect();
    let mut copied = 0;
    for kind in ["macro", "automation", "sla_policy", "view", "ticket_form"] {
        let counts = &verify["kinds"][kind];
        let count = |key: &str| counts[key].as_u64().unwrap_or(0);
        if count("old") == 0 {
            continue;
        }
        assert_eq!(
            count("old"),
            count("matched") + count("dropped"),
            "{kind}: {counts}"
        );
        copied += count("matched");
        for reason in counts["not_comparable"].as_object().unwrap().keys() {
            // `automation "Title": condition 2: …`: the rule named by the inventory too.
            let rule = reason.split(": ").next().unwrap();
            assert!(
                inventory_names.contains(&rule),
                "{rule} is named by verify ({reason}) but not by the inventory: {inventory_names:?}"
            );
        }
        if count("dropped") > 0 {
            let named = inventory_names
                .iter()
                .filter(|n| n.starts_with(&format!("{kind} \"")))
                .count() as u64;
            assert!(
                named >= count("dropped"),
                "{kind}: {} dropped, {named} named by the inventory",
                count("dropped")
            );
        }
    }
    assert!(copied > 0, "no rule was carried: {verify:#}");
    let written: Vec<&Rule> = after
        .iter()
        .filter(|r| !before.iter().any(|b| b.id == r.id))
        .collect();
    assert!(
        !written.is_empty(),
        "no routing rule was written: {after:?}"
    );
    // Conditions and actions went through the mapping and the links: every group a copy
    // names is a group of the target, every status one of its statuses.
    let mut referred = 0;
    for rule in written {
        assert!(
            !rule.active,
            "rule {} {:?} was written switched on",
            rule.id, rule.name
        );
        for (field, known) in [("group_id", groups), ("status", statuses)] {
            let mut values = Vec::new();
            values_of(&rule.json, field, &mut values);
            for value in values
                .into_iter()
                .filter(|v| !v.is_null() && *v != json!(""))
            {
                let text = value
                    .as_str()
                    .map_or_else(|| value.to_string(), str::to_owned);
                assert!(
                    known.iter().any(|k| *k == value
                        || k.as_str() == Some(&text)
                        || k.as_u64().is_some_and(|n| n.to_string() == text)),
                    "rule {:?}: {field} {value} is not the target's ({known:?}): {}",
                    rule.name,
                    rule.json
                );
                referred += 1;
            }
        }
    }
    assert!(referred > 0, "no copied rule names a group or a status");
}

/// Every ticket's brand (product) is on its copy as `[mapping.brands]` says: the brand it maps
/// to, the brand itself where the plan creates it (then listed by the new account), or none
/// where dropped; Zendesk gives a ticket without one its default brand.
async fn brands_carried(mv: &Journey, plan: &std::path::Path) {
    use cutover_plan::plan::values::Target;
    let plan = cutover_plan::plan::load(plan).unwrap();
    let table = plan.mapping.brands.expect("discovery writes the table");
    let new_brands = mv.new.brands().await;
    let default = new_brands
        .iter()
        .find(|(_, _, default)| *default)
        .map(|(_, name, _)| name.clone());
    let on_new = |brand: Option<String>| match mv.new {
        Account::Zendesk(_) => brand.or_else(|| default.clone()),
        Account::Freshdesk(_) => brand,
    };
    let tally = |brands: Vec<Option<String>>| {
        let mut counts = std::collections::BTreeMap::new();
        for brand in brands {
            *counts.entry(brand.map(|b| b.to_lowercase())).or_insert(0) += 1;
        }
        counts
    };
    let mut expected = Vec::new();
    let mut branded = 0;
    for brand in mv.old.brands_of_tickets().await {
        let Some(brand) = brand else {
            expected.push(on_new(None));
            continue;
        };
        branded += 1;
        let (old, target) = table
            .iter()
            .find(|(old, _)| same_name(old, &brand))
            .unwrap_or_else(|| panic!("brand {brand:?} has no line: {table:?}"));
        if *target == Target::Create {
            assert!(
                new_brands.iter().any(|(_, n, _)| same_name(n, old)),
                "{old:?} is created on the new account: {new_brands:?}"
            );
        }
        expected.push(on_new(target.resolve(old).map(str::to_owned)));
    }
    assert!(
        branded > 0,
        "no old ticket has a brand: nothing is under test"
    );
    assert_eq!(
        tally(mv.new.brands_of_tickets().await),
        tally(expected),
        "brands on the copies, as [mapping.brands] says: {table:?}"
    );
}

async fn journey(from: &'static str, to: &'static str, postgres: bool) {
    // The emulators' default accounts: their own groups, roles, statuses and fields, named
    // differently on each side, agents who left, choice fields of people and companies.
    let mv = Journey::new(from, to, postgres, AccountProfile::default()).await;
    let inventory = discovered(&mv, from, to).await;

    // The plan edited as the hints say, then the move. Two old groups go into one the new
    // account has, as teams merge in a real move: a choice every hint of theirs offers.
    let plan = mv.dir.path().join("cutover.toml");
    let open = crate::plans::follow_hints(&plan, &inventory);
    share_one_group(&plan, &open);
    let out = mv.expect(0, &["plan", "check"]).await;
    assert!(!out.contains("no mapping yet"), "{out}");
    let before = mv.new.rules().await;
    let report: Value = serde_json::from_str(&mv.expect(0, &mv.backfill()).await).unwrap();
    let letters = mv.expect(0, &["deadletters", "list"]).await;
    for (kind, counts) in report["kinds"].as_object().unwrap() {
        assert_eq!(counts["dead_lettered"], 0, "{kind}: {letters}");
    }

    // Every ticket and agent is on the target, and verify is clean.
    mv.old.skip_a_minute().await;
    mv.new.skip_a_minute().await;
    let (code, stdout, stderr) = mv.cutover(&["verify", "--json"]).await;
    let verify: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("verify printed no JSON ({e}):\n{stdout}\n{stderr}"));
    assert_eq!(code, 0, "verify is not clean: {verify:#}");
    for kind in ["ticket", "agent", "comment"] {
        let counts = &verify["kinds"][kind];
        let count = |key: &str| counts[key].as_u64().unwrap();
        assert!(count("old") > 0, "{kind}: {verify:#}");
        // Into Freshdesk, agents who have left are not carried (it has no place for them):
        // their history takes the stand-in. Nothing else is left behind.
        let left_behind = if kind == "agent" && to == "freshdesk" {
            count("dropped")
        } else {
            0
        };
        assert_eq!(count("dropped"), left_behind, "{kind}: {verify:#}");
        assert_eq!(
            count("old"),
            count("matched") + left_behind,
            "{kind}: {verify:#}"
        );
    }
    ticket_types_carried(&mv, &plan).await;
    brands_carried(&mv, &plan).await;
    if to == "zendesk" && from == "freshdesk" {
        // Tickets without a product get Zendesk's default brand: levelled with its reason.
        let levelled = &verify["kinds"]["ticket"]["not_comparable"];
        assert!(
            levelled
                .as_object()
                .is_some_and(|l| l.keys().any(|r| r.starts_with("ticket.brand: "))),
            "{verify:#}"
        );
    }
    let (groups, statuses) = mv.new.groups_and_statuses().await;
    rules_carried(
        &verify,
        &inventory,
        &before,
        mv.new.rules().await,
        (&groups, &statuses),
    );
    assert_eq!(
        mv.new.emails().await,
        0,
        "a customer was e-mailed by the move"
    );
    assert_eq!(
        mv.old.emails().await,
        0,
        "a customer was e-mailed by the move"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_move_from_zendesk_to_freshdesk_on_sqlite() {
    journey("zendesk", "freshdesk", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_move_from_zendesk_to_freshdesk_on_postgres() {
    journey("zendesk", "freshdesk", true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_move_from_freshdesk_to_zendesk_on_sqlite() {
    journey("freshdesk", "zendesk", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_move_from_freshdesk_to_zendesk_on_postgres() {
    journey("freshdesk", "zendesk", true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_move_between_zendesk_accounts_on_sqlite() {
    journey("zendesk", "zendesk", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_move_between_zendesk_accounts_on_postgres() {
    journey("zendesk", "zendesk", true).await;
}
