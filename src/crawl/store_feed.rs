//! Feeding a `--once` run from the store: the seeds are listed in it batch
//! by batch and those without a record in this run are queued at once (so
//! fetching starts with the first batch); then the URLs their pages link
//! to, shallowest first, as they are found, until every queued URL's
//! result is written and nothing is left to claim.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_channel::Sender;
use indicatif::ProgressBar;
use url::Url;

use super::Job;
use super::listing::{CLAIM_BATCH, cluster_room, end_listing};
use crate::config::Config;
use crate::fetch::Fetcher;
use crate::frontier::store::{self, MAX_BACKLOG, Store};
use crate::frontier::{Claim, StoreError};
use crate::observe::metrics::Metrics;

/// How often a `--once` run looks for newly discovered URLs while pages
/// are still being fetched.
const DISCOVERY_POLL: Duration = Duration::from_millis(10);
/// How often a `--once` node whose own work is done looks again while
/// other nodes of its cluster still crawl (or a shared store is away).
const OTHERS_POLL: Duration = Duration::from_millis(200);

/// How long the feed waits while a node of a cluster holds enough jobs.
const QUEUE_POLL: Duration = Duration::from_millis(20);

/// A `--once` run fed from the store.
pub struct StoreFeed {
    /// The store.
    pub store: Store,
    /// The run's config: its seeds, and the sitemaps' scope.
    pub config: Config,
    /// The work queue; closed when the run is fed.
    pub jobs: Sender<Job>,
    /// The progress bar, whose total grows with what is found.
    pub bar: Option<ProgressBar>,
    /// The client that reads the seed hosts' sitemaps, when `crawl.sitemaps` applies.
    pub sitemaps: Option<Fetcher>,
    /// A node of a cluster claims only what [`cluster_room`] allows.
    pub window: Option<Arc<Metrics>>,
}

/// What is left to do after a step of the feed.
enum Step {
    /// More may come: look again after this long.
    Wait(Duration),
    /// Every URL is handed out and written.
    Done,
    /// The store failed or the queue closed.
    Stop,
}

impl StoreFeed {
    /// Feeds the run, then closes the queue so the workers drain. `true`
    /// when every seed was read and every URL handed out.
    pub async fn run(self) -> bool {
        let Some(generation) = self.begin_listing().await else {
            self.jobs.close();
            return false;
        };
        let mut queued = 0u64;
        let Some(complete) = self.feed_seeds(generation, &mut queued).await else {
            return false;
        };
        if let Some(fetcher) = &self.sitemaps {
            let added = super::sitemaps::discover(&self.store, &self.config, fetcher).await;
            log::info!("sitemaps: {added} URLs to crawl");
        }
        let discovered = self.feed_discovered(&mut queued).await;
        self.jobs.close();
        complete && discovered
    }

