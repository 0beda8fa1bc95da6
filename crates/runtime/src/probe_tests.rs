//! The monitor's probes against the emulators over real HTTP, kept in a real store (a SQLite
//! file): a pass of the monitor's loop probes each side once, a refused key is a failed probe,
//! and the API KPIs count them.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{Duration, Utc};
use cutover_connect::{
    Connector, FreshdeskConfig, FreshdeskConnector, ZendeskConfig, ZendeskConnector,
};
use cutover_model::{PlatformKind, Side};
use cutover_plan::plan::init::{InitOptions, render};
use cutover_sim::AccountProfile;
use cutover_sim::freshdesk::{FreshdeskOptions, FreshdeskSim};
use cutover_sim::zendesk::{ZendeskOptions, ZendeskSim};
use cutover_store::Store;
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::kpi::Filter;
use crate::paging::{Pager, PagerConfig};

fn zendesk(url: &str) -> Arc<dyn Connector> {
    let config = ZendeskConfig::with_api_token(
        Side::Old,
        reqwest::Url::parse(url).unwrap(),
        "admin@example.com",
        SecretString::from("sim-token"),
    );
    Arc::new(ZendeskConnector::new(config).unwrap())
}

fn freshdesk(url: &str, key: &str) -> Arc<dyn Connector> {
    let config = FreshdeskConfig::with_api_key(
        Side::New,
        reqwest::Url::parse(url).unwrap(),
        SecretString::from(key.to_owned()),
    );
    Arc::new(FreshdeskConnector::new(config).unwrap())
}

async fn sqlite_store(dir: &tempfile::TempDir) -> Arc<dyn Store> {
    let url = format!("sqlite://{}", dir.path().join("cutover.db").display());
    cutover_store::open(&url.parse().unwrap()).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_monitor_pass_probes_each_side_and_keeps_what_came_back() {
    let old = ZendeskSim::spawn(
        ZendeskOptions {
            profile: AccountProfile::Plain,
            rate_limit_rpm: None,
            ..ZendeskOptions::default()
        },
        "127.0.0.1:0",
    )
    .await
    .unwrap();
    let new = FreshdeskSim::spawn(
        FreshdeskOptions {
            profile: AccountProfile::Plain,
            rate_limit_rpm: Some(0),
            ..FreshdeskOptions::default()
        },
        "127.0.0.1:0",
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(&dir).await;
    let plan = cutover_plan::plan::check_str(
        "cutover.toml",
        &render(&InitOptions {
            from: PlatformKind::Zendesk,
            to: PlatformKind::Freshdesk,
            old_url: None,
            new_url: None,
        }),
    )
    .unwrap();
    let probers = Probers {
        old: zendesk(old.url()),
        new: freshdesk(new.url(), "sim-key"),
    };
    let before = Utc::now();
    // The monitor's loop as `cutover serve`'s leader runs it: its first tick is at once.
    let stop = CancellationToken::new();
    let monitor = tokio::spawn(crate::alerts::run(
        store.clone(),
        plan,
        Pager::new(PagerConfig {
            smtp: None,
            slack: None,
            teams: None,
        }),
        Some(probers.clone()),
        StdDuration::from_secs(60),
        crate::clock::MonitorClock::real(),
        stop.clone(),
    ));
    let mut kept = Vec::new();
    for _ in 0..100 {
        kept = store
            .probes(before, Utc::now() + Duration::seconds(1))
            .await
            .unwrap();
        if kept.len() >= 2 {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    stop.cancel();
    monitor.await.unwrap();
    // One probe a side per pass (the next tick is a minute away), each answered 200.
    let sides: Vec<Side> = kept.iter().map(|p| p.side).collect();
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(sides.contains(&Side::Old) && sides.contains(&Side::New));
    assert!(
        kept.iter().all(|p| p.ok && p.status == Some(200)),
        "{kept:?}"
    );
    assert!(kept.iter().all(|p| p.millis < 10_000), "{kept:?}");

    // A key the platform refuses is a failed probe, kept with its status.
    let refused = Probers {
        old: zendesk(old.url()),
        new: freshdesk(new.url(), "not-the-key"),
    };
    let at = Utc::now();
    let taken = probe_sides(store.as_ref(), &refused, at).await.unwrap();
    let on_new = taken.iter().find(|p| p.side == Side::New).unwrap();
    assert_eq!((on_new.status, on_new.ok), (Some(401), false));
    // The KPIs count them: on the new side one of two probes answered.
    let figures = crate::kpi_stored::compute(
        store.as_ref(),
        before,
        at + Duration::seconds(1),
        &Filter {
            side: Some(Side::New),
            ..Filter::default()
        },
    )
    .await
    .unwrap();
    let figure = |name: &str| figures.iter().find(|f| f.name == name).unwrap().clone();
    assert_eq!(figure("api_availability").value, Some(0.5));
    assert_eq!(figure("api_availability").samples, 2);
    assert_eq!(figure("api_response_p90").samples, 2);
    assert!(figure("api_response_p90").value.is_some());
    store.close().await;
    old.shutdown().await.unwrap();
    new.shutdown().await.unwrap();
}
