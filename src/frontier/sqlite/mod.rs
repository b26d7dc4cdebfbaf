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
    MAX_HISTORY, Membership, PageRow, Status, StoreError, Summary, TitleChange, from_unix_ms,
    unix_ms,
};

mod batch;
mod checks;
mod error;
mod legacy;
mod links;
mod listing;
mod open;
mod outbox;
mod rounds;
mod schedule;
mod schema;
mod status;

pub use error::SqliteError;

pub use open::{Import, imported_name, lock_path};
pub use schema::{SCHEMA_VERSION, wal_path};

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
    /// Notifications refused because the outbox was full, so far.
    outbox_refused: u64,
    /// Notifications in the outbox, once counted (this process is its only writer).
    outbox_depth: Option<u64>,
    /// A seed's round was opened by this process (its links were followed):
    /// only then can rounds end.
    has_open_rounds: bool,
}

impl Drop for SqliteFrontier {
    /// Marks the file closed cleanly when this store crawled with it (it
    /// holds the lock), so the next start need not check it whole. A
    /// process that is killed never gets here, and leaves no mark.
    fn drop(&mut self) {
        if self.lock.is_none() {
            return;
        }
        if let Err(err) = self.set_meta(open::META_CLOSED_CLEANLY, 1) {
            log::warn!("{err}; the next start checks the state file whole");
        }
    }
}

const META_GENERATION: &str = "seed_generation";
const META_SEEDS_DIGEST: &str = "seeds_digest";
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
            outbox_refused: 0,
            outbox_depth: None,
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

    fn forget_meta(&self, key: &str) -> Result<(), StoreError> {
        self.connection
            .execute("DELETE FROM meta WHERE key = ?1", [key])
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
}

impl Membership for SqliteFrontier {}

impl Summary for SqliteFrontier {
    fn location(&self) -> PathBuf {
        self.path.clone()
    }

    fn history(&mut self, url: &Url) -> Result<Vec<TitleChange>, StoreError> {
        let path = self.path.clone();
        let fail = |err: rusqlite::Error| open::classify(&path, &err);
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT c.at, c.from_title, c.to_title FROM title_changes AS c
                 JOIN urls AS u ON u.id = c.url_id WHERE u.url = ?1
                 ORDER BY c.at DESC, c.rowid DESC LIMIT ?2",
            )
            .map_err(fail)?;
        let rows = statement
            .query_map(rusqlite::params![url.as_str(), MAX_HISTORY], |row| {
                Ok(TitleChange {
                    at: from_unix_ms(row.get(0)?),
                    from: row.get(1)?,
                    to: row.get(2)?,
                })
            })
            .map_err(fail)?;
        rows.collect::<Result<_, _>>().map_err(fail)
    }

    fn each_page(&mut self, visit: &mut dyn FnMut(PageRow)) -> Result<(), StoreError> {
        status::each_page(self, visit)
    }

    fn each_outlinks(&mut self, visit: &mut dyn FnMut(&str, &[u8])) -> Result<(), StoreError> {
        status::each_outlinks(self, visit)
    }

    fn each_title_change(
        &mut self,
        since: SystemTime,
        visit: &mut dyn FnMut(&str, TitleChange),
    ) -> Result<(), StoreError> {
        status::each_title_change(self, unix_ms(since), visit)
    }

    fn status(&mut self, now: SystemTime) -> Result<Status, StoreError> {
        status::of(self, now)
    }
}

#[cfg(test)]
mod tests;
