//! The dispatcher: the task between the producers and the worker pool.
//!
//! Producers (the seed feeder, the recrawl schedule, retries) send jobs into
//! the bounded input queue. The dispatcher sorts them into per-host queues
//! ([`Hosts`]) and hands a worker only a job whose host may be contacted now,
//! and only when a worker is free, so the moment a job is handed over is the
//! moment its request starts. robots.txt fetches run here too, counted against
//! the pool so that a crawl of many hosts never opens more connections than
//! `workers`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Instant, SystemTime};

use async_channel::{Receiver, Sender};
use async_std::task;
use futures_lite::future;
use url::Url;

use crate::crawl::follow::Rules;
use crate::crawl::politeness::robots::{self, Verdict};
use crate::crawl::politeness::{Action, HostKey, Hosts, Policy, ROBOTS_TTL, Refusal, Signal};
use crate::crawl::{Job, Message};
use crate::fetch::{Fetcher, RobotsResponse};
use crate::frontier::{Backoff, PageFacts, RobotsAnswer, SharedHosts};
use crate::observe::metrics::Metrics;
use crate::record::Record;

/// Jobs held in host queues at most; past this the producers wait.
pub const MAX_WAITING: usize = 100_000;

/// What the dispatcher is told besides new jobs.
#[derive(Debug)]
pub enum Event {
    /// A worker finished a request to this host.
    Done(HostKey, Signal),
    /// A robots.txt fetch finished (with the backoff the cluster shares
    /// for the host: delay, and wait before the next request).
    Robots(HostKey, Verdict, Option<Backoff>),
    /// The politeness settings changed (reload).
    Policy(Policy),
}

/// What the dispatcher works with.
pub struct Dispatcher {
    /// Jobs from the producers and retries.
    pub input: Receiver<Job>,
    /// Completions, robots.txt results and policy changes.
    pub events: Receiver<Event>,
    /// Where events are sent (robots.txt fetches report here).
    pub event_sender: Sender<Event>,
    /// The worker pool's queue.
    pub work: Sender<Job>,
    /// The size of the pool now; at most this many requests run at once.
    pub workers: Arc<AtomicUsize>,
    /// The current client, for robots.txt.
    pub fetcher: Arc<RwLock<Fetcher>>,
    /// Where refused jobs' records go.
    pub output: Sender<Message>,
    /// Told each URL whose outcome is final.
    pub finished: Sender<Url>,
    /// Where queue depth and hosts are reported.
    pub metrics: Arc<Metrics>,
    /// What the other nodes of a cluster share about hosts.
    pub shared: Option<Arc<dyn SharedHosts>>,
    /// The link rules (replaced on reload): a refused link out of scope
    /// was a check.
    pub rules: Arc<RwLock<Arc<Rules>>>,
}

/// What woke the dispatcher.
enum Wake {
    Job(Job),
    InputClosed,
    Event(Event),
    Timer,
}

impl Dispatcher {
    /// Runs until the input is closed and everything it held has been handed
    /// over and finished (then closes the work queue), or until the work
    /// queue is closed (shutdown).
    pub async fn run(self, policy: Policy) {
        let mut hosts = Hosts::new(policy, Instant::now());
        let mut running = 0usize;
        let mut input_open = true;
        loop {
            let now = Instant::now();
            if !self.hand_out(&mut hosts, &mut running, now) {
                return;
            }
            hosts.sweep_idle(now);
            self.metrics
                .set_queue(self.input.len() + hosts.waiting(), hosts.len());
            if !input_open && running == 0 && hosts.is_drained() {
                self.work.close();
                return;
            }
            if self.work.is_closed() {
                return;
            }
            let wake = self
                .next_wake(input_open && self.wants_jobs(&hosts, running), &mut hosts)
                .await;
            match wake {
                Wake::InputClosed => input_open = false,
                wake => self.handle(wake, &mut hosts, &mut running).await,
            }
        }
    }

    /// Hands work to free workers while hosts may be contacted now;
    /// `false` once the work queue is closed (shutdown).
    fn hand_out(&self, hosts: &mut Hosts, running: &mut usize, now: Instant) -> bool {
        while *running < self.workers.load(Ordering::SeqCst) {
            match hosts.next_action(now) {
                Some(Action::Fetch(job)) => {
                    if self.work.try_send(job).is_err() {
                        return false;
                    }
                }
                Some(Action::FetchRobots(key, url)) => {
                    self.fetch_robots(key, url, hosts_token(hosts));
                }
                None => break,
            }
            *running += 1;
        }
        true
    }

    /// Takes in what woke the dispatcher: a job, a finished request, a
    /// robots.txt, new settings, or a timer.
    async fn handle(&self, wake: Wake, hosts: &mut Hosts, running: &mut usize) {
        let now = Instant::now();
        match wake {
            Wake::Job(job) => {
                if let Some(refusal) = hosts.push(job, now) {
                    self.refuse(refusal).await;
                }
            }
            Wake::Event(Event::Done(key, signal)) => {
                *running = running.saturating_sub(1);
                hosts.completed(key, signal, now);
                if matches!(signal, Signal::SlowDown(_)) {
                    self.share_backoff(hosts, key, now);
                }
            }
            Wake::Event(Event::Robots(key, verdict, backoff)) => {
                *running = running.saturating_sub(1);
                if let Some(backoff) = backoff {
                    hosts.share_backoff(key, backoff, now);
                }
                for refusal in hosts.robots_fetched(key, verdict, now) {
                    self.refuse(refusal).await;
                }
            }
            Wake::Event(Event::Policy(policy)) => hosts.set_policy(policy, now),
            Wake::InputClosed | Wake::Timer => {}
        }
    }

