//! The emulator's application state and how it starts.

use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::config::ZendeskOptions;
use super::errors::ApiError;
use super::store::ZendeskState;
use super::{realistic, seed};
use crate::clock::Clock;
use crate::control::{Machinery, MachineryOptions};
use crate::faults::{FaultBody, Faults};
use crate::lateness::Lateness;
use crate::notify::Notification;
use crate::ratelimit::RateLimiter;
use crate::server::{SimHandle, spawn_emulator};
use crate::state::Counts;
use crate::webhooks::{Attempt, Dispatcher};
use crate::{AccountProfile, SimError};

/// The running emulator's state: the account behind one lock, plus the clock, faults, rate
/// limiters and webhook dispatcher. Tests reach it through [`SimHandle::state`].
#[derive(Debug)]
pub struct App {
    pub(super) state: RwLock<ZendeskState>,
    pub(super) opts: ZendeskOptions,
    pub(super) base: String,
    pub(super) clock: Clock,
    pub(super) faults: Faults,
    pub(super) limiter: RateLimiter,
    pub(super) incremental: RateLimiter,
    pub(super) webhooks: Dispatcher,
}

/// How far behind Zendesk's search is, in seconds, when lateness is on: "It can take up to a few
/// minutes for new tickets, users, and other resources to be indexed for search" (its Search API
/// reference); taken as three minutes.
pub const SEARCH_LAG_SECONDS: u64 = 180;

/// The emulator as a tower service (its router behind the `.json`-suffix rewrite).
pub type ZendeskService = tower::util::MapRequest<axum::Router, fn(Request) -> Request>;

fn fault_body() -> FaultBody {
    Arc::new(|status: StatusCode, _retry_after: u64| -> Response {
        let body = if status == StatusCode::TOO_MANY_REQUESTS {
            serde_json::json!({"error": "APIRateLimitExceeded", "description": "Number of allowed API requests per minute exceeded"})
        } else {
            serde_json::json!({"error": "ServiceUnavailable", "description": "Zendesk is temporarily unavailable, please retry"})
        };
        ApiError::new(status, body).into_response()
    })
}

impl App {
    /// Builds the account (bootstrap and generated data) for an emulator answering at `base`.
    pub fn new(
        opts: ZendeskOptions,
        base: &str,
        shutdown: CancellationToken,
    ) -> Result<Arc<Self>, SimError> {
        let Machinery {
            clock,
            faults,
            webhooks,
        } = Machinery::new(
            MachineryOptions {
                start_time: opts.start_time,
                faults: &opts.faults,
                seed: opts.seed,
                webhook_attempts: opts.webhook_attempts,
                webhook_retry_base: opts.webhook_retry_base,
                allow_external_webhooks: opts.allow_external_webhooks,
                documented_search_lag: SEARCH_LAG_SECONDS,
            },
            fault_body(),
            shutdown,
        )?;
        let late = Lateness::new(clock.clone(), faults.clone());
        let state = build_state(&opts, base, clock.now_secs().timestamp(), &late);
        Ok(Arc::new(Self {
            state: RwLock::new(state),
            limiter: RateLimiter::new(opts.rate_limit_rpm),
            incremental: RateLimiter::new(Some(opts.incremental_rpm)),
            base: base.to_owned(),
            opts,
            clock,
            faults,
            webhooks,
        }))
    }

    pub(super) fn read(&self) -> RwLockReadGuard<'_, ZendeskState> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn write(&self) -> RwLockWriteGuard<'_, ZendeskState> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The clock's time in Unix seconds.
    pub fn now(&self) -> i64 {
        self.clock.now_secs().timestamp()
    }

    /// The latest change time (Unix seconds) the incremental exports show: the clock's time
    /// less the held-back last minute (`ZendeskOptions::export_delay_secs`).
    pub(super) fn export_cutoff(&self) -> i64 {
        self.now() - self.opts.export_delay_secs
    }

