//! Feeding a `--once` run without a state file: the seeds file is streamed
//! line by line through a seen-set and the feeder waits whenever the queue
//! is full, so a million seeds cost a million small hashes, not a million
//! futures.

use async_channel::{Receiver, Sender};
use url::Url;

use super::Job;
use crate::config::Config;
use crate::urls::{SeedFile, SeedLine, SeenSet};

/// Every distinct seed of `config`: inline ones first, then the seeds file,
/// streamed. Lines that no longer parse (the file changed after validation)
/// are logged with their line number, so no seed disappears without a trace.
pub fn distinct_seeds(config: &Config) -> impl Iterator<Item = Url> + Send + '_ {
    let mut seen = SeenSet::with_capacity(config.seed_count);
    let from_file = config.seeds_file.iter().flat_map(file_seeds);
    config
        .seeds
        .iter()
        .cloned()
        .chain(from_file)
        .filter(move |url| seen.insert(url))
}

fn file_seeds(file: &SeedFile) -> impl Iterator<Item = Url> + Send + use<> {
    let path = file.path().to_owned();
    let entries = file
        .entries()
        .map_err(|err| log::error!("cannot read seeds file `{}`: {err}", path.display()))
        .ok();
    entries
        .into_iter()
        .flatten()
        .map_while(move |entry| match entry {
            Ok(SeedLine { url: Ok(url), .. }) => Some(Some(url)),
            Ok(SeedLine {
                line,
                url: Err(message),
            }) => {
                log::warn!("{} line {line}: {message}; skipped", path.display());
                Some(None)
            }
            Err(err) => {
                log::error!("reading seeds file `{}` failed: {err}", path.display());
                None
            }
        })
        .flatten()
}

/// Queues every distinct seed of `config` (waiting while the queue is full),
/// then waits until each has a final outcome (`finished`, retries included)
/// and closes the queue, so the workers drain and exit. Stops early when the
/// queue is closed (shutdown). Returns how many seeds were queued.
pub async fn feed(config: &Config, jobs: &Sender<Job>, finished: &Receiver<Url>) -> usize {
    let (mut queued, mut done) = (0, 0);
    for url in distinct_seeds(config) {
        // Count what finished meanwhile, so the channel never holds more than a queue's worth.
        while finished.try_recv().is_ok() {
            done += 1;
        }
        if jobs.send(Job::new(url)).await.is_err() {
            return queued;
        }
        queued += 1;
    }
    while done < queued && finished.recv().await.is_ok() {
        done += 1;
    }
    jobs.close();
    queued
}
