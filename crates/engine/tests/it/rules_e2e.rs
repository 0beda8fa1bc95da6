//! Rules carried end to end over real HTTP between the emulators, Zendesk → Freshdesk and
//! Zendesk → Zendesk (Freshdesk → Zendesk and realistic accounts: `rules_from_freshdesk`): every rule the target can hold is on it, switched off, its
//! references rewritten through the links (a trigger on group "Billing" becomes one on the group
//! "Billing" maps to), what it cannot hold named rule by rule by the inventory before the move
//! and counted as not comparable by verify after, which is clean; a second backfill changes
//! nothing.

use std::collections::BTreeMap;
use std::sync::Arc;

use cutover_connect::Connector;
use cutover_engine::{BackfillOptions, Mapping, VerifyReport, backfill, inventory, verify};
use cutover_model::records::{FieldTarget, Record};
use cutover_model::{PlatformKind, RecordKind, Side};
use cutover_plan::plan::init::{InitOptions, freshdesk_field_name, render};
use cutover_plan::plan::values::Target;
use cutover_store::Store;
use serde_json::{Value, json};

use crate::support::{
    self, KINDS, assert_changed_nothing, assert_no_one_emailed, backfill_clean, freshdesk_at,
    freshdesk_sim, move_options, read_all, zendesk_at, zendesk_sim,
};

/// Everything a move copies, rules included.
pub(crate) fn kinds() -> Vec<RecordKind> {
    let mut kinds = KINDS.to_vec();
    kinds.extend([
        RecordKind::Macro,
        RecordKind::Automation,
        RecordKind::SlaPolicy,
        RecordKind::View,
        RecordKind::TicketForm,
    ]);
    kinds
}

pub(crate) fn options() -> BackfillOptions {
    BackfillOptions {
        kinds: kinds(),
        ..move_options()
    }
}

/// A platform's API, called as an admin.
pub(crate) struct Api {
    url: String,
    platform: PlatformKind,
    client: reqwest::Client,
}