    /// Starts a listing of the seeds, waiting while a shared store is away
    /// or refuses (said once); `None` when the store failed (logged).
    async fn begin_listing(&self) -> Option<u64> {
        let mut reported = false;
        loop {
            match self.store.call(|frontier, _| frontier.begin_seeds()).await {
                Some(Ok(generation)) => return Some(generation),
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
                    log::error!(
                        "cannot list the seeds in the crawl state ({why}); the run stops here"
                    );
                    return None;
                }
            }
        }
    }

    /// Lists the seeds batch by batch, queueing those without a record in
    /// this run; then ends the listing. `Some(whether every seed was
    /// read)`, `None` once the queue is closed (shutdown).
    async fn feed_seeds(&self, generation: u64, queued: &mut u64) -> Option<bool> {
        let mut seeds = self.config.seed_stream();
        let mut is_listed = true;
        loop {
            let batch = seeds.next_batch(CLAIM_BATCH);
            if batch.is_empty() {
                break;
            }
            let Some(claims) = claim_listed(&self.store, batch, generation).await else {
                is_listed = false;
                break;
            };
            if !queue_claims(&self.jobs, claims, queued).await {
                return None;
            }
        }
        let complete = is_listed && seeds.is_complete();
        if is_listed {
            let ended = self
                .store
                .call(move |frontier, _| end_listing(frontier, generation, complete))
                .await;
            if let Some(Err(err)) = ended {
                log::error!("{err}");
            }
        }
        Some(complete)
    }

    /// Queues discovered URLs as their pages' results are written, until
    /// all `queued` URLs have their result written and nothing is due.
    /// `false` when the store failed or the queue closed.
    async fn feed_discovered(&self, queued: &mut u64) -> bool {
        let mut reported = false;
        loop {
            let step = self.next_discovered(queued, &mut reported).await;
            match step {
                Step::Wait(pause) if pause.is_zero() => {}
                Step::Wait(pause) => async_std::task::sleep(pause).await,
                Step::Done => return true,
                Step::Stop => return false,
            }
        }
    }

    /// Claims and queues the next discovered URLs, or says how long to
    /// wait for more, or that the run is over.
    async fn next_discovered(&self, queued: &mut u64, reported: &mut bool) -> Step {
        let room = self.window.as_deref().map_or(CLAIM_BATCH, |metrics| {
            cluster_room(metrics, self.jobs.len()).min(CLAIM_BATCH)
        });
        if room == 0 {
            return Step::Wait(QUEUE_POLL);
        }
        let committed = self.store.committed();
        let claimed = self
            .store
            .call(move |frontier, backlog| {
                let claims = (backlog < MAX_BACKLOG)
                    .then(|| frontier.claim_discovered(SystemTime::now(), room))
                    .transpose();
                (claims, backlog)
            })
            .await;
        let Some((claims, backlog)) = claimed else {
            return Step::Stop;
        };
        match claims {
            Ok(Some(claims)) if !claims.is_empty() => {
                if let Some(bar) = &self.bar {
                    bar.inc_length(claims.len() as u64);
                }
                if !queue_claims(&self.jobs, claims, queued).await {
                    return Step::Stop;
                }
                Step::Wait(Duration::ZERO)
            }
            Ok(_) if committed >= *queued => self.when_all_written(reported).await,
            Ok(_) => self.while_results_wait(committed, backlog, *queued),
            // Redis is away or refuses: wait for it (said once).
            Err(err) if err.is_transient() => {
                report_once(&err, reported);
                Step::Wait(OTHERS_POLL)
            }
            Err(err) => {
                log::error!("{err}; the run stops here and resumes at the next start");
                Step::Stop
            }
        }
    }

    /// Every result of this node is written: done, unless other nodes of a
    /// cluster may still find links for this one.
    async fn when_all_written(&self, reported: &mut bool) -> Step {
        match self
            .store
            .call(|frontier, _| frontier.is_idle(SystemTime::now()))
            .await
        {
            Some(Ok(true)) | None => return Step::Done,
            Some(Ok(false)) => {}
            Some(Err(err)) if err.is_transient() => report_once(&err, reported),
            Some(Err(err)) => {
                log::error!("{err}; the run stops here and resumes at the next start");
                return Step::Stop;
            }
        }
        if self.jobs.is_closed() {
            return Step::Stop;
        }
        Step::Wait(OTHERS_POLL)
    }

    /// Nothing to claim until the finished pages' links are written: asks
    /// for that now, unless results cannot be written at all.
    fn while_results_wait(&self, committed: u64, backlog: usize, queued: u64) -> Step {
        self.store.flush();
        let store = &self.store;
        if store.is_failing() && !store.is_shared() && committed + backlog as u64 >= queued {
            // Every result is in, but cannot be written: nothing more can be found.
            return Step::Stop;
        }
        if self.jobs.is_closed() {
            return Step::Stop;
        }
        Step::Wait(DISCOVERY_POLL)
    }
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

/// Logs a refusal of the shared store once per wait (an unreachable one is
/// reported by the store thread).
fn report_once(err: &StoreError, reported: &mut bool) {
    if !err.is_unreachable() && !*reported {
        log::error!("{err}; waiting for it to take writes again");
        *reported = true;
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