    /// Whether to take more jobs from the input now. With every worker busy,
    /// a few waiting jobs are enough to keep them busy. With a worker free but
    /// nothing it may start (hosts at their limits), read ahead, up to
    /// [`MAX_WAITING`], to find jobs of other hosts: that is what keeps a slow
    /// host from holding back the rest, and it costs memory only then.
    fn wants_jobs(&self, hosts: &Hosts, running: usize) -> bool {
        let workers = self.workers.load(Ordering::SeqCst);
        let waiting = hosts.waiting();
        waiting < MAX_WAITING && (running < workers || waiting < workers)
    }

    /// Waits for a job (when `take_jobs`), an event, or the next host timer.
    async fn next_wake(&self, take_jobs: bool, hosts: &mut Hosts) -> Wake {
        let timer = hosts.next_timer();
        let job = async {
            if !take_jobs {
                return future::pending().await;
            }
            match self.input.recv().await {
                Ok(job) => Wake::Job(job),
                Err(_) => Wake::InputClosed,
            }
        };
        let event = async {
            match self.events.recv().await {
                Ok(event) => Wake::Event(event),
                Err(_) => future::pending().await,
            }
        };
        let timer = async {
            match timer {
                Some(at) => {
                    task::sleep(at.saturating_duration_since(Instant::now())).await;
                    Wake::Timer
                }
                None => future::pending().await,
            }
        };
        // Events first: they free capacity that waiting jobs need.
        future::or(event, future::or(timer, job)).await
    }

    /// Fetches a robots.txt in its own task and reports the verdict.
    fn fetch_robots(&self, key: HostKey, url: Url, token: String) {
        let fetcher = self
            .fetcher
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let events = self.event_sender.clone();
        let shared = self.shared.clone();
        task::spawn(async move {
            let backoff = match &shared {
                Some(shared) => {
                    let (shared, origin) = (Arc::clone(shared), url.origin().ascii_serialization());
                    task::spawn_blocking(move || shared.backoff(&origin)).await
                }
                None => None,
            };
            let response = fetch_shared_robots(&fetcher, &url, shared).await;
            let verdict = robots::judge(&token, &url, &response);
            log::debug!(
                "robots url={url} status={} verdict={}",
                response.status.map_or("-".to_owned(), |s| s.to_string()),
                match &verdict {
                    Verdict::Rules(_) => "rules",
                    Verdict::AllowAll(_) => "allow-all",
                    Verdict::DisallowAll(_) => "disallow-all",
                }
            );
            let _ = events.send(Event::Robots(key, verdict, backoff)).await;
        });
    }

    /// Tells the cluster the backoff `key` is under now (a 429/503 came).
    fn share_backoff(&self, hosts: &Hosts, key: HostKey, now: Instant) {
        let (Some(shared), Some(backoff), Some(origin)) = (
            &self.shared,
            hosts.backoff_of(key, now),
            hosts.origin_of(key),
        ) else {
            return;
        };
        let (shared, origin) = (Arc::clone(shared), origin.to_owned());
        task::spawn_blocking(move || shared.put_backoff(&origin, backoff));
    }

    /// Records a job robots.txt forbids: no request is made.
    async fn refuse(&self, Refusal { job, kind, why }: Refusal) {
        let record = refused_record(&job, kind, &why);
        let rules = Arc::clone(&self.rules.read().unwrap_or_else(PoisonError::into_inner));
        let facts = PageFacts {
            is_check: rules.is_check(&job),
            ..PageFacts::default()
        };
        let _ = self.finished.send(job.url).await;
        let _ = self
            .output
            .send(Message::Record(Box::new(record), facts))
            .await;
    }
}

fn hosts_token(hosts: &Hosts) -> String {
    hosts.policy().product_token.clone()
}

/// The record of a job not fetched because robots.txt forbids it (`kind`
/// `robots`) or could not be fetched (`kind` names the cause).
fn refused_record(job: &Job, kind: &str, why: &str) -> Record {
    let mut record = Record::new(&job.url, SystemTime::now());
    record.error = Some(format!("{kind}: {why}"));
    record.attempts = job.attempt;
    record.depth = job.depth();
    record.found_on = job.found_on().map(str::to_owned);
    record
}

/// The robots.txt at `url`: from the cluster's shared copy when one is
/// current, else fetched (and then shared with its expiry).
async fn fetch_shared_robots(
    fetcher: &Fetcher,
    url: &Url,
    shared: Option<Arc<dyn SharedHosts>>,
) -> RobotsResponse {
    let Some(shared) = shared else {
        return fetcher.fetch_robots(url).await;
    };
    let key = url.to_string();
    let cached = {
        let (shared, key) = (Arc::clone(&shared), key.clone());
        task::spawn_blocking(move || shared.robots(&key)).await
    };
    if let Some(answer) = cached {
        log::debug!("robots url={url}: the cluster's shared copy");
        return RobotsResponse {
            status: Some(answer.status),
            body: answer.body,
            is_from_public: answer.is_from_public,
            error: None,
        };
    }
    let response = fetcher.fetch_robots(url).await;
    // Answers are shared; a server error is tried again by whoever needs it.
    if let Some(status) = response.status.filter(|status| *status < 500) {
        let answer = RobotsAnswer {
            status,
            body: response.body.clone(),
            is_from_public: response.is_from_public,
        };
        task::spawn_blocking(move || shared.put_robots(&key, &answer, ROBOTS_TTL)).await;
    }
    response
}
