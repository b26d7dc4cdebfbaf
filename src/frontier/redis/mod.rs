//! The shared frontier on Redis: several daemons crawl one crawl.
//!
//! The queue is split into [`PARTITIONS`] partitions by host (scheme, host
//! and port), and each partition is crawled by one node at a time, which
//! holds it under a short lease ([`LEASE`]) renewed by its heartbeat
//! (about once a second, on the store thread, whatever its fetches do).
//! So every host is fetched by one node at a time, and that node's
//! per-host concurrency, delay, Crawl-delay and backoff hold for the whole
//! cluster; a released partition is taken by another node only
//! `per_host_delay` after its last URL finished. A node that dies stops
//! renewing: once its lease runs out, another node takes its partitions
//! and queues the URLs it had in flight again. Each take bumps the
//! partition's fencing token (`epoch`); claims carry it and Redis refuses a
//! commit with an older one, so a node that was only paused cannot
//! overwrite the new owner's results or queue its URLs again. Every change
//! is a Lua script over a whole batch ([`scripts`]), so a page costs a few
//! Redis commands, not one per link. Calls run on the store thread, with the synchronous client.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use redis::Commands as _;
use url::Url;

use crate::frontier::{Claim, StoreError, next_due_after, unix_ms};

mod cluster;
mod error;
mod lease;
mod link;
mod listing;
mod outbox;
mod robots;
mod schedule;
pub mod scripts;
mod state;

pub use error::RedisError;
use link::Link;
pub use link::shown_address;
pub use robots::RedisHosts;
use state::{Flight, UrlState};
pub use state::{fingerprint, partition_of};

/// URLs with their scores, as a sorted set lists them.
type Scored = Vec<(String, f64)>;

/// Partitions of the queue: the most nodes that can share a crawl.
pub const PARTITIONS: u16 = 64;
/// How long a node's partitions stay its own without a heartbeat: the
/// longest a dead node's hosts wait for another node (plus a heartbeat).
pub const LEASE: Duration = Duration::from_secs(5);
/// How often the heartbeat runs.
const HEARTBEAT: Duration = Duration::from_secs(1);

/// What a node is told at start.
#[derive(Debug, Clone)]
pub struct NodeSettings {
    /// `cluster.redis`.
    pub address: String,
    /// `cluster.name`.
    pub name: String,
    /// This node's name.
    pub node: String,
    /// How long its leases last without renewal.
    pub lease: Duration,
    /// How long a released partition rests before another node takes it.
    pub handover: Duration,
    /// `recrawl_interval`.
    pub interval: Duration,
}

/// The Redis frontier of one node.
pub struct RedisFrontier {
    link: Link,
    prefix: String,
    settings: NodeSettings,
    max_pages_per_host: u64,
    /// URLs this node claimed and has not committed.
    in_flight: HashMap<String, Flight>,
    /// Partitions this node holds.
    owned: BTreeSet<u16>,
    /// Partitions it gives up once their URLs in flight are done.
    releasing: BTreeSet<u16>,
    last_beat: Option<Instant>,
    /// The `--once` run (0: the service).
    round: u64,
    discovered: u64,
    over_limit: u64,
    /// Notifications refused because the outbox was full, so far.
    outbox_refused: u64,
    /// Who takes notifications: the node and this process's incarnation
    /// (`node|random`), so a restarted node frees what its last life held.
    taker: String,
    /// Seeds queued by the current listing.
    listed_added: usize,
    /// The running requests last told to the cluster.
    fetching: Option<u64>,
    /// Fingerprints this node knows are in the round's seen-set (links it
    /// committed): links to them are not sent again. Redis's set never
    /// shrinks within a round, so skipping them is safe.
    seen_here: SeenHere,
}

/// Fingerprints known to be seen, by this node.
type SeenHere = HashSet<u64, std::hash::BuildHasherDefault<crate::urls::IdentityHasher>>;

/// The most fingerprints a node remembers as seen (8 MB or so per million);
/// past it the memory starts afresh (Redis still answers for the rest).
const MAX_SEEN_HERE: usize = 5_000_000;

