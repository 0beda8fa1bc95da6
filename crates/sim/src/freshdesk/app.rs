//! The emulator's application state and how it starts.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::automation;
use super::config::{FreshdeskOptions, PlanLimits};
use super::email_switches::EmailNotifications;
use super::errors::ApiError;
use super::store::FreshdeskState;
use super::{realistic, seed, solutions, time_entries};
use crate::clock::Clock;
use crate::control::{Controlled, Machinery, MachineryOptions};
use crate::faults::{FaultBody, Faults};
use crate::lateness::Lateness;
use crate::notify::Notification;
use crate::ratelimit::RateLimiter;
use crate::server::{SimHandle, spawn_emulator};
use crate::state::Counts;
use crate::webhooks::{Attempt, Dispatcher};
use crate::{AccountProfile, SimError};

/// The per-minute budgets: the account's and the four per-endpoint ones.
#[derive(Debug)]
pub(crate) struct Limiters {
    pub(crate) account: RateLimiter,
    pub(crate) ticket_create: RateLimiter,
    pub(crate) ticket_update: RateLimiter,
    pub(crate) tickets_list: RateLimiter,
    pub(crate) contacts_list: RateLimiter,
}

impl Limiters {
    fn new(limits: Option<PlanLimits>) -> Self {
        let l = |pick: fn(&PlanLimits) -> u32| RateLimiter::new(limits.as_ref().map(pick));
        Self {
            account: l(|p| p.account),
            ticket_create: l(|p| p.ticket_create),
            ticket_update: l(|p| p.ticket_update),
            tickets_list: l(|p| p.tickets_list),
            contacts_list: l(|p| p.contacts_list),
        }
    }

