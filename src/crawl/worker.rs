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
use crate::render::{self, RenderError, Rendered, Renderer};

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
    /// The browser pages are rendered in, when `[render]` may render.
    pub renderer: Option<Arc<Renderer>>,
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
    let helpers = Helpers {
        hops: Some(Arc::clone(&context.redirects) as Arc<dyn HopGate>),
        renderer: context.renderer.clone(),
    };
    let mut attempt = attempt(&fetcher, &rules, &helpers, &job).await;
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
    if finished.record.static_title.is_some() && !finished.record.rendered {
        // A failed render tells nothing about the title a person sees.
        return;
    }
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

/// What an attempt may use besides the client and the link rules.
#[derive(Clone, Default)]
pub struct Helpers {
    /// Decides redirects to other hosts (their robots.txt), and the
    /// requests rendered pages make; `None` allows them all.
    pub hops: Option<Arc<dyn HopGate>>,
    /// Renders pages `[render]` picks; `None` never renders.
    pub renderer: Option<Arc<Renderer>>,
}

/// One attempt at a job, its links judged by `rules`, redirects to other
/// hosts decided by `helpers.hops`, rendered when `[render]` says so.
/// Never panics.
pub async fn attempt(fetcher: &Fetcher, rules: &Rules, helpers: &Helpers, job: &Job) -> Attempt {
    let started = Instant::now();
    let fetched_at = SystemTime::now();
    // A page whose links are followed is fetched whole: a 304 has no body,
    // so its links could not be followed again in this round.
    let wants_links = rules.wants_links(job);
    let is_check = rules.is_check(job);
    let hops = helpers.hops.as_deref();
    let mut options = fetch_options(job, wants_links, hops);
    options.is_head = is_check;
    let mut page = fetcher.fetch_with(&job.url, options).await;
    if is_check && page.status.is_some_and(|status| status >= 400) {
        // Many servers refuse or mishandle `HEAD`: a `GET` has the last word.
        page = fetcher
            .fetch_with(&job.url, fetch_options(job, wants_links, hops))
            .await;
    }
    let render_rules = helpers.renderer.as_ref().map(|renderer| renderer.rules());
    let mut analysis = analysis_of(&page, job, wants_links, render_rules.as_deref());
    let render = match (&helpers.renderer, analysis.render) {
        (Some(renderer), Some((wanted, reason))) => {
            renderer.decided(wanted, reason);
            if wanted {
                Some(render_page(renderer, fetcher, rules, helpers, job, &page).await)
            } else {
                None
            }
        }
        _ => None,
    };
    let rendering =
        render.map(|outcome| apply_render(outcome, &mut page, &mut analysis, wants_links));
    let titles = analysis.links.as_ref().map(|found| found.titles);
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
    facts.titles = titles;
    facts.is_check = is_check;
    let mut record = build_record(job, page, analysis, started, fetched_at);
    if let Some(rendering) = rendering {
        if !rendering.rendered {
            // A failed render says nothing about the title a person sees:
            // the store keeps the last one.
            facts.kept_title = job.known.as_deref().map(|known| known.title.clone());
        }
        record.rendered = rendering.rendered;
        record.static_title = Some(rendering.static_title);
        record.render_error = rendering.error;
    }
    let reasons = judged.map(|mut judged| {
        facts.anchors = judged.anchors.take();
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

/// What a render changed in a record.
struct Rendering {
    rendered: bool,
    static_title: Option<String>,
    error: Option<String>,
}

/// Renders `page` (a 2xx HTML page of `job`) with `helpers.renderer`.
async fn render_page(
    renderer: &Renderer,
    fetcher: &Fetcher,
    rules: &Rules,
    helpers: &Helpers,
    job: &Job,
    page: &Page,
) -> Result<Rendered, RenderError> {
    let scope = rules.navigation_scope(job);
    let request = render::Request {
        page,
        fetcher,
        robots: helpers.hops.clone(),
        is_public_only: job
            .lineage
            .as_ref()
            .is_some_and(|lineage| lineage.is_from_public),
        max_redirects: fetcher.max_redirects(),
        scope,
    };
    renderer.render(request).await
}

/// Puts a render's title, links and final URL in place of the HTML's; a
/// failed render keeps the HTML's and says why.
fn apply_render(
    outcome: Result<Rendered, RenderError>,
    page: &mut Page,
    analysis: &mut Analysis,
    wants_links: bool,
) -> Rendering {
    let static_title = analysis.title.clone();
    match outcome {
        Ok(rendered) => {
            analysis.title = rendered.title;
            if wants_links {
                analysis.links = Some(rendered.links);
            }
            page.final_url = rendered.final_url;
            Rendering {
                rendered: true,
                static_title,
                error: rendered.navigation_error,
            }
        }
        Err(error) => {
            log::warn!("render url={}: {error}", page.final_url);
            Rendering {
                rendered: false,
                static_title,
                error: Some(error.to_string()),
            }
        }
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
        is_for_browser: false,
        is_head: false,
    }
}

/// What `page` is: a `304` to a conditional request keeps the stored
/// title; anything else is analyzed.
fn analysis_of(
    page: &Page,
    job: &Job,
    wants_links: bool,
    render: Option<&crate::config::render::RenderRules>,
) -> Analysis {
    let known = job.known.as_deref();
    let is_conditional = !wants_links && known.is_some_and(Known::has_validators);
    match (page.status, known) {
        (Some(304), Some(known)) if is_conditional && page.error.is_none() => Analysis {
            title: known.title.clone(),
            encoding: None,
            error: None,
            is_not_modified: true,
            links: None,
            render: None,
        },
        _ => analyze_guarded(page, wants_links, render),
    }
}

/// Marks a page whose title differs from the last one seen (never a `304`,
/// never an error: a failed fetch says nothing about the title).
fn mark_change(job: &Job, record: &mut Record) {
    let Some(known) = job.known.as_deref() else {
        return;
    };
    if record.static_title.is_some() && !record.rendered {
        // A failed render: the title a person sees is not known.
        return;
    }
    if record.error.is_none() && !record.not_modified && known.title != record.title {
        record.changed = true;
        record.previous_title = Some(known.title.clone());
    }
}

/// Fetches one job once (no retries) and builds its record. Never panics.
pub async fn process(fetcher: &Fetcher, rules: &Rules, job: &Job) -> Record {
    attempt(fetcher, rules, &Helpers::default(), job)
        .await
        .record
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
        kept_title: None,
        anchors: None,
        redirects: std::mem::take(&mut page.redirects),
        titles: None,
        is_check: false,
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
