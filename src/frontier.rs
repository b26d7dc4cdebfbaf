//! The work queue: a bounded `async_channel` of [`Job`]s fed from the seeds, with a
//! seen-set so the same URL is queued once.
//!
//! The feeder streams the seeds file line by line and waits whenever the queue is
//! full, so a million seeds cost a million small hashes, not a million futures.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, DefaultHasher, Hash, Hasher};

use async_channel::{Receiver, Sender};
use url::Url;

use crate::config::Config;
use crate::seeds::SeedLine;

/// One URL to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The normalized seed URL, as queued.
    pub url: Url,
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

/// What the feeder did with the seeds.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FeedReport {
    /// Jobs sent to the queue.
    pub queued: usize,
    /// Seeds skipped because they were already queued.
    pub duplicates: usize,
    /// Seed lines skipped because they no longer parse (the file changed after validation).
    pub invalid: usize,
}

/// Queues every distinct seed of `config`, waiting while the queue is full.
///
/// Stops early when the queue is closed (shutdown). Problems with the seeds file
/// are logged line by line: no seed disappears without a trace.
pub async fn feed(config: &Config, jobs: &Sender<Job>) -> FeedReport {
    // Validation counted the distinct seeds: size the set once.
    let mut seen = SeenSet::with_capacity(config.seed_count);
    let mut report = FeedReport::default();
    for url in &config.seeds {
        if !offer(url.clone(), &mut seen, jobs, &mut report).await {
            return report;
        }
    }
    let Some(file) = &config.seeds_file else {
        return report;
    };
    let entries = match file.entries() {
        Ok(entries) => entries,
        Err(err) => {
            log::error!("cannot read seeds file `{}`: {err}", file.path().display());
            return report;
        }
    };
    for entry in entries {
        match entry {
            Ok(SeedLine { url: Ok(url), .. }) => {
                if !offer(url, &mut seen, jobs, &mut report).await {
                    break;
                }
            }
            Ok(SeedLine {
                line,
                url: Err(message),
            }) => {
                report.invalid += 1;
                log::warn!("{} line {line}: {message}; skipped", file.path().display());
            }
            Err(err) => {
                log::error!(
                    "reading seeds file `{}` failed: {err}",
                    file.path().display()
                );
                break;
            }
        }
    }
    report
}

/// Queues `url` unless already seen; `false` when the queue is closed.
async fn offer(url: Url, seen: &mut SeenSet, jobs: &Sender<Job>, report: &mut FeedReport) -> bool {
    if !seen.insert(&url) {
        report.duplicates += 1;
        return true;
    }
    if jobs.send(Job { url }).await.is_err() {
        return false;
    }
    report.queued += 1;
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_set_deduplicates_normalized_urls() {
        let mut seen = SeenSet::default();
        let a = crate::seeds::parse_seed("http://127.0.0.1/a#x").unwrap();
        let b = crate::seeds::parse_seed("HTTP://127.0.0.1:80/a").unwrap();
        assert!(seen.insert(&a));
        assert!(!seen.insert(&b));
        assert_eq!(seen.len(), 1);
    }
}
