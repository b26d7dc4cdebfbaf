//! The daemon's lifecycle: start the pipeline, run once or as a service, shut
//! down in order.
//!
//! Pipeline: producer (the seed feeder for `--once`, the recrawl schedule for
//! the service) → bounded job queue → worker pool → output task. Shutdown
//! (async-std book, "Clean Shutdown"): stop the producer, close the queue and
//! the stop channel so workers take no new job, wait for in-flight fetches up
//! to `shutdown_timeout`, then let the output task write and save everything.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_channel::{Receiver, Sender};
use async_std::task;
use futures_lite::future;
use indicatif::MultiProgress;
use url::Url;

use crate::config::Config;
use crate::config::render::find_browser;
use crate::crawl::Output;
use crate::crawl::store_feed::StoreFeed;
use crate::crawl::{self, Job};
use crate::fetch::Fetcher;
use crate::frontier::store::{Store, StoreThread};
use crate::frontier::{self, Outcome};
use crate::frontier::{Access, Backend, Frontier};
use crate::observe::metrics::Metrics;
use crate::observe::metrics::server::{MetricsServer, Pages};
use crate::observe::progress;
use crate::render::Renderer;
use control::Control;

pub mod control;
mod live;
mod outbox;
mod pipeline;
pub mod preflight;
pub mod service;

pub use pipeline::{Handles, Pipeline};

/// How the daemon runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Crawl every seed once, write every record, exit.
    Once,
    /// Crawl and recrawl on schedule, follow config edits, until a shutdown signal.
    Service,
}

/// Runs the crawl described by `config` until done (`Once`) or signalled.
///
/// # Errors
/// Setup failed (signals, output file, state file, HTTP client, file
/// watcher), or records could not be written.
pub async fn run(
    config: Config,
    mode: Mode,
    progress: Option<MultiProgress>,
) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let (control_sender, controls) = control::channel();
    let _signals =
        control::listen(control_sender.clone()).context("cannot install signal handlers")?;
    let metrics = start_metrics(&config);
    let live = Arc::new(live::LiveReport::new(&config));
    let _metrics_server = start_metrics_server(&config, &metrics, &live)?;
    let mut output = open_output(&config)?;
    let is_shared = Backend::of(&config).is_shared();
    let store = match store_access(&config, mode, is_shared) {
        Some(access) => match open_store(&config, access, &metrics, &controls).await? {
            Some(store) => Some(store),
            None => return Ok(()),
        },
        None => None,
    };
    let fetcher = Fetcher::new(&config).context("cannot set up the HTTP client")?;
    log_started(&config, store.as_ref().map(|(store, _)| store));
    if is_shared {
        output = output.with_node(&config.node_name());
    }
    let summary = Arc::clone(&metrics);
    let renderer = start_renderer(&config, &metrics)?;
    let closing = Arc::clone(&renderer);
    let handles = Handles {
        fetcher,
        metrics,
        renderer,
        live,
    };
    let Some((store, thread)) = store else {
        if let Some(multi) = progress {
            output = output.with_progress(progress::bar(&multi, config.seed_count));
        }
        let feeder = stateless_feeder(config.clone());
        let is_complete = run_once(config, handles, output, &controls, feeder).await;
        closing.close().await;
        if is_complete? {
            log::info!("{}", summary.summary_line(started.elapsed()));
        }
        return Ok(());
    };
    let committer = store.clone();
    output = output.with_written(Box::new(move |record, facts| {
        committer.commit(Outcome::of(record, facts));
    }));
    let (notifier, delivering) = outbox::start_notifier(&config, &store, &summary)?;
    let result = match mode {
        Mode::Service => {
            let parts = (store.clone(), notifier);
            let service = service::run(config, handles, output, parts, control_sender, controls);
            service.await.map(|()| false)
        }
        Mode::Once => {
            let once = config.clone();
            let result = run_once_stored(config, handles, output, &store, progress, &controls);
            let result = result.await;
            if matches!(result, Ok(true)) {
                outbox::drain(&notifier, &once, once.is_state_file_explicit || is_shared).await;
            }
            result
        }
    };
    delivering.stop().await;
    closing.close().await;
    let closed = store.close(thread, matches!(result, Ok(true))).await;
    let is_complete = result?;
    closed.context("the crawl state was not fully saved")?;
    if is_complete {
        log::info!("{}", summary.summary_line(started.elapsed()));
    }
    Ok(())
}

