//! Discovered URLs in the database: the links of a committed page enter
//! the crawl in the same transaction as the page's result, so a SIGKILL
//! never loses a link of a recorded page nor keeps one of an unrecorded page.
//!
//! A link is due again only when it was not fetched in the current round:
//! in a `--once` run, when its `once_round` is older than the run; in the
//! service, when its last fetch started more than `recrawl_interval` before
//! the round of its seed began (a seed's next round begins
//! `recrawl_interval` after its last one ended, see [`CLOSE_ROUNDS`]). A
//! discovered URL that no page links to any more is never due again; its
//! row keeps its last record.
//!
//! Discovered URLs are due at their depth in milliseconds after the epoch:
//! long past, so they come before every seed due now, and in the order of
//! the due index, shallowest first (breadth-first).

use std::collections::hash_map::Entry;
use std::hash::BuildHasher;

use rusqlite::{OptionalExtension, Transaction, params};
use url::Url;

use super::SqliteFrontier;
use crate::frontier::{Outcome, unix_ms};

/// Due times at or below this are the depths of discovered URLs.
pub const DISCOVERED_DUE_MAX: i64 = u32::MAX as i64;
/// Fingerprints of links already handled in their round kept at most.
const MAX_SEEN: usize = 2_000_000;
/// Hosts whose URL count is kept at most.
const MAX_HOSTS: usize = 100_000;

/// Where a committed page stands, for its links.
struct Page {
    id: i64,
    root: i64,
    depth: i64,
    /// Which round its links belong to: the `--once` run, or when its seed's round began.
    round: Round,
}

#[derive(Clone, Copy)]
enum Round {
    Once(i64),
    /// The seed's round began at this time (ms); links fetched since
    /// `interval` before it are not fetched again.
    Since(i64),
}

impl Round {
    fn key(self) -> u64 {
        match self {
            Self::Once(number) => u64::from_ne_bytes(number.to_ne_bytes()),
            Self::Since(at) => u64::from_ne_bytes(at.to_ne_bytes()).rotate_left(17) ^ 0x5bd1_e995,
        }
    }

    /// The `once_round` and `fetched before` parameters of the freshness test.
    fn params(self, interval: i64) -> (Option<i64>, i64) {
        match self {
            Self::Once(number) => (Some(number), 0),
            Self::Since(at) => (None, at.saturating_sub(interval)),
        }
    }
}

/// A link or final URL may be (re)scheduled in this round: a discovered
/// URL, idle, not due, and not fetched in this round (?6: the `--once` run;
/// else ?7: fetched before this time).
const FRESH: &str = "origin = 'discovered' AND due_at IS NULL AND claimed_at IS NULL
     AND ((?6 IS NOT NULL AND once_round < ?6)
          OR (?6 IS NULL AND (fetched_at IS NULL OR fetched_at < ?7)))";

/// Adds a link (?1, host ?2) at depth ?3, found on ?4 (from a public
/// address: ?8), descending from seed ?5.
fn upsert_link() -> String {
    format!(
        "INSERT INTO urls (url, host, origin, depth, found_on, root, due_at, from_public)
         VALUES (?1, ?2, 'discovered', ?3, ?4, ?5, ?3, ?8)
         ON CONFLICT (url) DO UPDATE SET depth = excluded.depth, found_on = excluded.found_on,
             root = excluded.root, due_at = excluded.due_at, is_active = 1,
             from_public = excluded.from_public
         WHERE {FRESH}"
    )
}

/// [`upsert_link`] for a URL already known (its host is at `max_pages_per_host`).
fn update_link() -> String {
    format!(
        "UPDATE urls SET depth = ?3, found_on = ?4, root = ?5, due_at = ?3, is_active = 1,
             from_public = ?8
         WHERE url = ?1 AND host = ?2 AND {FRESH}"
    )
}

