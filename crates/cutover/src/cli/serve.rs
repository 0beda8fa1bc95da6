//! `cutover serve`: the one long-running process. Today it runs the two-way bridge and its
//! webhook intake, the inbound gateway (`/gateway/{channel}`) and its delivery worker, `/healthz`, `/metrics` and the control-plane API (`/api/v1/`), the bridge's claims on each platform's budget, the
//! rolling re-check of the records changed lately (`[sync] recheck_every`) and the scheduled
//! verify (`[sync] verify_every`), whose drift the bridge repairs; it stops on SIGINT or
//! SIGTERM.
//!
//! Several `cutover serve` processes may share one store (PostgreSQL): every one serves HTTP,
//! and the one holding the lease (`cutover_runtime::leader`) runs the leader-only work, which
//! [`LeaderWork::tasks`] builds (one line per task), started when the lease is won and stopped
//! at once when it is lost. A webhook a follower accepts is kept in the store for the leader. A
//! clean stop releases the lease, so another process takes over at once.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use clap::Args;
use cutover_connect::{Connector, RateBudget, WebhookSecret};
use cutover_engine::sync::{Bridge, BridgeOptions};
use cutover_model::Side;
use cutover_runtime::{LeaderConfig, Role};
use cutover_server::AppState;
use cutover_server::api::ApiState;
use cutover_server::leader::LeaderView;
use cutover_store::Store;
use futures::future::LocalBoxFuture;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::backfill::Setup;
use crate::context::Context;
use anyhow::Context as _;

use crate::exit::{Class, Outcome, fail};

/// Options of `cutover serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Where to listen for webhooks, `/healthz`, `/metrics` and the API under `/api/v1/` (port
    /// 0: any free port, printed on standard output once listening).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Confirms that the requester e-mail notifications are switched off on each platform the
    /// bridge writes into whose API cannot switch them off (Freshdesk: Admin > Email
    /// Notifications), as `notifications_off = true` under [sync] in the plan does; without
    /// either, the bridge does not start (it would e-mail customers a second time).
    #[arg(long)]
    pub notifications_off: bool,
    /// Rehearsal: the continuity monitor watches as if it were TIME (RFC 3339) when serve
    /// starts, its clock running --monitor-speed times real time from there. For traffic played
    /// in simulated time (`cutover sim traffic --platform-clock`); the bridge is not affected.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub monitor_from: Option<chrono::DateTime<chrono::Utc>>,
    /// Rehearsal: the monitor's clock runs this many times real time (300 watches an hour in
    /// 12 s; alerts are still evaluated every `[monitor] every` of real time).
    #[arg(long, value_name = "FACTOR", value_parser = parse_speed)]
    pub monitor_speed: Option<f64>,
    /// Writers of the gateway's keeper: each takes the contacts waiting and commits them in
    /// one transaction before they are answered. Default 4 on PostgreSQL (batches commit side
    /// by side), 1 on SQLite (which commits one transaction at a time).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub gateway_writers: Option<u16>,
}

fn parse_time(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.to_utc())
        .map_err(|e| format!("time {text:?}: {e} (expected RFC 3339, e.g. 2026-04-06T10:00:00Z)"))
}

fn parse_speed(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(f) if f.is_finite() && f > 0.0 => Ok(f),
        _ => Err(format!("speed {text:?} is not a positive number")),
    }
}

/// The monitor's clock: real time, or the rehearsal's simulated time.
fn monitor_clock(args: &ServeArgs) -> cutover_runtime::clock::MonitorClock {
    match (args.monitor_from, args.monitor_speed) {
        (None, None) => cutover_runtime::clock::MonitorClock::real(),
        (from, speed) => {
            let clock = cutover_runtime::clock::MonitorClock::simulated(
                from.unwrap_or_else(chrono::Utc::now),
                speed.unwrap_or(1.0),
            );
            tracing::warn!(
                now = %clock.now(),
                speed = speed.unwrap_or(1.0),
                "The monitor runs on a simulated clock (a rehearsal)."
            );
            clock
        }
    }
}