/// The renderer, with the browser `[render]` names found now: a start
/// that renders pages fails when there is none.
fn start_renderer(config: &Config, metrics: &Arc<Metrics>) -> anyhow::Result<Arc<Renderer>> {
    let render = &config.settings.render;
    let binary = match find_browser(render.browser.as_deref()) {
        Ok(binary) => Some(binary),
        Err(why) if config.render.is_on() => anyhow::bail!("{why}"),
        Err(_) => None,
    };
    if config.render.is_on() && crate::render::is_root() {
        log::warn!(
            "render: running as root, so Chromium runs without its sandbox (--no-sandbox); run the daemon as its own user (the systemd unit does) to keep it"
        );
    }
    Ok(Arc::new(Renderer::new(
        &config.render,
        binary,
        config.settings.recrawl_interval,
        Arc::clone(metrics),
    )))
}

/// The metrics, set from `config`, with the stats line logged on schedule.
fn start_metrics(config: &Config) -> Arc<Metrics> {
    let metrics = Arc::new(Metrics::new());
    metrics.set_config(config.settings.workers, config.seed_count);
    metrics.set_stats_interval(config.settings.stats_interval);
    metrics.config_loaded();
    task::spawn(log_stats(Arc::clone(&metrics)));
    metrics
}

/// The JSON Lines output (or the log only), opened for appending.
fn open_output(config: &Config) -> anyhow::Result<Output> {
    Output::open(config.jsonl.as_deref()).with_context(|| {
        let path = config.jsonl.as_deref().unwrap_or_else(|| "".as_ref());
        format!("cannot open output file `{}` for appending", path.display())
    })
}

/// Whether and how the run uses the store: the service, a `state_file` or
/// a cluster always; a `--once` run that follows links a private one, gone
/// at exit; a `--once` run of seeds only none.
fn store_access(config: &Config, mode: Mode, is_shared: bool) -> Option<Access> {
    if is_shared || mode == Mode::Service || config.is_state_file_explicit {
        Some(Access::Crawl)
    } else if config.settings.crawl.max_depth > 0 {
        Some(Access::Temporary)
    } else {
        None
    }
}

/// The INFO `started:` line.
fn log_started(config: &Config, store: Option<&Store>) {
    log::info!(
        "started: {} seeds, {} workers, output {}{}",
        config.seed_count,
        config.settings.workers,
        config
            .jsonl
            .as_deref()
            .map_or_else(|| "log only".to_owned(), |p| format!("`{}`", p.display())),
        store
            .map(|store| format!(", state `{}`", store.path().display()))
            .unwrap_or_default()
    );
}

/// Serves `/metrics`, `/healthz` and the live report when `[metrics]
/// listen` is set.
fn start_metrics_server(
    config: &Config,
    metrics: &Arc<Metrics>,
    live: &Arc<live::LiveReport>,
) -> anyhow::Result<Option<MetricsServer>> {
    let Some(address) = config.settings.metrics.listen else {
        return Ok(None);
    };
    let pages: Arc<dyn Pages> = Arc::clone(live) as Arc<dyn Pages>;
    let server = MetricsServer::start(address.socket(), Arc::clone(metrics), Some(pages))
        .with_context(|| format!("cannot serve metrics on `{address}` ([metrics] listen)"))?;
    log::info!(
        "metrics on http://{0}/metrics, health on http://{0}/healthz, report on http://{0}/",
        server.address()
    );
    Ok(Some(server))
}

/// Opens the store for `access` and starts its thread. A shared store is
/// waited for while Redis is unreachable (one WARN, then one INFO when it
/// answers), then this node's config is published. `None` when a shutdown
/// signal came while waiting.
async fn open_store(
    config: &Config,
    access: Access,
    metrics: &Arc<Metrics>,
    controls: &Receiver<Control>,
) -> anyhow::Result<Option<(Store, StoreThread)>> {
    let mut frontier = frontier::open(config, access)?;
    if frontier.is_shared() {
        if !wait_for_store(&mut *frontier, metrics, controls).await? {
            return Ok(None);
        }
        frontier.publish_config(&frontier::published_sections(config))?;
        log::info!(
            "cluster: node `{}` shares the crawl at {}",
            config.node_name(),
            frontier.location().display()
        );
    }
    let path = frontier.location();
    Store::start(frontier, &path, Arc::clone(metrics))
        .map(Some)
        .context("cannot start the state store thread")
}

