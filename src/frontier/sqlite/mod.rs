//! The embedded frontier: one SQLite file (WAL mode, `synchronous = NORMAL`:
//! a SIGKILL loses no committed transaction and never corrupts the file).
//!
//! Claims are read at once but written with the next commit, in the same
//! transaction as the results, so a busy crawl costs one transaction per
//! commit window and a full disk never stops claiming: until the write
//! succeeds, the claims live in memory (`unwritten`). After a crash, claims
//! that were written are released at the next start.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rusqlite::{Connection, OptionalExtension, params};
use url::Url;

use crate::frontier::{
    Claim, Known, Lineage, Membership, Outcome, Reschedule, Round, Rounds, Schedule, SeedChanges,
    Seeds, Status, StoreError, Summary, from_unix_ms, next_due_after, unix_ms,
};

mod error;
mod links;
mod listing;
mod open;
mod status;

pub use error::SqliteError;

pub use open::{Import, SCHEMA_VERSION, imported_name, wal_path};

/// The embedded frontier on a SQLite file.
pub struct SqliteFrontier {
    path: PathBuf,
    connection: Connection,
    /// Held while a daemon uses the file, so a second one cannot.
    lock: Option<std::fs::File>,
    interval: Duration,
    /// Claimed ids not yet written, with when they were claimed.
    unwritten: HashMap<i64, (i64, Box<str>)>,
    /// The `--once` run in progress, if any.
    round: Option<u64>,
    /// Seeds listed when the current listing began.
    listed_before: usize,
    /// `crawl.max_pages_per_host`.
    max_pages_per_host: u64,
    /// URLs per host, for the hosts links were found to.
    host_counts: HashMap<String, u64>,
    /// Links already handled in their round (fingerprints with the round's).
    seen: HashSet<u64, std::hash::BuildHasherDefault<crate::urls::IdentityHasher>>,
    /// URLs added by links so far.
    discovered: u64,
    /// Links not added because of `max_pages_per_host` so far.
    over_limit: u64,
    /// A seed's round was opened by this process (its links were followed):
    /// only then can rounds end.
    has_open_rounds: bool,
}

const META_GENERATION: &str = "seed_generation";
const META_ROUND: &str = "once_round";
const META_ROUND_DONE: &str = "once_round_done";

impl SqliteFrontier {
    /// Opens (or creates) the database at `path`; `legacy` is a JSON state
    /// file of an earlier version to import when the database is new.
    /// Returns the store and the import, if there was one.
    ///
    /// # Errors
    /// The file is not ours, damaged, newer, or cannot be created.
    pub fn open(
        path: &Path,
        legacy: Option<&Path>,
        interval: Duration,
    ) -> Result<(Self, Option<Import>), StoreError> {
        let lock = open::lock(path)?;
        let (connection, imported) = open::open_or_create(path, legacy, interval)?;
        let mut store = Self::prepare(path, connection, interval)?;
        store.lock = Some(lock);
        Ok((store, imported))
    }

    /// A private database in a temporary file that SQLite deletes when it
    /// is closed: the frontier of a `--once` run without a `state_file`.
    ///
    /// # Errors
    /// The temporary file cannot be created.
    pub fn temporary(interval: Duration) -> Result<Self, StoreError> {
        let path = Path::new("(temporary crawl state)");
        let connection = open::create_temporary(path)?;
        Ok(Self::with_connection(path, connection, interval))
    }

    /// Opens an existing database to read it (`crawler status`): checks that
    /// it is ours, but does not read it whole, so a status never competes
    /// with the running daemon for the disk.
    ///
    /// # Errors
    /// The file is missing, not ours, damaged or newer.
    pub fn open_existing(path: &Path) -> Result<Self, StoreError> {
        let connection = open::open_existing(path, false)?;
        connection
            .pragma_update(None, "query_only", true)
            .map_err(|err| open::classify(path, &err))?;
        Ok(Self::with_connection(path, connection, Duration::ZERO))
    }

    /// Checks that `path` is a sound database of ours, without changing it.
    ///
    /// # Errors
    /// As [`SqliteFrontier::open_existing`].
    pub fn validate(path: &Path) -> Result<(), StoreError> {
        if open::is_legacy_json(path) {
            return Ok(()); // imported at the next start
        }
        open::open_existing(path, true).map(drop)
    }