/// Runs `cutover serve`.
pub(crate) async fn run(ctx: &Context, args: ServeArgs) -> anyhow::Result<Outcome> {
    let setup = Setup::open(ctx).await?;
    let plan_digest = Setup::plan_digest(ctx)?;
    let (old, new) = setup.connectors()?;
    let written: Vec<(Side, &dyn cutover_connect::Connector)> =
        cutover_engine::sync::written_sides(&setup.plan)
            .into_iter()
            .map(|side| match side {
                Side::Old => (side, old.as_ref()),
                Side::New => (side, new.as_ref()),
            })
            .collect();
    cutover_engine::sync::notifications_gate(
        &written,
        setup.plan.sync.notifications_off || args.notifications_off,
    )?;
    // Whether each side written into keeps the bridge's writes quiet (Zendesk's triggers): the
    // connector says it in the log, and writes bridged public replies public only if so.
    for (side, connector) in &written {
        if let Err(e) = connector.check_quiet().await {
            tracing::warn!(%side, error = %e, "Could not check that the bridge's writes e-mail nobody: public replies bridged there are written as private notes");
        }
    }
    let secret = match &setup.plan.sync.webhook_secret_env {
        Some(name) => std::env::var(name.as_str()).ok().map(WebhookSecret::new),
        None => None,
    };
    if secret.is_none() {
        tracing::warn!(
            "No webhook secret (plan [sync] webhook_secret_env): every delivery is refused; changes arrive by polling only."
        );
    }
    let options = BridgeOptions::from_plan(&setup.plan);
    let mapping = cutover_engine::Mapping::for_plan(&setup.plan);
    // The scheduled verify and the rolling re-check read through connectors of their own,
    // which leave the bridge its claim on each platform's budget.
    let (verify_old, verify_new) = setup.connectors()?;
    // The API retries a dead letter with the applier of the side it was read from.
    let mut retry = std::collections::BTreeMap::new();
    for (from, source, target) in [(Side::Old, &old, &new), (Side::New, &new, &old)] {
        let applier = cutover_engine::Applier::new(
            setup.store.clone(),
            source.clone(),
            target.clone(),
            mapping.clone(),
            false,
        )
        .copying(&setup.plan.copy.kinds);
        retry.insert(from, std::sync::Arc::new(applier));
    }
    let api = ApiState {
        store: setup.store.clone(),
        plan: std::sync::Arc::new(setup.plan.clone()),
        plan_digest: plan_digest.clone(),
        waves: waves_json(&setup.plan),
        retry,
    };
    // The inbound gateway: contacts kept by the server, delivered by a worker of their own
    // (on every serve process: workers claim each contact under a lease).
    let gateway_metrics = Arc::new(cutover_runtime::gateway::GatewayMetrics::default());
    let gateway = cutover_server::gateway::GatewayState::new(
        setup.store.clone(),
        &setup.plan.channels,
        &setup.plan.waves,
        gateway_metrics.clone(),
        args.gateway_writers.map(usize::from),
        |name| std::env::var(name).ok(),
    );
    let delivery = cutover_runtime::gateway::DeliveryWorker::for_plan(
        setup.store.clone(),
        setup.connector(Side::Old)?,
        setup.connector(Side::New)?,
        &setup.plan,
        gateway_metrics,
    );
    let store = setup.store.clone();
    // The leader's work writes through a fenced handle: once another process takes the lease,
    // a write of this one (the bridge's, a switch step, a routing change) is refused in the
    // store itself, whatever it was doing when the lease went.
    let fence = cutover_store::Fence::new(cutover_runtime::leader::SERVE_LEASE);
    let leader_store = setup.store.fenced(fence.clone());
    let options = BridgeOptions {
        intake: Some(setup.store.clone()),
        ..options
    };
    let bridge = Arc::new(Bridge::new(
        leader_store.clone(),
        old.clone(),
        new.clone(),
        mapping.clone(),
        secret,
        options,
    ));
    let work = LeaderWork {
        store: leader_store.clone(),
        bridge: bridge.clone(),
        new: new.clone(),
        claims: vec![(Side::Old, old.budget()), (Side::New, new.budget())],
        verify_budgets: vec![
            (Side::Old, verify_old.budget()),
            (Side::New, verify_new.budget()),
        ],
        rechecker: cutover_engine::sync::recheck::Rechecker {
            store: leader_store.clone(),
            old: verify_old.clone(),
            new: verify_new.clone(),
            mapping: mapping.clone(),
            copied: setup.plan.copy.kinds.clone(),
        },
        recheck_config: cutover_engine::sync::recheck::RecheckConfig {
            every: setup.plan.sync.recheck_every.get(),
            window: setup.plan.sync.recheck_window.get(),
            limit: cutover_engine::sync::recheck::DEFAULT_LIMIT,
        },
        verify_old,
        verify_new,
        mapping,
        kinds: setup.plan.copy.kinds.clone(),
        verify_every: setup.plan.sync.verify_every.get(),
        plan_digest: plan_digest.clone(),
        switch: cutover_runtime::switch::SwitchConfig {
            waves: setup.plan.waves.clone(),
            timeout: setup.plan.sync.switch_timeout.get(),
            old: setup.plan.old.platform,
            new: setup.plan.new.platform,
        },
        mover_old: setup.connector(Side::Old)?,
        mover_new: setup.connector(Side::New)?,
        probers: cutover_runtime::probe::Probers {
            old: setup.connector(Side::Old)?,
            new: setup.connector(Side::New)?,
        },
        plan: setup.plan.clone(),
        plan_path: ctx.plan_path.clone(),
        pager: cutover_runtime::paging::Pager::new(pager_config(&setup.plan.monitor)?),
        monitor_clock: monitor_clock(&args),
    };
    // Leadership: of the `cutover serve` processes on this store, the one holding the lease
    // runs the leader's work; every one serves HTTP.
    let leading = LeaderConfig::new(cutover_runtime::leader::holder_id());
    let (role_tx, role_rx) = watch::channel(Role::Follower);
    let state = AppState {
        bridge: bridge.handle(),
        api,
        leader: LeaderView {
            lease: leading.name.clone(),
            holder: leading.holder.clone(),
            role: role_rx.clone(),
        },
        gateway,
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| {
            fail(
                Class::Config,
                format!(
                    "listen on {}: {e}; pass another address with `--listen 127.0.0.1:PORT`",
                    args.listen
                ),
            )
        })?;
    let local = listener.local_addr()?;
    println!("cutover serve listening on http://{local}");
    tracing::info!(holder = %leading.holder, "Serving; the leader among the cutover serve processes on this store runs the bridge.");
    let shutdown = CancellationToken::new();
    let server_shutdown = shutdown.clone();
    let server = tokio::spawn(cutover_server::run(listener, state, async move {
        server_shutdown.cancelled().await;
    }));
    let leadership = tokio::spawn(cutover_runtime::leader::lead(
        store.clone(),
        leading.clone(),
        role_tx,
        shutdown.clone(),
    ));
    let deliverer = tokio::spawn(delivery.run(shutdown.clone()));
    // Runs on this task (verify's future is not `Send` for a spawn).
    let supervised =
        cutover_runtime::leader::while_leading(role_rx, shutdown.clone(), |token, stop| {
            fence.hold(token);
            work.tasks(&stop)
        });
    tokio::pin!(supervised);
    // On a signal, the leader's work ends once `shutdown` is cancelled: it is waited for
    // before the lease goes, so two processes never run it at once.
    let result = tokio::select! {
        () = stop_signal() => {
            tracing::info!("Stopping: the page in flight is committed or read again on the next start.");
            shutdown.cancel();
            (&mut supervised).await
        }
        result = &mut supervised => {
            shutdown.cancel();
            result
        }
    };
    let _ = leadership.await;
    cutover_runtime::leader::release(store.as_ref(), &leading).await;
    let _ = server.await;
    let _ = deliverer.await;
    result.map(|()| Outcome::Clean)
}

