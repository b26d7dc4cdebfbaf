//! Checks before a database is used: the file is ours (its header, its
//! application id), from this version or older, and sound; SQLite's errors
//! told in words that say what to do.

use std::fs;
use std::io::Read;
use std::path::Path;

use rusqlite::Connection;

use super::schema::{APPLICATION_ID, MAGIC, SCHEMA_VERSION, wal_path};
use crate::frontier::{SqliteError, StoreError};

/// Checks the file itself before SQLite opens it: a database header, and
/// (when no write-ahead log may hold the rest) the length the header claims.
pub(super) fn check_file(path: &Path) -> Result<(), StoreError> {
    let metadata = match fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Err(StoreError::Sqlite(SqliteError::Missing(path.to_owned())));
        }
        Err(err) => return Err(io_error(path, &format!("cannot read it: {err}"))),
    };
    let not_ours = |why: &str| {
        StoreError::Sqlite(SqliteError::NotOurs {
            path: path.to_owned(),
            why: why.to_owned(),
        })
    };
    if !metadata.is_file() {
        return Err(not_ours(
            "is not a regular file: set `state_file` to a file",
        ));
    }
    let mut header = [0u8; 100];
    let mut file =
        fs::File::open(path).map_err(|err| io_error(path, &format!("cannot read it: {err}")))?;
    let read =
        read_up_to(&mut file, &mut header).map_err(|err| io_error(path, &err.to_string()))?;
    if read == 0 {
        return Err(not_ours(
            "is empty: restore it from a backup, or delete it to start a new crawl state",
        ));
    }
    if read < header.len() || &header[..16] != MAGIC {
        let first = header[..read]
            .iter()
            .find(|byte| !byte.is_ascii_whitespace());
        if first == Some(&b'{') {
            return Err(not_ours(&json_hint(path)));
        }
        return Err(not_ours(
            "is not a SQLite database: move it away (or set `state_file` to another path) to start a new crawl state",
        ));
    }
    let page_size = match u32::from(u16::from_be_bytes([header[16], header[17]])) {
        1 => 65_536,
        size => size,
    };
    let page_count = u32::from_be_bytes([header[28], header[29], header[30], header[31]]);
    let is_count_valid = header[24..28] == header[92..96];
    let wal = wal_path(path);
    let has_wal = fs::metadata(&wal).is_ok_and(|meta| meta.len() > 0);
    let expected = u64::from(page_size) * u64::from(page_count);
    if is_count_valid && !has_wal && metadata.len() < expected {
        return Err(StoreError::Sqlite(SqliteError::Corrupt {
            path: path.to_owned(),
            detail: format!(
                "it is truncated: {} bytes where its header says {expected}",
                metadata.len()
            ),
        }));
    }
    Ok(())
}

pub(super) fn read_up_to(file: &mut fs::File, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..])? {
            0 => break,
            read => filled += read,
        }
    }
    Ok(filled)
}

pub(super) fn check_identity(path: &Path, connection: &Connection) -> Result<(), StoreError> {
    let pragma = |name: &str| -> Result<i64, StoreError> {
        connection
            .pragma_query_value(None, name, |row| row.get(0))
            .map_err(|err| classify(path, &err))
    };
    let application_id = pragma("application_id")?;
    if application_id != APPLICATION_ID {
        return Err(StoreError::Sqlite(SqliteError::NotOurs {
            path: path.to_owned(),
            why: format!(
                "is a SQLite database, but not a crawler state (application_id {application_id}): set `state_file` to another path"
            ),
        }));
    }
    let version = pragma("user_version")?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::Sqlite(SqliteError::Newer {
            path: path.to_owned(),
            found: version,
            supported: SCHEMA_VERSION,
        }));
    }
    Ok(())
}

/// `PRAGMA quick_check`: every page and index entry readable and consistent.
pub(super) fn check_integrity(path: &Path, connection: &Connection) -> Result<(), StoreError> {
    let verdict: String = connection
        .query_row("PRAGMA quick_check(1)", [], |row| row.get(0))
        .map_err(|err| classify(path, &err))?;
    if verdict == "ok" {
        return Ok(());
    }
    let detail: Vec<&str> = verdict
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("***"))
        .collect();
    Err(StoreError::Sqlite(SqliteError::Corrupt {
        path: path.to_owned(),
        detail: detail.join("; "),
    }))
}

/// Maps a SQLite error to ours: damage, a file that is not a database, or I/O.
pub fn classify(path: &Path, err: &rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode;
    match err.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => StoreError::Sqlite(SqliteError::NotOurs {
            path: path.to_owned(),
            why: "is not a SQLite database: move it away (or set `state_file` to another path) to start a new crawl state".to_owned(),
        }),
        Some(ErrorCode::DatabaseCorrupt) => StoreError::Sqlite(SqliteError::Corrupt {
            path: path.to_owned(),
            detail: err.to_string(),
        }),
        Some(ErrorCode::DiskFull) => {
            io_error(path, "the disk is full; free space and it is written again")
        }
        _ => io_error(path, &err.to_string()),
    }
}

/// An I/O failure on `path`.
pub fn io_error(path: &Path, detail: &str) -> StoreError {
    StoreError::Sqlite(SqliteError::Io {
        path: path.to_owned(),
        detail: detail.to_owned(),
    })
}

/// What to say of a JSON file where the database should be. Named `.db`, it
/// is most likely the state of an earlier version under a new name, which
/// is imported from `<name>.json`; otherwise it is not that state (that is
/// migrated in place before this check).
fn json_hint(path: &Path) -> String {
    let shown = |path: &Path| path.display().to_string();
    if path.extension().is_some_and(|extension| extension == "db") {
        format!(
            "holds JSON, not a database (the state of an earlier crawler?): rename it to `{}` and it is imported at the next start",
            shown(&path.with_extension("json"))
        )
    } else {
        "holds JSON, but neither a database nor the state of an earlier crawler: move it away, or set `state_file` to another path".to_owned()
    }
}
