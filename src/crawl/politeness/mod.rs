//! Politeness: per-host queues, limits and robots.txt state, and the fair
//! choice of what to fetch next.
//!
//! [`Hosts`] is pure bookkeeping (time is passed in); the dispatcher task
//! drives it. A host is a scheme + host + port. Each keeps its own queue, and
//! a host is offered to the workers only when it may be contacted now: its
//! robots.txt is known, it has a free slot (`per_host_concurrency`), and the
//! gap since its last request start is over (`per_host_delay`, `Crawl-delay`,
//! or its backoff after 429/503). Ready hosts take turns, one request each,
//! so a slow or busy host never holds back the others.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::hash::{BuildHasherDefault, DefaultHasher, Hash, Hasher};
use std::time::{Duration, Instant};

use url::Url;

use crate::config::PolitenessSettings;
use crate::crawl::Job;
use crate::frontier::Backoff;
use crate::urls::IdentityHasher;

mod host;
pub mod redirects;
pub mod robots;

use host::{Host, RobotsState, Slot};

use robots::Verdict;

/// How long a robots.txt is trusted (RFC 9309 §2.4: at most 24 hours).
pub const ROBOTS_TTL: Duration = Duration::from_secs(24 * 3600);
/// First wait before a robots.txt that could not be fetched is tried again; it doubles.
const ROBOTS_RETRY: Duration = Duration::from_secs(15);
/// Longest wait before a robots.txt that could not be fetched is tried again.
const MAX_ROBOTS_RETRY: Duration = Duration::from_secs(1800);
/// A host with nothing queued or running for this long is forgotten.
pub const IDLE_TTL: Duration = Duration::from_secs(1800);
/// The first backoff after a 429/503 when no delay is configured.
const MIN_BACKOFF: Duration = Duration::from_secs(1);

/// Identifies a host: a 64-bit fingerprint of scheme, host and port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostKey(u64);

impl HostKey {
    /// The host of `url`.
    pub fn of(url: &Url) -> Self {
        let mut hasher = DefaultHasher::new();
        url.scheme().hash(&mut hasher);
        url.host_str().hash(&mut hasher);
        url.port_or_known_default().hash(&mut hasher);
        Self(hasher.finish())
    }
}

/// The politeness settings in effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Whether robots.txt is fetched and obeyed.
    pub respect_robots_txt: bool,
    /// The token matched against `User-agent` lines.
    pub product_token: String,
    /// Requests in flight per host; 0 means no limit.
    pub per_host_concurrency: usize,
    /// Minimum gap between request starts to one host.
    pub per_host_delay: Duration,
    /// Cap on `Crawl-delay` and on the 429/503 backoff.
    pub max_crawl_delay: Duration,
}

impl Policy {
    /// The policy of `settings` for requests sent as `user_agent`.
    pub fn new(settings: &PolitenessSettings, user_agent: &str) -> Self {
        Self {
            respect_robots_txt: settings.respect_robots_txt,
            product_token: robots::product_token(user_agent),
            per_host_concurrency: settings.per_host_concurrency,
            per_host_delay: settings.per_host_delay,
            max_crawl_delay: settings.max_crawl_delay,
        }
    }
}

/// How a finished request went, as far as the host's pace is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// The server answered normally: ease any backoff.
    Answered,
    /// 429 or 503: slow down, and wait at least the `Retry-After`, if any.
    SlowDown(Option<Duration>),
    /// No answer (timeout, connection): pace unchanged.
    NoAnswer,
}

/// Something the dispatcher must do now.
#[derive(Debug)]
pub enum Action {
    /// Hand this job to a worker.
    Fetch(Job),
    /// Fetch this robots.txt for this host, then call [`Hosts::robots_fetched`].
    FetchRobots(HostKey, Url),
}

/// A job that is not fetched because robots.txt forbids it, or could not
/// be fetched.
#[derive(Debug)]
pub struct Refusal {
    /// The job.
    pub job: Job,
    /// The error kind of its record: `robots` when robots.txt disallows
    /// it, else the cause that kept robots.txt away (`connect`, `dns`,
    /// `tls`, `timeout`, `http_status`, …).
    pub kind: &'static str,
    /// Why: what robots.txt says, or why it could not be fetched.
    pub why: String,
}

/// Every known host, and which may be contacted when.
#[derive(Debug)]
pub struct Hosts {
    policy: Policy,
    hosts: HashMap<HostKey, Host, BuildHasherDefault<IdentityHasher>>,
    ready: VecDeque<HostKey>,
    timers: BinaryHeap<Reverse<(Instant, HostKey)>>,
    waiting: usize,
    robots_fetching: usize,
    last_sweep: Instant,
}

impl Hosts {
    /// No hosts yet.
    pub fn new(policy: Policy, now: Instant) -> Self {
        Self {
            policy,
            hosts: HashMap::default(),
            ready: VecDeque::new(),
            timers: BinaryHeap::new(),
            waiting: 0,
            robots_fetching: 0,
            last_sweep: now,
        }
    }

