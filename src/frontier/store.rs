//! The store's own thread: it owns the [`Frontier`] backend, so the async
//! executor never waits on the database, and it batches commits.
//!
//! Finished URLs arrive one by one ([`Store::commit`], into a shared buffer
//! that costs the thread no wake-up) and are written in one
//! transaction every [`COMMIT_INTERVAL`] or [`COMMIT_BATCH`] results,
//! whichever comes first: after a SIGKILL, at most that window of recorded
//! pages is fetched again. A failed write (a full disk) keeps the results in
//! memory, up to [`MAX_BACKLOG`], says so once at ERROR, tries again every
//! [`RETRY_INTERVAL`], and says at INFO when the state is written again.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use crate::frontier::{Frontier, Outcome, StoreError};
use crate::observe::metrics::Metrics;

/// The longest a finished URL waits before its result is committed.
pub const COMMIT_INTERVAL: Duration = Duration::from_millis(100);
/// Results committed in one transaction at most.
pub const COMMIT_BATCH: usize = 2000;
/// How often a failed write is tried again.
pub const RETRY_INTERVAL: Duration = Duration::from_secs(5);
/// How often seeds are checked for the end of their round.
pub const ROUNDS_CHECK: Duration = Duration::from_secs(1);
/// Results kept in memory while writes fail; past this no new work is claimed.
pub const MAX_BACKLOG: usize = 100_000;

type Call = Box<dyn FnOnce(&mut dyn Frontier, usize) + Send>;

enum Request {
    Call(Call),
    /// Many results wait: write them now.
    Write,
    Close {
        end_round: bool,
        reply: async_channel::Sender<Result<(), StoreError>>,
    },
}

/// A handle on the store thread; cheap to clone.
#[derive(Clone)]
pub struct Store {
    requests: mpsc::Sender<Request>,
    /// Results not yet taken by the thread; a shared buffer rather than
    /// messages, so that a result costs no wake-up of the thread.
    results: Results,
    /// Results written so far.
    committed: Arc<AtomicU64>,
    /// Whether writes fail now.
    failing: Arc<AtomicBool>,
    /// Whether the backend is shared (Redis): a failure passes.
    is_shared: bool,
    path: PathBuf,
}

type Results = Arc<Mutex<Vec<Outcome>>>;

/// The running store thread, joined by [`Store::close`].
pub struct StoreThread(Option<JoinHandle<()>>);

impl Store {
    /// Starts the thread that owns `backend` (stored at `path`, for messages).
    ///
    /// # Errors
    /// The thread could not be spawned.
    pub fn start(
        backend: Box<dyn Frontier>,
        path: &Path,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<(Self, StoreThread)> {
        let (requests, receiver) = mpsc::channel();
        let results = Results::default();
        let mut writer = Writer::new(backend, path.to_owned(), Arc::clone(&results));
        writer.is_shared = writer.backend.is_shared();
        let is_shared = writer.is_shared;
        writer.metrics = Some(metrics);
        let committed = Arc::clone(&writer.committed);
        let failing = Arc::clone(&writer.failing);
        let thread = std::thread::Builder::new()
            .name("store".to_owned())
            .spawn(move || writer.run(&receiver))?;
        let store = Self {
            requests,
            results,
            committed,
            failing,
            is_shared,
            path: path.to_owned(),
        };
        Ok((store, StoreThread(Some(thread))))
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether writes fail now (a full disk): results wait in memory.
    pub fn is_failing(&self) -> bool {
        self.failing.load(Ordering::SeqCst)
    }

    /// Whether other processes share the store (Redis): when it fails,
    /// it comes back by itself.
    pub fn is_shared(&self) -> bool {
        self.is_shared
    }

    /// How many results were written so far (by this process).
    pub fn committed(&self) -> u64 {
        self.committed.load(Ordering::SeqCst)
    }

    /// Runs `work` on the store thread with the backend and the number of
    /// results waiting to be written; `None` when the thread is gone.
    pub async fn call<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut dyn Frontier, usize) -> T + Send + 'static,
    ) -> Option<T> {
        let (reply, answer) = async_channel::bounded(1);
        let call: Call = Box::new(move |backend, backlog| {
            let _ = reply.try_send(work(backend, backlog));
        });
        self.requests.send(Request::Call(call)).ok()?;
        answer.recv().await.ok()
    }