    fn prepare(
        path: &Path,
        connection: Connection,
        interval: Duration,
    ) -> Result<Self, StoreError> {
        let fail = |err: rusqlite::Error| open::classify(path, &err);
        let mut connection = connection;
        open::upgrade(path, &mut connection)?;
        let mode: String = connection
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .map_err(fail)?;
        if !mode.eq_ignore_ascii_case("wal") {
            log::warn!(
                "state file `{}`: journal mode is {mode}, not WAL",
                path.display()
            );
        }
        connection
            .execute_batch("PRAGMA synchronous = NORMAL; PRAGMA cache_size = -8192;")
            .map_err(fail)?;
        Ok(Self::with_connection(path, connection, interval))
    }

    fn with_connection(path: &Path, connection: Connection, interval: Duration) -> Self {
        Self {
            path: path.to_owned(),
            connection,
            lock: None,
            interval,
            unwritten: HashMap::new(),
            round: None,
            listed_before: 0,
            max_pages_per_host: u64::MAX,
            host_counts: HashMap::new(),
            seen: HashSet::default(),
            discovered: 0,
            over_limit: 0,
            has_open_rounds: false,
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn fail(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        |err| open::classify(&self.path, &err)
    }

    fn meta(&self, key: &str) -> Result<Option<i64>, StoreError> {
        self.connection
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |row| {
                row.get(0)
            })
            .optional()
            .map_err(self.fail())
    }

    fn set_meta(&self, key: &str, value: i64) -> Result<(), StoreError> {
        self.connection
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
            .map(drop)
            .map_err(self.fail())
    }

    /// How many seeds are listed now.
    fn active_seeds(&self) -> Result<usize, StoreError> {
        let count = self.count(
            "SELECT COUNT(*) FROM urls WHERE origin = 'seed' AND is_active = 1",
            &[],
        )?;
        Ok(usize::try_from(count).unwrap_or(usize::MAX))
    }

    /// The single integer a `SELECT COUNT(*) …` answers.
    fn count(&self, sql: &str, params: &[&dyn rusqlite::ToSql]) -> Result<u64, StoreError> {
        let value: i64 = self
            .connection
            .query_row(sql, params, |row| row.get(0))
            .map_err(self.fail())?;
        Ok(u64::try_from(value).unwrap_or(0))
    }

    /// Runs a claim query whose rows are (id, url, ok_at, title, etag,
    /// last_modified, depth, seed url, found-on url) as [`CLAIM_COLUMNS`] has them.
    fn claim_rows(
        &mut self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<(i64, Claim)>, StoreError> {
        let path = self.path.clone();
        let mut statement = self
            .connection
            .prepare_cached(sql)
            .map_err(|err| open::classify(&path, &err))?;
        let rows = statement
            .query_map(params, |row| {
                let known = row
                    .get::<_, Option<i64>>(2)?
                    .map(|_| -> rusqlite::Result<Known> {
                        Ok(Known {
                            title: row.get(3)?,
                            etag: row.get(4)?,
                            last_modified: row.get(5)?,
                        })
                    });
                let lineage = match (row.get::<_, Option<String>>(7)?, row.get(8)?) {
                    (Some(seed), Some(found_on)) => Some((
                        row.get::<_, u32>(6)?,
                        seed,
                        found_on,
                        row.get::<_, bool>(9)?,
                    )),
                    _ => None,
                };
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    known.transpose()?,
                    lineage,
                ))
            })
            .map_err(|err| open::classify(&path, &err))?;
        let mut claims = Vec::new();
        for row in rows {
            let (id, text, known, lineage) = row.map_err(|err| open::classify(&path, &err))?;
            let lineage = lineage.and_then(|(depth, seed, found_on, is_from_public)| {
                Some(Lineage {
                    depth,
                    seed: Url::parse(&seed).ok()?,
                    found_on,
                    is_from_public,
                })
            });
            match Url::parse(&text) {
                Ok(url) => claims.push((
                    id,
                    Claim {
                        url,
                        known,
                        lineage,
                    },
                )),
                Err(err) => log::error!(
                    "state file `{}`: stored URL `{text}` does not parse ({err}); skipped",
                    path.display()
                ),
            }
        }
        Ok(claims)
    }

