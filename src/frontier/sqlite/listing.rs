//! Listing seeds in the database: one upsert per seed that touches no
//! indexed column, and for `--once` runs the same upsert returning what a
//! claim needs.

use std::time::SystemTime;

use rusqlite::params;
use url::Url;

use super::batch::{known_at, watch_at};
use super::{SqliteFrontier, open};
#[cfg(doc)]
use crate::frontier::Frontier;
use crate::frontier::{Claim, Known, StoreError, unix_ms};
use crate::watch::Watch;

impl SqliteFrontier {
    /// Lists `urls` as seeds of `generation` ([`Frontier::add_seeds`]).
    pub(super) fn list(
        &mut self,
        urls: &[Url],
        generation: u64,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        let path = self.path.clone();
        let fail = |err: rusqlite::Error| open::classify(&path, &err);
        let generation = i64::try_from(generation).unwrap_or(i64::MAX);
        let now = unix_ms(now);
        let transaction = self.connection.transaction().map_err(fail)?;
        {
            let mut upsert = transaction.prepare_cached(UPSERT_SEED).map_err(fail)?;
            let mut relist = transaction.prepare_cached(RELIST_SEED).map_err(fail)?;
            for url in urls {
                let host = url.host_str().unwrap_or_default();
                let params = params![url.as_str(), host, generation, now];
                if upsert.execute(params).map_err(fail)? == 0 {
                    relist.execute(params).map_err(fail)?;
                }
            }
        }
        transaction.commit().map_err(fail)
    }

    /// Lists `urls` and claims those without a record in this run
    /// ([`Frontier::list_and_claim`]).
    pub(super) fn list_claiming(
        &mut self,
        urls: &[Url],
        generation: u64,
        now: SystemTime,
    ) -> Result<Vec<Claim>, StoreError> {
        let Some(round) = self.round else {
            return Ok(Vec::new());
        };
        let round = i64::try_from(round).unwrap_or(i64::MAX);
        let path = self.path.clone();
        let fail = |err: rusqlite::Error| open::classify(&path, &err);
        let generation = i64::try_from(generation).unwrap_or(i64::MAX);
        let at = unix_ms(now);
        let transaction = self.connection.transaction().map_err(fail)?;
        let mut claims = Vec::with_capacity(urls.len());
        {
            let mut upsert = transaction
                .prepare_cached(&format!("{UPSERT_SEED} {RETURNING_CLAIM}"))
                .map_err(fail)?;
            let mut relist = transaction
                .prepare_cached(&format!("{RELIST_SEED} {RETURNING_CLAIM}"))
                .map_err(fail)?;
            for url in urls {
                let host = url.host_str().unwrap_or_default();
                let params = params![url.as_str(), host, generation, at];
                let mut listed = listed_row(upsert.query(params).map_err(fail)?).map_err(fail)?;
                if listed.is_none() {
                    listed = listed_row(relist.query(params).map_err(fail)?).map_err(fail)?;
                }
                // No row: listed already in this generation (a duplicate).
                let Some(ListedRow {
                    id,
                    once_round,
                    known,
                    watch,
                }) = listed
                else {
                    continue;
                };
                if once_round >= round || self.unwritten.contains_key(&id) {
                    continue; // recorded in this run before an interruption, or in flight
                }
                self.unwritten.insert(id, (at, url.as_str().into()));
                claims.push(Claim {
                    url: url.clone(),
                    known,
                    lineage: None,
                    watch,
                });
            }
        }
        transaction.commit().map_err(fail)?;
        Ok(claims)
    }
}

/// Lists one seed in a generation (?3): a new one is inserted due now (?4);
/// a listed one takes the generation. It touches no indexed column, so a
/// listing of a million known seeds rewrites rows, not the due index.
/// Changes nothing for a seed already listed in this generation, or one to
/// list again ([`RELIST_SEED`]).
const UPSERT_SEED: &str =
    "INSERT INTO urls (url, host, seed_generation, due_at) VALUES (?1, ?2, ?3, ?4)
     ON CONFLICT (url) DO UPDATE SET seed_generation = excluded.seed_generation
     WHERE is_active = 1 AND origin = 'seed' AND seed_generation != excluded.seed_generation";

/// Lists again a seed that was removed (due at once) or a discovered URL.
/// The host (?2) is unused.
const RELIST_SEED: &str = "UPDATE urls SET seed_generation = ?3, origin = 'seed', is_active = 1,
         depth = 0, found_on = NULL, root = NULL,
         due_at = CASE WHEN is_active = 0 AND claimed_at IS NULL THEN ?4 ELSE due_at END
     WHERE url = ?1 AND (is_active = 0 OR origin != 'seed') AND seed_generation != ?3";

/// The columns a claim needs, after a listing statement.
const RETURNING_CLAIM: &str = "RETURNING id, once_round, ok_at, title, etag, last_modified, watch";

/// The row a [`RETURNING_CLAIM`] statement touched, if any.
fn listed_row(mut rows: rusqlite::Rows<'_>) -> rusqlite::Result<Option<ListedRow>> {
    let Some(row) = rows.next()? else {
        return Ok(None);
    };
    Ok(Some(ListedRow {
        id: row.get(0)?,
        once_round: row.get(1)?,
        known: known_at(row, 2)?,
        watch: watch_at(row, 6)?,
    }))
}

/// A seed row a listing touched.
struct ListedRow {
    id: i64,
    once_round: i64,
    known: Option<Known>,
    watch: Option<Watch>,
}
