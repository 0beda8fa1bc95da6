//! Rules carried end to end from Freshdesk to Zendesk (see `rules_e2e` for what each move
//! proves), and realistic accounts' rules read whole and fitted either way.

use serde_json::{Value, json};

use cutover_model::{PlatformKind, RecordKind, Side};

use crate::rules_e2e::{Api, carry, has, plan};
use crate::support::{freshdesk_at, freshdesk_sim, read_all, zendesk_at, zendesk_sim};

#[tokio::test]
async fn freshdesk_rules_arrive_in_zendesk_switched_off_on_the_mapped_group() {
    let old = freshdesk_sim(23, 4).await;
    let new = zendesk_sim(24, 0).await;
    let fd = Api::new(old.url(), PlatformKind::Freshdesk);
    let zd = Api::new(new.url(), PlatformKind::Zendesk);
    // The account's own group "Billing" (every generated account has one).
    let billing = fd.named("groups", None, "name", "Billing").await["id"].clone();
    let property = |field: &str, operator: &str, value: Value| json!({"resource_type": "ticket", "field_name": field, "operator": operator, "value": value});
    fd.post("automations/1/rules", json!({"name": "Route VIP", "active": true,
        "conditions": [{"name": "condition_set_1", "match_type": "all", "properties": [
            property("group_id", "is", billing.clone()), property("source", "is", json!(7)),
            property("priority", "in", json!([3, 4])),
            {"resource_type": "requester", "field_name": "email", "operator": "contains", "value": "vip"}]}],
        "actions": [{"field_name": "group_id", "value": billing}, {"field_name": "priority", "value": 4},
            {"field_name": "send_email_to_requester", "email_subject": "We got it", "email_body": "Hello"},
            {"field_name": "trigger_webhook", "request_type": "POST", "url": "http://127.0.0.1:9/hook?token=abc",
                "content_type": "JSON", "custom_headers": {"X-Bridge-Secret": "s3cret"}}]})).await;
    fd.post(
        "automations/4/rules",
        json!({"name": "Resolved by an agent", "active": true,
        "performer": {"type": 1}, "events": [{"field_name": "status", "from": "--", "to": 4}],
        "conditions": [], "actions": [{"field_name": "priority", "value": 1}]}),
    )
    .await;
    fd.post("automations/3/rules", json!({"name": "Close resolved after two days", "active": true,
        "conditions": [{"name": "condition_set_1", "match_type": "all", "properties": [
            property("hours_since_resolved", "greater_than", json!(48)), property("status", "is", json!(4))]}],
        "actions": [{"field_name": "status", "value": 5}]})).await;
    let folder = fd
        .post("canned_response_folders", json!({"name": "Billing"}))
        .await["id"]
        .clone();
    fd.post(
        "canned_responses",
        json!({"title": "Refund sent", "content_html": "<p>Refund sent.</p>",
        "folder_id": folder, "visibility": 2, "group_ids": [billing]}),
    )
    .await;
    let target = json!({"respond_within": 3600, "resolve_within": 14400, "business_hours": true, "escalation_enabled": true});
    fd.post("sla_policies", json!({"name": "VIP SLA", "active": true,
        "applicable_to": {"group_ids": [billing], "sources": [1, 7]},
        "sla_target": {"priority_1": target, "priority_2": target, "priority_3": target, "priority_4": target}})).await;
    let source = freshdesk_at(Side::Old, old.url());
    let target = zendesk_at(Side::New, new.url());
    let plan = plan(
        source.as_ref(),
        PlatformKind::Zendesk,
        "Billing escalations",
    )
    .await;
    let (_store, _dir, losses, _verified) = carry(source, target, &plan).await;

    let escalations = zd
        .named("groups.json", Some("groups"), "name", "Billing escalations")
        .await["id"]
        .to_string();
    let trigger = zd
        .named("triggers.json", Some("triggers"), "title", "Route VIP")
        .await;
    assert_eq!(trigger["active"], false, "{trigger}");
    let all = trigger["conditions"]["all"].as_array().unwrap();
    for condition in [
        json!({"field": "update_type", "operator": "is", "value": "Create"}),
        json!({"field": "group_id", "operator": "is", "value": escalations}),
        json!({"field": "via_id", "operator": "is", "value": "29"}),
    ] {
        assert!(all.contains(&condition), "{condition}: {trigger}");
    }
    let any: Vec<&Value> = trigger["conditions"]["any"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["value"])
        .collect();
    assert_eq!(any, [&json!("high"), &json!("urgent")], "{trigger}");
    assert!(
        trigger["actions"]
            .as_array()
            .unwrap()
            .contains(&json!({"field": "group_id", "value": escalations}))
    );
    let resolved = zd
        .named(
            "triggers.json",
            Some("triggers"),
            "title",
            "Resolved by an agent",
        )
        .await;
    assert!(
        resolved["conditions"]["all"]
            .as_array()
            .unwrap()
            .contains(&json!({"field": "status", "operator": "value", "value": "solved"})),
        "{resolved}"
    );
    let automation = zd
        .named(
            "automations.json",
            Some("automations"),
            "title",
            "Close resolved after two days",
        )
        .await;
    assert_eq!(automation["active"], false);
    assert!(
        automation["conditions"]["all"]
            .as_array()
            .unwrap()
            .contains(&json!({"field": "SOLVED", "operator": "greater_than", "value": "48"})),
        "{automation}"
    );
    let macro_ = zd
        .named(
            "macros.json",
            Some("macros"),
            "title",
            "Billing::Refund sent",
        )
        .await;
    assert_eq!(
        macro_["restriction"]["ids"],
        json!([escalations.parse::<u64>().unwrap()]),
        "{macro_}"
    );
    assert_eq!(macro_["active"], false);
    let sla = zd
        .named(
            "slas/policies.json",
            Some("sla_policies"),
            "title",
            "VIP SLA",
        )
        .await;
    assert_eq!(
        sla["filter"]["all"],
        json!([{"field": "group_id", "operator": "is", "value": escalations}]),
        "{sla}"
    );
    assert_eq!(sla["policy_metrics"].as_array().unwrap().len(), 8);

    for needles in [
        &[
            r#"automation "Route VIP""#,
            "email contains vip",
            "has no zendesk counterpart",
        ][..],
        &[
            r#"automation "Route VIP""#,
            "trigger_webhook POST http://127.0.0.1:9/hook",
            "has no zendesk counterpart",
        ],
        &[
            r#"automation "Resolved by an agent""#,
            "updated by an agent",
        ],
        &[
            "rules.activation",
            "zendesk SLA policies have no off switch",
        ],
    ] {
        assert!(
            has(&losses, needles),
            "{needles:?} not in the inventory:\n{losses:#?}"
        );
    }
    // The webhook's secret stays on the source: in no loss, and not on the target.
    assert!(
        !losses
            .iter()
            .any(|l| l.contains("s3cret") || l.contains("token=abc")),
        "{losses:#?}"
    );
    assert!(!zd.get("triggers.json").await.to_string().contains("s3cret"));
}

