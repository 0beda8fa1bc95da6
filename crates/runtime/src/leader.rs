//! Leadership: of several `cutover serve` processes on one store, one leads. The leader holds a
//! lease in the store ([`cutover_store::Store::try_lease`], timed by the database's clock) and
//! runs the work only one process may do (the bridge, its claims, the scheduled verify and the
//! re-check, later the switch driver); every process serves HTTP.
//!
//! [`lead`] takes the lease when it is free and renews it every [`LeaderConfig::renew_every`];
//! its [`Role`] goes out on a watch channel. A leader that cannot renew steps down once
//! [`LeaderConfig::ttl`] less [`LeaderConfig::margin`] has passed since its last renewal
//! started: before the lease lapses in the store and another may take it, so two leaders never
//! work at once (fencing by time; each tenure also has its own token). A follower tries every
//! [`LeaderConfig::follow_every`], so it leads within `ttl + follow_every` of the leader's death
//! (7 s by default), at once after a clean stop ([`release`]).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use cutover_store::{Backend, Lease, Store};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The lease `cutover serve`'s leader holds.
pub const SERVE_LEASE: &str = "serve";

/// How the lease is held.
#[derive(Debug, Clone)]
pub struct LeaderConfig {
    /// The lease's name ([`SERVE_LEASE`]).
    pub name: String,
    /// Who this process is, as the lease and the API show it (host, process id and a nonce:
    /// [`holder_id`]).
    pub holder: String,
    /// How long a lease lives unless renewed.
    pub ttl: Duration,
    /// How often the leader renews it.
    pub renew_every: Duration,
    /// How often a follower tries to take it.
    pub follow_every: Duration,
    /// How long before its lease lapses a leader that could not renew stops its work.
    pub margin: Duration,
}

impl LeaderConfig {
    /// The defaults for `holder`: a 6 s lease renewed every 2 s, tried every second by a
    /// follower, given up 1.5 s before it lapses.
    pub fn new(holder: impl Into<String>) -> Self {
        LeaderConfig {
            name: SERVE_LEASE.to_owned(),
            holder: holder.into(),
            ttl: Duration::from_secs(6),
            renew_every: Duration::from_secs(2),
            follow_every: Duration::from_secs(1),
            margin: Duration::from_millis(1500),
        }
    }
}

/// What this process is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// Another process leads, or none does yet (this one tries again soon).
    Follower,
    /// This process leads: its lease's fencing token, and since when it leads.
    Leader {
        /// The tenure's fencing token.
        token: i64,
        /// When this tenure started, by the database's clock.
        since: DateTime<Utc>,
    },
}

impl Role {
    /// Whether this process leads.
    pub fn is_leader(&self) -> bool {
        matches!(self, Role::Leader { .. })
    }

    /// The fencing token of this process's tenure, while it leads.
    pub fn token(&self) -> Option<i64> {
        match self {
            Role::Leader { token, .. } => Some(*token),
            Role::Follower => None,
        }
    }
}

/// A holder id for this process: host name, process id and a random nonce (two processes on
/// one host, or a restarted one, are told apart).
pub fn holder_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
                .filter(|h| !h.is_empty())
        })
        .unwrap_or_else(|| "host".to_owned());
    let nonce: u32 = {
        use std::hash::{BuildHasher, Hasher};
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos(),
        );
        // Truncated on purpose: eight hex digits tell restarts apart.
        #[expect(clippy::cast_possible_truncation, reason = "a nonce needs no more")]
        let nonce = hasher.finish() as u32;
        nonce
    };
    format!("{host}/{}/{nonce:08x}", std::process::id())
}

