//! Watching the crawl: counters and the Prometheus endpoint, the stats line,
//! the `--once` progress bar.

pub mod metrics;
pub mod progress;