impl RedisFrontier {
    /// A frontier for `settings` (it connects on first use: an unreachable
    /// server is not an error here).
    ///
    /// # Errors
    /// The address is not a Redis URL.
    pub fn new(settings: NodeSettings) -> Result<Self, StoreError> {
        let link = Link::new(&settings.address)?;
        let taker = format!("{}|{:016x}", settings.node, fastrand::u64(..));
        Ok(Self {
            link,
            taker,
            prefix: format!("crawler:{}:", settings.name),
            settings,
            max_pages_per_host: u64::MAX,
            in_flight: HashMap::new(),
            owned: BTreeSet::new(),
            releasing: BTreeSet::new(),
            last_beat: None,
            round: 0,
            discovered: 0,
            over_limit: 0,
            outbox_refused: 0,
            listed_added: 0,
            fetching: None,
            seen_here: SeenHere::default(),
        })
    }

    /// Where the store is, for messages: the server and the crawl's name.
    pub fn path(&self) -> PathBuf {
        PathBuf::from(format!(
            "{} (cluster `{}`)",
            self.link.shown(),
            self.settings.name
        ))
    }

    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// Claims up to `limit` URLs due at `now` from this node's partitions.
    fn claim(&mut self, now: SystemTime, limit: usize) -> Result<Vec<Claim>, StoreError> {
        self.beat(now, false)?;
        let partitions: Vec<u16> = self
            .owned
            .iter()
            .copied()
            .filter(|p| !self.releasing.contains(p))
            .collect();
        if partitions.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let mut invocation = scripts::CLAIM.prepare_invoke();
        invocation
            .arg(&self.prefix)
            .arg(&self.settings.node)
            .arg(unix_ms(now))
            .arg(limit)
            .arg(self.in_flight.len());
        for p in &partitions {
            invocation.arg(*p);
        }
        let flat: Vec<String> = self.link.run(|connection| invocation.invoke(connection))?;
        let mut claims = Vec::with_capacity(flat.len() / 5);
        for item in flat.chunks_exact(5) {
            let (Ok(partition), Ok(score), Ok(epoch)) = (
                item[0].parse::<u16>(),
                item[2].parse::<f64>(),
                item[4].parse::<u64>(),
            ) else {
                continue;
            };
            let state = UrlState::parse(&item[3]);
            let Ok(url) = Url::parse(&item[1]) else {
                log::error!("cluster: stored URL `{}` does not parse; skipped", item[1]);
                continue;
            };
            let lineage = state.lineage();
            self.in_flight.insert(
                item[1].clone(),
                Flight {
                    partition,
                    score,
                    lineage: lineage
                        .as_ref()
                        .map(|lineage| (lineage.depth, lineage.seed.as_str().to_owned())),
                    epoch,
                },
            );
            claims.push(Claim {
                url,
                known: state.known(),
                lineage,
                watch: state.watch(),
            });
        }
        Ok(claims)
    }

    /// Runs the commit script on `batch`; returns (queued, over the host
    /// limit, notifications refused by a full outbox, results refused
    /// because their partition changed hands).
    fn run_commit(&mut self, batch: &state::Batch<'_>) -> Result<(u64, u64, u64, u64), StoreError> {
        let json = serde_json::to_string(batch).map_err(|err| {
            StoreError::Redis(RedisError::Refused {
                address: self.link.shown().to_owned(),
                detail: format!("cannot encode a batch: {err}"),
            })
        })?;
        let busy = self.in_flight.len();
        let mut invocation = scripts::COMMIT.prepare_invoke();
        invocation
            .arg(&self.prefix)
            .arg(json)
            .arg(&self.settings.node)
            .arg(busy);
        for blob in &batch.blobs {
            invocation.arg(blob.as_slice());
        }
        self.link.run(|connection| invocation.invoke(connection))
    }

    fn seen_key(&self) -> String {
        format!("seen:{}", self.round)
    }