/// A task only the leader runs: it ends when its stop token is cancelled (the lease lost, or
/// the process stopping); an error ends `cutover serve`.
type LeaderTask = LocalBoxFuture<'static, anyhow::Result<()>>;

/// Everything the leader-only work is built from, once per tenure.
struct LeaderWork {
    store: Arc<dyn Store>,
    bridge: Arc<Bridge>,
    new: Arc<dyn Connector>,
    claims: Vec<(Side, Arc<RateBudget>)>,
    verify_budgets: Vec<(Side, Arc<RateBudget>)>,
    rechecker: cutover_engine::sync::recheck::Rechecker,
    recheck_config: cutover_engine::sync::recheck::RecheckConfig,
    verify_old: Arc<dyn Connector>,
    verify_new: Arc<dyn Connector>,
    mapping: cutover_engine::Mapping,
    kinds: Vec<cutover_model::RecordKind>,
    verify_every: std::time::Duration,
    /// The plan file's digest, kept with each scheduled verification for the gates.
    plan_digest: String,
    /// What the wave switch driver runs with: the plan's waves and switch timeout.
    switch: cutover_runtime::switch::SwitchConfig,
    /// The connectors a switch moves agents and rules through (their own budgets' claims).
    mover_old: Arc<dyn Connector>,
    mover_new: Arc<dyn Connector>,
    /// The connectors the monitor probes each side's API through (see
    /// `cutover_runtime::probe`).
    probers: cutover_runtime::probe::Probers,
    /// The plan and its path, for the reviews written when they fall due.
    plan: cutover_plan::plan::Plan,
    plan_path: std::path::PathBuf,
    /// The pager the alerts page through.
    pager: cutover_runtime::paging::Pager,
    /// The time the monitor evaluates at: real, or a rehearsal's simulated time.
    monitor_clock: cutover_runtime::clock::MonitorClock,
}

