//! Live work first (issue 13, item 8): `cutover serve` claims its part of each platform's budget
//! in the store; a verify run beside it says it leaves the bridge that part, and takes its whole
//! share once serve has stopped.

use std::time::Duration;

use cutover_sim::{freshdesk, zendesk};

use crate::bridge::{Bridge, read};

const CLAIMED: &str = "side's budget: the bridge claims";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_verify_beside_the_bridge_leaves_it_the_budget_it_claims() {
    beside_the_bridge(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_verify_beside_the_bridge_leaves_it_the_budget_it_claims_on_postgres() {
    beside_the_bridge(true).await;
}

async fn beside_the_bridge(postgres: bool) {
    let mv = Bridge::<zendesk::App, freshdesk::App>::backfilled_with(postgres, 10).await;
    let served = mv.serve(0).await;
    let mut status = String::new();
    for _ in 0..60 {
        status = mv.expect(0, &["sync", "status"]).await;
        if status.contains(&format!("old {CLAIMED}")) && status.contains(&format!("new {CLAIMED}"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        status.contains(&format!("old {CLAIMED}")) && status.contains(&format!("new {CLAIMED}")),
        "no claim in `sync status` within 15 s:\n{status}\n--- serve log\n{}",
        read(&served.log)
    );

    let (code, _, stderr) = mv.cutover(&["verify"]).await;
    assert!(code == 0 || code == 1, "verify failed:\n{stderr}");
    for side in ["old", "new"] {
        assert!(
            stderr
                .lines()
                .any(|l| l.contains("leaving it")
                    && l.contains(&format!("the {side} side's budget"))),
            "verify did not yield the {side} side's claim:\n{stderr}"
        );
    }

    // serve stops: its claims go with it, and verify takes its whole share.
    served.terminate().await;
    let status = mv.expect(0, &["sync", "status"]).await;
    assert!(!status.contains(CLAIMED), "{status}");
    let (code, _, stderr) = mv.cutover(&["verify"]).await;
    assert!(code == 0 || code == 1, "verify failed:\n{stderr}");
    assert!(!stderr.contains("leaving it"), "{stderr}");
}
