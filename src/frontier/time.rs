//! Due times: milliseconds since the epoch as the stores keep them, and the
//! jitter that lets seeds crawled together drift apart.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (0 before it).
pub fn unix_ms(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| {
        i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
    })
}

/// The time `ms` milliseconds after the Unix epoch.
pub fn from_unix_ms(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// The most jitter added to a due time.
const MAX_JITTER: Duration = Duration::from_secs(300);

/// Up to a tenth of the interval (at most five minutes), at random: seeds
/// crawled together drift apart.
pub fn jitter(interval: Duration) -> Duration {
    (interval / 10).min(MAX_JITTER).mul_f64(fastrand::f64())
}

/// When a URL that finished at `finished` is due again; `None` with no recrawl.
pub fn next_due_after(finished: SystemTime, interval: Duration) -> Option<SystemTime> {
    (!interval.is_zero()).then(|| finished + interval + jitter(interval))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_times_carry_at_most_a_tenth_of_jitter() {
        let now = SystemTime::now();
        let interval = Duration::from_secs(100);
        let due = next_due_after(now, interval).unwrap();
        assert!(due >= now + interval && due <= now + interval + interval / 10);
        assert_eq!(next_due_after(now, Duration::ZERO), None);
    }

    #[test]
    fn unix_ms_round_trips() {
        let time = from_unix_ms(1_700_000_000_123);
        assert_eq!(unix_ms(time), 1_700_000_000_123);
    }
}