/// The pager's configuration from the plan's `[monitor]`, its secrets read from the
/// environment variables the plan names.
fn pager_config(
    monitor: &cutover_plan::plan::model::Monitor,
) -> anyhow::Result<cutover_runtime::paging::PagerConfig> {
    use secrecy::SecretString;
    let secret = |name: &Option<cutover_plan::plan::values::EnvVarName>| -> anyhow::Result<Option<SecretString>> {
        match name {
            None => Ok(None),
            Some(name) => std::env::var(name.as_str()).map(|v| Some(v.into())).map_err(|_| {
                fail(
                    Class::Config,
                    format!("[monitor] names the environment variable {}, which is not set", name.as_str()),
                )
            }),
        }
    };
    let smtp = match (&monitor.smtp_host, &monitor.smtp_from) {
        (Some(host), Some(from)) => {
            let user = secret(&monitor.smtp_user_env)?;
            let password = secret(&monitor.smtp_password_env)?;
            Some(cutover_runtime::paging::SmtpConfig {
                host: host.clone(),
                port: monitor.smtp_port,
                tls: monitor.smtp_tls,
                from: from.as_str().to_owned(),
                credentials: match (user, password) {
                    (Some(user), Some(password)) => {
                        use secrecy::ExposeSecret;
                        Some((user.expose_secret().to_owned(), password))
                    }
                    _ => None,
                },
            })
        }
        (Some(_), None) => {
            return Err(fail(
                Class::Config,
                "[monitor] smtp_host needs smtp_from, the sender of pages",
            ));
        }
        _ => None,
    };
    Ok(cutover_runtime::paging::PagerConfig {
        smtp,
        slack: secret(&monitor.slack_webhook_env)?,
        teams: secret(&monitor.teams_webhook_env)?,
    })
}

impl LeaderWork {
    /// The leader-only tasks of one tenure, each stopped by `stop`. A helper that only the
    /// leader may run (a switch driver, a gateway worker) adds its line here.
    fn tasks(&self, stop: &CancellationToken) -> Vec<LeaderTask> {
        vec![
            self.bridge_task(stop),
            // Live work first: the bridge claims its part of each platform's budget in the
            // store, and a backfill or verify run beside it leaves that part alone.
            spawned(cutover_engine::live::claim(
                self.store.clone(),
                self.claims.clone(),
                cutover_engine::live::LiveConfig::default(),
                stop.clone(),
            )),
            spawned(cutover_engine::live::follow(
                self.store.clone(),
                self.verify_budgets.clone(),
                cutover_engine::live::LiveConfig::default(),
                stop.clone(),
            )),
            // The scheduled verify, whose drift the bridge repairs.
            local(cutover_engine::sync::reconcile::run(
                self.store.clone(),
                self.verify_old.clone(),
                self.verify_new.clone(),
                self.mapping.clone(),
                self.kinds.clone(),
                self.bridge.handle(),
                self.verify_every,
                self.plan_digest.clone(),
                stop.clone(),
            )),
            // Wave switches and rollbacks, carried out from the journal in the store: a new
            // leader resumes a switch its predecessor left in progress.
            spawned(
                cutover_runtime::switch::Driver::new(
                    self.store.clone(),
                    self.switch.clone(),
                    Arc::new(cutover_runtime::mover::LinkedMover::new(
                        self.store.clone(),
                        self.mover_old.clone(),
                        self.mover_new.clone(),
                    )),
                )
                .run(stop.clone()),
            ),
            // The reviews of `[review]`, each written beside the plan when it falls due.
            local(super::report::schedule(
                self.store.clone(),
                self.plan.clone(),
                self.plan_path.clone(),
                stop.clone(),
            )),
            // The continuity monitor: the plan's alerts, evaluated every `[monitor] every`.
            spawned(cutover_runtime::alerts::run(
                self.store.clone(),
                self.plan.clone(),
                self.pager.clone(),
                Some(self.probers.clone()),
                self.plan.monitor.every.get(),
                self.monitor_clock,
                stop.clone(),
            )),
            // The rolling re-check of the records changed lately.
            local(cutover_engine::sync::recheck::run(
                self.rechecker.clone(),
                self.bridge.handle(),
                self.recheck_config,
                stop.clone(),
            )),
        ]
    }

