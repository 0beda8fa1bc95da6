//! Rate limits per key and per minute, as the platforms count them: a fixed window that resets at
//! the top of each minute, a budget per window, and each platform's own header names.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::PoisonError;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, HeaderName, HeaderValue};

/// A per-key, per-minute request budget. `None` as limit turns it off.
#[derive(Debug)]
pub struct RateLimiter {
    inner: Mutex<LimiterState>,
}

#[derive(Debug)]
struct LimiterState {
    limit: Option<u32>,
    windows: HashMap<String, Window>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    minute: u64,
    used: u32,
}

/// The verdict on one request, with what the headers report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Requests allowed per window.
    pub limit: u32,
    /// Requests left in the current window after this one.
    pub remaining: u32,
    /// Seconds until the window resets (at least 1).
    pub reset_secs: u64,
    /// Whether this request fits the budget.
    pub allowed: bool,
    /// Requests counted in the window, this one included.
    pub used: u32,
}

impl RateLimiter {
    /// A limiter allowing `limit` requests per key and minute; `None` or `Some(0)` is off.
    pub fn new(limit: Option<u32>) -> Self {
        Self {
            inner: Mutex::new(LimiterState {
                limit: limit.filter(|l| *l > 0),
                windows: HashMap::new(),
            }),
        }
    }

    /// Changes the budget at run time; `None` or `Some(0)` turns the limiter off.
    pub fn set_limit(&self, limit: Option<u32>) {
        let mut state = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        state.limit = limit.filter(|l| *l > 0);
    }

    /// The budget per minute, if on.
    pub fn limit(&self) -> Option<u32> {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .limit
    }

    /// Forgets every window.
    pub fn reset(&self) {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .windows
            .clear();
    }

    /// Counts one request for `key` now; `None` when the limiter is off.
    pub fn check(&self, key: &str) -> Option<Decision> {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        self.check_at(key, u64::try_from(now_ms).unwrap_or(u64::MAX))
    }

    /// Counts one request for `key` at `now_ms` (milliseconds since the epoch).
    pub fn check_at(&self, key: &str, now_ms: u64) -> Option<Decision> {
        self.check_cost_at(key, 1, now_ms)
    }

    /// Counts a request costing `cost` credits (Freshdesk's embeds cost more than one) for
    /// `key` now; `None` when the limiter is off.
    pub fn check_cost(&self, key: &str, cost: u32) -> Option<Decision> {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        self.check_cost_at(key, cost, u64::try_from(now_ms).unwrap_or(u64::MAX))
    }

    /// Counts a request costing `cost` credits at `now_ms`: it fits when the credits left
    /// cover it, and then uses them all.
    pub fn check_cost_at(&self, key: &str, cost: u32, now_ms: u64) -> Option<Decision> {
        let cost = cost.max(1);
        let mut state = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let limit = state.limit?;
        let minute = now_ms / 60_000;
        let window = state
            .windows
            .entry(key.to_owned())
            .or_insert(Window { minute, used: 0 });
        if window.minute != minute {
            *window = Window { minute, used: 0 };
        }
        let allowed = window.used.saturating_add(cost) <= limit;
        if allowed {
            window.used += cost;
        }
        let reset_ms = (minute + 1) * 60_000 - now_ms;
        Some(Decision {
            limit,
            remaining: limit.saturating_sub(window.used),
            reset_secs: reset_ms.div_ceil(1000).max(1),
            allowed,
            used: window.used,
        })
    }
}

/// How a platform names its rate-limit headers.
pub trait HeaderStyle: Send + Sync + std::fmt::Debug {
    /// Adds the rate-limit headers for `decision` to a response.
    fn apply(&self, decision: &Decision, headers: &mut HeaderMap);
}

fn put(headers: &mut HeaderMap, name: &'static str, value: impl ToString) {
    if let Ok(value) = HeaderValue::from_str(&value.to_string()) {
        headers.insert(HeaderName::from_static(name), value);
    }
}

