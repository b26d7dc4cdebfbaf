//! Delivering notifications: a task takes what is due from the store's
//! outbox (under a lease), POSTs each to its target beside the crawl (a
//! slow or dead receiver holds one delivery slot, never a worker), and
//! settles it: delivered, tried again with backoff, or given up with an
//! ERROR. At least once: a notification leaves the outbox only once its
//! target took it or it was given up.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime};

use async_channel::Receiver;
use async_std::task;
use futures_lite::future;

use crate::config::Config;
use crate::config::notify::Target;
use crate::fetch::Poster;
use crate::frontier::store::Store;
use crate::frontier::{MAX_OUTBOX, Queued, Settlement};
use crate::observe::metrics::{DeliveryResult, Metrics};

pub mod delivery;
pub mod payload;

use delivery::Verdict;

/// How often the outbox is looked at.
const POLL: Duration = Duration::from_secs(1);
/// Deliveries under way at once, at most. The outbox is read again once
/// half of them ended, so that each read takes a batch.
const MAX_IN_FLIGHT: usize = 32;
/// Deliveries started a second at most while the crawl has requests
/// running: the crawl keeps the processor (a delivery costs about as much
/// as a page), the outbox drains at full speed once the crawl is idle.
const BUSY_RATE: f64 = 200.0;
/// How long a paced pass waits for more tokens.
const PACE_STEP: Duration = Duration::from_millis(20);
/// A notification not delivered within this long is given up.
pub const MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// The delivery task's handle; cheap to clone.
#[derive(Clone)]
pub struct Notifier {
    store: Store,
    poster: Arc<RwLock<Poster>>,
    targets: Arc<RwLock<Arc<[Target]>>>,
    metrics: Arc<Metrics>,
    lease: Arc<RwLock<Duration>>,
    in_flight: Arc<AtomicUsize>,
    /// Targets whose last attempt failed (said once at WARN, once at INFO when they take again).
    failing: Arc<Mutex<HashSet<String>>>,
    /// Refusals by a full outbox said so far.
    refused: Arc<AtomicUsize>,
    /// Told when a delivery ends: a slot is free for the next.
    freed: (async_channel::Sender<()>, Receiver<()>),
    /// Deliveries ended and not yet written to the outbox (the next pass writes them).
    settled: Arc<Mutex<Vec<(String, Settlement)>>>,
    /// When the outbox's size was last read (for the metrics).
    counted_at: Arc<Mutex<Option<Instant>>>,
    /// How many deliveries may start now while the crawl is fetching.
    pace: Arc<Mutex<Pace>>,
}

/// What to wait for before the next pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    /// Deliveries fill the slots: until half of them are free.
    Freed,
    /// The pace holds deliveries back while the crawl fetches: a moment.
    Paced,
    /// Nothing more is due: a second, or until the last delivery ends.
    Idle,
}

/// The pace of deliveries while the crawl is fetching: [`BUSY_RATE`] a
/// second (a token bucket of [`MAX_IN_FLIGHT`]); none once it is idle.
#[derive(Debug)]
struct Pace {
    tokens: f64,
    at: Instant,
}

impl Default for Pace {
    fn default() -> Self {
        Self {
            tokens: MAX_IN_FLIGHT as f64,
            at: Instant::now(),
        }
    }
}

impl Pace {
    /// How many of `free` slots may be used now.
    fn allow(&mut self, is_crawling: bool, free: usize) -> usize {
        let now = Instant::now();
        let earned = now.duration_since(self.at).as_secs_f64() * BUSY_RATE;
        self.tokens = (self.tokens + earned).min(MAX_IN_FLIGHT as f64);
        self.at = now;
        if is_crawling {
            free.min(self.tokens as usize)
        } else {
            free
        }
    }

    /// `count` deliveries started.
    fn spend(&mut self, count: usize) {
        self.tokens = (self.tokens - count as f64).max(0.0);
    }
}

impl Notifier {
    /// A notifier for `config`'s targets over `store`'s outbox.
    ///
    /// # Errors
    /// The HTTP client cannot be built.
    pub fn new(config: &Config, store: &Store, metrics: &Arc<Metrics>) -> anyhow::Result<Self> {
        Ok(Self {
            store: store.clone(),
            poster: Arc::new(RwLock::new(Poster::new(config)?)),
            targets: Arc::new(RwLock::new(config.notify.clone().into())),
            metrics: Arc::clone(metrics),
            lease: Arc::new(RwLock::new(lease_of(config))),
            in_flight: Arc::new(AtomicUsize::new(0)),
            failing: Arc::default(),
            refused: Arc::default(),
            freed: async_channel::bounded(1),
            settled: Arc::default(),
            counted_at: Arc::default(),
            pace: Arc::default(),
        })
    }

