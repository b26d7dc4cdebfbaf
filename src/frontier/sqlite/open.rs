//! Opening the state database safely: a file that is not ours, damaged,
//! truncated or from a newer version is refused with a clear error and left
//! untouched; a new file is created whole (schema written to a temporary file,
//! then renamed) so a crash never leaves a half-made one; the JSON state of
//! earlier versions is imported once.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::checks::{check_file, check_identity, check_integrity};
pub use super::checks::{classify, io_error};
use super::legacy::import_json;
pub use super::legacy::{imported_name, is_legacy_json};
use super::schema::{
    APPLICATION_ID, COLUMNS_V1, HISTORY_TABLE, INDEXES, OUTBOX_TABLE, RENDERED_COLUMN,
    REPORT_TABLES, SCHEMA_VERSION, URLS_TABLE, schema,
};
use crate::frontier::{SqliteError, StoreError};

/// Opens the existing database at `path` after checking it is ours and,
/// with `verify`, sound (`PRAGMA quick_check` reads the whole file).
///
/// # Errors
/// [`SqliteError::Missing`], [`SqliteError::NotOurs`], [`SqliteError::Corrupt`],
/// [`SqliteError::Newer`], or [`SqliteError::Io`].
pub fn open_existing(path: &Path, verify: bool) -> Result<Connection, StoreError> {
    check_file(path)?;
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection =
        Connection::open_with_flags(path, flags).map_err(|err| classify(path, &err))?;
    connection
        .busy_timeout(Duration::from_secs(5))
        .map_err(|err| classify(path, &err))?;
    check_identity(path, &connection)?;
    if verify {
        check_integrity(path, &connection)?;
    }
    Ok(connection)
}

/// The `meta` key a store that held the crawl's lock sets when it closes,
/// and that opening the file for a crawl clears: while it is set, the last
/// process to crawl with the file stopped normally.
pub(super) const META_CLOSED_CLEANLY: &str = "closed_cleanly";

/// Opens the existing database at `path` to crawl with it. It is checked
/// whole (`PRAGMA quick_check`, seconds at millions of URLs) only when the
/// last crawl did not close it: killed, or the machine stopped. Then the
/// mark is cleared, so a crawl that is killed from now on leaves none.
///
/// # Errors
/// As [`open_existing`], or the file cannot be written.
fn open_for_crawl(path: &Path) -> Result<Connection, StoreError> {
    let connection = open_existing(path, false)?;
    let closed_cleanly = connection
        .query_row(
            "SELECT value FROM meta WHERE key = ?1",
            [META_CLOSED_CLEANLY],
            |row| row.get::<_, i64>(0),
        )
        .is_ok_and(|value| value == 1);
    if !closed_cleanly {
        log::info!(
            "`{}` was not closed cleanly (the crawler was killed, or the machine stopped): checking it whole before the start",
            path.display()
        );
        check_integrity(path, &connection)?;
    }
    connection
        .execute("DELETE FROM meta WHERE key = ?1", [META_CLOSED_CLEANLY])
        .map_err(|err| classify(path, &err))?;
    Ok(connection)
}

/// An import of the JSON state of an earlier version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    /// The JSON file read.
    pub from: PathBuf,
    /// How many URLs it held.
    pub count: usize,
    /// Where the JSON file is kept now.
    pub kept_as: PathBuf,
}

/// Whether a crawler holds the state file at `path` now (by its lock);
/// `None` when that cannot be told (the lock file cannot be opened).
pub fn is_held(path: &Path) -> Option<bool> {
    use std::os::fd::AsRawFd;
    let file = match fs::OpenOptions::new().write(true).open(lock_path(path)) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Some(false),
        Err(_) => return None,
    };
    // SAFETY: flock on a descriptor this function owns; no memory is shared.
    // Held for no longer than this call: dropping `file` releases it.
    let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    Some(locked != 0)
}

/// The lock file beside the state file at `path`.
pub fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Opens `path`, creating it (and importing `legacy` JSON state, if that
/// file exists) when it does not exist yet. A `path` that itself holds the
/// JSON state of an earlier version (a `state_file` set to a `.json` file
/// before databases) becomes the database in place, the JSON kept beside it.
/// Returns the connection and the import, if there was one.
///
/// # Errors
/// As [`open_existing`], or the file cannot be created.
pub fn open_or_create(
    path: &Path,
    legacy: Option<&Path>,
    interval: Duration,
) -> Result<(Connection, Option<Import>), StoreError> {
    if path.exists() {
        if is_legacy_json(path) {
            return migrate_in_place(path, interval);
        }
        return Ok((open_for_crawl(path)?, None));
    }
    let temp = temp_path(path);
    let _ = fs::remove_file(&temp);
    let legacy = legacy.filter(|file| file.is_file());
    let imported = create(&temp, legacy, interval).map_err(|err| {
        let _ = fs::remove_file(&temp);
        match err {
            StoreError::Sqlite(SqliteError::Io { detail, .. })
            | StoreError::Sqlite(SqliteError::Corrupt { detail, .. }) => {
                io_error(path, &format!("cannot create it: {detail}"))
            }
            other => other,
        }
    })?;
    fs::rename(&temp, path).map_err(|err| io_error(path, &format!("cannot create it: {err}")))?;
    let import = match (legacy, imported) {
        (Some(legacy), Some(count)) => {
            let kept_as = imported_name(legacy);
            if let Err(err) = fs::rename(legacy, &kept_as) {
                log::warn!(
                    "imported `{}` but could not rename it to `{}`: {err}",
                    legacy.display(),
                    kept_as.display()
                );
            }
            Some(Import {
                from: legacy.to_owned(),
                count,
                kept_as,
            })
        }
        _ => None,
    };
    Ok((open_existing(path, true)?, import))
}

/// Takes the lock that makes one daemon at a time use `path`: an advisory
/// `flock` on `<path>.lock`, released by the kernel however the process ends.
///
/// # Errors
/// Another process holds it, or the lock file cannot be created.
pub fn lock(path: &Path) -> Result<fs::File, StoreError> {
    use std::os::fd::AsRawFd;
    let lock_path = lock_path(path);
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|err| {
            io_error(
                path,
                &format!("cannot create `{}`: {err}", lock_path.display()),
            )
        })?;
    // SAFETY: flock on a descriptor this function owns; no memory is shared.
    let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if locked != 0 {
        return Err(io_error(
            path,
            "is in use by another running crawler; stop it, or give this one another `state_file`",
        ));
    }
    Ok(file)
}

