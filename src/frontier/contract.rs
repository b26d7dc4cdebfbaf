//! The frontier's contract, by role: what every store of the crawl's state
//! provides. A backend implements the five small traits; [`Frontier`] is
//! all of them, the type the store thread owns.
//!
//! A backend keeps, per URL: how it entered (seed, or discovered with its
//! depth and the page it was found on), when it is due, whether it is in
//! flight, the last fetch's outcome, the last title and the HTTP validators.
//! Work leaves in batches ([`Schedule::claim_due`], [`Rounds::list_and_claim`])
//! and comes back in batches ([`Schedule::commit`]), so a networked backend
//! pays one round trip per batch, not per URL. Calls run on the store's own
//! thread (see [`super::store::Store`]), never on the async executor, so a
//! backend may block.

use std::time::{Duration, SystemTime};

use url::Url;

use super::error::StoreError;
use super::model::{
    Backoff, Claim, OutboxStatus, Outcome, PageRow, PublishedConfig, Queued, Reschedule,
    RobotsAnswer, Round, SeedChanges, Settlement, TitleChange,
};
use super::status::Status;

/// The schedule: URLs claimed when due and committed when fetched, and what
/// their commits added.
pub trait Schedule {
    /// Sets the recrawl interval used by [`Schedule::commit`] and [`Schedule::reschedule`].
    fn set_interval(&mut self, interval: Duration);

    /// Sets how many URLs one host may have in the crawl (`crawl.max_pages_per_host`).
    fn set_max_pages_per_host(&mut self, limit: u64);

    /// Claims up to `limit` URLs due at `now`, earliest first; they stay in
    /// flight until committed.
    ///
    /// # Errors
    /// The store cannot be read.
    fn claim_due(&mut self, now: SystemTime, limit: usize) -> Result<Vec<Claim>, StoreError>;

    /// The earliest due time of an idle URL, if any.
    ///
    /// # Errors
    /// The store cannot be read.
    fn next_due(&mut self) -> Result<Option<SystemTime>, StoreError>;

    /// Commits finished URLs in one batch (with any claims not yet written),
    /// scheduling each one's next fetch.
    ///
    /// # Errors
    /// The store cannot be written; nothing of the batch is then kept, and
    /// the same batch may be committed again.
    fn commit(&mut self, outcomes: &[Outcome]) -> Result<(), StoreError>;

    /// Whether claims are waiting to be written by the next commit.
    fn has_unwritten_claims(&self) -> bool;

    /// Changes the due time of every idle URL.
    ///
    /// # Errors
    /// The store cannot be written.
    fn reschedule(&mut self, how: Reschedule, now: SystemTime) -> Result<(), StoreError>;

    /// Makes every claimed URL idle and due again (a crash left them in
    /// flight, or shutdown dropped them); returns how many.
    ///
    /// # Errors
    /// The store cannot be written.
    fn release_claims(&mut self, now: SystemTime) -> Result<usize, StoreError>;

    /// Takes discovered URLs deeper than `max_depth` off the schedule (a
    /// reload lowered it); returns how many.
    ///
    /// # Errors
    /// The store cannot be written.
    fn drop_deeper(&mut self, max_depth: u32) -> Result<usize, StoreError>;

    /// URLs discovered (new, or due again in this round) by commits so far.
    fn discovered(&self) -> u64;

    /// Links not added so far because their host had `max_pages_per_host` URLs.
    fn over_limit(&self) -> u64;
}

/// The seed list: listings that add and retire seeds, and sitemaps.
pub trait Seeds {
    /// Starts a new listing of the seeds; returns its generation for the
    /// calls below. Forgets the digest of the last listing
    /// ([`Seeds::listed_digest`]): a listing cut short leaves none.
    ///
    /// # Errors
    /// The store cannot be read or written.
    fn begin_seeds(&mut self) -> Result<u64, StoreError>;

    /// The digest of the seed list the last listing wrote whole, when one
    /// was recorded ([`Seeds::set_listed_digest`]) and no listing began since.
    ///
    /// # Errors
    /// The store cannot be read.
    fn listed_digest(&mut self) -> Result<Option<u64>, StoreError>;