    /// Applies a reloaded config: targets added, changed and removed, client settings.
    pub fn set_config(&self, config: &Config) {
        match Poster::new(config) {
            Ok(poster) => *write(&self.poster) = poster,
            Err(err) => log::error!(
                "cannot rebuild the notifications' HTTP client ({err}); deliveries keep the old settings"
            ),
        }
        *write(&self.lease) = lease_of(config);
        *write(&self.targets) = config.notify.clone().into();
        let names: Vec<&str> = config.notify.iter().map(|t| t.name.as_str()).collect();
        self.metrics.notify.keep_targets(&names);
    }

    /// Delivers until `stop` is closed.
    pub async fn run(self, stop: Receiver<()>) {
        loop {
            let (_, next) = self.pass().await;
            let stopped = async {
                let _ = stop.recv().await;
                true
            };
            let waited = async {
                self.wait(next).await;
                false
            };
            if future::or(stopped, waited).await {
                // What ended is written; what is under way is taken again after its lease.
                self.pass_with(0).await;
                return;
            }
        }
    }

    /// Delivers what is due until none is left (or `within` is over);
    /// returns how many wait still (for later, or undelivered).
    pub async fn drain(&self, within: Duration) -> u64 {
        let deadline = Instant::now() + within;
        loop {
            let (taken, next) = self.pass().await;
            let waiting = self.in_flight.load(Ordering::SeqCst);
            if (taken == Some(0) && waiting == 0) || Instant::now() >= deadline {
                break;
            }
            self.wait(next).await;
        }
        self.pass_with(0).await;
        let status = self
            .store
            .call(|frontier, _| frontier.outbox_status())
            .await;
        status.and_then(Result::ok).map_or(0, |status| status.depth)
    }

    /// Waits as `next` says.
    async fn wait(&self, next: Next) {
        let polled = async {
            let wait = if next == Next::Paced { PACE_STEP } else { POLL };
            task::sleep(wait).await;
        };
        let freed = async {
            if next == Next::Paced {
                future::pending::<()>().await;
            }
            loop {
                let _ = self.freed.1.recv().await;
                let in_flight = self.in_flight.load(Ordering::SeqCst);
                let enough = match next {
                    Next::Freed => MAX_IN_FLIGHT / 2,
                    Next::Paced | Next::Idle => 0,
                };
                if in_flight <= enough {
                    return;
                }
            }
        };
        future::or(freed, polled).await;
    }

    /// Writes the deliveries that ended, takes what is due (as many as
    /// slots are free and the pace allows) and starts their deliveries;
    /// returns how many it took (`None`: it did not look) and what to wait for.
    async fn pass(&self) -> (Option<usize>, Next) {
        let free = MAX_IN_FLIGHT.saturating_sub(self.in_flight.load(Ordering::SeqCst));
        if free == 0 {
            return (None, Next::Freed);
        }
        let allowed = lock(&self.pace).allow(self.metrics.in_flight() > 0, free);
        if allowed == 0 {
            return (None, Next::Paced);
        }
        let taken = self.pass_with(allowed).await;
        lock(&self.pace).spend(taken);
        let next = if taken < allowed {
            Next::Idle
        } else if allowed < free {
            Next::Paced
        } else {
            Next::Freed
        };
        (Some(taken), next)
    }

    /// [`Self::pass`] with `room` slots (0: only write what ended).
    async fn pass_with(&self, room: usize) -> usize {
        let lease = *read(&self.lease);
        let settled = std::mem::take(&mut *lock(&self.settled));
        let count_now = {
            let mut counted_at = lock(&self.counted_at);
            let due = counted_at.is_none_or(|at| at.elapsed() >= POLL);
            if due {
                *counted_at = Some(Instant::now());
            }
            due
        };
        let answer = self
            .store
            .call(move |frontier, _| {
                let written = frontier
                    .settle_notices(&settled)
                    .map_err(|err| (err, settled));
                let taken = if room == 0 {
                    Ok(Vec::new())
                } else {
                    frontier.take_notices(SystemTime::now(), lease, room)
                };
                let status = count_now.then(|| frontier.outbox_status());
                (written, taken, status, frontier.outbox_refused())
            })
            .await;
        let Some((written, taken, status, refused)) = answer else {
            return 0;
        };
        if let Err((err, settled)) = written {
            log::warn!("notifications: deliveries could not be recorded now ({err}); tried again");
            lock(&self.settled).extend(settled);
        }
        if let Some(Ok(status)) = status {
            self.metrics.notify.set_outbox(status.depth, status.oldest);
        }
        self.say_refused(refused);
        let taken = match taken {
            Ok(taken) => taken,
            Err(err) => {
                log::debug!("notifications: the outbox cannot be read now: {err}");
                return 0;
            }
        };
        let count = taken.len();
        for queued in taken {
            self.in_flight.fetch_add(1, Ordering::SeqCst);
            let notifier = self.clone();
            task::spawn(async move {
                notifier.deliver(queued).await;
                notifier.in_flight.fetch_sub(1, Ordering::SeqCst);
                let _ = notifier.freed.0.try_send(());
            });
        }
        count
    }

