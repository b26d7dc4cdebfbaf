//! The service mode: recrawl on schedule and follow edits of the config file.
//!
//! A reload loads and validates the new file completely before touching
//! anything. A bad edit is one ERROR line and the daemon keeps its last good
//! config; a good one is applied in place (seeds, pool size, client settings,
//! output path, interval) and summed up in one INFO `reloaded` line. Keys that
//! cannot change live are named in a WARN and keep their old value.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use async_channel::{Receiver, Sender, TrySendError};
use async_std::task;
use futures_lite::future;
use url::Url;

use crate::config::{Config, Need, Settings};
use crate::crawl::politeness::Policy;
use crate::daemon::control::{Control, FileWatcher};
use crate::daemon::{self, Pipeline};
use crate::fetch::Fetcher;
use crate::frontier::schedule::{Schedule, SeedChanges};
use crate::frontier::state::TitleState;
use crate::frontier::{self, Job};
use crate::observe::metrics::Metrics;
use crate::output::{Message, Output};

/// Keys that take effect only at the next start.
const RESTART_ONLY: [&str; 3] = ["queue_capacity", "state_file", "metrics.listen"];
/// Keys that change how the HTTP client is built (besides `[retry]`, `[network]`, `[tls]`).
const CLIENT_KEYS: [&str; 5] = [
    "user_agent",
    "request_timeout",
    "connect_timeout",
    "max_body_size",
    "max_redirects",
];

/// Asks the schedule task to change something.
enum ScheduleEvent {
    /// A new seed list; `make_all_due` re-crawls everything (interval `0s`).
    Seeds {
        seeds: Vec<Url>,
        make_all_due: bool,
        reply: Sender<SeedChanges>,
    },
    /// A new recrawl interval.
    Interval(Duration),
}

/// The running service.
struct Service {
    config: Config,
    metrics: Arc<Metrics>,
    pipeline: Pipeline,
    schedule: Sender<ScheduleEvent>,
    watcher: Option<FileWatcher>,
}

/// Runs until SIGTERM/SIGINT: crawl every seed, recrawl each when due, reload on edits.
///
/// # Errors
/// Records could not be written at shutdown.
pub async fn run(
    config: Config,
    client: (Fetcher, Arc<Metrics>),
    output: Output,
    state: TitleState,
    control_sender: Sender<Control>,
    controls: Receiver<Control>,
) -> anyhow::Result<()> {
    let seeds: Vec<Url> = frontier::distinct_seeds(&config).collect();
    let mut schedule = Schedule::new(config.settings.recrawl_interval);
    schedule.set_seeds(&seeds, Instant::now(), |url| {
        state.last_fetched(url.as_str())
    });
    drop(seeds);
    let (job_sender, jobs) = frontier::queue(config.settings.queue_capacity);
    let (finished_sender, finished) = async_channel::unbounded();
    let output = output.with_state(state);
    let metrics = Arc::clone(&client.1);
    let pipeline = Pipeline::start(
        &config,
        client,
        output,
        (job_sender.clone(), jobs),
        finished_sender,
    );
    let (schedule_sender, schedule_events) = async_channel::unbounded();
    task::spawn(drive_schedule(
        schedule,
        job_sender,
        finished,
        schedule_events,
    ));
    let watcher = match FileWatcher::start(&watched_files(&config), control_sender)
        .context("cannot watch the config file")
    {
        Ok(watcher) => Some(watcher),
        Err(err) => {
            log::warn!("{err:#}; edits are applied on SIGHUP only");
            None
        }
    };
    let mut service = Service {
        config,
        metrics,
        pipeline,
        schedule: schedule_sender,
        watcher,
    };
    loop {
        match daemon::next_control(&controls).await {
            Some(Control::Shutdown(signal)) => {
                service.schedule.close();
                let grace = service.config.settings.shutdown_timeout;
                return daemon::shutdown(service.pipeline, &controls, signal, grace).await;
            }
            Some(Control::Reload) => service.reload().await,
            Some(Control::Hangup) => {
                service.reload().await;
                service.pipeline.tell_output(Message::Reopen).await;
            }
            Some(Control::Reopen) | None => service.pipeline.tell_output(Message::Reopen).await,
        }
    }
}

/// The files whose edits trigger a reload.
fn watched_files(config: &Config) -> Vec<PathBuf> {
    let mut files = vec![config.path.clone()];
    files.extend(config.seeds_file.iter().map(|file| file.path().to_owned()));
    files
}