/// Waits until the store answers, trying again every second; `false` when
/// a shutdown signal came first.
async fn wait_for_store(
    frontier: &mut dyn Frontier,
    metrics: &Arc<Metrics>,
    controls: &Receiver<Control>,
) -> anyhow::Result<bool> {
    let mut waiting_since = None;
    loop {
        match frontier.ping() {
            Ok(()) => break,
            Err(err) if err.is_unreachable() => {
                if waiting_since.is_none() {
                    log::warn!(
                        "{err}; waiting for it (trying again every few seconds; Ctrl-C or SIGTERM stops)"
                    );
                    metrics.state_written(0, Some(err.to_string()));
                    waiting_since = Some(std::time::Instant::now());
                }
                if sleep_or_shutdown(Duration::from_secs(1), controls).await {
                    return Ok(false);
                }
            }
            Err(err) => return Err(err.into()),
        }
    }
    if let Some(since) = waiting_since {
        log::info!(
            "Redis at `{}` answers again after {}s",
            frontier.location().display(),
            since.elapsed().as_secs()
        );
        metrics.state_written(0, None);
    }
    Ok(true)
}

/// Sleeps `wait`; `true` when a shutdown signal came first.
async fn sleep_or_shutdown(wait: Duration, controls: &Receiver<Control>) -> bool {
    let stop = async {
        loop {
            if let Some(Control::Shutdown(_)) = next_control(controls).await {
                return true;
            }
        }
    };
    let slept = async {
        task::sleep(wait).await;
        false
    };
    future::or(slept, stop).await
}

/// `--once` without a state file: stream the seeds through a seen-set.
fn stateless_feeder(
    config: Config,
) -> impl FnOnce(Sender<Job>, Receiver<Url>) -> task::JoinHandle<bool> {
    move |jobs, finished| {
        task::spawn(async move {
            let queued = crawl::feed::feed(&config, &jobs, &finished).await;
            log::debug!("feeder done: {queued} seeds queued and finished");
            true
        })
    }
}

/// `--once` with a state file: start a run or resume the unfinished one,
/// listing the seeds in the store as they are fed, each without a record
/// in this run.
/// `Ok(true)` when every seed of the run has its record.
async fn run_once_stored(
    config: Config,
    handles: Handles,
    mut output: Output,
    store: &Store,
    progress: Option<MultiProgress>,
    controls: &Receiver<Control>,
) -> anyhow::Result<bool> {
    let Some(round) = begin_round(store, controls).await? else {
        return Ok(false);
    };
    let recorded = usize::try_from(round.recorded).unwrap_or(usize::MAX);
    let remaining = config.seed_count.saturating_sub(recorded);
    if round.is_resumed && store.is_shared() {
        // The cluster does not count its seeds' records per run.
        log::info!(
            "joining run {} of the cluster ({} seeds); seeds recorded in it already are not fetched again",
            round.number,
            config.seed_count
        );
    } else if round.is_resumed {
        log::info!(
            "resuming run {}: {} URLs are fetched again: {remaining} of {} seeds and {} discovered pages have no record yet",
            round.number,
            remaining as u64 + round.discovered_due,
            config.seed_count,
            round.discovered_due
        );
    } else {
        log::info!("run {}: {} seeds", round.number, config.seed_count);
    }
    let bar = progress.map(|multi| progress::bar(&multi, remaining));
    if let Some(bar) = &bar {
        output = output.with_progress(bar.clone());
    }
    let (store, seeds) = (store.clone(), config.clone());
    let sitemaps = reads_sitemaps(&config).then(|| handles.fetcher.clone());
    let window = store.is_shared().then(|| Arc::clone(&handles.metrics));
    let feeder = move |jobs, finished: Receiver<Url>| {
        // Results are counted as the store writes them, not as they finish.
        drop(finished);
        let feed = StoreFeed {
            store,
            config: seeds,
            jobs,
            bar,
            sitemaps,
            window,
        };
        task::spawn(feed.run())
    };
    run_once(config, handles, output, controls, feeder).await
}

/// Starts or resumes the `--once` run in the store; a shared store that
/// is away or refuses writes is waited for (said once). `None` when a
/// shutdown signal came while waiting.
async fn begin_round(
    store: &Store,
    controls: &Receiver<Control>,
) -> anyhow::Result<Option<frontier::Round>> {
    let mut reported = false;
    loop {
        match store
            .call(|frontier, _| frontier.begin_round())
            .await
            .context("the state store stopped")?
        {
            Ok(round) => return Ok(Some(round)),
            Err(err) if err.is_transient() => {
                if !reported {
                    if err.is_unreachable() {
                        log::warn!("{err}; waiting for it");
                    } else {
                        log::error!("{err}; waiting for it to take writes again");
                    }
                    reported = true;
                }
                if sleep_or_shutdown(Duration::from_secs(1), controls).await {
                    return Ok(None);
                }
            }
            Err(err) => return Err(err.into()),
        }
    }
}

