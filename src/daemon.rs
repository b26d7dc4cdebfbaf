//! The daemon's lifecycle: start the pipeline, react to signals, shut down in order.
//!
//! Pipeline: feeder → bounded job queue → `workers` tasks → record channel → one
//! output task. Shutdown (async-std book, "Clean Shutdown"): close the queue so
//! the feeder stops, close the stop channel so workers take no new job, wait for
//! in-flight fetches up to the grace period, then let the output task drain.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use async_channel::{Receiver, Sender};
use async_std::task::{self, JoinHandle};
use futures_lite::future;

use crate::config::Config;
use crate::control::{self, Control};
use crate::fetch::Fetcher;
use crate::frontier::{self, Job};
use crate::output::{self, Output, Record};
use crate::worker;

/// How long in-flight fetches may take to finish after a shutdown signal.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

/// How the daemon runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Crawl every seed once, write every record, exit.
    Once,
    /// Keep running until a shutdown signal.
    Service,
}

/// A started pipeline.
struct Crawl {
    jobs: Receiver<Job>,
    stop: Sender<()>,
    records: Sender<Record>,
    workers: Vec<JoinHandle<()>>,
    output: JoinHandle<Output>,
    in_flight: Arc<AtomicUsize>,
}

impl Crawl {
    fn start(config: &Config, fetcher: &Fetcher, output: Output) -> Self {
        let settings = &config.settings;
        let (job_sender, jobs) = frontier::queue(settings.queue_capacity);
        let (records, record_receiver) = async_channel::bounded(settings.workers * 2);
        let (stop, stop_receiver) = async_channel::bounded(1);
        let in_flight = Arc::new(AtomicUsize::new(0));
        let workers = (0..settings.workers)
            .map(|_| {
                task::spawn(worker::run(
                    jobs.clone(),
                    stop_receiver.clone(),
                    fetcher.clone(),
                    records.clone(),
                    Arc::clone(&in_flight),
                ))
            })
            .collect();
        let feed_config = config.clone();
        task::spawn(async move {
            let report = frontier::feed(&feed_config, &job_sender).await;
            log::debug!("feeder done: {report:?}");
        });
        Self {
            jobs,
            stop,
            records,
            workers,
            output: task::spawn(output::run(record_receiver, output)),
            in_flight,
        }
    }
}

/// Runs the crawl described by `config` until done (`Once`) or signalled.
///
/// # Errors
/// Setup failed (signals, output file, HTTP client), or records could not be written.
pub async fn run(config: Config, mode: Mode) -> anyhow::Result<()> {
    let (_listener, controls) = control::listen().context("cannot install signal handlers")?;
    let output = Output::open(config.jsonl.as_deref()).with_context(|| {
        let path = config.jsonl.as_deref().unwrap_or_else(|| "".as_ref());
        format!("cannot open output file `{}` for appending", path.display())
    })?;
    let fetcher = Fetcher::new(&config.settings).context("cannot set up the HTTP client")?;
    let mut crawl = Crawl::start(&config, &fetcher, output);
    log::info!(
        "started: {} seeds, {} workers, output {}",
        config.seed_count,
        config.settings.workers,
        config
            .jsonl
            .as_deref()
            .map_or_else(|| "log only".to_owned(), |p| format!("`{}`", p.display()))
    );
    let workers = std::mem::take(&mut crawl.workers);
    let mut workers_done = Box::pin(join_all(workers));
    let mut crawling = true;
    loop {
        let event = if crawling {
            future::or(
                async {
                    (&mut workers_done).await;
                    None
                },
                next_control(&controls),
            )
            .await
        } else {
            next_control(&controls).await
        };
        match event {
            None if mode == Mode::Once => break,
            None => {
                crawling = false;
                log::info!("all seeds crawled; waiting for a signal (SIGTERM stops)");
            }
            Some(Control::Shutdown(signal)) if !crawling => {
                log::info!("{signal} received: nothing in flight");
                break;
            }
            Some(Control::Shutdown(signal)) => {
                return shutdown(crawl, workers_done.as_mut(), &controls, signal).await;
            }
            Some(Control::Reload) => log::warn!(
                "SIGHUP: live reload is not available yet; restart to apply config changes"
            ),
            Some(Control::Reopen) => {
                log::warn!("SIGUSR1: reopening the output is not available yet")
            }
        }
    }
    finish(crawl).await
}

/// The next control event; a closed channel never resolves.
async fn next_control(controls: &Receiver<Control>) -> Option<Control> {
    match controls.recv().await {
        Ok(control) => Some(control),
        Err(_) => future::pending().await,
    }
}

async fn join_all(handles: Vec<JoinHandle<()>>) {
    for handle in handles {
        handle.await;
    }
}

/// Stops feeding, lets in-flight fetches finish within the grace period, writes what finished.
async fn shutdown(
    crawl: Crawl,
    workers_done: std::pin::Pin<&mut impl std::future::Future<Output = ()>>,
    controls: &Receiver<Control>,
    signal: &str,
) -> anyhow::Result<()> {
    let queued = crawl.jobs.len();
    crawl.jobs.close();
    crawl.stop.close();
    log::info!(
        "{signal} received: finishing {} in-flight fetches (up to {}), {queued} queued jobs dropped; send it again to exit at once",
        crawl.in_flight.load(Ordering::SeqCst),
        humantime::format_duration(DEFAULT_SHUTDOWN_TIMEOUT)
    );
    let grace = async {
        match async_std::future::timeout(DEFAULT_SHUTDOWN_TIMEOUT, workers_done).await {
            Ok(()) => true,
            Err(_) => false,
        }
    };
    let second = async {
        while let Some(control) = next_control(controls).await {
            if let Control::Shutdown(again) = control {
                return again;
            }
        }
        ""
    };
    let finished = future::or(async { Ok(grace.await) }, async { Err(second.await) }).await;
    match finished {
        Ok(true) => {}
        Ok(false) => log::warn!(
            "shutdown timeout: abandoned {} in-flight fetches",
            crawl.in_flight.load(Ordering::SeqCst)
        ),
        Err(again) => {
            log::warn!(
                "second {again}: exiting at once, abandoning {} in-flight fetches",
                crawl.in_flight.load(Ordering::SeqCst)
            );
            return Ok(());
        }
    }
    finish(crawl).await
}

/// Closes the record channel, waits for the output task to write everything.
async fn finish(crawl: Crawl) -> anyhow::Result<()> {
    crawl.records.close();
    let output = crawl.output.await;
    if output.failed_writes > 0 {
        anyhow::bail!("{} records could not be written", output.failed_writes);
    }
    log::info!("stopped");
    Ok(())
}
