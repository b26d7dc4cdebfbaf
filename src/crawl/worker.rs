//! A worker: job → fetch → decode → extract → record.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime};

use async_channel::{Receiver, Sender};
use async_std::task;
use futures_lite::future;
use url::Url;

use crate::config::notify::Target;
use crate::crawl::analyze::{Analysis, analyze_guarded};
use crate::crawl::dispatch::Event;
use crate::crawl::follow::{self, Reason, Rules};
use crate::crawl::politeness::redirects::RedirectRobots;
use crate::crawl::politeness::{HostKey, Signal};
use crate::crawl::retry::{Decision, RetryPolicy};
use crate::crawl::{Job, Message};
use crate::fetch::{FetchError, FetchOptions, Fetcher, HopGate, Page, Validators};
use crate::frontier::{Known, PageFacts};
use crate::observe::metrics::Metrics;
use crate::record::Record;

/// What a worker needs; cloned for each worker of the pool.
#[derive(Clone)]
pub struct Context {
    /// The work queue, fed by the dispatcher.
    pub jobs: Receiver<Job>,
    /// Where retries are queued again once their backoff is over (the dispatcher's input).
    pub retry: Sender<Job>,
    /// Tells the dispatcher each request that finished, and how the host answered.
    pub events: Sender<Event>,
    /// Closed when every worker must stop taking jobs (shutdown).
    pub stop: Receiver<()>,
    /// One token retires one worker (the pool shrinks on reload).
    pub retire: Receiver<()>,
    /// The current client; replaced when a reload changes client settings.
    pub fetcher: Arc<RwLock<Fetcher>>,
    /// When failed attempts are tried again; replaced when a reload changes `[retry]`.
    pub retry_policy: Arc<RwLock<RetryPolicy>>,
    /// The current link rules; replaced when a reload changes `[crawl]`.
    pub rules: Arc<RwLock<Arc<Rules>>>,
    /// The `[[notify]]` targets; replaced when a reload changes them.
    pub targets: Arc<RwLock<Arc<[Target]>>>,
    /// robots.txt of the hosts redirects lead to.
    pub redirects: Arc<RedirectRobots>,
    /// Where records go.
    pub output: Sender<Message>,
    /// Told each URL whose outcome is final (retries done): the feeder or the schedule.
    pub finished: Sender<Url>,
    /// Counters and gauges (requests in flight, durations, retries).
    pub metrics: Arc<Metrics>,
    /// How many retries are waiting out their backoff.
    pub pending_retries: Arc<AtomicUsize>,
}

/// Takes jobs until the queue is empty and closed, `stop` is closed, or a retire token comes.
///
/// A job already taken is always finished and its record sent (or retried).
pub async fn run(context: Context) {
    while let Some(job) = next_job(&context).await {
        if !work_on(&context, job).await {
            return;
        }
    }
}

/// The next job; `None` once the queue is empty and closed, `stop` is
/// closed, or a retire token comes.
async fn next_job(context: &Context) -> Option<Job> {
    let stopped = async {
        // Resolves only when the stop channel is closed.
        let _ = context.stop.recv().await;
        None
    };
    let retired = async {
        match context.retire.recv().await {
            Ok(()) => None,
            Err(_) => future::pending().await,
        }
    };
    let next_job = async { context.jobs.recv().await.ok() };
    future::or(stopped, future::or(retired, next_job)).await
}

/// Fetches `job` once with the current client and rules, then retries it
/// later or hands its record on; `false` once the output is gone.
async fn work_on(context: &Context, job: Job) -> bool {
    let fetcher = current(&context.fetcher);
    let rules = current(&context.rules);
    context.metrics.fetch_started();
    let started = Instant::now();
    let mut attempt = attempt(&fetcher, &rules, Some(&*context.redirects), &job).await;
    let decision = decide(&current(&context.retry_policy), &job, &mut attempt);
    if let Some(reasons) = &attempt.reasons {
        context
            .metrics
            .links_judged(reasons.len(), &follow::skipped(reasons));
    }
    context.metrics.fetch_ended(started.elapsed());
    let event = Event::Done(HostKey::of(&job.url), attempt.signal);
    let _ = context.events.send(event).await;
    let finished = Finished {
        record: attempt.record,
        facts: attempt.facts,
    };
    match decision {
        Decision::RetryIn(delay) if !context.stop.is_closed() => {
            retry_later(context, job, delay, finished);
            true
        }
        _ => finish(context, &job, finished).await,
    }
}

