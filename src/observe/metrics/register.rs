//! The metrics' names and help texts, as Prometheus lists them.

use std::sync::atomic::AtomicU64;

use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

use super::{Metrics, unix_seconds};

impl Metrics {
    /// Registers every metric in `registry`.
    pub(super) fn register(&self, registry: &mut Registry) {
        self.register_fetches(registry);
        self.register_scheduler(registry);
        self.register_state_and_links(registry);
        self.notify.register(registry);
        self.render.register(registry);
    }

    /// Pages, errors, retries, bytes and durations.
    fn register_fetches(&self, registry: &mut Registry) {
        registry.register(
            "pages",
            "URLs that ended as a record, by outcome (ok, failed)",
            self.pages.clone(),
        );
        registry.register(
            "fetch_errors",
            "Failed records by error kind (timeout, connect, http_status, robots, ...)",
            self.fetch_errors.clone(),
        );
        registry.register(
            "retries",
            "Requests sent again after a transient failure",
            self.retries.clone(),
        );
        registry.register(
            "robots_denied",
            "Pages not requested because robots.txt disallows them",
            self.robots_denied.clone(),
        );
        registry.register_with_unit(
            "fetched",
            "Body bytes read (after decompression)",
            Unit::Bytes,
            self.fetched_bytes.clone(),
        );
        registry.register_with_unit(
            "fetch_duration",
            "Time of one request, redirects and body included",
            Unit::Seconds,
            self.fetch_duration.clone(),
        );
    }

    /// The queue, the pool, the seeds and hosts, and config reloads.
    fn register_scheduler(&self, registry: &mut Registry) {
        registry.register(
            "queue_depth",
            "Jobs waiting: in the queue and in host queues",
            self.queue_depth.clone(),
        );
        registry.register(
            "in_flight_fetches",
            "Requests running now",
            self.in_flight.clone(),
        );
        registry.register("workers", "Size of the worker pool", self.workers.clone());
        registry.register("seeds", "Distinct seeds configured", self.seeds.clone());
        registry.register("hosts", "Hosts known to the scheduler", self.hosts.clone());
        registry.register(
            "config_reloads",
            "Config reloads by result (ok, error)",
            self.reloads.clone(),
        );
        registry.register_with_unit(
            "config_last_reload_success_timestamp",
            "When the config was last loaded successfully, Unix time",
            Unit::Seconds,
            self.last_reload_success.clone(),
        );
    }

    /// The state file, links and discovery, and the start time.
    fn register_state_and_links(&self, registry: &mut Registry) {
        registry.register(
            "state_unsaved_results",
            "Finished URLs whose results wait to be committed to the state file",
            self.state_unsaved.clone(),
        );
        registry.register(
            "state_write_errors",
            "Commits to the state file that failed (disk full, I/O)",
            self.state_write_errors.clone(),
        );
        registry.register(
            "links_found",
            "Links found on fetched pages (distinct per page)",
            self.links_found.clone(),
        );
        registry.register(
            "links_skipped",
            "Links not followed, by reason (nofollow, out_of_scope, excluded, too_long, trap, max_pages_per_host)",
            self.links_skipped.clone(),
        );
        registry.register(
            "discovered",
            "URLs added to the crawl by following links or sitemaps (new, or due again in a new round)",
            self.discovered.clone(),
        );
        let start: Gauge<f64, AtomicU64> = Gauge::default();
        start.set(unix_seconds(self.started_at));
        registry.register_with_unit(
            "start_time",
            "When the process started, Unix time",
            Unit::Seconds,
            start,
        );
    }
}
