//! Retrying dead letters, and the connectors a plan names.

use cutover_engine::{EngineError, Outcome, Prepared, Retried, connector};
use cutover_model::{PlatformKind, RecordKind, RecordRef, Side};
use cutover_store::{DeadLetterFilter, Link, NewDeadLetter};
use serde_json::json;

use crate::support::*;

async fn put(store: &dyn cutover_store::Store, letter: NewDeadLetter) -> cutover_store::DeadLetter {
    let mut tx = store.begin().await.unwrap();
    let stored = tx.put_dead_letter(&letter).await.unwrap();
    tx.commit().await.unwrap();
    stored
}

#[tokio::test]
async fn a_retry_that_applies_removes_the_letter_and_one_that_waits_keeps_it() {
    let (store, _dir) = store().await;
    let applier = applier(&store, Side::Old, false);
    let contact = observed(Side::Old, 7, contact("Ada"));
    let Prepared::Ready(ready) = applier.prepare(&contact).await.unwrap() else {
        panic!("ready")
    };
    store
        .link_if_absent(&Link::new(
            RecordKind::Contact,
            cutover_model::PlatformId::from(7),
            id(507),
            ready.fingerprint,
            Side::Old,
        ))
        .await
        .unwrap();
    let resolved = put(
        store.as_ref(),
        NewDeadLetter {
            kind: RecordKind::Contact,
            side: Side::Old,
            source_id: id(7),
            reason: "create contact: http 422".into(),
            record: serde_json::to_value(&contact).unwrap(),
        },
    )
    .await;
    assert_eq!(
        applier.retry_dead_letter(&resolved).await.unwrap(),
        Retried::Resolved(Outcome::Unchanged)
    );
    assert_eq!(store.dead_letter(resolved.id).await.unwrap(), None);

    let waiting = observed(Side::Old, 40, ticket("open", 8, None));
    let parked = put(
        store.as_ref(),
        NewDeadLetter {
            kind: RecordKind::Ticket,
            side: Side::Old,
            source_id: id(40),
            reason: cutover_engine::WAITING_FOR_PARENT.into(),
            record: serde_json::to_value(&waiting).unwrap(),
        },
    )
    .await;
    let retried = applier.retry_dead_letter(&parked).await.unwrap();
    assert_eq!(
        retried,
        Retried::Failing(Outcome::Waiting(RecordRef {
            kind: RecordKind::Contact,
            side: Side::Old,
            id: id(8)
        }))
    );
    let kept = store.dead_letter(parked.id).await.unwrap().unwrap();
    assert!(kept.retried_at.is_some());

    let raw = put(
        store.as_ref(),
        NewDeadLetter {
            kind: RecordKind::Ticket,
            side: Side::Old,
            source_id: id(41),
            reason: "read ticket 41 from zendesk: field status: unknown".into(),
            record: json!({"id": 41, "status": 7}),
        },
    )
    .await;
    assert_eq!(
        applier.retry_dead_letter(&raw).await.unwrap(),
        Retried::Unreadable
    );
    let all = store
        .dead_letters(&DeadLetterFilter::default())
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
}

#[test]
fn connectors_take_credentials_from_the_variables_the_plan_names_and_never_show_them() {
    let plan = plan();
    let token_var = plan.old.token_env.as_str().to_owned();
    let email_var = plan.old.email_env.as_ref().unwrap().as_str().to_owned();
    let err = connector(&plan, Side::Old, |_| None).unwrap_err();
    assert!(matches!(
        err,
        EngineError::Credentials { ref missing } if missing.iter().all(|(s, _)| *s == Side::Old)
    ));
    assert!(err.to_string().contains(&token_var), "{err}");
    let env = |name: &str| {
        (name == token_var || name == email_var).then(|| {
            if name == token_var {
                "s3cret-token".to_owned()
            } else {
                "agent@acme.example".to_owned()
            }
        })
    };
    let old = connector(&plan, Side::Old, env).unwrap();
    assert_eq!(
        (old.platform(), old.side()),
        (PlatformKind::Zendesk, Side::Old)
    );
    assert!(!format!("{old:?}").contains("s3cret-token"));
}
