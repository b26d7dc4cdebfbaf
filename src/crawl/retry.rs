//! When a failed fetch is tried again, and after how long.
//!
//! Transient failures (connect, DNS, TLS, timeouts, a body cut short, and HTTP
//! 408/429/500/502/503/504) are retried up to `max_retries` times with
//! exponential backoff and full jitter. `Retry-After` on 429/503 is honoured up
//! to `max_backoff`; a longer one means giving up at once. Other 4xx never retry.

use std::time::Duration;

use crate::config::RetrySettings;

/// HTTP statuses worth another try.
const RETRY_STATUSES: [u16; 6] = [408, 429, 500, 502, 503, 504];
/// Fetch error kinds worth another try.
const RETRY_KINDS: [&str; 5] = ["connect", "dns", "tls", "timeout", "body"];

/// What to do after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The outcome is final.
    Done,
    /// Try again after this long.
    RetryIn(Duration),
    /// The server asked for a wait longer than `max_backoff`: final, and say so.
    GiveUp(String),
}

/// The retry settings, applied.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    settings: RetrySettings,
}

impl RetryPolicy {
    /// A policy from the `[retry]` settings.
    pub fn new(settings: &RetrySettings) -> Self {
        Self {
            settings: settings.clone(),
        }
    }

    /// Decides after attempt number `attempt` (0 = the first request) failed with
    /// error kind `kind` or HTTP `status`; `retry_after` is the server's wish.
    pub fn decide(
        &self,
        attempt: u32,
        kind: Option<&str>,
        status: Option<u16>,
        retry_after: Option<Duration>,
    ) -> Decision {
        let retryable = match kind {
            Some(kind) => RETRY_KINDS.contains(&kind),
            None => status.is_some_and(|status| RETRY_STATUSES.contains(&status)),
        };
        if !retryable || attempt >= self.settings.max_retries {
            return Decision::Done;
        }
        match retry_after {
            Some(wait) if wait > self.settings.max_backoff => Decision::GiveUp(format!(
                "the server asked to retry after {}, beyond retry.max_backoff ({}); gave up",
                humantime::format_duration(wait),
                humantime::format_duration(self.settings.max_backoff)
            )),
            Some(wait) => Decision::RetryIn(wait),
            None => Decision::RetryIn(self.backoff(attempt)),
        }
    }

    /// Full jitter: uniformly random in [0, min(max_backoff, initial × 2^attempt)].
    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .settings
            .initial_backoff
            .saturating_mul(2u32.saturating_pow(attempt.min(31)))
            .min(self.settings.max_backoff);
        ceiling.mul_f64(fastrand::f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(max_retries: u32) -> RetryPolicy {
        RetryPolicy::new(&RetrySettings {
            max_retries,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
        })
    }

    #[test]
    fn transient_failures_retry_others_do_not() {
        let policy = policy(3);
        assert!(matches!(
            policy.decide(0, Some("timeout"), None, None),
            Decision::RetryIn(_)
        ));
        assert!(matches!(
            policy.decide(0, Some("connect"), None, None),
            Decision::RetryIn(_)
        ));
        assert!(matches!(
            policy.decide(0, None, Some(503), None),
            Decision::RetryIn(_)
        ));
        assert_eq!(
            policy.decide(0, Some("too_large"), Some(200), None),
            Decision::Done
        );
        assert_eq!(
            policy.decide(0, Some("redirects"), None, None),
            Decision::Done
        );
        assert_eq!(policy.decide(0, None, Some(404), None), Decision::Done);
        assert_eq!(policy.decide(0, None, Some(403), None), Decision::Done);
    }

    #[test]
    fn retries_stop_at_max_retries() {
        let policy = policy(2);
        assert!(matches!(
            policy.decide(1, None, Some(500), None),
            Decision::RetryIn(_)
        ));
        assert_eq!(policy.decide(2, None, Some(500), None), Decision::Done);
        assert_eq!(
            RetryPolicy::new(&RetrySettings {
                max_retries: 0,
                ..RetrySettings::default()
            })
            .decide(0, None, Some(500), None),
            Decision::Done
        );
    }

    #[test]
    fn backoff_is_capped_and_jittered() {
        let policy = policy(100);
        for attempt in 0..40 {
            match policy.decide(attempt, None, Some(502), None) {
                Decision::RetryIn(wait) => assert!(wait <= Duration::from_secs(1)),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap() {
        let policy = policy(3);
        let two = Some(Duration::from_secs(1));
        assert_eq!(
            policy.decide(0, None, Some(429), two),
            Decision::RetryIn(Duration::from_secs(1))
        );
        let long = Some(Duration::from_secs(120));
        assert!(matches!(
            policy.decide(0, None, Some(503), long),
            Decision::GiveUp(_)
        ));
    }
}