/// Whether `crawl.sitemaps` applies: their entries are at depth 1, so
/// `max_depth` must reach them (a WARN says so when it does not).
pub fn reads_sitemaps(config: &Config) -> bool {
    let crawl = &config.settings.crawl;
    if crawl.sitemaps && crawl.max_depth == 0 {
        log::warn!(
            "crawl.sitemaps is on but crawl.max_depth is 0: sitemap entries are at depth 1, so none is fetched; set max_depth to 1 or more"
        );
    }
    crawl.sitemaps && crawl.max_depth > 0
}

/// `--once`: `feeder` fills the queue and closes it once everything it
/// queued finished; then the pool drains. `Ok(true)` when the feeder
/// completed and no signal cut the run short.
async fn run_once<F>(
    config: Config,
    handles: Handles,
    output: Output,
    controls: &Receiver<Control>,
    feeder: F,
) -> anyhow::Result<bool>
where
    F: FnOnce(Sender<Job>, Receiver<Url>) -> task::JoinHandle<bool>,
{
    let (job_sender, jobs) = crawl::queue(config.settings.queue_capacity);
    let (finished_sender, finished) = async_channel::unbounded();
    let mut pipeline = Pipeline::start(
        &config,
        handles,
        output,
        (job_sender.clone(), jobs),
        finished_sender,
    );
    let fed = feeder(job_sender, finished);
    let grace = config.settings.shutdown_timeout;
    loop {
        let workers_done = async {
            pipeline.join_workers().await;
            None
        };
        match future::or(workers_done, next_control(controls)).await {
            None => break,
            Some(Control::Shutdown(signal)) => {
                shutdown(pipeline, controls, signal, grace).await?;
                return Ok(false);
            }
            Some(other) => log::info!("{other:?} ignored: --once does not reload"),
        }
    }
    let is_complete = fed.await;
    finish(pipeline).await?;
    Ok(is_complete)
}

/// Logs the stats line every `stats_interval` (checked again each time, so a
/// reload applies); an interval of zero logs nothing.
async fn log_stats(metrics: Arc<Metrics>) {
    let mut last = metrics.snapshot();
    loop {
        let interval = metrics.stats_interval();
        if interval.is_zero() {
            task::sleep(Duration::from_secs(1)).await;
            last = metrics.snapshot();
            continue;
        }
        task::sleep(interval).await;
        if !metrics.stats_interval().is_zero() {
            log::info!("{}", metrics.stats_line(&mut last));
        }
    }
}

/// The next control event; a closed channel never resolves.
pub async fn next_control(controls: &Receiver<Control>) -> Option<Control> {
    match controls.recv().await {
        Ok(control) => Some(control),
        Err(_) => future::pending().await,
    }
}

/// Stops taking jobs, lets in-flight fetches finish within `grace`, writes what finished.
pub async fn shutdown(
    mut pipeline: Pipeline,
    controls: &Receiver<Control>,
    signal: &str,
    grace: Duration,
) -> anyhow::Result<()> {
    let queued = pipeline.waiting();
    pipeline.input.close();
    pipeline.template.jobs.close();
    pipeline.stop.close();
    log::info!(
        "{signal} received: finishing {} in-flight fetches (up to {}), {queued} queued jobs dropped; send it again to exit at once",
        pipeline.in_flight(),
        humantime::format_duration(grace)
    );
    let metrics = Arc::clone(&pipeline.template.metrics);
    let waited = async {
        let finished = async_std::future::timeout(grace, async {
            pipeline.join_workers().await;
            pipeline.join_retries().await;
        })
        .await;
        Ok(finished.is_ok())
    };
    let second = async {
        loop {
            if let Some(Control::Shutdown(again)) = next_control(controls).await {
                return Err(again);
            }
        }
    };
    match future::or(waited, second).await {
        Ok(true) => {}
        Ok(false) => log::warn!(
            "shutdown_timeout ({}) reached: abandoned {} in-flight fetches",
            humantime::format_duration(grace),
            metrics.in_flight()
        ),
        Err(again) => {
            log::warn!(
                "second {again}: exiting at once, abandoning {} in-flight fetches",
                metrics.in_flight()
            );
            return Ok(());
        }
    }
    finish(pipeline).await
}

/// Closes the output channel and waits for the output task to write and save everything.
pub async fn finish(pipeline: Pipeline) -> anyhow::Result<()> {
    pipeline.template.output.close();
    let output = pipeline.output_task.await;
    if output.failed_writes > 0 {
        anyhow::bail!("{} records could not be written", output.failed_writes);
    }
    log::info!("stopped");
    Ok(())
}
