//! One host's state: its queue, what is in flight, its pace and backoff,
//! and what is known of its robots.txt.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use url::Url;

use super::Policy;
use super::robots::{Rules, Unreachable};
use crate::crawl::Job;

/// What is known of a host's robots.txt.
#[derive(Debug)]
pub(super) enum RobotsState {
    /// Not fetched yet, or expired.
    Unknown,
    /// A fetch is running; the host's jobs wait for it.
    Fetching,
    /// Fetched: rules (`None`: no restrictions) until `expires`.
    Known {
        rules: Option<Box<Rules>>,
        expires: Instant,
    },
    /// Could not be fetched: everything disallowed until `retry_at`.
    Unreachable {
        reason: Box<Unreachable>,
        retry_at: Instant,
        failures: u32,
    },
}

/// Where a host is in the dispatcher's lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Slot {
    /// In neither list: nothing to do, or waiting for a completion or robots.txt.
    Parked,
    /// In the ready list.
    Ready,
    /// In the timer heap, due at this instant.
    Timer(Instant),
}

/// One host's queue, limits and robots.txt.
#[derive(Debug)]
pub(super) struct Host {
    /// `scheme://host:port`, for robots.txt and messages.
    pub(super) origin: Box<str>,
    pub(super) queue: VecDeque<Job>,
    pub(super) in_flight: usize,
    pub(super) last_start: Option<Instant>,
    /// Not before this instant (a `Retry-After`).
    pub(super) not_before: Option<Instant>,
    pub(super) backoff: Duration,
    pub(super) robots: RobotsState,
    pub(super) slot: Slot,
    pub(super) last_active: Instant,
}

impl Host {
    /// With nothing queued or running, keeps robots.txt as text only (see [`Rules::park`]).
    pub(super) fn park_rules_if_idle(&mut self) {
        if self.queue.is_empty()
            && self.in_flight == 0
            && let RobotsState::Known {
                rules: Some(rules), ..
            } = &mut self.robots
        {
            rules.park();
        }
    }

    pub(super) fn new(url: &Url, now: Instant) -> Self {
        Self {
            origin: url.origin().ascii_serialization().into(),
            queue: VecDeque::new(),
            in_flight: 0,
            last_start: None,
            not_before: None,
            backoff: Duration::ZERO,
            robots: RobotsState::Unknown,
            slot: Slot::Parked,
            last_active: now,
        }
    }

    /// Whether robots.txt must be fetched before this host's queue can move.
    pub(super) fn needs_robots(&self, policy: &Policy, now: Instant) -> bool {
        if !policy.respect_robots_txt || self.queue.is_empty() {
            return false;
        }
        match &self.robots {
            RobotsState::Unknown => true,
            RobotsState::Fetching => false,
            RobotsState::Known { expires, .. } => *expires <= now,
            RobotsState::Unreachable { retry_at, .. } => *retry_at <= now,
        }
    }

    /// Why robots.txt forbids `url`, if it does (as known now): the error
    /// kind of its record (`robots`, or the cause that kept robots.txt
    /// away) and the message.
    pub(super) fn refusal(
        &mut self,
        token: &str,
        url: &Url,
        now: Instant,
    ) -> Option<(&'static str, String)> {
        match &mut self.robots {
            RobotsState::Known {
                rules: Some(rules), ..
            } => (!rules.allows(token, url)).then(|| {
                let why = format!("`{url}` is disallowed by {}/robots.txt", self.origin);
                ("robots", why)
            }),
            RobotsState::Unreachable {
                reason, retry_at, ..
            } if *retry_at > now => Some((
                reason.kind,
                format!(
                    "{}/robots.txt is unreachable ({}), so the host counts as disallowing everything; `{url}` was not requested",
                    self.origin, reason.why
                ),
            )),
            _ => None,
        }
    }

    /// The gap kept between request starts: the largest of `per_host_delay`,
    /// the capped `Crawl-delay`, and the backoff.
    pub(super) fn delay(&self, policy: &Policy) -> Duration {
        let crawl_delay = match &self.robots {
            RobotsState::Known {
                rules: Some(rules), ..
            } if policy.respect_robots_txt => rules
                .crawl_delay()
                .map_or(Duration::ZERO, |d| d.min(policy.max_crawl_delay)),
            _ => Duration::ZERO,
        };
        policy.per_host_delay.max(crawl_delay).max(self.backoff)
    }

    /// When the next queued job may start; `None` when nothing can start
    /// before a completion or robots.txt (or nothing is queued).
    pub(super) fn when_ready(&self, policy: &Policy, now: Instant) -> Option<Instant> {
        if self.queue.is_empty() || matches!(self.robots, RobotsState::Fetching) {
            return None;
        }
        if policy.per_host_concurrency > 0 && self.in_flight >= policy.per_host_concurrency {
            return None;
        }
        let after_gap = self.last_start.map(|start| start + self.delay(policy));
        let at = [Some(now), after_gap, self.not_before]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(now);
        Some(at)
    }
}
