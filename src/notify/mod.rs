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
/// Deliveries under way at once, at most.
const MAX_IN_FLIGHT: usize = 16;
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

    /// Delivers until `stop` is closed: what is due is taken as soon as
    /// a delivery slot is free, else the outbox is looked at every second.
    pub async fn run(self, stop: Receiver<()>) {
        loop {
            let taken = self.pass().await;
            let stopped = async {
                let _ = stop.recv().await;
                true
            };
            let busy = taken + self.in_flight.load(Ordering::SeqCst);
            if future::or(stopped, self.next_pass(busy)).await {
                return;
            }
        }
    }

    /// Waits before the next pass: for a free slot when the last one took
    /// something (more may be due), else for [`POLL`]; never says stop.
    async fn next_pass(&self, taken: usize) -> bool {
        let polled = async {
            task::sleep(POLL).await;
            false
        };
        let freed = async {
            if taken == 0 {
                future::pending::<()>().await;
            }
            let _ = self.freed.1.recv().await;
            false
        };
        future::or(freed, polled).await
    }

    /// Delivers what is due until none is left (or `within` is over);
    /// returns how many wait still (for later, or undelivered).
    pub async fn drain(&self, within: Duration) -> u64 {
        let deadline = Instant::now() + within;
        loop {
            let taken = self.pass().await;
            let waiting = self.in_flight.load(Ordering::SeqCst);
            if (taken == 0 && waiting == 0) || Instant::now() >= deadline {
                break;
            }
            self.next_pass(taken.max(waiting)).await;
        }
        let status = self
            .store
            .call(|frontier, _| frontier.outbox_status())
            .await;
        status.and_then(Result::ok).map_or(0, |status| status.depth)
    }

    /// Takes what is due (as many as there are free slots) and starts their
    /// deliveries; returns how many it took.
    async fn pass(&self) -> usize {
        let room = MAX_IN_FLIGHT.saturating_sub(self.in_flight.load(Ordering::SeqCst));
        let lease = *read(&self.lease);
        let taken = self
            .store
            .call(move |frontier, _| {
                let taken = if room == 0 {
                    Ok(Vec::new())
                } else {
                    frontier.take_notices(SystemTime::now(), lease, room)
                };
                (taken, frontier.outbox_status(), frontier.outbox_refused())
            })
            .await;
        let Some((taken, status, refused)) = taken else {
            return 0;
        };
        if let Ok(status) = status {
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
            self.settle(&notice.id, Settlement::Done).await;
            return;
        };
        let poster = read(&self.poster).clone();
        let verdict = delivery::deliver(&poster, &target, notice).await;
        let settlement = self.judge(&target, &queued, verdict);
        self.settle(&notice.id, settlement).await;
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

    async fn settle(&self, id: &str, settlement: Settlement) {
        let id = id.to_owned();
        let settled = self
            .store
            .call(move |frontier, _| frontier.settle_notice(&id, settlement))
            .await;
        if let Some(Err(err)) = settled {
            // Left as it is, it is taken again when its lease is over.
            log::warn!(
                "notifications: a delivery could not be recorded ({err}); it may be sent again"
            );
        }
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