/// What `shared` holds now (a reload may replace it).
fn current<T: Clone>(shared: &RwLock<T>) -> T {
    shared
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

/// A final record with what the store keeps of its page.
struct Finished {
    record: Record,
    facts: PageFacts,
}

/// Hands a final record to the output and tells the producer; `false` once the output is gone.
async fn finish(context: &Context, job: &Job, mut finished: Finished) -> bool {
    let _ = context.finished.send(job.url.clone()).await;
    watch(&current(&context.targets), job, &mut finished);
    let message = Message::Record(Box::new(finished.record), finished.facts);
    context.output.send(message).await.is_ok()
}

/// Adds to a final record's facts the URL's watch state and the
/// notifications the `[[notify]]` targets are owed.
fn watch(targets: &[Target], job: &Job, finished: &mut Finished) {
    let known_title = job.known.as_deref().map(|known| &known.title);
    if let Some(observed) =
        crate::watch::observe(job.watch.as_deref(), known_title, &finished.record, targets)
    {
        finished.facts.watch = Some(observed.watch);
        finished.facts.notices = observed.notices;
    }
}

/// Queues `job` again after `delay` without holding this worker. On shutdown
/// (stop closed, or the queue closed) the last failure becomes the final record.
fn retry_later(context: &Context, job: Job, delay: Duration, last: Finished) {
    log::debug!(
        "retry url={} attempt={} in {:?}: {}",
        job.url,
        job.attempt + 2,
        delay,
        last.record.error.as_deref().unwrap_or_default()
    );
    let context = context.clone();
    context.metrics.retried();
    context.pending_retries.fetch_add(1, Ordering::SeqCst);
    task::spawn(async move {
        let waited = async {
            task::sleep(delay).await;
            true
        };
        let stopped = async {
            let _ = context.stop.recv().await;
            false
        };
        let next = job.retried();
        if !future::or(stopped, waited).await || context.retry.send(next).await.is_err() {
            finish(&context, &job, last).await;
        }
        context.pending_retries.fetch_sub(1, Ordering::SeqCst);
    });
}

/// What one attempt at a job produced.
pub struct Attempt {
    /// The record, final unless the decision is to retry.
    pub record: Record,
    /// What the store keeps of the page besides the record.
    pub facts: PageFacts,
    /// How it failed, when it did: what decides whether to try again.
    pub failure: Option<Failure>,
    /// How the host answered, for its pace.
    pub signal: Signal,
    /// Why each link of `record.links` is followed or not, when they were extracted.
    pub reasons: Option<Vec<Reason>>,
}

/// What a failed attempt tells the retry policy.
#[derive(Debug, Clone, Copy)]
pub struct Failure {
    /// The fetch error's kind, when the fetch itself failed.
    pub fetch_error: Option<&'static str>,
    /// The final HTTP status, when one came.
    pub status: Option<u16>,
    /// The server's `Retry-After`.
    pub retry_after: Option<Duration>,
}

/// Whether to try `job` again after `attempt`, by `policy`; a server that
/// asks for too long a wait gets its reason added to the record's error.
fn decide(policy: &RetryPolicy, job: &Job, attempt: &mut Attempt) -> Decision {
    let Some(failure) = attempt.failure else {
        return Decision::Done;
    };
    let decision = policy.decide(
        job.attempt,
        failure.fetch_error,
        failure.status,
        failure.retry_after,
    );
    if let (Decision::GiveUp(why), Some(error)) = (&decision, &mut attempt.record.error) {
        error.push_str("; ");
        error.push_str(why);
    }
    decision
}

/// One attempt at a job, its links judged by `rules`, redirects to other
/// hosts decided by `hops`. Never panics.
pub async fn attempt(
    fetcher: &Fetcher,
    rules: &Rules,
    hops: Option<&dyn HopGate>,
    job: &Job,
) -> Attempt {
    let started = Instant::now();
    let fetched_at = SystemTime::now();
    // A page whose links are followed is fetched whole: a 304 has no body,
    // so its links could not be followed again in this round.
    let wants_links = rules.wants_links(job);
    let mut page = fetcher
        .fetch_with(&job.url, fetch_options(job, wants_links, hops))
        .await;
    let mut analysis = analysis_of(&page, job, wants_links);
    let judged = analysis
        .links
        .take()
        .map(|found| rules.judge(job, &page.final_url, found, &page.robots_tags));
    let failure = analysis.error.is_some().then(|| Failure {
        fetch_error: page.error.as_ref().map(FetchError::kind),
        status: page.status,
        retry_after: page.retry_after,
    });
    page.body = Vec::new();
    let signal = match page.status {
        Some(429 | 503) => Signal::SlowDown(page.retry_after),
        Some(_) => Signal::Answered,
        None => Signal::NoAnswer,
    };
    let mut facts = page_facts(job, &mut page, analysis.is_not_modified);
    let mut record = build_record(job, page, analysis, started, fetched_at);
    let reasons = judged.map(|judged| {
        let (all, follow, reasons) = judged.into_lists();
        record.links = Some(all);
        facts.follow = Some(follow);
        reasons
    });
    mark_change(job, &mut record);
    Attempt {
        record,
        facts,
        failure,
        signal,
        reasons,
    }
}

/// How `job` is requested: with the validators of its last fetch (unless
/// its links are wanted: a 304 has no body to take them from), public
/// only when a public page led to it.
fn fetch_options<'a>(
    job: &'a Job,
    wants_links: bool,
    hops: Option<&'a dyn HopGate>,
) -> FetchOptions<'a> {
    let known = job.known.as_deref().filter(|_| !wants_links);
    FetchOptions {
        validators: Validators {
            etag: known.and_then(|known| known.etag.as_deref()),
            last_modified: known.and_then(|known| known.last_modified.as_deref()),
        },
        is_public_only: job
            .lineage
            .as_ref()
            .is_some_and(|lineage| lineage.is_from_public),
        hops,
    }
}

