//! The pipeline: the dispatcher, the worker pool and the output task, wired
//! together, resized and stopped.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_channel::{Receiver, Sender};
use async_std::task::{self, JoinHandle};
use url::Url;

use crate::config::Config;
use crate::config::notify::Target;
use crate::crawl::dispatch::{Dispatcher, Event};
use crate::crawl::follow::Rules;
use crate::crawl::politeness::Policy;
use crate::crawl::politeness::redirects::RedirectRobots;
use crate::crawl::retry::RetryPolicy;
use crate::crawl::worker;
use crate::crawl::{Job, Message, Output};
use crate::fetch::Fetcher;
use crate::frontier;
use crate::observe::metrics::Metrics;
use crate::output;
use crate::render::Renderer;

/// What every part of the pipeline holds: the HTTP client and the metrics.
#[derive(Clone)]
pub struct Handles {
    /// The HTTP client, as configured at start.
    pub fetcher: Fetcher,
    /// The counters and gauges.
    pub metrics: Arc<Metrics>,
    /// The browser pages are rendered in (started at the first render).
    pub renderer: Arc<Renderer>,
    /// The live report of the metrics endpoint (its settings follow reloads).
    pub live: Arc<super::live::LiveReport>,
}

/// The dispatcher, the worker pool and the output task.
pub struct Pipeline {
    pub(super) template: worker::Context,
    pub(super) input: Receiver<Job>,
    pub(super) workers_target: Arc<AtomicUsize>,
    pub(super) stop: Sender<()>,
    pub(super) retire: Sender<()>,
    pub(super) workers: Vec<JoinHandle<()>>,
    pub(super) size: usize,
    pub(super) output_task: JoinHandle<Output>,
}

impl Pipeline {
    /// Starts the dispatcher on `input`, `workers` workers and the output task.
    pub fn start(
        config: &Config,
        Handles {
            fetcher,
            metrics,
            renderer,
            live: _,
        }: Handles,
        output: Output,
        (input_sender, input): (Sender<Job>, Receiver<Job>),
        finished: Sender<Url>,
    ) -> Self {
        let workers = config.settings.workers;
        let (messages, message_receiver) = async_channel::bounded(workers.max(16) * 2);
        let (stop, stop_receiver) = async_channel::bounded(1);
        let (retire, retire_receiver) = async_channel::unbounded();
        // The dispatcher hands over a job only when a worker is free, so this
        // queue never holds more than `workers` jobs.
        let (work_sender, work) = async_channel::unbounded();
        let (events, event_receiver) = async_channel::unbounded();
        let workers_target = Arc::new(AtomicUsize::new(workers));
        let policy = Policy::new(&config.settings.politeness, &config.settings.user_agent);
        let template = worker::Context {
            jobs: work,
            retry: input_sender,
            events: events.clone(),
            stop: stop_receiver,
            retire: retire_receiver,
            fetcher: Arc::new(RwLock::new(fetcher)),
            retry_policy: Arc::new(RwLock::new(RetryPolicy::new(&config.settings.retry))),
            rules: Arc::new(RwLock::new(Arc::new(Rules::new(config)))),
            targets: Arc::new(RwLock::new(config.notify.clone().into())),
            redirects: Arc::new(RedirectRobots::new(&policy)),
            renderer: Some(renderer),
            output: messages,
            finished,
            metrics: Arc::clone(&metrics),
            pending_retries: Arc::new(AtomicUsize::new(0)),
        };
        let dispatcher = Dispatcher {
            input: input.clone(),
            events: event_receiver,
            event_sender: events,
            work: work_sender,
            workers: Arc::clone(&workers_target),
            fetcher: Arc::clone(&template.fetcher),
            output: template.output.clone(),
            finished: template.finished.clone(),
            metrics: Arc::clone(&metrics),
            shared: frontier::shared_hosts(config),
            rules: Arc::clone(&template.rules),
        };
        task::spawn(dispatcher.run(policy));
        let mut pipeline = Self {
            template,
            input,
            workers_target,
            stop,
            retire,
            workers: Vec::new(),
            size: 0,
            output_task: task::spawn(output::run(message_receiver, output, metrics)),
        };
        pipeline.resize(workers);
        pipeline
    }

    /// Applies new politeness settings to requests not yet handed to a worker.
    pub async fn set_policy(&self, policy: Policy) {
        self.template.redirects.set_policy(&policy);
        let _ = self.template.events.send(Event::Policy(policy)).await;
    }

    /// Jobs waiting: in the input queue and in host queues.
    pub fn waiting(&self) -> usize {
        self.input.len().max(self.template.metrics.queue_depth())
    }

    /// Grows or shrinks the pool; a retired worker finishes its current job first.
    pub fn resize(&mut self, workers: usize) {
        self.workers_target.store(workers, Ordering::SeqCst);
        while self.size < workers {
            self.workers
                .push(task::spawn(worker::run(self.template.clone())));
            self.size += 1;
        }
        while self.size > workers {
            let _ = self.retire.try_send(());
            self.size -= 1;
        }
    }

    /// Replaces the client used by fetches that start from now on.
    pub fn set_fetcher(&self, fetcher: Fetcher) {
        let mut current = self
            .template
            .fetcher
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *current = fetcher;
    }

    /// Replaces the retry policy of attempts that end from now on.
    pub fn set_retry_policy(&self, policy: RetryPolicy) {
        let mut current = self
            .template
            .retry_policy
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *current = policy;
    }

    /// The client in use now.
    pub fn renderer(&self) -> Option<Arc<Renderer>> {
        self.template.renderer.clone()
    }

    /// The HTTP client now.
    pub fn fetcher(&self) -> Fetcher {
        self.template
            .fetcher
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Replaces the link rules for pages fetched from now on.
    pub fn set_rules(&self, rules: Rules) {
        let mut current = self
            .template
            .rules
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *current = Arc::new(rules);
    }

    /// Replaces the `[[notify]]` targets of records finished from now on.
    pub fn set_targets(&self, targets: &[Target]) {
        let mut current = self
            .template
            .targets
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *current = targets.into();
    }

    /// Sends a message to the output task.
    pub async fn tell_output(&self, message: Message) {
        let _ = self.template.output.send(message).await;
    }

    /// Fetches running now.
    pub fn in_flight(&self) -> usize {
        self.template.metrics.in_flight()
    }

    /// Waits until every worker has exited. Safe to cancel and call again:
    /// a handle is dropped only once its worker is done.
    pub(super) async fn join_workers(&mut self) {
        while let Some(handle) = self.workers.last_mut() {
            handle.await;
            self.workers.pop();
        }
    }

    /// Waits until retries waiting out a backoff have handed over their records
    /// (after `stop` closed, they do so at once).
    pub(super) async fn join_retries(&self) {
        while self.template.pending_retries.load(Ordering::SeqCst) > 0 {
            task::sleep(Duration::from_millis(5)).await;
        }
    }
}
