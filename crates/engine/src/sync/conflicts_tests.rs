//! The conflict rule: unit cases and properties.

use chrono::{DateTime, TimeZone, Utc};
use cutover_model::Side;
use cutover_plan::plan::names::ConflictRule;
use proptest::prelude::*;

use super::*;

fn at(secs: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_opt(1_700_000_000 + secs, 0).single()
}

const RULES: [ConflictRule; 4] = [
    ConflictRule::OwnerThenLatest,
    ConflictRule::Latest,
    ConflictRule::OldWins,
    ConflictRule::NewWins,
];

#[test]
fn a_field_changed_on_one_side_takes_that_sides_value_whatever_the_rule() {
    for rule in RULES {
        assert_eq!(
            decide((Some("b"), Some("b")), "x", "b", rule, None, (at(0), at(9))),
            Decision::Take(Side::Old)
        );
        assert_eq!(
            decide((Some("b"), Some("b")), "b", "y", rule, None, (at(9), at(0))),
            Decision::Take(Side::New)
        );
    }
}

#[test]
fn equal_values_are_no_conflict_even_when_both_changed() {
    for rule in RULES {
        assert_eq!(
            decide((Some("b"), Some("b")), "x", "x", rule, None, (at(0), at(1))),
            Decision::Same
        );
        assert_eq!(
            decide((None, None), "x", "x", rule, None, (at(0), at(1))),
            Decision::Same
        );
    }
}

#[test]
fn a_field_changed_on_both_sides_goes_by_the_rule() {
    let both = |rule, owner, times| decide((Some("b"), Some("b")), "x", "y", rule, owner, times);
    assert_eq!(
        both(ConflictRule::Latest, None, (at(0), at(1))),
        Decision::Conflict {
            winner: Side::New,
            rule: "later writer"
        }
    );
    assert_eq!(
        both(ConflictRule::Latest, None, (at(5), at(1))),
        Decision::Conflict {
            winner: Side::Old,
            rule: "later writer"
        }
    );
    // A tie (both platforms show a second's precision) goes to the old side.
    assert_eq!(
        both(ConflictRule::Latest, None, (at(3), at(3))),
        Decision::Conflict {
            winner: Side::Old,
            rule: "later writer"
        }
    );
    assert_eq!(
        both(ConflictRule::OldWins, None, (at(0), at(9))),
        Decision::Conflict {
            winner: Side::Old,
            rule: "old wins"
        }
    );
    assert_eq!(
        both(ConflictRule::NewWins, None, (at(9), at(0))),
        Decision::Conflict {
            winner: Side::New,
            rule: "new wins"
        }
    );
    // Before waves there is no owner: the later writer.
    assert_eq!(
        both(ConflictRule::OwnerThenLatest, None, (at(0), at(1))),
        Decision::Conflict {
            winner: Side::New,
            rule: "later writer"
        }
    );
    // The side that owns the record's work in the current wave, whatever the times.
    assert_eq!(
        both(
            ConflictRule::OwnerThenLatest,
            Some(Side::Old),
            (at(0), at(1))
        ),
        Decision::Conflict {
            winner: Side::Old,
            rule: "owner"
        }
    );
}

#[test]
fn without_the_last_synced_content_every_difference_is_a_conflict() {
    assert!(matches!(
        decide(
            (None, None),
            "x",
            "y",
            ConflictRule::Latest,
            None,
            (at(0), at(1))
        ),
        Decision::Conflict { .. }
    ));
}

#[test]
fn the_plans_field_policy_names_fields_as_the_plan_does() {
    let mut policy = ConflictPolicy {
        default: ConflictRule::Latest,
        ..ConflictPolicy::default()
    };
    policy.fields.insert("type".into(), ConflictRule::OldWins);
    policy.fields.insert("status".into(), ConflictRule::NewWins);
    assert_eq!(policy.rule_for("ticket_type"), ConflictRule::OldWins);
    assert_eq!(policy.rule_for("status"), ConflictRule::NewWins);
    assert_eq!(policy.rule_for("subject"), ConflictRule::Latest);
}

