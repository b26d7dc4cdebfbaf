//! The seeds in the store: listing them (at start, on reload) and feeding a
//! `--once` run from the store as they are listed, then the links its
//! pages lead to, with the progress bar growing as they are found.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_channel::Sender;
use indicatif::ProgressBar;
use url::Url;

use super::Job;
use crate::config::Config;
use crate::fetch::Fetcher;
use crate::frontier::store::{self, MAX_BACKLOG, Store};
use crate::frontier::{Claim, Frontier, SeedChanges, StoreError};

/// URLs claimed from the store at once at most.
pub const CLAIM_BATCH: usize = 1000;
/// Seeds written to the store in one transaction.
const SEED_BATCH: usize = 10_000;

/// Lists `config`'s seeds in the store: new ones are due now, unlisted ones
/// are retired. Each batch is its own call on the store thread, so results
/// keep being committed in between (a million seeds take seconds). When the
/// seeds file cannot be read to its end, nothing is retired (a seed must not
/// leave the schedule because of a read error).
///
/// # Errors
/// The store cannot be written, or its thread stopped.
pub async fn list_seeds(store: &Store, config: &Config) -> Result<SeedChanges, StoreError> {
    let stopped = || StoreError::Stopped(store.path().to_owned());
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
    store
        .call(move |frontier, _| end_listing(frontier, generation, is_complete))
        .await
        .ok_or_else(stopped)?
}