    /// Throws the account away and generates it again (optionally with another seed or size).
    pub fn reset(&self, seed: Option<u64>, tickets: Option<usize>) {
        let mut opts = self.opts.clone();
        opts.seed = seed.unwrap_or(opts.seed);
        opts.tickets = tickets.unwrap_or(opts.tickets);
        let late = Lateness::new(self.clock.clone(), self.faults.clone());
        let fresh = build_state(&opts, &self.base, self.now(), &late);
        *self.write() = fresh;
        self.limiter.reset();
        self.incremental.reset();
        self.webhooks.clear();
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The options it started with.
    pub fn options(&self) -> &ZendeskOptions {
        &self.opts
    }

    /// The controllable clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The fault switchboard.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The account's request limiter (to change the budget at run time).
    pub fn rate_limiter(&self) -> &RateLimiter {
        &self.limiter
    }

    /// Records per kind.
    pub fn counts(&self) -> Counts {
        self.read().counts()
    }

    /// E-mails sent to customers so far.
    pub fn notifications(&self) -> Vec<Notification> {
        self.read().notifications.list(None)
    }

    /// Webhook delivery attempts so far.
    pub fn webhook_attempts(&self) -> Vec<Attempt> {
        self.webhooks.attempts()
    }

    /// The registered webhooks as (name, endpoint), in id order.
    pub fn webhook_endpoints(&self) -> Vec<(String, String)> {
        let text = |w: &super::model::Webhook, key: &str| {
            w.data
                .get(key)
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        self.read()
            .webhooks
            .values()
            .map(|w| (text(w, "name"), text(w, "endpoint")))
            .collect()
    }

    /// Webhook invocations not finished yet.
    pub fn webhooks_in_flight(&self) -> usize {
        self.webhooks.in_flight()
    }

    /// Suspends (or reinstates) the user with this e-mail; false if there is none.
    pub fn set_suspended(&self, email: &str, suspended: bool) -> bool {
        let mut st = self.write();
        let Some(mut user) = st.user_by_email(email).cloned() else {
            return false;
        };
        user.suspended = suspended;
        st.put_user(user);
        true
    }

    /// Any ticket's JSON as `GET /api/v2/tickets/{id}` shows it.
    pub fn ticket_json(&self, id: u64) -> Option<serde_json::Value> {
        let st = self.read();
        st.tickets
            .get(&id)
            .map(|t| super::json::ticket(&st, t, &self.base, false))
    }

    /// Ids of the tickets held (deleted ones included).
    pub fn ticket_ids(&self) -> Vec<u64> {
        self.read().tickets.keys().copied().collect()
    }
}

fn build_state(opts: &ZendeskOptions, base: &str, now: i64, late: &Lateness) -> ZendeskState {
    let mut st = ZendeskState::empty(opts.seed, base);
    seed::bootstrap(
        &mut st,
        &opts.email,
        &opts.subdomain,
        now - 3 * 365 * 86_400,
    );
    match opts.profile {
        AccountProfile::Plain => seed::generate(&mut st, opts.tickets, now),
        AccountProfile::Realistic => realistic::generate(&mut st, opts.tickets, now),
    }
    // Generated data is indexed; what is written from now on is searchable as late as told.
    st.searched.late = Some(late.clone());
    st
}

/// Starts Zendesk emulators.
#[derive(Debug, Clone, Copy)]
pub struct ZendeskSim;

impl ZendeskSim {
    /// Binds `bind_addr` (e.g. `127.0.0.1:0`) and serves a new emulator there until the
    /// handle is shut down.
    pub async fn spawn(opts: ZendeskOptions, bind_addr: &str) -> Result<SimHandle<App>, SimError> {
        let listener = crate::server::bind(bind_addr).await?;
        Self::spawn_on(opts, listener).await
    }

    /// Serves a new emulator on a listener the caller bound.
    pub async fn spawn_on(
        opts: ZendeskOptions,
        listener: TcpListener,
    ) -> Result<SimHandle<App>, SimError> {
        let tls = opts.serves_tls();
        let cert_out = opts.tls_cert_out.clone();
        spawn_emulator(
            listener,
            tls,
            cert_out.as_deref(),
            |url, shutdown| App::new(opts, url, shutdown),
            Self::router,
        )
    }

    /// The emulator as a service, for [`crate::serve`] on a listener bound elsewhere.
    pub fn router(app: Arc<App>) -> ZendeskService {
        super::routes::service(app)
    }
}
