//! Scenarios beside the ten kills, each small: source records edited between a kill and the
//! resume, a resume that must not carry again the files of copies made before the kill, and a
//! dead-letter retry after the plan is fixed. The target answers late and loses answers in each.

use std::collections::BTreeSet;

use cutover_sim::{freshdesk, zendesk};
use cutover_store::DeadLetterFilter;
use serde_json::json;

use super::source::Source;
use super::{
    Leftovers, Move, Target, assert_exactly_once, backfill_killed_when, backfill_until,
    copied_total, counts, http, skip_a_minute,
};

/// Tickets on the source of a small scenario.
const FEW: usize = 24;

/// Verifies the move clean, checks it exactly once, and checks that a further run creates
/// nothing.
async fn ends_clean<S: Source, T: Target>(
    mv: &Move<S, T>,
    before: &std::collections::BTreeMap<String, u64>,
    groups_before: &BTreeSet<String>,
) {
    skip_a_minute(&[mv.old.url(), mv.new.url()]).await;
    let (code, report) = mv.json(&["verify"]).await;
    assert_eq!(code, 0, "verify:\n{report:#}");
    assert_exactly_once(mv, before, groups_before, &Leftovers::default()).await;
    let (code, again) = mv.json(T::BACKFILL).await;
    assert_eq!(code, 0, "{again:#}");
    for (kind, counts) in again["kinds"].as_object().unwrap() {
        assert_eq!(
            counts["created"],
            json!(0),
            "{kind} created again: {again:#}"
        );
    }
}

/// Killed three times while tickets are copied; between kills, tickets whose copies the killed
/// run made (not linked yet) are edited on the source, one of them given another requester. The
/// resumed runs find those copies by what was sent and bring them up to date: verify is clean.
async fn edited_between_kill_and_resume<S: Source, T: Target>(postgres: bool, seed: u64) {
    let mv = Move::<S, T>::new(postgres, seed, FEW).await;
    let before = counts(&mv.new).await;
    let groups_before = mv.target_groups().await;
    let base = copied_total(&mv.new);
    let all = copied_total(&mv.old);
    let mut edited = 0;
    for share in [5, 7, 9] {
        if !backfill_until(&mv, base, all * share / 10).await {
            break;
        }
        let copied = T::copies(&mv.new).await;
        // Edits land a minute later than the run that was killed (an export leaves out its last
        // minute, so edits made at once would not be read yet); both platforms' clocks move.
        skip_a_minute(&[mv.old.url(), mv.new.url()]).await;
        let mut candidates = Vec::new();
        for id in copied.iter().rev() {
            if S::editable(&mv.old, id).await {
                candidates.push(id.clone());
            }
        }
        for (n, id) in candidates.iter().take(3).enumerate() {
            // The first edited ticket changes hands: its copy is still found by what was sent.
            // Not into Freshdesk, where a ticket's description is its requester's: a new
            // requester there rewrites the author of a comment copied already.
            let now = S::requester(&mv.old, id).await;
            let hands = n == 0 && T::PLATFORM == "zendesk";
            let other = mv.twins.iter().find(|t| hands && **t != now);
            S::edit_ticket(&mv.old, id, other.map(String::as_str)).await;
            edited += 1;
        }
    }
    assert!(
        edited > 0,
        "no copied ticket was there to edit after a kill"
    );
    // Time goes on: Zendesk's export leaves out the last minute, as the real one does.
    skip_a_minute(&[mv.old.url(), mv.new.url()]).await;
    let (code, report) = mv.json(T::BACKFILL).await;
    assert_eq!(code, 0, "the last resume:\n{report:#}");
    ends_clean(&mv, &before, &groups_before).await;
}

/// Killed once every ticket has its copy (before the page that links them commits): the resume
/// finds those copies through their intents and carries none of their files again. Into
/// Zendesk, where files are uploads of their own, the uploads of the resume are counted.
async fn resume_carries_nothing_twice<S: Source>(postgres: bool, seed: u64) {
    let mv = Move::<S, zendesk::App>::new(postgres, seed, FEW).await;
    // Answers are not lost here: a lost upload answer is uploaded again, by design.
    let set = http()
        .put(format!("{}/_sim/faults", mv.new.url()))
        .json(&json!({"late": true}))
        .send()
        .await
        .unwrap();
    assert!(set.status().is_success());
    let before = counts(&mv.new).await;
    let groups_before = mv.target_groups().await;
    // Killed as the last tickets are copied: every other copy is made, none is linked yet (a
    // page's links commit when the page is done).
    let tickets = S::ticket_ids(&mv.old).len();
    let nearly_all = || mv.new.state().ticket_ids().len() + 2 >= tickets;
    let killed = backfill_killed_when(&mv, nearly_all).await;
    assert!(killed, "the run ended before it could be killed");
    let copied = zendesk::App::copies(&mv.new).await;
    let mut files_left = 0;
    for id in S::ticket_ids(&mv.old) {
        if !copied.contains(&id) {
            files_left += S::comments(&mv.old, &id)
                .await
                .iter()
                .map(|(_, files)| files.len())
                .sum::<usize>() as u64;
        }
    }
    let uploads = |counts: &std::collections::BTreeMap<String, u64>| {
        counts.get("uploaded_attachments").copied().unwrap_or(0)
    };
    let at_kill = uploads(&counts(&mv.new).await);
    let (code, report) = mv.json(zendesk::App::BACKFILL).await;
    assert_eq!(code, 0, "the resume:\n{report:#}");
    let resumed = uploads(&counts(&mv.new).await) - at_kill;
    assert!(
        resumed <= files_left,
        "the resume uploaded {resumed} files; only {files_left} belong to tickets that had no copy at the kill"
    );
    ends_clean(&mv, &before, &groups_before).await;
}

