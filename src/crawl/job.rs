//! The unit of work: one URL to fetch, with what the store knows of it and
//! how it was found, and the bounded queue jobs travel through.

use async_channel::{Receiver, Sender};
use url::Url;

use crate::frontier::{Claim, Known, Lineage};
use crate::watch::Watch;

/// One URL to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The normalized URL, as queued.
    pub url: Url,
    /// Which attempt this is: 0 for the first request, then one more per retry.
    pub attempt: u32,
    /// What the last successful fetch saw: the title to compare, the validators to send.
    pub known: Option<Box<Known>>,
    /// How it was discovered; `None` for a seed.
    pub lineage: Option<Box<Lineage>>,
    /// What its last fetches saw, for the `[[notify]]` targets.
    pub watch: Option<Box<Watch>>,
}

impl Job {
    /// A first attempt at `url`, with nothing known about it.
    pub fn new(url: Url) -> Self {
        Self {
            url,
            attempt: 0,
            known: None,
            lineage: None,
            watch: None,
        }
    }

    /// Links followed from its seed to reach it: 0 for a seed.
    pub fn depth(&self) -> u32 {
        self.lineage.as_ref().map_or(0, |lineage| lineage.depth)
    }

    /// The page it was found on; `None` for a seed.
    pub fn found_on(&self) -> Option<&str> {
        self.lineage
            .as_ref()
            .map(|lineage| lineage.found_on.as_str())
    }

    /// The seed it descends from (itself, for a seed).
    pub fn seed(&self) -> &Url {
        self.lineage
            .as_ref()
            .map_or(&self.url, |lineage| &lineage.seed)
    }

    /// The same job, one attempt later.
    pub fn retried(&self) -> Self {
        Self {
            attempt: self.attempt + 1,
            ..self.clone()
        }
    }
}

impl From<Claim> for Job {
    fn from(claim: Claim) -> Self {
        Self {
            url: claim.url,
            attempt: 0,
            known: claim.known.map(Box::new),
            lineage: claim.lineage.map(Box::new),
            watch: claim.watch.map(Box::new),
        }
    }
}

/// Creates the bounded work queue.
pub fn queue(capacity: usize) -> (Sender<Job>, Receiver<Job>) {
    async_channel::bounded(capacity)
}