/// Holds the lease until `shutdown` is cancelled, sending this process's [`Role`] on `role`
/// at every change. Does not release the lease at the end: the caller stops the leader's work
/// first, then calls [`release`].
pub async fn lead(
    store: Arc<dyn Store>,
    config: LeaderConfig,
    role: watch::Sender<Role>,
    shutdown: CancellationToken,
) {
    let mut leading: Option<(i64, Instant)> = None; // token, local deadline to stop by
    let mut seen_leader: Option<String> = None;
    let keep = config.ttl.saturating_sub(config.margin);
    loop {
        let started = Instant::now();
        // A leader waits for the store no longer than its deadline.
        let wait = match leading {
            Some((_, deadline)) => deadline
                .saturating_duration_since(started)
                .min(config.renew_every),
            None => config.renew_every,
        };
        let attempt = tokio::select! {
            () = shutdown.cancelled() => break,
            attempt = tokio::time::timeout(
                wait.max(Duration::from_millis(10)),
                store.try_lease(&config.name, &config.holder, config.ttl),
            ) => attempt,
        };
        match attempt {
            Ok(Ok(Some(lease))) => {
                let deadline = started + keep;
                match leading {
                    Some((token, _)) if token == lease.token => {
                        leading = Some((token, deadline));
                    }
                    previous => {
                        if previous.is_some() {
                            tracing::warn!(
                                token = lease.token,
                                "The lease lapsed before it was renewed: this process's leader work restarts under a new token."
                            );
                            role.send_replace(Role::Follower);
                        }
                        tracing::info!(holder = %config.holder, token = lease.token, "This process leads: it runs the bridge and the other leader-only work.");
                        leading = Some((lease.token, deadline));
                        seen_leader = None;
                        role.send_replace(Role::Leader {
                            token: lease.token,
                            since: lease.since,
                        });
                    }
                }
            }
            Ok(Ok(None)) => {
                if leading.take().is_some() {
                    tracing::warn!(
                        "Another process took the lease: this one stops its leader work and follows."
                    );
                    role.send_replace(Role::Follower);
                } else if reclaim_from_the_dead(store.as_ref(), &config).await {
                    // The holder was a dead process of this host: try again at once.
                    continue;
                }
                announce_follower(store.as_ref(), &config, &mut seen_leader).await;
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "Could not take or renew the lease.");
            }
            Err(_) => {
                tracing::warn!("The store did not answer in time to renew the lease.");
            }
        }
        if let Some((_, deadline)) = leading
            && Instant::now() >= deadline
        {
            tracing::error!(
                "The lease could not be renewed in time: this process stops its leader work before another may take over."
            );
            leading = None;
            role.send_replace(Role::Follower);
        }
        let every = if leading.is_some() {
            config.renew_every
        } else {
            config.follow_every
        };
        let next = match leading {
            Some((_, deadline)) => (started + every).min(deadline),
            None => started + every,
        };
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep_until(next) => {}
        }
    }
    if leading.is_some() {
        role.send_replace(Role::Follower);
    }
}

/// Whether a holder id (as [`holder_id`] makes them) names a process of this host that is no
/// longer running. Only a process of this host can be known dead (its id is gone from
/// `/proc`); a reused process id reads as alive, which only means waiting out the lease.
fn dead_here(holder: &str, me: &str) -> bool {
    let mut theirs = holder.split('/');
    let mut mine = me.split('/');
    let (Some(host), Some(pid)) = (theirs.next(), theirs.next()) else {
        return false;
    };
    if mine.next() != Some(host) || pid.parse::<u32>().is_err() {
        return false;
    }
    let proc_root = std::path::Path::new("/proc");
    proc_root.join("self").exists() && !proc_root.join(pid).exists()
}

/// Lets the lease of a dead process of this host lapse now (a `cutover serve` killed and
/// restarted, whose lease would otherwise hold the bridge back for up to its ttl). Answers
/// whether it did.
async fn reclaim_from_the_dead(store: &dyn Store, config: &LeaderConfig) -> bool {
    let Ok(Some(lease)) = store.lease(&config.name).await else {
        return false;
    };
    if lease.holder == config.holder || !dead_here(&lease.holder, &config.holder) {
        return false;
    }
    match store.release_lease(&config.name, &lease.holder).await {
        Ok(released) => {
            if released {
                tracing::info!(previous = %lease.holder, "The lease's holder was a process of this host that is no longer running: taking over at once.");
            }
            released
        }
        Err(e) => {
            tracing::warn!(error = %e, "Could not let a dead process's lease go.");
            false
        }
    }
}

/// Says once, when the leader changes, who leads and what this process does meanwhile.
async fn announce_follower(store: &dyn Store, config: &LeaderConfig, seen: &mut Option<String>) {
    let current: Option<Lease> = store.lease(&config.name).await.ok().flatten();
    let Some(lease) = current else { return };
    if seen.as_deref() == Some(lease.holder.as_str()) {
        return;
    }
    if store.backend() == Backend::Sqlite {
        tracing::warn!(leader = %lease.holder, "Another cutover serve runs the bridge on this SQLite file: this one only serves HTTP (webhooks it accepts are kept for the leader) and takes over if that one stops. Run one serve per SQLite file; for two, use PostgreSQL.");
    } else {
        tracing::info!(leader = %lease.holder, "Another cutover serve leads: this one serves HTTP (webhooks it accepts are kept for the leader) and takes over within seconds if that one stops.");
    }
    *seen = Some(lease.holder);
}

