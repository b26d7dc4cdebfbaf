//! The seeds in the store: listing them at start and on reload, new ones
//! due now and unlisted ones retired.

use std::time::SystemTime;

use crate::config::Config;
use crate::frontier::store::Store;
use crate::frontier::{Frontier, SeedChanges, StoreError};
use crate::observe::metrics::Metrics;

/// URLs claimed from the store at once at most.
pub const CLAIM_BATCH: usize = 1000;
/// Jobs waiting per worker that a node of a cluster holds at most.
pub const CLUSTER_AHEAD_PER_WORKER: usize = 4;

/// How many URLs a node of a cluster may claim now, with `queued` jobs in
/// the work queue: what a node holds is no other node's to crawl, so it
/// claims only what it can start soon ([`CLUSTER_AHEAD_PER_WORKER`] jobs
/// per worker waiting, in the queue and the host queues together), and a
/// partition it gives up drains in moments.
pub fn cluster_room(metrics: &Metrics, queued: usize) -> usize {
    let most = CLUSTER_AHEAD_PER_WORKER * metrics.workers().max(1);
    most.saturating_sub(metrics.queue_depth().max(queued))
}

/// Seeds written to the store in one transaction.
const SEED_BATCH: usize = 10_000;

/// Lists `config`'s seeds in the store: new ones are due now, unlisted ones
/// are retired. Each batch is its own call on the store thread, so results
/// keep being committed in between (a million seeds take seconds). When the
/// seeds file cannot be read to its end, nothing is retired (a seed must not
/// leave the schedule because of a read error). A list the store last
/// listed whole, unchanged since (by the digest of its source: the seeds
/// file's bytes, not each seed parsed), is not listed again: a restart
/// with ten million seeds starts crawling at once.
///
/// # Errors
/// The store cannot be written, or its thread stopped.
pub async fn list_seeds(store: &Store, config: &Config) -> Result<SeedChanges, StoreError> {
    let stopped = || StoreError::Stopped(store.path().to_owned());
    let source = source_digest(config);
    if let Some(digest) = source {
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
    loop {
        let batch = seeds.next_batch(SEED_BATCH);
        if batch.is_empty() {
            break;
        }
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
    // A file changed while it was listed is listed again at the next start:
    // its bytes no longer match the digest taken before.
    if let Some(digest) = source.filter(|_| is_complete) {
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

/// The digest of where `config`'s seeds come from: this crawler's version
/// (it decides how seeds are normalized), the inline seeds, then the seeds
/// file's bytes (read at disk speed, not parsed); `None` when the file
/// cannot be read to its end.
fn source_digest(config: &Config) -> Option<u64> {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
    hasher.update(b"\n");
    for seed in &config.seeds {
        hasher.update(seed.as_str().as_bytes());
        hasher.update(b"\n");
    }
    if let Some(file) = &config.seeds_file {
        hasher.update(b"\0seeds_file\n");
        let mut reader = std::fs::File::open(file.path()).ok()?;
        let mut buffer = vec![0; 1 << 20];
        loop {
            match std::io::Read::read(&mut reader, &mut buffer) {
                Ok(0) => break,
                Ok(read) => hasher.update(&buffer[..read]),
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return None,
            }
        }
    }
    Some(hasher.digest())
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
