//! The frontier interface: what every store of the crawl's state provides.
//!
//! A backend keeps, per URL: how it entered (seed, or discovered with its
//! depth and the page it was found on), when it is due, whether it is in
//! flight, the last fetch's outcome, the last title and the HTTP validators.
//! Work leaves in batches ([`Frontier::claim_due`], [`Frontier::list_and_claim`])
//! and comes back in batches ([`Frontier::commit`]), so a networked backend
//! pays one round trip per batch, not per URL. The embedded backend is
//! [`super::sqlite::SqliteFrontier`].

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use url::Url;

use crate::record::Record;

/// What is known about a URL from its last successful fetch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Known {
    /// The title seen then (`None`: the page had none).
    pub title: Option<String>,
    /// Its `ETag`, sent back as `If-None-Match`.
    pub etag: Option<String>,
    /// Its `Last-Modified`, sent back as `If-Modified-Since`.
    pub last_modified: Option<String>,
}

impl Known {
    /// Whether a conditional request can be made.
    pub fn has_validators(&self) -> bool {
        self.etag.is_some() || self.last_modified.is_some()
    }
}

/// How a discovered URL entered the crawl.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lineage {
    /// Links followed from its seed to reach it (1 for a page a seed links to).
    pub depth: u32,
    /// The seed it descends from: its links are judged against this seed's scope.
    pub seed: Url,
    /// The page it was found on (or the sitemap that lists it).
    pub found_on: String,
    /// Whether that page came from a public address: this URL may then
    /// not lead to a private one.
    pub is_from_public: bool,
}

/// A URL handed out to be fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The normalized URL.
    pub url: Url,
    /// What the last successful fetch saw, if there was one.
    pub known: Option<Known>,
    /// How it was discovered; `None` for a seed.
    pub lineage: Option<Lineage>,
}

/// The result of fetching a claimed URL, as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The URL as claimed.
    pub url: String,
    /// When the fetch started.
    pub fetched_at: SystemTime,
    /// When its record was written.
    pub finished_at: SystemTime,
    /// The final HTTP status, if a response came.
    pub status: Option<u16>,
    /// The error kind (`timeout`, `robots`, …), `None` for a page.
    pub error_kind: Option<String>,
    /// The title and validators, for a page (`None` for an error: the last ones are kept).
    pub page: Option<Known>,
    /// The URL after redirects, when it differs from `url`.
    pub final_url: Option<String>,
    /// The links to follow from this page; `None` when its links were not
    /// extracted (beyond `max_depth`, an error, `nofollow`).
    pub links: Option<Vec<String>>,
    /// Whether the page came from a public address.
    pub is_from_public: bool,
}

/// What the store keeps of a page beyond its [`Record`]: the validators
/// to send next time, which of its links the crawl follows, and where it
/// was served from. The worker hands it on with the record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageFacts {
    /// The page's `ETag`.
    pub etag: Option<String>,
    /// The page's `Last-Modified`.
    pub last_modified: Option<String>,
    /// Of the record's links, the ones the crawl follows, by index; `None`
    /// when its links were not judged.
    pub follow: Option<Vec<usize>>,
    /// Whether the page came from a public address.
    pub is_from_public: bool,
}

impl Outcome {
    /// What the store keeps of a written `record` and its `facts`, finished now.
    pub fn of(mut record: Record, facts: PageFacts) -> Self {
        let now = SystemTime::now();
        // The followed links move out of the written record: no copy.
        let links = match (facts.follow, record.links.as_mut()) {
            (Some(follow), Some(all)) => Some(
                follow
                    .into_iter()
                    .filter_map(|index| all.get_mut(index).map(std::mem::take))
                    .collect(),
            ),
            (Some(_), None) => Some(Vec::new()),
            (None, _) => None,
        };
        let fetched_at = humantime::parse_rfc3339(&record.fetched_at).unwrap_or(now);
        let error_kind = record.error_kind().map(str::to_owned);
        let page = record.error.is_none().then_some(Known {
            title: record.title,
            etag: facts.etag,
            last_modified: facts.last_modified,
        });
        Self {
            final_url: (record.final_url != record.url).then_some(record.final_url),
            url: record.url,
            fetched_at,
            finished_at: now,
            status: record.status,
            error_kind,
            page,
            links,
            is_from_public: facts.is_from_public,
        }
    }
}