impl Service {
    async fn reload(&mut self) {
        let path = self.config.path.clone();
        log::debug!("reload: loading `{}`", path.display());
        let mut new = match Config::load(&path, Need::Seeds) {
            Ok(new) => new,
            Err(err) => {
                let problems: Vec<String> = err.to_string().lines().map(str::to_owned).collect();
                let problems = problems.join("; ");
                log::error!("reload rejected, still running on the last good config: {problems}");
                self.metrics.reloaded(Some(problems));
                return;
            }
        };
        self.keep_restart_only(&mut new);
        let changes = settings_diff(&self.config.settings, &new.settings);
        let seeds = self.apply_seeds(&new).await;
        log::debug!("reload: seeds applied");
        self.apply_settings(&new, &changes).await;
        if let Some(watcher) = &self.watcher
            && let Err(err) = watcher.set_files(&watched_files(&new))
        {
            log::warn!("cannot watch the new seeds file: {err}");
        }
        let settings = if changes.is_empty() {
            "no settings changed".to_owned()
        } else {
            let listed: Vec<String> = changes
                .iter()
                .map(|(key, (old, new))| format!("{key} {old} → {new}"))
                .collect();
            listed.join(", ")
        };
        let seeds = if seeds.added + seeds.removed == 0 {
            format!("seeds unchanged, {} in all", new.seed_count)
        } else {
            format!(
                "seeds +{} -{}, {} in all",
                seeds.added, seeds.removed, new.seed_count
            )
        };
        log::info!("reloaded `{}`: {seeds}; {settings}", path.display());
        self.metrics
            .set_config(new.settings.workers, new.seed_count);
        self.metrics.set_stats_interval(new.settings.stats_interval);
        self.metrics.reloaded(None);
        self.config = new;
    }

    /// Keeps the old value of keys that cannot change while running, with a WARN.
    fn keep_restart_only(&self, new: &mut Config) {
        let old = &self.config;
        if new.settings.queue_capacity != old.settings.queue_capacity {
            log::warn!(
                "`queue_capacity` changed to {} but applies only after a restart; keeping {}",
                new.settings.queue_capacity,
                old.settings.queue_capacity
            );
            new.settings.queue_capacity = old.settings.queue_capacity;
        }
        if new.settings.state_file != old.settings.state_file {
            log::warn!(
                "`state_file` changed but applies only after a restart; keeping `{}`",
                old.state_file.display()
            );
            new.settings.state_file.clone_from(&old.settings.state_file);
        }
        if new.settings.metrics.listen != old.settings.metrics.listen {
            log::warn!(
                "`metrics.listen` changed but applies only after a restart; keeping {}",
                old.settings
                    .metrics
                    .listen
                    .map_or_else(|| "it off".to_owned(), |a| format!("`{a}`"))
            );
            new.settings.metrics.listen = old.settings.metrics.listen;
        }
        new.state_file.clone_from(&old.state_file);
        new.is_state_file_explicit = old.is_state_file_explicit;
    }

    async fn apply_seeds(&self, new: &Config) -> SeedChanges {
        let seeds: Vec<Url> = frontier::distinct_seeds(new).collect();
        let (reply, answer) = async_channel::bounded(1);
        let event = ScheduleEvent::Seeds {
            seeds,
            make_all_due: new.settings.recrawl_interval.is_zero(),
            reply,
        };
        if self.schedule.send(event).await.is_err() {
            return SeedChanges::default();
        }
        answer.recv().await.unwrap_or_default()
    }

    async fn apply_settings(&mut self, new: &Config, changes: &BTreeMap<String, (String, String)>) {
        if new.settings.workers != self.config.settings.workers {
            self.pipeline.resize(new.settings.workers);
        }
        let client_changed = changes.keys().any(|key| {
            CLIENT_KEYS.contains(&key.as_str())
                || ["retry.", "network.", "tls."]
                    .iter()
                    .any(|table| key.starts_with(table))
        });
        if client_changed {
            match Fetcher::new(new) {
                Ok(fetcher) => self.pipeline.set_fetcher(fetcher),
                Err(err) => log::error!(
                    "cannot rebuild the HTTP client ({err}); fetches keep the old settings"
                ),
            }
        }
        let policy = Policy::new(&new.settings.politeness, &new.settings.user_agent);
        let old_policy = Policy::new(
            &self.config.settings.politeness,
            &self.config.settings.user_agent,
        );
        if policy != old_policy {
            self.pipeline.set_policy(policy).await;
        }
        if new.jsonl != self.config.jsonl {
            self.pipeline
                .tell_output(Message::SetPath(new.jsonl.clone()))
                .await;
        }
        if new.settings.recrawl_interval != self.config.settings.recrawl_interval {
            let _ = self
                .schedule
                .send(ScheduleEvent::Interval(new.settings.recrawl_interval))
                .await;
        }
    }
}