/// Records the final URL of a redirect (?1, host ?2) as fetched with the
/// page (?8 fetched, ?9 finished, ?10 status, ?11 title), so that it is
/// not fetched again in this round and its links are followed once.
fn upsert_final() -> String {
    format!(
        "INSERT INTO urls (url, host, origin, depth, found_on, root, fetched_at, finished_at,
             status, ok_at, title, once_round)
         VALUES (?1, ?2, 'discovered', ?3, ?4, ?5, ?8, ?9, ?10, ?8, ?11, COALESCE(?6, 0))
         ON CONFLICT (url) DO UPDATE SET fetched_at = excluded.fetched_at,
             finished_at = excluded.finished_at, status = excluded.status,
             ok_at = excluded.ok_at, title = excluded.title,
             once_round = excluded.once_round, due_at = NULL
         WHERE {FRESH}"
    )
}

/// Schedules the next round of each seed whose round is over: nothing
/// that descends from it is due or in flight. ?1 now, ?2 the interval, ?3
/// the jitter window.
pub const CLOSE_ROUNDS: &str = "UPDATE urls SET due_at = ?1 + ?2 + abs(random() % ?3)
     WHERE origin = 'seed' AND due_at IS NULL AND is_active = 1 AND claimed_at IS NULL
       AND fetched_at IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM urls AS pending WHERE pending.root = urls.id
                       AND (pending.due_at IS NOT NULL OR pending.claimed_at IS NOT NULL))";

/// What a batch changed besides the rows, applied once it is committed.
#[derive(Default)]
pub struct Effects {
    /// Fingerprints of links handled in their round.
    seen: Vec<u64>,
    /// URLs added to the crawl.
    pub discovered: u64,
    /// Links not added because their host has `max_pages_per_host` URLs.
    pub over_limit: u64,
    /// Notifications not queued because the outbox was full.
    pub refused_notices: u64,
    /// The outbox's depth after the batch, when it was counted.
    pub outbox_depth: Option<u64>,
}

impl SqliteFrontier {
    /// Adds the links of a just-finished `outcome` (page row `id`, root
    /// `root`, depth `depth`) within `transaction`.
    pub(super) fn add_links(
        &mut self,
        transaction: &Transaction<'_>,
        outcome: &Outcome,
        (id, root, depth): (i64, i64, i64),
        effects: &mut Effects,
    ) -> rusqlite::Result<()> {
        let Some(links) = outcome.links.as_ref().filter(|links| !links.is_empty()) else {
            return Ok(());
        };
        let page = Page {
            id,
            root,
            depth,
            round: self.round_of(transaction, root, outcome)?,
        };
        if let Some(final_url) = &outcome.final_url
            && !self.take_final(transaction, outcome, final_url, &page)?
        {
            return Ok(()); // that page was fetched in this round already: its links too
        }
        for link in links {
            let key = fingerprint(link) ^ page.round.key();
            if self.seen.contains(&key) {
                continue;
            }
            let Ok(url) = Url::parse(link) else {
                continue;
            };
            let host = url.host_str().unwrap_or_default();
            if self.add_link(
                transaction,
                (link, host),
                &page,
                outcome.is_from_public,
                effects,
            )? {
                self.seen.insert(key);
                effects.seen.push(key);
            }
        }
        Ok(())
    }

    /// The round the links of a page descending from seed `root` belong to.
    fn round_of(
        &self,
        transaction: &Transaction<'_>,
        root: i64,
        outcome: &Outcome,
    ) -> rusqlite::Result<Round> {
        if let Some(number) = self.round {
            return Ok(Round::Once(i64::try_from(number).unwrap_or(i64::MAX)));
        }
        let started = transaction
            .query_row("SELECT fetched_at FROM urls WHERE id = ?1", [root], |row| {
                row.get::<_, Option<i64>>(0)
            })
            .optional()?
            .flatten();
        Ok(Round::Since(
            started.unwrap_or_else(|| unix_ms(outcome.fetched_at)),
        ))
    }