/// Where a `--once` run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    /// The run's number (1 for the first).
    pub number: u64,
    /// Whether this continues a run that was interrupted.
    pub is_resumed: bool,
    /// Seeds listed now that already have their record in this run.
    pub recorded: u64,
}

/// What a new seed list changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SeedChanges {
    /// Seeds that were not listed before (or were listed, removed and listed again).
    pub added: usize,
    /// Seeds no longer listed: they leave the schedule, their last record stays.
    pub removed: usize,
}

/// A change of schedule for every idle URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reschedule {
    /// The service starts: idle URLs without a due time get one
    /// (`recrawl_interval` after their last fetch, or now).
    Start,
    /// Every idle URL is due now (`recrawl_interval = "0s"`: once per start or reload).
    AllDue,
    /// The interval changed: URLs due later than one new interval are pulled in.
    Interval,
}

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
    /// Claimed by a running daemon and not yet finished.
    pub in_flight: u64,
    /// Never fetched yet.
    pub never_fetched: u64,
    /// The next due time after now, RFC 3339.
    pub next_due: Option<String>,
    /// How the last fetch of each URL ended: `ok`, `not_modified` or an error kind, with counts.
    pub outcomes: std::collections::BTreeMap<String, u64>,
    /// Distinct hosts.
    pub hosts: u64,
    /// Bytes on disk: the database and its write-ahead log.
    pub file_bytes: u64,
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
}

/// One node of a cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NodeStatus {
    /// Its name (`cluster.node`).
    pub name: String,
    /// Whether its lease is current.
    pub alive: bool,
    /// URLs it holds in flight.
    pub in_flight: u64,
    /// Partitions of the queue it crawls.
    pub partitions: u64,
}

/// Why the store could not be used. Each message names the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file does not exist (for commands that only read it).
    #[error("no crawl state at `{0}` yet: it is created when the daemon first starts")]
    Missing(PathBuf),
    /// The file is not a database of ours.
    #[error("state file `{path}` {why} (the file was left untouched)")]
    NotOurs {
        /// The file.
        path: PathBuf,
        /// What it is instead, and what to do.
        why: String,
    },
    /// The file is a database of ours but damaged.
    #[error(
        "state file `{path}` is damaged ({detail}); it was left untouched: restore it from a backup, or move it away to start a new crawl state"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What SQLite found.
        detail: String,
    },
    /// Written by a newer `crawler`.
    #[error(
        "state file `{path}` has schema version {found}, newer than this crawler understands ({supported}); it was left untouched: run the newer crawler, or set `state_file` to another path"
    )]
    Newer {
        /// The file.
        path: PathBuf,
        /// The version in the file.
        found: i64,
        /// The newest this build reads.
        supported: i64,
    },
    /// The old JSON state could not be imported.
    #[error(
        "cannot import the old state file `{path}`: {detail}; move it away to start without it"
    )]
    Import {
        /// The JSON file.
        path: PathBuf,
        /// Why.
        detail: String,
    },
    /// A read or write failed (disk full, permissions, I/O).
    #[error("crawl state `{path}`: {detail}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        detail: String,
    },
    /// The shared store (Redis) cannot be reached now; it is tried again.
    #[error("Redis at `{address}` is unreachable: {detail}")]
    Unreachable {
        /// The server, without its password.
        address: String,
        /// Why.
        detail: String,
    },
    /// The shared store refused a command (out of memory, a read-only replica, …).
    #[error("Redis at `{address}` refused the crawl's writes: {detail}")]
    Refused {
        /// The server, without its password.
        address: String,
        /// What it said, and what to do.
        detail: String,
    },
}

impl StoreError {
    /// Whether the store may work again without a restart (Redis away, or
    /// refusing writes until its operator acts): callers wait and retry
    /// rather than stop.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unreachable { .. } | Self::Refused { .. })
    }

    /// Whether the store cannot be reached now (a WARN: it comes back by itself).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Self::Unreachable { .. })
    }
}

/// The crawl's state: the seeds, the schedule, and what each fetch found.
///
/// Calls run on the store's own thread (see [`super::store::Store`]), never on
/// the async executor, so a backend may block.
pub trait Frontier: Send {
    /// Sets the recrawl interval used by [`Frontier::commit`] and [`Frontier::reschedule`].
    fn set_interval(&mut self, interval: Duration);

