//! One delivery attempt and what it means: delivered, tried again later
//! (timeouts, connection errors, 408, 429, 5xx; `Retry-After` honoured),
//! or given up (other 4xx, a redirect to another host).

use std::time::{Duration, SystemTime};

use url::Url;

use super::payload;
use crate::config::notify::Target;
use crate::fetch::{Answer, Poster};
use crate::watch::Notice;

/// Same-host redirects followed at most.
const MAX_REDIRECTS: u32 = 3;
/// The first wait before a retry; it doubles each attempt.
const FIRST_BACKOFF: Duration = Duration::from_secs(2);
/// The longest wait between two attempts (a `Retry-After` included).
pub const MAX_BACKOFF: Duration = Duration::from_secs(30 * 60);

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The target took it, with this status.
    Delivered(u16),
    /// Try again later (no sooner than `after`, when the target said).
    Retry {
        /// The error kind: `timeout`, `connect`, `http_503`, …
        kind: &'static str,
        /// What happened.
        why: String,
        /// The target's `Retry-After`.
        after: Option<Duration>,
    },
    /// Never to be tried again.
    Drop {
        /// What happened.
        why: String,
    },
}

/// Sends `notice` to `target` once (following same-host redirects).
pub async fn deliver(poster: &Poster, target: &Target, notice: &Notice) -> Verdict {
    let outgoing = payload::outgoing(target, notice, SystemTime::now());
    let mut url = target.url.clone();
    for _ in 0..=MAX_REDIRECTS {
        let answer = poster
            .post(
                &url,
                outgoing.content_type,
                &outgoing.headers,
                outgoing.body.clone(),
            )
            .await;
        let answer = match answer {
            Ok(answer) => answer,
            Err(err) => {
                return Verdict::Retry {
                    kind: err.kind,
                    why: err.to_string(),
                    after: None,
                };
            }
        };
        match judge(&url, &answer) {
            Judged::Redirect(next) => url = next,
            Judged::Done(verdict) => return verdict,
        }
    }
    Verdict::Drop {
        why: format!("more than {MAX_REDIRECTS} redirects"),
    }
}

enum Judged {
    Done(Verdict),
    Redirect(Url),
}

fn judge(url: &Url, answer: &Answer) -> Judged {
    let status = answer.status;
    let said = if answer.body.is_empty() {
        String::new()
    } else {
        format!(": {}", answer.body.chars().take(200).collect::<String>())
    };
    match status {
        200..=299 => Judged::Done(Verdict::Delivered(status)),
        300..=399 => {
            let next = answer
                .location
                .as_deref()
                .and_then(|location| url.join(location).ok());
            match next {
                Some(next)
                    if next.host() == url.host()
                        && next.port_or_known_default() == url.port_or_known_default() =>
                {
                    Judged::Redirect(next)
                }
                Some(next) => Judged::Done(Verdict::Drop {
                    why: format!(
                        "answered HTTP {status} to another host (`{}`); a notification never follows a redirect elsewhere: fix the target's url",
                        next.host_str().unwrap_or_default()
                    ),
                }),
                None => Judged::Done(Verdict::Drop {
                    why: format!("answered HTTP {status} without a usable Location"),
                }),
            }
        }
        408 | 429 | 500..=599 => Judged::Done(Verdict::Retry {
            kind: retry_kind(status),
            why: format!("answered HTTP {status}{said}"),
            after: answer.retry_after,
        }),
        _ => Judged::Done(Verdict::Drop {
            why: format!("answered HTTP {status}{said}"),
        }),
    }
}

fn retry_kind(status: u16) -> &'static str {
    match status {
        408 => "http_408",
        429 => "http_429",
        500..=599 => "http_5xx",
        _ => "http",
    }
}

/// When the next attempt may start, after `attempts` failed ones:
/// exponential backoff with jitter (half to all of the doubled delay), and
/// no sooner than the target's `Retry-After`; both capped at [`MAX_BACKOFF`].
pub fn backoff(attempts: u32, retry_after: Option<Duration>) -> Duration {
    let doubled = FIRST_BACKOFF
        .saturating_mul(1 << attempts.min(20))
        .min(MAX_BACKOFF);
    let jittered = doubled.mul_f64(0.5 + fastrand::f64() * 0.5);
    retry_after
        .map_or(jittered, |after| after.max(jittered))
        .min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_honours_retry_after_up_to_the_cap() {
        for attempts in 0..5 {
            let delay = backoff(attempts, None);
            let full = FIRST_BACKOFF * (1 << attempts);
            assert!(delay >= full / 2 && delay <= full, "{attempts}: {delay:?}");
        }
        let capped = backoff(30, None);
        assert!(
            capped >= MAX_BACKOFF / 2 && capped <= MAX_BACKOFF,
            "{capped:?}"
        );
        let asked = Duration::from_secs(120);
        assert!(backoff(0, Some(asked)) >= asked);
        assert_eq!(backoff(0, Some(Duration::from_secs(86_400))), MAX_BACKOFF);
    }

    fn answer(status: u16, location: Option<&str>) -> Answer {
        Answer {
            status,
            retry_after: None,
            location: location.map(str::to_owned),
            body: String::new(),
        }
    }

    #[test]
    fn statuses_are_judged_as_a_monitor_expects() {
        let url = Url::parse("http://127.0.0.1:9/hook").unwrap();
        let verdict = |status, location| match judge(&url, &answer(status, location)) {
            Judged::Done(Verdict::Delivered(_)) => "delivered",
            Judged::Done(Verdict::Retry { .. }) => "retry",
            Judged::Done(Verdict::Drop { .. }) => "drop",
            Judged::Redirect(_) => "redirect",
        };
        assert_eq!(verdict(204, None), "delivered");
        for status in [408, 429, 500, 503] {
            assert_eq!(verdict(status, None), "retry", "{status}");
        }
        for status in [400, 401, 404, 410] {
            assert_eq!(verdict(status, None), "drop", "{status}");
        }
        assert_eq!(verdict(307, Some("/other")), "redirect");
        assert_eq!(verdict(307, Some("http://10.0.0.1:9/hook")), "drop");
    }
}