/// Zendesk's headers: `X-Rate-Limit`, `X-Rate-Limit-Remaining`, the `rate-limit-*` trio the
/// recordings show and the IETF draft `ratelimit-*` trio the documentation names.
#[derive(Debug, Clone, Copy, Default)]
pub struct ZendeskHeaders;

impl HeaderStyle for ZendeskHeaders {
    fn apply(&self, d: &Decision, headers: &mut HeaderMap) {
        put(headers, "x-rate-limit", d.limit);
        put(headers, "x-rate-limit-remaining", d.remaining);
        put(headers, "rate-limit", d.limit);
        put(headers, "rate-limit-remaining", d.remaining);
        put(headers, "rate-limit-reset", d.reset_secs);
        put(headers, "ratelimit-limit", d.limit);
        put(headers, "ratelimit-remaining", d.remaining);
        put(headers, "ratelimit-reset", d.reset_secs);
    }
}

/// Freshdesk's headers: `X-RateLimit-Total`, `X-RateLimit-Remaining`,
/// `X-RateLimit-Used-CurrentRequest`.
#[derive(Debug, Clone, Copy, Default)]
pub struct FreshdeskHeaders;

impl HeaderStyle for FreshdeskHeaders {
    fn apply(&self, d: &Decision, headers: &mut HeaderMap) {
        put(headers, "x-ratelimit-total", d.limit);
        put(headers, "x-ratelimit-remaining", d.remaining);
        put(headers, "x-ratelimit-used-currentrequest", 1);
    }
}

/// Adds `Retry-After` for a refused request.
pub fn retry_after(d: &Decision, headers: &mut HeaderMap) {
    put(headers, "retry-after", d.reset_secs);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_resets_at_the_top_of_the_minute() {
        let limiter = RateLimiter::new(Some(2));
        let t0 = 1_700_000_080_000; // 40 s into a minute
        let a = limiter.check_at("acct", t0).unwrap();
        assert!(a.allowed);
        assert_eq!((a.remaining, a.reset_secs), (1, 20));
        assert!(limiter.check_at("acct", t0 + 1).unwrap().allowed);
        let refused = limiter.check_at("acct", t0 + 2).unwrap();
        assert!(!refused.allowed);
        assert_eq!(refused.remaining, 0);
        assert!(
            limiter.check_at("other", t0 + 3).unwrap().allowed,
            "keys are separate"
        );
        assert!(
            limiter.check_at("acct", t0 + 20_000).unwrap().allowed,
            "next minute"
        );
    }

    #[test]
    fn costly_requests_use_several_credits() {
        let limiter = RateLimiter::new(Some(3));
        let t0 = 1_700_000_000_000;
        let a = limiter.check_cost_at("acct", 2, t0).unwrap();
        assert!(a.allowed);
        assert_eq!(a.remaining, 1);
        assert!(!limiter.check_cost_at("acct", 2, t0).unwrap().allowed);
        assert!(limiter.check_cost_at("acct", 1, t0).unwrap().allowed);
    }

    #[test]
    fn zero_or_none_turns_it_off() {
        assert!(RateLimiter::new(Some(0)).check("k").is_none());
        let limiter = RateLimiter::new(None);
        assert!(limiter.check("k").is_none());
        limiter.set_limit(Some(1));
        assert!(limiter.check("k").unwrap().allowed);
        assert!(
            !limiter.check("k").unwrap().allowed,
            "limit of one per minute"
        );
    }

    #[test]
    fn zendesk_headers_carry_both_families() {
        let mut headers = HeaderMap::new();
        let d = Decision {
            limit: 700,
            remaining: 650,
            reset_secs: 7,
            allowed: true,
            used: 50,
        };
        ZendeskHeaders.apply(&d, &mut headers);
        assert_eq!(headers["x-rate-limit"], "700");
        assert_eq!(headers["x-rate-limit-remaining"], "650");
        assert_eq!(headers["rate-limit-reset"], "7");
        assert_eq!(headers["ratelimit-remaining"], "650");
    }
}
