//! API tokens: stored by hash, listed without it, revoked, looked up only while live.

use cutover_store::{ApiRole, NewApiToken, TokenHash};

use crate::harness::{TestStore, backend_tests};

backend_tests!(tokens_are_found_by_hash_while_live_and_names_are_unique,);

async fn tokens_are_found_by_hash_while_live_and_names_are_unique(t: TestStore) {
    let store = &t.store;
    assert!(store.api_tokens().await.unwrap().is_empty());
    let ci = NewApiToken {
        name: "ci".to_owned(),
        role: ApiRole::Operator,
        hash: TokenHash::of("cut_first"),
    };
    let made = store.create_api_token(&ci).await.unwrap();
    assert_eq!((made.name.as_str(), made.role), ("ci", ApiRole::Operator));
    assert_eq!(made.last_used_at, None);

    // A second live token of the same name is refused.
    let again = NewApiToken {
        hash: TokenHash::of("cut_second"),
        ..ci.clone()
    };
    let refused = store.create_api_token(&again).await.unwrap_err();
    assert!(refused.is_unique_violation(), "{refused}");

    // Found by its hash only; the lookup records the use.
    assert!(
        store
            .use_api_token(&TokenHash::of("cut_other"))
            .await
            .unwrap()
            .is_none()
    );
    let used = store
        .use_api_token(&TokenHash::of("cut_first"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(used.role, ApiRole::Operator);
    assert!(used.last_used_at.is_some());
    let listed = store.api_tokens().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].last_used_at, used.last_used_at);

    // Revoked: no longer found, and the name is free again.
    assert!(store.revoke_api_token("ci").await.unwrap());
    assert!(!store.revoke_api_token("ci").await.unwrap());
    assert!(
        store
            .use_api_token(&TokenHash::of("cut_first"))
            .await
            .unwrap()
            .is_none()
    );
    store.create_api_token(&again).await.unwrap();
    let listed = store.api_tokens().await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed.iter().filter(|t| t.revoked_at.is_some()).count(), 1);
}
