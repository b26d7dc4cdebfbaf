//! Claims and commits: reading claims, and writing them with the results of
//! a batch in one transaction.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, SystemTime};

use rusqlite::{Connection, OptionalExtension, params};
use url::Url;

use super::{SqliteFrontier, links, open};
use crate::frontier::{
    Claim, Details, Known, Lineage, MAX_HISTORY, MAX_OUTBOX, Outcome, StoreError, TitleChange,
    encode_outlinks, next_due_after, unix_ms,
};
use crate::watch::Watch;

impl SqliteFrontier {
    /// Runs a claim query whose rows are (id, url, ok_at, title, etag,
    /// last_modified, depth, seed url, found-on url) as [`CLAIM_COLUMNS`] has them.
    pub(super) fn claim_rows(
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
            .query_map(params, ClaimRow::read)
            .map_err(|err| open::classify(&path, &err))?;
        let mut claims = Vec::new();
        for row in rows {
            let row = row.map_err(|err| open::classify(&path, &err))?;
            if let Some(claim) = row.into_claim(&path) {
                claims.push(claim);
            }
        }
        Ok(claims)
    }

    pub(super) fn write_batch(
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

    pub(super) fn write_in_transaction(
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
            let mut room = Room {
                depth: this.outbox_depth,
                refused: 0,
            };
            for outcome in outcomes {
                if let Some(row) = finish(transaction, outcome, interval, round, &mut room)? {
                    this.add_links(transaction, outcome, row, effects)?;
                }
            }
            effects.refused_notices = room.refused;
            effects.outbox_depth = room.depth;
            Ok(())
        })
    }

    /// Runs `work` in one transaction on the connection, committed when it succeeds.
    pub(super) fn in_transaction<T>(
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
                title_change: None,
                watch: None,
                notices: Vec::new(),
                rendered: false,
                details: None,
                anchors: None,
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
pub(super) fn finish(
    transaction: &rusqlite::Transaction<'_>,
    outcome: &Outcome,
    interval: Duration,
    round: Option<i64>,
    room: &mut Room,
) -> rusqlite::Result<Option<(i64, i64, i64)>> {
    let page = outcome.page.as_ref();
    let watch = outcome
        .watch
        .as_ref()
        .and_then(|watch| serde_json::to_string(watch).ok());
    // A seed whose links are followed is due again when its round is over.
    let opens_round = outcome.links.is_some() && !interval.is_zero();
    let due = next_due_after(outcome.finished_at, interval)
        .filter(|_| !opens_round)
        .map(unix_ms);
    let row = transaction
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
                watch,
                outcome.rendered,
                outcome.details.as_ref().map(Details::to_json),
            ],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .optional()?;
    if let (Some((id, _, _)), Some(change)) = (row, &outcome.title_change) {
        add_title_change(transaction, id, change)?;
    }
    if let Some((id, _, _)) = row {
        queue_notices(transaction, outcome, room)?;
        keep_outlinks(transaction, id, outcome)?;
    }
    Ok(row)
}

/// The outbox's depth during one commit (`None` until counted: once per
/// process, then kept up to date), and what it refused.
#[derive(Debug, Default)]
pub(super) struct Room {
    depth: Option<u64>,
    /// Notifications refused because the outbox was full.
    refused: u64,
}

/// Queues the outcome's notifications in the outbox (once per id), as
/// far as it has room.
fn queue_notices(
    transaction: &rusqlite::Transaction<'_>,
    outcome: &Outcome,
    room: &mut Room,
) -> rusqlite::Result<()> {
    if outcome.notices.is_empty() {
        return Ok(());
    }
    let mut depth = match room.depth {
        Some(depth) => depth,
        None => {
            let depth: i64 =
                transaction.query_row("SELECT COUNT(*) FROM outbox", [], |row| row.get(0))?;
            u64::try_from(depth).unwrap_or_default()
        }
    };
    let mut insert = transaction.prepare_cached(
        "INSERT OR IGNORE INTO outbox (id, target, notice, created_at, due_at) VALUES (?1, ?2, ?3, ?4, ?4)",
    )?;
    let at = unix_ms(outcome.finished_at);
    for notice in &outcome.notices {
        if depth >= MAX_OUTBOX {
            room.refused += 1;
            continue;
        }
        let json = serde_json::to_string(notice)
            .map_err(|err| rusqlite::Error::ToSqlConversionFailure(err.into()))?;
        depth += insert.execute(params![notice.id, notice.target, json, at])? as u64;
    }
    room.depth = Some(depth);
    Ok(())
}

/// Keeps the links the page of row `id` followed, with their anchor
/// texts, when the link graph is kept; a failed fetch takes its links away
/// (the page no longer links anywhere we know of).
fn keep_outlinks(
    transaction: &rusqlite::Transaction<'_>,
    id: i64,
    outcome: &Outcome,
) -> rusqlite::Result<()> {
    match (&outcome.links, &outcome.anchors) {
        (Some(links), Some(anchors)) => {
            let text = encode_outlinks(&outcome.url, links, anchors);
            transaction
                .prepare_cached("INSERT OR REPLACE INTO outlinks (url_id, links) VALUES (?1, ?2)")?
                .execute(params![id, text])?;
        }
        _ if outcome.error_kind.is_some() => {
            transaction
                .prepare_cached("DELETE FROM outlinks WHERE url_id = ?1")?
                .execute([id])?;
        }
        _ => {}
    }
    Ok(())
}

