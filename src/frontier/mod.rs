//! What the crawl knows per URL and what is due: the [`backend::Frontier`] interface and
//! its embedded backend ([`sqlite`]), the store thread ([`store`]), seeds, and
//! the work queue of [`Job`]s.
//!
//! Without a state file (`--once` alone), the feeder streams the seeds file
//! line by line through a seen-set and waits whenever the queue is full, so a
//! million seeds cost a million small hashes, not a million futures. With one,
//! the seeds go into the store and jobs come out of it in batches.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, DefaultHasher, Hash, Hasher};

use async_channel::{Receiver, Sender};
use url::Url;

use crate::config::Config;
use backend::{Claim, Known, Lineage};
use seeds::{SeedFile, SeedLine};

pub use listing::{feed_from_store, list_seeds, outcome_of};

pub mod backend;
mod listing;
pub mod redis;
pub mod scope;
pub mod seeds;
pub mod sqlite;
pub mod store;

/// URLs claimed from the store at once at most.
pub const CLAIM_BATCH: usize = 1000;

/// One URL to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The normalized URL, as queued.
    pub url: Url,
    /// Which attempt this is: 0 for the first request, then one more per retry.
    pub attempt: u32,
    /// What the last successful fetch saw: the title to compare, the validators to send.
    pub known: Option<Box<Known>>,
    /// How it was discovered; `None` for a seed.
    pub lineage: Option<Box<Lineage>>,
}

impl Job {
    /// A first attempt at `url`, with nothing known about it.
    pub fn new(url: Url) -> Self {
        Self {
            url,
            attempt: 0,
            known: None,
            lineage: None,
        }
    }

    /// Links followed from its seed to reach it: 0 for a seed.
    pub fn depth(&self) -> u32 {
        self.lineage.as_ref().map_or(0, |lineage| lineage.depth)
    }

    /// The page it was found on; `None` for a seed.
    pub fn found_on(&self) -> Option<&str> {
        self.lineage
            .as_ref()
            .map(|lineage| lineage.found_on.as_str())
    }

    /// The seed it descends from (itself, for a seed).
    pub fn seed(&self) -> &Url {
        self.lineage
            .as_ref()
            .map_or(&self.url, |lineage| &lineage.seed)
    }

    /// The same job, one attempt later.
    pub fn retried(&self) -> Self {
        Self {
            attempt: self.attempt + 1,
            ..self.clone()
        }
    }
}

impl From<Claim> for Job {
    fn from(claim: Claim) -> Self {
        Self {
            url: claim.url,
            attempt: 0,
            known: claim.known.map(Box::new),
            lineage: claim.lineage.map(Box::new),
        }
    }
}

/// A 64-bit fingerprint of a normalized URL, for the seen-set.
///
/// Collisions are possible in principle (about one in 10^8 for a million seeds);
/// fingerprints keep the set at ~9 bytes a seed instead of the whole URL.
pub fn fingerprint(url: &Url) -> u64 {
    let mut hasher = DefaultHasher::new();
    url.as_str().hash(&mut hasher);
    hasher.finish()
}

/// URLs already queued, kept as fingerprints.
#[derive(Debug, Default)]
pub struct SeenSet(HashSet<u64, BuildHasherDefault<IdentityHasher>>);

impl SeenSet {
    /// An empty set with room for `capacity` URLs, so it never grows in steps.
    pub fn with_capacity(capacity: usize) -> Self {
        Self(HashSet::with_capacity_and_hasher(
            capacity,
            BuildHasherDefault::default(),
        ))
    }

    /// Records `url`; `true` when it was not seen before.
    pub fn insert(&mut self, url: &Url) -> bool {
        self.0.insert(fingerprint(url))
    }

