//! A dry run predicts the real run: what it counts as created, found, updated, dropped and
//! dead-lettered, per kind, is what the real run then does, on the same two accounts.

use std::sync::Arc;

use cutover_connect::Connector;
use cutover_engine::{BackfillOptions, BackfillReport, Mapping, backfill};
use cutover_model::{PlatformKind, RecordKind, Side};
use cutover_plan::plan::init::{InitOptions, render};

use crate::support::{freshdesk_at, freshdesk_sim, move_options, store, zendesk_at, zendesk_sim};

/// A backfill of every kind the plan `init` writes copies (configuration too), with its
/// mapping as written: unmapped groups and fields, roles and rules the target may not take.
async fn run(
    source: &Arc<dyn Connector>,
    target: &Arc<dyn Connector>,
    store: &Arc<dyn cutover_store::Store>,
    urls: [&str; 2],
    dry_run: bool,
) -> BackfillReport {
    let text = render(&InitOptions {
        from: source.platform(),
        to: target.platform(),
        old_url: Some(urls[0].to_owned()),
        new_url: Some(urls[1].to_owned()),
    });
    let plan = cutover_plan::plan::check_str("cutover.toml", &text).unwrap();
    let totals = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = Arc::clone(&totals);
    let options = BackfillOptions {
        kinds: plan.copy.kinds.clone(),
        dry_run,
        progress: cutover_engine::ProgressSink::new(move |event| {
            if event.kind == RecordKind::Ticket {
                seen.lock().unwrap().push(event.total);
            }
        }),
        ..move_options()
    };
    let mapping = Mapping::from_plan(&plan.mapping);
    let report = backfill(
        Arc::clone(store),
        Arc::clone(source),
        Arc::clone(target),
        mapping,
        options,
    )
    .await
    .unwrap();
    // Zendesk says how many tickets it holds: every ticket event carries it, for the ETA.
    let totals = totals.lock().unwrap();
    assert!(
        !totals.is_empty() && totals.iter().all(|t| *t == Some(12)),
        "{totals:?}"
    );
    report
}

/// Per kind: read, created, found, updated, dropped, dead-lettered, waiting.
fn outcomes(report: &BackfillReport) -> Vec<(RecordKind, [u64; 7])> {
    report
        .kinds
        .iter()
        .map(|(kind, c)| {
            let counts = [
                c.read,
                c.created,
                c.found,
                c.updated,
                c.dropped,
                c.dead_lettered,
                c.waiting,
            ];
            (*kind, counts)
        })
        .collect()
}

async fn check(to: PlatformKind) {
    let old = zendesk_sim(31, 12).await;
    let source = zendesk_at(Side::Old, old.url());
    let (new_zendesk, new_freshdesk);
    let (target, new_url) = match to {
        PlatformKind::Freshdesk => {
            new_freshdesk = freshdesk_sim(32, 0).await;
            let url = new_freshdesk.url();
            (freshdesk_at(Side::New, url), url.to_owned())
        }
        _ => {
            new_zendesk = zendesk_sim(32, 0).await;
            let url = new_zendesk.url();
            (zendesk_at(Side::New, url), url.to_owned())
        }
    };
    let urls = [old.url(), new_url.as_str()];
    let (store, _dir) = store().await;
    let dry = run(&source, &target, &store, urls, true).await;
    assert_eq!(
        store.count_links(None).await.unwrap(),
        0,
        "a dry run links nothing"
    );
    let real = run(&source, &target, &store, urls, false).await;
    assert!(
        real.kinds.values().any(|c| c.dead_lettered > 0),
        "the account should hold something the target refuses:\n{}",
        real.summary()
    );
    assert_eq!(
        outcomes(&dry),
        outcomes(&real),
        "zendesk to {to}\ndry run:\n{}\nreal run:\n{}",
        dry.summary(),
        real.summary()
    );
}

#[tokio::test]
async fn a_dry_run_into_freshdesk_counts_what_the_real_run_does() {
    check(PlatformKind::Freshdesk).await;
}

#[tokio::test]
async fn a_dry_run_into_zendesk_counts_what_the_real_run_does() {
    check(PlatformKind::Zendesk).await;
}
