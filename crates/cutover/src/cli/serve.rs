//! `cutover serve`: the one long-running process. Today it runs the two-way bridge and its
//! webhook intake, the inbound gateway (`/gateway/{channel}`) and its delivery worker, `/healthz`, `/metrics` and the control-plane API (`/api/v1/`), the bridge's claims on each platform's budget, the
//! rolling re-check of the records changed lately (`[sync] recheck_every`) and the scheduled
//! verify (`[sync] verify_every`), whose drift the bridge repairs; it stops on SIGINT or
//! SIGTERM.

use std::net::SocketAddr;

use clap::Args;
use cutover_connect::WebhookSecret;
use cutover_engine::sync::{Bridge, BridgeOptions};
use cutover_model::Side;
use cutover_server::AppState;
use cutover_server::api::ApiState;
use serde_json::{Value, json};
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
}

/// Runs `cutover serve`.
pub(crate) async fn run(ctx: &Context, args: ServeArgs) -> anyhow::Result<Outcome> {
    let setup = Setup::open(ctx).await?;
    let (old, new) = (setup.connector(Side::Old)?, setup.connector(Side::New)?);
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
    // The bridge writes new tickets into the new account too: the types the plan creates first.
    cutover_engine::backfill::create_ticket_types(new.as_ref(), &mapping)
        .await
        .context("adding the ticket types and brands the plan creates")?;
    // Live work first: the bridge claims its part of each platform's budget in the store, and a
    // backfill or verify run beside it leaves that part alone.
    let claims = vec![(Side::Old, old.budget()), (Side::New, new.budget())];
    let claim_store = setup.store.clone();
    // The scheduled verify reads through connectors of its own, which leave the bridge its claim.
    let (verify_old, verify_new) = (setup.connector(Side::Old)?, setup.connector(Side::New)?);
    let verify_budgets = vec![
        (Side::Old, verify_old.budget()),
        (Side::New, verify_new.budget()),
    ];
    let verify_store = setup.store.clone();
    let verify_mapping = mapping.clone();
    // The rolling re-check reads through the scheduled verify's connectors: they leave the
    // bridge its claim too.
    let rechecker = cutover_engine::sync::recheck::Rechecker {
        store: setup.store.clone(),
        old: verify_old.clone(),
        new: verify_new.clone(),
        mapping: mapping.clone(),
        copied: setup.plan.copy.kinds.clone(),
    };
    let recheck_config = cutover_engine::sync::recheck::RecheckConfig {
        every: setup.plan.sync.recheck_every.get(),
        window: setup.plan.sync.recheck_window.get(),
        limit: cutover_engine::sync::recheck::DEFAULT_LIMIT,
    };
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
        waves: waves_json(&setup.plan),
        retry,
    };
    // The inbound gateway: contacts kept by the server, delivered by a worker of their own.
    let gateway_metrics = std::sync::Arc::new(cutover_runtime::gateway::GatewayMetrics::default());
    let gateway = cutover_server::gateway::GatewayState::new(
        setup.store.clone(),
        &setup.plan.channels,
        &setup.plan.waves,
        gateway_metrics.clone(),
        |name| std::env::var(name).ok(),
    );
    let delivery = cutover_runtime::gateway::DeliveryWorker::for_plan(
        setup.store.clone(),
        setup.connector(Side::Old)?,
        setup.connector(Side::New)?,
        &setup.plan,
        gateway_metrics,
    );
    let bridge = Bridge::new(setup.store, old, new, mapping, secret, options);
    let state = AppState {
        bridge: bridge.handle(),
        api,
        gateway,
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| fail(Class::Config, format!("listen on {}: {e}", args.listen)))?;
    let local = listener.local_addr()?;
    println!("cutover serve listening on http://{local}");
    let shutdown = CancellationToken::new();
    let server_shutdown = shutdown.clone();
    let server = tokio::spawn(cutover_server::run(listener, state, async move {
        server_shutdown.cancelled().await;
    }));
    let claimer = tokio::spawn(cutover_engine::live::claim(
        claim_store,
        claims,
        cutover_engine::live::LiveConfig::default(),
        shutdown.clone(),
    ));
    let deliverer = tokio::spawn(delivery.run(shutdown.clone()));
    let follower = tokio::spawn(cutover_engine::live::follow(
        verify_store.clone(),
        verify_budgets,
        cutover_engine::live::LiveConfig::default(),
        shutdown.clone(),
    ));
    // Run on this task beside the others (verify's future is not `Send` for a spawn).
    let reconciler = cutover_engine::sync::reconcile::run(
        verify_store,
        verify_old,
        verify_new,
        verify_mapping,
        setup.plan.copy.kinds.clone(),
        bridge.handle(),
        setup.plan.sync.verify_every.get(),
        shutdown.clone(),
    );
    let rechecking = cutover_engine::sync::recheck::run(
        rechecker,
        bridge.handle(),
        recheck_config,
        shutdown.clone(),
    );
    let bridge_shutdown = shutdown.clone();
    let mut bridge_task = tokio::spawn(bridge.run(bridge_shutdown));
    let stopping = async {
        tokio::select! {
            () = stop_signal() => {
                tracing::info!("Stopping: the page in flight is committed or read again on the next start.");
                shutdown.cancel();
                (&mut bridge_task).await
            }
            result = &mut bridge_task => {
                shutdown.cancel();
                result
            }
        }
    };
    // The scheduled verify and the rolling re-check end when `shutdown` is cancelled.
    let (result, (), ()) = tokio::join!(stopping, reconciler, rechecking);
    let _ = server.await;
    let _ = claimer.await;
    let _ = follower.await;
    let _ = deliverer.await;
    match result {
        Ok(Ok(())) => Ok(Outcome::Clean),
        Ok(Err(e)) => Err(e.into()),
        Err(e) => Err(fail(
            Class::Internal,
            format!("the bridge task failed: {e}"),
        )),
    }
}

/// The plan's waves as `GET /api/v1/waves` shows them: as the plan says, gates included
/// (nothing acts on waves yet).
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
