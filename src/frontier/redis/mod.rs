//! The shared frontier on Redis: several daemons crawl one crawl.
//!
//! The queue is split into [`PARTITIONS`] partitions by host (scheme, host
//! and port), and each partition is crawled by one node at a time, which
//! holds it under a lease renewed by its heartbeat (about once a second).
//! So every host is fetched by one node at a time, and that node's
//! per-host concurrency, delay, Crawl-delay and backoff hold for the whole
//! cluster; a released partition is taken by another node only
//! `per_host_delay` after its last URL finished. A node that dies stops
//! renewing: once its lease runs out (twice `request_timeout` plus the
//! first retry backoff), another node takes its partitions and queues the
//! URLs it had in flight again. Every change is a Lua script over a whole
//! batch ([`scripts`]), so a page costs a few Redis commands, not one per
//! link. Calls run on the store thread, with the synchronous client.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use redis::Commands as _;
use url::Url;

use crate::frontier::{
    Claim, ClusterStatus, Known, Lineage, Membership, NodeStatus, Outcome, PublishedConfig,
    Reschedule, Round, Rounds, Schedule, SeedChanges, Seeds, Status, StoreError, Summary,
    next_due_after, unix_ms,
};

mod error;
mod link;
mod robots;
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
/// The shortest lease, whatever the timeouts.
pub const MIN_LEASE: Duration = Duration::from_secs(3);
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
    /// Seeds queued by the current listing.
    listed_added: usize,
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
        Ok(Self {
            link,
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
            listed_added: 0,
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

    /// Renews this node's leases and adjusts its partitions, at most once
    /// per [`HEARTBEAT`] unless `force`.
    fn beat(&mut self, now: SystemTime, force: bool) -> Result<(), StoreError> {
        if !force && self.last_beat.is_some_and(|at| at.elapsed() < HEARTBEAT) {
            return Ok(());
        }
        let releasable: Vec<u16> = self
            .releasing
            .iter()
            .copied()
            .filter(|p| !self.in_flight.values().any(|flight| flight.partition == *p))
            .collect();
        let first = self.last_beat.is_none();
        let mut invocation = scripts::HEARTBEAT.prepare_invoke();
        invocation
            .arg(&self.prefix)
            .arg(&self.settings.node)
            .arg(unix_ms(now))
            .arg(millis(self.settings.lease))
            .arg(millis(self.settings.handover))
            .arg(u8::from(first))
            .arg(PARTITIONS);
        for p in &releasable {
            invocation.arg(*p);
        }
        let answer: Vec<i64> = self.link.run(|connection| invocation.invoke(connection))?;
        self.last_beat = Some(Instant::now());
        if self.link.take_reconnected() {
            self.reclaim_orphans()?;
        }
        let Some((counts, lists)) = answer.split_at_checked(2) else {
            return Ok(());
        };
        let (owned, active) =
            lists.split_at(lists.iter().position(|p| *p < 0).unwrap_or(lists.len()));
        let partitions = |list: &[i64]| -> BTreeSet<u16> {
            list.iter().filter_map(|p| u16::try_from(*p).ok()).collect()
        };
        let (owned, active) = (partitions(owned), partitions(active));
        if owned != self.owned {
            log::debug!(
                "cluster: node {} crawls {} of {PARTITIONS} partitions ({} with URLs waiting)",
                self.settings.node,
                owned.len(),
                active.len()
            );
        }
        self.owned = owned;
        self.releasing.retain(|p| self.owned.contains(p));
        let extra = |count: i64| usize::try_from(count).unwrap_or(0);
        self.choose_releases(extra(counts[0]), extra(counts[1]), &active);
        Ok(())
    }

    /// After a lost connection: URLs leased in this node's partitions that
    /// it does not hold (a claim ran but its reply was lost) are queued again.
    fn reclaim_orphans(&mut self) -> Result<(), StoreError> {
        let owned: Vec<u16> = self.owned.iter().copied().collect();
        if owned.is_empty() {
            return Ok(());
        }
        let prefix = self.prefix.clone();
        let leased: Vec<Vec<(String, f64)>> = self.link.run(|connection| {
            let mut pipe = redis::pipe();
            for p in &owned {
                pipe.zrange_withscores(format!("{prefix}lease:{p}"), 0, -1);
            }
            pipe.query(connection)
        })?;
        let orphans: Vec<(u16, Vec<(f64, String)>)> = owned
            .iter()
            .zip(leased)
            .map(|(p, items)| {
                let lost = items
                    .into_iter()
                    .filter(|(url, _)| !self.in_flight.contains_key(url))
                    .map(|(url, score)| (score, url))
                    .collect::<Vec<_>>();
                (*p, lost)
            })
            .filter(|(_, lost)| !lost.is_empty())
            .collect();
        let count: usize = orphans.iter().map(|(_, lost)| lost.len()).sum();
        if count == 0 {
            return Ok(());
        }
        self.link.run(|connection| {
            let mut pipe = redis::pipe();
            pipe.atomic();
            for (p, lost) in &orphans {
                let urls: Vec<&str> = lost.iter().map(|(_, url)| url.as_str()).collect();
                pipe.zrem(format!("{prefix}lease:{p}"), urls).ignore();
                pipe.zadd_multiple(format!("{prefix}due:{p}"), lost)
                    .ignore();
                let lowest = lost
                    .iter()
                    .map(|(score, _)| *score)
                    .fold(f64::INFINITY, f64::min);
                pipe.cmd("ZADD")
                    .arg(format!("{prefix}ready"))
                    .arg("LT")
                    .arg(lowest)
                    .arg(*p)
                    .ignore();
            }
            pipe.query::<()>(connection)
        })?;
        log::info!(
            "cluster: {count} URLs claimed just as the connection to Redis broke are queued again"
        );
        Ok(())
    }

    /// Marks partitions to give up: `extra_active` of those with URLs
    /// waiting, and idle ones up to `extra` in all; the ones with the
    /// fewest URLs in flight first (they are released when none is left).
    fn choose_releases(&mut self, extra: usize, extra_active: usize, active: &BTreeSet<u16>) {
        let releasing_active = self.releasing.intersection(active).count();
        let pick = |wanted: usize, from_active: bool, this: &mut Self| {
            let mut load: Vec<(usize, u16)> = this
                .owned
                .iter()
                .filter(|p| !this.releasing.contains(p) && active.contains(p) == from_active)
                .map(|p| {
                    let busy = this
                        .in_flight
                        .values()
                        .filter(|flight| flight.partition == *p)
                        .count();
                    (busy, *p)
                })
                .collect();
            load.sort_unstable();
            this.releasing
                .extend(load.into_iter().take(wanted).map(|(_, p)| p));
        };
        pick(extra_active.saturating_sub(releasing_active), true, self);
        pick(extra.saturating_sub(self.releasing.len()), false, self);
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
        let mut claims = Vec::with_capacity(flat.len() / 4);
        for item in flat.chunks_exact(4) {
            let (Ok(partition), Ok(score)) = (item[0].parse::<u16>(), item[2].parse::<f64>())
            else {
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
                },
            );
            claims.push(Claim {
                url,
                known: state.known(),
                lineage,
            });
        }
        Ok(claims)
    }

    /// Runs the commit script on `batch`; returns (queued, over the host limit).
    fn run_commit(&mut self, batch: &state::Batch<'_>) -> Result<(u64, u64), StoreError> {
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
        self.link.run(|connection| invocation.invoke(connection))
    }

    fn seen_key(&self) -> String {
        format!("seen:{}", self.round)
    }

    /// Lists `urls` as seeds of `generation`; returns how many were queued.
    fn list(&mut self, urls: &[Url], generation: u64, now: SystemTime) -> Result<u64, StoreError> {
        let seeds: Vec<(String, u16, &str)> = urls
            .iter()
            .map(|url| (fingerprint(url.as_str()), partition_of(url), url.as_str()))
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

impl Schedule for RedisFrontier {
    fn set_interval(&mut self, interval: Duration) {
        self.settings.interval = interval;
    }

    fn set_max_pages_per_host(&mut self, limit: u64) {
        if limit != self.max_pages_per_host {
            // Links skipped at the old limit may be taken now.
            self.seen_here.clear();
        }
        self.max_pages_per_host = limit;
    }

    fn claim_due(&mut self, now: SystemTime, limit: usize) -> Result<Vec<Claim>, StoreError> {
        self.claim(now, limit)
    }

    fn next_due(&mut self) -> Result<Option<SystemTime>, StoreError> {
        let key = self.key("ready");
        let ready: Vec<(u16, f64)> = self
            .link
            .run(|connection| connection.zrange_withscores(key, 0, -1))?;
        let earliest = ready
            .into_iter()
            .filter(|(p, _)| self.owned.contains(p) && !self.releasing.contains(p))
            .map(|(_, score)| score)
            .fold(None, |low: Option<f64>, score| {
                Some(low.map_or(score, |low| low.min(score)))
            });
        // Partitions may change hands: look again within a heartbeat or so.
        let soon = SystemTime::now() + HEARTBEAT;
        Ok(Some(earliest.map_or(soon, |score| {
            crate::frontier::from_unix_ms(score as i64).min(soon)
        })))
    }

    fn commit(&mut self, outcomes: &[Outcome]) -> Result<(), StoreError> {
        if outcomes.is_empty() {
            return Ok(());
        }
        let seen = self.seen_key();
        let mut done = Vec::with_capacity(outcomes.len());
        let mut groups = Vec::new();
        let mut mark = Vec::new();
        // Fingerprints in this batch: each link once.
        let mut sent = SeenHere::default();
        for outcome in outcomes {
            let flight = self.in_flight.get(&outcome.url);
            let partition = flight.map_or_else(
                || Url::parse(&outcome.url).map_or(0, |url| partition_of(&url)),
                |flight| flight.partition,
            );
            done.push(state::Done {
                partition,
                url: &outcome.url,
                score: self.next_score(outcome.finished_at),
                page: outcome.page.as_ref().map(state::Page::of),
            });
            if let Some(final_url) = &outcome.final_url {
                mark.push(fingerprint(final_url));
                sent.insert(state::fingerprint_value(final_url));
            }
            if let Some(links) = &outcome.links {
                let seen_here = &self.seen_here;
                let links = state::links_of(links, |value| {
                    seen_here.contains(&value) || !sent.insert(value)
                });
                groups.push((outcome, links));
            }
        }
        let lineages: Vec<(u32, String)> = groups
            .iter()
            .map(|(outcome, _)| self.lineage_of(&outcome.url))
            .collect();
        let batch = state::Batch {
            now: unix_ms(SystemTime::now()),
            round: self.round,
            max: self.max_pages_per_host,
            seen: &seen,
            done,
            mark,
            groups: groups
                .into_iter()
                .zip(&lineages)
                .map(|((outcome, links), (depth, seed))| state::Group {
                    d: depth + 1,
                    s: seed,
                    f: &outcome.url,
                    p: outcome.is_from_public,
                    links,
                })
                .collect(),
        };
        // Finished URLs leave the in-flight count the script records.
        let finished: Vec<(String, Flight)> = outcomes
            .iter()
            .filter_map(|outcome| self.in_flight.remove_entry(&outcome.url))
            .collect();
        match self.run_commit(&batch) {
            Ok((queued, over)) => {
                self.discovered += queued;
                self.over_limit += over;
                if self.seen_here.len() + sent.len() > MAX_SEEN_HERE {
                    self.seen_here.clear();
                }
                self.seen_here.extend(sent);
                Ok(())
            }
            Err(err) => {
                self.in_flight.extend(finished);
                Err(err)
            }
        }
    }

    fn has_unwritten_claims(&self) -> bool {
        false
    }

    fn reschedule(&mut self, how: Reschedule, now: SystemTime) -> Result<(), StoreError> {
        let now_ms = unix_ms(now) as f64;
        let interval = self.settings.interval.as_millis() as f64;
        let moves = match how {
            Reschedule::Start => return Ok(()),
            Reschedule::AllDue => self.due_in(now_ms, f64::INFINITY)?,
            Reschedule::Interval if interval > 0.0 => {
                self.due_in(now_ms + interval, f64::INFINITY)?
            }
            Reschedule::Interval => return Ok(()),
        };
        let spread = (interval / 10.0).clamp(1.0, 300_000.0);
        let prefix = self.prefix.clone();
        self.link.run(|connection| {
            let mut pipe = redis::pipe();
            for (p, items) in &moves {
                if items.is_empty() {
                    continue;
                }
                let scored: Vec<(f64, &str)> = items
                    .iter()
                    .map(|(url, _)| {
                        let jitter = if how == Reschedule::AllDue {
                            0.0
                        } else {
                            fastrand::f64() * spread
                        };
                        (now_ms + jitter, url.as_str())
                    })
                    .collect();
                pipe.zadd_multiple(format!("{prefix}due:{p}"), &scored)
                    .ignore();
                pipe.cmd("ZADD")
                    .arg(format!("{prefix}ready"))
                    .arg("LT")
                    .arg(now_ms)
                    .arg(*p)
                    .ignore();
            }
            if pipe.is_empty() {
                return Ok(());
            }
            pipe.query::<()>(connection)
        })
    }

    fn release_claims(&mut self, now: SystemTime) -> Result<usize, StoreError> {
        if self.last_beat.is_none() && self.in_flight.is_empty() {
            return Ok(0);
        }
        let items: Vec<(u16, &str, f64)> = self
            .in_flight
            .iter()
            .map(|(url, flight)| (flight.partition, url.as_str(), flight.score))
            .collect();
        let json = serde_json::to_string(&items).unwrap_or_else(|_| "[]".to_owned());
        let mut invocation = scripts::RELEASE.prepare_invoke();
        invocation
            .arg(&self.prefix)
            .arg(&self.settings.node)
            .arg(json)
            .arg(unix_ms(now));
        let released: usize = self.link.run(|connection| invocation.invoke(connection))?;
        self.in_flight.clear();
        self.owned.clear();
        self.releasing.clear();
        self.last_beat = None;
        Ok(released)
    }

    fn drop_deeper(&mut self, max_depth: u32) -> Result<usize, StoreError> {
        // A waiting discovered URL's score is its depth.
        let deeper = self.due_in(f64::from(max_depth) + 1.0, f64::from(u32::MAX))?;
        let prefix = self.prefix.clone();
        let mut dropped = 0;
        self.link.run(|connection| {
            let mut pipe = redis::pipe();
            for (p, items) in &deeper {
                if !items.is_empty() {
                    dropped += items.len();
                    let urls: Vec<&str> = items.iter().map(|(url, _)| url.as_str()).collect();
                    pipe.zrem(format!("{prefix}due:{p}"), urls).ignore();
                }
            }
            if pipe.is_empty() {
                return Ok(());
            }
            pipe.query::<()>(connection)
        })?;
        Ok(dropped)
    }

    fn discovered(&self) -> u64 {
        self.discovered
    }

    fn over_limit(&self) -> u64 {
        self.over_limit
    }
}

impl Seeds for RedisFrontier {
    fn begin_seeds(&mut self) -> Result<u64, StoreError> {
        self.listed_added = 0;
        let key = self.key("meta");
        self.link
            .run(|connection| connection.hincr::<_, _, _, u64>(key, "generation", 1))
    }

    fn add_seeds(
        &mut self,
        urls: &[Url],
        generation: u64,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        self.list(urls, generation, now).map(drop)
    }

    fn end_seeds(&mut self, generation: u64) -> Result<SeedChanges, StoreError> {
        let added = std::mem::take(&mut self.listed_added);
        if generation == 0 {
            return Ok(SeedChanges { added, removed: 0 });
        }
        let key = self.key("seeds");
        let listed: HashMap<String, u64> = self.link.run(|connection| connection.hgetall(key))?;
        let removed: Vec<String> = listed
            .into_iter()
            .filter(|(_, listing)| *listing < generation)
            .map(|(url, _)| url)
            .collect();
        if !removed.is_empty() {
            self.retire(&removed)?;
        }
        Ok(SeedChanges {
            added,
            removed: removed.len(),
        })
    }

    fn add_sitemap(
        &mut self,
        seed: &Url,
        sitemap: &str,
        urls: &[String],
        is_from_public: bool,
    ) -> Result<u64, StoreError> {
        let seen = self.seen_key();
        let links = state::links_of(urls, |_| false);
        let batch = state::Batch {
            now: unix_ms(SystemTime::now()),
            round: self.round,
            max: self.max_pages_per_host,
            seen: &seen,
            done: Vec::new(),
            mark: Vec::new(),
            groups: vec![state::Group {
                d: 1,
                s: seed.as_str(),
                f: sitemap,
                p: is_from_public,
                links,
            }],
        };
        let (queued, over) = self.run_commit(&batch)?;
        self.discovered += queued;
        self.over_limit += over;
        Ok(queued)
    }
}

impl Rounds for RedisFrontier {
    fn begin_round(&mut self) -> Result<Round, StoreError> {
        let mut invocation = scripts::BEGIN_ROUND.prepare_invoke();
        invocation.arg(&self.prefix);
        let (number, joined): (u64, u8) =
            self.link.run(|connection| invocation.invoke(connection))?;
        self.round = number;
        self.seen_here.clear();
        Ok(Round {
            number,
            is_resumed: joined == 1,
            recorded: 0,
        })
    }

    fn list_and_claim(
        &mut self,
        urls: &[Url],
        generation: u64,
        now: SystemTime,
    ) -> Result<Vec<Claim>, StoreError> {
        // Seeds go to the shared queue; this node claims from its own
        // partitions only (its hosts), whoever listed them.
        self.list(urls, generation, now)?;
        self.claim(now, urls.len().max(1))
    }

    fn claim_discovered(
        &mut self,
        now: SystemTime,
        limit: usize,
    ) -> Result<Vec<Claim>, StoreError> {
        // A `--once` run takes whatever waits in its partitions: seeds
        // listed by other nodes too.
        self.claim(now, limit)
    }

    fn end_round(&mut self) -> Result<(), StoreError> {
        if self.is_idle(SystemTime::now())? {
            self.set_meta("round_done", 1)?;
        }
        self.round = 0;
        self.seen_here.clear();
        Ok(())
    }

    fn close_rounds(&mut self, _now: SystemTime) -> Result<usize, StoreError> {
        // Every URL is due again on its own schedule (see `commit`).
        Ok(0)
    }
}

impl Membership for RedisFrontier {
    fn is_shared(&self) -> bool {
        true
    }

    /// Checks that Redis answers (`PING`).
    ///
    /// # Errors
    /// It cannot be reached or refuses.
    fn ping(&mut self) -> Result<(), StoreError> {
        self.link
            .run(|connection| redis::cmd("PING").query::<String>(connection))
            .map(drop)
    }

    fn tick(&mut self, now: SystemTime) -> Result<(), StoreError> {
        if self.last_beat.is_none() && self.in_flight.is_empty() {
            // Not crawling yet (or any more): nothing to renew.
            return Ok(());
        }
        self.beat(now, false)
    }

    fn is_idle(&mut self, now: SystemTime) -> Result<bool, StoreError> {
        if !self.in_flight.is_empty() {
            return Ok(false);
        }
        let mut invocation = scripts::IDLE.prepare_invoke();
        invocation.arg(&self.prefix).arg(unix_ms(now));
        let idle: i64 = self.link.run(|connection| invocation.invoke(connection))?;
        Ok(idle == 1)
    }

    fn publish_config(&mut self, sections: &str) -> Result<(), StoreError> {
        let (key, node) = (self.key("configs"), self.settings.node.clone());
        let value = sections.to_owned();
        self.link
            .run(|connection| connection.hset::<_, _, _, ()>(key, node, value))
    }

    /// The node names and crawl settings published to the cluster.
    ///
    /// # Errors
    /// Redis cannot be read.
    fn published_configs(&mut self) -> Result<Vec<PublishedConfig>, StoreError> {
        let (configs_key, nodes_key) = (self.key("configs"), self.key("nodes"));
        let now = unix_ms(SystemTime::now());
        let (configs, nodes): (HashMap<String, String>, HashMap<String, i64>) =
            self.link.run(|connection| {
                Ok((
                    connection.hgetall(&configs_key)?,
                    connection.hgetall(&nodes_key)?,
                ))
            })?;
        let mut list: Vec<PublishedConfig> = configs
            .into_iter()
            .map(|(node, sections)| PublishedConfig {
                is_alive: nodes.get(&node).is_some_and(|until| *until > now),
                node,
                sections,
            })
            .collect();
        list.sort();
        Ok(list)
    }
}

impl Summary for RedisFrontier {
    fn location(&self) -> PathBuf {
        self.path()
    }

    fn status(&mut self, now: SystemTime) -> Result<Status, StoreError> {
        let (url_key, seeds_key) = (self.key("url"), self.key("seeds"));
        let (known, seeds): (u64, u64) = self
            .link
            .run(|connection| Ok((connection.hlen(&url_key)?, connection.hlen(&seeds_key)?)))?;
        let cluster = cluster_status(self, now)?;
        let in_flight = cluster
            .nodes
            .iter()
            .filter(|node| node.alive)
            .map(|node| node.in_flight)
            .sum();
        Ok(Status {
            path: self.path(),
            known,
            seeds,
            discovered: known.saturating_sub(seeds),
            due_now: cluster.due_now,
            in_flight,
            cluster: Some(cluster),
            ..Status::default()
        })
    }
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

/// What `crawler status` reads from Redis in one go.
struct Snapshot {
    nodes: HashMap<String, i64>,
    busy: HashMap<String, u64>,
    owners: HashMap<String, String>,
    queued: u64,
    due_now: u64,
    seen: u64,
    memory: String,
}

/// Reads the cluster's summary for `crawler status`.
fn cluster_status(
    frontier: &mut RedisFrontier,
    now: SystemTime,
) -> Result<ClusterStatus, StoreError> {
    let prefix = frontier.prefix.clone();
    let round_key = frontier.key("meta");
    let now_ms = unix_ms(now);
    let snapshot = frontier.link.run(|connection| {
        // The service's seen-set and the last `--once` run's.
        let round: Option<u64> = connection.hget(&round_key, "round")?;
        let last_run: u64 = match round {
            Some(round) if round > 0 => connection.scard(format!("{prefix}seen:{round}"))?,
            _ => 0,
        };
        let mut pipe = redis::pipe();
        for p in 0..PARTITIONS {
            pipe.zcard(format!("{prefix}due:{p}"));
            pipe.zcount(format!("{prefix}due:{p}"), "-inf", now_ms);
        }
        let counts: Vec<u64> = pipe.query(connection)?;
        Ok(Snapshot {
            nodes: connection.hgetall(format!("{prefix}nodes"))?,
            busy: connection.hgetall(format!("{prefix}busy"))?,
            owners: connection.hgetall(format!("{prefix}owners"))?,
            queued: counts.iter().step_by(2).sum(),
            due_now: counts.iter().skip(1).step_by(2).sum(),
            seen: connection.scard::<_, u64>(format!("{prefix}seen:0"))? + last_run,
            memory: redis::cmd("INFO").arg("memory").query(connection)?,
        })
    })?;
    let mut list: Vec<NodeStatus> = snapshot
        .nodes
        .iter()
        .map(|(name, until)| NodeStatus {
            name: name.clone(),
            alive: *until > now_ms,
            in_flight: snapshot.busy.get(name).copied().unwrap_or(0),
            partitions: snapshot
                .owners
                .values()
                .filter(|owner| owner.split('|').next() == Some(name.as_str()))
                .count() as u64,
        })
        .collect();
    list.sort_by(|a, b| a.name.cmp(&b.name));
    let redis_bytes = snapshot
        .memory
        .lines()
        .find_map(|line| line.strip_prefix("used_memory:"))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0);
    Ok(ClusterStatus {
        name: frontier.settings.name.clone(),
        nodes: list,
        queued: snapshot.queued,
        due_now: snapshot.due_now,
        seen: snapshot.seen,
        redis_bytes,
    })
}

impl Known {
    fn from_state(state: &UrlState) -> Option<Self> {
        state.k.map(|_| Self {
            title: state.t.clone(),
            etag: state.e.clone(),
            last_modified: state.m.clone(),
        })
    }
}

impl UrlState {
    fn known(&self) -> Option<Known> {
        Known::from_state(self)
    }

    fn lineage(&self) -> Option<Lineage> {
        if self.o.as_deref() != Some("d") {
            return None;
        }
        Some(Lineage {
            depth: self.d.unwrap_or(1),
            seed: Url::parse(self.s.as_deref()?).ok()?,
            found_on: self.f.clone().unwrap_or_default(),
            is_from_public: self.p.unwrap_or(false),
        })
    }
}
