//! The service mode: recrawl on schedule and follow edits of the config file.
//!
//! The schedule lives in the store: a task claims due URLs in batches while
//! the job queue has room, so memory holds a window of due URLs, never the
//! whole seed list.
//!
//! A reload loads and validates the new file completely before touching
//! anything. A bad edit is one ERROR line and the daemon keeps its last good
//! config; a good one is applied in place (seeds, pool size, client settings,
//! output path, interval) and summed up in one INFO `reloaded` line. Keys that
//! cannot change live are named in a WARN and keep their old value.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;
use async_channel::{Receiver, Sender};
use async_std::task;
use futures_lite::future;

use crate::config::notify::Target;
use crate::config::render::find_browser;
use crate::config::{Config, Need, Settings};
use crate::crawl::follow::Rules;
use crate::crawl::politeness::Policy;
use crate::crawl::retry::RetryPolicy;
use crate::crawl::{self, Job, Message, Output};
use crate::daemon::control::{Control, FileWatcher};
use crate::daemon::live::LiveReport;
use crate::daemon::{self, Handles, Pipeline};
use crate::fetch::Fetcher;
use crate::frontier;
use crate::frontier::store::{self, Store};
use crate::frontier::{Reschedule, SeedChanges, StoreError};
use crate::notify::Notifier;
use crate::observe::metrics::Metrics;

/// Keys that take effect only at the next start.
const RESTART_ONLY: [&str; 4] = ["queue_capacity", "state_file", "metrics.listen", "cluster"];
/// Keys that change how the HTTP client is built (besides `[retry]`, `[network]`, `[tls]`).
const CLIENT_KEYS: [&str; 5] = [
    "user_agent",
    "request_timeout",
    "connect_timeout",
    "max_body_size",
    "max_redirects",
];

/// The running service.
struct Service {
    config: Config,
    metrics: Arc<Metrics>,
    pipeline: Pipeline,
    store: Store,
    /// Delivers notifications from the outbox.
    notifier: Notifier,
    /// Wakes the schedule task after the schedule changed.
    poke: Sender<()>,
    watcher: Option<FileWatcher>,
    /// The live report, told of reloaded `[report]` settings.
    live: Arc<LiveReport>,
}