    /// Records the digest of the seed list just listed whole, so a start
    /// with the same list need not list it again.
    ///
    /// # Errors
    /// The store cannot be written.
    fn set_listed_digest(&mut self, digest: u64) -> Result<(), StoreError>;

    /// Records `urls` as seeds of `generation`; new ones are due at `now`.
    ///
    /// # Errors
    /// The store cannot be written.
    fn add_seeds(
        &mut self,
        urls: &[Url],
        generation: u64,
        now: SystemTime,
    ) -> Result<(), StoreError>;

    /// Retires the seeds `generation` did not list; says how many seeds
    /// were added and removed since [`Seeds::begin_seeds`].
    ///
    /// # Errors
    /// The store cannot be written.
    fn end_seeds(&mut self, generation: u64) -> Result<SeedChanges, StoreError>;

    /// Adds the in-scope entries of `sitemap` (read for `seed`'s host) as
    /// pages at depth 1 of `seed`; returns how many are due.
    ///
    /// # Errors
    /// The store cannot be written.
    fn add_sitemap(
        &mut self,
        seed: &Url,
        sitemap: &str,
        urls: &[String],
        is_from_public: bool,
    ) -> Result<u64, StoreError>;
}

/// Rounds: `--once` runs (started, resumed, completed) and the rounds of
/// seeds whose descendants are all fetched.
pub trait Rounds {
    /// Starts a `--once` run, or resumes the last one if it did not complete.
    ///
    /// # Errors
    /// The store cannot be read or written.
    fn begin_round(&mut self) -> Result<Round, StoreError>;

    /// Lists `urls` as seeds of `generation` (as [`Seeds::add_seeds`])
    /// and claims those that have no record in the current run yet. A URL
    /// listed twice in one generation is claimed once.
    ///
    /// # Errors
    /// The store cannot be written.
    fn list_and_claim(
        &mut self,
        urls: &[Url],
        generation: u64,
        now: SystemTime,
    ) -> Result<Vec<Claim>, StoreError>;

    /// Claims up to `limit` discovered URLs of the current `--once` run,
    /// shallowest first.
    ///
    /// # Errors
    /// The store cannot be read.
    fn claim_discovered(&mut self, now: SystemTime, limit: usize)
    -> Result<Vec<Claim>, StoreError>;

    /// Marks the current `--once` run complete: the next one starts afresh.
    ///
    /// # Errors
    /// The store cannot be written.
    fn end_round(&mut self) -> Result<(), StoreError>;

    /// Schedules the next round of every seed whose round is over (no
    /// descendant due or in flight); returns how many.
    ///
    /// # Errors
    /// The store cannot be written.
    fn close_rounds(&mut self, now: SystemTime) -> Result<usize, StoreError>;
}

/// Sharing the crawl with other nodes (Redis); a store of one process
/// keeps the defaults.
pub trait Membership {
    /// Whether other processes share this store (Redis): its failures are
    /// network ones, retried sooner.
    fn is_shared(&self) -> bool {
        false
    }

    /// Checks that the store answers.
    ///
    /// # Errors
    /// It cannot be reached or refuses.
    fn ping(&mut self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Periodic upkeep, about once a second, with the requests this
    /// process has running (a shared store renews this node's leases here
    /// and tells the others how busy it is).
    ///
    /// # Errors
    /// The store cannot be reached.
    fn tick(&mut self, _now: SystemTime, _fetching: u64) -> Result<(), StoreError> {
        Ok(())
    }

    /// Whether nothing is left to do beyond this process's own work: no
    /// other node holds URLs in flight and nothing waits (a `--once` run
    /// ends when this is true and its own results are written).
    ///
    /// # Errors
    /// The store cannot be read.
    fn is_idle(&mut self, _now: SystemTime) -> Result<bool, StoreError> {
        Ok(true)
    }

    /// Publishes the config this node loaded (sections by name, as JSON),
    /// so that `crawler check` can compare the nodes of a cluster.
    ///
    /// # Errors
    /// The store cannot be written.
    fn publish_config(&mut self, _sections: &str) -> Result<(), StoreError> {
        Ok(())
    }

    /// The configs the nodes published ([`Membership::publish_config`]),
    /// by node name.
    ///
    /// # Errors
    /// The store cannot be read.
    fn published_configs(&mut self) -> Result<Vec<PublishedConfig>, StoreError> {
        Ok(Vec::new())
    }
}

/// A summary of what the store knows.
pub trait Summary {
    /// Where the store is, for messages: its file, or its server and crawl.
    fn location(&self) -> std::path::PathBuf;