/// What `page` is: a `304` to a conditional request keeps the stored
/// title; anything else is analyzed.
fn analysis_of(page: &Page, job: &Job, wants_links: bool) -> Analysis {
    let known = job.known.as_deref();
    let is_conditional = !wants_links && known.is_some_and(Known::has_validators);
    match (page.status, known) {
        (Some(304), Some(known)) if is_conditional && page.error.is_none() => Analysis {
            title: known.title.clone(),
            encoding: None,
            error: None,
            is_not_modified: true,
            links: None,
        },
        _ => analyze_guarded(page, wants_links),
    }
}

/// Marks a page whose title differs from the last one seen (never a `304`,
/// never an error: a failed fetch says nothing about the title).
fn mark_change(job: &Job, record: &mut Record) {
    let Some(known) = job.known.as_deref() else {
        return;
    };
    if record.error.is_none() && !record.not_modified && known.title != record.title {
        record.changed = true;
        record.previous_title = Some(known.title.clone());
    }
}

/// Fetches one job once (no retries) and builds its record. Never panics.
pub async fn process(fetcher: &Fetcher, rules: &Rules, job: &Job) -> Record {
    attempt(fetcher, rules, None, job).await.record
}

/// What the store keeps of `page` besides its record: its validators
/// (taken out of `page`) and where it came from.
fn page_facts(job: &Job, page: &mut Page, is_not_modified: bool) -> PageFacts {
    // A 304 may omit the validators; the stored ones then still hold.
    let known = job.known.as_deref().filter(|_| is_not_modified);
    let kept = |fresh: Option<String>, stored: Option<&String>| fresh.or_else(|| stored.cloned());
    PageFacts {
        etag: kept(
            page.etag.take(),
            known.and_then(|known| known.etag.as_ref()),
        ),
        last_modified: kept(
            page.last_modified.take(),
            known.and_then(|known| known.last_modified.as_ref()),
        ),
        follow: None,
        is_from_public: page.is_from_public,
        watch: None,
        notices: Vec::new(),
    }
}

fn build_record(
    job: &Job,
    page: Page,
    analysis: Analysis,
    started: Instant,
    fetched_at: SystemTime,
) -> Record {
    let mut record = Record::new(&job.url, fetched_at);
    record.final_url = page.final_url.to_string();
    record.status = page.status;
    record.title = analysis.title;
    record.error = analysis.error;
    record.content_type = page.content_type;
    record.encoding = analysis.encoding;
    record.not_modified = analysis.is_not_modified;
    record.bytes = if analysis.is_not_modified {
        0
    } else {
        page.bytes
    };
    record.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    record.attempts = job.attempt + 1;
    record.depth = job.depth();
    record.found_on = job.found_on().map(str::to_owned);
    record
}