/// Adds a title change to the history of the URL of row `id`, keeping its
/// newest [`MAX_HISTORY`].
fn add_title_change(
    transaction: &rusqlite::Transaction<'_>,
    id: i64,
    change: &TitleChange,
) -> rusqlite::Result<()> {
    transaction
        .prepare_cached(
            "INSERT INTO title_changes (url_id, at, from_title, to_title) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![id, unix_ms(change.at), change.from, change.to])?;
    transaction
        .prepare_cached(
            "DELETE FROM title_changes WHERE url_id = ?1 AND rowid NOT IN
             (SELECT rowid FROM title_changes WHERE url_id = ?1 ORDER BY at DESC, rowid DESC LIMIT ?2)",
        )?
        .execute(params![id, MAX_HISTORY])?;
    Ok(())
}

/// Finishes one URL: its result, its next due time (?10; a discovered URL
/// has none: it is due again when a page links to it in a later round).
/// Returns the row's id, the seed it descends from, and its depth.
pub(super) const FINISH: &str =
    "UPDATE urls SET claimed_at = NULL, fetched_at = ?2, finished_at = ?3,
         status = ?4, error_kind = ?5,
         ok_at = CASE WHEN ?6 THEN ?2 ELSE ok_at END,
         title = CASE WHEN ?6 THEN ?7 ELSE title END,
         etag = CASE WHEN ?6 THEN ?8 ELSE etag END,
         last_modified = CASE WHEN ?6 THEN ?9 ELSE last_modified END,
         due_at = CASE WHEN is_active AND origin = 'seed' THEN ?10 ELSE NULL END,
         once_round = MAX(once_round, COALESCE(?11, 0)),
         watch = COALESCE(?12, watch),
         rendered = ?13,
         details = COALESCE(?14, details)
     WHERE url = ?1
     RETURNING id, CASE WHEN origin = 'seed' THEN id ELSE COALESCE(root, id) END,
         CASE WHEN origin = 'seed' THEN 0 ELSE depth END";

/// The columns of a claim, for [`SqliteFrontier::claim_rows`].
pub(super) const CLAIM_COLUMNS: &str =
    "u.id, u.url, u.ok_at, u.title, u.etag, u.last_modified, u.depth,
     CASE WHEN u.origin = 'discovered' THEN s.url END, f.url, u.from_public, u.watch
     FROM urls AS u LEFT JOIN urls AS s ON s.id = u.root LEFT JOIN urls AS f ON f.id = u.found_on";

impl SqliteFrontier {
    /// Keeps the claims of `rows` not claimed already, up to `limit`.
    pub(super) fn take_claims(
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

/// A claim as its row holds it.
struct ClaimRow {
    id: i64,
    url: String,
    known: Option<Known>,
    /// Depth, seed, found-on and whether that page was public, for a discovered URL.
    lineage: Option<(u32, String, String, bool)>,
    watch: Option<Watch>,
}

impl ClaimRow {
    /// Reads a row of [`CLAIM_COLUMNS`].
    fn read(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        let known = known_at(row, 2)?;
        let lineage = match (row.get::<_, Option<String>>(7)?, row.get(8)?) {
            (Some(seed), Some(found_on)) => Some((row.get(6)?, seed, found_on, row.get(9)?)),
            _ => None,
        };
        Ok(Self {
            id: row.get(0)?,
            url: row.get(1)?,
            known,
            lineage,
            watch: watch_at(row, 10)?,
        })
    }

    /// The claim, with its row id; `None` (logged) when its URL no longer parses.
    fn into_claim(self, path: &Path) -> Option<(i64, Claim)> {
        let lineage = self
            .lineage
            .and_then(|(depth, seed, found_on, is_from_public)| {
                Some(Lineage {
                    depth,
                    seed: Url::parse(&seed).ok()?,
                    found_on,
                    is_from_public,
                })
            });
        match Url::parse(&self.url) {
            Ok(url) => Some((
                self.id,
                Claim {
                    url,
                    known: self.known,
                    lineage,
                    watch: self.watch,
                },
            )),
            Err(err) => {
                log::error!(
                    "state file `{}`: stored URL `{}` does not parse ({err}); skipped",
                    path.display(),
                    self.url
                );
                None
            }
        }
    }
}

/// What is known of a URL from the columns of its row from `first` on: the
/// time of its last successful fetch (`NULL`: none), its title, `ETag` and
/// `Last-Modified`.
pub(super) fn known_at(row: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<Option<Known>> {
    if row.get::<_, Option<i64>>(first)?.is_none() {
        return Ok(None);
    }
    Ok(Some(Known {
        title: row.get(first + 1)?,
        etag: row.get(first + 2)?,
        last_modified: row.get(first + 3)?,
    }))
}

/// The watch state in column `index`; a value that does not parse (written
/// by another version) is dropped: the URL is watched afresh.
pub(super) fn watch_at(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Option<Watch>> {
    let text: Option<String> = row.get(index)?;
    Ok(text.and_then(|text| serde_json::from_str(&text).ok()))
}