    fn write_batch(
        &mut self,
        outcomes: &[Outcome],
        effects: &mut links::Effects,
    ) -> rusqlite::Result<()> {
        let interval = self.interval;
        let round = self
            .round
            .map(|number| i64::try_from(number).unwrap_or(i64::MAX));
        let unwritten = std::mem::take(&mut self.unwritten);
        let written = self.write_in_transaction(outcomes, &unwritten, interval, round, effects);
        if written.is_err() {
            self.unwritten = unwritten;
        }
        written
    }

    fn write_in_transaction(
        &mut self,
        outcomes: &[Outcome],
        unwritten: &HashMap<i64, (i64, Box<str>)>,
        interval: Duration,
        round: Option<i64>,
        effects: &mut links::Effects,
    ) -> rusqlite::Result<()> {
        self.in_transaction(|this, transaction| {
            {
                let mut claim = transaction.prepare_cached(
                    "UPDATE urls SET claimed_at = ?2, due_at = NULL WHERE id = ?1",
                )?;
                // A claim whose result is in this batch needs no write of its own.
                let finished: HashSet<&str> = outcomes
                    .iter()
                    .map(|outcome| outcome.url.as_str())
                    .collect();
                for (id, (at, url)) in unwritten {
                    if !finished.contains(&**url) {
                        claim.execute(params![id, at])?;
                    }
                }
            }
            for outcome in outcomes {
                if let Some(row) = finish(transaction, outcome, interval, round)? {
                    this.add_links(transaction, outcome, row, effects)?;
                }
            }
            Ok(())
        })
    }