    /// Lists `urls` as seeds of `generation`; returns how many were queued.
    fn list(&mut self, urls: &[Url], generation: u64, now: SystemTime) -> Result<u64, StoreError> {
        // The script reads every seed's state before it writes any: a URL
        // twice in one batch would count twice.
        let mut listed = HashSet::with_capacity(urls.len());
        let seeds: Vec<(String, u16, &str, String)> = urls
            .iter()
            .filter(|url| listed.insert(url.as_str()))
            .map(|url| {
                let text = url.as_str();
                (
                    fingerprint(text),
                    partition_of(url),
                    text,
                    state::host_of(url),
                )
            })
            .collect();
        let batch = serde_json::json!({
            "round": self.round,
            "generation": generation,
            "now": unix_ms(now),
            "seeds": seeds,
        });
        let mut invocation = scripts::LIST_SEEDS.prepare_invoke();
        invocation.arg(&self.prefix).arg(batch.to_string());
        let queued: u64 = self.link.run(|connection| invocation.invoke(connection))?;
        self.listed_added += usize::try_from(queued).unwrap_or(usize::MAX);
        Ok(queued)
    }

    /// A commit batch of this node's round and limits, with nothing in it yet.
    fn new_batch<'a>(&self, seen: &'a str) -> state::Batch<'a> {
        state::Batch {
            now: unix_ms(SystemTime::now()),
            round: self.round,
            max: self.max_pages_per_host,
            history: crate::frontier::MAX_HISTORY,
            outbox_max: crate::frontier::MAX_OUTBOX,
            seen,
            done: Vec::new(),
            mark: Vec::new(),
            groups: Vec::new(),
            blobs: Vec::new(),
        }
    }

    /// The due score of a URL finished at `finished`: -1 for none.
    fn next_score(&self, finished: SystemTime) -> i64 {
        if self.round > 0 {
            return -1;
        }
        next_due_after(finished, self.settings.interval).map_or(-1, unix_ms)
    }

    fn set_meta(&mut self, field: &str, value: u64) -> Result<(), StoreError> {
        let key = self.key("meta");
        self.link
            .run(|connection| connection.hset::<_, _, _, ()>(key, field, value))
    }

    /// Every partition's due queue, with the URLs whose score is in `range`.
    fn due_in(&mut self, min: f64, max: f64) -> Result<Vec<(u16, Scored)>, StoreError> {
        let prefix = self.prefix.clone();
        self.link.run(|connection| {
            let mut pipe = redis::pipe();
            for p in 0..PARTITIONS {
                pipe.cmd("ZRANGEBYSCORE")
                    .arg(format!("{prefix}due:{p}"))
                    .arg(min)
                    .arg(max)
                    .arg("WITHSCORES");
            }
            let lists: Vec<Vec<(String, f64)>> = pipe.query(connection)?;
            Ok((0..PARTITIONS).zip(lists).collect())
        })
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl RedisFrontier {
    /// The depth and seed of a claimed URL (a seed: 0 and itself).
    fn lineage_of(&self, url: &str) -> (u32, String) {
        self.in_flight
            .get(url)
            .and_then(|flight| flight.lineage.as_ref())
            .map_or_else(
                || (0, url.to_owned()),
                |(depth, seed)| (*depth, seed.clone()),
            )
    }

    /// Takes `seeds` off the schedule: their last record stays.
    fn retire(&mut self, seeds: &[String]) -> Result<(), StoreError> {
        let (url_key, seeds_key, prefix) =
            (self.key("url"), self.key("seeds"), self.prefix.clone());
        self.link.run(|connection| {
            let states: Vec<Option<String>> = connection.hmget(&url_key, seeds)?;
            let mut pipe = redis::pipe();
            pipe.atomic();
            for (seed, state) in seeds.iter().zip(states) {
                let mut state = state.as_deref().map(UrlState::parse).unwrap_or_default();
                state.a = None;
                pipe.hset(&url_key, seed, state.to_json()).ignore();
                if let Ok(url) = Url::parse(seed) {
                    pipe.zrem(format!("{prefix}due:{}", partition_of(&url)), seed)
                        .ignore();
                }
            }
            pipe.hdel(&seeds_key, seeds).ignore();
            pipe.query::<()>(connection)
        })
    }
}
