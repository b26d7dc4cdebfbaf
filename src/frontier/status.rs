//! A summary of the store, for `crawler status`.

use std::path::PathBuf;

use serde::Serialize;

/// A summary of the store, for `crawler status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Status {
    /// The database file.
    pub path: PathBuf,
    /// Every URL the store knows.
    pub known: u64,
    /// Of those, seeds listed in the config now.
    pub seeds: u64,
    /// Discovered by following links.
    pub discovered: u64,
    /// No longer listed or linked: kept with their last record, never fetched again.
    pub retired: u64,
    /// Sitemap files read (`crawl.sitemaps`); not counted in `known`.
    pub sitemaps: u64,
    /// Due now or overdue.
    pub due_now: u64,
    /// Claimed by a running daemon and not yet finished (or, when no
    /// daemon runs, when the crawl stopped).
    pub in_flight: u64,
    /// Requests running now, of `in_flight` (the others wait in the
    /// nodes' queues); known for a shared store, whose nodes publish it.
    pub requests: Option<u64>,
    /// Whether a daemon runs on this state now; null when that cannot be
    /// told (a shared store: see `cluster`).
    pub running: Option<bool>,
    /// Never fetched yet.
    pub never_fetched: u64,
    /// The next due time after now, RFC 3339.
    pub next_due: Option<String>,
    /// How the last fetch of each URL ended: `ok`, `not_modified` or an error kind, with counts.
    pub outcomes: std::collections::BTreeMap<String, u64>,
    /// URLs whose last record was rendered in Chromium.
    pub rendered: u64,
    /// Distinct hosts.
    pub hosts: u64,
    /// Bytes on disk: the database and its write-ahead log (for a shared
    /// store, the memory of Redis's data).
    pub file_bytes: u64,
    /// Notifications waiting in the outbox.
    pub outbox: OutboxSummary,
    /// The nodes sharing the crawl, for a store on Redis.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterStatus>,
}

/// The nodes of a crawl shared through Redis.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ClusterStatus {
    /// The crawl's name (`cluster.name`).
    pub name: String,
    /// Nodes that renewed their lease lately.
    pub nodes: Vec<NodeStatus>,
    /// URLs waiting in the shared queue (due now or later).
    pub queued: u64,
    /// Of those, due now.
    #[serde(skip)]
    pub due_now: u64,
    /// Fingerprints in the seen-set of the current round.
    pub seen: u64,
    /// Bytes Redis uses in all (`used_memory`).
    pub redis_bytes: u64,
    /// Bytes of Redis's data (`used_memory_dataset`): the shared state's size.
    #[serde(skip)]
    pub dataset_bytes: u64,
    /// How the last fetch of each URL ended, with counts.
    #[serde(skip)]
    pub outcomes: std::collections::BTreeMap<String, u64>,
    /// URLs whose last record was rendered in Chromium.
    #[serde(skip)]
    pub rendered: u64,
    /// Distinct hosts.
    #[serde(skip)]
    pub hosts: u64,
}

/// One node of a cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NodeStatus {
    /// Its name (`cluster.node`).
    pub name: String,
    /// Whether its lease is current.
    pub alive: bool,
    /// Requests it has running now.
    pub in_flight: u64,
    /// URLs it has claimed and not finished: those running and those
    /// waiting in its own queue.
    pub claimed: u64,
    /// Partitions of the queue it crawls.
    pub partitions: u64,
}

/// The outbox, as `crawler status` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OutboxSummary {
    /// Notifications waiting (to be delivered, or retried).
    pub waiting: u64,
    /// When the oldest was queued (RFC 3339).
    pub oldest: Option<String>,
}

impl From<super::OutboxStatus> for OutboxSummary {
    fn from(status: super::OutboxStatus) -> Self {
        Self {
            waiting: status.depth,
            oldest: status
                .oldest
                .map(|at| humantime::format_rfc3339_seconds(at).to_string()),
        }
    }
}