    /// Adds one link found on `page`, or makes it due again in this round;
    /// `false` when its host is at `max_pages_per_host` and it is new (not
    /// handled: a later limit may let it in).
    fn add_link(
        &mut self,
        transaction: &Transaction<'_>,
        (link, host): (&str, &str),
        page: &Page,
        is_from_public: bool,
        effects: &mut Effects,
    ) -> rusqlite::Result<bool> {
        let interval = i64::try_from(self.interval.as_millis()).unwrap_or(i64::MAX);
        let (once, before) = page.round.params(interval);
        let link_params = params![
            link,
            host,
            page.depth + 1,
            page.id,
            page.root,
            once,
            before,
            is_from_public
        ];
        if !self.has_room(transaction, host)? {
            // A host at its limit gets no new URL; the ones it has may
            // still be due again in this round.
            let is_known = transaction
                .prepare_cached("SELECT id FROM urls WHERE url = ?1")?
                .query_row([link], |row| row.get::<_, i64>(0))
                .optional()?
                .is_some();
            if !is_known {
                effects.over_limit += 1;
                return Ok(false);
            }
            let changed = transaction
                .prepare_cached(&update_link())?
                .execute(link_params)?;
            effects.discovered += changed as u64;
            return Ok(true);
        }
        let last = transaction.last_insert_rowid();
        let changed = transaction
            .prepare_cached(&upsert_link())?
            .execute(link_params)?;
        if transaction.last_insert_rowid() != last {
            self.count_host(host);
        }
        effects.discovered += changed as u64;
        Ok(true)
    }

    /// Marks the final URL of a redirect fetched; `false` when it was
    /// fetched (or is being fetched) in this round already.
    fn take_final(
        &mut self,
        transaction: &Transaction<'_>,
        outcome: &Outcome,
        final_url: &str,
        page: &Page,
    ) -> rusqlite::Result<bool> {
        let Ok(url) = Url::parse(final_url) else {
            return Ok(false);
        };
        let interval = i64::try_from(self.interval.as_millis()).unwrap_or(i64::MAX);
        let (once, before) = page.round.params(interval);
        let title = outcome
            .page
            .as_ref()
            .and_then(|known| known.title.as_deref());
        let last = transaction.last_insert_rowid();
        let changed = transaction
            .prepare_cached(&upsert_final())?
            .execute(params![
                final_url,
                url.host_str().unwrap_or_default(),
                page.depth,
                page.id,
                page.root,
                once,
                before,
                unix_ms(outcome.fetched_at),
                unix_ms(outcome.finished_at),
                outcome.status,
                title,
            ])?;
        if transaction.last_insert_rowid() != last {
            self.count_host(url.host_str().unwrap_or_default());
        }
        Ok(changed > 0)
    }

    /// Whether `host` has fewer than `max_pages_per_host` URLs.
    fn has_room(&mut self, transaction: &Transaction<'_>, host: &str) -> rusqlite::Result<bool> {
        if self.host_counts.len() >= MAX_HOSTS {
            self.host_counts.clear();
        }
        let count = match self.host_counts.entry(host.to_owned()) {
            Entry::Occupied(entry) => *entry.get(),
            Entry::Vacant(entry) => {
                let count: i64 = transaction.query_row(
                    "SELECT COUNT(*) FROM urls WHERE host = ?1",
                    [host],
                    |row| row.get(0),
                )?;
                *entry.insert(u64::try_from(count).unwrap_or(0))
            }
        };
        Ok(count < self.max_pages_per_host)
    }

    fn count_host(&mut self, host: &str) {
        if let Some(count) = self.host_counts.get_mut(host) {
            *count += 1;
        }
    }

    /// Applies what a committed batch changed.
    pub(super) fn keep_effects(&mut self, effects: &Effects) {
        self.discovered += effects.discovered;
        self.over_limit += effects.over_limit;
        self.outbox_refused += effects.refused_notices;
        if effects.outbox_depth.is_some() {
            self.outbox_depth = effects.outbox_depth;
        }
        if self.seen.len() > MAX_SEEN {
            self.seen.clear();
        }
    }

    /// Forgets what a failed batch changed: it is written again whole.
    pub(super) fn drop_effects(&mut self, effects: &Effects) {
        for key in &effects.seen {
            self.seen.remove(key);
        }
        self.host_counts.clear();
    }
}

/// A 64-bit fingerprint of a link (fixed seed: the same in every batch).
fn fingerprint(link: &str) -> u64 {
    foldhash::fast::FixedState::with_seed(0x6372_776c).hash_one(link)
}
