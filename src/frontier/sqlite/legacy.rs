//! The JSON state of earlier versions: recognized, imported once into a new
//! database, and kept beside it under another name.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::frontier::{SqliteError, StoreError};

/// Whether `path` (not named `.db`) holds the JSON state of an earlier version.
pub fn is_legacy_json(path: &Path) -> bool {
    if path.extension().is_some_and(|extension| extension == "db") {
        return false;
    }
    let Ok(bytes) = fs::read(path) else {
        return false;
    };
    let first = bytes.iter().find(|byte| !byte.is_ascii_whitespace());
    first == Some(&b'{') && serde_json::from_slice::<LegacyState>(&bytes).is_ok()
}

/// Where the JSON file goes after its import.
pub fn imported_name(legacy: &Path) -> PathBuf {
    let mut name = legacy.as_os_str().to_owned();
    name.push(".imported");
    PathBuf::from(name)
}

/// The JSON state file of earlier versions.
#[derive(Deserialize)]
pub(super) struct LegacyState {
    seeds: std::collections::HashMap<String, LegacySeed>,
}

#[derive(Deserialize)]
pub(super) struct LegacySeed {
    title: Option<String>,
    /// When the last fetch started, in seconds since the Unix epoch.
    fetched_at: u64,
}

/// Copies titles and fetch times from the JSON state; each URL is due one
/// interval after its last fetch, as the old schedule had it.
pub(super) fn import_json(
    transaction: &rusqlite::Transaction<'_>,
    legacy: &Path,
    interval: Duration,
) -> Result<usize, StoreError> {
    let failed = |detail: String| {
        StoreError::Sqlite(SqliteError::Import {
            path: legacy.to_owned(),
            detail,
        })
    };
    let bytes = fs::read(legacy).map_err(|err| failed(err.to_string()))?;
    let state: LegacyState =
        serde_json::from_slice(&bytes).map_err(|err| failed(format!("it is not valid: {err}")))?;
    let mut insert = transaction
        .prepare(
            "INSERT OR IGNORE INTO urls (url, host, fetched_at, finished_at, ok_at, title, due_at)
             VALUES (?1, ?2, ?3, ?3, ?3, ?4, ?5)",
        )
        .map_err(|err| failed(err.to_string()))?;
    let interval_ms = i64::try_from(interval.as_millis()).unwrap_or(i64::MAX);
    let mut count = 0;
    for (text, seed) in &state.seeds {
        let Ok(url) = crate::urls::parse_seed(text) else {
            log::warn!(
                "old state file `{}`: `{text}` is not a valid seed; skipped",
                legacy.display()
            );
            continue;
        };
        let fetched_ms = i64::try_from(seed.fetched_at.saturating_mul(1000)).unwrap_or(i64::MAX);
        let due = (interval_ms > 0).then(|| fetched_ms.saturating_add(interval_ms));
        let host = url.host_str().unwrap_or_default().to_owned();
        count += insert
            .execute(rusqlite::params![
                url.as_str(),
                host,
                fetched_ms,
                seed.title,
                due
            ])
            .map_err(|err| failed(err.to_string()))?;
    }
    Ok(count)
}