#[test]
fn field_values_read_a_records_fields_and_hashes_ignore_key_order() {
    let a = serde_json::json!({"b": 1, "a": [1, 2]});
    let b: Value = serde_json::from_str(r#"{"a": [1, 2], "b": 1}"#).unwrap();
    assert_eq!(hash_value(&a), hash_value(&b));
    assert_ne!(
        hash_value(&a),
        hash_value(&serde_json::json!({"b": 2, "a": [1, 2]}))
    );
}

fn rule() -> impl Strategy<Value = ConflictRule> {
    prop::sample::select(RULES.to_vec())
}

fn side() -> impl Strategy<Value = Side> {
    prop::sample::select(vec![Side::Old, Side::New])
}

/// The value a side ends with: its own, or the other side's when that one wins.
fn settled(decision: Decision, old: u8, new: u8) -> (u8, u8) {
    match decision {
        Decision::Same => (old, new),
        Decision::Take(Side::Old)
        | Decision::Conflict {
            winner: Side::Old, ..
        } => (old, old),
        Decision::Take(Side::New)
        | Decision::Conflict {
            winner: Side::New, ..
        } => (new, new),
    }
}

proptest! {
    /// After a decision both sides hold the same value, one of the two they held; and deciding
    /// again with that value as the last synced one finds nothing to do (no flip-flop).
    #[test]
    fn a_decision_settles_both_sides_for_good(
        base in proptest::option::of(0u8..4),
        old in 0u8..4,
        new in 0u8..4,
        rule in rule(),
        owner in proptest::option::of(side()),
        t_old in 0i64..5,
        t_new in 0i64..5,
    ) {
        let h = |v: u8| v.to_string();
        let base_hash = base.map(h);
        let decision = decide((base_hash.as_deref(), base_hash.as_deref()), &h(old), &h(new), rule, owner, (at(t_old), at(t_new)));
        let (o, n) = settled(decision, old, new);
        prop_assert_eq!(o, n);
        prop_assert!(o == old || o == new);
        let again = decide((Some(&h(o)), Some(&h(o))), &h(o), &h(n), rule, owner, (at(t_old + 7), at(t_new + 3)));
        prop_assert_eq!(again, Decision::Same);
    }

    /// A change made on one side only is never lost, whatever the rule, owner or times.
    #[test]
    fn a_change_on_one_side_only_is_never_lost(
        base in 0u8..4,
        changed in 0u8..4,
        on in side(),
        rule in rule(),
        owner in proptest::option::of(side()),
        t_old in 0i64..5,
        t_new in 0i64..5,
    ) {
        prop_assume!(changed != base);
        let h = |v: u8| v.to_string();
        let (old, new) = match on {
            Side::Old => (changed, base),
            Side::New => (base, changed),
        };
        let decision = decide((Some(&h(base)), Some(&h(base))), &h(old), &h(new), rule, owner, (at(t_old), at(t_new)));
        prop_assert_eq!(decision, Decision::Take(on));
        prop_assert_eq!(settled(decision, old, new), (changed, changed));
    }

    /// With each side's own last synced hash (a side that holds a value as it can), a side
    /// whose value is still its own is never taken for a change: nothing is decided against
    /// it, and when neither changed nothing is written at all.
    #[test]
    fn a_side_still_holding_its_own_value_never_counts_as_a_change(
        base_old in 0u8..4,
        base_new in 0u8..4,
        old in 0u8..4,
        new in 0u8..4,
        rule in rule(),
        owner in proptest::option::of(side()),
        t_old in 0i64..5,
        t_new in 0i64..5,
    ) {
        let h = |v: u8| v.to_string();
        let (bo, bn) = (h(base_old), h(base_new));
        let decision = decide((Some(&bo), Some(&bn)), &h(old), &h(new), rule, owner, (at(t_old), at(t_new)));
        match (old == base_old, new == base_new) {
            (true, true) if old != new => prop_assert_eq!(decision, Decision::Same),
            (true, false) if old != new => prop_assert_eq!(decision, Decision::Take(Side::New)),
            (false, true) if old != new => prop_assert_eq!(decision, Decision::Take(Side::Old)),
            (false, false) if old != new => {
                let is_conflict = matches!(decision, Decision::Conflict { .. });
                prop_assert!(is_conflict);
            }
            _ => prop_assert_eq!(decision, Decision::Same),
        }
    }

    /// The rule does not depend on which side is called old: swapping the sides' values and
    /// times (and the owner) swaps the winner, except that a tie in time goes to the old side.
    #[test]
    fn the_later_writer_is_the_same_record_whichever_side_it_is_on(
        base in 0u8..4,
        old in 0u8..4,
        new in 0u8..4,
        t_old in 0i64..5,
        t_new in 0i64..5,
    ) {
        prop_assume!(old != new && old != base && new != base && t_old != t_new);
        let h = |v: u8| v.to_string();
        let one = decide((Some(&h(base)), Some(&h(base))), &h(old), &h(new), ConflictRule::Latest, None, (at(t_old), at(t_new)));
        let other = decide((Some(&h(base)), Some(&h(base))), &h(new), &h(old), ConflictRule::Latest, None, (at(t_new), at(t_old)));
        let value = |d: Decision, o: u8, n: u8| settled(d, o, n).0;
        prop_assert_eq!(value(one, old, new), value(other, new, old));
        let later = if t_new > t_old { new } else { old };
        prop_assert_eq!(value(one, old, new), later);
    }
}

#[test]
fn a_side_that_holds_a_value_as_it_can_has_not_changed_it() {
    // A Zendesk ticket without priority, copied into Freshdesk, reads `low` there: the link
    // keeps the new side's own hash of it, and only the old side's change counts.
    let none = hash_value(&Value::Null);
    let low = hash_value(&serde_json::json!("low"));
    let high = hash_value(&serde_json::json!("high"));
    for rule in RULES {
        assert_eq!(
            decide(
                (Some(&none), Some(&low)),
                &high,
                &low,
                rule,
                None,
                (at(0), at(9))
            ),
            Decision::Take(Side::Old)
        );
        assert_eq!(
            decide(
                (Some(&none), Some(&low)),
                &none,
                &low,
                rule,
                None,
                (at(0), at(9))
            ),
            Decision::Same
        );
    }
    let mut fields = cutover_store::FieldHashes::new();
    fields.insert("priority".into(), none.clone());
    fields.insert("new:priority".into(), low.clone());
    assert_eq!(
        base_of(Some(&fields), Side::Old, "priority"),
        Some(none.as_str())
    );
    assert_eq!(
        base_of(Some(&fields), Side::New, "priority"),
        Some(low.as_str())
    );
    let shared: cutover_store::FieldHashes = [("priority".to_owned(), none.clone())].into();
    let new_own: BTreeMap<String, String> = [("priority".to_owned(), low.clone())].into();
    let old_own: BTreeMap<String, String> = [("priority".to_owned(), none.clone())].into();
    assert_eq!(
        with_sides(shared, [(Side::Old, &old_own), (Side::New, &new_own)]),
        fields
    );
}