    /// The bridge, on a task of its own; its error ends `cutover serve`.
    fn bridge_task(&self, stop: &CancellationToken) -> LeaderTask {
        let (bridge, stop) = (self.bridge.clone(), stop.clone());
        let (new, mapping) = (self.new.clone(), self.mapping.clone());
        let store = self.store.clone();
        let running = tokio::spawn(async move {
            // The bridge writes new tickets into the new account too: the types the plan
            // creates first (by the leader alone, so two processes never race to add one).
            cutover_engine::backfill::create_ticket_types(store.as_ref(), new.as_ref(), &mapping)
                .await
                .context("adding the ticket types and brands the plan creates")?;
            bridge.run_until(&stop).await?;
            Ok::<_, anyhow::Error>(())
        });
        Box::pin(async move {
            match running.await {
                Ok(result) => result,
                Err(e) => Err(fail(
                    Class::Internal,
                    format!("the bridge task failed: {e}"),
                )),
            }
        })
    }
}

/// A leader task that runs on a task of its own.
fn spawned(work: impl Future<Output = ()> + Send + 'static) -> LeaderTask {
    let running = tokio::spawn(work);
    Box::pin(async move {
        running
            .await
            .map_err(|e| fail(Class::Internal, format!("a leader task failed: {e}")))
    })
}

/// A leader task that runs on `cutover serve`'s own task (its future is not `Send`).
fn local(work: impl Future<Output = ()> + 'static) -> LeaderTask {
    Box::pin(async move {
        work.await;
        Ok(())
    })
}

/// The plan's waves as `GET /api/v1/waves` shows them: as the plan says, gates included (the
/// API adds each wave's phase from the store).
pub(crate) fn waves_json(plan: &cutover_plan::plan::Plan) -> Value {
    use cutover_plan::plan::values::{AgentSelection, GroupSelection};
    let waves: Vec<Value> = plan
        .waves
        .iter()
        .map(|wave| {
            let groups = match &wave.groups {
                GroupSelection::All => json!("all"),
                GroupSelection::Named(names) => json!(names),
            };
            let agents = match &wave.agents {
                AgentSelection::All => json!("all"),
                AgentSelection::ByGroup => json!("by_group"),
                AgentSelection::Named(emails) => {
                    json!(emails.iter().map(ToString::to_string).collect::<Vec<_>>())
                }
            };
            let window = wave.window.as_ref().map(|w| {
                json!({ "from": w.from.to_string(), "to": w.to.to_string(), "tz": w.tz.as_str() })
            });
            let gates = &wave.gates;
            json!({
                "name": wave.name,
                "channels": wave.channels,
                "groups": groups,
                "agents": agents,
                "customers_percent": wave.customers.get(),
                "window": window,
                "gates": {
                    "verify_clean": gates.verify_clean,
                    "max_sync_lag": gates.max_sync_lag.map(|d| d.to_string()),
                    "kpis_within_bounds": gates.kpis_within_bounds.map(|d| d.to_string()),
                    "rollback_drill": gates.rollback_drill,
                    "sign_off": gates.sign_off,
                },
            })
        })
        .collect();
    Value::Array(waves)
}

/// Completes on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