    /// How many distinct URLs were recorded.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Counts distinct URLs in 8 bytes each (a sorted list of fingerprints), a
/// third of what a [`SeenSet`] costs while it grows: validating a million
/// seeds peaks at 8 MB, not 28 MB.
#[derive(Debug, Default)]
pub struct DistinctCount(Vec<u64>);

impl DistinctCount {
    /// Counts `url`.
    pub fn insert(&mut self, url: &Url) {
        if self.0.len() == self.0.capacity() && self.0.len() >= 1024 {
            // Drop duplicates before growing, so repeats never cost memory.
            self.compact();
        }
        self.0.push(fingerprint(url));
    }

    /// How many distinct URLs were counted.
    pub fn len(&mut self) -> usize {
        self.compact();
        self.0.len()
    }

    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn compact(&mut self) {
        self.0.sort_unstable();
        self.0.dedup();
    }
}

/// Fingerprints are already well mixed; hashing them again would be wasted work.
#[derive(Debug, Default)]
pub struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0 << 8) | u64::from(*byte);
        }
    }
    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

/// Creates the bounded work queue.
pub fn queue(capacity: usize) -> (Sender<Job>, Receiver<Job>) {
    async_channel::bounded(capacity)
}

/// Every distinct seed of `config`: inline ones first, then the seeds file,
/// streamed. Lines that no longer parse (the file changed after validation)
/// are logged with their line number, so no seed disappears without a trace.
pub fn distinct_seeds(config: &Config) -> impl Iterator<Item = Url> + Send + '_ {
    let mut seen = SeenSet::with_capacity(config.seed_count);
    let from_file = config.seeds_file.iter().flat_map(file_seeds);
    config
        .seeds
        .iter()
        .cloned()
        .chain(from_file)
        .filter(move |url| seen.insert(url))
}

fn file_seeds(file: &SeedFile) -> impl Iterator<Item = Url> + Send + use<> {
    let path = file.path().to_owned();
    let entries = file
        .entries()
        .map_err(|err| log::error!("cannot read seeds file `{}`: {err}", path.display()))
        .ok();
    entries
        .into_iter()
        .flatten()
        .map_while(move |entry| match entry {
            Ok(SeedLine { url: Ok(url), .. }) => Some(Some(url)),
            Ok(SeedLine {
                line,
                url: Err(message),
            }) => {
                log::warn!("{} line {line}: {message}; skipped", path.display());
                Some(None)
            }
            Err(err) => {
                log::error!("reading seeds file `{}` failed: {err}", path.display());
                None
            }
        })
        .flatten()
}

/// Queues every distinct seed of `config` (waiting while the queue is full),
/// then waits until each has a final outcome (`finished`, retries included)
/// and closes the queue, so the workers drain and exit. Stops early when the
/// queue is closed (shutdown). Returns how many seeds were queued.
pub async fn feed(config: &Config, jobs: &Sender<Job>, finished: &Receiver<Url>) -> usize {
    let (mut queued, mut done) = (0, 0);
    for url in distinct_seeds(config) {
        // Count what finished meanwhile, so the channel never holds more than a queue's worth.
        while finished.try_recv().is_ok() {
            done += 1;
        }
        if jobs.send(Job::new(url)).await.is_err() {
            return queued;
        }
        queued += 1;
    }
    while done < queued && finished.recv().await.is_ok() {
        done += 1;
    }
    jobs.close();
    queued
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_count_counts_each_url_once() {
        let mut count = DistinctCount::default();
        for index in 0..5000 {
            let url =
                crate::frontier::seeds::parse_seed(&format!("http://127.0.0.1/{}", index % 3000))
                    .unwrap();
            count.insert(&url);
        }
        assert_eq!(count.len(), 3000);
    }

    #[test]
    fn seen_set_deduplicates_normalized_urls() {
        let mut seen = SeenSet::default();
        let a = crate::frontier::seeds::parse_seed("http://127.0.0.1/a#x").unwrap();
        let b = crate::frontier::seeds::parse_seed("HTTP://127.0.0.1:80/a").unwrap();
        assert!(seen.insert(&a));
        assert!(!seen.insert(&b));
        assert_eq!(seen.len(), 1);
    }
}
