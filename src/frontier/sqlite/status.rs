//! The summary `crawler status` prints, read with plain SQL.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

use super::{SqliteFrontier, open, wal_path};
use crate::frontier::{Details, PageRow, Status, StoreError, TitleChange, from_unix_ms, unix_ms};

/// Counts and times over the whole store.
///
/// # Errors
/// The store cannot be read.
pub(super) fn of(store: &SqliteFrontier, now: SystemTime) -> Result<Status, StoreError> {
    let count = |sql: &str, params: &[&dyn rusqlite::ToSql]| store.count(sql, params);
    let now_ms = unix_ms(now);
    let mut status = Status {
        path: store.path.clone(),
        known: count("SELECT COUNT(*) FROM urls WHERE origin != 'sitemap'", &[])?,
        seeds: count(
            "SELECT COUNT(*) FROM urls WHERE origin = 'seed' AND is_active = 1",
            &[],
        )?,
        discovered: count(
            "SELECT COUNT(*) FROM urls WHERE origin = 'discovered' AND is_active = 1",
            &[],
        )?,
        retired: count(
            "SELECT COUNT(*) FROM urls WHERE is_active = 0 AND origin != 'sitemap'",
            &[],
        )?,
        sitemaps: count("SELECT COUNT(*) FROM urls WHERE origin = 'sitemap'", &[])?,
        due_now: count("SELECT COUNT(*) FROM urls WHERE due_at <= ?1", &[&now_ms])?,
        in_flight: count(
            "SELECT COUNT(*) FROM urls WHERE claimed_at IS NOT NULL",
            &[],
        )?,
        never_fetched: count(
            "SELECT COUNT(*) FROM urls WHERE fetched_at IS NULL AND origin != 'sitemap'",
            &[],
        )?,
        hosts: count(
            "SELECT COUNT(DISTINCT host) FROM urls WHERE origin != 'sitemap'",
            &[],
        )?,
        ..Status::default()
    };
    status.running = open::is_held(&store.path);
    // A file of schema 3 or older (read without upgrading) has no outbox.
    status.outbox = super::outbox::status(store)
        .map(Into::into)
        .unwrap_or_default();
    status.next_due = next_due(store, now_ms)?;
    status.outcomes = outcomes(store)?;
    status.rendered = store
        .connection
        .query_row("SELECT COUNT(*) FROM urls WHERE rendered = 1", [], |row| {
            row.get::<_, i64>(0)
        })
        .map(|count| u64::try_from(count).unwrap_or(0))
        .map_err(store.fail())?;
    let size = |path: &Path| std::fs::metadata(path).map_or(0, |meta| meta.len());
    status.file_bytes = size(&store.path) + size(&wal_path(&store.path));
    Ok(status)
}

/// The next due time after `now_ms`, RFC 3339.
fn next_due(store: &SqliteFrontier, now_ms: i64) -> Result<Option<String>, StoreError> {
    let next: Option<i64> = store
        .connection
        .query_row(
            "SELECT MIN(due_at) FROM urls WHERE due_at > ?1",
            [now_ms],
            |row| row.get(0),
        )
        .map_err(store.fail())?;
    Ok(next.map(|ms| humantime::format_rfc3339_seconds(from_unix_ms(ms)).to_string()))
}

/// How the last fetch of each URL ended, with counts.
fn outcomes(store: &SqliteFrontier) -> Result<BTreeMap<String, u64>, StoreError> {
    let mut statement = store
        .connection
        .prepare(
            "SELECT COALESCE(error_kind, CASE WHEN status = 304 THEN 'not_modified' ELSE 'ok' END), COUNT(*)
             FROM urls WHERE fetched_at IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1",
        )
        .map_err(store.fail())?;
    let rows = statement
        .query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
        })
        .map_err(store.fail())?;
    let mut outcomes = BTreeMap::new();
    for row in rows {
        let (kind, count) = row.map_err(store.fail())?;
        outcomes.insert(kind, u64::try_from(count).unwrap_or(0));
    }
    Ok(outcomes)
}

/// Rows a report reads per query: each query is a read transaction of its
/// own, short, so the daemon's checkpoints are never held back for long
/// (a long reader keeps the write-ahead log from being folded back, and
/// the crawl's own reads slow down as it grows).
const REPORT_CHUNK: i64 = 2000;

