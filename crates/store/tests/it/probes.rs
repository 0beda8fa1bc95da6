//! The monitor's API probes: kept as taken and read back by window, and aggregated per bucket
//! with the gateway's contacts for the API and channel KPIs.

use chrono::{Duration, Utc};
use cutover_model::Side;
use cutover_store::{ApiProbe, FactFilter, NewContact};

use crate::harness::{TestStore, at, backend_tests};

backend_tests!(
    probes_read_back_as_kept,
    probes_and_contacts_are_aggregated_per_bucket,
);

fn probe(side: Side, seconds: i64, millis: u64, status: Option<u16>) -> ApiProbe {
    ApiProbe {
        side,
        at: at(seconds, 250),
        millis,
        status,
        ok: status.is_some_and(|s| (200..300).contains(&s)),
    }
}

async fn probes_read_back_as_kept(t: TestStore) {
    let store = &t.store;
    let kept = [
        probe(Side::Old, 1_000, 120, Some(200)),
        probe(Side::New, 1_000, 95, Some(503)),
        probe(Side::Old, 1_060, 30_001, None),
        probe(Side::New, 2_000, 80, Some(200)),
    ];
    for p in &kept {
        store.record_probe(p).await.unwrap();
    }
    // Oldest first, to the microsecond; the window's end is not in it.
    let read = store.probes(at(1_000, 0), at(2_000, 250)).await.unwrap();
    assert_eq!(read, kept[..3].to_vec());
    assert!(!read[1].ok && read[1].status == Some(503));
    assert_eq!(read[2].status, None);
    assert!(
        store
            .probes(at(2_001, 0), at(3_000, 0))
            .await
            .unwrap()
            .is_empty()
    );
}

fn message(key: &str) -> NewContact {
    NewContact {
        channel: "web".into(),
        message_key: key.into(),
        customer: format!("{key}@example.com"),
        payload: serde_json::json!({ "text": "hello" }),
        status: cutover_store::ContactStatus::Pending,
        side: None,
    }
}

async fn probes_and_contacts_are_aggregated_per_bucket(t: TestStore) {
    let store = &t.store;
    // Two buckets of a minute: 1 000-1 060 s and 1 060-1 120 s.
    for (seconds, millis, status) in [
        (1_001, 300, Some(200)),
        (1_010, 100, Some(200)),
        (1_020, 200, Some(429)),
        (1_030, 400, None),
        (1_070, 50, Some(200)),
    ] {
        store
            .record_probe(&probe(Side::Old, seconds, millis, status))
            .await
            .unwrap();
    }
    store
        .record_probe(&probe(Side::New, 1_005, 9_999, Some(200)))
        .await
        .unwrap();
    let old = FactFilter {
        side: Some(Side::Old),
        ..FactFilter::default()
    };
    let buckets = store
        .kpi_buckets(at(1_000, 0), Duration::minutes(1), 2, &old)
        .await
        .unwrap();
    let first = &buckets.buckets[0];
    // Ranks: the 90th percentile of four is the 4th smallest.
    assert_eq!(
        (first.probes, first.probes_ok, first.probe_p90_ms),
        (4, 2, Some(400))
    );
    let second = &buckets.buckets[1];
    assert_eq!(
        (second.probes, second.probes_ok, second.probe_p90_ms),
        (1, 1, Some(50))
    );

    // Contacts accepted now: two delivered at once, one given back after a try on the new
    // side, one never tried.
    for key in ["a", "b", "c", "d"] {
        store.accept_contact(&message(key)).await.unwrap();
    }
    let claimed = store
        .claim_contacts(10, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 4);
    for c in &claimed[..2] {
        let delivery = cutover_store::ContactDelivery {
            id: c.id,
            lease: c.leased_until.unwrap(),
            side: Side::Old,
            ticket_id: cutover_model::PlatformId::parse(format!("{}", c.id.0 + 100)).unwrap(),
            follow_up: false,
            conversation: None,
        };
        assert!(store.deliver_contact(&delivery).await.unwrap());
    }
    let c = &claimed[2];
    let later = Utc::now() + Duration::hours(1);
    assert!(
        store
            .retry_contact(c.id, c.leased_until.unwrap(), later, Some(Side::New), None)
            .await
            .unwrap()
    );
    // Contact d: claimed, its lease left to run out, never tried on a side.
    let now = Utc::now();
    let window = |filter: FactFilter, end: chrono::DateTime<Utc>| {
        let store = store.clone();
        async move {
            let b = store
                .kpi_buckets(end - Duration::hours(1), Duration::hours(1), 1, &filter)
                .await
                .unwrap();
            (b.buckets[0].contacts, b.buckets[0].contacts_in_time)
        }
    };
    // Ten minutes on, all four are judged: the two delivered in time.
    let later = now + Duration::minutes(10);
    assert_eq!(window(FactFilter::default(), later).await, (4, 2));
    // On the old side: what it took, and d (not tried yet); c was tried on the new side.
    assert_eq!(window(old.clone(), later).await, (3, 2));
    let new = FactFilter {
        side: Some(Side::New),
        ..FactFilter::default()
    };
    assert_eq!(window(new, later).await, (2, 0));
    // Another gateway channel has none; a list naming this one has them all. A ticket channel
    // (a kind, not a `[[channels]]` name) does not narrow the contacts.
    let gateway = |names: &[&str]| FactFilter {
        gateway_channels: Some(names.iter().map(|n| (*n).to_owned()).collect()),
        ..FactFilter::default()
    };
    assert_eq!(window(gateway(&["email"]), later).await, (0, 0));
    assert_eq!(window(gateway(&[]), later).await, (0, 0));
    assert_eq!(window(gateway(&["we"]), later).await, (0, 0), "exact");
    assert_eq!(window(gateway(&["email", "web"]), later).await, (4, 2));
    let kind = FactFilter {
        channel: Some("web_form".into()),
        ..FactFilter::default()
    };
    assert_eq!(window(kind, later).await, (4, 2));
    // A minute on, the undelivered are not judged yet: within their five minutes.
    assert_eq!(
        window(FactFilter::default(), now + Duration::minutes(1)).await,
        (2, 2)
    );
}