/// A group appears on the source after the plan was written, and tickets move into it: a
/// backfill told to go on with the rest (`--allow-unmapped`) leaves the group and what refers to
/// it in the dead letters. Once the plan decides the group (`plan refresh`, the inventory's hint
/// followed), `cutover deadletters retry` applies every letter as a backfill would (tickets with
/// their comments and files), and verify is clean.
async fn retried_after_a_plan_fix<S: Source, T: Target>(postgres: bool, seed: u64) {
    let mv = Move::<S, T>::new(postgres, seed, FEW).await;
    let before = counts(&mv.new).await;
    let groups_before = mv.target_groups().await;
    let moved = S::new_group(&mv.old, "Cutover retry test", 4).await;
    assert!(!moved.is_empty(), "no ticket could move into the new group");
    skip_a_minute(&[mv.old.url(), mv.new.url()]).await;
    let mut backfill = T::BACKFILL.to_vec();
    backfill.push("--allow-unmapped");
    let (code, report) = mv.json(&backfill).await;
    assert_eq!(code, 0, "the backfill with a group unmapped:\n{report:#}");
    let store = cutover_store::open(&mv.backend.url()).await.unwrap();
    let all = DeadLetterFilter {
        limit: 100_000,
        ..DeadLetterFilter::default()
    };
    let letters = store.dead_letters(&all).await.unwrap();
    let tickets: BTreeSet<String> = letters
        .iter()
        .filter(|l| l.kind.to_string() == "ticket")
        .map(|l| l.source_id.to_string())
        .collect();
    assert!(
        moved.iter().all(|id| tickets.contains(id)),
        "the tickets moved into the new group should wait for it: {letters:#?}"
    );
    // The fix: the plan learns the group and decides it, as the hints say.
    let (code, out, err) = mv.cutover(&["plan", "refresh"]).await;
    assert_eq!(code, 0, "refresh:\n{out}\n{err}");
    assert!(out.contains("Cutover retry test"), "refresh:\n{out}");
    let (code, inventory) = mv.json(&["inventory"]).await;
    assert_eq!(code, 0, "{inventory:#}");
    crate::plans::follow_hints(&mv.dir.path().join("cutover.toml"), &inventory);
    let (code, out, err) = mv.cutover(&["plan", "check"]).await;
    assert_eq!(code, 0, "the fixed plan:\n{out}\n{err}");
    let (code, out, err) = mv.cutover(&["deadletters", "retry"]).await;
    assert_eq!(code, 0, "retry:\n{out}\n{err}");
    let left = store.dead_letters(&all).await.unwrap();
    assert!(
        left.is_empty(),
        "dead letters left after the retry: {left:#?}"
    );
    store.close().await;
    ends_clean(&mv, &before, &groups_before).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_edited_between_kill_and_resume_end_verified_zendesk_to_zendesk_on_postgres() {
    edited_between_kill_and_resume::<zendesk::App, zendesk::App>(true, 101).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_edited_between_kill_and_resume_end_verified_zendesk_to_freshdesk_on_sqlite() {
    edited_between_kill_and_resume::<zendesk::App, freshdesk::App>(false, 103).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_edited_between_kill_and_resume_end_verified_freshdesk_to_zendesk_on_postgres() {
    edited_between_kill_and_resume::<freshdesk::App, zendesk::App>(true, 107).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_uploads_no_file_of_a_copy_made_before_the_kill_zendesk_on_sqlite() {
    resume_carries_nothing_twice::<zendesk::App>(false, 109).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_uploads_no_file_of_a_copy_made_before_the_kill_freshdesk_on_postgres() {
    resume_carries_nothing_twice::<freshdesk::App>(true, 113).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_retry_after_a_plan_fix_ends_verified_zendesk_to_freshdesk_on_sqlite() {
    retried_after_a_plan_fix::<zendesk::App, freshdesk::App>(false, 127).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_retry_after_a_plan_fix_ends_verified_freshdesk_to_zendesk_on_postgres() {
    retried_after_a_plan_fix::<freshdesk::App, zendesk::App>(true, 131).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_retry_after_a_plan_fix_ends_verified_zendesk_to_zendesk_on_sqlite() {
    retried_after_a_plan_fix::<zendesk::App, zendesk::App>(false, 137).await;
}