/// Runs `sql` (with `?1` the last id read, `?2` the chunk size, rows in
/// id order, the id first) chunk after chunk, handing each row to `visit`.
fn each_chunk(
    store: &SqliteFrontier,
    sql: &str,
    mut visit: impl FnMut(&rusqlite::Row<'_>) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let fail = store.fail();
    let mut statement = store.connection.prepare(sql).map_err(&fail)?;
    let mut last = i64::MIN;
    loop {
        let mut rows = statement.query([last, REPORT_CHUNK]).map_err(&fail)?;
        let mut count = 0;
        while let Some(row) = rows.next().map_err(&fail)? {
            last = row.get(0).map_err(&fail)?;
            count += 1;
            visit(row)?;
        }
        if count < REPORT_CHUNK {
            return Ok(());
        }
    }
}

/// Every listed URL with how its last fetch ended, for reports.
pub(super) fn each_page(
    store: &SqliteFrontier,
    visit: &mut dyn FnMut(PageRow),
) -> Result<(), StoreError> {
    let fail = store.fail();
    let sql = "SELECT u.id, u.url, u.origin = 'seed', u.depth, f.url, u.status, u.error_kind,
                    u.fetched_at, u.title, u.details
             FROM urls AS u LEFT JOIN urls AS f ON f.id = u.found_on
             WHERE u.id > ?1 AND u.is_active = 1 AND u.origin != 'sitemap'
             ORDER BY u.id LIMIT ?2";
    each_chunk(store, sql, |row| {
        let is_seed: bool = row.get(2).map_err(&fail)?;
        let status: Option<u16> = row.get(5).map_err(&fail)?;
        let error_kind: Option<String> = row.get(6).map_err(&fail)?;
        let fetched_at: Option<i64> = row.get(7).map_err(&fail)?;
        let outcome = match (fetched_at, error_kind, status) {
            (None, _, _) => None,
            (Some(_), Some(kind), _) => Some(kind),
            (Some(_), None, Some(304)) => Some("not_modified".to_owned()),
            (Some(_), None, _) => Some("ok".to_owned()),
        };
        visit(PageRow {
            url: row.get(1).map_err(&fail)?,
            is_seed,
            depth: if is_seed {
                0
            } else {
                row.get(3).map_err(&fail)?
            },
            found_on: if is_seed {
                None
            } else {
                row.get(4).map_err(&fail)?
            },
            outcome,
            title: row.get(8).map_err(&fail)?,
            fetched_at: fetched_at.map(from_unix_ms),
            details: row
                .get::<_, Option<String>>(9)
                .map_err(&fail)?
                .as_deref()
                .and_then(Details::parse),
        });
        Ok(())
    })
}

/// Every page of the link graph with its outgoing links, for reports.
pub(super) fn each_outlinks(
    store: &SqliteFrontier,
    visit: &mut dyn FnMut(&str, &[u8]),
) -> Result<(), StoreError> {
    let fail = store.fail();
    let sql = "SELECT o.url_id, u.url, o.links FROM outlinks AS o JOIN urls AS u ON u.id = o.url_id
               WHERE o.url_id > ?1 ORDER BY o.url_id LIMIT ?2";
    each_chunk(store, sql, |row| {
        let url = row.get_ref(1).map_err(&fail)?.as_str().map_err(|err| {
            fail(rusqlite::Error::FromSqlConversionFailure(
                1,
                rusqlite::types::Type::Text,
                err.into(),
            ))
        })?;
        let stored = row
            .get_ref(2)
            .map_err(&fail)?
            .as_bytes_or_null()
            .map_err(|err| {
                fail(rusqlite::Error::FromSqlConversionFailure(
                    2,
                    rusqlite::types::Type::Blob,
                    err.into(),
                ))
            })?;
        visit(url, stored.unwrap_or_default());
        Ok(())
    })
}

/// Every title change at or after `since` (ms), with its URL.
pub(super) fn each_title_change(
    store: &SqliteFrontier,
    since: i64,
    visit: &mut dyn FnMut(&str, TitleChange),
) -> Result<(), StoreError> {
    let fail = store.fail();
    let sql = format!(
        "SELECT c.rowid, u.url, c.at, c.from_title, c.to_title
         FROM title_changes AS c JOIN urls AS u ON u.id = c.url_id
         WHERE c.rowid > ?1 AND c.at >= {since} ORDER BY c.rowid LIMIT ?2"
    );
    each_chunk(store, &sql, |row| {
        let url: String = row.get(1).map_err(&fail)?;
        let change = TitleChange {
            at: from_unix_ms(row.get(2).map_err(&fail)?),
            from: row.get(3).map_err(&fail)?,
            to: row.get(4).map_err(&fail)?,
        };
        visit(&url, change);
        Ok(())
    })
}
