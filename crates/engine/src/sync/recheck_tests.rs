//! The rolling re-check: the window, which records a run takes, what is settled, and how
//! drift is counted.

use super::*;

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::seconds(1_000_000 + secs)
}

fn pair(kind: RecordKind, old: u64, new: Option<u64>) -> Pair {
    Pair {
        kind,
        old_id: PlatformId::from(old),
        new_id: new.map(PlatformId::from),
    }
}

fn changed(kind: RecordKind, old: u64, new: Option<u64>, secs: i64) -> Changed {
    Changed {
        pair: pair(kind, old, new),
        at: at(secs),
    }
}

fn observed(side: Side, changed: Option<i64>) -> Observed {
    Observed {
        side,
        id: PlatformId::from(1),
        updated_at: changed.map(at),
        record: cutover_model::Record::Organization(cutover_model::records::Organization {
            name: "Acme".into(),
            domains: BTreeSet::new(),
            details: None,
            notes: None,
            tags: BTreeSet::new(),
            custom_fields: BTreeMap::new(),
        }),
        origin: None,
    }
}

#[test]
fn a_change_past_the_feed_position_is_on_its_way_not_drift() {
    let positions: Positions = [((Side::Old, RecordKind::Organization), at(100))].into();
    let check = |side, changed| settled(&observed(side, changed), &positions);
    assert!(check(Side::Old, Some(99)));
    // At the position: the feed has read it (a change the feed read past is drift).
    assert!(check(Side::Old, Some(100)));
    assert!(!check(Side::Old, Some(101)));
    // No change time, or a side (or kind) the bridge does not read: compared.
    assert!(check(Side::Old, None));
    assert!(check(Side::New, Some(1_000)));
}

#[test]
fn drift_counts_once_until_repaired_and_waits_while_unread() {
    use RecordKind::Ticket;
    let key = |id: u64| (Ticket, PlatformId::from(id));
    let drifting = |ids: &[u64]| -> BTreeMap<_, _> {
        ids.iter()
            .map(|id| (key(*id), pair(Ticket, *id, Some(100 + id))))
            .collect()
    };
    let none = BTreeSet::new();
    let mut pending = Pending::default();
    assert_eq!(pending.settle(drifting(&[1, 2]), &none, at(0)), (2, 0));
    assert_eq!(pending.carried(at(0)).len(), 2);
    // Still drifting: not found again. Not read this run: not repaired either.
    let unread = BTreeSet::from([key(2)]);
    assert_eq!(pending.settle(drifting(&[1]), &unread, at(10)), (0, 0));
    // Both compared equal: repaired.
    assert_eq!(pending.settle(drifting(&[]), &none, at(20)), (0, 2));
    assert!(pending.carried(at(20)).is_empty());
    // Drift a window old is let go (the scheduled verify's now).
    pending.settle(drifting(&[3]), &none, at(30));
    assert_eq!(pending.carried(at(31)), Vec::<Pair>::new());
}

#[test]
fn the_window_starts_its_length_before_now() {
    let now = at(7200);
    assert_eq!(window_start(now, Duration::from_secs(3600)), at(3600));
    assert_eq!(window_start(now, Duration::ZERO), now);
    // A window longer than time itself starts at the beginning of time.
    assert_eq!(
        window_start(now, Duration::from_secs(u64::MAX)),
        DateTime::<Utc>::MIN_UTC
    );
}

#[test]
fn changes_in_the_window_come_newest_first_each_pair_once() {
    use RecordKind::{Comment, Contact, Ticket};
    let kinds = [Ticket, Contact];
    let changes = vec![
        changed(Ticket, 1, Some(101), 10),
        // Before the window.
        changed(Ticket, 2, Some(102), -1),
        changed(Contact, 3, Some(103), 30),
        // The same ticket, seen on a feed before its link was written, and again later.
        changed(Ticket, 1, None, 5),
        changed(Ticket, 1, Some(101), 40),
        // Not a carried kind.
        changed(Comment, 4, Some(104), 50),
        // At the window's start: in.
        changed(Ticket, 5, None, 0),
    ];
    let picked = select(&[], changes, at(0), &kinds, 10);
    assert_eq!(
        picked,
        [
            pair(Ticket, 1, Some(101)),
            pair(Contact, 3, Some(103)),
            pair(Ticket, 5, None),
        ]
    );
}

#[test]
fn drift_found_before_is_rechecked_first_and_the_limit_holds() {
    use RecordKind::Ticket;
    let pending = [pair(Ticket, 9, Some(109))];
    let changes = vec![
        changed(Ticket, 1, Some(101), 10),
        changed(Ticket, 2, Some(102), 20),
        changed(Ticket, 9, Some(109), 30),
    ];
    let picked = select(&pending, changes.clone(), at(0), &[Ticket], 2);
    assert_eq!(
        picked,
        [pair(Ticket, 9, Some(109)), pair(Ticket, 2, Some(102))]
    );
    // Pending drift is re-checked even past the limit (it is bounded by the window).
    let picked = select(&pending, changes, at(0), &[Ticket], 0);
    assert_eq!(picked, [pair(Ticket, 9, Some(109))]);
    // Nothing changed lately, nothing pending: nothing to read.
    assert!(select(&[], Vec::new(), at(0), &[Ticket], 10).is_empty());
}