    /// The policy in effect.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Jobs waiting in host queues.
    pub fn waiting(&self) -> usize {
        self.waiting
    }

    /// Hosts known now.
    pub fn len(&self) -> usize {
        self.hosts.len()
    }

    /// Whether no host is known.
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }

    /// Whether nothing waits and no robots.txt fetch runs.
    pub fn is_drained(&self) -> bool {
        self.waiting == 0 && self.robots_fetching == 0
    }

    /// Queues `job` on its host, or refuses it when robots.txt is known to forbid it.
    pub fn push(&mut self, job: Job, now: Instant) -> Option<Refusal> {
        let key = HostKey::of(&job.url);
        let host = self
            .hosts
            .entry(key)
            .or_insert_with(|| Host::new(&job.url, now));
        host.last_active = now;
        if self.policy.respect_robots_txt
            && let Some((kind, why)) = host.refusal(&self.policy.product_token, &job.url, now)
        {
            return Some(Refusal { job, kind, why });
        }
        host.queue.push_back(job);
        self.waiting += 1;
        self.place(key, now);
        None
    }

    /// The next thing to do now, taking ready hosts in turn; `None` when
    /// nothing may start before [`Hosts::next_timer`] or a completion.
    pub fn next_action(&mut self, now: Instant) -> Option<Action> {
        self.wake_timers(now);
        while let Some(key) = self.ready.pop_front() {
            let policy = &self.policy;
            let Some(host) = self.hosts.get_mut(&key) else {
                continue;
            };
            host.slot = Slot::Parked;
            if host.needs_robots(policy, now) {
                host.robots = RobotsState::Fetching;
                host.last_start = Some(now);
                self.robots_fetching += 1;
                let url = Url::parse(&host.origin)
                    .ok()
                    .and_then(|origin| robots::robots_url(&origin));
                if let Some(url) = url {
                    return Some(Action::FetchRobots(key, url));
                }
                // An origin that does not parse back cannot have a robots.txt.
                self.robots_fetching -= 1;
                host.robots = RobotsState::Known {
                    rules: None,
                    expires: now + ROBOTS_TTL,
                };
            }
            if host.when_ready(policy, now) == Some(now)
                && let Some(job) = host.queue.pop_front()
            {
                self.waiting -= 1;
                if host.queue.is_empty() {
                    // A queue keeps its capacity; an idle host should not.
                    host.queue = VecDeque::new();
                }
                host.in_flight += 1;
                host.last_start = Some(now);
                host.last_active = now;
                self.place(key, now);
                return Some(Action::Fetch(job));
            }
            self.place(key, now);
        }
        None
    }

    /// When the earliest waiting host may be contacted.
    pub fn next_timer(&mut self) -> Option<Instant> {
        // Entries left behind when a host was placed again are dropped here.
        while let Some(Reverse((at, key))) = self.timers.peek().copied() {
            if self
                .hosts
                .get(&key)
                .is_some_and(|host| host.slot == Slot::Timer(at))
            {
                return Some(at);
            }
            self.timers.pop();
        }
        None
    }

    /// A request to `key` finished.
    pub fn completed(&mut self, key: HostKey, signal: Signal, now: Instant) {
        let Some(host) = self.hosts.get_mut(&key) else {
            return;
        };
        host.in_flight = host.in_flight.saturating_sub(1);
        host.last_active = now;
        let delay = host.delay(&self.policy);
        match signal {
            Signal::SlowDown(retry_after) => {
                let doubled = delay.saturating_mul(2).max(MIN_BACKOFF);
                let cap = self.policy.max_crawl_delay.max(self.policy.per_host_delay);
                host.backoff = doubled.min(cap);
                if let Some(wait) = retry_after {
                    host.not_before = Some(now + wait.min(cap));
                }
                log::debug!(
                    "host {} asked to slow down: {} between requests",
                    host.origin,
                    humantime::format_duration(host.backoff)
                );
            }
            Signal::Answered => {
                host.backoff /= 2;
                if host.backoff < Duration::from_millis(10) {
                    host.backoff = Duration::ZERO;
                }
            }
            Signal::NoAnswer => {}
        }
        host.park_rules_if_idle();
        self.place(key, now);
    }

    /// The origin of `key` (`scheme://host:port`), when the host is known.
    pub fn origin_of(&self, key: HostKey) -> Option<&str> {
        self.hosts.get(&key).map(|host| &*host.origin)
    }

    /// The backoff `key` is under, to share with other nodes.
    pub fn backoff_of(&self, key: HostKey, now: Instant) -> Option<Backoff> {
        let host = self.hosts.get(&key)?;
        let wait = host
            .not_before
            .map_or(Duration::ZERO, |at| at.saturating_duration_since(now));
        (!host.backoff.is_zero() || !wait.is_zero()).then_some(Backoff {
            delay: host.backoff,
            wait,
        })
    }

    /// Applies a backoff another node saw for `key` (the larger one holds).
    pub fn share_backoff(&mut self, key: HostKey, shared: Backoff, now: Instant) {
        let Backoff {
            delay: backoff,
            wait,
        } = shared;
        let cap = self.policy.max_crawl_delay.max(self.policy.per_host_delay);
        let Some(host) = self.hosts.get_mut(&key) else {
            return;
        };
        host.backoff = host.backoff.max(backoff.min(cap));
        if !wait.is_zero() {
            let until = now + wait.min(cap);
            host.not_before = Some(host.not_before.map_or(until, |at| at.max(until)));
        }
    }

    /// The robots.txt of `key` was fetched; returns the queued jobs it now forbids.
    pub fn robots_fetched(&mut self, key: HostKey, verdict: Verdict, now: Instant) -> Vec<Refusal> {
        self.robots_fetching = self.robots_fetching.saturating_sub(1);
        let Some(host) = self.hosts.get_mut(&key) else {
            return Vec::new();
        };
        let failures = match &host.robots {
            RobotsState::Unreachable { failures, .. } => *failures,
            _ => 0,
        };
        host.robots = match verdict {
            Verdict::Rules(rules) => RobotsState::Known {
                rules: Some(Box::new(rules)),
                expires: now + ROBOTS_TTL,
            },
            Verdict::AllowAll(why) => {
                log::debug!("robots.txt of {}: no restrictions ({why})", host.origin);
                RobotsState::Known {
                    rules: None,
                    expires: now + ROBOTS_TTL,
                }
            }
            Verdict::DisallowAll(unreachable) => {
                let wait = ROBOTS_RETRY
                    .saturating_mul(1 << failures.min(16))
                    .min(MAX_ROBOTS_RETRY);
                log::warn!(
                    "robots.txt of {} could not be fetched ({unreachable}); the host counts as disallowing everything for {}",
                    host.origin,
                    humantime::format_duration(wait)
                );
                RobotsState::Unreachable {
                    reason: Box::new(unreachable),
                    retry_at: now + wait,
                    failures: failures + 1,
                }
            }
        };
        let mut refused = Vec::new();
        let mut kept = VecDeque::with_capacity(host.queue.len());
        let token = &self.policy.product_token;
        for job in std::mem::take(&mut host.queue) {
            match host.refusal(token, &job.url, now) {
                Some((kind, why)) => refused.push(Refusal { job, kind, why }),
                None => kept.push_back(job),
            }
        }
        host.queue = kept;
        host.park_rules_if_idle();
        self.waiting -= refused.len();
        self.place(key, now);
        refused
    }

    /// Applies a new policy; hosts are placed again under it.
    pub fn set_policy(&mut self, policy: Policy, now: Instant) {
        if policy.product_token != self.policy.product_token {
            for host in self.hosts.values_mut() {
                if matches!(host.robots, RobotsState::Known { .. }) {
                    host.robots = RobotsState::Unknown;
                }
            }
        }
        self.policy = policy;
        let keys: Vec<HostKey> = self.hosts.keys().copied().collect();
        for key in keys {
            if let Some(host) = self.hosts.get_mut(&key) {
                host.slot = Slot::Parked;
            }
        }
        self.ready.clear();
        self.timers.clear();
        let keys: Vec<HostKey> = self.hosts.keys().copied().collect();
        for key in keys {
            self.place(key, now);
        }
    }

    /// Forgets hosts idle for [`IDLE_TTL`]; runs at most once a minute.
    pub fn sweep_idle(&mut self, now: Instant) {
        if now.duration_since(self.last_sweep) < Duration::from_secs(60) {
            return;
        }
        self.last_sweep = now;
        self.hosts.retain(|_, host| {
            let is_idle = host.queue.is_empty()
                && host.in_flight == 0
                && host.slot == Slot::Parked
                && !matches!(host.robots, RobotsState::Fetching);
            !(is_idle && now.duration_since(host.last_active) >= IDLE_TTL)
        });
    }

    /// Moves hosts whose wait is over into the ready list.
    fn wake_timers(&mut self, now: Instant) {
        while let Some(Reverse((at, key))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            self.timers.pop();
            if let Some(host) = self.hosts.get_mut(&key)
                && host.slot == Slot::Timer(at)
            {
                host.slot = Slot::Parked;
                self.place(key, now);
            }
        }
    }

    /// Puts `key` in the list its state calls for (ready, timer, or neither).
    fn place(&mut self, key: HostKey, now: Instant) {
        let Some(host) = self.hosts.get_mut(&key) else {
            return;
        };
        if host.slot == Slot::Ready {
            return;
        }
        let due = if host.needs_robots(&self.policy, now) {
            Some(now)
        } else {
            host.when_ready(&self.policy, now)
        };
        match due {
            Some(at) if at <= now => {
                host.slot = Slot::Ready;
                self.ready.push_back(key);
            }
            Some(at) => {
                if host.slot != Slot::Timer(at) {
                    host.slot = Slot::Timer(at);
                    self.timers.push(Reverse((at, key)));
                }
            }
            None => host.slot = Slot::Parked,
        }
    }
}

#[cfg(test)]
mod tests;