/// Settings that differ, as dotted key → (old, new); `seeds` is reported as seed changes.
fn settings_diff(old: &Settings, new: &Settings) -> BTreeMap<String, (String, String)> {
    let (old, new) = (flatten(old), flatten(new));
    new.into_iter()
        .filter(|(key, _)| key != "seeds" && !RESTART_ONLY.contains(&key.as_str()))
        .filter_map(|(key, value)| {
            let before = old.get(&key).cloned().unwrap_or_default();
            (before != value).then_some((key, (before, value)))
        })
        .collect()
}

fn flatten(settings: &Settings) -> BTreeMap<String, String> {
    fn walk(prefix: &str, value: &serde_json::Value, out: &mut BTreeMap<String, String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, inner) in map {
                    let dotted = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    walk(&dotted, inner, out);
                }
            }
            serde_json::Value::String(text) => {
                out.insert(prefix.to_owned(), text.clone());
            }
            other => {
                out.insert(prefix.to_owned(), other.to_string());
            }
        }
    }
    let mut out = BTreeMap::new();
    if let Ok(value) = serde_json::to_value(settings) {
        walk("", &value, &mut out);
    }
    out
}

/// What woke the schedule task.
enum Wake {
    Event(ScheduleEvent),
    Finished(Url),
    Queued,
    Timer,
    Closed,
}

/// Feeds due seeds into the job queue and reschedules finished ones, until closed.
async fn drive_schedule(
    mut schedule: Schedule,
    jobs: Sender<Job>,
    finished: Receiver<Url>,
    events: Receiver<ScheduleEvent>,
) {
    let mut blocked: Option<Url> = None;
    loop {
        if blocked.is_none() {
            blocked = queue_due(&mut schedule, &jobs);
        }
        let next_due = schedule.next_due();
        let wait = async {
            match (&blocked, next_due) {
                (Some(url), _) => match jobs.send(Job::new(url.clone())).await {
                    Ok(()) => Wake::Queued,
                    Err(_) => Wake::Closed,
                },
                (None, Some(due)) => {
                    task::sleep(due.saturating_duration_since(Instant::now())).await;
                    Wake::Timer
                }
                (None, None) => future::pending().await,
            }
        };
        let event = async { events.recv().await.map_or(Wake::Closed, Wake::Event) };
        let done = async { finished.recv().await.map_or(Wake::Closed, Wake::Finished) };
        let wake = future::or(event, future::or(done, wait)).await;
        log::trace!(
            "schedule: woke by {}",
            match &wake {
                Wake::Closed => "closed",
                Wake::Queued => "queued",
                Wake::Timer => "timer",
                Wake::Finished(_) => "finished",
                Wake::Event(_) => "event",
            }
        );
        match wake {
            Wake::Closed => return,
            Wake::Queued => blocked = None,
            Wake::Timer => {}
            Wake::Finished(url) => schedule.finished(&url, Instant::now()),
            Wake::Event(event) => {
                if let Some(url) = blocked.take() {
                    schedule.put_back(url, Instant::now());
                }
                handle_event(&mut schedule, event);
            }
        }
    }
}

/// Moves due seeds into the queue; returns the one that did not fit, if any.
fn queue_due(schedule: &mut Schedule, jobs: &Sender<Job>) -> Option<Url> {
    let now = Instant::now();
    while let Some(url) = schedule.pop_due(now) {
        match jobs.try_send(Job::new(url)) {
            Ok(()) => {}
            Err(TrySendError::Full(job) | TrySendError::Closed(job)) => return Some(job.url),
        }
    }
    None
}

fn handle_event(schedule: &mut Schedule, event: ScheduleEvent) {
    let now = Instant::now();
    match event {
        ScheduleEvent::Seeds {
            seeds,
            make_all_due,
            reply,
        } => {
            let changes = schedule.set_seeds(&seeds, now, |_| None);
            if make_all_due {
                schedule.make_all_due(now);
            }
            let _ = reply.try_send(changes);
        }
        ScheduleEvent::Interval(interval) => schedule.set_interval(interval, now),
    }
}
