//! What the crawl has done so far: Prometheus counters and gauges, the
//! periodic stats line, and the health status behind `/healthz`.
//!
//! One [`Metrics`] is shared by the workers (fetch durations, retries,
//! in-flight), the dispatcher (queue depth, hosts), the output task (one
//! count per record, so the counters always match the JSON lines) and the
//! service (reloads, seeds, workers).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

mod notify;
mod register;
mod render;
mod stats;

pub use notify::{DeliveryResult, NotifyMetrics};
pub use render::RenderMetrics;
use stats::Samples;
pub use stats::Snapshot;
pub mod server;

/// Upper bounds of the fetch duration buckets, in seconds.
const DURATION_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Fetch durations kept between two stats lines for the percentiles.
const MAX_SAMPLES: usize = 10_000;

/// The `outcome` label of `crawler_pages_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

/// The `kind` label of `crawler_fetch_errors_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: String,
}

/// The `result` label of `crawler_config_reloads_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

/// The `reason` label of `crawler_links_skipped_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

/// The last reload, for `/healthz`.
#[derive(Debug, Clone)]
struct LastReload {
    at: SystemTime,
    error: Option<String>,
}

/// Every metric of the process.
pub struct Metrics {
    registry: Registry,
    pages: Family<OutcomeLabel, Counter>,
    fetch_errors: Family<KindLabel, Counter>,
    retries: Counter,
    robots_denied: Counter,
    fetched_bytes: Counter,
    fetch_duration: Histogram,
    queue_depth: Gauge,
    in_flight: Gauge,
    workers: Gauge,
    seeds: Gauge,
    hosts: Gauge,
    reloads: Family<ResultLabel, Counter>,
    last_reload_success: Gauge<f64, AtomicU64>,
    started_at: SystemTime,
    last_reload: Mutex<Option<LastReload>>,
    state_unsaved: Gauge,
    state_write_errors: Counter,
    links_found: Counter,
    links_skipped: Family<ReasonLabel, Counter>,
    discovered: Counter,
    /// Since when the state file cannot be written, and why.
    state_failing: Mutex<Option<(SystemTime, String)>>,
    samples: Mutex<Samples>,
    error_kinds: Mutex<BTreeMap<String, u64>>,
    stats_interval_ms: AtomicU64,
    /// Notifications: deliveries, the outbox, failing targets.
    pub notify: NotifyMetrics,
    /// The rendering metrics.
    pub render: RenderMetrics,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// All metrics at zero, registered under the `crawler_` prefix.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("crawler");
        let metrics = Self {
            pages: Family::default(),
            fetch_errors: Family::default(),
            retries: Counter::default(),
            robots_denied: Counter::default(),
            fetched_bytes: Counter::default(),
            fetch_duration: Histogram::new(DURATION_BUCKETS),
            queue_depth: Gauge::default(),
            in_flight: Gauge::default(),
            workers: Gauge::default(),
            seeds: Gauge::default(),
            hosts: Gauge::default(),
            reloads: Family::default(),
            last_reload_success: Gauge::default(),
            started_at: SystemTime::now(),
            last_reload: Mutex::new(None),
            state_unsaved: Gauge::default(),
            state_write_errors: Counter::default(),
            links_found: Counter::default(),
            links_skipped: Family::default(),
            discovered: Counter::default(),
            state_failing: Mutex::new(None),
            samples: Mutex::new(Samples::default()),
            error_kinds: Mutex::new(BTreeMap::new()),
            stats_interval_ms: AtomicU64::new(0),
            notify: NotifyMetrics::default(),
            render: RenderMetrics::default(),
            registry: Registry::default(),
        };
        for outcome in ["ok", "failed"] {
            let _ = metrics.pages.get_or_create(&OutcomeLabel { outcome });
        }
        for result in ["ok", "error"] {
            let _ = metrics.reloads.get_or_create(&ResultLabel { result });
        }
        metrics.register(&mut registry);
        Self {
            registry,
            ..metrics
        }
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry);
        text
    }

    /// Counts a final record by its error kind (`None`: a page) and the
    /// body bytes it read.
    pub fn record(&self, error_kind: Option<&str>, bytes: u64) {
        let outcome = if error_kind.is_some() { "failed" } else { "ok" };
        self.pages.get_or_create(&OutcomeLabel { outcome }).inc();
        if let Some(kind) = error_kind {
            if kind == "robots" {
                self.robots_denied.inc();
            }
            let kind = kind.to_owned();
            *self
                .error_kinds
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(kind.clone())
                .or_default() += 1;
            self.fetch_errors.get_or_create(&KindLabel { kind }).inc();
        }
        self.fetched_bytes.inc_by(bytes);
    }

    /// A page's links were judged: `found` in all, `skipped` by reason.
    pub fn links_judged(&self, found: usize, skipped: &[(&'static str, u64)]) {
        self.links_found.inc_by(found as u64);
        for (reason, count) in skipped {
            self.links_skipped
                .get_or_create(&ReasonLabel { reason })
                .inc_by(*count);
        }
    }

    /// The store added `count` URLs to the crawl.
    pub fn discovered(&self, count: u64) {
        self.discovered.inc_by(count);
    }

    /// The store left out `count` links: their host has `max_pages_per_host` URLs.
    pub fn links_over_limit(&self, count: u64) {
        if count > 0 {
            self.links_skipped
                .get_or_create(&ReasonLabel {
                    reason: "max_pages_per_host",
                })
                .inc_by(count);
        }
    }

    /// URLs discovered so far.
    pub fn discovered_total(&self) -> u64 {
        self.discovered.get()
    }

    /// A request started.
    pub fn fetch_started(&self) {
        self.in_flight.inc();
    }

    /// A request ended after `elapsed`.
    pub fn fetch_ended(&self, elapsed: Duration) {
        self.in_flight.dec();
        self.fetch_duration.observe(elapsed.as_secs_f64());
        self.samples
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .add(elapsed);
    }

    /// How often the stats line is logged (`stats_interval`); zero: never.
    pub fn stats_interval(&self) -> Duration {
        Duration::from_millis(self.stats_interval_ms.load(Ordering::Relaxed))
    }

    /// Sets how often the stats line is logged.
    pub fn set_stats_interval(&self, interval: Duration) {
        let millis = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX);
        self.stats_interval_ms.store(millis, Ordering::Relaxed);
    }

    /// Requests running now.
    pub fn in_flight(&self) -> usize {
        usize::try_from(self.in_flight.get()).unwrap_or(0)
    }

    /// A request will be sent again.
    pub fn retried(&self) {
        self.retries.inc();
    }

    /// Jobs waiting and hosts known, as the dispatcher sees them.
    pub fn set_queue(&self, waiting: usize, hosts: usize) {
        self.queue_depth
            .set(i64::try_from(waiting).unwrap_or(i64::MAX));
        self.hosts.set(i64::try_from(hosts).unwrap_or(i64::MAX));
    }

    /// Jobs waiting.
    pub fn queue_depth(&self) -> usize {
        usize::try_from(self.queue_depth.get()).unwrap_or(0)
    }

    /// `workers` as last set.
    pub fn workers(&self) -> usize {
        usize::try_from(self.workers.get()).unwrap_or(0)
    }

    /// The pool size and seed count in effect.
    pub fn set_config(&self, workers: usize, seeds: usize) {
        self.workers.set(i64::try_from(workers).unwrap_or(i64::MAX));
        self.seeds.set(i64::try_from(seeds).unwrap_or(i64::MAX));
    }

    /// A reload was applied, or rejected with `error`.
    pub fn reloaded(&self, error: Option<String>) {
        let at = SystemTime::now();
        let result = if error.is_some() { "error" } else { "ok" };
        self.reloads.get_or_create(&ResultLabel { result }).inc();
        if error.is_none() {
            self.last_reload_success.set(unix_seconds(at));
        }
        *self
            .last_reload
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(LastReload { at, error });
    }

    /// The config was loaded at start.
    pub fn config_loaded(&self) {
        self.last_reload_success
            .set(unix_seconds(SystemTime::now()));
    }

    /// A commit to the state file was tried: `unsaved` results wait, and
    /// `error` says why it failed, if it did.
    pub fn state_written(&self, unsaved: usize, error: Option<String>) {
        self.state_unsaved
            .set(i64::try_from(unsaved).unwrap_or(i64::MAX));
        let mut failing = self
            .state_failing
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match error {
            Some(error) => {
                self.state_write_errors.inc();
                let since = failing.as_ref().map_or_else(SystemTime::now, |(at, _)| *at);
                *failing = Some((since, error));
            }
            None => *failing = None,
        }
    }

    /// The one-line JSON of `/healthz`.
    pub fn health(&self) -> String {
        let last = self
            .last_reload
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let last_reload = last.map(|last| {
            serde_json::json!({
                "ok": last.error.is_none(),
                "at": rfc3339(last.at),
                "error": last.error,
            })
        });
        let failing = self
            .state_failing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let state = serde_json::json!({
            "ok": failing.is_none(),
            "failing_since": failing.as_ref().map(|(at, _)| rfc3339(*at)),
            "error": failing.map(|(_, error)| error),
            "unsaved": self.state_unsaved.get(),
        });
        let (notify, is_notify_degraded) = self.notify.health(SystemTime::now());
        let status = if state["ok"] == true && !is_notify_degraded {
            "ok"
        } else {
            "degraded"
        };
        serde_json::json!({
            "status": status,
            "up_since": rfc3339(self.started_at),
            "last_reload": last_reload,
            "state": state,
            "notify": notify,
        })
        .to_string()
    }
}

fn unix_seconds(at: SystemTime) -> f64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64())
}

fn rfc3339(at: SystemTime) -> String {
    humantime::format_rfc3339_seconds(at).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_the_samples() {
        let mut samples = Samples::default();
        for ms in 1..=100 {
            samples.add(Duration::from_millis(ms));
        }
        let (p50, p95) = samples.take_percentiles();
        assert_eq!(p50, Some(Duration::from_millis(51)));
        assert_eq!(p95, Some(Duration::from_millis(95)));
        assert_eq!(samples.take_percentiles(), (None, None));
    }

    #[test]
    fn names_follow_prometheus_conventions() {
        let metrics = Metrics::new();
        metrics.fetch_ended(Duration::from_millis(20));
        let text = metrics.encode();
        for name in [
            "crawler_pages_total",
            "crawler_retries_total",
            "crawler_fetched_bytes_total",
            "crawler_fetch_duration_seconds_bucket",
            "crawler_start_time_seconds",
            "crawler_config_last_reload_success_timestamp_seconds",
            "crawler_in_flight_fetches",
        ] {
            assert!(text.contains(name), "{name} missing in:\n{text}");
        }
    }
}