    /// The title changes of `url`, newest first (at most
    /// [`MAX_HISTORY`](super::MAX_HISTORY)); empty for a URL it does not know.
    ///
    /// # Errors
    /// The store cannot be read.
    fn history(&mut self, url: &Url) -> Result<Vec<TitleChange>, StoreError>;

    /// Hands `visit` every URL of the crawl now listed (seeds and the
    /// pages found from them; retired seeds and sitemap files left out),
    /// one at a time, in no set order: a million URLs never sit in memory.
    ///
    /// # Errors
    /// The store cannot be read.
    fn each_page(&mut self, visit: &mut dyn FnMut(PageRow)) -> Result<(), StoreError>;

    /// Hands `visit` each page of the link graph (`report.links`) with the
    /// links its last successful fetch followed or checked, and their
    /// anchor texts, as stored (read them with
    /// [`OutlinkReader`](super::OutlinkReader)), one page at a time, in no
    /// set order.
    ///
    /// # Errors
    /// The store cannot be read.
    fn each_outlinks(&mut self, visit: &mut dyn FnMut(&str, &[u8])) -> Result<(), StoreError>;

    /// Hands `visit` every title change seen at or after `since`, with its
    /// URL, in no set order.
    ///
    /// # Errors
    /// The store cannot be read.
    fn each_title_change(
        &mut self,
        since: SystemTime,
        visit: &mut dyn FnMut(&str, TitleChange),
    ) -> Result<(), StoreError>;

    /// A summary for `crawler status`.
    ///
    /// # Errors
    /// The store cannot be read.
    fn status(&mut self, now: SystemTime) -> Result<Status, StoreError>;
}

/// The outbox: notifications queued by [`Schedule::commit`] in the same
/// transaction as their outcome ([`Outcome::notices`]), taken for delivery
/// under a lease (a node that dies holding one lets it come back), and
/// settled. A notification is queued once per id, whoever commits it.
pub trait Outbox {
    /// Takes up to `limit` notifications due at `now`, oldest first; each is
    /// hidden for `lease` (then due again unless settled).
    ///
    /// # Errors
    /// The store cannot be written.
    fn take_notices(
        &mut self,
        now: SystemTime,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<Queued>, StoreError>;

    /// Settles notifications by id, in one batch: done (it leaves), or due
    /// again later with one more attempt counted.
    ///
    /// # Errors
    /// The store cannot be written; nothing of the batch is then kept.
    fn settle_notices(&mut self, settled: &[(String, Settlement)]) -> Result<(), StoreError>;

    /// How many notifications wait, and since when.
    ///
    /// # Errors
    /// The store cannot be read.
    fn outbox_status(&mut self) -> Result<OutboxStatus, StoreError>;

    /// Notifications refused so far because the outbox held
    /// [`MAX_OUTBOX`](super::MAX_OUTBOX) (by this process).
    fn outbox_refused(&self) -> u64;
}

/// The crawl's state: the seeds, the schedule, and what each fetch found.
pub trait Frontier: Schedule + Seeds + Rounds + Membership + Summary + Outbox + Send {}

impl<T: Schedule + Seeds + Rounds + Membership + Summary + Outbox + Send> Frontier for T {}

/// What the nodes of a cluster share about each host: its robots.txt and
/// its 429/503 backoff. Calls may block (run them off the executor); a
/// store that cannot answer says `None`.
pub trait SharedHosts: Send + Sync {
    /// The stored answer for the robots.txt at `url`, if one is current.
    fn robots(&self, url: &str) -> Option<RobotsAnswer>;

    /// Stores the answer for `url` for `ttl`.
    fn put_robots(&self, url: &str, answer: &RobotsAnswer, ttl: Duration);

    /// The backoff `origin` is under, if any.
    fn backoff(&self, origin: &str) -> Option<Backoff>;

    /// Shares the backoff `origin` is under now.
    fn put_backoff(&self, origin: &str, backoff: Backoff);
}