/// Retires the seeds a complete listing did not name; after an incomplete
/// one only counts what was added.
fn end_listing(
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

/// Feeds a `--once` run from the store while listing the seeds in it: each
/// batch of seeds read is listed and its seeds without a record in this run
/// are claimed and queued at once (so fetching starts with the first batch).
/// Then the URLs their pages link to, shallowest first, as they are found,
/// until every queued URL's result is written and nothing is left to
/// claim; then closes the queue. `bar`'s total grows with what is found.
/// `true` when every seed was read and every URL handed out.
pub async fn feed_from_store(
    store: Store,
    config: Config,
    jobs: Sender<Job>,
    (bar, sitemaps): (Option<ProgressBar>, Option<Fetcher>),
) -> bool {
    let mut reported = false;
    let generation = loop {
        match store.call(|frontier, _| frontier.begin_seeds()).await {
            Some(Ok(generation)) => break generation,
            // A shared store away or refusing: wait for it (said once).
            Some(Err(err)) if err.is_transient() => {
                if err.is_unreachable() && !reported {
                    log::warn!("{err}; waiting for it");
                    reported = true;
                }
                report_once(&err, &mut reported);
                async_std::task::sleep(OTHERS_POLL).await;
            }
            answer => {
                let why = answer.and_then(Result::err).map_or_else(
                    || "the store thread stopped".to_owned(),
                    |err| err.to_string(),
                );
                log::error!("cannot list the seeds in the crawl state ({why}); the run stops here");
                jobs.close();
                return false;
            }
        }
    };
    let mut queued = 0u64;
    let mut seeds = config.seed_stream();
    let mut is_complete = true;
    loop {
        let batch = seeds.next_batch(CLAIM_BATCH);
        if batch.is_empty() {
            break;
        }
        match claim_listed(&store, batch, generation).await {
            Some(claims) => {
                if !queue_claims(&jobs, claims, &mut queued).await {
                    return false;
                }
            }
            None => {
                is_complete = false;
                break;
            }
        }
    }
    let complete = is_complete && seeds.is_complete();
    if is_complete {
        let ended = store
            .call(move |frontier, _| end_listing(frontier, generation, complete))
            .await;
        if let Some(Err(err)) = ended {
            log::error!("{err}");
        }
    }
    if let Some(fetcher) = sitemaps {
        let added = super::sitemaps::discover(&store, &config, &fetcher).await;
        log::info!("sitemaps: {added} URLs to crawl");
    }
    let discovered = feed_discovered(&store, &jobs, &mut queued, bar.as_ref()).await;
    jobs.close();
    complete && discovered
}

/// Queues `claims`; `false` once the queue is closed (shutdown).
async fn queue_claims(jobs: &Sender<Job>, claims: Vec<Claim>, queued: &mut u64) -> bool {
    for claim in claims {
        if jobs.send(Job::from(claim)).await.is_err() {
            return false;
        }
        *queued += 1;
    }
    true
}

/// How often a `--once` run looks for newly discovered URLs while pages
/// are still being fetched.
const DISCOVERY_POLL: Duration = Duration::from_millis(10);

/// Logs a refusal of the shared store once per wait (an unreachable one is
/// reported by the store thread).
fn report_once(err: &StoreError, reported: &mut bool) {
    if !err.is_unreachable() && !*reported {
        log::error!("{err}; waiting for it to take writes again");
        *reported = true;
    }
}

/// How often a `--once` node whose own work is done looks again while
/// other nodes of its cluster still crawl.
const OTHERS_POLL: Duration = Duration::from_millis(200);

/// Queues discovered URLs as their pages' results are written, until all
/// `queued` URLs have their result written and nothing is due. `false`
/// when the store failed or the queue closed.
async fn feed_discovered(
    store: &Store,
    jobs: &Sender<Job>,
    queued: &mut u64,
    bar: Option<&ProgressBar>,
) -> bool {
    let mut reported = false;
    loop {
        let committed = store.committed();
        let claimed = store
            .call(|frontier, backlog| {
                let claims = (backlog < MAX_BACKLOG)
                    .then(|| frontier.claim_discovered(SystemTime::now(), CLAIM_BATCH))
                    .transpose();
                (claims, backlog)
            })
            .await;
        let Some((claims, backlog)) = claimed else {
            return false;
        };
        match claims {
            Ok(Some(claims)) if !claims.is_empty() => {
                if let Some(bar) = bar {
                    bar.inc_length(claims.len() as u64);
                }
                if !queue_claims(jobs, claims, queued).await {
                    return false;
                }
                continue;
            }
            Ok(_) => {}
            // Redis is away or refuses: wait for it (said once).
            Err(err) if err.is_transient() => {
                report_once(&err, &mut reported);
                async_std::task::sleep(OTHERS_POLL).await;
                continue;
            }
            Err(err) => {
                log::error!("{err}; the run stops here and resumes at the next start");
                return false;
            }
        }
        if committed >= *queued {
            // Other nodes of a cluster may still find links for this one.
            match store
                .call(|frontier, _| frontier.is_idle(SystemTime::now()))
                .await
            {
                Some(Ok(true)) | None => return true,
                Some(Ok(false)) => {}
                Some(Err(err)) if err.is_transient() => report_once(&err, &mut reported),
                Some(Err(err)) => {
                    log::error!("{err}; the run stops here and resumes at the next start");
                    return false;
                }
            }
            if jobs.is_closed() {
                return false;
            }
            async_std::task::sleep(OTHERS_POLL).await;
            continue;
        }
        // Nothing to claim until the finished pages' links are written: now.
        store.flush();
        if store.is_failing() && !store.is_shared() && committed + backlog as u64 >= *queued {
            // Every result is in, but cannot be written: nothing more can be found.
            return false;
        }
        if jobs.is_closed() {
            return false;
        }
        async_std::task::sleep(DISCOVERY_POLL).await;
    }
}

/// Lists `batch` and claims its seeds without a record in this run,
/// waiting while results cannot be written (a full disk). `None` when the
/// store failed (logged) or stopped.
async fn claim_listed(store: &Store, batch: Vec<Url>, generation: u64) -> Option<Vec<Claim>> {
    let batch = Arc::new(batch);
    let mut reported = false;
    loop {
        let urls = Arc::clone(&batch);
        let claimed = store
            .call(move |frontier, backlog| {
                (backlog < MAX_BACKLOG)
                    .then(|| frontier.list_and_claim(&urls, generation, SystemTime::now()))
                    .transpose()
            })
            .await?;
        match claimed {
            Ok(Some(claims)) => return Some(claims),
            // Results wait to be written: claim no more for now.
            Ok(None) => async_std::task::sleep(store::RETRY_INTERVAL).await,
            Err(err) if err.is_transient() => {
                report_once(&err, &mut reported);
                async_std::task::sleep(OTHERS_POLL).await;
            }
            Err(err) => {
                log::error!("{err}; the run stops here and resumes at the next start");
                return None;
            }
        }
    }
}