/// Realistic accounts (the emulators' default: rules of their own on custom groups and fields,
/// some switched off) read whole, and every rule fits onto the other platform or is named as
/// not carried: nothing is rejected, and each rule's references are its account's records.
#[tokio::test]
async fn realistic_accounts_rules_read_whole_and_fit_either_way() {
    use cutover_connect::{Fitted, fit};
    use cutover_sim::AccountProfile;
    use cutover_sim::freshdesk::{FreshdeskOptions, FreshdeskSim};
    use cutover_sim::zendesk::{ZendeskOptions, ZendeskSim};

    let zd = ZendeskSim::spawn(
        ZendeskOptions {
            seed: 27,
            tickets: 10,
            profile: AccountProfile::Realistic,
            rate_limit_rpm: None,
            incremental_rpm: 0,
            ..ZendeskOptions::default()
        },
        "127.0.0.1:0",
    )
    .await
    .unwrap();
    let fd = FreshdeskSim::spawn(
        FreshdeskOptions {
            seed: 28,
            tickets: 10,
            profile: AccountProfile::Realistic,
            rate_limit_rpm: Some(0),
            ..FreshdeskOptions::default()
        },
        "127.0.0.1:0",
    )
    .await
    .unwrap();
    for (source, to) in [
        (zendesk_at(Side::Old, zd.url()), PlatformKind::Freshdesk),
        (freshdesk_at(Side::Old, fd.url()), PlatformKind::Zendesk),
    ] {
        let groups: Vec<String> = read_all(source.as_ref(), RecordKind::Group)
            .await
            .into_iter()
            .map(|o| o.id.to_string())
            .collect();
        let (mut rules, mut inactive, mut on_groups) = (0, 0, 0);
        for kind in [
            RecordKind::Macro,
            RecordKind::Automation,
            RecordKind::SlaPolicy,
        ] {
            for observed in read_all(source.as_ref(), kind).await {
                let rule = observed.record.rule().unwrap();
                rules += 1;
                inactive += usize::from(!rule.active);
                for reference in cutover_connect::references(&observed.record) {
                    assert!(
                        reference.field != "group" || groups.contains(&reference.key.to_string()),
                        "{kind} {:?} names group {} its account has not",
                        rule.title,
                        reference.key
                    );
                    on_groups += usize::from(reference.field == "group");
                }
                // Copies wait switched off, but for what the target has no switch for.
                let live = kind == RecordKind::Macro
                    || (kind == RecordKind::SlaPolicy && to == PlatformKind::Zendesk);
                if let Fitted::Written { rule: kept, .. } = fit(to, kind, rule) {
                    assert!(live || !kept.active, "{kept:?}");
                }
            }
        }
        assert!(
            rules > 3 && inactive > 0 && on_groups > 0,
            "{}: {rules} rules, {inactive} off, {on_groups} on groups",
            source.platform()
        );
    }
}