    /// Sets how many URLs one host may have in the crawl (`crawl.max_pages_per_host`).
    fn set_max_pages_per_host(&mut self, limit: u64);

    /// Claims up to `limit` discovered URLs of the current `--once` run,
    /// shallowest first.
    ///
    /// # Errors
    /// The store cannot be read.
    fn claim_discovered(&mut self, now: SystemTime, limit: usize)
    -> Result<Vec<Claim>, StoreError>;

    /// Takes discovered URLs deeper than `max_depth` off the schedule (a
    /// reload lowered it); returns how many.
    ///
    /// # Errors
    /// The store cannot be written.
    fn drop_deeper(&mut self, max_depth: u32) -> Result<usize, StoreError>;

    /// Schedules the next round of every seed whose round is over (no
    /// descendant due or in flight); returns how many.
    ///
    /// # Errors
    /// The store cannot be written.
    fn close_rounds(&mut self, now: SystemTime) -> Result<usize, StoreError>;

    /// URLs discovered (new, or due again in this round) by commits so far.
    fn discovered(&self) -> u64;

    /// Links not added so far because their host had `max_pages_per_host` URLs.
    fn over_limit(&self) -> u64;

    /// Adds the in-scope entries of `sitemap` (read for `seed`'s host) as
    /// pages at depth 1 of `seed`; returns how many are due.
    ///
    /// # Errors
    /// The store cannot be written.
    fn add_sitemap(
        &mut self,
        seed: &Url,
        sitemap: &str,
        urls: &[String],
        is_from_public: bool,
    ) -> Result<u64, StoreError>;

    /// Starts a new listing of the seeds; returns its generation for the calls below.
    ///
    /// # Errors
    /// The store cannot be read or written.
    fn begin_seeds(&mut self) -> Result<u64, StoreError>;

    /// Records `urls` as seeds of `generation`; new ones are due at `now`.
    ///
    /// # Errors
    /// The store cannot be written.
    fn add_seeds(
        &mut self,
        urls: &[Url],
        generation: u64,
        now: SystemTime,
    ) -> Result<(), StoreError>;

    /// Retires the seeds `generation` did not list; says how many seeds
    /// were added and removed since [`Frontier::begin_seeds`].
    ///
    /// # Errors
    /// The store cannot be written.
    fn end_seeds(&mut self, generation: u64) -> Result<SeedChanges, StoreError>;

    /// Claims up to `limit` URLs due at `now`, earliest first; they stay in
    /// flight until committed.
    ///
    /// # Errors
    /// The store cannot be read.
    fn claim_due(&mut self, now: SystemTime, limit: usize) -> Result<Vec<Claim>, StoreError>;

    /// The earliest due time of an idle URL, if any.
    ///
    /// # Errors
    /// The store cannot be read.
    fn next_due(&mut self) -> Result<Option<SystemTime>, StoreError>;

    /// Starts a `--once` run, or resumes the last one if it did not complete.
    ///
    /// # Errors
    /// The store cannot be read or written.
    fn begin_round(&mut self) -> Result<Round, StoreError>;

    /// Lists `urls` as seeds of `generation` (as [`Frontier::add_seeds`])
    /// and claims those that have no record in the current run yet. A URL
    /// listed twice in one generation is claimed once.
    ///
    /// # Errors
    /// The store cannot be written.
    fn list_and_claim(
        &mut self,
        urls: &[Url],
        generation: u64,
        now: SystemTime,
    ) -> Result<Vec<Claim>, StoreError>;

    /// Marks the current `--once` run complete: the next one starts afresh.
    ///
    /// # Errors
    /// The store cannot be written.
    fn end_round(&mut self) -> Result<(), StoreError>;

    /// Commits finished URLs in one batch (with any claims not yet written),
    /// scheduling each one's next fetch.
    ///
    /// # Errors
    /// The store cannot be written; nothing of the batch is then kept, and
    /// the same batch may be committed again.
    fn commit(&mut self, outcomes: &[Outcome]) -> Result<(), StoreError>;

    /// Whether claims are waiting to be written by the next commit.
    fn has_unwritten_claims(&self) -> bool;

