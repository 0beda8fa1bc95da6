//! How a request is retried: capped exponential backoff with jitter, for 5xx answers, timeouts
//! and connection errors. Throttling (429) is the budget's business and counted apart.

use std::time::Duration;

/// The retry rules of one connector.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all for transient trouble (5xx, timeouts, dropped connections), first included.
    pub max_attempts: u32,
    /// 429 answers taken before giving up on one request.
    pub max_throttled: u32,
    /// The first backoff; each retry doubles it.
    pub base: Duration,
    /// The longest backoff.
    pub cap: Duration,
    /// How long one request may take, answer included.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            max_throttled: 20,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(30),
            timeout: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1 for the first retry), given a jitter draw in [0, 1):
    /// half of the capped exponential is fixed, the other half random ("equal jitter"), so waits
    /// grow yet workers that failed together do not retry together.
    pub fn backoff(&self, retry: u32, jitter: f64) -> Duration {
        let exponent = retry.saturating_sub(1).min(30);
        let full = self.base.saturating_mul(1u32 << exponent).min(self.cap);
        let jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            0.5
        };
        full / 2 + full.mul_f64(jitter / 2.0)
    }

    /// [`RetryPolicy::backoff`] with a fresh random draw.
    pub(crate) fn backoff_now(&self, retry: u32) -> Duration {
        self.backoff(retry, rand::random::<f64>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn backoff_doubles_then_caps() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.backoff(1, 0.0), Duration::from_millis(250));
        assert_eq!(policy.backoff(1, 1.0), Duration::from_millis(500));
        assert_eq!(policy.backoff(2, 1.0), Duration::from_secs(1));
        assert_eq!(policy.backoff(3, 1.0), Duration::from_secs(2));
        assert_eq!(policy.backoff(40, 1.0), Duration::from_secs(30));
        assert_eq!(policy.backoff(40, 0.0), Duration::from_secs(15));
    }

    proptest! {
        #[test]
        fn backoff_stays_between_half_and_all_of_the_capped_exponential(
            retry in 1u32..100,
            jitter in 0.0f64..1.0,
            base_ms in 1u64..5_000,
            cap_ms in 1u64..120_000,
        ) {
            let policy = RetryPolicy {
                base: Duration::from_millis(base_ms),
                cap: Duration::from_millis(cap_ms),
                ..RetryPolicy::default()
            };
            let wait = policy.backoff(retry, jitter);
            let full = Duration::from_millis(base_ms)
                .saturating_mul(1 << (retry - 1).min(30))
                .min(Duration::from_millis(cap_ms));
            prop_assert!(wait >= full / 2);
            prop_assert!(wait <= full);
            prop_assert!(policy.backoff(retry + 1, jitter) >= wait.min(full / 2));
        }
    }
}