/// Lets the lease lapse at once after a clean stop, so another process takes over without
/// waiting for it to expire. Call it once the leader's work has stopped.
pub async fn release(store: &dyn Store, config: &LeaderConfig) {
    match store.release_lease(&config.name, &config.holder).await {
        Ok(true) => tracing::info!("Lease released: another cutover serve may lead at once."),
        Ok(false) => {}
        Err(e) => {
            tracing::warn!(error = %e, "Could not release the lease; another process takes over once it lapses.");
        }
    }
}

/// Runs the leader-only work while this process leads: `start` builds it for each tenure, given
/// the tenure's fencing token (to [`cutover_store::Fence::hold`] before the work writes) and
/// the stop token every future ends on, cancelled at once when the lease is lost and
/// when `shutdown` is. Returns when `shutdown` is cancelled (after the work stopped), or with
/// the first error of the work (which then is stopped too).
pub async fn while_leading<E, F>(
    mut role: watch::Receiver<Role>,
    shutdown: CancellationToken,
    mut start: F,
) -> Result<(), E>
where
    F: FnMut(
        i64,
        CancellationToken,
    ) -> Vec<futures::future::LocalBoxFuture<'static, Result<(), E>>>,
{
    use futures::StreamExt as _;
    loop {
        // Wait to lead.
        let tenure = loop {
            if let Some(token) = role.borrow_and_update().token() {
                break token;
            }
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                changed = role.changed() => {
                    if changed.is_err() {
                        return Ok(());
                    }
                }
            }
        };
        let stop = shutdown.child_token();
        let mut work: futures::stream::FuturesUnordered<_> =
            start(tenure, stop.clone()).into_iter().collect();
        let mut failed: Option<E> = None;
        // Run until the lease is lost, shutdown, or a task fails; then stop the rest.
        loop {
            tokio::select! {
                next = work.next() => match next {
                    None => break,
                    Some(Ok(())) => {}
                    Some(Err(e)) => {
                        failed = Some(e);
                        stop.cancel();
                    }
                },
                changed = role.changed(), if !stop.is_cancelled() => {
                    // Another tenure (the lease lapsed and was taken again) is a loss too:
                    // another process may have led in between.
                    if changed.is_err() || role.borrow_and_update().token() != Some(tenure) {
                        tracing::warn!("No longer the leader: stopping the leader-only work.");
                        stop.cancel();
                    }
                }
            }
        }
        if let Some(e) = failed {
            return Err(e);
        }
        if shutdown.is_cancelled() {
            return Ok(());
        }
        // The work ended on its own while leading: it starts again only with a new tenure.
        while !stop.is_cancelled() && role.borrow_and_update().token() == Some(tenure) {
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                changed = role.changed() => {
                    if changed.is_err() {
                        return Ok(());
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_gone_process_of_this_host_is_dead() {
        let me = holder_id();
        let host = me.split('/').next().unwrap_or_default().to_owned();
        // This process is alive.
        assert!(!dead_here(&me, &me));
        // Process ids are below 2^22 on Linux: this one runs nowhere.
        assert!(dead_here(&format!("{host}/4194999/00000000"), &me));
        // Another host's process cannot be known dead from here.
        assert!(!dead_here("elsewhere/4194999/00000000", &me));
        assert!(!dead_here("garbage", &me));
    }

    fn quick(holder: &str) -> LeaderConfig {
        LeaderConfig {
            ttl: Duration::from_millis(900),
            renew_every: Duration::from_millis(200),
            follow_every: Duration::from_millis(100),
            margin: Duration::from_millis(300),
            ..LeaderConfig::new(holder)
        }
    }

    async fn wait_for(role: &mut watch::Receiver<Role>, leader: bool, within: Duration) {
        tokio::time::timeout(within, role.wait_for(|r| r.is_leader() == leader))
            .await
            .unwrap()
            .unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_of_two_leads_and_the_other_takes_over_when_it_stops() {
        let dir = tempfile::tempdir().unwrap();
        let url = cutover_store::StoreUrl::sqlite(dir.path().join("cutover.db"));
        let store = cutover_store::open(&url).await.unwrap();
        let (a, b) = (quick("a"), quick("b"));
        let (a_tx, mut a_rx) = watch::channel(Role::Follower);
        let a_stop = CancellationToken::new();
        let a_run = tokio::spawn(lead(store.clone(), a.clone(), a_tx, a_stop.clone()));
        wait_for(&mut a_rx, true, Duration::from_secs(2)).await;
        let (b_tx, mut b_rx) = watch::channel(Role::Follower);
        let b_stop = CancellationToken::new();
        let b_run = tokio::spawn(lead(store.clone(), b.clone(), b_tx, b_stop.clone()));
        // b follows while a renews, well past one lease's life.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(!b_rx.borrow().is_leader());
        assert!(a_rx.borrow().is_leader());
        let Role::Leader { token: a_token, .. } = a_rx.borrow().clone() else {
            panic!("a leads")
        };
        // a dies without a word: b leads once the lease lapses, with a raised token.
        a_stop.cancel();
        let died = Instant::now();
        a_run.await.unwrap();
        wait_for(&mut b_rx, true, Duration::from_secs(3)).await;
        let took = died.elapsed();
        assert!(took >= Duration::from_millis(300), "{took:?}");
        assert!(took <= Duration::from_millis(1500), "{took:?}");
        let Role::Leader { token, .. } = b_rx.borrow().clone() else {
            panic!("b leads")
        };
        assert!(token > a_token);
        // b stops cleanly and releases: a new a takes over at once.
        b_stop.cancel();
        b_run.await.unwrap();
        release(store.as_ref(), &b).await;
        let (a_tx, mut a_rx) = watch::channel(Role::Follower);
        let a_stop = CancellationToken::new();
        let started = Instant::now();
        let a_run = tokio::spawn(lead(store.clone(), a, a_tx, a_stop.clone()));
        wait_for(&mut a_rx, true, Duration::from_secs(2)).await;
        assert!(started.elapsed() < Duration::from_millis(300));
        a_stop.cancel();
        a_run.await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_leader_that_cannot_renew_steps_down_before_its_lease_lapses() {
        let dir = tempfile::tempdir().unwrap();
        let url = cutover_store::StoreUrl::sqlite(dir.path().join("cutover.db"));
        let store = cutover_store::open(&url).await.unwrap();
        let watcher = cutover_store::open(&url).await.unwrap();
        let (tx, mut rx) = watch::channel(Role::Follower);
        let stop = CancellationToken::new();
        let running = tokio::spawn(lead(store.clone(), quick("a"), tx, stop.clone()));
        wait_for(&mut rx, true, Duration::from_secs(2)).await;
        // The store goes away under the leader: no renewal can succeed.
        store.close().await;
        wait_for(&mut rx, false, Duration::from_secs(2)).await;
        // It stepped down while its lease still held: nobody else could have led yet.
        let lease = watcher.lease(SERVE_LEASE).await.unwrap().unwrap();
        assert!(!lease.expired, "{lease:?}");
        stop.cancel();
        running.await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn leader_work_runs_only_while_leading() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (role_tx, role_rx) = watch::channel(Role::Follower);
        let shutdown = CancellationToken::new();
        let started = Arc::new(AtomicUsize::new(0));
        let running = Arc::new(AtomicUsize::new(0));
        let (s, r) = (started.clone(), running.clone());
        // The supervisor's futures are not `Send`: it runs on this task, beside the driver.
        let supervisor = while_leading::<(), _>(role_rx, shutdown.clone(), move |_, stop| {
            s.fetch_add(1, Ordering::SeqCst);
            let r = r.clone();
            vec![Box::pin(async move {
                r.fetch_add(1, Ordering::SeqCst);
                stop.cancelled().await;
                r.fetch_sub(1, Ordering::SeqCst);
                Ok(())
            })]
        });
        let driver = async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert_eq!(started.load(Ordering::SeqCst), 0);
            let since = Utc::now();
            role_tx.send_replace(Role::Leader { token: 1, since });
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert_eq!(running.load(Ordering::SeqCst), 1);
            role_tx.send_replace(Role::Follower);
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert_eq!(running.load(Ordering::SeqCst), 0);
            role_tx.send_replace(Role::Leader { token: 2, since });
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert_eq!(
                (
                    started.load(Ordering::SeqCst),
                    running.load(Ordering::SeqCst)
                ),
                (2, 1)
            );
            // A new tenure without a follower's turn seen in between: the work restarts.
            role_tx.send_replace(Role::Leader { token: 3, since });
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert_eq!(
                (
                    started.load(Ordering::SeqCst),
                    running.load(Ordering::SeqCst)
                ),
                (3, 1)
            );
            shutdown.cancel();
        };
        let (result, ()) = tokio::join!(supervisor, driver);
        result.unwrap();
        assert_eq!(running.load(Ordering::SeqCst), 0);
    }
}