    /// Runs `work` in one transaction on the connection, committed when it succeeds.
    fn in_transaction<T>(
        &mut self,
        work: impl FnOnce(&mut Self, &rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        // The connection leaves `self` for the transaction, so `work` may use the rest of it.
        let mut connection = std::mem::replace(&mut self.connection, Connection::open_in_memory()?);
        let result = (|| {
            let transaction = connection.transaction()?;
            let value = work(self, &transaction)?;
            transaction.commit()?;
            Ok(value)
        })();
        self.connection = connection;
        result
    }

    /// Adds the entries of `sitemap`, found for `seed`, as pages the seed links to.
    pub(super) fn add_sitemap_entries(
        &mut self,
        seed: &Url,
        sitemap: &str,
        urls: &[String],
        is_from_public: bool,
    ) -> rusqlite::Result<u64> {
        let mut effects = links::Effects::default();
        let now = SystemTime::now();
        let added = self.in_transaction(|this, transaction| {
            let Some(seed_id) = transaction
                .query_row(
                    "SELECT id FROM urls WHERE url = ?1",
                    [seed.as_str()],
                    |row| row.get::<_, i64>(0),
                )
                .optional()?
            else {
                return Ok(0);
            };
            let host = Url::parse(sitemap)
                .ok()
                .and_then(|url| url.host_str().map(str::to_owned))
                .unwrap_or_default();
            let sitemap_id: i64 = transaction.query_row(
                "INSERT INTO urls (url, host, origin, is_active) VALUES (?1, ?2, 'sitemap', 0)
                 ON CONFLICT (url) DO UPDATE SET url = url RETURNING id",
                params![sitemap, host],
                |row| row.get(0),
            )?;
            let outcome = Outcome {
                url: sitemap.to_owned(),
                fetched_at: now,
                finished_at: now,
                status: None,
                error_kind: None,
                page: None,
                final_url: None,
                links: Some(urls.to_vec()),
                is_from_public,
            };
            this.add_links(
                transaction,
                &outcome,
                (sitemap_id, seed_id, 0),
                &mut effects,
            )?;
            Ok(effects.discovered)
        });
        match &added {
            Ok(_) => self.keep_effects(&effects),
            Err(_) => self.drop_effects(&effects),
        }
        added
    }
}

/// Writes one URL's result; its row's (id, seed, depth) when it is known.
fn finish(
    transaction: &rusqlite::Transaction<'_>,
    outcome: &Outcome,
    interval: Duration,
    round: Option<i64>,
) -> rusqlite::Result<Option<(i64, i64, i64)>> {
    let page = outcome.page.as_ref();
    // A seed whose links are followed is due again when its round is over.
    let opens_round = outcome.links.is_some() && !interval.is_zero();
    let due = next_due_after(outcome.finished_at, interval)
        .filter(|_| !opens_round)
        .map(unix_ms);
    transaction
        .prepare_cached(FINISH)?
        .query_row(
            params![
                outcome.url,
                unix_ms(outcome.fetched_at),
                unix_ms(outcome.finished_at),
                outcome.status,
                outcome.error_kind,
                page.is_some(),
                page.and_then(|known| known.title.as_deref()),
                page.and_then(|known| known.etag.as_deref()),
                page.and_then(|known| known.last_modified.as_deref()),
                due,
                round,
            ],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .optional()
}

/// Finishes one URL: its result, its next due time (?10; a discovered URL
/// has none: it is due again when a page links to it in a later round).
/// Returns the row's id, the seed it descends from, and its depth.
const FINISH: &str = "UPDATE urls SET claimed_at = NULL, fetched_at = ?2, finished_at = ?3,
         status = ?4, error_kind = ?5,
         ok_at = CASE WHEN ?6 THEN ?2 ELSE ok_at END,
         title = CASE WHEN ?6 THEN ?7 ELSE title END,
         etag = CASE WHEN ?6 THEN ?8 ELSE etag END,
         last_modified = CASE WHEN ?6 THEN ?9 ELSE last_modified END,
         due_at = CASE WHEN is_active AND origin = 'seed' THEN ?10 ELSE NULL END,
         once_round = MAX(once_round, COALESCE(?11, 0))
     WHERE url = ?1
     RETURNING id, CASE WHEN origin = 'seed' THEN id ELSE COALESCE(root, id) END,
         CASE WHEN origin = 'seed' THEN 0 ELSE depth END";

/// The columns of a claim, for [`SqliteFrontier::claim_rows`].
const CLAIM_COLUMNS: &str = "u.id, u.url, u.ok_at, u.title, u.etag, u.last_modified, u.depth,
     CASE WHEN u.origin = 'discovered' THEN s.url END, f.url, u.from_public
     FROM urls AS u LEFT JOIN urls AS s ON s.id = u.root LEFT JOIN urls AS f ON f.id = u.found_on";

impl SqliteFrontier {
    /// Keeps the claims of `rows` not claimed already, up to `limit`.
    fn take_claims(
        &mut self,
        rows: Vec<(i64, Claim)>,
        now: SystemTime,
        limit: usize,
    ) -> Vec<Claim> {
        let at = unix_ms(now);
        let mut claims = Vec::with_capacity(limit.min(rows.len()));
        for (id, claim) in rows {
            if claims.len() == limit {
                break;
            }
            if let std::collections::hash_map::Entry::Vacant(entry) = self.unwritten.entry(id) {
                entry.insert((at, claim.url.as_str().into()));
                claims.push(claim);
            }
        }
        claims
    }
}

impl Schedule for SqliteFrontier {
    fn set_interval(&mut self, interval: Duration) {
        self.interval = interval;
    }

    fn set_max_pages_per_host(&mut self, limit: u64) {
        if limit != self.max_pages_per_host {
            self.host_counts.clear();
            self.seen.clear();
        }
        self.max_pages_per_host = limit;
    }

    fn claim_due(&mut self, now: SystemTime, limit: usize) -> Result<Vec<Claim>, StoreError> {
        // Rows claimed but not yet written still look due: ask for that many more.
        let asked = i64::try_from(limit + self.unwritten.len()).unwrap_or(i64::MAX);
        let rows = self.claim_rows(
            &format!("SELECT {CLAIM_COLUMNS} WHERE u.due_at <= ?1 ORDER BY u.due_at LIMIT ?2"),
            params![unix_ms(now), asked],
        )?;
        Ok(self.take_claims(rows, now, limit))
    }

    fn next_due(&mut self) -> Result<Option<SystemTime>, StoreError> {
        let skip = i64::try_from(self.unwritten.len()).unwrap_or(i64::MAX);
        let due: Option<i64> = self
            .connection
            .query_row(
                "SELECT due_at FROM urls WHERE due_at IS NOT NULL ORDER BY due_at LIMIT 1 OFFSET ?1",
                [skip],
                |row| row.get(0),
            )
            .optional()
            .map_err(self.fail())?;
        Ok(due.map(from_unix_ms))
    }

    fn commit(&mut self, outcomes: &[Outcome]) -> Result<(), StoreError> {
        let mut effects = links::Effects::default();
        match self.write_batch(outcomes, &mut effects) {
            Ok(()) => {
                self.keep_effects(&effects);
                self.has_open_rounds |= outcomes.iter().any(|outcome| outcome.links.is_some());
                Ok(())
            }
            Err(err) => {
                self.drop_effects(&effects);
                Err(open::classify(&self.path, &err))
            }
        }
    }

    fn has_unwritten_claims(&self) -> bool {
        !self.unwritten.is_empty()
    }

    fn reschedule(&mut self, how: Reschedule, now: SystemTime) -> Result<(), StoreError> {
        let now = unix_ms(now);
        let interval = i64::try_from(self.interval.as_millis()).unwrap_or(i64::MAX);
        let spread = i64::try_from(jitter_bound(self.interval).as_millis())
            .unwrap_or(1)
            .max(1);
        let (sql, params): (&str, Vec<i64>) = match how {
            Reschedule::Start if interval == 0 => (ALL_DUE, vec![now]),
            Reschedule::AllDue => (ALL_DUE, vec![now]),
            Reschedule::Start => (FILL_DUE, vec![now, interval]),
            Reschedule::Interval => (PULL_IN, vec![now, interval, spread]),
        };
        self.connection
            .execute(sql, rusqlite::params_from_iter(params))
            .map_err(self.fail())?;
        if how == Reschedule::Interval && interval > 0 {
            self.connection
                .execute(FILL_DUE, params![now, interval])
                .map_err(self.fail())?;
        }
        Ok(())
    }

    fn release_claims(&mut self, now: SystemTime) -> Result<usize, StoreError> {
        self.unwritten.clear();
        self.connection
            .execute(
                // A discovered URL is due at its depth, as when it was found.
                "UPDATE urls SET claimed_at = NULL,
                     due_at = CASE WHEN NOT is_active THEN NULL
                                   WHEN origin = 'discovered' THEN COALESCE(due_at, depth)
                                   ELSE COALESCE(due_at, ?1) END
                 WHERE claimed_at IS NOT NULL",
                [unix_ms(now)],
            )
            .map_err(self.fail())
    }

    fn drop_deeper(&mut self, max_depth: u32) -> Result<usize, StoreError> {
        self.connection
            .execute(
                "UPDATE urls SET due_at = NULL
                 WHERE due_at <= ?1 AND origin = 'discovered' AND depth > ?2
                   AND claimed_at IS NULL",
                params![links::DISCOVERED_DUE_MAX, max_depth],
            )
            .map_err(self.fail())
    }

    fn discovered(&self) -> u64 {
        self.discovered
    }

    fn over_limit(&self) -> u64 {
        self.over_limit
    }
}

impl Seeds for SqliteFrontier {
    fn begin_seeds(&mut self) -> Result<u64, StoreError> {
        self.listed_before = self.active_seeds()?;
        let generation = self.meta(META_GENERATION)?.unwrap_or(0) + 1;
        self.set_meta(META_GENERATION, generation)?;
        Ok(u64::try_from(generation).unwrap_or(0))
    }

    fn add_seeds(
        &mut self,
        urls: &[Url],
        generation: u64,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        self.list(urls, generation, now)
    }

    fn end_seeds(&mut self, generation: u64) -> Result<SeedChanges, StoreError> {
        let generation = i64::try_from(generation).unwrap_or(i64::MAX);
        let listed_after = self.active_seeds()?;
        let removed = self
            .connection
            .execute(
                "UPDATE urls SET is_active = 0, due_at = NULL
                 WHERE origin = 'seed' AND is_active = 1 AND seed_generation < ?1",
                [generation],
            )
            .map_err(self.fail())?;
        if removed > 0 {
            // What a removed seed's round still had to fetch is dropped with it.
            let dropped = self
                .connection
                .execute(
                    "UPDATE urls SET due_at = NULL
                     WHERE origin = 'discovered' AND claimed_at IS NULL AND due_at IS NOT NULL
                       AND root IN (SELECT id FROM urls WHERE origin = 'seed' AND is_active = 0)",
                    [],
                )
                .map_err(self.fail())?;
            if dropped > 0 {
                log::info!("{dropped} discovered URLs of removed seeds are no longer due");
            }
        }
        Ok(SeedChanges {
            added: listed_after.saturating_sub(self.listed_before),
            removed,
        })
    }

    fn add_sitemap(
        &mut self,
        seed: &Url,
        sitemap: &str,
        urls: &[String],
        is_from_public: bool,
    ) -> Result<u64, StoreError> {
        self.add_sitemap_entries(seed, sitemap, urls, is_from_public)
            .map_err(|err| open::classify(&self.path, &err))
    }
}

impl Rounds for SqliteFrontier {
    fn begin_round(&mut self) -> Result<Round, StoreError> {
        let last = self.meta(META_ROUND)?.unwrap_or(0);
        let is_done = self.meta(META_ROUND_DONE)?.unwrap_or(1) != 0;
        let (number, is_resumed) = if last == 0 || is_done {
            (last + 1, false)
        } else {
            (last, true)
        };
        self.set_meta(META_ROUND, number)?;
        self.set_meta(META_ROUND_DONE, 0)?;
        let recorded = self.count(
            "SELECT COUNT(*) FROM urls WHERE origin = 'seed' AND is_active = 1 AND once_round >= ?1",
            &[&number],
        )?;
        self.round = Some(u64::try_from(number).unwrap_or(0));
        Ok(Round {
            number: u64::try_from(number).unwrap_or(0),
            is_resumed,
            recorded,
        })
    }

    fn list_and_claim(
        &mut self,
        urls: &[Url],
        generation: u64,
        now: SystemTime,
    ) -> Result<Vec<Claim>, StoreError> {
        self.list_claiming(urls, generation, now)
    }

    fn claim_discovered(
        &mut self,
        now: SystemTime,
        limit: usize,
    ) -> Result<Vec<Claim>, StoreError> {
        let asked = i64::try_from(limit + self.unwritten.len()).unwrap_or(i64::MAX);
        let rows = self.claim_rows(
            &format!(
                "SELECT {CLAIM_COLUMNS} WHERE u.due_at <= ?1 AND u.origin = 'discovered'
                 ORDER BY u.due_at LIMIT ?2"
            ),
            params![links::DISCOVERED_DUE_MAX, asked],
        )?;
        Ok(self.take_claims(rows, now, limit))
    }

    fn end_round(&mut self) -> Result<(), StoreError> {
        self.set_meta(META_ROUND_DONE, 1)?;
        self.round = None;
        Ok(())
    }

    fn close_rounds(&mut self, now: SystemTime) -> Result<usize, StoreError> {
        if self.interval.is_zero() || self.round.is_some() || !self.has_open_rounds {
            return Ok(0);
        }
        let interval = i64::try_from(self.interval.as_millis()).unwrap_or(i64::MAX);
        let spread = i64::try_from(jitter_bound(self.interval).as_millis())
            .unwrap_or(1)
            .max(1);
        self.connection
            .execute(links::CLOSE_ROUNDS, params![unix_ms(now), interval, spread])
            .map_err(self.fail())
    }
}

impl Membership for SqliteFrontier {}

impl Summary for SqliteFrontier {
    fn location(&self) -> PathBuf {
        self.path.clone()
    }

    fn status(&mut self, now: SystemTime) -> Result<Status, StoreError> {
        status::of(self, now)
    }
}

/// Every idle listed seed due now (discovered URLs follow from their seeds' rounds).
const ALL_DUE: &str =
    "UPDATE urls SET due_at = ?1 WHERE is_active = 1 AND origin = 'seed' AND claimed_at IS NULL";
/// Idle listed seeds without a due time: one interval after their last fetch, or now.
const FILL_DUE: &str = "UPDATE urls SET due_at = MAX(?1, COALESCE(finished_at + ?2, ?1))
     WHERE is_active = 1 AND origin = 'seed' AND claimed_at IS NULL AND due_at IS NULL";
/// URLs due later than one new interval: soon, spread over the jitter window.
const PULL_IN: &str = "UPDATE urls SET due_at = ?1 + abs(random() % ?3)
     WHERE due_at > ?1 + ?2 AND ?2 > 0";

/// The largest jitter for `interval`, as [`crate::frontier::jitter`] draws it.
fn jitter_bound(interval: Duration) -> Duration {
    (interval / 10).min(Duration::from_secs(300))
}

#[cfg(test)]
mod tests;
