//! The seeds in the store: listing them at start and on reload, new ones
//! due now and unlisted ones retired.

use std::time::SystemTime;

use url::Url;

use crate::config::Config;
use crate::frontier::store::Store;
use crate::frontier::{Frontier, SeedChanges, StoreError};

/// URLs claimed from the store at once at most.
pub const CLAIM_BATCH: usize = 1000;
/// Seeds written to the store in one transaction.
const SEED_BATCH: usize = 10_000;

/// Lists `config`'s seeds in the store: new ones are due now, unlisted ones
/// are retired. Each batch is its own call on the store thread, so results
/// keep being committed in between (a million seeds take seconds). When the
/// seeds file cannot be read to its end, nothing is retired (a seed must not
/// leave the schedule because of a read error). A list the store last
/// listed whole, unchanged since (by its digest), is not listed again: a
/// restart with a million seeds starts crawling at once.
///
/// # Errors
/// The store cannot be written, or its thread stopped.
pub async fn list_seeds(store: &Store, config: &Config) -> Result<SeedChanges, StoreError> {
    let stopped = || StoreError::Stopped(store.path().to_owned());
    if let Some(digest) = seed_list_digest(config) {
        let listed = store
            .call(|frontier, _| frontier.listed_digest())
            .await
            .ok_or_else(stopped)??;
        if listed == Some(digest) {
            log::debug!("the seeds are those listed last: not listed again");
            return Ok(SeedChanges::default());
        }
    }
    let generation = store
        .call(|frontier, _| frontier.begin_seeds())
        .await
        .ok_or_else(stopped)??;
    let mut seeds = config.seed_stream();
    let mut digest = SeedDigest::default();
    loop {
        let batch = seeds.next_batch(SEED_BATCH);
        if batch.is_empty() {
            break;
        }
        digest.add(&batch);
        store
            .call(move |frontier, _| frontier.add_seeds(&batch, generation, SystemTime::now()))
            .await
            .ok_or_else(stopped)??;
    }
    let is_complete = seeds.is_complete();
    let changes = store
        .call(move |frontier, _| end_listing(frontier, generation, is_complete))
        .await
        .ok_or_else(stopped)??;
    if is_complete {
        let digest = digest.finish();
        let recorded = store
            .call(move |frontier, _| frontier.set_listed_digest(digest))
            .await
            .ok_or_else(stopped)?;
        if let Err(err) = recorded {
            // The seeds are listed; only the shortcut of the next start is lost.
            log::warn!("{err}; the next start lists the seeds again");
        }
    }
    Ok(changes)
}

/// The digest of `config`'s seed list as it reads now; `None` when the
/// seeds file cannot be read to its end.
fn seed_list_digest(config: &Config) -> Option<u64> {
    let mut seeds = config.seed_stream();
    let mut digest = SeedDigest::default();
    loop {
        let batch = seeds.next_batch(SEED_BATCH);
        if batch.is_empty() {
            break;
        }
        digest.add(&batch);
    }
    seeds.is_complete().then(|| digest.finish())
}

/// A digest of a seed list: this crawler's version (it decides how seeds
/// are normalized), then each seed as listed, in order.
struct SeedDigest(xxhash_rust::xxh3::Xxh3);

impl Default for SeedDigest {
    fn default() -> Self {
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
        hasher.update(b"\n");
        Self(hasher)
    }
}

impl SeedDigest {
    fn add(&mut self, seeds: &[Url]) {
        for seed in seeds {
            self.0.update(seed.as_str().as_bytes());
            self.0.update(b"\n");
        }
    }

    fn finish(&self) -> u64 {
        self.0.digest()
    }
}

/// Retires the seeds a complete listing did not name; after an incomplete
/// one only counts what was added.
pub(super) fn end_listing(
    frontier: &mut dyn Frontier,
    generation: u64,
    is_complete: bool,
) -> Result<SeedChanges, StoreError> {
    if is_complete {
        return frontier.end_seeds(generation);
    }
    log::warn!("the seeds file was not read to its end: no seed is removed until it can be");
    // Generation 0 retires nothing; the added seeds are still counted.
    frontier.end_seeds(0)
}
