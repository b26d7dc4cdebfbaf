//! The notifier beside the crawl: started with the store, told of reloads
//! by the service, drained at the end of a `--once` run.

use std::sync::Arc;

use anyhow::Context as _;
use async_channel::Sender;
use async_std::task;

use crate::config::Config;
use crate::frontier::store::Store;
use crate::notify::Notifier;
use crate::observe::metrics::Metrics;

/// The delivery task, running.
pub(super) struct Running {
    stop: Sender<()>,
    task: task::JoinHandle<()>,
}

impl Running {
    /// Stops it once it has written what ended (before the store closes).
    pub(super) async fn stop(self) {
        drop(self.stop);
        self.task.await;
    }
}

/// Starts delivering from `store`'s outbox.
pub(super) fn start_notifier(
    config: &Config,
    store: &Store,
    metrics: &Arc<Metrics>,
) -> anyhow::Result<(Notifier, Running)> {
    let notifier = Notifier::new(config, store, metrics)
        .context("cannot set up the HTTP client for notifications")?;
    let (stop, stopped) = async_channel::bounded(1);
    let task = task::spawn(notifier.clone().run(stopped));
    Ok((notifier, Running { stop, task }))
}

/// At the end of a `--once` run: delivers what is due, for up to
/// `shutdown_timeout`, and says what is left.
pub(super) async fn drain(notifier: &Notifier, config: &Config, is_kept: bool) {
    if config.notify.is_empty() {
        return;
    }
    let left = notifier.drain(config.settings.shutdown_timeout).await;
    if left == 0 {
        return;
    }
    if is_kept {
        log::warn!(
            "{left} notifications wait in the outbox (not delivered within shutdown_timeout, or waiting to be retried); the next run delivers them"
        );
    } else {
        log::warn!(
            "{left} notifications were not delivered within shutdown_timeout and are lost with this run's temporary state; set `state_file` to keep them"
        );
    }
}