    /// Queues a finished URL's result for the next commit. Never blocks
    /// (beyond a short lock).
    pub fn commit(&self, outcome: Outcome) {
        let waiting = {
            let mut results = self.results.lock().unwrap_or_else(PoisonError::into_inner);
            results.push(outcome);
            results.len()
        };
        if waiting == COMMIT_BATCH && self.requests.send(Request::Write).is_err() {
            log::error!(
                "crawl state `{}` is closed: results were not saved",
                self.path.display()
            );
        }
    }

    /// Asks the thread to write what waits now rather than at the end of
    /// the commit window (a `--once` run waits for links to claim).
    pub fn flush(&self) {
        let _ = self.requests.send(Request::Write);
    }

    /// Writes everything, releases unfinished claims, marks the `--once`
    /// run complete when `end_round`, and stops the thread.
    ///
    /// # Errors
    /// The last results could not be written.
    pub async fn close(self, thread: StoreThread, end_round: bool) -> Result<(), StoreError> {
        let (reply, answer) = async_channel::bounded(1);
        if self
            .requests
            .send(Request::Close { end_round, reply })
            .is_err()
        {
            return Ok(());
        }
        let result = answer.recv().await.unwrap_or(Ok(()));
        thread.join();
        result
    }
}

impl StoreThread {
    /// Waits for the thread to end (it has answered its last request).
    fn join(mut self) {
        if let Some(thread) = self.0.take() {
            let _ = thread.join();
        }
    }
}

/// The loop of the store thread.
struct Writer {
    backend: Box<dyn Frontier>,
    path: PathBuf,
    /// Where [`Store::commit`] puts results.
    results: Results,
    /// Told how each write went (`/healthz`, `crawler_state_*`).
    metrics: Option<Arc<Metrics>>,
    pending: Vec<Outcome>,
    /// Since when writes fail, if they do.
    failing_since: Option<Instant>,
    next_write: Instant,
    /// Results written so far.
    committed: Arc<AtomicU64>,
    /// Whether writes fail now.
    failing: Arc<AtomicBool>,
    /// When seeds' rounds were last checked for their end.
    rounds_checked: Instant,
    /// Discovered and over-limit counts already reported to the metrics.
    reported: (u64, u64),
    /// When the backend's upkeep last ran.
    ticked: Instant,
    /// Whether the backend is shared (Redis): failures are retried sooner.
    is_shared: bool,
}

impl Writer {
    fn new(backend: Box<dyn Frontier>, path: PathBuf, results: Results) -> Self {
        Self {
            backend,
            path,
            results,
            metrics: None,
            pending: Vec::new(),
            failing_since: None,
            next_write: Instant::now() + COMMIT_INTERVAL,
            committed: Arc::new(AtomicU64::new(0)),
            failing: Arc::new(AtomicBool::new(false)),
            rounds_checked: Instant::now(),
            reported: (0, 0),
            ticked: Instant::now(),
            is_shared: false,
        }
    }

    fn run(mut self, requests: &mpsc::Receiver<Request>) {
        loop {
            let wait = self
                .next_write
                .saturating_duration_since(Instant::now())
                .min(ROUNDS_CHECK);
            match requests.recv_timeout(wait) {
                Ok(Request::Write) if self.failing_since.is_none() => self.write(),
                Ok(Request::Write) => {}
                Ok(Request::Call(call)) => {
                    let backlog = self.pending.len() + self.waiting();
                    call(&mut *self.backend, backlog);
                }
                Ok(Request::Close { end_round, reply }) => {
                    let _ = reply.try_send(self.close(end_round));
                    return;
                }
                Err(RecvTimeoutError::Timeout) => self.write(),
                Err(RecvTimeoutError::Disconnected) => {
                    let _ = self.close(false);
                    return;
                }
            }
            if Instant::now() >= self.next_write {
                self.write();
            }
            self.tick();
        }
    }