pub(super) fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".new-{}", std::process::id()));
    PathBuf::from(name)
}

/// A private temporary database with the schema (SQLite deletes its file
/// when the connection closes); `path` names it in messages.
///
/// # Errors
/// The temporary file cannot be created.
pub fn create_temporary(path: &Path) -> Result<Connection, StoreError> {
    let fail = |err: rusqlite::Error| io_error(path, &format!("cannot create it: {err}"));
    let connection = Connection::open("").map_err(fail)?;
    connection.execute_batch(&schema()).map_err(fail)?;
    connection
        .execute_batch("PRAGMA synchronous = OFF; PRAGMA cache_size = -8192;")
        .map_err(fail)?;
    Ok(connection)
}

/// Writes the schema (and the import) to a fresh file at `temp`.
pub(super) fn create(
    temp: &Path,
    legacy: Option<&Path>,
    interval: Duration,
) -> Result<Option<usize>, StoreError> {
    let mut connection = Connection::open(temp).map_err(|err| classify(temp, &err))?;
    let fail = |err: rusqlite::Error| io_error(temp, &err.to_string());
    let transaction = connection.transaction().map_err(fail)?;
    transaction.execute_batch(&schema()).map_err(fail)?;
    transaction
        .execute_batch(&format!(
            "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {SCHEMA_VERSION};"
        ))
        .map_err(fail)?;
    let imported = match legacy {
        Some(legacy) => Some(import_json(&transaction, legacy, interval)?),
        None => None,
    };
    transaction.commit().map_err(fail)?;
    connection
        .close()
        .map_err(|(_, err)| io_error(temp, &err.to_string()))?;
    Ok(imported)
}

/// Brings a database of an earlier schema up to [`SCHEMA_VERSION`] in one
/// transaction (version 1 → 2: link following).
///
/// # Errors
/// The file cannot be written.
pub fn upgrade(path: &Path, connection: &mut Connection) -> Result<(), StoreError> {
    let fail = |err: rusqlite::Error| classify(path, &err);
    let version: i64 = connection
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(fail)?;
    if version >= SCHEMA_VERSION {
        return Ok(());
    }
    // Every step in one transaction, so a crash leaves the old version whole.
    let transaction = connection.transaction().map_err(fail)?;
    if version < 2 {
        // A CHECK constraint cannot be altered: the table is rebuilt (SQLite's own recipe).
        let rebuild = format!(
            "{}
             INSERT INTO urls_v2 ({COLUMNS_V1}) SELECT {COLUMNS_V1} FROM urls;
             DROP TABLE urls;
             ALTER TABLE urls_v2 RENAME TO urls;
             {INDEXES}",
            URLS_TABLE.replace("{table}", "urls_v2")
        );
        transaction.execute_batch(&rebuild).map_err(fail)?;
    }
    if version < 3 {
        transaction.execute_batch(HISTORY_TABLE).map_err(fail)?;
    }
    if version < 4 {
        transaction.execute_batch(OUTBOX_TABLE).map_err(fail)?;
    }
    if version < 5 {
        transaction.execute_batch(RENDERED_COLUMN).map_err(fail)?;
    }
    if version < 6 {
        transaction.execute_batch(REPORT_TABLES).map_err(fail)?;
    }
    transaction
        .execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION};"))
        .map_err(fail)?;
    transaction.commit().map_err(fail)?;
    log::info!(
        "state file `{}` upgraded from schema version {version} to {SCHEMA_VERSION}",
        path.display()
    );
    Ok(())
}

/// Turns the JSON state at `path` into the database at the same path: the
/// JSON is copied to `<path>.imported` first, then the new database
/// replaces it in one rename, so a crash leaves one or the other, whole.
fn migrate_in_place(
    path: &Path,
    interval: Duration,
) -> Result<(Connection, Option<Import>), StoreError> {
    let kept_as = imported_name(path);
    let copied = fs::copy(path, &kept_as).and_then(|_| fs::File::open(&kept_as)?.sync_all());
    copied.map_err(|err| {
        io_error(
            path,
            &format!("cannot keep a copy as `{}`: {err}", kept_as.display()),
        )
    })?;
    let temp = temp_path(path);
    let _ = fs::remove_file(&temp);
    let count = create(&temp, Some(path), interval)
        .inspect_err(|_| {
            let _ = fs::remove_file(&temp);
        })?
        .unwrap_or(0);
    fs::rename(&temp, path).map_err(|err| io_error(path, &format!("cannot replace it: {err}")))?;
    let import = Import {
        from: path.to_owned(),
        count,
        kept_as,
    };
    Ok((open_existing(path, true)?, Some(import)))
}
