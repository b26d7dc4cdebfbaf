//! The INFO `stats:` line: totals since the last line, with latency
//! percentiles from a bounded sample.

use std::collections::BTreeMap;
use std::sync::PoisonError;
use std::time::{Duration, Instant};

use super::{MAX_SAMPLES, Metrics, OutcomeLabel};

impl Metrics {
    /// Totals now, for [`Metrics::stats_line`].
    pub fn snapshot(&self) -> Snapshot {
        let pages = |outcome| self.pages.get_or_create(&OutcomeLabel { outcome }).get();
        Snapshot {
            at: Instant::now(),
            ok: pages("ok"),
            failed: pages("failed"),
        }
    }

    /// The INFO stats line since `last`, which it replaces.
    pub fn stats_line(&self, last: &mut Snapshot) -> String {
        let now = self.snapshot();
        let seconds = now.at.duration_since(last.at).as_secs_f64();
        let done = (now.ok + now.failed).saturating_sub(last.ok + last.failed);
        #[allow(clippy::cast_precision_loss)] // a page count fits an f64 well enough
        let rate = if seconds > 0.0 {
            done as f64 / seconds
        } else {
            0.0
        };
        let kinds = self.error_kinds_text();
        let (p50, p95) = self
            .samples
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take_percentiles();
        let discovered = match self.discovered.get() {
            0 => String::new(),
            count => format!(", {count} discovered"),
        };
        let line = format!(
            "stats: {} ok, {} failed{kinds}{discovered}; {rate:.1} pages/s; queue {}, in flight {}, hosts {}; fetch p50 {} p95 {}",
            now.ok,
            now.failed,
            self.queue_depth.get(),
            self.in_flight.get(),
            self.hosts.get(),
            format_ms(p50),
            format_ms(p95),
        );
        *last = now;
        line
    }

    /// The INFO line that ends a `--once` run that took `elapsed`: pages by
    /// outcome and error kind, URLs discovered, time and rate.
    pub fn summary_line(&self, elapsed: Duration) -> String {
        let now = self.snapshot();
        let pages = now.ok + now.failed;
        #[allow(clippy::cast_precision_loss)] // a page count fits an f64 well enough
        let rate = pages as f64 / elapsed.as_secs_f64().max(0.001);
        let kinds = self.error_kinds_text();
        let discovered = match self.discovered.get() {
            0 => String::new(),
            count => format!("; {count} discovered by following links"),
        };
        format!(
            "done: {pages} pages in {:.2}s, {rate:.0} pages/s: {} ok, {} failed{kinds}{discovered}",
            elapsed.as_secs_f64(),
            now.ok,
            now.failed,
        )
    }

    /// ` (timeout 3, connect 1)`: failed records by error kind, or nothing.
    fn error_kinds_text(&self) -> String {
        let kinds = self.error_kinds();
        if kinds.is_empty() {
            return String::new();
        }
        let listed: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
        format!(" ({})", listed.join(", "))
    }

    fn error_kinds(&self) -> BTreeMap<String, u64> {
        self.error_kinds
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Page totals at one moment.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot {
    at: Instant,
    ok: u64,
    failed: u64,
}

/// Fetch durations since the last stats line: a uniform sample of at most
/// [`MAX_SAMPLES`] (reservoir sampling), so memory stays bounded.
#[derive(Debug, Default)]
pub(super) struct Samples {
    kept: Vec<Duration>,
    seen: usize,
}

impl Samples {
    pub(super) fn add(&mut self, value: Duration) {
        self.seen += 1;
        if self.kept.len() < MAX_SAMPLES {
            self.kept.push(value);
        } else {
            let slot = fastrand::usize(..self.seen);
            if slot < MAX_SAMPLES {
                self.kept[slot] = value;
            }
        }
    }

    /// The 50th and 95th percentiles, and a fresh start.
    pub(super) fn take_percentiles(&mut self) -> (Option<Duration>, Option<Duration>) {
        let mut kept = std::mem::take(&mut self.kept);
        self.seen = 0;
        if kept.is_empty() {
            return (None, None);
        }
        kept.sort_unstable();
        let at = |fraction: f64| {
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                clippy::cast_precision_loss
            )]
            let index = ((kept.len() - 1) as f64 * fraction).round() as usize;
            kept[index.min(kept.len() - 1)]
        };
        (Some(at(0.5)), Some(at(0.95)))
    }
}

fn format_ms(value: Option<Duration>) -> String {
    value.map_or_else(|| "-".to_owned(), |d| format!("{}ms", d.as_millis()))
}