    /// Results handed over but not yet taken.
    fn waiting(&self) -> usize {
        self.results
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Moves the handed-over results to `pending`.
    fn take_results(&mut self) {
        let mut results = self.results.lock().unwrap_or_else(PoisonError::into_inner);
        self.pending.append(&mut results);
    }

    /// Commits what is pending; on failure keeps it and tries again later.
    fn write(&mut self) {
        self.next_write = Instant::now() + COMMIT_INTERVAL;
        self.take_results();
        if self.pending.is_empty() && !self.backend.has_unwritten_claims() {
            if self.failing_since.is_none() && self.rounds_checked.elapsed() >= ROUNDS_CHECK {
                self.after_write();
            }
            return;
        }
        let written = self.backend.commit(&self.pending);
        if let Some(metrics) = &self.metrics {
            let unsaved = if written.is_ok() {
                0
            } else {
                self.pending.len()
            };
            metrics.state_written(unsaved, written.as_ref().err().map(ToString::to_string));
        }
        match written {
            Ok(()) => {
                self.recovered();
                self.committed
                    .fetch_add(self.pending.len() as u64, Ordering::SeqCst);
                self.pending.clear();
                self.after_write();
            }
            Err(err) => self.write_failed(&err),
        }
    }

    /// Says once that writes fail (WARN when the store is unreachable,
    /// ERROR when it refuses) and retries later.
    fn write_failed(&mut self, err: &StoreError) {
        if self.failing_since.is_none() {
            let message = format!(
                "cannot write the crawl state: {err}; {} results are kept in memory (up to {MAX_BACKLOG}) and written again every {}s; the crawl goes on",
                self.pending.len(),
                self.retry_interval().as_secs()
            );
            if err.is_unreachable() {
                log::warn!("{message}");
            } else {
                log::error!("{message}");
            }
            self.failing_since = Some(Instant::now());
        }
        self.failing.store(true, Ordering::SeqCst);
        self.next_write = Instant::now() + self.retry_interval();
    }

    /// How long to wait before writing again after a failure: a shared
    /// store is tried sooner than a full disk.
    fn retry_interval(&self) -> Duration {
        if self.is_shared {
            Duration::from_secs(1)
        } else {
            RETRY_INTERVAL
        }
    }

    /// The backend's periodic upkeep (leases), once a second; a failure
    /// counts as a failed write.
    fn tick(&mut self) {
        if self.ticked.elapsed() < ROUNDS_CHECK {
            return;
        }
        self.ticked = Instant::now();
        let fetching = self
            .metrics
            .as_ref()
            .map_or(0, |metrics| metrics.in_flight() as u64);
        if let Err(err) = self.backend.tick(SystemTime::now(), fetching) {
            if let Some(metrics) = &self.metrics {
                metrics.state_written(self.pending.len(), Some(err.to_string()));
            }
            self.write_failed(&err);
        } else if self.failing_since.is_some() && self.pending.is_empty() {
            self.recovered();
        }
    }

    /// Says that the state is written again.
    fn recovered(&mut self) {
        if let Some(since) = self.failing_since.take() {
            log::info!(
                "crawl state `{}` is written again after {}: {} results saved",
                self.path.display(),
                humantime::format_duration(Duration::from_secs(since.elapsed().as_secs())),
                self.pending.len()
            );
        }
        if let Some(metrics) = &self.metrics {
            metrics.state_written(0, None);
        }
        self.failing.store(false, Ordering::SeqCst);
    }

    /// Reports what the links of the batch added, and schedules the next
    /// round of seeds whose round is over (at most once per [`ROUNDS_CHECK`]).
    fn after_write(&mut self) {
        let counts = (self.backend.discovered(), self.backend.over_limit());
        if let Some(metrics) = &self.metrics
            && counts != self.reported
        {
            metrics.discovered(counts.0.saturating_sub(self.reported.0));
            metrics.links_over_limit(counts.1.saturating_sub(self.reported.1));
            self.reported = counts;
        }
        if self.rounds_checked.elapsed() < ROUNDS_CHECK {
            return;
        }
        self.rounds_checked = Instant::now();
        match self.backend.close_rounds(SystemTime::now()) {
            Ok(0) => {}
            Ok(closed) => log::debug!("{closed} seeds finished their round"),
            Err(err) => log::error!("cannot schedule the next rounds: {err}"),
        }
    }

    fn close(&mut self, end_round: bool) -> Result<(), StoreError> {
        self.take_results();
        if let Err(err) = self.backend.commit(&self.pending) {
            log::error!(
                "{err}: {} results could not be saved; those pages are fetched again at the next start",
                self.pending.len()
            );
            return Err(err);
        }
        self.pending.clear();
        if end_round {
            self.backend.end_round()?;
        }
        self.backend.release_claims(SystemTime::now())?;
        Ok(())
    }
}