    /// Changes the due time of every idle URL.
    ///
    /// # Errors
    /// The store cannot be written.
    fn reschedule(&mut self, how: Reschedule, now: SystemTime) -> Result<(), StoreError>;

    /// Makes every claimed URL idle and due again (a crash left them in
    /// flight, or shutdown dropped them); returns how many.
    ///
    /// # Errors
    /// The store cannot be written.
    fn release_claims(&mut self, now: SystemTime) -> Result<usize, StoreError>;

    /// A summary for `crawler status`.
    ///
    /// # Errors
    /// The store cannot be read.
    fn status(&mut self, now: SystemTime) -> Result<Status, StoreError>;

    /// Whether other processes share this store (Redis): its failures are
    /// network ones, retried sooner.
    fn is_shared(&self) -> bool {
        false
    }

    /// Periodic upkeep, about once a second (a shared store renews this
    /// node's leases here).
    ///
    /// # Errors
    /// The store cannot be reached.
    fn tick(&mut self, _now: SystemTime) -> Result<(), StoreError> {
        Ok(())
    }

    /// Whether nothing is left to do beyond this process's own work: no
    /// other node holds URLs in flight and nothing waits (a `--once` run
    /// ends when this is true and its own results are written).
    ///
    /// # Errors
    /// The store cannot be read.
    fn is_idle(&mut self, _now: SystemTime) -> Result<bool, StoreError> {
        Ok(true)
    }

    /// Publishes the config this node loaded (sections by name, as JSON),
    /// so that `crawler check` can compare the nodes of a cluster.
    ///
    /// # Errors
    /// The store cannot be written.
    fn publish_config(&mut self, _sections: &str) -> Result<(), StoreError> {
        Ok(())
    }
}

/// A host's answer to its robots.txt request, as the cluster shares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RobotsAnswer {
    /// The final HTTP status.
    pub status: u16,
    /// The body (cut at robots.txt's size limit).
    pub body: Vec<u8>,
    /// Whether it came from a public address.
    pub is_from_public: bool,
}

/// What the nodes of a cluster share about each host: its robots.txt and
/// its 429/503 backoff. Calls may block (run them off the executor); a
/// store that cannot answer says `None`.
pub trait SharedHosts: Send + Sync {
    /// The stored answer for the robots.txt at `url`, if one is current.
    fn robots(&self, url: &str) -> Option<RobotsAnswer>;

    /// Stores the answer for `url` for `ttl`.
    fn put_robots(&self, url: &str, answer: &RobotsAnswer, ttl: Duration);

    /// The backoff `origin` is under, if any: the delay between requests
    /// and how long until its `Retry-After` ends.
    fn backoff(&self, origin: &str) -> Option<(Duration, Duration)>;

    /// Shares the backoff `origin` is under now.
    fn put_backoff(&self, origin: &str, backoff: Duration, wait: Duration);
}

/// Milliseconds since the Unix epoch (0 before it).
pub fn unix_ms(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| {
        i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
    })
}

/// The time `ms` milliseconds after the Unix epoch.
pub fn from_unix_ms(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// The most jitter added to a due time.
const MAX_JITTER: Duration = Duration::from_secs(300);

/// Up to a tenth of the interval (at most five minutes), at random: seeds
/// crawled together drift apart.
pub fn jitter(interval: Duration) -> Duration {
    (interval / 10).min(MAX_JITTER).mul_f64(fastrand::f64())
}

/// When a URL that finished at `finished` is due again; `None` with no recrawl.
pub fn next_due_after(finished: SystemTime, interval: Duration) -> Option<SystemTime> {
    (!interval.is_zero()).then(|| finished + interval + jitter(interval))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_times_carry_at_most_a_tenth_of_jitter() {
        let now = SystemTime::now();
        let interval = Duration::from_secs(100);
        let due = next_due_after(now, interval).unwrap();
        assert!(due >= now + interval && due <= now + interval + interval / 10);
        assert_eq!(next_due_after(now, Duration::ZERO), None);
    }

    #[test]
    fn unix_ms_round_trips() {
        let time = from_unix_ms(1_700_000_000_123);
        assert_eq!(unix_ms(time), 1_700_000_000_123);
    }
}