    fn all(&self) -> [(&'static str, &RateLimiter); 5] {
        [
            ("account", &self.account),
            ("ticket_create", &self.ticket_create),
            ("ticket_update", &self.ticket_update),
            ("tickets_list", &self.tickets_list),
            ("contacts_list", &self.contacts_list),
        ]
    }
}

/// The running emulator's state: the account behind one lock, plus the clock, faults, rate
/// limiters and webhook dispatcher. Tests reach it through [`SimHandle::state`].
#[derive(Debug)]
pub struct App {
    pub(super) state: RwLock<FreshdeskState>,
    pub(super) opts: FreshdeskOptions,
    pub(super) base: String,
    pub(super) clock: Clock,
    pub(super) faults: Faults,
    pub(super) limiters: Limiters,
    pub(super) webhooks: Dispatcher,
    /// The emulated hour (Unix seconds / 3600) of the last pass of the time-triggered rules.
    last_pass_hour: AtomicI64,
    /// Admin > Email Notifications (requester notifications).
    email_notifications: Mutex<EmailNotifications>,
}

/// How far behind Freshdesk's search is, in seconds, when lateness is on: "updates can take a
/// few minutes to be searchable" (its filter-search documentation); taken as three minutes.
pub const SEARCH_LAG_SECONDS: u64 = 180;

/// How often (real time) the emulator looks whether an emulated hour has begun.
const HOUR_POLL: Duration = Duration::from_secs(1);

/// The emulator as a tower service.
pub type FreshdeskService = axum::Router;

fn fault_body() -> FaultBody {
    Arc::new(|status: StatusCode, _retry_after: u64| -> Response {
        if status == StatusCode::TOO_MANY_REQUESTS {
            ApiError::rate_limited().into_response()
        } else {
            ApiError::unavailable(status).into_response()
        }
    })
}

impl App {
    /// Builds the account (bootstrap and generated data) for an emulator answering at `base`.
    pub fn new(
        opts: FreshdeskOptions,
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
            shutdown.clone(),
        )?;
        let now = clock.now_secs().timestamp();
        let state = build_state(
            &opts,
            base,
            now,
            &Lateness::new(clock.clone(), faults.clone()),
        );
        let email_notifications = Mutex::new(EmailNotifications::from_options(&opts));
        let app = Arc::new(Self {
            state: RwLock::new(state),
            limiters: Limiters::new(opts.limits()),
            base: base.to_owned(),
            opts,
            clock,
            faults,
            webhooks,
            last_pass_hour: AtomicI64::new(now.div_euclid(3600)),
            email_notifications,
        });
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(hourly(Arc::downgrade(&app), shutdown));
        }
        Ok(app)
    }

    /// Runs the time-triggered automation rules now, as Freshdesk's hourly pass does (the
    /// emulator also runs them when the clock is moved through `/_sim/clock` and whenever an
    /// emulated hour begins); returns how many times a rule fired.
    pub fn run_time_triggers(&self) -> usize {
        let now = self.now();
        self.last_pass_hour
            .store(now.div_euclid(3600), Ordering::Relaxed);
        let mut st = self.write();
        automation::time_pass(self, &mut st, now)
    }

    /// Runs the time-triggered rules if an emulated hour began since the last pass.
    fn on_the_hour(&self) {
        let hour = self.now().div_euclid(3600);
        if self.last_pass_hour.load(Ordering::Relaxed) != hour {
            self.run_time_triggers();
        }
    }

    pub(super) fn read(&self) -> RwLockReadGuard<'_, FreshdeskState> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn write(&self) -> RwLockWriteGuard<'_, FreshdeskState> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The clock's time in Unix seconds.
    pub fn now(&self) -> i64 {
        self.clock.now_secs().timestamp()
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The options it started with.
    pub fn options(&self) -> &FreshdeskOptions {
        &self.opts
    }

    /// The account's request limiter (to change the budget at run time).
    pub fn rate_limiter(&self) -> &RateLimiter {
        &self.limiters.account
    }

    /// The requester notification switches in force (Admin > Email Notifications).
    pub fn email_notifications(&self) -> EmailNotifications {
        *self
            .email_notifications
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Turns requester notifications on or off, as an admin does in the web interface.
    pub fn set_email_notifications(&self, switches: EmailNotifications) {
        *self
            .email_notifications
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = switches;
    }

    /// E-mails sent to customers so far.
    pub fn notification_log(&self) -> Vec<Notification> {
        self.read().notifications.list(None)
    }

    /// Webhook delivery attempts so far.
    pub fn webhook_attempts(&self) -> Vec<Attempt> {
        self.webhooks.attempts()
    }

    /// Webhook invocations not finished yet (retries pending included).
    pub fn webhooks_in_flight(&self) -> usize {
        self.webhooks.in_flight()
    }

    /// Any ticket's JSON as `GET /api/v2/tickets/{id}` shows it.
    pub fn ticket_json(&self, id: u64) -> Option<Value> {
        let st = self.read();
        st.tickets.get(&id).map(|t| {
            super::render::ticket(
                &st,
                t,
                &self.base,
                super::render::Includes::default(),
                false,
            )
        })
    }

    /// Ids of the tickets held (deleted ones included).
    pub fn ticket_ids(&self) -> Vec<u64> {
        self.read().tickets.keys().copied().collect()
    }

    /// The id of the agent the API key belongs to.
    pub fn api_agent_id(&self) -> u64 {
        self.read().owner_id
    }
}

impl Controlled for App {
    fn clock(&self) -> &Clock {
        &self.clock
    }

    fn faults(&self) -> &Faults {
        &self.faults
    }

    fn dispatcher(&self) -> &Dispatcher {
        &self.webhooks
    }

    fn counts(&self) -> Counts {
        self.read().counts()
    }

    fn reset(&self, seed: Option<u64>, tickets: Option<usize>) {
        let mut opts = self.opts.clone();
        opts.seed = seed.unwrap_or(opts.seed);
        opts.tickets = tickets.unwrap_or(opts.tickets);
        let late = Lateness::new(self.clock.clone(), self.faults.clone());
        let fresh = build_state(&opts, &self.base, self.now(), &late);
        *self.write() = fresh;
        for (_, limiter) in self.limiters.all() {
            limiter.reset();
        }
        self.webhooks.clear();
    }

    fn rate_limits(&self) -> Value {
        let mut out = serde_json::Map::new();
        out.insert("plan".into(), json!(self.opts.plan.name()));
        for (name, limiter) in self.limiters.all() {
            out.insert(name.into(), json!(limiter.limit()));
        }
        Value::Object(out)
    }

    /// `{"rpm": N|0|null}` sets the account budget; `{"ticket_create": N, …}` a sub-budget.
    fn set_rate_limits(&self, body: &Value) {
        let as_limit = |v: &Value| v.as_u64().and_then(|n| u32::try_from(n).ok());
        if let Some(rpm) = body.get("rpm") {
            self.limiters.account.set_limit(as_limit(rpm));
        }
        for (name, limiter) in self.limiters.all() {
            if let Some(v) = body.get(name) {
                limiter.set_limit(as_limit(v));
            }
        }
    }

    fn notifications(&self, ticket_id: Option<u64>) -> Vec<Notification> {
        self.read().notifications.list(ticket_id)
    }

    fn clear_notifications(&self) {
        self.write().notifications.clear();
    }

    fn clock_moved(&self) {
        self.run_time_triggers();
    }
}

/// Polls the clock and runs the time-triggered rules at each emulated hour, until shutdown or
/// until the emulator is dropped.
async fn hourly(app: Weak<App>, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(HOUR_POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let Some(app) = app.upgrade() else { return };
        app.on_the_hour();
    }
}

fn build_state(opts: &FreshdeskOptions, base: &str, now: i64, late: &Lateness) -> FreshdeskState {
    let mut st = FreshdeskState::empty(opts.seed);
    match opts.profile {
        AccountProfile::Plain => {
            seed::bootstrap(&mut st, &opts.domain, now - 3 * 365 * 86_400);
            seed::generate(&mut st, (&opts.domain, base), opts.tickets, now, None);
        }
        AccountProfile::Realistic => {
            realistic::generate(&mut st, (&opts.domain, base), opts.tickets, now)
        }
    }
    if opts.agent_api_key.is_some() {
        let email = format!("agent@{}.example.com", opts.domain);
        let agent = seed::add_agent(&mut st, "Support Agent", &email, seed::AGENT_ROLE, now);
        st.agent_key_id = Some(agent);
    }
    time_entries::seed(&mut st);
    solutions::seed(&mut st, now - 365 * 86_400);
    st.set_lateness(late);
    st
}

/// Starts Freshdesk emulators.
#[derive(Debug, Clone, Copy)]
pub struct FreshdeskSim;

impl FreshdeskSim {
    /// Binds `bind_addr` (e.g. `127.0.0.1:0`) and serves a new emulator there until the
    /// handle is shut down.
    pub async fn spawn(
        opts: FreshdeskOptions,
        bind_addr: &str,
    ) -> Result<SimHandle<App>, SimError> {
        let listener = crate::server::bind(bind_addr).await?;
        Self::spawn_on(opts, listener).await
    }

    /// Serves a new emulator on a listener the caller bound.
    pub async fn spawn_on(
        opts: FreshdeskOptions,
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
    pub fn router(app: Arc<App>) -> FreshdeskService {
        super::routes::service(app)
    }
}
