//! The rendering metrics: `auto`'s decisions, renders by result and their
//! time, the requests pages make by outcome, browser restarts and memory.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

/// Render times: a render waits at most `settle` (500 ms by default) once
/// the page has loaded, less when the page is idle sooner.
const RENDER_BUCKETS: [f64; 10] = [0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 10.0, 30.0];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    decision: &'static str,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HowLabel {
    how: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

/// The rendering metrics.
#[derive(Debug)]
pub struct RenderMetrics {
    decisions: Family<DecisionLabels, Counter>,
    renders: Family<ResultLabel, Counter>,
    duration: Histogram,
    settled: Family<HowLabel, Counter>,
    requests: Family<OutcomeLabel, Counter>,
    restarts: Counter,
    memory: Gauge,
    tabs: Gauge,
}

impl Default for RenderMetrics {
    fn default() -> Self {
        Self {
            decisions: Family::default(),
            renders: Family::default(),
            duration: Histogram::new(RENDER_BUCKETS),
            settled: Family::default(),
            requests: Family::default(),
            restarts: Counter::default(),
            memory: Gauge::default(),
            tabs: Gauge::default(),
        }
    }
}

impl RenderMetrics {
    /// Registers them in `registry`.
    pub(super) fn register(&self, registry: &mut Registry) {
        registry.register(
            "render_decisions",
            "Whether a page was rendered (decision) and the rule that decided (reason)",
            self.decisions.clone(),
        );
        registry.register(
            "renders",
            "Renders by result (ok, or the render_error kind)",
            self.renders.clone(),
        );
        registry.register_with_unit(
            "render_duration",
            "Time to render one page, navigation to read",
            Unit::Seconds,
            self.duration.clone(),
        );
        registry.register(
            "render_settled",
            "Pages read early because nothing was left for them to do (idle), or after the settle window (quiet)",
            self.settled.clone(),
        );
        registry.register(
            "render_requests",
            "Requests rendered pages made, by outcome (fetched, cached, blocked, denied, failed)",
            self.requests.clone(),
        );
        registry.register(
            "browser_restarts",
            "Browser restarts (crash, hang, render_restart_after, max_memory)",
            self.restarts.clone(),
        );
        registry.register_with_unit(
            "browser_memory",
            "Memory of the browser's processes (their PSS summed)",
            Unit::Bytes,
            self.memory.clone(),
        );
        registry.register("render_tabs", "Pages being rendered now", self.tabs.clone());
    }

    /// A page was (`rendered`) or was not rendered, for `reason`.
    pub fn decided(&self, rendered: bool, reason: &'static str) {
        let decision = if rendered { "render" } else { "static" };
        self.decisions
            .get_or_create(&DecisionLabels { decision, reason })
            .inc();
    }

    /// A render ended as `result` (`ok` or an error kind) after `seconds`.
    pub fn rendered(&self, result: &'static str, seconds: f64) {
        self.renders.get_or_create(&ResultLabel { result }).inc();
        self.duration.observe(seconds);
    }

    /// A rendered page was read `how` (`idle` or `quiet`).
    pub fn settled(&self, how: &'static str) {
        self.settled.get_or_create(&HowLabel { how }).inc();
    }

    /// A request a page made ended as `outcome`.
    pub fn request(&self, outcome: &'static str) {
        self.requests.get_or_create(&OutcomeLabel { outcome }).inc();
    }

    /// The browser was restarted.
    pub fn restarted(&self) {
        self.restarts.inc();
    }

    /// The browser's processes hold `bytes` now.
    pub fn set_memory(&self, bytes: u64) {
        self.memory.set(i64::try_from(bytes).unwrap_or(i64::MAX));
    }

    /// A tab opened (`1`) or closed (`-1`).
    pub fn tab(&self, delta: i64) {
        self.tabs.inc_by(delta);
    }

    /// Renders that ended as `result` so far.
    pub fn renders_of(&self, result: &'static str) -> u64 {
        self.renders.get_or_create(&ResultLabel { result }).get()
    }

    /// Requests that ended as `outcome` so far.
    pub fn requests_of(&self, outcome: &'static str) -> u64 {
        self.requests.get_or_create(&OutcomeLabel { outcome }).get()
    }
}