    /// Says at ERROR how many notifications a full outbox refused since the last time.
    fn say_refused(&self, refused: u64) {
        let refused = usize::try_from(refused).unwrap_or(usize::MAX);
        let said = self.refused.swap(refused, Ordering::SeqCst);
        if refused > said {
            log::error!(
                "the notification outbox is full ({MAX_OUTBOX} waiting): {} new notifications were dropped; check that the targets take deliveries (crawler status, /healthz)",
                refused - said
            );
            self.metrics.notify.refused((refused - said) as u64);
        }
    }

    /// Delivers one notification and settles it.
    async fn deliver(&self, queued: Queued) {
        let notice = &queued.notice;
        let target = read(&self.targets)
            .iter()
            .find(|target| target.name == notice.target)
            .cloned();
        let Some(target) = target else {
            log::warn!(
                "notification {} for `{}` dropped: no [[notify]] target has that name any more",
                notice.id,
                notice.target
            );
            let result = DeliveryResult::Dropped;
            self.metrics
                .notify
                .delivered(&notice.target, result, None, Duration::MAX);
            self.settle(&notice.id, Settlement::Done);
            return;
        };
        let poster = read(&self.poster).clone();
        let verdict = delivery::deliver(&poster, &target, notice).await;
        let settlement = self.judge(&target, &queued, verdict);
        self.settle(&notice.id, settlement);
    }

    /// What `verdict` means for `queued`: counted, logged, and how it is settled.
    fn judge(&self, target: &Target, queued: &Queued, verdict: Verdict) -> Settlement {
        let notice = &queued.notice;
        let name = target.name.as_str();
        let count = |result, failure| {
            self.metrics
                .notify
                .delivered(name, result, failure, target.degraded_after);
        };
        match verdict {
            Verdict::Delivered(status) => {
                count(DeliveryResult::Sent, None);
                if lock(&self.failing).remove(name) {
                    log::info!("notify target `{name}` takes notifications again");
                }
                log::debug!(
                    "notified `{name}` ({}) of {} on {}: HTTP {status}",
                    target.shown_url(),
                    notice.event.as_str(),
                    notice.url
                );
                Settlement::Done
            }
            Verdict::Retry { kind, why, after } => {
                let wait = delivery::backoff(queued.attempts, after);
                let age = queued.created_at.elapsed().unwrap_or_default();
                if age + wait > MAX_AGE {
                    count(DeliveryResult::Dropped, Some((kind, why.clone())));
                    log::error!(
                        "notification {} for `{name}` ({}) given up after {} attempts over {}: {why}",
                        notice.id,
                        target.shown_url(),
                        queued.attempts + 1,
                        humantime::format_duration(Duration::from_secs(age.as_secs()))
                    );
                    return Settlement::Done;
                }
                count(DeliveryResult::Retried, Some((kind, why.clone())));
                if lock(&self.failing).insert(name.to_owned()) {
                    log::warn!(
                        "notify target `{name}` ({}) failed: {why}; notifications wait in the outbox and are tried again with backoff",
                        target.shown_url()
                    );
                }
                Settlement::RetryAt(SystemTime::now() + wait)
            }
            Verdict::Drop { why } => {
                count(DeliveryResult::Dropped, Some(("refused", why.clone())));
                log::error!(
                    "notification {} ({} on {}) for `{name}` ({}) dropped: {why}",
                    notice.id,
                    notice.event.as_str(),
                    notice.url,
                    target.shown_url()
                );
                Settlement::Done
            }
        }
    }

    /// Keeps how a delivery ended, for the next pass to write.
    fn settle(&self, id: &str, settlement: Settlement) {
        lock(&self.settled).push((id.to_owned(), settlement));
    }
}

/// How long a taken notification is hidden from others: long enough for
/// its delivery (with a redirect) to end.
fn lease_of(config: &Config) -> Duration {
    config.settings.request_timeout * 2 + Duration::from_secs(5)
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

fn lock<T>(lock: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    lock.lock().unwrap_or_else(PoisonError::into_inner)
}