/// Runs until SIGTERM/SIGINT: crawl every seed, recrawl each when due, reload on edits.
///
/// # Errors
/// The seeds cannot be stored, or records could not be written at shutdown.
pub async fn run(
    config: Config,
    handles: Handles,
    output: Output,
    (store, notifier): (Store, Notifier),
    control_sender: Sender<Control>,
    controls: Receiver<Control>,
) -> anyhow::Result<()> {
    // Watched first: an edit saved while the crawl starts is not missed.
    let watcher = match FileWatcher::start(&watched_files(&config), control_sender)
        .context("cannot watch the config file")
    {
        Ok(watcher) => Some(watcher),
        Err(err) => {
            log::warn!("{err:#}; edits are applied on SIGHUP only");
            None
        }
    };
    schedule_seeds(&store, &config).await?;
    let (job_sender, jobs) = crawl::queue(config.settings.queue_capacity);
    // Nobody waits for single URLs to finish: the store reschedules them.
    let (finished_sender, _) = async_channel::bounded(1);
    let metrics = Arc::clone(&handles.metrics);
    let client_fetcher = handles.fetcher.clone();
    let live = Arc::clone(&handles.live);
    let capacity = config.settings.queue_capacity;
    let pipeline = Pipeline::start(
        &config,
        handles,
        output,
        (job_sender.clone(), jobs),
        finished_sender,
    );
    if daemon::reads_sitemaps(&config) {
        spawn_sitemaps(&store, &config, &client_fetcher);
    }
    let (poke, pokes) = async_channel::bounded(1);
    // A node of a cluster claims only what it can start soon: what it
    // holds is no other node's to crawl.
    let window = store.is_shared().then(|| Arc::clone(&metrics));
    task::spawn(drive_schedule(
        store.clone(),
        job_sender,
        capacity,
        window,
        pokes,
    ));
    let mut service = Service {
        config,
        metrics,
        pipeline,
        store,
        notifier,
        poke,
        watcher,
        live,
    };
    loop {
        match daemon::next_control(&controls).await {
            Some(Control::Shutdown(signal)) => {
                service.poke.close();
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

/// Reads the seed hosts' sitemaps into the store in the background.
fn spawn_sitemaps(store: &Store, config: &Config, fetcher: &Fetcher) {
    let (store, config, fetcher) = (store.clone(), config.clone(), fetcher.clone());
    task::spawn(async move {
        let added = crate::crawl::sitemaps::discover(&store, &config, &fetcher).await;
        log::info!("sitemaps: {added} URLs to crawl");
    });
}

/// Lists the seeds in the store and gives every idle one a due time.
async fn schedule_seeds(store: &Store, config: &Config) -> anyhow::Result<()> {
    let interval = config.settings.recrawl_interval;
    let listing = Instant::now();
    let changes = crawl::listing::list_seeds(store, config).await?;
    store
        .call(move |frontier, _| {
            frontier.set_interval(interval);
            frontier.reschedule(Reschedule::Start, SystemTime::now())
        })
        .await
        .context("the state store stopped")??;
    log::debug!(
        "seeds listed in {:?}: +{} -{}",
        listing.elapsed(),
        changes.added,
        changes.removed
    );
    Ok(())
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
                self.metrics.reloaded(Some(problems.clone()));
                log::error!("reload rejected, still running on the last good config: {problems}");
                return;
            }
        };
        self.keep_restart_only(&mut new);
        if let Err(problem) = self.apply_render(&new) {
            self.metrics.reloaded(Some(problem.clone()));
            log::error!("reload rejected, still running on the last good config: {problem}");
            return;
        }
        let changes = settings_diff(&self.config.settings, &new.settings);
        // Link rules first: pages a new seed list makes due follow the new ones.
        self.apply_crawl(&new).await;
        let seeds = self.apply_seeds(&new).await;
        log::debug!("reload: seeds applied");
        self.apply_settings(&new, &changes).await;
        let targets = target_changes(&self.config.notify, &new.notify);
        if targets.is_some() || !changes.is_empty() {
            self.pipeline.set_targets(&new.notify);
            self.notifier.set_config(&new);
        }
        let sitemaps_changed =
            new.settings.crawl.sitemaps != self.config.settings.crawl.sitemaps || seeds.added > 0;
        if sitemaps_changed && daemon::reads_sitemaps(&new) {
            let fetcher = self.pipeline.fetcher();
            spawn_sitemaps(&self.store, &new, &fetcher);
        }
        if let Some(watcher) = &self.watcher
            && let Err(err) = watcher.set_files(&watched_files(&new))
        {
            log::warn!("cannot watch the new seeds file: {err}");
        }
        let mut listed: Vec<String> = changes
            .iter()
            .map(|(key, (old, new))| format!("{key} {old} → {new}"))
            .collect();
        listed.extend(targets);
        let settings = if listed.is_empty() {
            "no settings changed".to_owned()
        } else {
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
        // `/healthz` says so before the log does: whoever reads the line sees it there.
        self.metrics
            .set_config(new.settings.workers, new.seed_count);
        self.metrics.set_stats_interval(new.settings.stats_interval);
        self.metrics.reloaded(None);
        log::info!("reloaded `{}`: {seeds}; {settings}", path.display());
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
        if new.settings.render.browser != old.settings.render.browser {
            log::warn!(
                "`render.browser` changed but applies only after a restart; keeping the running browser"
            );
            new.settings
                .render
                .browser
                .clone_from(&old.settings.render.browser);
        }
        if new.settings.cluster != old.settings.cluster {
            log::warn!(
                "`[cluster]` changed but applies only after a restart; keeping the running cluster settings"
            );
            new.settings.cluster.clone_from(&old.settings.cluster);
        }
        new.state_file.clone_from(&old.state_file);
        new.is_state_file_explicit = old.is_state_file_explicit;
    }

    /// Applies a new `[render]` table; one that renders pages while no
    /// browser can be found is refused.
    fn apply_render(&self, new: &Config) -> Result<(), String> {
        let Some(renderer) = self.pipeline.renderer() else {
            return Ok(());
        };
        if new.render.is_on() && renderer.binary().is_none() {
            let binary = find_browser(new.settings.render.browser.as_deref())
                .map_err(|why| format!("render.mode: {why}"))?;
            renderer.set_binary(binary);
        }
        if new.settings.render != self.config.settings.render {
            renderer.set_rules(&new.render);
        }
        Ok(())
    }

    /// Lists the new seeds in the store; a zero interval makes everything due again.
    async fn apply_seeds(&self, new: &Config) -> SeedChanges {
        let listing = Instant::now();
        let listed = crawl::listing::list_seeds(&self.store, new).await;
        log::debug!("reload: seeds listed in {:?}", listing.elapsed());
        let sections = frontier::published_sections(new);
        let published = self
            .store
            .call(move |frontier, _| frontier.publish_config(&sections))
            .await;
        if let Some(Err(err)) = published {
            log::warn!("reload: the config could not be published to the cluster: {err}");
        }
        if new.settings.recrawl_interval.is_zero() {
            let all_due = self
                .store
                .call(|frontier, _| frontier.reschedule(Reschedule::AllDue, SystemTime::now()))
                .await;
            if let Some(Err(err)) = all_due {
                log::error!("reload: {err}");
            }
        }
        let _ = self.poke.try_send(());
        listed.unwrap_or_else(|err| {
            log::error!("reload: the new seeds could not be stored: {err}");
            SeedChanges::default()
        })
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
        if changes.keys().any(|key| key.starts_with("retry.")) {
            self.pipeline
                .set_retry_policy(RetryPolicy::new(&new.settings.retry));
        }
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
            let interval = new.settings.recrawl_interval;
            let rescheduled = self
                .store
                .call(move |frontier, _| {
                    frontier.set_interval(interval);
                    frontier.reschedule(Reschedule::Interval, SystemTime::now())
                })
                .await;
            if let Some(Err(err)) = rescheduled {
                log::error!("reload: the new recrawl_interval could not be applied: {err}");
            }
            let _ = self.poke.try_send(());
        }
    }
}

impl Service {
    /// Applies a new `[crawl]` table: pages fetched from now on judge their
    /// links by it; a lower `max_depth` takes deeper waiting URLs off the schedule.
    async fn apply_crawl(&self, new: &Config) {
        let (old, crawl) = (&self.config.settings, &new.settings);
        self.live.set_settings(crawl.report.clone());
        if crawl.crawl == old.crawl
            && crawl.user_agent == old.user_agent
            && crawl.report.links == old.report.links
        {
            return;
        }
        self.pipeline.set_rules(Rules::new(new));
        let limit = crawl.crawl.max_pages_per_host;
        let lowered =
            (crawl.crawl.max_depth < old.crawl.max_depth).then_some(crawl.crawl.max_depth);
        let applied = self
            .store
            .call(move |frontier, _| {
                frontier.set_max_pages_per_host(limit);
                lowered.map(|depth| frontier.drop_deeper(depth)).transpose()
            })
            .await;
        match applied {
            Some(Ok(Some(dropped))) if dropped > 0 => log::info!(
                "{dropped} discovered URLs deeper than the new crawl.max_depth are no longer due"
            ),
            Some(Err(err)) => {
                log::error!("reload: the new [crawl] limits could not be applied: {err}")
            }
            _ => {}
        }
    }
}

/// Settings that differ, as dotted key → (old, new); `seeds` is reported as seed changes.
fn settings_diff(old: &Settings, new: &Settings) -> BTreeMap<String, (String, String)> {
    let (old, new) = (flatten(old), flatten(new));
    new.into_iter()
        // Targets are told apart by name (their URL and secret are not shown).
        .filter(|(key, _)| {
            key != "seeds" && key != "notify" && !RESTART_ONLY.contains(&key.as_str())
        })
        .filter_map(|(key, value)| {
            let before = old.get(&key).cloned().unwrap_or_default();
            (before != value).then_some((key, (before, value)))
        })
        .collect()
}

/// The `[[notify]]` targets added, changed and removed, by name; `None` when none.
fn target_changes(old: &[Target], new: &[Target]) -> Option<String> {
    let named = |targets: &[Target], name: &str| targets.iter().find(|t| t.name == name).cloned();
    let mut said = Vec::new();
    for target in new {
        match named(old, &target.name) {
            None => said.push(format!("+`{}`", target.name)),
            Some(before) if before != *target => said.push(format!("~`{}`", target.name)),
            Some(_) => {}
        }
    }
    for target in old.iter().filter(|t| named(new, &t.name).is_none()) {
        said.push(format!("-`{}`", target.name));
    }
    (!said.is_empty()).then(|| format!("notify targets {}", said.join(" ")))
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

/// How long the schedule task sleeps at most before it looks for due URLs
/// again (results committed meanwhile may be due sooner than it knew).
const SCHEDULE_POLL: Duration = Duration::from_secs(1);
/// How long it waits for room when the job queue is full.
const QUEUE_POLL: Duration = Duration::from_millis(20);

/// Claims due URLs from the store into the job queue while it has room,
/// until the queue or the poke channel closes. With `window` (a node of a
/// cluster), only what [`crawl::listing::cluster_room`] allows.
async fn drive_schedule(
    store: Store,
    jobs: Sender<Job>,
    capacity: usize,
    window: Option<Arc<Metrics>>,
    pokes: Receiver<()>,
) {
    loop {
        let ahead = window.as_ref().map_or(usize::MAX, |metrics| {
            crawl::listing::cluster_room(metrics, jobs.len())
        });
        let room = capacity
            .saturating_sub(jobs.len())
            .min(crawl::listing::CLAIM_BATCH)
            .min(ahead);
        let wait = if room == 0 {
            QUEUE_POLL
        } else {
            match claim_into(&store, &jobs, room).await {
                Claimed::Full => continue,
                Claimed::Drained(next_due) => next_due.map_or(SCHEDULE_POLL, |due| {
                    due.duration_since(SystemTime::now())
                        .unwrap_or_default()
                        .min(SCHEDULE_POLL)
                }),
                Claimed::Failed => store::RETRY_INTERVAL,
                Claimed::Closed => return,
            }
        };
        let poked = async { pokes.recv().await.is_ok() };
        let slept = async {
            task::sleep(wait).await;
            true
        };
        if !future::or(poked, slept).await {
            return;
        }
    }
}

/// How one claim went.
enum Claimed {
    /// As many as asked: more may be due.
    Full,
    /// Fewer: nothing else is due before this time (if any is scheduled).
    Drained(Option<SystemTime>),
    /// The store could not be read (logged).
    Failed,
    /// The queue or the store is gone.
    Closed,
}

async fn claim_into(store: &Store, jobs: &Sender<Job>, room: usize) -> Claimed {
    let claimed = store
        .call(move |frontier, backlog| {
            if backlog >= store::MAX_BACKLOG {
                return Ok((Vec::new(), None));
            }
            let claims = frontier.claim_due(SystemTime::now(), room)?;
            let next = if claims.len() < room {
                frontier.next_due()?
            } else {
                None
            };
            Ok::<_, StoreError>((claims, next))
        })
        .await;
    let (claims, next_due) = match claimed {
        Some(Ok(answer)) => answer,
        Some(Err(err)) if err.is_unreachable() => {
            // The store thread says once that Redis is away.
            log::debug!("cannot read due URLs: {err}");
            return Claimed::Failed;
        }
        Some(Err(err)) => {
            log::error!("cannot read due URLs: {err}");
            return Claimed::Failed;
        }
        None => return Claimed::Closed,
    };
    let count = claims.len();
    for claim in claims {
        if jobs.send(Job::from(claim)).await.is_err() {
            return Claimed::Closed;
        }
    }
    if count == room {
        Claimed::Full
    } else {
        Claimed::Drained(next_due)
    }
}