impl Api {
    pub(crate) fn new(url: &str, platform: PlatformKind) -> Self {
        Api {
            url: url.trim_end_matches('/').to_owned(),
            platform,
            client: reqwest::Client::new(),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .client
            .request(method.clone(), format!("{}/api/v2/{path}", self.url));
        request = match self.platform {
            PlatformKind::Zendesk => {
                request.basic_auth("admin@example.com/token", Some("sim-token"))
            }
            _ => request.basic_auth("sim-key", Some("X")),
        };
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer = request.send().await.unwrap();
        let status = answer.status();
        let text = answer.text().await.unwrap();
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    pub(crate) async fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    /// The record named `title` (under `key`) in a list answer (`envelope`: Zendesk's list key).
    pub(crate) async fn named(
        &self,
        path: &str,
        envelope: Option<&str>,
        key: &str,
        title: &str,
    ) -> Value {
        let list = self.get(path).await;
        let list = match envelope {
            Some(envelope) => list[envelope].clone(),
            None => list,
        };
        list.as_array()
            .into_iter()
            .flatten()
            .find(|r| r[key] == title)
            .cloned()
            .unwrap_or_else(|| panic!("no {title:?} in {path}: {list}"))
    }
}

/// The plan `cutover init` writes for a move from `old`'s platform to `to`, every group and
/// custom ticket field of the old account mapped as a person would after `inventory`, group
/// "Billing" to `billing_to` (a name no other old group has: two groups mapped onto one would
/// race to create it), and the old account's own statuses.
pub(crate) async fn plan(
    old: &dyn Connector,
    to: PlatformKind,
    billing_to: &str,
) -> cutover_plan::plan::model::Mapping {
    let text = render(&InitOptions {
        from: old.platform(),
        to,
        old_url: Some("https://old.example".into()),
        new_url: Some("https://new.example".into()),
    });
    let mut plan = cutover_plan::plan::check_str("cutover.toml", &text)
        .unwrap()
        .mapping;
    plan.groups = read_all(old, RecordKind::Group)
        .await
        .into_iter()
        .filter_map(|o| match o.record {
            Record::Group(g) if g.name == "Billing" => {
                Some((g.name, Target::To(billing_to.into())))
            }
            Record::Group(g) => Some((g.name.clone(), Target::To(g.name))),
            _ => None,
        })
        .collect();
    plan.fields = read_all(old, RecordKind::CustomField)
        .await
        .into_iter()
        .filter_map(|o| match o.record {
            Record::CustomField(def) if def.target == FieldTarget::Ticket => {
                let name = match to {
                    PlatformKind::Freshdesk => freshdesk_field_name(&def.title),
                    _ => def.title.clone(),
                };
                Some((def.title, Target::To(name)))
            }
            _ => None,
        })
        .collect::<BTreeMap<_, _>>();
    for observed in read_all(old, RecordKind::Ticket).await {
        if let Record::Ticket(ticket) = observed.record {
            plan.statuses
                .entry(ticket.status)
                .or_insert_with(|| Target::To("open".to_owned()));
        }
    }
    plan
}

/// Inventory, backfill, verify and backfill again; the store, the inventory's losses and the
/// verification for the checks of each direction.
pub(crate) async fn carry(
    source: Arc<dyn Connector>,
    target: Arc<dyn Connector>,
    plan: &cutover_plan::plan::model::Mapping,
) -> (Arc<dyn Store>, tempfile::TempDir, Vec<String>, VerifyReport) {
    // What the new account offers (the choices of open values), as `cutover inventory` reads it.
    let new_account = target.discover().await.unwrap();
    let losses: Vec<String> = inventory(
        source.as_ref(),
        target.as_ref(),
        plan,
        &kinds(),
        &new_account,
    )
    .await
    .unwrap()
    .losses
    .iter()
    .map(|l| format!("{}: {}", l.what, l.detail))
    .collect();
    let (store, dir) = support::store().await;
    let mapping = Mapping::from_plan(plan);
    let report = backfill_clean(&store, &source, &target, &mapping, options()).await;
    for kind in [
        RecordKind::Macro,
        RecordKind::Automation,
        RecordKind::SlaPolicy,
    ] {
        assert!(
            report.counts(kind).created > 0,
            "{kind}: {}",
            report.summary()
        );
    }
    let (old, new) = match source.side() {
        Side::Old => (&source, &target),
        Side::New => (&target, &source),
    };
    let verified = verify(
        store.as_ref(),
        old.as_ref(),
        new.as_ref(),
        mapping.clone(),
        &kinds(),
    )
    .await
    .unwrap();
    assert!(
        verified.is_clean(),
        "{}\n{}",
        verified.summary(),
        serde_json::to_string_pretty(&verified).unwrap()
    );
    let second = backfill(Arc::clone(&store), source, target, mapping, options())
        .await
        .unwrap();
    assert_changed_nothing(&second);
    (store, dir, losses, verified)
}

/// The verification's reasons for rules it counted as not comparable, one per line.
pub(crate) fn not_comparable(report: &VerifyReport, kind: RecordKind) -> Vec<String> {
    report.kinds[&kind].not_comparable.keys().cloned().collect()
}

pub(crate) fn has(lines: &[String], needles: &[&str]) -> bool {
    lines.iter().any(|l| needles.iter().all(|n| l.contains(n)))
}

#[tokio::test]
async fn zendesk_rules_arrive_in_freshdesk_switched_off_on_the_mapped_group() {
    let old = zendesk_sim(21, 4).await;
    let new = freshdesk_sim(22, 0).await;
    let zd = Api::new(old.url(), PlatformKind::Zendesk);
    let fd = Api::new(new.url(), PlatformKind::Freshdesk);
    let billing = zd
        .post("groups.json", json!({"group": {"name": "Billing"}}))
        .await["group"]["id"]
        .clone();
    let order = zd
        .named(
            "ticket_fields.json",
            Some("ticket_fields"),
            "title",
            "Order number",
        )
        .await["id"]
        .clone();
    zd.post("triggers.json", json!({"trigger": {"title": "Route VIP", "active": true,
        "conditions": {"all": [
            {"field": "update_type", "operator": "is", "value": "Create"},
            {"field": "group_id", "operator": "is", "value": billing.to_string()},
            {"field": "via_id", "operator": "is", "value": "29"},
            {"field": format!("custom_fields_{order}"), "operator": "is", "value": "1234"},
            {"field": "ticket_is_public", "operator": "is", "value": "public"}],
          "any": [{"field": "priority", "operator": "is", "value": "high"},
            {"field": "priority", "operator": "is", "value": "urgent"}]},
        "actions": [{"field": "group_id", "value": billing.to_string()}, {"field": "priority", "value": "urgent"},
            {"field": "notification_user", "value": ["requester_id", "We got it", "Hello {{ticket.requester.name}}"]},
            {"field": "satisfaction_score", "value": "offered_to_requester"}]}})).await;
    zd.post("macros.json", json!({"macro": {"title": "Escalate to billing",
        "restriction": {"type": "Group", "id": billing, "ids": [billing]},
        "actions": [{"field": "group_id", "value": billing.to_string()}, {"field": "current_tags", "value": "vip escalated"},
            {"field": "comment_value_html", "value": "<p>Escalated to billing</p>"},
            {"field": "comment_mode_is_public", "value": false}]}})).await;
    let source = zendesk_at(Side::Old, old.url());
    let target = freshdesk_at(Side::New, new.url());
    let plan = plan(
        source.as_ref(),
        PlatformKind::Freshdesk,
        "Billing escalations",
    )
    .await;
    let (_store, _dir, losses, verified) = carry(source, target, &plan).await;

    let escalations = fd
        .named("groups", None, "name", "Billing escalations")
        .await["id"]
        .clone();
    let rule = fd
        .named("automations/1/rules", None, "name", "Route VIP")
        .await;
    assert_eq!(rule["active"], false, "{rule}");
    let properties = &rule["conditions"][0]["properties"];
    for (field, value) in [
        ("group_id", escalations.clone()),
        ("source", json!(7)),
        ("cf_order_number", json!("1234")),
        ("priority", json!([3, 4])),
    ] {
        assert!(
            properties
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["field_name"] == field && p["value"] == value),
            "{field} = {value}: {rule}"
        );
    }
    let actions = rule["actions"].as_array().unwrap();
    assert!(
        actions
            .iter()
            .any(|a| a["field_name"] == "group_id" && a["value"] == escalations),
        "{rule}"
    );
    assert!(
        actions
            .iter()
            .any(|a| a["field_name"] == "send_email_to_requester"),
        "{rule}"
    );
    let hourly = fd
        .named(
            "automations/3/rules",
            None,
            "name",
            "Close ticket 4 days after status is set to solved",
        )
        .await;
    assert_eq!(hourly["active"], false);
    assert_eq!(
        hourly["actions"][0],
        json!({"field_name": "status", "value": 5})
    );
    let scenario = fd
        .named("scenario_automations", None, "name", "Escalate to billing")
        .await;
    assert!(
        scenario["actions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["name"] == "group_id" && a["value"] == escalations),
        "{scenario}"
    );
    let folder = fd
        .named("canned_response_folders", None, "name", "General")
        .await["id"]
        .clone();
    let canned = fd
        .get(&format!("canned_response_folders/{folder}/responses"))
        .await;
    assert!(
        canned
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["title"] == "Customer not responding"),
        "{canned}"
    );
    let sla = fd.named("sla_policies", None, "name", "Standard SLA").await;
    assert_eq!(
        (
            sla["active"].as_bool(),
            &sla["applicable_to"]["ticket_types"]
        ),
        (Some(false), &json!(["Incident"]))
    );

    // Named before the move, rule by rule and part by part, and counted after it.
    for needles in [
        &[
            r#"automation "Route VIP""#,
            "ticket_is_public is public",
            "has no freshdesk counterpart",
        ][..],
        &[
            r#"automation "Route VIP""#,
            "satisfaction_score offered_to_requester",
        ],
        &[
            r#"macro "Escalate to billing""#,
            "visible to",
            "cannot restrict it to groups",
        ],
        &[
            r#"macro "Customer not responding""#,
            "set status to",
            "canned response holds only",
        ],
        &[
            r#"view "Pending tickets""#,
            "freshdesk has no API that writes view records",
        ],
        &[r#"sla_policy "Standard SLA""#, "targets", "written as"],
        &["rules.activation", "written switched off"],
        &["business_hours", "count by freshdesk's own schedule"],
        &["rules.placeholders", "{{ticket.title}} stays as it is"],
    ] {
        assert!(
            has(&losses, needles),
            "{needles:?} not in the inventory:\n{losses:#?}"
        );
    }
    let counted = not_comparable(&verified, RecordKind::Automation);
    assert!(
        has(
            &counted,
            &[
                r#"automation "Route VIP": condition 4"#,
                "ticket_is_public is public"
            ]
        ),
        "{counted:#?}"
    );
    assert!(
        verified.kinds[&RecordKind::View].dropped > 0,
        "views are left behind, not missing"
    );
    assert_no_one_emailed(new.url()).await;
}

#[tokio::test]
async fn zendesk_rules_move_between_accounts_with_views_and_groups_rewritten() {
    let old = zendesk_sim(25, 4).await;
    let new = zendesk_sim(26, 0).await;
    let src = Api::new(old.url(), PlatformKind::Zendesk);
    let dst = Api::new(new.url(), PlatformKind::Zendesk);
    let billing = src
        .post("groups.json", json!({"group": {"name": "Billing"}}))
        .await["group"]["id"]
        .clone();
    src.post("triggers.json", json!({"trigger": {"title": "Route billing", "active": true,
        "conditions": {"all": [{"field": "update_type", "operator": "is", "value": "Create"},
            {"field": "subject_includes_word", "operator": "includes", "value": "invoice"},
            {"field": "role", "operator": "is", "value": "end_user"}], "any": []},
        "actions": [{"field": "group_id", "value": billing.to_string()},
            {"field": "notification_group", "value": [billing.to_string(), "New invoice question", "{{ticket.title}}"]}]}})).await;
    src.post(
        "macros.json",
        json!({"macro": {"title": "Billing::Refund issued",
        "restriction": {"type": "Group", "id": billing, "ids": [billing]},
        "actions": [{"field": "group_id", "value": billing.to_string()},
            {"field": "comment_value_html", "value": "<p>Your refund is on its way.</p>"}]}}),
    )
    .await;
    src.post("slas/policies.json", json!({"sla_policy": {"title": "Billing SLA",
        "filter": {"all": [{"field": "group_id", "operator": "is", "value": billing.to_string()}], "any": []},
        "policy_metrics": [{"priority": "high", "metric": "first_reply_time", "target": 60, "business_hours": true}]}})).await;
    src.post("views.json", json!({"view": {"title": "Billing queue", "active": true,
        "restriction": {"type": "Group", "id": billing, "ids": [billing]},
        "all": [{"field": "status", "operator": "less_than", "value": "solved"},
            {"field": "group_id", "operator": "is", "value": billing.to_string()}], "any": [],
        "output": {"columns": ["subject", "requester", "updated"], "group_by": "status", "group_order": "asc",
            "sort_by": "updated", "sort_order": "desc"}}})).await;
    let source = zendesk_at(Side::Old, old.url());
    let target = zendesk_at(Side::New, new.url());
    let plan = plan(source.as_ref(), PlatformKind::Zendesk, "Escalations").await;
    let (_store, _dir, losses, verified) = carry(source, target, &plan).await;

    let escalations = dst
        .named("groups.json", Some("groups"), "name", "Escalations")
        .await["id"]
        .clone();
    let trigger = dst
        .named("triggers.json", Some("triggers"), "title", "Route billing")
        .await;
    assert_eq!(trigger["active"], false);
    // A Zendesk condition cutover has no word for is carried as it is to Zendesk.
    assert!(
        trigger["conditions"]["all"]
            .as_array()
            .unwrap()
            .contains(&json!({"field": "role", "operator": "is", "value": "end_user"})),
        "{trigger}"
    );
    assert!(
        trigger["actions"]
            .as_array()
            .unwrap()
            .contains(&json!({"field": "notification_group",
        "value": [escalations.to_string(), "New invoice question", "{{ticket.title}}"]})),
        "{trigger}"
    );
    let view = dst
        .named("views.json", Some("views"), "title", "Billing queue")
        .await;
    assert_eq!(
        (view["active"].as_bool(), &view["restriction"]["ids"]),
        (Some(false), &json!([escalations]))
    );
    assert!(
        view["conditions"]["all"].as_array().unwrap().contains(
            &json!({"field": "group_id", "operator": "is", "value": escalations.to_string()})
        ),
        "{view}"
    );
    let columns: Vec<&Value> = view["execution"]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["id"])
        .collect();
    assert_eq!(
        columns,
        [&json!("subject"), &json!("requester"), &json!("updated")]
    );
    assert!(
        has(
            &losses,
            &[
                "rules.activation",
                "zendesk SLA policies have no off switch"
            ]
        ),
        "{losses:#?}"
    );
    // The target's own default rules of the same titles (switched on, like the old side's) were
    // linked as they are; every view, the new one too, is proven.
    let views = &verified.kinds[&RecordKind::View];
    assert_eq!((views.matched, views.old), (9, 9), "{}", verified.summary());
}

/// A group the plan drops is a lost part of every rule that names it, as `cutover inventory`
/// says before the move: verify levels it with its reason (not a difference), and a rule left
/// with nothing the target can hold counts as left behind (not missing).
#[tokio::test]
async fn a_group_the_plan_drops_leaves_rules_that_name_it_comparable() {
    let old = zendesk_sim(27, 3).await;
    let new = freshdesk_sim(28, 0).await;
    let src = Api::new(old.url(), PlatformKind::Zendesk);
    let billing = src
        .post("groups.json", json!({"group": {"name": "Billing"}}))
        .await["group"]["id"]
        .clone();
    src.post(
        "macros.json",
        json!({"macro": {"title": "Billing::Refund and escalate",
        "actions": [{"field": "group_id", "value": billing.to_string()},
            {"field": "priority", "value": "high"}]}}),
    )
    .await;
    src.post(
        "macros.json",
        json!({"macro": {"title": "Billing::Hand over",
        "actions": [{"field": "group_id", "value": billing.to_string()}]}}),
    )
    .await;
    let source = zendesk_at(Side::Old, old.url());
    let target = freshdesk_at(Side::New, new.url());
    let mut plan = plan(source.as_ref(), PlatformKind::Freshdesk, "Billing").await;
    plan.groups.insert("Billing".into(), Target::Drop);
    // `carry` checks that verify is clean.
    let (_store, _dir, losses, verified) = carry(source, target, &plan).await;
    assert!(
        has(
            &losses,
            &["Billing::Refund and escalate", "left behind by the plan"]
        ),
        "{losses:#?}"
    );
    let levelled = not_comparable(&verified, RecordKind::Macro);
    assert!(
        has(
            &levelled,
            &["Billing::Refund and escalate", "is not copied"]
        ),
        "{levelled:#?}"
    );
    assert!(verified.kinds[&RecordKind::Macro].dropped > 0);
}
